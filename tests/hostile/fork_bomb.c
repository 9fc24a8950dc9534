/* A bounded fork bomb: every child forks on, the parent forks until it fails three times in a
 * row (RLIMIT_NPROC) or 2000 times, then loads PROG. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int failures = 0;
  for (int i = 0; i < 2000 && failures < 3; ++i) {
    pid_t p = fork();
    if (p == 0)
      for (;;) fork();
    failures = p < 0 ? failures + 1 : 0;
  }
}
