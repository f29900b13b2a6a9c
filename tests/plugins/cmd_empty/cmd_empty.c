/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_empty/cmd_empty.c - declares a commands list without a single name:
 * the loader rejects it.
 */
#include "plugin.h"

static const char *const cmd_empty_commands[] = { NULL };

/* Never runs. Returns SK_OK. */
static int cmd_empty_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

/* Never runs. Returns 0. */
static int cmd_empty_command(sk_plugin *p, int argc, char **argv)
{
	(void)p, (void)argc, (void)argv;
	return 0;
}

SK_PLUGIN(.name = "cmd_empty", .version = "1.0", .init = cmd_empty_init, .commands = cmd_empty_commands,
	  .command = cmd_empty_command);
