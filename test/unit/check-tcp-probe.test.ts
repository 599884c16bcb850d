// The real probes (the addon's libuv probe and net.Socket) against real sockets on loopback, and
// a connect timeout on a blackholed route inside a network namespace created here.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchedTcp, nativeProbe, probeWithTimeout, socketProbe, tcpProbe, tcpProbeKind } from '../../src/check/tcp-probe.js';
import type { Probe, ProbeTarget } from '../../src/check/tcp-probe.js';
import { ROOT, compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { closeServers, fdsLeftByWorkers, hangingPort, listen, openFds, servers } from './tcp-test-servers.js';

afterEach(closeServers);

it('uses the addon probe here, and no Node.js internals anywhere in the checker', () => {
  expect(nativeProbe).not.toBeNull();
  expect(tcpProbeKind).toBe('native');
  expect(tcpProbe).toBe(nativeProbe);
  for (const f of readdirSync(join(ROOT, 'src/check')).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'src/check', f), 'utf8').replace(/\/\/.*$/gm, '');
    expect(text, f).not.toMatch(/process\.binding|internalBinding|tcp_wrap/);
  }
});

it('the batched native probe hands each loop turn\'s completions over inside its scope', async () => {
  if (!batchedTcp) throw new Error('the addon has no batched TCP probe (rebuild native/)');
  const { port } = await listen();
  const tid = batchedTcp.target({ host: '127.0.0.1', port, family: 4 });
  let inScope = false;
  let scopes = 0;
  const seen: boolean[] = [];
  const token = batchedTcp.token((status) => seen.push(inScope && status === 0));
  batchedTcp.setScope((deliver) => {
    scopes++;
    inScope = true;
    try { deliver(); } finally { inScope = false; }
  });
  try {
    for (let i = 0; i < 200; i++) expect(batchedTcp.connect(tid, token)).toBeGreaterThanOrEqual(0);
    const until = Date.now() + 5000;
    while (seen.length < 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  } finally {
    batchedTcp.setScope(null);
  }
  expect(seen).toEqual(Array(200).fill(true));
  // Completions come in batches: fewer deliveries than probes.
  expect(scopes).toBeGreaterThan(0);
  expect(scopes).toBeLessThan(200);
});

it('HAKEEP_TCP_PROBE=socket selects net.Socket', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `const m = await import(${JSON.stringify(join(build().dist, 'check/tcp-probe.js'))}); console.log(m.tcpProbeKind)`],
  { env: { ...process.env, HAKEEP_TCP_PROBE: 'socket' }, encoding: 'utf8' });
  expect(r.stdout.trim()).toBe('net.Socket');
});

const impls: [string, Probe][] = [['native', nativeProbe!], ['net.Socket', socketProbe]];

describe.each(impls)('TCP probe (%s)', (_name, impl) => {
  function probe(t: ProbeTarget, timeoutMs = 2000): Promise<[string, string]> {
    return new Promise((resolve) => probeWithTimeout(impl, t, timeoutMs, (o, d) => resolve([o, d])));
  }

  it('succeeds against a listening port and fails on a closed one', async () => {
    const { port, peers } = await listen();
    expect(await probe({ host: '127.0.0.1', port, family: 4 })).toEqual(['success', 'connected']);
    await new Promise((r) => setTimeout(r, 20));
    expect(peers).toHaveLength(1);
    const closed = await listen();
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await probe({ host: '127.0.0.1', port: closed.port, family: 4 })).toEqual(['failed', 'ECONNREFUSED']);
  });

  it('binds to bindto and bind_port (IPv4)', async () => {
    const { port, peers } = await listen();
    expect((await probe({ host: '127.0.0.1', port, family: 4, localAddress: '127.0.0.2' }))[0]).toBe('success');
    const local = 20_000 + Math.floor(Math.random() * 20_000);
    expect((await probe({ host: '127.0.0.1', port, family: 4, localAddress: '127.0.0.3', localPort: local }))[0]).toBe('success');
    await new Promise((r) => setTimeout(r, 20));
    expect(peers).toEqual([{ address: '127.0.0.2', port: expect.any(Number) }, { address: '127.0.0.3', port: local }]);
  });

  it('reports a bad bind address as a failure instead of throwing', async () => {
    const { port } = await listen();
    const [outcome] = await probe({ host: '127.0.0.1', port, family: 4, localAddress: 'not-an-ip' });
    expect(outcome).toBe('failed');
    // An address this host does not have: bind refuses it.
    expect(await probe({ host: '127.0.0.1', port, family: 4, localAddress: '192.0.2.77' })).toEqual(['failed', 'EADDRNOTAVAIL']);
  });

  it('runs a thousand probes side by side', async () => {
    const { port } = await listen();
    const results = await Promise.all(Array.from({ length: 1000 }, () => probe({ host: '127.0.0.1', port, family: 4 })));
    expect(results.filter(([o]) => o === 'success')).toHaveLength(1000);
  });

  it('abort stops a probe without calling back and closes its socket', async () => {
    const { port } = await listen();
    let called = false;
    const abort = impl({ host: '127.0.0.1', port, family: 4 }, () => { called = true; });
    abort();
    abort(); // twice is harmless
    await new Promise((r) => setTimeout(r, 50));
    expect(called).toBe(false);

    // Probes stuck in the handshake: aborting them gives every descriptor back.
    const hang = await hangingPort();
    try {
      const before = openFds();
      const aborts = Array.from({ length: 200 }, () => impl({ host: '127.0.0.1', port: hang.port, family: 4 }, () => { called = true; }));
      await new Promise((r) => setTimeout(r, 50));
      expect(openFds()).toBeGreaterThanOrEqual(before + 200);
      for (const a of aborts) a();
      await new Promise((r) => setTimeout(r, 100));
      expect(openFds()).toBeLessThanOrEqual(before);
      expect(called).toBe(false);
    } finally {
      hang.close();
    }
  });

  it('times out when nothing answers within connect_timeout (full accept queue)', async () => {
    const hang = await hangingPort();
    try {
      const t0 = Date.now();
      const [outcome, detail] = await probe({ host: '127.0.0.1', port: hang.port, family: 4 }, 300);
      expect([outcome, detail]).toEqual(['timeout', 'no answer within 300 ms']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    } finally {
      hang.close();
    }
  });

  it('probes IPv6 (::1), bound to ::1 and a port', async () => {
    const { port, peers } = await listen('::1');
    expect(await probe({ host: '::1', port, family: 6 })).toEqual(['success', 'connected']);
    const local = 20_000 + Math.floor(Math.random() * 20_000);
    expect(await probe({ host: '::1', port, family: 6, localAddress: '::1', localPort: local })).toEqual(['success', 'connected']);
    await new Promise((r) => setTimeout(r, 20));
    expect(peers.at(-1)).toEqual({ address: '::1', port: local });
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await probe({ host: '::1', port, family: 6 })).toEqual(['failed', 'ECONNREFUSED']);
  });
});

it('native: a worker thread that exits with probes in flight closes them (no abort, no leak)', async () => {
  const hang = await hangingPort();
  try {
    // Five workers one after the other, each terminated with 50 connects hanging in the handshake.
    const start = 'for (let i = 0; i < d.probes; i++) a.tcpConnect("127.0.0.1", d.port, 4, null, 0, () => {})';
    expect(fdsLeftByWorkers(start, hang.port, 50)).toBe(fdsLeftByWorkers(start, hang.port, 0));
  } finally {
    hang.close();
  }
});

// ---- a blackholed destination, in a namespace of its own ----------------------------------------
let compiled: CheckerBuild | null = null;
function build(): CheckerBuild {
  compiled ??= compileChecker();
  return compiled;
}
afterAll(() => compiled?.remove());

describe('in a network namespace: SYNs to a neighbour that does not exist are dropped silently', () => {
  const NS = `hkprobe-${process.pid}`;
  const ip = (...args: string[]) => spawnSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('this test creates a network namespace: run it as root');
    spawnSync('ip', ['netns', 'del', NS]);
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    // A veth pair inside the namespace; the neighbours 10.66.0.2 / fd66::2 get a fixed MAC nobody
    // has, so SYNs leave through `hole` and the peer end drops them: a silent blackhole.
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['link', 'add', 'hole', 'type', 'veth', 'peer', 'name', 'sink'],
      ['link', 'set', 'hole', 'up'],
      ['link', 'set', 'sink', 'up'],
      ['addr', 'add', '10.66.0.1/24', 'dev', 'hole'],
      ['-6', 'addr', 'add', 'fd66::1/64', 'dev', 'hole', 'nodad'],
      ...['10.66.0.2', '10.66.0.3', 'fd66::2'].map((a) => ['neigh', 'add', a, 'lladdr', '02:00:00:66:66:66', 'dev', 'hole', 'nud', 'permanent']),
    ]) expect(ip(...args).stderr).toBe('');
  });
  afterAll(() => { spawnSync('ip', ['netns', 'del', NS]); });

  it.each(['native', 'net.Socket'])('%s: timeout for IPv4 and IPv6, and abort leaves no descriptor behind', (kind) => {
    const script = `
      import { readdirSync } from 'node:fs';
      const m = await import(${JSON.stringify(join(build().dist, 'check/tcp-probe.js'))});
      const probe = ${kind === 'native' ? 'm.nativeProbe' : 'm.socketProbe'};
      const fds = () => readdirSync('/proc/self/fd').length;
      const one = (host, family) => new Promise((r) => {
        const t0 = performance.now();
        m.probeWithTimeout(probe, { host, port: 80, family }, 300, (o, d) => r([o, d, Math.round(performance.now() - t0)]));
      });
      const v4 = await one('10.66.0.2', 4);
      const v6 = await one('fd66::2', 6);
      await new Promise((r) => setTimeout(r, 50));
      const before = fds(); // after the first probes: node opens a few descriptors lazily
      const aborts = Array.from({ length: 100 }, () => probe({ host: '10.66.0.3', port: 80, family: 4 }, () => console.log('CALLED')));
      await new Promise((r) => setTimeout(r, 50));
      const during = fds();
      for (const a of aborts) a();
      await new Promise((r) => setTimeout(r, 100));
      console.log(JSON.stringify({ v4, v6, before, during, after: fds() }));`;
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim()) as { v4: [string, string, number]; v6: [string, string, number]; before: number; during: number; after: number };
    expect(out.v4.slice(0, 2)).toEqual(['timeout', 'no answer within 300 ms']);
    expect(out.v6.slice(0, 2)).toEqual(['timeout', 'no answer within 300 ms']);
    expect(out.v4[2]).toBeGreaterThanOrEqual(295);
    expect(out.during).toBeGreaterThanOrEqual(out.before + 100);
    expect(out.after).toBeLessThanOrEqual(out.before);
  });
});
