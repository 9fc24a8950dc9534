/* Measures how deep a program's start-up code (ld.so, and the initializers it runs) writes
 * below the initial stack pointer before the program's entry point: at the exec trap the stack
 * below sp is filled with a pattern, an int3 is planted at AT_ENTRY, and at that breakpoint the
 * lowest byte that no longer holds the pattern gives the depth. x86_64 tracees only.
 * Usage: stack_depth_probe [-e NAME=VALUE]... PROGRAM [ARG]...   (prints "depth N")
 * Exit 0 with the depth; 1 when the run cannot be measured (the reason on stderr). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kSpan = 64 * 1024, kMaxEnv = 256 };
static const unsigned char kFill = 0xa5;

static int fail(pid_t pid, const char *what) {
  fprintf(stderr, "stack_depth_probe: %s: %s\n", what, errno ? strerror(errno) : "unexpected");
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  return 1;
}

int main(int argc, char **argv) {
  char *envp[kMaxEnv + 1];
  int nenv = 0, i = 1;
  for (; i + 1 < argc && strcmp(argv[i], "-e") == 0 && nenv < kMaxEnv; i += 2) envp[nenv++] = argv[i + 1];
  envp[nenv] = NULL;
  if (i >= argc) {
    fprintf(stderr, "usage: stack_depth_probe [-e NAME=VALUE]... PROGRAM [ARG]...\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) return fail(-1, "fork");
  if (pid == 0) {
    personality(ADDR_NO_RANDOMIZE);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(126);
    execve(argv[i], argv + i, envp);
    _exit(127);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) return fail(pid, "no exec trap");
  struct user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, 0, &regs) != 0) return fail(pid, "PTRACE_GETREGS");
  uint64_t sp = regs.rsp;
  char path[64];
  static unsigned char fill[kSpan], back[kSpan];
  memset(fill, kFill, sizeof fill);
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  int mem = open(path, O_RDWR | O_CLOEXEC);
  if (mem < 0 || pwrite(mem, fill, kSpan, (off_t)(sp - kSpan)) != kSpan)
    return fail(pid, "fill the stack below sp");
  snprintf(path, sizeof path, "/proc/%d/auxv", pid);
  int afd = open(path, O_RDONLY | O_CLOEXEC);
  uint64_t aux[512];
  ssize_t n = afd < 0 ? -1 : read(afd, aux, sizeof aux);
  if (afd >= 0) close(afd);
  uint64_t entry = 0;
  for (ssize_t k = 0; k + 1 < n / 8; k += 2)
    if (aux[k] == AT_ENTRY) entry = aux[k + 1];
  if (!entry) return fail(pid, "no AT_ENTRY");
  errno = 0;
  long word = ptrace(PTRACE_PEEKTEXT, pid, entry, 0);
  if (errno || ptrace(PTRACE_POKETEXT, pid, entry, (word & ~0xffL) | 0xcc) != 0)
    return fail(pid, "plant the breakpoint");
  if (ptrace(PTRACE_CONT, pid, 0, 0) != 0 || waitpid(pid, &st, 0) != pid) return fail(pid, "continue");
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
    errno = 0;
    return fail(pid, "the program did not reach its entry point");
  }
  if (pread(mem, back, kSpan, (off_t)(sp - kSpan)) != kSpan) return fail(pid, "read the stack back");
  long low = kSpan;
  for (long k = 0; k < kSpan; ++k)
    if (back[k] != kFill) {
      low = k;
      break;
    }
  if (low == 0) {
    errno = 0;
    return fail(pid, "the start-up code wrote below the measured span");
  }
  printf("depth %ld\n", kSpan - low);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}
