/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "core/xd-engine.h"

G_BEGIN_DECLS

#define XD_TYPE_NOTIFIER (xd_notifier_get_type ())
G_DECLARE_FINAL_TYPE (XdNotifier, xd_notifier, XD, NOTIFIER, GObject)

/*
 * Desktop notifications that observe the engine: a device became available
 * or was removed (not for devices present at start-up, and only while the
 * "notify-availability" setting is on), was attached or detached. One
 * notification per device, replaced rather than stacked; errors get their
 * own so that a later success does not hide them. Every body is escaped. A
 * missing notification server is logged, never fatal.
 *
 * org.freedesktop.Notifications is called asynchronously, with a timeout of
 * its own: a hung server never blocks the main loop. A server that does not
 * answer in time is logged, naming what it was sent.
 *
 * @settings: the org.xendevices.Widget settings, or NULL for defaults.
 */
XdNotifier *xd_notifier_new (XdEngine *engine, GSettings *settings);
/* An operation failed: shown as an error notification of its own. */
void xd_notifier_error (XdNotifier *self, const char *summary, const char *body);

/* One error notification sent when the widget cannot start and is about to
 * exit: blocks for at most the call's timeout, which nothing else waits on
 * then (there is no menu). @body is escaped. */
gboolean xd_notifier_send_final (const char *summary, const char *body, GError **error);

G_END_DECLS
