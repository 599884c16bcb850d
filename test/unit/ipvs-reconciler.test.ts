// The reconciler against an independent fake of ipvsadm + the kernel (ipvs-kernel-fake.ts, which
// shares no code with hakeep's parser or serializer), on a fake clock: coalescing, re-reads,
// failures, refused commands isolated per service, the owned record, stop modes and adoption.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredServices } from '../../src/ipvs/desired.js';
import { diffTables } from '../../src/ipvs/diff.js';
import { parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';
import { serviceKey } from '../../src/ipvs/model.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsadmError } from '../../src/ipvs/ipvsadm.js';
import type { IpvsService } from '../../src/ipvs/model.js';
import { memoryOwnedStore } from '../../src/ipvs/owned.js';
import type { OwnedStore } from '../../src/ipvs/owned.js';
import { Reconciler } from '../../src/ipvs/reconciler.js';
import type { StopMode } from '../../src/ipvs/reconciler.js';
import { setRealServerAlive, startPool } from '../../src/ipvs/pool.js';
import type { PoolState } from '../../src/ipvs/pool.js';
import type { VirtualServer } from '../../src/config/model.js';
import { FakeClock, realServer, virtualServer } from './ipvs-fixtures.js';
import { FakeKernel, tableArb } from './ipvs-kernel-fake.js';

const vs = virtualServer('10.0.0.100', 80, {
  realServers: [realServer('10.0.0.2', 80, { weight: 2 }), realServer('10.0.0.3', 80), realServer('10.0.0.4', 80)],
});

interface SetupOptions {
  kernel?: FakeKernel;
  backend?: Partial<IpvsBackend>;
  owned?: OwnedStore | null;
  stopMode?: StopMode;
  desired?: IpvsService[];
  hooks?: Parameters<FakeKernel['backend']>[0];
}

function setup(o: SetupOptions = {}) {
  const kernel = o.kernel ?? new FakeKernel();
  const clock = new FakeClock();
  let state: PoolState = startPool(vs, [true, true, true]).state;
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const fake = kernel.backend(o.hooks);
  const backend: IpvsBackend = { save: fake.save, restore: fake.restore, ...o.backend };
  const rec = new Reconciler({
    backend, timers: clock, log: (level, msg, fields) => logs.push({ level, msg, fields }),
    coalesceMs: 20, resyncMs: 5000, retryMs: 500, failRetryMaxMs: 4000,
    ...(o.owned !== undefined ? { owned: o.owned } : {}), ...(o.stopMode ? { stopMode: o.stopMode } : {}),
  });
  rec.setDesired(o.desired ?? desiredServices(vs, [], state));
  return {
    clock, kernel, rec, logs, fake, saves: () => fake.saves,
    set(i: number, alive: boolean) { state = setRealServerAlive(vs, state, i, alive).state; rec.update(desiredServices(vs, [], state)); },
  };
}

/** Let time pass, then let every chain of promises (a split batch is a long one) run to its end. */
async function pass(clock: FakeClock, ms: number): Promise<void> {
  await clock.advance(ms);
  for (let i = 0; i < 40; i++) await clock.advance(0);
}

const svc = (v: VirtualServer): IpvsService[] => desiredServices(v, [], startPool(v, v.realServers.map(() => true)).state);

describe('Reconciler', () => {
  it('creates the configured service at start and leaves a hand-made service alone', async () => {
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.0.200:80 -s rr']);
    const t = setup({ kernel });
    t.rec.start();
    await t.clock.advance(1);
    expect(t.kernel.save()).toBe(
      '-A -t 10.0.0.200:80 -s rr\n-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 2\n' +
      '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1\n');
    expect(t.rec.status()).toMatchObject({ batchesApplied: 1, commandsApplied: 4, lastError: null, failingServices: [] });
  });

  it('coalesces changes arriving close together into one batch, without re-reading the kernel', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    const savesBefore = t.saves();
    t.set(0, false);
    await t.clock.advance(5);
    t.set(1, false);
    await t.clock.advance(5);
    t.set(2, false);
    await t.clock.advance(30);
    expect(t.fake.restores.at(-1)).toEqual([
      '-d -t 10.0.0.100:80 -r 10.0.0.2:80', '-d -t 10.0.0.100:80 -r 10.0.0.3:80', '-d -t 10.0.0.100:80 -r 10.0.0.4:80',
    ]);
    expect(t.rec.status().batchesApplied).toBe(2);
    expect(t.saves()).toBe(savesBefore);
  });

  it('applies within the coalesce window even while changes keep coming', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    t.set(0, false);
    await t.clock.advance(15);
    t.set(0, true); // would postpone forever if every change restarted the window
    await t.clock.advance(6);
    expect(t.rec.status().lastSyncAt).toBe(21); // ran 20 ms after the first change
    expect(t.rec.status().batchesApplied).toBe(1); // net change: none, so nothing sent
    t.set(1, false);
    await t.clock.advance(21);
    expect(t.rec.status().batchesApplied).toBe(2);
  });

  it('sends nothing when nothing changed (no-op resync)', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    const restores = t.fake.restores.length;
    await t.clock.advance(5000);
    expect(t.fake.restores.length).toBe(restores);
    expect(t.rec.status().resyncs).toBe(1);
  });

  it('restores an entry deleted by hand at the next resync', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.3:80']);
    await t.clock.advance(4998);
    expect(t.fake.restores.length).toBe(1); // no re-read yet
    await t.clock.advance(25);
    expect(t.fake.restores.at(-1)).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
  });

  it('applies health changes while a slow re-read runs, and keeps their result over the older snapshot', async () => {
    const kernel = new FakeKernel();
    let saves = 0;
    let release: (() => void) | null = null;
    const t = setup({
      kernel,
      backend: {
        save: async () => {
          saves++;
          const snapshot = kernel.save();
          if (saves === 2) await new Promise<void>((r) => { release = r; });
          return snapshot;
        },
      },
    });
    t.rec.start();
    await t.clock.advance(1);
    await t.clock.advance(4999); // the periodic re-read starts and hangs
    expect(saves).toBe(2);
    t.set(0, false);
    await t.clock.advance(21);
    expect(t.fake.restores.at(-1)).toEqual(['-d -t 10.0.0.100:80 -r 10.0.0.2:80']);
    release!();
    await t.clock.advance(25);
    // The snapshot still lists 10.0.0.2, but the batch's picture wins: no second -d, no error.
    expect(t.fake.restores).toHaveLength(2);
    expect(t.rec.status()).toMatchObject({ lastError: null, batchesApplied: 2 });
    expect(t.rec.status().lastRead!.at).toBeGreaterThan(5000);
  });

  it('re-reads large tables less often (at most 1/20 of the time)', async () => {
    const kernel = new FakeKernel();
    let saves = 0;
    let clockRef: FakeClock | null = null;
    const t = setup({
      kernel,
      backend: {
        save: async () => {
          saves++;
          // Each read takes 400 ms of (fake) time.
          await new Promise<void>((r) => clockRef!.setTimeout(r, 400));
          return kernel.save();
        },
      },
    });
    clockRef = t.clock;
    t.rec.start();
    await t.clock.advance(500);
    expect(saves).toBe(1);
    await t.clock.advance(5000); // first periodic re-read at 5000
    expect(saves).toBe(2);
    await t.clock.advance(7000); // next one 400 ms x 20 = 8 s after that read ended, not 5 s
    expect(saves).toBe(2);
    await t.clock.advance(1000);
    expect(saves).toBe(3);
  });

  it('skips the periodic re-read while the table fingerprint is unchanged', async () => {
    const kernel = new FakeKernel();
    let saves = 0;
    const t = setup({
      kernel,
      backend: { save: async () => { saves++; return kernel.save(); }, fingerprint: async () => kernel.save() },
    });
    t.rec.start();
    await t.clock.advance(1);
    expect(saves).toBe(1);
    // The first batch changed the table: the first resync reads it, the next ones skip.
    await t.clock.advance(15_000);
    expect(saves).toBe(2);
    expect(t.rec.status()).toMatchObject({ resyncs: 3, resyncsSkipped: 2 });
    // Our own batch: the next resync reads for real once, then skips again.
    t.set(0, false);
    await t.clock.advance(5000);
    expect(saves).toBe(3);
    await t.clock.advance(5000);
    expect(saves).toBe(3);
    // A change by hand shows in the fingerprint: read, and repaired.
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.3:80']);
    await t.clock.advance(5030);
    expect(saves).toBe(4);
    expect(t.fake.restores.at(-1)).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
  });

  it('logs a failure of ipvsadm itself with command and stderr, re-reads the kernel and retries with backoff', async () => {
    let failing = true;
    const kernel = new FakeKernel();
    const t = setup({
      kernel,
      backend: {
        save: async () => {
          if (failing) throw new IpvsadmError('ipvsadm -S -n', "Can't initialize ipvs: Protocol not available", 2, "ipvsadm -S -n failed (exit 2): Can't initialize ipvs: Protocol not available");
          return kernel.save();
        },
      },
    });
    t.rec.start();
    await t.clock.advance(1);
    const msg = "IPVS: could not update the IPVS table; will retry: ipvsadm -S -n failed (exit 2): Can't initialize ipvs: Protocol not available";
    // One failure is a warning (often a table edited under us); it becomes an error if it persists.
    expect(t.logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([msg]);
    expect(t.logs[0]!.fields).toMatchObject({ command: 'ipvsadm -S -n', stderr: "Can't initialize ipvs: Protocol not available" });
    await t.clock.advance(500 + 1000 + 2000);
    expect(t.logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([msg]);
    expect(t.rec.status().failures).toBe(4);
    // The same error is not repeated on every retry.
    expect(t.logs.filter((l) => l.level === 'error')).toHaveLength(1);
    failing = false;
    await t.clock.advance(4000);
    expect(t.kernel.save().match(/^-a /gm)).toHaveLength(3);
    expect(t.logs.at(-1)!.msg).toBe('IPVS: ipvsadm works again; table in sync');
  });

  it('a stale picture (an entry deleted by hand before a change) costs a re-read, not a failure', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.2:80']);
    t.set(0, false); // wants -d of an entry that is already gone → "No such destination"
    await t.clock.advance(21);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1\n');
    expect(t.rec.status()).toMatchObject({ failingServices: [], lastError: null });
    expect(t.logs.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
  });

  it('removes only its own services on stop', async () => {
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.0.200:80 -s rr']);
    const t = setup({ kernel });
    t.rec.start();
    await t.clock.advance(1);
    await t.rec.stop();
    expect(t.kernel.save()).toBe('-A -t 10.0.0.200:80 -s rr\n');
    expect(t.clock.pendingTimers()).toBe(0);
  });
});

/** Ten good services and one ipvsadm refuses. */
function tenAndOne(bad: IpvsService): IpvsService[] {
  const good = Array.from({ length: 10 }, (_, i) => svc(virtualServer(`10.0.1.${i + 1}`, 80, {
    realServers: [realServer('10.0.0.2', 8080), realServer('10.0.0.3', 8080)],
  }))[0]!);
  return [...good.slice(0, 5), bad, ...good.slice(5)];
}

describe('Reconciler: a command ipvsadm refuses does not hold up the other services', () => {
  const zeroPort = svc(virtualServer('10.0.2.1', 0, { loc: { file: 'k.conf', line: 40 }, realServers: [realServer('10.0.0.2', 0)] }))[0]!;

  it('an option error (ipvsadm exits): the ten others converge, the bad one is listed and logged once', async () => {
    const t = setup({ desired: tenAndOne(zeroPort) });
    t.rec.start();
    await pass(t.clock, 1);
    const table = t.kernel.save();
    for (let i = 1; i <= 10; i++) expect(table).toContain(`-A -t 10.0.1.${i}:80 -s wlc\n`);
    expect(table.match(/^-a /gm)).toHaveLength(20);
    expect(table).not.toContain('10.0.2.1');
    const [f] = t.rec.status().failingServices;
    expect(t.rec.status().failingServices).toHaveLength(1);
    expect(f).toMatchObject({
      service: '-t 10.0.2.1:0', name: 'VS [10.0.2.1]:tcp:0 (k.conf:40)', command: '-A -t 10.0.2.1:0 -s wlc',
      error: 'Zero port specified for non-persistent service', attempts: 1,
    });
    expect(f!.nextRetryAt - f!.since).toBe(500);
    const errors = t.logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.msg)).toEqual([
      'IPVS: ipvsadm refused a command for VS [10.0.2.1]:tcp:0 (k.conf:40): "-A -t 10.0.2.1:0 -s wlc": Zero port specified for non-persistent service. The other services are applied; this one is retried with backoff until it works. Fix the configuration of this virtual server',
    ]);
    expect(errors[0]!.fields).toMatchObject({ service: '-t 10.0.2.1:0', command: '-A -t 10.0.2.1:0 -s wlc', error: 'Zero port specified for non-persistent service' });
    // ipvsadm stopped at the refused line: the first service left is tried alone, the rest together.
    expect(t.fake.restores.map((b) => b.length)).toEqual([32, 1, 15]);
    expect(t.saves()).toBe(2);
  });

  it('retries the bad service alone, with its own backoff, without logging it again; a fix applies it', async () => {
    let clock: FakeClock | null = null;
    const tries: number[] = [];
    const t = setup({ desired: tenAndOne(zeroPort), hooks: { beforeRestore: (lines) => { if (lines.includes('-A -t 10.0.2.1:0 -s wlc')) tries.push(clock!.now()); } } });
    clock = t.clock;
    t.rec.start();
    await pass(t.clock, 1);
    const sentBefore = t.kernel.sent.length;
    await pass(t.clock, 11_500);
    // Isolated at start, then retried 0.5, 1, 2, 4, 4 s apart (capped): each time the service's
    // batch, then (refused again) its service command alone.
    const since = t.rec.status().failingServices[0]!.since;
    expect([...new Set(tries.filter((x) => x > since))].map((x) => x - since)).toEqual([500, 1500, 3500, 7500, 11500]);
    // Nothing else reached ipvsadm meanwhile (it stops at the refused line).
    expect(new Set(t.kernel.sent.slice(sentBefore))).toEqual(new Set(['-A -t 10.0.2.1:0 -s wlc']));
    expect(t.rec.status().failingServices[0]).toMatchObject({ attempts: 6 });
    expect(t.logs.filter((l) => l.level === 'error')).toHaveLength(1);
    // Meanwhile a health change on a good service goes out at once.
    t.rec.update([svc(virtualServer('10.0.1.1', 80, { realServers: [realServer('10.0.0.2', 8080)] }))[0]!]);
    await pass(t.clock, 21);
    expect(t.fake.restores.at(-1)).toEqual(['-d -t 10.0.1.1:80 -r 10.0.0.3:8080']);
    // The configuration is fixed (persistence): applied at once, and said so.
    t.rec.update([{ ...zeroPort, persistence: 360 }]);
    await pass(t.clock, 21);
    expect(t.kernel.save()).toContain('-A -t 10.0.2.1:0 -s wlc -p 360\n-a -t 10.0.2.1:0 -r 10.0.0.2:0 -m -w 1\n');
    expect(t.rec.status().failingServices).toEqual([]);
    expect(t.logs.filter((l) => l.level === 'info').at(-1)!.msg).toBe('IPVS: VS [10.0.2.1]:tcp:0 (k.conf:40) is in the table now, after 6 refused attempt(s)');
  });

  it('a kernel error (ipvsadm carries on): isolated the same way', async () => {
    const twos = svc(virtualServer('10.0.2.2', 80, { lbAlgo: 'twos', realServers: [realServer('10.0.0.2', 80)] }))[0]!;
    const t = setup({ desired: tenAndOne(twos) });
    t.rec.start();
    await pass(t.clock, 1);
    expect(t.kernel.save().match(/^-A /gm)).toHaveLength(10);
    expect(t.rec.status().failingServices).toMatchObject([{ service: '-t 10.0.2.2:80', command: '-A -t 10.0.2.2:80 -s twos', error: 'Scheduler or persistence engine not found' }]);
  });

  it('one destination refused: the service and its other destinations are applied', async () => {
    // An IPv6 destination on an IPv4 NAT service: ipvsadm exits ("Different address family …").
    const mixed: IpvsService = {
      ...svc(virtualServer('10.0.3.1', 80, { realServers: [realServer('10.0.0.2', 80), realServer('10.0.0.3', 80), realServer('10.0.0.4', 80)] }))[0]!,
    };
    mixed.dests.splice(1, 0, { ip: '2001:db8::9', family: 6, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
    const t = setup({ desired: [mixed] });
    t.rec.start();
    await pass(t.clock, 1);
    expect(t.kernel.save()).toBe('-A -t 10.0.3.1:80 -s wlc\n-a -t 10.0.3.1:80 -r 10.0.0.2:80 -m -w 1\n-a -t 10.0.3.1:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.3.1:80 -r 10.0.0.4:80 -m -w 1\n');
    expect(t.rec.status().failingServices).toMatchObject([{
      service: '-t 10.0.3.1:80', command: '-a -t 10.0.3.1:80 -r [2001:db8::9]:80 -m -w 1', error: 'Different address family is allowed only for tunneling servers',
    }]);
  });

  it('a removed service leaves the list of refused ones', async () => {
    const t = setup({ desired: tenAndOne(zeroPort) });
    t.rec.start();
    await pass(t.clock, 1);
    t.rec.setDesired(tenAndOne(zeroPort).filter((s) => s !== zeroPort));
    await pass(t.clock, 21);
    expect(t.rec.status().failingServices).toEqual([]);
  });
});

describe('Reconciler: the owned record, stop modes and adoption', () => {
  const s1 = svc(virtualServer('10.0.4.1', 80, { realServers: [realServer('10.0.0.2', 80)] }))[0]!;
  const s2 = svc(virtualServer('10.0.4.2', 80, { realServers: [realServer('10.0.0.3', 80)] }))[0]!;

  it('records a service before the batch that creates it', async () => {
    const store = memoryOwnedStore();
    const recordedAtBatch: (string[] | null)[] = [];
    const t = setup({ desired: [s1], owned: store, hooks: { beforeRestore: () => recordedAtBatch.push(store.services?.map((a) => (a.kind === 'ip' ? a.ip : '')) ?? null) } });
    t.rec.start();
    await t.clock.advance(1);
    expect(recordedAtBatch).toEqual([['10.0.4.1']]);
    expect(t.rec.status().owned).toBe(1);
  });

  it('at start, removes recorded services no longer configured; never a hand-made one', async () => {
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.4.1:80 -s wlc', '-A -t 10.0.4.2:80 -s wlc', '-a -t 10.0.4.2:80 -r 10.0.0.3:80 -m -w 1', '-A -t 10.0.9.9:80 -s rr']);
    const store = memoryOwnedStore([s1.addr, s2.addr]);
    const t = setup({ kernel, desired: [s1], owned: store });
    t.rec.start();
    await t.clock.advance(1);
    expect(t.kernel.save()).toBe('-A -t 10.0.4.1:80 -s wlc\n-a -t 10.0.4.1:80 -r 10.0.0.2:80 -m -w 1\n-A -t 10.0.9.9:80 -s rr\n');
    expect(store.services).toEqual([s1.addr]);
  });

  it('a service dropped from the desired table (reload) is removed and leaves the record', async () => {
    const store = memoryOwnedStore();
    const t = setup({ desired: [s1, s2], owned: store });
    t.rec.start();
    await t.clock.advance(1);
    t.rec.setDesired([s1]);
    await t.clock.advance(21);
    expect(t.kernel.save()).not.toContain('10.0.4.2');
    expect(store.services).toEqual([s1.addr]);
  });

  it("stop 'keep' (dont_release_ipvs) leaves the table and the record exactly as they are", async () => {
    const store = memoryOwnedStore();
    const t = setup({ desired: [s1, s2], owned: store, stopMode: 'keep' });
    t.rec.start();
    await t.clock.advance(1);
    const before = t.kernel.save();
    const sent = t.kernel.sent.length;
    await t.rec.stop();
    expect(t.kernel.save()).toBe(before);
    expect(t.kernel.sent.length).toBe(sent);
    expect(store.services).toHaveLength(2);
  });

  it("stop 'remove' deletes the configured services and empties the record; 'flush' flushes everything", async () => {
    const store = memoryOwnedStore();
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.9.9:80 -s rr']);
    const t = setup({ kernel, desired: [s1, s2], owned: store });
    t.rec.start();
    await t.clock.advance(1);
    await t.rec.stop();
    expect(t.kernel.save()).toBe('-A -t 10.0.9.9:80 -s rr\n');
    expect(store.services).toEqual([]);

    const f = setup({ kernel, desired: [s1], owned: store, stopMode: 'flush' });
    f.rec.start();
    await f.clock.advance(1);
    await f.rec.stop();
    expect(f.kernel.save()).toBe('');
    expect(store.services).toEqual([]);
  });

  it('adopts what a previous run left: no -A/-D/-a/-d, only -e where a weight differs', async () => {
    const big = svc(virtualServer('10.0.5.1', 80, { realServers: Array.from({ length: 50 }, (_, i) => realServer(`10.0.6.${i + 1}`, 80, { weight: 2 })) }))[0]!;
    const kernel = new FakeKernel();
    const first = setup({ kernel, desired: [big, s1], stopMode: 'keep', owned: memoryOwnedStore() });
    first.rec.start();
    await first.clock.advance(1);
    await first.rec.stop();
    kernel.restore(['-e -t 10.0.5.1:80 -r 10.0.6.7:80 -m -w 9']);
    const sent = kernel.sent.length;
    const second = setup({ kernel, desired: [big, s1], owned: memoryOwnedStore([big.addr, s1.addr]) });
    const seen = await second.rec.readKernel();
    expect(seen.get('-t 10.0.5.1:80')!.dests).toHaveLength(50);
    second.rec.start();
    await second.clock.advance(1);
    expect(kernel.sent.slice(sent)).toEqual(['-e -t 10.0.5.1:80 -r 10.0.6.7:80 -m -w 2']);
  });
});

describe('Reconciler: lines it cannot fully read', () => {
  it('sets an unreadable service right once (-E), then accepts it while it reads the same', async () => {
    const kernel = new FakeKernel();
    const t = setup({
      kernel,
      // A future ipvsadm prints an option hakeep does not know on this service.
      backend: { save: async () => kernel.save().replace('-A -t 10.0.0.100:80 -s wlc', '-A -t 10.0.0.100:80 -s wlc --future 1') },
    });
    t.rec.start();
    await t.clock.advance(1);
    expect(t.fake.restores[0]!.filter((l) => l.startsWith('-A') || l.startsWith('-E'))).toEqual(['-A -t 10.0.0.100:80 -s wlc']);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.4:80']); // make the re-read see a change
    await t.clock.advance(5030);
    expect(t.fake.restores.slice(1).flat()).toEqual(['-E -t 10.0.0.100:80 -s wlc', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1']);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.4:80']);
    await t.clock.advance(5030);
    expect(t.fake.restores.slice(2).flat()).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1']);
    expect(t.logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'IPVS: could not fully read 1 line(s) of ipvsadm -S -n output; those services are kept, and what is unknown about them is set again (see docs/ipvs.md)',
    ]);
    // What was set is remembered, not the desired state: a new scheduler is still applied.
    t.rec.update([{ ...desiredServices(vs, [], startPool(vs, [true, true, true]).state)[0]!, scheduler: 'rr' }]);
    await t.clock.advance(21);
    expect(t.fake.restores.at(-1)).toEqual(['-E -t 10.0.0.100:80 -s rr']);
  });

  it('an incomplete destination list: missing ones are added, "already exists" is fine', async () => {
    const kernel = new FakeKernel();
    kernel.restore(['-A -t 10.0.0.100:80 -s wlc', '-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 2', '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
    const t = setup({
      kernel,
      // 10.0.0.3's line is unreadable: hakeep cannot tell it exists.
      backend: { save: async () => kernel.save().replace('-r 10.0.0.3:80', '-r ???') },
    });
    t.rec.start();
    await t.clock.advance(1);
    expect(t.fake.restores[0]).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1', '-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1']);
    expect(t.rec.status()).toMatchObject({ failingServices: [], lastError: null });
  });
});

/** Services ipvsadm refuses: an option error (it exits) or a kernel error (it carries on). */
const badArb: fc.Arbitrary<IpvsService> = fc.record({ n: fc.integer({ min: 1, max: 3 }), how: fc.constantFrom('zero-port', 'ops-tcp', 'no-scheduler', 'family') })
  .map(({ n, how }): IpvsService => {
    const base: IpvsService = {
      addr: { kind: 'ip', protocol: 'tcp', ip: `10.3.0.${n}`, port: 80, family: 4 }, scheduler: 'rr', persistence: null, netmask: null,
      ops: false, schedFlags: [], dests: [{ ip: '10.1.0.9', family: 4, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
    };
    if (how === 'zero-port') return { ...base, addr: { ...base.addr, port: 0 } as IpvsService['addr'] };
    if (how === 'ops-tcp') return { ...base, ops: true };
    if (how === 'no-scheduler') return { ...base, scheduler: 'twos' };
    return { ...base, dests: [...base.dests, { ip: 'fd00:1::9', family: 6, port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }] };
  });

describe('Reconciler: convergence property against the independent fake', () => {
  it('every valid service converges, whatever ipvsadm refuses next to it; the rest of the table is left alone', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(tableArb, fc.option(badArb, { nil: undefined })), { minLength: 1, maxLength: 4 }), async (steps) => {
      const kernel = new FakeKernel();
      kernel.restore(['-A -t 10.9.9.9:80 -s rr', '-a -t 10.9.9.9:80 -r 10.1.0.2:80 -m -w 1']);
      const t = setup({ kernel, desired: [] });
      t.rec.start();
      await pass(t.clock, 1);
      for (const [table, bad] of steps) {
        t.rec.setDesired(bad ? [...table, bad] : table);
        await pass(t.clock, 25);
        const after = parseIpvsadmSave(kernel.save()).table;
        expect(diffTables(table, after)).toEqual([]);
        const failing = t.rec.status().failingServices.map((f) => f.service);
        expect(failing).toEqual(bad ? [serviceKey(bad.addr)] : []);
        expect(after.get('-t 10.9.9.9:80')?.dests).toHaveLength(1);
        const wanted = new Set([...table, ...(bad ? [bad] : [])].map((x) => serviceKey(x.addr)));
        for (const key of after.keys()) if (key !== '-t 10.9.9.9:80') expect(wanted.has(key)).toBe(true);
      }
    }), { numRuns: 150 });
  });
});
