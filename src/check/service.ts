// The checker half of the daemon, seen from the daemon's process (where VRRP runs). It forks the
// checker child (src/check/child.ts: checks and the IPVS reconciler) and supervises it:
//   - relays its log lines in slices and keeps its latest status snapshot;
//   - keeps the last known health of every real server, so a restarted child starts from it;
//   - watches its heartbeat: a child silent past the deadline is killed and restarted;
//   - restarts a dead child with exponential backoff, and gives up after too many crashes;
//   - reports the side's fitness to front traffic (health/onHealth), which the daemon turns into
//     a VRRP fault;
//   - stops it on SIGTERM (omega notifiers, IPVS services removed or kept as the stop mode says).
// No fault in the child (exception, native abort, out of memory, hung loop) can reach this process.
import { fork } from 'node:child_process';
import { serialize } from 'node:v8';
import { lowerHelperPriority } from '../script/spawner-client.js';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import { withRawTail } from '../daemon/raw-json.js';
import { CHECK_SUMMARY, type CheckSummary } from '../daemon/check-summary.js';
import type { DrainKey } from '../daemon/drain.js';
import type { RunningService, ServiceContext, StartOptions } from '../daemon/service.js';
import type { ReconcilerStatus } from '../ipvs/reconciler.js';
import type { ChildInit, FromChild, ToChild } from './child-protocol.js';
import { join } from 'node:path';
import { DEFAULT_OWNED_PATH } from '../ipvs/owned.js';
import { HEALTH_DETAIL, RestartPolicy, giveUpDetail, ipvsState } from './health.js';
import type { CheckerHealth, RestartPolicyOptions } from './health.js';
import { LogRelay } from './log-relay.js';
import { formatRs, formatVs } from '../ipvs/format.js';
import { formatCheckerPlan, planCheckerReload } from '../ipvs/reload-plan.js';
import { Alerter } from '../alert/alerts.js';
import { checkerAlert, poolEventAlerts, stoppingAlerts } from '../alert/hooks.js';
import type { EngineAlert } from './engine.js';
import type { LogRelayOptions } from './log-relay.js';

export type { CheckerHealth } from './health.js';

/** How often the child sends a heartbeat from its event loop (ms). */
const HEARTBEAT_MS = 1000;
/**
 * No heartbeat for this long: the child's loop is hung; kill it and start another. Five beats,
 * so a long garbage collection or a slow start on a loaded host is not taken for a hang.
 */
const HEARTBEAT_DEADLINE_MS = 5000;
/**
 * The IPVS table could not be updated for this long: the side is unfit. One failed batch is
 * usually the table changing under the reconciler (an entry edited by hand), and its retry half a
 * second later repairs it; that must not move VRRP.
 */
const IPVS_FAILURE_GRACE_MS = 2000;
/**
 * The first heartbeat may take this long: a child starts a Node.js runtime and loads its modules,
 * which takes seconds on a loaded host (over 5 s was seen in a UML guest with one busy CPU).
 */
const STARTUP_DEADLINE_MS = 30_000;
/** Removing 10,000 services and running omega notifiers takes a while; a hung child does not. */
const STOP_TIMEOUT_MS = 30_000;
/** How long a reload or plan may wait for the child's answer. */
const RELOAD_ANSWER_MS = 30_000;
/** A start of the checker child that held this process this long (ms) is logged. */
const FORK_LOG_MS = 5;
/** Lines of the child's stderr kept to explain its death (V8's out-of-memory report, a stack). */
const STDERR_TAIL_LINES = 20;

/** The checker service: RunningService plus the side's health signal. */
export interface CheckerService extends RunningService {
  readonly name: 'check';
  /** The checker side's fitness to front traffic; the daemon turns !ok into a VRRP fault. */
  health(): CheckerHealth;
  /** Called on every change of health() (ok or detail). */
  onHealth(fn: (h: CheckerHealth) => void): void;
}

export interface SupervisorOptions {
  ipvsadmPath?: string;
  resyncMs?: number;
  statusIntervalMs?: number;
  heartbeatMs?: number;
  deadlineMs?: number;
  startupDeadlineMs?: number;
  ipvsFailureGraceMs?: number;
  stopTimeoutMs?: number;
  restart?: RestartPolicyOptions;
  logRelay?: LogRelayOptions;
  /** Node.js options for the child, e.g. ['--max-old-space-size=256']. */
  execArgv?: string[];
}

interface Child {
  proc: ChildProcess;
  generation: number;
  pid: number;
  startedAt: number;
  lastBeat: number;
  /** The last heartbeat's time in the channel (daemon's receipt minus the child's sentAt), ms. */
  beatTransitMs: number | null;
  /** When any message from the child arrived last. */
  lastMessage: number;
  /** No heartbeat yet: the startup deadline applies. */
  starting: boolean;
  lastTick: number;
  watchdog: NodeJS.Timeout;
  ready: boolean;
  ipvs: ReconcilerStatus | null;
  allRefused: boolean;
  /** When (daemon clock) the child's IPVS state turned 'failing'; null = it is not failing. */
  failingSince: number | null;
  failingTimer: NodeJS.Timeout | null;
  fatal: Extract<FromChild, { type: 'fatal' }> | null;
  silent: boolean;
  stderrTail: string[];
  exited: boolean;
}

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * The checker child's V8 flags. Its young generation is kept small (1 MiB semi-spaces instead of
 * up to 16): checks allocate short-lived objects at a steady rate, and with the default the young
 * generation alone grows to ~48 MiB of resident memory. Measured at 10,000 real servers
 * (bench/checker): the child's peak RSS 189 → 115-130 MiB, CPU within noise.
 */
export const CHECKER_CHILD_FLAGS = ['--max-semi-space-size=1'];

/** Knobs for tests and unusual hosts; documented in docs/ipvs.md. */
function optionsFromEnv(): SupervisorOptions {
  const heapMb = envNumber('HAKEEP_CHECKER_MAX_OLD_SPACE_MB', 0);
  return {
    ipvsadmPath: process.env.HAKEEP_IPVSADM || 'ipvsadm',
    resyncMs: envNumber('HAKEEP_IPVS_RESYNC_MS', 5000),
    statusIntervalMs: envNumber('HAKEEP_CHECK_STATUS_MS', 500),
    execArgv: [
      ...CHECKER_CHILD_FLAGS, ...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : []),
      // Extra Node.js/V8 flags for the child (diagnosis: --trace-gc, --cpu-prof; V8 tuning).
      ...(process.env.HAKEEP_CHECKER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''),
    ],
  };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

export const startCheckerService = (config: Config, ctx: ServiceContext & StartOptions): Promise<CheckerService> =>
  startSupervisedChecker(config, ctx, optionsFromEnv());

export function startSupervisedChecker(config: Config, ctx: ServiceContext & StartOptions, opts: SupervisorOptions = {}): Promise<CheckerService> {
  const { log } = ctx;
  const dontReleaseIpvs = ctx.dontReleaseIpvs === true;
  let drained: DrainKey[] = ctx.drained ?? [];
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  const deadlineMs = opts.deadlineMs ?? HEARTBEAT_DEADLINE_MS;
  const startupMs = opts.startupDeadlineMs ?? STARTUP_DEADLINE_MS;
  const graceMs = opts.ipvsFailureGraceMs ?? IPVS_FAILURE_GRACE_MS;
  const stopTimeoutMs = opts.stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const childPath = fileURLToPath(new URL('./child.js', import.meta.url));
  const relay = new LogRelay(log, opts.logRelay);
  // keepalived's real-server and quorum e-mails: the child reports the facts, the mail goes from here.
  const alerter = new Alerter(config, { log });
  const onAlerts = (events: EngineAlert[]): void => {
    for (const e of events) {
      if (e.kind === 'rs') checkerAlert(alerter, e.vs, e.rs, e.type, e.checkerUp, e.rsAlive, e.rsChanged, e.detail);
      else if (e.kind === 'pool') poolEventAlerts(alerter, e.vs, e.events);
      else stoppingAlerts(alerter, e.vs, e.alive);
    }
  };
  const policy = new RestartPolicy(opts.restart);
  /** Last known alive state of every real server (rsKey → alive), across children. */
  const alive = new Map<string, boolean>();
  let statusJson: string | null = null;
  let statusParsed: { json: string; value: Record<string, unknown> } | null = null;
  /** The child's summary of its latest status (metrics read it instead of the parsed JSON). */
  let statusSummary: CheckSummary | null = null;
  /** The top-level field names of the child's status JSON, from the last parse (they do not
   * change between snapshots); null before the first parse. */
  let statusKeys: string[] | null = null;
  let statusGeneration = 0;
  /** The configuration as the child gets it (v8.serialize), made once per configuration. */
  let configBytes: { for: Config; bytes: Buffer } | null = null;
  let child: Child | null = null;
  let generation = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let lastExit: string | null = null;
  let probeKind: string | null = null;
  let gaveUp: string | null = null;
  let stopping = false;
  let stopped: Promise<void> | null = null;
  let onChildGone: (() => void) | null = null;
  const healthListeners: ((h: CheckerHealth) => void)[] = [];
  let health: CheckerHealth = { ok: false, detail: HEALTH_DETAIL.unsynced };
  let started!: { resolve: () => void; reject: (e: Error) => void; done: boolean };

  const computeHealth = (): CheckerHealth => {
    if (stopping) return { ok: false, detail: HEALTH_DETAIL.stopped };
    if (gaveUp !== null) return { ok: false, detail: gaveUp };
    if (child === null || child.exited) return { ok: false, detail: `checker restarting after it died (${lastExit ?? 'unknown'})` };
    if (child.silent) {
      return { ok: false, detail: child.starting ? `checker did not start within ${seconds(startupMs)}; restarting it` : `checker silent for more than ${seconds(deadlineMs)} (no heartbeat); restarting it` };
    }
    const why = child.ipvs?.lastError?.message;
    switch (ipvsState(child.ipvs, child.allRefused)) {
      case 'unsynced':
        return { ok: false, detail: why ? `${HEALTH_DETAIL.unsynced}: ${why}` : HEALTH_DETAIL.unsynced };
      case 'failing':
        if (child.failingSince !== null && performance.now() - child.failingSince >= graceMs) {
          return { ok: false, detail: `${HEALTH_DETAIL.failing}: ${why ?? 'unknown error'}` };
        }
        return { ok: true, detail: HEALTH_DETAIL.ok };
      case 'refused': {
        const f = child.ipvs?.failingServices[0];
        return { ok: false, detail: `${HEALTH_DETAIL.refused}${f ? `: ${f.command}: ${f.error}` : ''}` };
      }
      case 'synced':
        return { ok: true, detail: HEALTH_DETAIL.ok };
    }
  };

  const updateHealth = (): void => {
    const h = computeHealth();
    if (h.ok === health.ok && h.detail === health.detail) return;
    health = h;
    // Debug only: deaths, silences and IPVS failures have their own lines, and the daemon logs
    // what the change does to VRRP.
    log.debug({ health: h }, `Checker side ${h.ok ? 'fit' : 'unfit'} to front traffic: ${h.detail}`);
    for (const fn of healthListeners) fn(h);
  };

  const send = (c: Child, msg: ToChild): void => {
    try {
      c.proc.send(msg);
    } catch (e) {
      // The channel is closed: the child is dying, and its exit handler takes over.
      log.debug({ err: String(e) }, `cannot write to checker child ${c.generation}: ${(e as Error).message}`);
    }
  };

  const onIpvs = (c: Child, ipvs: ReconcilerStatus): void => {
    c.ipvs = ipvs;
    if (ipvsState(ipvs) !== 'failing') {
      c.failingSince = null;
      if (c.failingTimer) clearTimeout(c.failingTimer);
      c.failingTimer = null;
    } else if (c.failingSince === null) {
      c.failingSince = performance.now();
      c.failingTimer = setTimeout(() => { c.failingTimer = null; updateHealth(); }, graceMs);
    }
  };

  const onMessage = (c: Child, m: FromChild): void => {
    c.lastMessage = performance.now();
    switch (m.type) {
      case 'heartbeat':
        // The start-up deadline holds until 'ready', not until the first beat: the child beats as
        // soon as Node.js runs, then builds its engine from the config in one synchronous stretch
        // (~0.9 s on a host at 10,000 real servers, many times that in a 1-CPU guest), which must
        // not count as a hung loop (bench/restart at 10,000 saw it killed over and over).
        c.lastBeat = performance.now();
        c.beatTransitMs = m.sentAt !== undefined ? Date.now() - m.sentAt : null;
        return;
      case 'log':
        relay.push(m.records);
        return;
      case 'status':
        statusJson = m.json;
        statusSummary = m.summary ?? null;
        statusGeneration = c.generation;
        return;
      case 'state':
        for (const [key, a] of m.alive) alive.set(key, a);
        c.allRefused = m.allRefused;
        onIpvs(c, m.ipvs);
        updateHealth();
        return;
      case 'ready':
        c.ready = true;
        c.starting = false;
        c.lastBeat = performance.now();
        probeKind = m.probe;
        if (!started.done) {
          started.done = true;
          started.resolve();
        }
        return;
      case 'alerts':
        onAlerts(m.events);
        return;
      case 'fatal':
        c.fatal = m;
        return;
      case 'stopped':
        return; // the exit follows
      case 'reloaded':
      case 'planned':
        answers.get(m.id)?.(m.lines);
        answers.delete(m.id);
        return;
    }
  };

  const describeExit = (c: Child, code: number | null, signal: NodeJS.Signals | null): string => {
    if (c.silent) return c.starting ? `did not start within ${seconds(startupMs)}, killed` : `no heartbeat for ${seconds(deadlineMs)}, killed`;
    if (c.fatal) return `${c.fatal.what}: ${c.fatal.message}`;
    if (c.stderrTail.some((l) => /heap out of memory|Allocation failed/i.test(l))) return `out of memory (V8 heap limit), ${signal ?? `exit code ${code}`}`;
    if (signal) return `killed by ${signal}`;
    return `exit code ${code}`;
  };

  const onExit = (c: Child, code: number | null, signal: NodeJS.Signals | null): void => {
    if (c.exited) return;
    c.exited = true;
    for (const [id, answer] of answers) {
      answers.delete(id);
      answer([`the checker child ${c.generation} died before answering; ${c === child ? 'the next one starts with the new configuration' : 'see the log'}`]);
    }
    clearInterval(c.watchdog);
    if (c.failingTimer) clearTimeout(c.failingTimer);
    const what = describeExit(c, code, signal);
    lastExit = what;
    if (stopping) {
      if (code !== 0) log.warn({ code, signal }, `Checker child ${c.generation} (pid ${c.pid}) ended while stopping: ${what}`);
      onChildGone?.();
      return;
    }
    const fields = { generation: c.generation, pid: c.pid, code, signal, stderr: c.stderrTail.slice(), stack: c.fatal?.stack ?? null };
    if (!started.done) {
      started.done = true;
      started.reject(new Error(`the checker child exited before it was ready (${what})${c.stderrTail.length ? `: ${c.stderrTail.join(' | ')}` : ''}`));
      return;
    }
    died(`Checker child ${c.generation} (pid ${c.pid}) died: ${what}`, c.startedAt, fields);
  };

  /** A child is gone (or could not be started): restart it after the backoff, or give up. */
  const died = (what: string, startedAt: number, fields: Record<string, unknown>): void => {
    const now = performance.now();
    const d = policy.crashed(now, now - startedAt);
    if (!d.restart) {
      gaveUp = giveUpDetail(d.crashes, d.windowMs);
      log.error(fields, `${what}. ${gaveUp}: the checker side stays down and unfit (VRRP FAULT) until hakeep restarts; the kernel keeps the last IPVS table`);
      updateHealth();
      return;
    }
    log.error(fields, `${what}; restarting it in ${seconds(d.delayMs)} from the last known health`);
    updateHealth();
    restartTimer = setTimeout(() => {
      restartTimer = null;
      if (!stopping) spawnChild();
    }, d.delayMs);
  };

  /** How the channel looked before a kill: a beat that took long to arrive, or other messages
   * still coming, point at a slow daemon or a full channel rather than a stuck child loop. */
  const transitNote = (c: Child, now: number): string => {
    const parts: string[] = [];
    if (c.beatTransitMs !== null && c.beatTransitMs >= 100) parts.push(`its last beat took ${seconds(Math.round(c.beatTransitMs))} to arrive`);
    if (now - c.lastMessage < now - c.lastBeat - 1000) parts.push(`its last message of any kind came ${seconds(Math.round(now - c.lastMessage))} ago`);
    return parts.length > 0 ? ` (${parts.join('; ')})` : '';
  };

  const watch = (c: Child): void => {
    const now = performance.now();
    // Timers run before I/O in a loop turn: after a stall of this process, heartbeats that did
    // arrive are still unread. Judge the child on the next tick, not this one.
    const stalled = now - c.lastTick > 2 * heartbeatMs;
    c.lastTick = now;
    if (stalled || c.silent || now - c.lastBeat <= (c.starting ? startupMs : deadlineMs)) return;
    c.silent = true;
    log.error({ generation: c.generation, pid: c.pid }, c.starting
      ? `Checker child ${c.generation} (pid ${c.pid}) did not start within ${seconds(startupMs)}; killing it`
      : `Checker child ${c.generation} (pid ${c.pid}) sent no heartbeat for ${seconds(Math.round(now - c.lastBeat))}: its event loop is stuck; killing it${transitNote(c, now)}`);
    updateHealth();
    c.proc.kill('SIGKILL');
  };

  const keepLines = (c: Child, stream: NodeJS.ReadableStream | null): void => {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        c.stderrTail.push(line);
        if (c.stderrTail.length > STDERR_TAIL_LINES) c.stderrTail.shift();
        relay.push([{ level: 'warn', msg: `checker child ${c.generation}: ${line}`, fields: { generation: c.generation } }]);
      }
    });
  };

  const spawnChild = (): void => {
    generation++;
    let proc: ChildProcess;
    try {
      // fork() copies this (large) process's page tables while this loop (the VRRP loop) waits:
      // measured and logged when it is long (bench/observe).
      const t0 = performance.now();
      proc = fork(childPath, [String(heartbeatMs), String(process.pid), '4'], {
        serialization: 'advanced',
        // fd 4: the heartbeat pipe (one byte a beat). Beats on the IPC channel queued behind
        // the status snapshots (2.5 MB at 10,000 real servers) whenever this process read the
        // channel slowly: in the 1-CPU bench guest a beat waited 1.3-3.2 s there and the child
        // was killed as stuck while its loop ran (bench/checker run 4).
        stdio: ['ignore', 'pipe', 'pipe', 'ipc', 'pipe'],
        execArgv: opts.execArgv ?? [],
      });
      const forkMs = performance.now() - t0;
      if (forkMs >= FORK_LOG_MS) log.info({ generation, forkMs: Math.round(forkMs * 10) / 10 }, `Checker child ${generation}: starting it held this process ${forkMs.toFixed(1)} ms`);
      // The checker child runs below the VRRP process's CPU priority: on a saturated CPU the
      // kernel runs the VRRP loop first.
      const nice = lowerHelperPriority(proc.pid);
      if (typeof nice === 'string' && proc.pid !== undefined) log.warn({ generation, pid: proc.pid }, `Checker child ${generation}: cannot lower its CPU priority (it runs at the VRRP process's): ${nice}`);
    } catch (e) {
      // Never let this reach the daemon's last resort: VRRP must go on.
      lastExit = `could not be started: ${(e as Error).message}`;
      if (!started.done) {
        started.done = true;
        started.reject(e as Error);
      } else {
        died(`Checker child ${generation} ${lastExit}`, performance.now(), { generation });
      }
      return;
    }
    const now = performance.now();
    const c: Child = {
      proc, generation, pid: proc.pid ?? -1, startedAt: now, lastBeat: now, beatTransitMs: null, lastMessage: now, starting: true, lastTick: now,
      watchdog: setInterval(() => watch(c), heartbeatMs),
      ready: false, ipvs: null, allRefused: false, failingSince: null, failingTimer: null, fatal: null, silent: false, stderrTail: [], exited: false,
    };
    child = c;
    keepLines(c, proc.stdout);
    keepLines(c, proc.stderr);
    const beats = proc.stdio[4] as NodeJS.ReadableStream | null | undefined;
    beats?.on('data', () => { c.lastBeat = performance.now(); c.beatTransitMs = null; });
    beats?.on('error', () => { /* the child's end closed: its exit is handled below */ });
    proc.on('message', (m: FromChild) => onMessage(c, m));
    // Judge the death once its stderr is read (V8 prints its out-of-memory report just before it
    // aborts): at 'close', or a moment after 'exit' if a descendant holds the pipes open.
    proc.on('exit', (code, signal) => {
      clearInterval(c.watchdog);
      const judge = (): void => onExit(c, code, signal);
      const t = setTimeout(judge, 500);
      proc.once('close', () => { clearTimeout(t); judge(); });
    });
    proc.on('error', (e) => {
      if (proc.pid === undefined) {
        log.error({ err: String(e) }, `Checker child ${c.generation} could not be started: ${e.message}`);
        onExit(c, null, null); // no exit event follows
      } else {
        // A write to a child that is going away; its exit is reported by itself.
        log.debug({ err: String(e) }, `Checker child ${c.generation}: ${e.message}`);
      }
    });
    // The configuration goes as bytes serialised once per configuration: at 10,000 real servers
    // cloning the config object (4.4 MB serialised) on every restart held this loop (the VRRP
    // loop) 23-56 ms on a host, many times that in a 1-CPU guest (bench/observe).
    if (configBytes?.for !== config) configBytes = { for: config, bytes: serialize(config) };
    const init: ChildInit = {
      type: 'init',
      config: null,
      configV8: configBytes.bytes,
      ipvsadmPath: opts.ipvsadmPath ?? 'ipvsadm',
      resyncMs: opts.resyncMs ?? 5000,
      statusIntervalMs: opts.statusIntervalMs ?? 500,
      generation,
      initialHealth: [...alive],
      drained,
      dontReleaseIpvs,
      ownedPath: ctx.stateDir ? join(ctx.stateDir, 'ipvs-owned.json') : DEFAULT_OWNED_PATH,
      alerts: alerter.enabled,
    };
    send(c, init);
    updateHealth();
  };

  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = null;
    updateHealth();
    stopped = (async () => {
      const c = child;
      if (c && !c.exited) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            log.error({ pid: c.pid }, `Checker child ${c.generation} (pid ${c.pid}) did not stop within ${seconds(stopTimeoutMs)}; killing it`);
            c.proc.kill('SIGKILL');
          }, stopTimeoutMs);
          onChildGone = () => {
            clearTimeout(timer);
            resolve();
          };
          send(c, { type: 'stop' });
        });
      } else if (generation > 0) {
        log.warn({}, `The checker side was not running at stop (${gaveUp ?? `restarting after it died: ${lastExit ?? 'unknown'}`}): its IPVS services stay as they are`);
      }
      relay.drainAll();
      await alerter.close();
    })();
    return stopped;
  };

  /** Reload and plan requests waiting for the child's answer, by id. */
  const answers = new Map<number, (lines: string[]) => void>();
  let requestId = 0;
  const ask = (type: 'reload' | 'plan', next: Config): Promise<string[]> => {
    const c = child;
    if (stopping) return Promise.resolve(['not reloaded: the checker side is stopping']);
    if (!c || c.exited || c.silent) {
      // No child to ask: the plan is the configuration's; the IPVS commands are the next child's
      // first sync (from the last known health, against the kernel table).
      const lines = formatCheckerPlan(planCheckerReload(config, next), []).filter((l) => !l.startsWith('IPVS:'));
      lines.push(`IPVS: not known now (the checker child is ${gaveUp !== null ? 'down' : 'restarting'}); ${type === 'reload' ? 'the next child starts with the new configuration' : 'the next child applies the difference at its first sync'}`);
      return Promise.resolve(lines);
    }
    const id = ++requestId;
    return new Promise<string[]>((resolve) => {
      const timer = setTimeout(() => {
        answers.delete(id);
        resolve([`the checker child did not answer the ${type} within ${seconds(RELOAD_ANSWER_MS)}`]);
      }, RELOAD_ANSWER_MS);
      answers.set(id, (lines) => { clearTimeout(timer); resolve(lines); });
      send(c, { type, id, config: next });
    });
  };

  const service: CheckerService = {
    /**
     * Reload: the child applies the new configuration in place (CheckEngine.reload); a child
     * started later (a restart) starts with it, from the last known health of the real servers
     * that are still configured.
     */
    async reload(next) {
      const lines = await ask('reload', next);
      config = next;
      // engine.ts rsKey (not imported: that would load the checker modules into the daemon).
      const keep = new Set(next.virtualServers.flatMap((v) => v.realServers.map((r) => `${formatVs(v)} ${formatRs(r, v)}`)));
      for (const k of [...alive.keys()]) if (!keep.has(k)) alive.delete(k);
      return { lines };
    },
    async plan(next) {
      return { lines: await ask('plan', next) };
    },
    name: 'check',
    stop,
    health: () => health,
    onHealth: (fn) => { healthListeners.push(fn); },
    setDrained(keys) {
      drained = keys;
      if (child && !child.exited) send(child, { type: 'drained', keys });
    },
    aliveCount() {
      let up = 0;
      for (const a of alive.values()) if (a) up += 1;
      return { up, total: alive.size };
    },
    status(): unknown {
      const childView = (): Record<string, unknown> => ({
        pid: child && !child.exited ? child.pid : null,
        generation,
        restarts: Math.max(0, generation - 1),
        lastExit,
        probe: probeKind,
        snapshotFrom: statusGeneration,
      });
      /** The child's latest status, parsed once per snapshot and only when a field is read. */
      const parsed = (): Record<string, unknown> => {
        if (statusJson !== null && statusParsed?.json !== statusJson) {
          statusParsed = { json: statusJson, value: JSON.parse(statusJson) as Record<string, unknown> };
          statusKeys = Object.keys(statusParsed.value).filter((k) => k !== 'alerts');
        }
        return statusParsed?.value ?? {};
      };
      // Parsing ~2.5 MB at 10,000 real servers costs tens of milliseconds of the VRRP loop. The
      // status socket splices the text in (raw-json.ts) and the metrics read the summary, so
      // neither needs the parse: once the field names are known, the child's fields are getters
      // that parse on first read, for in-process readers that do want them.
      // The field names: from the last parse, else as the child's summary lists them.
      const knownKeys = statusKeys ?? statusSummary?.statusKeys?.filter((k) => k !== 'alerts') ?? null;
      if (statusJson !== null && knownKeys !== null && statusParsed?.json !== statusJson) {
        const json = statusJson;
        const keys = knownKeys;
        const doc: Record<string, unknown> = { name: 'check', health, child: childView() };
        for (const k of keys) Object.defineProperty(doc, k, { enumerable: true, configurable: true, get: () => parsed()[k] });
        if (alerter.enabled) doc.alerts = alerter.status();
        if (statusSummary) Object.defineProperty(doc, CHECK_SUMMARY, { value: statusSummary, enumerable: false });
        return withRawTail(doc, { json, keys });
      }
      parsed();
      const doc = {
        name: 'check',
        health,
        child: childView(),
        ...(statusParsed?.value ?? { virtualServers: [], checks: null, ipvs: null }),
        ...(alerter.enabled ? { alerts: alerter.status() } : {}),
      };
      if (statusParsed && statusSummary && statusParsed.json === statusJson) Object.defineProperty(doc, CHECK_SUMMARY, { value: statusSummary, enumerable: false });
      // The status socket splices the child's text in instead of serialising it again.
      return statusParsed ? withRawTail(doc, { json: statusParsed.json, keys: statusKeys ?? [] }) : doc;
    },
  };

  return new Promise<CheckerService>((resolve, reject) => {
    started = { resolve: () => resolve(service), reject, done: false };
    spawnChild();
  });
}
