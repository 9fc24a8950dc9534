/* copier: a copy-based loader. It never maps PROG: it allocates one anonymous, writable
 * region for the whole image (a PIE wherever mmap puts it, so at another base than the
 * kernel's), reads each segment's file bytes into it with pread, and then gives each
 * segment its protection. The stack is a fresh anonymous region.
 *   copier PROG [ARG...]
 * Planted defects, with -DDEFECTS:
 *   - the stack is mapped PROT_READ|PROT_WRITE|PROT_EXEC whatever PT_GNU_STACK says;
 *   - AT_RANDOM's 16 bytes come from rand() after srand(42): the same on every run.
 * Without it the loader is correct. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

extern char **environ;

#define PAGE_SIZE 4096
#define ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a)-1, a)

static void die(const char *what) {
  fprintf(stderr, "copier: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void pread_all(int fd, void *dst, size_t n, off_t off) {
  while (n > 0) {
    ssize_t got = pread(fd, dst, n, off);
    if (got <= 0) die("pread");
    dst = (char *)dst + got;
    n -= (size_t)got;
    off += got;
  }
}

int main(int argc, char *argv[]) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROG [ARG...]\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) die(argv[1]);
  Elf64_Ehdr ehdr;
  pread_all(fd, &ehdr, sizeof ehdr, 0);
  if (memcmp(ehdr.e_ident, ELFMAG, SELFMAG) || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_phentsize != sizeof(Elf64_Phdr) || ehdr.e_phnum > 32) {
    fprintf(stderr, "copier: %s: not a 64-bit ELF\n", argv[1]);
    return 2;
  }
  Elf64_Phdr phdrs[32];
  pread_all(fd, phdrs, ehdr.e_phnum * sizeof(Elf64_Phdr), (off_t)ehdr.e_phoff);

  uintptr_t min_va = UINTPTR_MAX, max_va = 0;
  int exec_stack = 0;
  for (int i = 0; i < ehdr.e_phnum; i++) {
    Elf64_Phdr *p = &phdrs[i];
    if (p->p_type == PT_GNU_STACK) exec_stack = (p->p_flags & PF_X) != 0;
    if (p->p_type != PT_LOAD) continue;
    if (p->p_vaddr < min_va) min_va = p->p_vaddr;
    if (p->p_vaddr + p->p_memsz > max_va) max_va = p->p_vaddr + p->p_memsz;
  }
  min_va = ALIGN_DOWN(min_va, PAGE_SIZE);
  max_va = ALIGN_UP(max_va, PAGE_SIZE);
  /* One region for the whole image, writable while we fill it. */
  int fixed = ehdr.e_type == ET_EXEC ? MAP_FIXED_NOREPLACE : 0;
  char *image = mmap(fixed ? (void *)min_va : NULL, max_va - min_va, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
  if (image == MAP_FAILED) die("mmap image");
  uintptr_t load_bias = (uintptr_t)image - min_va;
  for (int i = 0; i < ehdr.e_phnum; i++) {
    Elf64_Phdr *p = &phdrs[i];
    if (p->p_type != PT_LOAD) continue;
    pread_all(fd, (void *)(load_bias + p->p_vaddr), p->p_filesz, (off_t)p->p_offset);
  }
  for (int i = 0; i < ehdr.e_phnum; i++) {
    Elf64_Phdr *p = &phdrs[i];
    if (p->p_type != PT_LOAD) continue;
    uintptr_t start = ALIGN_DOWN(load_bias + p->p_vaddr, PAGE_SIZE);
    uintptr_t end = ALIGN_UP(load_bias + p->p_vaddr + p->p_memsz, PAGE_SIZE);
    int prot = (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
               (p->p_flags & PF_X ? PROT_EXEC : 0);
    if (mprotect((void *)start, end - start, prot)) die("mprotect");
  }
  close(fd);

  /* The stack. */
  const size_t stack_size = 1 << 23;
#ifdef DEFECTS
  (void)exec_stack;
  int stack_prot = PROT_READ | PROT_WRITE | PROT_EXEC;
#else
  int stack_prot = PROT_READ | PROT_WRITE | (exec_stack ? PROT_EXEC : 0);
#endif
  char *stack = mmap(NULL, stack_size, stack_prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) die("mmap stack");
  char *top = stack + stack_size;

  int new_argc = argc - 1;
  char **new_argv = argv + 1;
  int envc = 0;
  while (environ[envc]) envc++;

  /* Strings, copied to the top of the new stack. */
  char **argp = calloc(new_argc + envc + 2, sizeof(char *));
  if (!argp) die("calloc");
  for (int i = 0; i < new_argc; i++) {
    size_t len = strlen(new_argv[i]) + 1;
    top -= len;
    memcpy(top, new_argv[i], len);
    argp[i] = top;
  }
  for (int i = 0; i < envc; i++) {
    size_t len = strlen(environ[i]) + 1;
    top -= len;
    memcpy(top, environ[i], len);
    argp[new_argc + 1 + i] = top;
  }
  top = (char *)ALIGN_DOWN((uintptr_t)top, 16);
  top -= 16;
  unsigned char *random_bytes = (unsigned char *)top;
#ifdef DEFECTS
  srand(42);
  for (int i = 0; i < 16; i++) random_bytes[i] = (unsigned char)rand();
#else
  if (getrandom(random_bytes, 16, 0) != 16) die("getrandom");
#endif

  Elf64_auxv_t auxv[] = {
      {AT_SYSINFO_EHDR, {getauxval(AT_SYSINFO_EHDR)}},
      {AT_HWCAP, {getauxval(AT_HWCAP)}},
      {AT_PAGESZ, {PAGE_SIZE}},
      {AT_CLKTCK, {getauxval(AT_CLKTCK)}},
      {AT_PHDR, {load_bias + min_va + ehdr.e_phoff}},
      {AT_PHENT, {sizeof(Elf64_Phdr)}},
      {AT_PHNUM, {ehdr.e_phnum}},
      {AT_BASE, {0}},
      {AT_FLAGS, {0}},
      {AT_ENTRY, {load_bias + ehdr.e_entry}},
      {AT_UID, {getuid()}},
      {AT_EUID, {geteuid()}},
      {AT_GID, {getgid()}},
      {AT_EGID, {getegid()}},
      {AT_SECURE, {0}},
      {AT_RANDOM, {(uintptr_t)random_bytes}},
      {AT_EXECFN, {(uintptr_t)argp[0]}},
      {AT_NULL, {0}},
  };
  size_t words = 1 + new_argc + 1 + envc + 1 + 2 * (sizeof auxv / sizeof auxv[0]);
  uint64_t *sp = (uint64_t *)ALIGN_DOWN((uintptr_t)top - words * 8, 16);
  sp[0] = new_argc;
  memcpy(&sp[1], argp, (new_argc + 1 + envc + 1) * sizeof(char *));
  memcpy(&sp[1 + new_argc + 1 + envc + 1], auxv, sizeof auxv);

  uintptr_t entry = load_bias + ehdr.e_entry;
  __asm__ volatile("mov %[sp], %%rsp\n"
                   "xor %%rdx, %%rdx\n"
                   "jmp *%[entry]\n"
                   :
                   : [sp] "r"(sp), [entry] "a"(entry)
                   : "rdx", "memory");
  __builtin_unreachable();
}
