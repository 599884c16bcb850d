// keepalived's corrections and rules for virtual servers, each with its message and file:line, and
// the keepalived source that says so. A correction keepalived makes and runs with is a warning and
// the model holds the corrected value; the resulting commands are ones ipvsadm accepts.
import { describe, expect, test } from 'vitest';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../src/config/index.js';
import { desiredServices } from '../../src/ipvs/desired.js';
import { diffTables } from '../../src/ipvs/diff.js';
import { startPool } from '../../src/ipvs/pool.js';
import type { Config } from '../../src/config/model.js';
import { FakeKernel } from './ipvs-kernel-fake.js';

const F = 'lvs.conf';

function check(text: string) {
  const r = parseConfigText(text, F, { configId: 'test' });
  const all = r.diagnostics.map(formatDiagnostic).join('\n');
  const find = (severity: Diagnostic['severity'], line: number, fragment: string): Diagnostic => {
    const d = r.diagnostics.find((x) => x.severity === severity && x.line === line && x.file === F && x.message.includes(fragment));
    expect(d, `expected ${severity} at ${F}:${line} containing "${fragment}"; got:\n${all}`).toBeDefined();
    return d!;
  };
  return { r, cfg: r.config, find, all };
}

/** Every command the config's virtual servers produce with all real servers up. */
function commands(cfg: Config): string[] {
  return cfg.virtualServers.flatMap((vs) => diffTables(desiredServices(vs, cfg.virtualServerGroups, startPool(vs, vs.realServers.map(() => true)).state), new Map()));
}

/** ipvsadm (the independent fake) accepts every command: no line it would reject is generated. */
function expectAccepted(cfg: Config): string[] {
  const cmds = commands(cfg);
  expect(new FakeKernel().restore(cmds)).toEqual({ output: '', exitCode: 0 });
  return cmds;
}

const rs = (addr: string, extra = '') => `  real_server ${addr} {\n${extra}    TCP_CHECK {\n    }\n  }\n`;

describe('port 0 needs persistence (check_data.c:1119-1126, 1129-1139)', () => {
  test('virtual_server IP 0 without persistence: keepalived turns persistence on, with a warning', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 0 {\n  protocol TCP\n  lb_kind DR\n${rs('10.0.0.2 0')}}\n`);
    find('warning', 1, 'port 0 (or no port) is only valid for a persistent service: keepalived turns persistence on ("zero port only valid for persistent services - setting"), so does hakeep (persistence_timeout 360)');
    expect(cfg.virtualServers[0]!.persistenceTimeout).toBe(360);
    expect(expectAccepted(cfg)).toEqual(['-A -t 10.0.0.1:0 -s wlc -p 360', '-a -t 10.0.0.1:0 -r 10.0.0.2:0 -g -w 1']);
  });

  test('no port at all is port 0 (keepalived 2.0.7+, check_data.c:797-800)', () => {
    const { cfg, find, r } = check(`virtual_server 10.0.0.1 {\n  protocol UDP\n${rs('10.0.0.2 53')}}\n`);
    expect(r.errorCount).toBe(0);
    find('warning', 1, 'zero port only valid for persistent services');
    expect(cfg.virtualServers[0]!.address).toMatchObject({ kind: 'ip', port: 0 });
  });

  test('persistent already: nothing to correct', () => {
    const { cfg, r } = check(`virtual_server 10.0.0.1 0 {\n  protocol TCP\n  persistence_timeout 60\n${rs('10.0.0.2 80')}}\n`);
    expect(r.diagnostics.filter((d) => d.severity !== 'note')).toEqual([]);
    expect(cfg.virtualServers[0]!.persistenceTimeout).toBe(60);
  });

  test('a virtual_server_group member with port 0 turns persistence on for its virtual server', () => {
    const { cfg, find } = check(`virtual_server_group G {\n  10.0.0.1 80\n  10.0.0.2\n}\nvirtual_server group G {\n  protocol TCP\n${rs('10.0.0.9 80')}}\n`);
    find('warning', 5, 'a member of virtual_server_group G with port 0 (or no port) is only valid for a persistent service');
    expect(cfg.virtualServers[0]!.persistenceTimeout).toBe(360);
    expectAccepted(cfg);
  });
});

describe('ops only with UDP (check_data.c:1111-1117)', () => {
  test('ops on TCP is reset with a warning; on UDP and fwmark it stays', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  ops\n${rs('10.0.0.2 80')}}\nvirtual_server 10.0.0.1 53 {\n  protocol UDP\n  ops\n${rs('10.0.0.2 53')}}\nvirtual_server fwmark 3 {\n  ops\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 1, 'one packet scheduling (ops) requires UDP, and this is TCP: keepalived resets it ("one packet scheduling requires UDP - resetting")');
    expect(cfg.virtualServers.map((v) => v.ops)).toEqual([false, true, true]);
    expect(expectAccepted(cfg).filter((c) => c.startsWith('-A'))).toEqual(['-A -t 10.0.0.1:80 -s wlc', '-A -u 10.0.0.1:53 -s wlc -o', '-A -f 3 -s wlc -o']);
  });
});

describe('other corrections keepalived makes to virtual servers', () => {
  test('no real server: the virtual server is ignored (check_data.c:1085-1089)', () => {
    const { cfg, find } = check('virtual_server 10.0.0.1 80 {\n  protocol TCP\n  sorry_server 10.0.0.9 80\n}\n');
    find('warning', 1, 'has no real_server: keepalived ignores it ("has no real servers - ignoring"), so does hakeep; no IPVS service is created for it');
    expect(cfg.virtualServers).toEqual([]);
  });

  test('ha_suspend with a fwmark is cleared (check_data.c:1091-1096)', () => {
    const { cfg, find } = check(`virtual_server fwmark 3 {\n  ha_suspend\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 1, 'ha_suspend cannot be used with fwmarks: keepalived clears it');
    expect(cfg.virtualServers[0]!.haSuspend).toBe(false);
  });

  test('a DR real server of a fwmark service with a port: warned, programmed with port 0 (check_data.c:1312-1317)', () => {
    const { cfg, find } = check(`virtual_server fwmark 3 {\n  lb_kind DR\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 3, 'fwmark virtual server fwmark 3, real server 10.0.0.2 has port 80 specified with lb_kind DR: keepalived warns ("has port specified - clearing") and programs port 0');
    expect(expectAccepted(cfg)).toEqual(['-A -f 3 -s wlc', '-a -f 3 -r 10.0.0.2:0 -g -w 1']);
    // The check still connects to the port written.
    expect(cfg.virtualServers[0]!.realServers[0]!.port).toBe(80);
  });

  test('a DR sorry server on another port is reset to the service port (check_data.c:1335-1341)', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  sorry_server 10.0.0.9 8080\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 1, 'virtual_server 10.0.0.1:80 and sorry server 10.0.0.9 8080 ports don\'t match with lb_kind DR: keepalived resets the sorry server\'s port to 80');
    expect(cfg.virtualServers[0]!.sorryServer).toMatchObject({ port: 80 });
  });

  test('a sorry server that is also a real server takes its inhibit setting (check_data.c:1236-1244)', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  sorry_server 10.0.0.2 80\n  sorry_server_inhibit\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 1, 'real server 10.0.0.2 80 (lvs.conf:5) is also the sorry server, but their inhibit settings differ: keepalived clears sorry_server_inhibit to match the real server');
    expect(cfg.virtualServers[0]!.sorryServerInhibit).toBe(false);
  });

  test('sh-port/mh-port need their scheduler written before them (check_parser.c:322-355)', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  sh-port\n  lb_algo sh\n  sh-fallback\n  flag-3\n${rs('10.0.0.2 80')}}\nvirtual_server 10.0.0.1 81 {\n  protocol TCP\n  lb_algo mh\n  mh-port\n${rs('10.0.0.2 81')}}\n`);
    find('warning', 3, 'sh-port only applies to the sh scheduler, and lb_algo is wlc here (keepalived looks at the lb_algo written before it): keepalived ignores it, so does hakeep');
    expect(cfg.virtualServers.map((v) => v.schedFlags)).toEqual([['sh-fallback', 'flag-3'], ['mh-port']]);
    expect(expectAccepted(cfg).filter((c) => c.startsWith('-A'))).toEqual(['-A -t 10.0.0.1:80 -s sh -b flag-1,flag-3', '-A -t 10.0.0.1:81 -s mh -b flag-2']);
  });
});

describe('persistence_granularity (check_parser.c:509-560)', () => {
  test('turns persistence on; a bare number on IPv4 is the netmask inet_aton reads (0.0.0.24), with a warning', () => {
    const { cfg, find } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  persistence_granularity 24\n${rs('10.0.0.2 80')}}\n`);
    find('warning', 3, 'persistence_granularity 24 is read as the IPv4 netmask 0.0.0.24, as keepalived and ipvsadm read it (an address, not a prefix length); for a /24 write 255.255.255.0');
    expect(cfg.virtualServers[0]).toMatchObject({ persistenceTimeout: 360, persistenceGranularity: '0.0.0.24' });
    expect(expectAccepted(cfg)[0]).toBe('-A -t 10.0.0.1:80 -s wlc -p 360 -M 0.0.0.24');
  });

  test('an IPv6 virtual server takes a prefix length; a dotted mask is ignored with a warning, as keepalived does', () => {
    const ok = check(`virtual_server 2001:db8::1 80 {\n  protocol TCP\n  persistence_granularity 64\n${rs('2001:db8::2 80')}}\n`);
    expect(ok.r.errorCount).toBe(0);
    expect(expectAccepted(ok.cfg)[0]).toBe('-A -t [2001:db8::1]:80 -s wlc -p 360 -M 64');
    const bad = check(`virtual_server 2001:db8::1 80 {\n  protocol TCP\n  persistence_granularity 255.255.255.0\n${rs('2001:db8::2 80')}}\n`);
    bad.find('warning', 3, "persistence_granularity '255.255.255.0' is not valid for an IPv6 virtual server: keepalived ignores it (\"Invalid IPv6 persistence_granularity specified - 255.255.255.0\")");
    expect(bad.cfg.virtualServers[0]!.persistenceGranularity).toBeNull();
  });
});

describe('lb_kind TUN options (check_parser.c:358-448)', () => {
  test('type gue port N, type gre with csum, on the virtual server, a real server and the sorry server', () => {
    const text = `virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind TUN type gue port 6080\n  sorry_server 10.0.0.9 80\n  sorry_server_lvs_method TUN type gre csum\n${rs('10.0.0.2 80')}${rs('10.0.0.3 80', '    lvs_method TUN type gre\n')}}\n`;
    const { cfg, r } = check(text);
    expect(r.errorCount).toBe(0);
    const vs = cfg.virtualServers[0]!;
    expect(vs.tunnel).toEqual({ type: 'gue', port: 6080, csum: 'nocsum' });
    expect(vs.sorryServerTunnel).toEqual({ type: 'gre', port: 0, csum: 'csum' });
    expect(vs.realServers[1]!.tunnel).toEqual({ type: 'gre', port: 0, csum: 'nocsum' });
    expect(expectAccepted(cfg)).toEqual([
      '-A -t 10.0.0.1:80 -s wlc',
      '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 6080',
      '-a -t 10.0.0.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type gre',
    ]);
  });

  test("keepalived's rules: gue needs a port, only gue takes one, ipip takes no checksum, gre no remcsum", () => {
    const vs = (kind: string) => `virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind ${kind}\n${rs('10.0.0.2 80')}}\n`;
    check(vs('TUN type gue')).find('error', 3, 'gue tunnels require a port (type gue port 6080), and only gue tunnels take one');
    check(vs('TUN type gre port 80')).find('error', 3, 'only gue tunnels take one');
    check(vs('TUN csum')).find('error', 3, 'ipip tunnels do not support a checksum option');
    check(vs('TUN type gre remcsum')).find('error', 3, 'gre tunnels do not support remcsum');
    check(vs('TUN type vxlan')).find('error', 3, "tunnel type 'vxlan' is not valid; use type ipip, gue or gre");
    check(vs('TUN type gue port 99999')).find('error', 3, "tunnel port '99999' is not valid");
    const dr = check(vs('DR type gue port 6080'));
    dr.find('warning', 3, 'lb_kind DR: tunnel options only apply to TUN; keepalived ignores them here');
    expect(dr.cfg.virtualServers[0]!.tunnel).toBeNull();
  });
});

describe('virtual-server-level weight (check_parser.c:972-982, check_data.c:1216-1219)', () => {
  test('is the weight of real servers that have none of their own', () => {
    const { cfg, r } = check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  weight 5\n${rs('10.0.0.2 80')}${rs('10.0.0.3 80', '    weight 2\n')}}\n`);
    expect(r.errorCount).toBe(0);
    expect(cfg.virtualServers[0]!.realServers.map((x) => x.weight)).toEqual([5, 2]);
  });

  test('out of range is ignored with a warning, as keepalived does; above what ipvsadm takes is an error', () => {
    check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  weight 0\n${rs('10.0.0.2 80')}}\n`).find('warning', 3, "virtual server weight '0' is out of range (1 to 65535): keepalived ignores it (\"Virtual server weight 0 is outside range 1-2147483647\")");
    check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  weight 70000\n${rs('10.0.0.2 80')}}\n`).find('error', 3, 'weight 70000: keepalived accepts up to 2147483647, but hakeep programs IPVS through ipvsadm, which takes at most 65535');
  });
});

describe("a fwmark service's family comes from its real servers (check_parser.c:160-214, 216-245, 661-684)", () => {
  test('the first real server that is not tunnelled decides: IPv6 → -f N -6', () => {
    const { cfg, r } = check(`virtual_server fwmark 3 {\n  lb_kind DR\n${rs('2001:db8::2 0')}}\n`);
    expect(r.errorCount).toBe(0);
    expect(cfg.virtualServers[0]!.address).toEqual({ kind: 'fwmark', fwmark: 3, family: 6 });
    expect(expectAccepted(cfg)).toEqual(['-A -f 3 -6 -s wlc', '-a -f 3 -6 -r [2001:db8::2]:0 -g -w 1']);
  });

  test('tunnelled real servers do not count while another one decides; alone, they decide when they agree', () => {
    const mixed = check(`virtual_server fwmark 3 {\n  lb_kind DR\n${rs('2001:db8::2 0', '    lvs_method TUN\n')}${rs('10.0.0.3 0')}}\n`);
    expect(mixed.r.errorCount).toBe(0);
    expect(mixed.cfg.virtualServers[0]!.address).toMatchObject({ family: 4 });
    expectAccepted(mixed.cfg);
    const tun = check(`virtual_server fwmark 3 {\n  lb_kind TUN\n${rs('2001:db8::2 0')}}\n`);
    expect(tun.cfg.virtualServers[0]!.address).toMatchObject({ family: 6 });
  });

  test('ip_family decides when written; a real server of the other family is skipped, as keepalived does', () => {
    const { cfg, find } = check(`virtual_server fwmark 3 {\n  ip_family inet6\n  lb_kind DR\n${rs('10.0.0.2 0')}${rs('2001:db8::2 0')}}\n`);
    expect(cfg.virtualServers[0]!.address).toMatchObject({ family: 6 });
    find('warning', 4, 'real_server 10.0.0.2 is IPv4 but virtual_server fwmark 3 is IPv6 (its family comes from ip_family or its first real server that is not tunnelled, as in keepalived): keepalived skips it');
    expect(cfg.virtualServers[0]!.realServers.map((x) => x.ip)).toEqual(['2001:db8::2']);
  });

  test('ip_family that contradicts an address virtual server is ignored, as keepalived does', () => {
    check(`virtual_server 10.0.0.1 80 {\n  protocol TCP\n  ip_family inet6\n${rs('10.0.0.2 80')}}\n`)
      .find('warning', 3, 'ip_family inet6 conflicts with the address family of virtual_server 10.0.0.1: keepalived ignores it');
  });
});

describe('a virtual_server_group member that is also a virtual server (keepalived 2.2.7 does not notice)', () => {
  test('an address member equal to an address virtual server of the same protocol is an error', () => {
    const { find } = check(`virtual_server_group G {\n  10.0.0.1 80\n  10.0.0.5 80\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n${rs('10.0.0.2 80')}}\nvirtual_server group G {\n  protocol TCP\n${rs('10.0.0.3 80')}}\n`);
    find('error', 12, 'member 10.0.0.1:80 of virtual_server_group G (used by virtual_server group G, TCP) is also virtual_server 10.0.0.1:80 (TCP) (lvs.conf:5): both would program the same IPVS service');
  });

  test('a fwmark member equal to a fwmark virtual server is an error; another protocol is not an overlap', () => {
    const fw = check(`virtual_server_group G {\n  fwmark 7\n}\nvirtual_server fwmark 7 {\n${rs('10.0.0.2 0')}}\nvirtual_server group G {\n${rs('10.0.0.3 0')}}\n`);
    fw.find('error', 10, 'member fwmark 7 of virtual_server_group G is also virtual_server fwmark 7');
    // A group of fwmarks needs no protocol line (check_data.c:1101-1108).
    expect(fw.r.diagnostics.some((d) => d.message.includes('no protocol line'))).toBe(false);
    const udp = check(`virtual_server_group G {\n  10.0.0.1 80\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n${rs('10.0.0.2 80')}}\nvirtual_server group G {\n  protocol UDP\n${rs('10.0.0.3 80')}}\n`);
    expect(udp.r.errorCount).toBe(0);
  });
});

describe('no protocol line (check_data.c:1101-1108)', () => {
  test('a group with address members defaults to UDP with the warning; a group of fwmarks needs none', () => {
    check(`virtual_server_group G {\n  10.0.0.1 80\n}\nvirtual_server group G {\n${rs('10.0.0.3 80')}}\n`)
      .find('warning', 4, 'virtual_server has no protocol line; like keepalived this means UDP');
    const fw = check(`virtual_server_group G {\n  fwmark 7\n}\nvirtual_server group G {\n${rs('10.0.0.3 80')}}\n`);
    expect(fw.r.diagnostics.some((d) => d.message.includes('no protocol line'))).toBe(false);
  });
});

describe('persistence_engine', () => {
  test('is sent with persistence as --pe', () => {
    const { cfg, r } = check(`virtual_server 10.0.0.1 5060 {\n  protocol UDP\n  persistence_timeout 300\n  persistence_engine sip\n${rs('10.0.0.2 5060')}}\n`);
    expect(r.diagnostics.filter((d) => d.severity !== 'note')).toEqual([]);
    expect(expectAccepted(cfg)[0]).toBe('-A -u 10.0.0.1:5060 -s wlc -p 300 --pe sip');
  });
});

describe('quorum corrections (keepalived check_data.c:1262-1275)', () => {
  test('a quorum above the total weight is lowered to it, then hysteresis below the quorum', () => {
    const r = parseConfigText(`virtual_server 10.0.0.100 80 {
  protocol TCP
  quorum 10
  hysteresis 5
  real_server 10.0.0.2 80 {
    weight 2
  }
  real_server 10.0.0.3 80 {
    weight 3
  }
}
`, 'q.conf');
    const vs = r.config.virtualServers[0]!;
    expect([vs.quorum, vs.hysteresis]).toEqual([5, 4]);
    const msgs = r.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.line}: ${d.message}`);
    expect(msgs).toContain('1: virtual_server 10.0.0.100:80: quorum 10 exceeds the total weight of its real servers 5: reducing quorum to 5, as keepalived does (otherwise the pool could never gain quorum)');
    expect(msgs).toContain('1: virtual_server 10.0.0.100:80: hysteresis 5 >= quorum 5: setting hysteresis to 4, as keepalived does');
  });
});
