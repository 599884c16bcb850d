// The checker side's process, forked and supervised by the daemon (src/check/service.ts). This
// entry sets up the link to the daemon first (heartbeats, exit with the daemon, log lines, fatal
// errors), then loads the engine (child-engine.ts) and runs it once the daemon's init arrives.
// Whatever goes wrong here (an exception, a native abort, running out of heap, a hung loop) ends
// this process only; the daemon, where VRRP runs, restarts it.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { native } from '../net/native.js';
import { LOG_BATCH } from './child-protocol.js';
import type { ChildIo, ChildInit, FromChild, LogRecord, ToChild } from './child-protocol.js';

/** Log records held while the daemon reads slowly; beyond this they are counted and dropped. */
const MAX_PENDING_LOGS = 100_000;
/** How long a last message (fatal, stopped) may take before the child exits anyway. */
const LAST_WORDS_MS = 1000;

const send = (msg: FromChild, cb?: () => void): void => {
  if (!process.connected || !process.send) {
    cb?.();
    return;
  }
  try {
    process.send(msg, undefined, {}, cb ? () => cb() : undefined);
  } catch {
    cb?.(); // the channel closed meanwhile: the disconnect handler exits
  }
};

/** Exit once `msg` is written to the channel (or after LAST_WORDS_MS). */
function sendThenExit(msg: FromChild, code: number): void {
  const exit = (): void => process.exit(code);
  setTimeout(exit, LAST_WORDS_MS).unref();
  send(msg, exit);
}

if (!process.send) {
  process.stderr.write('src/check/child.js is started by the hakeep daemon (child_process.fork with an IPC channel)\n');
  process.exit(2);
}

// Heartbeats start before the engine's modules load (slow on a busy host): from here on, only a
// stuck event loop stops them. The interval comes as the first argument, the daemon's pid second.
const heartbeatMs = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 1000;
/** Longest wait of a heartbeat in the channel to the daemon (send to written) since the last look. */
let beatWriteMaxMs = 0;
// Beats go down their own pipe (the third argument: fd 4 of the daemon's fork) when there is one, so that they
// never queue behind big messages on the IPC channel; else on the channel.
let beatPipe: Socket | null = null;
const beatFd = Number(process.argv[4]);
try {
  if (beatFd > 2 && (fstatSync(beatFd).isFIFO() || fstatSync(beatFd).isSocket())) {
    beatPipe = new Socket({ fd: beatFd, readable: false, writable: true });
    beatPipe.on('error', () => { beatPipe = null; });
    beatPipe.unref();
  }
} catch {
  beatPipe = null;
}
const BEAT = Buffer.from('.');
const beat = (): void => {
  const t = performance.now();
  const written = (): void => { beatWriteMaxMs = Math.max(beatWriteMaxMs, performance.now() - t); };
  if (beatPipe) beatPipe.write(BEAT, written);
  else send({ type: 'heartbeat', sentAt: Date.now() }, written);
};
setInterval(beat, heartbeatMs);
beat();

// The daemon died (crash, SIGKILL): nobody supervises this process any more. The IPVS table stays
// as it is for the next daemon to adopt; the ipvsadm session ends with our end of its stdin.
process.on('disconnect', () => process.exit(0));
// It may have died before this listener existed (while Node.js was loading): the disconnect came
// unheard, and process.ppid is already whoever adopted us. The daemon passes its pid (argv[3]).
const daemonPid = Number(process.argv[3]) > 0 ? Number(process.argv[3]) : process.ppid;
if (!process.connected || process.ppid !== daemonPid) process.exit(0);
// A hung loop never sees the disconnect: the kernel kills this process with its parent instead.
try {
  if (native().setParentDeathSignal?.(constants.signals.SIGKILL, daemonPid) === false) process.exit(0);
} catch {
  // No addon: the disconnect above is the only link.
}

let fatalSent = false;
function fatal(what: string, err: unknown): void {
  if (fatalSent) return;
  fatalSent = true;
  flushLogs();
  const e = err instanceof Error ? err : new Error(String(err));
  sendThenExit({ type: 'fatal', what, message: e.message, stack: e.stack ?? e.message }, 70);
}
process.on('uncaughtException', (e) => fatal('uncaught exception', e));
process.on('unhandledRejection', (e) => fatal('unhandled promise rejection', e));

// ---- log lines, in bounded messages --------------------------------------------------------------
const pendingLogs: LogRecord[] = [];
let droppedLogs = 0;
let logFlushScheduled = false;
function flushLogs(): void {
  logFlushScheduled = false;
  if (droppedLogs > 0) {
    pendingLogs.push({ level: 'warn', msg: `${droppedLogs} checker log line(s) dropped (the daemon read them too slowly)`, fields: { dropped: droppedLogs } });
    droppedLogs = 0;
  }
  for (let i = 0; i < pendingLogs.length; i += LOG_BATCH) send({ type: 'log', records: pendingLogs.slice(i, i + LOG_BATCH) });
  pendingLogs.length = 0;
}
const log: ChildIo['log'] = (level, msg, fields) => {
  if (pendingLogs.length >= MAX_PENDING_LOGS) droppedLogs++;
  else pendingLogs.push({ level, msg, fields });
  if (!logFlushScheduled) {
    logFlushScheduled = true;
    setImmediate(flushLogs);
  }
};

// ---- stalls: a loop turn long enough to put the heartbeat at risk is logged, with the GC time in it
/** A turn at least this long is reported (the daemon kills the child after 5 s without a beat). */
const STALL_REPORT_MS = 1000;
const STALL_TICK_MS = 250;
let gcMs = 0;
let gcMaxMs = 0;
let gcMaxKind = 0;
try {
  // Each GC's duration and kind (1 minor, 2 major, 4 incremental, 8 weak callbacks): cheap, and the
  // first suspect when a big heap stalls a slow guest.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      if (e.duration > gcMaxMs) {
        gcMaxMs = e.duration;
        gcMaxKind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      }
    }
  }).observe({ entryTypes: ['gc'] });
} catch {
  // No GC entries in this runtime: stalls are still reported, without the GC share.
}
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - lastTick - STALL_TICK_MS;
  lastTick = now;
  if (late >= STALL_REPORT_MS) {
    // Half the daemon's deadline and more is a warning; shorter stalls are worth an info line.
    const level = late >= 2500 ? 'warn' : 'info';
    const kind = gcMaxKind === 1 ? 'minor' : gcMaxKind === 2 ? 'major' : gcMaxKind === 4 ? 'incremental' : 'other';
    log(level, `Checker child: its event loop was blocked for ${Math.round(late)} ms (GC in the last turns: ${Math.round(gcMs)} ms, longest ${Math.round(gcMaxMs)} ms ${kind}); the daemon restarts it after 5 s without a heartbeat`, {
      blockedMs: Math.round(late), gcMs: Math.round(gcMs), gcMaxMs: Math.round(gcMaxMs), heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
    });
  }
  if (beatWriteMaxMs >= STALL_REPORT_MS) {
    // The loop runs, but the daemon reads the channel slowly: beats arrive late all the same.
    log(beatWriteMaxMs >= 2500 ? 'warn' : 'info', `Checker child: a heartbeat waited ${Math.round(beatWriteMaxMs)} ms in the ${beatPipe ? 'heartbeat pipe' : 'channel'} to the daemon (the daemon reads it slowly)`, { beatWriteMs: Math.round(beatWriteMaxMs) });
  }
  beatWriteMaxMs = 0;
  gcMs = 0;
  gcMaxMs = 0;
  gcMaxKind = 0;
}, STALL_TICK_MS).unref();

// ---- the engine, once the daemon has sent its init -----------------------------------------------
let onMessage: ((m: ToChild) => void) | null = null;
const queued: ToChild[] = [];
process.on('message', (m: ToChild) => {
  if (onMessage) onMessage(m);
  else if (m.type === 'init' && queued.length === 0) void start(m);
  else queued.push(m); // a stop or drain while the engine loads
});

async function start(init: ChildInit): Promise<void> {
  queued.push(init);
  const { runEngine } = await import('./child-engine.js');
  // Test hook (never set in production): block the loop before the engine starts, as building it
  // from a 10,000-real-server config does on a slow host.
  const slowStartMs = Number(process.env.HAKEEP_TEST_CHECKER_SLOW_START_MS);
  if (slowStartMs > 0) {
    const until = performance.now() + slowStartMs;
    while (performance.now() < until) { /* busy: no heartbeat goes out */ }
  }
  onMessage = runEngine(init, { send, sendThenExit, log, flushLogs });
  for (const m of queued.splice(1)) onMessage(m);
}
