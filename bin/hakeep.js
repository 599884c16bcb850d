#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
// Before anything is loaded, take SIGUSR1 away from Node's default (opening the inspector on
// 127.0.0.1:9229: code execution as root for any local user) and USR2/HUP away from theirs
// (terminate). The daemon installs its real handlers later; these stay as a floor until exit.
for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGHUP']) process.on(sig, () => {});

const { main } = await import('../dist/cli.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Once main is done nothing useful is left; a stray handle must not keep a stopped daemon alive.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err) => { console.error(`hakeep: ${err instanceof Error ? err.stack : String(err)}`); process.exit(3); },
);
