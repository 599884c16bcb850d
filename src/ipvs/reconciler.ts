// Keeps the kernel's IPVS table equal to the desired one.
//
// - Health changes arriving close together are coalesced into one `ipvsadm -R` batch. Only the
//   services that changed are diffed, against the reconciler's own picture of the table (updated
//   after each successful batch), so a change costs the same with 10 or 10,000 real servers.
// - A periodic re-read, running alongside the batches, replaces that picture and triggers a full
//   diff, so drift (an entry deleted by hand) is repaired. Services a batch touched while the
//   table was being read keep their post-batch picture, since the snapshot may predate the batch.
// - A batch ipvsadm rejects is split: the table is read again, the remaining work re-planned and
//   applied in halves by service, then command by command within a service, so the commands it
//   refuses are isolated and every other service converges. A refused service is logged once (its
//   config, the command, ipvsadm's message), listed in status() and retried with its own backoff.
// - Failures of ipvsadm itself (missing, IPVS not in the kernel) are logged and retried with
//   backoff: the picture is dropped and the table read again. Nothing here throws to the caller.
// - The services it manages are recorded (owned.ts), so those dropped from the config are removed
//   at the next start; stop() removes, keeps (dont_release_ipvs) or flushes (lvs_flush_on_stop).
import { applyOps, diffService } from './diff.js';
import type { IpvsOp } from './diff.js';
import { applyIsolating, byService } from './isolate.js';
import type { IsolationHost } from './isolate.js';
import type { IpvsBackend } from './ipvsadm.js';
import { IpvsadmError } from './ipvsadm.js';
import { parseIpvsadmSave } from './ipvsadm-parse.js';
import { destKey, serviceKey } from './model.js';
import type { IpvsDest, IpvsService, IpvsServiceAddr, IpvsTable } from './model.js';
import type { OwnedStore } from './owned.js';
import { RefusedServices } from './refused.js';
import type { FailingService } from './refused.js';

export type { FailingService } from './refused.js';

export interface ReconcilerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type ReconcilerLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

/**
 * What stop() does with the IPVS table, as keepalived does at exit (check_daemon.c:247-248,
 * ipwrapper.c:323-395):
 * - 'remove' (default; also `lvs_flush_on_stop VS`): delete the configured services, nothing else;
 * - 'keep' (`-I`/`--dont-release-ipvs`): leave the table exactly as it is, for the next start to adopt;
 * - 'flush' (`lvs_flush_on_stop` without an argument): flush the whole table, hand-made services too.
 */
export type StopMode = 'remove' | 'keep' | 'flush';

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
  /** First retry delay after a failure (ms); doubles up to resyncMs (failRetryMaxMs for one service). */
  retryMs?: number;
  /** Longest wait between retries of a service ipvsadm refuses (ms). */
  failRetryMaxMs?: number;
  /** Default 'remove'. */
  stopMode?: StopMode;
  /** Where the managed services are recorded across restarts; null = in memory only. */
  owned?: OwnedStore | null;
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
  failingServices: FailingService[];
  /** Services in the owned record; null before it was read. */
  owned: number | null;
}

/** How long stop() waits for a batch in flight before removing the services anyway (ms). */
const STOP_WAIT_MS = 5000;

/** Re-reads take at most 1/READ_COST_FACTOR of the time… */
const READ_COST_FACTOR = 20;
/** …but a drift is repaired within this long after a full read, however slow that read was. */
const MAX_READ_SPACING_MS = 30_000;

/**
 * An answer from ipvsadm about the commands themselves (an option it refuses and exits on, or a
 * kernel error it reports and carries on after), as opposed to ipvsadm or IPVS being unavailable.
 */
function isRejection(e: unknown): e is IpvsadmError {
  if (!(e instanceof IpvsadmError)) return false;
  if (e.stderr.trim() === '') return false;
  return !/Can't initialize ipvs|Protocol not available|not found: install|did not (answer|finish)|cannot start|cannot run/.test(`${e.message}\n${e.stderr}`);
}

/** The kernel's answer to an `-a` of a destination that is there already. */
const ALREADY_EXISTS = 'Destination already exists';

export class Reconciler {
  private readonly o: Required<Omit<ReconcilerOptions, 'onSynced' | 'owned'>> & Pick<ReconcilerOptions, 'onSynced'>;
  private readonly store: OwnedStore | null;
  private readonly desired = new Map<string, IpvsService>();
  /** Services hakeep manages (configured now, or recorded by an earlier run); null until loaded. */
  private owned: Map<string, IpvsServiceAddr> | null = null;
  /** What the record on disk holds, to write only on change. */
  private ownedSaved = '';
  private ownedWarned = '';
  /** Owned services no longer configured: removed from the kernel by the next sync. */
  private readonly retiring = new Map<string, IpvsServiceAddr>();
  private readonly failing: RefusedServices;
  private failTimer: unknown = null;
  /**
   * `ipvsadm -S` lines we could not fully read and have set right (-E/-e) once, with what we set:
   * while the line reads the same, that is what the kernel holds.
   */
  private readonly acknowledged = new Map<string, IpvsService | IpvsDest>();
  private lastParseErrors = '';
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
  private readonly stats: Omit<ReconcilerStatus, 'failingServices' | 'owned'> = {
    batchesApplied: 0, commandsApplied: 0, resyncs: 0, resyncsSkipped: 0, failures: 0, lastError: null, lastSyncAt: null,
    lastRead: null, lastBatch: null,
  };

  constructor(opts: ReconcilerOptions) {
    const { owned, ...rest } = opts;
    this.o = { coalesceMs: 5, resyncMs: 5000, retryMs: 500, failRetryMaxMs: 60_000, stopMode: 'remove', ...rest };
    this.store = owned ?? null;
    this.failing = new RefusedServices({ now: () => this.o.timers.now(), log: this.o.log, retryMs: this.o.retryMs, maxMs: this.o.failRetryMaxMs });
  }

  /** The whole desired table: every service hakeep manages. Services dropped from it are removed. */
  setDesired(services: readonly IpvsService[]): void {
    const next = new Map(services.map((s) => [serviceKey(s.addr), s]));
    for (const [key, s] of this.desired) {
      if (!next.has(key)) {
        this.retiring.set(key, s.addr);
        this.failing.forget(key);
      }
    }
    this.desired.clear();
    for (const [key, s] of next) {
      this.desired.set(key, s);
      this.retiring.delete(key);
      // A new table (a reload) may have fixed a refused service: try it again at once.
      this.failing.retryNow(key);
    }
    this.dirty = 'all';
    this.changed();
  }

  /** New desired state for some services (one virtual server's pool changed). */
  update(services: readonly IpvsService[]): void {
    for (const s of services) {
      const key = serviceKey(s.addr);
      this.desired.set(key, s);
      this.retiring.delete(key);
      if (this.dirty !== 'all') this.dirty.add(key);
      // A refused service whose desired state changed is tried again at once.
      this.failing.retryNow(key);
    }
    this.changed();
  }

  /**
   * Read the kernel table now and keep it as the picture the first sync diffs against. For a
   * caller that wants to know, before start(), what a previous run left (adoption).
   */
  async readKernel(): Promise<IpvsTable> {
    const fp = (await this.o.backend.fingerprint?.()) ?? null;
    const table = await this.readTable();
    this.cache = table;
    this.fingerprint = fp;
    this.dirty = 'all';
    return table;
  }

  /** The reconciler's current picture of the kernel table (null = unknown). Do not modify it. */
  observed(): IpvsTable | null {
    return this.cache;
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
    return {
      ...this.stats,
      lastError: this.stats.lastError && { ...this.stats.lastError },
      failingServices: this.failing.list(),
      owned: this.owned?.size ?? null,
    };
  }

  /** Wait for work in flight, then run one more sync now (tests). */
  async flush(): Promise<void> {
    if (this.reading) await this.reading;
    if (this.running) await this.running;
    this.clearTimer();
    await this.runOnce();
  }

  /** Stop syncing and leave the table as the stop mode says (see StopMode). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.firstSyncDone();
    this.clearTimer();
    if (this.resyncTimer !== null) this.o.timers.clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    if (this.failTimer !== null) this.o.timers.clearTimeout(this.failTimer);
    this.failTimer = null;
    // A batch in flight finishes first, unless ipvsadm hangs: then stopping goes ahead anyway.
    if (this.running) await this.waitAtMost(this.running, STOP_WAIT_MS);
    try {
      if (this.o.stopMode === 'keep') {
        this.o.log('info', 'IPVS: leaving the IPVS table as it is (dont_release_ipvs); the next start adopts it', { services: this.desired.size });
      } else if (this.o.stopMode === 'flush') {
        await this.flushTable();
      } else {
        await this.removeServices([...this.desired.values(), ...[...this.retiring.values()].map((addr) => ({ addr }))]);
      }
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

  private async flushTable(): Promise<void> {
    try {
      await this.o.backend.restore(['-C']);
      this.o.log('info', 'IPVS: flushed the whole IPVS table on stop (lvs_flush_on_stop), hand-made services included', {});
      this.owned?.clear();
      await this.saveOwned();
    } catch (e) {
      this.reportError(e, true);
    }
  }

  private async removeServices(remove: readonly Pick<IpvsService, 'addr'>[]): Promise<void> {
    if (remove.length === 0) return;
    try {
      const observed = parseIpvsadmSave(await this.o.backend.save()).table;
      const present = remove.filter((s) => observed.has(serviceKey(s.addr)));
      const cmds = present.map((s) => `-D ${serviceKey(s.addr)}`);
      if (cmds.length > 0) await this.o.backend.restore(cmds);
      this.o.log('debug', `IPVS: removed ${cmds.length} service(s) on stop`, { commands: cmds });
      if (this.owned) {
        for (const s of remove) this.owned.delete(serviceKey(s.addr));
        await this.saveOwned();
      }
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
      const readBefore = this.stats.lastRead?.at ?? null;
      void this.resync().finally(() => {
        // Only a tick that read the whole table pays its cost in spacing: a tick that found
        // /proc unchanged stays on resyncMs, so one slow read does not stretch every later check
        // (a hand edit would then wait a minute to be repaired).
        const read = this.stats.lastRead;
        const didRead = read !== null && read.at !== readBefore;
        this.armResync(didRead ? Math.max(this.o.resyncMs, Math.min(MAX_READ_SPACING_MS, read.durationMs * READ_COST_FACTOR)) : this.o.resyncMs);
      });
    }, delayMs);
  }

  /** Wake up when the next refused service is due for a retry. */
  private armFailTimer(): void {
    if (this.failTimer !== null) this.o.timers.clearTimeout(this.failTimer);
    this.failTimer = null;
    const next = this.failing.nextDue();
    if (this.stopped || next === null) return;
    this.failTimer = this.o.timers.setTimeout(() => {
      this.failTimer = null;
      if (this.dirty !== 'all') for (const key of this.failing.due(this.o.timers.now())) this.dirty.add(key);
      // Due now: no need to wait for more changes.
      if (this.running) this.pending = true;
      else this.schedule(0);
    }, Math.max(0, next - this.o.timers.now()));
  }

  private async readTable(): Promise<IpvsTable> {
    const started = this.o.timers.now();
    const { table, errors } = parseIpvsadmSave(await this.o.backend.save());
    const text = errors.join('\n');
    if (errors.length > 0 && text !== this.lastParseErrors) {
      this.o.log('warn', `IPVS: could not fully read ${errors.length} line(s) of ipvsadm -S -n output; those services are kept, and what is unknown about them is set again (see docs/ipvs.md)`, { errors: errors.slice(0, 5) });
    }
    this.lastParseErrors = text;
    this.acceptAcknowledged(table);
    const now = this.o.timers.now();
    this.stats.lastRead = { at: now, durationMs: now - started };
    return table;
  }

  /**
   * A line we could not fully read and already set right once (with -E or -e) is taken as right
   * from then on, as long as it reads the same: otherwise it would be edited at every re-read.
   */
  private acceptAcknowledged(table: IpvsTable): void {
    if (this.acknowledged.size === 0) return;
    for (const [key, svc] of table) {
      let cur = svc;
      const set = svc.unreadable !== undefined ? this.acknowledged.get(svc.unreadable) : undefined;
      if (set && 'addr' in set) {
        const { unreadable: _u, ...known } = svc;
        cur = { ...known, scheduler: set.scheduler, persistence: set.persistence, netmask: set.netmask, ops: set.ops, schedFlags: [...set.schedFlags], ...(set.persistenceEngine ? { persistenceEngine: set.persistenceEngine } : {}) };
        table.set(key, cur);
      }
      cur.dests = cur.dests.map((d) => {
        const was = d.unreadable !== undefined ? this.acknowledged.get(d.unreadable) : undefined;
        return was && !('addr' in was) ? { ...was } : d;
      });
    }
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

  /** Load the owned record once; services in it that are no longer configured are retired. */
  private async loadOwned(): Promise<void> {
    if (this.owned !== null) return;
    let recorded: IpvsServiceAddr[] = [];
    if (this.store) {
      try {
        recorded = (await this.store.load()) ?? [];
      } catch (e) {
        this.o.log('warn', `IPVS: cannot read the record of managed services ${this.store.where} (${(e as Error).message}); services removed from the config since the last run stay in the kernel. Delete the file if it is damaged`, {});
      }
    }
    this.owned = new Map();
    for (const addr of recorded) {
      const key = serviceKey(addr);
      this.owned.set(key, addr);
      if (!this.desired.has(key)) this.retiring.set(key, addr);
    }
    this.ownedSaved = [...this.owned.keys()].sort().join('\n');
  }

  private async saveOwned(): Promise<void> {
    if (!this.owned) return;
    const text = [...this.owned.keys()].sort().join('\n');
    if (text === this.ownedSaved) return;
    if (this.store) {
      try {
        await this.store.save([...this.owned.values()]);
      } catch (e) {
        // Said once per cause; the next change tries again.
        const msg = `IPVS: cannot write the record of managed services ${this.store.where} (${(e as Error).message}); after a restart, services removed from the config will not be removed from the kernel`;
        if (msg !== this.ownedWarned) this.o.log('warn', msg, {});
        this.ownedWarned = msg;
        return;
      }
    }
    this.ownedSaved = text;
  }

  private async sync(): Promise<void> {
    const started = this.o.timers.now();
    let lines: string[] = [];
    try {
      await this.loadOwned();
      const fullRead = this.cache === null;
      if (this.cache === null) {
        const fp = (await this.o.backend.fingerprint?.()) ?? null;
        const table = await this.readTable();
        if (this.stopped) return;
        this.cache = table;
        this.fingerprint = fp;
        this.dirty = 'all';
      }
      const now = this.o.timers.now();
      const dirty = this.dirty;
      this.dirty = new Set();
      const keys = new Set([...(dirty === 'all' ? this.desired.keys() : dirty), ...this.failing.due(now)]);
      // A refused service waits for its own retry time; the others go ahead.
      for (const k of keys) if (!this.desired.has(k) || this.failing.waiting(k, now)) keys.delete(k);
      const ops = this.plan([...keys, ...this.retiring.keys()]);
      lines = ops.map((o) => o.line);
      // Keys with nothing to do any more (a refused service fixed by hand, or by a new desired state).
      const busy = new Set(ops.map((o) => o.service));
      for (const k of keys) if (!busy.has(k)) this.failing.succeeded(k);
      if (ops.length > 0) {
        // Record first: a crash right after the batch must not leave an unrecorded service behind.
        for (const o of ops) if (o.cmd === '-A') this.owned!.set(o.service, o.svc.addr);
        await this.saveOwned();
        const commandsBefore = this.stats.commandsApplied;
        await applyIsolating(this.isolation, byService(ops));
        const t = this.o.timers.now();
        const applied = this.stats.commandsApplied - commandsBefore;
        this.stats.batchesApplied++;
        this.stats.lastBatch = { commands: applied, at: t, durationMs: t - started };
        this.o.log('debug', `IPVS: applied ${applied} change(s) (${Math.round(t - started)} ms${fullRead ? ', table read first' : ''})`, { commands: lines.slice(0, 20) });
      }
      this.forgetRetired();
      // Every configured service the kernel has is managed: record it (adopted ones included).
      for (const [k, s] of this.desired) if (this.cache?.has(k)) this.owned!.set(k, s.addr);
      await this.saveOwned();
      this.stats.lastSyncAt = this.o.timers.now();
      if (this.consecutiveFailures > 0) this.o.log('info', 'IPVS: ipvsadm works again; table in sync', {});
      this.consecutiveFailures = 0;
      this.lastLoggedError = '';
      this.armFailTimer();
      this.o.onSynced?.();
    } catch (e) {
      this.cache = null;
      this.dirty = 'all';
      this.consecutiveFailures++;
      this.reportError(e, false, lines);
      const delay = Math.min(this.o.retryMs * 2 ** (this.consecutiveFailures - 1), this.o.resyncMs);
      this.schedule(delay);
      this.o.onSynced?.();
    }
  }

  /** Retired services the kernel no longer has leave the record. */
  private forgetRetired(): void {
    for (const key of [...this.retiring.keys()]) {
      if (this.cache?.has(key)) continue;
      this.retiring.delete(key);
      this.owned?.delete(key);
    }
  }

  /** The operations for these services against the current picture (-D for retired ones). */
  private plan(keys: Iterable<string>): IpvsOp[] {
    const ops: IpvsOp[] = [];
    for (const key of new Set(keys)) {
      const want = this.desired.get(key);
      const have = this.cache!.get(key);
      if (want) ops.push(...diffService(want, have));
      else if (have && this.retiring.has(key)) {
        ops.push({ cmd: '-D', line: `-D ${key}`, service: key, svc: have, dest: null });
      }
    }
    return ops;
  }

  /** How applyIsolating reaches the reconciler. */
  private readonly isolation: IsolationHost = {
    tryRestore: (ops) => this.tryRestore(ops),
    refresh: () => this.refresh(),
    plan: (keys) => this.plan(keys),
    succeeded: (key) => this.failing.succeeded(key),
    refused: (key, command, e, count) => this.failing.refused(key, this.desired.get(key)?.name ?? null, command, e, count),
  };

  /** Read the whole table again after a refused batch: a refused batch may be partly applied. */
  private async refresh(): Promise<void> {
    const fp = (await this.o.backend.fingerprint?.()) ?? null;
    const table = await this.readTable();
    this.cache = table;
    this.fingerprint = this.writingKeys === null && this.touchedDuringRead === null ? fp : null;
  }

  /**
   * One batch. Resolves to null when it was applied (the picture follows), to the error when
   * ipvsadm refused some of it; throws when ipvsadm itself failed.
   */
  private async tryRestore(ops: readonly IpvsOp[]): Promise<IpvsadmError | null> {
    if (ops.length === 0) return null;
    const keys = new Set(ops.map((o) => o.service));
    this.writingKeys = keys;
    if (this.touchedDuringRead) for (const k of keys) this.touchedDuringRead.add(k);
    // The table changes now: the next periodic re-read must really read it.
    this.fingerprint = null;
    try {
      await this.o.backend.restore(ops.map((o) => o.line));
    } catch (e) {
      if (!this.tolerable(e, ops)) {
        if (!isRejection(e)) throw e;
        this.stats.failures++;
        return e;
      }
    } finally {
      this.writingKeys = null;
    }
    this.acknowledge(ops);
    // A re-read may have replaced the picture meanwhile; these services are ours either way.
    this.cache = applyOps(this.cache ?? new Map(), ops);
    this.stats.commandsApplied += ops.length;
    return null;
  }

  /** Only "already exists" answers to `-a` of destinations that may exist: the batch worked. */
  private tolerable(e: unknown, ops: readonly IpvsOp[]): boolean {
    if (!(e instanceof IpvsadmError) || e.exitCode !== null && e.exitCode !== 0) return false;
    const lines = e.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
    const allowed = ops.filter((o) => o.mayExist).length;
    return lines.length > 0 && lines.length <= allowed && lines.every((l) => l === ALREADY_EXISTS);
  }

  /** Lines we could not read and just set right: from now on they count as what we set. */
  private acknowledge(ops: readonly IpvsOp[]): void {
    for (const o of ops) {
      const have = this.cache?.get(o.service);
      if (!have) continue;
      if (o.cmd === '-E' && have.unreadable !== undefined) this.acknowledged.set(have.unreadable, { ...o.svc, dests: [] });
      if (o.cmd === '-e' && o.dest) {
        const d = have.dests.find((x) => destKey(x) === destKey(o.dest!));
        if (d?.unreadable !== undefined) this.acknowledged.set(d.unreadable, { ...o.dest });
      }
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
    const what = stopping ? 'could not leave the IPVS table as asked on stop' : 'could not update the IPVS table; will retry';
    this.o.log(level, `IPVS: ${what}: ${message}`, {
      command: err?.command ?? null, stderr: err?.stderr ?? null, batch: cmds.slice(0, 20), batchSize: cmds.length,
    });
  }
}
