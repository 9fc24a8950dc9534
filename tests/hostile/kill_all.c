/* kill(-1, SIGKILL): every process this uid may signal. Contained, that is no process outside
 * the sandbox; in a PID namespace, none but the loader, which kill(-1) spares. The return value
 * proves nothing: kill_something_info() (kernel/signal.c) returns 0 when every attempt failed
 * with EPERM, so the test's victims, checked after the run, are the evidence. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  (void)kill(-1, SIGKILL);
}
