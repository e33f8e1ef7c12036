/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-class-info.h"

#include <stdarg.h>
#include <string.h>

#include "xd-validate.h"

#define USB_MAX_PORTS 31
#define XENBUS_STATE_MAX 7

static int
read_state (XdNodeReader read, gpointer data)
{
  g_autofree char *state = read ("state", data);
  guint64 value;

  if (state && xd_parse_size (state, &value) && value <= XENBUS_STATE_MAX)
    return (int) value;
  return 0;
}

/* Appends one finding to @why, the findings apart by "; ". */
static void report (GString *why, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
report (GString *why, const char *format, ...)
{
  va_list ap;

  if (why->len > 0)
    g_string_append (why, "; ");
  va_start (ap, format);
  g_string_append_vprintf (why, format, ap);
  va_end (ap);
}

/* The domain an entry is for is the one whose libxl record names it: the
 * record's path says it, and only dom0 writes there. The backend's own
 * frontend-id is its word, which it may change at will (to 99, say, to make
 * a disk look free): a disagreement is reported, never believed. */
static void
check_frontend_id (XdNodeReader read, gpointer data, guint frontend, GString *why)
{
  g_autofree char *id = read ("frontend-id", data);
  guint value;

  if (!id || !xd_parse_domid (id, &value) || value != frontend)
    report (why, "its frontend-id is not %u, which dom0's record names", frontend);
}

static XdAttachment *
attachment_new (XdClassId klass, const char *kind, guint backend, guint frontend, guint devid,
                const char *port, int state)
{
  XdAttachment *attachment = xd_attachment_new ();
  attachment->klass = klass;
  attachment->kind = g_strdup (kind);
  attachment->backend = backend;
  attachment->frontend = frontend;
  attachment->devid = devid;
  attachment->port = g_strdup (port);
  attachment->state = state;
  return attachment;
}

/* ---- block ---- */

static gboolean
block_read_properties (XdDevice *device, XdNodeReader read, gpointer data, GString *why)
{
  g_autofree char *size = read ("size", data);
  g_autofree char *mode = read ("mode", data);
  g_autofree char *parent = read ("parent", data);

  if (!size || !xd_parse_size (size, &device->size))
    {
      g_string_append (why, "size is missing or not a number of bytes");
      return FALSE;
    }
  device->has_size = TRUE;
  if (!mode || !xd_parse_mode (mode, &device->mode))
    {
      g_string_append (why, "mode is missing or not r or w");
      return FALSE;
    }
  if (parent)
    {
      if (!xd_validate_port (XD_CLASS_BLOCK, parent) || strcmp (parent, device->port) == 0)
        {
          g_string_append (why, "parent is not a block device id");
          return FALSE;
        }
      device->parent = g_steal_pointer (&parent);
    }
  return TRUE;
}

static gboolean
valid_frontend_dev (const char *dev)
{
  gsize len = dev ? strlen (dev) : 0;

  if (len < 4 || len > 5 || strncmp (dev, "xvd", 3) != 0)
    return FALSE;
  for (gsize i = 3; i < len; i++)
    if (dev[i] < 'a' || dev[i] > 'z')
      return FALSE;
  return TRUE;
}

static gboolean
block_read_backend (const char *kind, guint backend, guint frontend, guint devid, XdNodeReader read,
                    gpointer data, XdNodeReader read_record, gpointer record_data, GPtrArray *out,
                    GString *why)
{
  g_autofree char *params = read_record ("params", record_data);
  g_autofree char *mode = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *device_type = NULL;
  const char *port;
  XdAttachment *attachment;

  /* libxl keeps its own copy of what it asked for under /libxl, which only
   * dom0 can write; the backend VM owns its backend directory and could say
   * anything there. Every fact is taken from libxl's copy. */
  if (!params || !g_str_has_prefix (params, "/dev/"))
    return TRUE; /* an image file or a VM's own volume: not one of ours */
  port = params + strlen ("/dev/");
  if (!xd_validate_port (XD_CLASS_BLOCK, port))
    return TRUE; /* e.g. /dev/qubes_dom0/vm-work-root */
  check_frontend_id (read, data, frontend, why);

  mode = read_record ("mode", record_data);
  dev = read_record ("dev", record_data);
  device_type = read_record ("device-type", record_data);
  attachment = attachment_new (XD_CLASS_BLOCK, kind, backend, frontend, devid, port,
                               read_state (read, data));
  /* Without a mode, read-write: the stricter for the rules. */
  attachment->read_only = g_strcmp0 (mode, "r") == 0;
  attachment->cdrom = g_strcmp0 (device_type, "cdrom") == 0;
  if (valid_frontend_dev (dev))
    attachment->frontend_dev = g_steal_pointer (&dev);
  g_ptr_array_add (out, attachment);
  return TRUE;
}

static void
block_format_options (const XdAttachment *attachment, GString *out)
{
  g_string_append_printf (out, "read-only=%s", attachment->read_only ? "yes" : "no");
  if (attachment->frontend_dev)
    g_string_append_printf (out, ", frontend-dev=%s", attachment->frontend_dev);
  if (attachment->cdrom)
    g_string_append (out, ", devtype=cdrom");
}

/* ---- usb ---- */

static gboolean
usb_read_properties (XdDevice *device, XdNodeReader read, gpointer data, GString *why)
{
  g_autofree char *interfaces = read ("interfaces", data);
  g_autofree char *input = read ("input", data);

  if (interfaces && !xd_parse_usb_interfaces (interfaces, &device->interfaces))
    {
      g_string_append (why, "interfaces is not a list of :ccssii: triples");
      return FALSE;
    }
  if (input && !xd_parse_usb_input (input, &device->input))
    {
      g_string_append (why, "input is not keyboard, mouse or keyboard,mouse");
      return FALSE;
    }
  return TRUE;
}

/* The bus id a USB port holds. libxl writes it in the backend's directory
 * only (its record's port/N stays empty), and only for a backend in dom0,
 * whose directory no other domain can write. A backend in a driver domain
 * owns its directory: there the bus id counts only as the toolstack wrote
 * it into the record (xd-toolstack-sim.c does), and the backend's copy is
 * checked against it, reported when it differs, never believed. */
static char *
usb_port_busid (guint backend, guint port, XdNodeReader read, gpointer data,
                XdNodeReader read_record, gpointer record_data, GString *why)
{
  g_autofree char *node = g_strdup_printf ("port/%u", port);
  g_autofree char *recorded = read_record (node, record_data);
  g_autofree char *claimed = read (node, data);

  if (recorded && *recorded)
    {
      if (g_strcmp0 (claimed, recorded) != 0)
        report (why, "its port/%u is not the bus id dom0's record holds", port);
      return g_steal_pointer (&recorded);
    }
  if (backend == 0)
    return g_steal_pointer (&claimed);
  if (claimed && *claimed)
    report (why, "its port/%u names a device dom0's record does not", port);
  return NULL;
}

static gboolean
usb_read_backend (const char *kind, guint backend, guint frontend, guint devid, XdNodeReader read,
                  gpointer data, XdNodeReader read_record, gpointer record_data, GPtrArray *out,
                  GString *why)
{
  /* The controller's size from the record (libxl writes it there too): a
   * backend that shrank its own could hide a port. */
  g_autofree char *num_ports = read_record ("num-ports", record_data);
  guint64 n;
  int state;

  if (!num_ports || !xd_parse_size (num_ports, &n) || n < 1 || n > USB_MAX_PORTS)
    {
      g_string_append (why, "dom0's record of the controller has no valid num-ports");
      return FALSE;
    }
  check_frontend_id (read, data, frontend, why);
  state = read_state (read, data);

  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *busid
        = usb_port_busid (backend, i, read, data, read_record, record_data, why);
      g_autofree char *port = NULL;

      if (!busid || !*busid)
        continue;
      port = xd_port_from_display (XD_CLASS_USB, busid, NULL);
      if (!port)
        {
          g_string_truncate (why, 0);
          g_string_append_printf (why, "port/%u is not a USB bus id", i);
          return FALSE;
        }
      g_ptr_array_add (out,
                       attachment_new (XD_CLASS_USB, kind, backend, frontend, devid, port, state));
    }
  return TRUE;
}

/* ---- mic ---- */

static gboolean
no_properties (XdDevice *device, XdNodeReader read, gpointer data, GString *why)
{
  return TRUE;
}

static gboolean
mic_read_backend (const char *kind, guint backend, guint frontend, guint devid, XdNodeReader read,
                  gpointer data, XdNodeReader read_record, gpointer record_data, GPtrArray *out,
                  GString *why)
{
  /* Written by dom0 alone, in dom0's directory (xd_read_backend_entry ()):
   * an entry without its frontend-id is being removed. */
  g_autofree char *id = read ("frontend-id", data);
  guint value;

  if (!id)
    return TRUE;
  if (!xd_parse_domid (id, &value) || value != frontend)
    {
      g_string_append_printf (why, "frontend-id does not name domain %u", frontend);
      return FALSE;
    }
  g_ptr_array_add (out, attachment_new (XD_CLASS_MIC, kind, backend, frontend, devid, "mic",
                                        read_state (read, data)));
  return TRUE;
}

static void
no_options (const XdAttachment *attachment, GString *out)
{
}

static const char *const block_kinds[] = { "vbd", NULL };
static const char *const usb_kinds[] = { "qusb", "vusb", NULL };
static const char *const mic_kinds[] = { "xd-mic", NULL };
static const char *const no_kinds[] = { NULL };
static const char *const block_backend_keys[] = { "frontend-id", "state", NULL };
static const char *const block_record_keys[] = { "params", "mode", "dev", "device-type", NULL };
/* and port/N, a level deeper: not read ahead */
static const char *const usb_backend_keys[] = { "frontend-id", "state", NULL };
static const char *const usb_record_keys[] = { "num-ports", NULL };
static const char *const mic_backend_keys[] = { "frontend-id", "state", NULL };
static const char *const no_keys[] = { NULL };

static const XdClassInfo class_infos[XD_N_CLASSES] = {
  [XD_CLASS_BLOCK] = {
    .id = XD_CLASS_BLOCK,
    .name = "block",
    .backend_kinds = block_kinds,
    .backend_keys = block_backend_keys,
    .record_keys = block_record_keys,
    .read_properties = block_read_properties,
    .read_backend = block_read_backend,
    .format_options = block_format_options,
  },
  [XD_CLASS_MIC] = {
    .id = XD_CLASS_MIC,
    .name = "mic",
    .backend_kinds = mic_kinds,
    .backend_keys = mic_backend_keys,
    .record_keys = no_keys,
    .read_properties = no_properties,
    .read_backend = mic_read_backend,
    .format_options = no_options,
  },
  [XD_CLASS_USB] = {
    .id = XD_CLASS_USB,
    .name = "usb",
    .backend_kinds = usb_kinds,
    .backend_keys = usb_backend_keys,
    .record_keys = usb_record_keys,
    .read_properties = usb_read_properties,
    .read_backend = usb_read_backend,
    .format_options = no_options,
  },
  [XD_CLASS_PCI] = {
    .id = XD_CLASS_PCI,
    .name = "pci",
    .backend_kinds = no_kinds,
    .backend_keys = no_keys,
    .record_keys = no_keys,
    .read_properties = no_properties,
    .read_backend = NULL,
    .format_options = no_options,
  },
};

const XdClassInfo *
xd_class_info_get (XdClassId klass)
{
  g_return_val_if_fail (klass < XD_N_CLASSES, NULL);
  return &class_infos[klass];
}

const XdClassInfo *
xd_class_info_for_backend_kind (const char *kind)
{
  for (guint i = 0; i < XD_N_CLASSES; i++)
    for (const char *const *k = class_infos[i].backend_kinds; *k; k++)
      if (strcmp (*k, kind) == 0)
        return &class_infos[i];
  return NULL;
}
