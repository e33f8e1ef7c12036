#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the realxen suite's dom0 into OUTDIR (made atomically: OUTDIR.tmp,
# then a rename): a Debian 12 root with xen-utils-4.17 packed as a raw ext4
# image (dom0.img), its kernel (vmlinuz), the modules that dom0 needs to
# mount its root (modules/, loaded in the order of modules/order by the
# small initramfs run-realxen.py makes: Debian's own runs udev over all the
# emulated hardware, which costs half a minute under TCG; virtio-rng feeds
# the kernel's random pool, or xenstored waits a minute for it) and the
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
  # The desktop steps: what the xen-devices package depends on (installed at
  # each run from the payload disk, with dpkg -i), udev for its rule, and a
  # desktop session as scripts/run-desktop makes one.
  adduser udev libgtk-3-0 libayatana-appindicator3-1 libdbusmenu-glib4 librsvg2-common
  dconf-gsettings-backend fonts-dejavu-core adwaita-icon-theme
  xvfb xauth x11-utils xdotool imagemagick dbus-daemon dbus-bin libglib2.0-bin
  xfce4-panel xfconf xfce4-notifyd
)

rm -rf "$tmp"
mkdir -p "$tmp"
# minbase: no systemd is started anyway, the test is PID 1.
mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  bookworm "$tmp/rootfs"

root=$tmp/rootfs
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
mkdir "$tmp/modules"
# Each module after the ones it needs (modules.dep lists a module's
# dependencies, the deepest last).
for m in virtio_pci virtio_blk virtio-rng crc32c_generic ext4; do
  dep=$(grep -E "/$m\.ko:" "$root/lib/modules/$kver/modules.dep")
  for f in $(echo "${dep#*:}" | tr ' ' '\n' | tac) "${dep%%:*}"; do
    [ -n "$f" ] || continue
    b=$(basename "$f")
    grep -qx "$b" "$tmp/modules/order" 2>/dev/null && continue
    cp "$root/lib/modules/$kver/$f" "$tmp/modules/"
    echo "$b" >> "$tmp/modules/order"
  done
done
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
