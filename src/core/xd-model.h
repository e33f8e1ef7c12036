/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xd-class.h"

G_BEGIN_DECLS

/*
 * The engine's model: what is true in xenstore right now, validated. Objects
 * are reference counted and owned by the engine; front ends may keep a
 * reference across signals but never change them. Every string here has
 * passed validation (ids) or sanitising (descriptions); descriptions may
 * still hold markup characters and must be escaped where markup is drawn.
 */

typedef struct
{
  guint domid;
  char *name;
} XdVm;

/* One holder of a device: a frontend VM and the options it was attached with,
 * read from the backend tree that libxl wrote. */
typedef struct
{
  XdClassId klass;
  guint backend;
  guint frontend;
  char *port;         /* the device it holds, stored form */
  char *kind;         /* backend kind: "vbd", "qusb", "vusb", "xd-mic" */
  guint devid;        /* libxl's device id (vbd) or controller number (usb) */
  char *frontend_dev; /* block: "xvdi" */
  gboolean read_only;
  gboolean cdrom;
  int state; /* XenBus state of the backend, 0 if unknown */
} XdAttachment;

typedef struct
{
  XdClassId klass;
  guint backend;
  char *port;        /* stored form: usb "2-1_3" */
  char *description; /* sanitised, never NULL */
  gboolean has_size;
  guint64 size;
  char mode;        /* 'r', 'w' or 0 when not given */
  char *parent;     /* block: the whole disk of a partition, or NULL */
  char *interfaces; /* usb: ":ccssii:..." normalised, or NULL */
  /* usb: what the backend itself uses the device as (XdInputFlags): a
   * keyboard or mouse of dom0 offered to a VM is how the VM would take over
   * the desktop, so front ends warn (xd_device_is_dom0_input ()). */
  guint input;
  /* XdAttachment *, sorted by frontend domid. */
  GPtrArray *attachments;
} XdDevice;

typedef enum
{
  XD_INPUT_KEYBOARD = 1 << 0,
  XD_INPUT_MOUSE = 1 << 1,
} XdInputFlags;

XdVm *xd_vm_new (guint domid, const char *name);
XdVm *xd_vm_ref (XdVm *vm);
void xd_vm_unref (XdVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdVm, xd_vm_unref)

XdAttachment *xd_attachment_new (void);
XdAttachment *xd_attachment_ref (XdAttachment *attachment);
void xd_attachment_unref (XdAttachment *attachment);
gboolean xd_attachment_equal (const XdAttachment *a, const XdAttachment *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdAttachment, xd_attachment_unref)

XdDevice *xd_device_new (XdClassId klass, guint backend, const char *port);
XdDevice *xd_device_ref (XdDevice *device);
void xd_device_unref (XdDevice *device);
/* TRUE when what a person sees of the two devices is the same (not the
 * attachments, which the engine compares separately). */
gboolean xd_device_same_properties (const XdDevice *a, const XdDevice *b);
gboolean xd_device_is_attached (const XdDevice *device);
/* TRUE for a usb device that dom0 uses as its keyboard or mouse: offering
 * it needs a visible warning in every front end. */
gboolean xd_device_is_dom0_input (const XdDevice *device);
/* "keyboard", "mouse" or "keyboard and mouse" for such a device, else NULL. */
const char *xd_device_dom0_input_kind (const XdDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdDevice, xd_device_unref)

/* "<backend domid>/<class>/<port>": the key the engine indexes devices by. */
char *xd_device_key (XdClassId klass, guint backend, const char *port);

/* The order people expect for names and ports: runs of digits compare as
 * numbers ("sda2" before "sda10", "vm-9" before "vm-10"), of any length;
 * the rest byte by byte. A total order: names that differ only in leading
 * zeros fall back to strcmp (). */
int xd_natural_compare (const char *a, const char *b);

G_END_DECLS
