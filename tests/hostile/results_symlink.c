/* Replaces the results file with a symlink to a file the test watches (WATCHED), by unlink and
 * by an atomic rename, so that the grader's write would land on the watched file. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *r = henv("RESULTS"), *w = henv("WATCHED");
  if (!r || !w) return;
  unlink(r);
  if (symlink(w, r) == 0) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.link", r);
  if (symlink(w, tmp) == 0) rename(tmp, r);
}
