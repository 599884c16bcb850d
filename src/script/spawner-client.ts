// The runner's side of the spawner process: fork it, send it work, relay what it reports,
// restart it when it dies (with a short back-off if it dies young), stop it on close.
import { fork, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import type { Socket } from 'node:net';
import type { ExecOutcome, ExecRequest, ExecutorConfig } from './executor.js';
import { LineSplitter, OutputTail } from './output.js';
import type { FromSpawner, LineRecord, ToSpawner } from './protocol.js';
import type { ScriptLogLevel } from './types.js';

export interface SpawnerHandlers {
  started(id: number, pid: number): void;
  lines(lines: LineRecord[]): void;
  log(level: ScriptLogLevel, msg: string, fields: Record<string, unknown>, once?: string): void;
  done(id: number, outcome: ExecOutcome): void;
  /** The spawner (pid) is gone: every job sent to it has no result coming. */
  lost(reason: string, spawnerPid: number | null): void;
  /** A (new) spawner can take work. */
  available(): void;
}

/**
 * How many nice steps below the process that starts it a helper process runs (the checker child
 * below the daemon, the script spawner below its runner's process), so that on a saturated CPU
 * the kernel runs the VRRP loop first. keepalived leaves both at the same priority unless
 * vrrp_priority / checker_priority say otherwise; hakeep does this by default (docs/architecture.md).
 */
export const HELPER_NICE_STEP = 5;

/**
 * Put process `pid` (a child just forked) HELPER_NICE_STEP nice steps below this process (capped
 * at 19). Returns the nice value set, or an error text (the child then runs at this process's
 * priority: the caller logs it; nothing else changes).
 */
export function lowerHelperPriority(pid: number | undefined): number | string {
  if (pid === undefined) return 'no pid';
  try {
    const target = Math.min(19, getPriority() + HELPER_NICE_STEP);
    setPriority(pid, target);
    return target;
  } catch (e) {
    return (e as Error).message;
  }
}

const YOUNG_MS = 2000;
const MAX_BACKOFF_MS = 2000;

export class SpawnerClient {
  private child: ChildProcess | null = null;
  private startedAt = 0;
  /** The current spawner answered 'init'. */
  private ready = false;
  private youngDeaths = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private refd = false;
  private stderrTail = new OutputTail(2048);
  restarts = 0;

  constructor(
    private readonly path: string,
    private readonly cfg: ExecutorConfig,
    private readonly h: SpawnerHandlers,
  ) {
    this.start();
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** A spawner exists (possibly still starting): messages sent now reach it or fail its jobs. */
  accepting(): boolean {
    return this.child !== null && this.child.connected && !this.closing;
  }

  send(req: ExecRequest): boolean {
    return this.post({ t: 'run', req });
  }

  /** Keep the caller's process alive while jobs are out (and only then). */
  setBusy(busy: boolean): void {
    if (busy === this.refd || !this.child) return;
    this.refd = busy;
    if (busy) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }

  /** Kill the spawner (a hung one); its exit handler reports the loss and restarts it. */
  kill(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Ask the spawner to stop its scripts and exit; SIGKILL it if it takes longer than `limitMs`. */
  async close(limitMs: number): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.once('exit', () => setTimeout(resolve, 1000).unref());
    });
    this.setBusy(true);
    this.post({ t: 'close' });
    const timer = setTimeout(() => {
      this.h.log('warn', 'script spawner did not stop in time; killing it', { pid: child.pid });
      child.kill('SIGKILL');
    }, limitMs);
    await exited;
    clearTimeout(timer);
  }

  private post(m: ToSpawner): boolean {
    const child = this.child;
    if (!child || !child.connected) return false;
    try {
      child.send(m);
      return true;
    } catch {
      return false;
    }
  }

  private start(): void {
    this.restartTimer = null;
    if (this.closing) return;
    let child: ChildProcess;
    try {
      // execArgv []: none of the daemon's Node flags (inspector, heap size) in this small process.
      child = fork(this.path, [], {
        execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: this.cfg.baseEnv, serialization: 'json',
      });
    } catch (e) {
      this.h.log('error', `cannot start the script spawner: ${(e as Error).message}`, { path: this.path });
      this.scheduleRestart();
      return;
    }
    this.child = child;
    const nice = lowerHelperPriority(child.pid);
    if (typeof nice === 'string' && child.pid !== undefined) {
      this.h.log('warn', `cannot lower the script spawner's CPU priority (it runs at this process's): ${nice}`, { pid: child.pid }, 'spawner-nice');
    }
    this.ready = false;
    this.startedAt = performance.now();
    this.refd = true;
    this.stderrTail = new OutputTail(2048);
    const errLines = new LineSplitter((line) => this.h.log('warn', `script spawner: ${line}`, { pid: child.pid }));
    child.stderr?.on('data', (c: Buffer) => { this.stderrTail.push(c); errLines.push(c); });
    (child.stderr as Socket | null)?.unref?.();
    child.on('message', (m: FromSpawner) => this.onMessage(m));
    child.on('error', (e) => this.h.log('warn', `script spawner: ${e.message}`, { pid: child.pid }));
    // 'close' comes after the IPC channel has delivered everything (a 'done' sent just before a
    // crash still counts); 'exit' alone can overtake those messages. The timer covers a close
    // that never comes.
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (gone) return;
      gone = true;
      this.onExit(child, code, signal);
    };
    child.once('close', onGone);
    child.once('exit', (code, signal) => setTimeout(() => onGone(code, signal), 1000).unref());
    this.post({ t: 'init', cfg: this.cfg });
    this.setBusy(false);
  }

  private onMessage(m: FromSpawner): void {
    switch (m.t) {
      case 'ready':
        this.ready = true;
        break;
      case 'started': this.h.started(m.id, m.pid); break;
      case 'lines': this.h.lines(m.lines); break;
      case 'log': this.h.log(m.level, m.msg, m.fields, m.once); break;
      case 'done': this.h.done(m.id, m.outcome); break;
      case 'closed': break;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    const how = signal ? `killed by ${signal}` : `exited with status ${code}`;
    // Node's crash report ends with its version: the "…Error: …" line says more.
    const errLines = this.stderrTail.text().split('\n').map((l) => l.trim()).filter(Boolean);
    const tail = [...errLines].reverse().find((l) => /^\w*Error\b/.test(l)) ?? errLines.at(-1) ?? '';
    const pid = child.pid ?? null;
    if (this.closing) {
      this.h.lost('script runner closed', pid);
      return;
    }
    this.h.log('error', `script spawner (pid ${child.pid}) ${how}${tail ? ` (${tail})` : ''}; restarting it`, { pid: child.pid, code, signal });
    this.h.lost(this.ready
      ? `script spawner process ${how} while the script was running`
      : `script spawner could not start: it ${how}${tail ? ` (${tail})` : ''}`, pid);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closing) return;
    const young = performance.now() - this.startedAt < YOUNG_MS;
    this.youngDeaths = young ? this.youngDeaths + 1 : 0;
    const delay = this.youngDeaths === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.youngDeaths - 1));
    this.restarts++;
    this.restartTimer = setTimeout(() => {
      this.start();
      if (this.child) this.h.available();
    }, delay);
  }
}
