/* arraystack: a mapping-based loader that builds the whole initial stack image in a local
 * array first (strings at the end, pointers fixed up once the final address is known) and
 * then copies it to the top of a MAP_GROWSDOWN region.
 *   arraystack PROG [ARG...]
 * Planted defects, one per build:
 *   -DDEFECT_NO_ARGV_NULL  the NULL after argv is forgotten: envp follows argv directly
 *   -DDEFECT_OWN_ARGV      the loader's own argc and argv are passed on, loader name first
 * Without either, correct. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

enum { IMAGE_MAX = 64 * 1024, STACK_LEN = 4 << 20 };

static _Noreturn void error(const char *what) {
  fprintf(stderr, "arraystack: error: %s\n", what);
  exit(4);
}

static unsigned char image[IMAGE_MAX];

int main(int argc, char **argv) {
  if (argc < 2) error("usage: arraystack PROG [ARG...]");
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) error("open failed");
  Elf64_Ehdr hdr;
  if (read(fd, &hdr, sizeof hdr) != sizeof hdr) error("read failed");
  if (memcmp(hdr.e_ident, ELFMAG, SELFMAG) || hdr.e_machine != EM_X86_64) error("bad ELF");
  Elf64_Phdr *phdrs = malloc(hdr.e_phnum * sizeof *phdrs);
  if (!phdrs || lseek(fd, (off_t)hdr.e_phoff, SEEK_SET) < 0 ||
      read(fd, phdrs, hdr.e_phnum * sizeof *phdrs) != (ssize_t)(hdr.e_phnum * sizeof *phdrs))
    error("cannot read the program headers");

  long pagesize = sysconf(_SC_PAGESIZE);
  uintptr_t mask = ~(uintptr_t)(pagesize - 1);
  uintptr_t first = 0, last = 0, load_base = 0, phdr_at = 0;
  int have = 0, xstack = 0;
  for (int i = 0; i < hdr.e_phnum; i++) {
    if (phdrs[i].p_type == PT_GNU_STACK) xstack = phdrs[i].p_flags & PF_X;
    if (phdrs[i].p_type != PT_LOAD) continue;
    if (!have) first = phdrs[i].p_vaddr & mask, have = 1;
    last = phdrs[i].p_vaddr + phdrs[i].p_memsz;
  }
  if (hdr.e_type == ET_DYN) {
    char *r = mmap(NULL, last - first, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) error("mmap failed");
    load_base = (uintptr_t)r - first;
  }
  for (int i = 0; i < hdr.e_phnum; i++) {
    Elf64_Phdr *p = &phdrs[i];
    if (p->p_type == PT_PHDR) phdr_at = load_base + p->p_vaddr;
    if (p->p_type != PT_LOAD) continue;
    int prot = 0;
    if (p->p_flags & PF_R) prot |= PROT_READ;
    if (p->p_flags & PF_W) prot |= PROT_WRITE;
    if (p->p_flags & PF_X) prot |= PROT_EXEC;
    uintptr_t addr = load_base + p->p_vaddr, aligned = addr & mask;
    size_t filelen = p->p_filesz + (addr - aligned);
    if (p->p_filesz) {
      if (mmap((void *)aligned, filelen, prot | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
               (off_t)(p->p_offset - (addr - aligned))) == MAP_FAILED)
        error("mmap failed");
    }
    uintptr_t fileend = addr + p->p_filesz, pageend = (fileend + pagesize - 1) & mask;
    uintptr_t memend = (addr + p->p_memsz + pagesize - 1) & mask;
    if (p->p_memsz > p->p_filesz && p->p_filesz) memset((void *)fileend, 0, pageend - fileend);
    if (!p->p_filesz) pageend = aligned;
    if (memend > pageend &&
        mmap((void *)pageend, memend - pageend, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
             -1, 0) == MAP_FAILED)
      error("mmap failed");
    if (p->p_filesz && mprotect((void *)aligned, pageend - aligned, prot)) error("mprotect failed");
    if (!phdr_at && p->p_offset == 0) phdr_at = addr + hdr.e_phoff;
  }
  close(fd);

  char *stack = mmap(NULL, STACK_LEN, PROT_READ | PROT_WRITE | (xstack ? PROT_EXEC : 0),
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
  if (stack == MAP_FAILED) error("stack mmap failed");
  uintptr_t stack_top = (uintptr_t)stack + STACK_LEN;

#ifdef DEFECT_OWN_ARGV
  int nargs = argc;
  char **args = argv;
#else
  int nargs = argc - 1;
  char **args = argv + 1;
#endif
  int nenv = 0;
  while (environ[nenv]) nenv++;

  /* Strings go at the end of image[]; their final address is stack_top - (IMAGE_MAX - off). */
  size_t str_off = IMAGE_MAX;
  uintptr_t ptrs[512];
  if (nargs + nenv > 512) error("too many strings");
#define FINAL(off) (stack_top - (IMAGE_MAX - (off)))
#define PUT_STRING(s)                                  \
  ({                                                   \
    size_t len_ = strlen(s) + 1;                       \
    if (len_ > str_off - 4096) error("strings too long"); \
    str_off -= len_;                                   \
    memcpy(image + str_off, (s), len_);                \
    FINAL(str_off);                                    \
  })
  uintptr_t execfn = PUT_STRING(argv[1]);
  for (int i = 0; i < nargs; i++) ptrs[i] = PUT_STRING(args[i]);
  for (int i = 0; i < nenv; i++) ptrs[nargs + i] = PUT_STRING(environ[i]);
  str_off &= ~(size_t)15;
  str_off -= 16;
  if (getentropy(image + str_off, 16)) error("getentropy failed");
  uintptr_t random_at = FINAL(str_off);

  uint64_t vec[1024];
  size_t n = 0;
  vec[n++] = (uint64_t)nargs;
  for (int i = 0; i < nargs; i++) vec[n++] = ptrs[i];
#ifndef DEFECT_NO_ARGV_NULL
  vec[n++] = 0;
#endif
  for (int i = 0; i < nenv; i++) vec[n++] = ptrs[nargs + i];
  vec[n++] = 0;
#define AUX(t, v) (vec[n++] = (t), vec[n++] = (uint64_t)(v))
  AUX(AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR));
  AUX(AT_HWCAP, getauxval(AT_HWCAP));
  AUX(AT_PAGESZ, pagesize);
  AUX(AT_CLKTCK, getauxval(AT_CLKTCK));
  AUX(AT_PHDR, phdr_at);
  AUX(AT_PHENT, sizeof(Elf64_Phdr));
  AUX(AT_PHNUM, hdr.e_phnum);
  AUX(AT_BASE, 0);
  AUX(AT_FLAGS, 0);
  AUX(AT_ENTRY, load_base + hdr.e_entry);
  AUX(AT_UID, getuid());
  AUX(AT_EUID, geteuid());
  AUX(AT_GID, getgid());
  AUX(AT_EGID, getegid());
  AUX(AT_SECURE, 0);
  AUX(AT_RANDOM, random_at);
  AUX(AT_EXECFN, execfn);
  AUX(AT_NULL, 0);
  size_t vec_off = (str_off - n * 8) & ~(size_t)15;
  memcpy(image + vec_off, vec, n * 8);
  memcpy((void *)FINAL(vec_off), image + vec_off, IMAGE_MAX - vec_off);

  uintptr_t sp = FINAL(vec_off), entry = load_base + hdr.e_entry;
  fflush(NULL);
  __asm__ volatile("mov %0, %%rsp\n\t"
                   "xor %%edx, %%edx\n\t"
                   "jmp *%1\n\t" ::"r"(sp), "r"(entry) : "rdx", "memory");
  __builtin_unreachable();
}
