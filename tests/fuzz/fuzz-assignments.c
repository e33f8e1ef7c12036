/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the persistent assignments file, which a person or another
 * program may have edited (xd_assignments_load ()). The input is written as
 * <dir>/assignments; what loads is saved again, assignment by assignment,
 * into a fresh directory (xd_assignments_add (): the same atomic write the
 * CLI uses), reloaded, and compared: the same assignments, in the same
 * order, with the same options and flags. A file that does not load must
 * say why (XD_ERROR_CORRUPT or XD_ERROR_FAILED), never crash or hang.
 */
#include "config.h"

#include "fuzz-check.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xd-assignments.h"
#include "core/xd-error.h"

static char *first_dir, *second_dir;

static void
clear_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
}

static gboolean
same_assignment (const XdAssignment *a, const XdAssignment *b)
{
  return a->klass == b->klass && strcmp (a->backend, b->backend) == 0
         && strcmp (a->port, b->port) == 0 && strcmp (a->vm, b->vm) == 0
         && a->required == b->required
         && g_strv_equal ((const char *const *) (a->options ? a->options : (char *[]){ NULL }),
                          (const char *const *) (b->options ? b->options : (char *[]){ NULL }));
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdAssignments) loaded = NULL;
  g_autoptr (XdAssignments) reloaded = NULL;
  g_autoptr (GPtrArray) items = NULL, again = NULL;
  g_autofree char *file = NULL;

  if (!first_dir)
    {
      first_dir = g_dir_make_tmp ("xd-fuzz-assignments-XXXXXX", NULL);
      second_dir = g_dir_make_tmp ("xd-fuzz-assignments-XXXXXX", NULL);
      CHECK (first_dir && second_dir);
    }
  clear_dir (first_dir);
  clear_dir (second_dir);
  file = g_build_filename (first_dir, "assignments", NULL);
  CHECK (g_file_set_contents (file, (const char *) data, size, NULL));

  loaded = xd_assignments_load (first_dir, &error);
  if (!loaded)
    {
      CHECK (error != NULL);
      CHECK (g_error_matches (error, XD_ERROR, XD_ERROR_CORRUPT)
             || g_error_matches (error, XD_ERROR, XD_ERROR_FAILED));
      CHECK (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  items = xd_assignments_get (loaded);
  for (guint i = 0; i < items->len; i++)
    {
      g_autoptr (GError) add_error = NULL;
      CHECK (xd_assignments_add (second_dir, items->pdata[i], &add_error));
    }
  reloaded = xd_assignments_load (second_dir, &error);
  CHECK (reloaded != NULL);
  again = xd_assignments_get (reloaded);
  CHECK (again->len == items->len);
  for (guint i = 0; i < items->len; i++)
    CHECK (same_assignment (items->pdata[i], again->pdata[i]));
  return 0;
}
