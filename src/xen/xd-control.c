/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "xd-control.h"

#include <glib/gi18n.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "core/xd-error.h"

static const char interface_xml[] = "<node>"
                                    "  <interface name='" XD_CONTROL_INTERFACE "'>"
                                    "    <method name='Attach'>"
                                    "      <arg direction='in' type='s' name='class'/>"
                                    "      <arg direction='in' type='u' name='backend'/>"
                                    "      <arg direction='in' type='u' name='frontend'/>"
                                    "      <arg direction='in' type='s' name='port'/>"
                                    "      <arg direction='in' type='s' name='frontend_dev'/>"
                                    "      <arg direction='in' type='b' name='read_only'/>"
                                    "      <arg direction='in' type='b' name='cdrom'/>"
                                    "      <arg direction='in' type='u' name='timeout_ms'/>"
                                    "    </method>"
                                    "    <method name='Detach'>"
                                    "      <arg direction='in' type='s' name='class'/>"
                                    "      <arg direction='in' type='s' name='kind'/>"
                                    "      <arg direction='in' type='u' name='backend'/>"
                                    "      <arg direction='in' type='u' name='frontend'/>"
                                    "      <arg direction='in' type='s' name='port'/>"
                                    "      <arg direction='in' type='u' name='devid'/>"
                                    "      <arg direction='in' type='s' name='frontend_dev'/>"
                                    "      <arg direction='in' type='u' name='timeout_ms'/>"
                                    "    </method>"
                                    "    <method name='StopVm'>"
                                    "      <arg direction='in' type='u' name='domid'/>"
                                    "    </method>"
                                    "  </interface>"
                                    "</node>";

const char *
xd_control_socket_path (void)
{
  const char *path = g_getenv ("XEN_DEVICES_CONTROL_SOCKET");

  return path && *path ? path : XD_CONTROL_SOCKET_DEFAULT;
}

const char *
xd_control_group_name (void)
{
  const char *group = g_getenv ("XEN_DEVICES_GROUP");

  return group && *group ? group : XD_GROUP;
}

GDBusInterfaceInfo *
xd_control_interface_info (void)
{
  static gsize node;

  if (g_once_init_enter (&node))
    {
      GDBusNodeInfo *info = g_dbus_node_info_new_for_xml (interface_xml, NULL);
      g_assert (info != NULL);
      g_once_init_leave (&node, (gsize) info);
    }
  return ((GDBusNodeInfo *) node)->interfaces[0];
}

void
xd_control_register_errors (void)
{
  static const GDBusErrorEntry entries[] = {
    { XD_ERROR_FAILED, "org.xendevices.Error.Failed" },
    { XD_ERROR_INVALID, "org.xendevices.Error.Invalid" },
    { XD_ERROR_NOT_FOUND, "org.xendevices.Error.NotFound" },
    { XD_ERROR_UNAVAILABLE, "org.xendevices.Error.Unavailable" },
    { XD_ERROR_REFUSED, "org.xendevices.Error.Refused" },
    { XD_ERROR_TIMEOUT, "org.xendevices.Error.Timeout" },
    { XD_ERROR_CORRUPT, "org.xendevices.Error.Corrupt" },
    { XD_ERROR_CONFLICT, "org.xendevices.Error.Conflict" },
  };
  static gsize done;

  if (g_once_init_enter (&done))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
        g_dbus_error_register_error (XD_ERROR, entries[i].error_code, entries[i].dbus_error_name);
      g_once_init_leave (&done, 1);
    }
}

static gboolean
process_has_group (gid_t gid)
{
  int n = getgroups (0, NULL);
  g_autofree gid_t *groups = NULL;

  if (getegid () == gid)
    return TRUE;
  if (n <= 0)
    return FALSE;
  groups = g_new (gid_t, n);
  n = getgroups (n, groups);
  for (int i = 0; i < n; i++)
    if (groups[i] == gid)
      return TRUE;
  return FALSE;
}

/* Whether /etc/group (or whatever NSS reads) puts @user in @gid. */
static gboolean
user_configured_in_group (const char *user, gid_t primary, gid_t gid)
{
  int n = 64;

  for (int tries = 0; tries < 4; tries++)
    {
      g_autofree gid_t *groups = g_new (gid_t, n);
      int want = n;

      if (getgrouplist (user, primary, groups, &want) >= 0)
        {
          for (int i = 0; i < want; i++)
            if (groups[i] == gid)
              return TRUE;
          return FALSE;
        }
      n = MAX (want, n * 2);
    }
  return FALSE;
}

char *
xd_control_explain_access (void)
{
  struct group gr, *grp = NULL;
  struct passwd pw, *pwp = NULL;
  char buf[16384];
  g_autofree char *user = NULL;
  const char *group = xd_control_group_name ();

  if (geteuid () == 0)
    return NULL;
  if (getgrnam_r (group, &gr, buf, sizeof buf, &grp) != 0 || !grp)
    return g_strdup_printf (_ ("The group “%s” that may use Xen’s device controls does not "
                               "exist: install the xen-devices package on this dom0."),
                            group);
  gid_t gid = grp->gr_gid;
  if (process_has_group (gid))
    return NULL;
  if (getpwuid_r (geteuid (), &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
    return g_strdup_printf (_ ("Only root and the members of the group “%s” may use Xen’s "
                               "device controls."),
                            group);
  user = g_strdup (pwp->pw_name);
  if (user_configured_in_group (user, pwp->pw_gid, gid))
    return g_strdup_printf (_ ("You (%s) were added to the group “%s” after this session "
                               "started: log out and log in again."),
                            user, group);
  return g_strdup_printf (_ ("Only root and the members of the group “%s” may use Xen’s device "
                             "controls, and you (%s) are not one. An administrator can add you "
                             "with “adduser %s %s”; then log out and log in again."),
                          group, user, user, group);
}
