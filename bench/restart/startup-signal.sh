#!/usr/bin/env bash
# Reproduction: SIGTERM / SIGKILL while the daemon is still starting (checker child forked, not yet
# ready). See bench/restart/startup-signal.mjs and bench/restart/README.md.
#   bench/restart/startup-signal.sh [RESULT_DIR]     (BENCH_SIZE=100 BENCH_ROUNDS=1 BENCH_DAEMONS=hakeep,keepalived)
# Runs hakeep from dist/ as it is (no build), or from HAKEEP_ROOT (a copy of bin/ + dist/).
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULT_DIR=${1:-$(mktemp -d /tmp/hku-startup-signal.XXXXXX)}
server_bin=$(mktemp /tmp/hku-accept-server.XXXXXX)
trap 'rm -f "$server_bin"' EXIT
cc -O2 -o "$server_bin" bench/checker/accept-server.c
envs=(--env BENCH_SCRIPT=startup-signal.mjs --env "BENCH_SERVER=$server_bin")
for v in BENCH_SIZE BENCH_ROUNDS BENCH_DAEMONS BENCH_KILL_DELAYS HAKEEP_ROOT; do
  if [ -n "${!v:-}" ]; then envs+=(--env "$v=${!v}"); fi
done
set +e
UML_EXTRA_PACKAGES=keepalived scripts/uml-run.sh --mem 1G --timeout 900 "${envs[@]}" bench/restart/guest.sh "$RESULT_DIR"
rc=$?
set -e
if [ ! -f "$RESULT_DIR/startup-signal.json" ]; then
  echo "failed (exit $rc); guest output:" >&2
  grep -v '^\[ *[0-9]' "$RESULT_DIR/console.log" | tail -40 >&2
  exit 1
fi
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const x of r) {
  if (x.skipped) { console.log(`${x.kind} ${x.name} ${x.delayAfterChildSeenMs ?? ""}: skipped (ready before the child was seen)`); continue; }
  console.log(`${x.kind} ${x.name}${x.name === "kill" ? ` (${x.delayAfterChildSeenMs} ms after the checker child appeared)` : ""}: signal ${x.signalAfterStartMs} ms after start; table before ${x.before.services} svc/${x.before.dests} dests, at signal ${x.atSignal.services}/${x.atSignal.dests}, at exit (${x.exitMs} ms, ${JSON.stringify(x.exit)}) ${x.atExit.services}/${x.atExit.dests}, 20 s later ${x.after20s.services}/${x.after20s.dests}; table timeline [ms, svc, dests] ${JSON.stringify(x.tableTimeline)}; "Stopped" logged at ${x.stoppedLineMs} ms; processes outliving the daemon: ${x.leftoverProcesses.length ? x.leftoverProcesses.map((p) => `${p.pid} ${p.cmd} (seen ${p.lastSeenMs} ms after the signal)`).join("; ") : "none"}`);
  for (const l of x.linesAfterStopped) console.log(`    after "Stopped": ${l}`);
}' "$RESULT_DIR/startup-signal.json"
echo "logs: $RESULT_DIR"
