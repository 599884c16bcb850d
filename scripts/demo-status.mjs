// For the demo: a few readable lines from a `hakeep status` JSON document on stdin (what the CLI
// prints when it has no human table). Every field is optional: whatever is missing is left out.
import { readFileSync } from 'node:fs';

let doc;
try {
  doc = JSON.parse(readFileSync(0, 'utf8'));
} catch (e) {
  process.stdout.write(`(not a JSON status document: ${e.message})\n`);
  process.exit(0);
}
const out = [];
const hhmmss = (w) => (typeof w === 'string' ? w.slice(11, 19) : '?');
for (const i of doc?.services?.vrrp?.instances ?? []) {
  const t = i.lastTransition;
  out.push(`${i.name}: ${i.state}, priority ${i.effectivePriority ?? '?'}/${i.priority ?? '?'}, master ${i.masterIp ?? '?'}` +
    `, VIPs held: ${(i.vipsPresent ?? []).join(' ') || 'none'}` +
    (t ? `, last transition ${t.from}→${t.to} (${t.reason}) at ${hhmmss(t.wall ?? t.atWall)}` : '') +
    ((i.faults ?? []).length ? `, faults: ${i.faults.map((f) => f.source ?? JSON.stringify(f)).join(', ')}` : ''));
}
for (const v of doc?.services?.check?.virtualServers ?? []) {
  out.push(`${v.vs}: ${v.realServersUp ?? '?'}/${v.realServersTotal ?? '?'} real servers up`);
  for (const r of v.realServers ?? []) {
    const c = (r.checkers ?? []).map((k) => `${k.type} ${k.lastOutcome ?? '?'}`).join(', ');
    out.push(`  ${r.rs} ${r.alive ? 'alive' : 'DOWN'}, weight ${r.weight}${c ? ` (${c})` : ''}${r.drained ? ', drained' : ''}`);
  }
}
const h = doc?.health;
if (h) out.push(`health: ${h.status}${(h.problems ?? []).length ? ` (${h.problems.map((p) => (typeof p === 'string' ? p : `${p.severity ? `${p.severity}: ` : ''}${p.detail ?? p.kind ?? JSON.stringify(p)}`)).join('; ')})` : ''}`);
process.stdout.write(`${out.join('\n')}\n`);
