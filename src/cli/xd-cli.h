/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-class.h"
#include "core/xd-engine.h"
#include "core/xd-validate.h"

G_BEGIN_DECLS

/* Exit statuses of xen-device, as qvm-device's. */
#define XD_EXIT_OK 0
#define XD_EXIT_FAILED 1 /* "Error: ..." */
#define XD_EXIT_USAGE 2  /* "error: ..." after the usage */

/* Prints the usage of "xen-device KLASS ACTION", then "error: ...";
 * returns XD_EXIT_USAGE. */
int xd_cli_usage_error (const char *klass, const char *action, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
/* Prints "Error: <message>"; returns XD_EXIT_FAILED. */
int xd_cli_failure (const GError *error);
/* Maps an operation's error to an exit status and prints it: a caller's
 * mistake (invalid input, unknown VM) is a usage error. */
int xd_cli_report (const char *klass, const char *action, const GError *error);
gboolean xd_cli_is_help (const char *arg);

/* An engine loaded once from xenstore; with @toolstack, also able to attach. */
XdEngine *xd_cli_open_engine (gboolean with_toolstack, GError **error);
/* Where persistent assignments live. */
const char *xd_cli_state_dir (void);

int xd_cli_list (XdClassId klass, int argc, char **argv);
int xd_cli_attach (XdClassId klass, int argc, char **argv);
int xd_cli_detach (XdClassId klass, int argc, char **argv);
int xd_cli_daemon (int argc, char **argv);

G_END_DECLS
