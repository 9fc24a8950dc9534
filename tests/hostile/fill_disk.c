/* Fills the scratch: 1 MiB files in /tmp (RLIMIT_FSIZE stops each with EFBIG) until ENOSPC, or
 * 4 x --scratch-mb (SCRATCH_MB) + 4 MiB. More than --scratch-mb written is a breach: the
 * scratch was not bounded, and a submission could fill the grader's disk. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  signal(SIGXFSZ, SIG_IGN);
  const char *s = henv("SCRATCH_MB");
  const long limit = (s ? atol(s) : 64) << 20, cap = 4 * limit + (4 << 20);
  static char buf[1 << 16];
  memset(buf, 'x', sizeof buf);
  long total = 0;
  int err = 0;
  for (int i = 0; i < 100000 && total < cap && err != ENOSPC; ++i) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fill-%d", i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) break;
    for (;;) {
      ssize_t n = write(fd, buf, sizeof buf);
      if (n <= 0) {
        err = n < 0 ? errno : ENOSPC;
        break;
      }
      total += n;
      if (total >= cap) break;
    }
    close(fd);
    if (err != EFBIG && err != ENOSPC) break;
  }
  if (total > limit)
    breach("wrote %ld MiB into /tmp, beyond --scratch-mb %ld", total >> 20, limit >> 20);
}
