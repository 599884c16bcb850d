import { describe, expect, it } from 'vitest';
import { initialTcpCheckerState, tcpCheckResult } from '../../src/check/tcp-checker.js';
import type { ProbeOutcome, TcpCheckerState } from '../../src/check/tcp-checker.js';

const NAME = '[10.0.0.2]:tcp:80';

function run(retry: number, outcomes: ProbeOutcome[], alpha = false, logAll = false) {
  let st: TcpCheckerState = initialTcpCheckerState(alpha, retry);
  return outcomes.map((o) => {
    const step = tcpCheckResult({ retry, delayLoop: 6, delayBeforeRetry: 2 }, st, o, NAME, logAll);
    st = step.state;
    return { up: st.up, delay: step.delay, change: step.change, logs: step.logs };
  });
}

describe('TCP_CHECK retry logic', () => {
  it('logs the first success and stays up without changing state', () => {
    const [a, b] = run(1, ['success', 'success']);
    expect(a).toEqual({ up: true, delay: 6, change: null, logs: [`TCP connection to ${NAME} success.`] });
    expect(b).toEqual({ up: true, delay: 6, change: null, logs: [] });
  });

  it('retries `retry` times, delay_before_retry apart, then goes down with keepalived wording', () => {
    const steps = run(3, ['success', 'failed', 'timeout', 'failed', 'failed', 'failed']);
    expect(steps.slice(1).map((s) => [s.delay, s.change])).toEqual([[2, null], [2, null], [2, null], [6, 'down'], [6, null]]);
    expect(steps[4]!.logs).toEqual([`TCP_CHECK on service ${NAME} failed after 3 retries.`]);
    expect(steps[5]!.logs).toEqual([]);
  });

  it('a success in the middle of a failure streak resets the retries', () => {
    const steps = run(1, ['success', 'failed', 'success', 'failed', 'failed']);
    expect(steps.map((s) => s.change)).toEqual([null, null, null, null, 'down']);
  });

  it('with retry 0 the first failure takes it down: "failed." without a count', () => {
    const [, b] = run(0, ['success', 'failed']);
    expect(b).toEqual({ up: false, delay: 6, change: 'down', logs: [`TCP_CHECK on service ${NAME} failed.`] });
  });

  it('a first check that fails takes a non-alpha checker down at once, whatever `retry` says', () => {
    // keepalived (check_data.c): checkers start with retry_it = retry, "one failure is enough
    // initially"; the line is "failed." (has_run is false), not "failed after N retries.".
    expect(run(0, ['failed'])[0]!.change).toBe('down');
    expect(run(3, ['failed'])[0]).toEqual({ up: false, delay: 6, change: 'down', logs: [`TCP_CHECK on service ${NAME} failed.`] });
  });

  it('alpha with retry >= 1: the first failure is logged and reported at once (keepalived)', () => {
    const [a, b] = run(2, ['failed', 'failed'], true);
    expect(a).toEqual({ up: false, delay: 6, change: 'initial-down', logs: [`TCP_CHECK on service ${NAME} failed.`] });
    expect(b).toEqual({ up: false, delay: 6, change: null, logs: [] });
  });

  it('comes back up on the first success after being down', () => {
    const steps = run(0, ['failed', 'failed', 'success']);
    expect(steps[2]).toEqual({ up: true, delay: 6, change: 'up', logs: [`TCP connection to ${NAME} success.`] });
  });

  it('alpha: starts down, the first success brings it up', () => {
    const [a] = run(1, ['success'], true);
    expect(a).toMatchObject({ up: true, change: 'up' });
  });

  it('alpha: a first failure with retry 0 is reported once (initial-down), then silence', () => {
    const steps = run(0, ['failed', 'failed'], true);
    expect(steps[0]).toEqual({ up: false, delay: 6, change: 'initial-down', logs: [`TCP_CHECK on service ${NAME} failed.`] });
    expect(steps[1]).toEqual({ up: false, delay: 6, change: null, logs: [] });
  });

  it('log_all_failures logs every failed attempt while up', () => {
    const steps = run(1, ['success', 'timeout', 'failed'], false, true);
    expect(steps[1]!.logs).toEqual([`TCP connection to ${NAME} timeout.`]);
    expect(steps[2]!.logs).toEqual([`TCP connection to ${NAME} failed.`, `TCP_CHECK on service ${NAME} failed after 1 retries.`]);
  });
});
