/* Writes outside the scratch: into the watched directory and file (WATCH_DIR, WATCHED), the
 * working directory, another submission's secret (OTHER), this loader's own binary, PROG and
 * the execmap binary (EXECMAP_BIN): appends, new files, renames, modes and times. It cannot
 * tell a harmless write (on the scratch) from a real one: the test compares checksums. */
#include "hostile.h"
#include <sys/time.h>

static void try_append(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  ssize_t ignored = write(fd, "HOSTILE", 7);
  (void)ignored;
  close(fd);
}

static void try_meta(const char *path) {
  chmod(path, 0777);
  utimes(path, NULL);
  if (truncate(path, 0) == 0) return;
}

static void try_create(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  write_forged(path);
  snprintf(path, sizeof path, "%s/%s.d", dir, name);
  mkdir(path, 0777);
  snprintf(path, sizeof path, "%s/%s.lnk", dir, name);
  if (symlink("/etc/passwd", path) != 0) return;
}

static void hostile_prologue(int argc, char **argv) {
  const char *watched = henv("WATCHED"), *dir = henv("WATCH_DIR"), *other = henv("OTHER");
  const char *execmap = henv("EXECMAP_BIN");
  if (watched) {
    try_append(watched);
    try_meta(watched);
    char moved[4096];
    snprintf(moved, sizeof moved, "%s.moved", watched);
    if (rename(watched, moved) == 0) rename(moved, watched);
  }
  if (dir) try_create(dir, "pwned");
  try_create(".", "pwned");
  if (other) {
    char secret[4096];
    snprintf(secret, sizeof secret, "%s/secret.txt", other);
    try_append(secret);
    try_create(other, "pwned");
  }
  /* The loader itself and the grader: appended to (ETXTBSY while they run, if reachable) and
   * their modes and times changed; PROG is appended to, not truncated, so it still loads. */
  const char *const bins[] = {argv[0], "/proc/self/exe", execmap};
  for (size_t i = 0; i < sizeof bins / sizeof bins[0]; ++i)
    if (bins[i]) {
      try_append(bins[i]);
      chmod(bins[i], 0777);
      utimes(bins[i], NULL);
    }
  if (argc > 1) {
    try_append(argv[1]);
    chmod(argv[1], 0777);
    utimes(argv[1], NULL);
  }
}
