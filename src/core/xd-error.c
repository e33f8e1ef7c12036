/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xd-error.h"

G_DEFINE_QUARK (xd - error - quark, xd_error)
