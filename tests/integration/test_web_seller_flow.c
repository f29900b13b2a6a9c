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
#include "tap.h"
#include "sim/tbot.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000077"

static const char *env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v ? v : def;
}

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
	const char *build = env_or("SK_BUILD", "build"), *root = env_or("SK_ROOT", ".");
	char json[2048], cmd[4000], tok[128] = "", shots[600], load[300], line[1024];
	int wport = tbot_free_port(), checks = 0, failed = 0, skipped = 0, st;
	struct stat sb;
	tc_sim sim;
	tbot bot;
	FILE *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(cmd, sizeof cmd, "test -x /usr/bin/chromium && command -v node >/dev/null && "
		 "test -d '%s/tests/browser/node_modules/playwright-core'", root);
	if (!ok(system(cmd) == 0, "chromium, node and playwright-core are installed (make test's set-up does it)"))
		return tap_done();
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && wport > 0, "a temp dir and a free port"))
		return tap_done();
	ok(define_items(&sim) == 0, "the simulator has the seller's items");
	/* a new seller: a rules file with nothing in it yet */
	snprintf(cmd, sizeof cmd, "printf '{}\\n' > '%s/rules.json'", bot.dir);
	if (system(cmd) != 0)
		diag("cannot write the rules file");
	/* the items plugin when this build has it (the script says what it skips without) */
	snprintf(line, sizeof line, "%s/plugins/items.so", build);
	snprintf(load, sizeof load, "\"dedup\",\"autoreply\",\"orders\"%s", access(line, R_OK) == 0 ? ",\"items\"" : "");
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"flow\",\"cookie_secret\":\"flow.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "  \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[%s]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0},\n"
		 " \"orders\":{\"retry_s\":2},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}}\n",
		 build, load, wport, root);
	tbot_config(&bot, json);
	snprintf(cmd, sizeof cmd, "echo 'unb=" UNB "; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1' | "
		 "'%s/shopkeep' secret set --config '%s' cookie >/dev/null 2>&1", build, bot.cfg);
	if (!ok(system(cmd) == 0, "shopkeep secret set seals the cookie"))
		goto out;
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers"))
		goto out;
	for (int i = 0; i < 50 && !tok[0]; i++) {
		tbot_setup_token(&bot, tok, sizeof tok);
		if (!tok[0])
			usleep(100000);
	}
	if (!ok(tok[0], "the bot logged its setup token"))
		goto out;
	snprintf(shots, sizeof shots, "%s", build);
	snprintf(cmd, sizeof cmd, "rm -f '%s'/web-orders.png '%s'/web-orders-phone.png '%s'/web-seller-flow*.png",
		 shots, shots, shots);
	if (system(cmd) != 0)
		diag("cannot remove the old screenshots");
	snprintf(cmd, sizeof cmd,
		 "cd '%s/tests/browser' && SK_WEB_URL=http://127.0.0.1:%d/ SK_SETUP_TOKEN='%s' SK_SIM_CTL=%d "
		 "SK_SELLER=" UNB " SK_SHOTS='%s' SK_TIMEOUT_S=200 timeout -k 5 220 node seller_flow.mjs 2>&1",
		 root, wport, tok, sim.ctl_port, shots);
	if (!(p = popen(cmd, "r"))) {
		ok(0, "node runs");
		goto out;
	}
	while (fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ok - ", 5)) {
			ok(1, "browser: %s", line + 5);
			checks++;
		} else if (!strncmp(line, "not ok - ", 9)) {
			ok(0, "browser: %s", line + 9);
			checks++;
			failed++;
		} else {
			if (!strncmp(line, "# skip:", 7))
				skipped++;
			diag("browser: %s", line);
		}
	}
	st = pclose(p);
	ok(checks >= 5, "the seller-flow test ran its checks (%d, %d steps skipped)", checks, skipped);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == (failed ? 1 : 0), "the seller-flow test exited %d",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	snprintf(cmd, sizeof cmd, "%s/web-seller-flow.png", build);
	ok(stat(cmd, &sb) == 0 && sb.st_size > 1000, "the screenshot is in %s", cmd);
	ok(tbot_alive(&bot), "the bot still runs");
out:
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
