// `hakeep status` for people: the status document (status-format.ts) as aligned tables. Rendered
// by the client from the JSON the daemon sends, so the daemon's loop never formats text for a
// terminal. Ages are measured from the document's own generatedAt, not the reader's clock.
import type { CheckView, HealthProblem, InstanceView, StatusDocument, VirtualServerView } from './status-format.js';

/** Longest VIP list shown in a cell; `--json` has them all. */
const MAX_VIPS_SHOWN = 4;

export function renderStatusTable(doc: StatusDocument): string {
  const now = Date.parse(doc.generatedAt);
  const out: string[] = [];
  const head = [`hakeep ${doc.version ?? '?'}`, `pid ${doc.pid ?? '?'}`];
  if (doc.startedAt) head.push(`up ${age(now - Date.parse(doc.startedAt))} (since ${doc.startedAt})`);
  if (doc.configFile) head.push(`config ${doc.configFile}`);
  out.push(head.join(', '));
  out.push(healthLine(doc), ...doc.health.problems.map(problemLine));

  const vrrp = doc.services.vrrp;
  if (vrrp) {
    out.push('', 'VRRP instances');
    out.push(...indent(table(['INSTANCE', 'STATE', 'PRIO', 'MASTER', 'IF/VRID', 'VIPS', 'LAST TRANSITION'],
      vrrp.instances.map((i) => [i.name, i.state, prio(i), master(i), `${i.interface}/${i.vrid}`, vips(i), transition(i, now)]),
      (row) => details(vrrp.instances.find((i) => i.name === row[0])!, now))));
    if (vrrp.syncGroups.length > 0) {
      out.push('', 'Sync groups');
      out.push(...indent(table(['GROUP', 'STATE', 'MEMBERS'], vrrp.syncGroups.map((g) => [g.name, g.state, g.members.join(', ')]))));
    }
  } else {
    out.push('', 'VRRP: not running in this hakeep');
  }

  const check = doc.services.check;
  if (check) {
    out.push('', 'Virtual servers');
    if (check.virtualServers.length === 0) out.push('  (no status from the checker side yet)');
    for (const v of check.virtualServers) out.push(...virtualServer(v, now));
    out.push('', ...checkerSide(check, now));
  } else {
    out.push('', 'Checker side: not running in this hakeep');
  }
  if (doc.drained.length > 0) {
    out.push('', `Drained by hand (hakeep rs enable VS RS to undo): ${doc.drained.map((k) => `${k.rs} of ${k.vs}`).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

function healthLine(doc: StatusDocument): string {
  const h = doc.health;
  const counted = h.problems.filter((p) => p.severity !== 'info').length;
  return `Health: ${h.status.toUpperCase()} (exit ${h.exitCode})${counted ? `, ${counted} problem(s)` : ''}`;
}

function problemLine(p: HealthProblem): string {
  return `  ${p.severity.padEnd(8)} ${p.subject}: ${p.detail}`;
}

function prio(i: InstanceView): string {
  return `${i.effectivePriority}/${i.priority}`;
}

function master(i: InstanceView): string {
  if (i.state === 'MASTER') return `this host${i.sourceIp ? ` (${i.sourceIp})` : ''}`;
  if (i.masterIp === null) return '-';
  return i.masterPriority === null ? i.masterIp : `${i.masterIp} prio ${i.masterPriority}`;
}

function vips(i: InstanceView): string {
  if (i.vips.length === 0) return '-';
  const shown = i.vips.slice(0, MAX_VIPS_SHOWN).join(',');
  return i.vips.length > MAX_VIPS_SHOWN ? `${shown} (+${i.vips.length - MAX_VIPS_SHOWN})` : shown;
}

function transition(i: InstanceView, now: number): string {
  const t = i.lastTransition;
  if (!t) return '-';
  return `${t.atWall} ${t.from}->${t.to} (${t.reason}), ${ago(now, t.atWall)}`;
}

/** Lines under an instance: fault reasons, tracker weights, VIPs that could not be added. */
function details(i: InstanceView, now: number): string[] {
  const lines: string[] = [];
  for (const f of i.faults) lines.push(`fault: ${f.source.replace('_', ' ')} ${f.subject} ${f.detail}${f.sinceWall ? `, since ${f.sinceWall} (${ago(now, f.sinceWall)})` : ''}`);
  const weights = Object.entries(i.trackWeights);
  if (weights.length > 0) lines.push(`trackers: ${weights.map(([k, w]) => `${k} ${w > 0 ? '+' : ''}${w}`).join(', ')}`);
  for (const f of i.vipFailures) lines.push(`VIP ${f.vip} not added (${f.attempts} attempt(s)): ${f.error}${f.nextRetryAtWall ? `; next try ${f.nextRetryAtWall}` : ''}`);
  for (const f of i.routeFailures ?? []) lines.push(`not set: ${f}`);
  return lines;
}

function virtualServer(v: VirtualServerView, now: number): string[] {
  const flags = [v.quorumUp ? 'quorum up' : 'QUORUM LOST', `${v.realServersUp}/${v.realServersTotal} real servers up`, `live weight ${v.liveWeight}`];
  if (v.sorryServerActive) flags.push('sorry server active');
  const rows = v.realServers.map((r) => [
    r.rs,
    r.alive ? 'up' : 'DOWN',
    String(r.weight),
    r.drained ? 'yes' : 'no',
    r.checkers.length === 0 ? '(no checker)' : r.checkers.map((c) => {
      const what = c.lastOutcome ? `${c.type} ${c.lastOutcome}${c.lastOutcome !== 'success' && c.lastDetail ? `: ${c.lastDetail}` : ''}` : `${c.type} not run yet`;
      return c.lastCheckAtWall ? `${what} at ${c.lastCheckAtWall} (${ago(now, c.lastCheckAtWall)})` : what;
    }).join('; '),
  ]);
  return [`  ${v.vs}  ${flags.join(', ')}`, ...indent(table(['REAL SERVER', 'HEALTH', 'WEIGHT', 'DRAINED', 'LAST CHECK'], rows), '    ')];
}

function checkerSide(c: CheckView, now: number): string[] {
  const lines = [`Checker side: ${c.health.ok ? 'ok' : `NOT OK: ${c.health.detail}`}`];
  const child = c.child.pid !== null ? `child pid ${c.child.pid}` : 'no child running';
  lines.push(`  ${child}, ${c.child.restarts} restart(s)${c.child.lastExit ? `, last exit: ${c.child.lastExit}` : ''}${c.checks ? `; ${c.checks.total} checks, ${c.checks.failures} failed` : ''}`);
  const p = c.ipvs;
  if (p) {
    const sync = p.lastSyncAtWall ? `last in sync ${p.lastSyncAtWall} (${ago(now, p.lastSyncAtWall)})` : p.lastSyncAt !== null ? 'in sync' : 'never in sync yet';
    const batch = p.lastBatch ? `, last batch ${p.lastBatch.commands} command(s) in ${ms(p.lastBatch.durationMs)}` : '';
    lines.push(`  IPVS: ${sync}; ${p.batchesApplied} batch(es), ${p.commandsApplied} command(s), ${p.failures} failure(s)${batch}`);
    if (p.lastError) lines.push(`  IPVS last error: ${p.lastError.message}${p.lastError.atWall ? ` at ${p.lastError.atWall}` : ''}`);
    for (const f of p.failingServices) lines.push(`  IPVS refuses ${f.name ?? f.service}: ${f.command}: ${f.error}`);
  }
  return lines;
}

/** Aligned columns; `below(row)` adds indented lines under a row. */
function table(header: string[], rows: string[][], below?: (row: string[]) => string[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [line(header)];
  for (const r of rows) {
    out.push(line(r));
    for (const d of below?.(r) ?? []) out.push(`    ${d}`);
  }
  return out;
}

function indent(lines: string[], by = '  '): string[] {
  return lines.map((l) => `${by}${l}`);
}

function ago(now: number, wall: string): string {
  const t = Date.parse(wall);
  if (!Number.isFinite(t) || !Number.isFinite(now)) return '?';
  const d = now - t;
  return d < 0 ? `in ${age(-d)}` : `${age(d)} ago`;
}

/** 850ms, 12s, 5m12s, 3h04m, 2d03h. */
export function age(msIn: number): string {
  const msv = Math.max(0, Math.round(msIn));
  if (msv < 1000) return `${msv}ms`;
  const s = Math.floor(msv / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

function ms(v: number): string {
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}
