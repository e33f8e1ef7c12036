/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "xd-loader.h"

G_BEGIN_DECLS

#define XD_TYPE_APPLICATION (xd_application_get_type ())
G_DECLARE_FINAL_TYPE (XdApplication, xd_application, XD, APPLICATION, GtkApplication)

/*
 * The widget: one object per job, wired here and nowhere else. The engine
 * (with its store and toolstack) knows nothing of the view; the menu, the
 * notifier and the assigner observe it.
 */
XdApplication *xd_application_new (XdLoader *loader);

/* Joins @loader's thread: before the main context runs (main () calls it
 * after registering, when GTK has started), and at the latest when the
 * application is activated. */
void xd_application_finish_loading (XdApplication *self);

/* Whether the application could not start (no xenstore, no toolstack): the
 * error has been printed, and the program exits with a failure status. */
gboolean xd_application_get_failed (XdApplication *self);

G_END_DECLS
