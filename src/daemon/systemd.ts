// hakeep under systemd: the sd_notify protocol (Type=notify) and the service watchdog.
//
//   READY=1                    once VRRP and the checkers run, and again after each reload
//   RELOADING=1 + MONOTONIC_USEC=<CLOCK_MONOTONIC in µs>   when a reload starts (systemd 253+
//                              wants the timestamp; 252 ignores it)
//   STOPPING=1                 when a stop starts
//   STATUS=<one line>          "VI_1 MASTER, 2/2 real servers up", shown by `systemctl status`
//   WATCHDOG=1                 every WATCHDOG_USEC/2 from the main event loop, only while the
//                              health predicate says so: a stalled loop (or an unhealthy VRRP
//                              side) stops the pings, and systemd aborts and restarts hakeep
//
// Every call is a no-op without $NOTIFY_SOCKET (hakeep run by hand, in tests, under another
// supervisor). Nothing here ever throws into the caller: a failed datagram is logged
// (rate-limited) and the daemon goes on. The datagrams leave through the native addon's sdNotify
// (Node has no AF_UNIX datagram sockets); they carry the main process's credentials, which is
// what NotifyAccess=main accepts.
//
// systemd 252 (Debian 12) has no Type=notify-reload: the unit reloads with ExecReload=/bin/kill
// -HUP $MAINPID, and `systemctl reload` returns as soon as kill exits, before hakeep has reloaded.
// The RELOADING=1 that hakeep sends on SIGHUP then puts the unit in "reloading" until READY=1
// (`systemctl show -p SubState` shows `reload`); a script that must know the reload is done
// waits for SubState=running or the STATUS text, not for systemctl. With systemd 253+ the unit
// may use Type=notify-reload instead (systemd sends SIGHUP itself and waits for READY=1).
import { existsSync, unlinkSync } from 'node:fs';
import type { Logger } from './log.js';
import { native } from '../net/native.js';
import { RateLimiter } from '../vrrp/rate-limit.js';

/** Sends one datagram to the notify socket; throws on failure. */
export type NotifySend = (socketPath: string, message: string) => void;

/** true = healthy (ping); a string = why not (no ping, and it is logged). */
export type HealthPredicate = () => true | string;

export interface SystemdOptions {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Remove those three variables from `env` once read (as sd_notify's unset_environment), so the
   * checker child, the script spawner and the scripts never inherit them. Default: true.
   */
  unsetEnvironment?: boolean;
  /** The transport; default: the native addon's sdNotify. Tests pass a recorder. */
  send?: NotifySend;
  log?: Logger;
  /** CLOCK_MONOTONIC in µs (for MONOTONIC_USEC); default: process.hrtime, which is that clock. */
  monotonicUsec?: () => bigint;
  /** The main process id, compared with WATCHDOG_PID; default process.pid. */
  pid?: number;
}

export interface WatchdogOptions {
  /** Ping every this many ms instead of WATCHDOG_USEC / 2 (tests). */
  intervalMs?: number;
  /** A tick this late (ms) is logged as a stalled event loop; default: half the interval. */
  lateWarnMs?: number;
}

export interface WatchdogPinger {
  /** The ping period, ms (WATCHDOG_USEC / 2). */
  readonly intervalMs: number;
  /** WATCHDOG=1 datagrams sent so far. */
  readonly pings: number;
  /** Whether the last tick found the daemon healthy. */
  readonly healthy: boolean;
  stop(): void;
}

export interface Follower {
  /** Re-read the source now and send STATUS= if the text changed. */
  refresh(): void;
  stop(): void;
}

/** STATUS= text is one line; systemd shows it in `systemctl status`. Longer ones are cut. */
export const MAX_STATUS_LENGTH = 400;

/** CLOCK_MONOTONIC in µs: libuv's uv_hrtime (process.hrtime) reads CLOCK_MONOTONIC on Linux. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** One line of STATUS= text: no newlines (they separate fields), at most MAX_STATUS_LENGTH. */
export function statusLine(text: string): string {
  const one = text.replace(/[\r\n]+/g, ' ').replace(/\s+/g, ' ').trim();
  return one.length > MAX_STATUS_LENGTH ? `${one.slice(0, MAX_STATUS_LENGTH - 1)}…` : one;
}

/** The native addon's sdNotify, loaded on first use (native() loads the .node file lazily). */
function defaultSend(): NotifySend {
  return (path, message) => {
    native().sdNotify(message, path);
  };
}

export class Systemd {
  /** $NOTIFY_SOCKET as it was at start; null = not run by systemd with Type=notify. */
  readonly notifySocket: string | null;
  /** The watchdog interval systemd expects pings within (µs); null = no watchdog for us. */
  readonly watchdogUsec: number | null;
  private readonly send: NotifySend;
  private readonly log: Logger | null;
  private readonly mono: () => bigint;
  private readonly limiter = new RateLimiter(60_000);
  private lastStatus: string | null = null;
  private watchdog: WatchdogPinger | null = null;
  private readonly followers = new Set<Follower>();

  constructor(o: SystemdOptions = {}) {
    const env = o.env ?? process.env;
    const sock = env.NOTIFY_SOCKET;
    this.notifySocket = sock && (sock.startsWith('/') || sock.startsWith('@')) ? sock : null;
    const usec = Number(env.WATCHDOG_USEC);
    const wpid = env.WATCHDOG_PID;
    const forUs = wpid === undefined || wpid === '' || Number(wpid) === (o.pid ?? process.pid);
    this.watchdogUsec = this.notifySocket && Number.isSafeInteger(usec) && usec > 0 && forUs ? usec : null;
    if (o.unsetEnvironment ?? true) {
      delete env.NOTIFY_SOCKET;
      delete env.WATCHDOG_USEC;
      delete env.WATCHDOG_PID;
    }
    this.send = o.send ?? defaultSend();
    this.log = o.log ?? null;
    this.mono = o.monotonicUsec ?? monotonicUsec;
    if (sock && !this.notifySocket) this.log?.warn({ notifySocket: sock }, `NOTIFY_SOCKET=${sock} is neither a path nor an abstract socket name: not notifying systemd`);
  }

  /** Whether systemd listens (Type=notify). */
  get enabled(): boolean {
    return this.notifySocket !== null;
  }

  /** READY=1 (start-up done, or a reload done), with the STATUS text when given. */
  ready(status?: string): boolean {
    return this.notify(['READY=1', ...this.statusField(status)]);
  }

  /** RELOADING=1 with MONOTONIC_USEC (systemd 253+ checks it against the reload request). */
  reloading(status?: string): boolean {
    return this.notify(['RELOADING=1', `MONOTONIC_USEC=${this.mono()}`, ...this.statusField(status)]);
  }

  /** STOPPING=1: the stop has started; systemd shows "deactivating". */
  stopping(status?: string): boolean {
    this.watchdog?.stop();
    for (const f of [...this.followers]) f.stop();
    return this.notify(['STOPPING=1', ...this.statusField(status)]);
  }

  /** STATUS=text, sent only when it differs from the last one. */
  status(text: string): boolean {
    const fields = this.statusField(text);
    return fields.length === 0 ? true : this.notify(fields);
  }

  /**
   * Send STATUS= whenever `source()` changes, checked every `everyMs` (unref'd timer, one string
   * compare per tick; a datagram only on change). `refresh()` checks at once (after a transition).
   */
  followStatus(source: () => string, everyMs = 1000): Follower {
    const check = (): void => {
      let text: string;
      try {
        text = source();
      } catch (e) {
        this.warn('status-source', `cannot compute the systemd STATUS text: ${(e as Error).message}`);
        return;
      }
      this.status(text);
    };
    const timer = setInterval(check, everyMs);
    timer.unref();
    const f: Follower = {
      refresh: check,
      stop: () => {
        clearInterval(timer);
        this.followers.delete(f);
      },
    };
    this.followers.add(f);
    return f;
  }

  /**
   * Ping WATCHDOG=1 every WATCHDOG_USEC/2 from the event loop while `healthy()` returns true.
   * null when systemd set no watchdog for this process (no WatchdogSec=, or WATCHDOG_PID names
   * another process). The first ping goes out at once. The timer is unref'd: it never keeps a
   * stopping daemon alive. A blocked loop cannot run the timer, so it stops pinging by itself;
   * the predicate adds what the loop cannot see (e.g. the VRRP side stopped working).
   */
  startWatchdog(healthy: HealthPredicate, o: WatchdogOptions = {}): WatchdogPinger | null {
    if (this.watchdogUsec === null) return null;
    this.watchdog?.stop();
    const intervalMs = o.intervalMs ?? Math.max(1, Math.floor(this.watchdogUsec / 2000));
    const lateWarnMs = o.lateWarnMs ?? intervalMs / 2;
    const limitMs = this.watchdogUsec / 1000;
    let pings = 0;
    let isHealthy = true;
    let lastReason: string | null = null;
    let expected = performance.now() + intervalMs;
    let stopped = false;
    const tick = (first: boolean): void => {
      if (stopped) return;
      const now = performance.now();
      if (!first) {
        const late = now - expected;
        if (late > lateWarnMs) {
          this.log?.warn({ event: 'watchdog', lateMs: Math.round(late) },
            `the event loop was blocked for about ${Math.round(late)} ms (systemd watchdog ping late; WatchdogSec is ${limitMs / 1000} s)`);
        }
        expected = now + intervalMs;
      }
      let h: true | string;
      try {
        h = healthy();
      } catch (e) {
        h = `health check failed: ${(e as Error).message}`;
      }
      if (h === true) {
        if (!isHealthy) this.log?.info({ event: 'watchdog', healthy: true }, 'healthy again: pinging the systemd watchdog');
        isHealthy = true;
        lastReason = null;
        if (this.notify(['WATCHDOG=1'])) pings += 1;
      } else {
        if (isHealthy || h !== lastReason) {
          this.log?.error({ event: 'watchdog', healthy: false, reason: h },
            `not healthy (${h}): not pinging the systemd watchdog; systemd restarts hakeep ${limitMs / 1000} s after the last ping`);
        }
        isHealthy = false;
        lastReason = h;
      }
    };
    const timer = setInterval(() => tick(false), intervalMs);
    timer.unref();
    const pinger: WatchdogPinger = {
      intervalMs,
      get pings() { return pings; },
      get healthy() { return isHealthy; },
      stop: () => {
        stopped = true;
        clearInterval(timer);
        if (this.watchdog === pinger) this.watchdog = null;
      },
    };
    this.watchdog = pinger;
    tick(true);
    return pinger;
  }

  private statusField(text: string | undefined): string[] {
    if (text === undefined) return [];
    const line = statusLine(text);
    if (line === this.lastStatus) return [];
    return [`STATUS=${line}`];
  }

  private notify(fields: string[]): boolean {
    if (!this.notifySocket) return false;
    const msg = fields.join('\n');
    try {
      this.send(this.notifySocket, msg);
    } catch (e) {
      this.warn(`send:${fields[0]!.split('=')[0]}`, `cannot notify systemd (${fields[0]}) on ${this.notifySocket}: ${(e as Error).message}`);
      return false;
    }
    const st = fields.find((f) => f.startsWith('STATUS='));
    if (st !== undefined) this.lastStatus = st.slice('STATUS='.length);
    return true;
  }

  /** Rate-limited; an error: under Type=notify a lost READY=1 fails the start after TimeoutStartSec. */
  private warn(key: string, msg: string): void {
    const suppressed = this.limiter.admit(key, performance.now());
    if (suppressed !== null) this.log?.error({ event: 'sd_notify', suppressed }, msg);
  }
}

// --- the STATUS= text from the status model --------------------------------------------------

export interface StatusSummary {
  /** VRRP instances in config order; null = the VRRP side does not run (-C). */
  instances: Array<{ name: string; state: string }> | null;
  /** Real servers per virtual server; null = the checker side does not run (-P). */
  virtualServers: Array<{ up: number; total: number }> | null;
  /** How many virtual servers, when `virtualServers` holds one sum for all of them. */
  virtualServerCount?: number;
}

const STATE_ORDER = ['MASTER', 'BACKUP', 'FAULT', 'INIT', 'STOP'];

/**
 * "VI_1 MASTER, 2/2 real servers up"; with more than three instances they are counted by state
 * ("12 instances: 8 MASTER, 4 BACKUP; 98/100 real servers up in 10 virtual servers").
 */
export function formatStatus(s: StatusSummary, prefix?: string): string {
  const parts: string[] = [];
  let sep = ', ';
  const inst = s.instances ?? [];
  if (inst.length > 0 && inst.length <= 3) {
    parts.push(inst.map((i) => `${i.name} ${i.state}`).join(', '));
  } else if (inst.length > 3) {
    const counts = new Map<string, number>();
    for (const i of inst) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
    const states = [...counts.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    parts.push(`${inst.length} instances: ${states.map((st) => `${counts.get(st)} ${st}`).join(', ')}`);
    sep = '; ';
  }
  const vss = s.virtualServers ?? [];
  if (vss.length > 0) {
    const up = vss.reduce((a, v) => a + v.up, 0);
    const total = vss.reduce((a, v) => a + v.total, 0);
    const n = s.virtualServerCount ?? vss.length;
    parts.push(`${up}/${total} real servers up${n > 1 ? ` in ${n} virtual servers` : ''}`);
  }
  if (parts.length === 0) parts.push(s.instances === null && s.virtualServers === null ? 'running' : 'running, nothing configured (no vrrp_instance, no virtual_server)');
  const text = parts.join(sep);
  return prefix ? `${prefix}: ${text}` : text;
}

function rank(state: string): number {
  const i = STATE_ORDER.indexOf(state);
  return i < 0 ? STATE_ORDER.length : i;
}

/**
 * The summary from what the two halves' status() return (RunningService.status(): the VRRP
 * side's { instances: [{ name, state }] } and the checker side's { virtualServers: [{
 * realServers: [{ alive }] }] }). Read defensively: the shapes are `unknown` at this boundary.
 * Pass undefined for a half that does not run.
 */
export function summarizeServices(vrrp: unknown, check: unknown): StatusSummary {
  const instances = arrayOf(vrrp, 'instances')?.map((i) => ({
    name: String(field(i, 'name') ?? '?'),
    state: String(field(i, 'state') ?? '?'),
  })) ?? null;
  const virtualServers = arrayOf(check, 'virtualServers')?.map((v) => {
    const rs = arrayOf(v, 'realServers') ?? [];
    return { up: rs.filter((r) => field(r, 'alive') === true).length, total: rs.length };
  }) ?? null;
  return { instances, virtualServers };
}

function field(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
}

function arrayOf(o: unknown, k: string): unknown[] | null {
  const v = field(o, k);
  return Array.isArray(v) ? v : null;
}

// --- a health predicate for the VRRP side ------------------------------------------------------

export interface VrrpProgressSource {
  /** The instances now: name, state and the adverts sent so far (InstanceStatus). */
  instances(): Array<{ name: string; state: string; counters: { advertsSent: number } }>;
  /** advert_int of an instance, ms. */
  advertIntervalMs(name: string): number;
}

/**
 * "VRRP side working": every instance that has been MASTER for longer than three advert
 * intervals has sent an advert within the last three intervals (plus `slackMs`). It catches a
 * VRRP side whose timers no longer run while the event loop itself is fine (a blocked loop stops
 * the pings anyway). Call the returned predicate from the watchdog tick; it keeps its own
 * history, so use one per pinger. `now` is injectable for tests.
 */
export function vrrpProgress(src: VrrpProgressSource, slackMs = 1000, now: () => number = () => performance.now()): HealthPredicate {
  const seen = new Map<string, { state: string; sent: number; since: number }>();
  return () => {
    const t = now();
    const names = new Set<string>();
    for (const i of src.instances()) {
      names.add(i.name);
      const prev = seen.get(i.name);
      const sent = i.counters.advertsSent;
      if (!prev || prev.state !== i.state || prev.sent !== sent) {
        seen.set(i.name, { state: i.state, sent, since: t });
        continue;
      }
      if (i.state !== 'MASTER') continue;
      const limit = 3 * src.advertIntervalMs(i.name) + slackMs;
      if (t - prev.since > limit) return `(${i.name}) is MASTER but sent no advert for ${Math.round((t - prev.since) / 1000)} s`;
    }
    for (const k of [...seen.keys()]) if (!names.has(k)) seen.delete(k);
    return true;
  };
}

// --- test hook ---------------------------------------------------------------------------------

/**
 * Test hook: HAKEEP_TEST_STALL_MS=N blocks the main thread for N ms (Atomics.wait: the CPU stays
 * free for everything else), to prove that the watchdog restarts a stalled daemon, and (armed by
 * runDaemon when not under systemd) that the advert pacer keeps a stalled master's adverts on time.
 *   HAKEEP_TEST_STALL_FILE=PATH   stall each time PATH appears (checked every 250 ms; the hook
 *                                 deletes it first), instead of once;
 *   HAKEEP_TEST_STALL_AFTER_MS=M  without a file: stall once, M ms after arming (default 1000).
 * Arm it once the daemon is ready. Returns null when the variable is not set. Never set it in
 * production.
 */
export function armTestStallHook(log: Logger, env: NodeJS.ProcessEnv = process.env): { stop(): void } | null {
  const ms = Number(env.HAKEEP_TEST_STALL_MS);
  if (!(ms > 0)) return null;
  const file = env.HAKEEP_TEST_STALL_FILE || null;
  const stall = (): void => {
    log.warn({ event: 'test_stall', ms }, `HAKEEP_TEST_STALL_MS: blocking the main thread for ${ms} ms (test hook)`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    log.warn({ event: 'test_stall', ms }, `HAKEEP_TEST_STALL_MS: the main thread runs again after ${ms} ms (test hook)`);
  };
  if (file) {
    log.warn({ ms, file }, `HAKEEP_TEST_STALL_MS is set: the main thread will block for ${ms} ms whenever ${file} appears (test hook)`);
    const timer = setInterval(() => {
      if (!existsSync(file)) return;
      try { unlinkSync(file); } catch { /* someone else took it */ }
      stall();
    }, 250);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
  const after = Number(env.HAKEEP_TEST_STALL_AFTER_MS ?? 1000);
  const delay = Number.isFinite(after) && after >= 0 ? after : 1000;
  log.warn({ ms, afterMs: delay }, `HAKEEP_TEST_STALL_MS is set: the main thread will block for ${ms} ms in ${delay} ms (test hook)`);
  const timer = setTimeout(stall, delay);
  timer.unref();
  return { stop: () => clearTimeout(timer) };
}

// --- the daemon's life, as runDaemon drives it -------------------------------------------------

export interface LifecycleSource {
  /**
   * The running halves (RunningService). The checker side's real-server counts come from
   * aliveCount() when it has one: its status() parses the child's whole status document, which
   * with thousands of real servers is too long a block for the VRRP loop to pay every second.
   */
  services(): Array<{
    name: string;
    status(): unknown;
    aliveCount?(): { up: number; total: number };
    health?(): { ok: boolean; detail: string };
    onHealth?(fn: (h: { ok: boolean; detail: string }) => void): void;
  }>;
  /** Virtual servers in the running configuration. */
  virtualServerCount?(): number;
  /** advert_int of each configured instance, seconds (the running configuration). */
  advertIntSec(name: string): number | undefined;
}

/** How long READY=1 waits for the checker side to have programmed IPVS (then it goes anyway, saying why). */
export const READY_WAIT_FOR_IPVS_MS = 15_000;

export interface SystemdLifecycle {
  /**
   * Start-up done (both halves run): the watchdog and the stall hook at once; READY=1 with the
   * STATUS text and the STATUS follower once the checker side has programmed IPVS (at most
   * READY_WAIT_FOR_IPVS_MS later).
   */
  ready(): void;
  /** A reload starts: RELOADING=1 with MONOTONIC_USEC. */
  reloading(): void;
  /** The reload is over (applied or refused): READY=1 again. */
  reloaded(): void;
  /** The stop starts: STOPPING=1; nothing more is sent after it. */
  stopping(reason: string): void;
}

/**
 * What runDaemon calls at its four moments. The STATUS text follows the status model (checked
 * every second, sent on change); the watchdog pings from the main event loop, which is the VRRP
 * event loop (the checker side runs in a child process), while vrrpProgress() holds.
 */
export function systemdLifecycle(sd: Systemd, src: LifecycleSource, log: Logger, readyWaitMs = READY_WAIT_FOR_IPVS_MS): SystemdLifecycle {
  let phase: 'starting' | 'running' | 'reloading' | 'stopping' = 'starting';
  let stall: { stop(): void } | null = null;
  let called = false;
  let readyTimer: NodeJS.Timeout | null = null;
  const text = (): string => {
    const by = new Map(src.services().map((s) => [s.name, s]));
    const check = by.get('check');
    const counts = check?.aliveCount?.();
    if (!counts) return formatStatus(summarizeServices(by.get('vrrp')?.status(), check?.status()));
    const vsCount = Math.max(1, src.virtualServerCount?.() ?? 1);
    return formatStatus({ ...summarizeServices(by.get('vrrp')?.status(), undefined), virtualServers: [counts], virtualServerCount: vsCount });
  };
  const progress = vrrpProgress({
    instances: () => {
      const v = src.services().find((s) => s.name === 'vrrp')?.status();
      return (arrayOf(v, 'instances') ?? []).map((i) => ({
        name: String(field(i, 'name')),
        state: String(field(i, 'state')),
        counters: { advertsSent: Number(field(field(i, 'counters'), 'advertsSent') ?? 0) },
      }));
    },
    advertIntervalMs: (name) => (src.advertIntSec(name) ?? 1) * 1000,
  });
  return {
    ready() {
      if (called || phase !== 'starting') return;
      called = true;
      if (!sd.enabled) {
        phase = 'running';
        return;
      }
      const wd = sd.startWatchdog(progress);
      if (wd) log.info({ event: 'watchdog', intervalMs: wd.intervalMs }, `systemd watchdog: pinging every ${wd.intervalMs} ms from the VRRP event loop while it is healthy`);
      stall = armTestStallHook(log);
      const go = (): void => {
        if (readyTimer) clearTimeout(readyTimer);
        readyTimer = null;
        if (phase !== 'starting') return;
        phase = 'running';
        sd.ready(text());
        sd.followStatus(text);
      };
      // "Ready" means serving: with virtual servers, once the checker side has programmed IPVS.
      const check = src.services().find((s) => s.name === 'check');
      const h = check?.health?.();
      if (!check?.onHealth || !h || h.ok) {
        go();
        return;
      }
      log.info({ event: 'sd_ready_wait', detail: h.detail }, `checker side not ready yet (${h.detail}): telling systemd hakeep is ready once it is, at most in ${readyWaitMs / 1000} s`);
      check.onHealth((x) => { if (x.ok) go(); });
      readyTimer = setTimeout(() => {
        const now = check.health?.() ?? h;
        if (phase === 'starting') log.warn({ event: 'sd_ready_wait', detail: now.detail }, `checker side still not ready after ${readyWaitMs / 1000} s (${now.detail}): telling systemd hakeep is ready anyway; the VRRP instances fronting the virtual servers stay in FAULT until it is`);
        go();
      }, readyWaitMs);
      readyTimer.unref();
    },
    reloading() {
      if (phase !== 'running') return;
      phase = 'reloading';
      sd.reloading(`reloading: ${text()}`);
    },
    reloaded() {
      if (phase !== 'reloading') return;
      phase = 'running';
      sd.ready(text());
    },
    stopping(reason) {
      if (phase === 'stopping') return;
      phase = 'stopping';
      if (readyTimer) clearTimeout(readyTimer);
      stall?.stop();
      sd.stopping(`stopping (${reason})`);
    },
  };
}
