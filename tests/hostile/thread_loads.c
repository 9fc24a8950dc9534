/* A second thread runs the whole loader (main again) while the main thread blocks forever: the
 * jump to PROG's entry comes from a thread that is not the process's leader. */
#include "hostile.h"
#include <pthread.h>

int main(int argc, char **argv);
static int hostile_argc, hostile_in_thread;
static char **hostile_argv;

static void *hostile_load(void *arg) {
  (void)arg;
  hostile_in_thread = 1;
  exit(main(hostile_argc, hostile_argv));
}

static void hostile_prologue(int argc, char **argv) {
  if (hostile_in_thread) return;
  hostile_argc = argc;
  hostile_argv = argv;
  pthread_t t;
  if (pthread_create(&t, NULL, hostile_load, NULL) != 0) return;
  for (;;) pause();
}
