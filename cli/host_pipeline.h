// This machine's files and ld.so behind the one prediction pipeline (sim/pipeline.h): a
// command makes one and predicts every exec it needs through it.
#pragma once

#include "live/rtld_probe.h"
#include "loader/exec_file.h"
#include "sim/pipeline.h"

namespace execmap::cli {

struct HostPipeline {
  loader::HostFileSystem fs;
  live::HostRtld rtld;
  sim::Pipeline pipeline{fs, &rtld};
};

}  // namespace execmap::cli
