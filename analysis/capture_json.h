// The capture file schema: what `verify --save-capture` writes and the golden tests replay.
#pragma once

#include <nlohmann/json.hpp>

#include "live/capture.h"
#include "sim/exec.h"

namespace execmap::analysis {

// A capture file: the request, the kernel's answer, and the identity of each mapped file.
nlohmann::json capture_to_json(const sim::ExecRequest& req, const live::Capture& c);
live::Capture capture_from_json(const nlohmann::json& j);
// Host values recovered from a capture's own auxv and maps, so a replay needs no host probe.
sim::KernelProfile profile_from_capture(const nlohmann::json& j);

}  // namespace execmap::analysis
