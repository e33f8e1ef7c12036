/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xd-menu: the Devices widget's menu, as a panel reads and drives it over
 * D-Bus, for the realxen suite's desktop steps (dom0-run.sh). Finds the
 * StatusNotifierItem the session's watcher lists (the panel's systray is
 * the watcher), reads its Menu property, then:
 *
 *   xd-menu dump                 the menu as text, one line per visible
 *                                item, submenus indented: "item "LABEL""
 *                                and "icon=NAME", "disabled", "submenu"
 *   xd-menu click ROW LABEL      sends Event "clicked" to the item LABEL in
 *                                the submenu of the top-level item whose
 *                                label starts with ROW (exactly one)
 *   xd-menu title                the item's Title
 *
 * Before reading a submenu it sends AboutToShow for it, as panels do.
 * Exit status 0, or 1 with the reason on stderr.
 */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define ITEM_IFACE "org.kde.StatusNotifierItem"
#define MENU_IFACE "com.canonical.dbusmenu"
#define TIMEOUT_MS 30000

typedef struct
{
  GDBusConnection *bus;
  char *name;
  char *item_path;
  char *menu_path;
} Menu;

static GVariant *
call (Menu *m, const char *dest, const char *path, const char *iface, const char *method,
      GVariant *args, const char *reply_type, GError **error)
{
  return g_dbus_connection_call_sync (m->bus, dest, path, iface, method, args,
                                      reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                      G_DBUS_CALL_FLAGS_NONE, TIMEOUT_MS, NULL, error);
}

static GVariant *
get_property (Menu *m, const char *dest, const char *path, const char *iface, const char *name,
              GError **error)
{
  g_autoptr (GVariant) reply = call (m, dest, path, "org.freedesktop.DBus.Properties", "Get",
                                     g_variant_new ("(ss)", iface, name), "(v)", error);
  GVariant *value = NULL;

  if (reply)
    g_variant_get (reply, "(v)", &value);
  return value;
}

/* The watcher's one item: "NAME/PATH" or "NAME" (path /StatusNotifierItem). */
static gboolean
find_item (Menu *m, GError **error)
{
  g_autoptr (GVariant) items = get_property (m, WATCHER_NAME, WATCHER_PATH, WATCHER_NAME,
                                             "RegisteredStatusNotifierItems", error);
  g_autoptr (GVariant) menu = NULL;
  const char *entry, *slash;

  if (!items)
    return FALSE;
  if (g_variant_n_children (items) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the watcher lists %zu items, not 1",
                   g_variant_n_children (items));
      return FALSE;
    }
  g_variant_get_child (items, 0, "&s", &entry);
  slash = strchr (entry, '/');
  m->name = slash ? g_strndup (entry, slash - entry) : g_strdup (entry);
  m->item_path = g_strdup (slash ? slash : "/StatusNotifierItem");
  menu = get_property (m, m->name, m->item_path, ITEM_IFACE, "Menu", error);
  if (!menu)
    return FALSE;
  m->menu_path = g_variant_dup_string (menu, NULL);
  return TRUE;
}

static GVariant *
get_layout (Menu *m, GError **error)
{
  const char *const no_props[] = { NULL };
  g_autoptr (GVariant) reply
    = call (m, m->name, m->menu_path, MENU_IFACE, "GetLayout",
            g_variant_new ("(ii^as)", 0, -1, no_props), "(u(ia{sv}av))", error);

  return reply ? g_variant_get_child_value (reply, 1) : NULL;
}

/* AboutToShow for every submenu, as a panel does before opening it. */
static void
about_to_show_all (Menu *m, GVariant *node)
{
  g_autoptr (GVariant) props = g_variant_get_child_value (node, 1);
  g_autoptr (GVariant) children = g_variant_get_child_value (node, 2);
  const char *display = NULL;
  gint32 id;

  g_variant_get_child (node, 0, "i", &id);
  if (id == 0
      || (g_variant_lookup (props, "children-display", "&s", &display)
          && strcmp (display, "submenu") == 0))
    {
      g_autoptr (GVariant) reply = call (m, m->name, m->menu_path, MENU_IFACE, "AboutToShow",
                                         g_variant_new ("(i)", id), "(b)", NULL);
    }
  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr (GVariant) child = g_variant_get_variant (boxed);
      about_to_show_all (m, child);
    }
}

static GVariant *
get_full_layout (Menu *m, GError **error)
{
  g_autoptr (GVariant) first = get_layout (m, error);

  if (!first)
    return NULL;
  about_to_show_all (m, first);
  return get_layout (m, error);
}

static void
dump (GString *out, GVariant *node, guint depth)
{
  g_autoptr (GVariant) props = g_variant_get_child_value (node, 1);
  g_autoptr (GVariant) children = g_variant_get_child_value (node, 2);
  gboolean visible = TRUE, enabled = TRUE;
  const char *label = "", *type = NULL, *display = NULL, *icon = NULL;

  g_variant_lookup (props, "visible", "b", &visible);
  g_variant_lookup (props, "enabled", "b", &enabled);
  g_variant_lookup (props, "label", "&s", &label);
  g_variant_lookup (props, "type", "&s", &type);
  g_variant_lookup (props, "children-display", "&s", &display);
  g_variant_lookup (props, "icon-name", "&s", &icon);
  if (depth > 0 && !visible)
    return;
  if (depth > 0)
    {
      for (guint i = 1; i < depth; i++)
        g_string_append (out, "  ");
      if (g_strcmp0 (type, "separator") == 0)
        g_string_append (out, "separator");
      else
        g_string_append_printf (out, "item \"%s\"", label);
      if (!enabled)
        g_string_append (out, " disabled");
      if (display)
        g_string_append_printf (out, " %s", display);
      if (icon && *icon)
        g_string_append_printf (out, " icon=%s", icon);
      g_string_append_c (out, '\n');
    }
  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr (GVariant) child = g_variant_get_variant (boxed);
      dump (out, child, depth + 1);
    }
}

static char *
label_of (GVariant *node)
{
  g_autoptr (GVariant) props = g_variant_get_child_value (node, 1);
  char *label = NULL;

  return g_variant_lookup (props, "label", "s", &label) ? label : g_strdup ("");
}

/* Walks the layout, looking for @label under a row starting with @row. */
static void
find_in (GVariant *node, const char *row, const char *label, gboolean under_row, gint32 *found,
         guint *matches)
{
  g_autoptr (GVariant) children = g_variant_get_child_value (node, 2);

  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr (GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr (GVariant) child = g_variant_get_variant (boxed);
      g_autofree char *child_label = label_of (child);

      if (under_row && strcmp (child_label, label) == 0)
        {
          g_variant_get_child (child, 0, "i", found);
          (*matches)++;
        }
      find_in (child, row, label, under_row || g_str_has_prefix (child_label, row), found, matches);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) layout = NULL;
  Menu m = { 0 };

  if (argc < 2)
    {
      g_printerr ("usage: xd-menu dump | click ROW LABEL | title\n");
      return 2;
    }
  m.bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (!m.bus || !find_item (&m, &error))
    goto fail;

  if (strcmp (argv[1], "title") == 0)
    {
      g_autoptr (GVariant) title
        = get_property (&m, m.name, m.item_path, ITEM_IFACE, "Title", &error);
      if (!title)
        goto fail;
      printf ("%s\n", g_variant_get_string (title, NULL));
      return 0;
    }
  layout = get_full_layout (&m, &error);
  if (!layout)
    goto fail;
  if (strcmp (argv[1], "dump") == 0)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      dump (out, layout, 0);
      fputs (out->str, stdout);
      return 0;
    }
  if (strcmp (argv[1], "click") == 0 && argc == 4)
    {
      gint32 id = -1;
      guint matches = 0;
      g_autoptr (GVariant) reply = NULL;

      find_in (layout, argv[2], argv[3], FALSE, &id, &matches);
      if (matches != 1)
        {
          g_autoptr (GString) out = g_string_new (NULL);
          dump (out, layout, 0);
          g_printerr ("xd-menu: %u items “%s” under a row “%s…”; the menu:\n%s", matches, argv[3],
                      argv[2], out->str);
          return 1;
        }
      reply
        = call (&m, m.name, m.menu_path, MENU_IFACE, "Event",
                g_variant_new ("(isvu)", id, "clicked", g_variant_new_int32 (0), 0), NULL, &error);
      if (!reply)
        goto fail;
      printf ("clicked item %d “%s” under “%s…”\n", id, argv[3], argv[2]);
      return 0;
    }
  g_printerr ("usage: xd-menu dump | click ROW LABEL | title\n");
  return 2;

fail:
  g_printerr ("xd-menu: %s\n", error ? error->message : "failed");
  return 1;
}
