/* Routes and policy rules over rtnetlink (virtual_routes, virtual_rules, static_routes,
 * static_rules). Registers its functions on `exports`.
 *
 * The messages are built in TypeScript (src/net/route-model.ts, pure and unit-tested); this file
 * only checks that each is a route or rule request of the length it claims, numbers it, sends
 * them in one datagram on a NETLINK_ROUTE socket of its own and reads back one ACK per request
 * (the same way netlink.c does for addresses). Each result says errno (0 = done), the stage that
 * failed (open, send, ack) and the kernel's extended-ACK text when it gave one.
 *
 *   rtnlRequests(messages: Buffer[]): { errno: number, stage: string, message: string }[]
 */
#define _GNU_SOURCE
#include <node_api.h>
#include "hakeep-native.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


#define MAX_REQS 256
#define MAX_MSG 1024
#define SEND_SPACE (64 * 1024)

struct rt_req {
  const char *data; /* points into the JS Buffer, valid during the call */
  size_t len;
  uint32_t seq;     /* 0 = not sent */
  int err;          /* -1 = waiting for its ACK */
  const char *stage;
  char msg[160];
};

static int rt_fd = -1;
static uint32_t rt_seq;

static void rt_close(void) {
  if (rt_fd >= 0) close(rt_fd);
  rt_fd = -1;
}

static int rt_open(void) {
  int err;
  if (rt_fd >= 0) return 0;
  if ((err = hk_nl_route_socket(5, &rt_fd)) != 0) {
    rt_fd = -1;
    return err;
  }
  if (rt_seq == 0) rt_seq = ((uint32_t)getpid() << 12) ^ 0x80000000u;
  return 0;
}

static void fail_waiting(struct rt_req *r, size_t n, int err, const char *stage) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (r[i].err == -1) {
      r[i].err = err;
      r[i].stage = stage;
    }
  }
}

/* Send requests [0, n) in one datagram (the caller keeps it under SEND_SPACE) and read one ACK each. */
static void rt_run(struct rt_req *r, size_t n) {
  static char sbuf[SEND_SPACE];
  static char rbuf[65536];
  size_t len = 0, pending = 0, i;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

  for (i = 0; i < n; i++) {
    struct nlmsghdr *h = (struct nlmsghdr *)(sbuf + len);
    memcpy(sbuf + len, r[i].data, r[i].len);
    if (++rt_seq == 0) rt_seq = 1;
    r[i].seq = rt_seq;
    r[i].err = -1;
    h->nlmsg_seq = rt_seq;
    h->nlmsg_pid = 0;
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    len += NLMSG_ALIGN(r[i].len);
    pending++;
  }
  for (;;) {
    if (sendto(rt_fd, sbuf, len, 0, (struct sockaddr *)&kernel, sizeof kernel) >= 0) break;
    if (errno == EINTR) continue;
    fail_waiting(r, n, errno, "send");
    rt_close();
    return;
  }
  while (pending > 0) {
    ssize_t got = recv(rt_fd, rbuf, sizeof rbuf, 0);
    struct nlmsghdr *h;
    int left;
    if (got < 0) {
      if (errno == EINTR) continue;
      fail_waiting(r, n, errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno, "ack");
      rt_close(); /* late ACKs must not answer the next call */
      return;
    }
    left = (int)got;
    for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      const struct nlmsgerr *e;
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      e = NLMSG_DATA(h);
      for (i = 0; i < n; i++) {
        if (r[i].seq == h->nlmsg_seq && r[i].err == -1) {
          r[i].err = -e->error;
          r[i].stage = e->error != 0 ? "ack" : "";
          if (e->error != 0) hk_nl_ext_ack_text(h, r[i].msg, sizeof r[i].msg);
          pending--;
          break;
        }
      }
    }
  }
}

static int is_route_or_rule(uint16_t type) {
  return type == RTM_NEWROUTE || type == RTM_DELROUTE || type == RTM_NEWRULE || type == RTM_DELRULE;
}

static napi_value rtnl_requests(napi_env env, napi_callback_info info) {
  size_t argc = 1, i, start;
  napi_value argv[1], out;
  uint32_t n;
  bool is_array;
  static struct rt_req reqs[MAX_REQS];
  char why[160];
  int err;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "rtnlRequests(messages) needs an array of Buffers");
    return NULL;
  }
  if (napi_get_array_length(env, argv[0], &n) != napi_ok) return NULL;
  if (n > MAX_REQS) {
    snprintf(why, sizeof why, "rtnlRequests: at most %d messages per call, not %u", MAX_REQS, n);
    napi_throw_range_error(env, NULL, why);
    return NULL;
  }
  for (i = 0; i < n; i++) {
    napi_value el;
    bool is_buf;
    void *data;
    size_t len;
    const struct nlmsghdr *h;
    if (napi_get_element(env, argv[0], (uint32_t)i, &el) != napi_ok) return NULL;
    if (napi_is_buffer(env, el, &is_buf) != napi_ok || !is_buf ||
        napi_get_buffer_info(env, el, &data, &len) != napi_ok) {
      snprintf(why, sizeof why, "rtnlRequests: message %zu is not a Buffer", i);
      napi_throw_type_error(env, NULL, why);
      return NULL;
    }
    h = (const struct nlmsghdr *)data;
    if (len < NLMSG_LENGTH(sizeof(struct rtmsg)) || len > MAX_MSG || h->nlmsg_len != len || !is_route_or_rule(h->nlmsg_type)) {
      snprintf(why, sizeof why, "rtnlRequests: message %zu is not a route/rule request of its stated length (%zu bytes)", i, len);
      napi_throw_range_error(env, NULL, why);
      return NULL;
    }
    memset(&reqs[i], 0, sizeof reqs[i]);
    reqs[i].data = data;
    reqs[i].len = len;
    reqs[i].stage = "";
  }

  err = rt_open();
  if (err != 0) {
    for (i = 0; i < n; i++) {
      reqs[i].err = err;
      reqs[i].stage = "open";
    }
  } else {
    for (start = 0; start < n;) {
      size_t end = start, bytes = 0;
      while (end < n && bytes + NLMSG_ALIGN(reqs[end].len) <= SEND_SPACE) bytes += NLMSG_ALIGN(reqs[end++].len);
      if (rt_fd < 0 && (err = rt_open()) != 0) {
        for (i = start; i < n; i++) {
          reqs[i].err = err;
          reqs[i].stage = "open";
        }
        break;
      }
      rt_run(reqs + start, end - start);
      start = end;
    }
  }

  if (napi_create_array_with_length(env, n, &out) != napi_ok) return NULL;
  for (i = 0; i < n; i++) {
    napi_value o, v;
    if (napi_create_object(env, &o) != napi_ok) return NULL;
    if (napi_create_int32(env, reqs[i].err, &v) != napi_ok || napi_set_named_property(env, o, "errno", v) != napi_ok) return NULL;
    if (napi_create_string_utf8(env, reqs[i].stage, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, o, "stage", v) != napi_ok) return NULL;
    if (napi_create_string_utf8(env, reqs[i].msg, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, o, "message", v) != napi_ok) return NULL;
    if (napi_set_element(env, out, (uint32_t)i, o) != napi_ok) return NULL;
  }
  return out;
}

int hk_route_register(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "rtnlRequests", NAPI_AUTO_LENGTH, rtnl_requests, NULL, &fn) != napi_ok) return -1;
  if (napi_set_named_property(env, exports, "rtnlRequests", fn) != napi_ok) return -1;
  return 0;
}
