// Messages between the checker supervisor (in the daemon, src/check/service.ts) and the checker
// child process (src/check/child.ts), over the IPC channel of child_process.fork with advanced
// serialization (structured clone).
import type { Config } from '../config/model.js';
import type { CheckSummary } from '../daemon/check-summary.js';
import type { DrainKey } from '../daemon/drain.js';
import type { ReconcilerStatus } from '../ipvs/reconciler.js';
import type { EngineAlert, LogLevel } from './engine.js';

export interface ChildInit {
  type: 'init';
  /** The configuration; null when it comes as configV8. */
  config: Config | null;
  /** The configuration as v8.serialize wrote it: the daemon serialises it once per configuration
   * instead of cloning the object on every (re)start of the child (src/check/service.ts). */
  configV8?: Uint8Array | null;
  ipvsadmPath: string;
  resyncMs: number;
  statusIntervalMs: number;
  /** 1 for the first child, one more for every restart. */
  generation: number;
  /** Last known alive state per real server (engine.ts rsKey → alive); empty on the first start. */
  initialHealth: [string, boolean][];
  /** Real servers drained by hand (`hakeep rs drain`): weight pinned at 0. */
  drained: DrainKey[];
  /** -I (--dont-release-ipvs): stop leaves the IPVS table as it is. */
  dontReleaseIpvs: boolean;
  /** The owned-services record (services hakeep created); null = kept in memory only. */
  ownedPath: string | null;
  /** E-mail alerts are configured: report their facts ('alerts'); the daemon sends the mail. */
  alerts?: boolean;
}

export type ToChild =
  | ChildInit
  /** The whole set of drained real servers, after `hakeep rs drain|enable`. */
  | { type: 'drained'; keys: DrainKey[] }
  /** Stop checking, run the omega notifiers, leave the IPVS table as the stop mode says. */
  | { type: 'stop' }
  /** Reload (SIGHUP): apply this validated configuration without disruption; answered by 'reloaded'. */
  | { type: 'reload'; id: number; config: Config }
  /** What a reload to this configuration would do (`hakeep plan`); answered by 'planned'. */
  | { type: 'plan'; id: number; config: Config };

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

export type FromChild =
  /** The engine runs (its first IPVS sync is under way). */
  | { type: 'ready'; probe: string }
  /** Sent from the child's event loop every heartbeatMs (the child's first argument, so beats
   * start before the engine loads): a hung loop stops them. */
  | { type: 'heartbeat'; /** Date.now() when sent: the daemon tells a slow channel from a stuck loop. */ sentAt?: number }
  /** At most LOG_BATCH records per message, so one message never holds the daemon's loop long. */
  | { type: 'log'; records: LogRecord[] }
  /** The full CheckStatus as JSON: the daemon keeps the text and parses it only when asked. */
  | { type: 'status'; json: string; summary?: CheckSummary }
  /** Soon after every health or IPVS change: the reconciler's status, whether ipvsadm refuses every
   * configured service, and the real servers whose alive state changed since the last one (all of
   * them in the first). */
  | { type: 'state'; ipvs: ReconcilerStatus; allRefused: boolean; alive: [string, boolean][] }
  /** Facts for e-mail alerts (only with init.alerts), in the order they happened. */
  | { type: 'alerts'; events: EngineAlert[] }
  /** An uncaught error; the child exits right after. */
  | { type: 'fatal'; what: string; message: string; stack: string }
  /** stop is done: omega notifiers ran and the services are handled; the child exits next. */
  | { type: 'stopped' }
  /** The answers to 'reload' and 'plan': the plan's lines (src/ipvs/reload-plan.ts). */
  | { type: 'reloaded'; id: number; lines: string[] }
  | { type: 'planned'; id: number; lines: string[] };

/** Log records per 'log' message. */
export const LOG_BATCH = 500;

/** The child's link to the daemon, as child.ts hands it to the engine wiring (child-engine.ts). */
export interface ChildIo {
  send(msg: FromChild, cb?: () => void): void;
  /** Send a last message, then exit with `code`. */
  sendThenExit(msg: FromChild, code: number): void;
  log(level: LogLevel, msg: string, fields: Record<string, unknown>): void;
  /** Send the log lines waiting now. */
  flushLogs(): void;
}
