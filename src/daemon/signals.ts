// Every catchable signal an operator may send gets a handler, so none can take Node's default
// action (SIGUSR1 would open the inspector on 127.0.0.1:9229 inside a root process; SIGUSR2 and
// the realtime signals would kill the daemon without a priority-0 advert, leaving the VIPs).
//   TERM, INT              stop gracefully
//   HUP                    reload (keepalived's RELOAD)
//   USR1                   data dump   (keepalived's DATA)
//   USR2                   stats dump  (keepalived's STATS)
//   SIGRTMIN+2             JSON dump   (keepalived's JSON)
//   SIGRTMAX-1             clear stats (keepalived's STATS_CLEAR)
//   PIPE                   ignored (a vanished reader is handled where the write fails)
//   other realtime signals, ALRM, VTALRM, IO, PWR, STKFLT, XCPU, XFSZ: logged and ignored
// Realtime signals have no names in Node, so the native addon watches them (libuv uv_signal_t).
// Left alone on purpose: QUIT/ABRT/SEGV… (deliberate kills; the unit's ExecStopPost releases
// the VIPs), PROF and TRAP (profilers, debuggers), CHLD/WINCH/CONT/URG (default is harmless).
import type { Logger } from './log.js';
import { RateLimiter } from '../vrrp/rate-limit.js';
import type { DumpKind } from './dumps.js';

export interface SignalActions {
  stop(signal: string): void;
  reload(): void;
  dump(kind: DumpKind): void;
  clearStats(): void;
}

/** The addon's signal functions (absent: realtime signals cannot be handled). */
export interface SignalAddon {
  signalWatch(signum: number, cb: () => void): { close(): void };
  signalNumbers(): { SIGRTMIN: number; SIGRTMAX: number };
}

/** keepalived's signal numbers (keepalived --signum=NAME), from the C library's SIGRTMIN/MAX. */
export function signalNumber(name: string, rt: { SIGRTMIN: number; SIGRTMAX: number }): number | null {
  switch (name.toUpperCase()) {
    case 'STOP': return 15;
    case 'RELOAD': return 1;
    case 'DATA': return 10;
    case 'STATS': return 12;
    case 'STATS_CLEAR': return rt.SIGRTMAX - 1;
    case 'JSON': return rt.SIGRTMIN + 2;
    default: return null;
  }
}

const IGNORED: NodeJS.Signals[] = ['SIGALRM', 'SIGVTALRM', 'SIGIO', 'SIGPWR', 'SIGSTKFLT', 'SIGXCPU', 'SIGXFSZ'];

/** Install every handler; returns a function that removes them. Logging is rate-limited per
 * signal, so a burst of 50 costs a line or two, not 50. */
export function installSignalHandlers(actions: SignalActions, log: Logger, addon: SignalAddon | null): () => void {
  const limiter = new RateLimiter(1000);
  const note = (sig: string, msg: string): void => {
    const suppressed = limiter.admit(sig, performance.now());
    if (suppressed !== null) log.info({ signal: sig, suppressed }, msg);
  };
  const named: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', () => actions.stop('SIGTERM')],
    ['SIGINT', () => actions.stop('SIGINT')],
    ['SIGHUP', () => actions.reload()],
    ['SIGUSR1', () => { note('SIGUSR1', 'Received SIGUSR1: writing the data dump'); actions.dump('data'); }],
    ['SIGUSR2', () => { note('SIGUSR2', 'Received SIGUSR2: writing the stats dump'); actions.dump('stats'); }],
    ['SIGPIPE', () => { /* ignored; failed writes report themselves */ }],
    ...IGNORED.map((s): [NodeJS.Signals, () => void] => [s, () => note(s, `Received ${s}: ignored`)]),
  ];
  for (const [sig, fn] of named) process.on(sig, fn);

  const watches: Array<{ close(): void }> = [];
  if (addon) {
    const rt = addon.signalNumbers();
    const json = rt.SIGRTMIN + 2;
    const clear = rt.SIGRTMAX - 1;
    for (let n = rt.SIGRTMIN; n <= rt.SIGRTMAX; n++) {
      const name = n === rt.SIGRTMAX ? 'SIGRTMAX' : `SIGRTMIN+${n - rt.SIGRTMIN}`;
      const fn = n === json
        ? () => { note(name, `Received ${name} (JSON): writing the JSON dump`); actions.dump('json'); }
        : n === clear
          ? () => { note(name, `Received ${name} (STATS_CLEAR): clearing the VRRP statistics`); actions.clearStats(); }
          : () => note(name, `Received ${name}: ignored`);
      try {
        watches.push(addon.signalWatch(n, fn));
      } catch (e) {
        log.warn({ signal: n }, `cannot handle signal ${n} (${name}): ${(e as Error).message}`);
      }
    }
  } else {
    log.warn('the native addon is unavailable: realtime signals (keepalived\'s JSON and STATS_CLEAR) are not handled and would stop hakeep; run npm install');
  }

  return () => {
    for (const [sig, fn] of named) process.off(sig, fn);
    for (const w of watches) w.close();
  };
}
