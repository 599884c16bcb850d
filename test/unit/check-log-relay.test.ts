// The daemon-side relay of the checker child's log lines: slices per event-loop turn, a bounded
// queue, and a burst of 10,000 lines that never holds the daemon's loop.
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/check/child-protocol.js';
import { LogRelay } from '../../src/check/log-relay.js';
import type { Logger } from '../../src/daemon/log.js';

function sink(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_fields: unknown, msg: string) => { lines.push({ level, msg }); };
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { log, lines };
}

const recs = (n: number, from = 0): LogRecord[] =>
  Array.from({ length: n }, (_, i) => ({ level: 'info', msg: `line ${from + i}`, fields: { i: from + i } }));

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LogRelay', () => {
  it('writes at most `slice` records per turn, in order', async () => {
    const { log, lines } = sink();
    const relay = new LogRelay(log, { slice: 200 });
    relay.push(recs(1000));
    expect(lines).toHaveLength(0);
    await turn();
    expect(lines).toHaveLength(200);
    await turn();
    expect(lines).toHaveLength(400);
    for (let i = 0; i < 5; i++) await turn();
    expect(lines.map((l) => l.msg)).toEqual(recs(1000).map((r) => r.msg));
  });

  it('drops what exceeds the bound and says how many, once the queue has drained', async () => {
    const { log, lines } = sink();
    const relay = new LogRelay(log, { slice: 100, max: 300 });
    relay.push(recs(250));
    relay.push(recs(250, 250));
    expect(relay.waiting).toBe(300);
    while (relay.waiting > 0) await turn();
    await turn();
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(300);
    expect(lines.at(-1)).toEqual({ level: 'warn', msg: '200 checker log line(s) dropped: more than 300 were waiting to be written' });
  });

  it('drainAll writes everything at once (stop)', () => {
    const { log, lines } = sink();
    const relay = new LogRelay(log);
    relay.push(recs(5000));
    relay.drainAll();
    expect(lines).toHaveLength(5000);
    expect(relay.waiting).toBe(0);
  });

  it('a burst of 10,000 lines through a real logger costs each loop turn a small slice of the whole', async () => {
    const { pino } = await import('pino');
    const { Writable } = await import('node:stream');
    let written = 0;
    const log = pino({ level: 'info' }, new Writable({ write(_c, _e, cb) { written++; cb(); } }));
    const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
    // CPU time, not wall time: a busy host's scheduling must not decide the test.
    const all = new LogRelay(log);
    all.push(recs(10_000));
    const c0 = process.cpuUsage();
    all.drainAll();
    const wholeMs = cpuMs(process.cpuUsage(c0));

    const relay = new LogRelay(log);
    relay.push(recs(10_000));
    const perTurn: number[] = [];
    let last = process.cpuUsage();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const d = process.cpuUsage(last);
        last = process.cpuUsage();
        perTurn.push(cpuMs(d));
        if (relay.waiting > 0) setImmediate(tick);
        else resolve();
      };
      setImmediate(tick);
    });
    expect(written).toBe(20_000);
    expect(perTurn.length).toBeGreaterThanOrEqual(50);
    // process.cpuUsage counts every thread (a garbage collection lands in some turn): judge the
    // typical turn, and bound the worst one loosely.
    const sorted = [...perTurn].sort((a, b) => a - b);
    const p90 = sorted[Math.floor(sorted.length * 0.9)]!;
    const what = `p90 turn ${p90.toFixed(2)} ms, worst ${sorted.at(-1)!.toFixed(2)} ms of CPU; the whole burst ${wholeMs.toFixed(2)} ms`;
    expect(p90, what).toBeLessThan(wholeMs / 10);
    expect(sorted.at(-1)!, what).toBeLessThan(wholeMs / 2);
  });
});
