/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-udev-scan.h"

#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/xd-model.h"
#include "core/xd-validate.h"

#define SECTOR_BYTES 512
#define USB_CLASS_HUB "09"

typedef struct udev_enumerate XdUdevEnumerate;
typedef struct udev_device XdUdevDevice;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XdUdevEnumerate, udev_enumerate_unref)

static void
unref_device (gpointer dev)
{
  udev_device_unref (dev);
}

/* Every device of @subsystem, XdUdevDevice * (owned), in sysfs order. */
static GPtrArray *
enumerate (struct udev *udev, const char *subsystem)
{
  g_autoptr (XdUdevEnumerate) e = udev_enumerate_new (udev);
  GPtrArray *out = g_ptr_array_new_with_free_func (unref_device);
  struct udev_list_entry *entry;

  udev_enumerate_add_match_subsystem (e, subsystem);
  udev_enumerate_scan_devices (e);
  udev_list_entry_foreach (entry, udev_enumerate_get_list_entry (e))
  {
    XdUdevDevice *dev = udev_device_new_from_syspath (udev, udev_list_entry_get_name (entry));

    if (dev && udev_device_get_sysname (dev))
      g_ptr_array_add (out, dev);
    else if (dev)
      udev_device_unref (dev);
  }
  return out;
}

/* ---- publications ---- */

XdPublication *
xd_publication_new (XdClassId klass, const char *port)
{
  XdPublication *publication = g_new0 (XdPublication, 1);

  publication->klass = klass;
  publication->port = g_strdup (port);
  publication->kv = g_ptr_array_new_with_free_func (g_free);
  return publication;
}

void
xd_publication_free (XdPublication *publication)
{
  if (!publication)
    return;
  g_free (publication->port);
  g_ptr_array_unref (publication->kv);
  g_free (publication);
}

void
xd_publication_add (XdPublication *publication, const char *key, const char *value)
{
  g_ptr_array_add (publication->kv, g_strdup (key));
  g_ptr_array_add (publication->kv, g_strdup (value));
}

const char *
xd_publication_get (const XdPublication *publication, const char *key)
{
  for (guint i = 0; i + 1 < publication->kv->len; i += 2)
    if (strcmp (publication->kv->pdata[i], key) == 0)
      return publication->kv->pdata[i + 1];
  return NULL;
}

static int
compare_publications (gconstpointer a, gconstpointer b)
{
  const XdPublication *x = *(XdPublication *const *) a;
  const XdPublication *y = *(XdPublication *const *) b;

  if (x->klass != y->klass)
    return x->klass < y->klass ? -1 : 1;
  return strcmp (x->port, y->port);
}

/* Adds "desc" from untrusted text, sanitised as the engine does. */
static void
add_description (XdPublication *publication, const char *raw)
{
  g_autofree char *desc = xd_sanitize_description (raw, strlen (raw));

  xd_publication_add (publication, "desc", *desc ? desc : publication->port);
}

/* ---- what the domain itself uses ---- */

typedef struct
{
  GHashTable *devnums; /* "major:minor" of mounted file systems */
  GHashTable *names;   /* basenames of mount sources and swap devices */
} InUse;

static const char *
path_or_env (const char *path, const char *env, const char *fallback)
{
  const char *value;

  if (path)
    return path;
  value = g_getenv (env);
  return value && *value ? value : fallback;
}

static void
add_device_name (InUse *in_use, const char *path)
{
  if (g_str_has_prefix (path, "/dev/"))
    g_hash_table_add (in_use->names, g_path_get_basename (path));
}

/* mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE
 * SOURCE SUPEROPTIONS". Both the device number and the source count: btrfs
 * reports an anonymous device number. */
static void
read_mountinfo (InUse *in_use, const char *path)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_debug ("cannot read the mount table %s", path);
      return;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", -1);
      guint n = g_strv_length (fields);

      if (n < 3)
        continue;
      g_hash_table_add (in_use->devnums, g_strdup (fields[2]));
      for (guint j = 3; j + 2 < n; j++)
        if (strcmp (fields[j], "-") == 0)
          {
            add_device_name (in_use, fields[j + 2]);
            break;
          }
    }
}

/* /proc/swaps: a header line, then "FILENAME TYPE SIZE USED PRIORITY". */
static void
read_swaps (InUse *in_use, const char *path)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 1; lines[0] && lines[i]; i++)
    {
      g_auto (GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
      if (fields[0] && *fields[0])
        add_device_name (in_use, fields[0]);
    }
}

/* The file system @path is on: in a chroot (or a container sharing the
 * host's devices), the mount of the root holding it is not in this
 * process's mount table, but its device number is there to see. */
static void
add_file_system_of (InUse *in_use, const char *path)
{
  struct stat st;

  if (stat (path, &st) != 0)
    {
      g_debug ("cannot stat %s: %s", path, g_strerror (errno));
      return;
    }
  g_hash_table_add (in_use->devnums,
                    g_strdup_printf ("%u:%u", major (st.st_dev), minor (st.st_dev)));
}

/* What the domain uses, from three views: this process's mount table, the
 * system's (init's: a chroot's own table lacks the mounts outside it, the
 * root among them; unreadable unless root, then skipped) and the file system
 * this process's root is on; and the swap list. Tests replace the first
 * ($XEN_DEVICES_MOUNTINFO or @options), and then see the other two only
 * where they name them ($XEN_DEVICES_INIT_MOUNTINFO, $XEN_DEVICES_ROOT). */
static void
read_in_use (InUse *in_use, const XdUdevScanOptions *options)
{
  const char *mountinfo
    = path_or_env (options ? options->mountinfo_path : NULL, "XEN_DEVICES_MOUNTINFO", NULL);
  const char *init_mountinfo = g_getenv ("XEN_DEVICES_INIT_MOUNTINFO");
  const char *root = g_getenv ("XEN_DEVICES_ROOT");

  if (!mountinfo)
    {
      mountinfo = XD_UDEV_SELF_MOUNTINFO;
      init_mountinfo = init_mountinfo ? init_mountinfo : XD_UDEV_INIT_MOUNTINFO;
      root = root ? root : "/";
    }
  read_mountinfo (in_use, mountinfo);
  if (init_mountinfo && *init_mountinfo)
    read_mountinfo (in_use, init_mountinfo);
  if (root && *root)
    add_file_system_of (in_use, root);
  read_swaps (
    in_use, path_or_env (options ? options->swaps_path : NULL, "XEN_DEVICES_SWAPS", "/proc/swaps"));
}

/* Whether the sysfs directory @name below @dev has any entry. */
static gboolean
sysfs_dir_has_entries (XdUdevDevice *dev, const char *name)
{
  g_autofree char *path = g_build_filename (udev_device_get_syspath (dev), name, NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);

  return dir && g_dir_read_name (dir) != NULL;
}

/* ---- block ---- */

typedef struct
{
  char *name;
  char *disk; /* a partition's disk, else NULL */
  char *description;
  char *number; /* a partition's number */
  guint64 size;
  gboolean read_only;
  gboolean in_use;
  gboolean skip;
} Block;

static void
block_free (Block *block)
{
  g_free (block->name);
  g_free (block->disk);
  g_free (block->description);
  g_free (block->number);
  g_free (block);
}

static char *
join_words (const char *a, const char *b)
{
  if (a && *a && b && *b)
    return g_strdup_printf ("%s %s", a, b);
  return g_strdup (a && *a ? a : b && *b ? b : NULL);
}

/* What the device calls itself: the model of the first ancestor that has
 * one (SCSI and NVMe give "vendor" and "model", an MMC card "name", a usb
 * device "manufacturer" and "product"), then udev's ID_MODEL. */
static char *
disk_description (XdUdevDevice *dev)
{
  const char *backing;

  for (XdUdevDevice *p = dev; p; p = udev_device_get_parent (p))
    {
      const char *subsystem = udev_device_get_subsystem (p);
      const char *model = udev_device_get_sysattr_value (p, "model");

      if (model)
        return join_words (udev_device_get_sysattr_value (p, "vendor"), model);
      if (g_strcmp0 (subsystem, "mmc") == 0 && udev_device_get_sysattr_value (p, "name"))
        return g_strdup (udev_device_get_sysattr_value (p, "name"));
      if (g_strcmp0 (subsystem, "usb") == 0 && udev_device_get_sysattr_value (p, "product"))
        return join_words (udev_device_get_sysattr_value (p, "manufacturer"),
                           udev_device_get_sysattr_value (p, "product"));
    }
  if (udev_device_get_property_value (dev, "ID_MODEL"))
    return g_strdup (udev_device_get_property_value (dev, "ID_MODEL"));
  backing = udev_device_get_sysattr_value (dev, "loop/backing_file");
  if (backing)
    return g_strdup_printf ("Loop device (%s)", backing);
  return g_strdup (udev_device_get_sysname (dev));
}

static gboolean
is_stacked_or_ram (XdUdevDevice *dev, const char *name)
{
  return g_str_has_prefix (name, "ram") || g_str_has_prefix (name, "zram")
         || sysfs_dir_has_entries (dev, "slaves");
}

static gboolean
block_in_use (XdUdevDevice *dev, const InUse *in_use)
{
  dev_t devnum = udev_device_get_devnum (dev);
  g_autofree char *numbers = g_strdup_printf ("%u:%u", major (devnum), minor (devnum));
  const char *dm_name = udev_device_get_sysattr_value (dev, "dm/name");

  if (devnum != 0 && g_hash_table_contains (in_use->devnums, numbers))
    return TRUE;
  if (g_hash_table_contains (in_use->names, udev_device_get_sysname (dev)))
    return TRUE;
  if (dm_name && g_hash_table_contains (in_use->names, dm_name))
    return TRUE;
  return sysfs_dir_has_entries (dev, "holders");
}

static Block *
read_block (XdUdevDevice *dev, const InUse *in_use)
{
  const char *name = udev_device_get_sysname (dev);
  const char *size = udev_device_get_sysattr_value (dev, "size");
  const char *ro = udev_device_get_sysattr_value (dev, "ro");
  gboolean partition = g_strcmp0 (udev_device_get_devtype (dev), "partition") == 0;
  Block *block = g_new0 (Block, 1);
  guint64 sectors = 0;

  block->name = g_strdup (name);
  block->in_use = block_in_use (dev, in_use);
  if (!xd_validate_port (XD_CLASS_BLOCK, name) || is_stacked_or_ram (dev, name)
      || !xd_parse_size (size, &sectors) || sectors == 0 || sectors > G_MAXUINT64 / SECTOR_BYTES)
    block->skip = TRUE;
  block->size = sectors * SECTOR_BYTES;
  block->read_only = g_strcmp0 (ro, "1") == 0 || g_str_has_prefix (name, "sr")
                     || g_strcmp0 (udev_device_get_property_value (dev, "ID_CDROM"), "1") == 0;
  if (partition)
    {
      XdUdevDevice *disk = udev_device_get_parent_with_subsystem_devtype (dev, "block", "disk");
      const char *number = udev_device_get_sysattr_value (dev, "partition");

      block->disk = g_strdup (disk ? udev_device_get_sysname (disk) : NULL);
      block->number = g_strdup (number ? number : "?");
      if (!block->disk || !xd_validate_port (XD_CLASS_BLOCK, block->disk))
        block->skip = TRUE;
      block->description = disk ? disk_description (disk) : g_strdup (name);
    }
  else
    block->description = disk_description (dev);
  return block;
}

static void
scan_block (struct udev *udev, const InUse *in_use, GHashTable *attached, GPtrArray *out)
{
  g_autoptr (GPtrArray) devices = enumerate (udev, "block");
  g_autoptr (GPtrArray) blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  /* Disks to hide with all their partitions, and the reason. */
  g_autoptr (GHashTable) disk_used = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) disk_has_attached_part = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < devices->len; i++)
    {
      Block *block = read_block (devices->pdata[i], in_use);
      g_ptr_array_add (blocks, block);
      g_hash_table_insert (by_name, block->name, block);
    }

  for (guint i = 0; i < blocks->len; i++)
    {
      Block *block = blocks->pdata[i];
      const char *disk = block->disk ? block->disk : block->name;

      if (block->in_use)
        g_hash_table_add (disk_used, (char *) disk);
      if (block->disk && attached && g_hash_table_contains (attached, block->name))
        g_hash_table_add (disk_has_attached_part, block->disk);
    }

  for (guint i = 0; i < blocks->len; i++)
    {
      Block *block = blocks->pdata[i];
      const char *disk = block->disk ? block->disk : block->name;
      gboolean self_attached = attached && g_hash_table_contains (attached, block->name);
      g_autoptr (XdPublication) publication = NULL;
      g_autofree char *size = NULL;

      if (block->skip || g_hash_table_contains (disk_used, disk))
        continue;
      if (!self_attached)
        {
          if (block->disk && attached && g_hash_table_contains (attached, block->disk))
            continue; /* its disk is attached */
          if (!block->disk && g_hash_table_contains (disk_has_attached_part, block->name))
            continue; /* one of its partitions is attached */
        }

      publication = xd_publication_new (XD_CLASS_BLOCK, block->name);
      if (block->disk)
        {
          g_autofree char *desc
            = g_strdup_printf ("%s (partition %s)", block->description, block->number);
          add_description (publication, desc);
        }
      else
        add_description (publication, block->description);
      size = g_strdup_printf ("%" G_GUINT64_FORMAT, block->size);
      xd_publication_add (publication, "size", size);
      xd_publication_add (publication, "mode", block->read_only ? "r" : "w");
      if (block->disk)
        xd_publication_add (publication, "parent", block->disk);
      g_ptr_array_add (out, g_steal_pointer (&publication));
    }
}

/* ---- usb ---- */

static gboolean
is_hex_byte (const char *s)
{
  return s && g_ascii_isxdigit (s[0]) && g_ascii_isxdigit (s[1]) && s[2] == '\0';
}

static void
free_string (gpointer string)
{
  g_string_free (string, TRUE);
}

/* Interface "2-1.3:1.0" of device "2-1.3": appends "ccssii" to the device's
 * list, and notes a boot keyboard or mouse. */
static void
add_interface (XdUdevDevice *dev, GHashTable *interfaces, GHashTable *input)
{
  XdUdevDevice *parent = udev_device_get_parent_with_subsystem_devtype (dev, "usb", "usb_device");
  const char *cls = udev_device_get_sysattr_value (dev, "bInterfaceClass");
  const char *sub = udev_device_get_sysattr_value (dev, "bInterfaceSubClass");
  const char *proto = udev_device_get_sysattr_value (dev, "bInterfaceProtocol");
  const char *owner;
  GString *list;

  if (!parent || !is_hex_byte (cls) || !is_hex_byte (sub) || !is_hex_byte (proto))
    return;
  owner = udev_device_get_sysname (parent);
  list = g_hash_table_lookup (interfaces, owner);
  if (!list)
    {
      list = g_string_new (":");
      g_hash_table_insert (interfaces, g_strdup (owner), list);
    }
  if (list->len < 32 * 7)
    g_string_append_printf (list, "%s%s%s:", cls, sub, proto);
  /* HID boot protocol: 03 01 01 is a keyboard, 03 01 02 a mouse. */
  if (g_ascii_strcasecmp (cls, "03") == 0 && g_ascii_strcasecmp (sub, "01") == 0)
    {
      guint flags = GPOINTER_TO_UINT (g_hash_table_lookup (input, owner));
      if (strcmp (proto, "01") == 0)
        flags |= XD_INPUT_KEYBOARD;
      else if (strcmp (proto, "02") == 0)
        flags |= XD_INPUT_MOUSE;
      g_hash_table_insert (input, g_strdup (owner), GUINT_TO_POINTER (flags));
    }
}

/* Input devices udev classified as a keyboard or a mouse, by their usb
 * device. */
static void
scan_input (struct udev *udev, GHashTable *input)
{
  g_autoptr (GPtrArray) devices = enumerate (udev, "input");

  for (guint i = 0; i < devices->len; i++)
    {
      XdUdevDevice *dev = devices->pdata[i];
      XdUdevDevice *usb;
      guint flags = 0;

      if (g_strcmp0 (udev_device_get_property_value (dev, "ID_INPUT_KEYBOARD"), "1") == 0)
        flags |= XD_INPUT_KEYBOARD;
      if (g_strcmp0 (udev_device_get_property_value (dev, "ID_INPUT_MOUSE"), "1") == 0)
        flags |= XD_INPUT_MOUSE;
      usb = flags ? udev_device_get_parent_with_subsystem_devtype (dev, "usb", "usb_device") : NULL;
      if (usb)
        {
          const char *owner = udev_device_get_sysname (usb);
          flags |= GPOINTER_TO_UINT (g_hash_table_lookup (input, owner));
          g_hash_table_insert (input, g_strdup (owner), GUINT_TO_POINTER (flags));
        }
    }
}

static char *
usb_description (XdUdevDevice *dev)
{
  g_autofree char *name = join_words (udev_device_get_sysattr_value (dev, "manufacturer"),
                                      udev_device_get_sysattr_value (dev, "product"));

  if (name)
    return g_steal_pointer (&name);
  return g_strdup_printf ("USB device %s:%s",
                          udev_device_get_sysattr_value (dev, "idVendor") ?: "?",
                          udev_device_get_sysattr_value (dev, "idProduct") ?: "?");
}

static void
scan_usb (struct udev *udev, GPtrArray *out)
{
  g_autoptr (GPtrArray) all = enumerate (udev, "usb");
  g_autoptr (GPtrArray) devices = g_ptr_array_new ();
  g_autoptr (GHashTable) interfaces
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_string);
  g_autoptr (GHashTable) input = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < all->len; i++)
    {
      XdUdevDevice *dev = all->pdata[i];
      const char *devtype = udev_device_get_devtype (dev);

      if (g_strcmp0 (devtype, "usb_interface") == 0)
        add_interface (dev, interfaces, input);
      if (g_strcmp0 (devtype, "usb_device") == 0)
        g_ptr_array_add (devices, dev);
    }
  scan_input (udev, input);

  for (guint i = 0; i < devices->len; i++)
    {
      XdUdevDevice *dev = devices->pdata[i];
      const char *name = udev_device_get_sysname (dev);
      g_autofree char *port = g_strdelimit (g_strdup (name), ".", '_');
      g_autofree char *desc = NULL;
      g_autoptr (XdPublication) publication = NULL;
      GString *list = g_hash_table_lookup (interfaces, name);
      guint flags = GPOINTER_TO_UINT (g_hash_table_lookup (input, name));

      if (!xd_validate_port (XD_CLASS_USB, port))
        continue; /* a root hub ("usb1") or a malformed name */
      if (g_strcmp0 (udev_device_get_sysattr_value (dev, "bDeviceClass"), USB_CLASS_HUB) == 0)
        continue;
      publication = xd_publication_new (XD_CLASS_USB, port);
      desc = usb_description (dev);
      add_description (publication, desc);
      if (list && xd_parse_usb_interfaces (list->str, NULL))
        xd_publication_add (publication, "interfaces", list->str);
      if (flags)
        xd_publication_add (publication, "input",
                            flags == XD_INPUT_KEYBOARD ? "keyboard"
                            : flags == XD_INPUT_MOUSE  ? "mouse"
                                                       : "keyboard,mouse");
      g_ptr_array_add (out, g_steal_pointer (&publication));
    }
}

/* ---- the capture device ---- */

static gboolean
is_capture_pcm (const char *name)
{
  guint card, device;
  char kind = 0;
  int consumed = 0;

  return name && sscanf (name, "pcmC%uD%u%c%n", &card, &device, &kind, &consumed) == 3
         && kind == 'c' && name[consumed] == '\0';
}

/* The first capture device (in sysfs order) makes "mic" available, named
 * after its sound card. */
static void
scan_mic (struct udev *udev, GPtrArray *out)
{
  g_autoptr (GPtrArray) devices = enumerate (udev, "sound");

  for (guint i = 0; i < devices->len; i++)
    {
      XdUdevDevice *dev = devices->pdata[i];
      XdUdevDevice *card;
      const char *card_name;
      g_autofree char *desc = NULL;
      g_autoptr (XdPublication) publication = NULL;

      if (!is_capture_pcm (udev_device_get_sysname (dev)))
        continue;
      card = udev_device_get_parent (dev);
      card_name = card ? udev_device_get_sysattr_value (card, "id") : NULL;
      desc = card_name ? g_strdup_printf ("Microphone (%s)", card_name) : g_strdup ("Microphone");
      publication = xd_publication_new (XD_CLASS_MIC, "mic");
      add_description (publication, desc);
      g_ptr_array_add (out, g_steal_pointer (&publication));
      return;
    }
}

/* ---- all ---- */

GPtrArray *
xd_udev_scan (struct udev *udev, const XdUdevScanOptions *options)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_publication_free);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) xd_publication_free);
  InUse in_use;
  guint per_class[XD_N_CLASSES] = { 0 };

  in_use.devnums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  in_use.names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  read_in_use (&in_use, options);

  scan_block (udev, &in_use, options ? options->attached : NULL, all);
  scan_usb (udev, all);
  scan_mic (udev, all);
  g_hash_table_unref (in_use.devnums);
  g_hash_table_unref (in_use.names);

  g_ptr_array_sort (all, compare_publications);
  for (guint i = 0; i < all->len; i++)
    {
      XdPublication *publication = all->pdata[i];

      if (per_class[publication->klass]++ >= XD_PUBLICATION_MAX_PER_CLASS)
        continue;
      xd_publication_add (publication, XD_PUBLICATION_SOURCE_KEY, XD_PUBLICATION_SOURCE);
      g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  g_ptr_array_unref (all);
  return out;
}
