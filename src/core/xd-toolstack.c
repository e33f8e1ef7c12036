/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-toolstack.h"

#include <string.h>

/* As libxl__device_disk_dev_number () numbers "xvd" disks: letters are a
 * bijective base-26 disk index; the first 16 disks use the major 202
 * encoding, later ones the extended one. Partitions are never attached by
 * name here, so the partition field is 0. */
int
xd_vbd_devid_from_name (const char *name)
{
  gsize len = name ? strlen (name) : 0;
  int disk = 0;

  if (len < 4 || len > 5 || strncmp (name, "xvd", 3) != 0)
    return -1;
  for (gsize i = 3; i < len; i++)
    {
      if (name[i] < 'a' || name[i] > 'z')
        return -1;
      disk = disk * 26 + (name[i] - 'a' + 1);
    }
  disk -= 1;
  if (disk < 16)
    return (202 << 8) | (disk << 4);
  return (1 << 28) | (disk << 8);
}
