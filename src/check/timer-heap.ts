// Many per-checker timers on one clock timer: a binary heap ordered by due time. Thousands of
// real servers cost one armed timer, and a burst of due checks runs in bounded slices so the
// thread never stalls on one giant batch. Wake-ups are aligned to a grid of `slackMs` (each timer
// runs at the nearest grid point), so checks due within the same few milliseconds share one wake-up: on a VM where every system call is
// dear, the number of event-loop turns, not the checks themselves, dominates the CPU at low rates.
//
// Entries know their place in the heap, so a cancel takes them out at once and an entry can be
// scheduled again (schedule()): a checker keeps its two entries (next check, attempt timeout) for
// its whole life, and a check allocates nothing here (10,000 checks a second would otherwise
// promote 20,000 short-lived objects a second to the old generation).
import type { Clock } from './clock.js';

export interface TimerEntry {
  at: number;
  seq: number;
  cancelled: boolean;
  fn: () => void;
  /** Position in the heap; -1 when not in it. */
  index: number;
}

/** At most this many due timers run per tick; the rest follow on the next tick. */
const SLICE = 500;
/**
 * ... and for at most this long (the clock is read every SLICE_CLOCK_EVERY timers). In a starved
 * 1-CPU guest 500 HTTP_GET starts took over a second, and with their completions in the same
 * loop turn the turn outlasted the checker child's 5 s heartbeat deadline (bench/checker at
 * 10,000 real servers); shorter slices keep turns short without changing the rate.
 */
const SLICE_BUDGET_MS = 50;
const SLICE_CLOCK_EVERY = 16;

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

  /**
   * Run `fn` with the clock read once, then re-arm once: completions delivered together (the
   * native TCP probe hands over a loop turn's worth at a time) share that time. Where reading the
   * clock is a system call (a UML guest's vDSO makes one), this saves one per check.
   */
  batch(fn: () => void): void {
    if (this.firingNow !== null) {
      fn();
      return;
    }
    const now = this.clock.now();
    this.firingNow = now;
    try {
      fn();
    } finally {
      this.firingNow = null;
    }
    this.arm(now);
  }

  add(delayMs: number, fn: () => void): TimerEntry {
    return this.addAt(this.now() + Math.max(0, delayMs), fn);
  }

  addAt(at: number, fn: () => void): TimerEntry {
    const e: TimerEntry = { at, seq: 0, cancelled: false, fn, index: -1 };
    this.schedule(e, at);
    return e;
  }

  /** An entry for schedule(), not in the heap yet. */
  entry(fn: () => void): TimerEntry {
    return { at: 0, seq: 0, cancelled: true, fn, index: -1 };
  }

  /** (Re)schedule `e` at `at`, whether or not it is in the heap now. */
  schedule(e: TimerEntry, at: number): void {
    e.at = at;
    e.seq = ++this.seq;
    e.cancelled = false;
    if (e.index >= 0) {
      this.fix(e.index);
    } else {
      e.index = this.heap.length;
      this.heap.push(e);
      this.up(e.index);
    }
    if (this.firingNow === null && this.heap[0] === e) this.arm();
  }

  cancel(e: TimerEntry | null): void {
    if (!e || e.cancelled) return;
    e.cancelled = true;
    if (e.index < 0) return;
    const wasHead = e.index === 0;
    this.remove(e.index);
    // A cancelled head (a probe's timeout, typically) must not cost a wake-up of its own.
    if (wasHead && this.firingNow === null) this.arm();
  }

  clear(): void {
    for (const e of this.heap) {
      e.cancelled = true;
      e.index = -1;
    }
    this.heap = [];
    if (this.armed !== null) this.clock.clearTimeout(this.armed);
    this.armed = null;
    this.armedAt = Infinity;
  }

  private arm(now?: number): void {
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
    let cut = false;
    this.firingNow = now;
    try {
      // Entries up to half a grid step ahead belong to this wake-up.
      const due = now + this.slackMs / 2;
      while (this.heap.length > 0 && this.heap[0]!.at <= due && ran < SLICE) {
        const e = this.heap[0]!;
        this.remove(0);
        e.cancelled = true; // ran: a cancel() now is a no-op, schedule() brings it back
        ran++;
        e.fn();
        if (ran % SLICE_CLOCK_EVERY === 0 && this.clock.now() - now >= SLICE_BUDGET_MS) {
          cut = true;
          break;
        }
      }
    } finally {
      this.firingNow = null;
    }
    if ((cut || ran >= SLICE) && this.heap.length > 0 && this.heap[0]!.at <= now + this.slackMs / 2) {
      this.armedAt = now;
      this.armed = this.clock.setTimeout(() => this.fire(), 0);
      return;
    }
    this.arm(now);
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private place(e: TimerEntry, i: number): void {
    this.heap[i] = e;
    e.index = i;
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(e, pe)) break;
      this.place(pe, i);
      i = p;
    }
    this.place(e, i);
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[m]!, e)) break;
      this.place(h[m]!, i);
      i = m;
    }
    this.place(e, i);
  }

  private fix(i: number): void {
    if (i > 0 && this.less(this.heap[i]!, this.heap[(i - 1) >> 1]!)) this.up(i);
    else this.down(i);
  }

  private remove(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    const last = h.pop()!;
    e.index = -1;
    if (last !== e) {
      this.place(last, i);
      this.fix(i);
    }
  }
}
