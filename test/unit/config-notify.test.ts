// The notify keywords as keepalived 2.2.7 reads them (vrrp_parser.c:289-395, 1103-1214;
// global_parser.c:1338-1420; global_data.c:297-311): SCRIPT [USER [GROUP]], the first of a
// repeated keyword kept, notify_deleted with and without a script, the FIFOs and their checks.
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, parseConfigText, type Diagnostic } from '../../src/config/index.js';
import { priorityChangesEnabled } from '../../src/vrrp/notify.js';

const F = 'n.conf';

function parse(text: string) {
  const r = parseConfigText(text, F, { configId: 'test' });
  const diag = (severity: Diagnostic['severity'], line: number, fragment: string): Diagnostic | undefined =>
    r.diagnostics.find((d) => d.severity === severity && d.line === line && d.message.includes(fragment));
  return { r, diag, all: r.diagnostics.map(formatDiagnostic).join('\n') };
}

const inst = (body: string, name = 'VI_1', vrid = 51) => `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  virtual_ipaddress { 10.0.0.1 }
${body}
}
`;

describe('vrrp_instance notify keywords', () => {
  test('every notify_* with its user and group; the command keeps its arguments', () => {
    const { r, all } = parse(inst(`  notify_master "/bin/m.sh a 'b c'" hkuser hkgroup
  notify_backup /bin/b.sh
  notify_fault "/bin/f.sh"  hkuser
  notify_stop "/bin/s.sh x"
  notify "/bin/n.sh"
  notify_master_rx_lower_pri "/bin/rx.sh y" root
  notify_deleted "/bin/d.sh" root wheel
  notify_priority_changes`));
    expect(r.errorCount, all).toBe(0);
    const v = r.config.vrrpInstances[0]!;
    expect(v.notifyMaster).toEqual({ command: "/bin/m.sh a 'b c'", user: 'hkuser', group: 'hkgroup' });
    expect(v.notifyBackup).toEqual({ command: '/bin/b.sh', user: null });
    expect(v.notifyFault).toEqual({ command: '/bin/f.sh', user: 'hkuser' });
    expect(v.notifyStop).toEqual({ command: '/bin/s.sh x', user: null });
    expect(v.notify).toEqual({ command: '/bin/n.sh', user: null });
    expect(v.notifyMasterRxLowerPri).toEqual({ command: '/bin/rx.sh y', user: 'root' });
    expect(v.notifyDeleted).toEqual({ script: { command: '/bin/d.sh', user: 'root', group: 'wheel' } });
    expect(v.notifyPriorityChanges).toBe(true);
    // None of them is reported as "not implemented" any more.
    expect(all).not.toMatch(/not (implemented|acted on|run).*notify|notify.*not (implemented|yet)/i);
  });

  test('defaults: nothing written is null', () => {
    const v = parse(inst('')).r.config.vrrpInstances[0]!;
    expect([v.notifyDeleted, v.notifyMasterRxLowerPri, v.notifyPriorityChanges, v.notifyStop]).toEqual([null, null, null, null]);
  });

  test('notify_deleted alone switches FAULT to DELETED without a script (vrrp_parser.c:1147-1160)', () => {
    const v = parse(inst('  notify_deleted')).r.config.vrrpInstances[0]!;
    expect(v.notifyDeleted).toEqual({ script: null });
  });

  test('a repeated keyword keeps the first one, with a warning at the repeat (vrrp_parser.c:1106)', () => {
    const { r, diag } = parse(inst(`  notify_master "/bin/one"
  notify_master "/bin/two"
  notify_deleted
  notify_deleted "/bin/d"`));
    expect(r.config.vrrpInstances[0]!.notifyMaster?.command).toBe('/bin/one');
    expect(r.config.vrrpInstances[0]!.notifyDeleted).toEqual({ script: null });
    expect(diag('warning', 6, "(VI_1) notify_master is given again; keepalived keeps the first one ('/bin/one')")).toBeDefined();
    expect(diag('warning', 8, '(VI_1) notify_deleted is given twice')).toBeDefined();
  });

  test('an unquoted second word is the user, as in keepalived; a note says how to pass an argument', () => {
    const { r, diag } = parse(inst('  notify_master /bin/echo arg1'));
    expect(r.config.vrrpInstances[0]!.notifyMaster).toEqual({ command: '/bin/echo', user: 'arg1' });
    expect(diag('note', 5, `'arg1' is the user the script runs as (keepalived's syntax); if it is an argument, quote the command: notify_master "/bin/echo arg1"`)).toBeDefined();
  });

  test('words after the group are ignored with a warning; no script is an error', () => {
    const { diag } = parse(inst(`  notify_backup "/bin/b" u g extra
  notify_fault`));
    expect(diag('warning', 5, "notify_backup: 'extra' ignored")).toBeDefined();
    expect(diag('error', 6, '(VI_1) notify_fault needs a script')).toBeDefined();
  });

  test('notify_priority_changes takes a boolean', () => {
    expect(parse(inst('  notify_priority_changes off')).r.config.vrrpInstances[0]!.notifyPriorityChanges).toBe(false);
    // keepalived: "(VI_1) Invalid value 'maybe' for notify_priority_changes specified", line ignored.
    const bad = parse(inst('  notify_priority_changes maybe'));
    expect(bad.diag('warning', 5, "(VI_1) notify_priority_changes 'maybe' is not one of on/off, true/false, yes/no (lower case): keepalived ignores the line")).toBeDefined();
    expect(bad.r.config.vrrpInstances[0]!.notifyPriorityChanges).toBeNull();
  });
});

describe('vrrp_sync_group notify keywords', () => {
  const text = `vrrp_sync_group G1 {
  group { VI_1 }
  notify_master "/bin/gm" root
  notify_backup /bin/gb
  notify_fault "/bin/gf"
  notify_stop "/bin/gs x"
  notify "/bin/gn"
  notify_priority_changes
}
${inst('')}`;

  test('notify_stop and notify_priority_changes are accepted on a group', () => {
    const { r, all } = parse(text);
    expect(r.errorCount, all).toBe(0);
    expect(all).not.toMatch(/notify/);
    const g = r.config.vrrpSyncGroups[0]!;
    expect(g.notifyMaster).toEqual({ command: '/bin/gm', user: 'root' });
    expect(g.notifyStop).toEqual({ command: '/bin/gs x', user: null });
    expect(g.notifyPriorityChanges).toBe(true);
  });

  test('notify_priority_changes: the instance, else its group, else the global (vrrp.c:3246-3250)', () => {
    const cfg = (global: string, group: string, own: string) => parse(`global_defs {
${global}
}
vrrp_sync_group G1 {
  group { VI_1 }
${group}
}
${inst(own)}${inst('', 'VI_2', 52)}`).r.config;
    const on = (c: ReturnType<typeof cfg>, name: string) => priorityChangesEnabled(c, c.vrrpInstances.find((i) => i.name === name)!);
    let c = cfg('', '', '');
    expect([on(c, 'VI_1'), on(c, 'VI_2')]).toEqual([false, false]);
    c = cfg('  vrrp_notify_priority_changes', '', '');
    expect([on(c, 'VI_1'), on(c, 'VI_2')]).toEqual([true, true]);
    c = cfg('  vrrp_notify_priority_changes', '  notify_priority_changes off', '');
    expect([on(c, 'VI_1'), on(c, 'VI_2')]).toEqual([false, true]);
    c = cfg('', '  notify_priority_changes off', '  notify_priority_changes on');
    expect(on(c, 'VI_1')).toBe(true);
  });
});

describe('notify FIFOs in global_defs', () => {
  test('notify_fifo, vrrp_notify_fifo and their scripts, with users', () => {
    const { r, all } = parse(`global_defs {
  notify_fifo /run/ka.fifo
  notify_fifo_script "/bin/reader -v" hkuser
  vrrp_notify_fifo /run/ka-vrrp.fifo hkuser hkgroup
  vrrp_notify_fifo_script /bin/vreader
  vrrp_notify_priority_changes yes
}
${inst('')}`);
    expect(r.errorCount, all).toBe(0);
    const g = r.config.globalDefs;
    expect(g.notifyFifo).toEqual({ path: '/run/ka.fifo', user: null, loc: { file: F, line: 2 } });
    expect(g.notifyFifoScript).toEqual({ command: '/bin/reader -v', user: 'hkuser', loc: { file: F, line: 3 } });
    expect(g.vrrpNotifyFifo).toEqual({ path: '/run/ka-vrrp.fifo', user: 'hkuser', group: 'hkgroup', loc: { file: F, line: 4 } });
    expect(g.vrrpNotifyFifoScript).toEqual({ command: '/bin/vreader', user: null, loc: { file: F, line: 5 } });
    expect(g.vrrpNotifyPriorityChanges).toBe(true);
    expect(all).not.toMatch(/fifo/i);
  });

  test('the same path for notify_fifo and vrrp_notify_fifo: the vrrp one is dropped with its script (global_data.c:305-311)', () => {
    const { r, diag } = parse(`global_defs {
  notify_fifo /run/ka.fifo
  vrrp_notify_fifo /run/ka.fifo
  vrrp_notify_fifo_script /bin/vreader
}
${inst('')}`);
    expect(r.config.globalDefs.vrrpNotifyFifo).toBeNull();
    expect(r.config.globalDefs.vrrpNotifyFifoScript).toBeNull();
    expect(diag('warning', 3, 'vrrp_notify_fifo /run/ka.fifo is also the notify_fifo (n.conf:2): ignored with its script')).toBeDefined();
  });

  test('a FIFO script without its FIFO is reported; no path is an error; a repeat keeps the first', () => {
    const { r, diag } = parse(`global_defs {
  vrrp_notify_fifo_script /bin/vreader
  notify_fifo
  notify_fifo /run/a.fifo
  notify_fifo /run/b.fifo
}
${inst('')}`);
    expect(diag('warning', 2, 'vrrp_notify_fifo_script is not run without a vrrp_notify_fifo')).toBeDefined();
    expect(diag('error', 3, 'notify_fifo needs a FIFO path')).toBeDefined();
    expect(diag('warning', 5, 'notify_fifo is already given at n.conf:4; keepalived keeps the first one')).toBeDefined();
    expect(r.config.globalDefs.notifyFifo?.path).toBe('/run/a.fifo');
  });

  test('a relative FIFO path is reported', () => {
    const { diag } = parse(`global_defs {
  vrrp_notify_fifo relative.fifo
}
${inst('')}`);
    expect(diag('warning', 2, 'vrrp_notify_fifo relative.fifo is a relative path')).toBeDefined();
  });

  test('lvs_notify_fifo stays not implemented', () => {
    const { all } = parse(`global_defs {
  lvs_notify_fifo /run/lvs.fifo
}
${inst('')}`);
    expect(all).toMatch(/lvs_notify_fifo/);
  });
});
