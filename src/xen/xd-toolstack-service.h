/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-toolstack.h"

G_BEGIN_DECLS

/*
 * The toolstack seam for a desktop user who is not root: each call is sent
 * to the system service (`xen-device daemon`, xd-control.h), which makes it
 * with libxl as root and answers with the result or the error, domain and
 * code kept. Nothing is opened until the first call; a connection that
 * closed (the service restarted) is opened again at the next one.
 *
 * Errors of its own: XD_ERROR_UNAVAILABLE when the service cannot be
 * reached, naming the socket and what fixes it (start the service, join
 * the group, log in again); XD_ERROR_TIMEOUT when no answer came within the
 * call's own timeout and a margin.
 */
XdToolstack *xd_toolstack_service_new (const char *socket_path);

G_END_DECLS
