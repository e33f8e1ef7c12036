/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-tray-row.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/xd-validate.h"

#define EJECT_ICON "media-eject"
/* Keeps the names of VMs without an icon aligned with those with one. */
#define ICON_PIXELS 16

/* One VM in a row's submenu. */
typedef struct
{
  XdTrayRow *row;
  char *name;
  GtkWidget *item;
  GtkWidget *image;
  GtkWidget *label;
  gulong activate_id;
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
  gpointer user_data;

  GtkWidget *item;
  GtkWidget *label;
  GtkWidget *submenu;
  /* Shown when no VM can take the device. */
  GtkWidget *no_vm;
  /* VmItem *, in submenu order. */
  GPtrArray *vm_items;

  char *text; /* what the label shows */
  gboolean bold;
  /* Set while the row reflects new state: a refresh must never start an
   * operation, whatever GTK emits while widgets change. */
  gboolean reflecting;
};

const char *
xd_tray_row_class_icon (XdClassId klass)
{
  switch (klass)
    {
    case XD_CLASS_BLOCK:
      return "drive-removable-media";
    case XD_CLASS_MIC:
      return "audio-input-microphone";
    case XD_CLASS_USB:
      return "media-removable";
    case XD_CLASS_PCI:
    case XD_N_CLASSES:
    default:
      return "computer";
    }
}

/* Shows @text on @label, bold when asked. The label's text (what
 * gtk_label_get_text () returns and what dbusmenu-gtk exports once it has
 * stripped the markup) is always exactly @text: the markup is built by
 * escaping @text, so a description such as "<b>x</b>" or "&amp;" stays text. */
static void
set_label (GtkWidget *label, const char *text, gboolean bold)
{
  if (bold)
    {
      g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);
      gtk_label_set_markup (GTK_LABEL (label), markup);
    }
  else
    gtk_label_set_text (GTK_LABEL (label), text);
}

static GtkWidget *
new_box_item (const char *icon_name, GtkWidget **image_out, GtkWidget **label_out)
{
  GtkWidget *item = gtk_menu_item_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *image = gtk_image_new ();
  GtkWidget *label = gtk_label_new (NULL);

  gtk_image_set_pixel_size (GTK_IMAGE (image), ICON_PIXELS);
  gtk_widget_set_size_request (image, ICON_PIXELS, ICON_PIXELS);
  if (icon_name)
    gtk_image_set_from_icon_name (GTK_IMAGE (image), icon_name, GTK_ICON_SIZE_MENU);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_container_add (GTK_CONTAINER (box), image);
  gtk_container_add (GTK_CONTAINER (box), label);
  gtk_container_add (GTK_CONTAINER (item), box);
  gtk_widget_show_all (item);
  *image_out = image;
  *label_out = label;
  return item;
}

/* ---- VMs in the submenu ---- */

static void
vm_item_activate_cb (GtkMenuItem *item, gpointer user_data)
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
  vi->item = new_box_item (NULL, &vi->image, &vi->label);
  gtk_label_set_text (GTK_LABEL (vi->label), name);
  vi->activate_id = g_signal_connect (vi->item, "activate", G_CALLBACK (vm_item_activate_cb), vi);
  return vi;
}

static void
vm_item_free (gpointer data)
{
  VmItem *vi = data;

  g_signal_handler_disconnect (vi->item, vi->activate_id);
  gtk_widget_destroy (vi->item);
  g_free (vi->name);
  g_free (vi);
}

static void
vm_item_update (VmItem *vi, gboolean holder, gboolean sensitive)
{
  if (vi->shown && vi->holder == holder && gtk_widget_get_sensitive (vi->item) == sensitive)
    return;
  g_signal_handler_block (vi->item, vi->activate_id);
  if (!vi->shown || vi->holder != holder)
    {
      if (holder)
        gtk_image_set_from_icon_name (GTK_IMAGE (vi->image), EJECT_ICON, GTK_ICON_SIZE_MENU);
      else
        gtk_image_clear (GTK_IMAGE (vi->image));
      set_label (vi->label, vi->name, holder);
      vi->holder = holder;
    }
  gtk_widget_set_sensitive (vi->item, sensitive);
  vi->shown = TRUE;
  g_signal_handler_unblock (vi->item, vi->activate_id);
}

static gboolean
is_holder (const XdTrayRowState *state, const char *name)
{
  for (guint i = 0; state->holders && state->holders[i]; i++)
    if (strcmp (state->holders[i], name) == 0)
      return TRUE;
  return FALSE;
}

void
xd_tray_shell_place (GtkMenuShell *shell, guint base, GtkWidget *const *items, guint n_items)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (shell));
  GList *l = g_list_nth (children, base);

  for (guint i = 0; i < n_items; i++)
    {
      if (l && l->data == items[i])
        {
          l = l->next;
          continue;
        }
      if (gtk_widget_get_parent (items[i]) == NULL)
        gtk_menu_shell_insert (shell, items[i], (gint) (base + i));
      else
        {
          /* Rows keep their relative order (their sort keys never change),
           * so this only happens if that assumption breaks; stay correct. */
          gtk_menu_reorder_child (GTK_MENU (shell), items[i], (gint) (base + i));
          g_list_free (children);
          children = gtk_container_get_children (GTK_CONTAINER (shell));
          l = g_list_nth (children, base + i + 1);
        }
    }
  g_list_free (children);
}

/* Brings the submenu to @state->vms, keeping the items of VMs still there. */
static void
update_submenu (XdTrayRow *row, const XdTrayRowState *state)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_full (state->vms->len + 1, vm_item_free);
  g_autoptr (GPtrArray) widgets = g_ptr_array_new ();
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
      g_ptr_array_add (widgets, vi->item);
    }
  for (guint j = 0; j < row->vm_items->len; j++)
    if (row->vm_items->pdata[j])
      vm_item_free (row->vm_items->pdata[j]);
  g_ptr_array_set_free_func (row->vm_items, NULL);
  g_ptr_array_unref (row->vm_items);
  row->vm_items = g_steal_pointer (&items);

  xd_tray_shell_place (GTK_MENU_SHELL (row->submenu), 0, (GtkWidget *const *) widgets->pdata,
                       widgets->len);
  gtk_widget_set_visible (row->no_vm, widgets->len == 0);
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

char *
xd_tray_row_format_text (const XdTrayRowState *state)
{
  const XdDevice *device = state->device;
  g_autofree char *port = xd_port_to_display (device->klass, device->port);
  g_autofree char *description = ellipsize (device->description, XD_TRAY_ROW_MAX_DESCRIPTION);
  char *text;

  if (device->klass == XD_CLASS_BLOCK && device->has_size)
    {
      g_autofree char *size = g_format_size (device->size);
      /* Translators: a block device row: BACKEND:PORT — DESCRIPTION, SIZE,
       * e.g. "sys-usb:sda1 — SanDisk Cruzer Blade, 8.0 GB". */
      text = g_strdup_printf (_ ("%s:%s — %s, %s"), state->backend_name, port ? port : device->port,
                              description, size);
    }
  else
    /* Translators: a device row: BACKEND:PORT — DESCRIPTION. */
    text = g_strdup_printf (_ ("%s:%s — %s"), state->backend_name, port ? port : device->port,
                            description);

  if (state->holders && state->holders[0])
    {
      g_autofree char *names = g_strjoinv (", ", (char **) state->holders);
      /* Translators: a device row and the VMs that hold the device,
       * e.g. "… (attached to work, personal)". Panels that show the menu
       * over D-Bus show no bold, so this text is how people see it. */
      text = take_printf (text, _ ("%s (attached to %s)"), text, names);
    }
  text = xd_device_is_dom0_input (device) ? take_printf (text, "%s ⚠", text) : text;
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
xd_tray_row_new (XdClassId klass, guint backend, const char *port, XdTrayRowVmActivated callback,
                 gpointer user_data)
{
  XdTrayRow *row = g_new0 (XdTrayRow, 1);
  GtkWidget *image;

  row->klass = klass;
  row->backend = backend;
  row->port = g_strdup (port);
  row->key = xd_device_key (klass, backend, port);
  row->callback = callback;
  row->user_data = user_data;
  row->vm_items = g_ptr_array_new ();

  row->item
    = g_object_ref_sink (new_box_item (xd_tray_row_class_icon (klass), &image, &row->label));
  row->submenu = gtk_menu_new ();
  /* "None" in a submenu as in an empty section: the same word everywhere. */
  row->no_vm = gtk_menu_item_new_with_label (_ ("None"));
  gtk_widget_set_sensitive (row->no_vm, FALSE);
  gtk_menu_shell_append (GTK_MENU_SHELL (row->submenu), row->no_vm);
  gtk_menu_item_set_submenu (GTK_MENU_ITEM (row->item), row->submenu);
  return row;
}

void
xd_tray_row_free (XdTrayRow *row)
{
  if (!row)
    return;
  g_ptr_array_set_free_func (row->vm_items, vm_item_free);
  g_ptr_array_unref (row->vm_items);
  gtk_widget_destroy (row->item);
  g_object_unref (row->item);
  g_free (row->port);
  g_free (row->key);
  g_free (row->text);
  g_free (row);
}

GtkWidget *
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
  gboolean bold = xd_device_is_attached (state->device);

  row->reflecting = TRUE;
  if (g_strcmp0 (text, row->text) != 0 || bold != row->bold)
    {
      set_label (row->label, text, bold);
      g_free (row->text);
      row->text = g_steal_pointer (&text);
      row->bold = bold;
    }
  update_submenu (row, state);
  row->reflecting = FALSE;
}
