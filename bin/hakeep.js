#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Once main is done nothing useful is left; a stray handle must not keep a stopped daemon alive.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err) => { console.error(`hakeep: ${err instanceof Error ? err.stack : String(err)}`); process.exit(3); },
);
