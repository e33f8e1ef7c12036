/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated toolstack. What it writes was derived from libxl 4.17
 * (tools/libs/light) and checked against the capture in
 * shared/reference/libxl-xenstore-layout.md. B is the backend domain, F the
 * frontend domain, D the device number, C a USB controller number.
 *
 * Block attach (libxl_disk.c: device_disk_add, libxl__device_disk_setdefault;
 * libxl_device.c: libxl__device_exists, libxl__device_generic_add), one
 * transaction, refused if /libxl/F/device/vbd/D exists:
 *   /libxl/F/device/vbd/D/          dom0 only ({0,NONE}, inherited from /libxl/F)
 *     frontend, backend, and a copy of every backend entry below except
 *     the backend's own "frontend" (libxl does not trust the backend later)
 *   /local/domain/F/device/vbd/D/   {F,NONE},{B,READ}
 *     backend, backend-id=B, state=1, virtual-device=D,
 *     device-type=disk|cdrom, trusted=1|0 (the disk's trusted flag, which
 *     the libxl toolstack sets for a dom0 backend only; seen on real Xen by
 *     the realxen suite), protocol=x86_64-abi (libxl writes it for PV
 *     guests, which every simulated VM is)
 *   /local/domain/B/backend/vbd/F/D/  {B,NONE},{F,READ}
 *     frontend, params=/dev/<port>, script=/etc/xen/scripts/block,
 *     frontend-id=F, online=1, removable=0 (1 for a cdrom, as xl's disk
 *     parser sets it), bootable=1, state=1, dev=<xvdX>, type=phy,
 *     mode=r|w (r for a cdrom), device-type=disk|cdrom,
 *     discard-enable=1|0 (defaults to the disk being writable),
 *     specification=xen (4.17's virtio-disk field)
 * The simulated drivers then write (Linux blkback, the block hotplug
 * script xl devd runs in B, blkfront), as in the capture:
 *   backend  feature-max-indirect-segments, multi-queue-max-queues,
 *            max-ring-page-order; state=2
 *   backend  physical-device (hex major:minor), physical-device-path,
 *            hotplug-status=connected
 *   frontend ring-ref, event-channel, protocol, feature-persistent; state=3
 *   backend  feature-flush-cache, [discard-granularity, discard-alignment,
 *            discard-secure, feature-discard when discard-enable=1],
 *            feature-barrier, feature-persistent, sectors, info,
 *            sector-size, physical-sector-size; state=4
 *   frontend state=4
 *
 * Block detach (libxl_device.c: libxl__initiate_device_generic_remove,
 * libxl__device_destroy, libxl_xshelp.c: libxl__xs_path_cleanup): backend
 * online=0 and state=5 in one transaction; blkfront goes 5 then 6; blkback
 * goes 6; then backend, frontend and /libxl record are removed in one
 * transaction (libxl removes the last two; xl devd in B the backend). Past
 * the timeout they are removed anyway, as libxl's forced remove does.
 *
 * USB (libxl_usb.c): a device joins the first controller of F served by B
 * with a free port; without one, a controller is created as
 * libxl__device_usbctrl_add_xenstore does for type PV (backend kind vusb,
 * the defaults of libxl__device_usbctrl_setdefault: version 2, 8 ports),
 * numbered as libxl__device_nextid does (highest under /libxl/F/device/vusb
 * plus one):
 *   /libxl/F/device/vusb/C/         frontend, backend, and a copy of the
 *                                   backend entries below
 *   /local/domain/F/device/vusb/C/  backend, backend-id=B, state=1
 *   /local/domain/B/backend/vusb/F/C/  frontend, frontend-id=F, online=1,
 *     state=1, type=pv, usb-ver=2, num-ports=8, port="", port/1..8=""
 * then usbback goes to state 2, the xen-hcd frontend writes urb-ring-ref,
 * conn-ring-ref, event-channel and state 3, usbback state 4, frontend
 * state 4. libxl__device_usbdev_add_xenstore then writes the bus id
 * ("2-1.3") into the backend's port/N and nothing else: libxl's copy keeps
 * port/N "" (the capture shows it). libxl 4.17's vusb_get_port_path names
 * dom0's backend directory whatever the controller's backend is, and libxl
 * refuses a USB device from any backend but dom0. The simulation serves
 * driver domains too, so it writes into B's directory, where the controller
 * and usbback are; and where B is not dom0 (whose directory only dom0 can
 * write) it also writes the bus id into the record's port/N, in the same
 * transaction: B owns its directory and may rewrite it, the record is the
 * dom0-only fact the engine takes (xd-class-info.c). It reads which ports
 * are taken from there too.
 * Detach (libxl__device_usbdev_remove_xenstore) writes port/N "" again (in
 * the record as well where B is not dom0) and, as libxl, leaves the
 * controller in place for the next device.
 *
 * Where the simulation differs on purpose: removal drops emptied parents
 * as libxl__xs_path_cleanup does, but keeps the directories every domain
 * has from its creation (/local/domain/<d>/device and .../error, and
 * /libxl/<d>/device), so that an attach that failed or was undone leaves
 * the store exactly as it found it. A backend's xenbus error node
 * (/local/domain/B/error/backend/<kind>/F/<id>/error) goes with the device.
 */
#include "xd-toolstack-sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "core/xd-device-entry.h"
#include "core/xd-error.h"
#include "xd-xs-error.h"
#include "core/xd-validate.h"
#include "xd-sim-host.h"

#define MAX_TRANSACTION_ATTEMPTS 100
/* Between the steps of a simulated driver, and between two looks at the
 * store while waiting: short enough that an attach takes milliseconds. */
#define DRIVER_STEP_US 2000
#define POLL_US 2000
/* A backend that disappears while its frontend VM is being destroyed is not
 * a backend failure: wait this long to see which it was. */
#define VANISH_GRACE_US 200000

#define XENBUS_INITIALISING 1
#define XENBUS_INIT_WAIT 2
#define XENBUS_INITIALISED 3
#define XENBUS_CONNECTED 4
#define XENBUS_CLOSING 5
#define XENBUS_CLOSED 6

#define USB_CTRL_PORTS 8
#define USB_CTRL_VERSION "2"
/* What a 64-bit PV guest reports, and what libxl and blkfront write. */
#define NATIVE_PROTOCOL "x86_64-abi"
/* blkback's VDISK_* bits for "info". */
#define VDISK_CDROM 1
#define VDISK_READONLY 4

typedef struct
{
  XdToolstack parent;
  gint fault;       /* XdSimFault, atomic */
  GMutex usb_mutex; /* one controller choice at a time in this process */
} XdToolstackSim;

/* ---- xenstore helpers ---- */

static struct xs_handle *
open_store (GError **error)
{
  /* Only the socket: a simulation must never reach a real hypervisor's
   * store through /dev/xen/xenbus. */
  struct xs_handle *xsh = xs_open (XS_OPEN_SOCKETONLY);

  if (!xsh)
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "Cannot connect to xenstored at %s: %s",
                   xs_daemon_socket (), g_strerror (errsv));
    }
  return xsh;
}

static void
close_store (struct xs_handle *xsh)
{
  if (xsh)
    xs_close (xsh);
}

typedef struct xs_handle *XsHandle;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (XsHandle, close_store, NULL)

/* The value at @path as a GLib string, or NULL when there is none. */
static char *
read_str (struct xs_handle *xsh, xs_transaction_t t, const char *path)
{
  unsigned int len = 0;
  char *raw = xs_read (xsh, t, path, &len);
  char *value;

  if (!raw)
    return NULL;
  value = g_strndup (raw, len);
  free (raw);
  return value;
}

static gboolean
node_exists (struct xs_handle *xsh, xs_transaction_t t, const char *path)
{
  g_autofree char *value = read_str (xsh, t, path);
  return value != NULL;
}

/* The XenBus state at @dir/state, or -1 when there is none. */
static int
read_state (struct xs_handle *xsh, xs_transaction_t t, const char *dir)
{
  g_autofree char *path = g_strconcat (dir, "/state", NULL);
  g_autofree char *value = read_str (xsh, t, path);
  guint64 n;

  if (!value || !g_ascii_string_to_unsigned (value, 10, 0, 16, &n, NULL))
    return -1;
  return (int) n;
}

/* Entries of @path, sorted, or NULL when it has none. */
static GStrv
list_dir (struct xs_handle *xsh, xs_transaction_t t, const char *path)
{
  unsigned int n = 0;
  char **raw = xs_directory (xsh, t, path, &n);
  GStrv names;

  if (!raw)
    return NULL;
  names = g_new0 (char *, n + 1);
  for (unsigned int i = 0; i < n; i++)
    names[i] = g_strdup (raw[i]);
  free (raw);
  return names;
}

static gboolean
write_str (struct xs_handle *xsh, xs_transaction_t t, const char *path, const char *value,
           GError **error)
{
  if (!xs_write (xsh, t, path, value, (unsigned int) strlen (value)))
    return xd_xs_set_error (error, errno, "write", path);
  return TRUE;
}

/* Writes "key", "value" pairs below @dir; new nodes inherit @dir's
 * permissions, as with libxl__xs_writev. */
static gboolean
write_kv (struct xs_handle *xsh, xs_transaction_t t, const char *dir, const char *const *kv,
          GError **error)
{
  for (gsize i = 0; kv && kv[i] && kv[i + 1]; i += 2)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", dir, kv[i]);
      if (!write_str (xsh, t, path, kv[i + 1], error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_state (struct xs_handle *xsh, xs_transaction_t t, const char *dir, int state, GError **error)
{
  g_autofree char *path = g_strconcat (dir, "/state", NULL);
  g_autofree char *value = g_strdup_printf ("%d", state);
  return write_str (xsh, t, path, value, error);
}

static gboolean
make_dir (struct xs_handle *xsh, xs_transaction_t t, const char *path, guint owner, guint reader,
          GError **error)
{
  struct xs_permissions perms[2] = { { owner, XS_PERM_NONE }, { reader, XS_PERM_READ } };

  if (!xs_mkdir (xsh, t, path))
    return xd_xs_set_error (error, errno, "mkdir", path);
  if (!xs_set_permissions (xsh, t, path, perms, 2))
    return xd_xs_set_error (error, errno, "set_permissions", path);
  return TRUE;
}

static gboolean
remove_node (struct xs_handle *xsh, xs_transaction_t t, const char *path, GError **error)
{
  if (!xs_rm (xsh, t, path) && errno != ENOENT)
    return xd_xs_set_error (error, errno, "rm", path);
  return TRUE;
}

/* Directories every domain has from its creation, which removing a device
 * must not take with it even when it leaves them empty. */
static gboolean
is_domain_dir (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  guint n = g_strv_length (parts); /* parts[0] is "" */

  if (n <= 3)
    return TRUE; /* "/local", "/local/domain", "/libxl/<d>" */
  if (n == 4 && strcmp (parts[1], "local") == 0)
    return TRUE; /* /local/domain/<d> */
  if (n == 4 && strcmp (parts[1], "libxl") == 0)
    return strcmp (parts[3], "device") == 0;
  if (n == 5 && strcmp (parts[1], "local") == 0)
    return strcmp (parts[4], "device") == 0 || strcmp (parts[4], "error") == 0;
  return FALSE;
}

/* libxl__xs_path_cleanup: removes @path, then each parent left with
 * neither children nor a value, stopping at is_domain_dir(). */
static gboolean
remove_path (struct xs_handle *xsh, xs_transaction_t t, const char *path, GError **error)
{
  g_autofree char *p = g_strdup (path);
  char *slash;

  if (!remove_node (xsh, t, p, error))
    return FALSE;
  while ((slash = strrchr (p, '/')) && slash != p)
    {
      g_auto (GStrv) children = NULL;
      g_autofree char *value = NULL;

      *slash = '\0';
      if (is_domain_dir (p))
        break;
      value = read_str (xsh, t, p);
      if (!value || *value)
        break;
      children = list_dir (xsh, t, p);
      if (!children || children[0])
        break;
      if (!remove_node (xsh, t, p, error))
        return FALSE;
    }
  return TRUE;
}

typedef gboolean (*TxnFunc) (struct xs_handle *xsh, xs_transaction_t t, gpointer data,
                             GError **error);

/* Runs @func in a transaction, again after a conflict, as libxl does. */
static gboolean
run_txn (struct xs_handle *xsh, const char *what, TxnFunc func, gpointer data, GError **error)
{
  for (guint attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS; attempt++)
    {
      xs_transaction_t t = xs_transaction_start (xsh);

      if (t == XBT_NULL)
        return xd_xs_set_error (error, errno, "transaction_start for", what);
      if (!func (xsh, t, data, error))
        {
          xs_transaction_end (xsh, t, true);
          return FALSE;
        }
      if (xs_transaction_end (xsh, t, false))
        return TRUE;
      if (errno != EAGAIN)
        return xd_xs_set_error (error, errno, "transaction_end for", what);
    }
  g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT, "xenstore transaction for %s kept conflicting",
               what);
  return FALSE;
}

/* The name of running domain @domid, or NULL. */
static char *
domain_name (struct xs_handle *xsh, guint domid)
{
  g_autofree char *path = g_strdup_printf ("/local/domain/%u/name", domid);
  return read_str (xsh, XBT_NULL, path);
}

/* ---- one device: its paths ---- */

typedef struct
{
  guint backend, frontend, devid;
  const char *kind; /* backend kind: "vbd", "vusb", "qusb" */
  char *be_path, *fe_path, *libxl_path;
  char *error_path; /* where Linux's xenbus_dev_error() writes */
} Device;

static void
device_init (Device *dev, guint backend, guint frontend, const char *kind, guint devid)
{
  /* qusb and vusb controllers are both "vusb" devices on the frontend
   * side and in libxl's record. */
  const char *fkind = strcmp (kind, "qusb") == 0 ? "vusb" : kind;

  dev->backend = backend;
  dev->frontend = frontend;
  dev->devid = devid;
  dev->kind = kind;
  dev->be_path
    = g_strdup_printf ("/local/domain/%u/backend/%s/%u/%u", backend, kind, frontend, devid);
  dev->fe_path = g_strdup_printf ("/local/domain/%u/device/%s/%u", frontend, fkind, devid);
  dev->libxl_path = g_strdup_printf ("/libxl/%u/device/%s/%u", frontend, fkind, devid);
  dev->error_path
    = g_strdup_printf ("/local/domain/%u/error/backend/%s/%u/%u", backend, kind, frontend, devid);
}

static void
device_clear (Device *dev)
{
  g_clear_pointer (&dev->be_path, g_free);
  g_clear_pointer (&dev->fe_path, g_free);
  g_clear_pointer (&dev->libxl_path, g_free);
  g_clear_pointer (&dev->error_path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Device, device_clear)

static gboolean
remove_device_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  Device *dev = data;

  return remove_path (xsh, t, dev->be_path, error) && remove_path (xsh, t, dev->fe_path, error)
         && remove_path (xsh, t, dev->libxl_path, error)
         && remove_path (xsh, t, dev->error_path, error);
}

/* Everything the device has in the store, in one transaction. */
static gboolean
remove_device (struct xs_handle *xsh, Device *dev, GError **error)
{
  return run_txn (xsh, dev->be_path, remove_device_txn, dev, error);
}

typedef struct
{
  Device *dev;
  const char *const *bents;
  const char *const *fents;
} GenericAdd;

/* libxl__device_exists and libxl__device_generic_add. */
static gboolean
generic_add_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  const GenericAdd *add = data;
  Device *dev = add->dev;
  g_autofree char *libxl_fe = g_strconcat (dev->libxl_path, "/frontend", NULL);
  g_autofree char *libxl_be = g_strconcat (dev->libxl_path, "/backend", NULL);
  g_autofree char *fe_be = g_strconcat (dev->fe_path, "/backend", NULL);
  g_autofree char *be_fe = g_strconcat (dev->be_path, "/frontend", NULL);

  if (node_exists (xsh, t, dev->libxl_path) || node_exists (xsh, t, dev->fe_path))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, "Domain %u already has %s device %u",
                   dev->frontend, dev->kind, dev->devid);
      return FALSE;
    }

  if (!write_str (xsh, t, libxl_fe, dev->fe_path, error)
      || !write_str (xsh, t, libxl_be, dev->be_path, error))
    return FALSE;

  if (!remove_node (xsh, t, dev->fe_path, error)
      || !make_dir (xsh, t, dev->fe_path, dev->frontend, dev->backend, error)
      || !write_str (xsh, t, fe_be, dev->be_path, error)
      || !write_kv (xsh, t, dev->fe_path, add->fents, error))
    return FALSE;

  if (!remove_node (xsh, t, dev->be_path, error)
      || !make_dir (xsh, t, dev->be_path, dev->backend, dev->frontend, error)
      || !write_str (xsh, t, be_fe, dev->fe_path, error)
      || !write_kv (xsh, t, dev->be_path, add->bents, error))
    return FALSE;

  return write_kv (xsh, t, dev->libxl_path, add->bents, error);
}

/* ---- the simulated drivers ---- */

/* What the backend and frontend drivers of one kind write on the way to
 * Connected (see the top of the file). */
typedef struct
{
  GPtrArray *probe;   /* backend, then state 2 */
  GPtrArray *hotplug; /* backend, no state change */
  GPtrArray *front;   /* frontend, then state 3 */
  GPtrArray *connect; /* backend, then state 4 */
  char *error_text;   /* for XD_SIM_FAULT_BACKEND_ERROR */
} DriverScript;

typedef struct
{
  Device *dev;
  XdSimFault fault;
  gboolean detach;
  DriverScript script;
  gint stop; /* atomic */
  GThread *thread;
} Driver;

static GPtrArray *
kv_new (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

static void
kv_add (GPtrArray *kv, const char *key, const char *value)
{
  g_ptr_array_add (kv, g_strdup (key));
  g_ptr_array_add (kv, g_strdup (value));
}

static void kv_add_printf (GPtrArray *kv, const char *key, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static void
kv_add_printf (GPtrArray *kv, const char *key, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (kv, g_strdup (key));
  g_ptr_array_add (kv, g_strdup_vprintf (format, args));
  va_end (args);
}

static const char *const *
kv_pairs (GPtrArray *kv)
{
  if (!kv)
    return NULL;
  if (kv->len == 0 || kv->pdata[kv->len - 1] != NULL)
    g_ptr_array_add (kv, NULL);
  return (const char *const *) kv->pdata;
}

static void
driver_script_clear (DriverScript *s)
{
  g_clear_pointer (&s->probe, g_ptr_array_unref);
  g_clear_pointer (&s->hotplug, g_ptr_array_unref);
  g_clear_pointer (&s->front, g_ptr_array_unref);
  g_clear_pointer (&s->connect, g_ptr_array_unref);
  g_clear_pointer (&s->error_text, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DriverScript, driver_script_clear)

typedef struct
{
  const char *dir; /* must still exist: a driver drops a vanished device */
  const char *const *kv;
  int state; /* 0: no change */
  const char *error_path;
  const char *error_text;
} DriverStep;

static gboolean
driver_step_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  const DriverStep *step = data;

  if (read_state (xsh, t, step->dir) < 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "%s is gone", step->dir);
      return FALSE;
    }
  if (step->error_text)
    {
      g_autofree char *path = g_strconcat (step->error_path, "/error", NULL);
      if (!write_str (xsh, t, path, step->error_text, error))
        return FALSE;
    }
  if (!write_kv (xsh, t, step->dir, step->kv, error))
    return FALSE;
  return step->state == 0 || write_state (xsh, t, step->dir, step->state, error);
}

/* One step of a driver, after a short pause; FALSE when told to stop or
 * when the device went away. */
static gboolean
driver_step (Driver *d, struct xs_handle *xsh, const char *dir, GPtrArray *kv, int state)
{
  g_autoptr (GError) error = NULL;
  DriverStep step = { dir, kv_pairs (kv), state, NULL, NULL };

  g_usleep (DRIVER_STEP_US);
  if (g_atomic_int_get (&d->stop))
    return FALSE;
  if (!run_txn (xsh, dir, driver_step_txn, &step, &error))
    {
      g_debug ("simulated driver for %s stops: %s", d->dev->be_path, error->message);
      return FALSE;
    }
  return TRUE;
}

/* xenbus_dev_fatal() in the backend: the error node, then Closing. */
static gboolean
driver_fail (Driver *d, struct xs_handle *xsh)
{
  g_autoptr (GError) error = NULL;
  DriverStep step
    = { d->dev->be_path, NULL, XENBUS_CLOSING, d->dev->error_path, d->script.error_text };

  g_usleep (DRIVER_STEP_US);
  if (g_atomic_int_get (&d->stop))
    return FALSE;
  if (!run_txn (xsh, d->dev->be_path, driver_step_txn, &step, &error))
    {
      g_debug ("simulated driver for %s stops: %s", d->dev->be_path, error->message);
      return FALSE;
    }
  return TRUE;
}

static void
driver_attach (Driver *d, struct xs_handle *xsh)
{
  Device *dev = d->dev;

  if (!driver_step (d, xsh, dev->be_path, d->script.probe, XENBUS_INIT_WAIT))
    return;
  /* The hotplug script never finishes: the backend waits in InitWait. */
  if (d->fault == XD_SIM_FAULT_BACKEND_NEVER_CONNECTS)
    return;
  if (d->script.hotplug && !driver_step (d, xsh, dev->be_path, d->script.hotplug, 0))
    return;
  if (d->fault == XD_SIM_FAULT_BACKEND_ERROR)
    {
      if (driver_fail (d, xsh))
        driver_step (d, xsh, dev->be_path, NULL, XENBUS_CLOSED);
      return;
    }
  if (d->fault == XD_SIM_FAULT_FRONTEND_VANISHES)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (XdSimHost) host = xd_sim_host_new (&error);

      if (!host || !xd_sim_host_remove_vm (host, dev->frontend, &error))
        g_debug ("simulated frontend domain %u could not be destroyed: %s", dev->frontend,
                 error->message);
      return;
    }
  if (!driver_step (d, xsh, dev->fe_path, d->script.front, XENBUS_INITIALISED)
      || !driver_step (d, xsh, dev->be_path, d->script.connect, XENBUS_CONNECTED))
    return;
  driver_step (d, xsh, dev->fe_path, NULL, XENBUS_CONNECTED);
}

/* The frontend answers Closing by closing (5, then 6), and the backend
 * follows it to Closed. */
static void
driver_detach (Driver *d, struct xs_handle *xsh)
{
  Device *dev = d->dev;

  if (read_state (xsh, XBT_NULL, dev->fe_path) >= 0)
    {
      if (!driver_step (d, xsh, dev->fe_path, NULL, XENBUS_CLOSING)
          || !driver_step (d, xsh, dev->fe_path, NULL, XENBUS_CLOSED))
        return;
    }
  driver_step (d, xsh, dev->be_path, NULL, XENBUS_CLOSED);
}

static gpointer
driver_thread (gpointer data)
{
  Driver *d = data;
  g_autoptr (GError) error = NULL;
  g_auto (XsHandle) xsh = open_store (&error);

  if (!xsh)
    {
      g_debug ("simulated driver: %s", error->message);
      return NULL;
    }
  if (d->detach)
    driver_detach (d, xsh);
  else
    driver_attach (d, xsh);
  return NULL;
}

static void
driver_start (Driver *d)
{
  d->thread = g_thread_new ("xd-sim-driver", driver_thread, d);
}

/* Waits for the driver to finish its script; with @stop, tells it to stop
 * first. Either way nothing it does can land after what follows. */
static void
driver_join (Driver *d, gboolean stop)
{
  if (stop)
    g_atomic_int_set (&d->stop, TRUE);
  if (d->thread)
    g_thread_join (g_steal_pointer (&d->thread));
  driver_script_clear (&d->script);
}

/* ---- waiting ---- */

typedef struct
{
  int target;
  gboolean attaching; /* watch for errors, a vanished frontend or backend */
  const char *frontend_name;
  const char *backend_name;
} WaitSpec;

/* Waits until the backend of @dev reaches @spec->target, reading the store
 * every POLL_US. */
static gboolean
wait_backend (struct xs_handle *xsh, Device *dev, const WaitSpec *spec, guint timeout_ms,
              GCancellable *cancellable, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint64 missing_since = 0;
  g_autofree char *error_node = g_strconcat (dev->error_path, "/error", NULL);

  for (;;)
    {
      int state = read_state (xsh, XBT_NULL, dev->be_path);
      gint64 now;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (state == spec->target)
        return TRUE;
      if (spec->attaching)
        {
          g_autofree char *fe_name = domain_name (xsh, dev->frontend);
          g_autofree char *be_name = domain_name (xsh, dev->backend);
          g_autofree char *error_text = read_str (xsh, XBT_NULL, error_node);

          if (!fe_name)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "the frontend VM %s went away",
                           spec->frontend_name);
              return FALSE;
            }
          if (!be_name)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "the backend VM %s went away",
                           spec->backend_name);
              return FALSE;
            }
          if (error_text)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "The backend in %s failed: %s",
                           spec->backend_name, error_text);
              return FALSE;
            }
          if (state >= XENBUS_CLOSING)
            {
              g_set_error (error, XD_ERROR, XD_ERROR_FAILED,
                           "The backend in %s closed the device before it connected",
                           spec->backend_name);
              return FALSE;
            }
          if (state < 0)
            {
              if (!missing_since)
                missing_since = g_get_monotonic_time ();
              else if (g_get_monotonic_time () - missing_since > VANISH_GRACE_US)
                {
                  g_set_error (error, XD_ERROR, XD_ERROR_FAILED,
                               "The backend device in %s was removed while attaching",
                               spec->backend_name);
                  return FALSE;
                }
            }
          else
            missing_since = 0;
        }
      else if (state < 0)
        return TRUE; /* already gone */

      now = g_get_monotonic_time ();
      if (now >= deadline)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT,
                       "The backend in %s did not reach XenBus state %d within %u ms (it is in "
                       "state %d)",
                       spec->backend_name, spec->target, timeout_ms, state);
          return FALSE;
        }
      g_usleep (MIN (POLL_US, deadline - now));
    }
}

/* Writes the device, plays its drivers to Connected and, on any failure,
 * removes everything the attach wrote. */
static gboolean
add_and_connect (XdToolstackSim *self, struct xs_handle *xsh, Device *dev, GenericAdd *add,
                 DriverScript *script, const char *be_name, const char *fe_name, guint timeout_ms,
                 GCancellable *cancellable, GError **error)
{
  Driver driver = { 0 };
  WaitSpec spec = { XENBUS_CONNECTED, TRUE, fe_name, be_name };
  g_autoptr (GError) local_error = NULL;

  driver.dev = dev;
  driver.script = *script;
  memset (script, 0, sizeof *script);
  driver.fault = (XdSimFault) g_atomic_int_get (&self->fault);

  if (!run_txn (xsh, dev->be_path, generic_add_txn, add, error))
    {
      driver_script_clear (&driver.script);
      return FALSE;
    }
  driver_start (&driver);
  if (wait_backend (xsh, dev, &spec, timeout_ms, cancellable, &local_error))
    {
      /* The frontend follows the backend to Connected a moment later. */
      driver_join (&driver, FALSE);
      return TRUE;
    }
  driver_join (&driver, TRUE);
  if (!remove_device (xsh, dev, error))
    {
      g_prefix_error (error, "%s; removing the device failed too: ", local_error->message);
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* ---- block ---- */

/* What the block hotplug script writes: the device's numbers in hex, as
 * stat %t:%T gives them. Names the simulation cannot map get 0:0. */
static char *
physical_device_for (const char *port)
{
  guint disk = 0, part = 0;

  if (g_str_has_prefix (port, "sd") && port[2] >= 'a' && port[2] <= 'z')
    {
      const char *p = port + 2;
      while (*p >= 'a' && *p <= 'z')
        disk = disk * 26 + (guint) (*p++ - 'a' + 1);
      part = (guint) strtoul (p, NULL, 10);
      /* Major 8 holds the first 16 disks of 16 minors each. */
      if (disk >= 1 && disk <= 16 && part < 16)
        return g_strdup_printf ("8:%x", (disk - 1) * 16 + part);
    }
  if (g_str_has_prefix (port, "sr") && g_ascii_isdigit (port[2]))
    return g_strdup_printf ("b:%x", (guint) strtoul (port + 2, NULL, 10));
  if (g_str_has_prefix (port, "loop") && g_ascii_isdigit (port[4]))
    return g_strdup_printf ("7:%x", (guint) strtoul (port + 4, NULL, 10));
  return g_strdup ("0:0");
}

/* Sectors of 512 bytes, from the size the backend's agent published. */
static guint64
published_sectors (struct xs_handle *xsh, guint backend, const char *port)
{
  g_autofree char *path
    = g_strdup_printf ("/local/domain/%u/data/xen-devices/block/%s", backend, port);
  g_autofree char *value = read_str (xsh, XBT_NULL, path);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry
    = value ? xd_device_entry_parse (value, strlen (value), why) : NULL;
  const char *size_text = entry ? xd_device_entry_get (entry, "size") : NULL;
  guint64 size = 0;

  if (!size_text || !g_ascii_string_to_unsigned (size_text, 10, 0, G_MAXUINT64, &size, NULL))
    return 0;
  return size / 512;
}

static void
vbd_script (DriverScript *s, struct xs_handle *xsh, const XdAttachRequest *request,
            gboolean read_only, gboolean discard)
{
  g_autofree char *pdev = physical_device_for (request->port);
  guint info = (request->cdrom ? VDISK_CDROM : 0) | (read_only ? VDISK_READONLY : 0);

  s->probe = kv_new ();
  kv_add (s->probe, "feature-max-indirect-segments", "256");
  kv_add (s->probe, "multi-queue-max-queues", "2");
  kv_add (s->probe, "max-ring-page-order", "4");

  s->hotplug = kv_new ();
  kv_add (s->hotplug, "physical-device", pdev);
  kv_add_printf (s->hotplug, "physical-device-path", "/dev/%s", request->port);
  kv_add (s->hotplug, "hotplug-status", "connected");

  s->front = kv_new ();
  kv_add (s->front, "ring-ref", "8");
  kv_add_printf (s->front, "event-channel", "%d", 10 + request->frontend_dev[3] - 'a');
  kv_add (s->front, "protocol", NATIVE_PROTOCOL);
  kv_add (s->front, "feature-persistent", "1");

  s->connect = kv_new ();
  kv_add (s->connect, "feature-flush-cache", "1");
  if (discard)
    {
      kv_add (s->connect, "discard-granularity", "4096");
      kv_add (s->connect, "discard-alignment", "0");
      kv_add (s->connect, "discard-secure", "0");
      kv_add (s->connect, "feature-discard", "1");
    }
  kv_add (s->connect, "feature-barrier", "1");
  kv_add (s->connect, "feature-persistent", "1");
  kv_add_printf (s->connect, "sectors", "%" G_GUINT64_FORMAT,
                 published_sectors (xsh, request->backend, request->port));
  kv_add_printf (s->connect, "info", "%u", info);
  kv_add (s->connect, "sector-size", "512");
  kv_add (s->connect, "physical-sector-size", "512");

  s->error_text = g_strdup_printf ("2 opening /dev/%s: No such device", request->port);
}

static gboolean
attach_block (XdToolstackSim *self, struct xs_handle *xsh, const XdAttachRequest *request,
              const char *be_name, const char *fe_name, guint timeout_ms, GCancellable *cancellable,
              GError **error)
{
  int devid = xd_vbd_devid_from_name (request->frontend_dev);
  g_auto (Device) dev = { 0 };
  g_auto (DriverScript) script = { 0 };
  g_autoptr (GPtrArray) bents = kv_new ();
  g_autoptr (GPtrArray) fents = kv_new ();
  /* xl's disk parser makes a cdrom removable and read-only. */
  gboolean read_only = request->read_only || request->cdrom;
  const char *device_type = request->cdrom ? "cdrom" : "disk";
  g_autoptr (GError) local_error = NULL;
  GenericAdd add;

  if (devid < 0 || !xd_validate_port (XD_CLASS_BLOCK, request->port))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Cannot attach %s as %s",
                   request->port ? request->port : "(null)",
                   request->frontend_dev ? request->frontend_dev : "(null)");
      return FALSE;
    }
  device_init (&dev, request->backend, request->frontend, "vbd", (guint) devid);

  kv_add_printf (bents, "params", "/dev/%s", request->port);
  kv_add (bents, "script", "/etc/xen/scripts/block");
  kv_add_printf (bents, "frontend-id", "%u", request->frontend);
  kv_add (bents, "online", "1");
  kv_add (bents, "removable", request->cdrom ? "1" : "0");
  kv_add (bents, "bootable", "1");
  kv_add_printf (bents, "state", "%d", XENBUS_INITIALISING);
  kv_add (bents, "dev", request->frontend_dev);
  kv_add (bents, "type", "phy");
  kv_add (bents, "mode", read_only ? "r" : "w");
  kv_add (bents, "device-type", device_type);
  kv_add (bents, "discard-enable", read_only ? "0" : "1");
  kv_add (bents, "specification", "xen");

  kv_add_printf (fents, "backend-id", "%u", request->backend);
  kv_add_printf (fents, "state", "%d", XENBUS_INITIALISING);
  kv_add_printf (fents, "virtual-device", "%d", devid);
  kv_add (fents, "device-type", device_type);
  /* As xd_libxl_disk_from_request sets it (XSA-403). */
  kv_add (fents, "trusted", request->backend == 0 ? "1" : "0");
  kv_add (fents, "protocol", NATIVE_PROTOCOL);

  vbd_script (&script, xsh, request, read_only, !read_only);
  add.dev = &dev;
  add.bents = kv_pairs (bents);
  add.fents = kv_pairs (fents);
  if (add_and_connect (self, xsh, &dev, &add, &script, be_name, fe_name, timeout_ms, cancellable,
                       &local_error))
    return TRUE;
  if (g_error_matches (local_error, XD_ERROR, XD_ERROR_REFUSED))
    g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, "%s already has a block device as %s", fe_name,
                 request->frontend_dev);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static gboolean
start_close_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  Device *dev = data;
  g_autofree char *online = g_strconcat (dev->be_path, "/online", NULL);
  int state = read_state (xsh, t, dev->be_path);

  /* No backend (its VM is gone): only the rest is to be removed. */
  if (state < 0)
    return TRUE;
  if (!write_str (xsh, t, online, "0", error))
    return FALSE;
  return state == XENBUS_CLOSED || write_state (xsh, t, dev->be_path, XENBUS_CLOSING, error);
}

static gboolean
detach_vbd (struct xs_handle *xsh, const XdAttachment *attachment, const char *be_name,
            guint timeout_ms, GCancellable *cancellable, GError **error)
{
  g_auto (Device) dev = { 0 };
  Driver driver = { 0 };
  WaitSpec spec = { XENBUS_CLOSED, FALSE, NULL, be_name };
  g_autoptr (GError) wait_error = NULL;

  device_init (&dev, attachment->backend, attachment->frontend, attachment->kind,
               attachment->devid);
  if (!node_exists (xsh, XBT_NULL, dev.libxl_path) && !node_exists (xsh, XBT_NULL, dev.be_path))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "Domain %u has no %s device %u",
                   dev.frontend, dev.kind, dev.devid);
      return FALSE;
    }
  if (!run_txn (xsh, dev.be_path, start_close_txn, &dev, error))
    return FALSE;

  driver.dev = &dev;
  driver.detach = TRUE;
  driver_start (&driver);
  if (!wait_backend (xsh, &dev, &spec, timeout_ms, cancellable, &wait_error))
    g_debug ("removing %s by force: %s", dev.be_path, wait_error->message);
  driver_join (&driver, TRUE);

  if (!remove_device (xsh, &dev, error))
    return FALSE;
  /* The device is gone either way; a cancelled caller still hears that it
   * cancelled. */
  if (g_error_matches (wait_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&wait_error));
      return FALSE;
    }
  return TRUE;
}

/* ---- usb ---- */

/* The port of controller @dev holding @busid (0: none) and its first free
 * port (0: none). */
/* Where the bus ids of a controller's ports are the toolstack's own: dom0's
 * backend directory, or the record where B is a driver domain. */
static const char *
usb_ports_dir (const Device *dev)
{
  return dev->backend == 0 ? dev->be_path : dev->libxl_path;
}

/* Writes @busid ("" to free it) into port @port of @dev: in B's directory,
 * and in the record where B is not dom0. */
static gboolean
usb_write_port (struct xs_handle *xsh, xs_transaction_t t, const Device *dev, guint port,
                const char *busid, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s/port/%u", dev->be_path, port);
  g_autofree char *record = g_strdup_printf ("%s/port/%u", dev->libxl_path, port);

  if (dev->backend != 0 && !write_str (xsh, t, record, busid, error))
    return FALSE;
  return write_str (xsh, t, path, busid, error);
}

static void
usb_find_ports (struct xs_handle *xsh, xs_transaction_t t, const Device *dev, const char *busid,
                guint *holding, guint *free_port)
{
  g_autofree char *num_path = g_strconcat (dev->libxl_path, "/num-ports", NULL);
  g_autofree char *num = read_str (xsh, t, num_path);
  guint64 n = 0;

  *holding = 0;
  *free_port = 0;
  if (!num || !g_ascii_string_to_unsigned (num, 10, 1, 31, &n, NULL))
    return;
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/port/%u", usb_ports_dir (dev), i);
      g_autofree char *value = read_str (xsh, t, path);

      if (!value)
        continue;
      if (busid && strcmp (value, busid) == 0 && !*holding)
        *holding = i;
      if (!*value && !*free_port)
        *free_port = i;
    }
}

/* Reads libxl's record of controller @name of F into @dev; FALSE when it
 * is not a controller of backend B. */
static gboolean
usb_controller (struct xs_handle *xsh, xs_transaction_t t, guint backend, guint frontend,
                const char *name, Device *dev)
{
  g_autofree char *record = g_strdup_printf ("/libxl/%u/device/vusb/%s/backend", frontend, name);
  g_autofree char *be_path = read_str (xsh, t, record);
  guint64 ctrl;

  if (!be_path || !g_ascii_string_to_unsigned (name, 10, 0, G_MAXINT32, &ctrl, NULL))
    return FALSE;
  for (guint k = 0; k < 2; k++)
    {
      const char *kind = k == 0 ? "vusb" : "qusb";
      g_autofree char *expected = g_strdup_printf ("/local/domain/%u/backend/%s/%u/%u", backend,
                                                   kind, frontend, (guint) ctrl);
      if (strcmp (be_path, expected) == 0)
        {
          device_init (dev, backend, frontend, kind, (guint) ctrl);
          return TRUE;
        }
    }
  return FALSE;
}

typedef struct
{
  guint backend, frontend;
  const char *busid;
  gboolean already; /* out: F holds the device already */
  Device ctrl;      /* out: the controller the device went to */
  guint port;       /* out: its port, 0 when no controller had room */
} UsbPlug;

/* libxl__device_usbdev_setdefault and libxl__device_usbdev_add_xenstore:
 * the first free port of a controller F has from B. */
static gboolean
usb_plug_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  UsbPlug *plug = data;
  g_autofree char *dir = g_strdup_printf ("/libxl/%u/device/vusb", plug->frontend);
  g_auto (GStrv) ctrls = list_dir (xsh, t, dir);

  device_clear (&plug->ctrl);
  plug->port = 0;
  plug->already = FALSE;
  for (guint i = 0; ctrls && ctrls[i]; i++)
    {
      g_auto (Device) dev = { 0 };
      guint holding, free_port;

      if (!usb_controller (xsh, t, plug->backend, plug->frontend, ctrls[i], &dev))
        continue;
      usb_find_ports (xsh, t, &dev, plug->busid, &holding, &free_port);
      if (holding)
        {
          plug->already = TRUE;
          return TRUE;
        }
      if (free_port && !plug->port)
        {
          plug->ctrl = dev;
          memset (&dev, 0, sizeof dev);
          plug->port = free_port;
        }
    }
  if (plug->port)
    return usb_write_port (xsh, t, &plug->ctrl, plug->port, plug->busid, error);
  return TRUE;
}

/* libxl__device_nextid. */
static guint
usb_next_controller (struct xs_handle *xsh, guint frontend)
{
  g_autofree char *dir = g_strdup_printf ("/libxl/%u/device/vusb", frontend);
  g_auto (GStrv) ctrls = list_dir (xsh, XBT_NULL, dir);
  guint next = 0;

  for (guint i = 0; ctrls && ctrls[i]; i++)
    {
      guint64 n;
      if (g_ascii_string_to_unsigned (ctrls[i], 10, 0, G_MAXINT32 - 1, &n, NULL) && n + 1 > next)
        next = (guint) n + 1;
    }
  return next;
}

static void
vusb_script (DriverScript *s)
{
  s->probe = kv_new ();
  s->front = kv_new ();
  kv_add (s->front, "urb-ring-ref", "9");
  kv_add (s->front, "conn-ring-ref", "10");
  kv_add (s->front, "event-channel", "20");
  s->connect = kv_new ();
  s->error_text = g_strdup ("12 mapping urb-ring-ref 9: Cannot allocate memory");
}

/* libxl__device_usbctrl_add_xenstore for a PV controller, then its drivers
 * to Connected. */
static gboolean
usb_add_controller (XdToolstackSim *self, struct xs_handle *xsh, guint backend, guint frontend,
                    const char *be_name, const char *fe_name, guint timeout_ms,
                    GCancellable *cancellable, GError **error)
{
  g_auto (Device) dev = { 0 };
  g_auto (DriverScript) script = { 0 };
  g_autoptr (GPtrArray) bents = kv_new ();
  g_autoptr (GPtrArray) fents = kv_new ();
  GenericAdd add;

  device_init (&dev, backend, frontend, "vusb", usb_next_controller (xsh, frontend));
  kv_add_printf (bents, "frontend-id", "%u", frontend);
  kv_add (bents, "online", "1");
  kv_add_printf (bents, "state", "%d", XENBUS_INITIALISING);
  kv_add (bents, "type", "pv");
  kv_add (bents, "usb-ver", USB_CTRL_VERSION);
  kv_add_printf (bents, "num-ports", "%d", USB_CTRL_PORTS);
  kv_add (bents, "port", "");
  for (int i = 1; i <= USB_CTRL_PORTS; i++)
    {
      g_autofree char *key = g_strdup_printf ("port/%d", i);
      kv_add (bents, key, "");
    }
  kv_add_printf (fents, "backend-id", "%u", backend);
  kv_add_printf (fents, "state", "%d", XENBUS_INITIALISING);

  vusb_script (&script);
  add.dev = &dev;
  add.bents = kv_pairs (bents);
  add.fents = kv_pairs (fents);
  return add_and_connect (self, xsh, &dev, &add, &script, be_name, fe_name, timeout_ms, cancellable,
                          error);
}

static gboolean
attach_usb (XdToolstackSim *self, struct xs_handle *xsh, const XdAttachRequest *request,
            const char *be_name, const char *fe_name, guint timeout_ms, GCancellable *cancellable,
            GError **error)
{
  g_autofree char *busid = xd_port_to_display (XD_CLASS_USB, request->port);
  g_autoptr (GMutexLocker) locker = NULL;
  UsbPlug plug = { 0 };
  gboolean ok = FALSE;

  if (!busid)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Not a USB port: %s",
                   request->port ? request->port : "(null)");
      return FALSE;
    }
  plug.backend = request->backend;
  plug.frontend = request->frontend;
  plug.busid = busid;

  /* Two attaches to one VM must not both create a controller. */
  locker = g_mutex_locker_new (&self->usb_mutex);
  for (guint round = 0; round < 2; round++)
    {
      if (!run_txn (xsh, busid, usb_plug_txn, &plug, error))
        break;
      if (plug.already)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, "%s already holds %s", fe_name, busid);
          break;
        }
      if (plug.port)
        {
          ok = TRUE;
          break;
        }
      if (round == 0
          && !usb_add_controller (self, xsh, request->backend, request->frontend, be_name, fe_name,
                                  timeout_ms, cancellable, error))
        break;
      if (round == 1)
        g_set_error (error, XD_ERROR, XD_ERROR_FAILED, "No free USB port for %s in %s", busid,
                     fe_name);
    }
  device_clear (&plug.ctrl);
  return ok;
}

typedef struct
{
  Device *dev;
  const char *busid;
  gboolean found;
} UsbUnplug;

/* libxl__device_usbdev_remove_xenstore. */
static gboolean
usb_unplug_txn (struct xs_handle *xsh, xs_transaction_t t, gpointer data, GError **error)
{
  UsbUnplug *unplug = data;
  guint holding, free_port;

  usb_find_ports (xsh, t, unplug->dev, unplug->busid, &holding, &free_port);
  unplug->found = holding != 0;
  if (!holding)
    return TRUE;
  return usb_write_port (xsh, t, unplug->dev, holding, "", error);
}

static gboolean
detach_usb (struct xs_handle *xsh, const XdAttachment *attachment, GError **error)
{
  g_auto (Device) dev = { 0 };
  g_autofree char *busid = xd_port_to_display (XD_CLASS_USB, attachment->port);
  UsbUnplug unplug = { &dev, busid, FALSE };

  if (!busid || !attachment->kind
      || (strcmp (attachment->kind, "vusb") != 0 && strcmp (attachment->kind, "qusb") != 0))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Not a USB attachment");
      return FALSE;
    }
  device_init (&dev, attachment->backend, attachment->frontend, attachment->kind,
               attachment->devid);
  if (!run_txn (xsh, dev.be_path, usb_unplug_txn, &unplug, error))
    return FALSE;
  if (!unplug.found)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "Domain %u holds no USB device %s",
                   attachment->frontend, busid);
      return FALSE;
    }
  return TRUE;
}

/* ---- the vtable ---- */

static gboolean
refuse_class (XdClassId klass, GError **error)
{
  g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "The toolstack does not attach %s devices: %s",
               xd_class_id_to_string (klass),
               klass == XD_CLASS_MIC ? "xen-devices connects microphones itself"
                                     : "they are not supported");
  return FALSE;
}

static gboolean
sim_attach (XdToolstack *toolstack, const XdAttachRequest *request, guint timeout_ms,
            GCancellable *cancellable, GError **error)
{
  XdToolstackSim *self = (XdToolstackSim *) toolstack;
  g_auto (XsHandle) xsh = NULL;
  g_autofree char *be_name = NULL;
  g_autofree char *fe_name = NULL;

  g_return_val_if_fail (request != NULL, FALSE);

  if (request->klass != XD_CLASS_BLOCK && request->klass != XD_CLASS_USB)
    return refuse_class (request->klass, error);
  if (!request->port || !xd_validate_port (request->klass, request->port))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Not a valid %s device id",
                   xd_class_id_to_string (request->klass));
      return FALSE;
    }
  if (request->backend == request->frontend)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
                   "A device cannot be attached to the VM that provides it");
      return FALSE;
    }
  xsh = open_store (error);
  if (!xsh)
    return FALSE;
  be_name = domain_name (xsh, request->backend);
  fe_name = domain_name (xsh, request->frontend);
  if (!be_name || !fe_name)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "Domain %u is not running",
                   !be_name ? request->backend : request->frontend);
      return FALSE;
    }
  if (request->klass == XD_CLASS_BLOCK)
    return attach_block (self, xsh, request, be_name, fe_name, timeout_ms, cancellable, error);
  return attach_usb (self, xsh, request, be_name, fe_name, timeout_ms, cancellable, error);
}

static gboolean
sim_detach (XdToolstack *toolstack, const XdAttachment *attachment, guint timeout_ms,
            GCancellable *cancellable, GError **error)
{
  g_auto (XsHandle) xsh = NULL;
  g_autofree char *be_name = NULL;

  g_return_val_if_fail (attachment != NULL, FALSE);

  if (attachment->klass != XD_CLASS_BLOCK && attachment->klass != XD_CLASS_USB)
    return refuse_class (attachment->klass, error);
  xsh = open_store (error);
  if (!xsh)
    return FALSE;
  if (attachment->klass == XD_CLASS_USB)
    return detach_usb (xsh, attachment, error);
  if (g_strcmp0 (attachment->kind, "vbd") != 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Not a block attachment");
      return FALSE;
    }
  be_name = domain_name (xsh, attachment->backend);
  if (!be_name)
    be_name = g_strdup_printf ("domain %u", attachment->backend);
  return detach_vbd (xsh, attachment, be_name, timeout_ms, cancellable, error);
}

static gboolean
sim_stop_vm (XdToolstack *toolstack, guint domid, GError **error)
{
  g_autoptr (XdSimHost) host = xd_sim_host_new (error);

  return host && xd_sim_host_remove_vm (host, domid, error);
}

static void
sim_free (XdToolstack *toolstack)
{
  XdToolstackSim *self = (XdToolstackSim *) toolstack;

  g_mutex_clear (&self->usb_mutex);
  g_free (self);
}

static const XdToolstackVTable sim_vtable = {
  .attach = sim_attach,
  .detach = sim_detach,
  .stop_vm = sim_stop_vm,
  .free = sim_free,
};

static XdSimFault
fault_from_env (void)
{
  const char *value = g_getenv ("XD_SIM_FAULT");

  if (!value || !*value || strcmp (value, "none") == 0)
    return XD_SIM_FAULT_NONE;
  if (strcmp (value, "never-connects") == 0)
    return XD_SIM_FAULT_BACKEND_NEVER_CONNECTS;
  if (strcmp (value, "backend-error") == 0)
    return XD_SIM_FAULT_BACKEND_ERROR;
  if (strcmp (value, "frontend-vanishes") == 0)
    return XD_SIM_FAULT_FRONTEND_VANISHES;
  g_warning ("XD_SIM_FAULT=%s is not never-connects, backend-error or frontend-vanishes; ignored",
             value);
  return XD_SIM_FAULT_NONE;
}

XdToolstack *
xd_toolstack_sim_new (GError **error)
{
  g_auto (XsHandle) xsh = open_store (error);
  XdToolstackSim *self;

  /* Connections are made per call; this one only proves the daemon is
   * there, so that a front end can say so at start-up. */
  if (!xsh)
    return NULL;
  self = g_new0 (XdToolstackSim, 1);
  self->parent.vtable = &sim_vtable;
  self->parent.name = "simulated";
  g_mutex_init (&self->usb_mutex);
  self->fault = (gint) fault_from_env ();
  return &self->parent;
}

void
xd_toolstack_sim_set_fault (XdToolstack *toolstack, XdSimFault fault)
{
  XdToolstackSim *self = (XdToolstackSim *) toolstack;

  g_return_if_fail (toolstack != NULL && toolstack->vtable == &sim_vtable);
  g_atomic_int_set (&self->fault, (gint) fault);
}
