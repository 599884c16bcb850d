// Trackers: vrrp_script, track_interface, track_file and vrrp_track_process, started from a
// Config and reporting to a sink (types.ts TrackerSink), never to instance runtimes directly.
//
// Wiring (the VRRP service): call startTrackers() after the instance runtimes exist and BEFORE
// they start, with a sink that forwards to each runtime's setTrackWeight(key, weight) and
// setFault/clearFault(source, subject, detail): the state known at start (interfaces, files,
// processes, init_fail scripts, weight-0 scripts waiting for their first result) is published
// synchronously inside startTrackers, so an instance starts in FAULT when it has to
// ("Entering FAULT STATE (init)"). Sync-group trackers are already expanded to every member.
import type { Config } from '../../config/model.js';
import type { Logger } from '../../daemon/log.js';
import { native } from '../../net/native.js';
import { FileTracker } from './file.js';
import { InterfaceTracker, type LinkView } from './interface.js';
import { planTrackers, type TrackerPlan } from './plan.js';
import { ProcessTracker, type ProcEventsOpen } from './process.js';
import { ScriptTracker, type ScriptRunnerLike } from './script.js';
import { realTimers, type TrackerContext, type TrackerSink, type TrackerStatus, type TrackerTimers } from './types.js';

export type { TrackerSink, TrackerStatus, TrackerTimers, Binding, TrackerBindingStatus } from './types.js';
export type { ScriptRunnerLike } from './script.js';
export type { LinkView } from './interface.js';
export type { ProcEventsOpen } from './process.js';
export { planTrackers, type TrackerPlan } from './plan.js';
export { effectOf } from './types.js';
export { fileEffect, parseTrackFileValue } from './file.js';
export { processMatches } from './process-match.js';
export { SCRIPT_INIT_DETAIL } from './script.js';

export interface TrackerDeps {
  sink: TrackerSink;
  log: Logger;
  /** The shared script runner (src/script/runner.ts ScriptRunner). */
  runner: ScriptRunnerLike;
  /** The kernel event feed (src/net/kernel-events.ts KernelEventFeed). */
  kernel: LinkView;
  /** Monotonic ms; default performance.now. */
  clock?: () => number;
  timers?: TrackerTimers;
  /**
   * The process events connector; default: the native addon's procEvents. null = do not use it
   * (scan /proc periodically).
   */
  procEvents?: ProcEventsOpen | null;
  /** /proc scan period when the connector is unavailable (ms, default 2000). */
  processPollMs?: number;
  /** A reload: init_file does not overwrite existing files. */
  reload?: boolean;
  /** A reload: the previous trackers' status; scripts with the same name start from it. */
  previous?: TrackerStatus | null;
}

export interface Trackers {
  /** Stop every tracker and take back what they published (weights 0, faults cleared). Scripts
   * still running finish in the runner (closing the runner kills them). */
  stop(): Promise<void>;
  status(): TrackerStatus;
  /** Who tracks what (for status and tests). */
  readonly plan: TrackerPlan;
}

function defaultProcEvents(): { open: ProcEventsOpen | null; why: string } {
  try {
    const a = native();
    if (typeof a.procEvents === 'function') return { open: a.procEvents.bind(a), why: '' };
    return { open: null, why: 'the native addon is older than this hakeep (no procEvents): run npm install again' };
  } catch (e) {
    return { open: null, why: `the native addon is not available: ${(e as Error).message}` };
  }
}

export function startTrackers(config: Config, deps: TrackerDeps): Trackers {
  const ctx: TrackerContext = {
    sink: deps.sink,
    log: deps.log,
    clock: deps.clock ?? (() => performance.now()),
    timers: deps.timers ?? realTimers,
  };
  const plan = planTrackers(config);
  const own = new Set(config.vrrpInstances.map((i) => i.interface));

  const interfaces = new InterfaceTracker(plan.interfaces, ctx, deps.kernel, own);
  const files = plan.files.map((f) => new FileTracker(f.def, f.bindings, ctx, { reload: deps.reload ?? false }));
  let procOpen: ProcEventsOpen | null = null;
  let why = 'disabled';
  if (plan.processes.length > 0) {
    if (deps.procEvents === undefined) ({ open: procOpen, why } = defaultProcEvents());
    else procOpen = deps.procEvents;
  }
  const processes = new ProcessTracker(plan.processes, ctx, {
    procEvents: procOpen, noConnectorReason: why, ...(deps.processPollMs !== undefined ? { pollMs: deps.processPollMs } : {}),
  });
  const seedOf = (name: string): { up: boolean } | null => {
    const st = deps.previous?.scripts.find((x) => x.name === name)?.state;
    return st === 'ok' ? { up: true } : st === 'failed' ? { up: false } : null;
  };
  const scripts = plan.scripts.map((s) => new ScriptTracker(s.def, s.bindings, ctx, deps.runner, seedOf(s.def.name)));

  // State that is known now first; scripts last (their first run only queues a job).
  interfaces.start();
  for (const f of files) f.start();
  processes.start();
  for (const s of scripts) s.start();

  let stopped = false;
  return {
    plan,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const s of scripts) s.stop();
      processes.stop();
      for (const f of files) f.stop();
      interfaces.stop();
    },
    status(): TrackerStatus {
      return {
        scripts: scripts.map((s) => s.status()),
        interfaces: interfaces.status(),
        files: files.map((f) => f.status()),
        processes: processes.status(),
        processSource: plan.processes.length > 0 ? processes.mode : null,
      };
    },
  };
}
