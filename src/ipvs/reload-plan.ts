// Reload of the checker side as a diff of two configurations (pure): what a SIGHUP with the new
// file does to the virtual servers, their real servers and checkers, and to the IPVS table.
// Identity across reloads is keepalived's (ipwrapper.c vs_exist/rs_exist): a virtual server is
// its address, protocol and family (fwmark and group included), a real server its address and
// port within it. A virtual server is
//   - kept: nothing changed; its IPVS entries, health and running checks stay as they are;
//   - changed: settings changed in place (scheduler, persistence, quorum, …), real servers added
//     or removed, or checkers changed: only those parts move, every other real server keeps its
//     health and checks;
//   - added (its services are created, its checks start) or removed (its services are deleted,
//     as keepalived's clear_diff_services: "Removing Virtual Server …", down notifiers).
// A checker whose settings (or what it reads from its real or virtual server) are unchanged keeps
// running; a changed one is restarted from the current health of its real server (no alpha wait,
// no retries used), so a changed checker never removes or re-adds a healthy server.
//
// The IPVS side of the plan is the diff of the desired table after the reload against the
// reconciler's picture of the kernel (ipvsReloadOps): the same commands the reload then applies.
import type { Checker, Config, NotifyCmd, RealServer, VirtualServer } from '../config/model.js';
import { diffService } from './diff.js';
import type { IpvsOp } from './diff.js';
import { canonicalIp, formatRs, formatVs } from './format.js';
import { serviceKey } from './model.js';
import type { IpvsService, IpvsTable } from './model.js';
import type { PoolEvent } from './pool.js';

export type Kind = 'kept' | 'changed' | 'added' | 'removed';

export interface CheckerChange {
  /** kept: same runtime; restarted: new runtime from the current health; added/removed. */
  kind: 'kept' | 'restarted' | 'added' | 'removed';
  type: Checker['type'];
  oldIndex: number | null;
  newIndex: number | null;
}

export interface RsChange {
  name: string;
  kind: Kind;
  /** Settings changed in place (keepalived keywords). */
  changes: string[];
  oldIndex: number | null;
  newIndex: number | null;
  checkers: CheckerChange[];
}

export interface VsChange {
  name: string;
  kind: Kind;
  changes: string[];
  oldIndex: number | null;
  newIndex: number | null;
  realServers: RsChange[];
}

export interface CheckerReloadPlan {
  virtualServers: VsChange[];
}

/** A comparable rendering of a value without source locations (a moved line is no change). */
function canon(x: unknown): string {
  return JSON.stringify(x, (k, v: unknown) => (k === 'loc' ? undefined : v));
}

/** `lbAlgo` → `lb_algo`: the keepalived keyword of a model field, for the plan's text. */
function keyword(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Fields of a and b (both objects) whose values differ, except those listed. */
function changedFields(a: object, b: object, except: readonly string[]): string[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].filter((k) => !except.includes(k));
  return keys.filter((k) => canon(ra[k]) !== canon(rb[k])).map(keyword);
}

/** The identity of a virtual server across reloads (keepalived's vs_exist: address, protocol, family). */
export function vsIdentity(vs: VirtualServer): string {
  const a = vs.address;
  if (a.kind === 'ip') return `${formatVs(vs)}/${a.family}`;
  return `${formatVs(vs)}/${vs.protocol}/${vs.family ?? 4}`;
}

/** The identity of a real server within its virtual server (keepalived's rs_exist: address and port). */
export function rsIdentity(rs: RealServer, vs: VirtualServer): string {
  return formatRs({ ip: canonicalIp(rs.ip, rs.family), port: rs.port }, vs);
}

/** Keys with a counter for repeats, so two entries with the same identity still pair one to one. */
function keyed<T>(items: readonly T[], key: (x: T) => string): Map<string, number> {
  const seen = new Map<string, number>();
  const out = new Map<string, number>();
  items.forEach((x, i) => {
    const k = key(x);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    out.set(n === 0 ? k : `${k}#${n}`, i);
  });
  return out;
}

/**
 * What a checker's runtime is built from, beyond its own block: a checker is kept only when all of
 * it is unchanged (else it would go on with stale settings).
 */
function checkerContext(c: Checker, rs: RealServer, vs: VirtualServer, config: Config): string {
  const common = { ip: rs.ip, port: rs.port, family: rs.family, logAll: config.globalDefs.checkerLogAllFailures };
  switch (c.type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return canon({ common, rsHost: rs.virtualhost ?? null, vsHost: vs.virtualhost, ssl: c.type === 'SSL_GET' ? config.ssl ?? null : null });
    case 'MISC_CHECK':
      return canon({ common, delayLoop: vs.delayLoop, user: config.globalDefs.scriptUser, security: config.globalDefs.enableScriptSecurity });
    case 'FILE_CHECK':
      return canon({ common, file: (config.vrrpTrackFiles ?? []).find((t) => t.name === c.trackFile) ?? null });
    default:
      return canon(common);
  }
}

function planCheckers(a: RealServer, b: RealServer, va: VirtualServer, vb: VirtualServer, oldCfg: Config, newCfg: Config): CheckerChange[] {
  const out: CheckerChange[] = [];
  const oldLeft = new Set(a.checkers.map((_, i) => i));
  const full = (c: Checker, rs: RealServer, vs: VirtualServer, cfg: Config): string => `${canon(c)}|${checkerContext(c, rs, vs, cfg)}`;
  const newKind: (CheckerChange | null)[] = b.checkers.map(() => null);
  // Unchanged checkers first (in order), then changed ones pair with an old one of the same type.
  b.checkers.forEach((c, j) => {
    const f = full(c, b, vb, newCfg);
    const i = [...oldLeft].find((x) => full(a.checkers[x]!, a, va, oldCfg) === f);
    if (i === undefined) return;
    oldLeft.delete(i);
    newKind[j] = { kind: 'kept', type: c.type, oldIndex: i, newIndex: j };
  });
  b.checkers.forEach((c, j) => {
    if (newKind[j]) return;
    const i = [...oldLeft].find((x) => a.checkers[x]!.type === c.type);
    if (i !== undefined) oldLeft.delete(i);
    newKind[j] = i === undefined ? { kind: 'added', type: c.type, oldIndex: null, newIndex: j } : { kind: 'restarted', type: c.type, oldIndex: i, newIndex: j };
  });
  for (const k of newKind) out.push(k!);
  for (const i of oldLeft) out.push({ kind: 'removed', type: a.checkers[i]!.type, oldIndex: i, newIndex: null });
  return out;
}

function groupOf(vs: VirtualServer, cfg: Config): unknown {
  return vs.address.kind === 'group' ? cfg.virtualServerGroups.find((g) => vs.address.kind === 'group' && g.name === vs.address.group) ?? null : null;
}

/** Match the virtual servers, real servers and checkers of two configurations. */
export function planCheckerReload(oldCfg: Config, newCfg: Config): CheckerReloadPlan {
  const before = keyed(oldCfg.virtualServers, vsIdentity);
  const after = keyed(newCfg.virtualServers, vsIdentity);
  const virtualServers: VsChange[] = [];
  for (const [id, i] of before) {
    const va = oldCfg.virtualServers[i]!;
    const j = after.get(id);
    if (j === undefined) {
      virtualServers.push({ name: formatVs(va), kind: 'removed', changes: [], oldIndex: i, newIndex: null, realServers: va.realServers.map((r, ri) => ({ name: formatRs(r, va), kind: 'removed', changes: [], oldIndex: ri, newIndex: null, checkers: [] })) });
      continue;
    }
    const vb = newCfg.virtualServers[j]!;
    const changes = changedFields(va, vb, ['loc', 'realServers', 'extra']);
    if (canon(groupOf(va, oldCfg)) !== canon(groupOf(vb, newCfg))) changes.push('virtual_server_group');
    const ra = keyed(va.realServers, (r) => rsIdentity(r, va));
    const rb = keyed(vb.realServers, (r) => rsIdentity(r, vb));
    const realServers: RsChange[] = [];
    for (const [rid, ri] of ra) {
      const a = va.realServers[ri]!;
      const rj = rb.get(rid);
      if (rj === undefined) {
        realServers.push({ name: formatRs(a, va), kind: 'removed', changes: [], oldIndex: ri, newIndex: null, checkers: [] });
        continue;
      }
      const b = vb.realServers[rj]!;
      const rsChanges = changedFields(a, b, ['loc', 'checkers']);
      const checkers = planCheckers(a, b, va, vb, oldCfg, newCfg);
      const kind: Kind = rsChanges.length === 0 && checkers.every((c) => c.kind === 'kept') ? 'kept' : 'changed';
      realServers.push({ name: formatRs(b, vb), kind, changes: rsChanges, oldIndex: ri, newIndex: rj, checkers });
    }
    for (const [rid, rj] of rb) {
      if (ra.has(rid)) continue;
      const b = vb.realServers[rj]!;
      realServers.push({ name: formatRs(b, vb), kind: 'added', changes: [], oldIndex: null, newIndex: rj, checkers: b.checkers.map((c, ci) => ({ kind: 'added', type: c.type, oldIndex: null, newIndex: ci })) });
    }
    const kind: Kind = changes.length === 0 && realServers.every((r) => r.kind === 'kept') ? 'kept' : 'changed';
    virtualServers.push({ name: formatVs(vb), kind, changes, oldIndex: i, newIndex: j, realServers });
  }
  for (const [id, j] of after) {
    if (before.has(id)) continue;
    const vb = newCfg.virtualServers[j]!;
    virtualServers.push({ name: formatVs(vb), kind: 'added', changes: [], oldIndex: null, newIndex: j, realServers: vb.realServers.map((r, rj) => ({ name: formatRs(r, vb), kind: 'added', changes: [], oldIndex: null, newIndex: rj, checkers: r.checkers.map((c, ci) => ({ kind: 'added', type: c.type, oldIndex: null, newIndex: ci })) })) });
  }
  return { virtualServers };
}

/**
 * The IPVS commands that take the kernel (the reconciler's picture of it) to the desired table
 * after the reload: every desired service diffed, and the services no longer desired that were
 * desired before (hakeep's own, as the owned record says) deleted if the kernel has them.
 * Services hakeep never managed are never looked at.
 */
export function ipvsReloadOps(picture: IpvsTable, desired: readonly IpvsService[], previouslyDesired: Iterable<string>): IpvsOp[] {
  const ops: IpvsOp[] = [];
  const want = new Set<string>();
  for (const s of desired) {
    want.add(serviceKey(s.addr));
    ops.push(...diffService(s, picture.get(serviceKey(s.addr))));
  }
  for (const key of new Set(previouslyDesired)) {
    const have = picture.get(key);
    if (want.has(key) || !have) continue;
    ops.push({ cmd: '-D', line: `-D ${key}`, service: key, svc: have, dest: null });
  }
  return ops;
}

/**
 * What keepalived does for a real server a reload removes (clear_service_rs, not stopping): the
 * lines, and its notify_down when it was alive. `inIpvs`: it has destinations in the table.
 */
export function removedRealServerEvents(vsName: string, rsName: string, rs: Pick<RealServer, 'inhibitOnFailure' | 'notifyDown'>, alive: boolean, inIpvs: boolean): PoolEvent[] {
  const events: PoolEvent[] = [{ kind: 'log', msg: `service ${rsName} no longer exist`, fields: { vs: vsName, rs: rsName, event: 'reload' } }];
  if (inIpvs) events.push({ kind: 'log', msg: `Removing ${rs.inhibitOnFailure && !alive ? '(inhibited) ' : ''}service ${rsName} from VS ${vsName}`, fields: { vs: vsName, rs: rsName, alive: false } });
  if (alive && rs.notifyDown) events.push({ kind: 'notify', what: 'notify_down', command: rs.notifyDown, vs: vsName, rs: rsName });
  return events;
}

/** A virtual server a reload removes (clear_diff_services → clear_service_vs, not stopping). */
export function removedVirtualServerEvents(vs: VirtualServer, alive: readonly boolean[], inIpvs: readonly boolean[], quorumUp: boolean): PoolEvent[] {
  const name = formatVs(vs);
  const events: PoolEvent[] = [{
    kind: 'log',
    msg: vs.address.kind === 'group' ? `Removing Virtual Server Group [${vs.address.group}]` : `Removing Virtual Server ${name}`,
    fields: { vs: name, event: 'reload' },
  }];
  vs.realServers.forEach((rs, i) => {
    const rsName = formatRs(rs, vs);
    if (inIpvs[i]) events.push({ kind: 'log', msg: `Removing ${rs.inhibitOnFailure && !alive[i] ? '(inhibited) ' : ''}service ${rsName} from VS ${name}`, fields: { vs: name, rs: rsName, alive: false } });
    if (alive[i] && rs.notifyDown) events.push({ kind: 'notify', what: 'notify_down', command: rs.notifyDown, vs: name, rs: rsName });
  });
  const q: NotifyCmd | null = vs.quorumDown;
  if (quorumUp && q) events.push({ kind: 'notify', what: 'quorum_down', command: q, vs: name });
  return events;
}

/** The plan as lines for `hakeep plan` and the reload log (`reload: …`). */
export function formatCheckerPlan(p: CheckerReloadPlan, ops: readonly IpvsOp[], aliveAfter?: (vs: string, rs: string) => boolean | undefined): string[] {
  const out: string[] = [];
  for (const v of p.virtualServers) {
    switch (v.kind) {
      case 'kept': out.push(`virtual server ${v.name}: unchanged (keeps its IPVS entries, health and checks)`); continue;
      case 'added': out.push(`virtual server ${v.name}: new, its service is added and its ${v.realServers.length} real server(s) checked`); continue;
      case 'removed': out.push(`virtual server ${v.name}: removed, its service is deleted from IPVS`); continue;
      case 'changed': break;
    }
    out.push(`virtual server ${v.name}: changed${v.changes.length ? `: ${v.changes.join(', ')}` : ''}`);
    for (const r of v.realServers) {
      switch (r.kind) {
        case 'kept': break;
        case 'added': {
          const alive = aliveAfter?.(v.name, r.name);
          out.push(`  real server ${r.name}: added${alive === false ? ' (starts failed until its first check: alpha)' : ''}`);
          break;
        }
        case 'removed': out.push(`  real server ${r.name}: removed`); break;
        case 'changed': {
          const parts: string[] = [];
          if (r.changes.length) parts.push(`changed: ${r.changes.join(', ')}`);
          const by = (k: CheckerChange['kind']): string[] => r.checkers.filter((c) => c.kind === k).map((c) => c.type);
          if (by('restarted').length) parts.push(`${by('restarted').join(', ')} restarted (keeps its health)`);
          if (by('added').length) parts.push(`${by('added').join(', ')} added`);
          if (by('removed').length) parts.push(`${by('removed').join(', ')} removed`);
          out.push(`  real server ${r.name}: ${parts.join('; ')}`);
          break;
        }
      }
    }
  }
  if (ops.length === 0) out.push('IPVS: no change');
  else for (const o of ops) out.push(`IPVS: ${o.line}`);
  return out;
}
