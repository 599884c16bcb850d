#!/bin/sh
# Guest side of test/uml/checker-child.test.ts (run by scripts/uml-run.sh inside UML): the director
# (root namespace, hakeep with both halves) and two real servers in namespace hkcrs.
set -e
ip -batch - <<'IP'
netns add hkcrs
link add hkcrs0 type veth peer name eth0 netns hkcrs
addr add 10.78.1.1/24 dev hkcrs0
link set hkcrs0 up
IP
ip -n hkcrs -batch - <<'IP'
link set lo up
addr add 10.78.1.11/24 dev eth0
addr add 10.78.1.12/24 dev eth0
link set eth0 up
route add default via 10.78.1.1
IP
echo 1 > /proc/sys/net/ipv4/ip_forward
set +e
node "$REPO/test/uml/guest/checker-child-scenario.mjs"
rc=$?
ip netns del hkcrs; ip link del hkcrs0 2>/dev/null
exit $rc
