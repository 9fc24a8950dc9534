// Prediction against ground truth: the differences between a simulated exec and the kernel's
// own answer (a live capture, or a capture file), which `verify` reports.
#pragma once

#include <string>
#include <vector>

#include "live/capture.h"
#include "sim/exec.h"

namespace execmap::analysis {

struct Difference {
  std::string what;       // "maps", "rsp", "stack[+0x18]", "mm.start_brk", "outcome", ...
  std::string predicted;
  std::string actual;
};

struct Comparison {
  bool exact = true;
  std::vector<Difference> diffs;
  std::vector<std::string> not_compared;  // "dev", "inode": fields the options left out
  // What the kernel did beyond what the prediction claims to model (not a difference).
  std::vector<std::string> notes;
};

struct CompareOptions {
  // The device and inode numbers of file mappings. A VM's initramfs gives the same files other
  // numbers, so `verify --vm` compares the maps lines without them (and says so).
  bool file_identity = true;
};

// The live run that reproduces a request: same path, argv, envp and stack rlimit.
live::CaptureRequest capture_request_for(const sim::ExecRequest& req, bool disable_aslr,
                                         unsigned timeout_ms);

// Everything except the 16 AT_RANDOM bytes must match.
Comparison compare(const sim::ExecResult& r, const live::Capture& c,
                   const CompareOptions& opts = {});

}  // namespace execmap::analysis
