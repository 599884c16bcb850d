// Prints bench/observe results: one table row per daemon and run, then the medians over the runs
// given and the ratio hakeep/keepalived.   node bench/observe/report.mjs RUN/bench.json [RUN2/bench.json …]
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/observe/report.mjs RUN/bench.json [RUN2/bench.json …]');
  process.exit(2);
}
const runs = files.map((f) => ({ f, ...JSON.parse(readFileSync(f, 'utf8')) }));
const fmt = (x) => (x === null || x === undefined ? 'n/a' : Number(x).toFixed(2));
const median = (xs) => { const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

console.log('run | daemon | scrape | real servers in IPVS (end) | adverts (VRID 51) | deviation from 1000 ms p50 / p99 / max (ms) | status ms p50 / max | metrics ms p50 / max | scrape rounds ok / made (per s) | fronting instance: adverts, FAULTs; checker child deaths');
runs.forEach((run, i) => {
  for (const r of run.results) {
    const s = r.scrapes;
    console.log([i + 1, r.daemon, r.scrape ? 'yes' : 'no', `${r.inIpvsAtEnd}/${r.n}`, r.adverts,
      `${fmt(r.deviationMs?.p50)} / ${fmt(r.deviationMs?.p99)} / ${fmt(r.deviationMs?.max)}`,
      s ? `${fmt(s.statusMs.p50)} / ${fmt(s.statusMs.max)}` : '-',
      s?.metricsMs ? `${fmt(s.metricsMs.p50)} / ${fmt(s.metricsMs.max)}` : '-',
      s ? `${s.statusOk}${s.metricsOk !== undefined ? `+${s.metricsOk}` : ''} / ${s.rounds} (${s.perSecond ?? '?'})` : '-',
      `${r.frontingAdverts ?? '?'}, ${r.frontingFaults ?? '-'}; ${r.checkerDeaths ?? '-'}`,
    ].join(' | ') + (r.failed ? ` FAILED: ${r.failed}` : ''));
  }
});
runs.forEach((run, i) => {
  for (const r of run.results) {
    if (r.pacer) console.log(`run ${i + 1} ${r.daemon}: advert pacer thread ${r.pacer.realtime ? 'SCHED_FIFO' : `not real-time (${r.pacer.schedError})`}, ${r.pacer.sent} sent, ${r.pacer.failed} failed, woke at most ${fmt(r.pacer.lateMaxMs)} ms late; adverts it sent per instance ${JSON.stringify(r.paced)}`);
  }
});
const by = (d, scrape) => runs.flatMap((run) => run.results.filter((r) => r.daemon === d && r.scrape === scrape && !r.failed));
for (const scrape of [true, false]) {
  const h = by('hakeep', scrape);
  const k = by('keepalived', scrape);
  const np = by('hakeep:nopacer', scrape);
  if (h.length + k.length + np.length === 0) continue;
  console.log(`\nmedians over ${Math.max(h.length, k.length, np.length)} run(s), ${scrape ? 'with' : 'without'} a scrape every second:`);
  const m = {};
  for (const [d, rs] of [['hakeep', h], ['keepalived', k], ['hakeep:nopacer', np]]) {
    if (rs.length === 0) continue;
    m[d] = { p50: median(rs.map((r) => r.deviationMs.p50)), p99: median(rs.map((r) => r.deviationMs.p99)), max: median(rs.map((r) => r.deviationMs.max)), adverts: median(rs.map((r) => r.adverts)) };
    const short = rs.filter((r) => r.intervals < 120).length;
    if (short > 0) console.log(`  ${d}: ${short} of ${rs.length} run(s) had fewer than 120 advert intervals in the window`);
    console.log(`  ${d.padEnd(10)} advert interval deviation p50 ${fmt(m[d].p50)} / p99 ${fmt(m[d].p99)} / max ${fmt(m[d].max)} ms (median ${m[d].adverts} adverts a run)`);
  }
  if (m.hakeep && m.keepalived) {
    const ratio = m.keepalived.p99 > 0 ? (m.hakeep.p99 / m.keepalived.p99).toFixed(2) : 'n/a (keepalived p99 is 0)';
    console.log(`  p99 ratio hakeep/keepalived: ${ratio}`);
  }
  if (m.hakeep && scrape) console.log(`  ${m.hakeep.p99 <= 5 ? 'PASS' : 'FAIL'}  hakeep p99 within 5 ms of the nominal interval`);
}
