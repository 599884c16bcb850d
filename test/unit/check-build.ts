// Compiled checker code for tests that start real processes (the checker child is forked from
// compiled JavaScript, and `ip netns exec` runs plain node). The repository's dist/ belongs to
// other work, so this compiles the entry points (tsc follows their imports) into a temporary
// directory laid out like the package: dist/ next to symlinks to the checkout's native/ and
// node_modules/, so native.ts finds the addon through its usual ../../native path.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// The script spawner too: the checker child runs notify scripts and MISC_CHECK through it.
const ENTRIES = ['src/check/service.ts', 'src/check/child.ts', 'src/check/tcp-probe.ts', 'src/script/spawner.ts'];

export interface CheckerBuild {
  /** The package-like root: dist/, native -> checkout, node_modules -> checkout. */
  root: string;
  dist: string;
  remove(): void;
}

export function compileChecker(): CheckerBuild {
  if (!existsSync(join(ROOT, 'native/build/Release/hakeep_native.node'))) {
    throw new Error('native addon not built: run npm install in the hakeep directory (needs python3 make g++)');
  }
  const root = mkdtempSync(join(tmpdir(), 'hakeep-check-build-'));
  const dist = join(root, 'dist');
  const r = spawnSync('npx', ['tsc', '--ignoreConfig', '--outDir', dist, '--rootDir', join(ROOT, 'src'), '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node',
    ...ENTRIES.map((e) => join(ROOT, e))], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  for (const e of ['check/service.js', 'check/child.js', 'check/tcp-probe.js', 'script/spawner.js']) {
    if (!existsSync(join(dist, e))) throw new Error(`tsc did not produce ${e}: ${r.stdout}${r.stderr}`);
  }
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'native'), join(root, 'native'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return { root, dist, remove: () => rmSync(root, { recursive: true, force: true }) };
}
