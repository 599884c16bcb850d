// Trackers against the real pieces: the shared script runner running a real script (inside a
// network namespace created here) whose exit code is flipped through a file, and track_interface
// on the real rtnetlink feed, for a veth whose peer (in that namespace) goes down and up: our end
// keeps IFF_UP but loses IFF_RUNNING (carrier), which is "down" for keepalived.
//
// The trackers run in this process, in the initial namespace, so the kernel event feed and the
// veth end it watches live there; the script runs under `ip netns exec`. Every wait is bounded.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNetnsSupport, sh } from '../helpers/netns.js';
import { createLogger } from '../../src/daemon/log.js';
import { parseConfigText } from '../../src/config/load.js';
import { KernelEventFeed } from '../../src/net/kernel-events.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { startTrackers, type TrackerSink } from '../../src/vrrp/trackers/index.js';

const NS = `hktrk-${process.pid}`;
const OUR = `hkt${process.pid % 100000}a`;
const PEER = `hkt${process.pid % 100000}b`;

class Sink implements TrackerSink {
  weights = new Map<string, number>();
  faults = new Map<string, string>();
  setWeight(i: string, k: string, w: number): void { if (w === 0) this.weights.delete(`${i} ${k}`); else this.weights.set(`${i} ${k}`, w); }
  setFault(i: string, src: string, subj: string, d: string): void { this.faults.set(`${i} ${src}:${subj}`, d); }
  clearFault(i: string, src: string, subj: string): void { this.faults.delete(`${i} ${src}:${subj}`); }
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function must(argv: string[]): Promise<void> {
  const r = await sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

let dir = '';

beforeAll(async () => {
  await requireNetnsSupport();
  dir = mkdtempSync(join(tmpdir(), 'hakeep-track-netns-'));
  await sh(['ip', 'netns', 'del', NS]);
  await sh(['ip', 'link', 'del', OUR]);
  await must(['ip', 'netns', 'add', NS]);
  await must(['ip', 'link', 'add', OUR, 'type', 'veth', 'peer', 'name', PEER]);
  await must(['ip', 'link', 'set', PEER, 'netns', NS]);
  await must(['ip', 'link', 'set', OUR, 'up']);
  await must(['ip', '-n', NS, 'link', 'set', PEER, 'up']);
  await must(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
});

afterAll(async () => {
  await sh(['ip', 'link', 'del', OUR]);
  await sh(['ip', 'netns', 'del', NS]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('trackers on real kernel pieces', () => {
  it('a real vrrp_script through the shared runner, and track_interface on a veth losing its carrier', async () => {
    const code = join(dir, 'code');
    const check = join(dir, 'check.sh');
    writeFileSync(code, '0\n');
    // Exits with the code in the file; also proves it runs inside the namespace (its veth end).
    writeFileSync(check, `#!/bin/sh\nip link show ${PEER} >/dev/null 2>&1 || exit 9\nexit $(cat ${code})\n`);
    chmodSync(check, 0o755);
    const conf = `vrrp_script chk {\n  script "ip netns exec ${NS} ${check}"\n  interval 1\n  timeout 2\n  weight -20\n  fall 2\n}\n`
      + `vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 1\n  priority 100\n  virtual_ipaddress {\n    10.255.0.1\n  }\n`
      + `  track_script {\n    chk\n  }\n  track_interface {\n    ${OUR}\n    hk-none-${process.pid % 1000} weight 5\n  }\n}\n`;
    const loaded = parseConfigText(conf);
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(String(JSON.parse(l).msg)); } } });
    const runner = new ScriptRunner({ mode: 'direct', scriptUser: 'root', log: () => {} });
    const feed = KernelEventFeed.open({ onError: () => {} });
    const sink = new Sink();
    const trackers = startTrackers(loaded.config, { sink, log, runner, kernel: feed, procEvents: null });
    try {
      // The missing interface (weight 5) adds nothing; ours is up: no fault.
      expect(sink.faults.size).toBe(0);
      await until('first script result', () => lines.includes('VRRP_Script(chk) succeeded'), 5000);
      expect(sink.weights.size).toBe(0);

      writeFileSync(code, '1\n');
      const t0 = Date.now();
      await until('two failures (fall 2)', () => sink.weights.get('VI_1 script:chk') === -20, 6000);
      expect(Date.now() - t0).toBeGreaterThan(900); // one failure is not enough
      expect(lines).toContain('VRRP_Script(chk) failed (exited with status 1)');
      writeFileSync(code, '0\n');
      await until('recovered', () => !sink.weights.has('VI_1 script:chk'), 5000);

      await must(['ip', '-n', NS, 'link', 'set', PEER, 'down']);
      await until('carrier lost → FAULT', () => sink.faults.get(`VI_1 track_interface:${OUR}`) === 'down', 5000);
      expect(lines).toContain(`Netlink reports ${OUR} down`);
      await must(['ip', '-n', NS, 'link', 'set', PEER, 'up']);
      await until('carrier back', () => sink.faults.size === 0, 5000);
      await must(['ip', 'link', 'set', OUR, 'down']);
      await until('admin down → FAULT', () => sink.faults.has(`VI_1 track_interface:${OUR}`), 5000);
      await must(['ip', 'link', 'set', OUR, 'up']);
      await until('up again', () => sink.faults.size === 0, 5000);

      const st = trackers.status();
      expect(st.scripts[0]!.runs).toBeGreaterThanOrEqual(3);
      expect(st.interfaces.find((i) => i.name === OUR)!.state).toBe('up');
    } finally {
      await trackers.stop();
      feed.close();
      await runner.close();
    }
  });
});
