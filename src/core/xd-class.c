/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-class.h"

#include <string.h>

static const char *const class_names[XD_N_CLASSES] = { "block", "mic", "usb", "pci" };

const char *
xd_class_id_to_string (XdClassId klass)
{
  g_return_val_if_fail (klass < XD_N_CLASSES, NULL);
  return class_names[klass];
}

gboolean
xd_class_id_from_string (const char *name, XdClassId *out)
{
  for (guint i = 0; i < XD_N_CLASSES; i++)
    if (name && strcmp (name, class_names[i]) == 0)
      {
        *out = (XdClassId) i;
        return TRUE;
      }
  return FALSE;
}
