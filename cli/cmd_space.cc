// `execmap space`: the whole 64-bit virtual address space of the profile (the kernel's
// mm.rst table, 4- or 5-level paging) with the predicted process inside the user half.
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace execmap::cli {

CLI::App* setup_space(CLI::App& app, SpaceOptions& o) {
  CLI::App* sub = app.add_subcommand(
      "space",
      "Show the whole 64-bit virtual address space (user half, non-canonical hole, "
      "kernel regions) with the predicted process inside the user half");
  sub->add_option("--paging", o.paging,
                  "Page-table levels: 4 (47-bit user space) or 5 (56-bit user space); the same "
                  "as --kernel-config paging=N (default: the target's). exec places the "
                  "process below 2^47 in both")
      ->check(CLI::IsMember({4, 5}));
  add_exec_options(sub, o.exec, {"text", "json"}, "text");
  return sub;
}

int run_space(const SpaceOptions& o) {
  // The table is the target's: the profile folded for paging=N (TASK_SIZE, the 47-bit window)
  // and the mm.rst layout of the same page-table depth.
  ExecOptions exec = o.exec;
  if (o.paging) exec.kernel_config.push_back("paging=" + std::to_string(o.paging));
  sim::ExecRequest req;
  sim::ExecResult r;
  int rc = 0;
  if (!simulate_request(exec, /*record=*/false, &req, &r, &rc)) return rc;
  const sim::SpaceLayout& space = sim::x86_64_space(int(r.profile.paging));
  if (o.exec.format == "json")
    std::cout << dump_json(space_json(r, space)) << "\n";
  else
    std::cout << render_space_text(r, space);
  return kExitOk;
}

}  // namespace execmap::cli
