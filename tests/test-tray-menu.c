/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray menu against a real xenstored with the demo host, the engine
 * watching and the simulated toolstack, under Xvfb: after each change the
 * whole menu is dumped as text (one line per visible item: its label text,
 * bold, sensitivity, icon; submenus indented) and compared with the exact
 * expected dump. Also: hostile descriptions stay text, the "NEW" mark,
 * clicks that attach and detach, and refreshes that never start an operation.
 * One test saves a screenshot of the open menu in $XD_SCREENSHOT_DIR.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "core/xd-engine.h"
#include "core/xd-error.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "tray/xd-tray-menu.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-toolstack-sim.h"
#include "xen/xd-xs-store.h"

enum
{
  DOM0 = 0,
  SYS_USB = 1,
  WORK = 2,
  PERSONAL = 3,
};

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  XdEngine *engine;
  XdToolstack *toolstack; /* owned by the engine */
  XdTrayMenu *menu;
  GPtrArray *log;
  /* Results of operations the menu reported, "attach sys-usb:sda2 personal ok". */
  GPtrArray *finished;
  guint summary_changes;
} Fixture;

/* ---- the engine's log, to wait on ---- */

static void
operation_finished_cb (XdTrayMenu *menu, gboolean attach, const char *device, const char *vm,
                       const GError *error, gpointer user_data)
{
  Fixture *fx = user_data;
  g_ptr_array_add (fx->finished, g_strdup_printf ("%s %s %s %s", attach ? "attach" : "detach",
                                                  device, vm, error ? error->message : "ok"));
}

static void
summary_changed_cb (XdTrayMenu *menu, gpointer user_data)
{
  ((Fixture *) user_data)->summary_changes++;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  XdStore *store;

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_populate_demo (fx->host, &error));
  g_assert_no_error (error);
  g_setenv ("XEN_DEVICES_TIMEOUT_MS", "3000", TRUE);
  fx->log = g_ptr_array_new_with_free_func (g_free);
  fx->finished = g_ptr_array_new_with_free_func (g_free);

  store = xd_xs_store_new (&error);
  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  fx->toolstack = xd_toolstack_sim_new (&error);
  g_assert_no_error (error);
  xd_engine_set_toolstack (fx->engine, fx->toolstack);
  xd_test_log_engine_signals (fx->engine, fx->log,
                              XD_TEST_LOG_DEVICE_ADDED | XD_TEST_LOG_DEVICE_CHANGED
                                | XD_TEST_LOG_DEVICE_REMOVED | XD_TEST_LOG_ALL_HOLDERS
                                | XD_TEST_LOG_VM_ADDED | XD_TEST_LOG_VM_REMOVED);
  g_assert_true (xd_engine_load (fx->engine, TRUE, &error));
  g_assert_no_error (error);

  fx->menu = xd_tray_menu_new (fx->engine);
  g_signal_connect (fx->menu, "operation-finished", G_CALLBACK (operation_finished_cb), fx);
  xd_tray_menu_flush (fx->menu);
  g_signal_connect (fx->menu, "summary-changed", G_CALLBACK (summary_changed_cb), fx);
  g_ptr_array_set_size (fx->log, 0);
}

/* Drops the last reference to @object and checks that it goes within a few
 * seconds: an operation still running, or a handler left connected, would
 * keep it (and its watches, firing into a dead fixture) alive. The engine may
 * still be finishing work of its own, such as releasing what a stopped VM
 * held, so the main loop runs meanwhile. */
static void
finalize_soon (gpointer object)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (5000, xd_test_timeout_cb, &timed_out);

  g_object_add_weak_pointer (object, &object);
  g_object_unref (object);
  while (object && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (object);
  g_source_remove (id);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  finalize_soon (g_steal_pointer (&fx->menu));
  finalize_soon (g_steal_pointer (&fx->engine));
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_ptr_array_unref (fx->log);
  g_ptr_array_unref (fx->finished);
}

/* ---- waiting ---- */

static void
wait_for (Fixture *fx, const char *entry)
{
  xd_test_wait_for_line (fx->log, entry, 10000);
}

static void
wait_finished (Fixture *fx, const char *entry)
{
  xd_test_wait_for_line (fx->finished, entry, 10000);
}

/* Returns once the engine has read every change made to the store so far:
 * xenstored delivers one connection's watch events in order, so when a
 * marker device written now has come and gone, so has everything before. */
static void
sync_engine (Fixture *fx)
{
  static const char *const kv[] = { "desc", "marker", NULL };
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_publish_device (fx->host, 5, "usb", "9-9", kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 5/usb/9-9 holders=0");
  g_assert_true (xd_sim_host_unpublish_device (fx->host, 5, "usb", "9-9", &error));
  g_assert_no_error (error);
  wait_for (fx, "device-removed 5/usb/9-9 holders=0");
  g_ptr_array_set_size (fx->log, 0);
}

/* ---- operations started by the test (from outside the menu) ---- */

/* Waits for the operation itself, not only for the model: an operation
 * still running at teardown would outlive its fixture. */
static void
engine_attach (Fixture *fx, XdClassId klass, const char *backend, const char *port, const char *vm)
{
  GError *error = NULL;
  gboolean ok = xd_test_engine_attach (fx->engine, klass, backend, port, vm, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
engine_detach (Fixture *fx, XdClassId klass, const char *backend, const char *port, const char *vm)
{
  GError *error = NULL;
  gboolean ok = xd_test_engine_detach (fx->engine, klass, backend, port, vm, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

/* ---- the dump ---- */

static GtkWidget *
find_child (GtkWidget *widget, GType type)
{
  GtkWidget *found = NULL;

  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  if (GTK_IS_CONTAINER (widget) && !GTK_IS_MENU_SHELL (widget))
    {
      GList *children = gtk_container_get_children (GTK_CONTAINER (widget));
      for (GList *l = children; l && !found; l = l->next)
        found = find_child (l->data, type);
      g_list_free (children);
    }
  return found;
}

/* What dbusmenu-gtk exports as a label: it strips the markup with
 * pango_parse_markup () when the label uses markup (libdbusmenu-gtk's
 * sanitize_label ()). Checks that this is the label's text, and returns
 * whether the whole text is bold; any other attribute fails the test. */
static gboolean
label_is_bold (GtkLabel *label)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  PangoAttrList *attrs = NULL;
  gboolean bold = FALSE;
  GSList *list;

  g_assert_null (gtk_label_get_attributes (label));
  if (!gtk_label_get_use_markup (label))
    {
      g_assert_cmpstr (gtk_label_get_label (label), ==, gtk_label_get_text (label));
      return FALSE;
    }
  g_assert_true (
    pango_parse_markup (gtk_label_get_label (label), -1, 0, &attrs, &text, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, gtk_label_get_text (label));
  list = pango_attr_list_get_attributes (attrs);
  for (GSList *l = list; l; l = l->next)
    {
      PangoAttribute *attr = l->data;
      g_assert_cmpint (attr->klass->type, ==, PANGO_ATTR_WEIGHT);
      g_assert_cmpint (((PangoAttrInt *) attr)->value, ==, PANGO_WEIGHT_BOLD);
      g_assert_cmpuint (attr->start_index, ==, 0);
      g_assert_cmpuint (attr->end_index, >=, strlen (text));
      bold = TRUE;
    }
  g_slist_free_full (list, (GDestroyNotify) pango_attribute_destroy);
  pango_attr_list_unref (attrs);
  return bold;
}

static void
dump_shell (GString *out, GtkWidget *shell, guint depth)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (shell));

  for (GList *l = children; l; l = l->next)
    {
      GtkWidget *item = l->data;
      GtkWidget *label, *image, *submenu;

      if (!gtk_widget_get_visible (item))
        continue;
      for (guint i = 0; i < depth; i++)
        g_string_append (out, "  ");
      if (GTK_IS_SEPARATOR_MENU_ITEM (item))
        {
          g_string_append (out, "separator\n");
          continue;
        }
      label = find_child (item, GTK_TYPE_LABEL);
      g_assert_nonnull (label);
      g_string_append_printf (out, "item \"%s\"", gtk_label_get_text (GTK_LABEL (label)));
      if (label_is_bold (GTK_LABEL (label)))
        g_string_append (out, " bold");
      if (!gtk_widget_get_sensitive (item))
        g_string_append (out, " insensitive");
      image = find_child (item, GTK_TYPE_IMAGE);
      if (image && gtk_image_get_storage_type (GTK_IMAGE (image)) == GTK_IMAGE_ICON_NAME)
        {
          const char *icon = NULL;
          gtk_image_get_icon_name (GTK_IMAGE (image), &icon, NULL);
          g_string_append_printf (out, " icon=%s", icon);
        }
      g_string_append_c (out, '\n');
      submenu = gtk_menu_item_get_submenu (GTK_MENU_ITEM (item));
      if (submenu)
        dump_shell (out, submenu, depth + 1);
    }
  g_list_free (children);
}

static char *
dump (Fixture *fx)
{
  GString *out = g_string_new (NULL);

  xd_tray_menu_flush (fx->menu);
  dump_shell (out, GTK_WIDGET (xd_tray_menu_get_menu (fx->menu)), 0);
  return g_string_free (out, FALSE);
}

static void
assert_dump (Fixture *fx, const char *expected)
{
  g_autofree char *actual = dump (fx);
  g_assert_cmpstr (actual, ==, expected);
}

/* The demo host as the menu shows it. */
#define SUB_DOM0                                                                                   \
  "  item \"personal\"\n"                                                                          \
  "  item \"sys-usb\"\n"                                                                           \
  "  item \"untrusted\"\n"                                                                         \
  "  item \"vault\"\n"                                                                             \
  "  item \"work\"\n"
#define SUB_SYS_USB                                                                                \
  "  item \"personal\"\n"                                                                          \
  "  item \"untrusted\"\n"                                                                         \
  "  item \"vault\"\n"                                                                             \
  "  item \"work\"\n"
/* clang-format off */
static const char demo_dump[] =
  "item \"Block devices\" insensitive\n"
  "item \"dom0:sr0 — DVD-ROM, 4.7\u00a0GB\" icon=drive-removable-media\n"
  SUB_DOM0
  "item \"sys-usb:sda — SanDisk Cruzer Blade, 16.0\u00a0GB\" icon=drive-removable-media\n"
  SUB_SYS_USB
  "item \"sys-usb:sda1 (attached to work) — SanDisk Cruzer Blade (partition 1), 8.0\u00a0GB\" bold icon=drive-removable-media\n"
  "  item \"personal\"\n"
  "  item \"untrusted\"\n"
  "  item \"vault\"\n"
  "  item \"work\" bold icon=media-eject\n"
  "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" icon=drive-removable-media\n"
  SUB_SYS_USB
  "separator\n"
  "item \"Microphones\" insensitive\n"
  "item \"dom0:mic — Internal microphone\" icon=audio-input-microphone-symbolic\n"
  SUB_DOM0
  "separator\n"
  "item \"USB devices\" insensitive\n"
  "item \"sys-usb:2-1 — SanDisk Cruzer Blade\" icon=media-removable\n"
  SUB_SYS_USB
  "item \"sys-usb:2-1.3 — Logitech USB Receiver\" icon=media-removable\n"
  SUB_SYS_USB;
/* clang-format on */

/* Expected dumps are the demo's with lines edited: each @old (one or more
 * whole lines) must occur exactly once and is replaced by @new. */
static char *edit (const char *dump_text, ...) G_GNUC_NULL_TERMINATED;

static char *
edit (const char *dump_text, ...)
{
  va_list args;
  const char *old;
  char *result = g_strdup (dump_text);

  va_start (args, dump_text);
  while ((old = va_arg (args, const char *)))
    {
      const char *new = va_arg (args, const char *);
      char *at = strstr (result, old);
      char *replaced;

      if (!at || strstr (at + 1, old))
        g_error ("“%s” is not in the dump exactly once:\n%s", old, result);
      replaced = g_strdup_printf ("%.*s%s%s", (int) (at - result), result, new, at + strlen (old));
      g_free (result);
      result = replaced;
    }
  va_end (args);
  return result;
}

/* The first entry of @shell or of its submenus (depth first) whose text
 * starts with @prefix. */
static GtkWidget *
find_entry_below (GtkWidget *shell, const char *prefix)
{
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (shell));

  for (GList *l = children; l; l = l->next)
    {
      GtkWidget *label = find_child (l->data, GTK_TYPE_LABEL);
      GtkWidget *submenu
        = GTK_IS_MENU_ITEM (l->data) ? gtk_menu_item_get_submenu (GTK_MENU_ITEM (l->data)) : NULL;
      GtkWidget *found;

      if (label && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (label)), prefix))
        return l->data;
      if (submenu && (found = find_entry_below (submenu, prefix)))
        return found;
    }
  return NULL;
}

/* A row, in the menu or in a VM's group. */
static GtkWidget *
find_row_in (XdTrayMenu *menu, const char *prefix)
{
  GtkWidget *row = find_entry_below (GTK_WIDGET (xd_tray_menu_get_menu (menu)), prefix);

  if (!row)
    g_error ("no row starts with “%s”", prefix);
  return row;
}

static GtkWidget *
find_row (Fixture *fx, const char *prefix)
{
  return find_row_in (fx->menu, prefix);
}

/* The submenu of @entry, made first if it was not, as the pointer reaching
 * the entry makes it. */
static GtkWidget *
made_submenu (GtkWidget *entry)
{
  if (!gtk_menu_item_get_submenu (GTK_MENU_ITEM (entry)))
    {
      gtk_menu_item_select (GTK_MENU_ITEM (entry));
      gtk_menu_item_deselect (GTK_MENU_ITEM (entry));
    }
  g_assert_nonnull (gtk_menu_item_get_submenu (GTK_MENU_ITEM (entry)));
  return gtk_menu_item_get_submenu (GTK_MENU_ITEM (entry));
}

/* Opens the entry that starts with @prefix (a VM's, in a long section). */
static void
open_entry (Fixture *fx, const char *prefix)
{
  made_submenu (find_row (fx, prefix));
}

static GtkWidget *
find_vm_item (Fixture *fx, const char *row_prefix, const char *vm)
{
  GtkWidget *submenu = gtk_menu_item_get_submenu (GTK_MENU_ITEM (find_row (fx, row_prefix)));
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (submenu));

  for (GList *l = children; l; l = l->next)
    {
      GtkWidget *label = find_child (l->data, GTK_TYPE_LABEL);
      if (gtk_widget_get_visible (l->data)
          && strcmp (gtk_label_get_text (GTK_LABEL (label)), vm) == 0)
        return l->data;
    }
  g_error ("no %s in the submenu of “%s”", vm, row_prefix);
  return NULL;
}

static void
click (Fixture *fx, const char *row_prefix, const char *vm)
{
  gtk_menu_item_activate (GTK_MENU_ITEM (find_vm_item (fx, row_prefix, vm)));
}

/* ---- tests ---- */

static void
test_demo (Fixture *fx, gconstpointer data)
{
  g_autofree char *summary = xd_tray_menu_dup_summary (fx->menu);
  GtkWidget *row = find_row (fx, "sys-usb:sda1 ");

  assert_dump (fx, demo_dump);
  g_assert_cmpstr (summary, ==, "7 devices, 1 attached");
  g_assert_cmpuint (fx->summary_changes, ==, 0); /* connected after the first update */
  /* The row's child is a box, not a label: gtk_menu_item_get_label () has
   * no markup to leak, and dbusmenu finds the label inside. */
  g_assert_null (gtk_menu_item_get_label (GTK_MENU_ITEM (row)));
  g_assert_null (strchr (gtk_label_get_text (GTK_LABEL (find_child (row, GTK_TYPE_LABEL))), '<'));
}

static void
test_device_added_removed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[] = { "desc", "Yubico YubiKey", NULL };
  GtkWidget *kept = find_row (fx, "sys-usb:2-1.3 ");
  g_autofree char *added = NULL;

  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "3-2", kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 1/usb/3-2 holders=0");
  added = edit (demo_dump,
                "item \"sys-usb:2-1.3 — Logitech USB Receiver\" icon=media-removable\n" SUB_SYS_USB,
                "item \"sys-usb:2-1.3 — Logitech USB Receiver\" icon=media-removable\n" SUB_SYS_USB
                "item \"sys-usb:3-2 — Yubico YubiKey — NEW\" icon=media-removable\n" SUB_SYS_USB,
                NULL);
  assert_dump (fx, added);
  /* Edited in place: the rows that were there are the same widgets. */
  g_assert_true (find_row (fx, "sys-usb:2-1.3 ") == kept);

  g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "usb", "3-2", &error));
  g_assert_no_error (error);
  wait_for (fx, "device-removed 1/usb/3-2 holders=0");
  assert_dump (fx, demo_dump);
  g_assert_true (find_row (fx, "sys-usb:2-1.3 ") == kept);

  /* An empty section says "None". */
  g_assert_true (xd_sim_host_unpublish_device (fx->host, DOM0, "mic", "mic", &error));
  wait_for (fx, "device-removed 0/mic/mic holders=0");
  {
    g_autofree char *none = edit (
      demo_dump,
      "item \"dom0:mic — Internal microphone\" icon=audio-input-microphone-symbolic\n" SUB_DOM0,
      "item \"None\" insensitive\n", NULL);
    g_autofree char *summary = NULL;
    assert_dump (fx, none);
    summary = xd_tray_menu_dup_summary (fx->menu);
    g_assert_cmpstr (summary, ==, "6 devices, 1 attached");
    /* 8 with the YubiKey, 7 without, 6 without the microphone. */
    g_assert_cmpuint (fx->summary_changes, ==, 3);
  }
}

static void
test_engine_attach_detach (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *attached = NULL;
  g_autofree char *summary = NULL;

  engine_attach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal");
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  attached
    = edit (demo_dump,
            "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
            "icon=drive-removable-media\n" SUB_SYS_USB,
            "item \"sys-usb:sda2 (attached to personal) — SanDisk Cruzer Blade (partition 2), "
            "8.0\u00a0GB\" bold icon=drive-removable-media\n"
            "  item \"personal\" bold icon=media-eject\n"
            "  item \"untrusted\"\n"
            "  item \"vault\"\n"
            "  item \"work\"\n",
            NULL);
  assert_dump (fx, attached);
  summary = xd_tray_menu_dup_summary (fx->menu);
  g_assert_cmpstr (summary, ==, "7 devices, 2 attached");
  g_assert_cmpuint (fx->summary_changes, ==, 1);

  engine_detach (fx, XD_CLASS_BLOCK, "sys-usb", "sda2", "personal");
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  assert_dump (fx, demo_dump);
  g_assert_cmpuint (fx->summary_changes, ==, 2);
}

static void
test_vms (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) with_banking = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (demo_dump, "\n", -1);

  /* banking sorts first in every submenu. */
  for (guint i = 0; lines[i] && lines[i][0]; i++)
    {
      if (g_str_has_prefix (lines[i], "  item \"personal\""))
        g_string_append (with_banking, "  item \"banking\"\n");
      g_string_append_printf (with_banking, "%s\n", lines[i]);
    }
  g_assert_true (xd_sim_host_add_vm (fx->host, 10, "banking", &error));
  g_assert_no_error (error);
  wait_for (fx, "vm-added banking");
  assert_dump (fx, with_banking->str);

  g_assert_true (xd_sim_host_remove_vm (fx->host, 10, &error));
  wait_for (fx, "vm-removed banking");
  assert_dump (fx, demo_dump);

  /* work stops: it leaves every submenu and lets go of sys-usb:sda1. */
  g_assert_true (xd_sim_host_remove_vm (fx->host, WORK, &error));
  wait_for (fx, "vm-removed work");
  wait_for (fx, "device-changed 1/block/sda1 holders=0");
  {
    /* Built by hand: every "work" line goes. */
    g_autoptr (GString) expected = g_string_new (NULL);
    g_auto (GStrv) demo = g_strsplit (demo_dump, "\n", -1);
    for (guint i = 0; demo[i] && demo[i][0]; i++)
      {
        if (g_str_has_prefix (demo[i], "  item \"work\""))
          continue;
        if (g_str_has_prefix (demo[i], "item \"sys-usb:sda1 "))
          g_string_append (expected, "item \"sys-usb:sda1 — SanDisk Cruzer Blade (partition 1), "
                                     "8.0\u00a0GB\" icon=drive-removable-media\n");
        else
          g_string_append_printf (expected, "%s\n", demo[i]);
      }
    assert_dump (fx, expected->str);
  }
}

static void
test_click (Fixture *fx, gconstpointer data)
{
  g_autofree char *busy = NULL;
  g_autofree char *attached = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *mic = NULL;

  /* Attach: while it runs the row says so and its VMs cannot be clicked. */
  click (fx, "sys-usb:sda2 ", "personal");
  busy
    = edit (demo_dump,
            "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
            "icon=drive-removable-media\n" SUB_SYS_USB,
            "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB — attaching to "
            "personal…\" icon=drive-removable-media\n"
            "  item \"personal\" insensitive\n"
            "  item \"untrusted\" insensitive\n"
            "  item \"vault\" insensitive\n"
            "  item \"work\" insensitive\n",
            NULL);
  assert_dump (fx, busy);
  /* A second click while it runs starts nothing. */
  click (fx, "sys-usb:sda2 ", "vault");
  wait_finished (fx, "attach sys-usb:sda2 personal ok");
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  attached
    = edit (demo_dump,
            "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
            "icon=drive-removable-media\n" SUB_SYS_USB,
            "item \"sys-usb:sda2 (attached to personal) — SanDisk Cruzer Blade (partition 2), "
            "8.0\u00a0GB\" bold icon=drive-removable-media\n"
            "  item \"personal\" bold icon=media-eject\n"
            "  item \"untrusted\"\n"
            "  item \"vault\"\n"
            "  item \"work\"\n",
            NULL);
  assert_dump (fx, attached);
  g_assert_cmpuint (fx->finished->len, ==, 1);

  /* The eject item detaches. */
  click (fx, "sys-usb:sda2 ", "personal");
  wait_finished (fx, "detach sys-usb:sda2 personal ok");
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  assert_dump (fx, demo_dump);

  /* Another VM for a device held elsewhere: detached from work, then
   * attached to personal. */
  click (fx, "sys-usb:sda1 ", "personal");
  wait_finished (fx, "attach sys-usb:sda1 personal ok");
  wait_for (fx, "device-changed 1/block/sda1 holders=1");
  moved = edit (demo_dump,
                "sys-usb:sda1 (attached to work) — SanDisk Cruzer Blade (partition 1), "
                "8.0\u00a0GB\" bold icon=drive-removable-media\n"
                "  item \"personal\"\n"
                "  item \"untrusted\"\n"
                "  item \"vault\"\n"
                "  item \"work\" bold icon=media-eject\n",
                "sys-usb:sda1 (attached to personal) — SanDisk Cruzer Blade (partition 1), "
                "8.0\u00a0GB\" bold icon=drive-removable-media\n"
                "  item \"personal\" bold icon=media-eject\n"
                "  item \"untrusted\"\n"
                "  item \"vault\"\n"
                "  item \"work\"\n",
                NULL);
  assert_dump (fx, moved);

  /* The microphone is shared: a second VM joins the first. */
  click (fx, "dom0:mic ", "work");
  wait_finished (fx, "attach dom0:mic work ok");
  click (fx, "dom0:mic ", "personal");
  wait_finished (fx, "attach dom0:mic personal ok");
  wait_for (fx, "device-changed 0/mic/mic holders=2");
  mic = edit (
    moved,
    "item \"dom0:mic — Internal microphone\" icon=audio-input-microphone-symbolic\n" SUB_DOM0,
    "item \"dom0:mic (attached to work, personal) — Internal microphone\" bold "
    "icon=audio-input-microphone-symbolic\n"
    "  item \"personal\" bold icon=media-eject\n"
    "  item \"sys-usb\"\n"
    "  item \"untrusted\"\n"
    "  item \"vault\"\n"
    "  item \"work\" bold icon=media-eject\n",
    NULL);
  assert_dump (fx, mic);
}

static void
test_failure (Fixture *fx, gconstpointer data)
{
  xd_toolstack_sim_set_fault (fx->toolstack, XD_SIM_FAULT_BACKEND_ERROR);
  click (fx, "sys-usb:sda2 ", "personal");
  while (fx->finished->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (g_str_has_prefix (fx->finished->pdata[0], "attach sys-usb:sda2 personal "
                                                           "attaching sys-usb:sda2 to personal "
                                                           "failed: "));
  xd_toolstack_sim_set_fault (fx->toolstack, XD_SIM_FAULT_NONE);
  /* The toolstack removed what it wrote before the operation returned; the
   * engine may not have read that yet. */
  sync_engine (fx);
  /* No busy text, nothing attached, every VM clickable again. */
  assert_dump (fx, demo_dump);

  /* A refusal: sda is the disk of sda1, which work holds, so attaching it
   * anywhere fails; the menu reports it and shows nothing changed. */
  click (fx, "sys-usb:sda ", "personal");
  while (fx->finished->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (g_str_has_suffix (fx->finished->pdata[1], " ok"));
  sync_engine (fx);
  assert_dump (fx, demo_dump);
}

static void
test_hostile (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char hostile[]
    = "<b>x</b> &amp; <span foreground=\"red\">y</span> \"d\" Ünï 𝔘 日本 💾";
  static const char *const kv[] = { "desc", hostile, "size", "1000", "mode", "w", NULL };
  g_autofree char *long_desc = NULL;
  const char *long_kv[] = { "desc", NULL, NULL };
  g_autofree char *row_text = g_strdup_printf ("sys-usb:evil — %s, 1.0\u00a0kB — NEW", hostile);
  GtkWidget *row;
  GtkLabel *label;

  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "evil", kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 1/block/evil holders=0");
  xd_tray_menu_flush (fx->menu);
  row = find_row (fx, "sys-usb:evil ");
  label = GTK_LABEL (find_child (row, GTK_TYPE_LABEL));
  g_assert_cmpstr (gtk_label_get_text (label), ==, row_text);
  g_assert_false (label_is_bold (label));

  /* Attached, it is bold, and bold is the only attribute. */
  engine_attach (fx, XD_CLASS_BLOCK, "sys-usb", "evil", "vault");
  wait_for (fx, "device-changed 1/block/evil holders=1");
  xd_tray_menu_flush (fx->menu);
  {
    g_autofree char *attached
      = g_strdup_printf ("sys-usb:evil (attached to vault) — %s, 1.0\u00a0kB — NEW", hostile);
    g_assert_cmpstr (gtk_label_get_text (label), ==, attached);
    g_assert_true (label_is_bold (label));
    g_assert_null (gtk_menu_item_get_label (GTK_MENU_ITEM (row)));
  }

  /* A long description is cut at 64 characters, the last being "…". */
  long_desc = g_strnfill (100, 'A');
  long_kv[1] = long_desc;
  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "4-4", long_kv, &error));
  wait_for (fx, "device-added 1/usb/4-4 holders=0");
  xd_tray_menu_flush (fx->menu);
  {
    g_autofree char *as = g_strnfill (63, 'A');
    g_autofree char *expected = g_strdup_printf ("sys-usb:4-4 — %s… — NEW", as);
    row = find_row (fx, "sys-usb:4-4 ");
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_child (row, GTK_TYPE_LABEL))), ==,
                     expected);
  }
}

static void
test_new_mark (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[] = { "desc", "Yubico YubiKey", NULL };
  GtkWidget *label;

  /* Devices present at start-up are not new (the demo dump has no NEW). */
  assert_dump (fx, demo_dump);
  xd_tray_menu_set_new_seconds (fx->menu, 1);
  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", "3-2", kv, &error));
  wait_for (fx, "device-added 1/usb/3-2 holders=0");
  xd_tray_menu_flush (fx->menu);
  label = find_child (find_row (fx, "sys-usb:3-2 "), GTK_TYPE_LABEL);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==,
                   "sys-usb:3-2 — Yubico YubiKey — NEW");
  /* The timer takes the mark away without any other change. */
  xd_test_spin (1500);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "sys-usb:3-2 — Yubico YubiKey");
}

static guint
count_children (Fixture *fx, const char *path)
{
  unsigned int n = 0;
  char **entries = xs_directory (xd_sim_host_get_handle (fx->host), XBT_NULL, path, &n);
  free (entries);
  return entries ? n : 0;
}

/* A refresh reflects state and never starts an operation, whatever changes
 * and however often the menu is updated. */
static void
test_refresh_never_operates (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  for (int round = 0; round < 5; round++)
    {
      g_autofree char *port = g_strdup_printf ("sdz%d", round);
      g_autofree char *key = g_strdup_printf ("device-added 1/block/%s holders=0", port);
      static const char *const kv[] = { "desc", "Burst", "size", "512", "mode", "w", NULL };

      g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", port, kv, &error));
      g_assert_true (xd_sim_host_add_vm (fx->host, 20 + round, "burst", &error));
      g_assert_no_error (error);
      wait_for (fx, key);
      wait_for (fx, "vm-added burst");
      xd_tray_menu_flush (fx->menu);
      /* Attach and detach from outside the menu: the rows and the eject
       * items change under the handlers. */
      engine_attach (fx, XD_CLASS_MIC, "dom0", "mic", "personal");
      wait_for (fx, "device-changed 0/mic/mic holders=1");
      xd_tray_menu_flush (fx->menu);
      engine_detach (fx, XD_CLASS_MIC, "dom0", "mic", "personal");
      wait_for (fx, "device-changed 0/mic/mic holders=0");
      g_assert_true (xd_sim_host_remove_vm (fx->host, 20 + round, &error));
      g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "block", port, &error));
      wait_for (fx, "vm-removed burst");
      xd_tray_menu_flush (fx->menu);
      g_ptr_array_set_size (fx->log, 0);
    }
  xd_test_spin (200);
  g_assert_cmpuint (fx->finished->len, ==, 0);
  /* Still only work's vbd, and no microphone held. */
  g_assert_cmpuint (count_children (fx, "/local/domain/1/backend/vbd"), ==, 1);
  g_assert_cmpuint (count_children (fx, "/local/domain/0/backend/xd-mic/3"), ==, 0);
  assert_dump (fx, demo_dump);
}

/* The demo's dump with every submenu empty, as a lazy menu shows it until a
 * submenu is wanted; the rows listed keep their submenus. */
static char *lazy_dump (const char *dump_text, ...) G_GNUC_NULL_TERMINATED;

static char *
lazy_dump (const char *dump_text, ...)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (dump_text, "\n", -1);
  gboolean keep = FALSE;

  for (guint i = 0; lines[i] && lines[i][0]; i++)
    {
      if (!g_str_has_prefix (lines[i], "  "))
        {
          va_list args;
          const char *prefix;

          keep = FALSE;
          va_start (args, dump_text);
          while ((prefix = va_arg (args, const char *)))
            keep = keep || g_str_has_prefix (lines[i], prefix);
          va_end (args);
          g_string_append_printf (out, "%s\n", lines[i]);
          continue;
        }
      if (keep)
        g_string_append_printf (out, "%s\n", lines[i]);
    }
  return g_strdup (out->str);
}

/* Whether @row draws its own arrow, as it does while it has no GtkMenu. */
static gboolean
shows_own_arrow (GtkWidget *row)
{
  gboolean draws = FALSE;

  if (g_object_class_find_property (G_OBJECT_GET_CLASS (row), "draws-arrow"))
    g_object_get (row, "draws-arrow", &draws, NULL);
  return draws;
}

/* Empty, or not made yet (a row's GtkMenu is made when it is first
 * needed). */
static gboolean
submenu_empty (Fixture *fx, const char *row_prefix)
{
  GtkWidget *submenu = gtk_menu_item_get_submenu (GTK_MENU_ITEM (find_row (fx, row_prefix)));
  g_autoptr (GList) children
    = submenu ? gtk_container_get_children (GTK_CONTAINER (submenu)) : NULL;

  return children == NULL;
}

/* Beyond the eager limit submenus stay empty (no widget at all) until
 * wanted: when GTK selects the row (pointer or keyboard) or activates it. A
 * filled submenu then
 * follows changes, only the last few filled stay so, and going back under
 * the limit fills them all. */
static void
test_lazy (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = lazy_dump (demo_dump, NULL);
  g_autofree char *sda1 = lazy_dump (demo_dump, "item \"sys-usb:sda1 ", NULL);
  g_autofree char *sda1_mic
    = lazy_dump (demo_dump, "item \"sys-usb:sda1 ", "item \"dom0:mic ", NULL);
  g_autofree char *sda12_mic = lazy_dump (demo_dump, "item \"sys-usb:sda1 ", "item \"dom0:mic ",
                                          "item \"sys-usb:sda2 ", NULL);
  g_autofree char *attached = NULL;
  GtkWidget *row;

  /* 7 devices and 6 VMs: 42 entries. */
  g_assert_false (xd_tray_menu_is_lazy (fx->menu));
  xd_tray_menu_set_eager_limit (fx->menu, 41);
  assert_dump (fx, empty);
  g_assert_true (xd_tray_menu_is_lazy (fx->menu));
  g_assert_true (submenu_empty (fx, "sys-usb:sda1 "));
  /* Reflecting state fills nothing. */
  engine_attach (fx, XD_CLASS_USB, "sys-usb", "2-1", "vault");
  wait_for (fx, "device-changed 1/usb/2-1 holders=1");
  xd_tray_menu_flush (fx->menu);
  g_assert_true (submenu_empty (fx, "sys-usb:2-1 "));
  engine_detach (fx, XD_CLASS_USB, "sys-usb", "2-1", "vault");
  wait_for (fx, "device-changed 1/usb/2-1 holders=0");
  assert_dump (fx, empty);

  /* A row made lazy has no GtkMenu (a popup window of its own) until it is
   * first selected; until then it draws an arrow of its own. */
  {
    g_autoptr (XdTrayMenu) fresh = xd_tray_menu_new (fx->engine);
    GtkWidget *submenu;
    g_autoptr (GList) vms = NULL;

    xd_tray_menu_set_eager_limit (fresh, 41);
    xd_tray_menu_flush (fresh);
    row = find_row_in (fresh, "sys-usb:sda1 ");
    g_assert_null (gtk_menu_item_get_submenu (GTK_MENU_ITEM (row)));
    g_assert_true (shows_own_arrow (row));
    gtk_menu_item_select (GTK_MENU_ITEM (row));
    submenu = gtk_menu_item_get_submenu (GTK_MENU_ITEM (row));
    g_assert_nonnull (submenu);
    g_assert_false (shows_own_arrow (row));
    gtk_menu_item_deselect (GTK_MENU_ITEM (row));
    xd_tray_menu_flush (fresh);
    vms = gtk_container_get_children (GTK_CONTAINER (submenu));
    g_assert_cmpuint (g_list_length (vms), ==, 4); /* work (holder), personal, vault, untrusted */
  }

  /* The pointer reaches a row: its submenu fills, the eject mark included. */
  row = find_row (fx, "sys-usb:sda1 ");
  gtk_menu_item_select (GTK_MENU_ITEM (row));
  gtk_menu_item_deselect (GTK_MENU_ITEM (row));
  assert_dump (fx, sda1);
  /* A panel's AboutToShow, relayed by dbusmenu-gtk as an activation. */
  gtk_menu_item_activate (GTK_MENU_ITEM (find_row (fx, "dom0:mic ")));
  assert_dump (fx, sda1_mic);
  row = find_row (fx, "sys-usb:sda2 ");
  gtk_menu_item_select (GTK_MENU_ITEM (row));
  gtk_menu_item_deselect (GTK_MENU_ITEM (row));
  g_assert_false (submenu_empty (fx, "sys-usb:sda2 "));
  g_assert_true (submenu_empty (fx, "sys-usb:sda "));

  /* A filled submenu follows the model; the others stay empty. */
  engine_attach (fx, XD_CLASS_MIC, "dom0", "mic", "personal");
  wait_for (fx, "device-changed 0/mic/mic holders=1");
  attached = edit (sda12_mic,
                   "item \"dom0:mic — Internal microphone\" icon=audio-input-microphone-symbolic\n"
                   "  item \"personal\"\n",
                   "item \"dom0:mic (attached to personal) — Internal microphone\" bold "
                   "icon=audio-input-microphone-symbolic\n"
                   "  item \"personal\" bold icon=media-eject\n",
                   NULL);
  assert_dump (fx, attached);
  /* And a click there works as in an eager menu. */
  click (fx, "dom0:mic ", "personal");
  wait_finished (fx, "detach dom0:mic personal ok");
  wait_for (fx, "device-changed 0/mic/mic holders=0");
  assert_dump (fx, sda12_mic);

  /* Only the last 8 filled stay filled: fill 9 more rows, one at a time. */
  for (guint i = 0; i < 9; i++)
    {
      g_autofree char *port = g_strdup_printf ("9-%u", i + 1);
      g_autofree char *entry = g_strdup_printf ("device-added 1/usb/%s holders=0", port);
      g_autofree char *prefix = g_strdup_printf ("sys-usb:%s ", port);
      static const char *const kv[] = { "desc", "Hub", NULL };

      g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "usb", port, kv, &error));
      g_assert_no_error (error);
      wait_for (fx, entry);
      xd_tray_menu_flush (fx->menu);
      gtk_menu_item_activate (GTK_MENU_ITEM (find_row (fx, prefix)));
      g_assert_false (submenu_empty (fx, prefix));
      /* sda1 was filled first, the microphone second, sda2 third. */
      g_assert_true (submenu_empty (fx, "sys-usb:sda1 ") == (i >= 5));
      g_assert_true (submenu_empty (fx, "dom0:mic ") == (i >= 6));
      g_assert_true (submenu_empty (fx, "sys-usb:sda2 ") == (i >= 7));
    }

  /* Under the limit again: every submenu is filled, as an eager menu's. */
  for (guint i = 0; i < 9; i++)
    {
      g_autofree char *port = g_strdup_printf ("9-%u", i + 1);
      g_autofree char *entry = g_strdup_printf ("device-removed 1/usb/%s holders=0", port);

      g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "usb", port, &error));
      wait_for (fx, entry);
    }
  xd_tray_menu_set_eager_limit (fx->menu, 42);
  assert_dump (fx, demo_dump);
  g_assert_false (xd_tray_menu_is_lazy (fx->menu));
}

/* ---- the dbusmenu tree ---- */

/* The dbusmenu tree in the GTK dump's format (dbusmenu has no bold). */
static void
dump_dbusmenu (GString *out, XdMenuNode *parent, guint depth)
{
  for (guint n = 0; n < xd_menu_node_get_n_children (parent); n++)
    {
      XdMenuNode *node = xd_menu_node_get_child (parent, n);
      const char *icon = xd_menu_node_get_icon (node);

      g_assert_true (xd_menu_node_get_parent (node) == parent);
      if (!xd_menu_node_get_visible (node))
        continue;
      for (guint i = 0; i < depth; i++)
        g_string_append (out, "  ");
      if (xd_menu_node_get_kind (node) == XD_MENU_NODE_SEPARATOR)
        {
          g_string_append (out, "separator\n");
          continue;
        }
      g_string_append_printf (out, "item \"%s\"", xd_menu_node_get_label (node));
      if (!xd_menu_node_get_enabled (node))
        g_string_append (out, " insensitive");
      if (icon)
        g_string_append_printf (out, " icon=%s", icon);
      g_string_append_c (out, '\n');
      dump_dbusmenu (out, node, depth + 1);
    }
}

static char *
without_bold (const char *dump_text)
{
  g_auto (GStrv) parts = g_strsplit (dump_text, " bold", -1);
  return g_strjoinv ("", parts);
}

static XdMenuNode *
find_dbusmenu_entry (XdMenuNode *parent, const char *prefix)
{
  for (guint i = 0; i < xd_menu_node_get_n_children (parent); i++)
    {
      XdMenuNode *node = xd_menu_node_get_child (parent, i);
      const char *label = xd_menu_node_get_label (node);

      if (label && g_str_has_prefix (label, prefix))
        return node;
    }
  g_error ("no entry starts with “%s”", prefix);
  return NULL;
}

static void
assert_dbusmenu (Fixture *fx, const char *expected_gtk_dump)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *expected = without_bold (expected_gtk_dump);

  xd_tray_menu_flush (fx->menu);
  dump_dbusmenu (out, xd_tray_menu_get_dbusmenu_root (fx->menu), 0);
  g_assert_cmpstr (out->str, ==, expected);
}

/* The same menu drawn as dbusmenu entries (what a panel is given), then by
 * GTK again (the status-icon fallback), then dbusmenu again: each time the
 * whole menu, built anew, and a click works in both. Underscores in
 * dbusmenu labels are doubled, or panels would take them as mnemonics. */
static void
test_kits (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *attached = NULL;
  g_autofree char *with_vm = NULL;
  XdMenuNode *root, *row, *vm;

  xd_tray_menu_set_kit (fx->menu, XD_TRAY_KIT_DBUSMENU);
  g_assert_cmpint (xd_tray_menu_get_kit (fx->menu), ==, XD_TRAY_KIT_DBUSMENU);
  assert_dbusmenu (fx, demo_dump);
  root = xd_tray_menu_get_dbusmenu_root (fx->menu);
  g_assert_cmpint (xd_menu_node_get_kind (root), ==, XD_MENU_NODE_SUBMENU);

  /* A click on "personal" under sys-usb:sda2. */
  row = find_dbusmenu_entry (root, "sys-usb:sda2 ");
  g_assert_cmpint (xd_menu_node_get_kind (row), ==, XD_MENU_NODE_SUBMENU);
  vm = find_dbusmenu_entry (row, "personal");
  xd_menu_node_activate (vm);
  wait_finished (fx, "attach sys-usb:sda2 personal ok");
  wait_for (fx, "device-changed 1/block/sda2 holders=1");
  attached
    = edit (demo_dump,
            "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
            "icon=drive-removable-media\n" SUB_SYS_USB,
            "item \"sys-usb:sda2 (attached to personal) — SanDisk Cruzer Blade (partition 2), "
            "8.0\u00a0GB\" bold icon=drive-removable-media\n"
            "  item \"personal\" bold icon=media-eject\n"
            "  item \"untrusted\"\n"
            "  item \"vault\"\n"
            "  item \"work\"\n",
            NULL);
  assert_dbusmenu (fx, attached);

  /* GTK again: the same menu, bold included. */
  xd_tray_menu_set_kit (fx->menu, XD_TRAY_KIT_GTK);
  assert_dump (fx, attached);
  click (fx, "sys-usb:sda2 ", "personal");
  wait_finished (fx, "detach sys-usb:sda2 personal ok");
  wait_for (fx, "device-changed 1/block/sda2 holders=0");
  assert_dump (fx, demo_dump);

  /* A VM named with underscores. */
  xd_tray_menu_set_kit (fx->menu, XD_TRAY_KIT_DBUSMENU);
  g_assert_true (xd_sim_host_add_vm (fx->host, 10, "my_vm", &error));
  g_assert_no_error (error);
  wait_for (fx, "vm-added my_vm");
  {
    g_autoptr (GString) expected = g_string_new (NULL);
    g_auto (GStrv) lines = g_strsplit (demo_dump, "\n", -1);
    /* It sorts first in every submenu. */
    for (guint i = 0; lines[i] && lines[i][0]; i++)
      {
        if (g_str_has_prefix (lines[i], "  item \"") && i > 0
            && !g_str_has_prefix (lines[i - 1], "  item \""))
          g_string_append (expected, "  item \"my__vm\"\n");
        g_string_append_printf (expected, "%s\n", lines[i]);
      }
    with_vm = g_string_free (g_steal_pointer (&expected), FALSE);
  }
  assert_dbusmenu (fx, with_vm);
}

/* ---- long sections: one entry per VM ---- */

/* @dump_text with the block section's rows put under one entry per VM, as
 * a section longer than the group limit shows them: @dom0 and @sys_usb are
 * those entries' lines. The rows are left out for entries not yet @open:
 * they are not made until then. */
static char *
group_block (const char *dump_text, const char *dom0, const char *sys_usb, gboolean open)
{
  static const char header[] = "item \"Block devices\" insensitive\n";
  const char *rows = strstr (dump_text, header) + strlen (header);
  const char *end = strstr (rows, "separator\n");
  const char *usb = strstr (rows, "item \"sys-usb:");
  g_autoptr (GString) out = g_string_new_len (dump_text, rows - dump_text);

  g_assert_true (usb && usb < end);
  for (const char *line = rows; line < end;)
    {
      const char *next = strchr (line, '\n') + 1;

      if (line == rows && dom0)
        g_string_append (out, dom0);
      if (line == usb)
        g_string_append (out, sys_usb);
      if (open)
        {
          g_string_append (out, "  ");
          g_string_append_len (out, line, next - line);
        }
      line = next;
    }
  g_string_append (out, end);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

#define DOM0_GROUP "item \"dom0 — 1 device\" icon=drive-removable-media\n"
#define SDA1_ATTACHED                                                                              \
  "item \"sys-usb:sda1 (attached to work) — SanDisk Cruzer Blade (partition 1), 8.0\u00a0GB\" "  \
  "bold icon=drive-removable-media\n"                                                              \
  "  item \"personal\"\n"                                                                          \
  "  item \"untrusted\"\n"                                                                         \
  "  item \"vault\"\n"                                                                             \
  "  item \"work\" bold icon=media-eject\n"
#define SDA1_FREE                                                                                  \
  "item \"sys-usb:sda1 — SanDisk Cruzer Blade (partition 1), 8.0\u00a0GB\" "                     \
  "icon=drive-removable-media\n" SUB_SYS_USB

/* A section longer than the limit, from two VMs, shows one entry per VM;
 * its texts follow what is attached and new, a click in it works, and the
 * section goes back to a row per device when it is short again, or all its
 * devices come from one VM. The panel's entries are the same. */
static void
test_groups (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char *const kv[]
    = { "desc", "Kingston DataTraveler", "size", "4000000000", "mode", "w", NULL };
  g_autofree char *grouped = NULL, *detached = NULL, *added = NULL, *flat = NULL;
  g_autofree char *summary = NULL;

  xd_tray_menu_set_group_limit (fx->menu, 3);
  grouped = group_block (demo_dump, DOM0_GROUP,
                         "item \"sys-usb — 3 devices, 1 attached\" bold "
                         "icon=drive-removable-media\n",
                         FALSE);
  assert_dump (fx, grouped);
  g_assert_true (shows_own_arrow (find_row (fx, "sys-usb — ")));
  summary = xd_tray_menu_dup_summary (fx->menu);
  g_assert_cmpstr (summary, ==, "7 devices, 1 attached");

  /* A device new in an entry not opened yet (no row made): the entry says
   * so, until the mark expires, with no other change. */
  {
    GtkWidget *label;

    xd_tray_menu_set_new_seconds (fx->menu, 1);
    g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "sdc", kv, &error));
    g_assert_no_error (error);
    wait_for (fx, "device-added 1/block/sdc holders=0");
    xd_tray_menu_flush (fx->menu);
    label = find_child (find_row (fx, "sys-usb — "), GTK_TYPE_LABEL);
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==,
                     "sys-usb — 4 devices, 1 attached — NEW");
    g_assert_true (shows_own_arrow (find_row (fx, "sys-usb — ")));
    xd_test_spin (1500);
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "sys-usb — 4 devices, 1 attached");
    g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "block", "sdc", &error));
    g_assert_no_error (error);
    wait_for (fx, "device-removed 1/block/sdc holders=0");
    xd_tray_menu_set_new_seconds (fx->menu, 120);
    assert_dump (fx, grouped);
  }

  /* A change to one row (not to its section) updates its group's text;
   * the row, not made yet, shows it once the entry is opened. */
  engine_detach (fx, XD_CLASS_BLOCK, "sys-usb", "sda1", "work");
  wait_for (fx, "device-changed 1/block/sda1 holders=0");
  detached = edit (demo_dump, SDA1_ATTACHED, SDA1_FREE, NULL);
  g_free (grouped);
  grouped = group_block (detached, DOM0_GROUP,
                         "item \"sys-usb — 3 devices\" icon=drive-removable-media\n", FALSE);
  assert_dump (fx, grouped);
  open_entry (fx, "dom0 — ");
  open_entry (fx, "sys-usb — ");
  g_assert_false (shows_own_arrow (find_row (fx, "sys-usb — ")));
  g_free (grouped);
  grouped = group_block (detached, DOM0_GROUP,
                         "item \"sys-usb — 3 devices\" icon=drive-removable-media\n", TRUE);
  assert_dump (fx, grouped);

  /* A click inside a group attaches, and the group says so. */
  click (fx, "sys-usb:sda1 ", "work");
  wait_finished (fx, "attach sys-usb:sda1 work ok");
  wait_for (fx, "device-changed 1/block/sda1 holders=1");
  g_free (grouped);
  grouped = group_block (demo_dump, DOM0_GROUP,
                         "item \"sys-usb — 3 devices, 1 attached\" bold "
                         "icon=drive-removable-media\n",
                         TRUE);
  assert_dump (fx, grouped);

  /* The panel is given the same entries. */
  xd_tray_menu_set_kit (fx->menu, XD_TRAY_KIT_DBUSMENU);
  assert_dbusmenu (fx, grouped);
  /* In a menu too large to fill ahead, it is given a VM's rows when it
   * opens the VM's entry, as it is given a row's VMs. */
  {
    g_autofree char *lazy = lazy_dump (demo_dump, NULL);
    g_autofree char *closed = NULL, *open = NULL;
    XdMenuNode *root;

    xd_tray_menu_set_eager_limit (fx->menu, 1);
    closed = group_block (lazy, DOM0_GROUP,
                          "item \"sys-usb — 3 devices, 1 attached\" icon=drive-removable-media\n",
                          FALSE);
    assert_dbusmenu (fx, closed);
    root = xd_tray_menu_get_dbusmenu_root (fx->menu);
    xd_menu_node_activate (find_dbusmenu_entry (root, "dom0 — "));
    xd_menu_node_activate (find_dbusmenu_entry (root, "sys-usb — "));
    open
      = group_block (lazy, DOM0_GROUP,
                     "item \"sys-usb — 3 devices, 1 attached\" icon=drive-removable-media\n", TRUE);
    assert_dbusmenu (fx, open);
    /* Filled ahead again: every VM's rows, at once. */
    xd_tray_menu_set_eager_limit (fx->menu, 4096);
    assert_dbusmenu (fx, grouped);
  }
  xd_tray_menu_set_kit (fx->menu, XD_TRAY_KIT_GTK);
  /* Made again, its VMs' entries not opened yet. */
  open_entry (fx, "dom0 — ");
  open_entry (fx, "sys-usb — ");

  /* A new device: its row and its group are marked. */
  g_assert_true (xd_sim_host_publish_device (fx->host, SYS_USB, "block", "sdb", kv, &error));
  g_assert_no_error (error);
  wait_for (fx, "device-added 1/block/sdb holders=0");
  added = edit (demo_dump,
                "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
                "icon=drive-removable-media\n" SUB_SYS_USB,
                "item \"sys-usb:sda2 — SanDisk Cruzer Blade (partition 2), 8.0\u00a0GB\" "
                "icon=drive-removable-media\n" SUB_SYS_USB
                "item \"sys-usb:sdb — Kingston DataTraveler, 4.0\u00a0GB — NEW\" "
                "icon=drive-removable-media\n" SUB_SYS_USB,
                NULL);
  g_free (grouped);
  grouped = group_block (added, DOM0_GROUP,
                         "item \"sys-usb — 4 devices, 1 attached — NEW\" bold "
                         "icon=drive-removable-media\n",
                         TRUE);
  assert_dump (fx, grouped);

  /* Short again: one row per device, in the menu. */
  g_assert_true (xd_sim_host_unpublish_device (fx->host, SYS_USB, "block", "sdb", &error));
  g_assert_no_error (error);
  wait_for (fx, "device-removed 1/block/sdb holders=0");
  g_assert_true (xd_sim_host_unpublish_device (fx->host, DOM0, "block", "sr0", &error));
  g_assert_no_error (error);
  wait_for (fx, "device-removed 0/block/sr0 holders=0");
  flat = edit (demo_dump,
               "item \"dom0:sr0 — DVD-ROM, 4.7\u00a0GB\" icon=drive-removable-media\n" SUB_DOM0, "",
               NULL);
  assert_dump (fx, flat);

  /* Long, but from one VM: a group would only add a step. */
  xd_tray_menu_set_group_limit (fx->menu, 1);
  assert_dump (fx, flat);
  xd_tray_menu_set_group_limit (fx->menu, 20);
  assert_dump (fx, flat);
}

/* Pops @menu up at the top left of the screen from a click on a window of
 * its own (*@window, to destroy), as GTK wants the event that opened a
 * menu; returns that event (gdk_event_free ()). */
static GdkEvent *
popup_menu (GtkMenu *menu, GtkWidget **window)
{
  GdkRectangle rect = { 20, 20, 1, 1 };
  GdkEvent *event;

  *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  gtk_window_move (GTK_WINDOW (*window), 0, 0);
  gtk_window_set_default_size (GTK_WINDOW (*window), 60, 60);
  gtk_widget_show (*window);
  while (!gtk_widget_get_mapped (*window))
    g_main_context_iteration (NULL, TRUE);
  xd_test_spin (100);
  event = gdk_event_new (GDK_BUTTON_PRESS);
  event->button.window = g_object_ref (gtk_widget_get_window (*window));
  event->button.button = 1;
  event->button.time = GDK_CURRENT_TIME;
  gdk_event_set_device (
    event, gdk_seat_get_pointer (gdk_display_get_default_seat (gdk_display_get_default ())));
  gtk_menu_popup_at_rect (menu, gtk_widget_get_window (*window), &rect, GDK_GRAVITY_NORTH_WEST,
                          GDK_GRAVITY_NORTH_WEST, event);
  xd_test_spin (300);
  return event;
}

/* The menu popped up, as on the screen. */
static GdkPixbuf *
shoot_menu (GtkMenu *menu)
{
  GtkWidget *window;
  GdkWindow *popup;
  GdkPixbuf *shot;
  int x, y;

  gdk_event_free (popup_menu (menu, &window));
  xd_test_spin (100);
  popup = gtk_widget_get_window (gtk_widget_get_toplevel (GTK_WIDGET (menu)));
  gdk_window_get_origin (popup, &x, &y);
  shot = gdk_pixbuf_get_from_window (gdk_get_default_root_window (), x, y,
                                     gdk_window_get_width (popup), gdk_window_get_height (popup));
  gtk_menu_popdown (menu);
  gtk_widget_destroy (window);
  xd_test_spin (100);
  return shot;
}

/* A lazy row, which draws its own arrow until it has a GtkMenu, looks
 * exactly like a row with one: the whole menu, pixel for pixel, left to
 * right and right to left (@data: the GtkTextDirection). */
static void
test_lazy_looks_eager (Fixture *fx, gconstpointer data)
{
  GtkTextDirection direction = GPOINTER_TO_INT (data);
  const char *suffix = direction == GTK_TEXT_DIR_RTL ? "-rtl" : "";
  g_autoptr (XdTrayMenu) eager = NULL;
  g_autoptr (XdTrayMenu) lazy = NULL;
  g_autoptr (GdkPixbuf) eager_shot = NULL;
  g_autoptr (GdkPixbuf) lazy_shot = NULL;
  guint eager_len, lazy_len;
  const guint8 *eager_pixels, *lazy_pixels;

  /* Widgets take the default direction when they are made. */
  gtk_widget_set_default_direction (direction);
  eager = xd_tray_menu_new (fx->engine);
  lazy = xd_tray_menu_new (fx->engine);
  xd_tray_menu_set_eager_limit (lazy, 1);
  xd_tray_menu_flush (eager);
  xd_tray_menu_flush (lazy);
  g_assert_true (xd_tray_menu_is_lazy (lazy));
  g_assert_false (xd_tray_menu_is_lazy (eager));
  g_assert_true (shows_own_arrow (find_row_in (lazy, "sys-usb:sda1 ")));

  eager_shot = shoot_menu (xd_tray_menu_get_menu (eager));
  lazy_shot = shoot_menu (xd_tray_menu_get_menu (lazy));
  gtk_widget_set_default_direction (GTK_TEXT_DIR_LTR);
  g_assert_nonnull (eager_shot);
  g_assert_nonnull (lazy_shot);
  g_assert_cmpint (gdk_pixbuf_get_width (lazy_shot), ==, gdk_pixbuf_get_width (eager_shot));
  g_assert_cmpint (gdk_pixbuf_get_height (lazy_shot), ==, gdk_pixbuf_get_height (eager_shot));
  g_assert_cmpint (gdk_pixbuf_get_height (eager_shot), >, 100);
  if (g_getenv ("XD_SCREENSHOT_DIR"))
    {
      const char *dir = g_getenv ("XD_SCREENSHOT_DIR");
      g_autofree char *eager_name = g_strdup_printf ("menu-eager%s.png", suffix);
      g_autofree char *lazy_name = g_strdup_printf ("menu-lazy%s.png", suffix);
      g_autofree char *eager_path = g_build_filename (dir, eager_name, NULL);
      g_autofree char *lazy_path = g_build_filename (dir, lazy_name, NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_assert_true (gdk_pixbuf_save (eager_shot, eager_path, "png", NULL, NULL));
      g_assert_true (gdk_pixbuf_save (lazy_shot, lazy_path, "png", NULL, NULL));
    }
  eager_pixels = gdk_pixbuf_get_pixels_with_length (eager_shot, &eager_len);
  lazy_pixels = gdk_pixbuf_get_pixels_with_length (lazy_shot, &lazy_len);
  g_assert_cmpmem (lazy_pixels, lazy_len, eager_pixels, eager_len);
  /* Still lazy: popping up made no GtkMenu. */
  g_assert_true (shows_own_arrow (find_row_in (lazy, "sys-usb:sda1 ")));
}

/* Pops the menu up with the submenus of the entries starting with @entries
 * open, one in the other, as if the pointer rested on each (GTK would open
 * them from a timeout, with no event to pass on, and warn), and saves the
 * screen as @name in @dir. */
static void
shoot_screen (Fixture *fx, const char *dir, const char *name, const char *const *entries)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) shot = NULL;
  g_autoptr (GPtrArray) open = g_ptr_array_new ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GtkMenu *menu = xd_tray_menu_get_menu (fx->menu);
  GdkWindow *root = gdk_get_default_root_window ();
  GtkWidget *window;
  GdkEvent *event;

  event = popup_menu (menu, &window);
  for (guint i = 0; entries[i]; i++)
    {
      GtkWidget *entry = find_row (fx, entries[i]);
      GtkWidget *submenu = made_submenu (entry);

      gtk_widget_set_state_flags (entry, GTK_STATE_FLAG_PRELIGHT, FALSE);
      gtk_menu_popup_at_widget (GTK_MENU (submenu), entry, GDK_GRAVITY_NORTH_EAST,
                                GDK_GRAVITY_NORTH_WEST, event);
      g_ptr_array_add (open, submenu);
      xd_test_spin (300);
    }
  gdk_event_free (event);
  xd_test_spin (500);

  shot = gdk_pixbuf_get_from_window (root, 0, 0, gdk_window_get_width (root),
                                     gdk_window_get_height (root));
  g_assert_nonnull (shot);
  g_assert_true (gdk_pixbuf_save (shot, path, "png", &error, NULL));
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", path);

  for (guint i = open->len; i > 0; i--)
    gtk_menu_popdown (open->pdata[i - 1]);
  gtk_menu_popdown (menu);
  gtk_widget_destroy (window);
  xd_test_spin (50);
}

/* The menu with sys-usb:sda1's submenu open; then the same with the block
 * section long enough to show one entry per VM, sys-usb's open. */
static void
test_screenshot (Fixture *fx, gconstpointer data)
{
  const char *dir = g_getenv ("XD_SCREENSHOT_DIR");
  const char *const flat[] = { "sys-usb:sda1 ", NULL };
  const char *const grouped[] = { "sys-usb — ", "sys-usb:sda1 ", NULL };

  if (!dir)
    {
      g_test_skip ("XD_SCREENSHOT_DIR is not set");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  shoot_screen (fx, dir, "menu.png", flat);
  xd_tray_menu_set_group_limit (fx->menu, 3);
  xd_tray_menu_flush (fx->menu);
  shoot_screen (fx, dir, "menu-grouped.png", grouped);
}

int
main (int argc, char **argv)
{
  /* G_TEST_OPTION_ISOLATE_DIRS points XDG_DATA_DIRS at empty directories
   * from g_test_init () on, where neither the icon theme nor the MIME
   * database (which loading a PNG icon needs) would be found. Both keep the
   * search paths they were first used with, so use them once before. */
  gtk_init (&argc, &argv);
  {
    g_autoptr (GdkPixbuf) icon = gtk_icon_theme_load_icon (
      gtk_icon_theme_get_default (), "media-eject", 16, GTK_ICON_LOOKUP_GENERIC_FALLBACK, NULL);
    g_autofree char *type = g_content_type_guess ("x.png", NULL, 0, NULL);
  }
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/xd/tray/demo", test_demo);
  ADD ("/xd/tray/device-added-removed", test_device_added_removed);
  ADD ("/xd/tray/engine-attach-detach", test_engine_attach_detach);
  ADD ("/xd/tray/vms", test_vms);
  ADD ("/xd/tray/click", test_click);
  ADD ("/xd/tray/failure", test_failure);
  ADD ("/xd/tray/hostile-descriptions", test_hostile);
  ADD ("/xd/tray/new-mark", test_new_mark);
  ADD ("/xd/tray/refresh-never-operates", test_refresh_never_operates);
  ADD ("/xd/tray/lazy-submenus", test_lazy);
  ADD ("/xd/tray/kits", test_kits);
  ADD ("/xd/tray/groups", test_groups);
  g_test_add ("/xd/tray/lazy-looks-eager", Fixture, GINT_TO_POINTER (GTK_TEXT_DIR_LTR),
              fixture_setup, test_lazy_looks_eager, fixture_teardown);
  g_test_add ("/xd/tray/lazy-looks-eager-rtl", Fixture, GINT_TO_POINTER (GTK_TEXT_DIR_RTL),
              fixture_setup, test_lazy_looks_eager, fixture_teardown);
  ADD ("/xd/tray/screenshot", test_screenshot);
#undef ADD
  return g_test_run ();
}
