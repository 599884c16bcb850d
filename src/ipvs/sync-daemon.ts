// The kernel's IPVS connection sync daemon (lvs_sync_daemon), following one VRRP instance as
// keepalived does (read for behaviour only):
//   - at start the instance's director runs the BACKUP daemon (vrrp_scheduler.c:222-265);
//   - entering MASTER: stop the backup daemon, start the master one (vrrp.c:1700-1703,
//     ipvswrapper.c:970-974); leaving MASTER: stop master, start backup (vrrp.c:1785-1792);
//   - at shutdown the running daemon is stopped (vrrp_daemon.c:410-417);
//   - a reload that changes the settings stops and restarts it (vrrp_daemon.c:850-859);
//   - without an instance both daemons run for as long as keepalived runs (check_daemon.c:370-385).
// hakeep also stops both roles before its first start (a daemon left by a crashed run would make
// --start-daemon fail with "File exists"); those stops may fail quietly.
//
// SyncDaemonPlan is pure: events in, ipvsadm argument lists out. SyncDaemon runs them one at a
// time in the background (never on the VRRP timing path) and logs failures.
import type { LvsSyncDaemon } from '../config/model.js';
import { runIpvsadm, type IpvsadmResult } from './lvs-timeouts.js';

export type SyncRole = 'master' | 'backup';

export interface SyncCommand {
  args: string[];
  /** A failure is expected and only worth a debug line (stopping what may not run). */
  quiet: boolean;
}

/** `ipvsadm --start-daemon ROLE …` for the configured options. */
export function startDaemonArgs(d: LvsSyncDaemon, role: SyncRole): string[] {
  const a = ['--start-daemon', role, '--mcast-interface', d.interface, '--syncid', String(d.syncId ?? 0)];
  if (d.maxlen !== null) a.push('--sync-maxlen', String(d.maxlen));
  if (d.group !== null) a.push('--mcast-group', d.group);
  if (d.port !== null) a.push('--mcast-port', String(d.port));
  if (d.ttl !== null) a.push('--mcast-ttl', String(d.ttl));
  return a;
}

export function stopDaemonArgs(role: SyncRole): string[] {
  return ['--stop-daemon', role];
}

/** Two settings run the same daemon (where they were written does not count). */
export function sameSyncDaemon(a: LvsSyncDaemon | null | undefined, b: LvsSyncDaemon | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.interface === b.interface && a.instance === b.instance && a.syncId === b.syncId && a.maxlen === b.maxlen &&
    a.port === b.port && a.ttl === b.ttl && a.group === b.group;
}

/** Which daemons should run, and the commands that get there. Pure. */
export class SyncDaemonPlan {
  private running = new Set<SyncRole>();
  private d: LvsSyncDaemon | null = null;

  get roles(): SyncRole[] {
    return [...this.running].sort();
  }

  get config(): LvsSyncDaemon | null {
    return this.d;
  }

  /** Start following `d` (null: nothing runs). `master`: the instance is MASTER now (a reload). */
  start(d: LvsSyncDaemon | null, master = false): SyncCommand[] {
    this.d = d;
    if (!d) return [];
    const out: SyncCommand[] = [
      { args: stopDaemonArgs('master'), quiet: true },
      { args: stopDaemonArgs('backup'), quiet: true },
    ];
    const roles: SyncRole[] = d.instance === null ? ['master', 'backup'] : [master ? 'master' : 'backup'];
    for (const r of roles) out.push({ args: startDaemonArgs(d, r), quiet: false });
    this.running = new Set(roles);
    return out;
  }

  /** A VRRP instance entered `state` (MASTER, BACKUP, FAULT, STOP …). */
  transition(instance: string, state: string): SyncCommand[] {
    const d = this.d;
    if (!d || d.instance === null || d.instance !== instance) return [];
    if (state === 'MASTER' && !this.running.has('master')) {
      this.running = new Set(['master']);
      return [{ args: stopDaemonArgs('backup'), quiet: false }, { args: startDaemonArgs(d, 'master'), quiet: false }];
    }
    if ((state === 'BACKUP' || state === 'FAULT') && this.running.has('master')) {
      this.running = new Set(['backup']);
      return [{ args: stopDaemonArgs('master'), quiet: false }, { args: startDaemonArgs(d, 'backup'), quiet: false }];
    }
    return [];
  }

  /** Stop what runs (shutdown, or before a changed configuration starts). */
  stop(): SyncCommand[] {
    const out = this.roles.map((r) => ({ args: stopDaemonArgs(r), quiet: false }));
    this.running = new Set();
    return out;
  }

  /** A reload: nothing when the settings are the same; else stop, then start the new ones. */
  reload(next: LvsSyncDaemon | null, master: boolean): SyncCommand[] {
    if (sameSyncDaemon(this.d, next)) {
      if (next) this.d = next;
      return [];
    }
    return [...this.stop(), ...this.start(next, master)];
  }
}

export interface SyncDaemonLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface SyncDaemonStatus {
  interface: string | null;
  instance: string | null;
  syncId: number | null;
  roles: SyncRole[];
  commands: number;
  failures: number;
  lastError: string | null;
}

/** Runs the plan's commands one at a time, in order, in the background. */
export class SyncDaemon {
  private readonly plan = new SyncDaemonPlan();
  private chain: Promise<void> = Promise.resolve();
  private counters = { commands: 0, failures: 0 };
  private lastError: string | null = null;
  private readonly run: (path: string, args: readonly string[]) => Promise<IpvsadmResult>;

  constructor(private readonly o: { ipvsadmPath: string; log: SyncDaemonLog; run?: (path: string, args: readonly string[]) => Promise<IpvsadmResult> }) {
    this.run = o.run ?? runIpvsadm;
  }

  start(d: LvsSyncDaemon | null, master = false): void {
    if (d) this.o.log.info({ interface: d.interface, instance: d.instance, syncId: d.syncId }, d.instance === null
      ? `IPVS sync daemon: master and backup on ${d.interface}, syncid ${d.syncId ?? 0}`
      : `IPVS sync daemon on ${d.interface}, syncid ${d.syncId ?? 0}, following ${d.instance}`);
    this.queue(this.plan.start(d, master));
  }

  transition(instance: string, state: string): void {
    const cmds = this.plan.transition(instance, state);
    if (cmds.length > 0) this.o.log.info({ instance, state, roles: this.plan.roles }, `IPVS sync daemon: ${instance} is ${state}, running the ${this.plan.roles.join(' and ')} sync daemon`);
    this.queue(cmds);
  }

  reload(next: LvsSyncDaemon | null, master: boolean): string[] {
    const before = this.plan.config;
    const cmds = this.plan.reload(next, master);
    if (cmds.length === 0) return [];
    this.queue(cmds);
    return [next ? `IPVS sync daemon restarted on ${next.interface} (syncid ${next.syncId ?? 0}${next.instance ? `, following ${next.instance}` : ''})` : `IPVS sync daemon on ${before?.interface ?? '?'} stopped (lvs_sync_daemon removed)`];
  }

  /** Stop the running daemons; resolves when the commands are done. */
  async stop(): Promise<void> {
    this.queue(this.plan.stop());
    await this.chain;
  }

  /** Wait for the queued commands (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  status(): SyncDaemonStatus {
    const d = this.plan.config;
    return { interface: d?.interface ?? null, instance: d?.instance ?? null, syncId: d?.syncId ?? null, roles: this.plan.roles, ...this.counters, lastError: this.lastError };
  }

  private queue(cmds: SyncCommand[]): void {
    for (const c of cmds) {
      this.chain = this.chain.then(async () => {
        // A later turn: the transition that asked for this finishes (its advert goes out) first.
        await new Promise<void>((res) => setImmediate(res));
        const r = await this.run(this.o.ipvsadmPath, c.args);
        this.counters.commands++;
        if (r.ok) return;
        if (c.quiet) {
          this.o.log.debug({ args: c.args, error: r.error }, `IPVS sync daemon: ipvsadm ${c.args.join(' ')}: ${r.error} (nothing to stop)`);
          return;
        }
        this.counters.failures++;
        this.lastError = `ipvsadm ${c.args.join(' ')}: ${r.error}`;
        this.o.log.warn({ args: c.args, error: r.error }, `IPVS sync daemon: ipvsadm ${c.args.join(' ')} failed: ${r.error}`);
      });
    }
  }
}
