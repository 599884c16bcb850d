// Messages between the runner (parent) and the spawner process, over the fork() IPC channel.
import type { ExecOutcome, ExecRequest, ExecutorConfig } from './executor.js';
import type { ScriptLogLevel } from './types.js';

export type ToSpawner =
  | { t: 'init'; cfg: ExecutorConfig }
  | { t: 'run'; req: ExecRequest }
  | { t: 'close' };

/** One output line: job id, 0 = stdout / 1 = stderr, text. */
export type LineRecord = [number, 0 | 1, string];

export type FromSpawner =
  | { t: 'ready' }
  | { t: 'started'; id: number; pid: number }
  | { t: 'lines'; lines: LineRecord[] }
  | { t: 'log'; level: ScriptLogLevel; msg: string; fields: Record<string, unknown>; once?: string }
  | { t: 'done'; id: number; outcome: ExecOutcome }
  | { t: 'closed' };
