/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-engine.h"
#include "xd-engine-private.h"
#include "xd-store-snapshot.h"

#include <stdio.h>
#include <string.h>

#include "xd-class-info.h"
#include "xd-device-entry.h"
#include "xd-error.h"
#include "xd-validate.h"

/*
 * What the engine reads (see README.md, "xenstore layout"):
 *   /local/domain/<d>/name                             running VMs
 *   /local/domain/<B>/data/xen-devices/<class>/<port>/ devices B exposes
 *   /local/domain/<B>/backend/<kind>/<F>/<devid>/      what F holds from B
 *   /libxl/<F>/device/<kind>/<devid>/                  libxl's dom0-only copy
 *
 * Watches are targeted: @introduceDomain and @releaseDomain, and for each
 * domain its name, its data/xen-devices and its backend directory. Nothing
 * watches /local/domain as a whole, where guests write statistics and
 * balloon targets all the time.
 *
 * Every event marks what it touched as dirty; the store flushes after each
 * batch and the engine re-reads each dirty node once, coarsest first.
 */

#define TOKEN_INTRODUCE "introduce"
#define TOKEN_RELEASE "release"
/* Delays, in ms, of the listings that follow an @introduceDomain whose
 * domain had no directory yet (see on_flush). */
static const guint introduce_retry_ms[] = { 5, 20, 100, 500, 2000 };
#define MAX_WARNED 4096

struct _XdEngine
{
  GObject parent_instance;

  XdStore *store;      /* during a read-ahead scan, the copy standing in for: */
  XdStore *live_store; /* the store the engine owns, what worker tasks open */
  XdToolstack *toolstack;
  gboolean watching;
  gboolean connected;

  GHashTable *domains;         /* domid -> GUINT_TO_POINTER (TRUE): dirs seen, watched */
  GHashTable *vms;             /* domid -> XdVm * */
  GHashTable *devices;         /* device key -> XdDevice * */
  GHashTable *backend_devices; /* backend domid -> GHashTable (device key set) */
  GHashTable *entries;         /* "B/kind/F/devid" -> GPtrArray of XdAttachment * */
  GHashTable *holders;         /* device key -> GPtrArray of XdAttachment * */
  GHashTable *initial;         /* watch tokens whose registration echo is due */

  gboolean dirty_domains;
  gboolean dirty_introduce;
  guint introduce_retry;      /* index into introduce_retry_ms */
  guint introduce_retry_id;   /* the pending listing's source */
  GHashTable *dirty_names;    /* domid set */
  GHashTable *dirty_data;     /* domid set */
  GHashTable *dirty_classes;  /* "B/class" */
  GHashTable *dirty_devices;  /* device key */
  GHashTable *dirty_backends; /* domid set */
  GHashTable *dirty_entries;  /* "B/kind/F/devid" or "B/kind/F" or "B/kind" */

  GHashTable *warned; /* paths already logged as invalid */
  XdEngineStats stats;
};

enum
{
  SIGNAL_VM_ADDED,
  SIGNAL_VM_REMOVED,
  SIGNAL_DEVICE_ADDED,
  SIGNAL_DEVICE_CHANGED,
  SIGNAL_DEVICE_REMOVED,
  SIGNAL_CONNECTION_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (XdEngine, xd_engine, G_TYPE_OBJECT)

static gboolean sync_domains (XdEngine *self);
static void sync_name (XdEngine *self, guint domid);
static void sync_data (XdEngine *self, guint backend);
static void sync_backends (XdEngine *self, guint backend);

/* ---- helpers ---- */

static void
warn_once (XdEngine *self, guint domid, const char *path, const char *why)
{
  char buf[32];

  self->stats.skipped++;
  if (g_hash_table_contains (self->warned, path))
    return;
  if (g_hash_table_size (self->warned) >= MAX_WARNED)
    g_hash_table_remove_all (self->warned);
  g_hash_table_add (self->warned, g_strdup (path));
  /* The path was checked before it got here, but the reason may quote
   * nothing from the VM: only our own words and the validated path. */
  g_message ("skipping an entry from %s at %s: %s", xd_engine_vm_name (self, domid, buf), path,
             why);
}

/* A backend entry that counts, taken from dom0's record, where the backend
 * VM says otherwise: said once per entry, as warn_once () does. */
static void
report_once (XdEngine *self, guint domid, const char *path, const char *why)
{
  char buf[32];

  if (g_hash_table_contains (self->warned, path))
    return;
  if (g_hash_table_size (self->warned) >= MAX_WARNED)
    g_hash_table_remove_all (self->warned);
  g_hash_table_add (self->warned, g_strdup (path));
  g_message ("not believing %s at %s: %s", xd_engine_vm_name (self, domid, buf), path, why);
}

static void
forget_warning (XdEngine *self, const char *path)
{
  g_hash_table_remove (self->warned, path);
}

static char *
store_read (XdEngine *self, const char *path)
{
  return xd_store_read (self->store, path, NULL, NULL);
}

static char **
store_directory (XdEngine *self, const char *path)
{
  return xd_store_directory (self->store, path, NULL);
}

static GHashTable *
domid_set_new (void)
{
  return g_hash_table_new (g_direct_hash, g_direct_equal);
}

static GHashTable *
string_set_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* Empties a set of strings into an array that owns them. */
static GPtrArray *
take_keys (GHashTable *set)
{
  GPtrArray *keys = g_ptr_array_new_full (g_hash_table_size (set), g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_ptr_array_add (keys, key);
      g_hash_table_iter_steal (&iter);
    }
  return keys;
}

/* The keys of a set of domids, not owned. */
static GPtrArray *
domid_keys (GHashTable *set)
{
  GPtrArray *keys = g_ptr_array_new_full (g_hash_table_size (set), NULL);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  return keys;
}

const char *
xd_engine_vm_name (XdEngine *self, guint domid, char buf[32])
{
  XdVm *vm = g_hash_table_lookup (self->vms, GUINT_TO_POINTER (domid));

  if (vm)
    return vm->name;
  if (domid == 0)
    return "dom0";
  snprintf (buf, 32, "domain %u", domid);
  return buf;
}

/* ---- watches ---- */

static void
watch (XdEngine *self, const char *path, const char *token)
{
  g_autoptr (GError) error = NULL;

  if (!self->watching)
    return;
  g_hash_table_add (self->initial, g_strdup (token));
  if (!xd_store_watch (self->store, path, token, &error))
    {
      g_hash_table_remove (self->initial, token);
      g_warning ("cannot watch %s: %s", path, error->message);
    }
}

static void
unwatch (XdEngine *self, const char *path, const char *token)
{
  if (!self->watching)
    return;
  g_hash_table_remove (self->initial, token);
  xd_store_unwatch (self->store, path, token);
}

static void
domain_watches (XdEngine *self, guint domid, gboolean add)
{
  static const char *const kinds[][2] = {
    { "name", "name" },
    { "data", "data/xen-devices" },
    { "backend", "backend" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *token = g_strdup_printf ("%s:%u", kinds[i][0], domid);
      g_autofree char *path = g_strdup_printf ("/local/domain/%u/%s", domid, kinds[i][1]);
      if (add)
        watch (self, path, token);
      else
        unwatch (self, path, token);
    }
}

/* ---- holders ---- */

static int
compare_attachments (gconstpointer a, gconstpointer b)
{
  const XdAttachment *x = *(XdAttachment *const *) a;
  const XdAttachment *y = *(XdAttachment *const *) b;

  if (x->frontend != y->frontend)
    return x->frontend < y->frontend ? -1 : 1;
  if (x->devid != y->devid)
    return x->devid < y->devid ? -1 : 1;
  return g_strcmp0 (x->kind, y->kind);
}

static gboolean
same_attachments (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (!xd_attachment_equal (a->pdata[i], b->pdata[i]))
      return FALSE;
  return TRUE;
}

static gboolean
frontend_running (XdEngine *self, guint frontend)
{
  return g_hash_table_contains (self->vms, GUINT_TO_POINTER (frontend));
}

static void refresh_holders (XdEngine *self, const char *key);

static void
fill_attachments (XdEngine *self, XdDevice *device, const char *key)
{
  GPtrArray *holders = g_hash_table_lookup (self->holders, key);

  g_ptr_array_set_size (device->attachments, 0);
  if (!holders)
    return;
  /* A backend entry of a domain that is not running (it crashed, or was
   * destroyed without its devices) holds nothing: the rule is one running
   * holder. */
  for (guint i = 0; i < holders->len; i++)
    if (frontend_running (self, ((XdAttachment *) holders->pdata[i])->frontend))
      g_ptr_array_add (device->attachments, xd_attachment_ref (holders->pdata[i]));
  g_ptr_array_sort (device->attachments, compare_attachments);
}

/* A domain came or went: the devices its backend entries name hold, or stop
 * holding, with it. */
static void
refresh_frontend (XdEngine *self, guint frontend)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->holders);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *holders = value;
      for (guint i = 0; i < holders->len; i++)
        if (((XdAttachment *) holders->pdata[i])->frontend == frontend)
          {
            g_ptr_array_add (keys, g_strdup (key));
            break;
          }
    }
  for (guint i = 0; i < keys->len; i++)
    refresh_holders (self, keys->pdata[i]);
}

/* The holders of the device at @key changed: tell whoever shows it. */
static void
refresh_holders (XdEngine *self, const char *key)
{
  XdDevice *device = g_hash_table_lookup (self->devices, key);
  g_autoptr (GPtrArray) before = NULL;

  if (!device)
    return;
  before = g_ptr_array_new_full (device->attachments->len, (GDestroyNotify) xd_attachment_unref);
  for (guint i = 0; i < device->attachments->len; i++)
    g_ptr_array_add (before, xd_attachment_ref (device->attachments->pdata[i]));
  fill_attachments (self, device, key);
  if (!same_attachments (before, device->attachments))
    g_signal_emit (self, signals[SIGNAL_DEVICE_CHANGED], 0, device);
}

static void
holders_remove (XdEngine *self, XdAttachment *attachment, GHashTable *touched)
{
  g_autofree char *key = xd_device_key (attachment->klass, attachment->backend, attachment->port);
  GPtrArray *holders = g_hash_table_lookup (self->holders, key);

  if (holders)
    {
      g_ptr_array_remove (holders, attachment);
      if (holders->len == 0)
        g_hash_table_remove (self->holders, key);
    }
  g_hash_table_add (touched, g_steal_pointer (&key));
}

static void
holders_add (XdEngine *self, XdAttachment *attachment, GHashTable *touched)
{
  g_autofree char *key = xd_device_key (attachment->klass, attachment->backend, attachment->port);
  GPtrArray *holders = g_hash_table_lookup (self->holders, key);

  if (!holders)
    {
      holders = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);
      g_hash_table_insert (self->holders, g_strdup (key), holders);
    }
  g_ptr_array_add (holders, xd_attachment_ref (attachment));
  g_hash_table_add (touched, g_steal_pointer (&key));
}

/* Replaces what the backend entry @entry_key holds with @attachments (NULL:
 * the entry is gone). */
static void
set_entry (XdEngine *self, const char *entry_key, GPtrArray *attachments)
{
  g_autoptr (GHashTable) touched = string_set_new ();
  GPtrArray *old = g_hash_table_lookup (self->entries, entry_key);
  GHashTableIter iter;
  gpointer key;

  if (old && attachments && same_attachments (old, attachments))
    return;
  if (old)
    {
      for (guint i = 0; i < old->len; i++)
        holders_remove (self, old->pdata[i], touched);
      g_hash_table_remove (self->entries, entry_key);
    }
  if (attachments && attachments->len > 0)
    {
      for (guint i = 0; i < attachments->len; i++)
        holders_add (self, attachments->pdata[i], touched);
      g_hash_table_insert (self->entries, g_strdup (entry_key), g_ptr_array_ref (attachments));
    }
  g_hash_table_iter_init (&iter, touched);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    refresh_holders (self, key);
}

/* ---- devices ---- */

static GHashTable *
backend_set (XdEngine *self, guint backend, gboolean create)
{
  GHashTable *set = g_hash_table_lookup (self->backend_devices, GUINT_TO_POINTER (backend));

  if (!set && create)
    {
      set = string_set_new ();
      g_hash_table_insert (self->backend_devices, GUINT_TO_POINTER (backend), set);
    }
  return set;
}

static void
orphan_detached_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *what = user_data;

  if (!xd_engine_detach_finish (XD_ENGINE (source), result, NULL, &error))
    g_message ("%s went away while attached; detaching it failed: %s", what, error->message);
  else
    g_message ("%s went away while attached; detached it", what);
}

/* A device its backend no longer offers must not stay attached: the
 * frontend would keep a handle on whatever takes its place. Only an engine
 * that watches and has a toolstack (the widget, the daemon) does this, and
 * only while the backend VM runs: when it stops, the toolstack tears down
 * its devices itself. */
static void
detach_orphan (XdEngine *self, XdDevice *device)
{
  XdVm *backend = g_hash_table_lookup (self->vms, GUINT_TO_POINTER (device->backend));

  if (!self->watching || !self->toolstack || !backend)
    return;
  for (guint i = 0; i < device->attachments->len; i++)
    {
      XdAttachment *attachment = device->attachments->pdata[i];
      XdVm *frontend = g_hash_table_lookup (self->vms, GUINT_TO_POINTER (attachment->frontend));
      if (!frontend)
        continue;
      xd_engine_detach_async (self, device->klass, backend->name, device->port, frontend->name,
                              NULL, orphan_detached_cb,
                              g_strdup_printf ("%s:%s", backend->name, device->port));
    }
}

static void
remove_device (XdEngine *self, const char *key)
{
  XdDevice *device = g_hash_table_lookup (self->devices, key);
  g_autoptr (XdDevice) removed = NULL;
  GHashTable *set;

  if (!device)
    return;
  removed = xd_device_ref (device);
  detach_orphan (self, removed);
  set = backend_set (self, device->backend, FALSE);
  if (set)
    g_hash_table_remove (set, key);
  g_hash_table_remove (self->devices, key);
  g_signal_emit (self, signals[SIGNAL_DEVICE_REMOVED], 0, removed);
}

/* How many devices of @klass @backend has in the model. */
static guint
count_class (XdEngine *self, guint backend, XdClassId klass)
{
  GHashTable *set = backend_set (self, backend, FALSE);
  g_autofree char *prefix = g_strdup_printf ("%u/%s/", backend, xd_class_id_to_string (klass));
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  if (!set)
    return 0;
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_str_has_prefix (key, prefix))
      n++;
  return n;
}

/* Re-reads one device and updates the model. */
static void
sync_device (XdEngine *self, guint backend, XdClassId klass, const char *port)
{
  const XdClassInfo *info = xd_class_info_get (klass);
  g_autofree char *key = xd_device_key (klass, backend, port);
  g_autofree char *base
    = g_strdup_printf ("/local/domain/%u/data/xen-devices/%s/%s", backend, info->name, port);
  g_autofree char *value = NULL;
  g_autoptr (XdDeviceEntry) entry = NULL;
  g_autoptr (XdDevice) device = NULL;
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *desc = NULL;
  XdDevice *old;
  gsize len = 0;

  self->stats.device_reads++;
  if (!g_hash_table_contains (self->vms, GUINT_TO_POINTER (backend)))
    return;

  /* One node, one read: the device is there while its node has a value. An
   * empty one (a directory, as older agents wrote) holds no device. */
  value = xd_store_read (self->store, base, &len, NULL);
  if (!value || len == 0)
    {
      remove_device (self, key);
      return;
    }
  entry = xd_device_entry_parse (value, len, why);
  desc = entry ? xd_device_entry_description (entry, why) : NULL;
  device = xd_device_new (klass, backend, port);
  if (desc)
    {
      g_free (device->description);
      device->description = g_strdup (desc);
    }
  if (!desc || !info->read_properties (device, xd_device_entry_read, entry, why))
    {
      warn_once (self, backend, base, why->str);
      remove_device (self, key);
      return;
    }
  forget_warning (self, base);
  fill_attachments (self, device, key);

  old = g_hash_table_lookup (self->devices, key);
  if (!old && count_class (self, backend, klass) >= XD_ENGINE_MAX_DEVICES_PER_CLASS)
    {
      g_autofree char *class_path
        = g_strdup_printf ("/local/domain/%u/data/xen-devices/%s", backend, info->name);
      warn_once (self, backend, class_path, "too many devices; the rest are ignored");
      return;
    }
  if (old && xd_device_same_properties (old, device)
      && same_attachments (old->attachments, device->attachments))
    return;

  g_hash_table_insert (backend_set (self, backend, TRUE), g_strdup (key), NULL);
  g_hash_table_insert (self->devices, g_strdup (key), xd_device_ref (device));
  g_signal_emit (self, signals[old ? SIGNAL_DEVICE_CHANGED : SIGNAL_DEVICE_ADDED], 0, device);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Re-reads the list of devices of one class that @backend exposes. */
static void
sync_class (XdEngine *self, guint backend, XdClassId klass)
{
  const char *name = xd_class_id_to_string (klass);
  g_autofree char *path = g_strdup_printf ("/local/domain/%u/data/xen-devices/%s", backend, name);
  g_auto (GStrv) ports = store_directory (self, path);
  g_autoptr (GHashTable) seen = string_set_new ();
  g_autofree char *prefix = g_strdup_printf ("%u/%s/", backend, name);
  GHashTable *set = backend_set (self, backend, FALSE);
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  guint n = ports ? g_strv_length (ports) : 0;
  guint accepted = 0;

  if (n > 1)
    qsort (ports, n, sizeof (char *), compare_strings);
  for (guint i = 0; i < n; i++)
    {
      if (!xd_validate_port (klass, ports[i]))
        {
          /* The id is not shown: it failed the check that makes it safe to. */
          warn_once (self, backend, path, "a device id is malformed");
          continue;
        }
      if (accepted == XD_ENGINE_MAX_DEVICES_PER_CLASS)
        {
          warn_once (self, backend, path, "too many devices; the rest are ignored");
          break;
        }
      accepted++;
      g_hash_table_add (seen, xd_device_key (klass, backend, ports[i]));
      sync_device (self, backend, klass, ports[i]);
    }

  if (set)
    {
      GHashTableIter iter;
      gpointer key;
      g_hash_table_iter_init (&iter, set);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (g_str_has_prefix (key, prefix) && !g_hash_table_contains (seen, key))
          g_ptr_array_add (gone, g_strdup (key));
      for (guint i = 0; i < gone->len; i++)
        remove_device (self, gone->pdata[i]);
    }
}

static void
sync_data (XdEngine *self, guint backend)
{
  /* Devices are shown only for running VMs with a name. */
  if (!g_hash_table_contains (self->vms, GUINT_TO_POINTER (backend)))
    return;
  self->stats.vm_scans++;
  for (guint c = 0; c < XD_N_CLASSES; c++)
    sync_class (self, backend, (XdClassId) c);
}

/* ---- backend entries ---- */

static void
sync_entry (XdEngine *self, guint backend, const char *kind, guint frontend, guint devid)
{
  g_autofree char *entry_key = g_strdup_printf ("%u/%s/%u/%u", backend, kind, frontend, devid);
  g_autoptr (GPtrArray) attachments = NULL;
  g_autoptr (GString) why = g_string_new (NULL);
  gboolean ok;

  if (!xd_class_info_for_backend_kind (kind))
    return;
  attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);
  ok = xd_read_backend_entry (self->store, XD_STORE_NO_TXN, backend, kind, frontend, devid,
                              attachments, why);
  if (why->len > 0)
    {
      g_autofree char *base
        = g_strdup_printf ("/local/domain/%u/backend/%s/%u/%u", backend, kind, frontend, devid);
      if (ok)
        report_once (self, backend, base, why->str);
      else
        warn_once (self, backend, base, why->str);
    }
  set_entry (self, entry_key, ok ? attachments : NULL);
}

static gboolean
parse_domid_component (const char *s, guint *out)
{
  return s && xd_parse_domid (s, out);
}

/* Removes the entries under @prefix ("B/", "B/kind/", "B/kind/F/") that
 * are not in @seen. */
static void
drop_entries (XdEngine *self, const char *prefix, GHashTable *seen)
{
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_str_has_prefix (key, prefix) && (!seen || !g_hash_table_contains (seen, key)))
      g_ptr_array_add (gone, g_strdup (key));
  for (guint i = 0; i < gone->len; i++)
    set_entry (self, gone->pdata[i], NULL);
}

/* Re-reads the entries of backend @backend, of kind @kind (all when NULL),
 * for frontend @frontend (all when G_MAXUINT). */
static void
sync_backend_part (XdEngine *self, guint backend, const char *kind, guint frontend)
{
  g_autoptr (GHashTable) seen = string_set_new ();
  g_autofree char *prefix = NULL;
  g_auto (GStrv) kinds = NULL;

  if (kind)
    kinds = g_strdupv ((char *[]){ (char *) kind, NULL });
  else
    {
      g_autofree char *path = g_strdup_printf ("/local/domain/%u/backend", backend);
      kinds = store_directory (self, path);
    }

  for (guint k = 0; kinds && kinds[k]; k++)
    {
      g_autofree char *kind_path = NULL;
      g_auto (GStrv) frontends = NULL;

      if (!xd_class_info_for_backend_kind (kinds[k]))
        continue; /* vif, console, ...: not devices of ours */
      kind_path = g_strdup_printf ("/local/domain/%u/backend/%s", backend, kinds[k]);
      if (frontend != G_MAXUINT)
        frontends = g_new0 (char *, 2), frontends[0] = g_strdup_printf ("%u", frontend);
      else
        frontends = store_directory (self, kind_path);

      for (guint f = 0; frontends && frontends[f]; f++)
        {
          g_autofree char *front_path = g_strdup_printf ("%s/%s", kind_path, frontends[f]);
          g_auto (GStrv) devids = NULL;
          guint fid;

          if (!parse_domid_component (frontends[f], &fid))
            {
              warn_once (self, backend, kind_path, "a frontend id is malformed");
              continue;
            }
          devids = store_directory (self, front_path);
          for (guint d = 0; devids && devids[d]; d++)
            {
              guint64 devid;
              if (!xd_parse_size (devids[d], &devid) || devid > G_MAXINT32)
                {
                  warn_once (self, backend, front_path, "a device number is malformed");
                  continue;
                }
              g_hash_table_add (
                seen, g_strdup_printf ("%u/%s/%u/%u", backend, kinds[k], fid, (guint) devid));
              sync_entry (self, backend, kinds[k], fid, (guint) devid);
            }
        }
    }

  if (kind && frontend != G_MAXUINT)
    prefix = g_strdup_printf ("%u/%s/%u/", backend, kind, frontend);
  else if (kind)
    prefix = g_strdup_printf ("%u/%s/", backend, kind);
  else
    prefix = g_strdup_printf ("%u/", backend);
  drop_entries (self, prefix, seen);
}

static void
sync_backends (XdEngine *self, guint backend)
{
  if (!g_hash_table_contains (self->vms, GUINT_TO_POINTER (backend)))
    return;
  self->stats.vm_scans++;
  sync_backend_part (self, backend, NULL, G_MAXUINT);
}

/* ---- VMs ---- */

/* The mic's entries are ours: no toolstack removes them when their
 * frontend stops, so the engine that can change the system does. Any number
 * of engines may do it at once; removing a removed node is no error. */
static void
release_mics_of (XdEngine *self, guint frontend)
{
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *infix = g_strdup_printf ("/xd-mic/%u/", frontend);
  GHashTableIter iter;
  gpointer key;

  if (!self->watching || !self->toolstack)
    return;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (strstr (key, infix))
      g_ptr_array_add (gone, g_strdup (key));
  for (guint i = 0; i < gone->len; i++)
    {
      g_auto (GStrv) parts = g_strsplit (gone->pdata[i], "/", 4);
      g_autofree char *path
        = g_strdup_printf ("/local/domain/%s/backend/xd-mic/%u", parts[0], frontend);
      g_autoptr (GError) error = NULL;

      if (!xd_store_rm (self->store, XD_STORE_NO_TXN, path, &error))
        g_message ("could not release the microphone of domain %u: %s", frontend, error->message);
      set_entry (self, gone->pdata[i], NULL);
    }
}

/* Microphone entries whose frontend is not running (it stopped while no
 * engine watched). */
static void
release_stale_mics (XdEngine *self)
{
  g_autoptr (GHashTable) frontends = domid_set_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_auto (GStrv) parts = g_strsplit (key, "/", 4);
      guint frontend;
      if (g_strcmp0 (parts[1], "xd-mic") == 0 && xd_parse_domid (parts[2], &frontend)
          && !g_hash_table_contains (self->domains, GUINT_TO_POINTER (frontend)))
        g_hash_table_add (frontends, GUINT_TO_POINTER (frontend));
    }
  g_hash_table_iter_init (&iter, frontends);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    release_mics_of (self, GPOINTER_TO_UINT (key));
}

static void
remove_vm (XdEngine *self, guint domid)
{
  g_autoptr (XdVm) vm = NULL;
  g_autofree char *prefix = g_strdup_printf ("%u/", domid);
  GHashTable *set;

  if (!g_hash_table_steal_extended (self->vms, GUINT_TO_POINTER (domid), NULL, (gpointer *) &vm))
    return;
  drop_entries (self, prefix, NULL);
  set = backend_set (self, domid, FALSE);
  if (set)
    {
      g_autoptr (GPtrArray) keys = take_keys (set);
      for (guint i = 0; i < keys->len; i++)
        remove_device (self, keys->pdata[i]);
      g_hash_table_remove (self->backend_devices, GUINT_TO_POINTER (domid));
    }
  refresh_frontend (self, domid);
  g_signal_emit (self, signals[SIGNAL_VM_REMOVED], 0, vm);
}

static void
sync_name (XdEngine *self, guint domid)
{
  g_autofree char *path = g_strdup_printf ("/local/domain/%u/name", domid);
  g_autofree char *name = store_read (self, path);
  XdVm *old = g_hash_table_lookup (self->vms, GUINT_TO_POINTER (domid));
  XdVm *vm;

  /* dom0 is dom0 whatever the toolstack called it ("Domain-0"). */
  if (domid == 0)
    {
      g_free (name);
      name = g_strdup ("dom0");
    }
  /* dom0's names are dom0's: another domain called so is not shown. */
  if (!name || !xd_validate_vm_name (name)
      || (domid != 0 && (strcmp (name, "dom0") == 0 || strcmp (name, "Domain-0") == 0)))
    {
      if (name)
        warn_once (self, domid, path, "the name is not a valid VM name, or is dom0's");
      remove_vm (self, domid);
      return;
    }
  if (old && strcmp (old->name, name) == 0)
    return;
  if (old)
    remove_vm (self, domid);

  vm = xd_vm_new (domid, name);
  g_hash_table_insert (self->vms, GUINT_TO_POINTER (domid), vm);
  g_signal_emit (self, signals[SIGNAL_VM_ADDED], 0, vm);
  refresh_frontend (self, domid);
  sync_data (self, domid);
  sync_backends (self, domid);
}

/* Returns TRUE when a domain directory appeared that was not known. */
static gboolean
sync_domains (XdEngine *self)
{
  gboolean appeared = FALSE;
  g_auto (GStrv) entries = store_directory (self, "/local/domain");
  g_autoptr (GHashTable) seen = domid_set_new ();
  g_autoptr (GList) known = NULL;

  for (guint i = 0; entries && entries[i]; i++)
    {
      guint domid;
      if (!parse_domid_component (entries[i], &domid))
        continue;
      g_hash_table_add (seen, GUINT_TO_POINTER (domid));
      if (!g_hash_table_contains (self->domains, GUINT_TO_POINTER (domid)))
        {
          appeared = TRUE;
          g_hash_table_add (self->domains, GUINT_TO_POINTER (domid));
          domain_watches (self, domid, TRUE);
          sync_name (self, domid);
        }
    }
  /* Without a connection nothing can be said about what is gone. */
  if (!entries)
    return FALSE;

  known = g_hash_table_get_keys (self->domains);
  for (GList *l = known; l; l = l->next)
    {
      guint domid = GPOINTER_TO_UINT (l->data);
      if (g_hash_table_contains (seen, l->data))
        continue;
      domain_watches (self, domid, FALSE);
      g_hash_table_remove (self->domains, l->data);
      remove_vm (self, domid);
      release_mics_of (self, domid);
    }
  return appeared;
}

static void schedule_introduce_retry (XdEngine *self);

static gboolean
introduce_retry_cb (gpointer user_data)
{
  XdEngine *self = user_data;

  self->introduce_retry_id = 0;
  if (sync_domains (self))
    self->introduce_retry = 0;
  else
    schedule_introduce_retry (self);
  return G_SOURCE_REMOVE;
}

/* libxl writes a domain's directory before it introduces the domain, so
 * the listing that @introduceDomain prompts finds it. A toolstack that
 * introduces first (the simulated host does) leaves nothing to find
 * yet, and no watch covers the directory it is about to write: list again a
 * few times, soon and then less often, until it shows or the delays run
 * out. This runs only after an introduction, never otherwise. */
static void
schedule_introduce_retry (XdEngine *self)
{
  if (self->introduce_retry_id || self->introduce_retry >= G_N_ELEMENTS (introduce_retry_ms))
    {
      if (!self->introduce_retry_id)
        self->introduce_retry = 0;
      return;
    }
  self->introduce_retry_id
    = g_timeout_add (introduce_retry_ms[self->introduce_retry++], introduce_retry_cb, self);
}

/* A scan served from a copy read ahead: the live store while the copy
 * stands in for it, and when the copy was asked for and read. */
typedef struct
{
  XdStore *live;
  XdStore *copy;
  gint64 started, read;
} ReadAhead;

static void read_ahead_begin (XdEngine *self, GArray *domids, ReadAhead *ahead);
static void read_ahead_end (XdEngine *self, ReadAhead *ahead, const char *what);

/* A full resynchronisation, after a reconnect: every domain is read again
 * and compared with the model, so only real differences are signalled. The
 * store has put every watch back before this runs, so the known domains'
 * trees are read ahead as at the first scan (a domain that appeared
 * meanwhile is read by sync_domains (), which puts its watches in first). */
static void
resync_all (XdEngine *self)
{
  g_autoptr (GList) known = NULL;
  g_autoptr (GArray) domids = g_array_new (FALSE, FALSE, sizeof (guint));
  ReadAhead ahead;

  self->stats.full_scans++;
  sync_domains (self);
  known = g_hash_table_get_keys (self->domains);
  for (GList *l = known; l; l = l->next)
    {
      guint domid = GPOINTER_TO_UINT (l->data);
      g_array_append_val (domids, domid);
    }
  read_ahead_begin (self, domids, &ahead);
  for (GList *l = known; l; l = l->next)
    {
      guint domid = GPOINTER_TO_UINT (l->data);
      gboolean had = g_hash_table_contains (self->vms, l->data);
      sync_name (self, domid);
      /* sync_name reads a new VM's devices itself. */
      if (had && g_hash_table_contains (self->vms, l->data))
        {
          sync_data (self, domid);
          sync_backends (self, domid);
        }
    }
  read_ahead_end (self, &ahead, "resynchronised");
  release_stale_mics (self);
}

/* ---- events ---- */

static void
mark_domid (GHashTable *set, guint domid)
{
  g_hash_table_add (set, GUINT_TO_POINTER (domid));
}

static void
on_event (const char *path, const char *token, gpointer user_data)
{
  XdEngine *self = user_data;
  g_auto (GStrv) parts = NULL;
  guint n, domid;

  self->stats.events++;
  g_debug ("watch event %s (%s)", path, token);
  /* xenstored echoes every watch once when it is registered; that echo
   * says nothing the engine has not just read. */
  if (g_hash_table_remove (self->initial, token))
    return;

  if (strcmp (token, TOKEN_INTRODUCE) == 0 || strcmp (token, TOKEN_RELEASE) == 0)
    {
      self->dirty_domains = TRUE;
      if (strcmp (token, TOKEN_INTRODUCE) == 0)
        self->dirty_introduce = TRUE;
      return;
    }
  if (!g_str_has_prefix (path, "/local/domain/"))
    return;
  parts = g_strsplit (path + strlen ("/local/domain/"), "/", 8);
  n = g_strv_length (parts);
  if (n < 2 || !parse_domid_component (parts[0], &domid))
    return;

  if (strcmp (parts[1], "name") == 0)
    mark_domid (self->dirty_names, domid);
  else if (strcmp (parts[1], "data") == 0 && n >= 3 && strcmp (parts[2], "xen-devices") == 0)
    {
      XdClassId klass;
      if (n == 3)
        mark_domid (self->dirty_data, domid);
      else if (!xd_class_id_from_string (parts[3], &klass))
        return;
      else if (n == 4)
        g_hash_table_add (self->dirty_classes, g_strdup_printf ("%u/%s", domid, parts[3]));
      else if (xd_validate_port (klass, parts[4]))
        /* One device changed, appeared or went: re-read that one alone. */
        g_hash_table_add (self->dirty_devices, xd_device_key (klass, domid, parts[4]));
      else
        /* A port that fails validation is left to the class listing, which
         * logs it once. */
        g_hash_table_add (self->dirty_classes, g_strdup_printf ("%u/%s", domid, parts[3]));
    }
  else if (strcmp (parts[1], "backend") == 0)
    {
      if (n == 2)
        mark_domid (self->dirty_backends, domid);
      else if (!xd_class_info_for_backend_kind (parts[2]))
        return;
      else if (n == 3)
        g_hash_table_add (self->dirty_entries, g_strdup_printf ("%u/%s", domid, parts[2]));
      else if (n == 4)
        g_hash_table_add (self->dirty_entries,
                          g_strdup_printf ("%u/%s/%s", domid, parts[2], parts[3]));
      else
        g_hash_table_add (self->dirty_entries,
                          g_strdup_printf ("%u/%s/%s/%s", domid, parts[2], parts[3], parts[4]));
    }
}

static gboolean
covered_by_domid (GHashTable *set, const char *key)
{
  guint64 domid;
  const char *slash = strchr (key, '/');
  g_autofree char *head = g_strndup (key, slash ? (gsize) (slash - key) : strlen (key));

  return g_ascii_string_to_unsigned (head, 10, 0, G_MAXUINT, &domid, NULL)
         && g_hash_table_contains (set, GUINT_TO_POINTER ((guint) domid));
}

static void
on_flush (gpointer user_data)
{
  XdEngine *self = user_data;
  g_autoptr (GPtrArray) names = NULL, data = NULL, backends = NULL;
  g_autoptr (GPtrArray) classes = NULL, devices = NULL, entries = NULL;
  g_autoptr (GHashTable) data_set = NULL;
  g_autoptr (GHashTable) class_set = string_set_new ();

  if (self->dirty_domains)
    {
      gboolean appeared;

      self->dirty_domains = FALSE;
      appeared = sync_domains (self);
      if (self->dirty_introduce && !appeared)
        {
          self->introduce_retry = 0;
          schedule_introduce_retry (self);
        }
      self->dirty_introduce = FALSE;
    }

  names = domid_keys (self->dirty_names);
  g_hash_table_remove_all (self->dirty_names);
  for (guint i = 0; i < names->len; i++)
    if (g_hash_table_contains (self->domains, names->pdata[i]))
      sync_name (self, GPOINTER_TO_UINT (names->pdata[i]));

  data_set = g_steal_pointer (&self->dirty_data);
  self->dirty_data = domid_set_new ();
  data = domid_keys (data_set);
  for (guint i = 0; i < data->len; i++)
    sync_data (self, GPOINTER_TO_UINT (data->pdata[i]));

  classes = take_keys (self->dirty_classes);
  for (guint i = 0; i < classes->len; i++)
    {
      const char *key = classes->pdata[i];
      g_auto (GStrv) parts = g_strsplit (key, "/", 2);
      guint domid;
      XdClassId klass;
      if (covered_by_domid (data_set, key) || !parse_domid_component (parts[0], &domid)
          || !xd_class_id_from_string (parts[1], &klass)
          || !g_hash_table_contains (self->vms, GUINT_TO_POINTER (domid)))
        continue;
      g_hash_table_add (class_set, g_strdup (key));
      sync_class (self, domid, klass);
    }

  devices = take_keys (self->dirty_devices);
  for (guint i = 0; i < devices->len; i++)
    {
      const char *key = devices->pdata[i];
      g_auto (GStrv) parts = g_strsplit (key, "/", 3);
      g_autofree char *class_key = g_strdup_printf ("%s/%s", parts[0], parts[1]);
      guint domid;
      XdClassId klass;
      if (covered_by_domid (data_set, key) || g_hash_table_contains (class_set, class_key)
          || !parse_domid_component (parts[0], &domid)
          || !xd_class_id_from_string (parts[1], &klass))
        continue;
      sync_device (self, domid, klass, parts[2]);
    }

  backends = domid_keys (self->dirty_backends);
  for (guint i = 0; i < backends->len; i++)
    sync_backends (self, GPOINTER_TO_UINT (backends->pdata[i]));

  /* Coarser entries first ("B/kind" sorts before "B/kind/F/devid"), and a
   * finer one under a coarser one already read is skipped. */
  entries = take_keys (self->dirty_entries);
  g_ptr_array_sort (entries, compare_strings);
  for (guint i = 0; i < entries->len; i++)
    {
      const char *key = entries->pdata[i];
      g_auto (GStrv) parts = g_strsplit (key, "/", 4);
      guint n = g_strv_length (parts), domid, frontend = G_MAXUINT;
      guint64 devid;

      if (covered_by_domid (self->dirty_backends, key) || !parse_domid_component (parts[0], &domid)
          || !g_hash_table_contains (self->vms, GUINT_TO_POINTER (domid)))
        continue;
      if (i > 0)
        {
          g_autofree char *previous = g_strconcat (entries->pdata[i - 1], "/", NULL);
          /* entries->pdata[i - 1] may itself have been skipped; that only
           * costs a redundant read, never a missed one. */
          if (g_str_has_prefix (key, previous))
            continue;
        }
      if (n >= 3 && !parse_domid_component (parts[2], &frontend))
        continue;
      if (n == 4)
        {
          if (!xd_parse_size (parts[3], &devid) || devid > G_MAXINT32)
            continue;
          sync_entry (self, domid, parts[1], frontend, (guint) devid);
        }
      else
        sync_backend_part (self, domid, parts[1], frontend);
    }
  g_hash_table_remove_all (self->dirty_backends);
}

static void
on_connection (gboolean connected, gpointer user_data)
{
  XdEngine *self = user_data;
  GHashTableIter iter;
  gpointer key;

  self->connected = connected;
  if (connected)
    {
      /* The store registered every watch again; each echoes once. */
      g_hash_table_remove_all (self->initial);
      g_hash_table_add (self->initial, g_strdup (TOKEN_INTRODUCE));
      g_hash_table_add (self->initial, g_strdup (TOKEN_RELEASE));
      g_hash_table_iter_init (&iter, self->domains);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          guint domid = GPOINTER_TO_UINT (key);
          g_hash_table_add (self->initial, g_strdup_printf ("name:%u", domid));
          g_hash_table_add (self->initial, g_strdup_printf ("data:%u", domid));
          g_hash_table_add (self->initial, g_strdup_printf ("backend:%u", domid));
        }
      resync_all (self);
    }
  g_signal_emit (self, signals[SIGNAL_CONNECTION_CHANGED], 0, connected);
}

static const XdStoreListener engine_listener = {
  .on_event = on_event,
  .on_flush = on_flush,
  .on_connection = on_connection,
};

/* ---- public API ---- */

/* The names worth reading ahead, from the class tables: what the scan reads
 * and nothing else (a backend entry has twenty keys, the scan reads six; a
 * domain's backend directory also holds its consoles, network cards...). */
typedef struct
{
  const char *const *classes; /* data/xen-devices/CLASS */
  const char *const *kinds;   /* backend/KIND, /libxl/F/device/KIND */
  const char *const *backend_keys;
  const char *const *record_keys;
} ReadAheadNames;

static void
add_names (GPtrArray *names, const char *const *more)
{
  for (; *more; more++)
    if (!g_ptr_array_find_with_equal_func (names, *more, g_str_equal, NULL))
      g_ptr_array_add (names, (gpointer) *more);
}

static const char *const *
names_end (GPtrArray *names)
{
  g_ptr_array_add (names, NULL);
  return (const char *const *) g_ptr_array_free (names, FALSE);
}

static const ReadAheadNames *
read_ahead_names (void)
{
  static gsize once;
  static ReadAheadNames names;

  if (g_once_init_enter (&once))
    {
      GPtrArray *classes = g_ptr_array_new ();
      GPtrArray *kinds = g_ptr_array_new (), *backend_keys = g_ptr_array_new ();
      GPtrArray *record_keys = g_ptr_array_new ();
      /* Read for every class: the record's backend (xd_read_backend_entry ()). */
      static const char *const backend[] = { "backend", NULL };

      add_names (record_keys, backend);
      for (XdClassId k = 0; k < XD_N_CLASSES; k++)
        {
          const XdClassInfo *info = xd_class_info_get (k);
          const char *const name[] = { info->name, NULL };

          add_names (classes, name);
          add_names (kinds, info->backend_kinds);
          add_names (backend_keys, info->backend_keys);
          add_names (record_keys, info->record_keys);
        }
      names.classes = names_end (classes);
      names.kinds = names_end (kinds);
      names.backend_keys = names_end (backend_keys);
      names.record_keys = names_end (record_keys);
      g_once_init_leave (&once, 1);
    }
  return &names;
}

/* Reads the trees a scan of @domids reads ahead in bulk where the store can
 * (one request in flight per round trip costs 65 µs here; the copy takes a
 * fraction of that per node), and puts a read-only store over the copy in
 * the live store's place until read_ahead_end (): it passes anything else
 * to the live store. Where the store cannot, the scan reads live. Call it
 * after the domains' watches are in place, so that a change made while the
 * copy is taken is reported and read again from the live store. */
static void
read_ahead_begin (XdEngine *self, GArray *domids, ReadAhead *ahead)
{
  const ReadAheadNames *names = read_ahead_names ();
  /* The trees the scan reads, and how deep their values are:
   *   name;
   *   data/xen-devices/CLASS/PORT (one node per device);
   *   backend/KIND/FRONTEND/DEVID/KEY (deeper nodes, such as a usb
   *     controller's port/N, are asked of the live store);
   *   /libxl/FRONTEND/device/KIND/DEVID/KEY. */
  const struct
  {
    const char *top;
    const char *below;
    guint depth;
    const char *const *only[XD_READ_AHEAD_MAX_DEPTH];
  } shapes[] = {
    { "/local/domain", "name", 0, { NULL } },
    { "/local/domain", "data/xen-devices", 2, { names->classes } },
    { "/local/domain", "backend", 4, { names->kinds, NULL, NULL, names->backend_keys } },
    { "/libxl", "device", 3, { names->kinds, NULL, names->record_keys } },
  };
  g_autoptr (GArray) trees = g_array_new (FALSE, TRUE, sizeof (XdReadAheadTree));
  g_autoptr (GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  ahead->live = self->store;
  ahead->started = g_get_monotonic_time ();
  for (guint i = 0; i < domids->len; i++)
    for (guint t = 0; t < G_N_ELEMENTS (shapes); t++)
      {
        XdReadAheadTree tree = { NULL };
        char *root = g_strdup_printf ("%s/%u/%s", shapes[t].top, g_array_index (domids, guint, i),
                                      shapes[t].below);

        g_ptr_array_add (roots, root);
        tree.root = root;
        tree.depth = shapes[t].depth;
        memcpy (tree.only, shapes[t].only, sizeof tree.only);
        g_array_append_val (trees, tree);
      }
  ahead->copy = xd_store_read_ahead (self->store, (const XdReadAheadTree *) (gpointer) trees->data,
                                     trees->len, &error);
  ahead->read = g_get_monotonic_time ();
  if (ahead->copy)
    self->store = ahead->copy;
  else
    g_debug ("reading ahead: %s; reading one request at a time", error->message);
}

/* Puts the live store back, logs what the copy answered, and frees it. */
static void
read_ahead_end (XdEngine *self, ReadAhead *ahead, const char *what)
{
  guint answered = 0, passed = 0;

  self->store = ahead->live;
  if (!ahead->copy)
    return;
  xd_snapshot_store_get_counts (ahead->copy, &answered, &passed);
  g_debug ("%s: read ahead in %.1f ms, scanned in %.1f ms; %u reads answered from the copy, %u "
           "from xenstore",
           what, (ahead->read - ahead->started) / 1000.0,
           (g_get_monotonic_time () - ahead->read) / 1000.0, answered, passed);
  g_clear_pointer (&ahead->copy, xd_store_free);
}

/* The first full scan of the domains in @listing. The watches go in first,
 * as sync_domains () would put them, then the copy is read ahead. */
static void
load_domains (XdEngine *self, char **listing)
{
  g_autoptr (GArray) domids = g_array_new (FALSE, FALSE, sizeof (guint));
  ReadAhead ahead;

  for (guint i = 0; listing[i]; i++)
    {
      guint domid;
      if (!parse_domid_component (listing[i], &domid)
          || g_hash_table_contains (self->domains, GUINT_TO_POINTER (domid)))
        continue;
      g_array_append_val (domids, domid);
      g_hash_table_add (self->domains, GUINT_TO_POINTER (domid));
      domain_watches (self, domid, TRUE);
    }
  /* Every path the scan reads is in the copy or passed to the live store. */
  read_ahead_begin (self, domids, &ahead);
  for (guint i = 0; i < domids->len; i++)
    sync_name (self, g_array_index (domids, guint, i));
  read_ahead_end (self, &ahead, "first scan");
}

gboolean
xd_engine_load (XdEngine *self, gboolean watch_changes, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) probe = NULL;

  g_return_val_if_fail (XD_IS_ENGINE (self), FALSE);

  probe = xd_store_directory (self->store, "/local/domain", &local_error);
  if (!probe)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot read the list of domains: ");
      return FALSE;
    }
  self->watching = watch_changes;
  if (watch_changes)
    {
      watch (self, "@introduceDomain", TOKEN_INTRODUCE);
      watch (self, "@releaseDomain", TOKEN_RELEASE);
    }
  self->stats.full_scans++;
  load_domains (self, probe);
  release_stale_mics (self);
  return TRUE;
}

static int
compare_vms (gconstpointer a, gconstpointer b)
{
  const XdVm *x = *(XdVm *const *) a;
  const XdVm *y = *(XdVm *const *) b;
  return xd_natural_compare (x->name, y->name);
}

GPtrArray *
xd_engine_get_vms (XdEngine *self)
{
  GPtrArray *vms = g_ptr_array_new_full (g_hash_table_size (self->vms), NULL);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (vms, value);
  g_ptr_array_sort (vms, compare_vms);
  return vms;
}

XdVm *
xd_engine_lookup_vm (XdEngine *self, guint domid)
{
  return g_hash_table_lookup (self->vms, GUINT_TO_POINTER (domid));
}

XdVm *
xd_engine_lookup_vm_by_name (XdEngine *self, const char *name)
{
  return xd_engine_find_vm (self, name, NULL);
}

static int
compare_domids (gconstpointer a, gconstpointer b)
{
  guint x = (*(XdVm *const *) a)->domid, y = (*(XdVm *const *) b)->domid;
  return x < y ? -1 : x > y;
}

XdVm *
xd_engine_find_vm (XdEngine *self, const char *name, GError **error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new ();
  g_autoptr (GString) ids = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (XD_IS_ENGINE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (strcmp (((XdVm *) value)->name, name) == 0)
      g_ptr_array_add (found, value);
  if (found->len == 1)
    return found->pdata[0];
  if (found->len == 0)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "no such VM: %s (it is not running)", name);
      return NULL;
    }
  g_ptr_array_sort (found, compare_domids);
  ids = g_string_new (NULL);
  for (guint i = 0; i < found->len; i++)
    g_string_append_printf (ids, "%s%u", i ? ", " : "", ((XdVm *) found->pdata[i])->domid);
  g_set_error (error, XD_ERROR, XD_ERROR_REFUSED,
               "%u running domains are named %s (domains %s): refusing to guess which", found->len,
               name, ids->str);
  return NULL;
}

static XdEngine *sort_engine;

static int
compare_devices (gconstpointer a, gconstpointer b)
{
  const XdDevice *x = *(XdDevice *const *) a;
  const XdDevice *y = *(XdDevice *const *) b;
  char bx[32], by[32];
  int c;

  if (x->klass != y->klass)
    return x->klass < y->klass ? -1 : 1;
  c = xd_natural_compare (xd_engine_vm_name (sort_engine, x->backend, bx),
                          xd_engine_vm_name (sort_engine, y->backend, by));
  if (c != 0)
    return c;
  return xd_natural_compare (x->port, y->port);
}

GPtrArray *
xd_engine_get_devices (XdEngine *self, XdClassId klass)
{
  GPtrArray *devices = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (klass == XD_N_CLASSES || ((XdDevice *) value)->klass == klass)
      g_ptr_array_add (devices, value);
  sort_engine = self;
  g_ptr_array_sort (devices, compare_devices);
  sort_engine = NULL;
  return devices;
}

GPtrArray *
xd_engine_get_unexposed_held (XdEngine *self, XdClassId klass)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_device_unref);
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (XD_IS_ENGINE (self), out);

  g_hash_table_iter_init (&iter, self->holders);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const XdAttachment *first = ((GPtrArray *) value)->pdata[0];
      XdDevice *device;

      if (g_hash_table_contains (self->devices, key)
          || (klass != XD_N_CLASSES && first->klass != klass))
        continue;
      device = xd_device_new (first->klass, first->backend, first->port);
      fill_attachments (self, device, key);
      if (device->attachments->len == 0)
        {
          xd_device_unref (device);
          continue;
        }
      g_ptr_array_add (out, device);
    }
  return out;
}

XdDevice *
xd_engine_lookup_device (XdEngine *self, XdClassId klass, guint backend, const char *port)
{
  g_autofree char *key = xd_device_key (klass, backend, port);
  return g_hash_table_lookup (self->devices, key);
}

XdStore *
xd_engine_get_store (XdEngine *self)
{
  /* Never the read-ahead copy: a task keeps this past read_ahead_end (). */
  return self->live_store;
}

void
xd_engine_set_toolstack (XdEngine *self, XdToolstack *toolstack)
{
  g_clear_pointer (&self->toolstack, xd_toolstack_free);
  self->toolstack = toolstack;
}

XdToolstack *
xd_engine_get_toolstack (XdEngine *self)
{
  return self->toolstack;
}

void
xd_engine_get_stats (XdEngine *self, XdEngineStats *stats)
{
  *stats = self->stats;
}

XdEngine *
xd_engine_new (XdStore *store)
{
  XdEngine *self = g_object_new (XD_TYPE_ENGINE, NULL);

  self->store = self->live_store = store;
  self->connected = xd_store_is_connected (store);
  xd_store_set_listener (store, &engine_listener, self);
  return self;
}

static void
xd_engine_finalize (GObject *object)
{
  XdEngine *self = XD_ENGINE (object);

  g_clear_handle_id (&self->introduce_retry_id, g_source_remove);
  g_clear_pointer (&self->store, xd_store_free);
  g_clear_pointer (&self->toolstack, xd_toolstack_free);
  g_hash_table_unref (self->domains);
  g_hash_table_unref (self->vms);
  g_hash_table_unref (self->devices);
  g_hash_table_unref (self->backend_devices);
  g_hash_table_unref (self->entries);
  g_hash_table_unref (self->holders);
  g_hash_table_unref (self->initial);
  g_hash_table_unref (self->dirty_names);
  g_hash_table_unref (self->dirty_data);
  g_hash_table_unref (self->dirty_classes);
  g_hash_table_unref (self->dirty_devices);
  g_hash_table_unref (self->dirty_backends);
  g_hash_table_unref (self->dirty_entries);
  g_hash_table_unref (self->warned);
  G_OBJECT_CLASS (xd_engine_parent_class)->finalize (object);
}

static void
xd_engine_class_init (XdEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = xd_engine_finalize;

  signals[SIGNAL_VM_ADDED] = g_signal_new ("vm-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_VM_REMOVED]
    = g_signal_new ("vm-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_DEVICE_ADDED]
    = g_signal_new ("device-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_DEVICE_CHANGED]
    = g_signal_new ("device-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_DEVICE_REMOVED]
    = g_signal_new ("device-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_CONNECTION_CHANGED]
    = g_signal_new ("connection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
xd_engine_init (XdEngine *self)
{
  self->domains = domid_set_new ();
  self->vms
    = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) xd_vm_unref);
  self->devices
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) xd_device_unref);
  self->backend_devices = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                 (GDestroyNotify) g_hash_table_unref);
  self->entries
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->holders
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->initial = string_set_new ();
  self->dirty_names = domid_set_new ();
  self->dirty_data = domid_set_new ();
  self->dirty_classes = string_set_new ();
  self->dirty_devices = string_set_new ();
  self->dirty_backends = domid_set_new ();
  self->dirty_entries = string_set_new ();
  self->warned = string_set_new ();
  self->connected = TRUE;
}
