// The interface watch with a scripted kernel view: link and address events become faults, socket
// reopen and VIP re-adds on real instance runtimes (fake wire, fake VIPs, manual clock).
import { describe, expect, it } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { createLogger } from '../../src/daemon/log.js';
import type { AddrState, KernelEvent, LinkState } from '../../src/net/kernel-events.js';
import { InterfaceChannel } from '../../src/vrrp/channel.js';
import { InterfaceWatch, type KernelView } from '../../src/vrrp/iface-watch.js';
import { VrrpInstanceRuntime, type InstanceSpec } from '../../src/vrrp/instance.js';
import { AUTH_NONE } from '../../src/vrrp/packet.js';
import type { OpenOptions, PacketSocket } from '../../src/vrrp/raw-transport.js';

class FakeKernel implements KernelView {
  links = new Map<string, LinkState>();
  addrs: AddrState[] = [];
  private fns: Array<(ev: KernelEvent) => void> = [];
  link(name: string): LinkState | null { return this.links.get(name) ?? null; }
  addresses(ifname: string, family?: 4 | 6): AddrState[] {
    return this.addrs.filter((a) => a.ifname === ifname && (family === undefined || a.family === family));
  }
  isLocal(address: string): boolean { return this.addrs.some((a) => a.address === address); }
  subscribe(fn: (ev: KernelEvent) => void): () => void { this.fns.push(fn); return () => { this.fns = this.fns.filter((f) => f !== fn); }; }
  emit(ev: KernelEvent): void { for (const f of this.fns) f(ev); }

  setLink(name: string, ifindex: number, up: boolean): void {
    const prev = this.links.get(name) ?? null;
    const link: LinkState = { ifindex, name, flags: up ? 0x41 : 0x1, up, mac: null };
    this.links.set(name, link);
    this.emit({ type: 'link', link, prev });
  }
  deleteLink(name: string): void {
    const link = this.links.get(name)!;
    this.links.delete(name);
    for (const a of this.addrs.filter((x) => x.ifname === name)) this.delAddr(a.address);
    this.emit({ type: 'link_deleted', link });
  }
  addAddr(ifname: string, address: string): void {
    const a: AddrState = { ifindex: this.links.get(ifname)?.ifindex ?? 0, ifname, family: 4, address, prefixLen: 24 };
    this.addrs.push(a);
    this.emit({ type: 'addr_added', addr: a });
  }
  delAddr(address: string): void {
    const a = this.addrs.find((x) => x.address === address)!;
    this.addrs = this.addrs.filter((x) => x !== a);
    this.emit({ type: 'addr_deleted', addr: a });
  }
}

const vip: VirtualIp = {
  address: '10.0.0.100', family: 4, prefixLen: 24, brd: null, dev: null, scope: null, label: null,
  peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: { file: 't', line: 1 },
};

function lab(opts: { dontTrackPrimary?: boolean; src?: string } = {}) {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let seq = 0;
  const timerApi = {
    setTimeout: (fn: () => void, ms: number) => { const id = ++seq; timers.push({ at: now + ms, fn, id }); return id; },
    clearTimeout: (h: unknown) => { const i = timers.findIndex((t) => t.id === h); if (i >= 0) timers.splice(i, 1); },
  };
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > end) break;
      timers.shift();
      now = t.at;
      t.fn();
    }
    now = end;
  };
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String((JSON.parse(l) as { msg: string }).msg)); } } });
  const kernel = new FakeKernel();
  const opened: OpenOptions[] = [];
  const sent: string[] = [];
  const vipOps: string[] = [];
  const channel = new InterfaceChannel('eth0', (o): PacketSocket => {
    opened.push(o);
    return { send: async () => undefined, join: () => undefined, drain: () => 0, close: () => undefined };
  });
  const spec: InstanceSpec = {
    fsm: {
      name: 'VI_1', priority: 100, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: false, preemptDelayMs: 0,
      downTimerAdverts: 3, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, garpLowerPrioRepeat: 0,
      garpLowerPrioDelayMs: 0, ownIp: opts.src ?? '0.0.0.0',
    },
    interface: 'eth0', vrid: 51, advertIntSec: 1, authType: AUTH_NONE, authData: Buffer.alloc(8), advertAddresses: ['10.0.0.100'],
    vips: [vip], excludedCount: 0, srcIp: opts.src ?? null, srcConfigured: opts.src !== undefined, destinations: ['224.0.0.18'],
    unicast: false, ttl: 255, checkUnicastSrc: false, peerTtl: null, skipCheckAdvAddr: false, dontTrackPrimary: opts.dontTrackPrimary ?? false,
  };
  const rt = new VrrpInstanceRuntime(spec, {
    log, clock: () => now, timers: timerApi,
    send: async (p) => { sent.push(`${p[12]}.${p[13]}.${p[14]}.${p[15]}:${p[20 + 2]}`); },
    applyVips: async (op) => { vipOps.push(op); return { ok: true, failures: [] }; },
    garp: { setVips: () => undefined, start: () => vipOps.push('garp'), stop: () => undefined, burst: () => undefined },
  });
  channel.add(rt);
  const watch = new InterfaceWatch(kernel, new Map([['eth0', channel]]), [rt], log);
  const settle = async (): Promise<void> => { await rt.idle(); await new Promise((r) => setImmediate(r)); };
  return { kernel, rt, watch, channel, opened, sent, vipOps, lines, advance, settle };
}

describe('InterfaceWatch', () => {
  it('an interface missing at start: FAULT (init), no socket; created with an address: the election', async () => {
    const t = lab();
    t.watch.start();
    t.rt.start();
    expect(t.rt.status()).toMatchObject({ state: 'FAULT', faults: [{ key: 'interface:eth0', detail: 'missing' }] });
    expect(t.lines).toContain('(VI_1) Entering FAULT STATE (init)');
    expect(t.opened).toHaveLength(0);
    t.kernel.setLink('eth0', 4, true);
    expect(t.opened.map((o) => o.ifindex)).toEqual([4]);
    expect(t.lines).toContain('Interface eth0 added');
    // Up but without an address: still FAULT, now for the address.
    expect(t.rt.status()).toMatchObject({ state: 'FAULT', faults: [{ key: 'address:eth0', detail: 'no IPv4 address' }] });
    t.kernel.addAddr('eth0', '10.0.0.1');
    expect(t.rt.status()).toMatchObject({ state: 'BACKUP', faults: [], sourceIp: '10.0.0.1' });
    t.advance(3610);
    await t.settle();
    expect(t.rt.status().state).toBe('MASTER');
    expect(t.sent.at(-1)).toBe('10.0.0.1:100');
  });

  it('link down on the master: Netlink reports, FAULT with priority 0; up: BACKUP and the election again', async () => {
    const t = lab();
    t.kernel.setLink('eth0', 2, true);
    t.kernel.addAddr('eth0', '10.0.0.1');
    t.watch.start();
    t.rt.start();
    t.advance(3610);
    await t.settle();
    expect(t.rt.status().state).toBe('MASTER');
    t.kernel.setLink('eth0', 2, false);
    await t.settle();
    expect(t.lines).toEqual(expect.arrayContaining(['Netlink reports eth0 down', '(VI_1) Entering FAULT STATE']));
    expect(t.sent.at(-1)).toBe('10.0.0.1:0');
    expect(t.vipOps.at(-1)).toBe('del');
    t.kernel.setLink('eth0', 2, true);
    expect(t.lines).toEqual(expect.arrayContaining(['Netlink reports eth0 up', '(VI_1) Entering BACKUP STATE']));
    expect(t.rt.status().state).toBe('BACKUP');
    expect(t.opened).toHaveLength(1); // same ifindex: the socket stayed
  });

  it('dont_track_primary: a down link is not a fault, a missing one still is', () => {
    const t = lab({ dontTrackPrimary: true });
    t.kernel.setLink('eth0', 2, true);
    t.kernel.addAddr('eth0', '10.0.0.1');
    t.watch.start();
    t.rt.start();
    t.kernel.setLink('eth0', 2, false);
    expect(t.rt.status().state).toBe('BACKUP');
    t.kernel.deleteLink('eth0');
    expect(t.rt.status()).toMatchObject({ state: 'FAULT', faults: [{ key: 'interface:eth0', detail: 'deleted' }] });
  });

  it('an interface deleted and recreated: socket closed, reopened on the new ifindex, back to the election', () => {
    const t = lab();
    t.kernel.setLink('eth0', 2, true);
    t.kernel.addAddr('eth0', '10.0.0.1');
    t.watch.start();
    t.rt.start();
    t.kernel.deleteLink('eth0');
    expect(t.lines).toContain('Interface eth0 deleted');
    expect(t.rt.status().state).toBe('FAULT');
    expect(t.channel.isOpen).toBe(false);
    t.kernel.setLink('eth0', 12, true);
    t.kernel.addAddr('eth0', '10.0.0.1');
    expect(t.opened.map((o) => o.ifindex)).toEqual([2, 12]);
    expect(t.rt.status()).toMatchObject({ state: 'BACKUP', faults: [] });
  });

  it('the advert source: never a VIP, kept while present, replaced when deleted; a configured one must exist', async () => {
    const t = lab();
    t.kernel.setLink('eth0', 2, true);
    t.kernel.addAddr('eth0', '10.0.0.100'); // a VIP left over: never the source
    t.kernel.addAddr('eth0', '10.0.0.1');
    t.kernel.addAddr('eth0', '10.0.0.2');
    t.watch.start();
    t.rt.start();
    expect(t.rt.status().sourceIp).toBe('10.0.0.1');
    t.kernel.delAddr('10.0.0.1');
    expect(t.rt.status()).toMatchObject({ sourceIp: '10.0.0.2', state: 'BACKUP' });
    expect(t.lines).toContain('(VI_1) advert source address changed from 10.0.0.1 to 10.0.0.2');

    const c = lab({ src: '10.0.0.9' });
    c.kernel.setLink('eth0', 2, true);
    c.kernel.addAddr('eth0', '10.0.0.1');
    c.watch.start();
    c.rt.start();
    expect(c.rt.status()).toMatchObject({ state: 'FAULT', faults: [{ key: 'address:eth0', detail: 'source address 10.0.0.9 not configured' }] });
    c.kernel.addAddr('eth0', '10.0.0.9');
    expect(c.rt.status()).toMatchObject({ state: 'BACKUP', sourceIp: '10.0.0.9' });
  });

  it('a VIP flushed by someone else while master: re-added without a transition', async () => {
    const t = lab();
    t.kernel.setLink('eth0', 2, true);
    t.kernel.addAddr('eth0', '10.0.0.1');
    t.watch.start();
    t.rt.start();
    t.advance(3610);
    await t.settle();
    t.kernel.addAddr('eth0', '10.0.0.100'); // what our add did
    const transitions = t.rt.status().transitions;
    t.vipOps.length = 0;
    t.kernel.delAddr('10.0.0.100');
    await t.settle();
    expect(t.vipOps).toEqual(['add', 'garp']);
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', transitions });
  });
});
