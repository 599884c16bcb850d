// `node bench/checker/run.mjs` = bench/checker/run.sh (the shell script does the work).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const r = spawnSync('bash', [join(dirname(fileURLToPath(import.meta.url)), 'run.sh'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
