// A stand-in for the kernel's IPVS table behind ipvsadm 1.31, written from ipvsadm's source and
// from its real output in UML (test/uml/fixtures/ipvsadm-1.31-save.txt), and deliberately sharing
// no code with hakeep's parser or serializer: it tokenizes command lines itself, stores what the
// kernel stores, and prints `-S -n` text the way ipvsadm does. So a test that converges against it
// shows hakeep agrees with ipvsadm, not with itself.
//
// What it copies from ipvsadm (ipvsadm.c process_options, print_service_entry, print_tunnel_rule,
// print_sched_flags, parse_sched_flags; libipvs.c ipvs_strerror):
// - option errors make ipvsadm exit: the rest of an -R batch is not applied (exit code 2);
// - kernel errors are printed and -R carries on with the next line;
// - a DR/TUN destination of an address service takes the service's port; `-r IP` without a port
//   takes the service's port; a fwmark service keeps what it is given;
// - -S prints sh/mh flags by their own names (so flag-3 on them is invisible, `-b ` stays),
//   netmasks only when not the host mask, tunnel options on every -i destination.
import fc from 'fast-check';
import type { IpvsBackend } from '../../src/ipvs/ipvsadm.js';
import { IpvsadmError } from '../../src/ipvs/ipvsadm.js';
import { serviceKey } from '../../src/ipvs/model.js';
import type { IpvsDest, IpvsService, IpvsServiceAddr } from '../../src/ipvs/model.js';

type Proto = 'tcp' | 'udp' | 'sctp';

interface KDest {
  af: 4 | 6;
  addr: string;
  port: number;
  fwd: 'm' | 'g' | 'i';
  weight: number;
  tunType: 0 | 1 | 2; // ipip, gue, gre
  tunPort: number;
  tunFlags: 0 | 1 | 2; // nocsum, csum, remcsum
}

interface KService {
  af: 4 | 6;
  proto: Proto | null;
  addr: string;
  port: number;
  fwmark: number;
  sched: string;
  persistent: boolean;
  timeout: number;
  netmask: string; // IPv4 dotted or IPv6 prefix length, as the kernel keeps it
  pe: string;
  flags: Set<string>; // ops, sched1..3
  dests: KDest[];
}

class OptionError extends Error {}
class KernelError extends Error {}

/** inet_ntop's IPv6 text: lower case, longest run of zero groups (2+) compressed. */
function ntop6(text: string): string {
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new OptionError('illegal virtual server address[:port] specified');
  const nums = groups.map((g) => parseInt(g, 16));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (nums[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && nums[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = nums.map((n) => n.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function addrPort(text: string, defaultPort: number | null): { af: 4 | 6; addr: string; port: number | null } {
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m6) return { af: 6, addr: ntop6(m6[1]!), port: m6[2] !== undefined ? Number(m6[2]) : defaultPort };
  const m4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text);
  if (m4 && m4[1]!.split('.').every((o) => Number(o) <= 255)) return { af: 4, addr: m4[1]!, port: m4[2] !== undefined ? Number(m4[2]) : defaultPort };
  throw new OptionError('illegal virtual server address[:port] specified');
}

const KNOWN_SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh']);

interface Command {
  cmd: string;
  svc: { af: 4 | 6; proto: Proto | null; addr: string; port: number; fwmark: number };
  sched: string | null;
  persistent: number | null;
  netmask: string | null;
  pe: string | null;
  ops: boolean;
  schedFlags: string | null;
  dest: { af: 4 | 6; addr: string; port: number } | null;
  fwd: 'm' | 'g' | 'i';
  weight: number;
  tunType: string | null;
  tunPort: number | null;
  tunFlags: 0 | 1 | 2 | null;
}

function parseCommand(line: string): Command {
  const t = line.trim().split(/\s+/);
  const c: Command = {
    cmd: t[0]!, svc: { af: 4, proto: null, addr: '', port: 0, fwmark: 0 }, sched: null, persistent: null,
    netmask: null, pe: null, ops: false, schedFlags: null, dest: null, fwd: 'g', weight: 1, tunType: null,
    tunPort: null, tunFlags: null,
  };
  let svcText: string | null = null;
  let destText: string | null = null;
  let six = false;
  for (let i = 1; i < t.length; i++) {
    const o = t[i]!;
    const val = (): string => {
      const v = t[++i];
      if (v === undefined) throw new OptionError(`option ${o} requires an argument`);
      return v;
    };
    if (o === '-t' || o === '-u' || o === '--sctp-service') {
      c.svc.proto = o === '-t' ? 'tcp' : o === '-u' ? 'udp' : 'sctp';
      svcText = val();
    } else if (o === '-f') {
      c.svc.fwmark = Number(val());
    } else if (o === '-6') {
      if (c.svc.fwmark === 0) throw new OptionError('-6 used before -f');
      six = true;
    } else if (o === '-s') c.sched = val();
    else if (o === '-p') c.persistent = Number(val());
    else if (o === '-M') c.netmask = val();
    else if (o === '--pe') c.pe = val();
    else if (o === '-o') c.ops = true;
    else if (o === '-b') c.schedFlags = val();
    else if (o === '-r') destText = val();
    else if (o === '-m' || o === '-g' || o === '-i') c.fwd = o[1] as 'm' | 'g' | 'i';
    else if (o === '-w') {
      const w = Number(val());
      if (!Number.isInteger(w) || w < 0 || w > 65535) throw new OptionError('illegal weight specified');
      c.weight = w;
    } else if (o === '-x' || o === '-y') val();
    else if (o === '--tun-type') c.tunType = val();
    else if (o === '--tun-port') c.tunPort = Number(val());
    else if (o === '--tun-nocsum') c.tunFlags = 0;
    else if (o === '--tun-csum') c.tunFlags = 1;
    else if (o === '--tun-remcsum') c.tunFlags = 2;
    else throw new OptionError(`invalid option \`${o}'`);
  }
  if (svcText !== null) {
    const a = addrPort(svcText, 0);
    c.svc = { ...c.svc, af: a.af, addr: a.addr, port: a.port ?? 0 };
  } else if (six) c.svc.af = 6;
  if (destText !== null) {
    const a = addrPort(destText, null);
    c.dest = { af: a.af, addr: a.addr, port: a.port ?? c.svc.port };
  }
  return c;
}

function svcId(s: { af: number; proto: Proto | null; addr: string; port: number; fwmark: number }): string {
  return s.fwmark ? `fwm ${s.fwmark}/${s.af}` : `${s.proto} ${s.addr}:${s.port}`;
}

export class FakeKernel {
  readonly services = new Map<string, KService>();
  /** Every line handed to restore(), in order (what hakeep sent). */
  readonly sent: string[] = [];
  /** Schedulers whose module is missing: -A/-E with them fails like the kernel does. */
  missingSchedulers = new Set<string>(['twos']);

  /** Apply `ipvsadm -R` input; what ipvsadm prints, and its exit code. */
  restore(lines: readonly string[]): { output: string; exitCode: number } {
    let output = '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.sent.push(line);
      try {
        this.apply(parseCommand(line));
      } catch (e) {
        if (e instanceof OptionError) return { output: `${output}${e.message}\n`, exitCode: 2 };
        output += `${(e as Error).message}\n`;
      }
    }
    return { output, exitCode: 0 };
  }

  private apply(c: Command): void {
    if (c.cmd === '-C') {
      this.services.clear();
      return;
    }
    const id = svcId(c.svc);
    const svc = this.services.get(id);
    if (c.cmd === '-A' || c.cmd === '-E') {
      if (!c.svc.fwmark && !c.svc.port && c.persistent === null) throw new OptionError('Zero port specified for non-persistent service');
      if (c.ops && !c.svc.fwmark && c.svc.proto !== 'udp') throw new OptionError('One-Packet Scheduling is only for UDP virtual services');
      const sched = c.sched ?? 'wlc';
      const flags = new Set<string>();
      if (c.ops) flags.add('ops');
      for (const f of c.schedFlags?.split(',') ?? []) {
        const map: Record<string, [string, string | null]> = {
          'flag-1': ['sched1', null], 'flag-2': ['sched2', null], 'flag-3': ['sched3', null],
          'sh-fallback': ['sched1', 'sh'], 'sh-port': ['sched2', 'sh'], 'mh-fallback': ['sched1', 'mh'], 'mh-port': ['sched2', 'mh'],
        };
        const m = map[f];
        if (!m) throw new OptionError(`invalid scheduler flag \`${f}'`);
        if (m[1] !== null && m[1] !== sched) throw new OptionError(`incompatible scheduler flag \`${f}'`);
        flags.add(m[0]);
      }
      let netmask = c.svc.af === 6 ? '128' : '255.255.255.255';
      if (c.netmask !== null) {
        if (c.svc.af === 6) {
          const n = Number(c.netmask);
          if (!Number.isInteger(n) || n < 1 || n > 128) throw new OptionError('illegal ipv6 netmask specified');
          netmask = String(n);
        } else {
          if (!/^\d+\.\d+\.\d+\.\d+$/.test(c.netmask)) throw new OptionError('illegal virtual server persistent mask specified');
          netmask = c.netmask;
        }
      }
      if (this.missingSchedulers.has(sched) || !KNOWN_SCHEDULERS.has(sched)) throw new KernelError('Scheduler or persistence engine not found');
      if (c.cmd === '-A' && svc) throw new KernelError('Service already exists');
      if (c.cmd === '-E' && !svc) throw new KernelError('No such service');
      const next: KService = {
        ...c.svc, sched, persistent: c.persistent !== null, timeout: c.persistent ?? 0,
        netmask, pe: c.pe ?? '', flags, dests: svc?.dests ?? [],
      };
      this.services.set(id, next);
      return;
    }
    if (c.cmd === '-D') {
      if (!svc) throw new KernelError('No such service');
      this.services.delete(id);
      return;
    }
    // Destination commands.
    if (!c.dest) throw new OptionError('You need to supply the \'real-server\' option for the \'add-server\' command');
    const dest = { ...c.dest };
    if (c.cmd !== '-d') {
      // Only for add and edit (ipvsadm.c process_options): a delete names the port as stored.
      if (!c.svc.fwmark && c.fwd !== 'm') dest.port = c.svc.port;
      if (dest.af !== c.svc.af && c.fwd !== 'i') throw new OptionError('Different address family is allowed only for tunneling servers');
      if ((c.tunType !== null || c.tunPort !== null || c.tunFlags !== null) && c.fwd !== 'i') throw new OptionError('Tunnel options conflict with forward method');
      if (c.tunType === 'gre' && c.tunFlags === 2) throw new OptionError("Illegal 'tun-remcsum' option with the 'gre' tunnel type");
      if (c.tunType === 'gue' && !c.tunPort) throw new OptionError("You need to supply the 'tun-port' option with the 'gue' tunnel type");
    }
    if (!svc) throw new KernelError('Service not defined');
    const i = svc.dests.findIndex((d) => d.addr === dest.addr && d.port === dest.port && d.af === dest.af);
    if (c.cmd === '-d') {
      if (i < 0) throw new KernelError('No such destination');
      svc.dests.splice(i, 1);
      return;
    }
    const tunType = c.tunType === 'gue' ? 1 : c.tunType === 'gre' ? 2 : 0;
    const d: KDest = {
      ...dest, fwd: c.fwd, weight: c.weight, tunType, tunPort: tunType === 1 ? c.tunPort ?? 0 : 0, tunFlags: c.tunFlags ?? 0,
    };
    if (c.cmd === '-a') {
      if (i >= 0) throw new KernelError('Destination already exists');
      svc.dests.push(d);
    } else {
      if (i < 0) throw new KernelError('No such destination');
      svc.dests[i] = d;
    }
  }

  /** `ipvsadm -S -n`, as 1.31 prints it. */
  save(): string {
    let out = '';
    for (const s of this.services.values()) {
      const name = s.fwmark
        ? (s.af === 6 ? `-f ${s.fwmark} -6` : `-f ${s.fwmark}`)
        : `${s.proto === 'tcp' ? '-t' : s.proto === 'udp' ? '-u' : '--sctp-service'} ${s.af === 6 ? `[${s.addr}]` : s.addr}:${s.port}`;
      let line = `-A ${name} -s ${s.sched}`;
      if (s.persistent) {
        line += ` -p ${s.timeout}`;
        if (s.af === 4 && s.netmask !== '255.255.255.255') line += ` -M ${s.netmask}`;
        if (s.af === 6 && s.netmask !== '128') line += ` -M ${s.netmask}`;
      }
      if (s.pe) line += ` --pe ${s.pe}`;
      if (s.flags.has('ops')) line += ' -o';
      if (s.flags.has('sched1') || s.flags.has('sched2') || s.flags.has('sched3')) {
        const shown = s.sched === 'sh' || s.sched === 'mh'
          ? [s.flags.has('sched1') ? `${s.sched}-fallback` : null, s.flags.has('sched2') ? `${s.sched}-port` : null]
          : [s.flags.has('sched1') ? 'flag-1' : null, s.flags.has('sched2') ? 'flag-2' : null, s.flags.has('sched3') ? 'flag-3' : null];
        line += ` -b ${shown.filter(Boolean).join(',')}`;
      }
      out += `${line}\n`;
      for (const d of s.dests) {
        const dn = d.af === 6 ? `[${d.addr}]:${d.port}` : `${d.addr}:${d.port}`;
        let dl = `-a ${name} -r ${dn} -${d.fwd} -w ${d.weight}`;
        if (d.fwd === 'i') {
          const csum = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'][d.tunFlags];
          dl += d.tunType === 0 ? ' --tun-type ipip' : d.tunType === 1 ? ` --tun-type gue --tun-port ${d.tunPort} ${csum}` : ` --tun-type gre ${csum}`;
        }
        out += `${dl}\n`;
      }
    }
    return out;
  }

  /**
   * An IpvsBackend over this table that answers as hakeep's ipvsadm session does: an option error
   * ends ipvsadm (exit 2, the rest of the batch lost), kernel errors come back as its output.
   */
  backend(hooks: { beforeRestore?: (lines: readonly string[]) => void } = {}): IpvsBackend & { restores: string[][]; saves: number } {
    const b = {
      restores: [] as string[][],
      saves: 0,
      save: async (): Promise<string> => { b.saves++; return this.save(); },
      restore: async (lines: readonly string[]): Promise<void> => {
        hooks.beforeRestore?.(lines);
        b.restores.push([...lines]);
        const { output, exitCode } = this.restore(lines);
        const out = output.trim();
        if (exitCode !== 0) throw new IpvsadmError('ipvsadm -R', out, exitCode, `ipvsadm -R exited (code ${exitCode}): ${out}`);
        if (out !== '') throw new IpvsadmError('ipvsadm -R (session)', out, null, `ipvsadm -R (session) failed: ${out}`);
      },
    };
    return b;
  }
}

/**
 * Random tables ipvsadm accepts: TCP/UDP/SCTP and fwmark services in both families, port 0 with
 * persistence, netmasks, the sip persistence engine, ops (UDP/fwmark), scheduler flags, NAT/DR/TUN
 * destinations with every tunnel type, IPv6 TUN destinations of IPv4 services.
 */
const addrArb: fc.Arbitrary<IpvsServiceAddr> = fc.oneof(
  fc.record({
    kind: fc.constant('ip' as const), protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
    family: fc.constantFrom(4 as const, 6 as const), n: fc.integer({ min: 1, max: 4 }), port: fc.constantFrom(80, 0),
  }).map(({ kind, protocol, family, n, port }) => ({ kind, protocol, family, port, ip: family === 4 ? `10.2.0.${n}` : `fd00:2::${n}` })),
  fc.record({ kind: fc.constant('fwmark' as const), fwmark: fc.integer({ min: 1, max: 4 }), family: fc.constantFrom(4 as const, 6 as const) }),
);

function destArb(addr: IpvsServiceAddr): fc.Arbitrary<IpvsDest> {
  return fc.record({
    n: fc.integer({ min: 2, max: 7 }), forward: fc.constantFrom('masq' as const, 'route' as const, 'tunnel' as const),
    weight: fc.integer({ min: 0, max: 10 }), port: fc.constantFrom(0, 80, 8080), otherFamily: fc.boolean(),
    tunnel: fc.constantFrom(undefined, { type: 'gue' as const, port: 6080, csum: 'nocsum' as const }, { type: 'gue' as const, port: 6081, csum: 'remcsum' as const }, { type: 'gre' as const, port: 0, csum: 'csum' as const }),
  }).map(({ n, forward, weight, port, otherFamily, tunnel }) => {
    const family: 4 | 6 = forward === 'tunnel' && otherFamily ? (addr.family === 4 ? 6 : 4) : addr.family;
    const p = addr.kind === 'ip' && (forward !== 'masq' || port === 0) ? addr.port : port;
    const d: IpvsDest = { ip: family === 4 ? `10.1.0.${n}` : `fd00:1::${n}`, family, port: p, forward, weight, upperThreshold: 0, lowerThreshold: 0 };
    if (forward === 'tunnel' && tunnel) d.tunnel = tunnel;
    return d;
  });
}

export const serviceArb: fc.Arbitrary<IpvsService> = addrArb.chain((addr) => fc.record({
  scheduler: fc.constantFrom('rr', 'wrr', 'wlc', 'sh', 'mh', 'lc'),
  persistence: addr.kind === 'ip' && addr.port === 0 ? fc.constantFrom(60, 300) : fc.constantFrom(null, 60, 300),
  mask: fc.boolean(), pe: fc.boolean(), ops: fc.boolean(),
  flags: fc.subarray(['flag-1', 'flag-2', 'flag-3']),
  dests: fc.uniqueArray(destArb(addr), { maxLength: 5, selector: (d) => `${d.ip}|${d.port}` }),
}).map(({ scheduler, persistence, mask, pe, ops, flags, dests }): IpvsService => {
  const udpish = addr.kind === 'fwmark' || addr.protocol === 'udp';
  const s: IpvsService = {
    addr, scheduler, persistence, netmask: persistence !== null && mask ? (addr.family === 4 ? '255.255.255.0' : '64') : null,
    ops: ops && udpish, schedFlags: [...flags].sort(), dests,
  };
  if (pe && persistence !== null && addr.kind === 'ip' && addr.protocol === 'udp') s.persistenceEngine = 'sip';
  return s;
}));

export const tableArb = fc.uniqueArray(serviceArb, { maxLength: 6, selector: (s) => serviceKey(s.addr) });
