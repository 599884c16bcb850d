// KernelEventFeed against the real kernel, in a namespace created here: a veth pair goes down and
// up, loses its carrier, gets and loses addresses, is deleted and recreated; and a feed with the
// smallest receive buffer the kernel allows, kept busy during a burst of 200 address adds, must
// overrun, re-dump, and end up with exactly what `ip -j addr` shows.
//
// The feed runs in a fixture process (kernel-events-probe.mjs) started with `ip netns exec`, so
// its sockets belong to the namespace. The probe needs compiled JavaScript; the repository's dist/
// belongs to other work, so beforeAll compiles src/net/kernel-events.ts (tsc follows its imports:
// rtnl-codec.ts, native.ts) into a temporary directory, with a package.json making the output ES
// modules and a `native` symlink to the checkout's native/ so native.ts's own path resolution
// (../../native/build/Release/hakeep_native.node from dist/net/) finds the addon unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNetnsSupport, sh } from '../helpers/netns.js';
import type { AddrState, KernelEvent, LinkState } from '../../src/net/kernel-events.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('./fixtures/kernel-events-probe.mjs', import.meta.url));
const NS = `hkke-${process.pid}`;
const IFF_UP = 0x1, IFF_RUNNING = 0x40, IFF_LOWER_UP = 0x10000;

type ProbeLine =
  | { type: 'ready'; pid: number; links: LinkState[]; addrs: AddrState[] }
  | { type: 'event'; ev: KernelEvent }
  | { type: 'error'; source: string; code: string | null; message: string }
  | { type: 'state'; links: LinkState[]; addrs: AddrState[] }
  | { type: 'blocking'; ms: number }
  | { type: 'unblocked' };

class Probe {
  readonly lines: ProbeLine[] = [];
  private buf = '';
  private err = '';
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as ProbeLine);
        } catch {
          this.err += `(not JSON) ${line}\n`;
        }
      }
    });
    proc.stderr!.on('data', (d: string) => (this.err += d));
  }

  send(cmd: string): void {
    this.proc.stdin!.write(cmd + '\n');
  }

  events(from = 0): KernelEvent[] {
    return this.lines.slice(from).flatMap((l) => (l.type === 'event' ? [l.ev] : []));
  }

  /** Wait (bounded) until a line from index `from` on satisfies `pred`; returns it. */
  async waitLine<T extends ProbeLine>(what: string, from: number, pred: (l: ProbeLine) => l is T, timeoutMs?: number): Promise<T>;
  async waitLine(what: string, from: number, pred: (l: ProbeLine) => boolean, timeoutMs?: number): Promise<ProbeLine>;
  async waitLine(what: string, from: number, pred: (l: ProbeLine) => boolean, timeoutMs = 10_000): Promise<ProbeLine> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`probe exited (${this.proc.exitCode ?? this.proc.signalCode}) waiting for ${what}: ${this.err}`);
      }
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; probe said:\n${this.lines.slice(from).map((l) => JSON.stringify(l)).join('\n')}\n${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Wait for an event from index `from` on. */
  async waitEvent(what: string, from: number, pred: (ev: KernelEvent) => boolean, timeoutMs = 10_000): Promise<KernelEvent> {
    const l = await this.waitLine(what, from, (x) => x.type === 'event' && pred(x.ev), timeoutMs);
    return (l as { ev: KernelEvent }).ev;
  }

  async state(): Promise<{ links: LinkState[]; addrs: AddrState[] }> {
    const from = this.lines.length;
    this.send('state');
    return this.waitLine('state', from, (l): l is Extract<ProbeLine, { type: 'state' }> => l.type === 'state');
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

let dist = '';
let tmp = '';
const probes: Probe[] = [];

async function must(argv: string[]): Promise<string> {
  const r = await sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}
const ipn = (...args: string[]): Promise<string> => must(['ip', '-n', NS, ...args]);

async function startProbe(rcvbuf?: number): Promise<Probe> {
  const argv = ['netns', 'exec', NS, process.execPath, PROBE, dist, ...(rcvbuf ? [String(rcvbuf)] : [])];
  const p = new Probe(spawn('ip', argv, { stdio: ['pipe', 'pipe', 'pipe'] }));
  probes.push(p);
  await p.waitLine('the probe to open its feed', 0, (l) => l.type === 'ready', 15_000);
  return p;
}

interface IpAddrJson { ifindex: number; ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }

/** The namespace's addresses as `ip -j addr` shows them, as sortable strings. */
async function kernelAddrs(): Promise<string[]> {
  const j = JSON.parse(await ipn('-j', 'addr')) as IpAddrJson[];
  return j.flatMap((l) => l.addr_info.map((a) => `${l.ifindex} ${l.ifname} ${a.family === 'inet' ? 4 : 6} ${a.local}/${a.prefixlen}`)).sort();
}
const feedAddrs = (addrs: AddrState[]): string[] => addrs.map((a) => `${a.ifindex} ${a.ifname} ${a.family} ${a.address}/${a.prefixLen}`).sort();

const isLink = (name: string, pred: (l: LinkState, prev: LinkState | null) => boolean) => (ev: KernelEvent): boolean =>
  ev.type === 'link' && ev.link.name === name && pred(ev.link, ev.prev);

beforeAll(async () => {
  await requireNetnsSupport();
  if (!existsSync(join(ROOT, 'native/build/Release/hakeep_native.node'))) {
    throw new Error('native addon not built: run npm install in the hakeep directory (needs python3 make g++)');
  }
  tmp = mkdtempSync(join(tmpdir(), 'hakeep-kev-'));
  dist = join(tmp, 'dist');
  const r = await sh(['npx', 'tsc', '--ignoreConfig', '--outDir', dist, '--rootDir', join(ROOT, 'src'), '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node',
    join(ROOT, 'src/net/kernel-events.ts')], 120_000);
  if (!existsSync(join(dist, 'net/kernel-events.js'))) throw new Error(`tsc did not compile src/net/kernel-events.ts: ${r.stdout}${r.stderr}`);
  writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'native'), join(tmp, 'native'));

  await sh(['ip', 'netns', 'del', NS]); // a leftover of an interrupted run
  await must(['ip', 'netns', 'add', NS]);
  await ipn('link', 'set', 'lo', 'up');
  await ipn('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
  await ipn('link', 'set', 'va', 'up');
  await ipn('link', 'set', 'vb', 'up');
}, 180_000);

afterAll(async () => {
  for (const p of probes) p.kill();
  await sh(['ip', 'netns', 'del', NS]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('KernelEventFeed in a namespace (real rtnetlink)', () => {
  let probe: Probe;

  it('starts from the dump: the namespace as ip shows it', async () => {
    probe = await startProbe();
    const ready = probe.lines[0] as Extract<ProbeLine, { type: 'ready' }>;
    expect(ready.links.map((l) => l.name).sort()).toEqual(['lo', 'va', 'vb']);
    const va = ready.links.find((l) => l.name === 'va')!;
    const j = (JSON.parse(await ipn('-j', 'link', 'show', 'va')) as { ifindex: number; address: string }[])[0]!;
    expect(va).toMatchObject({ ifindex: j.ifindex, mac: j.address });
    // IPv6 link-local addresses may still be on their way (carrier just came up): compare loopback's.
    expect(feedAddrs(ready.addrs.filter((a) => a.ifname === 'lo'))).toEqual((await kernelAddrs()).filter((a) => a.includes(' lo ')));
  });

  it('link down / up: up false, then true', async () => {
    // Right after setup the carrier may still be coming up (then as an event, else already in the dump).
    const t0 = Date.now();
    while (!(await probe.state()).links.find((l) => l.name === 'va')!.up) {
      if (Date.now() - t0 > 10_000) throw new Error('va never came up after setup');
      await new Promise((r) => setTimeout(r, 50));
    }
    let from = probe.lines.length;
    await ipn('link', 'set', 'va', 'down');
    const down = await probe.waitEvent('va down', from, isLink('va', (l, p) => !l.up && p !== null && p.up));
    expect(down.type === 'link' && (down.link.flags & IFF_UP)).toBe(0);
    from = probe.lines.length;
    await ipn('link', 'set', 'va', 'up');
    const up = await probe.waitEvent('va up', from, isLink('va', (l) => l.up));
    expect(up.type === 'link' && up.link.flags & (IFF_UP | IFF_RUNNING)).toBe(IFF_UP | IFF_RUNNING);
  });

  it('peer down: carrier off, so up false while IFF_UP stays set; peer up: up true', async () => {
    let from = probe.lines.length;
    await ipn('link', 'set', 'vb', 'down');
    const ev = await probe.waitEvent('va loses its carrier', from, isLink('va', (l) => !l.up));
    if (ev.type !== 'link') throw new Error('not a link event');
    expect(ev.link.flags & IFF_UP).toBe(IFF_UP);
    expect(ev.link.flags & (IFF_RUNNING | IFF_LOWER_UP)).toBe(0);
    expect(ev.prev!.flags & (IFF_RUNNING | IFF_LOWER_UP)).toBe(IFF_RUNNING | IFF_LOWER_UP);
    from = probe.lines.length;
    await ipn('link', 'set', 'vb', 'up');
    await probe.waitEvent('va carrier back', from, isLink('va', (l) => l.up));
  });

  it('ip addr add / del: addr_added and addr_deleted, IPv4 and IPv6', async () => {
    const va = (await probe.state()).links.find((l) => l.name === 'va')!;
    let from = probe.lines.length;
    await ipn('addr', 'add', '10.77.0.1/24', 'dev', 'va');
    await ipn('addr', 'add', 'fd00:77:0:0::1/64', 'dev', 'va', 'nodad');
    const a4 = await probe.waitEvent('IPv4 add', from, (e) => e.type === 'addr_added' && e.addr.address === '10.77.0.1');
    const a6 = await probe.waitEvent('IPv6 add', from, (e) => e.type === 'addr_added' && e.addr.address === 'fd00:77::1');
    expect(a4).toEqual({ type: 'addr_added', addr: { ifindex: va.ifindex, ifname: 'va', family: 4, address: '10.77.0.1', prefixLen: 24 } });
    expect(a6).toEqual({ type: 'addr_added', addr: { ifindex: va.ifindex, ifname: 'va', family: 6, address: 'fd00:77::1', prefixLen: 64 } });
    from = probe.lines.length;
    await ipn('addr', 'del', '10.77.0.1/24', 'dev', 'va');
    await ipn('addr', 'del', 'fd00:77::1/64', 'dev', 'va');
    await probe.waitEvent('IPv4 del', from, (e) => e.type === 'addr_deleted' && e.addr.address === '10.77.0.1' && e.addr.prefixLen === 24);
    await probe.waitEvent('IPv6 del', from, (e) => e.type === 'addr_deleted' && e.addr.address === 'fd00:77::1');
    const s = await probe.state();
    expect(s.addrs.some((a) => a.address === '10.77.0.1' || a.address === 'fd00:77::1')).toBe(false);
  });

  it('ip link del, then the same name again: link_deleted (after its addresses), then a link with a new ifindex', async () => {
    await ipn('addr', 'add', '10.77.0.2/24', 'dev', 'va');
    await probe.waitEvent('10.77.0.2 added', 0, (e) => e.type === 'addr_added' && e.addr.address === '10.77.0.2');
    const old = (await probe.state()).links.find((l) => l.name === 'va')!;
    let from = probe.lines.length;
    await ipn('link', 'del', 'va');
    await probe.waitEvent('va deleted', from, (e) => e.type === 'link_deleted' && e.link.name === 'va');
    await probe.waitEvent('vb deleted with its peer', from, (e) => e.type === 'link_deleted' && e.link.name === 'vb');
    const evs = probe.events(from);
    const addrGone = evs.findIndex((e) => e.type === 'addr_deleted' && e.addr.address === '10.77.0.2');
    const linkGone = evs.findIndex((e) => e.type === 'link_deleted' && e.link.name === 'va');
    expect(addrGone).toBeGreaterThanOrEqual(0);
    expect(addrGone).toBeLessThan(linkGone);
    expect(evs.filter((e) => e.type === 'addr_deleted' && e.addr.address === '10.77.0.2')).toHaveLength(1);
    expect((await probe.state()).links.map((l) => l.name)).toEqual(['lo']);

    from = probe.lines.length;
    await ipn('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    const again = await probe.waitEvent('va again', from, isLink('va', (_l, p) => p === null));
    if (again.type !== 'link') throw new Error('not a link event');
    expect(again.link.ifindex).not.toBe(old.ifindex);
    expect(again.link.up).toBe(false);
    const s = await probe.state();
    expect(s.links.find((l) => l.name === 'va')!.ifindex).toBe(again.link.ifindex);
  });

  it('an overrun (tiny receive buffer, busy loop, 200 address adds) is repaired: resync, and the state equals ip -j addr', async () => {
    const small = await startProbe(1); // the kernel raises it to its minimum, about 2.3 KiB
    const errorsBefore = small.lines.filter((l) => l.type === 'error').length;
    let from = small.lines.length;
    small.send('block 1500');
    await small.waitLine('the probe to block', from, (l) => l.type === 'blocking');
    const batch = Array.from({ length: 200 }, (_, i) => `addr add 10.78.${i >> 6}.${(i & 63) + 1}/32 dev va`).join('\n') + '\n';
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const ip = spawn('ip', ['-n', NS, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      ip.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => { ip.kill('SIGKILL'); reject(new Error('ip -batch took more than 10 s')); }, 10_000);
      ip.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`ip -batch failed: ${err}`));
      });
      ip.stdin.end(batch);
    });
    const batchMs = Date.now() - t0;
    const resync = await small.waitLine('resync after the overrun', from, (l) => l.type === 'event' && l.ev.type === 'resync', 15_000);
    expect(resync).toMatchObject({ ev: { type: 'resync', reason: 'overrun (ENOBUFS)' } });
    // The burst happened while the loop was blocked (else the test proves less than it claims).
    expect(batchMs, 'ip -batch outlasted the blocked loop').toBeLessThan(1500);
    expect(small.lines.filter((l) => l.type === 'error').length).toBe(errorsBefore); // ENOBUFS is handled, not reported

    // Everything after the resync is ordinary events; the final state must be the kernel's.
    let feed: string[] = [];
    let kernel: string[] = [];
    const t1 = Date.now();
    for (;;) {
      feed = feedAddrs((await small.state()).addrs);
      kernel = await kernelAddrs();
      if (JSON.stringify(feed) === JSON.stringify(kernel)) break;
      if (Date.now() - t1 > 10_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(feed).toEqual(kernel);
    expect(kernel.filter((a) => a.includes(' va 4 10.78.'))).toHaveLength(200);

    // The feed with the default buffer saw the same burst as ordinary events, without an overrun.
    from = 0;
    const adds = probe.events(from).filter((e) => e.type === 'addr_added' && e.addr.address.startsWith('10.78.'));
    expect(adds).toHaveLength(200);
    expect(probe.events().some((e) => e.type === 'resync')).toBe(false);
  });
});
