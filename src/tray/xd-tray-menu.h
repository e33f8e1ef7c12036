/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "core/xd-engine.h"
#include "xd-tray-item.h"

G_BEGIN_DECLS

#define XD_TYPE_TRAY_MENU (xd_tray_menu_get_type ())
G_DECLARE_FINAL_TYPE (XdTrayMenu, xd_tray_menu, XD, TRAY_MENU, GObject)

/*
 * The tray's one persistent menu, a view of the engine: sections for
 * block devices, microphones and USB devices; a row per device with a
 * submenu of the running VMs it may go to. It is edited in place as the
 * engine reports changes (coalesced into one idle update), and a click asks
 * the engine to attach or detach.
 *
 * Signals:
 *   summary-changed (): the summary text changed
 *   operation-finished (gboolean attach, const char *device, const char *vm,
 *                       const GError *error): an operation a click started is
 *     over; @error is NULL on success
 */
/* Drawn by GTK (xd_tray_menu_new ()) or as dbusmenu entries for a panel;
 * xd_tray_menu_set_kit () switches, rebuilding every entry. */
XdTrayMenu *xd_tray_menu_new (XdEngine *engine);
XdTrayMenu *xd_tray_menu_new_with_kit (XdEngine *engine, XdTrayKit kit);
XdTrayKit xd_tray_menu_get_kit (XdTrayMenu *self);
void xd_tray_menu_set_kit (XdTrayMenu *self, XdTrayKit kit);
/* The GtkMenu (GTK kit only). */
GtkMenu *xd_tray_menu_get_menu (XdTrayMenu *self);
/* The root entry to export (dbusmenu kit only). */
XdMenuNode *xd_tray_menu_get_dbusmenu_root (XdTrayMenu *self);
/* "7 devices, 2 attached", translated. */
char *xd_tray_menu_dup_summary (XdTrayMenu *self);
/* Applies pending updates now (tests, and before the menu pops up). */
void xd_tray_menu_flush (XdTrayMenu *self);
/* How long a device that appeared while the menu ran is marked "NEW"
 * (default 120 s; tests shorten it). Devices present at the menu's first
 * update, which runs once the engine has loaded, are never marked. */
void xd_tray_menu_set_new_seconds (XdTrayMenu *self, guint seconds);
/* Submenus are filled ahead while the menu would hold at most @entries VM
 * entries in all (devices times running VMs; default 4,096), and only when
 * about to be shown beyond that. */
void xd_tray_menu_set_eager_limit (XdTrayMenu *self, guint entries);
/* A section of more than @devices devices (default 20) from more than one
 * VM shows one entry per VM ("sys-usb — 24 devices"), whose submenu holds
 * that VM's rows. */
void xd_tray_menu_set_group_limit (XdTrayMenu *self, guint devices);
/* Whether submenus are filled only when about to be shown. */
gboolean xd_tray_menu_is_lazy (XdTrayMenu *self);

G_END_DECLS
