#!/bin/sh
# Guest side of test/uml/checkers.test.ts (run by scripts/uml-run.sh inside UML): the director
# (root namespace, hakeep -C) and HTTP real servers in namespace hkck.
set -e
ip -batch - <<'IP'
netns add hkck
link add hkck0 type veth peer name eth0 netns hkck
addr add 10.78.2.1/24 dev hkck0
link set hkck0 up
IP
ip -n hkck -batch - <<'IP'
link set lo up
addr add 10.78.2.11/24 dev eth0
addr add 10.78.2.12/24 dev eth0
addr add 10.78.2.13/24 dev eth0
link set eth0 up
route add default via 10.78.2.1
IP
echo 1 > /proc/sys/net/ipv4/ip_forward
set +e
node "$REPO/test/uml/guest/checkers-scenario.mjs"
rc=$?
ip netns del hkck; ip link del hkck0 2>/dev/null
exit $rc
