/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: a device entry as a backend VM writes it
 * (xd_device_entry_parse ()) and its description as the engine shows it
 * (xd_sanitize_description (), xd_device_entry_description ()).
 *
 * Invariants checked on every input: the sanitised description is valid
 * UTF-8, at most XD_DESCRIPTION_MAX_CHARS characters, holds no control,
 * format (bidi, zero-width), line-breaking or blank-rendering character, no
 * run of spaces and no space at either end, at most XD_DESCRIPTION_MAX_MARKS
 * combining marks on a character; sanitising is idempotent. An entry that
 * parses formats back (xd_device_entry_format ()) into one that parses to
 * the same values.
 */
#include "config.h"

#include "fuzz-check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xd-device-entry.h"
#include "core/xd-validate.h"

static const char *const known_keys[]
  = { "desc", "size", "mode", "parent", "interfaces", "input", "source", NULL };

static gboolean
is_blank_letter (gunichar c)
{
  return c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 || c == 0x2800 || c == 0x3164
         || c == 0xFFA0;
}

static void
check_description (const char *d)
{
  guint marks = 0;
  g_autofree char *again = NULL;

  CHECK (g_utf8_validate (d, -1, NULL));
  CHECK (g_utf8_strlen (d, -1) <= XD_DESCRIPTION_MAX_CHARS);
  CHECK (strstr (d, "  ") == NULL);
  if (*d)
    CHECK (d[0] != ' ' && d[strlen (d) - 1] != ' ');
  for (const char *p = d; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);

      CHECK (c == ' ' || (g_unichar_isprint (c) && !g_unichar_isspace (c)));
      CHECK (type != G_UNICODE_CONTROL && type != G_UNICODE_FORMAT);
      CHECK (!is_blank_letter (c));
      marks = g_unichar_ismark (c) ? marks + 1 : 0;
      CHECK (marks <= XD_DESCRIPTION_MAX_MARKS);
    }
  /* Cut descriptions end in an ellipsis that a second pass may cut again
   * only if it were longer: it is not. */
  again = xd_sanitize_description (d, strlen (d));
  CHECK (strcmp (again, d) == 0);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *raw_desc = xd_sanitize_description ((const char *) data, size);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry = NULL;

  check_description (raw_desc);

  entry = xd_device_entry_parse ((const char *) data, size, why);
  if (!entry)
    {
      CHECK (why->len > 0);
      return 0;
    }
  {
    g_autoptr (GString) why_desc = g_string_new (NULL);
    g_autofree char *desc = xd_device_entry_description (entry, why_desc);

    if (desc)
      {
        check_description (desc);
        CHECK (*desc);
      }
    else
      CHECK (why_desc->len > 0);
  }
  /* Round trip of the keys the engine reads. */
  {
    g_autoptr (GPtrArray) kv = g_ptr_array_new ();
    g_autofree char *formatted = NULL;

    for (guint i = 0; known_keys[i]; i++)
      {
        const char *value = xd_device_entry_get (entry, known_keys[i]);
        if (value)
          {
            g_ptr_array_add (kv, (char *) known_keys[i]);
            g_ptr_array_add (kv, (char *) value);
          }
      }
    g_ptr_array_add (kv, NULL);
    formatted = xd_device_entry_format ((const char *const *) kv->pdata);
    if (formatted)
      {
        g_autoptr (GString) why2 = g_string_new (NULL);
        g_autoptr (XdDeviceEntry) back
          = xd_device_entry_parse (formatted, strlen (formatted), why2);

        CHECK (back != NULL);
        for (guint i = 0; known_keys[i]; i++)
          CHECK (g_strcmp0 (xd_device_entry_get (entry, known_keys[i]),
                            xd_device_entry_get (back, known_keys[i]))
                 == 0);
      }
  }
  return 0;
}
