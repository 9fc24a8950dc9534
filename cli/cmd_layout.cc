// `execmap layout`: the address space at the first instruction, as table, maps or JSON.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace execmap::cli {

int report_failure(const sim::ExecResult& r, const std::string& format) {
  if (r.ok()) return -1;
  std::cerr << "execmap: " << (r.error.kind == sim::ExecError::Kind::Io ? "error: " : "")
            << error_line(r.error) << "\n";
  if (format == "json") std::cout << dump_json(error_json(r.error)) << "\n";
  if (r.error.kind == sim::ExecError::Kind::Io) return kExitFailure;
  return kExitExecFails;
}

CLI::App* setup_layout(CLI::App& app, LayoutOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "layout", "Predict the address space execve() builds, as /proc/PID/maps shows it at the "
                "first instruction");
  sub->add_option("--ops", o.ops,
                  "After the exec, apply this script of brk/mmap/munmap/mprotect operations");
  add_exec_options(sub, o.exec, {"table", "maps", "json", "diagram"}, "table");
  return sub;
}

int run_layout(const LayoutOptions& o) {
  sim::ExecResult r;
  std::vector<sim::OpOutcome> outcomes;
  int rc = 0;
  if (!simulate_with_ops(o.exec, o.ops, /*record=*/false, &r, &outcomes, &rc)) return rc;
  loader::HostFileSystem fs;
  if (o.exec.format == "maps") {
    std::cout << render_maps(r);
  } else if (o.exec.format == "json") {
    std::cout << dump_json(layout_json(r)) << "\n";
  } else {
    // The table and diagram views name the sections in each mapping: read them now,
    // bounded, only for files the exec checks already accepted.
    std::vector<std::vector<loader::Section>> sections;
    for (const auto& obj : r.objects) {
      loader::OpenResult f = fs.open_exec(obj.id.path);
      std::string why;
      sections.push_back(f.file ? loader::read_alloc_sections(*f.file, &why)
                                : std::vector<loader::Section>{});
    }
    if (o.exec.format == "diagram")
      std::cout << render_diagram(r, sections,
                                  /*color=*/isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"));
    else
      std::cout << render_table(r, sections);
    if (!r.aslr_forced.empty()) std::cout << "note: " << r.aslr_forced << "\n";
    if (r.start) {
      std::cout << "stage start: at AT_ENTRY " << hex(r.entry) << ", after ld.so; thread pointer "
                << hex(r.start->tcb) << "\n";
      for (const auto& o : r.start->objects)
        if (!o.name.empty()) std::cout << "  " << hex(o.base) << "  " << o.name << " (" << o.path << ")\n";
      if (r.start->ldso_stack) std::cout << ldso_stack_line(*r.start->ldso_stack) << "\n";
      for (const std::string& n : r.start->notes) std::cout << "note: " << n << "\n";
    }
  }
  return kExitOk;
}

}  // namespace execmap::cli
