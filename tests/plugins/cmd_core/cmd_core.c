/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_core/cmd_core.c - declares a command of the core's own (run):
 * the loader rejects it.
 */
#include "plugin.h"

static const char *const cmd_core_commands[] = { "orders", "run", NULL };

/* Never runs. Returns SK_OK. */
static int cmd_core_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

/* Never runs. Returns 0. */
static int cmd_core_command(sk_plugin *p, int argc, char **argv)
{
	(void)p, (void)argc, (void)argv;
	return 0;
}

SK_PLUGIN(.name = "cmd_core", .version = "1.0", .init = cmd_core_init, .commands = cmd_core_commands,
	  .command = cmd_core_command);
