/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-menu-export.h"

#include <gtk/gtk.h>

/* ---- nodes ---- */

enum
{
  CHANGED_LABEL = 1 << 0,
  CHANGED_ICON = 1 << 1,
  CHANGED_ENABLED = 1 << 2,
  CHANGED_VISIBLE = 1 << 3,
};

struct _XdMenuNode
{
  gint32 id;
  guint8 kind;
  guint8 enabled : 1;
  guint8 visible : 1;
  XdMenuNode *parent;
  GPtrArray *children;  /* XdMenuNode *, made with the first */
  XdMenuExport *export; /* set on every node of an exported tree */
  GVariant *label;      /* a string, as a layout sends it; or NULL */
  const char *icon;
  XdMenuNodeFunc activated;
  XdMenuNodeFunc wanted;
  gpointer user_data;
};

struct _XdMenuExport
{
  GObject parent_instance;

  GDBusConnection *bus;
  char *path;
  guint registration;
  GMainContext *context;
  XdMenuNode *root;  /* id 0 to a panel */
  GHashTable *nodes; /* id -> XdMenuNode *, the root's descendants */
  guint revision;
  gint32 layout_parent; /* for the pending LayoutUpdated; -1 if none */
  GHashTable *changed;  /* id -> CHANGED_* mask, for ItemsPropertiesUpdated */
  GSource *idle;
};

static void layout_changed (XdMenuExport *self, XdMenuNode *parent);
static void props_changed (XdMenuNode *node, guint what);
static void attach_subtree (XdMenuExport *self, XdMenuNode *node);
static void detach_subtree (XdMenuExport *self, XdMenuNode *node);

XdMenuNode *
xd_menu_node_new (XdMenuNodeKind kind)
{
  static gint last_id;
  XdMenuNode *node = g_new0 (XdMenuNode, 1);

  node->id = g_atomic_int_add (&last_id, 1) + 1;
  node->kind = (guint8) kind;
  node->enabled = TRUE;
  node->visible = TRUE;
  return node;
}

static void
remove_child (XdMenuNode *parent, XdMenuNode *child)
{
  g_ptr_array_remove (parent->children, child);
  child->parent = NULL;
  if (parent->export)
    {
      detach_subtree (parent->export, child);
      layout_changed (parent->export, parent);
    }
}

void
xd_menu_node_free (XdMenuNode *node)
{
  if (!node)
    return;
  if (node->parent)
    remove_child (node->parent, node);
  else if (node->export)
    xd_menu_export_set_root (node->export, NULL);
  /* Whoever made the children frees them. */
  for (guint i = 0; i < xd_menu_node_get_n_children (node); i++)
    ((XdMenuNode *) node->children->pdata[i])->parent = NULL;
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_clear_pointer (&node->label, g_variant_unref);
  g_free (node);
}

void
xd_menu_node_set_callbacks (XdMenuNode *node, XdMenuNodeFunc activated, XdMenuNodeFunc wanted,
                            gpointer user_data)
{
  node->activated = activated;
  node->wanted = wanted;
  node->user_data = user_data;
}

void
xd_menu_node_set_label (XdMenuNode *node, const char *label)
{
  if (g_strcmp0 (xd_menu_node_get_label (node), label) == 0)
    return;
  g_clear_pointer (&node->label, g_variant_unref);
  /* Labels carry what VMs wrote, validated before they get here; a string
   * D-Bus refuses must still never take the widget down. */
  if (label && !g_utf8_validate (label, -1, NULL))
    node->label = g_variant_ref_sink (g_variant_new_take_string (g_utf8_make_valid (label, -1)));
  else if (label)
    node->label = g_variant_ref_sink (g_variant_new_string (label));
  props_changed (node, CHANGED_LABEL);
}

void
xd_menu_node_set_icon (XdMenuNode *node, const char *icon_name)
{
  if (g_strcmp0 (node->icon, icon_name) == 0)
    return;
  node->icon = icon_name;
  props_changed (node, CHANGED_ICON);
}

void
xd_menu_node_set_enabled (XdMenuNode *node, gboolean enabled)
{
  if (node->enabled == !!enabled)
    return;
  node->enabled = !!enabled;
  props_changed (node, CHANGED_ENABLED);
}

void
xd_menu_node_set_visible (XdMenuNode *node, gboolean visible)
{
  if (node->visible == !!visible)
    return;
  node->visible = !!visible;
  props_changed (node, CHANGED_VISIBLE);
}

gint32
xd_menu_node_get_id (XdMenuNode *node)
{
  return node->id;
}

XdMenuNodeKind
xd_menu_node_get_kind (XdMenuNode *node)
{
  return node->kind;
}

const char *
xd_menu_node_get_label (XdMenuNode *node)
{
  return node->label ? g_variant_get_string (node->label, NULL) : NULL;
}

const char *
xd_menu_node_get_icon (XdMenuNode *node)
{
  return node->icon;
}

gboolean
xd_menu_node_get_enabled (XdMenuNode *node)
{
  return node->enabled;
}

gboolean
xd_menu_node_get_visible (XdMenuNode *node)
{
  return node->visible;
}

XdMenuNode *
xd_menu_node_get_parent (XdMenuNode *node)
{
  return node->parent;
}

guint
xd_menu_node_get_n_children (XdMenuNode *node)
{
  return node->children ? node->children->len : 0;
}

XdMenuNode *
xd_menu_node_get_child (XdMenuNode *node, guint position)
{
  g_return_val_if_fail (position < xd_menu_node_get_n_children (node), NULL);
  return node->children->pdata[position];
}

gint
xd_menu_node_index (XdMenuNode *parent, XdMenuNode *child)
{
  guint index;

  if (child->parent != parent || !g_ptr_array_find (parent->children, child, &index))
    return -1;
  return (gint) index;
}

void
xd_menu_node_insert (XdMenuNode *parent, XdMenuNode *child, guint position)
{
  g_return_if_fail (child->parent == NULL && child->export == NULL);
  g_return_if_fail (position <= xd_menu_node_get_n_children (parent));

  if (!parent->children)
    parent->children = g_ptr_array_new ();
  g_ptr_array_insert (parent->children, (gint) position, child);
  child->parent = parent;
  if (parent->export)
    {
      attach_subtree (parent->export, child);
      layout_changed (parent->export, parent);
    }
}

void
xd_menu_node_move (XdMenuNode *parent, XdMenuNode *child, guint position)
{
  g_return_if_fail (child->parent == parent);
  g_return_if_fail (position < parent->children->len);

  g_ptr_array_remove (parent->children, child);
  g_ptr_array_insert (parent->children, (gint) position, child);
  if (parent->export)
    layout_changed (parent->export, parent);
}

/* A panel's event: "clicked" on an entry (on one with a submenu, as
 * dbusmenu-gtk sends when it opens the submenu: the submenu is wanted), or
 * "opened" (some panels say a submenu opened without AboutToShow first). A
 * disabled entry takes no click. The callback may free the node. */
static void
handle_event (XdMenuNode *node, const char *event)
{
  if (g_strcmp0 (event, "clicked") == 0)
    {
      XdMenuNodeFunc func = node->kind == XD_MENU_NODE_SUBMENU ? node->wanted : node->activated;

      if (node->enabled && node->kind != XD_MENU_NODE_SEPARATOR && func)
        func (node, node->user_data);
    }
  else if (g_strcmp0 (event, "opened") == 0)
    {
      if (node->kind == XD_MENU_NODE_SUBMENU && node->wanted)
        node->wanted (node, node->user_data);
    }
}

void
xd_menu_node_activate (XdMenuNode *node)
{
  handle_event (node, "clicked");
}

/* ---- the server ---- */

static const char introspection_xml[]
  = "<node>"
    "  <interface name='com.canonical.dbusmenu'>"
    "    <property name='Version' type='u' access='read'/>"
    "    <property name='TextDirection' type='s' access='read'/>"
    "    <property name='Status' type='s' access='read'/>"
    "    <property name='IconThemePath' type='as' access='read'/>"
    "    <method name='GetLayout'>"
    "      <arg type='i' name='parentId' direction='in'/>"
    "      <arg type='i' name='recursionDepth' direction='in'/>"
    "      <arg type='as' name='propertyNames' direction='in'/>"
    "      <arg type='u' name='revision' direction='out'/>"
    "      <arg type='(ia{sv}av)' name='layout' direction='out'/>"
    "    </method>"
    "    <method name='GetGroupProperties'>"
    "      <arg type='ai' name='ids' direction='in'/>"
    "      <arg type='as' name='propertyNames' direction='in'/>"
    "      <arg type='a(ia{sv})' name='properties' direction='out'/>"
    "    </method>"
    "    <method name='GetProperty'>"
    "      <arg type='i' name='id' direction='in'/>"
    "      <arg type='s' name='name' direction='in'/>"
    "      <arg type='v' name='value' direction='out'/>"
    "    </method>"
    "    <method name='Event'>"
    "      <arg type='i' name='id' direction='in'/>"
    "      <arg type='s' name='eventId' direction='in'/>"
    "      <arg type='v' name='data' direction='in'/>"
    "      <arg type='u' name='timestamp' direction='in'/>"
    "    </method>"
    "    <method name='EventGroup'>"
    "      <arg type='a(isvu)' name='events' direction='in'/>"
    "      <arg type='ai' name='idErrors' direction='out'/>"
    "    </method>"
    "    <method name='AboutToShow'>"
    "      <arg type='i' name='id' direction='in'/>"
    "      <arg type='b' name='needUpdate' direction='out'/>"
    "    </method>"
    "    <method name='AboutToShowGroup'>"
    "      <arg type='ai' name='ids' direction='in'/>"
    "      <arg type='ai' name='updatesNeeded' direction='out'/>"
    "      <arg type='ai' name='idErrors' direction='out'/>"
    "    </method>"
    "    <signal name='ItemsPropertiesUpdated'>"
    "      <arg type='a(ia{sv})' name='updatedProps'/>"
    "      <arg type='a(ias)' name='removedProps'/>"
    "    </signal>"
    "    <signal name='LayoutUpdated'>"
    "      <arg type='u' name='revision'/>"
    "      <arg type='i' name='parent'/>"
    "    </signal>"
    "    <signal name='ItemActivationRequested'>"
    "      <arg type='i' name='id'/>"
    "      <arg type='u' name='timestamp'/>"
    "    </signal>"
    "  </interface>"
    "</node>";

#define INTERFACE "com.canonical.dbusmenu"

G_DEFINE_FINAL_TYPE (XdMenuExport, xd_menu_export, G_TYPE_OBJECT)

static GDBusInterfaceInfo *
interface_info (void)
{
  static gsize info;

  if (g_once_init_enter (&info))
    g_once_init_leave (&info, (gsize) g_dbus_node_info_new_for_xml (introspection_xml, NULL));
  return ((GDBusNodeInfo *) info)->interfaces[0];
}

static XdMenuNode *
lookup (XdMenuExport *self, gint32 id)
{
  if (id == 0)
    return self->root;
  return g_hash_table_lookup (self->nodes, GINT_TO_POINTER (id));
}

static gint32
protocol_id (XdMenuExport *self, XdMenuNode *node)
{
  return node == self->root ? 0 : node->id;
}

static void
attach_subtree (XdMenuExport *self, XdMenuNode *node)
{
  node->export = self;
  if (node != self->root)
    g_hash_table_insert (self->nodes, GINT_TO_POINTER (node->id), node);
  for (guint i = 0; i < xd_menu_node_get_n_children (node); i++)
    attach_subtree (self, node->children->pdata[i]);
}

static void
detach_subtree (XdMenuExport *self, XdMenuNode *node)
{
  node->export = NULL;
  g_hash_table_remove (self->nodes, GINT_TO_POINTER (node->id));
  g_hash_table_remove (self->changed, GINT_TO_POINTER (node->id));
  for (guint i = 0; i < xd_menu_node_get_n_children (node); i++)
    detach_subtree (self, node->children->pdata[i]);
}

/* ---- properties, as dbusmenu names them ---- */

static gboolean
wanted_name (const char *const *names, const char *name)
{
  return !names || !names[0] || g_strv_contains (names, name);
}

/* A property, made with GVariant's plain constructors: format strings are
 * parsed at each use, which a layout of 1,000 entries would do tens of
 * thousands of times. */
static GVariant *
property (const char *name, GVariant *value)
{
  return g_variant_new_dict_entry (g_variant_new_string (name), g_variant_new_variant (value));
}

/* The node's properties that differ from dbusmenu's defaults. */
static GVariant *
node_properties (XdMenuNode *node, const char *const *names)
{
  GVariant *props[6];
  guint n = 0;

  if (node->kind == XD_MENU_NODE_SEPARATOR)
    {
      if (wanted_name (names, "type"))
        props[n++] = property ("type", g_variant_new_string ("separator"));
    }
  else if (node->label && wanted_name (names, "label"))
    props[n++] = property ("label", node->label);
  if (!node->enabled && wanted_name (names, "enabled"))
    props[n++] = property ("enabled", g_variant_new_boolean (FALSE));
  if (!node->visible && wanted_name (names, "visible"))
    props[n++] = property ("visible", g_variant_new_boolean (FALSE));
  if (node->icon && wanted_name (names, "icon-name"))
    props[n++] = property ("icon-name", g_variant_new_string (node->icon));
  if (node->kind == XD_MENU_NODE_SUBMENU && wanted_name (names, "children-display"))
    props[n++] = property ("children-display", g_variant_new_string ("submenu"));
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), props, n);
}

static GVariant *
node_layout (XdMenuExport *self, XdMenuNode *node, gint depth, const char *const *names)
{
  guint n = depth != 0 ? xd_menu_node_get_n_children (node) : 0;
  g_autofree GVariant **children = g_new (GVariant *, MAX (n, 1));
  GVariant *fields[3];

  for (guint i = 0; i < n; i++)
    children[i] = g_variant_new_variant (
      node_layout (self, node->children->pdata[i], depth > 0 ? depth - 1 : -1, names));
  fields[0] = g_variant_new_int32 (protocol_id (self, node));
  fields[1] = node_properties (node, names);
  fields[2] = g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, n);
  return g_variant_new_tuple (fields, 3);
}

/* ---- change signals, once per idle ---- */

typedef struct
{
  GVariantBuilder set, unset;
  guint n_set, n_unset;
} Changes;

/* @value, or if NULL the property's removal. */
static void
change (Changes *c, const char *name, GVariant *value)
{
  if (value)
    {
      g_variant_builder_add (&c->set, "{sv}", name, value);
      c->n_set++;
    }
  else
    {
      g_variant_builder_add (&c->unset, "s", name);
      c->n_unset++;
    }
}

/* What changed on @node: new values in @updated (defaults included, as a
 * panel may hold another), properties gone in @removed. */
static void
add_changes (XdMenuNode *node, guint what, GVariantBuilder *updated, GVariantBuilder *removed)
{
  Changes c = { .n_set = 0 };

  g_variant_builder_init (&c.set, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_init (&c.unset, G_VARIANT_TYPE_STRING_ARRAY);
  if (what & CHANGED_LABEL)
    change (&c, "label", node->label);
  if (what & CHANGED_ICON)
    change (&c, "icon-name", node->icon ? g_variant_new_string (node->icon) : NULL);
  if (what & CHANGED_ENABLED)
    change (&c, "enabled", g_variant_new_boolean (node->enabled));
  if (what & CHANGED_VISIBLE)
    change (&c, "visible", g_variant_new_boolean (node->visible));

  if (c.n_set)
    g_variant_builder_add (updated, "(i@a{sv})", node->id, g_variant_builder_end (&c.set));
  else
    g_variant_builder_clear (&c.set);
  if (c.n_unset)
    g_variant_builder_add (removed, "(i@as)", node->id, g_variant_builder_end (&c.unset));
  else
    g_variant_builder_clear (&c.unset);
}

static gboolean
idle_cb (gpointer user_data)
{
  XdMenuExport *self = user_data;
  GHashTableIter iter;
  gpointer key, value;

  g_clear_pointer (&self->idle, g_source_unref);
  if (g_hash_table_size (self->changed) > 0)
    {
      GVariantBuilder updated, removed;

      g_variant_builder_init (&updated, G_VARIANT_TYPE ("a(ia{sv})"));
      g_variant_builder_init (&removed, G_VARIANT_TYPE ("a(ias)"));
      g_hash_table_iter_init (&iter, self->changed);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          XdMenuNode *node = lookup (self, GPOINTER_TO_INT (key));
          if (node)
            add_changes (node, GPOINTER_TO_UINT (value), &updated, &removed);
        }
      g_hash_table_remove_all (self->changed);
      g_dbus_connection_emit_signal (self->bus, NULL, self->path, INTERFACE,
                                     "ItemsPropertiesUpdated",
                                     g_variant_new ("(a(ia{sv})a(ias))", &updated, &removed), NULL);
    }
  if (self->layout_parent >= 0)
    {
      g_dbus_connection_emit_signal (self->bus, NULL, self->path, INTERFACE, "LayoutUpdated",
                                     g_variant_new ("(ui)", self->revision, self->layout_parent),
                                     NULL);
      self->layout_parent = -1;
    }
  return G_SOURCE_REMOVE;
}

static void
schedule (XdMenuExport *self)
{
  if (self->idle)
    return;
  self->idle = g_idle_source_new ();
  g_source_set_priority (self->idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->idle, idle_cb, self, NULL);
  g_source_set_static_name (self->idle, "[xd] menu export");
  g_source_attach (self->idle, self->context);
}

static void
layout_changed (XdMenuExport *self, XdMenuNode *parent)
{
  gint32 id = protocol_id (self, parent);

  self->revision++;
  if (self->layout_parent < 0)
    self->layout_parent = id;
  else if (self->layout_parent != id)
    self->layout_parent = 0;
  schedule (self);
}

static void
props_changed (XdMenuNode *node, guint what)
{
  XdMenuExport *self = node->export;
  gpointer key = GINT_TO_POINTER (node->id);

  if (!self || node == self->root)
    return;
  g_hash_table_insert (
    self->changed, key,
    GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (self->changed, key)) | what));
  schedule (self);
}

/* ---- methods ---- */

static gboolean
unknown_id (GDBusMethodInvocation *invocation, gint32 id)
{
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                         "No menu entry has the id %d", id);
  return FALSE;
}

static void
get_layout (XdMenuExport *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autofree const char **names = NULL;
  XdMenuNode *node;
  gint32 id, depth;

  g_variant_get (parameters, "(ii^a&s)", &id, &depth, &names);
  if (!(node = lookup (self, id)))
    {
      if (id != 0)
        {
          unknown_id (invocation, id);
          return;
        }
      /* No tree: an empty menu. */
      g_dbus_method_invocation_return_value (
        invocation, g_variant_new_parsed ("(%u, (0, @a{sv} {}, @av []))", self->revision));
      return;
    }
  g_dbus_method_invocation_return_value (
    invocation, g_variant_new ("(u@(ia{sv}av))", self->revision,
                               node_layout (self, node, depth, (const char *const *) names)));
}

static void
add_group_properties (XdMenuExport *self, XdMenuNode *node, const char *const *names,
                      GVariantBuilder *builder, gboolean recurse)
{
  g_variant_builder_add (builder, "(i@a{sv})", protocol_id (self, node),
                         node_properties (node, names));
  if (recurse)
    for (guint i = 0; i < xd_menu_node_get_n_children (node); i++)
      add_group_properties (self, node->children->pdata[i], names, builder, TRUE);
}

static void
get_group_properties (XdMenuExport *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariantIter) ids = NULL;
  g_autofree const char **names = NULL;
  GVariantBuilder builder;
  gint32 id;

  g_variant_get (parameters, "(ai^a&s)", &ids, &names);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ia{sv})"));
  if (g_variant_iter_n_children (ids) == 0 && self->root)
    add_group_properties (self, self->root, (const char *const *) names, &builder, TRUE);
  while (g_variant_iter_next (ids, "i", &id))
    {
      XdMenuNode *node = lookup (self, id);
      if (node)
        add_group_properties (self, node, (const char *const *) names, &builder, FALSE);
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &builder));
}

static void
get_property_method (XdMenuExport *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) value = NULL;
  const char *name;
  XdMenuNode *node;
  gint32 id;

  g_variant_get (parameters, "(i&s)", &id, &name);
  if (!(node = lookup (self, id)))
    {
      unknown_id (invocation, id);
      return;
    }
  props = node_properties (node, NULL);
  if (!(value = g_variant_lookup_value (props, name, NULL)))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                             "Menu entry %d has no property “%s”", id, name);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
}

/* Answers first, then runs the events: a callback may change the menu. */
static void
event_group (XdMenuExport *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariant) events = g_variant_get_child_value (parameters, 0); /* kept */
  gsize n = g_variant_n_children (events);
  g_autofree gint32 *ids = g_new (gint32, n + 1);
  GVariantBuilder errors;
  guint n_found = 0;

  g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
  for (gsize i = 0; i < n; i++)
    {
      g_variant_get_child (events, i, "(i&svu)", &ids[i], NULL, NULL, NULL);
      if (lookup (self, ids[i]))
        n_found++;
      else
        g_variant_builder_add (&errors, "i", ids[i]);
    }
  if (n > 0 && n_found == 0)
    {
      g_variant_builder_clear (&errors);
      unknown_id (invocation, ids[0]);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &errors));
  for (gsize i = 0; i < n; i++)
    {
      const char *event;
      XdMenuNode *node = lookup (self, ids[i]);

      g_variant_get_child (events, i, "(i&svu)", NULL, &event, NULL, NULL);
      if (node)
        handle_event (node, event);
    }
}

/* Whether the layout under the node changed while its submenu was wanted. */
static gboolean
about_to_show (XdMenuExport *self, XdMenuNode *node)
{
  guint revision = self->revision;

  if (node->kind == XD_MENU_NODE_SUBMENU && node != self->root && node->wanted)
    node->wanted (node, node->user_data);
  return self->revision != revision;
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  XdMenuExport *self = user_data;
  /* Kept while an event runs, after the invocation (and what it holds) is
   * answered and gone. */
  g_autoptr (GVariant) kept = g_variant_ref (parameters);

  if (g_strcmp0 (method_name, "GetLayout") == 0)
    get_layout (self, parameters, invocation);
  else if (g_strcmp0 (method_name, "GetGroupProperties") == 0)
    get_group_properties (self, parameters, invocation);
  else if (g_strcmp0 (method_name, "GetProperty") == 0)
    get_property_method (self, parameters, invocation);
  else if (g_strcmp0 (method_name, "Event") == 0)
    {
      const char *event;
      XdMenuNode *node;
      gint32 id;

      g_variant_get (parameters, "(i&svu)", &id, &event, NULL, NULL);
      if (!(node = lookup (self, id)))
        {
          unknown_id (invocation, id);
          return;
        }
      g_dbus_method_invocation_return_value (invocation, NULL);
      handle_event (node, event);
    }
  else if (g_strcmp0 (method_name, "EventGroup") == 0)
    event_group (self, parameters, invocation);
  else if (g_strcmp0 (method_name, "AboutToShow") == 0)
    {
      XdMenuNode *node;
      gint32 id;

      g_variant_get (parameters, "(i)", &id);
      if (!(node = lookup (self, id)))
        {
          unknown_id (invocation, id);
          return;
        }
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(b)", about_to_show (self, node)));
    }
  else if (g_strcmp0 (method_name, "AboutToShowGroup") == 0)
    {
      g_autoptr (GVariantIter) ids = NULL;
      GVariantBuilder updates, errors;
      gint32 id;

      g_variant_get (parameters, "(ai)", &ids);
      g_variant_builder_init (&updates, G_VARIANT_TYPE ("ai"));
      g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
      while (g_variant_iter_next (ids, "i", &id))
        {
          XdMenuNode *node = lookup (self, id);
          if (!node)
            g_variant_builder_add (&errors, "i", id);
          else if (about_to_show (self, node))
            g_variant_builder_add (&updates, "i", id);
        }
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(aiai)", &updates, &errors));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s", method_name);
}

static GVariant *
get_property (GDBusConnection *connection, const char *sender, const char *object_path,
              const char *interface_name, const char *property_name, GError **error,
              gpointer user_data)
{
  if (g_strcmp0 (property_name, "Version") == 0)
    return g_variant_new_uint32 (3);
  if (g_strcmp0 (property_name, "TextDirection") == 0)
    return g_variant_new_string (gtk_widget_get_default_direction () == GTK_TEXT_DIR_RTL ? "rtl"
                                                                                         : "ltr");
  if (g_strcmp0 (property_name, "Status") == 0)
    return g_variant_new_string ("normal");
  if (g_strcmp0 (property_name, "IconThemePath") == 0)
    return g_variant_new_strv (NULL, 0);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable vtable = { method_call, get_property, NULL, { 0 } };

/* ---- the object ---- */

static void
xd_menu_export_dispose (GObject *object)
{
  XdMenuExport *self = XD_MENU_EXPORT (object);

  xd_menu_export_set_root (self, NULL);
  if (self->registration)
    {
      g_dbus_connection_unregister_object (self->bus, self->registration);
      self->registration = 0;
    }
  if (self->idle)
    {
      g_source_destroy (self->idle);
      g_clear_pointer (&self->idle, g_source_unref);
    }
  G_OBJECT_CLASS (xd_menu_export_parent_class)->dispose (object);
}

static void
xd_menu_export_finalize (GObject *object)
{
  XdMenuExport *self = XD_MENU_EXPORT (object);

  g_clear_object (&self->bus);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->path);
  g_hash_table_unref (self->nodes);
  g_hash_table_unref (self->changed);
  G_OBJECT_CLASS (xd_menu_export_parent_class)->finalize (object);
}

static void
xd_menu_export_class_init (XdMenuExportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = xd_menu_export_dispose;
  object_class->finalize = xd_menu_export_finalize;
}

static void
xd_menu_export_init (XdMenuExport *self)
{
  self->nodes = g_hash_table_new (NULL, NULL);
  self->changed = g_hash_table_new (NULL, NULL);
  self->layout_parent = -1;
  self->context = g_main_context_ref_thread_default ();
}

XdMenuExport *
xd_menu_export_new (GDBusConnection *bus, const char *path, GError **error)
{
  g_autoptr (XdMenuExport) self = g_object_new (XD_TYPE_MENU_EXPORT, NULL);

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), NULL);
  g_return_val_if_fail (g_variant_is_object_path (path), NULL);

  self->bus = g_object_ref (bus);
  self->path = g_strdup (path);
  self->registration
    = g_dbus_connection_register_object (bus, path, interface_info (), &vtable, self, NULL, error);
  if (!self->registration)
    return NULL;
  return g_steal_pointer (&self);
}

const char *
xd_menu_export_get_path (XdMenuExport *self)
{
  g_return_val_if_fail (XD_IS_MENU_EXPORT (self), NULL);
  return self->path;
}

void
xd_menu_export_set_root (XdMenuExport *self, XdMenuNode *root)
{
  g_return_if_fail (XD_IS_MENU_EXPORT (self));
  g_return_if_fail (root == NULL || (root->parent == NULL && root->export == NULL));

  if (self->root == root)
    return;
  if (self->root)
    detach_subtree (self, self->root);
  g_hash_table_remove_all (self->changed);
  self->root = root;
  if (root)
    attach_subtree (self, root);
  self->revision++;
  self->layout_parent = 0;
  if (self->registration)
    schedule (self);
}

guint
xd_menu_export_get_revision (XdMenuExport *self)
{
  g_return_val_if_fail (XD_IS_MENU_EXPORT (self), 0);
  return self->revision;
}
