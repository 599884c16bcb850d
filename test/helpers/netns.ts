// A small network lab for integration tests: one "switch" namespace holding a bridge, and one
// namespace per host wired to it with a veth pair (eth0 inside the host). Everything created here
// is named with the caller's prefix and removed by destroy(), also after a failed test.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface LabHost {
  name: string;
  ns: string;
  ip: string;
  mac: string;
  /** Run a command inside the host namespace and wait for it (never throws on exit code). */
  exec(argv: string[], timeoutMs?: number): Promise<ExecResult>;
  /** Start a long-running process inside the host namespace; the caller kills it by PID. */
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
}

export interface Lab {
  prefix: string;
  subnet: string;
  hosts: Record<string, LabHost>;
  /** Kill what was spawned through the lab and delete every namespace it created. */
  destroy(): Promise<void>;
}

/** Throw a clear error when the test cannot run here (not root, no iproute2). */
export async function requireNetnsSupport(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('network-namespace tests need root (run the test command as root)');
  }
  try {
    await run('ip', ['-V']);
  } catch {
    throw new Error('`ip` (iproute2) is missing: apt-get install -y iproute2');
  }
}

export async function sh(argv: string[], timeoutMs = 20_000): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run(argv[0]!, argv.slice(1), { timeout: timeoutMs });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string };
    return {
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? String(e),
      code: typeof err.code === 'number' ? err.code : 1,
    };
  }
}

async function must(argv: string[]): Promise<string> {
  const r = await sh(argv);
  if (r.code !== 0) throw new Error(`lab setup failed: ${argv.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Build a lab. `subnet` is the first three octets of a /24 used only inside the lab's namespaces;
 * host i gets subnet.(10+i).
 */
export async function createLab(prefix: string, hostNames: string[], subnet = '10.231.1'): Promise<Lab> {
  await requireNetnsSupport();
  const sw = `${prefix}-sw`;
  const spawned: ChildProcess[] = [];
  const namespaces = [sw, ...hostNames.map((h) => `${prefix}-${h}`)];
  // Leftovers from an interrupted earlier run would make `ip netns add` fail.
  for (const ns of namespaces) await sh(['ip', 'netns', 'del', ns]);

  const lab: Lab = {
    prefix,
    subnet,
    hosts: {},
    async destroy() {
      for (const p of spawned) {
        if (p.exitCode === null && p.signalCode === null && p.pid) {
          try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
        }
      }
      for (const ns of namespaces) await sh(['ip', 'netns', 'del', ns]);
    },
  };
  try {
    await must(['ip', 'netns', 'add', sw]);
    await must(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await must(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    await must(['ip', '-n', sw, 'link', 'set', 'lo', 'up']);
    for (const [i, name] of hostNames.entries()) {
      const ns = `${prefix}-${name}`;
      const ip = `${subnet}.${10 + i}`;
      const swSide = `p${i}`;
      await must(['ip', 'netns', 'add', ns]);
      await must(['ip', '-n', sw, 'link', 'add', swSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await must(['ip', '-n', sw, 'link', 'set', swSide, 'master', 'br0', 'up']);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      const link = await must(['ip', '-n', ns, '-o', 'link', 'show', 'eth0']);
      const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1] ?? '';
      lab.hosts[name] = {
        name,
        ns,
        ip,
        mac,
        exec: (argv, timeoutMs) => sh(['ip', 'netns', 'exec', ns, ...argv], timeoutMs),
        spawn: (argv, opts) => {
          const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'pipe', ...opts });
          spawned.push(child);
          return child;
        },
      };
    }
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/** Poll `fn` until it returns true or `timeoutMs` passes; returns the elapsed ms or throws. */
export async function waitFor(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
