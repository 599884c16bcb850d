/* Adding and deleting interface addresses over rtnetlink (RTM_NEWADDR / RTM_DELADDR), the way
 * keepalived does it, instead of starting `ip`: a failover then costs a syscall or two rather
 * than a process start. Requests are sent in one sendmsg() and their ACKs read back at once;
 * rtnetlink handles each message of a multi-message send on its own, so one bad request does
 * not stop the others. The attributes mirror what iproute2's `ip address add/del` sends. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Older kernel headers (the addon is built on the user's machine). */
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef IFA_F_NOPREFIXROUTE
#define IFA_F_NOPREFIXROUTE 0x200
#endif
#ifndef IFA_FLAGS
#define IFA_FLAGS 8
#endif

/* One socket for the life of the process. It belongs to the network namespace the process was
 * in when it was opened, which for the daemon is the only one it ever uses. */
static int nl_fd = -1;
static uint32_t nl_seq;

static void nl_close(void) {
  if (nl_fd >= 0) close(nl_fd);
  nl_fd = -1;
}

int hk_nl_route_socket(int timeout_s, int *fd_out) {
  int one = 1;
  struct timeval tv = {timeout_s, 0};
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  /* Short ACKs (no copy of our request) with the kernel's error text when there is one; both
   * are optional, so older kernels that refuse them still work. */
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  /* rtnetlink answers inside sendmsg(), so the ACKs are queued before we read; the timeout only
   * guards against a kernel that never answers. */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  *fd_out = fd;
  return 0;
}

static int nl_open(void) {
  int err;
  if (nl_fd >= 0) return 0;
  if ((err = hk_nl_route_socket(5, &nl_fd)) != 0) {
    nl_fd = -1;
    return err;
  }
  if (nl_seq == 0) nl_seq = (uint32_t)getpid() << 12;
  return 0;
}

void hk_netlink_prepare(void) {
  nl_open();
}

/* `ip` picks host scope for 127.0.0.0/8 and global for everything else. */
static int default_scope(const struct hk_addr_req *r) {
  return r->family == AF_INET && r->local[0] == 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
}

int hk_addr_req_init(struct hk_addr_req *r, int del, const char *ifname, int family, const char *address,
                     int prefixlen, const struct hk_addr_opts *o, char *why, size_t why_size) {
  int af = family == 4 ? AF_INET : family == 6 ? AF_INET6 : 0;
  int max = family == 4 ? 32 : 128;
  size_t ifl;

  memset(r, 0, sizeof *r);
  r->del = del;
  r->scope = -1;
  if (af == 0) {
    snprintf(why, why_size, "family must be 4 or 6, not %d", family);
    return EINVAL;
  }
  r->family = (uint8_t)af;
  ifl = strlen(ifname);
  if (ifl == 0 || ifl >= IFNAMSIZ) {
    snprintf(why, why_size, "interface name '%s' must be 1 to %d characters", ifname, IFNAMSIZ - 1);
    return EINVAL;
  }
  memcpy(r->ifname, ifname, ifl + 1);
  if (inet_pton(af, address, r->local) != 1) {
    snprintf(why, why_size, "'%s' is not an IPv%d address", address, family);
    return EINVAL;
  }
  if (prefixlen < 0 || prefixlen > max) {
    snprintf(why, why_size, "prefix length %d of %s is not 0-%d", prefixlen, address, max);
    return EINVAL;
  }
  r->prefixlen = (uint8_t)prefixlen;
  if (o == NULL) return 0;

  if (o->peer != NULL) {
    if (inet_pton(af, o->peer, r->peer) != 1) {
      snprintf(why, why_size, "peer '%s' is not an IPv%d address", o->peer, family);
      return EINVAL;
    }
    r->has_peer = 1;
  }
  if (o->brd != NULL) {
    if (af != AF_INET) {
      snprintf(why, why_size, "brd '%s': a broadcast address exists only for IPv4", o->brd);
      return EINVAL;
    }
    if (strcmp(o->brd, "+") == 0 || strcmp(o->brd, "-") == 0) {
      /* As `ip`: from the peer (or local) address, host bits all set ('+') or all clear ('-');
       * nothing for /31 and /32, which have no broadcast address. */
      if (prefixlen <= 30) {
        uint32_t a, host = (uint32_t)(0xffffffffu >> prefixlen);
        memcpy(&a, r->has_peer ? r->peer : r->local, 4);
        a = ntohl(a);
        a = o->brd[0] == '+' ? (a | host) : (a & ~host);
        a = htonl(a);
        memcpy(r->brd, &a, 4);
        r->has_brd = 1;
      }
    } else if (inet_pton(AF_INET, o->brd, r->brd) == 1) {
      r->has_brd = 1;
    } else {
      snprintf(why, why_size, "brd '%s' is not an IPv4 address (nor + or -)", o->brd);
      return EINVAL;
    }
  }
  if (o->scope < -1 || o->scope > 255) {
    snprintf(why, why_size, "scope %d is not 0-255", o->scope);
    return EINVAL;
  }
  r->scope = o->scope;
  if (o->label != NULL) {
    size_t ll = strlen(o->label);
    /* The kernel names aliases after their device (eth0:1); `ip` refuses other labels too. */
    if (strncmp(o->label, ifname, ifl) != 0) {
      snprintf(why, why_size, "label '%s' must start with the interface name '%s' (e.g. %s:1)", o->label, ifname, ifname);
      return EINVAL;
    }
    if (ll >= IFNAMSIZ) {
      snprintf(why, why_size, "label '%s' is longer than %d characters", o->label, IFNAMSIZ - 1);
      return EINVAL;
    }
    memcpy(r->label, o->label, ll + 1);
  }
  if (o->nodad) r->flags |= IFA_F_NODAD;
  if (o->noprefixroute) r->flags |= IFA_F_NOPREFIXROUTE;
  return 0;
}

/* Room for the largest request: header, ifaddrmsg, LOCAL, ADDRESS, BROADCAST, LABEL, FLAGS. */
#define REQ_SPACE 256
#define CHUNK 64

static void put_attr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static size_t build(const struct hk_addr_req *r, char *buf, uint32_t seq) {
  struct nlmsghdr *n = (struct nlmsghdr *)buf;
  struct ifaddrmsg *ifa;
  size_t alen = r->family == AF_INET ? 4 : 16;
  memset(buf, 0, REQ_SPACE);
  n->nlmsg_len = NLMSG_LENGTH(sizeof *ifa);
  n->nlmsg_type = r->del ? RTM_DELADDR : RTM_NEWADDR;
  /* EXCL: an address that is already there answers EEXIST instead of being silently replaced. */
  n->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (r->del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
  n->nlmsg_seq = seq;
  ifa = NLMSG_DATA(n);
  ifa->ifa_family = r->family;
  ifa->ifa_prefixlen = r->prefixlen;
  ifa->ifa_flags = (uint8_t)(r->flags & 0xff);
  ifa->ifa_index = (uint32_t)r->ifindex;
  if (!r->del) ifa->ifa_scope = (uint8_t)(r->scope >= 0 ? r->scope : default_scope(r));
  else if (r->scope >= 0) ifa->ifa_scope = (uint8_t)r->scope;
  put_attr(n, IFA_LOCAL, r->local, alen);
  put_attr(n, IFA_ADDRESS, r->has_peer ? r->peer : r->local, alen);
  if (r->has_brd && !r->del) put_attr(n, IFA_BROADCAST, r->brd, 4);
  /* IPv6 has no labels; the kernel ignores the attribute there, so it is not sent. */
  if (r->label[0] != '\0' && r->family == AF_INET) put_attr(n, IFA_LABEL, r->label, strlen(r->label) + 1);
  if (r->flags != 0 && !r->del) put_attr(n, IFA_FLAGS, &r->flags, sizeof r->flags);
  return NLMSG_ALIGN(n->nlmsg_len);
}

/* Copy the kernel's extended-ACK text, if any, out of an NLMSG_ERROR message. */
void hk_nl_ext_ack_text(const struct nlmsghdr *h, char *out, size_t size) {
  const struct nlmsgerr *e = NLMSG_DATA(h);
  size_t off;
  const struct rtattr *a;
  int left;
  out[0] = '\0';
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  off = NLMSG_LENGTH(sizeof *e);
  /* Without NETLINK_CAP_ACK (kernel refused it) a failed request is echoed before the TLVs. */
  if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->error != 0) off += e->msg.nlmsg_len - sizeof e->msg;
  if (off >= h->nlmsg_len) return;
  a = (const struct rtattr *)((const char *)h + NLMSG_ALIGN(off));
  left = (int)h->nlmsg_len - (int)NLMSG_ALIGN(off);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(a) > 0) {
      size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
      if (n >= size) n = size - 1;
      memcpy(out, RTA_DATA(a), n);
      out[n] = '\0';
      return;
    }
  }
}

/* Send requests [0, n) (n <= CHUNK) in one datagram and collect one ACK per request. The
 * static buffers are fine: Node calls the addon from its main thread only. */
static void run_chunk(struct hk_addr_req *reqs, size_t n) {
  static char sbuf[CHUNK * REQ_SPACE];
  static char rbuf[65536];
  size_t len = 0, pending = 0, i;
  int err;

  for (i = 0; i < n; i++) {
    reqs[i].seq = 0;
    if (reqs[i].err != 0) continue; /* failed before sending (no such device) */
    if (++nl_seq == 0) nl_seq = 1; /* 0 marks "not sent" */
    reqs[i].seq = nl_seq;
    reqs[i].err = -1;               /* waiting for its ACK */
    len += build(&reqs[i], sbuf + len, reqs[i].seq);
    pending++;
  }
  if (pending == 0) return;

  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  for (;;) {
    ssize_t s = sendto(nl_fd, sbuf, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (s >= 0) break;
    if (errno == EINTR) continue;
    err = errno;
    for (i = 0; i < n; i++) if (reqs[i].err == -1) reqs[i].err = err;
    nl_close();
    return;
  }

  while (pending > 0) {
    ssize_t got = recv(nl_fd, rbuf, sizeof rbuf, 0);
    struct nlmsghdr *h;
    int left;
    if (got < 0) {
      if (errno == EINTR) continue;
      err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
      for (i = 0; i < n; i++) if (reqs[i].err == -1) reqs[i].err = err;
      nl_close(); /* late ACKs must not be read as answers to the next call */
      return;
    }
    left = (int)got;
    for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      const struct nlmsgerr *e;
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      e = NLMSG_DATA(h);
      for (i = 0; i < n; i++) {
        if (reqs[i].seq == h->nlmsg_seq && reqs[i].err == -1) {
          reqs[i].err = -e->error;
          if (e->error != 0) hk_nl_ext_ack_text(h, reqs[i].msg, sizeof reqs[i].msg);
          pending--;
          break;
        }
      }
    }
  }
}

int hk_addr_apply(struct hk_addr_req *reqs, size_t n) {
  size_t i, j;
  int err = nl_open();
  for (i = 0; i < n; i++) {
    reqs[i].msg[0] = '\0';
    if (err != 0) {
      reqs[i].err = err;
      continue;
    }
    /* A batch usually names one device: look each name up once. */
    reqs[i].ifindex = 0;
    for (j = 0; j < i; j++) {
      if (reqs[j].ifindex > 0 && strcmp(reqs[j].ifname, reqs[i].ifname) == 0) {
        reqs[i].ifindex = reqs[j].ifindex;
        break;
      }
    }
    if (reqs[i].ifindex == 0) {
      reqs[i].err = hk_ifindex(reqs[i].ifname, &reqs[i].ifindex);
      if (reqs[i].err != 0) reqs[i].ifindex = 0;
    } else {
      reqs[i].err = 0;
    }
  }
  if (err != 0) return err;
  for (i = 0; i < n; i += CHUNK) {
    if ((err = nl_open()) != 0) { /* reopened after a failed chunk, and that failed */
      for (j = i; j < n; j++) if (reqs[j].err == 0) reqs[j].err = err;
      break;
    }
    run_chunk(reqs + i, n - i < CHUNK ? n - i : CHUNK);
  }
  return 0;
}
