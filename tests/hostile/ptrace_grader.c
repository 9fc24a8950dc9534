/* PTRACE_ATTACH and PTRACE_SEIZE on the grader and the test's processes (raw system calls: a
 * tracer of the grader could rewrite what it reads). One that works is detached and reported. */
#include "hostile.h"
#include <sys/ptrace.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const pid_t targets[] = {getppid() > 1 ? getppid() : 0, henv_pid("VICTIM_PID"),
                           henv_pid("SHELL_PID"), henv_pid("NOBODY_PID")};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; ++i) {
    if (!targets[i]) continue;
    const long requests[] = {PTRACE_ATTACH, PTRACE_SEIZE};
    for (size_t k = 0; k < 2; ++k)
      if (syscall(SYS_ptrace, requests[k], (long)targets[i], 0L, 0L) == 0) {
        syscall(SYS_ptrace, PTRACE_DETACH, (long)targets[i], 0L, 0L);
        breach("ptrace(%s, %d) succeeded", k ? "PTRACE_SEIZE" : "PTRACE_ATTACH", (int)targets[i]);
      }
  }
}
