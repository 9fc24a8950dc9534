// `execmap stack`: the initial stack, byte for byte.
#include <iostream>

#include "cli/commands.h"
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
  sim::ExecResult r;
  int rc = 0;
  if (!simulate_request(o.exec, /*record=*/false, &req, &r, &rc)) return rc;
  if (o.exec.format == "json")
    std::cout << dump_json(stack_json(r)) << "\n";
  else
    std::cout << render_stack_text(r);
  return kExitOk;
}

}  // namespace execmap::cli
