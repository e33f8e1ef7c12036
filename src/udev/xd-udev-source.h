/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-engine.h"
#include "core/xd-store.h"

G_BEGIN_DECLS

/*
 * The publisher: a domain's own devices, read through libudev
 * (xd-udev-scan.h), written into that domain's subtree as one node a device,
 * /local/domain/<D>/data/xen-devices/<class>/<port>, whose value is the
 * device's properties (xd-device-entry.h), and removed when they go. One
 * code path for both users: dom0's in-process source (the widget,
 * `xen-device`) and `xen-devices-agent` in a driver domain. It writes
 * nothing outside that subtree, and removes only the entries it wrote
 * itself (they carry source=udev). Writing is idempotent: an entry is
 * rewritten, in one transaction that also removes an older publisher's
 * directory in its place, only when what it says changed.
 *
 * Watching, it keeps a udev monitor's fd in the thread-default main loop
 * (a burst of uevents is coalesced into one rescan), watches the domain's
 * backend/vbd directory (a disk or partition attached to a VM hides its
 * partitions or disk), and publishes everything again when xenstored comes
 * back after going away. With @poll_seconds it also rescans periodically,
 * for a domain without udevd (the monitor then hears nothing).
 */
typedef struct _XdUdevSource XdUdevSource;

typedef struct
{
  guint domid;
  /* Keep current from the main loop; otherwise only xd_udev_source_sync (). */
  gboolean watch;
  guint poll_seconds;
  /* NULL: see XdUdevScanOptions. */
  const char *mountinfo_path;
  const char *swaps_path;
} XdUdevSourceOptions;

/* Connects to xenstored (xd_xs_store_new) and libudev. Watching, the first
 * publication is made before it returns. */
XdUdevSource *xd_udev_source_new (const XdUdevSourceOptions *options, GError **error);
void xd_udev_source_free (XdUdevSource *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdUdevSource, xd_udev_source_free)

/* Scans and publishes now. */
gboolean xd_udev_source_sync (XdUdevSource *self, GError **error);
/* Removes every entry this source wrote (an agent shutting down). */
gboolean xd_udev_source_withdraw (XdUdevSource *self, GError **error);
/* How many scans have been published since creation (tests). */
guint xd_udev_source_get_syncs (XdUdevSource *self);

/* ---- dom0's own devices ----
 *
 * On unless XEN_DEVICES_DOM0_UDEV=0 (the tests of other suites turn it off
 * so that they do not depend on the machine's devices). Failures are logged,
 * never fatal: the rest of the system's devices are still shown. */
gboolean xd_dom0_source_enabled (void);
/* Starts a watching source for domain 0 that lives as long as @engine. */
void xd_dom0_source_attach (XdEngine *engine);
/* Publishes dom0's devices once (one-shot commands). */
void xd_dom0_source_publish_once (void);

G_END_DECLS
