/* The checker child's native pieces:
 *
 * - tcpConnect / tcpConnectAbort: one non-blocking TCP connect on libuv's public API (uv_tcp_t,
 *   uv_tcp_connect, uv_close), closed as soon as the handshake completes. It replaces driving
 *   Node's internal tcp_wrap binding: same syscalls, no stream machinery, no internal API.
 * - setParentDeathSignal: prctl(PR_SET_PDEATHSIG), so a checker child whose event loop hangs
 *   still dies with the daemon (the IPC disconnect only reaches a loop that runs).
 *
 * - tcpBatch / tcpTarget / tcpConnectTarget: the checker's probe. Its sockets bypass libuv: a
 *   non-blocking socket registered in an epoll set of its own (which libuv watches with one
 *   uv_poll_t) and closed on the first event, which takes it out of the set. A check costs
 *   socket, connect, epoll_ctl and close (getsockopt only on an error), against six system calls
 *   through uv_tcp_t (which also deletes from epoll and reads SO_ERROR) and keepalived's eight:
 *   where system calls are dear (a UML guest) they are most of a check's cost.
 *
 * A probe is identified to JS by a number (slot + generation), so starting one costs no JS
 * object beyond the callback the caller passes. Its callback runs through napi_make_callback
 * (microtasks and nextTick behave as for any Node callback); an exception it throws goes to
 * Node's 'uncaughtException' path. Probes still open when the environment goes away are closed
 * by an async cleanup hook, so a worker thread using them can exit. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <errno.h>
#include <node_api.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SLOT_BITS 24
#define SLOT_LIMIT (1u << SLOT_BITS) /* probes in flight at once, at most */

struct probe_env;

struct probe {
  uv_tcp_t tcp;
  uv_connect_t req;
  struct probe_env *pe;
  napi_ref cb;   /* NULL for a batched probe (tcpConnectTarget): it reports through the batch */
  int32_t token; /* batched probes: the caller's token, reported with the status */
  uint32_t slot;
  int finished; /* the callback ran or the probe was aborted: no more calls into JS */
  int raw_fd;   /* a batched probe's socket (no uv handle: `tcp` unused); -1 otherwise */
};

/* A target registered once (tcpTarget): addresses parsed once, not per check. */
struct target {
  struct sockaddr_storage to, from;
  int has_from;
};

#define BATCH_PAIRS 16384

struct probe_env {
  napi_env env;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  struct probe **slots; /* in-flight probes by slot; NULL = free */
  uint32_t *gens;       /* generation of each slot, bumped on every use */
  uint32_t *free_list;
  uint32_t nslots, nfree;
  size_t open; /* uv handles not closed yet */
  int teardown;
  /* Batched completions (tcpBatch): [token, status] pairs in a buffer JS reads, handed over once
   * per event-loop turn from a check handle instead of one call into JS per probe. */
  struct target *targets;
  uint32_t ntargets, cap_targets;
  int32_t *batch;    /* BATCH_PAIRS * 2 int32, shared with JS as an ArrayBuffer */
  uint32_t nbatch;
  napi_ref batch_cb;
  uv_check_t check;
  int check_started;
  /* Batched probes' sockets: their own epoll set, watched by libuv as one descriptor. */
  int epfd;
  uv_poll_t epoll_watch;
  int epoll_started;
  uint32_t raw_inflight; /* the watch holds the loop open while probes are in flight */
};

static void epoll_ready(uv_poll_t *h, int status, int events);
static void epoll_watch_closed(uv_handle_t *h);

static void probe_env_maybe_done(struct probe_env *pe) {
  if (!pe->teardown || pe->open > 0) return;
  if (pe->cleanup != NULL) napi_remove_async_cleanup_hook(pe->cleanup);
  pe->cleanup = NULL;
  free(pe->targets);
  free(pe->batch);
  free(pe->slots);
  free(pe->gens);
  free(pe->free_list);
  free(pe);
}

static int slot_take(struct probe_env *pe, struct probe *p, uint32_t *slot) {
  if (pe->nfree == 0) {
    uint32_t n = pe->nslots == 0 ? 64 : pe->nslots * 2, i;
    struct probe **s;
    uint32_t *g, *f;
    if (n > SLOT_LIMIT) n = SLOT_LIMIT;
    if (n <= pe->nslots) return UV_ENOBUFS;
    s = realloc(pe->slots, n * sizeof *s);
    if (s == NULL) return UV_ENOMEM;
    pe->slots = s;
    g = realloc(pe->gens, n * sizeof *g);
    if (g == NULL) return UV_ENOMEM;
    pe->gens = g;
    f = realloc(pe->free_list, n * sizeof *f);
    if (f == NULL) return UV_ENOMEM;
    pe->free_list = f;
    for (i = pe->nslots; i < n; i++) {
      s[i] = NULL;
      g[i] = 0;
    }
    /* Hand out low slots first (popped from the end). */
    for (i = n; i > pe->nslots; i--) f[pe->nfree++] = i - 1;
    pe->nslots = n;
  }
  *slot = pe->free_list[--pe->nfree];
  pe->slots[*slot] = p;
  pe->gens[*slot]++;
  return 0;
}

static void slot_release(struct probe_env *pe, uint32_t slot) {
  pe->slots[slot] = NULL;
  pe->free_list[pe->nfree++] = slot;
}

static double probe_id(struct probe_env *pe, uint32_t slot) {
  return (double)pe->gens[slot] * SLOT_LIMIT + slot;
}

static void probe_closed(uv_handle_t *h) {
  struct probe *p = h->data;
  struct probe_env *pe = p->pe;
  free(p);
  pe->open--;
  probe_env_maybe_done(pe);
}

static void raw_inflight_less(struct probe_env *pe) {
  if (pe->raw_inflight > 0 && --pe->raw_inflight == 0 && pe->epoll_started) uv_unref((uv_handle_t *)&pe->epoll_watch);
}

static void probe_close(struct probe *p) {
  if (p->raw_fd >= 0) {
    /* Closing the descriptor also takes it out of the epoll set (nothing else holds it). */
    close(p->raw_fd);
    p->raw_fd = -1;
    raw_inflight_less(p->pe);
    free(p);
    return;
  }
  if (!uv_is_closing((uv_handle_t *)&p->tcp)) uv_close((uv_handle_t *)&p->tcp, probe_closed);
}

/* Take the probe out of JS's reach: no callback, slot free, reference dropped. */
static void probe_finish(struct probe *p) {
  struct probe_env *pe = p->pe;
  p->finished = 1;
  slot_release(pe, p->slot);
  if (p->cb != NULL && !pe->teardown) napi_delete_reference(pe->env, p->cb);
  p->cb = NULL;
}

/* Hand the batched completions to JS: one call for all of them. */
static void batch_flush(struct probe_env *pe) {
  napi_env env = pe->env;
  napi_handle_scope scope;
  napi_value fn = NULL, recv, arg, result, exc;
  bool pending = false;
  uint32_t n = pe->nbatch;
  if (n == 0 || pe->batch_cb == NULL || pe->teardown) return;
  pe->nbatch = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, pe->batch_cb, &fn) == napi_ok && fn != NULL && napi_get_global(env, &recv) == napi_ok &&
      napi_create_uint32(env, n, &arg) == napi_ok && napi_make_callback(env, pe->actx, recv, fn, 1, &arg, &result) != napi_ok) {
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void batch_check(uv_check_t *h) { batch_flush(h->data); }

static void probe_connected(uv_connect_t *req, int status) {
  struct probe *p = req->data;
  struct probe_env *pe = p->pe;
  napi_env env = pe->env;
  napi_handle_scope scope;
  napi_value fn = NULL, recv, arg, result, exc;
  bool pending = false;

  if (p->finished) return; /* aborted: this is the UV_ECANCELED from uv_close */
  /* Close first: whatever the callback does, the socket does not outlive the probe. */
  probe_close(p);
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    probe_finish(p);
    return;
  }
  if (napi_get_reference_value(env, p->cb, &fn) != napi_ok) fn = NULL;
  probe_finish(p);
  if (fn != NULL && napi_get_global(env, &recv) == napi_ok && napi_create_int32(env, status, &arg) == napi_ok &&
      napi_make_callback(env, pe->actx, recv, fn, 1, &arg, &result) != napi_ok) {
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void check_closed(uv_handle_t *h) {
  struct probe_env *pe = h->data;
  pe->open--;
  probe_env_maybe_done(pe);
}

static void probe_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct probe_env *pe = arg;
  pe->teardown = 1;
  pe->cleanup = handle;
  if (pe->check_started) {
    pe->check_started = 0;
    uv_close((uv_handle_t *)&pe->check, check_closed);
  }
  if (pe->epoll_started) {
    pe->epoll_started = 0;
    uv_close((uv_handle_t *)&pe->epoll_watch, epoll_watch_closed);
  }
  for (uint32_t i = 0; i < pe->nslots; i++) {
    struct probe *p = pe->slots[i];
    if (p == NULL) continue;
    probe_finish(p);
    probe_close(p);
  }
  probe_env_maybe_done(pe);
}

static int arg_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len + 1 < size;
}

static int arg_int(napi_env env, napi_value v, int lo, int hi, int *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < lo || d > hi || d != (int)d) return 0;
  *out = (int)d;
  return 1;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  return napi_create_double(env, d, &v) == napi_ok ? v : NULL;
}

/* tcpConnect(host, port, family 4|6, localAddress|null, localPort, cb(status)): number
 * A positive id for tcpConnectAbort, or a negative libuv error code (bad address, bind or
 * connect refused at once, no descriptors): then cb is never called. cb gets 0 once connected
 * (the socket is closed by then) or a negative libuv error code. */
static napi_value tcp_connect(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  struct probe_env *pe;
  char host[64], local[64];
  int port, family, local_port, has_local = 0, err;
  struct sockaddr_storage to, from;
  napi_valuetype t;
  uv_loop_t *loop;
  struct probe *p;
  uint32_t slot;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pe) != napi_ok) return NULL;
  if (argc < 6 || !arg_string(env, argv[0], host, sizeof host) || !arg_int(env, argv[1], 1, 65535, &port) ||
      !arg_int(env, argv[2], 4, 6, &family) || (family != 4 && family != 6) ||
      !arg_int(env, argv[4], 0, 65535, &local_port) || napi_typeof(env, argv[5], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL,
                          "tcpConnect(host, port 1-65535, family 4|6, localAddress|null, localPort 0-65535, cb)");
    return NULL;
  }
  if (napi_typeof(env, argv[3], &t) != napi_ok) return NULL;
  if (t == napi_string) {
    if (!arg_string(env, argv[3], local, sizeof local)) return number(env, UV_EINVAL);
    has_local = 1;
  } else if (t != napi_null && t != napi_undefined) {
    napi_throw_type_error(env, NULL, "tcpConnect: localAddress must be a string or null");
    return NULL;
  }
  if (!has_local && local_port != 0) {
    strcpy(local, family == 6 ? "::" : "0.0.0.0");
    has_local = 1;
  }
  err = family == 6 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&to) : uv_ip4_addr(host, port, (struct sockaddr_in *)&to);
  if (err == 0 && has_local) {
    err = family == 6 ? uv_ip6_addr(local, local_port, (struct sockaddr_in6 *)&from)
                      : uv_ip4_addr(local, local_port, (struct sockaddr_in *)&from);
  }
  if (err != 0) return number(env, err);
  if (pe->teardown) return number(env, UV_ECANCELED);
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;

  p = calloc(1, sizeof *p);
  if (p == NULL) return number(env, UV_ENOMEM);
  p->pe = pe;
  p->raw_fd = -1;
  p->finished = 1; /* until it is in a slot with a callback */
  if ((err = uv_tcp_init(loop, &p->tcp)) != 0) {
    free(p);
    return number(env, err);
  }
  p->tcp.data = p;
  p->req.data = p;
  pe->open++;
  if (has_local) err = uv_tcp_bind(&p->tcp, (const struct sockaddr *)&from, 0);
  if (err == 0) err = uv_tcp_connect(&p->req, &p->tcp, (const struct sockaddr *)&to, probe_connected);
  if (err != 0) {
    probe_close(p);
    return number(env, err);
  }
  if ((err = slot_take(pe, p, &slot)) != 0) {
    probe_close(p); /* the connect callback sees `finished` */
    return number(env, err);
  }
  p->slot = slot;
  if (napi_create_reference(env, argv[5], 1, &p->cb) != napi_ok) {
    slot_release(pe, slot);
    probe_close(p);
    return NULL;
  }
  p->finished = 0;
  return number(env, probe_id(pe, slot));
}

/* tcpConnectAbort(id): close the probe's socket; its callback never runs. Unknown, finished or
 * already aborted ids are ignored. */
static napi_value tcp_connect_abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct probe_env *pe;
  double d;
  uint32_t slot, gen;
  struct probe *p;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pe) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &d) != napi_ok || d < 0) return NULL;
  slot = (uint32_t)((uint64_t)d % SLOT_LIMIT);
  gen = (uint32_t)((uint64_t)d / SLOT_LIMIT);
  if (slot >= pe->nslots || pe->gens[slot] != gen || (p = pe->slots[slot]) == NULL || p->finished) return NULL;
  probe_finish(p);
  probe_close(p);
  return NULL;
}

/* tcpBatch(cb(count)): ArrayBuffer — batched probes report [token, status] int32 pairs in the
 * returned buffer; cb(count) runs once per event-loop turn with the number of pairs. */
static napi_value tcp_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab;
  struct probe_env *pe;
  napi_valuetype t;
  uv_loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pe) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "tcpBatch(cb)");
    return NULL;
  }
  if (pe->batch == NULL) {
    if ((pe->batch = calloc(BATCH_PAIRS * 2, sizeof *pe->batch)) == NULL) return NULL;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_check_init(loop, &pe->check) != 0) return NULL;
    pe->check.data = pe;
    uv_check_start(&pe->check, batch_check);
    uv_unref((uv_handle_t *)&pe->check);
    pe->check_started = 1;
    pe->open++;
    /* Thrown, so tcp-probe.ts falls back to one probe per call rather than failing every check. */
    if ((pe->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
      napi_throw_error(env, "EEPOLL", "tcpBatch: epoll_create1 failed");
      return NULL;
    }
    if (uv_poll_init(loop, &pe->epoll_watch, pe->epfd) != 0) {
      close(pe->epfd);
      pe->epfd = -1;
      napi_throw_error(env, "EEPOLL", "tcpBatch: cannot watch its epoll set");
      return NULL;
    }
    pe->epoll_watch.data = pe;
    pe->open++;
    pe->epoll_started = 1;
    uv_unref((uv_handle_t *)&pe->epoll_watch); /* held only while probes are in flight */
    uv_poll_start(&pe->epoll_watch, UV_READABLE, epoll_ready);
  }
  if (pe->batch_cb != NULL) napi_delete_reference(env, pe->batch_cb);
  if (napi_create_reference(env, argv[0], 1, &pe->batch_cb) != napi_ok) return NULL;
  /* The buffer belongs to the C side for the process's life; JS only reads it. */
  if (napi_create_external_arraybuffer(env, pe->batch, BATCH_PAIRS * 2 * sizeof *pe->batch, NULL, NULL, &ab) != napi_ok) return NULL;
  return ab;
}

/* tcpTarget(host, port, family, localAddress|null, localPort): a target id for tcpConnectTarget,
 * or a negative libuv error code (a bad address). */
static napi_value tcp_target(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  struct probe_env *pe;
  char host[64], local[64];
  int port, family, local_port, err;
  napi_valuetype t;
  struct target tg;
  memset(&tg, 0, sizeof tg);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pe) != napi_ok) return NULL;
  if (argc < 5 || !arg_string(env, argv[0], host, sizeof host) || !arg_int(env, argv[1], 1, 65535, &port) ||
      !arg_int(env, argv[2], 4, 6, &family) || (family != 4 && family != 6) || !arg_int(env, argv[4], 0, 65535, &local_port)) {
    napi_throw_type_error(env, NULL, "tcpTarget(host, port 1-65535, family 4|6, localAddress|null, localPort 0-65535)");
    return NULL;
  }
  if (napi_typeof(env, argv[3], &t) != napi_ok) return NULL;
  if (t == napi_string) {
    if (!arg_string(env, argv[3], local, sizeof local)) return number(env, UV_EINVAL);
    tg.has_from = 1;
  } else if (local_port != 0) {
    strcpy(local, family == 6 ? "::" : "0.0.0.0");
    tg.has_from = 1;
  }
  err = family == 6 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&tg.to) : uv_ip4_addr(host, port, (struct sockaddr_in *)&tg.to);
  if (err == 0 && tg.has_from)
    err = family == 6 ? uv_ip6_addr(local, local_port, (struct sockaddr_in6 *)&tg.from) : uv_ip4_addr(local, local_port, (struct sockaddr_in *)&tg.from);
  if (err != 0) return number(env, err);
  if (pe->ntargets == pe->cap_targets) {
    uint32_t n = pe->cap_targets ? pe->cap_targets * 2 : 256;
    struct target *nt = realloc(pe->targets, n * sizeof *nt);
    if (nt == NULL) return number(env, UV_ENOMEM);
    pe->targets = nt;
    pe->cap_targets = n;
  }
  pe->targets[pe->ntargets] = tg;
  return number(env, pe->ntargets++);
}

/* Record a batched completion; the check handle hands the batch to JS after this turn's I/O. */
static void batch_push(struct probe_env *pe, int32_t token, int32_t status) {
  if (pe->nbatch == BATCH_PAIRS) batch_flush(pe);
  pe->batch[2 * pe->nbatch] = token;
  pe->batch[2 * pe->nbatch + 1] = status;
  pe->nbatch++;
}

/* The epoll set has events: each is a batched probe's connect finishing (EPOLLOUT: connected;
 * EPOLLERR/EPOLLHUP: failed, SO_ERROR says why). The socket is closed at once. */
static void epoll_ready(uv_poll_t *h, int status, int events) {
  struct probe_env *pe = h->data;
  struct epoll_event ev[256];
  int n, i;
  (void)events;
  if (status < 0 || pe->teardown) return;
  do {
    n = epoll_wait(pe->epfd, ev, sizeof ev / sizeof ev[0], 0);
    for (i = 0; i < n; i++) {
      uint32_t slot = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
      struct probe *p;
      int32_t result = 0;
      if (slot >= pe->nslots || pe->gens[slot] != gen || (p = pe->slots[slot]) == NULL || p->finished || p->raw_fd < 0) continue;
      if (ev[i].events & (EPOLLERR | EPOLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p->raw_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        result = err != 0 ? -err : UV_ECONNRESET; /* -errno is libuv's code on Linux */
      }
      batch_push(pe, p->token, result);
      probe_finish(p);
      probe_close(p);
    }
  } while (n == (int)(sizeof ev / sizeof ev[0]));
}

static void epoll_watch_closed(uv_handle_t *h) {
  struct probe_env *pe = h->data;
  if (pe->epfd >= 0) close(pe->epfd);
  pe->epfd = -1;
  pe->open--;
  probe_env_maybe_done(pe);
}

/* tcpConnectTarget(targetId, token): a connect to the target reported as [token, status] through
 * the batch (tcpBatch): 0 once connected (the socket is closed by then), else a negative libuv
 * error code. Returns the probe id for tcpConnectAbort, or a negative libuv error code when it
 * failed at once (no socket, bind refused, network unreachable, refused on the spot): then
 * nothing is reported. */
static napi_value tcp_connect_target(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct probe_env *pe;
  int32_t tid, token;
  struct target *tg;
  struct probe *p;
  struct epoll_event ev;
  uint32_t slot;
  int fd, err, one = 1;
  socklen_t alen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&pe) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &tid) != napi_ok || napi_get_value_int32(env, argv[1], &token) != napi_ok ||
      tid < 0 || (uint32_t)tid >= pe->ntargets || pe->batch == NULL) {
    napi_throw_type_error(env, NULL, "tcpConnectTarget(targetId, token) after tcpBatch()");
    return NULL;
  }
  if (pe->teardown || !pe->epoll_started) return number(env, UV_ECANCELED);
  tg = &pe->targets[tid];
  fd = socket(tg->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return number(env, -errno);
  /* As uv_tcp_bind: SO_REUSEADDR, so a bind_port reused before TIME_WAIT ends still binds. */
  if (tg->has_from) {
    alen = tg->from.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || bind(fd, (const struct sockaddr *)&tg->from, alen) != 0) {
      err = -errno;
      close(fd);
      return number(env, err);
    }
  }
  alen = tg->to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (connect(fd, (const struct sockaddr *)&tg->to, alen) != 0 && errno != EINPROGRESS && errno != EINTR) {
    err = -errno;
    close(fd);
    return number(env, err);
  }
  /* Connected at once (or in progress): the set reports it either way. */
  p = calloc(1, sizeof *p);
  if (p == NULL) {
    close(fd);
    return number(env, UV_ENOMEM);
  }
  p->pe = pe;
  p->token = token;
  p->raw_fd = fd;
  p->finished = 1;
  if (pe->raw_inflight++ == 0) uv_ref((uv_handle_t *)&pe->epoll_watch);
  if ((err = slot_take(pe, p, &slot)) != 0) {
    probe_close(p);
    return number(env, err);
  }
  p->slot = slot;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLOUT;
  ev.data.u64 = ((uint64_t)pe->gens[slot] << 32) | slot;
  if (epoll_ctl(pe->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    err = -errno;
    slot_release(pe, slot);
    probe_close(p);
    return number(env, err);
  }
  p->finished = 0;
  return number(env, probe_id(pe, slot));
}

/* setParentDeathSignal(signum, parentPid): boolean — the kernel sends `signum` to this process
 * when its parent thread dies. false when the parent is not `parentPid` any more (it died
 * before the call: the caller should exit). Throws on a prctl failure. */
static napi_value set_parent_death_signal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int signum, ppid;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || !arg_int(env, argv[0], 1, NSIG - 1, &signum) || !arg_int(env, argv[1], 1, INT32_MAX, &ppid)) {
    napi_throw_type_error(env, NULL, "setParentDeathSignal(signum, parentPid) needs a signal number and a pid");
    return NULL;
  }
  if (prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0) {
    napi_throw_error(env, "EPRCTL", "setParentDeathSignal: prctl(PR_SET_PDEATHSIG) failed");
    return NULL;
  }
  if (napi_get_boolean(env, getppid() == ppid, &result) != napi_ok) return NULL;
  return result;
}

int hk_checker_register(napi_env env, napi_value exports) {
  struct probe_env *pe = calloc(1, sizeof *pe);
  napi_value name, res;
  if (pe == NULL) return ENOMEM;
  pe->env = env;
  pe->epfd = -1;
  if (napi_create_string_utf8(env, "hakeep:tcpConnect", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &res) != napi_ok || napi_async_init(env, res, name, &pe->actx) != napi_ok) {
    free(pe);
    return EINVAL;
  }
  if (napi_add_async_cleanup_hook(env, probe_env_teardown, pe, &pe->cleanup) != napi_ok) {
    napi_async_destroy(env, pe->actx);
    free(pe);
    return EINVAL;
  }
  /* From here on the cleanup hook owns `pe`. */
  napi_property_descriptor props[] = {
    {"tcpConnect", NULL, tcp_connect, NULL, NULL, NULL, napi_enumerable, pe},
    {"tcpConnectAbort", NULL, tcp_connect_abort, NULL, NULL, NULL, napi_enumerable, pe},
    {"tcpBatch", NULL, tcp_batch, NULL, NULL, NULL, napi_enumerable, pe},
    {"tcpTarget", NULL, tcp_target, NULL, NULL, NULL, napi_enumerable, pe},
    {"tcpConnectTarget", NULL, tcp_connect_target, NULL, NULL, NULL, napi_enumerable, pe},
    {"setParentDeathSignal", NULL, set_parent_death_signal, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok ? 0 : EINVAL;
}
