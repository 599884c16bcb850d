/* The process events connector for vrrp_track_process (src/vrrp/trackers/process.ts): the kernel
 * tells us about every fork, exec, name change and exit (NETLINK_CONNECTOR, CN_IDX_PROC), so the
 * tracker never polls /proc or runs `ps`. keepalived does the same (core/track_process.c).
 *
 * procEvents(onEvents, onError, opts?) → { close() }
 *   onEvents(records: Buffer): a batch of fixed 32-byte records, host byte order:
 *     u32 what (0 = the kernel's acknowledgement of our subscription, 1 fork, 2 exec,
 *     0x200 comm, 0x80000000 exit), u32 pid (the process, i.e. the thread group id; for fork the
 *     child), u32 aux (fork: the parent's pid; exit: the exit code), u32 0, char comm[16] (comm
 *     events: the new name, NUL-padded).
 *     Thread events are dropped here: only whole processes count.
 *   onError(err): err.code 'ENOBUFS' means events were lost (the caller re-reads /proc); others
 *     are read errors. The socket stays open.
 * Throws (with `code`) when the socket cannot be opened or the subscription is refused: EPERM
 * without CAP_NET_ADMIN, ECONNREFUSED in a network namespace other than the initial one (the
 * connector lives there only), EPROTONOSUPPORT without CONFIG_CONNECTOR. A kernel built without
 * CONFIG_PROC_EVENTS accepts the subscription but never acknowledges it: the caller waits for
 * the `what = 0` record and falls back when it does not come.
 *
 * Each proc_event arrives in its own datagram (the kernel cannot chain them, see the alignment
 * note in keepalived's track_process.c), so one read is one event. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define REC_SIZE 32
#define BATCH_MAX 512  /* records per call into JS */
#define BURST_MAX 4096 /* datagrams per wake-up before yielding to the loop */

struct pe_watch {
  uv_poll_t poll;
  napi_env env;
  int fd;
  napi_ref on_events;
  napi_ref on_error;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  int closed;
  int teardown;
  int refs; /* the close function (its finalizer) and the libuv handle */
  unsigned char batch[BATCH_MAX * REC_SIZE];
  size_t nrec;
};

static int subscribe(int fd, int on) {
  struct __attribute__((aligned(NLMSG_ALIGNTO))) {
    struct nlmsghdr h;
    struct __attribute__((__packed__)) {
      struct cn_msg cn;
      enum proc_cn_mcast_op op;
    } body;
  } m;
  memset(&m, 0, sizeof m);
  m.h.nlmsg_len = sizeof m;
  m.h.nlmsg_pid = 0; /* the kernel fills in our port id */
  m.h.nlmsg_type = NLMSG_DONE;
  m.body.cn.id.idx = CN_IDX_PROC;
  m.body.cn.id.val = CN_VAL_PROC;
  m.body.cn.len = sizeof(enum proc_cn_mcast_op);
  m.body.op = on ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
  for (;;) {
    if (send(fd, &m, sizeof m, 0) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int hk_proc_events_open(int rcvbuf, int *fd_out) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
  int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  int err;
  if (fd < 0) return errno;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || (errno = subscribe(fd, 1)) != 0) {
    err = errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
}

/* Decode one datagram into `rec` (REC_SIZE bytes). 1 = a record to pass on, 0 = nothing for us. */
static int decode(const unsigned char *buf, size_t len, unsigned char *rec) {
  const struct nlmsghdr *h = (const void *)buf;
  struct cn_msg cn;
  struct proc_event ev;
  uint32_t what, pid = 0, aux = 0;
  size_t off = NLMSG_LENGTH(0);
  if (len < off + sizeof cn || !NLMSG_OK(h, len) || h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP) return 0;
  memcpy(&cn, buf + off, sizeof cn);
  if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC) return 0;
  memset(&ev, 0, sizeof ev);
  /* The event follows cn_msg 4-byte aligned only: copy it out rather than point into it. */
  memcpy(&ev, buf + off + sizeof cn, len - off - sizeof cn < sizeof ev ? len - off - sizeof cn : sizeof ev);
  what = ev.what;
  memset(rec, 0, REC_SIZE);
  switch (what) {
  case PROC_EVENT_NONE:
    break;
  case PROC_EVENT_FORK:
    if (ev.event_data.fork.child_pid != ev.event_data.fork.child_tgid) return 0; /* a new thread */
    pid = (uint32_t)ev.event_data.fork.child_tgid;
    aux = (uint32_t)ev.event_data.fork.parent_tgid;
    break;
  case PROC_EVENT_EXEC:
    if (ev.event_data.exec.process_pid != ev.event_data.exec.process_tgid) return 0;
    pid = (uint32_t)ev.event_data.exec.process_tgid;
    break;
  case PROC_EVENT_COMM:
    if (ev.event_data.comm.process_pid != ev.event_data.comm.process_tgid) return 0;
    pid = (uint32_t)ev.event_data.comm.process_tgid;
    memcpy(rec + 16, ev.event_data.comm.comm, 16);
    break;
  case PROC_EVENT_EXIT:
    if (ev.event_data.exit.process_pid != ev.event_data.exit.process_tgid) return 0;
    pid = (uint32_t)ev.event_data.exit.process_tgid;
    aux = ev.event_data.exit.exit_code;
    break;
  default:
    return 0;
  }
  memcpy(rec, &what, 4);
  memcpy(rec + 4, &pid, 4);
  memcpy(rec + 8, &aux, 4);
  return 1;
}

static void pe_unref(struct pe_watch *w) {
  if (--w->refs == 0) free(w);
}

static void pe_closed(uv_handle_t *h) {
  struct pe_watch *w = h->data;
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  if (!w->teardown) {
    if (w->on_events != NULL) napi_delete_reference(w->env, w->on_events);
    if (w->on_error != NULL) napi_delete_reference(w->env, w->on_error);
    if (w->actx != NULL) napi_async_destroy(w->env, w->actx);
  }
  w->on_events = w->on_error = NULL;
  w->actx = NULL;
  if (w->cleanup != NULL) napi_remove_async_cleanup_hook(w->cleanup);
  w->cleanup = NULL;
  pe_unref(w);
}

static void pe_close(struct pe_watch *w) {
  if (w->closed) return;
  w->closed = 1;
  if (w->fd >= 0) subscribe(w->fd, 0); /* best effort: tell the kernel we stop listening */
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t *)&w->poll, pe_closed);
}

static void pe_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct pe_watch *w = arg;
  w->teardown = 1;
  w->cleanup = handle;
  pe_close(w);
}

static void pe_call(struct pe_watch *w, napi_ref ref, napi_value arg) {
  napi_value fn, global, result, exc;
  bool pending = false;
  if (w->closed || ref == NULL) return;
  if (napi_get_reference_value(w->env, ref, &fn) != napi_ok || fn == NULL) return;
  if (napi_get_global(w->env, &global) != napi_ok) return;
  if (napi_make_callback(w->env, w->actx, global, fn, 1, &arg, &result) != napi_ok) {
    napi_is_exception_pending(w->env, &pending);
    if (pending && napi_get_and_clear_last_exception(w->env, &exc) == napi_ok) napi_fatal_exception(w->env, exc);
  }
}

static napi_value pe_errno_error(napi_env env, int err, const char *what) {
  char msg[256];
  napi_value m, c, e;
  const char *code = err == ENOBUFS ? "ENOBUFS" : err == EPERM ? "EPERM" : err == ECONNREFUSED ? "ECONNREFUSED"
                   : err == EPROTONOSUPPORT ? "EPROTONOSUPPORT" : err == EACCES ? "EACCES" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok || napi_create_error(env, c, m, &e) != napi_ok) return NULL;
  napi_set_named_property(env, e, "code", c);
  return e;
}

static void pe_flush(struct pe_watch *w) {
  napi_handle_scope scope;
  napi_value b;
  void *copy;
  if (w->nrec == 0 || w->closed) return;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  if (napi_create_buffer_copy(w->env, w->nrec * REC_SIZE, w->batch, &copy, &b) == napi_ok) {
    w->nrec = 0;
    pe_call(w, w->on_events, b);
  }
  w->nrec = 0;
  napi_close_handle_scope(w->env, scope);
}

static void pe_error(struct pe_watch *w, int err, const char *what) {
  napi_handle_scope scope;
  napi_value e;
  if (w->closed || napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  e = pe_errno_error(w->env, err, what);
  if (e != NULL) pe_call(w, w->on_error, e);
  napi_close_handle_scope(w->env, scope);
}

static void pe_readable(uv_poll_t *h, int status, int events) {
  struct pe_watch *w = h->data;
  unsigned char buf[512];
  if (w->closed) return;
  if (status < 0) {
    /* EPOLLERR: the pending socket error of an overrun. Clear it and poll again. */
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || uv_poll_start(&w->poll, UV_READABLE, pe_readable) != 0) {
      pe_error(w, EIO, "process events: poll failed (stopped)");
      return;
    }
    if (soerr == ENOBUFS) pe_error(w, ENOBUFS, "process events: the kernel dropped events (receive buffer overrun)");
  }
  for (int i = 0; i < BURST_MAX && !w->closed; i++) {
    struct sockaddr_nl from;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t got = recvmsg(w->fd, &mh, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      pe_flush(w); /* what came before the loss, in order */
      pe_error(w, errno, errno == ENOBUFS ? "process events: the kernel dropped events (receive buffer overrun)" : "process events: read failed");
      if (errno != ENOBUFS) break;
      continue;
    }
    if (mh.msg_namelen >= sizeof from && from.nl_pid != 0) continue; /* only the kernel speaks here */
    if (decode(buf, (size_t)got, w->batch + w->nrec * REC_SIZE)) {
      if (++w->nrec == BATCH_MAX) pe_flush(w);
    }
  }
  pe_flush(w);
}

static napi_value pe_close_js(napi_env env, napi_callback_info info) {
  void *data;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) == napi_ok) pe_close(data);
  return NULL;
}

static void pe_finalize(napi_env env, void *data, void *hint) {
  pe_unref(data);
}

static int pe_is_function(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

/* procEvents(onEvents, onError, opts?: { rcvbuf?: number }): { close() } */
static napi_value proc_events(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle, fn, name, res, e;
  uv_loop_t *loop;
  struct pe_watch *w;
  int rcvbuf = 0, fd = -1, err;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || !pe_is_function(env, argv[0]) || !pe_is_function(env, argv[1])) {
    napi_throw_type_error(env, NULL, "procEvents(onEvents, onError, opts?) needs two callback functions");
    return NULL;
  }
  if (argc > 2) {
    napi_valuetype t;
    napi_value v;
    double d;
    if (napi_typeof(env, argv[2], &t) == napi_ok && t == napi_object &&
        napi_get_named_property(env, argv[2], "rcvbuf", &v) == napi_ok && napi_get_value_double(env, v, &d) == napi_ok) {
      if (d < 1 || d > 1073741824 || d != (int)d) {
        napi_throw_range_error(env, NULL, "procEvents: rcvbuf must be an integer from 1 to 1073741824 (bytes)");
        return NULL;
      }
      rcvbuf = (int)d;
    }
  }
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  if ((err = hk_proc_events_open(rcvbuf, &fd)) != 0) {
    e = pe_errno_error(env, err, "procEvents: cannot subscribe to the kernel's process events connector");
    if (e != NULL) napi_throw(env, e);
    return NULL;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "procEvents: out of memory");
    return NULL;
  }
  w->env = env;
  w->fd = -1;
  w->refs = 1;
  if (napi_create_object(env, &handle) != napi_ok || napi_create_string_utf8(env, "hakeep:procEvents", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &res) != napi_ok || napi_async_init(env, res, name, &w->actx) != napi_ok ||
      napi_create_function(env, "close", NAPI_AUTO_LENGTH, pe_close_js, w, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, w, pe_finalize, NULL, NULL) != napi_ok) {
    if (w->actx != NULL) napi_async_destroy(env, w->actx);
    free(w);
    close(fd);
    return NULL;
  }
  /* From here on the finalizer owns the struct. */
  if (napi_set_named_property(env, handle, "close", fn) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &w->on_events) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &w->on_error) != napi_ok) {
    close(fd);
    return NULL;
  }
  if ((err = uv_poll_init(loop, &w->poll, fd)) != 0) {
    close(fd);
    napi_throw_error(env, "EIO", "procEvents: uv_poll_init failed");
    return NULL;
  }
  w->fd = fd;
  w->poll.data = w;
  w->refs++; /* the libuv handle */
  napi_add_async_cleanup_hook(env, pe_teardown, w, &w->cleanup);
  if ((err = uv_poll_start(&w->poll, UV_READABLE, pe_readable)) != 0) {
    pe_close(w);
    napi_throw_error(env, "EIO", "procEvents: uv_poll_start failed");
    return NULL;
  }
  return handle;
}

int hk_proc_events_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"procEvents", NULL, proc_events, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, 1, props) == napi_ok ? 0 : EINVAL;
}
