/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "xd-model.h"
#include "xd-store.h"
#include "xd-toolstack.h"

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

/* Running VMs sorted by name (xd_natural_compare (): vm-9 before vm-10;
 * dom0 included), XdVm *, transfer container. */
GPtrArray *xd_engine_get_vms (XdEngine *self);
XdVm *xd_engine_lookup_vm (XdEngine *self, guint domid);
/* The running VM named @name, or NULL: when none is, and when more than one
 * domain has the name (the engine never guesses which one is meant). */
XdVm *xd_engine_lookup_vm_by_name (XdEngine *self, const char *name);
/* The same, with the reason there is none in @error: XD_ERROR_NOT_FOUND
 * (no running VM has the name) or XD_ERROR_REFUSED (several have it, named
 * by their domain ids). */
XdVm *xd_engine_find_vm (XdEngine *self, const char *name, GError **error);
/* Devices of @klass (or of every class for XD_N_CLASSES) sorted by backend
 * name then port (xd_natural_compare (): sda2 before sda10), XdDevice *,
 * transfer container. */
GPtrArray *xd_engine_get_devices (XdEngine *self, XdClassId klass);
/* Devices of @klass (XD_N_CLASSES: all) that running VMs hold but their
 * backend no longer exposes (unplugged while attached): XdDevice *, made for
 * the caller (transfer full), with an empty description and their holders.
 * Unsorted. */
GPtrArray *xd_engine_get_unexposed_held (XdEngine *self, XdClassId klass);
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

/* ---- operations (xd-engine-ops.c) ----
 *
 * Both run in a worker thread; the result is delivered to the caller's main
 * context. The rules are checked against live xenstore, inside a transaction
 * that also records a claim on the device, so two processes racing for one
 * device end with exactly one success:
 *   never to dom0, never to the device's own backend VM; one running holder
 *   (several for the mic); a partition and its disk never at once; a
 *   read-only device attached read-only whatever the options say.
 * Attaching a device to the VM that already holds it succeeds and changes
 * nothing. @options are "key=value" strings already normalised by
 * xd_options_validate (). */

/* Takes ownership. Without a toolstack only the mic can be attached. */
void xd_engine_set_toolstack (XdEngine *self, XdToolstack *toolstack);
XdToolstack *xd_engine_get_toolstack (XdEngine *self);

void xd_engine_attach_async (XdEngine *self, XdClassId klass, const char *backend, const char *port,
                             const char *vm, const char *const *options, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean xd_engine_attach_finish (XdEngine *self, GAsyncResult *result, GError **error);

/* With @backend and @port NULL: every device of @klass that @vm holds. */
void xd_engine_detach_async (XdEngine *self, XdClassId klass, const char *backend, const char *port,
                             const char *vm, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
/* *n_detached (may be NULL) tells how many devices were detached. */
gboolean xd_engine_detach_finish (XdEngine *self, GAsyncResult *result, guint *n_detached,
                                  GError **error);

/* How long one toolstack call may take, in ms (XEN_DEVICES_TIMEOUT_MS
 * overrides the default of 30 s: libxl under emulation takes seconds). */
guint xd_engine_operation_timeout (void);
/* XD_ERROR_INVALID, naming it, when XEN_DEVICES_TIMEOUT_MS is set to
 * anything but a number of milliseconds from 1 to an hour (which
 * xd_engine_operation_timeout () would ignore). */
gboolean xd_engine_check_timeout_setting (GError **error);

/* Most devices one backend VM may publish per class; more are ignored. */
#define XD_ENGINE_MAX_DEVICES_PER_CLASS 1024

G_END_DECLS
