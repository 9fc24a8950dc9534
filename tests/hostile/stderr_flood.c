/* Floods stderr, which the grader keeps (a memfd bounded by RLIMIT_FSIZE): 64 MiB, or until a
 * write fails; more than --fsize-mb (FSIZE_MB, default 1) + 1 MiB accepted is a breach. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  signal(SIGXFSZ, SIG_IGN);
  const char *s = henv("FSIZE_MB");
  const long limit = ((s ? atol(s) : 1) + 1) << 20;
  static char buf[1 << 16];
  memset(buf, 'E', sizeof buf);
  buf[sizeof buf - 1] = '\n';
  long total = 0;
  while (total < (64L << 20)) {
    ssize_t n = write(2, buf, sizeof buf);
    if (n <= 0) break;
    total += n;
  }
  if (total > limit) breach("wrote %ld MiB to stderr", total >> 20);
}
