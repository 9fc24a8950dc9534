/* reserve: a mapping-based loader that reserves 4 GiB of PROT_NONE address space for a PIE
 * (room for any layout, as some students size it), then maps each PT_LOAD of the file
 * into the reservation with MAP_FIXED. A non-PIE goes at its link address. The new stack
 * is a malloc'd buffer, poisoned with 0xcc to catch reads of what was never written.
 *   reserve PROG [ARG...]
 * Planted defect, with -DDEFECT_ARGC_INT: argc is stored as an int (*(int *)sp = argc), so
 * the upper 4 bytes of the 64-bit argc word keep the poison. Without it, correct. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#define GiB (1UL << 30)
#define PAGE 0x1000UL
#define TRUNC(x) ((uintptr_t)(x) & ~(PAGE - 1))
#define ROUND(x) TRUNC((uintptr_t)(x) + PAGE - 1)
#define STACK_BYTES (2UL << 20)

extern char **environ;

static void check(int ok, const char *msg) {
  if (!ok) {
    perror(msg);
    exit(3);
  }
}

static int prot_for(unsigned flags) {
  int prot = PROT_NONE;
  if (flags & PF_R) prot |= PROT_READ;
  if (flags & PF_W) prot |= PROT_WRITE;
  if (flags & PF_X) prot |= PROT_EXEC;
  return prot;
}

int main(int argc, char **argv) {
  check(argc >= 2, "usage: reserve PROG [ARG...]");
  FILE *fp = fopen(argv[1], "rb");
  check(fp != NULL, argv[1]);
  Elf64_Ehdr eh;
  check(fread(&eh, sizeof eh, 1, fp) == 1, "read ELF header");
  check(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0, "not ELF");
  Elf64_Phdr *ph = calloc(eh.e_phnum, sizeof *ph);
  check(ph != NULL, "calloc");
  check(fseek(fp, (long)eh.e_phoff, SEEK_SET) == 0, "seek");
  check(fread(ph, sizeof *ph, eh.e_phnum, fp) == eh.e_phnum, "read program headers");
  int fd = fileno(fp);

  uintptr_t base = 0;
  if (eh.e_type == ET_DYN) {
    void *res = mmap(NULL, 4 * GiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    check(res != MAP_FAILED, "reserve 4 GiB");
    base = (uintptr_t)res;
  }
  uintptr_t phdr_addr = 0;
  int stack_exec = 0;
  for (int i = 0; i < eh.e_phnum; ++i) {
    if (ph[i].p_type == PT_GNU_STACK) stack_exec = (ph[i].p_flags & PF_X) != 0;
    if (ph[i].p_type == PT_PHDR) phdr_addr = base + ph[i].p_vaddr;
    if (ph[i].p_type != PT_LOAD) continue;
    uintptr_t seg = base + ph[i].p_vaddr;
    uintptr_t file_end = seg + ph[i].p_filesz;
    uintptr_t mem_end = seg + ph[i].p_memsz;
    if (!phdr_addr && ph[i].p_offset == 0) phdr_addr = seg + eh.e_phoff;
    int prot = prot_for(ph[i].p_flags);
    if (ph[i].p_filesz) {
      void *m = mmap((void *)TRUNC(seg), ROUND(file_end) - TRUNC(seg), prot | PROT_WRITE,
                     MAP_PRIVATE | MAP_FIXED, fd, (off_t)TRUNC(ph[i].p_offset));
      check(m != MAP_FAILED, "map segment");
      /* the bss part of the last file page */
      if (mem_end > file_end) memset((void *)file_end, 0, ROUND(file_end) - file_end);
      check(mprotect((void *)TRUNC(seg), ROUND(file_end) - TRUNC(seg), prot) == 0, "mprotect");
    }
    uintptr_t bss = ph[i].p_filesz ? ROUND(file_end) : TRUNC(seg);
    if (ROUND(mem_end) > bss) {
      void *m = mmap((void *)bss, ROUND(mem_end) - bss, prot,
                     MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
      check(m != MAP_FAILED, "map bss");
    }
  }
  fclose(fp);

  /* The stack: malloc'd, poisoned. Big enough to be an mmap of its own; executable only
   * when PT_GNU_STACK asks. */
  unsigned char *stk = malloc(STACK_BYTES);
  check(stk != NULL, "malloc stack");
  memset(stk, 0xcc, STACK_BYTES);
  if (stack_exec)
    check(mprotect((void *)ROUND(stk), TRUNC(stk + STACK_BYTES) - ROUND(stk),
                   PROT_READ | PROT_WRITE | PROT_EXEC) == 0, "mprotect stack");
  uintptr_t top = TRUNC(stk + STACK_BYTES);

  int nargs = argc - 1, nenv = 0;
  while (environ[nenv]) ++nenv;
  uintptr_t *strs = calloc((size_t)(nargs + nenv), sizeof *strs);
  check(strs != NULL, "calloc");
  for (int i = 0; i < nargs + nenv; ++i) {
    const char *s = i < nargs ? argv[1 + i] : environ[i - nargs];
    top -= strlen(s) + 1;
    strcpy((char *)top, s);
    strs[i] = top;
  }
  top = (top & ~15UL) - 16;
  memcpy((void *)top, (const void *)getauxval(AT_RANDOM), 16);
  uintptr_t rnd = top;

  const uint64_t aux[][2] = {
      {AT_PHDR, phdr_addr},  {AT_PHENT, sizeof(Elf64_Phdr)}, {AT_PHNUM, eh.e_phnum},
      {AT_PAGESZ, PAGE},     {AT_BASE, 0},                   {AT_FLAGS, 0},
      {AT_ENTRY, base + eh.e_entry},
      {AT_UID, getauxval(AT_UID)}, {AT_EUID, getauxval(AT_EUID)},
      {AT_GID, getauxval(AT_GID)}, {AT_EGID, getauxval(AT_EGID)},
      {AT_SECURE, getauxval(AT_SECURE)}, {AT_RANDOM, rnd},
      {AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR)}, {AT_HWCAP, getauxval(AT_HWCAP)},
      {AT_CLKTCK, getauxval(AT_CLKTCK)}, {AT_EXECFN, strs[0]}, {AT_NULL, 0}};
  size_t nwords = 1 + (size_t)nargs + 1 + (size_t)nenv + 1 + sizeof aux / sizeof(uint64_t);
  uint64_t *sp = (uint64_t *)((top - nwords * 8) & ~15UL);
  uint64_t *w = sp;
#ifdef DEFECT_ARGC_INT
  *(int *)w = nargs;
  ++w;
#else
  *w++ = (uint64_t)nargs;
#endif
  for (int i = 0; i < nargs; ++i) *w++ = strs[i];
  *w++ = 0;
  for (int i = 0; i < nenv; ++i) *w++ = strs[nargs + i];
  *w++ = 0;
  memcpy(w, aux, sizeof aux);

  uintptr_t entry = base + eh.e_entry;
  fflush(NULL);
  __asm__ volatile("movq %0, %%rsp\n\t"
                   "movq %1, %%rcx\n\t"
                   "xorl %%edx, %%edx\n\t"
                   "jmpq *%%rcx"
                   :
                   : "r"(sp), "r"(entry)
                   : "rcx", "rdx", "memory");
  __builtin_unreachable();
}
