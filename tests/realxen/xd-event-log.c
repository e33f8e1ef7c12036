/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xd-event-log: the engine's signals, one line each, as the widget receives
 * them. The realxen suite runs it in a real dom0 beside xen-device and
 * compares its output with the operations it made.
 *
 * Lines: "vm-added NAME", "vm-removed NAME", "device-added KEY",
 * "device-changed KEY holders=VM[:ro],VM...", "device-removed KEY",
 * "connected", "disconnected". A device-changed line that repeats the one
 * before it for the same device (a holder's XenBus state moved) is left out,
 * so that the log reads as what a person would see change.
 */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>

#include "core/xd-engine.h"
#include "xen/xd-xs-store.h"

static GHashTable *last_line; /* device key -> last device line */

static void
emit (const char *line)
{
  printf ("%s\n", line);
  fflush (stdout);
}

static void
vm_added_cb (XdEngine *engine, XdVm *vm, gpointer user_data)
{
  g_autofree char *line = g_strdup_printf ("vm-added %s", vm->name);

  emit (line);
}

static void
vm_removed_cb (XdEngine *engine, XdVm *vm, gpointer user_data)
{
  g_autofree char *line = g_strdup_printf ("vm-removed %s", vm->name);

  emit (line);
}

static void
log_device (XdEngine *engine, const char *what, XdDevice *device)
{
  g_autofree char *key = xd_device_key (device->klass, device->backend, device->port);
  g_autoptr (GString) line = g_string_new (NULL);

  g_string_printf (line, "%s %s holders=", what, key);
  for (guint i = 0; i < device->attachments->len; i++)
    {
      const XdAttachment *a = device->attachments->pdata[i];
      char buf[32];

      g_string_append_printf (line, "%s%s%s", i ? "," : "",
                              xd_engine_vm_name (engine, a->frontend, buf),
                              a->read_only ? ":ro" : "");
    }
  if (g_strcmp0 (g_hash_table_lookup (last_line, key), line->str) == 0)
    return;
  g_hash_table_replace (last_line, g_strdup (key), g_strdup (line->str));
  emit (line->str);
}

static void
device_added_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  log_device (engine, "device-added", device);
}

static void
device_changed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  log_device (engine, "device-changed", device);
}

static void
device_removed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  log_device (engine, "device-removed", device);
}

static void
connection_changed_cb (XdEngine *engine, gboolean connected, gpointer user_data)
{
  emit (connected ? "connected" : "disconnected");
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdStore) store = NULL;
  g_autoptr (XdEngine) engine = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  last_line = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  store = xd_xs_store_new (&error);
  if (!store)
    {
      g_printerr ("xd-event-log: %s\n", error->message);
      return 1;
    }
  engine = xd_engine_new (g_steal_pointer (&store));
  g_signal_connect (engine, "vm-added", G_CALLBACK (vm_added_cb), NULL);
  g_signal_connect (engine, "vm-removed", G_CALLBACK (vm_removed_cb), NULL);
  g_signal_connect (engine, "device-added", G_CALLBACK (device_added_cb), NULL);
  g_signal_connect (engine, "device-changed", G_CALLBACK (device_changed_cb), NULL);
  g_signal_connect (engine, "device-removed", G_CALLBACK (device_removed_cb), NULL);
  g_signal_connect (engine, "connection-changed", G_CALLBACK (connection_changed_cb), NULL);
  if (!xd_engine_load (engine, TRUE, &error))
    {
      g_printerr ("xd-event-log: %s\n", error->message);
      return 1;
    }
  emit ("ready");
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);
  g_hash_table_destroy (last_line);
  return 0;
}
