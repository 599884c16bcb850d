// lvs_timeouts tcp/tcpfin/udp → `ipvsadm --set TCP TCPFIN UDP` (0 leaves that timeout as the kernel
// has it, as keepalived's ipvs_set_timeouts does: check_daemon.c:362-368, ipvswrapper.c:116-123),
// and the small ipvsadm runner the sync daemon shares. Commands run asynchronously, one process
// each, never on the VRRP timing path (the callers fire and forget, or queue).
import { spawn } from 'node:child_process';
import type { LvsTimeouts } from '../config/model.js';

export interface IpvsadmResult {
  ok: boolean;
  /** stderr (or the spawn error), trimmed; '' on success. */
  error: string;
}

/** Run `ipvsadm ARGS` with a time limit; never rejects. */
export function runIpvsadm(path: string, args: readonly string[], timeoutMs = 10_000): Promise<IpvsadmResult> {
  return new Promise((resolve) => {
    let err = '';
    let done = false;
    const finish = (r: IpvsadmResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      resolve({ ok: false, error: (e as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, error: `no answer within ${timeoutMs} ms (killed)` });
    }, timeoutMs);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => { if (err.length < 4096) err += d; });
    child.on('error', (e) => finish({ ok: false, error: e.message }));
    child.on('close', (code, signal) => {
      finish(code === 0 ? { ok: true, error: '' } : { ok: false, error: err.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`) });
    });
  });
}

/** The ipvsadm arguments for lvs_timeouts. */
export function lvsTimeoutsArgs(t: Pick<LvsTimeouts, 'tcp' | 'tcpfin' | 'udp'>): string[] {
  return ['--set', String(t.tcp), String(t.tcpfin), String(t.udp)];
}

/** Whether two lvs_timeouts settings differ (where they were written does not count). */
export function lvsTimeoutsChanged(a: LvsTimeouts | null | undefined, b: LvsTimeouts | null | undefined): boolean {
  if (!a || !b) return !a !== !b;
  return a.tcp !== b.tcp || a.tcpfin !== b.tcpfin || a.udp !== b.udp;
}

export interface TimeoutsLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/**
 * Set the IPVS timeouts, if any are written. keepalived logs "Failed to set ipvs timeouts" and runs
 * on; hakeep says which command failed and why. Resolves true when set (or nothing to set).
 */
export async function applyLvsTimeouts(t: LvsTimeouts | null | undefined, o: { ipvsadmPath: string; log: TimeoutsLog; run?: typeof runIpvsadm }): Promise<boolean> {
  if (!t || (!t.tcp && !t.tcpfin && !t.udp)) return true;
  const args = lvsTimeoutsArgs(t);
  const r = await (o.run ?? runIpvsadm)(o.ipvsadmPath, args);
  const fields = { tcp: t.tcp, tcpfin: t.tcpfin, udp: t.udp, file: t.loc.file, line: t.loc.line };
  if (r.ok) o.log.info(fields, `IPVS timeouts set (lvs_timeouts, ${t.loc.file}:${t.loc.line}): tcp ${t.tcp || 'unchanged'}, tcpfin ${t.tcpfin || 'unchanged'}, udp ${t.udp || 'unchanged'}`);
  else o.log.warn({ ...fields, error: r.error }, `Failed to set ipvs timeouts (lvs_timeouts, ${t.loc.file}:${t.loc.line}): ipvsadm ${args.join(' ')}: ${r.error}`);
  return r.ok;
}
