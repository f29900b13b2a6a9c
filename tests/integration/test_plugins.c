/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_plugins.c - plugins in the real bot against the
 * simulator: hello answers "hello" on the wire; a plugin whose init fails is
 * left out while the others run; `shopkeep check` validates plugin sections.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000001"
#define HELLO_REPLY "hello! (from the hello plugin)"

static tc_sim sim;
static tbot bot;

/* A plugin dir in the bot's temp dir holding links to the built objects. */
static void link_plugins(char *dir, size_t n)
{
	const char *b = getenv("SK_BUILD");
	char cmd[1200];

	snprintf(dir, n, "%s/plugins", bot.dir);
	snprintf(cmd, sizeof cmd, "mkdir -p %s && ln -sf %s/plugins/hello.so %s/hello.so && "
		 "ln -sf %s/plugins/dedup.so %s/dedup.so && "
		 "ln -sf %s/tests/plugins/init_fails.so %s/init_fails.so", dir, b ? b : "build", dir,
		 b ? b : "build", dir, b ? b : "build", dir);
	if (system(cmd))
		diag("cannot link the plugins");
}

static void write_config(const char *plugin_dir, const char *load, const char *extra)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"plug\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s\",\"load\":[%s]},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}%s}\n", plugin_dir, load, extra ? extra : "");
	tbot_config(&bot, json);
}

/* Runs `shopkeep check` on the bot's config: its exit status; out gets stderr+stdout. */
static int check(char *out, size_t n)
{
	const char *b = getenv("SK_BUILD");
	char cmd[800];
	FILE *p;
	size_t got;

	snprintf(cmd, sizeof cmd, "%s/shopkeep check --config %s 2>&1", b ? b : "build", bot.cfg);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

int main(void)
{
	char dir[400], out[4096];
	int rc;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || tbot_init(&bot, &sim))
		return tap_done();
	link_plugins(dir, sizeof dir);

	write_config(dir, "\"hello\"", ",\"hello\":{\"bogus\":1}");
	rc = check(out, sizeof out);
	ok(rc == 1 && strstr(out, "hello.bogus"), "check: an undeclared key of a plugin's section is named (%d: %s)",
	   rc, out);

	write_config(dir, "\"dedup\",\"init_fails\",\"hello\"", NULL);
	rc = check(out, sizeof out);
	ok(rc == 0, "check: the config is valid (%s)", out);
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "bot: registered with plugins loaded");
	ok(tbot_log_has(&bot, "init_fails"), "bot: the plugin whose init fails is logged");
	ok(tbot_log_has(&bot, "2 of 3 plugins started"), "bot: the others still start");

	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"20001\",\"buyer\":\"40001\",\"text\":\"hello there\"}");
	ok(tsim_wait_delivered(&sim, HELLO_REPLY, 1, 4000), "hello: a buyer says hello, the reply goes out on the wire");
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"20001\",\"buyer\":\"40001\",\"text\":\"bye\"}");
	usleep(500000);
	is_int(tsim_delivered(&sim, HELLO_REPLY), 1, "hello: no reply to other texts, none to its own echo");
	ok(tbot_wait_ev(&bot, "\"kind\":\"send\"", "\"plugin\":\"hello\"", "\"ok\":true", 1, 2000),
	   "hello: the send is recorded as the plugin's");

	kill(bot.pid, SIGHUP);
	usleep(300000);
	ok(tbot_alive(&bot) && tbot_log_has(&bot, "SIGHUP: config ") && tbot_log_has(&bot, "plugins reload their files"),
	   "SIGHUP: the config is read again, plugins are told to reload, the bot runs on");

	/* the platform pushes the same messages again: dedup stops them before hello */
	tsim_ctl(&sim, "/replay", "{\"seller\":\"" UNB "\",\"n\":4}");
	usleep(800000);
	is_int(tsim_delivered(&sim, HELLO_REPLY), 1, "dedup: a re-pushed hello is not answered again");
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0 with plugins loaded");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0, "bot: registered again after a restart");
	tsim_ctl(&sim, "/replay", "{\"seller\":\"" UNB "\",\"n\":6}");
	usleep(800000);
	is_int(tsim_delivered(&sim, HELLO_REPLY), 1, "dedup: nor after a restart (SQLite)");
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0 again");
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
