// Medians over several runs of bench/checker/run.sh:
//   node bench/checker/median.mjs RESULT_DIR1/bench.json RESULT_DIR2/bench.json ...
// For each checker type, size and daemon: the median over the runs of each run's figure (CPU per
// 1,000 checks, removal median, checks/s, peak RSS and PSS, start-up), the runs' spread, and the
// ratio hakeep/keepalived of the medians. Ratios are also given per run (same guest, same moment),
// with their median: on a shared host that is the figure to trust. A run where a daemon failed to
// start counts as a failure, not as a missing sample.
import { readFileSync } from 'node:fs';

const runs = process.argv.slice(2).map((f) => ({ file: f, ...JSON.parse(readFileSync(f, 'utf8')) }));
if (runs.length === 0) {
  console.error('usage: node bench/checker/median.mjs bench.json [bench.json ...]');
  process.exit(2);
}
const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const range = (xs, d = 0) => {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length ? `${fmt(Math.min(...s), d)}-${fmt(Math.max(...s), d)}` : 'n/a';
};
const typeOf = (r) => r.type ?? 'TCP_CHECK';
const keys = [...new Set(runs.flatMap((b) => b.results.map((r) => `${typeOf(r)}|${r.n}`)))];
const metrics = [
  ['cpu', 'CPU s / 1,000 checks', (r) => r.cpuPer1000, 3],
  ['rm', 'removal median (ms)', (r) => r.removalMs?.median ?? NaN, 0],
  ['cps', 'checks/s', (r) => r.checksPerSec, 0],
  ['rss', 'peak RSS (MiB)', (r) => r.peakRssMiB, 0],
  ['pss', 'peak PSS (MiB)', (r) => r.peakPssMiB ?? NaN, 0],
  ['start', 'all in IPVS (ms)', (r) => r.startMs ?? NaN, 0],
  ['round', 'first round (ms)', (r) => r.firstRoundMs ?? NaN, 0],
];
const out = [['checker', 'real servers', 'daemon', 'runs (failed)', ...metrics.map((m) => `${m[1]} median [range]`)]];
const ratios = [['checker', 'real servers', 'CPU ratio h/k per run', 'median', 'RSS ratio median', 'removal ratio median', 'hakeep as']];
for (const key of keys) {
  const [type, nStr] = key.split('|');
  const n = Number(nStr);
  const pick = (d) => runs.map((b) => b.results.find((r) => typeOf(r) === type && r.n === n && r.daemon === d)).filter(Boolean);
  const med = {};
  for (const d of ['hakeep', 'hakeep-alt', 'keepalived']) {
    const rs = pick(d);
    if (rs.length === 0) continue;
    const ok = rs.filter((r) => !r.failed);
    med[d] = Object.fromEntries(metrics.map(([k, , f]) => [k, median(ok.map(f))]));
    out.push([type, String(n), d, `${ok.length} (${rs.length - ok.length})`, ...metrics.map(([k, , f, dd]) => `${fmt(med[d][k], dd)} [${range(ok.map(f), dd)}]`)]);
  }
  const perRun = (hd) => runs.map((b) => {
    const h = b.results.find((r) => typeOf(r) === type && r.n === n && r.daemon === hd);
    const k = b.results.find((r) => typeOf(r) === type && r.n === n && r.daemon === 'keepalived');
    return h && k && !h.failed && !k.failed && Number.isFinite(h.cpuPer1000) && h.cpuPer1000 !== null && k.cpuPer1000 > 0 ? h.cpuPer1000 / k.cpuPer1000 : NaN;
  });
  for (const hd of ['hakeep', 'hakeep-alt']) {
    if (!med[hd] || !med.keepalived) continue;
    const per = perRun(hd);
    ratios.push([type, String(n), per.map((x) => fmt(x, 2)).join(', '), `${fmt(median(per), 2)}x`, `${fmt(med[hd].rss / med.keepalived.rss, 1)}x`, `${fmt(med[hd].rm / med.keepalived.rm, 2)}x`, hd]);
  }
}
const print = (rows) => {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padStart(w[i])).join('  '));
};
console.log(`${runs.length} run(s): ${runs.map((b) => b.file).join(', ')}`);
print(out);
console.log('');
print(ratios);
