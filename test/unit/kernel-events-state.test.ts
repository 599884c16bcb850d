// The kernel event state machine (RtnlState) fed decoded messages, and KernelEventFeed's glue with
// an injected addon whose datagrams are built here byte by byte (the real addon and kernel are
// exercised by test/netns/kernel-events.test.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  KernelEventFeed, RtnlState, canonicalAddress,
  type KernelEvent, type KernelEventsAddon,
} from '../../src/net/kernel-events.js';
import type { NativeHandle, RtnlMonitorError } from '../../src/net/native.js';
import type { NlHeader, RtnlAddrMessage, RtnlLinkMessage, RtnlMessage } from '../../src/net/rtnl-codec.js';

const H: NlHeader = { type: 0, flags: 0, seq: 0, pid: 0 };
const UP = 0x1, RUNNING = 0x40, LOWER_UP = 0x10000, BROADCAST = 0x2, MULTICAST = 0x1000;
const UPRUN = UP | RUNNING | LOWER_UP | BROADCAST | MULTICAST;

function link(ifindex: number, ifname: string, flags: number, extra: Partial<RtnlLinkMessage> = {}): RtnlLinkMessage {
  return { type: 'newlink', header: H, family: 0, ifindex, linkType: 1, flags, change: 0, ifname, operstate: 6, mac: `02:00:00:00:00:${ifindex.toString(16).padStart(2, '0')}`, ...extra };
}
const dellink = (ifindex: number, ifname: string, extra: Partial<RtnlLinkMessage> = {}): RtnlLinkMessage =>
  ({ ...link(ifindex, ifname, 0), type: 'dellink', ...extra });
function addr(ifindex: number, address: string, prefixLen: number, extra: Partial<RtnlAddrMessage> = {}): RtnlAddrMessage {
  return { type: 'newaddr', header: H, family: address.includes(':') ? 10 : 2, prefixLen, flags: 0, scope: 0, ifindex, address, peer: null, label: null, ...extra };
}
const deladdr = (ifindex: number, address: string, prefixLen: number): RtnlAddrMessage => ({ ...addr(ifindex, address, prefixLen), type: 'deladdr' });

function base(): RtnlState {
  const s = new RtnlState();
  s.applyAll([link(1, 'lo', UP | RUNNING | 0x8), link(2, 'eth0', UPRUN), addr(1, '127.0.0.1', 8), addr(2, '192.0.2.1', 24), addr(2, 'fe80::1', 64)]);
  return s;
}

describe('RtnlState: links', () => {
  it('a new link is an event with prev null; `up` needs IFF_UP and IFF_RUNNING', () => {
    const s = new RtnlState();
    const [ev] = s.apply(link(3, 'veth0', UP | BROADCAST));
    expect(ev).toEqual({ type: 'link', prev: null, link: { ifindex: 3, name: 'veth0', flags: UP | BROADCAST, up: false, mac: '02:00:00:00:00:03' } });
    expect(s.apply(link(3, 'veth0', UP | RUNNING))[0]).toMatchObject({ link: { up: true }, prev: { up: false } });
    expect(s.link('veth0')).toMatchObject({ ifindex: 3, up: true });
    expect(s.linkByIndex(3)?.name).toBe('veth0');
  });

  it('an identical RTM_NEWLINK (mtu, stats, operstate changes) emits nothing', () => {
    const s = base();
    expect(s.apply(link(2, 'eth0', UPRUN, { operstate: 2 }))).toEqual([]);
  });

  it('flag and MAC changes are events with the previous state', () => {
    const s = base();
    const down = s.apply(link(2, 'eth0', UPRUN & ~RUNNING & ~LOWER_UP));
    expect(down).toEqual([{ type: 'link', link: expect.objectContaining({ up: false, flags: UP | BROADCAST | MULTICAST }) as unknown, prev: expect.objectContaining({ up: true }) as unknown }]);
    const mac = s.apply(link(2, 'eth0', UP | BROADCAST | MULTICAST, { mac: '02:aa:bb:cc:dd:ee' }));
    expect(mac[0]).toMatchObject({ link: { mac: '02:aa:bb:cc:dd:ee' }, prev: { mac: '02:00:00:00:00:02' } });
  });

  it('a new name for a known index is a rename: lookups and the addresses follow', () => {
    const s = base();
    const [ev] = s.apply(link(2, 'wan0', UPRUN));
    expect(ev).toMatchObject({ type: 'link', link: { name: 'wan0', ifindex: 2 }, prev: { name: 'eth0' } });
    expect(s.link('eth0')).toBeNull();
    expect(s.link('wan0')?.ifindex).toBe(2);
    expect(s.addresses('wan0').map((a) => [a.ifname, a.address])).toEqual([['wan0', '192.0.2.1'], ['wan0', 'fe80::1']]);
    expect(s.addresses('eth0')).toEqual([]);
  });

  it('deleting a link drops its addresses (addr_deleted for each) before link_deleted', () => {
    const s = base();
    const evs = s.apply(dellink(2, 'eth0'));
    expect(evs.map((e) => e.type)).toEqual(['addr_deleted', 'addr_deleted', 'link_deleted']);
    expect(evs[2]).toMatchObject({ link: { name: 'eth0', ifindex: 2 } });
    expect(s.link('eth0')).toBeNull();
    expect(s.addressesByIndex(2)).toEqual([]);
    expect(s.isLocal('192.0.2.1')).toBe(false);
    // The kernel's own RTM_DELADDR afterwards changes nothing.
    expect(s.apply(deladdr(2, '192.0.2.1', 24))).toEqual([]);
  });

  it('recreated with the same name: a new link with its new index', () => {
    const s = base();
    s.apply(dellink(2, 'eth0'));
    expect(s.apply(link(7, 'eth0', UP))).toMatchObject([{ type: 'link', prev: null, link: { ifindex: 7 } }]);
    expect(s.link('eth0')?.ifindex).toBe(7);
  });

  it('a stale delete of an old index does not remove the new link that took its name', () => {
    const s = new RtnlState();
    s.apply(link(2, 'eth0', UP));
    s.apply(link(7, 'eth0', UP)); // old one's delete not seen yet
    s.apply(dellink(2, 'eth0'));
    expect(s.link('eth0')?.ifindex).toBe(7);
  });

  it('AF_BRIDGE link messages (bridge port notifications) are ignored, their DELLINK above all', () => {
    const s = base();
    expect(s.apply(dellink(2, 'eth0', { family: 7 }))).toEqual([]);
    expect(s.apply(link(2, 'eth0', 0, { family: 7 }))).toEqual([]);
    expect(s.link('eth0')?.up).toBe(true);
  });

  it('deleting an unknown link emits nothing', () => {
    expect(base().apply(dellink(42, 'ghost'))).toEqual([]);
  });
});

describe('RtnlState: addresses', () => {
  it('add, duplicate add (flags change: tentative → valid), delete, delete again', () => {
    const s = base();
    expect(s.apply(addr(2, '192.0.2.100', 32))).toEqual([{ type: 'addr_added', addr: { ifindex: 2, ifname: 'eth0', family: 4, address: '192.0.2.100', prefixLen: 32 } }]);
    expect(s.apply(addr(2, '192.0.2.100', 32, { flags: 0x80 }))).toEqual([]);
    expect(s.hasAddress('eth0', '192.0.2.100')).toBe(true);
    expect(s.apply(deladdr(2, '192.0.2.100', 32))).toMatchObject([{ type: 'addr_deleted', addr: { address: '192.0.2.100' } }]);
    expect(s.apply(deladdr(2, '192.0.2.100', 32))).toEqual([]);
    expect(s.hasAddress('eth0', '192.0.2.100')).toBe(false);
  });

  it('the same address with two prefix lengths is two addresses (IPv4 allows it)', () => {
    const s = base();
    s.apply(addr(2, '192.0.2.1', 16));
    expect(s.addresses('eth0', 4).map((a) => a.prefixLen)).toEqual([24, 16]);
    s.apply(deladdr(2, '192.0.2.1', 24));
    expect(s.hasAddress('eth0', '192.0.2.1/16')).toBe(true);
    expect(s.hasAddress('eth0', '192.0.2.1/24')).toBe(false);
    expect(s.isLocal('192.0.2.1')).toBe(true);
  });

  it('family filter, canonical IPv6 comparisons, isLocal across interfaces', () => {
    const s = base();
    s.apply(addr(2, 'fd00::10', 64));
    expect(s.addresses('eth0', 6).map((a) => a.address)).toEqual(['fe80::1', 'fd00::10']);
    expect(s.addresses('eth0', 4).map((a) => a.address)).toEqual(['192.0.2.1']);
    expect(s.hasAddress('eth0', 'FD00:0:0::0010')).toBe(true);
    expect(s.hasAddress('eth0', 'fd00::10/64')).toBe(true);
    expect(s.hasAddress('lo', 'fd00::10')).toBe(false);
    expect(s.isLocal('fd00:0::10')).toBe(true);
    expect(s.isLocal('127.0.0.1')).toBe(true);
    expect(s.isLocal('10.0.0.1')).toBe(false);
    expect(canonicalAddress('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('not-an-address')).toBe('not-an-address');
  });

  it('an address seen before its link takes its name from the label, then from the link', () => {
    const s = new RtnlState();
    expect(s.apply(addr(5, '10.0.0.1', 24, { label: 'eth5:vip' }))).toMatchObject([{ addr: { ifname: 'eth5' } }]);
    s.apply(link(5, 'eth5', UP));
    expect(s.addresses('eth5')).toMatchObject([{ ifname: 'eth5', address: '10.0.0.1' }]);
  });

  it('addresses of other families and without an address are ignored', () => {
    const s = base();
    expect(s.apply(addr(2, 'x', 0, { family: 12, address: null }))).toEqual([]);
  });

  it('done, error and malformed entries change nothing', () => {
    const s = base();
    const msgs: RtnlMessage[] = [{ type: 'done', header: H, error: 0 }, { type: 'error', header: H, error: 17 }, { type: 'malformed', offset: 0, reason: 'x' }];
    expect(s.applyAll(msgs)).toEqual([]);
  });
});

describe('RtnlState.replace: the difference to a fresh dump (overrun)', () => {
  it('emits vanished links (with their addresses), new and changed links, removed and added addresses, then resync', () => {
    const s = base();
    s.apply(link(3, 'veth0', UPRUN));
    s.apply(addr(3, '10.0.0.1', 24));
    // While messages were being dropped: veth0 deleted, eth0 lost carrier and an address, veth1
    // appeared with an address, lo got one more.
    const dump: RtnlMessage[] = [
      link(1, 'lo', UP | RUNNING | 0x8), link(2, 'eth0', UP | BROADCAST | MULTICAST), link(4, 'veth1', UP),
      { type: 'done', header: H, error: 0 },
      addr(1, '127.0.0.1', 8), addr(2, 'fe80::1', 64), addr(4, '10.9.9.9', 32), addr(1, '127.0.0.2', 8),
      { type: 'done', header: H, error: 0 },
    ];
    const evs = s.replace(dump, 'overrun (ENOBUFS)');
    expect(evs.map((e) => `${e.type} ${describe1(e)}`)).toEqual([
      'addr_deleted 10.0.0.1',
      'link_deleted veth0',
      'link eth0',
      'link veth1',
      'addr_deleted 192.0.2.1',
      'addr_added 127.0.0.2',
      'addr_added 10.9.9.9',
      'resync overrun (ENOBUFS)',
    ]);
    expect(evs[2]).toMatchObject({ link: { up: false }, prev: { up: true } });
    expect(evs[3]).toMatchObject({ prev: null });
    // The state is now the dump's.
    const fresh = new RtnlState();
    fresh.applyAll(dump);
    expect(s.links()).toEqual(fresh.links());
    expect(s.allAddresses()).toEqual(fresh.allAddresses());
    expect(s.link('veth0')).toBeNull();
    expect(s.isLocal('10.0.0.1')).toBe(false);
    expect(s.isLocal('10.9.9.9')).toBe(true);
  });

  it('an unchanged dump emits only resync', () => {
    const s = base();
    const dump = [link(1, 'lo', UP | RUNNING | 0x8), link(2, 'eth0', UPRUN), addr(1, '127.0.0.1', 8), addr(2, '192.0.2.1', 24), addr(2, 'fe80::1', 64)];
    expect(s.replace(dump, 'x')).toEqual([{ type: 'resync', reason: 'x' }]);
  });

  it('a rename seen only through the dump is a link event with the old name as prev', () => {
    const s = base();
    const evs = s.replace([link(1, 'lo', UP | RUNNING | 0x8), link(2, 'wan0', UPRUN), addr(1, '127.0.0.1', 8)], 'x');
    expect(evs[0]).toMatchObject({ type: 'link', link: { name: 'wan0' }, prev: { name: 'eth0' } });
    expect(s.link('wan0')?.ifindex).toBe(2);
    expect(s.link('eth0')).toBeNull();
  });
});

function describe1(e: KernelEvent): string {
  switch (e.type) {
    case 'link': case 'link_deleted': return e.link.name;
    case 'addr_added': case 'addr_deleted': return e.addr.address;
    case 'resync': return e.reason;
  }
}

// ---- KernelEventFeed with an injected addon ----

/** struct nlmsghdr + ifinfomsg + IFLA_IFNAME, and nlmsghdr + ifaddrmsg + IFA_LOCAL (little-endian). */
function linkDatagram(type: 16 | 17, ifindex: number, name: string, flags: number): Buffer {
  const nameAttr = Buffer.alloc((4 + name.length + 1 + 3) & ~3);
  nameAttr.writeUInt16LE(4 + name.length + 1, 0);
  nameAttr.writeUInt16LE(3, 2);
  nameAttr.write(name, 4);
  const b = Buffer.alloc(16 + 16);
  b.writeUInt32LE(32 + nameAttr.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeInt32LE(ifindex, 20);
  b.writeUInt32LE(flags, 24);
  return Buffer.concat([b, nameAttr]);
}
function addrDatagram(type: 20 | 21, ifindex: number, ipv4: string, prefixLen: number): Buffer {
  const b = Buffer.alloc(16 + 8 + 8);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt8(2, 16);
  b.writeUInt8(prefixLen, 17);
  b.writeUInt32LE(ifindex, 20);
  b.writeUInt16LE(8, 24);
  b.writeUInt16LE(2, 26);
  Buffer.from(ipv4.split('.').map(Number)).copy(b, 28);
  return b;
}
const done = (): Buffer => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(3, 4);
  return b;
};

class FakeAddon implements KernelEventsAddon {
  calls: string[] = [];
  onData: ((d: Buffer) => void) | null = null;
  onError: ((e: RtnlMonitorError) => void) | null = null;
  closed = 0;
  opts: unknown;
  dump: Buffer[] = [linkDatagram(16, 1, 'lo', UP | RUNNING), linkDatagram(16, 2, 'eth0', UP | RUNNING), done(), addrDatagram(20, 2, '192.0.2.1', 24), done()];
  failDump = 0;

  rtnlMonitor(onData: (d: Buffer) => void, onError: (e: RtnlMonitorError) => void, opts?: unknown): NativeHandle {
    this.calls.push('monitor');
    this.onData = onData;
    this.onError = onError;
    this.opts = opts;
    return { close: () => { this.closed++; } };
  }

  rtnlDump(): Buffer[] {
    this.calls.push('dump');
    if (this.failDump > 0) {
      this.failDump--;
      throw Object.assign(new Error('rtnlDump: link dump failed: timed out'), { code: 'ETIMEDOUT' });
    }
    return this.dump;
  }

  overrun(): void {
    this.onError!(Object.assign(new Error('overrun'), { code: 'ENOBUFS', errno: 105 }));
  }
}

describe('KernelEventFeed (injected addon)', () => {
  afterEach(() => vi.useRealTimers());

  it('subscribes before it dumps, and starts from the dump without events', () => {
    const a = new FakeAddon();
    const feed = KernelEventFeed.open({ addon: a, rcvbuf: 4096 });
    expect(a.calls).toEqual(['monitor', 'dump']);
    expect(a.opts).toEqual({ rcvbuf: 4096 });
    expect(feed.link('eth0')).toMatchObject({ ifindex: 2, up: true });
    expect(feed.addresses('eth0')).toMatchObject([{ address: '192.0.2.1', prefixLen: 24, family: 4 }]);
    expect(feed.isLocal('192.0.2.1')).toBe(true);
    feed.close();
    feed.close();
    expect(a.closed).toBe(1);
  });

  it('turns notifications (several per datagram) into events, in order', () => {
    const a = new FakeAddon();
    const feed = KernelEventFeed.open({ addon: a });
    const seen: KernelEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    a.onData!(Buffer.concat([linkDatagram(16, 2, 'eth0', UP), addrDatagram(20, 2, '192.0.2.7', 32)]));
    a.onData!(linkDatagram(16, 2, 'eth0', UP)); // no change
    a.onData!(linkDatagram(17, 2, 'eth0', UP));
    expect(seen.map((e) => e.type)).toEqual(['link', 'addr_added', 'addr_deleted', 'addr_deleted', 'link_deleted']);
    expect(seen[0]).toMatchObject({ link: { up: false }, prev: { up: true } });
    feed.close();
  });

  it('ENOBUFS: dumps again, emits the difference, then resync', () => {
    const a = new FakeAddon();
    const feed = KernelEventFeed.open({ addon: a });
    const seen: KernelEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    a.dump = [linkDatagram(16, 1, 'lo', UP | RUNNING), linkDatagram(16, 2, 'eth0', UP | RUNNING), done(), addrDatagram(20, 2, '192.0.2.9', 24), done()];
    a.overrun();
    expect(a.calls).toEqual(['monitor', 'dump', 'dump']);
    expect(seen.map((e) => e.type === 'resync' ? `resync ${e.reason}` : `${e.type} ${describe1(e)}`)).toEqual([
      'addr_deleted 192.0.2.1', 'addr_added 192.0.2.9', 'resync overrun (ENOBUFS)',
    ]);
    feed.close();
  });

  it('a failed re-dump is reported and retried until it works', () => {
    vi.useFakeTimers();
    const a = new FakeAddon();
    const errors: string[] = [];
    const feed = KernelEventFeed.open({ addon: a, onError: (e, src) => errors.push(`${src}: ${e.message}`) });
    const seen: string[] = [];
    feed.subscribe((e) => seen.push(e.type));
    a.failDump = 2;
    a.overrun();
    expect(errors).toEqual(['resync: rtnlDump: link dump failed: timed out']);
    vi.advanceTimersByTime(1000);
    expect(errors).toHaveLength(2);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(['resync']);
    vi.advanceTimersByTime(10_000);
    expect(a.calls.filter((c) => c === 'dump')).toHaveLength(4);
    feed.close();
  });

  it('a listener that throws does not stop the others or the feed', () => {
    const a = new FakeAddon();
    const errors: Array<[string, string]> = [];
    const feed = KernelEventFeed.open({ addon: a, onError: (e, src) => errors.push([src, e.message]) });
    const seen: string[] = [];
    feed.subscribe(() => { throw new Error('listener bug'); });
    feed.subscribe((e) => seen.push(e.type));
    a.onData!(addrDatagram(20, 2, '192.0.2.7', 32));
    a.onData!(addrDatagram(21, 2, '192.0.2.7', 32));
    expect(seen).toEqual(['addr_added', 'addr_deleted']);
    expect(errors).toEqual([['listener', 'listener bug'], ['listener', 'listener bug']]);
    feed.close();
  });

  it('unsubscribe stops delivery, also from inside a delivery', () => {
    const a = new FakeAddon();
    const feed = KernelEventFeed.open({ addon: a });
    const seen: string[] = [];
    let off2 = (): void => {};
    const off1 = feed.subscribe((e) => { seen.push(`1 ${e.type}`); off2(); });
    off2 = feed.subscribe((e) => seen.push(`2 ${e.type}`));
    a.onData!(addrDatagram(20, 2, '192.0.2.7', 32));
    off1();
    a.onData!(addrDatagram(21, 2, '192.0.2.7', 32));
    expect(seen).toEqual(['1 addr_added']);
    feed.close();
  });

  it('a malformed notification is reported and answered with a re-dump', () => {
    const a = new FakeAddon();
    const errors: string[] = [];
    const feed = KernelEventFeed.open({ addon: a, onError: (e, src) => errors.push(src) });
    const seen: string[] = [];
    feed.subscribe((e) => seen.push(e.type));
    a.onData!(Buffer.from([1, 2, 3]));
    expect(errors).toEqual(['monitor']);
    expect(seen).toEqual(['resync']);
    feed.close();
  });

  it('other socket errors are reported, nothing else', () => {
    const a = new FakeAddon();
    const errors: string[] = [];
    const feed = KernelEventFeed.open({ addon: a, onError: (e, src) => errors.push(`${src} ${e.message}`) });
    a.onError!(Object.assign(new Error('read failed'), { code: 'EIO', errno: 5 }));
    expect(errors).toEqual(['monitor read failed']);
    expect(a.calls).toEqual(['monitor', 'dump']);
    feed.close();
  });

  it('nothing is delivered after close', () => {
    const a = new FakeAddon();
    const feed = KernelEventFeed.open({ addon: a });
    const seen: string[] = [];
    feed.subscribe((e) => seen.push(e.type));
    feed.close();
    a.onData!(addrDatagram(20, 2, '192.0.2.7', 32));
    a.overrun();
    expect(seen).toEqual([]);
    expect(a.calls).toEqual(['monitor', 'dump']);
  });

  it('a failing initial dump closes the monitor and throws', () => {
    const a = new FakeAddon();
    a.failDump = 1;
    expect(() => KernelEventFeed.open({ addon: a })).toThrow(/timed out/);
    expect(a.closed).toBe(1);
  });

  it('an addon without rtnlMonitor (built from an older checkout) is a clear error', () => {
    expect(() => KernelEventFeed.open({ addon: {} as KernelEventsAddon })).toThrow(/out of date.*npm install/);
  });
});
