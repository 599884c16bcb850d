// use_vmac, the pure part: the VMAC's name and MAC, what to do with an interface that already
// has that name, and the sysctls keepalived sets (vrrp_vmac.c, vrrp_if_config.c). No I/O here;
// src/net/vmac.ts carries it out.

/** RFC 3768 §7.3: the IPv4 VRRP virtual router MAC 00:00:5e:00:01:VRID, lower case. */
export function vmacAddress(vrid: number): string {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`VRID ${vrid} is not 1-255`);
  return `00:00:5e:00:01:${vrid.toString(16).padStart(2, '0')}`;
}

/** keepalived's default VMAC name (create_vmac_name with vmac_prefix "vrrp"): vrrp.VRID. */
export function vmacDefaultName(vrid: number): string {
  return `vrrp.${vrid}`;
}

/** What the kernel says about the link with the VMAC's name (the addon's vmacLink). */
export interface ExistingLink {
  ifindex: number;
  /** IFLA_INFO_KIND ('macvlan', 'veth' …), null for a link without one (a physical NIC). */
  kind: string | null;
  /** IFLA_MACVLAN_MODE (1 private, 2 vepa, 4 bridge, 8 passthru), -1 when not a macvlan. */
  mode: number;
  /** IFLA_LINK: the lower device's index (0 = none). */
  link: number;
  mac: string | null;
}

export const MACVLAN_MODE_PRIVATE = 1;

export type VmacDecision =
  | { action: 'create' }
  /** A VMAC left by an earlier run (SIGKILL, crash) that is exactly what we want: used as it is. */
  | { action: 'adopt'; ifindex: number }
  /** On the right base but with the wrong MAC or mode: changed in place (keepalived: "Update old VMAC interface"). */
  | { action: 'update'; ifindex: number; why: string }
  /** A macvlan on another base: deleted, then created (keepalived: "Removing old VMAC interface … conflicting interface"). */
  | { action: 'recreate'; ifindex: number; why: string }
  /** Not a macvlan: never touched (keepalived: "VMAC … conflicts with existing interface"). */
  | { action: 'refuse'; why: string };

/** keepalived's order (netlink_link_add_vmac): a foreign macvlan is replaced, anything else that is not a macvlan is refused. */
export function decideVmac(existing: ExistingLink | null, want: { name: string; baseIfindex: number; mac: string }): VmacDecision {
  if (existing === null) return { action: 'create' };
  if (existing.kind !== 'macvlan') {
    const what = existing.kind === null ? 'an interface that is not a macvlan' : `a ${existing.kind} interface`;
    return { action: 'refuse', why: `${want.name} already exists and is ${what}: hakeep does not touch it (keepalived: "VMAC ${want.name} conflicts with existing interface"). Rename or delete that interface, or give use_vmac another name` };
  }
  if (existing.link !== want.baseIfindex) {
    return { action: 'recreate', ifindex: existing.ifindex, why: `${want.name} is a macvlan on another interface (ifindex ${existing.link}, want ${want.baseIfindex})` };
  }
  const wrong: string[] = [];
  if ((existing.mac ?? '').toLowerCase() !== want.mac) wrong.push(`MAC ${existing.mac ?? 'none'} (want ${want.mac})`);
  if (existing.mode !== MACVLAN_MODE_PRIVATE) wrong.push(`mode ${existing.mode} (want private)`);
  if (wrong.length > 0) return { action: 'update', ifindex: existing.ifindex, why: wrong.join(', ') };
  return { action: 'adopt', ifindex: existing.ifindex };
}

export interface SysctlWrite {
  path: string;
  value: number;
}

/**
 * The per-interface settings keepalived makes for an IPv4 VMAC (vrrp_if_config.c vmac_sysctl and
 * parent_sysctl): on the VMAC, answer ARP only for its own addresses, accept packets from local
 * sources, no reverse-path filter, promote secondaries; IPv6 off (no IPv6 eVIPs: hakeep runs
 * IPv4 instances only). On the base, arp_ignore 1 and arp_filter 1 so the base does not answer
 * ARP for the VIPs with its own MAC, and (hakeep's addition) arp_announce 2 so it never asks with
 * a VIP as sender; those three are restored on stop.
 */
export function vmacSysctls(vmac: string, base: string): { vmac: SysctlWrite[]; base: SysctlWrite[] } {
  const v4 = (ifname: string, key: string): string => `/proc/sys/net/ipv4/conf/${ifname}/${key}`;
  return {
    vmac: [
      { path: v4(vmac, 'arp_ignore'), value: 1 },
      { path: v4(vmac, 'accept_local'), value: 1 },
      { path: v4(vmac, 'rp_filter'), value: 0 },
      { path: v4(vmac, 'promote_secondaries'), value: 1 },
      { path: `/proc/sys/net/ipv6/conf/${vmac}/disable_ipv6`, value: 1 },
    ],
    base: [
      { path: v4(base, 'arp_ignore'), value: 1 },
      { path: v4(base, 'arp_filter'), value: 1 },
      // Not keepalived's: without it, a reply routed out of the base (the base's prefix route
      // comes first) makes the kernel ARP from the base's MAC with the VIP as sender, and every
      // host that hears it points the VIP at the base's MAC: the VMAC is lost until the next
      // GARP (seen with keepalived 2.2.7 in test/netns/vmac.test.ts). 2 = sender address from
      // the base's own addresses.
      { path: v4(base, 'arp_announce'), value: 2 },
    ],
  };
}
