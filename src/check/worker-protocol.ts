// Messages between the checker service (main thread) and its worker thread.
import type { Config } from '../config/model.js';
import type { CheckStatus, LogLevel } from './engine.js';

export interface WorkerInit {
  config: Config;
  ipvsadmPath: string;
  resyncMs: number;
  statusIntervalMs: number;
}

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

export type ToMain =
  | { type: 'ready' }
  | { type: 'log'; records: LogRecord[] }
  | { type: 'status'; status: CheckStatus }
  | { type: 'stopped' };

export type ToWorker = { type: 'stop' };
