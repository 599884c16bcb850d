// Loads the C addon (native/, built by `npm install`). The path is resolved from this file so it
// works both from dist/net/ (installed daemon) and from src/net/ (vitest): both sit two levels
// below the package root.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface IfaceInfo {
  index: number;
  /** lower-case aa:bb:cc:dd:ee:ff */
  mac: string;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  hwType: number;
}

/** Options of one address change, as `ip address add … brd B scope S label L peer P nodad noprefixroute`. */
export interface AddrOptions {
  /** Dotted quad, or '+' / '-' for the broadcast / network address computed as `ip` does (IPv4 only). */
  brd?: string;
  /** global, site, link, host, nowhere or 0-255; absent = as `ip` (host for 127/8, else global). */
  scope?: number | 'global' | 'site' | 'link' | 'host' | 'nowhere';
  /** IPv4 only; must start with the interface name (eth0:vip). */
  label?: string;
  /** The other end of a point-to-point address; the prefix length then belongs to the peer. */
  peer?: string;
  noDad?: boolean;
  noPrefixRoute?: boolean;
}

export interface AddrRequest extends AddrOptions {
  op: 'add' | 'del';
  ifname: string;
  family: 4 | 6;
  address: string;
  prefixLen: number;
}

/** errno 0 = done; EEXIST (add) / EADDRNOTAVAIL (del) = it already was so. */
export interface AddrResult {
  errno: number;
  /** errno name, '' on success. */
  code: string;
  /** The kernel's own error text when it gave one, else strerror; '' on success. */
  message: string;
}

export interface NativeAddon {
  /** Send `count` (default 1) gratuitous ARP requests; throws an Error with `code` (errno name). */
  sendGarp(ifname: string, ipv4: string, count?: number): void;
  /** One datagram to `socketPath` or $NOTIFY_SOCKET; false when there is no socket to notify. */
  sdNotify(state: string, socketPath?: string): boolean;
  ifaceInfo(ifname: string): IfaceInfo;
  /** One RTM_NEWADDR/RTM_DELADDR with ACK: 0 or a positive errno. Wrong arguments throw a TypeError. */
  addrChange(op: 'add' | 'del', ifname: string, family: 4 | 6, address: string, prefixLen: number, opts?: AddrOptions): number;
  /** All requests in one netlink send, then all ACKs; one result per request, in order. */
  addrChangeBatch(requests: AddrRequest[]): AddrResult[];
  /**
   * Listen to link and IPv4/IPv6 address changes (one NETLINK_ROUTE socket, RTMGRP_LINK |
   * RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, watched by the event loop). `onData` gets each
   * datagram as the kernel sent it (decode with rtnl-codec.ts). `onError` gets Errors with `code`:
   * 'ENOBUFS' means the kernel dropped messages (the socket's queue was full): what was still
   * queued has been discarded, so re-dump with rtnlDump(); the socket stays open. Keeps the
   * process alive until closed. Throws (with `code`) when the socket cannot be opened.
   */
  rtnlMonitor(onData: (datagram: Buffer) => void, onError: (err: RtnlMonitorError) => void, opts?: RtnlMonitorOptions): NativeHandle;
  /** Every link, then every address (IPv4 and IPv6), as raw datagrams, each dump up to its
   * NLMSG_DONE; synchronous, on its own socket. Throws an Error with `code` on failure. */
  rtnlDump(): Buffer[];
  /**
   * Call `cb` on the event loop when `signum` arrives (realtime signals included; deliveries that
   * arrive together may be coalesced). Like process.on('SIG…') it does not keep the process alive.
   * After close() libuv resets the signal to SIG_DFL, unless it was ignored before the watch (then
   * it is ignored again).
   */
  signalWatch(signum: number, cb: (signum: number) => void): NativeHandle;
  /** sigaction(signum, SIG_IGN). */
  signalIgnore(signum: number): void;
  /** The C library's run-time values (glibc: 34 and 64). */
  signalNumbers(): { SIGRTMIN: number; SIGRTMAX: number };
  /**
   * One non-blocking TCP connect on libuv's public API (checker.c), closed once the handshake
   * completes. Returns an id for tcpConnectAbort, or a negative libuv error code when it failed at
   * once (bad address, bind refused, no descriptors): `done` is then never called. `done` gets 0
   * (connected) or a negative libuv error code (util.getSystemErrorName names it). Absent from
   * addons built before it existed. localPort 0 = any; with a localPort and no localAddress the
   * wildcard address of `family` is bound.
   */
  tcpConnect?(host: string, port: number, family: 4 | 6, localAddress: string | null, localPort: number, done: (status: number) => void): number;
  /** Close a probe started by tcpConnect; its `done` never runs. Unknown or finished ids are ignored. */
  tcpConnectAbort?(id: number): void;
  /**
   * Batched probes: returns the ArrayBuffer where completions are written as [token, status]
   * int32 pairs; `cb(count)` runs once per event-loop turn with the number of pairs.
   */
  tcpBatch?(cb: (count: number) => void): ArrayBuffer;
  /** Register a probe target once: an id for tcpConnectTarget, or a negative libuv code. */
  tcpTarget?(host: string, port: number, family: 4 | 6, localAddress: string | null, localPort: number): number;
  /** A probe to a registered target reporting through the batch: an id for tcpConnectAbort, or a negative libuv code. */
  tcpConnectTarget?(target: number, token: number): number;
  /**
   * prctl(PR_SET_PDEATHSIG): the kernel sends `signum` when the parent dies. false when the parent
   * is no longer `parentPid` (it died before the call).
   */
  setParentDeathSignal?(signum: number, parentPid: number): boolean;
  /**
   * One ICMP/ICMPv6 echo request to `host` (icmp.c) over a socket per family shared by all
   * requests (a ping socket, else a raw one). Returns an id for icmpEchoAbort, or a negative errno
   * when nothing was sent (`done` then never runs). `done(0, type)` on an echo reply. The caller
   * owns the timeout. Absent from addons built before it existed.
   */
  icmpEcho?(host: string, family: 4 | 6, done: (status: number, type: number) => void): number;
  /** Forget an echo request; its `done` never runs. Unknown or finished ids are ignored. */
  icmpEchoAbort?(id: number): void;
  /**
   * Subscribe to the kernel's process events connector (NETLINK_CONNECTOR, CN_IDX_PROC;
   * proc-events.c), for vrrp_track_process. `onEvents` gets batches of 32-byte records (decode
   * with src/vrrp/trackers/proc-events.ts): the subscription's acknowledgement, then fork, exec,
   * comm and exit of whole processes. `onError` gets Errors with `code`; 'ENOBUFS' = events were
   * lost. Throws (with `code`) when the connector is unavailable: EPERM (no CAP_NET_ADMIN),
   * ECONNREFUSED (not in the initial network namespace), EPROTONOSUPPORT (no CONFIG_CONNECTOR).
   * Keeps the process alive until closed. Absent from addons built before it existed.
   */
  procEvents?(onEvents: (records: Buffer) => void, onError: (err: Error & { code?: string }) => void, opts?: { rcvbuf?: number }): NativeHandle;
  /**
   * The status socket's listener (local-socket.c): binds a Unix stream socket at `path` (which
   * must not exist), chmods it to `mode` before listen(), and calls `onConnection` with each
   * accepted client's fd and the uid/gid/pid the kernel recorded at its connect() (SO_PEERCRED;
   * -1 each when unknown). Return true to take the fd (wrap it with `new net.Socket({ fd })`);
   * otherwise it is closed. Throws (with `code`) when it cannot listen. Absent from addons built
   * before it existed.
   */
  credListen?(path: string, mode: number, onConnection: (fd: number, uid: number, gid: number, pid: number) => boolean): NativeHandle;
  /**
   * Route and rule requests (RTM_NEWROUTE/DELROUTE/NEWRULE/DELRULE, built by
   * src/net/route-model.ts) sent in one datagram with one ACK read per request (route.c). One
   * result per message, in order: errno 0 = done; stage open|send|ack; message = the kernel's
   * extended-ACK text or ''. Throws a TypeError/RangeError for anything but route/rule requests.
   * Absent from addons built before it existed.
   */
  rtnlRequests?(messages: Buffer[]): { errno: number; stage: string; message: string }[];
  /** A datagram socket connected to the Unix socket `path` (syslog's /dev/log); throws (with
   * `code`) when it cannot connect. Absent from addons built before it existed. */
  unixDgram?(path: string): UnixDgram;
  /** use_vmac (vmac.c): what the kernel has under `name` (RTM_GETLINK), null when nothing. */
  vmacLink?(name: string): { ifindex: number; kind: string | null; mode: number; link: number; mac: string | null; up: boolean } | null;
  /** Create (updateIfindex 0) a private macvlan `name` on baseIfindex with `mac`, or set the MAC and
   * mode of link updateIfindex; then addr_gen_mode none and up. Returns its ifindex; throws (code, stage). */
  vmacCreate?(name: string, baseIfindex: number, mac: string, updateIfindex: number): number;
  /** RTM_DELLINK; throws (code 'ENODEV' when it is already gone). */
  vmacDelete?(ifindex: number): void;
  /** advert-pacer.c: a master's next periodic advert sent at its due time by a thread of its own. */
  pacerOpen?(ifname: string): number;
  pacerArm?(slot: number, key: number, dueMs: number, packets: Buffer[], destinations: string[]): void;
  /** -1: not sent by the thread (now cancelled: the caller sends); else the thread sent it: 0 or the first errno. */
  pacerClaim?(slot: number, key: number): number;
  pacerCancel?(slot: number): void;
  pacerClose?(slot: number): void;
  pacerInfo?(): PacerInfo;
  /** SCHED_FIFO priority of the pacer thread, 1-99 (vrrp_rt_priority); applied at once if it runs. */
  pacerSetPriority?(n: number): void;
  /** CLOCK_MONOTONIC in ms: the clock pacerArm's dueMs is on. */
  monotonicMs?(): number;
}

export interface UnixDgram {
  /** One datagram, never blocking: 0, or an errno (EAGAIN: the reader is behind and the datagram
   * is dropped; ECONNREFUSED/ENOTCONN: the reader went away, connect again). */
  send(data: Buffer | string): number;
  close(): void;
}

export interface PacerInfo {
  /** The pacer thread runs SCHED_FIFO, at `priority`. */
  realtime: boolean;
  /** Asked for: vrrp_rt_priority, or 1. */
  priority: number;
  /** Why it does not, when it does not. */
  schedError: string | null;
  sent: number;
  failed: number;
  /** How late the thread sent, behind the due time (ms). */
  lateMaxMs: number;
  lateLastMs: number;
}

export interface NativeHandle {
  /** Stop; later calls do nothing. */
  close(): void;
}

export interface RtnlMonitorOptions {
  /** SO_RCVBUF(FORCE) in bytes; the kernel doubles it and applies its minimum (about 2.3 KiB). */
  rcvbuf?: number;
}

export interface RtnlMonitorError extends Error {
  /** errno name: 'ENOBUFS' (overrun), 'EMSGSIZE' (a message did not fit), … */
  code: string;
  errno: number;
}

export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../native/build/Release/hakeep_native.node', import.meta.url),
);

let addon: NativeAddon | null = null;

/** The addon, loaded on first use; throws a clear error when it has not been built. */
export function native(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'MODULE_NOT_FOUND' ? 'it has not been built' : err.message;
    throw new Error(
      `hakeep's native addon ${NATIVE_ADDON_PATH} cannot be loaded (${why}): ` +
        'run npm install in the hakeep directory (needs python3 make g++)',
      { cause: e },
    );
  }
  return addon;
}

let loadError: Error | null = null;
/** undefined = not tried yet. */
let checked: NativeAddon | null | undefined;

/**
 * The addon, or null when it cannot be loaded (not built) or predates `addrChangeBatch` (built
 * from an older checkout): callers with an iproute2 fallback use this. `nativeLoadError` says why.
 */
export function tryNative(): NativeAddon | null {
  if (checked !== undefined) return checked;
  try {
    const a = native();
    if (typeof a.addrChangeBatch !== 'function') {
      throw new Error(`hakeep's native addon ${NATIVE_ADDON_PATH} is out of date (no addrChangeBatch): run npm install again`);
    }
    checked = a;
  } catch (e) {
    loadError = e as Error;
    checked = null;
  }
  return checked;
}

/** Why tryNative() returned null, or null when it did not. */
export function nativeLoadError(): Error | null {
  return loadError;
}
