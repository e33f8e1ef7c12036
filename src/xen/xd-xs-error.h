/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets @error from a failed libxenstore call's errno, mapped to XdError
 * (ENOENT: NOT_FOUND, EACCES/EPERM: REFUSED, EINVAL: INVALID, a dead
 * connection: UNAVAILABLE, else FAILED), as "xenstore OP PATH failed: ...".
 * Always returns FALSE. */
/* The XdError code for a libxenstore errno. */
int xd_xs_error_code (int errsv);

gboolean xd_xs_set_error (GError **error, int errsv, const char *op, const char *path);

G_END_DECLS
