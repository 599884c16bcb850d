// SMTP_CHECK (check_smtp.c): connect, read the banner (must be 220), send "HELO helo_name",
// read the reply (must be 250), send QUIT, read one more line. A status is the first three
// characters of the line up to the first '\n', followed by a space or nothing (smtp_get_status:
// "220-" multi-line banners and "220\r" fail, as in keepalived).
// Retry logic (smtp_final, check_smtp.c:326-420): every failure is retried `retry` times,
// delay_before_retry apart (the retries count restarts at each regular check, so a server down at
// start uses them too); failures are logged on the last try, or on every one with
// log_all_failures, as "SMTP_CHECK <what> server [IP]:PORT"; success while down or at start logs
// "Remote SMTP server RS succeed on service.".
import { connect, type Socket } from 'node:net';
import type { RealServer, SmtpCheck } from '../config/model.js';
import type { AttemptDone, CheckerRuntime, CheckStep, Outcome } from './checker.js';
import { probeTarget } from './tcp-checker.js';

/** smtp_get_status: the code, or -1. */
export function smtpStatus(line: string): number {
  // strtoul must consume exactly the first three characters, then a space or the end.
  const m = /^(\d{3})(?: |$)/.exec(line);
  return m ? Number(m[1]) : -1;
}

type Phase = 'connect' | 'banner' | 'helo' | 'quit';

export class SmtpChecker implements CheckerRuntime {
  readonly type = 'SMTP_CHECK' as const;
  readonly target: string;
  readonly timeoutMs: number;
  readonly curWeight = 0;
  lastActivity = 0;
  private isUp: boolean;
  private hasRun = false;
  private retryIt = 0;
  private phase: Phase | 'write' = 'connect';
  private readonly to: ReturnType<typeof probeTarget>;
  private readonly server: string;

  constructor(readonly check: SmtpCheck, private readonly ctx: { rs: RealServer; rsName: string; logAll: boolean; clock: { now(): number } }) {
    this.to = probeTarget(check, ctx.rs);
    this.server = `[${this.to.host}]:${this.to.port}`; // inet_sockaddrtopair
    this.target = `[${this.to.host}]:tcp:${this.to.port}`;
    this.timeoutMs = check.connectTimeout * 1000;
    this.isUp = !(check.alpha ?? ctx.rs.alpha);
  }

  get up(): boolean {
    return this.isUp;
  }

  start(done: AttemptDone): () => void {
    let finished = false;
    let buf = '';
    this.phase = 'connect';
    const s: Socket = connect({
      host: this.to.host, port: this.to.port, family: this.to.family,
      ...(this.to.localAddress ? { localAddress: this.to.localAddress } : {}),
      ...(this.to.localPort ? { localPort: this.to.localPort } : {}),
    });
    const end = (o: Outcome, d: string): void => {
      if (finished) return;
      finished = true;
      s.destroy();
      done(o, d);
    };
    const send = (text: string): void => {
      const was = this.phase;
      this.phase = 'write';
      s.write(text, (err) => { if (err) end('failed', `Write failure to server ${this.server}`); });
      this.phase = was;
    };
    s.setEncoding('latin1');
    s.once('connect', () => { this.lastActivity = this.ctx.clock.now(); this.phase = 'banner'; });
    s.on('data', (d: string) => {
      if (finished) return;
      this.lastActivity = this.ctx.clock.now();
      // SMTP_BUFF_MAX (512): a longer line is cut and read again from its start (check_smtp.c:448).
      buf = (buf + d).slice(-511);
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      switch (this.phase) {
        case 'banner':
          if (smtpStatus(line) !== 220) return end('failed', `Bad greeting banner from server ${this.server}`);
          this.phase = 'helo';
          send(`HELO ${this.check.heloName}\r\n`);
          return;
        case 'helo':
          if (smtpStatus(line) !== 250) return end('failed', `Bad HELO response from server ${this.server}`);
          this.phase = 'quit';
          send('QUIT\r\n');
          return;
        case 'quit':
          return end('success', 'QUIT answered');
        default:
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (this.phase === 'connect') end('failed', e.code === 'ENETUNREACH' ? `Network unreachable for server ${this.to.host} - real server [${this.ctx.rs.ip}]:${this.ctx.rs.port}` : `Error connecting to server ${this.server}`);
      else end('failed', `Read failure from server ${this.server}`);
    });
    s.once('close', () => end('failed', this.phase === 'connect' ? `Error connecting to server ${this.server}` : `Read failure from server ${this.server}`));
    return () => {
      finished = true;
      s.destroy();
    };
  }

  timeoutDetail(): string {
    if (this.phase === 'connect') return `Connection timeout to server ${this.server}`;
    if (this.phase === 'write') return `Write timeout to server ${this.server}`;
    return `Read timeout from server ${this.server}`;
  }

  result(outcome: Outcome, detail: string): CheckStep {
    const logs: string[] = [];
    let change: CheckStep['change'] = null;
    if (outcome !== 'success') {
      if ((this.isUp || !this.hasRun) && (this.ctx.logAll || this.retryIt >= this.check.retry)) logs.push(`SMTP_CHECK ${detail}`);
      if (++this.retryIt <= this.check.retry) return { delay: this.check.delayBeforeRetry, change, logs };
      if (this.isUp || !this.hasRun) {
        change = this.isUp ? 'down' : 'initial-down';
        this.isUp = false;
        this.hasRun = true;
      }
      // The next regular check starts a fresh retry count (smtp_start_check_thread).
      this.retryIt = 0;
      return { delay: this.check.delayLoop, change, logs };
    }
    this.retryIt = 0;
    if (!this.isUp || !this.hasRun) {
      logs.push(`Remote SMTP server ${this.ctx.rsName} succeed on service.`);
      if (!this.isUp) change = 'up';
      this.isUp = true;
    }
    this.hasRun = true;
    return { delay: this.check.delayLoop, change, logs };
  }

  resume(up: boolean): void {
    this.isUp = up;
    this.hasRun = true;
    this.retryIt = 0;
  }
}
