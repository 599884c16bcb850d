#!/bin/sh
# Guest side of test/uml/ipvs.test.ts (run by scripts/uml-run.sh inside UML): build the namespaces,
# then hand over to the node scenario. Everything here exists only inside the guest kernel.
set -e
# Director (root namespace): veth to the real servers' namespace, veth to the client, VIPs on a dummy.
ip -batch - <<'IP'
netns add hkurs
netns add hkucl
link add hkurs0 type veth peer name eth0 netns hkurs
link add hkucl0 type veth peer name eth0 netns hkucl
addr add 10.77.1.1/24 dev hkurs0
addr add 10.77.2.1/24 dev hkucl0
link set hkurs0 up
link set hkucl0 up
link add hkuvip type dummy
addr add 10.77.9.100/32 dev hkuvip
addr add 10.77.9.101/32 dev hkuvip
link set hkuvip up
IP
ip -n hkurs -batch - <<'IP'
link set lo up
addr add 10.77.1.11/24 dev eth0
addr add 10.77.1.12/24 dev eth0
addr add 10.77.1.13/24 dev eth0
link set eth0 up
route add default via 10.77.1.1
IP
ip -n hkucl -batch - <<'IP'
link set lo up
addr add 10.77.2.2/24 dev eth0
link set eth0 up
route add default via 10.77.2.1
IP
echo 1 > /proc/sys/net/ipv4/ip_forward
set +e
node "$REPO/test/uml/guest/ipvs-scenario.mjs"
rc=$?
ip netns del hkurs; ip netns del hkucl; ip link del hkuvip
exit $rc
