/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>

#include "xd-menu-export.h"

G_BEGIN_DECLS

/* libayatana-appindicator 0.5 declares no autoptr cleanup for its type,
 * which G_DECLARE_FINAL_TYPE needs for the parent. */
#ifndef XD_APP_INDICATOR_AUTOPTR
#define XD_APP_INDICATOR_AUTOPTR
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AppIndicator, g_object_unref)
#endif

#define XD_TYPE_INDICATOR (xd_indicator_get_type ())
G_DECLARE_FINAL_TYPE (XdIndicator, xd_indicator, XD, INDICATOR, AppIndicator)

/*
 * The tray icon: an AppIndicator (StatusNotifierItem), whose menu is a
 * dbusmenu tree exported as it is (xd_indicator_set_menu_root ()), or where
 * no StatusNotifier host runs (XEmbed trays, as in a Qubes dom0's Xfce
 * panel) AppIndicator's GtkStatusIcon fallback, which pops up a GtkMenu
 * (xd_indicator_set_fallback_menu ()) and to which this subclass adds the
 * tooltip that indicators lack.
 *
 * Signals:
 *   fallback-changed (gboolean fallback): the status icon came or went; the
 *     owner hands over the menu for the new mode.
 *
 * AppIndicator only exports a GtkMenu, mirrored into dbusmenu by
 * dbusmenu-gtk (four widgets and a mirror per entry), through libdbusmenu's
 * server (an object per entry). It is given an empty GtkMenu, and a server
 * that only names the path where an XdMenuExport serves the real tree.
 */
XdIndicator *xd_indicator_new (void);
/* The tree a panel is given; NULL for an empty menu. */
void xd_indicator_set_menu_root (XdIndicator *self, XdMenuNode *root);
void xd_indicator_set_fallback_menu (XdIndicator *self, GtkMenu *menu);
/* The title, the icon's accessible description and, in the fallback, the
 * tooltip: "Devices: 7 devices, 2 attached". */
void xd_indicator_set_summary (XdIndicator *self, const char *summary);
/* TRUE while the GtkStatusIcon fallback is in use. */
gboolean xd_indicator_is_fallback (XdIndicator *self);
/* The fallback's status icon, or NULL while a StatusNotifier host shows
 * the icon. */
GtkStatusIcon *xd_indicator_get_status_icon (XdIndicator *self);

G_END_DECLS
