/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A real xenstored (Debian's, unmodified) running as a child of the test
 * under the LD_PRELOAD shim, one per test or fixture. */
typedef struct _XdTestXenstored XdTestXenstored;

/* Starts a daemon in a fresh private directory under g_get_tmp_dir () and
 * waits (up to about 5 s) until its socket accepts a connection. The daemon
 * is $XD_XENSTORED (default /usr/lib/xen-4.17/bin/xenstored); the shim is
 * $XD_XENSTORED_SHIM, which must be set. The daemon is killed when the
 * thread that started it exits, so it never outlives the test; its output
 * goes to DIR/xenstored.log. */
XdTestXenstored *xd_test_xenstored_start (GError **error);
/* The same in @dir (created if missing), which free() leaves in place with
 * the log in it. */
XdTestXenstored *xd_test_xenstored_start_in_dir (const char *dir, GError **error);

const char *xd_test_xenstored_get_socket (XdTestXenstored *self);
const char *xd_test_xenstored_get_dir (XdTestXenstored *self);
/* 0 while no daemon runs. */
GPid xd_test_xenstored_get_pid (XdTestXenstored *self);

/* Sets XENSTORED_PATH so that libxenstore clients opened afterwards in this
 * process and its children connect to this daemon. */
void xd_test_xenstored_setenv (XdTestXenstored *self);

/* SIGKILLs the daemon and reaps it: the store is lost, as when a real
 * xenstored crashes. */
void xd_test_xenstored_kill (XdTestXenstored *self);
/* Starts a new, empty daemon on the same socket path (after kill). */
gboolean xd_test_xenstored_restart (XdTestXenstored *self, GError **error);

/* Kills and reaps the daemon and removes its directory. NULL-safe. */
void xd_test_xenstored_free (XdTestXenstored *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdTestXenstored, xd_test_xenstored_free)

G_END_DECLS
