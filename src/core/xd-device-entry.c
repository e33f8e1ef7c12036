/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-device-entry.h"

#include <string.h>

#include "xd-validate.h"

struct _XdDeviceEntry
{
  /* Few keys: a short array, looked up in order. */
  GPtrArray *keys;
  GPtrArray *values;
};

gboolean
xd_device_entry_valid_key (const char *key)
{
  gsize len = key ? strlen (key) : 0;

  if (len == 0 || len > XD_DEVICE_ENTRY_KEY_MAX || !g_ascii_islower (key[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!g_ascii_islower (key[i]) && !g_ascii_isdigit (key[i]) && key[i] != '-')
      return FALSE;
  return TRUE;
}

void
xd_device_entry_free (XdDeviceEntry *entry)
{
  if (!entry)
    return;
  g_ptr_array_unref (entry->keys);
  g_ptr_array_unref (entry->values);
  g_free (entry);
}

XdDeviceEntry *
xd_device_entry_parse (const char *value, gsize len, GString *why)
{
  g_autoptr (XdDeviceEntry) entry = g_new0 (XdDeviceEntry, 1);
  const char *end = value + len;
  const char *line = value;
  guint number = 0;

  g_return_val_if_fail (value != NULL || len == 0, NULL);
  g_return_val_if_fail (why != NULL, NULL);

  entry->keys = g_ptr_array_new_with_free_func (g_free);
  entry->values = g_ptr_array_new_with_free_func (g_free);
  if (len > XD_DEVICE_ENTRY_MAX)
    {
      g_string_append_printf (why, "the entry is longer than %u bytes", XD_DEVICE_ENTRY_MAX);
      return NULL;
    }
  if (len > 0 && memchr (value, '\0', len))
    {
      g_string_append (why, "the entry holds a NUL byte");
      return NULL;
    }
  while (line < end)
    {
      const char *newline = memchr (line, '\n', (gsize) (end - line));
      const char *line_end = newline ? newline : end;
      const char *equals = memchr (line, '=', (gsize) (line_end - line));
      g_autofree char *key = NULL;

      if (++number > XD_DEVICE_ENTRY_MAX_LINES)
        {
          g_string_append_printf (why, "the entry has more than %u lines",
                                  XD_DEVICE_ENTRY_MAX_LINES);
          return NULL;
        }
      if (!equals)
        {
          g_string_append_printf (why, "line %u of the entry is not key=value", number);
          return NULL;
        }
      key = g_strndup (line, (gsize) (equals - line));
      if (!xd_device_entry_valid_key (key))
        {
          /* The key is not shown: it failed the check that makes it safe to. */
          g_string_append_printf (why, "line %u of the entry has a malformed key", number);
          return NULL;
        }
      if (xd_device_entry_get (entry, key))
        {
          g_string_append_printf (why, "%s is given twice", key);
          return NULL;
        }
      g_ptr_array_add (entry->keys, g_steal_pointer (&key));
      g_ptr_array_add (entry->values, g_strndup (equals + 1, (gsize) (line_end - equals - 1)));
      line = newline ? newline + 1 : end;
    }
  return g_steal_pointer (&entry);
}

const char *
xd_device_entry_get (const XdDeviceEntry *entry, const char *key)
{
  g_return_val_if_fail (entry != NULL && key != NULL, NULL);

  for (guint i = 0; i < entry->keys->len; i++)
    if (strcmp (entry->keys->pdata[i], key) == 0)
      return entry->values->pdata[i];
  return NULL;
}

char *
xd_device_entry_read (const char *key, gpointer entry)
{
  return g_strdup (xd_device_entry_get (entry, key));
}

char *
xd_device_entry_format (const char *const *kv)
{
  g_autoptr (GString) out = g_string_new (NULL);

  g_return_val_if_fail (kv != NULL, NULL);

  for (guint i = 0; kv[i]; i += 2)
    {
      if (!kv[i + 1] || !xd_device_entry_valid_key (kv[i]) || strchr (kv[i + 1], '\n'))
        return NULL;
      if (out->len)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "%s=%s", kv[i], kv[i + 1]);
    }
  if (out->len > XD_DEVICE_ENTRY_MAX)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
xd_device_entry_description (const XdDeviceEntry *entry, GString *why)
{
  const char *desc = xd_device_entry_get (entry, "desc");
  g_autofree char *clean = NULL;

  if (!desc)
    {
      g_string_append (why, "desc is missing");
      return NULL;
    }
  clean = xd_sanitize_description (desc, strlen (desc));
  if (!*clean)
    {
      g_string_append (why, "desc is empty, or nothing of it can be shown");
      return NULL;
    }
  return g_steal_pointer (&clean);
}
