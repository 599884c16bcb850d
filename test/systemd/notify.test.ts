// src/daemon/systemd.ts without systemd: the datagrams it sends (READY, RELOADING with
// MONOTONIC_USEC, STOPPING, STATUS, WATCHDOG), the watchdog's interval and health predicate, the
// STATUS text from the status model, the VRRP progress predicate and the stall hook. One test
// sends through the real addon to a real AF_UNIX datagram socket (python3 receives: Node cannot
// bind one). The same module under a real systemd: test/systemd/systemd.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/daemon/log.js';
import {
  armTestStallHook, formatStatus, MAX_STATUS_LENGTH, monotonicUsec, summarizeServices, Systemd, systemdLifecycle, vrrpProgress,
} from '../../src/daemon/systemd.js';

const dir = mkdtempSync(join(tmpdir(), 'hk-sd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.useRealTimers(); });

function recorder(): { sent: Array<[string, string]>; send: (p: string, m: string) => void } {
  const sent: Array<[string, string]> = [];
  return { sent, send: (p, m) => { sent.push([p, m]); } };
}

function memLog(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } } });
  return { lines, log };
}

describe('sd_notify states', () => {
  it('is a no-op without NOTIFY_SOCKET', () => {
    const r = recorder();
    const sd = new Systemd({ env: {}, send: r.send });
    expect(sd.enabled).toBe(false);
    expect(sd.ready('x')).toBe(false);
    expect(sd.reloading()).toBe(false);
    expect(sd.stopping()).toBe(false);
    expect(sd.startWatchdog(() => true)).toBeNull();
    expect(r.sent).toEqual([]);
  });

  it('READY, RELOADING with MONOTONIC_USEC, READY, STOPPING, each with its STATUS, to the socket from the environment', () => {
    const r = recorder();
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '5000000', WATCHDOG_PID: String(process.pid), KEEP: '1' };
    const sd = new Systemd({ env, send: r.send, monotonicUsec: () => 123456789n });
    // Read once, then removed so that children (checker, scripts) do not inherit them.
    expect(env).toEqual({ KEEP: '1' });
    expect(sd.notifySocket).toBe('/run/systemd/notify');
    expect(sd.watchdogUsec).toBe(5_000_000);
    sd.ready('VI_1 BACKUP, 0/2 real servers up');
    sd.reloading('reloading /etc/hakeep/keepalived.conf');
    sd.ready('VI_1 MASTER, 2/2 real servers up');
    sd.stopping('stopping (SIGTERM)');
    expect(r.sent.map(([p]) => p)).toEqual(Array(4).fill('/run/systemd/notify'));
    expect(r.sent.map(([, m]) => m)).toEqual([
      'READY=1\nSTATUS=VI_1 BACKUP, 0/2 real servers up',
      'RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading /etc/hakeep/keepalived.conf',
      'READY=1\nSTATUS=VI_1 MASTER, 2/2 real servers up',
      'STOPPING=1\nSTATUS=stopping (SIGTERM)',
    ]);
  });

  it('MONOTONIC_USEC is CLOCK_MONOTONIC in µs (what systemd compares with its own clock)', () => {
    const before = process.hrtime.bigint() / 1000n;
    const m = monotonicUsec();
    const after = process.hrtime.bigint() / 1000n;
    expect(m >= before && m <= after).toBe(true);
    // /proc/uptime is CLOCK_BOOTTIME, never behind CLOCK_MONOTONIC and close to it on a machine
    // that has not been suspended: the same scale (µs since boot), not wall time.
    expect(Number(m)).toBeLessThan(Date.now() * 1000 / 2);
  });

  it('STATUS is one line, sent only when it changes, and cut to a bounded length', () => {
    const r = recorder();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '@abstract' }, send: r.send });
    sd.status('a\nb');
    sd.status('a b');
    sd.status('c');
    sd.status('x'.repeat(5000));
    expect(r.sent.map(([, m]) => m.slice(0, 20))).toEqual(['STATUS=a b', 'STATUS=c', `STATUS=${'x'.repeat(13)}`]);
    expect(r.sent[2]![1].length).toBe('STATUS='.length + MAX_STATUS_LENGTH);
    expect(r.sent[0]![0]).toBe('@abstract');
  });

  it('a failing transport never throws into the daemon: logged (rate-limited) and false', () => {
    const { lines, log } = memLog();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/nonexistent/notify' }, log, send: () => { throw new Error('ECONNREFUSED'); } });
    expect(sd.ready('x')).toBe(false);
    expect(sd.ready('x')).toBe(false);
    expect(lines.filter((l) => /cannot notify systemd \(READY=1\)/.test(String(l.msg)))).toHaveLength(1);
  });

  it('a relative NOTIFY_SOCKET is not used', () => {
    const { lines, log } = memLog();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: 'relative/path' }, log, send: () => { throw new Error('must not send'); } });
    expect(sd.enabled).toBe(false);
    expect(lines[0]!.msg).toMatch(/neither a path nor an abstract socket/);
  });

  it('through the native addon to a real AF_UNIX datagram socket', async () => {
    const path = join(dir, 'notify.sock');
    const got = await receiveOne(path, () => {
      const sd = new Systemd({ env: { NOTIFY_SOCKET: path } });
      return sd.reloading('reloading');
    });
    expect(got).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading$/);
  });
});

describe('watchdog', () => {
  it('not armed without WATCHDOG_USEC, or when WATCHDOG_PID names another process', () => {
    expect(new Systemd({ env: { NOTIFY_SOCKET: '/x' }, send: () => {} }).startWatchdog(() => true)).toBeNull();
    expect(new Systemd({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '1' }, send: () => {}, pid: 4242 }).startWatchdog(() => true)).toBeNull();
    expect(new Systemd({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: 'abc' }, send: () => {} }).startWatchdog(() => true)).toBeNull();
  });

  it('pings at once, then every WATCHDOG_USEC/2 while healthy; an unhealthy tick sends nothing and says why', () => {
    vi.useFakeTimers();
    const r = recorder();
    const { lines, log } = memLog();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '4000000' }, send: r.send, log });
    let health: true | string = true;
    const wd = sd.startWatchdog(() => health)!;
    expect(wd.intervalMs).toBe(2000);
    expect(r.sent).toEqual([['/n', 'WATCHDOG=1']]);
    vi.advanceTimersByTime(2000);
    expect(wd.pings).toBe(2);
    health = 'VRRP side not running';
    vi.advanceTimersByTime(6000);
    expect(wd.pings).toBe(2);
    expect(wd.healthy).toBe(false);
    expect(lines.filter((l) => l.event === 'watchdog' && l.healthy === false)).toHaveLength(1);
    expect(String(lines.find((l) => l.healthy === false)!.msg)).toMatch(/not healthy \(VRRP side not running\): not pinging the systemd watchdog; systemd restarts hakeep 4 s after/);
    health = true;
    vi.advanceTimersByTime(2000);
    expect(wd.pings).toBe(3);
    expect(lines.some((l) => /healthy again/.test(String(l.msg)))).toBe(true);
    wd.stop();
    vi.advanceTimersByTime(10_000);
    expect(wd.pings).toBe(3);
  });

  it('a predicate that throws counts as unhealthy', () => {
    vi.useFakeTimers();
    const r = recorder();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '1000000' }, send: r.send });
    const wd = sd.startWatchdog(() => { throw new Error('boom'); })!;
    expect(wd.pings).toBe(0);
    expect(wd.healthy).toBe(false);
  });

  it('STOPPING=1 stops the pings and the STATUS follower', () => {
    vi.useFakeTimers();
    const r = recorder();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '1000000' }, send: r.send });
    const wd = sd.startWatchdog(() => true)!;
    let text = 'a';
    sd.followStatus(() => text, 100);
    vi.advanceTimersByTime(100);
    sd.stopping('stopping');
    text = 'b';
    vi.advanceTimersByTime(5000);
    expect(wd.pings).toBe(1);
    expect(r.sent.map(([, m]) => m)).toEqual(['WATCHDOG=1', 'STATUS=a', 'STOPPING=1\nSTATUS=stopping']);
  });

  it('a blocked event loop: no ping while blocked, and the late tick is logged', async () => {
    const r = recorder();
    const { lines, log } = memLog();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '200000' }, send: r.send, log });
    const wd = sd.startWatchdog(() => true)!;
    expect(wd.intervalMs).toBe(100);
    await new Promise((res) => setTimeout(res, 30));
    const pingsBefore = wd.pings;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400); // the loop is stuck
    expect(wd.pings).toBe(pingsBefore);
    await new Promise((res) => setTimeout(res, 150));
    wd.stop();
    expect(lines.some((l) => /event loop was blocked for about \d+ ms/.test(String(l.msg)))).toBe(true);
  });
});

describe('STATUS text', () => {
  it('from the status model, as systemctl status shows it', () => {
    expect(formatStatus({ instances: [{ name: 'VI_1', state: 'MASTER' }], virtualServers: [{ up: 2, total: 2 }] })).toBe('VI_1 MASTER, 2/2 real servers up');
    expect(formatStatus({ instances: [{ name: 'VI_1', state: 'MASTER' }, { name: 'VI_2', state: 'BACKUP' }], virtualServers: [{ up: 1, total: 2 }, { up: 2, total: 2 }] }))
      .toBe('VI_1 MASTER, VI_2 BACKUP, 3/4 real servers up in 2 virtual servers');
    const many = [...Array(12).keys()].map((i) => ({ name: `VI_${i}`, state: i % 3 === 0 ? 'BACKUP' : 'MASTER' }));
    expect(formatStatus({ instances: [...many, { name: 'X', state: 'FAULT' }], virtualServers: null })).toBe('13 instances: 8 MASTER, 4 BACKUP, 1 FAULT');
    expect(formatStatus({ instances: many, virtualServers: [{ up: 98, total: 100 }] })).toBe('12 instances: 8 MASTER, 4 BACKUP; 98/100 real servers up');
    expect(formatStatus({ instances: null, virtualServers: [{ up: 0, total: 3 }] }, 'reloading')).toBe('reloading: 0/3 real servers up');
    expect(formatStatus({ instances: [], virtualServers: [] })).toMatch(/nothing configured/);
  });

  it('reads the two halves’ status() shapes defensively', () => {
    const vrrp = { instances: [{ name: 'VI_1', state: 'MASTER', priority: 100 }], syncGroups: [] };
    const check = { name: 'check', virtualServers: [{ vs: '10.0.0.1:80', realServers: [{ rs: 'a', alive: true }, { rs: 'b', alive: false }] }] };
    expect(summarizeServices(vrrp, check)).toEqual({ instances: [{ name: 'VI_1', state: 'MASTER' }], virtualServers: [{ up: 1, total: 2 }] });
    expect(summarizeServices(undefined, null)).toEqual({ instances: null, virtualServers: null });
    expect(summarizeServices({ instances: 'nope' }, { virtualServers: [{}] })).toEqual({ instances: null, virtualServers: [{ up: 0, total: 0 }] });
  });
});

describe('vrrpProgress', () => {
  it('fails when an instance stays MASTER without sending adverts past three intervals', () => {
    let t = 0;
    const inst = [{ name: 'VI_1', state: 'BACKUP', counters: { advertsSent: 0 } }];
    const p = vrrpProgress({ instances: () => inst, advertIntervalMs: () => 1000 }, 500, () => t);
    expect(p()).toBe(true);
    t = 10_000;
    expect(p()).toBe(true); // a quiet backup is fine
    inst[0]!.state = 'MASTER';
    expect(p()).toBe(true);
    for (let i = 1; i <= 5; i++) {
      t += 2500;
      inst[0]!.counters.advertsSent += 2;
      expect(p()).toBe(true);
    }
    t += 2500;
    expect(p()).toBe(true); // 2.5 s without an advert: within 3 × 1 s + 0.5 s
    t += 2500;
    expect(p()).toBe('(VI_1) is MASTER but sent no advert for 5 s');
    inst[0]!.counters.advertsSent += 1;
    expect(p()).toBe(true);
  });
});

describe('systemdLifecycle (what runDaemon drives)', () => {
  it('READY with the STATUS text, RELOADING/READY around a reload, STOPPING, and nothing after it', () => {
    vi.useFakeTimers();
    const r = recorder();
    const { log } = memLog();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '2000000' }, send: r.send, monotonicUsec: () => 42n, log });
    let state = 'BACKUP';
    const services = [
      { name: 'vrrp', status: () => ({ instances: [{ name: 'VI_1', state, counters: { advertsSent: 0 } }] }) },
      { name: 'check', status: () => ({ virtualServers: [{ realServers: [{ alive: true }, { alive: true }] }] }) },
    ];
    const life = systemdLifecycle(sd, { services: () => services, advertIntSec: () => 1 }, log);
    life.reloading(); // before READY: ignored (start-up is not over)
    life.ready();
    state = 'MASTER';
    vi.advanceTimersByTime(1000); // the STATUS follower sees the transition
    life.reloading();
    life.reloaded();
    life.stopping('SIGTERM');
    life.reloaded();
    life.ready();
    vi.advanceTimersByTime(5000);
    expect(r.sent.map(([, m]) => m)).toEqual([
      'WATCHDOG=1',
      'READY=1\nSTATUS=VI_1 BACKUP, 2/2 real servers up',
      'WATCHDOG=1',
      'STATUS=VI_1 MASTER, 2/2 real servers up',
      'RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading: VI_1 MASTER, 2/2 real servers up',
      'READY=1\nSTATUS=VI_1 MASTER, 2/2 real servers up',
      'STOPPING=1\nSTATUS=stopping (SIGTERM)',
    ]);
  });

  it('READY=1 waits for the checker side to have programmed IPVS (the watchdog pings meanwhile), or goes after the bound saying why', () => {
    vi.useFakeTimers();
    for (const becomesOk of [true, false]) {
      const r = recorder();
      const { lines, log } = memLog();
      const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '10000000' }, send: r.send, log });
      let health = { ok: false, detail: 'IPVS table not programmed yet' };
      const listeners: Array<(h: typeof health) => void> = [];
      const services = [
        { name: 'vrrp', status: () => ({ instances: [{ name: 'VI_1', state: 'FAULT', counters: { advertsSent: 0 } }] }) },
        { name: 'check', status: () => ({}), aliveCount: () => ({ up: 2, total: 2 }), health: () => health, onHealth: (fn: (h: typeof health) => void) => { listeners.push(fn); } },
      ];
      const life = systemdLifecycle(sd, { services: () => services, advertIntSec: () => 1 }, log, 8000);
      life.ready();
      life.reloading(); // not ready yet: no RELOADING
      vi.advanceTimersByTime(3000);
      expect(r.sent.map(([, m]) => m)).toEqual(['WATCHDOG=1']);
      if (becomesOk) {
        health = { ok: true, detail: '' };
        for (const l of listeners) l(health);
        expect(r.sent.at(-1)![1]).toBe('READY=1\nSTATUS=VI_1 FAULT, 2/2 real servers up');
        vi.advanceTimersByTime(10_000);
        expect(r.sent.filter(([, m]) => m.startsWith('READY=1'))).toHaveLength(1);
      } else {
        vi.advanceTimersByTime(5000);
        expect(r.sent.filter(([, m]) => m.startsWith('READY=1'))).toHaveLength(1);
        expect(lines.some((l) => /still not ready after 8 s \(IPVS table not programmed yet\): telling systemd hakeep is ready anyway/.test(String(l.msg)))).toBe(true);
      }
      life.stopping('SIGTERM');
    }
  });

  it('takes the real-server counts from aliveCount() when the checker side has it (its status() is never called)', () => {
    const r = recorder();
    const sd = new Systemd({ env: { NOTIFY_SOCKET: '/n' }, send: r.send });
    const services = [
      { name: 'vrrp', status: () => ({ instances: [{ name: 'VI_1', state: 'MASTER', counters: { advertsSent: 1 } }] }) },
      { name: 'check', status: () => { throw new Error('status() parses the whole document: not for the STATUS line'); }, aliveCount: () => ({ up: 98, total: 100 }) },
    ];
    systemdLifecycle(sd, { services: () => services, advertIntSec: () => 1, virtualServerCount: () => 10 }, memLog().log).ready();
    expect(r.sent.map(([, m]) => m)).toEqual(['READY=1\nSTATUS=VI_1 MASTER, 98/100 real servers up in 10 virtual servers']);
  });
});

describe('HAKEEP_TEST_STALL_MS', () => {
  it('is off unless set', () => {
    expect(armTestStallHook(memLog().log, {})).toBeNull();
  });

  it('blocks the main thread for N ms once, after HAKEEP_TEST_STALL_AFTER_MS', async () => {
    const { lines, log } = memLog();
    const h = armTestStallHook(log, { HAKEEP_TEST_STALL_MS: '300', HAKEEP_TEST_STALL_AFTER_MS: '10' })!;
    const t0 = performance.now();
    let last = t0;
    let maxGap = 0;
    await new Promise<void>((res) => {
      const i = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        if (now - t0 > 500) { clearInterval(i); res(); }
      }, 5);
    });
    h.stop();
    expect(maxGap).toBeGreaterThanOrEqual(290);
    expect(lines.filter((l) => l.event === 'test_stall')).toHaveLength(2);
  });

  it('with HAKEEP_TEST_STALL_FILE: stalls when the file appears, and removes it', async () => {
    const { lines, log } = memLog();
    const file = join(dir, 'stall');
    const h = armTestStallHook(log, { HAKEEP_TEST_STALL_MS: '50', HAKEEP_TEST_STALL_FILE: file })!;
    await new Promise((res) => setTimeout(res, 300));
    expect(lines.filter((l) => l.event === 'test_stall')).toHaveLength(0);
    writeFileSync(file, '');
    await new Promise((res) => setTimeout(res, 600));
    h.stop();
    expect(existsSync(file)).toBe(false);
    expect(lines.filter((l) => l.event === 'test_stall')).toHaveLength(2);
  });
});

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
s.settimeout(10)
print(s.recv(4096).decode(), flush=True)
`;

async function receiveOne(path: string, send: () => boolean): Promise<string> {
  const py = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { py.kill(); reject(new Error('no datagram within 10 s')); }, 10_000);
    py.on('error', (e) => reject(new Error(`python3 is needed for this test: apt-get install -y python3 (${e.message})`)));
    let out = '';
    py.stdout.setEncoding('utf8');
    py.stdout.on('data', (d: string) => {
      const wasReady = out.startsWith('ready\n');
      out += d;
      if (!wasReady && out.startsWith('ready\n')) {
        try {
          if (!send()) reject(new Error('send returned false'));
        } catch (e) { reject(e as Error); }
      }
    });
    py.on('close', () => { clearTimeout(timer); resolve(out.replace(/^ready\n/, '').replace(/\n$/, '')); });
  });
}
