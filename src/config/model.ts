// The typed, normalized configuration model. The parser fills it with keepalived's defaults;
// every other part of hakeep reads only this model, never the raw token tree.
// Times are in seconds (fractional allowed) unless a field name says otherwise.

/** Where a value came from, for error messages and `-d` output. */
export interface SourceLoc {
  file: string;
  line: number;
}

export interface GlobalDefs {
  routerId: string | null;
  notificationEmail: string[];
  notificationEmailFrom: string | null;
  smtpServer: string | null;
  smtpConnectTimeout: number;
  vrrpMcastGroup4: string; // default 224.0.0.18
  vrrpMcastGroup6: string; // default ff02::12
  vrrpGarpMasterDelay: number; // 5
  vrrpGarpMasterRepeat: number; // 5
  vrrpGarpMasterRefresh: number; // 0 = off
  vrrpGarpMasterRefreshRepeat: number; // 1
  vrrpGarpInterval: number; // 0 (seconds between GARPs of one burst)
  vrrpGarpLowerPrioDelay: number | null;
  vrrpGarpLowerPrioRepeat: number | null;
  vrrpMinGarp: boolean;
  vrrpStrict: boolean;
  vrrpVersion: 2 | 3;
  vrrpSkipCheckAdvAddr: boolean;
  vrrpCheckUnicastSrc: boolean;
  vrrpLowerPrioNoAdvert: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  vrrpStartupDelay: number;
  enableScriptSecurity: boolean;
  scriptUser: string | null;
  lvsFlush: boolean;
  lvsFlushOnStop: boolean;
  checkerLogAllFailures: boolean;
  /** Every other keyword we accepted, raw, so nothing is lost in `-d`. */
  extra: Record<string, string[]>;
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

export interface NotifyCmd {
  /** The command line as written (one string; split with shell-like rules when run). */
  command: string;
  user: string | null;
}

export interface UnicastPeer {
  address: string;
  minTtl: number | null;
  maxTtl: number | null;
}

export interface VrrpInstance {
  name: string;
  loc: SourceLoc;
  /** The `state` wish. Every instance enters BACKUP first regardless (keepalived behaviour). */
  initialState: 'MASTER' | 'BACKUP';
  interface: string;
  virtualRouterId: number;
  priority: number; // 1-255, default 100
  advertInt: number; // seconds, default 1
  version: 2 | 3;
  authType: 'PASS' | 'AH' | null;
  /** PASS password, at most 8 bytes (longer values are truncated with an error). */
  authPass: string | null;
  virtualIpaddress: VirtualIp[];
  virtualIpaddressExcluded: VirtualIp[];
  virtualRoutes: string[];
  virtualRules: string[];
  trackInterface: TrackInterfaceRef[];
  trackScript: TrackScriptRef[];
  nopreempt: boolean;
  preemptDelay: number; // seconds, 0 = none
  mcastSrcIp: string | null;
  mcastDstIp: string | null;
  unicastSrcIp: string | null;
  unicastPeers: UnicastPeer[];
  unicastTtl: number; // 255
  garpMasterDelay: number;
  garpMasterRepeat: number;
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  garpInterval: number;
  garpLowerPrioDelay: number | null;
  garpLowerPrioRepeat: number | null;
  notifyMaster: NotifyCmd | null;
  notifyBackup: NotifyCmd | null;
  notifyFault: NotifyCmd | null;
  notifyStop: NotifyCmd | null;
  notify: NotifyCmd | null;
  smtpAlert: boolean;
  strictMode: boolean;
  accept: boolean | null;
  dontTrackPrimary: boolean;
  skipCheckAdvAddr: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  downTimerAdverts: number; // 3
  useVmac: string | null;
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
  trackScript: TrackScriptRef[];
  trackInterface: TrackInterfaceRef[];
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

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type LbKind = 'NAT' | 'DR' | 'TUN';
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
  | { kind: 'fwmark'; fwmark: number; family: 4 | 6 };

export interface VirtualServerGroup {
  name: string;
  loc: SourceLoc;
  entries: VsGroupEntry[];
}

export interface TcpCheck {
  type: 'TCP_CHECK';
  connectIp: string | null;
  connectPort: number | null;
  bindto: string | null;
  bindPort: number | null;
  bindIf: string | null;
  connectTimeout: number; // resolved cascade: checker → real_server → virtual_server → 5
  retry: number; // resolved: default 1
  delayBeforeRetry: number; // resolved: default 1
  delayLoop: number; // resolved: checker → real_server → virtual_server (60)
  warmup: number | null; // null = random up to delay_loop
  alpha: boolean | null;
  fwmark: number | null;
  logAllFailures: boolean;
  loc: SourceLoc;
}

export interface HttpUrl {
  path: string;
  digest: string | null;
  statusCode: string | null;
  virtualhost: string | null;
  regex: string | null;
}

export interface HttpCheck {
  type: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  connectIp: string | null;
  connectPort: number | null;
  bindto: string | null;
  bindPort: number | null;
  connectTimeout: number;
  retry: number;
  delayBeforeRetry: number;
  delayLoop: number;
  warmup: number | null;
  httpProtocol: string | null;
  virtualhost: string | null;
  enableSni: boolean;
  sniName: string | null;
  loc: SourceLoc;
}

export interface MiscCheck {
  type: 'MISC_CHECK';
  miscPath: string;
  miscTimeout: number | null;
  miscDynamic: boolean;
  user: string | null;
  retry: number;
  delayBeforeRetry: number;
  delayLoop: number;
  warmup: number | null;
  loc: SourceLoc;
}

/** Checkers parsed but not implemented yet: kept with their raw keywords. */
export interface OtherCheck {
  type: 'SMTP_CHECK' | 'DNS_CHECK' | 'UDP_CHECK' | 'PING_CHECK' | 'FILE_CHECK' | 'BFD_CHECK';
  params: Record<string, string[]>;
  connectTimeout: number;
  retry: number;
  delayBeforeRetry: number;
  delayLoop: number;
  loc: SourceLoc;
}

export type Checker = TcpCheck | HttpCheck | MiscCheck | OtherCheck;

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
  alpha: boolean; // resolved cascade
  checkers: Checker[];
}

export interface VirtualServer {
  loc: SourceLoc;
  address: VsAddress;
  delayLoop: number; // 60
  lbAlgo: LbAlgo; // wlc
  lbKind: LbKind; // NAT
  protocol: Protocol; // TCP
  persistenceTimeout: number | null; // seconds; null = no persistence
  persistenceGranularity: string | null;
  ops: boolean;
  schedFlags: string[]; // flag-1.., sh-port, sh-fallback, mh-port, mh-fallback
  sorryServer: { ip: string; port: number; family: 4 | 6 } | null;
  sorryServerInhibit: boolean;
  sorryServerLbKind: LbKind | null;
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
  extra: Record<string, string[]>;
}

export interface Config {
  /** The main file the config was read from. */
  file: string;
  globalDefs: GlobalDefs;
  vrrpScripts: VrrpScript[];
  vrrpSyncGroups: VrrpSyncGroup[];
  vrrpInstances: VrrpInstance[];
  virtualServerGroups: VirtualServerGroup[];
  virtualServers: VirtualServer[];
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
