/* PING_CHECK's echo requests, without a `ping` process per check.
 *
 * icmpEcho(host, family 4|6, cb(status, type)): one ICMP (ICMPv6) echo request to `host` over one
 * socket per family, shared by every check: an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP,
 * as keepalived uses, check_ping.c:370) when net.ipv4.ping_group_range allows it, else a raw
 * socket (root / CAP_NET_RAW). Requests are told apart by their sequence number (and the id, on a
 * raw socket); a reply is accepted only from the address asked. Returns an id for icmpEchoAbort,
 * or a negative errno when nothing was sent; then cb never runs. cb gets (0, 0) on an echo reply.
 * Timeouts belong to the caller (the engine's timer heap), which aborts what did not answer.
 *
 * The socket is watched by a libuv poll handle; its callbacks run through napi_make_callback. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SEQS 65536
#define PAYLOAD 56

struct echo_req {
  napi_ref cb;
  struct sockaddr_storage to;
  uint32_t gen;
  int busy;
};

struct icmp_sock {
  int fd;
  int raw; /* 1 = SOCK_RAW (we see every ICMP packet, IPv4 with its IP header) */
  int family;
  uv_poll_t poll;
  int polling;
  uint16_t next_seq;
  struct echo_req *reqs; /* SEQS entries, by sequence number */
};

struct icmp_env {
  napi_env env;
  napi_async_context actx;
  struct icmp_sock s4, s6;
  uint16_t ident;
  uint32_t gen;
  int teardown;
  int open_polls;
  napi_async_cleanup_hook_handle cleanup;
};

static uint16_t csum(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static struct icmp_sock *sock_of(struct icmp_env *ie, int family) { return family == 6 ? &ie->s6 : &ie->s4; }

static void finish(struct icmp_env *ie, struct icmp_sock *s, uint16_t seq, int status, int type) {
  struct echo_req *r = &s->reqs[seq];
  napi_env env = ie->env;
  napi_handle_scope scope;
  napi_value fn = NULL, recv, argv[2], result, exc;
  bool pending = false;
  if (!r->busy) return;
  r->busy = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, r->cb, &fn) != napi_ok) fn = NULL;
  napi_delete_reference(env, r->cb);
  r->cb = NULL;
  if (fn != NULL && napi_get_global(env, &recv) == napi_ok && napi_create_int32(env, status, &argv[0]) == napi_ok &&
      napi_create_int32(env, type, &argv[1]) == napi_ok &&
      napi_make_callback(env, ie->actx, recv, fn, 2, argv, &result) != napi_ok) {
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b, int family) {
  if (family == 4)
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
  return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct icmp_sock *s = h->data;
  struct icmp_env *ie = (struct icmp_env *)((char *)s - (s->family == 6 ? offsetof(struct icmp_env, s6) : offsetof(struct icmp_env, s4)));
  uint8_t buf[1500];
  struct sockaddr_storage from;
  (void)events;
  if (status < 0) return;
  for (int i = 0; i < 64; i++) {
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    const uint8_t *p = buf;
    size_t len;
    uint16_t id, seq;
    int type;
    if (n < 0) return;
    len = (size_t)n;
    if (s->family == 4 && s->raw) {
      size_t ihl;
      if (len < 20) continue;
      ihl = (size_t)(p[0] & 0x0f) * 4;
      if (len < ihl + 8) continue;
      p += ihl;
      len -= ihl;
    }
    if (len < 8) continue;
    type = p[0];
    id = (uint16_t)(p[4] << 8 | p[5]);
    seq = (uint16_t)(p[6] << 8 | p[7]);
    if ((s->family == 4 && type != ICMP_ECHOREPLY) || (s->family == 6 && type != ICMP6_ECHO_REPLY)) continue;
    if (s->raw && id != ie->ident) continue;
    if (!s->reqs[seq].busy || !same_addr(&s->reqs[seq].to, &from, s->family)) continue;
    finish(ie, s, seq, 0, type);
  }
}

static void poll_closed(uv_handle_t *h) {
  struct icmp_sock *s = h->data;
  struct icmp_env *ie = (struct icmp_env *)((char *)s - (s->family == 6 ? offsetof(struct icmp_env, s6) : offsetof(struct icmp_env, s4)));
  close(s->fd);
  s->fd = -1;
  free(s->reqs);
  s->reqs = NULL;
  if (--ie->open_polls == 0 && ie->teardown) {
    if (ie->cleanup) napi_remove_async_cleanup_hook(ie->cleanup);
    free(ie);
  }
}

static int open_sock(napi_env env, struct icmp_env *ie, int family) {
  struct icmp_sock *s = sock_of(ie, family);
  int af = family == 6 ? AF_INET6 : AF_INET, proto = family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, fd, err, rcv = 1 << 20;
  uv_loop_t *loop;
  if (s->fd >= 0) return 0;
  fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  s->raw = 0;
  if (fd < 0) {
    fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    s->raw = 1;
  }
  if (fd < 0) return -errno;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (family == 6 && s->raw) {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
  }
  s->reqs = calloc(SEQS, sizeof *s->reqs);
  if (s->reqs == NULL) {
    close(fd);
    return -ENOMEM;
  }
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || (err = uv_poll_init(loop, &s->poll, fd)) != 0) {
    free(s->reqs);
    s->reqs = NULL;
    close(fd);
    return -EINVAL;
  }
  s->fd = fd;
  s->family = family;
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  /* Like a signal watcher: the shared socket alone does not keep the process alive. */
  uv_unref((uv_handle_t *)&s->poll);
  s->polling = 1;
  ie->open_polls++;
  return 0;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  return napi_create_double(env, d, &v) == napi_ok ? v : NULL;
}

/* icmpEcho(host, family, cb(status, type)): id | -errno */
static napi_value icmp_echo(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  struct icmp_env *ie;
  char host[64];
  size_t hl;
  int32_t family;
  napi_valuetype t;
  struct icmp_sock *s;
  struct sockaddr_storage to;
  socklen_t tolen;
  uint8_t pkt[8 + PAYLOAD];
  uint16_t seq;
  int err, tries;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&ie) != napi_ok) return NULL;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_int32(env, argv[1], &family) != napi_ok || (family != 4 && family != 6) ||
      napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "icmpEcho(host, family 4|6, cb)");
    return NULL;
  }
  if (ie->teardown) return number(env, -ECANCELED);
  memset(&to, 0, sizeof to);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&to;
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return number(env, -EINVAL);
    tolen = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return number(env, -EINVAL);
    tolen = sizeof *a;
  }
  if ((err = open_sock(env, ie, family)) != 0) return number(env, err);
  s = sock_of(ie, family);
  for (tries = 0; tries < SEQS && s->reqs[s->next_seq].busy; tries++) s->next_seq++;
  if (tries == SEQS) return number(env, -ENOBUFS);
  seq = s->next_seq++;
  memset(pkt, 0, sizeof pkt);
  pkt[0] = family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  pkt[4] = (uint8_t)(ie->ident >> 8);
  pkt[5] = (uint8_t)ie->ident;
  pkt[6] = (uint8_t)(seq >> 8);
  pkt[7] = (uint8_t)seq;
  /* keepalived's filler (core/layer4.c set_buf). */
  for (int i = 0; i < PAYLOAD; i++) pkt[8 + i] = (uint8_t)"keepalived check - "[i % 19];
  if (family == 4) {
    uint16_t c = csum(pkt, sizeof pkt);
    memcpy(pkt + 2, &c, 2);
  }
  if (sendto(s->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, tolen) < 0) return number(env, -errno);
  s->reqs[seq].to = to;
  s->reqs[seq].busy = 1;
  s->reqs[seq].gen = ++ie->gen;
  if (napi_create_reference(env, argv[2], 1, &s->reqs[seq].cb) != napi_ok) {
    s->reqs[seq].busy = 0;
    return NULL;
  }
  /* id: family bit, sequence and a generation, so a stale abort cannot hit a newer request. */
  return number(env, (double)s->reqs[seq].gen * 131072.0 + (family == 6 ? 65536 : 0) + seq);
}

/* icmpEchoAbort(id): forget a request; its cb never runs. */
static napi_value icmp_echo_abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct icmp_env *ie;
  double d;
  uint64_t v;
  struct icmp_sock *s;
  uint16_t seq;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&ie) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &d) != napi_ok || d < 0) return NULL;
  v = (uint64_t)d;
  s = (v & 65536) ? &ie->s6 : &ie->s4;
  seq = (uint16_t)(v & 0xffff);
  if (s->reqs == NULL || !s->reqs[seq].busy || s->reqs[seq].gen != (uint32_t)(v / 131072)) return NULL;
  s->reqs[seq].busy = 0;
  napi_delete_reference(env, s->reqs[seq].cb);
  s->reqs[seq].cb = NULL;
  return NULL;
}

static void icmp_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct icmp_env *ie = arg;
  ie->teardown = 1;
  ie->cleanup = handle;
  if (ie->s4.polling) uv_close((uv_handle_t *)&ie->s4.poll, poll_closed);
  if (ie->s6.polling) uv_close((uv_handle_t *)&ie->s6.poll, poll_closed);
  ie->s4.polling = ie->s6.polling = 0;
  if (ie->open_polls == 0) {
    napi_remove_async_cleanup_hook(handle);
    free(ie);
  }
}

int hk_icmp_register(napi_env env, napi_value exports) {
  struct icmp_env *ie = calloc(1, sizeof *ie);
  napi_value name, res;
  if (ie == NULL) return ENOMEM;
  ie->env = env;
  ie->s4.fd = ie->s6.fd = -1;
  ie->s4.family = 4;
  ie->s6.family = 6;
  ie->ident = (uint16_t)(getpid() & 0xffff);
  if (napi_create_string_utf8(env, "hakeep:icmpEcho", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &res) != napi_ok || napi_async_init(env, res, name, &ie->actx) != napi_ok) {
    free(ie);
    return EINVAL;
  }
  if (napi_add_async_cleanup_hook(env, icmp_teardown, ie, &ie->cleanup) != napi_ok) {
    free(ie);
    return EINVAL;
  }
  napi_property_descriptor props[] = {
    {"icmpEcho", NULL, icmp_echo, NULL, NULL, NULL, napi_enumerable, ie},
    {"icmpEchoAbort", NULL, icmp_echo_abort, NULL, NULL, NULL, napi_enumerable, ie},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok ? 0 : EINVAL;
}
