/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The tray menu as a panel reads it: com.canonical.dbusmenu (version 3),
 * served straight from a tree of plain nodes (private to src/tray).
 *
 * libdbusmenu's server keeps a GObject per entry, with a hash table of
 * GVariants for its properties and four signal handlers that the server
 * connects to each: at 1,000 rows that is 10 ms to build and 7 ms to export,
 * and a list walk for each entry inserted. A node here is a small struct;
 * the server reads its fields when a panel asks, and a change is sent as
 * one signal per idle (ItemsPropertiesUpdated, LayoutUpdated), as
 * libdbusmenu does.
 *
 * Nodes may be made and placed in any thread before their tree is exported;
 * once exported, only in the thread of the export's main context.
 */

typedef struct _XdMenuNode XdMenuNode;

/* A click on the node (@activated), or its submenu is about to be shown
 * (@wanted: AboutToShow, or an "opened" event). */
typedef void (*XdMenuNodeFunc) (XdMenuNode *node, gpointer user_data);

typedef enum
{
  XD_MENU_NODE_STANDARD,
  XD_MENU_NODE_SEPARATOR,
  /* Says it has a submenu ("children-display": "submenu"), children or not
   * yet: a panel then asks AboutToShow before it shows them. */
  XD_MENU_NODE_SUBMENU,
} XdMenuNodeKind;

XdMenuNode *xd_menu_node_new (XdMenuNodeKind kind);
/* Takes the node out of its parent; its children are left without one. */
void xd_menu_node_free (XdMenuNode *node);

void xd_menu_node_set_callbacks (XdMenuNode *node, XdMenuNodeFunc activated, XdMenuNodeFunc wanted,
                                 gpointer user_data);
/* @label is dbusmenu's: "_" marks a mnemonic. */
void xd_menu_node_set_label (XdMenuNode *node, const char *label);
/* @icon_name: a static string, or NULL. */
void xd_menu_node_set_icon (XdMenuNode *node, const char *icon_name);
void xd_menu_node_set_enabled (XdMenuNode *node, gboolean enabled);
void xd_menu_node_set_visible (XdMenuNode *node, gboolean visible);

gint32 xd_menu_node_get_id (XdMenuNode *node);
XdMenuNodeKind xd_menu_node_get_kind (XdMenuNode *node);
const char *xd_menu_node_get_label (XdMenuNode *node);
const char *xd_menu_node_get_icon (XdMenuNode *node);
gboolean xd_menu_node_get_enabled (XdMenuNode *node);
gboolean xd_menu_node_get_visible (XdMenuNode *node);

XdMenuNode *xd_menu_node_get_parent (XdMenuNode *node);
guint xd_menu_node_get_n_children (XdMenuNode *node);
XdMenuNode *xd_menu_node_get_child (XdMenuNode *node, guint position);
/* The position of @child in @parent, or -1. */
gint xd_menu_node_index (XdMenuNode *parent, XdMenuNode *child);
/* Puts @child, which has no parent, at @position (at most the number of
 * children). */
void xd_menu_node_insert (XdMenuNode *parent, XdMenuNode *child, guint position);
/* Moves @child, a child of @parent, to @position. */
void xd_menu_node_move (XdMenuNode *parent, XdMenuNode *child, guint position);

/* As a panel would: a click, or the submenu about to be shown (tests). */
void xd_menu_node_activate (XdMenuNode *node);

#define XD_TYPE_MENU_EXPORT (xd_menu_export_get_type ())
G_DECLARE_FINAL_TYPE (XdMenuExport, xd_menu_export, XD, MENU_EXPORT, GObject)

/* Serves the menu at @path on @bus (in the thread-default main context). */
XdMenuExport *xd_menu_export_new (GDBusConnection *bus, const char *path, GError **error);
const char *xd_menu_export_get_path (XdMenuExport *self);
/* The tree to serve, or NULL for an empty menu. Not owned; it must stay
 * until replaced. */
void xd_menu_export_set_root (XdMenuExport *self, XdMenuNode *root);
/* Bumped by every change of the layout (the children of any node). */
guint xd_menu_export_get_revision (XdMenuExport *self);

G_END_DECLS
