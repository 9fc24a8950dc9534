/* Forges the results file: full marks written to the path of --gradescope (RESULTS), and to a
 * second file beside it. The sandbox has no such path; the grader's own file must win. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *r = henv("RESULTS");
  if (!r) return;
  write_forged(r);
  char beside[4096];
  snprintf(beside, sizeof beside, "%s.forged", r);
  write_forged(beside);
}
