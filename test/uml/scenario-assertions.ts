// What every UML scenario file asserts about its guest, written once: the guest ran the scenario
// to its end, each expected result passed, and nothing the file does not know was recorded. The
// guest's files stay for a look when anything failed.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { guestOutput } from './uml-runner.js';
import type { GuestResult, UmlRun } from './uml-runner.js';

/** The guest's output and the tail of each daemon log it left, for failure messages. */
export function guestLogs(run: UmlRun, tailLines = 40): string {
  const parts = [`--- guest output (${run.resultDir}) ---\n${guestOutput(run)}`];
  for (const f of existsSync(run.resultDir) ? readdirSync(run.resultDir).filter((x) => x.endsWith('.log') && x !== 'console.log').sort() : []) {
    parts.push(`--- ${f} ---\n${readFileSync(join(run.resultDir, f), 'utf8').split('\n').slice(-tailLines).join('\n')}`);
  }
  return parts.join('\n');
}

/** Registers the assertions; `state` is read when they run (after beforeAll booted the guest). */
export function scenarioAssertions(state: () => { run: UmlRun; results: GuestResult[] }, expected: readonly string[], logs: () => string): void {
  afterAll(() => {
    const { run, results } = state();
    if (run && run.exitCode === 0 && results.length === expected.length && results.every((r) => r.ok)) {
      rmSync(run.resultDir, { recursive: true, force: true });
    }
  });

  it('the guest booted, ran the scenario to the end and exited 0', () => {
    const { run } = state();
    expect(run.exitCode, `uml-run exit code ${run.exitCode}\n${logs()}`).toBe(0);
  });

  for (const name of expected) {
    it(name, () => {
      const r = state().results.find((x) => x.name === name);
      expect(r, `the guest never reached "${name}"\n${logs()}`).toBeDefined();
      expect(r!.ok, `${name}\nseen: ${JSON.stringify(r!.detail, null, 2)}\n${logs()}`).toBe(true);
    });
  }

  it('recorded no assertion this file does not know about', () => {
    expect(state().results.map((r) => r.name).filter((n) => !expected.includes(n))).toEqual([]);
  });
}
