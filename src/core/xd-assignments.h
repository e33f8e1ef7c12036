/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xd-class.h"

G_BEGIN_DECLS

/*
 * Persistent assignments: "whenever VM work starts, attach sys-usb:sda1 to it".
 * They live in one text file, <dir>/assignments, where <dir> is the state
 * directory (xd_assignments_default_dir ()). The format is described at the
 * top of xd-assignments.c and in the header the file is written with.
 *
 * Writers take an exclusive flock on <dir>/assignments.lock for the whole
 * read-modify-write and replace the file atomically (a temporary file in the
 * same directory, fsync, rename, fsync of the directory), so a crash at any
 * point leaves either the old or the new file. Readers take no lock: they see
 * one complete version or the other.
 *
 * Everything read back is validated. A file that does not parse is reported
 * as XD_ERROR_CORRUPT with "PATH:LINE: reason", and no writer replaces it
 * until a person has repaired or removed it.
 */

typedef struct
{
  XdClassId klass;
  char *backend;     /* VM name */
  char *port;        /* stored form (usb "2-1_3") */
  char *vm;          /* frontend VM name */
  char **options;    /* NULL-terminated "key=value", sorted by key; may be NULL in
                      * xd_assignments_add (), never NULL in a loaded snapshot */
  gboolean required; /* if the device is missing when the VM starts, the VM
                      * must not run */
} XdAssignment;

/* A loaded snapshot of the file; it does not change when the file does. */
typedef struct _XdAssignments XdAssignments;

/* $XEN_DEVICES_STATE_DIR when set and not empty, else /var/lib/xen-devices. */
const char *xd_assignments_default_dir (void);

/* Reads <dir>/assignments. A missing file (or directory) is an empty set.
 * Fails with XD_ERROR_CORRUPT when the file does not parse, XD_ERROR_FAILED
 * when it cannot be read. */
XdAssignments *xd_assignments_load (const char *dir, GError **error);
void xd_assignments_free (XdAssignments *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdAssignments, xd_assignments_free)

/* Both return a new array (unref it) of XdAssignment * that belong to @self,
 * sorted by class, backend, port, then VM. */
GPtrArray *xd_assignments_get (XdAssignments *self);
GPtrArray *xd_assignments_for_vm (XdAssignments *self, const char *vm);

/* TRUE when the device is assigned to more than one VM (for the "list" mark). */
gboolean xd_assignments_is_shared (XdAssignments *self, XdClassId klass, const char *backend,
                                   const char *port);

/* Whether xd_assignments_add () could write now: the directory can be made
 * and locked, the file is readable and not corrupt, and a file can be
 * created beside it. For a caller that must not act unless it can record
 * what it did (`attach --persistent`). */
gboolean xd_assignments_check_writable (const char *dir, GError **error);

/* Locked read-modify-write of <dir>/assignments, creating <dir> (0755) if
 * needed. Adds @assignment, or replaces the options and the required flag of
 * the assignment of the same device to the same VM. Its fields are validated
 * (XD_ERROR_INVALID) and its options normalised. Refuses with XD_ERROR_CORRUPT
 * while the file is corrupt. */
gboolean xd_assignments_add (const char *dir, const XdAssignment *assignment, GError **error);

/* Locked read-modify-write. Removes the assignment of device @backend:@port to
 * @vm (XD_ERROR_NOT_FOUND when there is none) or, when @backend and @port are
 * both NULL, every assignment of class @klass to @vm (none is not an error).
 * Refuses with XD_ERROR_CORRUPT while the file is corrupt. */
gboolean xd_assignments_remove (const char *dir, XdClassId klass, const char *backend,
                                const char *port, const char *vm, GError **error);

/*
 * Validates the options a person gives for a device of class @klass, each
 * "key=value" (@options may be NULL: no options). Only block devices have
 * options: frontend-dev (a Xen disk name, xvda to xvdzz), read-only (yes or
 * no), devtype (disk or cdrom). There are no aliases and no second spellings.
 * Fails with XD_ERROR_INVALID naming the option: an unknown key, a missing or
 * bad value, a key given twice. On success stores in *@normalised (if not
 * NULL) a new NULL-terminated copy sorted by key, empty for no options.
 */
gboolean xd_options_validate (XdClassId klass, const char *const *options, char ***normalised,
                              GError **error);

G_END_DECLS
