// One re-armable timer per instance on the monotonic clock, measuring how late it fires.
// Node timers have millisecond granularity and fire on a cached loop time, so a wake-up can come a
// fraction of a millisecond early on the monotonic clock: then we re-arm for the remainder rather
// than hand the state machine a time before its deadline.

export type Clock = () => number;

/** performance.now(): monotonic milliseconds, immune to wall-clock steps. */
export const monotonicClock: Clock = () => performance.now();

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const nodeTimers: TimerApi = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

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
  private deadline: number | null = null;
  private readonly stats: LatenessStats = { fired: 0, lastMs: 0, meanMs: 0, maxMs: 0, over50Ms: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly onFire: (now: number) => void,
    private readonly timers: TimerApi = nodeTimers,
  ) {}

  /** Fire at `deadline` (monotonic ms); null disarms. Replaces any earlier deadline. */
  arm(deadline: number | null): void {
    this.cancel();
    this.deadline = deadline;
    if (deadline === null) return;
    const wait = Math.max(0, Math.ceil(deadline - this.clock()));
    this.handle = this.timers.setTimeout(() => this.wake(), wait);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
    this.deadline = null;
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
      this.arm(deadline);
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
