/* The exec cheat: execve(PROG), so the kernel loads it. It must score 0 (loader.no_exec). */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  if (argc < 2) return;
  execve(argv[1], argv + 1, environ);
  fprintf(stderr, "exec_prog: execve(%s): %s\n", argv[1], strerror(errno));
  exit(127);
}
