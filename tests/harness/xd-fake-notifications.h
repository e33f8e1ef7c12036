/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A fake org.freedesktop.Notifications server for the dbus suite: it
 * implements the interface with GDBus in a thread of its own (so that it
 * answers while the test's main thread waits, and so that a notifier that
 * blocked its main loop on a call would still get an answer, late) and
 * records every Notify call, so that tests assert on exactly what a desktop
 * would have received. It can hold its Notify replies back, to play a slow
 * or hung server.
 */
typedef struct _XdFakeNotifications XdFakeNotifications;

/* One Notify call. */
typedef struct
{
  char *app_name;
  guint replaces_id;
  guint id; /* what the server answered */
  char *summary;
  char *body;
  int expire_timeout;
  int urgency; /* the "urgency" hint, -1 without one */
} XdFakeNotification;

/* "body" and "body-markup". */
extern const char *const xd_fake_notifications_default_caps[];

/* Connects to the bus at @bus_address, exports the server, owns
 * org.freedesktop.Notifications and returns once it answers calls.
 * @caps is what GetCapabilities returns (NULL: the default caps); it must
 * outlive the server. Aborts the test on failure. */
XdFakeNotifications *xd_fake_notifications_start (const char *bus_address, const char *const *caps);
/* Releases the name, closes the connection and joins the thread. NULL-safe. */
void xd_fake_notifications_stop (XdFakeNotifications *self);

/* How many Notify calls were received so far (thread-safe). */
guint xd_fake_notifications_count (XdFakeNotifications *self);
/* The @i-th Notify call. Records are never removed while the server runs, so
 * the pointer stays valid until stop. */
const XdFakeNotification *xd_fake_notifications_get (XdFakeNotifications *self, guint i);
/* The last call; asserts there is one. */
const XdFakeNotification *xd_fake_notifications_last (XdFakeNotifications *self);
/* Blocks (without running any main context) until at least @n calls were
 * received or @timeout_ms passed; returns whether they were. */
gboolean xd_fake_notifications_wait_count (XdFakeNotifications *self, guint n, guint timeout_ms);

/* From now on each Notify is recorded at once but answered @delay_ms later;
 * G_MAXUINT: never (a hung server; stop then answers with an error). 0, the
 * default: at once. Thread-safe. */
void xd_fake_notifications_set_reply_delay (XdFakeNotifications *self, guint delay_ms);
/* How many Notify replies are being held back (thread-safe). */
guint xd_fake_notifications_held (XdFakeNotifications *self);

G_END_DECLS
