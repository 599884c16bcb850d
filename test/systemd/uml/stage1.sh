#!/bin/bash
# PID 1 of the systemd guest (test/systemd/uml/boot.sh boots it), before systemd: build a
# copy-on-write root over the host's read-only hostfs root, give the job directory back to the
# host, write the test's units, mask what would touch hardware or the network, then pivot_root and
# exec systemd as PID 1 (../shared/docs/systemd-uml.md: never switch_root here).
# From the kernel command line: JOB (host directory for results), REPO, NODE_DIR, UML_MODULES.
export PATH="$NODE_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
fail() { echo "stage1: $*" >&2; echo "stage1: $*" > /mnt/job/stage1-failed 2>/dev/null; sleep 1; halt -f; exit 1; }
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sys /sys || fail "mount /sys"
mount -t tmpfs run /run || fail "mount /run"
insmod "$UML_MODULES/$(uname -r)/kernel/fs/overlayfs/overlay.ko" || fail "insmod overlay"
mount -t tmpfs -o size=600M cow /mnt || fail "tmpfs on /mnt"
mkdir -p /mnt/upper /mnt/work /mnt/root /mnt/job
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root || fail "overlay"
mount -t hostfs -o "$JOB" hostjob /mnt/job || fail "hostfs $JOB"
R=/mnt/root
mkdir -p "$R$JOB" && mount --bind /mnt/job "$R$JOB" || fail "bind $JOB"
# A clone under /tmp (CI clones anywhere) would vanish under the guest's empty /tmp: keep the
# overlay's view of it (writable: install.sh builds there) and put it back on top.
case "$REPO" in
  /tmp/*) mkdir -p /mnt/repo && mount --bind "$R$REPO" /mnt/repo || fail "bind $REPO" ;;
esac
mount -t tmpfs run "$R/run" && mount -t tmpfs tmp "$R/tmp" || fail "tmpfs /run /tmp"
case "$REPO" in
  /tmp/*) mkdir -p "$R$REPO" && mount --move /mnt/repo "$R$REPO" || fail "move $REPO back" ;;
esac
mkdir -p "$R/lib/modules" && mount --bind "$UML_MODULES" "$R/lib/modules" || fail "bind modules"
rm -f "$R/.dockerenv"

# Units: test.target pulls basic.target and the driver; the driver powers the guest off.
U=$R/etc/systemd/system
cat > "$U/test.target" <<UNIT
[Unit]
Description=hakeep systemd test
Requires=basic.target
Wants=test-run.service
After=basic.target
UNIT
cat > "$U/test-run.service" <<UNIT
[Unit]
Description=hakeep systemd test driver
After=basic.target systemd-journald.service
[Service]
Type=exec
Environment=PATH=$NODE_DIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
Environment=JOB=$JOB RESULT_DIR=$JOB REPO=$REPO
WorkingDirectory=$REPO
ExecStart=$NODE_DIR/node $REPO/test/systemd/uml/scenario.mjs
StandardOutput=file:$JOB/driver.log
StandardError=inherit
RuntimeMaxSec=${GUEST_MAX_SEC:-240}
SuccessAction=poweroff-force
FailureAction=poweroff-force
UNIT
# Nothing of the host image's that would start hardware, network or other daemons.
for u in systemd-timesyncd.service systemd-pstore.service getty@tty1.service getty.target \
         console-getty.service serial-getty@.service timers.target e2scrub_reap.service \
         systemd-networkd.service remote-fs.target sys-kernel-debug.mount sys-kernel-tracing.mount \
         keepalived.service postgresql.service frr.service apt-daily.service apt-daily-upgrade.service \
         systemd-logind.service systemd-udev-trigger.service; do
  ln -sfn /dev/null "$U/$u"
done
rm -f "$R/etc/hakeep/keepalived.conf" "$R/etc/hakeep/hakeep.ini" 2>/dev/null

mount --move /dev "$R/dev" 2>/dev/null || mount -t devtmpfs dev "$R/dev" 2>/dev/null
mount --move /proc "$R/proc" || fail "move /proc"
mount --move /sys "$R/sys" || fail "move /sys"
cd "$R" || fail "cd $R"
mkdir -p .oldroot
pivot_root . .oldroot || fail "pivot_root"
exec chroot . /bin/sh -c 'umount -l /.oldroot; rmdir /.oldroot 2>/dev/null; exec /lib/systemd/systemd --unit=test.target'
