/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The device classes, in the order the tray shows its sections (pci last:
 * the tray does not show it). */
typedef enum
{
  XD_CLASS_BLOCK,
  XD_CLASS_MIC,
  XD_CLASS_USB,
  XD_CLASS_PCI,
  XD_N_CLASSES
} XdClassId;

/* "block", "mic", "usb", "pci". */
const char *xd_class_id_to_string (XdClassId klass);
/* Returns FALSE for an unknown name. */
gboolean xd_class_id_from_string (const char *name, XdClassId *out);

G_END_DECLS
