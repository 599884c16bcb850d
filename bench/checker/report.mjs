// Print bench.json (from bench/checker/bench.mjs) as a table with hakeep/keepalived ratios.
import { readFileSync } from 'node:fs';

const { delayLoop, connectTimeout, results } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const dl = (r) => r.delayLoop ?? delayLoop;
const targetOf = (r) => (dl(r) + connectTimeout) * 1000 + 100;
const fmt = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

console.log(`checker benchmark, in one UML guest (1 CPU): delay_loop ${delayLoop}s, connect_timeout ${connectTimeout}s, removal target < (delay_loop + connect_timeout) s + 100 ms; MISC_CHECK's delay_loop is n / the misc rate (at least 1 s)`);
console.log('');
// Removal after the check that could first see the death: (time since that server's last check
// when it died) + (time to removal) - delay_loop, averaged. Independent of where in its check
// cycle a server dies, so it compares the daemons' own reaction (C servers only).
const overhead = (r) => {
  const lat = r.removalMs.samples;
  const idle = r.removalMs.idleBeforeClose ?? [];
  if (idle.length !== lat.length || lat.some((x) => x === null)) return NaN;
  return lat.reduce((a, x, i) => a + x + idle[i], 0) / lat.length - dl(r) * 1000;
};
const head = ['checker', 'real servers', 'delay_loop', 'daemon', 'all in IPVS (ms)', 'first round of checks (ms)', 'removal median (ms)', 'removal max (ms)', 'removal after detection (ms)', 'checks/s', 'in IPVS (window)', 'CPU s / 1,000 checks', 'peak RSS (MiB)', 'peak PSS (MiB)', 'clean stop'];
const rows = [head];
const typeOf = (r) => r.type ?? 'TCP_CHECK';
for (const [type, n] of [...new Set(results.map((r) => `${typeOf(r)} ${r.n}`))].map((k) => k.split(' '))) {
  const h = results.find((r) => typeOf(r) === type && r.n === Number(n) && r.daemon === 'hakeep');
  const k = results.find((r) => typeOf(r) === type && r.n === Number(n) && r.daemon === 'keepalived');
  const a = results.find((r) => typeOf(r) === type && r.n === Number(n) && r.daemon === 'hakeep-alt');
  for (const r of [h, a, k]) {
    if (!r) continue;
    if (r.failed) {
      rows.push([type, String(n), String(dl(r)), r.daemon, 'FAILED', r.failed, ...head.slice(6).map(() => '')]);
      continue;
    }
    rows.push([type, String(n), String(dl(r)), r.daemon, fmt(r.startMs), fmt(r.firstRoundMs), fmt(r.removalMs.median), fmt(r.removalMs.max), fmt(overhead(r)), `${fmt(r.checksPerSec)}/${r.nominalChecksPerSec}`, r.inIpvs ? r.inIpvs.join('->') : 'n/a', fmt(r.cpuPer1000, 4), fmt(r.peakRssMiB), fmt(r.peakPssMiB), r.destsLeftAfterStop === 0 ? 'yes' : `no (${r.destsLeftAfterStop} left)`]);
  }
  if (h && k) {
    rows.push([type, String(n), '', 'ratio h/k', ratio(h.startMs, k.startMs), ratio(h.firstRoundMs, k.firstRoundMs), ratio(h.removalMs.median, k.removalMs.median), ratio(h.removalMs.max, k.removalMs.max), '', ratio(h.checksPerSec, k.checksPerSec), '', ratio(h.cpuPer1000, k.cpuPer1000), ratio(h.peakRssMiB, k.peakRssMiB), ratio(h.peakPssMiB, k.peakPssMiB), '']);
  }
  if (a && k && !a.failed) {
    rows.push([type, String(n), '', 'ratio alt/k', ratio(a.startMs, k.startMs), ratio(a.firstRoundMs, k.firstRoundMs), ratio(a.removalMs.median, k.removalMs.median), ratio(a.removalMs.max, k.removalMs.max), '', ratio(a.checksPerSec, k.checksPerSec), '', ratio(a.cpuPer1000, k.cpuPer1000), ratio(a.peakRssMiB, k.peakRssMiB), ratio(a.peakPssMiB, k.peakPssMiB), '']);
  }
}
const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i])).join('  '));
console.log('');
for (const r of results) {
  if (r.failed) {
    console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: FAILED, ${r.failed}`);
    continue;
  }
  // A sample of null was not removed within the 10 s the driver waits.
  const samples = r.removalMs.samples.map((s) => (s === null ? Infinity : s));
  const ok = samples.every((s) => s < targetOf(r));
  if (r.cpuPer1000Windows) console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: CPU s / 1,000 checks per window ${r.cpuPer1000Windows.join(', ')} (median shown)`);
  if (r.cpuByProcess) console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: CPU s in the window by process ${r.cpuByProcess.map((p) => `${p.what} ${p.cpuSec}`).join(', ')}`);
  if (r.peakRssByProcess) console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: peak RSS by process ${r.peakRssByProcess.map((p) => `${p.what} ${p.peakMiB}`).join(', ')} MiB`);
  if (samples.length === 0) {
    console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: no servers killed (delay_loop ${dl(r)} s is too long to wait for removals)`);
    continue;
  }
  console.log(`${r.daemon} ${typeOf(r)} n=${r.n}: removal samples ${samples.map((s) => (Number.isFinite(s) ? s : '>10000')).join(', ')} ms -> ${ok ? 'all within' : 'some OVER'} target`);
}
