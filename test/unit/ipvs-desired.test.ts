// The desired table: drained real servers, tunnel options, keepalived's destination ports and
// families, the persistence engine, and a sorry server that is also a real server.
import { describe, expect, it } from 'vitest';
import { desiredServices, realServerDestKeys } from '../../src/ipvs/desired.js';
import { diffTables } from '../../src/ipvs/diff.js';
import { parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';
import { serviceDestKey } from '../../src/ipvs/model.js';
import { setRealServerAlive, startPool } from '../../src/ipvs/pool.js';
import type { VirtualServer, VirtualServerGroup } from '../../src/config/model.js';
import { realServer, virtualServer } from './ipvs-fixtures.js';
import { FakeKernel } from './ipvs-kernel-fake.js';

const all = (vs: VirtualServer) => startPool(vs, vs.realServers.map(() => true)).state;

describe('drained real servers', () => {
  const vs = virtualServer('10.0.0.100', 80, {
    realServers: [realServer('10.0.0.2', 8080, { weight: 3 }), realServer('10.0.0.3', 8080, { weight: 2 })],
  });

  it('keep weight 0 whatever the pool says; the others keep theirs', () => {
    const [key] = realServerDestKeys(vs, [], vs.realServers[0]!);
    expect(key).toBe('-t 10.0.0.100:80 -r 10.0.0.2:8080');
    const [svc] = desiredServices(vs, [], all(vs), new Set([key!]));
    expect(svc!.dests.map((d) => `${d.ip}/${d.weight}`)).toEqual(['10.0.0.2/0', '10.0.0.3/2']);
  });

  it('survive a re-read: the diff against the kernel puts weight 0 back, never the pool weight', () => {
    const drained = new Set(realServerDestKeys(vs, [], vs.realServers[0]!));
    const kernel = new FakeKernel();
    kernel.restore(diffTables(desiredServices(vs, [], all(vs)), new Map()));
    kernel.restore(diffTables(desiredServices(vs, [], all(vs), drained), parseIpvsadmSave(kernel.save()).table));
    expect(kernel.save()).toContain('-r 10.0.0.2:8080 -m -w 0');
    // Someone sets the weight back by hand: the next re-read drains it again.
    kernel.restore(['-e -t 10.0.0.100:80 -r 10.0.0.2:8080 -m -w 3']);
    expect(diffTables(desiredServices(vs, [], all(vs), drained), parseIpvsadmSave(kernel.save()).table)).toEqual(['-e -t 10.0.0.100:80 -r 10.0.0.2:8080 -m -w 0']);
  });

  it('a drained server the pool removed stays removed', () => {
    const state = setRealServerAlive(vs, all(vs), 0, false).state;
    const [svc] = desiredServices(vs, [], state, new Set(realServerDestKeys(vs, [], vs.realServers[0]!)));
    expect(svc!.dests.map((d) => d.ip)).toEqual(['10.0.0.3']);
  });

  it('keys follow the kernel port: DR takes the service port, a fwmark DR server port 0', () => {
    const dr = virtualServer('10.0.0.100', 80, { lbKind: 'DR', realServers: [realServer('10.0.0.2', 80)] });
    expect(realServerDestKeys(dr, [], dr.realServers[0]!)).toEqual(['-t 10.0.0.100:80 -r 10.0.0.2:80']);
    const fw = virtualServer('0.0.0.0', 0, { address: { kind: 'fwmark', fwmark: 7, family: 6 }, lbKind: 'DR', realServers: [realServer('2001:db8::2', 80)] });
    expect(realServerDestKeys(fw, [], fw.realServers[0]!)).toEqual(['-f 7 -6 -r [2001:db8::2]:0']);
    expect(serviceDestKey({ kind: 'fwmark', fwmark: 7, family: 6 }, { ip: '2001:db8::2', port: 0, family: 6 })).toBe('-f 7 -6 -r [2001:db8::2]:0');
  });
});

describe('tunnel options (lb_kind TUN type …, keepalived check_parser.c:358-448)', () => {
  it('gue with a port, gre with a checksum option, plain ipip as -i; a real server overrides the virtual server', () => {
    const vs = virtualServer('10.0.0.100', 80, {
      lbKind: 'TUN', tunnel: { type: 'gue', port: 6080, csum: 'nocsum' },
      realServers: [
        realServer('10.0.0.2', 80),
        realServer('10.0.0.3', 80, { lbKind: 'TUN', tunnel: { type: 'gre', port: 0, csum: 'csum' } }),
        realServer('10.0.0.4', 80, { lbKind: 'TUN', tunnel: { type: 'ipip', port: 0, csum: 'nocsum' } }),
        realServer('10.0.0.5', 80, { lbKind: 'TUN', tunnel: { type: 'gue', port: 6081, csum: 'remcsum' } }),
      ],
    });
    const cmds = diffTables(desiredServices(vs, [], all(vs)), new Map());
    expect(cmds).toEqual([
      '-A -t 10.0.0.100:80 -s wlc',
      '-a -t 10.0.0.100:80 -r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 6080',
      '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -i -w 1 --tun-type gre --tun-csum',
      '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -i -w 1',
      '-a -t 10.0.0.100:80 -r 10.0.0.5:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum',
    ]);
    // What ipvsadm prints back (--tun-type ipip, --tun-nocsum) reads as the same: nothing to do.
    const kernel = new FakeKernel();
    expect(kernel.restore(cmds).output).toBe('');
    expect(diffTables(desiredServices(vs, [], all(vs)), parseIpvsadmSave(kernel.save()).table)).toEqual([]);
  });

  it('a changed tunnel is edited in place', () => {
    const vs = (port: number) => virtualServer('10.0.0.100', 80, { lbKind: 'TUN', tunnel: { type: 'gue', port, csum: 'nocsum' }, realServers: [realServer('10.0.0.2', 80)] });
    const kernel = new FakeKernel();
    kernel.restore(diffTables(desiredServices(vs(6080), [], all(vs(6080))), new Map()));
    expect(diffTables(desiredServices(vs(7000), [], all(vs(7000))), parseIpvsadmSave(kernel.save()).table)).toEqual([
      '-e -t 10.0.0.100:80 -r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 7000',
    ]);
  });
});

describe('keepalived details of the desired table', () => {
  it('a group fwmark member without a family takes the virtual server family (ipvswrapper.c:469-474)', () => {
    const groups: VirtualServerGroup[] = [{ name: 'G', loc: { file: 't', line: 1 }, entries: [
      { kind: 'fwmark', fwmark: 5, family: 4 },
      { kind: 'fwmark', fwmark: 6, family: 4, familySet: true },
    ] }];
    const vs = virtualServer('0.0.0.0', 0, { address: { kind: 'group', group: 'G' }, family: 6, realServers: [realServer('2001:db8::2', 0)] });
    expect(desiredServices(vs, groups, all(vs)).map((s) => s.addr)).toEqual([
      { kind: 'fwmark', fwmark: 5, family: 6 }, { kind: 'fwmark', fwmark: 6, family: 4 },
    ]);
  });

  it('persistence_engine only goes with persistence (ipvswrapper.c:506-513)', () => {
    const pe = (persistenceTimeout: number | null) => desiredServices(virtualServer('10.0.0.1', 5060, { protocol: 'UDP', persistenceTimeout, persistenceEngine: 'sip' }), [], { alive: [], quorumUp: true, sorryActive: false })[0]!;
    expect(diffTables([pe(300)], new Map())).toEqual(['-A -u 10.0.0.1:5060 -s wlc -p 300 --pe sip']);
    expect(diffTables([pe(null)], new Map())).toEqual(['-A -u 10.0.0.1:5060 -s wlc']);
  });

  it('a sorry server that is also a real server is not pinned at weight 0 by sorry_server_inhibit (ipwrapper.c:666-670)', () => {
    const vs = virtualServer('10.0.0.100', 80, {
      sorryServer: { ip: '10.0.0.2', port: 8080, family: 4 }, sorryServerInhibit: true,
      realServers: [realServer('10.0.0.2', 8080, { weight: 4, inhibitOnFailure: true }), realServer('10.0.0.3', 8080)],
    });
    const [up] = desiredServices(vs, [], all(vs));
    expect(up!.dests.map((d) => `${d.ip}/${d.weight}`)).toEqual(['10.0.0.2/4', '10.0.0.3/1']);
    // Quorum lost: the sorry server stands in with weight 1.
    const down = startPool(vs, [false, false]).state;
    expect(desiredServices(vs, [], down)[0]!.dests.map((d) => `${d.ip}/${d.weight}`)).toEqual(['10.0.0.2/1']);
  });

  it('names each service after its virtual server and config line', () => {
    const vs = virtualServer('10.0.0.100', 80, { loc: { file: '/etc/keepalived/keepalived.conf', line: 12 } });
    expect(desiredServices(vs, [], all(vs))[0]!.name).toBe('VS [10.0.0.100]:tcp:80 (/etc/keepalived/keepalived.conf:12)');
  });
});
