/* ref_loader: a minimal, correct user-space ELF loader for static and static-pie x86_64
 * programs, graded by `execmap grade` (issue 6). It maps PROG's PT_LOADs as load_elf_binary()
 * does, builds a fresh initial stack (argc, argv, envp, auxv) and jumps to the entry.
 * Built with -m32 (ref_loader32) it loads static and static-pie i386 programs the same way:
 * ELF32 headers, 4-byte stack words, the i386 entry state.
 *
 *   ref_loader PROG [ARG...]
 *
 * Built static and linked away from 0x400000 (-Wl,-Ttext-segment) so a non-PIE PROG can be
 * mapped at its link address. The same source, built with one -DBUG_* flag, gives the broken
 * variants the grader must catch:
 *   BUG_NO_BSS_ZERO           the partial page after p_filesz is not zeroed
 *   BUG_WRITABLE_TEXT         executable segments are also mapped writable
 *   BUG_STACK_MISALIGN        sp is 8 bytes off the 16-byte alignment
 *   BUG_NO_AT_RANDOM          the auxv has no AT_RANDOM
 *   BUG_ARGV_REVERSED         PROG's arguments are passed in reverse order
 *   BUG_PIE_ENTRY_UNRELOCATED for ET_DYN, jumps to e_entry without adding the base
 *   BUG_WRONG_PHDR            AT_PHDR is the file offset of the phdrs, not their address
 *   BUG_NO_ENVP               an empty environment is passed
 *   BUG_RDX_GARBAGE           %rdx (%edx) is not zeroed: it holds the entry address
 *   BUG_EXECFN_FIRST_ARG      AT_EXECFN names PROG's first argument instead of PROG
 *   BUG_AT_NOTELF             the auxv also has AT_NOTELF = 1
 *   BUG_EXEC_STACK            the new stack is mapped executable
 *   BUG_ARGV_NULL_GARBAGE     argv[argc] holds 1 instead of NULL (envp stays at argv + argc + 1)
 *   BUG_RANDOM_ZERO           AT_RANDOM's 16 bytes are all zero
 *   BUG_RANDOM_FIXED          AT_RANDOM's 16 bytes are the same on every run
 *   BUG_ARGC_HIGH             argc's upper 4 bytes are garbage (an int stored in a 64-bit word)
 * Correct too, built the way some students build theirs:
 *   RESERVE_4G                ET_DYN: reserves 4 GiB of PROT_NONE address space for the image
 *   FILE_BUFFER               first maps the whole file read-only as a buffer and keeps it
 *                             (a course skeleton's habit)
 *   COPY_SEGMENTS             copies each segment into anonymous memory (pread) instead of
 *                             mapping the file, then sets its protection
 * Optional: -DEXECMAP_SNAPSHOT=PATH writes a contrib/execmap_snapshot.h snapshot before the
 * jump (needs -I contrib).
 * tests/hostile builds it with -DHOSTILE_PROLOGUE='"FILE"': FILE's hostile_prologue(argc, argv)
 * attacks the grader first thing in main, and, when FILE defines HOSTILE_BEFORE_JUMP,
 * hostile_before_jump() may change the stack and entry just before the jump.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef EXECMAP_SNAPSHOT
#include "execmap_snapshot.h"
#endif

#if defined(__i386__)
#define W(type) Elf32_##type
#define ELF_CLASS ELFCLASS32
#define ELF_MACHINE EM_386
#define ARCH_NAME "i386"
typedef uint32_t word_t;
#else
#define W(type) Elf64_##type
#define ELF_CLASS ELFCLASS64
#define ELF_MACHINE EM_X86_64
#define ARCH_NAME "x86_64"
typedef uint64_t word_t;
#endif

#define PAGE 4096UL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define STACK_SIZE (1UL << 20)

extern char **environ;

static void die(const char *what) {
  fprintf(stderr, "ref_loader: %s\n", what);
  exit(127);
}

#ifdef HOSTILE_PROLOGUE
#include HOSTILE_PROLOGUE
#endif

static int prot_of(uint32_t p_flags) {
  int prot = 0;
  if (p_flags & PF_R) prot |= PROT_READ;
  if (p_flags & PF_W) prot |= PROT_WRITE;
  if (p_flags & PF_X) prot |= PROT_EXEC;
#ifdef BUG_WRITABLE_TEXT
  if (p_flags & PF_X) prot |= PROT_WRITE;
#endif
  return prot;
}

static void read_exact(int fd, void *buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
    if (n <= 0) die("short read");
    done += (size_t)n;
  }
}

/* One PT_LOAD, the way elf_load() does it: the file part with MAP_FIXED|MAP_PRIVATE, the rest
 * of the last file page zeroed (padzero), anonymous zero pages up to p_memsz. */
static void map_segment(int fd, const W(Phdr) *ph, uint64_t base) {
  uint64_t start = base + ph->p_vaddr;
  uint64_t page = PAGE_DOWN(start);
  uint64_t file_end = start + ph->p_filesz, mem_end = start + ph->p_memsz;
  int prot = prot_of(ph->p_flags);
#ifdef COPY_SEGMENTS
  {
    void *m = mmap((void *)(uintptr_t)page, PAGE_UP(mem_end) - page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap of a segment failed");
    if (ph->p_filesz) read_exact(fd, (void *)(uintptr_t)start, ph->p_filesz, (off_t)ph->p_offset);
    if (mprotect((void *)(uintptr_t)page, PAGE_UP(mem_end) - page, prot) != 0) die("mprotect failed");
    (void)file_end;
    return;
  }
#endif
  if (ph->p_filesz) {
    /* Writable while we zero the tail of the last file page; final permissions below. */
    void *m = mmap((void *)(uintptr_t)page, PAGE_UP(file_end) - page, prot | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED, fd, (off_t)PAGE_DOWN(ph->p_offset));
    if (m == MAP_FAILED) die("mmap of a segment failed");
#ifndef BUG_NO_BSS_ZERO
    if (mem_end > file_end && (file_end & (PAGE - 1)))
      memset((void *)(uintptr_t)file_end, 0, PAGE - (file_end & (PAGE - 1)));
#endif
    if (mprotect((void *)(uintptr_t)page, PAGE_UP(file_end) - page, prot) != 0) die("mprotect failed");
  }
  uint64_t anon = ph->p_filesz ? PAGE_UP(file_end) : page;
  if (PAGE_UP(mem_end) > anon) {
    void *m = mmap((void *)(uintptr_t)anon, PAGE_UP(mem_end) - anon, prot,
                   MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap of the bss failed");
  }
}

/* Pushes a string onto the downward-growing string area; returns its address. */
static char *push_string(char **top, const char *s) {
  size_t n = strlen(s) + 1;
  *top -= n;
  memcpy(*top, s, n);
  return *top;
}

static void start(uintptr_t sp, uintptr_t entry) __attribute__((noreturn));
static void start(uintptr_t sp, uintptr_t entry) {
  /* The ELF ABI entry state: the stack pointer at argc, edx/rdx = 0 (no atexit function to
   * register; the i386 and x86_64 psABIs both give it that meaning). */
#if defined(__i386__)
  __asm__ volatile("mov %0, %%esp\n\t"
#ifdef BUG_RDX_GARBAGE
                   "mov %1, %%edx\n\t"
#else
                   "xor %%edx, %%edx\n\t"
#endif
                   "xor %%ebp, %%ebp\n\t"
                   "jmp *%1\n\t"
                   :
                   : "S"(sp), "D"(entry) /* never in edx or ebp, which are set here */
                   : "memory");
#else
  __asm__ volatile("mov %0, %%rsp\n\t"
#ifdef BUG_RDX_GARBAGE
                   "mov %1, %%rdx\n\t"
#else
                   "xor %%edx, %%edx\n\t"
#endif
                   "xor %%ebp, %%ebp\n\t"
                   "jmp *%1\n\t"
                   :
                   : "S"(sp), "D"(entry) /* never in edx or ebp, which are set here */
                   : "memory");
#endif
  __builtin_unreachable();
}

int main(int argc, char **argv) {
#ifdef HOSTILE_PROLOGUE
  hostile_prologue(argc, argv);
#endif
  if (argc < 2) die("usage: ref_loader PROG [ARG...]");
  const char *path = argv[1];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open PROG");

#ifdef FILE_BUFFER
  off_t file_size = lseek(fd, 0, SEEK_END);
  if (file_size <= 0) die("cannot size PROG");
  const void *file_buffer = mmap(NULL, (size_t)file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (file_buffer == MAP_FAILED) die("cannot map PROG as a buffer");
#endif
  /* Header and program headers. */
  W(Ehdr) eh;
  read_exact(fd, &eh, sizeof eh, 0);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELF_CLASS ||
      eh.e_machine != ELF_MACHINE || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
    die("not an " ARCH_NAME " ELF executable");
  if (eh.e_phentsize != sizeof(W(Phdr)) || eh.e_phnum == 0 || eh.e_phnum > 64)
    die("bad program headers");
  W(Phdr) ph[64];
  read_exact(fd, ph, eh.e_phnum * sizeof(W(Phdr)), (off_t)eh.e_phoff);

  /* The span of the PT_LOADs, and the phdr address (load_elf_binary: PT_PHDR, else the
   * PT_LOAD that holds e_phoff). */
  uint64_t lo = UINT64_MAX, hi = 0, phdr_vaddr = 0;
  int have_phdr = 0;
  for (int i = 0; i < eh.e_phnum; ++i) {
    if (ph[i].p_type == PT_INTERP) die("PROG needs an interpreter; only static programs");
    if (ph[i].p_type == PT_PHDR) {
      phdr_vaddr = ph[i].p_vaddr;
      have_phdr = 1;
    }
    if (ph[i].p_type != PT_LOAD) continue;
    if (PAGE_DOWN(ph[i].p_vaddr) < lo) lo = PAGE_DOWN(ph[i].p_vaddr);
    if (PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz) > hi) hi = PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz);
    if (!have_phdr && eh.e_phoff >= ph[i].p_offset &&
        eh.e_phoff + eh.e_phnum * sizeof(W(Phdr)) <= ph[i].p_offset + ph[i].p_filesz) {
      phdr_vaddr = ph[i].p_vaddr + (eh.e_phoff - ph[i].p_offset);
      have_phdr = 1;
    }
  }
  if (hi <= lo) die("no PT_LOAD");

  /* ET_EXEC: at the link address. ET_DYN: reserve the whole span, then map inside it. */
  uint64_t base = 0;
  if (eh.e_type == ET_DYN) {
    size_t span = hi - lo;
#if defined(RESERVE_4G) && !defined(__i386__)
    span = (size_t)4 << 30;
#endif
    void *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) die("cannot reserve the image span");
    base = (uintptr_t)r - lo;
  }
  for (int i = 0; i < eh.e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD) map_segment(fd, &ph[i], base);
  close(fd);

  /* The new stack: strings at the top, then AT_RANDOM's bytes, then the pointer arrays. */
  /* Executable when PT_GNU_STACK has PF_X; without PT_GNU_STACK, an i386 program gets
   * READ_IMPLIES_EXEC and so an executable stack, an x86_64 one does not. */
  int stack_x = 0, have_gnu_stack = 0;
  for (int i = 0; i < eh.e_phnum; ++i)
    if (ph[i].p_type == PT_GNU_STACK) {
      have_gnu_stack = 1;
      stack_x = (ph[i].p_flags & PF_X) != 0;
    }
#if defined(__i386__)
  if (!have_gnu_stack) stack_x = 1;
#endif
  (void)have_gnu_stack;
  int stack_prot = PROT_READ | PROT_WRITE | (stack_x ? PROT_EXEC : 0);
#ifdef BUG_EXEC_STACK
  stack_prot |= PROT_EXEC;
#endif
  char *stack = mmap(NULL, STACK_SIZE, stack_prot,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
  if (stack == MAP_FAILED) die("cannot map a stack");
  char *top = stack + STACK_SIZE;
  int nargs = argc - 1;
  char **envp = environ;
#ifdef BUG_NO_ENVP
  static char *no_env[1] = {NULL};
  envp = no_env;
#endif
  int nenv = 0;
  while (envp[nenv]) ++nenv;
  char **new_argv = calloc((size_t)nargs + 1, sizeof *new_argv);
  char **new_envp = calloc((size_t)nenv + 1, sizeof *new_envp);
  if (!new_argv || !new_envp) die("out of memory");
  char *execfn = push_string(&top, path);
  for (int i = nenv - 1; i >= 0; --i) new_envp[i] = push_string(&top, envp[i]);
  for (int i = nargs - 1; i >= 0; --i) {
#ifdef BUG_ARGV_REVERSED
    new_argv[i] = push_string(&top, argv[argc - 1 - i]);
#else
    new_argv[i] = push_string(&top, argv[1 + i]);
#endif
  }
  top = (char *)((uintptr_t)top & ~15UL);
  top -= 16;
  char *random = top;
  const void *own_random = (const void *)getauxval(AT_RANDOM);
  if (own_random) memcpy(random, own_random, 16);
  else memset(random, 0x5a, 16);
#ifdef BUG_RANDOM_ZERO
  memset(random, 0, 16);
#endif
#ifdef BUG_RANDOM_FIXED
  memset(random, 0x5a, 16);
#endif

  W(auxv_t) aux[40];
  int na = 0;
#define AUX(t, v) (aux[na].a_type = (t), aux[na].a_un.a_val = (word_t)(uintptr_t)(v), ++na)
#ifdef BUG_WRONG_PHDR
  (void)phdr_vaddr;
  AUX(AT_PHDR, base + eh.e_phoff);
#else
  AUX(AT_PHDR, base + phdr_vaddr);
#endif
  AUX(AT_PHENT, sizeof(W(Phdr)));
  AUX(AT_PHNUM, eh.e_phnum);
  AUX(AT_PAGESZ, PAGE);
  AUX(AT_BASE, 0);
  AUX(AT_FLAGS, 0);
  AUX(AT_ENTRY, base + eh.e_entry);
#ifndef BUG_NO_AT_RANDOM
  AUX(AT_RANDOM, random);
#endif
#ifdef BUG_EXECFN_FIRST_ARG
  AUX(AT_EXECFN, nargs > 1 ? new_argv[1] : execfn);
#else
  AUX(AT_EXECFN, execfn);
#endif
#ifdef BUG_AT_NOTELF
  AUX(AT_NOTELF, 1);
#endif
  /* Host facts copied from our own auxv, as the kernel would give them to any program. */
  static const unsigned long copied[] = {AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP, AT_HWCAP2,
                                         AT_CLKTCK, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE,
                                         AT_PLATFORM};
  for (size_t i = 0; i < sizeof copied / sizeof copied[0]; ++i) {
    unsigned long v = getauxval(copied[i]);
    if (v || copied[i] == AT_SECURE || copied[i] == AT_UID || copied[i] == AT_EUID ||
        copied[i] == AT_GID || copied[i] == AT_EGID)
      AUX(copied[i], v);
  }
  AUX(AT_NULL, 0);

  /* argc, argv[], NULL, envp[], NULL, auxv: a word each (8 bytes, 4 on i386) and two per auxv
   * entry, placed so that sp (at argc) is 16-byte aligned as the kernel leaves it. */
  size_t words = 1 + (size_t)nargs + 1 + (size_t)nenv + 1 + 2 * (size_t)na;
  word_t *sp = (word_t *)(((uintptr_t)top - words * sizeof(word_t)) & ~15UL);
#ifdef BUG_STACK_MISALIGN
  sp = (word_t *)((char *)sp - 8);
#endif
  word_t *w = sp;
#if defined(BUG_ARGC_HIGH) && !defined(__i386__)
  *w++ = (word_t)nargs | 0xffffef8d00000000ull;
#else
  *w++ = (word_t)nargs;
#endif
  for (int i = 0; i < nargs; ++i) *w++ = (word_t)(uintptr_t)new_argv[i];
#ifdef BUG_ARGV_NULL_GARBAGE
  *w++ = 1;
#else
  *w++ = 0;
#endif
  for (int i = 0; i < nenv; ++i) *w++ = (word_t)(uintptr_t)new_envp[i];
  *w++ = 0;
  memcpy(w, aux, (size_t)na * sizeof aux[0]);

  uintptr_t entry = (uintptr_t)(base + eh.e_entry);
#ifdef BUG_PIE_ENTRY_UNRELOCATED
  entry = eh.e_entry;
#endif
#ifdef EXECMAP_SNAPSHOT
  if (execmap_snapshot_write(EXECMAP_SNAPSHOT, (uintptr_t)sp, entry, base, (const void *)ph,
                             eh.e_phnum) != 0)
    die("cannot write the snapshot");
#endif
#ifdef HOSTILE_BEFORE_JUMP
  {
    uintptr_t new_sp = (uintptr_t)sp;
    hostile_before_jump(&new_sp, &entry, base, ph, eh.e_phnum);
    sp = (word_t *)new_sp;
  }
#endif
  fflush(NULL);
  start((uintptr_t)sp, entry);
}
