/* systemd's readiness protocol: one datagram ("READY=1", "STOPPING=1", …) to $NOTIFY_SOCKET. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int hk_sd_notify(const char *path, const char *msg, size_t len, const char **stage) {
  struct sockaddr_un sa;
  size_t plen = strlen(path);
  socklen_t salen;
  int fd, err = 0;

  *stage = "socket path";
  if (plen == 0 || plen >= sizeof sa.sun_path) return EINVAL;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  /* '@' marks a Linux abstract socket: its name starts with a NUL byte and has no terminator. */
  if (path[0] == '@') sa.sun_path[0] = '\0';
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '@' ? 0 : 1));

  *stage = "socket(AF_UNIX)";
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  *stage = "sendto";
  if (sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) err = errno;
  close(fd);
  return err;
}
