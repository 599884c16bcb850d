// What the running daemon acts on today. Parsed-but-inactive features get one warning each at
// their line, so `hakeep -t` tells an operator exactly what would be silently missing.
// Keep this in step with the README's compatibility table as features land.
import type { Config } from './model.js';
import type { Reporter } from './values.js';

/** Checker types the checker side runs; others leave their real server always up. */
export const IMPLEMENTED_CHECKERS = new Set(['TCP_CHECK']);

export function reportUnimplemented(r: Reporter, config: Config): void {
  for (const s of config.vrrpScripts) {
    r.warn(s.loc, `vrrp_script ${s.name} is parsed but hakeep does not run tracking scripts yet; it has no effect on priority`);
  }
  for (const g of config.vrrpSyncGroups) {
    // Members move together (src/vrrp/sync-group.ts); group-level trackers and scripts do not yet.
    if (g.trackScript.length > 0 || g.trackInterface.length > 0) {
      r.warn(g.loc, `vrrp_sync_group ${g.name}: track_script/track_interface on the group are parsed but not acted on yet`);
    }
    if (g.notifyMaster || g.notifyBackup || g.notifyFault || g.notify) {
      r.warn(g.loc, `vrrp_sync_group ${g.name}: notify scripts are parsed but hakeep does not run VRRP notify scripts yet`);
    }
  }
  for (const inst of config.vrrpInstances) {
    for (const t of inst.trackInterface) {
      r.warn(t.loc, `(${inst.name}) track_interface ${t.name} is parsed but not acted on yet`);
    }
    const notifies = (['notifyMaster', 'notifyBackup', 'notifyFault', 'notifyStop', 'notify'] as const).filter((k) => inst[k] !== null);
    if (notifies.length > 0) {
      r.warn(inst.loc, `(${inst.name}) notify scripts are parsed but hakeep does not run VRRP notify scripts yet`);
    }
    if (inst.family === 6) {
      const v6 = inst.virtualIpaddress[0];
      r.warn(v6?.loc ?? inst.loc, `(${inst.name}) IPv6 VRRP is not implemented by hakeep yet; the daemon will refuse to start this instance`);
    }
    if (inst.virtualRoutes.length > 0 || inst.virtualRules.length > 0) {
      r.warn(inst.loc, `(${inst.name}) virtual_routes/virtual_rules are parsed but not applied by hakeep yet`);
    }
  }
  for (const vs of config.virtualServers) {
    if (vs.haSuspend) r.warn(vs.loc, 'ha_suspend is parsed but not implemented by hakeep yet; checks always run');
    for (const rs of vs.realServers) {
      for (const c of rs.checkers) {
        if (!IMPLEMENTED_CHECKERS.has(c.type)) {
          // An error, not a warning: a server nobody checks must never count as healthy. keepalived
          // runs these checkers; hakeep refuses the config until it does too.
          r.error(c.loc, `${c.type} is not run by hakeep yet, so real_server ${rs.ip} ${rs.port} would never be checked by it: hakeep refuses to start rather than keep an unchecked server in the pool. Use TCP_CHECK for now, or keep keepalived for this virtual_server`);
        }
      }
    }
  }
}
