/* Reads another submission's directory (OTHER/secret.txt): by its path, relative to the working
 * directory, and through /proc's root links. */
#include "hostile.h"
#include <dirent.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *o = henv("OTHER");
  if (!o) return;
  const char *const fmts[] = {"%s/secret.txt", "/proc/1/root%s/secret.txt",
                              "/proc/self/root%s/secret.txt", "../other/secret.txt%.0s",
                              "../../other/secret.txt%.0s"};
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; ++i) {
    char path[4096], buf[512];
    snprintf(path, sizeof path, fmts[i], o);
    if (slurp(path, buf, sizeof buf) > 0) breach("read %s: %s", path, buf);
  }
  DIR *d = opendir(o);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') breach("listed %s: %s", o, e->d_name);
    closedir(d);
  }
}
