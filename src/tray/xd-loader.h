/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/xd-engine.h"
#include "xd-tray-menu.h"

G_BEGIN_DECLS

/*
 * The engine, loaded on a thread of its own while GTK starts: the xenstore
 * connection, dom0's libudev source, the toolstack, the watches and the
 * first read of the host; then the menu as the panel draws it (dbusmenu
 * entries: no GTK, which is starting on the main thread). Nothing else
 * touches either, and the main context is not run, until
 * xd_loader_finish () has joined the thread: the sources the store, the udev
 * source and the menu attach to the default context are dispatched only
 * after it.
 */
typedef struct _XdLoader XdLoader;

XdLoader *xd_loader_start (void);

/* When xd_loader_start () was called (monotonic µs). */
gint64 xd_loader_get_start_time (XdLoader *loader);

/* How the load went, in µs: when the load and the menu were done
 * (monotonic), how long xd_loader_finish () waited for them, and the CPU
 * time of the thread. */
typedef struct
{
  gint64 loaded_at;
  gint64 built_at;
  gint64 waited_us;
  gint64 cpu_us;
} XdLoaderTimes;

/* Waits for the thread and frees @loader. Returns the loaded engine (with
 * its toolstack) and its menu in @menu, or NULL and @error. */
XdEngine *xd_loader_finish (XdLoader *loader, XdTrayMenu **menu, XdLoaderTimes *times,
                            GError **error);

G_END_DECLS
