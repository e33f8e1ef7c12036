/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "xd-class.h"

G_BEGIN_DECLS

/*
 * Everything a backend VM publishes under
 * /local/domain/<B>/data/xen-devices/<class>/<port>/ is written by that VM and
 * so is untrusted; everything a person types is unchecked. Both pass through
 * these functions before the rest of the program sees them. The parsers never
 * accept a second spelling of the same value unless noted, so that stored ids
 * can be compared as strings.
 *
 * The validators and parsers accept NULL input and reject it, because a
 * xenstore read of a missing node yields NULL and that is the VM's doing, not
 * a programmer error. Output arguments may be NULL when only the verdict is
 * wanted; they are written only on success.
 */

/* Maximum description length, in characters, after sanitising. */
#define XD_DESCRIPTION_MAX_CHARS 128
/* Most combining marks kept on one character (scripts need two or three;
 * more only stacks glyphs over the neighbouring text). */
#define XD_DESCRIPTION_MAX_MARKS 4
/* Largest domid accepted (DOMID_FIRST_RESERVED - 1). */
#define XD_DOMID_MAX 0x7FEF

/*
 * Port ids as stored in xenstore. A xenstore path component allows no ':' and
 * no '.', so ports shown to people with those characters are stored with '_'.
 *
 * - block: [a-z0-9-]{1,12}, not starting with '-' (a kernel block device name
 *   never does, and a leading '-' would read as an option to any tool the id
 *   is handed to).
 * - mic: exactly "mic".
 * - usb: BUS-PORT[_PORT]... as in sysfs, e.g. "2-1_3" for the device shown as
 *   "2-1.3"; at most 31 characters. Each number has 1 to 3 digits, no leading
 *   zero and is not 0 (Linux numbers buses and hub ports from 1), so each
 *   device has exactly one stored spelling.
 * - pci: "bb_ss_f" (bus_slot_func, lowercase hex), shown as "bb:ss.f"; the slot
 *   is at most 1f and the function at most 7. Only PCI domain 0000 exists here.
 */
gboolean xd_validate_port (XdClassId klass, const char *port);

/* Stored form -> form shown to people (usb "2-1_3" -> "2-1.3"; pci "00_1f_3" ->
 * "00:1f.3"; others unchanged). Returns NULL if the stored port is invalid. */
char *xd_port_to_display (XdClassId klass, const char *port);

/* What a person typed -> stored form, validated. Accepts both the display and
 * the stored spelling (not a mixture of the two). For pci it also accepts
 * uppercase hex and a leading "0000:" domain, as lspci -D and xl print it, and
 * returns lowercase. Fails with XD_ERROR_INVALID naming the bad id. */
char *xd_port_from_display (XdClassId klass, const char *display, GError **error);

/*
 * Sanitises an untrusted description of @len raw bytes, which need not be
 * NUL-terminated and may contain NULs. Never returns NULL; NULL @raw gives "".
 *
 * Invalid UTF-8 becomes U+FFFD, one per bad byte. Whitespace (tab, newline,
 * other C0 spacing controls, NEL, Unicode space, line and paragraph
 * separators, and the letters that render blank: Hangul fillers, U+2800,
 * Khmer's inherent vowels) becomes a space; runs of spaces collapse to one
 * and leading and trailing space is trimmed. Combining marks beyond
 * XD_DESCRIPTION_MAX_MARKS on one character, or on none (after a space, at
 * the start), are dropped. Every other character that is not printable is
 * dropped: C0 and C1 controls, DEL, format characters (bidi overrides such as
 * U+202E, zero-width characters), unassigned code points. So an ANSI escape
 * "\x1b[31m" loses its ESC and is left harmless as "[31m". The result has at
 * most XD_DESCRIPTION_MAX_CHARS characters; a truncated result ends in "…".
 *
 * Markup characters < > & " ' are kept verbatim: the result is plain text,
 * and whoever renders it as markup must escape it there
 * (g_markup_escape_text()). Runs in time linear in @len and stops reading once
 * the limit is reached.
 */
char *xd_sanitize_description (const char *raw, gsize len);

/* Decimal digits only: no sign, space or '+'; 1 to 20 digits, no overflow of
 * guint64. Leading zeros are allowed (a size is a number, not an id). */
gboolean xd_parse_size (const char *s, guint64 *out);

/* Exactly "r" or "w". */
gboolean xd_parse_mode (const char *s, char *out);

/* Decimal domid 0..XD_DOMID_MAX, digits only, no leading zeros (except "0"). */
gboolean xd_parse_domid (const char *s, guint *out);

/* VM names as Xen/Qubes allow: ^[a-zA-Z][a-zA-Z0-9_.-]*$, 1..31 characters.
 * The leading letter rules out ".", ".." and names that look like options. */
gboolean xd_validate_vm_name (const char *name);

/* USB interface list as ":ccssii:" triples of hex (class, subclass,
 * protocol), either case, e.g. ":080650:" or ":030101:030102:"; 1 to 32
 * interfaces. Stores a lowercase copy in *@out (if @out is not NULL). */
gboolean xd_parse_usb_interfaces (const char *s, char **out);

/* What a usb device is used as by its backend: "keyboard", "mouse" or
 * "keyboard,mouse" exactly. *@out gets XdInputFlags (xd-model.h). */
gboolean xd_parse_usb_input (const char *s, guint *out);

/* "BACKEND:PORT" as typed by a person, e.g. "sys-usb:sda1", "sys-usb:2-1.3",
 * "dom0:mic", "dom0:00:1f.3". Splits at the first ':' (VM names contain none;
 * a pci port does), validates the backend with xd_validate_vm_name() and the
 * port with xd_port_from_display() and returns the port in stored form. Fails
 * with XD_ERROR_INVALID and a message naming the bad input. */
gboolean xd_parse_device_id (XdClassId klass, const char *id, char **backend_out, char **port_out,
                             GError **error);

/* @s made safe to show in a message on a terminal: invalid UTF-8 repaired,
 * control, format and space characters other than ' ' as \xNN or \uNNNN
 * escapes, cut after 64 characters. For whatever a person typed or a VM
 * wrote, put inside “…”. */
char *xd_quote_for_message (const char *s);
/* The same, whole: for a message about to be printed (line breaks in it,
 * too, are escaped). */
char *xd_escape_for_terminal (const char *s);

G_END_DECLS
