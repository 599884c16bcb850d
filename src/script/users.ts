// User and group names → ids for running scripts, and keepalived's default script user rule.
// Asynchronous: /etc/passwd and /etc/group are read with fs/promises and cached briefly; a name
// not in them is asked of NSS with `getent` (LDAP, sssd …), as keepalived's getpwnam_r() would.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ScriptIds {
  user: string;
  uid: number;
  gid: number;
}

export type IdsOrError = { ok: true; ids: ScriptIds } | { ok: false; error: string };

const CACHE_MS = 5000;
const GETENT_TIMEOUT_MS = 3000;

interface Table {
  at: number;
  rows: Map<string, string[]>;
}

/** The name keepalived falls back to (lib/notify.c:977). */
export const KEEPALIVED_SCRIPT_USER = 'keepalived_script';

/** Parses "user", "user group" or "user:group" (keepalived's `user USER [GROUP]`). */
export function parseUserSpec(spec: string): { user: string; group?: string } | null {
  const parts = spec.trim().split(/[\s:]+/).filter(Boolean);
  if (parts.length === 0 || parts.length > 2) return null;
  return parts.length === 2 ? { user: parts[0]!, group: parts[1]! } : { user: parts[0]! };
}

export class UserDirectory {
  private passwd: Table | null = null;
  private group: Table | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * set_uid_gid() (lib/notify.c:901-952): the user's uid and primary gid, or the named group's
   * gid instead. Names only, as getpwnam()/getgrnam(): "0" is not root unless a user is called "0".
   */
  async resolve(user: string, group?: string): Promise<IdsOrError> {
    if (!user || group === '') return { ok: false, error: 'empty script user or group name' };
    const pw = await this.lookup('passwd', user);
    if (!pw || pw.length < 4) return { ok: false, error: `script user '${user}' does not exist` };
    let gid = Number(pw[3]);
    if (group !== undefined) {
      const gr = await this.lookup('group', group);
      if (!gr || gr.length < 3) return { ok: false, error: `script group '${group}' does not exist` };
      gid = Number(gr[2]);
    }
    return { ok: true, ids: { user, uid: Number(pw[2]), gid } };
  }

  private async lookup(db: 'passwd' | 'group', name: string): Promise<string[] | null> {
    const table = await this.table(db);
    return table.get(name) ?? (await getent(db, name));
  }

  private async table(db: 'passwd' | 'group'): Promise<Map<string, string[]>> {
    const cached = db === 'passwd' ? this.passwd : this.group;
    if (cached && this.now() - cached.at < CACHE_MS) return cached.rows;
    const rows = new Map<string, string[]>();
    try {
      for (const line of (await readFile(`/etc/${db}`, 'utf8')).split('\n')) {
        const f = line.split(':');
        if (f[0] && !rows.has(f[0])) rows.set(f[0], f);
      }
    } catch {
      // No file: NSS (getent) still answers.
    }
    const t = { at: this.now(), rows };
    if (db === 'passwd') this.passwd = t;
    else this.group = t;
    return rows;
  }
}

function getent(db: 'passwd' | 'group', name: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    try {
      execFile('getent', [db, name], { timeout: GETENT_TIMEOUT_MS }, (err, stdout) => {
        if (err) return resolve(null);
        const f = stdout.split('\n')[0]!.split(':');
        // getent also accepts a numeric id; getpwnam() does not.
        resolve(f[0] === name ? f : null);
      });
    } catch {
      resolve(null);
    }
  });
}

export interface DefaultUserResult {
  result: IdsOrError;
  /** A warning to log once (the fallback to the daemon's own user). */
  warning?: string;
}

/**
 * get_default_script_user() (lib/notify.c:974-1000) with set_default_script_user()
 * (lib/notify.c:962-972, global `script_user`):
 *  - `script_user` given: that user (and group); if it does not exist, scripts without their own
 *    user are not run at all (default_user_fail, lib/notify.c:968-969, 1094-1100);
 *  - else `keepalived_script` if it exists;
 *  - else the daemon's own uid/gid, unless enable_script_security is set, in which case scripts
 *    without a user are refused (lib/notify.c:989-992).
 */
export async function resolveDefaultUser(
  dir: UserDirectory, scriptUser: string | null | undefined, scriptSecurity: boolean,
): Promise<DefaultUserResult> {
  if (scriptUser) {
    const spec = parseUserSpec(scriptUser);
    if (!spec) return { result: { ok: false, error: `script_user '${scriptUser}' is not "USER [GROUP]"` } };
    const r = await dir.resolve(spec.user, spec.group);
    if (!r.ok) return { result: { ok: false, error: `default script user (script_user) unusable: ${r.error}` } };
    return { result: r };
  }
  const r = await dir.resolve(KEEPALIVED_SCRIPT_USER);
  if (r.ok) return { result: r };
  if (scriptSecurity) {
    return {
      result: {
        ok: false,
        error: `no script user: '${KEEPALIVED_SCRIPT_USER}' does not exist and enable_script_security is set; set script_user or give the script a user`,
      },
    };
  }
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  return {
    result: { ok: true, ids: { user: uid === 0 ? 'root' : String(uid), uid, gid } },
    warning: `Script user '${KEEPALIVED_SCRIPT_USER}' does not exist and no script_user is set: scripts without a user run as uid ${uid}`,
  };
}
