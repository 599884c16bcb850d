#!/usr/bin/env node
// Runs vitest (every test file) and ends with a plain summary line, `Tests: N passed, N failed`,
// that CI reads. Exits with vitest's own exit code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'hakeep-vitest-'));
const out = join(dir, 'results.json');
const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary = 'Tests: 0 passed, 1 failed (vitest wrote no results)';
try {
  const res = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = (res.numPendingTests ?? 0) + (res.numTodoTests ?? 0);
  summary = `Tests: ${res.numPassedTests} passed, ${res.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
} catch { /* keep the failure line */ }
rmSync(dir, { recursive: true, force: true });
console.log(summary);
process.exit(r.status ?? 1);
