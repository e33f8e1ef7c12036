/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-fake-notifications.h"

#include <gio/gio.h>
#include <string.h>

struct _XdFakeNotifications
{
  char *bus_address;
  const char *const *caps;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GMutex lock;
  GCond cond; /* signalled when ready and at every record */
  gboolean ready;
  GPtrArray *records; /* XdFakeNotification *, under lock */
  guint last_id;
  guint reply_delay_ms; /* under lock */
  GPtrArray *held;      /* Held *, under lock */
};

/* A Notify reply held back: answered by its timeout source, or (held for
 * ever) with an error when the server stops. */
typedef struct
{
  XdFakeNotifications *server;
  GDBusMethodInvocation *invocation;
  guint id;
  GSource *source; /* NULL: held until stop */
} Held;

const char *const xd_fake_notifications_default_caps[] = { "body", "body-markup", NULL };

static void
record_free (gpointer data)
{
  XdFakeNotification *r = data;

  g_free (r->app_name);
  g_free (r->summary);
  g_free (r->body);
  g_free (r);
}

static void
held_free (Held *held)
{
  if (held->source != NULL)
    {
      g_source_destroy (held->source);
      g_source_unref (held->source);
    }
  g_free (held);
}

static gboolean
reply_held_cb (gpointer user_data)
{
  Held *held = user_data;
  XdFakeNotifications *s = held->server;

  g_mutex_lock (&s->lock);
  g_ptr_array_remove_fast (s->held, held);
  g_mutex_unlock (&s->lock);
  g_dbus_method_invocation_return_value (held->invocation, g_variant_new ("(u)", held->id));
  held_free (held);
  return G_SOURCE_REMOVE;
}

static const char server_xml[] = "<node>"
                                 "  <interface name='org.freedesktop.Notifications'>"
                                 "    <method name='Notify'>"
                                 "      <arg type='s' name='app_name' direction='in'/>"
                                 "      <arg type='u' name='replaces_id' direction='in'/>"
                                 "      <arg type='s' name='app_icon' direction='in'/>"
                                 "      <arg type='s' name='summary' direction='in'/>"
                                 "      <arg type='s' name='body' direction='in'/>"
                                 "      <arg type='as' name='actions' direction='in'/>"
                                 "      <arg type='a{sv}' name='hints' direction='in'/>"
                                 "      <arg type='i' name='expire_timeout' direction='in'/>"
                                 "      <arg type='u' name='id' direction='out'/>"
                                 "    </method>"
                                 "    <method name='GetCapabilities'>"
                                 "      <arg type='as' name='caps' direction='out'/>"
                                 "    </method>"
                                 "    <method name='GetServerInformation'>"
                                 "      <arg type='s' name='name' direction='out'/>"
                                 "      <arg type='s' name='vendor' direction='out'/>"
                                 "      <arg type='s' name='version' direction='out'/>"
                                 "      <arg type='s' name='spec_version' direction='out'/>"
                                 "    </method>"
                                 "    <method name='CloseNotification'>"
                                 "      <arg type='u' name='id' direction='in'/>"
                                 "    </method>"
                                 "    <signal name='NotificationClosed'>"
                                 "      <arg type='u' name='id'/>"
                                 "      <arg type='u' name='reason'/>"
                                 "    </signal>"
                                 "  </interface>"
                                 "</node>";

static void
server_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  XdFakeNotifications *s = user_data;

  if (strcmp (method_name, "Notify") == 0)
    {
      XdFakeNotification *r = g_new0 (XdFakeNotification, 1);
      g_autoptr (GVariant) hints = NULL;
      guchar urgency;
      Held *held = NULL;

      g_variant_get (parameters, "(susss^a&s@a{sv}i)", &r->app_name, &r->replaces_id, NULL,
                     &r->summary, &r->body, NULL, &hints, &r->expire_timeout);
      r->urgency = g_variant_lookup (hints, "urgency", "y", &urgency) ? urgency : -1;
      /* Recorded and held under one lock: a test that sees the record also
       * sees the reply held. */
      g_mutex_lock (&s->lock);
      r->id = r->replaces_id ? r->replaces_id : ++s->last_id;
      g_ptr_array_add (s->records, r);
      if (s->reply_delay_ms > 0)
        {
          held = g_new0 (Held, 1);
          held->server = s;
          held->invocation = invocation;
          held->id = r->id;
          if (s->reply_delay_ms != G_MAXUINT)
            {
              held->source = g_timeout_source_new (s->reply_delay_ms);
              g_source_set_callback (held->source, reply_held_cb, held, NULL);
              g_source_attach (held->source, s->context);
            }
          g_ptr_array_add (s->held, held);
        }
      g_cond_broadcast (&s->cond);
      g_mutex_unlock (&s->lock);
      if (held == NULL)
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", r->id));
    }
  else if (strcmp (method_name, "GetCapabilities") == 0)
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", (char **) s->caps));
  else if (strcmp (method_name, "GetServerInformation") == 0)
    g_dbus_method_invocation_return_value (
      invocation, g_variant_new ("(ssss)", "fake", "xen-devices tests", "1.0", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static const GDBusInterfaceVTable server_vtable = { .method_call = server_method_call };

static gpointer
server_thread (gpointer user_data)
{
  XdFakeNotifications *s = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (server_xml, &error);
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GVariant) reply = NULL;
  guint registration;
  guint32 status;

  g_assert_no_error (error);
  g_main_context_push_thread_default (s->context);
  connection = g_dbus_connection_new_for_address_sync (
    s->bus_address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  registration
    = g_dbus_connection_register_object (connection, "/org/freedesktop/Notifications",
                                         info->interfaces[0], &server_vtable, s, NULL, &error);
  g_assert_no_error (error);
  /* Owned synchronously, so that the server answers once start returns. */
  reply = g_dbus_connection_call_sync (
    connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "RequestName", g_variant_new ("(su)", "org.freedesktop.Notifications", 4 /* DO_NOT_QUEUE */),
    G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &status);
  g_assert_cmpuint (status, ==, 1 /* PRIMARY_OWNER */);

  g_mutex_lock (&s->lock);
  s->ready = TRUE;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);

  g_main_loop_run (s->loop);

  /* What is still held is answered now, before the connection goes. */
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->held->len; i++)
    {
      Held *held = s->held->pdata[i];
      g_dbus_method_invocation_return_dbus_error (
        held->invocation, "org.freedesktop.DBus.Error.Failed", "The server stopped");
      held_free (held);
    }
  g_ptr_array_set_size (s->held, 0);
  g_mutex_unlock (&s->lock);

  g_dbus_connection_unregister_object (connection, registration);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

XdFakeNotifications *
xd_fake_notifications_start (const char *bus_address, const char *const *caps)
{
  XdFakeNotifications *s = g_new0 (XdFakeNotifications, 1);

  s->bus_address = g_strdup (bus_address);
  s->caps = caps ? caps : xd_fake_notifications_default_caps;
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->records = g_ptr_array_new_with_free_func (record_free);
  s->held = g_ptr_array_new ();
  s->thread = g_thread_new ("notification-server", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return s;
}

void
xd_fake_notifications_stop (XdFakeNotifications *s)
{
  if (!s)
    return;
  g_main_loop_quit (s->loop);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_ptr_array_unref (s->records);
  g_ptr_array_unref (s->held);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s->bus_address);
  g_free (s);
}

static guint
locked_len (XdFakeNotifications *s, GPtrArray *array)
{
  guint n;

  g_mutex_lock (&s->lock);
  n = array->len;
  g_mutex_unlock (&s->lock);
  return n;
}

guint
xd_fake_notifications_count (XdFakeNotifications *s)
{
  return locked_len (s, s->records);
}

const XdFakeNotification *
xd_fake_notifications_get (XdFakeNotifications *s, guint i)
{
  const XdFakeNotification *r;

  g_mutex_lock (&s->lock);
  g_assert_cmpuint (i, <, s->records->len);
  r = s->records->pdata[i];
  g_mutex_unlock (&s->lock);
  return r;
}

const XdFakeNotification *
xd_fake_notifications_last (XdFakeNotifications *s)
{
  guint n = xd_fake_notifications_count (s);

  g_assert_cmpuint (n, >, 0);
  return xd_fake_notifications_get (s, n - 1);
}

gboolean
xd_fake_notifications_wait_count (XdFakeNotifications *s, guint n, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean reached;

  g_mutex_lock (&s->lock);
  while (s->records->len < n)
    if (!g_cond_wait_until (&s->cond, &s->lock, end))
      break;
  reached = s->records->len >= n;
  g_mutex_unlock (&s->lock);
  return reached;
}

void
xd_fake_notifications_set_reply_delay (XdFakeNotifications *s, guint delay_ms)
{
  g_mutex_lock (&s->lock);
  s->reply_delay_ms = delay_ms;
  g_mutex_unlock (&s->lock);
}

guint
xd_fake_notifications_held (XdFakeNotifications *s)
{
  return locked_len (s, s->held);
}
