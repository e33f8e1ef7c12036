/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine against a real xenstored (Debian's daemon under tests/shim),
 * populated by the simulated host the way libxl and a backend agent would.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-xs-store.h"

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  XdEngine *engine;
  GPtrArray *log; /* "vm-added work", "device-changed 1/block/sda1", ... */
} Fixture;

static const char *const sda_kv[]
  = { "desc", "SanDisk Cruzer", "size", "16008609792", "mode", "w", NULL };
static const char *const sda1_kv[]
  = { "desc", "EFI", "size", "209715200", "mode", "w", "parent", "sda", NULL };

static void
populate (Fixture *fx)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_add_vm (fx->host, 0, "dom0", &error));
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_add_vm (fx->host, 1, "sys-usb", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 2, "work", &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sda", sda_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sda1", sda1_kv, &error));
  g_assert_no_error (error);
}

static void
start_engine (Fixture *fx, gboolean watch)
{
  g_autoptr (GError) error = NULL;
  XdStore *store = xd_xs_store_new (&error);

  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  xd_test_log_engine_signals (fx->engine, fx->log,
                              XD_TEST_LOG_VM_ADDED | XD_TEST_LOG_VM_REMOVED
                                | XD_TEST_LOG_DEVICE_ADDED | XD_TEST_LOG_DEVICE_CHANGED
                                | XD_TEST_LOG_DEVICE_REMOVED | XD_TEST_LOG_CONNECTION);
  g_assert_true (xd_engine_load (fx->engine, watch, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  fx->log = g_ptr_array_new_with_free_func (g_free);
  populate (fx);
  start_engine (fx, TRUE);
  g_ptr_array_set_size (fx->log, 0);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->engine);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_ptr_array_unref (fx->log);
}

/* Runs the main loop until @entry shows in the log; fails after 5 s. */
static void
wait_for (Fixture *fx, const char *entry)
{
  xd_test_wait_for_line (fx->log, entry, 5000);
}

/* Lets stragglers be handled. Tests do not rely on it for ordering: they
 * wait for a later event, and events of one connection arrive in order. */
static void
settle (Fixture *fx)
{
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_usleep (20000);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

static XdDevice *
lookup (Fixture *fx, XdClassId klass, guint backend, const char *port)
{
  return xd_engine_lookup_device (fx->engine, klass, backend, port);
}

/* ---- tests ---- */

static void
test_load (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) vms = xd_engine_get_vms (fx->engine);
  g_autoptr (GPtrArray) devices = xd_engine_get_devices (fx->engine, XD_CLASS_BLOCK);
  XdDevice *sda1;

  g_assert_cmpuint (vms->len, ==, 3);
  g_assert_cmpstr (((XdVm *) vms->pdata[0])->name, ==, "dom0");
  g_assert_cmpstr (((XdVm *) vms->pdata[1])->name, ==, "sys-usb");
  g_assert_cmpstr (((XdVm *) vms->pdata[2])->name, ==, "work");
  g_assert_cmpuint (devices->len, ==, 2);
  sda1 = lookup (fx, XD_CLASS_BLOCK, 1, "sda1");
  g_assert_nonnull (sda1);
  g_assert_cmpstr (sda1->description, ==, "EFI");
  g_assert_cmpuint (sda1->size, ==, 209715200);
  g_assert_cmpint (sda1->mode, ==, 'w');
  g_assert_cmpstr (sda1->parent, ==, "sda");
  g_assert_false (xd_device_is_attached (sda1));
}

static void
test_vm_lifecycle (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const mic_kv[] = { "desc", "Headset", NULL };

  g_assert_true (xd_sim_host_add_vm (fx->host, 7, "vault", &error));
  g_assert_no_error (error);
  wait_for (fx, "vm-added vault");
  g_assert_nonnull (xd_engine_lookup_vm_by_name (fx->engine, "vault"));

  /* A device published by the new VM is seen through its own watch. */
  g_assert_true (xd_sim_host_publish_device (fx->host, 7, "mic", "mic", mic_kv, &error));
  wait_for (fx, "device-added 7/mic/mic");

  g_assert_true (xd_sim_host_remove_vm (fx->host, 7, &error));
  g_assert_no_error (error);
  wait_for (fx, "vm-removed vault");
  g_assert_true (xd_test_log_contains (fx->log, "device-removed 7/mic/mic"));
  g_assert_null (xd_engine_lookup_vm_by_name (fx->engine, "vault"));
  g_assert_null (lookup (fx, XD_CLASS_MIC, 7, "mic"));
}

static void
test_device_lifecycle (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const stick_kv[]
    = { "desc", "Kingston DataTraveler", "interfaces", ":080650:", NULL };
  static const char *const stick2_kv[]
    = { "desc", "Kingston DT 2", "interfaces", ":080650:", NULL };
  XdDevice *device;

  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "usb", "2-1_3", stick_kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 1/usb/2-1_3");
  device = lookup (fx, XD_CLASS_USB, 1, "2-1_3");
  g_assert_cmpstr (device->description, ==, "Kingston DataTraveler");
  g_assert_cmpstr (device->interfaces, ==, ":080650:");

  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "usb", "2-1_3", stick2_kv, &error));
  wait_for (fx, "device-changed 1/usb/2-1_3");
  g_assert_cmpstr (lookup (fx, XD_CLASS_USB, 1, "2-1_3")->description, ==, "Kingston DT 2");

  g_assert_true (xd_sim_host_unpublish_device (fx->host, 1, "usb", "2-1_3", &error));
  wait_for (fx, "device-removed 1/usb/2-1_3");
  g_assert_null (lookup (fx, XD_CLASS_USB, 1, "2-1_3"));
}

static void
test_attachment (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdDevice *device;
  XdAttachment *attachment;

  g_assert_true (
    xd_sim_host_write_vbd (fx->host, 1, 2, 51872, "/dev/sda1", "xvdi", "r", 4, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda1");
  device = lookup (fx, XD_CLASS_BLOCK, 1, "sda1");
  g_assert_cmpuint (device->attachments->len, ==, 1);
  attachment = device->attachments->pdata[0];
  g_assert_cmpuint (attachment->frontend, ==, 2);
  g_assert_cmpstr (attachment->frontend_dev, ==, "xvdi");
  g_assert_true (attachment->read_only);
  g_assert_cmpint (attachment->state, ==, 4);
  g_assert_false (xd_device_is_attached (lookup (fx, XD_CLASS_BLOCK, 1, "sda")));

  /* Detach as libxl does: backend, frontend and its record go together. */
  g_ptr_array_set_size (fx->log, 0);
  g_assert_true (xd_sim_host_rm (fx->host, "/local/domain/1/backend/vbd/2/51872", &error));
  g_assert_true (xd_sim_host_rm (fx->host, "/libxl/2/device/vbd/51872", &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda1");
  g_assert_false (xd_device_is_attached (lookup (fx, XD_CLASS_BLOCK, 1, "sda1")));
}

static void
test_forged_attachment (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const nodes[][2] = {
    { "params", "/dev/sda" }, { "frontend-id", "2" }, { "mode", "w" },
    { "dev", "xvdj" },        { "state", "4" },
  };

  /* A backend VM writes a backend entry that no toolstack made: it may
   * write there, but there is no libxl record, so nobody holds sda. */
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    {
      g_autofree char *path
        = g_strdup_printf ("/local/domain/1/backend/vbd/2/51888/%s", nodes[i][0]);
      g_assert_true (
        xd_sim_host_write_raw (fx->host, path, nodes[i][1], strlen (nodes[i][1]), 1, &error));
      g_assert_no_error (error);
    }
  /* The same VM then publishes a device, which proves the entry's events
   * were handled first. */
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdb", sda_kv, &error));
  wait_for (fx, "device-added 1/block/sdb");
  g_assert_false (xd_device_is_attached (lookup (fx, XD_CLASS_BLOCK, 1, "sda")));
}

static void
test_hostile_entries (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) big = g_string_new (NULL);
  static const char *const markup_kv[] = { "desc",
                                           "<b>Evil</b> \x1b[31mred\x1b[0m \xe2\x80\xae"
                                           "gnp.exe",
                                           "size",
                                           "1",
                                           "mode",
                                           "r",
                                           NULL };
  static const char *const badsize_kv[] = { "desc", "x", "size", "-1", "mode", "w", NULL };
  static const char *const badmode_kv[] = { "desc", "x", "size", "1", "mode", "rw", NULL };
  static const char *const badutf_kv[]
    = { "desc", "caf\xc3\x28 \xff\xfe", "size", "1", "mode", "w", NULL };
  static const char *const good_kv[] = { "desc", "good", "size", "1", "mode", "w", NULL };
  const char *big_kv[] = { "desc", NULL, "size", "1", "mode", "w", NULL };
  XdDevice *device;

  for (int i = 0; i < 2000; i++)
    g_string_append (big, "AAAA<i>");
  big_kv[1] = big->str; /* 14 KB: larger than xenstored takes in one value */

  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdc", markup_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdd", badsize_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sde", badmode_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdf", badutf_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "..", good_kv, &error) || error);
  g_clear_error (&error);
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "SDA", good_kv, &error));
  g_assert_true (
    xd_sim_host_publish_device (fx->host, 1, "block", "sdaaaaaaaaaaaaaa", good_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "usb", "2-1.3", good_kv, &error)
                 || error);
  g_clear_error (&error);
  /* xenstored refuses a value this large; whatever it keeps must be safe. */
  if (!xd_sim_host_publish_device (fx->host, 1, "block", "sdg", big_kv, &error))
    g_clear_error (&error);
  /* The longest value xenstored keeps (its default entry size is 2 KB). */
  {
    g_autofree char *long_desc = g_strnfill (2000, 'x');
    const char *long_kv[] = { "desc", long_desc, "size", "1", "mode", "w", NULL };
    g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdh", long_kv, &error));
    g_assert_no_error (error);
  }
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdz", good_kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 1/block/sdz");
  settle (fx);
  device = lookup (fx, XD_CLASS_BLOCK, 1, "sdh");
  g_assert_nonnull (device);
  g_assert_cmpuint (g_utf8_strlen (device->description, -1), ==, 128);
  g_assert_true (g_str_has_suffix (device->description, "…"));

  device = lookup (fx, XD_CLASS_BLOCK, 1, "sdc");
  g_assert_nonnull (device);
  /* Markup stays text (it is escaped where drawn); control and bidi
   * characters are gone. */
  g_assert_cmpstr (device->description, ==, "<b>Evil</b> [31mred[0m gnp.exe");
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sdd"));
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sde"));
  device = lookup (fx, XD_CLASS_BLOCK, 1, "sdf");
  g_assert_nonnull (device);
  g_assert_true (g_utf8_validate (device->description, -1, NULL));
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "SDA"));
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sdaaaaaaaaaaaaaa"));
  device = lookup (fx, XD_CLASS_BLOCK, 1, "sdg");
  if (device)
    g_assert_cmpuint (g_utf8_strlen (device->description, -1), <=, 128);
  /* The well-formed devices of the same VM are all there. */
  g_assert_nonnull (lookup (fx, XD_CLASS_BLOCK, 1, "sda"));
  g_assert_nonnull (lookup (fx, XD_CLASS_BLOCK, 1, "sdz"));
}

static void
test_flood (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[] = { "desc", "flood", NULL };
  g_autoptr (GPtrArray) mics = NULL;
  guint n = XD_ENGINE_MAX_DEVICES_PER_CLASS + 200;

  /* Thousands of entries from one VM: the engine keeps a bounded number and
   * the rest of the system is unaffected. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *port = g_strdup_printf ("%u-%u", 1 + i / 900, 1 + i % 900);
      g_assert_true (xd_sim_host_publish_device (fx->host, 2, "usb", port, kv, &error));
      g_assert_no_error (error);
    }
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sdz", sda_kv, &error));
  wait_for (fx, "device-added 1/block/sdz");
  mics = xd_engine_get_devices (fx->engine, XD_CLASS_USB);
  g_assert_cmpuint (mics->len, ==, XD_ENGINE_MAX_DEVICES_PER_CLASS);
}

static void
test_unrelated_writes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdEngineStats before, after;
  static const char *const kv1[] = { "desc", "marker 1", NULL };
  static const char *const kv2[] = { "desc", "marker 2", NULL };

  g_assert_true (xd_sim_host_publish_device (fx->host, 0, "mic", "mic", kv1, &error));
  wait_for (fx, "device-added 0/mic/mic");
  settle (fx);

  xd_engine_get_stats (fx->engine, &before);
  for (int i = 0; i < 500; i++)
    {
      g_autofree char *value = g_strdup_printf ("%d", 1024 * 1024 + i);
      g_assert_true (xd_sim_host_write_raw (fx->host, "/local/domain/2/memory/target", value,
                                            strlen (value), 2, &error));
      g_assert_true (xd_sim_host_write_raw (fx->host,
                                            "/local/domain/1/device/suspend/event-channel", value,
                                            strlen (value), 1, &error));
    }
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_publish_device (fx->host, 0, "mic", "mic", kv2, &error));
  wait_for (fx, "device-changed 0/mic/mic");
  xd_engine_get_stats (fx->engine, &after);
  /* The engine did not even hear of the 1,000 writes: only the marker's
   * events reached it (its directory removed, its desc written), and only
   * the marker was read again. Nothing was rescanned. */
  g_assert_cmpuint (after.vm_scans, ==, before.vm_scans);
  g_assert_cmpuint (after.full_scans, ==, before.full_scans);
  g_assert_cmpuint (after.device_reads - before.device_reads, <=, 2);
  g_assert_cmpuint (after.events - before.events, <=, 4);
}

static void
test_coalescing (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdEngineStats before, after;
  static const char *const kv[] = { "desc", "Disk", "size", "512", "mode", "w", NULL };

  xd_engine_get_stats (fx->engine, &before);
  /* Each publish writes three keys in one transaction, but the daemon sends
   * one event per node: the engine reads each device once per batch. */
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *port = g_strdup_printf ("loop%d", i);
      g_assert_true (xd_sim_host_publish_device (fx->host, 0, "block", port, kv, &error));
    }
  wait_for (fx, "device-added 0/block/loop49");
  settle (fx);
  xd_engine_get_stats (fx->engine, &after);
  g_assert_cmpuint (after.device_reads - before.device_reads, <, 50 * 3);
}

static void
test_daemon_restart (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[] = { "desc", "After restart", "size", "1", "mode", "w", NULL };

  xd_test_xenstored_kill (fx->daemon);
  wait_for (fx, "disconnected");
  g_assert_true (xd_test_xenstored_restart (fx->daemon, &error));
  g_assert_no_error (error);

  /* The new daemon knows only what is written to it now: dom0 and work,
   * sys-usb is gone, work publishes a device. */
  g_clear_pointer (&fx->host, xd_sim_host_free);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_add_vm (fx->host, 0, "dom0", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 2, "work", &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 2, "block", "xvdb", kv, &error));
  g_assert_no_error (error);

  wait_for (fx, "connected");
  wait_for (fx, "device-added 2/block/xvdb");
  wait_for (fx, "vm-removed sys-usb");
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sda"));
  g_assert_null (xd_engine_lookup_vm_by_name (fx->engine, "sys-usb"));
  g_assert_nonnull (xd_engine_lookup_vm_by_name (fx->engine, "work"));

  /* And it keeps watching on the new connection. */
  g_assert_true (xd_sim_host_add_vm (fx->host, 3, "personal", &error));
  wait_for (fx, "vm-added personal");
}

static void
test_unreachable (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("xd-test-XXXXXX", NULL);
  g_autofree char *socket = g_build_filename (dir, "socket", NULL);
  XdStore *store;

  g_setenv ("XENSTORED_PATH", socket, TRUE);
  store = xd_xs_store_new (&error);
  g_assert_null (store);
  g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, socket));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/xd/engine/load", test_load);
  ADD ("/xd/engine/vm-lifecycle", test_vm_lifecycle);
  ADD ("/xd/engine/device-lifecycle", test_device_lifecycle);
  ADD ("/xd/engine/attachment", test_attachment);
  ADD ("/xd/engine/forged-attachment", test_forged_attachment);
  ADD ("/xd/engine/hostile-entries", test_hostile_entries);
  ADD ("/xd/engine/flood", test_flood);
  ADD ("/xd/engine/unrelated-writes", test_unrelated_writes);
  ADD ("/xd/engine/coalescing", test_coalescing);
  ADD ("/xd/engine/daemon-restart", test_daemon_restart);
#undef ADD
  g_test_add_func ("/xd/engine/unreachable", test_unreachable);
  return g_test_run ();
}
