// FILE_CHECK: a real server follows a top-level track_file (check_file.c, trackers/track_file.c).
// The file holds a number, read as C's strtol reads it (vrrp/trackers/file.ts parseTrackFileValue);
// it is watched (inotify via fs.watch on its directory), not polled. With weight 0, a non-zero
// value (zero with `reverse`) takes the server down; otherwise value × weight (× -1 with reverse)
// is added to the server's weight (keepalived's cur_weight), and a result at or below
// -2147483648 (IPVS_WEIGHT_FAULT) takes it down (track_file.c:588-624). The weight is
// FILE_CHECK's own `weight`, else the track_file's. No log lines of its own: the pool's "Adding",
// "Removing" and "Changing weight" lines say what happened, as in keepalived.
import { closeSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { FileCheck, VrrpTrackFile } from '../config/model.js';
import { parseTrackFileValue } from '../vrrp/trackers/file.js';
import type { AttemptDone, CheckerRuntime, CheckStep } from './checker.js';

const WEIGHT_FAULT = -2147483648;

/** The status a value gives (track_file.c:629-647): WEIGHT_FAULT = down, else the weight to add. */
export function fileCheckStatus(value: number, weight: number, reverse: boolean): number {
  const m = reverse ? -1 : 1;
  if (weight === 0) return (value !== 0) === (m === 1) ? WEIGHT_FAULT : 0;
  return Math.max(WEIGHT_FAULT, Math.min(2147483647, value * weight * m));
}

/** Reads a track file: 0 when missing (track_file.c:748-754); null = an invalid number (kept). */
export function readTrackFile(path: string): { value: number } | { invalid: string } {
  let text = '';
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(127);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, null)).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return { value: 0 };
  }
  const v = parseTrackFileValue(text);
  return v.ok ? { value: v.value } : { invalid: v.text };
}

export interface FileCheckerCtx {
  rsName: string;
  file: VrrpTrackFile;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  /** Quiet time before a changed file is read (ms): a truncate-then-write is read once, whole. */
  settleMs?: number;
}

export class FileChecker implements CheckerRuntime {
  readonly type = 'FILE_CHECK' as const;
  readonly target: string;
  readonly timeoutMs = null;
  lastActivity = 0;
  curWeight = 0;
  private isUp = true;
  private value = 0;
  private readonly weight: number;
  private readonly reverse: boolean;
  private readonly path: string;

  constructor(readonly check: FileCheck, private readonly ctx: FileCheckerCtx) {
    this.path = resolve(ctx.file.file);
    this.target = this.path;
    this.weight = check.weight ?? ctx.file.weight;
    this.reverse = check.weightReverse ?? ctx.file.weightReverse;
    // check_file.c:180-230: the state is known at start (no alpha, has run).
    this.apply(this.read() ?? 0);
  }

  get up(): boolean {
    return this.isUp;
  }

  private read(): number | null {
    const r = readTrackFile(this.path);
    if ('value' in r) return r.value;
    this.ctx.log('warn', `Invalid number ${r.invalid} read from ${this.path} - ignoring (keeping ${this.value}); write a number between -2147483648 and 2147483648`, { rs: this.ctx.rsName });
    return null;
  }

  /** Take a value; returns the step it implies. */
  private apply(value: number): CheckStep {
    this.value = value;
    const status = fileCheckStatus(value, this.weight, this.reverse);
    let change: CheckStep['change'] = null;
    let weightChanged = false;
    if (status === WEIGHT_FAULT) {
      if (this.isUp) change = 'down';
      this.isUp = false;
      if (this.curWeight !== 0) weightChanged = true;
      this.curWeight = 0;
    } else {
      if (!this.isUp) change = 'up';
      this.isUp = true;
      if (this.curWeight !== status) weightChanged = true;
      this.curWeight = status;
    }
    return { delay: 0, change, logs: [], ...(weightChanged ? { weightChanged } : {}) };
  }

  start(_done: AttemptDone): () => void {
    return () => {};
  }

  timeoutDetail(): string {
    return '';
  }

  result(): CheckStep {
    return { delay: 0, change: null, logs: [] };
  }

  resume(): void {
    // The file says what it says: nothing to resume.
  }

  watch(emit: (step: CheckStep) => void): () => void {
    let settle: NodeJS.Timeout | null = null;
    let retry: NodeJS.Timeout | null = null;
    let watcher: FSWatcher | null = null;
    let stopped = false;
    const refresh = (): void => {
      if (stopped) return;
      const v = this.read();
      if (v === null || v === this.value) return;
      const step = this.apply(v);
      if (step.change !== null || step.weightChanged) emit(step);
    };
    const arm = (): void => {
      if (stopped) return;
      try {
        const base = basename(this.path);
        watcher = watch(dirname(this.path), { persistent: false }, (_t, name) => {
          if (name !== null && name !== base) return;
          if (settle) clearTimeout(settle);
          settle = setTimeout(() => { settle = null; refresh(); }, this.ctx.settleMs ?? 20);
        });
        watcher.on('error', () => { watcher?.close(); watcher = null; retry = setTimeout(() => { retry = null; arm(); refresh(); }, 5000); });
      } catch (e) {
        this.ctx.log('warn', `FILE_CHECK on ${this.ctx.rsName}: cannot watch ${dirname(this.path)} (${(e as Error).message}); retrying every 5 s`, { rs: this.ctx.rsName });
        retry = setTimeout(() => { retry = null; arm(); refresh(); }, 5000);
      }
    };
    arm();
    // A change between construction and the watch.
    refresh();
    return () => {
      stopped = true;
      watcher?.close();
      if (settle) clearTimeout(settle);
      if (retry) clearTimeout(retry);
    };
  }
}
