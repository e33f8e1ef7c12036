/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-notifier.h"

#include <glib/gi18n.h>
#include <libnotify/notify.h>
#include <string.h>

#include "core/xd-validate.h"

/* One VM holding a device, remembered with its name so that a detach can
 * still name a VM that has stopped meanwhile. */
typedef struct
{
  guint domid;
  char name[32];
} Holder;

/* What the notifier remembers of one device, by its engine key. */
typedef struct
{
  char *label;                      /* "sys-usb:2-1.3 (Logitech USB Receiver)", not escaped */
  GArray *holders;                  /* Holder, sorted by domid */
  NotifyNotification *notification; /* the device's one bubble, or NULL */
} Entry;

struct _XdNotifier
{
  GObject parent_instance;

  XdEngine *engine;
  GSettings *settings; /* NULL: defaults */
  GHashTable *entries; /* device key -> Entry */

  gboolean initted_here;   /* notify_init () was ours to undo */
  gboolean server_missing; /* already logged; cleared by the next success */
  gboolean caps_known;
  GList *caps; /* char *, from notify_get_server_caps () */
};

G_DEFINE_TYPE (XdNotifier, xd_notifier, G_TYPE_OBJECT)

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->label);
  g_array_unref (entry->holders);
  g_clear_object (&entry->notification);
  g_free (entry);
}

/* The tray leaves PCI out (those devices are given to a VM at its start), and
 * so do its notifications. */
static gboolean
is_shown (const XdDevice *device)
{
  return device->klass != XD_CLASS_PCI;
}

static const char *
class_icon (XdClassId klass)
{
  switch (klass)
    {
    case XD_CLASS_MIC:
      return "audio-input-microphone-symbolic"; /* the one Adwaita has */
    case XD_CLASS_BLOCK:
    case XD_CLASS_USB:
    default:
      return "drive-removable-media";
    }
}

static char *
device_label (XdNotifier *self, const XdDevice *device)
{
  char buf[32];
  const char *backend = xd_engine_vm_name (self->engine, device->backend, buf);
  g_autofree char *port = xd_port_to_display (device->klass, device->port);

  if (device->description[0] == '\0')
    return g_strdup_printf ("%s:%s", backend, port ? port : device->port);
  return g_strdup_printf ("%s:%s (%s)", backend, port ? port : device->port, device->description);
}

static GArray *
device_holders (XdNotifier *self, const XdDevice *device)
{
  GArray *holders = g_array_new (FALSE, FALSE, sizeof (Holder));

  /* Attachments come sorted by frontend; a VM holding the device through
   * two entries still counts once. */
  for (guint i = 0; i < device->attachments->len; i++)
    {
      const XdAttachment *a = device->attachments->pdata[i];
      Holder h = { .domid = a->frontend };
      char buf[32];

      if (holders->len > 0 && g_array_index (holders, Holder, holders->len - 1).domid == h.domid)
        continue;
      /* The name may be formatted into the buffer given, so that buffer
       * cannot also be where it is copied to. */
      g_strlcpy (h.name, xd_engine_vm_name (self->engine, a->frontend, buf), sizeof h.name);
      g_array_append_val (holders, h);
    }
  return holders;
}

static gboolean
has_holder (GArray *holders, guint domid)
{
  for (guint i = 0; i < holders->len; i++)
    if (g_array_index (holders, Holder, i).domid == domid)
      return TRUE;
  return FALSE;
}

static Entry *
remember (XdNotifier *self, const XdDevice *device)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->label = device_label (self, device);
  entry->holders = device_holders (self, device);
  g_hash_table_replace (self->entries, xd_device_key (device->klass, device->backend, device->port),
                        entry);
  return entry;
}

/* ---- talking to the notification server ---- */

static gboolean
ensure_init (XdNotifier *self)
{
  if (notify_is_initted ())
    return TRUE;
  if (notify_init (_ ("Devices")))
    {
      self->initted_here = TRUE;
      return TRUE;
    }
  if (!self->server_missing)
    g_message ("Desktop notifications are unavailable: libnotify could not be initialised");
  self->server_missing = TRUE;
  return FALSE;
}

/* Asked once per server: notify_get_server_caps () warns when there is no
 * server at all, so the (silent) server information call goes first. */
static void
ensure_caps (XdNotifier *self)
{
  if (self->caps_known || !notify_get_server_info (NULL, NULL, NULL, NULL))
    return;
  self->caps = notify_get_server_caps ();
  self->caps_known = TRUE;
}

static gboolean
server_has (XdNotifier *self, const char *cap)
{
  /* Until the server has answered, assume the common case. */
  if (!self->caps_known)
    return TRUE;
  return g_list_find_custom (self->caps, cap, (GCompareFunc) strcmp) != NULL;
}

/* Shows @text (plain text) as the body of @notification. The body is always
 * escaped: a server may render markup, and descriptions come from VMs. A
 * server that shows no body at all gets the text as the summary, which is
 * never markup. */
static void
show (XdNotifier *self, NotifyNotification *notification, const char *summary, const char *text,
      const char *icon)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;

  if (!ensure_init (self))
    return;
  ensure_caps (self);
  if (server_has (self, "body"))
    {
      body = g_markup_escape_text (text, -1);
      notify_notification_update (notification, summary, body, icon);
    }
  else
    notify_notification_update (notification, text[0] ? text : summary, NULL, icon);

  if (notify_notification_show (notification, &error))
    {
      self->server_missing = FALSE;
      return;
    }
  if (!self->server_missing)
    g_message ("Desktop notifications are unavailable: %s", error->message);
  self->server_missing = TRUE;
  /* Whatever answers next may be another server. */
  g_list_free_full (g_steal_pointer (&self->caps), g_free);
  self->caps_known = FALSE;
}

/* The device's own bubble: each event replaces the previous one. */
static void
show_for_device (XdNotifier *self, XdClassId klass, Entry *entry, const char *summary,
                 const char *text)
{
  if (entry->notification == NULL)
    entry->notification = notify_notification_new (summary, NULL, NULL);
  show (self, entry->notification, summary, text, class_icon (klass));
}

static gboolean
announce_availability (XdNotifier *self)
{
  return self->settings == NULL || g_settings_get_boolean (self->settings, "notify-availability");
}

/* ---- engine signals ---- */

static void
device_added_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdNotifier *self = user_data;
  Entry *entry;
  g_autofree char *text = NULL;

  if (!is_shown (device))
    return;
  entry = remember (self, device);
  if (!announce_availability (self))
    return;
  text = g_strdup_printf (_ ("%s is available."), entry->label);
  show_for_device (self, device->klass, entry, _ ("Device available"), text);
}

static void
device_changed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdNotifier *self = user_data;
  g_autofree char *key = NULL;
  g_autoptr (GArray) old = NULL;
  Entry *entry;

  if (!is_shown (device))
    return;
  key = xd_device_key (device->klass, device->backend, device->port);
  entry = g_hash_table_lookup (self->entries, key);
  if (entry == NULL)
    {
      remember (self, device);
      return;
    }
  g_free (entry->label);
  entry->label = device_label (self, device);
  old = g_steal_pointer (&entry->holders);
  entry->holders = device_holders (self, device);

  /* Detaches first, so that a move from one VM to another ends on the
   * bubble that names where the device went. */
  for (guint i = 0; i < old->len; i++)
    {
      const Holder *h = &g_array_index (old, Holder, i);
      if (!has_holder (entry->holders, h->domid))
        {
          g_autofree char *text
            = g_strdup_printf (_ ("%s was detached from %s."), entry->label, h->name);
          show_for_device (self, device->klass, entry, _ ("Device detached"), text);
        }
    }
  for (guint i = 0; i < entry->holders->len; i++)
    {
      const Holder *h = &g_array_index (entry->holders, Holder, i);
      if (!has_holder (old, h->domid))
        {
          g_autofree char *text
            = g_strdup_printf (_ ("%s was attached to %s."), entry->label, h->name);
          show_for_device (self, device->klass, entry, _ ("Device attached"), text);
        }
    }
}

static void
device_removed_cb (XdEngine *engine, XdDevice *device, gpointer user_data)
{
  XdNotifier *self = user_data;
  g_autofree char *key = NULL;
  Entry *entry;

  if (!is_shown (device))
    return;
  key = xd_device_key (device->klass, device->backend, device->port);
  entry = g_hash_table_lookup (self->entries, key);
  if (entry != NULL && announce_availability (self))
    {
      g_autofree char *text = g_strdup_printf (_ ("%s has been removed."), entry->label);
      show_for_device (self, device->klass, entry, _ ("Device removed"), text);
    }
  /* Forgotten, bubble and all: a VM cycling through made-up ports must not
   * grow this table. */
  g_hash_table_remove (self->entries, key);
}

/* ---- object ---- */

static void
xd_notifier_dispose (GObject *object)
{
  XdNotifier *self = XD_NOTIFIER (object);

  if (self->engine)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_clear_object (&self->engine);
  g_clear_object (&self->settings);
  /* The bubbles go before libnotify does. */
  g_clear_pointer (&self->entries, g_hash_table_unref);
  if (self->initted_here)
    notify_uninit ();
  self->initted_here = FALSE;

  G_OBJECT_CLASS (xd_notifier_parent_class)->dispose (object);
}

static void
xd_notifier_finalize (GObject *object)
{
  XdNotifier *self = XD_NOTIFIER (object);

  g_list_free_full (self->caps, g_free);

  G_OBJECT_CLASS (xd_notifier_parent_class)->finalize (object);
}

static void
xd_notifier_class_init (XdNotifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = xd_notifier_dispose;
  object_class->finalize = xd_notifier_finalize;
}

static void
xd_notifier_init (XdNotifier *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
}

XdNotifier *
xd_notifier_new (XdEngine *engine, GSettings *settings)
{
  XdNotifier *self;
  g_autoptr (GPtrArray) devices = NULL;

  g_return_val_if_fail (XD_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  self = g_object_new (XD_TYPE_NOTIFIER, NULL);
  self->engine = g_object_ref (engine);
  self->settings = settings ? g_object_ref (settings) : NULL;

  /* What is there at start-up is known, not news: remembered, not shown. */
  devices = xd_engine_get_devices (engine, XD_N_CLASSES);
  for (guint i = 0; i < devices->len; i++)
    if (is_shown (devices->pdata[i]))
      remember (self, devices->pdata[i]);

  g_signal_connect (engine, "device-added", G_CALLBACK (device_added_cb), self);
  g_signal_connect (engine, "device-changed", G_CALLBACK (device_changed_cb), self);
  g_signal_connect (engine, "device-removed", G_CALLBACK (device_removed_cb), self);
  return self;
}

void
xd_notifier_error (XdNotifier *self, const char *summary, const char *body)
{
  NotifyNotification *notification;

  g_return_if_fail (XD_IS_NOTIFIER (self));
  g_return_if_fail (summary != NULL && summary[0] != '\0');

  /* A notification of its own each time, so that no later event replaces
   * it. The server keeps showing it after our reference is gone. */
  notification = notify_notification_new (summary, NULL, NULL);
  notify_notification_set_urgency (notification, NOTIFY_URGENCY_CRITICAL);
  show (self, notification, summary, body ? body : "", "dialog-error");
  g_object_unref (notification);
}
