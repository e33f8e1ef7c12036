/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "core/xd-device-entry.h"
#include "core/xd-error.h"
#include "core/xd-model.h"
#include "core/xd-validate.h"

/* A stored port, and its display form or NULL if the port must be rejected. */
typedef struct
{
  const char *port;
  const char *display;
} PortCase;

static void
check_ports (XdClassId klass, const PortCase *cases, gsize n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autofree char *display = NULL;

      g_test_message ("%s port “%s”", xd_class_id_to_string (klass), cases[i].port);
      g_assert_cmpint (xd_validate_port (klass, cases[i].port), ==, cases[i].display != NULL);
      display = xd_port_to_display (klass, cases[i].port);
      g_assert_cmpstr (display, ==, cases[i].display);
    }
}

/* Ports that no class may accept: path tricks, empty, separators. */
static const char *const hostile_ports[] = {
  "", "..", ".", "../", "../etc", "/", "sda1/x", "a b", "sda\n", "*", "sda1\x1b", "\xc3\xa9",
};

static void
test_port_hostile (void)
{
  for (guint klass = 0; klass < XD_N_CLASSES; klass++)
    for (gsize i = 0; i < G_N_ELEMENTS (hostile_ports); i++)
      {
        g_autoptr (GError) error = NULL;
        g_autofree char *port = NULL;

        g_assert_false (xd_validate_port (klass, hostile_ports[i]));
        g_assert_null (xd_port_to_display (klass, hostile_ports[i]));
        port = xd_port_from_display (klass, hostile_ports[i], &error);
        g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
        g_assert_null (port);
      }

  for (guint klass = 0; klass < XD_N_CLASSES; klass++)
    g_assert_false (xd_validate_port (klass, NULL));
}

static void
test_port_block (void)
{
  static const PortCase cases[] = {
    { "sda", "sda" },
    { "sda1", "sda1" },
    { "xvdb", "xvdb" },
    { "nvme0n1p1", "nvme0n1p1" },
    { "dm-0", "dm-0" },
    { "loop0", "loop0" },
    { "a", "a" },
    { "0", "0" },
    { "abcdefghijkl", "abcdefghijkl" }, /* 12: the longest */
    { "abcdefghijklm", NULL },          /* 13 */
    { "mmcblk0p1-xyz", NULL },
    { "SDA1", NULL },
    { "sdA", NULL },
    { "-rf", NULL },
    { "-", NULL },
    { "sda_1", NULL },
    { "sda.1", NULL },
    { "sda:1", NULL },
    { "sda1/x", NULL },
    { "../", NULL },
    { "", NULL },
    { " sda", NULL },
  };

  check_ports (XD_CLASS_BLOCK, cases, G_N_ELEMENTS (cases));
}

static void
test_port_mic (void)
{
  static const PortCase cases[] = {
    { "mic", "mic" }, { "MIC", NULL }, { "mic0", NULL }, { "mi", NULL },
    { "mic ", NULL }, { "", NULL },    { "sda", NULL },
  };

  check_ports (XD_CLASS_MIC, cases, G_N_ELEMENTS (cases));
}

static void
test_port_usb (void)
{
  static const PortCase cases[] = {
    { "2-1", "2-1" },
    { "2-1_3", "2-1.3" },
    { "1-10_2_4", "1-10.2.4" },
    { "999-999", "999-999" },
    { "10-1_2_3_4_5_6", "10-1.2.3.4.5.6" },
    /* 31 characters, the longest allowed. */
    { "123-123_123_123_123_123_123_123", "123-123.123.123.123.123.123.123" },
    /* 32 characters, every number well formed. */
    { "123-123_123_123_123_123_123_12_1", NULL },
    { "123-123_123_123_123_123_123_123_1", NULL },
    { "2-1.3", NULL }, /* display form is not a stored port */
    { "2-1:3", NULL },
    { "2", NULL },
    { "2-", NULL },
    { "-1", NULL },
    { "2-1_", NULL },
    { "2-1__3", NULL },
    { "2_1", NULL },
    { "2-1-3", NULL },
    { "1000-1", NULL }, /* four digits */
    { "1-1000", NULL },
    { "02-1", NULL }, /* leading zeros: one spelling per device */
    { "2-01", NULL },
    { "2-1_03", NULL },
    { "0-1", NULL }, /* Linux numbers buses and ports from 1 */
    { "2-0", NULL },
    { "2-1_0", NULL },
    { "usb1", NULL },
    { "a-b", NULL },
    { "2-1 ", NULL },
    { "+2-1", NULL },
    { "", NULL },
  };

  check_ports (XD_CLASS_USB, cases, G_N_ELEMENTS (cases));
}

static void
test_port_pci (void)
{
  static const PortCase cases[] = {
    { "00_1f_3", "00:1f.3" },
    { "00_00_0", "00:00.0" },
    { "ff_1f_7", "ff:1f.7" },
    { "0a_02_1", "0a:02.1" },
    { "00_20_0", NULL }, /* slot has five bits */
    { "00_ff_0", NULL },
    { "00_1f_8", NULL }, /* function has three bits */
    { "00_1F_3", NULL }, /* stored form is lowercase */
    { "00:1f.3", NULL }, /* display form is not a stored port */
    { "0000_00_1f_3", NULL },
    { "00_1f", NULL },
    { "0_1f_3", NULL },
    { "00_1f_3_", NULL },
    { "g0_1f_3", NULL },
    { "00-1f-3", NULL },
    { "", NULL },
  };

  check_ports (XD_CLASS_PCI, cases, G_N_ELEMENTS (cases));
}

/* What a person typed, and the stored port or NULL if it must be refused. */
typedef struct
{
  XdClassId klass;
  const char *typed;
  const char *stored;
} FromDisplayCase;

static void
test_port_from_display (void)
{
  static const FromDisplayCase cases[] = {
    { XD_CLASS_BLOCK, "sda1", "sda1" },
    { XD_CLASS_BLOCK, "SDA1", NULL },
    { XD_CLASS_BLOCK, "sda1/x", NULL },
    { XD_CLASS_MIC, "mic", "mic" },
    { XD_CLASS_MIC, "Mic", NULL },
    { XD_CLASS_USB, "2-1.3", "2-1_3" },
    { XD_CLASS_USB, "2-1_3", "2-1_3" },
    { XD_CLASS_USB, "1-10.2.4", "1-10_2_4" },
    { XD_CLASS_USB, "2-1", "2-1" },
    { XD_CLASS_USB, "2-1.3_4", NULL }, /* mixed spellings */
    { XD_CLASS_USB, "2-1..3", NULL },
    { XD_CLASS_USB, "2-1.", NULL },
    { XD_CLASS_USB, "2.1", NULL },
    { XD_CLASS_USB, "2-01.3", NULL },
    { XD_CLASS_PCI, "00:1f.3", "00_1f_3" },
    { XD_CLASS_PCI, "00_1f_3", "00_1f_3" },
    { XD_CLASS_PCI, "00:1F.3", "00_1f_3" },
    { XD_CLASS_PCI, "0000:00:1f.3", "00_1f_3" },
    { XD_CLASS_PCI, "0000:00_1f_3", NULL },
    { XD_CLASS_PCI, "0001:00:1f.3", NULL }, /* other domains are not stored */
    { XD_CLASS_PCI, "00:1f_3", NULL },
    { XD_CLASS_PCI, "00.1f:3", NULL },
    { XD_CLASS_PCI, "00:20.0", NULL },
    { XD_CLASS_PCI, "00:1f.8", NULL },
    { XD_CLASS_PCI, "0:1f.3", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *stored = NULL;

      g_test_message ("%s “%s”", xd_class_id_to_string (cases[i].klass), cases[i].typed);
      stored = xd_port_from_display (cases[i].klass, cases[i].typed, &error);
      g_assert_cmpstr (stored, ==, cases[i].stored);
      if (cases[i].stored)
        g_assert_no_error (error);
      else
        {
          g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
          /* The message names the class and the id as typed. */
          g_assert_nonnull (strstr (error->message, xd_class_id_to_string (cases[i].klass)));
          g_assert_nonnull (strstr (error->message, cases[i].typed));
        }
    }
}

static void
test_port_round_trip (void)
{
  static const struct
  {
    XdClassId klass;
    const char *port;
  } cases[] = {
    { XD_CLASS_BLOCK, "nvme0n1p1" }, { XD_CLASS_MIC, "mic" },     { XD_CLASS_USB, "3-2_1_4" },
    { XD_CLASS_USB, "1-1" },         { XD_CLASS_PCI, "3a_1f_7" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *display = xd_port_to_display (cases[i].klass, cases[i].port);
      g_autofree char *back = xd_port_from_display (cases[i].klass, display, NULL);

      g_assert_cmpstr (back, ==, cases[i].port);
    }
}

static void
test_port_error_message_escapes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *port = NULL;
  g_autofree char *long_id = g_strnfill (10000, 'x');

  /* A typed id is echoed in the message; a terminal escape in it must not
   * reach the terminal as one. */
  port = xd_port_from_display (XD_CLASS_BLOCK, "sd\x1b[2Ja\xe2\x80\xae", &error);
  g_assert_null (port);
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_assert_null (strchr (error->message, '\x1b'));
  g_assert_null (strstr (error->message, "\xe2\x80\xae"));
  g_assert_nonnull (strstr (error->message, "sd\\x1b[2Ja\\u202E"));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);

  port = xd_port_from_display (XD_CLASS_BLOCK, long_id, &error);
  g_assert_null (port);
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_assert_cmpuint (strlen (error->message), <, 200);
}

/* Raw bytes (with their length, so NULs may be embedded) and the result. */
typedef struct
{
  const char *raw;
  gssize len; /* -1: up to the NUL */
  const char *expected;
} SanitizeCase;

static void
test_sanitize_table (void)
{
  /* Characters spelled \u/\U are valid UTF-8 in the literal; \x bytes are
   * raw, usually invalid on purpose. */
  static const SanitizeCase cases[] = {
    { "SanDisk Ultra", -1, "SanDisk Ultra" },
    { "", -1, "" },
    /* Markup is plain text here; the renderer escapes it. */
    { "<b>bold</b> & \"q\" 'a'", -1, "<b>bold</b> & \"q\" 'a'" },
    { "<span foreground='red'>x</span>", -1, "<span foreground='red'>x</span>" },
    /* ESC goes; what is left of the sequence is inert text. */
    { "\x1b[31mred\x1b[0m", -1, "[31mred[0m" },
    { "a\ab\177c", -1, "abc" },       /* BEL, DEL */
    { "a\302\23331mb", -1, "a31mb" }, /* C1 CSI, U+009B */
    { "a\302\205b", -1, "a b" },      /* NEL, U+0085, is a line break */
    /* Bidi override, zero-width space, BOM, word joiner, tag character. */
    { "evil\u202Efdp.exe", -1, "evilfdp.exe" },
    { "a\u200Bb\uFEFFc\u2060d\U000E0001", -1, "abcd" },
    { "line\u2028para\u2029end", -1, "line para end" },
    /* Invalid UTF-8: stray continuation, truncated sequence, overlong,
     * surrogate, beyond U+10FFFF: one U+FFFD per bad byte. */
    { "a\x80z", -1, "a\uFFFDz" },
    { "a\xc3", -1, "a\uFFFD" },
    { "\xc0\xaf", -1, "\uFFFD\uFFFD" },
    { "\xed\xa0\x80", -1, "\uFFFD\uFFFD\uFFFD" },
    { "\xf4\x90\x80\x80", -1, "\uFFFD\uFFFD\uFFFD\uFFFD" },
    { "\uFFFD", -1, "\uFFFD" },
    /* Valid non-ASCII text is kept. */
    { "Caf\u00E9 \u65E5\u672C \U0001F4BE", -1, "Caf\u00E9 \u65E5\u672C \U0001F4BE" },
    /* Whitespace of every kind collapses to one space and is trimmed. */
    { "  a \t\n\r\v\f b  ", -1, "a b" },
    { "a\u00A0\u3000b", -1, "a b" }, /* no-break space, ideographic space */
    { "\t\n", -1, "" },
    { "a\x1b \x1b b", -1, "a b" },
    /* Embedded NULs are bytes like any control, thanks to len. */
    { "ab\0cd", 5, "abcd" },
    { "ab\0\0\0", 5, "ab" },
    { "\xc3\0\xa9", 3, "\uFFFD\uFFFD" },
    { "abcdef", 3, "abc" },        /* len is obeyed, not the NUL */
    { "ab\u00E9", 3, "ab\uFFFD" }, /* a sequence cut by len */
    /* All control characters give the empty string. */
    { "\x01\x02\x1b\x7f\302\200\302\237\u202E", -1, "" },
    /* Letters that render blank are space: no column of `xen-device list`
     * can be faked with them. */
    { "Keyboard\u2800\u2800work (read-only=no)", -1, "Keyboard work (read-only=no)" },
    { "a\u3164\u115F\u1160\uFFA0\u17B4\u17B5b", -1, "a b" },
    { "\u2800\u3164", -1, "" },
    /* Combining marks: up to four on a character; none on no character. */
    { "e\u0301\u0302\u0303\u0304\u0305\u0306x", -1, "e\u0301\u0302\u0303\u0304x" },
    { "\u0301\u0302a", -1, "a" },
    { "a \u0301b", -1, "a b" },
    { "\u1EC7 \u1EC7\u0301", -1, "\u1EC7 \u1EC7\u0301" }, /* Vietnamese, kept */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = cases[i].len < 0 ? strlen (cases[i].raw) : (gsize) cases[i].len;
      g_autofree char *result = NULL;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      result = xd_sanitize_description (cases[i].raw, len);
      g_assert_cmpstr (result, ==, cases[i].expected);
      g_assert_true (g_utf8_validate (result, -1, NULL));
    }
}

static void
test_sanitize_null (void)
{
  g_autofree char *a = xd_sanitize_description (NULL, 0);
  g_autofree char *b = xd_sanitize_description ("", 0);

  g_assert_cmpstr (a, ==, "");
  g_assert_cmpstr (b, ==, "");
}

static void
assert_sanitized_invariants (const char *result)
{
  g_assert_nonnull (result);
  g_assert_true (g_utf8_validate (result, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (result, -1), <=, XD_DESCRIPTION_MAX_CHARS);
  for (const char *p = result; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_true (c == ' ' || (g_unichar_isprint (c) && !g_unichar_isspace (c)));
      g_assert_true (c != 0x2800 && c != 0x3164 && c != 0x115F && c != 0x1160 && c != 0xFFA0);
    }
  {
    guint marks = 0;
    for (const char *p = result; *p; p = g_utf8_next_char (p))
      {
        marks = g_unichar_ismark (g_utf8_get_char (p)) ? marks + 1 : 0;
        g_assert_cmpuint (marks, <=, XD_DESCRIPTION_MAX_MARKS);
      }
  }
  if (*result)
    {
      g_assert_cmpint (result[0], !=, ' ');
      g_assert_cmpint (result[strlen (result) - 1], !=, ' ');
    }
  g_assert_null (strstr (result, "  "));
}

static void
test_sanitize_limit (void)
{
  g_autofree char *exact = g_strnfill (XD_DESCRIPTION_MAX_CHARS, 'a');
  g_autofree char *over = g_strnfill (XD_DESCRIPTION_MAX_CHARS + 1, 'a');
  g_autofree char *r_exact = NULL;
  g_autofree char *r_over = NULL;
  g_autofree char *r_trailing = NULL;
  g_autofree char *r_space = NULL;
  g_autofree char *with_trailing = NULL;
  g_autofree char *at_space = NULL;
  g_autofree char *expected = NULL;

  /* Exactly at the limit: untouched, even with ignorable bytes after it. */
  r_exact = xd_sanitize_description (exact, strlen (exact));
  g_assert_cmpstr (r_exact, ==, exact);
  with_trailing = g_strconcat (exact, "  \x1b\t", NULL);
  r_trailing = xd_sanitize_description (with_trailing, strlen (with_trailing));
  g_assert_cmpstr (r_trailing, ==, exact);

  /* One over: 127 characters and the ellipsis. */
  r_over = xd_sanitize_description (over, strlen (over));
  g_assert_cmpuint (g_utf8_strlen (r_over, -1), ==, XD_DESCRIPTION_MAX_CHARS);
  g_assert_true (g_str_has_suffix (r_over, "…"));
  g_assert_true (g_str_has_prefix (r_over, exact + 1));

  /* The cut falls after a space: the ellipsis does not dangle after it. */
  at_space = g_strdup_printf ("%.*s bcd", XD_DESCRIPTION_MAX_CHARS - 2, exact);
  r_space = xd_sanitize_description (at_space, strlen (at_space));
  expected = g_strdup_printf ("%.*s…", XD_DESCRIPTION_MAX_CHARS - 2, exact);
  g_assert_cmpstr (r_space, ==, expected);
  assert_sanitized_invariants (r_space);
}

static void
test_sanitize_large (void)
{
  const gsize size = 100 * 1024;
  g_autofree char *buf = g_malloc (size);
  g_autofree char *result = NULL;

  /* Multibyte characters, so the limit is counted in characters. */
  for (gsize i = 0; i < size; i++)
    buf[i] = "\xc3\xa9"[i % 2];
  result = xd_sanitize_description (buf, size);
  assert_sanitized_invariants (result);
  g_assert_cmpuint (g_utf8_strlen (result, -1), ==, XD_DESCRIPTION_MAX_CHARS);
  g_assert_true (g_str_has_suffix (result, "…"));
  g_clear_pointer (&result, g_free);

  /* Nothing but bytes that are dropped: the whole input is read. */
  memset (buf, '\x1b', size);
  buf[size - 1] = 'z';
  result = xd_sanitize_description (buf, size);
  g_assert_cmpstr (result, ==, "z");
  g_clear_pointer (&result, g_free);

  /* Nothing but whitespace and NULs. */
  for (gsize i = 0; i < size; i++)
    buf[i] = " \0\t\n"[i % 4];
  result = xd_sanitize_description (buf, size);
  g_assert_cmpstr (result, ==, "");
  g_clear_pointer (&result, g_free);

  /* Invalid UTF-8 throughout. */
  memset (buf, '\xff', size);
  result = xd_sanitize_description (buf, size);
  assert_sanitized_invariants (result);
  g_assert_true (g_str_has_suffix (result, "…"));
  g_assert_true (g_str_has_prefix (result, "\xef\xbf\xbd"));
  g_clear_pointer (&result, g_free);

  /* Random bytes, with a fixed seed so a failure can be reproduced. */
  {
    g_autoptr (GRand) rand = g_rand_new_with_seed (20261125);

    for (guint round = 0; round < 50; round++)
      {
        for (gsize i = 0; i < size; i++)
          buf[i] = (char) g_rand_int_range (rand, 0, 256);
        result = xd_sanitize_description (buf, size);
        assert_sanitized_invariants (result);
        g_clear_pointer (&result, g_free);
      }
  }
}

typedef struct
{
  const char *s;
  gboolean ok;
  guint64 value;
} SizeCase;

static void
test_parse_size (void)
{
  static const SizeCase cases[] = {
    { "0", TRUE, 0 },
    { "1", TRUE, 1 },
    { "1073741824", TRUE, G_GUINT64_CONSTANT (1073741824) },
    { "18446744073709551615", TRUE, G_MAXUINT64 },
    { "007", TRUE, 7 },
    { "00000000000000000001", TRUE, 1 },   /* 20 digits */
    { "000000000000000000001", FALSE, 0 }, /* 21 digits */
    { "18446744073709551616", FALSE, 0 },
    { "99999999999999999999", FALSE, 0 },
    { "", FALSE, 0 },
    { "-1", FALSE, 0 },
    { "+1", FALSE, 0 },
    { " 1", FALSE, 0 },
    { "1 ", FALSE, 0 },
    { "1e3", FALSE, 0 },
    { "0x10", FALSE, 0 },
    { "1.5", FALSE, 0 },
    { "1\n", FALSE, 0 },
    { "\xd9\xa1", FALSE, 0 }, /* ARABIC-INDIC DIGIT ONE */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 value = 42;

      g_test_message ("size “%s”", cases[i].s);
      g_assert_cmpint (xd_parse_size (cases[i].s, &value), ==, cases[i].ok);
      /* Output is written on success only. */
      g_assert_cmpuint (value, ==, cases[i].ok ? cases[i].value : 42);
    }

  g_assert_false (xd_parse_size (NULL, NULL));
  g_assert_true (xd_parse_size ("5", NULL));
}

static void
test_parse_mode (void)
{
  static const char *const bad[] = { "", "rw", "R", "W", "x", " r", "r ", "r\n", "ro" };
  char mode = '?';

  g_assert_true (xd_parse_mode ("r", &mode));
  g_assert_cmpint (mode, ==, 'r');
  g_assert_true (xd_parse_mode ("w", &mode));
  g_assert_cmpint (mode, ==, 'w');
  g_assert_true (xd_parse_mode ("r", NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      mode = '?';
      g_assert_false (xd_parse_mode (bad[i], &mode));
      g_assert_cmpint (mode, ==, '?');
    }
  g_assert_false (xd_parse_mode (NULL, &mode));
}

static void
test_parse_domid (void)
{
  static const struct
  {
    const char *s;
    gboolean ok;
    guint value;
  } cases[] = {
    { "0", TRUE, 0 },
    { "1", TRUE, 1 },
    { "32751", TRUE, XD_DOMID_MAX },
    { "32752", FALSE, 0 }, /* DOMID_FIRST_RESERVED */
    { "32767", FALSE, 0 },
    { "65535", FALSE, 0 },
    { "4294967297", FALSE, 0 },
    { "99999999999999999999999", FALSE, 0 },
    { "00", FALSE, 0 },
    { "01", FALSE, 0 },
    { "", FALSE, 0 },
    { "-1", FALSE, 0 },
    { "+1", FALSE, 0 },
    { " 1", FALSE, 0 },
    { "1 ", FALSE, 0 },
    { "0x1", FALSE, 0 },
    { "1a", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint value = 4242;

      g_test_message ("domid “%s”", cases[i].s);
      g_assert_cmpint (xd_parse_domid (cases[i].s, &value), ==, cases[i].ok);
      g_assert_cmpuint (value, ==, cases[i].ok ? cases[i].value : 4242);
    }
  g_assert_false (xd_parse_domid (NULL, NULL));
}

static void
test_vm_name (void)
{
  static const char *const good[] = {
    "dom0", "sys-usb", "work", "a", "Z", "my_vm.2-test", "abcdefghijklmnopqrstuvwxyzABCDE", /* 31 */
  };
  static const char *const bad[] = {
    "",        ".",       "..",          ".hidden",
    "-rf",     "1vm",     "_vm",         "abcdefghijklmnopqrstuvwxyzABCDEF", /* 32 */
    "sys usb", "sys/usb", "../dom0",     "sys-usb:",
    "<b>",     "vm\n",    "caf\xc3\xa9", "vm\x1b",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (xd_validate_vm_name (good[i]));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("vm name “%s”", bad[i]);
      g_assert_false (xd_validate_vm_name (bad[i]));
    }
  g_assert_false (xd_validate_vm_name (NULL));
}

/* What a backend says it uses a usb device as: three exact spellings. */
static void
test_usb_input (void)
{
  static const struct
  {
    const char *s;
    guint flags; /* 0: rejected */
  } cases[] = {
    { "keyboard", XD_INPUT_KEYBOARD },
    { "mouse", XD_INPUT_MOUSE },
    { "keyboard,mouse", XD_INPUT_KEYBOARD | XD_INPUT_MOUSE },
    { "mouse,keyboard", 0 },
    { "Keyboard", 0 },
    { "keyboard ", 0 },
    { "", 0 },
    { "keyboard,", 0 },
    { "keyboard,mouse,mouse", 0 },
    { "tablet", 0 },
  };

  g_assert_false (xd_parse_usb_input (NULL, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint flags = 0;
      g_assert_cmpint (xd_parse_usb_input (cases[i].s, &flags), ==, cases[i].flags != 0);
      g_assert_cmpuint (flags, ==, cases[i].flags);
    }
}

static void
test_usb_interfaces (void)
{
  static const struct
  {
    const char *s;
    const char *normalised; /* NULL: rejected */
  } cases[] = {
    { ":080650:", ":080650:" },
    { ":030101:030102:", ":030101:030102:" },
    { ":FFab0C:", ":ffab0c:" },
    { "", NULL },
    { ":", NULL },
    { "080650", NULL },
    { ":080650", NULL },
    { "080650:", NULL },
    { ":08065:", NULL },
    { ":0806500:", NULL },
    { ":08065g:", NULL },
    { ":080650::030101:", NULL },
    { ":080650:030101", NULL },
    { ": 80650:", NULL },
    { ":080650:\n", NULL },
    { ":0x0806:", NULL },
  };
  GString *many = g_string_new (":");
  g_autofree char *out = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normalised = NULL;

      g_test_message ("interfaces “%s”", cases[i].s);
      g_assert_cmpint (xd_parse_usb_interfaces (cases[i].s, &normalised), ==,
                       cases[i].normalised != NULL);
      g_assert_cmpstr (normalised, ==, cases[i].normalised);
    }

  /* 32 interfaces are allowed, 33 are not. */
  for (guint i = 0; i < 32; i++)
    g_string_append (many, "030101:");
  g_assert_true (xd_parse_usb_interfaces (many->str, &out));
  g_assert_cmpstr (out, ==, many->str);
  g_clear_pointer (&out, g_free);
  g_string_append (many, "030101:");
  g_assert_false (xd_parse_usb_interfaces (many->str, &out));
  g_assert_null (out);
  g_string_free (many, TRUE);

  g_assert_true (xd_parse_usb_interfaces (":080650:", NULL));
  g_assert_false (xd_parse_usb_interfaces (NULL, NULL));
}

typedef struct
{
  XdClassId klass;
  const char *id;
  const char *backend; /* NULL: rejected */
  const char *port;
} DeviceIdCase;

static void
test_device_id (void)
{
  static const DeviceIdCase cases[] = {
    { XD_CLASS_BLOCK, "sys-usb:sda1", "sys-usb", "sda1" },
    { XD_CLASS_BLOCK, "dom0:nvme0n1p2", "dom0", "nvme0n1p2" },
    { XD_CLASS_MIC, "dom0:mic", "dom0", "mic" },
    { XD_CLASS_USB, "sys-usb:2-1.3", "sys-usb", "2-1_3" },
    { XD_CLASS_USB, "sys-usb:2-1_3", "sys-usb", "2-1_3" },
    { XD_CLASS_PCI, "dom0:00:1f.3", "dom0", "00_1f_3" },
    { XD_CLASS_PCI, "dom0:0000:00:1f.3", "dom0", "00_1f_3" },
    { XD_CLASS_PCI, "dom0:00_1f_3", "dom0", "00_1f_3" },
    /* Rejected. */
    { XD_CLASS_BLOCK, "sda1", NULL, NULL },
    { XD_CLASS_BLOCK, "", NULL, NULL },
    { XD_CLASS_BLOCK, ":", NULL, NULL },
    { XD_CLASS_BLOCK, ":sda1", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb:", NULL, NULL },
    { XD_CLASS_BLOCK, "a:b:c", NULL, NULL },
    { XD_CLASS_MIC, "a:b:c", NULL, NULL },
    { XD_CLASS_USB, "a:b:c", NULL, NULL },
    { XD_CLASS_PCI, "a:b:c", NULL, NULL },
    { XD_CLASS_BLOCK, "<b>:sda", NULL, NULL },
    { XD_CLASS_BLOCK, "../dom0:sda", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb:../sda", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb:sda1/x", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb:SDA1", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb: sda1", NULL, NULL },
    { XD_CLASS_BLOCK, "sys-usb :sda1", NULL, NULL },
    { XD_CLASS_MIC, "dom0:sda1", NULL, NULL },
    { XD_CLASS_MIC, "dom0:mic:", NULL, NULL },
    { XD_CLASS_USB, "sys-usb:sda1", NULL, NULL },
    { XD_CLASS_USB, "sys-usb:2-1.3_4", NULL, NULL },
    { XD_CLASS_PCI, "dom0:00:1f", NULL, NULL },
    { XD_CLASS_PCI, "dom0:00:1f.3:", NULL, NULL },
    { XD_CLASS_PCI, "00:1f.3", NULL, NULL }, /* "00" is no VM name */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *backend = NULL;
      g_autofree char *port = NULL;
      gboolean ok;

      g_test_message ("%s device id “%s”", xd_class_id_to_string (cases[i].klass), cases[i].id);
      ok = xd_parse_device_id (cases[i].klass, cases[i].id, &backend, &port, &error);
      g_assert_cmpint (ok, ==, cases[i].backend != NULL);
      g_assert_cmpstr (backend, ==, cases[i].backend);
      g_assert_cmpstr (port, ==, cases[i].port);
      if (ok)
        g_assert_no_error (error);
      else
        {
          g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
          g_assert_nonnull (strstr (error->message, cases[i].id));
        }
    }
}

static void
test_device_id_messages (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (xd_parse_device_id (XD_CLASS_BLOCK, "foo", NULL, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "invalid device id “foo”: expected BACKEND:PORT");
  g_clear_error (&error);

  g_assert_false (xd_parse_device_id (XD_CLASS_BLOCK, "<b>:sda", NULL, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“<b>” is not a valid VM name"));
  g_clear_error (&error);

  g_assert_false (xd_parse_device_id (XD_CLASS_USB, "sys-usb:2-x", NULL, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "invalid usb port “2-x”"));
  g_clear_error (&error);

  g_assert_false (xd_parse_device_id (XD_CLASS_BLOCK, NULL, NULL, NULL, &error));
  g_assert_error (error, XD_ERROR, XD_ERROR_INVALID);
  g_clear_error (&error);

  /* Only-validate use: no outputs wanted, no error wanted. */
  g_assert_true (xd_parse_device_id (XD_CLASS_MIC, "dom0:mic", NULL, NULL, NULL));
  g_assert_false (xd_parse_device_id (XD_CLASS_MIC, "dom0:mac", NULL, NULL, NULL));
}

/* ---- one node per device: key=value lines ---- */

static XdDeviceEntry *
parse_ok (const char *value, gsize len)
{
  g_autoptr (GString) why = g_string_new (NULL);
  XdDeviceEntry *entry = xd_device_entry_parse (value, len, why);

  g_assert_nonnull (entry);
  g_assert_cmpuint (why->len, ==, 0);
  return entry;
}

static void
parse_bad (const char *value, gsize len, const char *reason)
{
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry = xd_device_entry_parse (value, len, why);

  g_assert_null (entry);
  g_assert_cmpstr (why->str, ==, reason);
}

static void
test_entry_parse (void)
{
  g_autoptr (XdDeviceEntry) entry = NULL;
  g_autoptr (XdDeviceEntry) empty = NULL;
  g_autoptr (XdDeviceEntry) trailing = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *long_value = NULL;
  g_autoptr (GString) many = g_string_new (NULL);
  const char text[] = "desc=A = B <b>x</b>\nsize=123\nmode=w\nx-future=1";

  entry = parse_ok (text, strlen (text));
  g_assert_cmpstr (xd_device_entry_get (entry, "desc"), ==, "A = B <b>x</b>");
  g_assert_cmpstr (xd_device_entry_get (entry, "size"), ==, "123");
  g_assert_cmpstr (xd_device_entry_get (entry, "x-future"), ==, "1");
  g_assert_null (xd_device_entry_get (entry, "parent"));
  copy = xd_device_entry_read ("mode", entry);
  g_assert_cmpstr (copy, ==, "w");
  g_assert_null (xd_device_entry_read ("des", entry));

  empty = parse_ok ("", 0);
  g_assert_null (xd_device_entry_get (empty, "desc"));
  trailing = parse_ok ("desc=\n", 6);
  g_assert_cmpstr (xd_device_entry_get (trailing, "desc"), ==, "");

  parse_bad ("desc=a\nsize", 11, "line 2 of the entry is not key=value");
  parse_bad ("desc=a\n\n", 8, "line 2 of the entry is not key=value");
  parse_bad ("desc=a\ndesc=b", 13, "desc is given twice");
  parse_bad ("Desc=a", 6, "line 1 of the entry has a malformed key");
  parse_bad ("=a", 2, "line 1 of the entry has a malformed key");
  parse_bad ("de sc=a", 7, "line 1 of the entry has a malformed key");
  parse_bad ("<b>=a", 5, "line 1 of the entry has a malformed key");
  parse_bad ("desc=a\0b", 8, "the entry holds a NUL byte");
  long_value = g_strnfill (XD_DEVICE_ENTRY_MAX + 1, 'x');
  memcpy (long_value, "desc=", 5);
  parse_bad (long_value, XD_DEVICE_ENTRY_MAX + 1, "the entry is longer than 4096 bytes");
  xd_device_entry_free (parse_ok (long_value, XD_DEVICE_ENTRY_MAX));
  for (guint i = 0; i <= XD_DEVICE_ENTRY_MAX_LINES; i++)
    g_string_append_printf (many, "k%u=v\n", i);
  parse_bad (many->str, many->len, "the entry has more than 64 lines");
}

static void
test_entry_format (void)
{
  static const char *const kv[] = { "desc", "A = B", "size", "12", NULL };
  static const char *const bad_key[] = { "Desc", "x", NULL };
  static const char *const newline[] = { "desc", "a\nsize=1", NULL };
  g_autofree char *text = xd_device_entry_format (kv);
  g_autofree char *big = g_strnfill (XD_DEVICE_ENTRY_MAX, 'x');
  const char *const too_long[] = { "desc", big, NULL };
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry = NULL;

  g_assert_cmpstr (text, ==, "desc=A = B\nsize=12");
  entry = xd_device_entry_parse (text, strlen (text), why);
  g_assert_nonnull (entry);
  g_assert_cmpstr (xd_device_entry_get (entry, "desc"), ==, "A = B");
  g_assert_null (xd_device_entry_format (bad_key));
  g_assert_null (xd_device_entry_format (newline));
  g_assert_null (xd_device_entry_format (too_long));
  g_assert_true (xd_device_entry_valid_key ("frontend-id"));
  g_assert_true (xd_device_entry_valid_key ("k9"));
  g_assert_false (xd_device_entry_valid_key ("9k"));
  g_assert_false (xd_device_entry_valid_key (""));
  g_assert_false (xd_device_entry_valid_key ("abcdefghijklmnopqrstuvwxyzabcdefg"));
}

/* Names and ports in the order people expect; a total order all the same
 * (a VM may name its ports so as to confuse a sort). */
static void
test_natural_order (void)
{
  /* clang-format off */
  static const char *const sorted[] = {
    "", "0", "00", "01", "1", "2", "9", "10",
    "99999999999999999999999", "100000000000000000000000",
    "a", "sda", "sda1", "sda2", "sda10", "sda10a", "sda11", "sdb",
    "vm-2", "vm-9", "vm-10", "vm-10:x", "vm-100", "xvd", "\xc3\xa9",
  };
  /* clang-format on */

  for (guint i = 0; i < G_N_ELEMENTS (sorted); i++)
    for (guint j = 0; j < G_N_ELEMENTS (sorted); j++)
      {
        int c = xd_natural_compare (sorted[i], sorted[j]);
        int expected = i < j ? -1 : i > j ? 1 : 0;

        if (c != expected)
          g_error ("xd_natural_compare (\"%s\", \"%s\") = %d, expected %d", sorted[i], sorted[j], c,
                   expected);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/xd/model/natural-order", test_natural_order);
  g_test_add_func ("/xd/validate/entry/parse", test_entry_parse);
  g_test_add_func ("/xd/validate/entry/format", test_entry_format);
  g_test_add_func ("/xd/validate/port/hostile", test_port_hostile);
  g_test_add_func ("/xd/validate/port/block", test_port_block);
  g_test_add_func ("/xd/validate/port/mic", test_port_mic);
  g_test_add_func ("/xd/validate/port/usb", test_port_usb);
  g_test_add_func ("/xd/validate/port/pci", test_port_pci);
  g_test_add_func ("/xd/validate/port/from-display", test_port_from_display);
  g_test_add_func ("/xd/validate/port/round-trip", test_port_round_trip);
  g_test_add_func ("/xd/validate/port/error-message-escapes", test_port_error_message_escapes);
  g_test_add_func ("/xd/validate/description/table", test_sanitize_table);
  g_test_add_func ("/xd/validate/description/null", test_sanitize_null);
  g_test_add_func ("/xd/validate/description/limit", test_sanitize_limit);
  g_test_add_func ("/xd/validate/description/large", test_sanitize_large);
  g_test_add_func ("/xd/validate/size", test_parse_size);
  g_test_add_func ("/xd/validate/mode", test_parse_mode);
  g_test_add_func ("/xd/validate/domid", test_parse_domid);
  g_test_add_func ("/xd/validate/vm-name", test_vm_name);
  g_test_add_func ("/xd/validate/usb-interfaces", test_usb_interfaces);
  g_test_add_func ("/xd/validate/usb-input", test_usb_input);
  g_test_add_func ("/xd/validate/device-id/table", test_device_id);
  g_test_add_func ("/xd/validate/device-id/messages", test_device_id_messages);

  return g_test_run ();
}
