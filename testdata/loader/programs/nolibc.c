/* nolibc: a static program without any libc. Its own _start reads argc, argv and envp from
 * the stack the way the psABI lays them out, writes them to stdout, and exits 0 by a raw
 * exit_group; it never looks at %rdx or at the auxv. Built -nostdlib -static -no-pie. */
#include <stddef.h>

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

__attribute__((noinline)) static void put(const char *s) {
  size_t n = 0;
  while (((volatile const char *)s)[n]) ++n; /* no strlen: there is no libc */
  sys3(1 /* write */, 1, (long)s, (long)n);
}

static void put_num(long v) {
  char buf[24];
  int i = sizeof buf - 1;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) && i > 0);
  put(buf + i);
}

__attribute__((used, noreturn)) static void cstart(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  put("argc ");
  put_num(argc);
  put("\n");
  for (long i = 0; i < argc; ++i) {
    put("argv ");
    put(argv[i]);
    put("\n");
  }
  for (char **e = argv + argc + 1; *e; ++e) {
    put("env ");
    put(*e);
    put("\n");
  }
  sys3(231 /* exit_group */, 0, 0, 0);
  __builtin_unreachable();
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call cstart\n"
        "  hlt\n");
