/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-xs-store.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <xenstore.h>

#include "core/xd-error.h"
#include "xd-control.h"
#include "xd-xs-prefetch.h"
#include "xd-xs-watcher.h"

#define XS_DOMAIN_DEV "/dev/xen/xenbus"
#define RECONNECT_MIN_MS 50
#define RECONNECT_MAX_MS 2000
/* A path nobody writes: the sentinel only needs a registered watch so that it
 * can sleep in xs_read_watch () until the connection drops. */
#define SENTINEL_PATH "@xen-devices-sentinel"

typedef struct
{
  XdStore parent;

  /* Watches go over their own connection: the daemon's socket spoken
   * directly (xd-xs-watcher.h), so that they need not wait for each reply;
   * or, where there is no socket, a libxenstore handle, xsh. Once a handle
   * has a watch, libxenstore routes every reply through its reader thread,
   * which costs about 45% more per request (65 against 94 µs here).
   * Requests therefore go over a second connection, io_xsh; a plain store
   * has only that one. */
  XdXsWatcher *watcher;
  struct xs_handle *xsh;
  struct xs_handle *io_xsh;
  GMainContext *context;
  GSource *fd_source;
  /* Dispatches the events the watcher queued while it waited for replies. */
  GSource *events_source;

  /* Registered watches, "path\ttoken" -> TRUE, re-registered on reconnect. */
  GHashTable *watches;

  /* libxenstore does not wake xs_fileno () when the daemon goes away; a
   * second connection, parked in a blocking xs_read_watch () in a thread,
   * returns NULL at that moment and tells the main loop. */
  struct xs_handle *sentinel_xsh;
  GThread *sentinel_thread;
  gint sentinel_stop;
  /* The sentinel's message to the main loop, owned here so that freeing the
   * store can take it back before it runs. Written by the sentinel thread,
   * read after joining it. */
  GSource *lost_source;
  guint generation;

  guint reconnect_id;
  guint reconnect_delay;
  gboolean connected;
  /* A worker's connection: no main loop, no watches, no reconnecting. */
  gboolean plain;
} XdXsStore;

static void xs_store_disconnect (XdXsStore *self);
static void settle (XdXsStore *self);

char *
xd_xs_store_describe_target (void)
{
  return g_strdup_printf ("%s and %s", xs_daemon_socket (), XS_DOMAIN_DEV);
}

static void
set_error_from_errno (XdXsStore *self, GError **error, int err, const char *what, const char *path)
{
  switch (err)
    {
    case ENOENT:
    case EACCES:
    case EINVAL:
    case E2BIG:
      g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "%s %s: %s", what, path, g_strerror (err));
      break;
    default:
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "%s %s: xenstore connection lost (%s)",
                   what, path, g_strerror (err));
      /* Anything else means the socket is unusable. Drop it now so the
       * listener hears of it once, not on every failing read. */
      if (self->connected && !self->plain)
        xs_store_disconnect (self);
      break;
    }
}

static char *
xs_store_read_txn (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;
  unsigned int n = 0;
  char *value, *copy;

  settle (self);
  if (!self->io_xsh)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore is not connected");
      return NULL;
    }
  value = xs_read (self->io_xsh, txn, path, &n);
  if (!value)
    {
      set_error_from_errno (self, error, errno, "reading", path);
      return NULL;
    }
  /* libxenstore NUL-terminates, but copy into GLib's allocator so callers
   * can g_free () what they get. */
  copy = g_malloc (n + 1);
  memcpy (copy, value, n);
  copy[n] = '\0';
  free (value);
  if (len)
    *len = n;
  return copy;
}

static char *
xs_store_read (XdStore *store, const char *path, gsize *len, GError **error)
{
  return xs_store_read_txn (store, XD_STORE_NO_TXN, path, len, error);
}

static char **
xs_store_directory_txn (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;
  unsigned int n = 0;
  char **entries;
  char **result;

  settle (self);
  if (!self->io_xsh)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore is not connected");
      return NULL;
    }
  entries = xs_directory (self->io_xsh, txn, path, &n);
  if (!entries)
    {
      set_error_from_errno (self, error, errno, "listing", path);
      return NULL;
    }
  result = g_new (char *, n + 1);
  for (unsigned int i = 0; i < n; i++)
    result[i] = g_strdup (entries[i]);
  result[n] = NULL;
  free (entries);
  return result;
}

static char **
xs_store_directory (XdStore *store, const char *path, GError **error)
{
  return xs_store_directory_txn (store, XD_STORE_NO_TXN, path, error);
}

static gboolean
check_connected (XdXsStore *self, GError **error)
{
  settle (self);
  if (self->io_xsh)
    return TRUE;
  g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore is not connected");
  return FALSE;
}

static gboolean
xs_store_transaction_start (XdStore *store, XdStoreTxn *txn, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;
  xs_transaction_t t;

  if (!check_connected (self, error))
    return FALSE;
  t = xs_transaction_start (self->io_xsh);
  if (t == XBT_NULL)
    {
      set_error_from_errno (self, error, errno, "starting a transaction", "");
      return FALSE;
    }
  *txn = t;
  return TRUE;
}

static gboolean
xs_store_transaction_end (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;

  if (!check_connected (self, error))
    return FALSE;
  if (xs_transaction_end (self->io_xsh, txn, abort))
    return TRUE;
  if (errno == EAGAIN)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_CONFLICT, "a concurrent change to xenstore");
      return FALSE;
    }
  set_error_from_errno (self, error, errno, "ending a transaction", "");
  return FALSE;
}

static gboolean
xs_store_write (XdStore *store, XdStoreTxn txn, const char *path, const char *value, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;

  if (!check_connected (self, error))
    return FALSE;
  if (xs_write (self->io_xsh, txn, path, value, strlen (value)))
    return TRUE;
  set_error_from_errno (self, error, errno, "writing", path);
  return FALSE;
}

static gboolean
xs_store_rm (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;

  if (!check_connected (self, error))
    return FALSE;
  if (xs_rm (self->io_xsh, txn, path) || errno == ENOENT)
    return TRUE;
  set_error_from_errno (self, error, errno, "removing", path);
  return FALSE;
}

static gboolean
xs_store_set_permissions (XdStore *store, XdStoreTxn txn, const char *path,
                          const XdStorePermission *perms, guint n_perms, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;
  g_autofree struct xs_permissions *xs_perms = g_new0 (struct xs_permissions, n_perms);

  if (!check_connected (self, error))
    return FALSE;
  for (guint i = 0; i < n_perms; i++)
    {
      xs_perms[i].id = perms[i].domid;
      xs_perms[i].perms = (perms[i].perm & XD_STORE_PERM_READ ? XS_PERM_READ : 0)
                          | (perms[i].perm & XD_STORE_PERM_WRITE ? XS_PERM_WRITE : 0);
    }
  if (xs_set_permissions (self->io_xsh, txn, path, xs_perms, n_perms))
    return TRUE;
  set_error_from_errno (self, error, errno, "setting permissions of", path);
  return FALSE;
}

static XdStore *
xs_store_open_worker (XdStore *store, GError **error)
{
  return xd_xs_store_new_plain (error);
}

static char *
watch_key (const char *path, const char *token)
{
  return g_strconcat (path, "\t", token, NULL);
}

static gboolean
xs_store_watch (XdStore *store, const char *path, const char *token, GError **error)
{
  XdXsStore *self = (XdXsStore *) store;
  char *key = watch_key (path, token);

  g_return_val_if_fail (!self->plain, FALSE);
  g_hash_table_add (self->watches, key);
  if (self->watcher)
    {
      if (xd_xs_watcher_watch (self->watcher, path, token, error))
        return TRUE;
      g_hash_table_remove (self->watches, key);
      return FALSE;
    }
  if (!self->xsh)
    return TRUE; /* registered on reconnect */
  if (!xs_watch (self->xsh, path, token))
    {
      int err = errno;
      g_hash_table_remove (self->watches, key);
      g_set_error (error, XD_ERROR,
                   err == E2BIG || err == ENOSPC ? XD_ERROR_REFUSED : XD_ERROR_FAILED,
                   "watching %s: %s", path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

static void
xs_store_unwatch (XdStore *store, const char *path, const char *token)
{
  XdXsStore *self = (XdXsStore *) store;
  g_autofree char *key = watch_key (path, token);

  g_return_if_fail (!self->plain);
  if (!g_hash_table_remove (self->watches, key))
    return;
  if (self->watcher)
    xd_xs_watcher_unwatch (self->watcher, path, token, NULL);
  else if (self->xsh)
    xs_unwatch (self->xsh, path, token);
}

static gboolean
xs_store_is_connected (XdStore *store)
{
  return ((XdXsStore *) store)->connected;
}

static gboolean
fd_ready_cb (int fd, GIOCondition condition, gpointer user_data)
{
  XdXsStore *self = user_data;
  const XdStoreListener *listener = self->parent.listener;
  guint generation = self->generation;
  char **event;
  gboolean any = FALSE;

  /* Drain every pending event, then flush once: a burst of writes costs one
   * re-read per node, not one per event. */
  while (self->xsh && generation == self->generation && (event = xs_check_watch (self->xsh)))
    {
      any = TRUE;
      if (listener && listener->on_event)
        listener->on_event (event[XS_WATCH_PATH], event[XS_WATCH_TOKEN],
                            self->parent.listener_data);
      free (event);
    }
  if (any && generation == self->generation && listener && listener->on_flush)
    listener->on_flush (self->parent.listener_data);
  return G_SOURCE_CONTINUE;
}

static gboolean events_idle_cb (gpointer user_data);

static void
schedule_events (XdXsStore *self)
{
  if (!self->watcher || self->events_source || !xd_xs_watcher_has_events (self->watcher))
    return;
  self->events_source = g_idle_source_new ();
  g_source_set_priority (self->events_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->events_source, events_idle_cb, self, NULL);
  g_source_attach (self->events_source, self->context);
}

/* Events the watcher has queued: each to the listener, then one flush. */
static void
dispatch_events (XdXsStore *self)
{
  const XdStoreListener *listener = self->parent.listener;
  guint generation = self->generation;
  gboolean any = FALSE;
  char *path, *token;

  while (self->watcher && generation == self->generation
         && xd_xs_watcher_next_event (self->watcher, &path, &token))
    {
      any = TRUE;
      if (listener && listener->on_event)
        listener->on_event (path, token, self->parent.listener_data);
      g_free (path);
      g_free (token);
    }
  if (any && generation == self->generation && listener && listener->on_flush)
    listener->on_flush (self->parent.listener_data);
  /* What the flush's reads queued meanwhile waits for the next turn. */
  if (generation == self->generation)
    schedule_events (self);
}

static gboolean
events_idle_cb (gpointer user_data)
{
  XdXsStore *self = user_data;

  g_clear_pointer (&self->events_source, g_source_unref);
  dispatch_events (self);
  return G_SOURCE_REMOVE;
}

/* Waits for the replies to the watches asked for, so that what is read next
 * is covered by them. Events read meanwhile are dispatched from the main
 * loop, never from inside a read. */
static void
settle (XdXsStore *self)
{
  g_autoptr (GError) error = NULL;

  if (!self->watcher || xd_xs_watcher_get_pending (self->watcher) == 0)
    return;
  if (!xd_xs_watcher_settle (self->watcher, &error))
    g_debug ("%s", error->message); /* the fd source hears of it too */
  schedule_events (self);
}

static gboolean
watcher_ready_cb (int fd, GIOCondition condition, gpointer user_data)
{
  XdXsStore *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!xd_xs_watcher_receive (self->watcher, &error))
    {
      g_message ("xenstored went away (%s); reconnecting", error->message);
      xs_store_disconnect (self);
      return G_SOURCE_REMOVE;
    }
  dispatch_events (self);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  XdXsStore *self;
  guint generation;
} SentinelNote;

static gboolean
sentinel_lost_cb (gpointer user_data)
{
  SentinelNote *note = user_data;

  if (note->self->connected && note->generation == note->self->generation)
    {
      g_message ("xenstored went away; reconnecting");
      xs_store_disconnect (note->self);
    }
  return G_SOURCE_REMOVE;
}

static gpointer
sentinel_thread_func (gpointer user_data)
{
  XdXsStore *self = user_data;
  guint generation = self->generation;
  struct xs_handle *xsh = self->sentinel_xsh;
  unsigned int n;
  char **event;

  while ((event = xs_read_watch (xsh, &n)))
    {
      free (event);
      if (g_atomic_int_get (&self->sentinel_stop))
        return NULL;
    }
  if (!g_atomic_int_get (&self->sentinel_stop))
    {
      SentinelNote *note = g_new0 (SentinelNote, 1);
      GSource *source = g_idle_source_new ();

      note->self = self;
      note->generation = generation;
      /* Always through the main loop, never here: g_main_context_invoke ()
       * would run the callback in this thread when nobody iterates the
       * context, and the callback joins this thread. */
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, sentinel_lost_cb, note, g_free);
      g_source_attach (source, self->context);
      self->lost_source = source;
    }
  return NULL;
}

static void
sentinel_stop (XdXsStore *self)
{
  if (!self->sentinel_thread)
    return;
  g_atomic_int_set (&self->sentinel_stop, 1);
  /* Registering a watch fires it at once, which wakes the parked thread. If
   * the connection is already gone the thread has returned by itself. */
  xs_watch (self->sentinel_xsh, SENTINEL_PATH "-stop", "stop");
  g_thread_join (self->sentinel_thread);
  self->sentinel_thread = NULL;
  if (self->lost_source)
    {
      g_source_destroy (self->lost_source);
      g_clear_pointer (&self->lost_source, g_source_unref);
    }
  xs_close (self->sentinel_xsh);
  self->sentinel_xsh = NULL;
}

static gboolean
sentinel_start (XdXsStore *self)
{
  self->sentinel_xsh = xs_open (0);
  if (!self->sentinel_xsh)
    return FALSE;
  if (!xs_watch (self->sentinel_xsh, SENTINEL_PATH, "sentinel"))
    {
      xs_close (self->sentinel_xsh);
      self->sentinel_xsh = NULL;
      return FALSE;
    }
  g_atomic_int_set (&self->sentinel_stop, 0);
  self->sentinel_thread = g_thread_new ("xd-xs-sentinel", sentinel_thread_func, self);
  return TRUE;
}

static struct xs_handle *
xs_store_open (GError **error)
{
  /* Not XS_UNWATCH_FILTER: libxenstore 4.17 leaks the body of each queued
   * event it filters out. An event for a watch just removed is harmless: the
   * engine re-reads what it names and finds nothing of interest. */
  struct xs_handle *xsh = xs_open (0);

  if (!xsh)
    {
      int err = errno;
      g_autofree char *target = xd_xs_store_describe_target ();
      /* Refused: say who may, and what fixes it. */
      g_autofree char *why = err == EACCES || err == EPERM ? xd_control_explain_access () : NULL;

      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE,
                   "cannot connect to xenstore (tried %s): %s%s%s", target, g_strerror (err),
                   why ? ". " : "", why ? why : "");
    }
  return xsh;
}

static gboolean
xs_store_connect (XdXsStore *self, GError **error)
{
  g_autoptr (GError) socket_error = NULL;
  GHashTableIter iter;
  gpointer key;
  int fd;

  self->watcher = xd_xs_watcher_connect (&socket_error);
  if (!self->watcher)
    {
      g_debug ("watching through libxenstore: %s", socket_error->message);
      self->xsh = xs_store_open (error);
      if (!self->xsh)
        return FALSE;
    }
  self->io_xsh = xs_store_open (error);
  if (!self->io_xsh)
    {
      g_clear_pointer (&self->watcher, xd_xs_watcher_free);
      g_clear_pointer (&self->xsh, xs_close);
      return FALSE;
    }
  self->generation++;

  g_hash_table_iter_init (&iter, self->watches);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_auto (GStrv) parts = g_strsplit (key, "\t", 2);
      g_autoptr (GError) watch_error = NULL;

      if (self->watcher ? !xd_xs_watcher_watch (self->watcher, parts[0], parts[1], &watch_error)
                        : !xs_watch (self->xsh, parts[0], parts[1]))
        g_warning ("could not watch %s again: %s", parts[0],
                   watch_error ? watch_error->message : g_strerror (errno));
    }

  /* The watcher hears the daemon go as its socket closes; libxenstore's
   * handle needs the sentinel. */
  fd = self->watcher ? xd_xs_watcher_get_fd (self->watcher) : xs_fileno (self->xsh);
  if (fd < 0 || (!self->watcher && !sentinel_start (self)))
    {
      g_clear_pointer (&self->watcher, xd_xs_watcher_free);
      g_clear_pointer (&self->xsh, xs_close);
      g_clear_pointer (&self->io_xsh, xs_close);
      g_set_error (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "xenstore connection failed at start");
      return FALSE;
    }
  self->fd_source = g_unix_fd_source_new (fd, G_IO_IN);
  g_source_set_callback (
    self->fd_source, self->watcher ? G_SOURCE_FUNC (watcher_ready_cb) : G_SOURCE_FUNC (fd_ready_cb),
    self, NULL);
  g_source_set_name (self->fd_source, "xd-xenstore-watch");
  g_source_attach (self->fd_source, self->context);
  self->connected = TRUE;
  self->reconnect_delay = RECONNECT_MIN_MS;
  return TRUE;
}

static gboolean
reconnect_cb (gpointer user_data)
{
  XdXsStore *self = user_data;
  const XdStoreListener *listener = self->parent.listener;
  g_autoptr (GError) error = NULL;

  self->reconnect_id = 0;
  if (!xs_store_connect (self, &error))
    {
      GSource *source;
      self->reconnect_delay = MIN (self->reconnect_delay * 2, RECONNECT_MAX_MS);
      source = g_timeout_source_new (self->reconnect_delay);
      g_source_set_callback (source, reconnect_cb, self, NULL);
      self->reconnect_id = g_source_attach (source, self->context);
      g_source_unref (source);
      return G_SOURCE_REMOVE;
    }
  g_message ("reconnected to xenstore");
  if (listener && listener->on_connection)
    listener->on_connection (TRUE, self->parent.listener_data);
  return G_SOURCE_REMOVE;
}

static void
xs_store_disconnect (XdXsStore *self)
{
  const XdStoreListener *listener = self->parent.listener;
  GSource *source;

  self->connected = FALSE;
  self->generation++;
  if (self->fd_source)
    {
      g_source_destroy (self->fd_source);
      g_clear_pointer (&self->fd_source, g_source_unref);
    }
  if (self->events_source)
    {
      g_source_destroy (self->events_source);
      g_clear_pointer (&self->events_source, g_source_unref);
    }
  sentinel_stop (self);
  g_clear_pointer (&self->watcher, xd_xs_watcher_free);
  g_clear_pointer (&self->xsh, xs_close);
  g_clear_pointer (&self->io_xsh, xs_close);

  if (!self->reconnect_id)
    {
      source = g_timeout_source_new (self->reconnect_delay);
      g_source_set_callback (source, reconnect_cb, self, NULL);
      self->reconnect_id = g_source_attach (source, self->context);
      g_source_unref (source);
    }
  if (listener && listener->on_connection)
    listener->on_connection (FALSE, self->parent.listener_data);
}

static void
xs_store_free (XdStore *store)
{
  XdXsStore *self = (XdXsStore *) store;

  if (self->plain)
    {
      g_clear_pointer (&self->io_xsh, xs_close);
      g_free (self);
      return;
    }
  if (self->reconnect_id)
    {
      GSource *source = g_main_context_find_source_by_id (self->context, self->reconnect_id);
      if (source)
        g_source_destroy (source);
    }
  if (self->fd_source)
    {
      g_source_destroy (self->fd_source);
      g_source_unref (self->fd_source);
    }
  if (self->events_source)
    {
      g_source_destroy (self->events_source);
      g_source_unref (self->events_source);
    }
  sentinel_stop (self);
  g_clear_pointer (&self->watcher, xd_xs_watcher_free);
  g_clear_pointer (&self->xsh, xs_close);
  g_clear_pointer (&self->io_xsh, xs_close);
  g_hash_table_unref (self->watches);
  g_main_context_unref (self->context);
  g_free (self);
}

static XdStore *
xs_store_read_ahead (XdStore *store, const XdReadAheadTree *trees, guint n_trees, GError **error)
{
  guint n_requests = 0;
  XdSnapshot *snapshot;

  /* The watches first: what is read ahead must be covered by them. */
  settle ((XdXsStore *) store);
  snapshot = xd_xs_prefetch (trees, n_trees, &n_requests, error);

  if (!snapshot)
    return NULL;
  g_debug ("read ahead: %u nodes in %u requests", xd_snapshot_size (snapshot), n_requests);
  return xd_snapshot_store_new (snapshot, store);
}

static const XdStoreVTable xs_store_vtable = {
  .read = xs_store_read,
  .directory = xs_store_directory,
  .watch = xs_store_watch,
  .unwatch = xs_store_unwatch,
  .is_connected = xs_store_is_connected,
  .free = xs_store_free,
  .transaction_start = xs_store_transaction_start,
  .transaction_end = xs_store_transaction_end,
  .read_txn = xs_store_read_txn,
  .directory_txn = xs_store_directory_txn,
  .write = xs_store_write,
  .rm = xs_store_rm,
  .set_permissions = xs_store_set_permissions,
  .open_worker = xs_store_open_worker,
  .read_ahead = xs_store_read_ahead,
};

XdStore *
xd_xs_store_new (GError **error)
{
  XdXsStore *self = g_new0 (XdXsStore, 1);

  self->parent.vtable = &xs_store_vtable;
  self->context = g_main_context_ref_thread_default ();
  self->watches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->reconnect_delay = RECONNECT_MIN_MS;
  if (!xs_store_connect (self, error))
    {
      g_hash_table_unref (self->watches);
      g_main_context_unref (self->context);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}

XdStore *
xd_xs_store_new_plain (GError **error)
{
  XdXsStore *self = g_new0 (XdXsStore, 1);

  self->parent.vtable = &xs_store_vtable;
  self->plain = TRUE;
  self->io_xsh = xs_store_open (error);
  if (!self->io_xsh)
    {
      g_free (self);
      return NULL;
    }
  self->connected = TRUE;
  return &self->parent;
}
