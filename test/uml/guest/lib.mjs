// Helpers shared by the UML guest scenarios: controlled child processes, the IPVS table read from
// /proc/net/ip_vs (no process spawn: spawning costs ~90 ms in the guest), waits and result files.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const RESULT_DIR = process.env.RESULT_DIR;
if (!RESULT_DIR) throw new Error('RESULT_DIR is not set: run this through scripts/uml-run.sh');

export function log(msg) {
  process.stdout.write(`[guest +${(performance.now() / 1000).toFixed(1)}s] ${msg}\n`);
}

/** Record one assertion for the host-side test: name, pass/fail and what was seen. */
export function record(name, ok, detail) {
  appendFileSync(`${RESULT_DIR}/results.jsonl`, `${JSON.stringify({ name, ok: Boolean(ok), detail })}\n`);
  log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
}

export function sh(cmd, args, input) {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

/** A long-running helper process that answers one line per command line. */
export function controlled(argv, name) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else log(`${name}: ${l}`);
  });
  return {
    child,
    ask(line, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name} did not answer "${line}" within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((l) => { clearTimeout(t); resolve(l); });
        child.stdin.write(`${line}\n`);
      });
    },
    stop() { child.stdin.end(); child.kill('SIGTERM'); },
  };
}

function hexIp(h) {
  if (h.length === 8) return [0, 2, 4, 6].map((i) => parseInt(h.slice(i, i + 2), 16)).join('.');
  return h; // IPv6 is printed in brackets already expanded; the scenarios use IPv4
}

function hexAddr(text) {
  const m = /^(.*):([0-9A-Fa-f]{4})$/.exec(text);
  return m ? `${hexIp(m[1])}:${parseInt(m[2], 16)}` : text;
}

/**
 * The kernel's IPVS table: key "TCP 10.0.0.1:80" or "FWM 7" → { line, dests: {"ip:port": {fwd, weight}} }.
 * `path` reads another network namespace's table: `/proc/PID/net/ip_vs` for a process living there.
 */
export function readIpvs(path = '/proc/net/ip_vs') {
  const table = new Map();
  let cur = null;
  for (const line of readFileSync(path, 'utf8').split('\n').slice(3)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '->') {
      if (cur) cur.dests[hexAddr(f[1])] = { fwd: f[2], weight: Number(f[3]) };
    } else if (f[0] === 'TCP' || f[0] === 'UDP' || f[0] === 'SCTP') {
      cur = { line, dests: {} };
      table.set(`${f[0]} ${hexAddr(f[1])}`, cur);
    } else if (f[0] === 'FWM') {
      cur = { line, dests: {} };
      table.set(`FWM ${parseInt(f[1], 16)}`, cur);
    }
  }
  return table;
}

/** Destinations of one service as "ip:port/weight", sorted; null when the service is absent. */
export function destsOf(table, key) {
  const s = table.get(key);
  if (!s) return null;
  return Object.entries(s.dests).map(([k, v]) => `${k}/${v.weight}`).sort();
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until cond() returns a truthy value or the time is up; returns the last value and the wait. */
export async function waitFor(cond, timeoutMs, pollMs = 50) {
  const start = performance.now();
  let v = cond();
  while (!v && performance.now() - start < timeoutMs) {
    await sleep(pollMs);
    v = cond();
  }
  return { value: v, ms: Math.round(performance.now() - start) };
}
