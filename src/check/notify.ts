// Run notify_up/notify_down/quorum_up/quorum_down scripts the way keepalived does: through
// /bin/sh -c, asynchronously, never waiting for them. A script that cannot start is logged.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { NotifyCmd } from '../config/model.js';

export type ScriptLog = (level: 'debug' | 'warn', msg: string, fields: Record<string, unknown>) => void;
export type ScriptRunner = (cmd: NotifyCmd, what: string, log: ScriptLog) => void;

/** uid/gid of `user` or `user:group` / `user group` from /etc/passwd and /etc/group. */
export function lookupUser(spec: string, passwd: string, group: string): { uid: number; gid: number } | null {
  const [user, grp] = spec.trim().split(/[:\s]+/);
  const pw = passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === user);
  if (!pw || pw.length < 4) return null;
  let gid = Number(pw[3]);
  if (grp) {
    const g = group.split('\n').map((l) => l.split(':')).find((f) => f[0] === grp);
    if (!g || g.length < 3) return null;
    gid = Number(g[2]);
  }
  return { uid: Number(pw[2]), gid };
}

export const runScript: ScriptRunner = (cmd, what, log) => {
  let ids: { uid: number; gid: number } | null = null;
  if (cmd.user) {
    try {
      ids = lookupUser(cmd.user, readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8'));
    } catch {
      ids = null;
    }
    if (!ids) {
      log('warn', `${what} script "${cmd.command}": unknown user "${cmd.user}"; not run`, { script: cmd.command });
      return;
    }
  }
  try {
    const child = spawn('/bin/sh', ['-c', cmd.command], { stdio: 'ignore', ...(ids ?? {}) });
    child.on('error', (e) => log('warn', `${what} script "${cmd.command}" could not be started: ${e.message}`, { script: cmd.command }));
    child.on('exit', (code, signal) => {
      if (code !== 0) log('debug', `${what} script "${cmd.command}" exited with ${signal ?? `status ${code}`}`, { script: cmd.command, code, signal });
    });
  } catch (e) {
    log('warn', `${what} script "${cmd.command}" could not be started: ${(e as Error).message}`, { script: cmd.command });
  }
};
