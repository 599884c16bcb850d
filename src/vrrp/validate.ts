// Receive checks for a VRRPv2 advert (RFC 3768 §7.1), in keepalived's order, each rejection
// named by a reason (for counters) and worded like keepalived's log line (for operators).
// Pure: a received IPv4 packet (header included, as raw sockets deliver it) in, a verdict out.
import { timingSafeEqual } from 'node:crypto';
import { IPPROTO_VRRP, VRRP_TTL, isMulticastIpv4, parseIpv4Header } from './ipv4.js';
import {
  AUTH_AH, AUTH_NONE, AUTH_PASS, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT, VRRP_VERSION_2,
  advertLength, checksumValid, decodeAdvert, type VrrpAdvert,
} from './packet.js';

export const REJECT_REASONS = [
  'bad_ip_header', // not IPv4 or not protocol 112
  'bad_length', // not exactly IP header + VRRP header + addresses + 8 auth bytes
  'bad_ttl',
  'bad_version',
  'wrong_vrid',
  'bad_auth_type', // an auth type VRRPv2 does not define
  'auth_type_mismatch',
  'bad_password',
  'advert_interval_mismatch',
  'bad_type',
  'address_count_mismatch',
  'ip_length_mismatch', // IP total length differs from what was received
  'bad_checksum',
  'cast_mismatch', // multicast received by a unicast instance or the reverse
  'vip_missing',
  'not_unicast_peer',
  'peer_ttl_out_of_range', // unicast_peer min_ttl/max_ttl
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface ReceiveExpectation {
  /** Instance name, for the log wording. */
  instance: string;
  vrid: number;
  /** AUTH_NONE, AUTH_PASS or AUTH_AH. */
  authType: number;
  /** The 8 PASS bytes (zero-padded). */
  authData: Buffer;
  /** Seconds. */
  advertInt: number;
  /** The addresses our own adverts carry (the instance's IPv4 VIPs). */
  vips: readonly string[];
  /** Unicast instance (unicast_peer set): no TTL check, unicast destination expected. */
  unicast: boolean;
  /** Compare the advert's address list with ours (skip_check_adv_addr can turn it off). */
  checkVipAddresses: boolean;
  /** When set (check_unicast_src), a unicast source must be one of these peers. */
  allowedSources: readonly string[] | null;
  /**
   * Per unicast peer address, the TTL range its adverts must arrive with (unicast_peer
   * min_ttl/max_ttl; keepalived's defaults 0 and 255 when only one bound is written). As in
   * keepalived it is checked only together with allowedSources, after the source matched a peer;
   * a peer missing from the map is not TTL-checked. null (or absent) = no TTL check.
   * Build it from VrrpInstance.unicastPeers (minTtl/maxTtl are already resolved there).
   */
  peerTtl?: ReadonlyMap<string, { min: number; max: number }> | null;
}

/** The peerTtl map for unicast peers with resolved bounds; null when no peer narrows 0-255. */
export function peerTtlMap(
  peers: ReadonlyArray<{ address: string; minTtl: number; maxTtl: number }>,
): ReadonlyMap<string, { min: number; max: number }> | null {
  if (peers.every((p) => p.minTtl <= 0 && p.maxTtl >= 255)) return null;
  return new Map(peers.map((p) => [p.address, { min: p.minTtl, max: p.maxTtl }]));
}

export interface AcceptedAdvert {
  ok: true;
  src: string;
  dst: string;
  ttl: number;
  advert: VrrpAdvert;
}

export interface RejectedPacket {
  ok: false;
  reason: RejectReason;
  /** keepalived's log line for this rejection. */
  message: string;
  /** Source address when the IP header could be read. */
  src: string | null;
}

export type ReceiveVerdict = AcceptedAdvert | RejectedPacket;

/** The VRID of a received packet, for demultiplexing; null when the packet is too short to say. */
export function peekVrid(packet: Buffer): number | null {
  const ip = parseIpv4Header(packet);
  if (!ip || packet.length < ip.headerLength + 2) return null;
  return packet[ip.headerLength + 1]!;
}

const AUTH_TYPES_KNOWN = new Set([AUTH_NONE, AUTH_PASS, AUTH_AH]);

export function checkAdvert(packet: Buffer, exp: ReceiveExpectation): ReceiveVerdict {
  const n = `(${exp.instance})`;
  const ip = parseIpv4Header(packet);
  const reject = (reason: RejectReason, message: string): RejectedPacket => ({
    ok: false, reason, message: `${n} ${message}`, src: ip?.src ?? null,
  });
  if (!ip || ip.protocol !== IPPROTO_VRRP) {
    return reject('bad_ip_header', `received a packet that is not IPv4 protocol ${IPPROTO_VRRP}`);
  }
  const vrrpPart = packet.subarray(ip.headerLength);
  // The address count sits at byte 3; with fewer than 8 bytes assume none to word the error.
  const count = vrrpPart.length >= VRRP_HEADER_LEN ? vrrpPart[3]! : 0;
  const expectedLen = ip.headerLength + advertLength(count);
  if (packet.length !== expectedLen) {
    const dir = packet.length > expectedLen ? 'long' : 'short';
    return reject('bad_length', `vrrp packet too ${dir}, length ${packet.length} and expect ${expectedLen}`);
  }
  const decoded = decodeAdvert(vrrpPart);
  if (!decoded.ok) {
    return reject('bad_length', `vrrp packet too short, length ${packet.length} and expect ${ip.headerLength + decoded.expected}`);
  }
  const a = decoded.advert;
  if (!exp.unicast && ip.ttl !== VRRP_TTL) {
    return reject('bad_ttl', `invalid TTL/HL. Received ${ip.ttl} and expect ${VRRP_TTL}`);
  }
  if (a.version !== VRRP_VERSION_2) {
    return reject('bad_version', `wrong version. Received ${a.version} and expect ${VRRP_VERSION_2}`);
  }
  if (a.vrid !== exp.vrid) {
    return reject('wrong_vrid', `received an advert for VRID ${a.vrid}, expected ${exp.vrid}`);
  }
  if (!AUTH_TYPES_KNOWN.has(a.authType)) {
    return reject('bad_auth_type', `Invalid auth type: ${a.authType}`);
  }
  if (a.authType !== exp.authType) {
    return reject('auth_type_mismatch', `received a ${a.authType} auth, expecting ${exp.authType}!`);
  }
  if (exp.authType === AUTH_PASS && !timingSafeEqual(a.authData, exp.authData)) {
    return reject('bad_password', 'received an invalid passwd!');
  }
  if (a.advertInt !== exp.advertInt) {
    // keepalived drops these: a v2 backup never adopts another interval (RFC 3768 §7.1).
    return reject('advert_interval_mismatch', `advertisement interval mismatch mine=${exp.advertInt} sec rcv'd=${a.advertInt} sec`);
  }
  if (a.type !== VRRP_TYPE_ADVERTISEMENT) {
    return reject('bad_type', `Invalid packet type. ${a.type} and expect ${VRRP_TYPE_ADVERTISEMENT}`);
  }
  if (exp.checkVipAddresses && a.addresses.length !== exp.vips.length) {
    return reject('address_count_mismatch', `received an unexpected ip number count ${a.addresses.length}, expected ${exp.vips.length}!`);
  }
  if (ip.totalLength !== packet.length) {
    return reject('ip_length_mismatch', `ip_tot_len mismatch against received length. ${ip.totalLength} and received ${packet.length}`);
  }
  if (!checksumValid(vrrpPart)) {
    return reject('bad_checksum', 'Invalid VRRPv2 checksum');
  }
  if (isMulticastIpv4(ip.dst) === exp.unicast) {
    const [want, got] = exp.unicast ? ['un', 'mult'] : ['mult', 'un'];
    return reject('cast_mismatch', `Expected ${want}icast packet but received ${got}icast packet`);
  }
  if (exp.checkVipAddresses) {
    const carried = new Set(a.addresses);
    const missing = exp.vips.find((v) => !carried.has(v));
    if (missing !== undefined) {
      return reject('vip_missing', `ip address associated with VRID ${exp.vrid} not present in MASTER advert: ${missing}`);
    }
    if (exp.unicast && exp.allowedSources) {
      if (!exp.allowedSources.includes(ip.src)) {
        return reject('not_unicast_peer', `unicast source address ${ip.src} not a unicast peer`);
      }
      const range = exp.peerTtl?.get(ip.src);
      if (range && (ip.ttl < range.min || ip.ttl > range.max)) {
        return reject('peer_ttl_out_of_range', `TTL/HL ${ip.ttl} not in range ${range.min} - ${range.max} for unicast peer ${ip.src}`);
      }
    }
  }
  return { ok: true, src: ip.src, dst: ip.dst, ttl: ip.ttl, advert: a };
}
