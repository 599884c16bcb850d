import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { desiredServices, serviceAddrs } from '../../src/ipvs/desired.js';
import { applyToTable, diffTables, removalCommands } from '../../src/ipvs/diff.js';
import { parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';
import { toTable } from '../../src/ipvs/model.js';
import type { IpvsService } from '../../src/ipvs/model.js';
import { startPool } from '../../src/ipvs/pool.js';
import { LB_ALGOS } from '../../src/config/model.js';
import type { VirtualServer } from '../../src/config/model.js';
import { realServer, virtualServer } from './ipvs-fixtures.js';
import { FakeKernel, tableArb } from './ipvs-kernel-fake.js';
import { serviceKey } from '../../src/ipvs/model.js';



function desired(vs: VirtualServer, alive = vs.realServers.map(() => true)): IpvsService[] {
  return desiredServices(vs, [], startPool(vs, alive).state);
}

// Real output of `ipvsadm -S -n` (ipvsadm 1.31, Linux 6.1 in UML).
const SAVED = `-A -t 10.0.0.100:80 -s wlc
-a -t 10.0.0.100:80 -r 10.9.0.2:8080 -m -w 3
-a -t 10.0.0.100:80 -r 10.9.0.3:80 -g -w 0
-A -t 10.0.0.101:80 -s sh -p 60 -b sh-fallback,sh-port
-a -t 10.0.0.101:80 -r 10.9.0.3:80 -g -w 1
-a -t 10.0.0.101:80 -r 10.9.0.4:80 -i -w 1 --tun-type ipip
-A -u 10.0.0.100:53 -s rr -p 300 -M 255.255.255.0 -o
-A --sctp-service 10.0.0.100:90 -s lc
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1
-A -f 7 -s mh -b mh-port
-a -f 7 -r 10.9.0.4:0 -g -w 1
-a -f 7 -r 10.9.0.5:99 -m -w 1
-A -f 8 -6 -s rr
`;

describe('parseIpvsadmSave', () => {
  it('reads services, destinations, flags and both families', () => {
    const { table, errors } = parseIpvsadmSave(SAVED);
    expect(errors).toEqual([]);
    expect([...table.keys()]).toEqual([
      '-t 10.0.0.100:80', '-t 10.0.0.101:80', '-u 10.0.0.100:53', '--sctp-service 10.0.0.100:90',
      '-t [2001:db8::1]:80', '-f 7', '-f 8 -6',
    ]);
    expect(table.get('-t 10.0.0.100:80')!.dests).toEqual([
      { ip: '10.9.0.2', family: 4, port: 8080, forward: 'masq', weight: 3, upperThreshold: 0, lowerThreshold: 0 },
      { ip: '10.9.0.3', family: 4, port: 80, forward: 'route', weight: 0, upperThreshold: 0, lowerThreshold: 0 },
    ]);
    expect(table.get('-t 10.0.0.101:80')).toMatchObject({ scheduler: 'sh', persistence: 60, schedFlags: ['flag-1', 'flag-2'] });
    expect(table.get('-t 10.0.0.101:80')!.dests[1]!.forward).toBe('tunnel');
    expect(table.get('-u 10.0.0.100:53')).toMatchObject({ scheduler: 'rr', persistence: 300, netmask: '255.255.255.0', ops: true });
    expect(table.get('-t [2001:db8::1]:80')!.dests[0]).toMatchObject({ ip: '2001:db8::2', family: 6, port: 80 });
    expect(table.get('-f 8 -6')!.addr).toEqual({ kind: 'fwmark', fwmark: 8, family: 6 });
    expect(table.get('-f 7')!.dests.map((d) => d.port)).toEqual([0, 99]);
  });

  it('reads an empty table', () => {
    expect(parseIpvsadmSave('').table.size).toBe(0);
  });
});

describe('desiredServices', () => {
  it('maps lb_algo, lb_kind, persistence, granularity, ops and scheduler flags', () => {
    const vs = virtualServer('10.0.0.100', 53, {
      protocol: 'UDP', lbAlgo: 'sh', lbKind: 'DR', persistenceTimeout: 300, persistenceGranularity: '255.255.255.0',
      ops: true, schedFlags: ['sh-port'],
      realServers: [realServer('10.0.0.2', 5353, { weight: 4 }), realServer('10.0.0.3', 53, { lbKind: 'TUN' })],
    });
    const [svc] = desired(vs);
    expect(svc).toMatchObject({
      addr: { kind: 'ip', protocol: 'udp', ip: '10.0.0.100', port: 53, family: 4 },
      scheduler: 'sh', persistence: 300, netmask: '255.255.255.0', ops: true, schedFlags: ['flag-2'],
    });
    // DR and TUN destinations take the service port, as ipvsadm stores them.
    expect(svc!.dests).toMatchObject([
      { ip: '10.0.0.2', port: 53, forward: 'route', weight: 4 },
      { ip: '10.0.0.3', port: 53, forward: 'tunnel', weight: 1 },
    ]);
  });

  it('drops ops on TCP and the host netmask, and passes every lb_algo through', () => {
    for (const algo of LB_ALGOS) {
      const [svc] = desired(virtualServer('10.0.0.100', 80, { lbAlgo: algo, ops: true, persistenceTimeout: 60, persistenceGranularity: '255.255.255.255' }));
      expect(svc).toMatchObject({ scheduler: algo, ops: false, netmask: null, persistence: 60 });
    }
  });

  it('expands a virtual_server_group and handles fwmark and IPv6', () => {
    const vs = virtualServer('0.0.0.0', 0, {
      address: { kind: 'group', group: 'G' },
      realServers: [realServer('10.0.0.2', 8080)],
    });
    const groups = [{
      name: 'G', loc: { file: 'x', line: 1 },
      entries: [
        { kind: 'ip' as const, ip: '10.0.0.100', port: 80, family: 4 as const },
        { kind: 'ip' as const, ip: '10.0.0.101', port: 80, family: 4 as const },
        { kind: 'fwmark' as const, fwmark: 5, family: 4 as const },
      ],
    }];
    const svcs = desiredServices(vs, groups, startPool(vs, [true]).state);
    expect(svcs.map((s) => s.addr)).toEqual(serviceAddrs(vs, groups));
    expect(diffTables(svcs, new Map())).toEqual([
      '-A -t 10.0.0.100:80 -s wlc', '-a -t 10.0.0.100:80 -r 10.0.0.2:8080 -m -w 1',
      '-A -t 10.0.0.101:80 -s wlc', '-a -t 10.0.0.101:80 -r 10.0.0.2:8080 -m -w 1',
      '-A -f 5 -s wlc', '-a -f 5 -r 10.0.0.2:8080 -m -w 1',
    ]);
    const v6 = virtualServer('2001:DB8::0001', 80, { realServers: [realServer('2001:db8:0::2', 80)] });
    expect(diffTables(desired(v6), new Map())).toEqual([
      '-A -t [2001:db8::1]:80 -s wlc', '-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1',
    ]);
    const fw = virtualServer('0.0.0.0', 0, { address: { kind: 'fwmark', fwmark: 9, family: 6 }, lbKind: 'DR', realServers: [realServer('2001:db8::2', 0)] });
    expect(diffTables(desired(fw), new Map())).toEqual(['-A -f 9 -6 -s wlc', '-a -f 9 -6 -r [2001:db8::2]:0 -g -w 1']);
    // keepalived programs a DR/TUN destination of a fwmark service with port 0 (ipvswrapper.c:613-614).
    const fw80 = virtualServer('0.0.0.0', 0, { address: { kind: 'fwmark', fwmark: 9, family: 4 }, lbKind: 'DR', realServers: [realServer('10.0.0.2', 80), realServer('10.0.0.3', 8080, { lbKind: 'NAT' })] });
    expect(diffTables(desired(fw80), new Map())).toEqual(['-A -f 9 -s wlc', '-a -f 9 -r 10.0.0.2:0 -g -w 1', '-a -f 9 -r 10.0.0.3:8080 -m -w 1']);
  });
});

describe('diffTables', () => {
  const vs = virtualServer('10.0.0.100', 80, {
    lbAlgo: 'wrr', persistenceTimeout: 900,
    realServers: [realServer('10.0.0.2', 80, { weight: 3, uthreshold: 100, lthreshold: 10 }), realServer('10.0.0.3', 80)],
  });

  it('creates a missing service with all its destinations, thresholds included', () => {
    expect(diffTables(desired(vs), new Map())).toEqual([
      '-A -t 10.0.0.100:80 -s wrr -p 900',
      '-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3 -x 100 -y 10',
      '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1',
    ]);
  });

  it('is a no-op when the kernel already matches (read back through the parser)', () => {
    const saved = '-A -t 10.0.0.100:80 -s wrr -p 900\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n';
    expect(diffTables(desired(vs), parseIpvsadmSave(saved).table)).toEqual([]);
  });

  it('restores a destination deleted by hand and removes one that should not be there', () => {
    const saved = '-A -t 10.0.0.100:80 -s wrr -p 900\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.7:80 -m -w 1\n';
    expect(diffTables(desired(vs), parseIpvsadmSave(saved).table)).toEqual([
      '-d -t 10.0.0.100:80 -r 10.0.0.7:80',
      '-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3 -x 100 -y 10',
    ]);
  });

  it('edits changed service settings and destination weights/forwarding in place', () => {
    const saved = '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -g -w 3\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 5\n';
    expect(diffTables(desired(vs), parseIpvsadmSave(saved).table)).toEqual([
      '-E -t 10.0.0.100:80 -s wrr -p 900',
      '-e -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 3 -x 100 -y 10',
      '-e -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1',
    ]);
  });

  it('weights a failed inhibit_on_failure server 0 instead of removing it', () => {
    const v = { ...vs, realServers: [vs.realServers[0]!, { ...vs.realServers[1]!, inhibitOnFailure: true }] };
    const before = toTable(desired(v));
    expect(diffTables(desired(v, [true, false]), before)).toEqual(['-e -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 0']);
    expect(diffTables(desired(vs, [true, false]), toTable(desired(vs)))).toEqual(['-d -t 10.0.0.100:80 -r 10.0.0.3:80']);
  });

  it('never touches services that are not in the config', () => {
    const saved = '-A -t 10.0.0.200:80 -s rr\n-a -t 10.0.0.200:80 -r 10.0.0.7:80 -m -w 1\n';
    const observed = parseIpvsadmSave(saved).table;
    const cmds = diffTables(desired(vs), observed);
    expect(cmds.some((c) => c.includes('10.0.0.200'))).toBe(false);
    expect(removalCommands(desired(vs), observed)).toEqual([]);
    expect(removalCommands(desired(vs), applyToTable(observed, desired(vs)))).toEqual(['-D -t 10.0.0.100:80']);
  });

  it('converges: the commands applied by a fake ipvsadm leave nothing to do (property)', () => {
    fc.assert(fc.property(tableArb, tableArb, fc.boolean(), (want, had, foreign) => {
      // Only services both tables name are compared with each other; a service only in `had` is
      // not configured, so it must stay as it is (like a hand-made one).
      const kernel = new FakeKernel();
      expect(kernel.restore(diffTables(had, new Map()))).toEqual({ output: '', exitCode: 0 });
      if (foreign) kernel.restore(['-A -t 10.9.9.9:80 -s rr', '-a -t 10.9.9.9:80 -r 10.1.0.2:80 -m -w 1']);
      const before = kernel.save();
      const cmds = diffTables(want, parseIpvsadmSave(before).table);
      expect(kernel.restore(cmds)).toEqual({ output: '', exitCode: 0 });
      const after = parseIpvsadmSave(kernel.save());
      expect(after.errors).toEqual([]);
      expect(diffTables(want, after.table)).toEqual([]);
      const wanted = new Set(want.map((w) => serviceKey(w.addr)));
      for (const line of before.split('\n').filter((l) => l.startsWith('-A'))) {
        const key = serviceKey(parseIpvsadmSave(line).table.values().next().value!.addr);
        if (!wanted.has(key)) expect(after.table.has(key)).toBe(true);
      }
    }), { numRuns: 300 });
  });
});
