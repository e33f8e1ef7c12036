/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-indicator.h"

#include <glib/gi18n.h>

#define ICON_NAME "xen-devices"

struct _XdIndicator
{
  AppIndicator parent_instance;
  char *summary;
  GtkStatusIcon *status_icon; /* the fallback's, not owned */
};

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
  app_indicator_set_icon_full (APP_INDICATOR (self), ICON_NAME, text);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (self->status_icon)
    {
      gtk_status_icon_set_tooltip_text (self->status_icon, text);
      gtk_status_icon_set_title (self->status_icon, text);
    }
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static GtkStatusIcon *
xd_indicator_fallback (AppIndicator *indicator)
{
  XdIndicator *self = XD_INDICATOR (indicator);
  GtkStatusIcon *icon;

  /* AppIndicator's own fallback shows the icon and pops the menu up; add
   * what a status icon can do and an indicator cannot: a tooltip. */
  icon = APP_INDICATOR_CLASS (xd_indicator_parent_class)->fallback (indicator);
  self->status_icon = icon;
  g_message ("no StatusNotifier host: using a status icon");
  apply_summary (self);
  return icon;
}

static void
xd_indicator_unfallback (AppIndicator *indicator, GtkStatusIcon *status_icon)
{
  XdIndicator *self = XD_INDICATOR (indicator);

  self->status_icon = NULL;
  APP_INDICATOR_CLASS (xd_indicator_parent_class)->unfallback (indicator, status_icon);
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

XdIndicator *
xd_indicator_new (GtkMenu *menu)
{
  XdIndicator *self = g_object_new (XD_TYPE_INDICATOR, "id", "xen-devices", "icon-name", ICON_NAME,
                                    "category", "Hardware", NULL);

  /* Installed icons come from the theme; a build tree points here. */
  if (g_getenv ("XD_ICON_THEME_PATH"))
    app_indicator_set_icon_theme_path (APP_INDICATOR (self), g_getenv ("XD_ICON_THEME_PATH"));
  app_indicator_set_menu (APP_INDICATOR (self), menu);
  app_indicator_set_status (APP_INDICATOR (self), APP_INDICATOR_STATUS_ACTIVE);
  apply_summary (self);
  return self;
}

static void
xd_indicator_finalize (GObject *object)
{
  XdIndicator *self = XD_INDICATOR (object);

  g_free (self->summary);
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
}

static void
xd_indicator_init (XdIndicator *self)
{
}
