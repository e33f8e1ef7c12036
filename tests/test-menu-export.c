/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The menu export (src/tray/xd-menu-export.c) on a private session bus
 * (GTestDBus runs a real dbus-daemon): com.canonical.dbusmenu as a panel
 * calls it, method by method, the signals it sends for a change, and
 * libdbusmenu's own client (what panels link) reading and clicking the
 * tree.
 */
#include "config.h"

#include <libdbusmenu-glib/client.h>

#include "tray/xd-menu-export.h"

#define PATH "/org/example/Menu"
#define IFACE "com.canonical.dbusmenu"

typedef struct
{
  GDBusConnection *server_bus;
  GDBusConnection *client_bus;
  XdMenuExport *export;
  XdMenuNode *root, *a, *sep, *b, *c;
  GString *calls;     /* "activated A", "wanted B", ... */
  GPtrArray *signals; /* printed signal parameters, "Name (...)" */
  gboolean fill_b;    /* B's wanted callback adds a child, once */
  XdMenuNode *filled;
} Fixture;

static const char *
node_name (Fixture *fx, XdMenuNode *node)
{
  return node == fx->a ? "A" : node == fx->b ? "B" : node == fx->c ? "C" : "?";
}

static void
activated_cb (XdMenuNode *node, gpointer user_data)
{
  Fixture *fx = user_data;
  g_string_append_printf (fx->calls, "activated %s;", node_name (fx, node));
}

static void
wanted_cb (XdMenuNode *node, gpointer user_data)
{
  Fixture *fx = user_data;

  g_string_append_printf (fx->calls, "wanted %s;", node_name (fx, node));
  if (fx->fill_b && node == fx->b && !fx->filled)
    {
      fx->filled = xd_menu_node_new (XD_MENU_NODE_STANDARD);
      xd_menu_node_set_label (fx->filled, "filled");
      xd_menu_node_insert (fx->b, fx->filled, 1);
    }
}

static void
signal_cb (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
           const char *name, GVariant *params, gpointer user_data)
{
  Fixture *fx = user_data;
  g_autofree char *text = g_variant_print (params, FALSE);

  g_ptr_array_add (fx->signals, g_strdup_printf ("%s %s", name, text));
}

static GDBusConnection *
new_connection (void)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_dbus_connection_new_for_address_sync (
    g_getenv ("DBUS_SESSION_BUS_ADDRESS"),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);

  g_assert_no_error (error);
  return bus;
}

/* root: A "A_b" (icon drive), a separator, B (submenu, disabled) holding C
 * (hidden). */
static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->calls = g_string_new (NULL);
  fx->signals = g_ptr_array_new_with_free_func (g_free);
  fx->server_bus = new_connection ();
  fx->client_bus = new_connection ();
  fx->export = xd_menu_export_new (fx->server_bus, PATH, &error);
  g_assert_no_error (error);

  fx->root = xd_menu_node_new (XD_MENU_NODE_SUBMENU);
  fx->a = xd_menu_node_new (XD_MENU_NODE_STANDARD);
  xd_menu_node_set_label (fx->a, "A_b");
  xd_menu_node_set_icon (fx->a, "drive");
  fx->sep = xd_menu_node_new (XD_MENU_NODE_SEPARATOR);
  fx->b = xd_menu_node_new (XD_MENU_NODE_SUBMENU);
  xd_menu_node_set_label (fx->b, "B");
  xd_menu_node_set_enabled (fx->b, FALSE);
  fx->c = xd_menu_node_new (XD_MENU_NODE_STANDARD);
  xd_menu_node_set_label (fx->c, "C");
  xd_menu_node_set_visible (fx->c, FALSE);
  xd_menu_node_insert (fx->root, fx->a, 0);
  xd_menu_node_insert (fx->root, fx->b, 1);
  xd_menu_node_insert (fx->root, fx->sep, 1); /* between A and B */
  xd_menu_node_insert (fx->b, fx->c, 0);
  for (XdMenuNode **n = &fx->a; n <= &fx->c; n++)
    xd_menu_node_set_callbacks (*n, activated_cb, wanted_cb, fx);
  xd_menu_export_set_root (fx->export, fx->root);

  g_dbus_connection_signal_subscribe (fx->client_bus, NULL, IFACE, NULL, PATH, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, signal_cb, fx, NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  xd_menu_node_free (fx->filled);
  xd_menu_node_free (fx->c);
  xd_menu_node_free (fx->b);
  xd_menu_node_free (fx->sep);
  xd_menu_node_free (fx->a);
  xd_menu_node_free (fx->root);
  g_clear_object (&fx->export);
  g_dbus_connection_close_sync (fx->server_bus, NULL, NULL);
  g_dbus_connection_close_sync (fx->client_bus, NULL, NULL);
  g_clear_object (&fx->server_bus);
  g_clear_object (&fx->client_bus);
  g_string_free (fx->calls, TRUE);
  g_ptr_array_unref (fx->signals);
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A call from the client's connection, the server's main loop turning
 * until it is answered. */
static GVariant *
call (Fixture *fx, const char *method, GVariant *params, const char *reply_type, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  const char *name = g_dbus_connection_get_unique_name (fx->server_bus);

  g_dbus_connection_call (fx->client_bus, name, PATH, IFACE, method, params,
                          reply_type ? G_VARIANT_TYPE (reply_type) : NULL, G_DBUS_CALL_FLAGS_NONE,
                          5000, NULL, store_result_cb, &result);
  while (!result)
    g_main_context_iteration (NULL, TRUE);
  return g_dbus_connection_call_finish (fx->client_bus, result, error);
}

static char *
call_printed (Fixture *fx, const char *method, GVariant *params, const char *reply_type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = call (fx, method, params, reply_type, &error);

  g_assert_no_error (error);
  return g_variant_print (reply, FALSE);
}

/* Turns the main loop until @n signals have come, and a little more to see
 * that no other follows. */
static void
wait_signals (Fixture *fx, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (fx->signals->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  /* A round trip: anything sent before it has arrived. */
  g_free (call_printed (fx, "GetProperty", g_variant_new ("(is)", 0, "children-display"), "(v)"));
  g_assert_cmpuint (fx->signals->len, ==, n);
}

static void
test_layout (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *all = NULL, *labels = NULL, *b = NULL, *props = NULL, *prop = NULL;
  g_autofree char *expected_all = NULL, *expected_labels = NULL, *expected_b = NULL;
  g_autofree char *expected_props = NULL;
  const char *no_names[] = { NULL }, *label[] = { "label", NULL };
  gint32 a = xd_menu_node_get_id (fx->a), s = xd_menu_node_get_id (fx->sep);
  gint32 bi = xd_menu_node_get_id (fx->b), c = xd_menu_node_get_id (fx->c);
  guint rev = xd_menu_export_get_revision (fx->export);

  all = call_printed (fx, "GetLayout", g_variant_new ("(ii^as)", 0, -1, no_names), NULL);
  expected_all = g_strdup_printf (
    "(%u, (0, {'children-display': <'submenu'>}, [<(%d, {'label': <'A_b'>, 'icon-name': "
    "<'drive'>}, @av [])>, <(%d, {'type': <'separator'>}, @av [])>, <(%d, {'label': <'B'>, "
    "'enabled': <false>, 'children-display': <'submenu'>}, [<(%d, {'label': <'C'>, 'visible': "
    "<false>}, @av [])>])>]))",
    rev, a, s, bi, c);
  g_assert_cmpstr (all, ==, expected_all);

  /* One level, labels only: as a panel's first look. */
  labels = call_printed (fx, "GetLayout", g_variant_new ("(ii^as)", 0, 1, label), NULL);
  expected_labels = g_strdup_printf ("(%u, (0, {}, [<(%d, {'label': <'A_b'>}, @av "
                                     "[])>, <(%d, @a{sv} {}, @av [])>, <(%d, {'label': <'B'>}, "
                                     "@av [])>]))",
                                     rev, a, s, bi);
  g_assert_cmpstr (labels, ==, expected_labels);

  /* B alone, without its children. */
  b = call_printed (fx, "GetLayout", g_variant_new ("(ii^as)", bi, 0, no_names), NULL);
  expected_b = g_strdup_printf ("(%u, (%d, {'label': <'B'>, 'enabled': <false>, "
                                "'children-display': <'submenu'>}, []))",
                                rev, bi);
  g_assert_cmpstr (b, ==, expected_b);

  reply = call (fx, "GetLayout", g_variant_new ("(ii^as)", 9999, -1, no_names), NULL, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_null (reply);
  g_clear_error (&error);

  props = call_printed (fx, "GetGroupProperties",
                        g_variant_new_parsed ("([%i, 9999, %i], ['label'])", a, c), NULL);
  expected_props = g_strdup_printf ("([(%d, {'label': <'A_b'>}), (%d, {'label': <'C'>})],)", a, c);
  g_assert_cmpstr (props, ==, expected_props);

  prop = call_printed (fx, "GetProperty", g_variant_new ("(is)", a, "icon-name"), NULL);
  g_assert_cmpstr (prop, ==, "(<'drive'>,)");
  reply = call (fx, "GetProperty", g_variant_new ("(is)", a, "toggle-type"), NULL, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* The interface's own properties. */
  {
    g_autofree char *version = NULL;
    const char *name = g_dbus_connection_get_unique_name (fx->server_bus);
    g_autoptr (GVariant) value = NULL;
    g_autoptr (GAsyncResult) result = NULL;

    g_dbus_connection_call (fx->client_bus, name, PATH, "org.freedesktop.DBus.Properties", "GetAll",
                            g_variant_new ("(s)", IFACE), NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                            store_result_cb, &result);
    while (!result)
      g_main_context_iteration (NULL, TRUE);
    value = g_dbus_connection_call_finish (fx->client_bus, result, &error);
    g_assert_no_error (error);
    version = g_variant_print (value, FALSE);
    g_assert_nonnull (strstr (version, "'Version': <uint32 3>"));
    g_assert_nonnull (strstr (version, "'Status': <'normal'>"));
    g_assert_nonnull (strstr (version, "'TextDirection': <'ltr'>"));
  }
}

static void
test_signals (Fixture *fx, gconstpointer data)
{
  g_autofree char *expected = NULL;
  XdMenuNode *d;
  gint32 a = xd_menu_node_get_id (fx->a), bi = xd_menu_node_get_id (fx->b);
  guint rev;

  /* Setting the root is announced once. */
  wait_signals (fx, 1);
  expected = g_strdup_printf ("LayoutUpdated (%u, 0)", xd_menu_export_get_revision (fx->export));
  g_assert_cmpstr (fx->signals->pdata[0], ==, expected);
  g_ptr_array_set_size (fx->signals, 0);

  /* Properties: one signal for a burst, a removed icon among the removed. */
  xd_menu_node_set_label (fx->a, "A2");
  xd_menu_node_set_label (fx->a, "A3");
  xd_menu_node_set_icon (fx->a, NULL);
  xd_menu_node_set_enabled (fx->b, TRUE);
  xd_menu_node_set_enabled (fx->b, TRUE); /* no change */
  wait_signals (fx, 1);
  g_assert_true (g_str_has_prefix (fx->signals->pdata[0], "ItemsPropertiesUpdated ("));
  g_assert_nonnull (strstr (fx->signals->pdata[0], "{'label': <'A3'>}"));
  g_assert_nonnull (strstr (fx->signals->pdata[0], "{'enabled': <true>}"));
  {
    g_autofree char *removed = g_strdup_printf ("[(%d, ['icon-name'])])", a);
    g_assert_true (g_str_has_suffix (fx->signals->pdata[0], removed));
  }
  g_ptr_array_set_size (fx->signals, 0);

  /* A child added under B: LayoutUpdated names B. */
  rev = xd_menu_export_get_revision (fx->export);
  d = xd_menu_node_new (XD_MENU_NODE_STANDARD);
  xd_menu_node_insert (fx->b, d, 1);
  g_assert_cmpuint (xd_menu_export_get_revision (fx->export), ==, rev + 1);
  wait_signals (fx, 1);
  g_free (expected);
  expected = g_strdup_printf ("LayoutUpdated (%u, %d)", rev + 1, bi);
  g_assert_cmpstr (fx->signals->pdata[0], ==, expected);
  g_ptr_array_set_size (fx->signals, 0);

  /* Under B and under the root in one go: the whole menu (0). A label set
   * on a node gone by then is not sent. */
  xd_menu_node_set_label (d, "gone");
  xd_menu_node_move (fx->root, fx->b, 0);
  xd_menu_node_free (d);
  wait_signals (fx, 1);
  g_free (expected);
  expected = g_strdup_printf ("LayoutUpdated (%u, 0)", rev + 3);
  g_assert_cmpstr (fx->signals->pdata[0], ==, expected);
  g_assert_cmpint (xd_menu_node_index (fx->root, fx->b), ==, 0);
  g_assert_cmpint (xd_menu_node_index (fx->root, fx->a), ==, 1);
}

static void
test_events (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *need = NULL, *group = NULL, *errors = NULL;
  gint32 a = xd_menu_node_get_id (fx->a), bi = xd_menu_node_get_id (fx->b);

  g_free (call_printed (fx, "Event",
                        g_variant_new ("(isvu)", a, "clicked", g_variant_new_int32 (0), 0), NULL));
  /* B is disabled: no click. */
  g_free (call_printed (fx, "Event",
                        g_variant_new ("(isvu)", bi, "clicked", g_variant_new_int32 (0), 0), NULL));
  g_assert_cmpstr (fx->calls->str, ==, "activated A;");
  xd_menu_node_set_enabled (fx->b, TRUE);
  /* A click on a submenu entry, or its "opened": the submenu is wanted. */
  g_free (call_printed (fx, "Event",
                        g_variant_new ("(isvu)", bi, "clicked", g_variant_new_int32 (0), 0), NULL));
  g_free (call_printed (fx, "Event",
                        g_variant_new ("(isvu)", bi, "opened", g_variant_new_int32 (0), 0), NULL));
  g_free (call_printed (fx, "Event",
                        g_variant_new ("(isvu)", a, "hovered", g_variant_new_int32 (0), 0), NULL));
  g_assert_cmpstr (fx->calls->str, ==, "activated A;wanted B;wanted B;");

  reply = call (fx, "Event", g_variant_new ("(isvu)", 9999, "clicked", g_variant_new_int32 (0), 0),
                NULL, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* AboutToShow: an update is needed when the callback changed B's
   * children, and only then. */
  g_string_truncate (fx->calls, 0);
  fx->fill_b = TRUE;
  need = call_printed (fx, "AboutToShow", g_variant_new ("(i)", bi), "(b)");
  g_assert_cmpstr (need, ==, "(true,)");
  g_assert_cmpint (xd_menu_node_index (fx->b, fx->filled), ==, 1);
  g_free (need);
  need = call_printed (fx, "AboutToShow", g_variant_new ("(i)", bi), "(b)");
  g_assert_cmpstr (need, ==, "(false,)");
  g_free (need);
  need = call_printed (fx, "AboutToShow", g_variant_new ("(i)", a), "(b)");
  g_assert_cmpstr (need, ==, "(false,)");
  g_assert_cmpstr (fx->calls->str, ==, "wanted B;wanted B;");

  group = call_printed (fx, "AboutToShowGroup", g_variant_new_parsed ("([%i, 9999],)", bi), NULL);
  g_assert_cmpstr (group, ==, "([], [9999])");

  g_string_truncate (fx->calls, 0);
  errors
    = call_printed (fx, "EventGroup",
                    g_variant_new_parsed ("([(%i, 'clicked', <0>, uint32 0), (9999, 'clicked', "
                                          "<0>, uint32 0)],)",
                                          a),
                    NULL);
  g_assert_cmpstr (errors, ==, "([9999],)");
  g_assert_cmpstr (fx->calls->str, ==, "activated A;");
  reply = call (fx, "EventGroup", g_variant_new_parsed ("([(9999, 'clicked', <0>, uint32 0)],)"),
                NULL, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
}

/* ---- libdbusmenu's client, as a panel links it ---- */

static void
client_layout_cb (DbusmenuClient *client, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static char *
client_dump (DbusmenuMenuitem *item)
{
  GString *out = g_string_new (NULL);

  for (GList *l = dbusmenu_menuitem_get_children (item); l; l = l->next)
    {
      g_autofree char *below = client_dump (l->data);
      const char *label = dbusmenu_menuitem_property_get (l->data, DBUSMENU_MENUITEM_PROP_LABEL);
      const char *type = dbusmenu_menuitem_property_get (l->data, DBUSMENU_MENUITEM_PROP_TYPE);

      /* (dbusmenu has no default "enabled" for a separator) */
      gboolean off = !type && !dbusmenu_menuitem_property_get_bool (l->data, "enabled");

      g_string_append_printf (out, "%s%s%s%s%s;", label ? label : "", type ? type : "",
                              off ? "(off)" : "", *below ? " > " : "", below);
    }
  return g_string_free (out, FALSE);
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_until (gboolean (*done) (Fixture *, gpointer), Fixture *fx, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint wake = g_timeout_add (50, wake_cb, NULL);

  while (!done (fx, data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  g_assert_true (done (fx, data));
}

typedef struct
{
  DbusmenuClient *client;
  const char *expected;
} ClientWait;

static gboolean
client_shows (Fixture *fx, gpointer data)
{
  ClientWait *wait = data;
  DbusmenuMenuitem *root = dbusmenu_client_get_root (wait->client);
  g_autofree char *dump = root ? client_dump (root) : NULL;

  if (g_strcmp0 (dump, wait->expected) == 0)
    return TRUE;
  g_test_message ("the client shows “%s”", dump);
  return FALSE;
}

static gboolean
calls_are (Fixture *fx, gpointer data)
{
  return g_strcmp0 (fx->calls->str, data) == 0;
}

static void
test_libdbusmenu_client (Fixture *fx, gconstpointer data)
{
  DbusmenuClient *client;
  ClientWait wait;
  guint layouts = 0;
  DbusmenuMenuitem *a;

  /* libdbusmenu's client uses the session bus of the process: a third
   * connection, to the server's unique name. */
  client = dbusmenu_client_new (g_dbus_connection_get_unique_name (fx->server_bus), PATH);
  g_signal_connect (client, DBUSMENU_CLIENT_SIGNAL_LAYOUT_UPDATED, G_CALLBACK (client_layout_cb),
                    &layouts);
  wait.client = client;
  /* Hidden C is in the tree, as dbusmenu keeps hidden entries. */
  wait.expected = "A_b;separator;B(off) > C;;";
  wait_until (client_shows, fx, &wait);
  g_assert_cmpuint (layouts, >, 0);

  /* A change of a label reaches it as a property update. */
  xd_menu_node_set_label (fx->a, "A2");
  xd_menu_node_set_enabled (fx->b, TRUE);
  wait.expected = "A2;separator;B > C;;";
  wait_until (client_shows, fx, &wait);

  /* A new entry, as a layout update. */
  fx->filled = xd_menu_node_new (XD_MENU_NODE_STANDARD);
  xd_menu_node_set_label (fx->filled, "new");
  xd_menu_node_insert (fx->root, fx->filled, 3);
  wait.expected = "A2;separator;B > C;;new;";
  wait_until (client_shows, fx, &wait);

  /* A click through the client. */
  a = dbusmenu_menuitem_get_children (dbusmenu_client_get_root (client))->data;
  dbusmenu_menuitem_handle_event (a, DBUSMENU_MENUITEM_EVENT_ACTIVATED, NULL, 0);
  wait_until (calls_are, fx, (gpointer) "activated A;");

  /* The client may still be asking (it reads properties after an update):
   * a ping after its calls, on its connection, comes back after their
   * answers, before the server goes away. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GDBusConnection) session = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GVariant) pong = NULL;

      g_dbus_connection_call (session, g_dbus_connection_get_unique_name (fx->server_bus), PATH,
                              "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                              G_DBUS_CALL_FLAGS_NONE, 5000, NULL, store_result_cb, &result);
      while (!result)
        g_main_context_iteration (NULL, TRUE);
      pong = g_dbus_connection_call_finish (session, result, NULL);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_object_unref (client);
}

/* A label that is not UTF-8 (validation upstream should never let one
 * through) is sent repaired, not refused. */
static void
test_bad_utf8 (Fixture *fx, gconstpointer data)
{
  g_autofree char *prop = NULL;

  xd_menu_node_set_label (fx->a, "bad \xff\xfe label");
  g_assert_cmpstr (xd_menu_node_get_label (fx->a), ==, "bad \357\277\275\357\277\275 label");
  prop = call_printed (fx, "GetProperty",
                       g_variant_new ("(is)", xd_menu_node_get_id (fx->a), "label"), NULL);
  g_assert_cmpstr (prop, ==, "(<'bad \357\277\275\357\277\275 label'>,)");
}

/* A node freed before its children, and a root freed while exported. */
static void
test_free_order (Fixture *fx, gconstpointer data)
{
  const char *no_names[] = { NULL };
  g_autofree char *layout = NULL;

  xd_menu_node_free (g_steal_pointer (&fx->b));
  g_assert_null (xd_menu_node_get_parent (fx->c));
  g_assert_cmpuint (xd_menu_node_get_n_children (fx->root), ==, 2);
  xd_menu_node_free (g_steal_pointer (&fx->root));
  layout = call_printed (fx, "GetLayout", g_variant_new ("(ii^as)", 0, -1, no_names), NULL);
  g_assert_true (g_str_has_suffix (layout, ", (0, {}, []))"));
  g_assert_null (xd_menu_node_get_parent (fx->a));
}

int
main (int argc, char **argv)
{
  g_autoptr (GTestDBus) bus = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);

#define ADD(path, func)                                                                            \
  g_test_add ("/xd/menu-export/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("layout", test_layout);
  ADD ("signals", test_signals);
  ADD ("events", test_events);
  ADD ("libdbusmenu-client", test_libdbusmenu_client);
  ADD ("free-order", test_free_order);
  ADD ("bad-utf8", test_bad_utf8);
  status = g_test_run ();
  g_test_dbus_down (bus);
  return status;
}
