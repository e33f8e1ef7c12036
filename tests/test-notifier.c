/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The notifier against a notification server on a private D-Bus session bus
 * (a real dbus-daemon through GTestDBus). The server is ours, in this
 * process (tests/harness/xd-fake-notifications.c): it implements
 * org.freedesktop.Notifications with GDBus in a thread of its own and
 * records every Notify call, so the tests assert on exactly what a desktop
 * would have received. The notifier's calls are asynchronous: an event has
 * been seen before its bubble goes out, so the tests run the main loop until
 * the server has it. Underneath: a real xenstored with the demo
 * host, the engine watching it and the simulated toolstack.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>
#include <sys/wait.h>

#include "core/xd-engine.h"
#include "harness/xd-fake-notifications.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "tray/xd-notifier.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
#include "xen/xd-xs-store.h"

/* The demo host's domids. */
enum
{
  DOM0 = 0,
  SYS_USB = 1,
  WORK = 2,
};

static GTestDBus *bus;

/* ---- the fake notification server (tests/harness) ---- */

static XdFakeNotifications *
server_start (const char *const *caps)
{
  return xd_fake_notifications_start (g_test_dbus_get_bus_address (bus), caps);
}

/* ---- fixture ---- */

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  XdEngine *engine;
  GSettings *settings;
  XdFakeNotifications *server; /* NULL while there is none */
  XdNotifier *notifier;
  GPtrArray *log; /* engine signals, after the notifier saw them */
  char *state_dir;
  guint messages;     /* g_message () calls of the notifier */
  char *last_message; /* the last of them */
} Fixture;

typedef struct
{
  gboolean no_server;
  const char *const *caps;
} Params;

static const Params with_server = { FALSE, NULL };
static const Params without_server = { TRUE, NULL };
static const char *const summary_only_caps[] = { "actions", NULL };
static const Params summary_only = { FALSE, summary_only_caps };

static void
count_message_cb (const char *log_domain, GLogLevelFlags log_level, const char *message,
                  gpointer user_data)
{
  Fixture *fx = user_data;

  g_test_message ("logged: %s", message);
  fx->messages++;
  g_free (fx->last_message);
  fx->last_message = g_strdup (message);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  const Params *params = data;
  g_autoptr (GError) error = NULL;
  XdStore *store;

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_no_error (error);
  fx->state_dir = g_build_filename (g_get_user_data_dir (), "state", NULL);
  g_setenv ("XEN_DEVICES_STATE_DIR", fx->state_dir, TRUE);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "3000", TRUE);
  fx->log = g_ptr_array_new_with_free_func (g_free);

  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  xd_engine_set_toolstack (fx->engine, xd_toolstack_sim_new (&error));
  g_assert_no_error (error);
  g_assert_true (xd_engine_load (fx->engine, TRUE, &error));
  g_assert_no_error (error);

  fx->settings = g_settings_new ("org.xendevices.Widget");
  if (!params->no_server)
    fx->server = server_start (params->caps);
  g_log_set_handler ("xd-tray", G_LOG_LEVEL_MESSAGE, count_message_cb, fx);
  fx->notifier = xd_notifier_new (fx->engine, fx->settings);

  /* Connected after the notifier, so its handlers have run when the log
   * shows an event. */
  xd_test_log_engine_signals (fx->engine, fx->log,
                              XD_TEST_LOG_DEVICE_ADDED | XD_TEST_LOG_DEVICE_CHANGED
                                | XD_TEST_LOG_DEVICE_REMOVED | XD_TEST_LOG_CHANGED_HOLDERS);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->notifier);
  g_log_set_handler ("xd-tray", G_LOG_LEVEL_MESSAGE, g_log_default_handler, NULL);
  g_clear_pointer (&fx->server, xd_fake_notifications_stop);
  /* The memory backend outlives the test. */
  g_settings_reset (fx->settings, "notify-availability");
  g_clear_object (&fx->settings);
  g_clear_object (&fx->engine);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_ptr_array_unref (fx->log);
  g_free (fx->state_dir);
  g_free (fx->last_message);
}

/* ---- driving it ---- */

static void
wait_for (Fixture *fx, const char *entry)
{
  xd_test_wait_for_line (fx->log, entry, 10000);
}

/* Lets whatever is pending in the main loop run. */
static void
settle (void)
{
  xd_test_spin (200);
}

static guint
notifications (Fixture *fx)
{
  return xd_fake_notifications_count (fx->server);
}

static guint
messages (Fixture *fx)
{
  return fx->messages;
}

/* Runs the main loop until @count (fx) reaches @n. The server records calls
 * in its own thread, which does not wake this one: polled. */
static void
spin_until (Fixture *fx, guint (*count) (Fixture *fx), guint n, const char *what)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (count (fx) < n)
    {
      if (g_get_monotonic_time () > end)
        g_error ("timed out waiting for %u %s (%u so far)", n, what, count (fx));
      xd_test_spin (10);
    }
}

static void
wait_notifications (Fixture *fx, guint n)
{
  spin_until (fx, notifications, n, "notifications");
}

static void
wait_messages (Fixture *fx, guint n)
{
  spin_until (fx, messages, n, "log messages");
}

static void
publish (Fixture *fx, const char *klass, const char *port, const char *desc)
{
  g_autoptr (GError) error = NULL;
  const char *const kv[] = { "desc", desc, "size", "8000000000", "mode", "w", NULL };
  const char *const kv_usb[] = { "desc", desc, NULL };

  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, klass, port,
                                             strcmp (klass, "block") == 0 ? kv : kv_usb, &error));
  g_assert_no_error (error);
}

static void
unpublish (Fixture *fx, const char *klass, const char *port)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, klass, port, &error));
  g_assert_no_error (error);
}

static void
attach (Fixture *fx, XdClassId klass, const char *port, const char *vm)
{
  GError *error = NULL;
  gboolean ok = xd_test_engine_attach (fx->engine, klass, "sys-usb", port, vm, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
detach (Fixture *fx, XdClassId klass, const char *port, const char *vm)
{
  GError *error = NULL;
  gboolean ok = xd_test_engine_detach (fx->engine, klass, "sys-usb", port, vm, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static const XdFakeNotification *
last_record (Fixture *fx)
{
  return xd_fake_notifications_last (fx->server);
}

/* ---- tests ---- */

static void
test_lifecycle (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;
  guint sdb_id, n;

  /* The demo host's devices were there before the notifier: no news. */
  settle ();
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 0);

  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  wait_notifications (fx, 1);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->app_name, ==, "Devices");
  g_assert_cmpstr (r->summary, ==, "Device available");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (Kingston DataTraveler) is available.");
  g_assert_cmpuint (r->replaces_id, ==, 0);
  g_assert_cmpint (r->expire_timeout, ==, -1);
  sdb_id = r->id;

  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  wait_notifications (fx, 2);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 2);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (Kingston DataTraveler) was attached to work.");
  g_assert_cmpuint (r->replaces_id, ==, sdb_id);

  /* Another device has a bubble of its own; USB ports are shown with dots. */
  attach (fx, XD_CLASS_USB, "2-1_3", "vault");
  wait_for (fx, "device-changed 1/usb/2-1_3 holders=1");
  wait_notifications (fx, 3);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpstr (r->body, ==, "sys-usb:2-1.3 (Logitech USB Receiver) was attached to vault.");
  g_assert_cmpuint (r->replaces_id, ==, 0);
  g_assert_cmpuint (r->id, !=, sdb_id);

  detach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=0");
  wait_notifications (fx, 4);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device detached");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (Kingston DataTraveler) was detached from work.");
  g_assert_cmpuint (r->replaces_id, ==, sdb_id);

  unpublish (fx, "block", "sdb");
  wait_for (fx, "device-removed 1/block/sdb");
  wait_notifications (fx, 5);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device removed");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (Kingston DataTraveler) has been removed.");
  g_assert_cmpuint (r->replaces_id, ==, sdb_id);

  /* Exactly one notification per event, and none for anything else. */
  n = xd_fake_notifications_count (fx->server);
  settle ();
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, n);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpuint (fx->messages, ==, 0);
}

/* A change made by another process (xen-device) reaches the notifier the
 * same way: through xenstore. */
static void
test_command_line (Fixture *fx, gconstpointer data)
{
  const char *argv[]
    = { g_getenv ("XD_XEN_DEVICE"), "block", "detach", "work", "sys-usb:sda1", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  const XdFakeNotification *r;
  int status;

  g_assert_nonnull (argv[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) != 0)
    g_error ("xen-device failed: %s", err);

  wait_for (fx, "device-changed 1/block/sda1 holders=0");
  wait_notifications (fx, 1);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device detached");
  g_assert_cmpstr (r->body, ==,
                   "sys-usb:sda1 (SanDisk Cruzer Blade (partition 1)) was detached from work.");
}

static void
test_availability_off (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;

  g_settings_set_boolean (fx->settings, "notify-availability", FALSE);

  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  settle ();
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 0);

  /* Attaching and detaching are still told. */
  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  wait_notifications (fx, 1);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  detach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=0");
  wait_notifications (fx, 2);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 2);

  unpublish (fx, "block", "sdb");
  wait_for (fx, "device-removed 1/block/sdb");
  settle ();
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 2);
}

static void
test_escaped (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;

  publish (fx, "block", "sdc", "<b>x</b> & <a href=\"https://evil.example/\">click</a> 'me'");
  wait_for (fx, "device-added 1/block/sdc");
  wait_notifications (fx, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->body, ==,
                   "sys-usb:sdc (&lt;b&gt;x&lt;/b&gt; &amp; &lt;a "
                   "href=&quot;https://evil.example/&quot;&gt;click&lt;/a&gt; &apos;me&apos;) is "
                   "available.");
}

static void
test_error (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;
  guint device_id, error_id;

  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  wait_notifications (fx, 1);
  device_id = last_record (fx)->id;
  g_assert_cmpint (last_record (fx)->urgency, !=, 2);

  xd_notifier_error (fx->notifier, "Error", "Attaching sys-usb:sdb to work failed: <timeout>");
  wait_notifications (fx, 2);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 2);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Error");
  g_assert_cmpstr (r->body, ==, "Attaching sys-usb:sdb to work failed: &lt;timeout&gt;");
  g_assert_cmpuint (r->replaces_id, ==, 0);
  g_assert_cmpuint (r->id, !=, device_id);
  g_assert_cmpint (r->urgency, ==, 2 /* critical */);
  error_id = r->id;

  /* The device's next event replaces its own bubble, not the error. */
  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  wait_notifications (fx, 3);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpuint (r->replaces_id, ==, device_id);

  /* And a second error does not replace the first. */
  xd_notifier_error (fx->notifier, "Error", "again");
  wait_notifications (fx, 4);
  r = last_record (fx);
  g_assert_cmpuint (r->replaces_id, ==, 0);
  g_assert_cmpuint (r->id, !=, error_id);
  g_assert_cmpuint (r->id, !=, device_id);
}

static void
test_no_server (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;

  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  wait_messages (fx, 1);
  g_assert_cmpuint (fx->messages, ==, 1);

  /* Logged once, not at every event; nothing crashes. */
  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  xd_notifier_error (fx->notifier, "Error", "nobody will see this");
  settle ();
  g_assert_cmpuint (fx->messages, ==, 1);

  /* A server that turns up later gets the next event. */
  fx->server = server_start (NULL);
  detach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=0");
  wait_notifications (fx, 1);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device detached");
  g_assert_cmpstr (r->body, ==, "sys-usb:sdb (Kingston DataTraveler) was detached from work.");
  g_assert_cmpuint (fx->messages, ==, 1);
}

/* A server that shows no body (an on-screen display) gets the sentence as
 * the summary, unescaped: summaries are never markup. */
static void
test_summary_only (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;

  publish (fx, "block", "sdc", "A & B");
  wait_for (fx, "device-added 1/block/sdc");
  wait_notifications (fx, 1);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "sys-usb:sdc (A & B) is available.");
  g_assert_cmpstr (r->body, ==, "");
}

/* A timer on the main loop, and the longest it went without running. */
typedef struct
{
  gint64 last;
  gint64 max_gap;
} Ticker;

static gboolean
tick_cb (gpointer user_data)
{
  Ticker *ticker = user_data;
  gint64 now = g_get_monotonic_time ();

  ticker->max_gap = MAX (ticker->max_gap, now - ticker->last);
  ticker->last = now;
  return G_SOURCE_CONTINUE;
}

/* The server holds each reply for 3 s. The main loop goes on meanwhile: a
 * 100 ms timer never waits long (a synchronous Notify stopped the loop until
 * the reply: this test failed against libnotify). The device's next bubble
 * waits for the first one's id, to replace it rather than stack. */
static void
test_slow_server (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;
  Ticker ticker = { g_get_monotonic_time (), 0 };
  guint timer;

  xd_fake_notifications_set_reply_delay (fx->server, 3000);
  timer = g_timeout_add (100, tick_cb, &ticker);
  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  wait_notifications (fx, 1);
  /* The Notify is out and its reply still held. */
  g_assert_cmpuint (xd_fake_notifications_held (fx->server), ==, 1);

  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  g_assert_cmpuint (xd_fake_notifications_held (fx->server), ==, 1);
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);

  wait_notifications (fx, 2);
  g_source_remove (timer);
  tick_cb (&ticker);
  g_test_message ("longest wait of the 100 ms timer: %" G_GINT64_FORMAT " ms",
                  ticker.max_gap / 1000);
  g_assert_cmpint (ticker.max_gap, <, G_TIME_SPAN_SECOND);

  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpuint (r->replaces_id, !=, 0);
  g_assert_cmpuint (r->replaces_id, ==, xd_fake_notifications_get (fx->server, 0)->id);
  g_assert_cmpuint (fx->messages, ==, 0);
}

/* A server that never answers: after the notifier's timeout the bubble is
 * logged as not shown, and the device's next one goes out (on its own: the
 * first one's id never came). Disposal with that call in flight is safe:
 * its callback runs later and finds no notifier. */
static void
test_hung_server (Fixture *fx, gconstpointer data)
{
  const XdFakeNotification *r;

  xd_fake_notifications_set_reply_delay (fx->server, G_MAXUINT);
  publish (fx, "block", "sdb", "Kingston DataTraveler");
  wait_for (fx, "device-added 1/block/sdb");
  wait_notifications (fx, 1);
  attach (fx, XD_CLASS_BLOCK, "sdb", "work");
  wait_for (fx, "device-changed 1/block/sdb holders=1");
  g_assert_cmpuint (xd_fake_notifications_count (fx->server), ==, 1);

  wait_messages (fx, 1);
  g_assert_nonnull (strstr (fx->last_message,
                            "Device available: sys-usb:sdb (Kingston DataTraveler) is available."));
  wait_notifications (fx, 2);
  r = last_record (fx);
  g_assert_cmpstr (r->summary, ==, "Device attached");
  g_assert_cmpuint (r->replaces_id, ==, 0);

  g_clear_object (&fx->notifier);
  settle ();
  g_assert_cmpuint (fx->messages, ==, 1);
  g_assert_cmpuint (xd_fake_notifications_held (fx->server), ==, 2);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* One private session bus for the whole run; each test brings its own
   * notification server onto it (or none). */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);

#define ADD(path, params, func)                                                                    \
  g_test_add (path, Fixture, params, fixture_setup, func, fixture_teardown)
  ADD ("/xd/notifier/lifecycle", &with_server, test_lifecycle);
  ADD ("/xd/notifier/command-line", &with_server, test_command_line);
  ADD ("/xd/notifier/availability-off", &with_server, test_availability_off);
  ADD ("/xd/notifier/escaped", &with_server, test_escaped);
  ADD ("/xd/notifier/error", &with_server, test_error);
  ADD ("/xd/notifier/no-server", &without_server, test_no_server);
  ADD ("/xd/notifier/summary-only", &summary_only, test_summary_only);
  ADD ("/xd/notifier/slow-server", &with_server, test_slow_server);
  ADD ("/xd/notifier/hung-server", &with_server, test_hung_server);
#undef ADD
  status = g_test_run ();

  g_test_dbus_down (bus);
  g_object_unref (bus);
  return status;
}
