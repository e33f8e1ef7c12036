/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/xd-assignments.h"
#include "core/xd-error.h"

#define HEADER "# xen-devices assignments v1\n"

typedef struct
{
  char *tmp;  /* removed with everything in it */
  char *dir;  /* the state directory, not created: writers must create it */
  char *path; /* dir/assignments */
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d)
    while ((name = g_dir_read_name (d)))
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        remove_tree (child);
      }
  g_assert_cmpint (g_remove (path), ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->tmp = g_dir_make_tmp ("xd-assignments-XXXXXX", &error);
  g_assert_no_error (error);
  f->dir = g_build_filename (f->tmp, "state", NULL);
  f->path = g_build_filename (f->dir, "assignments", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
  g_free (f->path);
}

static char *
read_bytes (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, &error));
  g_assert_no_error (error);
  return data;
}

static void
write_bytes (const char *dir, const char *path, const char *data, gssize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, data, len, &error));
  g_assert_no_error (error);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names in @dir, sorted and joined with spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
add_ok (const char *dir, XdClassId klass, const char *backend, const char *port, const char *vm,
        gboolean required, const char *const *options)
{
  g_autoptr (GError) error = NULL;
  XdAssignment a
    = { klass, (char *) backend, (char *) port, (char *) vm, (char **) options, required };

  g_assert_true (xd_assignments_add (dir, &a, &error));
  g_assert_no_error (error);
}

static XdAssignments *
load_ok (const char *dir)
{
  g_autoptr (GError) error = NULL;
  XdAssignments *self = xd_assignments_load (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (self);
  return self;
}

/* One line per assignment, in the order given, as the file spells it. */
static char *
describe (GPtrArray *items)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      XdAssignment *a = items->pdata[i];
      g_autofree char *options = NULL;

      g_assert_nonnull (a->options);
      options = g_strjoinv (",", a->options);
      g_string_append_printf (out, "%s %s:%s %s%s [%s]\n", xd_class_id_to_string (a->klass),
                              a->backend, a->port, a->vm, a->required ? " required" : "", options);
    }
  return g_string_free (out, FALSE);
}

static char *
describe_all (const char *dir)
{
  g_autoptr (XdAssignments) self = load_ok (dir);
  g_autoptr (GPtrArray) items = xd_assignments_get (self);

  return describe (items);
}

static void
test_default_dir (void)
{
  g_unsetenv ("XEN_DEVICES_STATE_DIR");
  g_assert_cmpstr (xd_assignments_default_dir (), ==, "/var/lib/xen-devices");
  g_setenv ("XEN_DEVICES_STATE_DIR", "", TRUE);
  g_assert_cmpstr (xd_assignments_default_dir (), ==, "/var/lib/xen-devices");
  g_setenv ("XEN_DEVICES_STATE_DIR", "/run/xd-test", TRUE);
  g_assert_cmpstr (xd_assignments_default_dir (), ==, "/run/xd-test");
  g_unsetenv ("XEN_DEVICES_STATE_DIR");
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (XdAssignments) self = load_ok (f->dir);
  g_autoptr (GPtrArray) items = xd_assignments_get (self);

  g_assert_cmpuint (items->len, ==, 0);
  /* Reading creates nothing: a reader may not be allowed to. */
  g_assert_false (g_file_test (f->dir, G_FILE_TEST_EXISTS));
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  const char *const block_options[] = { "read-only=yes", "frontend-dev=xvdi", NULL };
  g_autoptr (XdAssignments) self = NULL;
  g_autoptr (GPtrArray) items = NULL;
  g_autofree char *text = NULL;
  g_autofree char *bytes = NULL;
  g_autofree char *names = NULL;
  GStatBuf st;
  mode_t old_umask;

  /* A strict umask must not make the state unreadable for other users. */
  old_umask = umask (077);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", FALSE, block_options);
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1_3", "vault", TRUE, NULL);
  add_ok (f->dir, XD_CLASS_MIC, "dom0", "mic", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_PCI, "dom0", "00_1f_3", "sys-net", TRUE, NULL);
  umask (old_umask);

  self = load_ok (f->dir);
  items = xd_assignments_get (self);
  text = describe (items);
  g_assert_cmpstr (text, ==,
                   "block sys-usb:sda1 work [frontend-dev=xvdi,read-only=yes]\n"
                   "mic dom0:mic work []\n"
                   "usb sys-usb:2-1_3 vault required []\n"
                   "pci dom0:00_1f_3 sys-net required []\n");

  /* The format is documented and stable: check it to the byte. */
  bytes = read_bytes (f->path, NULL);
  g_assert_true (g_str_has_prefix (bytes, HEADER));
  g_assert_true (g_str_has_suffix (bytes,
                                   "\n"
                                   "block sys-usb:sda1 work frontend-dev=xvdi read-only=yes\n"
                                   "mic dom0:mic work\n"
                                   "usb sys-usb:2-1_3 vault required\n"
                                   "pci dom0:00_1f_3 sys-net required\n"));

  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0755);

  names = list_dir (f->dir);
  g_assert_cmpstr (names, ==, "assignments assignments.lock");
}

static void
test_hand_edited (Fixture *f, gconstpointer data)
{
  g_autofree char *text = NULL;

  /* What a person may write: comments, blank lines, tabs, words in any order. */
  write_bytes (f->dir, f->path,
               HEADER "\n"
                      "  # indented comment\n"
                      "\tblock   sys-usb:sda1\twork read-only=no required devtype=cdrom  \n"
                      "\n"
                      "usb sys-usb:2-1 work\n",
               -1);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block sys-usb:sda1 work required [devtype=cdrom,read-only=no]\n"
                   "usb sys-usb:2-1 work []\n");
}

static void
test_sorting (Fixture *f, gconstpointer data)
{
  g_autoptr (XdAssignments) self = NULL;
  g_autoptr (GPtrArray) work = NULL;
  g_autoptr (GPtrArray) none = NULL;
  g_autofree char *text = NULL;
  g_autofree char *work_text = NULL;

  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "b", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "1-1", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sdb", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "a", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "dom0", "sdb", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_MIC, "dom0", "mic", "a", FALSE, NULL);

  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block dom0:sdb work []\n"
                   "block sys-usb:sda work []\n"
                   "block sys-usb:sdb work []\n"
                   "mic dom0:mic a []\n"
                   "usb sys-usb:1-1 work []\n"
                   "usb sys-usb:2-1 a []\n"
                   "usb sys-usb:2-1 b []\n");

  self = load_ok (f->dir);
  work = xd_assignments_for_vm (self, "work");
  work_text = describe (work);
  g_assert_cmpstr (work_text, ==,
                   "block dom0:sdb work []\n"
                   "block sys-usb:sda work []\n"
                   "block sys-usb:sdb work []\n"
                   "usb sys-usb:1-1 work []\n");
  none = xd_assignments_for_vm (self, "nobody");
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_shared (Fixture *f, gconstpointer data)
{
  g_autoptr (XdAssignments) self = NULL;

  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "personal", TRUE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda2", "work", FALSE, NULL);
  /* Same port name, another class or another backend: another device. */
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "dom0", "sda2", "personal", FALSE, NULL);

  self = load_ok (f->dir);
  g_assert_true (xd_assignments_is_shared (self, XD_CLASS_BLOCK, "sys-usb", "sda1"));
  g_assert_false (xd_assignments_is_shared (self, XD_CLASS_BLOCK, "sys-usb", "sda2"));
  g_assert_false (xd_assignments_is_shared (self, XD_CLASS_BLOCK, "dom0", "sda2"));
  g_assert_false (xd_assignments_is_shared (self, XD_CLASS_USB, "sys-usb", "2-1"));
  g_assert_false (xd_assignments_is_shared (self, XD_CLASS_USB, "sys-usb", "sda1"));
  g_assert_false (xd_assignments_is_shared (self, XD_CLASS_BLOCK, "sys-usb", "sdz"));
}

static void
test_replace (Fixture *f, gconstpointer data)
{
  const char *const ro[] = { "read-only=yes", NULL };
  const char *const rw_dev[] = { "read-only=no", "frontend-dev=xvdj", NULL };
  g_autofree char *text = NULL;
  GStatBuf before, after;

  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", FALSE, ro);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "other", FALSE, ro);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", TRUE, rw_dev);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block sys-usb:sda1 other [read-only=yes]\n"
                   "block sys-usb:sda1 work required [frontend-dev=xvdj,read-only=no]\n");

  /* Adding what is already there leaves the file alone: no new inode. */
  g_assert_cmpint (g_stat (f->path, &before), ==, 0);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", TRUE,
          (const char *const[]){ "frontend-dev=xvdj", "read-only=no", NULL });
  g_assert_cmpint (g_stat (f->path, &after), ==, 0);
  g_assert_cmpuint (before.st_ino, ==, after.st_ino);

  /* Dropping options and the flag is a change too. */
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", FALSE, NULL);
  g_clear_pointer (&text, g_free);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block sys-usb:sda1 other [read-only=yes]\n"
                   "block sys-usb:sda1 work []\n");
}

static void
test_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "other", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda2", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_BLOCK, "dom0", "sdb", "work", FALSE, NULL);
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "work", FALSE, NULL);

  g_assert_true (xd_assignments_remove (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", &error));
  g_assert_no_error (error);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block dom0:sdb work []\n"
                   "block sys-usb:sda1 other []\n"
                   "block sys-usb:sda2 work []\n"
                   "usb sys-usb:2-1 work []\n");

  /* Removing it again: not found, nothing changes. */
  g_assert_false (
    xd_assignments_remove (f->dir, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "block device sys-usb:sda1 is not assigned to work");
  g_clear_error (&error);
  g_assert_false (xd_assignments_remove (f->dir, XD_CLASS_USB, "sys-usb", "sda2", "work", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* All of work's block assignments; its usb one and other's stay. */
  g_assert_true (xd_assignments_remove (f->dir, XD_CLASS_BLOCK, NULL, NULL, "work", &error));
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==,
                   "block sys-usb:sda1 other []\n"
                   "usb sys-usb:2-1 work []\n");

  /* None left to remove is not an error. */
  g_assert_true (xd_assignments_remove (f->dir, XD_CLASS_BLOCK, NULL, NULL, "work", &error));
  g_assert_no_error (error);
  g_assert_true (xd_assignments_remove (f->dir, XD_CLASS_PCI, NULL, NULL, "nobody", &error));
  g_assert_no_error (error);
}

static void
test_add_invalid (Fixture *f, gconstpointer data)
{
  static const struct
  {
    XdClassId klass;
    const char *backend;
    const char *port;
    const char *vm;
    const char *option;
    const char *message;
  } cases[] = {
    { XD_CLASS_BLOCK, "sys-usb", "sda1", "-work", NULL, "invalid VM name “-work”" },
    { XD_CLASS_BLOCK, "sys-usb", "sda1", NULL, NULL, "invalid VM name “”" },
    { XD_CLASS_BLOCK, "sys usb", "sda1", "work", NULL, "invalid backend VM name “sys usb”" },
    { XD_CLASS_BLOCK, "sys-usb", "../x", "work", NULL, "invalid block port “../x”" },
    { XD_CLASS_USB, "sys-usb", "2-1.3", "work", NULL, "invalid usb port “2-1.3”" },
    { XD_CLASS_BLOCK, "sys-usb", "sda1", "work\n", NULL, "invalid VM name “work\\x0a”" },
    { XD_CLASS_BLOCK, "sys-usb", "sda1", "work", "ro", "unknown option “ro” for block devices" },
    { XD_CLASS_USB, "sys-usb", "2-1", "work", "read-only=yes",
      "unknown option “read-only” for usb devices" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      const char *options[] = { cases[i].option, NULL };
      XdAssignment a = { cases[i].klass,       (char *) cases[i].backend, (char *) cases[i].port,
                         (char *) cases[i].vm, (char **) options,         FALSE };

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, cases[i].message);
      g_assert_false (xd_assignments_add (f->dir, &a, &error));
      g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
    }
}

typedef struct
{
  XdClassId klass;
  const char *options[4];
  const char *normalised; /* joined with ",", or NULL when rejected */
  const char *message;
} OptionCase;

static void
test_options (void)
{
  static const OptionCase cases[] = {
    { XD_CLASS_BLOCK, { NULL }, "", NULL },
    { XD_CLASS_BLOCK, { "read-only=yes" }, "read-only=yes", NULL },
    { XD_CLASS_BLOCK, { "read-only=no" }, "read-only=no", NULL },
    { XD_CLASS_BLOCK,
      { "read-only=no", "frontend-dev=xvdi", "devtype=cdrom" },
      "devtype=cdrom,frontend-dev=xvdi,read-only=no",
      NULL },
    { XD_CLASS_BLOCK, { "devtype=disk" }, "devtype=disk", NULL },
    { XD_CLASS_BLOCK, { "frontend-dev=xvda" }, "frontend-dev=xvda", NULL },
    { XD_CLASS_BLOCK, { "frontend-dev=xvdzz" }, "frontend-dev=xvdzz", NULL },
    { XD_CLASS_BLOCK, { "ro" }, NULL, "unknown option “ro” for block devices" },
    { XD_CLASS_BLOCK, { "ro=yes" }, NULL, "unknown option “ro” for block devices" },
    { XD_CLASS_BLOCK, { "foo=bar" }, NULL, "unknown option “foo” for block devices" },
    { XD_CLASS_BLOCK, { "=yes" }, NULL, "unknown option “” for block devices" },
    { XD_CLASS_BLOCK, { "Read-Only=yes" }, NULL, "unknown option “Read-Only” for block devices" },
    { XD_CLASS_BLOCK, { "read-only" }, NULL, "option read-only needs a value: yes or no" },
    { XD_CLASS_BLOCK, { "read-only=maybe" }, NULL, "read-only must be yes or no, not “maybe”" },
    { XD_CLASS_BLOCK, { "read-only=" }, NULL, "read-only must be yes or no, not “”" },
    { XD_CLASS_BLOCK, { "read-only=Yes" }, NULL, "read-only must be yes or no, not “Yes”" },
    { XD_CLASS_BLOCK, { "read-only=1" }, NULL, "read-only must be yes or no, not “1”" },
    { XD_CLASS_BLOCK, { "read-only=yes " }, NULL, "read-only must be yes or no, not “yes ”" },
    { XD_CLASS_BLOCK,
      { "read-only=\x1b[31m" },
      NULL,
      "read-only must be yes or no, not “\\x1b[31m”" },
    { XD_CLASS_BLOCK, { "read-only=yes", "read-only=yes" }, NULL, "option read-only given twice" },
    { XD_CLASS_BLOCK,
      { "read-only=yes", "devtype=disk", "read-only=no" },
      NULL,
      "option read-only given twice" },
    { XD_CLASS_BLOCK, { "devtype=CDROM" }, NULL, "devtype must be disk or cdrom, not “CDROM”" },
    { XD_CLASS_BLOCK, { "devtype=cd" }, NULL, "devtype must be disk or cdrom, not “cd”" },
    { XD_CLASS_BLOCK,
      { "frontend-dev=sda" },
      NULL,
      "frontend-dev must be a Xen disk name such as xvdi, not “sda”" },
    { XD_CLASS_BLOCK,
      { "frontend-dev=xvdaaa" },
      NULL,
      "frontend-dev must be a Xen disk name such as xvdi, not “xvdaaa”" },
    { XD_CLASS_BLOCK,
      { "frontend-dev=XVDI" },
      NULL,
      "frontend-dev must be a Xen disk name such as xvdi, not “XVDI”" },
    { XD_CLASS_BLOCK,
      { "frontend-dev=/dev/xvdi" },
      NULL,
      "frontend-dev must be a Xen disk name such as xvdi, not “/dev/xvdi”" },
    { XD_CLASS_MIC, { NULL }, "", NULL },
    { XD_CLASS_MIC, { "read-only=yes" }, NULL, "unknown option “read-only” for mic devices" },
    { XD_CLASS_USB, { NULL }, "", NULL },
    { XD_CLASS_USB,
      { "frontend-dev=xvdi" },
      NULL,
      "unknown option “frontend-dev” for usb devices" },
    { XD_CLASS_PCI, { NULL }, "", NULL },
    { XD_CLASS_PCI, { "permissive=yes" }, NULL, "unknown option “permissive” for pci devices" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) normalised = NULL;
      gboolean ok;

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i,
                      cases[i].normalised ? cases[i].normalised : cases[i].message);
      ok = xd_options_validate (cases[i].klass, cases[i].options, &normalised, &error);
      if (cases[i].normalised)
        {
          g_autofree char *joined = NULL;

          g_assert_no_error (error);
          g_assert_true (ok);
          joined = g_strjoinv (",", normalised);
          g_assert_cmpstr (joined, ==, cases[i].normalised);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
          g_assert_cmpstr (error->message, ==, cases[i].message);
          g_assert_null (normalised);
        }
      /* The verdict alone. */
      g_assert_cmpint (xd_options_validate (cases[i].klass, cases[i].options, NULL, NULL), ==,
                       cases[i].normalised != NULL);
    }

  /* No options at all, as NULL. */
  {
    g_auto (GStrv) normalised = NULL;

    g_assert_true (xd_options_validate (XD_CLASS_BLOCK, NULL, &normalised, NULL));
    g_assert_nonnull (normalised);
    g_assert_null (normalised[0]);
  }
}

typedef struct
{
  const char *content;
  gssize len; /* -1: NUL-terminated */
  guint line; /* 0: the message names no line */
  const char *message;
} CorruptCase;

static void
check_refused (Fixture *f, const char *expected, const char *bytes, gsize len)
{
  XdAssignment valid = { XD_CLASS_USB, "sys-usb", "9-9", "work", NULL, FALSE };
  g_autoptr (GError) error = NULL;
  g_autoptr (XdAssignments) self = NULL;
  g_autofree char *after = NULL;
  g_autofree char *names = NULL;
  gsize after_len;

  self = xd_assignments_load (f->dir, &error);
  g_assert_null (self);
  g_assert_error (error, XD_ERROR, XD_ERROR_CORRUPT);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_false (xd_assignments_add (f->dir, &valid, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_CORRUPT);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_false (xd_assignments_remove (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "work", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_false (xd_assignments_remove (f->dir, XD_CLASS_USB, NULL, NULL, "work", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_CORRUPT);
  g_clear_error (&error);

  after = read_bytes (f->path, &after_len);
  g_assert_cmpmem (after, after_len, bytes, len);
  names = list_dir (f->dir);
  g_assert_cmpstr (names, ==, "assignments assignments.lock");
}

static void
test_corrupt (Fixture *f, gconstpointer data)
{
  static const CorruptCase cases[] = {
    { "", -1, 1, "empty file, expected “# xen-devices assignments v1”" },
    { "block sys-usb:sda1 work\n", -1, 1, "expected “# xen-devices assignments v1”" },
    { "# xen-devices assignments v2\n", -1, 1, "unsupported version “v2”" },
    { "\n" HEADER, -1, 1, "expected “# xen-devices assignments v1”" },
    { HEADER "block sys-usb:sda1 work\n"
             "disk sys-usb:sda2 work\n",
      -1, 3, "unknown class “disk”" },
    { HEADER "block sys-usb:sda1\n", -1, 2, "expected CLASS BACKEND:PORT VM, found 2 words" },
    { HEADER "block sys-usb work\n", -1, 2, "device “sys-usb” is not BACKEND:PORT" },
    { HEADER "block 1bad:sda1 work\n", -1, 2, "invalid backend VM name “1bad”" },
    { HEADER "block :sda1 work\n", -1, 2, "invalid backend VM name “”" },
    { HEADER "block sys-usb:SDA1 work\n", -1, 2, "invalid block port “SDA1”" },
    { HEADER "block sys-usb: work\n", -1, 2, "invalid block port “”" },
    { HEADER "usb sys-usb:2-1.3 work\n", -1, 2, "invalid usb port “2-1.3”" },
    { HEADER "pci dom0:00:1f.3 work\n", -1, 2, "invalid pci port “00:1f.3”" },
    { HEADER "block sys-usb:sda1 -work\n", -1, 2, "invalid VM name “-work”" },
    { HEADER "usb sys-usb:2-1 wo\x1brk\n", -1, 2, "invalid VM name “wo\\x1brk”" },
    { HEADER "usb sys-usb:2-1 work\r\n", -1, 2, "invalid VM name “work\\x0d”" },
    { HEADER "usb sys-usb:2-1 w\xc3\xa9rk\n", -1, 2, "invalid VM name “w\\xc3\\xa9rk”" },
    { HEADER "block sys-usb:sda1 work ro=1\n", -1, 2, "unknown option “ro” for block devices" },
    { HEADER "mic dom0:mic work read-only=yes\n", -1, 2,
      "unknown option “read-only” for mic devices" },
    { HEADER "block sys-usb:sda1 work read-only=maybe\n", -1, 2,
      "read-only must be yes or no, not “maybe”" },
    { HEADER "block sys-usb:sda1 work read-only=yes read-only=no\n", -1, 2,
      "option read-only given twice" },
    { HEADER "usb sys-usb:2-1 work sometimes\n", -1, 2, "unknown word “sometimes”" },
    { HEADER "usb sys-usb:2-1 work required required\n", -1, 2, "“required” given twice" },
    { HEADER "usb sys-usb:2-1 work\n"
             "# comment\n"
             "usb sys-usb:2-1 work required\n",
      -1, 4, "sys-usb:2-1 is assigned to “work” twice" },
    { HEADER "usb sys-usb:2-1 work", -1, 2, "last line does not end in a newline (truncated?)" },
    { HEADER "usb sys-usb:2-1 wo", -1, 2, "last line does not end in a newline (truncated?)" },
    { HEADER "usb sys-usb:2-1 w\0rk\n", sizeof (HEADER "usb sys-usb:2-1 w\0rk\n") - 1, 0,
      "contains a NUL byte" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = cases[i].len < 0 ? strlen (cases[i].content) : (gsize) cases[i].len;
      g_autofree char *expected = NULL;

      if (cases[i].line)
        expected = g_strdup_printf ("%s:%u: %s", f->path, cases[i].line, cases[i].message);
      else
        expected = g_strdup_printf ("%s: %s", f->path, cases[i].message);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, expected);

      write_bytes (f->dir, f->path, cases[i].content, len);
      check_refused (f, expected, cases[i].content, len);
    }
}

static void
test_corrupt_too_large (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) content = g_string_new (HEADER);
  g_autofree char *expected = NULL;

  while (content->len <= 1024 * 1024)
    g_string_append (content, "# a comment that makes the file larger than it may be\n");
  write_bytes (f->dir, f->path, content->str, content->len);
  expected = g_strdup_printf ("%s: larger than 1048576 bytes", f->path);
  check_refused (f, expected, content->str, content->len);
}

static void
test_stale_temp (Fixture *f, gconstpointer data)
{
  g_autofree char *stale = g_build_filename (f->dir, "assignments.tmp-AbC123", NULL);
  g_autofree char *text = NULL;
  g_autofree char *names = NULL;

  /* A writer died after writing its temporary file but before the rename:
   * readers never look at it, and the next writer removes it. */
  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-1", "work", FALSE, NULL);
  write_bytes (f->dir, stale, HEADER "usb sys-usb:2-2 wor", -1);
  text = describe_all (f->dir);
  g_assert_cmpstr (text, ==, "usb sys-usb:2-1 work []\n");

  add_ok (f->dir, XD_CLASS_USB, "sys-usb", "2-3", "work", FALSE, NULL);
  names = list_dir (f->dir);
  g_assert_cmpstr (names, ==, "assignments assignments.lock");
}

/* Concurrent writers ------------------------------------------------------- */

#define N_WRITERS 8
#define N_PER_WRITER 50

static void
writer_child (const char *dir, int start_fd, guint writer)
{
  char c;

  /* Wait until the parent has started every writer and lets them go. */
  if (read (start_fd, &c, 1) < 0)
    _exit (3);
  for (guint j = 0; j < N_PER_WRITER; j++)
    {
      g_autofree char *port = g_strdup_printf ("%u-%u", writer + 1, j + 1);
      g_autofree char *vm = g_strdup_printf ("vm%u", j % 3);
      XdAssignment a = { XD_CLASS_USB, "sys-usb", port, vm, NULL, j % 2 == 0 };
      GError *error = NULL;

      if (!xd_assignments_add (dir, &a, &error))
        {
          g_printerr ("writer %u: %s\n", writer, error->message);
          _exit (1);
        }
    }
  _exit (0);
}

static void
test_concurrent (Fixture *f, gconstpointer data)
{
  g_autoptr (XdAssignments) self = NULL;
  g_autoptr (GPtrArray) items = NULL;
  g_autofree char *names = NULL;
  pid_t pids[N_WRITERS];
  int start[2];

  g_assert_cmpint (pipe (start), ==, 0);
  for (guint w = 0; w < N_WRITERS; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          close (start[1]);
          writer_child (f->dir, start[0], w);
        }
    }
  /* Closing the write end wakes every writer at once. */
  close (start[0]);
  close (start[1]);

  for (guint w = 0; w < N_WRITERS; w++)
    {
      int status;

      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  self = load_ok (f->dir);
  items = xd_assignments_get (self);
  g_assert_cmpuint (items->len, ==, N_WRITERS * N_PER_WRITER);
  for (guint w = 0; w < N_WRITERS; w++)
    for (guint j = 0; j < N_PER_WRITER; j++)
      {
        g_autofree char *port = g_strdup_printf ("%u-%u", w + 1, j + 1);
        g_autofree char *vm = g_strdup_printf ("vm%u", j % 3);
        gboolean found = FALSE;

        for (guint i = 0; i < items->len && !found; i++)
          {
            XdAssignment *a = items->pdata[i];

            found = strcmp (a->port, port) == 0 && strcmp (a->vm, vm) == 0
                    && a->required == (j % 2 == 0);
          }
        g_assert_true (found);
      }
  names = list_dir (f->dir);
  g_assert_cmpstr (names, ==, "assignments assignments.lock");
}

/* Crash safety ------------------------------------------------------------- */

#define CRASH_ROUNDS 200
#define CRASH_SEED 20240611

static char *
crash_port (guint k)
{
  return g_strdup_printf ("d%u", k);
}

/* Adds d<start>, d<start+1>, ... until killed. */
static void
crash_child (const char *dir, guint start, int ready_fd)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (write (ready_fd, "x", 1) != 1)
    _exit (3);
  for (guint k = start; k < start + 100000; k++)
    {
      g_autofree char *port = crash_port (k);
      XdAssignment a = { XD_CLASS_BLOCK, "sys-usb", port, "work", NULL, FALSE };
      GError *error = NULL;

      if (!xd_assignments_add (dir, &a, &error))
        {
          g_printerr ("crash child: %s\n", error->message);
          _exit (1);
        }
    }
  _exit (0);
}

/* The exact bytes of the file holding d0..d<n-1>, made by the same code in a
 * directory no one kills writers in. */
static GBytes *
reference_version (const char *ref_dir, GPtrArray *versions, guint n)
{
  while (versions->len <= n)
    {
      g_autofree char *path = g_build_filename (ref_dir, "assignments", NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (versions->len > 0)
        {
          g_autofree char *port = crash_port (versions->len - 1);

          add_ok (ref_dir, XD_CLASS_BLOCK, "sys-usb", port, "work", FALSE, NULL);
          data = read_bytes (path, &len);
        }
      g_ptr_array_add (versions, g_bytes_new_take (g_steal_pointer (&data), len));
    }
  return versions->pdata[n];
}

static void
test_crash (Fixture *f, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (CRASH_SEED);
  g_autoptr (GPtrArray) versions = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree char *ref_dir = g_build_filename (f->tmp, "reference", NULL);
  guint committed = 0; /* assignments in the file after the last round */
  guint mid_write = 0; /* rounds killed between creating and renaming a temp */
  gint64 write_us;

  /* How long one write takes here (fsync on a disk takes milliseconds, on
   * tmpfs nothing): the kills must land before, in and after writes. Time a
   * few in the reference directory, which builds the versions anyway. */
  write_us = g_get_monotonic_time ();
  reference_version (ref_dir, versions, 5);
  write_us = (g_get_monotonic_time () - write_us) / 5;
  g_test_message ("one write takes %" G_GINT64_FORMAT " µs", write_us);

  for (guint round = 0; round < CRASH_ROUNDS; round++)
    {
      g_autoptr (XdAssignments) self = NULL;
      g_autoptr (GPtrArray) items = NULL;
      g_autoptr (GHashTable) ports = NULL;
      g_autofree char *bytes = NULL;
      g_autoptr (GDir) d = NULL;
      const char *name;
      gsize len = 0;
      guint n;
      int ready[2];
      int status;
      char c;
      pid_t pid;

      g_assert_cmpint (pipe (ready), ==, 0);
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          close (ready[0]);
          crash_child (f->dir, committed, ready[1]);
        }
      close (ready[1]);
      g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
      close (ready[0]);
      g_usleep (g_rand_int_range (rand, 20, MAX (write_us * 6, 1000)));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));

      /* The file parses and holds d0..d<n-1>: nothing committed was lost. */
      self = load_ok (f->dir);
      items = xd_assignments_get (self);
      n = items->len;
      g_assert_cmpuint (n, >=, committed);
      ports = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < n; i++)
        g_hash_table_add (ports, ((XdAssignment *) items->pdata[i])->port);
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *port = crash_port (i);

          g_assert_true (g_hash_table_contains (ports, port));
        }
      if (g_file_test (f->path, G_FILE_TEST_EXISTS))
        {
          GBytes *expected = reference_version (ref_dir, versions, n);

          /* Byte for byte one complete version: a partly written file, even
           * one that happens to parse, fails here. */
          bytes = read_bytes (f->path, &len);
          g_assert_cmpmem (bytes, len, g_bytes_get_data (expected, NULL),
                           g_bytes_get_size (expected));
        }

      /* Only the file, the lock and perhaps one dead writer's temp file. */
      d = g_dir_open (f->dir, 0, NULL);
      while (d && (name = g_dir_read_name (d)))
        {
          if (g_str_has_prefix (name, "assignments.tmp-"))
            mid_write++;
          else if (strcmp (name, "assignments") != 0 && strcmp (name, "assignments.lock") != 0)
            g_error ("unexpected file %s", name);
        }
      committed = n;
    }

  g_test_message ("%u assignments committed in %u rounds; %u rounds killed mid-write", committed,
                  CRASH_ROUNDS, mid_write);
  g_assert_cmpuint (committed, >, 0);

  /* The next write clears what dead writers left. */
  {
    g_autofree char *port = crash_port (committed);
    g_autofree char *names = NULL;

    add_ok (f->dir, XD_CLASS_BLOCK, "sys-usb", port, "work", FALSE, NULL);
    names = list_dir (f->dir);
    g_assert_cmpstr (names, ==, "assignments assignments.lock");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/xd/assignments/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  g_test_add_func ("/xd/assignments/default-dir", test_default_dir);
  g_test_add_func ("/xd/assignments/options", test_options);
  ADD ("missing", test_missing);
  ADD ("round-trip", test_round_trip);
  ADD ("hand-edited", test_hand_edited);
  ADD ("sorting", test_sorting);
  ADD ("shared", test_shared);
  ADD ("replace", test_replace);
  ADD ("remove", test_remove);
  ADD ("add-invalid", test_add_invalid);
  ADD ("corrupt", test_corrupt);
  ADD ("corrupt-too-large", test_corrupt_too_large);
  ADD ("stale-temp", test_stale_temp);
  ADD ("concurrent-writers", test_concurrent);
  ADD ("crash-safety", test_crash);
#undef ADD

  return g_test_run ();
}
