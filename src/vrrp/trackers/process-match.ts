// Which processes a vrrp_track_process counts, as keepalived decides it
// (core/track_process.c read_procs:256-355, check_process:380-530, check_params:230-254):
//   - without full_command: the process name (comm, as in /proc/PID/stat or /proc/PID/comm, at
//     most 15 bytes) must equal `process` exactly ("pgrep ^name$", never a substring);
//   - with full_command (implied by parameters or param_match): argv[0] must equal `process`,
//     then the parameters are compared as NUL-separated bytes:
//       exact (parameters written, or param_match alone): the same parameters, no more;
//       partial: the written parameters come first, more may follow;
//       initial: like partial, but the last written parameter may be a prefix of the real one;
//       none (full_command alone): parameters are not looked at;
//   - zombies do not count.
// Also the /proc reading, kept small: /proc/PID/stat for the name and state, /proc/PID/cmdline
// only when some tracked process needs the command line (it may touch swapped-out memory).
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import type { VrrpTrackProcess } from '../../config/model.js';

export type MatchDef = Pick<VrrpTrackProcess, 'process' | 'params' | 'paramMatch' | 'fullCommand'>;

/** Does a process with this name (comm) and command line (raw /proc/PID/cmdline) count? */
export function processMatches(def: MatchDef, comm: string | null, cmdline: Buffer | null): boolean {
  if (!def.fullCommand) return comm !== null && comm === def.process;
  if (cmdline === null) return false;
  const nul = cmdline.indexOf(0);
  const argv0 = (nul < 0 ? cmdline : cmdline.subarray(0, nul)).toString();
  if (argv0 !== def.process) return false;
  if (def.paramMatch === 'none') return true;
  return paramsMatch(def, nul < 0 ? Buffer.alloc(0) : cmdline.subarray(nul + 1));
}

/** keepalived's check_params, on the bytes after argv[0]'s NUL. */
export function paramsMatch(def: Pick<MatchDef, 'params' | 'paramMatch'>, params: Buffer): boolean {
  const want = def.params.length > 0 ? Buffer.from(def.params.map((p) => `${p}\0`).join('')) : null;
  const len = want?.length ?? 0;
  if (def.paramMatch === 'exact' && want === null && params.length === 0) return true;
  if (params.length < len) return false;
  if (def.paramMatch === 'exact') return params.length === len && (want === null || params.equals(want));
  if (want === null) return true;
  if (def.paramMatch === 'partial') return params.subarray(0, len).equals(want);
  return len === 1 || params.subarray(0, len - 1).equals(want.subarray(0, len - 1));
}

const readBuf = Buffer.alloc(8192);

function readSmall(path: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, readBuf, 0, Math.min(max, readBuf.length), null);
    return Buffer.from(readBuf.subarray(0, n));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export interface ProcStat {
  comm: string;
  zombie: boolean;
}

/** Name and zombie state from /proc/PID/stat ("pid (comm) S …"); null when the process is gone. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  const b = readSmall(`${procRoot}/${pid}/stat`, 512);
  if (b === null) return null;
  const s = b.toString('latin1');
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')'); // a name may itself hold ')'
  if (open < 0 || close < open) return null;
  return { comm: Buffer.from(s.slice(open + 1, close), 'latin1').toString(), zombie: s[close + 2] === 'Z' };
}

/** Raw /proc/PID/cmdline (argv NUL-separated), at most 4 KiB; null when gone. */
export function readCmdline(pid: number, procRoot = '/proc'): Buffer | null {
  return readSmall(`${procRoot}/${pid}/cmdline`, 4096);
}

/** Every process id under /proc. */
export function listPids(procRoot = '/proc'): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) if (/^[1-9]\d*$/.test(n)) out.push(Number(n));
  return out;
}
