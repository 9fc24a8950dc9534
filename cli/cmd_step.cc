// `execmap step`: the exec one kernel step at a time, then each --ops operation; every step
// shows what changed and the full layout after it. The steps are the passes that produce
// `layout`; nothing is computed twice.
#include <unistd.h>

#include <iostream>
#include <set>

#include "sim/target.h"
#include "cli/commands.h"
#include "cli/host_pipeline.h"
#include "cli/exit_codes.h"
#include "cli/ops.h"
#include "cli/render.h"

namespace execmap::cli {

CLI::App* setup_step(CLI::App& app, StepOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "step", "Step through the exec as the kernel performs it, then through --ops operations");
  sub->add_flag("--no-pause", o.no_pause, "Print every step at once (no pause on a TTY)");
  sub->add_option("--ops", o.ops, "Apply this script of brk/mmap/munmap/mprotect operations");
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

bool simulate_request(const ExecOptions& eo, bool record, sim::ExecRequest* req,
                      sim::ExecResult* r, int* rc, HostPipeline* hp) {
  std::string err;
  if (!build_request(eo, req, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    *rc = kExitUsage;
    return false;
  }
  req->record_steps = record;
  HostPipeline local;
  *r = (hp ? hp : &local)->pipeline.predict(*req);
  int f = report_failure(*r, eo.format);
  if (f >= 0) {
    *rc = f;
    return false;
  }
  return true;
}

bool simulate_with_ops(const ExecOptions& eo, const std::string& ops_path, bool record,
                       sim::ExecResult* r, std::vector<sim::OpOutcome>* outcomes, int* rc) {
  sim::ExecRequest req;
  if (!simulate_request(eo, record, &req, r, rc)) return false;
  std::string err;
  if (!ops_path.empty()) {
    std::vector<sim::MemOp> ops;
    if (!parse_ops_file(ops_path, *r, &ops, &err)) {
      std::cerr << "execmap: error: " << err << "\n";
      *rc = kExitUsage;
      return false;
    }
    *outcomes = sim::apply_ops(*r, ops, record);
    for (size_t i = 0; i < outcomes->size(); ++i)
      if (!(*outcomes)[i].ok)
        std::cerr << "execmap: op " << i + 1 << " (line " << ops[i].line << ": " << ops[i].text
                  << ") failed: " << (*outcomes)[i].text() << "\n";
  }
  return true;
}

namespace {

nlohmann::json mm_changes(const sim::MmFields& a, const sim::MmFields& b) {
  nlohmann::json before = mm_json(a), after = mm_json(b), out = nlohmann::json::object();
  for (auto it = after.begin(); it != after.end(); ++it)
    if (before[it.key()] != it.value()) out[it.key()] = {{"from", before[it.key()]}, {"to", it.value()}};
  return out;
}

}  // namespace

nlohmann::json steps_json(const sim::ExecResult& r) {
  std::vector<std::string> prev;
  sim::MmFields prev_mm;
    nlohmann::json steps = nlohmann::json::array();
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    auto cur = maps_lines(r.files, s.mm, s.layout, r.profile);
    std::set<std::string> a(prev.begin(), prev.end()), b(cur.begin(), cur.end());
    nlohmann::json added = nlohmann::json::array(), removed = nlohmann::json::array();
    for (const auto& l : cur) if (!a.count(l)) added.push_back(l);
    for (const auto& l : prev) if (!b.count(l)) removed.push_back(l);
    nlohmann::json layout = mappings_json(r.files, s.mm, s.layout, r.profile);
    nlohmann::json j = {{"index", i + 1},         {"name", s.name},
                        {"function", s.function}, {"changes", s.changes},
                        {"vmas_added", added},    {"vmas_removed", removed},
                        {"mm_changed", mm_changes(prev_mm, s.mm)},
                        {"mm", mm_json(s.mm)},    {"mappings", layout}};
    if (!s.result.empty()) j["result"] = s.result;
    if (s.name == "start_thread") j["registers"] = {{"rip", hex(r.rip)}, {"rsp", hex(r.stack.sp)}};
    if (s.name == "create_elf_tables")
      j["stack_written"] = {{"start", hex(r.stack.sp)}, {"end", hex(r.stack.end)},
                            {"bytes", r.stack.end - r.stack.sp}};
    steps.push_back(j);
    prev = cur;
    prev_mm = s.mm;
  }
  return {{"steps", steps}};
}

int run_step(const StepOptions& o) {
  sim::ExecResult r;
  std::vector<sim::OpOutcome> outcomes;
  int rc = 0;
  if (!simulate_with_ops(o.exec, o.ops, /*record=*/true, &r, &outcomes, &rc)) return rc;
  if (o.exec.format == "json") {
    std::cout << dump_json(steps_json(r)) << "\n";
    return kExitOk;
  }
  std::cout << "target: " << target_text(r) << "\n";
  std::vector<std::string> prev;
  sim::MmFields prev_mm;
  bool pause = !o.no_pause && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    auto cur = maps_lines(r.files, s.mm, s.layout, r.profile);
    std::cout << "[" << i + 1 << "/" << r.steps.size() << "] " << s.name << "  (" << s.function
              << ")\n";
    for (const auto& c : s.changes) std::cout << "    " << c << "\n";
    std::set<std::string> a(prev.begin(), prev.end()), b(cur.begin(), cur.end());
    for (const auto& l : prev) if (!b.count(l)) std::cout << "  - " << l << "\n";
    for (const auto& l : cur) if (!a.count(l)) std::cout << "  + " << l << "\n";
    nlohmann::json mc = mm_changes(prev_mm, s.mm);
    for (auto it = mc.begin(); it != mc.end(); ++it)
      std::cout << "    mm." << it.key() << ": " << it.value()["from"].get<std::string>() << " -> "
                << it.value()["to"].get<std::string>() << "\n";
    prev = cur;
    prev_mm = s.mm;
    if (pause && i + 1 < r.steps.size()) {
      std::cout << "-- Enter: next step, q: quit -- " << std::flush;
      std::string line;
      if (!std::getline(std::cin, line) || line == "q" || line == "Q") break;
    }
  }
  return kExitOk;
}

}  // namespace execmap::cli
