#!/bin/sh
# Guest side of test/uml/restart.test.ts (run by scripts/uml-run.sh inside UML): the director is the
# guest's root namespace (hakeep + kernel IPVS), with a veth to namespace hkr where ten real-server
# addresses (10.80.1.11-20) each listen on 100 ports: 1,000 real servers.
set -e
dmesg -n 1  # keep kernel chatter (time-wait overflow and the like) off the console
ip -batch - <<'IP'
netns add hkr
link add hkr0 type veth peer name eth0 netns hkr
addr add 10.80.1.1/24 dev hkr0
link set hkr0 up
IP
{
  echo 'link set lo up'
  for a in 11 12 13 14 15 16 17 18 19 20; do echo "addr add 10.80.1.$a/24 dev eth0"; done
  echo 'link set eth0 up'
  echo 'route add default via 10.80.1.1'
} | ip -n hkr -batch -
ip netns exec hkr sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
set +e
node "$REPO/test/uml/guest/restart-scenario.mjs"
rc=$?
ip netns del hkr
exit $rc
