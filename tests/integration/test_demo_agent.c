/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_demo_agent.c - make demo's AI bargaining, as the
 * demo runs it: the simulator with config/demo-scenario.json, the bot of
 * account demo configured from config/demo.json (its placeholders filled
 * as tests/sim/demo.sh fills them) with config/rules.example.json. 小张's
 * four asks about item 40006 (list 100元, floor 80元) are answered by the
 * simulator's default bargainer through the agent - 90, 八十一 - until its
 * quotes go below the floor: from then on floor_text, and no quote below
 * 80元 ever reaches the buyer. Issue 23's "done when": the demo shows a
 * bargaining conversation that stops at the floor.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CID "10007"
#define FLOOR_TEXT "这已经是最低价啦，不能再少了哦～"

static tc_sim sim;
static tbot bot;

/* Replaces every "from" in *s (malloc'd) by "to". */
static void replace(char **s, const char *from, const char *to)
{
	sbuf b = {0};
	const char *p = *s, *q;

	while ((q = strstr(p, from))) {
		sbuf_add(&b, p, (size_t)(q - p));
		sbuf_adds(&b, to);
		p = q + strlen(from);
	}
	sbuf_adds(&b, p);
	free(*s);
	*s = sbuf_take(&b);
}

int main(void)
{
	char path[600], port[16], cmd[1400], *conf = NULL, *t;
	const char *args[] = {"--no-pictures", "--scenario", path, NULL};
	const char *out = "";
	int n = 0, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof path, "%s/config/demo-scenario.json", tbot_root_dir());
	if (!ok(tc_sim_start(&sim, args) == 0, "simulator starts with the demo scenario") || tbot_init(&bot, &sim))
		return tap_done();
	snprintf(path, sizeof path, "%s/config/demo.json", tbot_root_dir());
	{
		FILE *f = fopen(path, "r");
		sbuf b = {0};
		char chunk[4096];
		size_t k;

		while (f && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
			sbuf_add(&b, chunk, k);
		if (f)
			fclose(f);
		conf = sbuf_take(&b);
	}
	if (!ok(conf && strstr(conf, "\"agent\""), "config/demo.json loads the agent"))
		goto out;
	snprintf(cmd, sizeof cmd, "%s/plugins", tbot_build_dir());
	t = realpath(cmd, NULL);
	replace(&conf, "@PLUGINS@", t ? t : cmd);
	free(t);
	snprintf(cmd, sizeof cmd, "cp '%s/config/rules.example.json' '%s/rules.json'", tbot_root_dir(), bot.dir);
	tbot_sh(cmd, &st);
	snprintf(cmd, sizeof cmd, "%s/rules.json", bot.dir);
	replace(&conf, "@RULES@", cmd);
	snprintf(port, sizeof port, "%d", tbot_free_port());
	replace(&conf, "@WEBPORT@", port);
	snprintf(cmd, sizeof cmd, "%s/web", tbot_root_dir());
	replace(&conf, "@WEBROOT@", cmd);
	replace(&conf, "@ID@", "demo");
	replace(&conf, "@UNB@", "2200000000001");
	tbot_config(&bot, conf);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 8000) >= 0, "the demo account's bot registers"))
		goto out;
	/* the scenario's bargaining starts about 15 s after the registration */
	for (int i = 0; i < 900 && n < 4; i++) {
		usleep(100000);
		out = tsim_said(&sim, CID, &n);
	}
	usleep(1500000);
	out = tsim_said(&sim, CID, &n);
	diag("小张's chat: %s", out);
	is_int(n, 4, "four asks, four answers");
	ok(!strncmp(out, "最低90元，不能再少啦|", strlen("最低90元，不能再少啦|")), "the first answer is the model's 90元");
	ok(strstr(out, "|八十一块吧") != NULL, "then its 八十一 (above the floor, in Chinese numerals)");
	ok(!strstr(out, "73") && !strstr(out, "七十三") && !strstr(out, "66") && !strstr(out, "六十六"),
	   "no quote below the 80元 floor reaches the buyer");
	ok(strlen(out) > strlen(FLOOR_TEXT) && !strcmp(out + strlen(out) - strlen(FLOOR_TEXT), FLOOR_TEXT),
	   "the conversation ends with floor_text");
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' ctl --config '%s' agent_decisions '{\"limit\":20,\"chat_id\":\""
		 CID "\"}' 2>&1", tbot_build_dir(), bot.cfg);
	out = tbot_sh(cmd, &st);
	{
		cJSON *j = cJSON_Parse(out), *d;
		int model = 0, floor = 0;

		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "decisions")) {
			model += tc_jstr(d, "verdict") && !strcmp(tc_jstr(d, "verdict"), "model");
			floor += tc_jstr(d, "verdict") && !strcmp(tc_jstr(d, "verdict"), "floor");
		}
		ok(st == 0 && model == 2 && floor == 2,
		   "agent_decisions: the model's two answers, then two floor verdicts (%d, %d)", model, floor);
		if (model != 2 || floor != 2)
			diag("%.600s", out);
		cJSON_Delete(j);
	}
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0");
out:
	free(conf);
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
