/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xd-sim-host-tool: a private xenstored holding the demo host, for trying
 * the programs by hand.
 *
 *   xd-sim-host-tool demo -- CMD ARGS...   run CMD against the demo host
 *   xd-sim-host-tool serve DIR             keep the demo host up in DIR
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib-unix.h>

#include "xd-test-xenstored.h"
#include "xen/xd-sim-host.h"

static gboolean
populate (GError **error)
{
  g_autoptr (XdSimHost) host = xd_sim_host_new (error);

  return host && xd_sim_host_populate_demo (host, error);
}

static int
run_demo (char **cmd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) xs = xd_test_xenstored_start (&error);
  GPid pid;
  int status;

  if (!xs)
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  xd_test_xenstored_setenv (xs);
  if (!populate (&error)
      || !g_spawn_async (NULL, cmd, NULL,
                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                           | G_SPAWN_CHILD_INHERITS_STDIN,
                         NULL, NULL, &pid, &error))
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  /* Like system (): ^C is for CMD, and we clean up after it. Ignoring the
   * signals only after the spawn keeps CMD's dispositions default. */
  signal (SIGINT, SIG_IGN);
  signal (SIGQUIT, SIG_IGN);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return 1;
  g_spawn_close_pid (pid);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static int
serve (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) xs = xd_test_xenstored_start_in_dir (dir, &error);
  g_autoptr (GMainLoop) loop = NULL;

  if (!xs)
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  xd_test_xenstored_setenv (xs);
  if (!populate (&error))
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  printf ("%s\n", xd_test_xenstored_get_socket (xs));
  fflush (stdout);
  g_main_loop_run (loop);
  return 0;
}

static int
usage (void)
{
  g_printerr ("Usage: xd-sim-host-tool demo -- CMD [ARGS...]\n"
              "       xd-sim-host-tool serve DIR\n");
  return 2;
}

int
main (int argc, char **argv)
{
  /* Run from the build tree without further setup. */
  if (!g_getenv ("XD_XENSTORED_SHIM"))
    g_setenv ("XD_XENSTORED_SHIM", XD_BUILD_SHIM_PATH, TRUE);

  if (argc >= 4 && strcmp (argv[1], "demo") == 0 && strcmp (argv[2], "--") == 0)
    return run_demo (argv + 3);
  if (argc == 3 && strcmp (argv[1], "serve") == 0)
    return serve (argv[2]);
  return usage ();
}
