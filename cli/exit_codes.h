// The documented exit codes of every execmap subcommand (README "Exit codes").
#pragma once

namespace execmap::cli {
constexpr int kExitOk = 0;          // success; for verify: the prediction was exact
constexpr int kExitFailure = 1;     // execmap itself failed: unreadable file, internal error
constexpr int kExitUsage = 2;       // bad command line
constexpr int kExitExecFails = 3;   // the execve would fail, or the task would be killed
constexpr int kExitMismatch = 4;    // verify: prediction and kernel differ
}  // namespace execmap::cli
