/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_no_list/cmd_no_list.c - gives a command function but
 * declares no commands: the loader rejects it.
 */
#include "plugin.h"

/* Never runs. Returns SK_OK. */
static int cmd_no_list_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

/* Never runs. Returns 0. */
static int cmd_no_list_command(sk_plugin *p, int argc, char **argv)
{
	(void)p, (void)argc, (void)argv;
	return 0;
}

SK_PLUGIN(.name = "cmd_no_list", .version = "1.0", .init = cmd_no_list_init, .command = cmd_no_list_command);
