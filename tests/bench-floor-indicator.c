/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-floor-indicator: the floor tests/bench-widget measures the widget
 * against. A bare GTK 3 + AyatanaAppIndicator program that shows one icon
 * (the widget's, from $XD_ICON_THEME_PATH when set) with a one-item menu,
 * and nothing else: no engine, no xenstore, no GApplication.
 */
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>

int
main (int argc, char **argv)
{
  GtkWidget *menu, *item;
  AppIndicator *indicator;

  gtk_init (&argc, &argv);

  menu = gtk_menu_new ();
  item = gtk_menu_item_new_with_label ("Floor");
  gtk_menu_shell_append (GTK_MENU_SHELL (menu), item);
  gtk_widget_show_all (menu);

  indicator = app_indicator_new ("xd-bench-floor", "xen-devices", APP_INDICATOR_CATEGORY_HARDWARE);
  if (g_getenv ("XD_ICON_THEME_PATH"))
    app_indicator_set_icon_theme_path (indicator, g_getenv ("XD_ICON_THEME_PATH"));
  app_indicator_set_status (indicator, APP_INDICATOR_STATUS_ACTIVE);
  app_indicator_set_menu (indicator, GTK_MENU (menu));

  gtk_main ();
  g_object_unref (indicator);
  return 0;
}
