/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device that vanishes while attached, found so by the resynchronisation
 * after a reconnect: the engine detaches the orphan (detach_orphan ()) while
 * the scan reads from the copy read ahead. The detach task must not keep the
 * copy, which read_ahead_end () frees as soon as the scan ends.
 *
 * To make the order deterministic, GTask's thread pool is kept busy until
 * the resync is over, so the detach worker only starts after it.
 */
#include "config.h"

#include <stdlib.h>
#include <xenstore.h>

#include "core/xd-engine.h"
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
  GPtrArray *log;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdStore *store;

  xd_test_demo_host_start (&fx->daemon, &fx->host);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "3000", TRUE);
  fx->log = g_ptr_array_new_with_free_func (g_free);
  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  xd_engine_set_toolstack (fx->engine, xd_toolstack_sim_new (&error));
  g_assert_no_error (error);
  xd_test_log_engine_signals (fx->engine, fx->log,
                              XD_TEST_LOG_CONNECTION | XD_TEST_LOG_DEVICE_REMOVED);
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
}

/* Tasks that hold GTask's pool threads (and queue behind them) until the
 * gate opens. More than the pool's 10 threads, so that the ones GLib adds
 * when the pool stays full (one per 100 ms or more) find a blocker too. */
#define N_BLOCKERS 40

static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_open;
static guint blockers_done;

static void
blocker_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_mutex_lock (&gate_lock);
  while (!gate_open)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);
  g_task_return_boolean (task, TRUE);
}

static void
blocker_done (GObject *source, GAsyncResult *result, gpointer data)
{
  blockers_done++;
}

static void
test_orphan_detach_during_resync (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdDevice *sda1 = xd_engine_lookup_device (fx->engine, XD_CLASS_BLOCK, 1, "sda1");

  /* The demo host has sys-usb:sda1 attached to work. */
  g_assert_nonnull (sda1);
  g_assert_true (xd_device_is_attached (sda1));

  xd_test_xenstored_kill (fx->daemon);
  xd_test_wait_for_line (fx->log, "disconnected", 5000);
  g_assert_true (xd_test_xenstored_restart (fx->daemon, &error));
  g_assert_no_error (error);
  /* The new daemon: the demo host, but sys-usb no longer offers sda1 while
   * its backend entry for work is still there. The engine reconnects from
   * the main loop, which has not run since. */
  g_clear_pointer (&fx->host, xd_sim_host_free);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_true (xd_sim_host_unpublish_device (fx->host, 1, "block", "sda1", &error));
  g_assert_no_error (error);

  gate_open = FALSE;
  blockers_done = 0;
  for (guint i = 0; i < N_BLOCKERS; i++)
    {
      g_autoptr (GTask) task = g_task_new (NULL, NULL, blocker_done, NULL);
      g_task_run_in_thread (task, blocker_thread);
    }

  /* Reconnect, resync_all (): sda1 is removed and its orphaned attachment
   * detached (the task is queued behind the blockers); then the copy read
   * ahead is freed and "connected" is emitted. */
  xd_test_wait_for_line (fx->log, "connected", 5000);
  g_assert_true (xd_test_log_contains (fx->log, "device-removed 1/block/sda1"));

  /* Now let the detach worker run: it opens its connection through the
   * store it was given. */
  g_mutex_lock (&gate_lock);
  gate_open = TRUE;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       blockers_done < N_BLOCKERS && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (blockers_done, ==, N_BLOCKERS);
  /* The orphan's detach finishes (orphan_detached_cb ()): work's vbd
   * backend from sys-usb (sda1 was its only one) is gone. */
  for (int i = 0; i < 100; i++)
    {
      unsigned int n = 0;
      char **left = xs_directory (xd_sim_host_get_handle (fx->host), XBT_NULL,
                                  "/local/domain/1/backend/vbd/2", &n);
      free (left);
      if (n == 0)
        return;
      xd_test_spin (50);
    }
  g_assert_not_reached ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/readahead/orphan-detach-during-resync", Fixture, NULL, fixture_setup,
              test_orphan_detach_during_resync, fixture_teardown);
  return g_test_run ();
}
