/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the test programs: waiting in the main loop, a log of
 * the engine's signals, and synchronous attach and detach.
 */
#include "config.h"

#include "xd-test-util.h"

#include <string.h>

void
xd_test_demo_host_start (XdTestXenstored **daemon, XdSimHost **host)
{
  g_autoptr (GError) error = NULL;

  *daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (*daemon);
  *host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (*host, &error));
  g_assert_no_error (error);
}

gboolean
xd_test_timeout_cb (gpointer flag)
{
  *(gboolean *) flag = TRUE;
  return G_SOURCE_REMOVE;
}

void
xd_test_spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, xd_test_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
xd_test_log_contains (GPtrArray *log, const char *entry)
{
  for (guint i = 0; i < log->len; i++)
    if (strcmp (log->pdata[i], entry) == 0)
      return TRUE;
  return FALSE;
}

void
xd_test_wait_for_line (GPtrArray *log, const char *entry, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, xd_test_timeout_cb, &timed_out);

  while (!xd_test_log_contains (log, entry) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    {
      g_autofree char *joined = NULL;
      g_ptr_array_add (log, NULL);
      joined = g_strjoinv ("; ", (char **) log->pdata);
      g_error ("timed out waiting for “%s”; log: %s", entry, joined);
    }
  g_source_remove (id);
}

/* ---- the engine's signals ---- */

static void
vm_added_cb (XdEngine *engine, XdVm *vm, gpointer log)
{
  g_ptr_array_add (log, g_strdup_printf ("vm-added %s", vm->name));
}

static void
vm_removed_cb (XdEngine *engine, XdVm *vm, gpointer log)
{
  g_ptr_array_add (log, g_strdup_printf ("vm-removed %s", vm->name));
}

static void
log_device (GPtrArray *log, const char *what, XdDevice *device, gboolean holders)
{
  g_autofree char *key = xd_device_key (device->klass, device->backend, device->port);

  if (holders)
    g_ptr_array_add (log,
                     g_strdup_printf ("%s %s holders=%u", what, key, device->attachments->len));
  else
    g_ptr_array_add (log, g_strdup_printf ("%s %s", what, key));
}

static void
device_added_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-added", device, FALSE);
}

static void
device_added_holders_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-added", device, TRUE);
}

static void
device_changed_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-changed", device, FALSE);
}

static void
device_changed_holders_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-changed", device, TRUE);
}

static void
device_removed_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-removed", device, FALSE);
}

static void
device_removed_holders_cb (XdEngine *engine, XdDevice *device, gpointer log)
{
  log_device (log, "device-removed", device, TRUE);
}

static void
connection_changed_cb (XdEngine *engine, gboolean connected, gpointer log)
{
  g_ptr_array_add (log, g_strdup (connected ? "connected" : "disconnected"));
}

void
xd_test_log_engine_signals (XdEngine *engine, GPtrArray *log, XdTestLogFlags flags)
{
  gboolean all_holders = (flags & XD_TEST_LOG_ALL_HOLDERS) != 0;
  gboolean changed_holders = all_holders || (flags & XD_TEST_LOG_CHANGED_HOLDERS) != 0;

  if (flags & XD_TEST_LOG_VM_ADDED)
    g_signal_connect (engine, "vm-added", G_CALLBACK (vm_added_cb), log);
  if (flags & XD_TEST_LOG_VM_REMOVED)
    g_signal_connect (engine, "vm-removed", G_CALLBACK (vm_removed_cb), log);
  if (flags & XD_TEST_LOG_DEVICE_ADDED)
    g_signal_connect (
      engine, "device-added",
      all_holders ? G_CALLBACK (device_added_holders_cb) : G_CALLBACK (device_added_cb), log);
  if (flags & XD_TEST_LOG_DEVICE_CHANGED)
    g_signal_connect (engine, "device-changed",
                      changed_holders ? G_CALLBACK (device_changed_holders_cb)
                                      : G_CALLBACK (device_changed_cb),
                      log);
  if (flags & XD_TEST_LOG_DEVICE_REMOVED)
    g_signal_connect (
      engine, "device-removed",
      all_holders ? G_CALLBACK (device_removed_holders_cb) : G_CALLBACK (device_removed_cb), log);
  if (flags & XD_TEST_LOG_CONNECTION)
    g_signal_connect (engine, "connection-changed", G_CALLBACK (connection_changed_cb), log);
}

/* ---- synchronous operations ---- */

typedef struct
{
  gboolean done;
  gboolean ok;
  guint n;
  GError *error;
} Outcome;

static void
attach_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outcome *outcome = user_data;
  outcome->ok = xd_engine_attach_finish (XD_ENGINE (source), result, &outcome->error);
  outcome->done = TRUE;
}

static void
detach_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outcome *outcome = user_data;
  outcome->ok = xd_engine_detach_finish (XD_ENGINE (source), result, &outcome->n, &outcome->error);
  outcome->done = TRUE;
}

static gboolean
finish (Outcome *outcome, guint *n, GError **error)
{
  while (!outcome->done)
    g_main_context_iteration (NULL, TRUE);
  if (n)
    *n = outcome->n;
  if (outcome->error)
    g_propagate_error (error, outcome->error);
  return outcome->ok;
}

gboolean
xd_test_engine_attach (XdEngine *engine, XdClassId klass, const char *backend, const char *port,
                       const char *vm, const char *const *options, GError **error)
{
  Outcome outcome = { 0 };

  xd_engine_attach_async (engine, klass, backend, port, vm, options, NULL, attach_cb, &outcome);
  return finish (&outcome, NULL, error);
}

gboolean
xd_test_engine_detach (XdEngine *engine, XdClassId klass, const char *backend, const char *port,
                       const char *vm, guint *n, GError **error)
{
  Outcome outcome = { 0 };

  xd_engine_detach_async (engine, klass, backend, port, vm, NULL, detach_cb, &outcome);
  return finish (&outcome, n, error);
}
