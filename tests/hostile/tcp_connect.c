/* TCP to 127.0.0.1 and ::1 on the port the test listens on (PORT), and a UDP datagram there. */
#include "hostile.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void hostile_prologue(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *p = henv("PORT");
  if (!p) return;
  const int port = atoi(p);
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons((uint16_t)port);
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a4, sizeof a4) == 0)
    breach("connected to 127.0.0.1:%d", port);
  if (fd >= 0) close(fd);
  struct sockaddr_in6 a6;
  memset(&a6, 0, sizeof a6);
  a6.sin6_family = AF_INET6;
  a6.sin6_port = htons((uint16_t)port);
  a6.sin6_addr = in6addr_loopback;
  fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a6, sizeof a6) == 0)
    breach("connected to [::1]:%d", port);
  if (fd >= 0) close(fd);
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && sendto(fd, "hostile", 7, 0, (struct sockaddr *)&a4, sizeof a4) == 7)
    breach("sent a UDP datagram to 127.0.0.1:%d", port);
  if (fd >= 0) close(fd);
}
