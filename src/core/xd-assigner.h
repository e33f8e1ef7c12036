/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "xd-engine.h"

G_BEGIN_DECLS

#define XD_TYPE_ASSIGNER (xd_assigner_get_type ())
G_DECLARE_FINAL_TYPE (XdAssigner, xd_assigner, XD, ASSIGNER, GObject)

/*
 * Applies persistent assignments: whenever a VM starts, the devices
 * assigned to it are attached. Used by the widget and by `xen-device
 * daemon`; when both run, the engine's claims let exactly one of them
 * attach each device and the other finds it done.
 *
 * Signals:
 *   applied (const char *vm, const char *device)
 *   failed (const char *vm, const char *device, const char *message):
 *     the device is missing or the attach failed. If the assignment is
 *     marked required, the VM has been stopped.
 */
XdAssigner *xd_assigner_new (XdEngine *engine, const char *state_dir);
/* Applies the assignments of every VM running now (at start-up). */
void xd_assigner_apply_running (XdAssigner *self);

G_END_DECLS
