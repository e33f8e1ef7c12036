/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service through which a desktop user who is not root attaches
 * (src/xen/xd-control.h): `xen-device daemon`, run as root with the
 * simulated toolstack on the demo host, and the built `xen-device`, run as
 * an unprivileged user (uid 65534) with and without the service's group.
 * The test's group is "users" (XEN_DEVICES_GROUP), which Debian's
 * base-passwd makes and which puts no user in it. xenstored's socket is
 * opened to everyone here, standing in for the udev rule that gives
 * /dev/xen/xenbus to the group on a real dom0; one test closes it again.
 *
 * Needs root, to run programs as another user.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/xd-error.h"
#include "harness/xd-test-cli.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-control.h"

#define GROUP "users"
#define NOBODY 65534

typedef enum
{
  AS_ROOT,
  AS_MEMBER,   /* uid 65534 with the group */
  AS_OUTSIDER, /* uid 65534 without it */
} Who;

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  char *dir; /* state, the service's socket and its log */
  char *socket;
  char *log;
  char *program; /* a copy of xen-device that uid 65534 can reach */
  GPid service;
} Fixture;

static Fixture *current;

static gid_t
group_gid (void)
{
  struct group *gr = getgrnam (GROUP);

  g_assert_nonnull (gr);
  return gr->gr_gid;
}

static void
become_member (gpointer data)
{
  gid_t gid = GPOINTER_TO_UINT (data);

  if (setgroups (1, &gid) < 0 || setresgid (NOBODY, NOBODY, NOBODY) < 0
      || setresuid (NOBODY, NOBODY, NOBODY) < 0)
    _exit (125);
}

static void
become_outsider (gpointer data)
{
  if (setgroups (0, NULL) < 0 || setresgid (NOBODY, NOBODY, NOBODY) < 0
      || setresuid (NOBODY, NOBODY, NOBODY) < 0)
    _exit (125);
}

/* Runs xen-device with the arguments (NULL-terminated) as @who, with the
 * service chosen as the toolstack; returns its exit status. */
static int
xen_device_as (Who who, XdTestResult *r, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) env = g_get_environ ();
  g_autoptr (GError) error = NULL;
  const char *arg;
  va_list ap;

  /* The build directory may be out of another user's reach (/root). */
  g_ptr_array_add (argv, who == AS_ROOT ? (char *) g_getenv ("XD_XEN_DEVICE") : current->program);
  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (who != AS_ROOT)
    env = g_environ_setenv (env, "XEN_DEVICES_TOOLSTACK", "service", TRUE);
  xd_test_result_clear (r);
  /* The error first: it says why a spawn failed. */
  g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT,
                who == AS_MEMBER     ? become_member
                : who == AS_OUTSIDER ? become_outsider
                                     : NULL,
                GUINT_TO_POINTER (group_gid ()), &r->out, &r->err, &r->status, &error);
  g_assert_no_error (error);
  g_test_message ("as %s: exit status %d\n%s%s",
                  who == AS_ROOT     ? "root"
                  : who == AS_MEMBER ? "a member"
                                     : "an outsider",
                  r->status, r->out, r->err);
  return xd_test_exit_code (r);
}

static char *
service_log (Fixture *fx)
{
  g_autofree char *text = NULL;

  g_file_get_contents (fx->log, &text, NULL, NULL);
  return g_steal_pointer (&text);
}

static void
start_service (Fixture *fx)
{
  const char *argv[] = { g_getenv ("XD_XEN_DEVICE"), "daemon", NULL };
  g_auto (GStrv) env = g_get_environ ();
  g_autoptr (GError) error = NULL;
  int log_fd = g_open (fx->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

  g_assert_cmpint (log_fd, >=, 0);
  g_assert_true (g_spawn_async_with_fds (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &fx->service, -1, log_fd, log_fd, &error));
  g_assert_no_error (error);
  close (log_fd);
  for (int i = 0; i < 500 && !g_file_test (fx->socket, G_FILE_TEST_EXISTS); i++)
    g_usleep (10000);
  g_assert_true (g_file_test (fx->socket, G_FILE_TEST_EXISTS));
  /* And started: it watches xenstore. */
  for (int i = 0; i < 500; i++)
    {
      g_autofree char *log = service_log (fx);
      if (log && strstr (log, "watching xenstore"))
        return;
      g_usleep (10000);
    }
  g_assert_not_reached ();
}

static void
stop_service (Fixture *fx)
{
  int status;

  if (!fx->service)
    return;
  kill (fx->service, SIGTERM);
  g_assert_cmpint (waitpid (fx->service, &status, 0), ==, fx->service);
  g_spawn_close_pid (fx->service);
  fx->service = 0;
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *xs_dir = NULL;

  xd_test_demo_host_start (&fx->daemon, &fx->host);
  /* What the udev rule does for the group on a real dom0. */
  xs_dir = g_path_get_dirname (xd_test_xenstored_get_socket (fx->daemon));
  g_assert_cmpint (g_chmod (xs_dir, 0711), ==, 0);
  g_assert_cmpint (g_chmod (xd_test_xenstored_get_socket (fx->daemon), 0666), ==, 0);

  fx->dir = g_dir_make_tmp ("xd-service-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (fx->dir, 0755), ==, 0);
  fx->program = g_build_filename (fx->dir, "xen-device", NULL);
  {
    g_autoptr (GFile) from = g_file_new_for_path (g_getenv ("XD_XEN_DEVICE"));
    g_autoptr (GFile) to = g_file_new_for_path (fx->program);

    g_assert_true (g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (g_chmod (fx->program, 0755), ==, 0);
  }
  current = fx;
  fx->socket = g_build_filename (fx->dir, "run", "control", NULL);
  fx->log = g_build_filename (fx->dir, "service.log", NULL);
  g_setenv ("XEN_DEVICES_STATE_DIR", fx->dir, TRUE);
  g_setenv ("XEN_DEVICES_TOOLSTACK", "simulated", TRUE);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "5000", TRUE);
  g_setenv ("XEN_DEVICES_CONTROL_SOCKET", fx->socket, TRUE);
  g_setenv ("XEN_DEVICES_GROUP", GROUP, TRUE);
  start_service (fx);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autofree char *log = NULL;
  g_autofree char *lock = g_build_filename (fx->dir, "assignments.lock", NULL);
  g_autofree char *run = g_build_filename (fx->dir, "run", NULL);

  stop_service (fx);
  log = service_log (fx);
  g_test_message ("the service's log:\n%s", log ? log : "");
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_unlink (fx->log);
  g_unlink (fx->program);
  g_unlink (lock);
  g_rmdir (run);
  g_rmdir (fx->dir);
  g_free (fx->dir);
  g_free (fx->socket);
  g_free (fx->log);
  g_free (fx->program);
  current = NULL;
}

/* The holder column of @device's line in `CLASS list` as root, "" if free. */
static char *
holder_of (const char *klass, const char *device)
{
  g_auto (XdTestResult) r = { 0 };
  g_auto (GStrv) lines = NULL;
  g_autofree char *prefix = g_strconcat (device, " ", NULL);

  g_assert_cmpint (xen_device_as (AS_ROOT, &r, klass, "list", NULL), ==, 0);
  lines = g_strsplit (r.out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix))
      {
        g_auto (GStrv) columns = g_regex_split_simple ("  +", lines[i], 0, 0);
        return g_strdup (g_strv_length (columns) > 2 ? columns[2] : "");
      }
  g_assert_not_reached ();
}

/* The socket the service made: root's, the group's, nobody else's. */
static void
test_socket_mode (Fixture *fx, gconstpointer data)
{
  struct stat st;

  g_assert_cmpint (lstat (fx->socket, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpuint (st.st_mode & 07777, ==, 0660);
  g_assert_cmpuint (st.st_uid, ==, 0);
  g_assert_cmpuint (st.st_gid, ==, group_gid ());
}

/* A member attaches and detaches; the service made the change, as root,
 * and logged who asked. */
static void
test_member_attaches (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *holder = NULL;
  g_autofree char *log = NULL;

  g_assert_cmpint (
    xen_device_as (AS_MEMBER, &r, "block", "attach", "personal", "sys-usb:sda2", NULL), ==, 0);
  holder = holder_of ("block", "sys-usb:sda2");
  g_assert_true (g_str_has_prefix (holder, "personal"));
  /* The member sees it too. */
  g_assert_cmpint (xen_device_as (AS_MEMBER, &r, "block", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (r.out, "sys-usb:sda2  SanDisk Cruzer Blade (partition 2)  personal"));

  g_assert_cmpint (
    xen_device_as (AS_MEMBER, &r, "block", "detach", "personal", "sys-usb:sda2", NULL), ==, 0);
  g_clear_pointer (&holder, g_free);
  holder = holder_of ("block", "sys-usb:sda2");
  g_assert_cmpstr (holder, ==, "");

  log = service_log (fx);
  g_assert_nonnull (strstr (log, "attach block 1:sda2 to domain 3 for uid 65534"));
  g_assert_nonnull (strstr (log, "detach block 1:sda2 from domain 3 for uid 65534"));
}

/* The engine's refusals still come from the member's own engine, and an
 * error of the service's toolstack reaches the member with its code: a
 * timeout stays a timeout (exit 1, the toolstack's words). */
static void
test_member_errors (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *log = NULL;

  /* sda1 is work's: refused before anything is sent. */
  g_assert_cmpint (
    xen_device_as (AS_MEMBER, &r, "block", "attach", "personal", "sys-usb:sda1", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "work"));
  log = service_log (fx);
  g_assert_null (strstr (log, "sda1"));
}

/* Persistent assignments live in root's state directory: a member's
 * --persistent is refused, naming it and why, and attaches nothing. */
static void
test_member_persistent_refused (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *holder = NULL;

  g_assert_cmpint (xen_device_as (AS_MEMBER, &r, "block", "attach", "personal", "sys-usb:sda2",
                                  "--persistent", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (r.err, "persistent assignments are root's to set (sudo): "));
  g_assert_nonnull (strstr (r.err, fx->dir));
  g_assert_nonnull (strstr (r.err, "Permission denied"));
  holder = holder_of ("block", "sys-usb:sda2");
  g_assert_cmpstr (holder, ==, "");
}

/* Someone outside the group is refused by the socket's mode, and told why
 * and how to fix it; nothing changes. */
static void
test_outsider_refused (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *holder = NULL;
  g_autofree char *log = NULL;

  g_assert_cmpint (
    xen_device_as (AS_OUTSIDER, &r, "block", "attach", "personal", "sys-usb:sda2", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "cannot reach the xen-devices service"));
  g_assert_nonnull (strstr (r.err, "Permission denied"));
  g_assert_nonnull (strstr (r.err, "members of the group “" GROUP "”"));
  g_assert_nonnull (strstr (r.err, "adduser nobody " GROUP));
  holder = holder_of ("block", "sys-usb:sda2");
  g_assert_cmpstr (holder, ==, "");
  log = service_log (fx);
  g_assert_null (strstr (log, "sda2"));
}

/* Without xenstore (the state of /dev/xen/xenbus for anyone outside the
 * group), one line says what is missing and what fixes it. */
static void
test_outsider_no_xenstore (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };
  const char *socket = xd_test_xenstored_get_socket (fx->daemon);

  g_assert_cmpint (g_chmod (socket, 0600), ==, 0);
  g_assert_cmpint (xen_device_as (AS_OUTSIDER, &r, "list", NULL), ==, 1);
  g_assert_cmpint (g_chmod (socket, 0666), ==, 0);
  g_assert_nonnull (strstr (r.err, "cannot connect to xenstore"));
  g_assert_nonnull (strstr (r.err, "Permission denied. Only root and the members of the group "
                                   "“" GROUP "” may use Xen’s device controls, and you (nobody) "
                                   "are not one. An administrator can add you with “adduser "
                                   "nobody " GROUP "”; then log out and log in again."));
  /* One line. */
  g_assert_true (g_str_has_suffix (r.err, "\n"));
  g_assert_true (strchr (r.err, '\n') == r.err + strlen (r.err) - 1);
}

/* The service is not running: the member is told so, and how to start it. */
static void
test_service_down (Fixture *fx, gconstpointer data)
{
  g_auto (XdTestResult) r = { 0 };

  stop_service (fx);
  g_assert_false (g_file_test (fx->socket, G_FILE_TEST_EXISTS));
  g_assert_cmpint (
    xen_device_as (AS_MEMBER, &r, "block", "attach", "personal", "sys-usb:sda2", NULL), ==, 1);
  g_assert_nonnull (strstr (r.err, "cannot reach the xen-devices service"));
  g_assert_nonnull (strstr (r.err, "is it running?"));
  g_assert_nonnull (strstr (r.err, "systemctl start xen-devices-daemon.socket"));
}

/* ---- The service's own checks, called as a hostile member would ---- */

static GDBusConnection *
connect_service (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *address = g_strconcat ("unix:path=", fx->socket, NULL);
  GDBusConnection *connection = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &error);

  g_assert_no_error (error);
  return connection;
}

/* Calls @method and asserts it fails with XD_ERROR @code and a message
 * holding @text. */
static void
assert_call_fails (GDBusConnection *connection, const char *method, GVariant *parameters,
                   XdError code, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_sync (connection, NULL, XD_CONTROL_PATH, XD_CONTROL_INTERFACE, method,
                                   parameters, NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);

  g_assert_null (reply);
  g_test_message ("%s: %s", method, error->message);
  g_assert_error (error, XD_ERROR, (int) code);
  g_assert_nonnull (strstr (error->message, text));
}

static void
test_requests_checked (Fixture *fx, gconstpointer data)
{
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *log = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  xd_control_register_errors ();
  connection = connect_service (fx);
#define ATTACH(klass, be, fe, port, dev, ro, cd, ms)                                               \
  g_variant_new ("(suussbbu)", klass, be, fe, port, dev, ro, cd, ms)
  assert_call_fails (connection, "Attach", ATTACH ("bogus", 1, 3, "sda2", "xvdj", 0, 0, 5000),
                     XD_ERROR_INVALID, "no device class “bogus”");
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 0, "sda2", "xvdj", 0, 0, 5000),
                     XD_ERROR_REFUSED, "nothing is attached to dom0");
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 1, "sda2", "xvdj", 0, 0, 5000),
                     XD_ERROR_REFUSED, "its own device");
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 70000, "sda2", "xvdj", 0, 0, 5000),
                     XD_ERROR_INVALID, "out of range");
  assert_call_fails (connection, "Attach",
                     ATTACH ("block", 1, 3, "../../etc/shadow", "xvdj", 0, 0, 5000),
                     XD_ERROR_INVALID, "not a block port");
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 3, "sda2", "sda", 0, 0, 5000),
                     XD_ERROR_INVALID, "not a frontend device");
  assert_call_fails (connection, "Attach", ATTACH ("usb", 1, 3, "2-1", "", 1, 0, 5000),
                     XD_ERROR_INVALID, "options of block devices");
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 3, "sda2", "xvdj", 0, 0, 0),
                     XD_ERROR_INVALID, "timeout");
  assert_call_fails (connection, "Detach",
                     g_variant_new ("(ssuususu)", "usb", "vbd", 1, 2, "2-1", 0, "", 5000),
                     XD_ERROR_INVALID, "not a backend kind of usb");
  assert_call_fails (connection, "StopVm", g_variant_new ("(u)", 0), XD_ERROR_REFUSED, "dom0");
  /* Well formed, and refused by the toolstack: its code comes back. */
  assert_call_fails (connection, "Attach", ATTACH ("block", 1, 77, "sda2", "xvdj", 0, 0, 5000),
                     XD_ERROR_UNAVAILABLE, "");
#undef ATTACH
  /* None of it changed the host; the connection still serves. */
  before = holder_of ("block", "sys-usb:sda2");
  g_assert_cmpstr (before, ==, "");
  reply = g_dbus_connection_call_sync (
    connection, NULL, XD_CONTROL_PATH, XD_CONTROL_INTERFACE, "Attach",
    g_variant_new ("(suussbbu)", "block", 1, 3, "sda2", "xvdj", TRUE, FALSE, 5000), NULL,
    G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
  after = holder_of ("block", "sys-usb:sda2");
  g_assert_true (g_str_has_prefix (after, "personal"));
  log = service_log (fx);
  g_assert_nonnull (strstr (log, "refused Attach from uid 0"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (geteuid () != 0)
    {
      /* Never green without having run: a failure that names the cause. */
      g_printerr ("test-service runs programs as another user and needs root\n");
      return 1;
    }
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/service/socket-mode", test_socket_mode);
  ADD ("/service/member-attaches", test_member_attaches);
  ADD ("/service/member-errors", test_member_errors);
  ADD ("/service/member-persistent-refused", test_member_persistent_refused);
  ADD ("/service/outsider-refused", test_outsider_refused);
  ADD ("/service/outsider-no-xenstore", test_outsider_no_xenstore);
  ADD ("/service/down", test_service_down);
  ADD ("/service/requests-checked", test_requests_checked);
#undef ADD
  return g_test_run ();
}
