// The netlink path of applyVips without a kernel: how a VirtualIp maps onto an rtnetlink request
// (the same meaning as its `ip address` line), and how the addon's per-request answers become
// the result and log lines. The kernel side is proven in test/netns/vip.test.ts.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { VirtualIp } from '../../src/config/model.js';
import { createLogger, type Logger } from '../../src/daemon/log.js';
import type { AddrRequest, AddrResult } from '../../src/net/native.js';
import { addrRequestOf, applyVipsNetlink, buildIpBatch, SCOPE_NUMBERS, vipBackend } from '../../src/net/vip.js';

function vip(address: string, extra: Partial<VirtualIp> = {}): VirtualIp {
  const v6 = address.includes(':');
  return {
    address, family: v6 ? 6 : 4, prefixLen: v6 ? 128 : 32, brd: null, dev: null, scope: null,
    label: null, peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false,
    loc: { file: 'k.conf', line: 1 }, ...extra,
  };
}

const OK: AddrResult = { errno: 0, code: '', message: '' };

/** A fake addon: answers from `answers` by address, records every batch it was given. */
function fakeAddon(answers: Record<string, AddrResult> = {}) {
  const batches: AddrRequest[][] = [];
  return {
    batches,
    addrChangeBatch(reqs: AddrRequest[]): AddrResult[] {
      batches.push(reqs);
      return reqs.map((r) => answers[r.address] ?? OK);
    },
  };
}

describe('addrRequestOf', () => {
  it('maps a plain VIP onto the default device with its prefix length', () => {
    expect(addrRequestOf('add', vip('10.0.0.100'), 'eth0')).toEqual({
      op: 'add', ifname: 'eth0', family: 4, address: '10.0.0.100', prefixLen: 32,
    });
    expect(addrRequestOf('add', vip('2001:db8::1', { prefixLen: 64, dev: 'eth1' }), 'eth0')).toEqual({
      op: 'add', ifname: 'eth1', family: 6, address: '2001:db8::1', prefixLen: 64,
    });
  });

  it('carries brd, scope (as its number), label and noprefixroute on add', () => {
    const v = vip('192.168.5.1', {
      prefixLen: 24, dev: 'eth1', brd: '192.168.5.255', scope: 'link', label: 'eth1:vip', noPrefixRoute: true,
    });
    expect(addrRequestOf('add', v, 'eth0')).toEqual({
      op: 'add', ifname: 'eth1', family: 4, address: '192.168.5.1', prefixLen: 24,
      brd: '192.168.5.255', scope: 253, label: 'eth1:vip', noPrefixRoute: true,
    });
    expect(addrRequestOf('add', vip('10.0.0.1', { prefixLen: 24, brd: '+' }), 'eth0').brd).toBe('+');
  });

  it('numbers every scope name as ip does, and accepts a numeric scope', () => {
    expect(SCOPE_NUMBERS).toEqual({ global: 0, site: 200, link: 253, host: 254, nowhere: 255 });
    for (const [name, n] of Object.entries(SCOPE_NUMBERS)) {
      expect(addrRequestOf('add', vip('10.0.0.1', { scope: name as VirtualIp['scope'] }), 'eth0').scope).toBe(n);
    }
    expect(addrRequestOf('add', vip('10.0.0.1', { scope: '42' as VirtualIp['scope'] }), 'eth0').scope).toBe(42);
    expect(() => addrRequestOf('add', vip('10.0.0.1', { scope: '300' as VirtualIp['scope'] }), 'eth0')).toThrow(/scope "300" is not one of/);
    expect(() => addrRequestOf('add', vip('10.0.0.1', { scope: 'galaxy' as VirtualIp['scope'] }), 'eth0')).toThrow(/scope "galaxy"/);
  });

  it('refuses a label that does not start with the device name (the kernel names aliases after it)', () => {
    expect(() => addrRequestOf('add', vip('10.0.0.1', { label: 'vip1' }), 'eth0')).toThrow(
      "VIP 10.0.0.1: label 'vip1' must start with the interface name 'eth0' (e.g. eth0:1)",
    );
    expect(() => addrRequestOf('add', vip('10.0.0.1', { label: 'eth1:x', dev: 'eth1' }), 'eth0')).not.toThrow();
    expect(() => addrRequestOf('add', vip('10.0.0.1', { label: 'eth0:a-very-long' }), 'eth0')).toThrow(/longer than 15/);
  });

  it('puts the prefix length on the peer as `ip addr add A peer P/len` does', () => {
    expect(addrRequestOf('add', vip('10.1.1.1', { peer: '10.1.1.2' }), 'eth0')).toMatchObject({ peer: '10.1.1.2', prefixLen: 32 });
    expect(addrRequestOf('add', vip('10.1.1.1', { peer: '10.1.2.0/24' }), 'eth0')).toMatchObject({ peer: '10.1.2.0', prefixLen: 24 });
    expect(addrRequestOf('del', vip('10.1.1.1', { peer: '10.1.2.0/24' }), 'eth0')).toMatchObject({ peer: '10.1.2.0', prefixLen: 24 });
    expect(() => addrRequestOf('add', vip('10.1.1.1', { peer: '10.1.2.0/x' }), 'eth0')).toThrow(/invalid peer prefix length/);
  });

  it('sets nodad for IPv6 only, like the ip line', () => {
    expect(addrRequestOf('add', vip('2001:db8::1', { noDad: true }), 'eth0').noDad).toBe(true);
    expect(addrRequestOf('add', vip('10.0.0.1', { noDad: true }), 'eth0').noDad).toBeUndefined();
  });

  it('deletes by address, prefix and device only', () => {
    const v = vip('192.168.5.1', { prefixLen: 24, brd: '+', scope: 'link', label: 'eth0:x', noPrefixRoute: true });
    expect(addrRequestOf('del', v, 'eth0')).toEqual({ op: 'del', ifname: 'eth0', family: 4, address: '192.168.5.1', prefixLen: 24 });
  });

  it('refuses the same unsafe tokens as buildIpBatch', () => {
    expect(() => addrRequestOf('add', vip('10.0.0.1'), '')).toThrow(/invalid device/);
    expect(() => addrRequestOf('add', vip('10.0.0.1', { label: 'eth0:a b' }), 'eth0')).toThrow(/invalid label/);
    expect(() => buildIpBatch('add', [vip('10.0.0.1', { label: 'eth0:a b' })], 'eth0')).toThrow(/invalid label/);
  });
});

function memoryLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        cb();
      },
    }),
  });
  return { log, lines };
}

describe('applyVipsNetlink', () => {
  it('sends every VIP in ONE batch, in order', () => {
    const addon = fakeAddon();
    const r = applyVipsNetlink(addon, 'add', [vip('10.0.0.1'), vip('10.0.0.2', { dev: 'eth1' }), vip('10.0.0.3')], 'eth0');
    expect(r).toEqual({ lines: 3, failures: [] });
    expect(addon.batches).toHaveLength(1);
    expect(addon.batches[0]!.map((q) => `${q.address}@${q.ifname}`)).toEqual(['10.0.0.1@eth0', '10.0.0.2@eth1', '10.0.0.3@eth0']);
  });

  it('takes EEXIST on add and EADDRNOTAVAIL on del as "already so", not the other way round', () => {
    const exists = { errno: 17, code: 'EEXIST', message: 'ipv4: Address already assigned' };
    const gone = { errno: 99, code: 'EADDRNOTAVAIL', message: 'Cannot assign requested address' };
    const addon = fakeAddon({ '10.0.0.1': exists, '10.0.0.2': gone });
    expect(applyVipsNetlink(addon, 'add', [vip('10.0.0.1')], 'eth0').failures).toEqual([]);
    expect(applyVipsNetlink(addon, 'del', [vip('10.0.0.2')], 'eth0').failures).toEqual([]);
    expect(applyVipsNetlink(addon, 'del', [vip('10.0.0.1')], 'eth0').failures).toHaveLength(1);
    expect(applyVipsNetlink(addon, 'add', [vip('10.0.0.2')], 'eth0').failures).toHaveLength(1);
  });

  it('words failures for the operator, with the equivalent ip command', () => {
    const addon = fakeAddon({
      '10.0.0.1': { errno: 19, code: 'ENODEV', message: 'No such device' },
      '10.0.0.2': { errno: 1, code: 'EPERM', message: 'Operation not permitted' },
      '10.0.0.3': { errno: 22, code: 'EINVAL', message: 'ipv4: Invalid prefix length' },
    });
    const r = applyVipsNetlink(
      addon, 'add',
      [vip('10.0.0.1', { dev: 'hkl-nope0' }), vip('10.0.0.2', { scope: 'link' }), vip('10.0.0.3', { prefixLen: 24, brd: '+' }), vip('10.0.0.4')],
      'eth0',
    );
    expect(r.lines).toBe(4);
    expect(r.failures).toEqual([
      { vip: '10.0.0.1/32', dev: 'hkl-nope0', command: 'ip address add 10.0.0.1/32 dev hkl-nope0', error: 'Cannot find device "hkl-nope0"' },
      {
        vip: '10.0.0.2/32', dev: 'eth0', command: 'ip address add 10.0.0.2/32 dev eth0 scope link',
        error: 'Operation not permitted (EPERM): changing addresses needs root or CAP_NET_ADMIN',
      },
      { vip: '10.0.0.3/24', dev: 'eth0', command: 'ip address add 10.0.0.3/24 dev eth0 brd +', error: 'ipv4: Invalid prefix length (EINVAL)' },
    ]);
  });

  it('keeps a VIP that fails validation out of the batch, and still sends the others', () => {
    const addon = fakeAddon();
    const r = applyVipsNetlink(addon, 'add', [vip('10.0.0.1', { label: 'lo:1' }), vip('10.0.0.2'), vip('10.0.0.3', { label: 'eth0:a b' })], 'eth0');
    expect(r.lines).toBe(1);
    expect(addon.batches[0]!.map((q) => q.address)).toEqual(['10.0.0.2']);
    expect(r.failures).toEqual([
      {
        vip: '10.0.0.1/32', dev: 'eth0', command: 'ip address add 10.0.0.1/32 dev eth0 label lo:1',
        error: "VIP 10.0.0.1: label 'lo:1' must start with the interface name 'eth0' (e.g. eth0:1)",
      },
      { vip: '10.0.0.3/32', dev: 'eth0', command: '', error: 'VIP 10.0.0.3: invalid label "eth0:a b"' },
    ]);
  });

  it('does not call the addon for nothing, and never throws when the addon does', () => {
    const addon = fakeAddon();
    expect(applyVipsNetlink(addon, 'add', [], 'eth0')).toEqual({ lines: 0, failures: [] });
    expect(addon.batches).toEqual([]);
    const broken = { addrChangeBatch: (): AddrResult[] => { throw new TypeError('boom'); } };
    const r = applyVipsNetlink(broken, 'del', [vip('10.0.0.1'), vip('10.0.0.2')], 'eth0');
    expect(r.failures.map((f) => [f.vip, f.error])).toEqual([['10.0.0.1/32', 'boom (EUNKNOWN)'], ['10.0.0.2/32', 'boom (EUNKNOWN)']]);
  });
});

describe('vipBackend', () => {
  it('is netlink by default (the addon is built), ip for another namespace or on request', () => {
    expect(vipBackend()).toBe('netlink');
    expect(vipBackend({ netns: 'hkl-x' })).toBe('ip');
    expect(vipBackend({ useIp: true })).toBe('ip');
  });
});

describe('applyVips without the addon', () => {
  afterEach(() => {
    vi.doUnmock('../../src/net/native.js');
    vi.resetModules();
  });

  it('falls back to ip -batch, says why once, and reports failures in the same shape', async () => {
    vi.resetModules();
    vi.doMock('../../src/net/native.js', () => ({
      tryNative: () => null,
      nativeLoadError: () => new Error('the addon has not been built'),
    }));
    const { applyVips, vipBackend: backend } = await import('../../src/net/vip.js');
    expect(backend()).toBe('ip');
    const { log, lines } = memoryLogger();
    // A device that does not exist: ip fails before touching anything.
    const bad = [vip('10.234.1.200', { dev: 'hkl-missing0' })];
    const r1 = await applyVips('add', bad, 'eth0', log);
    const r2 = await applyVips('add', bad, 'eth0', log);
    for (const r of [r1, r2]) {
      expect(r).toEqual({
        ok: false, lines: 1,
        failures: [{ vip: '10.234.1.200/32', dev: 'hkl-missing0', command: 'ip address add 10.234.1.200/32 dev hkl-missing0', error: 'Cannot find device "hkl-missing0"' }],
      });
    }
    const warns = lines.filter((l) => l.level === 40);
    expect(warns.map((l) => l.msg)).toEqual([
      'VIPs are changed with ip -batch (a process per change) because the native addon is unavailable: the addon has not been built',
    ]);
    expect(lines.filter((l) => l.level === 50)).toHaveLength(2);
  });
});
