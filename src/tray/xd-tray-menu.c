/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-tray-menu.h"

#include <glib/gi18n.h>

#include "core/xd-validate.h"
#include "xd-tray-row.h"

/* The menu is handed to AppIndicator once and edited in place: dbusmenu
 * mirrors each insert, removal and property change, so nothing here ever
 * rebuilds the menu. Engine signals only mark sections dirty; one idle
 * callback brings the dirty sections up to date (as nm-applet and
 * ayatana-indicator-power coalesce theirs). */

#define DEFAULT_NEW_SECONDS 120
/* Submenus are filled ahead, from model changes, while the menu has at most
 * this many VM entries in all (devices times running VMs): panels that never
 * send AboutToShow then still show them. Beyond it (a host with 1,000
 * devices and 50 VMs would need 50,000 entries, hundreds of MiB and seconds
 * to build and export) a submenu is filled when it is about to be shown, and
 * only the last few filled stay so. */
#define DEFAULT_EAGER_LIMIT 4096
#define MAX_LAZY_FILLED 8
/* A section of more devices than this, from more than one VM, shows one
 * entry per VM, its devices in that entry's submenu: the menu fits on a
 * screen sooner, and GTK (here in an XEmbed tray, or in the panel) has an
 * entry per VM to lay out when it opens rather than one per device (a flat
 * menu of 1,000 rows takes a third of a second and 17 MiB to open first). */
#define DEFAULT_GROUP_LIMIT 20

enum
{
  SECTION_BLOCK,
  SECTION_MIC,
  SECTION_USB,
  N_SECTIONS
};

/* The entry of one VM's devices in a grouped section. */
typedef struct
{
  XdTrayMenu *menu; /* not a reference: the menu owns it */
  XdClassId klass;
  guint backend;
  XdTrayItem *item;
  /* Whether its rows are made: at once where the panel is given the menu
   * filled ahead, else when the entry is first opened. */
  gboolean made;
  /* XdTrayRow *, in submenu order (not owned: the section's); empty until
   * made. */
  GPtrArray *rows;
  /* Its devices, and how many of them are attached and new. */
  guint n;
  guint n_attached;
  guint n_fresh;
} Group;

typedef struct
{
  XdClassId klass;
  XdTrayItem *header;
  XdTrayItem *none;
  XdTrayItem *separator; /* after the section; NULL for the last */
  /* XdTrayRow *, in menu order (the engine's: backend name, then port);
   * while grouped, only those of the groups made. */
  GPtrArray *rows;
  /* Whether rows are in their VM's Group rather than in the menu; whether
   * a Group's rows wait for it to be opened. */
  gboolean grouped;
  gboolean lazy_groups;
  /* Backend domid -> Group *, while grouped. */
  GHashTable *groups;
  gboolean dirty;
  guint n_devices;
  guint n_attached;
} Section;

/* An operation a click started: detach from each VM in @detach_from, then
 * attach to @vm if @attach. */
typedef struct
{
  XdTrayMenu *self; /* a reference */
  XdClassId klass;
  guint backend_domid;
  char *backend;
  char *port;
  char *key;
  char *display; /* "sys-usb:2-1.3" */
  char *vm;
  gboolean attach;
  GStrv detach_from;
  guint next;
  XdTrayRowBusy phase;
  char *phase_vm;
} Operation;

struct _XdTrayMenu
{
  GObject parent_instance;

  XdEngine *engine;
  XdTrayKit kit;
  XdTrayItem *root; /* the top-level menu */
  Section sections[N_SECTIONS];
  /* Device key -> XdTrayRow * (owned by the sections' arrays). */
  GHashTable *rows;
  /* Device key -> when it appeared (monotonic µs), for devices that appeared
   * while the menu ran and are still new. */
  GHashTable *appeared;
  /* Device key -> Operation * in progress. */
  GHashTable *operations;
  /* Keys of rows to bring up to date on their own: a change to one device
   * redraws its row, not its section. */
  GHashTable *dirty_rows;
  /* Keys of the devices shown as attached, for the section counts. */
  GHashTable *attached;
  /* Whether rows fill their submenus only when wanted; the lazy rows whose
   * submenus are filled, the most recently wanted first. */
  gboolean lazy;
  guint eager_limit;
  GQueue lazy_filled;
  guint group_limit;

  guint update_id;
  guint new_timer_id;
  gint64 new_timer_due;
  guint new_seconds;
  /* FALSE until the first update: devices seen before it are those present
   * at start-up, which are never "new". */
  gboolean started;
  char *summary;
};

enum
{
  SIGNAL_SUMMARY_CHANGED,
  SIGNAL_OPERATION_FINISHED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (XdTrayMenu, xd_tray_menu, G_TYPE_OBJECT)

static void update (XdTrayMenu *self);
static void operation_step (Operation *op);

/* ---- scheduling ---- */

static gboolean
update_cb (gpointer user_data)
{
  XdTrayMenu *self = user_data;

  self->update_id = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_update (XdTrayMenu *self)
{
  if (self->update_id == 0)
    self->update_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, update_cb, self, NULL);
}

static void
mark_class_dirty (XdTrayMenu *self, XdClassId klass)
{
  for (guint s = 0; s < N_SECTIONS; s++)
    if (self->sections[s].klass == klass)
      {
        self->sections[s].dirty = TRUE;
        schedule_update (self);
      }
}

static void
mark_all_dirty (XdTrayMenu *self)
{
  for (guint s = 0; s < N_SECTIONS; s++)
    self->sections[s].dirty = TRUE;
  schedule_update (self);
}

static void
mark_key_dirty (XdTrayMenu *self, const char *key)
{
  if (g_hash_table_contains (self->rows, key))
    {
      g_hash_table_add (self->dirty_rows, g_strdup (key));
      schedule_update (self);
    }
}

/* ---- engine signals ---- */

static void
device_added_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdTrayMenu *self = user_data;

  if (self->started)
    {
      gint64 *when = g_new (gint64, 1);
      *when = g_get_monotonic_time ();
      g_hash_table_replace (self->appeared,
                            xd_device_key (device->klass, device->backend, device->port), when);
    }
  mark_class_dirty (self, device->klass);
}

static void
device_changed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdTrayMenu *self = user_data;
  g_autofree char *key = xd_device_key (device->klass, device->backend, device->port);

  /* A change keeps the row where it is (rows are ordered by backend and
   * port): only that row needs redrawing. */
  if (g_hash_table_contains (self->rows, key))
    mark_key_dirty (self, key);
  else
    mark_class_dirty (self, device->klass);
}

static void
device_removed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdTrayMenu *self = user_data;
  g_autofree char *key = xd_device_key (device->klass, device->backend, device->port);

  g_hash_table_remove (self->appeared, key);
  mark_class_dirty (self, device->klass);
}

static void
vm_changed_cb (XdEngine *engine, XdVm *vm, gpointer user_data)
{
  /* Every submenu lists the running VMs. */
  mark_all_dirty (user_data);
}

/* ---- the "new" mark ---- */

static gint64
new_period_us (XdTrayMenu *self)
{
  return (gint64) self->new_seconds * G_USEC_PER_SEC;
}

static gboolean
new_timer_cb (gpointer user_data)
{
  XdTrayMenu *self = user_data;

  self->new_timer_id = 0;
  self->new_timer_due = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

/* Drops the marks that have expired and sets one timer for the next expiry
 * (not one per device). */
static void
expire_new_marks (XdTrayMenu *self, gint64 now)
{
  GHashTableIter iter;
  gpointer key, value;
  gint64 next_due = G_MAXINT64;

  g_hash_table_iter_init (&iter, self->appeared);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 due = *(gint64 *) value + new_period_us (self);
      if (due <= now)
        {
          if (g_hash_table_contains (self->rows, key))
            mark_key_dirty (self, key);
          else
            /* In a VM's entry not opened yet: its text counts the mark. */
            for (guint s = 0; s < N_SECTIONS; s++)
              self->sections[s].dirty |= self->sections[s].grouped;
          g_hash_table_iter_remove (&iter);
        }
      else
        next_due = MIN (next_due, due);
    }

  if (next_due == self->new_timer_due)
    return;
  g_clear_handle_id (&self->new_timer_id, g_source_remove);
  self->new_timer_due = 0;
  if (next_due != G_MAXINT64)
    {
      /* Round up: firing early would only set the same timer again. */
      guint ms = (guint) ((next_due - now + 999) / 1000);
      self->new_timer_id = g_timeout_add (ms, new_timer_cb, self);
      self->new_timer_due = next_due;
    }
}

/* ---- updating ---- */

static void row_vm_activated_cb (XdTrayRow *row, const char *vm, gboolean holder,
                                 gpointer user_data);

static void
update_row (XdTrayMenu *self, XdTrayRow *row, XdDevice *device, GPtrArray *vms)
{
  g_autoptr (GPtrArray) holders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) offered = g_ptr_array_new ();
  Operation *op = g_hash_table_lookup (self->operations, xd_tray_row_get_key (row));
  char buf[32];
  XdTrayRowState state = { 0 };

  for (guint i = 0; i < device->attachments->len; i++)
    {
      const XdAttachment *a = device->attachments->pdata[i];
      g_ptr_array_add (holders, g_strdup (xd_engine_vm_name (self->engine, a->frontend, buf)));
    }
  g_ptr_array_add (holders, NULL);
  /* Never dom0, never the device's own backend. */
  for (guint i = 0; i < vms->len; i++)
    {
      const XdVm *vm = vms->pdata[i];
      if (vm->domid != 0 && vm->domid != device->backend)
        g_ptr_array_add (offered, vms->pdata[i]);
    }

  state.device = device;
  state.backend_name = xd_engine_vm_name (self->engine, device->backend, buf);
  state.holders = (const char *const *) holders->pdata;
  state.is_new = g_hash_table_contains (self->appeared, xd_tray_row_get_key (row));
  state.busy = op ? op->phase : XD_TRAY_ROW_IDLE;
  state.busy_vm = op ? op->phase_vm : NULL;
  state.vms = offered;
  if (xd_tray_row_is_lazy (row) != self->lazy)
    {
      xd_tray_row_set_lazy (row, self->lazy);
      if (!self->lazy)
        g_queue_remove (&self->lazy_filled, row);
      else if (xd_tray_row_is_filled (row))
        g_queue_push_tail (&self->lazy_filled, row); /* was open: empty it later */
    }
  xd_tray_row_update (row, &state);
}

/* A lazy row's submenu is about to be shown: fill it, and empty the ones
 * filled longest ago beyond the few kept. */
static void
row_wanted_cb (XdTrayRow *row, gpointer user_data)
{
  XdTrayMenu *self = user_data;
  g_autoptr (GPtrArray) vms = NULL;
  XdDevice *device
    = xd_engine_lookup_device (self->engine, xd_tray_row_get_class (row),
                               xd_tray_row_get_backend (row), xd_tray_row_get_port (row));

  if (!device)
    return; /* its removal has marked the section */
  vms = xd_engine_get_vms (self->engine);
  update_row (self, row, device, vms);
  g_queue_remove (&self->lazy_filled, row);
  g_queue_push_head (&self->lazy_filled, row);
  for (GList *l = self->lazy_filled.tail; l && self->lazy_filled.length > MAX_LAZY_FILLED;)
    {
      GList *prev = l->prev;
      if (xd_tray_row_empty (l->data))
        g_queue_delete_link (&self->lazy_filled, l);
      l = prev;
    }
}

/* ---- groups: one entry per VM in a long section ---- */

static void
group_free (gpointer data)
{
  Group *group = data;

  /* Its rows have left its submenu: they are freed or placed elsewhere. */
  g_ptr_array_unref (group->rows);
  xd_tray_item_free (group->item);
  g_free (group);
}

/* The group's text, "sys-usb — 24 devices, 2 attached — NEW", in bold while
 * one of its devices is attached, as a row is. */
static void
group_refresh (XdTrayMenu *self, Group *group)
{
  guint n = group->n, attached = group->n_attached, fresh = group->n_fresh;
  g_autofree char *count = NULL, *held = NULL, *text = NULL;
  char buf[32];

  /* Translators: the entry of one VM's devices in a long section, e.g.
   * "sys-usb — 24 devices"; its submenu lists them. */
  count = g_strdup_printf (ngettext ("%s — %u device", "%s — %u devices", n),
                           xd_engine_vm_name (self->engine, group->backend, buf), n);
  held = attached
           /* Translators: the first %s is "sys-usb — 24 devices". */
           ? g_strdup_printf (ngettext ("%s, %u attached", "%s, %u attached", attached), count,
                              attached)
           : g_strdup (count);
  text = fresh ? g_strdup_printf (_ ("%s — NEW"), held) : g_strdup (held);
  xd_tray_item_set_text (group->item, text, attached > 0);
}

/* Whether @devices come from more than one VM. */
static gboolean
spans_backends (GPtrArray *devices)
{
  for (guint i = 1; i < devices->len; i++)
    if (((XdDevice *) devices->pdata[i])->backend != ((XdDevice *) devices->pdata[0])->backend)
      return TRUE;
  return FALSE;
}

static XdTrayRow *
new_row (XdTrayMenu *self, XdDevice *device)
{
  XdTrayRow *row = xd_tray_row_new (self->kit, device->klass, device->backend, device->port,
                                    row_vm_activated_cb, row_wanted_cb, self);

  g_hash_table_insert (self->rows, (gpointer) xd_tray_row_get_key (row), row);
  return row;
}

static Section *section_of (XdTrayMenu *self, XdClassId klass);

/* A VM's entry is opened for the first time (GTK selects it; a panel asks
 * for its submenu): its rows are made now and placed in it, before GTK
 * shows the submenu or the panel reads it. The section's next update puts
 * them in order with the rest. */
static void
group_wanted_cb (XdTrayItem *item, gpointer user_data)
{
  Group *group = user_data;
  XdTrayMenu *self = group->menu;
  Section *section = section_of (self, group->klass);
  g_autoptr (GPtrArray) devices = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (GPtrArray) items = g_ptr_array_new ();

  if (group->made)
    return;
  group->made = TRUE;
  devices = xd_engine_get_devices (self->engine, group->klass);
  vms = xd_engine_get_vms (self->engine);
  for (guint i = 0; i < devices->len; i++)
    {
      XdDevice *device = devices->pdata[i];
      g_autofree char *key = NULL;
      XdTrayRow *row;

      if (device->backend != group->backend)
        continue;
      key = xd_device_key (device->klass, device->backend, device->port);
      if (!(row = g_hash_table_lookup (self->rows, key)))
        {
          row = new_row (self, device);
          g_ptr_array_add (section->rows, row);
        }
      update_row (self, row, device, vms);
      g_ptr_array_add (group->rows, row);
      g_ptr_array_add (items, xd_tray_row_get_item (row));
    }
  xd_tray_item_place (group->item, 0, (XdTrayItem *const *) items->pdata, items->len);
}

/* A made group's counts of attached and new devices, from its rows. */
static void
count_rows (XdTrayMenu *self, Group *group)
{
  group->n_attached = group->n_fresh = 0;
  for (guint i = 0; i < group->rows->len; i++)
    {
      const char *key = xd_tray_row_get_key (group->rows->pdata[i]);
      group->n_attached += g_hash_table_contains (self->attached, key);
      group->n_fresh += g_hash_table_contains (self->appeared, key);
    }
}

/* The group of @device's VM in @section, made if it has none yet (it is
 * dropped by place_groups () once it counts no device). */
static Group *
group_of (XdTrayMenu *self, Section *section, XdDevice *device)
{
  Group *group = g_hash_table_lookup (section->groups, GUINT_TO_POINTER (device->backend));

  if (group)
    return group;
  group = g_new0 (Group, 1);
  group->menu = self;
  group->klass = section->klass;
  group->backend = device->backend;
  group->made = !section->lazy_groups;
  group->rows = g_ptr_array_new ();
  group->item = xd_tray_item_new (self->kit, XD_TRAY_ITEM_ICON | XD_TRAY_ITEM_SUBMENU);
  xd_tray_item_set_icon (group->item, xd_tray_row_class_icon (section->klass));
  xd_tray_item_connect (group->item, NULL, group_wanted_cb, group);
  g_hash_table_insert (section->groups, GUINT_TO_POINTER (device->backend), group);
  return group;
}

/* Drops the groups left empty (their rows are freed by now), puts the
 * section's rows (those of the groups made) into their groups' submenus,
 * and refreshes every group's text. */
static void
place_groups (XdTrayMenu *self, Section *section)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, section->groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Group *) value)->n == 0)
      g_hash_table_iter_remove (&iter);
    else
      g_ptr_array_set_size (((Group *) value)->rows, 0);
  for (guint i = 0; i < section->rows->len; i++)
    {
      XdTrayRow *row = section->rows->pdata[i];
      Group *group
        = g_hash_table_lookup (section->groups, GUINT_TO_POINTER (xd_tray_row_get_backend (row)));
      g_ptr_array_add (group->rows, row);
    }
  g_hash_table_iter_init (&iter, section->groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Group *group = value;

      /* Not made: GTK's submenu waits to be made too. */
      if (group->made)
        {
          g_ptr_array_set_size (items, 0);
          for (guint r = 0; r < group->rows->len; r++)
            g_ptr_array_add (items, xd_tray_row_get_item (group->rows->pdata[r]));
          xd_tray_item_place (group->item, 0, (XdTrayItem *const *) items->pdata, items->len);
        }
      group_refresh (self, group);
    }
}

/* Frees a row and forgets it. */
static void
forget_row (XdTrayMenu *self, XdTrayRow *row)
{
  g_hash_table_remove (self->attached, xd_tray_row_get_key (row));
  g_hash_table_remove (self->dirty_rows, xd_tray_row_get_key (row));
  g_hash_table_remove (self->rows, xd_tray_row_get_key (row));
  g_queue_remove (&self->lazy_filled, row);
  xd_tray_row_free (row);
}

/* Brings one section up to date with the engine: rows of devices still
 * there are updated in place, new rows inserted where they belong, rows of
 * devices gone removed. */
static void
update_section (XdTrayMenu *self, Section *section, GPtrArray *devices, GPtrArray *vms)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_full (devices->len, NULL);
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  g_autoptr (GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer value;
  gboolean grouped = devices->len > self->group_limit && spans_backends (devices);
  /* GTK makes a group's rows when a person opens it. A panel is given them
   * when it asks (AboutToShow) in a menu too large to fill ahead, as the
   * rows' own submenus are. */
  gboolean lazy_groups = self->kit == XD_TRAY_KIT_GTK || self->lazy;

  if (grouped != section->grouped || (grouped && lazy_groups != section->lazy_groups))
    {
      /* The rows change containers: they are made again, in the new one. */
      g_debug ("%s: %s", xd_class_id_to_string (section->klass),
               grouped ? "one entry per VM" : "one entry per device");
      for (guint i = 0; i < section->rows->len; i++)
        forget_row (self, section->rows->pdata[i]);
      g_ptr_array_set_size (section->rows, 0);
      g_hash_table_remove_all (section->groups);
      section->grouped = grouped;
    }
  section->lazy_groups = lazy_groups;
  section->n_devices = devices->len;
  section->n_attached = 0;
  /* Each group counts its devices anew; those left at none are dropped. */
  g_hash_table_iter_init (&iter, section->groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((Group *) value)->n = ((Group *) value)->n_attached = ((Group *) value)->n_fresh = 0;
  for (guint i = 0; i < devices->len; i++)
    {
      XdDevice *device = devices->pdata[i];
      g_autofree char *key = xd_device_key (device->klass, device->backend, device->port);
      XdTrayRow *row = g_hash_table_lookup (self->rows, key);
      Group *group = grouped ? group_of (self, section, device) : NULL;

      if (group)
        {
          /* Entries in the order of their VMs' first devices. */
          if (group->n++ == 0)
            g_ptr_array_add (entries, group->item);
          group->n_attached += xd_device_is_attached (device);
          group->n_fresh += g_hash_table_contains (self->appeared, key);
        }
      if (xd_device_is_attached (device))
        {
          section->n_attached++;
          g_hash_table_add (self->attached, g_strdup (key));
        }
      else
        g_hash_table_remove (self->attached, key);
      if (group && !group->made)
        continue; /* no row until its VM's entry is opened */
      if (!row)
        row = new_row (self, device);
      update_row (self, row, device, vms);
      g_hash_table_remove (self->dirty_rows, xd_tray_row_get_key (row));
      g_hash_table_add (keep, (gpointer) xd_tray_row_get_key (row));
      g_ptr_array_add (rows, row);
      if (!grouped)
        g_ptr_array_add (entries, xd_tray_row_get_item (row));
    }

  for (guint i = 0; i < section->rows->len; i++)
    {
      XdTrayRow *row = section->rows->pdata[i];
      if (!g_hash_table_contains (keep, xd_tray_row_get_key (row)))
        forget_row (self, row);
    }
  g_ptr_array_unref (section->rows);
  section->rows = g_steal_pointer (&rows);
  if (grouped)
    place_groups (self, section);

  xd_tray_item_place (self->root, (guint) xd_tray_item_position (self->root, section->header) + 1,
                      (XdTrayItem *const *) entries->pdata, entries->len);
  xd_tray_item_set_visible (section->none, devices->len == 0);
  section->dirty = FALSE;
}

static void
update_summary (XdTrayMenu *self)
{
  g_autofree char *summary = xd_tray_menu_dup_summary (self);

  if (g_strcmp0 (summary, self->summary) == 0)
    return;
  g_free (self->summary);
  self->summary = g_steal_pointer (&summary);
  g_signal_emit (self, signals[SIGNAL_SUMMARY_CHANGED], 0);
}

static Section *
section_of (XdTrayMenu *self, XdClassId klass)
{
  for (guint s = 0; s < N_SECTIONS; s++)
    if (self->sections[s].klass == klass)
      return &self->sections[s];
  return NULL;
}

/* The rows marked on their own whose section was not rebuilt. */
static void
update_dirty_rows (XdTrayMenu *self, GPtrArray *vms)
{
  g_autoptr (GPtrArray) groups = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->dirty_rows);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      XdTrayRow *row = g_hash_table_lookup (self->rows, key);
      Section *section;
      XdDevice *device;
      gboolean was, now;

      if (!row)
        continue;
      section = section_of (self, xd_tray_row_get_class (row));
      device = xd_engine_lookup_device (self->engine, xd_tray_row_get_class (row),
                                        xd_tray_row_get_backend (row), xd_tray_row_get_port (row));
      if (!device)
        continue; /* its removal marked the section */
      update_row (self, row, device, vms);
      was = g_hash_table_contains (self->attached, key);
      now = xd_device_is_attached (device);
      if (section && was != now)
        {
          if (now)
            {
              section->n_attached++;
              g_hash_table_add (self->attached, g_strdup (key));
            }
          else
            {
              section->n_attached--;
              g_hash_table_remove (self->attached, key);
            }
        }
      /* Its group's text counts what is attached and new. */
      if (section && section->grouped)
        {
          Group *group = g_hash_table_lookup (section->groups,
                                              GUINT_TO_POINTER (xd_tray_row_get_backend (row)));
          if (group && !g_ptr_array_find (groups, group, NULL))
            g_ptr_array_add (groups, group);
        }
    }
  g_hash_table_remove_all (self->dirty_rows);
  for (guint i = 0; i < groups->len; i++)
    {
      count_rows (self, groups->pdata[i]);
      group_refresh (self, groups->pdata[i]);
    }
}

static void
update (XdTrayMenu *self)
{
  g_autoptr (GPtrArray) vms = xd_engine_get_vms (self->engine);
  GPtrArray *devices[N_SECTIONS] = { NULL };
  guint64 n_devices = 0;
  gboolean lazy;

  g_clear_handle_id (&self->update_id, g_source_remove);
  expire_new_marks (self, g_get_monotonic_time ());
  for (guint s = 0; s < N_SECTIONS; s++)
    {
      Section *section = &self->sections[s];
      if (section->dirty)
        devices[s] = xd_engine_get_devices (self->engine, section->klass);
      n_devices += devices[s] ? devices[s]->len : section->n_devices;
    }
  /* Decided before any row is made, so that no submenu is filled for
   * nothing; a change of mode goes through every row. */
  lazy = n_devices * vms->len > self->eager_limit;
  if (lazy != self->lazy)
    {
      g_debug ("submenus are now filled %s (%" G_GUINT64_FORMAT " devices, %u VMs)",
               lazy ? "when shown" : "ahead", n_devices, vms->len);
      self->lazy = lazy;
      for (guint s = 0; s < N_SECTIONS; s++)
        self->sections[s].dirty = TRUE;
    }
  for (guint s = 0; s < N_SECTIONS; s++)
    if (self->sections[s].dirty)
      {
        g_autoptr (GPtrArray) section_devices
          = devices[s] ? devices[s] : xd_engine_get_devices (self->engine, self->sections[s].klass);
        update_section (self, &self->sections[s], section_devices, vms);
      }
  update_dirty_rows (self, vms);
  self->started = TRUE;
  update_summary (self);
}

/* ---- operations ---- */

static void
operation_free (Operation *op)
{
  g_object_unref (op->self);
  g_free (op->backend);
  g_free (op->port);
  g_free (op->key);
  g_free (op->display);
  g_free (op->vm);
  g_strfreev (op->detach_from);
  g_free (op->phase_vm);
  g_free (op);
}

static void
operation_set_phase (Operation *op, XdTrayRowBusy phase, const char *vm)
{
  op->phase = phase;
  g_free (op->phase_vm);
  op->phase_vm = g_strdup (vm);
  mark_key_dirty (op->self, op->key);
}

static void
operation_finish (Operation *op, const GError *error)
{
  XdTrayMenu *self = op->self;

  if (error)
    g_debug ("%s %s %s failed: %s", op->attach ? "attaching" : "detaching", op->display, op->vm,
             error->message);
  g_hash_table_remove (self->operations, op->key);
  mark_key_dirty (self, op->key);
  g_signal_emit (self, signals[SIGNAL_OPERATION_FINISHED], 0, op->attach, op->display, op->vm,
                 error);
  operation_free (op);
}

static void
attach_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Operation *op = user_data;
  g_autoptr (GError) error = NULL;

  xd_engine_attach_finish (XD_ENGINE (source), result, &error);
  operation_finish (op, error);
}

static void
detach_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Operation *op = user_data;
  g_autoptr (GError) error = NULL;

  if (!xd_engine_detach_finish (XD_ENGINE (source), result, NULL, &error))
    {
      /* Stop here: attaching elsewhere would fail or, worse, succeed while
       * the old holder still has the device. */
      operation_finish (op, error);
      return;
    }
  op->next++;
  operation_step (op);
}

static void
operation_step (Operation *op)
{
  XdTrayMenu *self = op->self;

  if (op->detach_from && op->detach_from[op->next])
    {
      operation_set_phase (op, XD_TRAY_ROW_DETACHING, NULL);
      xd_engine_detach_async (self->engine, op->klass, op->backend, op->port,
                              op->detach_from[op->next], NULL, detach_done_cb, op);
    }
  else if (op->attach)
    {
      operation_set_phase (op, XD_TRAY_ROW_ATTACHING, op->vm);
      /* NULL options: the engine picks the first free frontend-dev. */
      xd_engine_attach_async (self->engine, op->klass, op->backend, op->port, op->vm, NULL, NULL,
                              attach_done_cb, op);
    }
  else
    operation_finish (op, NULL);
}

static void
row_vm_activated_cb (XdTrayRow *row, const char *vm, gboolean holder, gpointer user_data)
{
  XdTrayMenu *self = user_data;
  const char *key = xd_tray_row_get_key (row);
  XdDevice *device;
  Operation *op;
  char buf[32];
  g_autoptr (GPtrArray) detach_from = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *port = NULL;

  /* The items are insensitive while an operation runs; this is the guard
   * for an activation already queued. */
  if (g_hash_table_contains (self->operations, key))
    return;
  device = xd_engine_lookup_device (self->engine, xd_tray_row_get_class (row),
                                    xd_tray_row_get_backend (row), xd_tray_row_get_port (row));
  if (!device)
    return;

  op = g_new0 (Operation, 1);
  op->self = g_object_ref (self);
  op->klass = device->klass;
  op->backend_domid = device->backend;
  op->backend = g_strdup (xd_engine_vm_name (self->engine, device->backend, buf));
  op->port = g_strdup (device->port);
  op->key = g_strdup (key);
  port = xd_port_to_display (device->klass, device->port);
  op->display = g_strdup_printf ("%s:%s", op->backend, port ? port : device->port);
  op->vm = g_strdup (vm);
  op->attach = !holder;
  if (holder)
    g_ptr_array_add (detach_from, g_strdup (vm));
  else if (device->klass != XD_CLASS_MIC)
    /* One holder at a time, except for the microphone: move the device. */
    for (guint i = 0; i < device->attachments->len; i++)
      {
        const XdAttachment *a = device->attachments->pdata[i];
        g_ptr_array_add (detach_from,
                         g_strdup (xd_engine_vm_name (self->engine, a->frontend, buf)));
      }
  g_ptr_array_add (detach_from, NULL);
  op->detach_from = (GStrv) g_ptr_array_free (g_steal_pointer (&detach_from), FALSE);

  g_hash_table_insert (self->operations, op->key, op);
  operation_step (op);
}

/* ---- construction ---- */

/* An insensitive entry (a header, "None") or a separator. */
static XdTrayItem *
new_fixed_entry (XdTrayMenu *self, XdTrayItemFlags flags, const char *text)
{
  XdTrayItem *item = xd_tray_item_new (self->kit, flags);

  if (text)
    {
      xd_tray_item_set_text (item, text, FALSE);
      xd_tray_item_set_sensitive (item, FALSE);
    }
  return item;
}

/* The top-level menu with the sections' fixed entries: header, "None",
 * separator. Rows go between a header and its "None". */
static void
build_skeleton (XdTrayMenu *self)
{
  const char *titles[N_SECTIONS] = {
    [SECTION_BLOCK] = _ ("Block devices"),
    [SECTION_MIC] = _ ("Microphones"),
    [SECTION_USB] = _ ("USB devices"),
  };
  const XdClassId classes[N_SECTIONS] = {
    [SECTION_BLOCK] = XD_CLASS_BLOCK,
    [SECTION_MIC] = XD_CLASS_MIC,
    [SECTION_USB] = XD_CLASS_USB,
  };
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();

  self->root = xd_tray_item_new (self->kit, XD_TRAY_ITEM_MENU);
  for (guint s = 0; s < N_SECTIONS; s++)
    {
      Section *section = &self->sections[s];

      section->klass = classes[s];
      section->rows = g_ptr_array_new ();
      section->groups = g_hash_table_new_full (NULL, NULL, NULL, group_free);
      section->grouped = FALSE;
      section->dirty = TRUE;
      section->header = new_fixed_entry (self, XD_TRAY_ITEM_PLAIN, titles[s]);
      section->none = new_fixed_entry (self, XD_TRAY_ITEM_PLAIN, _ ("None"));
      g_ptr_array_add (entries, section->header);
      g_ptr_array_add (entries, section->none);
      if (s + 1 < N_SECTIONS)
        {
          section->separator = new_fixed_entry (self, XD_TRAY_ITEM_SEPARATOR, NULL);
          g_ptr_array_add (entries, section->separator);
        }
    }
  xd_tray_item_place (self->root, 0, (XdTrayItem *const *) entries->pdata, entries->len);
}

/* Destroys every entry, the rows' with them; the model stays. */
static void
destroy_entries (XdTrayMenu *self)
{
  g_queue_clear (&self->lazy_filled);
  g_hash_table_remove_all (self->rows);
  g_hash_table_remove_all (self->dirty_rows);
  g_hash_table_remove_all (self->attached);
  for (guint s = 0; s < N_SECTIONS; s++)
    {
      Section *section = &self->sections[s];
      if (section->rows)
        {
          g_ptr_array_set_free_func (section->rows, (GDestroyNotify) xd_tray_row_free);
          g_clear_pointer (&section->rows, g_ptr_array_unref);
        }
      /* After the rows, which were in the groups' submenus. */
      g_clear_pointer (&section->groups, g_hash_table_unref);
      section->grouped = FALSE;
      g_clear_pointer (&section->header, xd_tray_item_free);
      g_clear_pointer (&section->none, xd_tray_item_free);
      g_clear_pointer (&section->separator, xd_tray_item_free);
      section->n_devices = 0;
      section->n_attached = 0;
    }
  g_clear_pointer (&self->root, xd_tray_item_free);
}

XdTrayMenu *
xd_tray_menu_new (XdEngine *engine)
{
  return xd_tray_menu_new_with_kit (engine, XD_TRAY_KIT_GTK);
}

XdTrayMenu *
xd_tray_menu_new_with_kit (XdEngine *engine, XdTrayKit kit)
{
  XdTrayMenu *self;

  g_return_val_if_fail (XD_IS_ENGINE (engine), NULL);

  self = g_object_new (XD_TYPE_TRAY_MENU, NULL);
  self->engine = g_object_ref (engine);
  self->kit = kit;
  g_signal_connect_object (engine, "device-added", G_CALLBACK (device_added_cb), self, 0);
  g_signal_connect_object (engine, "device-changed", G_CALLBACK (device_changed_cb), self, 0);
  g_signal_connect_object (engine, "device-removed", G_CALLBACK (device_removed_cb), self, 0);
  g_signal_connect_object (engine, "vm-added", G_CALLBACK (vm_changed_cb), self, 0);
  g_signal_connect_object (engine, "vm-removed", G_CALLBACK (vm_changed_cb), self, 0);
  build_skeleton (self);
  schedule_update (self);
  return self;
}

GtkMenu *
xd_tray_menu_get_menu (XdTrayMenu *self)
{
  g_return_val_if_fail (XD_IS_TRAY_MENU (self), NULL);
  g_return_val_if_fail (self->kit == XD_TRAY_KIT_GTK, NULL);
  return GTK_MENU (xd_tray_item_get_widget (self->root));
}

XdMenuNode *
xd_tray_menu_get_dbusmenu_root (XdTrayMenu *self)
{
  g_return_val_if_fail (XD_IS_TRAY_MENU (self), NULL);
  g_return_val_if_fail (self->kit == XD_TRAY_KIT_DBUSMENU, NULL);
  return xd_tray_item_get_node (self->root);
}

XdTrayKit
xd_tray_menu_get_kit (XdTrayMenu *self)
{
  return self->kit;
}

void
xd_tray_menu_set_kit (XdTrayMenu *self, XdTrayKit kit)
{
  g_return_if_fail (XD_IS_TRAY_MENU (self));
  if (self->kit == kit)
    return;
  g_debug ("the menu is now drawn by %s", kit == XD_TRAY_KIT_GTK ? "GTK" : "the panel");
  destroy_entries (self);
  self->kit = kit;
  build_skeleton (self);
  mark_all_dirty (self);
  update (self);
}

char *
xd_tray_menu_dup_summary (XdTrayMenu *self)
{
  guint n = 0, attached = 0;
  g_autofree char *devices = NULL;

  g_return_val_if_fail (XD_IS_TRAY_MENU (self), NULL);
  for (guint s = 0; s < N_SECTIONS; s++)
    {
      n += self->sections[s].n_devices;
      attached += self->sections[s].n_attached;
    }
  devices = g_strdup_printf (ngettext ("%u device", "%u devices", n), n);
  /* Translators: the first %s is "N device(s)", e.g. "7 devices, 2 attached". */
  return g_strdup_printf (ngettext ("%s, %u attached", "%s, %u attached", attached), devices,
                          attached);
}

void
xd_tray_menu_flush (XdTrayMenu *self)
{
  g_return_if_fail (XD_IS_TRAY_MENU (self));
  if (self->update_id)
    update (self);
}

void
xd_tray_menu_set_new_seconds (XdTrayMenu *self, guint seconds)
{
  g_return_if_fail (XD_IS_TRAY_MENU (self));
  self->new_seconds = seconds;
  g_clear_handle_id (&self->new_timer_id, g_source_remove);
  self->new_timer_due = 0;
  mark_all_dirty (self);
}

void
xd_tray_menu_set_eager_limit (XdTrayMenu *self, guint entries)
{
  g_return_if_fail (XD_IS_TRAY_MENU (self));
  self->eager_limit = entries;
  mark_all_dirty (self);
}

void
xd_tray_menu_set_group_limit (XdTrayMenu *self, guint devices)
{
  g_return_if_fail (XD_IS_TRAY_MENU (self));
  self->group_limit = devices;
  mark_all_dirty (self);
}

gboolean
xd_tray_menu_is_lazy (XdTrayMenu *self)
{
  g_return_val_if_fail (XD_IS_TRAY_MENU (self), FALSE);
  return self->lazy;
}

static void
xd_tray_menu_dispose (GObject *object)
{
  XdTrayMenu *self = XD_TRAY_MENU (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
  g_clear_handle_id (&self->new_timer_id, g_source_remove);
  destroy_entries (self);
  g_clear_object (&self->engine);
  G_OBJECT_CLASS (xd_tray_menu_parent_class)->dispose (object);
}

static void
xd_tray_menu_finalize (GObject *object)
{
  XdTrayMenu *self = XD_TRAY_MENU (object);

  g_hash_table_unref (self->rows);
  g_hash_table_unref (self->appeared);
  /* Every operation holds a reference, so none is left here. */
  g_hash_table_unref (self->operations);
  g_hash_table_unref (self->dirty_rows);
  g_hash_table_unref (self->attached);
  g_free (self->summary);
  G_OBJECT_CLASS (xd_tray_menu_parent_class)->finalize (object);
}

static void
xd_tray_menu_class_init (XdTrayMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = xd_tray_menu_dispose;
  object_class->finalize = xd_tray_menu_finalize;

  signals[SIGNAL_SUMMARY_CHANGED]
    = g_signal_new ("summary-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_OPERATION_FINISHED] = g_signal_new (
    "operation-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
    G_TYPE_NONE, 4, G_TYPE_BOOLEAN, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_POINTER);
}

static void
xd_tray_menu_init (XdTrayMenu *self)
{
  self->rows = g_hash_table_new (g_str_hash, g_str_equal);
  self->appeared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->operations = g_hash_table_new (g_str_hash, g_str_equal);
  self->dirty_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->attached = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->new_seconds = DEFAULT_NEW_SECONDS;
  self->eager_limit = DEFAULT_EAGER_LIMIT;
  self->group_limit = DEFAULT_GROUP_LIMIT;
  g_queue_init (&self->lazy_filled);
}
