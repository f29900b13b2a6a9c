/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_dash.c - the overview, the alerts screen and
 * the live events after a reload (web/dashboard.js, web/alerts.js,
 * web/events.js) in headless Chromium against the real bot (dedup, notify,
 * autoreply, orders, items) and the simulator: tests/browser/dash_test.mjs
 * plays a day (a question answered by a rule, a buyer asking for 人工, an
 * order paid and delivered from a card that runs low), compares the
 * overview with the commands' answers, sets, masks, refuses and clears the
 * alert settings, sends a test alert to the simulator's /webhook, reloads
 * the page, switches the language and takes screenshots into
 * build/web-dash.png, web-dash-phone.png, web-dash-en.png,
 * web-alerts-phone.png and web-events-en.png. Each "ok - ..." / "not ok - ..." line the script
 * prints becomes a check here; then the webhook secrets are looked for in
 * the bot's log (never there).
 */
#include "web_driver.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define UNB "2200000000093"

static const char rules_json[] =
	"{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"五元一张\"}],\n"
	" \"handover\":{\"enabled\":true,\"words\":[\"人工\"],\"text\":\"好的，已通知卖家本人，请稍等～\",\"pause_s\":3600},\n"
	" \"cards\":[{\"name\":\"dash-card\",\"type\":\"stock\",\"template\":\"卡密：{code}\",\"low_stock\":5}],\n"
	" \"delivery\":[{\"item_id\":\"40004\",\"spec\":null,\"card\":\"dash-card\"}]}\n";

int main(void)
{
	char env[3000], shot[600], phone[600], en[600], alerts[600], events[600], rules[600];
	const char *shots[5];
	struct stat sb;
	web_result r;
	web_run w;
	FILE *f;

	if (web_begin(&w) < 0)
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", w.bot.dir);
	f = fopen(rules, "w");
	if (f) {
		fputs(rules_json, f);
		fclose(f);
	}
	/* notify without a URL: the page sets it (retries quick for the test) */
	web_config(&w, "dash", "\"dedup\",\"notify\",\"autoreply\",\"orders\",\"items\"",
		   " \"notify\":{\"retry_base_ms\":300,\"retry_max_s\":2,\"dedup_s\":0},\n");
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	shots[0] = web_shot(&w, shot, sizeof shot, "web-dash.png");
	shots[1] = web_shot(&w, phone, sizeof phone, "web-dash-phone.png");
	shots[2] = web_shot(&w, en, sizeof en, "web-dash-en.png");
	shots[3] = web_shot(&w, alerts, sizeof alerts, "web-alerts-phone.png");
	shots[4] = web_shot(&w, events, sizeof events, "web-events-en.png");
	snprintf(env, sizeof env, "SK_SELLER=" UNB " SK_SIM_PORT=%d SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_EN='%s' "
		 "SK_SHOT_ALERTS='%s' SK_SHOT_EVENTS='%s'", w.sim.port, shots[0], shots[1], shots[2], shots[3], shots[4]);
	if (web_node(&w, "dash_test.mjs", env, 150, &r) < 0)
		goto out;
	ok(r.checks >= 50, "the dashboard test ran its checks (%d)", r.checks);
	ok(web_exit_ok(&r), "the dashboard test exited %d", web_exit_code(&r));
	for (int i = 0; i < 5; i++)
		ok(stat(shots[i], &sb) == 0 && sb.st_size > 1000, "the screenshot %s is there", shots[i]);
	ok(!tbot_log_has(&w.bot, "dashsecret0123456789") && !tbot_log_has(&w.bot, "dashtoken-abcdef"),
	   "the webhook URL's token and the header are not in the bot's log");
	ok(tbot_alive(&w.bot), "the bot still runs");
out:
	return web_end(&w);
}
