import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, procIpvsFingerprint } from '../../src/ipvs/proc-fingerprint.js';

// Real /proc/net/ip_vs text (Linux 6.1 in UML).
const PROC = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000064:0050 wlc  
  -> 0A090003:0050      Route   0      0          0         
  -> 0A090002:1F90      Masq    3      0          0         
UDP  0A000064:0035 rr ops  persistent 30000 FFFFFF00
`;

describe('IPVS fingerprint from /proc/net/ip_vs', () => {
  it('ignores connection counters but not weights, forwarding or services', () => {
    const busy = PROC.replace('Masq    3      0          0', 'Masq    3      17         4');
    expect(fingerprintOf(busy)).toBe(fingerprintOf(PROC));
    expect(fingerprintOf(PROC.replace('Masq    3', 'Masq    2'))).not.toBe(fingerprintOf(PROC));
    expect(fingerprintOf(PROC.replace('Route', 'Masq '))).not.toBe(fingerprintOf(PROC));
    expect(fingerprintOf(PROC.replace('rr ops', 'rr'))).not.toBe(fingerprintOf(PROC));
  });

  it('reads the file, and answers null when it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hku-proc-'));
    writeFileSync(join(dir, 'ip_vs'), PROC);
    expect(await procIpvsFingerprint(join(dir, 'ip_vs'))).toBe(fingerprintOf(PROC));
    expect(await procIpvsFingerprint(join(dir, 'absent'))).toBeNull();
  });
});
