/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-store-snapshot.h"

#include <string.h>

#include "xd-error.h"

typedef struct
{
  gboolean absent;
  gboolean has_value;
  char *value;
  gsize len;
  char **children; /* NULL when unknown */
} Node;

struct _XdSnapshot
{
  GHashTable *nodes; /* path -> Node */
};

static void
node_free (gpointer data)
{
  Node *node = data;

  g_free (node->value);
  g_strfreev (node->children);
  g_free (node);
}

XdSnapshot *
xd_snapshot_new (void)
{
  XdSnapshot *snapshot = g_new0 (XdSnapshot, 1);

  snapshot->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, node_free);
  return snapshot;
}

void
xd_snapshot_free (XdSnapshot *snapshot)
{
  if (!snapshot)
    return;
  g_hash_table_unref (snapshot->nodes);
  g_free (snapshot);
}

void
xd_snapshot_add (XdSnapshot *snapshot, const char *path, const char *value, gsize len,
                 const char *const *children)
{
  Node *node = g_hash_table_lookup (snapshot->nodes, path);

  if (!node)
    {
      node = g_new0 (Node, 1);
      g_hash_table_insert (snapshot->nodes, g_strdup (path), node);
    }
  node->absent = FALSE;
  if (value)
    {
      g_free (node->value);
      /* @value need not be terminated: a reply's payload ends where the
       * next reply (or the buffer) begins. */
      node->value = g_malloc (len + 1);
      memcpy (node->value, value, len);
      node->value[len] = '\0';
      node->len = len;
      node->has_value = TRUE;
    }
  if (children)
    {
      g_strfreev (node->children);
      node->children = g_strdupv ((char **) children);
    }
}

void
xd_snapshot_add_absent (XdSnapshot *snapshot, const char *path)
{
  Node *node = g_new0 (Node, 1);

  node->absent = TRUE;
  g_hash_table_replace (snapshot->nodes, g_strdup (path), node);
}

guint
xd_snapshot_size (XdSnapshot *snapshot)
{
  return g_hash_table_size (snapshot->nodes);
}

typedef enum
{
  LOOKUP_FOUND,
  LOOKUP_ABSENT,
  LOOKUP_UNKNOWN,
} Lookup;

/* What the copy knows of @path: the node, that it does not exist, or
 * nothing (outside the roots, or under a subtree that failed to load). */
static Lookup
lookup (XdSnapshot *snapshot, const char *path, Node **node_out)
{
  g_autofree char *ancestor = NULL;
  const char *child;
  Node *node = g_hash_table_lookup (snapshot->nodes, path);
  char *slash;

  if (node)
    {
      *node_out = node;
      return node->absent ? LOOKUP_ABSENT : LOOKUP_FOUND;
    }
  /* The nearest ancestor the copy has. */
  ancestor = g_strdup (path);
  while ((slash = strrchr (ancestor, '/')) && slash != ancestor)
    {
      *slash = '\0';
      child = path + (slash - ancestor) + 1;
      node = g_hash_table_lookup (snapshot->nodes, ancestor);
      if (!node)
        continue;
      if (node->absent)
        return LOOKUP_ABSENT;
      if (!node->children)
        return LOOKUP_UNKNOWN;
      /* Every child of a listed node is in the copy: one that is not among
       * them does not exist, nor anything under it. */
      {
        g_autofree char *first = g_strdup (child);
        char *end = strchr (first, '/');
        if (end)
          *end = '\0';
        return g_strv_contains ((const char *const *) node->children, first) ? LOOKUP_UNKNOWN
                                                                             : LOOKUP_ABSENT;
      }
    }
  return LOOKUP_UNKNOWN;
}

/* ---- the store ---- */

typedef struct
{
  XdStore parent;
  XdSnapshot *snapshot;
  XdStore *live;
  guint answered;
  guint passed;
} SnapshotStore;

static void
set_not_found (GError **error, const char *path)
{
  g_set_error (error, XD_ERROR, XD_ERROR_NOT_FOUND, "%s does not exist", path);
}

/* Whether the copy answers for @path (its value, or its children when
 * @listing): then *node_out is its node, or NULL with @error set when it
 * does not exist. FALSE: ask the live store. */
static gboolean
from_copy (SnapshotStore *self, const char *path, gboolean listing, Node **node_out, GError **error)
{
  Node *node = NULL;

  switch (lookup (self->snapshot, path, &node))
    {
    case LOOKUP_ABSENT:
      self->answered++;
      set_not_found (error, path);
      *node_out = NULL;
      return TRUE;
    case LOOKUP_FOUND:
      if (listing ? node->children != NULL : node->has_value)
        {
          self->answered++;
          *node_out = node;
          return TRUE;
        }
      break;
    case LOOKUP_UNKNOWN:
    default:
      break;
    }
  self->passed++;
  return FALSE;
}

static char *
snapshot_read (XdStore *store, const char *path, gsize *len, GError **error)
{
  SnapshotStore *self = (SnapshotStore *) store;
  Node *node;

  if (!from_copy (self, path, FALSE, &node, error))
    return xd_store_read (self->live, path, len, error);
  if (!node)
    return NULL;
  if (len)
    *len = node->len;
  return g_memdup2 (node->value, node->len + 1);
}

static char **
snapshot_directory (XdStore *store, const char *path, GError **error)
{
  SnapshotStore *self = (SnapshotStore *) store;
  Node *node;

  if (!from_copy (self, path, TRUE, &node, error))
    return xd_store_directory (self->live, path, error);
  return node ? g_strdupv (node->children) : NULL;
}

/* Everything else is the live store's. */

static gboolean
snapshot_watch (XdStore *store, const char *path, const char *token, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->watch (live, path, token, error);
}

static void
snapshot_unwatch (XdStore *store, const char *path, const char *token)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  live->vtable->unwatch (live, path, token);
}

static gboolean
snapshot_is_connected (XdStore *store)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->is_connected (live);
}

static void
snapshot_free (XdStore *store)
{
  SnapshotStore *self = (SnapshotStore *) store;

  xd_snapshot_free (self->snapshot);
  g_free (self);
}

static gboolean
snapshot_transaction_start (XdStore *store, XdStoreTxn *txn, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->transaction_start (live, txn, error);
}

static gboolean
snapshot_transaction_end (XdStore *store, XdStoreTxn txn, gboolean abort, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->transaction_end (live, txn, abort, error);
}

static char *
snapshot_read_txn (XdStore *store, XdStoreTxn txn, const char *path, gsize *len, GError **error)
{
  if (txn == XD_STORE_NO_TXN)
    return snapshot_read (store, path, len, error);
  return ((SnapshotStore *) store)
    ->live->vtable->read_txn (((SnapshotStore *) store)->live, txn, path, len, error);
}

static char **
snapshot_directory_txn (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  if (txn == XD_STORE_NO_TXN)
    return snapshot_directory (store, path, error);
  return ((SnapshotStore *) store)
    ->live->vtable->directory_txn (((SnapshotStore *) store)->live, txn, path, error);
}

static gboolean
snapshot_write (XdStore *store, XdStoreTxn txn, const char *path, const char *value, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->write (live, txn, path, value, error);
}

static gboolean
snapshot_rm (XdStore *store, XdStoreTxn txn, const char *path, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->rm (live, txn, path, error);
}

static gboolean
snapshot_set_permissions (XdStore *store, XdStoreTxn txn, const char *path,
                          const XdStorePermission *perms, guint n_perms, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->set_permissions (live, txn, path, perms, n_perms, error);
}

static XdStore *
snapshot_open_worker (XdStore *store, GError **error)
{
  XdStore *live = ((SnapshotStore *) store)->live;
  return live->vtable->open_worker (live, error);
}

static const XdStoreVTable snapshot_vtable = {
  .read = snapshot_read,
  .directory = snapshot_directory,
  .watch = snapshot_watch,
  .unwatch = snapshot_unwatch,
  .is_connected = snapshot_is_connected,
  .free = snapshot_free,
  .transaction_start = snapshot_transaction_start,
  .transaction_end = snapshot_transaction_end,
  .read_txn = snapshot_read_txn,
  .directory_txn = snapshot_directory_txn,
  .write = snapshot_write,
  .rm = snapshot_rm,
  .set_permissions = snapshot_set_permissions,
  .open_worker = snapshot_open_worker,
};

XdStore *
xd_snapshot_store_new (XdSnapshot *snapshot, XdStore *live)
{
  SnapshotStore *self = g_new0 (SnapshotStore, 1);

  self->parent.vtable = &snapshot_vtable;
  self->snapshot = snapshot;
  self->live = live;
  return &self->parent;
}

void
xd_snapshot_store_get_counts (XdStore *store, guint *answered, guint *passed)
{
  SnapshotStore *self = (SnapshotStore *) store;

  g_return_if_fail (store->vtable == &snapshot_vtable);
  *answered = self->answered;
  *passed = self->passed;
}
