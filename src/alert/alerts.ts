// keepalived's e-mail alerts: which events send one, with which subject and body, to whom, and a
// small bounded queue that sends them one at a time in the background. Nothing here ever blocks or
// throws into the caller (a VRRP transition, a checker result): a slow or dead mail server only
// costs a rate-limited log line.
//
// keepalived facts used (read for behaviour only):
//   - nothing is sent without notification_email and a usable smtp_server (smtp.c:557-559);
//   - subjects (smtp.c:565-612): "[ROUTER_ID] VRRP Instance NAME - Entering MASTER state",
//     "[ROUTER_ID] VRRP Group NAME - …", "[ROUTER_ID] Realserver RS of virtual server VS - UP|DOWN",
//     "[ROUTER_ID] Virtualserver VS - UP|DOWN"; at most 255 characters, the body 511 (smtp.h:71-72);
//   - VRRP bodies and when they are sent (vrrp_notify.c:193-252): only with smtp_alert on (resolved
//     in the config), not for FAULT under no_email_faults, and not twice for the same state;
//   - real servers (check_tcp.c:104-131 and the other checkers): the checker's own text
//     ("=> TCP CHECK succeed on service <="), the subject's UP/DOWN being the real server's state;
//     with no_checker_emails only when the real server's state changed; when a real server is
//     removed at stop (omega only) or by a reload: "=> Shutting down <=" / "=> Removing <="
//     (ipwrapper.c:226-289);
//   - quorum (ipwrapper.c:160-198): "=> Gained quorum 2+0=2 <= 3 <=", "Lost quorum",
//     "Starting with quorum up|down", "=> Shutting down <=" (at stop, only with omega);
//   - From: notification_email_from, else USER@HOST; HELO smtp_helo_name, else HOST; router_id
//     defaults to HOST (global_data.c:53-80, 269-295).
import { hostname, userInfo } from 'node:os';
import { isIP } from 'node:net';
import type { Checker, Config, RealServer, VirtualServer } from '../config/model.js';
import { formatRs, formatVs } from '../ipvs/format.js';
import { RateLimiter } from '../vrrp/rate-limit.js';
import { sendMail, SmtpError, type SmtpMail, type SmtpTarget } from './smtp.js';

/** A VRRP state as the runtime names it: MASTER, BACKUP, FAULT, STOP and DELETED send an alert;
 * anything else (INIT) is ignored. */
export type AlertState = string;

/** The part of a logger the alerter uses (pino's Logger fits). */
export interface AlertLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface AlerterOptions {
  log: AlertLog;
  /** How a message is sent (tests); sendMail by default. */
  send?: (target: SmtpTarget, mail: SmtpMail, signal: AbortSignal) => Promise<void>;
  /** Messages waiting to be sent; beyond this the oldest waiting one is dropped. Default 100. */
  maxQueue?: number;
  /** The host name used for router_id, From and HELO defaults; os.hostname() by default. */
  hostname?: string;
  /** The user in the default From (USER@HOST); the user hakeep runs as by default. */
  user?: string;
  /** Window of the failure log's rate limit, ms. Default 60 s. */
  logWindowMs?: number;
}

export interface AlerterStatus {
  enabled: boolean;
  queued: number;
  sending: boolean;
  sent: number;
  failed: number;
  dropped: number;
  last: { subject: string; result: 'sent' | 'failed'; error?: string; wall: string } | null;
}

/** What one alert is. */
export interface Alert {
  subject: string;
  body: string;
}

const SUBJECT_MAX = 255;
const BODY_MAX = 511;

const VRRP_TEXT: Record<string, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
  DELETED: ['Deleted', '=> VRRP Deleted at reload <='],
};

const GROUP_TEXT: Record<string, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
};

/** keepalived's subject and body for a VRRP instance entering `state` (vrrp_notify.c:193-223). */
export function vrrpAlert(routerId: string, instance: string, state: AlertState): Alert | null {
  const t = VRRP_TEXT[state];
  return t ? { subject: `[${routerId}] VRRP Instance ${instance} - ${t[0]}`, body: t[1] } : null;
}

/** keepalived's subject and body for a sync group entering `state` (vrrp_notify.c:226-252). */
export function groupAlert(routerId: string, group: string, state: AlertState): Alert | null {
  const t = GROUP_TEXT[state];
  return t ? { subject: `[${routerId}] VRRP Group ${group} - ${t[0]}`, body: t[1] } : null;
}

type Vs = Pick<VirtualServer, 'address' | 'protocol'>;
/** What the checker-side alerts read of a virtual / real server. */
export type AlertVsFacts = Pick<VirtualServer, 'address' | 'protocol' | 'smtpAlert' | 'omega' | 'quorum' | 'hysteresis'>;
export type AlertRsFacts = Pick<RealServer, 'ip' | 'port' | 'smtpAlert'>;

/** keepalived's real-server alert: the subject carries the real server's state (smtp.c:565-573). */
export function realServerAlert(routerId: string, vs: Vs, rs: Pick<RealServer, 'ip' | 'port'>, up: boolean, text: string): Alert {
  return { subject: `[${routerId}] Realserver ${formatRs(rs, vs)} of virtual server ${formatVs(vs)} - ${up ? 'UP' : 'DOWN'}`, body: text };
}

/** Details of a quorum change, as the pool computes them (src/ipvs/pool.ts evaluateQuorum). */
export interface QuorumDetail {
  /** The first evaluation at start ("Starting with quorum up/down"). */
  init?: boolean;
  /** The threshold crossed (quorum ± hysteresis). */
  threshold?: number;
  /** The live weight. */
  weight?: number;
  /** hakeep is stopping ("=> Shutting down <="; sent only with omega). */
  stopping?: boolean;
}

/** keepalived's virtual-server quorum alert (ipwrapper.c:180-197). */
export function quorumAlert(routerId: string, vs: Vs & Pick<VirtualServer, 'quorum' | 'hysteresis'>, up: boolean, d: QuorumDetail = {}): Alert {
  const what = up ? (d.init ? 'Starting with quorum up' : 'Gained quorum') : (d.init ? 'Starting with quorum down' : 'Lost quorum');
  const threshold = d.threshold ?? (up ? vs.quorum + vs.hysteresis : vs.quorum - vs.hysteresis);
  const body = d.stopping ? '=> Shutting down <=' : `=> ${what} ${vs.quorum}+${vs.hysteresis}=${threshold} <= ${d.weight ?? 0} <=`;
  return { subject: `[${routerId}] Virtualserver ${formatVs(vs)} - ${up ? 'UP' : 'DOWN'}`, body };
}

/**
 * The text a checker puts in its real-server alert, in keepalived's words (check_tcp.c:112-131,
 * check_http.c:1001-1036, check_misc.c:489, check_smtp.c:376-417, check_dns.c:147-158,
 * check_udp.c:220-239, check_ping.c:295-314). `detail`: MISC_CHECK's outcome ("timed out"), or
 * SMTP_CHECK's reason. FILE_CHECK sends none in keepalived: null.
 */
export function checkerAlertText(type: Checker['type'], up: boolean, detail?: string): string | null {
  switch (type) {
    case 'TCP_CHECK': return up ? '=> TCP CHECK succeed on service <=' : '=> TCP CHECK failed on service <=';
    case 'HTTP_GET':
    case 'SSL_GET': return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP request failed <=';
    case 'MISC_CHECK': return `=> MISC CHECK ${detail ?? (up ? 'succeeded' : 'failed')} on service <=`;
    case 'SMTP_CHECK': return up ? '=> CHECK succeed on service <=' : detail ? `=> CHECK failed on service : ${detail} <=` : '=> CHECK failed on service <=';
    case 'DNS_CHECK': return up ? '=> DNS_CHECK: succeed on service <=' : '=> DNS_CHECK: failed on service <=';
    case 'UDP_CHECK': return up ? '=> UDP CHECK succeed on service <=' : '=> UDP CHECK failed on service <=';
    case 'PING_CHECK': return up ? '=> ICMP CHECK succeed on service <=' : '=> ICMP CHECK failed on service <=';
    default: return null;
  }
}

interface Pending {
  mail: SmtpMail;
}

/**
 * Sends keepalived's alerts for one configuration. Construct it once; the event methods return at
 * once (the message is queued) and never throw. Call close() when stopping.
 */
export class Alerter {
  private readonly g: Config['globalDefs'];
  private readonly instances: Map<string, boolean>;
  private readonly groups: Map<string, boolean>;
  private readonly instanceOrder: string[];
  private readonly groupOrder: string[];
  private readonly lastInstance = new Map<string, string>();
  private readonly lastGroup = new Map<string, string>();
  private readonly queue: Pending[] = [];
  private readonly maxQueue: number;
  private readonly send: NonNullable<AlerterOptions['send']>;
  private readonly limiter: RateLimiter;
  private readonly abort = new AbortController();
  private readonly routerId: string;
  private readonly from: string;
  private readonly target: SmtpTarget | null;
  private readonly to: string[];
  private sending: Promise<void> | null = null;
  private closed = false;
  private counters = { sent: 0, failed: 0, dropped: 0 };
  private last: AlerterStatus['last'] = null;

  constructor(config: Config, private readonly opts: AlerterOptions) {
    this.g = config.globalDefs;
    const host = opts.hostname ?? hostname();
    this.routerId = this.g.routerId ?? host;
    let user = opts.user;
    if (user === undefined) {
      try { user = userInfo().username; } catch { user = 'root'; }
    }
    this.from = this.g.notificationEmailFrom ?? `${user}@${host}`;
    this.to = [...this.g.notificationEmail];
    const s = this.g.smtpServer;
    this.target = s && this.to.length > 0
      ? { host: s.host, port: s.port, heloName: this.g.smtpHeloName ?? host ?? 'localhost', timeoutMs: this.g.smtpConnectTimeout * 1000 }
      : null;
    this.instances = new Map(config.vrrpInstances.map((i) => [i.name, i.smtpAlert]));
    this.groups = new Map(config.vrrpSyncGroups.map((x) => [x.name, x.smtpAlert]));
    this.instanceOrder = config.vrrpInstances.map((i) => i.name);
    this.groupOrder = config.vrrpSyncGroups.map((x) => x.name);
    this.maxQueue = Math.max(1, opts.maxQueue ?? 100);
    this.send = opts.send ?? sendMail;
    this.limiter = new RateLimiter(opts.logWindowMs ?? 60_000);
  }

  /** Alerts can be sent at all: notification_email and smtp_server are both given. */
  get enabled(): boolean {
    return this.target !== null;
  }

  /** A VRRP instance entered `state` (MASTER, BACKUP, FAULT, STOP, DELETED; others are ignored). */
  vrrpTransition(instance: string | { name: string }, state: AlertState): void {
    const name = typeof instance === 'string' ? instance : instance.name;
    if (!this.instances.get(name) || !this.wanted(this.lastInstance, name, state)) return;
    const a = vrrpAlert(this.routerId, name, state);
    if (!a) return;
    this.lastInstance.set(name, state);
    this.enqueue(a);
  }

  /** A sync group entered `state` (MASTER, BACKUP, FAULT, STOP). */
  groupTransition(group: string | { name: string }, state: AlertState): void {
    const name = typeof group === 'string' ? group : group.name;
    if (!this.groups.get(name) || !this.wanted(this.lastGroup, name, state)) return;
    const a = groupAlert(this.routerId, name, state);
    if (!a) return;
    this.lastGroup.set(name, state);
    this.enqueue(a);
  }

  /** Stopping: "Stopping" for every instance, then every sync group (vrrp_notify.c:354-369). */
  vrrpShutdown(): void {
    for (const n of this.instanceOrder) this.vrrpTransition(n, 'STOP');
    for (const n of this.groupOrder) this.groupTransition(n, 'STOP');
  }

  /**
   * A checker of `rs` changed its result; `up` is the real server's state after it, `checkerText`
   * the checker's words (checkerAlertText). `rsChanged`: the real server's own state changed (with
   * no_checker_emails only those send).
   */
  realServer(vs: AlertVsFacts, rs: AlertRsFacts, up: boolean, checkerText: string | null, rsChanged = true): void {
    if (checkerText === null || rs.smtpAlert === false) return;
    if (!rsChanged && this.g.noCheckerEmails) return;
    this.enqueue(realServerAlert(this.routerId, vs, rs, up, checkerText));
  }

  /** An alive real server is taken out: at stop (sent only with omega) or by a reload. */
  realServerRemoved(vs: AlertVsFacts, rs: AlertRsFacts, stopping: boolean): void {
    if (rs.smtpAlert === false || (stopping && !vs.omega)) return;
    this.enqueue(realServerAlert(this.routerId, vs, rs, false, stopping ? '=> Shutting down <=' : '=> Removing <='));
  }

  /** The virtual server's quorum went up or down (at stop: only with omega, as keepalived). */
  quorum(vs: AlertVsFacts, up: boolean, detail: QuorumDetail = {}): void {
    if (!vs.smtpAlert || (detail.stopping && !vs.omega)) return;
    this.enqueue(quorumAlert(this.routerId, vs, up, detail));
  }

  status(): AlerterStatus {
    return { enabled: this.enabled, queued: this.queue.length, sending: this.sending !== null, ...this.counters, last: this.last };
  }

  /**
   * Stop taking alerts; let what is queued go out for up to `waitMs` (the STOP alerts of a shutdown),
   * then abandon the rest. Never rejects.
   */
  async close(waitMs = 5000): Promise<void> {
    this.closed = true;
    const drained = (async () => { while (this.sending) await this.sending; })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((res) => { timer = setTimeout(res, waitMs); })]);
    clearTimeout(timer);
    if (this.queue.length > 0 || this.sending) {
      this.counters.dropped += this.queue.length;
      if (this.queue.length > 0) this.opts.log.warn({ dropped: this.queue.length }, `SMTP: ${this.queue.length} alert(s) not sent: hakeep is stopping`);
      this.queue.length = 0;
      this.abort.abort();
      await drained.catch(() => undefined);
    }
  }

  /** keepalived's condition: not FAULT under no_email_faults, and not the state last mailed. */
  private wanted(last: Map<string, string>, name: string, state: AlertState): boolean {
    if (state === 'FAULT' && this.g.noEmailFaults) return false;
    return last.get(name) !== state;
  }

  private enqueue(a: Alert): void {
    if (!this.target || this.closed) return;
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.counters.dropped += 1;
      const suppressed = this.limiter.admit('queue-full', Date.now());
      if (suppressed !== null) {
        this.opts.log.warn({ maxQueue: this.maxQueue, dropped: this.counters.dropped },
          `SMTP alert queue full (${this.maxQueue} waiting, server ${this.target.host}:${this.target.port} slow or down): the oldest alert was dropped${suppressed ? ` (${suppressed} more since the last line)` : ''}`);
      }
    }
    this.queue.push({
      mail: { from: this.from, to: this.to, subject: a.subject.slice(0, SUBJECT_MAX), body: a.body.slice(0, BODY_MAX), date: new Date() },
    });
    if (!this.sending) this.sending = this.pump();
  }

  private async pump(): Promise<void> {
    // Start on a later turn: the caller (a transition) finishes first.
    await new Promise<void>((res) => setImmediate(res));
    try {
      for (let p = this.queue.shift(); p; p = this.queue.shift()) {
        const target = this.target!;
        try {
          await this.send(target, p.mail, this.abort.signal);
          this.counters.sent += 1;
          this.last = { subject: p.mail.subject, result: 'sent', wall: new Date().toISOString() };
          this.opts.log.debug({ subject: p.mail.subject, to: p.mail.to }, 'SMTP alert successfully sent.');
        } catch (e) {
          this.counters.failed += 1;
          const err = e instanceof SmtpError ? e : new SmtpError('connect', String((e as Error)?.message ?? e));
          this.last = { subject: p.mail.subject, result: 'failed', error: err.message, wall: new Date().toISOString() };
          if (err.stage === 'aborted') continue;
          const suppressed = this.limiter.admit(`fail:${err.stage}`, Date.now());
          if (suppressed !== null) {
            const hint = isIP(target.host) === 0 && err.stage === 'connect' ? ` (smtp_server ${target.host}: check that the name resolves)` : '';
            this.opts.log.warn({ stage: err.stage, code: err.code, subject: p.mail.subject, failed: this.counters.failed },
              `${err.message.endsWith('.') ? err.message : `${err.message}.`} E-mail alert not sent: ${p.mail.subject}${hint}${suppressed ? ` (${suppressed} more failure(s) like this since the last line)` : ''}`);
          }
        }
      }
    } finally {
      this.sending = null;
    }
  }
}
