// What `hakeep -t` (and the daemon at start) says about the scripts a config names, before any of
// them runs: a program that cannot be found or executed, a command line that cannot be split,
// and, as keepalived's enable_script_security checks it, a script run as root whose file or
// directories a non-root user can write (named). With enable_script_security that script will
// be refused at run time (a vrrp_script counts as failing, a notification is skipped); without
// it, keepalived only warns and runs it, and so does hakeep. All of these are warnings, not
// errors: keepalived starts with such scripts disabled, and so does hakeep.
import type { Config, Diagnostic, NotifyCmd, SourceLoc } from '../config/model.js';
import { checkScriptSecurity } from './security.js';
import { splitCommand } from './split.js';
import { KEEPALIVED_SCRIPT_USER, parseUserSpec, UserDirectory } from './users.js';

interface ScriptUse {
  what: string;
  command: string;
  user: string | null;
  loc: SourceLoc;
}

function uses(config: Config): ScriptUse[] {
  const out: ScriptUse[] = [];
  const cmd = (what: string, c: NotifyCmd | null | undefined, loc: SourceLoc): void => {
    if (c) out.push({ what, command: c.command, user: c.user, loc });
  };
  for (const s of config.vrrpScripts) out.push({ what: `vrrp_script ${s.name}`, command: s.script, user: s.user, loc: s.loc });
  for (const i of config.vrrpInstances) {
    for (const [k, c] of Object.entries({
      notify_master: i.notifyMaster, notify_backup: i.notifyBackup, notify_fault: i.notifyFault, notify_stop: i.notifyStop, notify: i.notify,
    })) cmd(`(${i.name}) ${k}`, c, i.loc);
  }
  for (const g of config.vrrpSyncGroups) {
    for (const [k, c] of Object.entries({ notify_master: g.notifyMaster, notify_backup: g.notifyBackup, notify_fault: g.notifyFault, notify: g.notify })) {
      cmd(`vrrp_sync_group ${g.name} ${k}`, c, g.loc);
    }
  }
  for (const vs of config.virtualServers) {
    cmd('quorum_up', vs.quorumUp, vs.loc);
    cmd('quorum_down', vs.quorumDown, vs.loc);
    for (const rs of vs.realServers) {
      cmd(`real_server ${rs.ip} ${rs.port} notify_up`, rs.notifyUp, vs.loc);
      cmd(`real_server ${rs.ip} ${rs.port} notify_down`, rs.notifyDown, vs.loc);
      for (const c of rs.checkers) if (c.type === 'MISC_CHECK') out.push({ what: `MISC_CHECK on ${rs.ip} ${rs.port}`, command: c.miscPath, user: c.user, loc: c.loc });
    }
  }
  return out;
}

/** Diagnostics for every script of `config` (reads the file system; never runs anything). */
export async function scriptDiagnostics(config: Config, users = new UserDirectory()): Promise<Diagnostic[]> {
  const g = config.globalDefs;
  const out: Diagnostic[] = [];
  const list = uses(config);
  if (list.length === 0) return out;
  const diag = (severity: Diagnostic['severity'], loc: SourceLoc, message: string): void => {
    out.push({ severity, file: loc.file, line: loc.line, message });
  };
  // keepalived's default script user: script_user, else keepalived_script when it exists, else root.
  let defaultUser = g.scriptUser ? parseUserSpec(g.scriptUser) : null;
  if (!defaultUser) {
    const ks = await users.resolve(KEEPALIVED_SCRIPT_USER);
    defaultUser = { user: ks.ok ? KEEPALIVED_SCRIPT_USER : 'root' };
  }
  for (const u of list) {
    const split = splitCommand(u.command);
    if (!split.ok) {
      diag('warning', u.loc, `${u.what}: cannot split '${u.command}': ${split.error}`);
      continue;
    }
    const spec = u.user ? parseUserSpec(u.user) : defaultUser;
    const ids = spec ? await users.resolve(spec.user, spec.group) : { ok: false as const, error: `bad user '${u.user}'` };
    if (!ids.ok) {
      diag('warning', u.loc, `${u.what}: ${ids.error}; the script cannot run`);
      continue;
    }
    const sec = checkScriptSecurity(split.args[0]!, ids.ids.uid, { gid: ids.ids.gid });
    if (sec.ok) continue;
    if (sec.problem === 'unsafe') {
      if (g.enableScriptSecurity) {
        diag('warning', u.loc, `${u.what}: unsafe script ${sec.path}: ${sec.unsafePath} ${sec.why}; with enable_script_security it will not run (as keepalived). Make ${sec.unsafePath} root-owned and not writable by others`);
      } else {
        diag('warning', u.loc, `${u.what}: ${sec.unsafePath} ${sec.why}: a non-root user can change what runs as ${ids.ids.user}; keepalived and hakeep run it anyway without enable_script_security`);
      }
    } else {
      diag('warning', u.loc, `${u.what}: ${split.args[0]}: ${sec.why}; the script cannot run`);
    }
  }
  return out;
}
