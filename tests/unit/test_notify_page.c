/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_notify_page.c - what issue 22 added to plugins/notify,
 * through the fake host: notify_settings / notify_configure (saved in
 * notify_page over the config file, applied at once, kept across a
 * restart, checked like the config), the secrets masked in every answer and
 * never logged, no url (alerts kept pending with "no webhook set" and posted
 * once a url is set), the hand-over kind on autoreply.handover, the kinds'
 * switches, words [] by default, the default texts in Chinese.
 * (The rest of notify: test_notify.)
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "abcdef0123456789secretyz"
#define HSECRET "Bearer h3ad3r-s3cr3t"
#define PAGE_URL "https://oapi.example.com/robot/send?access_token=" TOKEN "&x=1"

static char so[600];

/* A fake host running notify with the section {section}, or NULL. */
static fh *start(const char *section)
{
	char sections[4096];
	fh *f;

	snprintf(sections, sizeof sections, "{\"notify\":{%s}}", section);
	if (!(f = fh_new(sections, NULL)))
		return NULL;
	if (fh_load(f, so, NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* Request i's body field key ("" when absent), in a static buffer. */
static const char *bstr(fh *f, size_t i, const char *key)
{
	static char out[1024];
	const fh_http *r = fh_http_at(f, i);
	cJSON *b = r ? cJSON_Parse(r->body) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);

	snprintf(out, sizeof out, "%s", cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(b);
	return out;
}


/* A string member at a dotted path of j ("" when absent), in a static buffer. */
static const char *js(const cJSON *j, const char *a, const char *b)
{
	static char out[1024];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	snprintf(out, sizeof out, "%s", cJSON_IsString(v) ? v->valuestring : cJSON_IsTrue(v) ? "true" :
		 cJSON_IsFalse(v) ? "false" : "");
	return out;
}


static void buyer_says(fh *f, const char *chat, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = "b-1";
	e.sender_name = "小李";
	e.item_id = "40004";
	e.text = text;
	fh_dispatch(f, &e);
}

/* ---- masking ------------------------------------------------------------------------------ */

static void test_mask(void)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "https://oapi.example.com/robot/send?access_token=abcdef0123456789yz",
		  "https://oapi.example.com/robot/send?access_token=ab****yz" },
		{ "http://hook.test/in?k=1", "http://hook.test/in?k=****" },
		{ "http://hook.test/in?a=12345&b=&c=123456789", "http://hook.test/in?a=1****5&b=****&c=12****89" },
		{ "https://user:pa55w0rd@hook.test/x", "https://****@hook.test/x" },
		{ "https://user:p@55w0rd@hook.test/x", "https://****@hook.test/x" },
		{ "https://hook.test/p?tok3nvalue#frag", "https://hook.test/p?to****ue#****" },
		{ "https://hook.test/plain/path", "https://hook.test/plain/path" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char sec[600];
		fh *f;
		cJSON *j;

		snprintf(sec, sizeof sec, "\"url\":\"%s\"", cases[i].url);
		if (!(f = start(sec)))
			continue;
		j = fh_control_json(f, "notify_settings", "{}", NULL, NULL);
		is_str(js(j, "url", NULL), cases[i].want, "mask: %s", cases[i].url);
		cJSON_Delete(j);
		fh_free(f);
	}
}

/* ---- settings from the page ------------------------------------------------------------------- */

static void test_settings(void)
{
	fh *f = start("\"url\":\"http://hook.test/in?key=c0nfigsecret\",\"header\":\"Authorization: " HSECRET "\"");
	const char *raw;
	cJSON *j;
	int rc;

	if (!ok(f != NULL, "settings: notify starts"))
		return;
	j = fh_control_json(f, "notify_settings", "{}", &rc, &raw);
	is_int(rc, 0, "notify_settings answers");
	is_str(js(j, "url", NULL), "http://hook.test/in?key=c0****et", "the config's url, masked");
	is_str(js(j, "url_set", NULL), "true", "url_set");
	is_str(js(j, "header", NULL), "Authorization: ****", "the header keeps its name only");
	is_str(js(j, "header_set", NULL), "true", "header_set");
	is_str(js(j, "source", "url"), "config", "source.url config");
	is_str(js(j, "kinds", "handover"), "true", "kinds.handover on by default");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "words")), 0, "words [] by default");
	ok(!strstr(raw, "c0nfigsecret") && !strstr(raw, "h3ad3r"), "no secret in the answer");
	cJSON_Delete(j);

	j = fh_control_json(f, "notify_configure", "{\"url\":\"" PAGE_URL "\",\"header\":\"X-Token: " HSECRET "\","
		"\"templates\":{\"test\":\"{\\\"msg\\\":\\\"{{text}}\\\",\\\"k\\\":\\\"{{kind}}\\\"}\"},"
		"\"kinds\":{\"low_stock\":false},\"words\":[\"退款\"]}", &rc, &raw);
	is_int(rc, 0, "notify_configure answers");
	is_str(js(j, "url", NULL), "https://oapi.example.com/robot/send?access_token=ab****yz&x=****",
	       "the page's url, masked");
	is_str(js(j, "header", NULL), "X-Token: ****", "the page's header, masked");
	is_str(js(j, "source", "url"), "page", "source.url page");
	is_str(js(j, "source", "words"), "page", "source.words page");
	is_str(js(j, "kinds", "low_stock"), "false", "kinds.low_stock off");
	is_str(js(j, "kinds", "handover"), "true", "the other kinds unchanged");
	ok(!strstr(raw, TOKEN) && !strstr(raw, "h3ad3r"), "no secret in the answer");
	cJSON_Delete(j);
	is_int(fh_q_int(f, "SELECT count(*) FROM notify_page"), 5, "five settings saved in notify_page");

	/* applied at once */
	cJSON_Delete(fh_control_json(f, "notify_test", "{\"text\":\"你好\"}", &rc, NULL));
	if (ok(fh_nhttp(f) == 1, "a test alert is posted")) {
		char h[200];

		is_str(fh_http_at(f, 0)->url, PAGE_URL, "to the page's url");
		fh_http_header(f, 0, "X-Token", h, sizeof h);
		is_str(h, HSECRET, "with the page's header");
		fh_http_header(f, 0, "Authorization", h, sizeof h);
		is_str(h, "", "not the config's");
		is_str(bstr(f, 0, "msg"), "你好", "with the page's template");
		fh_http_reply(f, 0, 200, "");
	}
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":1,\"low_stock\":3}");
	is_int(fh_nhttp(f), 1, "kinds.low_stock false: no alert");
	buyer_says(f, "c1", "我要退款");
	ok(fh_nhttp(f) == 2 && !strcmp(bstr(f, 1, "kind"), "keyword"), "the page's words: a keyword alert");
	fh_http_reply(f, 1, 200, "");

	/* refused like the config, nothing changed */
	{
		static const struct {
			const char *data, *want;
		} bad[] = {
			{ "{\"url\":\"ftp://x/\"}", "notify.url" },
			{ "{\"url\":\"http://a b/\"}", "notify.url" },
			{ "{\"url\":5}", "url" },
			{ "{\"header\":\"NoColon\"}", "notify.header" },
			{ "{\"header\":\"X-A: 1\\r\\nX-Evil: 2\"}", "notify.header" },
			{ "{\"header\":\"Host: x\"}", "notify.header" },
			{ "{\"templates\":{\"keyword\":\"{\\\"a\\\":{{text}}}\"}}", "templates.keyword" },
			{ "{\"templates\":{\"handover\":\"{\\\"a\\\":\\\"{{nope}}\\\"}\"}}", "templates.handover" },
			{ "{\"templates\":{\"nosuch\":\"{}\"}}", "templates.nosuch" },
			{ "{\"templates\":[]}", "templates" },
			{ "{\"kinds\":{\"nosuch\":true}}", "kinds.nosuch" },
			{ "{\"kinds\":{\"offline\":1}}", "kinds.offline" },
			{ "{\"words\":[\"\"]}", "words[0]" },
			{ "{\"words\":\"人工\"}", "words" },
			{ "{\"bogus\":1}", "bogus" },
			{ "[1]", "object" },
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			cJSON_Delete(fh_control_json(f, "notify_configure", bad[i].data, &rc, &raw));
			ok(rc == SK_ERR_INVAL && strstr(raw, bad[i].want), "configure %s: refused naming %s (%s)",
			   bad[i].data, bad[i].want, raw);
		}
		j = fh_control_json(f, "notify_settings", "{}", NULL, NULL);
		ok(!strcmp(js(j, "url", NULL), "https://oapi.example.com/robot/send?access_token=ab****yz&x=****") &&
		   !strcmp(js(j, "kinds", "low_stock"), "false"), "after the refusals, the settings are unchanged");
		cJSON_Delete(j);
		is_int(fh_log_find(f, "X-Evil"), 0, "the refused header's text is not logged");
	}

	/* kept across a restart */
	fh_unload(f);
	if (ok(fh_load(f, so, NULL) == 0, "restart")) {
		j = fh_control_json(f, "notify_settings", "{}", NULL, NULL);
		is_str(js(j, "source", "url"), "page", "the page's url after a restart");
		is_str(js(j, "kinds", "low_stock"), "false", "and its kinds");
		cJSON_Delete(j);
	}

	/* "" clears the page's value: the config's again */
	j = fh_control_json(f, "notify_configure", "{\"url\":\"\",\"header\":\"\",\"templates\":{},\"kinds\":\"\",\"words\":\"\"}",
		&rc, NULL);
	is_int(rc, 0, "configure with \"\": cleared");
	is_str(js(j, "url", NULL), "http://hook.test/in?key=c0****et", "the config's url again");
	is_str(js(j, "source", "url"), "config", "source.url config again");
	is_str(js(j, "kinds", "low_stock"), "true", "kinds as configured again");
	is_str(js(j, "source", "words"), "none", "no words anywhere");
	cJSON_Delete(j);
	is_int(fh_q_int(f, "SELECT count(*) FROM notify_page"), 0, "notify_page empty");

	is_int(fh_log_find(f, TOKEN) + fh_log_find(f, "h3ad3r") + fh_log_find(f, "c0nfigsecret"), 0,
	       "no secret in any log line");
	is_int(fh_log_find(f, "oapi.example.com") + fh_log_find(f, "hook.test"), 0, "nor the urls");
	ok(fh_log_find(f, "settings changed from the page") >= 1, "the change is logged (names only)");
	fh_free(f);
}

/* ---- without a url --------------------------------------------------------------------------- */

static void test_no_url(void)
{
	fh *f = start("\"dedup_s\":0");
	const char *raw;
	cJSON *j, *a;
	int rc;

	if (!ok(f != NULL, "no url: notify starts without one"))
		return;
	ok(fh_log_find(f, "no webhook set") >= 1, "no url: said in the log");
	fh_topic(f, "autoreply", "autoreply.handover", "{\"chat_id\":\"c7\",\"buyer_id\":\"b7\",\"buyer_name\":\"小王\","
	      "\"item_id\":\"40004\",\"text\":\"转人工\",\"word\":\"人工\"}");
	cJSON_Delete(fh_control_json(f, "notify_test", "{}", &rc, NULL));
	is_int(fh_nhttp(f), 0, "no url: nothing posted");
	j = fh_control_json(f, "notify_list", "{}", &rc, &raw);
	a = cJSON_GetObjectItemCaseSensitive(j, "alerts");
	is_int(cJSON_GetArraySize(a), 2, "no url: both alerts kept (notify_list)");
	is_str(js(cJSON_GetArrayItem(a, 0), "state", NULL), "pending", "no url: pending");
	is_str(js(cJSON_GetArrayItem(a, 0), "last_error", NULL), "no webhook set", "no url: last_error says why");
	is_str(js(cJSON_GetArrayItem(a, 1), "last_error", NULL), "no webhook set", "no url: on both");
	cJSON_Delete(j);
	j = fh_control_json(f, "notify_settings", "{}", NULL, NULL);
	ok(!strcmp(js(j, "url_set", NULL), "false") && !strcmp(js(j, "url", NULL), "") &&
	   !strcmp(js(j, "source", "url"), "none"), "no url: url_set false, source none");
	cJSON_Delete(j);
	fh_advance(f, 3600 * 1000);
	is_int(fh_nhttp(f), 0, "no url: an hour later, still nothing posted");
	cJSON_Delete(fh_control_json(f, "notify_configure", "{\"url\":\"http://late.test/hook\"}", &rc, NULL));
	is_int(rc, 0, "no url: a url set from the page");
	if (ok(fh_nhttp(f) == 1, "the oldest waiting alert is posted at once")) {
		is_str(fh_http_at(f, 0)->url, "http://late.test/hook", "to that url");
		is_str(bstr(f, 0, "kind"), "handover", "the hand-over first");
		fh_http_reply(f, 0, 200, "");
	}
	if (ok(fh_nhttp(f) == 2, "then the next")) {
		is_str(bstr(f, 1, "kind"), "test", "the test alert");
		fh_http_reply(f, 1, 200, "");
	}
	is_int(fh_q_int(f, "SELECT count(*) FROM notify_alert WHERE state = 'delivered' AND last_error = ''"), 2,
	       "both delivered, the error cleared");
	fh_free(f);
}

/* ---- the hand-over kind, words [], Chinese texts ------------------------------------------------- */

static void test_handover(void)
{
	fh *f = start("\"url\":\"http://hook.test/h\"");
	const char *pl = "{\"chat_id\":\"c1\",\"buyer_id\":\"b1\",\"buyer_name\":\"小李\",\"item_id\":\"40004\","
			 "\"text\":\"我要人工\",\"word\":\"人工\"}";
	int rc;

	if (!ok(f != NULL, "handover: notify starts"))
		return;
	buyer_says(f, "c1", "我要人工");
	is_int(fh_nhttp(f), 0, "words [] by default: no keyword alert for 人工");
	fh_topic(f, "autoreply", "autoreply.handover", pl);
	if (ok(fh_nhttp(f) == 1, "autoreply.handover: one alert")) {
		is_str(bstr(f, 0, "kind"), "handover", "kind handover");
		is_str(bstr(f, 0, "text"), "买家 小李 要求人工：我要人工", "the Chinese text");
		is_str(bstr(f, 0, "key"), "handover:c1", "key handover:<chat>");
		is_str(bstr(f, 0, "chat_id"), "c1", "chat_id");
		is_str(bstr(f, 0, "buyer_id"), "b1", "buyer_id");
		is_str(bstr(f, 0, "buyer_name"), "小李", "buyer_name");
		is_str(bstr(f, 0, "item_id"), "40004", "item_id");
		is_str(bstr(f, 0, "word"), "人工", "word");
		is_str(bstr(f, 0, "message"), "我要人工", "message");
		fh_http_reply(f, 0, 200, "");
	}
	fh_topic(f, "autoreply", "autoreply.handover", pl);
	is_int(fh_nhttp(f), 1, "the same chat again within dedup_s: dropped");
	fh_topic(f, "orders", "autoreply.handover", pl);
	fh_topic(f, "autoreply", "autoreply.handover", "not json");
	is_int(fh_nhttp(f), 1, "from another plugin, or not JSON: nothing");
	cJSON_Delete(fh_control_json(f, "notify_configure", "{\"kinds\":{\"handover\":false}}", &rc, NULL));
	fh_topic(f, "autoreply", "autoreply.handover", "{\"chat_id\":\"c2\",\"buyer_id\":\"b2\",\"text\":\"人工\"}");
	is_int(fh_nhttp(f), 1, "kinds.handover false: no alert");
	cJSON_Delete(fh_control_json(f, "notify_configure", "{\"kinds\":{\"handover\":true},\"templates\":{\"handover\":"
			 "\"{\\\"who\\\":\\\"{{buyer_id}}\\\",\\\"w\\\":\\\"{{word}}\\\"}\"}}", &rc, NULL));
	fh_topic(f, "autoreply", "autoreply.handover", "{\"chat_id\":\"c3\",\"buyer_id\":\"b3\",\"text\":\"真人\","
	      "\"word\":\"真人\"}");
	ok(fh_nhttp(f) == 2 && !strcmp(bstr(f, 1, "who"), "b3") && !strcmp(bstr(f, 1, "w"), "真人"),
	   "on again, with a template of its placeholders");
	fh_http_reply(f, 1, 200, "");

	/* default texts in Chinese */
	cJSON_Delete(fh_control_json(f, "notify_test", "{}", &rc, NULL));
	ok(fh_nhttp(f) == 3 && !strcmp(bstr(f, 2, "text"), "来自 shopkeep 的测试提醒"), "test: the Chinese default text");
	fh_http_reply(f, 2, 200, "");
	fh_topic(f, "orders", "orders.low_stock", "{\"card\":\"vip\",\"available\":1,\"low_stock\":3}");
	ok(fh_nhttp(f) == 4 && !strcmp(bstr(f, 3, "text"), "卡密 vip 库存偏低：剩余 1 个（预警值 3）"),
	   "low_stock: in Chinese (%s)", bstr(f, 3, "text"));
	fh_http_reply(f, 3, 200, "");
	fh_topic(f, "orders", "orders.delivery_failed", "{\"order_id\":\"o1\",\"reason\":\"no rule\"}");
	ok(fh_nhttp(f) == 5 && !strcmp(bstr(f, 4, "text"), "订单 o1 发货失败：no rule"), "delivery_failed: in Chinese (%s)",
	   bstr(f, 4, "text"));
	fh_http_reply(f, 4, 200, "");
	fh_free(f);

	f = start("\"url\":\"http://hook.test/h\",\"offline_after_s\":5");
	if (ok(f != NULL, "offline: notify starts")) {
		fh_set_state(f, SK_STATE_RECONNECTING);
		fh_advance(f, 6000);
		ok(fh_nhttp(f) == 1 && strstr(bstr(f, 0, "text"), "已离线"), "offline: in Chinese (%s)", bstr(f, 0, "text"));
		fh_free(f);
	}
	f = start("\"url\":\"http://hook.test/h\",\"offline_after_s\":5,\"offline\":false");
	if (ok(f != NULL, "offline false: notify starts")) {
		fh_set_state(f, SK_STATE_RECONNECTING);
		fh_advance(f, 6000);
		is_int(fh_nhttp(f), 0, "offline false: no alert");
		fh_free(f);
	}
}

int main(void)
{
	fh_build_path(so, sizeof so, "plugins/notify.so");
	test_mask();
	test_settings();
	test_no_url();
	test_handover();
	return tap_done();
}
