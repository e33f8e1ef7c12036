/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-model.h"

#include <string.h>

static void
vm_clear (XdVm *vm)
{
  g_free (vm->name);
}

XdVm *
xd_vm_new (guint domid, const char *name)
{
  XdVm *vm = g_atomic_rc_box_new0 (XdVm);
  vm->domid = domid;
  vm->name = g_strdup (name);
  return vm;
}

XdVm *
xd_vm_ref (XdVm *vm)
{
  return g_atomic_rc_box_acquire (vm);
}

void
xd_vm_unref (XdVm *vm)
{
  g_atomic_rc_box_release_full (vm, (GDestroyNotify) vm_clear);
}

static void
attachment_clear (XdAttachment *attachment)
{
  g_free (attachment->port);
  g_free (attachment->kind);
  g_free (attachment->frontend_dev);
}

XdAttachment *
xd_attachment_new (void)
{
  return g_atomic_rc_box_new0 (XdAttachment);
}

XdAttachment *
xd_attachment_ref (XdAttachment *attachment)
{
  return g_atomic_rc_box_acquire (attachment);
}

void
xd_attachment_unref (XdAttachment *attachment)
{
  g_atomic_rc_box_release_full (attachment, (GDestroyNotify) attachment_clear);
}

gboolean
xd_attachment_equal (const XdAttachment *a, const XdAttachment *b)
{
  return a->klass == b->klass && a->backend == b->backend && a->frontend == b->frontend
         && a->devid == b->devid && a->read_only == b->read_only && a->cdrom == b->cdrom
         && a->state == b->state && g_strcmp0 (a->port, b->port) == 0
         && g_strcmp0 (a->kind, b->kind) == 0 && g_strcmp0 (a->frontend_dev, b->frontend_dev) == 0;
}

static void
device_clear (XdDevice *device)
{
  g_free (device->port);
  g_free (device->description);
  g_free (device->parent);
  g_free (device->interfaces);
  g_ptr_array_unref (device->attachments);
}

XdDevice *
xd_device_new (XdClassId klass, guint backend, const char *port)
{
  XdDevice *device = g_atomic_rc_box_new0 (XdDevice);
  device->klass = klass;
  device->backend = backend;
  device->port = g_strdup (port);
  device->description = g_strdup ("");
  device->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_attachment_unref);
  return device;
}

XdDevice *
xd_device_ref (XdDevice *device)
{
  return g_atomic_rc_box_acquire (device);
}

void
xd_device_unref (XdDevice *device)
{
  g_atomic_rc_box_release_full (device, (GDestroyNotify) device_clear);
}

gboolean
xd_device_same_properties (const XdDevice *a, const XdDevice *b)
{
  return a->klass == b->klass && a->backend == b->backend && a->has_size == b->has_size
         && a->size == b->size && a->mode == b->mode && g_strcmp0 (a->port, b->port) == 0
         && g_strcmp0 (a->description, b->description) == 0 && g_strcmp0 (a->parent, b->parent) == 0
         && g_strcmp0 (a->interfaces, b->interfaces) == 0 && a->input == b->input;
}

gboolean
xd_device_is_attached (const XdDevice *device)
{
  return device->attachments->len > 0;
}

gboolean
xd_device_is_dom0_input (const XdDevice *device)
{
  return device->klass == XD_CLASS_USB && device->backend == 0 && device->input != 0;
}

const char *
xd_device_dom0_input_kind (const XdDevice *device)
{
  if (!xd_device_is_dom0_input (device))
    return NULL;
  switch (device->input & (XD_INPUT_KEYBOARD | XD_INPUT_MOUSE))
    {
    case XD_INPUT_KEYBOARD:
      return "keyboard";
    case XD_INPUT_MOUSE:
      return "mouse";
    default:
      return "keyboard and mouse";
    }
}

char *
xd_device_key (XdClassId klass, guint backend, const char *port)
{
  return g_strdup_printf ("%u/%s/%s", backend, xd_class_id_to_string (klass), port);
}

int
xd_natural_compare (const char *a, const char *b)
{
  const char *p = a, *q = b;
  int c;

  while (*p && *q)
    {
      if (g_ascii_isdigit (*p) && g_ascii_isdigit (*q))
        {
          const char *p0, *q0;

          while (*p == '0' && g_ascii_isdigit (p[1]))
            p++;
          while (*q == '0' && g_ascii_isdigit (q[1]))
            q++;
          for (p0 = p; g_ascii_isdigit (*p); p++)
            ;
          for (q0 = q; g_ascii_isdigit (*q); q++)
            ;
          /* Without leading zeros, the longer run is the larger number. */
          if (p - p0 != q - q0)
            return p - p0 < q - q0 ? -1 : 1;
          if ((c = memcmp (p0, q0, (size_t) (p - p0))) != 0)
            return c < 0 ? -1 : 1;
          continue;
        }
      if (*p != *q)
        return (guchar) *p < (guchar) *q ? -1 : 1;
      p++;
      q++;
    }
  if (*p || *q)
    return *p ? 1 : -1;
  c = strcmp (a, b);
  return (c > 0) - (c < 0);
}
