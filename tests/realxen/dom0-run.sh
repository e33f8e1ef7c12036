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
  timeout -k 5 "$limit" bash -c "set -uo pipefail; $(declare -f); $(declare -p XD P R 2>/dev/null); $fn" \
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
log "steps done"
