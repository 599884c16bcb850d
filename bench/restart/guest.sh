#!/bin/sh
# Guest side of the restart benchmark (run by scripts/uml-run.sh inside UML): one namespace with
# ten real-server addresses on a veth (as bench/checker/guest.sh), then the node driver
# (bench.mjs, or BENCH_SCRIPT: startup-signal.mjs).
set -e
dmesg -n 1  # keep kernel chatter off the console
ip -batch - <<'IP'
netns add hkurs
link add hkurs0 type veth peer name eth0 netns hkurs
addr add 10.78.1.1/24 dev hkurs0
link set hkurs0 up
IP
{
  echo 'link set lo up'
  for a in 11 12 13 14 15 16 17 18 19 20; do echo "addr add 10.78.1.$a/24 dev eth0"; done
  echo 'link set eth0 up'
  echo 'route add default via 10.78.1.1'
} | ip -n hkurs -batch -
ip netns exec hkurs sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
set +e
node "$REPO/bench/restart/${BENCH_SCRIPT:-bench.mjs}"
rc=$?
ip netns del hkurs
exit $rc
