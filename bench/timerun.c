/* Whole-process timer used by the bench scripts when hyperfine is not installed.
 *
 *   timerun RUNS WARMUP CMD [ARG...]
 *
 * Spawns CMD (no shell, stdin/stdout/stderr on /dev/null) WARMUP times untimed, then RUNS
 * times, each timed with CLOCK_MONOTONIC from just before posix_spawn() to just after
 * wait4() returns. Prints one line:
 *
 *   median_ms=... mean_ms=... min_ms=... max_ms=... cpu_ms_median=... maxrss_kb_median=... runs=N
 *
 * cpu is the child's user + system time (ru_utime + ru_stime), which is less disturbed than
 * wall time when other work shares the CPUs. maxrss is the child's ru_maxrss (what
 * /usr/bin/time prints as %M). Exits non-zero if any run of CMD fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double median(double* v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run_once(char** argv, double* ms, double* cpu_ms, long* rss_kb) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "timerun: cannot spawn %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return -1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  *rss_kb = ru.ru_maxrss;
  *cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "timerun: %s failed (status 0x%x)\n", argv[0], status);
    return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: timerun RUNS WARMUP CMD [ARG...]\n");
    return 2;
  }
  int runs = atoi(argv[1]), warmup = atoi(argv[2]);
  if (runs < 1 || warmup < 0) return 2;
  char** cmd = argv + 3;
  double ms, cpu;
  long rss;
  for (int i = 0; i < warmup; i++)
    if (run_once(cmd, &ms, &cpu, &rss)) return 1;
  double* t = calloc(runs, sizeof *t);
  double* c = calloc(runs, sizeof *c);
  double* r = calloc(runs, sizeof *r);
  if (!t || !c || !r) return 1;
  double sum = 0, lo = 1e300, hi = 0;
  for (int i = 0; i < runs; i++) {
    if (run_once(cmd, &t[i], &c[i], &rss)) return 1;
    r[i] = (double)rss;
    sum += t[i];
    if (t[i] < lo) lo = t[i];
    if (t[i] > hi) hi = t[i];
  }
  double mean = sum / runs;
  printf("median_ms=%.3f mean_ms=%.3f min_ms=%.3f max_ms=%.3f cpu_ms_median=%.3f "
         "maxrss_kb_median=%.0f runs=%d\n",
         median(t, runs), mean, lo, hi, median(c, runs), median(r, runs), runs);
  return 0;
}
