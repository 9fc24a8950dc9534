/* The exec cheat through a copy: PROG copied into a memfd and run with fexecve(), so no path
 * of PROG is ever executed. It must score 0 (loader.no_exec). */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  if (argc < 2) return;
  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  int out = (int)syscall(SYS_memfd_create, "prog", 0);
  static char buf[1 << 16];
  ssize_t n;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  if (out >= 0) fexecve(out, argv + 1, environ);
  fprintf(stderr, "exec_memfd: fexecve: %s\n", strerror(errno));
  exit(127);
}
