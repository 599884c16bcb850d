// applyVips against the real kernel in lab namespaces, on both paths:
//   - netlink (the daemon's default): a fixture process runs applyVips inside host `nl`, whose
//     rtnetlink socket therefore belongs to that namespace;
//   - ip -batch (`opts.netns`, and the fallback without the addon): from here with `ip -n`, on host `ipd`.
// Attributes land as configured (read back with `ip -j addr`), both paths leave the same kernel
// state, repeats are idempotent, and bad entries are logged failures that do not stop the others.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../helpers/netns.js';
import { createLogger, type Logger } from '../../src/daemon/log.js';
import { applyVips, listAddresses, type VipResult } from '../../src/net/vip.js';
import type { VirtualIp } from '../../src/config/model.js';
import { buildDist, netRun } from './fixtures/net-helpers.js';

const SUBNET = '10.234.1';

function vip(address: string, extra: Partial<VirtualIp> = {}): VirtualIp {
  const v6 = address.includes(':');
  return {
    address, family: v6 ? 6 : 4, prefixLen: v6 ? 128 : 32, brd: null, dev: null, scope: null,
    label: null, peer: null, noDad: false, noPrefixRoute: false, home: false, noTrack: false,
    loc: { file: 'keepalived.conf', line: 1 }, ...extra,
  };
}

function memoryLogger(): { log: Logger; lines: { level: number; msg: string; command?: string }[] } {
  const lines: { level: number; msg: string; command?: string }[] = [];
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

interface AddrInfo {
  family: string; local: string; prefixlen: number; scope: string;
  label?: string; broadcast?: string; address?: string; nodad?: boolean; noprefixroute?: boolean;
  valid_life_time?: number; preferred_life_time?: number;
}

async function addrInfo(host: LabHost): Promise<AddrInfo[]> {
  const r = await host.exec(['ip', '-j', 'addr', 'show', 'dev', 'eth0']);
  return (JSON.parse(r.stdout) as { addr_info: AddrInfo[] }[])[0]!.addr_info;
}

/** The VIPs' part of the address table: without the host's own address and its link-local. */
async function vipTable(host: LabHost): Promise<AddrInfo[]> {
  return (await addrInfo(host))
    .filter((a) => a.local !== host.ip && !a.local.startsWith('fe80:'))
    .sort((a, b) => a.local.localeCompare(b.local));
}

async function routes(host: LabHost, prefix: string): Promise<string> {
  return (await host.exec(['ip', 'route', 'show', prefix])).stdout.trim();
}

const VIPS: VirtualIp[] = [
  vip(`${SUBNET}.100`),
  vip(`${SUBNET}.101`, { label: 'eth0:vip1' }),
  vip('10.234.3.1', { prefixLen: 24, brd: '10.234.3.255', scope: 'site', label: 'eth0:net3', noPrefixRoute: true }),
  vip(`${SUBNET}.102`, { scope: 'link' }),
  vip('10.234.4.1', { peer: '10.234.4.2' }),
  vip('fd00:234::1', { noDad: true }),
  vip('10.234.6.1', { prefixLen: 24, brd: '+', scope: 'host' }),
  vip('10.234.7.1', { prefixLen: 25, brd: '-' }),
  vip('fd00:234::2', { prefixLen: 64, noPrefixRoute: true }),
];

/** What every path must leave in the kernel for VIPS. */
async function expectVipsApplied(host: LabHost): Promise<void> {
  const info = await addrInfo(host);
  const find = (a: string): AddrInfo | undefined => info.find((i) => i.local === a);
  expect(find(`${SUBNET}.100`)).toMatchObject({ prefixlen: 32, scope: 'global', label: 'eth0' });
  expect(find(`${SUBNET}.101`)).toMatchObject({ prefixlen: 32, label: 'eth0:vip1' });
  expect(find('10.234.3.1')).toMatchObject({
    prefixlen: 24, broadcast: '10.234.3.255', scope: 'site', label: 'eth0:net3', noprefixroute: true,
  });
  expect(find(`${SUBNET}.102`)).toMatchObject({ scope: 'link' });
  expect(find('10.234.4.1')).toMatchObject({ address: '10.234.4.2', prefixlen: 32 });
  expect(find('fd00:234::1')).toMatchObject({ family: 'inet6', prefixlen: 128, nodad: true });
  expect(find('10.234.6.1')).toMatchObject({ prefixlen: 24, broadcast: '10.234.6.255', scope: 'host' });
  expect(find('10.234.7.1')).toMatchObject({ prefixlen: 25, broadcast: '10.234.7.0' });
  expect(find('fd00:234::2')).toMatchObject({ family: 'inet6', prefixlen: 64, noprefixroute: true });
  // noprefixroute: no route for the /24 and /64 VIPs; a prefix route for the /25 one.
  expect(await routes(host, '10.234.3.0/24')).toBe('');
  expect((await host.exec(['ip', '-6', 'route', 'show', 'fd00:234::/64'])).stdout.trim()).toBe('');
  expect(await routes(host, '10.234.7.0/25')).toMatch(/^10\.234\.7\.0\/25 dev eth0 proto kernel scope link src 10\.234\.7\.1/);
  expect(await listAddresses('eth0', { netns: host.ns })).toEqual(expect.arrayContaining([
    `${SUBNET}.100/32`, `${SUBNET}.101/32`, '10.234.3.1/24', `${SUBNET}.102/32`, '10.234.4.1/32', 'fd00:234::1/128',
    '10.234.6.1/24', '10.234.7.1/25', 'fd00:234::2/64',
  ]));
}

interface NlRun {
  backend: 'netlink' | 'ip';
  result: VipResult;
  logs: { level: number; msg: string }[];
}

/** applyVips run by a fixture process inside the host's namespace (the netlink path). */
function nlApply(host: LabHost, op: 'add' | 'del', vips: VirtualIp[], dev = 'eth0'): Promise<NlRun> {
  return netRun<NlRun>(host, ['vips', op, dev, JSON.stringify(vips)]);
}

describe('applyVips (netns)', () => {
  let lab: Lab;
  let ipd: LabHost;
  let nl: LabHost;

  beforeAll(async () => {
    await buildDist();
    lab = await createLab('hklv', ['ipd', 'nl'], SUBNET);
    ipd = lab.hosts.ipd!;
    nl = lab.hosts.nl!;
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  describe('over rtnetlink (in-process, the default)', () => {
    it('adds VIPs with their prefix, label, brd (given, + and -), scope, peer and flags', async () => {
      const r = await nlApply(nl, 'add', VIPS);
      expect(r.backend).toBe('netlink');
      expect(r.result).toEqual({ ok: true, lines: VIPS.length, failures: [] });
      expect(r.logs).toEqual([]);
      await expectVipsApplied(nl);
    });

    it('leaves exactly the kernel state `ip -batch` leaves for the same VIPs', async () => {
      const { log } = memoryLogger();
      expect((await applyVips('add', VIPS, 'eth0', log, { netns: ipd.ns })).ok).toBe(true);
      const strip = (t: AddrInfo[]): AddrInfo[] => t.map(({ valid_life_time: _v, preferred_life_time: _p, ...a }) => a);
      const viaIp = strip(await vipTable(ipd));
      expect(viaIp).toHaveLength(VIPS.length);
      expect(strip(await vipTable(nl))).toEqual(viaIp);
      expect((await applyVips('del', VIPS, 'eth0', log, { netns: ipd.ns })).ok).toBe(true);
    });

    it('re-adding present VIPs is not an error', async () => {
      expect(await nlApply(nl, 'add', VIPS)).toEqual({ backend: 'netlink', result: { ok: true, lines: VIPS.length, failures: [] }, logs: [] });
    });

    it('deletes them all, and deleting missing ones is not an error', async () => {
      expect(await nlApply(nl, 'del', VIPS)).toEqual({ backend: 'netlink', result: { ok: true, lines: VIPS.length, failures: [] }, logs: [] });
      expect(await listAddresses('eth0', { netns: nl.ns })).toEqual([`${nl.ip}/24`, expect.stringMatching(/^fe80::/)]);
      expect(await routes(nl, '10.234.7.0/25')).toBe('');
      expect(await nlApply(nl, 'del', VIPS)).toEqual({ backend: 'netlink', result: { ok: true, lines: VIPS.length, failures: [] }, logs: [] });
    });

    it('a bad device is a failure entry with the equivalent ip command; the other VIPs still apply', async () => {
      const vips = [vip(`${SUBNET}.110`), vip(`${SUBNET}.111`, { dev: 'hkl-nope0' }), vip(`${SUBNET}.112`)];
      const r = await nlApply(nl, 'add', vips);
      expect(r.result).toEqual({
        ok: false, lines: 3,
        failures: [{
          vip: `${SUBNET}.111/32`, dev: 'hkl-nope0',
          command: `ip address add ${SUBNET}.111/32 dev hkl-nope0`, error: 'Cannot find device "hkl-nope0"',
        }],
      });
      expect(r.logs).toEqual([{
        level: 50,
        msg: `Cannot add VIP ${SUBNET}.111/32 on hkl-nope0: Cannot find device "hkl-nope0" (command: ip address add ${SUBNET}.111/32 dev hkl-nope0)`,
      }]);
      expect(await listAddresses('eth0', { netns: nl.ns })).toEqual(expect.arrayContaining([`${SUBNET}.110/32`, `${SUBNET}.112/32`]));
      // Deleting on a missing device is a failure too (ip says the same); the others go.
      const d = await nlApply(nl, 'del', vips);
      expect(d.result.failures.map((f) => f.error)).toEqual(['Cannot find device "hkl-nope0"']);
      expect(await listAddresses('eth0', { netns: nl.ns })).toEqual([`${nl.ip}/24`, expect.stringMatching(/^fe80::/)]);
    });

    it('a label not named after the device, or a brd that is no address, fails alone with a clear error', async () => {
      const vips = [
        vip(`${SUBNET}.120`, { label: 'eth0:ok' }), vip(`${SUBNET}.121`, { label: 'vip121' }),
        vip(`${SUBNET}.122`, { brd: 'not-an-address' }), vip(`${SUBNET}.123`),
      ];
      const r = await nlApply(nl, 'add', vips);
      expect(r.result.failures).toEqual([
        {
          vip: `${SUBNET}.121/32`, dev: 'eth0', command: `ip address add ${SUBNET}.121/32 dev eth0 label vip121`,
          error: `VIP ${SUBNET}.121: label 'vip121' must start with the interface name 'eth0' (e.g. eth0:1)`,
        },
        {
          vip: `${SUBNET}.122/32`, dev: 'eth0', command: `ip address add ${SUBNET}.122/32 dev eth0 brd not-an-address`,
          error: "brd 'not-an-address' is not an IPv4 address (nor + or -) (EINVAL)",
        },
      ]);
      expect(r.logs.filter((l) => l.level === 50)).toHaveLength(2);
      const info = await addrInfo(nl);
      expect(info.find((i) => i.local === `${SUBNET}.120`)).toMatchObject({ label: 'eth0:ok' });
      expect(info.find((i) => i.local === `${SUBNET}.123`)).toBeDefined();
      expect(info.map((i) => i.local)).not.toContain(`${SUBNET}.121`);
      expect(info.map((i) => i.local)).not.toContain(`${SUBNET}.122`);
      expect((await nlApply(nl, 'del', vips)).result.ok).toBe(true);
    });

    it('the addon answers 0, EEXIST, 0, EADDRNOTAVAIL for add, add, del, del', async () => {
      const a = ['eth0', 4, `${SUBNET}.130`, 32, { label: 'eth0:x', scope: 'link' }];
      const r = await netRun<{ rc?: number; throws?: string; message?: string }[]>(nl, ['addr', JSON.stringify([
        ['add', ...a], ['add', ...a], ['del', ...a.slice(0, 4)], ['del', ...a.slice(0, 4)],
        ['add', 'eth0', 6, 'fd00:234::130', 64, { noDad: true, noPrefixRoute: true }],
        ['del', 'eth0', 6, 'fd00:234::130', 64], ['del', 'eth0', 6, 'fd00:234::130', 64],
        ['add', 'eth0', 4, '10.234.1.131', 32, { label: 'lo:1' }],
      ])]);
      expect(r).toEqual([
        { rc: 0 }, { rc: 17 }, { rc: 0 }, { rc: 99 }, { rc: 0 }, { rc: 0 }, { rc: 99 },
        { throws: 'TypeError', message: "addrChange: label 'lo:1' must start with the interface name 'eth0' (e.g. eth0:1)" },
      ]);
    });
  });

  describe('with ip -batch (opts.netns; also the fallback without the addon)', () => {
    it('adds VIPs with their prefix, label, brd, scope, peer and flags in one ip run', async () => {
      const { log, lines } = memoryLogger();
      const r = await applyVips('add', VIPS, 'eth0', log, { netns: ipd.ns });
      expect(r).toEqual({ ok: true, lines: VIPS.length, failures: [] });
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
      await expectVipsApplied(ipd);
    });

    it('re-adding present VIPs is not an error', async () => {
      const { log, lines } = memoryLogger();
      expect(await applyVips('add', VIPS, 'eth0', log, { netns: ipd.ns })).toEqual({ ok: true, lines: VIPS.length, failures: [] });
      expect(lines).toEqual([]);
    });

    it('deletes them all, and deleting missing ones is not an error', async () => {
      const { log, lines } = memoryLogger();
      expect(await applyVips('del', VIPS, 'eth0', log, { netns: ipd.ns })).toEqual({ ok: true, lines: VIPS.length, failures: [] });
      expect(await listAddresses('eth0', { netns: ipd.ns })).toEqual([`${ipd.ip}/24`, expect.stringMatching(/^fe80::/)]);
      expect(await applyVips('del', VIPS, 'eth0', log, { netns: ipd.ns })).toEqual({ ok: true, lines: VIPS.length, failures: [] });
      expect(lines).toEqual([]);
    });

    it('a bad device is a logged failure with the command line; the other VIPs still apply', async () => {
      const { log, lines } = memoryLogger();
      const vips = [vip(`${SUBNET}.110`), vip(`${SUBNET}.111`, { dev: 'hkl-nope0' }), vip(`${SUBNET}.112`)];
      const r = await applyVips('add', vips, 'eth0', log, { netns: ipd.ns });
      expect(r.ok).toBe(false);
      expect(r.failures).toEqual([{
        vip: `${SUBNET}.111/32`, dev: 'hkl-nope0',
        command: `ip -n ${ipd.ns} address add ${SUBNET}.111/32 dev hkl-nope0`,
        error: 'Cannot find device "hkl-nope0"',
      }]);
      const errors = lines.filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toBe(
        `Cannot add VIP ${SUBNET}.111/32 on hkl-nope0: Cannot find device "hkl-nope0" (command: ip -n ${ipd.ns} address add ${SUBNET}.111/32 dev hkl-nope0)`,
      );
      const have = await listAddresses('eth0', { netns: ipd.ns });
      expect(have).toEqual(expect.arrayContaining([`${SUBNET}.110/32`, `${SUBNET}.112/32`]));
      await applyVips('del', vips, 'eth0', log, { netns: ipd.ns });
    });

    it('a line ip cannot parse (which aborts a batch even with -force) does not stop the others', async () => {
      const { log, lines } = memoryLogger();
      const vips = [vip(`${SUBNET}.120`), vip(`${SUBNET}.121`, { brd: 'not-an-address' }), vip(`${SUBNET}.122`)];
      const r = await applyVips('add', vips, 'eth0', log, { netns: ipd.ns });
      expect(r.failures.map((f) => f.vip)).toEqual([`${SUBNET}.121/32`]);
      expect(r.failures[0]!.error).toMatch(/not-an-address/);
      expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
      const have = await listAddresses('eth0', { netns: ipd.ns });
      expect(have).toEqual(expect.arrayContaining([`${SUBNET}.120/32`, `${SUBNET}.122/32`]));
      expect(have).not.toContain(`${SUBNET}.121/32`);
      expect((await applyVips('del', vips, 'eth0', log, { netns: ipd.ns })).ok).toBe(true);
    });

    it('never rejects, even when the namespace does not exist', async () => {
      const { log, lines } = memoryLogger();
      const r = await applyVips('add', [vip(`${SUBNET}.130`)], 'eth0', log, { netns: 'hkl-no-such-ns' });
      expect(r.ok).toBe(false);
      expect(r.failures).toHaveLength(1);
      expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
    });

    it('listAddresses throws a clear error for a missing device', async () => {
      await expect(listAddresses('hkl-nope0', { netns: ipd.ns })).rejects.toThrow(/cannot list addresses of hkl-nope0: Device "hkl-nope0" does not exist/);
    });
  });

  it('measures applyVips add/del of 1 and 20 VIPs on both paths (medians of 30)', async () => {
    type Bench = { backend: string; n: number; rounds: number; addMedianMs: number; delMedianMs: number };
    const out: string[] = [];
    for (const n of ['1', '20']) {
      for (const via of ['ip', 'netlink']) {
        const r = await netRun<Bench>(nl, ['vipbench', 'eth0', n, '30', ...(via === 'ip' ? ['ip'] : [])]);
        expect(r).toMatchObject({ backend: via, n: Number(n), rounds: 30 });
        out.push(`${n} VIP(s) via ${via}: add ${r.addMedianMs.toFixed(3)} ms, del ${r.delMedianMs.toFixed(3)} ms`);
      }
    }
    expect((await listAddresses('eth0', { netns: nl.ns })).filter((a) => a.startsWith('10.234.9.'))).toEqual([]);
    console.log(`[hkl measure] applyVips ${out.join('; ')}`);
  });
});
