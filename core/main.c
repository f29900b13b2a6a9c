/* SPDX-License-Identifier: MIT */
/*
 * core/main.c - the shopkeep command line: `check` validates a config, `run`
 * loads one and hands it to run_main (core/run.c). Exit status: 0 success, 1 a
 * bad config, 2 a usage error (or whatever run_main returns).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "host.h"
#include "run.h"
#include "util.h"

static const char main_usage[] =
	"usage: shopkeep <command> [options]\n"
	"\n"
	"commands:\n"
	"  run --config FILE     run one account in the foreground until SIGINT/SIGTERM\n"
	"  check --config FILE   validate a config: prints \"config OK\" or one error per line\n"
	"\n"
	"`shopkeep <command> --help` describes a command.\n";

static const char main_run_usage[] =
	"usage: shopkeep run --config FILE\n"
	"\n"
	"Runs the account of FILE (JSON) in the foreground until SIGINT or SIGTERM.\n"
	"The config is validated first, as by `shopkeep check`; a bad config exits 1.\n";

static const char main_check_usage[] =
	"usage: shopkeep check --config FILE\n"
	"\n"
	"Validates FILE (JSON). Prints \"config OK\" and exits 0, or prints every\n"
	"problem, one \"<key>: <reason>\" per line on stderr, and exits 1.\n";

/* Reads the options of a command (only --config FILE, --config=FILE and
 * --help). Returns 0 with *path set, 1 when help was printed, 2 on a usage
 * error (already reported). */
static int main_options(const char *cmd, const char *usage, int argc, char **argv, const char **path)
{
	int i;

	*path = NULL;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 1;
		} else if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "shopkeep %s: %s needs a FILE\n", cmd, a);
				return 2;
			}
			*path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			*path = a + 9;
		} else if (a[0] == '-') {
			fprintf(stderr, "shopkeep %s: unknown option '%s' (try shopkeep %s --help)\n", cmd, a, cmd);
			return 2;
		} else {
			fprintf(stderr, "shopkeep %s: unexpected argument '%s' (try shopkeep %s --help)\n", cmd, a, cmd);
			return 2;
		}
	}
	if (!*path || !**path) {
		fprintf(stderr, "shopkeep %s: --config FILE is required (try shopkeep %s --help)\n", cmd, cmd);
		return 2;
	}
	return 0;
}

/* Loads and validates path; prints the errors to stderr. Returns 0 or 1. */
static int main_load(const char *path, config *c)
{
	sbuf errs = { 0 };
	int rc = config_load(path, c, &errs);

	if (rc) {
		fputs(errs.p ? errs.p : "", stderr);
		if (errs.oom || !errs.len)
			fprintf(stderr, "%s: invalid config (out of memory while reporting)\n", path);
	}
	sbuf_free(&errs);
	return rc ? 1 : 0;
}

/* Returns the exit status of the command line. */
int main(int argc, char **argv)
{
	const char *cmd, *path;
	config c;
	int rc;

	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "check")) {
		rc = main_options(cmd, main_check_usage, argc - 2, argv + 2, &path);
		if (rc)
			return rc == 1 ? 0 : 2;
		rc = main_load(path, &c);
		if (!rc && c.n_plugins) {
			/* each plugin's section against the keys it declares */
			sbuf errs = { 0 };

			if (host_check_config(c.plugins_dir, c.plugins_load, c.plugin_sections, &errs)) {
				fputs(errs.p ? errs.p : "plugins: cannot check\n", stderr);
				rc = 1;
			}
			sbuf_free(&errs);
		}
		if (!rc)
			puts("config OK");
		config_free(&c);
		return rc;
	}
	if (!strcmp(cmd, "run")) {
		rc = main_options(cmd, main_run_usage, argc - 2, argv + 2, &path);
		if (rc)
			return rc == 1 ? 0 : 2;
		rc = main_load(path, &c);
		if (!rc)
			rc = run_main(&c);
		config_free(&c);
		return rc;
	}
	fprintf(stderr, "shopkeep: unknown %s '%s' (try shopkeep --help)\n",
		cmd[0] == '-' ? "option" : "command", cmd);
	return 2;
}
