#!/bin/sh
# Guest side of test/uml/ipvs-reconcile.test.ts (run by scripts/uml-run.sh inside UML): capture
# the ipvsadm -S forms, then drive hakeep's reconciler (compiled to $HK_IPVS_JS) against the real
# kernel IPVS table: refused commands, the owned record, adoption of 1,000 destinations, and the
# convergence property. Everything here exists only inside the guest kernel.
set -e
sh "$REPO/test/uml/guest/ipvsadm-forms.sh"
modprobe ip_vs_pe_sip 2>/dev/null || true
# Real-server addresses must be reachable, or ipvsadm -a says "address not unicast".
ip link add hkrc type dummy
ip addr add 10.80.0.1/16 dev hkrc
ip -6 addr add fd00:80::1/64 dev hkrc nodad
ip link set hkrc up
mkdir -p /run/hk-test
set +e
node "$REPO/test/uml/guest/ipvs-reconcile.mjs"
rc=$?
ipvsadm -C
ip link del hkrc
exit $rc
