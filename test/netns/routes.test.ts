// virtual_routes / virtual_rules and static_ipaddress / static_routes / static_rules on two
// hakeep directors in namespaces, read back with `ip route` / `ip rule` / `ip addr` inside each:
// the master has the virtual route and rule and the backup does not; after a failover they move;
// a reload on the master adds and removes exactly the difference; the static ones are there on
// both while the daemons run; SIGTERM removes everything (keepalived removes its static entries
// on exit too, vrrp_daemon.c:435-437); after a SIGKILL `hakeep cleanup` removes what was left.
// HAKEEP_ROUTES_BIN=/path/to/bin/hakeep.js runs another build (else dist/ is built from the sources).
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab, type LabHost } from '../helpers/netns.js';
import { buildHakeep, HAKEEP_BIN, tempDir } from './fixtures/vrrp-harness.js';

const BIN = process.env.HAKEEP_ROUTES_BIN ?? HAKEEP_BIN;
const SUBNET = '10.233.31';
const VIP = `${SUBNET}.100`;
const GW = `${SUBNET}.1`;

function conf(o: { priority: number; state: 'MASTER' | 'BACKUP'; staticAddr: string; routes?: string[] }): string {
  return [
    'global_defs {', `    router_id r${o.priority}`, '}',
    'static_ipaddress {', `    ${o.staticAddr}/32 dev eth0`, '}',
    'static_routes {', `    10.98.0.0/24 via ${GW} table 101`, '}',
    'static_rules {', '    fwmark 9 table 101 priority 1101', '}',
    'vrrp_instance VI_1 {', `    state ${o.state}`, '    interface eth0', '    virtual_router_id 61',
    `    priority ${o.priority}`, '    advert_int 1',
    '    virtual_ipaddress {', `        ${VIP}/24 dev eth0`, '    }',
    '    virtual_routes {',
    ...(o.routes ?? [`10.99.0.0/24 via ${GW} table 100`, 'blackhole 10.97.0.0/16 table 100']).map((r) => `        ${r}`),
    '    }',
    '    virtual_rules {', `        from ${VIP} table 100 priority 1100`, '    }',
    '}', '',
  ].join('\n');
}

/** hakeep in a namespace, its JSON log lines kept. */
class Director {
  readonly msgs: string[] = [];
  readonly exited: Promise<void>;
  private constructor(readonly name: string, readonly file: string, private readonly proc: ChildProcess) {
    let buf = '';
    const onData = (chunk: string): void => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const p of parts) {
        try {
          this.msgs.push(String((JSON.parse(p) as { msg?: unknown }).msg ?? p));
        } catch {
          this.msgs.push(p);
        }
      }
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.stderr!.setEncoding('utf8').on('data', onData);
    this.exited = new Promise((r) => proc.on('exit', () => r()));
  }

  static start(host: LabHost, name: string, text: string, dir: string): Director {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, text);
    const proc = host.spawn(['node', BIN, '-n', '-P', '-f', file, '-p', join(dir, `${name}.pid`), '--status-socket', join(dir, `${name}.sock`)]);
    return new Director(name, file, proc);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.proc.pid!, sig);
  }

  async waitLog(re: RegExp, ms: number, from = 0): Promise<void> {
    await waitFor(`${this.name} to log ${re}\n${this.dump()}`, () => this.msgs.slice(from).some((m) => re.test(m)), ms, 20);
  }

  async stop(): Promise<void> {
    this.signal('SIGTERM');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.running) {
      this.signal('SIGKILL');
      throw new Error(`${this.name} did not exit within 10 s of SIGTERM\n${this.dump()}`);
    }
  }

  dump(): string {
    return `--- ${this.name} ---\n${this.msgs.join('\n')}`;
  }
}

interface Seen {
  table100: string[];
  table101: string[];
  rules: string[];
  staticAddr: boolean;
}

async function seen(h: LabHost, staticAddr: string): Promise<Seen> {
  const lines = async (argv: string[]): Promise<string[]> => {
    const r = await h.exec(argv);
    // A table that was never used answers an error: nothing in it.
    return r.code === 0 ? r.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean) : [];
  };
  const addr = await h.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  return {
    table100: await lines(['ip', 'route', 'show', 'table', '100']),
    table101: await lines(['ip', 'route', 'show', 'table', '101']),
    rules: (await lines(['ip', 'rule', 'show'])).filter((l) => /^11(00|01):/.test(l)),
    staticAddr: addr.stdout.includes(` ${staticAddr}/32 `),
  };
}

const VIRTUAL_ROUTES = [`10.99.0.0/24 via ${GW} dev eth0 proto keepalived`, 'blackhole 10.97.0.0/16 proto keepalived'];
const VIRTUAL_RULE = `1100: from ${VIP} lookup 100 proto keepalived`;
const STATIC_ROUTE = `10.98.0.0/24 via ${GW} dev eth0 proto keepalived`;
const STATIC_RULE = '1101: from all fwmark 0x9 lookup 101 proto keepalived';

describe('virtual and static routes/rules on two directors (netns)', () => {
  let lab: Lab;
  let tmp: ReturnType<typeof tempDir>;
  let d1: LabHost;
  let d2: LabHost;
  const started: Director[] = [];
  const start = (h: LabHost, name: string, text: string): Director => {
    const d = Director.start(h, name, text, tmp.dir);
    started.push(d);
    return d;
  };
  const dumpAll = (): string => started.map((d) => d.dump()).join('\n');
  const conf1 = conf({ priority: 150, state: 'MASTER', staticAddr: '192.168.231.1' });
  const conf2 = conf({ priority: 100, state: 'BACKUP', staticAddr: '192.168.231.2' });

  beforeAll(async () => {
    if (!process.env.HAKEEP_ROUTES_BIN) await buildHakeep();
    lab = await createLab('hkrt', ['d1', 'd2'], SUBNET);
    tmp = tempDir('routes');
    d1 = lab.hosts.d1!;
    d2 = lab.hosts.d2!;
  }, 240_000);

  afterAll(async () => {
    for (const d of started) d.signal('SIGKILL');
    await lab?.destroy();
    tmp?.remove();
  });

  it('master has the virtual route and rule, the backup not; static ones on both; they move on failover, a reload changes only the difference, SIGTERM removes all', async () => {
    const h1 = start(d1, 'd1', conf1);
    await h1.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    const h2 = start(d2, 'd2', conf2);
    await h2.waitLog(/^\(VI_1\) Entering BACKUP STATE \(init\)$/, 10_000);
    await h1.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    await waitFor('d1 to have its virtual routes', async () => (await seen(d1, '192.168.231.1')).table100.length === 2, 3000);

    const m = await seen(d1, '192.168.231.1');
    expect(m.table100.sort(), dumpAll()).toEqual([...VIRTUAL_ROUTES].sort());
    expect(m.rules).toEqual([VIRTUAL_RULE, STATIC_RULE]);
    expect(m.table101).toEqual([STATIC_ROUTE]);
    expect(m.staticAddr).toBe(true);
    const b = await seen(d2, '192.168.231.2');
    expect(b, dumpAll()).toEqual({ table100: [], table101: [STATIC_ROUTE], rules: [STATIC_RULE], staticAddr: true });

    // Reload on the master: one route replaced, the rule and the other route untouched.
    const from = h1.msgs.length;
    writeFileSync(h1.file, conf({ priority: 150, state: 'MASTER', staticAddr: '192.168.231.1', routes: [`10.99.0.0/24 via ${GW} table 100`, 'blackhole 10.96.0.0/16 table 100'] }));
    h1.signal('SIGHUP');
    await h1.waitLog(/virtual routes\/rules reloaded: routes \+1 -1, rules \+0 -0/, 10_000, from);
    await waitFor('d1 table 100 after the reload', async () => (await seen(d1, '192.168.231.1')).table100.some((l) => l.includes('10.96.0.0')), 3000);
    const r = await seen(d1, '192.168.231.1');
    expect(r.table100.sort()).toEqual([`10.99.0.0/24 via ${GW} dev eth0 proto keepalived`, 'blackhole 10.96.0.0/16 proto keepalived'].sort());
    expect(r.rules).toEqual([VIRTUAL_RULE, STATIC_RULE]);

    // Failover: SIGTERM on d1 → d2 master with the routes; d1 keeps nothing, static ones included.
    await h1.stop();
    await h2.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 8000);
    await waitFor('d2 to have the virtual routes', async () => (await seen(d2, '192.168.231.2')).table100.length === 2, 3000);
    const after = await seen(d2, '192.168.231.2');
    expect(after.table100.sort(), dumpAll()).toEqual([...VIRTUAL_ROUTES].sort());
    expect(after.rules).toEqual([VIRTUAL_RULE, STATIC_RULE]);
    expect(await seen(d1, '192.168.231.1'), dumpAll()).toEqual({ table100: [], table101: [], rules: [], staticAddr: false });

    // d1 comes back with the higher priority and preempts: the routes move back.
    const h1b = start(d1, 'd1b', conf1);
    await h1b.waitLog(/^\(VI_1\) Entering MASTER STATE$/, 12_000);
    await h2.waitLog(/^\(VI_1\) Entering BACKUP STATE$/, 5000);
    await waitFor('d2 to drop the virtual routes', async () => (await seen(d2, '192.168.231.2')).table100.length === 0, 3000);
    await waitFor('d1 to have them again', async () => (await seen(d1, '192.168.231.1')).table100.length === 2, 3000);
    expect((await seen(d2, '192.168.231.2')).rules).toEqual([STATIC_RULE]);
    expect((await seen(d1, '192.168.231.1')).rules).toEqual([VIRTUAL_RULE, STATIC_RULE]);

    // SIGKILL on the master leaves its routes and rules; `hakeep cleanup` (the unit's
    // ExecStopPost) removes them (protocol keepalived only).
    h1b.signal('SIGKILL');
    await Promise.race([h1b.exited, new Promise((r) => setTimeout(r, 5000))]);
    expect((await seen(d1, '192.168.231.1')).table100.length).toBe(2);
    const c = await d1.exec(['node', BIN, 'cleanup', '-f', h1b.file, '-p', join(tmp.dir, 'd1b.pid')], 30_000);
    expect(c.stderr).toContain('hakeep cleanup: removed 5 route(s)/rule(s) left by a hakeep that did not stop cleanly');
    expect(c.code).toBe(0);
    // The static address is this box's own (no peer collides with it): cleanup leaves it, as
    // the next start would add it again.
    expect(await seen(d1, '192.168.231.1')).toEqual({ table100: [], table101: [], rules: [], staticAddr: true });

    // Stop the other: nothing of its own is left.
    await h2.stop();
    expect(await seen(d2, '192.168.231.2')).toEqual({ table100: [], table101: [], rules: [], staticAddr: false });
  }, 90_000);

  it('static entries alone run (no vrrp_instance, as keepalived) and go at SIGTERM', async () => {
    const text = [
      'static_routes {', `    10.98.0.0/24 via ${GW} table 101`, '}',
      'static_rules {', '    fwmark 9 table 101 priority 1101', '}', '',
    ].join('\n');
    const h = start(d2, 'd2s', text);
    await h.waitLog(/^static_rules set 1 route\(s\)\/rule\(s\)$/, 10_000);
    const s = await seen(d2, '192.168.231.2');
    expect([s.table101, s.rules], h.dump()).toEqual([[STATIC_ROUTE], [STATIC_RULE]]);
    await h.stop();
    const after = await seen(d2, '192.168.231.2');
    expect([after.table101, after.rules]).toEqual([[], []]);
  }, 30_000);
});
