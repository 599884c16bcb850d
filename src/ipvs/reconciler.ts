// Keeps the kernel's IPVS table equal to the desired one.
//
// - Health changes arriving close together are coalesced into one `ipvsadm -R` batch. Only the
//   services that changed are diffed, against the reconciler's own picture of the table (updated
//   after each successful batch), so a change costs the same with 10 or 10,000 real servers.
// - A periodic re-read, running alongside the batches, replaces that picture and triggers a full
//   diff, so drift (an entry deleted by hand) is repaired. Services a batch touched while the
//   table was being read keep their post-batch picture, since the snapshot may predate the batch.
// - Failures are logged with the command and its stderr and retried with backoff: the picture is
//   dropped and the table read again. Nothing here throws to the caller.
import { applyToTable, diffTables, removalCommands } from './diff.js';
import type { IpvsBackend } from './ipvsadm.js';
import { IpvsadmError } from './ipvsadm.js';
import { parseIpvsadmSave } from './ipvsadm-parse.js';
import { serviceKey } from './model.js';
import type { IpvsService, IpvsTable } from './model.js';

export interface ReconcilerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type ReconcilerLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

export interface ReconcilerOptions {
  /** save() and restore() may run at the same time (a re-read next to a batch). */
  backend: IpvsBackend;
  timers: ReconcilerTimers;
  log: ReconcilerLog;
  /** Wait this long after a change for more changes before applying (ms). */
  coalesceMs?: number;
  /**
   * Re-read the kernel table this often (ms). A large table on a slow host is re-read less often:
   * at least READ_COST_FACTOR times the last read's duration apart.
   */
  resyncMs?: number;
  /** First retry delay after a failure (ms); doubles up to resyncMs. */
  retryMs?: number;
  /** Called after each sync and after each failure (status snapshots). */
  onSynced?: () => void;
}

export interface ReconcilerStatus {
  batchesApplied: number;
  commandsApplied: number;
  resyncs: number;
  /** Periodic re-reads skipped because the table's fingerprint had not changed. */
  resyncsSkipped: number;
  failures: number;
  lastError: { message: string; command: string | null; stderr: string | null; at: number } | null;
  lastSyncAt: number | null;
  lastRead: { at: number; durationMs: number } | null;
  lastBatch: { commands: number; at: number; durationMs: number } | null;
}

/** How long stop() waits for a batch in flight before removing the services anyway (ms). */
const STOP_WAIT_MS = 5000;

/** Re-reads take at most 1/READ_COST_FACTOR of the time. */
const READ_COST_FACTOR = 20;

export class Reconciler {
  private readonly o: Required<Omit<ReconcilerOptions, 'onSynced'>> & Pick<ReconcilerOptions, 'onSynced'>;
  private readonly desired = new Map<string, IpvsService>();
  /** Services whose desired state changed since the last batch; 'all' after a (re)read. */
  private dirty: Set<string> | 'all' = 'all';
  /** What we believe the kernel holds; null = unknown, read it before the next diff. */
  private cache: IpvsTable | null = null;
  private running: Promise<void> | null = null;
  private pending = false;
  private timer: unknown = null;
  private timerAt = Infinity;
  private resyncTimer: unknown = null;
  /** Keys of the batch being applied, if any. */
  private writingKeys: Set<string> | null = null;
  /** While a background read runs: keys batches have touched since it started. */
  private touchedDuringRead: Set<string> | null = null;
  private reading: Promise<void> | null = null;
  /** backend.fingerprint() of the table our picture was read from; null = unknown. */
  private fingerprint: string | null = null;
  private consecutiveFailures = 0;
  private stopped = false;
  private lastLoggedError = '';
  private lastLoggedErrorAt = -Infinity;
  private firstSyncDone!: () => void;
  /** Settles once the first sync has run, whether it worked or not. */
  readonly firstSync: Promise<void> = new Promise((r) => { this.firstSyncDone = r; });
  private readonly stats: ReconcilerStatus = {
    batchesApplied: 0, commandsApplied: 0, resyncs: 0, resyncsSkipped: 0, failures: 0, lastError: null, lastSyncAt: null,
    lastRead: null, lastBatch: null,
  };

  constructor(opts: ReconcilerOptions) {
    this.o = { coalesceMs: 5, resyncMs: 5000, retryMs: 500, ...opts };
  }

  /** The whole desired table (at start): every service hakeep manages. */
  setDesired(services: readonly IpvsService[]): void {
    this.desired.clear();
    for (const s of services) this.desired.set(serviceKey(s.addr), s);
    this.dirty = 'all';
    this.changed();
  }

  /** New desired state for some services (one virtual server's pool changed). */
  update(services: readonly IpvsService[]): void {
    for (const s of services) {
      const key = serviceKey(s.addr);
      this.desired.set(key, s);
      if (this.dirty !== 'all') this.dirty.add(key);
    }
    this.changed();
  }

  /** First sync right away (reads the kernel table), then periodic re-reads. */
  start(): void {
    this.schedule(0);
    this.armResync(this.o.resyncMs);
  }

  /** Something changed: apply soon, together with whatever else changes meanwhile. */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.schedule(this.o.coalesceMs);
  }

  /** Re-read the kernel table now, next to any batch (what the periodic resync does). */
  resync(): Promise<void> {
    this.stats.resyncs++;
    return this.backgroundRead();
  }

  status(): ReconcilerStatus {
    return { ...this.stats, lastError: this.stats.lastError && { ...this.stats.lastError } };
  }

  /** Wait for work in flight, then run one more sync now (tests). */
  async flush(): Promise<void> {
    if (this.reading) await this.reading;
    if (this.running) await this.running;
    this.clearTimer();
    await this.runOnce();
  }

  /**
   * Stop syncing and delete hakeep's services from the kernel (keepalived's behaviour on stop),
   * leaving every other service alone.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.firstSyncDone();
    this.clearTimer();
    if (this.resyncTimer !== null) this.o.timers.clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    // A batch in flight finishes first, unless ipvsadm hangs: then removal goes ahead anyway.
    if (this.running) await this.waitAtMost(this.running, STOP_WAIT_MS);
    try {
      await this.removeServices([...this.desired.values()]);
    } finally {
      this.o.backend.close?.();
    }
  }

  private waitAtMost(p: Promise<void>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.o.timers.setTimeout(resolve, ms);
      void p.finally(() => {
        this.o.timers.clearTimeout(t);
        resolve();
      });
    });
  }

  private async removeServices(remove: readonly IpvsService[]): Promise<void> {
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

  private armResync(delayMs: number): void {
    if (this.stopped) return;
    this.resyncTimer = this.o.timers.setTimeout(() => {
      this.resyncTimer = null;
      void this.resync().finally(() => {
        const cost = this.stats.lastRead?.durationMs ?? 0;
        this.armResync(Math.max(this.o.resyncMs, cost * READ_COST_FACTOR));
      });
    }, delayMs);
  }

  private async readTable(): Promise<IpvsTable> {
    const started = this.o.timers.now();
    const { table, errors } = parseIpvsadmSave(await this.o.backend.save());
    if (errors.length > 0) this.o.log('warn', `IPVS: could not read ${errors.length} line(s) of ipvsadm -S -n output`, { errors: errors.slice(0, 5) });
    const now = this.o.timers.now();
    this.stats.lastRead = { at: now, durationMs: now - started };
    return table;
  }

  /** Take a fresh picture of the kernel table without holding up batches. */
  private backgroundRead(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reading) return this.reading;
    if (this.cache === null) {
      // The next sync reads the table anyway.
      this.changed();
      return Promise.resolve();
    }
    this.touchedDuringRead = new Set(this.writingKeys ?? []);
    this.reading = (async () => {
      try {
        const fp = (await this.o.backend.fingerprint?.()) ?? null;
        if (fp !== null && fp === this.fingerprint && this.touchedDuringRead!.size === 0 && this.writingKeys === null) {
          this.stats.resyncsSkipped++;
          return;
        }
        const snapshot = await this.readTable();
        if (this.stopped || this.cache === null) return;
        // Our own batches change the table too: trust the fingerprint only for an undisturbed read.
        this.fingerprint = this.touchedDuringRead!.size === 0 && this.writingKeys === null ? fp : null;
        // Services a batch touched meanwhile keep the picture the batch left (or will leave).
        for (const key of this.touchedDuringRead!) {
          const mine = this.cache.get(key);
          if (mine) snapshot.set(key, mine);
          else snapshot.delete(key);
        }
        this.cache = snapshot;
        this.dirty = 'all';
        this.o.log('debug', `IPVS: table re-read (${Math.round(this.stats.lastRead!.durationMs)} ms)`, {});
        this.changed();
      } catch {
        // The regular path reads again, reports and backs off.
        this.cache = null;
        this.changed();
      } finally {
        this.touchedDuringRead = null;
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private runOnce(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.pending = false;
    const p = this.sync().finally(() => {
      this.running = null;
      this.firstSyncDone();
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
      const fullRead = this.cache === null;
      if (this.cache === null) {
        const fp = (await this.o.backend.fingerprint?.()) ?? null;
        const table = await this.readTable();
        if (this.stopped) return;
        this.cache = table;
        this.fingerprint = fp;
        this.dirty = 'all';
      }
      const dirty = this.dirty;
      this.dirty = new Set();
      const keys = dirty === 'all' ? [...this.desired.keys()] : [...dirty];
      const want = keys.map((k) => this.desired.get(k)!);
      cmds = diffTables(want, this.cache);
      if (cmds.length > 0) {
        const keySet = new Set(keys);
        this.writingKeys = keySet;
        if (this.touchedDuringRead) for (const k of keys) this.touchedDuringRead.add(k);
        // The table changes now: the next periodic re-read must really read it.
        this.fingerprint = null;
        try {
          await this.o.backend.restore(cmds);
        } finally {
          this.writingKeys = null;
        }
        // A re-read may have replaced the picture meanwhile; these services are ours either way.
        if (this.cache !== null) this.cache = applyToTable(this.cache, want);
        const now = this.o.timers.now();
        this.stats.batchesApplied++;
        this.stats.commandsApplied += cmds.length;
        this.stats.lastBatch = { commands: cmds.length, at: now, durationMs: now - started };
        this.o.log('debug', `IPVS: applied ${cmds.length} change(s) in one ipvsadm -R batch (${Math.round(now - started)} ms${fullRead ? ', table read first' : ''})`, { commands: cmds.slice(0, 20) });
      }
      this.stats.lastSyncAt = this.o.timers.now();
      if (this.consecutiveFailures > 0) this.o.log('info', 'IPVS: ipvsadm works again; table in sync', {});
      this.consecutiveFailures = 0;
      this.lastLoggedError = '';
      this.o.onSynced?.();
    } catch (e) {
      this.cache = null;
      this.dirty = 'all';
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
    // A single failure is usually the table changing under us (an entry edited by hand between our
    // read and our batch); the retry re-reads and repairs it. A failure that persists is an error.
    const level = stopping || this.consecutiveFailures > 1 ? 'error' : 'warn';
    const key = `${level}:${message}`;
    if (!stopping && key === this.lastLoggedError && now - this.lastLoggedErrorAt < 60_000) return;
    this.lastLoggedError = key;
    this.lastLoggedErrorAt = now;
    const what = stopping ? 'could not remove IPVS services on stop' : 'could not update the IPVS table; will retry';
    this.o.log(level, `IPVS: ${what}: ${message}`, {
      command: err?.command ?? null, stderr: err?.stderr ?? null, batch: cmds.slice(0, 20), batchSize: cmds.length,
    });
  }
}
