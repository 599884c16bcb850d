// `hakeep cleanup`: remove the VIPs of every vrrp_instance in the config from this box. The
// systemd unit runs it as ExecStopPost, so a daemon killed with SIGKILL or aborted by the kernel
// (no chance to run its own last resort) does not leave addresses behind for the peer to
// collide with. It refuses to run while a hakeep daemon is alive on the pid file: removing a live
// master's VIPs by hand would be an outage.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Config } from '../config/model.js';
import { silentLogger } from '../daemon/log.js';
import { applyVips } from './vip.js';
import { RTPROT_KEEPALIVED } from '../config/routes.js';
import { applyRoutesNow } from './routes.js';
import { releaseLeftVmac } from './vmac.js';
import { vmacDefaultName } from './vmac-plan.js';

/** The pid in `pidFile` when that process is alive and is hakeep; else null. */
export function liveHakeepPid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null; // no such process: a stale pid file
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('hakeep') ? pid : null;
  } catch {
    return null;
  }
}

/** Returns the exit code: 0 done (or nothing to do), 1 some VIP could not be removed, 3 refused. */
export async function releaseConfiguredVips(config: Config, pidFile: string, print: (line: string) => void): Promise<number> {
  const live = liveHakeepPid(pidFile);
  if (live !== null) {
    print(`hakeep cleanup: hakeep is running (pid ${live}, ${pidFile}); not removing its VIPs. Stop it first (it removes them itself).`);
    return 3;
  }
  const present = new Set<string>();
  // By address only: an IPv4 VIP with a label is listed under the label (eth0:vip), not eth0.
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) present.add(a.address);
  }
  let failed = 0;
  for (const inst of config.vrrpInstances) {
    if (inst.useVmac !== null) {
      // use_vmac: the VIPs without dev are on the VMAC; deleting it removes them with it.
      const r = releaseLeftVmac({ name: inst.name, vrid: inst.virtualRouterId, vmac: inst.useVmac || vmacDefaultName(inst.virtualRouterId) });
      if (r) {
        if (!r.ok) failed += 1;
        print(`hakeep cleanup: ${r.line}`);
      }
    }
    // (With use_vmac, a VIP without dev lived on the VMAC, removed above with it.)
    const vips = [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded].filter((v) => inst.useVmac === null || v.dev !== null);
    const here = vips.filter((v) => present.has(v.address));
    if (here.length === 0) continue;
    const r = await applyVips('del', here, inst.interface, silentLogger());
    const bad = new Set(r.failures.map((f) => f.vip));
    for (const v of here) {
      const name = `${v.address}/${v.prefixLen}`;
      const dev = v.dev ?? inst.interface;
      if (bad.has(name)) {
        failed += 1;
        const f = r.failures.find((x) => x.vip === name)!;
        print(`hakeep cleanup: (${inst.name}) cannot remove ${name} from ${dev}: ${f.error}`);
      } else {
        print(`hakeep cleanup: (${inst.name}) removed ${name} from ${dev}, left by a hakeep that did not stop cleanly`);
      }
    }
  }
  // virtual_routes/virtual_rules of every instance and the static ones, protocol keepalived (18)
  // only (the kernel matches it on delete, so nobody else's route goes).
  const own = <T extends { protocol: number }>(xs: T[]): T[] => xs.filter((x) => x.protocol === RTPROT_KEEPALIVED);
  const routes = own([...config.vrrpInstances.flatMap((i) => i.virtualRoutes), ...(config.staticRoutes ?? [])]);
  const rules = own([...config.vrrpInstances.flatMap((i) => i.virtualRules), ...(config.staticRules ?? [])]);
  if (routes.length + rules.length > 0) {
    try {
      const r = applyRoutesNow('del', routes, rules);
      if ((r.changed ?? 0) > 0) print(`hakeep cleanup: removed ${r.changed} route(s)/rule(s) left by a hakeep that did not stop cleanly`);
      for (const f of r.failures) {
        failed += 1;
        print(`hakeep cleanup: cannot remove ${f.what}: ${f.error} (${f.code})`);
      }
    } catch (e) {
      failed += 1;
      print(`hakeep cleanup: cannot remove routes/rules: ${(e as Error).message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
