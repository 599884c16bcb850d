// What every tracker shares: the sink it reports to, the injected clock and timers, and
// keepalived's rule for what a tracked object's state means for an instance. Trackers know no
// runtime: they tell the sink "this instance gets weight W from key K" or "this instance is in
// FAULT because of X", and the lead's wiring turns that into the instance's fault set and
// effective priority (src/vrrp/instance.ts setTrackWeight/setFault).
import type { Logger } from '../../daemon/log.js';
import type { FaultSource } from '../fault-set.js';

export interface TrackerSink {
  /** A weighted tracker's current contribution to `instance`'s priority (signed; 0 = none now).
   * key: 'script:chk_nginx', 'interface:eth1', 'file:NAME', 'process:NAME'. */
  setWeight(instance: string, key: string, weight: number): void;
  /** A weight-0 tracker failing puts the instance in FAULT. subject = the tracker's name (the
   * interface name for track_interface). */
  setFault(instance: string, source: FaultSource, subject: string, detail: string): void;
  clearFault(instance: string, source: FaultSource, subject: string): void;
}

/** Timers the trackers use (a fake in unit tests). */
export interface TrackerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: TrackerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface TrackerContext {
  sink: TrackerSink;
  log: Logger;
  /** Monotonic milliseconds. */
  clock: () => number;
  timers: TrackerTimers;
}

/** One instance tracking one object, with the weight and direction in force for it. */
export interface Binding {
  instance: string;
  /** 0 = FAULT when down (when up with reverse); otherwise the signed weight. */
  weight: number;
  reverse: boolean;
  /** Where it was configured: the instance's name, or the sync group's. */
  via: string;
}

export interface Effect {
  fault: boolean;
  weight: number;
}

/**
 * keepalived's rule for scripts, interfaces and processes (vrrp_track.c:596-643, 717-748,
 * 776-810, 894-918; keepalived_netlink.c:1537-1573): with multiplier m = reverse ? -1 : 1,
 *   weight 0: FAULT while down (with reverse: while up);
 *   weight > 0: adds weight × m while up, nothing while down;
 *   weight < 0: adds weight × m while down (subtracts |weight|), nothing while up.
 */
export function effectOf(b: Pick<Binding, 'weight' | 'reverse'>, up: boolean): Effect {
  const m = b.reverse ? -1 : 1;
  if (b.weight === 0) return { fault: up !== (m === 1), weight: 0 };
  if (b.weight > 0) return { fault: false, weight: up ? b.weight * m : 0 };
  return { fault: false, weight: up ? 0 : b.weight * m };
}

/**
 * Publishes effects to the sink once per change, so the sink (and the instance's log) hears about
 * transitions only. One per tracker object.
 */
export class Publisher {
  private readonly last = new Map<string, { fault: string | null; weight: number }>();

  constructor(
    private readonly ctx: TrackerContext,
    private readonly source: FaultSource,
    /** The fault subject, and `${prefix}:${subject}` is the weight key. */
    private readonly subject: string,
    private readonly weightKey: string,
  ) {}

  /** `faultDetail` null = no fault. */
  publish(b: Binding, faultDetail: string | null, weight: number): void {
    const prev = this.last.get(b.instance) ?? { fault: null, weight: 0 };
    if (b.weight !== 0 && weight !== prev.weight) this.ctx.sink.setWeight(b.instance, this.weightKey, weight);
    if (faultDetail !== null && faultDetail !== prev.fault) {
      this.ctx.sink.setFault(b.instance, this.source, this.subject, faultDetail);
    } else if (faultDetail === null && prev.fault !== null) {
      this.ctx.sink.clearFault(b.instance, this.source, this.subject);
    }
    this.last.set(b.instance, { fault: faultDetail, weight });
  }

  /** Take back everything published (stop): weights to 0, faults cleared. */
  withdraw(): void {
    for (const [instance, p] of this.last) {
      if (p.weight !== 0) this.ctx.sink.setWeight(instance, this.weightKey, 0);
      if (p.fault !== null) this.ctx.sink.clearFault(instance, this.source, this.subject);
    }
    this.last.clear();
  }

  current(instance: string): { fault: string | null; weight: number } {
    return this.last.get(instance) ?? { fault: null, weight: 0 };
  }
}

/** One tracker's view for status: what it watches and what each instance gets from it now. */
export interface TrackerBindingStatus {
  instance: string;
  via: string;
  weight: number;
  reverse: boolean;
  /** The fault detail in force, or null. */
  fault: string | null;
  /** The contribution in force (0 for weight-0 bindings). */
  contribution: number;
}

export interface ScriptStatus {
  name: string;
  state: 'init' | 'ok' | 'failed';
  running: boolean;
  runs: number;
  lastExit: string | null;
  lastRunAt: number | null;
  bindings: TrackerBindingStatus[];
}

export interface InterfaceTrackStatus {
  name: string;
  state: 'up' | 'down' | 'missing';
  bindings: TrackerBindingStatus[];
}

export interface FileTrackStatus {
  name: string;
  path: string;
  value: number;
  watching: boolean;
  bindings: TrackerBindingStatus[];
}

export interface ProcessTrackStatus {
  name: string;
  count: number;
  haveQuorum: boolean;
  pids: number[];
  bindings: TrackerBindingStatus[];
}

export interface TrackerStatus {
  scripts: ScriptStatus[];
  interfaces: InterfaceTrackStatus[];
  files: FileTrackStatus[];
  processes: ProcessTrackStatus[];
  /** 'connector' (kernel events), 'poll' (scanning /proc: the connector was unavailable) or
   * null when no process is tracked. */
  processSource: 'connector' | 'poll' | null;
}

export function bindingStatus(b: Binding, pub: Publisher): TrackerBindingStatus {
  const cur = pub.current(b.instance);
  return { instance: b.instance, via: b.via, weight: b.weight, reverse: b.reverse, fault: cur.fault, contribution: cur.weight };
}
