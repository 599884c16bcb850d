/* Gratuitous ARP over an AF_PACKET socket: the frame keepalived sends when it takes over a VIP
 * (broadcast ARP request, sender IP = target IP = VIP, target MAC all zero), so that switches
 * and neighbours update their tables at once. */
#define _GNU_SOURCE
#include "hakeep-native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* One socket serves every interface: the outgoing interface is chosen per frame with
 * sockaddr_ll.sll_ifindex. Protocol 0 means the kernel never queues received frames on it. */
static int packet_fd = -1;
/* A second, ordinary socket for the SIOCGIF* ioctls (works in every namespace). */
static int ioctl_fd = -1;

static int ensure_ioctl_fd(void) {
  if (ioctl_fd < 0) {
    ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ioctl_fd < 0) return errno;
  }
  return 0;
}

int hk_ifindex(const char *ifname, int *index) {
  struct ifreq ifr;
  int err;
  if (strlen(ifname) >= IFNAMSIZ) return ENAMETOOLONG;
  if ((err = ensure_ioctl_fd()) != 0) return err;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(ioctl_fd, SIOCGIFINDEX, &ifr) < 0) return errno;
  *index = ifr.ifr_ifindex;
  return 0;
}

int hk_iface_info(const char *ifname, struct hk_iface *out) {
  struct ifreq ifr;
  int err;
  if (strlen(ifname) >= IFNAMSIZ) return ENAMETOOLONG;
  if ((err = ensure_ioctl_fd()) != 0) return err;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(ioctl_fd, SIOCGIFINDEX, &ifr) < 0) return errno;
  out->index = ifr.ifr_ifindex;
  if (ioctl(ioctl_fd, SIOCGIFHWADDR, &ifr) < 0) return errno;
  out->hw_type = ifr.ifr_hwaddr.sa_family;
  memcpy(out->mac, ifr.ifr_hwaddr.sa_data, HK_MAC_LEN);
  return 0;
}

/* ARP over Ethernet, RFC 826; padded to the 60-byte Ethernet minimum so that no driver has to. */
struct __attribute__((packed)) garp_frame {
  uint8_t eth_dst[6];
  uint8_t eth_src[6];
  uint16_t eth_type;
  uint16_t htype;
  uint16_t ptype;
  uint8_t hlen;
  uint8_t plen;
  uint16_t oper;
  uint8_t sha[6];
  uint32_t spa;
  uint8_t tha[6];
  uint32_t tpa;
  uint8_t pad[18];
};

void hk_garp_prepare(void) {
  if (packet_fd < 0) packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  ensure_ioctl_fd();
}

int hk_send_garp(const char *ifname, uint32_t ipv4, unsigned count, const char **stage) {
  struct hk_iface info;
  struct garp_frame f;
  struct sockaddr_ll to;
  int err;

  *stage = "interface lookup";
  if ((err = hk_iface_info(ifname, &info)) != 0) return err;
  *stage = "interface type";
  if (info.hw_type != ARPHRD_ETHER) return EPFNOSUPPORT;

  *stage = "socket(AF_PACKET)";
  if (packet_fd < 0 && (packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0) return errno;

  memset(&f, 0, sizeof f);
  memset(f.eth_dst, 0xff, 6);
  memcpy(f.eth_src, info.mac, 6);
  f.eth_type = htons(ETH_P_ARP);
  f.htype = htons(ARPHRD_ETHER);
  f.ptype = htons(ETH_P_IP);
  f.hlen = 6;
  f.plen = 4;
  f.oper = htons(ARPOP_REQUEST);
  memcpy(f.sha, info.mac, 6);
  f.spa = ipv4;
  f.tpa = ipv4;

  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = info.index;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);

  *stage = "sendto";
  for (unsigned i = 0; i < count; i++) {
    ssize_t n = sendto(packet_fd, &f, sizeof f, 0, (struct sockaddr *)&to, sizeof to);
    if (n < 0) {
      err = errno;
      /* A broken socket is replaced on the next call rather than failing forever. */
      if (err == EBADF || err == ENOTSOCK) {
        close(packet_fd);
        packet_fd = -1;
      }
      return err;
    }
  }
  return 0;
}
