// Keeps the kernel's IPVS table equal to the desired one. Health changes arriving close together
// are coalesced into one `ipvsadm -R` batch; between full re-reads the reconciler trusts its own
// picture of the table (updated after each successful batch), and a periodic resync re-reads the
// kernel so an entry deleted by hand comes back. Failures are logged with the command and its
// stderr and retried with backoff; nothing here ever throws to the caller.
import { applyToTable, diffTables, removalCommands } from './diff.js';
import type { IpvsBackend } from './ipvsadm.js';
import { IpvsadmError } from './ipvsadm.js';
import { parseIpvsadmSave } from './ipvsadm-parse.js';
import type { IpvsService, IpvsTable } from './model.js';

export interface ReconcilerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type ReconcilerLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

export interface ReconcilerOptions {
  backend: IpvsBackend;
  /** The full desired table for the configured services, computed on demand. */
  desired: () => IpvsService[];
  timers: ReconcilerTimers;
  log: ReconcilerLog;
  /** Wait this long after a change for more changes before applying (ms). */
  coalesceMs?: number;
  /** Re-read the kernel table this often (ms). */
  resyncMs?: number;
  /** First retry delay after a failure (ms); doubles up to resyncMs. */
  retryMs?: number;
  /** Called after each successful batch and after each failure (status snapshots). */
  onSynced?: () => void;
}

export interface ReconcilerStatus {
  batchesApplied: number;
  commandsApplied: number;
  resyncs: number;
  failures: number;
  lastError: { message: string; command: string | null; stderr: string | null; at: number } | null;
  lastSyncAt: number | null;
  lastBatch: { commands: number; at: number; durationMs: number } | null;
}

export class Reconciler {
  private readonly o: Required<Omit<ReconcilerOptions, 'onSynced'>> & Pick<ReconcilerOptions, 'onSynced'>;
  private cache: IpvsTable | null = null;
  private running: Promise<void> | null = null;
  private pending = false;
  private timer: unknown = null;
  private timerAt = Infinity;
  private resyncTimer: unknown = null;
  private consecutiveFailures = 0;
  private stopped = false;
  private lastLoggedError = '';
  private lastLoggedErrorAt = -Infinity;
  private readonly stats: ReconcilerStatus = {
    batchesApplied: 0, commandsApplied: 0, resyncs: 0, failures: 0, lastError: null, lastSyncAt: null, lastBatch: null,
  };

  constructor(opts: ReconcilerOptions) {
    this.o = { coalesceMs: 20, resyncMs: 5000, retryMs: 500, ...opts };
  }

  /** First sync right away (reads the kernel table), then periodic resyncs. */
  start(): void {
    this.schedule(0);
    this.armResync();
  }

  /** The desired table changed: apply soon, together with whatever else changes meanwhile. */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.schedule(this.o.coalesceMs);
  }

  /** Re-read the kernel table at the next run instead of trusting the cached picture. */
  invalidate(): void {
    this.cache = null;
  }

  status(): ReconcilerStatus {
    return { ...this.stats, lastError: this.stats.lastError && { ...this.stats.lastError } };
  }

  /** Wait for any batch in flight, then run one more sync now (tests and shutdown paths). */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    this.clearTimer();
    await this.runOnce();
  }

  /**
   * Stop syncing and delete the given services from the kernel (keepalived's behaviour on stop),
   * leaving every other service alone.
   */
  async stop(remove: readonly IpvsService[]): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    if (this.resyncTimer !== null) this.o.timers.clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    if (this.running) await this.running;
    if (remove.length === 0) return;
    try {
      const observed = parseIpvsadmSave(await this.o.backend.save()).table;
      const cmds = removalCommands(remove, observed);
      if (cmds.length > 0) await this.o.backend.restore(cmds);
      this.o.log('debug', `IPVS: removed ${cmds.length} service(s) on stop`, { commands: cmds });
    } catch (e) {
      this.reportError(e, true);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = this.o.timers.now() + delayMs;
    if (this.timer !== null) {
      if (this.timerAt <= at) return;
      this.o.timers.clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = this.o.timers.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.runOnce();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.o.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private armResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.o.timers.setTimeout(() => {
      this.resyncTimer = null;
      this.cache = null;
      this.stats.resyncs++;
      this.armResync();
      if (this.running) this.pending = true;
      else this.schedule(0);
    }, this.o.resyncMs);
  }

  private runOnce(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.pending = false;
    const p = this.sync().finally(() => {
      this.running = null;
      if (this.pending && !this.stopped) {
        this.pending = false;
        this.schedule(this.o.coalesceMs);
      }
    });
    this.running = p;
    return p;
  }

  private async sync(): Promise<void> {
    const started = this.o.timers.now();
    let cmds: string[] = [];
    try {
      if (this.cache === null) {
        const { table, errors } = parseIpvsadmSave(await this.o.backend.save());
        if (errors.length > 0) this.o.log('warn', `IPVS: could not read ${errors.length} line(s) of ipvsadm -S -n output`, { errors: errors.slice(0, 5) });
        this.cache = table;
      }
      if (this.stopped) return;
      const desired = this.o.desired();
      cmds = diffTables(desired, this.cache);
      if (cmds.length > 0) {
        // Until ipvsadm answers, the kernel state is unknown: re-read next time if it fails.
        const before = this.cache;
        this.cache = null;
        await this.o.backend.restore(cmds);
        this.cache = applyToTable(before, desired);
        const now = this.o.timers.now();
        this.stats.batchesApplied++;
        this.stats.commandsApplied += cmds.length;
        this.stats.lastBatch = { commands: cmds.length, at: now, durationMs: now - started };
        this.o.log('debug', `IPVS: applied ${cmds.length} change(s) in one ipvsadm -R batch`, { commands: cmds.slice(0, 20) });
      }
      this.stats.lastSyncAt = this.o.timers.now();
      if (this.consecutiveFailures > 0) this.o.log('info', 'IPVS: ipvsadm works again; table in sync', {});
      this.consecutiveFailures = 0;
      this.lastLoggedError = '';
      this.o.onSynced?.();
    } catch (e) {
      this.cache = null;
      this.consecutiveFailures++;
      this.reportError(e, false, cmds);
      const delay = Math.min(this.o.retryMs * 2 ** (this.consecutiveFailures - 1), this.o.resyncMs);
      this.schedule(delay);
      this.o.onSynced?.();
    }
  }

  private reportError(e: unknown, stopping: boolean, cmds: string[] = []): void {
    const err = e instanceof IpvsadmError ? e : null;
    const message = e instanceof Error ? e.message : String(e);
    const now = this.o.timers.now();
    this.stats.failures++;
    this.stats.lastError = { message, command: err?.command ?? null, stderr: err?.stderr ?? null, at: now };
    // Repeat an unchanged error at most once a minute; retries continue silently meanwhile.
    if (!stopping && message === this.lastLoggedError && now - this.lastLoggedErrorAt < 60_000) return;
    this.lastLoggedError = message;
    this.lastLoggedErrorAt = now;
    const what = stopping ? 'could not remove IPVS services on stop' : 'could not update the IPVS table; will retry';
    this.o.log('error', `IPVS: ${what}: ${message}`, {
      command: err?.command ?? null, stderr: err?.stderr ?? null, batch: cmds.slice(0, 20), batchSize: cmds.length,
    });
  }
}
