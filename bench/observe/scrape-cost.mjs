// What one status request and one metrics scrape cost the daemon's main loop (the VRRP loop) with
// N real servers: the work done synchronously on that loop, measured in-process with the
// daemon's own modules on a status model of the shape the checker child reports (N real servers
// with one TCP_CHECK each, spread over N/100 virtual servers). A block of this length delays any
// VRRP timer that falls due during it. keepalived has neither a status socket nor metrics: no
// comparison figure here (its JSON dump, SIGRTMIN+2, is written by its VRRP process too, but
// holds no checker state).
//
//   node bench/observe/scrape-cost.mjs [--dist DIR] [--sizes 1000,10000] [--rounds 30]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const DIST = resolve(opt('--dist', new URL('../../dist', import.meta.url).pathname));
const SIZES = opt('--sizes', '1000,10000').split(',').map(Number);
const ROUNDS = Number(opt('--rounds', '30'));

const { createMetrics } = await import(pathToFileURL(`${DIST}/daemon/metrics.js`).href);
const { normaliseStatus, withDaemonClock } = await import(pathToFileURL(`${DIST}/daemon/status-format.js`).href);
const { statusParts, withRawTail } = await import(pathToFileURL(`${DIST}/daemon/raw-json.js`).href);
const { WRITE_SLICE } = await import(pathToFileURL(`${DIST}/daemon/status.js`).href);
const { summarizeCheckStatus, CHECK_SUMMARY } = await import(pathToFileURL(`${DIST}/daemon/check-summary.js`).href);

function model(n) {
  const vss = [];
  for (let v = 0; v < Math.max(1, n / 100); v++) {
    const realServers = [];
    for (let r = 0; r < Math.min(100, n); r++) {
      realServers.push({ rs: `[10.${v >> 8}.${v & 255}.${r + 1}]:tcp:80`, weight: 1, alive: r % 7 !== 0, inhibitOnFailure: false,
        checkers: [{ type: 'TCP_CHECK', target: `[10.${v >> 8}.${v & 255}.${r + 1}]:tcp:80`, up: true, weight: 0, lastOutcome: 'success', lastDetail: null, lastCheckAt: 1000 + r, checks: 500, failures: 3 }] });
    }
    vss.push({ vs: `[192.168.${v >> 8}.${v & 255}]:tcp:80`, quorumUp: true, sorryServerActive: false, liveWeight: 86, realServers });
  }
  // The child sends JSON; the daemon keeps the text and parses it when it changed (src/check/service.ts).
  const childJson = JSON.stringify({ virtualServers: vss, checks: { total: n * 500, failures: n * 3 }, ipvs: { batchesApplied: 10, commandsApplied: n, resyncs: 1, resyncsSkipped: 50, failures: 0, lastError: null, lastSyncAt: 900, lastRead: { at: 900, durationMs: 40 }, lastBatch: { commands: 3, at: 950, durationMs: 2 }, failingServices: [], owned: n / 100 }, clock: { mono: 1000, wall: Date.now() } });
  const instance = { name: 'VI_1', interface: 'eth0', vrid: 51, state: 'MASTER', priority: 150, effectivePriority: 150, masterIp: null, masterPriority: null, sourceIp: '10.0.0.1', vips: ['10.0.0.100/32'], vipsConfigured: true, vipsPresent: ['10.0.0.100/32'], vipFailures: [], faults: [], trackWeights: {}, counters: { advertsSent: 100, advertsReceived: 0, priorityZeroReceived: 0, priorityZeroSent: 0, sendErrors: 0, becameMaster: 1, releasedMaster: 0, faults: 0, vipsReadded: 0, rejected: {} }, transitions: 2, lastTransition: null, timer: { fired: 100, lastMs: 0.1, meanMs: 0.2, maxMs: 1, over50Ms: 0 } };
  // The child sends a summary with the text (check-summary.ts); the service exposes the child's
  // fields as getters that parse on first read (src/check/service.ts). Every round here is a new
  // snapshot (at 10,000 real servers the child's snapshot changes between two scrapes).
  const summary = summarizeCheckStatus(JSON.parse(childJson));
  const keys = Object.keys(JSON.parse(childJson));
  const vrrp = { instances: [instance], syncGroups: [], trackers: null, notify: null, alerts: {}, scripts: null };
  return () => {
    let parsed = null;
    const check = { name: 'check', health: { ok: true, detail: '' }, child: { pid: 1, generation: 1, restarts: 0, lastExit: null, probe: 'addon' } };
    for (const k of keys) Object.defineProperty(check, k, { enumerable: true, get: () => (parsed ??= JSON.parse(childJson))[k] });
    Object.defineProperty(check, CHECK_SUMMARY, { value: summary, enumerable: false });
    withRawTail(check, { json: childJson, keys });
    return { version: 'bench', pid: process.pid, startedAt: new Date().toISOString(), configFile: 'x', drained: [], services: { vrrp, check } };
  };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

console.log('real servers | daemon: status answer (parts) ms median / max | longest slice write ms median | daemon: metrics scrape ms median / max | parse of a snapshot (before 622a359, per status/scrape) ms median | client: document (normalise) ms median | metrics body bytes');
for (const n of SIZES) {
  const source = model(n);
  const metrics = createMetrics(source);
  const st = [];
  const mt = [];
  const ct = [];
  const pt = [];
  const sl = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    // What the daemon does for `status` (src/daemon/status.ts) in one go: the raw status and its
    // clock as parts, the child's text one of them (raw-json.ts); then the longest of the slices
    // it writes one per loop turn (writeSliced: copy and encode WRITE_SLICE characters).
    const parts = statusParts(withDaemonClock(source()));
    st.push(performance.now() - t);
    let longest = 0;
    for (const part of parts) {
      for (let at = 0; at < part.length; at += WRITE_SLICE) {
        const t1 = performance.now();
        Buffer.from(part.slice(at, at + WRITE_SLICE));
        longest = Math.max(longest, performance.now() - t1);
      }
    }
    sl.push(longest);
    const text = parts.join('');
    // What it did before (a parse of each new snapshot, and the metrics read the parsed copy).
    t = performance.now();
    const doc = source();
    void doc.services.check.virtualServers;
    pt.push(performance.now() - t);
    // What `hakeep status` does with it, in its own process.
    const raw = JSON.parse(text);
    t = performance.now();
    normaliseStatus(raw, null);
    ct.push(performance.now() - t);
    t = performance.now();
    // registry.metrics() is async only in form: the work runs before its first await resolves.
    const body = await metrics.text();
    mt.push(performance.now() - t);
    bytes = body.length;
  }
  metrics.close();
  console.log(`${String(n).padStart(12)} | ${median(st).toFixed(2)} / ${Math.max(...st).toFixed(2)} | ${median(sl).toFixed(2)} | ${median(mt).toFixed(2)} / ${Math.max(...mt).toFixed(2)} | ${median(pt).toFixed(2)} | ${median(ct).toFixed(2)} | ${bytes}`);
}
