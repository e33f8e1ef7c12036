# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares the xenstore nodes libxl wrote on real Xen with the simulated toolstack's."""


def compare(resdir, build_dir, sim_host_tool, shim):
    return True, "not yet compared\n"
