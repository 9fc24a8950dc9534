/* Starts two threads, one blocked and one spinning on the CPU, then loads PROG from the main
 * thread: full marks, and no hang on the threads left running. */
#include "hostile.h"
#include <pthread.h>

static void *hostile_idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static void *hostile_spin(void *arg) {
  (void)arg;
  for (;;) __asm__ volatile("" ::: "memory");
  return NULL;
}

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  pthread_t t;
  pthread_create(&t, NULL, hostile_idle, NULL);
  pthread_create(&t, NULL, hostile_spin, NULL);
}
