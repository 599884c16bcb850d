// One re-armable timer per instance on the monotonic clock, measuring how late it fires.
// Node timers have millisecond granularity and fire on a cached loop time, so a wake-up can come a
// fraction of a millisecond early on the monotonic clock: then we re-arm for the remainder rather
// than hand the state machine a time before its deadline. A `precise` deadline (a backup's
// takeover) must beat two sources of lateness: Node's millisecond rounding, and the kernel's
// timer slack on epoll_wait, which for ordinary processes is 0.1% of the timeout (3.6 ms late
// on a 3.6 s Master_Down_Interval). So it sleeps to 0.2% + 1.5 ms before the deadline, sleeps
// again for the (now short, so precise) remainder, and finishes with setImmediate turns, which
// still serve I/O. It fires within a fraction of a millisecond; the extra wake-ups cost a couple
// of milliseconds of CPU, and only when a takeover actually happens.

export type Clock = () => number;

/** performance.now(): monotonic milliseconds, immune to wall-clock steps. */
export const monotonicClock: Clock = () => performance.now();

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Run `fn` on the next loop turn (after pending I/O); a zero timeout by default. */
  setImmediate?(fn: () => void): unknown;
  clearImmediate?(handle: unknown): void;
}

export const nodeTimers: TimerApi = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
};

/** Below this much time left, a precise deadline stops sleeping and polls the loop. */
const PRECISE_TAIL_MS = 1.5;

export interface LatenessStats {
  fired: number;
  lastMs: number;
  meanMs: number;
  maxMs: number;
  /** Wake-ups more than 50 ms late: the event loop was blocked. */
  over50Ms: number;
}

export class DeadlineTimer {
  private handle: unknown = null;
  private immediate = false;
  private deadline: number | null = null;
  private precise = false;
  private readonly stats: LatenessStats = { fired: 0, lastMs: 0, meanMs: 0, maxMs: 0, over50Ms: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly onFire: (now: number) => void,
    private readonly timers: TimerApi = nodeTimers,
  ) {}

  /** Fire at `deadline` (monotonic ms); null disarms. Replaces any earlier deadline. */
  arm(deadline: number | null, precise = false): void {
    this.cancel();
    this.deadline = deadline;
    this.precise = precise;
    if (deadline !== null) this.sleepUntil(deadline);
  }

  cancel(): void {
    if (this.handle !== null) {
      if (this.immediate) this.timers.clearImmediate?.(this.handle);
      else this.timers.clearTimeout(this.handle);
    }
    this.handle = null;
    this.deadline = null;
  }

  private sleepUntil(deadline: number): void {
    const left = deadline - this.clock();
    const precise = this.precise && this.timers.setImmediate !== undefined;
    if (precise && left <= PRECISE_TAIL_MS) {
      this.immediate = true;
      this.handle = this.timers.setImmediate!(() => this.wake());
      return;
    }
    this.immediate = false;
    // Precise: wake early by more than the kernel's slack, then close in; otherwise round up.
    const ms = precise ? Math.floor(left - PRECISE_TAIL_MS - left * 0.002) : Math.ceil(left);
    this.handle = this.timers.setTimeout(() => this.wake(), Math.max(0, ms));
  }

  get armedFor(): number | null {
    return this.deadline;
  }

  lateness(): LatenessStats {
    return { ...this.stats };
  }

  private wake(): void {
    this.handle = null;
    const deadline = this.deadline;
    if (deadline === null) return;
    const now = this.clock();
    if (now < deadline) {
      this.sleepUntil(deadline);
      return;
    }
    const late = now - deadline;
    const s = this.stats;
    s.fired += 1;
    s.lastMs = late;
    s.meanMs += (late - s.meanMs) / s.fired;
    s.maxMs = Math.max(s.maxMs, late);
    if (late > 50) s.over50Ms += 1;
    this.deadline = null;
    this.onFire(now);
  }
}
