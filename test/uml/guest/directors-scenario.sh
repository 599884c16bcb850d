#!/bin/sh
# Guest side of test/uml/directors.test.ts (run by scripts/uml-run.sh inside UML, booted WITHOUT
# the ip_vs modules): two directors (namespaces hkd1, hkd2, each with its own IPVS table), two
# LVS-DR real servers (hkrs1, hkrs2: the VIP on lo, arp_ignore=1, arp_announce=2) and a client
# (hkcl), all on one bridge in the guest's root namespace:
#
#     hkd1  10.79.0.1  ─┐
#     hkd2  10.79.0.2  ─┤
#     hkrs1 10.79.0.11 ─┼─ br0          VIP 10.79.0.100 (VRRP, on the master's eth0)
#     hkrs2 10.79.0.12 ─┤
#     hkcl  10.79.0.50 ─┘
#
# /lib/modules is unmounted first, so neither ipvsadm (which runs `modprobe ip_vs` by itself) nor
# the kernel can load IPVS: it is absent until the scenario mounts it again and loads it.
set -e
umount /lib/modules
dmesg -n 1
ip link add br0 type bridge forward_delay 0
ip link set br0 up
for h in d1:1 d2:2 rs1:11 rs2:12 cl:50; do
  n=${h%%:*}; a=${h#*:}
  ip netns add "hk$n"
  ip link add "p$n" type veth peer name eth0 netns "hk$n"
  ip link set "p$n" master br0 up
  ip -n "hk$n" link set lo up
  ip -n "hk$n" addr add "10.79.0.$a/24" dev eth0
  ip -n "hk$n" link set eth0 up
done
for n in rs1 rs2; do
  ip -n "hk$n" addr add 10.79.0.100/32 dev lo
  ip netns exec "hk$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
done
set +e
node "$REPO/test/uml/guest/directors-scenario.mjs"
rc=$?
for n in d1 d2 rs1 rs2 cl; do ip netns del "hk$n"; done
ip link del br0
exit $rc
