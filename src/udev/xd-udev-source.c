/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-udev-source.h"

#include <glib-unix.h>
#include <libudev.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-device-entry.h"
#include "core/xd-error.h"
#include "xd-udev-scan.h"
#include "xen/xd-xs-store.h"

/* Coalesces a burst of uevents (a stick and its partitions) into one scan. */
#define SETTLE_MS 50
/* After a failed publication (xenstored away, the domain not yet known to
 * it), try again this often until one succeeds. */
#define RETRY_MS 1000
#define MAX_TRANSACTION_ATTEMPTS 20
#define VBD_TOKEN "xd-udev-vbd"
#define DOM0_SOURCE_KEY "xd-dom0-source"

static const XdClassId published_classes[] = { XD_CLASS_BLOCK, XD_CLASS_MIC, XD_CLASS_USB };

struct _XdUdevSource
{
  XdUdevSourceOptions options;
  char *mountinfo_path;
  char *swaps_path;
  XdStore *store;
  struct udev *udev;
  struct udev_monitor *monitor;
  GMainContext *context;
  GSource *monitor_source;
  GSource *settle_source;
  GSource *poll_source;
  /* The kernel's mount table and swap list, when they are the ones read:
   * the kernel wakes their readers with POLLPRI when they change (a
   * partition mounted in the domain must disappear at once). */
  int table_fds[3];
  GSource *table_sources[3];
  char *last_error; /* logged once until the next success */
  guint syncs;
  /* What this source last wrote, "class/port" -> the node's value: a sync
   * compares with it instead of reading every entry back. Read from
   * xenstore again (written_known FALSE) at first, after a failure and after
   * xenstored reconnects. */
  GHashTable *written;
  gboolean written_known;
};

static char *
class_dir (XdUdevSource *self, XdClassId klass)
{
  return g_strdup_printf ("/local/domain/%u/data/xen-devices/%s", self->options.domid,
                          xd_class_id_to_string (klass));
}

/* NULL and no error for a node that is not there. */
static char **
list_dir (XdStore *store, const char *path, GError **error)
{
  GError *local = NULL;
  char **children = xd_store_directory (store, path, &local);

  if (!children && g_error_matches (local, XD_ERROR, XD_ERROR_NOT_FOUND))
    g_clear_error (&local);
  if (local)
    g_propagate_error (error, local);
  return children;
}

/* ---- reading what is attached ---- */

/* The block ports the domain's blkback entries hold: params "/dev/<port>". */
static GHashTable *
read_attached (XdUdevSource *self, GError **error)
{
  g_autoptr (GHashTable) attached = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *vbd = g_strdup_printf ("/local/domain/%u/backend/vbd", self->options.domid);
  GError *local = NULL;
  g_auto (GStrv) frontends = list_dir (self->store, vbd, &local);

  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  for (guint i = 0; frontends && frontends[i]; i++)
    {
      g_autofree char *fe_dir = g_strdup_printf ("%s/%s", vbd, frontends[i]);
      g_auto (GStrv) devids = list_dir (self->store, fe_dir, NULL);

      for (guint j = 0; devids && devids[j]; j++)
        {
          g_autofree char *path = g_strdup_printf ("%s/%s/params", fe_dir, devids[j]);
          g_autofree char *params = xd_store_read (self->store, path, NULL, NULL);

          if (params && g_str_has_prefix (params, "/dev/"))
            g_hash_table_add (attached, g_strdup (params + strlen ("/dev/")));
        }
    }
  return g_steal_pointer (&attached);
}

/* ---- writing ---- */

/* The value of @publication's node: its keys and values as key=value lines
 * (xd-device-entry.h). NULL when they cannot be written so. */
static char *
publication_value (const XdPublication *publication)
{
  g_autofree const char **kv = g_new0 (const char *, publication->kv->len + 1);

  memcpy (kv, publication->kv->pdata, publication->kv->len * sizeof (char *));
  return xd_device_entry_format (kv);
}

/* Whether the node at @path holds exactly @value. */
static gboolean
entry_is_current (XdUdevSource *self, const char *path, const char *value)
{
  gsize len = 0;
  g_autofree char *stored = xd_store_read (self->store, path, &len, NULL);

  return stored && len == strlen (value) && memcmp (stored, value, len) == 0;
}

/* Whether the node at @path is an entry this source wrote: one that parses
 * and says source=udev. Anything else (another writer's entry, one that does
 * not parse) is not ours to remove. */
static gboolean
entry_is_ours (XdUdevSource *self, const char *path)
{
  gsize len = 0;
  g_autofree char *stored = xd_store_read (self->store, path, &len, NULL);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry = stored ? xd_device_entry_parse (stored, len, why) : NULL;

  return entry
         && g_strcmp0 (xd_device_entry_get (entry, XD_PUBLICATION_SOURCE_KEY),
                       XD_PUBLICATION_SOURCE)
              == 0;
}

/* Replaces the node at @path in one transaction, owned by the domain with no
 * access for others, as an agent's own writes are. The rm also takes away
 * what an older publisher left there: a directory with a node per key. */
static gboolean
write_entry_txn (XdUdevSource *self, XdStoreTxn txn, const char *path, const char *value,
                 GError **error)
{
  XdStorePermission perms[1] = { { self->options.domid, XD_STORE_PERM_NONE } };

  return xd_store_rm (self->store, txn, path, error)
         && xd_store_write (self->store, txn, path, value, error)
         && xd_store_set_permissions (self->store, txn, path, perms, 1, error);
}

static gboolean
write_entry (XdUdevSource *self, const char *path, const char *value, GError **error)
{
  for (guint attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS; attempt++)
    {
      g_autoptr (GError) local = NULL;
      XdStoreTxn txn;

      if (!xd_store_transaction_start (self->store, &txn, error))
        return FALSE;
      if (!write_entry_txn (self, txn, path, value, error))
        {
          xd_store_transaction_end (self->store, txn, TRUE, NULL);
          return FALSE;
        }
      if (xd_store_transaction_end (self->store, txn, FALSE, &local))
        return TRUE;
      if (!g_error_matches (local, XD_ERROR, XD_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  g_set_error (error, XD_ERROR, XD_ERROR_TIMEOUT, "writing %s kept conflicting", path);
  return FALSE;
}

static char *
written_key (XdClassId klass, const char *port)
{
  return g_strdup_printf ("%s/%s", xd_class_id_to_string (klass), port);
}

/* Whether the node of @key ("class/port") at @path must be written to hold
 * @value: by what this source remembers writing, or else by reading it. */
static gboolean
entry_needs_write (XdUdevSource *self, const char *key, const char *path, const char *value)
{
  if (self->written_known)
    return g_strcmp0 (g_hash_table_lookup (self->written, key), value) != 0;
  return !entry_is_current (self, path, value);
}

/* Removes the entries of @klass this source wrote that @wanted (port ->
 * value) does not name: those it remembers writing, or else those marked as
 * its own in xenstore. */
static gboolean
remove_stale (XdUdevSource *self, XdClassId klass, GHashTable *wanted, GError **error)
{
  g_autofree char *dir = class_dir (self, klass);
  g_autofree char *prefix = g_strdup_printf ("%s/", xd_class_id_to_string (klass));
  GError *local = NULL;
  g_auto (GStrv) ports = NULL;

  if (self->written_known)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, self->written);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          const char *port = (const char *) key + strlen (prefix);
          g_autofree char *entry = NULL;

          if (!g_str_has_prefix (key, prefix) || (wanted && g_hash_table_contains (wanted, port)))
            continue;
          entry = g_strdup_printf ("%s/%s", dir, port);
          if (!xd_store_rm (self->store, XD_STORE_NO_TXN, entry, error))
            return FALSE;
          g_hash_table_iter_remove (&iter);
        }
      return TRUE;
    }

  ports = list_dir (self->store, dir, &local);

  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  for (guint i = 0; ports && ports[i]; i++)
    {
      g_autofree char *entry = g_strdup_printf ("%s/%s", dir, ports[i]);

      if (wanted && g_hash_table_contains (wanted, ports[i]))
        continue;
      if (entry_is_ours (self, entry) && !xd_store_rm (self->store, XD_STORE_NO_TXN, entry, error))
        return FALSE;
    }
  return TRUE;
}

/* The values to write for the publications of @klass, port -> value. One
 * whose properties cannot be written as an entry is left out, so that what
 * an earlier scan wrote for it goes as stale. */
static GHashTable *
wanted_values (GPtrArray *publications, XdClassId klass)
{
  GHashTable *wanted = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint i = 0; i < publications->len; i++)
    {
      XdPublication *publication = publications->pdata[i];
      char *value;

      if (publication->klass != klass)
        continue;
      value = publication_value (publication);
      if (!value)
        {
          g_message ("%s %s is not published: its properties do not make an entry",
                     xd_class_id_to_string (klass), publication->port);
          continue;
        }
      g_hash_table_insert (wanted, publication->port, value);
    }
  return wanted;
}

static gboolean
publish (XdUdevSource *self, GPtrArray *publications, GError **error)
{
  for (gsize c = 0; c < G_N_ELEMENTS (published_classes); c++)
    {
      XdClassId klass = published_classes[c];
      g_autofree char *dir = class_dir (self, klass);
      g_autoptr (GHashTable) wanted = wanted_values (publications, klass);

      if (!remove_stale (self, klass, wanted, error))
        return FALSE;
      /* In the publications' order (sorted), not the table's. */
      for (guint i = 0; i < publications->len; i++)
        {
          XdPublication *publication = publications->pdata[i];
          const char *value = NULL;
          g_autofree char *key = NULL;
          g_autofree char *entry = NULL;

          if (publication->klass == klass)
            value = g_hash_table_lookup (wanted, publication->port);
          if (!value)
            continue;
          key = written_key (klass, publication->port);
          entry = g_strdup_printf ("%s/%s", dir, publication->port);
          if (entry_needs_write (self, key, entry, value)
              && !write_entry (self, entry, value, error))
            return FALSE;
          g_hash_table_replace (self->written, g_steal_pointer (&key), g_strdup (value));
        }
    }
  return TRUE;
}

static void
forget_written (XdUdevSource *self)
{
  g_hash_table_remove_all (self->written);
  self->written_known = FALSE;
}

gboolean
xd_udev_source_sync (XdUdevSource *self, GError **error)
{
  g_autoptr (GHashTable) attached = NULL;
  g_autoptr (GPtrArray) publications = NULL;
  XdUdevScanOptions scan = { self->mountinfo_path, self->swaps_path, NULL };

  g_return_val_if_fail (self != NULL, FALSE);

  attached = read_attached (self, error);
  if (!attached)
    return FALSE;
  scan.attached = attached;
  publications = xd_udev_scan (self->udev, &scan);
  if (!publish (self, publications, error))
    {
      forget_written (self);
      return FALSE;
    }
  self->written_known = TRUE;
  self->syncs++;
  return TRUE;
}

gboolean
xd_udev_source_withdraw (XdUdevSource *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  /* Everything marked as ours in xenstore, remembered or not. */
  forget_written (self);
  for (gsize c = 0; c < G_N_ELEMENTS (published_classes); c++)
    if (!remove_stale (self, published_classes[c], NULL, error))
      return FALSE;
  return TRUE;
}

guint
xd_udev_source_get_syncs (XdUdevSource *self)
{
  return self->syncs;
}

/* ---- keeping current ---- */

static void schedule_sync (XdUdevSource *self, guint delay_ms);

static void
sync_and_log (XdUdevSource *self)
{
  g_autoptr (GError) error = NULL;

  if (xd_udev_source_sync (self, &error))
    {
      g_clear_pointer (&self->last_error, g_free);
      return;
    }
  /* Gone xenstored: the store reconnects and says so, then we sync again. */
  if (g_strcmp0 (self->last_error, error->message) != 0)
    g_message ("cannot publish the devices of domain %u: %s", self->options.domid, error->message);
  g_free (self->last_error);
  self->last_error = g_strdup (error->message);
  if (self->options.watch)
    schedule_sync (self, RETRY_MS);
}

static gboolean
settle_cb (gpointer user_data)
{
  XdUdevSource *self = user_data;

  g_clear_pointer (&self->settle_source, g_source_unref);
  sync_and_log (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_sync (XdUdevSource *self, guint delay_ms)
{
  if (self->settle_source)
    return;
  self->settle_source = g_timeout_source_new (delay_ms);
  g_source_set_callback (self->settle_source, settle_cb, self, NULL);
  g_source_set_name (self->settle_source, "xd-udev-settle");
  g_source_attach (self->settle_source, self->context);
}

static gboolean
monitor_cb (int fd, GIOCondition condition, gpointer user_data)
{
  XdUdevSource *self = user_data;
  struct udev_device *dev;

  while ((dev = udev_monitor_receive_device (self->monitor)))
    udev_device_unref (dev);
  schedule_sync (self, SETTLE_MS);
  return G_SOURCE_CONTINUE;
}

static gboolean
poll_cb (gpointer user_data)
{
  schedule_sync (user_data, SETTLE_MS);
  return G_SOURCE_CONTINUE;
}

static void
on_store_event (const char *path, const char *token, gpointer user_data)
{
  schedule_sync (user_data, SETTLE_MS);
}

static void
on_store_connection (gboolean connected, gpointer user_data)
{
  /* xenstored restarted empty: publish everything again. */
  forget_written (user_data);
  if (connected)
    schedule_sync (user_data, SETTLE_MS);
}

/* A change is acknowledged by reading the table through the polled fd. */
static void
drain_table (int fd)
{
  char buf[4096];

  if (lseek (fd, 0, SEEK_SET) == 0)
    while (read (fd, buf, sizeof buf) > 0)
      ;
}

static gboolean
table_changed_cb (int fd, GIOCondition condition, gpointer user_data)
{
  drain_table (fd);
  schedule_sync (user_data, SETTLE_MS);
  return G_SOURCE_CONTINUE;
}

static void
watch_tables (XdUdevSource *self)
{
  const char *const kernel_paths[3]
    = { XD_UDEV_SELF_MOUNTINFO, XD_UDEV_INIT_MOUNTINFO, "/proc/swaps" };
  const char *mountinfo
    = self->mountinfo_path ? self->mountinfo_path : g_getenv ("XEN_DEVICES_MOUNTINFO");
  const char *init_mountinfo = g_getenv ("XEN_DEVICES_INIT_MOUNTINFO");
  const char *swaps = self->swaps_path ? self->swaps_path : g_getenv ("XEN_DEVICES_SWAPS");
  gboolean replaced = mountinfo && *mountinfo;
  /* A replacement (tests) is a plain file, always readable: not polled; nor
   * is init's table once this process's is replaced (xd-udev-scan.c). */
  const gboolean polled[3]
    = { !replaced, !replaced && !(init_mountinfo && *init_mountinfo), !(swaps && *swaps) };

  for (guint i = 0; i < G_N_ELEMENTS (kernel_paths); i++)
    {
      self->table_fds[i] = -1;
      if (!polled[i])
        continue;
      self->table_fds[i] = open (kernel_paths[i], O_RDONLY | O_CLOEXEC);
      if (self->table_fds[i] < 0)
        continue;
      drain_table (self->table_fds[i]);
      self->table_sources[i] = g_unix_fd_source_new (self->table_fds[i], G_IO_PRI | G_IO_ERR);
      g_source_set_callback (self->table_sources[i], G_SOURCE_FUNC (table_changed_cb), self, NULL);
      g_source_set_name (self->table_sources[i], "xd-udev-mount-table");
      g_source_attach (self->table_sources[i], self->context);
    }
}

static const XdStoreListener source_listener = {
  .on_event = on_store_event,
  .on_flush = NULL,
  .on_connection = on_store_connection,
};

static void
start_monitor (XdUdevSource *self)
{
  static const char *const subsystems[] = { "block", "usb", "sound", "input" };

  self->monitor = udev_monitor_new_from_netlink (self->udev, "udev");
  if (!self->monitor)
    {
      g_message ("no udev monitor: devices of domain %u are published only when rescanned",
                 self->options.domid);
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subsystems); i++)
    udev_monitor_filter_add_match_subsystem_devtype (self->monitor, subsystems[i], NULL);
  if (udev_monitor_enable_receiving (self->monitor) < 0)
    {
      g_message ("cannot receive uevents: devices of domain %u are published only when rescanned",
                 self->options.domid);
      g_clear_pointer (&self->monitor, udev_monitor_unref);
      return;
    }
  self->monitor_source = g_unix_fd_source_new (udev_monitor_get_fd (self->monitor), G_IO_IN);
  g_source_set_callback (self->monitor_source, G_SOURCE_FUNC (monitor_cb), self, NULL);
  g_source_set_name (self->monitor_source, "xd-udev-monitor");
  g_source_attach (self->monitor_source, self->context);
}

XdUdevSource *
xd_udev_source_new (const XdUdevSourceOptions *options, GError **error)
{
  g_autoptr (XdUdevSource) self = g_new0 (XdUdevSource, 1);
  g_autofree char *vbd = NULL;

  g_return_val_if_fail (options != NULL, NULL);
  self->written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < G_N_ELEMENTS (self->table_fds); i++)
    self->table_fds[i] = -1;
  self->options = *options;
  self->mountinfo_path = g_strdup (options->mountinfo_path);
  self->swaps_path = g_strdup (options->swaps_path);
  self->options.mountinfo_path = self->mountinfo_path;
  self->options.swaps_path = self->swaps_path;
  self->context = g_main_context_ref_thread_default ();
  self->udev = udev_new ();
  if (!self->udev)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "Cannot open libudev");
      return NULL;
    }
  self->store = options->watch ? xd_xs_store_new (error) : xd_xs_store_new_plain (error);
  if (!self->store)
    return NULL;
  if (!options->watch)
    return g_steal_pointer (&self);

  xd_store_set_listener (self->store, &source_listener, self);
  start_monitor (self);
  watch_tables (self);
  vbd = g_strdup_printf ("/local/domain/%u/backend/vbd", options->domid);
  if (!xd_store_watch (self->store, vbd, VBD_TOKEN, error))
    return NULL;
  if (options->poll_seconds)
    {
      self->poll_source = g_timeout_source_new_seconds (options->poll_seconds);
      g_source_set_callback (self->poll_source, poll_cb, self, NULL);
      g_source_attach (self->poll_source, self->context);
    }
  sync_and_log (self);
  return g_steal_pointer (&self);
}

static void
destroy_source (GSource **source)
{
  if (*source)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
xd_udev_source_free (XdUdevSource *self)
{
  if (!self)
    return;
  destroy_source (&self->monitor_source);
  destroy_source (&self->settle_source);
  destroy_source (&self->poll_source);
  for (guint i = 0; i < G_N_ELEMENTS (self->table_fds); i++)
    {
      destroy_source (&self->table_sources[i]);
      if (self->table_fds[i] >= 0)
        close (self->table_fds[i]);
    }
  g_clear_pointer (&self->monitor, udev_monitor_unref);
  g_clear_pointer (&self->store, xd_store_free);
  g_clear_pointer (&self->udev, udev_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->mountinfo_path);
  g_free (self->swaps_path);
  g_clear_pointer (&self->written, g_hash_table_unref);
  g_free (self->last_error);
  g_free (self);
}

/* ---- dom0 ---- */

gboolean
xd_dom0_source_enabled (void)
{
  return g_strcmp0 (g_getenv ("XEN_DEVICES_DOM0_UDEV"), "0") != 0;
}

void
xd_dom0_source_attach (XdEngine *engine)
{
  XdUdevSourceOptions options = { .domid = 0, .watch = TRUE };
  g_autoptr (GError) error = NULL;
  XdUdevSource *source;

  g_return_if_fail (XD_IS_ENGINE (engine));

  if (!xd_dom0_source_enabled ())
    return;
  source = xd_udev_source_new (&options, &error);
  if (!source)
    {
      g_message ("dom0's own devices are not shown: %s", error->message);
      return;
    }
  g_object_set_data_full (G_OBJECT (engine), DOM0_SOURCE_KEY, source,
                          (GDestroyNotify) xd_udev_source_free);
}

void
xd_dom0_source_publish_once (void)
{
  XdUdevSourceOptions options = { .domid = 0, .watch = FALSE };
  g_autoptr (GError) error = NULL;
  g_autoptr (XdUdevSource) source = NULL;

  if (!xd_dom0_source_enabled ())
    return;
  source = xd_udev_source_new (&options, &error);
  if (!source || !xd_udev_source_sync (source, &error))
    g_message ("dom0's own devices are not shown: %s", error->message);
}
