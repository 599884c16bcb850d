// The script runner's public types (re-exported by runner.ts), kept apart so the spawner process
// and the runner share them without importing each other.

export type ScriptLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ScriptLog = (level: ScriptLogLevel, msg: string, fields: Record<string, unknown>) => void;

export interface ScriptJob {
  /** Ordering key: jobs with the same owner run one at a time, in submission order (e.g. 'vrrp:VI_1', 'rs:[10.0.0.2]:tcp:80'). Jobs of different owners run concurrently up to the pool limit. */
  owner: string;
  /** For logs and counters: 'notify', 'vrrp_script', 'misc_check', 'checker_notify', 'quorum' … */
  kind: string;
  /** Short name for log lines, e.g. the vrrp_script name or 'notify_master'. */
  name: string;
  /** The command as written in keepalived.conf (one string: program and arguments), split as keepalived splits it (split.ts). */
  command: string;
  /** Extra arguments appended after the split ones (keepalived's notify adds TYPE NAME STATE PRIORITY). */
  args?: string[];
  /** User to run as (name), null = the runner's default script user. Optional group as keepalived allows ("user USER [GROUP]"). */
  user?: { user: string; group?: string } | null;
  /** Kill the script's process group after this long (SIGTERM, then SIGKILL); must be > 0 and finite. */
  timeoutMs: number;
  /** Added to (and overriding) the inherited environment. */
  env?: Record<string, string>;
}

export interface ScriptResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** What the script printed (bounded: the last 4 KiB of each). */
  stdout: string;
  stderr: string;
  /** Set when the script could not be started at all (not found, not executable, refused by script security, unknown user), or its outcome was lost (spawner died). */
  error: string | null;
}

export interface KindStats {
  runs: number;
  failures: number;
  timeouts: number;
  refused: number;
}
