/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated Xen host. The nodes written here follow what libxl 4.17
 * writes (tools/libs/light), function by function; see the comment above
 * each operation. Where the simulation has to differ, the comment says why.
 */
#include "xd-sim-host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore_lib.h>

#include "core/xd-error.h"
#include "xd-xs-error.h"

/* libxl retries a conflicting transaction forever; a simulation that keeps
 * conflicting this often has a bug worth reporting. */
#define MAX_TRANSACTION_ATTEMPTS 100
/* The event channel a domain's xenstore ring is bound to; any value works
 * under the shim, but keep it recognisable and distinct per domain. */
#define STORE_PORT_BASE 1000
/* What libxl writes for a PV guest with "memory = 1024". */
#define VM_MEMORY_KB "1048576"
/* Domain ids from here on are reserved by Xen (DOMID_FIRST_RESERVED). */
#define FIRST_RESERVED_DOMID 0x7FF0U
#define DOM0_UUID "00000000-0000-0000-0000-000000000000"

struct _XdSimHost
{
  struct xs_handle *xsh;
  char *socket;
};

typedef gboolean (*TransactionFunc) (XdSimHost *self, xs_transaction_t t, gconstpointer data,
                                     GError **error);

/* Runs @func inside a transaction, retrying on EAGAIN (a conflict at commit)
 * as every libxl writer does. */
static gboolean
run_transaction (XdSimHost *self, const char *what, TransactionFunc func, gconstpointer data,
                 GError **error)
{
  for (guint attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS; attempt++)
    {
      xs_transaction_t t = xs_transaction_start (self->xsh);

      if (t == XBT_NULL)
        return xd_xs_set_error (error, errno, "transaction_start for", what);
      if (!func (self, t, data, error))
        {
          xs_transaction_end (self->xsh, t, true);
          return FALSE;
        }
      if (xs_transaction_end (self->xsh, t, false))
        return TRUE;
      if (errno != EAGAIN)
        return xd_xs_set_error (error, errno, "transaction_end for", what);
    }
  g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT, "xenstore transaction for %s kept conflicting",
               what);
  return FALSE;
}

static gboolean
txn_write (XdSimHost *self, xs_transaction_t t, const char *path, const char *value, gsize len,
           GError **error)
{
  if (!xs_write (self->xsh, t, path, value, (unsigned int) len))
    return xd_xs_set_error (error, errno, "write", path);
  return TRUE;
}

static gboolean
txn_write_str (XdSimHost *self, xs_transaction_t t, const char *path, const char *value,
               GError **error)
{
  return txn_write (self, t, path, value, strlen (value), error);
}

static gboolean
txn_set_perms (XdSimHost *self, xs_transaction_t t, const char *path, struct xs_permissions *perms,
               unsigned int n_perms, GError **error)
{
  if (!xs_set_permissions (self->xsh, t, path, perms, n_perms))
    return xd_xs_set_error (error, errno, "set_permissions", path);
  return TRUE;
}

/* libxl__xs_mknod: an empty directory with explicit permissions. */
static gboolean
txn_mknod (XdSimHost *self, xs_transaction_t t, const char *path, struct xs_permissions *perms,
           unsigned int n_perms, GError **error)
{
  if (!xs_mkdir (self->xsh, t, path))
    return xd_xs_set_error (error, errno, "mkdir", path);
  return txn_set_perms (self, t, path, perms, n_perms, error);
}

/* Removing a node that does not exist is not an error, as in libxl. */
static gboolean
txn_rm (XdSimHost *self, xs_transaction_t t, const char *path, GError **error)
{
  if (!xs_rm (self->xsh, t, path) && errno != ENOENT)
    return xd_xs_set_error (error, errno, "rm", path);
  return TRUE;
}

/* Writes "key", "value" pairs below @dir; the nodes inherit @dir's
 * permissions, as with libxl__xs_writev. */
static gboolean
txn_writev (XdSimHost *self, xs_transaction_t t, const char *dir, const char *const *kv,
            GError **error)
{
  for (gsize i = 0; kv && kv[i] && kv[i + 1]; i += 2)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", dir, kv[i]);
      if (!txn_write_str (self, t, path, kv[i + 1], error))
        return FALSE;
    }
  return TRUE;
}

static guint
path_depth (const char *path)
{
  guint n = 0;
  for (const char *p = path; *p; p++)
    n += *p == '/';
  return n;
}

/* libxl__xs_path_cleanup: removes @path, then each parent that is left
 * with neither children nor a value. /local/domain/<n> itself is never
 * removed this way. */
static gboolean
txn_rm_cleanup (XdSimHost *self, xs_transaction_t t, const char *path, GError **error)
{
  g_autofree char *p = g_strdup (path);
  char *slash;

  if (!txn_rm (self, t, p, error))
    return FALSE;
  while ((slash = strrchr (p, '/')) && slash != p)
    {
      g_autofree char **children = NULL;
      g_autofree char *value = NULL;
      unsigned int n = 0, len = 0;

      *slash = '\0';
      if (path_depth (p) <= 3)
        break;
      children = xs_directory (self->xsh, t, p, &n);
      if (!children || n > 0)
        break;
      value = xs_read (self->xsh, t, p, &len);
      if (value && len > 0)
        break;
      if (!txn_rm (self, t, p, error))
        return FALSE;
    }
  return TRUE;
}

XdSimHost *
xd_sim_host_new (GError **error)
{
  g_autoptr (XdSimHost) self = g_new0 (XdSimHost, 1);

  self->socket = g_strdup (xs_daemon_socket ());
  /* A simulated host must never reach a real hypervisor's store through
   * /dev/xen/xenbus, so only the socket is tried. */
  self->xsh = xs_open (XS_OPEN_SOCKETONLY);
  if (!self->xsh)
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "Cannot connect to xenstored at %s: %s",
                   self->socket, g_strerror (errsv));
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
xd_sim_host_free (XdSimHost *self)
{
  if (!self)
    return;
  if (self->xsh)
    xs_close (self->xsh);
  g_free (self->socket);
  g_free (self);
}

struct xs_handle *
xd_sim_host_get_handle (XdSimHost *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->xsh;
}

/* ---- VMs ---- */

typedef struct
{
  guint domid;
  const char *name;
  const char *uuid;
  guint port;
} AddVm;

/* The directories libxl__domain_make creates under /local/domain/<domid>:
 * dom0-owned ones the guest may only read, and the ones the guest owns. */
static const struct
{
  const char *node;
  gboolean guest_owned;
} domain_dirs[] = {
  { "cpu", FALSE },
  { "memory", FALSE },
  { "device", FALSE },
  { "control", FALSE },
  { "control/shutdown", TRUE },
  { "control/feature-poweroff", TRUE },
  { "control/feature-reboot", TRUE },
  { "control/feature-suspend", TRUE },
  { "control/sysrq", TRUE },
  { "data", TRUE },
  { "drivers", TRUE },
  { "feature", TRUE },
  { "attr", TRUE },
  { "error", TRUE },
};

/*
 * libxl__domain_make (libxl_create.c) and the xenstore half of
 * libxl__build_post (libxl_dom.c), merged into one transaction:
 *   /local/domain/<domid>  {0,NONE},{domid,READ}  with vm, name, the
 *                          directories of domain_dirs[], and (build_post)
 *                          memory/static-max, memory/target, domid,
 *                          cpu/0/availability, store/port, store/ring-ref;
 *   /vm/<uuid>             {0,NONE},{domid,READ}  with uuid, name, start_time;
 *   /libxl/<domid>         {0,NONE}               with device.
 * For dom0 this mirrors xen-init-dom0 instead: nothing is removed first and
 * every node is dom0's alone.
 */
static gboolean
add_vm_txn (XdSimHost *self, xs_transaction_t t, gconstpointer data, GError **error)
{
  const AddVm *vm = data;
  struct xs_permissions roperm[2] = { { 0, XS_PERM_NONE }, { vm->domid, XS_PERM_READ } };
  struct xs_permissions rwperm[1] = { { vm->domid, XS_PERM_NONE } };
  struct xs_permissions noperm[1] = { { 0, XS_PERM_NONE } };
  unsigned int n_roperm = vm->domid == 0 ? 1 : 2;
  g_autofree char *dom_path = g_strdup_printf ("/local/domain/%u", vm->domid);
  g_autofree char *vm_path = g_strdup_printf ("/vm/%s", vm->uuid);
  g_autofree char *libxl_path = g_strdup_printf ("/libxl/%u", vm->domid);
  g_autofree char *domid_str = g_strdup_printf ("%u", vm->domid);
  g_autofree char *port_str = g_strdup_printf ("%u", vm->port);
  g_autofree char *start_time = g_strdup_printf ("%.2f", g_get_real_time () / 1e6);

  if (vm->domid != 0)
    {
      if (!txn_rm (self, t, dom_path, error) || !txn_rm (self, t, vm_path, error)
          || !txn_rm (self, t, libxl_path, error))
        return FALSE;
    }
  if (!txn_mknod (self, t, dom_path, roperm, n_roperm, error)
      || !txn_mknod (self, t, vm_path, roperm, n_roperm, error)
      || !txn_mknod (self, t, libxl_path, noperm, 1, error))
    return FALSE;
  {
    g_autofree char *path = g_strdup_printf ("%s/device", libxl_path);
    if (!txn_mknod (self, t, path, noperm, 1, error))
      return FALSE;
  }

  {
    const char *const dom_kv[] = {
      "vm", vm_path, "name", vm->name, NULL,
    };
    const char *const vm_kv[] = {
      "uuid", vm->uuid, "name", vm->name, "start_time", start_time, NULL,
    };
    if (!txn_writev (self, t, dom_path, dom_kv, error)
        || !txn_writev (self, t, vm_path, vm_kv, error))
      return FALSE;
  }

  for (gsize i = 0; i < G_N_ELEMENTS (domain_dirs); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", dom_path, domain_dirs[i].node);
      gboolean ok = domain_dirs[i].guest_owned ? txn_mknod (self, t, path, rwperm, 1, error)
                                               : txn_mknod (self, t, path, roperm, n_roperm, error);
      if (!ok)
        return FALSE;
    }

  {
    /* clang-format off */
    const char *const post_kv[] = {
      "memory/static-max", VM_MEMORY_KB,
      "memory/target", VM_MEMORY_KB,
      "domid", domid_str,
      "cpu/0/availability", "online",
      NULL,
    };
    const char *const store_kv[] = {
      "store/port", port_str,
      "store/ring-ref", "0",
      NULL,
    };
    /* clang-format on */
    if (!txn_writev (self, t, dom_path, post_kv, error))
      return FALSE;
    if (vm->domid != 0 && !txn_writev (self, t, dom_path, store_kv, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
xd_sim_host_add_vm (XdSimHost *self, guint domid, const char *name, GError **error)
{
  g_autofree char *uuid = NULL;
  g_autofree char *what = NULL;
  AddVm vm;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (domid < FIRST_RESERVED_DOMID, FALSE);

  if (domid != 0)
    {
      if (xs_is_domain_introduced (self->xsh, domid))
        {
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Domain %u already exists", domid);
          return FALSE;
        }
      /* libxl introduces the domain last, in libxl__build_post, because the
       * hypervisor already knows it. Under the shim a domain exists for
       * xenstored only once introduced, and xenstored refuses permissions
       * naming a domain that does not exist (ENOENT): so introduce first.
       * Introducing a domain twice succeeds silently, hence the check
       * above. */
      if (!xs_introduce_domain (self->xsh, domid, 0, STORE_PORT_BASE + domid))
        {
          int errsv = errno;
          g_set_error (error, XD_ERROR, xd_xs_error_code (errsv),
                       "Cannot introduce domain %u to xenstored: %s", domid, g_strerror (errsv));
          return FALSE;
        }
      uuid = g_uuid_string_random ();
    }
  else
    uuid = g_strdup (DOM0_UUID);

  vm.domid = domid;
  vm.name = name;
  vm.uuid = uuid;
  vm.port = STORE_PORT_BASE + domid;
  what = g_strdup_printf ("domain %u", domid);
  if (!run_transaction (self, what, add_vm_txn, &vm, error))
    {
      /* Leave no half-made domain behind for the next attempt. */
      if (domid != 0)
        xs_release_domain (self->xsh, domid);
      return FALSE;
    }
  return TRUE;
}

static gboolean
rm_cleanup_txn (XdSimHost *self, xs_transaction_t t, gconstpointer data, GError **error)
{
  return txn_rm_cleanup (self, t, data, error);
}

/* libxl__devices_destroy: every device libxl recorded for the domain under
 * /libxl/<domid>/device/<kind>/<devid> loses its backend directory (the
 * frontend goes with /local/domain/<domid>). */
static gboolean
destroy_devices (XdSimHost *self, guint domid, GError **error)
{
  g_autofree char *dir = g_strdup_printf ("/libxl/%u/device", domid);
  g_autofree char **kinds = NULL;
  unsigned int n_kinds = 0;

  kinds = xs_directory (self->xsh, XBT_NULL, dir, &n_kinds);
  for (unsigned int i = 0; kinds && i < n_kinds; i++)
    {
      g_autofree char *kind_dir = g_strdup_printf ("%s/%s", dir, kinds[i]);
      g_autofree char **devids = NULL;
      unsigned int n_devids = 0;

      devids = xs_directory (self->xsh, XBT_NULL, kind_dir, &n_devids);
      for (unsigned int j = 0; devids && j < n_devids; j++)
        {
          g_autofree char *be_key = g_strdup_printf ("%s/%s/backend", kind_dir, devids[j]);
          g_autofree char *be_path = xs_read (self->xsh, XBT_NULL, be_key, NULL);

          if (be_path && g_str_has_prefix (be_path, "/local/domain/")
              && !run_transaction (self, be_path, rm_cleanup_txn, be_path, error))
            return FALSE;
        }
    }
  return TRUE;
}

/*
 * libxl__destroy_domid (libxl_domain.c): devices_destroy_cb removes
 * /vm/<uuid> (found through /local/domain/<domid>/vm), /local/domain/<domid>
 * and /libxl/<domid>, each outside a transaction, and then has the
 * hypervisor destroy the domain. xenstored notices the dead domain and
 * releases it, firing @releaseDomain; xs_release_domain stands in for that
 * last step, so watchers see the same order as on a real host.
 */
gboolean
xd_sim_host_remove_vm (XdSimHost *self, guint domid, GError **error)
{
  g_autofree char *dom_path = NULL;
  g_autofree char *vm_key = NULL;
  g_autofree char *vm_path = NULL;
  g_autofree char *libxl_path = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (domid == 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, "Domain 0 cannot be destroyed");
      return FALSE;
    }
  if (!xs_is_domain_introduced (self->xsh, domid))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "No domain %u", domid);
      return FALSE;
    }
  if (!destroy_devices (self, domid, error))
    return FALSE;

  dom_path = g_strdup_printf ("/local/domain/%u", domid);
  vm_key = g_strdup_printf ("%s/vm", dom_path);
  libxl_path = g_strdup_printf ("/libxl/%u", domid);
  vm_path = xs_read (self->xsh, XBT_NULL, vm_key, NULL);
  if (vm_path && !txn_rm (self, XBT_NULL, vm_path, error))
    return FALSE;
  if (!txn_rm (self, XBT_NULL, dom_path, error) || !txn_rm (self, XBT_NULL, libxl_path, error))
    return FALSE;
  if (!xs_release_domain (self->xsh, domid))
    {
      int errsv = errno;
      g_set_error (error, XD_ERROR, xd_xs_error_code (errsv),
                   "Cannot release domain %u from xenstored: %s", domid, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* ---- Devices published by backend agents ---- */

typedef struct
{
  guint backend;
  const char *dir;
  const char *const *kv;
} PublishDevice;

/* What the agent in the backend VM writes: one node, key=value lines
 * (xd-device-entry.h), joined here without any check. It runs as the
 * backend domain, and xenstored makes a domain the owner of what it
 * creates; dom0 writing on its behalf sets that owner on the node. */
static gboolean
publish_txn (XdSimHost *self, xs_transaction_t t, gconstpointer data, GError **error)
{
  const PublishDevice *pub = data;
  struct xs_permissions perms[1] = { { pub->backend, XS_PERM_NONE } };
  g_autoptr (GString) value = g_string_new (NULL);

  for (guint i = 0; pub->kv && pub->kv[i]; i += 2)
    g_string_append_printf (value, "%s%s=%s", i ? "\n" : "", pub->kv[i], pub->kv[i + 1]);
  return txn_rm (self, t, pub->dir, error)
         && txn_write (self, t, pub->dir, value->str, value->len, error)
         && txn_set_perms (self, t, pub->dir, perms, 1, error);
}

static char *
device_dir (guint backend, const char *klass, const char *port)
{
  return g_strdup_printf ("/local/domain/%u/data/xen-devices/%s/%s", backend, klass, port);
}

gboolean
xd_sim_host_publish_device (XdSimHost *self, guint backend, const char *klass, const char *port,
                            const char *const *kv, GError **error)
{
  g_autofree char *dir = NULL;
  PublishDevice pub;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (klass != NULL && port != NULL, FALSE);
  g_return_val_if_fail (kv == NULL || g_strv_length ((char **) kv) % 2 == 0, FALSE);

  dir = device_dir (backend, klass, port);
  pub.backend = backend;
  pub.dir = dir;
  pub.kv = kv;
  return run_transaction (self, dir, publish_txn, &pub, error);
}

gboolean
xd_sim_host_unpublish_device (XdSimHost *self, guint backend, const char *klass, const char *port,
                              GError **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (klass != NULL && port != NULL, FALSE);

  dir = device_dir (backend, klass, port);
  return txn_rm (self, XBT_NULL, dir, error);
}

/* ---- Raw access ---- */

typedef struct
{
  const char *path;
  const char *value;
  gsize len;
  guint owner;
} WriteRaw;

static gboolean
write_raw_txn (XdSimHost *self, xs_transaction_t t, gconstpointer data, GError **error)
{
  const WriteRaw *w = data;
  struct xs_permissions perms[1] = { { w->owner, XS_PERM_NONE } };

  return txn_write (self, t, w->path, w->value, w->len, error)
         && txn_set_perms (self, t, w->path, perms, 1, error);
}

gboolean
xd_sim_host_write_raw (XdSimHost *self, const char *path, const char *value, gsize len, guint owner,
                       GError **error)
{
  WriteRaw w = { path, value, len, owner };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (value != NULL || len == 0, FALSE);

  return run_transaction (self, path, write_raw_txn, &w, error);
}

gboolean
xd_sim_host_rm (XdSimHost *self, const char *path, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return txn_rm (self, XBT_NULL, path, error);
}

/* ---- Virtual block devices ---- */

typedef struct
{
  guint backend, frontend;
  const char *be_path, *fe_path, *libxl_path;
  const char *const *bents;
  const char *const *fents;
} WriteVbd;

/*
 * libxl__device_generic_add (libxl_device.c) with the entries
 * libxl__device_disk_setdefault/device_disk_add (libxl_disk.c) give a vbd:
 *   backend  /local/domain/<be>/backend/vbd/<fe>/<devid>  {be,NONE},{fe,READ}
 *   frontend /local/domain/<fe>/device/vbd/<devid>        {fe,NONE},{be,READ}
 *   libxl    /libxl/<fe>/device/vbd/<devid>  (dom0 only): frontend, backend
 *            and a copy of the backend entries, so libxl need not trust the
 *            backend later.
 */
static gboolean
write_vbd_txn (XdSimHost *self, xs_transaction_t t, gconstpointer data, GError **error)
{
  const WriteVbd *v = data;
  struct xs_permissions be_perms[2]
    = { { v->backend, XS_PERM_NONE }, { v->frontend, XS_PERM_READ } };
  struct xs_permissions fe_perms[2]
    = { { v->frontend, XS_PERM_NONE }, { v->backend, XS_PERM_READ } };
  const char *const libxl_kv[] = { "frontend", v->fe_path, "backend", v->be_path, NULL };
  const char *const fe_kv[] = { "backend", v->be_path, NULL };
  const char *const be_kv[] = { "frontend", v->fe_path, NULL };

  if (!txn_rm (self, t, v->libxl_path, error)
      || !txn_writev (self, t, v->libxl_path, libxl_kv, error))
    return FALSE;

  if (!txn_rm (self, t, v->fe_path, error) || !txn_mknod (self, t, v->fe_path, fe_perms, 2, error)
      || !txn_writev (self, t, v->fe_path, fe_kv, error)
      || !txn_writev (self, t, v->fe_path, v->fents, error))
    return FALSE;

  if (!txn_rm (self, t, v->be_path, error) || !txn_mknod (self, t, v->be_path, be_perms, 2, error)
      || !txn_writev (self, t, v->be_path, be_kv, error)
      || !txn_writev (self, t, v->be_path, v->bents, error))
    return FALSE;

  return txn_writev (self, t, v->libxl_path, v->bents, error);
}

gboolean
xd_sim_host_write_vbd (XdSimHost *self, guint backend, guint frontend, guint devid,
                       const char *params, const char *dev, const char *mode, int state,
                       GError **error)
{
  g_autofree char *be_path = NULL;
  g_autofree char *fe_path = NULL;
  g_autofree char *libxl_path = NULL;
  g_autofree char *be_id = g_strdup_printf ("%u", backend);
  g_autofree char *fe_id = g_strdup_printf ("%u", frontend);
  g_autofree char *devid_str = g_strdup_printf ("%u", devid);
  g_autofree char *state_str = g_strdup_printf ("%d", state);
  WriteVbd v;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (params != NULL && dev != NULL && mode != NULL, FALSE);

  be_path = g_strdup_printf ("/local/domain/%u/backend/vbd/%u/%u", backend, frontend, devid);
  fe_path = g_strdup_printf ("/local/domain/%u/device/vbd/%u", frontend, devid);
  libxl_path = g_strdup_printf ("/libxl/%u/device/vbd/%u", frontend, devid);
  {
    /* clang-format off */
    const char *const bents[] = {
      "params", params,
      "script", "/etc/xen/scripts/block",
      "frontend-id", fe_id,
      "online", "1",
      "removable", "0",
      "bootable", "1",
      "state", state_str,
      "dev", dev,
      "type", "phy",
      "mode", mode,
      "device-type", "disk",
      NULL,
    };
    const char *const fents[] = {
      "backend-id", be_id,
      "state", state_str,
      "virtual-device", devid_str,
      "device-type", "disk",
      NULL,
    };
    /* clang-format on */

    v.backend = backend;
    v.frontend = frontend;
    v.be_path = be_path;
    v.fe_path = fe_path;
    v.libxl_path = libxl_path;
    v.bents = bents;
    v.fents = fents;
    return run_transaction (self, be_path, write_vbd_txn, &v, error);
  }
}

/* ---- The demo host ---- */

static const struct
{
  guint domid;
  const char *name;
} demo_vms[] = {
  { 0, "dom0" },     { 1, "sys-usb" }, { 2, "work" },
  { 3, "personal" }, { 4, "vault" },   { 5, "untrusted" },
};

static const struct
{
  guint backend;
  const char *klass;
  const char *port;
  const char *const kv[9];
} demo_devices[] = {
  /* clang-format off */
  { 1, "block", "sda",
    { "desc", "SanDisk Cruzer Blade", "size", "16008609792", "mode", "w", NULL } },
  { 1, "block", "sda1",
    { "desc", "SanDisk Cruzer Blade (partition 1)", "size", "8004304896", "mode", "w",
      "parent", "sda", NULL } },
  { 1, "block", "sda2",
    { "desc", "SanDisk Cruzer Blade (partition 2)", "size", "8003256832", "mode", "w",
      "parent", "sda", NULL } },
  { 1, "usb", "2-1",
    { "desc", "SanDisk Cruzer Blade", "interfaces", ":080650:", NULL } },
  /* Port 2-1.3: '.' is not allowed in a xenstore path, so it is spelled
   * with '_'. */
  { 1, "usb", "2-1_3",
    { "desc", "Logitech USB Receiver", "interfaces", ":030101:030102:", NULL } },
  { 0, "mic", "mic",
    { "desc", "Internal microphone", NULL } },
  { 0, "block", "sr0",
    { "desc", "DVD-ROM", "size", "4700372992", "mode", "r", NULL } },
  /* clang-format on */
};

/* xvdi: 202 << 8 | disk index 8 << 4. */
#define DEMO_XVDI_DEVID 51840
#define XENBUS_STATE_CONNECTED 4

gboolean
xd_sim_host_populate_demo (XdSimHost *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (demo_vms); i++)
    if (!xd_sim_host_add_vm (self, demo_vms[i].domid, demo_vms[i].name, error))
      return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (demo_devices); i++)
    if (!xd_sim_host_publish_device (self, demo_devices[i].backend, demo_devices[i].klass,
                                     demo_devices[i].port, demo_devices[i].kv, error))
      return FALSE;
  return xd_sim_host_write_vbd (self, 1, 2, DEMO_XVDI_DEVID, "/dev/sda1", "xvdi", "w",
                                XENBUS_STATE_CONNECTED, error);
}
