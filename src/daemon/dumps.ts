// The files keepalived writes on its dump signals, rendered from hakeep's one status model:
//   SIGUSR1            → $TMPDIR/keepalived.data   (configuration and state, for people)
//   SIGUSR2            → $TMPDIR/keepalived.stats  (VRRP counters, keepalived's labels)
//   SIGRTMIN+2 (JSON)  → $TMPDIR/keepalived.json   (keepalived's JSON shape, plus hakeep's status)
// Same names and directory rule as keepalived ($TMPDIR when it is an absolute path, else /tmp), so
// runbooks and scripts that read them keep working. The renderers are pure; writeDumpFile is the
// only I/O, and it never follows a symlink someone planted in a world-writable /tmp.
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { InstanceStatus } from '../vrrp/instance.js';
import type { RejectReason } from '../vrrp/validate.js';

export type DumpKind = 'data' | 'stats' | 'json';

export const DUMP_FILES: Record<DumpKind, string> = {
  data: 'keepalived.data',
  stats: 'keepalived.stats',
  json: 'keepalived.json',
};

/** keepalived's rule: $TMPDIR if set to an absolute path, else /tmp. */
export function dumpDir(env: NodeJS.ProcessEnv = process.env): string {
  const t = env.TMPDIR;
  return t !== undefined && isAbsolute(t) ? t : '/tmp';
}

/** The parts of the daemon's status document the dumps read. */
export interface DumpSource {
  version: string;
  pid: number;
  startedAt: string;
  configFile: string;
  vrrp: InstanceStatus[];
  /** The checker side's status (virtual servers), as it reports it. */
  check: unknown;
  /** Wall time of the dump, ISO 8601. */
  now: string;
  /** Monotonic ms now, to turn the status's monotonic times into ages. */
  monoNow: number;
}

const sum = (c: Partial<Record<RejectReason, number>>, ...keys: RejectReason[]): number =>
  keys.reduce((n, k) => n + (c[k] ?? 0), 0);

/** keepalived's stats layout (its labels: scripts parse them), one block per instance. */
export function renderStats(src: DumpSource): string {
  const out: string[] = [];
  for (const i of src.vrrp) {
    const r = i.counters.rejected;
    out.push(
      `VRRP Instance: ${i.name}`,
      '  Advertisements:',
      `    Received: ${i.counters.advertsReceived}`,
      `    Sent: ${i.counters.advertsSent}`,
      `  Became master: ${i.counters.becameMaster}`,
      `  Released master: ${i.counters.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${sum(r, 'bad_length', 'ip_length_mismatch')}`,
      `    TTL: ${sum(r, 'bad_ttl')}`,
      `    Invalid Type: ${sum(r, 'bad_type', 'bad_version')}`,
      `    Advertisement Interval: ${sum(r, 'advert_interval_mismatch')}`,
      `    Address List: ${sum(r, 'address_count_mismatch', 'vip_missing')}`,
      '  Authentication Errors:',
      `    Invalid Type: ${sum(r, 'bad_auth_type')}`,
      `    Type Mismatch: ${sum(r, 'auth_type_mismatch')}`,
      `    Failure: ${sum(r, 'bad_password')}`,
      '  Priority Zero:',
      `    Received: ${i.counters.priorityZeroReceived}`,
      `    Sent: ${i.counters.priorityZeroSent}`,
    );
    // hakeep's own counters, after keepalived's block so parsers of that block are undisturbed.
    const other = Object.entries(r).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k}=${n}`);
    out.push(
      '  hakeep:',
      `    Send errors: ${i.counters.sendErrors}`,
      `    Faults entered: ${i.counters.faults}`,
      `    VIPs re-added: ${i.counters.vipsReadded}`,
      `    Rejected by reason: ${other.length ? other.join(' ') : 'none'}`,
    );
  }
  return out.join('\n') + '\n';
}

const age = (src: DumpSource, mono: number): string => `${((src.monoNow - mono) / 1000).toFixed(1)} s ago`;

/** The data dump: what an operator needs to see at a glance, one instance per block. */
export function renderData(src: DumpSource): string {
  const out: string[] = [
    `hakeep v${src.version} data dump (pid ${src.pid}), ${src.now}`,
    `Configuration file: ${src.configFile}`,
    `Running since: ${src.startedAt}`,
    '',
  ];
  for (const i of src.vrrp) {
    out.push(
      `VRRP instance ${i.name}`,
      `  State: ${i.state}`,
      `  Last transition: ${i.lastTransition ? `${i.lastTransition.from} -> ${i.lastTransition.to} (${i.lastTransition.reason}${i.lastTransition.faults ? `: ${i.lastTransition.faults}` : ''}) at ${i.lastTransition.wall}, ${age(src, i.lastTransition.at)}` : 'none'}`,
      `  Interface: ${i.interface}, VRID ${i.vrid}, source ${i.sourceIp ?? 'none'}`,
      `  Priority: ${i.priority} (effective ${i.effectivePriority})`,
      `  Master: ${i.masterIp ?? 'unknown'}${i.masterPriority !== null ? ` priority ${i.masterPriority}` : ''}`,
      `  Virtual IPs: ${i.vips.join(' ') || 'none'}`,
      `  Virtual IPs on the interface: ${i.vipsPresent.join(' ') || 'none'}`,
    );
    for (const f of i.vipFailures) out.push(`  VIP failing: ${f.vip}: ${f.error} (${f.attempts} attempt(s))`);
    out.push(`  Faults: ${i.faults.length ? i.faults.map((f) => `${f.source} ${f.subject} ${f.detail} (${age(src, f.since)})`).join('; ') : 'none'}`);
    out.push(`  Timer lateness: last ${i.timer.lastMs.toFixed(2)} ms, max ${i.timer.maxMs.toFixed(2)} ms, over 50 ms ${i.timer.over50Ms}`);
    out.push('');
  }
  if (src.check !== null && src.check !== undefined) {
    out.push('Checker status (JSON):', JSON.stringify(src.check, null, 2), '');
  }
  return out.join('\n');
}

/** keepalived's VRRP_STATE_* numbers, for tools that read its JSON dump. */
const STATE_NUMBER: Record<InstanceStatus['state'], number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 };

/** keepalived's JSON dump shape (an array of {data, stats}) for the fields tools use, and
 * hakeep's own status of the instance under `hakeep`. */
export function renderJson(src: DumpSource): string {
  const wallOf = (mono: number): number => (Date.parse(src.now) - (src.monoNow - mono)) / 1000;
  return JSON.stringify(src.vrrp.map((i) => {
    const r = i.counters.rejected;
    return {
      data: {
        iname: i.name,
        ifp_ifname: i.interface,
        vrid: i.vrid,
        state: STATE_NUMBER[i.state],
        base_priority: i.priority,
        effective_priority: i.effectivePriority,
        master_priority: i.masterPriority ?? 0,
        last_transition: i.lastTransition ? wallOf(i.lastTransition.at) : 0,
        vipset: i.vipsConfigured,
        vips: i.vips,
        version: 2,
      },
      stats: {
        advert_rcvd: i.counters.advertsReceived,
        advert_sent: i.counters.advertsSent,
        become_master: i.counters.becameMaster,
        release_master: i.counters.releasedMaster,
        packet_len_err: sum(r, 'bad_length', 'ip_length_mismatch'),
        advert_interval_err: sum(r, 'advert_interval_mismatch'),
        ip_ttl_err: sum(r, 'bad_ttl'),
        invalid_type_rcvd: sum(r, 'bad_type', 'bad_version'),
        addr_list_err: sum(r, 'address_count_mismatch', 'vip_missing'),
        invalid_authtype: sum(r, 'bad_auth_type'),
        authtype_mismatch: sum(r, 'auth_type_mismatch'),
        auth_failure: sum(r, 'bad_password'),
        pri_zero_rcvd: i.counters.priorityZeroReceived,
        pri_zero_sent: i.counters.priorityZeroSent,
      },
      hakeep: i,
    };
  }), null, 2) + '\n';
}

export function renderDump(kind: DumpKind, src: DumpSource): string {
  return kind === 'data' ? renderData(src) : kind === 'stats' ? renderStats(src) : renderJson(src);
}

/**
 * Write `text` to `dir/name` without following a symlink at that name: write a new private
 * file (O_EXCL|O_NOFOLLOW) beside it, then rename it over the name (rename replaces a symlink,
 * it does not follow it). Returns the path.
 */
export async function writeDumpFile(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  return path;
}
