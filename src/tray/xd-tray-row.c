/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-tray-row.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/xd-validate.h"

#define EJECT_ICON "media-eject"

/* One VM in a row's submenu. */
typedef struct
{
  XdTrayRow *row;
  char *name;
  XdTrayItem *item;
  gboolean holder;
  gboolean shown; /* holder and sensitivity have been applied once */
} VmItem;

struct _XdTrayRow
{
  XdClassId klass;
  guint backend;
  char *port;
  char *key;
  XdTrayRowVmActivated callback;
  XdTrayRowWanted wanted;
  gpointer user_data;

  /* The row: class icon, text, submenu. */
  XdTrayItem *item;
  /* After the VM items, made when first needed: "None" when no VM can take
   * the device. */
  XdTrayItem *none;
  /* VmItem *, in submenu order. */
  GPtrArray *vm_items;

  /* Set while the row reflects new state: a refresh must never start an
   * operation, whatever a toolkit emits while entries change. */
  gboolean reflecting;
  /* A lazy row fills its submenu only when it is about to be shown. */
  gboolean lazy;
  /* The submenu holds the VM items (and follows updates). */
  gboolean filled;
  /* A lazy row's submenu was wanted: the next update fills it. */
  gboolean want;
};

const char *
xd_tray_row_class_icon (XdClassId klass)
{
  switch (klass)
    {
    case XD_CLASS_BLOCK:
      return "drive-removable-media";
    case XD_CLASS_MIC:
      /* Adwaita has only the symbolic one; a panel drawing the menu does
       * not fall back to it as GTK does here. */
      return "audio-input-microphone-symbolic";
    case XD_CLASS_USB:
      return "media-removable";
    case XD_CLASS_PCI:
    case XD_N_CLASSES:
    default:
      return "computer";
    }
}

/* ---- VMs in the submenu ---- */

static void
vm_item_activated_cb (XdTrayItem *item, gpointer user_data)
{
  VmItem *vi = user_data;
  XdTrayRow *row = vi->row;

  if (row->reflecting)
    return;
  row->callback (row, vi->name, vi->holder, row->user_data);
}

static VmItem *
vm_item_new (XdTrayRow *row, const char *name)
{
  VmItem *vi = g_new0 (VmItem, 1);

  vi->row = row;
  vi->name = g_strdup (name);
  vi->item = xd_tray_item_new (xd_tray_item_get_kit (row->item), XD_TRAY_ITEM_ICON);
  xd_tray_item_set_text (vi->item, name, FALSE);
  xd_tray_item_connect (vi->item, vm_item_activated_cb, NULL, vi);
  return vi;
}

static void
vm_item_free (gpointer data)
{
  VmItem *vi = data;

  xd_tray_item_free (vi->item);
  g_free (vi->name);
  g_free (vi);
}

static void
vm_item_update (VmItem *vi, gboolean holder, gboolean sensitive)
{
  if (vi->shown && vi->holder == holder && xd_tray_item_get_sensitive (vi->item) == sensitive)
    return;
  xd_tray_item_block (vi->item, TRUE);
  xd_tray_item_set_icon (vi->item, holder ? EJECT_ICON : NULL);
  xd_tray_item_set_text (vi->item, vi->name, holder);
  vi->holder = holder;
  xd_tray_item_set_sensitive (vi->item, sensitive);
  vi->shown = TRUE;
  xd_tray_item_block (vi->item, FALSE);
}

static gboolean
is_holder (const XdTrayRowState *state, const char *name)
{
  for (guint i = 0; state->holders && state->holders[i]; i++)
    if (strcmp (state->holders[i], name) == 0)
      return TRUE;
  return FALSE;
}

/* Brings the submenu to @state->vms, keeping the items of VMs still there. */
static void
update_submenu (XdTrayRow *row, const XdTrayRowState *state)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_full (state->vms->len + 1, vm_item_free);
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  gboolean sensitive = state->busy == XD_TRAY_ROW_IDLE;

  /* Take over the items of VMs still offered; the rest are freed below. */
  for (guint i = 0; i < state->vms->len; i++)
    {
      const XdVm *vm = state->vms->pdata[i];
      VmItem *vi = NULL;

      for (guint j = 0; j < row->vm_items->len; j++)
        {
          VmItem *old = row->vm_items->pdata[j];
          if (old && strcmp (old->name, vm->name) == 0)
            {
              vi = old;
              row->vm_items->pdata[j] = NULL;
              break;
            }
        }
      if (!vi)
        vi = vm_item_new (row, vm->name);
      vm_item_update (vi, is_holder (state, vm->name), sensitive);
      g_ptr_array_add (items, vi);
      g_ptr_array_add (entries, vi->item);
    }
  for (guint j = 0; j < row->vm_items->len; j++)
    if (row->vm_items->pdata[j])
      vm_item_free (row->vm_items->pdata[j]);
  g_ptr_array_set_free_func (row->vm_items, NULL);
  g_ptr_array_unref (row->vm_items);
  row->vm_items = g_steal_pointer (&items);

  if (entries->len == 0 && !row->none)
    {
      /* "None" in a submenu as in an empty section: the same word everywhere. */
      row->none = xd_tray_item_new (xd_tray_item_get_kit (row->item), XD_TRAY_ITEM_PLAIN);
      xd_tray_item_set_text (row->none, _ ("None"), FALSE);
      xd_tray_item_set_sensitive (row->none, FALSE);
    }
  if (row->none)
    {
      xd_tray_item_set_visible (row->none, entries->len == 0);
      g_ptr_array_add (entries, row->none);
    }
  xd_tray_item_place (row->item, 0, (XdTrayItem *const *) entries->pdata, entries->len);
  row->filled = TRUE;
}

/* Empties the submenu: its items are made again when it is next wanted.
 * The row still says it has a submenu (xd-tray-item). */
static void
empty_submenu (XdTrayRow *row)
{
  g_ptr_array_set_free_func (row->vm_items, vm_item_free);
  g_ptr_array_set_size (row->vm_items, 0);
  g_ptr_array_set_free_func (row->vm_items, NULL);
  g_clear_pointer (&row->none, xd_tray_item_free);
  row->filled = FALSE;
}

/* The submenu is about to be shown (see xd_tray_item_connect ()): a lazy
 * row asks for its items now. */
static void
row_wanted_cb (XdTrayItem *item, gpointer user_data)
{
  XdTrayRow *row = user_data;

  if (row->filled || row->want || row->reflecting)
    return;
  /* From now on updates fill the submenu: the first is the owner's, now. */
  row->want = TRUE;
  row->wanted (row, row->user_data);
}

/* ---- the row ---- */

static char *
ellipsize (const char *text, glong max_chars)
{
  const char *end;

  if (g_utf8_strlen (text, -1) <= max_chars)
    return g_strdup (text);
  end = g_utf8_offset_to_pointer (text, max_chars - 1);
  return g_strdup_printf ("%.*s…", (int) (end - text), text);
}

static char *take_printf (char *old, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Formats with @format and frees @old, which the format may use. */
static char *
take_printf (char *old, const char *format, ...)
{
  va_list args;
  char *result;

  va_start (args, format);
  result = g_strdup_vprintf (format, args);
  va_end (args);
  g_free (old);
  return result;
}

/* What a row of dom0's own keyboard or mouse says of it. */
static const char *
dom0_input_warning (const XdDevice *device)
{
  switch (device->input & (XD_INPUT_KEYBOARD | XD_INPUT_MOUSE))
    {
    case XD_INPUT_KEYBOARD:
      return _ ("dom0's keyboard");
    case XD_INPUT_MOUSE:
      return _ ("dom0's mouse");
    default:
      return _ ("dom0's keyboard and mouse");
    }
}

char *
xd_tray_row_format_text (const XdTrayRowState *state)
{
  const XdDevice *device = state->device;
  g_autofree char *port = xd_port_to_display (device->klass, device->port);
  g_autofree char *description = ellipsize (device->description, XD_TRAY_ROW_MAX_DESCRIPTION);
  g_autofree char *id = g_strdup_printf ("%s:%s", state->backend_name, port ? port : device->port);
  char *text;

  /* The holders come right after the device's id, before the description:
   * a VM writes the description and could end it with "(attached to
   * work)"; the id (a validated name and port) ends where it cannot. */
  if (state->holders && state->holders[0])
    {
      g_autofree char *names = g_strjoinv (", ", (char **) state->holders);
      /* Translators: a device's id and the VMs that hold the device, e.g.
       * "sys-usb:sda1 (attached to work, personal)", before the
       * description. Panels that show the menu over D-Bus show no bold, so
       * this text is how people see it. */
      id = take_printf (id, _ ("%s (attached to %s)"), id, names);
    }
  if (device->klass == XD_CLASS_BLOCK && device->has_size)
    {
      g_autofree char *size = g_format_size (device->size);
      /* Translators: a block device row: ID — DESCRIPTION, SIZE, e.g.
       * "sys-usb:sda1 — SanDisk Cruzer Blade, 8.0 GB". */
      text = g_strdup_printf (_ ("%s — %s, %s"), id, description, size);
    }
  else
    /* Translators: a device row: ID — DESCRIPTION. */
    text = g_strdup_printf (_ ("%s — %s"), id, description);

  if (xd_device_is_dom0_input (device))
    /* Translators: a device row, then a warning: a VM given dom0's own
     * keyboard or mouse takes over the desktop. */
    text = take_printf (text, _ ("%s — ⚠ %s"), text, dom0_input_warning (device));
  if (state->is_new)
    /* Translators: marks a device that appeared in the last two minutes. */
    text = take_printf (text, _ ("%s — NEW"), text);
  if (state->busy == XD_TRAY_ROW_ATTACHING)
    text = take_printf (text, _ ("%s — attaching to %s…"), text, state->busy_vm);
  else if (state->busy == XD_TRAY_ROW_DETACHING)
    text = take_printf (text, _ ("%s — detaching…"), text);
  return text;
}

XdTrayRow *
xd_tray_row_new (XdTrayKit kit, XdClassId klass, guint backend, const char *port,
                 XdTrayRowVmActivated callback, XdTrayRowWanted wanted, gpointer user_data)
{
  XdTrayRow *row = g_new0 (XdTrayRow, 1);

  row->klass = klass;
  row->backend = backend;
  row->port = g_strdup (port);
  row->key = xd_device_key (klass, backend, port);
  row->callback = callback;
  row->wanted = wanted;
  row->user_data = user_data;
  row->vm_items = g_ptr_array_new ();

  row->item = xd_tray_item_new (kit, XD_TRAY_ITEM_ICON | XD_TRAY_ITEM_SUBMENU);
  xd_tray_item_set_icon (row->item, xd_tray_row_class_icon (klass));
  xd_tray_item_connect (row->item, NULL, row_wanted_cb, row);
  return row;
}

void
xd_tray_row_free (XdTrayRow *row)
{
  if (!row)
    return;
  g_ptr_array_set_free_func (row->vm_items, vm_item_free);
  g_ptr_array_unref (row->vm_items);
  xd_tray_item_free (row->none);
  xd_tray_item_free (row->item);
  g_free (row->port);
  g_free (row->key);
  g_free (row);
}

XdTrayItem *
xd_tray_row_get_item (XdTrayRow *row)
{
  return row->item;
}

const char *
xd_tray_row_get_key (XdTrayRow *row)
{
  return row->key;
}

XdClassId
xd_tray_row_get_class (XdTrayRow *row)
{
  return row->klass;
}

guint
xd_tray_row_get_backend (XdTrayRow *row)
{
  return row->backend;
}

const char *
xd_tray_row_get_port (XdTrayRow *row)
{
  return row->port;
}

void
xd_tray_row_update (XdTrayRow *row, const XdTrayRowState *state)
{
  g_autofree char *text = xd_tray_row_format_text (state);

  row->reflecting = TRUE;
  xd_tray_item_set_text (row->item, text, xd_device_is_attached (state->device));
  if (!row->lazy || row->filled || row->want)
    update_submenu (row, state);
  row->want = FALSE;
  row->reflecting = FALSE;
}

void
xd_tray_row_set_lazy (XdTrayRow *row, gboolean lazy)
{
  row->lazy = lazy;
  if (lazy)
    xd_tray_row_empty (row);
}

gboolean
xd_tray_row_is_lazy (XdTrayRow *row)
{
  return row->lazy;
}

gboolean
xd_tray_row_is_filled (XdTrayRow *row)
{
  return row->filled;
}

gboolean
xd_tray_row_empty (XdTrayRow *row)
{
  /* Never under a person's pointer: an open submenu keeps its items. */
  if (!row->lazy || !row->filled || xd_tray_item_submenu_is_open (row->item))
    return FALSE;
  empty_submenu (row);
  return TRUE;
}
