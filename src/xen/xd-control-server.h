/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "core/xd-toolstack.h"

G_BEGIN_DECLS

/*
 * The service side of xd-control.h, run by `xen-device daemon` as root: it
 * listens on the socket systemd passed (socket activation, LISTEN_FDS) or
 * else binds xd_control_socket_path () itself, mode 0660 and group
 * XD_GROUP, and makes each call it receives with @toolstack in a worker
 * thread. Every argument is checked before the toolstack sees it (class,
 * port, domain ids, device name, timeout) and every call is logged with the
 * caller's uid and pid, as the kernel reported them.
 */
typedef struct _XdControlServer XdControlServer;

/* @toolstack is borrowed and must outlive the server. */
XdControlServer *xd_control_server_new (XdToolstack *toolstack, GError **error);

/* Where it listens ("socket activation" or the bound path). */
const char *xd_control_server_get_description (XdControlServer *self);

/* Stops listening, closes the connections and waits for the calls in
 * progress to end (each is bounded by its timeout). */
void xd_control_server_free (XdControlServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdControlServer, xd_control_server_free)

G_END_DECLS
