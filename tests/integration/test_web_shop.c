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
#include "web_driver.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define UNB "2200000000089"

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
	char env[2000], shot[600], phone[600], en[600], rules[600];
	struct stat sb;
	web_result r;
	web_run w;
	FILE *f;

	if (web_begin(&w) < 0)
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", w.bot.dir);
	f = fopen(rules, "w");
	if (f) {
		fputs("{\"keyword_rules\":[{\"id\":\"hi\",\"keywords\":[\"你好\"],\"reply\":\"在的\"}]}\n", f);
		fclose(f);
	}
	web_config(&w, "shop", "\"dedup\",\"autoreply\",\"orders\",\"items\"", "");
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	snprintf(env, sizeof env, "SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_EN='%s'", web_shot(&w, shot, sizeof shot, "web-shop.png"),
		 web_shot(&w, phone, sizeof phone, "web-shop-phone.png"), web_shot(&w, en, sizeof en, "web-shop-en.png"));
	if (web_node(&w, "shop_test.mjs", env, 150, &r) < 0)
		goto out;
	ok(r.checks >= 30, "the shop test ran its checks (%d)", r.checks);
	ok(web_exit_ok(&r), "the shop test exited %d", web_exit_code(&r));
	ok(stat(shot, &sb) == 0 && sb.st_size > 1000, "the desktop screenshot is in %s", shot);
	ok(stat(phone, &sb) == 0 && sb.st_size > 1000, "the 390 px screenshot is in %s", phone);
	check_file(rules);
	ok(tbot_log_has(&w.bot, "stock_reveal") || tbot_log_has(&w.bot, "reveal"), "the code reveal is in the bot's log");
	ok(tbot_alive(&w.bot), "the bot still runs");
out:
	return web_end(&w);
}
