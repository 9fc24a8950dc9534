/* Replaces the results file with a FIFO, which would hang a grader that opens it to write. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *r = henv("RESULTS");
  if (!r) return;
  unlink(r);
  mkfifo(r, 0666);
}
