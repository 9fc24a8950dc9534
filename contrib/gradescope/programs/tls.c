/* Thread-local storage: a PT_TLS with initialised (.tdata) and zero (.tbss) parts, and a
 * .bss, so a loader that leaves the partial page after p_filesz unzeroed gets caught. */
#include <stdio.h>

__thread int tls_init = 42;    /* .tdata */
__thread char tls_zero[8192];  /* .tbss */
static char bss[65536];        /* .bss */

int main(int argc, char **argv) {
  (void)argv;
  tls_zero[argc] = 5;
  bss[argc] = 2;
  int v = tls_init + tls_zero[argc] + bss[argc] + bss[sizeof bss - 1];
  printf("tls argc=%d v=%d\n", argc, v);
  return v == 49 ? 0 : 1;
}
