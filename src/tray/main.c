/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xen-devices-widget: the Devices tray icon of a Xen dom0. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "xd-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (XdApplication) application = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, XD_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = xd_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
