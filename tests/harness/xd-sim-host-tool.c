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
              "       xd-sim-host-tool serve DIR\n"
              "       xd-sim-host-tool start-vm DOMID NAME      (XENSTORED_PATH names the host)\n"
              "       xd-sim-host-tool stop-vm DOMID\n"
              "       xd-sim-host-tool plug DOMID CLASS PORT KEY=VALUE...\n"
              "       xd-sim-host-tool unplug DOMID CLASS PORT\n");
  return 2;
}

/* Changes a running simulated host (one `serve` started), so that a person
 * or a test can watch the widget and the engine follow. */
static int
change_host (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdSimHost) host = xd_sim_host_new (&error);
  guint64 domid;
  gboolean ok = FALSE;

  if (!host)
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  if (argc < 3 || !g_ascii_string_to_unsigned (argv[2], 10, 0, 0x7FEF, &domid, NULL))
    return usage ();
  if (strcmp (argv[1], "start-vm") == 0 && argc == 4)
    ok = xd_sim_host_add_vm (host, (guint) domid, argv[3], &error);
  else if (strcmp (argv[1], "stop-vm") == 0 && argc == 3)
    ok = xd_sim_host_remove_vm (host, (guint) domid, &error);
  else if (strcmp (argv[1], "unplug") == 0 && argc == 5)
    ok = xd_sim_host_unpublish_device (host, (guint) domid, argv[3], argv[4], &error);
  else if (strcmp (argv[1], "plug") == 0 && argc >= 5)
    {
      g_autoptr (GPtrArray) kv = g_ptr_array_new_with_free_func (g_free);
      for (int i = 5; i < argc; i++)
        {
          const char *eq = strchr (argv[i], '=');
          if (!eq)
            return usage ();
          g_ptr_array_add (kv, g_strndup (argv[i], (gsize) (eq - argv[i])));
          g_ptr_array_add (kv, g_strdup (eq + 1));
        }
      g_ptr_array_add (kv, NULL);
      ok = xd_sim_host_publish_device (host, (guint) domid, argv[3], argv[4],
                                       (const char *const *) kv->pdata, &error);
    }
  else
    return usage ();
  if (!ok)
    {
      g_printerr ("xd-sim-host-tool: %s\n", error->message);
      return 1;
    }
  return 0;
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
  if (argc >= 3)
    return change_host (argc, argv);
  return usage ();
}
