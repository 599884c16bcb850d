// global_defs: defaults for the whole daemon (keepalived's values when a keyword is absent).
import type { GlobalDefs, NotifyFifo, NotifyFifoScript } from './model.js';
import type { Statement } from './parser.js';
import { walkBlock, type BlockSpec } from './block.js';
import { notifyLine } from './schema-vrrp.js';
import { arg, at, bool, int, ip, loc, presentFlag, seconds, type Reporter } from './values.js';

export function defaultGlobalDefs(): GlobalDefs {
  return {
    routerId: null,
    notificationEmail: [],
    notificationEmailFrom: null,
    smtpServer: null,
    smtpConnectTimeout: 30,
    vrrpMcastGroup4: '224.0.0.18',
    vrrpMcastGroup6: 'ff02::12',
    vrrpGarpMasterDelay: 5,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefresh: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpInterval: 0,
    // Resolved by readGlobalDefs from vrrp_garp_master_delay/repeat when not written.
    vrrpGarpLowerPrioDelay: 5,
    vrrpGarpLowerPrioRepeat: 5,
    vrrpMinGarp: false,
    vrrpStrict: false,
    vrrpVersion: 2,
    vrrpSkipCheckAdvAddr: false,
    vrrpCheckUnicastSrc: false,
    vrrpLowerPrioNoAdvert: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpStartupDelay: 0,
    enableScriptSecurity: false,
    scriptUser: null,
    notifyFifo: null,
    notifyFifoScript: null,
    vrrpNotifyFifo: null,
    vrrpNotifyFifoScript: null,
    vrrpNotifyPriorityChanges: false,
    lvsFlush: false,
    lvsFlushOnStop: 'none',
    checkerLogAllFailures: false,
    extra: {},
  };
}

/** Which global keywords were written with a valid value (for defaults resolved after parsing). */
export interface GlobalsSeen {
  garpLowerPrioDelay: boolean;
  garpLowerPrioRepeat: boolean;
}

export function globalSpec(r: Reporter, seen: GlobalsSeen = { garpLowerPrioDelay: false, garpLowerPrioRepeat: false }): BlockSpec<GlobalDefs> {
  return {
    name: 'global_defs',
    handlers: {
      router_id: (st, g) => { g.routerId = arg(r, st, 'a name'); },
      notification_email: (st, g) => {
        for (const s of st.block ?? []) g.notificationEmail.push(s.keyword, ...s.args);
      },
      notification_email_from: (st, g) => { g.notificationEmailFrom = arg(r, st, 'an address'); },
      smtp_server: (st, g) => { g.smtpServer = st.args.join(' ') || null; ip(r, st, st.args[0]); },
      smtp_connect_timeout: (st, g) => { g.smtpConnectTimeout = seconds(r, st, 1, 3600) ?? g.smtpConnectTimeout; },
      vrrp_mcast_group4: (st, g) => {
        const a = ip(r, st, st.args[0], 'an IPv4 multicast address');
        if (a && (a.family !== 4 || !isMulticast4(a.ip))) r.error(loc(st), `vrrp_mcast_group4 ${a.ip} is not an IPv4 multicast address (224.0.0.0/4)`);
        else if (a) g.vrrpMcastGroup4 = a.ip;
      },
      vrrp_mcast_group6: (st, g) => {
        const a = ip(r, st, st.args[0], 'an IPv6 multicast address');
        if (a && (a.family !== 6 || !a.ip.toLowerCase().startsWith('ff'))) r.error(loc(st), `vrrp_mcast_group6 ${a.ip} is not an IPv6 multicast address (ff00::/8)`);
        else if (a) g.vrrpMcastGroup6 = a.ip;
      },
      vrrp_garp_master_delay: (st, g) => { g.vrrpGarpMasterDelay = int(r, st, 0, 86400) ?? g.vrrpGarpMasterDelay; },
      vrrp_garp_master_repeat: (st, g) => { g.vrrpGarpMasterRepeat = int(r, st, 0, 255) ?? g.vrrpGarpMasterRepeat; },
      vrrp_garp_master_refresh: (st, g) => { g.vrrpGarpMasterRefresh = int(r, st, 0, 86400) ?? g.vrrpGarpMasterRefresh; },
      vrrp_garp_master_refresh_repeat: (st, g) => { g.vrrpGarpMasterRefreshRepeat = int(r, st, 0, 255) ?? g.vrrpGarpMasterRefreshRepeat; },
      vrrp_garp_interval: (st, g) => { g.vrrpGarpInterval = seconds(r, st, 0, 1) ?? g.vrrpGarpInterval; },
      vrrp_gna_interval: () => { /* IPv6 neighbour adverts: same spacing knob, kept for compatibility */ },
      vrrp_garp_lower_prio_delay: (st, g) => {
        const n = int(r, st, 0, 86400);
        if (n !== null) { g.vrrpGarpLowerPrioDelay = n; seen.garpLowerPrioDelay = true; }
      },
      vrrp_garp_lower_prio_repeat: (st, g) => {
        const n = int(r, st, 0, 255);
        if (n !== null) { g.vrrpGarpLowerPrioRepeat = n; seen.garpLowerPrioRepeat = true; }
      },
      vrrp_min_garp: (st, g) => {
        g.vrrpMinGarp = bool(r, st);
        if (!g.vrrpMinGarp) return;
        // keepalived applies it when it reads the keyword, to the values still at their defaults
        // at that point; a vrrp_garp_* line written after it wins. (Refresh stays 0, its default.)
        if (g.vrrpGarpMasterRepeat === 5) g.vrrpGarpMasterRepeat = 1;
        if (g.vrrpGarpMasterRefreshRepeat === 1) g.vrrpGarpMasterRefreshRepeat = 0;
        if (g.vrrpGarpMasterDelay === 5) g.vrrpGarpMasterDelay = 0;
      },
      vrrp_strict: (st, g) => {
        g.vrrpStrict = presentFlag(r, st);
        r.warn(loc(st), 'vrrp_strict: hakeep applies keepalived\'s strict-mode checks and corrections (reported per instance) but never installs the firewall rules keepalived adds with it: under strict mode a non-owner instance defaults to no_accept and keepalived drops traffic to its VIPs with nftables/iptables (a frequent blackhole). hakeep always accepts VIP traffic; filter it with your own firewall if you rely on that');
      },
      vrrp_version: (st, g) => {
        const v = int(r, st, 2, 3);
        if (v === 3) r.warn(loc(st), 'vrrp_version 3 is not implemented by hakeep yet; the daemon will refuse to start instances that use it (use 2)');
        if (v !== null) g.vrrpVersion = v as 2 | 3;
      },
      vrrp_skip_check_adv_addr: (st, g) => { g.vrrpSkipCheckAdvAddr = presentFlag(r, st); },
      vrrp_check_unicast_src: (st, g) => { g.vrrpCheckUnicastSrc = presentFlag(r, st); },
      vrrp_lower_prio_no_advert: (st, g) => { g.vrrpLowerPrioNoAdvert = bool(r, st); },
      vrrp_higher_prio_send_advert: (st, g) => { g.vrrpHigherPrioSendAdvert = bool(r, st); },
      vrrp_startup_delay: (st, g) => {
        // keepalived: 0.001 s up to what a 32-bit microsecond count holds; "very large" from 60 s.
        g.vrrpStartupDelay = seconds(r, st, 0, 4294) ?? 0;
        if (g.vrrpStartupDelay >= 60) r.note(loc(st), `vrrp_startup_delay ${st.args[0]} is very large: no instance can become master during the first ${g.vrrpStartupDelay} seconds after start`);
      },
      enable_script_security: (st, g) => { g.enableScriptSecurity = bool(r, st); },
      script_user: (st, g) => { g.scriptUser = arg(r, st, 'a user name'); },
      notify_fifo: (st, g) => { g.notifyFifo = fifoOf(r, st, g.notifyFifo); },
      notify_fifo_script: (st, g) => { g.notifyFifoScript = fifoScriptOf(r, st, g.notifyFifoScript); },
      vrrp_notify_fifo: (st, g) => { g.vrrpNotifyFifo = fifoOf(r, st, g.vrrpNotifyFifo); },
      vrrp_notify_fifo_script: (st, g) => { g.vrrpNotifyFifoScript = fifoScriptOf(r, st, g.vrrpNotifyFifoScript); },
      vrrp_notify_priority_changes: (st, g) => { g.vrrpNotifyPriorityChanges = bool(r, st); },
      lvs_flush: (st, g) => {
        g.lvsFlush = bool(r, st);
        r.warn(loc(st), 'lvs_flush: hakeep never flushes the whole IPVS table; it only touches the services in this config');
      },
      // keepalived (global_parser.c lvs_flush_on_stop_handler): no argument = flush everything,
      // `VS` = only the configured services; anything else is reported and ignored.
      lvs_flush_on_stop: (st, g) => {
        const a = st.args[0];
        if (a === undefined) {
          g.lvsFlushOnStop = 'all';
          r.warn(loc(st), 'lvs_flush_on_stop: on stop hakeep flushes the WHOLE IPVS table, services it did not create included (keepalived does the same); write "lvs_flush_on_stop VS" to remove only the configured services');
        } else if (a === 'VS') {
          g.lvsFlushOnStop = 'vs';
        } else {
          r.warn(loc(st), `Unknown lvs_flush_on_stop type ${a}: ignored (keepalived ignores it too); use no argument or VS`);
        }
      },
      checker_log_all_failures: (st, g) => { g.checkerLogAllFailures = bool(r, st); },
    },
    notYet: [
      'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_counters', 'nftables_ifindex',
      'lvs_notify_fifo', 'lvs_notify_fifo_script', 'lvs_sync_daemon', 'lvs_sync_daemon_interface', 'lvs_timeouts',
      'vrrp_delay_after_boot', 'dynamic_interfaces', 'net_namespace', 'net_namespace_ipvs',
      'instance', 'use_pid_dir', 'default_interface', 'startup_script', 'shutdown_script',
      'startup_script_timeout', 'shutdown_script_timeout', 'vrrp_garp_extra_if', 'vrrp_down_timer_adverts',
      'reload_check_config', 'reload_file', 'reload_time_file', 'include_check', 'config_save_dir',
      'state_file_location', 'stats_file_location', 'json_file_location', 'data_use_instance', 'json_version',
      'fifo_write_vrrp_states_on_reload', 'rs_init_notifies', 'vrrp_netlink_cmd_rcv_bufs',
      'vrrp_netlink_monitor_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs',
      'process_monitor_rcv_bufs', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier', 'vrrp_tx_bufs',
      'notify_loglevel', 'vrrp_socket_priority', 'linkbeat_use_polling', 'vrrp_track_process',
    ],
    noEffect: {
      smtp_helo_name: 'e-mail alerts are not sent by hakeep; use notify scripts',
      smtp_alert: 'e-mail alerts are not sent by hakeep; use notify scripts',
      smtp_alert_vrrp: 'e-mail alerts are not sent by hakeep; use notify scripts',
      smtp_alert_checker: 'e-mail alerts are not sent by hakeep; use notify scripts',
      no_email_faults: 'e-mail alerts are not sent by hakeep',
      no_checker_emails: 'e-mail alerts are not sent by hakeep',
      max_auto_priority: 'hakeep keeps timers on time without realtime scheduling (see docs)',
      vrrp_priority: 'process priority is set by the systemd unit',
      checker_priority: 'process priority is set by the systemd unit',
      bfd_priority: 'process priority is set by the systemd unit',
      vrrp_no_swap: 'memory locking is set by the systemd unit',
      checker_no_swap: 'memory locking is set by the systemd unit',
      bfd_no_swap: 'memory locking is set by the systemd unit',
      vrrp_rt_priority: 'hakeep does not use realtime scheduling',
      checker_rt_priority: 'hakeep does not use realtime scheduling',
      bfd_rt_priority: 'hakeep does not use realtime scheduling',
      vrrp_rlimit_rtime: 'hakeep does not use realtime scheduling',
      checker_rlimit_rtime: 'hakeep does not use realtime scheduling',
      vrrp_cpu_affinity: 'CPU affinity is set by the systemd unit',
      checker_cpu_affinity: 'CPU affinity is set by the systemd unit',
      snmp_socket: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_keepalived: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_vrrp: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_checker: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_rfc: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_rfcv2: 'SNMP is not supported; use the metrics endpoint',
      enable_snmp_rfcv3: 'SNMP is not supported; use the metrics endpoint',
      enable_traps: 'SNMP is not supported; use the metrics endpoint',
      enable_dbus: 'D-Bus is not supported; use the status socket',
      enable_dbus_instance_name: 'D-Bus is not supported; use the status socket',
    },
    deprecated: {
      smtp_connection_to: 'smtp_connect_timeout',
      vrrp_mcast_group4_addr: 'vrrp_mcast_group4',
    },
  };
}

/** `notify_fifo PATH [user [group]]`; keepalived keeps the first of a repeated one (global_parser.c:1345-1348). */
function fifoOf(r: Reporter, st: Statement, current: NotifyFifo | null): NotifyFifo | null {
  if (current) {
    r.warn(loc(st), `${st.keyword} is already given at ${at(current.loc)}; keepalived keeps the first one and so does hakeep: remove one`);
    return current;
  }
  const [path, user, group, ...rest] = st.args;
  if (!path) {
    r.error(loc(st), `${st.keyword} needs a FIFO path, e.g. ${st.keyword} /run/keepalived.fifo`);
    return null;
  }
  if (!path.startsWith('/')) {
    r.warn(loc(st), `${st.keyword} ${path} is a relative path: it is taken from hakeep's working directory (/ under systemd); write an absolute path`);
  }
  if (rest.length > 0) r.warn(loc(st), `${st.keyword}: '${rest.join(' ')}' ignored (the syntax is ${st.keyword} PATH [USER [GROUP]])`);
  return { path, user: user ?? null, ...(group !== undefined ? { group } : {}), loc: loc(st) };
}

/** `notify_fifo_script SCRIPT [user [group]]` (global_parser.c:1363-1382). */
function fifoScriptOf(r: Reporter, st: Statement, current: NotifyFifoScript | null): NotifyFifoScript | null {
  if (current) {
    r.warn(loc(st), `${st.keyword} is already given at ${at(current.loc)}; keepalived keeps the first one and so does hakeep: remove one`);
    return current;
  }
  const cmd = notifyLine(r, st, 'global_defs', null);
  return cmd ? { ...cmd, loc: loc(st) } : null;
}

function isMulticast4(a: string): boolean {
  const first = Number(a.split('.')[0]);
  return first >= 224 && first <= 239;
}

export function readGlobalDefs(r: Reporter, blocks: Statement[]): GlobalDefs {
  const g = defaultGlobalDefs();
  const seen: GlobalsSeen = { garpLowerPrioDelay: false, garpLowerPrioRepeat: false };
  const spec = globalSpec(r, seen);
  for (const st of blocks) walkBlock(r, spec, st.block ?? [], g, g.extra);
  // keepalived (vrrp_complete_init): unset lower-priority GARP values follow the master ones.
  if (!seen.garpLowerPrioDelay) g.vrrpGarpLowerPrioDelay = g.vrrpGarpMasterDelay;
  if (!seen.garpLowerPrioRepeat) g.vrrpGarpLowerPrioRepeat = g.vrrpGarpMasterRepeat;
  return g;
}
