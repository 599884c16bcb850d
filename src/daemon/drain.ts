// Draining a real server by hand: `hakeep rs drain VS RS` pins its IPVS weight at 0 (existing
// connections finish, no new ones come) until `hakeep rs enable VS RS`. Unlike `ipvsadm -e … -w 0`,
// which hakeep's periodic re-read would repair, a drain is part of the desired table. It is kept
// in a state file under /run, so it survives a restart of hakeep from the same configuration (not
// a reboot). keepalived has no equivalent short of editing the config and reloading (its #2609).
//
// Addresses are written as operators type them: VS `10.0.0.100:80`, `[2001:db8::1]:443` or
// `fwmark:7` (add `/udp` or `/sctp` when an address has services of several protocols); RS
// `10.0.0.2:80`. Pure parsing and resolution here; the store does the file I/O.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config, Protocol, VirtualServer } from '../config/model.js';
import { canonicalIp, formatRs, formatVs } from '../ipvs/format.js';

export const DEFAULT_DRAIN_FILE = '/run/hakeep/drained.json';

/** A drained real server, by the names hakeep's logs and status use. */
export interface DrainKey {
  vs: string;
  rs: string;
}

interface ParsedVs {
  kind: 'ip' | 'fwmark';
  ip?: string;
  port?: number;
  fwmark?: number;
  protocol: Protocol | null;
}

function parseHostPort(text: string): { ip: string; port: number } | null {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { ip: m[1]!.includes(':') ? canonicalIp(m[1]!, 6) : m[1]!, port };
}

function parseVs(text: string): ParsedVs | null {
  const [addr, proto] = text.split('/');
  const protocol = proto === undefined ? null : (proto.toUpperCase() as Protocol);
  if (protocol !== null && !['TCP', 'UDP', 'SCTP'].includes(protocol)) return null;
  const fw = /^fwmark:(\d+)$/i.exec(addr ?? '');
  if (fw) return { kind: 'fwmark', fwmark: Number(fw[1]), protocol };
  const hp = parseHostPort(addr ?? '');
  return hp ? { kind: 'ip', ...hp, protocol } : null;
}

function vsMatches(vs: VirtualServer, p: ParsedVs, config: Config): boolean {
  if (p.protocol !== null && vs.protocol !== p.protocol && p.kind === 'ip') return false;
  const a = vs.address;
  if (p.kind === 'fwmark') return a.kind === 'fwmark' && a.fwmark === p.fwmark;
  const ipMatch = (ip: string, port: number, family: 4 | 6): boolean => canonicalIp(ip, family) === p.ip && port === p.port;
  if (a.kind === 'ip') return ipMatch(a.ip, a.port, a.family);
  if (a.kind === 'group') {
    const g = config.virtualServerGroups.find((x) => x.name === a.group);
    return (g?.entries ?? []).some((e) => e.kind === 'ip' && ipMatch(e.ip, e.port, e.family));
  }
  return false;
}

/** Find the real server `rsText` of the virtual server `vsText`; an Error says what is wrong. */
export function resolveDrainTarget(config: Config, vsText: string, rsText: string): DrainKey | Error {
  const p = parseVs(vsText);
  if (!p) return new Error(`'${vsText}' is not a virtual server address: write IP:PORT, [IPv6]:PORT or fwmark:N (add /udp or /sctp if needed)`);
  const matches = config.virtualServers.filter((vs) => vsMatches(vs, p, config));
  if (matches.length === 0) return new Error(`no virtual_server ${vsText} in ${config.file}`);
  if (matches.length > 1) {
    return new Error(`${vsText} names ${matches.length} virtual servers (${matches.map((v) => formatVs(v)).join(', ')}): add /tcp, /udp or /sctp`);
  }
  const vs = matches[0]!;
  const r = parseHostPort(rsText);
  if (!r) return new Error(`'${rsText}' is not a real server address: write IP:PORT or [IPv6]:PORT`);
  const rs = vs.realServers.find((x) => canonicalIp(x.ip, x.family) === r.ip && x.port === r.port);
  if (!rs) return new Error(`virtual_server ${formatVs(vs)} has no real_server ${rsText} (it has ${vs.realServers.map((x) => formatRs(x, vs)).join(', ') || 'none'})`);
  return { vs: formatVs(vs), rs: formatRs(rs, vs) };
}

export const drainKeyString = (k: DrainKey): string => `${k.vs} ${k.rs}`;

/**
 * The set of drained real servers, kept in a small JSON file that names the configuration it
 * belongs to: a restart from the same file keeps the drains, another configuration ignores them.
 */
export class DrainStore {
  private readonly keys = new Map<string, DrainKey>();

  constructor(private readonly path: string | null, private readonly configFile: string) {}

  /** Read what a previous run left; entries that no longer resolve are dropped by the caller. */
  load(): DrainKey[] {
    if (this.path === null) return [];
    try {
      const doc = JSON.parse(readFileSync(this.path, 'utf8')) as { configFile?: string; drained?: DrainKey[] };
      if (doc.configFile !== this.configFile || !Array.isArray(doc.drained)) return [];
      for (const k of doc.drained) {
        if (typeof k?.vs === 'string' && typeof k.rs === 'string') this.keys.set(drainKeyString(k), { vs: k.vs, rs: k.rs });
      }
    } catch {
      /* no file, or not ours: nothing drained */
    }
    return this.list();
  }

  list(): DrainKey[] {
    return [...this.keys.values()];
  }

  has(k: DrainKey): boolean {
    return this.keys.has(drainKeyString(k));
  }

  /** Returns false when it already was so. Throws when the state file cannot be written. */
  set(k: DrainKey, drained: boolean): boolean {
    const id = drainKeyString(k);
    if (this.keys.has(id) === drained) return false;
    if (drained) this.keys.set(id, k);
    else this.keys.delete(id);
    this.save();
    return true;
  }

  /** Keep only the entries `keep` accepts (those still in the configuration). */
  retain(keep: (k: DrainKey) => boolean): void {
    let changed = false;
    for (const [id, k] of this.keys) {
      if (!keep(k)) {
        this.keys.delete(id);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    if (this.path === null) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ configFile: this.configFile, drained: this.list() }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
