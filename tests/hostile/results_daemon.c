/* A forked child that sleeps past the grader's exit and then rewrites the results file; the
 * parent loads PROG at once. The grader must kill the child before it runs. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (fork() == 0) outlive_and_rewrite();
}
