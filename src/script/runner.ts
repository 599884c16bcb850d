// The script runner: one component runs every external program hakeep runs (vrrp_script,
// notify_*, MISC_CHECK, checker notify_up/down, quorum_up/down). This module is the caller's side:
// a queue with per-owner FIFO order and a global concurrency cap, result promises, counters, and
// the log. The work (user switch, script security, spawn, timeout, capture) is in executor.ts,
// run in a small spawner process (default) or in this process ('direct', for a process that is
// itself off the VRRP path).
//
// On the caller's event loop run() only queues the job and, when it can start, serialises one
// small IPC message: no fork, no file-system call, no waiting.
//
// Output logging: each line a script prints is logged with the script's name, stdout at 'info'
// and stderr at 'warn'. A line that the same owner's script of the same name also printed on its
// previous run is logged at 'debug' instead, so a vrrp_script that prints the same thing every
// interval does not flood the log while a change still shows. At most 100 lines per run are
// logged (a count of the rest follows); the result keeps the last 4 KiB of each stream.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Executor, refusedOutcome, type ExecOutcome, type ExecRequest, type ExecutorConfig } from './executor.js';
import { findScripts, killGroupLater } from './orphans.js';
import type { LineRecord } from './protocol.js';
import { DEFAULT_SEARCH_PATH } from './security.js';
import { SpawnerClient } from './spawner-client.js';
import { needsShell, splitCommand } from './split.js';
import type { KindStats, ScriptJob, ScriptLog, ScriptLogLevel, ScriptResult } from './types.js';

export type { KindStats, ScriptJob, ScriptLog, ScriptLogLevel, ScriptResult } from './types.js';
export { checkScriptSecurity, type ScriptSecurity } from './security.js';
export { splitCommand } from './split.js';
export { parseUserSpec } from './users.js';

export interface RunnerOptions {
  /** Max concurrently running scripts (default 16). */
  maxConcurrent?: number;
  /** Default user when a job has none (global `script_user`, "USER [GROUP]"); else `keepalived_script` if that user exists, else the daemon's user with a warning (users.ts). */
  scriptUser?: string | null;
  enableScriptSecurity?: boolean;
  /** Where script output and problems go: see the header comment for levels. */
  log: ScriptLog;
  /** 'spawner' (default): a small helper child process does the forking; 'direct': spawn from this process. */
  mode?: 'spawner' | 'direct';
  /** SIGTERM → SIGKILL grace after a timeout (default 2000 ms, keepalived's: vrrp_scheduler.c:1238). */
  killGraceMs?: number;
  /** Jobs waiting beyond this are refused at once (default 10,000): a stuck owner cannot grow memory without bound. */
  maxQueued?: number;
  /** The spawner entry (default: spawner.js next to this module, i.e. dist/script/spawner.js). */
  spawnerPath?: string;
}

/** Output lines logged per run; bytes of each stream kept in the result. */
const MAX_LOG_LINES = 100;
const OUTPUT_TAIL_BYTES = 4096;
/** Beyond timeout + kill graces: how long to wait for a result before declaring the spawner hung. */
const RESULT_SLACK_MS = 10_000;
const ONCE_LIMIT = 10_000;

/**
 * The environment scripts start from. keepalived passes its own environment unchanged (execve
 * with `environ`, lib/notify.c:206; system() likewise) and sets nothing for scripts; hakeep does
 * the same, minus Node's own variables, and with keepalived's PATH fallback when there is none
 * (lib/notify.c:464-471).
 */
export function scriptBaseEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k === 'NODE_OPTIONS' || k.startsWith('NODE_CHANNEL_') || k === 'NODE_UNIQUE_ID') continue;
    out[k] = v;
  }
  if (!out.PATH) out.PATH = DEFAULT_SEARCH_PATH;
  return out;
}

interface Job {
  id: number;
  job: ScriptJob;
  req: ExecRequest;
  resolve: (r: ScriptResult) => void;
  /** Set once dispatched. */
  safety?: NodeJS.Timeout;
  pid?: number;
  lines?: Set<string>;
}

export class ScriptRunner {
  private readonly log: ScriptLog;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly killGraceMs: number;
  private readonly pending: Job[] = [];
  private readonly inFlight = new Map<number, Job>();
  private readonly busyOwners = new Set<string>();
  private readonly counters = new Map<string, KindStats>();
  private readonly splitCache = new Map<string, ReturnType<typeof splitCommand>>();
  /** What each owner+script did on its previous run (for the repeat → debug rule). */
  private readonly previous = new Map<string, { lines: Set<string>; timedOut: boolean }>();
  private readonly once = new Set<string>();
  private readonly spawner: SpawnerClient | null = null;
  private readonly direct: Executor | null = null;
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(opts: RunnerOptions) {
    this.log = opts.log;
    this.maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent ?? 16));
    this.maxQueued = Math.max(1, Math.floor(opts.maxQueued ?? 10_000));
    this.killGraceMs = Math.max(0, opts.killGraceMs ?? 2000);
    const cfg: ExecutorConfig = {
      scriptUser: opts.scriptUser ?? null,
      enableScriptSecurity: opts.enableScriptSecurity ?? false,
      baseEnv: scriptBaseEnv(),
      killGraceMs: this.killGraceMs,
      outputTailBytes: OUTPUT_TAIL_BYTES,
      maxLogLines: MAX_LOG_LINES,
    };
    if (opts.mode === 'direct') {
      this.direct = new Executor(cfg, {
        started: (id, pid) => this.onStarted(id, pid),
        line: (id, stream, text) => this.onLine(id, stream, text),
        log: (level, msg, fields, once) => this.logOnce(level, msg, fields, once),
        // Always asynchronous towards the caller, as in spawner mode.
        done: (id, outcome) => queueMicrotask(() => this.onDone(id, outcome)),
      });
    } else {
      const path = opts.spawnerPath ?? fileURLToPath(new URL('./spawner.js', import.meta.url));
      if (!existsSync(path)) {
        this.log('error', `script spawner ${path} is missing (build the project, or pass spawnerPath); scripts will fail`, { path });
      }
      this.spawner = new SpawnerClient(path, cfg, {
        started: (id, pid) => this.onStarted(id, pid),
        lines: (lines) => this.onLines(lines),
        log: (level, msg, fields, once) => this.logOnce(level, msg, fields, once),
        done: (id, outcome) => this.onDone(id, outcome),
        lost: (reason, spawnerPid) => this.onLost(reason, spawnerPid),
        available: () => this.pump(),
      });
    }
  }

  /** Queue a job; resolves with its result. Never throws, never rejects. */
  run(job: ScriptJob): Promise<ScriptResult> {
    try {
      const problem = this.closed ? 'script runner is closed' : this.validate(job);
      if (problem) return Promise.resolve(this.finishEarly(job, problem));
      if (this.pending.length >= this.maxQueued) {
        return Promise.resolve(this.finishEarly(job, `too many scripts waiting (${this.pending.length}); not run`));
      }
      const split = this.split(job.command);
      if (!split.ok) return Promise.resolve(this.finishEarly(job, `cannot parse script '${job.command}': ${split.error}`));
      const argv = job.args && job.args.length > 0 ? [...split.args, ...job.args] : split.args;
      const id = this.nextId++;
      const req: ExecRequest = {
        id, owner: job.owner, kind: job.kind, name: job.name, argv, shell: needsShell(argv),
        user: job.user ?? null, timeoutMs: job.timeoutMs, ...(job.env ? { env: job.env } : {}),
      };
      return new Promise<ScriptResult>((resolve) => {
        this.pending.push({ id, job, req, resolve });
        this.pump();
      });
    } catch (e) {
      return Promise.resolve(this.finishEarly(job, `internal error: ${(e as Error)?.message ?? String(e)}`));
    }
  }

  /** Counters by kind: runs (finished jobs, refused ones included), failures (non-zero exit, killed, lost), timeouts, refused (never started). */
  stats(): Record<string, KindStats> {
    const out: Record<string, KindStats> = {};
    for (const [k, v] of this.counters) out[k] = { ...v };
    return out;
  }

  /** Scripts running now and waiting to run. */
  load(): { running: number; queued: number } {
    return { running: this.inFlight.size, queued: this.pending.length };
  }

  /** The spawner's pid (null in direct mode or while it restarts); its restart count. */
  spawnerInfo(): { pid: number | null; restarts: number } | null {
    return this.spawner ? { pid: this.spawner.pid, restarts: this.spawner.restarts } : null;
  }

  /** Kill everything still running (process groups: SIGTERM, SIGKILL after the grace), fail what waits, stop the spawner. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    for (const j of this.pending.splice(0)) this.settle(j, refusedOutcome('script runner closed before the script started'));
    try {
      if (this.direct) await this.direct.close();
      if (this.spawner) await this.spawner.close(2 * this.killGraceMs + 3000);
    } catch {
      // close() must not fail
    }
    // Anything still out has no result coming.
    this.onLost('script runner closed');
  }

  private validate(job: ScriptJob): string | null {
    if (!job || typeof job.command !== 'string') return 'no command';
    if (typeof job.owner !== 'string' || typeof job.kind !== 'string' || typeof job.name !== 'string') return 'owner, kind and name must be strings';
    if (!(typeof job.timeoutMs === 'number' && Number.isFinite(job.timeoutMs) && job.timeoutMs > 0)) {
      return `timeoutMs must be a positive number of milliseconds, not ${String(job.timeoutMs)}`;
    }
    return null;
  }

  private split(command: string): ReturnType<typeof splitCommand> {
    let r = this.splitCache.get(command);
    if (!r) {
      r = splitCommand(command);
      if (this.splitCache.size >= 1000) this.splitCache.clear();
      this.splitCache.set(command, r);
    }
    return r;
  }

  /** Start what can start: in submission order, one per owner, up to the cap. */
  private pump(): void {
    if (this.spawner && !this.spawner.accepting()) return; // restarting: pump() again when available
    for (let i = 0; i < this.pending.length && this.inFlight.size < this.maxConcurrent;) {
      const j = this.pending[i]!;
      if (this.busyOwners.has(j.job.owner)) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      if (!this.dispatch(j)) {
        // The spawner's channel just closed: keep the job's place; its exit handler restarts it.
        this.pending.splice(i, 0, j);
        return;
      }
    }
  }

  private dispatch(j: Job): boolean {
    this.inFlight.set(j.id, j);
    this.busyOwners.add(j.job.owner);
    j.lines = new Set();
    // A result must come: executor timeout + two kill graces, plus slack for user look-ups.
    j.safety = setTimeout(() => this.onSafety(j.id), Math.min(j.req.timeoutMs + 2 * this.killGraceMs + RESULT_SLACK_MS, 0x7fffffff));
    if (this.direct) {
      this.direct.run(j.req);
      return true;
    }
    this.spawner!.setBusy(true);
    if (this.spawner!.send(j.req)) return true;
    this.inFlight.delete(j.id);
    this.busyOwners.delete(j.job.owner);
    clearTimeout(j.safety);
    this.spawner!.setBusy(this.inFlight.size > 0);
    return false;
  }

  private onSafety(id: number): void {
    const j = this.inFlight.get(id);
    if (!j) return;
    const msg = `no result for script ${j.job.name} ${j.req.timeoutMs + 2 * this.killGraceMs + RESULT_SLACK_MS} ms after it was sent`;
    this.logOnce('error', `${msg}; ${this.spawner ? 'restarting the script spawner' : 'giving up on it'}`, { script: j.job.name, owner: j.job.owner });
    this.settle(j, lostOutcome(msg), true);
    this.spawner?.kill();
  }

  private onStarted(id: number, pid: number): void {
    const j = this.inFlight.get(id);
    if (!j) return;
    j.pid = pid;
    this.log('debug', `Running script ${j.job.name} (pid ${pid})`, { ...fields(j), pid, command: j.job.command });
  }

  private onLines(lines: LineRecord[]): void {
    for (const [id, s, text] of lines) this.onLine(id, s === 0 ? 'stdout' : 'stderr', text);
  }

  private onLine(id: number, stream: 'stdout' | 'stderr', text: string): void {
    const j = this.inFlight.get(id);
    if (!j) return;
    const key = `${stream}\0${text}`;
    j.lines!.add(key);
    const seen = this.previous.get(repeatKey(j))?.lines.has(key) ?? false;
    this.log(seen ? 'debug' : stream === 'stdout' ? 'info' : 'warn', `Script ${j.job.name} ${stream}: ${text}`, { ...fields(j), stream });
  }

  private onDone(id: number, outcome: ExecOutcome): void {
    const j = this.inFlight.get(id);
    if (!j) return; // already failed (lost spawner, safety timer)
    this.settle(j, outcome);
  }

  /** The spawner died (or closed): every job out has no result coming, and its script must go. */
  private onLost(reason: string, spawnerPid: number | null = null): void {
    const unknown: Job[] = [];
    for (const j of [...this.inFlight.values()]) {
      if (j.pid !== undefined) killGroupLater(j.pid, this.killGraceMs);
      else if (spawnerPid !== null) unknown.push(j);
      this.settle(j, lostOutcome(reason), true);
    }
    if (unknown.length > 0) void this.killUnreported(unknown, spawnerPid!);
  }

  /** Scripts whose pid never arrived: find them by their HAKEEP_SCRIPT_ID (orphans.ts). */
  private async killUnreported(jobs: Job[], spawnerPid: number): Promise<void> {
    let left = new Map(jobs.map((j) => [`${spawnerPid}.${j.id}`, j]));
    // Twice: a script forked but not yet exec'd has no marker on the first look.
    for (const delay of [0, 1000]) {
      if (delay) await new Promise((r) => setTimeout(r, delay).unref());
      const found = await findScripts([...left.keys()]);
      for (const [id, pid] of found) {
        const j = left.get(id)!;
        this.log('warn', `Killing script ${j.job.name} (pid ${pid}) left running by the dead script spawner`, { ...fields(j), pid });
        killGroupLater(pid, this.killGraceMs);
      }
      left = new Map([...left].filter(([id]) => !found.has(id)));
      if (left.size === 0) return;
    }
  }

  private settle(j: Job, outcome: ExecOutcome, lost = false): void {
    if (j.safety) clearTimeout(j.safety);
    const wasOut = this.inFlight.delete(j.id);
    if (wasOut) this.busyOwners.delete(j.job.owner);
    const r = outcome.result;
    this.count(j.job.kind, r, outcome.refused);
    const f = fields(j);
    if (outcome.droppedLines > 0) this.log('info', `Script ${j.job.name}: ${outcome.droppedLines} more output lines not logged`, f);
    if (outcome.refused) {
      this.logOnce('warn', `Script ${j.job.name} not run: ${r.error}`, f, `refused\0${j.job.owner}\0${j.job.name}\0${r.error}`, 'debug');
    } else if (lost) {
      this.log('error', `Script ${j.job.name}: ${r.error}`, f);
    } else {
      const how = r.error ?? (r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`);
      if (r.timedOut) {
        // warn when it starts timing out, debug while it keeps doing so
        const again = this.previous.get(repeatKey(j))?.timedOut ?? false;
        this.log(again ? 'debug' : 'warn', `Script ${j.job.name} timed out after ${j.req.timeoutMs} ms; its process group was killed (${how})`, f);
      } else {
        this.log('debug', `Script ${j.job.name} ${how} (${r.durationMs.toFixed(1)} ms)`, f);
      }
    }
    if (j.lines && !outcome.refused) {
      const k = repeatKey(j);
      if (!this.previous.has(k) && this.previous.size >= ONCE_LIMIT) this.previous.clear();
      this.previous.set(k, { lines: j.lines, timedOut: r.timedOut });
    }
    if (this.spawner && wasOut && this.inFlight.size === 0) this.spawner.setBusy(false);
    j.resolve(r);
    if (wasOut && !this.closed) this.pump();
  }

  private finishEarly(job: ScriptJob, error: string): ScriptResult {
    const kind = typeof job?.kind === 'string' ? job.kind : 'unknown';
    const name = typeof job?.name === 'string' ? job.name : '?';
    const outcome = refusedOutcome(error);
    this.count(kind, outcome.result, true);
    this.logOnce('warn', `Script ${name} not run: ${error}`, { script: name, kind, owner: job?.owner }, `refused\0${job?.owner}\0${name}\0${error}`, 'debug');
    return outcome.result;
  }

  private count(kind: string, r: ScriptResult, refused: boolean): void {
    let c = this.counters.get(kind);
    if (!c) this.counters.set(kind, (c = { runs: 0, failures: 0, timeouts: 0, refused: 0 }));
    c.runs++;
    if (refused) c.refused++;
    else if (r.timedOut) c.timeouts++;
    else if (r.exitCode !== 0 || r.error !== null) c.failures++;
  }

  /** Log; with a key, only the first time (later ones at `repeatLevel`, or not at all). */
  private logOnce(level: ScriptLogLevel, msg: string, f: Record<string, unknown>, key?: string, repeatLevel?: ScriptLogLevel): void {
    if (key !== undefined) {
      if (this.once.has(key)) {
        if (repeatLevel) this.log(repeatLevel, msg, f);
        return;
      }
      if (this.once.size >= ONCE_LIMIT) this.once.clear();
      this.once.add(key);
    }
    this.log(level, msg, f);
  }
}

function fields(j: Job): Record<string, unknown> {
  return { script: j.job.name, kind: j.job.kind, owner: j.job.owner };
}

function repeatKey(j: Job): string {
  return `${j.job.owner}\0${j.job.name}`;
}

function lostOutcome(error: string): ExecOutcome {
  return {
    result: { exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error },
    refused: false,
    droppedLines: 0,
  };
}

