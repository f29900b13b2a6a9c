/* SPDX-License-Identifier: MIT */
/*
 * core/event.c - turns one decoded push item (docs/protocol.md §6) into a typed event.
 *
 * The input is untrusted: any member may be missing or of the wrong type, so
 * every lookup goes through jget()/jstr(), which answer NULL for anything but
 * the expected shape. Strings that are not whole tree strings (ids cut at '@',
 * URL parameters, members of the JSON texts nested in strings) are copied into
 * e->buf, truncated at a UTF-8 character boundary when the buffer runs out.
 *
 * Two deliberate departures from the open-source bots (docs/protocol.md §6.2):
 * - Trade statuses come only from cards (contentType 26, a dxCard, extJson
 *   MsgCard) and message-update frames. A buyer who types "[我已付款，等待你发货]"
 *   gets EV_SYSTEM with no trade status and no order id, not a delivery: [ZC]
 *   would scrape an order id from whatever the buyer wrote.
 * - System and trade texts typed as plain chat are matched exactly (after
 *   trimming), as [ZC] does, except the delivery triggers of §9, which are
 *   substrings; so "已发货了吗？" stays a question the auto-reply may answer.
 */
#include "event.h"
#include "../plugins/plugin.h"
#include "codec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Caps for copied strings, so a hostile id cannot eat the text's room. */
#define EV_ID_CAP 128
#define EV_URL_CAP 1024
/* The whole-tree text the order id fallbacks scan is cut at this size. */
#define EV_SCAN_MAX (1u << 20)
#define EV_SCAN_DEPTH 64

/* One row per event type: its name (the event log's and the live page's
 * "type") and its type in the plugin ABI (plugins/plugin.h). A new push kind
 * is a row here (tests/unit/test_feed checks that every type has one). */
static const struct {
	const char *name;
	int sk;
} TYPES[EV_TYPE_COUNT] = {
	[EV_UNKNOWN] = { "unknown", SK_EV_UNKNOWN },
	[EV_CHAT_TEXT] = { "chat_text", SK_EV_CHAT_TEXT },
	[EV_CHAT_IMAGE] = { "chat_image", SK_EV_CHAT_IMAGE },
	[EV_TRADE] = { "trade", SK_EV_TRADE },
	[EV_MSG_UPDATE] = { "msg_update", SK_EV_MSG_UPDATE },
	[EV_PAYMENT] = { "payment", SK_EV_PAYMENT },
	[EV_TYPING] = { "typing", SK_EV_TYPING },
	[EV_READ] = { "read", SK_EV_READ },
	[EV_SYSTEM] = { "system", SK_EV_SYSTEM },
};

static const char *const TRADE_NAMES[] = {
	"none", "placed", "paid", "remind", "shipped", "completed", "closed", "refunding", "refund_cancelled"
};

/* Texts of docs/protocol.md §6.2 that are never a chat message (exact match). */
static const char *const SYSTEM_TEXTS[] = {
	"快给ta一个评价吧~", "快给ta一个评价吧～", "卖家人不错？送Ta闲鱼小红花", "发来一条消息", "发来一条新消息",
	"AI正在帮你回复消息，不错过每笔订单", "[不想宝贝被砍价?设置不砍价回复  ]", "[我完成了评价]", "我完成了评价",
	"订单已签收", "[注意！小心假客服骗钱！]", "[卡片消息]", NULL
};

/* The delivery triggers of §9, matched as substrings. */
static const char *const PAID_TEXTS[] = {
	"[我已付款，等待你发货]", "[已付款，待发货]", "我已付款，等待你发货", NULL
};
#define REMIND_TEXT "[记得及时发货]"

/* Card texts and their status; [ZC] compares these exactly, inside cards they
 * are substrings. "已发货" comes last: it is inside the other shipped texts. */
static const struct {
	const char *text;
	trade_status st;
} CARD_TEXTS[] = {
	{"[我已拍下，待付款]", TRADE_PLACED},
	{"[买家确认收货，交易成功]", TRADE_COMPLETED},
	{"[你已确认收货，交易成功]", TRADE_COMPLETED},
	{"[你关闭了订单，钱款已原路退返]", TRADE_CLOSED},
	{"[退款成功，钱款已原路退返]", TRADE_CLOSED},
	{"[未付款，买家关闭了订单]", TRADE_CLOSED},
	{"[买家申请退款]", TRADE_REFUNDING},
	{"[你已发货，请等待买家确认收货]", TRADE_SHIPPED},
	{"[你已发货]", TRADE_SHIPPED},
	{"你已发货", TRADE_SHIPPED},
	{"已发货", TRADE_SHIPPED},
};

#define REFUND_TITLE "我发起了退款申请"
#define UPDATE_PRE "_CONTENT_MAP_UPDATE_PRE_"

/* Returns the name of t ("chat_text", "trade"...), "unknown" when out of range. */
const char *event_type_name(ev_type t)
{
	return (unsigned)t < EV_TYPE_COUNT && TYPES[t].name ? TYPES[t].name : "unknown";
}

/* Returns the ABI's type of t (sk_event_type), SK_EV_UNKNOWN when out of range. */
int event_sk_type(ev_type t)
{
	return (unsigned)t < EV_TYPE_COUNT && TYPES[t].sk ? TYPES[t].sk : SK_EV_UNKNOWN;
}

/* Returns the name of s ("paid", "shipped"...), "none" when out of range. */
const char *trade_status_name(trade_status s)
{
	return (unsigned)s < sizeof TRADE_NAMES / sizeof TRADE_NAMES[0] ? TRADE_NAMES[s] : "none";
}

/* Returns member k of o, NULL when o is not an object or has no such member.
 * (cJSON would also search arrays, whose members have no names.) */
static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* Returns the string value of member k of o, NULL when it is not a string. */
static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Returns s, or "" for NULL. */
static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Returns the integer value of v (a finite number in range, or a string of up
 * to 18 digits: the decoder turns integers above 2^53 into strings), else 0. */
static int64_t jint(const cJSON *v)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		/* The range check also rejects NaN; the cast would be undefined otherwise. */
		if (d > -9.2e18 && d < 9.2e18)
			return (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(v) && v->valuestring) {
		const char *s = v->valuestring;
		size_t n = strspn(s, "0123456789");

		if (n && n <= 18 && !s[n])
			return strtoll(s, NULL, 10);
	}
	return 0;
}

/* Returns 1 when the string member k of o equals want. */
static int jstr_is(const cJSON *o, const char *k, const char *want)
{
	const char *s = jstr(o, k);

	return s && !strcmp(s, want);
}

/* Returns 1 when the string member k of o is the decimal number want (the
 * extJson texts carry numbers as strings). */
static int jstr_is_num(const cJSON *o, const char *k, int want)
{
	char num[16];

	snprintf(num, sizeof num, "%d", want);
	return jstr_is(o, k, num);
}

/* Copies s[0..n) (at most cap bytes) into e->buf and returns the copy; the
 * cut falls on a UTF-8 character boundary. Returns "" when the buffer is full. */
static const char *keep(ev *e, const char *s, size_t n, size_t cap)
{
	size_t room, want = n;
	char *d;

	if (e->used >= sizeof e->buf - 1)
		return "";
	room = sizeof e->buf - 1 - e->used;
	if (n > room)
		n = room;
	if (n > cap)
		n = cap;
	/* Cut: step back to the start of the character s[n] belongs to. */
	if (n < want)
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	d = e->buf + e->used;
	memcpy(d, s, n);
	d[n] = '\0';
	e->used += n + 1;
	return d;
}

/* Returns an id from v: a string cut at '@' ("<id>@goofish" -> "<id>"), or an
 * integral number in decimal; "" for anything else. */
static const char *id_of(ev *e, const cJSON *v)
{
	char b[32];

	if (cJSON_IsString(v) && v->valuestring) {
		const char *at = strchr(v->valuestring, '@');

		if (!at)
			return v->valuestring;
		return keep(e, v->valuestring, (size_t)(at - v->valuestring), EV_ID_CAP);
	}
	if (cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
	    (double)(int64_t)v->valuedouble == v->valuedouble) {
		snprintf(b, sizeof b, "%lld", (long long)v->valuedouble);
		return keep(e, b, strlen(b), EV_ID_CAP);
	}
	return "";
}

/* Returns the JSON value nested in v: v itself when it is an object, else the
 * parse of its string (kept exact for big ids), which *owned then holds for
 * the caller to delete. NULL when there is no object. */
static const cJSON *inner_json(const cJSON *v, cJSON **owned)
{
	cJSON *j;

	*owned = NULL;
	if (cJSON_IsObject(v))
		return v;
	if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
		return NULL;
	j = codec_json_parse(v->valuestring, strlen(v->valuestring), NULL);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	*owned = j;
	return j;
}

/* Finds query parameter name in url (after '?' or '&'); sets *val and *n to
 * its raw value, up to the next '&' or '#'. Returns 1 when found, else 0. */
static int url_param(const char *url, const char *name, const char **val, size_t *n)
{
	size_t nl = strlen(name);
	const char *p;

	if (!url)
		return 0;
	for (p = strstr(url, name); p; p = strstr(p + 1, name)) {
		if (p == url || (p[-1] != '?' && p[-1] != '&') || p[nl] != '=')
			continue;
		*val = p + nl + 1;
		*n = strcspn(*val, "&#");
		return 1;
	}
	return 0;
}

/* Returns the copied value of query parameter name of url, "" when absent. */
static const char *url_param_keep(ev *e, const char *url, const char *name)
{
	const char *v;
	size_t n;

	if (!url_param(url, name, &v, &n) || !n)
		return "";
	return keep(e, v, n, EV_ID_CAP);
}

/* Returns 1 when s, without leading and trailing ASCII whitespace, equals t. */
static int eq_trimmed(const char *s, const char *t)
{
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	return n == strlen(t) && !memcmp(s, t, n);
}

/* Returns 1 when text is one of the system texts. */
static int is_system_text(const char *text)
{
	int i;

	for (i = 0; SYSTEM_TEXTS[i]; i++)
		if (eq_trimmed(text, SYSTEM_TEXTS[i]))
			return 1;
	return 0;
}

/* Returns the delivery status text contains (PAID or REMIND), else TRADE_NONE. */
static trade_status delivery_trigger(const char *text)
{
	int i;

	for (i = 0; PAID_TEXTS[i]; i++)
		if (strstr(text, PAID_TEXTS[i]))
			return TRADE_PAID;
	return strstr(text, REMIND_TEXT) ? TRADE_REMIND : TRADE_NONE;
}

/* Returns the status a card's text names: delivery triggers and card texts as
 * substrings, then redReminder 交易关闭. TRADE_NONE when none matches. */
static trade_status card_text_status(const char *text, const char *red)
{
	trade_status st = delivery_trigger(text);
	size_t i;

	if (st)
		return st;
	for (i = 0; i < sizeof CARD_TEXTS / sizeof CARD_TEXTS[0]; i++)
		if (strstr(text, CARD_TEXTS[i].text))
			return CARD_TEXTS[i].st;
	if (red && !strcmp(red, "交易关闭"))
		return TRADE_CLOSED;
	return TRADE_NONE;
}

/* Returns 1 when a plain (non-card) message text is a trade text: a delivery
 * trigger as a substring, or a card text exactly. */
static int is_trade_text(const char *text)
{
	size_t i;

	if (delivery_trigger(text))
		return 1;
	if (eq_trimmed(text, "[" REFUND_TITLE "]"))
		return 1;
	for (i = 0; i < sizeof CARD_TEXTS / sizeof CARD_TEXTS[0]; i++)
		if (eq_trimmed(text, CARD_TEXTS[i].text))
			return 1;
	return 0;
}

/* Returns the status of a refund button text, TRADE_NONE for any other. */
static trade_status refund_button(const char *text)
{
	if (!text)
		return TRADE_NONE;
	if (!strcmp(text, "已同意"))
		return TRADE_REFUNDING;
	if (!strcmp(text, "已撤销"))
		return TRADE_REFUND_CANCELLED;
	return TRADE_NONE;
}

/* Returns dxCard.item.main of a card JSON object c, NULL when absent. */
static const cJSON *card_main(const cJSON *c)
{
	return jget(jget(jget(c, "dxCard"), "item"), "main");
}

/* Returns the refund status of a card JSON (docs/protocol.md §6.2): title 我发起了退款
 * 申请 in dynamicOperation.changeContent, button 已同意 or 已撤销. TRADE_NONE else. */
static trade_status card_refund_status(const cJSON *card)
{
	const cJSON *dyn = card_main(jget(jget(card, "dynamicOperation"), "changeContent"));
	const cJSON *ex = jget(dyn, "exContent");
	trade_status st;

	if (!jstr_is(ex, "title", REFUND_TITLE))
		return TRADE_NONE;
	st = refund_button(jstr(jget(ex, "button"), "text"));
	if (!st)
		st = refund_button(jstr(jget(jget(card_main(card), "exContent"), "button"), "text"));
	return st;
}

/* Returns the refund status of an update frame's metadata four: reminderContent
 * naming the refund request and an updated button saying 已同意 or 已撤销. */
static trade_status update_refund_status(const cJSON *four)
{
	const cJSON *m;
	trade_status st = TRADE_NONE;

	if (!strstr(nz(jstr(four, "reminderContent")), REFUND_TITLE))
		return TRADE_NONE;
	cJSON_ArrayForEach(m, four) {
		size_t kl = m->string ? strlen(m->string) : 0;
		cJSON *owned;
		const cJSON *b;

		if (kl < 6 || strncmp(m->string, UPDATE_PRE, strlen(UPDATE_PRE)) ||
		    strcmp(m->string + kl - 6, "button"))
			continue;
		b = inner_json(m, &owned);
		st = refund_button(jstr(b, "text"));
		cJSON_Delete(owned);
		if (st)
			break;
	}
	return st;
}

/* Order id search. */

/* Scans hay for key (then, with seps, one of those characters; with json_colon,
 * optional whitespace, ':', whitespace and an optional '"') followed by at least
 * min digits; the first occurrence that matches wins, as in a regex search.
 * Writes the digits to out and returns 0; -1 when nothing matches or the
 * digits do not fit in out. */
static int scan_id(const char *hay, const char *key, const char *seps, int json_colon, size_t min,
		   char *out, size_t outsz)
{
	const char *p, *q;
	size_t n;

	if (!hay)
		return -1;
	for (p = strstr(hay, key); p; p = strstr(p + 1, key)) {
		q = p + strlen(key);
		if (seps) {
			if (!*q || !strchr(seps, *q))
				continue;
			q++;
		}
		if (json_colon) {
			q += strspn(q, " \t\r\n\f\v");
			if (*q != ':')
				continue;
			q++;
			q += strspn(q, " \t\r\n\f\v");
			if (*q == '"')
				q++;
		}
		n = strspn(q, "0123456789");
		if (n < min)
			continue;
		if (n >= outsz)
			return -1;
		memcpy(out, q, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* Tries a targetUrl-bearing object b (a button or a card's main): orderId=
 * first, then order_detail?id=. Returns 0 when out was written. */
static int url_ids(const cJSON *b, char *out, size_t outsz)
{
	const char *url = jstr(b, "targetUrl");

	if (!scan_id(url, "orderId=", NULL, 0, 1, out, outsz))
		return 0;
	return scan_id(url, "order_detail?id=", NULL, 0, 1, out, outsz);
}

/* The [ZC] steps 1-3 over a card JSON. Returns 0 when out was written. */
static int card_ids(const cJSON *card, char *out, size_t outsz)
{
	const cJSON *main_ = card_main(card);
	const cJSON *dyn = card_main(jget(jget(card, "dynamicOperation"), "changeContent"));

	if (!scan_id(jstr(jget(jget(main_, "exContent"), "button"), "targetUrl"), "orderId=", NULL, 0, 1, out, outsz))
		return 0;
	if (!scan_id(jstr(main_, "targetUrl"), "order_detail?id=", NULL, 0, 1, out, outsz))
		return 0;
	return scan_id(jstr(jget(jget(dyn, "exContent"), "button"), "targetUrl"), "order_detail?id=", NULL, 0, 1,
		       out, outsz);
}

/* The update frame's _CONTENT_MAP_UPDATE_PRE_* JSONs (a button, a card's main
 * or a whole card). Returns 0 when out was written. */
static int update_ids(const cJSON *four, char *out, size_t outsz)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, four) {
		cJSON *owned;
		const cJSON *b;
		int r;

		if (!m->string || strncmp(m->string, UPDATE_PRE, strlen(UPDATE_PRE)))
			continue;
		b = inner_json(m, &owned);
		/* Each try returns 0 on a hit: the first hit ends the chain. */
		r = url_ids(b, out, outsz) && url_ids(jget(jget(b, "exContent"), "button"), out, outsz) &&
		    card_ids(b, out, outsz) ? -1 : 0;
		cJSON_Delete(owned);
		if (!r)
			return 0;
	}
	return -1;
}

/* The second field of extJson's updateKey "<cid>:<oid>:...", at least 10
 * digits. Returns 0 when out was written. */
static int update_key_id(const cJSON *ext, char *out, size_t outsz)
{
	cJSON *owned;
	const cJSON *x = inner_json(jget(ext, "extJson"), &owned);
	const char *k = jstr(x, "updateKey"), *p;
	size_t n;
	int r = -1;

	p = k ? strchr(k, ':') : NULL;
	if (p) {
		p++;
		n = strspn(p, "0123456789");
		if (n >= 10 && n < outsz && (p[n] == ':' || !p[n])) {
			memcpy(out, p, n);
			out[n] = '\0';
			r = 0;
		}
	}
	cJSON_Delete(owned);
	return r;
}

/* Appends a repr-like text of j to b: keys and strings quoted but not escaped,
 * so JSON nested in strings reads as JSON (as in Python's repr, which the
 * [ZC] fallbacks scan). Stops at EV_SCAN_MAX bytes or EV_SCAN_DEPTH levels. */
static void scan_text(sbuf *b, const cJSON *j, int depth)
{
	const cJSON *c;

	if (!j || depth > EV_SCAN_DEPTH || b->len > EV_SCAN_MAX)
		return;
	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		sbuf_adds(b, cJSON_IsObject(j) ? "{" : "[");
		cJSON_ArrayForEach(c, j) {
			if (c != j->child)
				sbuf_adds(b, ", ");
			if (c->string) {
				sbuf_adds(b, "\"");
				sbuf_adds(b, c->string);
				sbuf_adds(b, "\": ");
			}
			scan_text(b, c, depth + 1);
			if (b->len > EV_SCAN_MAX)
				return;
		}
		sbuf_adds(b, cJSON_IsObject(j) ? "}" : "]");
	} else if (cJSON_IsString(j)) {
		sbuf_adds(b, "\"");
		sbuf_adds(b, nz(j->valuestring));
		sbuf_adds(b, "\"");
	} else if (cJSON_IsNumber(j)) {
		sbuf_addf(b, "%.17g", j->valuedouble);
	} else {
		sbuf_adds(b, cJSON_IsTrue(j) ? "True" : cJSON_IsFalse(j) ? "False" : "None");
	}
}

/* The [ZC] step 4 fallbacks over the text of the whole tree. Returns 0 when
 * out was written. */
static int text_ids(const cJSON *tree, char *out, size_t outsz)
{
	sbuf b = {0};
	int r = -1;

	scan_text(&b, tree, 0);
	/* Each scan returns 0 on a hit: the first hit ends the chain. */
	if (!b.oom && b.p)
		r = scan_id(b.p, "orderId", "=:", 0, 10, out, outsz) &&
		    scan_id(b.p, "order_detail?id=", NULL, 0, 10, out, outsz) &&
		    scan_id(b.p, "\"id\"", NULL, 1, 10, out, outsz) &&
		    scan_id(b.p, "bizOrderId", "=:", 0, 10, out, outsz) ? -1 : 0;
	sbuf_free(&b);
	return r;
}

/* Finds the order id of a chat or update tree (docs/protocol.md §6.2): the card
 * JSON's URLs, the update frame's button JSONs, the updateKey, then the
 * patterns over the whole text. Returns 0 with the digits in out, else -1. */
int event_order_id(const cJSON *tree, char *out, size_t outsz)
{
	const cJSON *one, *four;
	cJSON *owned;
	int r;

	if (!out || !outsz)
		return -1;
	*out = '\0';
	if (!tree)
		return -1;
	one = jget(tree, "1");
	four = jget(tree, "4");
	if (cJSON_IsObject(one)) {
		const cJSON *card = inner_json(jget(jget(jget(one, "6"), "3"), "5"), &owned);

		r = card_ids(card, out, outsz);
		cJSON_Delete(owned);
		if (!r)
			return 0;
		if (!update_key_id(jget(one, "10"), out, outsz))
			return 0;
	} else if (cJSON_IsObject(four)) {
		if (!update_ids(four, out, outsz) || !update_key_id(four, out, outsz))
			return 0;
	}
	if (!text_ids(tree, out, outsz))
		return 0;
	*out = '\0';
	return -1;
}

/* Fills e->order_id from tree; stays "" when there is none. */
static void fill_order_id(ev *e, const cJSON *tree)
{
	char oid[40];

	if (!event_order_id(tree, oid, sizeof oid))
		e->order_id = keep(e, oid, strlen(oid), EV_ID_CAP);
}

/* The business message id of metadata ext: bizTag.messageId, extJson.messageId,
 * the reminderUrl messageId= parameter; "" when none. */
static const char *business_id(ev *e, const cJSON *ext)
{
	static const char *const keys[] = {"bizTag", "extJson"};
	const char *id = "";
	size_t i;

	for (i = 0; i < 2 && !*id; i++) {
		cJSON *owned;
		const cJSON *j = inner_json(jget(ext, keys[i]), &owned);
		const cJSON *v = jget(j, "messageId");

		if (cJSON_IsString(v) && v->valuestring)
			id = keep(e, v->valuestring, strlen(v->valuestring), EV_ID_CAP);
		else
			id = id_of(e, v);
		cJSON_Delete(owned);
	}
	if (!*id)
		id = url_param_keep(e, jstr(ext, "reminderUrl"), "messageId");
	return id;
}

/* Fills the fields the card metadata ext (["1"]["10"], or ["4"] of an update
 * frame) carries: sender, name, text, item, message id, red reminder, group. */
static void fill_meta(ev *e, const cJSON *ext, const char *own_unb)
{
	const cJSON *st = jget(ext, "sessionType");
	const char *name = jstr(ext, "senderNick");

	const char *sender = id_of(e, jget(ext, "senderUserId"));

	if (*sender)
		e->sender_id = sender;
	if (!name || !*name)
		name = jstr(ext, "reminderTitle");
	e->sender_name = nz(name);
	e->text = nz(jstr(ext, "reminderContent"));
	e->item_id = url_param_keep(e, jstr(ext, "reminderUrl"), "itemId");
	e->message_id = business_id(e, ext);
	e->red_reminder = nz(jstr(ext, "redReminder"));
	e->group = jstr_is_num(ext, "sessionType", EV_SESSION_GROUP) ||
		   (cJSON_IsNumber(st) && st->valuedouble == EV_SESSION_GROUP);
	e->own = *e->sender_id && own_unb && *own_unb && !strcmp(e->sender_id, own_unb);
}

/* A chat message: ["1"] an object with metadata "10" (docs/protocol.md §6.1, §6.2).
 * Returns 0, or -1 when one has neither metadata nor content. */
static int chat_event(const cJSON *tree, const cJSON *one, const char *own_unb, ev *e)
{
	const cJSON *ext = jget(one, "10"), *c3 = jget(jget(one, "6"), "3");
	const cJSON *inner, *xj, *ctv;
	cJSON *inner_owned, *x_owned;
	const char *display = nz(jstr(c3, "2")), *msg_arg;
	int64_t ct;
	int card, tip;

	if (!cJSON_IsObject(ext) && !cJSON_IsObject(c3))
		return -1;
	e->chat_id = id_of(e, jget(one, "2"));
	e->im_id = nz(jstr(one, "3"));
	e->created_ms = jint(jget(one, "5"));
	e->sender_id = id_of(e, jget(jget(one, "1"), "1"));
	fill_meta(e, ext, own_unb);
	if (!*e->message_id)
		e->message_id = e->im_id;
	e->need_push = jstr_is(jget(tree, "3"), "needPush", "true");

	inner = inner_json(jget(c3, "5"), &inner_owned);
	xj = inner_json(jget(ext, "extJson"), &x_owned);
	ctv = jget(c3, "4");
	ct = jint(cJSON_IsNumber(ctv) || cJSON_IsString(ctv) ? ctv : jget(inner, "contentType"));
	e->content_type = ct > 0 && ct < 1000000 ? (int)ct : 0;
	msg_arg = nz(jstr(xj, "msgArg1"));
	card = e->content_type == EV_CONTENT_CARD || jint(jget(inner, "contentType")) == EV_CONTENT_CARD ||
	       jget(inner, "dxCard") || jstr_is_num(xj, "contentType", EV_CONTENT_CARD) || !strcmp(msg_arg, "MsgCard");
	tip = e->content_type == EV_CONTENT_TIP || !strcmp(msg_arg, "MsgTips");

	if (!*e->text) {
		const char *t = jstr(jget(inner, "text"), "text");

		if (t && *t)
			e->text = keep(e, t, strlen(t), sizeof e->buf);
	}
	if (!*e->text)
		e->text = display;

	if (card) {
		e->trade = card_refund_status(inner);
		if (!e->trade)
			e->trade = card_text_status(e->text, e->red_reminder);
		/* A card with no status we know (a bargain card, a refund request not
		 * yet answered) is still no chat: EV_SYSTEM with its order id. */
		e->type = e->trade ? EV_TRADE : EV_SYSTEM;
		fill_order_id(e, tree);
	} else if (tip) {
		e->type = EV_SYSTEM;
	} else if (is_system_text(e->text)) {
		e->type = EV_SYSTEM;
		fill_order_id(e, tree);
	} else if (is_trade_text(e->text)) {
		/* Typed by a person, not a card: nothing to act on. */
		e->type = EV_SYSTEM;
	} else if (e->content_type == EV_CONTENT_IMAGE) {
		const cJSON *pic = cJSON_GetArrayItem(jget(jget(inner, "image"), "pics"), 0);
		const char *url = jstr(pic, "url");

		e->type = EV_CHAT_IMAGE;
		if (url)
			e->image_url = keep(e, url, strlen(url), EV_URL_CAP);
		if (!*e->text)
			e->text = "[图片]";
	} else {
		e->type = EV_CHAT_TEXT;
	}
	cJSON_Delete(inner_owned);
	cJSON_Delete(x_owned);
	return 0;
}

/* A message-update frame: ["1"] the IM id, ["2"] the cid, ["4"] the card
 * metadata with the updated parts. */
static void update_event(const cJSON *tree, const cJSON *four, const char *own_unb, ev *e)
{
	e->type = EV_MSG_UPDATE;
	e->im_id = nz(jstr(tree, "1"));
	e->chat_id = id_of(e, jget(tree, "2"));
	e->created_ms = jint(jget(tree, "5"));
	fill_meta(e, four, own_unb);
	if (!*e->message_id)
		e->message_id = e->im_id;
	e->trade = update_refund_status(four);
	if (!e->trade)
		e->trade = card_text_status(e->text, e->red_reminder);
	fill_order_id(e, tree);
}

/* A payment summary or order context: {"1":"<cid>@goofish","2":1,"3":{...},"4":ms}. */
static void payment_event(const cJSON *tree, const cJSON *three, ev *e)
{
	const cJSON *oid = jget(three, "orderId");

	e->type = EV_PAYMENT;
	e->chat_id = id_of(e, jget(tree, "1"));
	e->created_ms = jint(jget(tree, "4"));
	e->red_reminder = nz(jstr(three, "redReminder"));
	if (!strcmp(e->red_reminder, "交易关闭"))
		e->trade = TRADE_CLOSED;
	if (oid) {
		const char *s = id_of(e, oid);

		/* Digits only, as event_order_id writes them. */
		if (*s && !s[strspn(s, "0123456789")])
			e->order_id = s;
		e->item_id = id_of(e, jget(three, "itemId"));
		e->sender_id = id_of(e, jget(three, "extUserId"));
	}
}

/* Returns the element of a typing signal, {"1":[{"1":"<cid>@goofish",...}]},
 * NULL when tree has another shape. */
static const cJSON *typing_elem(const cJSON *tree)
{
	const cJSON *arr = jget(tree, "1");
	const cJSON *el = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
	const char *c = jstr(el, "1");

	return c && strstr(c, "@goofish") ? el : NULL;
}

/* Returns 1 when s is a string ending in suffix. */
static int ends_with(const cJSON *v, const char *suffix)
{
	size_t n, k = strlen(suffix);

	if (!cJSON_IsString(v) || !v->valuestring)
		return 0;
	n = strlen(v->valuestring);
	return n >= k && !strcmp(v->valuestring + n - k, suffix);
}

/* Fills a read receipt from any of its three shapes (docs/protocol.md §6.3).
 * Returns 1 when tree has one of them, else 0 (e untouched but for what the
 * shapes share). */
static int receipt_fill(const cJSON *tree, ev *e)
{
	const cJSON *a = jget(tree, "1"), *c = jget(tree, "3"), *d = jget(tree, "4");

	if (cJSON_IsString(a) && ends_with(d, "@goofish")) {
		e->im_id = a->valuestring;
		e->chat_id = id_of(e, d);
		e->created_ms = jint(jget(tree, "6"));
		return 1;
	}
	if (cJSON_IsArray(a) && ends_with(c, "@goofish")) {
		e->im_id = nz(cJSON_IsString(cJSON_GetArrayItem(a, 0)) ? cJSON_GetArrayItem(a, 0)->valuestring : NULL);
		e->chat_id = id_of(e, c);
		e->created_ms = jint(jget(tree, "5"));
		return 1;
	}
	if (ends_with(a, "@goofish") && cJSON_IsString(c)) {
		e->im_id = c->valuestring;
		e->chat_id = id_of(e, a);
		e->created_ms = jint(d);
		return 1;
	}
	return 0;
}

/* Empties e: EV_UNKNOWN, every number 0 and every string "", the item tree
 * and its objectType kept. */
static void ev_clear(ev *e, const cJSON *tree, int object_type)
{
	memset(e, 0, sizeof *e);
	e->chat_id = e->sender_id = e->sender_name = e->text = e->item_id = "";
	e->message_id = e->im_id = e->order_id = e->image_url = e->red_reminder = "";
	e->raw = tree;
	e->object_type = object_type;
}

/* One push item's data decoded and made an event; see event.h. Returns 0,
 * or -1 with *err set. */
int event_from_push_item(const cJSON *item, const char *own_unb, ev *e, cJSON **tree, const char **err)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(item, "data");
	const cJSON *ot = cJSON_GetObjectItemCaseSensitive(item, "objectType");
	codec_kind kind;

	*err = NULL;
	*tree = NULL;
	if (!cJSON_IsString(d)) {
		*err = "no data string";
		return -1;
	}
	if (!(*tree = codec_decode_item(d->valuestring, strlen(d->valuestring), &kind, err))) {
		if (!*err)
			*err = "does not decode";
		return -1;
	}
	event_from_item(*tree, cJSON_IsNumber(ot) ? ot->valueint : 0, kind == CODEC_JSON, own_unb, e);
	return 0;
}

/* Fills e from one decoded item; see event.h. Returns 0, or -1 (EV_UNKNOWN)
 * for a tree no event is made of. A chatType item is EV_SYSTEM in either
 * encoding; other plain-JSON items are read like decoded ones ([ZH]), so
 * plain_json changes nothing today. */
int event_from_item(const cJSON *tree, int object_type, int plain_json, const char *own_unb, ev *e)
{
	const cJSON *one, *el;

	(void)plain_json;
	ev_clear(e, tree, object_type);
	if (!cJSON_IsObject(tree))
		return -1;
	one = jget(tree, "1");

	if (jget(tree, "chatType")) {
		/* A plain-JSON session item (/s/vulcan): logged, never answered. */
		const cJSON *scr = cJSON_GetArrayItem(jget(jget(jget(jget(tree, "operation"), "content"),
								"sessionArouse"), "arouseChatScriptInfo"), 0);
		const cJSON *x = jget(jget(tree, "sessionInfo"), "extensions");

		e->type = EV_SYSTEM;
		e->chat_id = id_of(e, jget(tree, "sessionId"));
		e->text = nz(jstr(scr, "chatScrip"));
		e->item_id = id_of(e, jget(x, "itemId"));
		e->sender_id = id_of(e, jget(x, "extUserId"));
		return 0;
	}
	el = typing_elem(tree);
	if (object_type == EV_OBJ_TYPING || el) {
		e->type = EV_TYPING;
		e->chat_id = id_of(e, jget(el, "1"));
		e->sender_id = id_of(e, jget(el, "4"));
		e->own = *e->sender_id && own_unb && *own_unb && !strcmp(e->sender_id, own_unb);
		return 0;
	}
	if (object_type == EV_OBJ_READ) {
		e->type = EV_READ;
		receipt_fill(tree, e);
		return 0;
	}
	if (cJSON_IsObject(one)) {
		if (!chat_event(tree, one, own_unb, e))
			return 0;
	} else if (cJSON_IsString(one) && cJSON_IsObject(jget(tree, "4"))) {
		update_event(tree, jget(tree, "4"), own_unb, e);
		return 0;
	} else if (cJSON_IsString(one) && cJSON_IsObject(jget(tree, "3"))) {
		payment_event(tree, jget(tree, "3"), e);
		return 0;
	} else if (receipt_fill(tree, e)) {
		e->type = EV_READ;
		return 0;
	}
	ev_clear(e, tree, object_type);
	return -1;
}

/* Adds v (taken over) to o under k; returns v, NULL (v freed) on OOM. */
static cJSON *hist_add(cJSON *o, const char *k, cJSON *v)
{
	if (!o || !v || !cJSON_AddItemToObject(o, k, v)) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* Builds the decoded push tree of history message msg (see event.h):
 * {"1":{"1":{"1":sender},"2":cid,"3":messageId,"5":createAt,"6":{"1":101,
 * "3":{"2":summary,"4":type,"5":<data decoded>}},"10":extension},
 * "3":{"needPush":...}}. NULL with *err set when it has no messageId, cid or
 * content, or on OOM. */
static cJSON *hist_tree(const cJSON *msg, const char **err)
{
	const cJSON *custom = jget(jget(msg, "content"), "custom"), *ext = jget(msg, "extension");
	const char *id = jstr(msg, "messageId"), *cid = jstr(msg, "cid"), *data = jstr(custom, "data");
	const cJSON *type = jget(custom, "type"), *at = jget(msg, "createAt");
	cJSON *t, *one, *c6, *c3, *x = NULL;
	unsigned char *dec = NULL;
	size_t n = 0;

	if (!id || !cid || !data) {
		*err = "history message without messageId, cid or content.custom.data";
		return NULL;
	}
	if (!(dec = codec_b64_decode(data, strlen(data), &n))) {
		*err = "history message: content.custom.data is not base64";
		return NULL;
	}
	t = cJSON_CreateObject();
	one = hist_add(t, "1", cJSON_CreateObject());
	hist_add(hist_add(one, "1", cJSON_CreateObject()), "1",
		 cJSON_CreateString(nz(jstr(jget(msg, "sender"), "uid"))));
	hist_add(one, "2", cJSON_CreateString(cid));
	hist_add(one, "3", cJSON_CreateString(id));
	hist_add(one, "5", cJSON_CreateNumber((double)jint(at)));
	c6 = hist_add(one, "6", cJSON_CreateObject());
	hist_add(c6, "1", cJSON_CreateNumber(EV_CONTENT_CUSTOM));
	c3 = hist_add(c6, "3", cJSON_CreateObject());
	hist_add(c3, "2", cJSON_CreateString(nz(jstr(custom, "summary"))));
	hist_add(c3, "4", cJSON_CreateNumber((double)jint(type)));
	{
		char *s = util_strndup((const char *)dec, n);

		hist_add(c3, "5", s ? cJSON_CreateString(s) : NULL);
		free(s);
	}
	free(dec);
	/* the extension: an object, or the same as a JSON string */
	if (cJSON_IsObject(ext))
		x = cJSON_Duplicate(ext, 1);
	else if (cJSON_IsString(ext) && ext->valuestring)
		x = codec_json_parse(ext->valuestring, strlen(ext->valuestring), NULL);
	if (!cJSON_IsObject(x)) {
		cJSON_Delete(x);
		x = cJSON_CreateObject();
	}
	hist_add(one, "10", x);
	hist_add(hist_add(t, "3", cJSON_CreateObject()), "needPush",
		 cJSON_CreateString(nz(jstr(jget(msg, "userExtension"), "needPush"))));
	if (!c3 || !jget(c3, "5") || !jget(one, "10")) {
		cJSON_Delete(t);
		*err = "out of memory";
		return NULL;
	}
	return t;
}

int event_from_history(const cJSON *msg, const char *own_unb, ev *e, cJSON **tree, const char **err)
{
	*err = NULL;
	if (!(*tree = hist_tree(msg, err)))
		return -1;
	if (event_from_item(*tree, EV_OBJ_CHAT, 0, own_unb, e)) {
		cJSON_Delete(*tree);
		*tree = NULL;
		*err = "history message is no chat message";
		return -1;
	}
	e->backfilled = 1;
	return 0;
}

cJSON *event_json(const ev *e)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "kind", "event");
	cJSON_AddStringToObject(j, "type", event_type_name(e->type));
	cJSON_AddStringToObject(j, "trade", trade_status_name(e->trade));
	cJSON_AddStringToObject(j, "chat_id", e->chat_id);
	cJSON_AddStringToObject(j, "sender_id", e->sender_id);
	cJSON_AddStringToObject(j, "sender_name", e->sender_name);
	cJSON_AddStringToObject(j, "text", e->text);
	cJSON_AddStringToObject(j, "item_id", e->item_id);
	cJSON_AddStringToObject(j, "message_id", e->message_id);
	cJSON_AddStringToObject(j, "im_id", e->im_id);
	cJSON_AddStringToObject(j, "order_id", e->order_id);
	cJSON_AddStringToObject(j, "image_url", e->image_url);
	cJSON_AddBoolToObject(j, "own", e->own);
	cJSON_AddBoolToObject(j, "echo", e->echo);
	cJSON_AddNumberToObject(j, "object_type", e->object_type);
	cJSON_AddNumberToObject(j, "created_ms", (double)e->created_ms);
	if (e->backfilled)
		cJSON_AddTrueToObject(j, "backfilled");
	return j;
}
