/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-application.h"

#include <glib-unix.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "core/xd-assigner.h"
#include "core/xd-assignments.h"
#include "core/xd-engine.h"
#include "xd-indicator.h"
#include "xd-loader.h"
#include "xd-notifier.h"
#include "xd-tray-menu.h"

struct _XdApplication
{
  GtkApplication parent_instance;

  XdLoader *loader; /* until the engine has loaded */
  GError *load_error;
  gint64 load_started;
  XdLoaderTimes load;
  XdEngine *engine;
  XdAssigner *assigner;
  XdTrayMenu *menu;
  XdNotifier *notifier;
  XdIndicator *indicator;
  GSettings *settings;
  gboolean started;
  gboolean failed;
  guint sigterm_id;
  guint sigint_id;
};

G_DEFINE_FINAL_TYPE (XdApplication, xd_application, GTK_TYPE_APPLICATION)

static void
summary_changed_cb (XdTrayMenu *menu, gpointer user_data)
{
  XdApplication *self = user_data;
  g_autofree char *summary = xd_tray_menu_dup_summary (menu);

  xd_indicator_set_summary (self->indicator, summary);
}

static void
operation_finished_cb (XdTrayMenu *menu, gboolean attach, const char *device, const char *vm,
                       const GError *error, gpointer user_data)
{
  XdApplication *self = user_data;
  g_autofree char *summary = NULL;

  if (!error)
    return; /* the notifier announces the change it sees in the engine */
  summary = g_strdup_printf (
    attach ? _ ("Attaching %s to %s failed") : _ ("Detaching %s from %s failed"), device, vm);
  xd_notifier_error (self->notifier, summary, error->message);
}

static void
assignment_failed_cb (XdAssigner *assigner, const char *vm, const char *device, const char *message,
                      gpointer user_data)
{
  XdApplication *self = user_data;
  g_autofree char *summary = g_strdup_printf (_ ("%s could not be attached to %s"), device, vm);

  xd_notifier_error (self->notifier, summary, message);
}

static void
connection_changed_cb (XdEngine *engine, gboolean connected, gpointer user_data)
{
  XdApplication *self = user_data;

  if (!connected)
    xd_notifier_error (self->notifier, _ ("Lost contact with xenstore"),
                       _ ("The device list may be out of date until it is back."));
}

/* SIGTERM (a session ending, systemd, a test) and SIGINT (Ctrl-C) quit the
 * main loop, so that the widget leaves through the same path as any quit:
 * its objects are disposed and the tray icon is withdrawn from the panel. */
static gboolean
quit_signal_cb (gpointer user_data)
{
  XdApplication *self = user_data;

  g_message ("quitting on a signal");
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_CONTINUE;
}

/* A status icon came (GTK draws the menu) or went (the panel draws it). */
static void
fallback_changed_cb (XdIndicator *indicator, gboolean fallback, gpointer user_data)
{
  XdApplication *self = user_data;

  xd_tray_menu_set_kit (self->menu, fallback ? XD_TRAY_KIT_GTK : XD_TRAY_KIT_DBUSMENU);
  if (fallback)
    xd_indicator_set_fallback_menu (indicator, xd_tray_menu_get_menu (self->menu));
  else
    {
      xd_indicator_set_fallback_menu (indicator, NULL);
      xd_indicator_set_menu_root (indicator, xd_tray_menu_get_dbusmenu_root (self->menu));
    }
}

/* How long before @now (monotonic µs) the process was started, from
 * /proc/self/stat (in clock ticks, 10 ms here); -1 if unknown. */
static double
ms_since_exec (gint64 now)
{
  g_autofree char *stat = NULL;
  g_autofree char *uptime = NULL;
  const char *p;
  double started_s, uptime_s;
  guint64 ticks;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL)
      || !g_file_get_contents ("/proc/uptime", &uptime, NULL, NULL) || !(p = strrchr (stat, ')')))
    return -1;
  /* Field 22, counted from the state after the command. */
  for (guint field = 2; field < 22 && p; field++)
    p = strchr (p + 1, ' ');
  if (!p)
    return -1;
  ticks = g_ascii_strtoull (p + 1, NULL, 10);
  started_s = (double) ticks / (double) sysconf (_SC_CLK_TCK);
  uptime_s = g_ascii_strtod (uptime, NULL);
  return (uptime_s - started_s) * 1000.0 - (g_get_monotonic_time () - now) / 1000.0;
}

void
xd_application_finish_loading (XdApplication *self)
{
  g_return_if_fail (XD_IS_APPLICATION (self));

  if (!self->loader)
    return;
  self->engine = xd_loader_finish (g_steal_pointer (&self->loader), &self->menu, &self->load,
                                   &self->load_error);
}

static gboolean
start (XdApplication *self, GError **error)
{
  g_autofree char *summary = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (GPtrArray) devices = NULL;

  xd_application_finish_loading (self);
  if (!self->engine)
    {
      g_propagate_error (error, g_steal_pointer (&self->load_error));
      return FALSE;
    }

  /* The icon first, with the menu the loader built (drawn by the panel
   * until AppIndicator falls back to a status icon); then what only reacts
   * to changes. The main loop has not run: no change is missed. */
  self->indicator = xd_indicator_new ();
  g_signal_connect (self->indicator, "fallback-changed", G_CALLBACK (fallback_changed_cb), self);
  if (xd_tray_menu_get_kit (self->menu) == XD_TRAY_KIT_DBUSMENU)
    xd_indicator_set_menu_root (self->indicator, xd_tray_menu_get_dbusmenu_root (self->menu));
  summary = xd_tray_menu_dup_summary (self->menu);
  xd_indicator_set_summary (self->indicator, summary);
  g_signal_connect (self->menu, "summary-changed", G_CALLBACK (summary_changed_cb), self);
  g_signal_connect (self->menu, "operation-finished", G_CALLBACK (operation_finished_cb), self);
  g_signal_connect (self->engine, "connection-changed", G_CALLBACK (connection_changed_cb), self);

  vms = xd_engine_get_vms (self->engine);
  devices = xd_engine_get_devices (self->engine, XD_N_CLASSES);
  g_message ("started (%s toolstack): icon shown %.0f ms after exec; %u VMs and %u devices read "
             "in %.1f ms and their menu built in %.1f ms while GTK started (%.1f ms waited for "
             "after it; %.1f ms of CPU)",
             xd_engine_get_toolstack (self->engine)->name, ms_since_exec (g_get_monotonic_time ()),
             vms->len, devices->len, (self->load.loaded_at - self->load_started) / 1000.0,
             (self->load.built_at - self->load.loaded_at) / 1000.0, self->load.waited_us / 1000.0,
             self->load.cpu_us / 1000.0);

  self->settings = g_settings_new (XD_APPLICATION_ID);
  self->notifier = xd_notifier_new (self->engine, self->settings);
  self->assigner = xd_assigner_new (self->engine, xd_assignments_default_dir ());
  g_signal_connect (self->assigner, "failed", G_CALLBACK (assignment_failed_cb), self);
  xd_assigner_apply_running (self->assigner);
  return TRUE;
}

static void
xd_application_activate (GApplication *application)
{
  XdApplication *self = XD_APPLICATION (application);
  g_autoptr (GError) error = NULL;

  if (self->started)
    return;
  self->started = TRUE;
  self->sigterm_id = g_unix_signal_add (SIGTERM, quit_signal_cb, self);
  self->sigint_id = g_unix_signal_add (SIGINT, quit_signal_cb, self);
  if (!start (self, &error))
    {
      g_autoptr (GError) notify_error = NULL;

      g_printerr ("xen-devices-widget: %s\n", error->message);
      /* Started from the session's autostart, the log is not where anyone
       * looks: say it where the icon would have been. */
      if (!xd_notifier_send_final (_ ("The Devices widget cannot start"), error->message,
                                   &notify_error))
        g_printerr ("xen-devices-widget: and could not say so in a notification: %s\n",
                    notify_error->message);
      self->failed = TRUE;
      g_application_quit (application);
      return;
    }
  /* No window: the tray icon keeps the application alive. */
  g_application_hold (application);
}

static void
xd_application_dispose (GObject *object)
{
  XdApplication *self = XD_APPLICATION (object);

  /* Never started (another instance runs, or GTK failed): the thread is
   * joined all the same. */
  xd_application_finish_loading (self);
  g_clear_error (&self->load_error);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_object (&self->assigner);
  g_clear_object (&self->indicator);
  g_clear_object (&self->notifier);
  g_clear_object (&self->menu);
  g_clear_object (&self->settings);
  g_clear_object (&self->engine);
  G_OBJECT_CLASS (xd_application_parent_class)->dispose (object);
}

static void
xd_application_class_init (XdApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = xd_application_dispose;
  application_class->activate = xd_application_activate;
}

static void
xd_application_init (XdApplication *self)
{
}

gboolean
xd_application_get_failed (XdApplication *self)
{
  g_return_val_if_fail (XD_IS_APPLICATION (self), TRUE);

  return self->failed;
}

XdApplication *
xd_application_new (XdLoader *loader)
{
  XdApplication *self = g_object_new (XD_TYPE_APPLICATION, "application-id", XD_APPLICATION_ID,
                                      "flags", G_APPLICATION_DEFAULT_FLAGS, NULL);

  g_return_val_if_fail (loader != NULL, self);
  self->loader = loader;
  self->load_started = xd_loader_get_start_time (loader);
  return self;
}
