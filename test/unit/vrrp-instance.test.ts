// The instance shell with fakes: a manual clock and timers, a recording wire, VIP and GARP fakes.
import { describe, expect, it } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { createLogger } from '../../src/daemon/log.js';
import type { TimerApi } from '../../src/vrrp/deadline-timer.js';
import { VrrpInstanceRuntime, type InstanceSpec } from '../../src/vrrp/instance.js';
import { encodeIpv4Header } from '../../src/vrrp/ipv4.js';
import { AUTH_PASS, decodeAdvert, encodeAdvert, passwordBytes, type AdvertInput } from '../../src/vrrp/packet.js';
import { checkAdvert } from '../../src/vrrp/validate.js';
import type { AdvertPacer, PacedPacket } from '../../src/vrrp/advert-pacer.js';

class FakeTime implements TimerApi {
  now = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== h);
  }
  /** Move the clock forward, firing due timers in order (optionally `lateMs` after their time). */
  advance(ms: number, lateMs = 0): void {
    const end = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at + lateMs > end) break;
      this.timers.shift();
      this.now = Math.max(this.now, t.at + lateMs);
      t.fn();
    }
    this.now = end;
  }
}

const vip: VirtualIp = {
  address: '10.0.0.100', family: 4, prefixLen: 24, brd: null, dev: null, scope: null, label: null,
  peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: { file: 't', line: 1 },
};

function spec(over: Partial<InstanceSpec['fsm']> = {}): InstanceSpec {
  return {
    fsm: {
      name: 'VI_1', priority: 100, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: false,
      preemptDelayMs: 0, downTimerAdverts: 3, lowerPrioNoAdvert: false, higherPrioSendAdvert: false,
      garpLowerPrioRepeat: 0, garpLowerPrioDelayMs: 0, ownIp: '10.0.0.1', ...over,
    },
    interface: 'eth0', vrid: 51, advertIntSec: 1, authType: AUTH_PASS, authData: passwordBytes('secret'),
    advertAddresses: ['10.0.0.100'], vips: [vip], excludedCount: 0, srcIp: '10.0.0.1', srcConfigured: false,
    destinations: ['224.0.0.18'], unicast: false, ttl: 255, checkUnicastSrc: false, peerTtl: null, skipCheckAdvAddr: false,
    dontTrackPrimary: false,
  };
}

interface SetupOptions {
  /** VIP adds fail this many times before succeeding. */
  addFailures?: number;
  /** Called by the runtime's drain dependency. */
  drain?: (rt: VrrpInstanceRuntime) => void;
  garpThrows?: boolean;
  pacer?: AdvertPacer;
}

function setup(over: Partial<InstanceSpec['fsm']> = {}, sendFails = false, opts: SetupOptions = {}) {
  let addFailures = opts.addFailures ?? 0;
  const time = new FakeTime();
  const events: string[] = [];
  const sent: Buffer[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } } });
  const rt = new VrrpInstanceRuntime(spec(over), {
    log,
    clock: () => time.now,
    timers: time,
    send: async (packet, dst) => {
      if (sendFails) throw new Error('Network is unreachable');
      sent.push(packet);
      const v = checkAdvert(packet, {
        instance: 'x', vrid: 51, authType: AUTH_PASS, authData: passwordBytes('secret'), advertInt: 1,
        vips: ['10.0.0.100'], unicast: false, checkVipAddresses: true, allowedSources: null,
      });
      events.push(`send:${dst}:${v.ok ? v.advert.priority : `invalid ${v.reason}`}`);
    },
    applyVips: async (op, vips) => {
      events.push(`vips:${op}:start`);
      await new Promise((r) => setTimeout(r, 2)); // like `ip` taking a moment
      events.push(`vips:${op}:done`);
      if (op === 'add' && addFailures > 0) {
        addFailures -= 1;
        return { ok: false, failures: vips.map((v) => ({ vip: `${v.address}/${v.prefixLen}`, dev: 'eth0', command: 'ip address add', error: 'Operation not permitted' })) };
      }
      return { ok: true, failures: [] };
    },
    removeVipsNow: (vips) => { events.push(`vips:del-now:${vips.length}`); },
    drain: () => { events.push('drain'); opts.drain?.(rt); },
    garp: {
      setVips: (v) => { events.push(`garp:vips:${v.map((x) => x.address).join(',')}`); },
      start: () => {
        if (opts.garpThrows) throw new Error('AF_PACKET send failed');
        events.push('garp:start');
      },
      stop: () => events.push('garp:stop'),
      burst: (n) => events.push(`garp:burst:${n}`),
    },
    vipRetry: { firstMs: 1000, maxMs: 4000 },
    ...(opts.pacer ? { pacer: opts.pacer } : {}),
  });
  return { time, events, sent, lines, rt, msgs: () => lines.map((l) => l.msg) };
}

function advert(over: Partial<AdvertInput> = {}, src = '10.0.0.2', ttl = 255): Buffer {
  const v = encodeAdvert({ vrid: 51, priority: 150, authType: AUTH_PASS, advertInt: 1, addresses: ['10.0.0.100'], authData: passwordBytes('secret'), ...over });
  return Buffer.concat([encodeIpv4Header({ src, dst: '224.0.0.18', ttl, tos: 0xc0, protocol: 112, payloadLength: v.length }), v]);
}

const settle = async (rt: VrrpInstanceRuntime): Promise<void> => {
  await rt.idle();
  await new Promise((r) => setImmediate(r));
};

describe('VRRP instance runtime', () => {
  it('clears leftover VIPs, then becomes master in keepalived order: advert, VIPs, GARP', async () => {
    const t = setup();
    t.rt.start();
    expect(t.rt.status().state).toBe('BACKUP');
    await settle(t.rt);
    expect(t.events).toEqual(['vips:del:start', 'vips:del:done']);
    t.time.advance(3609);
    expect(t.rt.status().state).toBe('BACKUP');
    t.time.advance(1);
    await settle(t.rt);
    expect(t.events.slice(2)).toEqual(['send:224.0.0.18:100', 'vips:add:start', 'vips:add:done', 'garp:vips:10.0.0.100', 'garp:start']);
    expect(t.msgs()).toContain('(VI_1) Entering MASTER STATE');
    expect(t.msgs()).toContain('(VI_1) setting VIPs.');
    const s = t.rt.status();
    expect(s).toMatchObject({ state: 'MASTER', masterIp: '10.0.0.1', vipsConfigured: true, transitions: 2, lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' } });
    // The advert on the wire: TTL 255, TOS 0xc0, our source, valid VRRPv2.
    const pkt = t.sent[0]!;
    expect([pkt[1], pkt[8]]).toEqual([0xc0, 255]);
    expect(`${pkt[12]}.${pkt[13]}.${pkt[14]}.${pkt[15]}`).toBe('10.0.0.1');
    expect(decodeAdvert(pkt.subarray(20))).toMatchObject({ ok: true, advert: { vrid: 51, priority: 100, addresses: ['10.0.0.100'] } });
    // And one advert per second after that.
    t.time.advance(3000);
    await settle(t.rt);
    expect(t.rt.status().counters.advertsSent).toBe(4);
  });

  it('yields to a higher-priority master: GARP stops before the VIPs go', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    t.rt.onPacket(advert({ priority: 150 }), t.time.now);
    await settle(t.rt);
    expect(t.events).toEqual(['garp:stop', 'vips:del:start', 'vips:del:done']);
    expect(t.msgs()).toContain('(VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100');
    expect(t.rt.status()).toMatchObject({ state: 'BACKUP', masterIp: '10.0.0.2', masterPriority: 150, vipsConfigured: false });
    expect(t.rt.status().counters.advertsReceived).toBe(1);
  });

  it('counts rejected packets by reason and logs them at a bounded rate, without changing state', async () => {
    const t = setup();
    t.rt.start();
    for (let i = 0; i < 20; i++) {
      t.rt.onPacket(advert({ authData: passwordBytes('wrong') }), t.time.now);
      t.rt.onPacket(advert({ advertInt: 2 }), t.time.now);
      t.rt.onPacket(advert({}, '10.0.0.2', 64), t.time.now);
      t.time.advance(100);
    }
    t.rt.onUnclaimed(advert({ vrid: 52 }), 52, t.time.now);
    t.rt.onUnclaimed(Buffer.from([1, 2, 3]), null, t.time.now);
    const s = t.rt.status();
    expect(s.counters.rejected).toEqual({ bad_password: 20, advert_interval_mismatch: 20, bad_ttl: 20, wrong_vrid: 1, bad_ip_header: 1 });
    expect(s.counters.advertsReceived).toBe(0);
    expect(s.state).toBe('BACKUP');
    const pw = t.lines.filter((l) => l.msg === '(VI_1) received an invalid passwd!');
    expect(pw).toHaveLength(1);
    expect(pw[0]).toMatchObject({ instance: 'VI_1', reason: 'bad_password', from: '10.0.0.2', rejected: 1 });
    expect(t.msgs()).toContain("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec");
    expect(t.msgs()).toContain('(VI_1) invalid TTL/HL. Received 64 and expect 255');
    // The down timer was not touched by any of them: it still fires on time.
    t.time.advance(3610 - 2000);
    expect(t.rt.status().state).toBe('MASTER');
    // After the window, the next one is logged again with the number suppressed.
    t.time.advance(30_000);
    t.rt.onPacket(advert({ authData: passwordBytes('wrong') }), t.time.now);
    expect(t.lines.filter((l) => l.msg === '(VI_1) received an invalid passwd!').at(-1)).toMatchObject({ suppressed: 19, rejected: 21 });
  });

  it('stops as master: priority 0 on the wire, VIPs removed, then resolves', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    await t.rt.stop();
    expect(t.events).toEqual(['send:224.0.0.18:0', 'garp:stop', 'vips:del:start', 'vips:del:done']);
    expect(t.rt.status()).toMatchObject({ state: 'INIT', vipsConfigured: false, lastTransition: { reason: 'shutdown' } });
    // Nothing happens after stop.
    t.rt.onPacket(advert(), t.time.now);
    t.time.advance(10_000);
    expect(t.events).toHaveLength(4);
  });

  it('keeps running when the wire refuses adverts, logging the error once', async () => {
    const t = setup({}, true);
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.time.advance(5000);
    await settle(t.rt);
    const s = t.rt.status();
    expect(s.state).toBe('MASTER');
    expect(s.counters.sendErrors).toBe(6);
    expect(t.msgs().filter((m) => String(m).startsWith('(VI_1) Cant send advert to 224.0.0.18'))).toHaveLength(1);
  });

  it('measures how late its timer fires', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(8000, 7); // every wake-up 7 ms late
    const timer = t.rt.status().timer;
    expect(timer.fired).toBeGreaterThan(3);
    expect(timer.maxMs).toBeGreaterThanOrEqual(7);
    expect(timer.over50Ms).toBe(0);
  });

  it('faults from any source: priority 0 first, VIPs removed; back to BACKUP only when every reason is gone', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    t.rt.setFault('interface', 'eth0', 'down');
    await settle(t.rt);
    expect(t.events).toEqual(['send:224.0.0.18:0', 'garp:stop', 'vips:del:start', 'vips:del:done']);
    expect(t.msgs()).toContain('(VI_1) fault: interface eth0 down');
    expect(t.msgs()).toContain('(VI_1) Entering FAULT STATE');
    const s = t.rt.status();
    expect(s).toMatchObject({ state: 'FAULT', vipsPresent: [], lastTransition: { to: 'FAULT', reason: 'fault', faults: 'interface eth0 down' } });
    expect(s.faults.map((f) => f.key)).toEqual(['interface:eth0']);
    // A second reason, then the first clears: still FAULT, no adverts.
    t.time.advance(100);
    t.rt.setFault('address', 'eth0', 'no IPv4 address');
    t.rt.clearFault('interface', 'eth0');
    t.time.advance(10_000);
    await settle(t.rt);
    expect(t.rt.status().state).toBe('FAULT');
    expect(t.events.filter((e) => e.startsWith('send:'))).toEqual(['send:224.0.0.18:0']);
    // The last one clears: BACKUP, then the election (no master heard: MASTER after the down timer).
    t.rt.clearFault('address', 'eth0');
    expect(t.rt.status().state).toBe('BACKUP');
    t.time.advance(3610);
    await settle(t.rt);
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', vipsConfigured: true, counters: { faults: 1, becameMaster: 2, releasedMaster: 1 } });
  });

  it('starts in FAULT (init) when a reason is known before start, e.g. the interface is missing', () => {
    const t = setup();
    t.rt.setFault('interface', 'eth0', 'missing');
    t.rt.start();
    expect(t.rt.status().state).toBe('FAULT');
    expect(t.msgs()).toContain('(VI_1) Entering FAULT STATE (init)');
    t.time.advance(20_000);
    expect(t.rt.status().state).toBe('FAULT');
    expect(t.events.filter((e) => e.startsWith('send:'))).toEqual([]);
    t.rt.clearFault('interface', 'eth0');
    expect(t.rt.status().state).toBe('BACKUP');
  });

  it('loses its advert source address: FAULT; a new address: back, advertising from it', async () => {
    const t = setup();
    t.rt.start();
    t.rt.setSourceAddress(null);
    expect(t.rt.status()).toMatchObject({ state: 'FAULT', faults: [{ key: 'address:eth0', detail: 'no IPv4 address' }] });
    t.rt.setSourceAddress('10.0.0.7');
    t.time.advance(3610);
    await settle(t.rt);
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', sourceIp: '10.0.0.7' });
    const pkt = t.sent.at(-1)!;
    expect(`${pkt[12]}.${pkt[13]}.${pkt[14]}.${pkt[15]}`).toBe('10.0.0.7');
  });

  it('a VIP deleted by someone else while master is put back and re-announced, with no transition', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    const before = t.rt.status().transitions;
    t.rt.onAddressDeleted('eth0', '10.0.0.100');
    await settle(t.rt);
    expect(t.events).toEqual(['vips:add:start', 'vips:add:done', 'garp:vips:10.0.0.100', 'garp:start']);
    expect(t.msgs()).toContain('(VI_1) VIP 10.0.0.100/24 was deleted from eth0 outside hakeep; re-adding it and re-sending gratuitous ARPs');
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', transitions: before, vipsConfigured: true, counters: { vipsReadded: 1 } });
    // Other addresses, other interfaces, and a backup: nothing to do.
    t.rt.onAddressDeleted('eth0', '10.0.0.1');
    t.rt.onAddressDeleted('eth1', '10.0.0.100');
    await settle(t.rt);
    expect(t.events).toHaveLength(4);
  });

  it('a VIP the kernel refuses is not announced, is retried with backoff while master, and shows in status', async () => {
    const t = setup({}, false, { addFailures: 2 });
    t.rt.start();
    await settle(t.rt);
    t.time.advance(3610);
    await settle(t.rt);
    // Failed: no GARP for an address that is not there.
    expect(t.events.slice(2)).toEqual(['send:224.0.0.18:100', 'vips:add:start', 'vips:add:done', 'garp:vips:', 'garp:start']);
    let s = t.rt.status();
    expect(s).toMatchObject({ state: 'MASTER', vipsConfigured: false, vipsPresent: [] });
    expect(s.vipFailures).toMatchObject([{ vip: '10.0.0.100/24', error: 'Operation not permitted', attempts: 1 }]);
    t.events.length = 0;
    const vipEvents = (): string[] => t.events.filter((e) => !e.startsWith('send:'));
    t.time.advance(1000); // first retry after 1 s: fails again
    await settle(t.rt);
    expect(vipEvents()).toEqual(['vips:add:start', 'vips:add:done']);
    expect(t.rt.status().vipFailures[0]!.attempts).toBe(2);
    t.time.advance(1999); // the second retry waits 2 s
    await settle(t.rt);
    expect(vipEvents()).toHaveLength(2);
    t.time.advance(1);
    await settle(t.rt);
    expect(vipEvents().slice(2)).toEqual(['vips:add:start', 'vips:add:done', 'garp:vips:10.0.0.100', 'garp:start']);
    s = t.rt.status();
    expect(s).toMatchObject({ vipsConfigured: true, vipFailures: [] });
    expect(t.msgs()).toContain('(VI_1) VIP 10.0.0.100/24 added after 2 failed attempt(s)');
  });

  it('a throwing action does not stop the others, nor the advert timer', async () => {
    const t = setup({}, false, { garpThrows: true });
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.time.advance(3000);
    await settle(t.rt);
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', vipsConfigured: true, counters: { advertsSent: 4 } });
    expect(t.msgs().some((m) => String(m).includes('AF_PACKET send failed'))).toBe(true);
  });

  it('reads queued adverts before a late takeover: a master heard in the queue keeps it backup', async () => {
    const t = setup({}, false, {
      drain: (rt) => rt.onPacket(advert({ priority: 150 }), t.time.now),
    });
    t.rt.start();
    t.time.advance(3810, 200); // the loop stalled: the down timer fires 200 ms late
    await settle(t.rt);
    expect(t.events).toContain('drain');
    expect(t.rt.status()).toMatchObject({ state: 'BACKUP', masterIp: '10.0.0.2' });
    // On time: no drain, a normal takeover.
    const u = setup();
    u.rt.start();
    u.time.advance(3620, 2);
    expect(u.events).not.toContain('drain');
    expect(u.rt.status().state).toBe('MASTER');
  });

  it('re-announces to a lower-priority master twice: at once and after garp_lower_prio_delay', async () => {
    const t = setup({ priority: 150, garpLowerPrioRepeat: 5, garpLowerPrioDelayMs: 5000 });
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    t.rt.onPacket(advert({ priority: 100 }), t.time.now);
    await settle(t.rt);
    expect(t.events).toEqual(['send:224.0.0.18:150', 'garp:vips:10.0.0.100', 'garp:burst:5']);
    t.time.advance(5000);
    await settle(t.rt);
    expect(t.events.slice(3).filter((e) => e.startsWith('garp'))).toEqual(['garp:vips:10.0.0.100', 'garp:burst:5']);
    // Each advert of the peer forces an election but the line is rate-limited.
    for (let i = 0; i < 10; i++) t.rt.onPacket(advert({ priority: 100 }), t.time.now);
    expect(t.msgs().filter((m) => String(m).includes('with lower priority 100'))).toHaveLength(1);
  });

  it('emergency stop: priority 0 and VIP removal happen synchronously, then nothing', async () => {
    const t = setup();
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    expect(t.rt.emergencyStop()).toBe(true);
    expect(t.events).toEqual(['send:224.0.0.18:0', 'garp:stop', 'vips:del-now:1']);
    t.time.advance(10_000);
    t.rt.onPacket(advert(), t.time.now);
    await settle(t.rt);
    expect(t.events).toHaveLength(3);
  });

  it('reload in place: a master adds new VIPs (announced), removes dropped ones, and advertises a new priority, without a transition', async () => {
    const t = setup();
    t.rt.start();
    await settle(t.rt);
    t.time.advance(3610);
    await settle(t.rt);
    const transitions = t.rt.status().transitions;
    t.events.length = 0;
    const vip2: VirtualIp = { ...vip, address: '10.0.0.101' };
    const next = spec({ priority: 120 });
    next.vips = [vip2];
    next.advertAddresses = ['10.0.0.101'];
    t.rt.update(next);
    await settle(t.rt);
    expect(t.events.filter((e) => !e.startsWith('send:'))).toEqual(['vips:del:start', 'vips:del:done', 'garp:vips:', 'vips:add:start', 'vips:add:done', 'garp:vips:10.0.0.101', 'garp:start']);
    expect(t.msgs()).toContain('(VI_1) Changing effective priority from 100 to 120');
    t.time.advance(1000);
    await settle(t.rt);
    const adv = decodeAdvert(t.sent.at(-1)!.subarray(20));
    expect(adv).toMatchObject({ ok: true, advert: { priority: 120, addresses: ['10.0.0.101'] } });
    expect(t.rt.status()).toMatchObject({ state: 'MASTER', transitions, vips: ['10.0.0.101/24'], vipsPresent: ['10.0.0.101/24'], priority: 120 });
  });
});

/** Stands in for the pacer thread: fire(now) sends what is due, as the thread would. */
class FakePacer implements AdvertPacer {
  readonly calls: string[] = [];
  armed: { slot: number; packets: PacedPacket[]; state: 'armed' | 'sent' } | null = null;
  wire: Array<{ at: number; priority: number }> = [];
  errno = 0;
  arm(slot: number, packets: PacedPacket[]): void {
    const prio = packets[0]!.packet[20 + 2]!;
    this.calls.push(`arm ${slot} prio ${prio}`);
    if (this.armed?.slot === slot && this.armed.state === 'sent') return;
    this.armed = { slot, packets, state: 'armed' };
  }
  claim(slot: number): number {
    this.calls.push(`claim ${slot}`);
    const a = this.armed;
    if (a === null || a.slot !== slot) return -1;
    this.armed = null;
    return a.state === 'sent' ? this.errno : -1;
  }
  cancel(): void {
    this.calls.push('cancel');
    if (this.armed?.state === 'armed') this.armed = null;
  }
  close(): void {
    this.calls.push('close');
    this.armed = null;
  }
  fire(now: number): void {
    const a = this.armed;
    if (a === null || a.state !== 'armed' || a.slot > now) return;
    a.state = 'sent';
    if (this.errno === 0) this.wire.push({ at: now, priority: a.packets[0]!.packet[22]! });
  }
}

describe('VRRP instance runtime with the advert pacer', () => {
  const master = async (pacer: FakePacer) => {
    const t = setup({}, false, { pacer });
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    expect(t.rt.status().state).toBe('MASTER');
    return t;
  };

  it('arms the next slot of the cadence after each advert; the slot the thread sent is not sent again', async () => {
    const p = new FakePacer();
    const t = await master(p);
    // Became master when the down timer ran out: the first advert from the loop, the next one armed.
    const first = t.rt.status().counters.advertsSent;
    expect(first).toBe(1);
    const slot = p.armed!.slot;
    expect(slot).toBe(t.rt.status().lastTransition!.at + 1000);
    // The thread sends at the due time; the loop's timer fires 300 ms late and claims it.
    p.fire(slot);
    t.events.length = 0;
    t.time.advance(slot + 400 - t.time.now, 300);
    await settle(t.rt);
    expect(t.events.filter((e) => e.startsWith('send:'))).toEqual([]);
    expect(p.wire).toEqual([{ at: slot, priority: 100 }]);
    expect(t.rt.status().counters).toMatchObject({ advertsSent: 2, advertsPaced: 1, sendErrors: 0 });
    // The cadence stays on the grid: the next slot is one interval after the last, not after the late wake-up.
    expect(p.armed).toMatchObject({ slot: slot + 1000, state: 'armed' });
  });

  it('sends from the loop when the thread has not (yet) sent the slot it claims', async () => {
    const p = new FakePacer();
    const t = await master(p);
    t.events.length = 0;
    t.time.advance(1000); // no fire(): the loop's timer gets there first
    await settle(t.rt);
    expect(t.events.filter((e) => e.startsWith('send:'))).toEqual(['send:224.0.0.18:100']);
    expect(t.rt.status().counters).toMatchObject({ advertsSent: 2, advertsPaced: 0 });
  });

  it('cancels what is armed before a priority-0 advert and closes at stop: nothing follows it', async () => {
    const p = new FakePacer();
    const t = await master(p);
    p.calls.length = 0;
    t.events.length = 0;
    await t.rt.stop();
    expect(p.calls).toEqual(['cancel', 'close']);
    expect(t.events[0]).toBe('send:224.0.0.18:0');
    t.time.advance(5000);
    p.fire(t.time.now);
    expect(p.wire).toEqual([]);
  });

  it('cancels on leaving MASTER for a higher-priority master, before the VIPs go', async () => {
    const p = new FakePacer();
    const t = await master(p);
    p.calls.length = 0;
    t.rt.onPacket(advert({ priority: 150 }), t.time.now);
    await settle(t.rt);
    expect(t.rt.status().state).toBe('BACKUP');
    expect(p.calls).toEqual(['cancel']);
    expect(p.armed).toBeNull();
  });

  it('re-arms the same slot with the new priority when a tracker changes it', async () => {
    const p = new FakePacer();
    const t = await master(p);
    const slot = p.armed!.slot;
    t.rt.setTrackWeight('script chk', -20);
    expect(p.calls.at(-1)).toBe(`arm ${slot} prio 80`);
    expect(p.armed!.packets[0]!.packet[22]).toBe(80);
  });

  it('counts and logs a send the thread could not make', async () => {
    const p = new FakePacer();
    p.errno = 100; // ENETDOWN
    const t = await master(p);
    const slot = p.armed!.slot;
    p.fire(slot);
    t.time.advance(slot + 10 - t.time.now, 5);
    await settle(t.rt);
    expect(t.rt.status().counters).toMatchObject({ advertsSent: 1, advertsPaced: 0, sendErrors: 1 });
    expect(t.msgs()).toContain('(VI_1) Cant send advert to 224.0.0.18 (ENETDOWN (errno 100))');
  });
});
