#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the realxen suite's dom0 into OUTDIR (made atomically: OUTDIR.tmp,
# then a rename): a Debian 12 root with xen-utils-4.17 packed as a raw ext4
# image (dom0.img), its kernel (vmlinuz) and initramfs (initrd.img), and the
# guest's block driver (xen-blkfront.ko). Needs root and mmdebstrap. The
# programs under test are not in it: they come on a second disk at each run.
#
# usage: build-image.sh OUTDIR
set -euo pipefail

out=$1
tmp=$out.tmp
packages=(
  xen-utils-4.17 xenstore-utils qemu-system-xen linux-image-amd64
  kmod busybox util-linux e2fsprogs procps usbutils libglib2.0-0
)

rm -rf "$tmp"
mkdir -p "$tmp"
# minbase: no systemd is started anyway, the test is PID 1.
mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  bookworm "$tmp/rootfs"

root=$tmp/rootfs
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$tmp/initrd.img"
cp "$(find "$root/lib/modules/$kver" -name 'xen-blkfront.ko*' | head -n1)" "$tmp/"

# PID 1 of the test: mounts the payload disk (the second virtio disk, made
# fresh at every run) and runs its script; powers off whatever happens.
cat > "$root/sbin/xd-init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /mnt/payload
if mount -t ext4 /dev/vdb /mnt/payload; then
  /bin/bash /mnt/payload/dom0-run.sh
else
  echo "XDFATAL: cannot mount the payload disk"
fi
sync
echo o > /proc/sysrq-trigger
sleep 60
INIT
chmod 755 "$root/sbin/xd-init"
echo realxen-dom0 > "$root/etc/hostname"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

size_mb=$(( $(du -sm "$root" | cut -f1) + 768 ))
mkfs.ext4 -q -L xd-dom0 -d "$root" "$tmp/dom0.img" "${size_mb}M"
rm -rf "$root"
rm -rf "$out"
mv "$tmp" "$out"
