import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../../src/check/timer-heap.js';
import { FakeClock } from './ipvs-fixtures.js';

describe('TimerHeap', () => {
  it('runs timers in due order on a single clock timer', async () => {
    const clock = new FakeClock();
    const heap = new TimerHeap(clock);
    const order: number[] = [];
    for (const d of [50, 10, 30, 10, 40]) heap.add(d, () => order.push(d));
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(35);
    expect(order).toEqual([10, 10, 30]);
    await clock.advance(100);
    expect(order).toEqual([10, 10, 30, 40, 50]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('skips cancelled timers and re-arms for an earlier one', async () => {
    const clock = new FakeClock();
    const heap = new TimerHeap(clock);
    const ran: string[] = [];
    const a = heap.add(100, () => ran.push('a'));
    heap.add(20, () => ran.push('b'));
    heap.cancel(a);
    await clock.advance(200);
    expect(ran).toEqual(['b']);
  });

  it('runs a burst larger than one slice completely', async () => {
    const clock = new FakeClock();
    const heap = new TimerHeap(clock);
    let ran = 0;
    for (let i = 0; i < 1200; i++) heap.add(5, () => ran++);
    await clock.advance(5);
    expect(ran).toBe(1200);
  });

  it('with slack, timers due close together share one wake-up on the grid', async () => {
    const clock = new FakeClock();
    const wakeups: number[] = [];
    const orig = clock.setTimeout;
    clock.setTimeout = (fn, ms) => orig(() => { wakeups.push(clock.now()); fn(); }, ms);
    const heap = new TimerHeap(clock, 20);
    const ran: number[] = [];
    for (const d of [3, 7, 19, 21, 39, 45]) heap.add(d, () => ran.push(clock.now()));
    await clock.advance(100);
    // Nearest grid point: 3 and 7 → 0 (run at once), 19 and 21 → 20, 39 and 45 → 40.
    expect(ran).toEqual([0, 0, 20, 20, 40, 40]);
    expect(wakeups).toEqual([0, 20, 40]);
  });

  it('cancelling the head re-arms for the next timer instead of waking up for nothing', async () => {
    const clock = new FakeClock();
    const wakeups: number[] = [];
    const orig = clock.setTimeout;
    clock.setTimeout = (fn, ms) => orig(() => { wakeups.push(clock.now()); fn(); }, ms);
    const heap = new TimerHeap(clock, 20);
    const timeout = heap.add(1000, () => { throw new Error('cancelled timer ran'); });
    heap.add(1500, () => undefined);
    await clock.advance(5);
    heap.cancel(timeout);
    await clock.advance(2000);
    expect(wakeups).toEqual([1500]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('clear() drops everything', async () => {
    const clock = new FakeClock();
    const heap = new TimerHeap(clock);
    let ran = 0;
    for (let i = 0; i < 10; i++) heap.add(i, () => ran++);
    heap.clear();
    await clock.advance(100);
    expect(ran).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('TimerHeap slices by time', () => {
  it('a burst of slow timers runs a few at a time (about 50 ms of work per wake-up), all of them in the end', async () => {
    const fake = new FakeClock();
    // The callbacks "take" 5 ms each: the clock the heap reads moves on while they run.
    let busy = 0;
    const clock = {
      now: () => fake.now() + busy,
      setTimeout: (fn: () => void, ms: number) => fake.setTimeout(() => { perWake.push(0); fn(); }, ms),
      clearTimeout: (t: unknown) => fake.clearTimeout(t as never),
      random: () => 0.5,
    };
    const perWake: number[] = [];
    const heap = new TimerHeap(clock as never);
    let ran = 0;
    for (let i = 0; i < 200; i++) heap.add(5, () => { ran++; busy += 5; perWake[perWake.length - 1]!++; });
    await fake.advance(5);
    await fake.advance(1);
    expect(ran).toBe(200);
    // 16 callbacks (80 ms) pass the 50 ms budget at the first clock look: 16 per wake-up.
    expect(perWake.filter((n) => n > 0)).toEqual([...Array(12).fill(16), 8]);
  });

  it('batch(): completions delivered together read the clock once and re-arm once', async () => {
    const fake = new FakeClock();
    let reads = 0;
    let arms = 0;
    const clock = {
      now: () => { reads++; return fake.now(); },
      setTimeout: (fn: () => void, ms: number) => { arms++; return fake.setTimeout(fn, ms); },
      clearTimeout: (t: unknown) => fake.clearTimeout(t as never),
      random: () => 0.5,
    };
    const heap = new TimerHeap(clock as never);
    const ran: number[] = [];
    await fake.advance(100);
    reads = 0;
    arms = 0;
    // Three completions each reschedule their check, earliest last (each would re-arm alone).
    heap.batch(() => {
      for (const d of [300, 200, 100]) heap.add(d, () => ran.push(fake.now()));
      expect(heap.now()).toBe(100);
    });
    expect(reads).toBe(1);
    expect(arms).toBe(1);
    await fake.advance(300);
    expect(ran).toEqual([200, 300, 400]);
    // Inside a wake-up a batch uses the wake-up's time and leaves the arming to it.
    heap.add(10, () => heap.batch(() => { heap.add(5, () => ran.push(fake.now())); }));
    await fake.advance(20);
    expect(ran).toEqual([200, 300, 400, 415]);
  });
});
