/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-device CLASS attach VM BACKEND:PORT [--persistent] [--option k=v]... [--ro]
 * xen-device CLASS detach VM [BACKEND:PORT] [--persistent]
 */
#include "config.h"

#include "xd-cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-assignments.h"
#include "core/xd-error.h"
#include "core/xd-validate.h"

static const char help_attach[]
  = "usage: xen-device %s attach [--help] [--persistent] [--required] [--option KEY=VALUE]...\n"
    "                            [--ro] VM BACKEND:PORT\n"
    "\n"
    "Attaches the device BACKEND:PORT to the running VM.\n"
    "\n"
    "  -p, --persistent         also attach it whenever VM starts (VM need not run now)\n"
    "      --required           with --persistent: VM must not run without the device\n"
    "  -o, --option KEY=VALUE   a device option (block: frontend-dev=xvdN,\n"
    "                           read-only=yes|no, devtype=disk|cdrom)\n"
    "      --ro                 the same as --option read-only=yes\n";

static const char help_detach[]
  = "usage: xen-device %s detach [--help] [--persistent] VM [BACKEND:PORT]\n"
    "\n"
    "Detaches the device from VM; without a device, every device of the class\n"
    "that VM holds. With --persistent, also removes the persistent assignment.\n";

typedef struct
{
  GMainLoop *loop;
  gboolean ok;
  guint n_detached;
  GError *error;
} Wait;

static void
attach_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;
  wait->ok = xd_engine_attach_finish (XD_ENGINE (source), result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static void
detach_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;
  wait->ok = xd_engine_detach_finish (XD_ENGINE (source), result, &wait->n_detached, &wait->error);
  g_main_loop_quit (wait->loop);
}

/* Takes "--option=k=v", "-ok=v", "--option k=v", "-o k=v". Returns the
 * value, advancing *i past a separate argument, or NULL if @argv[*i] is not
 * that option. *missing is set when the value is absent. */
static const char *
take_option (int argc, char **argv, int *i, gboolean *missing)
{
  const char *arg = argv[*i];

  *missing = FALSE;
  if (g_str_has_prefix (arg, "--option="))
    return arg + strlen ("--option=");
  if (g_str_has_prefix (arg, "-o") && arg[2] != '\0')
    return arg + 2;
  if (strcmp (arg, "--option") == 0 || strcmp (arg, "-o") == 0)
    {
      if (*i + 1 >= argc)
        {
          *missing = TRUE;
          return NULL;
        }
      return argv[++*i];
    }
  return NULL;
}

/* Detaches what an attach just did; FALSE when that failed too. */
static gboolean
undo_attach (XdEngine *engine, XdClassId klass, const char *backend, const char *port,
             const char *vm)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait wait = { .loop = loop };

  xd_engine_detach_async (engine, klass, backend, port, vm, NULL, detach_done_cb, &wait);
  g_main_loop_run (loop);
  g_clear_error (&wait.error);
  return wait.ok;
}

/* The running VM named @vm. Without one, *@status is -1 where that is fine
 * (@absent_ok: a persistent assignment needs no running VM), else the exit
 * status of the error printed: a usage error for a VM that is not running,
 * a failure for a name more than one domain has. */
static XdVm *
find_vm (XdEngine *engine, const char *klass, const char *action, const char *vm,
         gboolean absent_ok, int *status)
{
  g_autoptr (GError) error = NULL;
  XdVm *found = xd_engine_find_vm (engine, vm, &error);

  *status = -1;
  if (found)
    return found;
  if (!g_error_matches (error, XD_ERROR, XD_ERROR_NOT_FOUND))
    *status = xd_cli_failure (error);
  else if (!absent_ok)
    *status = xd_cli_usage_error (klass, action, "%s", error->message);
  return NULL;
}

int
xd_cli_attach (XdClassId klass, int argc, char **argv)
{
  const char *name = xd_class_id_to_string (klass);
  g_autoptr (GPtrArray) raw_options = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) positional = g_ptr_array_new ();
  g_auto (GStrv) options = NULL;
  g_autofree char *backend = NULL;
  g_autofree char *port = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  gboolean persistent = FALSE, required = FALSE;
  const char *vm;
  XdVm *running;
  int refused;
  Wait wait = { 0 };

  for (int i = 0; i < argc; i++)
    {
      const char *value;
      gboolean missing;

      if (xd_cli_is_help (argv[i]))
        {
          printf (help_attach, name);
          return XD_EXIT_OK;
        }
      if (strcmp (argv[i], "--persistent") == 0 || strcmp (argv[i], "-p") == 0)
        persistent = TRUE;
      else if (strcmp (argv[i], "--required") == 0)
        required = TRUE;
      else if (strcmp (argv[i], "--ro") == 0)
        g_ptr_array_add (raw_options, g_strdup ("read-only=yes"));
      else if ((value = take_option (argc, argv, &i, &missing)) || missing)
        {
          if (missing)
            return xd_cli_usage_error (name, "attach", "--option needs KEY=VALUE");
          g_ptr_array_add (raw_options, g_strdup (value));
        }
      else if (argv[i][0] == '-')
        return xd_cli_usage_error (name, "attach", "unknown option “%s”", argv[i]);
      else
        g_ptr_array_add (positional, argv[i]);
    }
  if (positional->len != 2)
    return xd_cli_usage_error (name, "attach", "expected VM and BACKEND:PORT");
  if (required && !persistent)
    return xd_cli_usage_error (name, "attach", "--required goes with --persistent");
  vm = positional->pdata[0];
  if (!xd_validate_vm_name (vm))
    {
      g_autofree char *quoted = xd_quote_for_message (vm);
      return xd_cli_usage_error (name, "attach", "invalid VM name “%s”", quoted);
    }
  if (!xd_parse_device_id (klass, positional->pdata[1], &backend, &port, &error))
    return xd_cli_usage_error (name, "attach", "%s", error->message);
  g_ptr_array_add (raw_options, NULL);
  if (!xd_options_validate (klass, (const char *const *) raw_options->pdata, &options, &error))
    return xd_cli_usage_error (name, "attach", "%s", error->message);
  if (klass == XD_CLASS_PCI && !persistent)
    {
      fprintf (stderr,
               "Error: PCI devices are attached when a VM starts: use --persistent, then "
               "restart %s\n",
               vm);
      return XD_EXIT_FAILED;
    }

  engine = xd_cli_open_engine (klass != XD_CLASS_PCI, &error);
  if (!engine)
    return xd_cli_failure (error);

  running = find_vm (engine, name, "attach", vm, persistent, &refused);
  if (refused >= 0)
    return refused;
  find_vm (engine, name, "attach", backend, persistent, &refused);
  if (refused >= 0)
    return refused;

  /* The exit status must be the truth: nothing is attached that cannot be
   * recorded as asked. */
  if (persistent && !xd_assignments_check_writable (xd_cli_state_dir (), &error))
    {
      /* A member of the group: the assignments are root's. */
      if (geteuid () != 0)
        g_prefix_error (&error, "persistent assignments are root's to set (sudo): ");
      return xd_cli_failure (error);
    }

  if (klass == XD_CLASS_USB && strcmp (backend, "dom0") == 0)
    {
      XdDevice *device = xd_engine_lookup_device (engine, klass, 0, port);
      if (device && xd_device_is_dom0_input (device))
        fprintf (stderr, "Warning: dom0 uses %s:%s as its %s; %s will control the desktop\n",
                 backend, (char *) positional->pdata[1] + strlen (backend) + 1,
                 xd_device_dom0_input_kind (device), vm);
    }
  if (running && klass != XD_CLASS_PCI)
    {
      loop = g_main_loop_new (NULL, FALSE);
      wait.loop = loop;
      xd_engine_attach_async (engine, klass, backend, port, vm, (const char *const *) options, NULL,
                              attach_done_cb, &wait);
      g_main_loop_run (loop);
      if (!wait.ok)
        {
          int status = xd_cli_report (name, "attach", wait.error);
          g_clear_error (&wait.error);
          return status;
        }
    }

  if (persistent)
    {
      XdAssignment assignment = {
        .klass = klass,
        .backend = backend,
        .port = port,
        .vm = (char *) vm,
        .options = options,
        .required = required,
      };
      if (!xd_assignments_add (xd_cli_state_dir (), &assignment, &error))
        {
          /* The state directory changed since it was checked: undo the
           * attach, so that a failure leaves nothing attached. */
          if (running && klass != XD_CLASS_PCI && !undo_attach (engine, klass, backend, port, vm))
            g_prefix_error (&error, "%s:%s stays attached to %s, and: ", backend, port, vm);
          return xd_cli_failure (error);
        }
      if (!running)
        printf ("%s will be attached to %s when it starts\n", (char *) positional->pdata[1], vm);
    }
  return XD_EXIT_OK;
}

int
xd_cli_detach (XdClassId klass, int argc, char **argv)
{
  const char *name = xd_class_id_to_string (klass);
  g_autoptr (GPtrArray) positional = g_ptr_array_new ();
  g_autofree char *backend = NULL;
  g_autofree char *port = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  gboolean persistent = FALSE;
  const char *vm;
  int refused;
  Wait wait = { 0 };

  for (int i = 0; i < argc; i++)
    {
      if (xd_cli_is_help (argv[i]))
        {
          printf (help_detach, name);
          return XD_EXIT_OK;
        }
      if (strcmp (argv[i], "--persistent") == 0 || strcmp (argv[i], "-p") == 0)
        persistent = TRUE;
      else if (argv[i][0] == '-')
        return xd_cli_usage_error (name, "detach", "unknown option “%s”", argv[i]);
      else
        g_ptr_array_add (positional, argv[i]);
    }
  if (positional->len < 1 || positional->len > 2)
    return xd_cli_usage_error (name, "detach", "expected VM and, optionally, BACKEND:PORT");
  vm = positional->pdata[0];
  if (!xd_validate_vm_name (vm))
    {
      g_autofree char *quoted = xd_quote_for_message (vm);
      return xd_cli_usage_error (name, "detach", "invalid VM name “%s”", quoted);
    }
  if (positional->len == 2
      && !xd_parse_device_id (klass, positional->pdata[1], &backend, &port, &error))
    return xd_cli_usage_error (name, "detach", "%s", error->message);

  if (persistent)
    {
      if (!xd_assignments_remove (xd_cli_state_dir (), klass, backend, port, vm, &error))
        return xd_cli_failure (error);
    }

  engine = xd_cli_open_engine (klass != XD_CLASS_PCI, &error);
  if (!engine)
    return xd_cli_failure (error);
  /* Removing the assignment of a VM that is not running is enough. */
  if (!find_vm (engine, name, "detach", vm, persistent, &refused))
    return refused >= 0 ? refused : XD_EXIT_OK;
  if (backend && !find_vm (engine, name, "detach", backend, persistent, &refused))
    return refused >= 0 ? refused : XD_EXIT_OK;

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  xd_engine_detach_async (engine, klass, backend, port, vm, NULL, detach_done_cb, &wait);
  g_main_loop_run (loop);
  if (!wait.ok)
    {
      int status;
      /* The assignment is gone as asked; not being attached is no error. */
      if (persistent && g_error_matches (wait.error, XD_ERROR, XD_ERROR_REFUSED))
        status = XD_EXIT_OK;
      else
        status = xd_cli_report (name, "detach", wait.error);
      g_clear_error (&wait.error);
      return status;
    }
  return XD_EXIT_OK;
}
