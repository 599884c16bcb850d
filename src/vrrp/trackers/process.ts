// vrrp_track_process: how many processes of a kind run, from one /proc scan at start and then the
// kernel's process events connector (fork, exec, name change, exit; native/src/proc-events.c),
// never by running `ps` or pgrep. When the connector is unavailable (no CAP_NET_ADMIN, a network
// namespace other than the initial one, a kernel without CONFIG_PROC_EVENTS) /proc is scanned
// every few seconds instead, and the log says so once.
//
// keepalived's rules (core/track_process.c, vrrp/vrrp_track.c:776-810, 893-918):
//   - have_quorum = quorum <= count <= quorum_max (defaults 1 and unbounded);
//   - the count changes at fork (a child of a counted process counts as its parent does), exec
//     (the new program is matched again), name change (comm) and exit;
//   - quorum is re-evaluated when the count crosses a bound: on the way up at `quorum` or
//     `quorum_max + 1`, on the way down at `quorum - 1` or `quorum_max`;
//   - fork_delay delays a change caused by a fork (a pending terminate delay is cancelled
//     instead); terminate_delay delays one caused by an exit (a pending fork delay is cancelled
//     instead); when the delay ends the bounds are checked again. Changes caused by exec or a
//     name change apply at once;
//   - "Quorum gained|lost for tracked process X" on every change; weights as for scripts
//     (types.ts effectOf); at start "(VI_1) entering FAULT state (tracked process X quorum not
//     achieved)".
// Where hakeep differs: keepalived counts a process twice when a counted process execs the same
// program again (check_process adds it without looking whether it is already counted); here a
// process is counted at most once per tracker.
import type { VrrpTrackProcess } from '../../config/model.js';
import type { NativeHandle } from '../../net/native.js';
import { decodeProcEvents, type ProcEvent } from './proc-events.js';
import { listPids, processMatches, readCmdline, readProcStat } from './process-match.js';
import {
  bindingStatus, effectOf, Publisher, type Binding, type ProcessTrackStatus, type TrackerContext,
} from './types.js';

/** The addon's procEvents (src/net/native.ts), or a fake. */
export type ProcEventsOpen = (
  onEvents: (records: Buffer) => void,
  onError: (err: Error & { code?: string }) => void,
  opts?: { rcvbuf?: number },
) => NativeHandle;

export interface ProcessTrackerOptions {
  /** null/undefined = scan /proc periodically (no connector). */
  procEvents?: ProcEventsOpen | null;
  /** Why there is no connector (for the log line), when procEvents is null. */
  noConnectorReason?: string;
  /** /proc scan period without the connector (ms, default 2000). */
  pollMs?: number;
  /** How long to wait for the kernel's acknowledgement of the subscription (ms, default 1000). */
  ackTimeoutMs?: number;
  /** Delay before re-reading /proc after lost events (ms, default 1000, keepalived's). */
  resyncMs?: number;
  procRoot?: string;
}

interface Tracked {
  def: VrrpTrackProcess;
  bindings: readonly Binding[];
  pub: Publisher;
  pids: Set<number>;
  haveQuorum: boolean;
  forkTimer: unknown;
  termTimer: unknown;
}

type Cause = 'fork' | 'exec' | 'exit' | 'remove';

export class ProcessTracker {
  private readonly tracked: Tracked[];
  /** pid → the trackers counting it. */
  private readonly members = new Map<number, Set<Tracked>>();
  private readonly needCmdline: boolean;
  private readonly needComm: boolean;
  private handle: NativeHandle | null = null;
  private source: 'connector' | 'poll' = 'poll';
  private acked = false;
  private ackTimer: unknown = null;
  private pollTimer: unknown = null;
  private resyncTimer: unknown = null;
  private stopped = false;

  constructor(
    entries: ReadonlyArray<{ def: VrrpTrackProcess; bindings: readonly Binding[] }>,
    private readonly ctx: TrackerContext,
    private readonly opts: ProcessTrackerOptions = {},
  ) {
    this.tracked = entries.map((e) => ({
      def: e.def, bindings: e.bindings, pub: new Publisher(ctx, 'process', e.def.name, `process:${e.def.name}`),
      pids: new Set(), haveQuorum: false, forkTimer: null, termTimer: null,
    }));
    this.needCmdline = this.tracked.some((t) => t.def.fullCommand);
    this.needComm = this.tracked.some((t) => !t.def.fullCommand);
  }

  start(): void {
    if (this.tracked.length === 0) return;
    // Listen first, scan second: nothing falls between them; events about processes the scan
    // already saw change nothing (a process is counted once).
    this.openConnector();
    for (const [pid, set] of this.scan()) {
      this.members.set(pid, set);
      for (const t of set) t.pids.add(pid);
    }
    for (const t of this.tracked) {
      t.haveQuorum = this.inRange(t);
      for (const b of t.bindings) {
        this.publish(t, b);
        if (effectOf(b, t.haveQuorum).fault) {
          this.ctx.log.info({ instance: b.instance, trackProcess: t.def.name }, `(${b.instance}) entering FAULT state (tracked process ${t.def.name} quorum ${t.haveQuorum ? 'achieved' : 'not achieved'})`);
        }
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.handle?.close();
    this.handle = null;
    for (const h of [this.ackTimer, this.pollTimer, this.resyncTimer]) if (h !== null) this.ctx.timers.clearTimeout(h);
    for (const t of this.tracked) {
      if (t.forkTimer !== null) this.ctx.timers.clearTimeout(t.forkTimer);
      if (t.termTimer !== null) this.ctx.timers.clearTimeout(t.termTimer);
      t.pub.withdraw();
    }
  }

  get mode(): 'connector' | 'poll' {
    return this.source;
  }

  status(): ProcessTrackStatus[] {
    return this.tracked.map((t) => ({
      name: t.def.name, count: t.pids.size, haveQuorum: t.haveQuorum, pids: [...t.pids].sort((a, b) => a - b),
      bindings: t.bindings.map((b) => bindingStatus(b, t.pub)),
    }));
  }

  /** Apply connector events (exposed for the unit tests). */
  onEvents(events: readonly ProcEvent[]): void {
    for (const ev of events) {
      if (this.stopped) return;
      switch (ev.type) {
        case 'ack':
          this.acked = true;
          break;
        case 'fork': this.onFork(ev.pid, ev.parent); break;
        case 'exec': this.onExec(ev.pid); break;
        case 'comm': this.onComm(ev.pid, ev.comm); break;
        case 'exit': this.onExit(ev.pid); break;
      }
    }
  }

  /** Scan /proc again and apply the difference (after lost events, and when polling). */
  rescan(): void {
    if (this.stopped) return;
    const next = this.scan();
    for (const pid of [...this.members.keys()]) {
      if (!next.has(pid)) this.onExit(pid);
    }
    for (const [pid, set] of next) {
      const had = this.members.get(pid) ?? new Set<Tracked>();
      for (const t of had) if (!set.has(t)) this.remove(pid, t, 'remove');
      for (const t of set) if (!had.has(t)) this.add(pid, t, 'exec');
    }
  }

  private openConnector(): void {
    const open = this.opts.procEvents;
    if (!open) {
      this.fallBack(this.opts.noConnectorReason ?? 'not available');
      return;
    }
    try {
      this.handle = open((records) => this.onEvents(decodeProcEvents(records)), (err) => this.onConnectorError(err));
      this.source = 'connector';
      this.ackTimer = this.ctx.timers.setTimeout(() => {
        this.ackTimer = null;
        if (this.acked || this.stopped) return;
        this.handle?.close();
        this.handle = null;
        this.fallBack('the kernel did not acknowledge the subscription (CONFIG_PROC_EVENTS?)');
        this.rescan();
      }, this.opts.ackTimeoutMs ?? 1000);
    } catch (e) {
      const err = e as Error & { code?: string };
      this.fallBack(`${err.code ?? 'error'}: ${err.message}${err.code === 'ECONNREFUSED' ? ' (the connector only works in the initial network namespace)' : err.code === 'EPERM' ? ' (needs CAP_NET_ADMIN)' : ''}`);
    }
  }

  private fallBack(why: string): void {
    this.source = 'poll';
    const ms = this.opts.pollMs ?? 2000;
    this.ctx.log.warn({ reason: why, pollMs: ms }, `track_process: the kernel's process events connector is unavailable (${why}); scanning /proc every ${ms / 1000} s instead`);
    const poll = (): void => {
      this.pollTimer = null;
      if (this.stopped) return;
      this.rescan();
      this.pollTimer = this.ctx.timers.setTimeout(poll, ms);
    };
    this.pollTimer = this.ctx.timers.setTimeout(poll, ms);
  }

  private onConnectorError(err: Error & { code?: string }): void {
    if (this.stopped) return;
    if (err.code === 'ENOBUFS') {
      if (this.resyncTimer !== null) return;
      this.ctx.log.warn({}, `track_process: process events were lost (receive buffer overrun); re-reading /proc in ${(this.opts.resyncMs ?? 1000) / 1000} s`);
      this.resyncTimer = this.ctx.timers.setTimeout(() => {
        this.resyncTimer = null;
        this.rescan();
      }, this.opts.resyncMs ?? 1000);
      return;
    }
    this.ctx.log.warn({ err: err.message }, `track_process: process events connector: ${err.message}`);
  }

  /** Every process and the trackers it counts for. */
  private scan(): Map<number, Set<Tracked>> {
    const out = new Map<number, Set<Tracked>>();
    for (const pid of listPids(this.opts.procRoot)) {
      const set = this.matchPid(pid, true);
      if (set !== null && set.size > 0) out.set(pid, set);
    }
    return out;
  }

  /** The trackers that count `pid` now; null when it is gone (or, with skipZombies, a zombie). */
  private matchPid(pid: number, skipZombies: boolean): Set<Tracked> | null {
    let comm: string | null = null;
    if (this.needComm) {
      const st = readProcStat(pid, this.opts.procRoot);
      if (st === null || (skipZombies && st.zombie)) return null;
      comm = st.comm;
    }
    const cmdline = this.needCmdline ? readCmdline(pid, this.opts.procRoot) : null;
    if (this.needCmdline && cmdline === null) return null;
    const set = new Set<Tracked>();
    for (const t of this.tracked) if (processMatches(t.def, comm, cmdline)) set.add(t);
    return set;
  }

  private onFork(pid: number, parent: number): void {
    const from = this.members.get(parent);
    if (!from || this.members.has(pid)) return;
    for (const t of from) this.add(pid, t, 'fork');
  }

  private onExec(pid: number): void {
    const now = this.matchPid(pid, false);
    if (now === null) return; // gone already: its exit event follows
    const had = this.members.get(pid) ?? new Set<Tracked>();
    for (const t of had) if (!now.has(t)) this.remove(pid, t, 'remove');
    for (const t of now) if (!had.has(t)) this.add(pid, t, 'exec');
  }

  private onComm(pid: number, comm: string): void {
    const had = this.members.get(pid);
    for (const t of this.tracked) {
      if (t.def.fullCommand) continue;
      const counted = had?.has(t) ?? false;
      const match = comm === t.def.process;
      if (counted && !match) this.remove(pid, t, 'remove');
      else if (!counted && match) this.add(pid, t, 'exec');
    }
  }

  private onExit(pid: number): void {
    const had = this.members.get(pid);
    if (!had) return;
    for (const t of [...had]) this.remove(pid, t, 'exit');
  }

  private add(pid: number, t: Tracked, cause: Cause): void {
    let set = this.members.get(pid);
    if (!set) this.members.set(pid, (set = new Set()));
    if (set.has(t)) return;
    set.add(t);
    t.pids.add(pid);
    const n = t.pids.size;
    if (n !== t.def.quorum && n !== t.def.quorumMax + 1) return;
    if (t.termTimer !== null) {
      this.ctx.timers.clearTimeout(t.termTimer);
      t.termTimer = null;
    } else if (cause === 'fork' && t.def.forkDelay > 0) {
      this.delay(t, 'fork');
      return;
    }
    this.update(t, n === t.def.quorum);
  }

  private remove(pid: number, t: Tracked, cause: Cause): void {
    const set = this.members.get(pid);
    if (!set?.delete(t)) return;
    if (set.size === 0) this.members.delete(pid);
    const old = t.pids.size;
    t.pids.delete(pid);
    const n = t.pids.size;
    if (old !== t.def.quorum && n !== t.def.quorumMax) return;
    if (t.forkTimer !== null) {
      this.ctx.timers.clearTimeout(t.forkTimer);
      t.forkTimer = null;
    } else if (cause === 'exit' && t.def.terminateDelay > 0) {
      this.delay(t, 'terminate');
      return;
    }
    this.update(t, n === t.def.quorumMax);
  }

  private delay(t: Tracked, which: 'fork' | 'terminate'): void {
    const key = which === 'fork' ? 'forkTimer' : 'termTimer';
    if (t[key] !== null) this.ctx.timers.clearTimeout(t[key]);
    const secs = which === 'fork' ? t.def.forkDelay : t.def.terminateDelay;
    t[key] = this.ctx.timers.setTimeout(() => {
      t[key] = null;
      this.update(t, this.inRange(t));
    }, secs * 1000);
  }

  private inRange(t: Tracked): boolean {
    return t.pids.size >= t.def.quorum && t.pids.size <= t.def.quorumMax;
  }

  private update(t: Tracked, up: boolean): void {
    if (this.stopped || up === t.haveQuorum) return;
    t.haveQuorum = up;
    this.ctx.log.info({ trackProcess: t.def.name, count: t.pids.size }, `Quorum ${up ? 'gained' : 'lost'} for tracked process ${t.def.name}`);
    for (const b of t.bindings) this.publish(t, b);
  }

  private publish(t: Tracked, b: Binding): void {
    const e = effectOf(b, t.haveQuorum);
    const max = t.def.quorumMax >= 4_294_967_295 ? '' : `-${t.def.quorumMax}`;
    const detail = t.haveQuorum ? 'quorum achieved (weight 0 reverse)' : `quorum not achieved (${t.pids.size} running, want ${t.def.quorum}${max})`;
    t.pub.publish(b, e.fault ? detail : null, e.weight);
  }
}
