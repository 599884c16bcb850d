// Builders for hand-made Config pieces in the IPVS and checker unit tests: keepalived's defaults,
// overridable field by field.
import type { Config, GlobalDefs, RealServer, TcpCheck, VirtualServer } from '../../src/config/model.js';
import { FakeKernel } from './ipvs-kernel-fake.js';

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
 * An in-memory IPVS table driven by ipvsadm command lines, for the engine tests: a thin front
 * on FakeKernel (ipvs-kernel-fake.ts), which is written from ipvsadm's and the kernel's
 * behaviour and shares no code with hakeep's own parser or serializer (a fake built from the code
 * it checks would prove nothing).
 */
export class FakeIpvs {
  readonly kernel = new FakeKernel();
  restores: string[][] = [];

  constructor(saved = '') {
    if (saved.trim() !== '') this.kernel.restore(saved.split('\n'));
  }

  save(): string {
    return this.kernel.save();
  }

  /** Apply `ipvsadm -R` input; returns what ipvsadm would print on stderr. */
  restore(lines: string[]): string {
    this.restores.push(lines);
    return this.kernel.restore(lines).output;
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
