/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attach and detach through the engine and the simulated toolstack, against
 * a real xenstored with the demo host: the rules, the faults, persistent
 * assignments, and (through the built xen-device) processes racing for one
 * device and processes killed in the middle of an attach.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/xd-assigner.h"
#include "core/xd-assignments.h"
#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
#include "xen/xd-xs-store.h"

/* The demo host's domids. */
enum
{
  DOM0 = 0,
  SYS_USB = 1,
  WORK = 2,
  PERSONAL = 3,
  VAULT = 4,
  UNTRUSTED = 5,
};

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  XdEngine *engine;
  XdToolstack *toolstack; /* owned by the engine */
  char *state_dir;
  GPtrArray *log;
} Fixture;

static void
log_line (Fixture *fx, char *line)
{
  g_ptr_array_add (fx->log, line);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdStore *store;

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_no_error (error);
  fx->state_dir = g_build_filename (g_get_user_data_dir (), "state", NULL);
  g_setenv ("XEN_DEVICES_STATE_DIR", fx->state_dir, TRUE);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "3000", TRUE);
  fx->log = g_ptr_array_new_with_free_func (g_free);

  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  fx->toolstack = xd_toolstack_sim_new (&error);
  g_assert_no_error (error);
  xd_engine_set_toolstack (fx->engine, fx->toolstack);
  xd_test_log_engine_signals (fx->engine, fx->log,
                              XD_TEST_LOG_DEVICE_CHANGED | XD_TEST_LOG_CHANGED_HOLDERS
                                | XD_TEST_LOG_VM_REMOVED);
  g_assert_true (xd_engine_load (fx->engine, TRUE, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->engine);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_ptr_array_unref (fx->log);
  g_free (fx->state_dir);
}

/* ---- waiting ---- */

static void
wait_for (Fixture *fx, const char *entry)
{
  xd_test_wait_for_line (fx->log, entry, 10000);
}

static gboolean
attach (Fixture *fx, XdClassId klass, const char *backend, const char *port, const char *vm,
        const char *const *options, GError **error)
{
  return xd_test_engine_attach (fx->engine, klass, backend, port, vm, options, error);
}

static gboolean
detach (Fixture *fx, XdClassId klass, const char *backend, const char *port, const char *vm,
        guint *n, GError **error)
{
  return xd_test_engine_detach (fx->engine, klass, backend, port, vm, n, error);
}

static XdDevice *
device (Fixture *fx, XdClassId klass, guint backend, const char *port)
{
  XdDevice *d = xd_engine_lookup_device (fx->engine, klass, backend, port);
  g_assert_nonnull (d);
  return d;
}

static gboolean
node_exists (Fixture *fx, const char *path)
{
  unsigned int len;
  void *value = xs_read (xd_sim_host_get_handle (fx->host), XBT_NULL, path, &len);
  free (value);
  return value != NULL;
}

/* ---- tests ---- */

static void
test_attach_detach (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachment *a;
  guint n = 0;

  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  /* The attach returns once the backend is connected; the engine may have
   * reported the holder at an earlier XenBus state and still be reading the
   * last change. */
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end
       && ((XdAttachment *) device (fx, XD_CLASS_BLOCK, SYS_USB, "sda2")->attachments->pdata[0])
              ->state
            != 4;)
    xd_test_spin (10);
  a = device (fx, XD_CLASS_BLOCK, SYS_USB, "sda2")->attachments->pdata[0];
  g_assert_cmpuint (a->frontend, ==, PERSONAL);
  g_assert_cmpstr (a->frontend_dev, ==, "xvdi");
  g_assert_false (a->read_only);
  g_assert_cmpint (a->state, ==, 4);
  /* No claim is left once the attach is done. */
  g_assert_false (node_exists (fx, "/local/domain/0/xen-devices/claims/1/block/sda2"));

  g_assert_true (detach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  g_assert_false (node_exists (fx, "/local/domain/1/backend/vbd/3/51840"));
  g_assert_false (node_exists (fx, "/local/domain/3/device/vbd/51840"));
  g_assert_false (node_exists (fx, "/libxl/3/device/vbd/51840"));
}

static void
test_refusals (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    XdClassId klass;
    const char *backend, *port, *vm;
    XdError code;
    const char *message;
  } cases[] = {
    { XD_CLASS_BLOCK, "sys-usb", "sda2", "dom0", XD_ERROR_REFUSED,
      "devices are never attached to dom0" },
    { XD_CLASS_BLOCK, "sys-usb", "sda2", "sys-usb", XD_ERROR_REFUSED,
      "sys-usb:sda2 cannot be attached to sys-usb, its own backend" },
    { XD_CLASS_BLOCK, "sys-usb", "sda1", "personal", XD_ERROR_REFUSED,
      "sys-usb:sda1 is already attached to work" },
    { XD_CLASS_BLOCK, "sys-usb", "sda", "personal", XD_ERROR_REFUSED,
      "sys-usb:sda1 is attached to work; a disk and its partitions are never attached at the same "
      "time" },
    { XD_CLASS_BLOCK, "sys-usb", "sdq", "personal", XD_ERROR_NOT_FOUND,
      "sys-usb:sdq is not exposed by sys-usb" },
    { XD_CLASS_BLOCK, "sys-usb", "sda2", "nosuch", XD_ERROR_NOT_FOUND,
      "no such VM: nosuch (it is not running)" },
    { XD_CLASS_USB, "sys-usb", "2-1_3", "sys-usb", XD_ERROR_REFUSED,
      "sys-usb:2-1.3 cannot be attached to sys-usb, its own backend" },
    { XD_CLASS_PCI, "dom0", "00_1f_3", "work", XD_ERROR_REFUSED,
      "PCI devices are attached only at a VM's start: use --persistent and restart the VM" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (
        attach (fx, cases[i].klass, cases[i].backend, cases[i].port, cases[i].vm, NULL, &error));
      g_assert_error (error, XD_ERROR, (gint) cases[i].code);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
  /* None of that changed anything. */
  g_assert_cmpuint (device (fx, XD_CLASS_BLOCK, SYS_USB, "sda2")->attachments->len, ==, 0);
  g_assert_cmpuint (device (fx, XD_CLASS_BLOCK, SYS_USB, "sda")->attachments->len, ==, 0);
}

static void
test_partition_of_attached_disk (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* The whole disk held, a partition of it is refused, and the reverse. */
  g_assert_true (detach (fx, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", NULL, &error));
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda", "vault", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==,
                   "sys-usb:sda is attached to vault; a disk and its partitions are never attached "
                   "at the same time");
  g_clear_error (&error);
  /* A disk of another name that merely starts the same is unrelated. */
  {
    static const char *const kv[] = { "desc", "Other", "size", "1", "mode", "w", NULL };
    g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "sdaa", kv, &error));
    g_assert_no_error (error);
    wait_for (fx, "device-changed 1/block/sda holders=1");
    for (int i = 0;
         i < 100 && !xd_engine_lookup_device (fx->engine, XD_CLASS_BLOCK, SYS_USB, "sdaa"); i++)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sdaa", "personal", NULL, &error));
    g_assert_no_error (error);
  }
}

static void
test_read_only_forced (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *const options[] = { "read-only=no", NULL };
  XdAttachment *a;

  /* sr0 is published with mode r. */
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "dom0", "sr0", "vault", options, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 0/block/sr0 holders=1");
  a = device (fx, XD_CLASS_BLOCK, DOM0, "sr0")->attachments->pdata[0];
  g_assert_true (a->read_only);
}

static void
test_options (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *const options[] = { "devtype=cdrom", "frontend-dev=xvdk", "read-only=yes", NULL };
  const char *const taken[] = { "frontend-dev=xvdk", NULL };
  XdAttachment *a;

  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "vault", options, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  a = device (fx, XD_CLASS_BLOCK, SYS_USB, "sda2")->attachments->pdata[0];
  g_assert_cmpstr (a->frontend_dev, ==, "xvdk");
  g_assert_true (a->read_only);
  g_assert_true (a->cdrom);

  /* The next disk of vault gets the first free name, and a name in use is
   * refused. */
  g_assert_false (attach (fx, XD_CLASS_BLOCK, "dom0", "sr0", "vault", taken, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==, "vault already has a disk xvdk");
  g_clear_error (&error);
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "dom0", "sr0", "vault", NULL, &error));
  wait_for (fx, "device-changed 0/block/sr0 holders=1");
  a = device (fx, XD_CLASS_BLOCK, DOM0, "sr0")->attachments->pdata[0];
  g_assert_cmpstr (a->frontend_dev, ==, "xvdi");
}

static void
test_idempotent (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* sda1 is attached to work already: asking again changes nothing. */
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda1", "work", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (device (fx, XD_CLASS_BLOCK, SYS_USB, "sda1")->attachments->len, ==, 1);
  g_assert_false (node_exists (fx, "/local/domain/1/backend/vbd/2/51856"));
}

static void
test_mic (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint n;

  /* The one device several running VMs may hold. */
  g_assert_true (attach (fx, XD_CLASS_MIC, "dom0", "mic", "work", NULL, &error));
  g_assert_true (attach (fx, XD_CLASS_MIC, "dom0", "mic", "personal", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 0/mic/mic holders=2");
  {
    /* Only dom0 may write the entry; its frontend may read it. */
    unsigned int n_perms = 0;
    struct xs_permissions *perms = xs_get_permissions (
      xd_sim_host_get_handle (fx->host), XBT_NULL, "/local/domain/0/backend/xd-mic/2/0", &n_perms);
    g_assert_nonnull (perms);
    g_assert_cmpuint (n_perms, ==, 2);
    g_assert_cmpuint (perms[0].id, ==, 0);
    g_assert_cmpint (perms[0].perms, ==, XS_PERM_NONE);
    g_assert_cmpuint (perms[1].id, ==, WORK);
    g_assert_cmpint (perms[1].perms, ==, XS_PERM_READ);
    free (perms);
  }
  g_ptr_array_set_size (fx->log, 0);
  g_assert_true (detach (fx, XD_CLASS_MIC, "dom0", "mic", "work", &n, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 0/mic/mic holders=1");
  g_assert_cmpuint (
    ((XdAttachment *) device (fx, XD_CLASS_MIC, DOM0, "mic")->attachments->pdata[0])->frontend, ==,
    PERSONAL);
}

static void
test_usb (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (attach (fx, XD_CLASS_USB, "sys-usb", "2-1_3", "vault", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/usb/2-1_3 holders=1");
  g_assert_false (attach (fx, XD_CLASS_USB, "sys-usb", "2-1_3", "work", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==, "sys-usb:2-1.3 is already attached to vault");
  g_clear_error (&error);
  g_assert_true (detach (fx, XD_CLASS_USB, "sys-usb", "2-1_3", "vault", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/usb/2-1_3 holders=0");
}

static void
test_detach_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint n = 99;

  g_assert_false (detach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==, "sys-usb:sda2 is not attached to personal");
  g_clear_error (&error);

  /* Every block device of vault: none is no error. */
  g_assert_true (detach (fx, XD_CLASS_BLOCK, NULL, NULL, "vault", &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "vault", NULL, &error));
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "dom0", "sr0", "vault", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (detach (fx, XD_CLASS_BLOCK, NULL, NULL, "vault", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  wait_for (fx, "device-changed 0/block/sr0 holders=0");
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  /* work's sda1 was not touched. */
  g_assert_cmpuint (device (fx, XD_CLASS_BLOCK, SYS_USB, "sda1")->attachments->len, ==, 1);
}

static void
assert_no_trace (Fixture *fx, guint backend, guint frontend, guint devid)
{
  g_autofree char *b
    = g_strdup_printf ("/local/domain/%u/backend/vbd/%u/%u", backend, frontend, devid);
  g_autofree char *f = g_strdup_printf ("/local/domain/%u/device/vbd/%u", frontend, devid);
  g_autofree char *l = g_strdup_printf ("/libxl/%u/device/vbd/%u", frontend, devid);

  g_assert_false (node_exists (fx, b));
  g_assert_false (node_exists (fx, f));
  g_assert_false (node_exists (fx, l));
  g_assert_false (node_exists (fx, "/local/domain/0/xen-devices/claims/1/block/sda2"));
}

static void
test_faults (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    XdSimFault fault;
    XdError code;
    const char *text;
  } cases[] = {
    { XD_SIM_FAULT_BACKEND_NEVER_CONNECTS, XD_ERROR_TIMEOUT, NULL },
    { XD_SIM_FAULT_BACKEND_ERROR, XD_ERROR_FAILED, "No such device" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      xd_toolstack_sim_set_fault (fx->toolstack, cases[i].fault);
      g_assert_false (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
      g_assert_error (error, XD_ERROR, (gint) cases[i].code);
      g_assert_true (
        g_str_has_prefix (error->message, "attaching sys-usb:sda2 to personal failed: "));
      if (cases[i].text)
        g_assert_nonnull (strstr (error->message, cases[i].text));
      assert_no_trace (fx, SYS_USB, PERSONAL, 51840);
    }

  /* The frontend goes away in the middle: a clear error, and its VM and
   * every node of the attach are gone. */
  {
    g_autoptr (GError) error = NULL;
    xd_toolstack_sim_set_fault (fx->toolstack, XD_SIM_FAULT_FRONTEND_VANISHES);
    g_assert_false (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
    g_assert_nonnull (error);
    wait_for (fx, "vm-removed personal");
    assert_no_trace (fx, SYS_USB, PERSONAL, 51840);
  }
  xd_toolstack_sim_set_fault (fx->toolstack, XD_SIM_FAULT_NONE);
  g_assert_cmpuint (device (fx, XD_CLASS_BLOCK, SYS_USB, "sda2")->attachments->len, ==, 0);
}

static void
test_vm_stop_releases (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  g_assert_true (xd_sim_host_remove_vm (fx->host, PERSONAL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  /* And it is free for the next VM. */
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "vault", NULL, &error));
  g_assert_no_error (error);
}

static void
test_device_gone_detached (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[] = { "desc",   "SanDisk Cruzer Blade (partition 2)",
                                    "size",   "8003256832",
                                    "mode",   "w",
                                    "parent", "sda",
                                    NULL };

  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal", NULL, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  /* The stick is pulled: the agent unpublishes it, the engine detaches. */
  g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "block", "sda2", &error));
  g_assert_no_error (error);
  for (int i = 0; i < 500 && node_exists (fx, "/local/domain/1/backend/vbd/3/51840"); i++)
    g_main_context_iteration (NULL, TRUE);
  assert_no_trace (fx, SYS_USB, PERSONAL, 51840);
  /* Plugged in again, it is free. */
  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "sda2", kv, &error));
  g_assert_true (attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "vault", NULL, &error));
  g_assert_no_error (error);
}

/* ---- persistent assignments ---- */

typedef struct
{
  GPtrArray *events;
} AssignerLog;

static void
applied_cb (XdAssigner *assigner, const char *vm, const char *device_id, gpointer user_data)
{
  Fixture *fx = user_data;
  log_line (fx, g_strdup_printf ("applied %s %s", device_id, vm));
}

static void
failed_cb (XdAssigner *assigner, const char *vm, const char *device_id, const char *message,
           gpointer user_data)
{
  Fixture *fx = user_data;
  log_line (fx, g_strdup_printf ("failed %s %s: %s", device_id, vm, message));
}

static void
assign (Fixture *fx, XdClassId klass, const char *backend, const char *port, const char *vm,
        gboolean required)
{
  g_autoptr (GError) error = NULL;
  XdAssignment a = { klass, (char *) backend, (char *) port, (char *) vm, NULL, required };
  g_assert_true (xd_assignments_add (fx->state_dir, &a, &error));
  g_assert_no_error (error);
}

static void
test_persistent (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdAssigner) assigner = NULL;

  /* Assignment failures are loud warnings; here they are expected. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  assigner = xd_assigner_new (fx->engine, fx->state_dir);
  g_signal_connect (assigner, "applied", G_CALLBACK (applied_cb), fx);
  g_signal_connect (assigner, "failed", G_CALLBACK (failed_cb), fx);

  assign (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "banking", FALSE);
  assign (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "shopping", FALSE);
  assign (fx, XD_CLASS_BLOCK, "sys-usb", "sdz", "mail", FALSE);
  assign (fx, XD_CLASS_USB, "sys-usb", "2-9", "chat", TRUE);

  /* Started: its device is attached. */
  g_assert_true (xd_sim_host_add_vm (fx->host, 10, "banking", &error));
  wait_for (fx, "applied sys-usb:sda2 banking");
  wait_for (fx, "device-changed 1/block/sda2 holders=1");

  /* The second VM it is assigned to: the attach fails, clearly. */
  g_assert_true (xd_sim_host_add_vm (fx->host, 11, "shopping", &error));
  wait_for (fx, "failed sys-usb:sda2 shopping: sys-usb:sda2 is already attached to banking");

  /* A missing device is said loudly; the VM runs on. */
  g_assert_true (xd_sim_host_add_vm (fx->host, 12, "mail", &error));
  wait_for (fx, "failed sys-usb:sdz mail: sys-usb:sdz is not available (the device is not there)");
  g_assert_nonnull (xd_engine_lookup_vm_by_name (fx->engine, "mail"));

  /* A required missing device: the VM does not run. */
  g_assert_true (xd_sim_host_add_vm (fx->host, 13, "chat", &error));
  g_assert_no_error (error);
  wait_for (fx, "vm-removed chat");
  wait_for (fx, "failed sys-usb:2-9 chat: sys-usb:2-9 is not available (the device is not there); "
                "chat was stopped because the device is required");
}

/* ---- processes: xen-device, racing and killed ---- */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GPid
spawn_cli (const char *const *args, int *stdout_fd)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GPid pid;

  g_ptr_array_add (argv, (char *) g_getenv ("XD_XEN_DEVICE"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  /* Whatever the child prints must not reach this test's TAP output. */
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv->pdata, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL
                                             | (stdout_fd ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL),
                                           die_with_parent, NULL, &pid, NULL, stdout_fd, NULL,
                                           &error));
  g_assert_no_error (error);
  return pid;
}

static int
wait_exit (GPid pid)
{
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static guint
count_children (Fixture *fx, const char *path)
{
  unsigned int n = 0;
  char **entries = xs_directory (xd_sim_host_get_handle (fx->host), XBT_NULL, path, &n);
  free (entries);
  return entries ? n : 0;
}

static void
test_race (Fixture *fx, gconstpointer data)
{
  const char *const to_personal[] = { "block", "attach", "personal", "sys-usb:sda2", NULL };
  const char *const to_vault[] = { "block", "attach", "vault", "sys-usb:sda2", NULL };
  const char *const from_personal[] = { "block", "detach", "personal", NULL };
  const char *const from_vault[] = { "block", "detach", "vault", NULL };
  guint wins[2] = { 0, 0 };

  g_assert_nonnull (g_getenv ("XD_XEN_DEVICE"));
  /* Two processes ask for one device at the same moment, many times: each
   * time exactly one gets it. This is the bug Qubes shipped for years. */
  for (int round = 0; round < 25; round++)
    {
      GPid a = spawn_cli (to_personal, NULL);
      GPid b = spawn_cli (to_vault, NULL);
      int status_a = wait_exit (a), status_b = wait_exit (b);
      guint holders = count_children (fx, "/local/domain/1/backend/vbd/3")
                      + count_children (fx, "/local/domain/1/backend/vbd/4");

      g_assert_true ((status_a == 0) != (status_b == 0));
      g_assert_cmpint (status_a + status_b, ==, 1);
      g_assert_cmpuint (holders, ==, 1);
      wins[status_a == 0 ? 0 : 1]++;
      g_assert_cmpint (wait_exit (spawn_cli (status_a == 0 ? from_personal : from_vault, NULL)), ==,
                       0);
      g_assert_cmpuint (count_children (fx, "/local/domain/1/backend/vbd/3")
                          + count_children (fx, "/local/domain/1/backend/vbd/4"),
                        ==, 0);
    }
  g_test_message ("personal won %u rounds, vault %u", wins[0], wins[1]);
}

static void
test_killed_mid_attach (Fixture *fx, gconstpointer data)
{
  const char *const to_personal[] = { "block", "attach", "personal", "sys-usb:sda2", NULL };
  const char *const from_personal[] = { "block", "detach", "personal", NULL };
  const char *const to_vault[] = { "block", "attach", "vault", "sys-usb:sda2", NULL };
  const char *const from_vault[] = { "block", "detach", "vault", "sys-usb:sda2", NULL };
  GRand *rand = g_rand_new_with_seed (4692);
  gint64 start = g_get_monotonic_time ();
  gint64 duration;
  guint attached = 0, clean = 0;

  /* How long a whole attach takes here, so that the kills land all along
   * it: before the claim, between claim and toolstack, in the middle of
   * the driver handshake, after. */
  g_assert_cmpint (wait_exit (spawn_cli (to_personal, NULL)), ==, 0);
  duration = g_get_monotonic_time () - start;
  g_assert_cmpint (wait_exit (spawn_cli (from_personal, NULL)), ==, 0);

  for (int round = 0; round < 40; round++)
    {
      GPid pid = spawn_cli (to_personal, NULL);
      gboolean backend, frontend, record;
      int status;

      g_usleep (g_rand_int_range (rand, 0, (gint32) MAX (duration, 2)));
      kill (pid, SIGKILL);
      status = wait_exit (pid);
      /* Whatever the moment, libxl's nodes are all there or none is. */
      backend = node_exists (fx, "/local/domain/1/backend/vbd/3/51840");
      frontend = node_exists (fx, "/local/domain/3/device/vbd/51840");
      record = node_exists (fx, "/libxl/3/device/vbd/51840");
      g_assert_true (backend == frontend && frontend == record);
      g_test_message ("round %d: exit %d, attached %d", round, status, backend);
      if (backend)
        attached++;
      else
        clean++;
      if (backend)
        g_assert_cmpint (wait_exit (spawn_cli (from_personal, NULL)), ==, 0);
      g_assert_false (node_exists (fx, "/local/domain/1/backend/vbd/3/51840"));
      /* A claim left by the killed process stops nobody. */
      g_assert_cmpint (wait_exit (spawn_cli (to_vault, NULL)), ==, 0);
      g_assert_cmpint (wait_exit (spawn_cli (from_vault, NULL)), ==, 0);
    }
  g_test_message ("an attach takes %" G_GINT64_FORMAT " µs; %u kills left it attached, %u left "
                  "nothing",
                  duration, attached, clean);
  g_rand_free (rand);
}

static guint
count_in (const char *haystack, const char *needle)
{
  guint n = 0;
  for (const char *p = strstr (haystack, needle); p; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_killed_mid_assignment (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = g_build_filename (fx->state_dir, "assignments", NULL);
  GRand *rand = g_rand_new_with_seed (6396);
  guint recorded = 0, not_recorded = 0;

  /* Assignments to VMs that are not running: the command only writes the
   * file. Killed at any moment, it leaves the old file or the new one. */
  for (int round = 0; round < 40; round++)
    {
      g_autofree char *vm = g_strdup_printf ("vm%d", round);
      const char *const args[] = { "block", "attach", vm, "sys-usb:sda2", "--persistent", NULL };
      g_autoptr (GError) error = NULL;
      g_autoptr (XdAssignments) loaded = NULL;
      g_autoptr (GPtrArray) mine = NULL;
      GPid pid = spawn_cli (args, NULL);

      g_usleep (g_rand_int_range (rand, 0, 30000));
      kill (pid, SIGKILL);
      wait_exit (pid);
      loaded = xd_assignments_load (fx->state_dir, &error);
      g_assert_no_error (error);
      g_assert_nonnull (loaded);
      mine = xd_assignments_for_vm (loaded, vm);
      g_assert_cmpuint (mine->len, <=, 1);
      if (mine->len)
        recorded++;
      else
        not_recorded++;
      /* Every earlier round's assignment that was recorded is still there. */
      {
        g_autoptr (GPtrArray) all = xd_assignments_get (loaded);
        g_assert_cmpuint (all->len, ==, recorded);
      }
    }
  g_test_message ("%u assignments written before the kill, %u not", recorded, not_recorded);
  g_assert_true (g_file_test (file, G_FILE_TEST_EXISTS) || recorded == 0);
  g_rand_free (rand);
}

/* Reads what a child wrote to @fd until @text shows @times times, for at
 * most 10 s. */
static void
read_until_count (int fd, GString *buffer, const char *text, guint times)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (count_in (buffer->str, text) < times)
    {
      char chunk[512];
      GPollFD poll_fd = { fd, G_IO_IN, 0 };
      ssize_t n;

      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for “%s” in: %s", text, buffer->str);
      if (g_poll (&poll_fd, 1, 100) <= 0)
        continue;
      n = read (fd, chunk, sizeof chunk);
      if (n <= 0)
        g_error ("the daemon ended before “%s”: %s", text, buffer->str);
      g_string_append_len (buffer, chunk, n);
    }
}

static void
read_until (int fd, GString *buffer, const char *text)
{
  read_until_count (fd, buffer, text, 1);
}

/* Reads two daemons' output until each says @text @times times; on a
 * timeout both outputs are shown, so that a failure says what each did. */
static void
read_both_until_count (int fd_a, GString *out_a, int fd_b, GString *out_b, const char *text,
                       guint times)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (count_in (out_a->str, text) < times || count_in (out_b->str, text) < times)
    {
      GPollFD fds[2] = { { fd_a, G_IO_IN, 0 }, { fd_b, G_IO_IN, 0 } };
      GString *outs[2] = { out_a, out_b };

      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for “%s” %u times; daemon A said:\n%s\ndaemon B said:\n%s",
                 text, times, out_a->str, out_b->str);
      if (g_poll (fds, 2, 100) <= 0)
        continue;
      for (guint i = 0; i < 2; i++)
        {
          char chunk[512];
          ssize_t n;

          if (!(fds[i].revents & (G_IO_IN | G_IO_HUP)))
            continue;
          n = read (fds[i].fd, chunk, sizeof chunk);
          if (n <= 0)
            g_error ("daemon %c ended before “%s”: %s", i ? 'B' : 'A', text, outs[i]->str);
          g_string_append_len (outs[i], chunk, n);
        }
    }
}

static GPid
spawn_daemon (const char *name, int *stderr_fd)
{
  const char *argv[] = { g_getenv ("XD_XEN_DEVICE"), "daemon", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  g_autofree char *socket = g_build_filename (g_get_user_runtime_dir (), name, "control", NULL);
  GPid pid;

  /* The daemon reports an assignment it cannot honour as a warning, which
   * must not abort it. */
  env = g_environ_unsetenv (env, "G_DEBUG");
  /* Each serves on a socket of its own. */
  env = g_environ_setenv (env, "XEN_DEVICES_CONTROL_SOCKET", socket, TRUE);
  g_assert_true (g_spawn_async_with_pipes (
    NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
    die_with_parent, NULL, &pid, NULL, NULL, stderr_fd, &error));
  g_assert_no_error (error);
  return pid;
}

static void
test_two_daemons (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) out_a = g_string_new (NULL);
  g_autoptr (GString) out_b = g_string_new (NULL);
  int fd_a, fd_b;
  GPid a, b;

  assign (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "banking", FALSE);
  assign (fx, XD_CLASS_MIC, "dom0", "mic", "banking", FALSE);
  a = spawn_daemon ("a", &fd_a);
  b = spawn_daemon ("b", &fd_b);
  read_until (fd_a, out_a, "watching xenstore");
  read_until (fd_b, out_b, "watching xenstore");

  /* Both see banking start; each device is attached once, and neither
   * daemon calls the other's success a failure. */
  for (int round = 0; round < 5; round++)
    {
      g_autofree char *attached = g_strdup_printf ("device-changed 1/block/sda2 holders=1");
      g_assert_true (xd_sim_host_add_vm (fx->host, 10, "banking", &error));
      g_assert_no_error (error);
      wait_for (fx, attached);
      wait_for (fx, "device-changed 0/mic/mic holders=1");
      g_assert_cmpuint (count_children (fx, "/local/domain/1/backend/vbd/10"), ==, 1);
      g_assert_cmpuint (count_children (fx, "/local/domain/0/backend/xd-mic/10"), ==, 1);
      /* Each daemon has done its part (one attached, the other found it
       * done) before banking stops again. */
      read_both_until_count (fd_a, out_a, fd_b, out_b, "attached sys-usb:sda2 to banking",
                             round + 1);
      read_both_until_count (fd_a, out_a, fd_b, out_b, "attached dom0:mic to banking", round + 1);
      g_ptr_array_set_size (fx->log, 0);
      g_assert_true (xd_sim_host_remove_vm (fx->host, 10, &error));
      wait_for (fx, "vm-removed banking");
      g_ptr_array_set_size (fx->log, 0);
    }
  kill (a, SIGTERM);
  kill (b, SIGTERM);
  g_assert_cmpint (wait_exit (a), ==, 0);
  g_assert_cmpint (wait_exit (b), ==, 0);
  read_until (fd_a, out_a, "stopping");
  read_until (fd_b, out_b, "stopping");
  if (strstr (out_a->str, "warning") || strstr (out_b->str, "warning"))
    g_error ("a daemon warned:\n%s\n%s", out_a->str, out_b->str);
  g_assert_null (strstr (out_a->str, "warning"));
  g_assert_null (strstr (out_b->str, "warning"));
  close (fd_a);
  close (fd_b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/xd/ops/attach-detach", test_attach_detach);
  ADD ("/xd/ops/refusals", test_refusals);
  ADD ("/xd/ops/partition-of-attached-disk", test_partition_of_attached_disk);
  ADD ("/xd/ops/read-only-forced", test_read_only_forced);
  ADD ("/xd/ops/options", test_options);
  ADD ("/xd/ops/idempotent", test_idempotent);
  ADD ("/xd/ops/mic", test_mic);
  ADD ("/xd/ops/usb", test_usb);
  ADD ("/xd/ops/detach-refusals", test_detach_refusals);
  ADD ("/xd/ops/faults", test_faults);
  ADD ("/xd/ops/vm-stop-releases", test_vm_stop_releases);
  ADD ("/xd/ops/device-gone-detached", test_device_gone_detached);
  ADD ("/xd/ops/persistent", test_persistent);
  ADD ("/xd/ops/race", test_race);
  ADD ("/xd/ops/killed-mid-attach", test_killed_mid_attach);
  ADD ("/xd/ops/two-daemons", test_two_daemons);
  ADD ("/xd/ops/killed-mid-assignment", test_killed_mid_assignment);
#undef ADD
  return g_test_run ();
}
