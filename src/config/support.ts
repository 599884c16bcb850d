// What the running daemon acts on today. Parsed-but-inactive features get one warning each at
// their line, so `hakeep -t` tells an operator exactly what would be silently missing.
// Keep this in step with the README's compatibility table as features land.
import type { Config } from './model.js';
import type { Reporter } from './values.js';

/** Checker types the checker side runs. BFD_CHECK is refused: hakeep has no BFD. */
export const IMPLEMENTED_CHECKERS = new Set([
  'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK',
]);

export function reportUnimplemented(r: Reporter, config: Config): void {
  // Sync groups (src/vrrp/sync-group.ts), their trackers (src/vrrp/trackers/) and notify scripts
  // (src/vrrp/notify.ts) all run: nothing to say about them here.
  for (const inst of config.vrrpInstances) {
    if (inst.family === 6) {
      const v6 = inst.virtualIpaddress[0];
      r.warn(v6?.loc ?? inst.loc, `(${inst.name}) IPv6 VRRP is not implemented by hakeep yet; the daemon will refuse to start this instance`);
    }
    if (inst.virtualRoutes.length > 0 || inst.virtualRules.length > 0) {
      // keepalived watches its routes and rules (a tracked one deleted by someone else takes
      // the instance to FAULT, a static one is put back); hakeep sets and removes them only.
      r.note(inst.loc, `(${inst.name}) virtual_routes/virtual_rules are set and removed with MASTER; unlike keepalived, hakeep does not watch them for deletion by others (no_track is the behaviour)`);
    }
  }
  const fifo = config.globalDefs.notifyFifo;
  if (fifo && config.virtualServers.length > 0) {
    r.note(fifo.loc, `notify_fifo ${fifo.path}: hakeep writes the VRRP lines (INSTANCE/GROUP) there; the checker lines keepalived also writes (VS/RS) are not written yet`);
  }
  for (const vs of config.virtualServers) {
    if (vs.haSuspend) r.warn(vs.loc, 'ha_suspend is parsed but not implemented by hakeep yet; checks always run');
    for (const rs of vs.realServers) {
      for (const c of rs.checkers) {
        // check_file.c:55-60: keepalived reports "track_file %s not found" and drops the checker.
        if (c.type === 'FILE_CHECK' && c.trackFile && !(config.vrrpTrackFiles ?? []).some((t) => t.name === c.trackFile)) {
          r.error(c.loc, `FILE_CHECK track_file ${c.trackFile} is not defined: add a top-level track_file ${c.trackFile} { file PATH } block`);
        }
        // SO_BINDTODEVICE and SO_MARK on a checker's socket: Node's sockets cannot set them.
        if ('bindIf' in c && c.bindIf) r.warn(c.loc, `${c.type} bind_if ${c.bindIf} is not supported by hakeep; the check connects without it (routing picks the interface)`);
        if ('fwmark' in c && c.fwmark !== null) r.warn(c.loc, `${c.type} fwmark ${c.fwmark} is not supported by hakeep; the check's packets are not marked`);
        if (!IMPLEMENTED_CHECKERS.has(c.type)) {
          // An error, not a warning: a server nobody checks must never count as healthy. keepalived
          // runs these checkers; hakeep refuses the config until it does too.
          r.error(c.loc, `${c.type} is not run by hakeep yet (hakeep has no BFD), so real_server ${rs.ip} ${rs.port} would never be checked by it: hakeep refuses to start rather than keep an unchecked server in the pool. Use another checker (TCP_CHECK, PING_CHECK …), or keep keepalived for this virtual_server`);
        }
      }
    }
  }
}
