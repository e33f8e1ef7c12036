/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-engine.h"
#include "xd-test-xenstored.h"
#include "xen/xd-sim-host.h"

G_BEGIN_DECLS

/* A real xenstored for this test (XENSTORED_PATH set for it) holding the
 * demo host (xd_sim_host_populate_demo ()): what most fixtures start from. */
void xd_test_demo_host_start (XdTestXenstored **daemon, XdSimHost **host);

/* A GSourceFunc that sets the gboolean at @flag and removes its source. */
gboolean xd_test_timeout_cb (gpointer flag);

/* Runs the main loop for @ms. */
void xd_test_spin (guint ms);

/* Whether @log (strings) holds exactly @entry. */
gboolean xd_test_log_contains (GPtrArray *log, const char *entry);

/* Runs the main loop until @entry shows in @log; aborts the test with the
 * whole log after @timeout_ms. */
void xd_test_wait_for_line (GPtrArray *log, const char *entry, guint timeout_ms);

/* Which engine signals xd_test_log_engine_signals () records, one line each. */
typedef enum
{
  XD_TEST_LOG_VM_ADDED = 1 << 0,       /* "vm-added NAME" */
  XD_TEST_LOG_VM_REMOVED = 1 << 1,     /* "vm-removed NAME" */
  XD_TEST_LOG_DEVICE_ADDED = 1 << 2,   /* "device-added KEY" */
  XD_TEST_LOG_DEVICE_CHANGED = 1 << 3, /* "device-changed KEY" */
  XD_TEST_LOG_DEVICE_REMOVED = 1 << 4, /* "device-removed KEY" */
  XD_TEST_LOG_CONNECTION = 1 << 5,     /* "connected", "disconnected" */
  /* Appends " holders=N" to the device-changed lines. */
  XD_TEST_LOG_CHANGED_HOLDERS = 1 << 6,
  /* Appends " holders=N" to every device line. */
  XD_TEST_LOG_ALL_HOLDERS = 1 << 7,
} XdTestLogFlags;

/* Connects handlers to @engine that append the lines of @flags to @log,
 * which must outlive the engine's signals (or be disconnected by the
 * engine's finalization). */
void xd_test_log_engine_signals (XdEngine *engine, GPtrArray *log, XdTestLogFlags flags);

/* xd_engine_attach_async () and xd_engine_detach_async (), run to the end
 * in the main loop. @n (may be NULL) receives the number detached. */
gboolean xd_test_engine_attach (XdEngine *engine, XdClassId klass, const char *backend,
                                const char *port, const char *vm, const char *const *options,
                                GError **error);
gboolean xd_test_engine_detach (XdEngine *engine, XdClassId klass, const char *backend,
                                const char *port, const char *vm, guint *n, GError **error);

G_END_DECLS
