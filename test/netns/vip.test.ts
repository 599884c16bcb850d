// applyVips against the real kernel in a lab namespace: attributes land as configured, repeats
// are idempotent, and bad entries are logged failures that do not stop the other VIPs.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../helpers/netns.js';
import { createLogger, type Logger } from '../../src/daemon/log.js';
import { applyVips, listAddresses } from '../../src/net/vip.js';
import type { VirtualIp } from '../../src/config/model.js';

const SUBNET = '10.232.1';

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
}

async function addrInfo(host: LabHost): Promise<AddrInfo[]> {
  const r = await host.exec(['ip', '-j', 'addr', 'show', 'dev', 'eth0']);
  return (JSON.parse(r.stdout) as { addr_info: AddrInfo[] }[])[0]!.addr_info;
}

const VIPS: VirtualIp[] = [
  vip(`${SUBNET}.100`),
  vip(`${SUBNET}.101`, { label: 'eth0:vip1' }),
  vip('10.232.3.1', { prefixLen: 24, brd: '10.232.3.255', scope: 'site', label: 'eth0:net3', noPrefixRoute: true }),
  vip(`${SUBNET}.102`, { scope: 'link' }),
  vip('10.232.4.1', { peer: '10.232.4.2' }),
  vip('fd00:232::1', { noDad: true }),
];

describe('applyVips (netns)', () => {
  let lab: Lab;
  let host: LabHost;

  beforeAll(async () => {
    lab = await createLab('hknv', ['dir'], SUBNET);
    host = lab.hosts.dir!;
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('adds VIPs with their prefix, label, brd, scope, peer and flags in one ip run', async () => {
    const { log, lines } = memoryLogger();
    const r = await applyVips('add', VIPS, 'eth0', log, { netns: host.ns });
    expect(r).toEqual({ ok: true, lines: 6, failures: [] });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    const info = await addrInfo(host);
    const find = (a: string) => info.find((i) => i.local === a);
    expect(find(`${SUBNET}.100`)).toMatchObject({ prefixlen: 32, scope: 'global', label: 'eth0' });
    expect(find(`${SUBNET}.101`)).toMatchObject({ prefixlen: 32, label: 'eth0:vip1' });
    expect(find('10.232.3.1')).toMatchObject({
      prefixlen: 24, broadcast: '10.232.3.255', scope: 'site', label: 'eth0:net3', noprefixroute: true,
    });
    expect(find(`${SUBNET}.102`)).toMatchObject({ scope: 'link' });
    expect(find('10.232.4.1')).toMatchObject({ address: '10.232.4.2', prefixlen: 32 });
    expect(find('fd00:232::1')).toMatchObject({ family: 'inet6', prefixlen: 128, nodad: true });
    // noprefixroute: no 10.232.3.0/24 route was created for the /24 VIP.
    const routes = await host.exec(['ip', 'route', 'show', '10.232.3.0/24']);
    expect(routes.stdout.trim()).toBe('');

    expect(await listAddresses('eth0', { netns: host.ns })).toEqual(expect.arrayContaining([
      `${SUBNET}.10/24`, `${SUBNET}.100/32`, `${SUBNET}.101/32`, '10.232.3.1/24', `${SUBNET}.102/32`,
      '10.232.4.1/32', 'fd00:232::1/128',
    ]));
  });

  it('re-adding present VIPs is not an error', async () => {
    const { log, lines } = memoryLogger();
    expect(await applyVips('add', VIPS, 'eth0', log, { netns: host.ns })).toEqual({ ok: true, lines: 6, failures: [] });
    expect(lines).toEqual([]);
  });

  it('deletes them all, and deleting missing ones is not an error', async () => {
    const { log, lines } = memoryLogger();
    expect(await applyVips('del', VIPS, 'eth0', log, { netns: host.ns })).toEqual({ ok: true, lines: 6, failures: [] });
    expect(await listAddresses('eth0', { netns: host.ns })).toEqual([`${SUBNET}.10/24`, expect.stringMatching(/^fe80::/)]);
    expect(await applyVips('del', VIPS, 'eth0', log, { netns: host.ns })).toEqual({ ok: true, lines: 6, failures: [] });
    expect(lines).toEqual([]);
  });

  it('a bad device is a logged failure with the command line; the other VIPs still apply', async () => {
    const { log, lines } = memoryLogger();
    const vips = [vip(`${SUBNET}.110`), vip(`${SUBNET}.111`, { dev: 'hkn-nope0' }), vip(`${SUBNET}.112`)];
    const r = await applyVips('add', vips, 'eth0', log, { netns: host.ns });
    expect(r.ok).toBe(false);
    expect(r.failures).toEqual([{
      vip: `${SUBNET}.111/32`, dev: 'hkn-nope0',
      command: `ip -n ${host.ns} address add ${SUBNET}.111/32 dev hkn-nope0`,
      error: 'Cannot find device "hkn-nope0"',
    }]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toBe(
      `Cannot add VIP ${SUBNET}.111/32 on hkn-nope0: Cannot find device "hkn-nope0" (command: ip -n ${host.ns} address add ${SUBNET}.111/32 dev hkn-nope0)`,
    );
    const have = await listAddresses('eth0', { netns: host.ns });
    expect(have).toEqual(expect.arrayContaining([`${SUBNET}.110/32`, `${SUBNET}.112/32`]));
    await applyVips('del', vips, 'eth0', log, { netns: host.ns });
  });

  it('a line ip cannot parse (which aborts a batch even with -force) does not stop the others', async () => {
    const { log, lines } = memoryLogger();
    const vips = [vip(`${SUBNET}.120`), vip(`${SUBNET}.121`, { brd: 'not-an-address' }), vip(`${SUBNET}.122`)];
    const r = await applyVips('add', vips, 'eth0', log, { netns: host.ns });
    expect(r.failures.map((f) => f.vip)).toEqual([`${SUBNET}.121/32`]);
    expect(r.failures[0]!.error).toMatch(/not-an-address/);
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
    const have = await listAddresses('eth0', { netns: host.ns });
    expect(have).toEqual(expect.arrayContaining([`${SUBNET}.120/32`, `${SUBNET}.122/32`]));
    expect(have).not.toContain(`${SUBNET}.121/32`);
    expect((await applyVips('del', vips, 'eth0', log, { netns: host.ns })).ok).toBe(true);
  });

  it('never rejects, even when the namespace does not exist', async () => {
    const { log, lines } = memoryLogger();
    const r = await applyVips('add', [vip(`${SUBNET}.130`)], 'eth0', log, { netns: 'hkn-no-such-ns' });
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
  });

  it('listAddresses throws a clear error for a missing device', async () => {
    await expect(listAddresses('hkn-nope0', { netns: host.ns })).rejects.toThrow(/cannot list addresses of hkn-nope0: Device "hkn-nope0" does not exist/);
  });

  it('measures one batched add/del of 20 VIPs', async () => {
    const { log } = memoryLogger();
    const many = Array.from({ length: 20 }, (_, i) => vip(`10.232.5.${i + 1}`));
    const t0 = performance.now();
    expect((await applyVips('add', many, 'eth0', log, { netns: host.ns })).ok).toBe(true);
    const t1 = performance.now();
    expect((await applyVips('del', many, 'eth0', log, { netns: host.ns })).ok).toBe(true);
    const t2 = performance.now();
    expect((await listAddresses('eth0', { netns: host.ns })).filter((a) => a.startsWith('10.232.5.'))).toEqual([]);
    console.log(`[hkn measure] applyVips 20 VIPs: add ${(t1 - t0).toFixed(1)} ms, del ${(t2 - t1).toFixed(1)} ms`);
  });
});
