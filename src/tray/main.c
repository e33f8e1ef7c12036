/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xen-devices-widget: the Devices tray icon of a Xen dom0. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "core/xd-engine.h"
#include "xd-application.h"
#include "xen/xd-toolstack-select.h"

int
main (int argc, char **argv)
{
  g_autoptr (XdApplication) application = NULL;
  g_autoptr (GError) error = NULL;
  XdLoader *loader;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, XD_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!xd_toolstack_check_setting (&error) || !xd_engine_check_timeout_setting (&error))
    {
      g_printerr ("xen-devices-widget: %s\n", error->message);
      return 1;
    }

  /* The engine reads the host while GTK starts and the application
   * registers its name; the loader is joined before the main loop runs. */
  loader = xd_loader_start ();
  application = xd_application_new (loader);
  if (!g_application_register (G_APPLICATION (application), NULL, &error))
    {
      g_printerr ("xen-devices-widget: %s\n", error->message);
      return 1;
    }
  xd_application_finish_loading (application);
  status = g_application_run (G_APPLICATION (application), argc, argv);
  return status == 0 && xd_application_get_failed (application) ? 1 : status;
}
