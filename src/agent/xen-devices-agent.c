/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-devices-agent: runs inside a driver domain (sys-usb, an audio domain)
 * and publishes that domain's own block, usb and capture devices into its
 * own /local/domain/<D>/data/xen-devices subtree, in the layout dom0's
 * engine reads, with the hiding rules of dom0's own source (one code path:
 * src/udev/xd-udev-source.c). dom0 treats all of it as untrusted.
 */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/xd-error.h"
#include "core/xd-validate.h"
#include "udev/xd-udev-source.h"
#include "xen/xd-xs-store.h"

#define CONNECT_RETRY_SECONDS 1

typedef struct
{
  XdUdevSourceOptions options;
  GMainLoop *loop;
  XdUdevSource *source;
  gboolean said_waiting;
} Agent;

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

/* The domain's own id, as a guest learns it: the relative node "domid". */
static gboolean
own_domid (guint *domid, GError **error)
{
  g_autoptr (XdStore) store = xd_xs_store_new_plain (error);
  g_autofree char *value = NULL;

  if (!store)
    return FALSE;
  value = xd_store_read (store, "domid", NULL, error);
  if (!value)
    return FALSE;
  if (!xd_parse_domid (value, domid))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "xenstore's domid is not a domain id");
      return FALSE;
    }
  return TRUE;
}

/* xenstored may not be up yet when the agent starts: keep trying. Once
 * connected, the store itself reconnects when xenstored restarts. */
static gboolean
connect_cb (gpointer user_data)
{
  Agent *agent = user_data;
  g_autoptr (GError) error = NULL;

  agent->source = xd_udev_source_new (&agent->options, &error);
  if (agent->source)
    {
      g_message ("publishing the devices of domain %u", agent->options.domid);
      return G_SOURCE_REMOVE;
    }
  if (!agent->said_waiting)
    g_message ("waiting for xenstore: %s", error->message);
  agent->said_waiting = TRUE;
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gboolean once = FALSE;
  gboolean withdraw = FALSE;
  int domid = -1;
  int poll_seconds = 0;
  g_autofree char *mountinfo = NULL;
  g_autofree char *swaps = NULL;
  const GOptionEntry entries[] = {
    { "domid", 'd', 0, G_OPTION_ARG_INT, &domid,
      "The domain whose devices these are (default: xenstore's \"domid\")", "ID" },
    { "once", '1', 0, G_OPTION_ARG_NONE, &once, "Publish once and exit", NULL },
    { "poll", 'p', 0, G_OPTION_ARG_INT, &poll_seconds,
      "Also rescan every SECONDS (for a domain without udevd)", "SECONDS" },
    { "withdraw", 0, 0, G_OPTION_ARG_NONE, &withdraw, "Remove what the agent published and exit",
      NULL },
    { "mountinfo", 0, 0, G_OPTION_ARG_FILENAME, &mountinfo,
      "The mount table (default: /proc/self/mountinfo)", "FILE" },
    { "swaps", 0, 0, G_OPTION_ARG_FILENAME, &swaps, "The swap list (default: /proc/swaps)",
      "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Agent agent = { 0 };

  g_option_context_set_summary (context,
                                "Publishes this domain's block, usb and capture devices to "
                                "xenstore for dom0's xen-devices.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "xen-devices-agent: %s\n", error->message);
      return 2;
    }
  if (argc > 1 || poll_seconds < 0 || domid > XD_DOMID_MAX)
    {
      fprintf (stderr, "xen-devices-agent: invalid arguments (see --help)\n");
      return 2;
    }
  if (domid < 0)
    {
      guint id;
      if (!own_domid (&id, &error))
        {
          fprintf (stderr, "xen-devices-agent: cannot tell this domain's id: %s\n", error->message);
          return 1;
        }
      domid = (int) id;
    }

  agent.options.domid = (guint) domid;
  agent.options.poll_seconds = (guint) poll_seconds;
  agent.options.mountinfo_path = mountinfo;
  agent.options.swaps_path = swaps;

  if (once || withdraw)
    {
      g_autoptr (XdUdevSource) source = xd_udev_source_new (&agent.options, &error);
      gboolean ok = source != NULL;

      if (ok)
        ok = withdraw ? xd_udev_source_withdraw (source, &error)
                      : xd_udev_source_sync (source, &error);
      if (!ok)
        {
          fprintf (stderr, "xen-devices-agent: %s\n", error->message);
          return 1;
        }
      return 0;
    }

  /* Entries stay when the agent stops: a device its backend stops offering
   * is detached from the VM holding it, and a restart must not do that. */
  agent.options.watch = TRUE;
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (connect_cb (&agent) == G_SOURCE_CONTINUE)
    g_timeout_add_seconds (CONNECT_RETRY_SECONDS, connect_cb, &agent);
  g_main_loop_run (loop);
  g_clear_pointer (&agent.source, xd_udev_source_free);
  return 0;
}
