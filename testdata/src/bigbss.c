/* A 64 MiB .bss: the data PT_LOAD has p_memsz far beyond p_filesz, so most of
 * the segment is anonymous zero memory and brk starts 64 MiB past the file. */
#include <stdio.h>

#define BIG_SIZE (64u << 20)
static char big[BIG_SIZE];

int main(int argc, char **argv) {
  (void)argv;
  unsigned long sum = 0;
  /* Touch one byte per 1 MiB (and the last byte) so the memory is really used. */
  for (unsigned i = 0; i < BIG_SIZE; i += 1u << 20) big[i] = (char)(i >> 20);
  big[BIG_SIZE - 1] = 1;
  for (unsigned i = 0; i < BIG_SIZE; i += 1u << 20) sum += (unsigned char)big[i];
  sum += (unsigned char)big[BIG_SIZE - 1];
  printf("bigbss argc=%d sum=%lu\n", argc, sum);
  return sum == 2017 ? 0 : 1; /* 0+1+...+63 = 2016, plus the last byte */
}
