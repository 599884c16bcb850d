// A daemon killed (SIGKILL) right after it forked its checker child, before the child's Node.js has
// loaded: the child must not outlive it. Found by bench/restart/startup-signal.sh in UML: the
// child lived on idle (no init ever comes), because the parent's death came before the child had
// a 'disconnect' listener, and PR_SET_PDEATHSIG was armed against the process that had adopted it.
// An intermediate process runs the real supervisor (compiled, check-build.ts), which forks the
// child; the intermediate then kills itself at once. Nothing here programs IPVS (no init arrives).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileChecker } from './check-build.js';
import type { CheckerBuild } from './check-build.js';
import { config, realServer, tcpCheck, virtualServer } from './ipvs-fixtures.js';

/** Live (not zombie) processes whose command line contains `text`. */
function running(text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)) out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

describe('checker child whose daemon dies while it starts', () => {
  let build: CheckerBuild;
  const dir = mkdtempSync(join(tmpdir(), 'hku-orphan-'));
  beforeAll(() => { build = compileChecker(); });
  afterAll(() => {
    for (const pid of build ? running(join(build.dist, 'check/child.js')) : []) process.kill(pid, 'SIGKILL');
    build?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits by itself within a few seconds', async () => {
    const childJs = join(build.dist, 'check/child.js');
    const parent = join(dir, 'parent.mjs');
    // The supervisor forks synchronously inside startSupervisedChecker; the "daemon" dies right then.
    writeFileSync(parent, `
      const { startSupervisedChecker } = await import(${JSON.stringify(join(build.dist, 'check/service.js'))});
      const log = { info() {}, warn() {}, error() {}, debug() {}, fatal() {}, child() { return log; } };
      const config = ${JSON.stringify(config([virtualServer('10.0.0.100', 80, { realServers: [realServer('127.0.0.1', 9, { checkers: [tcpCheck()] })] })]))};
      void startSupervisedChecker(config, { log }, { ipvsadmPath: '/nonexistent' }).catch(() => {});
      process.kill(process.pid, 'SIGKILL');
    `);
    const p = spawn(process.execPath, [parent], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    await new Promise((r) => p.on('exit', r));
    expect({ signal: p.signalCode, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    const orphans = running(childJs);
    expect(orphans.length).toBeLessThanOrEqual(1); // forked (or already gone)
    const end = Date.now() + 8000;
    while (running(childJs).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(running(childJs)).toEqual([]);
  });
});
