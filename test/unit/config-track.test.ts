// Parsing and validating tracker keywords: track_file / vrrp_track_process blocks, track_* lists
// in instances and sync groups, and keepalived's corrections (each at its file:line).
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { Diagnostic } from '../../src/config/model.js';
import { planTrackers } from '../../src/vrrp/trackers/index.js';

function load(text: string) {
  const r = parseConfigText(text, 'k.conf');
  const find = (sev: Diagnostic['severity'], line: number, part: string): Diagnostic | undefined =>
    r.diagnostics.find((d) => d.severity === sev && d.line === line && d.message.includes(part));
  const expectDiag = (sev: Diagnostic['severity'], line: number, part: string): void => {
    const d = find(sev, line, part);
    if (!d) throw new Error(`no ${sev} at line ${line} containing "${part}"; got:\n${r.diagnostics.map((x) => `${x.line} ${x.severity}: ${x.message}`).join('\n')}`);
  };
  return { ...r, expectDiag, find };
}

const vi = (name: string, vrid: number, body: string, prio = 100): string =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n  priority ${prio}\n  virtual_ipaddress {\n    10.0.0.${vrid}\n  }\n${body}\n}\n`;

describe('track_file blocks', () => {
  it('parses file, weight reverse, init_file; vrrp_track_file is the deprecated synonym', () => {
    const r = load('track_file a {\n  file /run/a\n  weight -3 reverse\n  init_file 5 overwrite\n}\nvrrp_track_file b {\n  file /run/b\n}\n' + vi('VI_1', 1, '  track_file {\n    a\n    b weight 2\n  }'));
    expect(r.errorCount).toBe(0);
    expect(r.config.vrrpTrackFiles).toMatchObject([
      { name: 'a', file: '/run/a', weight: -3, weightReverse: true, initFile: { value: 5, overwrite: true } },
      { name: 'b', file: '/run/b', weight: 1, weightReverse: false, initFile: null },
    ]);
    r.expectDiag('note', 6, "'vrrp_track_file' is deprecated");
    expect(r.config.vrrpInstances[0]!.trackFile).toMatchObject([{ name: 'a', weight: null }, { name: 'b', weight: 2 }]);
    expect(r.find('warning', 1, 'not implemented')).toBeUndefined();
  });

  it('no file line: the block is ignored (an error), and references to it are errors', () => {
    const r = load('track_file a {\n  weight 2\n}\n' + vi('VI_1', 1, '  track_file {\n    a\n  }'));
    r.expectDiag('error', 1, 'No file set for track_file a');
    r.expectDiag('error', 12, 'track_file a does not name a track_file');
  });

  it('a second weight is ignored; an out-of-range weight too; init_file garbage is reported', () => {
    const r = load('track_file a {\n  file /x\n  weight 5\n  weight 6\n}\ntrack_file b {\n  file /y\n  weight 300\n  init_file 1000 junk\n}\n');
    r.expectDiag('warning', 4, 'Weight already set for track_file a');
    r.expectDiag('warning', 8, 'must be between -254 and 254');
    r.expectDiag('warning', 9, 'init value 1000 is outside sensible range');
    r.expectDiag('warning', 9, "Unknown track file init option 'junk'");
    expect(r.config.vrrpTrackFiles!.map((f) => f.weight)).toEqual([5, 1]);
  });
});

describe('vrrp_track_process blocks', () => {
  it('defaults: quorum 1, no upper bound, weight 0, comm match', () => {
    const r = load('vrrp_track_process nginx {\n  process nginx\n}\n');
    expect(r.config.vrrpTrackProcesses).toMatchObject([
      { name: 'nginx', process: 'nginx', params: [], paramMatch: 'none', fullCommand: false, quorum: 1, quorumMax: 4294967295, weight: 0, forkDelay: 0, terminateDelay: 0 },
    ]);
  });

  it('parameters imply an exact command-line match; param_match initial/partial; delays; weight reverse', () => {
    const r = load('vrrp_track_process h {\n  process /usr/sbin/haproxy -f "/etc/h a.cfg"\n  param_match partial\n  quorum 2\n  quorum_max 4\n  delay 0.5\n  fork_delay 1\n  weight -20 reverse\n}\n');
    expect(r.errorCount).toBe(0);
    expect(r.config.vrrpTrackProcesses![0]).toMatchObject({
      process: '/usr/sbin/haproxy', params: ['-f', '/etc/h a.cfg'], paramMatch: 'partial', fullCommand: true, quorum: 2, quorumMax: 4,
      terminateDelay: 0.5, forkDelay: 1, weight: -20, weightReverse: true,
    });
  });

  it('quorum rules: quorum > quorum_max and quorum_max < quorum are ignored; quorum_max 0 means quorum 0', () => {
    const r = load('vrrp_track_process a {\n  process a\n  quorum_max 2\n  quorum 3\n}\nvrrp_track_process b {\n  process b\n  quorum 3\n  quorum_max 2\n}\nvrrp_track_process c {\n  process c\n  quorum_max 0\n}\n');
    r.expectDiag('warning', 4, 'quorum 3 is greater than quorum_max 2');
    r.expectDiag('warning', 9, 'quorum_max 2 is less than quorum 3');
    expect(r.config.vrrpTrackProcesses!.map((p) => [p.quorum, p.quorumMax])).toEqual([[1, 2], [3, 4294967295], [0, 0]]);
  });

  it('no process line drops the block; a name longer than 15 bytes without full_command can never match', () => {
    const r = load('vrrp_track_process a {\n  quorum 2\n}\nvrrp_track_process b {\n  process a-very-long-process-name\n}\n');
    r.expectDiag('error', 1, "track process 'a' process name not specified");
    r.expectDiag('warning', 4, 'longer than 15 bytes');
    expect(r.config.vrrpTrackProcesses!.map((p) => p.name)).toEqual(['b']);
  });
});

describe('track_* lists and references', () => {
  it('unknown names are errors with a suggestion, for instances and sync groups', () => {
    const text = 'vrrp_script chk_nginx {\n  script /bin/true\n}\ntrack_file tf {\n  file /x\n}\nvrrp_track_process pr {\n  process p\n}\n'
      + 'vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  track_process {\n    pz\n  }\n}\n'
      + vi('VI_1', 1, '  track_script {\n    chk_ngnix\n  }\n  track_file {\n    tff\n  }');
    const r = load(text);
    r.expectDiag('error', 15, "(G) track_process pz does not name a vrrp_track_process; did you mean 'pr'?");
    r.expectDiag('error', 26, "(VI_1) track_script chk_ngnix does not name a vrrp_script; did you mean 'chk_nginx'?");
    r.expectDiag('error', 29, "(VI_1) track_file tff does not name a track_file; did you mean 'tf'?");
  });

  it('keepalived\'s per-line corrections: duplicates, ±254, unknown options, weight without value', () => {
    const r = load('vrrp_script s {\n  script /bin/true\n}\n' + vi('VI_1', 1, '  track_script {\n    s weight 254\n    s\n  }\n  track_interface {\n    eth1 weight -254 noreverse\n    eth2 wait 3\n    eth3 weight\n  }'));
    r.expectDiag('warning', 12, 'cannot be 254');
    r.expectDiag('warning', 13, 'duplicate track_script s');
    r.expectDiag('warning', 16, 'cannot be -254');
    r.expectDiag('warning', 16, "unknown track_interface eth1 weight option 'noreverse'");
    r.expectDiag('error', 17, "unknown track interface option 'wait'");
    r.expectDiag('error', 18, 'weight without value specified');
    const inst = r.config.vrrpInstances[0]!;
    expect(inst.trackScript).toMatchObject([{ name: 's', weight: 253 }]);
    expect(inst.trackInterface).toMatchObject([{ name: 'eth1', weight: -253, reverse: false }]);
  });

  it('sync group members lose their own tracker weights unless sync_group_tracking_weight', () => {
    const text = 'vrrp_script w {\n  script /bin/true\n  weight 10\n}\ntrack_file f {\n  file /x\n}\ntrack_file g {\n  file /y\n  weight 4\n}\n'
      + 'vrrp_sync_group G {\n  group {\n    VI_1\n  }\n}\nvrrp_sync_group H {\n  group {\n    VI_2\n  }\n  sync_group_tracking_weight\n}\n'
      + vi('VI_1', 1, '  track_script {\n    w\n  }\n  track_interface {\n    eth1 weight 5\n  }\n  track_file {\n    f\n    g\n  }')
      + vi('VI_2', 2, '  track_script {\n    w\n  }');
    const r = load(text);
    expect(r.errorCount).toBe(0);
    const [a, b] = r.config.vrrpInstances;
    expect(a!.trackScript).toEqual([]);
    expect(a!.trackInterface).toMatchObject([{ name: 'eth1', weight: 0 }]);
    expect(a!.trackFile).toMatchObject([{ name: 'f', weight: 0 }]);
    expect(b!.trackScript).toMatchObject([{ name: 'w' }]);
    expect(r.diagnostics.filter((d) => d.message.includes('due to SYNC group G')).length).toBe(4);
    expect(r.config.vrrpSyncGroups[1]!.trackingWeight).toBe(true);
  });

  it('an address owner drops weighted trackers; its sync group\'s trackers get weight 0', () => {
    const text = 'vrrp_script w {\n  script /bin/true\n  weight 10\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n  }\n  track_script {\n    w\n  }\n  track_interface {\n    eth2 weight 3\n  }\n  sync_group_tracking_weight\n}\n'
      + vi('VI_1', 1, '  track_interface {\n    eth1 weight 5\n  }', 255);
    const r = load(text);
    expect(r.config.vrrpInstances[0]!.trackInterface).toEqual([]);
    r.expectDiag('warning', 10, "Cannot have weighted track script 'w' with member VI_1 having priority 255");
    r.expectDiag('warning', 13, "Cannot have weighted track interface 'eth2'");
    expect(r.config.vrrpSyncGroups[0]!.trackScript[0]!.weight).toBe(0);
  });

  it('an unused vrrp_script is reported (keepalived does not run it); a used one is not', () => {
    const r = load('vrrp_script used {\n  script /bin/true\n}\nvrrp_script unused {\n  script /bin/true\n}\n' + vi('VI_1', 1, '  track_script {\n    used\n  }'));
    r.expectDiag('warning', 4, 'script unused is not used');
    expect(r.find('warning', 1, 'is not used')).toBeUndefined();
    expect(r.diagnostics.some((d) => d.message.includes('does not run tracking scripts'))).toBe(false);
  });

  it('vrrp_script: interval 0 becomes 1; an unknown weight option is reported; a quoted command keeps its quoting', () => {
    const r = load('vrrp_script s {\n  script "/usr/local/bin/check x" "a b"\n  interval 0\n  weight 5 rev\n}\n' + vi('VI_1', 1, '  track_script {\n    s\n  }'));
    r.expectDiag('warning', 3, 'must be greater than 0');
    r.expectDiag('warning', 4, "unknown weight option 'rev'");
    expect(r.config.vrrpScripts[0]).toMatchObject({ interval: 1, timeout: 1, script: '"/usr/local/bin/check x" "a b"' });
  });

  it('track_bfd stays a clear warning', () => {
    const r = load(vi('VI_1', 1, '  track_bfd {\n    b1\n  }'));
    r.expectDiag('warning', 8, "'track_bfd' in vrrp_instance is accepted but not implemented by hakeep yet");
  });
});

describe('the tracker plan (who tracks what)', () => {
  it('expands sync groups, merges instance and group entries (group weight unless the instance\'s is 0)', () => {
    const text = 'vrrp_script s {\n  script /bin/true\n}\nvrrp_track_process p {\n  process p\n  weight 7\n}\n'
      + 'vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  track_script {\n    s weight -5\n  }\n  track_process {\n    p weight 3\n  }\n  sync_group_tracking_weight\n}\n'
      + vi('VI_1', 1, '  track_script {\n    s weight 9\n  }\n  track_process {\n    p weight 0\n  }') + vi('VI_2', 2, '');
    const r = load(text);
    expect(r.errorCount).toBe(0);
    const plan = planTrackers(r.config);
    expect(plan.scripts[0]!.bindings).toEqual([
      { instance: 'VI_1', weight: -5, reverse: false, via: 'G' },
      { instance: 'VI_2', weight: -5, reverse: false, via: 'G' },
    ]);
    expect(plan.processes[0]!.bindings).toEqual([
      { instance: 'VI_1', weight: 0, reverse: false, via: 'VI_1' },
      { instance: 'VI_2', weight: 3, reverse: false, via: 'G' },
    ]);
  });
});
