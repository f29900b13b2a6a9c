/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_cli.c - the command line of build/shopkeep: every
 * command's --help (and -h) prints its usage on stdout and exits 0, the
 * plugin commands' too (with --config; without it, how to get it); an
 * unknown option or a missing argument exits 2 with one line on stderr that
 * names it and points to --help, nothing on stdout; control.socket is
 * validated like every other key.
 */
#include "sim/tbot.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *build;
static char dir[64], cfg[128];
static char out[16384], err[16384];

/* Runs `shopkeep <args>` (args as the shell reads them; @CFG@ is the test's
 * config): out and err get what it printed, the return is its exit status
 * (-1 when it did not exit). */
static int sk(const char *args)
{
	char cmd[2048], a[1024], o[128], e[128];
	const char *at = strstr(args, "@CFG@");
	int st;

	if (at)
		snprintf(a, sizeof a, "%.*s%s%s", (int)(at - args), args, cfg, at + 5);
	else
		snprintf(a, sizeof a, "%s", args);
	snprintf(o, sizeof o, "%s/out", dir);
	snprintf(e, sizeof e, "%s/err", dir);
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' %s </dev/null >'%s' 2>'%s'", build, a, o, e);
	st = system(cmd);
	tbot_slurp(o, out, sizeof out);
	tbot_slurp(e, err, sizeof err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Lines in s. */
static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* `shopkeep <args>` prints a usage starting with want on stdout, nothing on stderr, and exits 0. */
static void help(const char *args, const char *want)
{
	int st = sk(args);

	if (!ok(st == 0 && !strncmp(out, want, strlen(want)) && !err[0], "shopkeep %s: usage on stdout, exit 0", args))
		diag("exit %d, stdout: %.120s, stderr: %.200s", st, out, err);
}

/* `shopkeep <args>` exits 2 with one line on stderr holding what (and
 * "--help"), nothing on stdout. */
static void usage_error(const char *args, const char *what)
{
	int st = sk(args);

	if (!ok(st == 2 && lines(err) == 1 && strstr(err, what) && strstr(err, "--help") && !out[0],
		"shopkeep %s: exit 2, one line naming %s", args, what))
		diag("exit %d, stdout: %.120s, stderr: %.300s", st, out, err);
}

/* Writes the test's config with extra JSON members added at its end. */
static void config(const char *extra)
{
	FILE *f = fopen(cfg, "w");

	if (!f)
		return;
	fprintf(f, "{\"account\":{\"id\":\"cli\",\"cookie\":\"unb=2200000000081\"},\"state\":{\"db\":\"state.db\"},"
		"\"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"orders\"]},\"web\":{\"listen\":\"off\"}%s}\n", build,
		extra);
	fclose(f);
}

int main(void)
{
	char tmpl[] = "/tmp/sk-cli-XXXXXX", cmd[200], longp[300];
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	build = getenv("SK_BUILD") ? getenv("SK_BUILD") : "build";
	if (!ok(mkdtemp(tmpl) != NULL, "temp dir"))
		return tap_done();
	snprintf(dir, sizeof dir, "%s", tmpl);
	snprintf(cfg, sizeof cfg, "%s/cli.json", dir);
	config("");

	/* --help everywhere */
	help("--help", "usage: shopkeep <command>");
	help("-h", "usage: shopkeep <command>");
	help("help", "usage: shopkeep <command>");
	ok(strstr(out, "status --config FILE") && strstr(out, "ctl --config FILE"), "the main usage lists status and ctl");
	help("run --help", "usage: shopkeep run ");
	help("run -h", "usage: shopkeep run ");
	help("run --daemon --help", "usage: shopkeep run ");
	help("check --help", "usage: shopkeep check ");
	help("passwd --help", "usage: shopkeep passwd ");
	help("secret --help", "usage: shopkeep secret ");
	help("secret set --help", "usage: shopkeep secret set ");
	help("status --help", "usage: shopkeep status ");
	help("status -h", "usage: shopkeep status ");
	help("ctl --help", "usage: shopkeep ctl ");
	help("backup --help", "usage: shopkeep backup ");
	help("stock --help --config @CFG@", "usage: shopkeep stock import");
	help("stock list --help --config @CFG@", "usage: shopkeep stock import");
	help("stock import -h --config @CFG@", "usage: shopkeep stock import");
	help("orders --help --config @CFG@", "usage: shopkeep orders list");
	help("orders list -h --config @CFG@", "usage: shopkeep orders list");
	st = sk("stock --help");
	ok(st == 0 && strstr(out, "shopkeep stock --help --config FILE") && !err[0],
	   "shopkeep stock --help without a config: says how to get it, exit 0");

	/* unknown options */
	usage_error("--bogus", "'--bogus'");
	usage_error("run --bogus", "'--bogus'");
	usage_error("check --bogus", "'--bogus'");
	usage_error("passwd --bogus", "'--bogus'");
	usage_error("secret --bogus", "'--bogus'");
	usage_error("secret set --bogus", "'--bogus'");
	usage_error("status --bogus", "'--bogus'");
	usage_error("status --config @CFG@ --verbose", "'--verbose'");
	usage_error("ctl --config @CFG@ --json status", "'--json'");
	usage_error("stock list --bogus --config @CFG@", "'--bogus'");
	usage_error("stock import --card x --bogus f --config @CFG@", "'--bogus'");
	usage_error("orders list --card x --config @CFG@", "'--card'");

	/* missing or bad arguments */
	usage_error("", "shopkeep <command>");
	usage_error("run", "--config FILE");
	usage_error("run --config", "--config needs a FILE");
	usage_error("run --config @CFG@ --pidfile", "--pidfile needs a PATH");
	usage_error("check", "--config FILE");
	usage_error("passwd --config", "--config needs a FILE");
	usage_error("secret", "which subcommand");
	usage_error("secret frob", "'frob'");
	usage_error("secret set --config @CFG@", "which secret");
	usage_error("status", "--config FILE");
	usage_error("status --config @CFG@ --timeout", "--timeout");
	usage_error("status --config @CFG@ --timeout 0", "--timeout");
	usage_error("status --config @CFG@ extra", "'extra'");
	usage_error("ctl --config @CFG@", "which command");
	usage_error("backup --config @CFG@", "DEST");
	usage_error("backup --config @CFG@ a b", "b");
	usage_error("ctl --config @CFG@ send '[1]'", "DATA");
	usage_error("stock --config @CFG@", "which subcommand");
	usage_error("stock frob --config @CFG@", "'frob'");
	usage_error("stock import --config @CFG@", "--card NAME");
	usage_error("stock import --card --config @CFG@", "--card needs a NAME");
	usage_error("stock import --card x --config @CFG@", "CODES_FILE");
	usage_error("orders --config @CFG@", "which subcommand");
	usage_error("orders list --limit --config @CFG@", "--limit");
	usage_error("orders list --limit 0 --config @CFG@", "--limit");
	usage_error("orders list extra --config @CFG@", "'extra'");

	/* control.socket is a key like the others */
	config(",\"control\":{\"socket\":\"off\"}");
	ok(sk("check --config @CFG@") == 0 && strstr(out, "config OK"), "control.socket \"off\" is valid");
	config(",\"control\":{\"socket\":\"here.sock\"}");
	ok(sk("check --config @CFG@") == 0, "control.socket: a path is valid");
	memset(longp, 'a', 120);
	longp[120] = '\0';
	snprintf(cmd, sizeof cmd, ",\"control\":{\"socket\":\"/tmp/%s.sock\"}", longp);
	config(cmd);
	st = sk("check --config @CFG@");
	ok(st == 1 && strstr(err, "control.socket: the path is") && !strstr(err, longp),
	   "a path longer than a unix socket's: an error naming the key, not the value (%.100s)", err);
	config(",\"control\":{\"socket\":7}");
	ok(sk("check --config @CFG@") == 1 && strstr(err, "control.socket: must be a non-empty string"),
	   "control.socket must be a string");
	config(",\"control\":{\"path\":\"x\"}");
	ok(sk("check --config @CFG@") == 1 && strstr(err, "control.path: unknown key"), "an unknown control key is an error");
	config("");

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (!tap_failed && system(cmd))
		diag("could not remove %s", dir);
	return tap_done();
}
