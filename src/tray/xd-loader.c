/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-loader.h"

#include <time.h>

#include "udev/xd-udev-source.h"
#include "xd-tray-menu.h"
#include "xen/xd-toolstack-select.h"
#include "xen/xd-xs-store.h"

struct _XdLoader
{
  GThread *thread;
  gint64 started_at;
  /* Written by the thread, read after the join. */
  XdEngine *engine;
  XdTrayMenu *menu;
  GError *error;
  gint64 loaded_at;
  gint64 built_at;
  gint64 cpu_us;
};

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return -1;
  return ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
load (XdLoader *self)
{
  gint64 t[5];
  g_autoptr (XdStore) store = NULL;
  XdToolstack *toolstack;

  t[0] = g_get_monotonic_time ();
  store = xd_xs_store_new (&self->error);
  if (!store)
    return FALSE;
  self->engine = xd_engine_new (g_steal_pointer (&store));
  t[1] = g_get_monotonic_time ();
  /* dom0's own devices, published before the first read, so that they are
   * present at start-up, not news. */
  xd_dom0_source_attach (self->engine);
  t[2] = g_get_monotonic_time ();
  toolstack = xd_toolstack_open (&self->error);
  if (!toolstack)
    return FALSE;
  xd_engine_set_toolstack (self->engine, toolstack);
  t[3] = g_get_monotonic_time ();
  if (!xd_engine_load (self->engine, TRUE, &self->error))
    return FALSE;
  t[4] = g_get_monotonic_time ();
  g_debug ("loaded in %.1f ms: xenstore connected in %.1f ms, dom0's devices published in %.1f "
           "ms, toolstack opened in %.1f ms, host read in %.1f ms",
           (t[4] - t[0]) / 1000.0, (t[1] - t[0]) / 1000.0, (t[2] - t[1]) / 1000.0,
           (t[3] - t[2]) / 1000.0, (t[4] - t[3]) / 1000.0);
  return TRUE;
}

static gpointer
load_thread (gpointer data)
{
  XdLoader *self = data;

  if (!load (self))
    {
      g_clear_object (&self->engine);
      self->loaded_at = self->built_at = g_get_monotonic_time ();
      self->cpu_us = thread_cpu_us ();
      return NULL;
    }
  self->loaded_at = g_get_monotonic_time ();
  /* The menu's entries too: as the panel draws it (dbusmenu items, no GTK),
   * filled now so that the first title and menu a panel reads are the real
   * ones, not an empty menu and "0 devices" until the menu's first idle
   * update. */
  self->menu = xd_tray_menu_new_with_kit (self->engine, XD_TRAY_KIT_DBUSMENU);
  xd_tray_menu_flush (self->menu);
  self->built_at = g_get_monotonic_time ();
  self->cpu_us = thread_cpu_us ();
  return NULL;
}

XdLoader *
xd_loader_start (void)
{
  XdLoader *self = g_new0 (XdLoader, 1);

  self->started_at = g_get_monotonic_time ();
  self->thread = g_thread_new ("xd-load", load_thread, self);
  return self;
}

gint64
xd_loader_get_start_time (XdLoader *loader)
{
  return loader->started_at;
}

XdEngine *
xd_loader_finish (XdLoader *loader, XdTrayMenu **menu, XdLoaderTimes *times, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  XdEngine *engine;

  g_return_val_if_fail (loader != NULL, NULL);

  g_thread_join (loader->thread);
  if (times)
    {
      times->waited_us = g_get_monotonic_time () - t0;
      times->loaded_at = loader->loaded_at;
      times->built_at = loader->built_at;
      times->cpu_us = loader->cpu_us;
    }
  *menu = loader->menu;
  engine = loader->engine;
  if (!engine)
    g_propagate_error (error, loader->error);
  else
    g_clear_error (&loader->error);
  g_free (loader);
  return engine;
}
