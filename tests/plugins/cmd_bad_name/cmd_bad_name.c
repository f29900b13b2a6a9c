/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_bad_name/cmd_bad_name.c - declares a command name that is not [a-z][a-z0-9_-]*:
 * the loader rejects it.
 */
#include "plugin.h"

static const char *const cmd_bad_name_commands[] = { "stock", "Import", NULL };

/* Never runs. Returns SK_OK. */
static int cmd_bad_name_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

/* Never runs. Returns 0. */
static int cmd_bad_name_command(sk_plugin *p, int argc, char **argv)
{
	(void)p, (void)argc, (void)argv;
	return 0;
}

SK_PLUGIN(.name = "cmd_bad_name", .version = "1.0", .init = cmd_bad_name_init, .commands = cmd_bad_name_commands,
	  .command = cmd_bad_name_command);
