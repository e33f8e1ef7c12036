/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "xd-model.h"

G_BEGIN_DECLS

/*
 * The second seam (beside xd-store.h): what changes the system. Two
 * implementations sit behind it in src/xen: libxl on a real dom0, and the
 * simulated toolstack, which writes exactly the xenstore nodes libxl 4.17
 * writes and then plays the backend and frontend drivers. Everything above
 * this seam (the engine's rules, the front ends) runs the same code on both.
 *
 * Calls block and are made from worker threads, never from the main loop.
 * Implementations must be safe to call from several threads at once.
 */

typedef struct
{
  XdClassId klass;
  guint backend;
  guint frontend;
  const char *port; /* stored form, validated */

  /* block */
  const char *frontend_dev; /* "xvdi", chosen by the engine */
  gboolean read_only;
  gboolean cdrom;
} XdAttachRequest;

typedef struct _XdToolstack XdToolstack;

typedef struct
{
  /* Attaches and waits until the backend reports Connected (XenBus state
   * 4), at most @timeout_ms. On any failure nothing is left behind: no
   * backend, frontend or /libxl nodes. Errors: XD_ERROR_TIMEOUT,
   * XD_ERROR_UNAVAILABLE (backend or frontend not running), XD_ERROR_FAILED
   * with the backend's own error text where it wrote one. */
  gboolean (*attach) (XdToolstack *self, const XdAttachRequest *request, guint timeout_ms,
                      GCancellable *cancellable, GError **error);
  /* Detaches the device @attachment describes and waits until the nodes
   * are gone, at most @timeout_ms; removes them by force after that. */
  gboolean (*detach) (XdToolstack *self, const XdAttachment *attachment, guint timeout_ms,
                      GCancellable *cancellable, GError **error);
  /* Stops a VM at once (an assignment marked required could not be
   * honoured). */
  gboolean (*stop_vm) (XdToolstack *self, guint domid, GError **error);
  void (*free) (XdToolstack *self);
} XdToolstackVTable;

struct _XdToolstack
{
  const XdToolstackVTable *vtable;
  const char *name; /* "libxl" or "simulated" */
};

static inline gboolean
xd_toolstack_attach (XdToolstack *self, const XdAttachRequest *request, guint timeout_ms,
                     GCancellable *cancellable, GError **error)
{
  return self->vtable->attach (self, request, timeout_ms, cancellable, error);
}

static inline gboolean
xd_toolstack_detach (XdToolstack *self, const XdAttachment *attachment, guint timeout_ms,
                     GCancellable *cancellable, GError **error)
{
  return self->vtable->detach (self, attachment, timeout_ms, cancellable, error);
}

static inline gboolean
xd_toolstack_stop_vm (XdToolstack *self, guint domid, GError **error)
{
  return self->vtable->stop_vm (self, domid, error);
}

static inline void
xd_toolstack_free (XdToolstack *self)
{
  if (self)
    self->vtable->free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdToolstack, xd_toolstack_free)

/* libxl's device number for a Xen virtual disk name ("xvdi" -> 51840,
 * "xvdq" -> 268439552), or -1 for a name that is not xvd[a-z]{1,2}. */
int xd_vbd_devid_from_name (const char *name);

G_END_DECLS
