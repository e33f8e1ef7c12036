#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The realxen suite inside dom0 (run by /sbin/xd-init from the payload disk).
# Starts the Xen daemons, then runs each step with a time limit and prints
#   XDSTEP ok|not ok - NAME (SECONDS s)
# on the console, which the host turns into TAP. What a step saw goes to
# /results, which is written as a tar archive to the third disk at the end.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
P=/mnt/payload
R=/results
mkdir -p $R/xs
export XEN_DEVICES_TOOLSTACK=libxl
export XEN_DEVICES_TIMEOUT_MS=60000
XD=$P/bin/xen-device

now () { cut -d' ' -f1 /proc/uptime; }
log () { echo "XDLOG $(now) $*"; }

finish () {
  log "finishing"
  [ -n "${EVLOG_PID:-}" ] && kill "$EVLOG_PID" 2>/dev/null
  [ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null
  sleep 0.5
  cp /var/log/xen/console/guest-*.log $R/ 2>/dev/null
  cp /var/log/xen/*.log $R/ 2>/dev/null
  dmesg > $R/dom0-dmesg.txt
  (cd $R && tar cf /dev/vdc .) && log "results written"
  echo "XDDONE"
}
trap finish EXIT

# ---- steps ---------------------------------------------------------------

STEP_FAILED=0
# step NAME TIMEOUT FUNCTION: runs FUNCTION in a subshell (its output goes to
# $R/step-NAME.txt and, on failure, to the console).
step () {
  local name=$1 limit=$2 fn=$3 t0 t1 rc
  t0=$(now)
  log "step $name"
  timeout -k 5 "$limit" bash -c "set -uo pipefail; $(declare -f); $(declare -p XD P R DEB_DIR 2>/dev/null); $fn" \
    > "$R/step-$name.txt" 2>&1
  rc=$?
  t1=$(now)
  local dt
  dt=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
  if [ $rc -eq 0 ]; then
    echo "XDSTEP ok - $name (${dt}s)"
  else
    [ $rc -eq 124 ] && echo "step timed out after ${limit}s" >> "$R/step-$name.txt"
    STEP_FAILED=1
    echo "XDSTEP not ok - $name (${dt}s)"
    sed 's/^/XDOUT | /' "$R/step-$name.txt"
  fi
  return $rc
}

# expect TEXT FILE: fails with FILE's contents unless it holds TEXT.
expect () {
  if ! grep -qF -- "$1" "$2"; then
    echo "expected “$1” in $2, which holds:"
    cat "$2"
    return 1
  fi
}

# wait_for SECONDS FILE TEXT: waits until FILE holds TEXT.
wait_for () {
  local limit=$1 file=$2 text=$3 i=0
  while ! grep -qF -- "$text" "$file" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt $((limit * 2)) ]; then
      echo "timed out after ${limit}s waiting for “$text” in $file, which holds:"
      cat "$file" 2>/dev/null
      return 1
    fi
    sleep 0.5
  done
  echo "saw “$text” in $file"
}

# Lines the guest console has printed since the mark set by mark_guest.
mark_guest () { wc -l < "/var/log/xen/console/guest-$1.log" > "/tmp/mark-$1"; }
guest_since () {
  tail -n +$(( $(cat "/tmp/mark-$1") + 1 )) "/var/log/xen/console/guest-$1.log" > "/tmp/since-$1"
  echo "/tmp/since-$1"
}
wait_guest () {
  local limit=$1 vm=$2 text=$3 i=0
  while ! grep -qF -- "$text" "$(guest_since "$vm")"; do
    i=$((i + 1))
    if [ $i -gt $((limit * 2)) ]; then
      echo "timed out after ${limit}s waiting for “$text” on $vm's console; since the mark:"
      cat "/tmp/since-$vm"
      return 1
    fi
    sleep 0.5
  done
  echo "$vm printed “$text”"
}

# dump_xs NAME: the subtrees the engine reads, for the comparison with the
# simulated toolstack.
dump_xs () {
  echo "[$(now)] dump $1"
  local d
  for d in $(xenstore-list /local/domain); do
    [ "$d" = 0 ] && continue
    for p in /local/domain/0/backend/vbd/$d /local/domain/0/backend/qusb/$d \
      /local/domain/0/backend/vusb/$d /libxl/$d/device/vbd /libxl/$d/device/vusb \
      /local/domain/$d/device/vbd /local/domain/$d/device/vusb; do
      xenstore-ls -f -p "$p" 2>/dev/null
    done
    echo "/local/domain/$d/name = \"$(xenstore-read /local/domain/$d/name)\"   (n0)"
  done > "$R/xs/$1.txt"
  echo "[$(now)] dumped"
}

xdcli () {
  echo "[$(now)] \$ xen-device $*"
  # A call that takes long leaves a picture of dom0's processes.
  (sleep 25; ps -eo pid,ppid,stat,wchan:24,etimes,args > "$R/ps-$(now).txt") &
  local watcher=$!
  "$XD" "$@"
  local rc=$?
  kill $watcher 2>/dev/null
  echo "[$(now)] (exit $rc)"
  return $rc
}

# list_shows CLASS TEXT, list_lacks CLASS TEXT: `xen-device CLASS list`
# holds TEXT, or does not.
list_shows () {
  xdcli "$1" list > /tmp/out 2>&1
  cat /tmp/out
  expect "$2" /tmp/out
}
list_lacks () {
  xdcli "$1" list > /tmp/out 2>&1
  cat /tmp/out
  ! grep -qF -- "$2" /tmp/out
}

# ---- bring-up ------------------------------------------------------------

setup_xen () {
  mkdir -p /dev/pts /dev/shm
  # What udev would make; the hotplug scripts' locking stats /dev/stdin.
  ln -sf /proc/self/fd /dev/fd
  ln -sf /proc/self/fd/0 /dev/stdin
  ln -sf /proc/self/fd/1 /dev/stdout
  ln -sf /proc/self/fd/2 /dev/stderr
  mount -t devpts devpts /dev/pts
  mount -t tmpfs tmpfs /run
  mount -t tmpfs tmpfs /tmp
  mount -t tmpfs tmpfs /srv
  mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/run/xen /var/lib/xen
  modprobe -a xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback loop xhci_pci \
    || return 1
  # Trace the block hotplug script that libxl runs (kept with the results:
  # under emulation it is the slowest part of an attach).
  mv /etc/xen/scripts/block /etc/xen/scripts/block.real
  cat > /etc/xen/scripts/block <<'WRAP'
#!/bin/bash
exec 9>>/results/block-script-trace.txt
echo "== $EPOCHREALTIME block $* (pid $$)" >&9
BASH_XTRACEFD=9
PS4='+ $EPOCHREALTIME '
set -x
. /etc/xen/scripts/block.real
WRAP
  chmod 755 /etc/xen/scripts/block
  mount -t xenfs xenfs /proc/xen || return 1
  log "done: mount"
  cat /proc/xen/capabilities
  /usr/lib/xen-4.17/bin/xenstored --pid-file /run/xenstored.pid || return 1
  log "started: xenstored"
  # Through the socket only (the kernel's xenbus device may wait for a
  # daemon that is not up yet); the root, since /local/domain/0/name is
  # written only by xen-init-dom0.
  for i in $(seq 100); do [ -S /run/xenstored/socket ] && break; sleep 0.1; done
  for i in $(seq 50); do xenstore-list -s / >/dev/null 2>&1 && break; sleep 0.2; done
  log "answers: xenstored"
  /usr/lib/xen-4.17/bin/xen-init-dom0 || return 1
  log "done: xen-init-dom0"
  /usr/lib/xen-4.17/bin/xenconsoled --log=guest --pid-file=/run/xenconsoled.pid || return 1
  log "done: xenconsoled"
  # dom0 runs the hotplug scripts, which libxl gives 40 s: it goes first.
  xl sched-credit2 -d Domain-0 -w 1024
  xl info | grep -E '^(xen_version|total_memory|free_memory)'
}

setup_devices () {
  # A dom0 block device with a marker the guest reads back.
  dd if=/dev/zero of=/srv/disk.img bs=1M count=64 status=none
  printf 'XDMARKER-4711\n' | dd of=/srv/disk.img conv=notrunc status=none
  losetup /dev/loop0 /srv/disk.img || return 1
  # What the udev agent publishes for dom0's devices (the engine's input):
  # written here by hand, as that agent lives on another branch. One node a
  # device, its properties as key=value lines (src/core/xd-device-entry.h);
  # real newlines, which xenstore-write stores as they are.
  local d=/local/domain/0/data/xen-devices
  xenstore-write "$d/block/loop0" "$(printf 'desc=realxen test disk\nsize=67108864\nmode=w')" \
    || return 1
  # The QEMU-emulated USB stick.
  local busid=""
  for i in $(seq 50); do
    for dev in /sys/bus/usb/devices/[0-9]*-[0-9]*; do
      [ -e "$dev/product" ] || continue
      case "$(cat "$dev/product")" in *HARDDRIVE* | *Storage* | *STORAGE*) busid=$(basename "$dev") ;; esac
    done
    [ -n "$busid" ] && break
    sleep 0.2
  done
  echo "USB stick: ${busid:-none}"
  lsusb 2>/dev/null
  [ -n "$busid" ] || return 1
  echo "$busid" > /tmp/usb-busid
  echo "$busid" > $R/usb-busid
  xenstore-write "$d/usb/${busid//./_}" "desc=QEMU USB stick" || return 1
}

write_guest_cfg () {
  local name=$1 extra=${2:-}
  cat > /tmp/$name.cfg <<CFG
name = "$name"
type = "pv"
kernel = "$(ls /boot/vmlinuz-* | head -n1)"
ramdisk = "$P/guest-initrd.gz"
extra = "console=hvc0 quiet"
memory = 192
vcpus = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
$extra
CFG
}

start_guests () {
  write_guest_cfg guest1
  write_guest_cfg guest2 'usbctrl = [ "type=qusb,version=2,ports=4" ]'
  xl create /tmp/guest1.cfg || return 1
  log "guest1 created"; echo "[$(now)] guest1 created"
  xl create /tmp/guest2.cfg || return 1
  log "guest2 created"; echo "[$(now)] guest2 created"
  wait_for 120 /var/log/xen/console/guest-guest1.log "GUEST disks:" || return 1
  wait_for 120 /var/log/xen/console/guest-guest2.log "GUEST disks:" || return 1
  xl list
}

# ---- the steps -----------------------------------------------------------

# xdcli_seen VM TEXT ARGS...: runs xen-device ARGS, then waits for VM's
# console to print TEXT.
xdcli_seen () {
  local vm=$1 text=$2
  shift 2
  mark_guest "$vm"
  xdcli "$@" || return 1
  wait_guest 60 "$vm" "$text"
}

block_list () {
  list_shows block "dom0:loop0"
}

block_attach () {
  xdcli_seen guest1 "GUEST disk-added xvdi ro=0 marker=XDMARKER-4711" block attach guest1 dom0:loop0 || return 1
  dump_xs block-attach
  list_shows block "guest1"
}

block_detach () {
  xdcli_seen guest1 "GUEST disk-removed xvdi" block detach guest1 dom0:loop0 || return 1
  dump_xs block-detach
  list_lacks block "guest1"
}

block_readonly () {
  xdcli_seen guest1 "GUEST disk-added xvdi ro=1 marker=XDMARKER-4711" block attach guest1 dom0:loop0 --ro || return 1
  dump_xs block-attach-ro
  list_shows block "read-only=yes"
}

block_second_holder () {
  xdcli block attach guest2 dom0:loop0 > /tmp/out 2>&1
  local rc=$?
  cat /tmp/out
  [ $rc -eq 1 ] || { echo "expected exit 1, got $rc"; return 1; }
  expect "guest1" /tmp/out || return 1
  # Nothing was written for guest2.
  xenstore-ls /local/domain/0/backend/vbd 2>/dev/null > /tmp/vbd
  local d2
  d2=$(xl domid guest2)
  if xenstore-list /local/domain/0/backend/vbd 2>/dev/null | grep -qx "$d2"; then
    echo "a vbd for guest2 was left behind"
    return 1
  fi
  xdcli_seen guest1 "GUEST disk-removed xvdi" block detach guest1 dom0:loop0
}

usb_attach_detach () {
  local busid
  busid=$(cat /tmp/usb-busid)
  xdcli usb list
  xdcli usb attach guest2 "dom0:$busid" || return 1
  dump_xs usb-attach
  list_shows usb "guest2" || return 1
  xdcli usb detach guest2 "dom0:$busid" || return 1
  top -b -n 1 | head -n 15
  dump_xs usb-detach
  list_lacks usb "guest2"
}

# ---- dom0-only facts -----------------------------------------------------
# The engine takes every fact that decides a holder from nodes that only
# dom0 can write (README, "xenstore layout the engine reads"). These check
# on real Xen that libxl writes them so.

# perms_of PATH: PATH's permissions as `xenstore-ls -p` prints them
# (`n0,r1`: owner dom0, others none, domain 1 may read); fails if PATH is
# not there.
perms_of () {
  xenstore-ls -f -p "${1%/*}" 2>/dev/null | awk -v p="$1 = " '
    index($0, p) == 1 { l = $0 }
    END { if (l == "") exit 1; sub(/.*\(/, "", l); sub(/\)[ \t]*$/, "", l); print l }'
}

# FACT_FAILS counts the checks that failed; check TEXT COMMAND... runs
# COMMAND and says whether TEXT holds.
check () {
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAIL: $what"
    FACT_FAILS=$((FACT_FAILS + 1))
  fi
}

# owned_by DOMID PATH: PATH's owner is DOMID, other domains may not read
# it unless listed, and no other domain may write it (no w/b entry).
owned_by () {
  local perms
  perms=$(perms_of "$2") || { echo "  $2 is not there"; return 1; }
  echo "  $2  ($perms)"
  case ",$perms," in ",n$1,"*) ;; *) return 1 ;; esac
  ! echo "$perms" | tr , '\n' | tail -n +2 | grep -q '^[wb]'
}

# grants DOMID PERM PATH: PATH's permissions give DOMID PERM (r, w or b).
grants () {
  local perms
  perms=$(perms_of "$3") || return 1
  case ",$perms," in *",$2$1,"*) return 0 ;; *) return 1 ;; esac
}

# is VALUE PATH: PATH is there and holds VALUE.
is () {
  local v
  v=$(xenstore-read "$2" 2>/dev/null) || { echo "  $2 is not there"; return 1; }
  echo "  $2 = \"$v\""
  [ "$v" = "$1" ]
}

# nonempty PATH: PATH is there and holds something.
nonempty () {
  local v
  v=$(xenstore-read "$1" 2>/dev/null) || { echo "  $1 is not there"; return 1; }
  echo "  $1 = \"$v\""
  [ -n "$v" ]
}

dom0_only_block () {
  local f dev=/dev/loop0 rec="" d id n=0 be b
  f=$(xl domid guest1) || return 1
  # The record that names loop0: there is one, and its path names guest1.
  for d in $(xenstore-list /libxl 2>/dev/null); do
    for id in $(xenstore-list "/libxl/$d/device/vbd" 2>/dev/null); do
      if [ "$(xenstore-read "/libxl/$d/device/vbd/$id/params" 2>/dev/null)" = "$dev" ]; then
        rec=/libxl/$d/device/vbd/$id
        n=$((n + 1))
      fi
    done
  done
  echo "== block: guest1 is domain $f; records naming $dev: $n (${rec:-none})"
  [ $n -eq 1 ] || { echo "FAIL: expected one record naming $dev"; return 1; }
  d=${rec#/libxl/}
  d=${d%%/*}
  id=${rec##*/}
  check "the record's path names guest1 (domain $f)" [ "$d" = "$f" ]
  echo "-- xenstore-ls -f -p /libxl/$f/device/vbd"
  xenstore-ls -f -p "/libxl/$f/device/vbd"
  check "the record $rec is dom0's, others none (n0)" owned_by 0 "$rec"
  check "record params is $dev, dom0-only" eval 'is "$dev" "$rec/params" && owned_by 0 "$rec/params"'
  check "record mode is w, dom0-only" eval 'is w "$rec/mode" && owned_by 0 "$rec/mode"'
  check "record dev is there, dom0-only" eval 'nonempty "$rec/dev" && owned_by 0 "$rec/dev"'
  check "record device-type is disk, dom0-only" \
    eval 'is disk "$rec/device-type" && owned_by 0 "$rec/device-type"'
  check "record backend names a vbd backend of $f/$id, dom0-only" \
    eval 'nonempty "$rec/backend" && owned_by 0 "$rec/backend" &&
      xenstore-read "$rec/backend" | grep -qxE "/local/domain/[0-9]+/backend/vbd/$f/$id"'
  be=$(xenstore-read "$rec/backend" 2>/dev/null)
  [ -n "$be" ] || return 1
  b=${be#/local/domain/}
  b=${b%%/*}
  echo "-- xenstore-ls -f -p $be (backend domain $b)"
  xenstore-ls -f -p "$be"
  check "the backend is dom0's (attached dom0:loop0)" [ "$b" = 0 ]
  check "the backend directory $be is owned by its domain $b (n$b)" owned_by "$b" "$be"
  check "the backend directory gives the frontend $f read (r$f)" grants "$f" r "$be"
  check "the backend's frontend-id (compared, not believed) is $f" is "$f" "$be/frontend-id"
  check "the backend's params (not believed) is $dev" is "$dev" "$be/params"
}

dom0_only_usb () {
  local busid f rec="" be="" port="" n=0 d c p np
  busid=$(cat /tmp/usb-busid)
  f=$(xl domid guest2) || return 1
  # The controller record whose backend port holds the stick.
  for d in $(xenstore-list /libxl 2>/dev/null); do
    for c in $(xenstore-list "/libxl/$d/device/vusb" 2>/dev/null); do
      local b
      b=$(xenstore-read "/libxl/$d/device/vusb/$c/backend" 2>/dev/null) || continue
      for p in $(xenstore-list "$b/port" 2>/dev/null); do
        if [ "$(xenstore-read "$b/port/$p" 2>/dev/null)" = "$busid" ]; then
          rec=/libxl/$d/device/vusb/$c be=$b port=$p
          n=$((n + 1))
        fi
      done
    done
  done
  echo "== usb: guest2 is domain $f; backend ports holding $busid: $n (${be:-none}/port/${port:-})"
  [ $n -eq 1 ] || { echo "FAIL: expected one backend port holding $busid"; return 1; }
  d=${rec#/libxl/}
  d=${d%%/*}
  c=${rec##*/}
  check "the record's path names guest2 (domain $f)" [ "$d" = "$f" ]
  echo "-- xenstore-ls -f -p /libxl/$f/device/vusb"
  xenstore-ls -f -p "/libxl/$f/device/vusb"
  echo "-- xenstore-ls -f -p $be"
  xenstore-ls -f -p "$be"
  check "the backend is dom0's qusb ($be)" [ "$be" = "/local/domain/0/backend/qusb/$f/$c" ]
  check "record type is qusb" is qusb "$rec/type"
  check "the record $rec is dom0's, others none (n0)" owned_by 0 "$rec"
  check "record num-ports is a number, dom0-only" \
    eval 'nonempty "$rec/num-ports" && owned_by 0 "$rec/num-ports" &&
      xenstore-read "$rec/num-ports" | grep -qxE "[1-9][0-9]*"'
  np=$(xenstore-read "$rec/num-ports" 2>/dev/null)
  check "port $port is within num-ports ($np)" [ "$port" -le "${np:-0}" ]
  check "record port/$port is there and empty, dom0-only" \
    eval 'is "" "$rec/port/$port" && owned_by 0 "$rec/port/$port"'
  check "the backend controller $be is dom0's (n0)" owned_by 0 "$be"
  check "backend port/$port holds $busid and is dom0's (n0)" \
    eval 'is "$busid" "$be/port/$port" && owned_by 0 "$be/port/$port"'
  echo "$be/port/$port" > /tmp/usb-port
}

dom0_only_facts () {
  FACT_FAILS=0
  # While guest1 holds loop0 (block-attach).
  dom0_only_block || FACT_FAILS=$((FACT_FAILS + 1))
  # While guest2 holds the USB stick on its qusb controller; detached
  # again whatever the checks said, for the steps after.
  local busid rc=0
  busid=$(cat /tmp/usb-busid)
  xdcli usb attach guest2 "dom0:$busid" || return 1
  dom0_only_usb || FACT_FAILS=$((FACT_FAILS + 1))
  xdcli usb detach guest2 "dom0:$busid" || rc=1
  if [ -s /tmp/usb-port ]; then
    check "after the detach, $(cat /tmp/usb-port) is empty" is "" "$(cat /tmp/usb-port)"
  fi
  list_lacks usb "guest2" || rc=1
  echo "== $FACT_FAILS failed"
  [ $FACT_FAILS -eq 0 ] && [ $rc -eq 0 ]
}

shutdown_releases () {
  xdcli_seen guest1 "GUEST disk-added xvdi" block attach guest1 dom0:loop0 || return 1
  local n
  n=$(wc -l < $R/events.log)
  xl shutdown -w guest1 || { echo "shutdown failed; destroying"; xl destroy guest1; }
  xl list
  # The engine's log says guest1 went and loop0 has no holder.
  for i in $(seq 120); do
    tail -n +$((n + 1)) $R/events.log | grep -qx "device-changed 0/block/loop0 holders=" && break
    sleep 0.5
  done
  tail -n +$((n + 1)) $R/events.log | tee /tmp/ev
  expect "vm-removed guest1" /tmp/ev || return 1
  expect "device-changed 0/block/loop0 holders=" /tmp/ev || return 1
  list_lacks block "guest1"
}

persistent () {
  xdcli block attach guest1 dom0:loop0 --persistent || return 1
  list_shows block "persistent" || return 1
  rm -f /var/log/xen/console/guest-guest1.log
  xl create /tmp/guest1.cfg || return 1
  wait_for 120 /var/log/xen/console/guest-guest1.log "GUEST disk-added xvdi ro=0 marker=XDMARKER-4711" \
    || return 1
  list_shows block "guest1"
}

# The engine's log holds what happened, in this order (other lines may
# come between).
event_order () {
  local usb
  usb=0/usb/$(cat /tmp/usb-busid | tr . _)
  cat > /tmp/expected <<EXP
device-added 0/block/loop0 holders=
device-changed 0/block/loop0 holders=guest1
device-changed 0/block/loop0 holders=
device-changed 0/block/loop0 holders=guest1:ro
device-changed 0/block/loop0 holders=
device-changed 0/block/loop0 holders=guest1
vm-removed guest1
vm-added guest1
device-changed 0/block/loop0 holders=guest1
device-changed $usb holders=guest2
device-changed $usb holders=
EXP
  echo "expected, in order:"
  cat /tmp/expected
  echo "engine log:"
  cat $R/events.log
  awk 'BEGIN { i = 0; n = 0 } NR == FNR { want[n++] = $0; next } i < n && $0 == want[i] { i++ } END { exit i < n ? 1 : 0 }' \
    /tmp/expected $R/events.log || { echo "the log does not hold them in order"; return 1; }
  # Nothing was attached to guest2 but the USB stick, and no holder is dom0.
  ! grep -E "0/block/loop0 holders=.*guest2|holders=.*dom0" $R/events.log
}

# ---- the installed package, run by a desktop user -------------------------
# The xen-devices package built from this commit (tests/package/build-deb),
# installed with dpkg -i so that its maintainer scripts and its udev rule are
# what is tested; then a member of its group (alice) and someone outside it
# (bob). There is no systemd in this dom0 (the test is PID 1): udevd is
# started as a dom0's init would, and the service the package's socket unit
# starts at the first call is started here, as root, the same program with
# the same socket.

DEB_DIR=$P/debs

# as_user USER COMMAND...: COMMAND as USER, with USER's groups, in a clean
# environment (plus USER's desktop session's, once it has one).
as_user () {
  local u=$1
  shift
  local session=()
  [ -s "/tmp/$u/env" ] && mapfile -t session < "/tmp/$u/env"
  setpriv --reuid="$u" --regid="$u" --init-groups env -i \
    PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$u" USER="$u" LOGNAME="$u" LANG=C.UTF-8 \
    XEN_DEVICES_TIMEOUT_MS=60000 "${session[@]}" "$@"
}

mode_of () { stat -c '%A %U:%G' "$1"; }

package_install () {
  ls -l $DEB_DIR
  # As a dom0's init starts it; the postinst re-triggers the xenbus device
  # only where udevd runs.
  /lib/systemd/systemd-udevd --daemon || return 1
  echo "before: /dev/xen/xenbus $(mode_of /dev/xen/xenbus)"
  dpkg -i $DEB_DIR/xen-devices_*.deb || return 1
  dpkg -s xen-devices | grep -E '^(Status|Version)'
  getent group xen-devices || { echo "no group xen-devices"; return 1; }
  udevadm settle -t 60
  echo "after: /dev/xen/xenbus $(mode_of /dev/xen/xenbus)"
  [ "$(mode_of /dev/xen/xenbus)" = "crw-rw---- root:xen-devices" ] || return 1
  ls -l /lib/udev/rules.d/70-xen-devices.rules /lib/systemd/system/xen-devices-daemon.* \
    /etc/xdg/autostart/org.xendevices.Widget.desktop /usr/bin/xen-devices-widget || return 1
  # No systemd runs here to start the socket; its units are checked as
  # systemd reads them (a bad value is only a warning: none may be printed).
  systemd-analyze verify --man=no /lib/systemd/system/xen-devices-daemon.socket \
    /lib/systemd/system/xen-devices-daemon.service > /tmp/verify 2>&1
  local rc=$?
  echo "systemd-analyze verify: exit $rc"
  cat /tmp/verify
  [ $rc -eq 0 ] && [ ! -s /tmp/verify ] || return 1
  grep -xF 'SocketGroup=xen-devices' /lib/systemd/system/xen-devices-daemon.socket &&
    grep -xF 'ListenStream=/run/xen-devices/control' /lib/systemd/system/xen-devices-daemon.socket ||
    return 1
  useradd -m -s /bin/bash alice && adduser alice xen-devices || return 1
  useradd -m -s /bin/bash bob || return 1
  id alice
  id bob
}

service_socket () {
  wait_for 30 $R/service.log "attaching for the members of xen-devices" || return 1
  echo "/run/xen-devices/control $(mode_of /run/xen-devices/control)"
  [ "$(mode_of /run/xen-devices/control)" = "srw-rw---- root:xen-devices" ]
}

# As alice: list, then a block and a USB attach and detach, each made by the
# service as root (its log names alice's uid) and seen by the guest.
user_cli () {
  local busid uid
  busid=$(cat /tmp/usb-busid)
  uid=$(id -u alice)
  as_user alice xen-device list > /tmp/out 2>&1 || { cat /tmp/out; return 1; }
  cat /tmp/out
  expect "dom0:loop0" /tmp/out || return 1
  mark_guest guest1
  as_user alice xen-device block attach guest1 dom0:loop0 || return 1
  wait_guest 90 guest1 "GUEST disk-added xvdi ro=0 marker=XDMARKER-4711" || return 1
  as_user alice xen-device block list > /tmp/out 2>&1
  cat /tmp/out
  expect "guest1" /tmp/out || return 1
  mark_guest guest1
  as_user alice xen-device block detach guest1 dom0:loop0 || return 1
  wait_guest 90 guest1 "GUEST disk-removed xvdi" || return 1
  as_user alice xen-device usb attach guest2 "dom0:$busid" || return 1
  as_user alice xen-device usb list > /tmp/out 2>&1
  cat /tmp/out
  expect "guest2" /tmp/out || return 1
  as_user alice xen-device usb detach guest2 "dom0:$busid" || return 1
  cat $R/service.log
  expect "attach block 0:loop0 to domain $(xl domid guest1) for uid $uid" $R/service.log &&
    expect "detach block 0:loop0 from domain $(xl domid guest1) for uid $uid" $R/service.log &&
    expect "for uid $uid (pid" $R/service.log &&
    grep -F "usb" $R/service.log | grep -qF "for uid $uid"
}

# bob, outside the group: refused, told why and how to fix it.
user_outsider () {
  as_user bob xen-device list > /tmp/out 2>&1
  local rc=$?
  cat /tmp/out
  [ $rc -eq 1 ] || { echo "expected exit 1, got $rc"; return 1; }
  expect "Only root and the members of the group “xen-devices” may use Xen’s device controls, and you (bob) are not one" /tmp/out &&
    expect "adduser bob xen-devices" /tmp/out
}

# desktop_start USER: USER's desktop session (scripts/run-desktop --serve:
# Xvfb, a session bus, xfce4-panel as StatusNotifier host, xfce4-notifyd),
# its environment in /tmp/USER/env; every Notify on its bus is logged to
# $R/notify-USER.log.
desktop_start () {
  local u=$1
  rm -rf "/tmp/$u"
  mkdir -p "/tmp/$u"
  chown "$u" "/tmp/$u"
  mkfifo -m 0644 "/tmp/$u/in"
  # A writer that stays: the session ends when the step that stops it
  # closes this.
  setsid sleep 100000 > "/tmp/$u/in" &
  echo $! > "/tmp/$u/holder"
  as_user "$u" setsid $P/run-desktop --serve --timeout 90 < "/tmp/$u/in" > "/tmp/$u/out" \
    2> "$R/desktop-$u.err" &
  wait_for 180 "/tmp/$u/out" READY || { cat "$R/desktop-$u.err"; return 1; }
  sed -n '/^READY$/q; /=/p' "/tmp/$u/out" > "/tmp/$u/env"
  cat "/tmp/$u/env"
  as_user "$u" setsid dbus-monitor --session \
    "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
    > "$R/notify-$u.log" 2>&1 &
  sleep 1
}

desktop_stop () {
  local u=$1
  kill "$(cat "/tmp/$u/holder")" 2>/dev/null
  pkill -u "$u"
  sleep 2
  pkill -KILL -u "$u"
  return 0
}

# shoot USER NAME: screenshots of USER's panel with the widget's menu open,
# clicked there as a person does, into $R/screenshots/NAME.
shoot () {
  local u=$1 dir=$R/screenshots/$2
  mkdir -p "$dir"
  chown "$u" "$dir"
  echo "shoot $dir" > "/tmp/$u/in"
  wait_for 240 "/tmp/$u/out" "SHOT $dir" || { tail -n 30 "$R/desktop-$u.err"; return 1; }
  grep -F "SHOT $dir" "/tmp/$u/out"
  ls -l "$dir"
  # One click opened the menu, as for a person.
  grep -qxF "SHOT $dir clicks=1" "/tmp/$u/out"
}

menu () { as_user alice $P/bin/xd-menu "$@"; }

# menu_shows SECONDS TEXT: waits until the menu holds a line with TEXT.
menu_shows () {
  local limit=$1 text=$2 i=0
  while ! menu dump 2>&1 | tee /tmp/menu | grep -qF -- "$text"; do
    i=$((i + 1))
    if [ $i -gt "$limit" ]; then
      echo "timed out after ${limit}s waiting for “$text” in the menu:"
      cat /tmp/menu
      return 1
    fi
    sleep 1
  done
  echo "the menu shows “$text”"
}

# The widget, started from its installed autostart entry's Exec in alice's
# session; its icon in the panel and its menu open (a screenshot).
widget_start () {
  local exec_line
  desktop_start alice || return 1
  exec_line=$(sed -n 's/^Exec=//p' /etc/xdg/autostart/org.xendevices.Widget.desktop)
  echo "autostart Exec: $exec_line"
  [ -n "$exec_line" ] || return 1
  as_user alice setsid sh -c "exec $exec_line" > $R/widget-alice.log 2>&1 &
  echo $! > /tmp/widget-pid
  menu_shows 120 'item "dom0:loop0' || { cat $R/widget-alice.log; return 1; }
  menu title
  cat /tmp/menu
  cat $R/widget-alice.log
  expect "toolstack: service" $R/widget-alice.log || expect "(service toolstack)" $R/widget-alice.log ||
    return 1
  shoot alice start
}

widget_attach () {
  mark_guest guest1
  menu click "dom0:loop0 " guest1 || return 1
  wait_guest 120 guest1 "GUEST disk-added xvdi ro=0 marker=XDMARKER-4711" || return 1
  menu_shows 60 'item "dom0:loop0 (attached to guest1)' || return 1
  wait_for 60 $R/notify-alice.log '"Device attached"' || return 1
  grep -A3 -F '"Device attached"' $R/notify-alice.log | head -n 4
  expect "was attached to guest1" $R/notify-alice.log || return 1
  shoot alice attached
}

widget_eject () {
  mark_guest guest1
  menu dump | grep -A4 -F 'item "dom0:loop0'
  menu dump | grep -qF 'item "guest1" icon=media-eject' || { echo "no eject item"; return 1; }
  menu click "dom0:loop0 " guest1 || return 1
  wait_guest 120 guest1 "GUEST disk-removed xvdi" || return 1
  menu_shows 60 'item "dom0:loop0 —' || return 1
  wait_for 60 $R/notify-alice.log '"Device detached"' || return 1
  expect "was detached from guest1" $R/notify-alice.log
}

widget_new_device () {
  dd if=/dev/zero of=/srv/disk2.img bs=1M count=32 status=none
  losetup /dev/loop1 /srv/disk2.img || return 1
  menu_shows 90 'item "dom0:loop1' || return 1
  grep -F 'dom0:loop1' /tmp/menu
  grep -F 'dom0:loop1' /tmp/menu | grep -qF 'NEW' || { echo "loop1 is not marked NEW"; return 1; }
  wait_for 60 $R/notify-alice.log '"Device available"' || return 1
  grep -A3 -F '"Device available"' $R/notify-alice.log | head -n 4
  expect "loop1" $R/notify-alice.log || return 1
  shoot alice new-device
}

widget_guest_stops () {
  mark_guest guest1
  menu click "dom0:loop0 " guest1 || return 1
  wait_guest 120 guest1 "GUEST disk-added xvdi" || return 1
  menu_shows 60 'item "dom0:loop0 (attached to guest1)' || return 1
  xl shutdown -w guest1 || { echo "shutdown failed; destroying"; xl destroy guest1; }
  menu_shows 120 'item "dom0:loop0 —' || return 1
  menu dump | grep -F 'guest1' && { echo "guest1 is still in the menu"; return 1; }
  shoot alice guest-stopped
}

# bob's widget, from the same autostart entry: it cannot start, and says so
# in one notification and one log line.
widget_outsider () {
  local exec_line rc
  desktop_stop alice
  desktop_start bob || return 1
  exec_line=$(sed -n 's/^Exec=//p' /etc/xdg/autostart/org.xendevices.Widget.desktop)
  timeout 120 setpriv --reuid=bob --regid=bob --init-groups env -i PATH=/usr/bin:/bin \
    HOME=/home/bob USER=bob LANG=C.UTF-8 $(cat /tmp/bob/env) sh -c "exec $exec_line" \
    > $R/widget-bob.log 2>&1
  rc=$?
  cat $R/widget-bob.log
  [ $rc -eq 1 ] || { echo "expected exit 1, got $rc"; return 1; }
  wait_for 30 $R/notify-bob.log '"The Devices widget cannot start"' || return 1
  grep -A3 -F '"The Devices widget cannot start"' $R/notify-bob.log | head -n 4
  expect "you (bob) are not one" $R/notify-bob.log || return 1
  [ "$(grep -c 'cannot connect to xenstore' $R/widget-bob.log)" = 1 ]
  expect "adduser bob xen-devices" $R/widget-bob.log
  desktop_stop bob
}

# ---- main ----------------------------------------------------------------

log "dom0 script starts"
if ! step xen-daemons 180 setup_xen; then
  echo "XDFATAL: the Xen daemons did not start"
  exit 1
fi
echo "XDREADY"
"$P/bin/xd-event-log" > $R/events.log 2> $R/events.err &
EVLOG_PID=$!
step devices 90 setup_devices
step guests-start 240 start_guests || { echo "XDFATAL: no guests"; exit 1; }
step block-list 90 block_list
step block-attach 180 block_attach
step dom0-only-facts 180 dom0_only_facts
step block-detach 180 block_detach
step block-attach-readonly 180 block_readonly
step block-refuse-second-holder 180 block_second_holder
step shutdown-releases 180 shutdown_releases
"$XD" daemon > $R/daemon.log 2>&1 &
DAEMON_PID=$!
step persistent 240 persistent
step usb-attach-detach 240 usb_attach_detach
step event-log-order 10 event_order
# The assignment of the persistent step goes (as root: its file is root's),
# and so does the daemon the steps above used: the installed one takes its
# place.
"$XD" block detach guest1 dom0:loop0 --persistent > $R/unassign.log 2>&1
kill "$DAEMON_PID" 2>/dev/null
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
if step package-install 300 package_install; then
  XEN_DEVICES_TOOLSTACK= /usr/bin/xen-device daemon > $R/service.log 2>&1 &
  DAEMON_PID=$!
  step service-socket 60 service_socket
  step user-cli 400 user_cli
  step user-outsider 60 user_outsider
  step widget-start 400 widget_start
  step widget-attach 300 widget_attach
  step widget-eject 300 widget_eject
  step widget-new-device 300 widget_new_device
  step widget-guest-stops 300 widget_guest_stops
  step widget-outsider 400 widget_outsider
fi
log "steps done"
