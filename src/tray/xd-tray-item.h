/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "xd-menu-export.h"

G_BEGIN_DECLS

/*
 * One entry of the tray menu, drawn by one of two toolkits (private to
 * src/tray):
 *
 *   XD_TRAY_KIT_GTK       a GtkMenuItem in a GtkMenu, which GTK draws itself
 *                         (the status-icon fallback, and the gui tests);
 *   XD_TRAY_KIT_DBUSMENU  an XdMenuNode, exported as it is to a panel
 *                         (StatusNotifier, com.canonical.dbusmenu): no
 *                         widget at all, so a menu of 1,000 rows costs what
 *                         its text does rather than four widgets, a GtkMenu
 *                         and dbusmenu-gtk's mirror of each.
 *
 * Both show the same text, icon, sensitivity and visibility; bold exists
 * only in GTK (dbusmenu labels are text), which is why rows also say who
 * holds a device in words. Containers (the top-level menu and the submenu
 * of an entry) take their children in order with xd_tray_item_place ().
 */
typedef enum
{
  XD_TRAY_KIT_GTK,
  XD_TRAY_KIT_DBUSMENU,
} XdTrayKit;

typedef enum
{
  XD_TRAY_ITEM_PLAIN = 0,
  /* A column for an icon before the text, even when there is none, so
   * that the texts of a menu line up. */
  XD_TRAY_ITEM_ICON = 1 << 0,
  /* The entry opens a submenu. */
  XD_TRAY_ITEM_SUBMENU = 1 << 1,
  XD_TRAY_ITEM_SEPARATOR = 1 << 2,
  /* The top-level menu. */
  XD_TRAY_ITEM_MENU = 1 << 3,
} XdTrayItemFlags;

typedef struct _XdTrayItem XdTrayItem;

/* A person clicked the entry, or its submenu is about to be shown. */
typedef void (*XdTrayItemCallback) (XdTrayItem *item, gpointer user_data);

XdTrayItem *xd_tray_item_new (XdTrayKit kit, XdTrayItemFlags flags);
/* Takes the entry out of its container and destroys it. */
void xd_tray_item_free (XdTrayItem *item);

XdTrayKit xd_tray_item_get_kit (XdTrayItem *item);
/* @bold is shown where GTK draws the menu. @text is never markup. */
void xd_tray_item_set_text (XdTrayItem *item, const char *text, gboolean bold);
/* The text as the entry shows it; bold is returned when asked. */
const char *xd_tray_item_get_text (XdTrayItem *item);
/* @icon_name: a static string, or NULL for none. */
void xd_tray_item_set_icon (XdTrayItem *item, const char *icon_name);
void xd_tray_item_set_sensitive (XdTrayItem *item, gboolean sensitive);
gboolean xd_tray_item_get_sensitive (XdTrayItem *item);
void xd_tray_item_set_visible (XdTrayItem *item, gboolean visible);

/* @activated: a click on the entry; @wanted: the entry's submenu is about to
 * be shown (GTK: the pointer or keyboard selects the entry, or it is
 * activated; dbusmenu: a panel's AboutToShow or "opened" event). Neither
 * runs while the item is blocked. */
void xd_tray_item_connect (XdTrayItem *item, XdTrayItemCallback activated,
                           XdTrayItemCallback wanted, gpointer user_data);
void xd_tray_item_block (XdTrayItem *item, gboolean blocked);

/* Puts @children (in this order) at positions @base, @base + 1, ... of
 * @container (a MENU or SUBMENU entry), inserting those not yet there and
 * leaving those in place alone, so that an update touches only what
 * changed. Entries of @container not in @children must have been removed
 * already or follow the placed ones. */
void xd_tray_item_place (XdTrayItem *container, guint base, XdTrayItem *const *children,
                         guint n_children);
/* The position of @child in @container; -1 if it is not there. */
gint xd_tray_item_position (XdTrayItem *container, XdTrayItem *child);
/* Whether a SUBMENU entry's submenu is open on screen (GTK only: a panel
 * does not say). */
gboolean xd_tray_item_submenu_is_open (XdTrayItem *item);

/* The toolkit's own objects: a GtkMenuItem (a GtkMenu for MENU), or an
 * XdMenuNode (the root for MENU). Not owned by the caller. */
GtkWidget *xd_tray_item_get_widget (XdTrayItem *item);
XdMenuNode *xd_tray_item_get_node (XdTrayItem *item);

G_END_DECLS
