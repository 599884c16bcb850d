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

/* Open the shared AF_PACKET socket ahead of the first send; failures (no CAP_NET_RAW) are left
 * for hk_send_garp to report. */
void hk_garp_prepare(void);

/* Send `count` gratuitous ARP requests for `ipv4` (network byte order) on `ifname`.
 * `stage` is set to the step that failed ("socket", "ioctl", "sendto", …) on error. */
int hk_send_garp(const char *ifname, uint32_t ipv4, unsigned count, const char **stage);

/* Send `msg` as one datagram to the AF_UNIX socket `path` ('@' = abstract namespace). */
int hk_sd_notify(const char *path, const char *msg, size_t len, const char **stage);

#endif
