/* Built twice from this one source, as pair-pie and pair-nopie: the two
 * binaries differ only in -fPIE/-pie versus -fno-PIE/-no-pie. */
#include <stdio.h>

static int counter = 7;
static char scratch[256];

int main(int argc, char **argv) {
  (void)argv;
  scratch[argc & 0xff] = (char)counter;
  printf("pair argc=%d counter=%d\n", argc, counter + scratch[argc & 0xff] - counter);
  return 0;
}
