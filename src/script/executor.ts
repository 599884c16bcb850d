// Runs one script: user, program resolution and script security, spawn in its own session,
// timeout (SIGTERM to the group, SIGKILL after a grace), output capture. Used inside the spawner
// process, or in-process by a runner in 'direct' mode. It does no queueing: the runner decides
// what runs when. Every outcome is reported through `done` exactly once; nothing throws.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { SCRIPT_ID_VAR } from './orphans.js';
import { LineSplitter, OutputTail } from './output.js';
import { checkScriptSecurity, DEFAULT_SEARCH_PATH } from './security.js';
import { shellCommandString } from './split.js';
import type { ScriptLogLevel, ScriptResult } from './types.js';
import { resolveDefaultUser, UserDirectory, type IdsOrError, type ScriptIds } from './users.js';

export interface ExecutorConfig {
  scriptUser: string | null;
  enableScriptSecurity: boolean;
  /** The environment every script starts from (see runner.ts, scriptBaseEnv). */
  baseEnv: Record<string, string>;
  /** SIGTERM → SIGKILL grace after a timeout, and the wait after SIGKILL before giving up. */
  killGraceMs: number;
  /** Bytes of stdout and of stderr kept for the result. */
  outputTailBytes: number;
  /** Output lines per run handed to the log (both streams); the rest are counted. */
  maxLogLines: number;
  /** Spawner mode: each script gets HAKEEP_SCRIPT_ID=<prefix><job id>, so that the runner can find it if the spawner dies (orphans.ts). */
  scriptIdPrefix?: string | null;
}

export interface ExecRequest {
  id: number;
  owner: string;
  kind: string;
  name: string;
  /** Split words plus the job's extra arguments. */
  argv: string[];
  /** keepalived's "</file" test: run through /bin/sh -c (split.ts, needsShell). */
  shell: boolean;
  user: { user: string; group?: string } | null;
  timeoutMs: number;
  env?: Record<string, string>;
}

export interface ExecOutcome {
  result: ScriptResult;
  /** Not started: refused (security, user, not found, not executable) or spawn failed. */
  refused: boolean;
  /** Output lines not logged because of maxLogLines. */
  droppedLines: number;
}

export interface ExecEvents {
  started(id: number, pid: number): void;
  line(id: number, stream: 'stdout' | 'stderr', text: string): void;
  /** A message of the executor's own; `once` = log only the first message with this key. */
  log(level: ScriptLogLevel, msg: string, fields: Record<string, unknown>, once?: string): void;
  done(id: number, outcome: ExecOutcome): void;
}

interface Running {
  req: ExecRequest;
  child: ChildProcess;
  pid: number;
}

export class Executor {
  private readonly users = new UserDirectory();
  private readonly running = new Map<number, Running>();
  private defaultUser: { at: number; value: Promise<IdsOrError> } | null = null;
  private closed = false;

  constructor(private readonly cfg: ExecutorConfig, private readonly ev: ExecEvents) {}

  get size(): number {
    return this.running.size;
  }

  run(req: ExecRequest): void {
    this.start(req).catch((e: unknown) => {
      // A bug here must still answer the job.
      this.ev.done(req.id, refusedOutcome(`internal error: ${(e as Error)?.message ?? String(e)}`));
    });
  }

  /** Signal every running script's process group (close: SIGTERM, then SIGKILL). */
  signalAll(sig: NodeJS.Signals): void {
    for (const r of this.running.values()) killGroup(r.pid, sig);
  }

  /** Stop: refuse new work, SIGTERM every group, SIGKILL what is left after the grace. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.running.size === 0) return;
    this.signalAll('SIGTERM');
    const deadline = Date.now() + this.cfg.killGraceMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(20);
    this.signalAll('SIGKILL');
    const end = Date.now() + this.cfg.killGraceMs;
    while (this.running.size > 0 && Date.now() < end) await sleep(20);
  }

  private async start(req: ExecRequest): Promise<void> {
    const t0 = performance.now();
    const refuse = (error: string): void => this.ev.done(req.id, refusedOutcome(error, performance.now() - t0));
    if (this.closed) return refuse('script runner is closing');
    const fields = { script: req.name, kind: req.kind, owner: req.owner };

    let ids: ScriptIds;
    if (req.user) {
      const r = await this.users.resolve(req.user.user, req.user.group);
      if (!r.ok) return refuse(r.error);
      ids = r.ids;
    } else {
      const r = await this.resolveDefault(fields);
      if (!r.ok) return refuse(r.error);
      ids = r.ids;
    }
    if (this.closed) return refuse('script runner is closing');

    const env: Record<string, string> = { ...this.cfg.baseEnv, ...req.env };
    if (this.cfg.scriptIdPrefix) env[SCRIPT_ID_VAR] = `${this.cfg.scriptIdPrefix}${req.id}`;
    let file: string;
    let args: string[];
    if (req.shell) {
      // lib/notify.c:210-211: system() = /bin/sh -c with keepalived's quoting; no security check
      // (check_script_secure returns SC_SYSTEM before any, lib/notify.c:715-717).
      file = '/bin/sh';
      args = ['-c', shellCommandString(req.argv)];
    } else {
      const program = req.argv[0]!;
      // PATH search uses the script's PATH (the daemon's unless the job sets one).
      const sec = checkScriptSecurity(program, ids.uid, { gid: ids.gid, searchPath: env.PATH ?? DEFAULT_SEARCH_PATH });
      if (!sec.ok) {
        if (sec.problem !== 'unsafe') return refuse(`${sec.unsafePath}: ${sec.why}`);
        if (this.cfg.enableScriptSecurity) {
          return refuse(`refused by enable_script_security: ${sec.unsafePath} ${sec.why}`);
        }
        // lib/notify.c:682-684: logged, and run anyway.
        this.ev.log('warn', `Unsafe permissions found for script '${program}': ${sec.unsafePath} ${sec.why} (enable_script_security would refuse it)`,
          { ...fields, unsafePath: sec.unsafePath }, `unsafe:${program}:${ids.uid}`);
      }
      if (sec.searched) {
        // lib/notify.c:554
        this.ev.log('warn', `WARNING - script \`${program}\` resolved by path search to \`${sec.path}\`. Please specify full path.`, fields, `searched:${program}`);
      }
      if (!this.cfg.enableScriptSecurity) {
        // Any script at all, whoever runs it (SC_ISSCRIPT, lib/notify.c:824; vrrp.c:260-262,
        // check_data.c:1064-1066). keepalived says it once at config load; hakeep at first run.
        this.ev.log('warn', 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.', {}, 'security-violation');
      }
      file = sec.path;
      args = req.argv.slice(1);
    }
    this.spawnScript(req, file, args, ids, env);
  }

  private resolveDefault(fields: Record<string, unknown>): Promise<IdsOrError> {
    // Cached: keepalived decides once per config load; re-checked now and then so that creating
    // keepalived_script takes effect without a restart.
    const now = performance.now();
    if (!this.defaultUser || now - this.defaultUser.at > 30_000) {
      const value = resolveDefaultUser(this.users, this.cfg.scriptUser, this.cfg.enableScriptSecurity).then((d) => {
        if (d.warning) this.ev.log('warn', d.warning, fields, 'default-user-root');
        return d.result;
      });
      this.defaultUser = { at: now, value };
    }
    return this.defaultUser.value;
  }

  private spawnScript(req: ExecRequest, file: string, args: string[], ids: ScriptIds, env: Record<string, string>): void {
    // durationMs is the script's own run time: from spawn to exit.
    const t0 = performance.now();
    const sameIds = ids.uid === process.geteuid?.() && ids.gid === process.getegid?.();
    let child: ChildProcess;
    try {
      // detached: setsid(), so the script leads its own process group and a timeout can kill
      // everything it started (keepalived: setpgid(0, 0), lib/notify.c:197-199). cwd "/" as the
      // daemonised keepalived (core/daemon.c:62). stdin is /dev/null (core/daemon.c:66).
      // uid/gid make libuv call setgroups(0), setgid, setuid: no supplementary groups, the same
      // access as keepalived's setgroups(1, &gid) (lib/notify.c:75-93).
      child = spawn(file, args, {
        cwd: '/', env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
        ...(sameIds ? {} : { uid: ids.uid, gid: ids.gid }),
      });
    } catch (e) {
      this.ev.done(req.id, refusedOutcome(`cannot start ${file}: ${(e as Error).message}`, performance.now() - t0));
      return;
    }

    const out = new OutputTail(this.cfg.outputTailBytes);
    const err = new OutputTail(this.cfg.outputTailBytes);
    let logged = 0;
    let dropped = 0;
    let finished = false;
    const lineTo = (stream: 'stdout' | 'stderr') => (text: string): void => {
      if (finished) return;
      if (logged < this.cfg.maxLogLines) {
        logged++;
        this.ev.line(req.id, stream, text);
      } else dropped++;
    };
    const outLines = new LineSplitter(lineTo('stdout'));
    const errLines = new LineSplitter(lineTo('stderr'));
    child.stdout!.on('data', (c: Buffer) => { if (!finished) { out.push(c); outLines.push(c); } });
    child.stderr!.on('data', (c: Buffer) => { if (!finished) { err.push(c); errLines.push(c); } });

    let timedOut = false;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let exitedAt = 0;
    let error: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    const pid = child.pid;

    const finish = (): void => {
      if (finished) return;
      outLines.end();
      errLines.end();
      finished = true;
      for (const t of timers) clearTimeout(t);
      this.running.delete(req.id);
      // A background child may still hold the pipes: keep draining them (discarding), but never
      // let them keep this process alive or block the result.
      for (const s of [child.stdout, child.stderr]) (s as Socket | null)?.unref?.();
      this.ev.done(req.id, {
        result: {
          exitCode, signal, timedOut, error,
          durationMs: Math.round(((exitedAt || performance.now()) - t0) * 1000) / 1000,
          stdout: out.text(), stderr: err.text(),
        },
        refused: false,
        droppedLines: dropped,
      });
    };

    child.on('error', (e: NodeJS.ErrnoException) => {
      if (pid !== undefined) return; // a failed kill(), not a failed start
      this.ev.done(req.id, refusedOutcome(spawnErrorText(e, file, ids), performance.now() - t0));
    });
    if (pid === undefined) return;

    this.running.set(req.id, { req, child, pid });
    this.ev.started(req.id, pid);

    child.on('exit', (code, sig) => {
      exitedAt = performance.now();
      exitCode = code;
      signal = sig;
      // After a timeout the whole group goes, not just the leader (vrrp_scheduler.c:1327-1333
      // does this when the leader died of our SIGTERM; hakeep also does it when it trapped it).
      if (timedOut) killGroup(pid, 'SIGKILL');
      // 'exit' can precede the last data: wait for both pipes to end, briefly.
      let open = 2;
      const ended = (): void => { if (--open === 0) finish(); };
      for (const s of [child.stdout!, child.stderr!]) {
        if (s.readableEnded) ended();
        else s.once('end', ended);
      }
      timers.push(setTimeout(finish, 100));
    });

    // Timeout: SIGTERM to the group, SIGKILL after the grace (vrrp_scheduler.c:1228-1246,
    // check_misc.c:319-334: 2 s each step), then stop waiting after another grace.
    timers.push(setTimeout(() => {
      timedOut = true;
      killGroup(pid, 'SIGTERM');
      timers.push(setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        timers.push(setTimeout(() => {
          error = `script did not terminate after SIGKILL (pid ${pid})`;
          this.ev.log('error', `Script ${req.name} child (PID ${pid}) failed to terminate after kill`, { script: req.name, pid });
          finish();
        }, this.cfg.killGraceMs));
      }, this.cfg.killGraceMs));
    }, Math.min(req.timeoutMs, 0x7fffffff)));
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: already gone. EPERM cannot happen for our own children's groups as root.
  }
}

function spawnErrorText(e: NodeJS.ErrnoException, file: string, ids: ScriptIds): string {
  switch (e.code) {
    case 'ENOENT': return `${file}: not found`;
    case 'EACCES': return `${file}: permission denied (not executable by ${ids.user})`;
    case 'EPERM': return `cannot run ${file} as ${ids.user} (uid ${ids.uid}, gid ${ids.gid}): operation not permitted`;
    default: return `cannot start ${file}: ${e.code ?? e.message}`;
  }
}

export function refusedOutcome(error: string, durationMs = 0): ExecOutcome {
  return {
    result: { exitCode: null, signal: null, timedOut: false, durationMs: Math.round(durationMs * 1000) / 1000, stdout: '', stderr: '', error },
    refused: true,
    droppedLines: 0,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
