// Helpers for the UML scenarios that start, signal and restart whole hakeep daemons
// (directors-scenario.mjs, restart-scenario.mjs): a daemon with its own log file, status socket,
// pid file and TMPDIR, optionally inside a network namespace; requests on its status socket; the
// kernel's view of another namespace through /proc/PID/net (no process spawn); hakeep's CLI.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { log, sleep, RESULT_DIR } from './lib.mjs';

const REPO = process.env.REPO;
/** The hakeep to run: the checkout's bin/ (it needs dist/: `npm run build`). */
export const HAKEEP = `${process.env.HAKEEP_ROOT || REPO}/bin/hakeep.js`;

/**
 * Start hakeep. `dir` holds its status socket, pid file, state and TMPDIR. Returns
 * { name, proc, pid, sock, dir, logPath, exited: Promise<{code, signal, at}>, startedAt }.
 * Output goes to $RESULT_DIR/<name>.log. Inside a namespace the process is `ip netns exec NS node …`,
 * which execs node: the pid is hakeep's.
 */
export function startHakeep({ name, conf, dir, args = [], env = {}, netns = null }) {
  mkdirSync(`${dir}/tmp`, { recursive: true });
  const sock = `${dir}/status.sock`;
  const argv = ['node', HAKEEP, '-n', '-f', conf, '--log-format', 'text', '-p', `${dir}/hakeep.pid`, '--status-socket', sock, ...args];
  const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  const logPath = `${RESULT_DIR}/${name}.log`;
  const out = createWriteStream(logPath, { flags: 'a' });
  const startedAt = Date.now();
  const proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: `${dir}/tmp`, ...env } });
  proc.stdout.pipe(out);
  proc.stderr.pipe(out);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  let running = true;
  void exited.then(() => { running = false; });
  log(`${name}: started pid ${proc.pid}: ${full.join(' ')}`);
  return {
    name, proc, pid: proc.pid, sock, dir, logPath, exited, startedAt,
    get running() { return running; },
    kill(sig) { if (running) proc.kill(sig); },
    logText() { return existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''; },
  };
}

/** SIGTERM (or another signal) and wait for the exit; SIGKILL after `timeoutMs`. */
export async function stopHakeep(d, signal = 'SIGTERM', timeoutMs = 30_000) {
  if (!d.running) return d.exited;
  const sentAt = Date.now();
  d.kill(signal);
  const r = await Promise.race([d.exited, sleep(timeoutMs).then(() => null)]);
  if (r) return { ...r, ms: r.at - sentAt };
  log(`${d.name}: did not exit within ${timeoutMs} ms of ${signal}; SIGKILL`);
  d.kill('SIGKILL');
  const k = await d.exited;
  return { ...k, ms: k.at - sentAt, timedOut: true };
}

/** One request line on a status socket; the answer text, or null when nobody answers. */
export function request(sock, line, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const c = createConnection(sock);
    let data = '';
    const t = setTimeout(() => { c.destroy(); resolve(null); }, timeoutMs);
    c.on('connect', () => c.write(`${line}\n`));
    c.on('data', (d) => { data += d; });
    c.on('end', () => { clearTimeout(t); resolve(data); });
    c.on('error', () => { clearTimeout(t); resolve(null); });
  });
}

/** The daemon's status document, or null. */
export async function status(sock) {
  const text = await request(sock, 'status');
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Run hakeep's CLI (e.g. `rs drain …`, `status`) and wait: { code, stdout, stderr, ms }. */
export function hakeepCli(args, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn('node', [HAKEEP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

/** Is `ip` a local address of the namespace `pid` lives in? (/proc/PID/net/fib_trie, no spawn) */
export function hasLocalAddress(pid, ip) {
  try {
    const text = readFileSync(`/proc/${pid}/net/fib_trie`, 'utf8');
    return new RegExp(`\\|-- ${ip.replaceAll('.', '\\.')}\\n\\s+/32 host LOCAL`).test(text);
  } catch {
    return false;
  }
}

/**
 * /proc/net/ip_vs (or /proc/PID/net/ip_vs) normalized for comparison: service lines and
 * destination lines with address, forwarding and weight; the connection counters cut off; the
 * kernel's order kept (a destination deleted and added again moves to the end of its service).
 * null when the file does not exist (IPVS not loaded).
 */
export function ipvsText(path = '/proc/net/ip_vs') {
  let raw;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const out = [];
  for (const line of raw.split('\n').slice(3)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '') continue;
    out.push(f[0] === '->' ? `  -> ${f[1]} ${f[2]} ${f[3]}` : f.join(' '));
  }
  return out.join('\n');
}

/** The "TCP 0A500901:0050" key of an IPv4 service as /proc/net/ip_vs prints it. */
export function procKey(ip, port, proto = 'TCP') {
  return `${proto} ${procAddr(ip, port)}`;
}

export function procAddr(ip, port) {
  const hex = ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0').toUpperCase()).join('');
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Lines of a text log with their timestamps (hakeep --log-format text): [{ at, text }]. */
export function logLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/.exec(line);
    if (m) out.push({ at: Date.parse(m[1]), text: m[2] });
  }
  return out;
}

/** The first log line matching `re` at or after `since` (ms epoch), or null. */
export function firstLine(lines, re, since = 0) {
  return lines.find((l) => l.at >= since && re.test(l.text)) ?? null;
}
