#!/usr/bin/env bash
# Boot User Mode Linux with systemd 252 as PID 1 (the machine's own, on a copy-on-write view of its
# root: ../../../../shared/docs/systemd-uml.md) and run test/systemd/uml/scenario.mjs as a unit.
#   test/systemd/uml/boot.sh JOB_DIR [TIMEOUT_SEC]
# Results land in JOB_DIR (results.jsonl, driver.log, journal.txt, console.log, exit-code). Exit
# code: the driver's, 98 on timeout, 99 when the guest stopped without one. Run it under
# `flock /tmp/hakeep-heavy.lock` (the test does).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 JOB_DIR [TIMEOUT_SEC]" >&2; exit 2; }
JOB=$(realpath -m "$1")
TIMEOUT=${2:-280}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
command -v linux.uml >/dev/null || { echo "boot: linux.uml is missing: apt-get install -y user-mode-linux" >&2; exit 2; }
[ -x /lib/systemd/systemd ] || { echo "boot: /lib/systemd/systemd is missing: apt-get install -y systemd" >&2; exit 2; }
UML_MODULES=/usr/lib/uml/modules
[ -d "$UML_MODULES" ] || { echo "boot: $UML_MODULES is missing (user-mode-linux incomplete?)" >&2; exit 2; }
NODE_DIR=$(dirname "$(command -v node)")
for p in "$JOB" "$REPO" "$NODE_DIR"; do
  case "$p" in *' '*) echo "boot: $p has a space: the kernel command line cannot carry it" >&2; exit 2 ;; esac
done
rm -rf "$JOB"
mkdir -p "$JOB/uml"
UMID="hksd$$"
set +e
timeout -k 10 "$TIMEOUT" linux.uml mem=900M root=/dev/root rootfstype=hostfs rootflags=/ ro \
  "init=$REPO/test/systemd/uml/stage1.sh" quiet con=null con0=null,fd:1 \
  "uml_dir=$JOB/uml" "umid=$UMID" "JOB=$JOB" "REPO=$REPO" "NODE_DIR=$NODE_DIR" "UML_MODULES=$UML_MODULES" \
  "GUEST_MAX_SEC=$((TIMEOUT - 20))" </dev/null >"$JOB/console.log" 2>&1
rc=$?
set -e
# Whatever is left of that guest's host processes (by its unique umid, by PID).
for pid in $(pgrep -f "umid=$UMID" || true); do kill -KILL "$pid" 2>/dev/null || true; done
rm -rf "$JOB/uml"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "boot: the guest did not finish within ${TIMEOUT}s" >&2; exit 98; fi
[ -f "$JOB/exit-code" ] || { echo "boot: the guest stopped without an exit code (see $JOB/console.log)" >&2; exit 99; }
exit "$(cat "$JOB/exit-code")"
