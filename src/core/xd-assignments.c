/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-assignments.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xd-error.h"
#include "xd-toolstack.h"
#include "xd-validate.h"

/*
 * File format, version 1. Line-oriented text; every line, the last included,
 * ends in '\n'. Line 1 is exactly the version line. After it, blank lines and
 * lines whose first non-blank character is '#' are ignored; every other line
 * is one assignment, words separated by spaces or tabs:
 *
 *   CLASS BACKEND:PORT VM [required] [KEY=VALUE]...
 *
 *   block sys-usb:sda1 work frontend-dev=xvdi read-only=yes
 *   usb sys-usb:2-1_3 vault required
 *
 * CLASS is a class name, PORT its stored form (no ':' in any class), VM and
 * BACKEND are VM names, the options those of xd_options_validate (). The
 * flag and the options may come in any order; each at most once. A device
 * may be assigned to several VMs, but to each VM once. The program writes
 * assignments sorted and options sorted; comments are not kept.
 */

#define FILE_NAME "assignments"
#define LOCK_NAME "assignments.lock"
/* Temporary files are named TEMP_PREFIX + 6 random characters. Only writers
 * holding the lock create them, so a writer may delete any it finds: they were
 * left by a writer that died. */
#define TEMP_PREFIX "assignments.tmp-"
#define VERSION_LINE "# xen-devices assignments v1"
#define VERSION_PREFIX "# xen-devices assignments "
#define DEFAULT_DIR "/var/lib/xen-devices"
#define FILE_MODE 0644
#define DIR_MODE 0755
/* A dom0 has at most a few hundred assignments, some 60 bytes each. */
#define FILE_MAX_BYTES (1024 * 1024)
/* Bad input is echoed in error messages; this much of it identifies it. */
#define QUOTE_MAX_CHARS 64

static const char file_header[]
  = VERSION_LINE "\n"
                 "# Persistent device assignments, written by xen-devices: when VM starts,\n"
                 "# the device is attached to it. One assignment a line:\n"
                 "#   CLASS BACKEND:PORT VM [required] [KEY=VALUE]...\n"
                 "# \"required\": VM must not run without the device. Comments are not kept.\n";

struct _XdAssignments
{
  GPtrArray *items; /* XdAssignment *, sorted */
};

/* Makes a word read from the file or typed by a person safe to put in a
 * message that may end up on a terminal. */
static char *
quote (const char *s)
{
  GString *out = g_string_new (NULL);

  for (guint n = 0; s[n]; n++)
    {
      guchar c = s[n];

      if (n == QUOTE_MAX_CHARS)
        {
          g_string_append (out, "…");
          break;
        }
      if (c >= 0x20 && c < 0x7f)
        g_string_append_c (out, c);
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
  return g_string_free (out, FALSE);
}

static void
assignment_free (XdAssignment *a)
{
  g_free (a->backend);
  g_free (a->port);
  g_free (a->vm);
  g_strfreev (a->options);
  g_free (a);
}

static int
compare_assignments (const XdAssignment *a, const XdAssignment *b)
{
  int c;

  if (a->klass != b->klass)
    return a->klass < b->klass ? -1 : 1;
  if ((c = strcmp (a->backend, b->backend)) != 0)
    return c;
  if ((c = strcmp (a->port, b->port)) != 0)
    return c;
  return strcmp (a->vm, b->vm);
}

static int
compare_assignment_ptrs (gconstpointer a, gconstpointer b)
{
  return compare_assignments (*(XdAssignment *const *) a, *(XdAssignment *const *) b);
}

static GPtrArray *
assignment_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) assignment_free);
}

/* Options ------------------------------------------------------------------ */

static gboolean
check_frontend_dev (const char *value)
{
  return xd_vbd_devid_from_name (value) >= 0;
}

static gboolean
check_yes_no (const char *value)
{
  return strcmp (value, "yes") == 0 || strcmp (value, "no") == 0;
}

static gboolean
check_devtype (const char *value)
{
  return strcmp (value, "disk") == 0 || strcmp (value, "cdrom") == 0;
}

typedef struct
{
  XdClassId klass;
  const char *key;
  const char *expected; /* for "KEY must be EXPECTED, not “VALUE”" */
  gboolean (*check) (const char *value);
} OptionSpec;

static const OptionSpec option_specs[] = {
  { XD_CLASS_BLOCK, "devtype", "disk or cdrom", check_devtype },
  { XD_CLASS_BLOCK, "frontend-dev", "a Xen disk name such as xvdi", check_frontend_dev },
  { XD_CLASS_BLOCK, "read-only", "yes or no", check_yes_no },
};

static const OptionSpec *
find_option_spec (XdClassId klass, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (option_specs); i++)
    if (option_specs[i].klass == klass && strcmp (option_specs[i].key, key) == 0)
      return &option_specs[i];
  return NULL;
}

/* Sorting "key=value" strings by key: keys are [a-z-], and '=' sorts before
 * both, so plain strcmp orders by key. */
static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

gboolean
xd_options_validate (XdClassId klass, const char *const *options, char ***normalised,
                     GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_return_val_if_fail ((guint) klass < XD_N_CLASSES, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (gsize i = 0; options && options[i]; i++)
    {
      const char *eq = strchr (options[i], '=');
      g_autofree char *key = eq ? g_strndup (options[i], eq - options[i]) : g_strdup (options[i]);
      const OptionSpec *spec = find_option_spec (klass, key);
      g_autofree char *qkey = quote (key);

      if (spec == NULL)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "unknown option “%s” for %s devices",
                       qkey, xd_class_id_to_string (klass));
          return FALSE;
        }
      if (eq == NULL)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "option %s needs a value: %s", spec->key,
                       spec->expected);
          return FALSE;
        }
      if (!spec->check (eq + 1))
        {
          g_autofree char *qvalue = quote (eq + 1);

          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "%s must be %s, not “%s”", spec->key,
                       spec->expected, qvalue);
          return FALSE;
        }
      if (!g_hash_table_add (seen, g_steal_pointer (&key)))
        {
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "option %s given twice", spec->key);
          return FALSE;
        }
      g_ptr_array_add (out, g_strdup (options[i]));
    }

  if (normalised)
    {
      g_ptr_array_sort (out, compare_strings);
      g_ptr_array_add (out, NULL);
      *normalised = (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
    }
  return TRUE;
}

/* Reading ------------------------------------------------------------------ */

const char *
xd_assignments_default_dir (void)
{
  const char *env = g_getenv ("XEN_DEVICES_STATE_DIR");

  return env && *env ? env : DEFAULT_DIR;
}

/* Checks the fields of one assignment, whoever it comes from. On success
 * returns a new copy with normalised options. */
static XdAssignment *
assignment_check (const XdAssignment *in, GError **error)
{
  g_autofree char *q = NULL;
  g_auto (GStrv) options = NULL;
  XdAssignment *a;

  if ((guint) in->klass >= XD_N_CLASSES)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "unknown device class %d", in->klass);
      return NULL;
    }
  if (!xd_validate_vm_name (in->backend))
    {
      q = quote (in->backend ? in->backend : "");
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "invalid backend VM name “%s”", q);
      return NULL;
    }
  if (!xd_validate_port (in->klass, in->port))
    {
      q = quote (in->port ? in->port : "");
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "invalid %s port “%s”",
                   xd_class_id_to_string (in->klass), q);
      return NULL;
    }
  if (!xd_validate_vm_name (in->vm))
    {
      q = quote (in->vm ? in->vm : "");
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "invalid VM name “%s”", q);
      return NULL;
    }
  if (!xd_options_validate (in->klass, (const char *const *) in->options, &options, error))
    return NULL;

  a = g_new0 (XdAssignment, 1);
  a->klass = in->klass;
  a->backend = g_strdup (in->backend);
  a->port = g_strdup (in->port);
  a->vm = g_strdup (in->vm);
  a->options = g_steal_pointer (&options);
  a->required = in->required;
  return a;
}

/* Parses one assignment line (NUL-terminated, no '\n'). Errors are reported
 * without the location; the caller adds it. */
static XdAssignment *
parse_line (const char *line, GError **error)
{
  g_auto (GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr (GPtrArray) options = g_ptr_array_new ();
  g_autofree char *backend = NULL;
  XdAssignment in = { 0 };
  const char *fields[3];
  gsize n_fields = 0;
  const char *colon;

  for (gsize i = 0; words[i]; i++)
    {
      const char *w = words[i];

      if (*w == '\0')
        continue;
      if (n_fields < G_N_ELEMENTS (fields))
        fields[n_fields++] = w;
      else if (strcmp (w, "required") == 0)
        {
          if (in.required)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "“required” given twice");
              return NULL;
            }
          in.required = TRUE;
        }
      else if (strchr (w, '='))
        g_ptr_array_add (options, (gpointer) w);
      else
        {
          g_autofree char *q = quote (w);

          g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "unknown word “%s”", q);
          return NULL;
        }
    }
  g_ptr_array_add (options, NULL);

  if (n_fields < G_N_ELEMENTS (fields))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT,
                   "expected CLASS BACKEND:PORT VM, found %" G_GSIZE_FORMAT " words", n_fields);
      return NULL;
    }
  if (!xd_class_id_from_string (fields[0], &in.klass))
    {
      g_autofree char *q = quote (fields[0]);

      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "unknown class “%s”", q);
      return NULL;
    }
  colon = strchr (fields[1], ':');
  if (colon == NULL)
    {
      g_autofree char *q = quote (fields[1]);

      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "device “%s” is not BACKEND:PORT", q);
      return NULL;
    }
  in.backend = backend = g_strndup (fields[1], colon - fields[1]);
  in.port = (char *) colon + 1;
  in.vm = (char *) fields[2];
  in.options = (char **) options->pdata;
  return assignment_check (&in, error);
}

/* Parses the whole file (@len bytes at @data) into sorted assignments. */
static GPtrArray *
parse_file (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) items = assignment_array_new ();
  gsize line_no = 0;
  const char *p = data;
  const char *end = data + len;

  if (memchr (data, '\0', len))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s: contains a NUL byte", path);
      return NULL;
    }
  if (len == 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s:1: empty file, expected “%s”", path,
                   VERSION_LINE);
      return NULL;
    }

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      g_autofree char *line = NULL;
      const char *s;
      GError *local = NULL;
      XdAssignment *a;

      line_no++;
      if (nl == NULL)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT,
                       "%s:%" G_GSIZE_FORMAT ": last line does not end in a newline (truncated?)",
                       path, line_no);
          return NULL;
        }
      line = g_strndup (p, nl - p);
      p = nl + 1;

      if (line_no == 1)
        {
          if (strcmp (line, VERSION_LINE) == 0)
            continue;
          if (g_str_has_prefix (line, VERSION_PREFIX))
            {
              g_autofree char *q = quote (line + strlen (VERSION_PREFIX));

              g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s:1: unsupported version “%s”",
                           path, q);
            }
          else
            g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s:1: expected “%s”", path,
                         VERSION_LINE);
          return NULL;
        }

      for (s = line; *s == ' ' || *s == '\t'; s++)
        ;
      if (*s == '\0' || *s == '#')
        continue;

      a = parse_line (line, &local);
      if (a == NULL)
        {
          /* Whatever the reason, a line that does not parse makes the file
           * corrupt; keep the message, change the code. */
          g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s:%" G_GSIZE_FORMAT ": %s", path,
                       line_no, local->message);
          g_error_free (local);
          return NULL;
        }
      g_ptr_array_add (items, a);
      for (guint i = 0; i + 1 < items->len; i++)
        if (compare_assignments (items->pdata[i], a) == 0)
          {
            g_autofree char *q = quote (a->vm);

            g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT,
                         "%s:%" G_GSIZE_FORMAT ": %s:%s is assigned to “%s” twice", path, line_no,
                         a->backend, a->port, q);
            return NULL;
          }
    }

  g_ptr_array_sort (items, compare_assignment_ptrs);
  return g_steal_pointer (&items);
}

/* FALSE, with an error naming @path, when @fd is not a regular file. */
static gboolean
check_regular (int fd, const char *path, GError **error)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot read %s: %s", path,
                   g_strerror (errsv));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s is not a regular file", path);
      return FALSE;
    }
  return TRUE;
}

/* Reads at most FILE_MAX_BYTES of @path. A missing file sets *@missing. */
static gboolean
read_file (const char *path, char **data, gsize *len, gboolean *missing, GError **error)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  int fd;
  int errsv;

  *missing = FALSE;
  /* Not through a link, and never waiting: a FIFO put there would block
   * every reader (the widget, the daemon, `list`) until someone wrote. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    {
      errsv = errno;
      if (errsv == ENOENT)
        {
          *missing = TRUE;
          *data = NULL;
          *len = 0;
          return TRUE;
        }
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot open %s: %s", path,
                   errsv == ELOOP ? "it is a symbolic link" : g_strerror (errsv));
      return FALSE;
    }
  if (!check_regular (fd, path, error))
    {
      close (fd);
      return FALSE;
    }

  for (;;)
    {
      guint8 chunk[8192];
      gssize n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          errsv = errno;
          close (fd);
          g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot read %s: %s", path,
                       g_strerror (errsv));
          return FALSE;
        }
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, n);
      if (buf->len > FILE_MAX_BYTES)
        {
          close (fd);
          g_set_error (error, XD_ERROR, XD_ERROR_CORRUPT, "%s: larger than %d bytes", path,
                       FILE_MAX_BYTES);
          return FALSE;
        }
    }
  close (fd);

  *len = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  *data = (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
  return TRUE;
}

/* Loads <dir>/assignments into a sorted array of assignments. */
static GPtrArray *
load_items (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, FILE_NAME, NULL);
  g_autofree char *data = NULL;
  gboolean missing;
  gsize len;

  if (!read_file (path, &data, &len, &missing, error))
    return NULL;
  if (missing)
    return assignment_array_new ();
  return parse_file (path, data, len, error);
}

XdAssignments *
xd_assignments_load (const char *dir, GError **error)
{
  XdAssignments *self;
  GPtrArray *items;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  items = load_items (dir, error);
  if (items == NULL)
    return NULL;
  self = g_new0 (XdAssignments, 1);
  self->items = items;
  return self;
}

void
xd_assignments_free (XdAssignments *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->items);
  g_free (self);
}

GPtrArray *
xd_assignments_get (XdAssignments *self)
{
  GPtrArray *out;

  g_return_val_if_fail (self != NULL, NULL);

  /* Not g_ptr_array_copy (): that would copy the free function too. */
  out = g_ptr_array_sized_new (self->items->len);
  for (guint i = 0; i < self->items->len; i++)
    g_ptr_array_add (out, self->items->pdata[i]);
  return out;
}

GPtrArray *
xd_assignments_for_vm (XdAssignments *self, const char *vm)
{
  GPtrArray *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (vm != NULL, NULL);

  out = g_ptr_array_new ();
  for (guint i = 0; i < self->items->len; i++)
    {
      XdAssignment *a = self->items->pdata[i];

      if (strcmp (a->vm, vm) == 0)
        g_ptr_array_add (out, a);
    }
  return out;
}

gboolean
xd_assignments_is_shared (XdAssignments *self, XdClassId klass, const char *backend,
                          const char *port)
{
  guint n = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (backend != NULL && port != NULL, FALSE);

  for (guint i = 0; i < self->items->len; i++)
    {
      XdAssignment *a = self->items->pdata[i];

      if (a->klass == klass && strcmp (a->backend, backend) == 0 && strcmp (a->port, port) == 0)
        n++;
    }
  return n > 1;
}

/* Writing ------------------------------------------------------------------ */

static char *
serialise (GPtrArray *items)
{
  GString *out = g_string_new (file_header);

  for (guint i = 0; i < items->len; i++)
    {
      XdAssignment *a = items->pdata[i];

      g_string_append_printf (out, "%s %s:%s %s", xd_class_id_to_string (a->klass), a->backend,
                              a->port, a->vm);
      if (a->required)
        g_string_append (out, " required");
      for (gsize j = 0; a->options[j]; j++)
        g_string_append_printf (out, " %s", a->options[j]);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static gboolean
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot %s %s: %s", what, path,
               g_strerror (errsv));
  return FALSE;
}

/* Removes temporary files left by writers that died; the caller holds the
 * lock, so none of them is being written. */
static void
remove_stale_temps (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_prefix (name, TEMP_PREFIX))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);

        if (g_unlink (path) < 0 && errno != ENOENT)
          g_warning ("Cannot remove %s: %s", path, g_strerror (errno));
      }
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int errsv;

  if (fd < 0)
    return set_errno_error (error, errno, "open", dir);
  if (fsync (fd) < 0)
    {
      errsv = errno;
      close (fd);
      return set_errno_error (error, errsv, "sync", dir);
    }
  close (fd);
  return TRUE;
}

/* Replaces <dir>/assignments with @items: the new content goes to a
 * temporary file that is made durable before it is renamed over the old one,
 * and the directory is synced so that the rename itself survives a crash.
 * Until the rename the old file is untouched; after it the new one is
 * complete. */
static gboolean
write_items (const char *dir, GPtrArray *items, GError **error)
{
  g_autofree char *path = g_build_filename (dir, FILE_NAME, NULL);
  g_autofree char *tmp = g_build_filename (dir, TEMP_PREFIX "XXXXXX", NULL);
  g_autofree char *data = serialise (items);
  int fd;
  int errsv;

  remove_stale_temps (dir);

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, FILE_MODE);
  if (fd < 0)
    return set_errno_error (error, errno, "create", tmp);
  /* The mode must not depend on the writer's umask: readers need 0644. */
  if (fchmod (fd, FILE_MODE) < 0 || !write_all (fd, data, strlen (data)) || fsync (fd) < 0)
    {
      errsv = errno;
      close (fd);
      g_unlink (tmp);
      return set_errno_error (error, errsv, "write", tmp);
    }
  if (close (fd) < 0)
    {
      errsv = errno;
      g_unlink (tmp);
      return set_errno_error (error, errsv, "write", tmp);
    }
  if (g_rename (tmp, path) < 0)
    {
      errsv = errno;
      g_unlink (tmp);
      return set_errno_error (error, errsv, "replace", path);
    }
  return fsync_dir (dir, error);
}

/* Creates the state directory if needed and takes the writers' lock. Returns
 * the locked descriptor (closing it releases the lock) or -1. */
static int
lock_dir (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, LOCK_NAME, NULL);
  gboolean existed = g_file_test (dir, G_FILE_TEST_IS_DIR);
  int fd;
  int errsv;

  if (g_mkdir_with_parents (dir, DIR_MODE) < 0)
    {
      set_errno_error (error, errno, "create", dir);
      return -1;
    }
  /* Readers that are not root need to get in, whatever the writer's umask. */
  if (!existed && g_chmod (dir, DIR_MODE) < 0)
    {
      set_errno_error (error, errno, "set the mode of", dir);
      return -1;
    }
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, FILE_MODE);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open", path);
      return -1;
    }
  if (!check_regular (fd, path, error))
    {
      close (fd);
      return -1;
    }
  while (flock (fd, LOCK_EX) < 0)
    {
      if (errno == EINTR)
        continue;
      errsv = errno;
      close (fd);
      set_errno_error (error, errsv, "lock", path);
      return -1;
    }
  return fd;
}

static void
unlock_dir (int fd)
{
  /* Closing the only descriptor of the open file releases the flock. */
  close (fd);
}

static gboolean
same_device (const XdAssignment *a, XdClassId klass, const char *backend, const char *port)
{
  return a->klass == klass && strcmp (a->backend, backend) == 0 && strcmp (a->port, port) == 0;
}

gboolean
xd_assignments_check_writable (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  g_autofree char *tmp = g_build_filename (dir, TEMP_PREFIX "XXXXXX", NULL);
  gboolean ok = FALSE;
  int lock, fd;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  lock = lock_dir (dir, error);
  if (lock < 0)
    return FALSE;
  items = load_items (dir, error);
  if (items)
    {
      /* What writing the file starts with: a new file beside it. */
      fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, FILE_MODE);
      if (fd < 0)
        set_errno_error (error, errno, "create a file in", dir);
      else
        {
          close (fd);
          g_unlink (tmp);
          ok = TRUE;
        }
    }
  unlock_dir (lock);
  return ok;
}

gboolean
xd_assignments_add (const char *dir, const XdAssignment *assignment, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  XdAssignment *a;
  gboolean ok = TRUE;
  int lock;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (assignment != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  a = assignment_check (assignment, error);
  if (a == NULL)
    return FALSE;

  lock = lock_dir (dir, error);
  if (lock < 0)
    {
      assignment_free (a);
      return FALSE;
    }

  items = load_items (dir, error);
  if (items == NULL)
    ok = FALSE;
  else
    {
      guint i;

      for (i = 0; i < items->len; i++)
        if (compare_assignments (items->pdata[i], a) == 0)
          break;
      if (i < items->len)
        {
          XdAssignment *old = items->pdata[i];

          /* Rewriting identical content would gain nothing. */
          if (old->required == a->required
              && g_strv_equal ((const char *const *) old->options,
                               (const char *const *) a->options))
            {
              assignment_free (a);
              a = NULL;
            }
          else
            g_ptr_array_remove_index (items, i);
        }
      if (a)
        {
          g_ptr_array_add (items, g_steal_pointer (&a));
          g_ptr_array_sort (items, compare_assignment_ptrs);
          ok = write_items (dir, items, error);
        }
    }

  if (a)
    assignment_free (a);
  unlock_dir (lock);
  return ok;
}

gboolean
xd_assignments_remove (const char *dir, XdClassId klass, const char *backend, const char *port,
                       const char *vm, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  guint removed = 0;
  gboolean ok = TRUE;
  int lock;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail ((guint) klass < XD_N_CLASSES, FALSE);
  g_return_val_if_fail ((backend == NULL) == (port == NULL), FALSE);
  g_return_val_if_fail (vm != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  lock = lock_dir (dir, error);
  if (lock < 0)
    return FALSE;

  items = load_items (dir, error);
  if (items == NULL)
    ok = FALSE;
  else
    {
      for (guint i = items->len; i-- > 0;)
        {
          XdAssignment *a = items->pdata[i];

          if (a->klass == klass && strcmp (a->vm, vm) == 0
              && (backend == NULL || same_device (a, klass, backend, port)))
            {
              g_ptr_array_remove_index (items, i);
              removed++;
            }
        }
      if (removed > 0)
        ok = write_items (dir, items, error);
      else if (backend != NULL)
        {
          g_autofree char *qb = quote (backend);
          g_autofree char *qp = quote (port);
          g_autofree char *qv = quote (vm);

          g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "%s device %s:%s is not assigned to %s",
                       xd_class_id_to_string (klass), qb, qp, qv);
          ok = FALSE;
        }
    }

  unlock_dir (lock);
  return ok;
}
