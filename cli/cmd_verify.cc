// `execmap verify`: run the program for real under ptrace, stopped at its first instruction,
// and diff the kernel's layout against the prediction.
#include <fstream>
#include <iostream>

#include "analysis/capture_json.h"
#include "analysis/compare.h"
#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace execmap::cli {

CLI::App* setup_verify(CLI::App& app, VerifyOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "verify", "Run the program under ptrace with ASLR off, stop at its first instruction, "
                "and compare the kernel's layout and stack with the prediction");
  sub->add_option("--save-capture", o.save_capture,
                  "Also write the kernel's answer as a capture file (JSON) for golden tests");
  sub->add_option("--timeout-ms", o.timeout_ms, "Wall-clock bound on the traced child")
      ->capture_default_str();
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

bool build_exact_request(const ExecOptions& eo, const char* command, sim::ExecRequest* req,
                         int* rc) {
  std::string err;
  if (!build_request(eo, req, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    *rc = kExitUsage;
    return false;
  }
  if (req->randomize) {
    std::cerr << "execmap: error: " << command
              << " compares against one exact exec; use it with --aslr off\n";
    *rc = kExitUsage;
    return false;
  }
  return true;
}

int run_verify(const VerifyOptions& o) {
  sim::ExecRequest req;
  int rc = 0;
  if (!build_exact_request(o.exec, "verify", &req, &rc)) return rc;
  HostPipeline hp;
  sim::ExecResult r = hp.pipeline.predict(req);
  bool at_start = o.exec.stage == "start";
  if (r.error.kind == sim::ExecError::Kind::Io) return report_failure(r, o.exec.format);

  std::string why;
  if (!live::ptrace_available(&why)) {
    std::cerr << "execmap: error: verify needs ptrace: " << why << "\n";
    return kExitFailure;
  }
  live::CaptureRequest creq = analysis::capture_request_for(req, /*disable_aslr=*/true, o.timeout_ms);
  creq.stop_at_entry = at_start;
  auto cap = live::capture_at_exec(creq, &why);
  if (!cap) {
    std::cerr << "execmap: error: capture failed: " << why << "\n";
    return kExitFailure;
  }
  if (!o.save_capture.empty()) {
    std::ofstream f(o.save_capture);
    nlohmann::json cj = analysis::capture_to_json(req, *cap);
    // At the entry point the result also depends on ld.so's CPU-dependent values.
    if (at_start && r.ok() && r.objects.size() > 1)
      cj["rtld"] = rtld_config_json(hp.pipeline.resolve(r, req)->config);
    f << dump_json(cj) << "\n";
    if (!f) {
      std::cerr << "execmap: error: cannot write " << o.save_capture << "\n";
      return kExitFailure;
    }
  }
  analysis::Comparison cmp = analysis::compare(r, *cap);
  // At the entry point a [heap] made by library initializers is outside the model: when the
  // only difference is such a line, the verdict says so (exit 0, "exact" stays false).
  bool heap_only = false;
  if (!cmp.exact && r.start) {
    heap_only = true;
    for (const analysis::Difference& d : cmp.diffs)
      heap_only &= d.what == "maps" && d.predicted.empty() &&
                   d.actual.size() >= 6 && d.actual.compare(d.actual.size() - 6, 6, "[heap]") == 0;
  }
  if (o.exec.format == "json") {
    nlohmann::json j = comparison_json(cmp);
    j["stage"] = o.exec.stage;
    if (!r.aslr_forced.empty()) j["aslr_forced"] = r.aslr_forced;
    j["exact_except_heap"] = cmp.exact || heap_only;
    j["predicted"] = r.ok() ? layout_json(r) : error_json(r.error);
    std::cout << dump_json(j) << "\n";
  } else {
    std::cout << render_comparison(cmp, r, *cap);
    if (!cmp.exact && !r.aslr_forced.empty())
      std::cout << "not comparable exactly: " << r.aslr_forced << "\n";
    if (heap_only)
      std::cout << "exact except [heap]: initializers allocated before the entry point"
                << (r.start->heap_may_appear ? " (the prediction said they may)" : "") << "\n";
  }
  return cmp.exact || heap_only ? kExitOk : kExitMismatch;
}

}  // namespace execmap::cli
