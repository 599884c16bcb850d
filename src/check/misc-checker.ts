// MISC_CHECK: a program run through the shared script runner (keepalived's argument splitting,
// users, script security, a timeout that kills the process group: SIGTERM, SIGKILL 2 s later),
// with keepalived's result rules (check_misc.c:330-500):
//   - exit 0 = up with the configured weight; with misc_dynamic, exit 2-255 = up with weight
//     exit-2 (the weight changes whenever the exit code does), exit 1 = down; without
//     misc_dynamic every non-zero exit is down;
//   - a failure while up is retried `retry` times (default 0), delay_before_retry apart;
//   - killed by its timeout (misc_timeout, else the virtual server's delay_loop) = "timed out";
//   - the next run starts delay_loop (delay_before_retry while retrying) after the previous one
//     *started*, as keepalived schedules from last_ran;
//   - log lines: "Misc check for [RS VS VS] by [PROGRAM] succeeded." / "… failed after N retries
//     (exited with status 1)." / "… timed out with retry disabled." …
import { constants } from 'node:os';
import type { MiscCheck, RealServer } from '../config/model.js';
import { parseUserSpec } from '../script/users.js';
import type { ScriptJob, ScriptResult } from '../script/types.js';
import { splitCommand } from '../script/split.js';
import type { AttemptDone, CheckerRuntime, CheckStep, Outcome } from './checker.js';

export type MiscRunner = (job: ScriptJob) => Promise<ScriptResult>;

export interface MiscCheckerCtx {
  rs: RealServer;
  rsName: string;
  vsName: string;
  /** The virtual server's delay_loop (seconds): the timeout without misc_timeout. */
  vsDelayLoop: number;
  logAll: boolean;
  clock: { now(): number };
  run: MiscRunner;
  /** Orders this checker's runs in the runner (one at a time). */
  owner: string;
}

const SIGNALS = constants.signals as Record<string, number>;

export class MiscChecker implements CheckerRuntime {
  readonly type = 'MISC_CHECK' as const;
  readonly target: string;
  /** The runner times the script out itself. */
  readonly timeoutMs = null;
  lastActivity = 0;
  curWeight = 0;
  private isUp: boolean;
  private hasRun = false;
  private retryIt: number;
  private lastExit = 0;
  private lastRan = 0;
  private last: ScriptResult | null = null;
  private readonly program: string;
  private readonly user: { user: string; group?: string } | null;

  constructor(readonly check: MiscCheck, private readonly ctx: MiscCheckerCtx) {
    this.target = check.miscPath;
    this.isUp = !(check.alpha ?? ctx.rs.alpha);
    this.retryIt = check.retry;
    const split = splitCommand(check.miscPath);
    this.program = split.ok ? (split.args[0] ?? check.miscPath) : check.miscPath;
    this.user = check.user ? parseUserSpec(check.user) : null;
  }

  get up(): boolean {
    return this.isUp;
  }

  start(done: AttemptDone): () => void {
    let aborted = false;
    this.lastRan = this.ctx.clock.now();
    this.last = null;
    if (this.check.user && !this.user) {
      queueMicrotask(() => { if (!aborted) done('failed', `cannot read user "${this.check.user}"`); });
      return () => { aborted = true; };
    }
    void this.ctx.run({
      owner: this.ctx.owner, kind: 'misc_check', name: 'MISC_CHECK', command: this.check.miscPath, user: this.user,
      timeoutMs: (this.check.miscTimeout ?? this.ctx.vsDelayLoop) * 1000,
    }).then((r) => {
      if (aborted) return;
      this.last = r;
      if (r.error !== null && r.exitCode === null && r.signal === null) done('failed', r.error);
      else if (r.timedOut) done('timeout', 'timed out');
      else done(r.exitCode === 0 ? 'success' : 'failed', r.exitCode !== null ? `exit ${r.exitCode}` : `signal ${r.signal ?? '?'}`);
    });
    return () => { aborted = true; };
  }

  timeoutDetail(): string {
    return 'timed out';
  }

  result(_outcome: Outcome, detail: string): CheckStep {
    const r = this.last;
    const logs: string[] = [];
    let change: CheckStep['change'] = null;
    let weightChanged = false;
    let exitType: string | null = null;
    let success = false;
    let reason: string | null = null;
    let code = 0;
    let messageOnly = false;
    const retryStep = (): void => {
      if (this.retryIt < this.check.retry) {
        this.retryIt++;
        if (this.ctx.logAll) messageOnly = true;
        else exitType = null;
      } else {
        this.retryIt = 0;
      }
    };
    if (r && r.exitCode !== null && !r.timedOut) {
      const status = r.exitCode;
      if (status === 0 || (this.check.miscDynamic && status >= 2 && status <= 255)) {
        if (status !== this.lastExit) {
          // cur_weight = status - 2 - iweight: the effective weight becomes status - 2 (0: configured).
          const cur = status ? status - 2 - this.ctx.rs.weight : 0;
          if (cur !== this.curWeight) weightChanged = true;
          this.curWeight = cur;
          this.lastExit = status;
        }
        if (!this.isUp || !this.hasRun) {
          exitType = 'succeeded';
          success = true;
        }
        this.retryIt = 0;
      } else if (this.isUp || !this.hasRun) {
        exitType = 'failed';
        reason = 'exited with status';
        code = status;
        const before = this.retryIt;
        retryStep();
        if (this.retryIt === 0 && before >= this.check.retry) {
          if (this.curWeight !== 0) weightChanged = true;
          this.curWeight = 0;
          this.lastExit = status;
        }
      }
    } else if (this.isUp || !this.hasRun) {
      // Killed (our timeout, or a signal), or it could not be started at all.
      if (r?.timedOut) exitType = 'timed out';
      else if (r?.signal) { exitType = 'failed'; reason = 'due to signal'; code = SIGNALS[r.signal] ?? 0; }
      else { exitType = 'failed'; reason = `could not be run: ${r?.error ?? detail};`; code = -1; }
      retryStep();
    }
    if (exitType !== null) {
      let message = '';
      if (!success) {
        const n = this.check.retry;
        if (n > 0) {
          if (this.retryIt === 1) message = `, will do ${n} ${n === 1 ? 'retry' : 'retries'}`;
          else if (this.retryIt > 1) message = ` on retry ${this.retryIt - 1}/${n}`;
          else message = ` after ${n} ${n === 1 ? 'retry' : 'retries'}`;
        } else {
          message = ' with retry disabled';
        }
      }
      const head = `Misc check for [${this.ctx.rsName} VS ${this.ctx.vsName}] by [${this.program}] ${exitType}${message}`;
      logs.push(reason !== null ? (code === -1 ? `${head} (${reason.replace(/;$/, '')}).` : `${head} (${reason} ${code}).`) : `${head}.`);
      if (!messageOnly) {
        if (success) {
          if (!this.isUp) change = 'up';
          this.isUp = true;
        } else {
          if (this.isUp) change = 'down';
          else if (!this.hasRun) change = 'initial-down';
          this.isUp = false;
          if (this.curWeight !== 0) weightChanged = true;
          this.curWeight = 0;
        }
      }
    }
    this.hasRun = true;
    // Scheduled from the start of this run (check_misc.c:487-493).
    const wait = this.retryIt ? this.check.delayBeforeRetry : this.check.delayLoop;
    const delay = Math.max(0, wait - (this.ctx.clock.now() - this.lastRan) / 1000);
    return { delay, change, logs, ...(weightChanged ? { weightChanged } : {}) };
  }

  resume(up: boolean): void {
    this.isUp = up;
    this.hasRun = true;
    this.retryIt = 0;
  }
}
