/* AF_UNIX, which the seccomp filter allows: connects to an abstract socket the test listens on
 * (ABSTRACT; abstract names belong to the network namespace, not to the filesystem). */
#include "hostile.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *name = henv("ABSTRACT");
  if (!name) return;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 1) n = sizeof a.sun_path - 1;
  memcpy(a.sun_path + 1, name, n);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0)
    breach("connected to the abstract AF_UNIX socket @%s", name);
  if (fd >= 0) close(fd);
}
