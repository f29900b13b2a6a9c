/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_no_fn/cmd_no_fn.c - declares commands but no command
 * function: the loader rejects it.
 */
#include "plugin.h"

static const char *const cmd_no_fn_commands[] = { "nofn", NULL };

/* Never runs. Returns SK_OK. */
static int cmd_no_fn_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_PLUGIN(.name = "cmd_no_fn", .version = "1.0", .init = cmd_no_fn_init, .commands = cmd_no_fn_commands);
