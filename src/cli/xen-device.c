/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-device: qvm-device's grammar over the xen-devices engine.
 *
 *   xen-device [CLASS] [ACTION] [ARGS...]
 *
 * Exit status: 0 success, 1 a refused or failed operation ("Error: ..."),
 * 2 a usage error ("error: ..." and the usage).
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-class-info.h"
#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "core/xd-validate.h"
#include "xen/xd-xs-store.h"

#define EXIT_USAGE 2

static const char usage_top[]
  = "usage: xen-device [--help] [--version] [CLASS] [ACTION] [ARGS...]\n";

static const char help_top[]
  = "Lists the devices of a Xen host and who holds them.\n"
    "\n"
    "Classes:\n"
    "  block   block devices (disks, partitions, optical drives)\n"
    "  mic     microphones\n"
    "  usb     USB devices\n"
    "  pci     PCI devices\n"
    "\n"
    "Actions:\n"
    "  list, ls, l [VM...]   list devices (the default action); without a class,\n"
    "                        every class\n"
    "\n"
    "Run 'xen-device CLASS --help' for the actions of a class.\n";

static const char help_list[]
  = "Lists the devices of the class: BACKEND:PORT, DESCRIPTION and USED BY (the\n"
    "VM holding the device, with its options). Naming VMs lists the devices they\n"
    "expose and the devices attached to them. The header is printed only on a\n"
    "terminal.\n";

static int usage_error (const char *klass, const char *action, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

/* Prints the usage of "xen-device KLASS ACTION", then the error. */
static int
usage_error (const char *klass, const char *action, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start (ap, fmt);
  message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "usage: xen-device %s %s [--help] [ARGS...]\n", klass ? klass : "[CLASS]",
           action ? action : "[ACTION]");
  fprintf (stderr, "xen-device: error: %s\n", message);
  return EXIT_USAGE;
}

static gboolean
is_help (const char *arg)
{
  return strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0;
}

/* Width of a string on a terminal, in columns. Descriptions are sanitised
 * UTF-8 without control characters. */
static gsize
display_width (const char *s)
{
  gsize width = 0;
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

typedef struct
{
  char *id;
  char *description;
  char *used_by;
} Row;

static void
row_free (Row *row)
{
  g_free (row->id);
  g_free (row->description);
  g_free (row->used_by);
  g_free (row);
}

static int
compare_rows (gconstpointer a, gconstpointer b)
{
  const Row *x = *(Row *const *) a;
  const Row *y = *(Row *const *) b;
  return strcmp (x->id, y->id);
}

static char *
format_used_by (XdEngine *engine, XdDevice *device)
{
  const XdClassInfo *info = xd_class_info_get (device->klass);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < device->attachments->len; i++)
    {
      XdAttachment *attachment = device->attachments->pdata[i];
      g_autoptr (GString) options = g_string_new (NULL);
      char buf[32];

      if (i > 0)
        g_string_append (out, ", ");
      g_string_append (out, xd_engine_vm_name (engine, attachment->frontend, buf));
      info->format_options (attachment, options);
      if (options->len)
        g_string_append_printf (out, " (%s)", options->str);
    }
  return g_string_free (out, FALSE);
}

static gboolean
device_matches (XdDevice *device, GHashTable *vms)
{
  if (!vms)
    return TRUE;
  if (g_hash_table_contains (vms, GUINT_TO_POINTER (device->backend)))
    return TRUE;
  for (guint i = 0; i < device->attachments->len; i++)
    {
      XdAttachment *attachment = device->attachments->pdata[i];
      if (g_hash_table_contains (vms, GUINT_TO_POINTER (attachment->frontend)))
        return TRUE;
    }
  return FALSE;
}

static void
print_table (GPtrArray *rows)
{
  static const char *const headers[] = { "BACKEND:DEVID", "DESCRIPTION", "USED BY" };
  gboolean header = isatty (STDOUT_FILENO);
  gsize width[2] = { header ? strlen (headers[0]) : 0, header ? strlen (headers[1]) : 0 };

  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];
      width[0] = MAX (width[0], display_width (row->id));
      width[1] = MAX (width[1], display_width (row->description));
    }
  if (header)
    printf ("%-*s  %-*s  %s\n", (int) width[0], headers[0], (int) width[1], headers[1], headers[2]);
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];
      g_autoptr (GString) line = g_string_new (row->id);

      g_string_append_printf (line, "%*s", (int) (width[0] - display_width (row->id) + 2), "");
      g_string_append (line, row->description);
      if (*row->used_by)
        {
          g_string_append_printf (line, "%*s",
                                  (int) (width[1] - display_width (row->description) + 2), "");
          g_string_append (line, row->used_by);
        }
      puts (line->str);
    }
}

static XdEngine *
open_engine (GError **error)
{
  g_autoptr (XdStore) store = xd_xs_store_new_plain (error);
  g_autoptr (XdEngine) engine = NULL;

  if (!store)
    return NULL;
  engine = xd_engine_new (g_steal_pointer (&store));
  if (!xd_engine_load (engine, FALSE, error))
    return NULL;
  return g_steal_pointer (&engine);
}

static int
report_failure (GError *error)
{
  fprintf (stderr, "Error: %s\n", error->message);
  return 1;
}

/* klass == XD_N_CLASSES: every class. */
static int
do_list (XdClassId klass, int argc, char **argv)
{
  const char *klass_name = klass == XD_N_CLASSES ? NULL : xd_class_id_to_string (klass);
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GHashTable) vms = NULL;
  g_autoptr (GPtrArray) devices = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);

  for (int i = 0; i < argc; i++)
    {
      if (is_help (argv[i]))
        {
          printf ("usage: xen-device %s list [--help] [VM...]\n",
                  klass_name ? klass_name : "[CLASS]");
          printf ("\n%s", help_list);
          return 0;
        }
      if (argv[i][0] == '-')
        return usage_error (klass_name, "list", "unknown option %s", argv[i]);
      if (!xd_validate_vm_name (argv[i]))
        return usage_error (klass_name, "list", "invalid VM name: %s", argv[i]);
    }

  engine = open_engine (&error);
  if (!engine)
    return report_failure (error);

  if (argc > 0)
    {
      vms = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (int i = 0; i < argc; i++)
        {
          XdVm *vm = xd_engine_lookup_vm_by_name (engine, argv[i]);
          if (!vm)
            return usage_error (klass_name, "list", "no such VM: %s", argv[i]);
          g_hash_table_add (vms, GUINT_TO_POINTER (vm->domid));
        }
    }

  devices = xd_engine_get_devices (engine, klass);
  for (guint i = 0; i < devices->len; i++)
    {
      XdDevice *device = devices->pdata[i];
      g_autofree char *port = NULL;
      char buf[32];
      Row *row;

      if (!device_matches (device, vms))
        continue;
      port = xd_port_to_display (device->klass, device->port);
      row = g_new0 (Row, 1);
      row->id = g_strdup_printf ("%s:%s", xd_engine_vm_name (engine, device->backend, buf), port);
      row->description = g_strdup (device->description);
      row->used_by = format_used_by (engine, device);
      g_ptr_array_add (rows, row);
    }
  /* Every class at once: keep the class order (block, mic, usb, pci) and
   * sort within each, as the engine already does. */
  if (klass != XD_N_CLASSES)
    g_ptr_array_sort (rows, compare_rows);
  print_table (rows);
  return 0;
}

static int
run_class (XdClassId klass, int argc, char **argv)
{
  const char *name = xd_class_id_to_string (klass);
  const char *action;

  if (argc == 0)
    return do_list (klass, 0, NULL);
  action = argv[0];
  if (is_help (action))
    {
      printf ("usage: xen-device %s [--help] [ACTION] [ARGS...]\n\n"
              "Actions:\n"
              "  list, ls, l [VM...]   list %s devices (the default)\n",
              name, name);
      return 0;
    }
  if (strcmp (action, "list") == 0 || strcmp (action, "ls") == 0 || strcmp (action, "l") == 0)
    return do_list (klass, argc - 1, argv + 1);
  if (action[0] == '-' || g_str_has_prefix (action, "--"))
    return do_list (klass, argc, argv);
  return usage_error (name, NULL, "unknown action: %s", action);
}

/* The engine's log lines (an entry skipped, the connection lost) go to
 * stderr as one plain line each; debug output only with G_MESSAGES_DEBUG. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;

  if ((level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) && !g_getenv ("G_MESSAGES_DEBUG"))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if (!message)
    return G_LOG_WRITER_UNHANDLED;
  fprintf (stderr, "xen-device: %s%s\n",
           (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) ? "warning: "
                                                                                      : "",
           message);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
  XdClassId klass;

  setlocale (LC_ALL, "");
  g_log_set_writer_func (log_writer, NULL, NULL);

  if (argc < 2)
    return do_list (XD_N_CLASSES, 0, NULL);
  if (is_help (argv[1]))
    {
      printf ("%s\n%s", usage_top, help_top);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("xen-device %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (strcmp (argv[1], "list") == 0 || strcmp (argv[1], "ls") == 0 || strcmp (argv[1], "l") == 0)
    return do_list (XD_N_CLASSES, argc - 2, argv + 2);
  if (!xd_class_id_from_string (argv[1], &klass))
    {
      fputs (usage_top, stderr);
      fprintf (stderr,
               "xen-device: error: unknown device class: %s (one of block, mic, usb, pci)\n",
               argv[1][0] == '-' ? argv[1] : argv[1]);
      return EXIT_USAGE;
    }
  return run_class (klass, argc - 2, argv + 2);
}
