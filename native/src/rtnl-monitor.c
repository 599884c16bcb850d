/* The kernel event feed's socket work, without JavaScript: the multicast rtnetlink socket that
 * hears every link and address change (what `ip monitor link address` listens to, but in the
 * daemon, with no child process and no polling), and the synchronous link + address dump that
 * gives the starting state and the state after an overrun. Decoding the messages is left to
 * src/net/rtnl-codec.ts: the C side only moves datagrams. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif
#ifndef NLM_F_DUMP_INTR
#define NLM_F_DUMP_INTR 0x10
#endif
#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS (1 << 3)
#endif

int hk_rtnl_monitor_open(int rcvbuf, int *fd_out) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                           .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  int err;
  if (fd < 0) return errno;
  if (rcvbuf > 0) {
    /* FORCE goes past net.core.rmem_max (needs CAP_NET_ADMIN); without it the kernel caps the
     * value at rmem_max. Either way it doubles it and applies its own minimum (about 2.3 KiB). */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
      err = errno;
      close(fd);
      return err;
    }
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
}

/* One datagram from the kernel. Datagrams from any other sender (port id != 0) are dropped:
 * only the kernel speaks for the kernel. */
int hk_rtnl_recv(int fd, void *buf, size_t size, size_t *len) {
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = {buf, size};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t got = recvmsg(fd, &mh, MSG_TRUNC);
    if (got < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
    if (mh.msg_namelen >= sizeof from && from.nl_pid != 0) continue;
    if ((size_t)got > size || (mh.msg_flags & MSG_TRUNC)) return EMSGSIZE; /* consumed, cut short */
    *len = (size_t)got;
    return 0;
  }
}

size_t hk_rtnl_drain(int fd, void *buf, size_t size, size_t max) {
  size_t n = 0, len;
  while (n < max) {
    int err = hk_rtnl_recv(fd, buf, size, &len);
    if (err == EAGAIN) break;
    if (err == EINTR || err == ENOBUFS) continue; /* another overrun while draining: same remedy */
    n++;
  }
  return n;
}

void hk_dgrams_free(struct hk_dgrams *d) {
  for (size_t i = 0; i < d->n; i++) free(d->v[i].data);
  free(d->v);
  d->v = NULL;
  d->n = d->cap = 0;
}

/* Drop the datagrams from index `keep` on (a dump attempt that has to be repeated). */
static void dgrams_truncate(struct hk_dgrams *d, size_t keep) {
  while (d->n > keep) free(d->v[--d->n].data);
}

static int dgrams_push(struct hk_dgrams *d, const void *data, size_t len) {
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 16;
    struct hk_dgram *v = realloc(d->v, cap * sizeof *v);
    if (v == NULL) return ENOMEM;
    d->v = v;
    d->cap = cap;
  }
  d->v[d->n].data = malloc(len ? len : 1);
  if (d->v[d->n].data == NULL) return ENOMEM;
  memcpy(d->v[d->n].data, data, len);
  d->v[d->n].len = len;
  d->n++;
  return 0;
}

/* Send one dump request and collect its answer up to NLMSG_DONE; *intr is set when the kernel
 * flagged the dump as inconsistent (the table changed while it was being walked). */
static int dump_once(int fd, int type, uint32_t seq, char *buf, size_t size, struct hk_dgrams *out, int *intr) {
  struct {
    struct nlmsghdr h;
    union {
      struct ifinfomsg link;
      struct ifaddrmsg addr;
    } u;
    char attrs[16];
  } req;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  memset(&req, 0, sizeof req);
  req.h.nlmsg_type = (unsigned short)type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq;
  if (type == RTM_GETLINK) {
    struct rtattr *a;
    uint32_t mask = RTEXT_FILTER_SKIP_STATS; /* smaller answers; older kernels ignore the bit */
    req.u.link.ifi_family = AF_UNSPEC;
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.u.link);
    a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
    a->rta_type = IFLA_EXT_MASK;
    a->rta_len = RTA_LENGTH(sizeof mask);
    memcpy(RTA_DATA(a), &mask, sizeof mask);
    req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
  } else {
    req.u.addr.ifa_family = AF_UNSPEC;
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.u.addr);
  }
  *intr = 0;
  for (;;) {
    ssize_t s = sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (s >= 0) break;
    if (errno != EINTR) return errno;
  }
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = {buf, size};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t got = recvmsg(fd, &mh, MSG_TRUNC);
    const struct nlmsghdr *h;
    int left, done = 0, err;
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
    }
    if (mh.msg_namelen >= sizeof from && from.nl_pid != 0) continue;
    if ((size_t)got > size || (mh.msg_flags & MSG_TRUNC)) return EMSGSIZE;
    left = (int)got;
    for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue; /* not ours (cannot happen on a fresh socket) */
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) *intr = 1;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e)) return EBADMSG;
        if (e->error != 0) return -e->error;
      } else if (h->nlmsg_type == NLMSG_DONE) {
        /* Since 4.x a failed dump ends with DONE carrying the (negative) error. */
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int derr;
          memcpy(&derr, NLMSG_DATA(h), sizeof derr);
          if (derr < 0) return -derr;
        }
        done = 1;
      }
    }
    if ((err = dgrams_push(out, buf, (size_t)got)) != 0) return err;
    if (done) return 0;
  }
}

#define DUMP_BUF 65536 /* the kernel fills dump datagrams up to 32 KiB */
#define DUMP_TRIES 5

int hk_rtnl_dump(struct hk_dgrams *out, const char **stage) {
  static const int types[2] = {RTM_GETLINK, RTM_GETADDR};
  struct timeval tv = {2, 0};
  char *buf;
  int fd, err = 0;
  uint32_t seq = (uint32_t)getpid() << 8;

  memset(out, 0, sizeof *out);
  *stage = "socket";
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  buf = malloc(DUMP_BUF);
  if (buf == NULL) {
    close(fd);
    return ENOMEM;
  }
  for (int t = 0; t < 2 && err == 0; t++) {
    int tries = 0, intr = 1;
    *stage = types[t] == RTM_GETLINK ? "link dump" : "address dump";
    while (intr && err == 0) {
      size_t keep = out->n;
      if (tries++ == DUMP_TRIES) {
        err = EINTR; /* the table kept changing under every attempt */
        *stage = types[t] == RTM_GETLINK ? "link dump (interrupted 5 times)" : "address dump (interrupted 5 times)";
        break;
      }
      err = dump_once(fd, types[t], ++seq, buf, DUMP_BUF, out, &intr);
      if (err == 0 && intr) dgrams_truncate(out, keep);
    }
  }
  free(buf);
  close(fd);
  if (err != 0) hk_dgrams_free(out);
  return err;
}
