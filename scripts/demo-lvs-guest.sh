#!/bin/sh
# Guest side of the LVS half of the demo: scripts/demo.sh boots User Mode Linux with
# scripts/uml-run.sh (a real kernel with IPVS when the host's has none) and this script runs
# scripts/demo-lvs.sh inside it. The narrative goes to $RESULT_DIR/narrative.log, which
# scripts/demo.sh shows as it grows; the kernel's console stays in $RESULT_DIR/console.log.
dmesg -n 1
DEMO_WORK=/run/hkl-demo exec bash "$REPO/scripts/demo-lvs.sh" >"$RESULT_DIR/narrative.log" 2>&1
