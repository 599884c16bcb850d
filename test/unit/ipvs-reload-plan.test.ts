// The pure reload plan of the checker side (src/ipvs/reload-plan.ts): matching of virtual servers,
// real servers and checkers across two configurations, the IPVS commands against a picture of the
// kernel, and keepalived's words for what a reload removes.
import { describe, expect, it } from 'vitest';
import type { RealServer, VirtualServer } from '../../src/config/model.js';
import type { IpvsService } from '../../src/ipvs/model.js';
import { formatCheckerPlan, ipvsReloadOps, planCheckerReload, removedRealServerEvents, removedVirtualServerEvents } from '../../src/ipvs/reload-plan.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

const rs = (ip: string, over: Partial<RealServer> = {}) => realServer(ip, 80, { checkers: [tcpCheck()], ...over });
const vs = (ip: string, servers: RealServer[], over: Partial<VirtualServer> = {}) => virtualServer(ip, 80, { realServers: servers, ...over });
const moved = <T>(x: T): T => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'loc' ? { file: 'other.conf', line: 42 } : v))) as T;

/** A service as the kernel would hold it (hand-written, not from desired.ts). */
const svc = (vip: string, dests: [string, number][], scheduler = 'wlc'): IpvsService => ({
  addr: { kind: 'ip', protocol: 'tcp', ip: vip, port: 80, family: 4 },
  scheduler, persistence: null, netmask: null, ops: false, schedFlags: [],
  dests: dests.map(([ip, weight]) => ({ ip, port: 80, family: 4, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0 })),
});

describe('planCheckerReload', () => {
  const base = config([vs('10.0.0.100', [rs('10.0.0.2'), rs('10.0.0.3')]), vs('10.0.0.101', [rs('10.0.0.4')])]);

  it('the same file re-read (other source lines, other order): everything kept', () => {
    const next = moved(base);
    next.virtualServers.reverse();
    const p = planCheckerReload(base, next);
    expect(p.virtualServers.map((v) => [v.name, v.kind, v.oldIndex, v.newIndex])).toEqual([
      ['[10.0.0.100]:tcp:80', 'kept', 0, 1],
      ['[10.0.0.101]:tcp:80', 'kept', 1, 0],
    ]);
    expect(p.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers.map((c) => c.kind)))).toEqual(['kept', 'kept', 'kept']);
  });

  it('real servers added and removed, a setting changed in place, checkers kept, restarted, added, removed', () => {
    const next = config([
      vs('10.0.0.100', [
        rs('10.0.0.2', { weight: 4, checkers: [tcpCheck(), tcpCheck({ connectPort: 8080, retry: 3 })] }),
        rs('10.0.0.5'),
      ]),
      vs('10.0.0.101', [rs('10.0.0.4', { checkers: [tcpCheck({ connectTimeout: 9 })] })]),
    ]);
    const old = config([
      vs('10.0.0.100', [rs('10.0.0.2', { checkers: [tcpCheck(), tcpCheck({ connectPort: 8080 }), tcpCheck({ connectPort: 9090 })] }), rs('10.0.0.3')]),
      vs('10.0.0.101', [rs('10.0.0.4')]),
    ]);
    const p = planCheckerReload(old, next);
    const [a, b] = p.virtualServers;
    expect(a!.kind).toBe('changed');
    expect(a!.changes).toEqual([]);
    expect(a!.realServers.map((r) => [r.name, r.kind])).toEqual([
      ['[10.0.0.2]:tcp:80', 'changed'], ['[10.0.0.3]:tcp:80', 'removed'], ['[10.0.0.5]:tcp:80', 'added'],
    ]);
    expect(a!.realServers[0]!.changes).toEqual(['weight']);
    // The first is unchanged, the 8080 one changed (retry) pairs with an old TCP_CHECK, 9090 goes.
    expect(a!.realServers[0]!.checkers.map((c) => [c.kind, c.oldIndex, c.newIndex])).toEqual([
      ['kept', 0, 0], ['restarted', 1, 1], ['removed', 2, null],
    ]);
    expect(b!.realServers[0]!.checkers.map((c) => c.kind)).toEqual(['restarted']);
    expect(formatCheckerPlan(p, [])).toEqual([
      'virtual server [10.0.0.100]:tcp:80: changed',
      '  real server [10.0.0.2]:tcp:80: changed: weight; TCP_CHECK restarted (keeps its health); TCP_CHECK removed',
      '  real server [10.0.0.3]:tcp:80: removed',
      '  real server [10.0.0.5]:tcp:80: added',
      'virtual server [10.0.0.101]:tcp:80: changed',
      '  real server [10.0.0.4]:tcp:80: TCP_CHECK restarted (keeps its health)',
      'IPVS: no change',
    ]);
  });

  it('identity: address, protocol and family; a fwmark of the other family is another virtual server', () => {
    const fw = (family: 4 | 6): VirtualServer => ({ ...vs('0.0.0.0', [rs('10.0.0.2')]), address: { kind: 'fwmark', fwmark: 7, family }, family });
    const udp = vs('10.0.0.100', [rs('10.0.0.2')], { protocol: 'UDP' });
    const p = planCheckerReload(config([fw(4), vs('10.0.0.100', [rs('10.0.0.2')])]), config([fw(6), udp]));
    expect(p.virtualServers.map((v) => [v.name, v.kind])).toEqual([
      ['FWM 7', 'removed'], ['[10.0.0.100]:tcp:80', 'removed'], ['FWM 7', 'added'], ['[10.0.0.100]:udp:80', 'added'],
    ]);
  });

  it('a virtual_server_group whose members changed is a change of its virtual server', () => {
    const g = (ip: string) => ({ name: 'G', loc: { file: 'a', line: 1 }, entries: [{ kind: 'ip', ip, port: 80, family: 4 }] });
    const gvs: VirtualServer = { ...vs('0.0.0.0', [rs('10.0.0.2')]), address: { kind: 'group', group: 'G' } };
    const old = config([gvs], { virtualServerGroups: [g('10.0.0.100')] as never });
    const next = config([moved(gvs)], { virtualServerGroups: [g('10.0.0.200')] as never });
    expect(planCheckerReload(old, next).virtualServers[0]).toMatchObject({ kind: 'changed', changes: ['virtual_server_group'] });
    expect(planCheckerReload(old, moved(old)).virtualServers[0]!.kind).toBe('kept');
  });

  it('an SSL_GET checker restarts when the SSL block changes; a TCP_CHECK does not care', () => {
    const ssl = { type: 'SSL_GET', urls: [], connectTimeout: 5, retry: 1, delayBeforeRetry: 1, delayLoop: 60, loc: { file: 'a', line: 1 } } as never;
    const old = config([vs('10.0.0.100', [rs('10.0.0.2', { checkers: [ssl, tcpCheck()] })])], { ssl: { certificate: '/a.pem', key: null, ca: null, password: null, loc: { file: 'a', line: 1 } } as never });
    const next = { ...moved(old), ssl: { certificate: '/b.pem', key: null, ca: null, password: null, loc: { file: 'a', line: 1 } } as never };
    expect(planCheckerReload(old, next).virtualServers[0]!.realServers[0]!.checkers.map((c) => c.kind)).toEqual(['restarted', 'kept']);
  });
});

describe('ipvsReloadOps', () => {
  it('diffs against the picture: -a/-d/-e/-E for kept services, -D only for services hakeep managed', () => {
    const picture = new Map([
      ['-t 10.0.0.100:80', svc('10.0.0.100', [['10.0.0.2', 1], ['10.0.0.3', 1]])],
      ['-t 10.0.0.101:80', svc('10.0.0.101', [['10.0.0.4', 1]])],
      ['-t 10.9.9.9:80', svc('10.9.9.9', [['10.0.0.7', 3]], 'wrr')],
    ]);
    const desired = [svc('10.0.0.100', [['10.0.0.2', 1], ['10.0.0.5', 2]], 'rr')];
    const ops = ipvsReloadOps(picture, desired, ['-t 10.0.0.100:80', '-t 10.0.0.101:80', '-t 10.0.0.102:80']);
    expect(ops.map((o) => o.line)).toEqual([
      '-E -t 10.0.0.100:80 -s rr',
      '-d -t 10.0.0.100:80 -r 10.0.0.3:80',
      '-a -t 10.0.0.100:80 -r 10.0.0.5:80 -m -w 2',
      '-D -t 10.0.0.101:80',
    ]);
    // The same desired table as the picture: nothing.
    expect(ipvsReloadOps(picture, [...picture.values()].slice(0, 2), ['-t 10.0.0.100:80', '-t 10.0.0.101:80'])).toEqual([]);
  });
});

describe('what a reload removes, in keepalived\'s words (ipwrapper.c clear_diff_rs / clear_diff_services)', () => {
  it('a real server: "no longer exist", "Removing service", notify_down when it was alive', () => {
    const down = { command: 'down.sh', user: null };
    expect(removedRealServerEvents('[10.0.0.100]:tcp:80', '[10.0.0.3]:tcp:80', { inhibitOnFailure: false, notifyDown: down }, true, true).map((e) => (e.kind === 'log' ? e.msg : `${e.what}:${e.command.command}`))).toEqual([
      'service [10.0.0.3]:tcp:80 no longer exist',
      'Removing service [10.0.0.3]:tcp:80 from VS [10.0.0.100]:tcp:80',
      'notify_down:down.sh',
    ]);
    expect(removedRealServerEvents('V', 'R', { inhibitOnFailure: true, notifyDown: down }, false, true).map((e) => e.kind === 'log' && e.msg)).toEqual([
      'service R no longer exist', 'Removing (inhibited) service R from VS V',
    ]);
  });

  it('a virtual server: its line, each real server in IPVS, down notifiers, quorum_down when it had the quorum', () => {
    const v = vs('10.0.0.101', [rs('10.0.0.4', { notifyDown: { command: 'd.sh', user: null } }), rs('10.0.0.5')], { quorumDown: { command: 'q.sh', user: null } });
    const ev = removedVirtualServerEvents(v, [true, false], [true, false], true);
    expect(ev.map((e) => (e.kind === 'log' ? e.msg : `${e.what}:${e.command.command}`))).toEqual([
      'Removing Virtual Server [10.0.0.101]:tcp:80',
      'Removing service [10.0.0.4]:tcp:80 from VS [10.0.0.101]:tcp:80',
      'notify_down:d.sh',
      'quorum_down:q.sh',
    ]);
    const g: VirtualServer = { ...v, address: { kind: 'group', group: 'G' } };
    expect(removedVirtualServerEvents(g, [false, false], [false, false], false).map((e) => e.kind === 'log' && e.msg)).toEqual(['Removing Virtual Server Group [G]']);
  });
});
