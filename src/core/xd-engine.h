/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "xd-model.h"
#include "xd-store.h"

G_BEGIN_DECLS

#define XD_TYPE_ENGINE (xd_engine_get_type ())
G_DECLARE_FINAL_TYPE (XdEngine, xd_engine, XD, ENGINE, GObject)

/*
 * The device engine: the model of running VMs, their devices and who holds
 * them, read from xenstore and kept current through targeted watches.
 *
 * Signals (all from the main loop, after the model has changed):
 *   vm-added (XdVm*), vm-removed (XdVm*)
 *   device-added (XdDevice*), device-changed (XdDevice*), device-removed (XdDevice*)
 *     device-changed also covers a change of holders.
 *   connection-changed (gboolean connected)
 */

/* Takes ownership of @store. */
XdEngine *xd_engine_new (XdStore *store);

/* Reads everything once. With @watch, also registers the watches that keep
 * the model current from the thread-default main loop. */
gboolean xd_engine_load (XdEngine *self, gboolean watch, GError **error);

/* Running VMs sorted by name (dom0 included), XdVm *, transfer container. */
GPtrArray *xd_engine_get_vms (XdEngine *self);
XdVm *xd_engine_lookup_vm (XdEngine *self, guint domid);
XdVm *xd_engine_lookup_vm_by_name (XdEngine *self, const char *name);
/* Devices of @klass (or of every class for XD_N_CLASSES) sorted by backend
 * name then port, XdDevice *, transfer container. */
GPtrArray *xd_engine_get_devices (XdEngine *self, XdClassId klass);
XdDevice *xd_engine_lookup_device (XdEngine *self, XdClassId klass, guint backend,
                                   const char *port);
/* The name of a VM for display: its name, or "domain N" when it is not
 * (or no longer) running. */
const char *xd_engine_vm_name (XdEngine *self, guint domid, char buf[32]);

/* Statistics for benchmarks and tests. */
typedef struct
{
  guint64 full_scans;   /* whole-host (re)scans */
  guint64 vm_scans;     /* per-VM device or backend rescans */
  guint64 device_reads; /* single-device re-reads */
  guint64 events;       /* watch events received */
  guint64 skipped;      /* entries skipped as invalid */
} XdEngineStats;
void xd_engine_get_stats (XdEngine *self, XdEngineStats *stats);

/* Most devices one backend VM may publish per class; more are ignored. */
#define XD_ENGINE_MAX_DEVICES_PER_CLASS 1024

G_END_DECLS
