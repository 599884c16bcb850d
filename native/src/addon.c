/* Node-API wrappers (plain C, node_api.h, and uv.h for the two handles that call back into JS):
 * argument checking and JS error objects around the plain helpers in garp.c, sd-notify.c,
 * netlink.c and rtnl-monitor.c, plus libuv signal watching. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return NULL;              \
  } while (0)

static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  switch (err) { /* the ones a caller may branch on, for C libraries without strerrorname_np */
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case ENETDOWN: return "ENETDOWN";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EEXIST: return "EEXIST";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EINVAL: return "EINVAL";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case EINTR: return "EINTR";
    default: return "EUNKNOWN";
  }
}

/* `Error(message)` with `code` = errno name and `errno` = the number, like Node's own system
 * errors, so callers can branch on err.code; NULL when it could not be built. */
static napi_value errno_error(napi_env env, int err, const char *message) {
  napi_value msg, code, num, error;
  char full[512];
  snprintf(full, sizeof full, "%s: %s (%s)", message, strerror(err), errno_name(err));
  if (napi_create_string_utf8(env, full, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  return error;
}

static void throw_errno(napi_env env, int err, const char *message) {
  napi_value error = errno_error(env, err, message);
  if (error != NULL) napi_throw(env, error);
}

/* Copy a JS string argument into `buf`; throws a TypeError and returns 0 when it is not one. */
static int get_string(napi_env env, napi_value v, const char *what, char *buf, size_t size) {
  napi_valuetype t;
  size_t len;
  char msg[128];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return 0;
  if (len + 1 > size) {
    snprintf(msg, sizeof msg, "%s is too long (%zu bytes, at most %zu)", what, len, size - 1);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

/* sendGarp(ifname: string, ipv4: string, count = 1): undefined */
static napi_value send_garp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ifname[IFNAMSIZ + 1], ip[64], msg[256];
  struct in_addr addr;
  uint32_t count = 1;
  const char *stage = "";
  napi_valuetype t = napi_undefined;
  int err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "sendGarp(ifname, ipv4, count?) needs an interface name and an IPv4 address");
    return NULL;
  }
  if (!get_string(env, argv[0], "sendGarp: interface name", ifname, IFNAMSIZ)) return NULL;
  if (!get_string(env, argv[1], "sendGarp: IPv4 address", ip, sizeof ip)) return NULL;
  if (argc > 2) CHECK(napi_typeof(env, argv[2], &t));
  if (t != napi_undefined) {
    double d;
    if (t != napi_number || napi_get_value_double(env, argv[2], &d) != napi_ok || d < 1 || d > 10000 ||
        d != (double)(uint32_t)d) {
      napi_throw_range_error(env, NULL, "sendGarp: count must be an integer from 1 to 10000");
      return NULL;
    }
    count = (uint32_t)d;
  }
  if (inet_pton(AF_INET, ip, &addr) != 1) {
    snprintf(msg, sizeof msg, "sendGarp: '%s' is not an IPv4 address", ip);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }

  err = hk_send_garp(ifname, addr.s_addr, count, &stage);
  if (err == 0) return NULL;
  if (err == EPFNOSUPPORT && strcmp(stage, "interface type") == 0) {
    snprintf(msg, sizeof msg,
             "cannot send gratuitous ARP for %s on %s: not an Ethernet interface", ip, ifname);
    napi_throw_error(env, "EPFNOSUPPORT", msg);
    return NULL;
  }
  if (err == ENODEV && strcmp(stage, "interface lookup") == 0)
    snprintf(msg, sizeof msg, "cannot send gratuitous ARP for %s: interface %s does not exist", ip, ifname);
  else
    snprintf(msg, sizeof msg, "cannot send gratuitous ARP for %s on %s: %s failed", ip, ifname, stage);
  throw_errno(env, err, msg);
  return NULL;
}

/* sdNotify(state: string, socketPath = $NOTIFY_SOCKET): boolean (false when there is no socket) */
static napi_value sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  char state[4096], path[128], msg[256];
  const char *socket_path = NULL, *stage = "";
  napi_valuetype t = napi_undefined;
  int err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "sdNotify(state, socketPath?) needs a state string such as 'READY=1'");
    return NULL;
  }
  if (!get_string(env, argv[0], "sdNotify: state", state, sizeof state)) return NULL;
  if (argc > 1) CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_undefined && t != napi_null) {
    if (!get_string(env, argv[1], "sdNotify: socket path", path, sizeof path)) return NULL;
    socket_path = path;
  } else {
    socket_path = getenv("NOTIFY_SOCKET");
  }
  if (socket_path == NULL || socket_path[0] == '\0') {
    CHECK(napi_get_boolean(env, 0, &result));
    return result;
  }
  err = hk_sd_notify(socket_path, state, strlen(state), &stage);
  if (err != 0) {
    snprintf(msg, sizeof msg, "sd_notify to %s: %s failed", socket_path, stage);
    throw_errno(env, err, msg);
    return NULL;
  }
  CHECK(napi_get_boolean(env, 1, &result));
  return result;
}

/* ifaceInfo(ifname: string): { index: number, mac: string, hwType: number } */
static napi_value iface_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, v;
  char ifname[IFNAMSIZ + 1], mac[18], msg[128];
  struct hk_iface i;
  int err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "ifaceInfo(ifname) needs an interface name");
    return NULL;
  }
  if (!get_string(env, argv[0], "ifaceInfo: interface name", ifname, IFNAMSIZ)) return NULL;
  err = hk_iface_info(ifname, &i);
  if (err != 0) {
    snprintf(msg, sizeof msg, "interface %s", ifname);
    throw_errno(env, err, msg);
    return NULL;
  }
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", i.mac[0], i.mac[1], i.mac[2], i.mac[3],
           i.mac[4], i.mac[5]);
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_int32(env, i.index, &v));
  CHECK(napi_set_named_property(env, obj, "index", v));
  CHECK(napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "mac", v));
  CHECK(napi_create_uint32(env, i.hw_type, &v));
  CHECK(napi_set_named_property(env, obj, "hwType", v));
  return obj;
}

/* ---- address changes over rtnetlink (netlink.c) ---- */

/* Read a string without throwing: 0 = ok, 1 = not a string, 2 = too long. */
static int read_str(napi_env env, napi_value v, char *buf, size_t size) {
  napi_valuetype t;
  size_t len;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return 1;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return 1;
  if (len + 1 > size) return 2;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok ? 0 : 1;
}

static int is_absent(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null;
}

/* Optional string property `name` of `obj` into buf; *out = buf, or NULL when absent. */
static int opt_str(napi_env env, napi_value obj, const char *name, char *buf, size_t size, const char **out,
                   char *why, size_t why_size) {
  napi_value v;
  int r;
  *out = NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || is_absent(env, v)) return 0;
  r = read_str(env, v, buf, size);
  if (r == 1) snprintf(why, why_size, "%s must be a string", name);
  if (r == 2) snprintf(why, why_size, "%s is too long (at most %zu characters)", name, size - 1);
  if (r != 0) return EINVAL;
  *out = buf;
  return 0;
}

static int opt_bool(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b = false;
  *out = 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || is_absent(env, v)) return 0;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return EINVAL;
  *out = b;
  return 0;
}

static const struct { const char *name; int value; } SCOPES[] = {
  {"global", 0}, {"universe", 0}, {"site", 200}, {"link", 253}, {"host", 254}, {"nowhere", 255},
};

/* scope: a name (global, site, link, host, nowhere) or a number 0-255; -1 when absent. */
static int opt_scope(napi_env env, napi_value obj, int *out, char *why, size_t why_size) {
  napi_value v;
  napi_valuetype t;
  char name[32];
  double d;
  *out = -1;
  if (napi_get_named_property(env, obj, "scope", &v) != napi_ok || is_absent(env, v)) return 0;
  if (napi_typeof(env, v, &t) != napi_ok) return EINVAL;
  if (t == napi_number && napi_get_value_double(env, v, &d) == napi_ok && d >= 0 && d <= 255 && d == (int)d) {
    *out = (int)d;
    return 0;
  }
  if (t == napi_string && read_str(env, v, name, sizeof name) == 0) {
    for (size_t i = 0; i < sizeof SCOPES / sizeof SCOPES[0]; i++) {
      if (strcmp(name, SCOPES[i].name) == 0) {
        *out = SCOPES[i].value;
        return 0;
      }
    }
  }
  snprintf(why, why_size, "scope must be global, site, link, host, nowhere or a number 0-255");
  return EINVAL;
}

/* Build one request from JS values; EINVAL with `why` when an argument is wrong. */
static int parse_addr_req(napi_env env, napi_value op, napi_value ifname, napi_value family, napi_value address,
                          napi_value prefixlen, napi_value opts, struct hk_addr_req *r, char *why, size_t why_size) {
  char ops[8], ifn[IFNAMSIZ], addr[64], brd[64], label[64], peer[64];
  struct hk_addr_opts o = {NULL, -1, NULL, NULL, 0, 0};
  int32_t fam, plen;
  double d;
  int rc, del;

  rc = read_str(env, op, ops, sizeof ops);
  if (rc != 0 || (strcmp(ops, "add") != 0 && strcmp(ops, "del") != 0)) {
    snprintf(why, why_size, "op must be 'add' or 'del'");
    return EINVAL;
  }
  del = ops[0] == 'd';
  rc = read_str(env, ifname, ifn, sizeof ifn);
  if (rc != 0) {
    snprintf(why, why_size, rc == 1 ? "interface name must be a string" : "interface name is longer than %d characters",
             IFNAMSIZ - 1);
    return EINVAL;
  }
  if (napi_get_value_double(env, family, &d) != napi_ok || (d != 4 && d != 6)) {
    snprintf(why, why_size, "family must be 4 or 6");
    return EINVAL;
  }
  fam = (int32_t)d;
  if (read_str(env, address, addr, sizeof addr) != 0) {
    snprintf(why, why_size, "address must be an IPv%d address string", fam);
    return EINVAL;
  }
  if (napi_get_value_double(env, prefixlen, &d) != napi_ok || d != (int32_t)d) {
    snprintf(why, why_size, "prefix length of %s must be an integer", addr);
    return EINVAL;
  }
  plen = (int32_t)d;
  if (opts != NULL && !is_absent(env, opts)) {
    napi_valuetype t;
    if (napi_typeof(env, opts, &t) != napi_ok || t != napi_object) {
      snprintf(why, why_size, "options must be an object");
      return EINVAL;
    }
    if ((rc = opt_str(env, opts, "brd", brd, sizeof brd, &o.brd, why, why_size)) != 0) return rc;
    if ((rc = opt_str(env, opts, "label", label, sizeof label, &o.label, why, why_size)) != 0) return rc;
    if ((rc = opt_str(env, opts, "peer", peer, sizeof peer, &o.peer, why, why_size)) != 0) return rc;
    if ((rc = opt_scope(env, opts, &o.scope, why, why_size)) != 0) return rc;
    if (opt_bool(env, opts, "noDad", &o.nodad) != 0 || opt_bool(env, opts, "noPrefixRoute", &o.noprefixroute) != 0) {
      snprintf(why, why_size, "noDad and noPrefixRoute must be booleans");
      return EINVAL;
    }
  }
  return hk_addr_req_init(r, del, ifn, fam, addr, plen, &o, why, why_size);
}

/* addrChange(op, ifname, family, address, prefixLen, opts?): 0 or a positive errno.
 * EEXIST (add) and EADDRNOTAVAIL (del) mean the address is already in that state. Wrong
 * arguments throw a TypeError. */
static napi_value addr_change(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  struct hk_addr_req r;
  char why[192], msg[256];
  int err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "addrChange(op, ifname, family, address, prefixLen, opts?) needs 5 arguments");
    return NULL;
  }
  if (parse_addr_req(env, argv[0], argv[1], argv[2], argv[3], argv[4], argc > 5 ? argv[5] : NULL, &r, why,
                     sizeof why) != 0) {
    snprintf(msg, sizeof msg, "addrChange: %s", why);
    napi_throw_type_error(env, "EINVAL", msg);
    return NULL;
  }
  hk_addr_apply(&r, 1);
  err = r.err;
  CHECK(napi_create_int32(env, err, &result));
  return result;
}

/* addrChangeBatch([{op, ifname, family, address, prefixLen, brd?, scope?, label?, peer?, noDad?,
 * noPrefixRoute?}]): [{errno, code, message}] in the same order, errno 0 for success. All
 * requests go out in one sendmsg (per 64) before any ACK is read. A wrong entry gets EINVAL and
 * does not stop the others. */
static napi_value addr_change_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  bool is_array = false;
  uint32_t n, i;
  struct hk_addr_req *reqs;
  char (*why)[192];

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "addrChangeBatch(requests) needs an array of address requests");
    return NULL;
  }
  CHECK(napi_get_array_length(env, argv[0], &n));
  if (n > 65536) {
    napi_throw_range_error(env, NULL, "addrChangeBatch: at most 65536 requests at once");
    return NULL;
  }
  reqs = calloc(n ? n : 1, sizeof *reqs);
  why = calloc(n ? n : 1, sizeof *why);
  if (reqs == NULL || why == NULL) {
    free(reqs);
    free(why);
    napi_throw_error(env, "ENOMEM", "addrChangeBatch: out of memory");
    return NULL;
  }
  /* Requests that fail to parse are kept out of the kernel round and answered EINVAL. */
  struct hk_addr_req *ok = calloc(n ? n : 1, sizeof *ok);
  uint32_t *slot = calloc(n ? n : 1, sizeof *slot);
  uint32_t nok = 0;
  if (ok == NULL || slot == NULL) {
    free(reqs); free(why); free(ok); free(slot);
    napi_throw_error(env, "ENOMEM", "addrChangeBatch: out of memory");
    return NULL;
  }
  for (i = 0; i < n; i++) {
    napi_value item, f[5];
    napi_valuetype t;
    static const char *names[5] = {"op", "ifname", "family", "address", "prefixLen"};
    reqs[i].err = 0;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || napi_typeof(env, item, &t) != napi_ok || t != napi_object) {
      reqs[i].err = EINVAL;
      snprintf(why[i], sizeof why[i], "request %u is not an object", i);
      continue;
    }
    for (int k = 0; k < 5; k++) {
      if (napi_get_named_property(env, item, names[k], &f[k]) != napi_ok) goto fail;
    }
    if (parse_addr_req(env, f[0], f[1], f[2], f[3], f[4], item, &reqs[i], why[i], sizeof why[i]) != 0) {
      reqs[i].err = EINVAL;
      continue;
    }
    ok[nok] = reqs[i];
    slot[nok++] = i;
  }
  hk_addr_apply(ok, nok);
  for (i = 0; i < nok; i++) {
    reqs[slot[i]] = ok[i];
    why[slot[i]][0] = '\0';
    if (ok[i].err != 0) {
      snprintf(why[slot[i]], sizeof why[0], "%s", ok[i].msg[0] ? ok[i].msg : strerror(ok[i].err));
    }
  }
  if (napi_create_array_with_length(env, n, &out) != napi_ok) goto fail;
  for (i = 0; i < n; i++) {
    napi_value o, v;
    int e = reqs[i].err;
    if (napi_create_object(env, &o) != napi_ok) goto fail;
    if (napi_create_int32(env, e, &v) != napi_ok || napi_set_named_property(env, o, "errno", v) != napi_ok) goto fail;
    if (napi_create_string_utf8(env, e ? errno_name(e) : "", NAPI_AUTO_LENGTH, &v) != napi_ok ||
        napi_set_named_property(env, o, "code", v) != napi_ok)
      goto fail;
    if (napi_create_string_utf8(env, e ? why[i] : "", NAPI_AUTO_LENGTH, &v) != napi_ok ||
        napi_set_named_property(env, o, "message", v) != napi_ok)
      goto fail;
    if (napi_set_element(env, out, i, o) != napi_ok) goto fail;
  }
  free(reqs); free(why); free(ok); free(slot);
  return out;
fail:
  free(reqs); free(why); free(ok); free(slot);
  return NULL;
}

/* ---- libuv handles that call into JS: the rtnetlink monitor and signal watchers ----
 *
 * Each watch is a libuv handle on the loop of this environment plus references to its JS
 * callbacks. JS gets `{ close }`; the struct is freed when both of its owners are done with it:
 * the close function (its GC finalizer) and the libuv handle (its uv_close callback). Calls into
 * JS follow the Node-API rule for callbacks from libuv: a handle scope, then napi_make_callback
 * with an async context (so async hooks, nextTick and microtasks behave as for any Node
 * callback). An exception the callback throws goes to napi_fatal_exception, i.e. Node's normal
 * 'uncaughtException' path, exactly as if a timer callback had thrown. When the environment
 * goes away (worker exit) an async cleanup hook closes the handle. */

enum { W_MONITOR, W_SIGNAL };

#define MONITOR_BUF 65536  /* rtnetlink notifications are at most a page or two */
#define MONITOR_BURST 1024 /* datagrams per wake-up before yielding to the loop (it is level-triggered) */
#define DRAIN_MAX 100000   /* datagrams dropped after an overrun, at most */

struct watch {
  napi_env env;
  int kind;
  union {
    uv_poll_t poll;
    uv_signal_t sig;
  } h;
  int fd;           /* monitor: the netlink socket; -1 once closed */
  int signum;       /* signal */
  int was_ignored;  /* signal: SIG_IGN before the watch started */
  napi_ref on_data; /* monitor: onData; signal: the callback */
  napi_ref on_error;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  int closed;   /* close() or teardown has started: no more calls into JS */
  int teardown; /* the environment is going away: no more N-API calls at all */
  int refs;
  char *buf;
};

static void watch_unref(struct watch *w) {
  if (--w->refs > 0) return;
  free(w->buf);
  free(w);
}

static void watch_closed(uv_handle_t *h) {
  struct watch *w = h->data;
  if (w->fd >= 0) close(w->fd); /* only now: libuv must not poll a closed descriptor */
  w->fd = -1;
  if (!w->teardown) { /* at teardown the environment frees references itself */
    if (w->on_data != NULL) napi_delete_reference(w->env, w->on_data);
    if (w->on_error != NULL) napi_delete_reference(w->env, w->on_error);
    if (w->actx != NULL) napi_async_destroy(w->env, w->actx);
  }
  w->on_data = w->on_error = NULL;
  w->actx = NULL;
  if (w->cleanup != NULL) napi_remove_async_cleanup_hook(w->cleanup); /* also: teardown may go on */
  w->cleanup = NULL;
  watch_unref(w);
}

static void watch_close(struct watch *w) {
  if (w->closed) return;
  w->closed = 1;
  if (w->kind == W_MONITOR) {
    uv_poll_stop(&w->h.poll);
  } else {
    struct sigaction now;
    uv_signal_stop(&w->h.sig);
    /* libuv puts SIG_DFL back when the last watcher of a signal stops; for an ignored realtime
     * signal that would turn the next one into a kill. Restore the ignore (only when no other
     * libuv watcher still holds the signal: then the disposition is not SIG_DFL). */
    if (w->was_ignored && sigaction(w->signum, NULL, &now) == 0 && now.sa_handler == SIG_DFL) {
      signal(w->signum, SIG_IGN);
    }
  }
  uv_close((uv_handle_t *)&w->h, watch_closed);
}

static void watch_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct watch *w = arg;
  w->teardown = 1;
  w->cleanup = handle; /* watch_closed reports the end of the cleanup with it */
  watch_close(w);
}

/* close(): stop the handle; later calls do nothing. */
static napi_value watch_close_js(napi_env env, napi_callback_info info) {
  void *data;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  watch_close(data);
  return NULL;
}

static void watch_finalize(napi_env env, void *data, void *hint) {
  watch_unref(data);
}

/* Call `fn_ref` with argv from a libuv callback (the caller holds a handle scope). */
static void watch_call(struct watch *w, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = w->env;
  napi_value fn, global, result, exc;
  bool pending = false;
  if (w->closed || fn_ref == NULL) return;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  if (napi_get_global(env, &global) != napi_ok) return;
  if (napi_make_callback(env, w->actx, global, fn, argc, argv, &result) != napi_ok) {
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static void monitor_error(struct watch *w, int err, const char *what) {
  napi_handle_scope scope;
  napi_value e;
  if (w->closed || napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  e = errno_error(w->env, err, what);
  if (e != NULL) watch_call(w, w->on_error, 1, &e);
  napi_close_handle_scope(w->env, scope);
}

static void monitor_data(struct watch *w, size_t len) {
  napi_handle_scope scope;
  napi_value b;
  void *copy;
  if (w->closed || napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  if (napi_create_buffer_copy(w->env, len, w->buf, &copy, &b) == napi_ok) watch_call(w, w->on_data, 1, &b);
  napi_close_handle_scope(w->env, scope);
}

/* The kernel dropped notifications. What is still queued predates the re-dump the listener is
 * about to do; applied after that dump it could bring back an address that is gone: drop it. */
static void monitor_overrun(struct watch *w) {
  hk_rtnl_drain(w->fd, w->buf, MONITOR_BUF, DRAIN_MAX);
  monitor_error(w, ENOBUFS, "rtnetlink monitor: the kernel dropped messages (receive buffer overrun)");
}

static void monitor_readable(uv_poll_t *h, int status, int events) {
  struct watch *w = h->data;
  if (w->closed) return; /* a wake-up that raced close(): nothing to do */
  if (status < 0) {
    /* libuv reports EPOLLERR as UV_EBADF and stops the handle. On this socket EPOLLERR is the
     * pending socket error of an overrun (sk_err = ENOBUFS): fetch (and so clear) it with
     * SO_ERROR and poll again. Only a descriptor that is really bad stays stopped. */
    int soerr = 0, r;
    socklen_t sl = sizeof soerr;
    if (status != UV_EBADF || getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
      monitor_error(w, status != UV_EBADF ? -status : errno, "rtnetlink monitor: poll failed (stopped)");
      return;
    }
    if ((r = uv_poll_start(&w->h.poll, UV_READABLE, monitor_readable)) != 0) {
      monitor_error(w, -r, "rtnetlink monitor: cannot resume polling (stopped)");
      return;
    }
    if (soerr == ENOBUFS) monitor_overrun(w);
    else if (soerr != 0) monitor_error(w, soerr, "rtnetlink monitor: socket error");
  }
  for (int i = 0; i < MONITOR_BURST && !w->closed; i++) {
    size_t len = 0;
    int err = hk_rtnl_recv(w->fd, w->buf, MONITOR_BUF, &len);
    if (err == EAGAIN) break;
    if (err == EINTR) continue;
    if (err == ENOBUFS) {
      monitor_overrun(w);
      continue;
    }
    if (err != 0) {
      monitor_error(w, err, err == EMSGSIZE ? "rtnetlink monitor: a message did not fit the buffer"
                                            : "rtnetlink monitor: read failed");
      break; /* the poll fires again if the socket is still readable */
    }
    monitor_data(w, len);
  }
}

/* A new watch with its `{ close }` object; NULL (with a JS exception) on failure. */
static struct watch *watch_new(napi_env env, int kind, const char *resource, napi_value *handle) {
  struct watch *w = calloc(1, sizeof *w);
  napi_value name, res, fn;
  if (w == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  w->env = env;
  w->kind = kind;
  w->fd = -1;
  w->refs = 1; /* the close function, until the handle is initialised */
  if (napi_create_object(env, handle) != napi_ok || napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &res) != napi_ok || napi_async_init(env, res, name, &w->actx) != napi_ok ||
      napi_create_function(env, "close", NAPI_AUTO_LENGTH, watch_close_js, w, &fn) != napi_ok) {
    if (w->actx != NULL) napi_async_destroy(env, w->actx);
    free(w);
    return NULL;
  }
  if (napi_add_finalizer(env, fn, w, watch_finalize, NULL, NULL) != napi_ok) {
    napi_async_destroy(env, w->actx);
    free(w);
    return NULL;
  }
  /* From here on the finalizer owns the struct. */
  if (napi_set_named_property(env, *handle, "close", fn) != napi_ok) return NULL;
  return w;
}

/* The libuv handle is initialised: it becomes the second owner, and teardown closes it. */
static void watch_started(struct watch *w) {
  w->h.poll.data = w; /* both union members start with the uv_handle_t fields */
  w->refs++;
  napi_add_async_cleanup_hook(w->env, watch_teardown, w, &w->cleanup);
}

static int is_function(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

/* rtnlMonitor(onData(buf), onError(err), opts?: { rcvbuf?: number }): { close() } */
static napi_value rtnl_monitor(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle;
  uv_loop_t *loop;
  struct watch *w;
  int rcvbuf = 0, fd = -1, err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !is_function(env, argv[0]) || !is_function(env, argv[1])) {
    napi_throw_type_error(env, NULL, "rtnlMonitor(onData, onError, opts?) needs two callback functions");
    return NULL;
  }
  if (argc > 2 && !is_absent(env, argv[2])) {
    napi_value v;
    napi_valuetype t;
    double d;
    if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_object) {
      napi_throw_type_error(env, NULL, "rtnlMonitor: opts must be an object");
      return NULL;
    }
    CHECK(napi_get_named_property(env, argv[2], "rcvbuf", &v));
    if (!is_absent(env, v)) {
      if (napi_get_value_double(env, v, &d) != napi_ok || d < 1 || d > 1073741824 || d != (int)d) {
        napi_throw_range_error(env, NULL, "rtnlMonitor: rcvbuf must be an integer from 1 to 1073741824 (bytes)");
        return NULL;
      }
      rcvbuf = (int)d;
    }
  }
  CHECK(napi_get_uv_event_loop(env, &loop));
  err = hk_rtnl_monitor_open(rcvbuf, &fd);
  if (err != 0) {
    throw_errno(env, err, "rtnlMonitor: cannot open the rtnetlink socket");
    return NULL;
  }
  w = watch_new(env, W_MONITOR, "hakeep:rtnlMonitor", &handle);
  if (w == NULL) {
    close(fd);
    return NULL;
  }
  w->buf = malloc(MONITOR_BUF);
  if (w->buf == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "rtnlMonitor: out of memory");
    return NULL; /* the finalizer frees the struct */
  }
  if (napi_create_reference(env, argv[0], 1, &w->on_data) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &w->on_error) != napi_ok) {
    close(fd);
    return NULL;
  }
  if ((err = uv_poll_init(loop, &w->h.poll, fd)) != 0) {
    close(fd);
    throw_errno(env, -err, "rtnlMonitor: uv_poll_init");
    return NULL;
  }
  w->fd = fd;
  watch_started(w);
  if ((err = uv_poll_start(&w->h.poll, UV_READABLE, monitor_readable)) != 0) {
    watch_close(w);
    throw_errno(env, -err, "rtnlMonitor: uv_poll_start");
    return NULL;
  }
  return handle;
}

/* rtnlDump(): Buffer[] — every link, then every address, as the kernel's raw datagrams. */
static napi_value rtnl_dump(napi_env env, napi_callback_info info) {
  struct hk_dgrams d;
  const char *stage = "";
  char msg[160];
  napi_value out = NULL, b;
  void *copy;
  int err = hk_rtnl_dump(&d, &stage);
  if (err != 0) {
    snprintf(msg, sizeof msg, "rtnlDump: %s failed", stage);
    throw_errno(env, err, msg);
    return NULL;
  }
  if (napi_create_array_with_length(env, d.n, &out) != napi_ok) goto done;
  for (size_t i = 0; i < d.n; i++) {
    if (napi_create_buffer_copy(env, d.v[i].len, d.v[i].data, &copy, &b) != napi_ok ||
        napi_set_element(env, out, (uint32_t)i, b) != napi_ok) {
      out = NULL;
      break;
    }
  }
done:
  hk_dgrams_free(&d);
  return out;
}

static void signal_delivered(uv_signal_t *h, int signum) {
  struct watch *w = h->data;
  napi_handle_scope scope;
  napi_value n;
  if (w->closed || napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  if (napi_create_int32(w->env, signum, &n) == napi_ok) watch_call(w, w->on_data, 1, &n);
  napi_close_handle_scope(w->env, scope);
}

/* Signal number argument: an integer 1..NSIG-1; throws a RangeError otherwise. */
static int get_signum(napi_env env, napi_value v, const char *fn, int *out) {
  double d;
  char msg[128];
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 1 || d >= NSIG || d != (int)d) {
    snprintf(msg, sizeof msg, "%s: the signal must be a number from 1 to %d", fn, NSIG - 1);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  *out = (int)d;
  return 1;
}

/* signalWatch(signum, cb(signum)): { close() } — any signal, realtime ones included. Like
 * process.on('SIG…'), the watch does not keep the process alive on its own. */
static napi_value signal_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  uv_loop_t *loop;
  struct watch *w;
  struct sigaction old;
  int signum, err;
  char msg[96];

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !is_function(env, argv[1])) {
    napi_throw_type_error(env, NULL, "signalWatch(signum, cb) needs a signal number and a callback");
    return NULL;
  }
  if (!get_signum(env, argv[0], "signalWatch", &signum)) return NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  w = watch_new(env, W_SIGNAL, "hakeep:signalWatch", &handle);
  if (w == NULL) return NULL;
  w->signum = signum;
  if (sigaction(signum, NULL, &old) == 0) w->was_ignored = old.sa_handler == SIG_IGN;
  CHECK(napi_create_reference(env, argv[1], 1, &w->on_data));
  if ((err = uv_signal_init(loop, &w->h.sig)) != 0) {
    throw_errno(env, -err, "signalWatch: uv_signal_init");
    return NULL;
  }
  watch_started(w);
  if ((err = uv_signal_start(&w->h.sig, signal_delivered, signum)) != 0) {
    watch_close(w);
    snprintf(msg, sizeof msg, "signalWatch: cannot watch signal %d", signum);
    throw_errno(env, -err, msg);
    return NULL;
  }
  uv_unref((uv_handle_t *)&w->h.sig);
  return handle;
}

/* signalIgnore(signum): sigaction(SIG_IGN). */
static napi_value signal_ignore(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sigaction sa;
  int signum;
  char msg[96];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_signum(env, argv[0], "signalIgnore", &signum)) {
    if (argc < 1) napi_throw_type_error(env, NULL, "signalIgnore(signum) needs a signal number");
    return NULL;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(signum, &sa, NULL) != 0) {
    snprintf(msg, sizeof msg, "signalIgnore: cannot ignore signal %d", signum);
    throw_errno(env, errno, msg);
  }
  return NULL;
}

/* signalNumbers(): { SIGRTMIN, SIGRTMAX } as the C library reports them at run time. */
static napi_value signal_numbers(napi_env env, napi_callback_info info) {
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_int32(env, SIGRTMIN, &v));
  CHECK(napi_set_named_property(env, obj, "SIGRTMIN", v));
  CHECK(napi_create_int32(env, SIGRTMAX, &v));
  CHECK(napi_set_named_property(env, obj, "SIGRTMAX", v));
  return obj;
}

NAPI_MODULE_INIT() {
  hk_garp_prepare(); /* open the packet socket now so the first GARP does not pay for it */
  hk_netlink_prepare(); /* likewise the rtnetlink socket for the first VIP change */
  napi_property_descriptor props[] = {
    {"sendGarp", NULL, send_garp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sdNotify", NULL, sd_notify, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ifaceInfo", NULL, iface_info, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addrChange", NULL, addr_change, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addrChangeBatch", NULL, addr_change_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtnlMonitor", NULL, rtnl_monitor, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rtnlDump", NULL, rtnl_dump, NULL, NULL, NULL, napi_enumerable, NULL},
    {"signalWatch", NULL, signal_watch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"signalIgnore", NULL, signal_ignore, NULL, NULL, NULL, napi_enumerable, NULL},
    {"signalNumbers", NULL, signal_numbers, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (hk_checker_register(env, exports) != 0) return NULL; /* TCP probe, parent-death signal */
  if (hk_proc_events_register(env, exports) != 0) return NULL; /* vrrp_track_process */
  if (hk_icmp_register(env, exports) != 0) return NULL; /* PING_CHECK */
  if (hk_local_socket_register(env, exports) != 0) return NULL; /* status socket listener, syslog datagrams */
  if (hk_route_register(env, exports) != 0) return NULL; /* virtual/static routes and rules */
  if (hk_vmac_register(env, exports) != 0) return NULL; /* use_vmac */
  if (hk_pacer_register(env, exports) != 0) return NULL; /* adverts sent on time by their own thread */
  return exports;
}
