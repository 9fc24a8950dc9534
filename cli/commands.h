// Subcommands: each has an options struct, a setup_x(CLI::App&) and a run_x().
#pragma once

#include <CLI/CLI.hpp>

#include "cli/options.h"

namespace execmap::cli {

struct LayoutOptions {
  ExecOptions exec;
};
CLI::App* setup_layout(CLI::App& app, LayoutOptions& o);
int run_layout(const LayoutOptions& o);

struct StackOptions {
  ExecOptions exec;
};
CLI::App* setup_stack(CLI::App& app, StackOptions& o);
int run_stack(const StackOptions& o);

struct VerifyOptions {
  ExecOptions exec;
  std::string save_capture;
  unsigned timeout_ms = 10000;
};
CLI::App* setup_verify(CLI::App& app, VerifyOptions& o);
int run_verify(const VerifyOptions& o);

// Shared by the commands: simulate, and report a predicted failure the documented way.
// Returns -1 when the exec succeeds, else the exit code already reported.
int report_failure(const sim::ExecResult& r, const std::string& format);

}  // namespace execmap::cli
