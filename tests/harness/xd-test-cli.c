/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs xen-device as a person does, for the tests that check its output.
 */
#include "config.h"

#include "xd-test-cli.h"

#include <sys/wait.h>

void
xd_test_result_clear (XdTestResult *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

void
xd_test_run_xen_device (XdTestResult *r, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *command = g_strjoinv (" ", (char **) args);
  const char *program = g_getenv ("XD_XEN_DEVICE");

  g_assert_nonnull (program);
  g_ptr_array_add (argv, (char *) program);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  xd_test_result_clear (r);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &r->status, &error));
  g_assert_no_error (error);
  g_test_message ("xen-device %s: wait status %d\n%s%s", command, r->status, r->out, r->err);
}

int
xd_test_exit_code (const XdTestResult *r)
{
  g_assert_true (WIFEXITED (r->status));
  return WEXITSTATUS (r->status);
}
