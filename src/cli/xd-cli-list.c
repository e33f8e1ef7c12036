/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xen-device CLASS list [VM...] */
#include "config.h"

#include "xd-cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-assignments.h"
#include "core/xd-class-info.h"
#include "core/xd-error.h"
#include "core/xd-validate.h"

static const char help_list[]
  = "Lists the devices of the class: BACKEND:PORT, DESCRIPTION and USED BY (the\n"
    "VM holding the device, with its options, and the VMs it is assigned to\n"
    "persistently). Naming VMs lists the devices they expose and the devices\n"
    "attached or assigned to them. The header is printed only on a terminal.\n";

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
  XdClassId klass;
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
  if (x->klass != y->klass)
    return x->klass < y->klass ? -1 : 1;
  return xd_natural_compare (x->id, y->id);
}

/* The assignments of one device, XdAssignment *, not owned. */
static GPtrArray *
assignments_of (GPtrArray *all, XdClassId klass, const char *backend, const char *port)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; all && i < all->len; i++)
    {
      XdAssignment *a = all->pdata[i];
      if (a->klass == klass && strcmp (a->backend, backend) == 0 && strcmp (a->port, port) == 0)
        g_ptr_array_add (out, a);
    }
  return out;
}

static XdAssignment *
assignment_for (GPtrArray *assignments, const char *vm)
{
  for (guint i = 0; i < assignments->len; i++)
    if (strcmp (((XdAssignment *) assignments->pdata[i])->vm, vm) == 0)
      return assignments->pdata[i];
  return NULL;
}

static void
append_assignment_options (GString *out, XdAssignment *assignment)
{
  g_string_append (out, "persistent");
  if (assignment->required)
    g_string_append (out, ", required");
  for (guint i = 0; assignment->options && assignment->options[i]; i++)
    g_string_append_printf (out, ", %s", assignment->options[i]);
}

/* "work (read-only=yes, frontend-dev=xvdi), vault (persistent)": the
 * holders with their options, then the VMs the device is assigned to. */
static char *
format_used_by (XdEngine *engine, XdDevice *device, GPtrArray *assignments)
{
  const XdClassInfo *info = xd_class_info_get (device->klass);
  GString *out = g_string_new (NULL);
  g_autoptr (GHashTable) shown = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < device->attachments->len; i++)
    {
      XdAttachment *attachment = device->attachments->pdata[i];
      g_autoptr (GString) options = g_string_new (NULL);
      char buf[32];
      const char *name = xd_engine_vm_name (engine, attachment->frontend, buf);
      XdAssignment *assignment = assignment_for (assignments, name);

      if (out->len)
        g_string_append (out, ", ");
      g_string_append (out, name);
      if (assignment)
        {
          /* The live options say how it is attached now; the assignment's
           * own options would repeat them. */
          g_string_append (options, assignment->required ? "persistent, required" : "persistent");
          g_hash_table_add (shown, assignment->vm);
        }
      if (options->len)
        {
          g_autoptr (GString) live = g_string_new (NULL);
          info->format_options (attachment, live);
          if (live->len)
            g_string_append_printf (options, ", %s", live->str);
        }
      else
        info->format_options (attachment, options);
      if (options->len)
        g_string_append_printf (out, " (%s)", options->str);
    }
  for (guint i = 0; i < assignments->len; i++)
    {
      XdAssignment *assignment = assignments->pdata[i];
      g_autoptr (GString) options = g_string_new (NULL);

      if (g_hash_table_contains (shown, assignment->vm))
        continue;
      if (out->len)
        g_string_append (out, ", ");
      append_assignment_options (options, assignment);
      g_string_append_printf (out, "%s (%s)", assignment->vm, options->str);
    }
  /* Only one of them may run at a time: say so where it is set up. */
  if (assignments->len > 1)
    g_string_append_printf (out, " [assigned to %u VMs]", assignments->len);
  return g_string_free (out, FALSE);
}

static gboolean
device_matches (XdDevice *device, GHashTable *vms, GPtrArray *assignments)
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

/* klass == XD_N_CLASSES: every class. */
int
xd_cli_list (XdClassId klass, int argc, char **argv)
{
  const char *klass_name = klass == XD_N_CLASSES ? NULL : xd_class_id_to_string (klass);
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GHashTable) vms = NULL;
  g_autoptr (GPtrArray) devices = NULL;
  g_autoptr (GPtrArray) unexposed = NULL;
  g_autoptr (GHashTable) unexposed_ids
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) assignments_error = NULL;
  g_autoptr (XdAssignments) assignments = NULL;
  g_autoptr (GPtrArray) all_assignments = NULL;
  g_auto (GStrv) vm_names = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);

  for (int i = 0; i < argc; i++)
    {
      if (xd_cli_is_help (argv[i]))
        {
          printf ("usage: xen-device %s list [--help] [VM...]\n",
                  klass_name ? klass_name : "[CLASS]");
          printf ("\n%s", help_list);
          return 0;
        }
      if (argv[i][0] == '-')
        return xd_cli_usage_error (klass_name, "list", "unknown option “%s”", argv[i]);
      if (!xd_validate_vm_name (argv[i]))
        {
          g_autofree char *quoted = xd_quote_for_message (argv[i]);
          return xd_cli_usage_error (klass_name, "list", "invalid VM name “%s”", quoted);
        }
    }

  engine = xd_cli_open_engine (FALSE, &error);
  if (!engine)
    return xd_cli_failure (error);

  if (argc > 0)
    {
      vm_names = g_new0 (char *, argc + 1);
      for (int i = 0; i < argc; i++)
        vm_names[i] = g_strdup (argv[i]);
      vms = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (int i = 0; i < argc; i++)
        {
          g_autoptr (GError) vm_error = NULL;
          XdVm *vm = xd_engine_find_vm (engine, argv[i], &vm_error);

          if (!vm && g_error_matches (vm_error, XD_ERROR, XD_ERROR_NOT_FOUND))
            return xd_cli_usage_error (klass_name, "list", "%s", vm_error->message);
          if (!vm)
            return xd_cli_failure (vm_error);
          g_hash_table_add (vms, GUINT_TO_POINTER (vm->domid));
        }
    }

  assignments = xd_assignments_load (xd_cli_state_dir (), &assignments_error);
  all_assignments = assignments ? xd_assignments_get (assignments) : NULL;

  devices = xd_engine_get_devices (engine, klass);
  for (guint i = 0; i < devices->len; i++)
    {
      XdDevice *device = devices->pdata[i];
      g_autofree char *port = NULL;
      g_autoptr (GPtrArray) mine = NULL;
      char buf[32];
      const char *backend = xd_engine_vm_name (engine, device->backend, buf);
      gboolean assigned_to_filter = FALSE;
      Row *row;

      mine = assignments_of (all_assignments, device->klass, backend, device->port);
      for (guint a = 0; vm_names && a < mine->len; a++)
        if (g_strv_contains ((const char *const *) vm_names, ((XdAssignment *) mine->pdata[a])->vm))
          assigned_to_filter = TRUE;
      if (!assigned_to_filter && !device_matches (device, vms, mine))
        continue;
      port = xd_port_to_display (device->klass, device->port);
      row = g_new0 (Row, 1);
      row->klass = device->klass;
      row->id = g_strdup_printf ("%s:%s", backend, port);
      if (xd_device_is_dom0_input (device))
        /* A VM holding dom0's keyboard or mouse controls the desktop. */
        row->description = g_strdup_printf ("%s [WARNING: dom0's %s]", device->description,
                                            xd_device_dom0_input_kind (device));
      else
        row->description = g_strdup (device->description);
      row->used_by = format_used_by (engine, device, mine);
      g_ptr_array_add (rows, row);
    }

  /* Devices a VM holds that their backend no longer exposes (unplugged while
   * attached): their holder is listed, never hidden. */
  unexposed = xd_engine_get_unexposed_held (engine, klass);
  for (guint i = 0; i < unexposed->len; i++)
    {
      XdDevice *device = unexposed->pdata[i];
      g_autofree char *port = xd_port_to_display (device->klass, device->port);
      g_autoptr (GPtrArray) mine = NULL;
      char buf[32];
      const char *backend = xd_engine_vm_name (engine, device->backend, buf);
      Row *row;

      g_hash_table_add (
        unexposed_ids,
        g_strdup_printf ("%s/%s:%s", xd_class_id_to_string (device->klass), backend, device->port));
      mine = assignments_of (all_assignments, device->klass, backend, device->port);
      if (!device_matches (device, vms, mine))
        continue;
      row = g_new0 (Row, 1);
      row->klass = device->klass;
      row->id = g_strdup_printf ("%s:%s", backend, port ? port : device->port);
      row->description = g_strdup ("(not exposed)");
      row->used_by = format_used_by (engine, device, mine);
      g_ptr_array_add (rows, row);
    }

  /* Assigned devices that are not there now (unplugged, or their backend
   * VM is not running) are listed too: the assignment is still in force. */
  for (guint i = 0; all_assignments && i < all_assignments->len; i++)
    {
      XdAssignment *a = all_assignments->pdata[i];
      XdVm *backend_vm = xd_engine_lookup_vm_by_name (engine, a->backend);
      g_autofree char *port = NULL;
      g_autoptr (GString) used_by = g_string_new (NULL);
      g_autoptr (GPtrArray) mine = NULL;
      Row *row;

      g_autofree char *held_id
        = g_strdup_printf ("%s/%s:%s", xd_class_id_to_string (a->klass), a->backend, a->port);

      if ((klass != XD_N_CLASSES && a->klass != klass)
          || (backend_vm && xd_engine_lookup_device (engine, a->klass, backend_vm->domid, a->port))
          || g_hash_table_contains (unexposed_ids, held_id)
          || (vm_names && !g_strv_contains ((const char *const *) vm_names, a->vm)
              && !g_strv_contains ((const char *const *) vm_names, a->backend)))
        continue;
      /* One row per device, whoever it is assigned to. */
      if (i > 0)
        {
          XdAssignment *prev = all_assignments->pdata[i - 1];
          if (prev->klass == a->klass && strcmp (prev->backend, a->backend) == 0
              && strcmp (prev->port, a->port) == 0)
            continue;
        }
      mine = assignments_of (all_assignments, a->klass, a->backend, a->port);
      for (guint m = 0; m < mine->len; m++)
        {
          XdAssignment *each = mine->pdata[m];
          g_autoptr (GString) options = g_string_new (NULL);
          append_assignment_options (options, each);
          g_string_append_printf (used_by, "%s%s (%s)", m ? ", " : "", each->vm, options->str);
        }
      if (mine->len > 1)
        g_string_append_printf (used_by, " [assigned to %u VMs]", mine->len);
      port = xd_port_to_display (a->klass, a->port);
      row = g_new0 (Row, 1);
      row->klass = a->klass;
      row->id = g_strdup_printf ("%s:%s", a->backend, port ? port : a->port);
      row->description = g_strdup ("(not available)");
      row->used_by = g_strdup (used_by->str);
      g_ptr_array_add (rows, row);
    }

  g_ptr_array_sort (rows, compare_rows);
  print_table (rows);
  if (!assignments)
    {
      /* Say what could not be shown, and do not pretend all is well. */
      fprintf (stderr, "Error: persistent assignments not shown: %s\n", assignments_error->message);
      return XD_EXIT_FAILED;
    }
  return XD_EXIT_OK;
}
