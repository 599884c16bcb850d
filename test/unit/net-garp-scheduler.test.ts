import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { VirtualIp } from '../../src/config/model.js';
import { createLogger } from '../../src/daemon/log.js';
import { GarpScheduler, type GarpPolicy, type Timers } from '../../src/net/garp.js';

/** Timers driven by advance(): callbacks run in due order, at their due time. */
class FakeClock implements Timers {
  now = 0;
  private seq = 0;
  private pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get timers(): number {
    return this.pending.size;
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}

function vip(address: string, dev: string | null = null): VirtualIp {
  const v6 = address.includes(':');
  return {
    address, family: v6 ? 6 : 4, prefixLen: v6 ? 128 : 32, brd: null, dev, scope: null, label: null,
    peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: { file: 'k.conf', line: 1 },
  };
}

const KEEPALIVED_DEFAULTS: GarpPolicy = { delay: 5, repeat: 5, refresh: 0, refreshRepeat: 1, interval: 0, minGarp: false };

function setup(policy: Partial<GarpPolicy>, vips = [vip('10.0.0.100'), vip('10.0.0.101', 'eth1')]) {
  const clock = new FakeClock();
  const sent: { t: number; dev: string; ip: string }[] = [];
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        cb();
      },
    }),
  });
  let failOn: string | null = null;
  const sched = new GarpScheduler({
    instance: 'VI_1', interface: 'eth0', vips, log, timers: clock,
    policy: { ...KEEPALIVED_DEFAULTS, ...policy },
    send: (dev, ip, count) => {
      expect(count).toBe(1);
      if (ip === failOn) throw new Error(`interface ${dev} does not exist`);
      sent.push({ t: clock.now, dev, ip });
    },
  });
  return { clock, sent, lines, sched, failOn: (ip: string) => (failOn = ip) };
}

describe('GarpScheduler', () => {
  it('sends the first burst synchronously on start, round robin over VIPs on their devices', () => {
    const { sched, sent } = setup({});
    sched.start();
    expect(sent).toHaveLength(10);
    expect(sent.slice(0, 4)).toEqual([
      { t: 0, dev: 'eth0', ip: '10.0.0.100' }, { t: 0, dev: 'eth1', ip: '10.0.0.101' },
      { t: 0, dev: 'eth0', ip: '10.0.0.100' }, { t: 0, dev: 'eth1', ip: '10.0.0.101' },
    ]);
  });

  it('sends the second burst after garp_master_delay and nothing more without refresh', () => {
    const { sched, sent, clock } = setup({});
    sched.start();
    clock.advance(4999);
    expect(sent).toHaveLength(10);
    clock.advance(1);
    expect(sent).toHaveLength(20);
    expect(sent[19]!.t).toBe(5000);
    clock.advance(600_000);
    expect(sent).toHaveLength(20);
    expect(clock.timers).toBe(0);
  });

  it('vrrp_min_garp: one GARP per VIP, no second burst', () => {
    const { sched, sent, clock } = setup({ minGarp: true });
    sched.start();
    clock.advance(60_000);
    expect(sent.map((s) => s.ip)).toEqual(['10.0.0.100', '10.0.0.101']);
  });

  it('garp_master_delay 0: no second burst', () => {
    const { sched, sent, clock } = setup({ delay: 0, repeat: 2 });
    sched.start();
    clock.advance(60_000);
    expect(sent).toHaveLength(4);
  });

  it('spaces GARPs by garp_interval', () => {
    const { sched, sent, clock } = setup({ repeat: 2, interval: 0.1, delay: 0 });
    sched.start();
    expect(sent).toHaveLength(1);
    clock.advance(1000);
    expect(sent.map((s) => s.t)).toEqual([0, 100, 200, 300]);
  });

  it('refreshes every garp_master_refresh with refresh_repeat GARPs while master', () => {
    const { sched, sent, clock } = setup({ repeat: 1, delay: 0, refresh: 60, refreshRepeat: 2 });
    sched.start();
    expect(sent).toHaveLength(2);
    clock.advance(60_000);
    expect(sent).toHaveLength(6);
    clock.advance(60_000);
    expect(sent).toHaveLength(10);
    expect(sent.slice(6).every((s) => s.t === 120_000)).toBe(true);
  });

  it('stop() cancels the second burst, refresh and queued GARPs', () => {
    const { sched, sent, clock } = setup({ repeat: 3, interval: 1, delay: 5, refresh: 10 });
    sched.start();
    clock.advance(1000);
    expect(sent).toHaveLength(2);
    sched.stop();
    expect(sched.running).toBe(false);
    expect(clock.timers).toBe(0);
    clock.advance(600_000);
    expect(sent).toHaveLength(2);
  });

  it('start() again restarts the schedule instead of stacking a second one', () => {
    const { sched, sent, clock } = setup({ repeat: 1, delay: 5 });
    sched.start();
    clock.advance(2000);
    sched.start();
    clock.advance(3000); // the first start's second burst would be due now
    expect(sent).toHaveLength(4);
    clock.advance(2000);
    expect(sent).toHaveLength(6);
  });

  it('skips IPv6 VIPs and says so once at debug', () => {
    const { sched, sent, lines } = setup({ repeat: 1, delay: 0 }, [vip('2001:db8::1'), vip('10.0.0.100')]);
    sched.start();
    sched.start();
    expect(sent.map((s) => s.ip)).toEqual(['10.0.0.100', '10.0.0.100']);
    expect(lines.filter((l) => /Neighbour Adverts/.test(l.msg) && l.level === 20)).toHaveLength(1);
  });

  it('logs keepalived\'s debug line per VIP and burst', () => {
    const { sched, lines } = setup({ repeat: 5, delay: 0 });
    sched.start();
    expect(lines.filter((l) => l.level === 20).map((l) => l.msg)).toEqual([
      '(VI_1) Sending/queueing gratuitous ARPs on eth0 for 10.0.0.100',
      '(VI_1) Sending/queueing gratuitous ARPs on eth1 for 10.0.0.101',
    ]);
  });

  it('a failing send is logged once per VIP and does not stop the other VIPs', () => {
    const { sched, sent, lines, failOn } = setup({ repeat: 5, delay: 0 });
    failOn('10.0.0.100');
    expect(() => sched.start()).not.toThrow();
    expect(sent.map((s) => s.ip)).toEqual(Array(5).fill('10.0.0.101'));
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toBe('(VI_1) Error sending gratuitous ARP on eth0 for 10.0.0.100: interface eth0 does not exist');
  });

  it('burst() alone sends N per VIP (garp_lower_prio_repeat) without starting timers', () => {
    const { sched, sent, clock } = setup({});
    sched.burst(2);
    expect(sent).toHaveLength(4);
    expect(clock.timers).toBe(0);
  });

  it('setVips() changes the targets of the next burst', () => {
    const { sched, sent, clock } = setup({ repeat: 1, delay: 5 });
    sched.start();
    sched.setVips([vip('10.0.0.200')]);
    clock.advance(5000);
    expect(sent.map((s) => s.ip)).toEqual(['10.0.0.100', '10.0.0.101', '10.0.0.200']);
  });
});
