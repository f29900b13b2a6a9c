/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_seller_flow.c - issue 21's "done when": what a
 * new seller does, on the page only, in headless Chromium against the real
 * bot and the simulator (tests/browser/seller_flow.mjs): log in with the
 * setup token, refresh the items, create a stock card, import codes, bind
 * the card to an item picked by its title and spec, save; a buyer pays (a
 * simulator call); the code arrives in the chat; the order row shows the
 * item's title, the amount and the masked code; reveal it; resend it (a
 * second message with the same code); a second order finds no stock: the
 * row and the buyer's notice say so, and it is delivered after an import on
 * the stock screen. The list checks run at desktop width and at 390 px;
 * screenshots build/web-orders.png, build/web-orders-phone.png and
 * build/web-seller-flow*.png. The item pictures (https://img.alicdn.com/...)
 * are served by the script from a local PNG (no internet).
 *
 * Each "ok - ..." / "not ok - ..." line of the script becomes a check here;
 * a script that dies, hangs or prints nothing fails. A step that needs a
 * part of issue 21 this build lacks prints "# skip: <what is missing>".
 */
#include "web_driver.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNB "2200000000077"

/* The simulator's items of the flow: a card item with two specs (the flow
 * binds one of them) and a plain item beside it, each with a picture on the
 * platform's image host. */
static int define_items(tc_sim *sim)
{
	int a = tsim_ctl(sim, "/item",
			 "{\"item_id\":\"61001\",\"title\":\"爱奇艺黄金会员月卡\",\"desc\":\"自动发货\",\"price\":1990,"
			 "\"quantity\":50,\"pic_url\":\"https://img.alicdn.com/bao/uploaded/flow-61001.png\","
			 "\"skus\":[{\"spec\":\"时长:1个月\",\"price\":1990,\"quantity\":30},"
			 "{\"spec\":\"时长:3个月\",\"price\":5490,\"quantity\":20}]}");
	int b = tsim_ctl(sim, "/item",
			 "{\"item_id\":\"61002\",\"title\":\"手机壳（实物）\",\"desc\":\"\",\"price\":1500,\"quantity\":5,"
			 "\"pic_url\":\"https://img.alicdn.com/bao/uploaded/flow-61002.png\"}");

	return a == 200 && b == 200 ? 0 : -1;
}

int main(void)
{
	char cmd[2000], env[1000], path[600], load[300];
	struct stat sb;
	web_result r;
	web_run w;

	if (web_begin(&w) < 0)
		return tap_done();
	ok(define_items(&w.sim) == 0, "the simulator has the seller's items");
	/* a new seller: a rules file with nothing in it yet */
	snprintf(cmd, sizeof cmd, "printf '{}\\n' > '%s/rules.json'", w.bot.dir);
	if (system(cmd) != 0)
		diag("cannot write the rules file");
	/* the items plugin when this build has it (the script says what it skips without) */
	snprintf(path, sizeof path, "%s/plugins/items.so", w.build);
	snprintf(load, sizeof load, "\"dedup\",\"autoreply\",\"orders\"%s", access(path, R_OK) == 0 ? ",\"items\"" : "");
	web_config(&w, "flow", load, " \"autoreply\":{\"debounce_ms\":0},\n \"orders\":{\"retry_s\":2},\n");
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	snprintf(cmd, sizeof cmd, "rm -f '%s'/web-orders.png '%s'/web-orders-phone.png '%s'/web-seller-flow*.png",
		 w.build, w.build, w.build);
	if (system(cmd) != 0)
		diag("cannot remove the old screenshots");
	snprintf(env, sizeof env, "SK_SELLER=" UNB " SK_SHOTS='%s'", w.build);
	if (web_node(&w, "seller_flow.mjs", env, 200, &r) < 0)
		goto out;
	ok(r.checks >= 5, "the seller-flow test ran its checks (%d, %d steps skipped)", r.checks, r.skipped);
	ok(web_exit_ok(&r), "the seller-flow test exited %d", web_exit_code(&r));
	snprintf(path, sizeof path, "%s/web-seller-flow.png", w.build);
	ok(stat(path, &sb) == 0 && sb.st_size > 1000, "the screenshot is in %s", path);
	ok(tbot_alive(&w.bot), "the bot still runs");
out:
	return web_end(&w);
}
