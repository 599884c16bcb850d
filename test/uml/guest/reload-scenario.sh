#!/bin/sh
# Guest side of test/uml/reload.test.ts (run by scripts/uml-run.sh inside UML): the director is the
# guest's root namespace (hakeep -C + kernel IPVS), with a veth to namespace hkl where the real
# servers (10.81.1.11-15, port 80) listen. ipvsadm is reached through a wrapper that records every
# line hakeep writes to its `ipvsadm -R` session, so the test counts the commands a reload sends.
set -e
dmesg -n 1
ip -batch - <<'IP'
netns add hkl
link add hkl0 type veth peer name eth0 netns hkl
addr add 10.81.1.1/24 dev hkl0
link set hkl0 up
IP
{
  echo 'link set lo up'
  for a in 11 12 13 14 15; do echo "addr add 10.81.1.$a/24 dev eth0"; done
  echo 'link set eth0 up'
} | ip -n hkl -batch -
mkdir -p /run/hkl
IPVSADM=$(command -v ipvsadm)
cat > /run/hkl/ipvsadm-rec <<WRAP
#!/bin/sh
# Records the -R session's input (one line per command), then runs the real ipvsadm.
if [ "\$1" = "-R" ]; then
  tee -a /run/hkl/ipvsadm-R.log | $IPVSADM "\$@"
else
  exec $IPVSADM "\$@"
fi
WRAP
chmod 755 /run/hkl/ipvsadm-rec
set +e
node "$REPO/test/uml/guest/reload-scenario.mjs"
rc=$?
ip netns del hkl
exit $rc
