/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A published device is one xenstore node,
 * /local/domain/<B>/data/xen-devices/<class>/<port>, whose value is its
 * properties as lines of key=value:
 *
 *   desc=SanDisk Cruzer Blade
 *   size=16008609792
 *   mode=w
 *
 * One node, so that a device appears, changes and goes in one write (no
 * half-written device, no transaction) and is read in one request: reading
 * a host costs one request per device, not one per property.
 *
 * The value comes from the backend VM and is untrusted. Keys are
 * [a-z][a-z0-9-]*, at most 32 characters; a value runs to the end of its
 * line (it may hold '=', never a newline or a NUL); the last line may end in
 * a newline. A key given twice, a line without '=', a bad key, a NUL byte,
 * more than XD_DEVICE_ENTRY_MAX bytes or XD_DEVICE_ENTRY_MAX_LINES lines make
 * the whole entry invalid. Keys
 * that no class reads are allowed (and ignored), so that newer agents can
 * add some. Each value is then checked by the class that reads it.
 */
#define XD_DEVICE_ENTRY_MAX 4096
#define XD_DEVICE_ENTRY_MAX_LINES 64
#define XD_DEVICE_ENTRY_KEY_MAX 32

typedef struct _XdDeviceEntry XdDeviceEntry;

/* NULL, with the reason in @why, when @value (of @len bytes) is not valid. */
XdDeviceEntry *xd_device_entry_parse (const char *value, gsize len, GString *why);
void xd_device_entry_free (XdDeviceEntry *entry);
/* The value of @key, or NULL. */
const char *xd_device_entry_get (const XdDeviceEntry *entry, const char *key);
/* The description @entry gives its device, sanitised for display
 * (xd_sanitize_description ()); NULL, with the reason in @why, when it has
 * none or nothing of it can be shown: "desc" is required. */
char *xd_device_entry_description (const XdDeviceEntry *entry, GString *why);
/* An XdNodeReader (xd-class-info.h) over @entry: a copy of the value of
 * @key, or NULL. */
char *xd_device_entry_read (const char *key, gpointer entry);

/* Whether @key may be written. */
gboolean xd_device_entry_valid_key (const char *key);
/* The value to write for @kv (key, value, key, value..., NULL): NULL when a
 * key is not valid or a value holds a newline, or the result is too long. */
char *xd_device_entry_format (const char *const *kv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdDeviceEntry, xd_device_entry_free)

G_END_DECLS
