#!/usr/bin/env bash
# Checker benchmark: hakeep vs keepalived on the same configs, in the same UML guest (real IPVS).
#   bench/checker/run.sh                 # 100, 1,000 and 10,000 real servers
#   BENCH_SIZES=100,1000 bench/checker/run.sh
# Prints a table with both daemons' figures and the ratio hakeep/keepalived; raw numbers and each
# daemon's log stay in the result directory it names.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
RESULT_DIR=${RESULT_DIR:-$(mktemp -d /tmp/hku-bench-checker.XXXXXX)}
envs=()
# The real servers: a tiny C accept-and-close loop, so the guest's single CPU goes to the checkers.
server_bin=/tmp/hku-bench-accept-server.$$
if command -v cc >/dev/null 2>&1 && cc -O2 -o "$server_bin" bench/checker/accept-server.c; then
  envs+=(--env "BENCH_SERVER=$server_bin")
else
  echo "no C compiler: the real servers run on node (test/uml/guest/servers.mjs), which costs more guest CPU" >&2
fi
trap 'rm -f "$server_bin"' EXIT
for v in BENCH_SIZES BENCH_DAEMONS BENCH_STEADY_SEC BENCH_KILLS BENCH_DEBUG; do
  if [ -n "${!v:-}" ]; then envs+=(--env "$v=${!v}"); fi
done
set +e
UML_EXTRA_PACKAGES=keepalived scripts/uml-run.sh --mem 2G --timeout 1800 "${envs[@]}" bench/checker/guest.sh "$RESULT_DIR"
rc=$?
set -e
if [ ! -f "$RESULT_DIR/bench.json" ]; then
  echo "benchmark failed (exit $rc); guest output:" >&2
  grep -v '^\[ *[0-9]' "$RESULT_DIR/console.log" | tail -60 >&2
  exit 1
fi
node bench/checker/report.mjs "$RESULT_DIR/bench.json"
echo "raw results and daemon logs: $RESULT_DIR"
