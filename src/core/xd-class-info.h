/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xd-class.h"
#include "xd-model.h"

G_BEGIN_DECLS

/* Reads one node below a base path the caller chose; NULL if it is absent. */
typedef char *(*XdNodeReader) (const char *relative, gpointer data);

/*
 * Per-class behaviour as a plain table (in the manner of nm-applet's
 * per-device-type structs): how a published device is read and checked, which
 * backend kinds hold devices of the class and how a backend entry names the
 * devices it holds, and how a holder's options are written for people.
 */
typedef struct
{
  XdClassId id;
  const char *name;
  /* Backend directory names under /local/domain/<B>/backend that hold
   * devices of this class, NULL-terminated. */
  const char *const *backend_kinds;
  /* The keys read_backend reads in a backend entry, and those it reads in
   * libxl's record: what the first scan reads ahead (xd_engine_load ()). A
   * key left out of these lists is still read, only not ahead.
   * NULL-terminated. */
  const char *const *backend_keys;
  const char *const *record_keys;

  /* Fills the class-specific properties of @device from its published entry
   * (xd-device-entry.h; desc is read by the caller). Returns FALSE with a
   * reason in @why when the entry must be skipped. */
  gboolean (*read_properties) (XdDevice *device, XdNodeReader read, gpointer data, GString *why);

  /* Reads one backend entry /local/domain/<B>/backend/<kind>/<F>/<devid>
   * (through @read, relative to it; @read_record reads libxl's dom0-only copy
   * under /libxl/<F>/device/<kind>/<devid>) and appends the XdAttachment
   * holds to @out. What decides a holder (which device, which domain) comes
   * from dom0-only nodes: a backend's word that differs is not believed, and
   * the entry counts with TRUE and the difference in @why, to be reported.
   * Returns FALSE with a reason when the entry is malformed. */
  gboolean (*read_backend) (const char *kind, guint backend, guint frontend, guint devid,
                            XdNodeReader read, gpointer data, XdNodeReader read_record,
                            gpointer record_data, GPtrArray *out, GString *why);

  /* Appends the options of a holder, "read-only=yes, frontend-dev=xvdi",
   * or nothing when the class has none. */
  void (*format_options) (const XdAttachment *attachment, GString *out);
} XdClassInfo;

const XdClassInfo *xd_class_info_get (XdClassId klass);
/* The class whose backend_kinds contain @kind, or NULL. */
const XdClassInfo *xd_class_info_for_backend_kind (const char *kind);

G_END_DECLS
