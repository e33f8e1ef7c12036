/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray icon as a fresh machine shows it: gdk-pixbuf without its SVG
 * loader (librsvg2-common is only recommended by GTK), under Xvfb. With no
 * StatusNotifier host on the session bus (GTestDBus) the indicator falls
 * back to a GtkStatusIcon, whose icon name must resolve, at every size a
 * tray asks for, to the widget's own image: not a fallback, not GTK's
 * missing-image icon, not blank. The StatusNotifier side (IconName in
 * IconThemePath, as a panel resolves it) is checked on the widget process
 * by test-widget-e2e.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <unistd.h>

#include "harness/xd-test-icons.h"
#include "tray/xd-indicator.h"

#define WAIT_MS 20000

static const int tray_sizes[] = { 16, 20, 22, 24, 32, 48, 64 };

/* $DISPLAY, which GTestDBus unsets (against X11 autolaunch of a bus). */
static char *display;

static gboolean
timeout_cb (gpointer flag)
{
  *(gboolean *) flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* The premise: this process cannot load an SVG, and the SVG is there. */
static void
test_no_svg_loader (void)
{
  g_autofree char *svg = g_build_filename (g_getenv ("XD_ICON_THEME_PATH"), "hicolor", "scalable",
                                           "apps", "xen-devices.svg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;

  g_assert_false (xd_test_pixbuf_has_svg ());
  g_assert_true (g_file_test (svg, G_FILE_TEST_IS_REGULAR));
  pixbuf = gdk_pixbuf_new_from_file (svg, &error);
  g_assert_null (pixbuf);
  g_assert_nonnull (error);
}

static GdkPixbuf *
load_png (const guint8 *data, gsize len)
{
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type ("png", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (loader);
  g_assert_true (gdk_pixbuf_loader_write (loader, data, len, &error));
  g_assert_true (gdk_pixbuf_loader_close (loader, &error));
  g_assert_no_error (error);
  return g_object_ref (gdk_pixbuf_loader_get_pixbuf (loader));
}

/* rsvg-convert's rendering of @svg at @size. */
static GdkPixbuf *
render_svg (const char *svg, int size)
{
  g_autofree char *rsvg = g_find_program_in_path ("rsvg-convert");
  g_autofree char *px = g_strdup_printf ("%d", size);
  g_autofree char *tmp = NULL, *data = NULL;
  g_autoptr (GError) error = NULL;
  int fd, status = 0;
  gsize len = 0;

  g_assert_nonnull (rsvg);
  fd = g_file_open_tmp ("xd-icon-XXXXXX.png", &tmp, &error);
  g_assert_no_error (error);
  close (fd);
  {
    const char *argv[]
      = { rsvg, "--width", px, "--height", px, "--format", "png", "--output", tmp, svg, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                 NULL, &status, &error));
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (tmp, &data, &len, &error));
  g_assert_no_error (error);
  g_unlink (tmp);
  return load_png ((const guint8 *) data, len);
}

/* The checked-in PNGs are the SVG rendered at their sizes (icons/render-pngs):
 * each is compared with rsvg-convert's rendering now. */
static void
test_pngs_match_svg (void)
{
  const char *root = g_getenv ("XD_ICON_THEME_PATH");
  g_autofree char *svg
    = g_build_filename (root, "hicolor", "scalable", "apps", "xen-devices.svg", NULL);
  static const int sizes[] = { 16, 22, 24, 32, 48, 64 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *dir = g_strdup_printf ("%dx%d", sizes[i], sizes[i]);
      g_autofree char *png
        = g_build_filename (root, "hicolor", dir, "apps", "xen-devices.png", NULL);
      g_autofree char *data = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GdkPixbuf) want = render_svg (svg, sizes[i]);
      g_autoptr (GdkPixbuf) have = NULL;
      const guchar *a, *b;
      int worst = 0, channels;
      gsize len = 0;

      g_test_message ("%s", png);
      g_assert_true (g_file_get_contents (png, &data, &len, &error));
      g_assert_no_error (error);
      have = load_png ((const guint8 *) data, len);
      g_assert_cmpint (gdk_pixbuf_get_width (have), ==, sizes[i]);
      g_assert_cmpint (gdk_pixbuf_get_height (have), ==, sizes[i]);
      g_assert_cmpint (gdk_pixbuf_get_width (want), ==, sizes[i]);
      g_assert_cmpint (gdk_pixbuf_get_height (want), ==, sizes[i]);
      channels = gdk_pixbuf_get_n_channels (have);
      g_assert_cmpint (channels, ==, gdk_pixbuf_get_n_channels (want));
      a = gdk_pixbuf_read_pixels (have);
      b = gdk_pixbuf_read_pixels (want);
      for (int y = 0; y < sizes[i]; y++)
        for (int x = 0; x < sizes[i] * channels; x++)
          worst = MAX (worst, ABS (a[y * gdk_pixbuf_get_rowstride (have) + x]
                                   - b[y * gdk_pixbuf_get_rowstride (want) + x]));
      g_test_message ("  largest channel difference %d", worst);
      /* Another librsvg may round an edge differently; a changed SVG moves
       * whole shapes. */
      g_assert_cmpint (worst, <=, 16);
    }
}

static void
fallback_cb (XdIndicator *indicator, gboolean fallback, gpointer user_data)
{
  *(gboolean *) user_data = fallback;
}

/* An indicator on a private bus with no StatusNotifier host, once it fell
 * back to a status icon. */
static XdIndicator *
fallen_back_indicator (void)
{
  XdIndicator *indicator = xd_indicator_new ();
  gboolean fallback = FALSE, timed_out = FALSE;
  guint timeout;

  gulong handler;

  handler = g_signal_connect (indicator, "fallback-changed", G_CALLBACK (fallback_cb), &fallback);
  timeout = g_timeout_add (WAIT_MS, timeout_cb, &timed_out);
  while (!fallback && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (timeout);
  g_signal_handler_disconnect (indicator, handler);
  g_assert_nonnull (xd_indicator_get_status_icon (indicator));
  return indicator;
}

static void
test_status_icon (void)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (XdIndicator) indicator = NULL;
  GtkStatusIcon *icon;
  GtkIconTheme *theme;

  g_test_dbus_up (bus);
  indicator = fallen_back_indicator ();
  icon = xd_indicator_get_status_icon (indicator);
  g_assert_nonnull (icon);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  g_assert_cmpint (gtk_status_icon_get_storage_type (icon), ==, GTK_IMAGE_ICON_NAME);
  g_assert_cmpstr (gtk_status_icon_get_icon_name (icon), ==, "xen-devices");
  theme = gtk_icon_theme_get_for_screen (gtk_status_icon_get_screen (icon));
  for (guint i = 0; i < G_N_ELEMENTS (tray_sizes); i++)
    xd_test_assert_icon_resolves (theme, gtk_status_icon_get_icon_name (icon), tray_sizes[i],
                                  g_getenv ("XD_ICON_THEME_PATH"));
  G_GNUC_END_IGNORE_DEPRECATIONS

  g_clear_object (&indicator);
  g_test_dbus_down (bus);
}

/* A theme path where the icon is only an SVG (as this tree had it): the
 * status icon shows a theme's image instead of GTK's missing-image icon,
 * and the log says why. In a subprocess: the path reaches GTK's default
 * icon theme for good. */
static void
test_status_icon_unloadable (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
      g_autoptr (XdIndicator) indicator = NULL;
      g_autofree char *root = g_dir_make_tmp ("xd-svg-only-XXXXXX", NULL);
      g_autofree char *apps = g_build_filename (root, "hicolor", "scalable", "apps", NULL);
      g_autofree char *svg = g_build_filename (apps, "xen-devices.svg", NULL);
      g_autofree char *source = g_build_filename (g_getenv ("XD_ICON_THEME_PATH"), "hicolor",
                                                  "scalable", "apps", "xen-devices.svg", NULL);
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      gsize len;
      GtkStatusIcon *icon;

      g_assert_true (g_file_get_contents (source, &text, &len, &error));
      g_assert_cmpint (g_mkdir_with_parents (apps, 0700), ==, 0);
      g_assert_true (g_file_set_contents (svg, text, len, &error));
      g_assert_no_error (error);
      g_setenv ("XD_ICON_THEME_PATH", root, TRUE);
      g_test_dbus_up (bus);
      indicator = fallen_back_indicator ();
      icon = xd_indicator_get_status_icon (indicator);
      G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      g_assert_cmpstr (gtk_status_icon_get_icon_name (icon), ==, "drive-removable-media");
      xd_test_assert_icon_resolves (
        gtk_icon_theme_get_for_screen (gtk_status_icon_get_screen (icon)),
        gtk_status_icon_get_icon_name (icon), 22, "/usr/share/icons");
      G_GNUC_END_IGNORE_DEPRECATIONS
      g_clear_object (&indicator);
      g_test_dbus_down (bus);
      g_unlink (svg);
      return;
    }
  g_setenv ("DISPLAY", display, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*the icon xen-devices cannot be shown (it is not in the icon "
                             "theme): showing drive-removable-media instead*");
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = g_dir_make_tmp ("xd-tray-icon-XXXXXX", NULL);
  int status;

  g_assert_nonnull (dir);
  g_assert_nonnull (g_getenv ("XD_ICON_THEME_PATH"));
  display = g_strdup (g_getenv ("DISPLAY"));
  g_assert_nonnull (display);
  /* Before GTK loads anything. */
  xd_test_hide_svg_loader (dir);
  gtk_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xd/tray-icon/no-svg-loader", test_no_svg_loader);
  g_test_add_func ("/xd/tray-icon/pngs-match-svg", test_pngs_match_svg);
  g_test_add_func ("/xd/tray-icon/status-icon", test_status_icon);
  g_test_add_func ("/xd/tray-icon/status-icon-unloadable", test_status_icon_unloadable);
  status = g_test_run ();
  {
    g_autofree char *cache = g_build_filename (dir, "loaders.cache", NULL);
    g_unlink (cache);
    g_rmdir (dir);
  }
  return status;
}
