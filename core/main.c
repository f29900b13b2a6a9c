/* SPDX-License-Identifier: MIT */
/*
 * core/main.c - the shopkeep command. Until the core (issue 3) lands this is a
 * placeholder that says so: it never pretends to run an account.
 */
#include <stdio.h>
#include <string.h>

static const char *usage =
	"usage: shopkeep <command> [options]\n"
	"  run --config FILE     run one account in the foreground (not built yet)\n"
	"  check --config FILE   validate a config (not built yet)\n";

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	fprintf(stderr, "shopkeep: '%s' is not available yet: the core is still being built\n", argv[1]);
	return 2;
}
