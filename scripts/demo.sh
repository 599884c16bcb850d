#!/usr/bin/env bash
# hakeep demo, run as root: npm run demo (after bash scripts/setup.sh). Two parts:
#  VRRP: two directors and a client in network namespaces on one bridge. Starts hakeep (-P) on
#    both directors from examples/vrrp-master.conf and examples/vrrp-backup.conf, then shows the
#    election, the client reaching the VIP, a failover when the master stops, and the master's
#    return, then a link fault (FAULT state and preemption back), quoting the daemons' own log lines.
#  LVS (scripts/demo-lvs.sh): two directors running both halves in front of two LVS-DR real web
#    servers, a client fetching pages through the VIP; a real server killed and brought back, the
#    master stopped. It needs kernel IPVS: on the host when `modprobe ip_vs` works, otherwise
#    inside User Mode Linux (scripts/uml-run.sh, scripts/demo-lvs-guest.sh).
# Non-interactive; the demo doubles as a smoke test: it exits non-zero when a fact it states does
# not hold, and removes everything it created (namespaces, processes by PID, the UML guest), also
# when interrupted. Environment: HAKEEP_BIN=/path/to/bin/hakeep.js runs another build;
# HAKEEP_DEMO=vrrp|lvs runs one part only; HAKEEP_DEMO_LVS=host|uml forces where the LVS part runs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The hakeep to run: this checkout's by default; HAKEEP_BIN=/path/to/bin/hakeep.js runs another build.
HAKEEP_BIN=${HAKEEP_BIN:-$ROOT/bin/hakeep.js}
HAKEEP_DIR=$(cd "$(dirname "$(realpath "$HAKEEP_BIN")")/.." && pwd)
P=hkd                       # prefix of every namespace this demo creates
SUBNET=192.168.51           # the examples' subnet; exists only inside the demo's namespaces
VIP=$SUBNET.100
WORK=$(mktemp -d /tmp/hkd-demo.XXXXXX)
declare -A DAEMON_PID=()
LVS_PID=''                  # scripts/demo-lvs.sh or scripts/uml-run.sh while the LVS part runs
PARTS=${HAKEEP_DEMO:-vrrp lvs}
declare -A SHOWN=()         # log lines already narrated, per director
T0=$(date +%s.%N)

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$LVS_PID" ]; then
    # uml-run.sh kills its guest and demo-lvs.sh its processes and namespaces when told to stop.
    kill -TERM "$LVS_PID" 2>/dev/null || true
    wait "$LVS_PID" 2>/dev/null || true
  fi
  for d in "${!DAEMON_PID[@]}"; do
    kill -TERM "${DAEMON_PID[$d]}" 2>/dev/null || true
  done
  sleep 0.3
  for d in "${!DAEMON_PID[@]}"; do
    kill -KILL "${DAEMON_PID[$d]}" 2>/dev/null || true
  done
  for ns in d1 d2 client sw; do ip netns del "$P-$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
  if [ "$rc" -eq 0 ]; then echo; echo "demo finished in $(elapsed) s; namespaces and processes removed"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "interrupted" >&2; exit 130' INT TERM

fail() {
  echo >&2
  echo "DEMO FAILED: $*" >&2
  for d in d1 d2; do
    [ -f "$WORK/$d.log" ] && { echo "--- last log lines of $d ---" >&2; tail -n 15 "$WORK/$d.log" >&2; }
  done
  exit 1
}

# --- prerequisites ------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "the demo creates network namespaces: run it as root"
command -v ip >/dev/null || fail "ip (iproute2) is missing: apt-get install -y iproute2"
[ -f "$HAKEEP_DIR/dist/cli.js" ] || fail "dist/ is missing: run npm run build (npm run demo does it)"
[ -f "$HAKEEP_DIR/native/build/Release/hakeep_native.node" ] || fail "the native addon is not built (GARP needs it): run npm install"
if ! command -v ping >/dev/null; then
  echo "installing iputils-ping (the client pings the VIP)"
  { apt-get install -y -q iputils-ping >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q iputils-ping >/dev/null 2>&1; }; } \
    || fail "cannot install iputils-ping: apt-get install -y iputils-ping"
fi

if [[ " $PARTS " == *" vrrp "* ]]; then
# --- the lab --------------------------------------------------------------------------------------
say "Building the lab: a bridge, director1 ($SUBNET.10), director2 ($SUBNET.11), client ($SUBNET.12)"
for ns in d1 d2 client sw; do ip netns del "$P-$ns" 2>/dev/null || true; done
ip netns add "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
i=0
for h in d1 d2 client; do
  ip netns add "$P-$h"
  ip -n "$P-sw" link add "p$i" type veth peer name eth0 netns "$P-$h"
  ip -n "$P-sw" link set "p$i" master br0 up
  ip -n "$P-$h" link set lo up
  ip -n "$P-$h" addr add "$SUBNET.$((10 + i))/24" dev eth0
  ip -n "$P-$h" link set eth0 up
  i=$((i + 1))
done
mac() { ip -n "$P-$1" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
MAC_D1=$(mac d1)
MAC_D2=$(mac d2)
note "director1 MAC $MAC_D1, director2 MAC $MAC_D2"

# --- helpers --------------------------------------------------------------------------------------
NAME_d1=director1
NAME_d2=director2

start_hakeep() { # start_hakeep d1|d2 CONFIG
  local d=$1 conf=$2
  : > "$WORK/$d.log"
  SHOWN[$d]=0
  ip netns exec "$P-$d" node "$HAKEEP_BIN" -n -P -f "$ROOT/examples/$conf" --log-format text \
    -p "$WORK/$d.pid" --status-socket "$WORK/$d.sock" >>"$WORK/$d.log" 2>&1 &
  DAEMON_PID[$d]=$!
}

narrate() { # print a director's log lines not shown yet
  local d=$1 name
  name="NAME_$d"
  local total
  total=$(wc -l <"$WORK/$d.log")
  if [ "$total" -gt "${SHOWN[$d]}" ]; then
    tail -n +"$((SHOWN[$d] + 1))" "$WORK/$d.log" | head -n "$((total - SHOWN[$d]))" \
      | sed -e "s/^[0-9T:-]*\([0-9][0-9]:[0-9][0-9]:[0-9.]*\)Z /\1 /" -e "s/^/   ${!name} | /"
    SHOWN[$d]=$total
  fi
}

wait_log() { # wait_log d1 REGEX SECONDS [FROM_LINE]: wait for a new line matching REGEX
  local d=$1 re=$2 secs=$3 from=${4:-0} n=0
  while ! tail -n +"$((from + 1))" "$WORK/$d.log" | grep -qE "$re"; do
    n=$((n + 1))
    if [ "$n" -gt $((secs * 20)) ]; then narrate d1; narrate d2; fail "${d}: no log line matching '$re' within ${secs} s"; fi
    if [ -n "${DAEMON_PID[$d]:-}" ] && ! kill -0 "${DAEMON_PID[$d]}" 2>/dev/null; then fail "hakeep on $d exited"; fi
    sleep 0.05
  done
}

lines() { wc -l <"$WORK/$1.log"; }
has_vip() { ip -n "$P-$1" -o -4 addr show dev eth0 | grep -q " $VIP/"; }
client_mac_for_vip() { ip -n "$P-client" neigh show "$VIP" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }

ping_vip() { # ping_vip EXPECTED_MAC WHO
  local out
  if ! out=$(ip netns exec "$P-client" ping -n -c 3 -i 0.2 -w 5 "$VIP" 2>&1); then
    echo "$out" | sed 's/^/   client | /'
    fail "the client cannot reach $VIP"
  fi
  echo "$out" | grep -E 'bytes from|packet loss' | sed 's/^/   client | /'
  local m
  m=$(client_mac_for_vip)
  [ "$m" = "$1" ] || fail "the client's ARP entry for $VIP is '$m', expected $2's MAC $1"
  note "client's ARP entry: $VIP is at $m ($2)"
}

# --- 1. election ------------------------------------------------------------------------------------
say "1. Election: hakeep on both directors (VI_1, VRID 51, priority 150 vs 100, PASS auth)"
start_hakeep d1 vrrp-master.conf
start_hakeep d2 vrrp-backup.conf
wait_log d1 'Entering MASTER STATE' 10
sleep 0.3
narrate d1
narrate d2
has_vip d1 || fail "director1 is MASTER but does not hold $VIP"
has_vip d2 && fail "director2 holds $VIP too"
ip -n "$P-d1" -4 -br addr show dev eth0 | sed 's/^/   director1 | ip -br addr: /'
note "director1 is MASTER and holds $VIP; director2 is BACKUP"

say "2. The client reaches the VIP"
sleep 1   # Linux ignores ARP updates for an entry younger than 1 s (locktime); let the GARPs age
ping_vip "$MAC_D1" director1

# --- 3. failover ------------------------------------------------------------------------------------
say "3. Failover: stopping hakeep on director1 (SIGTERM: it sends priority 0 and removes the VIP)"
sleep 1.1 # locktime again, so the new master's GARP is taken
from2=$(lines d2)
t_stop=$(date +%s%N)
kill -TERM "${DAEMON_PID[d1]}"
wait_log d2 'Entering MASTER STATE' 5 "$from2"
t_master=$(date +%s%N)
wait "${DAEMON_PID[d1]}" || fail "hakeep on director1 did not exit cleanly"
unset 'DAEMON_PID[d1]'
sleep 0.2
narrate d1
narrate d2
has_vip d2 || fail "director2 is MASTER but does not hold $VIP"
has_vip d1 && fail "director1 still holds $VIP after stopping"
note "director2 took over $(( (t_master - t_stop) / 1000000 )) ms after the stop (Skew_Time for priority 100 is 609 ms)"
ping_vip "$MAC_D2" director2

# --- 4. the master returns --------------------------------------------------------------------------
say "4. director1 returns and preempts (priority 150 > 100)"
sleep 1.1
from2=$(lines d2)
start_hakeep d1 vrrp-master.conf
wait_log d1 'Entering MASTER STATE' 10
wait_log d2 'Entering BACKUP STATE' 5 "$from2"
sleep 0.3
narrate d1
narrate d2
has_vip d1 || fail "director1 is MASTER again but does not hold $VIP"
has_vip d2 && fail "director2 still holds $VIP after yielding"
ping_vip "$MAC_D1" director1

# --- 5. a link fault --------------------------------------------------------------------------------
say "5. director1 loses its link (ip link set eth0 down): FAULT, director2 takes over; link back: preempt"
sleep 1.1
from1=$(lines d1)
from2=$(lines d2)
ip -n "$P-d1" link set eth0 down
wait_log d1 'Entering FAULT STATE' 3 "$from1"
wait_log d2 'Entering MASTER STATE' 6 "$from2"
sleep 0.3
narrate d1
narrate d2
has_vip d1 && fail "director1 is in FAULT but still holds $VIP"
has_vip d2 || fail "director2 is MASTER but does not hold $VIP"
ping_vip "$MAC_D2" director2
sleep 1.1
from1=$(lines d1)
from2=$(lines d2)
ip -n "$P-d1" link set eth0 up
wait_log d1 'Entering MASTER STATE' 8 "$from1"
wait_log d2 'Entering BACKUP STATE' 5 "$from2"
sleep 0.3
narrate d1
narrate d2
has_vip d1 || fail "director1 is MASTER again but does not hold $VIP"
ping_vip "$MAC_D1" director1

say "6. Stopping both directors"
for d in d2 d1; do
  kill -TERM "${DAEMON_PID[$d]}"
  wait "${DAEMON_PID[$d]}" || fail "hakeep on $d did not exit cleanly"
  unset "DAEMON_PID[$d]"
done
narrate d1
narrate d2
has_vip d1 && fail "director1 kept $VIP after stopping"
note "all VIPs removed"
for ns in d1 d2 client sw; do ip netns del "$P-$ns" 2>/dev/null || true; done
fi

# --- the LVS half ---------------------------------------------------------------------------------
if [[ " $PARTS " == *" lvs "* ]]; then
  where=${HAKEEP_DEMO_LVS:-}
  if [ -z "$where" ]; then
    if [ -e /proc/net/ip_vs ] || modprobe ip_vs 2>/dev/null; then where=host; else where=uml; fi
  fi
  if [ "$where" = host ]; then
    say "The LVS half: this kernel has IPVS, so in network namespaces on this machine"
    HAKEEP_BIN="$HAKEEP_BIN" bash "$ROOT/scripts/demo-lvs.sh" &
    LVS_PID=$!
    rc=0
    wait "$LVS_PID" || rc=$?
    LVS_PID=''
    [ "$rc" -eq 0 ] || fail "the LVS part failed (exit code $rc; its output is above)"
  else
    say "The LVS half: this kernel has no IPVS (modprobe ip_vs fails), so inside User Mode Linux (a real kernel with IPVS)"
    note "booting the guest (scripts/uml-run.sh: the host's files, its own kernel); in it, scripts/demo-lvs.sh"
    guest=$WORK/uml
    bash "$ROOT/scripts/uml-run.sh" --mem 768M --timeout 240 --modules "ip_vs ip_vs_rr veth bridge" \
      --env "HAKEEP_BIN=$HAKEEP_BIN" "$ROOT/scripts/demo-lvs-guest.sh" "$guest" &
    LVS_PID=$!
    # The guest's narrative as it is written (tail stops once uml-run.sh has exited).
    tail -n +1 -F -s 0.3 --pid="$LVS_PID" "$guest/narrative.log" 2>/dev/null || true
    rc=0
    wait "$LVS_PID" || rc=$?
    LVS_PID=''
    if [ "$rc" -ne 0 ]; then
      [ -f "$guest/console.log" ] && { echo "--- last lines of the guest's console ---" >&2; tail -n 20 "$guest/console.log" >&2; }
      fail "the LVS part failed in User Mode Linux (exit code $rc)"
    fi
  fi
fi
