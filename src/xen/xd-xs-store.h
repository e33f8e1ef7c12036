/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/xd-store.h"

G_BEGIN_DECLS

/* Connects to xenstored through libxenstore (XENSTORED_PATH, then the
 * default socket, then /dev/xen/xenbus). Fails with XD_ERROR_UNAVAILABLE
 * naming what was tried. Watches are delivered in the thread-default main
 * context of the caller. If the daemon goes away the store keeps trying to
 * reconnect and reports both edges through the listener. */
XdStore *xd_xs_store_new (GError **error);

/* A connection for one thread without a main loop: no watches, no
 * reconnecting; reads and writes fail with XD_ERROR_UNAVAILABLE once the
 * daemon is gone. Used by one-shot commands and worker threads. */
XdStore *xd_xs_store_new_plain (GError **error);

/* The places libxenstore tries, for error messages: "A and B". */
char *xd_xs_store_describe_target (void);

G_END_DECLS
