#!/usr/bin/env bash
# Advert timing under 10,000 health-checked real servers and a status/metrics scrape every second,
# hakeep against keepalived 2.2.7 in the same UML guest (real IPVS). One guest boot = one run of
# each daemon; bench/checker/run.sh builds the package and boots the guest (its guest.sh makes the
# real-server namespace), bench/observe/bench.mjs drives.
#   bench/observe/run.sh                       # 10,000 real servers, 130 s window, both daemons
#   BENCH_N=1000 BENCH_SECONDS=60 bench/observe/run.sh
#   BENCH_SCRAPE=0 bench/observe/run.sh        # the same without scrapes (baseline)
#   node bench/observe/report.mjs DIR1/bench.json DIR2/bench.json …   # medians over runs
# Run it under `flock /tmp/hakeep-heavy.lock` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BENCH_DRIVER="$PWD/bench/observe/bench.mjs"
export BENCH_REPORT=bench/observe/report.mjs
export BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
exec bench/checker/run.sh
