/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated toolstack against a real xenstored (Debian's daemon under
 * tests/shim) on the demo host: dom0 0, sys-usb 1, work 2, personal 3,
 * vault 4, untrusted 5; sys-usb exposes sda, sda1 (held by work as xvdi),
 * sda2, and USB 2-1 and 2-1.3.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
#include "xen/xd-xs-store.h"

#define TIMEOUT_MS 5000
/* xvdi and xvdj as libxl numbers them. */
#define XVDI 51840
#define XVDJ 51856

#define BE_SDA2 "/local/domain/1/backend/vbd/3/51840"
#define FE_SDA2 "/local/domain/3/device/vbd/51840"
#define LIBXL_SDA2 "/libxl/3/device/vbd/51840"

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  struct xs_handle *xsh; /* the host's, for looking */
  XdToolstack *ts;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_no_error (error);
  fx->xsh = xd_sim_host_get_handle (fx->host);
  fx->ts = xd_toolstack_sim_new (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (fx->ts->name, ==, "simulated");
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->ts, xd_toolstack_free);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
}

/* ---- looking at the store ---- */

static char *
read_node (Fixture *fx, const char *path)
{
  unsigned int len = 0;
  char *raw = xs_read (fx->xsh, XBT_NULL, path, &len);
  char *value;

  if (!raw)
    return NULL;
  value = g_strndup (raw, len);
  free (raw);
  return value;
}

static gboolean
has_node (Fixture *fx, const char *path)
{
  g_autofree char *value = read_node (fx, path);
  return value != NULL;
}

static char *
perms_of (Fixture *fx, const char *path)
{
  unsigned int n = 0;
  struct xs_permissions *perms = xs_get_permissions (fx->xsh, XBT_NULL, path, &n);
  GString *out = g_string_new (NULL);

  for (unsigned int i = 0; perms && i < n; i++)
    {
      char c = perms[i].perms == XS_PERM_READ    ? 'r'
               : perms[i].perms == XS_PERM_WRITE ? 'w'
               : perms[i].perms == XS_PERM_NONE  ? 'n'
                                                 : 'b';
      g_string_append_printf (out, "%s%c%u", i ? "," : "", c, perms[i].id);
    }
  free (perms);
  return g_string_free (out, FALSE);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GStrv
children_of (Fixture *fx, const char *path)
{
  unsigned int n = 0;
  char **raw = xs_directory (fx->xsh, XBT_NULL, path, &n);
  GStrv names = g_new0 (char *, n + 1);

  for (unsigned int i = 0; raw && i < n; i++)
    names[i] = g_strdup (raw[i]);
  free (raw);
  if (n > 1)
    qsort (names, n, sizeof (char *), compare_strings);
  return names;
}

/* "path = "value" perms" for @path and everything below it, sorted. */
static void
dump (Fixture *fx, const char *path, GString *out)
{
  g_autofree char *value = read_node (fx, path);
  g_autofree char *perms = NULL;
  g_auto (GStrv) children = NULL;

  if (!value)
    return;
  perms = perms_of (fx, path);
  g_string_append_printf (out, "%s = \"%s\" %s\n", path, value, perms);
  children = children_of (fx, path);
  for (guint i = 0; children[i]; i++)
    {
      g_autofree char *child = g_strdup_printf ("%s/%s", path, children[i]);
      dump (fx, child, out);
    }
}

static char *
snapshot (Fixture *fx)
{
  GString *out = g_string_new (NULL);
  dump (fx, "/local/domain", out);
  dump (fx, "/libxl", out);
  return g_string_free (out, FALSE);
}

/* @snap without the lines of paths under any of @prefixes. */
static char *
snapshot_without (const char *snap, const char *const *prefixes)
{
  g_auto (GStrv) lines = g_strsplit (snap, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i]; i++)
    {
      gboolean skip = FALSE;
      for (guint p = 0; prefixes[p]; p++)
        {
          gsize len = strlen (prefixes[p]);
          if (strncmp (lines[i], prefixes[p], len) == 0
              && (lines[i][len] == '/' || lines[i][len] == ' '))
            skip = TRUE;
        }
      if (!skip && *lines[i])
        g_string_append_printf (out, "%s\n", lines[i]);
    }
  return g_string_free (out, FALSE);
}

/* "key=value;" for each direct child of @path that has no children, sorted. */
static char *
leaves_of (Fixture *fx, const char *path)
{
  g_auto (GStrv) children = children_of (fx, path);
  GString *out = g_string_new (NULL);

  for (guint i = 0; children[i]; i++)
    {
      g_autofree char *child = g_strdup_printf ("%s/%s", path, children[i]);
      g_autofree char *value = read_node (fx, child);
      g_string_append_printf (out, "%s=%s;", children[i], value);
    }
  return g_string_free (out, FALSE);
}

static void
assert_node (Fixture *fx, const char *path, const char *expected)
{
  g_autofree char *value = read_node (fx, path);
  g_assert_cmpstr (value, ==, expected);
}

static void
assert_perms (Fixture *fx, const char *path, const char *expected)
{
  g_autofree char *perms = perms_of (fx, path);
  g_assert_cmpstr (perms, ==, expected);
}

static XdAttachRequest
block_request (guint frontend, const char *port, const char *dev, gboolean read_only)
{
  XdAttachRequest r = { 0 };
  r.klass = XD_CLASS_BLOCK;
  r.backend = 1;
  r.frontend = frontend;
  r.port = port;
  r.frontend_dev = dev;
  r.read_only = read_only;
  return r;
}

static XdAttachRequest
usb_request (guint frontend, const char *port)
{
  XdAttachRequest r = { 0 };
  r.klass = XD_CLASS_USB;
  r.backend = 1;
  r.frontend = frontend;
  r.port = port;
  return r;
}

static void
attach_ok (Fixture *fx, const XdAttachRequest *request)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (xd_toolstack_attach (fx->ts, request, TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
}

static XdAttachment *
vbd_attachment (guint frontend, const char *port, guint devid)
{
  XdAttachment *a = xd_attachment_new ();
  a->klass = XD_CLASS_BLOCK;
  a->backend = 1;
  a->frontend = frontend;
  a->port = g_strdup (port);
  a->kind = g_strdup ("vbd");
  a->devid = devid;
  return a;
}

/* ---- tests ---- */

static void
test_block_attach_nodes (Fixture *fx, gconstpointer data)
{
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);

  attach_ok (fx, &request);

  /* What libxl writes, and the copy it keeps; the copy's state stays 1. */
  {
    g_autofree char *record = leaves_of (fx, LIBXL_SDA2);
    g_assert_cmpstr (record, ==,
                     "backend=" BE_SDA2 ";bootable=1;dev=xvdi;device-type=disk;discard-enable=0;"
                     "frontend=" FE_SDA2 ";frontend-id=3;mode=r;online=1;params=/dev/sda2;"
                     "removable=0;script=/etc/xen/scripts/block;specification=xen;state=1;"
                     "type=phy;");
  }
  assert_perms (fx, LIBXL_SDA2, "n0");
  assert_perms (fx, LIBXL_SDA2 "/params", "n0");

  /* The backend: libxl's entries, then blkback's and the hotplug script's;
   * no discard features for a read-only disk. */
  {
    g_autofree char *backend = leaves_of (fx, BE_SDA2);
    g_assert_cmpstr (backend, ==,
                     "bootable=1;dev=xvdi;device-type=disk;discard-enable=0;"
                     "feature-barrier=1;feature-flush-cache=1;feature-max-indirect-segments=256;"
                     "feature-persistent=1;frontend=" FE_SDA2 ";frontend-id=3;"
                     "hotplug-status=connected;info=4;max-ring-page-order=4;mode=r;"
                     "multi-queue-max-queues=2;online=1;params=/dev/sda2;"
                     "physical-device=8:2;physical-device-path=/dev/sda2;"
                     "physical-sector-size=512;removable=0;script=/etc/xen/scripts/block;"
                     "sector-size=512;sectors=15631361;specification=xen;state=4;type=phy;");
  }
  assert_perms (fx, BE_SDA2, "n1,r3");
  assert_perms (fx, BE_SDA2 "/state", "n1,r3");
  assert_perms (fx, BE_SDA2 "/params", "n1,r3");

  {
    g_autofree char *frontend = leaves_of (fx, FE_SDA2);
    g_assert_cmpstr (frontend, ==,
                     "backend=" BE_SDA2 ";backend-id=1;device-type=disk;event-channel=18;"
                     "feature-persistent=1;protocol=x86_64-abi;ring-ref=8;state=4;"
                     "trusted=0;virtual-device=51840;");
  }
  assert_perms (fx, FE_SDA2, "n3,r1");
  assert_perms (fx, FE_SDA2 "/virtual-device", "n3,r1");
  assert_perms (fx, FE_SDA2 "/ring-ref", "n3,r1");
}

static void
test_block_attach_writable (Fixture *fx, gconstpointer data)
{
  XdAttachRequest request = block_request (3, "sda2", "xvdj", FALSE);

  attach_ok (fx, &request);
  assert_node (fx, "/libxl/3/device/vbd/51856/mode", "w");
  assert_node (fx, "/libxl/3/device/vbd/51856/discard-enable", "1");
  assert_node (fx, "/local/domain/1/backend/vbd/3/51856/feature-discard", "1");
  assert_node (fx, "/local/domain/1/backend/vbd/3/51856/info", "0");
  assert_node (fx, "/local/domain/3/device/vbd/51856/state", "4");
}

static void
test_block_detach (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);
  g_autoptr (XdAttachment) attachment = vbd_attachment (3, "sda2", XVDI);
  g_autofree char *before = snapshot (fx);
  g_autofree char *after = NULL;

  attach_ok (fx, &request);
  g_assert_true (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (has_node (fx, BE_SDA2));
  g_assert_false (has_node (fx, FE_SDA2));
  g_assert_false (has_node (fx, LIBXL_SDA2));
  after = snapshot (fx);
  g_assert_cmpstr (after, ==, before);

  /* Detaching it again finds nothing. */
  g_assert_false (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
}

/* The demo's own attachment (sda1 held by work), written as libxl would,
 * is detached the same way; the frontend's device directory stays. */
static void
test_block_detach_demo (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdAttachment) attachment = vbd_attachment (2, "sda1", XVDI);

  attachment->backend = 1;
  g_assert_true (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (has_node (fx, "/local/domain/1/backend/vbd/2"));
  g_assert_false (has_node (fx, "/libxl/2/device/vbd"));
  g_assert_true (has_node (fx, "/local/domain/2/device"));
  g_assert_true (has_node (fx, "/libxl/2/device"));
}

static void
check_fault (Fixture *fx, XdSimFault fault, guint timeout_ms, int code, const char *message,
             const char *const *gone)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);
  g_autofree char *before = snapshot (fx);
  g_autofree char *expected = snapshot_without (before, gone);
  g_autofree char *after = NULL;

  xd_toolstack_sim_set_fault (fx->ts, fault);
  g_assert_false (xd_toolstack_attach (fx->ts, &request, timeout_ms, NULL, &error));
  g_assert_error (error, XD_ERROR, code);
  if (message)
    g_assert_nonnull (strstr (error->message, message));
  after = snapshot (fx);
  g_assert_cmpstr (after, ==, expected);
}

static const char *const nothing_gone[] = { NULL };

static void
test_fault_never_connects (Fixture *fx, gconstpointer data)
{
  check_fault (fx, XD_SIM_FAULT_BACKEND_NEVER_CONNECTS, 300, XD_ERROR_TIMEOUT, "300 ms",
               nothing_gone);
}

static void
test_fault_backend_error (Fixture *fx, gconstpointer data)
{
  check_fault (fx, XD_SIM_FAULT_BACKEND_ERROR, TIMEOUT_MS, XD_ERROR_FAILED,
               "2 opening /dev/sda2: No such device", nothing_gone);
}

static void
test_fault_frontend_vanishes (Fixture *fx, gconstpointer data)
{
  static const char *const personal[] = { "/local/domain/3", "/libxl/3", NULL };

  check_fault (fx, XD_SIM_FAULT_FRONTEND_VANISHES, TIMEOUT_MS, XD_ERROR_UNAVAILABLE,
               "the frontend VM personal went away", personal);
}

/* Faults last until cleared; the next attach then works. */
static void
test_fault_cleared (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);

  xd_toolstack_sim_set_fault (fx->ts, XD_SIM_FAULT_BACKEND_ERROR);
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_clear_error (&error);
  xd_toolstack_sim_set_fault (fx->ts, XD_SIM_FAULT_NONE);
  attach_ok (fx, &request);
  assert_node (fx, BE_SDA2 "/state", "4");
}

static void
test_fault_from_env (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdToolstack) ts = NULL;
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);

  g_setenv ("XD_SIM_FAULT", "backend-error", TRUE);
  ts = xd_toolstack_sim_new (&error);
  g_unsetenv ("XD_SIM_FAULT");
  g_assert_no_error (error);
  g_assert_false (xd_toolstack_attach (ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
  g_assert_false (has_node (fx, LIBXL_SDA2));
}

static gpointer
cancel_later_thread (gpointer data)
{
  g_usleep (50000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);
  g_autofree char *before = snapshot (fx);
  g_autofree char *after = NULL;
  GThread *thread;

  xd_toolstack_sim_set_fault (fx->ts, XD_SIM_FAULT_BACKEND_NEVER_CONNECTS);
  thread = g_thread_new ("cancel", cancel_later_thread, cancellable);
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, cancellable, &error));
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  after = snapshot (fx);
  g_assert_cmpstr (after, ==, before);
}

static void
test_not_running (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = block_request (7, "sda2", "xvdi", TRUE);
  g_autofree char *before = snapshot (fx);
  g_autofree char *after = NULL;

  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);
  g_clear_error (&error);

  /* Nor from a backend that is not running. */
  request.frontend = 3;
  request.backend = 9;
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);

  after = snapshot (fx);
  g_assert_cmpstr (after, ==, before);
}

static void
test_devid_taken (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  /* work holds sda1 as xvdi already. */
  XdAttachRequest request = block_request (2, "sda2", "xvdi", TRUE);
  g_autofree char *before = snapshot (fx);
  g_autofree char *after = NULL;

  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "xvdi"));
  after = snapshot (fx);
  g_assert_cmpstr (after, ==, before);
}

static void
test_other_classes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = { 0 };
  g_autoptr (XdAttachment) attachment = xd_attachment_new ();

  request.klass = XD_CLASS_MIC;
  request.backend = 0;
  request.frontend = 3;
  request.port = "mic";
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_clear_error (&error);

  request.klass = XD_CLASS_PCI;
  request.port = "00_14_0";
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_clear_error (&error);

  attachment->klass = XD_CLASS_MIC;
  g_assert_false (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
}

#define BE_CTRL "/local/domain/1/backend/vusb/4/0"
#define FE_CTRL "/local/domain/4/device/vusb/0"
#define LIBXL_CTRL "/libxl/4/device/vusb/0"

static void
test_usb (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = usb_request (4, "2-1_3");
  XdAttachRequest second = usb_request (4, "2-1");
  g_autoptr (XdAttachment) attachment = xd_attachment_new ();
  g_autofree char *ports = NULL;

  attach_ok (fx, &request);

  /* The controller as libxl makes a pv one, and its copy under /libxl. */
  {
    g_autofree char *record = leaves_of (fx, LIBXL_CTRL);
    g_assert_cmpstr (record, ==,
                     "backend=" BE_CTRL ";frontend=" FE_CTRL ";frontend-id=4;num-ports=8;"
                     "online=1;port=;state=1;type=pv;usb-ver=2;");
  }
  {
    g_autofree char *backend = leaves_of (fx, BE_CTRL);
    g_assert_cmpstr (backend, ==,
                     "frontend=" FE_CTRL ";frontend-id=4;num-ports=8;online=1;port=;state=4;"
                     "type=pv;usb-ver=2;");
  }
  {
    g_autofree char *frontend = leaves_of (fx, FE_CTRL);
    g_assert_cmpstr (frontend, ==,
                     "backend=" BE_CTRL ";backend-id=1;conn-ring-ref=10;event-channel=20;"
                     "state=4;urb-ring-ref=9;");
  }
  assert_perms (fx, BE_CTRL, "n1,r4");
  assert_perms (fx, BE_CTRL "/port/1", "n1,r4");
  assert_perms (fx, FE_CTRL, "n4,r1");
  assert_perms (fx, LIBXL_CTRL, "n0");
  ports = leaves_of (fx, BE_CTRL "/port");
  g_assert_cmpstr (ports, ==, "1=2-1.3;2=;3=;4=;5=;6=;7=;8=;");
  g_clear_pointer (&ports, g_free);
  /* The backend is a driver domain, which owns its directory: the bus id
   * is also in the record, which only dom0 writes (libxl, with dom0 as its
   * only USB backend, keeps the record's ports empty). */
  ports = leaves_of (fx, LIBXL_CTRL "/port");
  g_assert_cmpstr (ports, ==, "1=2-1.3;2=;3=;4=;5=;6=;7=;8=;");
  g_clear_pointer (&ports, g_free);

  /* A second device joins the controller; the same one again is refused. */
  attach_ok (fx, &second);
  assert_node (fx, BE_CTRL "/port/2", "2-1");
  assert_node (fx, LIBXL_CTRL "/port/2", "2-1");
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (has_node (fx, "/libxl/4/device/vusb/1"));

  /* The backend rewrites its ports (as sys-usb could): the toolstack goes
   * by the record all the same. */
  {
    struct xs_handle *xsh = xd_sim_host_get_handle (fx->host);
    g_assert_true (xs_write (xsh, XBT_NULL, BE_CTRL "/port/1", "3-1", 3));
    g_assert_true (xs_write (xsh, XBT_NULL, BE_CTRL "/port/2", "", 0));
  }

  /* Detach empties the port and, as libxl, leaves the controller. */
  attachment->klass = XD_CLASS_USB;
  attachment->backend = 1;
  attachment->frontend = 4;
  attachment->port = g_strdup ("2-1_3");
  attachment->kind = g_strdup ("vusb");
  attachment->devid = 0;
  g_assert_true (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
  ports = leaves_of (fx, BE_CTRL "/port");
  g_assert_cmpstr (ports, ==, "1=;2=;3=;4=;5=;6=;7=;8=;");
  g_clear_pointer (&ports, g_free);
  ports = leaves_of (fx, LIBXL_CTRL "/port");
  g_assert_cmpstr (ports, ==, "1=;2=2-1;3=;4=;5=;6=;7=;8=;");
  assert_node (fx, BE_CTRL "/state", "4");
  g_assert_false (xd_toolstack_detach (fx->ts, attachment, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
}

static void
test_usb_fault (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = usb_request (4, "2-1_3");
  g_autofree char *before = snapshot (fx);
  g_autofree char *after = NULL;

  xd_toolstack_sim_set_fault (fx->ts, XD_SIM_FAULT_BACKEND_ERROR);
  g_assert_false (xd_toolstack_attach (fx->ts, &request, TIMEOUT_MS, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
  after = snapshot (fx);
  g_assert_cmpstr (after, ==, before);
}

typedef struct
{
  XdToolstack *ts;
  XdAttachRequest request;
  gboolean ok;
  GError *error;
} AttachJob;

static gpointer
attach_thread (gpointer data)
{
  AttachJob *job = data;
  job->ok = xd_toolstack_attach (job->ts, &job->request, TIMEOUT_MS, NULL, &job->error);
  return NULL;
}

static void
test_concurrent (Fixture *fx, gconstpointer data)
{
  AttachJob jobs[4] = {
    { fx->ts, block_request (3, "sda2", "xvdi", TRUE) },
    { fx->ts, block_request (3, "sda", "xvdj", FALSE) },
    { fx->ts, usb_request (4, "2-1_3") },
    { fx->ts, usb_request (4, "2-1") },
  };
  GThread *threads[G_N_ELEMENTS (jobs)];

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    threads[i] = g_thread_new ("attach", attach_thread, &jobs[i]);
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_thread_join (threads[i]);
      g_assert_no_error (jobs[i].error);
      g_assert_true (jobs[i].ok);
    }
  assert_node (fx, BE_SDA2 "/state", "4");
  assert_node (fx, "/local/domain/1/backend/vbd/3/51856/state", "4");
  /* Both USB devices share one controller. */
  g_assert_false (has_node (fx, "/libxl/4/device/vusb/1"));
  {
    g_autofree char *p1 = read_node (fx, BE_CTRL "/port/1");
    g_autofree char *p2 = read_node (fx, BE_CTRL "/port/2");
    g_assert_true ((g_strcmp0 (p1, "2-1") == 0 && g_strcmp0 (p2, "2-1.3") == 0)
                   || (g_strcmp0 (p1, "2-1.3") == 0 && g_strcmp0 (p2, "2-1") == 0));
  }
}

static void
test_stop_vm (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);

  attach_ok (fx, &request);
  g_assert_true (xd_toolstack_stop_vm (fx->ts, 3, &error));
  g_assert_no_error (error);
  g_assert_false (has_node (fx, "/local/domain/3"));
  g_assert_false (has_node (fx, "/libxl/3"));
  g_assert_false (has_node (fx, BE_SDA2));
  g_assert_false (xs_is_domain_introduced (fx->xsh, 3));
}

static XdAttachment *
holder_of (XdEngine *engine, guint frontend)
{
  XdDevice *device = xd_engine_lookup_device (engine, XD_CLASS_BLOCK, 1, "sda2");

  for (guint i = 0; device && i < device->attachments->len; i++)
    {
      XdAttachment *a = device->attachments->pdata[i];
      if (a->frontend == frontend)
        return a;
    }
  return NULL;
}

/* The engine reads what the simulation writes. */
static void
test_engine_sees_attachment (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (XdAttachment) detach = vbd_attachment (3, "sda2", XVDI);
  XdAttachRequest request = block_request (3, "sda2", "xvdi", TRUE);
  XdStore *store = xd_xs_store_new (&error);
  XdAttachment *holder = NULL;
  gboolean timed_out = FALSE;
  guint id;

  g_assert_no_error (error);
  engine = xd_engine_new (store);
  g_assert_true (xd_engine_load (engine, TRUE, &error));
  g_assert_no_error (error);
  g_assert_null (holder_of (engine, 3));

  attach_ok (fx, &request);
  id = g_timeout_add (5000, xd_test_timeout_cb, &timed_out);
  while (!timed_out && !((holder = holder_of (engine, 3)) && holder->state == 4))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
  g_assert_cmpstr (holder->port, ==, "sda2");
  g_assert_cmpstr (holder->kind, ==, "vbd");
  g_assert_cmpuint (holder->devid, ==, XVDI);
  g_assert_cmpstr (holder->frontend_dev, ==, "xvdi");
  g_assert_true (holder->read_only);
  g_assert_false (holder->cdrom);

  g_assert_true (xd_toolstack_detach (fx->ts, detach, TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
  id = g_timeout_add (5000, xd_test_timeout_cb, &timed_out);
  while (!timed_out && holder_of (engine, 3))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
test_unreachable (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("xd-ts-XXXXXX", NULL);
  g_autofree char *socket = g_build_filename (dir, "no-socket", NULL);
  XdToolstack *ts;

  g_setenv ("XENSTORED_PATH", socket, TRUE);
  ts = xd_toolstack_sim_new (&error);
  g_assert_null (ts);
  g_assert_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/xd/toolstack-sim/block-attach-nodes", test_block_attach_nodes);
  ADD ("/xd/toolstack-sim/block-attach-writable", test_block_attach_writable);
  ADD ("/xd/toolstack-sim/block-detach", test_block_detach);
  ADD ("/xd/toolstack-sim/block-detach-demo", test_block_detach_demo);
  ADD ("/xd/toolstack-sim/fault-never-connects", test_fault_never_connects);
  ADD ("/xd/toolstack-sim/fault-backend-error", test_fault_backend_error);
  ADD ("/xd/toolstack-sim/fault-frontend-vanishes", test_fault_frontend_vanishes);
  ADD ("/xd/toolstack-sim/fault-cleared", test_fault_cleared);
  ADD ("/xd/toolstack-sim/fault-from-env", test_fault_from_env);
  ADD ("/xd/toolstack-sim/cancel", test_cancel);
  ADD ("/xd/toolstack-sim/not-running", test_not_running);
  ADD ("/xd/toolstack-sim/devid-taken", test_devid_taken);
  ADD ("/xd/toolstack-sim/other-classes", test_other_classes);
  ADD ("/xd/toolstack-sim/usb", test_usb);
  ADD ("/xd/toolstack-sim/usb-fault", test_usb_fault);
  ADD ("/xd/toolstack-sim/concurrent", test_concurrent);
  ADD ("/xd/toolstack-sim/stop-vm", test_stop_vm);
  ADD ("/xd/toolstack-sim/engine-sees-attachment", test_engine_sees_attachment);
#undef ADD
  g_test_add_func ("/xd/toolstack-sim/unreachable", test_unreachable);
  return g_test_run ();
}
