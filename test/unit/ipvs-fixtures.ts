// Builders for hand-made Config pieces in the IPVS and checker unit tests: keepalived's defaults,
// overridable field by field.
import type { Config, GlobalDefs, RealServer, TcpCheck, VirtualServer } from '../../src/config/model.js';
import { parseIpvsadmLine, parseIpvsadmSave } from '../../src/ipvs/ipvsadm-parse.js';
import { destKey, forwardFlag, serviceKey } from '../../src/ipvs/model.js';
import type { IpvsTable } from '../../src/ipvs/model.js';

const loc = { file: 'test.conf', line: 1 };

export function tcpCheck(over: Partial<TcpCheck> = {}): TcpCheck {
  return {
    type: 'TCP_CHECK', connectIp: null, connectPort: null, bindto: null, bindPort: null, bindIf: null,
    connectTimeout: 5, retry: 1, delayBeforeRetry: 1, delayLoop: 60, warmup: null, alpha: null,
    fwmark: null, logAllFailures: false, loc, ...over,
  };
}

export function realServer(ip: string, port: number, over: Partial<RealServer> = {}): RealServer {
  return {
    ip, family: ip.includes(':') ? 6 : 4, port, loc, weight: 1, inhibitOnFailure: false, notifyUp: null,
    notifyDown: null, uthreshold: 0, lthreshold: 0, lbKind: null, alpha: false, checkers: [], ...over,
  };
}

export function virtualServer(ip: string, port: number, over: Partial<VirtualServer> = {}): VirtualServer {
  return {
    loc, address: { kind: 'ip', ip, port, family: ip.includes(':') ? 6 : 4 }, delayLoop: 60, lbAlgo: 'wlc',
    lbKind: 'NAT', protocol: 'TCP', persistenceTimeout: null, persistenceGranularity: null, ops: false,
    schedFlags: [], sorryServer: null, sorryServerInhibit: false, sorryServerLbKind: null, quorum: 1,
    hysteresis: 0, quorumUp: null, quorumDown: null, alpha: false, omega: false, haSuspend: false,
    inhibitOnFailure: false, virtualhost: null, realServers: [], extra: {}, ...over,
  };
}

export function globalDefs(over: Partial<GlobalDefs> = {}): GlobalDefs {
  return {
    routerId: null, notificationEmail: [], notificationEmailFrom: null, smtpServer: null,
    smtpConnectTimeout: 30, vrrpMcastGroup4: '224.0.0.18', vrrpMcastGroup6: 'ff02::12',
    vrrpGarpMasterDelay: 5, vrrpGarpMasterRepeat: 5, vrrpGarpMasterRefresh: 0, vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpInterval: 0, vrrpGarpLowerPrioDelay: null, vrrpGarpLowerPrioRepeat: null, vrrpMinGarp: false,
    vrrpStrict: false, vrrpVersion: 2, vrrpSkipCheckAdvAddr: false, vrrpCheckUnicastSrc: false,
    vrrpLowerPrioNoAdvert: false, vrrpHigherPrioSendAdvert: false, vrrpStartupDelay: 0,
    enableScriptSecurity: false, scriptUser: null, lvsFlush: false, lvsFlushOnStop: 'none',
    checkerLogAllFailures: false, extra: {}, ...over,
  };
}

export function config(virtualServers: VirtualServer[], over: Partial<Config> = {}): Config {
  return {
    file: 'test.conf', globalDefs: globalDefs(), vrrpScripts: [], vrrpSyncGroups: [], vrrpInstances: [],
    virtualServerGroups: [], virtualServers, ...over,
  };
}

/**
 * An in-memory IPVS table driven by ipvsadm command lines, answering like ipvsadm 1.31 does:
 * errors go to stderr and `-R` carries on with the next line.
 */
export class FakeIpvs {
  table: IpvsTable = new Map();
  restores: string[][] = [];

  constructor(saved = '') {
    this.table = parseIpvsadmSave(saved).table;
  }

  save(): string {
    let out = '';
    for (const s of this.table.values()) {
      let line = `-A ${serviceKey(s.addr)} -s ${s.scheduler}`;
      if (s.persistence !== null) line += ` -p ${s.persistence}`;
      if (s.persistence !== null && s.netmask !== null) line += ` -M ${s.netmask}`;
      if (s.ops) line += ' -o';
      if (s.schedFlags.length) line += ` -b ${s.schedFlags.join(',')}`;
      out += `${line}\n`;
      for (const d of s.dests) out += `-a ${serviceKey(s.addr)} -r ${destKey(d)} ${forwardFlag(d.forward)} -w ${d.weight}\n`;
    }
    return out;
  }

  /** Apply `ipvsadm -R` input; returns what ipvsadm would print on stderr. */
  restore(lines: string[]): string {
    this.restores.push(lines);
    let stderr = '';
    for (const line of lines) {
      const p = parseIpvsadmLine(line);
      if (typeof p === 'string') { stderr += `${p}\n`; continue; }
      const key = serviceKey(p.service.addr);
      const svc = this.table.get(key);
      switch (p.cmd) {
        case '-A': if (svc) stderr += 'Service already exists\n'; else this.table.set(key, p.service); break;
        case '-E': if (!svc) stderr += 'No such service\n'; else this.table.set(key, { ...p.service, dests: svc.dests }); break;
        case '-D': if (!svc) stderr += 'No such service\n'; else this.table.delete(key); break;
        default: {
          if (!svc) { stderr += 'No such service\n'; break; }
          const i = svc.dests.findIndex((d) => destKey(d) === destKey(p.dest!));
          if (p.cmd === '-a') { if (i >= 0) stderr += 'Destination already exists\n'; else svc.dests.push(p.dest!); }
          else if (i < 0) stderr += 'No such destination\n';
          else if (p.cmd === '-e') svc.dests[i] = p.dest!;
          else svc.dests.splice(i, 1);
        }
      }
    }
    return stderr;
  }
}

/** A fake clock: timers run only when the test advances time. */
export class FakeClock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  randomValue = 0.5;

  now = (): number => this.t;
  random = (): number => this.randomValue;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers.delete(h as number);
  };

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Move time forward, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
