// virtual_routes / virtual_rules in the instance runtime (src/vrrp/instance.ts): when they are
// added and removed relative to the VIPs (keepalived vrrp.c:1666-1682 and 1746-1776), leftovers
// cleared at start, the last-resort stop, and a reload that changes exactly the difference.
// A manual clock and recording fakes for the wire, VIPs, GARP and routes.
import { describe, expect, it } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { parseConfigText } from '../../src/config/load.js';
import type { RouteSpec, RuleSpec } from '../../src/config/routes.js';
import { createLogger } from '../../src/daemon/log.js';
import type { TimerApi } from '../../src/vrrp/deadline-timer.js';
import { VrrpInstanceRuntime, type InstanceSpec } from '../../src/vrrp/instance.js';
import { encodeIpv4Header } from '../../src/vrrp/ipv4.js';
import { AUTH_PASS, encodeAdvert, passwordBytes } from '../../src/vrrp/packet.js';

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
  advance(ms: number): void {
    const end = this.now + ms;
    for (let n = 0; n < 10_000; n++) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.now = Math.max(this.now, t.at);
      t.fn();
    }
    this.now = end;
  }
}

const vip: VirtualIp = {
  address: '10.0.0.100', family: 4, prefixLen: 24, brd: null, dev: null, scope: null, label: null,
  peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: { file: 't', line: 1 },
};

function parsed(routes: string[], rules: string[]): { routes: RouteSpec[]; rules: RuleSpec[] } {
  const r = parseConfigText([
    'vrrp_instance VI_1 {', 'interface eth0', 'virtual_router_id 51', 'priority 100', 'virtual_ipaddress { 10.0.0.100/24 }',
    'virtual_routes {', ...routes, '}', 'virtual_rules {', ...rules, '}', '}',
  ].join('\n'), 'r.conf');
  expect(r.errorCount).toBe(0);
  const i = r.config.vrrpInstances[0]!;
  return { routes: i.virtualRoutes, rules: i.virtualRules };
}

function spec(routes: RouteSpec[], rules: RuleSpec[]): InstanceSpec {
  return {
    fsm: {
      name: 'VI_1', priority: 100, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: false,
      preemptDelayMs: 0, downTimerAdverts: 3, lowerPrioNoAdvert: false, higherPrioSendAdvert: false,
      garpLowerPrioRepeat: 0, garpLowerPrioDelayMs: 0, ownIp: '10.0.0.1',
    },
    interface: 'eth0', vrid: 51, advertIntSec: 1, authType: AUTH_PASS, authData: passwordBytes('secret'),
    advertAddresses: ['10.0.0.100'], vips: [vip], excludedCount: 0, srcIp: '10.0.0.1', srcConfigured: false,
    destinations: ['224.0.0.18'], unicast: false, ttl: 255, checkUnicastSrc: false, peerTtl: null, skipCheckAdvAddr: false,
    dontTrackPrimary: false, routes, rules,
  };
}

const names = (op: string, routes: RouteSpec[], rules: RuleSpec[]): string =>
  `routes:${op}:${routes.map((r) => `${r.dst.address}/${r.dst.len}`).join(',')}|${rules.map((r) => r.priority).join(',')}`;

function setup(routes: RouteSpec[], rules: RuleSpec[], refuse: string[] = []) {
  const time = new FakeTime();
  const events: string[] = [];
  const log = createLogger({ level: 'error', destination: { write: () => undefined } });
  const rt = new VrrpInstanceRuntime(spec(routes, rules), {
    log,
    clock: () => time.now,
    timers: time,
    send: async () => { events.push('send'); },
    applyVips: async (op) => {
      events.push(`vips:${op}`);
      await new Promise((r) => setTimeout(r, 1));
      return { ok: true, failures: [] };
    },
    removeVipsNow: () => { events.push('vips:del-now'); },
    applyRoutes: (op, rs, ls) => {
      events.push(names(op, rs, ls));
      // The kernel refusing the routes to the destinations in `refuse` (as src/net/routes.ts reports them).
      return { failures: rs.filter((r) => refuse.includes(r.dst.address)).map((r) => ({ what: `route ${r.dst.address}/${r.dst.len}`, error: 'ack: Nexthop has invalid gateway' })) };
    },
    garp: { setVips: () => undefined, start: () => events.push('garp:start'), stop: () => events.push('garp:stop'), burst: () => undefined },
  });
  return { time, events, rt };
}

const settle = async (rt: VrrpInstanceRuntime): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await rt.idle();
    await new Promise((r) => setImmediate(r));
  }
};

function higherAdvert(): Buffer {
  const v = encodeAdvert({ vrid: 51, priority: 150, authType: AUTH_PASS, advertInt: 1, addresses: ['10.0.0.100'], authData: passwordBytes('secret') });
  return Buffer.concat([encodeIpv4Header({ src: '10.0.0.2', dst: '224.0.0.18', ttl: 255, tos: 0xc0, protocol: 112, payloadLength: v.length }), v]);
}

describe('virtual routes and rules follow MASTER', () => {
  const base = parsed(['10.9.0.0/24 dev eth0 table 100', '10.8.0.0/16 via 10.0.0.254 protocol 4 no_track'], ['from 10.0.0.100 table 100 priority 100']);

  it('start clears leftovers of protocol keepalived only; MASTER adds routes then rules after the VIPs; leaving removes them before the VIPs', async () => {
    const t = setup(base.routes, base.rules);
    t.rt.start();
    await settle(t.rt);
    // The protocol-4 route (no_track) is the operator's kind of route: never deleted blindly.
    expect(t.events).toEqual(['vips:del', 'routes:del:10.9.0.0/24|100']);
    t.events.length = 0;
    t.time.advance(3610);
    await settle(t.rt);
    expect(t.rt.status().state).toBe('MASTER');
    expect(t.events).toEqual(['send', 'vips:add', 'routes:add:10.9.0.0/24,10.8.0.0/16|100', 'garp:start']);
    t.events.length = 0;
    t.rt.onPacket(higherAdvert(), t.time.now);
    await settle(t.rt);
    expect(t.rt.status().state).toBe('BACKUP');
    expect(t.events).toEqual(['garp:stop', 'routes:del:10.9.0.0/24,10.8.0.0/16|100', 'vips:del']);
    await t.rt.stop();
  });

  it('a backup never adds them, and its stop removes nothing of them', async () => {
    const t = setup(base.routes, base.rules);
    t.rt.start();
    await settle(t.rt);
    t.events.length = 0;
    t.rt.onPacket(higherAdvert(), t.time.now);
    t.time.advance(1000);
    t.rt.onPacket(higherAdvert(), t.time.now);
    await t.rt.stop();
    await settle(t.rt);
    expect(t.events.filter((e) => e.startsWith('routes:'))).toEqual([]);
  });

  it('stop as master: priority 0, then rules/routes, then VIPs', async () => {
    const t = setup(base.routes, base.rules);
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    await t.rt.stop();
    expect(t.events).toEqual(['send', 'garp:stop', 'routes:del:10.9.0.0/24,10.8.0.0/16|100', 'vips:del']);
  });

  it('the last-resort stop removes them synchronously with the VIPs', async () => {
    const t = setup(base.routes, base.rules);
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    expect(t.rt.emergencyStop()).toBe(true);
    expect(t.events).toEqual(['send', 'garp:stop', 'routes:del:10.9.0.0/24,10.8.0.0/16|100', 'vips:del-now']);
  });

  it('what the kernel refused is in the status while master, and cleared when it leaves MASTER', async () => {
    const t = setup(base.routes, base.rules, ['10.8.0.0']);
    t.rt.start();
    await settle(t.rt);
    expect(t.rt.status().routeFailures).toEqual([]);
    t.time.advance(3610);
    await settle(t.rt);
    expect(t.rt.status().routeFailures).toEqual(['route 10.8.0.0/16: ack: Nexthop has invalid gateway']);
    t.rt.onPacket(higherAdvert(), t.time.now);
    await settle(t.rt);
    expect(t.rt.status().routeFailures).toEqual([]);
    await t.rt.stop();
    // Without routes or rules the field is absent.
    const none = setup([], []);
    expect(none.rt.status().routeFailures).toBeUndefined();
  });

  it('reload on a master adds and removes exactly the difference; on a backup it sends nothing', async () => {
    const t = setup(base.routes, base.rules);
    t.rt.start();
    t.time.advance(3610);
    await settle(t.rt);
    t.events.length = 0;
    const next = parsed(['10.9.0.0/24 dev eth0 table 100', '10.7.0.0/16 dev eth0'], ['from 10.0.0.100 table 100 priority 100', 'fwmark 5 table 100 priority 101']);
    t.rt.update(spec(next.routes, next.rules));
    await settle(t.rt);
    expect(t.events).toEqual(['routes:del:10.8.0.0/16|', 'routes:add:10.7.0.0/16|101']);
    // Unchanged lists: nothing sent.
    t.events.length = 0;
    t.rt.update(spec(next.routes, next.rules));
    await settle(t.rt);
    expect(t.events).toEqual([]);
    await t.rt.stop();

    const b = setup(base.routes, base.rules);
    b.rt.start();
    await settle(b.rt);
    b.events.length = 0;
    b.rt.update(spec(next.routes, next.rules));
    await settle(b.rt);
    expect(b.events).toEqual([]);
    await b.rt.stop();
  });
});
