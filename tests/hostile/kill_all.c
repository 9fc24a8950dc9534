/* kill(-1, SIGKILL): every process this uid may signal. Contained, that is no process outside
 * the sandbox; in a PID namespace, none but the loader, which kill(-1) spares. */
#include "hostile.h"

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (kill(-1, SIGKILL) == 0) breach("kill(-1, SIGKILL) signalled at least one process");
}
