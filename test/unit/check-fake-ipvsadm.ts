// A stand-in ipvsadm for checker-service tests, written from ipvsadm's documented behaviour and
// independent of hakeep's own parser and serializer: it keeps a table of command lines in a state
// file, applies -A/-E/-D/-a/-e/-d/-C as ipvsadm -R does (one line at a time, carrying on after a
// failed line), prints the table for -S, answers -L --timeout, and records every command it is
// given. `unavailable()` makes every call fail as on a kernel without IPVS.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeIpvsadm {
  /** The executable to put in HAKEEP_IPVSADM. */
  path: string;
  /** Every command line it applied or rejected, in order. */
  commands(): string[];
  /** The table as `ipvsadm -S -n` would print it. */
  save(): string;
  /** Replace the table (a hand edit, or a table left by an earlier run). */
  setTable(lines: string[]): void;
  /** Every call fails with "Can't initialize ipvs: Protocol not available" while on. */
  unavailable(on: boolean): void;
  /** Command lines containing `text` are refused ("Invalid argument", as the kernel says), the
   * session carrying on; null = refuse nothing. */
  refuse(text: string | null): void;
}

const SCRIPT = String.raw`
const fs = require('fs');
const dir = __DIR__;
const stateFile = dir + '/table.json', cmdFile = dir + '/commands';
// The table lives in memory while one ipvsadm runs (a -R session), and in the state file between
// runs: written after every batch, i.e. whenever the session is asked -L or -S.
let table = null;
const load = () => { if (table === null) { try { table = JSON.parse(fs.readFileSync(stateFile, 'utf8')); } catch { table = []; } } return table; };
const store = () => {
  if (table === null) return;
  fs.writeFileSync(stateFile + '.tmp', JSON.stringify(table));
  fs.renameSync(stateFile + '.tmp', stateFile);
};
let cmdLog = [];
// Re-read the file for the next batch: the test may have edited the table meanwhile.
const flush = () => { store(); table = null; if (cmdLog.length) fs.appendFileSync(cmdFile, cmdLog.join('')); cmdLog = []; };
const out = (s) => fs.writeSync(1, s);
function checkAvailable() {
  if (!fs.existsSync(dir + '/unavailable')) return;
  fs.writeSync(2, "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n");
  process.exit(2);
}
checkAvailable();
function save() {
  let s = '';
  for (const svc of load()) {
    s += '-A ' + svc.key + (svc.opts ? ' ' + svc.opts : '') + '\n';
    for (const d of svc.dests) s += '-a ' + svc.key + ' -r ' + d.addr + (d.opts ? ' ' + d.opts : '') + '\n';
  }
  return s;
}
// One ipvsadm -R line; returns an error message or null.
function apply(line) {
  cmdLog.push(line + '\n');
  let refuse = null;
  try { refuse = fs.readFileSync(dir + '/refuse', 'utf8'); } catch {}
  if (refuse && line.includes(refuse)) return 'Invalid argument';
  const tok = line.trim().split(/\s+/);
  const op = tok.shift();
  if (op === '-C') { load().length = 0; return null; }
  const si = tok.findIndex((t) => t === '-t' || t === '-u' || t === '-f' || t === '--sctp-service');
  if (si < 0) return 'Illegal service';
  const key = tok[si] + ' ' + tok[si + 1];
  tok.splice(si, 2);
  const ri = tok.indexOf('-r');
  const dest = ri >= 0 ? tok.splice(ri, 2)[1] : null;
  const opts = tok.join(' ');
  const t = load();
  const svc = t.find((s) => s.key === key);
  switch (op) {
    case '-A': if (svc) return 'Service already exists'; t.push({ key, opts, dests: [] }); break;
    case '-E': if (!svc) return 'No such service'; svc.opts = opts; break;
    case '-D': if (!svc) return 'No such service'; t.splice(t.indexOf(svc), 1); break;
    case '-a': case '-e': case '-d': {
      if (!svc) return 'Service not defined';
      const d = svc.dests.find((x) => x.addr === dest);
      if (op === '-a') { if (d) return 'Destination already exists'; svc.dests.push({ addr: dest, opts }); }
      else if (!d) return 'No such destination';
      else if (op === '-e') d.opts = opts;
      else svc.dests.splice(svc.dests.indexOf(d), 1);
      break;
    }
    default: return 'invalid option ' + op;
  }
  return null;
}
const args = process.argv.slice(2).join(' ');
if (args === '-S -n' || args === '-Sn') { out(save()); process.exit(0); }
if (args !== '-R') { fs.writeSync(2, 'fake ipvsadm: unsupported ' + args + '\n'); process.exit(1); }
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    if (line === '') continue;
    checkAvailable();
    if (line === '-L --timeout') { flush(); out('Timeout (tcp tcpfin udp): 900 120 300\n'); }
    else if (line === '-S -n') { flush(); out(save()); }
    else { const err = apply(line); if (err) fs.writeSync(2, err + '\n'); }
  }
});
process.stdin.on('end', flush);
`;

export function fakeIpvsadm(dir: string): FakeIpvsadm {
  const path = join(dir, 'ipvsadm');
  writeFileSync(path, `#!${process.execPath}\n${SCRIPT.replace('__DIR__', JSON.stringify(dir))}`);
  chmodSync(path, 0o755);
  const cmdFile = join(dir, 'commands');
  const down = join(dir, 'unavailable');
  return {
    path,
    commands: () => (existsSync(cmdFile) ? readFileSync(cmdFile, 'utf8').split('\n').filter(Boolean) : []),
    save() {
      const t = existsSync(join(dir, 'table.json')) ? (JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')) as {
        key: string; opts: string; dests: { addr: string; opts: string }[];
      }[]) : [];
      return t.map((s) => [`-A ${s.key}${s.opts ? ` ${s.opts}` : ''}`, ...s.dests.map((d) => `-a ${s.key} -r ${d.addr}${d.opts ? ` ${d.opts}` : ''}`)].join('\n')).join('\n');
    },
    setTable(lines) {
      const t: { key: string; opts: string; dests: { addr: string; opts: string }[] }[] = [];
      for (const l of lines) {
        const m = /^-([Aa]) (-[tuf] \S+)(?: -r (\S+))?(?: (.*))?$/.exec(l);
        if (!m) throw new Error(`setTable: cannot read ${l}`);
        if (m[1] === 'A') t.push({ key: m[2]!, opts: m[4] ?? '', dests: [] });
        else t.find((s) => s.key === m[2])!.dests.push({ addr: m[3]!, opts: m[4] ?? '' });
      }
      writeFileSync(join(dir, 'table.json'), JSON.stringify(t));
    },
    refuse(text) {
      if (text === null) rmSync(join(dir, 'refuse'), { force: true });
      else writeFileSync(join(dir, 'refuse'), text);
    },
    unavailable(on) {
      if (on) writeFileSync(down, '');
      else rmSync(down, { force: true });
    },
  };
}
