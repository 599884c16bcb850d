// Test hook for the checker child, to prove that no fault there reaches the VRRP side. Never set
// it in production.
//
//   HAKEEP_TEST_CHECKER_FAULT=throw|abort|oom|hang
//     throw  an uncaught exception from a timer
//     abort  process.abort() (SIGABRT, as a native crash would)
//     oom    allocate until V8 runs out of heap (set HAKEEP_CHECKER_MAX_OLD_SPACE_MB to be quick)
//     hang   a busy loop: the event loop never turns again, so heartbeats stop
//   HAKEEP_TEST_CHECKER_FAULT_AFTER_MS=N   how long after the child's first IPVS sync (default 500)
//   HAKEEP_TEST_CHECKER_FAULT_TIMES=K      only children 1..K fault (default: every one)

export type CheckerFault = 'throw' | 'abort' | 'oom' | 'hang';

const FAULTS: readonly CheckerFault[] = ['throw', 'abort', 'oom', 'hang'];

export interface FaultPlan {
  fault: CheckerFault;
  afterMs: number;
}

/** The fault this child (generation, 1 = first) must inject, or null. */
export function faultPlan(env: NodeJS.ProcessEnv, generation: number): FaultPlan | null {
  const fault = env.HAKEEP_TEST_CHECKER_FAULT as CheckerFault | undefined;
  if (!fault || !FAULTS.includes(fault)) return null;
  const times = Number(env.HAKEEP_TEST_CHECKER_FAULT_TIMES);
  if (times > 0 && generation > times) return null;
  const raw = env.HAKEEP_TEST_CHECKER_FAULT_AFTER_MS;
  const after = raw ? Number(raw) : NaN;
  return { fault, afterMs: Number.isFinite(after) && after >= 0 ? after : 500 };
}

/** Runs the fault; never returns normally for abort and hang. */
export function injectFault(fault: CheckerFault): void {
  switch (fault) {
    case 'throw':
      setTimeout(() => { throw new Error('HAKEEP_TEST_CHECKER_FAULT=throw: injected exception (test hook)'); }, 0);
      return;
    case 'abort':
      process.abort();
      return;
    case 'oom': {
      // Keeps yielding, so heartbeats go on and the death is V8's heap limit, not the watchdog.
      const hog: number[][] = [];
      const grow = (): void => {
        for (let i = 0; i < 64; i++) hog.push(new Array<number>(1 << 16).fill(i));
        setImmediate(grow);
      };
      grow();
      return;
    }
    case 'hang':
      for (;;) { /* the event loop never turns again */ }
  }
}
