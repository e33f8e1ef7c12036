/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The store's watch connection, spoken directly on xenstored's socket.
 *
 * libxenstore waits for the reply to each XS_WATCH: two context switches
 * and a turn of the daemon's poll loop each, 150 µs here, 25 ms for the 150
 * watches of 50 domains. Here a watch is sent without waiting; its reply
 * comes later (an error is logged with the path it names), and
 * xd_xs_watcher_settle () waits for every reply still due, which the store
 * does before it reads anything, so that what it reads is covered by the
 * watches asked for before.
 *
 * Events are queued as they are read, settle () included, and taken with
 * xd_xs_watcher_next_event (). Where the daemon has no socket (a stub
 * domain), connecting fails and the store uses libxenstore as before.
 */
typedef struct _XdXsWatcher XdXsWatcher;

/* NULL with XD_ERROR_UNAVAILABLE where the socket cannot be reached. */
XdXsWatcher *xd_xs_watcher_connect (GError **error);
void xd_xs_watcher_free (XdXsWatcher *watcher);

/* For the main loop: readable when the daemon sent something. */
int xd_xs_watcher_get_fd (XdXsWatcher *watcher);

/* Send a request; FALSE if the connection is gone. */
gboolean xd_xs_watcher_watch (XdXsWatcher *watcher, const char *path, const char *token,
                              GError **error);
gboolean xd_xs_watcher_unwatch (XdXsWatcher *watcher, const char *path, const char *token,
                                GError **error);

/* How many requests still await their reply. */
guint xd_xs_watcher_get_pending (XdXsWatcher *watcher);

/* Waits (up to 5 s) until every request sent has its reply; FALSE if the
 * connection is gone or the daemon does not answer. */
gboolean xd_xs_watcher_settle (XdXsWatcher *watcher, GError **error);

/* Reads what is there without blocking; FALSE if the connection is gone
 * (what was queued before stays queued). */
gboolean xd_xs_watcher_receive (XdXsWatcher *watcher, GError **error);

/* Takes the oldest queued event: TRUE with @path and @token (g_free ()),
 * or FALSE when there is none. */
gboolean xd_xs_watcher_next_event (XdXsWatcher *watcher, char **path, char **token);
gboolean xd_xs_watcher_has_events (XdXsWatcher *watcher);

G_END_DECLS
