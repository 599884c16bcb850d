// The `ipvsadm -S -n` reader on real output. test/uml/fixtures/ipvsadm-1.31-save.txt is what
// ipvsadm 1.31 printed in UML (Linux 6.1) for the table test/uml/guest/ipvsadm-forms.sh builds;
// ipvsadm-1.26-save.txt is ipvsadm 1.26 (built from source, sockopt interface) reading the same
// table. Lines the reader cannot fully read keep their service (never "absent").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffService, diffTables } from '../../src/ipvs/diff.js';
import { parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';
import type { IpvsService } from '../../src/ipvs/model.js';
import { FakeKernel } from './ipvs-kernel-fake.js';

const FIXTURES = join(import.meta.dirname, '../uml/fixtures');
const SAVED_131 = readFileSync(join(FIXTURES, 'ipvsadm-1.31-save.txt'), 'utf8');
const SAVED_126 = readFileSync(join(FIXTURES, 'ipvsadm-1.26-save.txt'), 'utf8');

/** The commands test/uml/guest/ipvsadm-forms.sh gave the real ipvsadm. */
function formsCommands(): string[] {
  const script = readFileSync(join(import.meta.dirname, '../uml/guest/ipvsadm-forms.sh'), 'utf8');
  const body = /ipvsadm -R <<'RULES'\n([\s\S]*?)\nRULES/.exec(script)![1]!;
  return body.split('\n');
}

describe('parseIpvsadmSave on real ipvsadm 1.31 output', () => {
  const { table, errors } = parseIpvsadmSave(SAVED_131);

  it('reads every line', () => {
    expect(errors).toEqual([]);
    expect([...table.values()].filter((s) => s.unreadable || s.unreadableDests || s.dests.some((d) => d.unreadable))).toEqual([]);
    expect(table.size).toBe(16);
  });

  it('persistence with a netmask, --pe and -o (1.31 writes them with dashes)', () => {
    expect(table.get('-u 10.81.1.3:5060')).toMatchObject({ scheduler: 'rr', persistence: 300, netmask: '255.255.255.0', persistenceEngine: 'sip', ops: true });
    expect(table.get('-u 10.81.1.4:53')).toMatchObject({ ops: true, persistence: null });
    expect(table.get('-f 9')).toMatchObject({ persistence: 60, netmask: '255.255.0.0', ops: true });
  });

  it('port 0 with persistence, SCTP, IPv6 services and destinations, fwmark with -6', () => {
    expect(table.get('-t 10.81.1.2:0')!.dests).toMatchObject([{ ip: '10.81.0.2', port: 0, forward: 'route' }]);
    expect(table.get('--sctp-service 10.81.1.5:3868')!.dests).toMatchObject([{ port: 3868, forward: 'masq', weight: 5 }]);
    expect(table.get('-t [fd00:81::100]:80')).toMatchObject({ persistence: 60, netmask: '64', addr: { family: 6, ip: 'fd00:81::100' } });
    expect(table.get('-t [fd00:81::100]:80')!.dests.map((d) => [d.ip, d.port, d.forward])).toEqual([['fd00:81::2', 8080, 'masq'], ['fd00:81::3', 80, 'route']]);
    expect(table.get('-f 8 -6')).toMatchObject({ addr: { kind: 'fwmark', fwmark: 8, family: 6 }, persistence: 120, netmask: '48' });
    expect(table.get('-f 7')!.dests.map((d) => `${d.ip}:${d.port}/${d.forward}`)).toEqual(['10.81.0.2:0/route', '10.81.0.3:8080/masq']);
  });

  it('scheduler flags in every spelling, including the bare `-b ` of flag-3 on sh', () => {
    expect(table.get('-t 10.81.1.6:443')!.schedFlags).toEqual(['flag-1', 'flag-2']);
    expect(table.get('-t 10.81.1.7:443')!.schedFlags).toEqual(['flag-2']);
    expect(table.get('-t 10.81.1.8:443')!.schedFlags).toEqual(['flag-1', 'flag-3']);
    expect(table.get('-t 10.81.1.9:443')!.schedFlags).toEqual([]);
    expect(table.get('-f 10 -6')).toMatchObject({ scheduler: 'sh', schedFlags: ['flag-2'] });
  });

  it('tunnel types, ports and checksum options; an IPv6 TUN destination of an IPv4 service', () => {
    const t = new Map(table.get('-t 10.81.1.10:80')!.dests.map((d) => [d.ip, d]));
    expect(t.get('fd00:81::7')).toMatchObject({ family: 6, forward: 'tunnel' });
    expect(t.get('fd00:81::7')!.tunnel).toBeUndefined(); // ipip
    expect(t.get('10.81.0.7')!.tunnel).toEqual({ type: 'gue', port: 6080, csum: 'nocsum' });
    expect(t.get('10.81.0.8')!.tunnel).toEqual({ type: 'gue', port: 6081, csum: 'csum' });
    expect(t.get('10.81.0.9')!.tunnel).toEqual({ type: 'gre', port: 0, csum: 'csum' });
    expect(t.get('10.81.0.10')!.tunnel).toEqual({ type: 'gre', port: 0, csum: 'nocsum' });
  });

  it('the desired services that produced this table need no command (read back exactly)', () => {
    // The commands the guest ran, as desired services: read back, nothing to do.
    const fake = new FakeKernel();
    expect(fake.restore(formsCommands())).toEqual({ output: '', exitCode: 0 });
    const want = [...parseIpvsadmSave(fake.save()).table.values()];
    expect(diffTables(want, table)).toEqual([]);
  });
});

describe('the fake kernel used by the unit tests prints what ipvsadm 1.31 printed', () => {
  it('same lines for the same commands (order aside: the kernel hashes services)', () => {
    const fake = new FakeKernel();
    fake.restore(formsCommands());
    const sorted = (t: string) => t.split('\n').filter(Boolean).sort();
    expect(sorted(fake.save())).toEqual(sorted(SAVED_131));
  });
});

describe('parseIpvsadmSave on real ipvsadm 1.26 output', () => {
  it('reads `ops` without dashes and the IPv4 services it can see', () => {
    const { table, errors } = parseIpvsadmSave(SAVED_126);
    expect(errors).toEqual([]);
    expect(table.get('-u 10.81.1.3:5060')).toMatchObject({ persistence: 300, netmask: '255.255.255.0', ops: true });
    expect(table.get('-f 9')).toMatchObject({ ops: true, persistence: 60 });
    expect(table.get('-t 10.81.1.1:80')!.dests.map((d) => d.forward)).toEqual(['masq', 'route', 'tunnel']);
  });

  it('reads `pe NAME` without dashes (ipvsadm 1.26 print_service_entry, netlink builds)', () => {
    const { table, errors } = parseIpvsadmSave('-A -u 10.0.0.1:5060 -s rr -p 300 -M 255.255.255.0 pe sip ops\n');
    expect(errors).toEqual([]);
    expect(table.get('-u 10.0.0.1:5060')).toMatchObject({ persistenceEngine: 'sip', ops: true, netmask: '255.255.255.0' });
  });
});

describe('lines it cannot read: the service stays known', () => {
  const svc = (over: Partial<IpvsService> = {}): IpvsService => ({
    addr: { kind: 'ip', protocol: 'tcp', ip: '10.0.0.1', port: 80, family: 4 }, scheduler: 'rr', persistence: null,
    netmask: null, ops: false, schedFlags: [], dests: [
      { ip: '10.0.0.2', family: 4, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      { ip: '10.0.0.3', family: 4, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
    ], ...over,
  });

  it('an unknown option on -A: the service exists with unknown settings → -E, never -A', () => {
    const text = '-A -t 10.0.0.1:80 -s rr --future-option x\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1\n';
    const { table, errors } = parseIpvsadmSave(text);
    expect(errors).toEqual(['ipvsadm -S line 1 "-A -t 10.0.0.1:80 -s rr --future-option x": unknown option --future-option']);
    expect(table.get('-t 10.0.0.1:80')!.unreadable).toBe('-A -t 10.0.0.1:80 -s rr --future-option x');
    expect(diffTables([svc()], table)).toEqual(['-E -t 10.0.0.1:80 -s rr']);
  });

  it('an unknown option on -a: the destination exists with unknown options → -e (or -d), never -a', () => {
    const text = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1 --future x\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.9:80 -m -w 1 --future y\n';
    const { table } = parseIpvsadmSave(text);
    expect(table.get('-t 10.0.0.1:80')!.dests.map((d) => [d.ip, d.unreadable !== undefined])).toEqual([['10.0.0.2', true], ['10.0.0.3', false], ['10.0.0.9', true]]);
    expect(diffTables([svc()], table)).toEqual(['-d -t 10.0.0.1:80 -r 10.0.0.9:80', '-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1']);
  });

  it('a destination line it cannot place: the list is incomplete, missing ones are added where "already exists" is fine', () => {
    const text = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n-a -t 10.0.0.1:80 -r host.example:80 -m -w 1\n';
    const { table, errors } = parseIpvsadmSave(text);
    expect(errors).toEqual(['ipvsadm -S line 3 "-a -t 10.0.0.1:80 -r host.example:80 -m -w 1": bad destination address after -r']);
    expect(table.get('-t 10.0.0.1:80')!.unreadableDests).toEqual(['-a -t 10.0.0.1:80 -r host.example:80 -m -w 1']);
    expect(diffService(svc(), table.get('-t 10.0.0.1:80'))).toMatchObject([{ cmd: '-a', line: '-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1', mayExist: true }]);
  });

  it('reports what it cannot attribute, and keeps the rest', () => {
    const { table, errors } = parseIpvsadmSave('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m -w 1\n-X junk\n-A --xxx-service 10.0.0.5:1 -s rr\n');
    expect([...table.keys()]).toEqual(['-t 10.0.0.1:80']);
    expect(errors).toEqual([
      'ipvsadm -S line 2 "-a -t 10.0.0.9:80 -r 10.0.0.2:80 -m -w 1": destination before its service',
      'ipvsadm -S line 3 "-X junk": expected -A or -a',
      'ipvsadm -S line 4 "-A --xxx-service 10.0.0.5:1 -s rr": unknown option --xxx-service',
    ]);
  });
});
