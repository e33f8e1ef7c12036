/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-xs-error.h"

#include <errno.h>

#include "core/xd-error.h"

int
xd_xs_error_code (int errsv)
{
  switch (errsv)
    {
    case ENOENT:
      return XD_ERROR_NOT_FOUND;
    case EACCES:
    case EPERM:
      return XD_ERROR_REFUSED;
    case EINVAL:
      return XD_ERROR_INVALID;
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
    case EPIPE:
    case EBADF:
      return XD_ERROR_UNAVAILABLE;
    default:
      return XD_ERROR_FAILED;
    }
}

gboolean
xd_xs_set_error (GError **error, int errsv, const char *op, const char *path)
{
  g_set_error (error, XD_ERROR, (XdError) xd_xs_error_code (errsv), "xenstore %s %s failed: %s", op,
               path, g_strerror (errsv));
  return FALSE;
}
