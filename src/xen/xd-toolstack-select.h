/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "core/xd-toolstack.h"

G_BEGIN_DECLS

/* "libxl", "service" or "simulated": XEN_DEVICES_TOOLSTACK when set, else
 * on a real dom0 (/proc/xen/capabilities says control_d) libxl for root and
 * the system service (xd-control.h) for anyone else. Elsewhere "none": the
 * simulated toolstack is never chosen unless asked for. */
const char *xd_toolstack_choice (void);
/* Opens the chosen toolstack and logs which. XD_ERROR_INVALID for an
 * unknown XEN_DEVICES_TOOLSTACK, XD_ERROR_UNAVAILABLE (naming the way out)
 * for "none". */
XdToolstack *xd_toolstack_open (GError **error);
/* XD_ERROR_INVALID, naming it, when XEN_DEVICES_TOOLSTACK is set to
 * anything but libxl, service or simulated. */
gboolean xd_toolstack_check_setting (GError **error);

G_END_DECLS
