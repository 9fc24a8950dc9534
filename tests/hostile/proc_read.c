/* Reads /proc/PID/{mem,environ,fd/1,cmdline,maps} of the grader (the parent) and of the test's
 * shell and sleeps: the grader's stdout, the test's environment (it holds a secret). */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const pid_t targets[] = {getppid() > 1 ? getppid() : 0, henv_pid("VICTIM_PID"),
                           henv_pid("SHELL_PID"), henv_pid("NOBODY_PID")};
  static const char *const files[] = {"environ", "mem", "fd/1", "cmdline", "maps", "root/etc/hostname"};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; ++i) {
    if (!targets[i] || targets[i] == getpid()) continue;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; ++f) {
      char path[64], buf[512];
      snprintf(path, sizeof path, "/proc/%d/%s", (int)targets[i], files[f]);
      if (slurp(path, buf, sizeof buf) > 0) breach("read %s: %s", path, buf);
    }
  }
}
