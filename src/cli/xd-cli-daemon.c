/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-device daemon: the engine without a desktop. It watches xenstore and
 * applies persistent assignments whenever a VM starts, until SIGINT or
 * SIGTERM; and, run as root, it is the service through which the widget and
 * xen-device of a desktop user attach (xd-control.h): the socket
 * data/xen-devices-daemon.socket starts it at the first call.
 */
#include "config.h"

#include "xd-cli.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

#include "core/xd-assigner.h"
#include "core/xd-error.h"
#include "udev/xd-udev-source.h"
#include "xen/xd-control-server.h"
#include "xen/xd-control.h"
#include "xen/xd-toolstack-select.h"
#include "xen/xd-xs-store.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static void
applied_cb (XdAssigner *assigner, const char *vm, const char *device, gpointer user_data)
{
  g_message ("attached %s to %s (persistent assignment)", device, vm);
}

int
xd_cli_daemon (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdStore) store = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (XdAssigner) assigner = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (XdControlServer) server = NULL;
  XdToolstack *toolstack;

  for (int i = 0; i < argc; i++)
    {
      if (xd_cli_is_help (argv[i]))
        {
          printf ("usage: xen-device daemon [--help]\n\n"
                  "Watches xenstore and attaches persistently assigned devices whenever\n"
                  "their VM starts. Run as root, it also attaches and detaches for the\n"
                  "members of the group " XD_GROUP " (the widget, xen-device), listening\n"
                  "on the socket systemd passes or else on $XEN_DEVICES_CONTROL_SOCKET\n"
                  "(default " XD_CONTROL_SOCKET_DEFAULT "). Runs in the foreground until\n"
                  "SIGINT or SIGTERM.\n");
          return XD_EXIT_OK;
        }
      return xd_cli_usage_error ("daemon", "", "unknown argument “%s”", argv[i]);
    }

  /* First: a SIGTERM that comes while it starts (its socket is already
   * there for a caller) is a clean stop, not a death by signal. */
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);

  store = xd_xs_store_new (&error);
  if (!store)
    return xd_cli_failure (error);
  engine = xd_engine_new (g_steal_pointer (&store));
  xd_dom0_source_attach (engine);
  toolstack = xd_toolstack_open (&error);
  if (!toolstack)
    return xd_cli_failure (error);
  xd_engine_set_toolstack (engine, toolstack);
  if (!xd_engine_load (engine, TRUE, &error))
    return xd_cli_failure (error);

  /* The service for desktop users: only where this process makes the
   * changes itself. */
  if (strcmp (toolstack->name, "service") != 0)
    {
      server = xd_control_server_new (toolstack, &error);
      if (!server)
        return xd_cli_failure (error);
      g_message ("attaching for the members of %s through %s", xd_control_group_name (),
                 xd_control_server_get_description (server));
    }

  assigner = xd_assigner_new (engine, xd_cli_state_dir ());
  g_signal_connect (assigner, "applied", G_CALLBACK (applied_cb), NULL);
  g_message ("watching xenstore with the %s toolstack; persistent assignments from %s",
             toolstack->name, xd_cli_state_dir ());
  xd_assigner_apply_running (assigner);
  g_main_loop_run (loop);
  g_message ("stopping");
  /* Before the engine (and its toolstack) goes. */
  g_clear_pointer (&server, xd_control_server_free);
  return XD_EXIT_OK;
}
