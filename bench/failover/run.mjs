#!/usr/bin/env node
// Failover bench: hakeep against keepalived in the same run, same lab, rounds interleaved.
//
//   (a) kill -9 of the master → VIP present on the backup; measured from the master's last
//       advert seen on the backup's wire (RFC 3768: Master_Down_Interval after it), and from the kill
//   (b) SIGTERM of the master → VIP on the backup; measured from the priority-0 advert on the
//       wire (RFC: Skew_Time after it), and from the signal
//   (c) VIP added on the new master → its first gratuitous ARP on the wire
//   idle CPU and RSS of a master daemon (keepalived: parent + VRRP child)
// "its first advert" is the new master's first advert, sent before it adds the VIPs: the
// takeover decision alone, without the cost of configuring the address.
//
// Usage (root; after npm run build): node bench/failover/run.mjs [--rounds N] [--json FILE]
// Timestamps: tcpdump -tt (kernel capture time) and `ip -ts monitor` (netlink event), both
// observed passively inside the backup's namespace, so nothing polls the daemons.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cliOption, createLab, Daemon, hasAddress, killAll, procUsage, sh, sleep, startAddrWatch, startWire, vrrpConf, waitUntil,
} from './lab.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const opt = cliOption;
const ROUNDS = Math.max(5, Number(opt('--rounds', '5')));
const JSON_OUT = opt('--json', null);
const IDLE_MS = 10_000;

const PREFIX = 'hkb';
const SUBNET = '10.233.2';
const VIP = `${SUBNET}.100`;
const BACKUP_PRIO = 100;
const RFC_SKEW = ((256 - BACKUP_PRIO) * 1000) / 256; // 609.4 ms
const RFC_DOWN = 3 * 1000 + RFC_SKEW; // 3609.4 ms
const IMPLS = ['hakeep', 'keepalived'];

function preflight() {
  if (process.getuid?.() !== 0) throw new Error('the bench creates network namespaces: run it as root');
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run npm run build first');
  for (const [cmd, v, pkg] of [['keepalived', '-v', 'keepalived'], ['tcpdump', '--version', 'tcpdump'], ['ip', '-V', 'iproute2']]) {
    try { sh([cmd, v]); } catch { throw new Error(`${cmd} is missing: apt-get install -y ${pkg}`); }
  }
}

const samples = Object.fromEntries(IMPLS.map((k) => [k, { a: [], aAdv: [], aKill: [], b: [], bAdv: [], bSig: [], bP0: [], c: [], cpu: null, rss: null }]));

async function round(kind, lab, dir, i, measureIdle) {
  const { m: mh, b: bh } = lab.hosts;
  const s = samples[kind];
  const wire = await startWire(bh, VIP);
  const addrB = await startAddrWatch(bh, VIP);
  const confM = vrrpConf({ priority: 150, state: 'MASTER', vip: VIP, routerId: 'm' });
  const confB = vrrpConf({ priority: BACKUP_PRIO, vip: VIP, routerId: 'b' });
  const daemons = [];
  const start = (host, name, conf) => {
    const d = Daemon.start(kind, ROOT, host, `${kind}-${name}-${i}`, conf, dir);
    daemons.push(d);
    return d;
  };
  try {
    const backup = start(bh, 'b', confB);
    let master = start(mh, 'm', confM);
    await waitUntil(`${kind} master to hold the VIP`, () => hasAddress(mh, VIP), 10_000, 50);
    await sleep(1500);
    if (addrB.events.some((e) => e.present)) throw new Error(`${kind}: the backup took the VIP during the election`);

    if (measureIdle) {
      await sleep(500);
      const pids = master.pids();
      const u0 = procUsage(pids);
      const t0 = performance.now();
      await sleep(IDLE_MS);
      const u1 = procUsage(pids);
      s.cpu = ((u1.cpu - u0.cpu) / ((performance.now() - t0) / 1000)) * 100;
      s.rss = u1.rss;
    }

    // (a) crash: align the kill a little after an advert so the kill→VIP figure is comparable.
    const nAdv = wire.events.length;
    await waitUntil('an advert', () => wire.events.slice(nAdv).some((e) => e.kind === 'advert' && e.src === mh.ip), 3000);
    await sleep(50);
    const killAt = Date.now();
    master.crash();
    const upA = await waitUntil('VIP on the backup after kill -9', () => addrB.events.find((e) => e.present && e.t >= killAt), RFC_DOWN + 5000);
    const lastAdv = wire.events.filter((e) => e.kind === 'advert' && e.src === mh.ip && e.t <= killAt).at(-1);
    s.a.push(upA.t - lastAdv.t);
    s.aKill.push(upA.t - killAt);
    const garpA = await waitUntil('GARP', () => wire.events.find((e) => e.kind === 'garp' && e.mac === bh.mac && e.t >= upA.t - 50), 3000);
    s.c.push(garpA.t - upA.t);
    // The new master's first advert marks its takeover decision (both send it before the VIPs).
    const firstA = await waitUntil('the new master\'s advert', () => wire.events.find((e) => e.kind === 'advert' && e.src === bh.ip && e.t >= killAt), 3000);
    s.aAdv.push(firstA.t - lastAdv.t);
    await master.exited;

    // The master returns and preempts back; then (b) graceful stop.
    master = start(mh, 'm2', confM);
    await waitUntil(`${kind} master to take the VIP back`, () => hasAddress(mh, VIP) && !hasAddress(bh, VIP), 15_000, 50);
    await sleep(1500);
    const termAt = Date.now();
    master.term();
    const upB = await waitUntil('VIP on the backup after SIGTERM', () => addrB.events.find((e) => e.present && e.t >= termAt), 5000);
    const prio0 = wire.events.find((e) => e.kind === 'advert' && e.src === mh.ip && e.prio === 0 && e.t >= termAt);
    if (!prio0) throw new Error(`${kind}: no priority-0 advert seen after SIGTERM`);
    s.b.push(upB.t - prio0.t);
    s.bP0.push(prio0.t - termAt);
    s.bSig.push(upB.t - termAt);
    const garpB = await waitUntil('GARP', () => wire.events.find((e) => e.kind === 'garp' && e.mac === bh.mac && e.t >= upB.t - 50), 3000);
    s.c.push(garpB.t - upB.t);
    const firstB = await waitUntil('the new master\'s advert', () => wire.events.find((e) => e.kind === 'advert' && e.src === bh.ip && e.t >= prio0.t), 3000);
    s.bAdv.push(firstB.t - prio0.t);
    await master.exited;
    backup.term();
    await backup.exited;
  } catch (e) {
    for (const d of daemons) process.stderr.write(`--- ${d.name} ---\n${d.log.slice(-3000)}\n`);
    throw e;
  } finally {
    for (const d of daemons) if (d.running) d.crash();
    await Promise.all(daemons.map((d) => d.exited));
    wire.stop();
    addrB.stop();
    // keepalived and hakeep both remove their VIPs on start; leave none behind between rounds.
    for (const h of [mh, bh]) sh(['ip', '-n', h.ns, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0'], { allowFail: true });
  }
}

const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  const n = v.length;
  return n === 0 ? NaN : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
const max = (xs) => Math.max(...xs);
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
/** A ratio only means something when the denominator is clearly above zero. */
const ratio = (a, b, d = 3) => (Number.isFinite(a) && Number.isFinite(b) && b > 0.05 ? (a / b).toFixed(d) : 'n/a');

function report() {
  const h = samples.hakeep;
  const k = samples.keepalived;
  const rows = [
    ['(a) last advert -> VIP on backup', 'a', 'ms', 1],
    ['    last advert -> its first advert', 'aAdv', 'ms', 1],
    ['    kill -9 -> VIP on backup', 'aKill', 'ms', 1],
    ['(b) priority 0 -> VIP on backup', 'b', 'ms', 1],
    ['    priority 0 -> its first advert', 'bAdv', 'ms', 1],
    ['    SIGTERM -> VIP on backup', 'bSig', 'ms', 1],
    ['    SIGTERM -> priority 0 on wire', 'bP0', 'ms', 2],
    ['(c) VIP added -> first GARP', 'c', 'ms', 2],
  ];
  const out = [];
  out.push(`failover bench: ${ROUNDS} rounds each, rounds interleaved; advert_int 1 s, backup priority ${BACKUP_PRIO}`);
  out.push(`RFC 3768 figures: Master_Down_Interval ${f(RFC_DOWN)} ms, Skew_Time ${f(RFC_SKEW)} ms`);
  out.push('');
  out.push(`${'measure'.padEnd(36)}${'hakeep median / max'.padEnd(24)}${'keepalived median / max'.padEnd(26)}ratio (median)`);
  for (const [label, key, unit, d] of rows) {
    const hm = median(h[key]);
    const km = median(k[key]);
    out.push(`${label.padEnd(36)}${`${f(hm, d)} / ${f(max(h[key]), d)} ${unit}`.padEnd(24)}${`${f(km, d)} / ${f(max(k[key]), d)} ${unit}`.padEnd(26)}${ratio(hm, km)}`);
  }
  out.push(`${'idle CPU, master (10 s)'.padEnd(36)}${`${f(h.cpu, 3)} %`.padEnd(24)}${`${f(k.cpu, 3)} %`.padEnd(26)}${ratio(h.cpu, k.cpu, 2)}`);
  out.push(`${'RSS, master'.padEnd(36)}${`${f(h.rss / 2 ** 20)} MiB`.padEnd(24)}${`${f(k.rss / 2 ** 20)} MiB (parent+vrrp)`.padEnd(26)}${ratio(h.rss, k.rss, 2)}`);
  out.push(`(CPU from /proc utime+stime over ${IDLE_MS / 1000} s: one clock tick = ${f(100 / (IDLE_MS / 1000) / 100, 2)} %; (c) is measured from`);
  out.push(' the netlink event `ip monitor` prints, so a GARP sent before ip wakes up reads as ~0 or below)');
  out.push('');
  const check = (name, ok) => out.push(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
  check(`(a) hakeep median within 30 ms of ${f(RFC_DOWN)} ms`, Math.abs(median(h.a) - RFC_DOWN) <= 30);
  check(`(b) hakeep median within 30 ms of ${f(RFC_SKEW)} ms`, Math.abs(median(h.b) - RFC_SKEW) <= 30);
  check('(c) hakeep median under 5 ms', median(h.c) < 5);
  check('(a) hakeep no worse than keepalived (|median - RFC|)', Math.abs(median(h.a) - RFC_DOWN) <= Math.abs(median(k.a) - RFC_DOWN) + 1);
  check('(b) hakeep no worse than keepalived (|median - RFC|)', Math.abs(median(h.b) - RFC_SKEW) <= Math.abs(median(k.b) - RFC_SKEW) + 1);
  check('(c) hakeep no worse than keepalived (median)', median(h.c) <= median(k.c) + 0.5);
  return out.join('\n');
}

async function main() {
  preflight();
  const lab = createLab(PREFIX, ['m', 'b'], SUBNET);
  const dir = mkdtempSync(join(tmpdir(), 'hkb-failover-'));
  const cleanup = () => {
    killAll();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  process.on('SIGTERM', () => { cleanup(); process.exit(143); });
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of IMPLS) {
        process.stderr.write(`round ${i + 1}/${ROUNDS} ${kind}\n`);
        await round(kind, lab, dir, i, i === 0);
      }
    }
  } finally {
    cleanup();
  }
  console.log(report());
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify({ rounds: ROUNDS, rfc: { masterDownMs: RFC_DOWN, skewMs: RFC_SKEW }, samples }, null, 2)}\n`);
}

main().catch((e) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
