/* Spins on the CPU without a system call: the grader must stop it at its wall-clock bound. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (;;) __asm__ volatile("" ::: "memory");
}
