// The pure rules of checker supervision: IPVS state → health, restart backoff and giving up, and
// the test hook's plan.
import { describe, expect, it } from 'vitest';
import { faultPlan } from '../../src/check/fault-hook.js';
import { RestartPolicy, allServicesRefused, giveUpDetail, ipvsState } from '../../src/check/health.js';

const err = (at: number) => ({ message: 'ipvsadm -R failed', command: 'ipvsadm -R', stderr: 'x', at });

describe('ipvsState', () => {
  it('is unsynced until a sync succeeds, whatever failed before', () => {
    expect(ipvsState(null)).toBe('unsynced');
    expect(ipvsState({ lastSyncAt: null, lastError: null })).toBe('unsynced');
    expect(ipvsState({ lastSyncAt: null, lastError: err(5) })).toBe('unsynced');
  });

  it('is failing when the last attempt failed after the last success, synced otherwise', () => {
    expect(ipvsState({ lastSyncAt: 10, lastError: null })).toBe('synced');
    expect(ipvsState({ lastSyncAt: 10, lastError: err(5) })).toBe('synced');
    expect(ipvsState({ lastSyncAt: 10, lastError: err(11) })).toBe('failing');
  });

  it('a failure isolated within a sync that then completes (same instant or earlier) is synced', () => {
    // The reconciler records an isolated service's error and then the sync's success.
    expect(ipvsState({ lastSyncAt: 10, lastError: err(10) })).toBe('synced');
  });
});

describe('every configured service refused', () => {
  const failing = (...services: string[]) => ({
    failingServices: services.map((service) => ({ service, name: null, command: `-A ${service}`, error: 'Invalid argument', since: 0, attempts: 1, nextRetryAt: 0 })),
  });
  const mine = new Set(['-t 10.0.0.1:80', '-f 7']);

  it('only when ipvsadm refuses all of them: one bad service among others is not a reason', () => {
    expect(allServicesRefused(mine, failing())).toBe(false);
    expect(allServicesRefused(mine, failing('-t 10.0.0.1:80'))).toBe(false);
    expect(allServicesRefused(mine, failing('-t 10.0.0.1:80', '-f 7'))).toBe(true);
    expect(allServicesRefused(mine, failing('-t 10.0.0.1:80', '-t 10.9.9.9:80'))).toBe(false);
    expect(allServicesRefused(new Set(), failing('-t 10.0.0.1:80'))).toBe(false);
  });

  it('reads as refused once synced', () => {
    expect(ipvsState({ lastSyncAt: 10, lastError: null }, true)).toBe('refused');
    expect(ipvsState({ lastSyncAt: null, lastError: null }, true)).toBe('unsynced');
  });
});

describe('RestartPolicy', () => {
  it('doubles the delay from 1 s for crashes in a row, up to 30 s', () => {
    const p = new RestartPolicy({ maxCrashes: 100 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = p.crashed(i * 100_000, 10); // spread out: never N in a window
      if (d.restart) delays.push(d.delayMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('a child that ran for stableMs resets the doubling', () => {
    const p = new RestartPolicy();
    expect(p.crashed(0, 5)).toEqual({ restart: true, delayMs: 1000 });
    expect(p.crashed(100_000, 5)).toEqual({ restart: true, delayMs: 2000 });
    expect(p.crashed(300_000, 60_000)).toEqual({ restart: true, delayMs: 1000 });
  });

  it('gives up at the 5th crash within 60 s, not when they are spread wider', () => {
    const p = new RestartPolicy();
    for (let i = 0; i < 4; i++) expect(p.crashed(i * 10_000, 100).restart).toBe(true);
    expect(p.crashed(40_000, 100)).toEqual({ restart: false, crashes: 5, windowMs: 60_000 });

    const q = new RestartPolicy();
    for (let i = 0; i < 10; i++) expect(q.crashed(i * 16_000, 100).restart).toBe(true);
  });

  it('says so in the agreed words', () => {
    expect(giveUpDetail(5, 60_000)).toBe('checker crashed 5 times in 60 s; giving up');
    expect(giveUpDetail(3, 1500)).toBe('checker crashed 3 times in 1500 ms; giving up');
  });
});

describe('faultPlan (test hook)', () => {
  it('is off unless a known fault is named', () => {
    expect(faultPlan({}, 1)).toBeNull();
    expect(faultPlan({ HAKEEP_TEST_CHECKER_FAULT: 'explode' }, 1)).toBeNull();
  });

  it('defaults to 500 ms after the first sync, in every child', () => {
    expect(faultPlan({ HAKEEP_TEST_CHECKER_FAULT: 'oom' }, 7)).toEqual({ fault: 'oom', afterMs: 500 });
  });

  it('limits the fault to the first K children', () => {
    const env = { HAKEEP_TEST_CHECKER_FAULT: 'hang', HAKEEP_TEST_CHECKER_FAULT_TIMES: '1', HAKEEP_TEST_CHECKER_FAULT_AFTER_MS: '0' };
    expect(faultPlan(env, 1)).toEqual({ fault: 'hang', afterMs: 0 });
    expect(faultPlan(env, 2)).toBeNull();
  });
});
