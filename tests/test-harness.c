/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test harness (a real xenstored per test) and the simulated host. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "core/xd-error.h"
#include "xd-test-xenstored.h"
#include "xen/xd-sim-host.h"

#define WATCH_TIMEOUT_MS 5000

typedef struct
{
  XdTestXenstored *xs;
  XdSimHost *host;
  /* A second connection, as the engine under test would have. */
  struct xs_handle *client;
} Fixture;

static struct xs_handle *
open_client (XdTestXenstored *xs)
{
  struct xs_handle *h;

  xd_test_xenstored_setenv (xs);
  h = xs_open (XS_OPEN_SOCKETONLY);
  g_assert_nonnull (h);
  return h;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->xs = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (f->xs);
  f->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  f->client = open_client (f->xs);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->client, xs_close);
  g_clear_pointer (&f->host, xd_sim_host_free);
  g_clear_pointer (&f->xs, xd_test_xenstored_free);
}

/* The value at @path as a string, or NULL if there is no such node. */
static char *
read_str (struct xs_handle *h, const char *path)
{
  unsigned int len = 0;
  g_autofree char *value = xs_read (h, XBT_NULL, path, &len);

  return value ? g_strndup (value, len) : NULL;
}

static gboolean
node_exists (struct xs_handle *h, const char *path)
{
  g_autofree char *value = read_str (h, path);
  return value != NULL;
}

/* Permissions in xenstore-ls -p notation: "n0,r3". */
static char *
perms_str (struct xs_handle *h, const char *path)
{
  static const char letters[] = { [XS_PERM_NONE] = 'n',
                                  [XS_PERM_READ] = 'r',
                                  [XS_PERM_WRITE] = 'w',
                                  [XS_PERM_READ | XS_PERM_WRITE] = 'b' };
  unsigned int n = 0;
  g_autofree struct xs_permissions *perms = xs_get_permissions (h, XBT_NULL, path, &n);
  g_autoptr (GString) s = g_string_new (NULL);

  if (!perms)
    return g_strdup ("(none)");
  for (unsigned int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%c%u", i ? "," : "",
                            letters[perms[i].perms & (XS_PERM_READ | XS_PERM_WRITE)], perms[i].id);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

#define assert_value(h, path, expected)                                                            \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *value_ = read_str ((h), (path));                                              \
    g_assert_cmpstr (value_, ==, (expected));                                                      \
  }                                                                                                \
  G_STMT_END

#define assert_perms(h, path, expected)                                                            \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *perms_ = perms_str ((h), (path));                                             \
    g_assert_cmpstr (perms_, ==, (expected));                                                      \
  }                                                                                                \
  G_STMT_END

/* Waits for a watch event on @path with @token, dropping others. */
static gboolean
wait_for_event (struct xs_handle *h, const char *path, const char *token)
{
  gint64 deadline = g_get_monotonic_time () + WATCH_TIMEOUT_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = xs_fileno (h), .events = POLLIN };
      char **event;

      while ((event = xs_check_watch (h)))
        {
          gboolean match = strcmp (event[XS_WATCH_PATH], path) == 0
                           && strcmp (event[XS_WATCH_TOKEN], token) == 0;
          free (event);
          if (match)
            return TRUE;
        }
      g_assert_cmpint (errno, ==, EAGAIN);
      poll (&pfd, 1, 100);
    }
  return FALSE;
}

/* Registers a watch and consumes the event xenstored fires at once for
 * every new watch. */
static void
watch_sync (struct xs_handle *h, const char *path, const char *token)
{
  g_assert_true (xs_watch (h, path, token));
  g_assert_true (wait_for_event (h, path, token));
}

static void
test_start_write_read (Fixture *f, gconstpointer data)
{
  g_autofree char *log
    = g_build_filename (xd_test_xenstored_get_dir (f->xs), "xenstored.log", NULL);

  g_assert_cmpint (xd_test_xenstored_get_pid (f->xs), >, 0);
  g_assert_true (
    g_str_has_prefix (xd_test_xenstored_get_socket (f->xs), xd_test_xenstored_get_dir (f->xs)));
  g_assert_true (g_file_test (xd_test_xenstored_get_socket (f->xs), G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (log, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (g_getenv ("XENSTORED_PATH"), ==, xd_test_xenstored_get_socket (f->xs));

  g_assert_true (xs_write (f->client, XBT_NULL, "/test/hello", "world", 5));
  assert_value (f->client, "/test/hello", "world");
  assert_value (xd_sim_host_get_handle (f->host), "/test/hello", "world");
}

static void
test_add_vm (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vm_path = NULL;
  g_autofree char *vm_name = NULL;
  g_autofree char *vm_uuid = NULL;

  watch_sync (f->client, "@introduceDomain", "intro");
  g_assert_true (xd_sim_host_add_vm (f->host, 3, "personal", &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_event (f->client, "@introduceDomain", "intro"));
  g_assert_true (xs_is_domain_introduced (f->client, 3));

  assert_value (f->client, "/local/domain/3/name", "personal");
  assert_value (f->client, "/local/domain/3/domid", "3");
  assert_value (f->client, "/local/domain/3/memory/target", "1048576");
  assert_value (f->client, "/local/domain/3/store/port", "1003");
  assert_perms (f->client, "/local/domain/3", "n0,r3");
  assert_perms (f->client, "/local/domain/3/name", "n0,r3");
  assert_perms (f->client, "/local/domain/3/device", "n0,r3");
  assert_perms (f->client, "/local/domain/3/control", "n0,r3");
  assert_perms (f->client, "/local/domain/3/control/shutdown", "n3");
  for (const char *const *d
       = (const char *const[]){ "data", "drivers", "feature", "attr", "error", NULL };
       *d; d++)
    {
      g_autofree char *path = g_strdup_printf ("/local/domain/3/%s", *d);
      assert_perms (f->client, path, "n3");
    }

  vm_path = read_str (f->client, "/local/domain/3/vm");
  g_assert_nonnull (vm_path);
  g_assert_true (g_str_has_prefix (vm_path, "/vm/"));
  vm_name = g_strdup_printf ("%s/name", vm_path);
  vm_uuid = g_strdup_printf ("%s/uuid", vm_path);
  assert_value (f->client, vm_name, "personal");
  assert_value (f->client, vm_uuid, vm_path + strlen ("/vm/"));
  assert_perms (f->client, vm_path, "n0,r3");
  assert_perms (f->client, "/libxl/3", "n0");
  assert_perms (f->client, "/libxl/3/device", "n0");

  g_assert_false (xd_sim_host_add_vm (f->host, 3, "again", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
}

static void
test_add_dom0 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_add_vm (f->host, 0, "dom0", &error));
  g_assert_no_error (error);
  assert_value (f->client, "/local/domain/0/name", "dom0");
  assert_value (f->client, "/local/domain/0/vm", "/vm/00000000-0000-0000-0000-000000000000");
  assert_value (f->client, "/vm/00000000-0000-0000-0000-000000000000/name", "dom0");
  assert_perms (f->client, "/local/domain/0", "n0");
  assert_perms (f->client, "/local/domain/0/data", "n0");
  g_assert_false (node_exists (f->client, "/local/domain/0/store/port"));
}

static void
test_remove_vm (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vm_path = NULL;

  g_assert_true (xd_sim_host_add_vm (f->host, 2, "work", &error));
  g_assert_no_error (error);
  vm_path = read_str (f->client, "/local/domain/2/vm");
  g_assert_nonnull (vm_path);

  watch_sync (f->client, "@releaseDomain", "release");
  g_assert_true (xd_sim_host_remove_vm (f->host, 2, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_event (f->client, "@releaseDomain", "release"));

  g_assert_false (xs_is_domain_introduced (f->client, 2));
  g_assert_false (node_exists (f->client, "/local/domain/2"));
  g_assert_false (node_exists (f->client, vm_path));
  g_assert_false (node_exists (f->client, "/libxl/2"));

  g_assert_false (xd_sim_host_remove_vm (f->host, 2, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (xd_sim_host_remove_vm (f->host, 0, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
}

static void
test_publish_device (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *dir = "/local/domain/1/data/xen-devices/block/sda";
  const char *const kv[] = { "desc", "SanDisk", "size", "16008609792", "mode", "w", NULL };
  const char *const kv2[] = { "desc", "Other", NULL };

  g_assert_true (xd_sim_host_add_vm (f->host, 1, "sys-usb", &error));
  g_assert_no_error (error);

  watch_sync (f->client, "/local/domain/1/data/xen-devices", "devices");
  g_assert_true (xd_sim_host_publish_device (f->host, 1, "block", "sda", kv, &error));
  g_assert_no_error (error);
  /* One node, one write: the event names the device itself. */
  g_assert_true (wait_for_event (f->client, dir, "devices"));
  assert_value (f->client, dir, "desc=SanDisk\nsize=16008609792\nmode=w");
  assert_perms (f->client, "/local/domain/1/data/xen-devices", "n1");
  assert_perms (f->client, "/local/domain/1/data/xen-devices/block", "n1");
  assert_perms (f->client, dir, "n1");

  /* Publishing again replaces the whole entry. */
  g_assert_true (xd_sim_host_publish_device (f->host, 1, "block", "sda", kv2, &error));
  g_assert_no_error (error);
  assert_value (f->client, dir, "desc=Other");

  g_assert_true (xd_sim_host_unpublish_device (f->host, 1, "block", "sda", &error));
  g_assert_no_error (error);
  g_assert_false (node_exists (f->client, dir));
  g_assert_true (node_exists (f->client, "/local/domain/1/data/xen-devices/block"));
}

static void
test_write_raw (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char bytes[] = { 'a', '\0', 'b', '\xff' };
  g_autofree char *value = NULL;
  unsigned int len = 0;

  g_assert_true (xd_sim_host_add_vm (f->host, 1, "sys-usb", &error));
  g_assert_no_error (error);
  g_assert_true (
    xd_sim_host_write_raw (f->host, "/local/domain/1/data/raw", bytes, sizeof bytes, 1, &error));
  g_assert_no_error (error);
  value = xs_read (f->client, XBT_NULL, "/local/domain/1/data/raw", &len);
  g_assert_nonnull (value);
  g_assert_cmpmem (value, len, bytes, sizeof bytes);
  assert_perms (f->client, "/local/domain/1/data/raw", "n1");

  /* xenstored refuses permissions naming a domain it does not know, and the
   * transaction leaves nothing behind. */
  g_assert_false (xd_sim_host_write_raw (f->host, "/local/domain/1/data/raw2", "x", 1, 9, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (node_exists (f->client, "/local/domain/1/data/raw2"));

  g_assert_true (xd_sim_host_rm (f->host, "/local/domain/1/data/raw", &error));
  g_assert_no_error (error);
  g_assert_false (node_exists (f->client, "/local/domain/1/data/raw"));
}

static void
test_write_vbd (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *be = "/local/domain/1/backend/vbd/2/51840";
  const char *fe = "/local/domain/2/device/vbd/51840";

  g_assert_true (xd_sim_host_add_vm (f->host, 1, "sys-usb", &error));
  g_assert_true (xd_sim_host_add_vm (f->host, 2, "work", &error));
  g_assert_true (xd_sim_host_write_vbd (f->host, 1, 2, 51840, "/dev/sda1", "xvdi", "w", 4, &error));
  g_assert_no_error (error);

  assert_perms (f->client, be, "n1,r2");
  assert_perms (f->client, fe, "n2,r1");
  assert_perms (f->client, "/local/domain/2/device/vbd/51840/state", "n2,r1");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/frontend", fe);
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/params", "/dev/sda1");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/frontend-id", "2");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/state", "4");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/dev", "xvdi");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/type", "phy");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/mode", "w");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/device-type", "disk");
  assert_value (f->client, "/local/domain/2/device/vbd/51840/backend", be);
  assert_value (f->client, "/local/domain/2/device/vbd/51840/backend-id", "1");
  assert_value (f->client, "/local/domain/2/device/vbd/51840/virtual-device", "51840");
  assert_value (f->client, "/local/domain/2/device/vbd/51840/state", "4");
  assert_value (f->client, "/libxl/2/device/vbd/51840/backend", be);
  assert_value (f->client, "/libxl/2/device/vbd/51840/params", "/dev/sda1");
  assert_perms (f->client, "/libxl/2/device/vbd/51840", "n0");

  /* Destroying the frontend VM takes the backend directory with it. */
  g_assert_true (xd_sim_host_remove_vm (f->host, 2, &error));
  g_assert_no_error (error);
  g_assert_false (node_exists (f->client, be));
  g_assert_false (node_exists (f->client, "/local/domain/1/backend"));
  g_assert_true (node_exists (f->client, "/local/domain/1/data"));
}

static void
test_release_deletes_owned_nodes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_add_vm (f->host, 4, "vault", &error));
  g_assert_true (xd_sim_host_write_raw (f->host, "/tool/owned-by-4", "x", 1, 4, &error));
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_remove_vm (f->host, 4, &error));
  g_assert_no_error (error);
  /* xenstored 4.17 deletes what a released domain owned, wherever it is. */
  g_assert_false (node_exists (f->client, "/tool/owned-by-4"));
  g_assert_true (node_exists (f->client, "/tool"));
}

static void
test_populate_demo (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const names[]
    = { "dom0", "sys-usb", "work", "personal", "vault", "untrusted" };

  g_assert_true (xd_sim_host_populate_demo (f->host, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_strdup_printf ("/local/domain/%u/name", i);
      assert_value (f->client, path, names[i]);
    }
  assert_value (f->client, "/local/domain/1/data/xen-devices/block/sda1",
                "desc=SanDisk Cruzer Blade (partition 1)\nsize=8004304896\nmode=w\nparent=sda");
  assert_value (f->client, "/local/domain/1/data/xen-devices/usb/2-1_3",
                "desc=Logitech USB Receiver\ninterfaces=:030101:030102:");
  assert_value (f->client, "/local/domain/0/data/xen-devices/mic/mic", "desc=Internal microphone");
  assert_value (f->client, "/local/domain/0/data/xen-devices/block/sr0",
                "desc=DVD-ROM\nsize=4700372992\nmode=r");
  assert_value (f->client, "/local/domain/1/backend/vbd/2/51840/dev", "xvdi");
  assert_value (f->client, "/local/domain/2/device/vbd/51840/state", "4");
}

static void
test_kill_restart (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *socket = g_strdup (xd_test_xenstored_get_socket (f->xs));
  GPid old_pid = xd_test_xenstored_get_pid (f->xs);
  struct xs_handle *fresh;

  g_assert_true (xs_write (f->client, XBT_NULL, "/test/before", "1", 1));
  xd_test_xenstored_kill (f->xs);
  g_assert_cmpint (xd_test_xenstored_get_pid (f->xs), ==, 0);
  g_assert_cmpint (kill (old_pid, 0), ==, -1);
  /* The old connection is dead, not hanging. */
  g_assert_false (node_exists (f->client, "/test/before"));

  g_assert_true (xd_test_xenstored_restart (f->xs, &error));
  g_assert_no_error (error);
  g_assert_cmpint (xd_test_xenstored_get_pid (f->xs), !=, old_pid);
  g_assert_cmpstr (xd_test_xenstored_get_socket (f->xs), ==, socket);

  fresh = open_client (f->xs);
  g_assert_false (node_exists (fresh, "/test/before"));
  g_assert_false (node_exists (fresh, "/local"));
  g_assert_true (xs_write (fresh, XBT_NULL, "/test/after", "2", 1));
  assert_value (fresh, "/test/after", "2");
  xs_close (fresh);
}

static void
test_parallel (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) other = xd_test_xenstored_start (&error);
  struct xs_handle *h2;

  g_assert_no_error (error);
  g_assert_cmpstr (xd_test_xenstored_get_dir (other), !=, xd_test_xenstored_get_dir (f->xs));
  g_assert_cmpint (xd_test_xenstored_get_pid (other), !=, xd_test_xenstored_get_pid (f->xs));

  h2 = open_client (other);
  g_assert_true (xs_write (f->client, XBT_NULL, "/test/one", "1", 1));
  g_assert_true (xs_write (h2, XBT_NULL, "/test/two", "2", 1));
  assert_value (f->client, "/test/one", "1");
  assert_value (h2, "/test/two", "2");
  g_assert_false (node_exists (f->client, "/test/two"));
  g_assert_false (node_exists (h2, "/test/one"));

  /* A domain introduced to one daemon is unknown to the other. */
  g_assert_true (xd_sim_host_add_vm (f->host, 7, "seven", &error));
  g_assert_no_error (error);
  g_assert_true (xs_is_domain_introduced (f->client, 7));
  g_assert_false (xs_is_domain_introduced (h2, 7));
  xs_close (h2);
}

static void
test_free_cleans_up (void)
{
  g_autoptr (GError) error = NULL;
  XdTestXenstored *xs = xd_test_xenstored_start (&error);
  g_autofree char *dir = NULL;
  GPid pid;

  g_assert_no_error (error);
  dir = g_strdup (xd_test_xenstored_get_dir (xs));
  pid = xd_test_xenstored_get_pid (xs);
  g_assert_cmpint (kill (pid, 0), ==, 0);

  xd_test_xenstored_free (xs);
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  xd_test_xenstored_free (NULL);
}

static void
test_start_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *shim = g_strdup (g_getenv ("XD_XENSTORED_SHIM"));
  XdTestXenstored *xs;

  g_unsetenv ("XD_XENSTORED_SHIM");
  xs = xd_test_xenstored_start (&error);
  g_assert_null (xs);
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_setenv ("XD_XENSTORED_SHIM", "/nonexistent/shim.so", TRUE);
  xs = xd_test_xenstored_start (&error);
  g_assert_null (xs);
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_setenv ("XD_XENSTORED_SHIM", shim, TRUE);

  /* A daemon that exits at once is reported, not waited for. */
  g_setenv ("XD_XENSTORED", "/bin/false", TRUE);
  xs = xd_test_xenstored_start (&error);
  g_assert_null (xs);
  g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
  g_unsetenv ("XD_XENSTORED");
}

static void
test_sim_host_unavailable (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *old = g_strdup (g_getenv ("XENSTORED_PATH"));
  XdSimHost *host;

  g_setenv ("XENSTORED_PATH", "/nonexistent/xd-socket", TRUE);
  host = xd_sim_host_new (&error);
  g_assert_null (host);
  g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "/nonexistent/xd-socket"));
  if (old)
    g_setenv ("XENSTORED_PATH", old, TRUE);
  else
    g_unsetenv ("XENSTORED_PATH");
}

#define add_fixture_test(path, func)                                                               \
  g_test_add ((path), Fixture, NULL, fixture_setup, (func), fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  add_fixture_test ("/xd/harness/start-write-read", test_start_write_read);
  add_fixture_test ("/xd/harness/kill-restart", test_kill_restart);
  add_fixture_test ("/xd/harness/parallel", test_parallel);
  g_test_add_func ("/xd/harness/free-cleans-up", test_free_cleans_up);
  g_test_add_func ("/xd/harness/start-errors", test_start_errors);
  add_fixture_test ("/xd/sim-host/add-vm", test_add_vm);
  add_fixture_test ("/xd/sim-host/add-dom0", test_add_dom0);
  add_fixture_test ("/xd/sim-host/remove-vm", test_remove_vm);
  add_fixture_test ("/xd/sim-host/publish-device", test_publish_device);
  add_fixture_test ("/xd/sim-host/write-raw", test_write_raw);
  add_fixture_test ("/xd/sim-host/write-vbd", test_write_vbd);
  add_fixture_test ("/xd/sim-host/release-deletes-owned-nodes", test_release_deletes_owned_nodes);
  add_fixture_test ("/xd/sim-host/populate-demo", test_populate_demo);
  g_test_add_func ("/xd/sim-host/unavailable", test_sim_host_unavailable);

  return g_test_run ();
}
