// The kernel IPVS table against a desired one, read from /proc/net/ip_vs in-process (no process
// spawn: starting a process costs ~90 ms in the UML guest), and an Observer that samples it in a
// tight loop and counts what a restart did to it: destinations missing, removed and re-added,
// weight changes, reordered destination lists (a remove + re-add between two samples shows up as a
// destination moving to the end of its service's list), services missing.
import { closeSync, openSync, readSync } from 'node:fs';

const hex2 = (x) => Number(x).toString(16).padStart(2, '0').toUpperCase();
/** "10.78.1.11", 20000 → "0A4E010B:4E20", the spelling of /proc/net/ip_vs. */
export const hexAddr = (ip, port) => `${ip.split('.').map(hex2).join('')}:${port.toString(16).padStart(4, '0').toUpperCase()}`;

/**
 * The desired table: `services` Map "TCP 0A4E0901:0050" → "rr" (scheduler and flags as
 * /proc prints them, trimmed), `dests` Map "TCP 0A4E0901:0050>0A4E010B:4E20" → "Masq 1".
 */
export function desiredTable(list) {
  const services = new Map();
  const dests = new Map();
  for (const s of list) {
    const key = `${s.proto} ${hexAddr(s.ip, s.port)}`;
    services.set(key, s.sched);
    for (const d of s.dests) dests.set(`${key}>${hexAddr(d.ip, d.port)}`, `${d.fwd} ${d.weight}`);
  }
  return { services, dests };
}

/**
 * Reads /proc/net/ip_vs with pread() from offset 0 on a kept descriptor into a kept buffer (the
 * seq_file starts over at offset 0). In the UML guest this costs 0.7 ms for 1,000 destinations and
 * 8 ms for 10,000, against 5.7 and 49 ms for readFileSync (fresh buffers page-fault, which is dear
 * in UML). read() → { buf, len } valid until the next read() of the other buffer (two alternate).
 */
export class ProcReader {
  constructor(path = '/proc/net/ip_vs') {
    this.fd = openSync(path, 'r');
    this.bufs = [Buffer.alloc(1 << 20), Buffer.alloc(1 << 20)];
    this.which = 0;
  }

  read() {
    this.which ^= 1;
    let buf = this.bufs[this.which];
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.alloc(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = this.bufs[this.which] = bigger;
      }
      const r = readSync(this.fd, buf, len, buf.length - len, len);
      if (r <= 0) break;
      len += r;
    }
    return { buf, len };
  }

  text() {
    const { buf, len } = this.read();
    return buf.latin1Slice(0, len);
  }

  close() {
    closeSync(this.fd);
  }
}

let shared = null;
export function readProc() {
  shared ??= new ProcReader();
  return shared.text();
}

/** /proc/net/ip_vs → { services: Map key → sched, dests: Map key>dest → "fwd weight", order: Map key → dest list }. */
export function parseProc(text) {
  const services = new Map();
  const dests = new Map();
  const order = new Map();
  let cur = null;
  let list = null;
  const lines = text.split('\n');
  for (let i = 3; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    if (line.startsWith('  ->')) {
      if (cur === null) continue;
      const f = line.trim().split(/\s+/);
      dests.set(`${cur}>${f[1]}`, `${f[2]} ${f[3]}`);
      list.push(f[1]);
    } else {
      const f = line.trim().split(/\s+/);
      cur = `${f[0]} ${f[1]}`;
      services.set(cur, f.slice(2).join(' '));
      list = [];
      order.set(cur, list);
    }
  }
  return { services, dests, order };
}

/** How a parsed table differs from the desired one. */
export function compare(desired, t) {
  let missing = 0;
  let wrong = 0;
  for (const [k, v] of desired.dests) {
    const got = t.dests.get(k);
    if (got === undefined) missing++;
    else if (got !== v) wrong++;
  }
  let extra = 0;
  for (const k of t.dests.keys()) if (!desired.dests.has(k)) extra++;
  let svcMissing = 0;
  let svcWrong = 0;
  for (const [k, v] of desired.services) {
    const got = t.services.get(k);
    if (got === undefined) svcMissing++;
    else if (got !== v) svcWrong++;
  }
  let svcExtra = 0;
  for (const k of t.services.keys()) if (!desired.services.has(k)) svcExtra++;
  return { missing, wrong, extra, svcMissing, svcWrong, svcExtra, equal: missing + wrong + extra + svcMissing + svcWrong + svcExtra === 0 };
}

export function tableEqual(desired) {
  return compare(desired, parseProc(readProc())).equal;
}

const sleep = (ms) => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

/**
 * Samples /proc/net/ip_vs every `intervalMs` (0 = back to back, yielding to the event loop) from
 * start() to stop(). A sample whose bytes equal the previous one's is the same table (the benchmark's
 * checks connect to the real servers directly, so IPVS connection counters stay 0) and is not parsed.
 */
export class Observer {
  constructor(desired, intervalMs) {
    this.desired = desired;
    this.intervalMs = intervalMs;
    this.running = false;
    this.prev = null; // parsed previous table
    this.state = null; // compare() of the previous sample
    this.samples = 0;
    this.parsed = 0;
    this.firstT = null;
    this.lastT = null;
    this.maxGapMs = 0;
    this.gapSum = 0;
    this.readMsMax = 0;
    this.readMsSum = 0;
    this.maxMissing = 0;
    this.missingDestSamples = 0; // sum over samples of destinations missing
    this.missingSamples = 0; // samples with at least one destination missing
    this.unequalSamples = 0;
    this.maxExtra = 0;
    this.maxWrong = 0;
    this.maxSvcMissing = 0;
    this.removals = 0; // present → absent transitions
    this.readds = 0; // absent → present transitions of a destination seen present before
    this.removedKeys = new Set();
    this.readdedKeys = new Set();
    this.weightChanges = 0; // "fwd weight" changed between two samples
    this.weightChangedKeys = new Set();
    this.reorders = 0; // a service's destination list reordered with the same members
    this.svcRemovals = 0;
    this.svcReadds = 0;
    this.missingWindows = []; // [t0, t1] sample times: first sample missing, first sample whole again
    this.unequalWindows = [];
    this.timeline = []; // [t, missing, wrong, extra, svcMissing] whenever one of them changes
    this.marks = {};
    this.loop = null;
  }

  start() {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.sample();
        await sleep(this.intervalMs);
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.loop;
    this.sample(); // a last look
    this.reader.close();
    const t = this.lastT;
    if (this.openMissing !== undefined) { this.missingWindows.push([this.openMissing, t, true]); this.openMissing = undefined; }
    if (this.openUnequal !== undefined) { this.unequalWindows.push([this.openUnequal, t, true]); this.openUnequal = undefined; }
  }

  mark(name, t = performance.now()) {
    this.marks[name] = t;
  }

  get equal() {
    return this.state?.equal ?? false;
  }

  sample() {
    const r0 = performance.now();
    this.reader ??= new ProcReader();
    const { buf, len } = this.reader.read();
    const t = performance.now();
    const readMs = t - r0;
    this.readMsMax = Math.max(this.readMsMax, readMs);
    this.readMsSum += readMs;
    if (this.lastT !== null) {
      const gap = t - this.lastT;
      this.maxGapMs = Math.max(this.maxGapMs, gap);
      this.gapSum += gap;
    } else {
      this.firstT = t;
    }
    this.lastT = t;
    this.samples++;
    const same = this.prevBuf !== undefined && this.prevLen === len && buf.compare(this.prevBuf, 0, len, 0, len) === 0;
    this.prevBuf = buf;
    this.prevLen = len;
    if (!same) {
      this.parsed++;
      const cur = parseProc(buf.latin1Slice(0, len));
      const st = compare(this.desired, cur);
      if (this.prev) this.transitions(this.prev, cur);
      if (!this.state || st.missing !== this.state.missing || st.wrong !== this.state.wrong || st.extra !== this.state.extra || st.svcMissing !== this.state.svcMissing) {
        this.timeline.push([t, st.missing, st.wrong, st.extra, st.svcMissing]);
      }
      this.prev = cur;
      this.state = st;
    }
    const st = this.state;
    this.maxMissing = Math.max(this.maxMissing, st.missing);
    this.maxExtra = Math.max(this.maxExtra, st.extra);
    this.maxWrong = Math.max(this.maxWrong, st.wrong);
    this.maxSvcMissing = Math.max(this.maxSvcMissing, st.svcMissing);
    this.missingDestSamples += st.missing;
    if (st.missing > 0) {
      this.missingSamples++;
      if (this.openMissing === undefined) this.openMissing = t;
    } else if (this.openMissing !== undefined) {
      this.missingWindows.push([this.openMissing, t]);
      this.openMissing = undefined;
    }
    if (!st.equal) {
      this.unequalSamples++;
      if (this.openUnequal === undefined) this.openUnequal = t;
    } else if (this.openUnequal !== undefined) {
      this.unequalWindows.push([this.openUnequal, t]);
      this.openUnequal = undefined;
    }
  }

  transitions(prev, cur) {
    for (const k of this.desired.dests.keys()) {
      const a = prev.dests.get(k);
      const b = cur.dests.get(k);
      if (a !== undefined && b === undefined) {
        this.removals++;
        this.removedKeys.add(k);
      } else if (a === undefined && b !== undefined) {
        if (this.removedKeys.has(k)) {
          this.readds++;
          this.readdedKeys.add(k);
        }
      } else if (a !== undefined && a !== b) {
        this.weightChanges++;
        this.weightChangedKeys.add(k);
      }
    }
    for (const s of this.desired.services.keys()) {
      const a = prev.order.get(s);
      const b = cur.order.get(s);
      if (a && !b) this.svcRemovals++;
      if (!a && b && this.svcSeen?.has(s)) this.svcReadds++;
      if (a && b && a.length === b.length && a.join() !== b.join()) {
        const sa = [...a].sort().join();
        if (sa === [...b].sort().join()) this.reorders++;
      }
    }
    this.svcSeen ??= new Set(prev.order.keys());
    for (const s of cur.order.keys()) this.svcSeen.add(s);
  }

  /** The figures, times relative to t0 (the signal). */
  result(t0) {
    const rel = (x) => (x === null || x === undefined ? null : Math.round((x - t0) * 10) / 10);
    const dur = ([a, b]) => b - a;
    const lastUnequal = this.unequalWindows.length ? this.unequalWindows[this.unequalWindows.length - 1] : null;
    return {
      samples: this.samples,
      parsedSamples: this.parsed,
      sampleGapMsMean: this.samples > 1 ? Math.round((this.gapSum / (this.samples - 1)) * 10) / 10 : null,
      sampleGapMsMax: Math.round(this.maxGapMs * 10) / 10,
      readMsMean: Math.round((this.readMsSum / Math.max(1, this.samples)) * 100) / 100,
      readMsMax: Math.round(this.readMsMax * 10) / 10,
      observedMs: Math.round(this.lastT - this.firstT),
      firstSampleMs: rel(this.firstT),
      equalAtEnd: this.equal,
      // From the signal to the first sample after which the table stayed equal (0: never unequal).
      wholeMs: lastUnequal ? (lastUnequal[2] ? null : rel(lastUnequal[1])) : 0,
      firstUnequalMs: this.unequalWindows.length ? rel(this.unequalWindows[0][0]) : null,
      maxMissing: this.maxMissing,
      missingDestSamples: this.missingDestSamples,
      missingSamples: this.missingSamples,
      unequalSamples: this.unequalSamples,
      longestMissingMs: this.missingWindows.length ? Math.round(Math.max(...this.missingWindows.map(dur))) : 0,
      longestUnequalMs: this.unequalWindows.length ? Math.round(Math.max(...this.unequalWindows.map(dur))) : 0,
      missingWindows: this.missingWindows.map(([a, b, open]) => [rel(a), rel(b), ...(open ? ['open'] : [])]),
      removed: this.removedKeys.size,
      removals: this.removals,
      readded: this.readdedKeys.size,
      readds: this.readds,
      weightChanged: this.weightChangedKeys.size,
      weightChanges: this.weightChanges,
      maxWrong: this.maxWrong,
      maxExtra: this.maxExtra,
      maxSvcMissing: this.maxSvcMissing,
      svcRemovals: this.svcRemovals,
      svcReadds: this.svcReadds,
      reorders: this.reorders,
      // A few of the keys involved, for a reproduction.
      removedExamples: [...this.removedKeys].slice(0, 5),
      weightChangedExamples: [...this.weightChangedKeys].slice(0, 5),
      marks: Object.fromEntries(Object.entries(this.marks).map(([k, v]) => [k, rel(v)])),
      timeline: this.timeline.slice(0, 400).map(([t, ...rest]) => [rel(t), ...rest]),
      timelineTruncated: this.timeline.length > 400,
    };
  }
}
