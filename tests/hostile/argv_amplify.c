/* Argument amplification of the grading phase: PROG gets a stack with argc = 1,000,000, every
 * argv pointer at the same 128 KiB string (the rest of the honest stack, envp and auxv, copied
 * after them). A grader that copies each argument would need 128 GB; it must stay bounded. */
#include "hostile.h"
#include <sys/mman.h>

#define HOSTILE_BEFORE_JUMP 1

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
}

static void hostile_before_jump(uintptr_t *sp, uintptr_t *entry, uint64_t base,
                                const W(Phdr) *ph, int phnum) {
  (void)entry;
  (void)base;
  (void)ph;
  (void)phnum;
  const size_t nargs = 1000000, len = 128 * 1024;
  const word_t *old = (const word_t *)*sp;
  const word_t *rest = old + 1 + old[0] + 1; /* envp, NULL, auxv */
  size_t nrest = 0;
  while (rest[nrest]) ++nrest;
  ++nrest;
  while (rest[nrest]) nrest += 2; /* auxv pairs up to AT_NULL */
  nrest += 2;
  const size_t words = 1 + nargs + 1 + nrest;
  const size_t bytes = PAGE_UP(len + 64 + words * sizeof(word_t));
  char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) die("argv amplify: mmap failed");
  char *str = m + bytes - len;
  memset(str, 'A', len - 1);
  str[len - 1] = 0;
  word_t *nsp = (word_t *)(((uintptr_t)str - words * sizeof(word_t)) & ~(uintptr_t)15);
  nsp[0] = nargs;
  for (size_t i = 0; i < nargs; ++i) nsp[1 + i] = (word_t)(uintptr_t)str;
  nsp[1 + nargs] = 0;
  memcpy(nsp + 2 + nargs, rest, nrest * sizeof(word_t));
  *sp = (uintptr_t)nsp;
}
