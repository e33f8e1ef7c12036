/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where devices come from: dom0's libudev source (in the engine's process)
 * and xen-devices-agent (a child process, publishing as driver domain 1),
 * both reading devices umockdev fakes, both writing into a real xenstored.
 * The engine must show the same devices for dom0 and for sys-usb, through
 * add, change and remove, with the hiding rules applied and hostile sysfs
 * strings sanitised. Runs under umockdev-wrapper (LD_PRELOAD of
 * libumockdev-preload), so the children see the same test bed.
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libudev.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <umockdev.h>
#include <xenstore.h>

#include "core/xd-device-entry.h"
#include "core/xd-engine.h"
#include "core/xd-validate.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "tray/xd-tray-row.h"
#include "udev/xd-udev-scan.h"
#include "udev/xd-udev-source.h"
#include "xen/xd-sim-host.h"
#include "xen/xd-xs-store.h"

#define WAIT_MS 20000
#define XENBUS_STATE_CONNECTED 4
#define XVDI_DEVID 51840
#define XVDJ_DEVID 51856

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
  UMockdevTestbed *bed;
  char *dir; /* mountinfo, swaps, state */
  char *mountinfo;
  char *sda; /* dom0's own disk, in the test bed */
  XdEngine *engine;
  GSubprocess *agent;
} Fixture;

/* ---- the fake machine ---- */

static void
write_mountinfo (Fixture *fx, const char *extra)
{
  g_autofree char *text = g_strdup_printf ("21 26 0:20 / /proc rw,relatime - proc proc rw\n"
                                           "22 26 0:21 / /sys rw,relatime - sysfs sysfs rw\n"
                                           "%s",
                                           extra);
  g_assert_true (g_file_set_contents (fx->mountinfo, text, -1, NULL));
}

static char *
add_block (Fixture *fx, const char *name, const char *parent, const char *devtype,
           const char *major, const char *minor, const char *sectors, const char *ro,
           const char *partition)
{
  g_autofree char *dev = g_strdup_printf ("%s:%s", major, minor);

  if (partition)
    return umockdev_testbed_add_device (
      fx->bed, "block", name, parent, "size", sectors, "ro", ro, "dev", dev, "partition", partition,
      NULL, "DEVTYPE", devtype, "MAJOR", major, "MINOR", minor, "DEVNAME", name, NULL);
  return umockdev_testbed_add_device (fx->bed, "block", name, parent, "size", sectors, "ro", ro,
                                      "dev", dev, NULL, "DEVTYPE", devtype, "MAJOR", major, "MINOR",
                                      minor, "DEVNAME", name, NULL);
}

static char *
add_usb (Fixture *fx, const char *name, const char *manufacturer, const char *product,
         const char *interface)
{
  char *path = umockdev_testbed_add_device (
    fx->bed, "usb", name, NULL, "idVendor", "0781", "idProduct", "5567", "manufacturer",
    manufacturer, "product", product, "bDeviceClass", "00", NULL, "DEVTYPE", "usb_device", NULL);
  g_autofree char *if_name = g_strdup_printf ("%s:1.0", name);
  char cls[3] = { interface[0], interface[1], 0 };
  char sub[3] = { interface[2], interface[3], 0 };
  char proto[3] = { interface[4], interface[5], 0 };
  g_autofree char *if_path = umockdev_testbed_add_device (
    fx->bed, "usb", if_name, path, "bInterfaceClass", cls, "bInterfaceSubClass", sub,
    "bInterfaceProtocol", proto, NULL, "DEVTYPE", "usb_interface", NULL);

  return path;
}

/* The machine at the start: dom0's own disk (sda1 mounted, so all of sda is
 * hidden), an empty loop device and an empty DVD drive (hidden), a disk
 * whose model is hostile, a sound card with a capture device, a keyboard. */
static void
populate_bed (Fixture *fx)
{
  g_autofree char *scsi = NULL;
  g_autofree char *evil_scsi = NULL;
  g_autofree char *card = NULL;
  g_autofree char *keyboard = NULL;
  g_autofree char *kbd_if = NULL;
  g_autoptr (GString) model = g_string_new ("<b>Evil</b>\x1b[31m\x07\x01 ");
  g_autofree char *path = NULL;

  scsi = umockdev_testbed_add_device (fx->bed, "scsi", "0:0:0:0", NULL, "vendor", "ATA", "model",
                                      "Samsung SSD 860", NULL, "DEVTYPE", "scsi_device", NULL);
  fx->sda = add_block (fx, "sda", scsi, "disk", "8", "0", "976773168", "0", NULL);
  g_free (add_block (fx, "sda1", fx->sda, "partition", "8", "1", "1048576", "0", "1"));
  g_free (add_block (fx, "sda2", fx->sda, "partition", "8", "2", "975724544", "0", "2"));
  g_free (add_block (fx, "loop0", NULL, "disk", "7", "0", "0", "0", NULL));
  g_free (add_block (fx, "sr0", NULL, "disk", "11", "0", "0", "1", NULL));

  while (model->len < 4096)
    g_string_append_c (model, 'A');
  evil_scsi
    = umockdev_testbed_add_device (fx->bed, "scsi", "1:0:0:0", NULL, "vendor", "ATA", "model",
                                   model->str, NULL, "DEVTYPE", "scsi_device", NULL);
  g_free (add_block (fx, "sdc", evil_scsi, "disk", "8", "32", "2048", "0", NULL));

  card = umockdev_testbed_add_device (fx->bed, "sound", "card0", NULL, "id", "PCH", NULL, NULL);
  g_free (umockdev_testbed_add_device (fx->bed, "sound", "pcmC0D0p", card, NULL, NULL));
  g_free (umockdev_testbed_add_device (fx->bed, "sound", "pcmC0D0c", card, NULL, NULL));

  keyboard = add_usb (fx, "1-2", "Logitech", "USB Keyboard", "030101");
  kbd_if = g_strdup_printf ("%s/1-2:1.0", keyboard);
  path = umockdev_testbed_add_device (fx->bed, "input", "input5", kbd_if, "name",
                                      "Logitech USB Keyboard", NULL, "ID_INPUT", "1",
                                      "ID_INPUT_KEYBOARD", "1", NULL);
  write_mountinfo (fx, "30 26 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n");
}

/* A usb stick with two partitions: the disk below the usb device's
 * interface, as usb-storage puts it. Returns the usb device's path. */
static char *
plug_stick (Fixture *fx)
{
  char *usb = add_usb (fx, "1-1", "SanDisk", "Cruzer Blade", "080650");
  g_autofree char *if_path = g_strdup_printf ("%s/1-1:1.0", usb);
  g_autofree char *sdb = add_block (fx, "sdb", if_path, "disk", "8", "16", "31277232", "0", NULL);
  g_autofree char *sdb1 = add_block (fx, "sdb1", sdb, "partition", "8", "17", "15638528", "0", "1");
  g_autofree char *sdb2 = add_block (fx, "sdb2", sdb, "partition", "8", "18", "15636480", "0", "2");

  umockdev_testbed_uevent (fx->bed, usb, "add");
  umockdev_testbed_uevent (fx->bed, if_path, "add");
  umockdev_testbed_uevent (fx->bed, sdb, "add");
  umockdev_testbed_uevent (fx->bed, sdb1, "add");
  umockdev_testbed_uevent (fx->bed, sdb2, "add");
  return usb;
}

static void
unplug_stick (Fixture *fx, const char *usb)
{
  const char *const children[]
    = { "1-1:1.0/sdb/sdb2", "1-1:1.0/sdb/sdb1", "1-1:1.0/sdb", "1-1:1.0" };

  for (gsize i = 0; i < G_N_ELEMENTS (children); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s", usb, children[i]);
      umockdev_testbed_uevent (fx->bed, path, "remove");
      umockdev_testbed_remove_device (fx->bed, path);
    }
  umockdev_testbed_uevent (fx->bed, usb, "remove");
  umockdev_testbed_remove_device (fx->bed, usb);
}

/* ---- what xenstore holds ---- */

#define ENTRY_PATH "/local/domain/%u/data/xen-devices/%s/%s"

/* The value of @key in the entry of @klass/@port published by @backend, as
 * stored in xenstore: NULL when there is no such entry or key. An entry that
 * is there but does not parse fails the test. */
static char *
read_entry_key (XdStore *store, guint backend, const char *klass, const char *port, const char *key)
{
  g_autofree char *path = g_strdup_printf (ENTRY_PATH, backend, klass, port);
  gsize len = 0;
  g_autofree char *value = xd_store_read (store, path, &len, NULL);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (XdDeviceEntry) entry = NULL;

  if (!value)
    return NULL;
  entry = xd_device_entry_parse (value, len, why);
  if (!entry)
    g_error ("%s does not parse: %s", path, why->str);
  return g_strdup (xd_device_entry_get (entry, key));
}

/* ---- what the engine shows ---- */

/* One line a device of @backend: "class:port|desc|size|mode|parent|
 * interfaces|input", sorted. */
static char *
describe (XdEngine *engine, guint backend)
{
  g_autoptr (GPtrArray) devices = xd_engine_get_devices (engine, XD_N_CLASSES);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < devices->len; i++)
    {
      XdDevice *d = devices->pdata[i];
      if (d->backend != backend)
        continue;
      g_string_append_printf (out, "%s:%s|%s|%" G_GUINT64_FORMAT "|%c|%s|%s|%u\n",
                              xd_class_id_to_string (d->klass), d->port, d->description, d->size,
                              d->mode ? d->mode : '-', d->parent ? d->parent : "-",
                              d->interfaces ? d->interfaces : "-", d->input);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The hostile model, as the engine must show it: markup kept as text,
 * control bytes dropped, 128 characters ending in an ellipsis. */
static char *
expected_evil (void)
{
  g_autoptr (GString) s = g_string_new ("ATA <b>Evil</b>[31m ");
  while (g_utf8_strlen (s->str, -1) < 127)
    g_string_append_c (s, 'A');
  g_string_append (s, "…");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
expected (const char *const *lines)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *evil = expected_evil ();

  for (gsize i = 0; lines[i]; i++)
    {
      if (strcmp (lines[i], "EVIL") == 0)
        g_string_append_printf (out, "block:sdc|%s|1048576|w|-|-|0\n", evil);
      else
        g_string_append_printf (out, "%s\n", lines[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Runs the main loop until the engine shows @lines for dom0 and for
 * sys-usb alike; fails with both views otherwise. */
static void
wait_for_both (Fixture *fx, const char *const *lines)
{
  g_autofree char *want = expected (lines);
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  for (;;)
    {
      g_autofree char *dom0 = describe (fx->engine, 0);
      g_autofree char *sys_usb = describe (fx->engine, 1);

      if (strcmp (dom0, want) == 0 && strcmp (sys_usb, want) == 0)
        return;
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("want:\n%s\ndom0:\n%s\nsys-usb:\n%s", want, dom0, sys_usb);
          g_assert_cmpstr (dom0, ==, want);
          g_assert_cmpstr (sys_usb, ==, want);
        }
      xd_test_spin (20);
    }
}

/* ---- fixture ---- */

/* A test that fails aborts without its teardown: the agent must not
 * outlive it (holding the test runner's output pipe open). */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocess *
start_agent (const char *const *extra, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("XD_AGENT"));
  g_ptr_array_add (argv, "--domid");
  g_ptr_array_add (argv, "1");
  for (gsize i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (char *) extra[i]);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
}

static void
stop_agent (GSubprocess *agent)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (agent, SIGTERM);
  g_assert_true (g_subprocess_wait (agent, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (agent));
  g_assert_cmpint (g_subprocess_get_exit_status (agent), ==, 0);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->dir = g_dir_make_tmp ("xd-udev-XXXXXX", &error);
  g_assert_no_error (error);
  fx->mountinfo = g_build_filename (fx->dir, "mountinfo", NULL);
  {
    g_autofree char *swaps = g_build_filename (fx->dir, "swaps", NULL);
    g_autofree char *state = g_build_filename (fx->dir, "state", NULL);
    g_assert_true (g_file_set_contents (
      swaps, "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 1024 0 -2\n", -1, NULL));
    g_setenv ("XEN_DEVICES_MOUNTINFO", fx->mountinfo, TRUE);
    g_setenv ("XEN_DEVICES_SWAPS", swaps, TRUE);
    g_setenv ("XEN_DEVICES_STATE_DIR", state, TRUE);
  }

  fx->bed = umockdev_testbed_new ();
  g_assert_true (umockdev_in_mock_environment ());
  populate_bed (fx);

  fx->daemon = xd_test_xenstored_start (&error);
  g_assert_no_error (error);
  xd_test_xenstored_setenv (fx->daemon);
  fx->host = xd_sim_host_new (&error);
  g_assert_no_error (error);
  g_assert_true (xd_sim_host_add_vm (fx->host, 0, "dom0", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 1, "sys-usb", &error));
  g_assert_true (xd_sim_host_add_vm (fx->host, 2, "work", &error));
  g_assert_no_error (error);
}

static void
start_engine (Fixture *fx, gboolean with_agent)
{
  g_autoptr (GError) error = NULL;
  XdStore *store = xd_xs_store_new (&error);

  g_assert_no_error (error);
  fx->engine = xd_engine_new (store);
  /* The front ends' own call: tests elsewhere turn the source off. */
  g_setenv ("XEN_DEVICES_DOM0_UDEV", "1", TRUE);
  xd_dom0_source_attach (fx->engine);
  g_assert_true (xd_engine_load (fx->engine, TRUE, &error));
  g_assert_no_error (error);
  if (!with_agent)
    return;
  fx->agent = start_agent (NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  if (fx->agent)
    stop_agent (fx->agent);
  g_clear_object (&fx->agent);
  g_clear_object (&fx->engine);
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
  g_clear_object (&fx->bed);
  if (fx->dir)
    {
      const char *const names[] = { "mountinfo", "swaps" };
      for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
        {
          g_autofree char *path = g_build_filename (fx->dir, names[i], NULL);
          g_unlink (path);
        }
      g_rmdir (fx->dir);
    }
  g_free (fx->dir);
  g_free (fx->mountinfo);
  g_free (fx->sda);
  g_unsetenv ("XEN_DEVICES_DOM0_UDEV");
}

/* ---- tests ---- */

#define KEYBOARD "usb:1-2|Logitech USB Keyboard|0|-|-|:030101:|1"
#define MIC "mic:mic|Microphone (PCH)|0|-|-|-|0"
#define STICK_DISK "block:sdb|SanDisk Cruzer Blade|16013942784|w|-|-|0"
#define STICK_PART1 "block:sdb1|SanDisk Cruzer Blade (partition 1)|8006926336|w|sdb|-|0"
#define STICK_PART2 "block:sdb2|SanDisk Cruzer Blade (partition 2)|8005877760|w|sdb|-|0"
#define STICK_USB "usb:1-1|SanDisk Cruzer Blade|0|-|-|:080650:|0"
#define SD_RO "block:mmcblk0|SD32G|31914983424|r|-|-|0"
#define SD_RW "block:mmcblk0|SD32G|31914983424|w|-|-|0"

static void
rm_vbd (Fixture *fx, guint backend, guint devid)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *be = g_strdup_printf ("/local/domain/%u/backend/vbd/2/%u", backend, devid);
  g_autofree char *fe = g_strdup_printf ("/local/domain/2/device/vbd/%u", devid);
  g_autofree char *rec = g_strdup_printf ("/libxl/2/device/vbd/%u", devid);

  g_assert_true (xd_sim_host_rm (fx->host, fe, &error));
  g_assert_true (xd_sim_host_rm (fx->host, rec, &error));
  g_assert_true (xd_sim_host_rm (fx->host, be, &error));
  g_assert_no_error (error);
}

/* @params attached to work from dom0 and from sys-usb, as libxl does. */
static void
attach_from_both (Fixture *fx, const char *params)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (xd_sim_host_write_vbd (fx->host, 0, 2, XVDI_DEVID, params, "xvdi", "w",
                                        XENBUS_STATE_CONNECTED, &error));
  g_assert_true (xd_sim_host_write_vbd (fx->host, 1, 2, XVDJ_DEVID, params, "xvdj", "w",
                                        XENBUS_STATE_CONNECTED, &error));
  g_assert_no_error (error);
}

static void
detach_from_both (Fixture *fx)
{
  rm_vbd (fx, 0, XVDI_DEVID);
  rm_vbd (fx, 1, XVDJ_DEVID);
}

/* dom0's source and the agent through a whole life: what is there at the
 * start, a stick plugged, a read-only SD card, a partition attached (its
 * disk goes), the card's write protection released (change), the stick
 * unplugged, and dom0's disk unmounted (it appears). */
static void
test_dom0_and_agent_agree (Fixture *fx, gconstpointer data)
{
  const char *const initial[] = { "EVIL", MIC, KEYBOARD, NULL };
  const char *const with_stick[]
    = { STICK_DISK, STICK_PART1, STICK_PART2, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const with_card[]
    = { SD_RO, STICK_DISK, STICK_PART1, STICK_PART2, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const part_attached[]
    = { SD_RO, STICK_PART1, STICK_PART2, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const card_writable[]
    = { SD_RW, STICK_PART1, STICK_PART2, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const detached[]
    = { SD_RW, STICK_DISK, STICK_PART1, STICK_PART2, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const disk_attached[] = { SD_RW, STICK_DISK, "EVIL", MIC, STICK_USB, KEYBOARD, NULL };
  const char *const unplugged[] = { SD_RW, "EVIL", MIC, KEYBOARD, NULL };
  const char *const unmounted[]
    = { SD_RW,
        "block:sda|ATA Samsung SSD 860|500107862016|w|-|-|0",
        "block:sda1|ATA Samsung SSD 860 (partition 1)|536870912|w|sda|-|0",
        "block:sda2|ATA Samsung SSD 860 (partition 2)|499570966528|w|sda|-|0",
        "EVIL",
        MIC,
        KEYBOARD,
        NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *stick = NULL;
  g_autofree char *mmc = NULL;
  g_autofree char *mmcblk0 = NULL;

  start_engine (fx, TRUE);
  wait_for_both (fx, initial);
  /* Sanitised before xenstore, not only by the engine that reads it. */
  {
    g_autoptr (XdStore) store = xd_xs_store_new_plain (&error);
    g_autofree char *evil = expected_evil ();
    g_assert_no_error (error);
    for (guint backend = 0; backend <= 1; backend++)
      {
        g_autofree char *stored = read_entry_key (store, backend, "block", "sdc", "desc");
        g_autofree char *source = read_entry_key (store, backend, "block", "sdc", "source");
        g_assert_cmpstr (stored, ==, evil);
        g_assert_cmpstr (source, ==, "udev");
      }
  }

  stick = plug_stick (fx);
  wait_for_both (fx, with_stick);

  mmc = umockdev_testbed_add_device (fx->bed, "mmc", "mmc0:0001", NULL, "name", "SD32G", NULL,
                                     "DEVTYPE", "mmc", NULL);
  mmcblk0 = add_block (fx, "mmcblk0", mmc, "disk", "179", "0", "62333952", "1", NULL);
  umockdev_testbed_uevent (fx->bed, mmcblk0, "add");
  wait_for_both (fx, with_card);

  /* sdb1 attached to work from both backends: neither offers sdb now. */
  attach_from_both (fx, "/dev/sdb1");
  wait_for_both (fx, part_attached);
  g_assert_cmpuint (
    xd_engine_lookup_device (fx->engine, XD_CLASS_BLOCK, 0, "sdb1")->attachments->len, ==, 1);

  umockdev_testbed_set_attribute (fx->bed, mmcblk0, "ro", "0");
  umockdev_testbed_uevent (fx->bed, mmcblk0, "change");
  wait_for_both (fx, card_writable);

  detach_from_both (fx);
  wait_for_both (fx, detached);

  /* The whole stick attached: neither offers its partitions now. */
  attach_from_both (fx, "/dev/sdb");
  wait_for_both (fx, disk_attached);
  detach_from_both (fx);
  wait_for_both (fx, detached);

  unplug_stick (fx, stick);
  wait_for_both (fx, unplugged);

  /* sda was hidden because sda1 was mounted and sda2 was swap. */
  write_mountinfo (fx, "");
  {
    g_autofree char *swaps = g_build_filename (fx->dir, "swaps", NULL);
    g_assert_true (g_file_set_contents (swaps, "Filename\tType\tSize\tUsed\tPriority\n", -1, NULL));
  }
  umockdev_testbed_uevent (fx->bed, fx->sda, "change");
  wait_for_both (fx, unmounted);
}

/* Runs `xen-device list` (which publishes dom0's devices itself) and
 * returns its output. */
static char *
run_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) list = NULL;
  g_autofree char *out = NULL;

  list = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("XD_XEN_DEVICE"),
                           "list", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (list, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (list));
  g_assert_cmpint (g_subprocess_get_exit_status (list), ==, 0);
  return g_steal_pointer (&out);
}

static const char *
find_line (char **lines, const char *prefix)
{
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return lines[i];
  return NULL;
}

/* `xen-device list` on its own (no engine running in the test): dom0's
 * devices beside the agent's, the hostile model sanitised and bounded,
 * dom0's keyboard flagged and sys-usb's not. */
static void
test_list (Fixture *fx, gconstpointer data)
{
  const char *const initial[] = { "EVIL", MIC, KEYBOARD, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) once = NULL;
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *evil = expected_evil ();
  const char *line;

  g_setenv ("XEN_DEVICES_DOM0_UDEV", "1", TRUE);
  {
    const char *const args[] = { "--once", NULL };
    once = start_agent (args, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_wait_check (once, NULL, &error));
    g_assert_no_error (error);
  }
  out = run_list ();
  g_test_message ("%s", out);
  lines = g_strsplit (out, "\n", -1);

  line = find_line (lines, "dom0:1-2 ");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "Logitech USB Keyboard [WARNING: dom0's keyboard]"));
  line = find_line (lines, "sys-usb:1-2 ");
  g_assert_nonnull (line);
  g_assert_null (strstr (line, "WARNING"));
  g_assert_nonnull (find_line (lines, "dom0:mic "));
  g_assert_null (find_line (lines, "dom0:sda"));
  g_assert_null (find_line (lines, "dom0:loop0"));
  g_assert_null (find_line (lines, "dom0:sr0"));
  for (guint i = 0; lines[i]; i++)
    for (const char *p = lines[i]; *p; p++)
      g_assert_cmpint ((guchar) *p, >=, 0x20);
  line = find_line (lines, "dom0:sdc ");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, evil));
  line = find_line (lines, "sys-usb:sdc ");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, evil));

  /* What the list and the agent published stays in xenstore for any
   * engine to read. */
  start_engine (fx, FALSE);
  wait_for_both (fx, initial);
}

/* The agent writes under its own domain only, and publishes everything
 * again into a xenstored that restarted empty. */
static void
test_agent_recovers (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdStore) store = NULL;

  fx->agent = start_agent (NULL, &error);
  g_assert_no_error (error);

  for (guint round = 0; round < 2; round++)
    {
      gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
      g_autofree char *value = NULL;
      g_auto (GStrv) domains = NULL;

      for (;;)
        {
          g_clear_pointer (&store, xd_store_free);
          store = xd_xs_store_new_plain (NULL);
          value = store ? read_entry_key (store, 1, "usb", "1-2", "desc") : NULL;
          if (value || g_get_monotonic_time () > deadline)
            break;
          xd_test_spin (20);
        }
      g_assert_cmpstr (value, ==, "Logitech USB Keyboard");
      if (round == 1)
        {
          /* A fresh store: only what the agent wrote is in /local/domain. */
          domains = xd_store_directory (store, "/local/domain", &error);
          g_assert_no_error (error);
          g_assert_cmpuint (g_strv_length (domains), ==, 1);
          g_assert_cmpstr (domains[0], ==, "1");
          break;
        }
      g_clear_pointer (&store, xd_store_free);
      g_clear_pointer (&fx->host, xd_sim_host_free);
      xd_test_xenstored_kill (fx->daemon);
      g_assert_true (xd_test_xenstored_restart (fx->daemon, &error));
      g_assert_no_error (error);
      /* The toolstack introduces the domain to the new daemon again (until
       * then it refuses permissions naming it, and the agent retries);
       * only the introduction, nothing under /local/domain. */
      fx->host = xd_sim_host_new (&error);
      g_assert_no_error (error);
      g_assert_true (xs_introduce_domain (xd_sim_host_get_handle (fx->host), 1, 0, 1001));
    }
}

/* Without udevd no uevent comes: --poll rescans sysfs. The keyboard's
 * name changes with no uevent and the agent still publishes the new one. */
static void
test_agent_polls (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdStore) store = NULL;
  const char *const poll[] = { "--poll", "1", NULL };
  const char *const names[] = { "USB Keyboard", "Renamed Keyboard" };

  fx->agent = start_agent (poll, &error);
  g_assert_no_error (error);
  store = xd_xs_store_new_plain (&error);
  g_assert_no_error (error);
  for (guint round = 0; round < G_N_ELEMENTS (names); round++)
    {
      g_autofree char *want = g_strdup_printf ("Logitech %s", names[round]);
      gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
      g_autofree char *value = NULL;

      /* Past the rescan the agent's first xenstore watch event causes. */
      if (round > 0)
        xd_test_spin (1000);
      umockdev_testbed_set_attribute (fx->bed, "/sys/devices/1-2", "product", names[round]);
      for (;;)
        {
          g_clear_pointer (&value, g_free);
          value = read_entry_key (store, 1, "usb", "1-2", "desc");
          if (g_strcmp0 (value, want) == 0 || g_get_monotonic_time () > deadline)
            break;
          xd_test_spin (50);
        }
      g_assert_cmpstr (value, ==, want);
    }
}

/* Entries the agent must leave alone, written by hand as they are stored:
 * port, value. Another writer's (its source is not udev) and one that does
 * not parse (whoever wrote it, the agent cannot tell it is its own). */
static const char *const foreign_entries[][2] = {
  { "9-8", "desc=Written by another agent\nsource=other" },
  { "9-7", "Written by someone else" },
};

/* --once stops at the per-class bound (xenstore quotas) and replaces what
 * an older agent left (a directory with a node per key) by one node;
 * --withdraw removes what the agent wrote and nothing else. */
static void
test_agent_bounds_and_withdraw (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (XdStore) store = NULL;
  g_auto (GStrv) ports = NULL;
  g_auto (GStrv) children = NULL;
  g_autofree char *desc = NULL;
  const char *const other_kv[] = { "desc", "Written by someone else", NULL };
  const char *const once[] = { "--once", NULL };
  const char *const withdraw[] = { "--withdraw", NULL };
  const char *keyboard = "/local/domain/1/data/xen-devices/usb/1-2";

  for (guint i = 1; i <= 40; i++)
    {
      g_autofree char *name = g_strdup_printf ("3-%u", i);
      g_free (add_usb (fx, name, "Acme", "Gadget", "ff0000"));
    }
  g_assert_true (xd_sim_host_publish_device (fx->host, 1, "usb", "9-9", other_kv, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_entries); i++)
    {
      g_autofree char *path = g_strdup_printf (ENTRY_PATH, 1u, "usb", foreign_entries[i][0]);
      g_assert_true (xd_sim_host_write_raw (fx->host, path, foreign_entries[i][1],
                                            strlen (foreign_entries[i][1]), 1, &error));
      g_assert_no_error (error);
    }
  /* The keyboard as an older agent published it. */
  {
    const char *const old[][2] = { { "desc", "Old Keyboard" }, { "source", "udev" } };
    for (gsize i = 0; i < G_N_ELEMENTS (old); i++)
      {
        g_autofree char *path = g_strdup_printf ("%s/%s", keyboard, old[i][0]);
        g_assert_true (
          xd_sim_host_write_raw (fx->host, path, old[i][1], strlen (old[i][1]), 1, &error));
        g_assert_no_error (error);
      }
  }

  {
    g_autoptr (GSubprocess) agent = start_agent (once, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_wait_check (agent, NULL, &error));
    g_assert_no_error (error);
  }
  store = xd_xs_store_new_plain (&error);
  g_assert_no_error (error);
  ports = xd_store_directory (store, "/local/domain/1/data/xen-devices/usb", &error);
  g_assert_no_error (error);
  /* 32 of the 41 udev devices, and the other writers' entries. */
  g_assert_cmpuint (g_strv_length (ports), ==, 32 + 1 + G_N_ELEMENTS (foreign_entries));
  g_assert_true (g_strv_contains ((const char *const *) ports, "9-9"));
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_entries); i++)
    g_assert_true (g_strv_contains ((const char *const *) ports, foreign_entries[i][0]));
  g_clear_pointer (&ports, g_strfreev);
  /* The older agent's directory is now one node. */
  desc = read_entry_key (store, 1, "usb", "1-2", "desc");
  g_assert_cmpstr (desc, ==, "Logitech USB Keyboard");
  children = xd_store_directory (store, keyboard, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (children ? g_strv_length (children) : 0, ==, 0);

  {
    g_autoptr (GSubprocess) agent = start_agent (withdraw, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_wait_check (agent, NULL, &error));
    g_assert_no_error (error);
  }
  ports = xd_store_directory (store, "/local/domain/1/data/xen-devices/usb", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (ports), ==, 1 + G_N_ELEMENTS (foreign_entries));
  g_assert_true (g_strv_contains ((const char *const *) ports, "9-9"));
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_entries); i++)
    {
      g_autofree char *path = g_strdup_printf (ENTRY_PATH, 1u, "usb", foreign_entries[i][0]);
      g_autofree char *value = xd_store_read (store, path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (value, ==, foreign_entries[i][1]);
    }
}

/* Whether one scan of the test bed offers the block device @name. */
static gboolean
scan_offers (const char *name)
{
  struct udev *udev = udev_new ();
  g_autoptr (GPtrArray) found = xd_udev_scan (udev, NULL);
  gboolean offered = FALSE;

  for (guint i = 0; i < found->len; i++)
    {
      const XdPublication *publication = found->pdata[i];
      offered |= publication->klass == XD_CLASS_BLOCK && strcmp (publication->port, name) == 0;
    }
  udev_unref (udev);
  return offered;
}

/* A disk in use where this process's mount table does not show it, as in a
 * chroot (whose table lacks the mounts outside it, the root's among them):
 * mounted in init's table, or holding the file system of the root. */
static void
test_in_use_outside_chroot (Fixture *fx, gconstpointer data)
{
  g_autofree char *init_table = g_build_filename (fx->dir, "init-mountinfo", NULL);
  g_autofree char *major_text = NULL, *minor_text = NULL;
  struct stat st;

  /* sdc (8:32) is not mounted here. */
  g_assert_true (scan_offers ("sdc"));
  g_assert_true (g_file_set_contents (init_table,
                                      "1 0 8:32 / / rw,relatime - ext4 /dev/sdc rw\n"
                                      "21 1 0:20 / /proc rw,relatime - proc proc rw\n",
                                      -1, NULL));
  g_setenv ("XEN_DEVICES_INIT_MOUNTINFO", init_table, TRUE);
  g_assert_false (scan_offers ("sdc"));
  g_unsetenv ("XEN_DEVICES_INIT_MOUNTINFO");
  g_assert_true (scan_offers ("sdc"));

  /* A disk whose device number is that of the file system holding the
   * test's directory: the root of a chroot made there. */
  g_assert_cmpint (stat (fx->dir, &st), ==, 0);
  major_text = g_strdup_printf ("%u", major (st.st_dev));
  minor_text = g_strdup_printf ("%u", minor (st.st_dev));
  g_free (add_block (fx, "vdz", NULL, "disk", major_text, minor_text, "2048", "0", NULL));
  g_assert_true (scan_offers ("vdz"));
  g_setenv ("XEN_DEVICES_ROOT", fx->dir, TRUE);
  g_assert_false (scan_offers ("vdz"));
  g_unsetenv ("XEN_DEVICES_ROOT");
}

/* The widget's row for dom0's keyboard says so; the same device from
 * another backend does not. */
static void
test_tray_row_marker (void)
{
  g_autoptr (XdDevice) device = xd_device_new (XD_CLASS_USB, 0, "1-2");
  XdTrayRowState state = { .device = device, .backend_name = "dom0" };
  g_autofree char *plain = NULL;
  g_autofree char *keyboard = NULL;
  g_autofree char *elsewhere = NULL;

  g_free (device->description);
  device->description = g_strdup ("Logitech USB Keyboard");
  plain = xd_tray_row_format_text (&state);
  g_assert_null (strstr (plain, "⚠"));
  device->input = XD_INPUT_KEYBOARD;
  keyboard = xd_tray_row_format_text (&state);
  g_assert_cmpstr (keyboard, ==, "dom0:1-2 — Logitech USB Keyboard — ⚠ dom0's keyboard");
  device->input = XD_INPUT_KEYBOARD | XD_INPUT_MOUSE;
  g_clear_pointer (&keyboard, g_free);
  keyboard = xd_tray_row_format_text (&state);
  g_assert_cmpstr (keyboard, ==, "dom0:1-2 — Logitech USB Keyboard — ⚠ dom0's keyboard and mouse");
  device->input = XD_INPUT_KEYBOARD;
  device->backend = 1;
  state.backend_name = "sys-usb";
  elsewhere = xd_tray_row_format_text (&state);
  g_assert_null (strstr (elsewhere, "⚠"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/udev/tray-row-marker", test_tray_row_marker);
  g_test_add ("/udev/dom0-and-agent-agree", Fixture, NULL, fixture_setup, test_dom0_and_agent_agree,
              fixture_teardown);
  g_test_add ("/udev/list", Fixture, NULL, fixture_setup, test_list, fixture_teardown);
  g_test_add ("/udev/in-use-outside-chroot", Fixture, NULL, fixture_setup,
              test_in_use_outside_chroot, fixture_teardown);
  g_test_add ("/udev/agent-recovers", Fixture, NULL, fixture_setup, test_agent_recovers,
              fixture_teardown);
  g_test_add ("/udev/agent-polls", Fixture, NULL, fixture_setup, test_agent_polls,
              fixture_teardown);
  g_test_add ("/udev/agent-bounds-and-withdraw", Fixture, NULL, fixture_setup,
              test_agent_bounds_and_withdraw, fixture_teardown);
  return g_test_run ();
}
