/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "core/xd-class.h"

G_BEGIN_DECLS

struct udev;

/*
 * What a domain offers of its own devices, read from the kernel's device
 * database through libudev: block devices (whole disks and partitions), usb
 * devices and the audio capture device ("mic"). Every string taken from
 * sysfs or the udev database is untrusted (a usb stick names itself) and is
 * sanitised here exactly as the engine sanitises what a VM writes.
 *
 * Hidden, because they must not be offered:
 *   - disks the domain itself uses: a disk any of whose partitions (or the
 *     disk itself) is mounted (in this process's mount table or in init's,
 *     or holds the file system of this process's root, as in a chroot), is
 *     swap or is held by another block device (device-mapper, LVM, md): the
 *     disk and all its partitions;
 *   - stacked devices (device-mapper, md: they have slaves), ram and zram;
 *   - empty devices (size 0): an unbound loop device, an optical drive or a
 *     card reader without a medium;
 *   - the partitions of a disk attached to a VM, and a disk one of whose
 *     partitions is attached (@attached names the attached block ports);
 *   - usb hubs, and devices whose id is not a valid port.
 * A read-only device (sysfs "ro", or an optical drive) has mode "r".
 */

/* One device to publish: @kv holds "key", "value" pairs, in order, for the
 * entry /local/domain/<D>/data/xen-devices/<class>/<port> (one node, their
 * key=value lines: xd-device-entry.h). */
typedef struct
{
  XdClassId klass;
  char *port; /* stored form */
  GPtrArray *kv;
} XdPublication;

XdPublication *xd_publication_new (XdClassId klass, const char *port);
void xd_publication_free (XdPublication *publication);
void xd_publication_add (XdPublication *publication, const char *key, const char *value);
/* The value of @key, or NULL. */
const char *xd_publication_get (const XdPublication *publication, const char *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdPublication, xd_publication_free)

/* Every entry a publisher writes carries this key with this value, so that
 * it removes only what it wrote (the simulated host writes beside it). */
#define XD_PUBLICATION_SOURCE_KEY "source"
#define XD_PUBLICATION_SOURCE "udev"

/* Most devices published per class: with one node a device this stays far
 * below xenstored's default quotas for a guest (1,000 nodes per domain,
 * 1,024 nodes touched per transaction). */
#define XD_PUBLICATION_MAX_PER_CLASS 32

/* The mount tables read when none is given. */
#define XD_UDEV_SELF_MOUNTINFO "/proc/self/mountinfo"
#define XD_UDEV_INIT_MOUNTINFO "/proc/1/mountinfo"

typedef struct
{
  /* The mount table and the swap list; NULL: $XEN_DEVICES_MOUNTINFO, then
   * /proc/self/mountinfo (with /proc/1/mountinfo and the file system of
   * "/"), and $XEN_DEVICES_SWAPS, then /proc/swaps. */
  const char *mountinfo_path;
  const char *swaps_path;
  /* Block ports (char *) the domain's backends hold for VMs, or NULL. */
  GHashTable *attached;
} XdUdevScanOptions;

/* XdPublication *, sorted by class then port. */
GPtrArray *xd_udev_scan (struct udev *udev, const XdUdevScanOptions *options);

G_END_DECLS
