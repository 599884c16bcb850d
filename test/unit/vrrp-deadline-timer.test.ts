import { describe, expect, it } from 'vitest';
import { DeadlineTimer, type TimerApi } from '../../src/vrrp/deadline-timer.js';

/** Records what the timer asks for; the test decides when each callback runs and what time it is. */
class Loop implements TimerApi {
  now = 0;
  timeouts: Array<{ ms: number; fn: () => void; id: number }> = [];
  immediates: Array<{ fn: () => void; id: number }> = [];
  private seq = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timeouts.push({ ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timeouts = this.timeouts.filter((t) => t.id !== h);
  }
  setImmediate(fn: () => void): unknown {
    const id = ++this.seq;
    this.immediates.push({ fn, id });
    return id;
  }
  clearImmediate(h: unknown): void {
    this.immediates = this.immediates.filter((t) => t.id !== h);
  }
  runTimeout(at: number): void {
    const t = this.timeouts.shift()!;
    this.now = at;
    t.fn();
  }
  runImmediate(dt: number): void {
    const t = this.immediates.shift()!;
    this.now += dt;
    t.fn();
  }
}

describe('DeadlineTimer', () => {
  it('rounds a plain deadline up and re-arms when woken early on the monotonic clock', () => {
    const loop = new Loop();
    const fired: number[] = [];
    const t = new DeadlineTimer(() => loop.now, (now) => fired.push(now), loop);
    t.arm(10.3);
    expect(loop.timeouts.map((x) => x.ms)).toEqual([11]);
    loop.runTimeout(10.2); // a cached loop time let it fire 0.1 ms early
    expect(fired).toEqual([]);
    expect(loop.timeouts.map((x) => x.ms)).toEqual([1]);
    loop.runTimeout(11);
    expect(fired).toEqual([11]);
    expect(t.lateness()).toMatchObject({ fired: 1, maxMs: expect.closeTo(0.7, 5) });
    expect(t.armedFor).toBeNull();
  });

  it('finishes a precise deadline in steps that outrun the kernel timer slack, then loop turns', () => {
    const loop = new Loop();
    const fired: number[] = [];
    const t = new DeadlineTimer(() => loop.now, (now) => fired.push(now), loop);
    t.arm(3609.4, true); // Master_Down_Interval for priority 100
    // First sleep ends early by 0.2% + 1.5 ms: epoll may add 0.1% (3.6 ms) of slack.
    expect(loop.timeouts.map((x) => x.ms)).toEqual([3600]);
    loop.runTimeout(3603.5); // woke 3.5 ms late (slack), still before the deadline
    expect(loop.timeouts.map((x) => x.ms)).toEqual([4]);
    loop.runTimeout(3608.1);
    expect(loop.immediates).toHaveLength(1);
    for (let i = 0; i < 10 && fired.length === 0; i++) loop.runImmediate(0.25);
    expect(fired).toHaveLength(1);
    expect(t.lateness().maxMs).toBeLessThan(0.25);
  });

  it('cancels and replaces pending deadlines of either kind', () => {
    const loop = new Loop();
    const fired: number[] = [];
    const t = new DeadlineTimer(() => loop.now, (now) => fired.push(now), loop);
    t.arm(1, true);
    expect(loop.immediates).toHaveLength(1); // already inside the tail
    t.arm(50);
    expect(loop.immediates).toHaveLength(0);
    expect(loop.timeouts.map((x) => x.ms)).toEqual([50]);
    t.cancel();
    expect(loop.timeouts).toHaveLength(0);
    expect(t.armedFor).toBeNull();
    t.arm(null);
    expect(fired).toEqual([]);
  });

  it('counts wake-ups more than 50 ms late (a blocked event loop)', () => {
    const loop = new Loop();
    const t = new DeadlineTimer(() => loop.now, () => undefined, loop);
    t.arm(100);
    loop.runTimeout(180);
    expect(t.lateness()).toMatchObject({ fired: 1, lastMs: 80, maxMs: 80, over50Ms: 1 });
  });
});
