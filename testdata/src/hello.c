/* The basic corpus program: prints argc and exits 0. Built in many ways
 * (PIE, non-PIE, static, static-pie, other linkers, other flags); only the
 * build differs, so differences in the address space come from the layout. */
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  printf("argc=%d\n", argc);
  return 0;
}
