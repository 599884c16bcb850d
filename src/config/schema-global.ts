// global_defs: defaults for the whole daemon (keepalived's values when a keyword is absent).
import type { GlobalDefs, LvsSyncDaemon, LvsTimeouts, NotifyFifo, NotifyFifoScript, SmtpServer } from './model.js';

/** keepalived's LVS_MAX_TIMEOUT (global_data.h:69): 31 days. */
const LVS_MAX_TIMEOUT = 86400 * 31;
import type { Statement } from './parser.js';
import { walkBlock, type BlockSpec } from './block.js';
import { notifyLine } from './schema-vrrp.js';
import { arg, at, ipFamily, loc, presentFlag, type Reporter } from './values.js';
import { kaBool, kaNumber } from './lenient.js';

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
    vrrpRtPriority: null,
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
      // global_parser.c:157-165: without a name the line is ignored (router_id stays the host name).
      router_id: (st, g) => {
        if (st.args[0] === undefined) {
          r.warn(loc(st), 'router_id without a name: keepalived ignores the line ("routerid name missing - ignoring"), so does hakeep; the host name is used. Write router_id NAME');
          return;
        }
        g.routerId = st.args[0];
      },
      // global_parser.c:249-265: one address per line (several on a line are all taken).
      notification_email: (st, g) => {
        const lines = st.block ?? [];
        if (lines.length === 0) {
          r.warn(loc(st), 'notification_email has no addresses: keepalived ignores it ("Warning - empty notification_email block"), so does hakeep; no e-mail alert is sent. Write one address per line inside the block');
          return;
        }
        for (const s of lines) g.notificationEmail.push(s.keyword, ...s.args);
      },
      // global_parser.c:167-177
      notification_email_from: (st, g) => {
        if (st.args[0] === undefined) {
          r.warn(loc(st), 'notification_email_from without an address: keepalived ignores the line ("emailfrom missing - ignoring"), so does hakeep; alerts come from USER@HOSTNAME. Write notification_email_from ADDRESS');
          return;
        }
        g.notificationEmailFrom = st.args[0];
      },
      smtp_server: (st, g) => { g.smtpServer = readSmtpServer(r, st); },
      // global_parser.c:179-196: whole seconds 0-4294; 0 becomes 1; anything else is ignored.
      smtp_connect_timeout: (st, g) => {
        const n = kaNumber(r, st, 0, 4294, { integer: true, ka: `smtp_connect_timeout '${st.args[0] ?? ''}' must be in [0, 4294] - ignoring`, keeps: `smtp_connect_timeout stays ${g.smtpConnectTimeout} seconds`, unit: 'seconds' });
        if (n === 0) {
          r.warn(loc(st), 'smtp_connect_timeout 0: keepalived uses 1 second ("smtp_conect_timeout must be greater than 0, setting to 1"), so does hakeep. Write 1 or more');
          g.smtpConnectTimeout = 1;
        } else if (n !== null) {
          g.smtpConnectTimeout = n;
        }
      },
      // global_parser.c:240-247: without a name keepalived keeps its default (the host name).
      smtp_helo_name: (st, g) => {
        if (st.args[0] === undefined) r.warn(loc(st), 'smtp_helo_name without a name: ignored, as keepalived does; HELO uses the host name');
        else g.smtpHeloName = st.args[0];
      },
      // global_parser.c:267-281, 404-435: check_true_false; an invalid value leaves it unset.
      smtp_alert: (st, g) => {
        const b = kaBool(r, st, `Invalid value '${st.args[0] ?? ''}' for global smtp_alert specified`, 'smtp_alert stays unset');
        if (b !== null) g.smtpAlert = b;
      },
      smtp_alert_vrrp: (st, g) => {
        const b = kaBool(r, st, `Invalid value '${st.args[0] ?? ''}' for global smtp_alert_vrrp specified`, 'smtp_alert_vrrp stays unset');
        if (b !== null) g.smtpAlertVrrp = b;
      },
      smtp_alert_checker: (st, g) => {
        const b = kaBool(r, st, `Invalid value '${st.args[0] ?? ''}' for global smtp_alert_checker specified`, 'smtp_alert_checker stays unset');
        if (b !== null) g.smtpAlertChecker = b;
      },
      // global_parser.c:214-218: a flag; whatever follows is not read.
      no_email_faults: (st, g) => { g.noEmailFaults = presentFlag(r, st); },
      // global_parser.c:1975-1990
      no_checker_emails: (st, g) => {
        const b = kaBool(r, st, `Invalid value '${st.args[0] ?? ''}' for global no_checker_emails specified`, 'no_checker_emails stays off');
        if (b !== null) g.noCheckerEmails = b;
      },
      // global_parser.c:778-836: a bad group is reported and skipped (the default stays).
      vrrp_mcast_group4: (st, g) => {
        const v = st.args[0];
        if (v === undefined) { arg(r, st, 'an IPv4 multicast address'); return; }
        const fam = ipFamily(v);
        const why = !fam ? `Can't parse vrrp_mcast_group4 [${v}]. Skipping` : fam !== 4 ? `vrrp_mcast_group4 [${v}] is not IPv4. Skipping` : !isMulticast4(v) ? `vrrp_mcast_group4 [${v}] is not multicast. Skipping` : null;
        if (why) r.warn(loc(st), `vrrp_mcast_group4 ${v} is not an IPv4 multicast address (224.0.0.0/4): keepalived skips the line ("${why}"), so does hakeep; adverts go to ${g.vrrpMcastGroup4}. Write a 224.0.0.0/4 address`);
        else g.vrrpMcastGroup4 = v;
      },
      vrrp_mcast_group6: (st, g) => {
        const v = st.args[0];
        if (v === undefined) { arg(r, st, 'an IPv6 multicast address'); return; }
        const fam = ipFamily(v);
        const why = !fam ? `Can't parse vrrp_mcast_group6 [${v}]. Skipping` : fam !== 6 ? `vrrp_mcast_group6 [${v}] is not IPv6. Skipping` : !v.toLowerCase().startsWith('ff') ? `vrrp_mcast_group6 [${v}] is not multicast. Skipping` : null;
        if (why) {
          r.warn(loc(st), `vrrp_mcast_group6 ${v} is not an IPv6 multicast address (ff00::/8): keepalived skips the line ("${why}"), so does hakeep; adverts go to ${g.vrrpMcastGroup6}. Write an ff02:: address`);
          return;
        }
        if (!/^ff[0-9a-f]2:/i.test(v)) r.warn(loc(st), `vrrp_mcast_group6 ${v} should be link-local multicast (ffX2::/16), as keepalived says ("should be link-local multicast"); it is used as written`);
        g.vrrpMcastGroup6 = v;
      },
      // global_parser.c:838-936: whole numbers; repeats of 0 become 1; bad values are ignored.
      vrrp_garp_master_delay: (st, g) => {
        g.vrrpGarpMasterDelay = kaNumber(r, st, 0, 4294, { integer: true, ka: `vrrp_garp_master_delay '${st.args[0] ?? ''}' invalid - ignoring`, keeps: `vrrp_garp_master_delay stays ${g.vrrpGarpMasterDelay}`, unit: 'seconds' }) ?? g.vrrpGarpMasterDelay;
      },
      vrrp_garp_master_repeat: (st, g) => { g.vrrpGarpMasterRepeat = globalRepeat(r, st, g.vrrpGarpMasterRepeat); },
      vrrp_garp_master_refresh: (st, g) => {
        g.vrrpGarpMasterRefresh = kaNumber(r, st, 0, 86400, { integer: true, ka: `Invalid vrrp_garp_master_refresh '${st.args[0] ?? ''}' - ignoring`, keeps: 'vrrp_garp_master_refresh 0 (no refresh) is used', unit: 'seconds' }) ?? 0;
      },
      vrrp_garp_master_refresh_repeat: (st, g) => { g.vrrpGarpMasterRefreshRepeat = globalRepeat(r, st, g.vrrpGarpMasterRefreshRepeat); },
      // global_parser.c:940-950: 1 µs to 4294 s; 1 s or more is "very large" (logged).
      vrrp_garp_interval: (st, g) => {
        if (st.args[0] !== undefined && /^0*(\.0*)?$/.test(st.args[0])) { g.vrrpGarpInterval = 0; return; }
        const n = kaNumber(r, st, 0.000001, 4294, { ka: `vrrp_garp_interval '${st.args[0] ?? ''}' is invalid`, keeps: `vrrp_garp_interval stays ${g.vrrpGarpInterval} seconds`, unit: 'seconds' });
        if (n === null) return;
        if (n >= 1) r.note(loc(st), `vrrp_garp_interval ${st.args[0]} is very large (keepalived logs "The vrrp_garp_interval is very large"): the gratuitous ARPs of one burst are ${n} seconds apart`);
        g.vrrpGarpInterval = n;
      },
      vrrp_gna_interval: () => { /* IPv6 neighbour adverts: same spacing knob, kept for compatibility */ },
      vrrp_garp_lower_prio_delay: (st, g) => {
        const n = kaNumber(r, st, 0, 4294, { integer: true, ka: `vrrp_garp_lower_prio_delay '${st.args[0] ?? ''}' invalid - ignoring`, keeps: 'it follows vrrp_garp_master_delay', unit: 'seconds' });
        if (n !== null) { g.vrrpGarpLowerPrioDelay = n; seen.garpLowerPrioDelay = true; }
      },
      vrrp_garp_lower_prio_repeat: (st, g) => {
        if (repeatCapped(r, st)) return;
        const n = kaNumber(r, st, 0, 255, { integer: true, ka: `Invalid vrrp_garp_lower_prio_repeat '${st.args[0] ?? ''}'`, keeps: 'it follows vrrp_garp_master_repeat' });
        if (n !== null) { g.vrrpGarpLowerPrioRepeat = n; seen.garpLowerPrioRepeat = true; }
      },
      // global_parser.c:963-990: an invalid value is ignored.
      vrrp_min_garp: (st, g) => {
        const b = kaBool(r, st, 'Invalid value for vrrp_min_garp specified', 'vrrp_min_garp stays off');
        if (b === null) return;
        g.vrrpMinGarp = b;
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
        // global_parser.c:1279-1290: anything but 2 or 3 is reported and ignored.
        const v = kaNumber(r, st, 2, 3, { integer: true, ka: 'VRRP Error: Version must be either 2 or 3', keeps: 'vrrp_version stays 2' });
        if (v === 3) r.warn(loc(st), 'vrrp_version 3 is not implemented by hakeep yet; the daemon will refuse to start instances that use it (use 2)');
        if (v !== null) g.vrrpVersion = v as 2 | 3;
      },
      vrrp_skip_check_adv_addr: (st, g) => { g.vrrpSkipCheckAdvAddr = presentFlag(r, st); },
      vrrp_check_unicast_src: (st, g) => { g.vrrpCheckUnicastSrc = presentFlag(r, st); },
      // global_parser.c:1022-1050: an invalid value is ignored.
      vrrp_lower_prio_no_advert: (st, g) => {
        const b = kaBool(r, st, 'Invalid value for vrrp_lower_prio_no_advert specified', 'it stays off');
        if (b !== null) g.vrrpLowerPrioNoAdvert = b;
      },
      vrrp_higher_prio_send_advert: (st, g) => {
        const b = kaBool(r, st, 'Invalid value for vrrp_higher_prio_send_advert specified', 'it stays off');
        if (b !== null) g.vrrpHigherPrioSendAdvert = b;
      },
      vrrp_rt_priority: (st, g) => {
        // global_parser.c:673-702 (get_realtime_priority): a whole number, clamped to SCHED_RR's
        // 1-99 with an error that says so; not a number: reported and ignored.
        const v = st.args[0];
        if (v === undefined || !/^[+-]?\d+$/.test(v)) {
          r.warn(loc(st), `vrrp_rt_priority '${v ?? ''}' is not a whole number: keepalived ignores it ("vrrp process real-time priority '${v ?? ''}' invalid"), so does hakeep; the advert pacer's thread keeps SCHED_FIFO priority 1. Write a value between 1 and 99`);
          return;
        }
        const n = Number(v);
        const c = Math.min(99, Math.max(1, n));
        if (c !== n) r.warn(loc(st), `vrrp_rt_priority ${n} is ${n < 1 ? 'less than the minimum 1' : 'greater than the maximum 99'}: keepalived sets it to ${c} ("vrrp process real-time priority ${n} ${n < 1 ? 'less than minimum 1 - setting to minimum' : 'greater than maximum 99 - setting to maximum'}"), so does hakeep`);
        g.vrrpRtPriority = c;
        r.note(loc(st), `vrrp_rt_priority ${c}: hakeep gives this SCHED_FIFO priority to its advert pacer thread only (it sends the masters' periodic adverts); keepalived makes its whole VRRP process real-time. Without the keyword the thread runs at priority 1`);
      },
      vrrp_startup_delay: (st, g) => {
        // global_parser.c:2071-2082: 0.001 s up to what a 32-bit microsecond count holds; "very
        // large" from 60 s; anything else is reported and ignored.
        if (st.args[0] !== undefined && /^0*(\.0*)?$/.test(st.args[0])) { g.vrrpStartupDelay = 0; return; }
        g.vrrpStartupDelay = kaNumber(r, st, 0.001, 4294, { ka: `vrrp_startup_delay '${st.args[0] ?? ''}' is invalid`, keeps: 'there is no startup delay', unit: 'seconds' }) ?? 0;
        if (g.vrrpStartupDelay >= 60) r.note(loc(st), `vrrp_startup_delay ${st.args[0]} is very large: no instance can become master during the first ${g.vrrpStartupDelay} seconds after start`);
      },
      // global_parser.c:1684-1687: the keyword alone turns script security on; keepalived reads
      // no value, so `enable_script_security off` turns it ON too. hakeep does the same (warned).
      enable_script_security: (st, g) => { g.enableScriptSecurity = presentFlag(r, st); },
      // global_parser.c:1669-1682: without a user name the line is ignored.
      script_user: (st, g) => {
        if (st.args[0] === undefined) {
          r.warn(loc(st), 'script_user without a user name: keepalived ignores the line ("No script username specified"), so does hakeep; scripts run as keepalived_script if that user exists, else as root. Write script_user USER [GROUP]');
          return;
        }
        g.scriptUser = st.args.join(' ');
      },
      notify_fifo: (st, g) => { g.notifyFifo = fifoOf(r, st, g.notifyFifo); },
      notify_fifo_script: (st, g) => { g.notifyFifoScript = fifoScriptOf(r, st, g.notifyFifoScript); },
      vrrp_notify_fifo: (st, g) => { g.vrrpNotifyFifo = fifoOf(r, st, g.vrrpNotifyFifo); },
      vrrp_notify_fifo_script: (st, g) => { g.vrrpNotifyFifoScript = fifoScriptOf(r, st, g.vrrpNotifyFifoScript); },
      vrrp_notify_priority_changes: (st, g) => {
        // global_parser.c:1404-1418
        const b = kaBool(r, st, `Invalid value '${st.args[0] ?? ''}' for global vrrp_notify_priority_changes specified`, 'it stays off');
        if (b !== null) g.vrrpNotifyPriorityChanges = b;
      },
      // global_parser.c:654-658: a flag; keepalived reads no value.
      lvs_flush: (st, g) => {
        g.lvsFlush = presentFlag(r, st);
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
      // global_parser.c:477-526: tcp/tcpfin/udp SECONDS (0 to 31 days); a bad option is reported and skipped.
      lvs_timeouts: (st, g) => {
        const at = loc(st);
        if (st.args.length < 2) {
          r.warn(at, 'lvs_timeouts needs at least one option (tcp, tcpfin or udp with seconds): keepalived ignores the line ("lvs_timeouts requires at least one option"), so does hakeep. Write e.g. lvs_timeouts tcp 7200 tcpfin 120 udp 300');
          return;
        }
        const t: LvsTimeouts = { tcp: g.lvsTimeouts?.tcp ?? 0, tcpfin: g.lvsTimeouts?.tcpfin ?? 0, udp: g.lvsTimeouts?.udp ?? 0, loc: at };
        for (let i = 0; i < st.args.length; i++) {
          const opt = st.args[i]!;
          if (opt !== 'tcp' && opt !== 'tcpfin' && opt !== 'udp') {
            r.warn(at, `lvs_timeouts: unknown option '${opt}': keepalived reports it ("Unknown option ${opt} specified for lvs_timeouts") and reads on, so does hakeep. The options are tcp, tcpfin and udp`);
            continue;
          }
          const v = st.args[i + 1];
          if (v === undefined) {
            r.warn(at, `lvs_timeouts ${opt} has no value: keepalived ignores it ("No value specified for lvs_timeout ${opt} - ignoring"), so does hakeep. Write lvs_timeouts ${opt} SECONDS`);
            continue;
          }
          i++;
          if (!/^\d+$/.test(v) || Number(v) > LVS_MAX_TIMEOUT) {
            r.warn(at, `lvs_timeouts ${opt} '${v}' is not a whole number of seconds from 0 to ${LVS_MAX_TIMEOUT} (31 days): keepalived ignores it ("Invalid lvs_timeout ${opt} (${v}) - ignoring"), so does hakeep; the kernel's ${opt} timeout stays`);
            continue;
          }
          t[opt] = Number(v);
        }
        if (t.tcp || t.tcpfin || t.udp) g.lvsTimeouts = t;
      },
      // global_parser.c:529-650
      lvs_sync_daemon: (st, g) => {
        const at = loc(st);
        if (g.lvsSyncDaemon) {
          r.warn(at, `lvs_sync_daemon has already been specified as ${g.lvsSyncDaemon.interface} ${g.lvsSyncDaemon.instance ?? ''} (${g.lvsSyncDaemon.loc.file}:${g.lvsSyncDaemon.loc.line}): keepalived ignores this line, so does hakeep. Remove one`);
          return;
        }
        const ifname = st.args[0];
        if (ifname === undefined) {
          r.warn(at, 'lvs_sync_daemon requires an interface: keepalived ignores the line ("lvs_sync_daemon requires interface"), so does hakeep. Write lvs_sync_daemon IFNAME INSTANCE');
          return;
        }
        if (ifname.length >= 16) {
          r.warn(at, `lvs_sync_daemon interface name '${ifname}' is too long (at most 15 characters): keepalived ignores the line, so does hakeep`);
          return;
        }
        const d: LvsSyncDaemon = { interface: ifname, instance: null, syncId: null, maxlen: null, port: null, ttl: null, group: null, loc: at };
        const num = (i: number, name: string, min: number, max: number, kaWords: string): number | null => {
          const v = st.args[i]!;
          if (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max) return Number(v);
          r.warn(at, `lvs_sync_daemon ${name} '${v}' is not a whole number from ${min} to ${max}: keepalived ignores it ("${kaWords}"), so does hakeep`);
          return null;
        };
        for (let i = 1; i < st.args.length; i++) {
          const opt = st.args[i]!;
          const has = i + 1 < st.args.length;
          const noValue = (): void => { r.warn(at, `lvs_sync_daemon ${opt} has no value: keepalived ignores it, so does hakeep`); };
          if (opt === 'inst') {
            if (!has) { noValue(); continue; }
            if (d.instance !== null) r.warn(at, `lvs_sync_daemon vrrp instance has already been specified as ${d.instance}: keepalived ignores '${st.args[i + 1]!}', so does hakeep`);
            else d.instance = st.args[i + 1]!;
            i++;
          } else if (opt === 'id') {
            if (!has) { r.warn(at, 'No value specified for lvs_sync_daemon id: keepalived uses the instance\'s virtual_router_id, so does hakeep'); continue; }
            d.syncId = num(++i, 'id', 0, 255, `Invalid syncid (${st.args[i]!}) - defaulting to vrid`);
          } else if (opt === 'maxlen') {
            if (!has) { noValue(); continue; }
            d.maxlen = num(++i, 'maxlen', 1, 65535 - 20 - 8, `Invalid lvs_sync_daemon maxlen (${st.args[i]!}) - ignoring`);
          } else if (opt === 'port') {
            if (!has) { noValue(); continue; }
            d.port = num(++i, 'port', 1, 65535, `Invalid lvs_sync_daemon port (${st.args[i]!}) - ignoring`);
          } else if (opt === 'ttl') {
            if (!has) { noValue(); continue; }
            d.ttl = num(++i, 'ttl', 1, 255, `Invalid lvs_sync_daemon ttl (${st.args[i]!}) - ignoring`);
          } else if (opt === 'group') {
            if (!has) { noValue(); continue; }
            const v = st.args[++i]!;
            const fam = ipFamily(v);
            const multicast = fam === 4 ? /^(22[4-9]|23\d)\./.test(v) : fam === 6 ? /^ff/i.test(v) : false;
            if (!multicast) r.warn(at, `lvs_sync_daemon group address ${v} is not ${fam ? 'multicast' : 'an IP address'}: keepalived ignores it, so does hakeep; the kernel's default group 224.0.0.81 is used`);
            else d.group = v;
          } else if (i === 1) {
            // The old form: lvs_sync_daemon IFNAME INSTANCE [SYNCID].
            d.instance = opt;
          } else if (i === 2 && d.instance !== null && d.syncId === null) {
            if (/^\d+$/.test(opt) && Number(opt) <= 255) {
              r.warn(at, `lvs_sync_daemon ${ifname} ${d.instance} ${opt}: keepalived asks for the keyword id ("Please use keyword "id" before lvs_sync_daemon SYNCID") and uses ${opt}, so does hakeep. Write id ${opt}`);
              d.syncId = Number(opt);
            } else {
              r.warn(at, `lvs_sync_daemon syncid '${opt}' is not 0-255: keepalived uses the instance's virtual_router_id ("Invalid syncid (${opt}) - defaulting to vrid"), so does hakeep`);
            }
          } else {
            r.warn(at, `Unknown option ${opt} specified for lvs_sync_daemon: keepalived reports it and reads on, so does hakeep. The options are inst, id, maxlen, port, ttl and group`);
          }
        }
        g.lvsSyncDaemon = d;
      },
      // global_parser.c:437-451
      checker_log_all_failures: (st, g) => {
        const b = kaBool(r, st, 'Invalid value for checker_log_all_failures specified', 'it stays off');
        if (b !== null) g.checkerLogAllFailures = b;
      },
    },
    notYet: [
      'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_counters', 'nftables_ifindex',
      'lvs_notify_fifo', 'lvs_notify_fifo_script',
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
      max_auto_priority: "hakeep's advert pacer thread is real-time (SCHED_FIFO) by default, the rest of hakeep is not (docs/vrrp.md); vrrp_rt_priority sets that thread's priority",
      vrrp_priority: "the daemon (VRRP) process's priority is set by the systemd unit (Nice=); hakeep runs its checker child and script spawner 5 nice steps below it by default",
      checker_priority: 'hakeep runs its checker child 5 nice steps below the VRRP process by default (the VRRP loop gets the CPU first); the base is set by the systemd unit (Nice=)',
      bfd_priority: 'process priority is set by the systemd unit',
      vrrp_no_swap: 'memory locking is set by the systemd unit',
      checker_no_swap: 'memory locking is set by the systemd unit',
      bfd_no_swap: 'memory locking is set by the systemd unit',
      checker_rt_priority: 'hakeep runs its checker child with ordinary scheduling, 5 nice steps below the VRRP process',
      bfd_rt_priority: 'BFD is not supported',
      vrrp_rlimit_rtime: "the only real-time thread (the advert pacer's) sleeps until an advert is due and sends it: there is no CPU time to limit",
      checker_rlimit_rtime: 'hakeep runs its checker child with ordinary scheduling',
      vrrp_rlimit_rttime: "the only real-time thread (the advert pacer's) sleeps until an advert is due and sends it: there is no CPU time to limit",
      checker_rlimit_rttime: 'hakeep runs its checker child with ordinary scheduling',
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

/** keepalived accepts up to 2^32-1 GARPs per VIP; hakeep queues a burst at once, so it caps at 255. */
function repeatCapped(r: Reporter, st: Statement): boolean {
  const v = st.args[0] ?? '';
  if (!/^\d+$/.test(v) || Number(v) <= 255) return false;
  r.error(loc(st), `${st.keyword} ${v}: keepalived accepts it and sends ${v} gratuitous ARPs per VIP, a flood of the segment; hakeep refuses more than 255. Write 255 or less`);
  return true;
}

/** vrrp_garp_master_repeat / _refresh_repeat (global_parser.c:851-900): 0 becomes 1, bad values are ignored. */
function globalRepeat(r: Reporter, st: Statement, current: number): number {
  if (repeatCapped(r, st)) return current;
  const n = kaNumber(r, st, 0, 255, { integer: true, ka: `${st.keyword} '${st.args[0] ?? ''}' invalid - ignoring`, keeps: `${st.keyword} stays ${current}` });
  if (n === null) return current;
  if (n === 0) {
    r.warn(loc(st), `${st.keyword} 0: keepalived uses 1 ("${st.keyword} must be greater than 0, setting to 1"), so does hakeep. Write 1`);
    return 1;
  }
  return n;
}

/**
 * `smtp_server ADDRESS|NAME [PORT]` (global_parser.c:220-239, lib/utils.c:497-583): an address is
 * taken as is; anything else (or text with '-' or '/') is looked up as a host name; the port is
 * 1-65535 (25 by default). keepalived resolves a name once when it reads the config and, when that
 * fails or the port is bad, reports "Invalid smtp server NAME PORT" and sends no alert at all.
 * hakeep resolves the name each time it sends (the lookup cannot block the config reader), and
 * reports a name that does not resolve in `hakeep -t` (src/alert/resolve.ts).
 */
function readSmtpServer(r: Reporter, st: Statement): SmtpServer | null {
  const host = st.args[0];
  if (host === undefined) {
    r.error(loc(st), 'smtp_server needs an address or a host name: keepalived refuses a line without one ("is missing a parameter")');
    return null;
  }
  const portText = st.args[1] ?? '25';
  const invalid = (why: string): null => {
    r.warn(loc(st), `smtp_server ${host} ${portText}: ${why}: keepalived reports "Invalid smtp server ${host} ${portText}" and sends no e-mail alert, so does hakeep. Write smtp_server ADDRESS|NAME [PORT]`);
    return null;
  };
  if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return invalid(`the port '${portText}' is not 1-65535`);
  if (!ipFamily(host) && !/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/.test(host)) return invalid(`'${host}' is neither an IP address nor a host name`);
  if (st.args.length > 2) r.warn(loc(st), `smtp_server: '${st.args.slice(2).join(' ')}' ignored, as keepalived does (the syntax is smtp_server ADDRESS|NAME [PORT])`);
  return { host, port: Number(portText), loc: loc(st) };
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
