// Prediction against ground truth: the diff that `verify` prints, and the capture files that
// golden tests replay without ptrace.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/capture.h"
#include "sim/exec.h"

namespace execmap::cli {

struct Difference {
  std::string what;       // "maps", "rsp", "stack[+0x18]", "mm.start_brk", "outcome", ...
  std::string predicted;
  std::string actual;
};

struct Comparison {
  bool exact = true;
  std::vector<Difference> diffs;
};

// The live run that reproduces a request: same path, argv, envp and stack rlimit.
live::CaptureRequest capture_request_for(const sim::ExecRequest& req, bool disable_aslr,
                                         unsigned timeout_ms);

// Everything except the 16 AT_RANDOM bytes must match.
Comparison compare(const sim::ExecResult& r, const live::Capture& c);
std::string render_comparison(const Comparison& cmp, const sim::ExecResult& r,
                              const live::Capture& c);
nlohmann::json comparison_json(const Comparison& cmp);

// A capture file: the request, the kernel's answer, and the identity of each mapped file.
nlohmann::json capture_to_json(const sim::ExecRequest& req, const live::Capture& c);
live::Capture capture_from_json(const nlohmann::json& j);
// Host values recovered from a capture's own auxv and maps, so a replay needs no host probe.
sim::KernelProfile profile_from_capture(const nlohmann::json& j);

}  // namespace execmap::cli
