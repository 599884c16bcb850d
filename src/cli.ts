// hakeep's entry point: flags, config test/dump, and starting the daemon.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError, formatDiagnostic, loadConfig, type LoadResult } from './config/index.js';
import { HELP, parseArgs, UsageError, type CliOptions } from './cli-args.js';
import { createLogger, syslogDestination, type SyslogDestination } from './daemon/log.js';
import { runDaemon, type LoadedConfig, type RunOptions } from './daemon/run.js';
import type { Logger } from './daemon/log.js';
import type { Config } from './config/model.js';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_SETTINGS, DEFAULT_SETTINGS_FILE, readSettings, SettingsError, type Settings } from './daemon/settings.js';
import type { SignalAddon } from './daemon/signals.js';
import { readStatus, request } from './daemon/status.js';
import { normaliseStatus, STATUS_EXIT } from './daemon/status-format.js';
import { renderStatusTable } from './daemon/status-table.js';

/** keepalived's -t exit codes: 0 valid, 3 cannot run, 4 configuration errors. */
export const EXIT_OK = 0;
export const EXIT_CANNOT_RUN = 3;
export const EXIT_CONFIG_ERRORS = 4;

const CONFIG_CANDIDATES = ['/etc/hakeep/keepalived.conf', '/etc/keepalived/keepalived.conf'];

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function pickConfigFile(o: CliOptions): string {
  if (o.configFile) return o.configFile;
  return CONFIG_CANDIDATES.find((f) => existsSync(f)) ?? CONFIG_CANDIDATES[0]!;
}

function printDiagnostics(res: LoadResult): void {
  for (const d of res.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
}

/**
 * `hakeep status [--json]`: the daemon's document as a table, or as JSON; the exit code is the
 * document's health verdict (STATUS_EXIT: 0 healthy, 1 degraded, 2 critical, 3 no answer).
 */
async function statusCommand(path: string, json: boolean): Promise<number> {
  const text = await readStatus(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    process.stderr.write(`hakeep: the daemon's status on ${path} is not JSON: ${text.slice(0, 200)}\n`);
    return STATUS_EXIT.unknown;
  }
  // The daemon sends the normalised document; normalising again only re-assesses its health.
  const doc = normaliseStatus(raw, null);
  process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : renderStatusTable(doc));
  return doc.health.exitCode;
}

export async function main(argv: string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`hakeep: ${e.message}\n`);
      return EXIT_CANNOT_RUN;
    }
    throw e;
  }
  if (o.genhashArgs) {
    const { genhashMain } = await import('./check/genhash.js');
    return genhashMain(o.genhashArgs);
  }
  if (o.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (o.version) {
    process.stdout.write(`hakeep v${version()}\n`);
    return EXIT_OK;
  }

  if (o.signum !== null) {
    const { signalNumber } = await import('./daemon/signals.js');
    await loadSignalAddon();
    const n = signalNumber(o.signum, realtimeSignals());
    if (n === null) {
      process.stderr.write(`Unknown sigfunc ${o.signum}\n`);
      return 1;
    }
    process.stdout.write(`${n}\n`);
    return EXIT_OK;
  }

  if (o.statusCommand || o.rsCommand || o.planCommand) {
    let path = o.statusSocket;
    if (path === null) {
      try {
        path = readSettings(o.settingsFile ?? DEFAULT_SETTINGS_FILE, o.settingsFile !== null).statusSocket;
      } catch (e) {
        process.stderr.write(`hakeep: ${(e as Error).message}\n`);
        return EXIT_CANNOT_RUN;
      }
    }
    try {
      if (o.planCommand) {
        // The daemon reads the file itself (as root, with its own config id) and asks each side.
        const planFile = resolve(o.configFile ?? pickConfigFile(o));
        const answer = await request(path, `plan ${planFile}`, 30_000);
        let reply: { ok?: boolean; message?: string };
        try {
          reply = JSON.parse(answer) as typeof reply;
        } catch {
          reply = { ok: false, message: answer.trim() };
        }
        (reply.ok ? process.stdout : process.stderr).write(`${reply.message ?? 'no answer'}\n`);
        return reply.ok ? EXIT_OK : EXIT_CONFIG_ERRORS;
      }
      if (o.rsCommand) {
        const answer = await request(path, `rs ${o.rsCommand.action} ${o.rsCommand.vs} ${o.rsCommand.rs}`);
        let reply: { ok?: boolean; message?: string };
        try {
          reply = JSON.parse(answer) as typeof reply;
        } catch {
          reply = { ok: false, message: answer.trim() };
        }
        (reply.ok ? process.stdout : process.stderr).write(`hakeep: ${reply.message ?? 'no answer'}\n`);
        return reply.ok ? EXIT_OK : 1;
      }
      return await statusCommand(path, o.json);
    } catch (e) {
      process.stderr.write(`hakeep: ${(e as Error).message}\n`);
      return o.statusCommand ? STATUS_EXIT.unknown : EXIT_CANNOT_RUN;
    }
  }

  const file = pickConfigFile(o);
  let res: LoadResult;
  try {
    res = loadConfig(file, o.configId ? { configId: o.configId } : {});
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return o.configTest ? EXIT_CONFIG_ERRORS : EXIT_CANNOT_RUN;
    }
    throw e;
  }

  if (o.cleanupCommand) {
    if (res.errorCount > 0) {
      printDiagnostics(res);
      return EXIT_CONFIG_ERRORS;
    }
    let pidFile: string;
    try {
      pidFile = o.pidFile ?? readSettings(o.settingsFile ?? DEFAULT_SETTINGS_FILE, o.settingsFile !== null).pidFile;
    } catch (e) {
      process.stderr.write(`hakeep: ${(e as Error).message}\n`);
      return EXIT_CANNOT_RUN;
    }
    const { releaseConfiguredVips } = await import('./net/cleanup.js');
    return releaseConfiguredVips(res.config, pidFile, (line) => process.stderr.write(`${line}\n`));
  }

  // Scripts the config names: found, executable, and safe as keepalived's script security
  // sees them (file system reads only). Warnings, shown by -t and logged at start.
  if (!o.cleanupCommand && res.errorCount === 0) {
    const { scriptDiagnostics } = await import('./script/config-check.js');
    const { smtpServerDiagnostics } = await import('./alert/resolve.js');
    for (const d of [...await scriptDiagnostics(res.config), ...await smtpServerDiagnostics(res.config)]) {
      res.diagnostics.push(d);
      if (d.severity === 'warning') res.warningCount += 1;
    }
  }

  if (o.configTest || o.dumpConf) {
    printDiagnostics(res);
    if (o.dumpConf) process.stdout.write(`${JSON.stringify(res.config, null, 2)}\n`);
    if (o.configTest) {
      const summary = res.errorCount > 0
        ? `hakeep: ${file}: ${res.errorCount} error(s), ${res.warningCount} warning(s); fix the errors above`
        : `hakeep: ${file}: configuration OK${res.warningCount ? ` (${res.warningCount} warning(s))` : ''}`;
      process.stderr.write(`${summary}\n`);
    }
    return res.errorCount > 0 ? EXIT_CONFIG_ERRORS : EXIT_OK;
  }

  let settings: Settings;
  try {
    settings = readSettings(o.settingsFile ?? DEFAULT_SETTINGS_FILE, o.settingsFile !== null);
  } catch (e) {
    if (e instanceof SettingsError) {
      process.stderr.write(`hakeep: ${e.message}\n`);
      return EXIT_CANNOT_RUN;
    }
    throw e;
  }
  let syslog: SyslogDestination | null = null;
  let syslogError: string | null = null;
  if (settings.syslog) {
    try {
      syslog = syslogDestination(settings.syslog);
    } catch (e) {
      syslogError = (e as Error).message;
    }
  }
  const log = createLogger({
    level: o.logLevel ?? (o.logDetail ? 'debug' : settings.logLevel),
    format: o.logFormat ?? settings.logFormat,
    syslog,
    // Never log nowhere: without the syslog socket, stdout stays on.
    stdout: settings.logStdout || syslog === null,
  });
  if (syslogError) log.error({ syslog: settings.syslog }, `${syslogError}; logging to stdout only`);
  log.info({ file }, `Opening file '${file}'.`);
  for (const d of res.diagnostics) {
    const fields = { file: d.file, line: d.line };
    if (d.severity === 'error') log.error(fields, formatDiagnostic(d));
    else if (d.severity === 'warning') log.warn(fields, formatDiagnostic(d));
    else log.debug(fields, formatDiagnostic(d));
  }
  if (res.errorCount > 0) {
    log.fatal({ errors: res.errorCount }, `configuration has ${res.errorCount} error(s); not starting. Run hakeep -t -f ${file} to list them`);
    return EXIT_CONFIG_ERRORS;
  }
  if (o.ignored.length > 0) log.info({ flags: o.ignored }, `accepted keepalived flags with no effect in hakeep: ${o.ignored.join(' ')}`);

  // Loaded lazily so `-t` never needs raw sockets or the native addon.
  const [{ startVrrpService }, { startCheckerService }] = await Promise.all([
    import('./vrrp/service.js'),
    import('./check/service.js'),
  ]);
  const configId = o.configId;
  return runDaemon({
    config: res.config,
    loadConfig: (path) => loadChecked(path ?? file, configId),
    log,
    version: version(),
    vrrp: !o.checkOnly,
    check: !o.vrrpOnly,
    pidFile: o.pidFile ?? settings.pidFile,
    statusSocket: (o.statusSocket ?? settings.statusSocket) || null,
    startVrrp: startVrrpService,
    startCheck: startCheckerService,
    ...(await systemdFor(log)),
    signalAddon: await loadSignalAddon(),
    dontReleaseIpvs: o.dontReleaseIpvs,
    drainFile: join(stateDirOf(settings, o), 'drained.json'),
    stateDir: stateDirOf(settings, o),
    notifyTimeoutMs: settings.notifyTimeoutSec * 1000,
    metricsListen: settings.metricsListen,
  });
}

/** Where state kept across restarts goes: [daemon] state_dir, else the status socket's directory. */
function stateDirOf(settings: Settings, o: CliOptions): string {
  if (settings.stateDir) return settings.stateDir;
  const sock = (o.statusSocket ?? settings.statusSocket) || DEFAULT_SETTINGS.statusSocket;
  return dirname(sock);
}

/** Load and check a configuration for a reload or a plan: the same checks as at start. */
async function loadChecked(path: string, configId: string | null): Promise<LoadedConfig> {
  let res: LoadResult;
  // An empty file is a half-written one (an editor or a deploy tool mid-write), not a request to
  // drop every instance: a reload to it is refused.
  try {
    if (statSync(path).size === 0) return { config: null as unknown as Config, problems: [`${path}: the file is empty (half written?); not reloading to it`], errorCount: 1 };
  } catch { /* loadConfig reports a missing file */ }
  try {
    res = loadConfig(path, configId ? { configId } : {});
  } catch (e) {
    return { config: null as unknown as Config, problems: [(e as Error).message], errorCount: 1 };
  }
  if (res.errorCount === 0) {
    const { scriptDiagnostics } = await import('./script/config-check.js');
    res.diagnostics.push(...await scriptDiagnostics(res.config));
  }
  const order = (d: { severity: string }): number => (d.severity === 'error' ? 0 : 1);
  const problems = res.diagnostics.filter((d) => d.severity !== 'note').sort((a, b) => order(a) - order(b)).map(formatDiagnostic);
  return { config: res.config, problems, errorCount: res.errorCount };
}

/** SIGRTMIN/SIGRTMAX as the C library defines them (glibc: 34/64), from the addon when built. */
function realtimeSignals(): { SIGRTMIN: number; SIGRTMAX: number } {
  try {
    return loadedAddon?.signalNumbers() ?? { SIGRTMIN: 34, SIGRTMAX: 64 };
  } catch {
    return { SIGRTMIN: 34, SIGRTMAX: 64 };
  }
}

let loadedAddon: SignalAddon | null = null;

async function loadSignalAddon(): Promise<SignalAddon | null> {
  try {
    const { native } = await import('./net/native.js');
    const a = native();
    loadedAddon = typeof a.signalWatch === 'function' ? a : null;
  } catch {
    loadedAddon = null;
  }
  return loadedAddon;
}

/** Under systemd (Type=notify, $NOTIFY_SOCKET set): READY/RELOADING/STOPPING/STATUS and the
 * watchdog, driven by runDaemon (src/daemon/systemd.ts). The variables are removed from the
 * environment once read, so the checker child and scripts never notify systemd themselves. */
async function systemdFor(log: Logger): Promise<{ systemd?: NonNullable<RunOptions['systemd']> }> {
  if (!process.env.NOTIFY_SOCKET) return {};
  const { Systemd, systemdLifecycle } = await import('./daemon/systemd.js');
  const sd = new Systemd({ log });
  return { systemd: (src) => systemdLifecycle(sd, src, log) };
}
