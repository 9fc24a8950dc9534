/* Allocates and touches memory until it fails (RLIMIT_AS, --as-limit-mb = AS_LIMIT_MB), then
 * frees it and loads PROG. Twice the limit allocated is a breach (and the end of the attempt). */
#include "hostile.h"
#include <sys/mman.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *s = henv("AS_LIMIT_MB");
  const size_t limit = (size_t)(s ? atol(s) : 1024) << 20, chunk = (size_t)32 << 20;
  static void *blocks[1024];
  size_t n = 0;
  while (n < sizeof blocks / sizeof blocks[0] && n * chunk < 2 * limit) {
    char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;
    for (size_t off = 0; off < chunk; off += 4096) p[off] = 1;
    blocks[n++] = p;
  }
  for (size_t i = 0; i < n; ++i) munmap(blocks[i], chunk);
  if (n * chunk > limit) breach("allocated and touched %zu MiB", (n * chunk) >> 20);
}
