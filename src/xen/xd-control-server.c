/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-control-server.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xd-class-info.h"
#include "core/xd-class.h"
#include "core/xd-error.h"
#include "core/xd-validate.h"
#include "xd-control.h"

/* systemd's socket activation: the first passed descriptor. */
#define LISTEN_FDS_START 3
/* Xen's first reserved domain id (DOMID_FIRST_RESERVED). */
#define DOMID_LIMIT 0x7ff0U
#define MAX_TIMEOUT_MS (10U * 60U * 1000U)
#define MAX_CONNECTIONS 64

struct _XdControlServer
{
  XdToolstack *toolstack;
  GSocketService *service;
  char *description;
  char *bound_path; /* unlinked at the end, NULL under socket activation */
  GPtrArray *connections;

  GMutex lock;
  GCond idle;
  guint in_flight; /* under lock */
};

typedef enum
{
  OP_ATTACH,
  OP_DETACH,
  OP_STOP_VM,
} Op;

typedef struct
{
  XdControlServer *server;
  GDBusMethodInvocation *invocation;
  Op op;
  char *caller;
  char *what;
  guint timeout_ms;
  guint domid;
  XdAttachRequest request;
  char *port;
  char *frontend_dev;
  XdAttachment attachment;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->invocation);
  g_free (call->caller);
  g_free (call->what);
  g_free (call->port);
  g_free (call->frontend_dev);
  g_free (call->attachment.kind);
  g_free (call);
}

static char *
describe_caller (GDBusConnection *connection)
{
  GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);
  uid_t uid;
  pid_t pid;

  if (!credentials)
    return g_strdup ("an unknown caller");
  uid = g_credentials_get_unix_user (credentials, NULL);
  pid = g_credentials_get_unix_pid (credentials, NULL);
  return g_strdup_printf ("uid %d (pid %d)", (int) uid, (int) pid);
}

static gboolean
check_domids (guint backend, guint frontend, GError **error)
{
  if (backend >= DOMID_LIMIT || frontend >= DOMID_LIMIT)
    g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "a domain id out of range (%u, %u)", backend,
                 frontend);
  else if (frontend == 0)
    g_set_error_literal (error, XD_ERROR, XD_ERROR_REFUSED, "nothing is attached to dom0");
  else if (frontend == backend)
    g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, "domain %u cannot be attached its own device",
                 frontend);
  else
    return TRUE;
  return FALSE;
}

static gboolean
check_common (const char *class_name, guint backend, guint frontend, const char *port,
              const char *frontend_dev, guint timeout_ms, XdClassId *klass, GError **error)
{
  g_autofree char *quoted = NULL;

  if (!xd_class_id_from_string (class_name, klass))
    {
      quoted = xd_quote_for_message (class_name);
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "no device class “%s”", quoted);
      return FALSE;
    }
  if (!check_domids (backend, frontend, error))
    return FALSE;
  if (!xd_validate_port (*klass, port))
    {
      quoted = xd_quote_for_message (port);
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "not a %s port: “%s”", class_name, quoted);
      return FALSE;
    }
  if (*klass == XD_CLASS_BLOCK ? xd_vbd_devid_from_name (frontend_dev) < 0 : *frontend_dev != '\0')
    {
      quoted = xd_quote_for_message (frontend_dev);
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "not a frontend device for %s: “%s”",
                   class_name, quoted);
      return FALSE;
    }
  if (timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "a timeout out of range (%u ms)", timeout_ms);
      return FALSE;
    }
  return TRUE;
}

/* Fills @call from the method's arguments, or says what is wrong. */
static gboolean
parse_call (Call *call, const char *method, GVariant *parameters, GError **error)
{
  const char *class_name, *port, *frontend_dev, *kind;
  guint backend, frontend, devid, timeout_ms;
  gboolean read_only, cdrom;
  XdClassId klass;

  if (g_strcmp0 (method, "Attach") == 0)
    {
      g_variant_get (parameters, "(&suu&s&sbbu)", &class_name, &backend, &frontend, &port,
                     &frontend_dev, &read_only, &cdrom, &timeout_ms);
      if (!check_common (class_name, backend, frontend, port, frontend_dev, timeout_ms, &klass,
                         error))
        return FALSE;
      if ((read_only || cdrom) && klass != XD_CLASS_BLOCK)
        {
          g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                               "read-only and cdrom are options of block devices");
          return FALSE;
        }
      call->op = OP_ATTACH;
      call->port = g_strdup (port);
      call->frontend_dev = *frontend_dev ? g_strdup (frontend_dev) : NULL;
      call->request = (XdAttachRequest){
        .klass = klass,
        .backend = backend,
        .frontend = frontend,
        .port = call->port,
        .frontend_dev = call->frontend_dev,
        .read_only = read_only,
        .cdrom = cdrom,
      };
      call->timeout_ms = timeout_ms;
      call->what = g_strdup_printf ("attach %s %u:%s to domain %u%s", class_name, backend, port,
                                    frontend, read_only ? " read-only" : "");
      return TRUE;
    }
  if (g_strcmp0 (method, "Detach") == 0)
    {
      const XdClassInfo *info;

      g_variant_get (parameters, "(&s&suu&su&su)", &class_name, &kind, &backend, &frontend, &port,
                     &devid, &frontend_dev, &timeout_ms);
      if (!check_common (class_name, backend, frontend, port, frontend_dev, timeout_ms, &klass,
                         error))
        return FALSE;
      info = xd_class_info_for_backend_kind (kind);
      if (!info || xd_class_info_get (klass) != info)
        {
          g_autofree char *quoted = xd_quote_for_message (kind);
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "not a backend kind of %s: “%s”",
                       class_name, quoted);
          return FALSE;
        }
      call->op = OP_DETACH;
      call->port = g_strdup (port);
      call->frontend_dev = *frontend_dev ? g_strdup (frontend_dev) : NULL;
      call->attachment = (XdAttachment){
        .klass = klass,
        .backend = backend,
        .frontend = frontend,
        .port = call->port,
        .kind = g_strdup (kind),
        .devid = devid,
        .frontend_dev = call->frontend_dev,
      };
      call->timeout_ms = timeout_ms;
      call->what
        = g_strdup_printf ("detach %s %u:%s from domain %u", class_name, backend, port, frontend);
      return TRUE;
    }
  if (g_strcmp0 (method, "StopVm") == 0)
    {
      g_variant_get (parameters, "(u)", &call->domid);
      if (!check_domids (0, call->domid, error))
        return FALSE;
      call->op = OP_STOP_VM;
      call->what = g_strdup_printf ("stop domain %u", call->domid);
      return TRUE;
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, "no method %s", method);
  return FALSE;
}

static void
run_call (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Call *call = task_data;
  XdControlServer *self = call->server;
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;

  switch (call->op)
    {
    case OP_ATTACH:
      ok = xd_toolstack_attach (self->toolstack, &call->request, call->timeout_ms, NULL, &error);
      break;
    case OP_DETACH:
      ok = xd_toolstack_detach (self->toolstack, &call->attachment, call->timeout_ms, NULL, &error);
      break;
    case OP_STOP_VM:
      ok = xd_toolstack_stop_vm (self->toolstack, call->domid, &error);
      break;
    }
  if (ok)
    {
      g_message ("%s for %s: done", call->what, call->caller);
      g_dbus_method_invocation_return_value (call->invocation, NULL);
    }
  else
    {
      g_message ("%s for %s: %s", call->what, call->caller, error->message);
      g_dbus_method_invocation_return_gerror (call->invocation, error);
    }
  g_mutex_lock (&self->lock);
  if (--self->in_flight == 0)
    g_cond_broadcast (&self->idle);
  g_mutex_unlock (&self->lock);
}

static void
method_call_cb (GDBusConnection *connection, const char *sender, const char *object_path,
                const char *interface_name, const char *method_name, GVariant *parameters,
                GDBusMethodInvocation *invocation, gpointer user_data)
{
  XdControlServer *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  Call *call = g_new0 (Call, 1);

  call->server = self;
  call->invocation = g_object_ref (invocation);
  call->caller = describe_caller (connection);
  if (!parse_call (call, method_name, parameters, &error))
    {
      g_message ("refused %s from %s: %s", method_name, call->caller, error->message);
      g_dbus_method_invocation_return_gerror (invocation, error);
      call_free (call);
      return;
    }
  g_mutex_lock (&self->lock);
  self->in_flight++;
  g_mutex_unlock (&self->lock);
  task = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  g_task_run_in_thread (task, run_call);
}

static const GDBusInterfaceVTable interface_vtable = {
  .method_call = method_call_cb,
};

static gboolean
allow_mechanism_cb (GDBusAuthObserver *observer, const char *mechanism, gpointer user_data)
{
  /* The kernel's word for who connected, nothing the peer says of itself. */
  return g_strcmp0 (mechanism, "EXTERNAL") == 0;
}

static void
connection_closed_cb (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
                      gpointer user_data)
{
  XdControlServer *self = user_data;

  g_ptr_array_remove (self->connections, connection);
}

static void
connection_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  XdControlServer *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection = g_dbus_connection_new_finish (result, &error);

  if (!connection)
    {
      g_message ("a caller could not connect: %s", error->message);
      return;
    }
  if (!g_dbus_connection_register_object (connection, XD_CONTROL_PATH, xd_control_interface_info (),
                                          &interface_vtable, self, NULL, &error))
    {
      g_warning ("cannot serve a caller: %s", error->message);
      return;
    }
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed_cb), self);
  g_ptr_array_add (self->connections, g_object_ref (connection));
  g_dbus_connection_start_message_processing (connection);
}

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source_object,
             gpointer user_data)
{
  XdControlServer *self = user_data;
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autoptr (GDBusAuthObserver) observer = g_dbus_auth_observer_new ();

  if (self->connections->len >= MAX_CONNECTIONS)
    {
      g_message ("refused a connection: %u callers are connected", self->connections->len);
      return TRUE;
    }
  g_signal_connect (observer, "allow-mechanism", G_CALLBACK (allow_mechanism_cb), NULL);
  g_dbus_connection_new (G_IO_STREAM (connection), guid,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER
                           | G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                         observer, NULL, connection_ready_cb, self);
  return TRUE;
}

/* The socket systemd passed, or NULL (and no error) when there is none. */
static GSocket *
activated_socket (GError **error)
{
  const char *pid = g_getenv ("LISTEN_PID");
  const char *fds = g_getenv ("LISTEN_FDS");
  GSocket *socket;

  if (!pid || !fds || g_ascii_strtoll (pid, NULL, 10) != getpid () || atoi (fds) < 1)
    return NULL;
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  socket = g_socket_new_from_fd (LISTEN_FDS_START, error);
  return socket;
}

static GSocket *
bind_socket (const char *path, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  struct group gr, *grp = NULL;
  char buf[4096];
  mode_t old_umask;
  gboolean bound;

  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int err = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "cannot make %s: %s", dir, g_strerror (err));
      return NULL;
    }
  socket
    = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (!socket)
    return NULL;
  address = g_unix_socket_address_new (path);
  if (lstat (path, &st) == 0)
    {
      g_autoptr (GSocket) probe = NULL;

      if (!S_ISSOCK (st.st_mode))
        {
          g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "%s is there and is not a socket", path);
          return NULL;
        }
      probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                            NULL);
      if (probe && g_socket_connect (probe, address, NULL, NULL))
        {
          g_set_error (error, XD_ERROR, XD_ERROR_FAILED,
                       "another xen-devices service already listens at %s", path);
          return NULL;
        }
      unlink (path);
    }
  /* Nobody but root until the group is set. */
  old_umask = umask (0177);
  bound = g_socket_bind (socket, address, FALSE, error);
  umask (old_umask);
  if (!bound)
    return NULL;
  if (getgrnam_r (xd_control_group_name (), &gr, buf, sizeof buf, &grp) == 0 && grp)
    {
      if (chown (path, (uid_t) -1, grp->gr_gid) < 0 || chmod (path, 0660) < 0)
        {
          int err = errno;
          g_message ("%s stays root's only: cannot give it to the group %s: %s", path,
                     xd_control_group_name (), g_strerror (err));
        }
    }
  else
    g_message ("%s is root's only: there is no group %s", path, xd_control_group_name ());
  if (!g_socket_listen (socket, error))
    {
      unlink (path);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

XdControlServer *
xd_control_server_new (XdToolstack *toolstack, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) local_error = NULL;
  XdControlServer *self;

  xd_control_register_errors ();
  socket = activated_socket (&local_error);
  if (local_error)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "the socket systemd passed: %s",
                   local_error->message);
      return NULL;
    }
  self = g_new0 (XdControlServer, 1);
  self->toolstack = toolstack;
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&self->lock);
  g_cond_init (&self->idle);
  if (socket)
    self->description = g_strdup ("the socket systemd passed");
  else
    {
      const char *path = xd_control_socket_path ();

      socket = bind_socket (path, error);
      if (!socket)
        {
          xd_control_server_free (self);
          return NULL;
        }
      self->bound_path = g_strdup (path);
      self->description = g_strdup (path);
    }
  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (self->service), socket, NULL, error))
    {
      xd_control_server_free (self);
      return NULL;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (incoming_cb), self);
  g_socket_service_start (self->service);
  return self;
}

const char *
xd_control_server_get_description (XdControlServer *self)
{
  return self->description;
}

void
xd_control_server_free (XdControlServer *self)
{
  if (!self)
    return;
  if (self->service)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_signal_handlers_disconnect_by_data (self->service, self);
      g_clear_object (&self->service);
    }
  for (guint i = 0; i < self->connections->len; i++)
    {
      GDBusConnection *connection = self->connections->pdata[i];
      g_signal_handlers_disconnect_by_data (connection, self);
      g_dbus_connection_close_sync (connection, NULL, NULL);
    }
  g_ptr_array_unref (self->connections);
  g_mutex_lock (&self->lock);
  while (self->in_flight > 0)
    g_cond_wait (&self->idle, &self->lock);
  g_mutex_unlock (&self->lock);
  if (self->bound_path)
    unlink (self->bound_path);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->idle);
  g_free (self->bound_path);
  g_free (self->description);
  g_free (self);
}
