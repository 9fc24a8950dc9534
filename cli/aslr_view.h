// Views of the ASLR entropy model (sim/aslr.h) for `entropy` and `diff`: text and JSON, and
// the live sample that runs the program with ASLR on and compares what the kernel chose.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/capture.h"
#include "sim/aslr.h"

namespace execmap::cli {

// {"name", "min", "max", "align", "count", "bits", "tied_to"}: the JSON contract of a region.
nlohmann::json region_json(const sim::RegionEntropy& r);
// bits rounded to 4 decimals, so the JSON is stable across libm versions.
double round_bits(double bits);

// The regions of one live capture, named as in sim::region_values(). mmap_base is not in
// /proc; it is inferred from a region the model ties to it at a fixed distance, if any.
std::map<std::string, uint64_t> observed_regions(const live::Capture& c,
                                                 const sim::EntropyResult& model);

struct SampleStats {
  std::string name;
  std::vector<uint64_t> values;     // one per run, in run order
  uint64_t min = 0, max = 0;
  uint64_t distinct = 0;
  double bits = 0;                  // log2(observed span / model align + 1)
  unsigned changing_bits = 0;       // paxtest-style: bits that differ between any two runs
  uint64_t outside = 0;             // values outside [min, max] of the model or off its align
  double spread = 0;                // (observed max - min) / (model max - min); 1 when fixed
};
struct Sample {
  unsigned runs = 0;
  std::vector<SampleStats> regions;  // in the model's region order
};

// Runs the request's program n times under ptrace with ASLR on, stopped at the exec trap.
// Returns false with *err when a capture fails.
bool run_sample(const sim::ExecRequest& req, const sim::EntropyResult& model, unsigned n,
                unsigned timeout_ms, Sample* out, std::string* err);

nlohmann::json entropy_json(const sim::EntropyResult& m, const Sample* sample);
std::string render_entropy_text(const sim::ExecRequest& req, const sim::EntropyResult& m,
                                const Sample* sample);

// "0x1000" / "-0x1000" for signed distances.
std::string signed_hex(int64_t v);

}  // namespace execmap::cli
