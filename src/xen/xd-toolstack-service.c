/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-toolstack-service.h"

#include "core/xd-class.h"
#include "core/xd-error.h"
#include "core/xd-validate.h"
#include "xd-control.h"

/* What the service may take beyond the call's own timeout (its libxl calls
 * are bounded by that timeout; this covers the trip and a busy service). */
#define MARGIN_MS 15000
#define STOP_VM_TIMEOUT_MS 45000

typedef struct
{
  XdToolstack parent;
  char *socket_path;

  GMutex lock;
  GDBusConnection *connection; /* under lock */
} XdToolstackService;

static void
set_connect_error (XdToolstackService *self, GError **error, const GError *cause)
{
  g_autofree char *why = xd_control_explain_access ();
  g_autofree char *quoted = xd_quote_for_message (self->socket_path);

  if (why)
    g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE,
                 "cannot reach the xen-devices service at %s (%s). %s", quoted, cause->message,
                 why);
  else
    g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE,
                 "cannot reach the xen-devices service at %s (%s): is it running? "
                 "“systemctl start xen-devices-daemon.socket” starts it",
                 quoted, cause->message);
}

/* The connection, opened if there is none or it closed. */
static GDBusConnection *
get_connection (XdToolstackService *self, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;

  if (self->connection && !g_dbus_connection_is_closed (self->connection))
    return g_object_ref (self->connection);
  g_clear_object (&self->connection);

  escaped = g_dbus_address_escape_value (self->socket_path);
  address = g_strconcat ("unix:path=", escaped, NULL);
  self->connection = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &local_error);
  if (!self->connection)
    {
      set_connect_error (self, error, local_error);
      return NULL;
    }
  return g_object_ref (self->connection);
}

static gboolean
call (XdToolstackService *self, const char *method, GVariant *parameters, guint timeout_ms,
      GCancellable *cancellable, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDBusConnection) connection = NULL;

  g_variant_ref_sink (parameters);
  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_clear_error (&local_error);
      connection = get_connection (self, error);
      if (!connection)
        {
          g_variant_unref (parameters);
          return FALSE;
        }
      reply = g_dbus_connection_call_sync (connection, NULL, XD_CONTROL_PATH, XD_CONTROL_INTERFACE,
                                           method, parameters, G_VARIANT_TYPE_UNIT,
                                           G_DBUS_CALL_FLAGS_NONE, (int) MIN (timeout_ms, G_MAXINT),
                                           cancellable, &local_error);
      /* A connection the service closed (it restarted) is tried once more,
       * freshly opened; the call was not made. */
      if (reply || !g_dbus_connection_is_closed (connection))
        break;
      g_clear_object (&connection);
    }
  g_variant_unref (parameters);
  if (reply)
    return TRUE;
  if (local_error->domain == XD_ERROR)
    {
      g_dbus_error_strip_remote_error (local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT,
                 "the xen-devices service did not answer %s within %u ms", method, timeout_ms);
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    {
      g_dbus_error_strip_remote_error (local_error);
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "the xen-devices service failed %s: %s",
                   method, local_error->message);
    }
  return FALSE;
}

static gboolean
service_attach (XdToolstack *toolstack, const XdAttachRequest *request, guint timeout_ms,
                GCancellable *cancellable, GError **error)
{
  XdToolstackService *self = (XdToolstackService *) toolstack;

  return call (self, "Attach",
               g_variant_new ("(suussbbu)", xd_class_id_to_string (request->klass),
                              request->backend, request->frontend, request->port,
                              request->frontend_dev ? request->frontend_dev : "",
                              request->read_only, request->cdrom, timeout_ms),
               timeout_ms + MARGIN_MS, cancellable, error);
}

static gboolean
service_detach (XdToolstack *toolstack, const XdAttachment *attachment, guint timeout_ms,
                GCancellable *cancellable, GError **error)
{
  XdToolstackService *self = (XdToolstackService *) toolstack;

  return call (self, "Detach",
               g_variant_new ("(ssuususu)", xd_class_id_to_string (attachment->klass),
                              attachment->kind ? attachment->kind : "", attachment->backend,
                              attachment->frontend, attachment->port, attachment->devid,
                              attachment->frontend_dev ? attachment->frontend_dev : "", timeout_ms),
               timeout_ms + MARGIN_MS, cancellable, error);
}

static gboolean
service_stop_vm (XdToolstack *toolstack, guint domid, GError **error)
{
  XdToolstackService *self = (XdToolstackService *) toolstack;

  return call (self, "StopVm", g_variant_new ("(u)", domid), STOP_VM_TIMEOUT_MS, NULL, error);
}

static void
service_free (XdToolstack *toolstack)
{
  XdToolstackService *self = (XdToolstackService *) toolstack;

  if (self->connection)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_mutex_clear (&self->lock);
  g_free (self->socket_path);
  g_free (self);
}

static const XdToolstackVTable service_vtable = {
  .attach = service_attach,
  .detach = service_detach,
  .stop_vm = service_stop_vm,
  .free = service_free,
};

XdToolstack *
xd_toolstack_service_new (const char *socket_path)
{
  XdToolstackService *self = g_new0 (XdToolstackService, 1);

  xd_control_register_errors ();
  self->parent.vtable = &service_vtable;
  self->parent.name = "service";
  self->socket_path = g_strdup (socket_path);
  g_mutex_init (&self->lock);
  return &self->parent;
}
