/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "xd-engine.h"

G_BEGIN_DECLS

/* Shared between xd-engine.c (the model) and xd-engine-ops.c (operations). */
XdStore *xd_engine_get_store (XdEngine *self);

/* An XdNodeReader over a store: reads @relative below @base, inside @txn
 * (XD_STORE_NO_TXN outside one); NULL when the node is absent. */
typedef struct
{
  XdStore *store;
  XdStoreTxn txn;
  const char *base;
} XdTxnReader;

char *xd_txn_read_relative (const char *relative, gpointer data);

/* Reads one backend entry /local/domain/<B>/backend/<kind>/<F>/<devid> and
 * appends what it holds to @out; FALSE with a reason when it is malformed.
 * An entry without libxl's record pointing back at it holds nothing. */
gboolean xd_read_backend_entry (XdStore *store, XdStoreTxn txn, guint backend, const char *kind,
                                guint frontend, guint devid, GPtrArray *out, GString *why);

G_END_DECLS
