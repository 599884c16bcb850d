// hakeep's IPVS reconciler against the real kernel and the real ipvsadm, inside a UML guest (run
// by test/uml/guest/ipvs-reconcile.sh). The reconciler and its helpers come compiled from
// $HK_IPVS_JS; everything is checked from outside it: /proc/net/ip_vs and `ipvsadm -S -n`.
// Each assertion goes to $RESULT_DIR/results.jsonl, measurements to $RESULT_DIR/metrics.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { log, record, sh, sleep } from './lib.mjs';

const JS = process.env.HK_IPVS_JS;
const RESULT_DIR = process.env.RESULT_DIR;
if (!JS) throw new Error('HK_IPVS_JS is not set: test/uml/ipvs-reconcile.test.ts compiles src/ipvs there');
const { Reconciler } = await import(`${JS}/ipvs/reconciler.js`);
const { ipvsadmBackendPair } = await import(`${JS}/ipvs/ipvsadm-session.js`);
const { fileOwnedStore } = await import(`${JS}/ipvs/owned.js`);
const { parseIpvsadmSave } = await import(`${JS}/ipvs/ipvsadm-parse.js`);
const { diffTables } = await import(`${JS}/ipvs/diff.js`);
const { serviceKey } = await import(`${JS}/ipvs/model.js`);

const metrics = {};
const timers = { now: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h) };

/** A reconciler on the real ipvsadm (session for batches, ipvsadm -S -n for reads), counting what it sends. */
function makeRec({ owned = null, stopMode = 'remove', resyncMs = 2000 } = {}) {
  const inner = ipvsadmBackendPair({ onFallback: (why) => log(`fallback: ${why}`) });
  const sent = [];
  const logs = [];
  const backend = {
    save: () => inner.save(),
    restore: (lines) => { sent.push(...lines); return inner.restore(lines); },
    close: () => inner.close?.(),
    fingerprint: () => inner.fingerprint(),
  };
  const rec = new Reconciler({
    backend, timers, log: (level, msg, fields) => { logs.push({ level, msg, fields }); if (level !== 'debug') log(`[${level}] ${msg}`); },
    resyncMs, retryMs: 300, failRetryMaxMs: 2000, stopMode, owned,
  });
  return { rec, sent, logs };
}

const dest = (ip, port, forward = 'masq', weight = 1, extra = {}) => ({
  ip, family: ip.includes(':') ? 6 : 4, port, forward, weight, upperThreshold: 0, lowerThreshold: 0, ...extra,
});

function tcp(ip, port, dests, over = {}) {
  const s = {
    addr: { kind: 'ip', protocol: 'tcp', ip, port, family: ip.includes(':') ? 6 : 4 }, scheduler: 'rr', persistence: null,
    netmask: null, ops: false, schedFlags: [], dests, ...over,
  };
  return { ...s, name: `VS [${s.addr.ip}]:tcp:${s.addr.port} (guest)` };
}

/** The kernel table from /proc/net/ip_vs: "TCP 0A500101:0050" → ["-> 0A500701:1F90 Masq 1", …]. */
function procTable() {
  const out = new Map();
  let cur = null;
  for (const line of readFileSync('/proc/net/ip_vs', 'utf8').split('\n').slice(3)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '->') cur?.push(f.slice(0, 4).join(' '));
    else if (f.length >= 2 && f[0] !== '') out.set(`${f[0]} ${f[1]}`, (cur = []));
  }
  return out;
}
const hex4 = (ip) => ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('').toUpperCase();
const procKey = (ip, port) => `TCP ${hex4(ip)}:${port.toString(16).padStart(4, '0').toUpperCase()}`;

async function until(cond, ms) {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await sleep(50);
  return cond();
}

// ── 1. Ten good services and one ipvsadm refuses ─────────────────────────────────────────────
async function tenAndOne(label, bad, expectError) {
  const good = Array.from({ length: 10 }, (_, i) => tcp(`10.80.1.${i + 1}`, 80, [1, 2, 3].map((n) => dest(`10.80.3.${n}`, 8080))));
  const { rec, logs } = makeRec();
  rec.setDesired([...good.slice(0, 5), bad, ...good.slice(5)]);
  const t0 = performance.now();
  rec.start();
  await rec.firstSync;
  metrics[`${label}: first sync ms`] = Math.round(performance.now() - t0);
  const table = procTable();
  const converged = good.every((g) => table.get(procKey(g.addr.ip, 80))?.length === 3);
  record(`${label}: the ten good services converge`, converged, { services: [...table.keys()] });
  const failing = rec.status().failingServices;
  record(`${label}: the refused service is reported by name, command and ipvsadm's message`,
    failing.length === 1 && failing[0].service === serviceKey(bad.addr) && failing[0].name === bad.name &&
      failing[0].command.startsWith(`-A ${serviceKey(bad.addr)}`) && expectError.test(failing[0].error), failing);
  // A health change on a good service goes out while the bad one keeps failing.
  rec.update([{ ...good[0], dests: good[0].dests.slice(0, 2) }]);
  const t1 = performance.now();
  const applied = await until(() => procTable().get(procKey('10.80.1.1', 80))?.length === 2, 3000);
  metrics[`${label}: a change next to the refused service applied in ms`] = Math.round(performance.now() - t1);
  // Retries 0.3, 0.6, 1.2 s apart; each one restarts ipvsadm (an option error ends it), which costs
  // about a second in this guest, so two or more attempts within 6 s.
  await sleep(6000);
  const errors = logs.filter((l) => l.level === 'error');
  const st = rec.status().failingServices[0];
  metrics[`${label}: attempts within 6 s`] = st?.attempts;
  record(`${label}: other changes still apply, the bad one is retried with backoff and logged once`,
    applied && st?.attempts >= 2 && errors.length === 1 && errors[0].msg.includes(bad.name) && errors[0].msg.includes(st.command) && expectError.test(errors[0].msg),
    { applied, attempts: st?.attempts, errors: errors.map((e) => e.msg) });
  await rec.stop();
  record(`${label}: stop removes the ten`, procTable().size === 0, [...procTable().keys()]);
}

// ── 2. The owned record across a restart ──────────────────────────────────────────────────────
async function ownedRecord() {
  const path = '/run/hk-test/owned.json';
  const s1 = tcp('10.80.4.1', 80, [dest('10.80.3.1', 80), dest('10.80.3.2', 80)]);
  const s2 = tcp('10.80.4.2', 80, [dest('10.80.3.3', 80)]);
  const a = makeRec({ owned: fileOwnedStore(path), stopMode: 'keep' });
  a.rec.setDesired([s1, s2]);
  a.rec.start();
  await a.rec.firstSync;
  sh('ipvsadm', ['-R'], '-A -t 10.80.9.9:80 -s rr\n-a -t 10.80.9.9:80 -r 10.80.3.9:80 -m -w 4\n');
  const before = readFileSync('/proc/net/ip_vs', 'utf8');
  await a.rec.stop();
  record('owned: stop with dont_release_ipvs leaves the table as it is', readFileSync('/proc/net/ip_vs', 'utf8') === before, before);
  const recorded = JSON.parse(readFileSync(path, 'utf8')).services.map((x) => x.ip).sort();
  record('owned: the record lists the services hakeep created', JSON.stringify(recorded) === '["10.80.4.1","10.80.4.2"]', recorded);

  const b = makeRec({ owned: fileOwnedStore(path) });
  b.rec.setDesired([s1]);
  b.rec.start();
  await b.rec.firstSync;
  const t = procTable();
  record('owned: after restart, the service removed from the config is gone, with one -D and nothing else',
    !t.has(procKey('10.80.4.2', 80)) && JSON.stringify(b.sent) === '["-D -t 10.80.4.2:80"]', { sent: b.sent, services: [...t.keys()] });
  record('owned: the hand-made service survives', t.get(procKey('10.80.9.9', 80))?.length === 1, [...t.keys()]);
  await b.rec.stop();
  const after = procTable();
  record('owned: a normal stop removes the configured service, the hand-made one stays, the record is empty',
    !after.has(procKey('10.80.4.1', 80)) && after.has(procKey('10.80.9.9', 80)) && JSON.parse(readFileSync(path, 'utf8')).services.length === 0,
    [...after.keys()]);
  sh('ipvsadm', ['-D', '-t', '10.80.9.9:80']);
}

// ── 3. Restart over 1,000 destinations with dont_release_ipvs ────────────────────────────────
async function adoption() {
  const path = '/run/hk-test/owned-big.json';
  const big = Array.from({ length: 10 }, (_, s) => tcp(`10.80.5.${s + 1}`, 80,
    Array.from({ length: 100 }, (_, d) => dest(`10.80.${10 + s}.${d + 1}`, 8080, 'masq', (d % 5) + 1))));
  const a = makeRec({ owned: fileOwnedStore(path), stopMode: 'keep' });
  a.rec.setDesired(big);
  let t0 = performance.now();
  a.rec.start();
  await a.rec.firstSync;
  metrics['adoption: programming 1,000 destinations from empty, ms'] = Math.round(performance.now() - t0);
  const full = [...procTable().values()].reduce((n, d) => n + d.length, 0);
  await a.rec.stop();
  const before = readFileSync('/proc/net/ip_vs', 'utf8');
  const b = makeRec({ owned: fileOwnedStore(path) });
  b.rec.setDesired(big);
  t0 = performance.now();
  b.rec.start();
  await b.rec.firstSync;
  const ms = performance.now() - t0;
  metrics['adoption: first sync over the 1,000 destinations a previous run left, ms'] = Math.round(ms);
  const after = readFileSync('/proc/net/ip_vs', 'utf8');
  const count = (c) => b.sent.filter((l) => l.startsWith(`${c} `)).length;
  record('adoption: 1,000 destinations in the table before the restart', full === 1000, { destinations: full });
  record('adoption: the new reconciler sends no -D/-A/-d/-a (no command at all)',
    b.sent.length === 0, { '-D': count('-D'), '-A': count('-A'), '-d': count('-d'), '-a': count('-a'), total: b.sent.length, firstSyncMs: Math.round(ms) });
  record('adoption: /proc/net/ip_vs identical before and after', before === after, { beforeLines: before.split('\n').length, afterLines: after.split('\n').length });
  await b.rec.stop();
}

// ── 4. Convergence property against the real ipvsadm ─────────────────────────────────────────
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTable(rnd) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const chance = (p) => rnd() < p;
  const services = new Map();
  const n = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const family = chance(0.35) ? 6 : 4;
    const k = 1 + Math.floor(rnd() * 4);
    let addr;
    if (chance(0.25)) addr = { kind: 'fwmark', fwmark: k, family };
    else {
      const port = chance(0.2) ? 0 : 80;
      addr = { kind: 'ip', protocol: pick(['tcp', 'udp', 'sctp']), ip: family === 4 ? `10.80.6.${k}` : `fd00:80::6:${k}`, port, family };
    }
    const udpish = addr.kind === 'fwmark' || addr.protocol === 'udp';
    const persistence = addr.kind === 'ip' && addr.port === 0 ? pick([60, 300]) : pick([null, null, 60, 300]);
    const svc = {
      addr, scheduler: pick(['rr', 'wrr', 'wlc', 'sh', 'mh', 'lc']), persistence,
      netmask: persistence !== null && chance(0.4) ? (family === 4 ? '255.255.255.0' : '64') : null,
      ops: udpish && chance(0.4), schedFlags: ['flag-1', 'flag-2', 'flag-3'].filter(() => chance(0.25)), dests: [],
    };
    if (persistence !== null && addr.kind === 'ip' && addr.protocol === 'udp' && chance(0.4)) svc.persistenceEngine = 'sip';
    const dests = new Map();
    const nd = Math.floor(rnd() * 7);
    for (let j = 0; j < nd; j++) {
      const forward = pick(['masq', 'route', 'tunnel']);
      const dfam = forward === 'tunnel' && chance(0.3) ? (family === 4 ? 6 : 4) : family;
      const m = 2 + Math.floor(rnd() * 8);
      const ip = dfam === 4 ? `10.80.7.${m}` : `fd00:80::7:${m}`;
      let port = pick([0, 80, 8080]);
      if (addr.kind === 'ip' && (forward !== 'masq' || port === 0)) port = addr.port;
      const d = dest(ip, port, forward, Math.floor(rnd() * 11));
      if (forward === 'tunnel') {
        const t = pick([null, { type: 'gue', port: 6080, csum: 'nocsum' }, { type: 'gue', port: 6081, csum: 'remcsum' }, { type: 'gre', port: 0, csum: 'csum' }]);
        if (t) d.tunnel = t;
      }
      dests.set(`${ip}|${port}`, d);
    }
    svc.dests = [...dests.values()];
    services.set(serviceKey(addr), svc);
  }
  return [...services.values()];
}

/** A service ipvsadm refuses, of one of the kinds it can be refused for. */
function badService(rnd) {
  const kind = ['zero-port', 'ops-tcp', 'scheduler', 'family'][Math.floor(rnd() * 4)];
  const base = tcp('10.80.8.1', 80, [dest('10.80.7.20', 80)]);
  if (kind === 'zero-port') return tcp('10.80.8.1', 0, base.dests);
  if (kind === 'ops-tcp') return { ...base, ops: true };
  if (kind === 'scheduler') return { ...base, scheduler: 'twos' };
  return { ...base, dests: [...base.dests, dest('fd00:80::7:20', 80)] };
}

async function property() {
  const seed = Number(process.env.HK_PROPERTY_SEED ?? Date.now() % 2 ** 31);
  const steps = Number(process.env.HK_PROPERTY_STEPS ?? 300);
  const budgetMs = Number(process.env.HK_PROPERTY_BUDGET_MS ?? 240_000);
  const rnd = mulberry32(seed);
  sh('ipvsadm', ['-R'], '-A -t 10.80.9.8:80 -s rr\n-a -t 10.80.9.8:80 -r 10.80.3.8:80 -m -w 3\n');
  // No periodic re-read here: every step is checked by its own read.
  const { rec, logs } = makeRec({ resyncMs: 3_600_000 });
  rec.setDesired([]);
  rec.start();
  await rec.firstSync;
  const t0 = performance.now();
  let done = 0;
  let failure = null;
  let refused = 0;
  let flushMs = 0;
  for (let i = 0; i < steps && performance.now() - t0 < budgetMs; i++) {
    const valid = randomTable(rnd);
    const bad = rnd() < 0.1 ? badService(rnd) : null;
    rec.setDesired(bad ? [...valid, bad] : valid);
    const f0 = performance.now();
    await rec.flush();
    flushMs += performance.now() - f0;
    const text = sh('ipvsadm', ['-S', '-n']);
    const { table, errors } = parseIpvsadmSave(text);
    const left = diffTables(valid, table);
    const failing = rec.status().failingServices.map((f) => f.service);
    const wanted = new Set([...valid, ...(bad ? [bad] : [])].map((s) => serviceKey(s.addr)));
    const extra = [...table.keys()].filter((k) => k !== '-t 10.80.9.8:80' && !wanted.has(k));
    const foreign = table.get('-t 10.80.9.8:80')?.dests.length === 1;
    const expectFailing = bad ? [serviceKey(bad.addr)] : [];
    if (errors.length > 0 || left.length > 0 || extra.length > 0 || !foreign || JSON.stringify(failing) !== JSON.stringify(expectFailing)) {
      failure = { step: i, seed, errors, left, extra, foreign, failing, expectFailing, desired: valid, bad, table: text, logs: logs.slice(-20) };
      break;
    }
    if (bad) refused++;
    done++;
  }
  metrics['property: steps'] = done;
  metrics['property: steps with a refused service'] = refused;
  metrics['property: seed'] = seed;
  metrics['property: ms per step'] = done ? Math.round((performance.now() - t0) / done) : null;
  metrics['property: ms per step in the reconciler (the rest is the check)'] = done ? Math.round(flushMs / done) : null;
  record(`property: the reconciler converges on the real ipvsadm, step after step (seed ${seed})`, failure === null && done >= 200, failure ?? { steps: done, refused });
  await rec.stop();
  sh('ipvsadm', ['-D', '-t', '10.80.9.8:80']);
}

try {
  sh('ipvsadm', ['-C']);
  await tenAndOne('option error', tcp('10.80.2.1', 0, [dest('10.80.3.5', 0)]), /Zero port specified for non-persistent service/);
  await tenAndOne('kernel error', tcp('10.80.2.2', 80, [dest('10.80.3.5', 80)], { scheduler: 'twos' }), /Scheduler or persistence engine not found|No such file|not found/);
  await ownedRecord();
  await adoption();
  await property();
} catch (e) {
  record('the scenario ran to its end', false, String(e?.stack ?? e));
} finally {
  writeFileSync(`${RESULT_DIR}/metrics.json`, `${JSON.stringify(metrics, null, 1)}\n`);
  log(`metrics: ${JSON.stringify(metrics)}`);
}
process.exit(0);
