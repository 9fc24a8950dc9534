/* SIGSTOP to the grader and the test's processes: a stopped grader never writes its results.
 * One that works is undone (SIGCONT) before the breach is reported. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const pid_t targets[] = {getppid() > 1 ? getppid() : 0, henv_pid("VICTIM_PID"),
                           henv_pid("SHELL_PID"), henv_pid("NOBODY_PID")};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; ++i) {
    if (!targets[i]) continue;
    for (int sig = SIGSTOP; sig; sig = sig == SIGSTOP ? SIGTSTP : 0)
      if (kill(targets[i], sig) == 0) {
        kill(targets[i], SIGCONT);
        breach("kill(%d, %s) succeeded", (int)targets[i], sig == SIGSTOP ? "SIGSTOP" : "SIGTSTP");
      }
  }
}
