/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-indicator.h"

#include <glib/gi18n.h>
#include <libdbusmenu-glib/server.h>

#define ICON_NAME "xen-devices"
/* The status icon's when its own cannot be shown: a theme's (Adwaita has
 * it as PNGs). */
#define FALLBACK_ICON_NAME "drive-removable-media"

/* ---- the path AppIndicator gives as its menu's ----
 *
 * AppIndicator's "Menu" is the "dbus-object" of its dbusmenu server, which it
 * makes unless it is given one. This one overrides that property: libdbusmenu
 * never sees a path, so it never exports itself, and the property names the
 * path where the XdMenuExport serves the menu. */

typedef struct
{
  DbusmenuServer parent_instance;
  char *path;
} XdPathServer;

typedef struct
{
  DbusmenuServerClass parent_class;
} XdPathServerClass;

enum
{
  PROP_0,
  PROP_DBUS_OBJECT,
};

static GType xd_path_server_get_type (void);
G_DEFINE_TYPE (XdPathServer, xd_path_server, DBUSMENU_TYPE_SERVER)

static void
xd_path_server_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  XdPathServer *self = (XdPathServer *) object;

  switch (prop_id)
    {
    case PROP_DBUS_OBJECT:
      g_free (self->path);
      self->path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
xd_path_server_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  XdPathServer *self = (XdPathServer *) object;

  switch (prop_id)
    {
    case PROP_DBUS_OBJECT:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
xd_path_server_finalize (GObject *object)
{
  g_free (((XdPathServer *) object)->path);
  G_OBJECT_CLASS (xd_path_server_parent_class)->finalize (object);
}

static void
xd_path_server_class_init (XdPathServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->set_property = xd_path_server_set_property;
  object_class->get_property = xd_path_server_get_property;
  object_class->finalize = xd_path_server_finalize;
  g_object_class_override_property (object_class, PROP_DBUS_OBJECT,
                                    DBUSMENU_SERVER_PROP_DBUS_OBJECT);
}

static void
xd_path_server_init (XdPathServer *self)
{
}

/* ---- the indicator ---- */

struct _XdIndicator
{
  AppIndicator parent_instance;
  char *summary;
  gboolean icon_unusable;     /* GTK cannot show ICON_NAME here */
  GtkStatusIcon *status_icon; /* the fallback's, not owned */
  GtkMenu *placeholder;       /* what AppIndicator is given */
  GtkMenu *fallback_menu;     /* what the status icon pops up */
  XdMenuExport *export;       /* what a panel reads; NULL without a bus */
};

enum
{
  SIGNAL_FALLBACK_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (XdIndicator, xd_indicator, APP_INDICATOR_TYPE)

static char *
full_summary (XdIndicator *self)
{
  /* TRANSLATORS: the tray icon's title, %s is e.g. "7 devices, 2 attached" */
  return g_strdup_printf (_ ("Devices: %s"), self->summary ? self->summary : "");
}

static void
apply_summary (XdIndicator *self)
{
  g_autofree char *text = full_summary (self);

  app_indicator_set_title (APP_INDICATOR (self), text);
  /* AppIndicator would give its status icon ICON_NAME again. */
  if (!self->status_icon || !self->icon_unusable)
    app_indicator_set_icon_full (APP_INDICATOR (self), ICON_NAME, text);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (self->status_icon)
    {
      if (self->icon_unusable)
        gtk_status_icon_set_from_icon_name (self->status_icon, FALLBACK_ICON_NAME);
      gtk_status_icon_set_tooltip_text (self->status_icon, text);
      gtk_status_icon_set_title (self->status_icon, text);
    }
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
popup (XdIndicator *self, GtkStatusIcon *icon, guint button, guint32 time)
{
  if (!self->fallback_menu)
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_menu_popup (self->fallback_menu, NULL, NULL, gtk_status_icon_position_menu, icon, button,
                  time);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
status_icon_activate_cb (GtkStatusIcon *icon, gpointer user_data)
{
  popup (user_data, icon, 1, gtk_get_current_event_time ());
}

static void
status_icon_popup_menu_cb (GtkStatusIcon *icon, guint button, guint32 time, gpointer user_data)
{
  popup (user_data, icon, button, time);
}

/* Where GTK draws the icon, it shows GTK's missing-image icon for one it
 * cannot load (an SVG without gdk-pixbuf's SVG loader, say), without a word.
 * Says which file the icon is, or why there is none and uses a theme's. */
static void
check_status_icon (XdIndicator *self, GtkStatusIcon *icon)
{
  g_autoptr (GtkIconInfo) info = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autoptr (GError) error = NULL;
  GtkIconTheme *theme;
  int size;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  theme = gtk_icon_theme_get_for_screen (gtk_status_icon_get_screen (icon));
  /* 0 until a tray embeds it: a panel's usual size meanwhile. */
  size = gtk_status_icon_get_size (icon);
  G_GNUC_END_IGNORE_DEPRECATIONS
  info = gtk_icon_theme_lookup_icon (theme, ICON_NAME, size > 0 ? size : 22, 0);
  if (info)
    pixbuf = gtk_icon_info_load_icon (info, &error);
  if (pixbuf)
    {
      g_message ("status icon: %s", gtk_icon_info_get_filename (info));
      return;
    }
  g_message ("the icon %s cannot be shown (%s): showing %s instead", ICON_NAME,
             error ? error->message : "it is not in the icon theme", FALLBACK_ICON_NAME);
  self->icon_unusable = TRUE;
}

static GtkStatusIcon *
xd_indicator_fallback (AppIndicator *indicator)
{
  XdIndicator *self = XD_INDICATOR (indicator);
  GtkStatusIcon *icon;

  /* AppIndicator's own fallback shows the icon; its clicks would pop up
   * the empty menu AppIndicator was given: pop up the real one instead. Add
   * what a status icon can do and an indicator cannot: a tooltip. */
  icon = APP_INDICATOR_CLASS (xd_indicator_parent_class)->fallback (indicator);
  g_signal_handlers_disconnect_matched (icon, G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DATA,
                                        g_signal_lookup ("activate", GTK_TYPE_STATUS_ICON), 0, NULL,
                                        NULL, self);
  g_signal_handlers_disconnect_matched (icon, G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DATA,
                                        g_signal_lookup ("popup-menu", GTK_TYPE_STATUS_ICON), 0,
                                        NULL, NULL, self);
  g_signal_connect (icon, "activate", G_CALLBACK (status_icon_activate_cb), self);
  g_signal_connect (icon, "popup-menu", G_CALLBACK (status_icon_popup_menu_cb), self);
  self->status_icon = icon;
  g_message ("no StatusNotifier host: using a status icon");
  check_status_icon (self, icon);
  apply_summary (self);
  g_signal_emit (self, signals[SIGNAL_FALLBACK_CHANGED], 0, TRUE);
  return icon;
}

static void
xd_indicator_unfallback (AppIndicator *indicator, GtkStatusIcon *status_icon)
{
  XdIndicator *self = XD_INDICATOR (indicator);

  self->status_icon = NULL;
  g_signal_handlers_disconnect_by_data (status_icon, self);
  APP_INDICATOR_CLASS (xd_indicator_parent_class)->unfallback (indicator, status_icon);
  g_message ("a StatusNotifier host is there: using it");
  g_signal_emit (self, signals[SIGNAL_FALLBACK_CHANGED], 0, FALSE);
}

void
xd_indicator_set_menu_root (XdIndicator *self, XdMenuNode *root)
{
  g_return_if_fail (XD_IS_INDICATOR (self));

  if (self->export)
    xd_menu_export_set_root (self->export, root);
}

void
xd_indicator_set_fallback_menu (XdIndicator *self, GtkMenu *menu)
{
  g_return_if_fail (XD_IS_INDICATOR (self));
  g_set_object (&self->fallback_menu, menu);
}

void
xd_indicator_set_summary (XdIndicator *self, const char *summary)
{
  g_return_if_fail (XD_IS_INDICATOR (self));
  if (g_strcmp0 (self->summary, summary) == 0)
    return;
  g_free (self->summary);
  self->summary = g_strdup (summary);
  apply_summary (self);
}

gboolean
xd_indicator_is_fallback (XdIndicator *self)
{
  return self->status_icon != NULL;
}

GtkStatusIcon *
xd_indicator_get_status_icon (XdIndicator *self)
{
  g_return_val_if_fail (XD_IS_INDICATOR (self), NULL);
  return self->status_icon;
}

XdIndicator *
xd_indicator_new (void)
{
  XdIndicator *self = g_object_new (XD_TYPE_INDICATOR, "id", "xen-devices", "icon-name", ICON_NAME,
                                    "category", "Hardware", NULL);

  /* Installed icons come from the theme; a build tree points here. */
  if (g_getenv ("XD_ICON_THEME_PATH"))
    {
      const char *path = g_getenv ("XD_ICON_THEME_PATH");
      g_auto (GStrv) search = NULL;

      /* When it falls back, AppIndicator (0.5.92) looks for the path in
       * GTK's search path and, not finding it, reads past the end of the
       * list: make sure it is there. */
      gtk_icon_theme_get_search_path (gtk_icon_theme_get_default (), &search, NULL);
      if (!g_strv_contains ((const char *const *) search, path))
        gtk_icon_theme_append_search_path (gtk_icon_theme_get_default (), path);
      app_indicator_set_icon_theme_path (APP_INDICATOR (self), path);
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
    g_autofree char *id = NULL;
    g_autofree char *path = NULL;
    GObject *server;

    /* Below AppIndicator's own item path, where its server would be. */
    g_object_get (self, "id", &id, NULL);
    g_strcanon (id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", '_');
    path = g_strdup_printf ("/org/ayatana/NotificationItem/%s/Menu", id);
    if (bus)
      self->export = xd_menu_export_new (bus, path, &error);
    if (!self->export)
      g_message ("the menu cannot be exported (%s): it shows only in a status icon",
                 error->message);
    server
      = g_object_new (xd_path_server_get_type (), DBUSMENU_SERVER_PROP_DBUS_OBJECT, path, NULL);
    g_object_set (self, "dbus-menu-server", server, NULL);
    g_object_unref (server);
  }
  self->placeholder = g_object_ref_sink (GTK_MENU (gtk_menu_new ()));
  app_indicator_set_menu (APP_INDICATOR (self), self->placeholder);
  app_indicator_set_status (APP_INDICATOR (self), APP_INDICATOR_STATUS_ACTIVE);
  apply_summary (self);
  return self;
}

static void
xd_indicator_finalize (GObject *object)
{
  XdIndicator *self = XD_INDICATOR (object);

  g_free (self->summary);
  g_clear_object (&self->fallback_menu);
  g_clear_object (&self->placeholder);
  g_clear_object (&self->export);
  G_OBJECT_CLASS (xd_indicator_parent_class)->finalize (object);
}

static void
xd_indicator_class_init (XdIndicatorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  AppIndicatorClass *indicator_class = APP_INDICATOR_CLASS (klass);

  object_class->finalize = xd_indicator_finalize;
  indicator_class->fallback = xd_indicator_fallback;
  indicator_class->unfallback = xd_indicator_unfallback;

  signals[SIGNAL_FALLBACK_CHANGED]
    = g_signal_new ("fallback-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
xd_indicator_init (XdIndicator *self)
{
}
