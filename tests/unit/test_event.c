/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_event.c - core/event.c against the items the simulator's own
 * builders make (tests/sim/sim_push.c), decoded as the bot decodes them: every
 * push kind, every card status, update frames, order id extraction (each
 * [ZC] step and the fallbacks), the docs/protocol.md §13 vectors, system texts, and
 * hostile trees (wrong types everywhere, long strings, deep nesting).
 */
#include "event.h"
#include "codec.h"
#include "sim/sim.h"
#include "tap.h"
#include "util.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNB "2200000000001"

/* docs/protocol.md §13: a text message "hi" from 30003 in cid 10001 about item 40004. */
static const char CHAT_B64[] =
	"ggGLAYEBrTMwMDAzQGdvb2Zpc2gCrTEwMDAxQGdvb2Zpc2gDsTEwMDAwMDAwMDAwMDEuUE5NBAAFzwAAAYvP5WgABoIBZQOFAaAComhp"
	"A6AEAQXZJnsiY29udGVudFR5cGUiOjEsInRleHQiOnsidGV4dCI6ImhpIn19BwIIAQkACoevcmVtaW5kZXJDb250ZW50omhprXJlbWlu"
	"ZGVyVGl0bGWlYnV5ZXKsc2VuZGVyVXNlcklkpTMwMDAzq3JlbWluZGVyVXJs2VZmbGVhbWFya2V0Oi8vbWVzc2FnZV9jaGF0P2l0ZW1J"
	"ZD00MDAwNCZwZWVyVXNlcklkPTMwMDAzJnNpZD0xMDAwMSZtZXNzYWdlSWQ9YWJjJmFkdj1ub6ZiaXpUYWfZJHsic291cmNlSWQiOiJT"
	"OjEiLCJtZXNzYWdlSWQiOiJhYmMifadleHRKc29u2S57InF1aWNrUmVwbHkiOiIxIiwibWVzc2FnZUlkIjoiYWJjIiwidGFnIjoidSJ9"
	"q3Nlc3Npb25UeXBloTEMAQOBqG5lZWRQdXNopHRydWU=";
static const char TYPING_B64[] = "gQGRhAGtMTAwMDFAZ29vZmlzaAIBAwEErTIwMDAyQGdvb2Zpc2g=";

static sim_account *A;

/* One built item: the decoded tree, what the simulator said it used, the event. */
typedef struct {
	cJSON *tree, *info;
	int obj, plain, rc;
	ev e;
} got;

/* Returns 1 when every string of e is non-NULL, NUL-terminated inside its
 * storage and e->used fits the buffer. */
static int strings_ok(const ev *e)
{
	const char *const s[] = {e->chat_id, e->sender_id, e->sender_name, e->text, e->item_id,
				 e->message_id, e->im_id, e->order_id, e->image_url, e->red_reminder};
	size_t i;

	if (e->used > sizeof e->buf)
		return 0;
	for (i = 0; i < sizeof s / sizeof s[0]; i++) {
		if (!s[i])
			return 0;
		if (s[i] >= e->buf && s[i] < e->buf + sizeof e->buf &&
		    strnlen(s[i], (size_t)(e->buf + sizeof e->buf - s[i])) == (size_t)(e->buf + sizeof e->buf - s[i]))
			return 0;
	}
	return 1;
}

/* Runs the event on g's tree again (after a test edited it). */
static void rerun(got *g)
{
	g->rc = event_from_item(g->tree, g->obj, g->plain, UNB, &g->e);
}

/* Turns a simulator item (taken over) into g: decodes its data like the bot. */
static int from_item(cJSON *it, got *g)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "data");
	codec_kind kind = CODEC_NONE;
	const char *err = NULL;

	g->obj = (int)cJSON_GetObjectItemCaseSensitive(it, "objectType")->valuedouble;
	g->tree = codec_decode_item(d->valuestring, strlen(d->valuestring), &kind, &err);
	cJSON_Delete(it);
	if (!g->tree) {
		diag("decode: %s", err ? err : "?");
		return -1;
	}
	g->plain = kind == CODEC_JSON;
	rerun(g);
	return 0;
}

/* Builds the item of a push spec (JSON text) with the simulator. Returns 0. */
static int build(const char *spec_json, got *g)
{
	cJSON *spec = cJSON_Parse(spec_json), *it;
	char err[160];

	memset(g, 0, sizeof *g);
	g->info = cJSON_CreateObject();
	it = spec ? sim_item_build(spec, A, g->info, err, sizeof err) : NULL;
	cJSON_Delete(spec);
	if (!it) {
		diag("build %s: %s", spec_json, spec ? err : "bad spec");
		return -1;
	}
	return from_item(it, g);
}

/* Frees what build() made. */
static void got_free(got *g)
{
	cJSON_Delete(g->tree);
	cJSON_Delete(g->info);
	g->tree = g->info = NULL;
}

/* Returns the string the simulator reported for k, "" when none. */
static const char *info(const got *g, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->info, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Returns the member at a path of object keys (NULL-terminated), NULL when absent. */
static cJSON *at(cJSON *j, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, j);
	while (j && (k = va_arg(ap, const char *)))
		j = cJSON_GetObjectItemCaseSensitive(j, k);
	va_end(ap);
	return j;
}

/* Sets member k of object o to a string (replacing or adding). */
static void set_str(cJSON *o, const char *k, const char *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, cJSON_CreateString(v));
	else
		cJSON_AddStringToObject(o, k, v);
}

/* Returns the parsed card JSON of a chat tree (caller deletes). */
static cJSON *card_get(cJSON *tree)
{
	return cJSON_Parse(at(tree, "1", "6", "3", "5", NULL)->valuestring);
}

/* Writes card (deleted) back as the tree's content JSON. */
static void card_put(cJSON *tree, cJSON *card)
{
	char *s = cJSON_PrintUnformatted(card);

	set_str(at(tree, "1", "6", "3", NULL), "5", s);
	free(s);
	cJSON_Delete(card);
}

/* Creates an order the way POST /order does (without pushing), in a new chat. */
static sim_order *make_order(const char *id, const char *status)
{
	sim_chat *ch = sim_chat_get(UNB, NULL, NULL, NULL, NULL);
	sim_order *o = calloc(1, sizeof *o);

	if (!ch || !o)
		abort();
	snprintf(o->id, sizeof o->id, "%s", id);
	snprintf(o->cid, sizeof o->cid, "%s", ch->cid);
	snprintf(o->seller, sizeof o->seller, "%s", UNB);
	snprintf(o->buyer, sizeof o->buyer, "%s", ch->buyer);
	snprintf(o->buyer_name, sizeof o->buyer_name, "%s", ch->buyer_name);
	snprintf(o->item_id, sizeof o->item_id, "%s", ch->item_id);
	o->quantity = 1;
	o->price = 990;
	snprintf(o->status, sizeof o->status, "%s", status);
	o->next = S.orders;
	S.orders = o;
	return o;
}

/* Builds a card (or update frame) of order o with status st. */
static int build_order(const char *kind, const sim_order *o, const char *st, got *g)
{
	char spec[256];

	snprintf(spec, sizeof spec, "{\"kind\":\"%s\",\"order_id\":\"%s\",\"status\":\"%s\"}", kind, o->id, st);
	return build(spec, g);
}

static void test_names(void)
{
	is_str(event_type_name(EV_CHAT_TEXT), "chat_text", "type name chat_text");
	is_str(event_type_name(EV_CHAT_IMAGE), "chat_image", "type name chat_image");
	is_str(event_type_name(EV_TRADE), "trade", "type name trade");
	is_str(event_type_name(EV_MSG_UPDATE), "msg_update", "type name msg_update");
	is_str(event_type_name(EV_PAYMENT), "payment", "type name payment");
	is_str(event_type_name(EV_TYPING), "typing", "type name typing");
	is_str(event_type_name(EV_READ), "read", "type name read");
	is_str(event_type_name(EV_SYSTEM), "system", "type name system");
	is_str(event_type_name(EV_UNKNOWN), "unknown", "type name unknown");
	is_str(event_type_name((ev_type)99), "unknown", "type name out of range");
	is_str(event_type_name((ev_type)-1), "unknown", "type name negative");
	is_str(trade_status_name(TRADE_PAID), "paid", "status name paid");
	is_str(trade_status_name(TRADE_REFUND_CANCELLED), "refund_cancelled", "status name refund_cancelled");
	is_str(trade_status_name(TRADE_NONE), "none", "status name none");
	is_str(trade_status_name((trade_status)42), "none", "status name out of range");
}

static void test_vectors(void)
{
	got g;
	codec_kind kind;
	const char *err = NULL;

	memset(&g, 0, sizeof g);
	g.tree = codec_decode_item(CHAT_B64, strlen(CHAT_B64), &kind, &err);
	ok(g.tree && kind == CODEC_MSGPACK, "§13 vector decodes as MessagePack");
	is_int(event_from_item(g.tree, 40000, 0, UNB, &g.e), 0, "§13 vector: an event");
	is_int(g.e.type, EV_CHAT_TEXT, "§13 vector: chat text");
	is_str(g.e.text, "hi", "§13 vector: text");
	is_str(g.e.chat_id, "10001", "§13 vector: chat id without @goofish");
	is_str(g.e.sender_id, "30003", "§13 vector: sender");
	is_str(g.e.sender_name, "buyer", "§13 vector: sender name from reminderTitle");
	is_str(g.e.item_id, "40004", "§13 vector: item id from reminderUrl");
	is_str(g.e.message_id, "abc", "§13 vector: message id from bizTag");
	is_str(g.e.im_id, "1000000000001.PNM", "§13 vector: IM id");
	is_int(g.e.created_ms, 1700000000000LL, "§13 vector: created ms");
	is_int(g.e.content_type, 1, "§13 vector: content type 1");
	is_int(g.e.need_push, 1, "§13 vector: needPush true");
	is_int(g.e.own, 0, "§13 vector: not own");
	is_int(g.e.group, 0, "§13 vector: not a group");
	is_int(g.e.trade, TRADE_NONE, "§13 vector: no trade status");
	is_str(g.e.order_id, "", "§13 vector: no order id");
	ok(g.e.raw == g.tree && g.e.object_type == 40000, "§13 vector: raw and objectType kept");
	ok(strings_ok(&g.e), "§13 vector: strings never NULL");
	event_from_item(g.tree, 40000, 0, "30003", &g.e);
	is_int(g.e.own, 1, "§13 vector as account 30003: own");
	got_free(&g);

	g.tree = codec_decode_item(TYPING_B64, strlen(TYPING_B64), &kind, &err);
	ok(g.tree != NULL, "typing vector decodes");
	is_int(event_from_item(g.tree, 40006, 0, UNB, &g.e), 0, "typing vector: an event");
	is_int(g.e.type, EV_TYPING, "typing vector: typing");
	is_str(g.e.chat_id, "10001", "typing vector: chat id");
	is_str(g.e.sender_id, "20002", "typing vector: who types");
	event_from_item(g.tree, 0, 0, UNB, &g.e);
	is_int(g.e.type, EV_TYPING, "typing vector: recognised by shape without objectType");
	got_free(&g);
}

/* Checks text messages: fields, group chats, the text and message id fallbacks. */
static void test_chat_text(void)
{
	got g;

	build("{\"kind\":\"text\",\"text\":\"你好，在吗\"}", &g);
	is_int(g.rc, 0, "text: an event");
	is_int(g.e.type, EV_CHAT_TEXT, "text: chat text");
	is_str(g.e.text, "你好，在吗", "text: text");
	is_str(g.e.chat_id, info(&g, "cid"), "text: chat id");
	is_str(g.e.sender_id, info(&g, "buyer"), "text: sender is the buyer");
	ok(!strncmp(g.e.sender_name, "buyer", 5), "text: sender name (%s)", g.e.sender_name);
	is_str(g.e.item_id, info(&g, "item_id"), "text: item id");
	is_str(g.e.message_id, info(&g, "message_id"), "text: business message id");
	is_int(strlen(g.e.message_id), 32, "text: message id is 32 hex");
	is_str(g.e.im_id, info(&g, "im_id"), "text: IM id");
	is_int(g.e.content_type, 1, "text: content type 1");
	is_int(g.e.need_push, 1, "text: needPush");
	is_int(g.e.own, 0, "text: not own");
	ok(g.e.created_ms > 1700000000000LL, "text: created ms");
	is_str(g.e.order_id, "", "text: no order id");
	is_str(g.e.image_url, "", "text: no image");
	ok(strings_ok(&g.e), "text: strings never NULL");
	/* Group chats: sessionType 30. */
	set_str(at(g.tree, "1", "10", NULL), "sessionType", "30");
	rerun(&g);
	is_int(g.e.group, 1, "text: sessionType 30 is a group");
	/* Text falls back to the inner text.text when reminderContent is empty. */
	set_str(at(g.tree, "1", "10", NULL), "reminderContent", "");
	rerun(&g);
	is_str(g.e.text, "你好，在吗", "text: inner text.text when reminderContent is empty");
	/* The message id chain: bizTag, extJson, reminderUrl, IM id. */
	cJSON_DeleteItemFromObjectCaseSensitive(at(g.tree, "1", "10", NULL), "bizTag");
	set_str(at(g.tree, "1", "10", NULL), "extJson", "{\"messageId\":\"fromext\"}");
	rerun(&g);
	is_str(g.e.message_id, "fromext", "text: message id from extJson without bizTag");
	cJSON_DeleteItemFromObjectCaseSensitive(at(g.tree, "1", "10", NULL), "extJson");
	rerun(&g);
	is_str(g.e.message_id, info(&g, "message_id"), "text: message id from reminderUrl's messageId=");
	cJSON_DeleteItemFromObjectCaseSensitive(at(g.tree, "1", "10", NULL), "reminderUrl");
	rerun(&g);
	is_str(g.e.message_id, info(&g, "im_id"), "text: message id falls back to the IM id");
	is_str(g.e.item_id, "", "text: no reminderUrl, no item id");
	got_free(&g);
}

/* Checks mobile and own texts and the echo the simulator pushes after a send. */
static void test_chat_own(void)
{
	got g;

	build("{\"kind\":\"text\",\"text\":\"手机上发的\",\"mobile\":true}", &g);
	is_int(g.e.type, EV_CHAT_TEXT, "mobile text: chat text");
	is_str(g.e.text, "手机上发的", "mobile text: text");
	is_str(g.e.message_id, info(&g, "message_id"), "mobile text: message id");
	is_str(g.e.chat_id, info(&g, "cid"), "mobile text: chat id");
	is_int(g.e.need_push, 1, "mobile text: needPush");
	ok(strings_ok(&g.e), "mobile text: strings never NULL");
	got_free(&g);

	build("{\"kind\":\"text\",\"text\":\"我来回复\",\"from_seller\":true}", &g);
	is_int(g.e.type, EV_CHAT_TEXT, "own message: chat text");
	is_int(g.e.own, 1, "own message: own");
	is_str(g.e.sender_id, UNB, "own message: sender is the seller");
	is_int(g.e.need_push, 0, "own message: needPush false");
	is_int(g.e.echo, 0, "own message: echo is the session's to set");
	got_free(&g);

	/* The echo the simulator pushes after a send. */
	{
		sim_chat *ch = sim_chat_get(UNB, NULL, NULL, NULL, NULL);
		cJSON *t = sim_chat_message(ch, UNB, "", 1, "好的", "{\"contentType\":1,\"text\":{\"text\":\"好的\"}}",
					    "4245085434294.PNM", 0, NULL);

		memset(&g, 0, sizeof g);
		from_item(sim_wrap_item(40, 40000, t, 0), &g);
		cJSON_Delete(t);
		is_int(g.e.type, EV_CHAT_TEXT, "send echo: chat text");
		is_int(g.e.own, 1, "send echo: own");
		is_str(g.e.im_id, "4245085434294.PNM", "send echo: IM id of the send");
		is_str(g.e.text, "好的", "send echo: text");
		got_free(&g);
	}
}

/* Checks images, audio, tips and typing. */
static void test_chat_media(void)
{
	got g;

	build("{\"kind\":\"image\",\"url\":\"https://img.alicdn.com/x/2.png\",\"width\":10,\"height\":20}", &g);
	is_int(g.e.type, EV_CHAT_IMAGE, "image: chat image");
	is_int(g.e.content_type, 2, "image: content type 2");
	is_str(g.e.image_url, "https://img.alicdn.com/x/2.png", "image: url from pics[0]");
	is_str(g.e.text, "[图片]", "image: text [图片]");
	set_str(at(g.tree, "1", "10", NULL), "reminderContent", "");
	rerun(&g);
	is_str(g.e.text, "[图片]", "image: text [图片] without reminderContent");
	got_free(&g);

	build("{\"kind\":\"audio\"}", &g);
	is_int(g.e.type, EV_CHAT_TEXT, "audio: chat text with its display text");
	is_int(g.e.content_type, 3, "audio: content type 3");
	is_str(g.e.text, "[语音消息]", "audio: text");
	got_free(&g);

	build("{\"kind\":\"tip\",\"text\":\"交易提醒：请勿线下交易\"}", &g);
	is_int(g.e.type, EV_SYSTEM, "tip: system");
	is_int(g.e.content_type, 14, "tip: content type 14");
	is_int(g.e.need_push, 0, "tip: needPush false");
	ok(*g.e.message_id, "tip: has a message id");
	/* MsgTips alone makes a tip, whatever the content type. */
	cJSON_ReplaceItemInObjectCaseSensitive(at(g.tree, "1", "6", "3", NULL), "4", cJSON_CreateNumber(1));
	rerun(&g);
	is_int(g.e.type, EV_SYSTEM, "tip: extJson msgArg1 MsgTips alone is system");
	got_free(&g);

	build("{\"kind\":\"typing\",\"state\":1}", &g);
	is_int(g.obj, 40006, "typing: objectType 40006");
	is_int(g.e.type, EV_TYPING, "typing: typing");
	is_str(g.e.chat_id, info(&g, "cid"), "typing: chat id");
	ok(*g.e.sender_id && strchr(g.e.sender_id, '@') == NULL, "typing: sender id stripped (%s)", g.e.sender_id);
	got_free(&g);
}

/* Checks read receipts, vulcan arouse pushes and plain-JSON chats. */
static void test_chat_receipts(void)
{
	got g;
	size_t n;

	for (n = 1; n <= 3; n++) {
		char spec[64];

		snprintf(spec, sizeof spec, "{\"kind\":\"receipt\",\"variant\":%zu}", n);
		build(spec, &g);
		is_int(g.obj, 40103, "receipt %zu: objectType 40103", n);
		is_int(g.e.type, EV_READ, "receipt %zu: read", n);
		is_str(g.e.chat_id, info(&g, "cid"), "receipt %zu: chat id", n);
		ok(strstr(g.e.im_id, ".PNM") != NULL, "receipt %zu: IM id (%s)", n, g.e.im_id);
		ok(g.e.created_ms > 0, "receipt %zu: time", n);
		event_from_item(g.tree, 0, 0, UNB, &g.e);
		is_int(g.e.type, EV_READ, "receipt %zu: recognised by shape without objectType", n);
		got_free(&g);
	}

	build("{\"kind\":\"vulcan\",\"text\":\"宝贝还在吗？\"}", &g);
	is_int(g.obj, 370000, "vulcan: objectType 370000");
	is_int(g.plain, 1, "vulcan: plain JSON");
	is_int(g.e.type, EV_SYSTEM, "vulcan: system");
	is_str(g.e.chat_id, info(&g, "cid"), "vulcan: chat id from sessionId");
	is_str(g.e.text, "宝贝还在吗？", "vulcan: the arouse script as text");
	is_str(g.e.item_id, "40004", "vulcan: item id from the session extensions");
	got_free(&g);

	/* A chat message sent as plain JSON (no chatType) is still a chat ([ZH]). */
	{
		sim_chat *ch = sim_chat_get(UNB, NULL, NULL, NULL, NULL);
		cJSON *t = sim_chat_message(ch, ch->buyer, "b", 1, "json 的消息",
					    "{\"contentType\":1,\"text\":{\"text\":\"json 的消息\"}}", NULL, 1, NULL);

		memset(&g, 0, sizeof g);
		from_item(sim_wrap_item(40, 40000, t, 1), &g);
		cJSON_Delete(t);
		is_int(g.plain, 1, "plain-JSON chat: decoded as JSON");
		is_int(g.e.type, EV_CHAT_TEXT, "plain-JSON chat: chat text");
		is_str(g.e.text, "json 的消息", "plain-JSON chat: text");
		got_free(&g);
	}
}

/* Checks every chat push kind, step by step. */
static void test_chat_kinds(void)
{
	test_chat_text();
	test_chat_own();
	test_chat_media();
	test_chat_receipts();
}

static void test_payment(void)
{
	sim_order *o = make_order("2503688126356639001", "placed");
	got g;
	char spec[160];

	snprintf(spec, sizeof spec, "{\"kind\":\"payment\",\"cid\":\"%s\"}", o->cid);
	build(spec, &g);
	is_int(g.e.type, EV_PAYMENT, "payment summary: payment");
	is_str(g.e.chat_id, o->cid, "payment summary: chat id");
	is_str(g.e.red_reminder, "等待卖家发货", "payment summary: red reminder");
	is_int(g.e.trade, TRADE_NONE, "payment summary 等待卖家发货: no status (the paid card follows)");
	is_str(g.e.order_id, "", "payment summary: no order id");
	ok(g.e.created_ms > 0, "payment summary: time");
	got_free(&g);

	snprintf(spec, sizeof spec, "{\"kind\":\"payment\",\"cid\":\"%s\",\"red\":\"交易关闭\"}", o->cid);
	build(spec, &g);
	is_int(g.e.type, EV_PAYMENT, "payment summary 交易关闭: payment");
	is_int(g.e.trade, TRADE_CLOSED, "payment summary 交易关闭: closed");
	got_free(&g);

	snprintf(spec, sizeof spec, "{\"kind\":\"order_ctx\",\"order_id\":\"%s\"}", o->id);
	build(spec, &g);
	is_int(g.e.type, EV_PAYMENT, "order context: payment");
	is_str(g.e.order_id, o->id, "order context: order id");
	is_str(g.e.chat_id, o->cid, "order context: chat id");
	is_str(g.e.item_id, o->item_id, "order context: item id");
	is_str(g.e.sender_id, o->buyer, "order context: the buyer (extUserId)");
	got_free(&g);
}

/* Returns the reminderUrl of a chat tree, "" when none. */
static const char *nz_url(const got *g)
{
	const cJSON *u = at(g->tree, "1", "10", "reminderUrl", NULL);

	return cJSON_IsString(u) ? u->valuestring : "";
}

static const struct {
	const char *status;
	trade_status st;
	int own;
} STATUSES[] = {
	{"placed", TRADE_PLACED, 0}, {"paid", TRADE_PAID, 0}, {"remind", TRADE_REMIND, 0},
	{"shipped", TRADE_SHIPPED, 1}, {"completed", TRADE_COMPLETED, 0}, {"closed", TRADE_CLOSED, 1},
	{"refunding", TRADE_REFUNDING, 0}, {"refund_cancelled", TRADE_REFUND_CANCELLED, 0},
};

static void test_cards(void)
{
	size_t i;
	char oid[32], want[40];
	got g;

	for (i = 0; sim_order_statuses[i]; i++)
		;
	is_int(i, sizeof STATUSES / sizeof STATUSES[0], "every simulator card status is covered");
	for (i = 0; i < sizeof STATUSES / sizeof STATUSES[0]; i++) {
		const char *s = STATUSES[i].status;
		sim_order *o;

		snprintf(oid, sizeof oid, "25036881263566%05zu", 37000 + i);
		o = make_order(oid, s);
		build_order("card", o, s, &g);
		is_int(g.rc, 0, "card %s: an event", s);
		is_int(g.e.type, EV_TRADE, "card %s: trade", s);
		is_int(g.e.trade, STATUSES[i].st, "card %s: status %s", s, trade_status_name(g.e.trade));
		is_str(g.e.order_id, oid, "card %s: order id", s);
		is_str(g.e.chat_id, o->cid, "card %s: chat id", s);
		is_str(g.e.item_id, o->item_id, "card %s: item id", s);
		is_int(g.e.content_type, 26, "card %s: content type 26", s);
		is_int(g.e.own, STATUSES[i].own, "card %s: own is %d (the seller's own action)", s, STATUSES[i].own);
		is_str(g.e.sender_id, STATUSES[i].own ? UNB : o->buyer, "card %s: sender", s);
		ok(*g.e.red_reminder, "card %s: red reminder (%s)", s, g.e.red_reminder);
		ok(*g.e.text == '[', "card %s: text is the card text (%s)", s, g.e.text);
		is_int(strlen(g.e.message_id), 32, "card %s: business message id (%s)", s, g.e.message_id);
		snprintf(want, sizeof want, "messageId=%s", g.e.message_id);
		ok(strstr(nz_url(&g), want) != NULL, "card %s: message id is the card's own (reminderUrl)", s);
		ok(strings_ok(&g.e), "card %s: strings never NULL", s);
		got_free(&g);

		build_order("update", o, s, &g);
		is_int(g.rc, 0, "update %s: an event", s);
		is_int(g.e.type, EV_MSG_UPDATE, "update %s: message update", s);
		is_int(g.e.trade, STATUSES[i].st, "update %s: status %s", s, trade_status_name(g.e.trade));
		is_str(g.e.order_id, oid, "update %s: order id", s);
		is_str(g.e.chat_id, o->cid, "update %s: chat id", s);
		is_str(g.e.im_id, o->card_msg, "update %s: IM id of the card it updates", s);
		is_str(g.e.sender_id, o->buyer, "update %s: sender from [4]", s);
		is_str(g.e.item_id, o->item_id, "update %s: item id from [4]", s);
		ok(*g.e.sender_name, "update %s: name from [4] reminderTitle", s);
		ok(g.e.created_ms > 0, "update %s: time from [5]", s);
		ok(strings_ok(&g.e), "update %s: strings never NULL", s);
		got_free(&g);
	}
}

/* Returns the order id event_order_id finds in tree, "-" when none. */
static const char *oid_of(const cJSON *tree)
{
	static char out[40];

	if (event_order_id(tree, out, sizeof out))
		return "-";
	return out;
}

static void test_order_ids(void)
{
	sim_order *o = make_order("2503688126356636370", "paid");
	cJSON *card, *t;
	got g;
	char small[8];

	/* Step 1 wins over step 2: the button's orderId=. */
	build_order("card", o, "paid", &g);
	card = card_get(g.tree);
	set_str(at(card, "dxCard", "item", "main", NULL), "targetUrl", "fleamarket://order_detail?id=1111111111111&role=Seller");
	card_put(g.tree, card);
	is_str(oid_of(g.tree), o->id, "order id step 1: button targetUrl orderId= first");
	/* Without the button: step 2, the main targetUrl. */
	card = card_get(g.tree);
	cJSON_DeleteItemFromObjectCaseSensitive(at(card, "dxCard", "item", "main", "exContent", NULL), "button");
	card_put(g.tree, card);
	is_str(oid_of(g.tree), "1111111111111", "order id step 2: main targetUrl order_detail?id=");
	is_int(event_order_id(g.tree, small, sizeof small), -1, "order id: no room for the digits is no id");
	got_free(&g);

	/* A placed card's button says bizOrderId=: step 1 is case-sensitive. */
	build_order("card", o, "placed", &g);
	card = card_get(g.tree);
	set_str(at(card, "dxCard", "item", "main", NULL), "targetUrl", "fleamarket://order_detail?id=2222222222222&role=seller");
	card_put(g.tree, card);
	is_str(oid_of(g.tree), "2222222222222", "order id: bizOrderId= is not orderId= (step 2 wins)");
	got_free(&g);

	/* Step 3: dynamicOperation's button of a refund card. */
	build_order("card", o, "refunding", &g);
	card = card_get(g.tree);
	cJSON_DeleteItemFromObjectCaseSensitive(at(card, "dxCard", "item", NULL), "main");
	set_str(at(card, "dynamicOperation", "changeContent", "dxCard", "item", "main", "exContent", "button", NULL),
		"targetUrl", "fleamarket://order_detail?id=3333333333333&role=seller");
	card_put(g.tree, card);
	is_str(oid_of(g.tree), "3333333333333", "order id step 3: dynamicOperation button");
	rerun(&g);
	is_int(g.e.trade, TRADE_REFUNDING, "refund card without dxCard main: still refunding");
	got_free(&g);

	/* Only the updateKey left. */
	build_order("card", o, "paid", &g);
	card_put(g.tree, cJSON_Parse("{\"contentType\":26,\"dxCard\":{\"item\":{\"main\":{}}}}"));
	is_str(oid_of(g.tree), o->id, "order id: from the updateKey <cid>:<oid>:...");
	rerun(&g);
	is_int(g.e.type, EV_TRADE, "updateKey-only card: trade");
	is_str(g.e.order_id, o->id, "updateKey-only card: order id");

	/* Only in a fallback place: "id":"<oid>" deep in the card. */
	set_str(at(g.tree, "1", "10", NULL), "extJson", "{\"msgArg1\":\"MsgCard\",\"contentType\":\"26\"}");
	card_put(g.tree, cJSON_Parse("{\"contentType\":26,\"dxCard\":{\"item\":{\"main\":{\"x\":"
				     "{\"y\":[{\"id\" : \"4444444444444\"}]}}}}}"));
	is_str(oid_of(g.tree), "4444444444444", "order id fallback: \"id\" : \"<digits>\" in the card");
	rerun(&g);
	is_int(g.e.trade, TRADE_PAID, "fallback card: paid");
	is_str(g.e.order_id, "4444444444444", "fallback card: order id in the event");
	card_put(g.tree, cJSON_Parse("{\"contentType\":26,\"x\":{\"id\":123456789}}"));
	is_str(oid_of(g.tree), "-", "order id fallback: fewer than 10 digits is no id");
	card_put(g.tree, cJSON_Parse("{\"contentType\":26,\"x\":{\"id\":12345678901}}"));
	is_str(oid_of(g.tree), "12345678901", "order id fallback: \"id\": as a number");
	card_put(g.tree, cJSON_Parse("{\"contentType\":26}"));
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "see https://x/y?orderId=5555555555555&a=1");
	is_str(oid_of(g.tree), "5555555555555", "order id fallback: orderId= anywhere");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "orderId:6666666666666");
	is_str(oid_of(g.tree), "6666666666666", "order id fallback: orderId: anywhere");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "fleamarket://order_detail?id=7777777777777");
	is_str(oid_of(g.tree), "7777777777777", "order id fallback: order_detail?id= anywhere");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "a bizOrderId=8888888888888");
	is_str(oid_of(g.tree), "8888888888888", "order id fallback: bizOrderId= last");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "bizOrderId=8888888888888 order_detail?id=9999999999999");
	is_str(oid_of(g.tree), "9999999999999", "order id fallback: order_detail before bizOrderId");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "orderId=12 then orderId=1234512345123");
	is_str(oid_of(g.tree), "1234512345123", "order id fallback: the first occurrence that matches");
	set_str(at(g.tree, "1", "10", NULL), "detailNotice", "nothing here");
	is_str(oid_of(g.tree), "-", "order id: none anywhere");
	rerun(&g);
	is_int(g.e.type, EV_TRADE, "a paid card without any order id: still trade");
	is_str(g.e.order_id, "", "a paid card without any order id: order id \"\"");
	got_free(&g);

	/* Update frames: the _CONTENT_MAP_UPDATE_PRE_ button JSON, then the updateKey. */
	build_order("update", o, "paid", &g);
	is_str(oid_of(g.tree), o->id, "update order id: from the button JSON");
	t = at(g.tree, "4", NULL);
	set_str(t, "_CONTENT_MAP_UPDATE_PRE_dxCard.item.main.exContent.button",
		"{\"text\":\"已付款\",\"targetUrl\":\"https://x/idleDeliver?orderId=1212121212121\"}");
	is_str(oid_of(g.tree), "1212121212121", "update order id: button orderId=");
	cJSON_DeleteItemFromObjectCaseSensitive(t, "_CONTENT_MAP_UPDATE_PRE_dxCard.item.main.exContent.button");
	is_str(oid_of(g.tree), o->id, "update order id: from the updateKey");
	set_str(t, "extJson", "{}");
	is_str(oid_of(g.tree), "-", "update order id: none left");
	got_free(&g);

	is_int(event_order_id(NULL, small, sizeof small), -1, "order id: NULL tree");
	is_int(event_order_id(NULL, NULL, 0), -1, "order id: no output buffer");
}

static void test_texts(void)
{
	static const char *const sys[] = {
		"快给ta一个评价吧~", "快给ta一个评价吧～", "卖家人不错？送Ta闲鱼小红花", "发来一条消息", "发来一条新消息",
		"AI正在帮你回复消息，不错过每笔订单", "[不想宝贝被砍价?设置不砍价回复  ]", "[我完成了评价]", "订单已签收",
		"[注意！小心假客服骗钱！]", "[卡片消息]", " 发来一条新消息\t ",
	};
	static const char *const trade[] = {
		"[我已付款，等待你发货]", "[已付款，待发货]", "我已付款，等待你发货", "[记得及时发货]", "[我已拍下，待付款]",
		"[你已发货]", "已发货", "你已发货", "[你已发货，请等待买家确认收货]", "[买家确认收货，交易成功]",
		"[你已确认收货，交易成功]", "[你关闭了订单，钱款已原路退返]", "[退款成功，钱款已原路退返]",
		"[买家申请退款]", "[我发起了退款申请]", "真的吗[我已付款，等待你发货]？", "orderId=2503688126356636370 [记得及时发货]",
	};
	static const char *const chat[] = {"已发货了吗？", "什么时候发货", "[微笑]", "我已拍下", "交易关闭"};
	sim_order *o = make_order("2503688126356640001", "placed");
	size_t i;
	got g;
	cJSON *spec, *card;
	char *js;

	for (i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		spec = cJSON_CreateObject();
		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "text", sys[i]);
		js = cJSON_PrintUnformatted(spec);
		build(js, &g);
		is_int(g.e.type, EV_SYSTEM, "system text '%s': system, never chat text", sys[i]);
		free(js);
		cJSON_Delete(spec);
		got_free(&g);
	}
	for (i = 0; i < sizeof trade / sizeof trade[0]; i++) {
		spec = cJSON_CreateObject();
		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "text", trade[i]);
		js = cJSON_PrintUnformatted(spec);
		build(js, &g);
		ok(g.e.type == EV_SYSTEM && g.e.trade == TRADE_NONE && !*g.e.order_id,
		   "trade text '%s' typed as chat: system, no status, no order id", trade[i]);
		free(js);
		cJSON_Delete(spec);
		got_free(&g);
	}
	for (i = 0; i < sizeof chat / sizeof chat[0]; i++) {
		spec = cJSON_CreateObject();
		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "text", chat[i]);
		js = cJSON_PrintUnformatted(spec);
		build(js, &g);
		is_int(g.e.type, EV_CHAT_TEXT, "'%s' is a question, not a system text", chat[i]);
		free(js);
		cJSON_Delete(spec);
		got_free(&g);
	}

	/* Cards carry their text in reminderContent and as display text. */
	for (i = 0; i < sizeof trade / sizeof trade[0] - 2; i++) {
		build_order("card", o, "placed", &g);
		set_str(at(g.tree, "1", "10", NULL), "reminderContent", trade[i]);
		rerun(&g);
		ok(g.e.type == EV_TRADE || g.e.type == EV_SYSTEM, "card with '%s': trade or system (%s)", trade[i],
		   event_type_name(g.e.type));
		got_free(&g);
	}

	/* The bargain card: [卡片消息] with title 我已小刀，待刀成 stays system, with its order id. */
	build_order("card", o, "placed", &g);
	set_str(at(g.tree, "1", "10", NULL), "reminderContent", "[卡片消息]");
	set_str(at(g.tree, "1", "6", "3", NULL), "2", "[卡片消息]");
	card = card_get(g.tree);
	set_str(at(card, "dxCard", "item", "main", "exContent", NULL), "title", "我已小刀，待刀成");
	card_put(g.tree, card);
	set_str(at(g.tree, "1", "10", NULL), "redReminder", "等待买家付款");
	rerun(&g);
	is_int(g.e.type, EV_SYSTEM, "bargain card: system");
	is_int(g.e.trade, TRADE_NONE, "bargain card: no status");
	is_str(g.e.order_id, o->id, "bargain card: order id for the bargain flow");
	is_int(g.e.content_type, 26, "bargain card: content type 26");
	/* An unknown card with redReminder 交易关闭 is closed. */
	set_str(at(g.tree, "1", "10", NULL), "reminderContent", "[新的卡片]");
	set_str(at(g.tree, "1", "10", NULL), "redReminder", "交易关闭");
	rerun(&g);
	is_int(g.e.type, EV_TRADE, "card with redReminder 交易关闭: trade");
	is_int(g.e.trade, TRADE_CLOSED, "card with redReminder 交易关闭: closed");
	got_free(&g);

	/* A refund request whose button is neither 已同意 nor 已撤销. */
	build_order("card", o, "refunding", &g);
	card = card_get(g.tree);
	set_str(at(card, "dynamicOperation", "changeContent", "dxCard", "item", "main", "exContent", "button", NULL),
		"text", "去处理");
	set_str(at(card, "dxCard", "item", "main", "exContent", "button", NULL), "text", "去处理");
	card_put(g.tree, card);
	rerun(&g);
	is_int(g.e.type, EV_SYSTEM, "refund card, unanswered: system");
	is_str(g.e.order_id, o->id, "refund card, unanswered: order id");
	got_free(&g);
}

/* Calls event_from_item and event_order_id on t; returns 1 when the strings are sane. */
static int survives(const cJSON *t, int obj, int plain)
{
	ev e;
	char oid[40];

	event_from_item(t, obj, plain, UNB, &e);
	event_order_id(t, oid, sizeof oid);
	return strings_ok(&e) && e.raw == t;
}

/* Parses JSON text into a tree for the hostile cases. */
static int survives_json(const char *js, int obj)
{
	cJSON *t = cJSON_Parse(js);
	int r;

	if (!t) {
		diag("bad test JSON %s", js);
		return 0;
	}
	r = survives(t, obj, 0);
	cJSON_Delete(t);
	return r;
}

/* Appends n copies of s to b. */
static void repeat(sbuf *b, const char *s, size_t n)
{
	while (n--)
		sbuf_adds(b, s);
}

/* Checks NULL, array and unknown trees, and hostile shapes under every objectType: no crash. */
static void test_hostile_shapes(void)
{
	static const char *const cases[] = {
		"{}", "[]", "[1,2,3]", "{\"1\":{}}", "{\"1\":[]}", "{\"1\":[1]}", "{\"1\":[{}]}", "{\"1\":[{\"1\":5}]}",
		"{\"1\":{\"10\":[]}}", "{\"1\":{\"10\":{}}}", "{\"1\":{\"10\":5,\"6\":[]}}", "{\"1\":{\"6\":{\"3\":[]}}}",
		"{\"1\":{\"6\":{\"3\":{\"4\":\"26\",\"5\":[1]}},\"10\":{}}}",
		"{\"1\":{\"6\":{\"3\":{\"4\":1e999,\"5\":{\"contentType\":2,\"image\":{\"pics\":{}}}}},\"10\":{}}}",
		"{\"1\":{\"6\":{\"3\":{\"4\":2,\"5\":\"{\\\"image\\\":{\\\"pics\\\":[5]}}\"}},\"10\":{}}}",
		"{\"1\":{\"1\":[],\"2\":10001,\"3\":5,\"5\":\"17\",\"10\":{\"senderUserId\":2200000000001,"
		"\"reminderContent\":7,\"reminderUrl\":[1],\"bizTag\":{},\"extJson\":\"not json\",\"sessionType\":30,"
		"\"reminderTitle\":1,\"senderNick\":{}}},\"3\":[]}",
		"{\"1\":{\"2\":\"@goofish\",\"10\":{\"bizTag\":\"{\\\"messageId\\\":[]}\",\"extJson\":\"[1]\","
		"\"reminderUrl\":\"itemId=&messageId=\"}}}",
		"{\"1\":\"x.PNM\",\"4\":{}}", "{\"1\":\"x.PNM\",\"4\":{\"_CONTENT_MAP_UPDATE_PRE_x\":5,"
		"\"_CONTENT_MAP_UPDATE_PRE_button\":\"{\\\"text\\\":7}\",\"reminderContent\":\"[我发起了退款申请]\","
		"\"extJson\":\"{\\\"updateKey\\\":\\\"a:b:c\\\"}\"}}",
		"{\"1\":\"1@goofish\",\"3\":{}}", "{\"1\":\"1@goofish\",\"3\":{\"orderId\":[],\"redReminder\":5}}",
		"{\"1\":\"1@goofish\",\"3\":{\"orderId\":\"12a\"}}",
		"{\"1\":5,\"2\":2,\"3\":\"@goofish\"}", "{\"1\":[5],\"3\":\"@goofish\"}",
		"{\"chatType\":[],\"operation\":5,\"sessionInfo\":[]}",
		"{\"chatType\":1,\"operation\":{\"content\":{\"sessionArouse\":{\"arouseChatScriptInfo\":[5]}}},"
		"\"sessionId\":[]}",
		"{\"1\":{\"10\":{\"extJson\":\"{\\\"updateKey\\\":\\\":\\\"}\"}}}",
		"{\"1\":{\"10\":{\"extJson\":\"{\\\"updateKey\\\":\\\"1:12345678901234567890123456789012345678901234567890\\\"}\"}}}",
	};
	static const int objs[] = {0, 40000, 40006, 40103, 370000};
	size_t i, j;
	int all = 1;
	ev e;
	cJSON *t;

	is_int(event_from_item(NULL, 40000, 0, UNB, &e), -1, "NULL tree: -1");
	ok(e.type == EV_UNKNOWN && strings_ok(&e), "NULL tree: unknown, strings \"\"");
	t = cJSON_CreateArray();
	is_int(event_from_item(t, 40000, 0, UNB, &e), -1, "array tree: -1");
	ok(e.raw == t && e.type == EV_UNKNOWN, "array tree: raw kept");
	cJSON_Delete(t);
	t = cJSON_Parse("{\"1\":{}}");
	is_int(event_from_item(t, 40000, 0, NULL, &e), -1, "{\"1\":{}}: -1");
	cJSON_Delete(t);
	t = cJSON_Parse("{\"zz\":1}");
	is_int(event_from_item(t, 40000, 0, UNB, &e), -1, "an unknown shape: -1");
	ok(e.type == EV_UNKNOWN && strings_ok(&e), "an unknown shape: unknown, strings \"\"");
	cJSON_Delete(t);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (j = 0; j < sizeof objs / sizeof objs[0]; j++)
			if (!survives_json(cases[i], objs[j])) {
				all = 0;
				diag("case %zu objectType %d", i, objs[j]);
			}
	ok(all, "hostile shapes (%zu x %zu objectTypes): no crash, strings never NULL",
	   sizeof cases / sizeof cases[0], sizeof objs / sizeof objs[0]);
}

/* Checks numbers where ids and strings belong, and non-finite and huge numbers. */
static void test_hostile_numbers(void)
{
	ev e;
	cJSON *t;

	t = cJSON_Parse("{\"1\":{\"2\":10001,\"3\":5,\"10\":{\"senderUserId\":2200000000001,\"reminderContent\":7,"
			"\"sessionType\":30}}}");
	event_from_item(t, 40000, 0, UNB, &e);
	is_str(e.chat_id, "10001", "numbers for ids: chat id as decimal");
	is_str(e.sender_id, UNB, "numbers for ids: sender id as decimal");
	is_int(e.own, 1, "numbers for ids: own still recognised");
	is_int(e.group, 1, "numbers for ids: sessionType 30 as a number");
	is_str(e.text, "", "number for reminderContent: text \"\"");
	is_str(e.im_id, "", "number for the IM id: \"\"");
	cJSON_Delete(t);

	/* Non-finite and huge numbers (cJSON makes 1e999 infinite). */
	t = cJSON_Parse("{\"1\":{\"5\":1e999,\"2\":-1e999,\"6\":{\"3\":{\"4\":1e300}},\"10\":{\"senderUserId\":1e30}}}");
	cJSON_AddItemToObject(at(t, "1", NULL), "7", cJSON_CreateNumber(NAN));
	cJSON_AddItemToObject(at(t, "1", "10", NULL), "sessionType", cJSON_CreateNumber(NAN));
	ok(survives(t, 40000, 0), "infinite and huge numbers: no crash");
	event_from_item(t, 40000, 0, UNB, &e);
	ok(e.created_ms == 0 && e.content_type == 0, "infinite time and content type: 0");
	cJSON_Delete(t);
}

/* Checks long strings are cut inside the buffer at a character boundary. */
static void test_hostile_long(void)
{
	sbuf b = {0};
	got g;

	build("{\"kind\":\"text\",\"text\":\"x\"}", &g);
	set_str(at(g.tree, "1", "10", NULL), "reminderContent", "");
	sbuf_adds(&b, "{\"contentType\":1,\"text\":{\"text\":\"");
	repeat(&b, "好", 3000);
	sbuf_adds(&b, "\"}}");
	set_str(at(g.tree, "1", "6", "3", NULL), "5", b.p);
	sbuf_reset(&b);
	rerun(&g);
	is_int(g.e.type, EV_CHAT_TEXT, "long inner text: chat text");
	ok(strlen(g.e.text) > 900 && strlen(g.e.text) < sizeof g.e.buf, "long inner text: cut to the buffer (%zu)",
	   strlen(g.e.text));
	ok(strlen(g.e.text) % 3 == 0 && !strncmp(g.e.text, "好好", 6), "long inner text: cut at a character boundary");
	ok(strings_ok(&g.e), "long inner text: strings sane");

	repeat(&b, "9", 4000);
	sbuf_adds(&b, "@goofish");
	set_str(at(g.tree, "1", NULL), "2", b.p);
	sbuf_reset(&b);
	sbuf_adds(&b, "{\"messageId\":\"");
	repeat(&b, "ab", 3000);
	sbuf_adds(&b, "\"}");
	set_str(at(g.tree, "1", "10", NULL), "bizTag", b.p);
	sbuf_reset(&b);
	sbuf_adds(&b, "fleamarket://message_chat?itemId=");
	repeat(&b, "7", 3000);
	sbuf_adds(&b, "&adv=no");
	set_str(at(g.tree, "1", "10", NULL), "reminderUrl", b.p);
	sbuf_reset(&b);
	repeat(&b, "长", 2000);
	sbuf_adds(&b, "@goofish");
	set_str(at(g.tree, "1", "10", NULL), "senderUserId", b.p);
	sbuf_reset(&b);
	rerun(&g);
	ok(strings_ok(&g.e), "long ids: strings sane");
	ok(strlen(g.e.chat_id) <= 128 && g.e.chat_id[0] == '9', "long chat id: capped (%zu)", strlen(g.e.chat_id));
	ok(strlen(g.e.message_id) <= 128 && *g.e.message_id, "long message id: capped (%zu)", strlen(g.e.message_id));
	ok(strlen(g.e.item_id) <= 128 && *g.e.item_id, "long item id: capped (%zu)", strlen(g.e.item_id));
	ok(strlen(g.e.sender_id) <= 128 && strlen(g.e.sender_id) % 3 == 0, "long sender: capped at a character boundary");
	ok(strlen(g.e.text) < sizeof g.e.buf, "long everything: text still fits (%zu)", strlen(g.e.text));
	got_free(&g);

	build("{\"kind\":\"image\"}", &g);
	sbuf_adds(&b, "{\"contentType\":2,\"image\":{\"pics\":[{\"url\":\"https://");
	repeat(&b, "a", 5000);
	sbuf_adds(&b, "\"}]}}");
	set_str(at(g.tree, "1", "6", "3", NULL), "5", b.p);
	sbuf_reset(&b);
	rerun(&g);
	ok(g.e.type == EV_CHAT_IMAGE && strlen(g.e.image_url) <= 1024 && !strncmp(g.e.image_url, "https://", 8),
	   "long image url: capped (%zu)", strlen(g.e.image_url));
	got_free(&g);
	sbuf_free(&b);
}

/* Checks deep nesting (deeper than the decoder would make) in the order id scan: no crash. */
static void test_hostile_nesting(void)
{
	cJSON *t, *n;
	size_t i;

	t = cJSON_Parse("{\"1\":{\"10\":{}}}");
	n = t;
	for (i = 0; i < 300; i++) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddItemToObject(n, "d", c);
		n = c;
	}
	cJSON_AddStringToObject(n, "u", "orderId=1234567890123");
	ok(survives(t, 40000, 0), "300 levels of nesting: no crash");
	cJSON_Delete(t);
}

/* Checks hostile trees, numbers, long strings and deep nesting: no crash, sane strings. */
static void test_hostile(void)
{
	test_hostile_shapes();
	test_hostile_numbers();
	test_hostile_long();
	test_hostile_nesting();
}

/* Replaces the k-th node (depth first, root excluded) under j with make(v);
 * *k counts down. Returns 1 once replaced. */
static int replace_nth(cJSON *j, int *k, int v)
{
	cJSON *c;

	for (c = j->child; c; c = c->next) {
		if ((*k)-- == 0) {
			cJSON *r;

			switch (v) {
			case 0: r = cJSON_CreateNumber(12345678901234.0); break;
			case 1: r = cJSON_CreateNumber(NAN); break;
			case 2: r = cJSON_CreateString("2200000000001@goofish"); break;
			case 3: r = cJSON_CreateArray(); break;
			case 4: r = cJSON_CreateObject(); break;
			case 5: r = cJSON_CreateString(""); break;
			case 6: r = cJSON_CreateNull(); break;
			default: r = cJSON_CreateString("{\"dxCard\":[],\"messageId\":5,\"updateKey\":\"1:2\"}"); break;
			}
			if (c->string)
				r->string = strdup(c->string);
			cJSON_ReplaceItemViaPointer(j, c, r);
			return 1;
		}
		if (replace_nth(c, k, v))
			return 1;
	}
	return 0;
}

/* Returns the number of nodes under j (root excluded). */
static int count_nodes(const cJSON *j)
{
	const cJSON *c;
	int n = 0;

	for (c = j->child; c; c = c->next)
		n += 1 + count_nodes(c);
	return n;
}

/* Every node of every simulator item, replaced by each of 8 wrong values; the
 * same for every node of a card's JSON. */
static void test_mutations(void)
{
	static const char *const specs[] = {
		"{\"kind\":\"text\",\"text\":\"hi\"}", "{\"kind\":\"text\",\"text\":\"hi\",\"mobile\":true}",
		"{\"kind\":\"image\"}", "{\"kind\":\"audio\"}", "{\"kind\":\"tip\",\"text\":\"t\"}",
		"{\"kind\":\"typing\"}", "{\"kind\":\"receipt\",\"variant\":1}", "{\"kind\":\"receipt\",\"variant\":2}",
		"{\"kind\":\"receipt\",\"variant\":3}", "{\"kind\":\"vulcan\"}", "{\"kind\":\"payment\"}",
		"{\"kind\":\"order_ctx\",\"order_id\":\"2503688126356641000\"}",
		"{\"kind\":\"card\",\"order_id\":\"2503688126356641000\",\"status\":\"paid\"}",
		"{\"kind\":\"card\",\"order_id\":\"2503688126356641000\",\"status\":\"refunding\"}",
		"{\"kind\":\"update\",\"order_id\":\"2503688126356641000\",\"status\":\"refund_cancelled\"}",
		"{\"kind\":\"update\",\"order_id\":\"2503688126356641000\",\"status\":\"paid\"}",
	};
	size_t i;
	int k, v, n, runs = 0, all = 1;
	got g;

	make_order("2503688126356641000", "paid");
	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		if (build(specs[i], &g)) {
			all = 0;
			continue;
		}
		n = count_nodes(g.tree);
		for (k = 0; k < n; k++)
			for (v = 0; v < 8; v++) {
				cJSON *t = cJSON_Duplicate(g.tree, 1);
				int kk = k;

				replace_nth(t, &kk, v);
				runs++;
				if (!survives(t, g.obj, g.plain)) {
					all = 0;
					diag("spec %zu node %d value %d", i, k, v);
				}
				cJSON_Delete(t);
			}
		/* Inside the card JSON too. */
		if (at(g.tree, "1", "6", "3", "5", NULL) && cJSON_IsString(at(g.tree, "1", "6", "3", "5", NULL))) {
			cJSON *card = card_get(g.tree);

			n = card ? count_nodes(card) : 0;
			for (k = 0; k < n; k++)
				for (v = 0; v < 8; v++) {
					cJSON *t = cJSON_Duplicate(g.tree, 1), *c = cJSON_Duplicate(card, 1);
					int kk = k;

					replace_nth(c, &kk, v);
					card_put(t, c);
					runs++;
					if (!survives(t, g.obj, g.plain)) {
						all = 0;
						diag("spec %zu card node %d value %d", i, k, v);
					}
					cJSON_Delete(t);
				}
			cJSON_Delete(card);
		}
		got_free(&g);
	}
	ok(all, "mutations: %d trees with one node of the wrong type: no crash, strings never NULL", runs);
}

/* Builds spec's item, records it in the simulator's history as the platform
 * does, and makes the event of the history message (extension as the
 * platform sent it, then as the other form): every field matches the pushed
 * item's event, and it is flagged backfilled. Returns nothing. */
static void history_same(const char *what, const char *spec_json)
{
	cJSON *spec = cJSON_Parse(spec_json), *it, *items, *tree = NULL, *msg, *ext;
	char err[160];
	const char *e2 = NULL;
	sim_chat *ch;
	got g;
	ev e;
	int form;

	memset(&g, 0, sizeof g);
	g.info = cJSON_CreateObject();
	it = sim_item_build(spec, A, g.info, err, sizeof err);
	cJSON_Delete(spec);
	if (!ok(it != NULL, "history %s: built", what))
		return;
	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
	sim_history_note(items);
	cJSON_Delete(items);
	from_item(it, &g);
	ch = sim_chat_find(info(&g, "cid"));
	msg = ch && ch->hist && ch->hist->child ? cJSON_Duplicate(ch->hist->child->prev, 1) : NULL;
	if (!ok(msg != NULL, "history %s: the message is in its chat's history", what)) {
		got_free(&g);
		return;
	}
	for (form = 0; form < 2; form++) {
		int r = event_from_history(msg, UNB, &e, &tree, &e2);

		ok(r == 0 && e.type == g.e.type && e.trade == g.e.trade && !strcmp(e.text, g.e.text) &&
		   !strcmp(e.chat_id, g.e.chat_id) && !strcmp(e.sender_id, g.e.sender_id) &&
		   !strcmp(e.message_id, g.e.message_id) && !strcmp(e.im_id, g.e.im_id) &&
		   !strcmp(e.order_id, g.e.order_id) && !strcmp(e.item_id, g.e.item_id) && e.own == g.e.own &&
		   !strcmp(e.image_url, g.e.image_url) && e.content_type == g.e.content_type &&
		   e.created_ms >= g.e.created_ms && e.created_ms < g.e.created_ms + 1000,
		   "history %s (extension as %s): the same event as the push (%s, %s)", what,
		   cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "extension")) ? "a string" : "an object",
		   event_type_name(e.type), e.text);
		is_int(e.backfilled, 1, "history %s: flagged backfilled", what);
		is_int(g.e.backfilled, 0, "history %s: the pushed one is not", what);
		cJSON_Delete(tree);
		tree = NULL;
		/* the other form of the extension */
		ext = cJSON_DetachItemFromObjectCaseSensitive(msg, "extension");
		if (cJSON_IsString(ext)) {
			cJSON_AddItemToObject(msg, "extension", cJSON_Parse(ext->valuestring));
		} else {
			char *t = cJSON_PrintUnformatted(ext);

			cJSON_AddStringToObject(msg, "extension", t ? t : "");
			free(t);
		}
		cJSON_Delete(ext);
	}
	cJSON_Delete(msg);
	got_free(&g);
}

/* event_from_history (docs/protocol.md §4.5): history messages of every
 * kind give the pushed item's event; broken ones are refused with a reason. */
static void test_history(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"messageId\":\"1.PNM\",\"cid\":\"1@goofish\"}",
		"{\"messageId\":\"1.PNM\",\"cid\":\"1@goofish\",\"content\":{\"custom\":{\"data\":\"%%%\"}}}",
		"[1,2]",
	};
	sim_order *o;
	char spec[200];
	cJSON *tree, *j;
	const char *err;
	size_t i;
	ev e;

	history_same("text", "{\"kind\":\"text\",\"text\":\"在吗 backfill\"}");
	history_same("text 2", "{\"kind\":\"text\",\"text\":\"second\"}");
	history_same("own text", "{\"kind\":\"text\",\"text\":\"by hand\",\"from_seller\":true}");
	history_same("image", "{\"kind\":\"image\",\"url\":\"https://img.alicdn.com/x.jpg\"}");
	o = make_order("2503688126356699001", "paid");
	snprintf(spec, sizeof spec, "{\"kind\":\"card\",\"order_id\":\"%s\",\"status\":\"paid\"}", o->id);
	history_same("paid card", spec);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r;

		j = cJSON_Parse(bad[i]);

		err = NULL;
		r = event_from_history(j, UNB, &e, &tree, &err);
		ok(r == -1 && !tree && err && *err, "history: a broken message is refused (%s)", err ? err : "?");
		cJSON_Delete(j);
	}
	/* the feed line carries the flag */
	j = cJSON_Parse("{\"messageId\":\"5.PNM\",\"cid\":\"7@goofish\",\"createAt\":1700000000000,"
			"\"sender\":{\"uid\":\"9@goofish\"},\"content\":{\"contentType\":101,\"custom\":{\"type\":1,"
			"\"data\":\"eyJjb250ZW50VHlwZSI6MSwidGV4dCI6eyJ0ZXh0IjoiaGkifX0=\",\"summary\":\"hi\"}}}");
	if (ok(event_from_history(j, UNB, &e, &tree, &err) == 0, "history: a message without extension")) {
		cJSON *line = event_json(&e);

		is_str(e.text, "hi", "history: the text from custom.data");
		is_str(e.chat_id, "7", "history: chat id");
		ok(e.created_ms == 1700000000000LL, "history: createAt");
		ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(line, "backfilled")), "history: event_json says backfilled");
		cJSON_Delete(line);
		cJSON_Delete(tree);
	}
	cJSON_Delete(j);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	S.next_im = 3416565274542ull;
	S.next_cid = 47983389096ull;
	S.next_buyer = 2200000100001ull;
	S.next_order = 2503688126356636370ull;
	A = sim_account_get(UNB, 1);
	test_names();
	test_vectors();
	test_chat_kinds();
	test_payment();
	test_cards();
	test_order_ids();
	test_texts();
	test_hostile();
	test_mutations();
	test_history();
	sim_free_all();
	return tap_done();
}
