// The failover bench's lab: namespaces on a bridge, daemons (hakeep or keepalived) with their
// pid files, and two passive observers with kernel/netlink timestamps on the backup:
// tcpdump (adverts and ARP, -tt) and `ip -ts monitor address` (VIP add/delete).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sh(argv, { allowFail = false } = {}) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (allowFail) return '';
    throw new Error(`${argv.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Every process the bench started, so an interrupt can kill them by pid. */
const live = new Set();
export function killAll() {
  for (const p of live) {
    if (p.exitCode === null && p.signalCode === null) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}
function track(proc) {
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  return proc;
}

/** `--name VALUE` from the command line, or `dflt`. */
export function cliOption(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what, fn, timeoutMs, stepMs = 5) {
  const start = performance.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Namespaces `${prefix}-sw` (bridge) and one per host with eth0 = subnet.(10+i). */
export function createLab(prefix, hosts, subnet) {
  const all = ['sw', ...hosts].map((h) => `${prefix}-${h}`);
  for (const ns of all) sh(['ip', 'netns', 'del', ns], { allowFail: true });
  const lab = {
    hosts: {},
    destroy() {
      for (const ns of all) sh(['ip', 'netns', 'del', ns], { allowFail: true });
    },
  };
  try {
    const sw = `${prefix}-sw`;
    sh(['ip', 'netns', 'add', sw]);
    sh(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    hosts.forEach((h, i) => {
      const ns = `${prefix}-${h}`;
      const ip = `${subnet}.${10 + i}`;
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', sw, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh(['ip', '-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      const mac = /link\/ether ([0-9a-f:]{17})/.exec(sh(['ip', '-n', ns, '-o', 'link', 'show', 'eth0']))[1];
      lab.hosts[h] = { ns, ip, mac };
    });
  } catch (e) {
    lab.destroy();
    throw e;
  }
  return lab;
}

export function vrrpConf({ priority, state = 'BACKUP', vip, routerId }) {
  return `global_defs {
    router_id ${routerId}
}
vrrp_instance VI_1 {
    state ${state}
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass hkbpass1
    }
    virtual_ipaddress {
        ${vip}/24 dev eth0
    }
}
`;
}

/** A running daemon of either kind. `pids()` lists every process that belongs to it. */
export class Daemon {
  constructor(kind, name, proc, files) {
    this.kind = kind;
    this.name = name;
    this.proc = proc;
    this.files = files;
    this.log = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (this.log += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (this.log += d));
    this.exited = new Promise((r) => proc.on('exit', (code, sig) => r(code ?? sig)));
  }

  static start(kind, root, host, name, conf, dir) {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, conf);
    const files = { main: join(dir, `${name}.pid`), vrrp: join(dir, `${name}.vrrp.pid`), check: join(dir, `${name}.check.pid`) };
    const argv = kind === 'hakeep'
      ? ['node', join(root, 'bin', 'hakeep.js'), '-n', '-P', '-f', file, '-p', files.main, '--status-socket', join(dir, `${name}.sock`)]
      : ['keepalived', '-n', '-l', '-P', '-f', file, '-p', files.main, '-r', files.vrrp, '-c', files.check];
    const proc = track(spawn('ip', ['netns', 'exec', host.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }));
    return new Daemon(kind, name, proc, files);
  }

  get running() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  pids() {
    const out = [this.proc.pid];
    if (this.kind === 'keepalived' && existsSync(this.files.vrrp)) {
      const child = Number(readFileSync(this.files.vrrp, 'utf8').trim());
      if (child > 0) out.push(child);
    }
    return out;
  }

  /** kill -9 semantics: no priority 0. keepalived's VRRP child would get SIGTERM from its dying
   * parent (PR_SET_PDEATHSIG), so freeze the parent and kill the child first. */
  crash() {
    if (!this.running) return;
    if (this.kind === 'keepalived') {
      process.kill(this.proc.pid, 'SIGSTOP');
      for (const p of this.pids().slice(1)) {
        try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    process.kill(this.proc.pid, 'SIGKILL');
  }

  term() {
    if (this.running) process.kill(this.proc.pid, 'SIGTERM');
  }
}

const CLK_TCK = Number(sh(['getconf', 'CLK_TCK']).trim()) || 100;

/** CPU seconds (user+system) and RSS bytes of a set of processes. */
export function procUsage(pids) {
  let cpu = 0;
  let rss = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu += (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    rss += m ? Number(m[1]) * 1024 : 0;
  }
  return { cpu, rss };
}

/** A line-oriented observer process; `events` collects parsed lines. */
class Observer {
  constructor(ns, argv, parse) {
    this.events = [];
    this.proc = track(spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.err = '';
    let buf = '';
    this.proc.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        const ev = parse(l);
        if (ev) this.events.push(ev);
      }
    });
    this.proc.stderr.setEncoding('utf8').on('data', (d) => (this.err += d));
  }

  stop() {
    if (this.proc.exitCode === null) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

/** Adverts and gratuitous ARPs on a host's eth0, with kernel capture timestamps (epoch ms). */
export async function startWire(host, vip) {
  const o = new Observer(host.ns, ['tcpdump', '-i', 'eth0', '-n', '-tt', '-e', '-l', 'proto 112 or arp'], (l) => {
    const t = Number(l.split(' ')[0]) * 1000;
    let m = /: (\S+) > \S+: VRRPv2, Advertisement, vrid (\d+), prio (\d+)/.exec(l);
    if (m) return { t, kind: 'advert', src: m[1], prio: Number(m[3]) };
    m = /^\S+ (\S+) > ff:ff:ff:ff:ff:ff, ethertype ARP.*Request who-has (\S+) .*tell (\S+),/.exec(l);
    if (m && m[2] === vip && m[3] === vip) return { t, kind: 'garp', mac: m[1] };
    return null;
  });
  await waitUntil(`tcpdump on ${host.ns}`, () => o.err.includes('listening on') || o.proc.exitCode !== null, 10_000);
  if (o.proc.exitCode !== null) throw new Error(`tcpdump failed: ${o.err}`);
  return o;
}

/** `ip -ts monitor address`: VIP add/delete with timestamps (epoch ms, µs resolution). */
export async function startAddrWatch(host, vip) {
  const o = new Observer(host.ns, ['ip', '-ts', 'monitor', 'address'], (l) => {
    const m = /^\[(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d+)\] (Deleted )?\d+: \S+\s+inet (\S+)\//.exec(l);
    if (!m || m[9] !== vip) return null;
    const base = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]).getTime();
    return { t: base + Number(`0.${m[7]}`) * 1000, present: m[8] === undefined };
  });
  await sleep(150);
  return o;
}

export function hasAddress(host, addr) {
  return sh(['ip', '-n', host.ns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']).includes(` ${addr}/`);
}
