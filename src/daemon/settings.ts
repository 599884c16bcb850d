// hakeep's own daemon settings (not keepalived.conf): /etc/hakeep/hakeep.ini, read with `ini`.
// Command-line flags override what the file says; the file overrides the built-in defaults.
import { readFileSync } from 'node:fs';
import { parse } from 'ini';
import type { LogFormat, LogLevel } from './log.js';

export interface Settings {
  logLevel: LogLevel;
  logFormat: LogFormat;
  pidFile: string;
  statusSocket: string;
  /** Runtime state kept across restarts (drains, IPVS services hakeep owns); default: the
   * status socket's directory, /run/hakeep, so two daemons with their own sockets never share it. */
  stateDir: string | null;
  metricsListen: string | null;
  /** [log] syslog: the syslog socket to send every log line to (`yes` = /dev/log); null = off. */
  syslog: string | null;
  /** [log] stdout: false = log to syslog only (needs [log] syslog). */
  logStdout: boolean;
  /** [notify] timeout: seconds a VRRP notify script may run before its process group is killed
   * (keepalived has none; one hung script would hold every later notification of its instance). */
  notifyTimeoutSec: number;
}

export const DEFAULT_SETTINGS_FILE = '/etc/hakeep/hakeep.ini';

export const DEFAULT_SETTINGS: Settings = {
  logLevel: 'info',
  logFormat: 'json',
  pidFile: '/run/hakeep.pid',
  statusSocket: '/run/hakeep/status.sock',
  stateDir: null,
  metricsListen: null,
  syslog: null,
  logStdout: true,
  notifyTimeoutSec: 30,
};

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const FORMATS: readonly LogFormat[] = ['json', 'text'];

export class SettingsError extends Error {}

/**
 * Read the settings file. A missing file at the default path is fine (defaults apply); a missing
 * file the user named explicitly, or a bad value, is an error that says where and what to do.
 */
export function readSettings(path: string, explicit: boolean): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_SETTINGS };
    throw new SettingsError(`${path}: cannot read settings file: ${(e as Error).message}`);
  }
  return settingsFromIni(text, path);
}

export function settingsFromIni(text: string, path = 'hakeep.ini'): Settings {
  const doc = parse(text) as Record<string, Record<string, unknown> | undefined>;
  const s = { ...DEFAULT_SETTINGS };
  const str = (section: string, key: string): string | undefined => {
    const v = doc[section]?.[key];
    return v === undefined || v === null ? undefined : String(v);
  };
  const level = str('log', 'level');
  if (level !== undefined) {
    if (!LEVELS.includes(level as LogLevel)) throw new SettingsError(`${path}: [log] level = ${level} is not one of ${LEVELS.join(', ')}`);
    s.logLevel = level as LogLevel;
  }
  const format = str('log', 'format');
  if (format !== undefined) {
    if (!FORMATS.includes(format as LogFormat)) throw new SettingsError(`${path}: [log] format = ${format} is not json or text`);
    s.logFormat = format as LogFormat;
  }
  s.pidFile = str('daemon', 'pid_file') ?? s.pidFile;
  s.statusSocket = str('daemon', 'status_socket') ?? s.statusSocket;
  s.stateDir = str('daemon', 'state_dir') ?? s.stateDir;
  const nt = str('notify', 'timeout');
  if (nt !== undefined) {
    const n = Number(nt);
    if (!(n > 0 && n <= 3600)) throw new SettingsError(`${path}: [notify] timeout = ${nt} is not a number of seconds between 0 and 3600`);
    s.notifyTimeoutSec = n;
  }
  const yesNo = (section: string, key: string): boolean | undefined => {
    const v = str(section, key);
    if (v === undefined) return undefined;
    if (['yes', 'true', 'on', '1'].includes(v.toLowerCase())) return true;
    if (['no', 'false', 'off', '0'].includes(v.toLowerCase())) return false;
    throw new SettingsError(`${path}: [${section}] ${key} = ${v}: use yes or no`);
  };
  const syslog = str('log', 'syslog');
  if (syslog !== undefined) {
    const onOff = ['yes', 'true', 'on', 'no', 'false', 'off', ''].includes(syslog.toLowerCase());
    if (!onOff && !syslog.startsWith('/')) throw new SettingsError(`${path}: [log] syslog = ${syslog}: use yes (/dev/log), no, or the absolute path of the syslog socket`);
    s.syslog = onOff ? (['yes', 'true', 'on'].includes(syslog.toLowerCase()) ? '/dev/log' : null) : syslog;
  }
  s.logStdout = yesNo('log', 'stdout') ?? s.logStdout;
  if (!s.logStdout && s.syslog === null) throw new SettingsError(`${path}: [log] stdout = no needs [log] syslog = yes (or a socket path): otherwise hakeep would log nowhere`);
  const metrics = str('metrics', 'listen');
  if (metrics !== undefined) s.metricsListen = metrics === '' ? null : metrics;
  return s;
}
