/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-tray-item.h"

#include <string.h>

/* Keeps texts without an icon aligned with those with one. */
#define ICON_PIXELS 16

struct _XdTrayItem
{
  XdTrayKit kit;
  XdTrayItemFlags flags;

  /* GTK: the item (a GtkMenu for MENU), owned; its image and label; the
   * GtkMenu of a SUBMENU entry, made when first needed (until then the item
   * draws the arrow that stands for GTK's). */
  GtkWidget *widget;
  GtkWidget *image;
  GtkWidget *label;
  GtkWidget *box;
  GtkWidget *submenu;
  /* dbusmenu: the entry (the root for MENU), owned. */
  XdMenuNode *node;

  char *text;
  gboolean bold;
  const char *icon;
  gboolean sensitive;
  gboolean visible;

  XdTrayItemCallback activated;
  XdTrayItemCallback wanted;
  gpointer user_data;
  gboolean blocked;
  gulong handler_ids[2];
};

/* ---- a menu item whose submenu is made when it is first selected ----
 *
 * A GtkMenu is a popup window of its own: a thousand rows' empty submenus
 * cost 6.5 MiB and 45 ms to make. A row's is made when GTK selects the row
 * (the pointer reaching it, or the keyboard), before GTK goes on to pop it
 * up, or when entries are placed in it. Until then the row draws an arrow
 * of its own, where GTK's would be: GTK's icon, in the row's colours, at
 * its place (Adwaita: 16 px, 10 px after the text). A widget per arrow would
 * cost 1.2 MiB at a thousand rows. */

#define ARROW_GAP 10

static void ensure_submenu (XdTrayItem *item);

#define XD_TYPE_LAZY_MENU_ITEM (xd_lazy_menu_item_get_type ())
G_DECLARE_FINAL_TYPE (XdLazyMenuItem, xd_lazy_menu_item, XD, LAZY_MENU_ITEM, GtkMenuItem)

struct _XdLazyMenuItem
{
  GtkMenuItem parent_instance;
  XdTrayItem *item;
};

enum
{
  PROP_0,
  PROP_DRAWS_ARROW,
};

G_DEFINE_FINAL_TYPE (XdLazyMenuItem, xd_lazy_menu_item, GTK_TYPE_MENU_ITEM)

static gboolean
draws_arrow (XdLazyMenuItem *self)
{
  return self->item && !self->item->submenu;
}

static gboolean
xd_lazy_menu_item_draw (GtkWidget *widget, cairo_t *cr)
{
  XdLazyMenuItem *self = XD_LAZY_MENU_ITEM (widget);
  gboolean rtl = gtk_widget_get_direction (widget) == GTK_TEXT_DIR_RTL;
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  int scale = gtk_widget_get_scale_factor (widget);
  g_autoptr (GtkIconInfo) info = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  cairo_surface_t *surface;
  GtkAllocation own, box;
  double x, y;

  GTK_WIDGET_CLASS (xd_lazy_menu_item_parent_class)->draw (widget, cr);
  if (!draws_arrow (self) || !self->item->box)
    return FALSE;
  info = gtk_icon_theme_lookup_icon_for_scale (gtk_icon_theme_get_default (),
                                               rtl ? "pan-end-symbolic-rtl" : "pan-end-symbolic",
                                               ICON_PIXELS, scale, GTK_ICON_LOOKUP_FORCE_SIZE);
  if (info)
    pixbuf = gtk_icon_info_load_symbolic_for_context (info, context, NULL, NULL);
  if (!pixbuf)
    return FALSE;
  /* In the margin the box keeps free for it (new_gtk ()). Right to left,
   * GTK 3.24 draws its arrow over the item's padding, at its very edge
   * (tray-menu's lazy-looks-eager-rtl compares the two). */
  gtk_widget_get_allocation (widget, &own);
  gtk_widget_get_allocation (self->item->box, &box);
  if (rtl)
    {
      GtkBorder padding;

      gtk_style_context_get_padding (context, gtk_style_context_get_state (context), &padding);
      x = box.x - own.x - ARROW_GAP - ICON_PIXELS - padding.left;
    }
  else
    x = box.x - own.x + box.width + ARROW_GAP;
  y = (own.height - ICON_PIXELS) / 2; /* whole pixels, as GTK places its own */
  surface = gdk_cairo_surface_create_from_pixbuf (pixbuf, scale, gtk_widget_get_window (widget));
  gtk_render_icon_surface (context, cr, surface, x, y);
  cairo_surface_destroy (surface);
  return FALSE;
}

static void
xd_lazy_menu_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_DRAWS_ARROW:
      g_value_set_boolean (value, draws_arrow (XD_LAZY_MENU_ITEM (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
xd_lazy_menu_item_select (GtkMenuItem *menu_item)
{
  XdLazyMenuItem *self = XD_LAZY_MENU_ITEM (menu_item);

  if (self->item)
    ensure_submenu (self->item);
  GTK_MENU_ITEM_CLASS (xd_lazy_menu_item_parent_class)->select (menu_item);
}

static void
xd_lazy_menu_item_class_init (XdLazyMenuItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = xd_lazy_menu_item_get_property;
  GTK_WIDGET_CLASS (klass)->draw = xd_lazy_menu_item_draw;
  GTK_MENU_ITEM_CLASS (klass)->select = xd_lazy_menu_item_select;
  /* For the tests. */
  g_object_class_install_property (
    object_class, PROP_DRAWS_ARROW,
    g_param_spec_boolean ("draws-arrow", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
xd_lazy_menu_item_init (XdLazyMenuItem *self)
{
}

static void
ensure_submenu (XdTrayItem *item)
{
  if (item->submenu || !(item->flags & XD_TRAY_ITEM_SUBMENU))
    return;
  item->submenu = gtk_menu_new ();
  /* GTK draws its arrow from now on, in room of its own. */
  if (item->box)
    gtk_widget_set_margin_end (item->box, 0);
  gtk_menu_item_set_submenu (GTK_MENU_ITEM (item->widget), item->submenu);
}

/* ---- signals ---- */

static void
run (XdTrayItem *item, XdTrayItemCallback callback)
{
  if (callback && !item->blocked)
    callback (item, item->user_data);
}

static void
gtk_activate_cb (GtkMenuItem *widget, gpointer user_data)
{
  XdTrayItem *item = user_data;

  /* GTK activates an entry with a submenu when it opens it; dbusmenu-gtk
   * does the same on a panel's AboutToShow. */
  run (item, (item->flags & XD_TRAY_ITEM_SUBMENU) ? item->wanted : item->activated);
}

static void
gtk_select_cb (GtkMenuItem *widget, gpointer user_data)
{
  XdTrayItem *item = user_data;

  run (item, item->wanted);
}

/* A click, on an entry without a submenu. */
static void
node_activated_cb (XdMenuNode *node, gpointer user_data)
{
  run (user_data, ((XdTrayItem *) user_data)->activated);
}

/* The entry's submenu is about to be shown (AboutToShow, "opened", or a
 * click on the entry, as dbusmenu-gtk sends when it opens it). */
static void
node_wanted_cb (XdMenuNode *node, gpointer user_data)
{
  run (user_data, ((XdTrayItem *) user_data)->wanted);
}

/* ---- construction ---- */

static void
new_gtk (XdTrayItem *item)
{
  if (item->flags & XD_TRAY_ITEM_MENU)
    {
      item->widget = g_object_ref_sink (gtk_menu_new ());
      return;
    }
  if (item->flags & XD_TRAY_ITEM_SEPARATOR)
    item->widget = gtk_separator_menu_item_new ();
  else if (item->flags & XD_TRAY_ITEM_ICON)
    {
      /* A box rather than GtkImageMenuItem (deprecated): dbusmenu-gtk
       * finds the image and the label inside. */
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      gboolean lazy = (item->flags & XD_TRAY_ITEM_SUBMENU) != 0;

      if (item->flags & XD_TRAY_ITEM_SUBMENU)
        {
          item->widget = g_object_new (XD_TYPE_LAZY_MENU_ITEM, NULL);
          XD_LAZY_MENU_ITEM (item->widget)->item = item;
        }
      else
        item->widget = gtk_menu_item_new ();
      item->image = gtk_image_new ();
      item->label = gtk_label_new (NULL);
      gtk_image_set_pixel_size (GTK_IMAGE (item->image), ICON_PIXELS);
      gtk_widget_set_size_request (item->image, ICON_PIXELS, ICON_PIXELS);
      gtk_label_set_xalign (GTK_LABEL (item->label), 0.0);
      gtk_container_add (GTK_CONTAINER (box), item->image);
      gtk_container_add (GTK_CONTAINER (box), item->label);
      if (lazy)
        {
          /* Room for the arrow the item draws (above). */
          gtk_widget_set_hexpand (item->label, TRUE);
          gtk_widget_set_margin_end (box, ARROW_GAP + ICON_PIXELS);
          item->box = box;
        }
      gtk_container_add (GTK_CONTAINER (item->widget), box);
    }
  else
    {
      item->widget = gtk_menu_item_new_with_label ("");
      item->label = gtk_bin_get_child (GTK_BIN (item->widget));
    }
  g_object_ref_sink (item->widget);
  gtk_widget_show_all (item->widget);
  /* A submenu entry without a class icon has no arrow of its own: its
   * submenu is made now. */
  if ((item->flags & XD_TRAY_ITEM_SUBMENU) && !item->box)
    ensure_submenu (item);
  if (!(item->flags & XD_TRAY_ITEM_SEPARATOR))
    {
      item->handler_ids[0]
        = g_signal_connect (item->widget, "activate", G_CALLBACK (gtk_activate_cb), item);
      if (item->flags & XD_TRAY_ITEM_SUBMENU)
        item->handler_ids[1]
          = g_signal_connect (item->widget, "select", G_CALLBACK (gtk_select_cb), item);
    }
}

static void
new_dbusmenu (XdTrayItem *item)
{
  /* A panel shows a submenu for an entry that says it has one, children or
   * not yet; it asks for them with AboutToShow. */
  if (item->flags & XD_TRAY_ITEM_SEPARATOR)
    item->node = xd_menu_node_new (XD_MENU_NODE_SEPARATOR);
  else if (item->flags & (XD_TRAY_ITEM_MENU | XD_TRAY_ITEM_SUBMENU))
    item->node = xd_menu_node_new (XD_MENU_NODE_SUBMENU);
  else
    item->node = xd_menu_node_new (XD_MENU_NODE_STANDARD);
  if (!(item->flags & (XD_TRAY_ITEM_MENU | XD_TRAY_ITEM_SEPARATOR)))
    xd_menu_node_set_callbacks (item->node, node_activated_cb, node_wanted_cb, item);
}

XdTrayItem *
xd_tray_item_new (XdTrayKit kit, XdTrayItemFlags flags)
{
  XdTrayItem *item = g_new0 (XdTrayItem, 1);

  item->kit = kit;
  item->flags = flags;
  item->sensitive = TRUE;
  item->visible = TRUE;
  if (kit == XD_TRAY_KIT_GTK)
    new_gtk (item);
  else
    new_dbusmenu (item);
  return item;
}

void
xd_tray_item_free (XdTrayItem *item)
{
  if (!item)
    return;
  if (item->kit == XD_TRAY_KIT_GTK)
    {
      for (guint i = 0; i < G_N_ELEMENTS (item->handler_ids); i++)
        if (item->handler_ids[i])
          g_signal_handler_disconnect (item->widget, item->handler_ids[i]);
      if (XD_IS_LAZY_MENU_ITEM (item->widget))
        XD_LAZY_MENU_ITEM (item->widget)->item = NULL;
      gtk_widget_destroy (item->widget);
      g_object_unref (item->widget);
    }
  else
    xd_menu_node_free (item->node);
  g_free (item->text);
  g_free (item);
}

XdTrayKit
xd_tray_item_get_kit (XdTrayItem *item)
{
  return item->kit;
}

/* ---- properties ---- */

/* dbusmenu labels take "_" as the mnemonic mark: a VM named "my_vm" would
 * show as "myvm". Doubled, it shows as itself (as dbusmenu-gtk does for a
 * GtkLabel without mnemonics). */
static char *
dbusmenu_label (const char *text)
{
  GString *label = g_string_sized_new (strlen (text) + 8);

  for (const char *p = text; *p; p++)
    {
      if (*p == '_')
        g_string_append_c (label, '_');
      g_string_append_c (label, *p);
    }
  return g_string_free (label, FALSE);
}

void
xd_tray_item_set_text (XdTrayItem *item, const char *text, gboolean bold)
{
  if (g_strcmp0 (item->text, text) == 0 && item->bold == bold)
    return;
  g_free (item->text);
  item->text = g_strdup (text);
  item->bold = bold;
  if (item->kit == XD_TRAY_KIT_GTK)
    {
      if (!item->label)
        return;
      if (bold)
        {
          /* Built by escaping: the label's text stays exactly @text. */
          g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);
          gtk_label_set_markup (GTK_LABEL (item->label), markup);
        }
      else
        gtk_label_set_text (GTK_LABEL (item->label), text);
    }
  else
    {
      g_autofree char *label = dbusmenu_label (text);
      xd_menu_node_set_label (item->node, label);
    }
}

const char *
xd_tray_item_get_text (XdTrayItem *item)
{
  return item->text;
}

void
xd_tray_item_set_icon (XdTrayItem *item, const char *icon_name)
{
  if (g_strcmp0 (item->icon, icon_name) == 0)
    return;
  item->icon = icon_name;
  if (item->kit == XD_TRAY_KIT_GTK)
    {
      if (!item->image)
        return;
      if (icon_name)
        gtk_image_set_from_icon_name (GTK_IMAGE (item->image), icon_name, GTK_ICON_SIZE_MENU);
      else
        gtk_image_clear (GTK_IMAGE (item->image));
    }
  else
    xd_menu_node_set_icon (item->node, icon_name);
}

void
xd_tray_item_set_sensitive (XdTrayItem *item, gboolean sensitive)
{
  if (item->sensitive == sensitive)
    return;
  item->sensitive = sensitive;
  if (item->kit == XD_TRAY_KIT_GTK)
    gtk_widget_set_sensitive (item->widget, sensitive);
  else
    xd_menu_node_set_enabled (item->node, sensitive);
}

gboolean
xd_tray_item_get_sensitive (XdTrayItem *item)
{
  return item->sensitive;
}

void
xd_tray_item_set_visible (XdTrayItem *item, gboolean visible)
{
  if (item->visible == visible)
    return;
  item->visible = visible;
  if (item->kit == XD_TRAY_KIT_GTK)
    gtk_widget_set_visible (item->widget, visible);
  else
    xd_menu_node_set_visible (item->node, visible);
}

void
xd_tray_item_connect (XdTrayItem *item, XdTrayItemCallback activated, XdTrayItemCallback wanted,
                      gpointer user_data)
{
  item->activated = activated;
  item->wanted = wanted;
  item->user_data = user_data;
}

void
xd_tray_item_block (XdTrayItem *item, gboolean blocked)
{
  item->blocked = blocked;
}

/* ---- containers ---- */

static GtkMenuShell *
gtk_shell (XdTrayItem *container)
{
  ensure_submenu (container);
  return GTK_MENU_SHELL (container->submenu ? container->submenu : container->widget);
}

static void
place_gtk (XdTrayItem *container, guint base, XdTrayItem *const *children, guint n_children)
{
  GtkMenuShell *shell = gtk_shell (container);
  GList *list = gtk_container_get_children (GTK_CONTAINER (shell));
  GList *l = g_list_nth (list, base);

  for (guint i = 0; i < n_children; i++)
    {
      GtkWidget *widget = children[i]->widget;

      if (l && l->data == widget)
        {
          l = l->next;
          continue;
        }
      if (gtk_widget_get_parent (widget) == NULL)
        /* l, in this copy of the list, still names the next child. */
        gtk_menu_shell_insert (shell, widget, (gint) (base + i));
      else
        {
          /* Entries keep their relative order (their sort keys never
           * change), so this only happens if that assumption breaks: the
           * copy is stale now, take a new one. */
          gtk_menu_reorder_child (GTK_MENU (shell), widget, (gint) (base + i));
          g_list_free (list);
          list = gtk_container_get_children (GTK_CONTAINER (shell));
          l = g_list_nth (list, base + i + 1);
        }
    }
  g_list_free (list);
}

static void
place_dbusmenu (XdTrayItem *container, guint base, XdTrayItem *const *children, guint n_children)
{
  XdMenuNode *parent = container->node;

  for (guint i = 0; i < n_children; i++)
    {
      XdMenuNode *child = children[i]->node;
      guint position = base + i;

      if (position < xd_menu_node_get_n_children (parent)
          && xd_menu_node_get_child (parent, position) == child)
        continue;
      if (xd_menu_node_get_parent (child) == NULL)
        xd_menu_node_insert (parent, child, position);
      else
        xd_menu_node_move (parent, child, position);
    }
}

void
xd_tray_item_place (XdTrayItem *container, guint base, XdTrayItem *const *children,
                    guint n_children)
{
  g_return_if_fail (container->flags & (XD_TRAY_ITEM_MENU | XD_TRAY_ITEM_SUBMENU));
  if (container->kit == XD_TRAY_KIT_GTK)
    place_gtk (container, base, children, n_children);
  else
    place_dbusmenu (container, base, children, n_children);
}

gint
xd_tray_item_position (XdTrayItem *container, XdTrayItem *child)
{
  if (container->kit == XD_TRAY_KIT_GTK)
    {
      g_autoptr (GList) list = gtk_container_get_children (GTK_CONTAINER (gtk_shell (container)));
      return g_list_index (list, child->widget);
    }
  return xd_menu_node_index (container->node, child->node);
}

gboolean
xd_tray_item_submenu_is_open (XdTrayItem *item)
{
  return item->submenu && gtk_widget_get_mapped (item->submenu);
}

GtkWidget *
xd_tray_item_get_widget (XdTrayItem *item)
{
  return item->widget;
}

XdMenuNode *
xd_tray_item_get_node (XdTrayItem *item)
{
  return item->node;
}
