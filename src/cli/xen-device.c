/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-device: qvm-device's grammar over the xen-devices engine.
 *
 *   xen-device [CLASS] [ACTION] [ARGS...]
 *   xen-device daemon
 *
 * Exit status: 0 success, 1 a refused or failed operation ("Error: ..."),
 * 2 a usage error ("error: ..." after the usage).
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xd-cli.h"
#include "xen/xd-toolstack-select.h"

static const char usage_top[]
  = "usage: xen-device [--help] [--version] [CLASS] [ACTION] [ARGS...]\n"
    "       xen-device daemon\n";

static const char help_top[]
  = "Lists, attaches and detaches the devices of a Xen host.\n"
    "\n"
    "Classes:\n"
    "  block   block devices (disks, partitions, optical drives)\n"
    "  mic     microphones\n"
    "  usb     USB devices\n"
    "  pci     PCI devices (persistent assignments only)\n"
    "\n"
    "Actions:\n"
    "  list, ls, l [VM...]                 list devices (the default); without a\n"
    "                                      class, every class\n"
    "  attach, at, a VM BACKEND:PORT ...   attach a device to a running VM\n"
    "  detach, dt, d VM [BACKEND:PORT]     detach one device, or all of the class\n"
    "\n"
    "  daemon                              apply persistent assignments as VMs start\n"
    "\n"
    "Run 'xen-device CLASS ACTION --help' for the options of an action.\n";

static gboolean
is_action (const char *arg, const char *name, const char *alias1, const char *alias2)
{
  return strcmp (arg, name) == 0 || strcmp (arg, alias1) == 0 || strcmp (arg, alias2) == 0;
}

static int
run_class (XdClassId klass, int argc, char **argv)
{
  const char *name = xd_class_id_to_string (klass);
  const char *action;

  if (argc == 0)
    return xd_cli_list (klass, 0, NULL);
  action = argv[0];
  if (xd_cli_is_help (action))
    {
      printf ("usage: xen-device %s [--help] [ACTION] [ARGS...]\n\n"
              "Actions:\n"
              "  list, ls, l [VM...]                 list %s devices (the default)\n"
              "  attach, at, a VM BACKEND:PORT ...   attach a device\n"
              "  detach, dt, d VM [BACKEND:PORT]     detach a device\n",
              name, name);
      return XD_EXIT_OK;
    }
  if (is_action (action, "list", "ls", "l"))
    return xd_cli_list (klass, argc - 1, argv + 1);
  if (is_action (action, "attach", "at", "a"))
    return xd_cli_attach (klass, argc - 1, argv + 1);
  if (is_action (action, "detach", "dt", "d"))
    return xd_cli_detach (klass, argc - 1, argv + 1);
  if (action[0] == '-')
    return xd_cli_list (klass, argc, argv);
  {
    g_autofree char *quoted = xd_quote_for_message (action);
    return xd_cli_usage_error (name, NULL, "unknown action “%s”", quoted);
  }
}

/* How many lines about a VM's entries (skipped, not believed) are shown
 * one by one; the rest are counted, and said in one line at exit: a hostile
 * backend must not flood every command's output (it may write a thousand
 * bad entries per class). G_MESSAGES_DEBUG shows them all. */
#define ENTRY_LINES_SHOWN 3

static guint entry_lines_held_back;

static void
say_held_back (void)
{
  if (entry_lines_held_back)
    fprintf (stderr,
             "xen-device: %u more entries from VMs were skipped or not believed "
             "(G_MESSAGES_DEBUG=all lists each)\n",
             entry_lines_held_back);
}

/* The engine's log lines (an entry skipped, the connection lost) go to
 * stderr as one plain line each; debug output only with G_MESSAGES_DEBUG. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  static guint entry_lines;
  const char *message = NULL;
  g_autofree char *safe = NULL;

  if ((level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) && !g_getenv ("G_MESSAGES_DEBUG"))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if (!message)
    return G_LOG_WRITER_UNHANDLED;
  if ((g_str_has_prefix (message, "skipping an entry from ")
       || g_str_has_prefix (message, "not believing "))
      && entry_lines++ >= ENTRY_LINES_SHOWN && !g_getenv ("G_MESSAGES_DEBUG"))
    {
      if (entry_lines_held_back++ == 0)
        atexit (say_held_back);
      return G_LOG_WRITER_HANDLED;
    }
  safe = xd_escape_for_terminal (message);
  fprintf (stderr, "xen-device: %s%s\n",
           (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) ? "warning: "
                                                                                      : "",
           safe);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
  XdClassId klass;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, XD_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  g_log_set_writer_func (log_writer, NULL, NULL);

  /* A setting that says something unknown is a mistake to tell about, not
   * to ignore. */
  {
    g_autoptr (GError) error = NULL;
    if (!xd_toolstack_check_setting (&error) || !xd_engine_check_timeout_setting (&error))
      {
        g_autofree char *safe = xd_escape_for_terminal (error->message);
        fprintf (stderr, "xen-device: error: %s\n", safe);
        return XD_EXIT_USAGE;
      }
  }

  if (argc < 2)
    return xd_cli_list (XD_N_CLASSES, 0, NULL);
  if (xd_cli_is_help (argv[1]))
    {
      printf ("%s\n%s", usage_top, help_top);
      return XD_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("xen-device %s (toolstack: %s)\n", PACKAGE_VERSION, xd_toolstack_choice ());
      return XD_EXIT_OK;
    }
  if (is_action (argv[1], "list", "ls", "l"))
    return xd_cli_list (XD_N_CLASSES, argc - 2, argv + 2);
  if (strcmp (argv[1], "daemon") == 0)
    return xd_cli_daemon (argc - 2, argv + 2);
  if (!xd_class_id_from_string (argv[1], &klass))
    {
      g_autofree char *quoted = xd_quote_for_message (argv[1]);

      fputs (usage_top, stderr);
      fprintf (stderr,
               "xen-device: error: unknown device class “%s” (one of block, mic, usb, pci)\n",
               quoted);
      return XD_EXIT_USAGE;
    }
  return run_class (klass, argc - 2, argv + 2);
}
