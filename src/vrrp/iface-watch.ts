// Turns the kernel's link and address events into what the VRRP instances must do, with no
// polling: the one rtnetlink subscription (src/net/kernel-events.ts) feeds it.
//   - the instance's interface missing, deleted or down (IFF_UP and IFF_RUNNING, keepalived's
//     test) → fault `interface` (a down link is ignored with dont_track_primary);
//   - no address to send adverts from (the interface's first IPv4 address that is not a VIP, or
//     the configured mcast_src_ip/unicast_src_ip, which must be on some interface) → fault
//     `address`;
//   - the interface deleted → its socket closed; created again → reopened on the new ifindex;
//   - a VIP deleted by someone else while master → put back (the runtime decides).
import type { Logger } from '../daemon/log.js';
import type { AddrState, KernelEvent, LinkState } from '../net/kernel-events.js';
import type { InterfaceChannel } from './channel.js';
import type { VrrpInstanceRuntime } from './instance.js';

/** What the watch needs from the kernel event feed (a fake in unit tests). */
export interface KernelView {
  link(name: string): LinkState | null;
  addresses(ifname: string, family?: 4 | 6): AddrState[];
  /** Is this address configured on any interface? */
  isLocal(address: string): boolean;
  subscribe(fn: (ev: KernelEvent) => void): () => void;
}

export class InterfaceWatch {
  private readonly byIface = new Map<string, VrrpInstanceRuntime[]>();
  /** Every VIP address of every instance: never picked as an advert source. */
  private readonly vipAddresses = new Set<string>();
  private readonly lastUp = new Map<string, boolean | null>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly kernel: KernelView,
    private readonly channels: ReadonlyMap<string, InterfaceChannel>,
    runtimes: readonly VrrpInstanceRuntime[],
    private readonly log: Logger,
    /** use_vmac: instance name -> the interface its advert source is read from (the VMAC's base). */
    private readonly sourceIfaces: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const rt of runtimes) {
      const list = this.byIface.get(rt.interfaceName) ?? [];
      list.push(rt);
      this.byIface.set(rt.interfaceName, list);
      for (const v of rt.vips) this.vipAddresses.add(v.address);
    }
  }

  /** Evaluate every interface now (before the instances start), then follow the events. */
  start(): void {
    for (const ifname of this.byIface.keys()) {
      const link = this.kernel.link(ifname);
      this.lastUp.set(ifname, link ? link.up : null);
      if (!link) this.log.warn({ interface: ifname }, `interface ${ifname} does not exist (yet): its instances wait in FAULT until it appears`);
      else if (!link.up) this.log.info({ interface: ifname }, `interface ${ifname} is down`);
      this.evaluate(ifname, 'missing');
    }
    this.unsubscribe = this.kernel.subscribe((ev) => this.onEvent(ev));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** The channel reports that its socket opened (null) or failed. */
  onSocketState(ifname: string, problem: string | null): void {
    for (const rt of this.byIface.get(ifname) ?? []) {
      if (problem === null || this.kernel.link(ifname) === null) rt.clearFault('socket', ifname);
      else rt.setFault('socket', ifname, problem);
    }
  }

  private onEvent(ev: KernelEvent): void {
    switch (ev.type) {
      case 'link': {
        const name = ev.link.name;
        if (ev.prev && ev.prev.name !== name && this.byIface.has(ev.prev.name)) {
          // Renamed away from a name we serve: for us that interface is gone.
          this.log.info({ interface: ev.prev.name }, `Interface ${ev.prev.name} renamed to ${name}`);
          this.linkChanged(ev.prev.name, 'deleted');
        }
        if (!this.byIface.has(name)) return;
        if (ev.prev === null || ev.prev.name !== name) this.log.info({ interface: name, ifindex: ev.link.ifindex }, `Interface ${name} added`);
        this.linkChanged(name, 'deleted');
        return;
      }
      case 'link_deleted': {
        if (!this.byIface.has(ev.link.name)) return;
        // The kernel's current view may already hold a new link of the same name.
        this.log.info({ interface: ev.link.name, ifindex: ev.link.ifindex }, `Interface ${ev.link.name} deleted`);
        this.linkChanged(ev.link.name, 'deleted');
        return;
      }
      case 'addr_added':
        // Our own VIPs coming and going never change an advert source (they are never one):
        // skipping them keeps a 200-instance takeover from re-evaluating every source per VIP.
        if (ev.addr.family === 4 && !this.vipAddresses.has(ev.addr.address)) this.evaluateSources();
        return;
      case 'addr_deleted': {
        for (const rts of this.byIface.values()) {
          for (const rt of rts) rt.onAddressDeleted(ev.addr.ifname, ev.addr.address);
        }
        if (ev.addr.family === 4 && !this.vipAddresses.has(ev.addr.address)) this.evaluateSources();
        return;
      }
      case 'resync':
        this.log.warn({ reason: ev.reason }, `kernel event feed resynchronised (${ev.reason}): re-checking interfaces and addresses`);
        for (const ifname of this.byIface.keys()) this.linkChanged(ifname, 'missing');
        return;
    }
  }

  private linkChanged(ifname: string, goneWord: 'deleted' | 'missing'): void {
    const link = this.kernel.link(ifname);
    const now = link ? link.up : null;
    const before = this.lastUp.get(ifname) ?? null;
    this.lastUp.set(ifname, now);
    if (now !== null && before !== now && (before !== null || !now)) {
      // keepalived's line; `before === null && now` is "added", logged by the caller.
      this.log.info({ interface: ifname, up: now }, `Netlink reports ${ifname} ${now ? 'up' : 'down'}`);
    }
    this.evaluate(ifname, goneWord);
  }

  /** Bring the channel and every instance on `ifname` in line with the kernel's view. */
  private evaluate(ifname: string, goneWord: 'deleted' | 'missing'): void {
    const link = this.kernel.link(ifname);
    const channel = this.channels.get(ifname);
    if (link) channel?.attach(link.ifindex);
    else channel?.detach(`interface ${ifname} ${goneWord}`);
    for (const rt of this.byIface.get(ifname) ?? []) {
      if (!link) {
        rt.clearFault('socket', ifname);
        rt.setFault('interface', ifname, goneWord);
      } else if (!link.up && rt.tracksPrimary) {
        rt.setFault('interface', ifname, 'down');
      } else {
        rt.clearFault('interface', ifname);
      }
    }
    this.evaluateSources(ifname);
  }

  private evaluateSources(only?: string): void {
    for (const [ifname, rts] of this.byIface) {
      if (only !== undefined && ifname !== only) continue;
      // No interface: its own fault says so; an "no address" reason on top would be noise.
      const exists = this.kernel.link(ifname) !== null;
      for (const rt of rts) {
        if (exists) rt.setSourceAddress(this.sourceFor(rt, ifname));
        else rt.clearFault('address', ifname);
      }
    }
  }

  /** The address adverts should come from now, or null when there is none. */
  private sourceFor(rt: VrrpInstanceRuntime, ifname: string): string | null {
    if (rt.sourceConfigured) {
      const want = rt.sourceIp;
      if (want === null) return null;
      // Like keepalived's bind(): the configured source must be a local address (any interface).
      return this.kernel.isLocal(want) ? want : null;
    }
    const candidates = this.kernel.addresses(this.sourceIfaces.get(rt.name) ?? ifname, 4).map((a) => a.address).filter((a) => !this.vipAddresses.has(a));
    const current = rt.sourceIp;
    if (current !== null && candidates.includes(current)) return current;
    return candidates[0] ?? null;
  }
}
