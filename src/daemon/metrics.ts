// Prometheus exposition ([metrics] listen = 127.0.0.1:9650 in hakeep.ini; off by default), with
// prom-client. Nothing here runs on the advert path: the values are read from the status model
// the services already keep (the raw status, read in place: no document built) when a scrape arrives, plus two
// counters kept elsewhere at no cost to VRRP timing: transitions by reason, counted from the
// transition log records (log.ts tapLog: a few property reads per log line, at info level and
// above), and GARPs per instance (src/net/garp.ts, counted where they are sent).
//
// Counters read from the model are set to the model's value at each scrape (reset + inc), so a
// counter that starts again from 0 (the checker child restarted, STATS_CLEAR) shows as a counter
// reset, which Prometheus' rate() already handles. Histograms cannot be rebuilt from totals:
//   - event-loop lag: Node's monitorEventLoopDelay (libuv timer in C++, no JS on the loop), its
//     cumulative HDR histogram read into Prometheus buckets at scrape time;
//   - IPVS reconcile duration: observed once per batch the checker child reports; the child sends
//     its snapshot at most every status interval, so a batch that another replaces before the next
//     snapshot is missed (counted in hakeep_ipvs_batches_total all the same).
// The per-instance timer lateness the VRRP side measures itself (mean/max/last, wake-ups over
// 50 ms) is exported as gauges and a counter.
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { Logger } from './log.js';
import { tapLog } from './log.js';
import type { InstanceStatus } from '../vrrp/instance.js';
import type { VrrpServiceStatus } from '../vrrp/service.js';
import type { ReconcilerStatus } from '../ipvs/reconciler.js';
import { CHECK_SUMMARY, type CheckSummary } from './check-summary.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
import { garpCounts } from '../net/garp.js';

const STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;
/** Event-loop lag buckets (seconds): VRRP cares from 1 ms up to an advert interval and beyond. */
const LAG_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const IPVS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  readonly registry: Registry;
  /** The exposition text (refreshes every value from the status first). */
  text(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

/** `status` returns what the status socket would (the raw document; normalised here). */
export function createMetrics(status: () => unknown, opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const r = [registry];
  // prom-client's process/Node.js defaults cost about 2.5 ms per scrape on this loop (they read
  // /proc synchronously; bench/observe/scrape-cost.mjs): off unless asked for.
  if (opts.defaultMetrics === true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  const vrrpState = new Gauge({ name: 'hakeep_vrrp_state', help: 'VRRP state of each instance: 1 for the state it is in, 0 for the others', labelNames: ['instance', 'state'], registers: r });
  const prio = new Gauge({ name: 'hakeep_vrrp_priority', help: 'Effective priority (configured plus tracker weights)', labelNames: ['instance'], registers: r });
  const transitions = new Counter({ name: 'hakeep_vrrp_transitions_total', help: 'State transitions by instance, new state and reason, counted from their log lines (log level info or lower, the default; the stop to INIT is not logged)', labelNames: ['instance', 'to', 'reason'], registers: r });
  const sent = new Counter({ name: 'hakeep_vrrp_adverts_sent_total', help: 'VRRP adverts sent', labelNames: ['instance'], registers: r });
  const paced = new Counter({ name: 'hakeep_vrrp_adverts_paced_total', help: 'Of the adverts sent, those the advert pacer thread sent at their due time (the event loop had not got there yet)', labelNames: ['instance'], registers: r });
  const received = new Counter({ name: 'hakeep_vrrp_adverts_received_total', help: 'VRRP adverts received and accepted for the instance', labelNames: ['instance'], registers: r });
  const rejected = new Counter({ name: 'hakeep_vrrp_adverts_rejected_total', help: 'VRRP adverts received and discarded, by reason', labelNames: ['instance', 'reason'], registers: r });
  const sendErrors = new Counter({ name: 'hakeep_vrrp_advert_send_errors_total', help: 'VRRP adverts the kernel refused to send', labelNames: ['instance'], registers: r });
  const garps = new Counter({ name: 'hakeep_vrrp_garps_sent_total', help: 'Gratuitous ARPs sent', labelNames: ['instance'], registers: r });
  const garpFailures = new Counter({ name: 'hakeep_vrrp_garp_failures_total', help: 'Gratuitous ARPs that could not be sent', labelNames: ['instance'], registers: r });
  const lateness = new Gauge({ name: 'hakeep_vrrp_timer_lateness_seconds', help: 'How late the instance timers fired: mean, max and last since start (or STATS_CLEAR)', labelNames: ['instance', 'stat'], registers: r });
  const lateWakeups = new Counter({ name: 'hakeep_vrrp_timer_late_wakeups_total', help: 'Instance timer wake-ups more than 50 ms late (the event loop was blocked)', labelNames: ['instance'], registers: r });
  const checks = new Counter({ name: 'hakeep_checks_total', help: 'Health checks run, by checker type and result (as of the checker child\'s last snapshot)', labelNames: ['checker', 'result'], registers: r });
  const rsUp = new Gauge({ name: 'hakeep_real_servers_up', help: 'Real servers alive per virtual server', labelNames: ['virtual_server'], registers: r });
  const rsTotal = new Gauge({ name: 'hakeep_real_servers', help: 'Real servers configured per virtual server', labelNames: ['virtual_server'], registers: r });
  const quorum = new Gauge({ name: 'hakeep_virtual_server_quorum_up', help: '1 while the virtual server is at or above its quorum', labelNames: ['virtual_server'], registers: r });
  const ipvsBatches = new Counter({ name: 'hakeep_ipvs_batches_total', help: 'IPVS batches applied', registers: r });
  const ipvsCommands = new Counter({ name: 'hakeep_ipvs_commands_total', help: 'IPVS commands applied', registers: r });
  const ipvsFailures = new Counter({ name: 'hakeep_ipvs_batch_failures_total', help: 'IPVS batches or reads that failed', registers: r });
  const ipvsDuration = new Histogram({ name: 'hakeep_ipvs_reconcile_duration_seconds', help: 'Duration of IPVS batches, as reported in the checker child\'s snapshots', buckets: IPVS_BUCKETS, registers: r });
  const checkerUp = new Gauge({ name: 'hakeep_checker_healthy', help: '1 while the checker side is fit to front traffic', registers: r });
  const checkerRestarts = new Counter({ name: 'hakeep_checker_child_restarts_total', help: 'Restarts of the checker child', registers: r });
  const notifyRuns = new Counter({ name: 'hakeep_notify_scripts_total', help: 'VRRP notify scripts run', registers: r });
  const notifyFailed = new Counter({ name: 'hakeep_notify_script_failures_total', help: 'VRRP notify scripts that failed (non-zero exit, killed, not run)', registers: r });
  const notifyTimeouts = new Counter({ name: 'hakeep_notify_script_timeouts_total', help: 'VRRP notify scripts killed at [notify] timeout', registers: r });
  const scriptRuns = new Counter({ name: 'hakeep_scripts_total', help: 'Scripts run by the VRRP side\'s runner, by kind and result', labelNames: ['kind', 'result'], registers: r });
  const healthGauge = new Gauge({ name: 'hakeep_health_status', help: 'hakeep status exit code: 0 healthy, 1 degraded, 2 critical', registers: r });

  // Transitions are events: counted from their log record as they happen, never lost between scrapes.
  const untap = tapLog((rec) => {
    if (typeof rec.instance === 'string' && typeof rec.to === 'string' && typeof rec.reason === 'string' && typeof rec.from === 'string' && (STATES as readonly string[]).includes(rec.to)) {
      transitions.inc({ instance: rec.instance, to: rec.to, reason: rec.reason });
    }
  });

  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  registry.registerMetric(loopLagMetric(loop) as unknown as Metric);
  let lastBatchAt: number | null = null;

  const setCounter = (c: Counter, labels: Record<string, string> | null, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return;
    if (labels) c.inc(labels, v);
    else c.inc(v);
  };

  /**
   * Every value from the raw status, read in place: no document is built (normaliseStatus costs
   * tens of ms at 10,000 real servers, on the VRRP loop), one pass over the real servers.
   */
  function refresh(): void {
    let raw: Obj;
    try {
      const r = status();
      if (!isObj(r)) return;
      raw = r;
    } catch {
      return;
    }
    for (const m of [vrrpState, prio, sent, received, rejected, sendErrors, garps, garpFailures, lateness, lateWakeups, checks, rsUp, rsTotal, quorum, ipvsBatches, ipvsCommands, ipvsFailures, checkerRestarts, notifyRuns, notifyFailed, notifyTimeouts, scriptRuns]) m.reset();
    const services = isObj(raw.services) ? raw.services : {};
    // The `hakeep status` exit code (status-format.ts assessHealth), from the same facts.
    let health = 0;
    const vrrp = isObj(services.vrrp) ? services.vrrp as unknown as Partial<VrrpServiceStatus> : null;
    for (const i of (Array.isArray(vrrp?.instances) ? vrrp.instances : []) as InstanceStatus[]) {
      if (i.state === 'FAULT') health = 2;
      else if (i.vipFailures.length > 0) health = Math.max(health, 1);
      for (const st of STATES) vrrpState.set({ instance: i.name, state: st }, i.state === st ? 1 : 0);
      prio.set({ instance: i.name }, i.effectivePriority);
      setCounter(sent, { instance: i.name }, i.counters.advertsSent);
      setCounter(paced, { instance: i.name }, i.counters.advertsPaced ?? 0); // absent from an older child's status
      setCounter(received, { instance: i.name }, i.counters.advertsReceived);
      setCounter(sendErrors, { instance: i.name }, i.counters.sendErrors);
      for (const [reason, n] of Object.entries(i.counters.rejected)) setCounter(rejected, { instance: i.name, reason }, n);
      lateness.set({ instance: i.name, stat: 'mean' }, i.timer.meanMs / 1000);
      lateness.set({ instance: i.name, stat: 'max' }, i.timer.maxMs / 1000);
      lateness.set({ instance: i.name, stat: 'last' }, i.timer.lastMs / 1000);
      setCounter(lateWakeups, { instance: i.name }, i.timer.over50Ms);
      const g = garpCounts.get(i.name);
      setCounter(garps, { instance: i.name }, g?.sent);
      setCounter(garpFailures, { instance: i.name }, g?.failed);
      // Every series exists from the first scrape, at 0 until something happens.
      for (const c of [sent, received, sendErrors, garps, lateWakeups]) c.inc({ instance: i.name }, 0);
    }
    const n = vrrp?.notify?.counters;
    if (n) {
      setCounter(notifyRuns, null, n.scripts);
      setCounter(notifyFailed, null, n.failed + n.notRun);
      setCounter(notifyTimeouts, null, n.timedOut);
    }
    for (const [kind, st] of Object.entries(vrrp?.scripts ?? {})) {
      const s = st as unknown as Obj;
      const runs = typeof s.runs === 'number' ? s.runs : 0;
      const failures = typeof s.failures === 'number' ? s.failures : 0;
      setCounter(scriptRuns, { kind, result: 'success' }, runs - failures);
      setCounter(scriptRuns, { kind, result: 'failure' }, failures);
      setCounter(scriptRuns, { kind, result: 'timeout' }, s.timeouts);
    }
    const check = isObj(services.check) ? services.check : null;
    if (check) {
      const ok = isObj(check.health) && check.health.ok === true;
      if (!ok) health = 2;
      checkerUp.set(ok ? 1 : 0);
      setCounter(checkerRestarts, null, isObj(check.child) ? check.child.restarts : 0);
      // The child's summary when it sent one (check-summary.ts): the same numbers without reading
      // (and so parsing) its whole status, which costs tens of ms of this loop at 10,000 servers.
      const summary = (check as { [CHECK_SUMMARY]?: CheckSummary })[CHECK_SUMMARY];
      const byType = new Map<string, { ok: number; failed: number }>(summary ? Object.entries(summary.checksByType) : []);
      for (const v of summary?.virtualServers ?? []) {
        rsUp.set({ virtual_server: v.vs }, v.up);
        rsTotal.set({ virtual_server: v.vs }, v.total);
        quorum.set({ virtual_server: v.vs }, v.quorumUp ? 1 : 0);
      }
      for (const v of !summary && Array.isArray(check.virtualServers) ? check.virtualServers as Obj[] : []) {
        const vs = String(v.vs);
        const rss = Array.isArray(v.realServers) ? v.realServers as Obj[] : [];
        let up = 0;
        for (const rs of rss) {
          if (rs.alive === true) up++;
          for (const k of Array.isArray(rs.checkers) ? rs.checkers as Obj[] : []) {
            const type = String(k.type);
            let t = byType.get(type);
            if (t === undefined) byType.set(type, t = { ok: 0, failed: 0 });
            const total = typeof k.checks === 'number' ? k.checks : 0;
            const failed = typeof k.failures === 'number' ? k.failures : 0;
            t.ok += total - failed;
            t.failed += failed;
          }
        }
        rsUp.set({ virtual_server: vs }, up);
        rsTotal.set({ virtual_server: vs }, rss.length);
        quorum.set({ virtual_server: vs }, v.quorumUp === false ? 0 : 1);
      }
      for (const [type, t] of byType) {
        checks.inc({ checker: type, result: 'success' }, Math.max(0, t.ok));
        checks.inc({ checker: type, result: 'failure' }, t.failed);
      }
      const p = summary ? summary.ipvs : isObj(check.ipvs) ? check.ipvs as unknown as ReconcilerStatus : null;
      if (p) {
        if ((p.failingServices ?? []).length > 0) health = Math.max(health, 1);
        setCounter(ipvsBatches, null, p.batchesApplied);
        setCounter(ipvsCommands, null, p.commandsApplied);
        setCounter(ipvsFailures, null, p.failures);
        if (p.lastBatch && p.lastBatch.at !== lastBatchAt) {
          lastBatchAt = p.lastBatch.at;
          ipvsDuration.observe(p.lastBatch.durationMs / 1000);
        }
      }
    }
    healthGauge.set(raw.error !== undefined ? 2 : health);
  }

  return {
    registry,
    contentType: registry.contentType,
    async text() {
      refresh();
      return registry.metrics();
    },
    close() {
      untap();
      loop.disable();
    },
  };
}

/**
 * The event-loop delay as a Prometheus histogram: Node's cumulative HDR histogram (nanoseconds)
 * read into LAG_BUCKETS at each scrape. prom-client's Histogram only takes single observations,
 * so this is a metric object of its own (the registry asks it for name, help, type and values).
 */
function loopLagMetric(loop: IntervalHistogram): object {
  const name = 'hakeep_event_loop_lag_seconds';
  const help = 'Event-loop delay of the VRRP process (timer lateness), sampled every 10 ms by libuv (monitorEventLoopDelay), since start';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset: () => loop.reset(),
    get: () => {
      const count = loop.count;
      // percentiles: percentile → value (ns), the HDR histogram's own iteration points.
      const pct = count > 0 ? [...loop.percentiles.entries()].sort((a, b) => a[0] - b[0]) : [];
      const values = LAG_BUCKETS.map((b) => {
        let below = 0;
        for (const [p, ns] of pct) if (ns / 1e9 <= b) below = p;
        return { labels: { le: b }, value: Math.round((below / 100) * count), metricName: `${name}_bucket` };
      });
      values.push({ labels: { le: '+Inf' as unknown as number }, value: count, metricName: `${name}_bucket` });
      return {
        name, help, type: 'histogram', aggregator: 'sum',
        values: [...values, { labels: {}, value: count > 0 ? (loop.mean * count) / 1e9 : 0, metricName: `${name}_sum` }, { labels: {}, value: count, metricName: `${name}_count` }],
      };
    },
  };
}

/** `127.0.0.1:9650`, `[::1]:9650` or `:9650` (all addresses) → host and port; throws with the fix. */
export function parseListen(text: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port < 65536)) throw new Error(`[metrics] listen = ${text}: use HOST:PORT, e.g. 127.0.0.1:9650 or [::1]:9650`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

/** Serve GET /metrics on `listen`; resolves with the server, or null (logged) when it cannot. */
export async function serveMetrics(listen: string, metrics: Metrics, log: Logger): Promise<{ close(): void; address(): string } | null> {
  let where: { host: string | undefined; port: number };
  try {
    where = parseListen(listen);
  } catch (e) {
    log.error({ metricsListen: listen }, (e as Error).message);
    return null;
  }
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('hakeep: metrics are at /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port, where.host, () => { server.off('error', reject); resolve(); });
    });
  } catch (e) {
    // Metrics are for monitoring; VRRP must run without them.
    log.error({ metricsListen: listen }, `cannot serve metrics on ${listen}: ${(e as Error).message}; running without metrics`);
    metrics.close();
    return null;
  }
  server.on('error', (e) => log.warn({ metricsListen: listen }, `metrics server error: ${e.message}`));
  const a = server.address();
  const address = typeof a === 'object' && a ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : listen;
  log.info({ metricsListen: address }, `Serving Prometheus metrics on http://${address}/metrics`);
  return {
    address: () => address,
    close: () => { server.close(); metrics.close(); },
  };
}
