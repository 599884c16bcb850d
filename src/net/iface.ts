// Interface facts the VRRP side needs: the primary IPv4 address (advert source, equal-priority
// tie break) and the MAC address.
import { networkInterfaces } from 'node:os';

/**
 * The interface's primary IPv4 address, or null. os.networkInterfaces() lists addresses in the
 * kernel's order, where the primary address of a subnet comes before its secondaries (VIPs added
 * later in the same subnet), so the first IPv4 entry is the primary one. A VIP in another subnet
 * with a narrower scope (site/link/host) is listed first, though: pass the VIPs as `exclude`, or
 * read this before adding VIPs (as keepalived does at startup).
 */
export function primaryIpv4(ifname: string, exclude: Iterable<string> = []): string | null {
  const skip = new Set(exclude);
  const addrs = networkInterfaces()[ifname] ?? [];
  return addrs.find((a) => a.family === 'IPv4' && !skip.has(a.address))?.address ?? null;
}

/** The interface's MAC address (aa:bb:…), or null when it has no addresses or does not exist. */
export function interfaceMac(ifname: string): string | null {
  const addrs = networkInterfaces()[ifname] ?? [];
  return addrs[0]?.mac ?? null;
}
