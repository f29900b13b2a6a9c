/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_minor0/cmd_minor0.c - an ABI 1.0 descriptor whose first
 * spare slot (1.1's commands) holds a pointer to names that would be
 * rejected, and whose second (command) is NULL. A 1.0 plugin's spare slots
 * are not the loader's business: it loads, with no commands.
 */
#include "plugin.h"

static const char *const cmd_minor0_junk[] = { "Not A Command", "run", NULL };

/* Registers nothing; returns SK_OK. */
static int cmd_minor0_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

SK_EXPORT extern const sk_plugin_desc sk_plugin_entry;
SK_EXPORT const sk_plugin_desc sk_plugin_entry = {
	.abi_major = SK_ABI_MAJOR, .abi_minor = 0, .size = sizeof(sk_plugin_desc),
	.name = "cmd_minor0", .version = "1.0", .init = cmd_minor0_init, .commands = cmd_minor0_junk,
};
