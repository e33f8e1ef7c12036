#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# PID 1 of dom0's initramfs: loads the modules that reach the root disk,
# mounts it and hands over to the test's init there.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod "/modules/$m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
  echo "XDFATAL: cannot mount dom0's root disk"
  echo o > /proc/sysrq-trigger
fi
umount /proc /sys
mkdir -p /dev/pts
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/xd-init
