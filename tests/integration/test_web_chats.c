/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_chats.c - the conversations screen of the page
 * (web/chats.js) in headless Chromium against the real bot (dedup,
 * autoreply, orders, items) and the simulator: tests/browser/chats_test.mjs
 * seeds a chat with more than 60 messages, a picture, a trade card and a
 * bot reply, then checks the live list (order, unread, state), the
 * conversation paged back, the reply from the page pausing the chat (the
 * buyer's next 多少钱 gets no answer in the simulator), a hand-over word
 * putting a chat on top as 等你回复, resume (the next question is
 * answered), a failed send with its reason, the quick phrases (add, use,
 * remove, saved), zh and en, desktop and 390 px, with screenshots in
 * build/web-chats*.png. Each "ok - ..." / "not ok - ..." line of the script
 * becomes a check here; then the rules file on disk is read back: the
 * phrases the page saved are there and the rest of the file is unchanged.
 */
#include "web_driver.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define UNB "2200000000093"

/* Whether JSON array arr holds the string s. */
static int has_str(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, s))
			return 1;
	return 0;
}

/* Reads back the rules file: the quick phrases as the page left them, the
 * keyword rule untouched. */
static void check_file(const char *path)
{
	static char buf[65536];
	const cJSON *q, *kr, *r0;
	cJSON *doc;

	tbot_slurp(path, buf, sizeof buf);
	doc = cJSON_Parse(buf);
	if (!ok(cJSON_IsObject(doc), "the rules file the page saved is a JSON object")) {
		diag("%s", buf);
		cJSON_Delete(doc);
		return;
	}
	q = cJSON_GetObjectItemCaseSensitive(doc, "quick_phrases");
	ok(cJSON_IsArray(q) && has_str(q, "亲，今天下单马上发货") && has_str(q, "稍等，我看一下") &&
	   !has_str(q, "在的，亲"), "file: the phrase added from the page is saved, the one removed is gone");
	kr = cJSON_GetObjectItemCaseSensitive(doc, "keyword_rules");
	r0 = cJSON_GetArrayItem(kr, 0);
	ok(cJSON_GetArraySize(kr) == 1 && r0 &&
	   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r0, "id")) ?: "", "price"),
	   "file: the keyword rule is kept as it was");
	cJSON_Delete(doc);
}

int main(void)
{
	char env[3000], shot[600], phone[600], phone_list[600], en[600], rules[600];
	struct stat sb;
	web_result r;
	web_run w;
	FILE *f;

	if (web_begin(&w) < 0)
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", w.bot.dir);
	f = fopen(rules, "w");
	if (f) {
		fputs("{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"这个 10 元，直接拍就行\"}],\n"
		      " \"quick_phrases\":[\"在的，亲\",\"稍等，我看一下\"]}\n", f);
		fclose(f);
	}
	web_config(&w, "chats", "\"dedup\",\"autoreply\",\"orders\",\"items\"",
		   " \"autoreply\":{\"debounce_ms\":0},\n");
	if (web_start_bot(&w, UNB) < 0)
		goto out;
	snprintf(env, sizeof env, "SK_SELLER=%s SK_SHOT='%s' SK_SHOT_PHONE='%s' SK_SHOT_PHONE_LIST='%s' SK_SHOT_EN='%s'", UNB,
		 web_shot(&w, shot, sizeof shot, "web-chats.png"), web_shot(&w, phone, sizeof phone, "web-chats-phone.png"),
		 web_shot(&w, phone_list, sizeof phone_list, "web-chats-phone-list.png"),
		 web_shot(&w, en, sizeof en, "web-chats-en.png"));
	if (web_node(&w, "chats_test.mjs", env, 180, &r) < 0)
		goto out;
	ok(r.checks >= 35, "the chats test ran its checks (%d)", r.checks);
	ok(web_exit_ok(&r), "the chats test exited %d", web_exit_code(&r));
	ok(stat(shot, &sb) == 0 && sb.st_size > 1000, "the desktop screenshot is in %s", shot);
	ok(stat(phone, &sb) == 0 && sb.st_size > 1000, "the 390 px screenshot is in %s", phone);
	ok(stat(en, &sb) == 0 && sb.st_size > 1000, "the English screenshot is in %s", en);
	check_file(rules);
	ok(tbot_alive(&w.bot), "the bot still runs");
out:
	return web_end(&w);
}
