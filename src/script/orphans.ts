// Scripts left behind by a spawner that died. keepalived's scripts die with keepalived
// (PR_SET_PDEATHSIG, lib/notify.c:202-203); Node cannot set that, so the runner kills them.
// Usually it knows their pids (the spawner reported them). But the spawner can die after a
// script has exec'd and before the pid message left: Node's spawn() does its setup after the
// exec, so that window is a few ms (tens in a fresh process). For those jobs the spawner put
// HAKEEP_SCRIPT_ID=<spawner pid>.<job id> in the script's environment; the oldest process
// carrying the value is the script (its children inherit the value but start later).
import { readdir, readFile } from 'node:fs/promises';

export const SCRIPT_ID_VAR = 'HAKEEP_SCRIPT_ID';

/** SIGTERM the process group, SIGKILL it after the grace. */
export function killGroupLater(pid: number, graceMs: number): void {
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // gone
    }
  };
  kill('SIGTERM');
  setTimeout(() => kill('SIGKILL'), graceMs).unref();
}

/** The script process for each marker value that is still running (an async /proc scan). */
export async function findScripts(ids: readonly string[]): Promise<Map<string, number>> {
  const wanted = new Set(ids.map((id) => `${SCRIPT_ID_VAR}=${id}`));
  const best = new Map<string, { pid: number; start: number }>();
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return new Map();
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let env: string;
    let stat: string;
    try {
      env = await readFile(`/proc/${e}/environ`, 'latin1');
      if (!env.includes(SCRIPT_ID_VAR)) continue;
      stat = await readFile(`/proc/${e}/stat`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const hit = env.split('\0').find((v) => wanted.has(v));
    if (!hit) continue;
    // Field 22 (starttime), counted after the ")" that ends the command name.
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const id = hit.slice(SCRIPT_ID_VAR.length + 1);
    const cur = best.get(id);
    if (!cur || start < cur.start) best.set(id, { pid: Number(e), start });
  }
  return new Map([...best].map(([id, v]) => [id, v.pid]));
}
