/* use_vmac: the macvlan interface carrying the VRRP virtual MAC 00:00:5e:00:01:VRID, created and
 * removed over rtnetlink. Registers its functions on `exports`:
 *   vmacLink(name)                        -> null | { ifindex, kind, mode, link, mac, up }
 *   vmacCreate(name, baseIfindex, mac, updateIfindex) -> ifindex
 *       updateIfindex 0: RTM_NEWLINK CREATE|EXCL of a private macvlan on baseIfindex with `mac`;
 *       otherwise: set the mode and MAC of that existing link. Then IPv6 address generation off
 *       (IN6_ADDR_GEN_MODE_NONE: no EUI-64 link-local from the virtual MAC, RFC 5798 §7.4)
 *       and the link set up.
 *   vmacDelete(ifindex)                   -> undefined (RTM_DELLINK)
 * Each request is sent on its own short-lived NETLINK_ROUTE socket and its ACK read back; a
 * failure throws an Error with `code` (errno name), `errno` and `stage`, and the kernel's
 * extended-ACK text when it gave one. */
#define _GNU_SOURCE
#include <node_api.h>
#include "hakeep-native.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IFLA_INET6_ADDR_GEN_MODE
#define IFLA_INET6_ADDR_GEN_MODE 8
#endif
#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif

#define VM_BUF 16384

struct vm_req {
  struct nlmsghdr n;
  struct ifinfomsg ifi;
  char attrs[512];
};

static struct rtattr *vm_put(struct nlmsghdr *n, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len > 0) memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void vm_end(struct nlmsghdr *n, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)n + NLMSG_ALIGN(n->nlmsg_len) - (char *)nest);
}

/* Send one request and read its answer. With `reply` (RTM_GETLINK) the RTM_NEWLINK answer is
 * copied there. Returns 0 or a positive errno; `kmsg` gets the kernel's text for a failure. */
static int vm_talk(struct nlmsghdr *req, char *reply, size_t reply_size, char *kmsg, size_t kmsg_size) {
  static uint32_t seq;
  static char buf[32768];
  int fd, err = 0, done = 0;
  struct sockaddr_nl sa;
  kmsg[0] = '\0';
  if ((err = hk_nl_route_socket(2, &fd)) != 0) return err;
  if (seq == 0) seq = (uint32_t)getpid() << 8;
  req->nlmsg_seq = ++seq;
  req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
    err = errno;
    close(fd);
    return err;
  }
  /* At most a few datagrams: the answer (for a get) and the ACK. */
  for (int round = 0; round < 8 && !done; round++) {
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    int left;
    struct nlmsghdr *h;
    if (got < 0) {
      err = errno == EAGAIN ? ETIMEDOUT : errno;
      break;
    }
    left = (int)got;
    for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != req->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        err = -e->error;
        if (err != 0) hk_nl_ext_ack_text(h, kmsg, kmsg_size);
        done = 1;
        break;
      }
      if (h->nlmsg_type == RTM_NEWLINK && reply != NULL && h->nlmsg_len <= reply_size) memcpy(reply, h, h->nlmsg_len);
    }
  }
  if (!done && err == 0) err = ETIMEDOUT;
  close(fd);
  return err;
}

static napi_value vm_throw(napi_env env, int err, const char *stage, const char *what, const char *kmsg) {
  char msg[384];
  napi_value code, text, error, num, st;
  snprintf(msg, sizeof msg, "%s: %s (%s)%s%s", what, kmsg[0] ? kmsg : strerror(err), stage,
           kmsg[0] ? ", " : "", kmsg[0] ? strerror(err) : "");
  if (napi_create_string_utf8(env, err == EEXIST ? "EEXIST" : err == ENODEV ? "ENODEV" : err == EPERM ? "EPERM"
                              : err == EOPNOTSUPP ? "EOPNOTSUPP" : err == EINVAL ? "EINVAL" : err == EBUSY ? "EBUSY"
                              : err == ETIMEDOUT ? "ETIMEDOUT" : "EVMAC", NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok) return NULL;
  if (napi_create_error(env, code, text, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, stage, NAPI_AUTO_LENGTH, &st) == napi_ok) napi_set_named_property(env, error, "stage", st);
  napi_throw(env, error);
  return NULL;
}

static int vm_arg_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0 || len + 1 > size) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

static int vm_parse_mac(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  char tail;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return 0;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
  return 1;
}

static void vm_set_prop_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x;
  if (napi_create_int64(env, v, &x) == napi_ok) napi_set_named_property(env, obj, name, x);
}

static void vm_set_prop_str(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value x;
  if (s == NULL) napi_get_null(env, &x);
  else if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &x) != napi_ok) return;
  napi_set_named_property(env, obj, name, x);
}

/* vmacLink(name): what the kernel has under this name, or null. */
static napi_value vmac_link(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  char name[IFNAMSIZ + 1], kmsg[160], kind[32] = "", macs[18] = "";
  struct vm_req req;
  static char reply[VM_BUF];
  struct nlmsghdr *h = (struct nlmsghdr *)reply;
  struct ifinfomsg *ifi;
  struct rtattr *a;
  int left, err, mode = -1, link = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || !vm_arg_string(env, argv[0], name, sizeof name) || strlen(name) >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "vmacLink(name) needs an interface name of 1-15 characters");
    return NULL;
  }
  memset(&req, 0, sizeof req);
  memset(reply, 0, sizeof reply);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.n.nlmsg_type = RTM_GETLINK;
  req.ifi.ifi_family = AF_UNSPEC;
  vm_put(&req.n, IFLA_IFNAME, name, strlen(name) + 1);
  err = vm_talk(&req.n, reply, sizeof reply, kmsg, sizeof kmsg);
  if (err == ENODEV) {
    napi_get_null(env, &out);
    return out;
  }
  if (err != 0) return vm_throw(env, err, "RTM_GETLINK", name, kmsg);
  if (h->nlmsg_type != RTM_NEWLINK) return vm_throw(env, EPROTO, "RTM_GETLINK answer", name, "");
  ifi = NLMSG_DATA(h);
  left = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
  for (a = IFLA_RTA(ifi); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= 4) memcpy(&link, RTA_DATA(a), 4);
    else if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
      const uint8_t *m = RTA_DATA(a);
      snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    } else if (a->rta_type == IFLA_LINKINFO) {
      struct rtattr *b;
      int l2 = (int)RTA_PAYLOAD(a);
      for (b = RTA_DATA(a); RTA_OK(b, l2); b = RTA_NEXT(b, l2)) {
        if (b->rta_type == IFLA_INFO_KIND) {
          size_t k = strnlen(RTA_DATA(b), RTA_PAYLOAD(b));
          if (k >= sizeof kind) k = sizeof kind - 1;
          memcpy(kind, RTA_DATA(b), k);
          kind[k] = '\0';
        } else if (b->rta_type == IFLA_INFO_DATA) {
          struct rtattr *c;
          int l3 = (int)RTA_PAYLOAD(b);
          for (c = RTA_DATA(b); RTA_OK(c, l3); c = RTA_NEXT(c, l3)) {
            if (c->rta_type == IFLA_MACVLAN_MODE && RTA_PAYLOAD(c) >= 4) {
              uint32_t m;
              memcpy(&m, RTA_DATA(c), 4);
              mode = (int)m;
            }
          }
        }
      }
    }
  }
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  vm_set_prop_int(env, out, "ifindex", ifi->ifi_index);
  vm_set_prop_str(env, out, "kind", kind[0] ? kind : NULL);
  vm_set_prop_int(env, out, "mode", mode);
  vm_set_prop_int(env, out, "link", link);
  vm_set_prop_str(env, out, "mac", macs[0] ? macs : NULL);
  {
    napi_value up;
    napi_get_boolean(env, (ifi->ifi_flags & IFF_UP) != 0, &up);
    napi_set_named_property(env, out, "up", up);
  }
  return out;
}

/* vmacCreate(name, baseIfindex, mac, updateIfindex): the ifindex of the vmac, set up. */
static napi_value vmac_create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  char name[IFNAMSIZ + 1], macs[32], kmsg[160];
  static char reply[VM_BUF];
  uint8_t mac[6];
  int32_t base = 0, update = 0;
  uint32_t mode = MACVLAN_MODE_PRIVATE;
  struct vm_req req;
  struct rtattr *linkinfo, *data, *spec, *af;
  uint8_t gen = IN6_ADDR_GEN_MODE_NONE;
  int err, ifindex;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4 || !vm_arg_string(env, argv[0], name, sizeof name) || strlen(name) >= IFNAMSIZ
      || napi_get_value_int32(env, argv[1], &base) != napi_ok || !vm_arg_string(env, argv[2], macs, sizeof macs)
      || !vm_parse_mac(macs, mac) || napi_get_value_int32(env, argv[3], &update) != napi_ok || (update == 0 && base <= 0)) {
    napi_throw_type_error(env, NULL, "vmacCreate(name, baseIfindex, 'aa:bb:cc:dd:ee:ff', updateIfindex)");
    return NULL;
  }
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.n.nlmsg_type = RTM_NEWLINK;
  req.n.nlmsg_flags = update == 0 ? NLM_F_CREATE | NLM_F_EXCL : 0;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = update;
  linkinfo = vm_put(&req.n, IFLA_LINKINFO, NULL, 0);
  vm_put(&req.n, IFLA_INFO_KIND, "macvlan", strlen("macvlan"));
  data = vm_put(&req.n, IFLA_INFO_DATA, NULL, 0);
  vm_put(&req.n, IFLA_MACVLAN_MODE, &mode, sizeof mode);
  vm_end(&req.n, data);
  vm_end(&req.n, linkinfo);
  if (update == 0) {
    vm_put(&req.n, IFLA_LINK, &base, sizeof base);
    vm_put(&req.n, IFLA_IFNAME, name, strlen(name) + 1);
  }
  vm_put(&req.n, IFLA_ADDRESS, mac, sizeof mac);
  err = vm_talk(&req.n, NULL, 0, kmsg, sizeof kmsg);
  if (err != 0) return vm_throw(env, err, update == 0 ? "RTM_NEWLINK create macvlan" : "RTM_NEWLINK update macvlan", name, kmsg);

  ifindex = update;
  if (ifindex == 0) {
    /* The new link's index, by name. */
    memset(&req, 0, sizeof req);
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
    req.n.nlmsg_type = RTM_GETLINK;
    req.ifi.ifi_family = AF_UNSPEC;
    vm_put(&req.n, IFLA_IFNAME, name, strlen(name) + 1);
    memset(reply, 0, sizeof reply);
    err = vm_talk(&req.n, reply, sizeof reply, kmsg, sizeof kmsg);
    if (err != 0) return vm_throw(env, err, "RTM_GETLINK after create", name, kmsg);
    ifindex = ((struct ifinfomsg *)NLMSG_DATA((struct nlmsghdr *)reply))->ifi_index;
  }

  /* No address generated from the virtual MAC (a separate request: the kernel does not read
   * IFLA_AF_SPEC when it creates a link). A kernel without IPv6 refuses: not an error for us. */
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.n.nlmsg_type = RTM_NEWLINK;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  spec = vm_put(&req.n, IFLA_AF_SPEC, NULL, 0);
  af = vm_put(&req.n, AF_INET6, NULL, 0);
  vm_put(&req.n, IFLA_INET6_ADDR_GEN_MODE, &gen, sizeof gen);
  vm_end(&req.n, af);
  vm_end(&req.n, spec);
  err = vm_talk(&req.n, NULL, 0, kmsg, sizeof kmsg);
  if (err != 0 && err != EAFNOSUPPORT && err != EOPNOTSUPP) return vm_throw(env, err, "RTM_NEWLINK addr_gen_mode none", name, kmsg);

  /* Up. */
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.n.nlmsg_type = RTM_NEWLINK;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  req.ifi.ifi_flags = IFF_UP;
  req.ifi.ifi_change = IFF_UP;
  err = vm_talk(&req.n, NULL, 0, kmsg, sizeof kmsg);
  if (err != 0) return vm_throw(env, err, "RTM_NEWLINK set up", name, kmsg);
  if (napi_create_int32(env, ifindex, &out) != napi_ok) return NULL;
  return out;
}

/* vmacDelete(ifindex) */
static napi_value vmac_delete(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t ifindex = 0;
  char kmsg[160], what[32];
  struct vm_req req;
  int err;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &ifindex) != napi_ok || ifindex <= 0) {
    napi_throw_type_error(env, NULL, "vmacDelete(ifindex) needs an interface index");
    return NULL;
  }
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.n.nlmsg_type = RTM_DELLINK;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  err = vm_talk(&req.n, NULL, 0, kmsg, sizeof kmsg);
  snprintf(what, sizeof what, "ifindex %d", (int)ifindex);
  if (err != 0) return vm_throw(env, err, "RTM_DELLINK", what, kmsg);
  napi_get_undefined(env, &out);
  return out;
}

int hk_vmac_register(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    {"vmacLink", vmac_link}, {"vmacCreate", vmac_create}, {"vmacDelete", vmac_delete},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return EINVAL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return EINVAL;
  }
  return 0;
}
