/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

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

static inline void
xd_store_set_listener (XdStore *store, const XdStoreListener *listener, gpointer data)
{
  store->listener = listener;
  store->listener_data = data;
}

void xd_store_free (XdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdStore, xd_store_free)

G_END_DECLS
