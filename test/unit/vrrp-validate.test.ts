import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AUTH_AH, AUTH_NONE, AUTH_PASS, encodeAdvert, passwordBytes, type AdvertInput } from '../../src/vrrp/packet.js';
import { encodeIpv4Header, type Ipv4HeaderFields } from '../../src/vrrp/ipv4.js';
import { REJECT_REASONS, checkAdvert, peekVrid, peerTtlMap, type ReceiveExpectation, type RejectReason } from '../../src/vrrp/validate.js';

const expectation: ReceiveExpectation = {
  instance: 'VI_1',
  vrid: 51,
  authType: AUTH_PASS,
  authData: passwordBytes('s3cret'),
  advertInt: 1,
  vips: ['10.233.1.100'],
  unicast: false,
  checkVipAddresses: true,
  allowedSources: null,
  peerTtl: null,
};

/** A unicast instance that checks its peers, one of which (10.233.1.11) must arrive with TTL 100-200. */
const ttlChecked: Partial<ReceiveExpectation> = {
  unicast: true,
  allowedSources: ['10.233.1.11', '10.233.1.12'],
  peerTtl: new Map([['10.233.1.11', { min: 100, max: 200 }]]),
};
const unicastFrom11 = (ttl: number): Buffer => packet({}, { dst: '10.233.1.10', ttl });

const goodAdvert: AdvertInput = {
  vrid: 51, priority: 150, authType: AUTH_PASS, advertInt: 1,
  addresses: ['10.233.1.100'], authData: passwordBytes('s3cret'),
};

function packet(advert: Partial<AdvertInput> = {}, ip: Partial<Ipv4HeaderFields> = {}, mutate?: (b: Buffer) => void): Buffer {
  const vrrp = encodeAdvert({ ...goodAdvert, ...advert });
  const hdr = encodeIpv4Header({ src: '10.233.1.11', dst: '224.0.0.18', ttl: 255, tos: 0xc0, protocol: 112, payloadLength: vrrp.length, ...ip });
  const b = Buffer.concat([hdr, vrrp]);
  mutate?.(b);
  return b;
}

function rejected(b: Buffer, exp: Partial<ReceiveExpectation> = {}): { reason: RejectReason; message: string } {
  const v = checkAdvert(b, { ...expectation, ...exp });
  if (v.ok) throw new Error('expected a rejection');
  return v;
}

describe('VRRPv2 receive checks', () => {
  it('accepts a valid advert and reports source, TTL and fields', () => {
    const v = checkAdvert(packet(), expectation);
    expect(v).toMatchObject({ ok: true, src: '10.233.1.11', dst: '224.0.0.18', ttl: 255, advert: { vrid: 51, priority: 150 } });
  });

  it('names every rejection with keepalived wording', () => {
    const cases: Array<[RejectReason, Buffer, Partial<ReceiveExpectation>, string]> = [
      ['bad_ip_header', packet({}, { protocol: 17 }), {}, '(VI_1) received a packet that is not IPv4 protocol 112'],
      ['bad_length', packet({}, {}, undefined).subarray(0, 39), {}, '(VI_1) vrrp packet too short, length 39 and expect 40'],
      ['bad_length', Buffer.concat([packet(), Buffer.alloc(4)]), {}, '(VI_1) vrrp packet too long, length 44 and expect 40'],
      ['bad_ttl', packet({}, { ttl: 254 }), {}, '(VI_1) invalid TTL/HL. Received 254 and expect 255'],
      ['bad_version', packet({ version: 3 }), {}, '(VI_1) wrong version. Received 3 and expect 2'],
      ['wrong_vrid', packet({ vrid: 52 }), {}, '(VI_1) received an advert for VRID 52, expected 51'],
      ['bad_auth_type', packet({ authType: 7 }), {}, '(VI_1) Invalid auth type: 7'],
      ['auth_type_mismatch', packet({ authType: AUTH_NONE }), {}, '(VI_1) received a 0 auth, expecting 1!'],
      ['bad_password', packet({ authData: passwordBytes('wrong') }), {}, '(VI_1) received an invalid passwd!'],
      ['advert_interval_mismatch', packet({ advertInt: 2 }), {}, "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"],
      ['bad_type', packet({ type: 2 }), {}, '(VI_1) Invalid packet type. 2 and expect 1'],
      ['address_count_mismatch', packet({ addresses: [] }), {}, '(VI_1) received an unexpected ip number count 0, expected 1!'],
      ['ip_length_mismatch', packet({}, {}, (b) => b.writeUInt16BE(60, 2)), {}, '(VI_1) ip_tot_len mismatch against received length. 60 and received 40'],
      ['bad_checksum', packet({}, {}, (b) => { b[22] = b[22]! ^ 0x01; }), {}, '(VI_1) Invalid VRRPv2 checksum'],
      ['cast_mismatch', packet({}, { dst: '10.233.1.10' }), {}, '(VI_1) Expected multicast packet but received unicast packet'],
      ['cast_mismatch', packet(), { unicast: true }, '(VI_1) Expected unicast packet but received multicast packet'],
      ['vip_missing', packet({ addresses: ['10.233.1.99'] }), {}, '(VI_1) ip address associated with VRID 51 not present in MASTER advert: 10.233.1.100'],
      ['not_unicast_peer', packet({}, { dst: '10.233.1.10', ttl: 64 }), { unicast: true, allowedSources: ['10.233.1.12'] },
        '(VI_1) unicast source address 10.233.1.11 not a unicast peer'],
      ['peer_ttl_out_of_range', unicastFrom11(64), ttlChecked, '(VI_1) TTL/HL 64 not in range 100 - 200 for unicast peer 10.233.1.11'],
    ];
    for (const [reason, buf, exp, message] of cases) {
      expect(rejected(buf, exp), reason).toEqual(expect.objectContaining({ reason, message }));
    }
    // Every declared reason is exercised above.
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(REJECT_REASONS));
  });

  it('skips the TTL check for unicast and the address checks when told to', () => {
    expect(checkAdvert(packet({}, { dst: '10.233.1.10', ttl: 62 }), { ...expectation, unicast: true }).ok).toBe(true);
    expect(checkAdvert(packet({ addresses: [] }), { ...expectation, checkVipAddresses: false }).ok).toBe(true);
    expect(checkAdvert(packet({ addresses: ['10.233.1.99'] }), { ...expectation, checkVipAddresses: false }).ok).toBe(true);
  });

  it('checks a unicast peer\'s min_ttl/max_ttl (bounds inclusive) after its source, as keepalived does', () => {
    for (const ttl of [100, 150, 200]) expect(checkAdvert(unicastFrom11(ttl), { ...expectation, ...ttlChecked }).ok, `ttl ${ttl}`).toBe(true);
    expect(rejected(unicastFrom11(99), ttlChecked)).toMatchObject({ reason: 'peer_ttl_out_of_range', message: '(VI_1) TTL/HL 99 not in range 100 - 200 for unicast peer 10.233.1.11' });
    expect(rejected(unicastFrom11(201), ttlChecked).reason).toBe('peer_ttl_out_of_range');
    // A peer without bounds in the map is not TTL-checked.
    expect(checkAdvert(packet({}, { src: '10.233.1.12', dst: '10.233.1.10', ttl: 1 }), { ...expectation, ...ttlChecked }).ok).toBe(true);
    // The source check comes first: a stranger is "not a unicast peer", whatever its TTL.
    expect(rejected(packet({}, { src: '10.233.1.99', dst: '10.233.1.10', ttl: 1 }), ttlChecked).reason).toBe('not_unicast_peer');
    // Like the source check, the TTL check runs only with the source check on, and only when
    // the address list is checked (skip_check_adv_addr skips both for the known master).
    expect(checkAdvert(unicastFrom11(64), { ...expectation, ...ttlChecked, allowedSources: null }).ok).toBe(true);
    expect(checkAdvert(unicastFrom11(64), { ...expectation, ...ttlChecked, checkVipAddresses: false }).ok).toBe(true);
    // Without peerTtl (or with null) nothing changes.
    expect(checkAdvert(unicastFrom11(64), { ...expectation, ...ttlChecked, peerTtl: undefined }).ok).toBe(true);
  });

  it('builds the peer TTL map from resolved unicast peers (null when no peer narrows 0-255)', () => {
    expect(peerTtlMap([{ address: '10.0.0.2', minTtl: 0, maxTtl: 255 }])).toBeNull();
    expect(peerTtlMap([{ address: '10.0.0.2', minTtl: 0, maxTtl: 255 }, { address: '10.0.0.3', minTtl: 250, maxTtl: 255 }]))
      .toEqual(new Map([['10.0.0.2', { min: 0, max: 255 }], ['10.0.0.3', { min: 250, max: 255 }]]));
  });

  it('accepts adverts without authentication when none is configured', () => {
    const exp = { ...expectation, authType: AUTH_NONE, authData: Buffer.alloc(8) };
    expect(checkAdvert(packet({ authType: AUTH_NONE, authData: Buffer.alloc(8) }), exp).ok).toBe(true);
    // Unused auth bytes are not compared when auth is off (RFC 3768 §5.3.10: ignored by receivers).
    expect(checkAdvert(packet({ authType: AUTH_NONE, authData: passwordBytes('x') }), exp).ok).toBe(true);
    expect(rejected(packet({ authType: AUTH_AH }), exp).reason).toBe('auth_type_mismatch');
  });

  it('checks the reasons in keepalived order (the first failing check names the packet)', () => {
    // Wrong password and wrong interval: the password is checked first.
    expect(rejected(packet({ authData: passwordBytes('nope'), advertInt: 3 })).reason).toBe('bad_password');
    // Wrong interval and a broken checksum: the interval comes first.
    expect(rejected(packet({ advertInt: 3 }, {}, (b) => { b[27] = 0; })).reason).toBe('advert_interval_mismatch');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const v = checkAdvert(Buffer.from(bytes), expectation);
      expect(v.ok).toBe(false);
    }));
    fc.assert(fc.property(fc.nat(39), fc.nat(255), (pos, val) => {
      const b = packet();
      b[pos] = val;
      const v = checkAdvert(b, expectation);
      expect(typeof v.ok).toBe('boolean');
    }));
  });

  it('peeks the VRID for demultiplexing', () => {
    expect(peekVrid(packet({ vrid: 77 }))).toBe(77);
    expect(peekVrid(Buffer.alloc(3))).toBeNull();
  });
});
