// The config pipeline reads as it goes: token lines come out of the lexer one at a time, top-level
// statements out of the parser as each block closes, and virtual servers are read into the model
// as they come, so a 10,000-real-server file never has all its tokens and statements in memory
// at once (bench/config-parse prints the peak). What must not change with that: global_defs
// applies wherever it sits, include order, and the order of the diagnostics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/index.js';
import { lexFileStream, lexStringStream } from '../../src/config/lexer.js';
import type { TokenLine } from '../../src/config/lexer.js';
import { parseStatements, parseTree } from '../../src/config/parser.js';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VS = (ip: string, rsBody = 'TCP_CHECK {\n      connect_timeout 3\n    }') => `virtual_server ${ip} 80 {
  delay_loop 6
  lb_kind NAT
  protocol TCP
  real_server 10.1.1.2 80 {
    weight 1
    ${rsBody}
  }
}
`;

describe('config read as a stream', () => {
  test('the parser hands out each top-level statement before the lexer has read the lines after it', () => {
    const s = lexStringStream(`${VS('10.0.0.1')}${VS('10.0.0.2')}global_defs {\n  router_id r1\n}\n`, 'k.conf', { configId: 'x' });
    let read = 0;
    const counted = (function* (): Generator<TokenLine> {
      for (const l of s.lines) {
        read++;
        yield l;
      }
    })();
    const seen: { keyword: string; linesRead: number }[] = [];
    for (const st of parseStatements(counted, [])) seen.push({ keyword: `${st.keyword} ${st.args[0] ?? ''}`, linesRead: read });
    // Each virtual_server block is 11 lines, global_defs 3: a block's closing `}` ends its
    // statement, with no look at the line after it.
    expect(seen).toEqual([
      { keyword: 'virtual_server 10.0.0.1', linesRead: 11 },
      { keyword: 'virtual_server 10.0.0.2', linesRead: 22 },
      { keyword: 'global_defs ', linesRead: 25 },
    ]);
  });

  test('a keyword whose `{` is on the next line still gets its block; a stray `}` at top level is reported', () => {
    const diags: { message: string; line: number }[] = [];
    const lines = lexStringStream('global_defs\n{\n  router_id r1\n}\n}\nvrrp_script s1\n{ script "/bin/true" }\n', 'k.conf', { configId: 'x' }).lines;
    const sts = [...parseStatements(lines, diags as never)];
    expect(sts.map((s) => [s.keyword, s.block?.map((b) => b.keyword)])).toEqual([['global_defs', ['router_id']], ['vrrp_script', ['script']]]);
    expect(diags.map((d) => [d.line, d.message])).toEqual([[5, 'unexpected `}` with no open block; remove it']]);
    // parseTree (everything at once) gives the same tree.
    const again = parseTree(lexStringStream('global_defs\n{\n  router_id r1\n}\n}\nvrrp_script s1\n{ script "/bin/true" }\n', 'k.conf', { configId: 'x' }).lines);
    expect(again.statements.map((s) => s.keyword)).toEqual(['global_defs', 'vrrp_script']);
    expect(again.diagnostics).toHaveLength(1);
  });

  test('an unclosed block at the end of the input is reported at its `{`', () => {
    const r = parseConfigText(`${VS('10.0.0.1')}virtual_server 10.0.0.2 80 {\n  delay_loop 6\n  real_server 10.1.1.3 80 {\n    weight 1\n`);
    // The first block is lines 1-11; the second opens at 12, its real_server at 14.
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.message])).toEqual([
      [12, 'this `{` is never closed; add the missing `}`'],
      [14, 'this `{` is never closed; add the missing `}`'],
    ]);
  });

  test('includes are read in order, lazily, and the files are listed in the order read', () => {
    writeFileSync(join(dir, 'a.conf'), VS('10.0.0.1'));
    writeFileSync(join(dir, 'b.conf'), VS('10.0.0.2'));
    const main = join(dir, 'main.conf');
    writeFileSync(main, `include ${join(dir, 'b.conf')}\ninclude ${join(dir, 'a.conf')}\n`);
    const s = lexFileStream(main, { configId: 'x' });
    expect(s.files).toEqual([]); // nothing read before the first line is asked for
    const it = s.lines[Symbol.iterator]();
    it.next();
    expect(s.files).toEqual([main, join(dir, 'b.conf')]);
    const r = loadConfig(main, { configId: 'x' });
    expect(r.config.virtualServers.map((v) => (v.address.kind === 'ip' ? v.address.ip : ''))).toEqual(['10.0.0.2', '10.0.0.1']);
  });

  test('global_defs after the virtual servers still applies: checker_log_all_failures turns on every checker (keepalived ORs the two)', () => {
    const r = parseConfigText(`${VS('10.0.0.1')}${VS('10.0.0.2', 'TCP_CHECK {\n      log_all_failures false\n    }')}global_defs {\n  checker_log_all_failures true\n}\n`);
    expect(r.errorCount).toBe(0);
    expect(r.config.virtualServers.flatMap((v) => v.realServers.flatMap((rs) => rs.checkers.map((c) => c.logAllFailures)))).toEqual([true, true]);
    const off = parseConfigText(`${VS('10.0.0.1')}${VS('10.0.0.2', 'TCP_CHECK {\n      log_all_failures true\n    }')}`);
    expect(off.config.virtualServers.flatMap((v) => v.realServers.flatMap((rs) => rs.checkers.map((c) => c.logAllFailures)))).toEqual([false, true]);
  });

  test('diagnostics come by file in the order read, then by line, whichever part of the pipeline found them', () => {
    writeFileSync(join(dir, 'inc.conf'), `virtual_server 10.0.0.9 80 {\n  delay_loop 6\n  lb_kind NAT\n  protocol TCP\n  no_such_keyword 1\n}\n`);
    const main = join(dir, 'order.conf');
    writeFileSync(main, `global_defs {\n  router_idd r1\n}\ninclude ${join(dir, 'inc.conf')}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n  bogus_kw 3\n}\n`);
    const r = loadConfig(main, { configId: 'x' });
    const unknown = r.diagnostics.filter((d) => /nknown keyword/.test(d.message)).map((d) => `${d.file === main ? 'main' : 'inc'}:${d.line}`);
    expect(unknown).toEqual(['main:2', 'main:12', 'inc:5']);
  });
});
