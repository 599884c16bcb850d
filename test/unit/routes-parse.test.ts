// virtual_routes / virtual_rules / static_* parsing (src/config/routes.ts) through the config
// loader: the model each line gives, and the warnings and errors keepalived 2.2.7 also gives
// (read from vrrp_iproute.c / vrrp_iprule.c), each with its file:line.
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { setRtTablesSource } from '../../src/config/routes.js';
import type { Diagnostic } from '../../src/config/model.js';

setRtTablesSource(() => '# comment\n100\tvip_table\n0x200 hexed\n');
afterAll(() => setRtTablesSource(() => ''));

/** A config with the lines in an instance's block (`virtual_routes` or `virtual_rules`); the first line is line 6. */
function instance(block: 'virtual_routes' | 'virtual_rules', lines: string[]) {
  const text = [
    'vrrp_instance VI_1 {',
    '  interface eth0',
    '  virtual_router_id 5',
    '  priority 100',
    `  ${block} {`,
    ...lines.map((l) => `    ${l}`),
    '  }',
    '  virtual_ipaddress { 10.0.0.1 }',
    '}',
  ].join('\n');
  const r = parseConfigText(text, 'k.conf');
  const inst = r.config.vrrpInstances[0]!;
  const diags = r.diagnostics.filter((d) => d.severity !== 'note');
  return { r, inst, diags, notes: r.diagnostics.filter((d) => d.severity === 'note') };
}

const at = (d: Diagnostic): string => `${d.severity}@${d.line}`;

describe('virtual_routes lines', () => {
  it('a device route with src, table by number, scope and metric', () => {
    const { inst, diags, notes } = instance('virtual_routes', ['10.9.0.0/24 dev eth1 src 10.0.0.1 table 100 scope link metric 7']);
    expect(diags).toEqual([]);
    expect(inst.virtualRoutes).toHaveLength(1);
    expect(inst.virtualRoutes[0]).toMatchObject({
      family: 4, type: 'unicast', dst: { address: '10.9.0.0', len: 24 }, dev: 'eth1', src: '10.0.0.1', table: 100,
      scope: 253, metric: 7, protocol: 18, via: null, onlink: false, nexthops: [], loc: { file: 'k.conf', line: 6 },
    });
    // -t describes it, at its line.
    expect(notes.find((n) => n.line === 6)?.message).toBe('(VI_1) virtual route 10.9.0.0/24 dev eth1 src 10.0.0.1 table 100 metric 7 scope link protocol 18: added when VI_1 becomes MASTER, removed when it leaves MASTER');
  });

  it('defaults as keepalived: table main, scope global, protocol keepalived (18), host prefix when no length', () => {
    const { inst } = instance('virtual_routes', ['192.168.5.1 via 10.0.0.254']);
    expect(inst.virtualRoutes[0]).toMatchObject({ dst: { address: '192.168.5.1', len: 32 }, via: '10.0.0.254', table: 254, scope: null, protocol: 18, metric: null });
  });

  it('default, named tables from rt_tables (decimal and hex ids), onlink', () => {
    const { inst, diags } = instance('virtual_routes', ['default via 10.0.0.254 table vip_table', '10.1.0.0/16 via 10.0.0.9 table hexed onlink dev eth0', '10.2.0.0/16 via 10.0.0.9 table main']);
    expect(diags).toEqual([]);
    expect(inst.virtualRoutes.map((r) => [r.dst.address, r.dst.len, r.table, r.onlink])).toEqual([
      ['0.0.0.0', 0, 100, false], ['10.1.0.0', 16, 0x200, true], ['10.2.0.0', 16, 254, false],
    ]);
  });

  it('blackhole, unreachable, prohibit and throw routes; `to DEST`', () => {
    const { inst, diags } = instance('virtual_routes', ['blackhole 10.3.0.0/16', 'unreachable 10.4.0.0/16 table 100', 'prohibit 10.5.0.1', 'throw 10.6.0.0/16', 'to 10.7.0.0/16 dev eth0']);
    expect(diags).toEqual([]);
    expect(inst.virtualRoutes.map((r) => r.type)).toEqual(['blackhole', 'unreachable', 'prohibit', 'throw', 'unicast']);
    expect(inst.virtualRoutes[4]!.dst).toEqual({ family: 4, address: '10.7.0.0', len: 16 });
  });

  it('IPv6: inet6 default, an IPv6 prefix, and default6 (deprecated, warned)', () => {
    const { inst, diags } = instance('virtual_routes', ['inet6 default via fe80::1 dev eth0', '2001:db8::/64 dev eth0 table 100', 'default6 via fe80::1 dev eth0']);
    expect(inst.virtualRoutes.map((r) => [r.family, r.dst.address, r.dst.len])).toEqual([[6, '::', 0], [6, '2001:db8::', 64], [6, '::', 0]]);
    expect(diags.map(at)).toEqual(['warning@8']);
    expect(diags[0]!.message).toMatch(/'default6' is deprecated .* write 'inet6 default'/);
  });

  it('gw is via with keepalived\'s deprecation warning', () => {
    const { inst, diags } = instance('virtual_routes', ['0.0.0.0/0 gw 192.168.0.1 table 100']);
    expect(inst.virtualRoutes[0]).toMatchObject({ via: '192.168.0.1', table: 100, dst: { len: 0 } });
    expect(diags.map(at)).toEqual(['warning@6']);
    expect(diags[0]!.message).toContain('"gw" for routes is deprecated');
  });

  it('"or" becomes two next hops (deprecated, warned); nexthop groups with dev, weight and onlink', () => {
    const { inst, diags } = instance('virtual_routes', [
      '192.168.113.0/24 via 192.168.100.252 or 192.168.100.253',
      '10.7.0.0/16 nexthop via 10.0.0.2 weight 2 nexthop via 10.0.0.3 dev eth1 onlink',
    ]);
    expect(diags.map(at)).toEqual(['warning@6']);
    expect(inst.virtualRoutes[0]).toMatchObject({ via: null, nexthops: [{ via: '192.168.100.252' }, { via: '192.168.100.253' }] });
    expect(inst.virtualRoutes[1]!.nexthops).toEqual([
      { via: '10.0.0.2', dev: null, weight: 2, onlink: false },
      { via: '10.0.0.3', dev: 'eth1', weight: null, onlink: true },
    ]);
  });

  it('protocol is reset to 18 unless no_track, with keepalived\'s warning', () => {
    const { inst, diags } = instance('virtual_routes', ['10.5.0.0/16 dev eth0 protocol static', '10.6.0.0/16 dev eth0 protocol static no_track', '10.8.0.0/16 dev eth0 protocol 99 no_track']);
    expect(inst.virtualRoutes.map((r) => r.protocol)).toEqual([18, 4, 99]);
    expect(diags.map(at)).toEqual(['warning@6']);
    expect(diags[0]!.message).toMatch(/cannot be tracked if protocol is not keepalived \(18\), resetting protocol/);
  });

  it('refuses, with file:line and the fix: proto (keepalived refuses it), an unknown table, options hakeep does not encode, bad addresses', () => {
    const { inst, diags } = instance('virtual_routes', [
      'default via 10.0.0.254 proto 4',
      '10.1.0.0/16 via 10.0.0.1 table nosuch',
      '10.2.0.0/16 via 10.0.0.1 mtu 1400',
      '10.3.0.0/33 dev eth0',
      '10.4.0.0/16 via 2001:db8::1',
      'via 10.0.0.1',
      '10.5.0.0/16 metric 0x10 dev eth0',
      'local 10.6.0.1 dev eth0',
      'blackhole 10.7.0.0/16 via 10.0.0.1',
      '10.8.0.0/16 dev',
      'to unreachable 10.9.0.0/16',
    ]);
    expect(inst.virtualRoutes).toEqual([]);
    expect(diags.map(at)).toEqual(['error@6', 'error@7', 'error@8', 'error@9', 'error@10', 'error@11', 'error@12', 'error@13', 'error@14', 'error@15', 'error@16']);
    const m = diags.map((d) => d.message);
    expect(m[0]).toBe("(VI_1) virtual_routes: unknown route keyword 'proto' (keepalived refuses it too): write 'protocol 4'; the route 'default via 10.0.0.254 proto 4' is not applied");
    expect(m[1]).toContain("routing table 'nosuch' not found");
    expect(m[2]).toContain("route option 'mtu' is accepted by keepalived but not supported by hakeep");
    expect(m[3]).toContain('prefix length is not valid');
    expect(m[4]).toContain('RTA_VIA');
    expect(m[5]).toContain('route must have a destination');
    expect(m[6]).toContain("invalid metric '0x10'");
    expect(m[7]).toContain("route type 'local' is not supported by hakeep");
    expect(m[8]).toContain('a blackhole route has no next hop');
    expect(m[9]).toContain("'dev' needs a value");
    expect(m[10]).toContain("unknown route keyword 'unreachable'");
  });
  it('names that are only properties of a JavaScript object are not table, scope, protocol or type names', () => {
    const { inst, diags } = instance('virtual_routes', ['toString 10.1.0.0/16', '10.2.0.0/16 dev eth0 scope constructor', '10.3.0.0/16 dev eth0 protocol __proto__ no_track']);
    expect(inst.virtualRoutes).toEqual([]);
    expect(diags.map(at)).toEqual(['error@6', 'error@7', 'error@8']);
  });
});

describe('virtual_rules lines', () => {
  it('from/to prefixes, table/lookup, priority/preference/order, fwmark with mask, iif/oif, not', () => {
    const { inst, diags } = instance('virtual_rules', [
      'from 10.0.0.1 table 100 priority 100',
      'not from 10.0.0.0/8 to 10.1.0.0/16 lookup main preference 106 fwmark 7/0xff iif eth0 oif eth1',
      'fwmark 0x20 table vip_table order 200',
      'dev eth2 table 100 priority 201',
    ]);
    expect(diags).toEqual([]);
    expect(inst.virtualRules[0]).toMatchObject({ family: 4, from: { address: '10.0.0.1', len: 32 }, to: null, action: 'table', table: 100, priority: 100, protocol: 18, invert: false });
    expect(inst.virtualRules[1]).toMatchObject({ invert: true, from: { len: 8 }, to: { address: '10.1.0.0', len: 16 }, table: 254, priority: 106, fwmark: 7, fwmask: 0xff, iif: 'eth0', oif: 'eth1' });
    expect(inst.virtualRules[2]).toMatchObject({ fwmark: 0x20, fwmask: null, table: 100, priority: 200 });
    expect(inst.virtualRules[3]).toMatchObject({ iif: 'eth2', priority: 201 });
  });

  it('actions other than a table: blackhole, unreachable, prohibit, nop, goto (type WORD too)', () => {
    const { inst, diags } = instance('virtual_rules', [
      'to 10.2.0.0/16 blackhole priority 8', 'to 10.3.0.0/16 unreachable priority 9', 'to 10.4.0.0/16 type prohibit priority 10',
      'from 10.5.0.0/16 nop priority 11', 'from 10.6.0.0/16 goto 100 priority 12',
    ]);
    expect(diags).toEqual([]);
    expect(inst.virtualRules.map((r) => [r.action, r.gotoTarget])).toEqual([['blackhole', null], ['unreachable', null], ['prohibit', null], ['nop', null], ['goto', 100]]);
  });

  it('no preference: keepalived\'s 16384, 16383 … per family, with its warning', () => {
    const { inst, diags } = instance('virtual_rules', ['from 10.0.0.1 table 100', 'from 10.0.0.2 table 100', 'inet6 from 2001:db8::/64 table 100']);
    expect(inst.virtualRules.map((r) => [r.family, r.priority])).toEqual([[4, 16384], [4, 16383], [6, 16384]]);
    expect(diags.map(at)).toEqual(['warning@6', 'warning@7', 'warning@8']);
    expect(diags[0]!.message).toContain("rule has no preference, setting it to 16384 as keepalived does; this is probably not what you want: add 'preference N'");
  });

  it('protocol: numbers only (a name is reported and dropped, the rule kept), reset to 18 unless no_track', () => {
    const { inst, diags } = instance('virtual_rules', ['from 10.0.0.2 table 100 priority 5 protocol static', 'from 10.0.0.3 table 100 priority 6 protocol 4', 'from 10.0.0.4 table 100 priority 7 protocol 4 no_track']);
    expect(inst.virtualRules.map((r) => r.protocol)).toEqual([18, 18, 4]);
    expect(diags.map(at)).toEqual(['warning@6', 'warning@7']);
    expect(diags[0]!.message).toContain("invalid protocol 'static'");
    expect(diags[1]!.message).toContain('resetting protocol to 18');
  });

  it('refuses: pref (keepalived refuses it), no action, two actions, goto without or below its preference, mixed families, table 0, bad fwmark, unsupported options', () => {
    const { inst, diags } = instance('virtual_rules', [
      'from 10.0.0.1 table 100 pref 100',
      'from 10.0.0.1 priority 3',
      'from 10.0.0.1 table 100 blackhole priority 4',
      'from 10.0.0.1 goto 10 priority 20',
      'from 10.0.0.1 goto 10',
      'from 10.0.0.1 to 2001:db8::1 table 100 priority 5',
      'from 10.0.0.1 table 0 priority 6',
      'fwmark 1/2/3 table 100 priority 7',
      'from 10.0.0.1 table 100 priority 8 sport 80',
      'to 192.168.100./24 table 1',
    ]);
    expect(inst.virtualRules).toEqual([]);
    expect(diags.map(at)).toEqual(['error@6', 'error@7', 'error@8', 'error@9', 'error@10', 'error@11', 'error@12', 'error@13', 'error@14', 'error@15']);
    const m = diags.map((d) => d.message);
    expect(m[0]).toBe("(VI_1) virtual_rules: unknown rule option 'pref' (keepalived refuses it too): write 'preference 100' or 'priority 100'; the rule 'from 10.0.0.1 table 100 pref 100' is not applied");
    expect(m[1]).toContain('no action specified');
    expect(m[2]).toContain('more than one of table/nop/goto');
    expect(m[3]).toContain('preference 20 >= goto target 10');
    expect(m[4]).toContain('without preference');
    expect(m[5]).toContain('mixed IPv4 and IPv6');
    expect(m[6]).toContain('table 0 is not valid');
    expect(m[7]).toContain("invalid rule fwmark '1/2/3'");
    expect(m[8]).toContain("rule option 'sport' is accepted by keepalived but not supported by hakeep");
    expect(m[9]).toContain("invalid rule to address '192.168.100./24'");
  });
});

describe('static_ipaddress, static_routes, static_rules', () => {
  it('are parsed into the config, described by notes; an address without dev goes on eth0 as keepalived\'s default interface, with a warning', () => {
    const r = parseConfigText([
      'static_ipaddress {',
      '  192.168.77.5/24 dev eth1',
      '  192.168.78.5/24',
      '}',
      'static_routes {',
      '  10.77.0.0/24 via 192.168.77.1 table 77',
      '}',
      'static_rules {',
      '  from 10.77.0.0/24 table 77 priority 1000',
      '}',
    ].join('\n'), 's.conf');
    expect(r.errorCount).toBe(0);
    expect(r.config.staticIpaddress?.map((a) => [a.address, a.prefixLen, a.dev])).toEqual([['192.168.77.5', 24, 'eth1'], ['192.168.78.5', 24, 'eth0']]);
    expect(r.config.staticRoutes?.map((x) => [x.dst.address, x.via, x.table])).toEqual([['10.77.0.0', '192.168.77.1', 77]]);
    expect(r.config.staticRules?.map((x) => [x.from?.address, x.table, x.priority])).toEqual([['10.77.0.0', 77, 1000]]);
    const warn = r.diagnostics.filter((d) => d.severity === 'warning');
    expect(warn.map(at)).toEqual(['warning@3']);
    expect(warn[0]!.message).toContain('has no dev: keepalived uses its default interface eth0');
    const notes = r.diagnostics.filter((d) => d.severity === 'note').map((d) => `${d.line}: ${d.message}`);
    expect(notes).toEqual([
      '2: static address 192.168.77.5/24 dev eth1: set at start, removed at stop',
      '3: static address 192.168.78.5/24 dev eth0: set at start, removed at stop',
      '6: static route 10.77.0.0/24 via 192.168.77.1 table 77 protocol 18: set at start, removed at stop',
      '9: static rule preference 1000 from 10.77.0.0/24 table 77 protocol 18: set at start, removed at stop',
    ]);
    // Nothing says "parsed but not applied" any more.
    expect(r.diagnostics.some((d) => /not applied by hakeep yet/.test(d.message))).toBe(false);
  });

  it('a refused static line is an error at its line; the others still load', () => {
    const r = parseConfigText('static_routes {\n  10.1.0.0/16 via 10.0.0.1 realms 5\n  10.2.0.0/16 via 10.0.0.1\n}\n', 's.conf');
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(at)).toEqual(['error@2']);
    expect(r.config.staticRoutes?.map((x) => x.dst.address)).toEqual(['10.2.0.0']);
  });
});
