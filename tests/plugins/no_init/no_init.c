/* SPDX-License-Identifier: MIT */
/* tests/plugins/no_init/no_init.c - a descriptor without init. */
#include "plugin.h"

SK_PLUGIN(.name = "no_init", .version = "1.0", .description = "forgot its init");
