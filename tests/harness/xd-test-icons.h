/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Makes gdk-pixbuf of this process and of the processes it starts from now
 * on know no SVG loader, as on a machine without librsvg2-common (a
 * recommendation of GTK's, left out by --no-install-recommends): writes the
 * system's loaders cache without the SVG loader into @dir and points
 * GDK_PIXBUF_MODULE_FILE at it. Call before anything loads an image. */
void xd_test_hide_svg_loader (const char *dir);

/* Whether gdk-pixbuf of this process can load SVG. */
gboolean xd_test_pixbuf_has_svg (void);

/* Asserts that @name, looked up in @theme at @size as a tray looks up its
 * icon, is found as a file below @dir (not a fallback, not image-missing),
 * loads without error into a @size x @size image, and is not blank. */
void xd_test_assert_icon_resolves (GtkIconTheme *theme, const char *name, int size,
                                   const char *dir);

G_END_DECLS
