// `execmap entropy`: how many places each region can land with ASLR on, from the model of the
// kernel's random draws; with --sample, next to what the running kernel actually chose.
#include <iostream>

#include "cli/aslr_view.h"
#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace execmap::cli {

CLI::App* setup_entropy(CLI::App& app, EntropyOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "entropy", "The range, alignment and entropy (bits) of each randomised region (exe, "
                 "interp, vdso, stack, sp, brk, mmap_base), computed without running anything");
  sub->add_option("--sample", o.sample,
                  "Also run the program N times with ASLR on (under ptrace, stopped at its "
                  "first instruction) and compare the observed addresses with the model");
  sub->add_option("--timeout-ms", o.timeout_ms, "Wall-clock bound on each traced run")
      ->capture_default_str();
  // Entropy is about ASLR: on unless asked otherwise (--aslr off shows every region fixed).
  o.exec.aslr = "on";
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

int run_entropy(const EntropyOptions& o) {
  sim::ExecRequest req;
  std::string err;
  if (!build_request(o.exec, &req, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    return kExitUsage;
  }
  HostPipeline hp;
  sim::EntropyResult m = sim::entropy_model(req, hp.pipeline);
  if (!m.ok()) return report_failure(m.base, o.exec.format);
  Sample sample;
  if (o.sample) {
    if (!req.randomize) {
      std::cerr << "execmap: error: --sample runs the program with ASLR on; drop --aslr off\n";
      return kExitUsage;
    }
    if (!run_sample(req, m, o.sample, o.timeout_ms, &sample, &err)) {
      std::cerr << "execmap: error: " << err << "\n";
      return kExitFailure;
    }
  }
  if (o.exec.format == "json")
    std::cout << dump_json(entropy_json(m, o.sample ? &sample : nullptr)) << "\n";
  else
    std::cout << render_entropy_text(req, m, o.sample ? &sample : nullptr);
  for (const auto& s : sample.regions)
    if (s.outside) return kExitMismatch;
  return kExitOk;
}

}  // namespace execmap::cli
