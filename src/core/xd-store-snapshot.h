/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "xd-store.h"

G_BEGIN_DECLS

/*
 * What a store held under some roots at one moment, read ahead in bulk
 * (xd_store_snapshot ()), and a read-only store over it for a first full
 * scan: it answers read and directory for paths under the roots from the
 * copy, and passes anything it cannot answer (a path elsewhere, a subtree
 * that failed to load, the value of a node that has children) to the live
 * store. It never watches nor writes.
 *
 * The copy says nothing of changes made after it was taken: take it after
 * the watches that report them are in place, as xd_engine_load () does.
 */
typedef struct _XdSnapshot XdSnapshot;

XdSnapshot *xd_snapshot_new (void);
void xd_snapshot_free (XdSnapshot *snapshot);
/* @path exists; its value (of @len bytes) is known when @value is not NULL,
 * its children when @children is not NULL. */
void xd_snapshot_add (XdSnapshot *snapshot, const char *path, const char *value, gsize len,
                      const char *const *children);
/* @path does not exist, nor anything under it. */
void xd_snapshot_add_absent (XdSnapshot *snapshot, const char *path);
guint xd_snapshot_size (XdSnapshot *snapshot);

/* A store over @snapshot (taken) that falls back to @live (not owned, must
 * outlive it). */
XdStore *xd_snapshot_store_new (XdSnapshot *snapshot, XdStore *live);
/* How many reads and listings the copy answered, and how many it passed on. */
void xd_snapshot_store_get_counts (XdStore *store, guint *answered, guint *passed);

G_END_DECLS
