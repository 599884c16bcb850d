// keepalived's per-instance completion (vrrp_complete_instance and the family checks of
// vrrp_parser.c): each correction is a warning at the line concerned and the model holds the
// value keepalived runs with; what keepalived refuses is an error.
import { describe, expect, test } from 'vitest';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../src/config/index.js';

const F = 'k.conf';

function check(text: string) {
  const r = parseConfigText(text, F, { configId: 'test' });
  const all = r.diagnostics.map(formatDiagnostic).join('\n');
  const find = (severity: Diagnostic['severity'], line: number, fragment: string) =>
    r.diagnostics.find((d) => d.severity === severity && d.line === line && d.file === F && d.message.includes(fragment));
  const expectDiag = (severity: Diagnostic['severity'], line: number, fragment: string) => {
    const d = find(severity, line, fragment);
    expect(d, `expected ${severity} at ${F}:${line} containing "${fragment}"; got:\n${all}`).toBeDefined();
    return d!;
  };
  const noDiag = (fragment: string) => {
    expect(r.diagnostics.filter((d) => d.message.includes(fragment)), all).toEqual([]);
  };
  return { r, all, expectDiag, noDiag, inst: r.config.vrrpInstances[0]!, g: r.config.globalDefs };
}

/** An instance starting at line 1 (or after `before`); the body starts at line 4 (+ lines of `before`). */
const vi = (body: string, before = '') => `${before}vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
${body}
}
`;
const strictGlobal = 'global_defs {\n  vrrp_strict\n}\n'; // 3 lines: the instance starts at line 4

describe('address family of an instance (the first address written decides, as in keepalived)', () => {
  test('an IPv6 unicast_peer in an IPv4 instance is dropped with a warning at its line', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }\n  unicast_peer {\n    10.0.0.2\n    2001:db8::5\n  }'));
    c.expectDiag('warning', 9, '(VI_1) unicast_peer 2001:db8::5 is IPv6 but the instance is IPv4 (decided by virtual_ipaddress 10.0.0.1 at k.conf:5');
    c.expectDiag('warning', 9, 'keepalived skips it ("MUST be of the same family"), so does hakeep');
    expect(c.r.errorCount, c.all).toBe(0);
    expect(c.inst.family).toBe(4);
    expect(c.inst.unicastPeers.map((p) => p.address)).toEqual(['10.0.0.2']);
  });

  test('an IPv6 unicast_src_ip or mcast_src_ip in an IPv4 instance is dropped, and takes an earlier source with it', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }\n  unicast_src_ip 2001:db8::1\n  unicast_peer {\n    10.0.0.2\n  }'));
    c.expectDiag('warning', 7, '(VI_1) unicast_src_ip 2001:db8::1 is IPv6 but the instance is IPv4');
    c.expectDiag('warning', 7, "so adverts use the interface's address");
    expect([c.inst.unicastSrcIp, c.inst.mcastSrcIp]).toEqual([null, null]);

    const d = check(vi('  mcast_src_ip 10.0.0.9\n  mcast_src_ip fe80::9\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('warning', 5, '(VI_1) mcast_src_ip fe80::9 is IPv6 but the instance is IPv4 (decided by mcast_src_ip 10.0.0.9 at k.conf:4');
    d.expectDiag('warning', 5, 'and also drops the source address 10.0.0.9 set before it');
    expect(d.inst.mcastSrcIp).toBeNull();
  });

  test('mcast_src_ip and unicast_src_ip are one source address (the last written wins)', () => {
    const c = check(vi('  mcast_src_ip 10.0.0.9\n  unicast_src_ip 10.0.0.8\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect([c.inst.mcastSrcIp, c.inst.unicastSrcIp]).toEqual(['10.0.0.8', '10.0.0.8']);
    const d = check(vi('  unicast_src_ip 10.0.0.8\n  unicast_peer {\n    10.0.0.2\n  }\n  mcast_src_ip 10.0.0.9\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect([d.inst.mcastSrcIp, d.inst.unicastSrcIp]).toEqual(['10.0.0.9', '10.0.0.9']);
  });

  test('IPv4 addresses in an IPv6 instance are dropped the same way', () => {
    const c = check(vi('  version 3\n  virtual_ipaddress {\n    fe80::10\n    10.0.0.1\n  }\n  unicast_peer {\n    10.0.0.2\n    fe80::2\n  }'));
    c.expectDiag('warning', 7, '(VI_1) virtual_ipaddress 10.0.0.1 is IPv4 but the instance is IPv6 (decided by virtual_ipaddress fe80::10 at k.conf:6');
    c.expectDiag('warning', 10, '(VI_1) unicast_peer 10.0.0.2 is IPv4 but the instance is IPv6');
    expect(c.inst.family).toBe(6);
    expect(c.inst.virtualIpaddress.map((v) => v.address)).toEqual(['fe80::10']);
    expect(c.inst.unicastPeers.map((p) => p.address)).toEqual(['fe80::2']);
    // hakeep cannot run IPv6 VRRP yet, and says so.
    c.expectDiag('warning', 6, '(VI_1) IPv6 VRRP is not implemented by hakeep yet');
  });

  test('the first address written decides, whatever the keyword: an IPv6 unicast_src_ip makes an IPv6 instance', () => {
    const c = check(vi('  unicast_src_ip 2001:db8::9\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 6, '(VI_1) virtual_ipaddress 10.0.0.1 is IPv4 but the instance is IPv6 (decided by unicast_src_ip 2001:db8::9 at k.conf:4');
    // No VIP left, and an IPv6 instance is VRRPv3, which needs one: keepalived refuses to start.
    c.expectDiag('error', 1, '(VI_1) No VIP specified; at least one is required with VRRPv3');
    expect([c.inst.family, c.inst.version, c.inst.virtualIpaddress.length]).toEqual([6, 3, 0]);
  });

  test('an IPv4 instance without any address is IPv4', () => {
    const c = check(vi('  virtual_ipaddress_excluded {\n    2001:db8::1\n  }'));
    expect(c.inst.family).toBe(4);
    // virtual_ipaddress_excluded may hold either family.
    expect(c.inst.virtualIpaddressExcluded.map((v) => v.address)).toEqual(['2001:db8::1']);
    c.expectDiag('warning', 1, '(VI_1) No VIP specified; at least one is sensible');
  });

  test('mcast_dst_ip of the other family, or not multicast, falls back to the default group', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }\n  mcast_dst_ip ff02::12'));
    c.expectDiag('warning', 7, '(VI_1) mcast_dst_ip ff02::12 is IPv6 but the instance is IPv4');
    c.expectDiag('warning', 7, 'adverts go to the default group (vrrp_mcast_group4)');
    expect(c.inst.mcastDstIp).toBeNull();
    const d = check(vi('  mcast_dst_ip 10.0.0.9\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('warning', 4, '(VI_1) mcast_dst_ip 10.0.0.9 is not an IPv4 multicast address (224.0.0.0/4): keepalived skips it');
    expect(d.inst.mcastDstIp).toBeNull();
    expect(check(vi('  mcast_dst_ip 224.0.0.19\n  virtual_ipaddress {\n    10.0.0.1\n  }')).inst.mcastDstIp).toBe('224.0.0.19');
  });

  test('family mismatches inside a VIP line: peer of the other family, brd or label on IPv6', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1 peer 2001:db8::2\n  }\n  virtual_ipaddress_excluded {\n    2001:db8::7 brd 10.0.0.255\n    2001:db8::8/64 scope link label eth0:x\n  }'));
    c.expectDiag('warning', 5, "'10.0.0.1': peer 2001:db8::2 is IPv6 but the address is IPv4; keepalived ignores the peer");
    c.expectDiag('warning', 8, "'2001:db8::7': brd on an IPv6 address; keepalived skips this whole address");
    c.expectDiag('warning', 9, "'2001:db8::8/64': scope link and label eth0:x cannot be set on an IPv6 address");
    expect(c.inst.virtualIpaddress[0]!.peer).toBeNull();
    expect(c.inst.virtualIpaddressExcluded.map((v) => [v.address, v.scope, v.label])).toEqual([['2001:db8::8', null, null]]);
  });
});

describe('garp_lower_prio_delay / garp_lower_prio_repeat', () => {
  test('unset, they come from the global vrrp_garp_lower_prio_*, which default to vrrp_garp_master_*', () => {
    const c = check(vi('  garp_master_delay 2\n  garp_master_repeat 3\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    // The instance's own garp_master_* do not matter: keepalived takes the global values.
    expect([c.inst.garpLowerPrioDelay, c.inst.garpLowerPrioRepeat]).toEqual([5, 5]);
    expect([c.g.vrrpGarpLowerPrioDelay, c.g.vrrpGarpLowerPrioRepeat]).toEqual([5, 5]);

    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_garp_master_delay 10\n  vrrp_garp_master_repeat 2\n}\n'));
    expect([d.g.vrrpGarpLowerPrioDelay, d.g.vrrpGarpLowerPrioRepeat, d.inst.garpLowerPrioDelay, d.inst.garpLowerPrioRepeat]).toEqual([10, 2, 10, 2]);

    const e = check(vi('  garp_lower_prio_repeat 4\n  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_garp_lower_prio_delay 7\n  vrrp_garp_lower_prio_repeat 1\n}\n'));
    expect([e.g.vrrpGarpLowerPrioDelay, e.g.vrrpGarpLowerPrioRepeat, e.inst.garpLowerPrioDelay, e.inst.garpLowerPrioRepeat]).toEqual([7, 1, 7, 4]);
  });

  test('vrrp_min_garp changes the global values still at their defaults when it is read', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_min_garp\n}\n'));
    expect([c.g.vrrpGarpMasterDelay, c.g.vrrpGarpMasterRepeat, c.g.vrrpGarpMasterRefreshRepeat]).toEqual([0, 1, 0]);
    expect([c.inst.garpMasterDelay, c.inst.garpMasterRepeat, c.inst.garpLowerPrioDelay, c.inst.garpLowerPrioRepeat]).toEqual([0, 1, 0, 1]);
    // A value written after vrrp_min_garp wins; one written before it (not the default) stays.
    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_garp_master_delay 3\n  vrrp_min_garp\n  vrrp_garp_master_repeat 4\n}\n'));
    expect([d.inst.garpMasterDelay, d.inst.garpMasterRepeat]).toEqual([3, 4]);
  });

  test('strict mode makes them 0, with a warning when written', () => {
    const c = check(vi('  garp_lower_prio_repeat 3\n  garp_lower_prio_delay 2\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 7, '(VI_1) Strict mode requires no repeat garps: garp_lower_prio_repeat is reset to 0 (vrrp_strict)');
    c.expectDiag('warning', 8, '(VI_1) Strict mode requires no repeat garp delay: garp_lower_prio_delay is reset to 0');
    expect([c.inst.garpLowerPrioRepeat, c.inst.garpLowerPrioDelay]).toEqual([0, 0]);
    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    expect([d.inst.garpLowerPrioRepeat, d.inst.garpLowerPrioDelay]).toEqual([0, 0]);
    d.noDiag('repeat garp');
  });
});

describe('strict mode (vrrp_strict / strict_mode)', () => {
  test('the vrrp_strict warning says what applies and what does not', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 2, "vrrp_strict: hakeep applies keepalived's strict-mode checks and corrections (reported per instance) but never installs the firewall rules");
    c.expectDiag('warning', 2, 'defaults to no_accept');
    expect(c.inst.strictMode).toBe(true);
    // keepalived ignores a value after vrrp_strict: `vrrp_strict off` turns it on.
    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_strict off\n}\n'));
    d.expectDiag('warning', 2, "vrrp_strict takes no value: keepalived ignores 'off' and turns vrrp_strict ON; hakeep does the same");
    expect(d.inst.strictMode).toBe(true);
    // strict_mode off in the instance wins over the global.
    expect(check(vi('  strict_mode off\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal)).inst.strictMode).toBe(false);
  });

  test('no VIP is an error in strict mode (keepalived refuses to start)', () => {
    const c = check(vi('  strict_mode\n  virtual_ipaddress_excluded {\n    10.0.0.1\n  }'));
    c.expectDiag('error', 1, '(VI_1) No VIP specified; at least one is required in strict mode (strict_mode)');
  });

  test('authentication is dropped, at the auth_type line', () => {
    const c = check(vi('  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 8, '(VI_1) Strict mode does not support authentication (vrrp_strict): keepalived ignores auth_type PASS, so does hakeep');
    expect(c.inst.authType).toBeNull();
  });

  test('state MASTER must match being the address owner', () => {
    const c = check(vi('  state MASTER\n  priority 150\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 7, '(VI_1) State MASTER must match being address owner in strict mode (vrrp_strict): state MASTER with priority 150, so keepalived uses state BACKUP');
    expect(c.inst.initialState).toBe('BACKUP');
    const d = check(vi('  state BACKUP\n  priority 255\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    d.expectDiag('warning', 7, 'state BACKUP with priority 255, so keepalived uses state MASTER');
    expect(d.inst.initialState).toBe('MASTER');
  });

  test('preempt_delay, down_timer_adverts, lower_prio_no_advert and higher_prio_send_advert are reset', () => {
    const c = check(vi('  preempt_delay 5\n  down_timer_adverts 5\n  lower_prio_no_advert off\n  higher_prio_send_advert\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 7, '(VI_1) preempt_delay is incompatible with strict mode (vrrp_strict): keepalived resets it to 0');
    c.expectDiag('warning', 8, '(VI_1) down_timer_adverts is incompatible with strict mode (vrrp_strict): keepalived resets it to 3');
    c.expectDiag('warning', 9, '(VI_1) Strict mode requires no lower priority advert: lower_prio_no_advert is set again');
    c.expectDiag('warning', 10, '(VI_1) strict mode requires higher_prio_send_advert to be clear: it is reset');
    expect([c.inst.preemptDelay, c.inst.downTimerAdverts, c.inst.lowerPrioNoAdvert, c.inst.higherPrioSendAdvert]).toEqual([0, 3, true, false]);
    // Unset, strict mode gives the same values without a word.
    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    expect([d.inst.lowerPrioNoAdvert, d.inst.higherPrioSendAdvert]).toEqual([true, false]);
    d.noDiag('lower_prio_no_advert');
  });

  test('IPv6 with version 2 becomes version 3', () => {
    const c = check(vi('  version 2\n  strict_mode\n  virtual_ipaddress {\n    fe80::1\n  }'));
    c.expectDiag('warning', 4, '(VI_1) cannot use IPv6 with VRRP version 2 in strict mode (strict_mode): keepalived sets version 3');
    expect(c.inst.version).toBe(3);
    // Without strict mode an explicit version 2 (written before the IPv6 address) stays.
    expect(check(vi('  version 2\n  virtual_ipaddress {\n    fe80::1\n  }')).inst.version).toBe(2);
  });

  test('accept defaults to off for a non-owner: keepalived would drop VIP traffic, hakeep says it cannot', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    c.expectDiag('warning', 4, '(VI_1) strict mode (vrrp_strict) defaults a non-owner instance to no_accept: keepalived would add nftables/iptables rules dropping traffic addressed to the VIPs');
    c.expectDiag('warning', 4, 'hakeep adds no firewall rules, so VIP traffic is always accepted');
    expect(c.inst.accept).toBe(false);
    // An explicit accept is reset for VRRPv2 (RFC 3768 has no accept mode).
    const d = check(vi('  strict_mode\n  accept\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('warning', 5, '(VI_1) accept mode for VRRP version 2 does not comply with RFC3768, so strict mode (strict_mode) resets it');
    expect(d.inst.accept).toBe(false);
    // The address owner accepts, and nothing is said.
    const e = check(vi('  priority 255\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    expect(e.inst.accept).toBe(true);
    e.noDiag('defaults a non-owner instance to no_accept');
  });

  test('unicast peers are allowed: keepalived 2.2.7 does not enforce its documented rule', () => {
    const c = check(vi('  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }', strictGlobal));
    expect(c.r.errorCount, c.all).toBe(0);
    c.expectDiag('note', 7, '(VI_1) unicast peers in strict mode');
  });
});

describe('unicast_peer min_ttl / max_ttl and check_unicast_src', () => {
  test('bounds default to 0 and 255; writing one turns check_unicast_src on', () => {
    const c = check(vi('  unicast_peer {\n    10.0.0.2 min_ttl 250\n    10.0.0.3 max_ttl 64\n    10.0.0.4\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect(c.inst.unicastPeers).toEqual([
      { address: '10.0.0.2', minTtl: 250, maxTtl: 255 },
      { address: '10.0.0.3', minTtl: 0, maxTtl: 64 },
      { address: '10.0.0.4', minTtl: 0, maxTtl: 255 },
    ]);
    expect(c.inst.checkUnicastSrc).toBe(true);
    c.expectDiag('note', 5, '(VI_1) min_ttl/max_ttl turn on check_unicast_src for this instance, as in keepalived');
    expect(c.r.errorCount, c.all).toBe(0);
    // The daemon applies them (src/vrrp/validate.ts peerTtl): no "not applied" warning.
    c.noDiag('does not check received TTLs');
  });

  test('min_ttl above max_ttl is an error (every advert from that peer would be dropped)', () => {
    const c = check(vi('  unicast_peer {\n    10.0.0.2 min_ttl 50 max_ttl 10\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('error', 5, '(VI_1) unicast_peer 10.0.0.2: min_ttl 50 > max_ttl 10, so every advert from this peer would be discarded');
  });

  test('per-instance check_unicast_src (default: the global vrrp_check_unicast_src)', () => {
    const peers = '  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }';
    expect(check(vi(peers)).inst.checkUnicastSrc).toBe(false);
    expect(check(vi(peers, 'global_defs {\n  vrrp_check_unicast_src\n}\n')).inst.checkUnicastSrc).toBe(true);
    const c = check(vi(`  check_unicast_src\n${peers}`));
    expect(c.inst.checkUnicastSrc).toBe(true);
    c.noDiag('takes no value');
    // The daemon reads the per-instance value: no "not applied" warning.
    c.noDiag('applies only the global');
    // keepalived takes no value: `check_unicast_src off` turns it on.
    const d = check(vi(`  check_unicast_src off\n${peers}`));
    d.expectDiag('warning', 4, "check_unicast_src takes no value: keepalived ignores 'off' and turns check_unicast_src ON");
    expect(d.inst.checkUnicastSrc).toBe(true);
  });

  test('a unicast keyword without peers: multicast, with the deprecation keepalived reports', () => {
    const c = check(vi('  unicast_src_ip 10.0.0.8\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 4, '(VI_1) A unicast keyword has been specified without any unicast peers: keepalived defaults to multicast (a deprecated usage), so does hakeep, with 10.0.0.8 as the source address');
    expect(c.inst.mcastSrcIp).toBe('10.0.0.8');
  });

  test('mcast_dst_ip with unicast peers is ignored', () => {
    const c = check(vi('  mcast_dst_ip 224.0.0.19\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 4, '(VI_1) multicast destination specified with unicast peers: keepalived ignores mcast_dst_ip');
    expect(c.inst.mcastDstIp).toBeNull();
  });
});

describe('accept / no_accept', () => {
  test('no_accept cannot be honoured: a warning at its line, and the model keeps keepalived\'s value', () => {
    const c = check(vi('  priority 100\n  no_accept\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 5, '(VI_1) no_accept cannot be honoured: keepalived would add nftables/iptables rules dropping traffic addressed to the VIPs while this node is master; hakeep adds no firewall rules, so VIP traffic is always accepted (accept mode), which is what `accept` asks for');
    expect(c.inst.accept).toBe(false);
    // The last of accept/no_accept wins.
    expect(check(vi('  no_accept\n  accept\n  virtual_ipaddress {\n    10.0.0.1\n  }')).inst.accept).toBe(true);
  });

  test('defaults: accept, without a word; no_accept on an address owner has no effect', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect(c.inst.accept).toBe(true);
    c.noDiag('accept');
    const d = check(vi('  priority 255\n  no_accept\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('note', 5, '(VI_1) no_accept has no effect on an address owner (priority 255)');
  });
});

describe('other corrections keepalived makes to an instance', () => {
  test('priority and state derive from each other when one is missing', () => {
    const c = check(vi('  state MASTER\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect(c.inst.priority).toBe(255);
    c.expectDiag('note', 4, '(VI_1) state MASTER without a priority line: keepalived makes this node the address owner (priority 255)');
    const d = check(vi('  priority 255\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect(d.inst.initialState).toBe('MASTER');
    const e = check(vi('  state BACKUP\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    expect([e.inst.priority, e.inst.initialState]).toEqual([100, 'BACKUP']);
  });

  test('state is case-sensitive, and a later BACKUP does not undo MASTER', () => {
    const c = check(vi('  state master\n  priority 150\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 4, "(VI_1) unknown state 'master', defaulting to BACKUP as keepalived does");
    expect(c.inst.initialState).toBe('BACKUP');
    const d = check(vi('  state MASTER\n  state BACKUP\n  priority 150\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('warning', 5, '(VI_1) state BACKUP after state MASTER (k.conf:4): keepalived keeps MASTER');
    expect(d.inst.initialState).toBe('MASTER');
  });

  test('auth_type is case-sensitive (an unknown type runs without authentication); authentication without a password is dropped', () => {
    const lower = check(vi('  authentication {\n    auth_type pass\n    auth_pass x\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    lower.expectDiag('warning', 5, "(VI_1) unknown authentication type 'pass': keepalived ignores it (auth_type is case-sensitive: PASS or AH) and runs this instance WITHOUT authentication, so does hakeep");
    expect(lower.inst.authType).toBeNull();
    const c = check(vi('  authentication {\n    auth_type PASS\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 5, '(VI_1) Authentication specified but no password given: keepalived ignores auth_type PASS, so does hakeep');
    expect(c.inst.authType).toBeNull();
  });

  test('version: a second, different version line is ignored', () => {
    const c = check(vi('  version 2\n  version 3\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 5, '(VI_1) version 3 conflicts with version 2 written at k.conf:4: keepalived ignores the later line');
    expect(c.inst.version).toBe(2);
  });

  test('nopreempt with priority 255, preempt_delay with nopreempt or state MASTER', () => {
    const c = check(vi('  priority 255\n  nopreempt\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 5, '(VI_1) nopreempt is incompatible with priority 255');
    expect(c.inst.nopreempt).toBe(false);
    const d = check(vi('  state BACKUP\n  nopreempt\n  preempt_delay 5\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    d.expectDiag('warning', 6, '(VI_1) preempt_delay is incompatible with nopreempt: keepalived resets it to 0');
    expect([d.inst.nopreempt, d.inst.preemptDelay]).toEqual([true, 0]);
    const e = check(vi('  state MASTER\n  priority 150\n  preempt_delay 5\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    e.expectDiag('warning', 6, '(VI_1) preempt_delay will not work with initial state MASTER');
    expect(e.inst.preemptDelay).toBe(0);
  });

  test('more than 255 VIPs: the excess moves to virtual_ipaddress_excluded', () => {
    const vips = Array.from({ length: 257 }, (_, i) => `    10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`).join('\n');
    const c = check(vi(`  virtual_ipaddress {\n${vips}\n  }`));
    c.expectDiag('warning', 5 + 255, '(VI_1) Number of VIPs (257) exceeds the space available in an advert (max 255 addresses)');
    expect(c.r.errorCount, c.all).toBe(0);
    expect([c.inst.virtualIpaddress.length, c.inst.virtualIpaddressExcluded.length]).toEqual([255, 2]);
  });

  test('skip_check_adv_addr and vrrp_skip_check_adv_addr are on whatever value follows', () => {
    const c = check(vi('  skip_check_adv_addr off\n  virtual_ipaddress {\n    10.0.0.1\n  }'));
    c.expectDiag('warning', 4, '(VI_1) skip_check_adv_addr off: keepalived turns the option ON whatever value follows it');
    expect(c.inst.skipCheckAdvAddr).toBe(true);
    expect(check(vi('  skip_check_adv_addr on\n  virtual_ipaddress {\n    10.0.0.1\n  }')).all).not.toContain('skip_check_adv_addr');
    const d = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_skip_check_adv_addr no\n}\n'));
    d.expectDiag('warning', 2, "vrrp_skip_check_adv_addr takes no value: keepalived ignores 'no'");
    expect(d.inst.skipCheckAdvAddr).toBe(true);
  });

  test('vrrp_startup_delay: keepalived\'s range (beyond 600 s), with a note from 60 s', () => {
    const c = check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_startup_delay 900\n}\n'));
    expect(c.g.vrrpStartupDelay).toBe(900);
    expect(c.r.errorCount, c.all).toBe(0);
    c.expectDiag('note', 2, 'vrrp_startup_delay 900 is very large');
    expect(check(vi('  virtual_ipaddress {\n    10.0.0.1\n  }', 'global_defs {\n  vrrp_startup_delay 5.5\n}\n')).all).toBe('');
  });

  test('instance smtp_alert is read; VIP options the daemon does not apply are reported, not silently dropped', () => {
    const c = check(vi('  smtp_alert\n  virtual_ipaddress {\n    10.0.0.1 home\n    2001:db8::1 mngtmpaddr valid_lft 60\n  }'));
    expect(c.inst.smtpAlert).toBe(true);
    c.expectDiag('warning', 6, "'home' on a VIP is parsed but not applied by hakeep yet");
    c.expectDiag('warning', 7, "'mngtmpaddr' on a VIP is parsed but not applied by hakeep yet");
    c.expectDiag('warning', 7, "'valid_lft' on a VIP is parsed but not applied by hakeep yet");
  });

  test('a track_script weight without a value is reported as missing', () => {
    const c = check(`vrrp_script chk {\n  script "/bin/true"\n}\n${vi('  track_script {\n    chk weight\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }')}`);
    c.expectDiag('error', 8, 'chk needs a number between -253 and 253');
  });
});
