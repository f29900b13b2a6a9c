/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hellocli.c - plugins/hellocli's command run through the
 * real host in command mode (host_command, as `shopkeep greet` does): it
 * prints its greeting with the account, --help prints the usage, a usage
 * error exits 2 with one line on stderr.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1024], err[1024];

/* Runs argv through host_command with plugins hellocli then hello from
 * build/plugins; stdout goes to out, stderr to err (less the fake host's log).
 * Returns the status. */
static int run(fh *f, int argc, char **argv)
{
	char dir[512], line[512];
	const char *const names[] = { "hello", "hellocli", NULL };
	FILE *o = tmpfile(), *e = tmpfile();
	int so = dup(1), se = dup(2), rc;
	sbuf errs = { 0 };
	size_t n;

	fh_build_path(dir, sizeof dir, "plugins");
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	rc = host_command(fh_host(f), dir, (char *const *)names, argc, argv, &errs);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	rewind(o);
	rewind(e);
	n = fread(out, 1, sizeof out - 1, o);
	out[n] = '\0';
	/* stderr without the fake host's own log lines ("fakehost: ...") */
	err[0] = '\0';
	while (fgets(line, sizeof line, e))
		if (strncmp(line, "fakehost: ", 10) != 0)
			strncat(err, line, sizeof err - strlen(err) - 1);
	fclose(o);
	fclose(e);
	if (errs.len)
		diag("errs: %.*s", (int)errs.len, errs.p);
	sbuf_free(&errs);
	return rc;
}

int main(void)
{
	fh *f = fh_new("{\"hellocli\":{},\"hello\":{}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	is_int(run(f, 2, (char *[]){ "greet", "Ada", NULL }), 0, "greet Ada exits 0");
	is_str(out, "hello, Ada (account " FH_ACCOUNT ")\n", "and prints the greeting with the account");
	is_str(err, "", "nothing on stderr");

	is_int(run(f, 3, (char *[]){ "greet", "x", "--help", NULL }), 0, "--help anywhere exits 0");
	is_str(out, "usage: shopkeep greet --config FILE NAME\n", "with the usage on stdout");

	is_int(run(f, 1, (char *[]){ "greet", NULL }), 2, "no NAME: a usage error, 2");
	is_str(err, "greet: NAME is missing (see --help)\n", "one line on stderr naming it");
	is_str(out, "", "nothing on stdout");
	is_int(run(f, 3, (char *[]){ "greet", "a", "b", NULL }), 2, "two names: 2");
	is_int(run(f, 2, (char *[]){ "greet", "--shout", NULL }), 2, "an unknown option: 2");
	ok(strstr(err, "unknown option") != NULL, "named as an unknown option");

	is_int(run(f, 1, (char *[]){ "nosuch", NULL }), -1, "a command no plugin declares: -1, nothing run");
	is_int(host_plugins(fh_host(f))[0] == NULL, 1, "no plugin left running");
	fh_free(f);
	return tap_done();
}
