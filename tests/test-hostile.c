/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A compromised backend VM against the engine. sys-usb (domain 1 of the demo
 * host) writes into what it owns, its backend directory: each test first
 * checks that it does own the nodes it rewrites (and not the ones the engine
 * trusts), then rewrites them, then asks `xen-device` (the built program,
 * with the simulated toolstack, against a real xenstored) what is attached
 * and tries the rules: who holds a device must not change, a device held
 * must not be given to a second VM, a detach must not free the wrong one.
 * The writes are made over the test's own connection (dom0's: xenstored's
 * socket knows no other), with the values a backend could write.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <xenstore.h>

#include "harness/xd-test-cli.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "tray/xd-tray-row.h"
#include "xen/xd-sim-host.h"

/* The demo host's domids this test names. */
#define DOM0 0
#define SYS_USB 1
#define VAULT 4

/* vault's first USB controller, as the toolstack makes it for sys-usb. */
#define USB_BACKEND "/local/domain/1/backend/vusb/4/0"
#define USB_RECORD "/libxl/4/device/vusb/0"

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  char *state_dir;
} Fixture;

/* Runs xen-device with the arguments (NULL-terminated); returns its exit
 * status, its output in @r. */
static int
xen_device (XdTestResult *r, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  xd_test_run_xen_device (r, (const char *const *) args->pdata);
  return xd_test_exit_code (r);
}

static struct xs_handle *
xsh (Fixture *fx)
{
  return xd_sim_host_get_handle (fx->host);
}

/* What sys-usb writes: a node of its own. */
static void
backend_writes (Fixture *fx, const char *path, const char *value)
{
  g_assert_true (xs_write (xsh (fx), XBT_NULL, path, value, strlen (value)));
}

static void
backend_removes (Fixture *fx, const char *path)
{
  g_assert_true (xs_rm (xsh (fx), XBT_NULL, path));
}

static char *
read_node (Fixture *fx, const char *path)
{
  unsigned int len;
  char *value = xs_read (xsh (fx), XBT_NULL, path, &len);
  char *copy = value ? g_strndup (value, len) : NULL;

  free (value);
  return copy;
}

/* The owner of @path (its first permission's domain). */
static guint
owner_of (Fixture *fx, const char *path)
{
  unsigned int n = 0;
  struct xs_permissions *perms = xs_get_permissions (xsh (fx), XBT_NULL, path, &n);
  guint owner;

  g_assert_nonnull (perms);
  g_assert_cmpuint (n, >=, 1);
  owner = perms[0].id;
  free (perms);
  return owner;
}

/* The line of `list` output for @device ("sys-usb:2-1.3"), or "". */
static char *
list_line (const XdTestResult *r, const char *device)
{
  g_auto (GStrv) lines = g_strsplit (r->out, "\n", -1);
  g_autofree char *prefix = g_strconcat (device, " ", NULL);

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i]);
  return g_strdup ("");
}

static void
assert_holder (Fixture *fx, const char *klass, const char *device, const char *holder)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *line = NULL;

  g_assert_cmpint (xen_device (&r, klass, "list", NULL), ==, 0);
  line = list_line (&r, device);
  g_assert_cmpstr (line, !=, "");
  if (holder)
    {
      g_autofree char *used = g_strconcat ("  ", holder, NULL);
      g_assert_nonnull (strstr (line, used));
    }
  else
    {
      /* DEVICE, spaces, the description, nothing after it. */
      g_auto (GStrv) columns = g_regex_split_simple ("  +", line, 0, 0);
      g_assert_cmpuint (g_strv_length (columns), ==, 2);
    }
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  xd_test_demo_host_start (&fx->daemon, &fx->host);
  fx->state_dir = g_dir_make_tmp ("xd-hostile-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XEN_DEVICES_STATE_DIR", fx->state_dir, TRUE);
  g_setenv ("XEN_DEVICES_TOOLSTACK", "simulated", TRUE);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "5000", TRUE);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  {
    g_autofree char *lock = g_build_filename (fx->state_dir, "assignments.lock", NULL);
    g_unlink (lock);
  }
  g_rmdir (fx->state_dir);
  g_free (fx->state_dir);
}

/* ---- USB ---- */

/* sys-usb rewrites the ports of vault's controller after the toolstack gave
 * vault 2-1.3: 3-1 and 2-1 then look held, 2-1.3 free. The bus id comes
 * from dom0's record: nothing changes, the lie is reported, and neither a
 * second VM nor a detach of the wrong device gets through. */
static void
test_usb_ports_rewritten (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *recorded = NULL;

  g_assert_cmpint (xen_device (&r, "usb", "attach", "vault", "sys-usb:2-1.3", NULL), ==, 0);
  assert_holder (fx, "usb", "sys-usb:2-1.3", "vault");
  /* What sys-usb may write, and what it may not. */
  g_assert_cmpuint (owner_of (fx, USB_BACKEND "/port/1"), ==, SYS_USB);
  g_assert_cmpuint (owner_of (fx, USB_BACKEND "/num-ports"), ==, SYS_USB);
  g_assert_cmpuint (owner_of (fx, USB_BACKEND "/frontend-id"), ==, SYS_USB);
  g_assert_cmpuint (owner_of (fx, USB_RECORD "/port/1"), ==, DOM0);
  recorded = read_node (fx, USB_RECORD "/port/1");
  g_assert_cmpstr (recorded, ==, "2-1.3");

  backend_writes (fx, USB_BACKEND "/port/1", "3-1");
  backend_writes (fx, USB_BACKEND "/port/2", "2-1");
  g_assert_cmpint (xen_device (&r, "usb", "list", NULL), ==, 0);
  g_assert_cmpstr (r.out, ==,
                   "sys-usb:2-1    SanDisk Cruzer Blade\n"
                   "sys-usb:2-1.3  Logitech USB Receiver  vault\n");
  g_assert_nonnull (strstr (r.err, "not believing sys-usb at " USB_BACKEND ": its port/1 is not "
                                   "the bus id dom0's record holds; its port/2 names a device "
                                   "dom0's record does not"));

  /* The rules go by the record too. */
  g_assert_cmpint (xen_device (&r, "usb", "attach", "work", "sys-usb:2-1.3", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "vault"));
  g_assert_cmpint (xen_device (&r, "usb", "detach", "vault", "sys-usb:2-1", NULL), ==, 1);
  recorded = (g_free (recorded), read_node (fx, USB_RECORD "/port/1"));
  g_assert_cmpstr (recorded, ==, "2-1.3");
  /* 2-1 is free: another VM may have it. */
  g_assert_cmpint (xen_device (&r, "usb", "attach", "work", "sys-usb:2-1", NULL), ==, 0);
  assert_holder (fx, "usb", "sys-usb:2-1", "work");
  assert_holder (fx, "usb", "sys-usb:2-1.3", "vault");

  /* The real detach frees the real device. */
  g_assert_cmpint (xen_device (&r, "usb", "detach", "vault", "sys-usb:2-1.3", NULL), ==, 0);
  recorded = (g_free (recorded), read_node (fx, USB_RECORD "/port/1"));
  g_assert_cmpstr (recorded, ==, "");
  assert_holder (fx, "usb", "sys-usb:2-1.3", NULL);
  assert_holder (fx, "usb", "sys-usb:2-1", "work");
}

/* sys-usb empties its port, shrinks its controller, renames its frontend:
 * the device stays held by the VM dom0 gave it to. */
static void
test_usb_holder_hidden (Fixture *fx, gconstpointer data)
{
  const char *const lies[][2] = {
    { USB_BACKEND "/port/1", "" },
    { USB_BACKEND "/num-ports", "0" },
    { USB_BACKEND "/frontend-id", "99" },
  };
  g_auto (XdTestResult) r = { 0 };

  g_assert_cmpint (xen_device (&r, "usb", "attach", "vault", "sys-usb:2-1.3", NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (lies); i++)
    {
      g_test_message ("sys-usb writes %s = \"%s\"", lies[i][0], lies[i][1]);
      backend_writes (fx, lies[i][0], lies[i][1]);
      assert_holder (fx, "usb", "sys-usb:2-1.3", "vault");
      g_assert_cmpint (xen_device (&r, "usb", "attach", "work", "sys-usb:2-1.3", NULL), ==, 1);
    }
  backend_removes (fx, USB_BACKEND "/frontend-id");
  assert_holder (fx, "usb", "sys-usb:2-1.3", "vault");
}

/* A controller sys-usb serves, with no device given through it: a bus id
 * it writes into a port makes nobody a holder. */
static void
test_usb_port_invented (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };

  g_assert_cmpint (xen_device (&r, "usb", "attach", "vault", "sys-usb:2-1", NULL), ==, 0);
  g_assert_cmpint (xen_device (&r, "usb", "detach", "vault", "sys-usb:2-1", NULL), ==, 0);
  backend_writes (fx, USB_BACKEND "/port/3", "2-1.3");
  assert_holder (fx, "usb", "sys-usb:2-1.3", NULL);
  g_assert_cmpint (xen_device (&r, "usb", "attach", "work", "sys-usb:2-1.3", NULL), ==, 0);
  assert_holder (fx, "usb", "sys-usb:2-1.3", "work");
}

/* ---- block ---- */

/* The backend directory and the record of sys-usb:sda2 attached to @frontend. */
static void
sda2_paths (Fixture *fx, guint frontend, char **backend, char **record)
{
  g_autofree char *dir = g_strdup_printf ("/local/domain/1/backend/vbd/%u", frontend);
  unsigned int n = 0;
  char **devids = xs_directory (xsh (fx), XBT_NULL, dir, &n);

  g_assert_nonnull (devids);
  g_assert_cmpuint (n, ==, 1);
  *backend = g_strdup_printf ("%s/%s", dir, devids[0]);
  *record = g_strdup_printf ("/libxl/%u/device/vbd/%s", frontend, devids[0]);
  free (devids);
}

/* sys-usb says the disk it serves to vault is another domain's (99), or
 * nobody's, or another disk: the disk stays vault's, and no second VM gets
 * it read-write. */
static void
test_block_holder_hidden (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *backend = NULL, *record = NULL;
  g_autofree char *frontend_id = NULL, *params = NULL, *mode = NULL;

  g_assert_cmpint (xen_device (&r, "block", "attach", "vault", "sys-usb:sda2", NULL), ==, 0);
  sda2_paths (fx, VAULT, &backend, &record);
  frontend_id = g_strconcat (backend, "/frontend-id", NULL);
  params = g_strconcat (backend, "/params", NULL);
  mode = g_strconcat (backend, "/mode", NULL);
  g_assert_cmpuint (owner_of (fx, frontend_id), ==, SYS_USB);
  g_assert_cmpuint (owner_of (fx, record), ==, DOM0);

  backend_writes (fx, frontend_id, "99");
  assert_holder (fx, "block", "sys-usb:sda2", "vault");
  g_assert_cmpint (xen_device (&r, "block", "attach", "work", "sys-usb:sda2", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "vault"));
  g_assert_cmpint (xen_device (&r, "block", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (r.err, "not believing sys-usb at "));
  g_assert_nonnull (strstr (r.err, "its frontend-id is not 4, which dom0's record names"));

  backend_removes (fx, frontend_id);
  assert_holder (fx, "block", "sys-usb:sda2", "vault");
  g_assert_cmpint (xen_device (&r, "block", "attach", "work", "sys-usb:sda2", NULL), ==, 1);

  /* Another disk, and read-only: neither is believed. */
  backend_writes (fx, params, "/dev/sda");
  backend_writes (fx, mode, "r");
  assert_holder (fx, "block", "sys-usb:sda2", "vault (read-only=no");
  assert_holder (fx, "block", "sys-usb:sda", NULL);
  /* sda is sda2's disk: held through its partition, so not free for work. */
  g_assert_cmpint (xen_device (&r, "block", "attach", "work", "sys-usb:sda", NULL), ==, 1);

  g_assert_cmpint (xen_device (&r, "block", "detach", "vault", "sys-usb:sda2", NULL), ==, 0);
  assert_holder (fx, "block", "sys-usb:sda2", NULL);
}

/* An entry sys-usb makes up in its directory, for personal, with no record:
 * it holds nothing. */
static void
test_block_entry_invented (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  const char *base = "/local/domain/1/backend/vbd/3/51728";
  const char *const kv[][2] = {
    { "params", "/dev/sda2" }, { "frontend-id", "3" },
    { "mode", "w" },           { "dev", "xvdb" },
    { "state", "4" },          { "frontend", "/local/domain/3/device/vbd/51728" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kv); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", base, kv[i][0]);
      backend_writes (fx, path, kv[i][1]);
    }
  assert_holder (fx, "block", "sys-usb:sda2", NULL);
  g_assert_cmpint (xen_device (&r, "block", "attach", "work", "sys-usb:sda2", NULL), ==, 0);
  assert_holder (fx, "block", "sys-usb:sda2", "work");
}

/* ---- holders that are gone, devices that are gone ---- */

/* A domain that is gone without its devices (it crashed, the toolstack did
 * not clean up): its directory goes, its backend entries and libxl's records
 * stay. */
static void
domain_vanishes (Fixture *fx, guint domid)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_strdup_printf ("/local/domain/%u", domid);

  g_assert_true (xd_sim_host_rm (fx->host, dir, &error));
  g_assert_no_error (error);
}

/* Backend entries (with libxl's records) of domains that do not run: one
 * that ran before this test looked, vault once it is gone. Neither holds:
 * the device shows free and can be attached, where it stayed blocked. */
static void
test_holder_not_running (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };

  g_assert_true (xd_sim_host_add_vm (fx->host, 14, "ghost", &error));
  g_assert_true (
    xd_sim_host_write_vbd (fx->host, SYS_USB, 14, 51712, "/dev/sda2", "xvda", "w", 4, &error));
  g_assert_no_error (error);
  assert_holder (fx, "block", "sys-usb:sda2", "ghost");
  domain_vanishes (fx, 14);
  assert_holder (fx, "block", "sys-usb:sda2", NULL);
  g_assert_cmpint (xen_device (&r, "block", "attach", "vault", "sys-usb:sda2", NULL), ==, 0);
  assert_holder (fx, "block", "sys-usb:sda2", "vault");
  /* The attach cleaned up what libxl's destroy of domain 14 would have. */
  g_assert_nonnull (strstr (r.err, "removing /local/domain/1/backend/vbd/14/51712 and "
                                   "/libxl/14/device/vbd/51712: domain 14, which they were for, "
                                   "is gone"));
  {
    g_autofree char *entry = read_node (fx, "/local/domain/1/backend/vbd/14/51712");
    g_autofree char *record = read_node (fx, "/libxl/14/device/vbd/51712");
    g_autofree char *record_dir = read_node (fx, "/libxl/14");
    g_autofree char *entry_dir = read_node (fx, "/local/domain/1/backend/vbd/14");
    g_assert_null (entry);
    g_assert_null (record);
    /* Nor are their emptied directories left behind. */
    g_assert_null (record_dir);
    g_assert_null (entry_dir);
  }

  domain_vanishes (fx, VAULT);
  assert_holder (fx, "block", "sys-usb:sda2", NULL);
  g_assert_cmpint (xen_device (&r, "block", "attach", "personal", "sys-usb:sda2", NULL), ==, 0);
  assert_holder (fx, "block", "sys-usb:sda2", "personal");
}

/* A device unplugged while attached: sys-usb stops exposing sda2, which
 * vault still holds. `list` shows it, with its holder. */
static void
test_unexposed_while_held (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };

  g_assert_cmpint (xen_device (&r, "block", "attach", "vault", "sys-usb:sda2", NULL), ==, 0);
  g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "block", "sda2", &error));
  g_assert_no_error (error);
  g_assert_cmpint (xen_device (&r, "block", "list", NULL), ==, 0);
  g_assert_nonnull (
    strstr (r.out, "sys-usb:sda2  (not exposed)                       vault (read-only=no, "
                   "frontend-dev=xvdi)\n"));
  g_assert_cmpint (xen_device (&r, "list", "vault", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "sys-usb:sda2  (not exposed)  vault ("));
  /* Nothing else can have it meanwhile: it is not exposed. */
  g_assert_cmpint (xen_device (&r, "block", "attach", "work", "sys-usb:sda2", NULL), ==, 1);
  /* The holder lets it go. */
  g_assert_cmpint (xen_device (&r, "block", "detach", "vault", "sys-usb:sda2", NULL), ==, 0);
  g_assert_cmpint (xen_device (&r, "block", "list", NULL), ==, 0);
  g_assert_null (strstr (r.out, "sys-usb:sda2"));
}

/* A backend that publishes fifty bad entries: every command would print
 * fifty lines. Three are shown, the rest counted in one line. */
static void
test_flood (Fixture *fx, gconstpointer data)
{
  static const char *const bad_kv[] = { "desc", "bad", "interfaces", "nonsense", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };
  g_auto (GStrv) lines = NULL;

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *port = g_strdup_printf ("7-%u", i + 1);
      g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", port, bad_kv, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (xen_device (&r, "usb", "list", NULL), ==, 0);
  lines = g_strsplit (r.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5); /* 3, the count, and "" */
  for (guint i = 0; i < 3; i++)
    g_assert_true (g_str_has_prefix (lines[i], "xen-device: skipping an entry from sys-usb at "));
  g_assert_cmpstr (lines[3], ==,
                   "xen-device: 47 more entries from VMs were skipped or not believed "
                   "(G_MESSAGES_DEBUG=all lists each)");
  g_assert_cmpstr (r.out, ==,
                   "sys-usb:2-1    SanDisk Cruzer Blade\n"
                   "sys-usb:2-1.3  Logitech USB Receiver\n");
}

/* ---- names ---- */

/* A second domain called work, one called like the backend, one called
 * Domain-0: a name that names two domains is refused (naming both), never
 * resolved to one of them; Domain-0 is dom0's. */
static void
test_names_ambiguous (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };

  g_assert_true (xd_sim_host_add_vm (fx->host, 12, "work", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 13, "sys-usb", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 14, "Domain-0", &error));
  g_assert_no_error (error);

  g_assert_cmpint (xen_device (&r, "usb", "attach", "vault", "sys-usb:2-1", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "Error: 2 running domains are named sys-usb (domains 1, 13): "
                                   "refusing to guess which\n"));
  g_assert_cmpint (xen_device (&r, "mic", "attach", "work", "dom0:mic", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "Error: 2 running domains are named work (domains 2, 12): "
                                   "refusing to guess which\n"));
  g_assert_cmpint (xen_device (&r, "block", "detach", "work", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "(domains 2, 12)"));
  g_assert_cmpint (xen_device (&r, "block", "list", "work", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "(domains 2, 12)"));
  /* Nothing was attached to either work. */
  g_assert_cmpint (xen_device (&r, "mic", "list", NULL), ==, 0);
  g_assert_cmpstr (r.out, ==, "dom0:mic  Internal microphone\n");

  g_assert_cmpint (xen_device (&r, "mic", "attach", "Domain-0", "dom0:mic", NULL), ==, 2);
  g_assert_nonnull (strstr (r.err, "no such VM: Domain-0"));
  g_assert_cmpint (xen_device (&r, "list", NULL), ==, 0);
  g_assert_nonnull (strstr (r.err, "/local/domain/14/name: the name is not a valid VM name, or "
                                   "is dom0's"));
}

/* ---- descriptions ---- */

/* A description that ends like a holder's row: the holder stands right
 * after the device's id, where a description cannot reach, so no free
 * device's row reads like a held one's, whatever its description. */
static void
test_desc_forges_holder (void)
{
  static const char *const forged[] = {
    "Keyboard (attached to work)",
    "Keyboard, 1.0 kB (attached to work)",
    ") (attached to work) — Keyboard",
  };
  const char *const work[] = { "work", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (forged); i++)
    {
      g_autoptr (XdDevice) fake = xd_device_new (XD_CLASS_USB, SYS_USB, "2-1");
      g_autoptr (XdDevice) real = xd_device_new (XD_CLASS_USB, SYS_USB, "2-1");
      XdTrayRowState fake_state = { .device = fake, .backend_name = "sys-usb" };
      XdTrayRowState real_state = { .device = real, .backend_name = "sys-usb", .holders = work };
      g_autofree char *fake_text = NULL, *real_text = NULL;

      g_free (fake->description);
      fake->description = g_strdup (forged[i]);
      g_free (real->description);
      real->description = g_strdup ("Keyboard");
      fake_text = xd_tray_row_format_text (&fake_state);
      real_text = xd_tray_row_format_text (&real_state);
      g_test_message ("free: %s\nheld: %s", fake_text, real_text);
      g_assert_true (g_str_has_prefix (real_text, "sys-usb:2-1 (attached to work) — "));
      g_assert_true (g_str_has_prefix (fake_text, "sys-usb:2-1 — "));
      g_assert_cmpstr (fake_text, !=, real_text);
    }
}

/* Blank-rendering letters line up a fake USED BY column; an empty (or
 * all-invisible) description makes an entry that is not shown. */
static void
test_desc_fake_column (Fixture *fx, gconstpointer data)
{
  static const char *const blank_kv[]
    = { "desc", "Keyboard\u2800\u2800\u2800\u2800vault (persistent)", NULL };
  static const char *const empty_kv[] = { "desc", "", NULL };
  static const char *const invisible_kv[] = { "desc", "\u200B\u2800\u202E", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *line = NULL;

  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "3-1", blank_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "3-2", empty_kv, &error));
  g_assert_true (
    xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "3-3", invisible_kv, &error));
  g_assert_no_error (error);
  g_assert_cmpint (xen_device (&r, "usb", "list", NULL), ==, 0);
  line = list_line (&r, "sys-usb:3-1");
  g_assert_cmpstr (line, ==, "sys-usb:3-1    Keyboard vault (persistent)");
  assert_holder (fx, "usb", "sys-usb:3-1", NULL);
  g_assert_null (strstr (r.out, "sys-usb:3-2"));
  g_assert_null (strstr (r.out, "sys-usb:3-3"));
  g_assert_nonnull (strstr (r.err, "/usb/3-2: desc is empty, or nothing of it can be shown"));
  g_assert_nonnull (strstr (r.err, "/usb/3-3: desc is empty, or nothing of it can be shown"));
  g_assert_cmpint (xen_device (&r, "usb", "attach", "work", "sys-usb:3-2", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "sys-usb:3-2 is not exposed by sys-usb"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/hostile/usb/ports-rewritten", test_usb_ports_rewritten);
  ADD ("/hostile/usb/holder-hidden", test_usb_holder_hidden);
  ADD ("/hostile/usb/port-invented", test_usb_port_invented);
  ADD ("/hostile/block/holder-hidden", test_block_holder_hidden);
  ADD ("/hostile/block/entry-invented", test_block_entry_invented);
  ADD ("/hostile/desc/fake-column", test_desc_fake_column);
  ADD ("/hostile/names/ambiguous", test_names_ambiguous);
  ADD ("/hostile/flood", test_flood);
  ADD ("/hostile/holder-not-running", test_holder_not_running);
  ADD ("/hostile/unexposed-while-held", test_unexposed_while_held);
  g_test_add_func ("/hostile/desc/forges-holder", test_desc_forges_holder);
#undef ADD
  return g_test_run ();
}
