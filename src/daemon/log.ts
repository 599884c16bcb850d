// Logging: pino JSON lines on stdout by default, or plain text lines (`--log-format text`).
// The `msg` of every line is worded like keepalived's own log line so operators' greps keep
// working; the structured fields (instance, from, to, reason, …) ride alongside in JSON.
import { pino, type Logger, type DestinationStream } from 'pino';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type { Logger };

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stdout when omitted. Tests pass a memory stream. */
  destination?: DestinationStream;
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
      out.write(`${time} ${level}${proc} ${String(rec.msg ?? '')}\n`);
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
  if (opts.format === 'text') {
    return pino({ level, base, hooks }, opts.destination ?? textDestination(process.stdout));
  }
  return pino({ level, base, hooks }, opts.destination ?? pino.destination({ fd: 1, sync: true }));
}

/** A logger that drops everything: for unit tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
