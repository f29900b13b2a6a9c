/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/cmd_probe/cmd_probe.c - a plugin with a command-line command,
 * "probe", for tests/unit/test_host.c (host_command) and
 * tests/integration/test_commands.c (`shopkeep probe --config FILE ...`).
 *
 * The command prints to stdout, one item a line:
 *     argc=<n>
 *     argv[<i>]=<arg>                 for each argument, argv[0] = "probe"
 *     argv[argc]=NULL                 (or "=set" when it is not)
 *     label=<config label> account=<account id> rules=<rules path>
 *     services send=<rc> image=<rc> timer=<rc> sub=<rc> work=<rc> mtop=<rc> find=<rc> state=<n>
 * records "command", with its arguments joined by spaces, in cmd_probe_t,
 * and returns argc - 1 (the number of arguments after "probe"), or N for an
 * argument "ret=N".
 *
 * init never runs for a command: it records "init" in cmd_probe_t and
 * appends "init" to the file of config key flag_file, so a test can tell
 * that it did not. fini does the same with "fini".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

static const sk_config_key cmd_probe_keys[] = {
	{ .key = "label", .type = SK_CFG_STR, .help = "printed by the command" },
	{ .key = "flag_file", .type = SK_CFG_STR, .help = "init and fini append their name to it" },
	{ 0 }
};

static const char *const cmd_probe_migrations[] = {
	"CREATE TABLE cmd_probe_t(id INTEGER PRIMARY KEY, what TEXT NOT NULL, args TEXT NOT NULL DEFAULT '')",
	NULL
};

static const char *const cmd_probe_commands[] = { "probe", NULL };

/* Records what (with args) in cmd_probe_t; returns the rc. */
static int cmd_probe_record(sk_plugin *p, const char *what, const char *args)
{
	sk_value v[2] = { SK_VTEXT(what), SK_VTEXT(args) };

	return sk_db_exec(p, "INSERT INTO cmd_probe_t(what, args) VALUES(?1, ?2)", v, 2, NULL, NULL);
}

/* Appends what to the flag file, when one is configured. */
static void cmd_probe_flag(sk_plugin *p, const char *what)
{
	const char *path = sk_config_str(p, "flag_file", "");
	FILE *f;

	if (*path && (f = fopen(path, "a"))) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

static int cmd_probe_on_event(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)e, (void)ud;
	cmd_probe_flag(p, "event");
	return SK_PASS;
}

static void cmd_probe_on_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id, (void)ud;
	cmd_probe_flag(p, "timer");
}

static void cmd_probe_work(void *ud)
{
	(void)ud;
}

static int cmd_probe_init(sk_plugin *p)
{
	cmd_probe_flag(p, "init");
	return cmd_probe_record(p, "init", "");
}

static void cmd_probe_fini(sk_plugin *p)
{
	cmd_probe_flag(p, "fini");
	cmd_probe_record(p, "fini", "");
}

/* `shopkeep probe [args]`: see the top of the file. */
static int cmd_probe_command(sk_plugin *p, int argc, char **argv)
{
	char joined[1024] = "", uuid[40];
	int ret = argc - 1, send, image, timer, sub, work, mtop, find;
	size_t n = 0;

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++) {
		printf("argv[%d]=%s\n", i, argv[i]);
		n += (size_t)snprintf(joined + n, n < sizeof joined ? sizeof joined - n : 0, "%s%s", i ? " " : "",
				      argv[i]);
		if (!strncmp(argv[i], "ret=", 4))
			ret = atoi(argv[i] + 4);
	}
	printf("argv[argc]=%s\n", argv[argc] ? "set" : "NULL");
	printf("label=%s account=%s rules=%s\n", sk_config_str(p, "label", "(none)"), sk_account_id(p),
	       sk_rules_path(p));
	/* No session in a command: sends, work and mtop are refused, handlers
	 * and timers are accepted and never fire (they would touch flag_file). */
	send = sk_send_text(p, "c1", "b1", "from a command", "cmd:1", NULL, NULL, NULL, NULL);
	image = sk_send_image(p, "c1", "b1", "http://x/y.png", 1, 1, NULL, NULL, NULL, NULL, NULL);
	timer = sk_timer_add(p, 0, 0, cmd_probe_on_timer, NULL, NULL, NULL);
	sub = sk_subscribe(p, SK_MASK_ALL, NULL, 0, cmd_probe_on_event, NULL, NULL, NULL);
	work = sk_work(p, cmd_probe_work, NULL, NULL, NULL);
	mtop = sk_mtop(p, "mtop.cmd.probe", "{}", NULL, NULL, NULL);
	find = sk_send_find(p, "cmd:1", uuid, NULL, NULL);
	printf("services send=%d image=%d timer=%d sub=%d work=%d mtop=%d find=%d state=%d\n", send, image, timer, sub,
	       work, mtop, find, sk_session_state(p));
	fflush(stdout);
	if (cmd_probe_record(p, "command", joined) != SK_OK) {
		fprintf(stderr, "probe: cannot record the command\n");
		return 1;
	}
	return ret;
}

SK_PLUGIN(.name = "cmd_probe", .version = "1.0", .description = "a command-line command for the tests",
	  .init = cmd_probe_init, .fini = cmd_probe_fini, .config_keys = cmd_probe_keys,
	  .migrations = cmd_probe_migrations, .commands = cmd_probe_commands, .command = cmd_probe_command);
