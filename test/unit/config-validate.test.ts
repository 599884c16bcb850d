// One test per validation rule: the message and the exact file:line it is reported at.
import { describe, expect, test } from 'vitest';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../src/config/index.js';

const F = 'v.conf';

function check(text: string) {
  const r = parseConfigText(text, F, { configId: 'test' });
  const find = (severity: Diagnostic['severity'], line: number, fragment: string) =>
    r.diagnostics.find((d) => d.severity === severity && d.line === line && d.file === F && d.message.includes(fragment));
  return { r, find, all: r.diagnostics.map(formatDiagnostic).join('\n') };
}

function expectDiag(text: string, severity: Diagnostic['severity'], line: number, fragment: string) {
  const { find, all } = check(text);
  const d = find(severity, line, fragment);
  expect(d, `expected ${severity} at ${F}:${line} containing "${fragment}"; got:\n${all}`).toBeDefined();
  return d!;
}

const vi = (body: string, name = 'VI_1', vrid = 51, iface = 'eth0') => `vrrp_instance ${name} {
  interface ${iface}
  virtual_router_id ${vrid}
${body}
}
`;

describe('validation rules', () => {
  test('virtual_router_id must be 1-255', () => {
    expectDiag(vi('  virtual_ipaddress { 10.0.0.1 }', 'VI_1', 256), 'error', 3, 'virtual_router_id 256 is out of range; use 1-255');
    expectDiag(vi('  virtual_ipaddress { 10.0.0.1 }', 'VI_1', 0), 'error', 3, 'out of range; use 1-255');
  });

  test('priority must be 1-255; keepalived uses 100 otherwise, with a warning', () => {
    const text = vi('  priority 300\n  virtual_ipaddress { 10.0.0.1 }');
    expectDiag(text, 'warning', 4, "(VI_1) priority '300' is out of range (1 to 255): keepalived ignores it (\"(VI_1) Priority not valid! must be between 1 & 255. Using default 100\")");
    expect(check(text).r.config.vrrpInstances[0]!.priority).toBe(100);
  });

  test('advert_int must be a positive time up to 255 s; fractions round for VRRPv2', () => {
    expectDiag(vi('  advert_int 0\n  virtual_ipaddress { 10.0.0.1 }'), 'warning', 4, "(VI_1) advert_int '0' is out of range (0.01 to 255 seconds): keepalived ignores it");
    expectDiag(vi('  advert_int abc\n  virtual_ipaddress { 10.0.0.1 }'), 'warning', 4, "(VI_1) advert_int 'abc' is not a number: keepalived ignores it");
    expect(check(vi('  advert_int 0\n  virtual_ipaddress { 10.0.0.1 }')).r.config.vrrpInstances[0]!.advertInt).toBe(1);
    // Reported at the advert_int line; the model holds the rounded value.
    const text = vi('  advert_int 1.6\n  virtual_ipaddress { 10.0.0.1 }');
    expectDiag(text, 'warning', 4, 'VRRPv2 advert_int is whole seconds: 1.6 becomes 2, as keepalived does');
    expect(check(text).r.config.vrrpInstances[0]!.advertInt).toBe(2);
  });

  test('required keys: interface and virtual_router_id', () => {
    const text = 'vrrp_instance VI_9 {\n  priority 100\n  virtual_ipaddress { 10.0.0.1 }\n}\n';
    expectDiag(text, 'error', 1, 'vrrp_instance VI_9 has no interface line');
    expectDiag(text, 'error', 1, 'vrrp_instance VI_9 has no virtual_router_id');
  });

  test('vrrp_script needs a script line', () => {
    expectDiag('vrrp_script chk {\n  interval 2\n}\n', 'error', 1, 'vrrp_script chk has no script line');
  });

  test('track_script must name a vrrp_script (with a suggestion)', () => {
    const text = `vrrp_script chk_haproxy {\n  script "/bin/true"\n}\n${vi('  track_script {\n    chk_haproxi\n  }\n  virtual_ipaddress { 10.0.0.1 }')}`;
    expectDiag(text, 'error', 8, "track_script chk_haproxi does not name a vrrp_script; did you mean 'chk_haproxy'?");
  });

  test('sync-group members must be vrrp_instances', () => {
    const text = `${vi('  virtual_ipaddress { 10.0.0.1 }')}vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_7\n  }\n}\n`;
    expectDiag(text, 'error', 6, 'vrrp_sync_group G1: member VI_7 is not a vrrp_instance');
  });

  test('virtual_server group must name a virtual_server_group; keepalived ignores the virtual server otherwise', () => {
    const text = 'virtual_server group WEB {\n  protocol TCP\n  real_server 10.0.0.5 80 {\n  }\n}\n';
    expectDiag(text, 'warning', 1, 'virtual_server group WEB: there is no virtual_server_group WEB: keepalived ignores this virtual server');
    expect(check(text).r.config.virtualServers).toEqual([]);
  });

  test('a VRID used twice on one interface', () => {
    const text = vi('  virtual_ipaddress { 10.0.0.1 }', 'VI_1', 51) + vi('  virtual_ipaddress { 10.0.0.2 }', 'VI_2', 51);
    expectDiag(text, 'error', 6, `(VI_2) virtual_router_id 51 is already used on eth0 by VI_1 (${F}:1)`);
    // The same VRID on another interface is fine.
    const ok = check(vi('  virtual_ipaddress { 10.0.0.1 }', 'VI_1', 51) + vi('  virtual_ipaddress { 10.0.0.2 }', 'VI_2', 51, 'eth1'));
    expect(ok.r.errorCount, ok.all).toBe(0);
  });

  test('nopreempt without state BACKUP is reported at the nopreempt line and cleared, as keepalived does', () => {
    const text = vi('  state MASTER\n  nopreempt\n  priority 150\n  virtual_ipaddress { 10.0.0.1 }');
    expectDiag(text, 'warning', 5, '(VI_1) nopreempt needs state BACKUP');
    expect(check(text).r.config.vrrpInstances[0]!.nopreempt).toBe(false);
    expect(check(vi('  state BACKUP\n  nopreempt\n  virtual_ipaddress { 10.0.0.1 }')).r.config.vrrpInstances[0]!.nopreempt).toBe(true);
  });

  test('auth_pass over 8 characters is truncated, as keepalived does', () => {
    const text = vi('  authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }\n  virtual_ipaddress { 10.0.0.1 }');
    expectDiag(text, 'warning', 6, "(VI_1) auth_pass is longer than 8 characters: keepalived uses the first 8 ('12345678', \"Truncating auth_pass to 8 characters\")");
    expect(check(text).r.config.vrrpInstances[0]!.authPass).toBe('12345678');
  });

  test('IPv4 and IPv6 mixed in one virtual_ipaddress block: the other family is dropped, as keepalived does', () => {
    const text = vi('  virtual_ipaddress {\n    10.0.0.1/24\n    2001:db8::1/64\n  }');
    expectDiag(text, 'warning', 6, '(VI_1) virtual_ipaddress 2001:db8::1 is IPv6 but the instance is IPv4 (decided by virtual_ipaddress 10.0.0.1 at v.conf:5');
    expectDiag(text, 'warning', 6, 'keepalived ignores it ("address family must match VRRP instance")');
    const { r } = check(text);
    expect(r.errorCount).toBe(0);
    expect(r.config.vrrpInstances[0]!.virtualIpaddress.map((v) => v.address)).toEqual(['10.0.0.1']);
  });

  test('full virtual_ipaddress syntax is parsed; a bad option is an error at its line', () => {
    const { r } = check(vi('  virtual_ipaddress {\n    10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link label eth1:vip\n    10.0.0.2\n  }'));
    expect(r.errorCount).toBe(0);
    expect(r.config.vrrpInstances[0]!.virtualIpaddress[0]).toMatchObject({
      address: '10.0.0.1', prefixLen: 24, brd: '10.0.0.255', dev: 'eth1', scope: 'link', label: 'eth1:vip', family: 4, loc: { file: F, line: 5 },
    });
    expect(r.config.vrrpInstances[0]!.virtualIpaddress[1]).toMatchObject({ address: '10.0.0.2', prefixLen: 32, dev: null });
    expectDiag(vi('  virtual_ipaddress {\n    10.0.0.1/24 colour blue\n  }'), 'error', 5, "unknown virtual_ipaddress option 'colour'");
    expectDiag(vi('  virtual_ipaddress {\n    10.0.0.300\n  }'), 'error', 5, "'10.0.0.300' is not a valid IP address");
  });

  test('unknown lb_algo / lb_kind values', () => {
    const vs = (kw: string) => `virtual_server 10.0.0.100 80 {\n  protocol TCP\n  ${kw}\n  real_server 10.0.0.5 80 {\n  }\n}\n`;
    expectDiag(vs('lb_algo roundrobin'), 'warning', 3, "lb_algo 'roundrobin' is not a scheduler ipvsadm knows");
    expectDiag(vs('lb_kind BRIDGE'), 'error', 3, "lb_kind 'BRIDGE' is not valid; use NAT, DR or TUN");
  });

  test('a DR real_server port that differs from the virtual server port is reset to it', () => {
    const text = 'virtual_server 10.0.0.100 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.0.5 8080 {\n    TCP_CHECK {\n    }\n  }\n}\n';
    expectDiag(text, 'warning', 4, "real_server 10.0.0.5 port 8080 differs from virtual_server 10.0.0.100:80's port with lb_kind DR");
    expect(check(text).r.config.virtualServers[0]!.realServers[0]!.port).toBe(80);
    // NAT may remap ports.
    expect(check(text.replace('DR', 'NAT')).r.errorCount).toBe(0);
  });

  test('unknown keyword: a warning with file:line and the nearest known keyword', () => {
    expectDiag(vi('  priorty 100\n  virtual_ipaddress { 10.0.0.1 }'), 'warning', 4, "Unknown keyword 'priorty' in vrrp_instance, ignored; did you mean 'priority'?");
    expectDiag('vrrp_instanse VI_1 {\n}\n', 'warning', 1, "did you mean 'vrrp_instance'?");
  });

  test('deprecated spellings map to the same model with a note', () => {
    const text = 'virtual_server 10.0.0.100 80 {\n  protocol TCP\n  lvs_sched rr\n  lvs_method DR\n  real_server 10.0.0.5 80 {\n    TCP_CHECK {\n      nb_get_retry 4\n    }\n  }\n}\n';
    const { r } = check(text);
    expect(r.errorCount).toBe(0);
    const vs = r.config.virtualServers[0]!;
    expect([vs.lbAlgo, vs.lbKind]).toEqual(['rr', 'DR']);
    expectDiag(text, 'note', 3, "'lvs_sched' is a deprecated spelling of 'lb_algo'");
    expectDiag(text, 'note', 4, "'lvs_method' is a deprecated spelling of 'lb_kind'");
    // nb_get_retry inside TCP_CHECK: accepted as retry, with a warning.
    expectDiag(text, 'warning', 7, "'nb_get_retry' is an old name for 'retry'");
    const c = vs.realServers[0]!.checkers[0]!;
    expect(c.type === 'TCP_CHECK' && c.retry).toBe(4);
  });

  test('every problem is reported, not just the first', () => {
    const text = vi('  priority 0\n  advert_int -1\n  virtual_ipaddress {\n    bad-ip\n  }', 'VI_1', 999);
    const { r } = check(text);
    // virtual_router_id and the VIP are errors; priority and advert_int are keepalived corrections (warnings).
    expect(r.errorCount).toBeGreaterThanOrEqual(2);
    expect(r.diagnostics.filter((d) => /priority '0'|advert_int '-1'/.test(d.message))).toHaveLength(2);
  });

  test('a stray } and an unclosed { are errors at their lines', () => {
    expectDiag('global_defs {\n  router_id x\n}\n}\n', 'error', 4, 'unexpected `}`');
    expectDiag('global_defs {\n  router_id x\n', 'error', 1, 'never closed');
  });
});

describe('keepalived defaults in the model', () => {
  test('vrrp_instance defaults', () => {
    const { r } = check(vi('  virtual_ipaddress { 10.0.0.1 }'));
    expect(r.config.vrrpInstances[0]).toMatchObject({
      initialState: 'BACKUP', priority: 100, advertInt: 1, nopreempt: false, preemptDelay: 0, garpMasterDelay: 5,
      garpMasterRepeat: 5, garpMasterRefresh: 0, garpMasterRefreshRepeat: 1, version: 2, authType: null,
    });
  });

  test('global vrrp_garp_* values become instance defaults', () => {
    const { r } = check(`global_defs {\n  vrrp_garp_master_delay 10\n  vrrp_garp_master_repeat 2\n  vrrp_garp_master_refresh 60\n}\n${vi('  virtual_ipaddress { 10.0.0.1 }\n  garp_master_repeat 3')}`);
    expect(r.config.vrrpInstances[0]).toMatchObject({ garpMasterDelay: 10, garpMasterRepeat: 3, garpMasterRefresh: 60 });
  });

  test('checker timing cascades virtual_server → real_server → checker', () => {
    const text = `virtual_server 10.0.0.100 80 {
  protocol TCP
  delay_loop 10
  connect_timeout 7
  real_server 10.0.0.5 80 {
    retry 4
    TCP_CHECK {
      delay_before_retry 2
    }
  }
  real_server 10.0.0.6 80 {
    TCP_CHECK {
      connect_timeout 2
      delay_loop 3
    }
  }
}
`;
    const { r } = check(text);
    const [a, b] = r.config.virtualServers[0]!.realServers.map((rs) => rs.checkers[0]!);
    expect(a).toMatchObject({ type: 'TCP_CHECK', delayLoop: 10, connectTimeout: 7, retry: 4, delayBeforeRetry: 2 });
    expect(b).toMatchObject({ type: 'TCP_CHECK', delayLoop: 3, connectTimeout: 2, retry: 1, delayBeforeRetry: 1 });
    expect(r.config.virtualServers[0]).toMatchObject({ lbAlgo: 'wlc', lbKind: 'NAT', protocol: 'TCP', quorum: 1, hysteresis: 0 });
  });

  test('virtual_server_group ranges expand; fwmark entries kept', () => {
    const { r } = check('virtual_server_group G {\n  10.0.0.1 80\n  10.0.0.3-5 80\n  2001:db8::a-c 443\n  fwmark 7\n}\n');
    expect(r.errorCount).toBe(0);
    const g = r.config.virtualServerGroups[0]!;
    expect(g.entries.filter((e) => e.kind === 'ip').map((e) => e.kind === 'ip' && e.ip)).toEqual([
      '10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.5', '2001:db8::a', '2001:db8::b', '2001:db8::c',
    ]);
    expect(g.entries).toContainEqual({ kind: 'fwmark', fwmark: 7, family: 4 });
  });
});
