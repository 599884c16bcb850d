// What a status request and a metrics scrape cost the daemon's main loop (the VRRP loop) on the
// checker side's account: the checker child's status arrives as JSON text (~2.5 MB at 10,000
// real servers, tens of ms to parse), so the status socket splices the text (raw-json.ts) and the
// metrics read the summary the child sends with it (check-summary.ts); neither may parse it.
// Checked with the real service and its real child (compiled, checking listeners on loopback),
// counting the JSON.parse calls on long texts this process makes; in-process readers that do read
// the child's fields still get them (parsed once per snapshot).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CheckerService, SupervisorOptions } from '../../src/check/service.js';
import type { Config } from '../../src/config/model.js';
import type { ServiceContext, StartOptions } from '../../src/daemon/service.js';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { fakeIpvsadm } from './check-fake-ipvsadm.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';
import { parseProm, requirePromParser, sample } from '../helpers/prom-parse.js';
import { createMetrics } from '../../src/daemon/metrics.js';

type Start = (config: Config, ctx: ServiceContext & StartOptions, opts?: SupervisorOptions) => Promise<CheckerService>;
type RawJson = typeof import('../../src/daemon/raw-json.js');

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs fn and counts JSON.parse calls on texts of at least `min` characters meanwhile. */
async function parsesDuring<T>(min: number, fn: () => T | Promise<T>): Promise<{ value: T; parses: number }> {
  const real = JSON.parse;
  let parses = 0;
  JSON.parse = ((text: string, reviver?: (k: string, v: unknown) => unknown) => {
    if (typeof text === 'string' && text.length >= min) parses++;
    return real(text, reviver);
  }) as typeof JSON.parse;
  try {
    return { value: await fn(), parses };
  } finally {
    JSON.parse = real;
  }
}

describe('checker status on the daemon loop: no parse for the status socket or the metrics', () => {
  let build: CheckerBuild;
  let start: Start;
  let raw: RawJson;
  const servers: Server[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hku-status-cost-'));
  const log = pino({ level: 'warn' }, new Writable({ write(_c, _e, cb) { cb(); } }));

  beforeAll(async () => {
    requirePromParser();
    build = compileChecker();
    ({ startSupervisedChecker: start } = (await import(join(build.dist, 'check/service.js'))) as { startSupervisedChecker: Start });
    // The service's own compiled copy (its raw-text marker is that module's symbol).
    raw = (await import(join(build.dist, 'daemon/raw-json.js'))) as RawJson;
  });
  afterAll(() => {
    for (const s of servers) s.close();
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status text spliced and metrics from the summary without parsing; the fields still read', async () => {
    const fake = fakeIpvsadm(dir);
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const srv = createServer((c) => c.destroy());
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      ports.push((srv.address() as AddressInfo).port);
    }
    const check = tcpCheck({ delayLoop: 0.2, connectTimeout: 1, retry: 0, warmup: 0 });
    const vs = virtualServer('10.0.0.100', 80, { realServers: ports.map((p) => realServer('127.0.0.1', p, { checkers: [check] })) });
    const svc = await start(config([vs]), { log }, { ipvsadmPath: fake.path, statusIntervalMs: 50 });
    const source = (): unknown => ({ version: 't', services: { check: svc.status() } });
    const metrics = createMetrics(source);
    try {
      await waitFor(() => svc.health().ok, 10_000, 'health ok (IPVS programmed)');
      // The very first status answers, before anything read the child's fields: no parse either
      // (the field names come with the child's summary).
      let first = { value: '', parses: 0 };
      for (let i = 0; i < 100 && !first.value.includes('"virtualServers"'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        const r = await parsesDuring(200, () => raw.stringifyStatus(source()));
        first = { value: r.value, parses: first.parses + r.parses };
      }
      expect(first.value).toContain('"virtualServers"');
      expect(first.parses).toBe(0);
      type St = { virtualServers: { realServers: { alive: boolean; checkers: { checks: number }[] }[] }[] };
      // The first reader parses (and learns the field names); wait for checks on every server.
      await waitFor(() => ((svc.status() as St).virtualServers[0]?.realServers ?? []).every((r) => r.alive && r.checkers[0]!.checks > 0), 10_000, 'three servers checked');
      // A change the child reports: one server dies and leaves the pool.
      servers[2]!.close();
      await waitFor(() => fake.commands().some((c) => c.startsWith(`-d -t 10.0.0.100:80 -r 127.0.0.1:${ports[2]}`)), 10_000, 'the removal');
      // Wait for a snapshot that says so, reading it without parsing: through the metrics.
      let fams = parseProm(await metrics.text());
      for (let i = 0; i < 100 && sample(fams, 'hakeep_real_servers_up', { virtual_server: '[10.0.0.100]:tcp:80' }) !== 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        fams = parseProm(await metrics.text());
      }
      expect(sample(fams, 'hakeep_real_servers_up', { virtual_server: '[10.0.0.100]:tcp:80' })).toBe(2);
      expect(sample(fams, 'hakeep_real_servers', { virtual_server: '[10.0.0.100]:tcp:80' })).toBe(3);

      // Now a fresh snapshot that nobody has parsed: a status answer and a scrape parse nothing long.
      const gen0 = (svc.status() as { child: { snapshotFrom: number } }).child.snapshotFrom;
      expect(gen0).toBe(1);
      type Clocked = { services: { check: { clock: { mono: number } } } };
      const mono0 = (JSON.parse(raw.stringifyStatus(source())) as Clocked).services.check.clock.mono;
      // Status answers until one carries a newer snapshot (the child refreshes it every few
      // seconds as checks go on; bounded): none of them may have parsed it.
      let text = '';
      let statusParses = 0;
      for (let i = 0; i < 80; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const r = await parsesDuring(200, () => raw.stringifyStatus(source()));
        statusParses += r.parses;
        text = r.value;
        if ((JSON.parse(text) as Clocked).services.check.clock.mono !== mono0) break;
      }
      expect((JSON.parse(text) as Clocked).services.check.clock.mono).not.toBe(mono0);
      const { value: body, parses: scrapeParses } = await parsesDuring(200, () => metrics.text());
      expect(statusParses).toBe(0);
      expect(scrapeParses).toBe(0);
      // The answer is the whole document (the child's fields spliced in) and the scrape has the checks.
      const doc = JSON.parse(text) as { services: { check: St & { name: string; ipvs: { batchesApplied: number } } } };
      expect(doc.services.check.name).toBe('check');
      expect(doc.services.check.virtualServers[0]!.realServers.map((r) => r.alive)).toEqual([true, true, false]);
      expect(doc.services.check.ipvs.batchesApplied).toBeGreaterThanOrEqual(2);
      const checked = parseProm(body);
      expect(sample(checked, 'hakeep_checks_total', { checker: 'TCP_CHECK', result: 'success' })).toBeGreaterThanOrEqual(3);
      expect(sample(checked, 'hakeep_checks_total', { checker: 'TCP_CHECK', result: 'failure' })).toBeGreaterThanOrEqual(1);
      // An in-process reader of the fields gets them: one parse, then cached for the snapshot.
      const { value: st, parses: readerParses } = await parsesDuring(200, () => {
        const s = svc.status() as St;
        return [s.virtualServers[0]!.realServers.map((r) => r.alive), (svc.status() as St).virtualServers.length];
      });
      expect(st).toEqual([[true, true, false], 1]);
      expect(readerParses).toBeLessThanOrEqual(1);
      // Spread and JSON.stringify see the same fields as the spliced text.
      expect(JSON.parse(JSON.stringify(svc.status()))).toMatchObject({ name: 'check', virtualServers: [{ vs: '[10.0.0.100]:tcp:80' }] });
    } finally {
      metrics.close();
      await svc.stop();
    }
  });
});
