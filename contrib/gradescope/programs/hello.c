/* The graded program: prints its arguments and exits 0. Built static (ET_EXEC at 0x400000)
 * and static-pie (ET_DYN, placed by the loader); glibc's start-up code reads argc, argv,
 * envp and the auxv the loader built, so a wrong stack breaks it. */
#include <stdio.h>

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
  return 0;
}
