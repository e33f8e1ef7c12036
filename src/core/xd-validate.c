/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-validate.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "xd-error.h"
#include "xd-model.h"

#define BLOCK_PORT_MAX_LEN 12
#define USB_PORT_MAX_LEN 31
#define USB_NUMBER_MAX_DIGITS 3
#define PCI_PORT_LEN 7 /* "bb_ss_f" */
#define PCI_SLOT_MAX 0x1f
#define VM_NAME_MAX_LEN 31
#define SIZE_MAX_DIGITS 20
#define USB_INTERFACES_MAX 32
/* Bad input is echoed in error messages; this much of it identifies it. */
#define QUOTE_MAX_CHARS 64

/* Makes untrusted or mistyped input safe to put in a message, which may end
 * up on a terminal: control and format characters are shown as escapes
 * instead of being interpreted, and input longer than @max_chars (0: no
 * limit) is cut short. */
static char *
escape_for_message (const char *s, guint max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (max_chars && n++ == max_chars)
        {
          g_string_append (out, "…");
          break;
        }
      if (c == ' ' || (g_unichar_isprint (c) && !g_unichar_isspace (c)))
        g_string_append_unichar (out, c);
      else if (c < 0x80)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_printf (out, "\\u%04X", c);
    }
  return g_string_free (out, FALSE);
}

char *
xd_quote_for_message (const char *s)
{
  return escape_for_message (s, QUOTE_MAX_CHARS);
}

char *
xd_escape_for_terminal (const char *s)
{
  return escape_for_message (s, 0);
}

static gboolean
is_lower_hex (char c)
{
  return g_ascii_isdigit (c) || (c >= 'a' && c <= 'f');
}

static gboolean
validate_block_port (const char *port)
{
  gsize len = strlen (port);

  if (len == 0 || len > BLOCK_PORT_MAX_LEN || port[0] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (port[i]) || g_ascii_isdigit (port[i]) || port[i] == '-'))
      return FALSE;
  return TRUE;
}

/* Consumes one usb bus or port number at *p: 1 to 3 digits, no leading zero,
 * which also rules out 0 itself. */
static gboolean
skip_usb_number (const char **p)
{
  guint digits = 0;

  if (**p == '0')
    return FALSE;
  while (g_ascii_isdigit (**p))
    {
      if (++digits > USB_NUMBER_MAX_DIGITS)
        return FALSE;
      (*p)++;
    }
  return digits > 0;
}

static gboolean
validate_usb_port (const char *port)
{
  const char *p = port;

  if (strlen (port) > USB_PORT_MAX_LEN)
    return FALSE;
  if (!skip_usb_number (&p) || *p++ != '-' || !skip_usb_number (&p))
    return FALSE;
  while (*p == '_')
    {
      p++;
      if (!skip_usb_number (&p))
        return FALSE;
    }
  return *p == '\0';
}

static gboolean
validate_pci_port (const char *port)
{
  if (strlen (port) != PCI_PORT_LEN)
    return FALSE;
  if (!is_lower_hex (port[0]) || !is_lower_hex (port[1]) || port[2] != '_'
      || !is_lower_hex (port[3]) || !is_lower_hex (port[4]) || port[5] != '_' || port[6] < '0'
      || port[6] > '7')
    return FALSE;
  /* A PCI device (slot) number has five bits. */
  return g_ascii_xdigit_value (port[3]) * 16 + g_ascii_xdigit_value (port[4]) <= PCI_SLOT_MAX;
}

gboolean
xd_validate_port (XdClassId klass, const char *port)
{
  g_return_val_if_fail (klass < XD_N_CLASSES, FALSE);

  if (port == NULL)
    return FALSE;

  switch (klass)
    {
    case XD_CLASS_BLOCK:
      return validate_block_port (port);
    case XD_CLASS_MIC:
      return strcmp (port, "mic") == 0;
    case XD_CLASS_USB:
      return validate_usb_port (port);
    case XD_CLASS_PCI:
      return validate_pci_port (port);
    case XD_N_CLASSES:
    default:
      break;
    }
  g_return_val_if_reached (FALSE);
}

char *
xd_port_to_display (XdClassId klass, const char *port)
{
  char *display;

  if (!xd_validate_port (klass, port))
    return NULL;

  display = g_strdup (port);
  if (klass == XD_CLASS_USB)
    g_strdelimit (display, "_", '.');
  else if (klass == XD_CLASS_PCI)
    {
      display[2] = ':';
      display[5] = '.';
    }
  return display;
}

/* Turns a pci port as typed into the stored spelling, or NULL if it has
 * neither the display nor the stored shape; validation happens afterwards. */
static char *
pci_port_from_display (const char *display)
{
  g_autofree char *lower = NULL;
  gboolean has_domain = FALSE;

  /* lspci -D and xl print the domain; only domain 0 can be stored. */
  if (strlen (display) == PCI_PORT_LEN + 5 && g_ascii_strncasecmp (display, "0000:", 5) == 0)
    {
      display += 5;
      has_domain = TRUE;
    }
  if (strlen (display) != PCI_PORT_LEN)
    return NULL;

  lower = g_ascii_strdown (display, -1);
  if (lower[2] == ':' && lower[5] == '.')
    {
      lower[2] = '_';
      lower[5] = '_';
    }
  else if (has_domain || lower[2] != '_' || lower[5] != '_')
    return NULL;
  return g_steal_pointer (&lower);
}

char *
xd_port_from_display (XdClassId klass, const char *display, GError **error)
{
  g_autofree char *port = NULL;

  g_return_val_if_fail (klass < XD_N_CLASSES, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (display != NULL)
    {
      if (klass == XD_CLASS_PCI)
        port = pci_port_from_display (display);
      else if (klass == XD_CLASS_USB)
        {
          /* One spelling or the other: "2-1.3_4" is a typo, not a port. */
          if (!(strchr (display, '.') && strchr (display, '_')))
            port = g_strdelimit (g_strdup (display), ".", '_');
        }
      else
        port = g_strdup (display);
    }

  if (!xd_validate_port (klass, port))
    {
      g_autofree char *quoted = xd_quote_for_message (display ? display : "");

      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, _ ("invalid %s port “%s”"),
                   xd_class_id_to_string (klass), quoted);
      return NULL;
    }
  return g_steal_pointer (&port);
}

/* Whitespace for the sanitiser: what g_unichar_isspace() counts, plus the
 * vertical tab and NEL, which are line breaks too, and the letters and
 * symbols that render as nothing but a blank (Hangul fillers, the blank
 * Braille pattern, Khmer's inherent vowels): printable, so a terminal or a
 * panel shows them, as space, where a VM could line up a fake column. */
static gboolean
is_description_space (gunichar c)
{
  switch (c)
    {
    case '\v':
    case 0x85:   /* NEL */
    case 0x115F: /* HANGUL CHOSEONG FILLER */
    case 0x1160: /* HANGUL JUNGSEONG FILLER */
    case 0x17B4: /* KHMER VOWEL INHERENT AQ */
    case 0x17B5: /* KHMER VOWEL INHERENT AA */
    case 0x2800: /* BRAILLE PATTERN BLANK */
    case 0x3164: /* HANGUL FILLER */
    case 0xFFA0: /* HALFWIDTH HANGUL FILLER */
      return TRUE;
    default:
      return g_unichar_isspace (c);
    }
}

/* The description as built so far, with its length in characters kept
 * alongside so the limit costs nothing to check. */
typedef struct
{
  GString *str;
  guint n_chars;
  gboolean truncated;
} Description;

static void
description_append (Description *d, gunichar c)
{
  if (d->n_chars < XD_DESCRIPTION_MAX_CHARS)
    {
      g_string_append_unichar (d->str, c);
      d->n_chars++;
      return;
    }

  /* One character too many: make room for the ellipsis, and do not leave it
   * dangling after a space. */
  g_string_truncate (d->str, g_utf8_prev_char (d->str->str + d->str->len) - d->str->str);
  d->n_chars--;
  while (d->str->len > 0 && d->str->str[d->str->len - 1] == ' ')
    {
      g_string_truncate (d->str, d->str->len - 1);
      d->n_chars--;
    }
  g_string_append (d->str, "…");
  d->n_chars++;
  d->truncated = TRUE;
}

char *
xd_sanitize_description (const char *raw, gsize len)
{
  Description d = { g_string_sized_new (MIN (len, XD_DESCRIPTION_MAX_CHARS * 4) + 1), 0, FALSE };
  gboolean pending_space = FALSE;
  guint marks = 0; /* combining marks since the last other character */
  gsize i = 0;

  if (raw == NULL)
    len = 0;

  while (i < len && !d.truncated)
    {
      guchar b = (guchar) raw[i];
      gunichar c;

      if (b < 0x80)
        {
          /* ASCII, NUL included: no decoding, and no reliance on NUL
           * termination. */
          c = b;
          i++;
        }
      else
        {
          const char *next;

          c = g_utf8_get_char_validated (raw + i, (gssize) (len - i));
          if (c == (gunichar) -1 || c == (gunichar) -2)
            {
              /* Resynchronise on the next byte; each bad byte yields one
               * replacement character, which keeps this linear. */
              c = 0xFFFD;
              i++;
            }
          else
            {
              next = g_utf8_next_char (raw + i);
              i = next - raw;
            }
        }

      if (is_description_space (c))
        pending_space = TRUE;
      else if (g_unichar_ismark (c)
               && (marks >= XD_DESCRIPTION_MAX_MARKS || pending_space || d.n_chars == 0))
        ; /* a stack of marks too high to be text, or one on no letter */
      else if (g_unichar_isprint (c))
        {
          /* Leading space is never written; trailing space never flushed. */
          if (pending_space && d.n_chars > 0)
            description_append (&d, ' ');
          pending_space = FALSE;
          marks = g_unichar_ismark (c) ? marks + 1 : 0;
          if (!d.truncated)
            description_append (&d, c);
        }
      /* Anything else (controls, format characters, unassigned code points)
       * is dropped without separating its neighbours. */
    }

  return g_string_free (d.str, FALSE);
}

gboolean
xd_parse_size (const char *s, guint64 *out)
{
  guint64 value = 0;
  gsize len;

  if (s == NULL)
    return FALSE;
  len = strlen (s);
  if (len == 0 || len > SIZE_MAX_DIGITS)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      guint digit;

      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      digit = s[i] - '0';
      if (value > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
    }

  if (out)
    *out = value;
  return TRUE;
}

gboolean
xd_parse_mode (const char *s, char *out)
{
  if (s == NULL || (strcmp (s, "r") != 0 && strcmp (s, "w") != 0))
    return FALSE;
  if (out)
    *out = s[0];
  return TRUE;
}

gboolean
xd_parse_domid (const char *s, guint *out)
{
  guint value = 0;

  if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
    return FALSE;

  for (const char *p = s; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (guint) (*p - '0');
      /* Checked per digit, so value never grows past 10 * XD_DOMID_MAX. */
      if (value > XD_DOMID_MAX)
        return FALSE;
    }

  if (out)
    *out = value;
  return TRUE;
}

gboolean
xd_validate_vm_name (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > VM_NAME_MAX_LEN || !g_ascii_isalpha (name[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!(g_ascii_isalnum (name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-'))
      return FALSE;
  return TRUE;
}

gboolean
xd_parse_usb_interfaces (const char *s, char **out)
{
  gsize len;
  gsize n;

  if (s == NULL)
    return FALSE;
  len = strlen (s);
  /* ":" followed by one "ccssii:" per interface. */
  if (len < 8 || (len - 1) % 7 != 0)
    return FALSE;
  n = (len - 1) / 7;
  if (n > USB_INTERFACES_MAX || s[0] != ':')
    return FALSE;

  for (gsize i = 0; i < n; i++)
    {
      const char *triple = s + 1 + i * 7;

      for (guint j = 0; j < 6; j++)
        if (!g_ascii_isxdigit (triple[j]))
          return FALSE;
      if (triple[6] != ':')
        return FALSE;
    }

  if (out)
    *out = g_ascii_strdown (s, -1);
  return TRUE;
}

gboolean
xd_parse_usb_input (const char *s, guint *out)
{
  static const struct
  {
    const char *text;
    guint flags;
  } spellings[] = {
    { "keyboard", XD_INPUT_KEYBOARD },
    { "mouse", XD_INPUT_MOUSE },
    { "keyboard,mouse", XD_INPUT_KEYBOARD | XD_INPUT_MOUSE },
  };

  for (gsize i = 0; s && i < G_N_ELEMENTS (spellings); i++)
    if (strcmp (s, spellings[i].text) == 0)
      {
        if (out)
          *out = spellings[i].flags;
        return TRUE;
      }
  return FALSE;
}

gboolean
xd_parse_device_id (XdClassId klass, const char *id, char **backend_out, char **port_out,
                    GError **error)
{
  g_autofree char *quoted_id = NULL;
  g_autofree char *backend = NULL;
  g_autofree char *port = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *colon;

  g_return_val_if_fail (klass < XD_N_CLASSES, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  quoted_id = xd_quote_for_message (id ? id : "");
  colon = id ? strchr (id, ':') : NULL;
  if (colon == NULL)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
                   _ ("invalid device id “%s”: expected BACKEND:PORT"), quoted_id);
      return FALSE;
    }

  backend = g_strndup (id, colon - id);
  if (!xd_validate_vm_name (backend))
    {
      g_autofree char *quoted = xd_quote_for_message (backend);

      g_set_error (error, XD_ERROR, XD_ERROR_INVALID,
                   _ ("invalid device id “%s”: “%s” is not a valid VM name"), quoted_id, quoted);
      return FALSE;
    }

  port = xd_port_from_display (klass, colon + 1, &local_error);
  if (port == NULL)
    {
      g_set_error (error, XD_ERROR, XD_ERROR_INVALID, _ ("invalid device id “%s”: %s"), quoted_id,
                   local_error->message);
      return FALSE;
    }

  if (backend_out)
    *backend_out = g_steal_pointer (&backend);
  if (port_out)
    *port_out = g_steal_pointer (&port);
  return TRUE;
}
