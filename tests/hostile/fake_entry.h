/* fake_entry.h: the fake entry mapping the fake_entry_* loaders share. Just before the jump,
 * with the honest stack built, PROG's segments are unmapped and one anonymous executable page
 * takes their place at PROG's entry; fake_entry_fill() decides what it holds. The loader then
 * jumps there: PROG was never loaded, so the grade must be 0, not partial. */
#include <sys/mman.h>

#define HOSTILE_BEFORE_JUMP 1

static void fake_entry_fill(unsigned char *page, const unsigned char *prog_page);

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
}

static void hostile_before_jump(uintptr_t *sp, uintptr_t *entry, uint64_t base,
                                const W(Phdr) *ph, int phnum) {
  (void)sp;
  const uintptr_t page = *entry & ~(uintptr_t)4095;
  static unsigned char saved[4096];
  memcpy(saved, (const void *)page, sizeof saved);
  for (int i = 0; i < phnum; ++i)
    if (ph[i].p_type == PT_LOAD) {
      uint64_t lo = PAGE_DOWN(base + ph[i].p_vaddr), hi = PAGE_UP(base + ph[i].p_vaddr + ph[i].p_memsz);
      munmap((void *)(uintptr_t)lo, hi - lo);
    }
  unsigned char *m = mmap((void *)page, 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (m == MAP_FAILED) die("fake entry: mmap failed");
  fake_entry_fill(m, saved);
  if (mprotect(m, 4096, PROT_READ | PROT_EXEC) != 0) die("fake entry: mprotect failed");
}
