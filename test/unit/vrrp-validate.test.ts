import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AUTH_AH, AUTH_NONE, AUTH_PASS, encodeAdvert, passwordBytes, type AdvertInput } from '../../src/vrrp/packet.js';
import { encodeIpv4Header, type Ipv4HeaderFields } from '../../src/vrrp/ipv4.js';
import { REJECT_REASONS, checkAdvert, peekVrid, type ReceiveExpectation, type RejectReason } from '../../src/vrrp/validate.js';

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
};

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
