// The spawner: a small Node process, forked once by a ScriptRunner in 'spawner' mode, that does
// all the fork/exec work so the daemon's (large, timing-critical) process never does. fork() of a
// process copies its page tables, which costs time proportional to its memory; this process is
// small, and its event loop blocking on a fork delays nobody's adverts.
//
// IPC: child_process.fork's channel rather than JSON lines on stdin/stdout. It frames messages,
// reports the parent's death as 'disconnect' (our PR_SET_PDEATHSIG: keepalived makes scripts
// die with it, lib/notify.c:202-203), and leaves stderr free for this process's own crash output.
import { Executor, type ExecEvents } from './executor.js';
import type { FromSpawner, LineRecord, ToSpawner } from './protocol.js';

if (!process.send) {
  process.stderr.write('hakeep script spawner: must be started by the script runner (fork with an IPC channel)\n');
  process.exit(2);
}

const send = (m: FromSpawner): void => {
  try {
    process.send?.(m);
  } catch {
    // Channel gone: 'disconnect' ends this process.
  }
};

// Output lines are sent in one message per loop turn, not one message each.
let lines: LineRecord[] = [];
let flushScheduled = false;
const flush = (): void => {
  flushScheduled = false;
  if (lines.length === 0) return;
  send({ t: 'lines', lines });
  lines = [];
};

const events: ExecEvents = {
  started: (id, pid) => send({ t: 'started', id, pid }),
  line: (id, stream, text) => {
    lines.push([id, stream === 'stdout' ? 0 : 1, text]);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  },
  log: (level, msg, fields, once) => send({ t: 'log', level, msg, fields, ...(once ? { once } : {}) }),
  done: (id, outcome) => {
    flush();
    send({ t: 'done', id, outcome });
  },
};

let executor: Executor | null = null;
let closing = false;

async function shutdown(reply: boolean): Promise<void> {
  if (closing) return;
  closing = true;
  await executor?.close();
  flush();
  const exit = (): never => process.exit(0);
  if (!reply || !process.connected) exit();
  // The callback runs once 'closed' (and so every message before it) is written; exit then,
  // even if a script's pipe is still open.
  try {
    process.send!({ t: 'closed' } satisfies FromSpawner, undefined, {}, () => {
      process.disconnect?.();
      setTimeout(exit, 20);
    });
  } catch {
    exit();
  }
  setTimeout(exit, 1000).unref();
}

process.on('message', (m: ToSpawner) => {
  switch (m.t) {
    case 'init':
      executor = new Executor({ ...m.cfg, scriptIdPrefix: `${process.pid}.` }, events);
      send({ t: 'ready' });
      break;
    case 'run':
      if (executor && !closing) executor.run(m.req);
      else events.done(m.req.id, { result: { exitCode: null, signal: null, timedOut: false, durationMs: 0, stdout: '', stderr: '', error: 'script spawner is not ready or closing' }, refused: true, droppedLines: 0 });
      break;
    case 'close':
      void shutdown(true);
      break;
  }
});

// The daemon exited or crashed: take the running scripts down with it.
process.on('disconnect', () => void shutdown(false));

// Stopping is the daemon's decision (over IPC): a terminal's Ctrl-C or systemd's SIGTERM to the
// whole control group must not take the spawner away while the daemon still runs its shutdown
// scripts (notify_stop).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => {});
