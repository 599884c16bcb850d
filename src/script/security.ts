// keepalived's script checks: PATH search for a bare program name, "is it executable by the user
// that will run it", and enable_script_security's rule that nothing on the way to a script run
// as root may be writable (or owned) by anyone but root. Synchronous file-system calls only (a few
// stat()s): `hakeep -t` can call checkScriptSecurity() directly, and the runner calls it in the
// spawner process (or in a process that is off the VRRP path), never on the VRRP event loop.
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';

/** glibc's confstr(_CS_PATH): keepalived's search path when it has no PATH (lib/notify.c:464-471). */
export const DEFAULT_SEARCH_PATH = '/bin:/usr/bin';

export type SecurityProblem = 'not-found' | 'not-executable' | 'wrong-type' | 'unsafe';

export type ScriptSecurity =
  | {
      ok: true;
      /** The program to execute: the PATH-resolved, canonical path (keepalived rewrites args[0] to it). */
      path: string;
      /** True when the path was found by PATH search (keepalived warns: give the full path). */
      searched: boolean;
      /** Whether the ownership/permission rule applied (script runs as uid or gid 0, or is set-id root). */
      checked: boolean;
    }
  | {
      ok: false;
      problem: SecurityProblem;
      /** The file or directory that is the problem (for 'unsafe': the first unsafe one). */
      unsafePath: string;
      why: string;
      /** The resolved program path when it got that far (the unsafe case runs it without enable_script_security). */
      path: string;
      searched: boolean;
    };

export interface SecurityOptions {
  /** Group the script runs as; default 0 when runAsUid is 0, otherwise no group match. */
  gid?: number;
  /** PATH for a bare program name; default DEFAULT_SEARCH_PATH. */
  searchPath?: string;
}

/**
 * Check a script as keepalived's check_script_secure() does (lib/notify.c:691-865):
 *  1. A name without "/" is searched in PATH (find_path, lib/notify.c:430-623): the first regular
 *     file executable by the user wins; only non-executable matches → not-executable.
 *  2. The path is canonicalised with realpath(); if that changes the file name part (a symlink
 *     such as python3 → python3.11), the link's name is kept in the link's resolved directory
 *     when that is the same file, and the real file is checked as well (lib/notify.c:779-811).
 *  3. The file must be executable by uid:gid (is_executable, lib/notify.c:373-381, 826-834).
 *  4. Only when the script runs as uid 0 or gid 0, or is set-uid/set-gid root
 *     (lib/notify.c:829-832), every component of the path(s) — "/", each directory, the file —
 *     is lstat()ed (lib/notify.c:625-689): each must be owned by root; a directory without the
 *     sticky bit and a file must not be writable by a non-root group or by others; a non-final
 *     component must be a directory and the final one a file or a symlink.
 * The unsafe case is returned, not decided: without enable_script_security keepalived only
 * logs it and runs the script (lib/notify.c:682-684); every other problem always stops it.
 */
export function checkScriptSecurity(path: string, runAsUid: number, opts: SecurityOptions = {}): ScriptSecurity {
  const gid = opts.gid ?? (runAsUid === 0 ? 0 : -1);
  let program = path;
  let searched = false;
  if (!path.includes('/')) {
    const found = searchPath(path, runAsUid, gid, opts.searchPath ?? DEFAULT_SEARCH_PATH);
    if (!found.ok) {
      return {
        ok: false, problem: found.eacces ? 'not-executable' : 'not-found', unsafePath: path, path, searched: true,
        why: found.eacces ? `not executable by uid ${runAsUid} anywhere in PATH` : 'not found in PATH',
      };
    }
    program = found.path;
    searched = true;
  }

  let real: string;
  try {
    real = realpathSync.native(program);
  } catch (e) {
    const code = errText(e);
    return { ok: false, problem: 'not-found', unsafePath: program, path: program, searched, why: code === 'ENOENT' ? 'not found' : `cannot be accessed: ${code}` };
  }
  // lib/notify.c:779-811: keep the name the script was invoked by when it is the same file.
  let runPath = real;
  let realFile: string | null = null;
  if (basename(program) !== basename(real)) {
    const named = `${dirname(real) === '/' ? '' : dirname(real)}/${basename(program)}`;
    const a = tryStat(real);
    const b = tryStat(named);
    if (!a || (b && a.dev === b.dev && a.ino === b.ino)) {
      runPath = named;
      realFile = real;
    }
  }

  const st = tryStat(realFile ?? runPath);
  if (!st) return { ok: false, problem: 'not-found', unsafePath: runPath, path: runPath, searched, why: 'cannot be accessed' };
  if (!isExecutable(st, runAsUid, gid)) {
    return {
      ok: false, problem: 'not-executable', unsafePath: realFile ?? runPath, path: runPath, searched,
      why: `not executable for uid:gid ${runAsUid}:${gid < 0 ? '?' : gid}`,
    };
  }
  const protect = runAsUid === 0 || gid === 0
    || (st.uid === 0 && (st.mode & 0o100) !== 0 && (st.mode & 0o4000) !== 0)
    || (st.gid === 0 && (st.mode & 0o010) !== 0 && (st.mode & 0o2000) !== 0);
  if (!protect) return { ok: true, path: runPath, searched, checked: false };

  for (const p of realFile ? [runPath, realFile] : [runPath]) {
    const bad = checkComponents(p);
    if (bad) return { ok: false, ...bad, path: runPath, searched };
  }
  return { ok: true, path: runPath, searched, checked: true };
}

/** lib/notify.c:373-381: root needs any x bit; the owner needs u+x; the group g+x; others o+x. */
export function isExecutable(st: Pick<Stats, 'mode' | 'uid' | 'gid'>, uid: number, gid: number): boolean {
  if (uid === 0) return (st.mode & 0o111) !== 0;
  if (uid === st.uid) return (st.mode & 0o100) !== 0;
  return gid === st.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
}

/** find_path() (lib/notify.c:430-623), which follows glibc's execvp search. */
export function searchPath(
  file: string, uid: number, gid: number, pathVar: string,
): { ok: true; path: string } | { ok: false; eacces: boolean } {
  if (file === '') return { ok: false, eacces: false };
  let eacces = false;
  for (const dir of pathVar.split(':')) {
    // An empty element means the current directory, as in execvp.
    const candidate = dir === '' ? file : `${dir.endsWith('/') ? dir.slice(0, -1) : dir}/${file}`;
    let st: Stats;
    try {
      st = statSync(candidate);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // lib/notify.c:567-595: these mean "not here", anything else ends the search.
      if (code && ['ENOENT', 'ENOTDIR', 'EACCES', 'ESTALE', 'ENODEV', 'ETIMEDOUT'].includes(code)) continue;
      return { ok: false, eacces };
    }
    if (st.isFile() && isExecutable(st, uid, gid)) return { ok: true, path: candidate };
    eacces = true;
  }
  return { ok: false, eacces };
}

/** check_security() (lib/notify.c:625-689) for one absolute path. */
function checkComponents(file: string): { problem: SecurityProblem; unsafePath: string; why: string } | null {
  const prefixes = ['/'];
  for (let i = file.indexOf('/', 1); i > 0; i = file.indexOf('/', i + 1)) prefixes.push(file.slice(0, i));
  prefixes.push(file);
  for (let k = 0; k < prefixes.length; k++) {
    const p = prefixes[k]!;
    const last = k === prefixes.length - 1;
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      return { problem: 'not-found', unsafePath: p, why: `could not be found: ${errText(e)}` };
    }
    if ((!last && !st.isDirectory()) || (last && !st.isFile() && !st.isSymbolicLink())) {
      return { problem: 'wrong-type', unsafePath: p, why: last ? 'is not a regular file or symlink' : 'is not a directory' };
    }
    if (st.uid !== 0) return { problem: 'unsafe', unsafePath: p, why: `is owned by uid ${st.uid}, not root` };
    const rule = (st.isDirectory() && (st.mode & 0o1000) === 0) || st.isFile();
    if (rule && st.gid !== 0 && (st.mode & 0o020) !== 0) {
      return { problem: 'unsafe', unsafePath: p, why: `is writable by group ${st.gid}` };
    }
    if (rule && (st.mode & 0o002) !== 0) {
      return { problem: 'unsafe', unsafePath: p, why: st.isDirectory() ? 'is world-writable (and not sticky)' : 'is world-writable' };
    }
  }
  return null;
}

function tryStat(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}
