import { describe, expect, it } from 'vitest';
import { desiredServices } from '../../src/ipvs/desired.js';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsadmError } from '../../src/ipvs/ipvsadm.js';
import { Reconciler } from '../../src/ipvs/reconciler.js';
import { setRealServerAlive, startPool } from '../../src/ipvs/pool.js';
import type { PoolState } from '../../src/ipvs/pool.js';
import { FakeClock, FakeIpvs, realServer, virtualServer } from './ipvs-fixtures.js';

const vs = virtualServer('10.0.0.100', 80, {
  realServers: [realServer('10.0.0.2', 80, { weight: 2 }), realServer('10.0.0.3', 80), realServer('10.0.0.4', 80)],
});

function setup(kernel = new FakeIpvs(), backendOverride?: Partial<IpvsBackend>) {
  const clock = new FakeClock();
  let state: PoolState = startPool(vs, [true, true, true]).state;
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  let saves = 0;
  const backend: IpvsBackend = {
    save: async () => { saves++; return kernel.save(); },
    restore: async (lines) => {
      const err = kernel.restore([...lines]);
      if (err) throw new IpvsadmError('ipvsadm -R', err.trim(), 0, `ipvsadm -R failed (exit 0): ${err.trim()}`);
    },
    ...backendOverride,
  };
  const rec = new Reconciler({
    backend, timers: clock,
    log: (level, msg, fields) => logs.push({ level, msg, fields }), coalesceMs: 20, resyncMs: 5000, retryMs: 500,
  });
  rec.setDesired(desiredServices(vs, [], state));
  return {
    clock, kernel, rec, logs, saves: () => saves,
    set(i: number, alive: boolean) { state = setRealServerAlive(vs, state, i, alive).state; rec.update(desiredServices(vs, [], state)); },
  };
}

describe('Reconciler', () => {
  it('creates the configured service at start and leaves a hand-made service alone', async () => {
    const t = setup(new FakeIpvs('-A -t 10.0.0.200:80 -s rr\n'));
    t.rec.start();
    await t.clock.advance(1);
    expect(t.kernel.save()).toBe(
      '-A -t 10.0.0.200:80 -s rr\n-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m -w 2\n' +
      '-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1\n');
    expect(t.rec.status()).toMatchObject({ batchesApplied: 1, commandsApplied: 4, lastError: null });
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
    expect(t.kernel.restores.at(-1)).toEqual([
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
    const restores = t.kernel.restores.length;
    await t.clock.advance(5000);
    expect(t.kernel.restores.length).toBe(restores);
    expect(t.rec.status().resyncs).toBe(1);
  });

  it('restores an entry deleted by hand at the next resync', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.3:80']);
    await t.clock.advance(4998);
    expect(t.kernel.restores.length).toBe(2); // start batch + the manual delete: no re-read yet
    await t.clock.advance(25);
    expect(t.kernel.restores.at(-1)).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
  });

  it('applies health changes while a slow re-read runs, and keeps their result over the older snapshot', async () => {
    const kernel = new FakeIpvs();
    let saves = 0;
    let release: (() => void) | null = null;
    const t = setup(kernel, {
      save: async () => {
        saves++;
        const snapshot = kernel.save();
        if (saves === 2) await new Promise<void>((r) => { release = r; });
        return snapshot;
      },
    });
    t.rec.start();
    await t.clock.advance(1);
    await t.clock.advance(4999); // the periodic re-read starts and hangs
    expect(saves).toBe(2);
    t.set(0, false);
    await t.clock.advance(21);
    expect(t.kernel.restores.at(-1)).toEqual(['-d -t 10.0.0.100:80 -r 10.0.0.2:80']);
    release!();
    await t.clock.advance(25);
    // The snapshot still lists 10.0.0.2, but the batch's picture wins: no second -d, no error.
    expect(t.kernel.restores).toHaveLength(2);
    expect(t.rec.status()).toMatchObject({ lastError: null, batchesApplied: 2 });
    expect(t.rec.status().lastRead!.at).toBeGreaterThan(5000);
  });

  it('re-reads large tables less often (at most 1/20 of the time)', async () => {
    const kernel = new FakeIpvs();
    let saves = 0;
    let clockRef: FakeClock | null = null;
    const t = setup(kernel, {
      save: async () => {
        saves++;
        // Each read takes 400 ms of (fake) time.
        await new Promise<void>((r) => clockRef!.setTimeout(r, 400));
        return kernel.save();
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
    const kernel = new FakeIpvs();
    let saves = 0;
    const t = setup(kernel, {
      save: async () => { saves++; return kernel.save(); },
      fingerprint: async () => kernel.save(),
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
    expect(t.kernel.restores.at(-1)).toEqual(['-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1']);
  });

  it('logs a failure with command and stderr, re-reads the kernel and retries with backoff', async () => {
    let failing = true;
    const kernel = new FakeIpvs();
    const t = setup(kernel, {
      save: async () => {
        if (failing) throw new IpvsadmError('ipvsadm -S -n', "Can't initialize ipvs: Protocol not available", 2, "ipvsadm -S -n failed (exit 2): Can't initialize ipvs: Protocol not available");
        return kernel.save();
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
    expect(t.kernel.table.get('-t 10.0.0.100:80')?.dests).toHaveLength(3);
    expect(t.logs.at(-1)!.msg).toBe('IPVS: ipvsadm works again; table in sync');
  });

  it('recovers when the cached picture was wrong (entry deleted by hand before a change)', async () => {
    const t = setup();
    t.rec.start();
    await t.clock.advance(1);
    t.kernel.restore(['-d -t 10.0.0.100:80 -r 10.0.0.2:80']);
    t.set(0, false); // wants -d of an entry that is already gone → "No such destination"
    await t.clock.advance(21);
    expect(t.rec.status().lastError?.stderr).toBe('No such destination');
    await t.clock.advance(501);
    expect(t.kernel.save()).toBe('-A -t 10.0.0.100:80 -s wlc\n-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.4:80 -m -w 1\n');
    const rec2 = t.rec.status();
    expect(rec2.failures).toBe(1);
  });

  it('removes only its own services on stop', async () => {
    const t = setup(new FakeIpvs('-A -t 10.0.0.200:80 -s rr\n'));
    t.rec.start();
    await t.clock.advance(1);
    await t.rec.stop();
    expect(t.kernel.save()).toBe('-A -t 10.0.0.200:80 -s rr\n');
    expect(t.clock.pendingTimers()).toBe(0);
  });
});
