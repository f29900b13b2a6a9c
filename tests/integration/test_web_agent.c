/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_agent.c - the AI assistant screen of the page
 * (web/agent.js) in headless Chromium against the real bot (dedup, items,
 * agent) and the simulator: tests/browser/agent_test.mjs checks the screen
 * when the agent's commands answer 404, the settings (the API key
 * write-only and masked, an extra header kept as "****", a bad value
 * refused with its field marked), the items (add, edit, a bad floor,
 * delete), the prompts (edit, reset, read-only), a turn made through
 * agent_take in the recent decisions (the model's base_url is a closed
 * port: the fallback reply) with its verdict pill and chat link, zh and en,
 * desktop and 390 px, with screenshots in build/web-agent*.png. Each
 * "ok - ..." / "not ok - ..." line of the script becomes a check here; then
 * the API key and the header's value are looked for in the bot's log (never
 * there) and the key in state.db (sealed, never in plain text).
 */
#include "web_driver.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define UNB "2200000000093"
#define KEY_PART "SECRET-0123456789"
#define HDR_VALUE "hdrsecret-778899"

int main(void)
{
	char env[3000], extra[1200], prompts[600], db[600], out[4096], sql[200];
	char shot[600], phone[600], en[600], enphone[600];
	const char *shots[4];
	struct stat sb;
	web_result r;
	web_run w;
	int closed;
	FILE *f;

	if (web_begin(&w) < 0)
		return tap_done();
	/* nothing listens there: every model call fails, every turn is a fallback */
	closed = tbot_free_port();
	snprintf(prompts, sizeof prompts, "%s/prompts", w.bot.dir);
	mkdir(prompts, 0700);
	/* an empty rules file: no keyword rule (the status shows no broken rules) */
	snprintf(db, sizeof db, "%s/rules.json", w.bot.dir);
	if ((f = fopen(db, "w"))) {
		fputs("{}\n", f);
		fclose(f);
	}
	snprintf(extra, sizeof extra,
		 " \"agent\":{\"base_url\":\"http://127.0.0.1:%d/v1\",\"model\":\"page-test-model\",\"timeout_ms\":2000,\n"
		 "  \"prompts_dir\":\"%s\"},\n", closed, prompts);
	web_config(&w, "agent", "\"dedup\",\"items\",\"agent\"", extra);
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	shots[0] = web_shot(&w, shot, sizeof shot, "web-agent.png");
	shots[1] = web_shot(&w, phone, sizeof phone, "web-agent-phone.png");
	shots[2] = web_shot(&w, en, sizeof en, "web-agent-en.png");
	shots[3] = web_shot(&w, enphone, sizeof enphone, "web-agent-en-phone.png");
	snprintf(env, sizeof env, "SK_SELLER=" UNB " SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_EN='%s' SK_SHOT_EN_PHONE='%s'",
		 shots[0], shots[1], shots[2], shots[3]);
	if (web_node(&w, "agent_test.mjs", env, 150, &r) < 0)
		goto out;
	ok(r.checks >= 60, "the agent screen test ran its checks (%d)", r.checks);
	ok(web_exit_ok(&r), "the agent screen test exited %d", web_exit_code(&r));
	for (int i = 0; i < 4; i++)
		ok(stat(shots[i], &sb) == 0 && sb.st_size > 1000, "the screenshot %s is there", shots[i]);
	ok(!tbot_log_has(&w.bot, KEY_PART) && !tbot_log_has(&w.bot, HDR_VALUE),
	   "the API key and the header's value are not in the bot's log");
	snprintf(db, sizeof db, "%s/state.db", w.bot.dir);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_setting WHERE value LIKE '%%%s%%'", KEY_PART);
	out[0] = '\0';
	ok(tbot_db_text(db, sql, out, sizeof out) == 0 && !strcmp(out, "0"),
	   "state.db does not hold the API key in plain text (%s)", out);
	ok(tbot_alive(&w.bot), "the bot still runs");
out:
	return web_end(&w);
}
