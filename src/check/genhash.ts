// `hakeep genhash`: keepalived's genhash (check_genhash.c): fetch one url as HTTP_GET/SSL_GET does
// and print the MD5 digest the checker compares, as 32 hex digits and a newline, so operators can
// fill in `digest`. Same request (http-checker.ts buildRequest) and the same reading of the
// response (http-response.ts): the raw bytes after the headers, up to Content-Length.
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { HttpProtocol, HttpUrl } from '../config/model.js';
import { buildRequest } from './http-checker.js';
import { ResponseReader } from './http-response.js';

export const GENHASH_USAGE = `Usage: hakeep genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
`;

export interface GenhashOptions {
  server: string;
  port: number;
  url: string;
  ssl: boolean;
  sni: boolean;
  virtualhost: string | null;
  verbose: boolean;
  protocol: HttpProtocol;
  /** Seconds; null = wait forever (genhash's default). */
  timeout: number | null;
}

const LONG: Record<string, string> = {
  '--help': '-h', '--verbose': '-v', '--use-ssl': '-S', '--use-sni': '-I', '--server': '-s', '--use-virtualhost': '-V',
  '--port': '-p', '--url': '-u', '--fwmark': '-m', '--protocol': '-P', '--timeout': '-t',
};

/** keepalived's option parsing (check_genhash.c:86-254); an error text, or the options. */
export function parseGenhashArgs(argv: string[]): GenhashOptions | { error: string } | { help: true } {
  const o: Partial<GenhashOptions> = { ssl: false, sni: false, virtualhost: null, verbose: false, protocol: '1.0', timeout: null };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let val: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
      const short = LONG[a];
      if (!short) return { error: `Unknown option ${a}` };
      a = short;
    } else if (/^-[a-zA-Z]./.test(a)) {
      val = a.slice(2);
      a = a.slice(0, 2);
    }
    const need = (): string | null => {
      if (val !== undefined) return val;
      const next = argv[i + 1];
      if (next === undefined) return null;
      i++;
      return next;
    };
    switch (a) {
      case '-h': return { help: true };
      case '-v': o.verbose = true; break;
      case '-S': o.ssl = true; break;
      case '-I': o.sni = true; break;
      case '-s': {
        const v = need();
        if (v === null) return { error: 'Missing parameter for option -s' };
        if (!isIP(v)) return { error: `server should be an IP, not ${v}` };
        o.server = v;
        break;
      }
      case '-V': {
        const v = need();
        if (v === null) return { error: 'Missing parameter for option -V' };
        o.virtualhost = v;
        break;
      }
      case '-p': {
        const v = need();
        if (v === null || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) return { error: `invalid port number '${v ?? ''}'` };
        o.port = Number(v);
        break;
      }
      case '-u': {
        const v = need();
        if (v === null) return { error: 'Missing parameter for option -u' };
        o.url = v;
        break;
      }
      case '-P': {
        const v = need();
        if (v === '1.0' || v === '1.1') o.protocol = v;
        else if (v === '1.0c' || v === '1.0C') o.protocol = '1.0C';
        else return { error: `invalid HTTP protocol version '${v ?? ''}'` };
        break;
      }
      case '-t': {
        const v = need();
        if (v === null || !/^\s*\d+$/.test(v)) return { error: `invalid timeout '${v ?? ''}'` };
        o.timeout = Number(v);
        break;
      }
      case '-m':
        return { error: 'hakeep genhash does not set fwmarks (-m); run it without' };
      default:
        return { error: a.startsWith('-') ? `Unknown option ${a}` : `Unexpected argument(s): ${argv.slice(i).join(' ')}` };
    }
  }
  if (o.server === undefined || o.port === undefined || o.url === undefined) return { error: 'server (-s), port (-p) and url (-u) are required' };
  return o as GenhashOptions;
}

/** Fetch and hash; resolves with what genhash prints (stdout, stderr) and its exit code. */
export function genhash(o: GenhashOptions): Promise<{ stdout: string; stderr: string; code: number }> {
  const url: HttpUrl = { path: o.url, digest: null, statusCodes: [[0, 999]], virtualhost: null, regex: null, tlsCompliant: false };
  const req = buildRequest(url, { httpProtocol: o.protocol, virtualhost: o.virtualhost }, null, null, o.server, o.port);
  const reader = new ResponseReader({ statusCodes: [[0, 999]], digest: true, regex: null });
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let phase = 'connect';
    let timer: NodeJS.Timeout | null = null;
    const opts = { host: o.server, port: o.port };
    const sock = o.ssl
      ? tlsConnect({ ...opts, rejectUnauthorized: false, ...(o.sni && o.virtualhost ? { servername: o.virtualhost } : {}) })
      : netConnect(opts);
    const finish = (stdout: string, stderr: string, code: number): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      sock.destroy();
      resolve({ stdout, stderr, code });
    };
    const arm = (): void => {
      if (o.timeout === null) return;
      if (timer) clearTimeout(timer);
      // keepalived's words for the step that timed out (check_http.c timeout_epilog in genhash mode).
      timer = setTimeout(() => finish(`${phase === 'connect' ? 'Timeout connecting' : phase === 'wait' ? 'Timeout WEB read' : o.ssl ? 'Timeout SSL read' : 'Timeout HTTP read'}\n`, '', 1), o.timeout * 1000);
    };
    const verbose: string[] = [];
    const end = (): void => {
      reader.finish(null);
      if (!reader.headersDone) return finish('', 'no data received from remote webserver\n', 1);
      let out = '';
      if (o.verbose) out += `${verbose.join('')}\n-----------------------[    HTML hash resulting    ]-----------------------\n`;
      out += `${reader.digestHex}\n`;
      if (o.verbose) out += `\nGlobal response time for [${o.url}] = ${Math.round((performance.now() - t0) * 1000)} usecs\n`;
      finish(out, '', 0);
    };
    arm();
    sock.once(o.ssl ? 'secureConnect' : 'connect', () => {
      phase = 'wait';
      arm();
      sock.write(req);
    });
    sock.on('data', (chunk: Buffer) => {
      phase = 'read';
      arm();
      if (o.verbose && !reader.headersDone) verbose.push(chunk.toString('latin1').split('\r\n\r\n')[0]! + '\n');
      if (reader.feed(chunk)) end();
    });
    sock.on('end', end);
    sock.on('close', () => { if (!done) end(); });
    sock.on('error', () => {
      if (phase === 'connect') finish(o.ssl ? 'SSL handshake/communication error connecting to\n' : 'Error connecting\n', '', 1);
      else end();
    });
  });
}

export async function genhashMain(argv: string[]): Promise<number> {
  const p = parseGenhashArgs(argv);
  if ('help' in p) {
    process.stderr.write(GENHASH_USAGE);
    return 1;
  }
  if ('error' in p) {
    process.stderr.write(`${p.error}\n${GENHASH_USAGE}`);
    return 1;
  }
  const r = await genhash(p);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}
