/* nolibc_loader: a loader written without a C library (the course forbids one): raw system
 * calls, its own _start, no malloc. It maps PROG's segments from the file, builds a new stack
 * in an mmap'd region and copies its own auxv there, rewriting the entries that describe the
 * program. AT_RANDOM stays a pointer to the 16 bytes the kernel put on the loader's stack.
 *   nolibc_loader PROG [ARG...]
 * Planted defect, with -DDEFECT_AT_BASE: AT_BASE is set to the loader's own load address,
 * as if the loader were PROG's interpreter (PROG has no PT_INTERP, so the kernel gives 0).
 * Without it, correct. Built -nostdlib -static -ffreestanding. */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_pread64 17
#define SYS_exit_group 231
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define PG 4096UL

static long sc(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static size_t slen(const char *s) {
  size_t n = 0;
  while (((volatile const char *)s)[n]) n++;
  return n;
}

__attribute__((noreturn)) static void die(const char *msg) {
  sc(SYS_write, 2, (long)"nolibc_loader: ", 15, 0, 0, 0);
  sc(SYS_write, 2, (long)msg, (long)slen(msg), 0, 0, 0);
  sc(SYS_write, 2, (long)"\n", 1, 0, 0, 0);
  sc(SYS_exit_group, 1, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}

static int bad(long r) { return r < 0 && r > -4096; }

static void copy(void *dst, const void *src, size_t n) {
  volatile char *d = dst;
  const char *s = src;
  while (n--) *d++ = *s++;
}

static void zero(void *dst, size_t n) {
  volatile char *d = dst;
  while (n--) *d++ = 0;
}

extern const char __ehdr_start[];

__attribute__((used, noreturn)) static void loader_main(uint64_t *ksp) {
  long argc = (long)ksp[0];
  char **argv = (char **)(ksp + 1);
  char **envp = argv + argc + 1;
  char **e = envp;
  while (*e) e++;
  Elf64_auxv_t *kauxv = (Elf64_auxv_t *)(e + 1);
  if (argc < 2) die("usage: nolibc_loader PROG [ARG...]");

  long fd = sc(SYS_open, (long)argv[1], 0, 0, 0, 0, 0);
  if (bad(fd)) die("cannot open PROG");
  Elf64_Ehdr eh;
  Elf64_Phdr ph[16];
  if (sc(SYS_pread64, fd, (long)&eh, sizeof eh, 0, 0, 0) != sizeof eh) die("short read");
  if (eh.e_ident[0] != 0x7f || eh.e_ident[1] != 'E' || eh.e_ident[2] != 'L' ||
      eh.e_ident[3] != 'F' || eh.e_machine != EM_X86_64 || eh.e_phnum > 16)
    die("not an x86_64 ELF I can load");
  long want = (long)(eh.e_phnum * sizeof(Elf64_Phdr));
  if (sc(SYS_pread64, fd, (long)ph, want, (long)eh.e_phoff, 0, 0) != want) die("short read");

  uint64_t lo = ~0UL, hi = 0, bias = 0, phdr = 0;
  int xstack = 0;
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_GNU_STACK) xstack = (ph[i].p_flags & PF_X) != 0;
    if (ph[i].p_type != PT_LOAD) continue;
    if ((ph[i].p_vaddr & ~(PG - 1)) < lo) lo = ph[i].p_vaddr & ~(PG - 1);
    if (ph[i].p_vaddr + ph[i].p_memsz > hi) hi = ph[i].p_vaddr + ph[i].p_memsz;
  }
  if (eh.e_type == ET_DYN) {
    long r = sc(SYS_mmap, 0, (long)(hi - lo), 0, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bad(r)) die("cannot reserve room for the PIE");
    bias = (uint64_t)r - lo;
  }
  for (int i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type == PT_PHDR) phdr = bias + ph[i].p_vaddr;
    if (ph[i].p_type != PT_LOAD) continue;
    uint64_t va = bias + ph[i].p_vaddr, page = va & ~(PG - 1);
    uint64_t fend = va + ph[i].p_filesz, mend = va + ph[i].p_memsz;
    uint64_t fpage = (fend + PG - 1) & ~(PG - 1), mpage = (mend + PG - 1) & ~(PG - 1);
    long prot = (ph[i].p_flags & PF_R ? PROT_READ : 0) | (ph[i].p_flags & PF_W ? PROT_WRITE : 0) |
                (ph[i].p_flags & PF_X ? PROT_EXEC : 0);
    if (!phdr && ph[i].p_offset <= eh.e_phoff && eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
      phdr = va + eh.e_phoff - ph[i].p_offset;
    if (ph[i].p_filesz) {
      if (bad(sc(SYS_mmap, (long)page, (long)(fpage - page), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_FIXED, fd, (long)(ph[i].p_offset & ~(PG - 1)))))
        die("cannot map a segment");
      if (mend > fend) zero((void *)fend, fpage - fend);
      if (bad(sc(SYS_mprotect, (long)page, (long)(fpage - page), prot, 0, 0, 0))) die("mprotect");
    } else {
      fpage = page;
    }
    if (mpage > fpage && bad(sc(SYS_mmap, (long)fpage, (long)(mpage - fpage), prot,
                                MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0)))
      die("cannot map the bss");
  }
  sc(SYS_close, fd, 0, 0, 0, 0, 0);

  /* The new stack: 1 MiB, strings at the top, then the vectors, as the kernel lays them. */
  const uint64_t size = 1UL << 20;
  long st = sc(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE | (xstack ? PROT_EXEC : 0),
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (bad(st)) die("cannot map a stack");
  char *top = (char *)st + size;
  long nargs = argc - 1, nenv = envp == e ? 0 : e - envp, naux = 0;
  while (kauxv[naux].a_type != AT_NULL) naux++;
  naux++;
  /* Pointers of the new vectors, computed first, written after the strings. */
  uint64_t words = 1 + (uint64_t)nargs + 1 + (uint64_t)nenv + 1 + 2 * (uint64_t)naux;
  char *strings_end = top;
  uint64_t total = 0;
  for (long i = 1; i < argc; i++) total += slen(argv[i]) + 1;
  for (long i = 0; i < nenv; i++) total += slen(envp[i]) + 1;
  char *s = strings_end - total;
  uint64_t *sp = (uint64_t *)(((uint64_t)s - words * 8) & ~15UL);
  uint64_t *w = sp;
  *w++ = (uint64_t)nargs;
  char *execfn = s;
  for (long i = 1; i < argc; i++) {
    size_t n = slen(argv[i]) + 1;
    copy(s, argv[i], n);
    *w++ = (uint64_t)s;
    s += n;
  }
  *w++ = 0;
  for (long i = 0; i < nenv; i++) {
    size_t n = slen(envp[i]) + 1;
    copy(s, envp[i], n);
    *w++ = (uint64_t)s;
    s += n;
  }
  *w++ = 0;
  Elf64_auxv_t *aux = (Elf64_auxv_t *)w;
  copy(aux, kauxv, (size_t)naux * sizeof *aux);
  for (Elf64_auxv_t *a = aux; a->a_type != AT_NULL; a++) {
    switch (a->a_type) {
      case AT_PHDR: a->a_un.a_val = phdr; break;
      case AT_PHNUM: a->a_un.a_val = eh.e_phnum; break;
      case AT_PHENT: a->a_un.a_val = sizeof(Elf64_Phdr); break;
      case AT_ENTRY: a->a_un.a_val = bias + eh.e_entry; break;
      case AT_EXECFN: a->a_un.a_val = (uint64_t)execfn; break;
#ifdef DEFECT_AT_BASE
      case AT_BASE: a->a_un.a_val = (uint64_t)__ehdr_start; break;
#endif
    }
  }
  uint64_t entry = bias + eh.e_entry;
  __asm__ volatile("mov %0, %%rsp\n\txor %%edx, %%edx\n\tjmp *%1" : : "r"(sp), "a"(entry) : "rdx", "memory");
  __builtin_unreachable();
}

__asm__(".text\n.global _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call loader_main\n  hlt\n");
