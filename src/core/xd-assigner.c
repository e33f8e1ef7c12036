/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-assigner.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "xd-assignments.h"
#include "xd-error.h"
#include "xd-validate.h"

struct _XdAssigner
{
  GObject parent_instance;
  XdEngine *engine;
  char *state_dir;
  gulong vm_added_id;
  GCancellable *cancellable;
};

enum
{
  SIGNAL_APPLIED,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (XdAssigner, xd_assigner, G_TYPE_OBJECT)

typedef struct
{
  XdAssigner *self;
  char *vm;
  guint domid;
  char *device;
  gboolean required;
} Pending;

static void
pending_free (Pending *pending)
{
  g_object_unref (pending->self);
  g_free (pending->vm);
  g_free (pending->device);
  g_free (pending);
}

static void
fail (XdAssigner *self, const char *vm, guint domid, const char *device, gboolean required,
      const char *message)
{
  XdToolstack *toolstack = xd_engine_get_toolstack (self->engine);
  g_autoptr (GError) error = NULL;
  g_autofree char *full = NULL;

  if (required && toolstack)
    {
      /* qvm-device's promise: a VM whose required device is unavailable
       * does not run. */
      if (xd_toolstack_stop_vm (toolstack, domid, &error))
        full
          = g_strdup_printf (_ ("%s; %s was stopped because the device is required"), message, vm);
      else
        full = g_strdup_printf (_ ("%s; stopping %s failed too: %s"), message, vm, error->message);
    }
  else
    full = g_strdup (message);
  g_warning ("persistent assignment of %s to %s: %s", device, vm, full);
  g_signal_emit (self, signals[SIGNAL_FAILED], 0, vm, device, full);
}

static void
attach_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *pending = user_data;
  g_autoptr (GError) error = NULL;

  if (xd_engine_attach_finish (XD_ENGINE (source), result, &error))
    g_signal_emit (pending->self, signals[SIGNAL_APPLIED], 0, pending->vm, pending->device);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    fail (pending->self, pending->vm, pending->domid, pending->device, pending->required,
          error->message);
  pending_free (pending);
}

static void
apply_vm (XdAssigner *self, XdVm *vm)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdAssignments) assignments = NULL;
  g_autoptr (GPtrArray) mine = NULL;

  if (vm->domid == 0)
    return;
  /* Read the file each time: xen-device may have changed it. */
  assignments = xd_assignments_load (self->state_dir, &error);
  if (!assignments)
    {
      g_warning ("cannot apply the persistent assignments of %s: %s", vm->name, error->message);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, vm->name, "", error->message);
      return;
    }
  mine = xd_assignments_for_vm (assignments, vm->name);
  for (guint i = 0; i < mine->len; i++)
    {
      XdAssignment *a = mine->pdata[i];
      g_autofree char *port = xd_port_to_display (a->klass, a->port);
      g_autofree char *device = g_strdup_printf ("%s:%s", a->backend, port ? port : a->port);
      XdVm *backend = xd_engine_lookup_vm_by_name (self->engine, a->backend);
      Pending *pending;

      if (a->klass == XD_CLASS_PCI)
        continue; /* the toolstack gives PCI devices at the VM's creation */
      if (!backend || !xd_engine_lookup_device (self->engine, a->klass, backend->domid, a->port))
        {
          g_autofree char *message = g_strdup_printf (_ ("%s is not available (%s)"), device,
                                                      backend ? "the device is not there"
                                                              : "its backend VM is not running");
          fail (self, vm->name, vm->domid, device, a->required, message);
          continue;
        }
      pending = g_new0 (Pending, 1);
      pending->self = g_object_ref (self);
      pending->vm = g_strdup (vm->name);
      pending->domid = vm->domid;
      pending->device = g_steal_pointer (&device);
      pending->required = a->required;
      xd_engine_attach_async (self->engine, a->klass, a->backend, a->port, vm->name,
                              (const char *const *) a->options, self->cancellable, attach_done_cb,
                              pending);
    }
}

static void
vm_added_cb (XdEngine *engine, XdVm *vm, gpointer user_data)
{
  apply_vm (user_data, vm);
}

void
xd_assigner_apply_running (XdAssigner *self)
{
  g_autoptr (GPtrArray) vms = xd_engine_get_vms (self->engine);

  for (guint i = 0; i < vms->len; i++)
    apply_vm (self, vms->pdata[i]);
}

XdAssigner *
xd_assigner_new (XdEngine *engine, const char *state_dir)
{
  XdAssigner *self = g_object_new (XD_TYPE_ASSIGNER, NULL);

  self->engine = g_object_ref (engine);
  self->state_dir = g_strdup (state_dir);
  self->vm_added_id = g_signal_connect (engine, "vm-added", G_CALLBACK (vm_added_cb), self);
  return self;
}

static void
xd_assigner_dispose (GObject *object)
{
  XdAssigner *self = XD_ASSIGNER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->engine)
    {
      g_clear_signal_handler (&self->vm_added_id, self->engine);
      g_clear_object (&self->engine);
    }
  G_OBJECT_CLASS (xd_assigner_parent_class)->dispose (object);
}

static void
xd_assigner_finalize (GObject *object)
{
  XdAssigner *self = XD_ASSIGNER (object);

  g_free (self->state_dir);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (xd_assigner_parent_class)->finalize (object);
}

static void
xd_assigner_class_init (XdAssignerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = xd_assigner_dispose;
  object_class->finalize = xd_assigner_finalize;
  signals[SIGNAL_APPLIED]
    = g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_FAILED]
    = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
xd_assigner_init (XdAssigner *self)
{
  self->cancellable = g_cancellable_new ();
}
