#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (run as root): the system tools hakeep, its
# tests and the demo use, then the npm dependencies (which build the native addon and raw-socket).
# The demo (npm run demo) needs iproute2, iputils-ping, procps (sysctl), ipvsadm, and, where the
# kernel has no IPVS, kmod and user-mode-linux (its LVS half then runs in a UML guest).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip        || need+=(iproute2)
have make      || need+=(make)
have g++       || need+=(g++)
have python3   || need+=(python3)
have tcpdump   || need+=(tcpdump)
have ping      || need+=(iputils-ping)
have arping    || need+=(iputils-arping)
have keepalived || need+=(keepalived)      # interop peer for tests and benchmarks
[ -x /usr/lib/frr/vrrpd ] || need+=(frr)  # FRR vrrpd: use_vmac interop peer (test/netns/vmac.test.ts)
have ipvsadm   || need+=(ipvsadm)
have modprobe  || need+=(kmod)
have sysctl    || need+=(procps)          # the demo's LVS-DR real servers (arp_ignore, arp_announce)
have linux.uml || need+=(user-mode-linux)  # real kernel IPVS for test/uml

if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# keepalived's Debian package starts a service on install; tests run their own copies only.
if have systemctl && systemctl is-active --quiet keepalived 2>/dev/null; then systemctl stop keepalived || true; fi
# The same for FRR's (zebra, staticd under watchfrr): the use_vmac test runs its own zebra/vrrpd.
if have systemctl && systemctl is-active --quiet frr 2>/dev/null; then systemctl stop frr || true; fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
