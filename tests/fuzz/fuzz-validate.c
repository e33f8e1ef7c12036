/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the validators of what a person types or a VM writes: ports
 * of every class (stored and shown spellings), device ids (BACKEND:PORT),
 * VM names, sizes, domids, USB interfaces and input kinds, device options,
 * and the quoting of input for messages.
 *
 * Invariants: a valid stored port shows as a form that reads back to the
 * same stored port; whatever xd_port_from_display () accepts is a valid
 * stored port; an accepted device id names a valid VM and a valid port;
 * normalised options validate again to themselves; a quoted message holds
 * no control character and is valid UTF-8.
 */
#include "config.h"

#include "fuzz-check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xd-assignments.h"
#include "core/xd-validate.h"

static void
check_quoted (const char *q)
{
  CHECK (g_utf8_validate (q, -1, NULL));
  for (const char *p = q; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      CHECK (c == ' ' || (g_unichar_isprint (c) && !g_unichar_isspace (c)));
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* The validators take C strings: cut at the first NUL, as argv and
   * xenstore values are. */
  g_autofree char *s = g_strndup ((const char *) data, size);
  guint64 size_value;
  guint domid, input;
  char mode;

  {
    g_autofree char *q = xd_quote_for_message (s);
    g_autofree char *e = xd_escape_for_terminal (s);
    check_quoted (q);
    check_quoted (e);
    /* 64 characters, each at most six once escaped (\uFFFD), and "…". */
    CHECK (g_utf8_strlen (q, -1) <= 64 * 6 + 1);
  }
  if (xd_parse_size (s, &size_value))
    {
      CHECK (size_value == g_ascii_strtoull (s, NULL, 10));
    }
  if (xd_parse_domid (s, &domid))
    {
      g_autofree char *back = g_strdup_printf ("%u", domid);
      CHECK (domid <= XD_DOMID_MAX && strcmp (back, s) == 0);
    }
  if (xd_parse_mode (s, &mode))
    CHECK (mode == 'r' || mode == 'w');
  if (xd_parse_usb_input (s, &input))
    CHECK (input != 0);
  {
    g_autofree char *interfaces = NULL;
    if (xd_parse_usb_interfaces (s, &interfaces))
      CHECK (interfaces != NULL && g_str_has_prefix (interfaces, ":"));
  }
  if (xd_validate_vm_name (s))
    CHECK (g_ascii_isalpha (s[0]) && strlen (s) <= 31 && !strchr (s, ':') && !strchr (s, '/'));

  for (XdClassId klass = 0; klass < XD_N_CLASSES; klass++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *stored = xd_port_from_display (klass, s, &error);
      g_autofree char *backend = NULL, *port = NULL;

      if (stored)
        CHECK (xd_validate_port (klass, stored));
      else
        CHECK (error != NULL);
      if (xd_validate_port (klass, s))
        {
          g_autofree char *shown = xd_port_to_display (klass, s);
          g_autofree char *back = NULL;
          g_autoptr (GError) back_error = NULL;

          CHECK (shown != NULL);
          back = xd_port_from_display (klass, shown, &back_error);
          CHECK (back != NULL && strcmp (back, s) == 0);
        }
      g_clear_error (&error);
      if (xd_parse_device_id (klass, s, &backend, &port, &error))
        {
          CHECK (xd_validate_vm_name (backend));
          CHECK (xd_validate_port (klass, port));
        }
      else
        CHECK (error != NULL && g_utf8_validate (error->message, -1, NULL));

      /* The input as one option, then as lines of options. */
      {
        g_auto (GStrv) options = g_strsplit (s, "\n", 8);
        g_auto (GStrv) normalised = NULL;
        g_autoptr (GError) option_error = NULL;

        if (xd_options_validate (klass, (const char *const *) options, &normalised, &option_error))
          {
            g_auto (GStrv) again = NULL;
            CHECK (xd_options_validate (klass, (const char *const *) normalised, &again, NULL));
            CHECK (g_strv_equal ((const char *const *) again, (const char *const *) normalised));
          }
      }
    }
  return 0;
}
