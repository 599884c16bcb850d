// Run a guest script in User Mode Linux (scripts/uml-run.sh) from a test or a benchmark, and read
// what it left in its result directory.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface UmlRunOptions {
  /** Guest script (sh), absolute or relative to the repository. */
  script: string;
  /** Where results go; a fresh temporary directory when omitted. */
  resultDir?: string;
  mem?: string;
  timeoutSec?: number;
  modules?: string;
  env?: Record<string, string>;
  /** Extra apt packages the guest needs (installed on the host when missing), e.g. keepalived. */
  packages?: string[];
}

export interface UmlRun {
  exitCode: number;
  resultDir: string;
  /** Guest console: kernel messages and the guest script's output. */
  console: string;
  /** What uml-run.sh itself printed (installation, timeouts). */
  runnerOutput: string;
}

export function runUmlGuest(o: UmlRunOptions): Promise<UmlRun> {
  const resultDir = o.resultDir ?? mkdtempSync(join(tmpdir(), 'hku-uml-'));
  const args: string[] = [];
  if (o.mem) args.push('--mem', o.mem);
  if (o.timeoutSec) args.push('--timeout', String(o.timeoutSec));
  if (o.modules) args.push('--modules', o.modules);
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`);
  args.push(resolve(REPO, o.script), resultDir);
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts/uml-run.sh'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, UML_EXTRA_PACKAGES: (o.packages ?? []).join(' ') },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const consolePath = join(resultDir, 'console.log');
      resolveRun({
        exitCode: code ?? -1,
        resultDir,
        console: existsSync(consolePath) ? readFileSync(consolePath, 'utf8') : '',
        runnerOutput: out,
      });
    });
  });
}

export interface GuestResult {
  name: string;
  ok: boolean;
  detail: unknown;
}

/** The assertions a guest scenario recorded in results.jsonl (see test/uml/guest/lib.mjs). */
export function readResults(resultDir: string): GuestResult[] {
  const p = join(resultDir, 'results.jsonl');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GuestResult);
}

/** The guest's own output without the kernel's boot chatter, for failure messages. */
export function guestOutput(run: UmlRun, maxLines = 150): string {
  const lines = run.console.split('\n').filter((l) => !/^\[\s*\d+\.\d+\]/.test(l) && !/^(IPVS|NET|bridge|Segment|In-situ)/.test(l));
  return [...lines.slice(-maxLines), run.runnerOutput].join('\n');
}
