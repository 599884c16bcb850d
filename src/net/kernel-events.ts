// The kernel's links and addresses, kept current from rtnetlink notifications: the one feed that
// interface tracking, VIP checks and everything else that reacts to link or address changes
// subscribes to (keepalived's netlink monitor). One multicast socket, no polling, no `ip monitor`.
//
// Two layers:
//   - RtnlState: the state as maps, fed decoded messages; `apply` returns the events a message
//     caused and `replace` the difference to a fresh dump. Pure, so it is unit-tested without a
//     kernel.
//   - KernelEventFeed: the addon glue. It subscribes first and dumps second, so no change can fall
//     between the two (a change seen by both is applied twice, which changes nothing the second
//     time). When the kernel reports an overrun (ENOBUFS: notifications were dropped) it dumps
//     again, emits the difference as ordinary events, then `resync`.
import { native, NATIVE_ADDON_PATH, type NativeAddon, type NativeHandle, type RtnlMonitorError } from './native.js';
import { AF_INET, AF_INET6, AF_UNSPEC, formatIpv6, IFF_RUNNING, IFF_UP, parseRtnl, type RtnlMessage } from './rtnl-codec.js';

export interface LinkState {
  ifindex: number;
  name: string;
  /** IFF_* as the kernel reports them (IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000, …) */
  flags: number;
  /** IFF_UP and IFF_RUNNING both set: keepalived's FLAGS_UP */
  up: boolean;
  /** IFLA_ADDRESS, lower-case colon-separated; null for devices without one */
  mac: string | null;
}

export interface AddrState {
  ifindex: number;
  ifname: string;
  family: 4 | 6;
  /** canonical text form (IPv6 compressed as `ip` prints it) */
  address: string;
  prefixLen: number;
}

export type KernelEvent =
  /** appeared (prev null) or changed flags/name/mac (a changed name is a rename) */
  | { type: 'link'; link: LinkState; prev: LinkState | null }
  /** preceded by addr_deleted for each of its addresses */
  | { type: 'link_deleted'; link: LinkState }
  | { type: 'addr_added'; addr: AddrState }
  | { type: 'addr_deleted'; addr: AddrState }
  /** after a re-dump (overrun), AFTER the events for what the dump found different */
  | { type: 'resync'; reason: string };

const FLAGS_UP = IFF_UP | IFF_RUNNING;

/** keepalived's FLAGS_UP: administratively up and running (carrier). */
export function linkIsUp(flags: number): boolean {
  return (flags & FLAGS_UP) === FLAGS_UP;
}

const addrKey = (address: string, prefixLen: number): string => `${address}/${prefixLen}`;

/** Text form of an address for comparisons: IPv6 is re-written in the kernel's compressed form
 * (so fd00:0:0::1 finds fd00::1); anything that does not parse is returned unchanged. */
export function canonicalAddress(text: string): string {
  if (!text.includes(':')) return text;
  const bytes = parseIpv6(text);
  return bytes === null ? text.toLowerCase() : formatIpv6(bytes);
}

function parseIpv6(text: string): Uint8Array | null {
  let s = text.toLowerCase();
  const out = new Uint8Array(16);
  let tail: number[] = [];
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return null;
    tail = parts;
    s = s.slice(0, v4.index) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const g = h.split(':');
    if (g.some((x) => !/^[0-9a-f]{1,4}$/.test(x))) return null;
    return g.map((x) => parseInt(x, 16));
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const n = head.length + rest.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return null;
  const words = [...head, ...new Array<number>(8 - n).fill(0), ...rest];
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/**
 * Links and addresses as a sequence of rtnetlink messages describes them. `apply` returns what
 * one message changed as events; link messages of families other than AF_UNSPEC (the bridge's
 * per-port AF_BRIDGE notifications, whose RTM_DELLINK only means "left the bridge") are ignored.
 */
export class RtnlState {
  private readonly byIndex = new Map<number, LinkState>();
  private readonly byName = new Map<string, number>();
  /** ifindex → address/prefix → address */
  private readonly addrs = new Map<number, Map<string, AddrState>>();
  /** address → on how many interfaces (or prefix lengths) it is configured */
  private readonly local = new Map<string, number>();

  link(name: string): LinkState | null {
    const i = this.byName.get(name);
    return i === undefined ? null : (this.byIndex.get(i) ?? null);
  }

  linkByIndex(ifindex: number): LinkState | null {
    return this.byIndex.get(ifindex) ?? null;
  }

  links(): LinkState[] {
    return [...this.byIndex.values()];
  }

  addresses(ifname: string, family?: 4 | 6): AddrState[] {
    const i = this.byName.get(ifname);
    if (i === undefined) return [];
    return this.addressesByIndex(i, family);
  }

  addressesByIndex(ifindex: number, family?: 4 | 6): AddrState[] {
    const m = this.addrs.get(ifindex);
    if (!m) return [];
    const all = [...m.values()];
    return family === undefined ? all : all.filter((a) => a.family === family);
  }

  /** `address` alone, or `address/prefixLen` to require that prefix length too. */
  hasAddress(ifname: string, address: string): boolean {
    const slash = address.indexOf('/');
    const want = canonicalAddress(slash === -1 ? address : address.slice(0, slash));
    const plen = slash === -1 ? null : Number(address.slice(slash + 1));
    return this.addresses(ifname).some((a) => a.address === want && (plen === null || a.prefixLen === plen));
  }

  /** Is `address` configured on any interface? */
  isLocal(address: string): boolean {
    return this.local.has(canonicalAddress(address));
  }

  /** Every address of every interface. */
  allAddresses(): AddrState[] {
    return [...this.addrs.values()].flatMap((m) => [...m.values()]);
  }

  applyAll(msgs: Iterable<RtnlMessage>): KernelEvent[] {
    const out: KernelEvent[] = [];
    for (const m of msgs) out.push(...this.apply(m));
    return out;
  }

  apply(msg: RtnlMessage): KernelEvent[] {
    switch (msg.type) {
      case 'newlink': {
        if (msg.family !== AF_UNSPEC) return [];
        const prev = this.byIndex.get(msg.ifindex) ?? null;
        const link: LinkState = {
          ifindex: msg.ifindex,
          name: msg.ifname ?? prev?.name ?? '',
          flags: msg.flags,
          up: linkIsUp(msg.flags),
          mac: msg.mac,
        };
        if (prev && prev.flags === link.flags && prev.name === link.name && prev.mac === link.mac) return [];
        this.setLink(link, prev);
        return [{ type: 'link', link, prev }];
      }
      case 'dellink': {
        if (msg.family !== AF_UNSPEC) return [];
        return this.deleteLink(msg.ifindex);
      }
      case 'newaddr': {
        const family = msg.family === AF_INET ? 4 : msg.family === AF_INET6 ? 6 : null;
        if (family === null || msg.address === null) return [];
        const key = addrKey(msg.address, msg.prefixLen);
        let m = this.addrs.get(msg.ifindex);
        if (m?.has(key)) return []; // flags (tentative → valid, lifetimes) changed: not our business
        if (!m) this.addrs.set(msg.ifindex, (m = new Map()));
        const addr: AddrState = {
          ifindex: msg.ifindex,
          ifname: this.byIndex.get(msg.ifindex)?.name ?? stripAlias(msg.label) ?? '',
          family,
          address: msg.address,
          prefixLen: msg.prefixLen,
        };
        m.set(key, addr);
        this.countLocal(addr.address, 1);
        return [{ type: 'addr_added', addr }];
      }
      case 'deladdr': {
        if (msg.address === null) return [];
        const m = this.addrs.get(msg.ifindex);
        const key = addrKey(msg.address, msg.prefixLen);
        const addr = m?.get(key);
        if (!m || !addr) return [];
        m.delete(key);
        this.countLocal(addr.address, -1);
        if (m.size === 0) this.addrs.delete(msg.ifindex);
        return [{ type: 'addr_deleted', addr }];
      }
      default:
        return []; // done, error, malformed: no state in them
    }
  }

  /**
   * Make the state what `msgs` (a complete dump) describes and return the difference as events:
   * addresses of vanished links and the links themselves, then new or changed links, then other
   * removed addresses, then added ones, then `resync` with `reason`.
   */
  replace(msgs: Iterable<RtnlMessage>, reason: string): KernelEvent[] {
    const next = new RtnlState();
    next.applyAll(msgs);
    const out: KernelEvent[] = [];
    for (const [i, link] of this.byIndex) {
      if (next.byIndex.has(i)) continue;
      for (const addr of this.addressesByIndex(i)) out.push({ type: 'addr_deleted', addr });
      out.push({ type: 'link_deleted', link });
    }
    for (const [i, link] of next.byIndex) {
      const prev = this.byIndex.get(i) ?? null;
      if (prev && prev.flags === link.flags && prev.name === link.name && prev.mac === link.mac) continue;
      out.push({ type: 'link', link, prev });
    }
    for (const [i, m] of this.addrs) {
      if (this.byIndex.has(i) && !next.byIndex.has(i)) continue; // reported with its link
      for (const [key, addr] of m) {
        if (!next.addrs.get(i)?.has(key)) out.push({ type: 'addr_deleted', addr });
      }
    }
    for (const [i, m] of next.addrs) {
      for (const [key, addr] of m) {
        if (!this.addrs.get(i)?.has(key)) out.push({ type: 'addr_added', addr });
      }
    }
    out.push({ type: 'resync', reason });
    this.byIndex.clear();
    this.byName.clear();
    this.addrs.clear();
    this.local.clear();
    for (const [i, l] of next.byIndex) this.byIndex.set(i, l);
    for (const [n, i] of next.byName) this.byName.set(n, i);
    for (const [i, m] of next.addrs) this.addrs.set(i, m);
    for (const [a, n] of next.local) this.local.set(a, n);
    return out;
  }

  private setLink(link: LinkState, prev: LinkState | null): void {
    this.byIndex.set(link.ifindex, link);
    if (prev && prev.name !== link.name && this.byName.get(prev.name) === link.ifindex) this.byName.delete(prev.name);
    this.byName.set(link.name, link.ifindex);
    const m = this.addrs.get(link.ifindex);
    if (m && prev?.name !== link.name) {
      // Renamed (or first seen after its addresses): the addresses follow the name.
      for (const [k, a] of m) if (a.ifname !== link.name) m.set(k, { ...a, ifname: link.name });
    }
  }

  private countLocal(address: string, d: 1 | -1): void {
    const n = (this.local.get(address) ?? 0) + d;
    if (n > 0) this.local.set(address, n);
    else this.local.delete(address);
  }

  private deleteLink(ifindex: number): KernelEvent[] {
    const out: KernelEvent[] = [];
    // The kernel normally sends RTM_DELADDR first; when it has not (or they were lost), the
    // addresses go with the device all the same.
    for (const addr of this.addressesByIndex(ifindex)) {
      this.countLocal(addr.address, -1);
      out.push({ type: 'addr_deleted', addr });
    }
    this.addrs.delete(ifindex);
    const link = this.byIndex.get(ifindex);
    if (link) {
      this.byIndex.delete(ifindex);
      if (this.byName.get(link.name) === ifindex) this.byName.delete(link.name);
      out.push({ type: 'link_deleted', link });
    }
    return out;
  }
}

/** eth0:vip → eth0 (IPv4 labels carry the device name before an optional alias). */
function stripAlias(label: string | null): string | null {
  if (label === null) return null;
  const c = label.indexOf(':');
  return c === -1 ? label : label.slice(0, c);
}

export type KernelEventsAddon = Pick<NativeAddon, 'rtnlMonitor' | 'rtnlDump'>;

export type KernelFeedErrorSource = 'listener' | 'monitor' | 'resync';

export interface KernelEventFeedOptions {
  /** Defaults to the native addon (native.ts). */
  addon?: KernelEventsAddon;
  /** Receive buffer of the notification socket in bytes; default DEFAULT_RCVBUF. */
  rcvbuf?: number;
  /** Errors that do not stop the feed: a listener that threw, a socket error, a failed re-dump
   * (retried every RESYNC_RETRY_MS). Default: console.error. */
  onError?: (err: Error, source: KernelFeedErrorSource) => void;
}

/** A failover that adds a few hundred VIPs in one go, while the loop is busy adding them,
 * queues as many notifications (about 1 KiB each); this keeps overruns (and re-dumps) rare. */
export const DEFAULT_RCVBUF = 2 * 1024 * 1024;
export const RESYNC_RETRY_MS = 1000;

/** The addon, checked for the two functions (an addon built from an older checkout lacks them). */
function checkAddon(a: KernelEventsAddon): KernelEventsAddon {
  if (typeof a.rtnlMonitor !== 'function' || typeof a.rtnlDump !== 'function') {
    throw new Error(
      `hakeep's native addon ${NATIVE_ADDON_PATH} is out of date (no rtnlMonitor/rtnlDump): run npm install again`,
    );
  }
  return a;
}

function parseDump(datagrams: Buffer[]): RtnlMessage[] {
  const msgs: RtnlMessage[] = [];
  for (const d of datagrams) {
    for (const m of parseRtnl(d)) {
      if (m.type === 'malformed') throw new Error(`rtnetlink dump: malformed message at byte ${m.offset}: ${m.reason}`);
      msgs.push(m);
    }
  }
  return msgs;
}

export class KernelEventFeed {
  private readonly state = new RtnlState();
  private readonly listeners = new Set<(ev: KernelEvent) => void>();
  private readonly queue: KernelEvent[] = [];
  private emitting = false;
  private handle: NativeHandle | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly addon: KernelEventsAddon,
    private readonly onError: (err: Error, source: KernelFeedErrorSource) => void,
  ) {}

  /** Subscribe first, then dump synchronously, so no change is lost between the two. Throws a
   * clear Error when the addon is missing (or older than this feed), or when the socket cannot
   * be opened or the dump fails. */
  static open(opts: KernelEventFeedOptions = {}): KernelEventFeed {
    const addon = checkAddon(opts.addon ?? native());
    const onError = opts.onError ?? ((err: Error, source: KernelFeedErrorSource) => console.error(`kernel event feed (${source}):`, err));
    const feed = new KernelEventFeed(addon, onError);
    feed.handle = addon.rtnlMonitor(
      (d) => feed.onDatagram(d),
      (e) => feed.onMonitorError(e),
      { rcvbuf: opts.rcvbuf ?? DEFAULT_RCVBUF },
    );
    try {
      feed.state.replace(parseDump(addon.rtnlDump()), 'initial dump'); // no listener yet: no events
    } catch (e) {
      feed.close();
      throw e;
    }
    return feed;
  }

  link(name: string): LinkState | null {
    return this.state.link(name);
  }

  linkByIndex(ifindex: number): LinkState | null {
    return this.state.linkByIndex(ifindex);
  }

  links(): LinkState[] {
    return this.state.links();
  }

  addresses(ifname: string, family?: 4 | 6): AddrState[] {
    return this.state.addresses(ifname, family);
  }

  /** `address` alone, or `address/prefixLen`. */
  hasAddress(ifname: string, address: string): boolean {
    return this.state.hasAddress(ifname, address);
  }

  /** Is `address` configured on any interface? */
  isLocal(address: string): boolean {
    return this.state.isLocal(address);
  }

  /** Events from now on, in order; returns the unsubscribe function. */
  subscribe(fn: (ev: KernelEvent) => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** Dump again, emit what differs from the state, then `resync` (also done by itself after an
   * overrun). A failed dump is reported and retried. */
  resync(reason = 'requested'): void {
    if (this.closed) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    let msgs: RtnlMessage[];
    try {
      msgs = parseDump(this.addon.rtnlDump());
    } catch (e) {
      this.onError(e as Error, 'resync');
      this.retry = setTimeout(() => this.resync(reason), RESYNC_RETRY_MS);
      this.retry.unref();
      return;
    }
    this.emit(this.state.replace(msgs, reason));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.handle?.close();
    this.handle = null;
    this.listeners.clear();
  }

  private onDatagram(d: Buffer): void {
    if (this.closed) return;
    const out: KernelEvent[] = [];
    for (const m of parseRtnl(d)) {
      if (m.type === 'malformed') {
        this.emit(out.splice(0));
        this.onError(new Error(`rtnetlink monitor: malformed message at byte ${m.offset}: ${m.reason}`), 'monitor');
        this.resync('malformed notification');
        return;
      }
      out.push(...this.state.apply(m));
    }
    this.emit(out);
  }

  private onMonitorError(e: RtnlMonitorError): void {
    if (this.closed) return;
    if (e.code === 'ENOBUFS' || e.code === 'EMSGSIZE') {
      // Notifications were lost: only a dump tells what the kernel looks like now.
      this.resync(e.code === 'ENOBUFS' ? 'overrun (ENOBUFS)' : 'truncated notification (EMSGSIZE)');
      return;
    }
    this.onError(e, 'monitor');
  }

  /** Deliver in order, also when a listener causes events itself; one listener's throw does not
   * keep the event from the others. */
  private emit(events: KernelEvent[]): void {
    this.queue.push(...events);
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const ev = this.queue[i]!;
        for (const fn of [...this.listeners]) {
          if (!this.listeners.has(fn)) continue; // unsubscribed by an earlier listener
          try {
            fn(ev);
          } catch (err) {
            this.onError(err instanceof Error ? err : new Error(String(err)), 'listener');
          }
        }
      }
    } finally {
      this.queue.length = 0;
      this.emitting = false;
    }
  }
}
