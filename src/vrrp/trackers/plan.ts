// Who tracks what: the config's track_* lists of instances and sync groups turned into one list
// of bindings per tracked object. Pure. The config has already been corrected by
// src/config/validate.ts (unknown names removed, weights zeroed or dropped as keepalived does),
// so this only resolves defaults and expands sync groups.
//   - A reference without a weight takes the definition's weight and reverse (vrrp_track.c:228-230,
//     350-351; track_file.c:140-141). track_interface defaults to weight 0.
//   - A sync group's trackers apply to every member (vrrp.c:3991-4104).
//   - The same object on a member and on its group is tracked once: with the group's weight,
//     unless the member's own weight is 0, which stays (vrrp.c:2684-2700, 2716-2730, 2246-2266;
//     track_file.c:471-487).
//   - A group track_interface on a member's own interface: the member already goes to FAULT when
//     it is down (src/vrrp/iface-watch.ts), so nothing is added, unless the member says
//     dont_track_primary, when the group's entry applies (vrrp.c:2246-2266 with VRRP_NOT_TRACK_IF).
import type { Config, VrrpInstance, VrrpScript, VrrpTrackFile, VrrpTrackProcess } from '../../config/model.js';
import type { Binding } from './types.js';

export interface TrackerPlan {
  scripts: Array<{ def: VrrpScript; bindings: Binding[] }>;
  interfaces: Array<{ name: string; bindings: Binding[] }>;
  files: Array<{ def: VrrpTrackFile; bindings: Binding[] }>;
  processes: Array<{ def: VrrpTrackProcess; bindings: Binding[] }>;
}

interface Ref {
  name: string;
  weight: number | null;
  reverse: boolean | null;
}

class Bindings {
  private readonly map = new Map<string, Binding[]>();

  add(object: string, b: Binding, fromGroup: boolean): void {
    const list = this.map.get(object) ?? [];
    const same = list.find((x) => x.instance === b.instance);
    if (!same) {
      list.push(b);
      this.map.set(object, list);
    } else if (fromGroup && same.weight !== 0) {
      same.weight = b.weight;
      same.reverse = b.reverse;
      same.via = b.via;
    }
  }

  get(object: string): Binding[] {
    return this.map.get(object) ?? [];
  }

  names(): string[] {
    return [...this.map.keys()];
  }
}

export function planTrackers(config: Config): TrackerPlan {
  const scripts = firstOf(config.vrrpScripts);
  const files = firstOf(config.vrrpTrackFiles ?? []);
  const procs = firstOf(config.vrrpTrackProcesses ?? []);
  const instances = new Map(config.vrrpInstances.map((i) => [i.name, i]));
  const s = new Bindings();
  const i = new Bindings();
  const f = new Bindings();
  const p = new Bindings();

  const resolve = (ref: Ref, def: { weight: number; weightReverse: boolean } | undefined, instance: string, via: string): Binding => ({
    instance, via, weight: ref.weight ?? def?.weight ?? 0, reverse: ref.reverse ?? def?.weightReverse ?? false,
  });

  const addAll = (inst: VrrpInstance, via: string, fromGroup: boolean, lists: {
    trackScript: readonly Ref[]; trackInterface: readonly Ref[]; trackFile?: readonly Ref[]; trackProcess?: readonly Ref[];
  }): void => {
    for (const r of lists.trackScript) if (scripts.has(r.name)) s.add(r.name, resolve(r, scripts.get(r.name), inst.name, via), fromGroup);
    for (const r of lists.trackFile ?? []) if (files.has(r.name)) f.add(r.name, resolve(r, files.get(r.name), inst.name, via), fromGroup);
    for (const r of lists.trackProcess ?? []) if (procs.has(r.name)) p.add(r.name, resolve(r, procs.get(r.name), inst.name, via), fromGroup);
    for (const r of lists.trackInterface) {
      if (r.name === inst.interface && (!fromGroup || !inst.dontTrackPrimary)) continue;
      i.add(r.name, resolve(r, undefined, inst.name, via), fromGroup);
    }
  };

  for (const inst of config.vrrpInstances) addAll(inst, inst.name, false, inst);
  for (const g of config.vrrpSyncGroups) {
    for (const m of g.group) {
      const inst = instances.get(m);
      if (inst) addAll(inst, g.name, true, g);
    }
  }

  return {
    scripts: [...scripts.values()].filter((d) => s.get(d.name).length > 0).map((def) => ({ def, bindings: s.get(def.name) })),
    interfaces: i.names().map((name) => ({ name, bindings: i.get(name) })),
    files: [...files.values()].filter((d) => f.get(d.name).length > 0).map((def) => ({ def, bindings: f.get(def.name) })),
    processes: [...procs.values()].filter((d) => p.get(d.name).length > 0).map((def) => ({ def, bindings: p.get(def.name) })),
  };
}

/** keepalived looks definitions up by name and finds the first. */
function firstOf<T extends { name: string }>(defs: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const d of defs) if (!m.has(d.name)) m.set(d.name, d);
  return m;
}
