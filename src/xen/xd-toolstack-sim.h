/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-toolstack.h"

G_BEGIN_DECLS

/*
 * The simulated toolstack: the embedded default where no hypervisor runs,
 * and the tests. It writes the xenstore nodes libxl 4.17 writes (the list is
 * at the top of xd-toolstack-sim.c), then plays the backend and frontend
 * drivers through the XenBus states, so that everything above the seam
 * reads what it would read on a real dom0.
 */

/* Misbehaviour for the next attaches, until set back to NONE. */
typedef enum
{
  XD_SIM_FAULT_NONE,
  /* The backend stops in InitWait (2): attach times out. */
  XD_SIM_FAULT_BACKEND_NEVER_CONNECTS,
  /* The backend writes an error node ("2 opening /dev/sda1: No such
   * device") where Linux's xenbus_dev_fatal() does and goes to Closing (5),
   * then Closed (6): attach fails with that text. */
  XD_SIM_FAULT_BACKEND_ERROR,
  /* The frontend VM is destroyed (as xd_sim_host_remove_vm() does) after
   * the backend came up and before it connected. */
  XD_SIM_FAULT_FRONTEND_VANISHES,
} XdSimFault;

/* Connects its own libxenstore connections (one per call, to the socket
 * XENSTORED_PATH names; never the kernel's xenbus device, so it never
 * touches a real dom0's store). Fails with XD_ERROR_UNAVAILABLE when the
 * daemon cannot be reached. The environment variable XD_SIM_FAULT
 * (never-connects, backend-error or frontend-vanishes) sets the initial
 * fault, for tests of the command-line tool. */
XdToolstack *xd_toolstack_sim_new (GError **error);

/* Faults apply to block attaches and to USB attaches that create a
 * controller (a USB device joining an existing controller has no driver
 * handshake to disturb). */
void xd_toolstack_sim_set_fault (XdToolstack *self, XdSimFault fault);

G_END_DECLS
