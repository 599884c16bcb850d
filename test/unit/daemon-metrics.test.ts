// The Prometheus exposition: served over HTTP on loopback, parsed by the Python client's parser,
// with values that follow the status model (written out by hand below in the shape the services
// report) and transitions counted from the log records as they happen.
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import { createMetrics, parseListen, serveMetrics } from '../../src/daemon/metrics.js';
import { parseProm, requirePromParser, sample, type PromFamily } from '../helpers/prom-parse.js';

const sink = new Writable({ write(_c, _e, cb) { cb(); } });
const log = createLogger({ level: 'info', destination: sink });

interface Model {
  state: string;
  sent: number;
  rejected: Record<string, number>;
  checks: number;
  failures: number;
  alive: boolean;
  batches: number;
  batchAt: number;
  notify: { scripts: number; failed: number; timedOut: number; notRun: number };
}

const m: Model = { state: 'BACKUP', sent: 0, rejected: {}, checks: 3, failures: 0, alive: true, batches: 1, batchAt: 10, notify: { scripts: 0, failed: 0, timedOut: 0, notRun: 0 } };

function rawStatus(): unknown {
  return {
    version: '0.1.0', pid: 1, startedAt: new Date().toISOString(), configFile: '/x.conf', drained: [],
    services: {
      vrrp: {
        instances: [{
          name: 'VI_1', interface: 'eth0', vrid: 51, state: m.state, priority: 100, effectivePriority: 100, masterIp: null, masterPriority: null,
          sourceIp: '10.0.0.1', vips: ['10.0.0.100/32'], vipsConfigured: true, vipsPresent: [], vipFailures: [], faults: [], trackWeights: {},
          counters: { advertsSent: m.sent, advertsPaced: Math.max(0, m.sent - 1), advertsReceived: 4, priorityZeroReceived: 0, priorityZeroSent: 0, sendErrors: 0, becameMaster: 0, releasedMaster: 0, faults: 0, vipsReadded: 0, rejected: m.rejected },
          transitions: 1, lastTransition: null, timer: { fired: 5, lastMs: 0.5, meanMs: 0.25, maxMs: 2, over50Ms: 1 },
        }],
        syncGroups: [], trackers: null, alerts: {}, scripts: null,
        notify: { queued: 0, running: 0, counters: { events: 0, skipped: 0, ...m.notify }, last: null, lastResult: null, fifos: [] },
      },
      check: {
        name: 'check', health: { ok: true, detail: '' }, child: { pid: 2, generation: 1, restarts: 0, lastExit: null, probe: 'addon' },
        clock: { mono: 1000, wall: Date.now() },
        virtualServers: [{ vs: '[10.0.0.100]:tcp:80', quorumUp: true, sorryServerActive: false, liveWeight: 1, realServers: [
          { rs: '[10.0.1.1]:tcp:80', weight: 1, alive: m.alive, checkers: [{ type: 'TCP_CHECK', checks: m.checks, failures: m.failures, lastOutcome: 'success', lastCheckAt: 900 }] },
          { rs: '[10.0.1.2]:tcp:80', weight: 1, alive: true, checkers: [{ type: 'HTTP_GET', checks: 2, failures: 0 }] },
        ] }],
        checks: { total: 0, failures: 0 },
        ipvs: { batchesApplied: m.batches, commandsApplied: 4, resyncs: 0, resyncsSkipped: 0, failures: 0, lastError: null, lastSyncAt: 10, lastRead: null, lastBatch: { commands: 2, at: m.batchAt, durationMs: 30 }, failingServices: [], owned: 1 },
      },
    },
  };
}

const metrics = createMetrics(rawStatus);
let server: Awaited<ReturnType<typeof serveMetrics>> = null;
afterAll(() => { server?.close(); });

async function scrape(): Promise<PromFamily[]> {
  const res = await fetch(`http://${server!.address()}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseProm(await res.text());
}

describe('metrics', () => {
  it('serves on loopback; a real parser reads every family; values follow the model and move', async () => {
    requirePromParser();
    server = await serveMetrics('127.0.0.1:0', metrics, log);
    expect(server).not.toBeNull();
    expect((await fetch(`http://${server!.address()}/other`)).status).toBe(404);
    let f = await scrape();
    const types = Object.fromEntries(f.map((x) => [x.name, x.type]));
    expect(types).toMatchObject({
      hakeep_vrrp_state: 'gauge', hakeep_vrrp_transitions: 'counter', hakeep_vrrp_adverts_sent: 'counter', hakeep_vrrp_adverts_paced: 'counter', hakeep_vrrp_adverts_rejected: 'counter',
      hakeep_vrrp_garps_sent: 'counter', hakeep_event_loop_lag_seconds: 'histogram', hakeep_checks: 'counter', hakeep_real_servers_up: 'gauge',
      hakeep_ipvs_reconcile_duration_seconds: 'histogram', hakeep_ipvs_batch_failures: 'counter', hakeep_notify_scripts: 'counter',
      hakeep_notify_script_failures: 'counter', hakeep_notify_script_timeouts: 'counter',
    });
    // One-hot state.
    expect(sample(f, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'BACKUP' })).toBe(1);
    expect(sample(f, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'MASTER' })).toBe(0);
    expect(sample(f, 'hakeep_vrrp_adverts_sent_total', { instance: 'VI_1' })).toBe(0);
    expect(sample(f, 'hakeep_vrrp_adverts_received_total', { instance: 'VI_1' })).toBe(4);
    expect(sample(f, 'hakeep_checks_total', { checker: 'TCP_CHECK', result: 'success' })).toBe(3);
    expect(sample(f, 'hakeep_real_servers_up', { virtual_server: '[10.0.0.100]:tcp:80' })).toBe(2);
    expect(sample(f, 'hakeep_ipvs_reconcile_duration_seconds_count')).toBe(1);
    expect(sample(f, 'hakeep_ipvs_reconcile_duration_seconds_bucket', { le: '0.05' })).toBe(1);
    expect(sample(f, 'hakeep_ipvs_reconcile_duration_seconds_bucket', { le: '0.025' })).toBe(0);
    expect(sample(f, 'hakeep_vrrp_timer_late_wakeups_total', { instance: 'VI_1' })).toBe(1);
    expect(sample(f, 'hakeep_vrrp_timer_lateness_seconds', { instance: 'VI_1', stat: 'max' })).toBeCloseTo(0.002, 9);
    // The event loop has run for a while: the lag histogram has samples, buckets cumulative.
    await new Promise((r) => setTimeout(r, 100));
    f = await scrape();
    const lagCount = sample(f, 'hakeep_event_loop_lag_seconds_count')!;
    expect(lagCount).toBeGreaterThan(0);
    expect(sample(f, 'hakeep_event_loop_lag_seconds_bucket', { le: '+Inf' })).toBe(lagCount);
    expect(sample(f, 'hakeep_event_loop_lag_seconds_bucket', { le: '0.001' })!).toBeLessThanOrEqual(sample(f, 'hakeep_event_loop_lag_seconds_bucket', { le: '2.5' })!);

    // Things happen: a transition (logged as the VRRP side logs it), adverts, a rejected advert,
    // a failed check with the real server down, a new IPVS batch, a notify script timing out.
    log.info({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' }, '(VI_1) Entering MASTER STATE');
    log.info({ instance: 'VI_1', vip: 'x' }, 'not a transition');
    m.state = 'MASTER';
    m.sent = 7;
    m.rejected = { bad_password: 2 };
    m.checks = 5;
    m.failures = 2;
    m.alive = false;
    m.batches = 2;
    m.batchAt = 20;
    m.notify = { scripts: 3, failed: 1, timedOut: 1, notRun: 0 };
    f = await scrape();
    expect(sample(f, 'hakeep_vrrp_transitions_total', { instance: 'VI_1', to: 'MASTER', reason: 'master_down_timer' })).toBe(1);
    expect(f.find((x) => x.name === 'hakeep_vrrp_transitions')!.samples.filter((s) => s.name === 'hakeep_vrrp_transitions_total')).toHaveLength(1);
    expect(sample(f, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'MASTER' })).toBe(1);
    expect(sample(f, 'hakeep_vrrp_state', { instance: 'VI_1', state: 'BACKUP' })).toBe(0);
    expect(sample(f, 'hakeep_vrrp_adverts_sent_total', { instance: 'VI_1' })).toBe(7);
    expect(sample(f, 'hakeep_vrrp_adverts_paced_total', { instance: 'VI_1' })).toBe(6);
    expect(sample(f, 'hakeep_vrrp_adverts_rejected_total', { instance: 'VI_1', reason: 'bad_password' })).toBe(2);
    expect(sample(f, 'hakeep_checks_total', { checker: 'TCP_CHECK', result: 'failure' })).toBe(2);
    expect(sample(f, 'hakeep_checks_total', { checker: 'TCP_CHECK', result: 'success' })).toBe(3);
    expect(sample(f, 'hakeep_real_servers_up', { virtual_server: '[10.0.0.100]:tcp:80' })).toBe(1);
    expect(sample(f, 'hakeep_ipvs_batches_total')).toBe(2);
    expect(sample(f, 'hakeep_ipvs_reconcile_duration_seconds_count')).toBe(2);
    expect(sample(f, 'hakeep_notify_scripts_total')).toBe(3);
    expect(sample(f, 'hakeep_notify_script_failures_total')).toBe(1);
    expect(sample(f, 'hakeep_notify_script_timeouts_total')).toBe(1);
  });

  it('listen addresses: host:port, [v6]:port, :port; anything else says how to write it', () => {
    expect(parseListen('127.0.0.1:9650')).toEqual({ host: '127.0.0.1', port: 9650 });
    expect(parseListen('[::1]:9650')).toEqual({ host: '::1', port: 9650 });
    expect(parseListen(':9650')).toEqual({ host: undefined, port: 9650 });
    expect(() => parseListen('9650')).toThrow(/use HOST:PORT, e\.g\. 127\.0\.0\.1:9650/);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/HOST:PORT/);
  });
});
