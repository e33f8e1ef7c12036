/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libxl.h>

#include "core/xd-toolstack.h"

G_BEGIN_DECLS

/*
 * The toolstack seam on a real dom0: libxl 4.17.
 *
 * Every libxl call that talks to the system runs in a thread of its own
 * while the caller (already a worker thread) waits on a condition variable
 * for at most the time it was given. libxl can hang (a hotplug script that
 * never returns, a backend that never answers); when the wait runs out the
 * caller gets XD_ERROR_TIMEOUT and the stray call is left to finish on its
 * own. It holds a reference to the libxl context, so freeing the toolstack
 * meanwhile is safe: the context is freed when the last call returns. A
 * stray add that succeeds after its caller gave up is undone at once, so
 * that a timed-out attach leaves nothing behind.
 *
 * libxl's log goes to GLib's log with the domain "xd-libxl", never to
 * stderr: its errors at G_LOG_LEVEL_MESSAGE (they also reach the caller as
 * a GError, with libxl's last error line in the message), the rest at
 * INFO and DEBUG.
 *
 * libxl is told (libxl_childproc_setmode) to reap only its own children
 * (hotplug scripts), so that it never steals the process's other children.
 */

/* Allocates a libxl context with a logger that forwards to g_log. Fails with
 * XD_ERROR_UNAVAILABLE when libxl cannot be opened (no hypervisor, not
 * dom0, no xenstored), naming libxl's last error line. */
XdToolstack *xd_toolstack_libxl_new (GError **error);

/* TRUE on a real dom0: /proc/xen/capabilities contains "control_d". */
gboolean xd_toolstack_libxl_available (void);

/* Fills @disk (which the caller has not initialised, and must dispose with
 * libxl_device_disk_dispose () whatever the result) from a block request:
 * a phy, raw disk at /dev/<port> in the backend domain, vdev the request's
 * frontend_dev, read-write unless read_only, a removable CD-ROM when cdrom.
 * trusted (XSA-403) is false whenever the backend is not dom0: the frontend
 * then bounces the backend's data instead of sharing pages it may keep.
 * Fails with XD_ERROR_INVALID for a request that is not block, has no or a
 * malformed frontend_dev, or has a malformed port. */
gboolean xd_libxl_disk_from_request (const XdAttachRequest *request, libxl_device_disk *disk,
                                     GError **error);

/* Fills @usbdev (not initialised by the caller; dispose it with
 * libxl_device_usbdev_dispose () whatever the result) from a usb request: a
 * HOSTDEV whose hostbus and hostaddr are read from
 * <sysfs_root>/bus/usb/devices/<bus id>/{busnum,devnum} (@sysfs_root NULL
 * means "/sys"); the controller and port are left for libxl to choose.
 * Errors: XD_ERROR_INVALID (not usb, malformed port), XD_ERROR_REFUSED
 * (backend other than dom0: libxl's pvusb cannot drive a driver domain's
 * USB backend), XD_ERROR_NOT_FOUND (no such device in sysfs),
 * XD_ERROR_FAILED (sysfs files unreadable or out of range). */
gboolean xd_libxl_usbdev_from_request (const XdAttachRequest *request, const char *sysfs_root,
                                       libxl_device_usbdev *usbdev, GError **error);

/* Sets @error from a libxl error code: ERROR_DOMAIN_NOTFOUND, ERROR_NOTFOUND
 * and ERROR_DOMAIN_DESTROYED -> XD_ERROR_UNAVAILABLE; ERROR_TIMEDOUT and
 * ERROR_GUEST_TIMEDOUT -> XD_ERROR_TIMEOUT; ERROR_INVAL -> XD_ERROR_INVALID;
 * ERROR_DEVICE_EXISTS -> XD_ERROR_REFUSED; anything else XD_ERROR_FAILED.
 * The message names @what (the libxl call), libxl's name for the code and,
 * when not NULL, @log_line (libxl's last logged error). */
void xd_libxl_set_error (GError **error, int rc, const char *what, const char *log_line);

G_END_DECLS
