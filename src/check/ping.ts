// PING_CHECK's echo requests through the addon (native/src/icmp.c): one ping (or raw) socket per
// family for every check, no process per check.
import { native } from '../net/native.js';
import type { PingFn } from './ping-checker.js';

function errName(code: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 13: 'EACCES', 22: 'EINVAL', 101: 'ENETUNREACH', 113: 'EHOSTUNREACH', 105: 'ENOBUFS' };
  return names[-code] ?? `errno ${-code}`;
}

export const nativePing: PingFn = (host, family, done) => {
  let a: ReturnType<typeof native>;
  try {
    a = native();
  } catch (e) {
    queueMicrotask(() => done(`no ICMP: ${(e as Error).message}`));
    return () => {};
  }
  if (typeof a.icmpEcho !== 'function' || typeof a.icmpEchoAbort !== 'function') {
    queueMicrotask(() => done("no ICMP: hakeep's native addon predates icmpEcho; run npm install again"));
    return () => {};
  }
  const id = a.icmpEcho(host, family, (status) => done(status === 0 ? null : errName(status)));
  if (id < 0) {
    let aborted = false;
    // keepalived: "send ICMP packet fail".
    queueMicrotask(() => { if (!aborted) done(`send ICMP packet fail (${errName(id)})`); });
    return () => { aborted = true; };
  }
  return () => a.icmpEchoAbort!(id);
};
