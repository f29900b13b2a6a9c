/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_notify.c - plugins/notify through the fake host (whose
 * sk_http_post records the requests and lets the test answer each): every
 * event kind makes one alert with the ids, headers and body a receiver
 * needs; templates JSON-escape hostile text; dedup and the hourly rate limit
 * with its summary; a flapping session; retries with backoff on the manual
 * clock (no answer, 5xx, 408/429) and giving up on a 4xx; a restart on the
 * same database resumes the pending alerts and never resends a delivered
 * one; the control commands; bad config refused; the header never logged.
 * (The real bot, a real receiver and kill -9: test_notify_e2e.)
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "s3cr3t-t0ken"
#define BASE "\"url\":\"http://hook.test/in?k=1\",\"header\":\"Authorization: Bearer " SECRET "\""

static char so[600];

/* A fake host running notify with BASE plus extra (JSON members), or NULL.
 * Without words in extra, words ["人工"]: the keyword tests were written
 * when that was the default (it is [] now: the hand-over kind alerts on
 * autoreply's words, and one 人工 should make one alert, not two). */
static fh *start(const char *extra)
{
	char sections[4096];
	const char *words = extra && strstr(extra, "\"words\"") ? "" : ",\"words\":[\"人工\"]";
	fh *f;

	snprintf(sections, sizeof sections, "{\"notify\":{" BASE "%s%s%s}}", words, extra && *extra ? "," : "",
		 extra ? extra : "");
	if (!(f = fh_new(sections, NULL)))
		return NULL;
	if (fh_load(f, so, NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

static int64_t q_int(fh *f, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK) {
		diag("sql: %s: %s", sql, sqlite3_errmsg(fh_db(f)));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static const char *q_text(fh *f, const char *sql)
{
	static char out[2048];
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK) {
		diag("sql: %s: %s", sql, sqlite3_errmsg(fh_db(f)));
		return out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

/* The state of the alert with this id. */
static const char *state_of(fh *f, const char *id)
{
	char sql[200];

	snprintf(sql, sizeof sql, "SELECT state FROM notify_alert WHERE alert_id = '%s'", id);
	return q_text(f, sql);
}

/* Request i's body parsed (NULL when it is not JSON); the caller deletes it. */
static cJSON *body(fh *f, size_t i)
{
	const fh_http *r = fh_http_at(f, i);

	return r ? cJSON_ParseWithOpts(r->body, NULL, 1) : NULL;
}

/* A string field of request i's body, in a static buffer ("" when absent). */
static const char *bstr(fh *f, size_t i, const char *key)
{
	static char out[1024];
	cJSON *b = body(f, i);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);

	snprintf(out, sizeof out, "%s", cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(b);
	return out;
}

/* A number field of request i's body, -1 when absent or not a number. */
static double bnum(fh *f, size_t i, const char *key)
{
	cJSON *b = body(f, i);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	cJSON_Delete(b);
	return d;
}

/* A header of request i, in a static buffer ("" when absent). */
static const char *hdr(fh *f, size_t i, const char *name)
{
	static char out[512];

	fh_http_header(f, i, name, out, sizeof out);
	return out;
}

/* The kind of the last request, "" when none. */
static const char *last_kind(fh *f)
{
	return fh_nhttp(f) ? bstr(f, fh_nhttp(f) - 1, "kind") : "";
}

/* Answers the last request with status; returns fh_http_reply's result. */
static int answer(fh *f, int status)
{
	return fh_nhttp(f) ? fh_http_reply(f, fh_nhttp(f) - 1, status, "") : -1;
}

/* Requests not answered and not cancelled. */
static int open_requests(fh *f)
{
	int n = 0;

	for (size_t i = 0; i < fh_nhttp(f); i++)
		n += !fh_http_at(f, i)->answered && !fh_http_at(f, i)->cancelled;
	return n;
}

/* A buyer's chat text with a name and an item. */
static void buyer_says(fh *f, const char *chat, const char *name, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = "b-1";
	e.sender_name = name;
	e.item_id = "40004";
	e.text = text;
	fh_dispatch(f, &e);
}


/* ---- bad config ----------------------------------------------------------------- */

static void test_config(void)
{
	static const struct {
		const char *section, *want;
	} bad[] = {
		{ "{\"url\":\"ftp://x/\"}", "notify.url" },
		{ "{\"url\":\"http://a b/\"}", "notify.url" },
		{ "{\"url\":\"http://x/\",\"header\":\"NoColon\"}", "notify.header" },
		{ "{\"url\":\"http://x/\",\"header\":\"X-A: 1\\r\\nX-Evil: 2\"}", "notify.header" },
		{ "{\"url\":\"http://x/\",\"header\":\"Bad Name: 1\"}", "notify.header" },
		{ "{\"url\":\"http://x/\",\"header\":\"Host: x\"}", "notify.header" },
		{ "{\"url\":\"http://x/\",\"header\":\"x-shopkeep-alert-id: 1\"}", "notify.header" },
		{ "{\"url\":\"http://x/\",\"templates\":[]}", "notify.templates" },
		{ "{\"url\":\"http://x/\",\"templates\":{\"nosuch\":\"{}\"}}", "notify.templates.nosuch" },
		{ "{\"url\":\"http://x/\",\"templates\":{\"keyword\":5}}", "notify.templates.keyword" },
		{ "{\"url\":\"http://x/\",\"templates\":{\"keyword\":\"{\\\"a\\\":\\\"{{nope}}\\\"}\"}}", "unknown placeholder" },
		{ "{\"url\":\"http://x/\",\"templates\":{\"keyword\":\"{\\\"a\\\":{{text}}}\"}}", "not JSON" },
		{ "{\"url\":\"http://x/\",\"templates\":{\"offline\":\"{\\\"a\\\":\\\"{{text\\\"}\"}}", "without its }}" },
		{ "{\"url\":\"http://x/\",\"words\":[\"\"]}", "notify.words[0]" },
		{ "{\"url\":\"http://x/\",\"offline_after_s\":0}", "notify.offline_after_s" },
		{ "{\"url\":\"http://x/\",\"max_per_hour\":0}", "notify.max_per_hour" },
		{ "{\"url\":\"http://x/\",\"retry_base_ms\":10}", "notify.retry_base_ms" },
		{ "{\"url\":\"http://x/\",\"dedup_s\":-1}", "notify.dedup_s" },
		{ "{\"url\":\"http://x/\",\"bogus\":1}", "bogus" },
		{ "{\"url\":\"http://x/\",\"words\":\"人工\"}", "words" },
	};

	/* the example in config/ is a section notify takes */
	{
		const char *root = getenv("SK_ROOT");
		char path[700], *text = NULL, sections[8192];
		cJSON *ex = NULL;
		FILE *fp;
		long n;
		fh *f;

		snprintf(path, sizeof path, "%s/config/notify.example.json", root && *root ? root : ".");
		if ((fp = fopen(path, "rb"))) {
			fseek(fp, 0, SEEK_END);
			n = ftell(fp);
			rewind(fp);
			if (n > 0 && (text = calloc(1, (size_t)n + 1)) && fread(text, 1, (size_t)n, fp) == (size_t)n)
				ex = cJSON_Parse(text);
			fclose(fp);
		}
		free(text);
		text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ex, "notify"));
		snprintf(sections, sizeof sections, "{\"notify\":%s}", text ? text : "null");
		f = text ? fh_new(sections, NULL) : NULL;
		ok(f && fh_load(f, so, NULL) == 0, "config: config/notify.example.json's section is accepted");
		if (f) {
			buyer_says(f, "c1", "小李", "我要投诉");
			ok(fh_nhttp(f) == 1 && strstr(bstr(f, 0, "msgtype"), "text"), "config: and its keyword template gives "
			   "that body (%s)", fh_nhttp(f) ? fh_http_at(f, 0)->body : "-");
		}
		fh_free(f);
		cJSON_free(text);
		cJSON_Delete(ex);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char sections[1024];
		fh *f;

		snprintf(sections, sizeof sections, "{\"notify\":%s}", bad[i].section);
		if (!(f = fh_new(sections, NULL)))
			continue;
		is_int(fh_load(f, so, NULL), -1, "config %s: refused", bad[i].section);
		ok(strstr(fh_error(f), bad[i].want) || fh_log_find(f, bad[i].want), "config %s: the reason names %s",
		   bad[i].section, bad[i].want);
		is_int(fh_log_find(f, "X-Evil") + fh_log_find(f, "Bad Name"), 0, "config %s: no header text logged",
		       bad[i].section);
		is_int(fh_nhttp(f), 0, "config %s: nothing posted", bad[i].section);
		fh_free(f);
	}
}

/* ---- a keyword alert: what the receiver gets -------------------------------------------- */

static void test_keyword(void)
{
	fh *f = start(NULL);
	char id[64];

	if (!ok(f != NULL, "keyword: notify starts"))
		return;
	fh_chat(f, "c1", "b1", "你好");
	fh_chat(f, "c1", FH_OWN_ID, "转人工");
	is_int(fh_nhttp(f), 0, "keyword: no alert for a text without a word, nor for our own text");
	buyer_says(f, "c1", "小王", "我要人工客服");
	if (!ok(fh_nhttp(f) == 1, "keyword: one alert for a buyer's text with 人工"))
		goto out;
	is_str(fh_http_at(f, 0)->url, "http://hook.test/in?k=1", "keyword: POSTed to notify.url");
	snprintf(id, sizeof id, "%s", bstr(f, 0, "id"));
	ok(strlen(id) == 24 && strspn(id, "0123456789abcdef") == 24, "keyword: the body's id is 24 hex digits (%s)", id);
	is_str(hdr(f, 0, "X-Shopkeep-Alert-Id"), id, "keyword: and the same id in X-Shopkeep-Alert-Id");
	is_str(hdr(f, 0, "X-Shopkeep-Kind"), "keyword", "keyword: X-Shopkeep-Kind");
	is_str(hdr(f, 0, "X-Shopkeep-Attempt"), "1", "keyword: X-Shopkeep-Attempt 1");
	is_str(hdr(f, 0, "Authorization"), "Bearer " SECRET, "keyword: the configured header");
	is_str(hdr(f, 0, "Content-Type"), "application/json", "keyword: a JSON body");
	is_str(bstr(f, 0, "kind"), "keyword", "keyword: kind");
	is_str(bstr(f, 0, "account"), FH_ACCOUNT, "keyword: account");
	is_str(bstr(f, 0, "key"), "keyword:c1", "keyword: key");
	is_str(bstr(f, 0, "chat_id"), "c1", "keyword: chat_id");
	is_str(bstr(f, 0, "buyer_name"), "小王", "keyword: buyer_name");
	is_str(bstr(f, 0, "item_id"), "40004", "keyword: item_id");
	is_str(bstr(f, 0, "word"), "人工", "keyword: word");
	is_str(bstr(f, 0, "message"), "我要人工客服", "keyword: message");
	ok(strstr(bstr(f, 0, "text"), "我要人工客服") != NULL, "keyword: a readable text (%s)", bstr(f, 0, "text"));
	ok(bnum(f, 0, "t") > 0, "keyword: t is a number (ms)");
	is_str(state_of(f, id), "pending", "keyword: the row is pending while the POST is out");
	is_int(answer(f, 204), 0, "keyword: the receiver answers 204");
	is_str(state_of(f, id), "delivered", "keyword: delivered");
	fh_advance(f, 3600 * 1000);
	is_int(fh_nhttp(f), 1, "keyword: nothing more is posted");
	is_int(fh_log_find(f, SECRET), 0, "keyword: the header's value is never logged");
	is_int(fh_log_find(f, "hook.test"), 0, "keyword: nor the url");
out:
	fh_free(f);

	f = start("\"words\":[\"help\",\"退款\"]");
	if (!ok(f != NULL, "words: notify starts with its own words"))
		return;
	buyer_says(f, "c1", "", "我要人工");
	is_int(fh_nhttp(f), 0, "words: 人工 is not one of them now");
	buyer_says(f, "c1", "", "HELP me");
	is_int(fh_nhttp(f), 1, "words: ASCII in any case");
	is_str(bstr(f, 0, "word"), "help", "words: the word that matched");
	fh_free(f);
	f = start("\"words\":[]");
	if (ok(f != NULL, "words: [] turns keyword alerts off")) {
		buyer_says(f, "c1", "", "人工");
		is_int(fh_nhttp(f), 0, "words: no alert");
		fh_free(f);
	}
}

/* ---- templates escape what they substitute ---------------------------------------------- */

static void test_template(void)
{
	static const char hostile[] = "a\"},\"x\":\"y\\ \n\t\x01</script>{{id}} 人工";
	fh *f = start("\"templates\":{\"keyword\":\"{\\\"msg\\\":\\\"{{message}}\\\",\\\"who\\\":\\\"{{ buyer_name }}\\\","
		      "\\\"n\\\":{{t}},\\\"ref\\\":\\\"{{id}}\\\",\\\"lit\\\":\\\"{x}\\\"}\"}");
	cJSON *b;

	if (!ok(f != NULL, "template: notify starts with a keyword template"))
		return;
	buyer_says(f, "c9", "\"Bob\"\n\\", hostile);
	if (!ok(fh_nhttp(f) == 1, "template: one alert"))
		goto out;
	b = body(f, 0);
	ok(b != NULL, "template: the body is JSON (%s)", fh_http_at(f, 0)->body);
	is_str(bstr(f, 0, "msg"), hostile, "template: the hostile text comes back exactly, escaped");
	is_str(bstr(f, 0, "who"), "\"Bob\"\n\\", "template: quotes, a newline and a backslash in the name too");
	ok(!cJSON_GetObjectItemCaseSensitive(b, "x"), "template: the text injected no key");
	ok(b && cJSON_GetArraySize(b) == 5, "template: exactly the template's five keys");
	is_str(bstr(f, 0, "ref"), hdr(f, 0, "X-Shopkeep-Alert-Id"), "template: {{id}} is the alert id");
	ok(bnum(f, 0, "n") > 0, "template: {{t}} outside quotes is a number");
	is_str(bstr(f, 0, "lit"), "{x}", "template: single braces are text");
	cJSON_Delete(b);
	answer(f, 200);
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":1,\"low_stock\":3}");
	is_str(last_kind(f), "low_stock", "template: kinds without a template get the default body");
out:
	fh_free(f);
}

/* ---- every kind ------------------------------------------------------------------------- */

static void test_kinds(void)
{
	fh *f = start("\"dedup_s\":0,\"offline_after_s\":60");
	size_t n;

	if (!ok(f != NULL, "kinds: notify starts"))
		return;
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":2,\"low_stock\":5}");
	is_int(fh_nhttp(f), 1, "low_stock: one alert");
	is_str(last_kind(f), "low_stock", "low_stock: its kind");
	ok(!strcmp(bstr(f, 0, "card"), "vip") && bnum(f, 0, "available") == 2 && bnum(f, 0, "threshold") == 5,
	   "low_stock: card, available and threshold (numbers)");
	is_str(bstr(f, 0, "key"), "low_stock:vip", "low_stock: keyed by card");
	answer(f, 200);

	fh_topic(f, "orders", "orders.out_of_stock", "{\"card\":\"vip\",\"order_id\":\"2503\",\"needed\":2,\"available\":0}");
	is_int(fh_nhttp(f), 2, "out_of_stock: one alert");
	ok(!strcmp(last_kind(f), "out_of_stock") && !strcmp(bstr(f, 1, "order_id"), "2503") && bnum(f, 1, "needed") == 2 &&
	   bnum(f, 1, "available") == 0, "out_of_stock: kind, order, needed, available");
	answer(f, 200);
	fh_topic(f, "orders", "orders.delivery_failed", "{\"order_id\":\"2503\",\"reason\":\"out_of_stock: card vip has 0\"}");
	is_int(fh_nhttp(f), 2, "delivery_failed for lack of stock: no second alert (out_of_stock said it)");
	fh_topic(f, "orders", "orders.delivery_failed", "{\"order_id\":\"2504\",\"reason\":\"no_rule: item 1 has no rule\"}");
	is_int(fh_nhttp(f), 3, "delivery_failed: one alert");
	ok(!strcmp(last_kind(f), "delivery_failed") && !strcmp(bstr(f, 2, "order_id"), "2504") &&
	   !strcmp(bstr(f, 2, "reason"), "no_rule: item 1 has no rule"), "delivery_failed: order and reason");
	answer(f, 200);
	fh_topic(f, "evil", "orders.low_stock", "{\"card\":\"vip\",\"available\":0}");
	fh_topic(f, "orders", "orders.delivered", "{\"order_id\":\"2505\"}");
	is_int(fh_nhttp(f), 3, "orders topics from another plugin, and other topics: nothing");

	n = fh_nhttp(f);
	fh_set_state(f, SK_STATE_RECONNECTING);
	fh_advance(f, 59 * 1000);
	is_int(fh_nhttp(f), n, "offline: nothing before offline_after_s");
	fh_set_state(f, SK_STATE_CONNECTING);
	fh_set_state(f, SK_STATE_RECONNECTING);
	fh_advance(f, 1000);
	if (ok(fh_nhttp(f) == n + 1, "offline: one alert at offline_after_s, the state changes in between count as one outage")) {
		is_str(last_kind(f), "offline", "offline: its kind");
		ok(bnum(f, n, "seconds") == 60 && !strcmp(bstr(f, n, "reason"), "fakehost"), "offline: how long and why");
	}
	answer(f, 200);
	fh_advance(f, 600 * 1000);
	is_int(fh_nhttp(f), n + 1, "offline: once per outage");
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(fh_nhttp(f), n + 2, "online: one alert when it is back");
	is_str(last_kind(f), "online", "online: its kind");
	answer(f, 200);

	n = fh_nhttp(f);
	fh_set_state(f, SK_STATE_FAILED);
	is_int(fh_nhttp(f), n + 1, "relogin: FAILED alerts at once");
	is_str(last_kind(f), "relogin", "relogin: its kind");
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTING);
	fh_set_state(f, SK_STATE_FAILED);
	is_int(fh_nhttp(f), n + 1, "relogin: once per outage (the core re-checks FAILED slowly)");
	fh_set_state(f, SK_STATE_CLOSED);
	fh_advance(f, 120 * 1000);
	is_int(fh_nhttp(f), n + 1, "a CLOSED session (shutting down) is no outage: no offline alert");
	fh_free(f);

	/* the toggles */
	f = start("\"low_stock\":false,\"out_of_stock\":false,\"relogin\":false,\"back_online\":false,\"offline_after_s\":1");
	if (!ok(f != NULL, "toggles: notify starts"))
		return;
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":2,\"low_stock\":5}");
	fh_topic(f, "orders", "orders.out_of_stock", "{\"card\":\"vip\",\"order_id\":\"1\",\"needed\":1,\"available\":0}");
	is_int(fh_nhttp(f), 0, "toggles: no low_stock, no out_of_stock alert");
	fh_topic(f, "orders", "orders.delivery_failed", "{\"order_id\":\"1\",\"reason\":\"out_of_stock: none\"}");
	is_str(last_kind(f), "delivery_failed", "toggles: without out_of_stock alerts, delivery_failed tells it");
	answer(f, 200);
	fh_set_state(f, SK_STATE_FAILED);
	fh_advance(f, 1000);
	is_str(last_kind(f), "offline", "toggles: no relogin alert, the offline one still");
	answer(f, 200);
	n = fh_nhttp(f);
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(fh_nhttp(f), n, "toggles: no online alert");
	fh_free(f);
}

/* ---- dedup ------------------------------------------------------------------------------- */

static void test_dedup(void)
{
	fh *f = start("\"dedup_s\":600");
	const char *out;

	if (!ok(f != NULL, "dedup: notify starts"))
		return;
	buyer_says(f, "c1", "", "人工");
	answer(f, 200);
	buyer_says(f, "c1", "", "人工!!");
	buyer_says(f, "c1", "", "人工?");
	is_int(fh_nhttp(f), 1, "dedup: the same chat again within dedup_s: dropped");
	buyer_says(f, "c2", "", "人工");
	is_int(fh_nhttp(f), 2, "dedup: another chat is another key");
	answer(f, 200);
	is_int(q_int(f, "SELECT repeats FROM notify_alert WHERE key = 'keyword:c1'"), 2, "dedup: the row counts 2 repeats");
	is_int(fh_control(f, "notify_list", "{}", &out), 0, "dedup: notify_list");
	ok(strstr(out, "\"dropped_repeats\":2") != NULL, "dedup: notify_list counts the dropped repeats (%s)", out);
	fh_advance(f, 601 * 1000);
	buyer_says(f, "c1", "", "人工");
	is_int(fh_nhttp(f), 3, "dedup: after dedup_s, a new alert");
	fh_free(f);
}

/* ---- the hourly rate limit ----------------------------------------------------------------- */

static void test_rate(void)
{
	fh *f = start("\"dedup_s\":0,\"max_per_hour\":3");
	char sum[64];
	cJSON *b;

	if (!ok(f != NULL, "rate: notify starts"))
		return;
	for (int i = 1; i <= 5; i++) {
		char chat[8];

		snprintf(chat, sizeof chat, "c%d", i);
		buyer_says(f, chat, "", "人工");
		if (open_requests(f))
			answer(f, 200);
	}
	is_int(fh_nhttp(f), 3, "rate: max_per_hour 3: three of five alerts posted");
	is_int(q_int(f, "SELECT count(*) FROM notify_alert WHERE state = 'suppressed'"), 2, "rate: two kept as suppressed");
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":1}");
	is_int(fh_nhttp(f), 3, "rate: any kind counts");
	fh_advance(f, 1800 * 1000);
	is_int(fh_nhttp(f), 3, "rate: nothing while the hour is full");
	fh_advance(f, 1800 * 1000 + 1000);
	if (!ok(fh_nhttp(f) == 4, "rate: one summary when the window has room again"))
		goto out;
	is_str(last_kind(f), "summary", "rate: its kind");
	is_int(bnum(f, 3, "count"), 3, "rate: it counts the held-back alerts");
	ok(strstr(bstr(f, 3, "text"), "2 keyword") && strstr(bstr(f, 3, "text"), "1 low_stock"), "rate: per kind (%s)",
	   bstr(f, 3, "text"));
	snprintf(sum, sizeof sum, "%s", bstr(f, 3, "id"));
	{
		char sql[200];

		snprintf(sql, sizeof sql, "SELECT count(*) FROM notify_alert WHERE state = 'suppressed' AND summary_id = '%s'",
			 sum);
		is_int(q_int(f, sql), 3, "rate: the suppressed rows name their summary");
	}
	answer(f, 200);
	fh_advance(f, 7200 * 1000);
	is_int(fh_nhttp(f), 4, "rate: one summary only");
	buyer_says(f, "c6", "", "人工");
	is_int(fh_nhttp(f), 5, "rate: later alerts go out again");
	b = body(f, 4);
	ok(b && !strcmp(bstr(f, 4, "key"), "keyword:c6"), "rate: the new one");
	cJSON_Delete(b);
out:
	fh_free(f);
}

/* ---- a flapping session --------------------------------------------------------------------- */

static void test_flapping(void)
{
	fh *f = start("\"dedup_s\":600,\"offline_after_s\":60");
	int cycles = 0;

	if (!ok(f != NULL, "flapping: notify starts"))
		return;
	for (int i = 0; i < 200; i++) {
		fh_set_state(f, SK_STATE_RECONNECTING);
		fh_advance(f, 20 * 1000);
		fh_set_state(f, SK_STATE_CONNECTED);
		fh_advance(f, 500);
	}
	is_int(fh_nhttp(f), 0, "flapping: 200 short outages (20 s < offline_after_s): no alert");
	for (int i = 0; i < 5; i++) {
		fh_set_state(f, SK_STATE_RECONNECTING);
		fh_advance(f, 61 * 1000);
		fh_set_state(f, SK_STATE_CONNECTED);
		while (open_requests(f))
			answer(f, 200);
		cycles++;
	}
	is_int(fh_nhttp(f), 2, "flapping: %d long outages within dedup_s: one offline and one online alert", cycles);
	ok(!strcmp(bstr(f, 0, "kind"), "offline") && !strcmp(bstr(f, 1, "kind"), "online"), "flapping: offline, then online");
	fh_free(f);
}

/* ---- retries and backoff ----------------------------------------------------------------------- */

static void test_retry(void)
{
	fh *f = start("\"dedup_s\":0,\"retry_base_ms\":1000,\"retry_max_s\":4");
	char id[64], first_body[2048];

	if (!ok(f != NULL, "retry: notify starts"))
		return;
	buyer_says(f, "c1", "", "人工");
	snprintf(id, sizeof id, "%s", bstr(f, 0, "id"));
	snprintf(first_body, sizeof first_body, "%s", fh_http_at(f, 0)->body);
	fh_http_reply(f, 0, SK_ERR_IO, NULL);
	is_str(state_of(f, id), "pending", "retry: no answer: still pending");
	buyer_says(f, "c2", "", "人工");
	is_int(fh_nhttp(f), 1, "retry: while the receiver is down the next alert waits (one at a time)");
	fh_advance(f, 999);
	is_int(fh_nhttp(f), 1, "retry: not before retry_base_ms");
	fh_advance(f, 1);
	if (!ok(fh_nhttp(f) == 2, "retry: again after retry_base_ms"))
		goto out;
	is_str(hdr(f, 1, "X-Shopkeep-Alert-Id"), id, "retry: the same alert id");
	is_str(fh_http_at(f, 1)->body, first_body, "retry: the same body, byte for byte");
	is_str(hdr(f, 1, "X-Shopkeep-Attempt"), "2", "retry: X-Shopkeep-Attempt 2");
	answer(f, 500);
	fh_advance(f, 1999);
	is_int(fh_nhttp(f), 2, "retry: a 500: the delay doubles");
	fh_advance(f, 1);
	is_int(fh_nhttp(f), 3, "retry: attempt 3 after 2 s");
	answer(f, 429);
	fh_advance(f, 3999);
	is_int(fh_nhttp(f), 3, "retry: a 429 is retried too, 4 s later");
	fh_advance(f, 1);
	is_int(fh_nhttp(f), 4, "retry: attempt 4");
	answer(f, 408);
	fh_advance(f, 3999);
	is_int(fh_nhttp(f), 4, "retry: a 408 is retried; the delay stays at retry_max_s");
	fh_advance(f, 1);
	is_int(fh_nhttp(f), 5, "retry: attempt 5");
	is_str(hdr(f, 4, "X-Shopkeep-Alert-Id"), id, "retry: still the same id");
	answer(f, 200);
	is_str(state_of(f, id), "delivered", "retry: delivered at last");
	is_int(q_int(f, "SELECT attempts FROM notify_alert WHERE key = 'keyword:c1'"), 5, "retry: after 5 attempts");
	is_int(fh_nhttp(f), 6, "retry: the waiting alert goes out at once after the success");
	is_str(bstr(f, 5, "key"), "keyword:c2", "retry: it is the second one");
	is_str(hdr(f, 5, "X-Shopkeep-Attempt"), "1", "retry: its first attempt");
	answer(f, 200);

	/* a 4xx gives up */
	buyer_says(f, "c3", "", "人工");
	snprintf(id, sizeof id, "%s", bstr(f, 6, "id"));
	answer(f, 404);
	is_str(state_of(f, id), "failed", "4xx: a 404 gives up: failed");
	ok(fh_log_find(f, "HTTP 404") >= 1, "4xx: logged with the status");
	fh_advance(f, 3600 * 1000);
	is_int(fh_nhttp(f), 7, "4xx: never tried again");
	buyer_says(f, "c4", "", "人工");
	is_int(fh_nhttp(f), 8, "4xx: the next alert is posted at once (no pause after a refusal)");
	answer(f, 400);
	{
		const char *out;

		is_int(fh_control(f, "notify_retry", "{\"failed\":true}", &out), 0, "notify_retry failed:true");
		is_int(fh_nhttp(f), 9, "4xx: notify_retry with failed gives a failed alert another go");
		answer(f, 200);
		is_int(fh_nhttp(f), 10, "4xx: and the other failed one after it");
		answer(f, 200);
		is_int(q_int(f, "SELECT count(*) FROM notify_alert WHERE state = 'failed'"), 0, "4xx: none failed now");
	}
	fh_fail_http(f, 1);
	buyer_says(f, "c5", "", "人工");
	is_int(fh_nhttp(f), 10, "cannot start: nothing recorded");
	is_int(q_int(f, "SELECT attempts FROM notify_alert WHERE key = 'keyword:c5'"), 1, "cannot start: counts as an attempt");
	fh_fail_http(f, 0);
	fh_advance(f, 1000);
	is_int(fh_nhttp(f), 11, "cannot start: retried after the backoff");
out:
	fh_free(f);
}

/* An alert the receiver never took within expire_s is dropped, said in the
 * log and kept as expired; the ones behind it go out. */
static void test_expire(void)
{
	fh *f = start("\"dedup_s\":0,\"retry_base_ms\":60000,\"retry_max_s\":600,\"expire_s\":3600");
	char id1[64], id2[64];
	const char *out;
	int steps = 0;

	if (!ok(f != NULL, "expire: notify starts"))
		return;
	buyer_says(f, "c1", "", "人工");
	snprintf(id1, sizeof id1, "%s", bstr(f, 0, "id"));
	fh_http_reply(f, 0, SK_ERR_IO, NULL);
	fh_advance(f, 1800 * 1000);
	buyer_says(f, "c2", "", "人工");
	snprintf(id2, sizeof id2, "%s", q_text(f, "SELECT alert_id FROM notify_alert WHERE key = 'keyword:c2'"));
	/* the receiver stays down: every attempt of the first alert fails */
	while (strcmp(state_of(f, id1), "expired") && steps++ < 200) {
		for (size_t i = 0; i < fh_nhttp(f); i++)
			if (strcmp(bstr(f, i, "id"), id2))
				fh_http_reply(f, i, SK_ERR_IO, NULL);
		if (fh_nhttp(f) && !strcmp(bstr(f, fh_nhttp(f) - 1, "id"), id2))
			break;
		fh_advance(f, 30 * 1000);
	}
	is_str(state_of(f, id1), "expired", "expire: undelivered for expire_s: expired");
	ok(fh_now_ms(f) - q_int(f, "SELECT created_ms FROM notify_alert WHERE key = 'keyword:c1'") >= 3600 * 1000,
	   "expire: not before expire_s");
	ok(fh_log_find(f, "expired") >= 1, "expire: and the log says so");
	ok(!strncmp(q_text(f, "SELECT last_error FROM notify_alert WHERE key = 'keyword:c1'"), "undelivered for ", 16) &&
	   strstr(q_text(f, "SELECT last_error FROM notify_alert WHERE key = 'keyword:c1'"), "s: expired"),
	   "expire: its last_error says why (%s)", q_text(f, "SELECT last_error FROM notify_alert WHERE key = 'keyword:c1'"));
	is_str(bstr(f, fh_nhttp(f) - 1, "id"), id2, "expire: the younger alert behind it is posted");
	answer(f, 200);
	is_str(state_of(f, id2), "delivered", "expire: and delivered");
	is_int(fh_control(f, "notify_list", "{\"state\":\"expired\"}", &out), 0, "expire: notify_list state expired");
	ok(out && strstr(out, id1) != NULL, "expire: lists it");
	fh_free(f);
}

/* ---- a restart on the same database ----------------------------------------------------------- */

static void test_restart(void)
{
	fh *f = start("\"dedup_s\":0,\"retry_base_ms\":60000");
	char a1[64], a2[64], a3[64];
	size_t k;

	if (!ok(f != NULL, "restart: notify starts"))
		return;
	buyer_says(f, "c1", "", "人工");
	snprintf(a1, sizeof a1, "%s", bstr(f, 0, "id"));
	answer(f, 200);
	buyer_says(f, "c2", "", "人工");
	snprintf(a2, sizeof a2, "%s", bstr(f, 1, "id"));
	answer(f, 503);
	fh_advance(f, 60000);
	is_int(fh_nhttp(f), 3, "restart: a2 failed once, its retry is out");
	buyer_says(f, "c3", "", "人工");
	is_int(fh_nhttp(f), 3, "restart: a3 waits behind it");
	k = fh_nhttp(f) - 1;
	fh_unload(f);
	ok(fh_http_at(f, k)->cancelled, "restart: unloading cancels the POST in flight");
	is_int(q_int(f, "SELECT count(*) FROM notify_alert WHERE state = 'pending'"), 2, "restart: a2 and a3 stay pending");
	ok(fh_load(f, so, NULL) == 0, "restart: notify loads again on the same database");
	if (!ok(fh_nhttp(f) == 4, "restart: init posts the oldest pending alert at once"))
		goto out;
	is_str(hdr(f, 3, "X-Shopkeep-Alert-Id"), a2, "restart: a2, under its own id");
	answer(f, 200);
	is_int(fh_nhttp(f), 5, "restart: then a3");
	snprintf(a3, sizeof a3, "%s", hdr(f, 4, "X-Shopkeep-Alert-Id"));
	is_str(bstr(f, 4, "key"), "keyword:c3", "restart: a3 is c3's alert");
	answer(f, 200);
	fh_advance(f, 3600 * 1000);
	is_int(fh_nhttp(f), 5, "restart: nothing more");
	{
		int a1_again = 0;

		for (size_t i = 1; i < fh_nhttp(f); i++)
			a1_again += !strcmp(hdr(f, i, "X-Shopkeep-Alert-Id"), a1);
		is_int(a1_again, 0, "restart: the delivered a1 was never resent");
	}
	ok(!strcmp(state_of(f, a1), "delivered") && !strcmp(state_of(f, a2), "delivered") &&
	   !strcmp(state_of(f, a3), "delivered"), "restart: all three delivered");
	fh_unload(f);
	ok(fh_load(f, so, NULL) == 0 && fh_nhttp(f) == 5, "restart: a second restart posts nothing");
out:
	fh_free(f);
}

/* ---- SIGHUP: the section read again ---------------------------------------------------------- */

/* Replaces the sections and announces "core.reload" as the core does on SIGHUP. */
static void reload(fh *f, cJSON *sections)
{
	sbuf errs = { 0 };

	if (host_config_replace(fh_host(f), sections, &errs))
		diag("host_config_replace: %s", errs.p ? errs.p : "?");
	sbuf_free(&errs);
	fh_topic(f, "core", "core.reload", "{}");
}

static void test_reload(void)
{
	fh *f = start("\"words\":[]");
	cJSON *s1 = cJSON_Parse("{\"notify\":{\"url\":\"http://other.test/h\",\"words\":[\"人工\"]}}");
	cJSON *s2 = cJSON_Parse("{\"notify\":{\"url\":\"ftp://bad/\",\"words\":[]}}");

	if (!ok(f != NULL, "reload: notify starts without words"))
		goto out;
	buyer_says(f, "c1", "", "人工");
	is_int(fh_nhttp(f), 0, "reload: no keyword alert");
	reload(f, s1);
	ok(fh_log_find(f, "config read again") == 1, "reload: the section is read again on core.reload");
	buyer_says(f, "c1", "", "人工");
	ok(fh_nhttp(f) == 1 && !strcmp(fh_http_at(f, 0)->url, "http://other.test/h"), "reload: the new words and url apply");
	is_str(hdr(f, 0, "Authorization"), "", "reload: the header is gone with the old section");
	answer(f, 200);
	reload(f, s2);
	ok(fh_log_find(f, "the old one stays in force") == 1, "reload: a bad section changes nothing (logged)");
	buyer_says(f, "c2", "", "人工");
	ok(fh_nhttp(f) == 2 && !strcmp(fh_http_at(f, 1)->url, "http://other.test/h"), "reload: the old section stays");
out:
	fh_free(f);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

/* ---- control commands --------------------------------------------------------------------------- */

static void test_control(void)
{
	fh *f = start(NULL);
	const char *out;
	cJSON *j;

	if (!ok(f != NULL, "control: notify starts"))
		return;
	is_int(fh_control(f, "notify_test", "{\"text\":\"hello \\\"there\\\"\"}", &out), 0, "notify_test");
	j = cJSON_Parse(out);
	ok(j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "id")) &&
	   !strcmp(cJSON_GetObjectItemCaseSensitive(j, "state")->valuestring, "pending"), "notify_test: {id, state} (%s)", out);
	if (fh_nhttp(f) == 1 && j)
		is_str(hdr(f, 0, "X-Shopkeep-Alert-Id"), cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring,
		       "notify_test: the alert is posted");
	cJSON_Delete(j);
	is_str(bstr(f, 0, "kind"), "test", "notify_test: kind test");
	is_str(bstr(f, 0, "text"), "hello \"there\"", "notify_test: with the text");
	is_int(fh_control(f, "notify_test", "{}", &out), 0, "notify_test again (never deduplicated)");
	answer(f, 200);
	is_int(fh_nhttp(f), 2, "notify_test: the second one after the first");
	is_int(fh_control(f, "notify_list", "{\"limit\":1}", &out), 0, "notify_list");
	j = cJSON_Parse(out);
	ok(j && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "alerts")) == 1 &&
	   cJSON_GetObjectItemCaseSensitive(j, "pending")->valuedouble == 1, "notify_list: limit 1, one pending (%s)", out);
	cJSON_Delete(j);
	is_int(fh_control(f, "notify_list", "{\"state\":\"delivered\"}", &out), 0, "notify_list by state");
	ok(strstr(out, "\"state\":\"delivered\"") && !strstr(out, "\"state\":\"pending\""), "notify_list: only delivered (%s)",
	   out);
	ok(fh_control(f, "notify_list", "{\"state\":\"bogus\"}", &out) == SK_ERR_INVAL && strstr(out, "state"),
	   "notify_list: a bad state is refused (%s)", out);
	ok(fh_control(f, "notify_list", "{\"limit\":0}", &out) == SK_ERR_INVAL, "notify_list: a bad limit is refused");
	ok(fh_control(f, "notify_test", "{\"text\":5}", &out) == SK_ERR_INVAL && strstr(out, "text"),
	   "notify_test: a text that is not a string is refused");
	ok(fh_control(f, "notify_retry", "[1]", &out) == SK_ERR_INVAL, "notify_retry: data that is not an object");
	is_int(fh_control(f, "notify_retry", "{}", &out), 0, "notify_retry");
	is_str(out, "{\"pending\":1}", "notify_retry: one pending (in flight)");
	fh_free(f);
}

/* The FAILED alerts by the event's fail_kind (ABI 1.4): risk with the
 * punish URL, kicked, relogin for login and retries; each once per outage
 * and kind; their toggles. */
static void test_fail_kinds(void)
{
	const char *url = "https://h5api.m.goofish.com/h5/x/1.0/_____tmd_____/punish?x5secdata=abc&x5step=1";
	fh *f = start("\"dedup_s\":0");
	size_t n;

	if (!ok(f != NULL, "fail kinds: notify starts"))
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	fh_set_state_kind(f, SK_STATE_FAILED, "risk", url);
	if (ok(fh_nhttp(f) == 1, "risk: FAILED (risk) alerts at once")) {
		is_str(last_kind(f), "risk", "risk: its kind");
		is_str(bstr(f, 0, "punish_url"), url, "risk: the punish URL is in the body");
		ok(strstr(bstr(f, 0, "text"), url) != NULL, "risk: ... and in the text");
	}
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTING);
	fh_set_state_kind(f, SK_STATE_FAILED, "risk", url);
	is_int(fh_nhttp(f), 1, "risk: once per outage (the core re-checks FAILED slowly)");
	fh_set_state_kind(f, SK_STATE_FAILED, "kicked", "");
	fh_set_state(f, SK_STATE_CONNECTING);
	fh_set_state_kind(f, SK_STATE_FAILED, "kicked", "");
	if (ok(fh_nhttp(f) == 2, "kicked: another kind in the same outage alerts once"))
		is_str(last_kind(f), "kicked", "kicked: its kind");
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTED);
	n = fh_nhttp(f);
	fh_set_state_kind(f, SK_STATE_FAILED, "kicked", "");
	if (ok(fh_nhttp(f) == n + 1, "kicked: a new outage alerts again"))
		is_str(last_kind(f), "kicked", "kicked: its kind again");
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTED);
	n = fh_nhttp(f);
	fh_set_state_kind(f, SK_STATE_FAILED, "login", "");
	if (ok(fh_nhttp(f) == n + 1, "login: alerts"))
		is_str(last_kind(f), "relogin", "login: the relogin alert");
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTED);
	n = fh_nhttp(f);
	fh_set_state_kind(f, SK_STATE_FAILED, "retries", "");
	if (ok(fh_nhttp(f) == n + 1, "retries: alerts"))
		is_str(last_kind(f), "relogin", "retries: the relogin alert");
	answer(f, 200);
	fh_set_state(f, SK_STATE_CONNECTED);
	fh_free(f);

	f = start("\"dedup_s\":0,\"risk\":false,\"kicked\":false,\"offline_after_s\":1");
	if (!ok(f != NULL, "fail kind toggles: notify starts"))
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	fh_set_state_kind(f, SK_STATE_FAILED, "risk", url);
	fh_set_state(f, SK_STATE_CONNECTING);
	fh_set_state_kind(f, SK_STATE_FAILED, "kicked", "");
	is_int(fh_nhttp(f), 0, "toggles: risk false, kicked false: no alert (and no relogin instead)");
	fh_advance(f, 1000);
	is_str(last_kind(f), "offline", "toggles: the offline alert still");
	fh_free(f);
}

int main(void)
{
	fh_build_path(so, sizeof so, "plugins/notify.so");
	test_config();
	test_keyword();
	test_template();
	test_kinds();
	test_fail_kinds();
	test_dedup();
	test_rate();
	test_flapping();
	test_retry();
	test_expire();
	test_restart();
	test_reload();
	test_control();
	return tap_done();
}
