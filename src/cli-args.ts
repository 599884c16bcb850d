// Command-line parsing. keepalived's flags are accepted as operators type them today (short and
// long forms, `-fFILE`, `--use-file=FILE`, `-t` with an optional file), plus hakeep's own.
import type { LogFormat, LogLevel } from './daemon/log.js';

export interface CliOptions {
  configFile: string | null;
  configTest: boolean;
  dumpConf: boolean;
  version: boolean;
  help: boolean;
  vrrpOnly: boolean;
  checkOnly: boolean;
  configId: string | null;
  pidFile: string | null;
  settingsFile: string | null;
  statusSocket: string | null;
  /** `hakeep status`: print the running daemon's status (a table; JSON with --json). */
  statusCommand: boolean;
  /** `hakeep status --json`: the versioned status document (src/daemon/status-format.ts). */
  json: boolean;
  /** `hakeep genhash …`: the arguments after the word (keepalived's genhash options). */
  genhashArgs?: string[] | null;
  /** `hakeep cleanup`: remove the VIPs of the config's instances (ExecStopPost after a crash). */
  cleanupCommand: boolean;
  /** --signum=NAME: print keepalived's signal number for NAME and exit. */
  signum: string | null;
  /** `hakeep plan [-f FILE]`: what a reload to FILE would do, asked of the running daemon. */
  planCommand: boolean;
  /** `hakeep rs drain|enable VS RS`: a runtime command for the running daemon. */
  rsCommand: { action: 'drain' | 'enable'; vs: string; rs: string } | null;
  /** -I/--dont-release-ipvs: leave the IPVS table as it is on stop (keepalived's -I). */
  dontReleaseIpvs: boolean;
  logFormat: LogFormat | null;
  logLevel: LogLevel | null;
  logDetail: boolean;
  /** keepalived flags accepted for compatibility that change nothing (yet); reported at start. */
  ignored: string[];
}

export class UsageError extends Error {}

interface FlagDef {
  short?: string;
  long: string;
  /** 'none' = boolean, 'required' = needs a value, 'optional' = `-tFILE`/`--config-test=FILE` only */
  value: 'none' | 'required' | 'optional';
  apply: (o: CliOptions, v: string | undefined) => void;
}

const ignore = (flag: string) => (o: CliOptions) => { o.ignored.push(flag); };

const FLAGS: FlagDef[] = [
  { short: 'f', long: 'use-file', value: 'required', apply: (o, v) => { o.configFile = v!; } },
  { short: 't', long: 'config-test', value: 'optional', apply: (o, v) => { o.configTest = true; if (v) o.configFile = v; } },
  { short: 'd', long: 'dump-conf', value: 'none', apply: (o) => { o.dumpConf = true; } },
  { short: 'v', long: 'version', value: 'none', apply: (o) => { o.version = true; } },
  { short: 'h', long: 'help', value: 'none', apply: (o) => { o.help = true; } },
  { short: 'P', long: 'vrrp', value: 'none', apply: (o) => { o.vrrpOnly = true; } },
  { short: 'C', long: 'check', value: 'none', apply: (o) => { o.checkOnly = true; } },
  { short: 'i', long: 'config-id', value: 'required', apply: (o, v) => { o.configId = v!; } },
  { short: 'p', long: 'pid', value: 'required', apply: (o, v) => { o.pidFile = v!; } },
  { short: 'D', long: 'log-detail', value: 'none', apply: (o) => { o.logDetail = true; } },
  // hakeep always stays in the foreground (systemd supervises it); -n is what keepalived users type.
  { short: 'n', long: 'dont-fork', value: 'none', apply: () => {} },
  { short: 'l', long: 'log-console', value: 'none', apply: () => {} },
  { long: 'log-format', value: 'required', apply: (o, v) => {
    if (v !== 'json' && v !== 'text') throw new UsageError(`--log-format ${v}: use json or text`);
    o.logFormat = v;
  } },
  { long: 'log-level', value: 'required', apply: (o, v) => {
    const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
    if (!levels.includes(v!)) throw new UsageError(`--log-level ${v}: use one of ${levels.join(', ')}`);
    o.logLevel = v as LogLevel;
  } },
  { long: 'settings', value: 'required', apply: (o, v) => { o.settingsFile = v!; } },
  { long: 'status-socket', value: 'required', apply: (o, v) => { o.statusSocket = v!; } },
  { long: 'json', value: 'none', apply: (o) => { o.json = true; } },
  { long: 'signum', value: 'required', apply: (o, v) => { o.signum = v!; } },
  // Accepted keepalived flags whose behaviour hakeep does not have (or does not need).
  { short: 'S', long: 'log-facility', value: 'required', apply: ignore('-S') },
  { short: 'G', long: 'no-syslog', value: 'none', apply: ignore('-G') },
  { short: 'g', long: 'log-file', value: 'optional', apply: ignore('-g') },
  { short: 'r', long: 'vrrp_pid', value: 'required', apply: ignore('-r') },
  { short: 'c', long: 'checkers_pid', value: 'required', apply: ignore('-c') },
  { short: 'X', long: 'release-vips', value: 'none', apply: ignore('-X') },
  { short: 'V', long: 'dont-release-vrrp', value: 'none', apply: ignore('-V') },
  { short: 'I', long: 'dont-release-ipvs', value: 'none', apply: (o) => { o.dontReleaseIpvs = true; } },
  { short: 'R', long: 'dont-respawn', value: 'none', apply: ignore('-R') },
  { short: 's', long: 'namespace', value: 'required', apply: ignore('-s') },
  { short: 'B', long: 'no-bfd', value: 'none', apply: ignore('-B') },
];

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = {
    configFile: null, configTest: false, dumpConf: false, version: false, help: false, vrrpOnly: false,
    checkOnly: false, configId: null, pidFile: null, settingsFile: null, statusSocket: null, statusCommand: false, json: false, cleanupCommand: false, signum: null, rsCommand: null, planCommand: false, dontReleaseIpvs: false, logFormat: null, logLevel: null,
    logDetail: false, ignored: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const def = FLAGS.find((f) => f.long === name);
      if (!def) throw new UsageError(`unknown option --${name} (hakeep --help lists the options)`);
      let v: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (def.value === 'required' && v === undefined) {
        v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
      }
      if (def.value === 'none' && v !== undefined) throw new UsageError(`--${name} takes no value`);
      def.apply(o, v);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // Bundled short flags (`-nlD`), and values attached (`-fFILE`) or separate (`-f FILE`).
      for (let j = 1; j < a.length; j++) {
        const ch = a[j]!;
        const def = FLAGS.find((f) => f.short === ch);
        if (!def) throw new UsageError(`unknown option -${ch} (hakeep --help lists the options)`);
        if (def.value === 'none') {
          def.apply(o, undefined);
          continue;
        }
        let v: string | undefined = a.slice(j + 1) || undefined;
        if (v === undefined && def.value === 'required') {
          v = argv[++i];
          if (v === undefined) throw new UsageError(`-${ch} needs a value`);
        }
        def.apply(o, v);
        break;
      }
      continue;
    }
    if (a === 'status' && i === 0) {
      o.statusCommand = true;
      continue;
    }
    if (a === 'genhash' && i === 0) {
      o.genhashArgs = argv.slice(1);
      return o;
    }
    if (a === 'cleanup' && i === 0) {
      o.cleanupCommand = true;
      continue;
    }
    if (a === 'plan' && i === 0) {
      o.planCommand = true;
      continue;
    }
    if (a === 'rs' && i === 0) {
      const [action, vs, rs] = argv.slice(1, 4);
      if ((action !== 'drain' && action !== 'enable') || !vs || !rs) {
        throw new UsageError('usage: hakeep rs drain|enable VS RS   e.g. hakeep rs drain 10.0.0.100:80 10.0.0.2:80');
      }
      o.rsCommand = { action, vs, rs };
      i += 3;
      continue;
    }
    throw new UsageError(`unexpected argument '${a}' (use -f FILE for the configuration file)`);
  }
  if (o.json && !o.statusCommand) throw new UsageError('--json goes with hakeep status (hakeep status --json)');
  if (o.vrrpOnly && o.checkOnly) throw new UsageError('-P/--vrrp and -C/--check exclude each other; give neither to run both');
  return o;
}

export const HELP = `Usage: hakeep [options]
       hakeep status [--json] [--status-socket=PATH]
                                  the running daemon's instances and virtual servers; --json:
                                  the versioned document. Exit 0 healthy, 1 degraded (a VIP not
                                  added, a service IPVS refuses), 2 critical (an instance in
                                  FAULT, the checker side unfit), 3 no daemon answered
       hakeep cleanup [-f FILE]   remove the VIPs a killed hakeep left (the unit's ExecStopPost)
       hakeep genhash -s IP -p PORT -u PATH [-S] [-V VHOST]
                                  print the MD5 digest HTTP_GET/SSL_GET compares (keepalived's
                                  genhash; hakeep genhash -h for its options)
       hakeep plan [-f FILE]      what a reload to FILE would do (asks the running daemon)
       hakeep rs drain VS RS      set a real server's IPVS weight to 0 and keep it there
       hakeep rs enable VS RS     give it its weight back (VS: IP:PORT, [IPv6]:PORT or
                                  fwmark:N, plus /udp or /sctp if needed; RS: IP:PORT)

hakeep is a keepalived-compatible VRRP and LVS health-checking daemon. It reads keepalived.conf.

Configuration:
  -f, --use-file=FILE      configuration file (default /etc/hakeep/keepalived.conf,
                           then /etc/keepalived/keepalived.conf)
  -t, --config-test[=FILE] check the configuration and exit: 0 = valid, 4 = errors
  -d, --dump-conf          print the normalized configuration as JSON and exit
  -i, --config-id=ID       id for @ID conditional lines (default: short host name)
      --settings=FILE      hakeep's own settings (default /etc/hakeep/hakeep.ini)
      --status-socket=PATH status socket (default /run/hakeep/status.sock; '' = none)

Running (always in the foreground; run it under systemd):
  -P, --vrrp               run only the VRRP side
  -C, --check              run only the health checkers and IPVS
  -p, --pid=FILE           pid file (default /run/hakeep.pid)
  -n, --dont-fork          accepted for keepalived compatibility (hakeep never forks)
  -l, --log-console        accepted for keepalived compatibility (logs go to stdout)
  -D, --log-detail         detailed logging (log level debug)
      --log-format=FMT     json (default) or text
      --log-level=LEVEL    trace, debug, info, warn, error, fatal

      --signum=NAME        print the signal number for STOP, RELOAD, DATA, STATS,
                           STATS_CLEAR or JSON (as keepalived --signum), e.g.
                           kill -$(hakeep --signum=JSON) $(cat /run/hakeep.pid)
  -v, --version            print the version
  -h, --help               this text

  -I, --dont-release-ipvs  on stop, leave the IPVS table as it is (the next start adopts it)

Also accepted from keepalived and ignored: -S -G -g -r -c -X -V -R -s -B.
Signals (keepalived's): TERM/INT stop gracefully (priority 0 advert, VIPs and IPVS services
removed); HUP reloads the configuration (a file with errors is refused, the running one stays);
USR1 writes the data dump, USR2 the stats dump, SIGRTMIN+2 (JSON) the JSON dump, to $TMPDIR
(else /tmp)/keepalived.data, .stats, .json; SIGRTMAX-1 (STATS_CLEAR) clears the statistics.
Other catchable signals are logged and ignored; none opens Node's inspector.
`;
