/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_feed.c - core/feed.c, the one event vocabulary: the
 * sk_event initialiser, the core's event as the ABI's, the noise filter, and
 * the JSON lines the event log and the live page both write (web/API.md).
 */
#include "feed.h"
#include "tap.h"
#include "util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The string members of sk_event (all of them: a new one belongs here too). */
static const size_t STRINGS[] = {
	offsetof(sk_event, chat_id), offsetof(sk_event, sender_id), offsetof(sk_event, sender_name),
	offsetof(sk_event, text), offsetof(sk_event, item_id), offsetof(sk_event, message_id),
	offsetof(sk_event, im_id), offsetof(sk_event, order_id), offsetof(sk_event, image_url),
	offsetof(sk_event, raw_json), offsetof(sk_event, reason), offsetof(sk_event, topic),
	offsetof(sk_event, payload_json), offsetof(sk_event, from_plugin), offsetof(sk_event, send_uuid),
	offsetof(sk_event, send_tag),
};

/* Returns 1 when every string member of x is "" (not NULL). */
static int all_empty(const sk_event *x)
{
	for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
		const char *s = *(const char *const *)((const char *)x + STRINGS[i]);

		if (!s || *s)
			return 0;
	}
	return 1;
}

/* An event of type t with every string "" (as event_from_item leaves it). */
static void ev_empty(ev *e, ev_type t)
{
	memset(e, 0, sizeof *e);
	e->type = t;
	e->chat_id = e->sender_id = e->sender_name = e->text = e->item_id = "";
	e->message_id = e->im_id = e->order_id = e->image_url = e->red_reminder = "";
}

static void test_init(void)
{
	sk_event x;

	memset(&x, 0x5a, sizeof x);
	feed_sk_init(&x, SK_EV_PLUGIN);
	ok(x.size == sizeof x && x.type == SK_EV_PLUGIN, "init: size and type");
	ok(all_empty(&x), "init: every string is \"\"");
	ok(!x.trade && !x.own && !x.echo && !x.created_ms && !x.state && !x.prev_state && !x.send_ok,
	   "init: every number is 0");
}

static void test_map(void)
{
	static const struct { ev_type t; int sk; } types[] = {
		{ EV_UNKNOWN, SK_EV_UNKNOWN }, { EV_CHAT_TEXT, SK_EV_CHAT_TEXT }, { EV_CHAT_IMAGE, SK_EV_CHAT_IMAGE },
		{ EV_TRADE, SK_EV_TRADE }, { EV_MSG_UPDATE, SK_EV_MSG_UPDATE }, { EV_PAYMENT, SK_EV_PAYMENT },
		{ EV_TYPING, SK_EV_TYPING }, { EV_READ, SK_EV_READ }, { EV_SYSTEM, SK_EV_SYSTEM },
		{ EV_TYPE_COUNT, SK_EV_UNKNOWN }, { (ev_type)-1, SK_EV_UNKNOWN },
	};
	sk_event x;
	ev e;

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		ev_empty(&e, types[i].t);
		feed_sk_event(&x, &e, NULL);
		is_int(x.type, types[i].sk, "map: %s (%d) is ABI type %d", event_type_name(types[i].t), (int)types[i].t,
		       types[i].sk);
		ok(all_empty(&x), "map: %d: every string \"\" (raw_json NULL too)", (int)types[i].t);
	}
	/* every type has its row in core/event.c's TYPES: a name and its own ABI type */
	for (int t = EV_UNKNOWN + 1; t < EV_TYPE_COUNT; t++) {
		int sk = event_sk_type((ev_type)t), dup = 0;

		for (int u = EV_UNKNOWN + 1; u < t; u++)
			dup |= event_sk_type((ev_type)u) == sk;
		ok(sk != SK_EV_UNKNOWN && sk > 0 && sk < SK_EV_MAX && !dup && strcmp(event_type_name((ev_type)t), "unknown"),
		   "types: ev_type %d has a name (%s) and an ABI type of its own (%d)", t, event_type_name((ev_type)t), sk);
	}
	ev_empty(&e, EV_TRADE);
	e.trade = TRADE_PAID;
	e.chat_id = "c1";
	e.sender_id = "s1";
	e.sender_name = "n1";
	e.text = "t1";
	e.item_id = "i1";
	e.message_id = "m1";
	e.im_id = "1.PNM";
	e.order_id = "o1";
	e.image_url = "u1";
	e.own = e.echo = 1;
	e.created_ms = 1700000000123;
	feed_sk_event(&x, &e, "{\"raw\":1}");
	ok(x.size == sizeof x && x.trade == SK_TRADE_PAID && x.own == 1 && x.echo == 1 &&
	   x.created_ms == 1700000000123, "map: size, trade, own, echo, created_ms");
	ok(x.chat_id == e.chat_id && x.sender_id == e.sender_id && x.sender_name == e.sender_name &&
	   x.text == e.text && x.item_id == e.item_id && x.message_id == e.message_id && x.im_id == e.im_id &&
	   x.order_id == e.order_id && x.image_url == e.image_url, "map: the strings are borrowed from the event");
	is_str(x.raw_json, "{\"raw\":1}", "map: raw_json as given");
	ok(!*x.reason && !*x.topic && !*x.payload_json && !*x.from_plugin && !*x.send_uuid && !*x.send_tag,
	   "map: the other kinds' strings are \"\"");
}

static void test_noise(void)
{
	ev e;

	for (int t = EV_UNKNOWN; t < EV_TYPE_COUNT; t++) {
		ev_empty(&e, (ev_type)t);
		is_int(feed_is_noise(&e), t == EV_READ || t == EV_TYPING, "noise: %s", event_type_name((ev_type)t));
	}
}

/* Parses line (freed) into an object; NULL when it is not one. */
static cJSON *parse_line(char *line)
{
	cJSON *j = line ? cJSON_Parse(line) : NULL;

	free(line);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

/* The string member k of j, "(absent)" when there is none. */
static const char *str_of(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

/* Whether j's "ms" is a number in [lo, now]. */
static int ms_ok(const cJSON *j, int64_t lo)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "ms");

	return cJSON_IsNumber(v) && v->valuedouble >= (double)lo && v->valuedouble <= (double)util_now_ms();
}

static void test_lines(void)
{
	int64_t t0 = util_now_ms();
	cJSON *j;
	ev e;

	ev_empty(&e, EV_CHAT_TEXT);
	e.chat_id = "c1";
	e.text = "你好";
	e.created_ms = 42;
	j = parse_line(feed_event_line(&e));
	ok(j && !strcmp(str_of(j, "kind"), "event") && !strcmp(str_of(j, "type"), "chat_text") &&
	   !strcmp(str_of(j, "chat_id"), "c1") && !strcmp(str_of(j, "text"), "你好") &&
	   !strcmp(str_of(j, "trade"), "none") && !strcmp(str_of(j, "order_id"), ""),
	   "event line: kind, type, trade, chat_id, text, order_id");
	ok(j && cJSON_GetObjectItemCaseSensitive(j, "created_ms")->valuedouble == 42 && ms_ok(j, t0),
	   "event line: created_ms and ms");
	cJSON_Delete(j);

	j = parse_line(feed_state_line("CONNECTING", "CONNECTED", NULL, NULL));
	ok(j && !strcmp(str_of(j, "kind"), "state") && !strcmp(str_of(j, "from"), "CONNECTING") &&
	   !strcmp(str_of(j, "to"), "CONNECTED") && !strcmp(str_of(j, "why"), "") && ms_ok(j, t0),
	   "state line: from, to, a NULL why as \"\", ms");
	cJSON_Delete(j);

	j = parse_line(feed_send_line("u1", 1, "m9", "hello", NULL));
	ok(j && !strcmp(str_of(j, "kind"), "send") && !strcmp(str_of(j, "uuid"), "u1") &&
	   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")) && !strcmp(str_of(j, "message_id"), "m9") &&
	   !strcmp(str_of(j, "reason"), "(absent)") && !strcmp(str_of(j, "plugin"), "hello") &&
	   !strcmp(str_of(j, "tag"), "") && ms_ok(j, t0), "send line (ok): message_id, plugin, a NULL tag as \"\", ms");
	cJSON_Delete(j);
	j = parse_line(feed_send_line("u2", 0, "CSI_FORBID", NULL, "t"));
	ok(j && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")) && !strcmp(str_of(j, "reason"), "CSI_FORBID") &&
	   !strcmp(str_of(j, "message_id"), "(absent)") && !strcmp(str_of(j, "plugin"), "") &&
	   !strcmp(str_of(j, "tag"), "t"), "send line (refused): reason, a NULL plugin as \"\"");
	cJSON_Delete(j);

	j = parse_line(feed_plugin_line("orders", "orders.delivered", "{\"n\":2}"));
	ok(j && !strcmp(str_of(j, "kind"), "plugin") && !strcmp(str_of(j, "topic"), "orders.delivered") &&
	   !strcmp(str_of(j, "from"), "orders") &&
	   cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "payload"), "n")->valuedouble == 2 &&
	   ms_ok(j, t0), "plugin line: topic, from, the payload parsed, ms");
	cJSON_Delete(j);
	j = parse_line(feed_plugin_line("x", "x.y", "not json"));
	ok(j && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "payload")), "plugin line: a payload that is no JSON is null");
	cJSON_Delete(j);
}

int main(void)
{
	test_init();
	test_map();
	test_noise();
	test_lines();
	return tap_done();
}
