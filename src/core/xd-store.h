/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xd-error.h"

G_BEGIN_DECLS

/*
 * The narrow seam between the engine and xenstore. The engine only reads,
 * lists and watches; src/xen/xd-xs-store.c implements this over libxenstore
 * with the connection's fd in the GLib main loop.
 *
 * Events are delivered from the main loop: on_event once per watch event,
 * then on_flush once after each batch, so that the engine can coalesce a
 * burst of events into one re-read per node. on_connection reports that the
 * daemon went away (FALSE) or that a new connection is up with every watch
 * registered again (TRUE): the engine must then resynchronise.
 */
typedef struct _XdStore XdStore;

typedef struct
{
  void (*on_event) (const char *path, const char *token, gpointer user_data);
  void (*on_flush) (gpointer user_data);
  void (*on_connection) (gboolean connected, gpointer user_data);
} XdStoreListener;

/* A xenstore transaction id; XD_STORE_NO_TXN outside one. */
typedef guint32 XdStoreTxn;
#define XD_STORE_NO_TXN 0

/* Permissions of a node as xenstore keeps them: the first entry names the
 * owner (who may always read and write), its access applies to everybody
 * not listed; later entries grant access to one domain each. */
typedef enum
{
  XD_STORE_PERM_NONE = 0,
  XD_STORE_PERM_READ = 1,
  XD_STORE_PERM_WRITE = 2,
} XdStorePerm;

typedef struct
{
  guint domid;
  XdStorePerm perm;
} XdStorePermission;

/* One tree to read ahead: the nodes @depth levels under @root are read,
 * those above listed (0: @root itself is read). Where @only[i] is not NULL,
 * of the children found at level i (0: @root's own) only those it names are
 * listed further or read; the copy still knows that the others exist, and
 * leaves them to the live store. */
#define XD_READ_AHEAD_MAX_DEPTH 4
typedef struct
{
  const char *root;
  guint depth;
  const char *const *only[XD_READ_AHEAD_MAX_DEPTH];
} XdReadAheadTree;

typedef struct
{
  /* Returns a NUL-terminated copy (the value may also hold NULs: *len is
   * its length) or NULL with XD_ERROR_NOT_FOUND, or XD_ERROR_UNAVAILABLE if
   * the connection is gone. */
  char *(*read) (XdStore *store, const char *path, gsize *len, GError **error);
  /* Returns a NULL-terminated array of child names (g_strfreev), same errors. */
  char **(*directory) (XdStore *store, const char *path, GError **error);
  gboolean (*watch) (XdStore *store, const char *path, const char *token, GError **error);
  void (*unwatch) (XdStore *store, const char *path, const char *token);
  gboolean (*is_connected) (XdStore *store);
  void (*free) (XdStore *store);

  /* Writing, and reading inside a transaction. A transaction that lost a
   * race ends with XD_ERROR_CONFLICT: start over. */
  gboolean (*transaction_start) (XdStore *store, XdStoreTxn *txn, GError **error);
  gboolean (*transaction_end) (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error);
  char *(*read_txn) (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error);
  char **(*directory_txn) (XdStore *store, XdStoreTxn txn, const char *path, GError **error);
  gboolean (*write) (XdStore *store, XdStoreTxn txn, const char *path, const char *value,
                     GError **error);
  gboolean (*rm) (XdStore *store, XdStoreTxn txn, const char *path, GError **error);
  gboolean (*set_permissions) (XdStore *store, XdStoreTxn txn, const char *path,
                               const XdStorePermission *perms, guint n_perms, GError **error);

  /* A new, independent connection to the same daemon, without watches,
   * for one worker thread (operations run off the main loop). */
  XdStore *(*open_worker) (XdStore *store, GError **error);

  /* Optional: @n_trees trees, read ahead in bulk, as a read-only store that
   * falls back to @store (xd-store-snapshot.h). NULL with an error where the
   * store cannot (the caller reads the usual way). */
  XdStore *(*read_ahead) (XdStore *store, const XdReadAheadTree *trees, guint n_trees,
                          GError **error);
} XdStoreVTable;

struct _XdStore
{
  const XdStoreVTable *vtable;
  const XdStoreListener *listener;
  gpointer listener_data;
};

static inline char *
xd_store_read (XdStore *store, const char *path, gsize *len, GError **error)
{
  return store->vtable->read (store, path, len, error);
}

static inline char **
xd_store_directory (XdStore *store, const char *path, GError **error)
{
  return store->vtable->directory (store, path, error);
}

static inline XdStore *
xd_store_read_ahead (XdStore *store, const XdReadAheadTree *trees, guint n_trees, GError **error)
{
  if (!store->vtable->read_ahead)
    {
      g_set_error_literal (error, XD_ERROR, XD_ERROR_UNAVAILABLE, "this store cannot read ahead");
      return NULL;
    }
  return store->vtable->read_ahead (store, trees, n_trees, error);
}

static inline gboolean
xd_store_watch (XdStore *store, const char *path, const char *token, GError **error)
{
  return store->vtable->watch (store, path, token, error);
}

static inline void
xd_store_unwatch (XdStore *store, const char *path, const char *token)
{
  store->vtable->unwatch (store, path, token);
}

static inline gboolean
xd_store_is_connected (XdStore *store)
{
  return store->vtable->is_connected (store);
}

static inline gboolean
xd_store_transaction_start (XdStore *store, XdStoreTxn *txn, GError **error)
{
  return store->vtable->transaction_start (store, txn, error);
}

static inline gboolean
xd_store_transaction_end (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error)
{
  return store->vtable->transaction_end (store, txn, abort, error);
}

static inline char *
xd_store_read_txn (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error)
{
  return store->vtable->read_txn (store, txn, path, len, error);
}

static inline char **
xd_store_directory_txn (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  return store->vtable->directory_txn (store, txn, path, error);
}

static inline gboolean
xd_store_write (XdStore *store, XdStoreTxn txn, const char *path, const char *value, GError **error)
{
  return store->vtable->write (store, txn, path, value, error);
}

static inline gboolean
xd_store_rm (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  return store->vtable->rm (store, txn, path, error);
}

static inline gboolean
xd_store_set_permissions (XdStore *store, XdStoreTxn txn, const char *path,
                          const XdStorePermission *perms, guint n_perms, GError **error)
{
  return store->vtable->set_permissions (store, txn, path, perms, n_perms, error);
}

static inline XdStore *
xd_store_open_worker (XdStore *store, GError **error)
{
  return store->vtable->open_worker (store, error);
}

static inline void
xd_store_set_listener (XdStore *store, const XdStoreListener *listener, gpointer data)
{
  store->listener = listener;
  store->listener_data = data;
}

void xd_store_free (XdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdStore, xd_store_free)

G_END_DECLS
