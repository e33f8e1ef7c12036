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
#include "core/xd-store-snapshot.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
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
  /* Entries that are not key=value lines: a key given twice (which of the
   * two would a reader take?), a NUL byte, and the old layout, a directory
   * of one node per key (no value of its own: no device). */
  {
    static const char twice[] = "desc=a\nsize=1\nmode=w\nmode=r";
    static const char nul[] = "desc=a\0\nsize=1\nmode=w";
    static const char *const keys[][2] = { { "desc", "old" }, { "size", "1" }, { "mode", "w" } };

    g_assert_true (xd_sim_host_write_raw (fx->host, "/local/domain/1/data/xen-devices/block/sdi",
                                          twice, strlen (twice), 1, &error));
    g_assert_true (xd_sim_host_write_raw (fx->host, "/local/domain/1/data/xen-devices/block/sdj",
                                          nul, sizeof nul - 1, 1, &error));
    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      {
        g_autofree char *path
          = g_strdup_printf ("/local/domain/1/data/xen-devices/block/sdk/%s", keys[i][0]);
        g_assert_true (
          xd_sim_host_write_raw (fx->host, path, keys[i][1], strlen (keys[i][1]), 1, &error));
      }
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
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sdi"));
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sdj"));
  g_assert_null (lookup (fx, XD_CLASS_BLOCK, 1, "sdk"));
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

static char *describe_model (XdEngine *engine);
static char *load_and_describe (XdStore *store);
static XdStore *plain_store_new (gboolean fail);

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

  /* What the engine resynchronised from a copy read ahead is what a new
   * engine reads one request at a time. */
  {
    g_autofree char *now = describe_model (fx->engine);
    g_autofree char *fresh = load_and_describe (plain_store_new (FALSE));
    g_assert_cmpstr (now, ==, fresh);
    g_assert_nonnull (strstr (now, "/2/xvdb \"After restart\""));
  }
}

/* ---- the first scan read ahead ---- */

/* The engine's whole model as text. */
static char *
describe_model (XdEngine *engine)
{
  g_autoptr (GPtrArray) vms = xd_engine_get_vms (engine);
  g_autoptr (GPtrArray) devices = xd_engine_get_devices (engine, XD_N_CLASSES);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < vms->len; i++)
    {
      const XdVm *vm = vms->pdata[i];
      g_string_append_printf (out, "vm %u %s\n", vm->domid, vm->name);
    }
  for (guint i = 0; i < devices->len; i++)
    {
      const XdDevice *d = devices->pdata[i];
      g_string_append_printf (
        out,
        "device %u/%u/%s \"%s\" size=%" G_GUINT64_FORMAT "%s mode=%d parent=%s interfaces=%s\n",
        d->klass, d->backend, d->port, d->description, d->size, d->has_size ? "" : "(none)",
        d->mode, d->parent ? d->parent : "-", d->interfaces ? d->interfaces : "-");
      for (guint j = 0; j < d->attachments->len; j++)
        {
          const XdAttachment *a = d->attachments->pdata[j];
          g_string_append_printf (
            out, "  held by %u via %s/%u dev=%s ro=%d cdrom=%d state=%d\n", a->frontend, a->kind,
            a->devid, a->frontend_dev ? a->frontend_dev : "-", a->read_only, a->cdrom, a->state);
        }
    }
  return g_string_free (out, FALSE);
}

static XdStore *
failing_read_ahead (XdStore *store, const XdReadAheadTree *trees, guint n_trees, GError **error)
{
  g_set_error_literal (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "no socket (test)");
  return NULL;
}

/* A plain libxenstore store that cannot read ahead (@fail FALSE) or whose
 * reading ahead fails as it does where xenstored has no socket: the same
 * store with its vtable's read_ahead replaced. */
static XdStore *
plain_store_new (gboolean fail)
{
  static XdStoreVTable without, failing;
  g_autoptr (GError) error = NULL;
  XdStore *store = xd_xs_store_new_plain (&error);

  g_assert_no_error (error);
  without = failing = *store->vtable;
  without.read_ahead = NULL;
  failing.read_ahead = failing_read_ahead;
  store->vtable = fail ? &failing : &without;
  return store;
}

static char *
load_and_describe (XdStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = xd_engine_new (store);

  g_assert_true (xd_engine_load (engine, FALSE, &error));
  g_assert_no_error (error);
  return describe_model (engine);
}

/* The first scan reads the host ahead in bulk: the model it builds must be
 * the model a scan one request at a time builds, on a host with every kind
 * of entry (block, mic and usb devices held through vbd, xd-mic and a usb
 * controller's nested ports, malformed and hostile entries), and the same
 * again when reading ahead fails. */
static void
test_read_ahead (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) daemon = xd_test_xenstored_start (&error);
  g_autoptr (XdSimHost) host = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autofree char *ahead = NULL, *one_by_one = NULL, *fallback = NULL;
  static const char *const hostile_kv[] = { "desc", "<b>x</b> \x1b[31m", "size", "-1", NULL };
  static const char *const odd_kv[] = { "desc", "odd", "size", "12", "mode", "rw", NULL };
  XdStore *store;

  g_assert_no_error (error);
  xd_test_xenstored_setenv (daemon);
  host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (host, &error));
  g_assert_true (xd_sim_host_publish_device (host, 1, "block", "sdx", hostile_kv, &error));
  g_assert_true (xd_sim_host_publish_device (host, 1, "block", "sdy", odd_kv, &error));
  g_assert_no_error (error);

  /* Attachments of every kind, made through the simulated toolstack. */
  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  engine = xd_engine_new (store);
  xd_engine_set_toolstack (engine, xd_toolstack_sim_new (&error));
  g_assert_no_error (error);
  g_assert_true (xd_engine_load (engine, TRUE, &error));
  g_assert_true (
    xd_test_engine_attach (engine, XD_CLASS_USB, "sys-usb", "2-1", "personal", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (
    xd_test_engine_attach (engine, XD_CLASS_MIC, "dom0", "mic", "vault", NULL, &error));
  g_assert_no_error (error);
  {
    static const char *const ro[] = { "read-only=yes", NULL };
    g_assert_true (
      xd_test_engine_attach (engine, XD_CLASS_BLOCK, "dom0", "sr0", "untrusted", ro, &error));
    g_assert_no_error (error);
  }
  g_clear_object (&engine);

  /* Reading ahead works here (the equality below would hold without it),
   * and reads only what a tree's filters name; the rest passes to the live
   * store, which answers with what is there. */
  {
    static const char *const classes[] = { "block", NULL };
    const XdReadAheadTree trees[] = {
      { "/local/domain/1/data/xen-devices", 2, { classes } },
    };
    g_autoptr (XdStore) live = xd_xs_store_new_plain (&error);
    g_autoptr (XdStore) copy = NULL;
    g_autofree char *sda = NULL, *usb_dev = NULL, *live_usb_dev = NULL;
    g_auto (GStrv) top = NULL, usb = NULL, live_usb = NULL;
    guint answered, passed;

    g_assert_no_error (error);
    copy = xd_store_read_ahead (live, trees, G_N_ELEMENTS (trees), &error);
    if (g_getenv ("XD_XS_NO_SOCKET"))
      {
        /* No socket: no copy, and the scans below read one at a time. */
        g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);
        g_assert_null (copy);
        g_clear_error (&error);
        goto scans;
      }
    g_assert_no_error (error);
    g_assert_nonnull (copy);
    if (!copy)
      return;
    sda = xd_store_read (copy, "/local/domain/1/data/xen-devices/block/sda", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (sda, ==, "desc=SanDisk Cruzer Blade\nsize=16008609792\nmode=w");
    top = xd_store_directory (copy, "/local/domain/1/data/xen-devices", &error);
    g_assert_no_error (error);
    g_assert_true (g_strv_contains ((const char *const *) top, "usb"));
    xd_snapshot_store_get_counts (copy, &answered, &passed);
    g_assert_cmpuint (answered, ==, 2);
    g_assert_cmpuint (passed, ==, 0);

    usb = xd_store_directory (copy, "/local/domain/1/data/xen-devices/usb", &error);
    g_assert_no_error (error);
    live_usb = xd_store_directory (live, "/local/domain/1/data/xen-devices/usb", &error);
    g_assert_no_error (error);
    g_assert_true (g_strv_equal ((const char *const *) usb, (const char *const *) live_usb));
    g_assert_true (g_strv_contains ((const char *const *) usb, "2-1"));
    usb_dev = xd_store_read (copy, "/local/domain/1/data/xen-devices/usb/2-1", NULL, &error);
    g_assert_no_error (error);
    live_usb_dev = xd_store_read (live, "/local/domain/1/data/xen-devices/usb/2-1", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (usb_dev, ==, live_usb_dev);
    xd_snapshot_store_get_counts (copy, &answered, &passed);
    g_assert_cmpuint (answered, ==, 2);
    g_assert_cmpuint (passed, ==, 2);
  }

scans:
  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  ahead = load_and_describe (store);
  one_by_one = load_and_describe (plain_store_new (FALSE));
  fallback = load_and_describe (plain_store_new (TRUE));
  g_test_message ("model:\n%s", ahead);
  g_assert_cmpstr (ahead, ==, one_by_one);
  g_assert_cmpstr (fallback, ==, one_by_one);
  /* It did see them all. */
  g_assert_nonnull (strstr (ahead, "held by 3 via vusb/"));
  g_assert_nonnull (strstr (ahead, "held by 4 via xd-mic/"));
  g_assert_nonnull (strstr (ahead, "held by 5 via vbd/"));
  g_assert_nonnull (strstr (ahead, "held by 2 via vbd/"));
  /* Malformed entries are skipped either way. */
  g_assert_null (strstr (ahead, "/sdx "));
  g_assert_null (strstr (ahead, "/sdy "));
}

/* The copy answers what it holds, says "no such node" for what its
 * listings show is not there, and passes the rest to the live store. */
static void
test_snapshot_lookup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) daemon = xd_test_xenstored_start (&error);
  const char *const root_children[] = { "a", "b", NULL };
  const char *const none[] = { NULL };
  XdSnapshot *snapshot = xd_snapshot_new ();
  g_autoptr (XdStore) live = NULL;
  g_autoptr (XdStore) store = NULL;
  g_auto (GStrv) list = NULL;
  g_autofree char *value = NULL;
  guint answered, passed;
  gsize len = 0;

  g_assert_no_error (error);
  xd_test_xenstored_setenv (daemon);
  live = xd_xs_store_new_plain (&error);
  g_assert_no_error (error);
  g_assert_true (xd_store_write (live, XD_STORE_NO_TXN, "/t/live", "from xenstore", &error));
  g_assert_no_error (error);

  xd_snapshot_add (snapshot, "/t/root", NULL, 0, root_children);
  xd_snapshot_add (snapshot, "/t/root/a", "A", 1, none);
  xd_snapshot_add (snapshot, "/t/root/b", NULL, 0, NULL); /* listing failed */
  xd_snapshot_add_absent (snapshot, "/t/gone");
  store = xd_snapshot_store_new (snapshot, live);

  value = xd_store_read (store, "/t/root/a", &len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "A");
  g_assert_cmpuint (len, ==, 1);
  list = xd_store_directory (store, "/t/root", &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (list, root_children);
  g_assert_null (xd_store_read (store, "/t/root/c", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (xd_store_read (store, "/t/root/c/deeper", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (xd_store_directory (store, "/t/gone/x", &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  xd_snapshot_store_get_counts (store, &answered, &passed);
  g_assert_cmpuint (answered, ==, 5);
  g_assert_cmpuint (passed, ==, 0);

  /* Unknown: under a failed listing, a directory's value, elsewhere. */
  g_assert_null (xd_store_read (store, "/t/root/b/x", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND); /* xenstore's answer */
  g_clear_error (&error);
  g_clear_pointer (&value, g_free);
  value = xd_store_read (store, "/t/live", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "from xenstore");
  g_assert_null (xd_store_read (store, "/t/root", NULL, &error));
  g_clear_error (&error);
  xd_snapshot_store_get_counts (store, &answered, &passed);
  g_assert_cmpuint (answered, ==, 5);
  g_assert_cmpuint (passed, ==, 3);
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

/* ---- the store's watch connection ---- */

typedef struct
{
  GPtrArray *events; /* "path token" */
  guint flushes;
  gboolean in_request;
  gboolean called_in_request;
} WatchLog;

static void
watch_log_event (const char *path, const char *token, gpointer user_data)
{
  WatchLog *log = user_data;

  if (log->in_request)
    log->called_in_request = TRUE;
  g_ptr_array_add (log->events, g_strdup_printf ("%s %s", path, token));
}

static void
watch_log_flush (gpointer user_data)
{
  WatchLog *log = user_data;

  if (log->in_request)
    log->called_in_request = TRUE;
  log->flushes++;
}

static const XdStoreListener watch_log_listener = {
  .on_event = watch_log_event,
  .on_flush = watch_log_flush,
};

/* Many watches asked at once; a read waits for them to be in place and
 * never dispatches events itself; the echoes and a later change arrive
 * through the main loop; a watch the daemon refuses is reported with its
 * path. Run over the socket and, with XD_XS_NO_SOCKET, over libxenstore. */
static void
test_store_watches (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdTestXenstored) daemon = xd_test_xenstored_start (&error);
  gboolean socket = g_getenv ("XD_XS_NO_SOCKET") == NULL;
  WatchLog log = { g_ptr_array_new_with_free_func (g_free) };
  XdStore *store, *writer;
  g_autofree char *value = NULL;
  gint64 deadline;

  g_assert_no_error (error);
  xd_test_xenstored_setenv (daemon);
  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  writer = xd_xs_store_new_plain (&error);
  g_assert_no_error (error);
  xd_store_set_listener (store, &watch_log_listener, &log);
  g_assert_true (xd_store_write (writer, XD_STORE_NO_TXN, "/test/value", "v", &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *path = g_strdup_printf ("/test/w%u", i);
      g_autofree char *token = g_strdup_printf ("t%u", i);
      g_assert_true (xd_store_watch (store, path, token, &error));
      g_assert_no_error (error);
    }
  /* Not a path: xenstored answers EINVAL. */
  if (socket)
    {
      g_test_expect_message ("xd-xen", G_LOG_LEVEL_WARNING, "cannot watch bad path: EINVAL");
      g_assert_true (xd_store_watch (store, "bad path", "bad", &error));
      g_assert_no_error (error);
    }
  else
    {
      g_assert_false (xd_store_watch (store, "bad path", "bad", &error));
      g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
      g_clear_error (&error);
    }

  log.in_request = TRUE;
  value = xd_store_read (store, "/test/value", NULL, &error);
  log.in_request = FALSE;
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "v");
  g_test_assert_expected_messages ();
  g_assert_false (log.called_in_request);

  /* Every watch echoes once when it is registered. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (log.events->len < 200 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (log.events->len, ==, 200);
  g_assert_true (
    g_ptr_array_find_with_equal_func (log.events, "/test/w199 t199", g_str_equal, NULL));
  g_assert_cmpuint (log.flushes, >=, 1);

  g_ptr_array_set_size (log.events, 0);
  g_assert_true (xd_store_write (writer, XD_STORE_NO_TXN, "/test/w7", "x", &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (log.events->len < 1 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (log.events->len, ==, 1);
  g_assert_cmpstr (log.events->pdata[0], ==, "/test/w7 t7");

  xd_store_free (writer);
  xd_store_free (store);
  g_ptr_array_unref (log.events);
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
  g_test_add_func ("/xd/engine/read-ahead", test_read_ahead);
  g_test_add_func ("/xd/engine/snapshot-lookup", test_snapshot_lookup);
  g_test_add_func ("/xd/engine/store-watches", test_store_watches);
  return g_test_run ();
}
