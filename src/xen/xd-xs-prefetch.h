/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <xen/io/xs_wire.h>

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

/* Calls @func for every whole message at the front of @in (what was read
 * from a connection to xenstored), then removes them; what is left is the
 * start of the next one. Fails with XD_ERROR_UNAVAILABLE on a message longer
 * than the protocol allows. */
typedef void (*XdXsMessageFunc) (const struct xsd_sockmsg *header, const char *payload,
                                 gpointer user_data);
gboolean xd_xs_take_messages (GByteArray *in, XdXsMessageFunc func, gpointer user_data,
                              GError **error);

XdSnapshot *xd_xs_prefetch (const XdReadAheadTree *trees, guint n_trees, guint *n_requests,
                            GError **error);

G_END_DECLS
