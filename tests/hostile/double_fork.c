/* The classic daemon: fork, setsid, fork again, the grandchild reparented away from the loader,
 * outliving the grader and rewriting the results; also daemon(3). The loader loads PROG. */
#include "hostile.h"
#include <sys/wait.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  pid_t child = fork();
  if (child == 0) {
    setsid();
    if (fork() == 0) outlive_and_rewrite();
    _exit(0);
  }
  if (child > 0) waitpid(child, NULL, 0);
  child = fork();
  if (child == 0) {
    if (daemon(0, 0) == 0) outlive_and_rewrite();
    _exit(0);
  }
  if (child > 0) waitpid(child, NULL, 0);
}
