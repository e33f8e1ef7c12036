/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define XD_TYPE_APPLICATION (xd_application_get_type ())
G_DECLARE_FINAL_TYPE (XdApplication, xd_application, XD, APPLICATION, GtkApplication)

/*
 * The widget: one object per job, wired here and nowhere else. The engine
 * (with its store and toolstack) knows nothing of the view; the menu, the
 * notifier and the assigner observe it.
 */
XdApplication *xd_application_new (void);

G_END_DECLS
