import { describe, expect, it } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { buildIpBatch, parseBatchErrors } from '../../src/net/vip.js';

function vip(address: string, extra: Partial<VirtualIp> = {}): VirtualIp {
  const v6 = address.includes(':');
  return {
    address, family: v6 ? 6 : 4, prefixLen: v6 ? 128 : 32, brd: null, dev: null, scope: null,
    label: null, peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false,
    loc: { file: 'k.conf', line: 1 }, ...extra,
  };
}

describe('buildIpBatch', () => {
  it('puts one line per VIP on the default device with the prefix length', () => {
    expect(buildIpBatch('add', [vip('10.0.0.100'), vip('10.0.0.101', { prefixLen: 24 })], 'eth0')).toBe(
      'address add 10.0.0.100/32 dev eth0\naddress add 10.0.0.101/24 dev eth0\n',
    );
  });

  it('honours dev, brd, scope, label and noprefixroute on add', () => {
    const v = vip('192.168.5.1', {
      prefixLen: 24, dev: 'eth1', brd: '192.168.5.255', scope: 'link', label: 'eth1:vip', noPrefixRoute: true,
    });
    expect(buildIpBatch('add', [v], 'eth0')).toBe(
      'address add 192.168.5.1/24 dev eth1 brd 192.168.5.255 scope link label eth1:vip noprefixroute\n',
    );
  });

  it('deletes by address, prefix and device only (attributes do not select the address)', () => {
    const v = vip('192.168.5.1', { prefixLen: 24, brd: '192.168.5.255', scope: 'link', label: 'eth0:x' });
    expect(buildIpBatch('del', [v], 'eth0')).toBe('address del 192.168.5.1/24 dev eth0\n');
  });

  it('puts the prefix on the peer, on add and del', () => {
    const v = vip('10.1.1.1', { peer: '10.1.1.2' });
    expect(buildIpBatch('add', [v], 'eth0')).toBe('address add 10.1.1.1 peer 10.1.1.2/32 dev eth0\n');
    expect(buildIpBatch('del', [v], 'eth0')).toBe('address del 10.1.1.1 peer 10.1.1.2/32 dev eth0\n');
    expect(buildIpBatch('add', [vip('10.1.1.1', { peer: '10.1.2.0/24' })], 'eth0')).toBe(
      'address add 10.1.1.1 peer 10.1.2.0/24 dev eth0\n',
    );
  });

  it('adds nodad for IPv6 only', () => {
    expect(buildIpBatch('add', [vip('2001:db8::1', { noDad: true }), vip('10.0.0.1', { noDad: true })], 'eth0')).toBe(
      'address add 2001:db8::1/128 dev eth0 nodad\naddress add 10.0.0.1/32 dev eth0\n',
    );
  });

  it('is empty for no VIPs', () => {
    expect(buildIpBatch('add', [], 'eth0')).toBe('');
  });

  it('refuses tokens that would split a batch line', () => {
    expect(() => buildIpBatch('add', [vip('10.0.0.1', { label: 'eth0:a b' })], 'eth0')).toThrow(/invalid label/);
    expect(() => buildIpBatch('add', [vip('10.0.0.1\naddress flush dev eth0')], 'eth0')).toThrow(/invalid address/);
    expect(() => buildIpBatch('add', [vip('10.0.0.1')], '')).toThrow(/invalid device/);
  });
});

describe('parseBatchErrors', () => {
  it('attributes each message to the line number ip reports after it', () => {
    const stderr = [
      'Error: ipv4: Address already assigned.', 'Command failed -:2',
      'Cannot find device "nope"', 'Command failed -:4', '',
    ].join('\n');
    const r = parseBatchErrors(stderr);
    expect([...r.byLine]).toEqual([[2, 'Error: ipv4: Address already assigned.'], [4, 'Cannot find device "nope"']]);
    expect(r.trailing).toBe('');
  });

  it('returns text after the last marker as trailing (ip aborted the batch)', () => {
    const r = parseBatchErrors('RTNETLINK answers: File exists\nCommand failed -:1\nError: argument "bogus" is wrong: invalid scope value.\n');
    expect(r.byLine.get(1)).toBe('RTNETLINK answers: File exists');
    expect(r.trailing).toBe('Error: argument "bogus" is wrong: invalid scope value.');
  });
});
