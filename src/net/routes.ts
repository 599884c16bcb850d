// Routes and rules to the kernel: encode (route-model.ts), send through the addon's rtnlRequests
// (native/src/route.c: one datagram, one ACK checked per request), and say per entry what
// happened. Thin I/O: the decisions (what to add when) are the instance's and the service's.
//
// Order, as keepalived (vrrp.c:1676-1682 adds routes then rules after the VIPs;
// vrrp.c:1746-1752 removes rules then routes before the VIPs): add = routes, then rules;
// delete = rules, then routes. An add answered EEXIST counts as present, a delete answered ESRCH
// or ENOENT as gone (keepalived ignores ENOENT when it clears leftovers at start,
// vrrp_daemon.c:583-587).
import { constants as osConstants } from 'node:os';
import type { Logger } from '../daemon/log.js';
import type { VirtualIp } from '../config/model.js';
import { describeRoute, describeRule, RTPROT_KEEPALIVED, type RouteSpec, type RuleSpec } from '../config/routes.js';
import { applyVips } from './vip.js';
import { encodeRoute, encodeRule } from './route-model.js';
import { native, type NativeAddon } from './native.js';

export interface RouteFailure {
  /** `route 10.0.0.0/24 via … table 100 …` or `rule preference 100 from … table 100 …` */
  what: string;
  /** errno name (EPERM, ENETUNREACH, ENODEV, …) */
  code: string;
  /** open, send, ack, or interface (the dev could not be resolved) */
  stage: string;
  error: string;
}

export interface RouteApplyResult {
  ok: boolean;
  /** Entries done (or already so). */
  done: number;
  /** Entries the kernel changed now (errno 0: not already present/absent). */
  changed?: number;
  failures: RouteFailure[];
}

const errnoName = (n: number): string =>
  Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

type RouteAddon = Pick<NativeAddon, 'ifaceInfo' | 'rtnlRequests'>;

/**
 * Add or delete `routes` and `rules`, synchronously (a few hundred microseconds for a handful;
 * also usable from the last-resort stop). Never throws for what the kernel says; throws only when
 * the addon lacks rtnlRequests (built from an older checkout).
 */
export function applyRoutesNow(op: 'add' | 'del', routes: readonly RouteSpec[], rules: readonly RuleSpec[], addon: RouteAddon = native()): RouteApplyResult {
  if (typeof addon.rtnlRequests !== 'function') {
    throw new Error("hakeep's native addon has no rtnlRequests (built from an older checkout): run npm install again");
  }
  const failures: RouteFailure[] = [];
  const msgs: Buffer[] = [];
  const whats: string[] = [];
  const indexes = new Map<string, number | Error>();
  const ifindex = (dev: string): number | Error => {
    let v = indexes.get(dev);
    if (v === undefined) {
      try {
        v = addon.ifaceInfo(dev).index;
      } catch (e) {
        v = e as Error;
      }
      indexes.set(dev, v);
    }
    return v;
  };
  const addRoutes = (): void => {
    for (const r of routes) {
      const what = `route ${describeRoute(r)}`;
      const devs = [r.dev, ...r.nexthops.map((nh) => nh.dev)].filter((d): d is string => d !== null);
      const bad = devs.map((d) => [d, ifindex(d)] as const).find(([, v]) => v instanceof Error);
      if (bad) {
        const e = bad[1] as NodeJS.ErrnoException;
        failures.push({ what, code: e.code ?? 'ENODEV', stage: 'interface', error: e.message });
        continue;
      }
      msgs.push(encodeRoute(op, r, (d) => ifindex(d) as number));
      whats.push(what);
    }
  };
  const addRules = (): void => {
    for (const r of rules) {
      msgs.push(encodeRule(op, r));
      whats.push(`rule ${describeRule(r)}`);
    }
  };
  if (op === 'add') {
    addRoutes();
    addRules();
  } else {
    addRules();
    addRoutes();
  }
  let done = 0;
  let changed = 0;
  if (msgs.length > 0) {
    const results = addon.rtnlRequests(msgs);
    results.forEach((res, i) => {
      const benign = res.errno === 0 || (op === 'add' && res.errno === osConstants.errno.EEXIST) ||
        (op === 'del' && (res.errno === osConstants.errno.ESRCH || res.errno === osConstants.errno.ENOENT));
      if (benign) {
        done++;
        if (res.errno === 0) changed++;
        return;
      }
      const code = errnoName(res.errno);
      failures.push({ what: whats[i]!, code, stage: res.stage, error: `${res.stage}: ${res.message || code}` });
    });
  }
  return { ok: failures.length === 0, done, changed, failures };
}

/** applyRoutesNow with the failures logged (one error line each, the entry and the kernel's reason). */
export function applyRoutes(op: 'add' | 'del', routes: readonly RouteSpec[], rules: readonly RuleSpec[], log: Logger, who: string, addon?: RouteAddon): RouteApplyResult {
  if (routes.length === 0 && rules.length === 0) return { ok: true, done: 0, failures: [] };
  let res: RouteApplyResult;
  try {
    res = applyRoutesNow(op, routes, rules, addon);
  } catch (e) {
    log.error({ err: (e as Error).message }, `${who} cannot ${op === 'add' ? 'add' : 'remove'} routes/rules: ${(e as Error).message}`);
    return { ok: false, done: 0, failures: [{ what: 'all', code: 'ENOSYS', stage: 'addon', error: (e as Error).message }] };
  }
  for (const f of res.failures) {
    log.error({ what: f.what, code: f.code, stage: f.stage }, `${who} cannot ${op === 'add' ? 'add' : 'remove'} ${f.what}: ${f.error} (${f.code})`);
  }
  if (res.done > 0) log.info({ count: res.done }, `${who} ${op === 'add' ? 'set' : 'removed'} ${res.done} route(s)/rule(s)`);
  return res;
}

/** The identity of a route or rule for reload diffs. */
export const routeKey = (r: RouteSpec): string => describeRoute(r);
export const ruleKey = (r: RuleSpec): string => describeRule(r);

/** The global static_ipaddress / static_routes / static_rules of one configuration. */
export interface StaticSet {
  addresses: VirtualIp[];
  routes: RouteSpec[];
  rules: RuleSpec[];
}

export const staticSetOf = (c: { staticIpaddress?: VirtualIp[]; staticRoutes?: RouteSpec[]; staticRules?: RuleSpec[] }): StaticSet =>
  ({ addresses: c.staticIpaddress ?? [], routes: c.staticRoutes ?? [], rules: c.staticRules ?? [] });

const addrKey = (v: VirtualIp): string => `${v.address}/${v.prefixLen} dev ${v.dev ?? ''}`;

/**
 * static_ipaddress, static_routes and static_rules for the daemon's life, as keepalived:
 *   - start: leftovers of a previous run cleared (vrrp_daemon.c:583-587), then addresses, routes,
 *     rules added (vrrp_daemon.c:662-664);
 *   - stop: rules, routes, addresses removed (vrrp_daemon.c:435-437): keepalived does not leave
 *     them behind, nor does hakeep;
 *   - reload: the ones no longer configured removed (clear_diff_static_*, vrrp_daemon.c:573-575),
 *     then every configured one added (already present = fine).
 */
export class StaticNetwork {
  private current: StaticSet = { addresses: [], routes: [], rules: [] };

  constructor(private readonly log: Logger, private readonly addrs: (op: 'add' | 'del', vips: VirtualIp[]) => Promise<unknown> = (op, vips) => applyVips(op, vips, 'eth0', log)) {}

  get empty(): boolean {
    return this.current.addresses.length + this.current.routes.length + this.current.rules.length === 0;
  }

  async start(set: StaticSet): Promise<void> {
    this.current = set;
    if (this.empty) return;
    // Only entries of protocol keepalived are cleared, so an operator's own identical route of
    // another protocol survives (the kernel matches the protocol on delete).
    try {
      applyRoutesNow('del', set.routes.filter((r) => r.protocol === RTPROT_KEEPALIVED), set.rules.filter((r) => r.protocol === RTPROT_KEEPALIVED));
    } catch {
      // no addon support: the add below says so
    }
    await this.add(set);
  }

  async reload(next: StaticSet): Promise<void> {
    const prev = this.current;
    this.current = next;
    const gone = <T>(a: T[], b: T[], key: (x: T) => string): T[] => {
      const keys = new Set(b.map(key));
      return a.filter((x) => !keys.has(key(x)));
    };
    const rules = gone(prev.rules, next.rules, describeRule);
    const routes = gone(prev.routes, next.routes, describeRoute);
    const addresses = gone(prev.addresses, next.addresses, addrKey);
    applyRoutes('del', [], rules, this.log, 'static_rules');
    applyRoutes('del', routes, [], this.log, 'static_routes');
    if (addresses.length > 0) await this.addrs('del', addresses);
    await this.add(next);
  }

  async stop(): Promise<void> {
    const set = this.current;
    this.current = { addresses: [], routes: [], rules: [] };
    applyRoutes('del', [], set.rules, this.log, 'static_rules');
    applyRoutes('del', set.routes, [], this.log, 'static_routes');
    if (set.addresses.length > 0) await this.addrs('del', set.addresses);
  }

  private async add(set: StaticSet): Promise<void> {
    if (set.addresses.length > 0) await this.addrs('add', set.addresses);
    applyRoutes('add', set.routes, [], this.log, 'static_routes');
    applyRoutes('add', [], set.rules, this.log, 'static_rules');
  }
}
