/* Thread-local storage: an initialised TLS block (.tdata) and a zero TLS
 * block (.tbss), so the binary has a PT_TLS with p_memsz > p_filesz. */
#include <stdio.h>

__thread int tls_init = 42;            /* .tdata */
__thread long tls_init_arr[64] = {1};  /* .tdata */
__thread char tls_zero[8192];          /* .tbss  */

int main(int argc, char **argv) {
  (void)argv;
  tls_zero[argc] = 5;
  tls_zero[sizeof tls_zero - 1] = 1;
  int v = tls_init + (int)tls_init_arr[0] + tls_zero[argc] + tls_zero[sizeof tls_zero - 1];
  printf("tls argc=%d v=%d\n", argc, v);
  return v == 49 ? 0 : 1;
}
