// The typed, normalized configuration model. The parser fills it with keepalived's defaults;
// every other part of hakeep reads only this model, never the raw token tree.
// Times are in seconds (fractional allowed) unless a field name says otherwise.
import type { RouteSpec, RuleSpec } from './routes.js';

/** Where a value came from, for error messages and `-d` output. */
export interface SourceLoc {
  file: string;
  line: number;
}

/** `smtp_server ADDRESS|NAME [PORT]` (global_parser.c:220-239). A name is resolved when an alert is sent. */
export interface SmtpServer {
  /** An IP address or a host name. */
  host: string;
  /** 25 unless written. */
  port: number;
  loc: SourceLoc;
}

export interface GlobalDefs {
  /** null = the host name (keepalived: the canonical name of the host, global_data.c:281-282). */
  routerId: string | null;
  /** Recipients, in order (RCPT TO each, one To: header). */
  notificationEmail: string[];
  /** null = USER@HOSTNAME (keepalived: global_data.c:62-80, 284-295). */
  notificationEmailFrom: string | null;
  /** null = no e-mail alerts (none written, or keepalived's "Invalid smtp server"). */
  smtpServer: SmtpServer | null;
  /** Seconds, whole (keepalived's default 30; 0 is read as 1). */
  smtpConnectTimeout: number;
  /** HELO argument; null = the host name (keepalived: global_data.c:292-293). */
  smtpHeloName?: string | null;
  /** Global smtp_alert / smtp_alert_vrrp / smtp_alert_checker; null or absent = not written. */
  smtpAlert?: boolean | null;
  smtpAlertVrrp?: boolean | null;
  smtpAlertChecker?: boolean | null;
  /** no_email_faults: no alert for a VRRP instance or sync group entering FAULT (vrrp_notify.c:197-199). */
  noEmailFaults?: boolean;
  /** no_checker_emails: real-server alerts only when the server's state changes, not for each checker. */
  noCheckerEmails?: boolean;
  vrrpMcastGroup4: string; // default 224.0.0.18
  vrrpMcastGroup6: string; // default ff02::12
  vrrpGarpMasterDelay: number; // 5
  vrrpGarpMasterRepeat: number; // 5
  vrrpGarpMasterRefresh: number; // 0 = off
  vrrpGarpMasterRefreshRepeat: number; // 1
  vrrpGarpInterval: number; // 0 (seconds between GARPs of one burst)
  /** Seconds. Resolved: when not written it is vrrp_garp_master_delay (keepalived fills it in
   * after parsing, so it follows that keyword wherever it is written). Instances that do not set
   * garp_lower_prio_delay inherit this value (0 under strict mode). */
  vrrpGarpLowerPrioDelay: number;
  /** Resolved like vrrpGarpLowerPrioDelay, from vrrp_garp_master_repeat. */
  vrrpGarpLowerPrioRepeat: number;
  /** vrrp_min_garp. Its effect is already applied to the vrrp_garp_* values above, as keepalived
   * does when it reads the keyword: each one still at its default at that point becomes
   * delay 0, repeat 1, refresh 0, refresh repeat 0; values written after it win. */
  vrrpMinGarp: boolean;
  /** vrrp_strict. keepalived ignores any value after the keyword (`vrrp_strict off` turns it on). */
  vrrpStrict: boolean;
  vrrpVersion: 2 | 3;
  /** keepalived ignores any value after the keyword (`vrrp_skip_check_adv_addr off` turns it on). */
  vrrpSkipCheckAdvAddr: boolean;
  /** keepalived ignores any value after the keyword. Per instance see VrrpInstance.checkUnicastSrc. */
  vrrpCheckUnicastSrc: boolean;
  vrrpLowerPrioNoAdvert: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  /**
   * vrrp_startup_delay, seconds (0 = none). keepalived semantics (vrrp_daemon.c:593,
   * vrrp_scheduler.c:320): only on the first start of the VRRP process, never on a reload (and not
   * under -t), it logs "Delaying startup for N seconds" and sets a deadline of now + delay. Until
   * that deadline every instance in BACKUP computes its master-down expiry as
   * deadline + master-down interval instead of now + master-down interval, so no instance can
   * become master before the delay has passed, not even an address owner (priority 255, whose
   * down interval is ~0). Sockets are open and adverts are received and processed meanwhile:
   * a higher-priority master's adverts keep the instance in BACKUP as usual. Instances in FAULT
   * are unaffected (no timer). Once the deadline has passed the normal rule applies again.
   */
  vrrpStartupDelay: number;
  /** vrrp_rt_priority: the SCHED_FIFO priority of the advert pacer's thread (1-99; default 1).
   * keepalived makes its whole VRRP process real-time with it; hakeep only that thread. */
  vrrpRtPriority: number | null;
  enableScriptSecurity: boolean;
  scriptUser: string | null;
  /** notify_fifo: VRRP (and, in keepalived, LVS) event lines. */
  notifyFifo: NotifyFifo | null;
  notifyFifoScript: NotifyFifoScript | null;
  /** vrrp_notify_fifo: VRRP event lines only. Dropped (with a warning) when it is notify_fifo's path. */
  vrrpNotifyFifo: NotifyFifo | null;
  vrrpNotifyFifoScript: NotifyFifoScript | null;
  /** vrrp_notify_priority_changes: the default of every instance's notify_priority_changes. */
  vrrpNotifyPriorityChanges: boolean;
  lvsFlush: boolean;
  /** lvs_flush_on_stop: 'none' (default: remove the configured services), 'all' (no argument:
   * flush the whole IPVS table, hand-made services too), 'vs' (`VS`: the configured services). */
  lvsFlushOnStop: 'none' | 'all' | 'vs';
  checkerLogAllFailures: boolean;
  /** lvs_timeouts (global_parser.c:477-526): seconds, 0 = leave the kernel's value; null = not written. */
  lvsTimeouts?: LvsTimeouts | null;
  /** lvs_sync_daemon (global_parser.c:529-650), or an instance's deprecated lvs_sync_daemon_interface. */
  lvsSyncDaemon?: LvsSyncDaemon | null;
  /** Every other keyword we accepted, raw, so nothing is lost in `-d`. */
  extra: Record<string, string[]>;
}

export interface LvsTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
  loc: SourceLoc;
}

/** The kernel's IPVS connection sync daemon, following one VRRP instance (or both roles at once without one). */
export interface LvsSyncDaemon {
  interface: string;
  /** The VRRP instance it follows; null = master and backup daemons both run (keepalived's checker does that). */
  instance: string | null;
  /** 0-255; resolved to the instance's virtual_router_id when not written (vrrp.c:4774-4777), 0 without an instance. */
  syncId: number | null;
  maxlen: number | null;
  port: number | null;
  ttl: number | null;
  group: string | null;
  loc: SourceLoc;
}

export type VipScope = 'global' | 'site' | 'link' | 'host' | 'nowhere';

export interface VirtualIp {
  /** Address without prefix length. */
  address: string;
  family: 4 | 6;
  /** Prefix length; /32 (or /128) when not given, as keepalived does. */
  prefixLen: number;
  brd: string | null;
  /** Device; null means the instance's interface. */
  dev: string | null;
  scope: VipScope | null;
  label: string | null;
  peer: string | null;
  noDad: boolean;
  noPrefixRoute: boolean;
  home: boolean;
  noTrack: boolean;
  loc: SourceLoc;
}

export interface TrackScriptRef {
  name: string;
  weight: number | null; // null = use the script's own weight
  reverse: boolean | null;
  loc: SourceLoc;
}

export interface TrackInterfaceRef {
  name: string;
  weight: number; // 0 = FAULT on down
  reverse: boolean;
  loc: SourceLoc;
}

/** `track_file { NAME [weight N [reverse|noreverse]] }` in an instance or sync group. */
export interface TrackFileRef {
  name: string;
  /** -254..254; null = the track_file block's own weight (default 1). */
  weight: number | null;
  /** null = the track_file block's own `reverse`. */
  reverse: boolean | null;
  loc: SourceLoc;
}

/** `track_process { NAME [weight N [reverse|noreverse]] }` in an instance or sync group. */
export interface TrackProcessRef {
  name: string;
  /** -254..254; null = the vrrp_track_process block's own weight (default 0). */
  weight: number | null;
  reverse: boolean | null;
  loc: SourceLoc;
}

export interface NotifyCmd {
  /** The command line as written (one string; split with shell-like rules when run). */
  command: string;
  user: string | null;
  /** `notify_* "cmd" USER GROUP`: the group to run as; absent = the user's own group. */
  group?: string;
}

/** `notify_fifo PATH [user [group]]` / `vrrp_notify_fifo …` (keepalived global_parser.c:1338-1361). */
export interface NotifyFifo {
  path: string;
  /** Owner given to a FIFO hakeep creates; null = the default script user (as keepalived). */
  user: string | null;
  group?: string;
  loc: SourceLoc;
}

/** `notify_fifo_script` / `vrrp_notify_fifo_script`: run once at start with the FIFO path appended. */
export interface NotifyFifoScript extends NotifyCmd {
  loc: SourceLoc;
}

export interface UnicastPeer {
  address: string;
  /** TTL bounds for adverts received from this peer; keepalived's defaults are 0 and 255, so a
   * peer with only one bound written is limited on that side only. Writing either turns on
   * check_unicast_src for the instance (see VrrpInstance.checkUnicastSrc). The range is checked
   * only when the unicast source check runs, after the source matched this peer. */
  minTtl: number;
  maxTtl: number;
}

export interface VrrpInstance {
  name: string;
  loc: SourceLoc;
  /** The `state` wish. Every instance enters BACKUP first regardless (keepalived behaviour).
   * Without a state line keepalived derives it from the priority: MASTER for 255, else BACKUP. */
  initialState: 'MASTER' | 'BACKUP';
  interface: string;
  virtualRouterId: number;
  /** 1-255. Without a priority line keepalived derives it from the state line: 255 (address
   * owner) for `state MASTER`, else 100. */
  priority: number;
  advertInt: number; // seconds, default 1
  /** 2 or 3. An IPv6 instance that does not say `version 2` is version 3 (keepalived). */
  version: 2 | 3;
  /**
   * The instance's address family, as keepalived decides it: the family of the first address
   * written among mcast_src_ip/unicast_src_ip, mcast_dst_ip, unicast_peer entries and
   * virtual_ipaddress entries (in file order); IPv4 when there is none. Addresses of the other
   * family in those keywords are dropped at parse time with a warning (virtual_ipaddress_excluded
   * may hold either family).
   */
  family: 4 | 6;
  authType: 'PASS' | 'AH' | null;
  /** PASS password, at most 8 bytes (longer values are truncated with an error). */
  authPass: string | null;
  virtualIpaddress: VirtualIp[];
  virtualIpaddressExcluded: VirtualIp[];
  /** virtual_routes: added after the VIPs when MASTER, removed before them (src/config/routes.ts). */
  virtualRoutes: RouteSpec[];
  /** virtual_rules: added after the routes when MASTER, removed first. */
  virtualRules: RuleSpec[];
  trackInterface: TrackInterfaceRef[];
  trackScript: TrackScriptRef[];
  trackFile: TrackFileRef[];
  trackProcess: TrackProcessRef[];
  nopreempt: boolean;
  preemptDelay: number; // seconds, 0 = none
  /** mcast_src_ip and unicast_src_ip set one and the same source address in keepalived (the last
   * one written wins, whatever the instance's mode), so both fields always hold that address. */
  mcastSrcIp: string | null;
  /** null = the group of the instance's family (vrrp_mcast_group4/6). Cleared, with a warning,
   * when not multicast, of the other family, or when the instance uses unicast (keepalived). */
  mcastDstIp: string | null;
  /** Same value as mcastSrcIp (see there). */
  unicastSrcIp: string | null;
  unicastPeers: UnicastPeer[];
  unicastTtl: number; // 255
  /**
   * Drop unicast adverts whose source is not a unicast_peer (and, for a matching peer, whose TTL
   * is outside that peer's min_ttl-max_ttl). On when the global vrrp_check_unicast_src is set, when
   * the instance says check_unicast_src, or when any unicast_peer has min_ttl or max_ttl
   * (keepalived). Applies to unicast instances only, and like keepalived only when the advert's
   * address list is checked (skip_check_adv_addr skips both for the current master).
   */
  checkUnicastSrc: boolean;
  garpMasterDelay: number;
  garpMasterRepeat: number;
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  garpInterval: number;
  /** Seconds: when a master that received a lower-priority advert sent its GARP burst
   * (garpLowerPrioRepeat > 0), a second burst follows after this delay (0 = no second burst).
   * Resolved: garp_lower_prio_delay, else the global vrrpGarpLowerPrioDelay (which defaults to
   * vrrp_garp_master_delay, not to this instance's garp_master_delay); 0 in strict mode. */
  garpLowerPrioDelay: number;
  /** GARPs per VIP sent by a master that receives a lower-priority advert (0 = none). Resolved:
   * garp_lower_prio_repeat, else the global vrrpGarpLowerPrioRepeat (default
   * vrrp_garp_master_repeat, 5); 0 in strict mode. */
  garpLowerPrioRepeat: number;
  notifyMaster: NotifyCmd | null;
  notifyBackup: NotifyCmd | null;
  notifyFault: NotifyCmd | null;
  notifyStop: NotifyCmd | null;
  notify: NotifyCmd | null;
  /** notify_deleted [script]: an instance removed by a reload reports DELETED instead of
   * keepalived's default FAULT, and runs the script when one is given. null = not written. */
  notifyDeleted: { script: NotifyCmd | null } | null;
  /** Run when, as master, an advert from a lower-priority master arrives (no extra arguments). */
  notifyMasterRxLowerPri: NotifyCmd | null;
  /** notify_priority_changes: MASTER_PRIORITY/BACKUP_PRIORITY lines on the notify FIFOs.
   * null = not written: the sync group's value, else the global vrrp_notify_priority_changes. */
  notifyPriorityChanges: boolean | null;
  /** Resolved (vrrp.c:3237-3244): the instance's smtp_alert, else the global smtp_alert_vrrp, else
   * the global smtp_alert, else false. */
  smtpAlert: boolean;
  /** strict_mode, else the global vrrp_strict. Its corrections are already applied to this
   * model (see validate.ts); hakeep never installs the firewall rules that come with it. */
  strictMode: boolean;
  /**
   * keepalived's effective accept mode: `accept`/`no_accept` when written, else true for an
   * address owner (priority 255) and !strictMode otherwise; strict mode also turns an explicit
   * `accept` off for a VRRPv2 non-owner. When false keepalived installs nftables/iptables rules
   * that drop traffic addressed to the VIPs of a non-owner. hakeep installs no firewall rules and
   * therefore ALWAYS behaves as accept = true; `-t` warns where this field is false.
   */
  accept: boolean;
  /**
   * dont_track_primary (keepalived, vrrp.c:3541 and 3783, vrrp_track.c:729,
   * keepalived_netlink.c:1552): the instance's own interface going down (or being down at start)
   * does not put it in FAULT, and VIPs/eVIPs on that interface do not make it tracked either.
   * It does NOT cover the interface's address: when the instance takes its source address from
   * the interface (no mcast_src_ip/unicast_src_ip) and the interface has no IPv4 address at
   * start, keepalived logs "entering FAULT state (no IPv4 address for interface)"
   * (vrrp_track.c:823); when that address is removed later it still downs the instance to FAULT
   * until an address returns (keepalived_netlink.c:1115-1175). The same happens with a configured
   * source address when track_src_ip is set and that address goes.
   * track_interface entries and VIPs on other interfaces are unaffected.
   */
  dontTrackPrimary: boolean;
  skipCheckAdvAddr: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  downTimerAdverts: number; // 3
  /**
   * use_vmac [NAME]: the macvlan interface carrying 00:00:5e:00:01:VRID that the instance's VIPs
   * go on and its adverts and GARPs leave from; '' = keepalived's default name vrrp.VRID
   * (src/net/vmac-plan.ts); null = no VMAC.
   */
  useVmac: string | null;
  /** vmac_xmit_base: adverts go out of (and are received on) the base interface, not the VMAC. Absent = false. */
  vmacXmitBase?: boolean;
  /** Keywords parsed but not acted on yet (listed by `-t` as warnings). */
  extra: Record<string, string[]>;
}

export interface VrrpSyncGroup {
  name: string;
  loc: SourceLoc;
  group: string[];
  notifyMaster: NotifyCmd | null;
  notifyBackup: NotifyCmd | null;
  notifyFault: NotifyCmd | null;
  notify: NotifyCmd | null;
  /** Absent = not written (as the other notify_* of the group: null). */
  notifyStop?: NotifyCmd | null;
  /** notify_priority_changes for the members that do not set their own; absent/null = not written. */
  notifyPriorityChanges?: boolean | null;
  trackScript: TrackScriptRef[];
  trackInterface: TrackInterfaceRef[];
  /** Absent = none (filled by the sync group's track_file keyword). */
  trackFile?: TrackFileRef[];
  trackProcess?: TrackProcessRef[];
  /**
   * sync_group_tracking_weight (or the deprecated global_tracking): the members' own weighted
   * trackers keep their weights. Without it keepalived zeroes or drops them (vrrp.c:3826-3904).
   */
  trackingWeight?: boolean;
  /** Resolved like VrrpInstance.smtpAlert (vrrp.c:4108-4116). */
  smtpAlert: boolean;
}

export interface VrrpScript {
  name: string;
  loc: SourceLoc;
  script: string;
  interval: number; // 1
  timeout: number; // = interval when not given
  weight: number; // 0
  weightReverse: boolean;
  rise: number; // 1
  fall: number; // 1
  user: string | null;
  initFail: boolean;
}

/**
 * `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`
 * (`vrrp_track_file` is keepalived's deprecated synonym). trackers/track_file.c.
 */
export interface VrrpTrackFile {
  name: string;
  loc: SourceLoc;
  file: string;
  /** -254..254, default 1 (track_file.c:191). */
  weight: number;
  weightReverse: boolean;
  /** init_file: write `value` at start when the file is missing (or always with overwrite). */
  initFile: { value: number; overwrite: boolean } | null;
}

/** How a vrrp_track_process compares a process's parameters (track_process.c check_params). */
export type ParamMatch = 'none' | 'exact' | 'partial' | 'initial';

/** `vrrp_track_process NAME { process …; param_match; quorum; quorum_max; delay …; full_command; weight }`. */
export interface VrrpTrackProcess {
  name: string;
  loc: SourceLoc;
  /** Matched exactly against the process name (comm, at most 15 bytes) or, with fullCommand,
   * against argv[0]. */
  process: string;
  /** Parameters written after the process name; empty = none written. */
  params: string[];
  paramMatch: ParamMatch;
  fullCommand: boolean;
  /** 1 (0 when quorum_max is 0). */
  quorum: number;
  /** Default: no upper bound (keepalived's UINT_MAX). */
  quorumMax: number;
  /** Seconds; 0 = none. */
  forkDelay: number;
  terminateDelay: number;
  /** -254..254, default 0 (vrrp_data.c alloc_vrrp_process leaves it 0; the man page says 1). */
  weight: number;
  weightReverse: boolean;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type LbKind = 'NAT' | 'DR' | 'TUN';

/**
 * `lb_kind TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]` (keepalived check_parser.c:358-448):
 * the tunnel a TUN real server is reached through. keepalived's defaults: ipip, no checksum.
 */
export interface TunnelOptions {
  type: 'ipip' | 'gue' | 'gre';
  /** GUE's UDP port (required for gue, refused for the others); 0 otherwise. */
  port: number;
  csum: 'nocsum' | 'csum' | 'remcsum';
}
export const LB_ALGOS = [
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos',
] as const;
export type LbAlgo = (typeof LB_ALGOS)[number];

/** How a virtual server is addressed. */
export type VsAddress =
  | { kind: 'ip'; ip: string; port: number; family: 4 | 6 }
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 }
  | { kind: 'group'; group: string };

/** One entry of a virtual_server_group. A range `a.b.c.d-e` expands to several `ip` entries. */
export type VsGroupEntry =
  | { kind: 'ip'; ip: string; port: number; family: 4 | 6 }
  /**
   * `familySet`: an inet/inet6 word was written. Without one (family 4 here), the service takes
   * the virtual server's family (keepalived ipvswrapper.c:469-474).
   */
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6; familySet?: boolean };

export interface VirtualServerGroup {
  name: string;
  loc: SourceLoc;
  entries: VsGroupEntry[];
}

/** Timing and mode every checker has (resolved cascade: checker → real_server → virtual_server → default). */
export interface CheckerBase {
  /** Seconds; checker → real_server → virtual_server → 5. */
  connectTimeout: number;
  /** checker → real_server → virtual_server → the checker's default (1; MISC_CHECK 0; DNS_CHECK 3). */
  retry: number;
  /** Seconds; checker → real_server → virtual_server → default (1; HTTP/SSL_GET 3; DNS_CHECK delay_loop). */
  delayBeforeRetry: number;
  /** Seconds; checker → real_server → virtual_server (60). */
  delayLoop: number;
  /** Seconds; null = random up to delay_loop. */
  warmup: number | null;
  /** null = the real server's. */
  alpha: boolean | null;
  logAllFailures: boolean;
  loc: SourceLoc;
}

/** Where a network checker connects from and to (keepalived's conn_opts). */
export interface ConnOpts {
  connectIp: string | null;
  connectPort: number | null;
  bindto: string | null;
  bindPort: number | null;
  bindIf: string | null;
  fwmark: number | null;
}

export interface TcpCheck extends CheckerBase, ConnOpts {
  type: 'TCP_CHECK';
}

/** `regex …` of a url block (check_http.c:621-888): matched against the body as it arrives. */
export interface HttpRegex {
  /** The pattern as written (keepalived's quoted/escaped string). */
  pattern: string;
  /** JavaScript RegExp flags derived from regex_options (caseless → i, multiline → m, dotall → s, utf → u). */
  flags: string;
  /** regex_no_match: a match fails the check. */
  noMatch: boolean;
  /** regex_min_offset: matches must start at or after this body offset. */
  minOffset: number;
  /** regex_max_offset: the last body offset a match may start at; null = none. */
  maxOffset: number | null;
}

export interface HttpUrl {
  path: string;
  /** MD5 of the body as keepalived computes it: 32 lower-case hex digits; null = none. */
  digest: string | null;
  /** Accepted status codes as inclusive ranges; keepalived's default is 200-299. */
  statusCodes: [number, number][];
  virtualhost: string | null;
  regex: HttpRegex | null;
  /** SSL_GET: send close_notify on this url's connections (newer keepalived's url-level tls_compliant). */
  tlsCompliant: boolean;
}

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

export interface HttpCheck extends CheckerBase, ConnOpts {
  type: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  /** 1.0 (default), 1.0C (1.0 with Connection: close), 1.1 (with Connection: close). */
  httpProtocol: HttpProtocol;
  virtualhost: string | null;
  enableSni: boolean;
  /** The SNI to send (newer keepalived); implies enable_sni. */
  sniName: string | null;
  /** Check the urls of a recovering (or starting) server back to back, not delay_loop apart. */
  fastRecovery: boolean;
  /** Send a TLS close_notify before closing (otherwise the connection is closed quietly, as keepalived 2.2.7 does). */
  tlsCompliant: boolean;
}

export interface MiscCheck extends CheckerBase {
  type: 'MISC_CHECK';
  /** Program and arguments in one string, split as keepalived splits it. */
  miscPath: string;
  /** Seconds; null = the virtual server's delay_loop (check_misc.c misc_check_thread). */
  miscTimeout: number | null;
  miscDynamic: boolean;
  /** `user USER [GROUP]`; null = the default script user. */
  user: string | null;
}

export interface SmtpCheck extends CheckerBase, ConnOpts {
  type: 'SMTP_CHECK';
  /** HELO argument; keepalived's default is smtpchecker.keepalived.org. */
  heloName: string;
}

export const DNS_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, RRSIG: 46, DNSKEY: 48 } as const;
export type DnsType = keyof typeof DNS_TYPES;

export interface DnsCheck extends CheckerBase, ConnOpts {
  type: 'DNS_CHECK';
  /** Query type (default SOA). */
  dnsType: DnsType;
  /** Query name (default "."). */
  dnsName: string;
}

export interface UdpCheck extends CheckerBase, ConnOpts {
  type: 'UDP_CHECK';
  /** Bytes sent; null = keepalived's 32-byte filler ("keepalived check - " repeated). */
  payload: number[] | null;
  requireReply: boolean;
  /** Expected reply bytes (compared over the shorter of reply and pattern); null = any reply. */
  replyData: number[] | null;
  /** Per byte: bits that are wildcards (an X nibble in the hex string); null = none. */
  replyMask: number[] | null;
  minReplyLength: number; // 0
  maxReplyLength: number; // 255
}

export interface PingCheck extends CheckerBase, ConnOpts {
  type: 'PING_CHECK';
}

export interface FileCheck extends CheckerBase {
  type: 'FILE_CHECK';
  /** The name of a top-level track_file block. */
  trackFile: string;
  /** FILE_CHECK's own weight; null = the track_file's. */
  weight: number | null;
  weightReverse: boolean | null;
}

/** Parsed so `-t` can name it; hakeep refuses to run it (no BFD). */
export interface BfdCheck extends CheckerBase {
  type: 'BFD_CHECK';
  name: string | null;
}

export type Checker = TcpCheck | HttpCheck | MiscCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck | FileCheck | BfdCheck;

/** The global `SSL { ca; certificate; key; password }` block: SSL_GET's client identity. */
export interface SslConfig {
  loc: SourceLoc;
  ca: string | null;
  certificate: string | null;
  key: string | null;
  password: string | null;
}

export interface RealServer {
  ip: string;
  family: 4 | 6;
  /** Port; for fwmark services keepalived allows it to be omitted (then 0). */
  port: number;
  loc: SourceLoc;
  weight: number; // 1
  inhibitOnFailure: boolean;
  notifyUp: NotifyCmd | null;
  notifyDown: NotifyCmd | null;
  uthreshold: number;
  lthreshold: number;
  lbKind: LbKind | null; // null = the virtual server's
  /** `virtualhost` of the real server (HTTP_GET's Host after the url's and the checker's). */
  virtualhost?: string | null;
  /** Tunnel options of this real server's own `lb_kind TUN …` line; absent = the virtual server's. */
  tunnel?: TunnelOptions | null;
  alpha: boolean; // resolved cascade
  checkers: Checker[];
  /** Resolved (check_data.c:1221-1231): the real server's smtp_alert, else the global
   * smtp_alert_checker, else the global smtp_alert, else TRUE (keepalived's backward-compatible
   * default; nothing is sent without notification_email and smtp_server). Absent = true. */
  smtpAlert?: boolean;
}

export interface VirtualServer {
  loc: SourceLoc;
  address: VsAddress;
  delayLoop: number; // 60
  lbAlgo: LbAlgo; // wlc
  lbKind: LbKind; // NAT
  /** Tunnel options of the virtual server's `lb_kind TUN …` line; absent = plain IPIP. */
  tunnel?: TunnelOptions | null;
  protocol: Protocol; // TCP
  persistenceTimeout: number | null; // seconds; null = no persistence
  persistenceGranularity: string | null;
  ops: boolean;
  schedFlags: string[]; // flag-1.., sh-port, sh-fallback, mh-port, mh-fallback
  sorryServer: { ip: string; port: number; family: 4 | 6 } | null;
  sorryServerInhibit: boolean;
  sorryServerLbKind: LbKind | null;
  /** Tunnel options of `sorry_server_lvs_method TUN …`; absent = the virtual server's. */
  sorryServerTunnel?: TunnelOptions | null;
  /** `persistence_engine NAME` (ipvsadm --pe), sent only with persistence, as keepalived does. */
  persistenceEngine?: string | null;
  /** The virtual server's `weight`: the weight of real servers without their own (keepalived). */
  weight?: number;
  /**
   * The virtual server's address family as keepalived decides it (its vs->af): the address's for an
   * ip virtual server; for fwmark and groups, ip_family or else the first real server that is not
   * tunnelled (check_parser.c rs_end_handler/vs_end_handler). Absent = not determined (IPv4).
   */
  family?: 4 | 6;
  /** A group virtual server without a protocol line (UDP then, as in keepalived). */
  protocolDefaulted?: boolean;
  quorum: number; // 1
  hysteresis: number; // 0
  quorumUp: NotifyCmd | null;
  quorumDown: NotifyCmd | null;
  alpha: boolean;
  omega: boolean;
  haSuspend: boolean;
  inhibitOnFailure: boolean;
  virtualhost: string | null;
  realServers: RealServer[];
  /** Resolved (check_data.c:1157-1164): the virtual server's smtp_alert, else the global
   * smtp_alert_checker, else the global smtp_alert, else false. Absent = false. */
  smtpAlert?: boolean;
  extra: Record<string, string[]>;
}

export interface Config {
  /** The main file the config was read from. */
  file: string;
  globalDefs: GlobalDefs;
  vrrpScripts: VrrpScript[];
  /** Absent = none. */
  vrrpTrackFiles?: VrrpTrackFile[];
  vrrpTrackProcesses?: VrrpTrackProcess[];
  vrrpSyncGroups: VrrpSyncGroup[];
  vrrpInstances: VrrpInstance[];
  virtualServerGroups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
  /** The top-level SSL block (SSL_GET); absent/null = none. */
  ssl?: SslConfig | null;
  /** static_ipaddress / static_routes / static_rules: set at start, removed at stop; absent = none. */
  staticIpaddress?: VirtualIp[];
  staticRoutes?: RouteSpec[];
  staticRules?: RuleSpec[];
}

export type Severity = 'error' | 'warning' | 'note';

/** One finding about a config: `file:line: message`. */
export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const tag = d.severity === 'error' ? '' : `${d.severity}: `;
  return `${d.file}:${d.line}: ${tag}${d.message}`;
}
