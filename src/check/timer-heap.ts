// Many per-checker timers on one clock timer: a binary heap ordered by due time. Thousands of
// real servers cost one armed timer, and a burst of due checks runs in bounded slices so the
// thread never stalls on one giant batch.
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

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  add(delayMs: number, fn: () => void): TimerEntry {
    const e: TimerEntry = { at: this.clock.now() + Math.max(0, delayMs), seq: ++this.seq, cancelled: false, fn };
    this.push(e);
    this.arm();
    return e;
  }

  cancel(e: TimerEntry | null): void {
    if (e) e.cancelled = true;
  }

  clear(): void {
    for (const e of this.heap) e.cancelled = true;
    this.heap = [];
    if (this.armed !== null) this.clock.clearTimeout(this.armed);
    this.armed = null;
    this.armedAt = Infinity;
  }

  private arm(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    const top = this.heap[0];
    if (!top) return;
    if (this.armed !== null && this.armedAt <= top.at) return;
    if (this.armed !== null) this.clock.clearTimeout(this.armed);
    this.armedAt = top.at;
    this.armed = this.clock.setTimeout(() => this.fire(), top.at - this.clock.now());
  }

  private fire(): void {
    this.armed = null;
    this.armedAt = Infinity;
    const now = this.clock.now();
    let ran = 0;
    while (this.heap.length > 0 && this.heap[0]!.at <= now && ran < SLICE) {
      const e = this.pop()!;
      if (e.cancelled) continue;
      ran++;
      e.fn();
    }
    if (ran >= SLICE && this.heap.length > 0 && this.heap[0]!.at <= now) {
      this.armedAt = now;
      this.armed = this.clock.setTimeout(() => this.fire(), 0);
      return;
    }
    this.arm();
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
