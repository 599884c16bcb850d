// Builds the runtime of each configured checker, and the real I/O the checkers use.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Checker, Config, RealServer, SslConfig, VirtualServer } from '../config/model.js';
import type { ScriptResult } from '../script/types.js';
import type { CheckerRuntime } from './checker.js';
import { FileChecker } from './file-checker.js';
import { HttpChecker } from './http-checker.js';
import { MiscChecker, type MiscRunner } from './misc-checker.js';
import { PingChecker, type PingFn } from './ping-checker.js';
import { nativePing } from './ping.js';
import { SmtpChecker } from './smtp-checker.js';
import { TcpChecker } from './tcp-checker.js';
import { tcpProbe, type Probe } from './tcp-probe.js';
import { DnsChecker, UdpChecker } from './udp-checkers.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

export interface CheckerIo {
  tcpProbe: Probe;
  /** MISC_CHECK's programs (the checker child's script runner). */
  runScript: MiscRunner;
  /** PING_CHECK's echo requests. */
  ping: PingFn;
}

export interface CheckerCtx {
  vs: VirtualServer;
  rs: RealServer;
  vsName: string;
  rsName: string;
  config: Config;
  logAll: boolean;
  clock: { now(): number };
  log: Log;
}

const noRunner: MiscRunner = async (): Promise<ScriptResult> => ({
  exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error: 'no script runner in this process',
});

export function realCheckerIo(): CheckerIo {
  return { tcpProbe, runScript: noRunner, ping: nativePing };
}

/** SSL_GET's context from the global SSL block (check_ssl.c:66-149), built once per config. */
const tlsCache = new WeakMap<Config, SecureContext | Error | undefined>();
function tlsContext(config: Config, log: Log): SecureContext | Error | undefined {
  if (tlsCache.has(config)) return tlsCache.get(config);
  let ctx: SecureContext | Error | undefined;
  const s: SslConfig | null | undefined = config.ssl;
  if (!s || (!s.certificate && !s.key && !s.ca)) {
    ctx = undefined;
  } else {
    try {
      ctx = createSecureContext({
        ...(s.certificate ? { cert: readFileSync(s.certificate) } : {}),
        ...(s.key ? { key: readFileSync(s.key) } : {}),
        ...(s.password ? { passphrase: s.password } : {}),
        ...(s.ca ? { ca: readFileSync(s.ca) } : {}),
      });
    } catch (e) {
      ctx = e as Error;
      log('error', `SSL error: cannot load the SSL block's files (${s.loc.file}:${s.loc.line}): ${(e as Error).message}. Every SSL_GET check fails until this is fixed (keepalived refuses to run its checkers then)`, { file: s.loc.file });
    }
  }
  tlsCache.set(config, ctx);
  return ctx;
}

let miscSeq = 0;

export function createChecker(c: Checker, ctx: CheckerCtx, io: CheckerIo): CheckerRuntime {
  const base = { rs: ctx.rs, rsName: ctx.rsName, vsName: ctx.vsName, logAll: ctx.logAll, clock: ctx.clock };
  switch (c.type) {
    case 'TCP_CHECK':
      if (c.bindIf) ctx.log('warn', `bind_if ${c.bindIf} of TCP_CHECK on ${ctx.rsName} is not supported; connecting without it`, { rs: ctx.rsName });
      if (c.fwmark !== null) ctx.log('warn', `fwmark ${c.fwmark} of TCP_CHECK on ${ctx.rsName} is not supported; connecting without it`, { rs: ctx.rsName });
      return new TcpChecker(c, ctx.rsName, ctx.rs, io.tcpProbe, ctx.logAll);
    case 'HTTP_GET':
    case 'SSL_GET':
      return new HttpChecker(c, { ...base, vs: ctx.vs, log: ctx.log, tls: () => tlsContext(ctx.config, ctx.log) });
    case 'MISC_CHECK':
      return new MiscChecker(c, { ...base, vsDelayLoop: ctx.vs.delayLoop, run: io.runScript, owner: `misc:${ctx.vsName} ${ctx.rsName} ${++miscSeq}` });
    case 'SMTP_CHECK':
      return new SmtpChecker(c, base);
    case 'DNS_CHECK':
      return new DnsChecker(c, base);
    case 'UDP_CHECK':
      return new UdpChecker(c, base);
    case 'PING_CHECK':
      return new PingChecker(c, { ...base, ping: io.ping });
    case 'FILE_CHECK': {
      const file = (ctx.config.vrrpTrackFiles ?? []).find((t) => t.name === c.trackFile);
      if (!file) throw new Error(`${c.loc.file}:${c.loc.line}: FILE_CHECK on ${ctx.rsName} names track_file ${c.trackFile}, which is not defined; refusing to start rather than treating the server as healthy`);
      return new FileChecker(c, { rsName: ctx.rsName, file, log: ctx.log });
    }
    case 'BFD_CHECK':
      // The config checker refuses such a config (src/config/support.ts); never count a server
      // healthy because nobody checks it.
      throw new Error(`${c.loc.file}:${c.loc.line}: BFD_CHECK on ${ctx.rsName} of VS ${ctx.vsName} is not run by hakeep (no BFD); refusing to start rather than treating the server as healthy`);
  }
}
