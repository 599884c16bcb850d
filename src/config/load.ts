// The config front door: read a keepalived.conf (with includes), build the typed model with
// keepalived's defaults, and validate it. Every problem found is reported, not just the first.
import { hostname } from 'node:os';
import { lexFileStream, lexStringStream, type LexOptions, type LexStream } from './lexer.js';
import type { Config, Diagnostic, VrrpInstance, VrrpScript, VrrpSyncGroup } from './model.js';
import { parseStatements, type Statement } from './parser.js';
import { readGlobalDefs } from './schema-global.js';
import {
  instanceSpec, newInstance, newInstanceMeta, readTrackFile, readTrackProcess, scriptSpec, syncGroupSpec, parseVip,
  type InstanceMeta,
} from './schema-vrrp.js';
import { readVirtualServer, readVsGroup } from './schema-lvs.js';
import { readSsl } from './schema-checkers.js';
import { blockOf, walkBlock } from './block.js';
import { loc, nearest, Reporter } from './values.js';
import { validate } from './validate.js';
import { reportUnimplemented } from './support.js';
import { describeRoute, describeRule, parseRoute, parseRule, routeContext } from './routes.js';

export interface LoadOptions {
  /** `-i/--config-id`; defaults to the short host name, as keepalived does. */
  configId?: string;
  readFile?: (path: string) => string;
}

export interface LoadResult {
  config: Config;
  diagnostics: Diagnostic[];
  errorCount: number;
  warningCount: number;
}

export function defaultConfigId(): string {
  return hostname().split('.')[0] ?? '';
}

export function loadConfig(file: string, opts: LoadOptions = {}): LoadResult {
  const lexOpts: LexOptions = { configId: opts.configId ?? defaultConfigId(), ...(opts.readFile ? { readFile: opts.readFile } : {}) };
  return build(file, lexFileStream(file, lexOpts));
}

/** Parse config text held in memory (tests, fuzzing, `-t` on stdin later). */
export function parseConfigText(text: string, name = 'keepalived.conf', opts: LoadOptions = {}): LoadResult {
  const lexOpts: LexOptions = { configId: opts.configId ?? defaultConfigId(), ...(opts.readFile ? { readFile: opts.readFile } : {}) };
  return build(name, lexStringStream(text, name, lexOpts));
}

const TOP_LEVEL = [
  'global_defs', 'vrrp_script', 'vrrp_sync_group', 'vrrp_instance', 'virtual_server_group', 'virtual_server',
  'static_ipaddress', 'static_routes', 'static_rules', 'vrrp_track_process', 'vrrp_track_file', 'track_file',
  'linkbeat_interfaces', 'SSL', 'bfd_instance', 'garp_group',
];

function build(file: string, lexed: LexStream): LoadResult {
  const r = new Reporter();
  const treeDiags: Diagnostic[] = [];
  // Virtual servers are read as each one's block closes, and their statements dropped: at 10,000
  // real servers they are nearly all of the file, and holding every token and statement of it
  // at once was the daemon's peak memory (bench/config-parse). The rest is small and waits for
  // the end of the file, because global_defs (wherever it is) applies to all of it.
  const top: Statement[] = [];
  const virtualServers: Config['virtualServers'] = [];
  for (const st of parseStatements(lexed.lines, treeDiags)) {
    if (st.keyword !== 'virtual_server') {
      top.push(st);
      continue;
    }
    const vs = readVirtualServer(r, st);
    if (vs) virtualServers.push(vs);
  }
  r.diagnostics.push(...lexed.diagnostics, ...treeDiags);

  const globalDefs = readGlobalDefs(r, top.filter((s) => s.keyword === 'global_defs'));
  // keepalived logs every failure when either the checker or global_defs says so (check_tcp.c:165,
  // check_http.c:1092, …), wherever global_defs sits in the file.
  if (globalDefs.checkerLogAllFailures) {
    for (const vs of virtualServers) for (const rs of vs.realServers) for (const c of rs.checkers) c.logAllFailures = true;
  }
  const config: Config = {
    file, globalDefs, vrrpScripts: [], vrrpSyncGroups: [], vrrpInstances: [], virtualServerGroups: [], virtualServers,
  };
  const metas = new Map<VrrpInstance, InstanceMeta>();

  for (const st of top) {
    switch (st.keyword) {
      case 'global_defs':
        break;
      case 'vrrp_instance': {
        const name = st.args[0];
        // vrrp_parser.c:398-425: no name (or more than one word), or a name already used: keepalived
        // reports it, skips the whole block and runs the rest. So does hakeep.
        if (!name || st.args.length !== 1) {
          r.warn(loc(st), `vrrp_instance ${st.args.join(' ')}: keepalived skips this block ("vrrp_instance must have a name"), so does hakeep; nothing in it runs. Write vrrp_instance NAME { … } with a one-word name`);
          break;
        }
        const twin = config.vrrpInstances.find((i) => i.name === name);
        if (twin) {
          r.warn(loc(st), `vrrp_instance ${name} is already defined at ${twin.loc.file}:${twin.loc.line}: keepalived skips this second block ("vrrp instance ${name} already defined"), so does hakeep; nothing in it runs. Rename one`);
          break;
        }
        const inst = newInstance(name, st, globalDefs);
        const meta: InstanceMeta = newInstanceMeta();
        walkBlock(r, instanceSpec(r, meta), blockOf(r, st), inst, inst.extra);
        config.vrrpInstances.push(inst);
        metas.set(inst, meta);
        break;
      }
      case 'vrrp_script': {
        const s: VrrpScript = {
          name: st.args[0] ?? '', loc: loc(st), script: '', interval: 1, timeout: 0, weight: 0, weightReverse: false,
          rise: 1, fall: 1, user: null, initFail: false,
        };
        if (!s.name) r.error(loc(st), 'vrrp_script needs a name');
        const seen = { timeout: false, script: false };
        walkBlock(r, scriptSpec(r, seen), blockOf(r, st), s);
        if (!seen.timeout) s.timeout = s.interval;
        if (!seen.script) r.error(loc(st), `vrrp_script ${s.name} has no script line; add script "/path/to/check args"`);
        config.vrrpScripts.push(s);
        break;
      }
      case 'vrrp_sync_group': {
        const g: VrrpSyncGroup = {
          name: st.args[0] ?? '', loc: loc(st), group: [], notifyMaster: null, notifyBackup: null, notifyFault: null,
          notify: null, trackScript: [], trackInterface: [], smtpAlert: false,
        };
        // vrrp_parser.c:209-231: no name, or a name already used: the block is skipped.
        if (!g.name) {
          r.warn(loc(st), 'vrrp_sync_group without a name: keepalived skips this block ("vrrp_sync_group must have a name - skipping"), so does hakeep; its members are not synchronised. Write vrrp_sync_group NAME { … }');
          break;
        }
        const twinGroup = config.vrrpSyncGroups.find((x) => x.name === g.name);
        if (twinGroup) {
          r.warn(loc(st), `vrrp_sync_group ${g.name} is already defined at ${twinGroup.loc.file}:${twinGroup.loc.line}: keepalived skips this second block ("vrrp sync group ${g.name} already defined"), so does hakeep. Merge them or rename one`);
          break;
        }
        walkBlock(r, syncGroupSpec(r), blockOf(r, st), g);
        config.vrrpSyncGroups.push(g);
        break;
      }
      case 'track_file':
      case 'vrrp_track_file': {
        const t = readTrackFile(r, st);
        if (t) (config.vrrpTrackFiles ??= []).push(t);
        break;
      }
      case 'vrrp_track_process': {
        const t = readTrackProcess(r, st);
        if (t) (config.vrrpTrackProcesses ??= []).push(t);
        break;
      }
      case 'virtual_server_group':
        config.virtualServerGroups.push(readVsGroup(r, st));
        break;
      case 'SSL':
        // check_parser.c:60-100: SSL_GET's client certificate, key, its password and the CA file.
        if (config.ssl) r.warn(loc(st), 'a second SSL block: its settings replace those of the first, as in keepalived');
        config.ssl = { ...(config.ssl ?? {}), ...Object.fromEntries(Object.entries(readSsl(r, st)).filter(([, v]) => v !== null)) } as NonNullable<typeof config.ssl>;
        break;
      // Set when the daemon starts, kept while it runs, removed when it stops (keepalived:
      // vrrp_daemon.c:662-664 and 435-437); src/config/routes.ts parses routes and rules.
      case 'static_ipaddress':
        for (const s of blockOf(r, st)) {
          const a = parseVip(r, s);
          if (a === null) continue;
          if (a.dev === null) {
            // vrrp_ipaddress.c:680-689: keepalived puts it on its default interface (eth0 unless
            // default_interface says otherwise, which hakeep does not read).
            r.warn(a.loc, `static_ipaddress ${a.address}/${a.prefixLen} has no dev: keepalived uses its default interface eth0, so does hakeep; write dev IFNAME`);
            a.dev = 'eth0';
          }
          (config.staticIpaddress ??= []).push(a);
          r.note(a.loc, `static address ${a.address}/${a.prefixLen} dev ${a.dev}: set at start, removed at stop`);
        }
        break;
      case 'static_rules': {
        const ctx = routeContext(r);
        for (const s of blockOf(r, st)) {
          const rule = parseRule(r, s, ctx.tables, ctx.counter, 'static_rules');
          if (rule === null) continue;
          (config.staticRules ??= []).push(rule);
          r.note(rule.loc, `static rule ${describeRule(rule)}: set at start, removed at stop`);
        }
        break;
      }
      case 'static_routes': {
        const ctx = routeContext(r);
        for (const s of blockOf(r, st)) {
          const route = parseRoute(r, s, ctx.tables, 'static_routes');
          if (route === null) continue;
          (config.staticRoutes ??= []).push(route);
          r.note(route.loc, `static route ${describeRoute(route)}: set at start, removed at stop`);
        }
        break;
      }
      default:
        if (TOP_LEVEL.includes(st.keyword)) {
          r.warn(loc(st), `'${st.keyword}' is accepted but not implemented by hakeep yet; it has no effect`);
        } else {
          unknownTopLevel(r, st);
        }
    }
  }

  validate(r, config, metas);
  reportUnimplemented(r, config);
  const diagnostics = sortDiagnostics(r.diagnostics, lexed.files);
  return {
    config,
    diagnostics,
    errorCount: diagnostics.filter((d) => d.severity === 'error').length,
    warningCount: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

function unknownTopLevel(r: Reporter, st: Statement): void {
  const hint = nearest(st.keyword, TOP_LEVEL);
  r.warn(loc(st), `Unknown keyword '${st.keyword}' at top level, ignored${hint ? `; did you mean '${hint}'?` : ''}`);
}

/** Stable order: by file in the order read (then any other as first seen), then line; keeps related messages together. */
function sortDiagnostics(ds: Diagnostic[], files: string[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const f of files) if (!fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
  for (const d of ds) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => fileOrder.get(a.d.file)! - fileOrder.get(b.d.file)! || a.d.line - b.d.line || a.i - b.i)
    .map((x) => x.d);
}
