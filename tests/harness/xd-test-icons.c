/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the icon tests share: a gdk-pixbuf without an SVG loader (a fresh
 * machine's), and the check that an icon name resolves to a real image.
 */
#include "config.h"

#include "xd-test-icons.h"

#include <string.h>

#ifndef XD_PIXBUF_LOADERS_CACHE
#error "XD_PIXBUF_LOADERS_CACHE must name gdk-pixbuf's loaders.cache"
#endif

void
xd_test_hide_svg_loader (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (dir, "loaders.cache", NULL);
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) blocks = NULL;
  guint dropped = 0;

  g_assert_true (g_file_get_contents (XD_PIXBUF_LOADERS_CACHE, &text, NULL, &error));
  g_assert_no_error (error);
  /* One loader per block of lines, blocks apart by an empty line; the
   * first line of a block names the module. */
  blocks = g_strsplit (text, "\n\n", -1);
  for (guint i = 0; blocks[i]; i++)
    {
      if (g_str_has_prefix (blocks[i], "\"") && strstr (blocks[i], "svg"))
        {
          dropped++;
          continue;
        }
      g_string_append (out, blocks[i]);
      g_string_append (out, "\n\n");
    }
  /* The machine that runs the test has the loader: that is what is hidden. */
  g_assert_cmpuint (dropped, ==, 1);
  g_assert_true (g_file_set_contents (path, out->str, out->len, &error));
  g_assert_no_error (error);
  g_setenv ("GDK_PIXBUF_MODULE_FILE", path, TRUE);
}

gboolean
xd_test_pixbuf_has_svg (void)
{
  g_autoptr (GSList) formats = gdk_pixbuf_get_formats ();

  for (GSList *l = formats; l; l = l->next)
    {
      g_autofree char *name = gdk_pixbuf_format_get_name (l->data);
      if (strstr (name, "svg"))
        return TRUE;
    }
  return FALSE;
}

void
xd_test_assert_icon_resolves (GtkIconTheme *theme, const char *name, int size, const char *dir)
{
  g_autoptr (GtkIconInfo) info = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix
    = g_str_has_suffix (dir, "/") ? g_strdup (dir) : g_strconcat (dir, "/", NULL);
  g_autofree char *base = NULL;
  const char *file;
  const guchar *pixels;
  int stride, seen = 0;

  g_test_message ("icon %s at %d px", name, size);
  /* GtkStatusIcon's and Xfce's StatusNotifier plugin's lookups: by name,
   * at the tray's size. */
  info = gtk_icon_theme_lookup_icon (theme, name, size, GTK_ICON_LOOKUP_FORCE_SIZE);
  g_assert_nonnull (info);
  file = gtk_icon_info_get_filename (info);
  g_assert_nonnull (file);
  g_test_message ("  found %s", file);
  g_assert_true (g_str_has_prefix (file, prefix));
  base = g_path_get_basename (file);
  g_assert_true (g_str_has_prefix (base, name) && base[strlen (name)] == '.');
  pixbuf = gtk_icon_info_load_icon (info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pixbuf);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, size);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, size);
  /* Not blank: a quarter of it at least is drawn (the icon covers more). */
  g_assert_true (gdk_pixbuf_get_has_alpha (pixbuf));
  g_assert_cmpint (gdk_pixbuf_get_n_channels (pixbuf), ==, 4);
  pixels = gdk_pixbuf_read_pixels (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      seen += pixels[y * stride + x * 4 + 3] > 128;
  g_test_message ("  %d of %d pixels drawn", seen, size * size);
  g_assert_cmpint (seen * 4, >=, size * size);
}
