/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-cli.h"

#include <stdio.h>
#include <string.h>

#include "core/xd-assignments.h"
#include "core/xd-error.h"
#include "udev/xd-udev-source.h"
#include "xen/xd-toolstack-select.h"
#include "xen/xd-xs-store.h"

int
xd_cli_usage_error (const char *klass, const char *action, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *message = NULL;
  g_autofree char *safe = NULL;

  va_start (ap, fmt);
  message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* Whatever was typed, or written by a VM, that reached the message: no
   * escape sequence gets to the terminal. */
  safe = xd_escape_for_terminal (message);
  fprintf (stderr, "usage: xen-device %s %s [--help] [ARGS...]\n", klass ? klass : "[CLASS]",
           action ? action : "[ACTION]");
  fprintf (stderr, "xen-device: error: %s\n", safe);
  return XD_EXIT_USAGE;
}

int
xd_cli_failure (const GError *error)
{
  g_autofree char *safe = xd_escape_for_terminal (error->message);

  fprintf (stderr, "Error: %s\n", safe);
  return XD_EXIT_FAILED;
}

int
xd_cli_report (const char *klass, const char *action, const GError *error)
{
  if (g_error_matches (error, XD_ERROR, XD_ERROR_INVALID))
    return xd_cli_usage_error (klass, action, "%s", error->message);
  return xd_cli_failure (error);
}

gboolean
xd_cli_is_help (const char *arg)
{
  return strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0;
}

XdEngine *
xd_cli_open_engine (gboolean with_toolstack, GError **error)
{
  g_autoptr (XdStore) store = NULL;
  g_autoptr (XdEngine) engine = NULL;

  store = xd_xs_store_new_plain (error);
  if (!store)
    return NULL;
  /* dom0's own devices, from libudev, are in xenstore before it is read
   * (and xenstore is known to be there: an unreachable one is one error). */
  xd_dom0_source_publish_once ();
  engine = xd_engine_new (g_steal_pointer (&store));
  if (!xd_engine_load (engine, FALSE, error))
    return NULL;
  if (with_toolstack)
    {
      XdToolstack *toolstack = xd_toolstack_open (error);
      if (!toolstack)
        return NULL;
      xd_engine_set_toolstack (engine, toolstack);
    }
  return g_steal_pointer (&engine);
}

const char *
xd_cli_state_dir (void)
{
  return xd_assignments_default_dir ();
}
