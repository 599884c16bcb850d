/* Plain-C helpers behind the Node-API wrappers in addon.c. Every function returns 0 on success
 * or a positive errno value, and never touches JavaScript values, so it can be read and tested
 * on its own. */
#ifndef HAKEEP_NATIVE_H
#define HAKEEP_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#define HK_MAC_LEN 6

struct hk_iface {
  int index;
  unsigned short hw_type; /* ARPHRD_* */
  uint8_t mac[HK_MAC_LEN];
};

/* Index, hardware type and MAC of an interface in the current network namespace. */
int hk_iface_info(const char *ifname, struct hk_iface *out);

/* Index of an interface in the current network namespace (ENODEV when there is none). */
int hk_ifindex(const char *ifname, int *index);

/* Open the shared AF_PACKET socket ahead of the first send; failures (no CAP_NET_RAW) are left
 * for hk_send_garp to report. */
void hk_garp_prepare(void);

/* Send `count` gratuitous ARP requests for `ipv4` (network byte order) on `ifname`.
 * `stage` is set to the step that failed ("socket", "ioctl", "sendto", …) on error. */
int hk_send_garp(const char *ifname, uint32_t ipv4, unsigned count, const char **stage);

/* Send `msg` as one datagram to the AF_UNIX socket `path` ('@' = abstract namespace). */
int hk_sd_notify(const char *path, const char *msg, size_t len, const char **stage);

/* Options of an address change, as `ip address add … [brd B] [scope S] [label L] [peer P]
 * [nodad] [noprefixroute]`. NULL strings and scope -1 mean "not given". */
struct hk_addr_opts {
  const char *brd; /* dotted quad, or "+" / "-" for the computed broadcast / network address */
  int scope;       /* RT_SCOPE_* 0-255, -1 = as ip: host for 127/8, else global */
  const char *label;
  const char *peer;
  int nodad;
  int noprefixroute;
};

/* One RTM_NEWADDR/RTM_DELADDR request and, after hk_addr_apply, its outcome. */
struct hk_addr_req {
  int del;
  char ifname[16];
  int ifindex;
  uint8_t family; /* AF_INET / AF_INET6 */
  uint8_t prefixlen;
  int scope;
  uint32_t flags; /* IFA_F_* */
  uint8_t local[16];
  uint8_t peer[16];
  int has_peer;
  uint8_t brd[4];
  int has_brd;
  char label[16];
  uint32_t seq;
  int err;        /* out: 0 or a positive errno (EEXIST on add / EADDRNOTAVAIL on del: already so) */
  char msg[160];  /* out: the kernel's extended-ACK text for a failure, "" when it gave none */
};

/* Parse and check one request (family 4 or 6); on EINVAL `why` says what is wrong. */
int hk_addr_req_init(struct hk_addr_req *r, int del, const char *ifname, int family, const char *address,
                     int prefixlen, const struct hk_addr_opts *o, char *why, size_t why_size);

/* Send all requests over one NETLINK_ROUTE socket (one sendmsg per 64) and read their ACKs;
 * each request gets its own err. Returns non-zero only when no socket could be opened. */
int hk_addr_apply(struct hk_addr_req *reqs, size_t n);

/* Open the rtnetlink socket ahead of the first change. */
void hk_netlink_prepare(void);

/* Shared by every rtnetlink requester (netlink.c, route.c, vmac.c): a NETLINK_ROUTE socket with
 * short ACKs, the kernel's error text and a receive timeout (0 or a positive errno), and that
 * text copied out of an NLMSG_ERROR answer ("" when the kernel gave none). */
struct nlmsghdr;
int hk_nl_route_socket(int timeout_s, int *fd_out);
void hk_nl_ext_ack_text(const struct nlmsghdr *h, char *out, size_t size);

/* ---- kernel event feed (rtnl-monitor.c) ---- */

/* Open the event socket: NETLINK_ROUTE, non-blocking, bound to RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
 * RTMGRP_IPV6_IFADDR. rcvbuf > 0 sets its receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF). */
int hk_rtnl_monitor_open(int rcvbuf, int *fd);

/* Read one datagram sent by the kernel into buf: 0 with *len, EAGAIN when none is queued,
 * ENOBUFS when the kernel dropped messages for lack of room (the socket stays usable),
 * EMSGSIZE when one did not fit (it is consumed), or another errno. */
int hk_rtnl_recv(int fd, void *buf, size_t size, size_t *len);

/* Read and discard queued datagrams (at most `max`) until none is left; returns how many. */
size_t hk_rtnl_drain(int fd, void *buf, size_t size, size_t max);

struct hk_dgram {
  char *data;
  size_t len;
};

struct hk_dgrams {
  struct hk_dgram *v;
  size_t n, cap;
};

/* On a short-lived socket: dump every link (RTM_GETLINK), then every address (RTM_GETADDR,
 * IPv4 and IPv6), each up to its NLMSG_DONE, and hand back the raw datagrams in order. A dump
 * the kernel flags NLM_F_DUMP_INTR is repeated (5 tries, then EINTR); 2 s without an answer is
 * ETIMEDOUT. On error `out` is empty and `stage` names the step. Free with hk_dgrams_free. */
int hk_rtnl_dump(struct hk_dgrams *out, const char **stage);
void hk_dgrams_free(struct hk_dgrams *d);

/* ---- checker child (checker.c) ----
 * The one exception to "never touches JavaScript values": the TCP probe calls back into JS from
 * libuv, so it registers its own Node-API functions (tcpConnect, tcpConnectAbort,
 * setParentDeathSignal) on `exports`. The types are Node-API's napi_env / napi_value, spelled
 * out here so this header does not need node_api.h. Returns 0 or a positive errno. */
struct napi_env__;
struct napi_value__;
int hk_checker_register(struct napi_env__ *env, struct napi_value__ *exports);

/* ---- process events connector (proc-events.c), for vrrp_track_process ----
 * Registers procEvents on `exports` (like the checker, it calls into JS from libuv). */
struct napi_env__;
struct napi_value__;
int hk_proc_events_open(int rcvbuf, int *fd_out);
int hk_proc_events_register(struct napi_env__ *env, struct napi_value__ *exports);

/* icmpEcho / icmpEchoAbort (icmp.c): PING_CHECK's echo requests. */
int hk_icmp_register(struct napi_env__ *env, struct napi_value__ *exports);

/* credListen / unixDgram (local-socket.c): the status socket's listener with the peer's
 * credentials, and syslog's datagram socket. The two plain helpers return 0 or an errno, with
 * `stage` naming the step that failed. */
int hk_unix_listen(const char *path, unsigned mode, int *fd_out, const char **stage);
int hk_unix_dgram_connect(const char *path, int *fd_out, const char **stage);
int hk_local_socket_register(struct napi_env__ *env, struct napi_value__ *exports);

/* route.c: routes and rules (virtual_/static_ routes and rules). */
int hk_route_register(struct napi_env__ *env, struct napi_value__ *exports);

/* vmac.c: use_vmac's macvlan interface. */
int hk_vmac_register(struct napi_env__ *env, struct napi_value__ *exports);

/* advert-pacer.c: the next periodic advert of each master, sent at its due time by its own thread. */
int hk_pacer_register(struct napi_env__ *env, struct napi_value__ *exports);

#endif
