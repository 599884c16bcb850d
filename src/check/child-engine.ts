// The checker child's engine wiring (loaded by child.ts once the daemon's init has arrived): the
// CheckEngine with the real clock, TCP probes, ipvsadm and script runner, and what it reports to
// the daemon: prompt health/IPVS state, status snapshots, and the test hook.
import type { Config } from '../config/model.js';
import { ipvsadmBackendPair } from '../ipvs/ipvsadm-session.js';
import { fileOwnedStore } from '../ipvs/owned.js';
import { serviceKey } from '../ipvs/model.js';
import type { ChildInit, ChildIo, ToChild } from './child-protocol.js';
import { deserialize } from 'node:v8';
import { realClock } from './clock.js';
import { CheckEngine, rsKey } from './engine.js';
import type { AliveView, EngineAlert, EngineDeps } from './engine.js';
import { faultPlan, injectFault } from './fault-hook.js';
import { allServicesRefused } from './health.js';
import { runnerNotify } from './notify.js';
import { ScriptRunner } from '../script/runner.js';
import { batchedTcp, tcpProbe, tcpProbeKind } from './tcp-probe.js';
import { summarizeCheckStatus, type CheckSummary } from '../daemon/check-summary.js';

/** The status snapshot is refreshed at least this often (ms): counters move without changes. */
const STATUS_REFRESH_MS = 5000;
/** Health and IPVS changes closer together than this go to the daemon in one 'state' message. */
const STATE_COALESCE_MS = 20;
/** Real servers per slice of the status snapshot (one slice per event-loop turn). */
const STATUS_SLICE_RS = 1000;

/**
 * What the daemon hands the engine beyond today's EngineDeps and methods, passed as given: -I
 * (which, with lvs_flush_on_stop, decides the reconciler's stop mode) and the drained real
 * servers. An engine without them releases the table on stop and ignores drains.
 */


/** Build and start the engine; returns the handler for the daemon's later messages. */
export function runEngine(init: ChildInit, io: ChildIo): (m: ToChild) => void {
  const { send, sendThenExit, log, flushLogs } = io;
  const config: Config = init.config ?? (deserialize(init.configV8!) as Config);
  const fault = faultPlan(process.env, init.generation);
  let stateTimer: NodeJS.Timeout | null = null;
  let statusTimer: NodeJS.Timeout | null = null;

  // Checker notify scripts and MISC_CHECK programs through the shared runner (its spawner: checks
  // never wait on a fork). Created on first use: a config without scripts costs no spawner process.
  const miscChecks = config.virtualServers.reduce((n, v) => n + v.realServers.reduce((m, r) => m + r.checkers.filter((c) => c.type === 'MISC_CHECK').length, 0), 0);
  let runner: ScriptRunner | null = null;
  const getRunner = (): ScriptRunner => (runner ??= new ScriptRunner({
    log: (level, msg, fields) => log(level, msg, fields),
    scriptUser: config.globalDefs.scriptUser,
    enableScriptSecurity: config.globalDefs.enableScriptSecurity,
    // keepalived runs every due MISC_CHECK at once; a cap still bounds a burst of thousands.
    maxConcurrent: Math.min(256, Math.max(16, miscChecks)),
  }));
  // E-mail alert facts go to the daemon, which sends the mail (the child holds no SMTP client).
  const pendingAlerts: EngineAlert[] = [];
  let alertTimer: NodeJS.Timeout | null = null;
  function sendAlerts(): void {
    alertTimer = null;
    if (pendingAlerts.length > 0) send({ type: 'alerts', events: pendingAlerts.splice(0) });
  }
  const deps: EngineDeps = {
    clock: realClock,
    probe: tcpProbe,
    backend: ipvsadmBackendPair({
      path: init.ipvsadmPath,
      onFallback: (why) => log('warn', `IPVS: ${why}`, {}),
    }),
    runScript: runnerNotify({ run: (job) => getRunner().run(job) }),
    io: { runScript: (job) => getRunner().run(job) },
    log,
    onChange: changed,
    resyncMs: init.resyncMs,
    timerSlackMs: 20,
    // A restart: every real server starts from its last known health, not from the config.
    initialHealth: new Map(init.initialHealth),
    // -I keeps the table; lvs_flush_on_stop without argument flushes all of it; else remove ours.
    stopMode: init.dontReleaseIpvs ? 'keep' : config.globalDefs.lvsFlushOnStop === 'all' ? 'flush' : 'remove',
    owned: init.ownedPath === null ? null : fileOwnedStore(init.ownedPath),
    ...(init.alerts ? { onAlert: (e: EngineAlert) => { pendingAlerts.push(e); alertTimer ??= setTimeout(sendAlerts, 0); } } : {}),
  };
  const engine = new CheckEngine(config, deps);
  // A loop turn's TCP completions share one clock read (one system call per check fewer in a UML guest).
  batchedTcp?.setScope((deliver) => engine.inBatch(deliver));
  // The status snapshot (for `hakeep status` and the dumps; health goes through 'state' at once)
  // costs in proportion to the real servers: with thousands, refresh it less often (10,000: a
  // change shows within 1 s, counters every 10 s) so it never competes with the checks.
  const realServers = config.virtualServers.reduce((n, v) => n + v.realServers.length, 0);
  const statusDelayMs = Math.max(init.statusIntervalMs, realServers / 10);
  const statusRefreshMs = Math.max(STATUS_REFRESH_MS, realServers);
  engine.setDrained(init.drained);
  let services = new Set(engine.desired().map((d) => serviceKey(d.addr)));

  /** Health and IPVS state for the daemon: the reconciler's status and what changed alive. */
  const lastAlive = new Map<string, boolean>();
  /** Per virtual server, the alive array last compared: an unchanged pool keeps its array. */
  const seenAlive = new WeakMap<AliveView, readonly boolean[]>();
  let synced = false;
  function sendState(): void {
    stateTimer = null;
    // Only virtual servers whose pool changed are walked (status() would build all of them: this
    // runs after every change, up to 50 times a second while thousands of servers change).
    const ipvs = engine.ipvsStatus();
    const alive: [string, boolean][] = [];
    for (const v of engine.aliveView()) {
      const flags = v.pool.alive;
      if (seenAlive.get(v) === flags) continue;
      seenAlive.set(v, flags);
      for (let i = 0; i < v.rs.length; i++) {
        const key = rsKey(v.name, v.rs[i]!.name);
        const a = flags[i] === true;
        if (lastAlive.get(key) !== a) alive.push([key, a]);
        lastAlive.set(key, a);
      }
    }
    send({ type: 'state', ipvs, allRefused: allServicesRefused(services, ipvs), alive });
    if (!synced && ipvs.lastSyncAt !== null) {
      synced = true;
      if (fault) {
        log('warn', `HAKEEP_TEST_CHECKER_FAULT=${fault.fault} is set: the checker child fails in ${fault.afterMs} ms (test hook)`, {});
        setTimeout(() => { flushLogs(); injectFault(fault.fault); }, fault.afterMs);
      }
    }
  }
  /**
   * The status snapshot, built a slice of about STATUS_SLICE_RS real servers per event-loop turn:
   * at 10,000 real servers the whole of it in one turn (objects, then ~2.5 MB of JSON) took over a
   * second in a 1-CPU UML guest with its garbage collections, and with a checks burst beside it
   * outlasted the daemon's 5 s heartbeat deadline. Counters in one snapshot may differ by the few
   * turns it takes; a reload meanwhile starts the snapshot again.
   */
  let statusBuilding = false;
  let statusAgain = false;
  let statusEpoch = 0;
  function postStatus(): void {
    statusTimer = null;
    if (statusBuilding) {
      statusAgain = true;
      return;
    }
    statusBuilding = true;
    statusAgain = false;
    const epoch = statusEpoch;
    const parts: string[] = [];
    const summaries: CheckSummary[] = [];
    let next = 0;
    const slice = (): void => {
      if (stopping) {
        statusBuilding = false;
        return;
      }
      if (epoch !== statusEpoch) {
        statusBuilding = false;
        postStatus();
        return;
      }
      const view = engine.aliveView();
      const from = next;
      for (let rs = 0; next < view.length && (next === from || rs + view[next]!.rs.length <= STATUS_SLICE_RS); next++) rs += view[next]!.rs.length;
      if (next > from) {
        const vss = engine.virtualServerStatus(from, next);
        const text = JSON.stringify(vss);
        parts.push(text.slice(1, -1));
        summaries.push(summarizeCheckStatus({ virtualServers: vss }));
      }
      if (next < view.length) {
        setImmediate(slice);
        return;
      }
      statusBuilding = false;
      sendStatus(parts, summaries);
      if (statusAgain) statusTimer ??= setTimeout(postStatus, statusDelayMs);
    };
    slice();
  }
  /** The whole snapshot in this turn (the last one, at stop). */
  function postStatusNow(): void {
    const vss = engine.virtualServerStatus(0, engine.aliveView().length);
    sendStatus([JSON.stringify(vss).slice(1, -1)], [summarizeCheckStatus({ virtualServers: vss })]);
  }
  function sendStatus(parts: string[], summaries: CheckSummary[]): void {
    const ipvs = engine.ipvsStatus();
    // The child's clock pair lets the daemon show its monotonic times as wall times (status-format.ts).
    const json = `{"virtualServers":[${parts.filter((p) => p !== '').join(',')}],"checks":${JSON.stringify(engine.checkCounts())},"ipvs":${JSON.stringify(ipvs)},"clock":${JSON.stringify({ mono: performance.now(), wall: Date.now() })}}`;
    // The summary spares the daemon's VRRP loop a parse of the whole JSON at each metrics scrape.
    const checksByType: CheckSummary['checksByType'] = {};
    for (const s of summaries) {
      for (const [type, c] of Object.entries(s.checksByType)) {
        const t = (checksByType[type] ??= { ok: 0, failed: 0 });
        t.ok += c.ok;
        t.failed += c.failed;
      }
    }
    send({ type: 'status', json, summary: { virtualServers: summaries.flatMap((s) => s.virtualServers), checksByType, ipvs, statusKeys: ['virtualServers', 'checks', 'ipvs', 'clock'] } });
  }
  function changed(): void {
    stateTimer ??= setTimeout(sendState, STATE_COALESCE_MS);
    statusTimer ??= setTimeout(postStatus, statusDelayMs);
  }
  const statusRefresh = setInterval(() => { statusTimer ??= setTimeout(postStatus, statusDelayMs); }, statusRefreshMs);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void engine.stop().then(async () => {
      // Omega notifiers were just queued: give them a moment (keepalived: 1 s), then close.
      const r = runner as ScriptRunner | null;
      for (let i = 0; r && i < 20 && r.load().running + r.load().queued > 0; i++) await new Promise((res) => setTimeout(res, 50));
      await r?.close();
      clearInterval(statusRefresh);
      if (statusTimer) clearTimeout(statusTimer);
      if (stateTimer) clearTimeout(stateTimer);
      if (alertTimer) clearTimeout(alertTimer);
      sendAlerts();
      sendState();
      postStatusNow();
      flushLogs();
      sendThenExit({ type: 'stopped' }, 0);
    });
  };

  // A restart is worth an info line; a first start is routine.
  const restart = init.initialHealth.length > 0;
  log(restart ? 'info' : 'debug', `Checker child ${init.generation} (pid ${process.pid}): TCP checks use the ${tcpProbeKind} probe${restart ? `; starting from the last known health of ${init.initialHealth.length} real server(s)` : ''}`, {
    probe: tcpProbeKind, generation: init.generation,
  });
  sendState();
  engine.start();
  flushLogs();
  postStatusNow();
  send({ type: 'ready', probe: tcpProbeKind });
  return (m) => {
    if (m.type === 'stop') stop();
    else if (m.type === 'drained') engine.setDrained(m.keys);
    else if (m.type === 'plan') send({ type: 'planned', id: m.id, lines: engine.planReload(m.config) });
    else if (m.type === 'reload') {
      const lines = engine.reload(m.config);
      statusEpoch++;
      services = new Set(engine.desired().map((d) => serviceKey(d.addr)));
      send({ type: 'reloaded', id: m.id, lines });
    }
  };
}
