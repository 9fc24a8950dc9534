/* inplace: a loader that reuses the stack the kernel built for it. It maps PROG's segments
 * from the file, then edits its own initial stack in place: argv loses the loader's name,
 * and the auxv entries that describe the program (AT_PHDR, AT_PHNUM, AT_ENTRY, AT_EXECFN)
 * are rewritten. Everything else (envp, AT_RANDOM, the vdso) is the kernel's own.
 *   inplace PROG [ARG...]
 * Planted defects, with -DDEFECTS, the well-known shortcut: instead of moving the vectors
 * down one word, write argc - 1 over argv[0] and start with sp there, so sp is 8 bytes off
 * the 16-byte alignment; and AT_EXECFN is left alone, so it names the loader.
 * Without it, correct. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGESZ 4096UL

static void bail(const char *m) {
  fputs("inplace: ", stderr);
  fputs(m, stderr);
  fputc('\n', stderr);
  _exit(126);
}

static void load(int fd, const Elf64_Phdr *p, uintptr_t bias) {
  uintptr_t va = bias + p->p_vaddr;
  uintptr_t page = va & ~(PAGESZ - 1);
  uintptr_t fend = va + p->p_filesz, mend = va + p->p_memsz;
  uintptr_t fpages = (fend + PAGESZ - 1) & ~(PAGESZ - 1);
  uintptr_t mpages = (mend + PAGESZ - 1) & ~(PAGESZ - 1);
  int prot = (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
             (p->p_flags & PF_X ? PROT_EXEC : 0);
  if (p->p_filesz) {
    if (mmap((void *)page, fpages - page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
             (off_t)(p->p_offset & ~(PAGESZ - 1))) == MAP_FAILED)
      bail("cannot map a segment");
    if (mend > fend) memset((void *)fend, 0, fpages - fend);
    if (mprotect((void *)page, fpages - page, prot)) bail("mprotect");
  } else {
    fpages = page;
  }
  if (mpages > fpages &&
      mmap((void *)fpages, mpages - fpages, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1,
           0) == MAP_FAILED)
    bail("cannot map the bss");
}

int main(int argc, char **argv, char **envp) {
  if (argc < 2) bail("usage: inplace PROG [ARG...]");
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) bail("cannot open PROG");
  Elf64_Ehdr eh;
  Elf64_Phdr ph[32];
  if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, 4) ||
      eh.e_phnum > 32 ||
      pread(fd, ph, eh.e_phnum * sizeof ph[0], (off_t)eh.e_phoff) != (ssize_t)(eh.e_phnum * sizeof ph[0]))
    bail("not an ELF file I can load");
  uintptr_t bias = 0, lo = UINTPTR_MAX, hi = 0, phdr = 0;
  for (int i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_type == PT_LOAD) {
      if (ph[i].p_vaddr < lo) lo = ph[i].p_vaddr & ~(PAGESZ - 1);
      if (ph[i].p_vaddr + ph[i].p_memsz > hi) hi = ph[i].p_vaddr + ph[i].p_memsz;
    }
  if (eh.e_type == ET_DYN) {
    void *at = mmap(NULL, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) bail("no room for the PIE");
    bias = (uintptr_t)at - lo;
  }
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD) load(fd, &ph[i], bias);
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) phdr = bias + ph[i].p_vaddr + eh.e_phoff;
  }
  close(fd);

  /* The kernel's stack: argc at argv - 1, then argv, NULL, envp, NULL, auxv. */
  uint64_t *argc_slot = (uint64_t *)argv - 1;
  char **e = envp;
  while (*e) e++;
  Elf64_auxv_t *auxv = (Elf64_auxv_t *)(e + 1);
  for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++) {
    switch (a->a_type) {
      case AT_PHDR: a->a_un.a_val = phdr; break;
      case AT_PHNUM: a->a_un.a_val = eh.e_phnum; break;
      case AT_ENTRY: a->a_un.a_val = bias + eh.e_entry; break;
#ifndef DEFECTS
      case AT_EXECFN: a->a_un.a_val = (uintptr_t)argv[1]; break;
#endif
    }
  }
  uint64_t *sp;
#ifdef DEFECTS
  argc_slot[1] = (uint64_t)(argc - 1);
  sp = argc_slot + 1;
#else
  /* Move argv[1..], envp and the auxv down one word over argv[0]. */
  Elf64_auxv_t *end = auxv;
  while (end->a_type != AT_NULL) end++;
  end++;
  uint64_t *from = (uint64_t *)(argv + 1), *to = (uint64_t *)argv;
  while (from < (uint64_t *)end) *to++ = *from++;
  argc_slot[0] = (uint64_t)(argc - 1);
  sp = argc_slot;
#endif
  fflush(NULL);
  uintptr_t entry = bias + eh.e_entry;
  __asm__ volatile("mov %0, %%rsp\n\txor %%edx, %%edx\n\tjmp *%1" : : "c"(sp), "a"(entry) : "rdx", "memory");
  __builtin_unreachable();
}
