/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attach and detach: the engine's rules, checked against live xenstore in a
 * worker thread, and the toolstack call that follows.
 *
 * A claim makes the check and the attach one step for every process: inside
 * a xenstore transaction the worker reads the device, its live holders, the
 * holders of its disk or partitions and any claims on them, then writes its
 * own claim under /local/domain/0/xen-devices/claims/<B>/<class>/<port>.
 * xenstored refuses to commit a transaction that read a node another
 * transaction changed meanwhile, so of two racing workers exactly one
 * commits; the other starts over and finds the claim. The claim names the
 * frontend and the process ("<F> <pid> <start time>"); it is removed when
 * the toolstack call returns, and a claim whose process is gone (killed
 * mid-attach) is ignored and replaced.
 */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "xd-class-info.h"
#include "xd-device-entry.h"
#include "xd-engine-private.h"
#include "xd-error.h"
#include "xd-validate.h"

#define CLAIMS_ROOT "/local/domain/0/xen-devices/claims"
#define MAX_TRANSACTION_ATTEMPTS 50
#define DEFAULT_TIMEOUT_MS 30000

/* An hour: longer is a mistake, not a wish. */
#define MAX_TIMEOUT_MS 3600000

static gboolean
parse_timeout (const char *env, guint *out)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (env, 10, 1, MAX_TIMEOUT_MS, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

guint
xd_engine_operation_timeout (void)
{
  const char *env = g_getenv ("XEN_DEVICES_TIMEOUT_MS");
  guint value;

  if (env && parse_timeout (env, &value))
    return value;
  return DEFAULT_TIMEOUT_MS;
}

gboolean
xd_engine_check_timeout_setting (GError **error)
{
  const char *env = g_getenv ("XEN_DEVICES_TIMEOUT_MS");
  guint value;

  if (!env || parse_timeout (env, &value))
    return TRUE;
  {
    g_autofree char *quoted = xd_quote_for_message (env);
    g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
                 "XEN_DEVICES_TIMEOUT_MS must be a number of milliseconds from 1 to %d, not “%s”",
                 MAX_TIMEOUT_MS, quoted);
  }
  return FALSE;
}

/* ---- reading live state inside a transaction ---- */

char *
xd_txn_read_relative (const char *relative, gpointer data)
{
  XdTxnReader *reader = data;
  g_autofree char *path = g_strconcat (reader->base, "/", relative, NULL);
  return xd_store_read_txn (reader->store, reader->txn, path, NULL, NULL);
}

gboolean
xd_read_backend_entry (XdStore *store, XdStoreTxn txn, guint backend, const char *kind,
                       guint frontend, guint devid, GPtrArray *out, GString *why)
{
  const XdClassInfo *info = xd_class_info_for_backend_kind (kind);
  g_autofree char *base
    = g_strdup_printf ("/local/domain/%u/backend/%s/%u/%u", backend, kind, frontend, devid);
  g_autofree char *record_base = g_strdup_printf (
    "/libxl/%u/device/%s/%u", frontend, strcmp (kind, "qusb") == 0 ? "vusb" : kind, devid);
  XdTxnReader reader = { store, txn, base };
  XdTxnReader record = { store, txn, record_base };

  if (!info || !info->read_backend)
    return TRUE;

  /* An entry counts only while dom0's toolstack has a record of it that
   * points back here. A backend VM owns its backend directory and can
   * create entries in it; it cannot create this record. The mic's entries
   * are written by dom0 alone, in a directory the backend cannot write. */
  if (strcmp (kind, "xd-mic") != 0)
    {
      g_autofree char *recorded = xd_txn_read_relative ("backend", &record);
      if (!recorded || strcmp (recorded, base) != 0)
        return TRUE;
    }
  return info->read_backend (kind, backend, frontend, devid, xd_txn_read_relative, &reader,
                             xd_txn_read_relative, &record, out, why);
}

/* Whether a vbd entry can hold one of @ports, judged from libxl's record of
 * what it attached (one read, where reading the whole entry takes seven). */
static gboolean
vbd_entry_may_hold (XdStore *store, XdStoreTxn txn, guint frontend, guint devid, GHashTable *ports)
{
  g_autofree char *path = g_strdup_printf ("/libxl/%u/device/vbd/%u/params", frontend, devid);
  g_autofree char *params = xd_store_read_txn (store, txn, path, NULL, NULL);

  return params && g_str_has_prefix (params, "/dev/")
         && g_hash_table_contains (ports, params + strlen ("/dev/"));
}

/* Whether domain @domid runs: dom0's toolstack gave it a name. */
static gboolean
domain_running (XdStore *store, XdStoreTxn txn, guint domid)
{
  g_autofree char *path = g_strdup_printf ("/local/domain/%u/name", domid);
  g_autofree char *name = xd_store_read_txn (store, txn, path, NULL, NULL);

  return name != NULL;
}

/* Every attachment of @klass with backend @backend (and frontend @frontend
 * unless G_MAXUINT), read live; with @ports, only those that may hold one of
 * these ports: an attach reads what its rules need, not the whole backend,
 * inside its transaction. */
static GPtrArray *
live_holders (XdStore *store, XdStoreTxn txn, guint backend, XdClassId klass, guint frontend,
              GHashTable *ports)
{
  const XdClassInfo *info = xd_class_info_get (klass);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);

  for (const char *const *kind = info->backend_kinds; *kind; kind++)
    {
      g_autofree char *kind_path = g_strdup_printf ("/local/domain/%u/backend/%s", backend, *kind);
      g_auto (GStrv) frontends = xd_store_directory_txn (store, txn, kind_path, NULL);

      for (guint f = 0; frontends && frontends[f]; f++)
        {
          g_autofree char *front_path = NULL;
          g_auto (GStrv) devids = NULL;
          guint fid;

          if (!xd_parse_domid (frontends[f], &fid) || (frontend != G_MAXUINT && fid != frontend))
            continue;
          /* The entries of a domain that is not running hold nothing (one
           * running holder is the rule): a VM that crashed, or was
           * destroyed without its devices, blocks no device. */
          if (!domain_running (store, txn, fid))
            continue;
          front_path = g_strdup_printf ("%s/%u", kind_path, fid);
          devids = xd_store_directory_txn (store, txn, front_path, NULL);
          for (guint d = 0; devids && devids[d]; d++)
            {
              g_autoptr (GString) why = g_string_new (NULL);
              guint64 devid;

              if (!xd_parse_size (devids[d], &devid) || devid > G_MAXINT32)
                continue;
              if (ports && strcmp (*kind, "vbd") == 0
                  && !vbd_entry_may_hold (store, txn, fid, (guint) devid, ports))
                continue;
              xd_read_backend_entry (store, txn, backend, *kind, fid, (guint) devid, out, why);
            }
        }
    }
  return out;
}

static char *read_txn (XdStore *store, XdStoreTxn txn, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static char *
read_txn (XdStore *store, XdStoreTxn txn, const char *fmt, ...)
{
  g_autofree char *path = NULL;
  va_list ap;

  va_start (ap, fmt);
  path = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return xd_store_read_txn (store, txn, path, NULL, NULL);
}

/* The published entry of @port (xd-device-entry.h), or NULL when there is
 * none or it is not valid: then the engine does not show the device either. */
static XdDeviceEntry *
read_entry_txn (XdStore *store, XdStoreTxn txn, guint backend, XdClassId klass, const char *port)
{
  g_autofree char *path = g_strdup_printf ("/local/domain/%u/data/xen-devices/%s/%s", backend,
                                           xd_class_id_to_string (klass), port);
  gsize len = 0;
  g_autofree char *value = xd_store_read_txn (store, txn, path, &len, NULL);
  g_autoptr (GString) why = g_string_new (NULL);

  return value ? xd_device_entry_parse (value, len, why) : NULL;
}

/* ---- claims ---- */

static guint64
process_start_time (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *contents = NULL;
  const char *p;
  guint64 start = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  /* The command name may hold spaces and parentheses: count fields from the
   * last ')'. Start time is field 22; field 3 follows the ')'. */
  p = strrchr (contents, ')');
  if (!p)
    return 0;
  for (int field = 2; field < 22 && p; field++)
    p = strchr (p + 1, ' ');
  if (p)
    start = g_ascii_strtoull (p + 1, NULL, 10);
  return start;
}

static char *
claim_value (guint frontend)
{
  int pid = getpid ();
  return g_strdup_printf ("%u %d %" G_GUINT64_FORMAT, frontend, pid, process_start_time (pid));
}

/* The frontend a live claim is for, or G_MAXUINT when the claim is absent,
 * malformed or left by a process that is gone. */
static guint
claim_holder (const char *value)
{
  g_auto (GStrv) parts = value ? g_strsplit (value, " ", 3) : NULL;
  guint frontend;
  guint64 pid, start;

  if (!parts || g_strv_length (parts) != 3 || !xd_parse_domid (parts[0], &frontend)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXINT, &pid, NULL)
      || !g_ascii_string_to_unsigned (parts[2], 10, 0, G_MAXUINT64, &start, NULL))
    return G_MAXUINT;
  if (process_start_time ((int) pid) != start)
    return G_MAXUINT;
  return frontend;
}

static char *
claim_path (guint backend, XdClassId klass, const char *port)
{
  return g_strdup_printf (CLAIMS_ROOT "/%u/%s/%s", backend, xd_class_id_to_string (klass), port);
}

/* Removes the claims beside @backend's @klass that a process left when it
 * was killed in the middle of an attach: ignored by every check, but never
 * gone otherwise. */
static void
remove_stale_claims (XdStore *store, guint backend, XdClassId klass)
{
  g_autofree char *dir
    = g_strdup_printf (CLAIMS_ROOT "/%u/%s", backend, xd_class_id_to_string (klass));
  g_auto (GStrv) ports = xd_store_directory_txn (store, XD_STORE_NO_TXN, dir, NULL);

  for (guint i = 0; ports && ports[i]; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", dir, ports[i]);
      g_autofree char *value = xd_store_read_txn (store, XD_STORE_NO_TXN, path, NULL, NULL);

      /* A claim that is being written this moment reads as absent, never
       * as stale: only a gone process's claim goes. */
      if (value && claim_holder (value) == G_MAXUINT)
        xd_store_rm (store, XD_STORE_NO_TXN, path, NULL);
    }
}

/* Removes the directories above @path, up to @top (kept), that nothing is
 * left in, as libxl__xs_path_cleanup () does. */
static void
remove_empty_parents (XdStore *store, const char *path, const char *top)
{
  g_autofree char *dir = g_path_get_dirname (path);

  while (g_str_has_prefix (dir, top) && strlen (dir) > strlen (top))
    {
      g_auto (GStrv) children = xd_store_directory_txn (store, XD_STORE_NO_TXN, dir, NULL);
      char *parent;

      if (children && children[0])
        break;
      xd_store_rm (store, XD_STORE_NO_TXN, dir, NULL);
      parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = parent;
    }
}

/* Removes the backend entries (and libxl's records of them) that hold
 * @port for a domain that no longer runs: a domain that crashed, or was
 * destroyed without its devices, left them. They hold nothing already
 * (live_holders ()); gone, they no longer show in xenstore as a second
 * holder. What libxl's own destroy would have removed, nothing more. */
static void
remove_stale_entries (XdStore *store, guint backend, XdClassId klass, const char *port)
{
  const XdClassInfo *info = xd_class_info_get (klass);

  for (const char *const *kind = info->backend_kinds; *kind; kind++)
    {
      g_autofree char *kind_path = g_strdup_printf ("/local/domain/%u/backend/%s", backend, *kind);
      g_auto (GStrv) frontends = xd_store_directory_txn (store, XD_STORE_NO_TXN, kind_path, NULL);

      for (guint f = 0; frontends && frontends[f]; f++)
        {
          g_autofree char *front_path = g_strdup_printf ("%s/%s", kind_path, frontends[f]);
          g_auto (GStrv) devids = NULL;
          guint fid;

          if (!xd_parse_domid (frontends[f], &fid) || domain_running (store, XD_STORE_NO_TXN, fid))
            continue;
          devids = xd_store_directory_txn (store, XD_STORE_NO_TXN, front_path, NULL);
          for (guint d = 0; devids && devids[d]; d++)
            {
              g_autoptr (GPtrArray) held
                = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);
              g_autoptr (GString) why = g_string_new (NULL);
              gboolean holds = FALSE;
              guint64 devid;

              if (!xd_parse_size (devids[d], &devid) || devid > G_MAXINT32)
                continue;
              xd_read_backend_entry (store, XD_STORE_NO_TXN, backend, *kind, fid, (guint) devid,
                                     held, why);
              for (guint i = 0; i < held->len; i++)
                holds |= strcmp (((XdAttachment *) held->pdata[i])->port, port) == 0;
              if (holds)
                {
                  g_autofree char *entry = g_strdup_printf ("%s/%s", front_path, devids[d]);
                  g_autofree char *record
                    = g_strdup_printf ("/libxl/%u/device/%s/%s", fid,
                                       strcmp (*kind, "qusb") == 0 ? "vusb" : *kind, devids[d]);

                  g_message ("removing %s and %s: domain %u, which they were for, is gone", entry,
                             record, fid);
                  xd_store_rm (store, XD_STORE_NO_TXN, record, NULL);
                  remove_empty_parents (store, record, "/libxl");
                  xd_store_rm (store, XD_STORE_NO_TXN, entry, NULL);
                  remove_empty_parents (store, entry, kind_path);
                }
            }
        }
    }
}

/* ---- attach ---- */

typedef struct
{
  XdClassId klass;
  guint backend;
  char *backend_name;
  char *port;
  guint frontend;
  char *frontend_name;
  char **options;
  XdToolstack *toolstack; /* borrowed: the engine outlives its tasks */
  XdStore *main_store;    /* borrowed, only to open a worker connection */
  guint n_detached;
} OpData;

static void
op_data_free (OpData *op)
{
  g_free (op->backend_name);
  g_free (op->port);
  g_free (op->frontend_name);
  g_strfreev (op->options);
  g_free (op);
}

static const char *
option_value (char **options, const char *key)
{
  gsize len = strlen (key);

  for (guint i = 0; options && options[i]; i++)
    if (strncmp (options[i], key, len) == 0 && options[i][len] == '=')
      return options[i] + len + 1;
  return NULL;
}

static char *
device_label (const OpData *op)
{
  g_autofree char *port = xd_port_to_display (op->klass, op->port);
  return g_strdup_printf ("%s:%s", op->backend_name, port ? port : op->port);
}

static gboolean
check_running (XdStore *store, XdStoreTxn txn, guint domid, const char *name, GError **error)
{
  g_autofree char *live = read_txn (store, txn, "/local/domain/%u/name", domid);

  if (domid == 0 || (live && strcmp (live, name) == 0))
    return TRUE;
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, _ ("%s is not running"), name);
  return FALSE;
}

/* The block ports related to @port: its parent disk and its partitions. */
static GPtrArray *
related_block_ports (XdStore *store, XdStoreTxn txn, guint backend, const char *port,
                     const char *parent)
{
  g_autofree char *dir = g_strdup_printf ("/local/domain/%u/data/xen-devices/block", backend);
  g_auto (GStrv) ports = xd_store_directory_txn (store, txn, dir, NULL);
  GPtrArray *related = g_ptr_array_new_with_free_func (g_free);

  if (parent)
    g_ptr_array_add (related, g_strdup (parent));
  /* A partition's disk is its parent; its siblings do not overlap it and it
   * has no partitions of its own. A whole disk's partitions are named after
   * it (sda1, mmcblk0p1, nvme0n1p2), so only those names are read. */
  if (parent)
    return related;
  for (guint i = 0; ports && ports[i]; i++)
    {
      g_autoptr (XdDeviceEntry) entry = NULL;
      if (!xd_validate_port (XD_CLASS_BLOCK, ports[i]) || strcmp (ports[i], port) == 0
          || !g_str_has_prefix (ports[i], port))
        continue;
      entry = read_entry_txn (store, txn, backend, XD_CLASS_BLOCK, ports[i]);
      if (entry && g_strcmp0 (xd_device_entry_get (entry, "parent"), port) == 0)
        g_ptr_array_add (related, g_strdup (ports[i]));
    }
  return related;
}

static const char *
holder_name (XdStore *store, XdStoreTxn txn, guint domid, char buf[64])
{
  g_autofree char *name = read_txn (store, txn, "/local/domain/%u/name", domid);

  if (name && xd_validate_vm_name (name))
    g_strlcpy (buf, domid == 0 ? "dom0" : name, 64);
  else
    snprintf (buf, 64, "domain %u", domid);
  return buf;
}

/* Picks the first of xvdi..xvdz that @frontend does not use. */
static char *
free_frontend_dev (XdStore *store, XdStoreTxn txn, guint frontend, GError **error)
{
  g_autofree char *dir = g_strdup_printf ("/local/domain/%u/device/vbd", frontend);
  g_auto (GStrv) used = xd_store_directory_txn (store, txn, dir, NULL);

  for (char c = 'i'; c <= 'z'; c++)
    {
      char name[5] = { 'x', 'v', 'd', c, '\0' };
      g_autofree char *devid = g_strdup_printf ("%d", xd_vbd_devid_from_name (name));
      if (!used || !g_strv_contains ((const char *const *) used, devid))
        return g_strdup (name);
    }
  g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, _ ("no free frontend device (xvdi to xvdz)"));
  return NULL;
}

typedef enum
{
  CHECK_PROCEED,
  CHECK_ALREADY, /* held by the same frontend: nothing to do */
} CheckResult;

/* Checks every rule inside @txn. Fills @request's block fields. */
static gboolean
check_attach (OpData *op, XdStore *store, XdStoreTxn txn, XdAttachRequest *request,
              char **frontend_dev_out, CheckResult *result, GError **error)
{
  g_autofree char *label = device_label (op);
  g_autoptr (XdDeviceEntry) entry = NULL;
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *description = NULL;
  const char *mode = NULL;
  g_autofree char *parent = NULL;
  g_autoptr (GPtrArray) holders = NULL;
  g_autoptr (GPtrArray) related = NULL;
  g_autoptr (GHashTable) interest = NULL;
  g_autofree char *claim = NULL;
  g_autofree char *claim_at = claim_path (op->backend, op->klass, op->port);
  guint claimed_by;
  char name[64];

  *result = CHECK_PROCEED;
  if (op->frontend == 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, _ ("devices are never attached to dom0"));
      return FALSE;
    }
  if (op->frontend == op->backend)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED,
                   _ ("%s cannot be attached to %s, its own backend"), label, op->frontend_name);
      return FALSE;
    }
  if (!check_running (store, txn, op->frontend, op->frontend_name, error))
    return FALSE;
  if (!check_running (store, txn, op->backend, op->backend_name, error))
    return FALSE;

  entry = read_entry_txn (store, txn, op->backend, op->klass, op->port);
  if (!entry || !(description = xd_device_entry_description (entry, why)))
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "%s is not exposed by %s", label,
                   op->backend_name);
      return FALSE;
    }

  /* The ports whose holders matter: this one and, for block, its disk or
   * its partitions. */
  interest = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_add (interest, op->port);
  if (op->klass == XD_CLASS_BLOCK)
    {
      parent = g_strdup (xd_device_entry_get (entry, "parent"));
      if (parent && !xd_validate_port (XD_CLASS_BLOCK, parent))
        g_clear_pointer (&parent, g_free);
      related = related_block_ports (store, txn, op->backend, op->port, parent);
      for (guint r = 0; r < related->len; r++)
        g_hash_table_add (interest, related->pdata[r]);
    }
  holders = live_holders (store, txn, op->backend, op->klass, G_MAXUINT, interest);
  for (guint i = 0; i < holders->len; i++)
    {
      XdAttachment *holder = holders->pdata[i];
      if (strcmp (holder->port, op->port) != 0)
        continue;
      if (holder->frontend == op->frontend)
        {
          *result = CHECK_ALREADY;
          return TRUE;
        }
      if (op->klass != XD_CLASS_MIC)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, _ ("%s is already attached to %s"), label,
                       holder_name (store, txn, holder->frontend, name));
          return FALSE;
        }
    }

  claim = xd_store_read_txn (store, txn, claim_at, NULL, NULL);
  claimed_by = claim_holder (claim);
  if (claimed_by == op->frontend)
    {
      /* Another process (the widget, or the daemon, applying the same
       * persistent assignment) is attaching it to this VM already. */
      *result = CHECK_ALREADY;
      return TRUE;
    }
  if (claimed_by != G_MAXUINT && op->klass != XD_CLASS_MIC)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, _ ("%s is being attached to %s right now"),
                   label, holder_name (store, txn, claimed_by, name));
      return FALSE;
    }

  request->klass = op->klass;
  request->backend = op->backend;
  request->frontend = op->frontend;
  request->port = op->port;
  if (op->klass != XD_CLASS_BLOCK)
    return TRUE;

  mode = xd_device_entry_get (entry, "mode");

  /* A disk and its partitions: attaching both would give two VMs the same
   * blocks. */
  for (guint r = 0; r < related->len; r++)
    {
      const char *other = related->pdata[r];
      g_autofree char *other_claim_at = claim_path (op->backend, XD_CLASS_BLOCK, other);
      g_autofree char *other_claim = xd_store_read_txn (store, txn, other_claim_at, NULL, NULL);
      guint other_claimer = claim_holder (other_claim);

      for (guint i = 0; i < holders->len; i++)
        {
          XdAttachment *holder = holders->pdata[i];
          if (strcmp (holder->port, other) == 0)
            {
              g_set_error (
                error, XD_ERROR, XD_ERROR_REFUSED,
                _ ("%s:%s is attached to %s; a disk and its partitions are never attached "
                   "at the same time"),
                op->backend_name, other, holder_name (store, txn, holder->frontend, name));
              return FALSE;
            }
        }
      if (other_claimer != G_MAXUINT)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_REFUSED,
                       _ ("%s:%s is being attached to %s right now; a disk and its partitions are "
                          "never attached at the same time"),
                       op->backend_name, other, holder_name (store, txn, other_claimer, name));
          return FALSE;
        }
    }

  request->read_only
    = g_strcmp0 (mode, "w") != 0 || g_strcmp0 (option_value (op->options, "read-only"), "yes") == 0;
  request->cdrom = g_strcmp0 (option_value (op->options, "devtype"), "cdrom") == 0;
  if (option_value (op->options, "frontend-dev"))
    {
      const char *dev = option_value (op->options, "frontend-dev");
      g_autofree char *dir = g_strdup_printf ("/local/domain/%u/device/vbd/%d", op->frontend,
                                              xd_vbd_devid_from_name (dev));
      g_autofree char *present = xd_store_read_txn (store, txn, dir, NULL, NULL);
      if (xd_vbd_devid_from_name (dev) < 0)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
                       _ ("frontend-dev must be xvd followed by "
                          "one or two letters, not “%s”"),
                       dev);
          return FALSE;
        }
      if (present)
        {
          g_set_error (error, XD_ERROR, XD_ERROR_REFUSED, _ ("%s already has a disk %s"),
                       op->frontend_name, dev);
          return FALSE;
        }
      *frontend_dev_out = g_strdup (dev);
    }
  else
    {
      *frontend_dev_out = free_frontend_dev (store, txn, op->frontend, error);
      if (!*frontend_dev_out)
        return FALSE;
    }
  request->frontend_dev = *frontend_dev_out;
  return TRUE;
}

static gboolean
write_mic_entry (OpData *op, XdStore *store, XdStoreTxn txn, GError **error)
{
  g_autofree char *base
    = g_strdup_printf ("/local/domain/%u/backend/xd-mic/%u/0", op->backend, op->frontend);
  g_autofree char *frontend_id = g_strdup_printf ("%u", op->frontend);
  /* dom0 owns it; the frontend, and a backend other than dom0, may read. */
  const XdStorePermission perms[] = {
    { 0, XD_STORE_PERM_NONE },
    { op->frontend, XD_STORE_PERM_READ },
    { op->backend, XD_STORE_PERM_READ },
  };
  g_autofree char *id_path = g_strconcat (base, "/frontend-id", NULL);
  g_autofree char *state_path = g_strconcat (base, "/state", NULL);

  return xd_store_write (store, txn, base, "", error)
         && xd_store_set_permissions (store, txn, base, perms, op->backend == 0 ? 2 : 3, error)
         && xd_store_write (store, txn, id_path, frontend_id, error)
         && xd_store_write (store, txn, state_path, "4", error);
}

static void
attach_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  OpData *op = task_data;
  g_autoptr (XdStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *claim_at = claim_path (op->backend, op->klass, op->port);
  g_autofree char *frontend_dev = NULL;
  XdAttachRequest request = { 0 };
  CheckResult result = CHECK_PROCEED;
  gboolean claimed = FALSE;
  gboolean ok;

  store = xd_store_open_worker (op->main_store, &error);
  if (!store)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  for (guint attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS && !claimed; attempt++)
    {
      XdStoreTxn txn;
      g_autofree char *value = claim_value (op->frontend);

      g_clear_pointer (&frontend_dev, g_free);
      if (!xd_store_transaction_start (store, &txn, &error))
        break;
      if (!check_attach (op, store, txn, &request, &frontend_dev, &result, &error)
          || result == CHECK_ALREADY)
        {
          xd_store_transaction_end (store, txn, TRUE, NULL);
          break;
        }
      /* The mic is only a node: written here, in the checking transaction. */
      if (op->klass == XD_CLASS_MIC ? !write_mic_entry (op, store, txn, &error)
                                    : !xd_store_write (store, txn, claim_at, value, &error))
        {
          xd_store_transaction_end (store, txn, TRUE, NULL);
          break;
        }
      if (xd_store_transaction_end (store, txn, FALSE, &error))
        claimed = TRUE;
      else if (g_error_matches (error, XD_ERROR, XD_ERROR_CONFLICT))
        g_clear_error (&error);
      else
        break;
    }

  if (error)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (result == CHECK_ALREADY || op->klass == XD_CLASS_MIC)
    {
      g_task_return_boolean (task, claimed || result == CHECK_ALREADY);
      return;
    }
  if (!claimed)
    {
      g_task_return_new_error (task, XD_ERROR, XD_ERROR_FAILED,
                               _ ("xenstore kept changing under the attach; try again"));
      return;
    }

  remove_stale_entries (store, op->backend, op->klass, op->port);
  if (!op->toolstack)
    ok = (g_set_error (&error, XD_ERROR, XD_ERROR_UNAVAILABLE, _ ("no toolstack to attach with")),
          FALSE);
  else
    ok = xd_toolstack_attach (op->toolstack, &request, xd_engine_operation_timeout (), cancellable,
                              &error);
  /* Whatever happened, the claim has done its work: the backend entry (or
   * nothing) now speaks for the device. */
  xd_store_rm (store, XD_STORE_NO_TXN, claim_at, NULL);
  remove_stale_claims (store, op->backend, op->klass);
  if (!ok)
    {
      g_autofree char *label = device_label (op);
      g_prefix_error (&error, _ ("attaching %s to %s failed: "), label, op->frontend_name);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static gboolean
resolve_names (XdEngine *self, OpData *op, const char *backend, const char *vm, GError **error)
{
  XdVm *frontend_vm = xd_engine_find_vm (self, vm, error);

  if (!frontend_vm)
    return FALSE;
  op->frontend = frontend_vm->domid;
  op->frontend_name = g_strdup (vm);
  if (backend)
    {
      XdVm *backend_vm = xd_engine_find_vm (self, backend, error);
      if (!backend_vm)
        return FALSE;
      op->backend = backend_vm->domid;
      op->backend_name = g_strdup (backend);
    }
  return TRUE;
}

void
xd_engine_attach_async (XdEngine *self, XdClassId klass, const char *backend, const char *port,
                        const char *vm, const char *const *options, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  OpData *op = g_new0 (OpData, 1);

  g_task_set_source_tag (task, xd_engine_attach_async);
  g_task_set_task_data (task, op, (GDestroyNotify) op_data_free);
  op->klass = klass;
  op->port = g_strdup (port);
  op->options = g_strdupv ((char **) options);
  op->toolstack = xd_engine_get_toolstack (self);
  op->main_store = xd_engine_get_store (self);

  if (klass == XD_CLASS_PCI)
    {
      g_task_return_new_error (task, XD_ERROR, XD_ERROR_REFUSED,
                               _ ("PCI devices are attached only at a VM's start: use --persistent "
                                  "and restart the VM"));
      return;
    }
  if (!xd_validate_port (klass, port) || !resolve_names (self, op, backend, vm, &error))
    {
      if (!error)
        g_set_error (&error, XD_ERROR, XD_ERROR_INVALID, _ ("invalid device id"));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_run_in_thread (task, attach_thread);
}

gboolean
xd_engine_attach_finish (XdEngine *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- detach ---- */

static gboolean
detach_one (OpData *op, XdStore *store, XdAttachment *attachment, GCancellable *cancellable,
            GError **error)
{
  if (attachment->klass == XD_CLASS_MIC)
    {
      g_autofree char *base
        = g_strdup_printf ("/local/domain/%u/backend/xd-mic/%u/%u", attachment->backend,
                           attachment->frontend, attachment->devid);
      return xd_store_rm (store, XD_STORE_NO_TXN, base, error);
    }
  if (!op->toolstack)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, _ ("no toolstack to detach with"));
      return FALSE;
    }
  return xd_toolstack_detach (op->toolstack, attachment, xd_engine_operation_timeout (),
                              cancellable, error);
}

static void
detach_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  OpData *op = task_data;
  g_autoptr (XdStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) targets
    = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);
  g_auto (GStrv) domains = NULL;

  store = xd_store_open_worker (op->main_store, &error);
  if (!store)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (op->port)
    {
      g_autoptr (GPtrArray) holders
        = live_holders (store, XD_STORE_NO_TXN, op->backend, op->klass, op->frontend, NULL);
      for (guint i = 0; i < holders->len; i++)
        if (strcmp (((XdAttachment *) holders->pdata[i])->port, op->port) == 0)
          g_ptr_array_add (targets, xd_attachment_ref (holders->pdata[i]));
      if (targets->len == 0)
        {
          g_autofree char *label = device_label (op);
          g_task_return_new_error (task, XD_ERROR, XD_ERROR_REFUSED, _ ("%s is not attached to %s"),
                                   label, op->frontend_name);
          return;
        }
    }
  else
    {
      /* Every backend may hold something for this VM. */
      domains = xd_store_directory (store, "/local/domain", &error);
      if (!domains)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      for (guint d = 0; domains[d]; d++)
        {
          g_autoptr (GPtrArray) holders = NULL;
          guint backend;
          if (!xd_parse_domid (domains[d], &backend))
            continue;
          holders = live_holders (store, XD_STORE_NO_TXN, backend, op->klass, op->frontend, NULL);
          for (guint i = 0; i < holders->len; i++)
            g_ptr_array_add (targets, xd_attachment_ref (holders->pdata[i]));
        }
    }

  for (guint i = 0; i < targets->len; i++)
    {
      XdAttachment *attachment = targets->pdata[i];
      if (!detach_one (op, store, attachment, cancellable, &error))
        {
          g_autofree char *port = xd_port_to_display (attachment->klass, attachment->port);
          g_prefix_error (&error, _ ("detaching %s from %s failed: "),
                          port ? port : attachment->port, op->frontend_name);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      op->n_detached++;
    }
  g_task_return_boolean (task, TRUE);
}

void
xd_engine_detach_async (XdEngine *self, XdClassId klass, const char *backend, const char *port,
                        const char *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  OpData *op = g_new0 (OpData, 1);

  g_task_set_source_tag (task, xd_engine_detach_async);
  g_task_set_task_data (task, op, (GDestroyNotify) op_data_free);
  op->klass = klass;
  op->port = g_strdup (port);
  op->toolstack = xd_engine_get_toolstack (self);
  op->main_store = xd_engine_get_store (self);
  if ((port && !xd_validate_port (klass, port)) || !resolve_names (self, op, backend, vm, &error))
    {
      if (!error)
        g_set_error (&error, XD_ERROR, XD_ERROR_INVALID, _ ("invalid device id"));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_run_in_thread (task, detach_thread);
}

gboolean
xd_engine_detach_finish (XdEngine *self, GAsyncResult *result, guint *n_detached, GError **error)
{
  OpData *op;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  op = g_task_get_task_data (G_TASK (result));
  if (n_detached)
    *n_detached = op->n_detached;
  return g_task_propagate_boolean (G_TASK (result), error);
}
