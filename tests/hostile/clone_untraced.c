/* Raw clone() calls a tracer cannot follow or that leave the loader's family: CLONE_UNTRACED,
 * CLONE_PARENT (a sibling of the loader: the grader's child), both, and clone3. A child that
 * runs outlives the grader and rewrites the results; a CLONE_UNTRACED child that was created
 * is a breach in itself. */
#include "hostile.h"
#include <linux/sched.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  static const unsigned long flags[] = {CLONE_UNTRACED | SIGCHLD,
                                        CLONE_UNTRACED | CLONE_PARENT | SIGCHLD,
                                        CLONE_PARENT | SIGCHLD, CLONE_PARENT};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; ++i) {
    long r = syscall(SYS_clone, flags[i], 0L, 0L, 0L, 0L);
    if (r == 0) outlive_and_rewrite();
    if (r > 0 && (flags[i] & CLONE_UNTRACED)) breach("clone(CLONE_UNTRACED) made child %ld", r);
  }
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_UNTRACED;
  ca.exit_signal = SIGCHLD;
  long r = syscall(SYS_clone3, &ca, sizeof ca);
  if (r == 0) outlive_and_rewrite();
  if (r > 0) breach("clone3(CLONE_UNTRACED) made child %ld", r);
}
