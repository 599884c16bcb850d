#!/bin/sh
# The checker engine alone in a UML guest (no daemon, no IPVS), for V8 flag trials, and how long a
# spawn blocks the event loop by heap size. From the repository, after `npx tsc -p . --outDir DIST`
# and building the accept-server (see engine-cpu.mjs):
#   scripts/uml-run.sh --mem 2G --env DIST=$DIST --env SERVER=/tmp/accept-server \
#     --env "GC_FLAGS=--max-semi-space-size=1|--max-semi-space-size=4 --single-threaded-gc" \
#     --env TYPE=HTTP_GET --env N=5000 bench/checker/guest-engine.sh /tmp/engine-run
# Each flag set (separated by |) prints engine-cpu.mjs's JSON line to the console log.
ip link set lo up
sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
IFS='|'
for flags in ${GC_FLAGS:---max-semi-space-size=1}; do
  unset IFS
  echo "FLAGS $flags"
  DIST=$DIST SERVER=$SERVER N=${N:-10000} TYPE=${TYPE:-TCP_CHECK} SEC=${SEC:-10} STATUS=10000 timeout 120 node $flags "$REPO/bench/checker/engine-cpu.mjs" 2>/dev/null
  IFS='|'
done
unset IFS
for mb in 0 30 60 100; do timeout 120 node "$REPO/bench/checker/spawn-cost.mjs" $mb; done
