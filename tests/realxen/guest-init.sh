#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# PID 1 of the realxen suite's PV guests (busybox initramfs): reports on its
# console (hvc0, logged by xenconsoled in dom0) every Xen disk that comes or
# goes, with its read-only flag and the marker at its start.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /xen-blkfront.ko
echo "GUEST up"
prev=""
first=1
while true; do
  # No process per round: under emulation every fork costs dom0 time.
  cur=""
  for p in /sys/block/xvd*; do
    [ -e "$p" ] && cur="$cur${p##*/} "
  done
  if [ "$cur" != "$prev" ] || [ -n "$first" ]; then
    first=
    for d in $cur; do
      case " $prev " in
        *" $d "*) ;;
        *) ro=$(cat /sys/block/$d/ro)
           marker=$(head -c 32 /dev/$d 2>/dev/null | tr -dc 'A-Za-z0-9-')
           echo "GUEST disk-added $d ro=$ro marker=$marker" ;;
      esac
    done
    for d in $prev; do
      case " $cur " in
        *" $d "*) ;;
        *) echo "GUEST disk-removed $d" ;;
      esac
    done
    echo "GUEST disks: $cur"
    prev=$cur
  fi
  sleep 0.5
done
