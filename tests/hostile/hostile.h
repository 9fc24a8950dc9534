/* hostile.h: what the attack prologues of tests/hostile share. Each prologue is included by
 * testdata/loader/ref_loader.c (-DHOSTILE_PROLOGUE) and runs first in its main; where the
 * sandbox contains the attack, ref_loader then loads PROG honestly and earns full marks.
 *
 * An attack that succeeds and can tell (a read of what the sandbox hides, a signal or a trace
 * that reached a process outside, a connection) calls breach(): it prints what it got on stderr
 * and exits, so the grade is 0 and the evidence is in the report. Writes cannot tell a harmless
 * scratch file from a real one; hostile_grade.sh checks those by checksums.
 *
 * What hostile_grade.sh passes in the environment (-i --env):
 *   RESULTS      the --gradescope file of this grade
 *   WATCH_DIR    a directory the test checksums; WATCHED, a file in it
 *   OTHER        another submission's directory (a secret in secret.txt)
 *   VICTIM_PID   a sacrificial sleep; SHELL_PID, the test's shell; NOBODY_PID, a sleep of
 *                uid 65534 (another submission's process) when the test runs as root
 *   EXECMAP_BIN  the execmap binary that grades
 *   PORT         a TCP port the test listens on; ABSTRACT, an abstract AF_UNIX name it listens on
 *   SCRATCH_MB, AS_LIMIT_MB   the --scratch-mb and --as-limit-mb of the grade
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline const char *henv(const char *key) {
  const char *v = getenv(key);
  return v && *v ? v : NULL;
}

/* A pid from the environment, or 0 when absent or one that must not be signalled here (0 and
 * -1 are process groups, 1 is the init of a PID namespace: this loader itself there). */
static inline pid_t henv_pid(const char *key) {
  const char *v = henv(key);
  long p = v ? strtol(v, NULL, 10) : 0;
  return p > 1 ? (pid_t)p : 0;
}

static inline void breach(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static inline void breach(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("HOSTILE-BREACH: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  _exit(66);
}

/* Up to n - 1 bytes of path, control characters shown as '?'; -1 when it cannot be read. */
static inline ssize_t slurp(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  ssize_t got = read(fd, buf, n - 1);
  close(fd);
  if (got < 0) return -1;
  for (ssize_t i = 0; i < got; ++i)
    if ((unsigned char)buf[i] < 0x20 && buf[i] != '\n') buf[i] = '?';
  buf[got] = 0;
  return got;
}

/* A results file as a student would forge it: full marks, a plausible sandbox line. */
static const char forged_results[] =
    "{\"score\": 1000.0, \"output\": \"sandbox: namespaces (forged)\", \"tests\": []}\n";

static inline void write_forged(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return;
  ssize_t ignored = write(fd, forged_results, sizeof forged_results - 1);
  (void)ignored;
  close(fd);
}

/* What an escaped child does: leave the loader's process group, wait for the grader to write
 * its results, forge them, and stay around to be found. */
static inline void outlive_and_rewrite(void) __attribute__((noreturn));
static inline void outlive_and_rewrite(void) {
  setsid();
  sleep(1);
  const char *r = henv("RESULTS");
  if (r) write_forged(r);
  sleep(30);
  _exit(0);
}
