/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "core/xd-model.h"
#include "xd-tray-item.h"

G_BEGIN_DECLS

/*
 * One device row of the tray menu (private to src/tray): an entry with the
 * class icon and the row's text, and a submenu with one entry per VM the
 * device may go to, in either toolkit (xd-tray-item.h). The row owns its
 * entries and edits them in place; it never looks at the engine, it is told
 * what to show.
 */
typedef struct _XdTrayRow XdTrayRow;

typedef enum
{
  XD_TRAY_ROW_IDLE,
  XD_TRAY_ROW_ATTACHING,
  XD_TRAY_ROW_DETACHING,
} XdTrayRowBusy;

/* What a row shows; every string is plain text. */
typedef struct
{
  const XdDevice *device;
  const char *backend_name;
  /* Names of the VMs holding the device, in the order to show them. */
  const char *const *holders;
  gboolean is_new;
  XdTrayRowBusy busy;
  const char *busy_vm; /* the VM being attached to, when ATTACHING */
  /* XdVm *: the VMs to offer in the submenu, sorted by name. */
  GPtrArray *vms;
} XdTrayRowState;

/* A person picked @vm in the row's submenu; @holder says whether the row
 * showed @vm as a holder. Never called while the row is being updated. */
typedef void (*XdTrayRowVmActivated) (XdTrayRow *row, const char *vm, gboolean holder,
                                      gpointer user_data);

/* A lazy row's submenu is about to be shown while it is empty: the owner
 * calls xd_tray_row_update () now, which fills it. */
typedef void (*XdTrayRowWanted) (XdTrayRow *row, gpointer user_data);

/* Longest description shown in a row, in characters; longer ones end in "…". */
#define XD_TRAY_ROW_MAX_DESCRIPTION 64

XdTrayRow *xd_tray_row_new (XdTrayKit kit, XdClassId klass, guint backend, const char *port,
                            XdTrayRowVmActivated callback, XdTrayRowWanted wanted,
                            gpointer user_data);
/* Destroys the row's widgets. */
void xd_tray_row_free (XdTrayRow *row);

XdTrayItem *xd_tray_row_get_item (XdTrayRow *row);
const char *xd_tray_row_get_key (XdTrayRow *row);
XdClassId xd_tray_row_get_class (XdTrayRow *row);
guint xd_tray_row_get_backend (XdTrayRow *row);
const char *xd_tray_row_get_port (XdTrayRow *row);

/* Shows @state: changes only the properties that differ from what is shown,
 * so that dbusmenu sends only real changes. */
void xd_tray_row_update (XdTrayRow *row, const XdTrayRowState *state);

/* A row is eager at first: every update brings its submenu up to date. A
 * lazy row keeps its submenu empty until it is about to be shown (see
 * XdTrayRowWanted), then keeps it up to date until xd_tray_row_empty ().
 * Making a row lazy empties its submenu unless it is open. */
void xd_tray_row_set_lazy (XdTrayRow *row, gboolean lazy);
gboolean xd_tray_row_is_lazy (XdTrayRow *row);
/* Whether the submenu holds the VM items. */
gboolean xd_tray_row_is_filled (XdTrayRow *row);
/* Empties a lazy row's submenu unless it is open; TRUE if it did. */
gboolean xd_tray_row_empty (XdTrayRow *row);

/* The row's text, as shown and as exported over D-Bus. */
char *xd_tray_row_format_text (const XdTrayRowState *state);

/* The name of the icon shown for a device class. */
const char *xd_tray_row_class_icon (XdClassId klass);

G_END_DECLS
