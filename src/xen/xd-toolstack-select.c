/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-toolstack-select.h"

#include <string.h>
#include <unistd.h>

#include "core/xd-error.h"
#include "core/xd-validate.h"
#include "xd-control.h"
#include "xd-toolstack-libxl.h"
#include "xd-toolstack-service.h"
#include "xd-toolstack-sim.h"

const char *
xd_toolstack_choice (void)
{
  const char *forced = g_getenv ("XEN_DEVICES_TOOLSTACK");

  if (forced && *forced)
    return forced;
  /* Never the simulated toolstack unless asked for: on a dom0 whose xenfs
   * is not mounted it would write made-up backends into a real xenstore. */
  if (!xd_toolstack_libxl_available ())
    return "none";
  /* libxl works for root only (xd-control.h): anyone else asks the
   * service, which runs as root. */
  return geteuid () == 0 ? "libxl" : "service";
}

gboolean
xd_toolstack_check_setting (GError **error)
{
  const char *forced = g_getenv ("XEN_DEVICES_TOOLSTACK");
  g_autofree char *quoted = NULL;

  if (!forced || !*forced || strcmp (forced, "libxl") == 0 || strcmp (forced, "simulated") == 0
      || strcmp (forced, "service") == 0)
    return TRUE;
  quoted = xd_quote_for_message (forced);
  g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
               "XEN_DEVICES_TOOLSTACK must be libxl, service or simulated, not “%s”", quoted);
  return FALSE;
}

XdToolstack *
xd_toolstack_open (GError **error)
{
  const char *choice = xd_toolstack_choice ();
  XdToolstack *toolstack;

  if (strcmp (choice, "libxl") == 0)
    toolstack = xd_toolstack_libxl_new (error);
  else if (strcmp (choice, "service") == 0)
    toolstack = xd_toolstack_service_new (xd_control_socket_path ());
  else if (strcmp (choice, "simulated") == 0)
    toolstack = xd_toolstack_sim_new (error);
  else if (strcmp (choice, "none") == 0)
    {
      g_set_error_literal (
        error, XD_ERROR, XD_ERROR_UNAVAILABLE,
        "no toolstack: this is not a Xen dom0 (/proc/xen/capabilities does not say control_d; "
        "is xenfs mounted on /proc/xen?). XEN_DEVICES_TOOLSTACK=simulated attaches on a "
        "simulated host");
      return NULL;
    }
  else
    {
      xd_toolstack_check_setting (error);
      return NULL;
    }
  if (toolstack)
    g_info ("toolstack: %s", toolstack->name);
  return toolstack;
}
