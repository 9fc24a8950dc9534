// `execmap stack`: the initial stack, byte for byte.
#include <iostream>

#include "cli/commands.h"
#include "cli/compare.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace execmap::cli {

CLI::App* setup_stack(CLI::App& app, StackOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "stack", "Predict the initial stack: argc, argv, envp, auxv, strings and padding");
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

int run_stack(const StackOptions& o) {
  sim::ExecRequest req;
  std::string err;
  if (!build_request(o.exec, &req, &err)) {
    std::cerr << "execmap: error: " << err << "\n";
    return kExitUsage;
  }
  loader::HostFileSystem fs;
  sim::ExecResult r = sim::simulate_exec(req, fs);
  int rc = report_failure(r, o.exec.format);
  if (rc >= 0) return rc;
  if (o.exec.format == "json")
    std::cout << dump_json(stack_json(r)) << "\n";
  else
    std::cout << render_stack_text(r);
  return kExitOk;
}

}  // namespace execmap::cli
