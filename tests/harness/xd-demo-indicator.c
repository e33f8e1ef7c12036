/* xd-demo-indicator: a stand-in tray program for scripts/run-desktop.
 *
 * An AyatanaAppIndicator with the xen-devices icon (from the source tree's
 * icon theme directory) and a small GtkMenu: a bold header, plain items, a
 * separator and a submenu. AppIndicator shows it as a StatusNotifierItem when
 * a StatusNotifierWatcher is on the session bus, and falls back to a
 * GtkStatusIcon (XEmbed system tray) when there is none. It exists only to
 * develop and check the headless desktop; the real widget replaces it. */
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>

#ifndef XD_SOURCE_ICON_DIR
#error "XD_SOURCE_ICON_DIR must name the source tree's icons/ (a theme root)"
#endif

static GtkWidget *
add_item (GtkWidget *menu, const char *markup, gboolean sensitive)
{
  GtkWidget *item = gtk_menu_item_new_with_label ("");
  GtkWidget *label = gtk_bin_get_child (GTK_BIN (item));

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_widget_set_sensitive (item, sensitive);
  gtk_menu_shell_append (GTK_MENU_SHELL (menu), item);
  return item;
}

static void
on_quit (GtkMenuItem *item, gpointer user_data)
{
  gtk_main_quit ();
}

int
main (int argc, char **argv)
{
  gtk_init (&argc, &argv);

  GtkWidget *menu = gtk_menu_new ();
  add_item (menu, "<b>Block devices</b>", FALSE);
  add_item (menu, "sys-usb:sda1  Kingston DataTraveler (8 GB)", TRUE);
  add_item (menu, "sys-usb:sdb  SanDisk Ultra → work", TRUE);
  gtk_menu_shell_append (GTK_MENU_SHELL (menu), gtk_separator_menu_item_new ());

  GtkWidget *vms = add_item (menu, "Attach microphone to", TRUE);
  GtkWidget *sub = gtk_menu_new ();
  add_item (sub, "work", TRUE);
  add_item (sub, "personal", TRUE);
  add_item (sub, "vault", TRUE);
  gtk_menu_item_set_submenu (GTK_MENU_ITEM (vms), sub);

  gtk_menu_shell_append (GTK_MENU_SHELL (menu), gtk_separator_menu_item_new ());
  GtkWidget *quit = add_item (menu, "Quit", TRUE);
  g_signal_connect (quit, "activate", G_CALLBACK (on_quit), NULL);
  gtk_widget_show_all (menu);

  AppIndicator *ind
    = app_indicator_new ("xd-demo-indicator", "xen-devices", APP_INDICATOR_CATEGORY_HARDWARE);
  app_indicator_set_icon_theme_path (ind, XD_SOURCE_ICON_DIR);
  app_indicator_set_icon_full (ind, "xen-devices", "Devices");
  app_indicator_set_title (ind, "Devices");
  app_indicator_set_status (ind, APP_INDICATOR_STATUS_ACTIVE);
  app_indicator_set_menu (ind, GTK_MENU (menu));

  gtk_main ();
  g_object_unref (ind);
  return 0;
}
