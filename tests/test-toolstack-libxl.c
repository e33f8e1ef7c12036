/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-error.h"
#include "xen/xd-toolstack-libxl.h"

/* ---- Block ------------------------------------------------------------ */

static XdAttachRequest
block_request (guint backend, const char *port, const char *frontend_dev)
{
  XdAttachRequest request = {
    .klass = XD_CLASS_BLOCK,
    .backend = backend,
    .frontend = 7,
    .port = port,
    .frontend_dev = frontend_dev,
  };
  return request;
}

static void
test_disk_read_write_dom0 (void)
{
  XdAttachRequest request = block_request (0, "sda1", "xvdi");
  libxl_device_disk disk;
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_libxl_disk_from_request (&request, &disk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (disk.backend_domid, ==, 0);
  g_assert_cmpstr (disk.pdev_path, ==, "/dev/sda1");
  g_assert_cmpstr (disk.vdev, ==, "xvdi");
  g_assert_cmpint (disk.backend, ==, LIBXL_DISK_BACKEND_PHY);
  g_assert_cmpint (disk.format, ==, LIBXL_DISK_FORMAT_RAW);
  g_assert_cmpint (disk.readwrite, ==, 1);
  g_assert_cmpint (disk.is_cdrom, ==, 0);
  g_assert_cmpint (disk.removable, ==, 0);
  g_assert_null (disk.backend_domname);
  g_assert_null (disk.script);
  g_assert_false (libxl_defbool_is_default (disk.trusted));
  g_assert_true (libxl_defbool_val (disk.trusted));
  libxl_device_disk_dispose (&disk);
}

static void
test_disk_read_only (void)
{
  XdAttachRequest request = block_request (0, "nvme0n1p2", "xvdj");
  libxl_device_disk disk;
  g_autoptr (GError) error = NULL;

  request.read_only = TRUE;
  g_assert_true (xd_libxl_disk_from_request (&request, &disk, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (disk.pdev_path, ==, "/dev/nvme0n1p2");
  g_assert_cmpstr (disk.vdev, ==, "xvdj");
  g_assert_cmpint (disk.readwrite, ==, 0);
  g_assert_cmpint (disk.is_cdrom, ==, 0);
  libxl_device_disk_dispose (&disk);
}

static void
test_disk_cdrom (void)
{
  XdAttachRequest request = block_request (0, "sr0", "xvdk");
  libxl_device_disk disk;
  g_autoptr (GError) error = NULL;

  request.read_only = TRUE;
  request.cdrom = TRUE;
  g_assert_true (xd_libxl_disk_from_request (&request, &disk, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (disk.pdev_path, ==, "/dev/sr0");
  g_assert_cmpint (disk.is_cdrom, ==, 1);
  g_assert_cmpint (disk.removable, ==, 1);
  g_assert_cmpint (disk.readwrite, ==, 0);
  libxl_device_disk_dispose (&disk);
}

/* XSA-403: a disk served by a driver domain is never trusted. */
static void
test_disk_driver_domain_untrusted (void)
{
  XdAttachRequest request = block_request (3, "sda", "xvdq");
  libxl_device_disk disk;
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_libxl_disk_from_request (&request, &disk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (disk.backend_domid, ==, 3);
  g_assert_cmpstr (disk.pdev_path, ==, "/dev/sda");
  g_assert_cmpstr (disk.vdev, ==, "xvdq");
  g_assert_cmpint (disk.readwrite, ==, 1);
  g_assert_false (libxl_defbool_is_default (disk.trusted));
  g_assert_false (libxl_defbool_val (disk.trusted));
  libxl_device_disk_dispose (&disk);
}

static void
test_disk_invalid (void)
{
  const struct
  {
    XdClassId klass;
    const char *port;
    const char *frontend_dev;
  } cases[] = {
    { XD_CLASS_USB, "2-1", "xvdi" },      { XD_CLASS_MIC, "mic", "xvdi" },
    { XD_CLASS_PCI, "00_1f_2", "xvdi" },  { XD_CLASS_BLOCK, "sda1", NULL },
    { XD_CLASS_BLOCK, "sda1", "" },       { XD_CLASS_BLOCK, "sda1", "hda" },
    { XD_CLASS_BLOCK, "sda1", "xvd" },    { XD_CLASS_BLOCK, "sda1", "xvdi/x" },
    { XD_CLASS_BLOCK, "../sda", "xvdi" }, { XD_CLASS_BLOCK, NULL, "xvdi" },
    { XD_CLASS_BLOCK, "", "xvdi" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      XdAttachRequest request = block_request (0, cases[i].port, cases[i].frontend_dev);
      libxl_device_disk disk;
      g_autoptr (GError) error = NULL;

      request.klass = cases[i].klass;
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_false (xd_libxl_disk_from_request (&request, &disk, &error));
      g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
      libxl_device_disk_dispose (&disk);
    }
}

/* ---- USB -------------------------------------------------------------- */

typedef struct
{
  char *root;
} SysfsFixture;

static void
write_usb_device (const char *root, const char *busid, const char *busnum, const char *devnum)
{
  g_autofree char *dir = g_build_filename (root, "bus", "usb", "devices", busid, NULL);
  g_autofree char *bus_path = g_build_filename (dir, "busnum", NULL);
  g_autofree char *dev_path = g_build_filename (dir, "devnum", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (bus_path, busnum, -1, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (dev_path, devnum, -1, &error));
  g_assert_no_error (error);
}

static void
sysfs_setup (SysfsFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->root = g_dir_make_tmp ("xd-sysfs-XXXXXX", &error);
  g_assert_no_error (error);
  /* As the kernel writes them: decimal, with a newline. */
  write_usb_device (fixture->root, "2-1.3", "2\n", "7\n");
  write_usb_device (fixture->root, "1-4", "1\n", "12\n");
  write_usb_device (fixture->root, "3-2", "3\n", "nonsense\n");
  write_usb_device (fixture->root, "3-3", "3\n", "300\n");
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
sysfs_teardown (SysfsFixture *fixture, gconstpointer data)
{
  remove_tree (fixture->root);
  g_free (fixture->root);
}

static XdAttachRequest
usb_request (guint backend, const char *port)
{
  XdAttachRequest request = {
    .klass = XD_CLASS_USB,
    .backend = backend,
    .frontend = 4,
    .port = port,
  };
  return request;
}

static void
test_usb_translate (SysfsFixture *fixture, gconstpointer data)
{
  const struct
  {
    const char *port;
    guint8 bus, addr;
  } cases[] = {
    { "2-1_3", 2, 7 },
    { "1-4", 1, 12 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      XdAttachRequest request = usb_request (0, cases[i].port);
      libxl_device_usbdev usbdev;
      g_autoptr (GError) error = NULL;

      g_assert_true (xd_libxl_usbdev_from_request (&request, fixture->root, &usbdev, &error));
      g_assert_no_error (error);
      g_assert_cmpint (usbdev.type, ==, LIBXL_USBDEV_TYPE_HOSTDEV);
      g_assert_cmpint (usbdev.u.hostdev.hostbus, ==, cases[i].bus);
      g_assert_cmpint (usbdev.u.hostdev.hostaddr, ==, cases[i].addr);
      /* libxl chooses: -1 means "any controller", 0 "any free port". */
      g_assert_cmpint (usbdev.ctrl, ==, -1);
      g_assert_cmpint (usbdev.port, ==, 0);
      libxl_device_usbdev_dispose (&usbdev);
    }
}

static void
test_usb_driver_domain_refused (SysfsFixture *fixture, gconstpointer data)
{
  XdAttachRequest request = usb_request (1, "2-1_3");
  libxl_device_usbdev usbdev;
  g_autoptr (GError) error = NULL;

  g_assert_false (xd_libxl_usbdev_from_request (&request, fixture->root, &usbdev, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "driver domain"));
  g_assert_nonnull (strstr (error->message, "USB backend"));
  g_assert_nonnull (strstr (error->message, "libxl 4.17"));
  libxl_device_usbdev_dispose (&usbdev);
}

static void
test_usb_unknown_busid (SysfsFixture *fixture, gconstpointer data)
{
  XdAttachRequest request = usb_request (0, "5-1_2");
  libxl_device_usbdev usbdev;
  g_autoptr (GError) error = NULL;

  g_assert_false (xd_libxl_usbdev_from_request (&request, fixture->root, &usbdev, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "5-1.2"));
  libxl_device_usbdev_dispose (&usbdev);
}

/* A devnum that is not a number, or does not fit libxl's uint8_t. */
static void
test_usb_bad_sysfs (SysfsFixture *fixture, gconstpointer data)
{
  const char *const ports[] = { "3-2", "3-3" };

  for (gsize i = 0; i < G_N_ELEMENTS (ports); i++)
    {
      XdAttachRequest request = usb_request (0, ports[i]);
      libxl_device_usbdev usbdev;
      g_autoptr (GError) error = NULL;

      g_assert_false (xd_libxl_usbdev_from_request (&request, fixture->root, &usbdev, &error));
      g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
      libxl_device_usbdev_dispose (&usbdev);
    }
}

static void
test_usb_invalid (SysfsFixture *fixture, gconstpointer data)
{
  const struct
  {
    XdClassId klass;
    const char *port;
  } cases[] = {
    { XD_CLASS_BLOCK, "sda1" }, { XD_CLASS_MIC, "mic" }, { XD_CLASS_USB, "2-1.3" },
    { XD_CLASS_USB, "../2-1" }, { XD_CLASS_USB, "" },    { XD_CLASS_USB, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      XdAttachRequest request = usb_request (0, cases[i].port);
      libxl_device_usbdev usbdev;
      g_autoptr (GError) error = NULL;

      request.klass = cases[i].klass;
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_false (xd_libxl_usbdev_from_request (&request, fixture->root, &usbdev, &error));
      g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
      libxl_device_usbdev_dispose (&usbdev);
    }
}

/* ---- Errors, availability, opening ------------------------------------ */

static void
test_error_mapping (void)
{
  const struct
  {
    int rc;
    XdError code;
  } cases[] = {
    { ERROR_FAIL, XD_ERROR_FAILED },
    { ERROR_NONSPECIFIC, XD_ERROR_FAILED },
    { ERROR_INVAL, XD_ERROR_INVALID },
    { ERROR_NOTFOUND, XD_ERROR_UNAVAILABLE },
    { ERROR_DOMAIN_NOTFOUND, XD_ERROR_UNAVAILABLE },
    { ERROR_DOMAIN_DESTROYED, XD_ERROR_UNAVAILABLE },
    { ERROR_TIMEDOUT, XD_ERROR_TIMEOUT },
    { ERROR_GUEST_TIMEDOUT, XD_ERROR_TIMEOUT },
    { ERROR_DEVICE_EXISTS, XD_ERROR_REFUSED },
    { -1000, XD_ERROR_FAILED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      xd_libxl_set_error (&error, cases[i].rc, "libxl_device_disk_add", "the last line");
      g_assert_error (error, XD_ERROR, (int) cases[i].code);
      g_assert_nonnull (strstr (error->message, "libxl_device_disk_add"));
      g_assert_nonnull (strstr (error->message, "the last line"));
      if (cases[i].rc == ERROR_DOMAIN_NOTFOUND)
        g_assert_cmpstr (error->message, ==,
                         "libxl_device_disk_add failed (ERROR_DOMAIN_NOTFOUND): the last line");
      if (cases[i].rc == -1000)
        g_assert_nonnull (strstr (error->message, "libxl error -1000"));
    }

  {
    g_autoptr (GError) error = NULL;

    xd_libxl_set_error (&error, ERROR_FAIL, "libxl_domain_destroy", NULL);
    g_assert_error (error, XD_ERROR, XD_ERROR_FAILED);
    g_assert_cmpstr (error->message, ==, "libxl_domain_destroy failed (ERROR_FAIL)");
  }
}

static void
test_available (void)
{
  g_autofree char *contents = NULL;
  gboolean expected = FALSE;

  if (g_file_get_contents ("/proc/xen/capabilities", &contents, NULL, NULL))
    expected = strstr (contents, "control_d") != NULL;
  g_assert_cmpint (xd_toolstack_libxl_available (), ==, expected);
}

typedef struct
{
  GMutex lock;
  GPtrArray *lines;
} LogCapture;

static void
capture_log_cb (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  LogCapture *capture = user_data;

  g_mutex_lock (&capture->lock);
  g_ptr_array_add (capture->lines, g_strdup (message));
  g_mutex_unlock (&capture->lock);
}

/* Everything written to fd 2 while @func runs. */
static char *
run_capturing_stderr (void (*func) (gpointer), gpointer data)
{
  GString *out = g_string_new (NULL);
  int fds[2];
  int saved;
  char buf[4096];
  ssize_t n;

  fflush (stderr);
  g_assert_cmpint (pipe (fds), ==, 0);
  saved = dup (STDERR_FILENO);
  g_assert_cmpint (saved, >=, 0);
  g_assert_cmpint (dup2 (fds[1], STDERR_FILENO), ==, STDERR_FILENO);
  close (fds[1]);

  func (data);

  fflush (stderr);
  g_assert_cmpint (dup2 (saved, STDERR_FILENO), ==, STDERR_FILENO);
  close (saved);
  g_assert_cmpint (fcntl (fds[0], F_SETFL, O_NONBLOCK), ==, 0);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (fds[0]);
  return g_string_free (out, FALSE);
}

typedef struct
{
  XdToolstack *toolstack;
  GError *error;
} OpenResult;

static void
open_libxl (gpointer data)
{
  OpenResult *result = data;

  result->toolstack = xd_toolstack_libxl_new (&result->error);
}

/* Without a hypervisor libxl cannot open: the failure is clean, names what
 * libxl said, and nothing reaches stderr (it went to g_log). */
static void
test_open (void)
{
  LogCapture capture = { .lines = g_ptr_array_new_with_free_func (g_free) };
  OpenResult result = { 0 };
  g_autofree char *err_output = NULL;
  guint handler;

  g_mutex_init (&capture.lock);
  handler
    = g_log_set_handler ("xd-libxl", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL, capture_log_cb, &capture);
  err_output = run_capturing_stderr (open_libxl, &result);
  g_log_remove_handler ("xd-libxl", handler);

  for (guint i = 0; i < capture.lines->len; i++)
    g_test_message ("libxl logged: %s", (char *) capture.lines->pdata[i]);
  g_assert_cmpstr (err_output, ==, "");

  if (result.toolstack)
    {
      g_test_message ("libxl opened (this machine runs Xen)");
      g_assert_no_error (result.error);
      g_assert_cmpstr (result.toolstack->name, ==, "libxl");
      xd_toolstack_free (result.toolstack);
    }
  else
    {
      g_test_message ("libxl did not open: %s", result.error->message);
      g_assert_error (result.error, XD_ERROR, XD_ERROR_UNAVAILABLE);
      /* libxl said why, and that reached the message. */
      g_assert_cmpuint (capture.lines->len, >, 0);
      g_assert_nonnull (strstr (result.error->message, "libxl_ctx_alloc"));
      g_clear_error (&result.error);
    }

  g_ptr_array_unref (capture.lines);
  g_mutex_clear (&capture.lock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/xd/libxl/disk/read-write-dom0", test_disk_read_write_dom0);
  g_test_add_func ("/xd/libxl/disk/read-only", test_disk_read_only);
  g_test_add_func ("/xd/libxl/disk/cdrom", test_disk_cdrom);
  g_test_add_func ("/xd/libxl/disk/driver-domain-untrusted", test_disk_driver_domain_untrusted);
  g_test_add_func ("/xd/libxl/disk/invalid", test_disk_invalid);
  g_test_add ("/xd/libxl/usb/translate", SysfsFixture, NULL, sysfs_setup, test_usb_translate,
              sysfs_teardown);
  g_test_add ("/xd/libxl/usb/driver-domain-refused", SysfsFixture, NULL, sysfs_setup,
              test_usb_driver_domain_refused, sysfs_teardown);
  g_test_add ("/xd/libxl/usb/unknown-busid", SysfsFixture, NULL, sysfs_setup,
              test_usb_unknown_busid, sysfs_teardown);
  g_test_add ("/xd/libxl/usb/bad-sysfs", SysfsFixture, NULL, sysfs_setup, test_usb_bad_sysfs,
              sysfs_teardown);
  g_test_add ("/xd/libxl/usb/invalid", SysfsFixture, NULL, sysfs_setup, test_usb_invalid,
              sysfs_teardown);
  g_test_add_func ("/xd/libxl/error-mapping", test_error_mapping);
  g_test_add_func ("/xd/libxl/available", test_available);
  g_test_add_func ("/xd/libxl/open", test_open);

  return g_test_run ();
}
