// vrrp_script: one scheduler per script, however many instances and sync groups track it. The
// script itself runs in the shared script runner (src/script/runner.ts), whose spawner process
// does the forking, so nothing here blocks the VRRP event loop: a run is one queued job.
//
// keepalived's rules (2.2.7):
//   - the first run at start, then one every `interval`, measured from start to start
//     (vrrp_scheduler.c:1195-1198 re-arms the timer before running);
//   - never two runs of one script at once: keepalived logs "Track script X is already running,
//     expect idle - skipping run" (vrrp_scheduler.c:1200-1204); here the next run waits for the
//     current one and starts as soon as it ends;
//   - `timeout` (default: the interval) ends a run: the runner kills its process group (SIGTERM,
//     SIGKILL 2 s later, vrrp_scheduler.c:1226-1250) and that run counts as a failure, logged
//     "VRRP_Script(X) timed_out";
//   - exit status 0 is success; anything else (or a signal) is failure;
//   - rise/fall hysteresis with keepalived's counter (vrrp_scheduler.c:1351-1381): the counter runs
//     from 0 to rise+fall-1; the state turns OK after `rise` consecutive successes and FAILED after
//     `fall` consecutive failures. Until the first result the script is "init": its first result
//     decides at once, whatever rise and fall say (the counter starts at rise-1, and the first
//     failure in init always counts, vrrp_scheduler.c:357-363, 1371-1373). With init_fail it
//     starts FAILED (counter 0) and needs `rise` successes;
//   - log lines: "VRRP_Script(X) succeeded", "VRRP_Script(X) failed (exited with status N)",
//     "VRRP_Script(X) failed (due to signal N)", "VRRP_Script(X) timed_out", only on transitions;
//     "Script `X` now returning N" whenever the exit status differs from the previous one.
//   - what init means for the trackers (vrrp_track.c:601-643, 658-690): a weighted script adds
//     nothing until its first result; an instance with a weight-0 script waits in FAULT until the
//     first result (keepalived keeps it in INIT, logged as "Entering FAULT STATE (init)", and sends
//     no notify for it); init_fail + weight 0 means FAULT at start, logged
//     "(VI_1): entering FAULT state due to script X".
import { constants } from 'node:os';
import type { VrrpScript } from '../../config/model.js';
import type { ScriptJob, ScriptResult } from '../../script/types.js';
import {
  bindingStatus, effectOf, Publisher, type Binding, type ScriptStatus, type TrackerContext,
} from './types.js';

/** What the scheduler needs from the script runner (src/script/runner.ts ScriptRunner). */
export interface ScriptRunnerLike {
  run(job: ScriptJob): Promise<ScriptResult>;
}

/** The detail of the fault a weight-0 script gives before its first result. */
export const SCRIPT_INIT_DETAIL = 'no result yet (init)';

interface Outcome {
  ok: boolean;
  /** keepalived's words after "VRRP_Script(X) ". */
  words: string;
  exitStatus: number | null;
}

export function outcomeOf(res: ScriptResult): Outcome {
  if (res.timedOut) return { ok: false, words: 'timed_out', exitStatus: null };
  if (res.error !== null) return { ok: false, words: `failed (could not run: ${res.error})`, exitStatus: null };
  if (res.exitCode === 0) return { ok: true, words: 'succeeded', exitStatus: 0 };
  if (res.exitCode !== null) return { ok: false, words: `failed (exited with status ${res.exitCode})`, exitStatus: res.exitCode };
  const sig = res.signal !== null ? (constants.signals as Record<string, number>)[res.signal] ?? res.signal : '?';
  return { ok: false, words: `failed (due to signal ${sig})`, exitStatus: null };
}

/** `user USER [GROUP]` of a vrrp_script. */
function userOf(user: string | null): ScriptJob['user'] {
  if (!user) return null;
  const [u, g] = user.split(/\s+/);
  return g ? { user: u!, group: g } : { user: u! };
}

export class ScriptTracker {
  /** keepalived's vscript->result. */
  private result: number;
  private initState: 'init' | 'failed' | 'done';
  /** null until the first result (init). */
  private up: boolean | null;
  private running = false;
  private pending = false;
  private stopped = false;
  private timer: unknown = null;
  private nextAt = 0;
  private lastStatus = 0;
  private lastWords: string | null = null;
  private runs = 0;
  private lastRunAt: number | null = null;
  private readonly pub: Publisher;
  private readonly intervalMs: number;

  constructor(
    readonly def: VrrpScript,
    readonly bindings: readonly Binding[],
    private readonly ctx: TrackerContext,
    private readonly runner: ScriptRunnerLike,
    /** A reload: the state this script had in the previous configuration (keepalived's
     * INIT_RELOAD), so its instances do not fall back to init (FAULT for weight 0). */
    seed?: { up: boolean } | null,
  ) {
    this.intervalMs = Math.max(1, def.interval * 1000);
    this.initState = def.initFail ? 'failed' : 'init';
    this.result = def.initFail ? 0 : def.rise - 1;
    this.up = def.initFail ? false : null;
    if (def.initFail) this.lastWords = 'failed (init_fail)';
    if (seed) {
      this.initState = 'done';
      this.up = seed.up;
      this.result = seed.up ? def.rise + def.fall - 1 : 0;
      this.lastWords = null;
    }
    this.pub = new Publisher(ctx, 'script', def.name, `script:${def.name}`);
  }

  /** Publish the initial state, then run now and every interval. */
  start(): void {
    for (const b of this.bindings) {
      this.apply(b);
      if (this.up === false && b.weight === 0 && effectOf(b, false).fault) {
        this.ctx.log.info({ instance: b.instance, script: this.def.name }, `(${b.instance}): entering FAULT state due to script ${this.def.name}`);
      }
    }
    this.nextAt = this.ctx.clock();
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.ctx.timers.clearTimeout(this.timer);
    this.timer = null;
    this.pub.withdraw();
  }

  status(): ScriptStatus {
    return {
      name: this.def.name,
      state: this.up === null ? 'init' : this.up ? 'ok' : 'failed',
      running: this.running,
      runs: this.runs,
      lastExit: this.lastWords,
      lastRunAt: this.lastRunAt,
      bindings: this.bindings.map((b) => bindingStatus(b, this.pub)),
    };
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.ctx.clock();
    this.nextAt += this.intervalMs;
    if (this.nextAt <= now) this.nextAt = now + this.intervalMs; // the loop was stalled: start over
    this.timer = this.ctx.timers.setTimeout(() => {
      this.timer = null;
      this.tick();
    }, this.nextAt - now);
    if (this.running) {
      if (!this.pending) {
        this.ctx.log.info({ script: this.def.name }, `Track script ${this.def.name} is already running, expect idle - the next run starts when it ends`);
      }
      this.pending = true;
      return;
    }
    this.launch();
  }

  private launch(): void {
    this.running = true;
    this.runs++;
    this.lastRunAt = this.ctx.clock();
    const job: ScriptJob = {
      owner: `vrrp_script:${this.def.name}`, kind: 'vrrp_script', name: this.def.name, command: this.def.script,
      user: userOf(this.def.user), timeoutMs: Math.max(1, this.def.timeout * 1000),
    };
    let p: Promise<ScriptResult>;
    try {
      p = this.runner.run(job);
    } catch (e) {
      p = Promise.resolve({ exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error: (e as Error).message });
    }
    p.then((res) => this.finished(res), (e: unknown) => this.finished({
      exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error: String(e),
    }));
  }

  private finished(res: ScriptResult): void {
    this.running = false;
    if (this.stopped) return;
    this.record(outcomeOf(res));
    if (this.pending) {
      this.pending = false;
      this.launch();
    }
  }

  /** keepalived's hysteresis (vrrp_scheduler.c:1351-1381). Exposed for the unit tests. */
  record(o: Outcome): void {
    const { rise, fall } = this.def;
    if (o.exitStatus !== null && o.exitStatus !== this.lastStatus) {
      this.ctx.log.info({ script: this.def.name, status: o.exitStatus }, `Script \`${this.def.name}\` now returning ${o.exitStatus}`);
    }
    if (o.exitStatus !== null) this.lastStatus = o.exitStatus;
    if (o.ok) {
      if (this.result < rise - 1) {
        this.result++;
      } else if (this.result !== rise + fall - 1) {
        if (this.result < rise) this.transition(true, o.words);
        this.result = rise + fall - 1;
      }
    } else if (this.result > rise) {
      this.result--;
    } else {
      if (this.result === rise || this.initState === 'init') this.transition(false, o.words);
      this.result = 0;
    }
    this.initState = 'done';
  }

  private transition(up: boolean, words: string): void {
    this.ctx.log.info({ script: this.def.name, ok: up }, `VRRP_Script(${this.def.name}) ${words}`);
    this.up = up;
    this.lastWords = words;
    for (const b of this.bindings) this.apply(b);
  }

  private apply(b: Binding): void {
    if (this.up === null) {
      this.pub.publish(b, b.weight === 0 ? SCRIPT_INIT_DETAIL : null, 0);
      return;
    }
    const e = effectOf(b, this.up);
    const detail = e.fault ? (this.up ? 'succeeded (weight 0 reverse)' : this.lastWords ?? 'failed') : null;
    this.pub.publish(b, detail, e.weight);
  }
}
