// The long-lived ipvsadm session against a stand-in ipvsadm (a shell script speaking the same
// line protocol): batches, errors, the table, a crash in the middle, a missing binary.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ipvsadmSessionBackend } from '../../src/ipvs/ipvsadm-session.js';

const dir = mkdtempSync(join(tmpdir(), 'hku-session-'));
const fake = join(dir, 'ipvsadm');
const pidLog = join(dir, 'pids');
writeFileSync(fake, `#!/bin/sh
# Stand-in for "ipvsadm -R": one command per line, like the real one.
echo $$ >> ${pidLog}
while IFS= read -r line; do
  case "$line" in
    "-L --timeout") echo "Timeout (tcp tcpfin udp): 900 120 300" ;;
    "-S -n") printf -- '-A -t 10.0.0.1:80 -s rr\\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\\n' ;;
    *missing*) echo "No such destination" >&2 ;;
    *die*) echo "One-Packet Scheduling is only for UDP virtual services" >&2; exit 2 ;;
    *) : ;;
  esac
done
`);
chmodSync(fake, 0o755);

describe('ipvsadm session', () => {
  it('reads the table and applies batches through one running ipvsadm', async () => {
    writeFileSync(pidLog, '');
    const b = ipvsadmSessionBackend({ path: fake });
    expect(await b.save()).toBe('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n');
    await b.restore(['-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1', '-e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 5']);
    await Promise.all([b.restore(['-d -t 10.0.0.1:80 -r 10.0.0.3:80']), b.save(), b.restore(['-D -t 10.0.0.1:80'])]);
    expect(b.mode()).toBe('session');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(pidLog, 'utf8').trim().split('\n')).toHaveLength(1);
    b.close();
  });

  it('reports the errors of a batch with the batch, and keeps going', async () => {
    const b = ipvsadmSessionBackend({ path: fake });
    await expect(b.restore(['-d -t 10.0.0.1:80 -r missing', '-a ok', '-d missing again'])).rejects.toMatchObject({
      stderr: 'No such destination\nNo such destination',
      message: `${fake} -R (session) failed: No such destination\nNo such destination`,
    });
    await b.restore(['-a fine']);
    b.close();
  });

  it('restarts ipvsadm after it exits in the middle of a batch', async () => {
    writeFileSync(pidLog, '');
    const b = ipvsadmSessionBackend({ path: fake });
    await expect(b.restore(['-A die'])).rejects.toMatchObject({ stderr: 'One-Packet Scheduling is only for UDP virtual services', exitCode: 2 });
    expect(await b.save()).toContain('-A -t 10.0.0.1:80');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(pidLog, 'utf8').trim().split('\n')).toHaveLength(2);
    b.close();
  });

  it('says how to install ipvsadm when it is missing', async () => {
    const b = ipvsadmSessionBackend({ path: join(dir, 'no-such-ipvsadm') });
    await expect(b.save()).rejects.toThrow(`${join(dir, 'no-such-ipvsadm')} not found: install ipvsadm (apt-get install ipvsadm) or put it in PATH`);
    b.close();
  });
});

describe('ipvsadm, one process per call (the fallback)', () => {
  const once = join(dir, 'ipvsadm-once');
  writeFileSync(once, `#!/bin/sh
if [ "$1" = "-S" ]; then echo "-A -t 10.0.0.1:80 -s rr"; exit 0; fi
if [ "$1" = "-R" ]; then
  while IFS= read -r line; do case "$line" in *missing*) echo "No such destination" >&2 ;; esac; done
  exit 0
fi
echo "Can't initialize ipvs: Protocol not available" >&2; exit 2
`);
  chmodSync(once, 0o755);

  it('saves, restores, and counts stderr as failure even with exit 0', async () => {
    const { ipvsadmBackend } = await import('../../src/ipvs/ipvsadm.js');
    const b = ipvsadmBackend({ path: once });
    expect(await b.save()).toBe('-A -t 10.0.0.1:80 -s rr\n');
    await b.restore(['-a fine']);
    await expect(b.restore(['-d missing'])).rejects.toMatchObject({ stderr: 'No such destination', exitCode: 0 });
    await expect(ipvsadmBackend({ path: join(dir, 'nope') }).save()).rejects.toThrow('not found: install ipvsadm');
  });
});
