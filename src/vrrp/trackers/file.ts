// track_file: a file holding a number, watched with inotify (fs.watch on its directory, so a file
// that is replaced by rename, deleted or created later is still followed). keepalived's rules
// (trackers/track_file.c, 2.2.7):
//   - the value is read as C's strtol(text, NULL, 0) reads it (first 127 bytes; leading blanks,
//     a sign, 0x… hex, 0… octal; text that is not a number reads as 0); a value outside
//     [-2^31, 2^31] is logged "Invalid number N read from PATH - ignoring" and the previous value
//     stays (track_file.c:660-690);
//   - a missing, deleted or moved-away file counts as 0 (track_file.c:748-754);
//   - weight 0: a non-zero value means FAULT (with reverse: zero means FAULT);
//     otherwise value × weight (× -1 with reverse), clamped to -254..253, is added to the
//     priority, and -254 (or less) means FAULT (track_file.c:532-578, 629-647);
//   - the path is resolved (symlinks) at start; a directory that does not exist removes the
//     tracker ("Track file directory for X does not exist - removing", track_file.c:836-842);
//   - init_file writes VALUE (default 0) at start when the file is missing, or always with
//     overwrite, but never over a file on reload (track_file.c:340-394).
// keepalived reads on IN_CLOSE_WRITE; fs.watch reports every write, so reads wait until the
// file has been quiet for a few milliseconds (a truncate-then-write is then read once, whole).
import { closeSync, existsSync, openSync, readSync, realpathSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { VrrpTrackFile } from '../../config/model.js';
import {
  bindingStatus, Publisher, type Binding, type Effect, type FileTrackStatus, type TrackerContext,
} from './types.js';

export type FileValue = { ok: true; value: number } | { ok: false; text: string };

const INT32_MIN = -2147483648;
const INT32_MAX_PLUS_1 = 2147483648;

/** C's strtol(text, NULL, 0) as keepalived reads a track file, with its range check. */
export function parseTrackFileValue(text: string): FileValue {
  let i = 0;
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i]!)) i++;
  let neg = false;
  if (text[i] === '+' || text[i] === '-') {
    neg = text[i] === '-';
    i++;
  }
  let base = 10;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (text[i] === '0') {
    base = 8;
  }
  let v = 0n;
  const start = i;
  for (; i < text.length; i++) {
    const d = parseInt(text[i]!, 36);
    if (Number.isNaN(d) || d >= base) break;
    v = v * BigInt(base) + BigInt(d);
  }
  if (i === start) return { ok: true, value: 0 };
  if (neg) v = -v;
  // strtol saturates with ERANGE beyond 64 bits; keepalived then refuses the value, as it does
  // anything outside [INT32_MIN, INT32_MAX + 1].
  if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX_PLUS_1)) return { ok: false, text: v.toString() };
  return { ok: true, value: Number(v) };
}

/** What a value means for one binding (track_file.c:532-578, 629-647). */
export function fileEffect(value: number, b: Pick<Binding, 'weight' | 'reverse'>): Effect & { status: number } {
  const m = b.reverse ? -1 : 1;
  if (b.weight === 0) {
    const fault = (value !== 0) === (m === 1);
    return { fault, weight: 0, status: fault ? -254 : 0 };
  }
  const status = Math.min(253, Math.max(-254, value * b.weight * m));
  return status === -254 ? { fault: true, weight: 0, status } : { fault: false, weight: status, status };
}

export interface FileTrackerOptions {
  /** A reload: init_file does not overwrite. */
  reload?: boolean;
  /** Quiet time before a changed file is read (ms, default 20). */
  settleMs?: number;
  /** Retry interval after the directory watch failed (ms, default 5000). */
  retryMs?: number;
}

export class FileTracker {
  private path: string;
  private value = 0;
  private active = false;
  private watcher: FSWatcher | null = null;
  private settle: unknown = null;
  private retry: unknown = null;
  private stopped = false;
  private readonly pub: Publisher;

  constructor(
    readonly def: VrrpTrackFile,
    readonly bindings: readonly Binding[],
    private readonly ctx: TrackerContext,
    private readonly opts: FileTrackerOptions = {},
  ) {
    this.path = resolve(def.file);
    this.pub = new Publisher(ctx, 'file', def.name, `file:${def.name}`);
  }

  start(): void {
    this.initFile();
    const dir = dirname(this.path);
    try {
      this.path = existsSync(this.path) ? realpathSync(this.path) : join(realpathSync(dir), basename(this.path));
      if (!statSync(dirname(this.path)).isDirectory()) throw new Error('not a directory');
    } catch {
      this.ctx.log.error({ trackFile: this.def.name, path: this.def.file }, `Track file directory for ${this.def.name} does not exist - removing: ${dir} is not a directory. Create it (the file itself may come later), or fix the file line (${this.def.loc.file}:${this.def.loc.line})`);
      return;
    }
    this.active = true;
    this.watchDir();
    const v = this.readValue();
    if (v !== null) this.value = v;
    for (const b of this.bindings) {
      const e = this.publish(b);
      if (e.fault) this.ctx.log.info({ instance: b.instance, trackFile: this.def.name }, `(${b.instance}): entering FAULT state (tracked file ${this.def.name} has status ${e.status})`);
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.settle !== null) this.ctx.timers.clearTimeout(this.settle);
    if (this.retry !== null) this.ctx.timers.clearTimeout(this.retry);
    this.settle = this.retry = null;
    this.pub.withdraw();
  }

  status(): FileTrackStatus {
    return {
      name: this.def.name, path: this.path, value: this.value, watching: this.watcher !== null,
      bindings: this.bindings.map((b) => bindingStatus(b, this.pub)),
    };
  }

  /** Read the file now and publish what changed (also what the watch calls after settling). */
  refresh(): void {
    if (this.stopped || !this.active) return;
    const v = this.readValue();
    if (v === null || v === this.value) return;
    this.ctx.log.info({ trackFile: this.def.name, from: this.value, to: v }, `track_file ${this.def.name}: ${this.path} now holds ${v} (was ${this.value})`);
    this.value = v;
    for (const b of this.bindings) this.publish(b);
  }

  private publish(b: Binding): Effect & { status: number } {
    const e = fileEffect(this.value, b);
    this.pub.publish(b, e.fault ? `has status ${e.status} (value ${this.value})` : null, e.weight);
    return e;
  }

  /** null = keep the previous value (an invalid number). */
  private readValue(): number | null {
    let text = '';
    try {
      const fd = openSync(this.path, 'r');
      try {
        const buf = Buffer.alloc(127);
        const n = readSync(fd, buf, 0, buf.length, null);
        text = buf.subarray(0, n).toString('latin1');
      } finally {
        closeSync(fd);
      }
    } catch {
      return 0; // missing, unreadable or a directory: keepalived's open() fails and it uses 0
    }
    const v = parseTrackFileValue(text);
    if (v.ok) return v.value;
    this.ctx.log.warn({ trackFile: this.def.name, path: this.path }, `Invalid number ${v.text} read from ${this.path} - ignoring (keeping ${this.value}); write a number between -2147483648 and 2147483648`);
    return null;
  }

  private watchDir(): void {
    const dir = dirname(this.path);
    const base = basename(this.path);
    try {
      this.watcher = watch(dir, { persistent: false }, (_type, filename) => {
        if (filename !== null && filename !== base) return;
        this.schedule();
      });
      this.watcher.on('error', (err) => {
        this.watcher?.close();
        this.watcher = null;
        this.ctx.log.warn({ trackFile: this.def.name, err: err.message }, `track_file ${this.def.name}: watching ${dir} failed (${err.message}); the file counts as 0 and the watch is retried`);
        this.schedule();
        this.retryLater();
      });
    } catch (e) {
      this.watcher = null;
      this.ctx.log.warn({ trackFile: this.def.name, err: (e as Error).message }, `track_file ${this.def.name}: cannot watch ${dir} (${(e as Error).message}); retrying`);
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (this.stopped || this.retry !== null) return;
    this.retry = this.ctx.timers.setTimeout(() => {
      this.retry = null;
      if (this.stopped) return;
      this.watchDir();
      this.refresh();
    }, this.opts.retryMs ?? 5000);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.settle !== null) this.ctx.timers.clearTimeout(this.settle);
    this.settle = this.ctx.timers.setTimeout(() => {
      this.settle = null;
      this.refresh();
    }, this.opts.settleMs ?? 20);
  }

  private initFile(): void {
    const init = this.def.initFile;
    if (!init) return;
    try {
      if (existsSync(this.path)) {
        if (!init.overwrite || this.opts.reload) return;
        if (!statSync(this.path).isFile()) {
          this.ctx.log.error({ trackFile: this.def.name }, `Cannot initialise track file ${this.def.name} - it is not a regular file (${this.path})`);
          return;
        }
      }
      writeFileSync(this.path, `${init.value}\n`);
    } catch (e) {
      this.ctx.log.error({ trackFile: this.def.name, err: (e as Error).message }, `Unable to initialise track file ${this.def.name}: ${(e as Error).message} (${this.path})`);
    }
  }
}
