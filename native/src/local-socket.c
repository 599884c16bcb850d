/* Local (AF_UNIX) sockets Node cannot open itself: the status socket's listener, which knows who
 * connected, and a datagram socket for syslog's /dev/log.
 *
 * credListen(path, mode, onConnection) → { close() }
 *   Binds a SOCK_STREAM socket at `path` (which must not exist), chmods it to `mode` BEFORE
 *   listen(), so nobody can connect while it still has the umask's mode, and accepts on a libuv
 *   poll. For every client: SO_PEERCRED (uid, gid and pid the kernel recorded at connect(); -1
 *   each when it cannot be read), then onConnection(fd, uid, gid, pid). The callback returns true
 *   when it took the fd (src/daemon/status.ts wraps it with Node's public `new net.Socket({ fd })`);
 *   anything else, an exception included, closes it here.
 *   Why this split rather than the whole server in C: Node gives no public way to the fd of a
 *   connection its own net.Server accepted (only internals such as _handle.fd), so the accept must
 *   happen here; after that, net.Socket({ fd }) is documented API, and the one-line protocol, the
 *   answer (megabytes of JSON with 10,000 real servers) and its tests stay in TypeScript.
 *
 * unixDgram(path) → { send(data: Buffer | string): number, close() }
 *   A SOCK_DGRAM socket connected to `path` (syslog's /dev/log). send() never blocks
 *   (MSG_DONTWAIT): it returns 0, or an errno (EAGAIN: the reader is behind, the line is dropped;
 *   ECONNREFUSED/ENOTCONN: the reader restarted, connect again). Throws (with `code`) when the
 *   socket cannot be connected. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#define ACCEPT_BURST 64 /* connections per wake-up before yielding to the loop */

int hk_unix_listen(const char *path, unsigned mode, int *fd_out, const char **stage) {
  struct sockaddr_un sa;
  size_t plen = strlen(path);
  int fd, err;
  *stage = "socket path";
  if (plen == 0 || plen >= sizeof sa.sun_path) return ENAMETOOLONG;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  *stage = "socket(AF_UNIX, SOCK_STREAM)";
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno;
  *stage = "bind";
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) goto fail;
  *stage = "chmod";
  if (chmod(path, mode) < 0) {
    err = errno;
    unlink(path);
    close(fd);
    return err;
  }
  *stage = "listen";
  if (listen(fd, 64) < 0) {
    err = errno;
    unlink(path);
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
fail:
  err = errno;
  close(fd);
  return err;
}

int hk_unix_dgram_connect(const char *path, int *fd_out, const char **stage) {
  struct sockaddr_un sa;
  size_t plen = strlen(path);
  int fd, err;
  *stage = "socket path";
  if (plen == 0 || plen >= sizeof sa.sun_path) return ENAMETOOLONG;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  *stage = "socket(AF_UNIX, SOCK_DGRAM)";
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno;
  *stage = "connect";
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
}

/* ---- Node-API ---- */

static napi_value ls_errno_error(napi_env env, int err, const char *what, const char *stage) {
  char msg[512];
  const char *code = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  code = strerrorname_np(err);
#endif
  napi_value m, c, e, n;
  if (code == NULL) code = err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : err == EADDRINUSE ? "EADDRINUSE" : err == ECONNREFUSED ? "ECONNREFUSED" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s: %s (%s)", what, stage, strerror(err), code);
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok || napi_create_error(env, c, m, &e) != napi_ok) return NULL;
  napi_set_named_property(env, e, "code", c);
  if (napi_create_int32(env, err, &n) == napi_ok) napi_set_named_property(env, e, "errno", n);
  return e;
}

static int ls_get_path(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  napi_valuetype t;
  size_t len;
  char msg[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    snprintf(msg, sizeof msg, "%s: the path must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (len == 0 || len + 1 > size) {
    snprintf(msg, sizeof msg, "%s: the path must be 1 to %zu bytes long", what, size - 1);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

struct cred_listener {
  uv_poll_t poll;
  napi_env env;
  int fd;
  napi_ref on_conn;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  int closed;
  int teardown;
  int refs; /* the close function (its finalizer) and the libuv handle */
};

static void cl_unref(struct cred_listener *l) {
  if (--l->refs == 0) free(l);
}

static void cl_closed(uv_handle_t *h) {
  struct cred_listener *l = h->data;
  if (l->fd >= 0) close(l->fd);
  l->fd = -1;
  if (!l->teardown) {
    if (l->on_conn != NULL) napi_delete_reference(l->env, l->on_conn);
    if (l->actx != NULL) napi_async_destroy(l->env, l->actx);
  }
  l->on_conn = NULL;
  l->actx = NULL;
  if (l->cleanup != NULL) napi_remove_async_cleanup_hook(l->cleanup);
  l->cleanup = NULL;
  cl_unref(l);
}

static void cl_close(struct cred_listener *l) {
  if (l->closed) return;
  l->closed = 1;
  uv_poll_stop(&l->poll);
  uv_close((uv_handle_t *)&l->poll, cl_closed);
}

static void cl_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct cred_listener *l = arg;
  l->teardown = 1;
  l->cleanup = handle;
  cl_close(l);
}

/* Hand one accepted client to JS; closes it unless the callback returned true. */
static void cl_deliver(struct cred_listener *l, int cfd) {
  napi_handle_scope scope;
  napi_value fn, global, result, exc, argv[4];
  struct ucred cred;
  socklen_t len = sizeof cred;
  bool took = false, pending = false;
  int uid = -1, gid = -1, pid = -1;
  if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
    uid = (int)cred.uid;
    gid = (int)cred.gid;
    pid = (int)cred.pid;
  }
  if (l->closed || napi_open_handle_scope(l->env, &scope) != napi_ok) {
    close(cfd);
    return;
  }
  if (napi_get_reference_value(l->env, l->on_conn, &fn) == napi_ok && fn != NULL && napi_get_global(l->env, &global) == napi_ok &&
      napi_create_int32(l->env, cfd, &argv[0]) == napi_ok && napi_create_int32(l->env, uid, &argv[1]) == napi_ok &&
      napi_create_int32(l->env, gid, &argv[2]) == napi_ok && napi_create_int32(l->env, pid, &argv[3]) == napi_ok) {
    if (napi_make_callback(l->env, l->actx, global, fn, 4, argv, &result) == napi_ok) {
      napi_get_value_bool(l->env, result, &took);
    } else {
      napi_is_exception_pending(l->env, &pending);
      if (pending && napi_get_and_clear_last_exception(l->env, &exc) == napi_ok) {
        close(cfd);
        napi_close_handle_scope(l->env, scope);
        napi_fatal_exception(l->env, exc);
        return;
      }
    }
  }
  if (!took) close(cfd);
  napi_close_handle_scope(l->env, scope);
}

static void cl_readable(uv_poll_t *h, int status, int events) {
  struct cred_listener *l = h->data;
  for (int i = 0; i < ACCEPT_BURST && !l->closed; i++) {
    int cfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break; /* EAGAIN: none left; EMFILE and the like: the next wake-up tries again */
    }
    cl_deliver(l, cfd);
  }
}

static napi_value cl_close_js(napi_env env, napi_callback_info info) {
  void *data;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) == napi_ok) cl_close(data);
  return NULL;
}

static void cl_finalize(napi_env env, void *data, void *hint) {
  cl_unref(data);
}

/* credListen(path: string, mode: number, onConnection(fd, uid, gid, pid): boolean): { close() } */
static napi_value cred_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle, fn, name, res, e;
  napi_valuetype t;
  uv_loop_t *loop;
  struct cred_listener *l;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  const char *stage = "";
  uint32_t mode;
  int fd = -1, err;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function || napi_get_value_uint32(env, argv[1], &mode) != napi_ok) {
    napi_throw_type_error(env, NULL, "credListen(path, mode, onConnection) needs a path, a file mode and a callback");
    return NULL;
  }
  if (!ls_get_path(env, argv[0], "credListen", path, sizeof path)) return NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  if ((err = hk_unix_listen(path, mode & 07777, &fd, &stage)) != 0) {
    e = ls_errno_error(env, err, "credListen", stage);
    if (e != NULL) napi_throw(env, e);
    return NULL;
  }
  l = calloc(1, sizeof *l);
  if (l == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "credListen: out of memory");
    return NULL;
  }
  l->env = env;
  l->fd = -1;
  l->refs = 1;
  if (napi_create_object(env, &handle) != napi_ok || napi_create_string_utf8(env, "hakeep:credListen", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &res) != napi_ok || napi_async_init(env, res, name, &l->actx) != napi_ok ||
      napi_create_function(env, "close", NAPI_AUTO_LENGTH, cl_close_js, l, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, l, cl_finalize, NULL, NULL) != napi_ok) {
    if (l->actx != NULL) napi_async_destroy(env, l->actx);
    free(l);
    close(fd);
    return NULL;
  }
  /* From here on the finalizer owns the struct. */
  if (napi_set_named_property(env, handle, "close", fn) != napi_ok || napi_create_reference(env, argv[2], 1, &l->on_conn) != napi_ok) {
    close(fd);
    return NULL;
  }
  if (uv_poll_init(loop, &l->poll, fd) != 0) {
    close(fd);
    napi_throw_error(env, "EIO", "credListen: uv_poll_init failed");
    return NULL;
  }
  l->fd = fd;
  l->poll.data = l;
  l->refs++; /* the libuv handle */
  napi_add_async_cleanup_hook(env, cl_teardown, l, &l->cleanup);
  if (uv_poll_start(&l->poll, UV_READABLE, cl_readable) != 0) {
    cl_close(l);
    napi_throw_error(env, "EIO", "credListen: uv_poll_start failed");
    return NULL;
  }
  return handle;
}

struct dgram {
  int fd;
  int refs; /* the handle object and its two functions: whichever JS keeps, `d` lives */
};

static void dg_release(napi_env env, void *data, void *hint) {
  struct dgram *d = data;
  if (--d->refs > 0) return;
  if (d->fd >= 0) close(d->fd);
  free(d);
}

static napi_value dg_send(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], out;
  struct dgram *d;
  void *data = NULL;
  char *copy = NULL;
  bool is_buffer = false;
  ssize_t n;
  int err = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&d) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "send(data) needs a Buffer or a string");
    return NULL;
  }
  if (d->fd < 0) {
    err = EBADF;
  } else {
    napi_is_buffer(env, argv[0], &is_buffer);
    if (is_buffer) {
      if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) return NULL;
    } else {
      if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
        napi_throw_type_error(env, NULL, "send(data) needs a Buffer or a string");
        return NULL;
      }
      copy = malloc(len + 1);
      if (copy == NULL || napi_get_value_string_utf8(env, argv[0], copy, len + 1, &len) != napi_ok) {
        free(copy);
        return NULL;
      }
      data = copy;
    }
    do n = send(d->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
    free(copy);
  }
  if (napi_create_int32(env, err, &out) != napi_ok) return NULL;
  return out;
}

static napi_value dg_close(napi_env env, napi_callback_info info) {
  struct dgram *d;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&d) != napi_ok) return NULL;
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
  return NULL;
}

/* unixDgram(path: string): { send(data): number, close() } */
static napi_value unix_dgram(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], handle, send_fn, close_fn, e;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  const char *stage = "";
  struct dgram *d;
  int fd = -1, err;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "unixDgram(path) needs a socket path");
    return NULL;
  }
  if (!ls_get_path(env, argv[0], "unixDgram", path, sizeof path)) return NULL;
  if ((err = hk_unix_dgram_connect(path, &fd, &stage)) != 0) {
    e = ls_errno_error(env, err, "unixDgram", stage);
    if (e != NULL) napi_throw(env, e);
    return NULL;
  }
  d = malloc(sizeof *d);
  if (d == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "unixDgram: out of memory");
    return NULL;
  }
  d->fd = fd;
  d->refs = 0;
  if (napi_create_object(env, &handle) != napi_ok || napi_add_finalizer(env, handle, d, dg_release, NULL, NULL) != napi_ok) {
    close(fd);
    free(d);
    return NULL;
  }
  /* From here on the finalizers own `d` (the last one closes the socket if close() never ran). */
  d->refs = 1;
  if (napi_create_function(env, "send", NAPI_AUTO_LENGTH, dg_send, d, &send_fn) != napi_ok) return NULL;
  if (napi_add_finalizer(env, send_fn, d, dg_release, NULL, NULL) != napi_ok) return NULL;
  d->refs++;
  if (napi_create_function(env, "close", NAPI_AUTO_LENGTH, dg_close, d, &close_fn) != napi_ok) return NULL;
  if (napi_add_finalizer(env, close_fn, d, dg_release, NULL, NULL) != napi_ok) return NULL;
  d->refs++;
  if (napi_set_named_property(env, handle, "send", send_fn) != napi_ok || napi_set_named_property(env, handle, "close", close_fn) != napi_ok) return NULL;
  return handle;
}

int hk_local_socket_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"credListen", NULL, cred_listen, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unixDgram", NULL, unix_dgram, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, 2, props) == napi_ok ? 0 : EINVAL;
}
