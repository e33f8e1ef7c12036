/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-notifier.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "core/xd-validate.h"

typedef struct _Message Message;
typedef struct _Bubble Bubble;

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
  char *label;     /* "sys-usb:2-1.3 (Logitech USB Receiver)", not escaped */
  GArray *holders; /* Holder, sorted by domid */
  Bubble *bubble;  /* the device's one bubble, or NULL */
} Entry;

/* What a callback may reach: the notifier, NULL once it is disposed. The
 * callbacks of calls cancelled at disposal still run, later. */
typedef struct
{
  XdNotifier *self;
} Link;

struct _XdNotifier
{
  GObject parent_instance;

  XdEngine *engine;
  GSettings *settings; /* NULL: defaults */
  GHashTable *entries; /* device key -> Entry */

  Link *link;                /* the callbacks' way back here */
  GCancellable *cancellable; /* every call; cancelled at disposal */
  GDBusConnection *bus;      /* the session bus, NULL until it answered */
  gboolean asking;           /* for the bus or the capabilities */
  gboolean caps_known;
  gboolean has_body;       /* the server shows bodies */
  GPtrArray *queued;       /* Bubble *, waiting for the capabilities */
  gboolean server_missing; /* already logged; cleared by the next success */
};

G_DEFINE_TYPE (XdNotifier, xd_notifier, G_TYPE_OBJECT)

static void bubble_release (gpointer bubble);

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->label);
  g_array_unref (entry->holders);
  g_clear_pointer (&entry->bubble, bubble_release);
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

/* ---- talking to the notification server ----
 *
 * org.freedesktop.Notifications is called directly, asynchronously: the
 * GTK main loop never blocks, and libnotify has no asynchronous show (nor
 * capabilities), only calls that wait up to D-Bus's 25 s for a hung server. */

#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH "/org/freedesktop/Notifications"

/* How long the server has to answer one call. A hung server costs a device
 * this long before its next bubble goes out (without replacing the one the
 * server may still show), not D-Bus's default 25 s. */
#define CALL_TIMEOUT_MS 5000

/* One Notify not sent yet. */
struct _Message
{
  char *summary;
  char *text;       /* plain text: escaped when sent */
  const char *icon; /* static */
  gboolean critical;
};

/* One bubble on the server: a device's (replaced at each event) or an
 * error's (shown once). Reference-counted (g_rc_box): its entry and the call
 * in flight share it, so that a removed device's last message still goes out
 * replacing its bubble. */
struct _Bubble
{
  guint id;           /* the server's, 0 until it answered */
  gboolean in_flight; /* a Notify is out: the next waits for its id */
  gboolean queued;    /* in XdNotifier.queued, waiting for the capabilities */
  Message *pending;   /* the next message; a newer one replaces it */
};

/* One Notify in flight. */
typedef struct
{
  Link *link;
  Bubble *bubble;
  Message *message;
} Call;

static void
message_free (Message *message)
{
  g_free (message->summary);
  g_free (message->text);
  g_free (message);
}

static Message *
message_new (const char *summary, const char *text, const char *icon, gboolean critical)
{
  Message *message = g_new0 (Message, 1);

  message->summary = g_strdup (summary);
  message->text = g_strdup (text);
  message->icon = icon;
  message->critical = critical;
  return message;
}

static void
bubble_clear (gpointer data)
{
  Bubble *bubble = data;

  g_clear_pointer (&bubble->pending, message_free);
}

static void
bubble_release (gpointer bubble)
{
  g_rc_box_release_full (bubble, bubble_clear);
}

static void
call_free (Call *call)
{
  g_rc_box_release (call->link);
  bubble_release (call->bubble);
  message_free (call->message);
  g_free (call);
}

static gboolean
is_timeout (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT);
}

static void
log_not_shown (const Message *message)
{
  g_message ("The notification server did not answer within %d s; not shown: %s: %s",
             CALL_TIMEOUT_MS / 1000, message->summary, message->text);
}

/* No server (or no session bus): logged once, until a notification is shown
 * again. Whatever answers next may be another server, so its capabilities
 * are asked anew. */
static void
lost_server (XdNotifier *self, const GError *error)
{
  if (!self->server_missing)
    g_message ("Desktop notifications are unavailable: %s", error->message);
  self->server_missing = TRUE;
  self->caps_known = FALSE;
  if (self->bus != NULL && g_dbus_connection_is_closed (self->bus))
    g_clear_object (&self->bus);
}

static void notified_cb (GObject *source, GAsyncResult *result, gpointer user_data);

/* Sends @bubble's pending message. The body is always escaped: a server may
 * render markup, and descriptions come from VMs. A server that shows no body
 * at all gets the text as the summary, which is never markup. */
static void
send_pending (XdNotifier *self, Bubble *bubble)
{
  static const char *const no_actions[] = { NULL };
  Message *message = g_steal_pointer (&bubble->pending);
  const char *summary = message->summary;
  g_autofree char *body = NULL;
  GVariantBuilder hints;
  Call *call;

  if (self->has_body)
    body = g_markup_escape_text (message->text, -1);
  else if (message->text[0] != '\0')
    summary = message->text;
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  if (message->critical)
    g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (2));
  /* What libnotify sends too: servers find the application by it. */
  g_variant_builder_add (&hints, "{sv}", "sender-pid", g_variant_new_int64 (getpid ()));

  call = g_new0 (Call, 1);
  call->link = g_rc_box_acquire (self->link);
  call->bubble = g_rc_box_acquire (bubble);
  call->message = message;
  bubble->in_flight = TRUE;
  g_dbus_connection_call (
    self->bus, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_NAME, "Notify",
    g_variant_new ("(susss^asa{sv}i)", _ ("Devices"), bubble->id, message->icon, summary,
                   body ? body : "", no_actions, &hints, -1),
    G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, self->cancellable, notified_cb,
    call);
}

static void ask_caps (XdNotifier *self);

/* Sends @bubble's pending message unless it must wait: for the answer to the
 * bubble's previous Notify (whose id it replaces), or for the server's
 * capabilities (which decide what goes in the body). */
static void
dispatch (XdNotifier *self, Bubble *bubble)
{
  if (bubble->pending == NULL || bubble->in_flight || bubble->queued)
    return;
  if (!self->caps_known)
    {
      bubble->queued = TRUE;
      g_ptr_array_add (self->queued, g_rc_box_acquire (bubble));
      ask_caps (self);
      return;
    }
  send_pending (self, bubble);
}

/* @message goes out as @bubble's next. A message still waiting is dropped:
 * the server would have replaced it at once. */
static void
post (XdNotifier *self, Bubble *bubble, Message *message)
{
  g_clear_pointer (&bubble->pending, message_free);
  bubble->pending = message;
  dispatch (self, bubble);
}

static void
notified_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  XdNotifier *self = call->link->self;
  Bubble *bubble = call->bubble;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  bubble->in_flight = FALSE;
  if (self == NULL)
    ; /* disposed: the bubble goes with the call */
  else if (reply != NULL)
    {
      g_variant_get (reply, "(u)", &bubble->id);
      self->server_missing = FALSE;
    }
  /* The server may still show it, under an id never learned: the next
   * message starts a bubble of its own rather than wait any longer. */
  else if (is_timeout (error))
    log_not_shown (call->message);
  else
    lost_server (self, error);

  if (self != NULL)
    dispatch (self, bubble);
  call_free (call);
}

static void
flush_queued (XdNotifier *self, gboolean send_them)
{
  g_autoptr (GPtrArray) queued = g_steal_pointer (&self->queued);

  self->queued = g_ptr_array_new_with_free_func (bubble_release);
  for (guint i = 0; i < queued->len; i++)
    {
      Bubble *bubble = queued->pdata[i];

      bubble->queued = FALSE;
      if (send_them)
        dispatch (self, bubble);
      else
        g_clear_pointer (&bubble->pending, message_free);
    }
}

/* The capabilities could not be had: what waited for them is dropped, as a
 * synchronous call would have failed. */
static void
caps_failed (XdNotifier *self, const GError *error)
{
  self->asking = FALSE;
  if (is_timeout (error))
    for (guint i = 0; i < self->queued->len; i++)
      {
        const Bubble *bubble = self->queued->pdata[i];
        if (bubble->pending != NULL)
          log_not_shown (bubble->pending);
      }
  else
    lost_server (self, error);
  flush_queued (self, FALSE);
}

static void
got_caps_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Link *link = user_data;
  XdNotifier *self = link->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (self == NULL)
    ;
  else if (reply == NULL)
    caps_failed (self, error);
  else
    {
      g_autofree const char **caps = NULL;

      g_variant_get (reply, "(^a&s)", &caps);
      self->has_body = g_strv_contains (caps, "body");
      self->caps_known = TRUE;
      self->asking = FALSE;
      flush_queued (self, TRUE);
    }
  g_rc_box_release (link);
}

static void
get_caps (XdNotifier *self)
{
  g_dbus_connection_call (self->bus, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_NAME,
                          "GetCapabilities", NULL, G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                          CALL_TIMEOUT_MS, self->cancellable, got_caps_cb,
                          g_rc_box_acquire (self->link));
}

static void
got_bus_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Link *link = user_data;
  XdNotifier *self = link->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (result, &error);

  if (self == NULL)
    ;
  else if (bus == NULL)
    caps_failed (self, error);
  else
    {
      self->bus = g_steal_pointer (&bus);
      get_caps (self);
    }
  g_rc_box_release (link);
}

/* Asked once per server, the session bus first. */
static void
ask_caps (XdNotifier *self)
{
  if (self->asking)
    return;
  self->asking = TRUE;
  if (self->bus == NULL)
    g_bus_get (G_BUS_TYPE_SESSION, self->cancellable, got_bus_cb, g_rc_box_acquire (self->link));
  else
    get_caps (self);
}

/* The device's own bubble: each event replaces the previous one. */
static void
show_for_device (XdNotifier *self, XdClassId klass, Entry *entry, const char *summary,
                 const char *text)
{
  if (entry->bubble == NULL)
    entry->bubble = g_rc_box_new0 (Bubble);
  post (self, entry->bubble, message_new (summary, text, class_icon (klass), FALSE));
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
  /* The calls in flight finish without us: their callbacks run later (the
   * cancelled ones too) and then find no notifier. */
  if (self->link != NULL)
    self->link->self = NULL;
  g_clear_pointer (&self->link, g_rc_box_release);
  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  if (self->queued != NULL)
    flush_queued (self, FALSE);
  g_clear_pointer (&self->queued, g_ptr_array_unref);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (xd_notifier_parent_class)->dispose (object);
}

static void
xd_notifier_finalize (GObject *object)
{
  XdNotifier *self = XD_NOTIFIER (object);

  g_clear_object (&self->cancellable);

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
  self->link = g_rc_box_new0 (Link);
  self->link->self = self;
  self->cancellable = g_cancellable_new ();
  self->queued = g_ptr_array_new_with_free_func (bubble_release);
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
  Bubble *bubble;

  g_return_if_fail (XD_IS_NOTIFIER (self));
  g_return_if_fail (summary != NULL && summary[0] != '\0');

  /* A notification of its own each time, so that no later event replaces
   * it. The server keeps showing it after our reference is gone. */
  bubble = g_rc_box_new0 (Bubble);
  post (self, bubble, message_new (summary, body ? body : "", "dialog-error", TRUE));
  bubble_release (bubble);
}

gboolean
xd_notifier_send_final (const char *summary, const char *body, GError **error)
{
  static const char *const no_actions[] = { NULL };
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *escaped = g_markup_escape_text (body, -1);
  GVariantBuilder hints;

  if (!bus)
    return FALSE;
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (2));
  g_variant_builder_add (&hints, "{sv}", "sender-pid", g_variant_new_int64 (getpid ()));
  reply = g_dbus_connection_call_sync (
    bus, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_NAME, "Notify",
    g_variant_new ("(susss^asa{sv}i)", _ ("Devices"), 0, "dialog-error", summary, escaped,
                   no_actions, &hints, -1),
    G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
  return reply != NULL;
}
