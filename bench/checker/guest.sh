#!/bin/sh
# Guest side of the checker benchmark (run by scripts/uml-run.sh inside UML): one namespace with
# ten real-server addresses on a veth, then the node benchmark driver.
set -e
dmesg -n 1  # keep kernel chatter (time-wait overflow and the like) off the console
ip -batch - <<'IP'
netns add hkubs
link add hkubs0 type veth peer name eth0 netns hkubs
addr add 10.78.1.1/24 dev hkubs0
link set hkubs0 up
IP
{
  echo 'link set lo up'
  for a in 11 12 13 14 15 16 17 18 19 20; do echo "addr add 10.78.1.$a/24 dev eth0"; done
  echo 'link set eth0 up'
  echo 'route add default via 10.78.1.1'
} | ip -n hkubs -batch -
# Many short connections: let the server side accept bursts.
ip netns exec hkubs sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
set +e
node "${BENCH_DRIVER:-$REPO/bench/checker/bench.mjs}"
rc=$?
ip netns del hkubs
exit $rc
