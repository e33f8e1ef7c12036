/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-store.h"

void
xd_store_free (XdStore *store)
{
  if (store)
    store->vtable->free (store);
}
