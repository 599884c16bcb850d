// Reload as a diff of two configurations (pure): what a SIGHUP with the new file will do to the
// VRRP side. Identity across reloads is the instance name (keepalived's). An instance is
//   - kept: nothing that matters changed (state, timers and VIPs untouched, no transition, no
//     advert gap, no GARP, no notify);
//   - changed in place: what the protocol lets a running instance change (priority, VIPs,
//     advert_int, preemption, GARP settings, trackers, notify scripts, authentication);
//   - restarted: its identity on the wire changed (interface, VRID, version, unicast vs
//     multicast, multicast group): the old one stops (priority 0 if master), the new one starts;
//   - stopped (removed from the config; notify_deleted) or started (new).
// The IPVS side is planned by the checker side itself (it knows the live health).
import type { Config, VirtualIp, VrrpInstance } from '../config/model.js';

export type InstanceChange =
  | { kind: 'kept'; name: string }
  | { kind: 'changed'; name: string; changes: string[]; vipsAdded: string[]; vipsRemoved: string[] }
  | { kind: 'restarted'; name: string; why: string[] }
  | { kind: 'stopped'; name: string }
  | { kind: 'started'; name: string };

export interface VrrpReloadPlan {
  instances: InstanceChange[];
  /** Sync group membership or global VRRP settings changed: what keepalived would also redo. */
  notes: string[];
}

const vipKey = (v: VirtualIp): string => `${v.address}/${v.prefixLen}${v.dev ? ` dev ${v.dev}` : ''}`;

/** A comparable rendering of a value without source locations (a moved line is no change). */
function canon(x: unknown): string {
  return JSON.stringify(x, (k, v: unknown) => (k === 'loc' ? undefined : v));
}

/** Fields whose change means a different virtual router on the wire: stop old, start new. */
// use_vmac / vmac_xmit_base move the socket and the VIPs to another interface (src/net/vmac.ts).
const IDENTITY: Array<keyof VrrpInstance> = ['interface', 'virtualRouterId', 'version', 'family', 'mcastDstIp', 'useVmac', 'vmacXmitBase'];

/** Fields a running instance takes in place (listed for the plan text). */
const IN_PLACE: Array<keyof VrrpInstance> = [
  'priority', 'advertInt', 'nopreempt', 'preemptDelay', 'authType', 'authPass', 'mcastSrcIp', 'unicastSrcIp', 'unicastPeers',
  'unicastTtl', 'garpMasterDelay', 'garpMasterRepeat', 'garpMasterRefresh', 'garpMasterRefreshRepeat', 'garpInterval',
  'garpLowerPrioDelay', 'garpLowerPrioRepeat', 'trackInterface', 'trackScript', 'notifyMaster', 'notifyBackup',
  'notifyFault', 'notifyStop', 'notify', 'smtpAlert', 'strictMode', 'dontTrackPrimary', 'skipCheckAdvAddr',
  'lowerPrioNoAdvert', 'higherPrioSendAdvert', 'downTimerAdverts', 'checkUnicastSrc', 'initialState',
  // a master adds/removes exactly the difference (VrrpInstanceRuntime.update)
  'virtualRoutes', 'virtualRules',
];

export function planVrrpReload(oldConfig: Config, newConfig: Config): VrrpReloadPlan {
  const before = new Map(oldConfig.vrrpInstances.map((i) => [i.name, i]));
  const after = new Map(newConfig.vrrpInstances.map((i) => [i.name, i]));
  const instances: InstanceChange[] = [];
  for (const [name, a] of before) {
    const b = after.get(name);
    if (!b) {
      instances.push({ kind: 'stopped', name });
      continue;
    }
    const why = IDENTITY.filter((k) => canon(a[k]) !== canon(b[k])).map(String);
    // The address owner (255) follows other rules (no down timer, no tracker weights).
    if ((a.priority === 255) !== (b.priority === 255)) why.push('address owner (priority 255)');
    // Unicast and multicast are different sockets and destinations.
    if ((a.unicastPeers.length > 0) !== (b.unicastPeers.length > 0)) why.push(a.unicastPeers.length > 0 ? 'unicast → multicast' : 'multicast → unicast');
    if (why.length > 0) {
      instances.push({ kind: 'restarted', name, why });
      continue;
    }
    const changes = IN_PLACE.filter((k) => canon(a[k]) !== canon(b[k])).map(String);
    const va = [...a.virtualIpaddress, ...a.virtualIpaddressExcluded].map(vipKey);
    const vb = [...b.virtualIpaddress, ...b.virtualIpaddressExcluded].map(vipKey);
    const vipsAdded = vb.filter((v) => !va.includes(v));
    const vipsRemoved = va.filter((v) => !vb.includes(v));
    const vipDetail = canon([a.virtualIpaddress, a.virtualIpaddressExcluded]) !== canon([b.virtualIpaddress, b.virtualIpaddressExcluded]);
    if (vipDetail) changes.push('virtual_ipaddress');
    if (changes.length === 0) instances.push({ kind: 'kept', name });
    else instances.push({ kind: 'changed', name, changes, vipsAdded, vipsRemoved });
  }
  for (const name of after.keys()) if (!before.has(name)) instances.push({ kind: 'started', name });

  const notes: string[] = [];
  if (canon(oldConfig.vrrpSyncGroups) !== canon(newConfig.vrrpSyncGroups)) notes.push('vrrp_sync_group definitions changed');
  if (canon(oldConfig.vrrpScripts) !== canon(newConfig.vrrpScripts)) notes.push('vrrp_script definitions changed');
  const g = (c: Config): unknown => ({ ...c.globalDefs, extra: undefined });
  if (canon(g(oldConfig)) !== canon(g(newConfig))) notes.push('global_defs changed');
  return { instances, notes };
}

/** The plan as lines for `hakeep plan` and the reload log. */
export function formatVrrpPlan(p: VrrpReloadPlan): string[] {
  const out: string[] = [];
  for (const c of p.instances) {
    switch (c.kind) {
      case 'kept': out.push(`instance ${c.name}: unchanged (keeps its state, timers and VIPs)`); break;
      case 'started': out.push(`instance ${c.name}: new, starts`); break;
      case 'stopped': out.push(`instance ${c.name}: removed, stops (priority 0 if master, VIPs removed, notify_deleted)`); break;
      case 'restarted': out.push(`instance ${c.name}: ${c.why.join(', ')} changed: stops (priority 0 if master) and starts again`); break;
      case 'changed': {
        out.push(`instance ${c.name}: changed in place: ${c.changes.join(', ')}`);
        for (const v of c.vipsAdded) out.push(`  VIP ${v}: added (when master)`);
        for (const v of c.vipsRemoved) out.push(`  VIP ${v}: removed`);
        break;
      }
    }
  }
  for (const n of p.notes) out.push(`note: ${n}`);
  return out;
}
