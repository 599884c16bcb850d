#!/bin/sh
# Guest side of test/uml/sync-daemon.test.ts (run by scripts/uml-run.sh inside UML, ip_vs loaded):
# two LVS-DR directors (namespaces hks1, hks2, each with its own IPVS table and sync daemon), two
# real servers (VIP on lo, arp_ignore=1, arp_announce=2) and a client on one bridge:
#
#     hks1   10.81.0.1  ─┐
#     hks2   10.81.0.2  ─┤
#     hksrs1 10.81.0.11 ─┼─ br0          VIP 10.81.0.100 (VRRP, on the master's eth0)
#     hksrs2 10.81.0.12 ─┤                IPVS sync: multicast 224.0.0.81 on eth0
#     hkscl  10.81.0.50 ─┘
set -e
dmesg -n 1
ip link add br0 type bridge forward_delay 0 mcast_snooping 0
ip link set br0 up
for h in s1:1 s2:2 srs1:11 srs2:12 scl:50; do
  n=${h%%:*}; a=${h#*:}
  ip netns add "hk$n"
  ip link add "p$n" type veth peer name eth0 netns "hk$n"
  ip link set "p$n" master br0 up
  ip -n "hk$n" link set lo up
  ip -n "hk$n" addr add "10.81.0.$a/24" dev eth0
  ip -n "hk$n" link set eth0 up
done
for n in srs1 srs2; do
  ip -n "hk$n" addr add 10.81.0.100/32 dev lo
  ip netns exec "hk$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
done
set +e
node "$REPO/test/uml/guest/sync-daemon-scenario.mjs"
rc=$?
for n in s1 s2 srs1 srs2 scl; do ip netns del "hk$n"; done
ip link del br0
exit $rc
