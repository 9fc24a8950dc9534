// The capture file schema: what `verify --save-capture` writes and the golden tests replay.
#pragma once

#include <nlohmann/json.hpp>

#include "live/capture.h"
#include "sim/exec.h"
#include "sim/target.h"

namespace execmap::analysis {

// A capture file: the request, the kernel's answer, and the identity of each mapped file.
nlohmann::json capture_to_json(const sim::ExecRequest& req, const live::Capture& c);
live::Capture capture_from_json(const nlohmann::json& j);
// What a capture tells about its machine and kernel, recovered from its own auxv and maps so
// that a replay needs no host probe: the host values, the build options it shows (vdso block,
// vsyscall) and the kernel's auxv order and AT_RSEQ_* values.
struct CaptureTarget {
  sim::HostState host;
  sim::KernelConfig config;
  sim::KernelMeasurement measured;
};
CaptureTarget target_from_capture(const nlohmann::json& j);

}  // namespace execmap::analysis
