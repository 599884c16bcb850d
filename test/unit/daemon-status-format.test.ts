// The status document: wall times next to monotonic ones, the health verdict and its exit code,
// and the table `hakeep status` prints. The raw status here is written out by hand in the shape
// the services report (src/vrrp/instance.ts InstanceStatus, src/check/engine.ts CheckStatus).
import { describe, expect, it } from 'vitest';
import { assessHealth, normaliseStatus, STATUS_EXIT, STATUS_SCHEMA_VERSION, wallOf } from '../../src/daemon/status-format.js';
import { age, renderStatusTable } from '../../src/daemon/status-table.js';

// Daemon clock: monotonic 100,000 ms is 2026-01-02T03:04:05.000Z.
const CLOCK = { mono: 100_000, wall: Date.parse('2026-01-02T03:04:05.000Z') };

function instance(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'VI_1', interface: 'eth0', vrid: 51, state: 'MASTER', priority: 100, effectivePriority: 90,
    masterIp: null, masterPriority: null, sourceIp: '10.0.0.1', vips: ['10.0.0.100/32', '10.0.0.101/32'],
    vipsConfigured: true, vipsPresent: ['10.0.0.100/32', '10.0.0.101/32'], vipFailures: [], faults: [],
    trackWeights: { 'script:chk_nginx': -10 },
    counters: { advertsSent: 12, advertsReceived: 3, priorityZeroReceived: 0, priorityZeroSent: 0, sendErrors: 0, becameMaster: 1, releasedMaster: 0, faults: 0, vipsReadded: 0, rejected: { auth_mismatch: 2 } },
    transitions: 2,
    lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', at: 97_000, wall: '2026-01-02T03:04:02.000Z' },
    timer: { fired: 12, lastMs: 0.2, meanMs: 0.3, maxMs: 1.1, over50Ms: 0 },
    ...over,
  };
}

function raw(instances: Record<string, unknown>[], check: Record<string, unknown> | null): Record<string, unknown> {
  return {
    version: '0.1.0', pid: 4242, startedAt: '2026-01-02T03:00:00.000Z', configFile: '/etc/hakeep/keepalived.conf',
    services: {
      vrrp: { instances, syncGroups: [], trackers: null, notify: null, alerts: {}, scripts: null },
      ...(check ? { check } : {}),
    },
    drained: [{ vs: '[10.0.0.100]:tcp:80', rs: '[10.0.1.3]:tcp:80' }],
  };
}

function check(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'check', health: { ok: true, detail: 'in sync' },
    child: { pid: 4243, generation: 1, restarts: 0, lastExit: null, probe: 'addon' },
    // The child's clock: its monotonic 5,000 ms is 2026-01-02T03:04:04.000Z.
    clock: { mono: 5_000, wall: Date.parse('2026-01-02T03:04:04.000Z') },
    virtualServers: [{
      vs: '[10.0.0.100]:tcp:80', quorumUp: true, sorryServerActive: false, liveWeight: 2,
      realServers: [
        { rs: '[10.0.1.2]:tcp:80', weight: 1, alive: true, inhibitOnFailure: false, checkers: [{ type: 'TCP_CHECK', target: '[10.0.1.2]:tcp:80', up: true, weight: 0, lastOutcome: 'success', lastDetail: null, lastCheckAt: 4_500, checks: 7, failures: 0 }] },
        { rs: '[10.0.1.3]:tcp:80', weight: 1, alive: false, inhibitOnFailure: false, checkers: [{ type: 'HTTP_GET', target: 'http://10.0.1.3/', up: false, weight: 0, lastOutcome: 'failure', lastDetail: 'connection refused', lastCheckAt: 4_000, checks: 7, failures: 3 }] },
      ],
    }],
    checks: { total: 14, failures: 3 },
    ipvs: { batchesApplied: 3, commandsApplied: 5, resyncs: 1, resyncsSkipped: 0, failures: 0, lastError: null, lastSyncAt: 4_900, lastRead: { at: 4_900, durationMs: 2 }, lastBatch: { commands: 2, at: 3_000, durationMs: 4 }, failingServices: [], owned: 1 },
    ...over,
  };
}

describe('status document', () => {
  it('adds wall times from each side\'s own clock, derived counts and the drained flag', () => {
    const doc = normaliseStatus(raw([instance({ faults: [], vipFailures: [{ vip: '10.0.0.101/32', error: 'EEXIST', attempts: 2, nextRetryAt: 101_000 }] })], check()), CLOCK);
    expect(doc.schemaVersion).toBe(STATUS_SCHEMA_VERSION);
    expect(doc.generatedAt).toBe('2026-01-02T03:04:05.000Z');
    const i = doc.services.vrrp!.instances[0]!;
    expect(i.lastTransition!.atWall).toBe('2026-01-02T03:04:02.000Z');
    expect(i.vipFailures[0]!.nextRetryAtWall).toBe('2026-01-02T03:04:06.000Z');
    const vs = doc.services.check!.virtualServers[0]!;
    expect(vs.realServersUp).toBe(1);
    expect(vs.realServersTotal).toBe(2);
    expect(vs.realServers[0]!.checkers[0]!.lastCheckAtWall).toBe('2026-01-02T03:04:03.500Z');
    expect(vs.realServers[1]!.drained).toBe(true);
    expect(vs.realServers[0]!.drained).toBe(false);
    expect(doc.services.check!.ipvs!.lastSyncAtWall).toBe('2026-01-02T03:04:03.900Z');
    // A VIP not added is a warning: exit 1. A real server down is health checking at work: info.
    expect(doc.health.exitCode).toBe(STATUS_EXIT.warning);
    expect(doc.health.problems.map((p) => [p.severity, p.kind])).toEqual([['warning', 'vip_failure'], ['info', 'real_server_down']]);
    // Idempotent: the client normalises what the daemon sent without a clock, and gets the same.
    expect(normaliseStatus(JSON.parse(JSON.stringify(doc)), null)).toEqual(doc);
    // The daemon's wire form: the raw status and its clock (withDaemonClock); the client gets the
    // same document from it as from the clock passed in.
    const wire = { ...raw([instance({ faults: [], vipFailures: [{ vip: '10.0.0.101/32', error: 'EEXIST', attempts: 2, nextRetryAt: 101_000 }] })], check()), daemonClock: CLOCK };
    expect(normaliseStatus(JSON.parse(JSON.stringify(wire)), null)).toEqual(doc);
  });

  it('exit codes: 0 healthy, 2 for an instance in FAULT or an unfit checker side, no wall time without a clock', () => {
    expect(normaliseStatus(raw([instance()], check()), CLOCK).health).toMatchObject({ status: 'ok', exitCode: 0 });
    const fault = normaliseStatus(raw([instance({ state: 'FAULT', faults: [{ key: 'interface:eth0', source: 'interface', subject: 'eth0', detail: 'down', since: 99_000 }] })], null), CLOCK);
    expect(fault.health).toMatchObject({ status: 'critical', exitCode: 2 });
    expect(fault.health.problems[0]!.detail).toContain('eth0 down');
    expect(fault.services.vrrp!.instances[0]!.faults[0]!.sinceWall).toBe('2026-01-02T03:04:04.000Z');
    const unfit = normaliseStatus(raw([], check({ health: { ok: false, detail: 'IPVS unavailable' }, clock: undefined })), CLOCK);
    expect(unfit.health.exitCode).toBe(2);
    expect(unfit.services.check!.virtualServers[0]!.realServers[0]!.checkers[0]!.lastCheckAtWall).toBeNull();
    expect(assessHealth({ services: { vrrp: null, check: null }, error: 'boom' }).exitCode).toBe(2);
    expect(wallOf(null, 5)).toBeNull();
  });

  it('the table shows what an operator asks first', () => {
    const text = renderStatusTable(normaliseStatus(raw([instance(), instance({ name: 'VI_2', state: 'BACKUP', vrid: 52, masterIp: '10.0.0.2', masterPriority: 150, effectivePriority: 100, trackWeights: {}, vips: ['10.0.0.110/32', '10.0.0.111/32', '10.0.0.112/32', '10.0.0.113/32', '10.0.0.114/32'] })], check()), CLOCK));
    const lines = text.split('\n');
    const vi1 = lines.find((l) => /^\s+VI_1\s/.test(l))!;
    expect(vi1).toMatch(/MASTER\s+90\/100\s+this host \(10\.0\.0\.1\)\s+eth0\/51\s+10\.0\.0\.100\/32,10\.0\.0\.101\/32\s+2026-01-02T03:04:02\.000Z BACKUP->MASTER \(master_down_timer\), 3s ago/);
    const vi2 = lines.find((l) => /^\s+VI_2\s/.test(l))!;
    expect(vi2).toContain('10.0.0.2 prio 150');
    expect(vi2).toContain('(+1)');
    expect(text).toContain('trackers: script:chk_nginx -10');
    expect(text).toMatch(/\[10\.0\.1\.3\]:tcp:80\s+DOWN\s+1\s+yes\s+HTTP_GET failure: connection refused at 2026-01-02T03:04:03\.000Z \(2s ago\)/);
    expect(text).toMatch(/\[10\.0\.1\.2\]:tcp:80\s+up\s+1\s+no\s+TCP_CHECK success at 2026-01-02T03:04:03\.500Z/);
    expect(text).toContain('1/2 real servers up');
    expect(text).toContain('Health: OK (exit 0)');
    expect(age(3_723_000)).toBe('1h02m');
  });
});
