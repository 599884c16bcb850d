// notify_fifo / vrrp_notify_fifo: one line per VRRP event, in keepalived's format, on a named pipe.
//
// keepalived (lib/notify.c:248-290) creates the FIFO when missing (mode 0644, chowned to the
// FIFO's user, else the default script user), starts the FIFO script with the path as its last
// argument, then opens the FIFO O_RDWR|O_NONBLOCK|O_NOFOLLOW. Holding the read side ourselves
// means a write never fails with EPIPE and never blocks: with no reader, lines collect in the pipe
// (64 KiB) and then EAGAIN. keepalived drops such a line silently (vrrp_notify.c:139); hakeep keeps
// a small bounded queue, retries it on a timer, and counts and reports what it has to drop.
//
// Node has no mkfifo(3): the FIFO is made with coreutils' `mkfifo` once at start (one short child
// process, off the VRRP timing path since no instance runs yet). Writes are one non-blocking
// write(2) each, on the event loop: lines are < PIPE_BUF, so each is atomic and ordered.
import { execFile } from 'node:child_process';
import { chown, close as closeCb, constants as C, fstat, lstat, open as openCb, unlink, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import type { NotifyCmd } from '../config/model.js';
import type { Logger } from '../daemon/log.js';
import type { ScriptJob, ScriptResult } from '../script/types.js';
import { resolveDefaultUser, UserDirectory, type IdsOrError } from '../script/users.js';
import { RateLimiter } from './rate-limit.js';

const openFd = promisify(openCb);
const fstatFd = promisify(fstat);
const closeFd = promisify(closeCb);
const lstatP = promisify(lstat);
const chownP = promisify(chown);
const unlinkP = promisify(unlink);

/** What runs scripts: the shared runner (src/script/runner.ts) or a test double. */
export interface ScriptRunnerLike {
  run(job: ScriptJob): Promise<ScriptResult>;
}

/** Where VrrpNotifier writes event lines (a NotifyFifo, or one shared with the checker side). */
export interface FifoSink {
  write(line: string): void;
}

/** The word after the name in a FIFO line (vrrp_notify.c:102-127). */
export type FifoEvent = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED' | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

/** `INSTANCE "VI_1" MASTER 100\n` / `GROUP "G1" BACKUP 0\n` (vrrp_notify.c:136: the name quoted, priority %d). */
export function fifoLine(type: 'INSTANCE' | 'GROUP', name: string, event: FifoEvent, priority: number): string {
  return `${type} "${name}" ${event} ${priority}\n`;
}

export interface NotifyFifoOptions {
  /** The config keyword, for logs: 'notify_fifo' or 'vrrp_notify_fifo'. */
  keyword: string;
  path: string;
  /** Owner of a FIFO hakeep creates; null = the default script user (keepalived global_parser.c:1355). */
  owner: { user: string; group?: string } | null;
  /** `*_notify_fifo_script`: started once before the FIFO is opened, with the path as last argument. */
  script: NotifyCmd | null;
  runner: ScriptRunnerLike | null;
  log: Logger;
  /** Global script_user / enable_script_security, for the default owner. */
  scriptUser?: string | null;
  enableScriptSecurity?: boolean;
  /** Lines held while the pipe is full or not open yet; beyond it the oldest are dropped. Default 1000. */
  maxQueue?: number;
  /** How soon a full pipe is tried again. Default 200 ms. */
  retryMs?: number;
  /** Window of the "lines dropped" warning. Default 60 s. */
  warnEveryMs?: number;
  /** Run `mkfifo` (injectable for tests). */
  mkfifo?: (path: string) => Promise<void>;
  users?: UserDirectory;
}

export interface NotifyFifoStatus {
  keyword: string;
  path: string;
  state: 'new' | 'opening' | 'open' | 'failed' | 'closed';
  /** Lines handed to the kernel. */
  written: number;
  /** Lines lost: no reader for too long (queue full), a write error, or closed with lines left. */
  dropped: number;
  /** Lines waiting for room in the pipe. */
  queued: number;
  /** hakeep created the FIFO (and removes it at close, as keepalived does). */
  created: boolean;
  error: string | null;
  scriptRunning: boolean;
}

/** Timeout given to the FIFO script: keepalived runs it without one (TIMER_NEVER, lib/notify.c:268); this is setTimeout's maximum. */
const SCRIPT_FOREVER_MS = 0x7fffffff;

export class NotifyFifo implements FifoSink {
  private fd: number | null = null;
  private state: NotifyFifoStatus['state'] = 'new';
  private error: string | null = null;
  private created = false;
  private readonly queue: Buffer[] = [];
  private written = 0;
  private dropped = 0;
  private droppedSinceWarn = 0;
  private retry: NodeJS.Timeout | null = null;
  private scriptRunning = false;
  private readonly limiter: RateLimiter;
  private readonly maxQueue: number;
  private readonly retryMs: number;

  constructor(private readonly opts: NotifyFifoOptions) {
    this.maxQueue = Math.max(1, opts.maxQueue ?? 1000);
    this.retryMs = Math.max(1, opts.retryMs ?? 200);
    this.limiter = new RateLimiter(opts.warnEveryMs ?? 60_000, 4);
  }

  get path(): string {
    return this.opts.path;
  }

  /** Create (if missing), start the script, open. Never throws; false = the FIFO is not used (logged). */
  async open(): Promise<boolean> {
    if (this.state !== 'new') return this.state === 'open';
    this.state = 'opening';
    const { keyword, path, log } = this.opts;
    const fail = (why: string, what: string): boolean => {
      if (this.state === 'closed') return false;
      this.state = 'failed';
      this.error = why;
      log.error({ fifo: path, keyword, err: why }, `${keyword} ${path}: ${why}; ${what}. No ${keyword} lines will be written`);
      this.dropQueue();
      return false;
    };
    try {
      const st = await lstatP(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
      });
      if (st && st.isSymbolicLink()) return fail('is a symbolic link (not followed, as keepalived)', 'point the keyword at the FIFO itself');
      if (st && !st.isFIFO()) return fail('exists and is not a FIFO', 'remove it or choose another path');
      if (!st) {
        const ids = await this.ownerIds();
        if (!ids.ok) return fail(ids.error, `give ${keyword} a user that exists, or set script_user`);
        try {
          await (this.opts.mkfifo ?? runMkfifo)(path);
        } catch (e) {
          return fail(`cannot create the FIFO: ${(e as Error).message}`, 'check that its directory exists and is writable by root');
        }
        this.created = true;
        const me = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
        if (ids.ids.uid !== me.uid || ids.ids.gid !== me.gid) {
          // keepalived only logs this (lib/notify.c:257-259): the FIFO stays usable, mode 0644.
          await chownP(path, ids.ids.uid, ids.ids.gid).catch((e: Error) => {
            log.warn({ fifo: path, err: e.message }, `${keyword} ${path}: cannot give the FIFO to ${ids.ids.user}: ${e.message}`);
          });
        }
      }
      if (this.state !== 'opening') {
        // close() ran meanwhile; it could not remove what did not exist yet.
        if (this.created) await unlinkP(path).catch(() => undefined);
        return false;
      }
      this.startScript();
      // libuv adds O_CLOEXEC to every open.
      const fd = await openFd(path, C.O_RDWR | C.O_NONBLOCK | C.O_NOFOLLOW);
      if (!(await fstatFd(fd)).isFIFO()) {
        await closeFd(fd).catch(() => undefined);
        return fail('is not a FIFO any more (replaced while opening)', 'remove it and restart');
      }
      if (this.state !== 'opening') {
        // close() ran meanwhile.
        await closeFd(fd).catch(() => undefined);
        return false;
      }
      this.fd = fd;
      this.state = 'open';
      log.info({ fifo: path, keyword, created: this.created }, `${keyword} ${path} opened${this.created ? ' (created)' : ''}`);
      this.flush();
      return true;
    } catch (e) {
      if (this.created) await unlinkP(path).catch(() => undefined);
      this.created = false;
      return fail((e as Error).message, 'check the path');
    }
  }

  /** Queue one line (ending in \n). Never blocks, never throws. */
  write(line: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.queue.push(Buffer.from(line));
    if (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.drop(1, this.fd === null ? 'not open yet' : 'nobody is reading it (the pipe is full)');
    }
    if (this.fd !== null && this.retry === null) this.flush();
  }

  status(): NotifyFifoStatus {
    return {
      keyword: this.opts.keyword, path: this.opts.path, state: this.state, written: this.written, dropped: this.dropped,
      queued: this.queue.length, created: this.created, error: this.error, scriptRunning: this.scriptRunning,
    };
  }

  /** Write what the pipe takes now, drop the rest, remove the FIFO if hakeep created it, close. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.fd !== null) this.flush();
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.queue.length > 0) {
      this.opts.log.warn({ fifo: this.opts.path, lines: this.queue.length }, `${this.opts.keyword} ${this.opts.path}: ${this.queue.length} lines not written at shutdown (nobody was reading)`);
      this.dropQueue();
    }
    this.state = 'closed';
    // Unlink first, so a reader that loops reopening it cannot reopen this one (lib/notify.c:305-311).
    if (this.created) await unlinkP(this.opts.path).catch(() => undefined);
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await closeFd(fd).catch(() => undefined);
  }

  /** Write queued lines in order until the pipe is full (then retry later) or the queue is empty. */
  private flush(): void {
    this.retry = null;
    const fd = this.fd;
    if (fd === null) return;
    while (this.queue.length > 0) {
      const buf = this.queue[0]!;
      let n: number;
      try {
        n = writeSync(fd, buf);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') break;
        // Not expected with our own read side open (no EPIPE); lose this line, keep going.
        this.queue.shift();
        this.drop(1, `write failed: ${(e as Error).message}`);
        continue;
      }
      if (n < buf.length) {
        // Only a line longer than PIPE_BUF can be split: finish it before the next one.
        this.queue[0] = buf.subarray(n);
        break;
      }
      this.queue.shift();
      this.written += 1;
    }
    if (this.queue.length > 0 && this.state === 'open') {
      this.retry = setTimeout(() => this.flush(), this.retryMs);
      this.retry.unref();
    }
  }

  private drop(n: number, why: string): void {
    this.dropped += n;
    this.droppedSinceWarn += n;
    if (this.limiter.admit('drop', performance.now()) === null) return;
    const { keyword, path, log } = this.opts;
    log.warn({ fifo: path, keyword, dropped: this.dropped, since: this.droppedSinceWarn },
      `${keyword} ${path}: ${why}; ${this.droppedSinceWarn} line(s) dropped (${this.dropped} in total). Events are not lost for the daemon, only for the reader`);
    this.droppedSinceWarn = 0;
  }

  private dropQueue(): void {
    if (this.queue.length === 0) return;
    this.dropped += this.queue.length;
    this.queue.length = 0;
  }

  private async ownerIds(): Promise<IdsOrError> {
    const users = this.opts.users ?? new UserDirectory();
    const o = this.opts.owner;
    if (o) return users.resolve(o.user, o.group);
    const d = await resolveDefaultUser(users, this.opts.scriptUser ?? null, this.opts.enableScriptSecurity ?? false);
    return d.result;
  }

  /**
   * The FIFO script: started before the FIFO is opened, with its path appended (vrrp.c:4512-4515,
   * lib/notify.c:264-268). keepalived neither times it out nor restarts it when it exits; it only
   * logs (vrrp.c:114-117). hakeep does the same, except after its own (24.8-day) timeout.
   */
  private startScript(): void {
    const { script, runner, keyword, path, log } = this.opts;
    if (!script || !runner || this.state !== 'opening' && this.state !== 'open') return;
    const job: ScriptJob = {
      owner: `notify-fifo:${keyword}`, kind: 'notify_fifo_script', name: `${keyword}_script`,
      command: script.command, args: [path], user: script.user ? { user: script.user, ...(script.group ? { group: script.group } : {}) } : null,
      timeoutMs: SCRIPT_FOREVER_MS,
    };
    this.scriptRunning = true;
    void runner.run(job).then((r) => {
      this.scriptRunning = false;
      if (this.state === 'closed') return;
      if (r.timedOut) {
        this.startScript();
        return;
      }
      const how = r.error ?? (r.signal ? `killed by ${r.signal}` : `exit status ${r.exitCode}`);
      log.warn({ fifo: path, keyword, exitCode: r.exitCode, signal: r.signal, err: r.error },
        `${keyword === 'vrrp_notify_fifo' ? 'vrrp ' : ''}notify fifo script terminated (${how}); it is not restarted (as keepalived): lines stay in ${path} until something reads it`);
    }, () => { this.scriptRunning = false; });
  }
}

function runMkfifo(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -m: the mode keepalived asks for (S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH, lib/notify.c:255); `--`
    // so a path starting with '-' is not an option.
    execFile('mkfifo', ['-m', '0644', '--', path], { timeout: 5000 }, (err, _out, stderr) => {
      if (err) reject(new Error(String(stderr).trim() || err.message));
      else resolve();
    });
  });
}
