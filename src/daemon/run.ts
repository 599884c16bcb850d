// The composition root: start the VRRP and checker halves from a validated Config, write the pid
// file, tell systemd we are ready, answer every signal, and stop everything in order. Two rules:
//   - on SIGTERM/SIGINT the VRRP side's stop() runs before anything else (logging included): it
//     puts every master's priority-0 advert on the wire synchronously;
//   - on any uncaught exception or unhandled rejection, the last resort sends priority 0 from
//     every master, removes the VIPs (synchronous netlink), logs the stack and exits non-zero so
//     the supervisor restarts hakeep. A half-dead daemon holding VIPs is the worst outcome.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/model.js';
import type { InstanceStatus } from '../vrrp/instance.js';
import { formatRs, formatVs } from '../ipvs/format.js';
import { applyLvsTimeouts, lvsTimeoutsChanged } from '../ipvs/lvs-timeouts.js';
import { DrainStore, resolveDrainTarget } from './drain.js';
import { dumpDir, DUMP_FILES, renderDump, writeDumpFile, type DumpKind, type DumpSource } from './dumps.js';
import type { Logger } from './log.js';
import type { RunningService, ServiceHealth, StartService } from './service.js';
import { installSignalHandlers, type SignalAddon } from './signals.js';
import { closeStatus, serveStatus } from './status.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { armTestStallHook, type LifecycleSource, type SystemdLifecycle } from './systemd.js';

/** Exit code after a fatal internal error (EX_SOFTWARE): non-zero, so systemd restarts hakeep. */
export const EXIT_FATAL = 70;

export interface RunOptions {
  config: Config;
  log: Logger;
  version: string;
  vrrp: boolean;
  check: boolean;
  pidFile: string | null;
  /** Unix socket answering with the status JSON; null = none. */
  statusSocket: string | null;
  startVrrp: StartService;
  startCheck: StartService;
  /** Called once the services run (sd_notify READY=1 in production). */
  onReady?: () => void;
  /** systemd's notify protocol: READY, RELOADING/READY around reloads, STOPPING (src/daemon/systemd.ts). */
  systemd?: (src: LifecycleSource) => SystemdLifecycle;
  /** For realtime signals (keepalived's JSON and STATS_CLEAR); null = not available. */
  signalAddon: SignalAddon | null;
  /** Where the signal dumps go (keepalived's rule: $TMPDIR if absolute, else /tmp). */
  dumpDir?: string;
  /** -I: leave the IPVS table as it is on stop. */
  dontReleaseIpvs?: boolean;
  /** State file of `hakeep rs drain`; null = drains are not kept across restarts. */
  drainFile?: string | null;
  /** [notify] timeout, ms. */
  notifyTimeoutMs?: number;
  /** [metrics] listen: Prometheus exposition on HOST:PORT (src/daemon/metrics.ts); null = off. */
  metricsListen?: string | null;
  /** [daemon] state_dir (or the status socket's directory). */
  stateDir?: string;
  /** Read and check a configuration (the running file when no path is given): SIGHUP and `plan`. */
  loadConfig?: (path?: string) => Promise<LoadedConfig>;
}

export interface LoadedConfig {
  config: Config;
  /** Every problem as `file:line: message`, errors first. */
  problems: string[];
  errorCount: number;
}

/** Resolves with the exit code once the daemon has stopped. */
export async function runDaemon(o: RunOptions): Promise<number> {
  const { log } = o;
  log.info({ event: 'start', version: o.version }, `Starting hakeep v${o.version}`);
  writePid(o.pidFile, log);

  const services: RunningService[] = [];
  const startedAt = new Date().toISOString();
  const sd = o.systemd?.({
    services: () => services,
    advertIntSec: (n) => o.config.vrrpInstances.find((i) => i.name === n)?.advertInt,
    virtualServerCount: () => o.config.virtualServers.length,
  });
  let statusServer: Awaited<ReturnType<typeof serveStatus>> = null;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> = null;
  let stopping: Promise<number> | null = null;
  /** Set as stop() begins, before the sides stop (their health changes are not news then). */
  let shuttingDown = false;
  /** Sides whose start is under way; a stop meanwhile stops each once started (see stop()). */
  const starting: { name: RunningService['name']; started: Promise<RunningService> }[] = [];
  const startSide = async (name: RunningService['name'], started: Promise<RunningService>): Promise<RunningService> => {
    const entry = { name, started };
    starting.push(entry);
    try {
      return await started;
    } finally {
      starting.splice(starting.indexOf(entry), 1);
    }
  };
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });

  installLastResort(() => services, log, () => {
    removePid(o.pidFile);
    if (o.statusSocket) {
      try { unlinkSync(o.statusSocket); } catch { /* gone */ }
    }
  });

  const stop = (why: string): Promise<number> => {
    if (stopping) return stopping;
    shuttingDown = true;
    // First, before any log line: the VRRP side (first in `services`) resigns on the wire
    // synchronously inside stop(). Both halves stop at once: VRRP hands over to the backup
    // while IPVS is cleaned up.
    const stopOne = (s: RunningService): Promise<void> => {
      try {
        return s.stop();
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const names = [...services.map((s) => s.name), ...starting.map((p) => p.name)];
    const stops = [
      ...services.map(stopOne),
      // A side still starting (the checker child forked, not ready yet) is stopped as soon as its
      // start is over: "Stopped" never comes before its end, and it never programs IPVS after it.
      // A start that fails has nothing to stop (the start path logs the failure).
      ...starting.map((p) => p.started.then(stopOne, () => undefined)),
    ];
    sd?.stopping(why);
    log.info({ event: 'stop', reason: why }, 'Stopping');
    stopping = (async () => {
      let code = 0;
      const results = await Promise.allSettled(stops);
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') {
          code = 1;
          log.error({ service: names[i], err: String(r.reason) }, `error while stopping the ${names[i]!} side: ${String(r.reason)}`);
        }
      }
      closeStatus(statusServer, o.statusSocket ?? '');
      metricsServer?.close();
      removePid(o.pidFile);
      log.info({ event: 'stopped' }, `Stopped hakeep v${o.version}`);
      resolveDone(code);
      return code;
    })();
    return stopping;
  };

  // A daemon with idle halves still runs until told to stop: hold the event loop open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  void done.then(() => clearInterval(keepAlive));

  const statusDoc = (): Record<string, unknown> => ({
    version: o.version, pid: process.pid, startedAt, configFile: o.config.file,
    services: Object.fromEntries(services.map((s) => [s.name, s.status()])),
    drained: drains.list(),
  });
  // Created before the services start, so their first transitions are counted (served below).
  const metrics = o.metricsListen ? createMetrics(statusDoc) : null;
  /** `plan FILE`: what a reload to FILE would do, asked of each side; nothing changes. */
  const planFor = async (path: string): Promise<{ ok: boolean; message: string }> => {
    if (!o.loadConfig) return { ok: false, message: 'this hakeep cannot read configurations for a plan' };
    const next = await o.loadConfig(path);
    if (next.errorCount > 0) return { ok: false, message: [`${path}: ${next.errorCount} error(s); a reload to it would be refused:`, ...next.problems].join('\n') };
    const lines: string[] = [...next.problems.map((p) => `warning: ${p}`)];
    for (const s of services) {
      if (!s.plan) continue;
      const r = await s.plan(next.config);
      lines.push(...r.lines.map((l) => `${s.name}: ${l}`));
    }
    if (o.check && !services.some((s) => s.name === 'check') && next.config.virtualServers.length > 0) {
      lines.push(`check: the checker side starts (${next.config.virtualServers.length} virtual server(s)), not gating VRRP until hakeep restarts`);
    }
    return { ok: true, message: lines.join('\n') || 'nothing would change' };
  };
  /** Commands on the status socket (root only): `plan FILE`, `rs drain|enable VS RS`. */
  const runCommand = async (words: string[]): Promise<{ ok: boolean; message: string }> => {
    const [w0, action, vsText, rsText] = words;
    if (w0 === 'plan' && words.length === 2) return planFor(words[1]!);
    if (w0 !== 'rs' || (action !== 'drain' && action !== 'enable') || !vsText || !rsText || words.length !== 4) {
      return { ok: false, message: `unknown command '${words.join(' ')}'; known: status, plan FILE, rs drain VS RS, rs enable VS RS` };
    }
    const check = services.find((s) => s.name === 'check');
    if (!check?.setDrained) return { ok: false, message: 'the checker side does not run in this hakeep (-P, or no virtual_server)' };
    const key = resolveDrainTarget(o.config, vsText, rsText);
    if (key instanceof Error) return { ok: false, message: key.message };
    const drain = action === 'drain';
    const changed = drains.set(key, drain);
    check.setDrained(drains.list());
    const what = drain ? `Draining service ${key.rs} of VS ${key.vs}: weight 0 until 'hakeep rs enable'` : `Enabling service ${key.rs} of VS ${key.vs}: weight restored`;
    if (changed) log.info({ event: drain ? 'drain' : 'enable', vs: key.vs, rs: key.rs }, what);
    return { ok: true, message: changed ? what : `service ${key.rs} of VS ${key.vs} is already ${drain ? 'drained' : 'enabled'}` };
  };
  const dumper = new DumpWriter(o.dumpDir ?? dumpDir(), log, () => {
    const vrrp = services.find((s) => s.name === 'vrrp')?.status() as { instances?: InstanceStatus[] } | undefined;
    const check = services.find((s) => s.name === 'check')?.status() ?? null;
    return {
      version: o.version, pid: process.pid, startedAt, configFile: o.config.file,
      vrrp: vrrp?.instances ?? [], check, now: new Date().toISOString(), monoNow: performance.now(),
    };
  });
  /**
   * SIGHUP: read and check the file again; with errors, log each (file:line) and keep running the
   * old configuration (keepalived's reload_check_config, always on); else apply the reload to each
   * side. Reloads never overlap: a burst of SIGHUPs while one runs gives one more reload.
   */
  const reloader = new Reloader(async () => {
    if (!o.loadConfig || stopping) return;
    log.info({ event: 'reload' }, `Reloading configuration file '${o.config.file}'`);
    const next = await o.loadConfig();
    if (next.errorCount > 0) {
      for (const p of next.problems) log.error({ event: 'reload' }, p);
      log.error({ event: 'reload', errors: next.errorCount }, `configuration has ${next.errorCount} error(s): not reloaded, the running configuration stays. Fix them (hakeep -t -f ${o.config.file}) and reload again`);
      return;
    }
    for (const p of next.problems) log.warn({ event: 'reload' }, p);
    for (const s of services) {
      if (!s.reload) continue;
      try {
        const r = await s.reload(next.config);
        for (const line of r.lines) log.info({ event: 'reload', service: s.name }, `reload: ${line}`);
      } catch (e) {
        log.error({ event: 'reload', service: s.name, err: (e as Error).stack }, `reload of the ${s.name} side failed: ${(e as Error).message}; it keeps running`);
      }
    }
    if (services.some((s) => s.name === 'check') && lvsTimeoutsChanged(o.config.globalDefs.lvsTimeouts, next.config.globalDefs.lvsTimeouts)) {
      if (next.config.globalDefs.lvsTimeouts) void applyLvsTimeouts(next.config.globalDefs.lvsTimeouts, { ipvsadmPath: process.env.HAKEEP_IPVSADM || 'ipvsadm', log });
      else log.info({ event: 'reload' }, 'reload: lvs_timeouts removed; the kernel keeps the IPVS timeouts set before (keepalived leaves them too)');
    }
    if (o.check && !stopping && !services.some((s) => s.name === 'check') && next.config.virtualServers.length > 0) {
      // The checker side was idle (no virtual_server at start): it starts now. The VRRP gate is
      // decided at start, so instances are not held in FAULT for it until hakeep restarts.
      log.info({ event: 'reload', service: 'check' }, `reload: the checker side starts (${next.config.virtualServers.length} virtual server(s)); the VRRP instances are not gated on it until hakeep restarts`);
      try {
        const check = await startSide('check', o.startCheck(next.config, {
          log: log.child({ proc: 'check' }), drained: drains.list(),
          ...(o.dontReleaseIpvs ? { dontReleaseIpvs: true } : {}), ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
        }));
        if (!stopping) services.push(check); // else the stop in progress stops it
      } catch (e) {
        log.error({ event: 'reload', service: 'check' }, `reload: the checker side could not start: ${(e as Error).message}`);
      }
    }
    o.config = next.config;
    drains.retain((k) => o.config.virtualServers.some((vs) => formatVs(vs) === k.vs && vs.realServers.some((rs) => formatRs(rs, vs) === k.rs)));
    log.info({ event: 'reloaded' }, 'Reload finished');
  }, log, sd);
  // Handlers stay installed until the process exits: a late SIGUSR1 must never reach Node's
  // default (the inspector), nor a realtime signal its default (terminate).
  installSignalHandlers({
    stop: (sig) => { void stop(sig); },
    reload: () => { reloader.request(); },
    dump: (kind) => dumper.request(kind),
    clearStats: () => { for (const s of services) s.clearStats?.(); },
  }, log, o.signalAddon);

  // With both halves, the instances fronting virtual servers wait in FAULT until the checker
  // side has programmed IPVS: a VIP never comes up before its pool (keepalived programs IPVS
  // before its VRRP child can take the VIP; hakeep makes it an explicit condition).
  // Drains made with `hakeep rs drain` by an earlier run from the same config file.
  const drains = new DrainStore(o.drainFile ?? null, o.config.file);
  drains.load();
  drains.retain((k) => o.config.virtualServers.some((vs) => formatVs(vs) === k.vs && vs.realServers.some((rs) => formatRs(rs, vs) === k.rs)));
  for (const k of drains.list()) log.info({ vs: k.vs, rs: k.rs }, `Service ${k.rs} of VS ${k.vs} stays drained (weight 0) from before the restart`);

  const gated = o.vrrp && o.check && o.config.virtualServers.length > 0 && o.config.vrrpInstances.length > 0;
  let vrrp: RunningService | null = null;
  try {
    if (o.vrrp) {
      // static_ipaddress/static_routes/static_rules alone also run the VRRP side, as in keepalived
      // (their handlers mark the config as having VRRP, vrrp_parser.c:128-160).
      const statics = (o.config.staticIpaddress?.length ?? 0) + (o.config.staticRoutes?.length ?? 0) + (o.config.staticRules?.length ?? 0);
      if (o.config.vrrpInstances.length === 0 && statics === 0) log.info('no vrrp_instance in the configuration: VRRP side idle');
      else {
        vrrp = await startSide('vrrp', o.startVrrp(o.config, {
          log: log.child({ proc: 'vrrp' }),
          ...(gated ? { checkerGate: 'IPVS table not programmed yet' } : {}),
          ...(o.notifyTimeoutMs !== undefined ? { notifyTimeoutMs: o.notifyTimeoutMs } : {}),
        }));
        // Stopped meanwhile: the stop in progress stops it (it was among `starting`).
        if (stopping) return done;
        services.push(vrrp);
      }
    }
    if (stopping) return done;
    if (o.check) {
      if (o.config.virtualServers.length === 0) log.info('no virtual_server in the configuration: checker side idle');
      else {
        const check = await startSide('check', o.startCheck(o.config, {
          log: log.child({ proc: 'check' }),
          drained: drains.list(),
          ...(o.dontReleaseIpvs ? { dontReleaseIpvs: true } : {}),
          ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
        }));
        if (stopping) return done;
        services.push(check);
        // lvs_timeouts: set once IPVS is in use (keepalived's checker does it at start), in the background.
        void applyLvsTimeouts(o.config.globalDefs.lvsTimeouts, { ipvsadmPath: process.env.HAKEEP_IPVSADM || 'ipvsadm', log });
        if (gated && vrrp) linkCheckerHealth(check, vrrp as VrrpLike, log, () => shuttingDown);
      }
    }
  } catch (e) {
    log.fatal({ err: String(e) }, `cannot start: ${e instanceof Error ? e.message : String(e)}`);
    await stop('start failure');
    return 3;
  }
  if (stopping) return done;
  if (o.statusSocket) statusServer = await serveStatus(o.statusSocket, statusDoc, log, (words) => runCommand(words));
  // Read from the same status model at each scrape: nothing on the VRRP path.
  if (o.metricsListen && metrics) metricsServer = await serveMetrics(o.metricsListen, metrics, log);
  o.onReady?.();
  sd?.ready();
  if (!sd) armTestStallHook(log); // under systemd, ready() arms it with the watchdog
  armTestCrashHook(log);
  return done;
}

interface VrrpLike extends RunningService {
  setCheckerHealth?(h: ServiceHealth): void;
}

/** Feed the checker side's health into the VRRP side's fault set, logging each change. */
function linkCheckerHealth(check: RunningService, vrrp: VrrpLike, log: Logger, shuttingDown: () => boolean): void {
  let last: ServiceHealth | null = null;
  const apply = (h: ServiceHealth): void => {
    if (last && last.ok === h.ok && last.detail === h.detail) return;
    // During a stop the checker side goes down on purpose and the VRRP side has already resigned:
    // a warning that the instances "stay in FAULT" would only mislead whoever reads the log.
    if (shuttingDown()) log.debug({ event: 'checker_health', ok: h.ok, detail: h.detail }, `checker side: ${h.detail} (stopping)`);
    else if (h.ok) log.info({ event: 'checker_health', ok: true }, 'checker side ready: IPVS programmed, VRRP instances fronting the virtual servers may take the VIPs');
    else log.warn({ event: 'checker_health', ok: false, detail: h.detail }, `checker side not ready (${h.detail}): the VRRP instances fronting the virtual servers stay in FAULT`);
    last = h;
    vrrp.setCheckerHealth?.(h);
  };
  if (check.health && check.onHealth) {
    check.onHealth(apply);
    apply(check.health());
  } else {
    // A checker side without a health signal: trust that starting it programmed IPVS.
    apply({ ok: true, detail: '' });
  }
}

/**
 * Uncaught exceptions and unhandled rejections: resign and release synchronously, log, exit.
 * Runs at most once; anything that throws inside is swallowed so the exit always happens.
 */
function installLastResort(services: () => RunningService[], log: Logger, cleanup: () => void): void {
  let dying = false;
  const die = (what: string, err: unknown): void => {
    if (dying) return;
    dying = true;
    for (const s of services()) {
      try { s.emergencyStop?.(); } catch { /* keep going: the exit must happen */ }
    }
    try {
      const e = err instanceof Error ? err : new Error(String(err));
      log.fatal({ err: e.stack ?? e.message, event: 'fatal' },
        `${what}: ${e.message}; sent priority 0 and removed the VIPs; exiting (status ${EXIT_FATAL}) so the supervisor restarts hakeep`);
    } catch { /* logging must not stop the exit */ }
    try { cleanup(); } catch { /* ignore */ }
    process.exit(EXIT_FATAL);
  };
  process.on('uncaughtException', (err) => die('uncaught exception', err));
  process.on('unhandledRejection', (reason) => die('unhandled promise rejection', reason));
}

/** Test hook: HAKEEP_TEST_CRASH_AFTER_MS=N throws an uncaught exception from a timer N ms after
 * the daemon is ready, to prove the last resort on the wire. Never set it in production. */
function armTestCrashHook(log: Logger): void {
  const ms = Number(process.env.HAKEEP_TEST_CRASH_AFTER_MS);
  if (!(ms > 0)) return;
  log.warn({ ms }, `HAKEEP_TEST_CRASH_AFTER_MS is set: an uncaught exception will be thrown in ${ms} ms (test hook)`);
  setTimeout(() => { throw new Error('HAKEEP_TEST_CRASH_AFTER_MS: injected crash (test hook)'); }, ms);
}

/** Runs reloads one at a time; requests during a reload collapse into one more. */
class Reloader {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly work: () => Promise<void>, private readonly log: Logger,
    private readonly around?: { reloading(): void; reloaded(): void }) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.around?.reloading();
    this.running = this.work()
      .catch((e: unknown) => this.log.error({ event: 'reload', err: (e as Error).stack }, `reload failed: ${(e as Error).message}; the running configuration stays`))
      .finally(() => {
        this.running = null;
        this.around?.reloaded();
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }
}

/** Writes the signal dumps off the timing path (async I/O), one write per kind at a time; a
 * burst of signals collapses into at most one more write. */
class DumpWriter {
  private readonly busy = new Set<DumpKind>();
  private readonly again = new Set<DumpKind>();

  constructor(private readonly dir: string, private readonly log: Logger, private readonly source: () => DumpSource) {}

  request(kind: DumpKind): void {
    if (this.busy.has(kind)) {
      this.again.add(kind);
      return;
    }
    this.busy.add(kind);
    void this.write(kind);
  }

  private async write(kind: DumpKind): Promise<void> {
    try {
      const path = await writeDumpFile(this.dir, DUMP_FILES[kind], renderDump(kind, this.source()));
      this.log.debug({ dump: kind, path }, `${kind} dump written to ${path}`);
    } catch (e) {
      this.log.warn({ dump: kind, dir: this.dir }, `cannot write the ${kind} dump in ${this.dir}: ${(e as Error).message}`);
    } finally {
      this.busy.delete(kind);
      if (this.again.delete(kind)) this.request(kind);
    }
  }
}

function writePid(path: string | null, log: Logger): void {
  if (!path) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${process.pid}\n`);
  } catch (e) {
    // A pid file is a convenience; failing to write it must not stop VRRP.
    log.warn({ pidFile: path }, `cannot write pid file ${path}: ${(e as Error).message}`);
  }
}

function removePid(path: string | null): void {
  if (!path) return;
  try { unlinkSync(path); } catch { /* already gone */ }
}
