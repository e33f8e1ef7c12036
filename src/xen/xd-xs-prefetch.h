/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/xd-store-snapshot.h"

G_BEGIN_DECLS

/*
 * Reads @trees (xd-store.h) from xenstored in
 * bulk: its own connections to the daemon's socket (16), breadth first, many
 * requests in flight instead of one round trip each;
 * a node listed that has no children, or read that has some, is left for
 * the live store to answer, as is a path that fails with anything but
 * ENOENT. Fails
 * with XD_ERROR_UNAVAILABLE where there is no socket (xenstored in a stub
 * domain) or the daemon stops answering; @n_requests counts what was sent.
 */
/* A new connection to xenstored's socket (xs_daemon_socket ()): its fd, or
 * -1 with XD_ERROR_UNAVAILABLE. */
int xd_xs_connect_socket (GError **error);

XdSnapshot *xd_xs_prefetch (const XdReadAheadTree *trees, guint n_trees, guint *n_requests,
                            GError **error);

G_END_DECLS
