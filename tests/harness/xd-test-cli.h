/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a run of xen-device left: its wait status and its output. */
typedef struct
{
  int status;
  char *out;
  char *err;
} XdTestResult;

void xd_test_result_clear (XdTestResult *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (XdTestResult, xd_test_result_clear)

/* Runs the built xen-device ($XD_XEN_DEVICE) with @args (NULL-terminated),
 * its output in pipes, into @r (cleared first); logs the command and its
 * output as test messages. */
void xd_test_run_xen_device (XdTestResult *r, const char *const *args);

/* The exit status of a run that exited (asserted). */
int xd_test_exit_code (const XdTestResult *r);

G_END_DECLS
