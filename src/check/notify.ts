// notify_up / notify_down / quorum_up / quorum_down on the checker side, through the shared script
// runner (src/script/): keepalived's argument splitting and users (script_user, keepalived_script,
// root with a warning), script security, a timeout that kills the process group, output captured
// into the log, a bounded pool, and per-owner ordering: the scripts of one real server (or one
// virtual server's quorum) run one at a time, in the order of the transitions.
import type { NotifyCmd } from '../config/model.js';
import type { ScriptRunner as Runner } from '../script/runner.js';
import { parseUserSpec } from '../script/users.js';

export type ScriptLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
/** `owner`: what orders the scripts (a real server's or virtual server's name). */
export type ScriptRunner = (cmd: NotifyCmd, what: string, log: ScriptLog, owner?: string) => void;

/** keepalived has no timeout for these; one hung script must not hold its server's later ones. */
export const CHECKER_NOTIFY_TIMEOUT_MS = 30_000;

/** The engine's script hook on top of a ScriptRunner. Never throws; failures are logged by the runner. */
export function runnerNotify(runner: Pick<Runner, 'run'>, timeoutMs = CHECKER_NOTIFY_TIMEOUT_MS): ScriptRunner {
  return (cmd, what, log, owner) => {
    const user = cmd.user ? parseUserSpec(cmd.user) : null;
    if (cmd.user && !user) {
      log('warn', `${what} script "${cmd.command}": cannot read user "${cmd.user}"; not run`, { script: cmd.command });
      return;
    }
    void runner.run({
      owner: `checker:${owner ?? what}`,
      kind: 'checker_notify',
      name: what,
      command: cmd.command,
      user,
      timeoutMs,
    });
  };
}
