// The signal dumps rendered from the status model, and the file writer that must not follow a
// symlink planted in a world-writable directory.
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpDir, renderData, renderJson, renderStats, writeDumpFile, type DumpSource } from '../../src/daemon/dumps.js';
import type { InstanceStatus } from '../../src/vrrp/instance.js';

const inst: InstanceStatus = {
  name: 'VI_1', interface: 'eth0', vrid: 51, state: 'FAULT', priority: 100, effectivePriority: 100,
  masterIp: null, masterPriority: null, sourceIp: '10.0.0.1', vips: ['10.0.0.100/24'], vipsConfigured: false,
  vipsPresent: [], vipFailures: [{ vip: '10.0.0.100/24', error: 'Operation not permitted', attempts: 2, nextRetryAt: null }],
  faults: [{ key: 'interface:eth0', source: 'interface', subject: 'eth0', detail: 'down', since: 9000 }],
  counters: {
    advertsSent: 40, advertsReceived: 7, priorityZeroReceived: 1, priorityZeroSent: 2, sendErrors: 1,
    becameMaster: 3, releasedMaster: 2, faults: 1, vipsReadded: 0,
    rejected: { bad_password: 4, bad_ttl: 2, bad_length: 1, ip_length_mismatch: 1, vip_missing: 5 },
  },
  transitions: 6,
  lastTransition: { from: 'MASTER', to: 'FAULT', reason: 'fault', at: 9000, wall: '2026-11-29T10:00:00.000Z', faults: 'interface eth0 down' },
  timer: { fired: 10, lastMs: 0.2, meanMs: 0.1, maxMs: 1.5, over50Ms: 0 },
};

const src: DumpSource = {
  version: '0.1.0', pid: 42, startedAt: '2026-11-29T09:00:00.000Z', configFile: '/etc/keepalived/keepalived.conf',
  vrrp: [inst], check: null, now: '2026-11-29T10:00:01.000Z', monoNow: 10_000,
};

const dir = mkdtempSync(join(tmpdir(), 'hakeep-dumps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signal dumps', () => {
  it('stats: keepalived\'s labels and sums, then hakeep\'s own block', () => {
    const text = renderStats(src);
    expect(text.split('\n').slice(0, 19)).toEqual([
      'VRRP Instance: VI_1',
      '  Advertisements:',
      '    Received: 7',
      '    Sent: 40',
      '  Became master: 3',
      '  Released master: 2',
      '  Packet Errors:',
      '    Length: 2',
      '    TTL: 2',
      '    Invalid Type: 0',
      '    Advertisement Interval: 0',
      '    Address List: 5',
      '  Authentication Errors:',
      '    Invalid Type: 0',
      '    Type Mismatch: 0',
      '    Failure: 4',
      '  Priority Zero:',
      '    Received: 1',
      '    Sent: 2',
    ]);
    expect(text).toContain('    Rejected by reason: bad_password=4 bad_ttl=2 bad_length=1 ip_length_mismatch=1 vip_missing=5');
  });

  it('data: state, faults with their age, failing VIPs', () => {
    const text = renderData(src);
    expect(text).toContain('  State: FAULT');
    expect(text).toContain('  Last transition: MASTER -> FAULT (fault: interface eth0 down) at 2026-11-29T10:00:00.000Z, 1.0 s ago');
    expect(text).toContain('  Faults: interface eth0 down (1.0 s ago)');
    expect(text).toContain('  VIP failing: 10.0.0.100/24: Operation not permitted (2 attempt(s))');
  });

  it('JSON: keepalived\'s [{data, stats}] with its state numbers, and hakeep\'s status', () => {
    const doc = JSON.parse(renderJson(src)) as Array<{ data: Record<string, unknown>; stats: Record<string, number>; hakeep: unknown }>;
    expect(doc[0]!.data).toMatchObject({ iname: 'VI_1', state: 3, vrid: 51, base_priority: 100, effective_priority: 100, vips: ['10.0.0.100/24'] });
    // last_transition in epoch seconds: now - (monoNow - at) = 10:00:00.
    expect(doc[0]!.data.last_transition).toBe(Date.parse('2026-11-29T10:00:00.000Z') / 1000);
    expect(doc[0]!.stats).toMatchObject({ advert_rcvd: 7, advert_sent: 40, become_master: 3, auth_failure: 4, pri_zero_sent: 2 });
    expect(doc[0]!.hakeep).toMatchObject({ name: 'VI_1', faults: [{ key: 'interface:eth0' }] });
  });

  it('goes to $TMPDIR when it is absolute, else /tmp (keepalived\'s rule)', () => {
    expect(dumpDir({ TMPDIR: '/var/tmp' })).toBe('/var/tmp');
    expect(dumpDir({ TMPDIR: 'relative' })).toBe('/tmp');
    expect(dumpDir({})).toBe('/tmp');
  });

  it('replaces a planted symlink instead of writing through it', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, 'keepalived.data'));
    const path = await writeDumpFile(dir, 'keepalived.data', 'dump\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('dump\n');
  });
});
