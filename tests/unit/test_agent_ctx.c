/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent_ctx.c - the agent's context (plugins/agent/
 * agent_ctx.c) through the fake host, by the test plugin
 * tests/plugins/agentctx (agent_ctx.c behind control commands): the intent's
 * keyword pass, the item from items_item (absent table, an older one
 * without desc, specs from skus_json, cuts at character boundaries, invalid
 * UTF-8), the prompts (built in = the files of config/prompts, read back,
 * saved atomically, "" resets, a too-big or non-UTF-8 file falls back),
 * the recent messages from the conversation store (chat_msg) and from the
 * agent's own agent_msg (filled only while the store does not keep them,
 * deduplicated, trimmed), and the request body's JSON shape.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* A fake host with the test plugin loaded; NULL on failure (said). */
static fh *start(void)
{
	char so[512];
	fh *f = fh_new(NULL, NULL);

	if (!f)
		return NULL;
	if (fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/agentctx.so"), NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* Runs sql on the fake host's database; 0 or -1 (said). */
static int sql(fh *f, const char *q)
{
	char *err = NULL;

	if (sqlite3_exec(fh_db(f), q, NULL, NULL, &err) != SQLITE_OK) {
		diag("sql %s: %s", q, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* A control command's answer parsed (caller deletes), NULL when it failed (said). */
static cJSON *ctl(fh *f, const char *cmd, const char *data)
{
	const char *out;
	int rc = fh_control(f, cmd, data, &out);
	cJSON *j;

	if (rc) {
		diag("%s: %d %s", cmd, rc, out);
		return NULL;
	}
	if (!(j = cJSON_Parse(out)))
		diag("%s: not JSON: %s", cmd, out);
	return j;
}

/* Member k of o as a string, "(none)" when it is not one. */
static const char *js(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : "(none)";
}

/* Whether s is valid UTF-8 (the test's own check, independent of agent_ctx.c). */
static int utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2 : (*u & 0xF8) == 0xF0 ? 3 : -1;

		if (n < 0 || (n == 1 && *u < 0xC2))
			return 0;
		u++;
		for (int i = 0; i < n; i++, u++)
			if ((*u & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* ---- intent ---------------------------------------------------------------------- */

static void test_intent(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "能便宜点吗", "price" },
		{ "少点呗", "price" },
		{ "能少一点吗", "price" },
		{ "有优惠吗", "price" },
		{ "最低多少", "price" },
		{ "底价多少", "price" },
		{ "这个多少钱", "price" },
		{ "价格还能谈吗", "price" },
		{ "价钱合适吗", "price" },
		{ "能刀吗", "price" },
		{ "再砍一点", "price" },
		{ "包邮吗", "price" },
		{ "能不能少", "price" },
		{ "80出吗", "price" },
		{ "卖吗", "price" },
		{ "80元可以吗", "price" },
		{ "50块拿走", "price" },
		{ "¥60", "price" },
		{ "￥60行不", "price" },
		{ "80行吗", "price" },
		{ "80", "price" },
		{ " 85？", "price" },
		{ "75 可以吗", "price" },
		{ "90包邮", "price" },
		{ "100RMB", "price" },
		{ "八十行吗", "price" },
		{ "一百五可以吗", "price" },
		{ "两千", "price" },
		{ "等一下吧", "default" },                     /* 一 alone is not an amount */
		{ "电池还能用多久，能便宜点吗", "price" },       /* both: price wins */
		{ "这个怎么用", "tech" },
		{ "怎么样，好用吗", "tech" },
		{ "参数发我看看", "tech" },
		{ "什么型号", "tech" },
		{ "尺寸多少", "tech" },
		{ "配置是什么", "tech" },
		{ "成色如何", "tech" },
		{ "还能不能用", "tech" },
		{ "支持5G吗", "tech" },
		{ "兼容苹果吗", "tech" },
		{ "用了几年", "tech" },
		{ "电池健康多少", "tech" },
		{ "有保修吗", "tech" },
		{ "能开发票吗", "tech" },
		{ "和pro有区别吗", "tech" },
		{ "有没有划痕", "tech" },
		{ "是不是正品", "tech" },
		{ "多大的", "tech" },
		{ "iPhone13 电池怎么样", "tech" },             /* a model number is not an offer */
		{ "你好", "default" },
		{ "在吗", "default" },
		{ "还在吗", "default" },
		{ "谢谢", "default" },
		{ "好的", "default" },
		{ "有2个吗", "default" },                      /* a count, not an offer */
		{ "", "default" },
		{ "hello", "default" },
	};
	fh *f = start();
	char data[256];

	if (!ok(f != NULL, "intent: the test plugin loads"))
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *j, *t = cJSON_CreateObject();
		char *d;

		cJSON_AddStringToObject(t, "text", cases[i].text);
		d = cJSON_PrintUnformatted(t);
		snprintf(data, sizeof data, "%s", d);
		free(d);
		cJSON_Delete(t);
		j = ctl(f, "agentctx_intent", data);
		is_str(js(j, "intent"), cases[i].want, "intent of \"%s\"", cases[i].text);
		cJSON_Delete(j);
	}
	fh_free(f);
}

/* ---- the item -------------------------------------------------------------------- */

/* agentctx_item of id (caller deletes). */
static cJSON *item(fh *f, const char *id)
{
	char data[128];

	snprintf(data, sizeof data, "{\"item_id\":\"%s\"}", id);
	return ctl(f, "agentctx_item", data);
}

static void test_item(void)
{
	fh *f = start();
	cJSON *j;
	char big[3000] = "";

	if (!ok(f != NULL, "item: the test plugin loads"))
		return;
	fh_clear_logs(f);
	j = item(f, "1001");
	ok(j && !strcmp(js(j, "title"), "") && !strcmp(js(j, "desc"), "") && !strcmp(js(j, "specs"), "") &&
	   cJSON_GetObjectItem(j, "price_fen")->valuedouble == -1 && !strcmp(js(j, "item_id"), "1001"),
	   "item: without items_item (items not loaded): empty, price -1");
	cJSON_Delete(j);
	is_int(fh_log_find(f, "items_item"), 0, "item: ... and nothing logged (no failing statement)");
	/* the items table as version 1 of the items plugin made it: no desc */
	sql(f, "CREATE TABLE items_item (item_id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', price INTEGER, "
	       "quantity INTEGER, status INTEGER NOT NULL DEFAULT 0, status_text TEXT NOT NULL DEFAULT '', "
	       "pic_url TEXT NOT NULL DEFAULT '', skus_json TEXT NOT NULL DEFAULT '[]', list_pos INTEGER NOT NULL "
	       "DEFAULT 0, synced_ms INTEGER NOT NULL DEFAULT 0, detail_ms INTEGER NOT NULL DEFAULT 0, gone INTEGER "
	       "NOT NULL DEFAULT 0) STRICT");
	sql(f, "INSERT INTO items_item (item_id, title, price, skus_json) VALUES ('1001', '九成新 iPad', 99900, "
	       "'[{\"sku_id\":\"1\",\"spec\":\"颜色:灰;容量:64G\",\"price\":\"999.00\",\"quantity\":1},"
	       "{\"sku_id\":\"2\",\"spec\":\"颜色:银;容量:256G\",\"price\":\"1299.50\",\"quantity\":0},"
	       "{\"sku_id\":\"3\",\"spec\":\"\",\"price\":\"5.00\"},{\"sku_id\":\"4\",\"spec\":\"赠品\",\"price\":null}]')");
	j = item(f, "1001");
	ok(j && !strcmp(js(j, "title"), "九成新 iPad") && cJSON_GetObjectItem(j, "price_fen")->valuedouble == 99900 &&
	   !strcmp(js(j, "desc"), ""), "item: an items table without desc: title and price, no desc");
	is_str(js(j, "specs"), "颜色:灰;容量:64G：999元\n颜色:银;容量:256G：1299.5元\n赠品",
	       "item: the skus as spec：price元 lines (an sku without spec skipped, without price the spec alone)");
	cJSON_Delete(j);
	is_int(fh_log_find(f, "desc"), 0, "item: ... nothing logged about the missing desc");
	sql(f, "ALTER TABLE items_item ADD COLUMN \"desc\" TEXT NOT NULL DEFAULT ''");
	sql(f, "UPDATE items_item SET \"desc\" = '屏幕无划痕\n电池健康 90%' WHERE item_id = '1001'");
	j = item(f, "1001");
	is_str(js(j, "desc"), "屏幕无划痕\n电池健康 90%", "item: the desc (items migration 2)");
	cJSON_Delete(j);
	j = item(f, "9999");
	ok(j && !strcmp(js(j, "title"), "") && cJSON_GetObjectItem(j, "price_fen")->valuedouble == -1,
	   "item: an unknown item: empty, price -1");
	cJSON_Delete(j);
	sql(f, "INSERT INTO items_item (item_id, title) VALUES ('1002', 'x')");
	j = item(f, "1002");
	ok(j && cJSON_GetObjectItem(j, "price_fen")->valuedouble == -1 && !strcmp(js(j, "specs"), ""),
	   "item: a NULL price is unknown (-1), skus [] no specs");
	cJSON_Delete(j);
	/* cuts: a 900-character title (2700 bytes) into 511 bytes: 170 whole characters */
	for (int i = 0; i < 900; i++)
		strcat(big, "价");
	{
		char *q = sqlite3_mprintf("INSERT INTO items_item (item_id, title, \"desc\", skus_json) VALUES ('1003', %Q, "
					  "%Q || %Q, 'garbage')", big, big, big);

		sql(f, q);
		sqlite3_free(q);
	}
	j = item(f, "1003");
	ok(j && strlen(js(j, "title")) == 510 && utf8_ok(js(j, "title")), "item: a long title cut to whole characters (510 bytes)");
	ok(j && strlen(js(j, "desc")) == 4095 && utf8_ok(js(j, "desc")), "item: a long desc cut to whole characters (4095 bytes)");
	is_str(js(j, "specs"), "", "item: skus_json that is not JSON: no specs");
	cJSON_Delete(j);
	/* invalid UTF-8 from the table becomes U+FFFD */
	sql(f, "INSERT INTO items_item (item_id, title) VALUES ('1004', CAST(X'41FF42C3' AS TEXT))");
	j = item(f, "1004");
	is_str(js(j, "title"), "A\xEF\xBF\xBD" "B\xEF\xBF\xBD", "item: invalid UTF-8 in the title replaced by U+FFFD");
	cJSON_Delete(j);
	fh_free(f);
}

/* ---- prompts --------------------------------------------------------------------- */

/* agentctx_prompt of intent in dir (caller deletes). */
static cJSON *prompt(fh *f, const char *intent, const char *dir)
{
	char data[512];

	snprintf(data, sizeof data, "{\"intent\":\"%s\",\"prompts_dir\":\"%s\"}", intent, dir);
	return ctl(f, "agentctx_prompt", data);
}

/* agentctx_prompt_save: its rc; *out its answer or error. */
static int prompt_save(fh *f, const char *intent, const char *dir, const char *text, const char **out)
{
	cJSON *d = cJSON_CreateObject();
	char *s;
	int rc;

	cJSON_AddStringToObject(d, "intent", intent);
	cJSON_AddStringToObject(d, "prompts_dir", dir);
	cJSON_AddStringToObject(d, "text", text);
	s = cJSON_PrintUnformatted(d);
	rc = fh_control(f, "agentctx_prompt_save", s, out);
	free(s);
	cJSON_Delete(d);
	return rc;
}

/* Writes n bytes of data to path. */
static void write_file(const char *path, const char *data, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (fp) {
		fwrite(data, 1, n, fp);
		fclose(fp);
	}
}

/* The whole file (malloc'd), NULL when it cannot be read. */
static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* Entries of dir besides . and .. */
static int dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void test_prompts(void)
{
	static const char *const intents[] = { "default", "price", "tech" };
	const char *root = getenv("SK_ROOT"), *out;
	char dir[300], path[400], *big;
	fh *f = start();
	cJSON *j;
	struct stat sb;

	if (!ok(f != NULL, "prompts: the test plugin loads"))
		return;
	for (int i = 0; i < 3; i++) {
		char *file;

		snprintf(path, sizeof path, "%s/config/prompts/%s.txt", root && *root ? root : ".", intents[i]);
		file = read_file(path);
		j = prompt(f, intents[i], "");
		ok(file && j && !strcmp(js(j, "text"), file) && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")),
		   "prompts: the built-in %s prompt is config/prompts/%s.txt", intents[i], intents[i]);
		cJSON_Delete(j);
		free(file);
	}
	j = prompt(f, "price", "");
	ok(j && strstr(js(j, "text"), "最低可以让到") && strstr(js(j, "text"), "平台外"),
	   "prompts: the price prompt holds the floor and the platform rule");
	cJSON_Delete(j);

	snprintf(dir, sizeof dir, "%s/prompts", tmpdir);
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")), "prompts: no folder yet: the built-in one");
	cJSON_Delete(j);
	is_int(prompt_save(f, "tech", dir, "你是技术顾问。\n只说参数。", &out), 0, "prompts: save tech (the folder is made)");
	j = prompt(f, "tech", dir);
	ok(j && !strcmp(js(j, "text"), "你是技术顾问。\n只说参数。") && cJSON_IsFalse(cJSON_GetObjectItem(j, "builtin")),
	   "prompts: read back from <dir>/tech.txt, not built in");
	cJSON_Delete(j);
	snprintf(path, sizeof path, "%s/tech.txt", dir);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644, "prompts: the file is tech.txt, mode 644");
	is_int(dir_count(dir), 1, "prompts: no temporary file left behind");
	j = prompt(f, "price", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")), "prompts: another intent stays built in");
	cJSON_Delete(j);
	is_int(prompt_save(f, "tech", dir, "第二版", &out), 0, "prompts: save again");
	j = prompt(f, "tech", dir);
	is_str(js(j, "text"), "第二版", "prompts: replaced");
	cJSON_Delete(j);
	is_int(prompt_save(f, "tech", dir, "", &out), 0, "prompts: \"\" resets");
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")) && access(path, F_OK) != 0,
	   "prompts: ... the file is gone, the built-in one again");
	cJSON_Delete(j);
	is_int(prompt_save(f, "tech", dir, "", &out), 0, "prompts: resetting again is fine");
	/* refused saves name the field */
	ok(prompt_save(f, "tech", "", "x", &out) != 0 && strstr(out, "prompts_dir"), "prompts: no prompts_dir: refused (%s)", out);
	ok(prompt_save(f, "bargain", dir, "x", &out) != 0 && strstr(out, "intent"), "prompts: an unknown intent: refused (%s)", out);
	big = malloc(16 * 1024 + 2);
	memset(big, 'a', 16 * 1024 + 1);
	big[16 * 1024 + 1] = '\0';
	ok(prompt_save(f, "tech", dir, big, &out) != 0 && strstr(out, "text"), "prompts: more than 16 KB: refused (%s)", out);
	big[16 * 1024] = '\0';
	is_int(prompt_save(f, "tech", dir, big, &out), 0, "prompts: exactly 16 KB: saved");
	{
		char d[600];

		snprintf(d, sizeof d, "{\"intent\":\"tech\",\"prompts_dir\":\"%s\",\"text\":\"a\xff" "b\"}", dir);
		ok(fh_control(f, "agentctx_prompt_save", d, &out) != 0 && strstr(out, "UTF-8"),
		   "prompts: text that is not UTF-8: refused (%s)", out);
	}
	/* bad files fall back to the built-in text, logged */
	fh_clear_logs(f);
	big[16 * 1024] = 'a';
	write_file(path, big, 16 * 1024 + 1);
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")) && fh_log_find(f, "larger than 16384 bytes") == 1,
	   "prompts: a file over 16 KB: built in, logged");
	cJSON_Delete(j);
	write_file(path, "\xe4\xbd\xa0\xff\xfe", 5);
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")) && fh_log_find(f, "not UTF-8") == 1,
	   "prompts: a file that is not UTF-8: built in, logged");
	cJSON_Delete(j);
	write_file(path, "\xe4\xbd", 2);
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")) && fh_log_find(f, "not UTF-8") == 2,
	   "prompts: a file cut inside a character: built in, logged");
	cJSON_Delete(j);
	write_file(path, " \n\n", 3);
	j = prompt(f, "tech", dir);
	ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "builtin")) && fh_log_find(f, "empty") == 1,
	   "prompts: an empty file: built in, logged");
	cJSON_Delete(j);
	free(big);
	unlink(path);
	rmdir(dir);
	fh_free(f);
}

/* ---- history and the body ------------------------------------------------------------ */

/* agentctx_body with data (caller deletes), NULL on failure. */
static cJSON *body(fh *f, const char *data)
{
	const char *out;
	cJSON *j;

	if (fh_control(f, "agentctx_body", data, &out)) {
		diag("agentctx_body: %s", out);
		return NULL;
	}
	if (!utf8_ok(out))
		diag("the body is not UTF-8");
	j = cJSON_Parse(out);
	if (j && !utf8_ok(out)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* The messages of a body as "role:content|role:content..." (static buffer). */
static const char *msgs(const cJSON *b, int skip_system)
{
	static char buf[8192];
	const cJSON *m;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(b, "messages")) {
		if (skip_system && !strcmp(js(m, "role"), "system"))
			continue;
		n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s:%s", n ? "|" : "", js(m, "role"),
				      js(m, "content"));
		if (n >= sizeof buf)
			break;
	}
	return buf;
}

/* A chat_msg row as the core's conversation store writes it. */
static void store_row(fh *f, const char *chat, int64_t ms, const char *dir, const char *sender, const char *kind,
		      const char *text, const char *mid, const char *state)
{
	char *q = sqlite3_mprintf("INSERT INTO chat_msg (chat, ms, dir, sender, kind, text, message_id, state) "
				  "VALUES (%Q, %lld, %Q, %Q, %Q, %Q, %Q, %Q); INSERT INTO chat_chat (chat, last_ms) "
				  "VALUES (%Q, %lld) ON CONFLICT (chat) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)",
				  chat, (long long)ms, dir, sender, kind, text, mid, state, chat, (long long)ms);

	sql(f, q);
	sqlite3_free(q);
}

/* A buyer's text event of chat, stored first in chat_msg when store (as the
 * core does before plugins see it), with IM id im. */
static void buyer_text(fh *f, const char *chat, const char *text, const char *im, int stored)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = "b1";
	e.text = text;
	e.im_id = im;
	if (stored)
		store_row(f, chat, e.created_ms, "in", "buyer", "text", text, im, "");
	fh_dispatch(f, &e);
}

static void test_history_store(void)
{
	fh *f = start();
	int64_t t = fh_now_ms(f);
	cJSON *b;
	char data[512];

	if (!ok(f != NULL, "store: the test plugin loads"))
		return;
	/* the conversation store keeps the chat: in, out (bot, app), image, trade card, a failed send */
	buyer_text(f, "c1", "你好", "1.PNM", 1);
	store_row(f, "c1", t + 1, "out", "bot", "text", "您好，在的", "2.PNM", "sent");
	store_row(f, "c1", t + 2, "in", "buyer", "image", "[图片]", "3.PNM", "");
	store_row(f, "c1", t + 3, "in", "buyer", "trade", "我已拍下", "4.PNM", "");
	store_row(f, "c1", t + 4, "out", "bot", "text", "没发出去的", "q:u1", "failed");
	store_row(f, "c1", t + 5, "out", "seller_app", "text", "卖家手打的", "5.PNM", "sent");
	fh_advance(f, 10);
	buyer_text(f, "c1", "能便宜点吗", "6.PNM", 1);
	store_row(f, "c1", t + 20, "in", "buyer", "text", "之后才来的", "7.PNM", "");
	store_row(f, "c2", t + 5, "in", "buyer", "text", "别的会话", "8.PNM", "");
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg"), 0, "store: messages the store holds are not copied to agent_msg");
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"mid\":\"6.PNM\",\"text\":\"能便宜点吗\",\"ms\":%lld,\"history\":10}",
		 (long long)(t + 10));
	b = body(f, data);
	is_str(msgs(b, 1), "user:你好|assistant:您好，在的|user:[图片]|assistant:卖家手打的|user:能便宜点吗",
	       "store: history from chat_msg, oldest first, images [图片], no trade card or failed send, nothing later");
	cJSON_Delete(b);
	/* the business id differs from the IM id: the same text of the last hour is the message */
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"mid\":\"biz-77\",\"text\":\"能便宜点吗\",\"ms\":%lld,\"history\":2}",
		 (long long)(t + 10));
	b = body(f, data);
	is_str(msgs(b, 1), "user:[图片]|assistant:卖家手打的|user:能便宜点吗",
	       "store: found by its text when the id is another; history 2: the last two");
	cJSON_Delete(b);
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"mid\":\"6.PNM\",\"text\":\"能便宜点吗\",\"history\":0}");
	b = body(f, data);
	ok(b && cJSON_GetArraySize(cJSON_GetObjectItem(b, "messages")) == 2, "store: history 0: system and the text only");
	cJSON_Delete(b);
	/* an echo of our send in a chat the store just noted is not copied either */
	fh_echo(f, "c1", "机器人的回复");
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg"), 0, "store: our echo in a chat the store keeps: not copied");
	/* a store of many chats: neither the per-message statement nor the turn's scan it */
	sql(f, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO chat_msg "
	       "(chat, ms, dir, sender, kind, text, message_id) SELECT 'x' || (i % 30), i, 'in', 'buyer', 'text', 'hi', "
	       "'m' || i FROM n");
	buyer_text(f, "c1", "还在吗", "10.PNM", 1);
	buyer_text(f, "c1", "在不在", "11.PNM", 0);
	fh_echo(f, "c4", "回复");
	b = body(f, "{\"chat\":\"c1\",\"mid\":\"11.PNM\",\"text\":\"在不在\",\"history\":5}");
	cJSON_Delete(b);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg"), 2, "store: a message the store lacks (and an echo in a chat it does not keep) copied");
	{
		sqlite3_stmt *st = NULL;
		int n = 0, scans = 0;

		while ((st = sqlite3_next_stmt(fh_db(f), st))) {
			const char *q = sqlite3_sql(st);

			if (!q || (!strstr(q, "agent_msg") && !strstr(q, "chat_msg")) || strstr(q, "sqlite_master"))
				continue;
			n++;
			if (sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) ||
			    sqlite3_stmt_status(st, SQLITE_STMTSTATUS_AUTOINDEX, 0)) {
				scans++;
				diag("scans: %s", q);
			}
		}
		ok(n >= 3 && scans == 0, "store: the context's %d statements use indexes (no full scan, no automatic index)", n);
	}
	fh_free(f);
}

static void test_history_own(void)
{
	fh *f = start();
	int64_t t = fh_now_ms(f);
	cJSON *b;
	char data[512], text[64];
	sk_event e;

	if (!ok(f != NULL, "own: the test plugin loads"))
		return;
	/* the store is off: nothing in chat_msg */
	buyer_text(f, "c1", "在吗", "1.PNM", 0);
	fh_advance(f, 1);
	fh_echo(f, "c1", "在的亲");
	fh_advance(f, 1);
	fh_image(f, "c1", "b1", "https://img.alicdn.com/x.jpg");
	fh_advance(f, 1);
	fh_chat(f, "c1", FH_OWN_ID, "卖家从手机回的");
	fh_advance(f, 1);
	fh_chat(f, "c9", "b9", "别的会话");
	fh_advance(f, 1);
	buyer_text(f, "c1", "80行吗", "2.PNM", 0);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c1'"), 5, "own: the store is off: every chat message copied");
	is_str(fh_q_str(f, "SELECT group_concat(dir || ':' || text, '|') FROM (SELECT dir, text FROM agent_msg "
			   "WHERE chat = 'c1' ORDER BY id)"),
	       "in:在吗|out:在的亲|in:[图片]|out:卖家从手机回的|in:80行吗", "own: in and out, images as [图片]");
	/* the platform pushes one again: kept once */
	e = fh_event(f, SK_EV_CHAT_TEXT);
	e.chat_id = "c1";
	e.sender_id = "b1";
	e.text = "80行吗";
	fh_dispatch(f, &e);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c1'"), 5, "own: a message pushed again is kept once");
	/* the store kept this chat once, two hours ago (then it was turned off): not the source now */
	store_row(f, "c1", t - 7200000, "in", "buyer", "text", "80行吗", "old.PNM", "");
	store_row(f, "c1", t - 7200000 + 1, "out", "bot", "text", "旧的回答", "old2.PNM", "sent");
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"mid\":\"x\",\"text\":\"80行吗\",\"ms\":%lld,\"history\":10}",
		 (long long)(t + 5));
	b = body(f, data);
	is_str(msgs(b, 1), "user:在吗|assistant:在的亲|user:[图片]|assistant:卖家从手机回的|user:80行吗",
	       "own: history from agent_msg (the message itself not twice; the store's rows of two hours ago not used)");
	cJSON_Delete(b);
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"mid\":\"x\",\"text\":\"80行吗\",\"history\":3}");
	b = body(f, data);
	is_str(msgs(b, 1), "assistant:在的亲|user:[图片]|assistant:卖家从手机回的|user:80行吗", "own: history 3: the last three");
	cJSON_Delete(b);
	/* a chat of 200 messages keeps about the last 50 */
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof text, "消息 %d", i);
		fh_chat(f, "c3", "b3", text);
		fh_advance(f, 1);
	}
	ok(fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c3'") >= 50 &&
	   fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c3'") <= 58, "own: a long chat is trimmed to about 50 (%lld)",
	   (long long)fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c3'"));
	is_str(fh_q_str(f, "SELECT text FROM agent_msg WHERE chat = 'c3' ORDER BY id DESC LIMIT 1"), "消息 199",
	       "own: ... the newest kept");
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c1'"), 5, "own: ... other chats untouched");
	/* the store comes on: messages it holds are no longer copied */
	buyer_text(f, "c1", "现在存了", "9.PNM", 1);
	is_int(fh_q_int(f, "SELECT count(*) FROM agent_msg WHERE chat = 'c1'"), 5, "own: once the store holds them, not copied");
	fh_free(f);
}

static void test_body(void)
{
	fh *f = start();
	cJSON *b, *sys;
	const char *s;
	char data[8192], longtext[2000] = "", desc[4000] = "";

	if (!ok(f != NULL, "body: the test plugin loads"))
		return;
	sql(f, "CREATE TABLE items_item (item_id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', price INTEGER, "
	       "skus_json TEXT NOT NULL DEFAULT '[]', \"desc\" TEXT NOT NULL DEFAULT '')");
	sql(f, "INSERT INTO items_item VALUES ('500', 'Switch 游戏机\n续航版', 99950, "
	       "'[{\"spec\":\"颜色:红蓝\",\"price\":\"999.50\"},{\"spec\":\"颜色:灰\",\"price\":\"989.00\"}]', '九成新，配件齐全')");
	b = body(f, "{\"model\":\"qwen-7b\",\"max_tokens\":300,\"temperature\":0.7,\"chat\":\"c1\",\"item\":\"500\","
		    "\"name\":\"小王\",\"text\":\"最低多少\",\"intent\":\"price\",\"notes\":\"不议价太多\",\"floor_fen\":80000}");
	if (!ok(b != NULL, "body: valid JSON and UTF-8"))
		return;
	is_str(js(b, "model"), "qwen-7b", "body: model");
	ok(cJSON_GetObjectItem(b, "max_tokens")->valuedouble == 300, "body: max_tokens");
	ok(cJSON_GetObjectItem(b, "temperature")->valuedouble == 0.7, "body: temperature");
	ok(cJSON_IsFalse(cJSON_GetObjectItem(b, "stream")), "body: stream false");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(b, "messages")), 2, "body: system and user (no history)");
	sys = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 0);
	is_str(js(sys, "role"), "system", "body: the system message first");
	s = js(sys, "content");
	ok(!strncmp(s, "你是闲鱼卖家的客服助手，买家正在问价或砍价", strlen("你是闲鱼卖家的客服助手，买家正在问价或砍价")),
	   "body: ... starts with the price prompt");
	ok(strstr(s, "\n\n商品：Switch 游戏机 续航版\n价格：999.5元\n规格：颜色:红蓝：999.5元；颜色:灰：989元\n"
		     "描述：九成新，配件齐全\n卖家备注：不议价太多\n最低可以让到：800元\n买家：小王") != NULL &&
	   s[strlen(s) - 1] != '\n',
	   "body: a blank line, then 商品/价格/规格/描述/卖家备注/最低可以让到/买家, one a line (title on one line)");
	is_str(js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 1), "role"), "user", "body: the buyer's text last, as user");
	is_str(js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 1), "content"), "最低多少", "body: ... its text");
	cJSON_Delete(b);
	/* no floor, no notes, no name, an unknown item: only what is known */
	b = body(f, "{\"chat\":\"c1\",\"item\":\"nope\",\"text\":\"你好\",\"intent\":\"default\"}");
	s = js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 0), "content");
	ok(b && !strstr(s, "\n商品：") && !strstr(s, "\n价格：") && !strstr(s, "\n最低可以让到：") && !strstr(s, "\n卖家备注：") &&
	   !strstr(s, "\n买家：") && !strstr(s, "\n规格：") && !strstr(s, "\n描述：") && s[strlen(s) - 1] != '\n',
	   "body: unknown fields leave their lines out");
	ok(strstr(s, "只回答和这件商品有关的问题") != NULL, "body: the default prompt");
	cJSON_Delete(b);
	b = body(f, "{\"chat\":\"c1\",\"item\":\"500\",\"text\":\"怎么用\",\"intent\":\"tech\",\"floor_fen\":0}");
	s = js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 0), "content");
	ok(b && strstr(s, "最低可以让到：0元") && strstr(s, "描述和规格") == NULL && strstr(s, "商品描述"),
	   "body: the tech prompt; a floor of 0 is a floor");
	cJSON_Delete(b);
	/* cuts: the buyer's text to 500 bytes, the desc to 1500, whole characters; invalid UTF-8 replaced */
	for (int i = 0; i < 300; i++)
		strcat(longtext, "砍");
	for (int i = 0; i < 1000; i++)
		strcat(desc, "描");
	{
		char *q = sqlite3_mprintf("INSERT INTO items_item VALUES ('501', CAST(X'E4BDA0FF' AS TEXT), 100, '[]', %Q)", desc);

		sql(f, q);
		sqlite3_free(q);
	}
	snprintf(data, sizeof data, "{\"chat\":\"c1\",\"item\":\"501\",\"text\":\"%s\",\"intent\":\"price\"}", longtext);
	b = body(f, data);
	ok(b != NULL, "body: long and broken texts still make valid JSON and UTF-8");
	s = js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 1), "content");
	ok(strlen(s) == 498 && utf8_ok(s), "body: the buyer's text cut to whole characters within 500 bytes (%zu)", strlen(s));
	s = js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 0), "content");
	ok(strstr(s, "商品：你\xEF\xBF\xBD\n价格：1元\n") != NULL, "body: an invalid byte in the title becomes U+FFFD; 100 fen is 1元");
	{
		const char *d = strstr(s, "\n描述："), *e = d ? strchrnul(d + 1, '\n') : NULL;

		ok(d && e - (d + strlen("\n描述：")) == 1500, "body: the desc cut to 1500 bytes (500 characters)");
	}
	cJSON_Delete(b);
	/* the temperature and the price as the fake model reads them */
	b = body(f, "{\"chat\":\"c1\",\"item\":\"500\",\"text\":\"多少钱\",\"temperature\":0,\"intent\":\"price\"}");
	ok(b && cJSON_GetObjectItem(b, "temperature")->valuedouble == 0, "body: temperature 0");
	s = js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 0), "content");
	{
		const char *l = strstr(s, "\n价格："), *g = strstr(s, "\n商品：");

		ok(l && g && !strncmp(l, "\n价格：999.5元\n", strlen("\n价格：999.5元\n")),
		   "body: lines start with 商品： and 价格：<n>元 (the fake model's prefixes)");
	}
	cJSON_Delete(b);
	fh_free(f);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk-agent-ctx-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_intent();
	test_item();
	test_prompts();
	test_history_store();
	test_history_own();
	test_body();
	rmdir(tmpdir);
	return tap_done();
}
