/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_dup/cmd_dup.c - declares the same command twice:
 * the loader rejects it.
 */
#include "plugin.h"

static const char *const cmd_dup_commands[] = { "x-1", "y_2", "x-1", NULL };

/* Never runs. Returns SK_OK. */
static int cmd_dup_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

/* Never runs. Returns 0. */
static int cmd_dup_command(sk_plugin *p, int argc, char **argv)
{
	(void)p, (void)argc, (void)argv;
	return 0;
}

SK_PLUGIN(.name = "cmd_dup", .version = "1.0", .init = cmd_dup_init, .commands = cmd_dup_commands,
	  .command = cmd_dup_command);
