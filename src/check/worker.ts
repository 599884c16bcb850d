// The checker side's thread: runs the CheckEngine with the real clock, TCP probes, ipvsadm and
// script runner, away from the main thread where VRRP keeps its timers. Log lines and status
// snapshots go to the main thread as messages.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/model.js';
import { ipvsadmBackendPair } from '../ipvs/ipvsadm-session.js';
import { realClock } from './clock.js';
import { CheckEngine } from './engine.js';
import type { LogSink } from './engine.js';
import { runScript } from './notify.js';
import { tcpProbe, tcpProbeKind } from './tcp-probe.js';
import type { LogRecord, ToMain, ToWorker, WorkerInit } from './worker-protocol.js';

/** The status snapshot is refreshed at least this often (ms). */
const STATUS_REFRESH_MS = 5000;

const port = parentPort;
if (!port) throw new Error('src/check/worker.js must run as a worker thread');
const init = workerData as WorkerInit;
const config: Config = init.config;

const pendingLogs: LogRecord[] = [];
let logFlushScheduled = false;
function post(msg: ToMain): void {
  port!.postMessage(msg);
}
function flushLogs(): void {
  logFlushScheduled = false;
  if (pendingLogs.length > 0) post({ type: 'log', records: pendingLogs.splice(0) });
}
const log: LogSink = (level, msg, fields) => {
  pendingLogs.push({ level, msg, fields });
  if (!logFlushScheduled) {
    logFlushScheduled = true;
    setImmediate(flushLogs);
  }
};

let statusTimer: NodeJS.Timeout | null = null;
function postStatus(): void {
  statusTimer = null;
  post({ type: 'status', status: engine.status() });
}
function statusChanged(): void {
  statusTimer ??= setTimeout(postStatus, init.statusIntervalMs);
}
// Counters (checks made, last results) move without state changes: refresh now and then too.
const statusRefresh = setInterval(statusChanged, STATUS_REFRESH_MS);
statusRefresh.unref();

const engine = new CheckEngine(config, {
  clock: realClock,
  probe: tcpProbe,
  backend: ipvsadmBackendPair({
    path: init.ipvsadmPath,
    onFallback: (why) => log('warn', `IPVS: ${why}`, {}),
  }),
  runScript,
  log,
  onChange: statusChanged,
  resyncMs: init.resyncMs,
  timerSlackMs: 20,
});

port.on('message', (m: ToWorker) => {
  if (m.type !== 'stop') return;
  void engine.stop().then(() => {
    clearInterval(statusRefresh);
    if (statusTimer) clearTimeout(statusTimer);
    flushLogs();
    post({ type: 'status', status: engine.status() });
    post({ type: 'stopped' });
  });
});

log('debug', `TCP checks use ${tcpProbeKind}`, { probe: tcpProbeKind });
engine.start();
flushLogs();
post({ type: 'status', status: engine.status() });
post({ type: 'ready' });
