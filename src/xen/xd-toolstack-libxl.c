/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-toolstack-libxl.h"

#include <errno.h>
#include <libxl_utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xentoollog.h>

#include "core/xd-error.h"
#include "core/xd-validate.h"

#define LOG_DOMAIN "xd-libxl"
#define CAPABILITIES_PATH "/proc/xen/capabilities"
/* Calls that have no timeout of their own in the seam. */
#define OPEN_TIMEOUT_MS 10000
#define STOP_VM_TIMEOUT_MS 30000
/* The controller made for a VM that has none, as `xl usbctrl-attach` makes
 * by default, with room for more devices. */
#define USBCTRL_VERSION 2
#define USBCTRL_PORTS 8

/* ---- The logger ------------------------------------------------------- */

/* libxl logs from the thread that made the call; each call runs in a fresh
 * thread, so the last error line it logged is kept per thread and read by
 * that thread when the call returns. Concurrent calls never see each
 * other's errors. */
static GPrivate last_error_line = G_PRIVATE_INIT (g_free);

static void
logger_vmessage (xentoollog_logger *logger, xentoollog_level level, int errnoval,
                 const char *context, const char *format, va_list al)
{
  g_autofree char *text = g_strdup_vprintf (format, al);
  g_autofree char *line = NULL;
  GLogLevelFlags glevel;

  g_strchomp (text);
  if (errnoval >= 0)
    line = g_strdup_printf ("%s: %s", text, g_strerror (errnoval));
  else
    line = g_steal_pointer (&text);

  /* libxl's errors are reported to the caller as a GError as well; a GLib
   * warning would mean a bug in this program (and is fatal in tests). */
  if (level >= XTL_WARN)
    glevel = G_LOG_LEVEL_MESSAGE;
  else if (level >= XTL_PROGRESS)
    glevel = G_LOG_LEVEL_INFO;
  else
    glevel = G_LOG_LEVEL_DEBUG;
  g_log (LOG_DOMAIN, glevel, "%s%s%s", context ? context : "", context ? ": " : "", line);

  if (level >= XTL_ERROR)
    g_private_replace (&last_error_line, g_steal_pointer (&line));
}

static void
logger_progress (xentoollog_logger *logger, const char *context, const char *doing_what,
                 int percent, unsigned long done, unsigned long total)
{
  g_log (LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "%s: %s: %d%%", context ? context : "libxl", doing_what,
         percent);
}

static void
logger_destroy (xentoollog_logger *logger)
{
}

static xentoollog_logger glib_logger = {
  .vmessage = logger_vmessage,
  .progress = logger_progress,
  .destroy = logger_destroy,
};

/* libxl runs hotplug scripts as children. By default it would reap every
 * child of the process while it has one; this mode makes it wait for its
 * own only. */
static const libxl_childproc_hooks childproc_hooks = {
  .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

/* ---- A reference-counted context -------------------------------------- */

typedef struct
{
  gatomicrefcount ref;
  libxl_ctx *ctx;
} XdLibxlCtx;

static XdLibxlCtx *
lctx_ref (XdLibxlCtx *lctx)
{
  g_atomic_ref_count_inc (&lctx->ref);
  return lctx;
}

static void
lctx_unref (XdLibxlCtx *lctx)
{
  if (lctx && g_atomic_ref_count_dec (&lctx->ref))
    {
      libxl_ctx_free (lctx->ctx);
      g_free (lctx);
    }
}

/* ---- Bounded calls ---------------------------------------------------- */

/* One libxl call, run in its own thread. The call owns its data, so a
 * caller that stops waiting may return while the thread still uses it. */
typedef int (*CallFunc) (libxl_ctx *ctx, gpointer data);

typedef struct
{
  gatomicrefcount ref;
  const char *what;
  XdLibxlCtx *lctx; /* NULL only while opening */
  CallFunc func;
  /* Run by the thread when the caller gave up and func succeeded anyway. */
  CallFunc undo;
  gpointer data;
  GDestroyNotify data_free;

  GMutex lock;
  GCond cond;
  gboolean done;
  gboolean abandoned;
  int rc;
  char *log_line;
} Call;

static Call *
call_new (const char *what, XdLibxlCtx *lctx, CallFunc func, CallFunc undo, gpointer data,
          GDestroyNotify data_free)
{
  Call *call = g_new0 (Call, 1);

  g_atomic_ref_count_init (&call->ref);
  call->what = what;
  call->lctx = lctx ? lctx_ref (lctx) : NULL;
  call->func = func;
  call->undo = undo;
  call->data = data;
  call->data_free = data_free;
  g_mutex_init (&call->lock);
  g_cond_init (&call->cond);
  return call;
}

static void
call_unref (Call *call)
{
  if (!call || !g_atomic_ref_count_dec (&call->ref))
    return;
  if (call->data_free)
    call->data_free (call->data);
  lctx_unref (call->lctx);
  g_free (call->log_line);
  g_mutex_clear (&call->lock);
  g_cond_clear (&call->cond);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_unref)

static gpointer
call_thread (gpointer user_data)
{
  Call *call = user_data;
  libxl_ctx *ctx = call->lctx ? call->lctx->ctx : NULL;
  gboolean abandoned;
  int rc;

  g_private_replace (&last_error_line, NULL);
  rc = call->func (ctx, call->data);

  g_mutex_lock (&call->lock);
  call->rc = rc;
  call->log_line = g_strdup (g_private_get (&last_error_line));
  call->done = TRUE;
  abandoned = call->abandoned;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);

  if (abandoned)
    {
      g_log (LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "%s returned %d after its caller stopped waiting",
             call->what, rc);
      if (rc == 0 && call->undo)
        {
          g_log (LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "undoing the late %s", call->what);
          call->undo (ctx, call->data);
        }
    }

  call_unref (call);
  return NULL;
}

/* Runs @call and waits for it until @deadline (monotonic time). Returns
 * TRUE when it returned 0; otherwise sets @error from libxl's code, or
 * XD_ERROR_TIMEOUT when the wait ran out. */
static gboolean
call_run (Call *call, gint64 deadline, GError **error)
{
  g_autoptr (GError) thread_error = NULL;
  GThread *thread;
  gboolean done;

  g_atomic_ref_count_inc (&call->ref);
  thread = g_thread_try_new ("xd-libxl", call_thread, call, &thread_error);
  if (!thread)
    {
      call_unref (call);
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot start a thread for %s: %s", call->what,
                   thread_error->message);
      return FALSE;
    }
  g_thread_unref (thread);

  g_mutex_lock (&call->lock);
  while (!call->done)
    if (!g_cond_wait_until (&call->cond, &call->lock, deadline))
      break;
  done = call->done;
  if (!done)
    call->abandoned = TRUE;
  g_mutex_unlock (&call->lock);

  if (!done)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT,
                   "libxl did not finish %s in time; it goes on in the background", call->what);
      return FALSE;
    }
  if (call->rc != 0)
    {
      xd_libxl_set_error (error, call->rc, call->what, call->log_line);
      return FALSE;
    }
  return TRUE;
}

static gint64
deadline_in (guint timeout_ms)
{
  return g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
}

void
xd_libxl_set_error (GError **error, int rc, const char *what, const char *log_line)
{
  const char *libxl_name = libxl_error_to_string (rc);
  g_autofree char *name = NULL;
  XdError code;

  /* libxl names its codes in lower case ("fail"); show the constant. */
  if (libxl_name)
    {
      g_autofree char *upper = g_ascii_strup (libxl_name, -1);

      name = g_strdup_printf ("ERROR_%s", upper);
    }
  else
    name = g_strdup_printf ("libxl error %d", rc);

  switch (rc)
    {
    case ERROR_DOMAIN_NOTFOUND:
    case ERROR_NOTFOUND:
    case ERROR_DOMAIN_DESTROYED:
      code = XD_ERROR_UNAVAILABLE;
      break;
    case ERROR_TIMEDOUT:
    case ERROR_GUEST_TIMEDOUT:
      code = XD_ERROR_TIMEOUT;
      break;
    case ERROR_INVAL:
      code = XD_ERROR_INVALID;
      break;
    case ERROR_DEVICE_EXISTS:
      code = XD_ERROR_REFUSED;
      break;
    default:
      code = XD_ERROR_FAILED;
      break;
    }

  if (log_line && *log_line)
    g_set_error (error, XD_ERROR, code, "%s failed (%s): %s", what, name, log_line);
  else
    g_set_error (error, XD_ERROR, code, "%s failed (%s)", what, name);
}

/* ---- Translation ------------------------------------------------------ */

/* libxl frees its strings with free (). */
static char *libc_strdup_printf (const char *format, ...) G_GNUC_PRINTF (1, 2);

static char *
libc_strdup_printf (const char *format, ...)
{
  va_list ap;
  char *s = NULL;
  int n;

  va_start (ap, format);
  n = vasprintf (&s, format, ap);
  va_end (ap);
  if (n < 0)
    g_error ("out of memory");
  return s;
}

gboolean
xd_libxl_disk_from_request (const XdAttachRequest *request, libxl_device_disk *disk, GError **error)
{
  libxl_device_disk_init (disk);

  if (request->klass != XD_CLASS_BLOCK)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "A %s device is not a disk",
                   xd_class_id_to_string (request->klass));
      return FALSE;
    }
  if (!request->frontend_dev || !*request->frontend_dev)
    {
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                           "A disk needs a device name in the VM (frontend-dev)");
      return FALSE;
    }
  if (xd_vbd_devid_from_name (request->frontend_dev) < 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "“%s” is not a Xen disk name (xvdX)",
                   request->frontend_dev);
      return FALSE;
    }
  if (!xd_validate_port (XD_CLASS_BLOCK, request->port))
    {
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID, "Malformed block device name");
      return FALSE;
    }

  disk->backend_domid = request->backend;
  disk->pdev_path = libc_strdup_printf ("/dev/%s", request->port);
  disk->vdev = libc_strdup_printf ("%s", request->frontend_dev);
  disk->backend = LIBXL_DISK_BACKEND_PHY;
  disk->format = LIBXL_DISK_FORMAT_RAW;
  disk->readwrite = !request->read_only;
  disk->is_cdrom = request->cdrom ? 1 : 0;
  disk->removable = request->cdrom ? 1 : 0;
  /* XSA-403: a frontend must not trust a backend in another VM with pages
   * it keeps mapped; dom0 is trusted anyway. */
  libxl_defbool_set (&disk->trusted, request->backend == 0);
  return TRUE;
}

/* Reads a decimal number in [1, 255] from a sysfs attribute. */
static gboolean
read_sysfs_u8 (const char *dir, const char *name, guint8 *out, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  guint64 value;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "Cannot read %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  g_strstrip (contents);
  if (!g_ascii_string_to_unsigned (contents, 10, 1, 255, &value, NULL))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "%s holds “%s”, not a USB number", path,
                   contents);
      return FALSE;
    }
  *out = (guint8) value;
  return TRUE;
}

/* The host bus number and address of a USB device, from its bus id in the
 * stored form ("2-1_3" is sysfs's "2-1.3"). */
static gboolean
usb_address_from_port (const char *port, const char *sysfs_root, guint8 *bus, guint8 *addr,
                       GError **error)
{
  g_autofree char *busid = NULL;
  g_autofree char *dir = NULL;

  if (!xd_validate_port (XD_CLASS_USB, port))
    {
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID, "Malformed USB bus id");
      return FALSE;
    }
  busid = g_strdelimit (g_strdup (port), "_", '.');
  dir = g_build_filename (sysfs_root ? sysfs_root : "/sys", "bus", "usb", "devices", busid, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "No USB device %s in dom0", busid);
      return FALSE;
    }
  return read_sysfs_u8 (dir, "busnum", bus, error) && read_sysfs_u8 (dir, "devnum", addr, error);
}

gboolean
xd_libxl_usbdev_from_request (const XdAttachRequest *request, const char *sysfs_root,
                              libxl_device_usbdev *usbdev, GError **error)
{
  guint8 bus, addr;

  libxl_device_usbdev_init (usbdev);

  if (request->klass != XD_CLASS_USB)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "A %s device is not a USB device",
                   xd_class_id_to_string (request->klass));
      return FALSE;
    }
  if (request->backend != 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED,
                   "USB from a driver domain (domain %u) needs that domain's USB backend, which "
                   "libxl 4.17 cannot drive",
                   request->backend);
      return FALSE;
    }
  if (!usb_address_from_port (request->port, sysfs_root, &bus, &addr, error))
    return FALSE;

  libxl_device_usbdev_init_type (usbdev, LIBXL_USBDEV_TYPE_HOSTDEV);
  /* libxl picks a controller (making one if needed) and a free port. */
  usbdev->ctrl = -1;
  usbdev->port = 0;
  usbdev->u.hostdev.hostbus = bus;
  usbdev->u.hostdev.hostaddr = addr;
  return TRUE;
}

/* ---- Operations run in call threads ------------------------------------ */

typedef struct
{
  guint32 domid;
  gint64 deadline; /* for retries while the domain is being created */
  libxl_device_disk disk;
} DiskOp;

static DiskOp *
disk_op_new (guint32 domid)
{
  DiskOp *op = g_new0 (DiskOp, 1);

  op->domid = domid;
  libxl_device_disk_init (&op->disk);
  return op;
}

static void
disk_op_free (gpointer data)
{
  DiskOp *op = data;

  libxl_device_disk_dispose (&op->disk);
  g_free (op);
}

/* A domain that xl is still creating has no stored configuration yet, and
 * libxl refuses to add a device to it (ERROR_JSON_CONFIG_EMPTY). The engine
 * applies persistent assignments as soon as a VM's name appears, which is
 * before that: on real Xen 4.17 the first try fails. Tries again until the
 * configuration is there or the deadline has passed. */
#define CONFIG_RETRY_US (200 * G_TIME_SPAN_MILLISECOND)

static int
retry_while_creating (libxl_ctx *ctx, gpointer data, gint64 deadline, CallFunc func)
{
  int rc;

  while ((rc = func (ctx, data)) == ERROR_JSON_CONFIG_EMPTY
         && g_get_monotonic_time () + CONFIG_RETRY_US < deadline)
    {
      g_log (LOG_DOMAIN, G_LOG_LEVEL_INFO, "the domain is still being created; trying again");
      g_usleep (CONFIG_RETRY_US);
    }
  return rc;
}

static int
disk_add_once (libxl_ctx *ctx, gpointer data)
{
  DiskOp *op = data;

  return libxl_device_disk_add (ctx, op->domid, &op->disk, NULL);
}

static int
disk_add_func (libxl_ctx *ctx, gpointer data)
{
  DiskOp *op = data;

  return retry_while_creating (ctx, data, op->deadline, disk_add_once);
}

static int
disk_remove_func (libxl_ctx *ctx, gpointer data)
{
  DiskOp *op = data;

  return libxl_device_disk_remove (ctx, op->domid, &op->disk, NULL);
}

static int
disk_destroy_func (libxl_ctx *ctx, gpointer data)
{
  DiskOp *op = data;

  return libxl_device_disk_destroy (ctx, op->domid, &op->disk, NULL);
}

typedef struct
{
  guint32 domid;
  libxl_device_disk *disks;
  int n_disks;
  libxl_device_usbctrl *ctrls;
  int n_ctrls;
  libxl_device_usbdev *usbdevs;
  int n_usbdevs;
} ListOp;

static void
list_op_free (gpointer data)
{
  ListOp *op = data;

  if (op->disks)
    libxl_device_disk_list_free (op->disks, op->n_disks);
  if (op->ctrls)
    libxl_device_usbctrl_list_free (op->ctrls, op->n_ctrls);
  if (op->usbdevs)
    libxl_device_usbdev_list_free (op->usbdevs, op->n_usbdevs);
  g_free (op);
}

/* The list calls return NULL both for "none" and for a failure they have
 * logged; either way there is nothing to match. */
static int
disk_list_func (libxl_ctx *ctx, gpointer data)
{
  ListOp *op = data;

  op->disks = libxl_device_disk_list (ctx, op->domid, &op->n_disks);
  return 0;
}

static int
usbctrl_list_func (libxl_ctx *ctx, gpointer data)
{
  ListOp *op = data;

  op->ctrls = libxl_device_usbctrl_list (ctx, op->domid, &op->n_ctrls);
  return 0;
}

static int
usbdev_list_func (libxl_ctx *ctx, gpointer data)
{
  ListOp *op = data;

  op->usbdevs = libxl_device_usbdev_list (ctx, op->domid, &op->n_usbdevs);
  return 0;
}

typedef struct
{
  guint32 domid;
  libxl_device_usbctrl ctrl;
} UsbctrlOp;

static void
usbctrl_op_free (gpointer data)
{
  UsbctrlOp *op = data;

  libxl_device_usbctrl_dispose (&op->ctrl);
  g_free (op);
}

static int
usbctrl_add_func (libxl_ctx *ctx, gpointer data)
{
  UsbctrlOp *op = data;

  return libxl_device_usbctrl_add (ctx, op->domid, &op->ctrl, NULL);
}

static int
usbctrl_destroy_func (libxl_ctx *ctx, gpointer data)
{
  UsbctrlOp *op = data;

  return libxl_device_usbctrl_destroy (ctx, op->domid, &op->ctrl, NULL);
}

typedef struct
{
  guint32 domid;
  gint64 deadline; /* for retries while the domain is being created */
  libxl_device_usbdev usbdev;
} UsbdevOp;

static void
usbdev_op_free (gpointer data)
{
  UsbdevOp *op = data;

  libxl_device_usbdev_dispose (&op->usbdev);
  g_free (op);
}

static int
usbdev_add_once (libxl_ctx *ctx, gpointer data)
{
  UsbdevOp *op = data;

  return libxl_device_usbdev_add (ctx, op->domid, &op->usbdev, NULL);
}

static int
usbdev_add_func (libxl_ctx *ctx, gpointer data)
{
  UsbdevOp *op = data;

  return retry_while_creating (ctx, data, op->deadline, usbdev_add_once);
}

static int
usbdev_remove_func (libxl_ctx *ctx, gpointer data)
{
  UsbdevOp *op = data;

  return libxl_device_usbdev_remove (ctx, op->domid, &op->usbdev, NULL);
}

static int
domain_destroy_func (libxl_ctx *ctx, gpointer data)
{
  return libxl_domain_destroy (ctx, GPOINTER_TO_UINT (data), NULL);
}

typedef struct
{
  libxl_ctx *ctx;
} OpenOp;

static int
open_func (libxl_ctx *ctx, gpointer data)
{
  OpenOp *op = data;
  int rc;

  rc = libxl_ctx_alloc (&op->ctx, LIBXL_VERSION, 0, &glib_logger);
  if (rc == 0)
    libxl_childproc_setmode (op->ctx, &childproc_hooks, NULL);
  return rc;
}

static int
open_undo (libxl_ctx *ctx, gpointer data)
{
  OpenOp *op = data;

  libxl_ctx_free (g_steal_pointer (&op->ctx));
  return 0;
}

/* ---- The toolstack ---------------------------------------------------- */

typedef struct
{
  XdToolstack parent;
  XdLibxlCtx *lctx;
  char *sysfs_root;
} XdToolstackLibxl;

static gboolean
attach_block (XdToolstackLibxl *self, const XdAttachRequest *request, gint64 deadline,
              GError **error)
{
  DiskOp *op = disk_op_new (request->frontend);
  g_autoptr (Call) call = NULL;

  op->deadline = deadline;
  call = call_new ("libxl_device_disk_add", self->lctx, disk_add_func, disk_destroy_func, op,
                   disk_op_free);
  if (!xd_libxl_disk_from_request (request, &op->disk, error))
    return FALSE;
  /* libxl_device_disk_add returns once the backend has taken the device
   * (XenbusStateInitWait) and the hotplug script has run, or it has removed
   * what it wrote. Connected (4) follows when the frontend driver answers,
   * about a second later on the measured machine; the engine sees that
   * through its xenstore watch, so it is not polled for here. */
  return call_run (call, deadline, error);
}

/* Removes a controller this attach made, when the device then failed. */
static void
destroy_new_usbctrl (XdToolstackLibxl *self, guint32 domid, const libxl_device_usbctrl *ctrl,
                     guint timeout_ms)
{
  UsbctrlOp *op = g_new0 (UsbctrlOp, 1);
  g_autoptr (Call) call = NULL;
  g_autoptr (GError) error = NULL;

  op->domid = domid;
  libxl_device_usbctrl_init (&op->ctrl);
  libxl_device_usbctrl_copy (self->lctx->ctx, &op->ctrl, ctrl);
  call = call_new ("libxl_device_usbctrl_destroy", self->lctx, usbctrl_destroy_func, NULL, op,
                   usbctrl_op_free);
  if (!call_run (call, deadline_in (timeout_ms), &error))
    g_log (LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
           "Cannot remove the USB controller made for domain %u: %s", domid, error->message);
}

static gboolean
attach_usb (XdToolstackLibxl *self, const XdAttachRequest *request, guint timeout_ms,
            gint64 deadline, GError **error)
{
  UsbdevOp *dev_op = g_new0 (UsbdevOp, 1);
  ListOp *list_op = g_new0 (ListOp, 1);
  UsbctrlOp *ctrl_op = NULL;
  g_autoptr (Call) dev_call = NULL;
  g_autoptr (Call) list_call = NULL;
  g_autoptr (Call) ctrl_call = NULL;

  dev_op->domid = request->frontend;
  dev_op->deadline = deadline;
  dev_call = call_new ("libxl_device_usbdev_add", self->lctx, usbdev_add_func, usbdev_remove_func,
                       dev_op, usbdev_op_free);
  list_op->domid = request->frontend;
  list_call = call_new ("libxl_device_usbctrl_list", self->lctx, usbctrl_list_func, NULL, list_op,
                        list_op_free);

  if (!xd_libxl_usbdev_from_request (request, self->sysfs_root, &dev_op->usbdev, error))
    return FALSE;
  if (!call_run (list_call, deadline, error))
    return FALSE;

  if (list_op->n_ctrls == 0)
    {
      ctrl_op = g_new0 (UsbctrlOp, 1);
      ctrl_op->domid = request->frontend;
      libxl_device_usbctrl_init (&ctrl_op->ctrl);
      ctrl_op->ctrl.type = LIBXL_USBCTRL_TYPE_AUTO;
      ctrl_op->ctrl.version = USBCTRL_VERSION;
      ctrl_op->ctrl.ports = USBCTRL_PORTS;
      ctrl_op->ctrl.backend_domid = 0;
      ctrl_call = call_new ("libxl_device_usbctrl_add", self->lctx, usbctrl_add_func,
                            usbctrl_destroy_func, ctrl_op, usbctrl_op_free);
      if (!call_run (ctrl_call, deadline, error))
        return FALSE;
    }

  if (call_run (dev_call, deadline, error))
    return TRUE;
  if (ctrl_op)
    destroy_new_usbctrl (self, request->frontend, &ctrl_op->ctrl, timeout_ms);
  return FALSE;
}

static gboolean
xd_toolstack_libxl_attach (XdToolstack *toolstack, const XdAttachRequest *request, guint timeout_ms,
                           GCancellable *cancellable, GError **error)
{
  XdToolstackLibxl *self = (XdToolstackLibxl *) toolstack;
  gint64 deadline = deadline_in (timeout_ms);

  /* Once libxl has started, an operation runs to its end (or its
   * timeout): libxl_ao_abort cannot tell synchronous calls apart. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  switch (request->klass)
    {
    case XD_CLASS_BLOCK:
      return attach_block (self, request, deadline, error);
    case XD_CLASS_USB:
      return attach_usb (self, request, timeout_ms, deadline, error);
    case XD_CLASS_MIC:
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                           "Microphones are attached by the engine, not by libxl");
      return FALSE;
    case XD_CLASS_PCI:
    default:
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                           "PCI devices are assigned when a VM starts: PCI needs a VM restart");
      return FALSE;
    }
}

/* The disk libxl records for the attachment: same backend, and the vdev the
 * engine saw (or, failing a name, the same device number). */
static gboolean
disk_matches (const libxl_device_disk *disk, const XdAttachment *attachment)
{
  if (disk->backend_domid != attachment->backend || !disk->vdev)
    return FALSE;
  if (attachment->frontend_dev)
    return g_strcmp0 (disk->vdev, attachment->frontend_dev) == 0;
  return xd_vbd_devid_from_name (disk->vdev) == (int) attachment->devid;
}

static gboolean
detach_block (XdToolstackLibxl *self, const XdAttachment *attachment, guint timeout_ms,
              gint64 deadline, GError **error)
{
  ListOp *list_op = g_new0 (ListOp, 1);
  DiskOp *op = disk_op_new (attachment->frontend);
  DiskOp *force_op = disk_op_new (attachment->frontend);
  g_autoptr (Call) list_call = NULL;
  g_autoptr (Call) call = NULL;
  g_autoptr (Call) force_call = NULL;
  g_autoptr (GError) remove_error = NULL;
  g_autoptr (GError) destroy_error = NULL;
  gboolean found = FALSE;

  call
    = call_new ("libxl_device_disk_remove", self->lctx, disk_remove_func, NULL, op, disk_op_free);
  force_call = call_new ("libxl_device_disk_destroy", self->lctx, disk_destroy_func, NULL, force_op,
                         disk_op_free);
  list_op->domid = attachment->frontend;
  list_call
    = call_new ("libxl_device_disk_list", self->lctx, disk_list_func, NULL, list_op, list_op_free);

  /* libxl 4.17 has no libxl_devid_to_device_disk: find it in the list. */
  if (!call_run (list_call, deadline, error))
    return FALSE;
  for (int i = 0; i < list_op->n_disks && !found; i++)
    if (disk_matches (&list_op->disks[i], attachment))
      {
        libxl_device_disk_copy (self->lctx->ctx, &op->disk, &list_op->disks[i]);
        libxl_device_disk_copy (self->lctx->ctx, &force_op->disk, &list_op->disks[i]);
        found = TRUE;
      }
  if (!found)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND,
                   "libxl has no disk %s from domain %u in domain %u",
                   attachment->frontend_dev ? attachment->frontend_dev : "(unnamed)",
                   attachment->backend, attachment->frontend);
      return FALSE;
    }

  if (call_run (call, deadline, &remove_error))
    return TRUE;

  /* The frontend did not let go (or libxl stalled): take the nodes away. A
   * stray remove may still be running; it ends when it sees them gone. */
  g_log (LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "Removing %s from domain %u by force: %s",
         force_op->disk.vdev, attachment->frontend, remove_error->message);
  if (call_run (force_call, deadline_in (timeout_ms), &destroy_error))
    return TRUE;
  g_set_error (error, XD_ERROR, destroy_error->code, "%s; then %s", remove_error->message,
               destroy_error->message);
  return FALSE;
}

static gboolean
detach_usb (XdToolstackLibxl *self, const XdAttachment *attachment, gint64 deadline, GError **error)
{
  ListOp *list_op = g_new0 (ListOp, 1);
  UsbdevOp *op = g_new0 (UsbdevOp, 1);
  g_autoptr (Call) list_call = NULL;
  g_autoptr (Call) call = NULL;
  guint8 bus, addr;
  gboolean found = FALSE;

  op->domid = attachment->frontend;
  libxl_device_usbdev_init (&op->usbdev);
  call = call_new ("libxl_device_usbdev_remove", self->lctx, usbdev_remove_func, NULL, op,
                   usbdev_op_free);
  list_op->domid = attachment->frontend;
  list_call = call_new ("libxl_device_usbdev_list", self->lctx, usbdev_list_func, NULL, list_op,
                        list_op_free);

  if (attachment->backend != 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED,
                   "USB from a driver domain (domain %u) needs that domain's USB backend, which "
                   "libxl 4.17 cannot drive",
                   attachment->backend);
      return FALSE;
    }
  if (!usb_address_from_port (attachment->port, self->sysfs_root, &bus, &addr, error))
    return FALSE;
  if (!call_run (list_call, deadline, error))
    return FALSE;

  for (int i = 0; i < list_op->n_usbdevs && !found; i++)
    {
      const libxl_device_usbdev *u = &list_op->usbdevs[i];

      if (u->ctrl == (int) attachment->devid && u->type == LIBXL_USBDEV_TYPE_HOSTDEV
          && u->u.hostdev.hostbus == bus && u->u.hostdev.hostaddr == addr)
        {
          libxl_device_usbdev_copy (self->lctx->ctx, &op->usbdev, u);
          found = TRUE;
        }
    }
  if (!found)
    {
      g_autofree char *display = xd_port_to_display (XD_CLASS_USB, attachment->port);

      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND,
                   "libxl has no USB device %s on controller %u of domain %u", display,
                   attachment->devid, attachment->frontend);
      return FALSE;
    }
  /* libxl has no forced removal of a single USB device. */
  return call_run (call, deadline, error);
}

static gboolean
xd_toolstack_libxl_detach (XdToolstack *toolstack, const XdAttachment *attachment, guint timeout_ms,
                           GCancellable *cancellable, GError **error)
{
  XdToolstackLibxl *self = (XdToolstackLibxl *) toolstack;
  gint64 deadline = deadline_in (timeout_ms);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  switch (attachment->klass)
    {
    case XD_CLASS_BLOCK:
      return detach_block (self, attachment, timeout_ms, deadline, error);
    case XD_CLASS_USB:
      return detach_usb (self, attachment, deadline, error);
    case XD_CLASS_MIC:
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                           "Microphones are detached by the engine, not by libxl");
      return FALSE;
    case XD_CLASS_PCI:
    default:
      g_set_error_literal (error, XD_ERROR, XD_ERROR_INVALID,
                           "PCI devices are removed when a VM stops: PCI needs a VM restart");
      return FALSE;
    }
}

static gboolean
xd_toolstack_libxl_stop_vm (XdToolstack *toolstack, guint domid, GError **error)
{
  XdToolstackLibxl *self = (XdToolstackLibxl *) toolstack;
  g_autoptr (Call) call = NULL;

  if (domid == 0)
    {
      g_set_error_literal (error, XD_ERROR, XD_ERROR_REFUSED, "dom0 cannot be stopped");
      return FALSE;
    }
  call = call_new ("libxl_domain_destroy", self->lctx, domain_destroy_func, NULL,
                   GUINT_TO_POINTER (domid), NULL);
  return call_run (call, deadline_in (STOP_VM_TIMEOUT_MS), error);
}

static void
xd_toolstack_libxl_free (XdToolstack *toolstack)
{
  XdToolstackLibxl *self = (XdToolstackLibxl *) toolstack;

  /* Calls still running hold their own reference to the context. */
  lctx_unref (self->lctx);
  g_free (self->sysfs_root);
  g_free (self);
}

static const XdToolstackVTable libxl_vtable = {
  .attach = xd_toolstack_libxl_attach,
  .detach = xd_toolstack_libxl_detach,
  .stop_vm = xd_toolstack_libxl_stop_vm,
  .free = xd_toolstack_libxl_free,
};

XdToolstack *
xd_toolstack_libxl_new (GError **error)
{
  OpenOp *op = g_new0 (OpenOp, 1);
  g_autoptr (Call) call = call_new ("libxl_ctx_alloc", NULL, open_func, open_undo, op, g_free);
  g_autoptr (GError) local_error = NULL;
  XdToolstackLibxl *self;

  if (!call_run (call, deadline_in (OPEN_TIMEOUT_MS), &local_error))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "Cannot open libxl: %s",
                   local_error->message);
      return NULL;
    }

  self = g_new0 (XdToolstackLibxl, 1);
  self->parent.vtable = &libxl_vtable;
  self->parent.name = "libxl";
  self->lctx = g_new0 (XdLibxlCtx, 1);
  g_atomic_ref_count_init (&self->lctx->ref);
  self->lctx->ctx = g_steal_pointer (&op->ctx);
  self->sysfs_root = g_strdup ("/sys");
  return &self->parent;
}

gboolean
xd_toolstack_libxl_available (void)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (CAPABILITIES_PATH, &contents, NULL, NULL))
    return FALSE;
  return strstr (contents, "control_d") != NULL;
}
