// The kernel side of IPVS, through the ipvsadm tool: read the table with `ipvsadm -S -n`, change
// it with one `ipvsadm -R` batch on stdin. ipvsadm -R keeps going after a failed line and may still
// exit 0, so anything on stderr counts as a failure.
import { spawn } from 'node:child_process';

export interface IpvsBackend {
  /** The table in `ipvsadm -S -n` format. Throws IpvsadmError. */
  save(): Promise<string>;
  /** Apply command lines (ipvsadm -R syntax). Throws IpvsadmError. */
  restore(lines: readonly string[]): Promise<void>;
  /** Release long-lived resources (a running ipvsadm) once the reconciler is done. */
  close?(): void;
  /**
   * A cheap value that changes whenever the table changes (null = cannot tell). Lets the periodic
   * re-read skip `ipvsadm -S -n` while nothing changed.
   */
  fingerprint?(): Promise<string | null>;
}

export class IpvsadmError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'IpvsadmError';
  }
}

export interface IpvsadmOptions {
  /** Path or name of the ipvsadm binary. */
  path?: string;
  /** Kill ipvsadm when it takes longer than this (ms). */
  timeoutMs?: number;
}

interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

function run(path: string, args: string[], input: string | null, timeoutMs: number): Promise<RunResult> {
  const command = [path, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let done = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new IpvsadmError(command, '', null, `${command} did not finish within ${timeoutMs} ms; killed it`));
    }, timeoutMs);
    const finish = (e: Error | null, r?: RunResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(r!);
    };
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ENOENT'
        ? `${path} not found: install ipvsadm (apt-get install ipvsadm) or put it in PATH`
        : `cannot run ${command}: ${e.message}`;
      finish(new IpvsadmError(command, '', null, msg));
    });
    child.on('close', (code) => {
      finish(null, { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
    if (input !== null) {
      // A dead ipvsadm closes its stdin early; the close handler reports why.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

export function ipvsadmBackend(opts: IpvsadmOptions = {}): IpvsBackend {
  const path = opts.path ?? 'ipvsadm';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    async save() {
      const r = await run(path, ['-S', '-n'], null, timeoutMs);
      if (r.code !== 0) {
        const command = `${path} -S -n`;
        throw new IpvsadmError(command, r.stderr.trim(), r.code, `${command} failed (exit ${r.code}): ${r.stderr.trim()}`);
      }
      return r.stdout;
    },
    async restore(lines) {
      const r = await run(path, ['-R'], lines.join('\n') + '\n', timeoutMs);
      const stderr = r.stderr.trim();
      if (r.code !== 0 || stderr !== '') {
        const command = `${path} -R`;
        throw new IpvsadmError(command, stderr, r.code, `${command} failed (exit ${r.code}): ${stderr}`);
      }
    },
  };
}
