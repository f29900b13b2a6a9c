/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_reload.c - SIGHUP reloads the live config, not only
 * the rules: the real bot (dedup + autoreply) against the simulator.
 *   - a plugin's section (autoreply.enabled) is taken at once;
 *   - log.level is taken at once;
 *   - a key that needs a restart (web.listen) is named in a warning, not taken;
 *   - a broken file, or a plugin section with an unknown key, changes
 *     nothing: the bot goes on with what it had, and says why.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000078"

static tc_sim sim;
static tbot bot;

/* Writes the config with the given autoreply section, log level and web.listen. */
static void config(const char *autoreply, const char *level, const char *listen)
{
	const char *build = getenv("SK_BUILD");
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"hup\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"%s\"},\n"
		 " \"log\":{\"level\":\"%s\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":%s,\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 listen, level, build ? build : "build", autoreply);
	tbot_config(&bot, json);
}

static void inject(const char *cid, const char *text)
{
	char b[300];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* Counts the bot log's lines holding needle. */
static int log_count(const char *needle)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(bot.log, "r");

	while (f && fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* SIGHUP, then waits until the log has one more line with needle. */
static int hup(const char *needle)
{
	int n0 = log_count(needle);

	kill(bot.pid, SIGHUP);
	for (int i = 0; i < 50; i++) {
		if (log_count(needle) > n0)
			return 1;
		usleep(50000);
	}
	return 0;
}

static int reply_after(const char *cid, const char *text, int want)
{
	char r[200];

	inject(cid, text);
	snprintf(r, sizeof r, "got: %s", text);
	if (want)
		return tsim_wait_delivered(&sim, r, 1, 4000);
	usleep(800000);
	return tsim_delivered(&sim, r) == 0;
}

int main(void)
{
	char rules[400];
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(!tbot_init(&bot, &sim), "temp dir"))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	if ((f = fopen(rules, "w"))) {
		fputs("{\"default_reply\":{\"reply\":\"got: {message}\"}}\n", f);
		fclose(f);
	}
	config("{\"debounce_ms\":0}", "info", "off");
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers"))
		goto out;
	ok(reply_after("80001", "one", 1), "autoreply answers");

	config("{\"debounce_ms\":0,\"enabled\":false}", "info", "off");
	ok(hup("SIGHUP: config "), "SIGHUP: the config is read again");
	ok(reply_after("80002", "two", 0), "SIGHUP: autoreply.enabled false is taken at once: no reply");
	is_int(log_count("only taken at the next start"), 0, "SIGHUP: nothing that needs a restart changed");

	config("{\"debounce_ms\":0,\"enabled\":true}", "debug", "off");
	ok(hup("SIGHUP: config "), "SIGHUP: enabled again, log.level debug");
	ok(reply_after("80003", "three", 1), "SIGHUP: answers again");
	/* (the echo of the reply has its own DEBUG line, chat=80003 too) */
	ok(log_count("DEBUG event: chat_text chat=80003 text=three") >= 1, "SIGHUP: log.level debug is taken at once");

	config("{\"debounce_ms\":0,\"enabled\":true}", "info", "127.0.0.1:1");
	ok(hup("only taken at the next start: web.listen"), "SIGHUP: web.listen is named as needing a restart");
	ok(tbot_alive(&bot), "SIGHUP: and the bot goes on");

	/* a broken file: nothing taken (enabled stays true) */
	tbot_config(&bot, "{\"account\":{\"id\":\"hup\",");
	ok(hup("has errors, nothing of it is taken"), "SIGHUP: a broken file is refused, and the log says so");
	ok(reply_after("80004", "four", 1), "SIGHUP: the bot goes on with the config it had");

	/* a plugin section with an unknown key: nothing taken, not even enabled:false */
	config("{\"debounce_ms\":0,\"enabled\":false,\"nope\":1}", "info", "off");
	ok(hup("autoreply.nope: unknown key"), "SIGHUP: an unknown key of a plugin's section is refused by name");
	ok(reply_after("80005", "five", 1), "SIGHUP: and none of that file is taken");
	ok(tbot_alive(&bot), "the bot still runs");
	is_int(log_count("0123456789abcdef0123456789abcdef"), 0, "log: the cookie's token never reached the log (also at debug)");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
out:
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
