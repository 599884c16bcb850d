// Logging: pino JSON lines on stdout by default, or plain text lines (`--log-format text`).
// The `msg` of every line is worded like keepalived's own log line so operators' greps keep
// working; the structured fields (instance, from, to, reason, …) ride alongside in JSON.
//
// Syslog (`[log] syslog = /dev/log` in hakeep.ini): the same lines as datagrams to the local
// syslog socket through the addon's unixDgram (Node has no Unix datagram sockets), in the format
// glibc's syslog(3) sends there, which is what keepalived users' rsyslog rules and journald's
// syslog socket parse: `<PRI>Mmm dd hh:mm:ss hakeep[PID]: MSG`, facility daemon (RFC 3164's
// PRI = 3 * 8 + severity), no hostname (the local daemon adds it; journald would read a hostname
// as the identifier). A send never blocks: when the reader is behind, the line is dropped and
// counted; when it went away (rsyslog restarted), the socket is connected again, at most once a
// second.
import { constants as os } from 'node:os';
import { pino, type Logger, type DestinationStream } from 'pino';
import { native, type UnixDgram } from '../net/native.js';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type { Logger };

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stdout when omitted. Tests pass a memory stream. */
  destination?: DestinationStream;
  /** Also send every line to this syslog destination (syslogDestination). */
  syslog?: DestinationStream | null;
  /** false: syslog only (default true: stdout, or `destination`, too). */
  stdout?: boolean;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL',
};

/** A synchronous text destination: `2026-11-25T20:57:14.123Z INFO (VI_1) Entering MASTER STATE`. */
function textDestination(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : '';
      const level = LEVEL_NAMES[Number(rec.level)] ?? String(rec.level);
      const proc = typeof rec.proc === 'string' ? ` ${rec.proc}:` : '';
      out.write(`${time} ${level}${proc} ${messageOf(rec)}\n`);
    },
  };
}

/**
 * The words of a record for a text line: its msg, with `(INSTANCE) ` in front when the record
 * is about an instance (or a sync group) and the msg does not already name it in keepalived's
 * way, so every instance line can be grepped by name in text and syslog alike.
 */
export function messageOf(rec: Record<string, unknown>): string {
  const msg = String(rec.msg ?? '');
  const who = typeof rec.instance === 'string' ? rec.instance : typeof rec.group === 'string' ? rec.group : null;
  if (who === null || msg.includes(`(${who})`) || msg.includes(`VRRP_Instance(${who})`)) return msg;
  return `(${who}) ${msg}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** syslog(3) severities for pino's levels. */
const SEVERITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
export const SYSLOG_FACILITY_DAEMON = 3;
/** Longest datagram sent: a longer line is cut (with its start kept). */
const SYSLOG_MAX = 8192;

/** One syslog datagram, as glibc's syslog(3) writes it to /dev/log. Local time, as syslog(3). */
export function formatSyslog(rec: Record<string, unknown>, o: { ident: string; pid: number; facility: number; time: Date }): string {
  const sev = SEVERITY[Number(rec.level)] ?? 6;
  const t = o.time;
  const stamp = `${MONTHS[t.getMonth()]} ${String(t.getDate()).padStart(2, ' ')} ${[t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}`;
  const proc = typeof rec.proc === 'string' ? `${rec.proc}: ` : '';
  const text = `<${o.facility * 8 + sev}>${stamp} ${o.ident}[${o.pid}]: ${proc}${messageOf(rec)}`.replace(/\n/g, ' ');
  return text.length > SYSLOG_MAX ? text.slice(0, SYSLOG_MAX) : text;
}

export interface SyslogDestination extends DestinationStream {
  /** Lines dropped because the reader was behind or away. */
  readonly dropped: number;
  close(): void;
}

/**
 * A destination sending each line to the syslog socket at `path` (default /dev/log). Throws (with
 * what to do) when the socket cannot be reached at start; later failures drop lines, never block.
 */
export function syslogDestination(path = '/dev/log', o: { ident?: string; facility?: number; open?: (path: string) => UnixDgram } = {}): SyslogDestination {
  const open = o.open ?? ((p: string): UnixDgram => {
    const addon = native();
    if (typeof addon.unixDgram !== 'function') throw new Error('the native addon has no unixDgram (built before it existed): rebuild it with npm install in the hakeep directory');
    return addon.unixDgram(p);
  });
  let sock: UnixDgram | null;
  try {
    sock = open(path);
  } catch (e) {
    throw new Error(`cannot log to syslog at ${path}: ${(e as Error).message} (is a syslog daemon or journald listening there? [log] syslog in hakeep.ini)`);
  }
  let dropped = 0;
  let lastRetry = 0;
  const ident = o.ident ?? 'hakeep';
  const facility = o.facility ?? SYSLOG_FACILITY_DAEMON;
  return {
    get dropped() { return dropped; },
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { msg: line.trim(), level: 30 };
      }
      const dgram = formatSyslog(rec, { ident, pid: process.pid, facility, time: typeof rec.time === 'number' ? new Date(rec.time) : new Date() });
      if (sock === null) {
        const now = Date.now();
        if (now - lastRetry < 1000) { dropped++; return; }
        lastRetry = now;
        try { sock = open(path); } catch { dropped++; return; }
      }
      const err = sock.send(dgram);
      if (err === 0) return;
      dropped++;
      if (err === os.errno.ECONNREFUSED || err === os.errno.ENOTCONN || err === os.errno.ENOENT) {
        sock.close();
        sock = null;
      }
    },
    close(): void {
      sock?.close();
      sock = null;
    },
  };
}

type LogTap = (rec: Record<string, unknown>, level: number) => void;
const taps = new Set<LogTap>();

/**
 * Watch the structured fields of every record logged at an enabled level (the metrics count
 * transitions from theirs). A tap must be cheap and never throw; returns the way to remove it.
 */
export function tapLog(fn: LogTap): () => void {
  taps.add(fn);
  return () => { taps.delete(fn); };
}

const hooks = {
  logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void, level: number): void {
    if (taps.size > 0 && typeof args[0] === 'object' && args[0] !== null) {
      for (const t of taps) {
        try { t(args[0] as Record<string, unknown>, level); } catch { /* a tap never breaks logging */ }
      }
    }
    method.apply(this, args as unknown[]);
  },
};

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base = { pid: process.pid };
  const out = opts.destination ?? (opts.format === 'text' ? textDestination(process.stdout) : pino.destination({ fd: 1, sync: true }));
  if (opts.syslog) {
    const streams = [{ level, stream: opts.syslog }, ...(opts.stdout === false ? [] : [{ level, stream: out }])];
    return pino({ level, base, hooks }, pino.multistream(streams));
  }
  return pino({ level, base, hooks }, out);
}

/** A logger that drops everything: for unit tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
