// The restart benchmark's table: medians per size / mode / daemon, keepalived next to hakeep and
// the ratio hakeep/keepalived. `node bench/restart/report.mjs FILE.json [FILE.json ...]` prints it for saved runs
// (the --json output of run.mjs); run.mjs prints it itself.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MODE_TEXT = {
  steady: 'steady (no restart, noise floor)',
  'term-I': 'SIGTERM with -I, start with -I',
  kill: 'SIGKILL, start',
  term: 'SIGTERM without -I, start',
};

function median(xs) {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
}
const max = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined);
  return s.length ? Math.max(...s) : null;
};
const fmt = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b) => {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return 'n/a';
  if (b === 0) return a === 0 ? '=' : 'inf';
  return `${(a / b).toFixed(2)}x`;
};
const medMax = (xs) => {
  const m = median(xs);
  const x = max(xs);
  return m === x ? fmt(m) : `${fmt(m)} (max ${fmt(x)})`;
};

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')).join('\n');
}

/** Lines of text for runs = [restart.json of each size]. */
export function report(runs) {
  const lines = [];
  const first = runs[0];
  if (!first) return ['no results'];
  lines.push(`restart benchmark, one UML guest per size (1 CPU), both daemons in the same guest, rounds interleaved; delay_loop ${first.delayLoop} s, TCP_CHECK, NAT, 100 real servers per virtual server, all healthy`);
  lines.push('whole = from the signal until the table is equal to the desired one for good (0: it never stopped being equal); missing windows and counts come from /proc/net/ip_vs sampled every few ms (gap column)');
  lines.push('');
  const head = ['size', 'mode', 'daemon', 'rounds', 'whole again (ms)', 'new ready (ms)', 'failed starts', 'longest missing (ms)', 'max missing', 'missing dest-samples', 'removed', 're-added', 'weight changes', 'reordered', 'extra', 'old gone (ms)', 'hakeep IPVS changes old/new', 'checker child killed', 'sample gap mean/max (ms), sampler CPU'];
  const rows = [head];
  for (const run of runs) {
    const n = run.size;
    const daemons = [...new Set(run.events.map((e) => e.daemon))].sort();
    const cold = {};
    for (const dmn of daemons) cold[dmn] = median(run.cold.filter((c) => c.daemon === dmn).map((c) => c.coldMs));
    rows.push([fmt(n), 'cold start from an empty table', '', '', ...Array(head.length - 4).fill('')]);
    const coldReady = {};
    for (const dmn of daemons) {
      const c = run.cold.filter((x) => x.daemon === dmn);
      coldReady[dmn] = median(c.map((x) => x.readyMs));
      const never = c.filter((x) => x.coldMs === null).length;
      const kills = dmn === 'hakeep' ? String(c.reduce((a, x) => a + (x.watchdogKills ?? 0), 0)) : '';
      rows.push(['', '', dmn, String(c.length), fmt(cold[dmn]) + (never ? ` (${never} never)` : ''), fmt(coldReady[dmn]), String(c.reduce((a, x) => a + (x.failures?.length ?? 0), 0)), ...Array(head.length - 9).fill(''), kills, '']);
    }
    if (cold.hakeep !== undefined && cold.keepalived !== undefined) rows.push(['', '', 'ratio h/k', '', ratio(cold.hakeep, cold.keepalived), ratio(coldReady.hakeep, coldReady.keepalived), ...Array(head.length - 6).fill('')]);
    for (const mode of run.modes) {
      rows.push([fmt(n), MODE_TEXT[mode] ?? mode, '', '', ...Array(head.length - 4).fill('')]);
      const med = {};
      for (const dmn of daemons) {
        const ev = run.events.filter((e) => e.daemon === dmn && e.mode === mode);
        if (!ev.length) continue;
        const m = (f) => median(ev.map(f));
        med[dmn] = { ready: m((e) => e.marks?.newReady ?? null), whole: m((e) => e.wholeMs), longest: m((e) => e.longestMissingMs), maxMissing: m((e) => e.maxMissing), mds: m((e) => e.missingDestSamples), gone: m((e) => e.stop?.allGoneMs ?? null) };
        const notWhole = ev.filter((e) => e.wholeMs === null).length;
        rows.push(['', '', dmn, String(ev.length),
          fmt(med[dmn].whole) + (notWhole ? ` (${notWhole} never)` : ''),
          mode === 'steady' ? '-' : fmt(med[dmn].ready),
          mode === 'steady' ? '-' : String(ev.reduce((a, e) => a + (e.newDaemonFailures?.length ?? 0), 0)),
          medMax(ev.map((e) => e.longestMissingMs)),
          medMax(ev.map((e) => e.maxMissing)),
          medMax(ev.map((e) => e.missingDestSamples)),
          medMax(ev.map((e) => e.removed)),
          medMax(ev.map((e) => e.readded)),
          medMax(ev.map((e) => e.weightChanges)),
          medMax(ev.map((e) => e.reorders)),
          medMax(ev.map((e) => e.maxExtra)),
          mode === 'steady' ? '-' : fmt(med[dmn].gone),
          dmn === 'hakeep' ? `${mode === 'steady' ? '-' : medMax(ev.map((e) => e.ipvsChangesOld ?? null))} / ${medMax(ev.map((e) => e.ipvsChangesNew ?? null))}` : '',
          dmn === 'hakeep' ? String(ev.reduce((a, e) => a + (e.watchdogKills ?? 0), 0)) : '',
          `${fmt(median(ev.map((e) => e.sampleGapMsMean)), 1)}/${fmt(max(ev.map((e) => e.sampleGapMsMax)), 0)}, ${fmt(100 * median(ev.map((e) => (e.sampleGapMsMean ? e.readMsMean / e.sampleGapMsMean : null))), 0)}%`]);
      }
      const h = med.hakeep;
      const k = med.keepalived;
      if (h && k) rows.push(['', '', 'ratio h/k', '', ratio(h.whole, k.whole), mode === 'steady' ? '' : ratio(h.ready, k.ready), '', ratio(h.longest, k.longest), ratio(h.maxMissing, k.maxMissing), ratio(h.mds, k.mds), '', '', '', '', '', mode === 'steady' ? '' : ratio(h.gone, k.gone), '', '', '']);
    }
  }
  lines.push(table(rows));
  lines.push('');
  for (const l of [
    '"median (max N)": median over rounds, and the largest round when it differs.',
    'whole again: signal -> the table equal to the desired one for good (0: it never stopped being equal). new ready: signal -> the new daemon says its first IPVS sync is done (hakeep "Checker side fit to front traffic", keepalived "Startup complete").',
    'failed starts: the new daemon exited by itself and was started again 1 s later (Restart=on-failure, as examples/hakeep.service).',
    'removed / re-added: distinct destinations that disappeared / disappeared and came back; reordered: a service whose destination list changed order with the same members (a remove + re-add between two samples); extra: destinations not in the desired table.',
    'old gone: signal -> every process of the old daemon ended.',
    'hakeep IPVS changes old/new: what the old / new hakeep logged as sent during the observation (debug "IPVS: applied N change(s)", "removed N service(s) on stop"); checker child killed: times the hakeep daemon killed its checker child for missing heartbeats.',
    'sampler CPU: read time / sample gap, the share of the guest CPU the /proc/net/ip_vs sampler took.',
  ]) lines.push(l);
  lines.push('');
  // The issue's target: with -I, zero destinations missing at any moment, nothing removed or re-added.
  for (const run of runs) {
    for (const dmn of [...new Set(run.events.map((e) => e.daemon))].sort()) {
      for (const mode of ['term-I', 'kill']) {
        const ev = run.events.filter((e) => e.daemon === dmn && e.mode === mode);
        if (!ev.length) continue;
        const bad = ev.filter((e) => e.maxMissing > 0 || e.removed > 0 || e.readded > 0 || e.weightChanges > 0 || e.reorders > 0 || e.maxExtra > 0 || e.maxSvcMissing > 0 || !e.equalAtEnd);
        lines.push(`${fmt(run.size)} ${dmn} ${mode}: ${bad.length === 0 ? `table never changed in ${ev.length} restart(s)` : `CHANGED in ${bad.length} of ${ev.length} restart(s): ${bad.map((e) => `round ${e.round}: missing max ${e.maxMissing}, removed ${e.removed}, re-added ${e.readded}, weight changes ${e.weightChanges}, reordered ${e.reorders}, extra ${e.maxExtra}, examples ${JSON.stringify(e.removedExamples.concat(e.weightChangedExamples))}`).join('; ')}`}`);
      }
    }
    const pre = run.events.filter((e) => !e.preEqual);
    if (pre.length) lines.push(`${fmt(run.size)}: ${pre.length} event(s) started from a table that was not whole (${pre.map((e) => `${e.daemon} ${e.mode} round ${e.round}`).join(', ')})`);
    lines.push(`${fmt(run.size)}: guest run ${fmt(run.wallSec)} s (driver), sample interval ${run.intervalMs} ms`);
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Several files (one run per size, e.g. 1,000 with 3 rounds and 10,000 with 1): one table.
  const runs = process.argv.slice(2).flatMap((f) => {
    const data = JSON.parse(readFileSync(f, 'utf8'));
    return data.runs ?? [data];
  });
  console.log(report(runs).join('\n'));
}
