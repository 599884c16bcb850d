// Many per-checker timers on one clock timer: a binary heap ordered by due time. Thousands of
// real servers cost one armed timer, and a burst of due checks runs in bounded slices so the
// thread never stalls on one giant batch. Wake-ups are aligned to a grid of `slackMs` (each timer
// runs at the nearest grid point), so checks due within the same few milliseconds share one wake-up: on a VM where every system call is
// dear, the number of event-loop turns, not the checks themselves, dominates the CPU at low rates.
import type { Clock } from './clock.js';

export interface TimerEntry {
  readonly at: number;
  readonly seq: number;
  cancelled: boolean;
  readonly fn: () => void;
}

/** At most this many due timers run per tick; the rest follow on the next tick. */
const SLICE = 500;

export class TimerHeap {
  private heap: TimerEntry[] = [];
  private seq = 0;
  private armed: unknown = null;
  private armedAt = Infinity;
  /** The time of the current fire(), so timers added from callbacks need no clock read. */
  private firingNow: number | null = null;

  constructor(private readonly clock: Clock, private readonly slackMs = 0) {}

  get size(): number {
    return this.heap.length;
  }

  /** The current time: cached while timers run (reading the clock is a system call on some VMs). */
  now(): number {
    return this.firingNow ?? this.clock.now();
  }

  add(delayMs: number, fn: () => void): TimerEntry {
    return this.addAt(this.now() + Math.max(0, delayMs), fn);
  }

  addAt(at: number, fn: () => void): TimerEntry {
    const e: TimerEntry = { at, seq: ++this.seq, cancelled: false, fn };
    this.push(e);
    if (this.firingNow === null && this.heap[0] === e) this.arm();
    return e;
  }

  cancel(e: TimerEntry | null): void {
    if (!e || e.cancelled) return;
    e.cancelled = true;
    // A cancelled head (a probe's timeout, typically) must not cost a wake-up of its own.
    if (this.heap[0] === e && this.firingNow === null) this.arm();
  }

  clear(): void {
    for (const e of this.heap) e.cancelled = true;
    this.heap = [];
    if (this.armed !== null) this.clock.clearTimeout(this.armed);
    this.armed = null;
    this.armedAt = Infinity;
  }

  private arm(now?: number): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    const top = this.heap[0];
    // Nearest grid point, so timers run on time on average (a few ms early or late at most).
    const at = top === undefined ? Infinity : this.slackMs > 0 ? Math.round(top.at / this.slackMs) * this.slackMs : top.at;
    if (this.armed !== null && this.armedAt === at) return;
    if (this.armed !== null) this.clock.clearTimeout(this.armed);
    this.armed = null;
    this.armedAt = Infinity;
    if (top === undefined) return;
    this.armedAt = at;
    this.armed = this.clock.setTimeout(() => this.fire(), at - (now ?? this.clock.now()));
  }

  private fire(): void {
    this.armed = null;
    this.armedAt = Infinity;
    const now = this.clock.now();
    let ran = 0;
    this.firingNow = now;
    try {
      // Entries up to half a grid step ahead belong to this wake-up.
      const due = now + this.slackMs / 2;
      while (this.heap.length > 0 && this.heap[0]!.at <= due && ran < SLICE) {
        const e = this.pop()!;
        if (e.cancelled) continue;
        ran++;
        e.fn();
      }
    } finally {
      this.firingNow = null;
    }
    if (ran >= SLICE && this.heap.length > 0 && this.heap[0]!.at <= now + this.slackMs / 2) {
      this.armedAt = now;
      this.armed = this.clock.setTimeout(() => this.fire(), 0);
      return;
    }
    this.arm(now);
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: TimerEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): TimerEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
