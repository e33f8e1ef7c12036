/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xen-device as a person runs it: the built program, a real xenstored with
 * the demo host, output and exit status checked to the letter.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <pty.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "harness/xd-test-cli.h"
#include "harness/xd-test-util.h"
#include "harness/xd-test-xenstored.h"
#include "xen/xd-sim-host.h"

typedef struct
{
  XdTestXenstored *daemon;
  XdSimHost *host;
} Fixture;

static const char *
program (void)
{
  const char *path = g_getenv ("XD_XEN_DEVICE");
  g_assert_nonnull (path);
  return path;
}

/* Runs xen-device with @args (NULL-terminated), stdout a pipe. */
static void
run (XdTestResult *r, const char *const *args)
{
  xd_test_run_xen_device (r, args);
}

static int
exit_code (const XdTestResult *r)
{
  return xd_test_exit_code (r);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  xd_test_demo_host_start (&fx->daemon, &fx->host);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->host, xd_sim_host_free);
  g_clear_pointer (&fx->daemon, xd_test_xenstored_free);
}

static const char demo_all[]
  = "dom0:sr0       DVD-ROM\n"
    "sys-usb:sda    SanDisk Cruzer Blade\n"
    "sys-usb:sda1   SanDisk Cruzer Blade (partition 1)  work (read-only=no, frontend-dev=xvdi)\n"
    "sys-usb:sda2   SanDisk Cruzer Blade (partition 2)\n"
    "dom0:mic       Internal microphone\n"
    "sys-usb:2-1    SanDisk Cruzer Blade\n"
    "sys-usb:2-1.3  Logitech USB Receiver\n";

static void
test_list_all (Fixture *fx, gconstpointer data)
{
  const char *const forms[][2] = { { NULL }, { "list", NULL }, { "ls", NULL }, { "l", NULL } };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      run (&r, forms[i]);
      g_assert_cmpint (exit_code (&r), ==, 0);
      g_assert_cmpstr (r.out, ==, demo_all);
      g_assert_cmpstr (r.err, ==, "");
    }
}

static void
test_list_class (Fixture *fx, gconstpointer data)
{
  const char *const block[] = { "block", NULL };
  const char *const block_ls[] = { "block", "ls", NULL };
  const char *const usb[] = { "usb", "list", NULL };
  const char *const pci[] = { "pci", NULL };
  static const char expected_block[]
    = "dom0:sr0      DVD-ROM\n"
      "sys-usb:sda   SanDisk Cruzer Blade\n"
      "sys-usb:sda1  SanDisk Cruzer Blade (partition 1)  work (read-only=no, frontend-dev=xvdi)\n"
      "sys-usb:sda2  SanDisk Cruzer Blade (partition 2)\n";
  g_auto (XdTestResult) r1 = { 0 };
  g_auto (XdTestResult) r2 = { 0 };
  g_auto (XdTestResult) r3 = { 0 };
  g_auto (XdTestResult) r4 = { 0 };

  run (&r1, block);
  g_assert_cmpint (exit_code (&r1), ==, 0);
  g_assert_cmpstr (r1.out, ==, expected_block);
  run (&r2, block_ls);
  g_assert_cmpstr (r2.out, ==, expected_block);
  run (&r3, usb);
  g_assert_cmpstr (r3.out, ==,
                   "sys-usb:2-1    SanDisk Cruzer Blade\n"
                   "sys-usb:2-1.3  Logitech USB Receiver\n");
  run (&r4, pci);
  g_assert_cmpint (exit_code (&r4), ==, 0);
  g_assert_cmpstr (r4.out, ==, "");

  /* Ports in the order people expect: sda2 before sda10. */
  {
    static const char *const kv[]
      = { "desc", "Partition ten", "size", "1000000000", "mode", "w", NULL };
    g_autoptr (GError) error = NULL;
    g_auto (XdTestResult) r5 = { 0 };

    g_assert_true (xd_sim_host_publish_device (fx->host, 1, "block", "sda10", kv, &error));
    g_assert_no_error (error);
    run (&r5, block);
    g_assert_cmpstr (
      r5.out, ==,
      "dom0:sr0       DVD-ROM\n"
      "sys-usb:sda    SanDisk Cruzer Blade\n"
      "sys-usb:sda1   SanDisk Cruzer Blade (partition 1)  work (read-only=no, frontend-dev=xvdi)\n"
      "sys-usb:sda2   SanDisk Cruzer Blade (partition 2)\n"
      "sys-usb:sda10  Partition ten\n");
  }
}

static void
test_list_vms (Fixture *fx, gconstpointer data)
{
  const char *const work[] = { "block", "list", "work", NULL };
  const char *const dom0[] = { "list", "dom0", NULL };
  const char *const both[] = { "block", "l", "vault", "work", NULL };
  g_auto (XdTestResult) r1 = { 0 };
  g_auto (XdTestResult) r2 = { 0 };
  g_auto (XdTestResult) r3 = { 0 };

  /* work exposes nothing but holds sda1. */
  run (&r1, work);
  g_assert_cmpint (exit_code (&r1), ==, 0);
  g_assert_cmpstr (r1.out, ==,
                   "sys-usb:sda1  SanDisk Cruzer Blade (partition 1)  work (read-only=no, "
                   "frontend-dev=xvdi)\n");
  run (&r2, dom0);
  g_assert_cmpstr (r2.out, ==, "dom0:sr0  DVD-ROM\ndom0:mic  Internal microphone\n");
  run (&r3, both);
  g_assert_cmpstr (r3.out, ==, r1.out);
}

static void
test_header_on_terminal (Fixture *fx, gconstpointer data)
{
  const char *argv[] = { program (), "usb", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  int master, slave, status;
  GPid pid;
  char buf[512];
  ssize_t n;

  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, NULL), ==, 0);
  g_assert_true (g_spawn_async_with_pipes_and_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                                   NULL, NULL, -1, slave, -1, NULL, NULL, 0, &pid,
                                                   NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  close (slave);
  while ((n = read (master, buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (master);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  /* The terminal turns \n into \r\n. */
  g_assert_cmpstr (out->str, ==,
                   "BACKEND:DEVID  DESCRIPTION            USED BY\r\n"
                   "sys-usb:2-1    SanDisk Cruzer Blade\r\n"
                   "sys-usb:2-1.3  Logitech USB Receiver\r\n");
}

static void
test_usage_errors (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    const char *args[5];
    const char *message;
  } cases[] = {
    { { "disk", NULL }, "xen-device: error: unknown device class “disk”" },
    { { "block", "frob", NULL }, "xen-device: error: unknown action “frob”" },
    { { "block", "ls", "nosuch", NULL }, "xen-device: error: no such VM: nosuch" },
    { { "usb", "list", "<b>x", NULL }, "xen-device: error: invalid VM name “<b>x”" },
    { { "usb", "list", "--frob", NULL }, "xen-device: error: unknown option “--frob”" },
    /* What a person typed never reaches the terminal as escape sequences. */
    { { "usb", "list", "\x1b]0;pwned\x07", NULL },
      "xen-device: error: invalid VM name “\\x1b]0;pwned\\x07”" },
    { { "usb", "attach", "w\x1b[2Jork", "sys-usb:2-1", NULL },
      "xen-device: error: invalid VM name “w\\x1b[2Jork”" },
    { { "usb", "detach",
        "w\xc2\x9b"
        "31mork",
        NULL },
      "xen-device: error: invalid VM name “w\\u009B31mork”" },
    { { "usb", "list", "--fr\x1bob", NULL }, "xen-device: error: unknown option “--fr\\x1bob”" },
    { { "d\x1bisk", NULL }, "xen-device: error: unknown device class “d\\x1bisk”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      run (&r, cases[i].args);
      g_assert_cmpint (exit_code (&r), ==, 2);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_true (g_str_has_prefix (r.err, "usage: xen-device"));
      g_assert_nonnull (strstr (r.err, cases[i].message));
      g_assert_null (strchr (r.err, '\x1b'));
      g_assert_null (strchr (r.err, '\x07'));
    }
}

static void
test_help (Fixture *fx, gconstpointer data)
{
  static const char *const forms[][4] = {
    { "--help", NULL },
    { "-h", NULL },
    { "block", "--help", NULL },
    { "usb", "list", "--help", NULL },
  };
  const char *const version[] = { "--version", NULL };
  g_auto (XdTestResult) v = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      run (&r, forms[i]);
      g_assert_cmpint (exit_code (&r), ==, 0);
      g_assert_true (g_str_has_prefix (r.out, "usage: xen-device"));
    }
  /* The version names the toolstack: none where no hypervisor runs (the
   * simulated one only when asked for), or what XEN_DEVICES_TOOLSTACK says. */
  g_unsetenv ("XEN_DEVICES_TOOLSTACK");
  run (&v, version);
  g_assert_cmpint (exit_code (&v), ==, 0);
  if (!g_file_test ("/proc/xen/capabilities", G_FILE_TEST_EXISTS))
    g_assert_cmpstr (v.out, ==, "xen-device " PACKAGE_VERSION " (toolstack: none)\n");
  {
    g_auto (XdTestResult) forced = { 0 };
    g_setenv ("XEN_DEVICES_TOOLSTACK", "libxl", TRUE);
    run (&forced, version);
    g_unsetenv ("XEN_DEVICES_TOOLSTACK");
    g_assert_cmpstr (forced.out, ==, "xen-device " PACKAGE_VERSION " (toolstack: libxl)\n");
  }
  if (!g_file_test ("/proc/xen/capabilities", G_FILE_TEST_EXISTS))
    {
      /* Where nothing says this is a dom0, an attach is refused, never made
       * on a simulated host; listing needs no toolstack. */
      const char *const attach[] = { "block", "attach", "personal", "sys-usb:sda2", NULL };
      const char *const list[] = { "block", "list", NULL };
      g_auto (XdTestResult) a = { 0 };
      g_auto (XdTestResult) l = { 0 };

      run (&a, attach);
      g_assert_cmpint (exit_code (&a), ==, 1);
      g_assert_nonnull (strstr (a.err, "no toolstack: this is not a Xen dom0"));
      g_assert_nonnull (strstr (a.err, "XEN_DEVICES_TOOLSTACK=simulated"));
      run (&l, list);
      g_assert_cmpint (exit_code (&l), ==, 0);
      g_assert_null (strstr (l.out, "personal"));
    }
  g_setenv ("XEN_DEVICES_TOOLSTACK", "simulated", TRUE);
}

static void
test_unreachable (Fixture *fx, gconstpointer data)
{
  const char *const args[] = { "list", NULL };
  g_auto (XdTestResult) r = { 0 };
  g_autofree char *expected = NULL;

  xd_test_xenstored_kill (fx->daemon);
  run (&r, args);
  g_assert_cmpint (exit_code (&r), ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  expected = g_strdup_printf ("Error: cannot connect to xenstore (tried %s and /dev/xen/xenbus)",
                              xd_test_xenstored_get_socket (fx->daemon));
  g_assert_true (g_str_has_prefix (r.err, expected));
  g_assert_cmpstr (strchr (r.err, '\n'), ==, r.err + strlen (r.err) - 1);

  /* With dom0's own devices published first, as by default: still the one
   * line for the one cause. */
  {
    g_auto (XdTestResult) with_dom0 = { 0 };

    g_setenv ("XEN_DEVICES_DOM0_UDEV", "1", TRUE);
    run (&with_dom0, args);
    g_setenv ("XEN_DEVICES_DOM0_UDEV", "0", TRUE);
    g_assert_cmpint (exit_code (&with_dom0), ==, 1);
    g_assert_cmpstr (with_dom0.err, ==, r.err);
  }
}

static void
test_hostile (Fixture *fx, gconstpointer data)
{
  static const char *const evil_kv[]
    = { "desc", "\x1b]0;pwned\x07<b>Evil</b>\r\tsecond line\xe2\x80\xae", "size", "1", "mode", "w",
        NULL };
  static const char *const bad_kv[] = { "desc", "bad", "size", "x", "mode", "w", NULL };
  /* A line break ends a value: what follows is a line of its own. */
  static const char *const split_kv[] = { "desc", "one\nsize=1\nmode=w\ntwo", NULL };
  const char *const args[] = { "block", "ls", "untrusted", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };

  g_assert_true (xd_sim_host_publish_device (fx->host, 5, "block", "xvdz", evil_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 5, "block", "xvdy", bad_kv, &error));
  g_assert_true (xd_sim_host_publish_device (fx->host, 5, "block", "xvdx", split_kv, &error));
  g_assert_no_error (error);
  run (&r, args);
  g_assert_cmpint (exit_code (&r), ==, 0);
  /* No escape sequence, no line break, no bidi override reaches the
   * terminal; the bad entries are skipped with one line each naming VM and
   * path. */
  g_assert_cmpstr (r.out, ==, "untrusted:xvdz  ]0;pwned<b>Evil</b> second line\n");
  g_assert_cmpstr (r.err, ==,
                   "xen-device: skipping an entry from untrusted at "
                   "/local/domain/5/data/xen-devices/block/xvdx: line 4 of the entry is not "
                   "key=value\n"
                   "xen-device: skipping an entry from untrusted at "
                   "/local/domain/5/data/xen-devices/block/xvdy: size is missing or not a number "
                   "of bytes\n");
}

static void
test_attach_detach (Fixture *fx, gconstpointer data)
{
  const char *const attach[] = { "block", "attach", "personal", "sys-usb:sda2", "--ro", NULL };
  const char *const list[] = { "block", "ls", "personal", NULL };
  const char *const detach[] = { "block", "dt", "personal", "sys-usb:sda2", NULL };
  const char *const again[] = { "block", "d", "personal", "sys-usb:sda2", NULL };
  g_auto (XdTestResult) r1 = { 0 };
  g_auto (XdTestResult) r2 = { 0 };
  g_auto (XdTestResult) r3 = { 0 };
  g_auto (XdTestResult) r4 = { 0 };

  run (&r1, attach);
  g_assert_cmpint (exit_code (&r1), ==, 0);
  g_assert_cmpstr (r1.out, ==, "");
  run (&r2, list);
  g_assert_cmpstr (r2.out, ==,
                   "sys-usb:sda2  SanDisk Cruzer Blade (partition 2)  personal (read-only=yes, "
                   "frontend-dev=xvdi)\n");
  run (&r3, detach);
  g_assert_cmpint (exit_code (&r3), ==, 0);
  run (&r4, again);
  g_assert_cmpint (exit_code (&r4), ==, 1);
  g_assert_cmpstr (r4.err, ==, "Error: sys-usb:sda2 is not attached to personal\n");
}

static void
test_attach_errors (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    const char *args[8];
    int status;
    const char *err;
  } cases[] = {
    { { "block", "a", "personal", "sys-usb:sda1", NULL },
      1,
      "Error: sys-usb:sda1 is already attached to work\n" },
    { { "block", "a", "personal", "sys-usb:sda", NULL },
      1,
      "Error: sys-usb:sda1 is attached to work; a disk and its partitions are never attached at "
      "the same time\n" },
    { { "block", "a", "personal", "sys-usb:sdq", NULL },
      1,
      "Error: sys-usb:sdq is not exposed by sys-usb\n" },
    { { "block", "a", "dom0", "sys-usb:sda2", NULL },
      1,
      "Error: devices are never attached to dom0\n" },
    { { "pci", "a", "work", "dom0:00:1f.3", NULL },
      1,
      "Error: PCI devices are attached when a VM starts: use --persistent, then restart work\n" },
    { { "block", "a", "nosuch", "sys-usb:sda2", NULL }, 2, "no such VM: nosuch" },
    { { "block", "a", "personal", "sys-usb", NULL }, 2, "expected BACKEND:PORT" },
    { { "block", "a", "personal", "sys-usb:../x", NULL }, 2, "invalid" },
    { { "block", "a", "personal", "sys-usb:sda2", "-o", "colour=red", NULL }, 2, "“colour”" },
    { { "block", "a", "personal", "sys-usb:sda2", "-o", "read-only=maybe", NULL }, 2, "maybe" },
    { { "usb", "a", "personal", "sys-usb:2-1", "--ro", NULL }, 2, "read-only" },
    { { "block", "a", "personal", "sys-usb:sda2", "--required", NULL },
      2,
      "--required goes with --persistent" },
    { { "block", "a", "personal", NULL }, 2, "expected VM and BACKEND:PORT" },
    { { "block", "a", "personal", "sys-usb:sda2", "--frob", NULL }, 2, "unknown option “--frob”" },
    { { "block", "d", NULL }, 2, "expected VM" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      run (&r, cases[i].args);
      g_assert_cmpint (exit_code (&r), ==, cases[i].status);
      if (cases[i].status == 1)
        g_assert_cmpstr (r.err, ==, cases[i].err);
      else
        {
          g_assert_true (g_str_has_prefix (r.err, "usage: xen-device"));
          g_assert_nonnull (strstr (r.err, cases[i].err));
        }
    }
}

static void
test_persistent_list (Fixture *fx, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "state", NULL);
  const char *const assign1[] = { "block", "attach", "banking", "sys-usb:sda2", "-p", NULL };
  const char *const assign2[]
    = { "block", "attach", "personal", "sys-usb:sda2", "--persistent", "--required", NULL };
  const char *const assign3[] = { "usb", "attach", "mail", "sys-usb:2-7", "-p", NULL };
  const char *const list[] = { "list", NULL };
  const char *const unassign[] = { "block", "detach", "banking", "sys-usb:sda2", "-p", NULL };
  g_auto (XdTestResult) r1 = { 0 };
  g_auto (XdTestResult) r2 = { 0 };
  g_auto (XdTestResult) r3 = { 0 };
  g_auto (XdTestResult) r4 = { 0 };
  g_auto (XdTestResult) r5 = { 0 };
  g_auto (XdTestResult) r6 = { 0 };

  g_setenv ("XEN_DEVICES_STATE_DIR", dir, TRUE);
  /* banking is not running: the assignment is recorded for its start. */
  run (&r1, assign1);
  g_assert_cmpint (exit_code (&r1), ==, 0);
  g_assert_cmpstr (r1.out, ==, "sys-usb:sda2 will be attached to banking when it starts\n");
  /* personal runs: attached now and recorded. */
  run (&r2, assign2);
  g_assert_cmpint (exit_code (&r2), ==, 0);
  run (&r3, assign3);
  g_assert_cmpint (exit_code (&r3), ==, 0);
  run (&r4, list);
  g_assert_cmpint (exit_code (&r4), ==, 0);
  g_assert_cmpstr (
    r4.out, ==,
    "dom0:sr0       DVD-ROM\n"
    "sys-usb:sda    SanDisk Cruzer Blade\n"
    "sys-usb:sda1   SanDisk Cruzer Blade (partition 1)  work (read-only=no, frontend-dev=xvdi)\n"
    "sys-usb:sda2   SanDisk Cruzer Blade (partition 2)  personal (persistent, required, "
    "read-only=no, frontend-dev=xvdi), banking (persistent) [assigned to 2 VMs]\n"
    "dom0:mic       Internal microphone\n"
    "sys-usb:2-1    SanDisk Cruzer Blade\n"
    "sys-usb:2-1.3  Logitech USB Receiver\n"
    "sys-usb:2-7    (not available)                     mail (persistent)\n");
  run (&r5, unassign);
  g_assert_cmpint (exit_code (&r5), ==, 0);
  run (&r6, list);
  g_assert_nonnull (
    strstr (r6.out, "personal (persistent, required, read-only=no, frontend-dev=xvdi)\n"));
  g_assert_null (strstr (r6.out, "banking"));
  g_unsetenv ("XEN_DEVICES_STATE_DIR");
}

/* attach --persistent that cannot record the assignment attaches nothing:
 * a corrupt file, a state directory that cannot be made, a FIFO or a link
 * where the file should be. Exit 1, the device free, and no command hangs. */
static void
test_persistent_unwritable (Fixture *fx, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "state", NULL);
  g_autofree char *file = g_build_filename (dir, "assignments", NULL);
  g_autofree char *not_dir = g_build_filename (g_get_user_data_dir (), "plain-file", NULL);
  const char *const attach[] = { "block", "attach", "personal", "sys-usb:sda2", "-p", NULL };
  const char *const list[] = { "block", "list", NULL };
  static const char free_line[] = "sys-usb:sda2  SanDisk Cruzer Blade (partition 2)\n";
  struct
  {
    const char *what;
    const char *state_dir;
    const char *message;
  } cases[] = {
    { "corrupt", dir, "assignments:1" },
    { "not a directory", not_dir, "plain-file" },
    { "fifo", dir, "is not a regular file" },
    { "symlink", dir, "it is a symbolic link" },
  };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (not_dir, "x", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      g_auto (XdTestResult) l = { 0 };

      g_test_message ("the assignments: %s", cases[i].what);
      g_unlink (file);
      if (i == 0)
        g_assert_true (g_file_set_contents (file, "not a header\n", -1, NULL));
      else if (i == 2)
        g_assert_cmpint (mkfifo (file, 0644), ==, 0);
      else if (i == 3)
        g_assert_cmpint (symlink ("/etc/hostname", file), ==, 0);
      g_setenv ("XEN_DEVICES_STATE_DIR", cases[i].state_dir, TRUE);
      run (&r, attach);
      g_assert_cmpint (exit_code (&r), ==, 1);
      g_assert_true (g_str_has_prefix (r.err, "Error: "));
      g_assert_nonnull (strstr (r.err, cases[i].message));
      run (&l, list);
      g_assert_nonnull (strstr (l.out, free_line));
    }
  g_unlink (file);
  g_unsetenv ("XEN_DEVICES_STATE_DIR");
}

/* A claim left by an attach that was killed (its process is gone) goes
 * with the next attach of the same kind from the same backend. */
static void
test_stale_claim (Fixture *fx, gconstpointer data)
{
  const char *stale = "/local/domain/0/xen-devices/claims/1/block/sda";
  const char *const attach[] = { "block", "attach", "personal", "sys-usb:sda2", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (XdTestResult) r = { 0 };
  unsigned int len;
  char *value;

  /* Pid 1 did not start at time 1: a process that is gone. */
  g_assert_true (xd_sim_host_write_raw (fx->host, stale, "4 1 1", 5, 0, &error));
  g_assert_no_error (error);
  run (&r, attach);
  g_assert_cmpint (exit_code (&r), ==, 0);
  value = xs_read (xd_sim_host_get_handle (fx->host), XBT_NULL, stale, &len);
  g_assert_null (value);
}

/* A setting with a value it cannot have is said, and nothing runs. */
static void
test_bad_settings (Fixture *fx, gconstpointer data)
{
  const struct
  {
    const char *variable, *value, *message;
  } cases[] = {
    { "XEN_DEVICES_TOOLSTACK", "bogus",
      "xen-device: error: XEN_DEVICES_TOOLSTACK must be libxl, service or simulated, not "
      "“bogus”\n" },
    { "XEN_DEVICES_TOOLSTACK", "xl\x1b[2J",
      "xen-device: error: XEN_DEVICES_TOOLSTACK must be libxl, service or simulated, not "
      "“xl\\x1b[2J”\n" },
    { "XEN_DEVICES_TIMEOUT_MS", "soon",
      "xen-device: error: XEN_DEVICES_TIMEOUT_MS must be a number of milliseconds from 1 to "
      "3600000, not “soon”\n" },
    { "XEN_DEVICES_TIMEOUT_MS", "0", "not “0”" },
    { "XEN_DEVICES_TIMEOUT_MS", "-5", "not “-5”" },
    { "XEN_DEVICES_TIMEOUT_MS", "99999999999", "not “99999999999”" },
  };
  const char *const list[] = { "list", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (XdTestResult) r = { 0 };
      g_autofree char *saved = g_strdup (g_getenv (cases[i].variable));

      g_setenv (cases[i].variable, cases[i].value, TRUE);
      run (&r, list);
      if (saved)
        g_setenv (cases[i].variable, saved, TRUE);
      else
        g_unsetenv (cases[i].variable);
      g_assert_cmpint (exit_code (&r), ==, 2);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_true (g_str_has_suffix (r.err, cases[i].message)
                     || strstr (r.err, cases[i].message));
    }
  {
    g_auto (XdTestResult) r = { 0 };
    g_setenv ("XEN_DEVICES_TIMEOUT_MS", "2500", TRUE);
    run (&r, list);
    g_unsetenv ("XEN_DEVICES_TIMEOUT_MS");
    g_assert_cmpint (exit_code (&r), ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/xd/cli/list-all", test_list_all);
  ADD ("/xd/cli/list-class", test_list_class);
  ADD ("/xd/cli/list-vms", test_list_vms);
  ADD ("/xd/cli/header-on-terminal", test_header_on_terminal);
  ADD ("/xd/cli/usage-errors", test_usage_errors);
  ADD ("/xd/cli/help", test_help);
  ADD ("/xd/cli/unreachable", test_unreachable);
  ADD ("/xd/cli/hostile", test_hostile);
  ADD ("/xd/cli/attach-detach", test_attach_detach);
  ADD ("/xd/cli/attach-errors", test_attach_errors);
  ADD ("/xd/cli/persistent-list", test_persistent_list);
  ADD ("/xd/cli/persistent-unwritable", test_persistent_unwritable);
  ADD ("/xd/cli/bad-settings", test_bad_settings);
  ADD ("/xd/cli/stale-claim", test_stale_claim);
#undef ADD
  return g_test_run ();
}
