/* SPDX-License-Identifier: MIT */
/* plugins/hellocli/hellocli.c - the command-line example:
 *     shopkeep greet --config FILE NAME
 * prints "hello, NAME (account <id>)" and exits 0. It runs in its own short
 * process instead of init (plugin.h, COMMANDS): no session, no loop, but the
 * config, the database and the account work, and it may block. */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

#define HELLOCLI_USAGE "usage: shopkeep greet --config FILE NAME\n"

/* argv[0] is "greet", --config FILE already taken out. Returns the exit
 * status: 0 done, 2 a usage error (one line on stderr naming it). */
static int hellocli_command(sk_plugin *p, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(HELLOCLI_USAGE, stdout);
			return 0;
		}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "greet: %s (see --help)\n",
			argc < 2 ? "NAME is missing" : argv[1][0] == '-' ? "unknown option" : "one NAME only");
		return 2;
	}
	printf("hello, %s (account %s)\n", argv[1], sk_account_id(p));
	return 0;
}

/* Never called in a command process; a plugin with only commands has nothing
 * to start in the bot. */
static int hellocli_init(sk_plugin *p)
{
	(void)p;
	return SK_OK;
}

static const char *const hellocli_commands[] = { "greet", NULL };

SK_PLUGIN(.name = "hellocli", .version = "1.0", .description = "A command-line command",
	  .init = hellocli_init, .commands = hellocli_commands, .command = hellocli_command);
