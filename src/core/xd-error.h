/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define XD_ERROR (xd_error_quark ())

/* Errors the core reports. Front ends map them to exit codes and messages:
 * INVALID and NOT_FOUND are the caller's mistake (exit 2 in xen-device), the
 * rest are refusals or failures of the system (exit 1). */
typedef enum
{
  XD_ERROR_FAILED,      /* anything not covered below */
  XD_ERROR_INVALID,     /* malformed input: an id, an option, a value */
  XD_ERROR_NOT_FOUND,   /* no such VM or device */
  XD_ERROR_UNAVAILABLE, /* xenstore (or the toolstack) cannot be reached */
  XD_ERROR_REFUSED,     /* a rule of the engine forbids the operation */
  XD_ERROR_TIMEOUT,     /* an operation did not finish in time */
  XD_ERROR_CORRUPT,     /* persistent state that cannot be parsed */
  XD_ERROR_CONFLICT,    /* a xenstore transaction lost a race: try again */
} XdError;

GQuark xd_error_quark (void);

G_END_DECLS
