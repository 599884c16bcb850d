// "Whatever keepalived 2.2.x runs, hakeep runs" (README): every correction keepalived makes while it
// reads a config and then runs with, hakeep makes too, as a warning at the line (what keepalived
// does, in its words, what hakeep does, what to write); the model holds the corrected value. Where
// keepalived's correction would forward traffic or run VRRP differently from what the line says,
// hakeep refuses instead (an error with the fix), and the README lists each such case.
//
// One test per correction: the warning text, its file:line and the corrected model value.
// Sources (keepalived 2.2.7, read for behaviour only): keepalived/vrrp/vrrp_parser.c,
// keepalived/check/check_parser.c, keepalived/core/global_parser.c, plus the few that
// keepalived makes after parsing (vrrp_data.c, check_data.c, ipwrapper.c) where an issue-12 case
// depends on them. Each was confirmed with `keepalived -t -f` (2.2.7).
//
// COVERED (this file unless noted; the rest of keepalived's corrections were already covered by
// config-vrrp-keepalived, config-track, config-lvs and config-notify tests):
//   issue 12:
//     auth_pass > 8 chars → first 8 (vrrp_parser.c:1438-1454)
//     smtp_server NAME [PORT] → resolved when sending (global_parser.c:220-239); unresolvable →
//       warning in -t (alert-smtp.test.ts); bad port / not a name → no alerts
//     persistence_timeout 0 / invalid → ignored, no persistence (check_parser.c:480-493)
//     quorum 0 / invalid → 1 (check_parser.c:945-956)
//     unicast_src_ip / mcast_src_ip / mcast_dst_ip / unicast_peer with /len or -range → the address
//       (inet_stosockaddr, lib/utils.c:567-570; vrrp_data.c:982)
//     state SLAVE → BACKUP (vrrp_parser.c:799-803; was already done, kept)
//     DR/TUN real server port ≠ virtual server port → reset, checkers keep the written port
//       (check_data.c:1318-1324, check_api.c:147-150)
//     lb_kind in other case: followed when keepalived's fallback is what the word says (nat → NAT),
//       refused otherwise (dr → keepalived runs NAT) (check_parser.c:371-379, check_data.c:1186-1190)
//     smtp_alert in an instance: read and used (vrrp_parser.c:1182-1198)
//     notify_master given three times: the first is kept, each later one warned (vrrp_parser.c:1113-1120)
//   vrrp_parser.c sweep:
//     vrrp_instance without a name / defined twice → block skipped (398-425)
//     vrrp_sync_group without a name / defined twice → block skipped (209-231); second group
//       block → ignored (233-253)
//     priority invalid → 100 (1004-1015); advert_int invalid → ignored (1017-1030); version
//       invalid → ignored (1840-1853); preempt_delay invalid → 0 (1089-1100)
//     garp_master_delay / garp_lower_prio_delay invalid → ignored; garp_master_refresh invalid →
//       0; garp_master_repeat / garp_master_refresh_repeat 0 → 1 (1233-1325)
//     down_timer_adverts invalid → ignored (1327-1339); unicast_ttl invalid → ignored (991-1002);
//       unicast_ttl without unicast peers → reset (452-455)
//     strict_mode, skip_check_adv_addr, lower_prio_no_advert, higher_prio_send_advert,
//       notify_priority_changes, smtp_alert (instance and sync group) with an invalid value → ignored
//     auth_type unknown (e.g. lower case) → no authentication (1425-1437)
//     malformed mcast_src_ip / unicast_src_ip / mcast_dst_ip → skipped (906-966)
//     unicast_peer option without value / unknown option / bad TTL → ignored, peer kept (vrrp_data.c:1000-1016)
//     garp_interval inside vrrp_instance: not a keyword in 2.2.7 → ignored (2122-2212)
//     vrrp_script interval/timeout invalid → ignored; weight invalid → 0; rise/fall invalid → 1 (1506-1585)
//   global_parser.c sweep:
//     router_id / notification_email_from / script_user without a value → ignored (157-177, 1669-1682)
//     empty notification_email → ignored (249-258)
//     smtp_connect_timeout 0 → 1, invalid → ignored (179-196)
//     smtp_alert / smtp_alert_vrrp / smtp_alert_checker / no_checker_emails /
//       checker_log_all_failures / vrrp_min_garp / vrrp_lower_prio_no_advert /
//       vrrp_higher_prio_send_advert / vrrp_notify_priority_changes invalid → ignored
//     vrrp_mcast_group4/6 unparsable, wrong family, not multicast → skipped (778-836)
//     vrrp_garp_master_repeat / _refresh_repeat 0 → 1; vrrp_garp_master_delay /
//       vrrp_garp_lower_prio_delay / _repeat invalid → ignored; vrrp_garp_master_refresh invalid → 0
//     vrrp_garp_interval up to 4294 s (≥1 s "very large") (940-950); vrrp_version / vrrp_startup_delay invalid → ignored
//     enable_script_security and lvs_flush read no value: `enable_script_security off` turns it ON (1684-1687, 654-658)
//   check_parser.c sweep (virtual_server / real_server; checker blocks belong to the checker tests):
//     virtual_server_group without entries → removed, and its virtual servers ignored (133-139,
//       ipwrapper.c:1216-1223); virtual_server group naming no group → ignored
//     lb_algo unknown → ignored (wlc) (304-318); ip_family unknown → ignored (216-244)
//     protocol unknown → ignored when a protocol was already written; refused otherwise (UDP) (562-575)
//     persistence_engine > 15 chars → truncated (495-507); persistence_granularity invalid → ignored (509-560)
//     hysteresis invalid → ignored (957-969); virtual server weight invalid → ignored (970-982)
//     sorry_server_inhibit / sorry_server_lvs_method before sorry_server → ignored (634-652)
//     virtual/real server delay_loop, connect_timeout, retry (0 included), delay_before_retry,
//       warmup invalid → ignored (246-302, 772-833)
//     virtual_server alpha / inhibit_on_failure read no value (`alpha off` turns it ON)
//     real server weight invalid → the virtual server's (689-702); uthreshold/lthreshold invalid
//       → ignored (713-737); inhibit_on_failure / alpha / smtp_alert invalid → ignored (835-880)
//     notify_up / notify_down / quorum_up / quorum_down repeated → the first kept (750-770, 924-944)
//     real server / sorry server of the other family → skipped (661-687, 160-180)
//     lb_kind inside real_server: not a keyword in 2.2.7 (lvs_method is) → ignored when it says
//       the virtual server's method, refused otherwise (1041-1062)
//     a real server given twice → the second removed (check_data.c:1166-1181)
//     lvs_method / sorry_server_lvs_method in other case → as lb_kind
//
// NOT COVERED, deliberately (with the reason):
//   - missing values ("is missing a parameter"): keepalived exits (lib/parser.c:419-428), so they
//     stay errors: refuse where keepalived refuses.
//   - virtual_router_id invalid: keepalived ignores the line, then refuses the instance ("the
//     virtual router id must be set", vrrp.c:2313-2316): stays an error.
//   - malformed unicast_peer: keepalived skips the peer and runs, so that peer never hears this
//     node (both master): refused (README).
//   - unicast_ttl 0: keepalived runs, but no advert leaves the host: refused (README).
//   - garp repeats above 255: keepalived accepts up to 2^32-1 GARPs per VIP; hakeep queues a burst
//     in memory and caps at 255: refused (README).
//   - IPVS weights above 65535: hakeep programs IPVS with ipvsadm, which takes 0-65535: refused.
//   - lb_kind / lvs_method words that name no method (BRIDGE), tunnel option errors: keepalived
//     keeps the previous method or tunnel settings; refused (the packets would be forwarded in a
//     form the line does not name).
//   - vrrp_script without a script line, track_script naming no vrrp_script: keepalived drops the
//     tracking and runs, so the instance never fails over when the service dies: refused.
//   - numbers with trailing text ("5x"): keepalived's daemon reads the leading number (read_int_func
//     with ignore_error, lib/parser.c:430-460) but `keepalived -t` rejects them; hakeep keeps
//     rejecting them (an error), as -t does.
//   - fractional vrrp_script interval/timeout (1.5): keepalived truncates to whole seconds; hakeep
//     keeps the fraction (an extension, never shorter than asked).
//   - vrrp_script weight out of range: keepalived 2.2.7 stores the out-of-range number anyway (its
//     read_int leaves the value in place); hakeep uses 0, as the comment in keepalived intends.
//   - interface names (too long, loopback, missing): checked when hakeep starts (runtime FAULT),
//     not by the config reader.
//   - lvs_timeouts and lvs_sync_daemon (global_parser.c:477-650): covered in ipvs-sync-daemon.test.ts.
//   - keywords hakeep does not act on yet (use_vmac, ipvlan, nftables,
//     iptables/ipsets, garp_group, linkbeat, SNMP, D-Bus, realtime knobs, process names, umask,
//     net_namespace, instance, startup/shutdown scripts …): their value corrections wait for the
//     keyword itself; `hakeep -t` already says each has no effect.
//   - virtual_ipaddress, virtual_routes/rules and static_* lines (vrrp_ipaddress.c, vrrp_iproute.c,
//     vrrp_iprule.c): outside the three parser files swept here; their handling is unchanged.
//   - virtual_server_group "IPv4, IPv6 and fwmark without family - removing" (check_parser.c:141-146)
//     and ipwrapper.c's family mismatches of a group: rare; they stay errors where hakeep has one.
import { describe, expect, test } from 'vitest';
import { parseConfigText, formatDiagnostic, type Diagnostic } from '../../src/config/index.js';

const F = 'l.conf';

function check(text: string) {
  const r = parseConfigText(text, F, { configId: 'test' });
  const all = r.diagnostics.map(formatDiagnostic).join('\n');
  const expectDiag = (severity: Diagnostic['severity'], line: number, fragment: string) => {
    const d = r.diagnostics.find((x) => x.severity === severity && x.line === line && x.file === F && x.message.includes(fragment));
    expect(d, `expected ${severity} at ${F}:${line} containing "${fragment}"; got:\n${all}`).toBeDefined();
    return d!;
  };
  const noErrors = () => expect(r.errorCount, all).toBe(0);
  return { r, all, expectDiag, noErrors, cfg: r.config, inst: r.config.vrrpInstances[0]!, g: r.config.globalDefs, vs: r.config.virtualServers[0]! };
}

/** An instance at line 1; its body starts at line 4. */
const vi = (body: string, name = 'VI_1') => `vrrp_instance ${name} {
  interface eth0
  virtual_router_id 51
${body}
  virtual_ipaddress {
    10.0.0.1
  }
}
`;
/** A global_defs block at line 1; its body starts at line 2. */
const gd = (body: string, after = '') => `global_defs {\n${body}\n}\n${after}`;
/** A virtual server at line 1; its body starts at line 2; one real server after the body. */
const vsrv = (body: string, rs = '10.0.0.5 80', rsBody = '', addr = '10.0.0.100 80') =>
  `virtual_server ${addr} {\n${body}\n  real_server ${rs} {\n${rsBody}    TCP_CHECK {\n    }\n  }\n}\n`;

describe('issue 12: the cases real configs hit', () => {
  test('auth_pass longer than 8 characters: the first 8, as keepalived ("Truncating auth_pass to 8 characters")', () => {
    const c = check(vi('  authentication {\n    auth_type PASS\n    auth_pass verysecretpassword\n  }'));
    c.noErrors();
    c.expectDiag('warning', 6, "(VI_1) auth_pass is longer than 8 characters: keepalived uses the first 8 ('verysecr', \"Truncating auth_pass to 8 characters\"), so does hakeep; a peer with the same line agrees. Write auth_pass verysecr");
    expect([c.inst.authType, c.inst.authPass]).toEqual(['PASS', 'verysecr']);
  });

  test('smtp_server localhost / a host name [port] is kept as a name (resolved when sending)', () => {
    const c = check(gd('  smtp_server localhost\n  notification_email {\n    ops@example.com\n  }'));
    c.noErrors();
    expect(c.g.smtpServer).toEqual({ host: 'localhost', port: 25, loc: { file: F, line: 2 } });
    expect(check(gd('  smtp_server mail-relay.example.com 2525')).g.smtpServer).toMatchObject({ host: 'mail-relay.example.com', port: 2525 });
    expect(check(gd('  smtp_server 192.0.2.25')).g.smtpServer).toMatchObject({ host: '192.0.2.25', port: 25 });
  });

  test('smtp_server with a bad port or text that is not a name: keepalived sends no alert ("Invalid smtp server"), nor does hakeep', () => {
    const c = check(gd('  smtp_server 10.0.0.1 0'));
    c.noErrors();
    c.expectDiag('warning', 2, 'smtp_server 10.0.0.1 0: the port \'0\' is not 1-65535: keepalived reports "Invalid smtp server 10.0.0.1 0" and sends no e-mail alert, so does hakeep');
    expect(c.g.smtpServer).toBeNull();
    const d = check(gd('  smtp_server 10.0.0.1/24'));
    d.expectDiag('warning', 2, 'smtp_server 10.0.0.1/24 25: \'10.0.0.1/24\' is neither an IP address nor a host name');
    expect(d.g.smtpServer).toBeNull();
  });

  test('persistence_timeout 0: no persistence, which is what 0 means ("persistence_timeout invalid")', () => {
    const c = check(vsrv('  protocol TCP\n  persistence_timeout 0'));
    c.noErrors();
    c.expectDiag('warning', 3, "persistence_timeout '0' is out of range (1 to 2678400 seconds): keepalived ignores it (\"persistence_timeout invalid\"), so does hakeep; the service has no persistence, which is what 0 means");
    expect(c.vs.persistenceTimeout).toBeNull();
    // An earlier valid line stays.
    const d = check(vsrv('  protocol TCP\n  persistence_timeout 50\n  persistence_timeout x'));
    d.expectDiag('warning', 4, 'persistence stays 50 seconds');
    expect(d.vs.persistenceTimeout).toBe(50);
  });

  test('quorum 0: 1, with a warning ("Quorum 0 must be in [1, 4294967295]. Setting to 1.")', () => {
    const c = check(vsrv('  protocol TCP\n  quorum 0'));
    c.noErrors();
    c.expectDiag('warning', 3, "quorum '0' is out of range (1 to 4294967295): keepalived ignores it (\"Quorum 0 must be in [1, 4294967295]. Setting to 1.\"), so does hakeep; quorum 1 is used");
    expect(c.vs.quorum).toBe(1);
  });

  test('unicast_src_ip and unicast_peer with a prefix length: the address (keepalived reads only an address)', () => {
    const c = check(vi('  unicast_src_ip 192.168.0.91/24\n  unicast_peer {\n    192.168.0.92/24\n    192.168.0.93-95\n  }'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) unicast_src_ip 192.168.0.91/24: keepalived drops the prefix length '/24' and uses the address 192.168.0.91 (only an address is read here), so does hakeep. Write 192.168.0.91");
    c.expectDiag('warning', 6, "(VI_1) unicast_peer 192.168.0.92/24: keepalived drops the prefix length '/24' and uses the address 192.168.0.92");
    c.expectDiag('warning', 7, "(VI_1) unicast_peer 192.168.0.93-95: keepalived drops the range '-95' and uses the address 192.168.0.93");
    expect(c.inst.unicastSrcIp).toBe('192.168.0.91');
    expect(c.inst.unicastPeers.map((p) => p.address)).toEqual(['192.168.0.92', '192.168.0.93']);
  });

  test('mcast_src_ip and mcast_dst_ip with a prefix length: the address', () => {
    const c = check(vi('  mcast_src_ip 10.0.0.9/24\n  mcast_dst_ip 224.0.0.19/8'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) mcast_src_ip 10.0.0.9/24: keepalived drops the prefix length '/24'");
    c.expectDiag('warning', 5, "(VI_1) mcast_dst_ip 224.0.0.19/8: keepalived drops the prefix length '/8'");
    expect([c.inst.mcastSrcIp, c.inst.mcastDstIp]).toEqual(['10.0.0.9', '224.0.0.19']);
  });

  test('state SLAVE (or any unknown state): BACKUP, as keepalived ("unknown state \'SLAVE\', defaulting to BACKUP")', () => {
    const c = check(vi('  state SLAVE'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) unknown state 'SLAVE', defaulting to BACKUP as keepalived does");
    expect(c.inst.initialState).toBe('BACKUP');
    expect(check(vi('  state master')).inst.initialState).toBe('BACKUP');
  });

  test('DR/TUN real server on another port: reset to the virtual server\'s ("ports don\'t match - resetting"); its checkers keep the written port', () => {
    const c = check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 8080'));
    c.noErrors();
    c.expectDiag('warning', 4, "real_server 10.0.0.5 port 8080 differs from virtual_server 10.0.0.100:80's port with lb_kind DR (packets keep the virtual server's port): keepalived resets it (\"WARNING - virtual server [10.0.0.100]:tcp:80 and real server [10.0.0.5]:tcp:8080 ports don't match - resetting\"), so does hakeep; the real server is 10.0.0.5:80 in IPVS and its checkers still connect to port 8080");
    const rs = c.vs.realServers[0]!;
    expect(rs.port).toBe(80);
    const chk = rs.checkers[0]!;
    expect(chk.type === 'TCP_CHECK' && chk.connectPort).toBe(8080);
    // A checker with its own connect_port keeps it.
    const d = check(vsrv('  protocol TCP\n  lb_kind TUN', '10.0.0.5 8080', '').replace('TCP_CHECK {\n', 'TCP_CHECK {\n      connect_port 9000\n'));
    const c2 = d.vs.realServers[0]!.checkers[0]!;
    expect([d.vs.realServers[0]!.port, c2.type === 'TCP_CHECK' && c2.connectPort]).toEqual([80, 9000]);
    // NAT may remap ports: nothing to say.
    expect(check(vsrv('  protocol TCP\n  lb_kind NAT', '10.0.0.5 8080')).vs.realServers[0]!.port).toBe(8080);
  });

  test('two real servers that become one destination once their port is reset: refused', () => {
    const text = 'virtual_server 10.0.0.100 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.0.5 80 {\n  }\n  real_server 10.0.0.5 8080 {\n  }\n}\n';
    check(text).expectDiag('error', 6, 'real_server 10.0.0.5 ends up as the same IPVS destination 10.0.0.5:80 as real_server 10.0.0.5 80');
  });

  test('lb_kind nat (lower case): keepalived keeps its default NAT, which is what the line says: run it, with a warning', () => {
    const c = check(vsrv('  protocol TCP\n  lb_kind nat'));
    c.noErrors();
    c.expectDiag('warning', 3, "lb_kind 'nat': keepalived knows only NAT, DR and TUN in capitals (\"PARSER : unknown [nat] routing method for virtual server.\") and keeps keepalived's default (\"no forwarding method set, setting default NAT\"), which is NAT, what this line says; so does hakeep. Write lb_kind NAT");
    expect(c.vs.lbKind).toBe('NAT');
  });

  test('lb_kind dr (lower case): keepalived runs NAT, which the line does not say: refused, with both fixes', () => {
    const c = check(vsrv('  protocol TCP\n  lb_kind dr'));
    c.expectDiag('error', 3, "lb_kind 'dr' is not valid (keepalived is case-sensitive: NAT, DR or TUN): keepalived reports \"PARSER : unknown [dr] routing method for virtual server.\" and runs this virtual server with keepalived's default (\"no forwarding method set, setting default NAT\") (NAT), not DR. hakeep refuses rather than forward with a method the line does not name: write lb_kind DR for what this line says, or lb_kind NAT for what keepalived runs");
    // After lb_kind DR, a lower-case dr repeats what keepalived keeps: a warning.
    const d = check(vsrv('  protocol TCP\n  lb_kind DR\n  lb_kind dr'));
    d.noErrors();
    d.expectDiag('warning', 4, "keeps the lb_kind written at l.conf:3, which is DR, what this line says");
    expect(d.vs.lbKind).toBe('DR');
  });

  test('smtp_alert inside an instance is read (and resolved: the global smtp_alert_vrrp, else smtp_alert, else off)', () => {
    expect(check(vi('  smtp_alert')).inst.smtpAlert).toBe(true);
    expect(check(vi('  smtp_alert off')).inst.smtpAlert).toBe(false);
    expect(check(vi('')).inst.smtpAlert).toBe(false);
    expect(check(gd('  smtp_alert', vi(''))).cfg.vrrpInstances[0]!.smtpAlert).toBe(true);
    expect(check(gd('  smtp_alert\n  smtp_alert_vrrp off', vi(''))).cfg.vrrpInstances[0]!.smtpAlert).toBe(false);
    expect(check(gd('  smtp_alert_vrrp off', vi('  smtp_alert'))).cfg.vrrpInstances[0]!.smtpAlert).toBe(true);
    const c = check(vi('  smtp_alert yes-please'));
    c.expectDiag('warning', 4, "(VI_1) smtp_alert 'yes-please' is not one of on/off, true/false, yes/no (lower case): keepalived ignores the line (\"Invalid vrrp_instance smtp_alert parameter yes-please\")");
    expect(c.inst.smtpAlert).toBe(false);
  });

  test('sync group, virtual server and real server smtp_alert, resolved as keepalived (a real server defaults to on)', () => {
    const text = gd('  smtp_alert_checker off', `${vi('')}vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  smtp_alert\n}\n${vsrv('  protocol TCP\n  smtp_alert', '10.0.0.5 80', '    smtp_alert on\n')}${vsrv('  protocol TCP', '10.0.0.6 80', '', '10.0.0.101 80')}`);
    const c = check(text);
    c.noErrors();
    expect(c.cfg.vrrpSyncGroups[0]!.smtpAlert).toBe(true);
    expect(c.cfg.virtualServers.map((v) => [v.smtpAlert, v.realServers[0]!.smtpAlert])).toEqual([[true, true], [false, false]]);
    const d = check(vsrv('  protocol TCP'));
    expect([d.vs.smtpAlert, d.vs.realServers[0]!.smtpAlert]).toEqual([false, true]);
  });

  test('notify_master three times: the first one runs, each later one is warned ("already specified - ignoring")', () => {
    const c = check(vi('  notify_master "/bin/a one"\n  notify_master "/bin/b two"\n  notify_master "/bin/c three"'));
    c.noErrors();
    c.expectDiag('warning', 5, "(VI_1) notify_master is given again; keepalived keeps the first one ('/bin/a one') and ignores this one (\"(VI_1) notify_master script already specified - ignoring /bin/b two\"), so does hakeep");
    c.expectDiag('warning', 6, 'ignoring /bin/c three');
    expect(c.inst.notifyMaster?.command).toBe('/bin/a one');
  });
});

describe('vrrp_parser.c: instance and script values keepalived corrects', () => {
  test('vrrp_instance without a name, or defined twice: the block is skipped', () => {
    const c = check(`vrrp_instance {\n  interface eth0\n}\n${vi('', 'VI_1').replace(/^/, '')}${vi('', 'VI_1')}`);
    c.noErrors();
    c.expectDiag('warning', 1, 'keepalived skips this block ("vrrp_instance must have a name"), so does hakeep');
    c.expectDiag('warning', 12, 'vrrp_instance VI_1 is already defined at l.conf:4: keepalived skips this second block ("vrrp instance VI_1 already defined")');
    expect(c.cfg.vrrpInstances).toHaveLength(1);
  });

  test('vrrp_sync_group twice, or a second group block: skipped', () => {
    const inst = vi('', 'VI_1') + vi('', 'VI_2').replace('virtual_router_id 51', 'virtual_router_id 52');
    const c = check(`${inst}vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  group {\n    VI_2\n  }\n}\nvrrp_sync_group G {\n  group {\n    VI_2\n  }\n}\n`);
    c.noErrors();
    c.expectDiag('warning', 21, 'vrrp_sync_group G: a second group block: keepalived ignores it ("Group list already specified for sync group G"), so does hakeep; the members stay VI_1');
    c.expectDiag('warning', 25, 'vrrp_sync_group G is already defined at l.conf:17: keepalived skips this second block ("vrrp sync group G already defined")');
    expect(c.cfg.vrrpSyncGroups.map((g) => [g.name, g.group])).toEqual([['G', ['VI_1']]]);
  });

  test('priority out of range: 100 ("Using default 100"), which counts as written', () => {
    const c = check(vi('  state MASTER\n  priority 0'));
    c.expectDiag('warning', 5, "(VI_1) priority '0' is out of range (1 to 255): keepalived ignores it (\"(VI_1) Priority not valid! must be between 1 & 255. Using default 100\"), so does hakeep; priority 100 is used");
    expect([c.inst.priority, c.inst.initialState]).toEqual([100, 'MASTER']);
  });

  test('advert_int, version and preempt_delay out of range', () => {
    const c = check(vi('  advert_int 300\n  version 4\n  preempt_delay 5000'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) advert_int '300' is out of range (0.01 to 255 seconds): keepalived ignores it (\"(VI_1) Advert interval (300) not valid! Must be > 0 - ignoring\"), so does hakeep; advert_int stays 1 second");
    c.expectDiag('warning', 5, "(VI_1) version '4' is out of range (2 to 3): keepalived ignores it (\"(VI_1): Version must be either 2 or 3\")");
    c.expectDiag('warning', 6, "(VI_1) preempt_delay '5000' is out of range (0 to 1000 seconds): keepalived ignores it (\"(VI_1) Preempt_delay not valid! must be between 0-1000\"), so does hakeep; preempt_delay 0 (none) is used");
    expect([c.inst.advertInt, c.inst.version, c.inst.preemptDelay]).toEqual([1, 2, 0]);
  });

  test('garp values: repeats of 0 become 1, bad delays are ignored, a bad refresh is 0', () => {
    const c = check(vi('  garp_master_repeat 0\n  garp_master_refresh_repeat 0\n  garp_master_delay x\n  garp_master_refresh 10\n  garp_master_refresh -1\n  garp_lower_prio_delay y\n  garp_lower_prio_repeat z'));
    c.noErrors();
    c.expectDiag('warning', 4, '(VI_1) garp_master_repeat 0: keepalived uses 1 ("garp_master_repeat must be greater than 0, setting to 1"), so does hakeep');
    c.expectDiag('warning', 5, '(VI_1) garp_master_refresh_repeat 0: keepalived uses 1');
    c.expectDiag('warning', 6, "(VI_1) garp_master_delay 'x' is not a whole number: keepalived ignores it (\"(VI_1): garp_master_delay 'x' invalid - ignoring\"), so does hakeep; garp_master_delay stays 5");
    c.expectDiag('warning', 8, "(VI_1) garp_master_refresh '-1' is out of range (0 to 86400 seconds): keepalived ignores it (\"(VI_1): Invalid garp_master_refresh '-1' - ignoring\"), so does hakeep; garp_master_refresh 0 (no refresh) is used");
    c.expectDiag('warning', 9, "(VI_1): garp_lower_prio_delay 'y' invalid - ignoring");
    c.expectDiag('warning', 10, "(VI_1): Invalid garp_lower_prio_repeat 'z'");
    expect([c.inst.garpMasterRepeat, c.inst.garpMasterRefreshRepeat, c.inst.garpMasterDelay, c.inst.garpMasterRefresh, c.inst.garpLowerPrioDelay, c.inst.garpLowerPrioRepeat])
      .toEqual([1, 1, 5, 0, 5, 5]);
  });

  test('down_timer_adverts and unicast_ttl out of range; unicast_ttl without unicast peers is reset', () => {
    const c = check(vi('  down_timer_adverts 500\n  unicast_ttl 300\n  unicast_ttl 10'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) down_timer_adverts '500' is out of range (1 to 100): keepalived ignores it (\"(VI_1): Invalid down_timer_adverts [1:100] '500'\")");
    c.expectDiag('warning', 5, "(VI_1) unicast_ttl '300' is out of range (1 to 255): keepalived ignores it (\"(VI_1): TTL '300' not valid - must be between 0 & 255\")");
    c.expectDiag('warning', 6, '(VI_1) unicast_ttl without unicast peers: keepalived resets it ("Cannot use unicast_ttl without unicast peers - resetting"), so does hakeep');
    expect([c.inst.downTimerAdverts, c.inst.unicastTtl]).toEqual([3, 255]);
    const d = check(vi('  unicast_ttl 10\n  unicast_peer {\n    10.0.0.2\n  }'));
    expect(d.all).not.toContain('without unicast peers');
    expect(d.inst.unicastTtl).toBe(10);
  });

  test('boolean keywords with a value keepalived does not know are ignored', () => {
    const c = check(vi('  strict_mode maybe\n  skip_check_adv_addr perhaps\n  lower_prio_no_advert 1\n  higher_prio_send_advert ON\n  notify_priority_changes nah'));
    c.noErrors();
    c.expectDiag('warning', 4, "(VI_1) strict_mode 'maybe' is not one of on/off, true/false, yes/no (lower case): keepalived ignores the line (\"(VI_1) invalid strict_mode maybe specified\"), so does hakeep; strict mode stays off");
    c.expectDiag('warning', 5, '(VI_1) invalid skip_check_adv_addr perhaps specified');
    c.expectDiag('warning', 6, '(VI_1) invalid lower_prio_no_advert 1 specified');
    c.expectDiag('warning', 7, '(VI_1) invalid higher_prio_send_advert ON specified');
    c.expectDiag('warning', 8, "(VI_1) Invalid value 'nah' for notify_priority_changes specified");
    expect([c.inst.strictMode, c.inst.skipCheckAdvAddr, c.inst.lowerPrioNoAdvert, c.inst.higherPrioSendAdvert, c.inst.notifyPriorityChanges])
      .toEqual([false, false, false, false, null]);
  });

  test('auth_type in lower case (or unknown): keepalived runs without authentication, so does hakeep, loudly', () => {
    const c = check(vi('  authentication {\n    auth_type pass\n    auth_pass secret\n  }'));
    c.noErrors();
    c.expectDiag('warning', 5, "(VI_1) unknown authentication type 'pass': keepalived ignores it (auth_type is case-sensitive: PASS or AH) and runs this instance WITHOUT authentication, so does hakeep (peers with the same line agree with it; a peer that says PASS rejects its adverts). To authenticate, write PASS on every node");
    expect(c.inst.authType).toBeNull();
  });

  test('malformed source or destination addresses are skipped', () => {
    const c = check(vi('  mcast_src_ip 10.0.0.9\n  unicast_src_ip 10.0.0.999\n  mcast_dst_ip banana'));
    c.noErrors();
    c.expectDiag('warning', 5, "(VI_1) unicast_src_ip '10.0.0.999' is not an IP address: keepalived skips it (\"malformed src address. Skipping...\") and also loses the source address 10.0.0.9 set before it, so does hakeep");
    c.expectDiag('warning', 6, "(VI_1) mcast_dst_ip 'banana' is not an IP address: keepalived skips it (\"malformed mcast dest address banana. Skipping...\")");
    expect([c.inst.mcastSrcIp, c.inst.mcastDstIp]).toEqual([null, null]);
  });

  test('unicast_peer options: a missing value, an unknown option or a bad TTL is ignored; the peer stays', () => {
    const c = check(vi('  unicast_peer {\n    10.0.0.2 min_ttl\n    10.0.0.3 colour 5\n    10.0.0.4 max_ttl 300\n    10.0.0.5 max_ttl 64\n  }'));
    c.noErrors();
    c.expectDiag('warning', 5, '(VI_1) unicast_peer 10.0.0.2: min_ttl is missing a value: keepalived ignores it ("min_ttl is missing a value"), so does hakeep; the peer is kept without it');
    c.expectDiag('warning', 6, '(VI_1) unknown unicast_peer option colour: keepalived ignores it and the rest of the line ("unknown unicast_peer option colour"), so does hakeep; the peer is kept');
    c.expectDiag('warning', 7, "(VI_1) unicast_peer 10.0.0.4 max_ttl '300' is out of range (0 to 255)");
    expect(c.inst.unicastPeers).toEqual([
      { address: '10.0.0.2', minTtl: 0, maxTtl: 255 }, { address: '10.0.0.3', minTtl: 0, maxTtl: 255 },
      { address: '10.0.0.4', minTtl: 0, maxTtl: 255 }, { address: '10.0.0.5', minTtl: 0, maxTtl: 64 },
    ]);
  });

  test('garp_interval inside vrrp_instance is not a keepalived 2.2.7 keyword: ignored (the global one applies)', () => {
    const c = check(gd('  vrrp_garp_interval 0.01', vi('  garp_interval 0.5')));
    c.noErrors();
    c.expectDiag('warning', 7, "(VI_1) garp_interval is not a vrrp_instance keyword in keepalived 2.2.7 (\"Unknown keyword 'garp_interval'\"): it ignores the line, so does hakeep; the global vrrp_garp_interval (0.01 s) applies");
    expect(c.inst.garpInterval).toBe(0.01);
  });

  test('vrrp_script: bad interval/timeout ignored, bad weight 0, bad rise/fall 1', () => {
    const c = check(`vrrp_script chk {\n  script "/bin/true"\n  interval x\n  timeout -1\n  weight 300\n  rise 0\n  fall y\n}\n${vi('  track_script {\n    chk\n  }')}`);
    c.noErrors();
    c.expectDiag('warning', 3, "vrrp_script chk: interval 'x' is not a number: keepalived ignores it (\"(chk): vrrp script interval 'x' must be between 1 and 4294 - ignoring\")");
    c.expectDiag('warning', 4, "(chk): vrrp script timeout '-1' invalid - ignoring");
    c.expectDiag('warning', 5, "vrrp_script chk: weight '300' is out of range (-253 to 253): keepalived ignores it (\"vrrp_script chk weight 300 must be in [-253, 253]\"), so does hakeep; weight 0 is used");
    c.expectDiag('warning', 6, "(chk): vrrp script rise value '0' invalid, defaulting to 1");
    c.expectDiag('warning', 7, "(chk): vrrp script fall value 'y' invalid, defaulting to 1");
    const s = c.cfg.vrrpScripts[0]!;
    expect([s.interval, s.timeout, s.weight, s.rise, s.fall]).toEqual([1, 1, 0, 1, 1]);
  });
});

describe('global_parser.c: global values keepalived corrects', () => {
  test('router_id, notification_email_from and script_user without a value; an empty notification_email', () => {
    const c = check(gd('  router_id\n  notification_email_from\n  script_user\n  notification_email {\n  }'));
    c.noErrors();
    c.expectDiag('warning', 2, 'router_id without a name: keepalived ignores the line ("routerid name missing - ignoring"), so does hakeep; the host name is used');
    c.expectDiag('warning', 3, 'notification_email_from without an address: keepalived ignores the line ("emailfrom missing - ignoring")');
    c.expectDiag('warning', 4, 'script_user without a user name: keepalived ignores the line ("No script username specified")');
    c.expectDiag('warning', 5, 'notification_email has no addresses: keepalived ignores it ("Warning - empty notification_email block")');
    expect([c.g.routerId, c.g.notificationEmailFrom, c.g.scriptUser, c.g.notificationEmail]).toEqual([null, null, null, []]);
  });

  test('smtp_connect_timeout 0 becomes 1; an invalid one is ignored', () => {
    const c = check(gd('  smtp_connect_timeout 0'));
    c.expectDiag('warning', 2, 'smtp_connect_timeout 0: keepalived uses 1 second ("smtp_conect_timeout must be greater than 0, setting to 1"), so does hakeep');
    expect(c.g.smtpConnectTimeout).toBe(1);
    const d = check(gd('  smtp_connect_timeout 2.5'));
    d.expectDiag('warning', 2, "smtp_connect_timeout '2.5' is not a whole number: keepalived ignores it (\"smtp_connect_timeout '2.5' must be in [0, 4294] - ignoring\")");
    expect(d.g.smtpConnectTimeout).toBe(30);
  });

  test('smtp_alert, smtp_alert_vrrp, smtp_alert_checker, no_checker_emails, checker_log_all_failures, vrrp_min_garp … with a bad value are ignored', () => {
    const c = check(gd('  smtp_alert bad\n  smtp_alert_vrrp bad\n  smtp_alert_checker bad\n  no_checker_emails bad\n  checker_log_all_failures bad\n  vrrp_min_garp bad\n  vrrp_lower_prio_no_advert bad\n  vrrp_higher_prio_send_advert bad\n  vrrp_notify_priority_changes bad'));
    c.noErrors();
    c.expectDiag('warning', 2, "Invalid value 'bad' for global smtp_alert specified");
    c.expectDiag('warning', 3, "Invalid value 'bad' for global smtp_alert_vrrp specified");
    c.expectDiag('warning', 4, "Invalid value 'bad' for global smtp_alert_checker specified");
    c.expectDiag('warning', 5, "Invalid value 'bad' for global no_checker_emails specified");
    c.expectDiag('warning', 6, 'Invalid value for checker_log_all_failures specified');
    c.expectDiag('warning', 7, 'Invalid value for vrrp_min_garp specified');
    c.expectDiag('warning', 8, 'Invalid value for vrrp_lower_prio_no_advert specified');
    c.expectDiag('warning', 9, 'Invalid value for vrrp_higher_prio_send_advert specified');
    c.expectDiag('warning', 10, "Invalid value 'bad' for global vrrp_notify_priority_changes specified");
    expect([c.g.smtpAlert, c.g.smtpAlertVrrp, c.g.smtpAlertChecker, c.g.noCheckerEmails, c.g.checkerLogAllFailures, c.g.vrrpMinGarp, c.g.vrrpGarpMasterRepeat])
      .toEqual([undefined, undefined, undefined, undefined, false, false, 5]);
  });

  test('vrrp_mcast_group4/6 that cannot be used are skipped (the default group stays)', () => {
    const c = check(gd('  vrrp_mcast_group4 10.0.0.1\n  vrrp_mcast_group4 banana\n  vrrp_mcast_group6 224.0.0.18\n  vrrp_mcast_group6 ff05::12'));
    c.noErrors();
    c.expectDiag('warning', 2, 'vrrp_mcast_group4 10.0.0.1 is not an IPv4 multicast address (224.0.0.0/4): keepalived skips the line ("vrrp_mcast_group4 [10.0.0.1] is not multicast. Skipping"), so does hakeep; adverts go to 224.0.0.18');
    c.expectDiag('warning', 3, "Can't parse vrrp_mcast_group4 [banana]. Skipping");
    c.expectDiag('warning', 4, 'vrrp_mcast_group6 [224.0.0.18] is not IPv6. Skipping');
    c.expectDiag('warning', 5, 'vrrp_mcast_group6 ff05::12 should be link-local multicast (ffX2::/16)');
    expect([c.g.vrrpMcastGroup4, c.g.vrrpMcastGroup6]).toEqual(['224.0.0.18', 'ff05::12']);
  });

  test('global garp values: repeats of 0 become 1; bad delays ignored; a bad refresh is 0; a large interval is kept', () => {
    const c = check(gd('  vrrp_garp_master_repeat 0\n  vrrp_garp_master_refresh_repeat 0\n  vrrp_garp_master_delay x\n  vrrp_garp_master_refresh x\n  vrrp_garp_lower_prio_delay x\n  vrrp_garp_lower_prio_repeat x\n  vrrp_garp_interval 2'));
    c.noErrors();
    c.expectDiag('warning', 2, 'vrrp_garp_master_repeat 0: keepalived uses 1 ("vrrp_garp_master_repeat must be greater than 0, setting to 1")');
    c.expectDiag('warning', 3, 'vrrp_garp_master_refresh_repeat 0: keepalived uses 1');
    c.expectDiag('warning', 4, "vrrp_garp_master_delay 'x' invalid - ignoring");
    c.expectDiag('warning', 5, "Invalid vrrp_garp_master_refresh 'x' - ignoring");
    c.expectDiag('warning', 6, "vrrp_garp_lower_prio_delay 'x' invalid - ignoring");
    c.expectDiag('warning', 7, "Invalid vrrp_garp_lower_prio_repeat 'x'");
    c.expectDiag('note', 8, 'vrrp_garp_interval 2 is very large (keepalived logs "The vrrp_garp_interval is very large")');
    expect([c.g.vrrpGarpMasterRepeat, c.g.vrrpGarpMasterRefreshRepeat, c.g.vrrpGarpMasterDelay, c.g.vrrpGarpMasterRefresh, c.g.vrrpGarpInterval])
      .toEqual([1, 1, 5, 0, 2]);
  });

  test('vrrp_version and vrrp_startup_delay invalid: ignored', () => {
    const c = check(gd('  vrrp_version 4\n  vrrp_startup_delay x'));
    c.noErrors();
    c.expectDiag('warning', 2, "vrrp_version '4' is out of range (2 to 3): keepalived ignores it (\"VRRP Error: Version must be either 2 or 3\")");
    c.expectDiag('warning', 3, "vrrp_startup_delay 'x' is invalid");
    expect([c.g.vrrpVersion, c.g.vrrpStartupDelay]).toEqual([2, 0]);
  });

  test('vrrp_rt_priority: the advert pacer thread\'s SCHED_FIFO priority, clamped to 1-99 as keepalived does', () => {
    const c = check(gd('  vrrp_rt_priority 50'));
    c.noErrors();
    c.expectDiag('note', 2, 'vrrp_rt_priority 50: hakeep gives this SCHED_FIFO priority to its advert pacer thread only');
    expect(c.g.vrrpRtPriority).toBe(50);
    const hi = check(gd('  vrrp_rt_priority 150'));
    hi.expectDiag('warning', 2, 'keepalived sets it to 99 ("vrrp process real-time priority 150 greater than maximum 99 - setting to maximum")');
    expect(hi.g.vrrpRtPriority).toBe(99);
    const lo = check(gd('  vrrp_rt_priority 0'));
    lo.expectDiag('warning', 2, 'keepalived sets it to 1 ("vrrp process real-time priority 0 less than minimum 1 - setting to minimum")');
    expect(lo.g.vrrpRtPriority).toBe(1);
    const bad = check(gd('  vrrp_rt_priority high'));
    bad.expectDiag('warning', 2, "vrrp_rt_priority 'high' is not a whole number: keepalived ignores it");
    expect(bad.g.vrrpRtPriority).toBeNull();
    expect(check(gd('  vrrp_startup_delay 1')).g.vrrpRtPriority).toBeNull();
  });

  test('enable_script_security and lvs_flush read no value: `off` turns them ON, as in keepalived', () => {
    const c = check(gd('  enable_script_security off'));
    c.expectDiag('warning', 2, "enable_script_security takes no value: keepalived ignores 'off' and turns enable_script_security ON; hakeep does the same");
    expect(c.g.enableScriptSecurity).toBe(true);
    expect(check(gd('  lvs_flush no')).g.lvsFlush).toBe(true);
  });
});

describe('check_parser.c: virtual_server and real_server values keepalived corrects', () => {
  test('an empty virtual_server_group is removed and its virtual server ignored', () => {
    const c = check(`virtual_server_group EMPTY {\n}\nvirtual_server group EMPTY {\n  protocol TCP\n  real_server 10.0.0.5 80 {\n  }\n}\n`);
    c.noErrors();
    c.expectDiag('warning', 1, 'virtual_server_group EMPTY has no entries: keepalived removes it ("virtual server group EMPTY has no entries - removing")');
    c.expectDiag('warning', 3, 'virtual_server group EMPTY: its virtual_server_group has no entries: keepalived ignores this virtual server ("Virtual server group EMPTY specified but not configured - ignoring virtual server")');
    expect(c.cfg.virtualServers).toEqual([]);
  });

  test('lb_algo unknown: ignored (wlc); ip_family unknown: ignored', () => {
    const c = check(vsrv('  protocol TCP\n  lb_algo roundrobin\n  ip_family inet7'));
    c.noErrors();
    c.expectDiag('warning', 3, "lb_algo 'roundrobin' is not a scheduler ipvsadm knows (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos): keepalived ignores it (\"Invalid lvs_scheduler 'roundrobin' - ignoring\"), so does hakeep; the service uses wlc");
    c.expectDiag('warning', 4, "ip_family 'inet7' is not inet or inet6: keepalived ignores it (\"unknown address family inet7\")");
    expect(c.vs.lbAlgo).toBe('wlc');
  });

  test('no lb_algo / no lb_kind: keepalived names the defaults it fills in (notes)', () => {
    const c = check(vsrv('  protocol TCP'));
    c.expectDiag('note', 1, 'virtual_server without lb_algo: keepalived uses wlc ("no scheduler set, setting default \'wlc\'")');
    c.expectDiag('note', 1, 'virtual_server without lb_kind: keepalived uses NAT ("no forwarding method set, setting default NAT")');
  });

  test('protocol unknown: ignored when one is already written; refused when keepalived would run the service as UDP', () => {
    const c = check(vsrv('  protocol TCP\n  protocol TPC'));
    c.noErrors();
    c.expectDiag('warning', 3, "protocol 'TPC' is not TCP, UDP or SCTP: keepalived ignores it (\"Unknown protocol TPC - ignoring\"), so does hakeep; the protocol stays TCP");
    expect(c.vs.protocol).toBe('TCP');
    check(vsrv('  protocol TPC')).expectDiag('error', 2, "protocol 'TPC' is not valid; use TCP, UDP or SCTP: keepalived ignores it (\"Unknown protocol TPC - ignoring\") and, with no protocol left, runs the virtual server as UDP");
  });

  test('persistence_engine longer than 15 characters is truncated; a bad persistence_granularity is ignored', () => {
    const c = check(vsrv('  protocol TCP\n  persistence_timeout 60\n  persistence_engine abcdefghijklmnopqrstuvwxyz\n  persistence_granularity 1.2.3.300'));
    c.noErrors();
    c.expectDiag('warning', 4, "persistence_engine abcdefghijklmnopqrstuvwxyz is longer than 15 characters: keepalived truncates it to 'abcdefghijklmno' (\"persistence_name too long, truncating - abcdefghijklmnopqrstuvwxyz\")");
    c.expectDiag('warning', 5, "persistence_granularity '1.2.3.300' is not an IPv4 netmask: keepalived ignores it (\"Invalid IPv4 persistence_granularity specified - 1.2.3.300\")");
    expect([c.vs.persistenceEngine, c.vs.persistenceGranularity]).toEqual(['abcdefghijklmno', null]);
  });

  test('hysteresis and the virtual server weight out of range: ignored', () => {
    const c = check(vsrv('  protocol TCP\n  hysteresis -1\n  weight 0'));
    c.noErrors();
    c.expectDiag('warning', 3, "hysteresis '-1' is out of range (0 to 4294967295): keepalived ignores it (\"Hysteresis -1 must be in [0, 4294967295] - ignoring\")");
    c.expectDiag('warning', 4, "virtual server weight '0' is out of range (1 to 65535): keepalived ignores it (\"Virtual server weight 0 is outside range 1-2147483647\")");
    expect([c.vs.hysteresis, c.vs.realServers[0]!.weight]).toEqual([0, 1]);
  });

  test('sorry_server_inhibit and sorry_server_lvs_method before sorry_server: ignored', () => {
    const c = check(vsrv('  protocol TCP\n  lb_kind DR\n  sorry_server_inhibit\n  sorry_server_lvs_method NAT\n  sorry_server 10.0.0.9 80'));
    c.noErrors();
    c.expectDiag('warning', 4, 'sorry_server_inhibit before (or without) sorry_server: keepalived ignores it ("Ignoring sorry_server inhibit used before or without sorry_server")');
    c.expectDiag('warning', 5, 'sorry_server_lvs_method before (or without) sorry_server: keepalived ignores it ("sorry_server forwarding used without sorry_server")');
    expect([c.vs.sorryServerInhibit, c.vs.sorryServerLbKind]).toEqual([false, null]);
  });

  test('virtual/real server timing values out of range (retry 0 included) are ignored: the level above applies', () => {
    const c = check(vsrv('  protocol TCP\n  delay_loop 0\n  connect_timeout 0\n  retry 0\n  delay_before_retry x\n  warmup x', '10.0.0.5 80', '    connect_timeout 0\n    delay_loop 0\n    retry 0\n'));
    c.noErrors();
    c.expectDiag('warning', 3, "virtual server delay_loop '0' is out of range (0.000001 to 31536000 seconds): keepalived ignores it (\"virtual server delay loop '0' invalid - ignoring\")");
    c.expectDiag('warning', 4, 'virtual server connect_timeout 0 invalid - ignoring');
    c.expectDiag('warning', 5, "virtual server retry '0' is out of range (1 to 4294967295): keepalived ignores it (\"retry value invalid - 0\")");
    c.expectDiag('warning', 6, "virtual server delay before retry 'x' invalid - ignoring");
    c.expectDiag('warning', 7, "virtual server warmup 'x' invalid - ignoring");
    c.expectDiag('warning', 9, 'real server connect_timeout 0 invalid - ignoring');
    c.expectDiag('warning', 10, "real server delay_loop '0' invalid - ignoring");
    c.expectDiag('warning', 11, 'retry value invalid - 0');
    const chk = c.vs.realServers[0]!.checkers[0]!;
    expect([c.vs.delayLoop, chk.delayLoop, chk.connectTimeout, chk.retry]).toEqual([60, 60, 5, 1]);
  });

  test('virtual_server alpha and inhibit_on_failure read no value (`off` turns them ON)', () => {
    const c = check(vsrv('  protocol TCP\n  alpha off\n  inhibit_on_failure no'));
    c.expectDiag('warning', 3, "alpha takes no value: keepalived ignores 'off' and turns alpha ON");
    c.expectDiag('warning', 4, "inhibit_on_failure takes no value: keepalived ignores 'no' and turns inhibit_on_failure ON");
    expect([c.vs.alpha, c.vs.inhibitOnFailure, c.vs.realServers[0]!.inhibitOnFailure]).toEqual([true, true, true]);
  });

  test('real server values: weight, thresholds, inhibit_on_failure, alpha, smtp_alert with a bad value are ignored', () => {
    const c = check(vsrv('  protocol TCP\n  weight 3', '10.0.0.5 80', '    weight -1\n    uthreshold x\n    lthreshold -1\n    inhibit_on_failure bad\n    alpha bad\n    smtp_alert bad\n'));
    c.noErrors();
    c.expectDiag('warning', 5, "real_server 10.0.0.5 80 weight '-1' is out of range (0 to 65535): keepalived ignores it (\"Real server weight -1 is outside range 0-2147483647\"), so does hakeep; the virtual server's weight 3 is used");
    c.expectDiag('warning', 6, "Invalid real_server uthreshold 'x' - ignoring");
    c.expectDiag('warning', 7, "Invalid real_server lthreshold '-1' - ignoring");
    c.expectDiag('warning', 8, 'Invalid inhibit_on_failure parameter bad');
    c.expectDiag('warning', 9, 'Invalid alpha parameter bad');
    c.expectDiag('warning', 10, 'Invalid real_server smtp_alert parameter bad');
    const rs = c.vs.realServers[0]!;
    expect([rs.weight, rs.uthreshold, rs.lthreshold, rs.inhibitOnFailure, rs.alpha, rs.smtpAlert]).toEqual([3, 0, 0, false, false, true]);
  });

  test('notify_up/notify_down/quorum_up/quorum_down given twice: the first is kept', () => {
    const c = check(vsrv('  protocol TCP\n  quorum_up /bin/q1\n  quorum_up /bin/q2', '10.0.0.5 80', '    notify_up /bin/u1\n    notify_up /bin/u2\n'));
    c.noErrors();
    c.expectDiag('warning', 4, "virtual_server: quorum_up is given again; keepalived keeps the first one ('/bin/q1') and ignores this one (\"quorum_up script already specified - ignoring /bin/q2\")");
    c.expectDiag('warning', 7, "real_server 10.0.0.5 80: notify_up is given again; keepalived keeps the first one ('/bin/u1')");
    expect([c.vs.quorumUp?.command, c.vs.realServers[0]!.notifyUp?.command]).toEqual(['/bin/q1', '/bin/u1']);
  });

  test('a real server or sorry server of the other family is skipped', () => {
    const text = 'virtual_server 10.0.0.100 80 {\n  protocol TCP\n  sorry_server 2001:db8::9 80\n  real_server 10.0.0.5 80 {\n  }\n  real_server 2001:db8::5 80 {\n  }\n}\n';
    const c = check(text);
    c.noErrors();
    c.expectDiag('warning', 6, 'real_server 2001:db8::5 is IPv6 but virtual_server 10.0.0.100:80 is IPv4: keepalived skips it ("Address family of virtual server and real server 2001:db8::5 don\'t match - skipping real server")');
    c.expectDiag('warning', 1, 'virtual_server 10.0.0.100:80: sorry_server 2001:db8::9 is IPv6 but the virtual server is IPv4: keepalived skips the sorry server');
    expect([c.vs.realServers.map((r) => r.ip), c.vs.sorryServer]).toEqual([['10.0.0.5'], null]);
  });

  test('a real server given twice: the second is removed', () => {
    const c = check('virtual_server 10.0.0.100 80 {\n  protocol TCP\n  real_server 10.0.0.5 80 {\n  }\n  real_server 10.0.0.5 80 {\n    weight 7\n  }\n}\n');
    c.noErrors();
    c.expectDiag('warning', 5, 'real_server 10.0.0.5 80 appears twice in virtual_server 10.0.0.100:80 (first at l.conf:3): keepalived removes the second one ("real server … is duplicated - removing second rs")');
    expect(c.vs.realServers.map((r) => r.weight)).toEqual([1]);
  });

  test('lb_kind inside real_server is not a keepalived 2.2.7 keyword: ignored when it repeats the virtual server\'s, refused otherwise; lvs_method works', () => {
    const same = check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 80', '    lb_kind DR\n'));
    same.noErrors();
    same.expectDiag('warning', 5, "real_server 10.0.0.5 80: keepalived 2.2.7 has no lb_kind inside real_server (\"Unknown keyword 'lb_kind'\") and ignores the line; the real server uses the virtual server's lb_kind DR, which is what this line says");
    const other = check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 80', '    lb_kind TUN\n'));
    other.expectDiag('error', 5, "so this real server would be forwarded with the virtual server's lb_kind DR, not TUN. hakeep refuses rather than guess: write lvs_method TUN (keepalived's keyword for a real server's own method), or remove the line");
    const lvs = check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 80', '    lvs_method TUN\n'));
    lvs.noErrors();
    expect(lvs.vs.realServers[0]!.lbKind).toBe('TUN');
    // lvs_method in lower case, as lb_kind: run when it is what keepalived keeps, refuse otherwise.
    check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 80', '    lvs_method dr\n')).expectDiag('warning', 5, "lvs_method 'dr': keepalived knows only NAT, DR and TUN in capitals (\"PARSER : unknown [dr] routing method for real server.\")");
    check(vsrv('  protocol TCP\n  lb_kind DR', '10.0.0.5 80', '    lvs_method tun\n')).expectDiag('error', 5, 'write lvs_method TUN for what this line says, or lvs_method DR for what keepalived runs');
  });
});

describe('what hakeep refuses although keepalived runs it (README, "Where hakeep refuses")', () => {
  test('a unicast_peer that is not an address (the peer would never hear this node)', () => {
    check(vi('  unicast_peer {\n    10.0.0.300\n  }')).expectDiag('error', 5, "(VI_1) unicast_peer '10.0.0.300' is not an IP address: keepalived would skip this peer (\"malformed unicast peer address[10.0.0.300]. Skipping...\") and that peer would never receive this node's adverts (both nodes master). hakeep refuses to start");
  });

  test('unicast_ttl 0 (no advert leaves the host)', () => {
    check(vi('  unicast_ttl 0\n  unicast_peer {\n    10.0.0.2\n  }')).expectDiag('error', 4, '(VI_1) unicast_ttl 0: keepalived accepts it, but an advert with TTL 0 never leaves this host');
  });

  test('more than 255 gratuitous ARPs per VIP', () => {
    check(vi('  garp_master_repeat 1000')).expectDiag('error', 4, '(VI_1) garp_master_repeat 1000: keepalived accepts it and sends 1000 gratuitous ARPs per VIP, a flood of the segment; hakeep refuses more than 255');
    check(gd('  vrrp_garp_master_refresh_repeat 300')).expectDiag('error', 2, 'vrrp_garp_master_refresh_repeat 300: keepalived accepts it');
  });

  test('an IPVS weight above what ipvsadm takes', () => {
    check(vsrv('  protocol TCP', '10.0.0.5 80', '    weight 100000\n')).expectDiag('error', 4, 'weight 100000: keepalived accepts up to 2147483647, but hakeep programs IPVS through ipvsadm, which takes at most 65535');
  });

  test('a value missing after its keyword (keepalived itself does not start)', () => {
    check(vi('  unicast_src_ip')).expectDiag('error', 4, '(VI_1) unicast_src_ip needs an IP address: keepalived refuses a line without one ("is missing a parameter")');
    check(gd('  smtp_server')).expectDiag('error', 2, 'smtp_server needs an address or a host name: keepalived refuses a line without one');
  });
});
