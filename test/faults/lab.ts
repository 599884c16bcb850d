// The fault-injection lab: two directors (d1, d2) and a client (c) on one bridge, a web service on
// every director that answers with the director's name, a client probing http://VIP/ every 10 ms,
// the client's ARP entry for the VIP, a timestamped two-holder watch, and the faults themselves:
// link down/up (admin or carrier), VIP flushed, interface deleted/recreated, partition/heal.
//
// Topology (one createLab call):
//
//       hkf-d1 eth0 ──── p0 ┐
//       hkf-d2 eth0 ──── p1 ├ br0 (namespace hkf-sw)
//       hkf-c  eth0 ──── p2 ┘
//
// Partition: the two director ports are set `isolated on` (bridge port isolation, Linux ≥ 4.18,
// iproute2 `ip link set pX type bridge_slave isolated on`). The bridge never forwards a frame
// from one isolated port to another, but both still reach the non-isolated client port. So the
// directors lose each other entirely (VRRP, ARP, everything), while the client still reaches both:
// a real split brain as seen from the client. Heal = `isolated off`.
//
// Carrier loss: the switch-side veth end (pX) is set down. The director's eth0 stays admin-up but
// shows NO-CARRIER (IFF_RUNNING off, operstate DOWN), as a pulled cable or dead switch port would.
//
// Every process started here is killed by PID in reset()/destroy(); every wait is bounded.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, sh, waitFor, type Lab, type LabHost } from '../helpers/netns.js';
import {
  AdvertWatch, hasAddress, HAKEEP_BIN, longestOverlapMs, requireTool, tempDir, VipWatch, vrrpConf,
  type LogLine, type VrrpConfOptions,
} from '../netns/fixtures/vrrp-harness.js';

export type { LogLine } from '../netns/fixtures/vrrp-harness.js';

/** Used by no other test file (others: 10.231.1, 10.233.1, 10.234.x, 10.77.x, 10.0.x, 10.1.x, 10.9.0). */
export const FAULT_SUBNET = '10.236.5';
export const FAULT_VIP = `${FAULT_SUBNET}.100`;
export const FAULT_PREFIX = 'hkf';

/** The hakeep entry point; HAKEEP_FAULTS_BIN points the lab at another build (e.g. an older tree). */
const HAKEEP = process.env.HAKEEP_FAULTS_BIN ?? HAKEEP_BIN;
const WEB = fileURLToPath(new URL('./fixtures/web.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./fixtures/client.mjs', import.meta.url));

export type Director = 'd1' | 'd2';
export const DIRECTORS: readonly Director[] = ['d1', 'd2'];
export type LinkFlavour = 'admin' | 'carrier';
export type DaemonKind = 'hakeep' | 'keepalived';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Daemons

export interface DaemonOptions {
  kind: DaemonKind;
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  /** Log/file name; default `<kind>-<director>-<n>`. */
  name?: string;
  /** Extra environment (TMPDIR is always the daemon's own temp dir). */
  env?: Record<string, string>;
  /** Overrides for vrrpConf (vips, vrid, advertInt, extra lines, ...). */
  conf?: Partial<VrrpConfOptions>;
  /** hakeep only: extra command-line arguments. */
  extraArgs?: string[];
}

/**
 * hakeep or keepalived in a director's namespace, with its own temp dir as TMPDIR (signal dumps
 * land in `$TMPDIR/keepalived.data` / `.stats`), its own pid files and (hakeep) status socket.
 * Output lines are kept: hakeep's JSON `msg`, keepalived's console text without the date.
 */
export class FaultDaemon {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private output = '';

  constructor(
    readonly kind: DaemonKind,
    readonly name: string,
    readonly director: Director,
    private readonly proc: ChildProcess,
    /** The daemon's TMPDIR (also holds its config and pid files). */
    readonly tmpDir: string,
    readonly statusSocket: string | null,
    private readonly vrrpPidFile: string | null,
  ) {
    const onData = (chunk: string): void => {
      this.output += chunk;
      const parts = this.output.split('\n');
      this.output = parts.pop() ?? '';
      const at = Date.now();
      for (const p of parts) if (p.trim() !== '') this.lines.push(this.parse(p, at));
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.stderr!.setEncoding('utf8').on('data', onData);
    this.exited = new Promise((r) => proc.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
      r(code);
    }));
  }

  private parse(line: string, at: number): LogLine {
    if (this.kind === 'hakeep') {
      try {
        const raw = JSON.parse(line) as Record<string, unknown>;
        return { at, msg: String(raw.msg ?? ''), raw };
      } catch {
        return { at, msg: line, raw: {} };
      }
    }
    // "Wed Nov 25 21:07:46 2026: (VI_1) Entering MASTER STATE"
    const m = /^\w{3} \w{3}\s+\d+ [\d:]+ \d{4}: (.*)$/.exec(line);
    return { at, msg: m ? m[1]! : line, raw: {} };
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The number of lines so far: pass it as `from` to look only at what comes after. */
  mark(): number {
    return this.lines.length;
  }

  /** A line's time: hakeep's own timestamp (pino `time`, epoch ms), else its arrival here. */
  timeOf(l: LogLine): number {
    return typeof l.raw.time === 'number' ? l.raw.time : l.at;
  }

  find(re: RegExp, from = 0): LogLine | undefined {
    return this.lines.slice(from).find((l) => re.test(l.msg));
  }

  /** Index (into `lines`) of the first line matching `re` at or after `from`; -1 if none. */
  indexOf(re: RegExp, from = 0): number {
    for (let i = from; i < this.lines.length; i++) if (re.test(this.lines[i]!.msg)) return i;
    return -1;
  }

  has(re: RegExp, from = 0): boolean {
    return this.find(re, from) !== undefined;
  }

  async waitLog(re: RegExp, timeoutMs: number, from = 0): Promise<LogLine> {
    let found: LogLine | undefined;
    try {
      await waitFor(`${this.name} to log ${re}`, () => {
        found = this.find(re, from);
        return found !== undefined || !this.running;
      }, timeoutMs, 10);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.tail()}`);
    }
    if (!found) {
      // One last look: the exit may have raced the final lines.
      await sleep(50);
      found = this.find(re, from);
    }
    if (!found) throw new Error(`${this.name} exited (code ${this.exitCode}, signal ${this.exitSignal}) without logging ${re}\n${this.tail()}`);
    return found;
  }

  /** The last `n` lines, for failure messages. */
  tail(n = 25): string {
    const state = this.running ? `pid ${this.pid}, running` : `exited code ${this.exitCode} signal ${this.exitSignal}`;
    return `--- ${this.name} (${this.kind} on ${this.director}, ${state}) last ${n} lines ---\n${this.lines.slice(-n).map((l) => l.msg).join('\n')}`;
  }

  dump(): string {
    return this.tail(this.lines.length);
  }

  kill(sig: NodeJS.Signals): void {
    if (this.running) {
      try { process.kill(this.pid, sig); } catch { /* already gone */ }
    }
  }

  /** A file in the daemon's TMPDIR. */
  file(name: string): string {
    return join(this.tmpDir, name);
  }

  /** Kill without a goodbye: no priority 0. keepalived's VRRP child would get SIGTERM from its
   * dying parent (PR_SET_PDEATHSIG), so freeze the parent, kill the child, then the parent. */
  async crash(timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    if (this.kind === 'keepalived') {
      this.kill('SIGSTOP');
      let child = 0;
      try { child = Number(readFileSync(this.vrrpPidFile!, 'utf8').trim()); } catch { /* no child yet */ }
      if (child > 0) {
        try { process.kill(child, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    this.kill('SIGKILL');
    await Promise.race([this.exited, sleep(timeoutMs)]);
  }

  /** SIGTERM and wait up to `timeoutMs`, then crash(). Returns the exit code (null: signal). */
  async stop(timeoutMs = 4000): Promise<number | null> {
    if (this.running) {
      this.kill('SIGTERM');
      await Promise.race([this.exited, sleep(timeoutMs)]);
      if (this.running) await this.crash();
    }
    return this.exitCode;
  }

  /** keepalived: wait until the VRRP child has written its pid file. */
  async waitVrrpChild(timeoutMs = 10_000): Promise<void> {
    if (this.vrrpPidFile) await waitFor(`${this.name} VRRP child pid file`, () => existsSync(this.vrrpPidFile!), timeoutMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Client probe

export interface Attempt {
  /** Start, epoch ms. */
  t: number;
  /** Duration, ms. */
  ms: number;
  ok: boolean;
  /** The answering director's name. */
  server: string | null;
  err: string | null;
}

export interface ProbeOptions {
  /** The probe exits by itself after this long. */
  maxDurationMs: number;
  intervalMs?: number;
  timeoutMs?: number;
  maxInFlight?: number;
}

/** test/faults/fixtures/client.mjs in the client namespace: GET http://VIP/ every 10 ms. */
export class ClientProbe {
  readonly attempts: Attempt[] = [];
  readonly timeoutMs: number;
  private buf = '';
  private err = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly proc: ChildProcess, timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.attempts.push(JSON.parse(line) as Attempt);
        } catch { /* not a record */ }
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exited = new Promise((r) => proc.on('exit', () => r()));
  }

  static async start(host: LabHost, url: string, o: ProbeOptions): Promise<ClientProbe> {
    const timeoutMs = o.timeoutMs ?? 200;
    const argv = ['node', CLIENT, url, String(o.intervalMs ?? 10), String(timeoutMs), String(o.maxInFlight ?? 32), String(o.maxDurationMs)];
    const p = new ClientProbe(host.spawn(argv), timeoutMs);
    await waitFor('the client probe to report its first attempt', () => {
      if (!p.running) throw new Error(`client probe exited: ${p.err}`);
      return p.attempts.length > 0;
    }, 5000);
    return p;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Successful attempts by completion time (t + ms), within [from, to]. */
  private successTimes(from: number, to: number): number[] {
    return this.attempts.filter((a) => a.ok).map((a) => a.t + a.ms).filter((x) => x >= from && x <= to).sort((a, b) => a - b);
  }

  /** The longest stretch without a successful response within [from, to], counting from `from`
   * to the first success and from the last success to `to`. Call caughtUp(to) first. */
  longestGapMs(from: number, to: number): number {
    const pts = [from, ...this.successTimes(from, to), to];
    let longest = 0;
    for (let i = 1; i < pts.length; i++) longest = Math.max(longest, pts[i]! - pts[i - 1]!);
    return Math.round(longest * 10) / 10;
  }

  /** Failed attempts started within [from, to]. */
  failures(from: number, to: number): Attempt[] {
    return this.attempts.filter((a) => !a.ok && a.t >= from && a.t <= to);
  }

  /** Who answered within [from, to] (by start time), in order, consecutive repeats collapsed:
   * e.g. ['d2', 'd1'] for a handover from d2 to d1. */
  servers(from: number, to: number): string[] {
    const out: string[] = [];
    for (const a of [...this.attempts].filter((x) => x.ok && x.t >= from && x.t <= to).sort((x, y) => x.t - y.t)) {
      if (out.at(-1) !== a.server) out.push(a.server ?? '?');
    }
    return out;
  }

  /** Wait until every attempt started before `to` has finished and been reported. */
  async caughtUp(to: number): Promise<void> {
    const wait = to + this.timeoutMs + 100 - Date.now();
    if (wait > 0) await sleep(Math.min(wait, this.timeoutMs + 1000));
  }

  /** Wait for a successful answer from `server` started at or after `since`. */
  async waitServer(server: string, since: number, timeoutMs: number): Promise<Attempt> {
    let found: Attempt | undefined;
    await waitFor(`the client to get an answer from ${server}`, () => {
      found = this.attempts.find((a) => a.ok && a.server === server && a.t >= since);
      return found !== undefined;
    }, timeoutMs, 10);
    return found!;
  }

  /** A one-line summary of [from, to] for logs. */
  summary(from: number, to: number): string {
    const n = this.attempts.filter((a) => a.t >= from && a.t <= to).length;
    const why = new Map<string, number>();
    for (const f of this.failures(from, to)) why.set(f.err ?? '?', (why.get(f.err ?? '?') ?? 0) + 1);
    const failed = [...why].map(([k, v]) => `${k}×${v}`).join(' ');
    return `${n} attempts, ${this.failures(from, to).length} failed${failed ? ` (${failed})` : ''}, servers ${this.servers(from, to).join('→') || '(none)'}, longest gap ${this.longestGapMs(from, to)} ms`;
  }

  async stop(): Promise<void> {
    if (this.running && this.proc.pid) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await Promise.race([this.exited, sleep(2000)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The lab

export interface FaultLabOptions {
  prefix?: string;
  subnet?: string;
  /** Fail at once unless keepalived is installed. */
  needKeepalived?: boolean;
}

export interface Settled {
  holder: Director;
  /** How long settle() waited. */
  ms: number;
  /** When it saw the settled state (epoch ms). */
  at: number;
}

export class FaultLab {
  readonly vip: string;
  readonly subnet: string;
  readonly watches: Record<Director, VipWatch>;
  /** tcpdump of VRRP adverts on the client's eth0 (sees both directors, also when partitioned). */
  readonly adverts: AdvertWatch;
  /** Every daemon started through the lab, in order. */
  readonly daemons: FaultDaemon[] = [];
  /** The last daemon started on each director. */
  readonly current: Partial<Record<Director, FaultDaemon>> = {};
  probe: ClientProbe | null = null;
  private readonly macs: Record<Director, string>;
  private readonly ports: Record<Director, string> = { d1: 'p0', d2: 'p1' };
  private partitioned = false;
  private readonly temps: Array<ReturnType<typeof tempDir>> = [];
  private counter = 0;

  private constructor(readonly lab: Lab, watches: Record<Director, VipWatch>, adverts: AdvertWatch) {
    this.subnet = lab.subnet;
    this.vip = `${lab.subnet}.100`;
    this.watches = watches;
    this.adverts = adverts;
    this.macs = { d1: lab.hosts.d1!.mac, d2: lab.hosts.d2!.mac };
  }

  /** Build the lab: namespaces, bridge, web servers, address watches, advert capture. */
  static async create(o: FaultLabOptions = {}): Promise<FaultLab> {
    await requireTool('tcpdump', ['--version'], 'tcpdump');
    await requireTool('ss', ['-V'], 'iproute2');
    await requireTool('bridge', ['-V'], 'iproute2');
    await requireTool('ping', ['-V'], 'iputils-ping');
    if (o.needKeepalived) await requireKeepalived();
    const lab = await createLab(o.prefix ?? FAULT_PREFIX, ['d1', 'd2', 'c'], o.subnet ?? FAULT_SUBNET);
    let fl: FaultLab | undefined;
    try {
      const d1 = lab.hosts.d1!;
      const d2 = lab.hosts.d2!;
      for (const h of [d1, d2]) await startWeb(h);
      const watches = { d1: await VipWatch.start(d1, `${lab.subnet}.100`), d2: await VipWatch.start(d2, `${lab.subnet}.100`) };
      fl = new FaultLab(lab, watches, await AdvertWatch.start(lab.hosts.c!));
      await fl.checkIsolationSupported();
      return fl;
    } catch (e) {
      if (fl) await fl.destroy();
      else await lab.destroy();
      throw e;
    }
  }

  host(d: Director | 'c'): LabHost {
    return this.lab.hosts[d]!;
  }

  get client(): LabHost {
    return this.host('c');
  }

  /** The switch namespace. */
  get sw(): string {
    return `${this.lab.prefix}-sw`;
  }

  // --- daemons -------------------------------------------------------------------------------

  /** Start hakeep or keepalived on a director: VRID 51, PASS auth, advert_int 1, VIP/24 on eth0. */
  start(d: Director, o: DaemonOptions): FaultDaemon {
    const host = this.host(d);
    const name = o.name ?? `${o.kind === 'hakeep' ? 'h' : 'k'}-${d}-${++this.counter}`;
    const tmp = tempDir(`${this.lab.prefix}-${name}`);
    this.temps.push(tmp);
    const dir = tmp.dir;
    const conf = vrrpConf({ routerId: d, priority: o.priority, state: o.state ?? 'BACKUP', vips: [`${this.vip}/24`], ...o.conf });
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, conf);
    const env = { ...process.env, TMPDIR: dir, ...o.env };
    let daemon: FaultDaemon;
    if (o.kind === 'hakeep') {
      const sock = join(dir, `${name}.sock`);
      const proc = host.spawn(['node', HAKEEP, '-n', '-P', '-f', file, '-p', join(dir, `${name}.pid`), '--status-socket', sock, ...(o.extraArgs ?? [])], { env });
      daemon = new FaultDaemon('hakeep', name, d, proc, dir, sock, null);
    } else {
      const pid = (k: string): string => join(dir, `${name}.${k}.pid`);
      const proc = host.spawn(['keepalived', '-n', '-l', '-D', '-P', '-f', file, '-p', pid('main'), '-r', pid('vrrp'), '-c', pid('check')], { env });
      daemon = new FaultDaemon('keepalived', name, d, proc, dir, null, pid('vrrp'));
    }
    this.daemons.push(daemon);
    this.current[d] = daemon;
    return daemon;
  }

  /** Both directors' current daemons' recent lines. */
  logs(n = 25): string {
    return DIRECTORS.map((d) => this.current[d]?.tail(n) ?? `--- no daemon on ${d} ---`).join('\n');
  }

  /** Stop every running daemon (SIGTERM, then a hard kill after 4 s), all at once. */
  async stopDaemons(): Promise<void> {
    await Promise.all(this.daemons.filter((d) => d.running).map((d) => d.stop()));
  }

  // --- client side ---------------------------------------------------------------------------

  /** Start the client probe against http://VIP/ (stopping an earlier one). */
  async startProbe(maxDurationMs = 90_000, o: Omit<ProbeOptions, 'maxDurationMs'> = {}): Promise<ClientProbe> {
    await this.probe?.stop();
    this.probe = await ClientProbe.start(this.client, `http://${this.vip}/`, { maxDurationMs, ...o });
    return this.probe;
  }

  /** The MAC the client's neighbour table has for `vip`; null when none, FAILED or INCOMPLETE. */
  async arpEntry(vip = this.vip): Promise<string | null> {
    const r = await this.client.exec(['ip', '-j', 'neigh', 'show', vip, 'dev', 'eth0']);
    if (r.code !== 0) throw new Error(`ip neigh show failed in the client: ${r.stderr}`);
    let rows: Array<{ dst?: string; lladdr?: string; state?: string[] }> = [];
    try {
      rows = JSON.parse(r.stdout || '[]') as typeof rows;
    } catch {
      throw new Error(`cannot parse ip -j neigh output: ${r.stdout}`);
    }
    const e = rows.find((x) => x.dst === vip);
    if (!e?.lladdr || e.state?.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) return null;
    return e.lladdr.toLowerCase();
  }

  /** Which director the client's ARP entry for `vip` points at (null: none or an unknown MAC). */
  async arpDirector(vip = this.vip): Promise<Director | null> {
    const mac = await this.arpEntry(vip);
    return DIRECTORS.find((d) => this.macs[d] === mac) ?? null;
  }

  /** The director's current eth0 MAC (changes when its interface is recreated). */
  macOf(d: Director): string {
    return this.macs[d];
  }

  // --- holders -------------------------------------------------------------------------------

  /** The directors that have `vip` on eth0 right now. */
  async holders(vip = this.vip): Promise<Director[]> {
    const has = await Promise.all(DIRECTORS.map((d) => hasAddress(this.host(d), vip)));
    return DIRECTORS.filter((_, i) => has[i]);
  }

  private async picture(vip: string): Promise<string> {
    const h = await this.holders(vip);
    const arp = await this.arpEntry(vip).catch((e: Error) => `error: ${e.message}`);
    return `VIP ${vip} held by [${h.join(', ') || 'nobody'}]; client ARP ${arp ?? 'none'} ` +
      `(d1 ${this.macs.d1}, d2 ${this.macs.d2})${this.partitioned ? '; PARTITIONED' : ''}\n${this.logs()}`;
  }

  /** The single director holding `vip`; throws (holders, ARP, both daemons' lines) otherwise. */
  async assertOneHolder(vip = this.vip): Promise<Director> {
    const h = await this.holders(vip);
    if (h.length !== 1) throw new Error(`expected exactly one holder of ${vip}, found ${h.length}: ${await this.picture(vip)}`);
    return h[0]!;
  }

  /** Wait until exactly one director holds `vip` and the client's ARP entry is that director's
   * MAC. The probe's traffic makes the client refresh its entry; without a running probe, a
   * ping every 500 ms does. Throws with the whole picture on timeout. */
  async settle(vip = this.vip, timeoutMs = 8000): Promise<Settled> {
    const t0 = performance.now();
    let lastPoke = 0;
    for (;;) {
      const h = await this.holders(vip);
      if (h.length === 1 && (await this.arpEntry(vip)) === this.macs[h[0]!]) {
        return { holder: h[0]!, ms: Math.round(performance.now() - t0), at: Date.now() };
      }
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(`not settled after ${timeoutMs} ms (want one holder and the client's ARP on it): ${await this.picture(vip)}`);
      }
      if (!this.probe?.running && performance.now() - lastPoke > 500) {
        lastPoke = performance.now();
        void this.client.exec(['ping', '-c', '1', '-W', '1', vip], 3000);
      }
      await sleep(20);
    }
  }

  /** Wait until the client's ARP entry for `vip` points at `d` (bounded). Returns the wait, ms. */
  async waitArp(d: Director, timeoutMs: number, vip = this.vip): Promise<number> {
    try {
      return await waitFor(`the client's ARP entry for ${vip} to point at ${d}`, async () => (await this.arpEntry(vip)) === this.macs[d], timeoutMs, 20);
    } catch (e) {
      throw new Error(`${(e as Error).message}: ${await this.picture(vip)}`);
    }
  }

  /** The longest time both directors held the VIP at once within [from, to] (ip monitor times). */
  longestDoubleHolderMs(from: number, to: number): number {
    return Math.round(longestOverlapMs(this.watches.d1, this.watches.d2, from, to) * 10) / 10;
  }

  /** After a handover from `from` to `to` that started at `since`: when `to` added the VIP and
   * `from` dropped it (ip monitor times). `overlapMs` > 0: both held it that long; < 0: nobody
   * held it for that long. Null when either event is missing. */
  handover(from: Director, to: Director, since: number): { addedAt: number; droppedAt: number; overlapMs: number } | null {
    const added = this.watches[to].events.find((e) => e.present && e.t >= since);
    const dropped = this.watches[from].events.find((e) => !e.present && e.t >= since);
    if (!added || !dropped) return null;
    return { addedAt: added.t, droppedAt: dropped.t, overlapMs: Math.round((dropped.t - added.t) * 10) / 10 };
  }

  // --- faults (each returns the epoch ms just before the change) -------------------------------

  async linkDown(d: Director, flavour: LinkFlavour = 'admin'): Promise<number> {
    const t = Date.now();
    if (flavour === 'admin') await this.ns(d, ['link', 'set', 'eth0', 'down']);
    else await this.ns('sw', ['link', 'set', this.ports[d], 'down']);
    return t;
  }

  async linkUp(d: Director, flavour: LinkFlavour = 'admin'): Promise<number> {
    const t = Date.now();
    if (flavour === 'admin') await this.ns(d, ['link', 'set', 'eth0', 'up']);
    else await this.ns('sw', ['link', 'set', this.ports[d], 'up']);
    return t;
  }

  /** `ip addr del VIP/24 dev eth0` on the director. */
  async flushVip(d: Director, vip = this.vip): Promise<number> {
    const t = Date.now();
    await this.ns(d, ['addr', 'del', `${vip}/24`, 'dev', 'eth0']);
    return t;
  }

  async ifaceExists(d: Director): Promise<boolean> {
    return (await sh(['ip', '-n', this.host(d).ns, 'link', 'show', 'eth0'])).code === 0;
  }

  /** Delete the director's eth0 (its veth peer on the bridge goes with it). */
  async deleteIface(d: Director): Promise<number> {
    const t = Date.now();
    await this.ns(d, ['link', 'del', 'eth0']);
    return t;
  }

  /** Recreate the veth pair: same names, address, bridge port (and isolation while partitioned).
   * The MAC is new: macOf(d) follows it. */
  async recreateIface(d: Director): Promise<number> {
    const host = this.host(d);
    const port = this.ports[d];
    const t = Date.now();
    await this.ns('sw', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
    await this.ns('sw', ['link', 'set', port, 'master', 'br0']);
    if (this.partitioned) await this.ns('sw', ['link', 'set', port, 'type', 'bridge_slave', 'isolated', 'on']);
    await this.ns('sw', ['link', 'set', port, 'up']);
    await this.ns(d, ['addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
    await this.ns(d, ['link', 'set', 'eth0', 'up']);
    const link = await this.ns(d, ['-o', 'link', 'show', 'eth0']);
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1];
    if (!mac) throw new Error(`no MAC on the recreated eth0 of ${d}: ${link}`);
    this.macs[d] = mac;
    host.mac = mac;
    return t;
  }

  /** Isolate d1 and d2 from each other (bridge port isolation); both still reach the client. */
  async partition(): Promise<number> {
    const t = Date.now();
    for (const d of DIRECTORS) await this.setIsolated(d, true);
    this.partitioned = true;
    return t;
  }

  async heal(): Promise<number> {
    const t = Date.now();
    for (const d of DIRECTORS) {
      if (await this.portExists(d)) await this.setIsolated(d, false);
    }
    this.partitioned = false;
    return t;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  // --- housekeeping --------------------------------------------------------------------------

  /** Back to a clean segment between tests: probe and daemons stopped, partition healed, links
   * and interfaces restored, the VIP removed everywhere, the client's ARP entry flushed. */
  async reset(): Promise<void> {
    await this.probe?.stop();
    this.probe = null;
    await this.stopDaemons();
    await this.heal();
    for (const d of DIRECTORS) {
      if (!(await this.ifaceExists(d))) await this.recreateIface(d);
      await this.linkUp(d, 'carrier');
      await this.linkUp(d, 'admin');
      await sh(['ip', '-n', this.host(d).ns, 'addr', 'del', `${this.vip}/24`, 'dev', 'eth0']);
    }
    await sh(['ip', '-n', this.client.ns, 'neigh', 'flush', 'to', this.vip]);
    for (const d of DIRECTORS) delete this.current[d];
  }

  /** Kill everything started (by PID) and delete the namespaces and temp dirs. */
  async destroy(): Promise<void> {
    await this.probe?.stop();
    await Promise.all(this.daemons.filter((d) => d.running).map((d) => d.crash(3000)));
    this.watches?.d1?.stop();
    this.watches?.d2?.stop();
    this.adverts?.stop();
    await this.lab.destroy();
    for (const t of this.temps) t.remove();
  }

  private async ns(where: Director | 'sw', args: string[]): Promise<string> {
    const ns = where === 'sw' ? this.sw : this.host(where).ns;
    const r = await sh(['ip', '-n', ns, ...args]);
    if (r.code !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  private async portExists(d: Director): Promise<boolean> {
    return (await sh(['ip', '-n', this.sw, 'link', 'show', this.ports[d]])).code === 0;
  }

  private async setIsolated(d: Director, on: boolean): Promise<void> {
    await this.ns('sw', ['link', 'set', this.ports[d], 'type', 'bridge_slave', 'isolated', on ? 'on' : 'off']);
    if ((await this.isolated(d)) !== on) throw new Error(`bridge port ${this.ports[d]} did not turn isolation ${on ? 'on' : 'off'}`);
  }

  private async isolated(d: Director): Promise<boolean> {
    const out = await this.ns('sw', ['-d', '-j', 'link', 'show', this.ports[d]]);
    const rows = JSON.parse(out) as Array<{ linkinfo?: { info_slave_data?: { isolated?: boolean } } }>;
    return rows[0]?.linkinfo?.info_slave_data?.isolated === true;
  }

  private async checkIsolationSupported(): Promise<void> {
    try {
      await this.setIsolated('d1', true);
      await this.setIsolated('d1', false);
    } catch (e) {
      throw new Error(`bridge port isolation (partition()) does not work here; it needs Linux >= 4.18 and iproute2 >= 4.18 ` +
        `(apt-get install -y iproute2): ${(e as Error).message}`);
    }
  }
}

async function requireKeepalived(): Promise<void> {
  const r = await sh(['keepalived', '-v']);
  if (r.code !== 0 && /ENOENT|not found/i.test(r.stderr)) throw new Error('keepalived is missing: apt-get install -y keepalived');
  const v = /Keepalived v(\S+)/.exec(r.stdout + r.stderr)?.[1];
  if (!v) throw new Error(`cannot read the keepalived version: ${r.stdout}${r.stderr}`);
  if (v !== '2.2.7') console.warn(`keepalived ${v} installed; the reference figures are for 2.2.7`);
}

async function startWeb(host: LabHost): Promise<void> {
  const p = host.spawn(['node', WEB, host.name]);
  let out = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor(`the web fixture on ${host.name} to listen on :80`, () => {
    if (p.exitCode !== null) throw new Error(`web fixture on ${host.name} exited: ${out}`);
    return out.includes('listening');
  }, 5000);
}

/** `ss -ltnH` in a namespace: the listening TCP sockets' local addresses (e.g. 127.0.0.1:9229). */
export async function listeningTcp(host: LabHost): Promise<string[]> {
  const r = await host.exec(['ss', '-ltnH']);
  if (r.code !== 0) throw new Error(`ss -ltnH failed in ${host.ns}: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[3]).filter((x): x is string => !!x);
}

export { sleep };
