// The checker half of the daemon, seen from the main thread: it starts the worker thread that runs
// the checks and the IPVS reconciler, relays its log lines to the daemon's logger, keeps the
// latest status snapshot, restarts the worker if it dies, and stops it on SIGTERM.
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { RunningService, StartService } from '../daemon/service.js';
import type { CheckStatus } from './engine.js';
import type { LogRecord, ToMain, ToWorker, WorkerInit } from './worker-protocol.js';

/** Log lines relayed per main-thread turn: a burst (10,000 first checks) never stalls VRRP timers. */
const LOG_SLICE = 200;
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 30_000;

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Knobs for tests and unusual hosts; documented in docs/ipvs.md. */
function workerInit(config: Config): WorkerInit {
  return {
    config,
    ipvsadmPath: process.env.HAKEEP_IPVSADM || 'ipvsadm',
    resyncMs: envNumber('HAKEEP_IPVS_RESYNC_MS', 5000),
    statusIntervalMs: envNumber('HAKEEP_CHECK_STATUS_MS', 500),
  };
}

class LogRelay {
  private queue: LogRecord[] = [];
  private scheduled = false;

  constructor(private readonly log: Logger) {}

  push(records: LogRecord[]): void {
    for (const r of records) this.queue.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  drainAll(): void {
    while (this.queue.length > 0) this.write(this.queue.shift()!);
  }

  private drain(): void {
    this.scheduled = false;
    for (let i = 0; i < LOG_SLICE && this.queue.length > 0; i++) this.write(this.queue.shift()!);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private write(r: LogRecord): void {
    this.log[r.level](r.fields, r.msg);
  }
}

export const startCheckerService: StartService = async (config, { log }) => {
  const relay = new LogRelay(log);
  const init = workerInit(config);
  let snapshot: CheckStatus | null = null;
  let worker: Worker | null = null;
  let stopping = false;
  let restarts = 0;
  let onStopped: (() => void) | null = null;

  const spawnWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      worker = w;
      let ready = false;
      w.on('message', (m: ToMain) => {
        switch (m.type) {
          case 'ready': ready = true; resolve(); break;
          case 'log': relay.push(m.records); break;
          case 'status': snapshot = m.status; break;
          case 'stopped': onStopped?.(); break;
        }
      });
      w.on('error', (e) => {
        log.error({ err: e.stack ?? String(e) }, `Healthcheck worker failed: ${e.message}`);
        if (!ready) reject(e);
      });
      w.on('exit', (code) => {
        if (worker === w) worker = null;
        if (stopping) {
          onStopped?.();
          return;
        }
        if (!ready) return;
        // The kernel keeps its IPVS table meanwhile; the new worker re-reads and reconciles it.
        restarts++;
        log.error({ code, restarts }, `Healthcheck worker exited unexpectedly (code ${code}); restarting it in ${RESTART_DELAY_MS} ms`);
        setTimeout(() => {
          if (!stopping) spawnWorker().catch((e: Error) => log.error({}, `Healthcheck worker could not restart: ${e.message}`));
        }, RESTART_DELAY_MS);
      });
    });

  await spawnWorker();

  return {
    name: 'check',
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      const w = worker;
      if (w) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            log.error({}, `Healthcheck worker did not stop within ${STOP_TIMEOUT_MS} ms; terminating it`);
            resolve();
          }, STOP_TIMEOUT_MS);
          onStopped = () => {
            clearTimeout(timer);
            resolve();
          };
          w.postMessage({ type: 'stop' } satisfies ToWorker);
        });
        await w.terminate();
      }
      relay.drainAll();
    },
    status(): unknown {
      return { name: 'check', workerRestarts: restarts, ...(snapshot ?? { virtualServers: [], checks: null, ipvs: null }) };
    },
  } satisfies RunningService;
};
