// lvs_sync_daemon and lvs_timeouts: parsing with keepalived's corrections (warnings at file:line,
// global_parser.c:477-650, vrrp_parser.c:1217-1231, vrrp.c:4755-4785), the sync daemon's commands
// as keepalived drives it from VRRP states (vrrp.c:1700-1792, vrrp_daemon.c:410-417, 850-859), and
// both run against a stand-in ipvsadm (a shell script that records its arguments: a real process).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import type { Diagnostic, LvsSyncDaemon } from '../../src/config/model.js';
import { applyLvsTimeouts, lvsTimeoutsChanged } from '../../src/ipvs/lvs-timeouts.js';
import { SyncDaemon, SyncDaemonPlan } from '../../src/ipvs/sync-daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'hku-syncd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(global: string, instanceExtra = '', withVs = true) {
  const text = `global_defs {
${global}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
${instanceExtra}  virtual_ipaddress {
    10.0.0.1
  }
}
${withVs ? 'virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.5 80 {\n    TCP_CHECK {\n    }\n  }\n}\n' : ''}`;
  const r = parseConfigText(text, 'sync.conf', { configId: 'test' });
  const warns = r.diagnostics.filter((d: Diagnostic) => d.severity !== 'error' && /lvs_|sync daemon/i.test(d.message)).map((d) => `${d.file}:${d.line}: ${d.severity}: ${d.message}`);
  return { r, g: r.config.globalDefs, warns, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message) };
}

describe('lvs_timeouts', () => {
  test('tcp/tcpfin/udp read; unset ones stay 0 (the kernel keeps them)', () => {
    const { g, warns, errors } = load('  lvs_timeouts tcp 7200 udp 300');
    expect(errors).toEqual([]);
    expect(warns).toEqual([]);
    expect(g.lvsTimeouts).toMatchObject({ tcp: 7200, tcpfin: 0, udp: 300, loc: { file: 'sync.conf', line: 2 } });
  });

  test('keepalived\'s corrections: bad value, missing value, unknown option, out of range, no option', () => {
    const { g, warns, errors } = load('  lvs_timeouts tcp abc tcpfin 120 foo udp 2678401 udp');
    expect(errors).toEqual([]);
    expect(g.lvsTimeouts).toMatchObject({ tcp: 0, tcpfin: 120, udp: 0 });
    expect(warns).toEqual([
      expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts tcp 'abc' is not a whole number .*"Invalid lvs_timeout tcp \(abc\) - ignoring"/),
      expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts: unknown option 'foo'/),
      expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts udp '2678401' is not a whole number of seconds from 0 to 2678400/),
      expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts udp has no value/),
    ].map((m) => m));
    const none = load('  lvs_timeouts');
    expect(none.g.lvsTimeouts ?? null).toBeNull();
    expect(none.warns).toEqual([expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts needs at least one option/)]);
  });

  test('without a virtual_server the line has no effect, and -t says so', () => {
    const { warns } = load('  lvs_timeouts tcp 60', '', false);
    expect(warns).toEqual([expect.stringMatching(/^sync\.conf:2: warning: lvs_timeouts without any virtual_server/)]);
  });

  test('ipvsadm --set, through a real process; a failure is logged with file:line', async () => {
    const ok = recorder('ok');
    const lines: string[] = [];
    const log = { info: (_f: object, m: string) => { lines.push(`info ${m}`); }, warn: (_f: object, m: string) => { lines.push(`warn ${m}`); } };
    const t = { tcp: 7200, tcpfin: 0, udp: 300, loc: { file: 'k.conf', line: 4 } };
    expect(await applyLvsTimeouts(t, { ipvsadmPath: ok.path, log })).toBe(true);
    expect(ok.calls()).toEqual(['--set 7200 0 300']);
    const bad = recorder('bad', 'Memory allocation problem', 2);
    expect(await applyLvsTimeouts(t, { ipvsadmPath: bad.path, log })).toBe(false);
    expect(lines).toEqual([
      'info IPVS timeouts set (lvs_timeouts, k.conf:4): tcp 7200, tcpfin unchanged, udp 300',
      'warn Failed to set ipvs timeouts (lvs_timeouts, k.conf:4): ipvsadm --set 7200 0 300: Memory allocation problem',
    ]);
    expect(lvsTimeoutsChanged(t, { ...t, loc: { file: 'x', line: 9 } })).toBe(false);
    expect(lvsTimeoutsChanged(t, { ...t, udp: 1 })).toBe(true);
    expect(lvsTimeoutsChanged(t, null)).toBe(true);
    expect(lvsTimeoutsChanged(null, undefined)).toBe(false);
  });
});

describe('lvs_sync_daemon (parsing)', () => {
  test('INTERFACE INSTANCE with every option; syncid from id', () => {
    const { g, warns, errors } = load('  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8848 ttl 2 group 224.0.0.82');
    expect(errors).toEqual([]);
    expect(warns).toEqual([]);
    expect(g.lvsSyncDaemon).toMatchObject({ interface: 'eth1', instance: 'VI_1', syncId: 7, maxlen: 1400, port: 8848, ttl: 2, group: '224.0.0.82' });
  });

  test('syncid defaults to the instance\'s virtual_router_id (vrrp.c:4774-4777); `inst NAME` form', () => {
    expect(load('  lvs_sync_daemon eth1 inst VI_1').g.lvsSyncDaemon).toMatchObject({ instance: 'VI_1', syncId: 51 });
  });

  test('old form IF INSTANCE SYNCID: used, with keepalived\'s request for the id keyword', () => {
    const { g, warns } = load('  lvs_sync_daemon eth1 VI_1 9');
    expect(g.lvsSyncDaemon).toMatchObject({ instance: 'VI_1', syncId: 9 });
    expect(warns).toEqual([expect.stringMatching(/^sync\.conf:2: warning: lvs_sync_daemon eth1 VI_1 9: keepalived asks for the keyword id .* Write id 9/)]);
  });

  test('bad options are reported and skipped; a non-multicast group is dropped', () => {
    const { g, warns } = load('  lvs_sync_daemon eth1 VI_1 ttl 0 group 10.1.1.1 bogus');
    expect(g.lvsSyncDaemon).toMatchObject({ ttl: null, group: null, syncId: 51 });
    expect(warns).toEqual([
      expect.stringMatching(/^sync\.conf:2: warning: lvs_sync_daemon ttl '0' is not a whole number from 1 to 255/),
      expect.stringMatching(/^sync\.conf:2: warning: lvs_sync_daemon group address 10\.1\.1\.1 is not multicast/),
      expect.stringMatching(/^sync\.conf:2: warning: Unknown option bogus specified for lvs_sync_daemon/),
    ]);
  });

  test('an unknown instance clears the sync daemon, as keepalived ("clearing lvs_syncd config")', () => {
    const { g, warns } = load('  lvs_sync_daemon eth1 VI_9');
    expect(g.lvsSyncDaemon).toBeNull();
    expect(warns).toEqual([expect.stringMatching(/^sync\.conf:2: warning: Unable to find vrrp instance VI_9 for lvs_sync_daemon/)]);
  });

  test('deprecated lvs_sync_daemon_interface in an instance: runs as lvs_sync_daemon IF INSTANCE, with a warning', () => {
    const { g, warns } = load('', '  lvs_sync_daemon_interface eth2\n');
    expect(g.lvsSyncDaemon).toMatchObject({ interface: 'eth2', instance: 'VI_1', syncId: 51, loc: { line: 8 } });
    expect(warns).toEqual([expect.stringMatching(/^sync\.conf:8: warning: \(VI_1\) lvs_sync_daemon_interface in a vrrp_instance is deprecated/)]);
    const both = load('  lvs_sync_daemon eth1 VI_1', '  lvs_sync_daemon_interface eth2\n');
    expect(both.g.lvsSyncDaemon).toMatchObject({ interface: 'eth1' });
    expect(both.warns[1]).toMatch(/^sync\.conf:8: warning: \(VI_1\) lvs_sync_daemon_interface has already been specified as eth1/);
  });

  test('no instance: a note that master and backup both run', () => {
    const { r, g } = load('  lvs_sync_daemon eth1');
    expect(g.lvsSyncDaemon).toMatchObject({ instance: null, syncId: 0 });
    expect(r.diagnostics.some((d) => d.severity === 'note' && d.line === 2 && /master and the backup sync daemons together/.test(d.message))).toBe(true);
  });
});

const D: LvsSyncDaemon = { interface: 'eth1', instance: 'VI_1', syncId: 51, maxlen: null, port: 8848, ttl: null, group: null, loc: { file: 'k', line: 1 } };

describe('the sync daemon follows the instance (pure plan)', () => {
  test('start as backup; MASTER swaps; BACKUP/FAULT swap back; other instances and repeats do nothing; stop', () => {
    const p = new SyncDaemonPlan();
    const a = (cs: { args: string[] }[]) => cs.map((c) => c.args.join(' '));
    expect(a(p.start(D))).toEqual([
      '--stop-daemon master', '--stop-daemon backup',
      '--start-daemon backup --mcast-interface eth1 --syncid 51 --mcast-port 8848',
    ]);
    expect(a(p.transition('VI_2', 'MASTER'))).toEqual([]);
    expect(a(p.transition('VI_1', 'MASTER'))).toEqual(['--stop-daemon backup', '--start-daemon master --mcast-interface eth1 --syncid 51 --mcast-port 8848']);
    expect(a(p.transition('VI_1', 'MASTER'))).toEqual([]);
    expect(a(p.transition('VI_1', 'FAULT'))).toEqual(['--stop-daemon master', '--start-daemon backup --mcast-interface eth1 --syncid 51 --mcast-port 8848']);
    expect(a(p.transition('VI_1', 'BACKUP'))).toEqual([]);
    expect(p.roles).toEqual(['backup']);
    expect(a(p.reload({ ...D, loc: { file: 'x', line: 2 } }, false))).toEqual([]);
    expect(a(p.reload({ ...D, syncId: 5 }, false))).toEqual([
      '--stop-daemon backup', '--stop-daemon master', '--stop-daemon backup', '--start-daemon backup --mcast-interface eth1 --syncid 5 --mcast-port 8848',
    ]);
    expect(a(p.stop())).toEqual(['--stop-daemon backup']);
    expect(a(p.stop())).toEqual([]);
  });

  test('without an instance both roles run', () => {
    const p = new SyncDaemonPlan();
    expect(p.start({ ...D, instance: null, syncId: 0, port: null }).map((c) => c.args.join(' ')).slice(2)).toEqual([
      '--start-daemon master --mcast-interface eth1 --syncid 0', '--start-daemon backup --mcast-interface eth1 --syncid 0',
    ]);
    expect(p.transition('VI_1', 'MASTER')).toEqual([]);
    expect(p.roles).toEqual(['backup', 'master']);
  });

  test('SyncDaemon runs the commands in order through a real process; failures logged, leftover stops quiet', async () => {
    const rec = recorder('syncd', 'Invalid argument', 1, '--stop-daemon');
    const lines: string[] = [];
    const log = { info: () => {}, warn: (_f: object, m: string) => { lines.push(m); }, debug: () => {} };
    const s = new SyncDaemon({ ipvsadmPath: rec.path, log });
    s.start(D);
    s.transition('VI_1', 'MASTER');
    await s.stop();
    expect(rec.calls()).toEqual([
      '--stop-daemon master', '--stop-daemon backup',
      '--start-daemon backup --mcast-interface eth1 --syncid 51 --mcast-port 8848',
      '--stop-daemon backup', '--start-daemon master --mcast-interface eth1 --syncid 51 --mcast-port 8848',
      '--stop-daemon master',
    ]);
    // The two stops at start are quiet; the later ones (the recorder fails every stop) are not.
    expect(lines).toEqual([
      'IPVS sync daemon: ipvsadm --stop-daemon backup failed: Invalid argument',
      'IPVS sync daemon: ipvsadm --stop-daemon master failed: Invalid argument',
    ]);
    expect(s.status()).toMatchObject({ interface: 'eth1', instance: 'VI_1', syncId: 51, roles: [], commands: 6, failures: 2 });
  });
});

/** A stand-in ipvsadm: records its arguments; fails (stderr, exit code) when they contain `failOn`. */
function recorder(name: string, stderr = '', code = 0, failOn = '') {
  const path = join(dir, name);
  const calls = join(dir, `${name}.calls`);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${calls}'\ncase "$*" in *'${failOn}'*) if [ ${code} -ne 0 ]; then echo '${stderr}' >&2; exit ${code}; fi;; esac\nexit 0\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []) };
}
