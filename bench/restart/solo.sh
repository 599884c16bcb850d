#!/usr/bin/env bash
# Reproduction: one daemon alone at BENCH_SIZE (default 10,000) healthy real servers in the UML guest,
# nothing else running; counts hakeep's checker-child watchdog kills. See bench/restart/solo.mjs.
#   bench/restart/solo.sh [RESULT_DIR]    (BENCH_SIZE=10000 SOLO_SEC=180 SOLO_POLL_MS=0 BENCH_DAEMONS=hakeep|keepalived HAKEEP_ROOT=…)
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULT_DIR=${1:-$(mktemp -d /tmp/hku-solo.XXXXXX)}
server_bin=$(mktemp /tmp/hku-accept-server.XXXXXX)
trap 'rm -f "$server_bin"' EXIT
cc -O2 -o "$server_bin" bench/checker/accept-server.c
envs=(--env BENCH_SCRIPT=solo.mjs --env "BENCH_SERVER=$server_bin")
for v in BENCH_SIZE SOLO_SEC SOLO_POLL_MS BENCH_DAEMONS HAKEEP_ROOT; do
  if [ -n "${!v:-}" ]; then envs+=(--env "$v=${!v}"); fi
done
set +e
UML_EXTRA_PACKAGES=keepalived scripts/uml-run.sh --mem 2G --timeout 1200 "${envs[@]}" bench/restart/guest.sh "$RESULT_DIR"
set -e
grep '^\[guest.*SOLO' "$RESULT_DIR/console.log" || { grep -v '^\[ *[0-9]' "$RESULT_DIR/console.log" | tail -30; exit 1; }
grep -E 'sent no heartbeat|did not start within|FATAL|Checker side fit' "$RESULT_DIR/solo-${BENCH_DAEMONS:-hakeep}.log" | head -20 || true
echo "log: $RESULT_DIR/solo-${BENCH_DAEMONS:-hakeep}.log"
