# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares the xenstore nodes libxl 4.17 wrote on real Xen (dumped in dom0 by
dom0-run.sh with `xenstore-ls -f -p`) with what the simulated toolstack
(src/xen/xd-toolstack-sim.c) writes for the same operations, run on the host
against a private xenstored with the simulated host.

Domain ids are replaced by the guest's name, so are they inside values.
Fails on any difference in what the engine reads (README, "xenstore layout"):
the presence and value of those keys. Every other difference is listed, as
information.
"""

import os
import re
import signal
import subprocess
import tempfile

LINE = re.compile(r'^(/\S*) = "(.*)"\s+\(([^)]*)\)$')

# What the engine reads, per subtree (relative keys).
VBD_BACKEND_READ = ["frontend-id", "params", "mode", "dev", "device-type", "state"]
VBD_RECORD_READ = ["backend", "params", "mode", "dev", "device-type"]
USB_BACKEND_READ = ["frontend-id", "num-ports", "state"]  # and port/N
USB_RECORD_READ = ["backend"]
# Values that depend on the scenario, not on the toolstack.
SCENARIO_VALUES = {"num-ports", "state"}

# The same operations the dom0 run made, each followed by a dump of the
# same name. (Class, action, VM, device, options.)
SIM_GUESTS = {"guest1": 21, "guest2": 22}
SIM_OPS = [
    ("block-attach", ["block", "attach", "guest1", "dom0:loop0"]),
    ("block-detach", ["block", "detach", "guest1", "dom0:loop0"]),
    ("block-attach-ro", ["block", "attach", "guest1", "dom0:loop0", "--ro"]),
    (None, ["block", "detach", "guest1", "dom0:loop0"]),
    ("usb-attach", ["usb", "attach", "guest2", "dom0:USB"]),
    ("usb-detach", ["usb", "detach", "guest2", "dom0:USB"]),
]
DUMPED = ["/local/domain/0/backend", "/libxl", "/local/domain/0/data/xen-devices"]


def parse_dump(text):
    """{path: (value, perms)} and {domid: name}."""
    nodes, names = {}, {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        path, value, perms = m.groups()
        nodes[path] = (value, perms)
        n = re.match(r"^/local/domain/(\d+)/name$", path)
        if n:
            names[n.group(1)] = value
    return nodes, names


def normalise(nodes, names):
    """Replaces domain ids by names in paths, values and permissions."""
    def dom(d):
        return names.get(d, "dom" + d) if d != "0" else "dom0"

    def fix_path(p):
        p = re.sub(r"^/local/domain/(\d+)", lambda m: "/local/domain/" + dom(m.group(1)), p)
        p = re.sub(r"^/libxl/(\d+)", lambda m: "/libxl/" + dom(m.group(1)), p)
        p = re.sub(r"^(/local/domain/dom0/backend/[^/]+)/(\d+)",
                   lambda m: m.group(1) + "/" + dom(m.group(2)), p)
        return p

    out = {}
    for path, (value, perms) in nodes.items():
        if path.endswith("/name") and path.count("/") == 4:
            continue
        v = fix_path(value) if value.startswith("/") else value
        if path.endswith(("/frontend-id", "/backend-id")) and value.isdigit():
            v = dom(value)
        p = re.sub(r"([nrwb])(\d+)", lambda m: m.group(1) + dom(m.group(2)), perms)
        out[fix_path(path)] = (v, p)
    return out


def entries(nodes):
    """The attachments in a normalised dump: {(kind, frontend, devid): {key: value}} for
    the backend directories and {(kind, frontend, devid): {...}} for libxl's records."""
    backends, records = {}, {}
    for path, (value, _) in nodes.items():
        m = re.match(r"^/local/domain/dom0/backend/(vbd|qusb|vusb)/([^/]+)/(\d+)/(.+)$", path)
        if m:
            kind = "usb" if m.group(1) != "vbd" else "vbd"
            backends.setdefault((kind, m.group(2), m.group(3)), {})[m.group(4)] = value
        m = re.match(r"^/libxl/([^/]+)/device/(vbd|vusb)/(\d+)/(.+)$", path)
        if m:
            kind = "usb" if m.group(2) == "vusb" else "vbd"
            records.setdefault((kind, m.group(1), m.group(3)), {})[m.group(4)] = value
    return backends, records


# Values that differ from run to run whatever writes them.
VOLATILE = r"^(ring-ref|event-channel|urb-ring-ref|conn-ring-ref)$"


def scenario_port(k, r, s):
    """A USB port past the smaller controller (4 ports real, 8 simulated)."""
    m = re.match(r"^port/(\d+)$", k)
    if not m:
        return False
    n = min(int(r.get("num-ports", 0) or 0), int(s.get("num-ports", 0) or 0))
    return int(m.group(1)) > n


def usb_kind_free(value):
    return re.sub(r"/backend/(qusb|vusb)/", "/backend/USBKIND/", value)


def compare_dump(name, real, sim):
    """(failures, notes) for one dump."""
    failures, notes = [], []
    # A block dump is compared on its disks, a USB dump on its controllers
    # (the real guest2 has its qusb controller from its creation on).
    kind = "vbd" if name.startswith("block") else "usb"
    # Only the test's guests: the simulated host has a demo VM holding a disk.
    rb, rr, sb, sr = ({k: v for k, v in d.items() if k[0] == kind and k[1] in SIM_GUESTS}
                      for d in entries(real) + entries(sim))
    if set(rb) != set(sb):
        failures.append(f"{name}: attachments in the backend trees: real {sorted(rb)}, "
                        f"simulated {sorted(sb)}")
    if set(rr) != set(sr):
        failures.append(f"{name}: libxl records: real {sorted(rr)}, simulated {sorted(sr)}")
    for key in sorted(set(rb) & set(sb)):
        r, s = rb[key], sb[key]
        read = VBD_BACKEND_READ if key[0] == "vbd" else USB_BACKEND_READ
        if key[0] == "usb":
            # The ports that hold a device (a controller's size is the scenario's).
            rp = {k: v for k, v in r.items() if re.match(r"^port/\d+$", k) and v}
            sp = {k: v for k, v in s.items() if re.match(r"^port/\d+$", k) and v}
            if rp != sp:
                failures.append(f"{name}: backend {key} ports: real {rp}, simulated {sp}")
        for k in read:
            if (k in r) != (k in s):
                failures.append(f"{name}: backend {key} {k}: real {r.get(k)!r}, "
                                f"simulated {s.get(k)!r}")
            elif k in r and r[k] != s[k] and k not in SCENARIO_VALUES:
                failures.append(f"{name}: backend {key} {k}: real {r[k]!r}, simulated {s[k]!r}")
        if key[0] == "vbd" and r.get("state") != "4":
            failures.append(f"{name}: backend {key} is in state {r.get('state')} on real Xen")
        if key[0] == "vbd" and s.get("state") != "4":
            failures.append(f"{name}: backend {key} is in state {s.get('state')} simulated")
        for k in sorted(set(r) ^ set(s)):
            if not scenario_port(k, r, s):
                notes.append(f"{name}: backend {key} {k} only "
                             f"{'real' if k in r else 'simulated'}")
        for k in sorted(set(r) & set(s)):
            if r[k] != s[k] and k not in read and not re.match(VOLATILE, k):
                notes.append(f"{name}: backend {key} {k}: real {r[k]!r}, simulated {s[k]!r}")
    for key in sorted(set(rr) & set(sr)):
        r, s = rr[key], sr[key]
        read = VBD_RECORD_READ if key[0] == "vbd" else USB_RECORD_READ
        for k in read:
            rv, sv = r.get(k), s.get(k)
            if key[0] == "usb" and rv and sv:
                rv, sv = usb_kind_free(rv), usb_kind_free(sv)
            if rv != sv:
                failures.append(f"{name}: libxl record {key} {k}: real {rv!r}, simulated {sv!r}")
        for k in sorted(set(r) ^ set(s)):
            if not scenario_port(k, r, s):
                notes.append(f"{name}: libxl record {key} {k} only "
                             f"{'real' if k in r else 'simulated'}")
    # The engine lists a frontend's vbd directory to pick a free xvdN.
    rf, sf = frontends(real, kind), frontends(sim, kind)
    if set(rf) != set(sf):
        failures.append(f"{name}: frontend devices: real {sorted(rf)}, simulated {sorted(sf)}")
    for key in sorted(set(rf) & set(sf)):
        for k in sorted(set(rf[key]) ^ set(sf[key])):
            if not re.match(VOLATILE, k):
                notes.append(f"{name}: frontend {key} {k} only "
                             f"{'real' if k in rf[key] else 'simulated'}")
    notes.append(f"=count {name}: compared {sum(len(v) for v in rb.values())} backend, "
                 f"{sum(len(v) for v in rr.values())} record and "
                 f"{sum(len(v) for v in rf.values())} frontend nodes of libxl")
    return failures, notes


def frontends(nodes, kind):
    """{(frontend, devid): {key: value}} of the test guests' frontend directories."""
    out = {}
    fkind = "vbd" if kind == "vbd" else "vusb"
    for path, (value, _) in nodes.items():
        m = re.match(rf"^/local/domain/([^/]+)/device/{fkind}/(\d+)/(.+)$", path)
        if m and m.group(1) in SIM_GUESTS:
            out.setdefault((m.group(1), m.group(2)), {})[m.group(3)] = value
    return out


def run_sim(build_dir, sim_host_tool, shim, usb_busid):
    """Runs SIM_OPS with the simulated toolstack; {dump name: text}."""
    xen_device = os.path.join(build_dir, "src", "cli", "xen-device")
    dumps = {}
    with tempfile.TemporaryDirectory(prefix="xd-realxen-sim-") as tmp:
        env = dict(os.environ, XD_XENSTORED_SHIM=shim, XEN_DEVICES_TOOLSTACK="simulated",
                   XEN_DEVICES_STATE_DIR=os.path.join(tmp, "state"))
        host = subprocess.Popen([sim_host_tool, "serve", os.path.join(tmp, "host")], env=env,
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            socket = host.stdout.readline().strip()
            if not socket:
                raise RuntimeError("xd-sim-host-tool serve printed no socket")
            env["XENSTORED_PATH"] = socket

            def run(*cmd):
                r = subprocess.run(list(cmd), env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=120)
                if r.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout}")
                return r.stdout

            for vm, domid in SIM_GUESTS.items():
                run(sim_host_tool, "start-vm", str(domid), vm)
            run(sim_host_tool, "plug", "0", "block", "loop0", "desc=realxen test disk",
                "size=67108864", "mode=w")
            run(sim_host_tool, "plug", "0", "usb", usb_busid.replace(".", "_"),
                "desc=QEMU USB stick")
            for name, args in SIM_OPS:
                args = [a.replace("USB", usb_busid) for a in args]
                run(xen_device, *args)
                if name:
                    text = ""
                    for p in DUMPED:
                        text += subprocess.run(["xenstore-ls", "-f", "-p", p], env=env,
                                               stdout=subprocess.PIPE,
                                               stderr=subprocess.DEVNULL, text=True).stdout
                    for vm, domid in SIM_GUESTS.items():
                        text += subprocess.run(
                            ["xenstore-ls", "-f", "-p", f"/local/domain/{domid}/device"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True).stdout
                        text += f'/local/domain/{domid}/name = "{vm}"   (n0)\n'
                    dumps[name] = text
        finally:
            os.killpg(host.pid, signal.SIGTERM)
            host.wait()
    return dumps


def compare(resdir, build_dir, sim_host_tool, shim):
    """(ok, report)."""
    xsdir = os.path.join(resdir, "xs")
    names = [n for _, n in [(0, o[0]) for o in SIM_OPS] if n]
    missing = [n for n in names if not os.path.exists(os.path.join(xsdir, n + ".txt"))]
    if missing:
        return False, f"no dump from the real run of: {', '.join(missing)}\n"
    busid = "2-1"
    try:
        with open(os.path.join(resdir, "usb-busid")) as f:
            busid = f.read().strip()
    except OSError:
        pass
    try:
        sim_dumps = run_sim(build_dir, sim_host_tool, shim, busid)
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        return False, f"the simulated run failed: {e}\n"

    failures, notes = [], []
    for name in names:
        with open(os.path.join(xsdir, name + ".txt")) as f:
            real = normalise(*parse_dump(f.read()))
        sim = normalise(*parse_dump(sim_dumps[name]))
        with open(os.path.join(xsdir, name + ".sim.txt"), "w") as f:
            f.write(sim_dumps[name])
        fl, nt = compare_dump(name, real, sim)
        failures += fl
        notes += nt
    report = "".join(f"DIFFERENCE {x}\n" for x in failures)
    report += "".join(f"note (not read by the engine): {x}\n" for x in notes
                      if not x.startswith("=count "))
    report += "".join(f"{x[7:]}\n" for x in notes if x.startswith("=count "))
    n_notes = len([x for x in notes if not x.startswith("=count ")])
    report += f"compared {len(names)} dumps: {len(failures)} differences the engine reads, " \
              f"{n_notes} it does not\n"
    return not failures, report
