// vrrp_sync_group with real instance runtimes (fake wire, VIPs and clock): members enter MASTER,
// BACKUP and FAULT together, and one member hearing a live master keeps the group backup.
import { describe, expect, it } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { createLogger } from '../../src/daemon/log.js';
import { VrrpInstanceRuntime, type InstanceSpec } from '../../src/vrrp/instance.js';
import { encodeIpv4Header } from '../../src/vrrp/ipv4.js';
import { AUTH_NONE, encodeAdvert } from '../../src/vrrp/packet.js';
import { SyncGroup } from '../../src/vrrp/sync-group.js';

function lab(n = 2) {
  let now = 0;
  let seq = 0;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
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
  const group = new SyncGroup('G1', log);
  const sent: string[] = [];
  const rts = Array.from({ length: n }, (_, i) => {
    const name = `VI_${i + 1}`;
    const addr = `10.0.${i}.100`;
    const vip: VirtualIp = {
      address: addr, family: 4, prefixLen: 24, brd: null, dev: null, scope: null, label: null,
      peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false, loc: { file: 't', line: 1 },
    };
    const spec: InstanceSpec = {
      fsm: {
        name, priority: 100, advertIntMs: 1000, initialState: 'BACKUP', nopreempt: false, preemptDelayMs: 0,
        downTimerAdverts: 3, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, garpLowerPrioRepeat: 0,
        garpLowerPrioDelayMs: 0, ownIp: `10.0.${i}.1`,
      },
      interface: `eth${i}`, vrid: 51 + i, advertIntSec: 1, authType: AUTH_NONE, authData: Buffer.alloc(8), advertAddresses: [addr],
      vips: [vip], excludedCount: 0, srcIp: `10.0.${i}.1`, srcConfigured: false, destinations: ['224.0.0.18'],
      unicast: false, ttl: 255, checkUnicastSrc: false, peerTtl: null, skipCheckAdvAddr: false, dontTrackPrimary: false,
    };
    const rt: VrrpInstanceRuntime = new VrrpInstanceRuntime(spec, {
      log, clock: () => now, timers: timerApi,
      send: async (p) => { sent.push(`${name}:${p[20 + 2]}`); },
      applyVips: async () => ({ ok: true, failures: [] }),
      garp: { setVips: () => undefined, start: () => undefined, stop: () => undefined, burst: () => undefined },
      onTransition: (r, rec) => group.onTransition(r, rec),
      mayTakeOver: (r) => group.mayTakeOver(r),
      onFaultsChanged: () => group.faultsChanged(),
    });
    group.add(rt);
    return rt;
  });
  const advert = (i: number, priority: number): Buffer => {
    const v = encodeAdvert({ vrid: 51 + i, priority, authType: 0, advertInt: 1, addresses: [`10.0.${i}.100`], authData: Buffer.alloc(8) });
    return Buffer.concat([encodeIpv4Header({ src: `10.0.${i}.2`, dst: '224.0.0.18', ttl: 255, tos: 0xc0, protocol: 112, payloadLength: v.length }), v]);
  };
  const states = (): string[] => rts.map((r) => r.state);
  return { rts, group, advance, lines, advert, states, sent, now: () => now };
}

describe('vrrp_sync_group', () => {
  it('members become MASTER together (all timers out), and the group says so once', () => {
    const t = lab();
    for (const r of t.rts) r.start();
    t.advance(3610);
    expect(t.states()).toEqual(['MASTER', 'MASTER']);
    expect(t.lines.filter((l) => l.includes('Syncing instances to MASTER state'))).toEqual(['VRRP_Group(G1) Syncing instances to MASTER state']);
    expect(t.group.groupState).toBe('MASTER');
  });

  it('one member still hearing a master keeps the whole group backup (no half-master group)', () => {
    const t = lab();
    for (const r of t.rts) r.start();
    // VI_2 hears its master every second; VI_1 hears nobody.
    for (let i = 0; i < 10; i++) {
      t.rts[1]!.onPacket(t.advert(1, 150), t.now());
      t.advance(1000);
    }
    expect(t.states()).toEqual(['BACKUP', 'BACKUP']);
    // VI_2's master goes: once VI_2's timer runs out too, both take over.
    t.advance(3700);
    expect(t.states()).toEqual(['MASTER', 'MASTER']);
  });

  it('a member yielding to a higher priority takes the others to BACKUP', () => {
    const t = lab();
    for (const r of t.rts) r.start();
    t.advance(3610);
    t.rts[0]!.onPacket(t.advert(0, 200), t.now());
    expect(t.states()).toEqual(['BACKUP', 'BACKUP']);
    expect(t.lines).toContain('VRRP_Group(G1) Syncing instances to BACKUP state');
    expect(t.rts[1]!.status().lastTransition).toMatchObject({ from: 'MASTER', to: 'BACKUP', reason: 'sync_group' });
  });

  it('one member\'s fault puts the group in FAULT; the group leaves FAULT when no member has one of its own', () => {
    const t = lab();
    for (const r of t.rts) r.start();
    t.advance(3610);
    t.rts[1]!.setFault('interface', 'eth1', 'down');
    expect(t.states()).toEqual(['FAULT', 'FAULT']);
    expect(t.lines).toContain('VRRP_Group(G1) Syncing instances to FAULT state');
    expect(t.rts[0]!.status().faults.map((f) => f.key)).toEqual(['sync_group:G1']);
    // Both faulty, then the first clears: still FAULT, because the other still has its own.
    t.rts[0]!.setFault('interface', 'eth0', 'down');
    t.rts[1]!.clearFault('interface', 'eth1');
    expect(t.states()).toEqual(['FAULT', 'FAULT']);
    t.rts[0]!.clearFault('interface', 'eth0');
    expect(t.states()).toEqual(['BACKUP', 'BACKUP']);
    t.advance(3610);
    expect(t.states()).toEqual(['MASTER', 'MASTER']);
    // Priority 0 went out from both members when they left MASTER for FAULT.
    expect(t.sent.filter((x) => x.endsWith(':0')).sort()).toEqual(['VI_1:0', 'VI_2:0']);
  });
});
