/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The system service that attaches for desktop users (README, "Who may
 * attach"). libxl cannot work for a process that is not root: it keeps each
 * domain's configuration in /var/lib/xen/userdata-d.*.libxl-json, which it
 * rewrites with mode 0600 at every change (xl create, xl block-attach), and
 * it runs the hotplug scripts as the caller. So `xen-device daemon` runs as
 * root, keeps the libxl toolstack, and serves the toolstack seam's three
 * calls as D-Bus methods on a private socket (peer to peer, no bus):
 * members of the group XD_GROUP may connect to it, nobody else.
 *
 * The widget and xen-device, run by a member, read xenstore themselves
 * (/dev/xen/xenbus is given to the group by a udev rule) and make their
 * changes through the toolstack "service" (xd-toolstack-service.h), which
 * sends them here.
 */

/* The group whose members may use Xen's device controls (the package
 * makes it). */
#define XD_GROUP "xen-devices"
#define XD_CONTROL_SOCKET_DEFAULT "/run/xen-devices/control"
#define XD_CONTROL_INTERFACE "org.xendevices.Toolstack1"
#define XD_CONTROL_PATH "/org/xendevices/Toolstack"

/* The service's socket: $XEN_DEVICES_CONTROL_SOCKET, else the default. */
const char *xd_control_socket_path (void);
/* The group: $XEN_DEVICES_GROUP (the tests name a group of their own),
 * else XD_GROUP. */
const char *xd_control_group_name (void);

/* The interface's description (methods Attach, Detach, StopVm). */
GDBusInterfaceInfo *xd_control_interface_info (void);

/* Registers XD_ERROR's codes as D-Bus error names, so that an error the
 * service returns reaches the caller with its domain, code and message. */
void xd_control_register_errors (void);

/* Why this process may not use Xen's device controls and what fixes it, as
 * one sentence for a person: whether the group exists, whether the user is
 * in it (in /etc/group) and whether this session has it yet (a user added
 * after logging in must log in again). NULL when the process is root or
 * already has the group, or when nothing better than the system's own
 * error can be said. */
char *xd_control_explain_access (void);

G_END_DECLS
