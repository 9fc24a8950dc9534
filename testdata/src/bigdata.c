/* A 3 MiB initialised array: .data (and so the file-backed part of the RW
 * PT_LOAD) is about 3 MiB, so p_filesz is large and the binary is ~3 MiB. */
#include <stdio.h>

#define DATA_SIZE (3u << 20)
/* A non-zero initialiser keeps the whole array out of .bss, and the write in
 * main() keeps gcc from moving a never-written static array into .rodata. */
static unsigned char data[DATA_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, [DATA_SIZE - 1] = 9};

int main(int argc, char **argv) {
  (void)argv;
  data[DATA_SIZE / 2] = (unsigned char)argc; /* argc is 1 when run plainly */
  unsigned long sum = 0;
  for (unsigned i = 0; i < DATA_SIZE; i += 4096) sum += data[i];
  sum += data[DATA_SIZE - 1] + data[7];
  printf("bigdata argc=%d sum=%lu\n", argc, sum);
  return sum == 1 + (unsigned long)argc + 9 + 8 ? 0 : 1;
}
