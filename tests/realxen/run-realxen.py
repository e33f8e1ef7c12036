#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The realxen suite: real Xen 4.17 with a Debian 12 dom0 under QEMU (TCG).

Builds (or takes from the cache) the dom0 image, puts the freshly built
programs on a payload disk, boots Xen with QEMU and turns the steps that
dom0-run.sh reports on the serial console into TAP, one `ok N - step (Xs)`
each. Then runs the same operations against the simulated toolstack on the
host and compares the xenstore nodes that the engine reads.

usage: run-realxen.py --build-dir DIR --source-dir DIR
"""

import argparse
import fcntl
import gzip
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import xscompare  # noqa: E402

BOOT_TIMEOUT = 300  # from QEMU's start to dom0's "XDREADY"
RUN_TIMEOUT = 1800  # the whole boot
IMAGE_TIMEOUT = 1200

n_tests = 0
failed = 0


def tap(ok, name, seconds, detail=None):
    global n_tests, failed
    n_tests += 1
    if not ok:
        failed += 1
    print(f"{'ok' if ok else 'not ok'} {n_tests} - {name} ({seconds:.1f}s)", flush=True)
    if detail:
        for line in detail.rstrip("\n").splitlines():
            print(f"# {line}")
        sys.stdout.flush()


def note(text):
    for line in text.rstrip("\n").splitlines():
        print(f"# {line}")
    sys.stdout.flush()


def cache_root():
    if os.environ.get("XD_REALXEN_CACHE"):
        return os.environ["XD_REALXEN_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "xen-devices", "realxen")


def image_key():
    h = hashlib.sha256()
    with open(os.path.join(HERE, "build-image.sh"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


def ensure_image():
    """The cached image directory, built first if missing. Returns (dir, built, log)."""
    root = cache_root()
    os.makedirs(root, exist_ok=True)
    out = os.path.join(root, "dom0-" + image_key())
    with open(os.path.join(root, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(out, "dom0.img")):
            return out, False, ""
        for old in os.listdir(root):
            if old.startswith("dom0-") and old != os.path.basename(out):
                shutil.rmtree(os.path.join(root, old), ignore_errors=True)
        r = subprocess.run([os.path.join(HERE, "build-image.sh"), out], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=IMAGE_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"build-image.sh failed ({r.returncode}):\n{r.stdout[-6000:]}")
        return out, True, r.stdout


def newc_cpio(entries):
    """A gzipped newc cpio archive of (name, mode, data-or-symlink-target)."""
    buf = io.BytesIO()

    def put(name, mode, data, ino):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        buf.write(hdr.encode() + name_b)
        buf.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        buf.write(data)
        buf.write(b"\0" * ((4 - len(data) % 4) % 4))

    for ino, (name, mode, data) in enumerate(entries, start=1):
        put(name, mode, data, ino)
    put("TRAILER!!!", 0, b"", 0)
    return gzip.compress(buf.getvalue(), compresslevel=1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def busybox():
    return shutil.which("busybox") or "/bin/busybox"


def dom0_initrd(image_dir):
    """Busybox and the modules that reach the root disk (see build-image.sh)."""
    mods = os.path.join(image_dir, "modules")
    entries = [(d, 0o40755, b"") for d in ("bin", "dev", "proc", "sys", "modules")]
    entries += [
        ("bin/busybox", 0o100755, read(busybox())),
        ("init", 0o100755, read(os.path.join(HERE, "dom0-initramfs-init.sh"))),
    ]
    entries += [(f"modules/{m}", 0o100644, read(os.path.join(mods, m)))
                for m in sorted(os.listdir(mods))]
    return newc_cpio(entries)


def guest_initrd(image_dir):
    blkfront = [f for f in os.listdir(image_dir) if f.startswith("xen-blkfront.ko")][0]
    entries = [(d, 0o40755, b"") for d in ("bin", "sbin", "dev", "proc", "sys", "tmp")]
    entries += [
        ("bin/busybox", 0o100755, read(busybox())),
        ("bin/sh", 0o120777, b"busybox"),
        ("init", 0o100755, read(os.path.join(HERE, "guest-init.sh"))),
        ("sbin/poweroff", 0o100755, read(os.path.join(HERE, "guest-poweroff.sh"))),
        ("xen-blkfront.ko", 0o100644, read(os.path.join(image_dir, blkfront))),
    ]
    return newc_cpio(entries)


SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
DEB_DIR = os.path.join(SOURCE_DIR, "_build-deb")


def head_commit():
    return subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "HEAD"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def ensure_debs():
    """The Debian packages of this commit (tests/package/build-deb, which CI
    runs before this suite), built first if missing or of another commit.
    Returns (paths, built)."""
    stamp = os.path.join(DEB_DIR, "commit")
    head = head_commit()
    built = False
    try:
        with open(stamp) as f:
            fresh = f.read().strip() == head
    except OSError:
        fresh = False
    if not fresh:
        r = subprocess.run([os.path.join(SOURCE_DIR, "tests", "package", "build-deb")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           stdin=subprocess.DEVNULL, timeout=1200)
        if r.returncode != 0:
            raise RuntimeError(f"tests/package/build-deb failed ({r.returncode}):\n{r.stdout[-4000:]}")
        built = True
    debs = sorted(os.path.join(DEB_DIR, f) for f in os.listdir(DEB_DIR)
                  if f.endswith(".deb") and "dbgsym" not in f)
    if not any(os.path.basename(d).startswith("xen-devices_") for d in debs):
        raise RuntimeError(f"no xen-devices_*.deb in {DEB_DIR}")
    return debs, built


def make_payload(work, image_dir, build_dir, debs):
    payload = os.path.join(work, "payload")
    os.makedirs(os.path.join(payload, "bin"))
    for src in ("src/cli/xen-device", "tests/realxen/xd-event-log", "tests/realxen/xd-menu"):
        shutil.copy2(os.path.join(build_dir, src), os.path.join(payload, "bin"))
    shutil.copy2(os.path.join(HERE, "dom0-run.sh"), payload)
    shutil.copy2(os.path.join(SOURCE_DIR, "scripts", "run-desktop"), payload)
    os.makedirs(os.path.join(payload, "debs"))
    for deb in debs:
        shutil.copy2(deb, os.path.join(payload, "debs"))
    with open(os.path.join(payload, "guest-initrd.gz"), "wb") as f:
        f.write(guest_initrd(image_dir))
    img = os.path.join(work, "payload.img")
    subprocess.run(["mkfs.ext4", "-q", "-L", "xd-payload", "-d", payload, img, "64M"],
                   check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(work, "results.img")
    with open(out, "wb") as f:
        f.truncate(32 << 20)
    usb = os.path.join(work, "usb.img")
    with open(usb, "wb") as f:
        f.truncate(16 << 20)
    with open(os.path.join(work, "dom0-initrd.gz"), "wb") as f:
        f.write(dom0_initrd(image_dir))
    xen = os.path.join(work, "xen.elf")
    with open("/boot/xen-4.17-amd64.gz", "rb") as f, open(xen, "wb") as o:
        o.write(gzip.decompress(f.read()))
    return img, out, usb, xen


def qemu_command(image_dir, work, payload, results, usb, xen):
    d = image_dir
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", "Nehalem", "-m", "3072", "-smp", "2",
        "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nic", "none",
        "-drive", f"file={d}/dom0.img,if=virtio,format=raw,snapshot=on",
        "-drive", f"file={payload},if=virtio,format=raw,snapshot=on",
        "-drive", f"file={results},if=virtio,format=raw",
        "-device", "virtio-rng-pci",
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"file={usb},if=none,id=usbstick,format=raw,snapshot=on",
        "-device", "usb-storage,bus=xhci.0,drive=usbstick",
        "-kernel", xen,
        "-append", "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all "
                   "guest_loglvl=all",
        "-initrd", f"{d}/vmlinuz root=/dev/vda rw console=hvc0 earlyprintk=xen "
                   f"init=/sbin/xd-init,{work}/dom0-initrd.gz",
    ]


def run_boot(cmd, console_path):
    """Runs QEMU; yields each console line with the time since the start.
    Kills QEMU on a hung boot or run."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    state = {"ready": False, "killed": None}

    def watchdog():
        while proc.poll() is None:
            el = time.monotonic() - t0
            if (not state["ready"] and el > BOOT_TIMEOUT) or el > RUN_TIMEOUT:
                state["killed"] = ("dom0 was not up" if not state["ready"] else
                                   "the run did not end") + f" after {el:.0f}s"
                os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(1)

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        with open(console_path, "w", errors="replace") as console:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                console.write(line + "\n")
                console.flush()
                if "XDREADY" in line:
                    state["ready"] = True
                yield time.monotonic() - t0, line
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    yield time.monotonic() - t0, f"XDQEMU exit {proc.returncode} {state['killed'] or ''}"


def console_tail(path, n=120):
    with open(path, errors="replace") as f:
        lines = f.readlines()
    return "".join(lines[-n:])


def boot_and_compare(work, image_dir, build_dir, sim_host_tool, shim, logdir):
    """Boots dom0 with the payload, turns its steps into TAP, then compares
    the xenstore dumps with the simulated toolstack's."""
    console_path = os.path.join(logdir, "console.log")
    t = time.monotonic()
    debs, built = ensure_debs()
    tap(True, f"Debian packages of this commit ({'built' if built else 'from tests/package/build-deb'}: "
        f"{', '.join(os.path.basename(d) for d in debs)})", time.monotonic() - t)
    t = time.monotonic()
    payload, results, usb, xen = make_payload(work, image_dir, build_dir, debs)
    tap(True, "payload disk with the built programs and packages", time.monotonic() - t)

    cmd = qemu_command(image_dir, work, payload, results, usb, xen)
    note("$ " + " ".join(cmd))
    last = 0.0
    steps_seen = 0
    done = False
    exit_line = ""
    for el, line in run_boot(cmd, console_path):
        if line.startswith("XDREADY"):
            tap(True, "boot Xen and dom0, start xenstored, xenconsoled", el)
            last = el
        m = re.match(r"XDSTEP (ok|not ok) - (\S+) \(([\d.]+)s\)", line)
        if m:
            steps_seen += 1
            ok = m.group(1) == "ok"
            tap(ok, m.group(2), float(m.group(3)))
            last = el
        elif line.startswith("XDOUT | "):
            note(line[8:])
        elif line.startswith("XDFATAL"):
            note(line)
        elif line.startswith("XDDONE"):
            done = True
        elif line.startswith("XDQEMU exit"):
            exit_line = line
    if not done:
        tap(False, "the dom0 run ended", 0.0,
            f"{exit_line}; the last console lines:\n{console_tail(console_path)}")
    elif steps_seen == 0:
        tap(False, "dom0 steps", 0.0, console_tail(console_path))
    note(f"QEMU ran {last:.0f}s to the last step; {exit_line}")

    resdir = os.path.join(logdir, "results")
    os.makedirs(resdir)
    try:
        with tarfile.open(results) as tf:
            tf.extractall(resdir)
    except tarfile.TarError as e:
        note(f"no results archive: {e}")

    shots = os.path.join(resdir, "screenshots")
    if os.path.isdir(shots):
        for name in sorted(os.listdir(shots)):
            note(f"screenshot of the menu on real Xen: {os.path.join(shots, name, 'menu.png')}")

    t = time.monotonic()
    ok, report = xscompare.compare(resdir, build_dir, sim_host_tool, shim)
    with open(os.path.join(logdir, "xs-compare.txt"), "w") as f:
        f.write(report)
    tap(ok, "xenstore nodes of libxl and the simulated toolstack agree", time.monotonic() - t,
        report if not ok else report[-3000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--sim-host-tool", required=True)
    ap.add_argument("--shim", required=True)
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    sim_host_tool, shim = os.path.abspath(args.sim_host_tool), os.path.abspath(args.shim)
    logdir = os.path.join(build_dir, "tests", "realxen", "last-run")
    # The run before stays beside it, for comparing.
    shutil.rmtree(logdir + ".prev", ignore_errors=True)
    if os.path.exists(logdir):
        os.rename(logdir, logdir + ".prev")
    os.makedirs(logdir)
    console_path = os.path.join(logdir, "console.log")
    note(f"logs in {logdir}")

    t = time.monotonic()
    try:
        image_dir, built, _ = ensure_image()
    except Exception as e:  # noqa: BLE001 - reported as the step's failure
        tap(False, "dom0 image", time.monotonic() - t, str(e))
        print(f"1..{n_tests}")
        return 1
    tap(True, f"dom0 image ({'built' if built else 'cached'}: {image_dir})", time.monotonic() - t)

    work = tempfile.mkdtemp(prefix="xd-realxen-")
    try:
        boot_and_compare(work, image_dir, build_dir, sim_host_tool, shim, logdir)
    except Exception:  # noqa: BLE001 - a broken harness fails the suite, never skips it
        tail = console_tail(console_path) if os.path.exists(console_path) else ""
        tap(False, "the realxen harness", 0.0, traceback.format_exc() + tail)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"1..{n_tests}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
