/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The widget PROCESS end to end, as a desktop sees it. Each test brings up:
 * a private session bus (GTestDBus: a real dbus-daemon), a real xenstored with
 * the demo host, a StatusNotifierWatcher of the test's own on that bus (so
 * that AppIndicator exports the menu instead of falling back to a status
 * icon), the fake notification server (tests/harness), and then spawns the
 * built xen-devices-widget ($XD_WIDGET) under Xvfb, with its output in a
 * file. The test then acts as the panel: it reads the registered item's
 * Title and Menu, reads the menu with com.canonical.dbusmenu GetLayout,
 * clicks items with Event ("clicked") and checks the outcome in xenstore, in
 * the exported menu and in the notifications received. At the end the
 * widget gets SIGTERM and must exit 0 without a warning or critical logged.
 * The fallback test runs without the watcher: the widget must fall back to a
 * status icon and say so.
 *
 * The widget and the test run with a gdk-pixbuf that has no SVG loader, as
 * on a fresh machine (librsvg2-common is only recommended by GTK): the icon
 * a panel is given (IconName, looked up with IconThemePath as Xfce's
 * StatusNotifier plugin does) must resolve to the widget's own image, and
 * the status icon must load without a warning (the widget runs with fatal
 * warnings).
 */
#include "config.h"

#include <gio/gio.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <xenstore.h>

#include "harness/xd-fake-notifications.h"
#include "harness/xd-test-icons.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"

/* The demo host's domids. */
enum
{
  SYS_USB = 1,
  PERSONAL = 3,
};

/* Bound for each wait; generous for ASan builds. */
#define WAIT_MS 20000

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define ITEM_IFACE "org.kde.StatusNotifierItem"
#define MENU_IFACE "com.canonical.dbusmenu"

typedef struct
{
  gboolean no_watcher;
  /* The desktop asks for images in menus (gtk-menu-images, as Xfce's
   * xsettings does by default). The widget's exported entries carry their
   * icons either way (the eject mark above all): the same layouts hold. */
  gboolean menu_images;
  /* VMs and devices added to the demo host: enough and the widget fills
   * submenus only when a panel is about to show them. */
  guint extra;
  /* The widget is pointed at a xenstored socket that does not exist. */
  gboolean no_xenstore;
} Params;

typedef struct
{
  GTestDBus *bus;
  GDBusConnection *connection; /* the test's own, on the private bus */
  XdTestXenstored *daemon;
  XdSimHost *host;
  XdFakeNotifications *notifications;
  guint watcher_id; /* registration of the fake watcher, 0 without one */
  char *item_name;  /* the registered item's bus name and path, once registered */
  char *item_path;
  char *menu_path;      /* the item's Menu property */
  guint layout_signals; /* LayoutUpdated and ItemsPropertiesUpdated seen */
  guint menu_signal_id;
  char *state_dir;
  char *log_path; /* the widget's stdout and stderr */
  GSubprocess *widget;
  char *display;   /* $DISPLAY, from run-under-xvfb.sh */
  char *last_dump; /* the last GetLayout read, for failures */
  gboolean no_xenstore;
} Fixture;

/* $XDG_DATA_DIRS before G_TEST_OPTION_ISOLATE_DIRS replaced it. */
static char *system_data_dirs;

/* ---- the fake StatusNotifierWatcher ---- */

static const char watcher_xml[]
  = "<node>"
    "  <interface name='org.kde.StatusNotifierWatcher'>"
    "    <method name='RegisterStatusNotifierItem'>"
    "      <arg type='s' name='service' direction='in'/>"
    "    </method>"
    "    <method name='RegisterStatusNotifierHost'>"
    "      <arg type='s' name='service' direction='in'/>"
    "    </method>"
    "    <property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
    "    <property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
    "    <property name='ProtocolVersion' type='i' access='read'/>"
    "    <signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
    "    <signal name='StatusNotifierItemUnregistered'><arg type='s'/></signal>"
    "    <signal name='StatusNotifierHostRegistered'/>"
    "  </interface>"
    "</node>";

static void
watcher_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                     const char *interface_name, const char *method_name, GVariant *parameters,
                     GDBusMethodInvocation *invocation, gpointer user_data)
{
  Fixture *fx = user_data;
  const char *service;
  g_autofree char *full = NULL;

  if (strcmp (method_name, "RegisterStatusNotifierItem") != 0)
    {
      g_dbus_method_invocation_return_value (invocation, NULL);
      return;
    }
  g_variant_get (parameters, "(&s)", &service);
  g_test_message ("watcher: %s registers item %s", sender, service);
  /* AppIndicator passes its object path; other items pass a bus name, with
   * the item at the specification's default path. */
  g_free (fx->item_name);
  g_free (fx->item_path);
  if (service[0] == '/')
    {
      fx->item_name = g_strdup (sender);
      fx->item_path = g_strdup (service);
    }
  else
    {
      fx->item_name = g_strdup (service);
      fx->item_path = g_strdup ("/StatusNotifierItem");
    }
  full = g_strconcat (fx->item_name, fx->item_path, NULL);
  g_dbus_method_invocation_return_value (invocation, NULL);
  g_dbus_connection_emit_signal (connection, NULL, WATCHER_PATH, WATCHER_NAME,
                                 "StatusNotifierItemRegistered", g_variant_new ("(s)", full), NULL);
}

static GVariant *
watcher_get_property (GDBusConnection *connection, const char *sender, const char *object_path,
                      const char *interface_name, const char *property_name, GError **error,
                      gpointer user_data)
{
  Fixture *fx = user_data;

  if (strcmp (property_name, "IsStatusNotifierHostRegistered") == 0)
    return g_variant_new_boolean (TRUE);
  if (strcmp (property_name, "ProtocolVersion") == 0)
    return g_variant_new_int32 (0);
  if (strcmp (property_name, "RegisteredStatusNotifierItems") == 0)
    {
      g_autofree char *full
        = fx->item_name ? g_strconcat (fx->item_name, fx->item_path, NULL) : NULL;
      const char *items[] = { full, NULL };
      return g_variant_new_strv (items, full ? 1 : 0);
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable watcher_vtable = {
  .method_call = watcher_method_call,
  .get_property = watcher_get_property,
};

static void
request_name (Fixture *fx, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    fx->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "RequestName", g_variant_new ("(su)", name, 4 /* DO_NOT_QUEUE */), G_VARIANT_TYPE ("(u)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  guint32 status;

  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &status);
  g_assert_cmpuint (status, ==, 1 /* PRIMARY_OWNER */);
}

static void
watcher_start (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (watcher_xml, &error);

  g_assert_no_error (error);
  fx->watcher_id = g_dbus_connection_register_object (
    fx->connection, WATCHER_PATH, info->interfaces[0], &watcher_vtable, fx, NULL, &error);
  g_assert_no_error (error);
  /* Owned before the widget starts, as in a session with a panel. */
  request_name (fx, WATCHER_NAME);
}

/* ---- the widget process ---- */

static void
child_setup (gpointer user_data)
{
  /* Never outlive the test, whatever happens to it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
widget_log (Fixture *fx)
{
  char *text = NULL;

  if (!g_file_get_contents (fx->log_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* Prints the widget's output as TAP comments. */
static void
print_log (Fixture *fx)
{
  g_autofree char *log = widget_log (fx);
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);

  g_test_message ("the widget's output:");
  for (guint i = 0; lines[i]; i++)
    if (lines[i][0])
      g_test_message ("  %s", lines[i]);
}

static void G_GNUC_NORETURN
fail_with_log (Fixture *fx, const char *what)
{
  print_log (fx);
  if (fx->last_dump)
    {
      g_auto (GStrv) lines = g_strsplit (fx->last_dump, "\n", -1);
      g_test_message ("the last GetLayout:");
      for (guint i = 0; lines[i]; i++)
        g_test_message ("  %s", lines[i]);
    }
  g_error ("%s", what);
}

static void
widget_spawn (Fixture *fx)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  const char *exe = g_getenv ("XD_WIDGET");
  g_autofree char *config_dirs = g_strjoinv (":", (char **) g_get_system_config_dirs ());

  g_assert_nonnull (exe);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, fx->log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  /* DBUS_SESSION_BUS_ADDRESS comes from GTestDBus, XENSTORED_PATH from the
   * harness; the rest as scripts/demo sets it. GTestDBus unsets DISPLAY
   * (against X11 autolaunch of a bus). */
  g_assert_nonnull (fx->display);
  g_subprocess_launcher_setenv (launcher, "DISPLAY", fx->display, TRUE);
  /* G_TEST_OPTION_ISOLATE_DIRS points this process's XDG directories at the
   * test's own, but leaves /dev/null in the environment: hand the child the
   * same directories, except the system's data directories (icon themes). */
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", g_get_user_state_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_DIRS", config_dirs, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", system_data_dirs, TRUE);
  g_subprocess_launcher_setenv (launcher, "XEN_DEVICES_TOOLSTACK", "simulated", TRUE);
  g_subprocess_launcher_setenv (launcher, "XEN_DEVICES_STATE_DIR", fx->state_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XEN_DEVICES_TIMEOUT_MS", "5000", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  if (fx->no_xenstore)
    {
      g_autofree char *missing = g_build_filename (g_get_user_runtime_dir (), "no-socket", NULL);
      g_subprocess_launcher_setenv (launcher, "XENSTORED_PATH", missing, TRUE);
    }
  fx->widget = g_subprocess_launcher_spawn (launcher, &error, exe, NULL);
  g_assert_no_error (error);
}

static gboolean
widget_running (Fixture *fx)
{
  return g_subprocess_get_identifier (fx->widget) != NULL;
}

/* SIGTERM, then the exit status and the log: a clean exit, nothing worse
 * than a message logged. */
static void
widget_stop_cleanly (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;
  g_auto (GStrv) lines = NULL;

  g_assert_true (widget_running (fx));
  g_subprocess_send_signal (fx->widget, SIGTERM);
  g_assert_true (g_subprocess_wait (fx->widget, NULL, &error));
  g_assert_no_error (error);
  log = widget_log (fx);
  print_log (fx);
  if (!g_subprocess_get_if_exited (fx->widget) || g_subprocess_get_exit_status (fx->widget) != 0)
    fail_with_log (fx, "the widget did not exit 0 on SIGTERM");
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], "CRITICAL") || strstr (lines[i], "WARNING"))
      fail_with_log (fx, "the widget logged a warning or critical");
  g_assert_nonnull (strstr (log, "quitting on a signal"));
  g_clear_object (&fx->widget);
}

/* ---- waiting ---- */

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Condition) (Fixture *fx, gconstpointer data);

/* Runs the main loop until @condition holds, for at most WAIT_MS, failing
 * at once if the widget died. A tick makes sure the condition is checked
 * even when it changes elsewhere (the widget, xenstored, the notification
 * server's thread). */
static void
wait_until (Fixture *fx, Condition condition, gconstpointer data, const char *what)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  guint tick = g_timeout_add (20, tick_cb, NULL);

  while (!condition (fx, data))
    {
      if (fx->widget && !widget_running (fx))
        fail_with_log (fx, "the widget exited");
      if (g_get_monotonic_time () > end)
        {
          g_autofree char *message = g_strdup_printf ("timed out waiting for %s", what);
          fail_with_log (fx, message);
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

static gboolean
item_registered (Fixture *fx, gconstpointer data)
{
  return fx->item_path != NULL;
}

static gboolean
log_contains (Fixture *fx, gconstpointer data)
{
  g_autofree char *log = widget_log (fx);
  return strstr (log, data) != NULL;
}

/* The widget has said which image its status icon shows, or why it shows
 * another. */
static gboolean
status_icon_checked (Fixture *fx, gconstpointer data)
{
  return log_contains (fx, "status icon: ") || log_contains (fx, "cannot be shown");
}

static gboolean
notification_count_reached (Fixture *fx, gconstpointer data)
{
  return xd_fake_notifications_count (fx->notifications) >= GPOINTER_TO_UINT (data);
}

/* ---- xenstore ---- */

static char *
xs_read_string (Fixture *fx, const char *path)
{
  unsigned int len;
  char *value = xs_read (xd_sim_host_get_handle (fx->host), XBT_NULL, path, &len);
  char *copy = value ? g_strndup (value, len) : NULL;

  free (value);
  return copy;
}

#define SDA2_BACKEND "/local/domain/1/backend/vbd/3/51840"

static gboolean
sda2_connected (Fixture *fx, gconstpointer data)
{
  g_autofree char *state = xs_read_string (fx, SDA2_BACKEND "/state");
  return g_strcmp0 (state, "4") == 0;
}

static gboolean
sda2_gone (Fixture *fx, gconstpointer data)
{
  g_autofree char *state = xs_read_string (fx, SDA2_BACKEND);
  return state == NULL;
}

/* ---- the item and its menu, as a panel reads them ---- */

static GVariant *
call (Fixture *fx, const char *path, const char *iface, const char *method, GVariant *args,
      const char *reply_type)
{
  g_autoptr (GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (fx->connection, fx->item_name, path, iface, method,
                                                 args, G_VARIANT_TYPE (reply_type),
                                                 G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);

  if (error)
    {
      g_autofree char *message = g_strdup_printf ("%s.%s: %s", iface, method, error->message);
      fail_with_log (fx, message);
    }
  return reply;
}

static GVariant *
item_property (Fixture *fx, const char *name)
{
  g_autoptr (GVariant) reply = call (fx, fx->item_path, "org.freedesktop.DBus.Properties", "Get",
                                     g_variant_new ("(ss)", ITEM_IFACE, name), "(v)");
  GVariant *value;

  g_variant_get (reply, "(v)", &value);
  return value;
}

/* The item's icon as a panel resolves it: IconName in the user's icon
 * theme, with IconThemePath added to its search path, at the sizes panels
 * draw it. The build tree's theme root holds it (XD_ICON_THEME_PATH). */
static void
assert_item_icon (Fixture *fx)
{
  g_autoptr (GVariant) name = item_property (fx, "IconName");
  g_autoptr (GVariant) path = item_property (fx, "IconThemePath");
  g_autoptr (GtkIconTheme) theme = gtk_icon_theme_new ();
  g_auto (GStrv) data_dirs = g_strsplit (system_data_dirs, ":", -1);
  g_autoptr (GPtrArray) search = g_ptr_array_new_with_free_func (g_free);
  static const int sizes[] = { 16, 22, 24, 32, 48 };

  g_assert_cmpstr (g_variant_get_string (name, NULL), ==, "xen-devices");
  g_assert_cmpstr (g_variant_get_string (path, NULL), ==, g_getenv ("XD_ICON_THEME_PATH"));
  /* A panel's own data directories, where the MIME database is that
   * gdk-pixbuf tells images apart with (G_TEST_OPTION_ISOLATE_DIRS left
   * this test none). */
  g_setenv ("XDG_DATA_DIRS", system_data_dirs, TRUE);
  for (guint i = 0; data_dirs[i]; i++)
    if (data_dirs[i][0])
      g_ptr_array_add (search, g_build_filename (data_dirs[i], "icons", NULL));
  gtk_icon_theme_set_search_path (theme, (const char **) search->pdata, search->len);
  gtk_icon_theme_append_search_path (theme, g_variant_get_string (path, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    xd_test_assert_icon_resolves (theme, g_variant_get_string (name, NULL), sizes[i],
                                  g_variant_get_string (path, NULL));
}

static void
assert_title (Fixture *fx, const char *expected)
{
  g_autoptr (GVariant) title = item_property (fx, "Title");

  g_assert_cmpstr (g_variant_get_string (title, NULL), ==, expected);
}

static void
menu_signal_cb (GDBusConnection *connection, const char *sender, const char *path,
                const char *iface, const char *signal, GVariant *parameters, gpointer user_data)
{
  ((Fixture *) user_data)->layout_signals++;
}

/* Waits for the item, then reads its Menu property and watches the menu's
 * change signals. */
static void
connect_item (Fixture *fx)
{
  g_autoptr (GVariant) menu = NULL;

  wait_until (fx, item_registered, NULL, "the item to register with the watcher");
  g_assert_true (g_dbus_is_unique_name (fx->item_name));
  menu = item_property (fx, "Menu");
  g_assert_true (g_variant_is_of_type (menu, G_VARIANT_TYPE_OBJECT_PATH));
  fx->menu_path = g_variant_dup_string (menu, NULL);
  g_test_message ("item %s%s, menu %s", fx->item_name, fx->item_path, fx->menu_path);
  fx->menu_signal_id = g_dbus_connection_signal_subscribe (
    fx->connection, fx->item_name, MENU_IFACE, NULL, fx->menu_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
    menu_signal_cb, fx, NULL);
}

/* The menu as text: one line per visible item, submenus indented; for an
 * item its "label", then "disabled" ("enabled" false), "submenu"
 * ("children-display"), "icon=" ("icon-name"), and any other property as
 * key=value, so that nothing unexpected goes unnoticed. Separators are
 * "separator". Also checks every label is text (dbusmenu labels are never
 * markup). */
static void
dump_layout (GString *out, GVariant *node, guint depth)
{
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) children = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;
  gint32 id;
  gboolean visible = TRUE, enabled = TRUE;
  const char *label = NULL, *type = NULL, *display = NULL, *icon = NULL;
  g_autoptr (GString) line = g_string_new (NULL);
  g_autoptr (GString) extra = g_string_new (NULL);

  g_variant_get (node, "(i@a{sv}@av)", &id, &props, &children);
  g_variant_iter_init (&iter, props);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (strcmp (key, "visible") == 0)
        visible = g_variant_get_boolean (value);
      else if (strcmp (key, "enabled") == 0)
        enabled = g_variant_get_boolean (value);
      else if (strcmp (key, "label") == 0)
        label = g_variant_get_string (value, NULL);
      else if (strcmp (key, "type") == 0)
        type = g_variant_get_string (value, NULL);
      else if (strcmp (key, "children-display") == 0)
        display = g_variant_get_string (value, NULL);
      else if (strcmp (key, "icon-name") == 0)
        icon = g_variant_get_string (value, NULL);
      else if (strcmp (key, "icon-data") == 0)
        g_string_append_printf (extra, " icon-data(%zu bytes)", g_variant_get_size (value));
      else
        {
          g_autofree char *printed = g_variant_print (value, FALSE);
          g_string_append_printf (extra, " %s=%s", key, printed);
        }
    }

  if (depth > 0 && !visible)
    return;
  for (guint i = 1; i < depth; i++)
    g_string_append (line, "  ");
  if (depth > 0)
    {
      if (g_strcmp0 (type, "separator") == 0)
        g_string_append (line, "separator");
      else
        {
          g_assert_nonnull (label);
          g_assert_true (g_utf8_validate (label, -1, NULL));
          g_string_append_printf (line, "item \"%s\"", label);
        }
      if (!enabled)
        g_string_append (line, " disabled");
      if (display)
        g_string_append_printf (line, " %s", display);
      if (icon)
        g_string_append_printf (line, " icon=%s", icon);
      g_string_append (line, extra->str);
      g_string_append_printf (out, "%s\n", line->str);
    }
  else
    g_assert_cmpstr (display, ==, "submenu");

  g_variant_iter_init (&iter, children);
  while (g_variant_iter_loop (&iter, "v", &value))
    dump_layout (out, value, depth + 1);
}

static GVariant *
get_layout (Fixture *fx)
{
  const char *const no_props[] = { NULL };
  g_autoptr (GVariant) reply = call (fx, fx->menu_path, MENU_IFACE, "GetLayout",
                                     g_variant_new ("(ii^as)", 0, -1, no_props), "(u(ia{sv}av))");

  return g_variant_get_child_value (reply, 1);
}

static char *
dump (Fixture *fx)
{
  g_autoptr (GVariant) root = get_layout (fx);
  GString *out = g_string_new (NULL);

  dump_layout (out, root, 0);
  g_free (fx->last_dump);
  fx->last_dump = g_strdup (out->str);
  return g_string_free (out, FALSE);
}

/* The id of the item labelled @label in the submenu of the top-level item
 * whose label starts with @row_prefix; asserts there is exactly one. */
static gint32
find_item (Fixture *fx, const char *row_prefix, const char *label)
{
  g_autoptr (GVariant) root = get_layout (fx);
  g_autoptr (GVariant) rows = g_variant_get_child_value (root, 2);
  gint32 found = -1;
  guint matches = 0;

  for (gsize i = 0; i < g_variant_n_children (rows); i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (rows, i);
      g_autoptr (GVariant) row = g_variant_get_variant (boxed);
      g_autoptr (GVariant) props = g_variant_get_child_value (row, 1);
      g_autoptr (GVariant) children = g_variant_get_child_value (row, 2);
      const char *row_label = NULL;

      if (!g_variant_lookup (props, "label", "&s", &row_label)
          || !g_str_has_prefix (row_label, row_prefix))
        continue;
      for (gsize j = 0; j < g_variant_n_children (children); j++)
        {
          g_autoptr (GVariant) boxed_child = g_variant_get_child_value (children, j);
          g_autoptr (GVariant) child = g_variant_get_variant (boxed_child);
          g_autoptr (GVariant) child_props = g_variant_get_child_value (child, 1);
          const char *child_label = NULL;
          gint32 id;

          g_variant_get_child (child, 0, "i", &id);
          if (g_variant_lookup (child_props, "label", "&s", &child_label)
              && strcmp (child_label, label) == 0)
            {
              found = id;
              matches++;
            }
        }
    }
  g_assert_cmpuint (matches, ==, 1);
  return found;
}

static void
click (Fixture *fx, gint32 id)
{
  g_autoptr (GVariant) reply
    = call (fx, fx->menu_path, MENU_IFACE, "Event",
            g_variant_new ("(isvu)", id, "clicked", g_variant_new_int32 (0), 0), "()");
}

static gboolean
dump_has_line (Fixture *fx, gconstpointer line)
{
  g_autofree char *text = dump (fx);
  g_autofree char *with_newline = g_strdup_printf ("%s\n", (const char *) line);

  return g_str_has_prefix (text, with_newline) || strstr (text, with_newline) != NULL;
}

/* ---- fixture ---- */

/* Marks every descriptor above stderr close-on-exec. GTestDBus's watcher (a
 * fork of this process that kills the bus daemons if the test dies) waits
 * for the end of a pipe whose write end GLib leaves inheritable; a daemon
 * spawned after the first one inherits it, so after a failed test the
 * watcher and that daemon would wait for each other, holding the test's
 * output open until meson's timeout. Nothing this test spawns needs an
 * inherited descriptor (GLib and GSubprocess pass theirs explicitly). */
static void
set_cloexec_above_stderr (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)))
    {
      int fd = atoi (name);
      int flags;

      if (fd <= 2)
        continue;
      flags = fcntl (fd, F_GETFD);
      if (flags >= 0)
        fcntl (fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  const Params *params = data;
  g_autoptr (GError) error = NULL;

  fx->display = g_strdup (g_getenv ("DISPLAY"));
  fx->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (fx->bus); /* sets DBUS_SESSION_BUS_ADDRESS for the widget */
  set_cloexec_above_stderr ();
  fx->connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fx->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < params->extra; i++)
    {
      static const char *const kv[] = { "desc", "Hub", NULL };
      g_autofree char *name = g_strdup_printf ("vm%02u", i);
      g_autofree char *port = g_strdup_printf ("9-%u", i + 1);

      g_assert_true (xd_sim_host_add_vm (fx->host, 100 + i, name, &error));
      g_assert_no_error (error);
      g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", port, kv, &error));
      g_assert_no_error (error);
    }

  fx->state_dir = g_build_filename (g_get_user_data_dir (), "state", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx->state_dir, 0700), ==, 0);
  fx->log_path = g_build_filename (g_get_user_data_dir (), "widget.log", NULL);

  if (params->menu_images)
    {
      g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "gtk-3.0", NULL);
      g_autofree char *ini = g_build_filename (dir, "settings.ini", NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (ini, "[Settings]\ngtk-menu-images=true\n", -1, &error));
      g_assert_no_error (error);
    }
  fx->notifications = xd_fake_notifications_start (g_test_dbus_get_bus_address (fx->bus), NULL);
  if (!params->no_watcher)
    watcher_start (fx);
  fx->no_xenstore = params->no_xenstore;
  widget_spawn (fx);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  if (fx->widget)
    {
      /* A test that failed leaves it running. */
      g_subprocess_force_exit (fx->widget);
      g_subprocess_wait (fx->widget, NULL, NULL);
      g_clear_object (&fx->widget);
    }
  if (fx->menu_signal_id)
    g_dbus_connection_signal_unsubscribe (fx->connection, fx->menu_signal_id);
  if (fx->watcher_id)
    g_dbus_connection_unregister_object (fx->connection, fx->watcher_id);
  g_clear_pointer (&fx->notifications, xd_fake_notifications_stop);
  g_dbus_connection_close_sync (fx->connection, NULL, NULL);
  g_clear_object (&fx->connection);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_test_dbus_down (fx->bus);
  g_clear_object (&fx->bus);
  g_free (fx->item_name);
  g_free (fx->item_path);
  g_free (fx->menu_path);
  g_free (fx->state_dir);
  g_free (fx->log_path);
  if (fx->display)
    g_setenv ("DISPLAY", fx->display, TRUE);
  g_free (fx->display);
  g_free (fx->last_dump);
}

/* ---- the demo host as a panel sees it ---- */

#define SUB_DOM0                                                                                   \
  "  item \"personal\"\n"                                                                          \
  "  item \"sys-usb\"\n"                                                                           \
  "  item \"untrusted\"\n"                                                                         \
  "  item \"vault\"\n"                                                                             \
  "  item \"work\"\n"
#define SUB_SYS_USB                                                                                \
  "  item \"personal\"\n"                                                                          \
  "  item \"untrusted\"\n"                                                                         \
  "  item \"vault\"\n"                                                                             \
  "  item \"work\"\n"
#define SDA1 "sys-usb:sda1 (attached to work) — SanDisk Cruzer Blade (partition 1), 8.0\u00a0GB"
#define SDA2 "sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB"
#define SDA2_PERSONAL                                                                              \
  "sys-usb:sda2 (attached to personal) — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB"
/* clang-format off */
static const char demo_layout[] =
  "item \"Block devices\" disabled\n"
  "item \"dom0:sr0 — DVD-ROM, 4.7\u00a0GB\" submenu icon=drive-removable-media\n"
  SUB_DOM0
  "item \"sys-usb:sda — SanDisk Cruzer Blade, 16.0\u00a0GB\" submenu icon=drive-removable-media\n"
  SUB_SYS_USB
  "item \"" SDA1 "\" submenu icon=drive-removable-media\n"
  "  item \"personal\"\n"
  "  item \"untrusted\"\n"
  "  item \"vault\"\n"
  "  item \"work\" icon=media-eject\n"
  "item \"" SDA2 "\" submenu icon=drive-removable-media\n"
  SUB_SYS_USB
  "separator\n"
  "item \"Microphones\" disabled\n"
  "item \"dom0:mic — Internal microphone\" submenu icon=audio-input-microphone-symbolic\n"
  SUB_DOM0
  "separator\n"
  "item \"USB devices\" disabled\n"
  "item \"sys-usb:2-1 — SanDisk Cruzer Blade\" submenu icon=media-removable\n"
  SUB_SYS_USB
  "item \"sys-usb:2-1.3 — Logitech USB Receiver\" submenu icon=media-removable\n"
  SUB_SYS_USB;
/* clang-format on */

/* Replaces the one occurrence of @old in @text by @new. */
static char *
edit (const char *text, const char *old, const char *new)
{
  const char *at = strstr (text, old);

  g_assert_nonnull (at);
  g_assert_null (strstr (at + 1, old));
  return g_strdup_printf ("%.*s%s%s", (int) (at - text), text, new, at + strlen (old));
}

static void
assert_layout (Fixture *fx, const char *expected)
{
  g_autofree char *actual = dump (fx);

  if (g_strcmp0 (actual, expected) != 0)
    g_test_message ("GetLayout:\n%s", actual);
  g_assert_cmpstr (actual, ==, expected);
}

/* ---- tests ---- */

/* The exported menu and the item's title, as a panel shows them. */
static void
test_layout (Fixture *fx, gconstpointer data)
{
  g_autoptr (GVariant) status = NULL;
  g_autofree char *text = NULL;

  connect_item (fx);
  assert_title (fx, "Devices: 7 devices, 1 attached");
  assert_item_icon (fx);
  status = item_property (fx, "Status");
  g_assert_cmpstr (g_variant_get_string (status, NULL), ==, "Active");

  /* The menu is built once the engine has loaded: wait for its last row. */
  wait_until (fx, dump_has_line,
              "item \"sys-usb:2-1.3 — Logitech USB Receiver\" submenu icon=media-removable",
              "the menu");
  text = dump (fx);
  g_test_message ("GetLayout:\n%s", text);
  assert_layout (fx, demo_layout);
  /* No markup reaches a panel: the bold of an attached row stays in GTK. */
  g_assert_null (strchr (text, '<'));
  g_assert_null (strchr (text, '&'));

  widget_stop_cleanly (fx);
}

/* A click in the exported menu attaches; a click on the eject item
 * detaches. Checked in xenstore, in the menu and in the notifications. */
static void
test_attach_detach (Fixture *fx, gconstpointer data)
{
  g_autofree char *attached_layout = NULL;
  const XdFakeNotification *r;
  gint32 personal, eject;
  guint attached_id, n;

  connect_item (fx);
  wait_until (fx, dump_has_line, "item \"" SDA2 "\" submenu icon=drive-removable-media",
              "the menu");
  assert_layout (fx, demo_layout);
  g_assert_cmpuint (xd_fake_notifications_count (fx->notifications), ==, 0);

  personal = find_item (fx, "sys-usb:sda2 ", "personal");
  click (fx, personal);
  wait_until (fx, sda2_connected, NULL, "sys-usb:sda2 to be connected to personal in xenstore");
  wait_until (fx, dump_has_line, "item \"" SDA2_PERSONAL "\" submenu icon=drive-removable-media",
              "the row to show the attachment");
  attached_layout
    = edit (demo_layout, "item \"" SDA2 "\" submenu icon=drive-removable-media\n" SUB_SYS_USB,
            "item \"" SDA2_PERSONAL "\" submenu icon=drive-removable-media\n"
            "  item \"personal\" icon=media-eject\n"
            "  item \"untrusted\"\n"
            "  item \"vault\"\n"
            "  item \"work\"\n");
  assert_layout (fx, attached_layout);
  assert_title (fx, "Devices: 7 devices, 2 attached");

  wait_until (fx, notification_count_reached, GUINT_TO_POINTER (1), "a notification");
  g_assert_cmpuint (xd_fake_notifications_count (fx->notifications), ==, 1);
  r = xd_fake_notifications_last (fx->notifications);
  g_assert_cmpstr (r->app_name, ==, "Devices");
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpstr (r->body, ==,
                   "sys-usb:sda2 (SanDisk Cruzer Blade (partition 2)) was attached to personal.");
  g_assert_cmpuint (r->replaces_id, ==, 0);
  attached_id = r->id;

  /* The same item, now the eject item. */
  eject = find_item (fx, "sys-usb:sda2 ", "personal");
  g_assert_cmpint (eject, ==, personal);
  click (fx, eject);
  wait_until (fx, sda2_gone, NULL, "sys-usb:sda2's back end to go from xenstore");
  wait_until (fx, dump_has_line, "item \"" SDA2 "\" submenu icon=drive-removable-media",
              "the row to show no attachment");
  assert_layout (fx, demo_layout);
  wait_until (fx, notification_count_reached, GUINT_TO_POINTER (2), "a second notification");
  r = xd_fake_notifications_last (fx->notifications);
  g_assert_cmpstr (r->summary, ==, "Device detached");
  g_assert_cmpstr (r->body, ==,
                   "sys-usb:sda2 (SanDisk Cruzer Blade (partition 2)) was detached from personal.");
  g_assert_cmpuint (r->replaces_id, ==, attached_id);
  g_assert_cmpuint (r->id, ==, attached_id);
  g_assert_cmpuint (fx->layout_signals, >, 0);

  widget_stop_cleanly (fx);
  n = xd_fake_notifications_count (fx->notifications);
  g_assert_cmpuint (n, ==, 2);
}

/* A device plugged while the widget runs, with a hostile description. */
static void
test_plugged (Fixture *fx, gconstpointer data)
{
  static const char *const kv[]
    = { "desc", "<b>x</b> & y", "size", "8000000000", "mode", "w", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  const XdFakeNotification *r;

  connect_item (fx);
  wait_until (fx, dump_has_line, "item \"" SDA2 "\" submenu icon=drive-removable-media",
              "the menu");

  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "sdb", kv, &error));
  g_assert_no_error (error);
  wait_until (fx, dump_has_line,
              "item \"sys-usb:sdb — <b>x</b> & y, 8.0\u00a0GB — NEW\" submenu "
              "icon=drive-removable-media",
              "the new row");
  expected = edit (demo_layout, "separator\nitem \"Microphones\"",
                   "item \"sys-usb:sdb — <b>x</b> & y, 8.0\u00a0GB — NEW\" submenu "
                   "icon=drive-removable-media\n" SUB_SYS_USB "separator\nitem \"Microphones\"");
  assert_layout (fx, expected);
  assert_title (fx, "Devices: 8 devices, 1 attached");

  wait_until (fx, notification_count_reached, GUINT_TO_POINTER (1), "a notification");
  g_assert_cmpuint (xd_fake_notifications_count (fx->notifications), ==, 1);
  r = xd_fake_notifications_last (fx->notifications);
  g_assert_cmpstr (r->summary, ==, "Device available");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (&lt;b&gt;x&lt;/b&gt; &amp; y) is available.");

  widget_stop_cleanly (fx);
}

/* sys-usb, hostile, says the disk it serves to work is domain 99's, then
 * nobody's: the exported menu goes on saying work holds it (the holder
 * comes from dom0's record), and the widget says it does not believe it. */
static void
test_hostile_backend (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *frontend_id = "/local/domain/1/backend/vbd/2/51840/frontend-id";
  guint signals_before;

  connect_item (fx);
  wait_until (fx, dump_has_line, "item \"" SDA1 "\" submenu icon=drive-removable-media",
              "the menu");
  assert_layout (fx, demo_layout);
  signals_before = fx->layout_signals;

  g_assert_true (xs_write (xd_sim_host_get_handle (fx->host), XBT_NULL, frontend_id, "99", 2));
  wait_until (fx, log_contains,
              "not believing sys-usb at /local/domain/1/backend/vbd/2/51840: its frontend-id is "
              "not 2, which dom0's record names",
              "the widget to report the lie");
  g_assert_true (xs_rm (xd_sim_host_get_handle (fx->host), XBT_NULL, frontend_id));
  /* Give a change, were there one, the time to reach the panel. */
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  assert_layout (fx, demo_layout);
  assert_title (fx, "Devices: 7 devices, 1 attached");
  g_assert_cmpuint (fx->layout_signals, ==, signals_before);
  g_assert_no_error (error);
  widget_stop_cleanly (fx);
}

/* The id of the top-level item whose label starts with @prefix, and how many
 * visible children it has. */
static guint
row_children (Fixture *fx, const char *prefix, gint32 *id_out)
{
  g_autoptr (GVariant) root = get_layout (fx);
  g_autoptr (GVariant) rows = g_variant_get_child_value (root, 2);
  guint found = 0, n = 0;

  for (gsize i = 0; i < g_variant_n_children (rows); i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (rows, i);
      g_autoptr (GVariant) row = g_variant_get_variant (boxed);
      g_autoptr (GVariant) props = g_variant_get_child_value (row, 1);
      g_autoptr (GVariant) children = g_variant_get_child_value (row, 2);
      const char *label = NULL, *display = NULL;

      if (!g_variant_lookup (props, "label", "&s", &label) || !g_str_has_prefix (label, prefix))
        continue;
      found++;
      /* A panel shows a submenu whether or not it has items yet. */
      g_assert_true (g_variant_lookup (props, "children-display", "&s", &display));
      g_assert_cmpstr (display, ==, "submenu");
      g_variant_get_child (row, 0, "i", id_out);
      for (gsize j = 0; j < g_variant_n_children (children); j++)
        {
          g_autoptr (GVariant) boxed_child = g_variant_get_child_value (children, j);
          g_autoptr (GVariant) child = g_variant_get_variant (boxed_child);
          g_autoptr (GVariant) child_props = g_variant_get_child_value (child, 1);
          gboolean visible = TRUE;

          g_variant_lookup (child_props, "visible", "b", &visible);
          n += visible;
        }
    }
  g_assert_cmpuint (found, ==, 1);
  return n;
}

typedef struct
{
  const char *row_prefix;
  guint n_entries;
} SubmenuSize;

static gboolean
submenu_has (Fixture *fx, gconstpointer data)
{
  const SubmenuSize *size = data;
  gint32 id;

  return row_children (fx, size->row_prefix, &id) == size->n_entries;
}

/* A host too big to fill every submenu ahead (67 devices, 66 VMs): rows
 * reach the panel with empty submenus, and a panel's AboutToShow (or its
 * "opened" event) fills one, which then works as any other. */
static void
test_lazy (Fixture *fx, gconstpointer data)
{
  const Params *params = data;
  g_autoptr (GVariant) reply = NULL;
  gint32 row, personal;
  gboolean need_update;
  /* Every VM but dom0 and sys-usb. */
  guint offered = 4 + params->extra;

  connect_item (fx);
  wait_until (fx, dump_has_line, "item \"sys-usb:9-60 — Hub\" submenu icon=media-removable",
              "the menu");
  assert_title (fx, "Devices: 67 devices, 1 attached");
  /* Each row says it has a submenu (row_children checks) and has no entry
   * in it yet. */
  g_assert_cmpuint (row_children (fx, "sys-usb:sda1 ", &row), ==, 0);
  g_assert_cmpuint (row_children (fx, "sys-usb:sda2 ", &row), ==, 0);

  reply = call (fx, fx->menu_path, MENU_IFACE, "AboutToShow", g_variant_new ("(i)", row), "(b)");
  g_variant_get (reply, "(b)", &need_update);
  g_clear_pointer (&reply, g_variant_unref);
  {
    const SubmenuSize filled = { "sys-usb:sda2 ", offered };
    wait_until (fx, submenu_has, &filled, "sda2's submenu to fill");
  }
  /* Only that one. */
  g_assert_cmpuint (row_children (fx, "sys-usb:sda1 ", &row), ==, 0);
  /* A panel that says "opened" instead of asking AboutToShow. */
  reply = call (fx, fx->menu_path, MENU_IFACE, "Event",
                g_variant_new ("(isvu)", row, "opened", g_variant_new_int32 (0), 0), "()");
  g_clear_pointer (&reply, g_variant_unref);
  {
    const SubmenuSize filled = { "sys-usb:sda1 ", offered };
    wait_until (fx, submenu_has, &filled, "sda1's submenu to fill");
  }

  personal = find_item (fx, "sys-usb:sda2 ", "personal");
  click (fx, personal);
  wait_until (fx, sda2_connected, NULL, "sys-usb:sda2 to be connected to personal in xenstore");
  wait_until (fx, dump_has_line, "item \"" SDA2_PERSONAL "\" submenu icon=drive-removable-media",
              "the row to show the attachment");
  g_assert_cmpint (find_item (fx, "sys-usb:sda2 ", "personal"), ==, personal);
  g_assert_true (dump_has_line (fx, "  item \"personal\" icon=media-eject"));
  widget_stop_cleanly (fx);
}

/* No StatusNotifierWatcher: the widget falls back to a status icon (whose
 * image loads without a warning, with no SVG loader). */
static void
test_fallback (Fixture *fx, gconstpointer data)
{
  g_autofree char *shown
    = g_strdup_printf ("status icon: %s/hicolor/", g_getenv ("XD_ICON_THEME_PATH"));

  g_assert_false (xd_test_pixbuf_has_svg ());
  wait_until (fx, log_contains, "no StatusNotifier host: using a status icon",
              "the widget to fall back to a status icon");
  g_assert_null (fx->item_path);
  /* Its own image, loaded by the widget: no fallback, no missing image. */
  wait_until (fx, status_icon_checked, NULL, "the widget to say which image its status icon is");
  if (!log_contains (fx, shown))
    fail_with_log (fx, "the status icon is not the widget's own image");

  /* A host that comes later draws the menu from then on: the widget, whose
   * menu GTK drew meanwhile, exports every row again. */
  watcher_start (fx);
  connect_item (fx);
  wait_until (fx, dump_has_line,
              "item \"sys-usb:2-1.3 — Logitech USB Receiver\" submenu icon=media-removable",
              "the menu, exported once a host came");
  assert_layout (fx, demo_layout);
  widget_stop_cleanly (fx);
}

/* Without xenstore the widget says so and fails: a non-zero status, not a
 * silent exit (the engine loads on its own thread; its error must reach the
 * exit status all the same). */
static void
test_no_xenstore (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  g_assert_true (g_subprocess_wait (fx->widget, NULL, &error));
  g_assert_no_error (error);
  log = widget_log (fx);
  print_log (fx);
  g_assert_true (g_subprocess_get_if_exited (fx->widget));
  g_assert_cmpint (g_subprocess_get_exit_status (fx->widget), ==, 1);
  g_assert_nonnull (strstr (log, "xen-devices-widget: cannot connect to xenstore (tried "));
  g_assert_nonnull (strstr (log, "no-socket"));
  g_clear_object (&fx->widget);
}

int
main (int argc, char **argv)
{
  static const Params with_watcher = { FALSE, FALSE };
  static const Params menu_images = { FALSE, TRUE };
  static const Params without_watcher = { TRUE, FALSE };
  static const Params big_host = { FALSE, FALSE, 60 };
  static const Params no_xenstore = { FALSE, FALSE, 0, TRUE };

  g_autofree char *pixbuf_dir = g_dir_make_tmp ("xd-widget-e2e-XXXXXX", NULL);
  int status;

  /* Labels in messages are UTF-8. */
  setlocale (LC_ALL, "C.UTF-8");
  /* For this process and the widgets it starts, before anything loads an
   * image. */
  g_assert_nonnull (pixbuf_dir);
  xd_test_hide_svg_loader (pixbuf_dir);
  system_data_dirs = g_strdup (g_getenv ("XDG_DATA_DIRS") ? g_getenv ("XDG_DATA_DIRS")
                                                          : "/usr/local/share:/usr/share");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, params, func)                                                                    \
  g_test_add (path, Fixture, params, fixture_setup, func, fixture_teardown)
  ADD ("/xd/widget-e2e/layout", &with_watcher, test_layout);
  ADD ("/xd/widget-e2e/layout-menu-images", &menu_images, test_layout);
  ADD ("/xd/widget-e2e/attach-detach", &with_watcher, test_attach_detach);
  ADD ("/xd/widget-e2e/attach-detach-menu-images", &menu_images, test_attach_detach);
  ADD ("/xd/widget-e2e/plugged", &with_watcher, test_plugged);
  ADD ("/xd/widget-e2e/hostile-backend", &with_watcher, test_hostile_backend);
  ADD ("/xd/widget-e2e/lazy-submenus", &big_host, test_lazy);
  ADD ("/xd/widget-e2e/fallback", &without_watcher, test_fallback);
  ADD ("/xd/widget-e2e/no-xenstore", &no_xenstore, test_no_xenstore);
#undef ADD
  status = g_test_run ();
  {
    g_autofree char *cache = g_build_filename (pixbuf_dir, "loaders.cache", NULL);
    g_unlink (cache);
    g_rmdir (pixbuf_dir);
  }
  return status;
}
