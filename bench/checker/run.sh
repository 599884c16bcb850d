#!/usr/bin/env bash
# Checker benchmark: hakeep vs keepalived on the same configs, in the same UML guest (real IPVS).
#   bench/checker/run.sh                 # 100, 1,000 and 10,000 real servers
#   BENCH_SIZES=100,1000 bench/checker/run.sh
#   BENCH_TYPES=HTTP_GET,MISC_CHECK bench/checker/run.sh   # checker types (default TCP_CHECK,HTTP_GET,MISC_CHECK)
#   BENCH_PLAN=TCP_CHECK:10000,HTTP_GET:10000 bench/checker/run.sh   # exactly these rows, in this order
# Prints a table with both daemons' figures and the ratio hakeep/keepalived; raw numbers and each
# daemon's log stay in the result directory it names.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULT_DIR=${RESULT_DIR:-$(mktemp -d /tmp/hku-bench-checker.XXXXXX)}
# hakeep compiled from src/ into a package-like snapshot (dist/ belongs to whoever last built it).
pkg=$(mktemp -d /tmp/hku-bench-pkg.XXXXXX)
npx tsc -p . --outDir "$pkg/dist"
mkdir -p "$pkg/bin" "$pkg/native/build/Release"
cp bin/hakeep.js "$pkg/bin/"
cp package.json "$pkg/"
cp "${HAKEEP_NATIVE_ADDON:-native/build/Release/hakeep_native.node}" "$pkg/native/build/Release/hakeep_native.node"
ln -s "$PWD/node_modules" "$pkg/node_modules"
envs=(--env "HAKEEP_ROOT=$pkg")
# The real servers: a tiny C accept-and-close loop, so the guest's single CPU goes to the checkers.
server_bin=/tmp/hku-bench-accept-server.$$
if command -v cc >/dev/null 2>&1 && cc -O2 -o "$server_bin" bench/checker/accept-server.c; then
  envs+=(--env "BENCH_SERVER=$server_bin")
else
  echo "no C compiler: the real servers run on node (test/uml/guest/servers.mjs), which costs more guest CPU" >&2
fi
# MISC_CHECK runs this small program (connect to the real server) for both daemons.
misc_bin=/tmp/hku-bench-connect-check.$$
cc -O2 -o "$misc_bin" bench/checker/connect-check.c && envs+=(--env "BENCH_MISC_BIN=$misc_bin")
trap 'rm -rf "$server_bin" "$misc_bin" "$pkg"' EXIT
for v in HAKEEP_CHECKER_NODE_FLAGS BENCH_DRIVER BENCH_N BENCH_SECONDS BENCH_SCRAPE BENCH_SIZES BENCH_TYPES BENCH_DAEMONS BENCH_STEADY_SEC BENCH_KILLS BENCH_DEBUG BENCH_MISC_RATE BENCH_NODE_ARGS BENCH_PLAN BENCH_ALT_NODE_FLAGS BENCH_HTTP_DELAY_LOOP; do
  if [ -n "${!v:-}" ]; then envs+=(--env "$v=${!v}"); fi
done
set +e
UML_EXTRA_PACKAGES=keepalived scripts/uml-run.sh --mem 2G --timeout ${BENCH_TIMEOUT:-7200} "${envs[@]}" bench/checker/guest.sh "$RESULT_DIR"
rc=$?
set -e
if [ ! -f "$RESULT_DIR/bench.json" ]; then
  echo "benchmark failed (exit $rc); guest output:" >&2
  grep -v '^\[ *[0-9]' "$RESULT_DIR/console.log" | tail -60 >&2
  exit 1
fi
# BENCH_DRIVER / BENCH_REPORT: another benchmark on the same guest (bench/observe/run.sh).
node "${BENCH_REPORT:-bench/checker/report.mjs}" "$RESULT_DIR/bench.json"
echo "raw results and daemon logs: $RESULT_DIR"
