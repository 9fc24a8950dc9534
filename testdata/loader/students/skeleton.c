/* skeleton: a loader written on a course's skeleton. The skeleton maps the whole ELF file
 * read-only as a buffer (load_file) and parses the headers from it; the student filled in
 * map_segments(), build_stack() and the jump. Mapping-based: each PT_LOAD is an mmap of the
 * file at its address (for a PIE, inside a reservation placed by the kernel).
 *   skeleton PROG [ARG...]
 * Planted defect, with -DDEFECT_RDX: the jump puts the entry address in %rdx (the asm the
 * student found uses it as a scratch register), so a glibc program registers its own entry
 * as an atexit function. Without it the loader is correct. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- provided by the skeleton ---- */
static void fail(const char *msg) {
  fprintf(stderr, "loader: %s\n", msg);
  exit(1);
}

struct elf_file {
  int fd;
  const unsigned char *data;
  size_t size;
};

static struct elf_file load_file(const char *path) {
  struct elf_file f;
  struct stat st;
  f.fd = open(path, O_RDONLY);
  if (f.fd < 0 || fstat(f.fd, &st) != 0) fail("cannot open the program");
  f.size = (size_t)st.st_size;
  f.data = mmap(NULL, f.size, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (f.data == MAP_FAILED) fail("cannot map the program");
  return f;
}
/* ---- end of the provided part ---- */

#define PG 4096UL
#define DOWN(x) ((x) & ~(PG - 1))
#define UP(x) (((x) + PG - 1) & ~(PG - 1))

static int to_prot(Elf64_Word flags) {
  return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
         ((flags & PF_X) ? PROT_EXEC : 0);
}

static uintptr_t map_segments(struct elf_file *f, const Elf64_Ehdr *eh) {
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(f->data + eh->e_phoff);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    if (DOWN(ph[i].p_vaddr) < lo) lo = DOWN(ph[i].p_vaddr);
    if (UP(ph[i].p_vaddr + ph[i].p_memsz) > hi) hi = UP(ph[i].p_vaddr + ph[i].p_memsz);
  }
  uintptr_t bias = 0;
  if (eh->e_type == ET_DYN) {
    void *r = mmap(NULL, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) fail("cannot reserve space for the PIE");
    bias = (uintptr_t)r - lo;
  }
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    uintptr_t va = bias + ph[i].p_vaddr;
    uintptr_t fend = va + ph[i].p_filesz, mend = va + ph[i].p_memsz;
    int prot = to_prot(ph[i].p_flags);
    if (ph[i].p_filesz > 0) {
      void *m = mmap((void *)DOWN(va), UP(fend) - DOWN(va), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_FIXED, f->fd, (off_t)DOWN(ph[i].p_offset));
      if (m == MAP_FAILED) fail("mmap of a segment failed");
      if (mend > fend) memset((void *)fend, 0, UP(fend) - fend);
      mprotect((void *)DOWN(va), UP(fend) - DOWN(va), prot);
    }
    uintptr_t zstart = ph[i].p_filesz > 0 ? UP(fend) : DOWN(va);
    if (UP(mend) > zstart &&
        mmap((void *)zstart, UP(mend) - zstart, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
             -1, 0) == MAP_FAILED)
      fail("mmap of the bss failed");
  }
  return bias;
}

static int wants_exec_stack(struct elf_file *f, const Elf64_Ehdr *eh) {
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(f->data + eh->e_phoff);
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_GNU_STACK) return (ph[i].p_flags & PF_X) != 0;
  return 0;
}

static uint64_t *build_stack(struct elf_file *f, const Elf64_Ehdr *eh, uintptr_t bias,
                             int argc, char **argv, char **envp) {
  size_t size = 8 << 20;
  int prot = PROT_READ | PROT_WRITE | (wants_exec_stack(f, eh) ? PROT_EXEC : 0);
  char *stack = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) fail("cannot allocate the stack");
  char *p = stack + size;
  int envc = 0;
  while (envp[envc]) envc++;
  char *sargv[argc], *senvp[envc + 1];
  /* strings first, at the very top */
  p -= strlen(argv[0]) + 1;
  strcpy(p, argv[0]);
  char *execfn = p;
  for (int i = envc - 1; i >= 0; i--) { p -= strlen(envp[i]) + 1; strcpy(p, envp[i]); senvp[i] = p; }
  for (int i = argc - 1; i >= 0; i--) { p -= strlen(argv[i]) + 1; strcpy(p, argv[i]); sargv[i] = p; }
  p = (char *)((uintptr_t)p & ~15UL) - 16;
  memcpy(p, (void *)getauxval(AT_RANDOM), 16);
  char *rnd = p;

  const Elf64_Phdr *ph = (const Elf64_Phdr *)(f->data + eh->e_phoff);
  uintptr_t phdr = 0;
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_PHDR) phdr = bias + ph[i].p_vaddr;
  for (int i = 0; i < eh->e_phnum && !phdr; i++)
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh->e_phoff &&
        eh->e_phoff < ph[i].p_offset + ph[i].p_filesz)
      phdr = bias + ph[i].p_vaddr + eh->e_phoff - ph[i].p_offset;
  uint64_t aux[] = {
      AT_PHDR, phdr, AT_PHENT, sizeof(Elf64_Phdr), AT_PHNUM, eh->e_phnum,
      AT_PAGESZ, PG, AT_BASE, 0, AT_FLAGS, 0, AT_ENTRY, bias + eh->e_entry,
      AT_UID, getauxval(AT_UID), AT_EUID, getauxval(AT_EUID), AT_GID, getauxval(AT_GID),
      AT_EGID, getauxval(AT_EGID), AT_SECURE, getauxval(AT_SECURE), AT_RANDOM, (uintptr_t)rnd,
      AT_HWCAP, getauxval(AT_HWCAP), AT_CLKTCK, getauxval(AT_CLKTCK),
      AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR), AT_EXECFN, (uintptr_t)execfn, AT_NULL, 0};
  size_t n = 1 + argc + 1 + envc + 1 + sizeof aux / 8;
  uint64_t *sp = (uint64_t *)(((uintptr_t)p - n * 8) & ~15UL);
  uint64_t *w = sp;
  *w++ = argc;
  for (int i = 0; i < argc; i++) *w++ = (uintptr_t)sargv[i];
  *w++ = 0;
  for (int i = 0; i < envc; i++) *w++ = (uintptr_t)senvp[i];
  *w++ = 0;
  memcpy(w, aux, sizeof aux);
  return sp;
}

int main(int argc, char **argv, char **envp) {
  if (argc < 2) fail("usage: skeleton PROG [ARG...]");
  struct elf_file f = load_file(argv[1]);
  if (f.size < sizeof(Elf64_Ehdr)) fail("not an ELF file");
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f.data;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_machine != EM_X86_64)
    fail("not an x86_64 ELF file");
  uintptr_t bias = map_segments(&f, eh);
  uint64_t *sp = build_stack(&f, eh, bias, argc - 1, argv + 1, envp);
  uintptr_t entry = bias + eh->e_entry;
  fflush(stdout);
#ifdef DEFECT_RDX
  __asm__ volatile("mov %0, %%rsp\n\tjmp *%%rdx" : : "r"(sp), "d"(entry) : "memory");
#else
  __asm__ volatile("mov %0, %%rsp\n\txor %%edx, %%edx\n\tjmp *%1" : : "S"(sp), "a"(entry) : "memory");
#endif
  __builtin_unreachable();
}
