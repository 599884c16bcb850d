#!/bin/sh
# Guest side of test/uml/ipvs-reconcile.test.ts (also run on its own to refresh the fixture):
# build, with plain ipvsadm commands, a table holding every form `ipvsadm -S -n` prints, and save
# the output to $RESULT_DIR/ipvsadm-forms.txt. test/uml/fixtures/ipvsadm-1.31-save.txt is a copy.
set -e
modprobe ip_vs_pe_sip 2>/dev/null || true
ip link add hkform type dummy
ip addr add 10.81.0.1/16 dev hkform
ip -6 addr add fd00:81::1/64 dev hkform nodad
ip link set hkform up
ipvsadm -C
ipvsadm -R <<'RULES'
-A -t 10.81.1.1:80 -s wlc
-a -t 10.81.1.1:80 -r 10.81.0.2:8080 -m -w 3
-a -t 10.81.1.1:80 -r 10.81.0.3:80 -g -w 0
-a -t 10.81.1.1:80 -r 10.81.0.4:80 -i -w 2
-A -t 10.81.1.2:0 -s rr -p 300
-a -t 10.81.1.2:0 -r 10.81.0.2 -g -w 1
-A -u 10.81.1.3:5060 -s rr -p 300 -M 255.255.255.0 --pe sip -o
-a -u 10.81.1.3:5060 -r 10.81.0.5:5060 -m -w 1
-A -u 10.81.1.4:53 -s wrr -o
-A --sctp-service 10.81.1.5:3868 -s lc
-a --sctp-service 10.81.1.5:3868 -r 10.81.0.6:3868 -m -w 5
-A -t 10.81.1.6:443 -s sh -b sh-fallback,sh-port
-A -t 10.81.1.7:443 -s mh -b mh-port
-A -t 10.81.1.8:443 -s wlc -b flag-1,flag-3
-A -t 10.81.1.9:443 -s sh -b flag-3
-A -t 10.81.1.10:80 -s rr
-a -t 10.81.1.10:80 -r 10.81.0.7:80 -i -w 1 --tun-type gue --tun-port 6080
-a -t 10.81.1.10:80 -r 10.81.0.8:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-csum
-a -t 10.81.1.10:80 -r 10.81.0.9:80 -i -w 1 --tun-type gre --tun-csum
-a -t 10.81.1.10:80 -r 10.81.0.10:80 -i -w 1 --tun-type gre
-a -t 10.81.1.10:80 -r [fd00:81::7]:80 -i -w 1
-A -t [fd00:81::100]:80 -s rr -p 60 -M 64
-a -t [fd00:81::100]:80 -r [fd00:81::2]:8080 -m -w 1
-a -t [fd00:81::100]:80 -r [fd00:81::3]:80 -g -w 2
-A -u [fd00:81::100]:53 -s rr -o
-A -f 7 -s wrr
-a -f 7 -r 10.81.0.2:0 -g -w 2
-a -f 7 -r 10.81.0.3:8080 -m -w 1
-A -f 8 -6 -s rr -p 120 -M 48
-a -f 8 -6 -r [fd00:81::2]:0 -g -w 1
-A -f 9 -s rr -p 60 -M 255.255.0.0 -o
-A -f 10 -6 -s sh -b sh-port
RULES
ipvsadm -S -n > "$RESULT_DIR/ipvsadm-forms.txt"
# An older ipvsadm reading the same table (ipvsadm 1.26 built from source: its -S spells ops and
# pe without dashes); test/uml/fixtures/ipvsadm-1.26-save.txt came from here.
if [ -n "${IPVSADM_OLD:-}" ]; then
  "$IPVSADM_OLD" -S -n > "$RESULT_DIR/ipvsadm-forms-old.txt" 2>&1 || true
  "$IPVSADM_OLD" --version >> "$RESULT_DIR/ipvsadm-version.txt" 2>&1 || true
fi
ipvsadm -L -n > "$RESULT_DIR/ipvsadm-forms-list.txt"
ipvsadm --version > "$RESULT_DIR/ipvsadm-version.txt" 2>&1 || true
uname -r > "$RESULT_DIR/kernel.txt"
cat /proc/net/ip_vs > "$RESULT_DIR/proc-ip_vs.txt"
ipvsadm -C
ip link del hkform
