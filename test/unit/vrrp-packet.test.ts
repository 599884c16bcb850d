import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AUTH_NONE, AUTH_PASS, advertLength, checksumValid, decodeAdvert, encodeAdvert, passwordBytes,
} from '../../src/vrrp/packet.js';
import { internetChecksum } from '../../src/vrrp/checksum.js';
import { encodeIpv4Header, intToIpv4, ipv4ToInt, parseIpv4Header } from '../../src/vrrp/ipv4.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

describe('VRRPv2 codec', () => {
  it('round-trips any advert and always produces a valid checksum', () => {
    fc.assert(fc.property(
      fc.record({
        vrid: fc.integer({ min: 1, max: 255 }),
        priority: fc.nat(255),
        authType: fc.nat(2),
        advertInt: fc.integer({ min: 1, max: 255 }),
        addresses: fc.array(ipv4, { maxLength: 20 }),
        authData: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
      }),
      (a) => {
        const buf = encodeAdvert(a);
        expect(buf.length).toBe(advertLength(a.addresses.length));
        expect(checksumValid(buf)).toBe(true);
        const d = decodeAdvert(buf);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        expect(d.advert).toMatchObject({ ...a, version: 2, type: 1 });
        expect(d.advert.checksum).toBe(buf.readUInt16BE(6));
      },
    ));
  });

  it('lays out the fields where RFC 3768 §5.3 puts them', () => {
    const buf = encodeAdvert({
      vrid: 51, priority: 150, authType: AUTH_PASS, advertInt: 1,
      addresses: ['10.0.0.100', '10.0.0.101'], authData: passwordBytes('s3cret'),
    });
    expect(buf.length).toBe(8 + 8 + 8);
    expect([...buf.subarray(0, 6)]).toEqual([0x21, 51, 150, 2, 1, 1]);
    expect([...buf.subarray(8, 16)]).toEqual([10, 0, 0, 100, 10, 0, 0, 101]);
    expect(buf.subarray(16).toString('latin1')).toBe('s3cret\0\0');
    // The checksum is the one's complement sum over the message with the field zeroed.
    const zeroed = Buffer.from(buf);
    zeroed.writeUInt16BE(0, 6);
    expect(buf.readUInt16BE(6)).toBe(internetChecksum(zeroed));
  });

  it('produces byte for byte the advert keepalived 2.2.7 sends (captured with tcpdump -x)', () => {
    const captured = Buffer.from('45c0002800030000ff70ce9d0ae9010ae0000012' + '213364010101b9fc0ae90164686b767061737331', 'hex');
    const ours = encodeAdvert({
      vrid: 51, priority: 100, authType: AUTH_PASS, advertInt: 1, addresses: ['10.233.1.100'], authData: passwordBytes('hkvpass1'),
    });
    expect(ours.toString('hex')).toBe(captured.subarray(20).toString('hex'));
    const ip = parseIpv4Header(captured);
    expect(ip).toMatchObject({ tos: 0xc0, ttl: 255, protocol: 112, src: '10.233.1.10', dst: '224.0.0.18', totalLength: 40 });
    expect(internetChecksum(captured.subarray(0, 20))).toBe(0);
  });

  it('pads passwords with zeros and cuts them at 8 bytes', () => {
    expect(passwordBytes('abc')).toEqual(Buffer.from([97, 98, 99, 0, 0, 0, 0, 0]));
    expect(passwordBytes('0123456789').toString()).toBe('01234567');
    expect(passwordBytes(null)).toEqual(Buffer.alloc(8));
  });

  it('reports short and long messages with the expected length', () => {
    const buf = encodeAdvert({ vrid: 1, priority: 100, authType: AUTH_NONE, advertInt: 1, addresses: ['1.2.3.4'], authData: Buffer.alloc(8) });
    expect(decodeAdvert(buf.subarray(0, 5))).toMatchObject({ ok: false, reason: 'too_short', expected: 16 });
    expect(decodeAdvert(buf.subarray(0, 19))).toMatchObject({ ok: false, reason: 'too_short', expected: 20 });
    expect(decodeAdvert(Buffer.concat([buf, Buffer.alloc(1)]))).toMatchObject({ ok: false, reason: 'too_long', expected: 20 });
  });

  it('refuses values that do not fit the wire format', () => {
    const base = { vrid: 1, priority: 100, authType: 0, advertInt: 1, addresses: [], authData: Buffer.alloc(8) };
    expect(() => encodeAdvert({ ...base, vrid: 256 })).toThrow(/vrid/);
    expect(() => encodeAdvert({ ...base, advertInt: 0.5 })).toThrow(/advertInt/);
    expect(() => encodeAdvert({ ...base, addresses: ['10.0.0.300'] })).toThrow(/not an IPv4/);
  });

  it('decodes arbitrary bytes without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      const r = decodeAdvert(Buffer.from(bytes));
      expect(typeof r.ok).toBe('boolean');
    }));
  });
});

describe('IPv4 header', () => {
  it('round-trips and carries a valid header checksum', () => {
    const h = encodeIpv4Header({ src: '10.233.1.10', dst: '224.0.0.18', ttl: 255, tos: 0xc0, protocol: 112, payloadLength: 20 });
    expect(internetChecksum(h)).toBe(0);
    expect(parseIpv4Header(h)).toEqual({
      headerLength: 20, tos: 0xc0, totalLength: 40, ttl: 255, protocol: 112, src: '10.233.1.10', dst: '224.0.0.18',
    });
  });

  it('rejects what is not an IPv4 header', () => {
    expect(parseIpv4Header(Buffer.alloc(10))).toBeNull();
    const v6 = Buffer.alloc(40);
    v6[0] = 0x60;
    expect(parseIpv4Header(v6)).toBeNull();
    const shortIhl = Buffer.alloc(20);
    shortIhl[0] = 0x44;
    expect(parseIpv4Header(shortIhl)).toBeNull();
  });

  it('converts addresses both ways', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), (n) => {
      expect(ipv4ToInt(intToIpv4(n))).toBe(n);
    }));
  });
});
