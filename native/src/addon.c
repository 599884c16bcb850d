/* Node-API wrappers (plain C, node_api.h only): argument checking and JS error objects around
 * the plain helpers in garp.c, sd-notify.c and netlink.c. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    default: return "EUNKNOWN";
  }
}

/* Throw `Error(message)` with `code` = errno name and `errno` = the number, like Node's own
 * system errors, so callers can branch on err.code. */
static void throw_errno(napi_env env, int err, const char *message) {
  napi_value msg, code, num, error;
  char full[512];
  snprintf(full, sizeof full, "%s: %s (%s)", message, strerror(err), errno_name(err));
  if (napi_create_string_utf8(env, full, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return;
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
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

NAPI_MODULE_INIT() {
  hk_garp_prepare(); /* open the packet socket now so the first GARP does not pay for it */
  hk_netlink_prepare(); /* likewise the rtnetlink socket for the first VIP change */
  napi_property_descriptor props[] = {
    {"sendGarp", NULL, send_garp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sdNotify", NULL, sd_notify, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ifaceInfo", NULL, iface_info, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addrChange", NULL, addr_change, NULL, NULL, NULL, napi_enumerable, NULL},
    {"addrChangeBatch", NULL, addr_change_batch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
