// The composition root: start the VRRP and checker halves from a validated Config, write the pid
// file, tell systemd we are ready, and stop everything in order on TERM/INT.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/model.js';
import type { Logger } from './log.js';
import type { RunningService, StartService } from './service.js';
import { closeStatus, serveStatus } from './status.js';

export interface RunOptions {
  config: Config;
  log: Logger;
  version: string;
  vrrp: boolean;
  check: boolean;
  pidFile: string | null;
  /** Unix socket answering with the status JSON; null = none. */
  statusSocket: string | null;
  startVrrp: StartService;
  startCheck: StartService;
  /** Called once the services run (sd_notify READY=1 in production). */
  onReady?: () => void;
}

/** Resolves with the exit code once the daemon has stopped. */
export async function runDaemon(o: RunOptions): Promise<number> {
  const { log } = o;
  log.info({ event: 'start', version: o.version }, `Starting hakeep v${o.version}`);
  writePid(o.pidFile, log);

  const services: RunningService[] = [];
  const startedAt = new Date().toISOString();
  let statusServer: Awaited<ReturnType<typeof serveStatus>> = null;
  let stopping: Promise<number> | null = null;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });

  const stop = (why: string): Promise<number> => {
    if (stopping) return stopping;
    log.info({ event: 'stop', reason: why }, 'Stopping');
    stopping = (async () => {
      let code = 0;
      // Both halves stop at once: VRRP hands over to the backup while IPVS is cleaned up.
      const results = await Promise.allSettled(services.map((s) => s.stop()));
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') {
          code = 1;
          log.error({ service: services[i]!.name, err: String(r.reason) }, `error while stopping the ${services[i]!.name} side: ${String(r.reason)}`);
        }
      }
      closeStatus(statusServer, o.statusSocket ?? '');
      removePid(o.pidFile);
      log.info({ event: 'stopped' }, `Stopped hakeep v${o.version}`);
      resolveDone(code);
      return code;
    })();
    return stopping;
  };

  // A daemon with idle halves still runs until told to stop: hold the event loop open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  void done.then(() => clearInterval(keepAlive));

  const onSignal = (sig: NodeJS.Signals): void => { void stop(sig); };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    log.warn({ event: 'reload' }, 'Reloading is not implemented yet: SIGHUP ignored, the running configuration stays');
  });

  try {
    if (o.vrrp) {
      if (o.config.vrrpInstances.length === 0) log.info('no vrrp_instance in the configuration: VRRP side idle');
      else services.push(await o.startVrrp(o.config, { log: log.child({ proc: 'vrrp' }) }));
    }
    if (o.check) {
      if (o.config.virtualServers.length === 0) log.info('no virtual_server in the configuration: checker side idle');
      else services.push(await o.startCheck(o.config, { log: log.child({ proc: 'check' }) }));
    }
  } catch (e) {
    log.fatal({ err: String(e) }, `cannot start: ${e instanceof Error ? e.message : String(e)}`);
    await stop('start failure');
    return 3;
  }
  if (stopping) return done;
  if (o.statusSocket) {
    statusServer = await serveStatus(o.statusSocket, () => ({
      version: o.version, pid: process.pid, startedAt, configFile: o.config.file,
      services: Object.fromEntries(services.map((s) => [s.name, s.status()])),
    }), log);
  }
  o.onReady?.();
  const code = await done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}

function writePid(path: string | null, log: Logger): void {
  if (!path) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${process.pid}\n`);
  } catch (e) {
    // A pid file is a convenience; failing to write it must not stop VRRP.
    log.warn({ pidFile: path }, `cannot write pid file ${path}: ${(e as Error).message}`);
  }
}

function removePid(path: string | null): void {
  if (!path) return;
  try { unlinkSync(path); } catch { /* already gone */ }
}
