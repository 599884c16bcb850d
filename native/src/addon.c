/* Node-API wrappers (plain C, node_api.h only): argument checking and JS error objects around
 * the plain helpers in garp.c and sd-notify.c. */
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

NAPI_MODULE_INIT() {
  hk_garp_prepare(); /* open the packet socket now so the first GARP does not pay for it */
  napi_property_descriptor props[] = {
    {"sendGarp", NULL, send_garp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sdNotify", NULL, sd_notify, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ifaceInfo", NULL, iface_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
