/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_shop.c - the shop screens of the page
 * (web/shop.js) in headless Chromium against the real bot (dedup, autoreply,
 * orders, items) and the simulator: tests/browser/shop_test.mjs creates a
 * card of each type, a delivery rule picked by item title and spec, the
 * notices and chores, refuses an ambiguous rule, imports, reveals, deletes
 * and exports codes, switches the language and takes screenshots into
 * build/web-shop.png, web-shop-phone.png and web-shop-en.png. Each
 * "ok - ..." / "not ok - ..." line the script prints becomes a check here;
 * then the rules file on disk is read back: what the page saved is there.
 */
#include "tap.h"
#include "sim/tbot.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000089"

static const char *env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v ? v : def;
}

/* The element of array arr whose string field f is v, NULL when none. */
static const cJSON *find_by(const cJSON *arr, const char *f, const char *v)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, f);

		if (cJSON_IsString(s) && !strcmp(s->valuestring, v))
			return e;
	}
	return NULL;
}

static const char *sget(const cJSON *o, const char *f)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, f);

	return cJSON_IsString(s) ? s->valuestring : "";
}

/* Reads back the rules file the page saved: the cards, the rule, the chores. */
static void check_file(const char *path)
{
	static char buf[65536];
	const cJSON *cards, *del, *c, *r, *ch;
	cJSON *doc;

	tbot_slurp(path, buf, sizeof buf);
	doc = cJSON_Parse(buf);
	if (!ok(cJSON_IsObject(doc), "the rules file the page saved is a JSON object")) {
		diag("%s", buf);
		cJSON_Delete(doc);
		return;
	}
	cards = cJSON_GetObjectItemCaseSensitive(doc, "cards");
	del = cJSON_GetObjectItemCaseSensitive(doc, "delivery");
	c = find_by(cards, "name", "shop-stock");
	ok(c && !strcmp(sget(c, "type"), "stock") && strstr(sget(c, "template"), "{code}"), "file: the stock card");
	c = find_by(cards, "name", "shop-text");
	ok(c && !strcmp(sget(c, "type"), "text"), "file: the text card");
	c = find_by(cards, "name", "shop-img");
	ok(c && !strcmp(sget(c, "type"), "image") && !strcmp(sget(c, "url"), "https://example.com/guide.png"),
	   "file: the image card");
	r = find_by(del, "item_id", "50001");
	ok(r && !strcmp(sget(r, "spec"), "面值:50元") && !strcmp(sget(r, "card"), "shop-stock") &&
	   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "quantity")) == 2, "file: the delivery rule (item, spec, card, quantity)");
	ok(cJSON_GetArraySize(del) == 2, "file: two delivery rules (the ambiguous one was never saved)");
	ch = cJSON_GetObjectItemCaseSensitive(doc, "chores");
	ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ch, "rate"), "enabled")) &&
	   cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ch, "polish")), "file: the rating and polish chores");
	ok(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "keyword_rules")), "file: the keyword rules are kept");
	cJSON_Delete(doc);
}

int main(void)
{
	const char *build = env_or("SK_BUILD", "build"), *root = env_or("SK_ROOT", ".");
	char json[2048], cmd[4000], tok[128] = "", shot[600], phone[600], en[600], rules[600], line[1024];
	int wport = tbot_free_port(), checks = 0, failed = 0, st;
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
	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	p = fopen(rules, "w");
	if (p) {
		fputs("{\"keyword_rules\":[{\"id\":\"hi\",\"keywords\":[\"你好\"],\"reply\":\"在的\"}]}\n", p);
		fclose(p);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"shop\",\"cookie_secret\":\"shop.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "  \"passport_url\":\"http://127.0.0.1:@PORT@/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\",\"items\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}}\n",
		 build, wport, root);
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
	snprintf(shot, sizeof shot, "%s/web-shop.png", build);
	snprintf(phone, sizeof phone, "%s/web-shop-phone.png", build);
	snprintf(en, sizeof en, "%s/web-shop-en.png", build);
	unlink(shot);
	unlink(phone);
	unlink(en);
	snprintf(cmd, sizeof cmd,
		 "cd '%s/tests/browser' && SK_WEB_URL=http://127.0.0.1:%d/ SK_SETUP_TOKEN='%s' SK_SIM_CTL=%d "
		 "SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_EN='%s' SK_TIMEOUT_S=150 timeout -k 5 170 node shop_test.mjs 2>&1",
		 root, wport, tok, sim.ctl_port, shot, phone, en);
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
			diag("browser: %s", line);
		}
	}
	st = pclose(p);
	ok(checks >= 30, "the shop test ran its checks (%d)", checks);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == (failed ? 1 : 0), "the shop test exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ok(stat(shot, &sb) == 0 && sb.st_size > 1000, "the desktop screenshot is in %s", shot);
	ok(stat(phone, &sb) == 0 && sb.st_size > 1000, "the 390 px screenshot is in %s", phone);
	check_file(rules);
	ok(tbot_log_has(&bot, "stock_reveal") || tbot_log_has(&bot, "reveal"), "the code reveal is in the bot's log");
	ok(tbot_alive(&bot), "the bot still runs");
out:
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
