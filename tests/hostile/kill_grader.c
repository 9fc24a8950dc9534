/* SIGKILL to the grader (the parent: getppid(), 0 in a PID namespace, where kill(0) would be
 * this loader's own group), to the test's shell and sleeps, and to their process groups. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const pid_t targets[] = {getppid() > 1 ? getppid() : 0, henv_pid("VICTIM_PID"),
                           henv_pid("SHELL_PID"), henv_pid("NOBODY_PID")};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; ++i) {
    if (!targets[i]) continue;
    if (kill(targets[i], SIGKILL) == 0) breach("kill(%d, SIGKILL) succeeded", (int)targets[i]);
    if (kill(-targets[i], SIGKILL) == 0) breach("kill(-%d, SIGKILL) succeeded", (int)targets[i]);
  }
}
