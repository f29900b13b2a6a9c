/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders.c - order state from trade cards, and exactly-once
 * auto-delivery of virtual goods (card codes, fixed texts, images).
 *
 * Order state. Every trade card (SK_EV_TRADE, and SK_EV_MSG_UPDATE when it
 * carries one) with an order id moves the order in orders_order:
 *     placed -> paid -> shipped -> completed   (forward jumps allowed)
 *     any but closed -> closed;  paid/shipped/completed -> refunding;
 *     refunding -> refund_cancelled = back to the state before it.
 * Each attempt is a row of orders_transition with the message id that caused
 * it, applied or not (an illegal one - back to placed, out of closed - is
 * logged and recorded, never applied; a repeat is recorded as such).
 *
 * Delivery. A paid card, or the reminder [记得及时发货] of an order not yet
 * delivered, starts a delivery: the order detail (quantity, spec, buyer,
 * item) comes from mtop.idle.web.trade.order.detail. The card alone proves
 * nothing: the detail must say paid (its 已付款 status node completed, the
 * order neither closed nor in refund), its buyer must be the card's sender
 * and its item the chat's (else "mismatch", at once). A detail that does
 * not say paid yet - it can lag the card by seconds - keeps the order
 * pending ("waiting: ...") and is asked again after 2, 4, 8... s (at most
 * 60 s apart) for paid_wait_s; then, or at once for a closed order, the
 * delivery fails as "unpaid". The rules file's "delivery" list must have
 * exactly one rule for the item and its spec (otherwise nothing is sent and
 * the reason is "no_rule"; "ambiguous" cannot pass the validator any more,
 * which refuses two rules one order would match, but stays as a backstop);
 * the rule names a card of "cards", which makes one unit per quantity:
 *
 *   {"cards": [{"name": "vip-month", "type": "stock", "template": "Your code: {code}",
 *               "delay_s": 0, "low_stock": 5}],
 *    "delivery": [{"item_id": "40004", "spec": null, "card": "vip-month"}]}
 *
 *   type     text  (template sent as is), stock (one code of orders_stock per
 *            unit, {code} in the template; default template "{code}"), image
 *            ("url", optional "width"/"height", default 800x600)
 *   template variables {code} {order_id} {buyer_name} {item_id} {spec} {quantity}
 *   spec     null: the item has no specs; "颜色:红" or just "红": that spec
 *   delay_s  wait this long after payment before sending
 *   low_stock publish "orders.low_stock" when fewer codes than this remain
 *
 * Exactly once. A row of orders_unit per (order, unit) moves
 *     reserved -> sending -> sent -> done      (or failed / cancelled)
 * The unit rows and their codes (orders_stock state 0 free -> 1 reserved) are
 * written in one transaction; after COMMIT the unit is sent with the tag
 * "order:<id>:<unit>:<attempt>", and its send uuid recorded (sending). The
 * send's ack records the platform's message id and consumes the code (state
 * 2) in one transaction; a refusal releases the code (state 0) and records
 * why. After a crash, init resumes every unfinished order: a reserved unit
 * first looks its tag up in the outbox (sk_send_find) - a send queued just
 * before the crash is adopted, never made twice; a sending unit asks the
 * outbox how its send ended. A trigger for an order already delivering or
 * delivered does nothing (recorded as a repeat).
 *
 * Shipment. orders.confirm: "after" (default: consign.dummy once every unit
 * is sent), "before" (consign first, then send - the content goes out even
 * if the confirmation fails, as the platform's sellers expect) or "never".
 * Transient failures are retried with exponential backoff (confirm_attempts,
 * retry_base_ms); ORDER_ALREADY_DELIVERY counts as done; business errors,
 * session expiry and risk control end it as failed with the reason.
 *
 * Failures. Every one records a reason a seller can read, "<kind>: <text>",
 * kind one of no_rule ambiguous out_of_stock detail unpaid mismatch quantity
 * refused send cancelled confirm, in orders_order.reason (and the unit's), and publishes
 * "orders.delivery_failed" {order_id, reason}. An order that failed is tried
 * again by its next reminder card, by "core.reload" (SIGHUP, when the rules
 * changed) when it failed on the rules or the stock, and every retry_s when
 * it waits for stock that has since been imported (at once when the codes
 * come through the stock_import control command). Topics published:
 * orders.delivered, orders.delivery_failed, orders.low_stock,
 * orders.out_of_stock, orders.confirm_failed.
 *
 * The rules file is validated as a whole ("cards[2].template: ..."), at init
 * and on "core.reload"; a file with errors leaves the rules in force. The
 * descriptor's rules_check runs the same validator on a document the web
 * page wants to save, and gives the same messages, one a line.
 *
 * Commands (shopkeep <command> --config FILE):
 *   stock import --card NAME FILE   add codes, one per line (blank lines and
 *                                   duplicates skipped), prints the counts
 *   stock list                      codes per card: free, reserved, used
 *   orders list [--limit N]         recent orders with state and reason
 *
 * Control commands (the account's web page, web/API.md); bad data is
 * SK_ERR_INVAL with a message naming the field:
 *   orders_list {limit}     recent orders, newest first (limit 1 to 1000, default
 *                           100) -> {orders: [{order_id, state, delivery, confirm,
 *                           reason, item_id, quantity, buyer_name, updated_ms,
 *                           units: [{unit, state, reason, message_id}]}]}
 *   stock_list              -> {cards: [{name, type, free, reserved, used,
 *                           low_stock}]}: every card of the rules in force, the
 *                           counts of stock list (null for a card without stock),
 *                           low_stock the card's threshold
 *   stock_import {card, codes}  what stock import does, with codes one a line;
 *                           then the orders waiting for stock are tried at once
 *                           -> {card, added, duplicates, blank, free}
 *
 * debug_kill_at (tests only) kills the process with SIGKILL at a named step
 * of a delivery: detail reserved send sending acked sent confirm confirmed.
 */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "common/skctl.h"
#include "common/skrules.h"
#include "common/sktext.h"

#define OD_MAX_FILE (1024 * 1024)
#define OD_IMAGE_W 800
#define OD_IMAGE_H 600
#define OD_API_DETAIL "mtop.idle.web.trade.order.detail"
#define OD_API_CONSIGN "mtop.taobao.idle.logistic.consign.dummy"

enum { OD_TEXT = 0, OD_STOCK, OD_IMAGE };
enum { OD_AFTER = 0, OD_BEFORE, OD_NEVER };
enum { OD_FETCH = 1, OD_CONFIRM = 2 };

typedef struct {
	char *name, *tmpl, *url;
	int type;
	int64_t w, h, delay_s, low_stock;
} od_card;

typedef struct {
	char *item, *spec, *card;  /* spec NULL: an item without specs */
} od_rule;

typedef struct {
	od_card *cards;
	size_t ncards;
	od_rule *rules;
	size_t nrules;
} od_rules;

/* An order with an mtop call (detail or consign) in flight. */
typedef struct od_fly {
	char *order;
	int what;                  /* OD_FETCH or OD_CONFIRM */
	int attempt;               /* detail fetches so far */
	struct od_fly *next;
} od_fly;

typedef struct {
	od_rules *rules;           /* never NULL after init */
	int policy, enabled;
	int64_t confirm_attempts, detail_attempts, retry_base_ms, retry_s, max_quantity, paid_wait_s;
	char *kill_at;
	od_fly *fly;
	int depth;                 /* od_proceed calls under way */
} od_state;

/* An orders_order row (chat_item: the item of the chat the cards came in). */
typedef struct {
	int found;
	char id[64], state[20], prev[20], chat[64], buyer[64], name[256], item[64], spec[256], card[128], chat_item[64];
	char delivery[16], confirm[16], reason[512];
	int64_t quantity, attempts;
} od_order;

#define OD_ORDER_COLS "order_id, state, prev_state, chat_id, buyer_id, buyer_name, item_id, spec, card, " \
	"delivery, confirm, reason, quantity, confirm_attempts, chat_item"

/* An orders_unit row. */
typedef struct {
	char order[64], card[128], kind[8], state[12], tag[160], uuid[40];
	int64_t unit, attempt, code_id, send_at;
	char *content;
} od_unit;

#define OD_UNIT_COLS "order_id, unit, attempt, card, kind, state, tag, uuid, code_id, send_at_ms, content"

typedef struct {
	od_unit *u;
	size_t n, cap;
	int oom;
} od_units;

static const char *const od_vars[] = { "code", "order_id", "buyer_name", "item_id", "spec", "quantity", NULL };

static const sk_config_key od_keys[] = {
	{ .key = "confirm", .type = SK_CFG_STR, .help = "confirm shipment \"after\" sending (default), \"before\" or \"never\"" },
	{ .key = "confirm_attempts", .type = SK_CFG_INT, .help = "tries of the shipment confirmation on transient errors (default 5)" },
	{ .key = "detail_attempts", .type = SK_CFG_INT, .help = "tries of the order detail on transient errors (default 4)" },
	{ .key = "retry_base_ms", .type = SK_CFG_INT, .help = "first retry delay, doubled each time (default 1000)" },
	{ .key = "retry_s", .type = SK_CFG_INT, .help = "look for new stock for orders waiting on it this often (default 60, 0 = never)" },
	{ .key = "paid_wait_s", .type = SK_CFG_INT, .help = "wait this long for the order detail to say paid, re-checking at 2, 4, 8... s (default 300)" },
	{ .key = "max_quantity", .type = SK_CFG_INT, .help = "deliver nothing for orders of more units than this (default 50)" },
	{ .key = "enabled", .type = SK_CFG_BOOL, .help = "deliver at all (default true; order states are kept either way)" },
	{ .key = "debug_kill_at", .type = SK_CFG_STR, .help = "tests only: SIGKILL the process at this delivery step" },
	{ 0 }
};

static const char *const od_migrations[] = {
	"CREATE TABLE orders_order ("
	"  order_id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL DEFAULT '',"
	"  prev_state TEXT NOT NULL DEFAULT '',"
	"  chat_id TEXT NOT NULL DEFAULT '',"
	"  buyer_id TEXT NOT NULL DEFAULT '',"
	"  buyer_name TEXT NOT NULL DEFAULT '',"
	"  item_id TEXT NOT NULL DEFAULT '',"
	"  spec TEXT NOT NULL DEFAULT '',"
	"  quantity INTEGER NOT NULL DEFAULT 0,"
	"  card TEXT NOT NULL DEFAULT '',"
	"  delivery TEXT NOT NULL DEFAULT 'none',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  confirm TEXT NOT NULL DEFAULT 'none',"
	"  confirm_attempts INTEGER NOT NULL DEFAULT 0,"
	"  confirm_reason TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orders_order_delivery ON orders_order (delivery);"
	"CREATE TABLE orders_transition ("
	"  id INTEGER PRIMARY KEY,"
	"  order_id TEXT NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  applied INTEGER NOT NULL,"
	"  note TEXT NOT NULL DEFAULT '',"
	"  ms INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orders_transition_order ON orders_transition (order_id);"
	"CREATE TABLE orders_unit ("
	"  order_id TEXT NOT NULL,"
	"  unit INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  card TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  content TEXT NOT NULL,"
	"  code_id INTEGER,"
	"  state TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  uuid TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  send_at_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (order_id, unit)"
	") STRICT;"
	"CREATE INDEX orders_unit_tag ON orders_unit (tag);"
	"CREATE TABLE orders_stock ("
	"  id INTEGER PRIMARY KEY,"
	"  card TEXT NOT NULL,"
	"  code TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
	"  order_id TEXT NOT NULL DEFAULT '',"
	"  unit INTEGER NOT NULL DEFAULT 0,"
	"  added_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (card, code)"
	") STRICT;"
	"CREATE INDEX orders_stock_free ON orders_stock (card, id) WHERE state = 0",
	/* 2: the chat's item, which the order detail's item must match */
	"ALTER TABLE orders_order ADD COLUMN chat_item TEXT NOT NULL DEFAULT ''",
	NULL
};

static void od_proceed(sk_plugin *p, const char *oid);
static void od_plan(sk_plugin *p, const char *oid);
static void od_fetch(sk_plugin *p, const char *oid, int attempt, int checks, int64_t since_ms);

/* ---- small helpers -------------------------------------------------------- */

static void od_cp(char *dst, size_t n, const sk_value *v)
{
	snprintf(dst, n, "%s", v->type == SK_TEXT && v->s ? v->s : "");
}

static int64_t od_int(const sk_value *v)
{
	return v->type == SK_INT ? v->i : 0;
}

/* debug_kill_at: dies like kill -9 at the named step (tests of the recovery). */
static void od_step(sk_plugin *p, const char *step, const char *oid)
{
	od_state *st = p->ud;

	if (st && st->kill_at && !strcmp(st->kill_at, step)) {
		sk_log(p, SK_LOG_WARN, "debug_kill_at %s (order %s): SIGKILL", step, oid);
		raise(SIGKILL);
	}
}

static od_fly *od_fly_find(od_state *st, const char *oid, int what)
{
	for (od_fly *f = st->fly; f; f = f->next)
		if (f->what == what && !strcmp(f->order, oid))
			return f;
	return NULL;
}

static od_fly *od_fly_add(od_state *st, const char *oid, int what)
{
	od_fly *f = calloc(1, sizeof *f);

	if (!f || !(f->order = strdup(oid))) {
		free(f);
		return NULL;
	}
	f->what = what;
	f->next = st->fly;
	st->fly = f;
	return f;
}

static void od_fly_del(od_state *st, const char *oid, int what)
{
	for (od_fly **pp = &st->fly; *pp; pp = &(*pp)->next)
		if ((*pp)->what == what && !strcmp((*pp)->order, oid)) {
			od_fly *f = *pp;

			*pp = f->next;
			free(f->order);
			free(f);
			return;
		}
}

/* Publishes topic with a JSON object built by the caller (consumed). */
static void od_publish(sk_plugin *p, const char *topic, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (s)
		sk_publish(p, topic, s);
	free(s);
	cJSON_Delete(o);
}

/* ---- the rules file --------------------------------------------------------- */

static void od_rules_free(od_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->ncards; i++) {
		free(rs->cards[i].name);
		free(rs->cards[i].tmpl);
		free(rs->cards[i].url);
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].item);
		free(rs->rules[i].spec);
		free(rs->rules[i].card);
	}
	free(rs->cards);
	free(rs->rules);
	free(rs);
}

/* The card called name, NULL when none. While parsing, a card whose name
 * was refused has none (NULL). */
static const od_card *od_card_find(const od_rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->ncards; i++)
		if (rs->cards[i].name && !strcmp(rs->cards[i].name, name))
			return &rs->cards[i];
	return NULL;
}

/* Every member of o must be in fields. */
static void od_fields(skrules_ctx *x, const cJSON *o, const char *where, const char *const *fields)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, o) {
		size_t i;

		for (i = 0; fields[i] && strcmp(fields[i], c->string); i++)
			;
		if (!fields[i])
			skrules_err(x, "%s.%s: unknown field", where, c->string);
	}
}

/* A string field (or an integer written as a number, for ids) into *out;
 * absent or null leaves NULL. Required ones must be non-empty. */
static void od_str(skrules_ctx *x, const cJSON *o, const char *f, const char *where, int required, int num_ok, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f);
	char buf[32];

	*out = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			skrules_err(x, "%s.%s: required", where, f);
		return;
	}
	if (cJSON_IsString(v)) {
		if (required && !*v->valuestring) {
			skrules_err(x, "%s.%s: must not be empty", where, f);
			return;
		}
		if (!(*out = strdup(v->valuestring)))
			skrules_err(x, "out of memory");
		return;
	}
	if (num_ok && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e18 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->valuedouble);
		if (!(*out = strdup(buf)))
			skrules_err(x, "out of memory");
		return;
	}
	skrules_err(x, "%s.%s: must be a string", where, f);
}

/* An integer field in [lo, hi], def when absent. */
static int64_t od_num(skrules_ctx *x, const cJSON *o, const char *f, const char *where, int64_t def, int64_t lo, int64_t hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f);

	if (!v || cJSON_IsNull(v))
		return def;
	/* The range first: converting a double outside int64_t is undefined (NaN fails it too). */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
	    v->valuedouble != (double)(int64_t)v->valuedouble) {
		skrules_err(x, "%s.%s: must be a whole number from %lld to %lld", where, f, (long long)lo, (long long)hi);
		return def;
	}
	return (int64_t)v->valuedouble;
}

static void od_card_parse(skrules_ctx *x, const cJSON *o, const char *where, od_card *c)
{
	static const char *const fields[] = { "name", "type", "template", "delay_s", "low_stock", "url", "width",
		"height", "comment", NULL };
	char *type = NULL, why[256];

	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	od_fields(x, o, where, fields);
	od_str(x, o, "name", where, 1, 0, &c->name);
	od_str(x, o, "type", where, 1, 0, &type);
	od_str(x, o, "template", where, 0, 0, &c->tmpl);
	od_str(x, o, "url", where, 0, 0, &c->url);
	c->delay_s = od_num(x, o, "delay_s", where, 0, 0, 86400);
	c->low_stock = od_num(x, o, "low_stock", where, 0, 0, 1000000);
	c->w = od_num(x, o, "width", where, OD_IMAGE_W, 1, 10000);
	c->h = od_num(x, o, "height", where, OD_IMAGE_H, 1, 10000);
	if (!type) {
		free(type);
		return;
	}
	if (!strcmp(type, "text")) {
		c->type = OD_TEXT;
		if (!c->tmpl || !*c->tmpl)
			skrules_err(x, "%s.template: required for a text card", where);
	} else if (!strcmp(type, "stock")) {
		c->type = OD_STOCK;
		if (!c->tmpl && !(c->tmpl = strdup("{code}")))
			skrules_err(x, "out of memory");
		else if (!strstr(c->tmpl, "{code}"))
			skrules_err(x, "%s.template: a stock card's template must contain {code}", where);
	} else if (!strcmp(type, "image")) {
		c->type = OD_IMAGE;
		if (!c->url || strncmp(c->url, "http", 4))
			skrules_err(x, "%s.url: an image card needs an http(s) url", where);
		if (c->tmpl)
			skrules_err(x, "%s.template: an image card sends its url only", where);
	} else {
		skrules_err(x, "%s.type: must be text, stock or image, not \"%s\"", where, type);
	}
	free(type);
	if (c->tmpl && sktext_tmpl_check(c->tmpl, od_vars, why, sizeof why))
		skrules_err(x, "%s.template: %s", where, why);
	else if (c->tmpl && c->type == OD_TEXT && strstr(c->tmpl, "{code}"))
		skrules_err(x, "%s.template: {code} needs a stock card", where);
	if (c->url && c->type != OD_IMAGE)
		skrules_err(x, "%s.url: only for image cards", where);
}

static void od_rule_parse(skrules_ctx *x, const cJSON *o, const char *where, od_rule *r)
{
	static const char *const fields[] = { "item_id", "spec", "card", "comment", NULL };

	if (!cJSON_IsObject(o)) {
		skrules_err(x, "%s: must be an object", where);
		return;
	}
	od_fields(x, o, where, fields);
	od_str(x, o, "item_id", where, 1, 1, &r->item);
	od_str(x, o, "spec", where, 0, 0, &r->spec);
	od_str(x, o, "card", where, 1, 0, &r->card);
	if (r->spec && !*r->spec) {
		free(r->spec);
		r->spec = NULL;
	}
}

/* The value part of a spec "名:值" (after the first "：" or ':'), NULL when
 * it has none: od_spec_match matches an order's spec by it. */
static const char *od_spec_value(const char *s)
{
	const char *v;

	if ((v = strstr(s, "：")))
		return v + strlen("：");
	if ((v = strchr(s, ':')))
		return v + 1;
	return NULL;
}

/* Whether some order's spec would match both rule specs a and b (NULL: no
 * spec) under od_spec_match: equal, or one is the value part of the other
 * ("红" and "颜色:红"), or both have the same name and value. */
static int od_spec_overlap(const char *a, const char *b)
{
	const char *va, *vb;

	if (!a || !b)
		return !a && !b;
	if (!strcmp(a, b))
		return 1;
	va = od_spec_value(a);
	vb = od_spec_value(b);
	return (va && !strcmp(va, b)) || (vb && !strcmp(vb, a));
}

/* Validates the cards and delivery rules of a rules document (NUL-terminated
 * JSON text; other top-level keys belong to other plugins, e.g. autoreply's)
 * and builds them: the one validator of the rules file and of rules_check.
 * Returns the rules, or NULL when there are errors (each reported with
 * skrules_err). Two rules that one order would match (the same item and an
 * overlapping spec) are an error: the file is refused when it is saved or
 * checked, not the order at payment time. */
static od_rules *od_parse(skrules_ctx *x, const char *text)
{
	static const char *const top[] = { "cards", "delivery", "keyword_rules", "item_defaults", "default_reply",
		"comment", NULL };
	od_rules *rs = calloc(1, sizeof *rs);
	const cJSON *cards, *del;
	cJSON *root = NULL;
	char where[64];

	if (!rs) {
		skrules_err(x, "out of memory");
		return NULL;
	}
	root = cJSON_ParseWithOpts(text, NULL, 1);
	if (!cJSON_IsObject(root)) {
		skrules_err(x, root ? "must be a JSON object" : "not valid JSON");
		goto fail;
	}
	od_fields(x, root, "(top)", top);
	cards = cJSON_GetObjectItemCaseSensitive(root, "cards");
	del = cJSON_GetObjectItemCaseSensitive(root, "delivery");
	if (cards && !cJSON_IsNull(cards) && !cJSON_IsArray(cards))
		skrules_err(x, "cards: must be a list");
	else if (cJSON_IsArray(cards) && (rs->ncards = (size_t)cJSON_GetArraySize(cards))) {
		if (!(rs->cards = calloc(rs->ncards, sizeof *rs->cards))) {
			rs->ncards = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->ncards; i++) {
			snprintf(where, sizeof where, "cards[%zu]", i);
			od_card_parse(x, cJSON_GetArrayItem(cards, (int)i), where, &rs->cards[i]);
			for (size_t j = 0; j < i && rs->cards[i].name; j++)
				if (rs->cards[j].name && !strcmp(rs->cards[j].name, rs->cards[i].name))
					skrules_err(x, "%s.name: \"%s\" is also cards[%zu]", where, rs->cards[i].name, j);
		}
	}
	if (del && !cJSON_IsNull(del) && !cJSON_IsArray(del))
		skrules_err(x, "delivery: must be a list");
	else if (cJSON_IsArray(del) && (rs->nrules = (size_t)cJSON_GetArraySize(del))) {
		if (!(rs->rules = calloc(rs->nrules, sizeof *rs->rules))) {
			rs->nrules = 0;
			skrules_err(x, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->nrules; i++) {
			od_rule *r = &rs->rules[i];

			snprintf(where, sizeof where, "delivery[%zu]", i);
			od_rule_parse(x, cJSON_GetArrayItem(del, (int)i), where, r);
			if (r->card && !od_card_find(rs, r->card))
				skrules_err(x, "%s.card: no card named \"%s\" in cards", where, r->card);
			for (size_t j = 0; j < i && r->item; j++) {
				const od_rule *q = &rs->rules[j];

				if (q->item && !strcmp(q->item, r->item) && od_spec_overlap(q->spec, r->spec))
					skrules_err(x, "%s: delivery[%zu] is for the same item %s and spec %s%s%s: an order "
						    "would match both (cards \"%s\" and \"%s\"); keep one", where, j, r->item,
						    r->spec ? "\"" : "", r->spec ? r->spec : "null", r->spec ? "\"" : "",
						    q->card ? q->card : "?", r->card ? r->card : "?");
			}
		}
	}
	if (x->nerr)
		goto fail;
	cJSON_Delete(root);
	return rs;
fail:
	cJSON_Delete(root);
	od_rules_free(rs);
	return NULL;
}

/* Loads and validates the rules file. Returns the rules (empty when the
 * account has no rules file) or NULL when the file has errors (logged). */
static od_rules *od_load(sk_plugin *p)
{
	skrules_ctx x = { .p = p, .path = sk_rules_path(p) };
	od_rules *rs = NULL;
	char why[256], *text;

	if (!*x.path)
		return calloc(1, sizeof *rs);
	if (!(text = sktext_read_file(x.path, OD_MAX_FILE, why, sizeof why))) {
		skrules_err(&x, "%s", why);
	} else {
		rs = od_parse(&x, text);
		free(text);
	}
	if (!rs) {
		if (x.nerr)
			sk_log(p, SK_LOG_ERR, "rules %s: %d errors; delivery rules unchanged", x.path, x.nerr);
		return NULL;
	}
	sk_log(p, SK_LOG_INFO, "rules %s: %zu cards, %zu delivery rules", x.path, rs->ncards, rs->nrules);
	return rs;
}

/* The descriptor's rules_check: validates the rules document json (len
 * bytes) exactly as a rules file is validated, without the host. Returns 0,
 * or -1 with one problem per line in errs (errlen bytes). */
static int od_rules_check(const char *json, size_t len, char *errs, size_t errlen)
{
	skrules_ctx x;
	char *text = skrules_text(&x, errs, errlen, json, len);

	if (text)
		od_rules_free(od_parse(&x, text));
	free(text);
	return x.nerr ? -1 : 0;
}

/* Whether rule spec rs matches the order's skuInfo ("名:值"): equal to the
 * whole of it or to its value. No spec matches only an order without one. */
static int od_spec_match(const char *rs, const char *sku)
{
	const char *v;

	if (!rs)
		return !*sku;
	if (!strcmp(rs, sku))
		return 1;
	if ((v = strstr(sku, "：")))
		v += strlen("：");
	else if ((v = strchr(sku, ':')))
		v++;
	return v && !strcmp(rs, v);
}

/* ---- database rows ------------------------------------------------------------ */

static int od_row_order(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_order *o = ud;

	(void)p;
	if (n < 15)
		return 1;
	o->found = 1;
	od_cp(o->id, sizeof o->id, &c[0]);
	od_cp(o->state, sizeof o->state, &c[1]);
	od_cp(o->prev, sizeof o->prev, &c[2]);
	od_cp(o->chat, sizeof o->chat, &c[3]);
	od_cp(o->buyer, sizeof o->buyer, &c[4]);
	od_cp(o->name, sizeof o->name, &c[5]);
	od_cp(o->item, sizeof o->item, &c[6]);
	od_cp(o->spec, sizeof o->spec, &c[7]);
	od_cp(o->card, sizeof o->card, &c[8]);
	od_cp(o->delivery, sizeof o->delivery, &c[9]);
	od_cp(o->confirm, sizeof o->confirm, &c[10]);
	od_cp(o->reason, sizeof o->reason, &c[11]);
	o->quantity = od_int(&c[12]);
	o->attempts = od_int(&c[13]);
	od_cp(o->chat_item, sizeof o->chat_item, &c[14]);
	return 1;
}

/* Reads the order; 0 found, 1 not found, <0 a db error. */
static int od_order_get(sk_plugin *p, const char *oid, od_order *o)
{
	sk_value v = SK_VTEXT(oid);
	int rc;

	memset(o, 0, sizeof *o);
	rc = sk_db_exec(p, "SELECT " OD_ORDER_COLS " FROM orders_order WHERE order_id = ?", &v, 1, od_row_order, o);
	return rc < 0 ? rc : !o->found;
}

static int od_row_unit(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_units *us = ud;
	od_unit *u;

	(void)p;
	if (n < 11)
		return 1;
	if (us->n == us->cap) {
		size_t cap = us->cap ? us->cap * 2 : 4;
		od_unit *g = realloc(us->u, cap * sizeof *g);

		if (!g) {
			us->oom = 1;
			return 1;
		}
		us->u = g;
		us->cap = cap;
	}
	u = &us->u[us->n];
	memset(u, 0, sizeof *u);
	od_cp(u->order, sizeof u->order, &c[0]);
	u->unit = od_int(&c[1]);
	u->attempt = od_int(&c[2]);
	od_cp(u->card, sizeof u->card, &c[3]);
	od_cp(u->kind, sizeof u->kind, &c[4]);
	od_cp(u->state, sizeof u->state, &c[5]);
	od_cp(u->tag, sizeof u->tag, &c[6]);
	od_cp(u->uuid, sizeof u->uuid, &c[7]);
	u->code_id = od_int(&c[8]);
	u->send_at = od_int(&c[9]);
	if (!(u->content = strdup(c[10].type == SK_TEXT && c[10].s ? c[10].s : ""))) {
		us->oom = 1;
		return 1;
	}
	us->n++;
	return 0;
}

static void od_units_free(od_units *us)
{
	for (size_t i = 0; i < us->n; i++)
		free(us->u[i].content);
	free(us->u);
	memset(us, 0, sizeof *us);
}

/* The units of an order (by unit number). 0 or <0. */
static int od_units_get(sk_plugin *p, const char *oid, od_units *us)
{
	sk_value v = SK_VTEXT(oid);
	int rc;

	memset(us, 0, sizeof *us);
	rc = sk_db_exec(p, "SELECT " OD_UNIT_COLS " FROM orders_unit WHERE order_id = ? ORDER BY unit", &v, 1,
			od_row_unit, us);
	if (rc >= 0 && us->oom)
		rc = SK_ERR_NOMEM;
	if (rc < 0)
		od_units_free(us);
	return rc < 0 ? rc : 0;
}

/* Sets the order's delivery state and reason. */
static int od_set_delivery(sk_plugin *p, const char *oid, const char *delivery, const char *reason)
{
	sk_value v[4] = { SK_VTEXT(delivery), SK_VTEXT(reason), SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

	return sk_db_exec(p, "UPDATE orders_order SET delivery = ?, reason = ?, updated_ms = ? WHERE order_id = ?",
			  v, 4, NULL, NULL);
}

/* A delivery that cannot go on: recorded, logged and published. */
static void od_fail(sk_plugin *p, const char *oid, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	int rc = od_set_delivery(p, oid, "failed", reason);

	if (rc < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the failure (%s): %s", oid, sk_strerror(p, rc), reason);
	sk_log(p, SK_LOG_WARN, "order %s: not delivered: %s", oid, reason);
	cJSON_AddStringToObject(o, "order_id", oid);
	cJSON_AddStringToObject(o, "reason", reason);
	od_publish(p, "orders.delivery_failed", o);
}

static int od_row_count(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	*(int64_t *)ud = n > 0 ? od_int(&c[0]) : 0;
	return 1;
}

/* The first column as text into ud (400 bytes). */
static int od_row_text(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n > 0)
		od_cp(ud, 400, &c[0]);
	return 1;
}

/* Free codes of a card. */
static int64_t od_free_codes(sk_plugin *p, const char *card)
{
	sk_value v = SK_VTEXT(card);
	int64_t n = 0;

	if (sk_db_exec(p, "SELECT count(*) FROM orders_stock WHERE card = ? AND state = 0", &v, 1, od_row_count, &n) < 0)
		return -1;
	return n;
}

/* ---- order state ------------------------------------------------------------ */

static int od_rank(const char *s)
{
	static const char *const chain[] = { "placed", "paid", "shipped", "completed", NULL };

	for (int i = 0; chain[i]; i++)
		if (!strcmp(chain[i], s))
			return i + 1;
	return 0;
}

/* Whether from -> to is allowed (to is never refund_cancelled here). */
static int od_legal(const char *from, const char *to)
{
	if (!*from)
		return 1;
	if (!strcmp(from, "closed"))
		return 0;
	if (!strcmp(to, "closed"))
		return 1;
	if (!strcmp(to, "refunding"))
		return od_rank(from) >= 2;
	if (!strcmp(from, "refunding"))
		return !strcmp(to, "completed");
	return od_rank(to) > od_rank(from);
}

static const char *od_trade_name(int t)
{
	static const char *const n[] = { "", "placed", "paid", "remind", "shipped", "completed", "closed", "refunding",
		"refund_cancelled" };

	return t >= 0 && t < (int)(sizeof n / sizeof n[0]) ? n[t] : "";
}

/* Cancels the units not yet handed to the outbox (their codes go back), when
 * the order closed or went to refund before they were sent. */
static void od_cancel(sk_plugin *p, const char *oid, const char *why)
{
	od_units us;
	od_order o;
	int cancelled = 0;

	if (od_order_get(p, oid, &o) || od_units_get(p, oid, &us))
		return;
	for (size_t i = 0; i < us.n; i++) {
		od_unit *u = &us.u[i];
		sk_value v[3];

		if (strcmp(u->state, "reserved") || sk_send_find(p, u->tag, NULL, NULL, NULL) != SK_ERR_NOTFOUND)
			continue;
		if (sk_db_begin(p) < 0)
			break;
		v[0] = SK_VTEXT(why);
		v[1] = SK_VINT(sk_now_ms(p));
		v[2] = SK_VTEXT(u->tag);
		sk_db_exec(p, "UPDATE orders_unit SET state = 'cancelled', reason = ?, updated_ms = ? WHERE tag = ?",
			   v, 3, NULL, NULL);
		v[0] = SK_VINT(u->code_id);
		v[1] = SK_VINT(sk_now_ms(p));
		if (u->code_id)
			sk_db_exec(p, "UPDATE orders_stock SET state = 0, order_id = '', unit = 0, updated_ms = ?2 "
				   "WHERE id = ?1 AND state = 1", v, 2, NULL, NULL);
		if (sk_db_commit(p) < 0)
			sk_db_rollback(p);
		else
			cancelled++;
	}
	od_units_free(&us);
	if (!strcmp(o.delivery, "pending") || (!strcmp(o.delivery, "delivering") && cancelled)) {
		char reason[160];

		snprintf(reason, sizeof reason, "cancelled: %s", why);
		if (!strcmp(o.delivery, "pending"))
			od_set_delivery(p, oid, "cancelled", reason);
		sk_log(p, SK_LOG_INFO, "order %s: %d units cancelled: %s", oid, cancelled, why);
		od_proceed(p, oid);
	}
}

/* Starts a delivery for a trigger (paid, remind, reload, retry), unless one
 * is under way or done. */
static void od_deliver(sk_plugin *p, const char *oid, const char *trigger)
{
	od_state *st = p->ud;
	od_order o;

	if (od_order_get(p, oid, &o))
		return;
	if (!st->enabled) {
		sk_log(p, SK_LOG_INFO, "order %s: %s, but orders.enabled is false: not delivered", oid, trigger);
		return;
	}
	if (strcmp(o.state, "paid")) {
		sk_log(p, SK_LOG_INFO, "order %s: %s ignored: the order is %s", oid, trigger, o.state);
		return;
	}
	if (!strcmp(o.delivery, "delivering") || !strcmp(o.delivery, "delivered") ||
	    (!strcmp(o.delivery, "pending") && od_fly_find(st, oid, OD_FETCH))) {
		sk_log(p, SK_LOG_INFO, "order %s: %s: already %s, nothing more sent", oid, trigger, o.delivery);
		return;
	}
	/* A failed (or cancelled) delivery is tried again by a reminder, a
	 * cancelled refund or a reload, not by the repeats of the payment card. */
	if ((!strcmp(o.delivery, "failed") || !strcmp(o.delivery, "cancelled")) && !strcmp(trigger, "paid")) {
		sk_log(p, SK_LOG_INFO, "order %s: paid again: the delivery %s before (%s); a reminder card tries again",
		       oid, o.delivery, o.reason);
		return;
	}
	if (od_set_delivery(p, oid, "pending", "") < 0)
		return;
	sk_log(p, SK_LOG_INFO, "order %s: delivery started (%s)", oid, trigger);
	od_fetch(p, oid, 1, 0, sk_mono_ms(p));
}

/* SK_EV_TRADE / SK_EV_MSG_UPDATE with a trade and an order id. */
static int od_on_trade(sk_plugin *p, const sk_event *e, void *ud)
{
	const char *to = od_trade_name(e->trade), *oid = e->order_id;
	int64_t now = sk_now_ms(p);
	char note[96] = "";
	od_order o;
	int applied = 0, rc;

	(void)ud;
	if (!p->ud || e->trade == SK_TRADE_NONE || !*oid)
		return SK_PASS;
	if (sk_db_begin(p) < 0)
		return SK_ERR_DB;
	{
		sk_value v[6] = { SK_VTEXT(oid), SK_VTEXT(e->chat_id), SK_VTEXT(e->own ? "" : e->sender_id),
			SK_VTEXT(e->own ? "" : e->sender_name), SK_VINT(now), SK_VTEXT(e->item_id) };

		rc = sk_db_exec(p, "INSERT INTO orders_order (order_id, chat_id, buyer_id, buyer_name, created_ms, "
				"updated_ms, chat_item) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (order_id) DO UPDATE SET "
				"chat_id = CASE WHEN chat_id = '' THEN excluded.chat_id ELSE chat_id END, "
				"buyer_id = CASE WHEN buyer_id = '' THEN excluded.buyer_id ELSE buyer_id END, "
				"buyer_name = CASE WHEN buyer_name = '' THEN excluded.buyer_name ELSE buyer_name END, "
				"chat_item = CASE WHEN chat_item = '' THEN excluded.chat_item ELSE chat_item END",
				v, 6, NULL, NULL);
	}
	if (rc < 0 || (rc = od_order_get(p, oid, &o)) != 0)
		goto fail;
	if (e->trade == SK_TRADE_REMIND) {
		/* A reminder is no state of its own, but proves the payment. */
		to = od_rank(o.state) < 2 && strcmp(o.state, "closed") && strcmp(o.state, "refunding") ? "paid" : o.state;
	} else if (e->trade == SK_TRADE_REFUND_CANCELLED) {
		to = strcmp(o.state, "refunding") ? "" : *o.prev ? o.prev : "paid";
		if (!*to)
			snprintf(note, sizeof note, "refund cancelled, but the order is not refunding");
	}
	if (!*to) {
		to = od_trade_name(e->trade);
	} else if (!strcmp(o.state, to)) {
		snprintf(note, sizeof note, "repeat");
	} else if (e->trade != SK_TRADE_REFUND_CANCELLED && !od_legal(o.state, to)) {
		snprintf(note, sizeof note, "illegal: %s -> %s", *o.state ? o.state : "(new)", to);
	} else {
		sk_value v[4] = { SK_VTEXT(to), SK_VTEXT(!strcmp(to, "refunding") ? o.state : o.prev), SK_VINT(now),
			SK_VTEXT(oid) };

		if ((rc = sk_db_exec(p, "UPDATE orders_order SET state = ?, prev_state = ?, updated_ms = ? "
				     "WHERE order_id = ?", v, 4, NULL, NULL)) < 0)
			goto fail;
		applied = 1;
	}
	{
		sk_value v[8] = { SK_VTEXT(oid), SK_VTEXT(o.state), SK_VTEXT(to), SK_VTEXT(od_trade_name(e->trade)),
			SK_VTEXT(e->message_id), SK_VINT(applied), SK_VTEXT(note), SK_VINT(now) };

		if ((rc = sk_db_exec(p, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, "
				     "message_id, applied, note, ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", v, 8, NULL, NULL)) < 0)
			goto fail;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto fail;
	if (applied)
		sk_log(p, SK_LOG_INFO, "order %s: %s -> %s (%s)", oid, *o.state ? o.state : "(new)", to,
		       od_trade_name(e->trade));
	else if (strcmp(note, "repeat"))
		sk_log(p, SK_LOG_WARN, "order %s: %s (%s, message %s): not applied", oid, note, od_trade_name(e->trade),
		       e->message_id);
	if (applied && (!strcmp(to, "closed") || !strcmp(to, "refunding")))
		od_cancel(p, oid, !strcmp(to, "closed") ? "the order was closed" : "the buyer asked for a refund");
	if (e->trade == SK_TRADE_PAID || e->trade == SK_TRADE_REMIND || (applied && e->trade == SK_TRADE_REFUND_CANCELLED))
		od_deliver(p, oid, od_trade_name(e->trade));
	return SK_PASS;
fail:
	sk_db_rollback(p);
	sk_log(p, SK_LOG_ERR, "order %s: cannot record %s: %s", oid, od_trade_name(e->trade), sk_strerror(p, rc));
	return rc < 0 ? rc : SK_ERR_DB;
}

/* ---- the order detail ------------------------------------------------------------ */

/* One detail fetch (or one shipment call): attempt counts the tries after
 * transient errors; checks the answers that did not say paid yet, since_ms
 * (monotonic) when the first was asked for. */
typedef struct {
	char *oid;
	int attempt, checks;
	int64_t since_ms;
} od_call;

static void od_call_free(void *ud)
{
	od_call *c = ud;

	if (c) {
		free(c->oid);
		free(c);
	}
}

static od_call *od_call_new(const char *oid, int attempt)
{
	od_call *c = calloc(1, sizeof *c);

	if (c && !(c->oid = strdup(oid))) {
		free(c);
		return NULL;
	}
	if (c)
		c->attempt = attempt;
	return c;
}

/* A string or a number member as text. */
static const char *od_jtext(const cJSON *o, const char *k, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsString(v))
		return v->valuestring;
	/* The range first: converting a double outside int64_t is undefined. */
	if (cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, n, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL;
}

static int64_t od_backoff(od_state *st, int attempt)
{
	int64_t ms = st->retry_base_ms;

	for (int i = 1; i < attempt && ms < 300000; i++)
		ms *= 2;
	return ms;
}

static void od_on_fetch_timer(sk_plugin *p, uint64_t id, void *ud)
{
	od_call *c = ud;

	(void)id;
	if (p->ud) {
		od_order o;

		od_fly_del(p->ud, c->oid, OD_FETCH);
		/* closed, refunded or cancelled while it waited: nothing to fetch */
		if (od_order_get(p, c->oid, &o) || strcmp(o.delivery, "pending") || strcmp(o.state, "paid")) {
			sk_log(p, SK_LOG_INFO, "order %s: no longer waiting for its detail (%s, delivery %s)", c->oid,
			       o.found ? o.state : "gone", o.found ? o.delivery : "-");
			return;
		}
		od_fetch(p, c->oid, c->attempt, c->checks, c->since_ms);
	}
}

enum { OD_PAY_NO = 0, OD_PAY_YES, OD_PAY_NEVER };

/* A JSON true, or the string "true" (valueType=string answers). */
static int od_jtrue(const cJSON *v)
{
	return cJSON_IsTrue(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "true"));
}

/* What the order detail's orderStatusVO data (may be NULL) says of the
 * payment (docs/protocol.md §9.2): OD_PAY_YES when its 已付款 node is
 * completed and the order is neither closed nor in refund, OD_PAY_NEVER when
 * it is closed or in refund, else OD_PAY_NO (not paid yet, or no status at
 * all). title gets the order's status text for the reason ("" when none). */
static int od_detail_paid(const cJSON *status, char *title, size_t n)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(status, "orderStatusInfo"),
							  "title"), *node;
	int paid = 0, closed = 0;

	snprintf(title, n, "%s", cJSON_IsString(t) ? t->valuestring : "");
	if (*title && (strstr(title, "关闭") || strstr(title, "退款")))
		closed = 1;
	cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(status, "orderStatusNodeList")) {
		const cJSON *nt = cJSON_GetObjectItemCaseSensitive(node, "title");

		if (!cJSON_IsString(nt) || !od_jtrue(cJSON_GetObjectItemCaseSensitive(node, "completed")))
			continue;
		if (!strcmp(nt->valuestring, "已付款"))
			paid = 1;
		else if (strstr(nt->valuestring, "关闭") || strstr(nt->valuestring, "退款"))
			closed = 1;
		if (!*title)
			snprintf(title, n, "%s", nt->valuestring);
	}
	return closed ? OD_PAY_NEVER : paid ? OD_PAY_YES : OD_PAY_NO;
}

/* The detail of a paid card does not say paid (paid: OD_PAY_NO or
 * OD_PAY_NEVER): the order waits (delivery pending) and the detail is asked
 * again after 2, 4, 8... s (at most 60 s apart) until orders.paid_wait_s has
 * passed since the first answer; then, or at once for a closed order, the
 * delivery fails with "unpaid: ...". The detail can lag the card by seconds. */
static void od_unpaid(sk_plugin *p, const od_call *c, int paid, const char *title)
{
	od_state *st = p->ud;
	int64_t waited = sk_mono_ms(p) - c->since_ms, left = st->paid_wait_s * 1000 - waited, delay;
	char reason[400];
	od_call *n;

	if (paid == OD_PAY_NEVER || left <= 0) {
		if (paid == OD_PAY_NEVER)
			snprintf(reason, sizeof reason, "unpaid: the order detail says %s", title);
		else
			snprintf(reason, sizeof reason, "unpaid: the order detail still does not say paid after %lld s "
				 "(%d checks%s%s); the paid card alone is not enough", (long long)(waited / 1000),
				 c->checks + 1, *title ? ", last: " : "", title);
		od_fail(p, c->oid, reason);
		return;
	}
	delay = (int64_t)2000 << (c->checks < 5 ? c->checks : 5);
	if (delay > left)
		delay = left;
	snprintf(reason, sizeof reason, "waiting: the order detail does not say paid yet%s%s; checking again in "
		 "%lld s", *title ? ": " : "", title, (long long)(delay / 1000));
	sk_log(p, SK_LOG_WARN, "order %s: a paid card, but %s", c->oid, reason + strlen("waiting: "));
	od_set_delivery(p, c->oid, "pending", reason);
	if (!(n = od_call_new(c->oid, 1)) || !od_fly_add(st, c->oid, OD_FETCH)) {
		od_call_free(n);
		od_fail(p, c->oid, "detail: out of memory while waiting for the payment");
		return;
	}
	n->checks = c->checks + 1;
	n->since_ms = c->since_ms;
	if (sk_timer_add(p, (uint64_t)delay, 0, od_on_fetch_timer, n, od_call_free, NULL) != SK_OK) {
		od_fly_del(st, c->oid, OD_FETCH);
		od_fail(p, c->oid, "detail: cannot wait for the payment (no timer)");
	}
}

static void od_on_detail(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_call *c = ud;
	const cJSON *comps, *x, *info = NULL, *item = NULL, *status = NULL;
	char b1[32], b2[32], b3[32], b4[32], reason[400], title[128];
	od_order o;
	int paid;
	const char *iid, *sku, *buyer, *nick, *q;
	int64_t qty = 1;
	cJSON *d;

	if (!st)
		return;
	od_fly_del(st, c->oid, OD_FETCH);
	if (result != SK_MTOP_OK) {
		int transient = result == SK_MTOP_TRANSPORT || result == SK_MTOP_TOKEN_EXPIRED ||
				(result == SK_MTOP_FAIL && strncmp(ret, "FAIL_BIZ", 8));

		if (transient && c->attempt < st->detail_attempts) {
			od_call *n = od_call_new(c->oid, c->attempt + 1);

			if (n) {
				n->checks = c->checks;
				n->since_ms = c->since_ms;
			}
			sk_log(p, SK_LOG_WARN, "order %s: order detail failed (%s), retry %d in %lld ms", c->oid,
			       *ret ? ret : "transport", c->attempt + 1, (long long)od_backoff(st, c->attempt));
			if (n && od_fly_add(st, c->oid, OD_FETCH) &&
			    sk_timer_add(p, (uint64_t)od_backoff(st, c->attempt), 0, od_on_fetch_timer, n, od_call_free,
					 NULL) == SK_OK)
				return;
			od_fly_del(st, c->oid, OD_FETCH);
		}
		snprintf(reason, sizeof reason, "detail: the order detail could not be read (%s%s%s)",
			 result == SK_MTOP_SESSION_EXPIRED ? "session expired: the account needs a new login" :
			 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer",
			 transient ? ", after retries" : "", "");
		od_fail(p, c->oid, reason);
		return;
	}
	d = cJSON_Parse(data_json);
	comps = cJSON_GetObjectItemCaseSensitive(d, "components");
	cJSON_ArrayForEach(x, comps) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "render");

		if (cJSON_IsString(r) && !strcmp(r->valuestring, "orderInfoVO")) {
			info = cJSON_GetObjectItemCaseSensitive(x, "data");
			item = cJSON_GetObjectItemCaseSensitive(info, "itemInfo");
		} else if (cJSON_IsString(r) && !strcmp(r->valuestring, "orderStatusVO")) {
			status = cJSON_GetObjectItemCaseSensitive(x, "data");
		}
	}
	iid = od_jtext(item, "itemId", b1, sizeof b1);
	if (!iid)
		iid = od_jtext(d, "itemId", b1, sizeof b1);
	buyer = od_jtext(info, "buyerUserId", b2, sizeof b2);
	if (!buyer)
		buyer = od_jtext(d, "peerUserId", b2, sizeof b2);
	nick = od_jtext(info, "buyerNick", b3, sizeof b3);
	sku = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "skuInfo")) ?
	      cJSON_GetObjectItemCaseSensitive(item, "skuInfo")->valuestring : "";
	/* no amount: one unit (as the platform's own pages show it) */
	if ((q = od_jtext(item, "buyAmount", b4, sizeof b4)))
		qty = strtoll(q, NULL, 10);
	if (!iid || !*iid) {
		cJSON_Delete(d);
		od_fail(p, c->oid, "detail: the order detail has no item id");
		return;
	}
	/* The card only says paid; the detail, asked of the platform by us, must
	 * agree: paid, by the chat's buyer, for the chat's item. */
	paid = od_detail_paid(status, title, sizeof title);
	if (od_order_get(p, c->oid, &o)) {
		cJSON_Delete(d);
		return;
	}
	if (strcmp(o.delivery, "pending") || strcmp(o.state, "paid")) {
		cJSON_Delete(d);
		sk_log(p, SK_LOG_INFO, "order %s: detail ignored: the order is %s, delivery %s", c->oid, o.state,
		       o.delivery);
		return;
	}
	if (!buyer || !*buyer || (*o.buyer && strcmp(buyer, o.buyer)) || (*o.chat_item && strcmp(iid, o.chat_item))) {
		snprintf(reason, sizeof reason, "mismatch: the order detail is for buyer %s and item %s, the chat's cards "
			 "for buyer %s and item %s", buyer && *buyer ? buyer : "(none)", iid, *o.buyer ? o.buyer : "(none)",
			 *o.chat_item ? o.chat_item : "(any)");
		cJSON_Delete(d);
		od_fail(p, c->oid, reason);
		return;
	}
	if (paid != OD_PAY_YES) {
		cJSON_Delete(d);
		od_unpaid(p, c, paid, title);
		return;
	}
	{
		sk_value v[7] = { SK_VTEXT(iid), SK_VTEXT(sku), SK_VINT(qty), SK_VTEXT(buyer ? buyer : ""),
			SK_VTEXT(nick ? nick : ""), SK_VINT(sk_now_ms(p)), SK_VTEXT(c->oid) };

		if (sk_db_exec(p, "UPDATE orders_order SET item_id = ?1, spec = ?2, quantity = ?3, "
			       "buyer_id = CASE WHEN buyer_id = '' THEN ?4 ELSE buyer_id END, "
			       "buyer_name = CASE WHEN ?5 <> '' THEN ?5 ELSE buyer_name END, updated_ms = ?6 "
			       "WHERE order_id = ?7", v, 7, NULL, NULL) < 0) {
			cJSON_Delete(d);
			sk_log(p, SK_LOG_ERR, "order %s: cannot record the detail", c->oid);
			return;
		}
	}
	cJSON_Delete(d);
	od_plan(p, c->oid);
}

/* Asks for the order detail (attempt counts from 1; checks and since_ms as
 * in od_call). */
static void od_fetch(sk_plugin *p, const char *oid, int attempt, int checks, int64_t since_ms)
{
	od_state *st = p->ud;
	od_call *c = od_call_new(oid, attempt);
	char data[128];
	int rc;

	if (c) {
		c->checks = checks;
		c->since_ms = since_ms;
	}
	snprintf(data, sizeof data, "{\"tid\":\"%s\"}", oid);
	if (!c || !od_fly_add(st, oid, OD_FETCH)) {
		od_call_free(c);
		return;
	}
	od_step(p, "detail", oid);
	if ((rc = sk_mtop(p, OD_API_DETAIL, data, od_on_detail, c, od_call_free)) != SK_OK) {
		od_fly_del(st, oid, OD_FETCH);
		sk_log(p, SK_LOG_ERR, "order %s: cannot ask for the detail: %s", oid, sk_strerror(p, rc));
	}
}

/* ---- planning: rule, reservation ----------------------------------------------------- */

typedef struct {
	int64_t id;
	char *code;
} od_code;

typedef struct {
	od_code *c;
	size_t n;
	int oom;
} od_codes;

static int od_row_code(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_codes *cs = ud;

	(void)p;
	if (n < 2)
		return 1;
	if (!(cs->c[cs->n].code = strdup(c[1].type == SK_TEXT && c[1].s ? c[1].s : ""))) {
		cs->oom = 1;
		return 1;
	}
	cs->c[cs->n++].id = od_int(&c[0]);
	return 0;
}

static void od_codes_free(od_codes *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		free(cs->c[i].code);
	free(cs->c);
}

/* The one delivery rule's card for the order, or NULL with the reason. */
static const od_card *od_match(const od_state *st, const od_order *o, char *reason, size_t n)
{
	const od_rules *rs = st->rules;
	const od_rule *hit = NULL;
	size_t hits = 0, len;

	for (size_t i = 0; i < rs->nrules; i++)
		if (!strcmp(rs->rules[i].item, o->item) && od_spec_match(rs->rules[i].spec, o->spec)) {
			hits++;
			hit = hit ? hit : &rs->rules[i];
		}
	if (hits == 1)
		return od_card_find(rs, hit->card);
	if (!hits) {
		snprintf(reason, n, "no_rule: no delivery rule for item %s%s%s%s", o->item, *o->spec ? " spec \"" : "",
			 o->spec, *o->spec ? "\"" : " (no spec)");
		return NULL;
	}
	len = (size_t)snprintf(reason, n, "ambiguous: %zu delivery rules match item %s%s%s%s (cards", hits, o->item,
			       *o->spec ? " spec \"" : "", o->spec, *o->spec ? "\"" : "");
	for (size_t i = 0; i < rs->nrules && len < n; i++)
		if (!strcmp(rs->rules[i].item, o->item) && od_spec_match(rs->rules[i].spec, o->spec))
			len += (size_t)snprintf(reason + len, n - len, " %s", rs->rules[i].card);
	if (len < n)
		snprintf(reason + len, n - len, ")");
	return NULL;
}

/* Renders a unit's content. */
static char *od_render(const od_card *c, const od_order *o, const char *code)
{
	char qty[24];
	const char *vals[] = { code, o->id, o->name, o->item, o->spec, qty };

	snprintf(qty, sizeof qty, "%lld", (long long)o->quantity);
	if (c->type == OD_IMAGE)
		return strdup(c->url);
	return sktext_tmpl_render(c->tmpl, od_vars, vals);
}

/* Matches the rule and reserves every unit not delivered yet (and its code),
 * in one transaction; then sends (od_proceed). */
static void od_plan(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	char reason[512];
	const od_card *card;
	od_codes cs = { 0 };
	od_units us = { 0 };
	int64_t need = 0, have, now = sk_now_ms(p);
	size_t k = 0;
	od_order o;
	int rc;

	if (od_order_get(p, oid, &o))
		return;
	if (o.quantity < 1 || o.quantity > st->max_quantity) {
		snprintf(reason, sizeof reason, "quantity: the order is for %lld units; orders.max_quantity is %lld",
			 (long long)o.quantity, (long long)st->max_quantity);
		od_fail(p, oid, reason);
		return;
	}
	if (!(card = od_match(st, &o, reason, sizeof reason))) {
		od_fail(p, oid, reason);
		return;
	}
	if ((rc = sk_db_begin(p)) < 0)
		goto dberr;
	if ((rc = od_units_get(p, oid, &us)) < 0)
		goto dberr;
	/* Units 1..quantity: those reserved, sending or sent stay as they are. */
	for (int64_t u = 1; u <= o.quantity; u++) {
		const od_unit *x = NULL;

		for (size_t i = 0; i < us.n; i++)
			if (us.u[i].unit == u)
				x = &us.u[i];
		if (!x || !strcmp(x->state, "failed") || !strcmp(x->state, "cancelled"))
			need++;
	}
	if (card->type == OD_STOCK && need) {
		sk_value v[2] = { SK_VTEXT(card->name), SK_VINT(need) };

		if (!(cs.c = calloc((size_t)need, sizeof *cs.c)) ||
		    (rc = sk_db_exec(p, "SELECT id, code FROM orders_stock WHERE card = ? AND state = 0 ORDER BY id "
				     "LIMIT ?", v, 2, od_row_code, &cs)) < 0 || cs.oom) {
			rc = rc < 0 ? rc : SK_ERR_NOMEM;
			goto dberr;
		}
		if ((int64_t)cs.n < need) {
			cJSON *j = cJSON_CreateObject();

			sk_db_rollback(p);
			snprintf(reason, sizeof reason, "out_of_stock: card %s has %zu free codes, the order needs %lld",
				 card->name, cs.n, (long long)need);
			cJSON_AddStringToObject(j, "card", card->name);
			cJSON_AddStringToObject(j, "order_id", oid);
			cJSON_AddNumberToObject(j, "needed", (double)need);
			cJSON_AddNumberToObject(j, "available", (double)cs.n);
			od_publish(p, "orders.out_of_stock", j);
			od_fail(p, oid, reason);
			goto out;
		}
	}
	for (int64_t u = 1; u <= o.quantity; u++) {
		const od_unit *x = NULL;
		int64_t attempt = 1, code_id = 0;
		char tag[160], *content;

		for (size_t i = 0; i < us.n; i++)
			if (us.u[i].unit == u)
				x = &us.u[i];
		if (x && strcmp(x->state, "failed") && strcmp(x->state, "cancelled"))
			continue;
		if (x)
			attempt = x->attempt + 1;
		if (card->type == OD_STOCK) {
			sk_value v[4] = { SK_VTEXT(oid), SK_VINT(u), SK_VINT(now), SK_VINT(cs.c[k].id) };

			code_id = cs.c[k].id;
			if ((rc = sk_db_exec(p, "UPDATE orders_stock SET state = 1, order_id = ?, unit = ?, updated_ms = ? "
					     "WHERE id = ? AND state = 0", v, 4, NULL, NULL)) < 0)
				goto dberr;
		}
		content = od_render(card, &o, card->type == OD_STOCK ? cs.c[k++].code : "");
		snprintf(tag, sizeof tag, "order:%s:%lld:%lld", oid, (long long)u, (long long)attempt);
		{
			sk_value v[10] = { SK_VTEXT(oid), SK_VINT(u), SK_VINT(attempt), SK_VTEXT(card->name),
				SK_VTEXT(card->type == OD_IMAGE ? "image" : "text"), SK_VTEXT(content ? content : ""),
				code_id ? SK_VINT(code_id) : SK_VNULL, SK_VTEXT(tag), SK_VINT(now + card->delay_s * 1000),
				SK_VINT(now) };

			rc = content ? sk_db_exec(p, "INSERT INTO orders_unit (order_id, unit, attempt, card, kind, content, "
						  "code_id, state, tag, send_at_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
						  "?7, 'reserved', ?8, ?9, ?10) ON CONFLICT (order_id, unit) DO UPDATE SET "
						  "attempt = ?3, card = ?4, kind = ?5, content = ?6, code_id = ?7, "
						  "state = 'reserved', tag = ?8, uuid = '', message_id = '', reason = '', "
						  "send_at_ms = ?9, updated_ms = ?10", v, 10, NULL, NULL) : SK_ERR_NOMEM;
		}
		free(content);
		if (rc < 0)
			goto dberr;
	}
	{
		sk_value v[5] = { SK_VTEXT(card->name), SK_VTEXT(st->policy == OD_NEVER ? "skipped" : "pending"),
			SK_VINT(now), SK_VTEXT(oid) };

		if ((rc = sk_db_exec(p, "UPDATE orders_order SET delivery = 'delivering', reason = '', card = ?1, "
				     "confirm = CASE WHEN confirm = 'done' THEN confirm ELSE ?2 END, "
				     "confirm_attempts = 0, updated_ms = ?3 WHERE order_id = ?4", v, 4, NULL, NULL)) < 0)
			goto dberr;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto dberr;
	sk_log(p, SK_LOG_INFO, "order %s: %lld of %lld units reserved (card %s)", oid, (long long)need,
	       (long long)o.quantity, card->name);
	od_step(p, "reserved", oid);
	if (card->type == OD_STOCK && (have = od_free_codes(p, card->name)) >= 0 && have < card->low_stock) {
		cJSON *j = cJSON_CreateObject();

		sk_log(p, SK_LOG_WARN, "card %s: %lld codes left (low_stock %lld)", card->name, (long long)have,
		       (long long)card->low_stock);
		cJSON_AddStringToObject(j, "card", card->name);
		cJSON_AddNumberToObject(j, "available", (double)have);
		cJSON_AddNumberToObject(j, "low_stock", (double)card->low_stock);
		od_publish(p, "orders.low_stock", j);
	}
	od_units_free(&us);
	od_codes_free(&cs);
	od_proceed(p, oid);
	return;
dberr:
	sk_db_rollback(p);
	snprintf(reason, sizeof reason, "send: the reservation failed (database: %s)", sk_strerror(p, rc));
	od_fail(p, oid, reason);
out:
	od_units_free(&us);
	od_codes_free(&cs);
}

/* ---- sending ----------------------------------------------------------------------- */

/* A unit's send ended (this run's callback, an earlier run's
 * SK_EV_SEND_RESULT, or the outbox's answer at resume). Idempotent. */
static void od_unit_result(sk_plugin *p, const char *tag, int ok, const char *detail)
{
	sk_value v = SK_VTEXT(tag);
	od_units us = { 0 };
	od_unit *u;
	int64_t now = sk_now_ms(p);
	char reason[400];
	int rc;

	if (sk_db_exec(p, "SELECT " OD_UNIT_COLS " FROM orders_unit WHERE tag = ?", &v, 1, od_row_unit, &us) < 0 ||
	    !us.n) {
		od_units_free(&us);
		return;
	}
	u = &us.u[0];
	if (strcmp(u->state, "reserved") && strcmp(u->state, "sending")) {
		od_units_free(&us);
		return;
	}
	od_step(p, "acked", u->order);
	if ((rc = sk_db_begin(p)) < 0)
		goto fail;
	snprintf(reason, sizeof reason, "refused: the platform refused the message (%s)", *detail ? detail : "no reason");
	{
		sk_value w[4] = { SK_VTEXT(ok ? "sent" : "failed"), SK_VTEXT(ok ? detail : ""),
			SK_VTEXT(ok ? "" : reason), SK_VTEXT(tag) };

		if ((rc = sk_db_exec(p, "UPDATE orders_unit SET state = ?1, message_id = ?2, reason = ?3 WHERE tag = ?4",
				     w, 4, NULL, NULL)) < 0)
			goto fail;
	}
	if (u->code_id) {
		sk_value w[2] = { SK_VINT(u->code_id), SK_VINT(now) };

		rc = sk_db_exec(p, ok ? "UPDATE orders_stock SET state = 2, updated_ms = ?2 WHERE id = ?1 AND state = 1" :
				"UPDATE orders_stock SET state = 0, order_id = '', unit = 0, updated_ms = ?2 "
				"WHERE id = ?1 AND state = 1", w, 2, NULL, NULL);
		if (rc < 0)
			goto fail;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto fail;
	if (ok)
		sk_log(p, SK_LOG_INFO, "order %s: unit %lld sent (message %s)", u->order, (long long)u->unit, detail);
	else
		sk_log(p, SK_LOG_WARN, "order %s: unit %lld: %s; its code is free again", u->order, (long long)u->unit,
		       reason);
	od_step(p, "sent", u->order);
	{
		char oid[64];

		snprintf(oid, sizeof oid, "%s", u->order);
		od_units_free(&us);
		/* Inside od_proceed (a result known at once), it counts the units itself. */
		if (!((od_state *)p->ud)->depth)
			od_proceed(p, oid);
	}
	return;
fail:
	sk_db_rollback(p);
	sk_log(p, SK_LOG_ERR, "order %s: cannot record the result of unit %lld: %s", u->order, (long long)u->unit,
	       sk_strerror(p, rc));
	od_units_free(&us);
}

static void od_on_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	(void)uuid;
	if (p->ud)
		od_unit_result(p, ud, ok, detail ? detail : "");
}

static int od_on_send_result(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (p->ud && !strncmp(e->send_tag, "order:", 6))
		od_unit_result(p, e->send_tag, e->send_ok, e->send_ok ? e->message_id : e->reason);
	return SK_PASS;
}

static void od_on_unit_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	if (p->ud)
		od_proceed(p, ud);
}

/* Records that the unit's send is uuid (state sending). */
static int od_sending(sk_plugin *p, const od_unit *u, const char *uuid)
{
	sk_value v[3] = { SK_VTEXT(uuid), SK_VINT(sk_now_ms(p)), SK_VTEXT(u->tag) };

	return sk_db_exec(p, "UPDATE orders_unit SET state = 'sending', uuid = ?, updated_ms = ? WHERE tag = ?", v, 3,
			  NULL, NULL);
}

/* Sends a reserved unit, unless the outbox already has its send. Returns 1
 * when a timer will come back for it, else 0. */
static int od_send_unit(sk_plugin *p, const od_order *o, od_unit *u)
{
	char uuid[40] = "", *detail = NULL, *tag;
	int state = 0, rc;

	rc = sk_send_find(p, u->tag, uuid, &state, &detail);
	if (rc == SK_OK) {
		/* Queued before a crash: adopt it, never send again. */
		sk_log(p, SK_LOG_INFO, "order %s: unit %lld was queued before (send %s): not sent again", o->id,
		       (long long)u->unit, uuid);
		od_sending(p, u, uuid);
		if (state)
			od_unit_result(p, u->tag, state == 1, detail ? detail : "");
		sk_free(p, detail);
		return 0;
	}
	if (rc != SK_ERR_NOTFOUND && rc != SK_ERR_UNSUPPORTED) {
		sk_log(p, SK_LOG_ERR, "order %s: cannot look up unit %lld's send: %s", o->id, (long long)u->unit,
		       sk_strerror(p, rc));
		return 0;
	}
	if (u->send_at > sk_now_ms(p)) {
		char *oid = strdup(o->id);

		if (oid && sk_timer_add(p, (uint64_t)(u->send_at - sk_now_ms(p)), 0, od_on_unit_timer, oid, free,
					NULL) == SK_OK)
			return 1;
		return 0;
	}
	if (!*o->chat || !*o->buyer) {
		od_unit_result(p, u->tag, 0, "the order has no chat or buyer to send to");
		return 0;
	}
	if (!(tag = strdup(u->tag)))
		return 0;
	if (!strcmp(u->kind, "image")) {
		const od_card *c = od_card_find(((od_state *)p->ud)->rules, u->card);

		rc = sk_send_image(p, o->chat, o->buyer, u->content, c ? (int)c->w : OD_IMAGE_W,
				   c ? (int)c->h : OD_IMAGE_H, u->tag, od_on_sent, tag, free, uuid);
	}
	else
		rc = sk_send_text(p, o->chat, o->buyer, u->content, u->tag, od_on_sent, tag, free, uuid);
	if (rc != SK_OK) {
		/* Not queued: the unit stays reserved for the next try. */
		sk_log(p, SK_LOG_ERR, "order %s: unit %lld not queued: %s (retried later)", o->id, (long long)u->unit,
		       sk_strerror(p, rc));
		return 0;
	}
	od_step(p, "send", o->id);
	if (od_sending(p, u, uuid) < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record unit %lld's send %s", o->id, (long long)u->unit, uuid);
	od_step(p, "sending", o->id);
	return 0;
}

/* ---- shipment confirmation ----------------------------------------------------------- */

static void od_confirm(sk_plugin *p, const char *oid);

static void od_on_confirm_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	if (p->ud) {
		od_fly_del(p->ud, ud, OD_CONFIRM);
		od_confirm(p, ud);
	}
}

static void od_confirm_end(sk_plugin *p, const char *oid, const char *confirm, const char *reason)
{
	sk_value v[4] = { SK_VTEXT(confirm), SK_VTEXT(reason), SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

	if (sk_db_exec(p, "UPDATE orders_order SET confirm = ?, confirm_reason = ?, updated_ms = ? WHERE order_id = ?",
		       v, 4, NULL, NULL) < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the confirmation (%s)", oid, confirm);
	if (!strcmp(confirm, "failed")) {
		cJSON *j = cJSON_CreateObject();

		sk_log(p, SK_LOG_WARN, "order %s: shipment not confirmed: %s", oid, reason);
		cJSON_AddStringToObject(j, "order_id", oid);
		cJSON_AddStringToObject(j, "reason", reason);
		od_publish(p, "orders.confirm_failed", j);
	} else {
		sk_log(p, SK_LOG_INFO, "order %s: shipment %s%s%s", oid, !strcmp(confirm, "done") ? "confirmed" : confirm,
		       *reason ? ": " : "", reason);
	}
	od_step(p, "confirmed", oid);
	od_proceed(p, oid);
}

static void od_on_consign(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_call *c = ud;
	char reason[400];
	od_order o;

	(void)data_json;
	if (!st)
		return;
	od_fly_del(st, c->oid, OD_CONFIRM);
	if (result == SK_MTOP_OK || strstr(ret, "ORDER_ALREADY_DELIVERY")) {
		od_confirm_end(p, c->oid, "done", result == SK_MTOP_OK ? "" : "already shipped");
		return;
	}
	if (od_order_get(p, c->oid, &o))
		return;
	if (result == SK_MTOP_SESSION_EXPIRED || result == SK_MTOP_RISK || !strncmp(ret, "FAIL_BIZ", 8) ||
	    o.attempts >= st->confirm_attempts) {
		snprintf(reason, sizeof reason, "confirm: %s%s",
			 result == SK_MTOP_SESSION_EXPIRED ? "session expired: the account needs a new login" :
			 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer",
			 o.attempts >= st->confirm_attempts ? " (after retries)" : "");
		od_confirm_end(p, c->oid, "failed", reason);
		return;
	}
	{
		char *oid = strdup(c->oid);
		int64_t ms = od_backoff(st, (int)o.attempts);

		sk_log(p, SK_LOG_WARN, "order %s: confirmation failed (%s), retry in %lld ms", c->oid,
		       *ret ? ret : "transport", (long long)ms);
		if (oid && od_fly_add(st, c->oid, OD_CONFIRM) &&
		    sk_timer_add(p, (uint64_t)ms, 0, od_on_confirm_timer, oid, free, NULL) == SK_OK)
			return;
		od_fly_del(st, c->oid, OD_CONFIRM);
	}
}

/* Calls consign.dummy for the order (once at a time). */
static void od_confirm(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	char data[160];
	od_call *c;
	int rc;

	if (od_fly_find(st, oid, OD_CONFIRM))
		return;
	{
		sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

		if (sk_db_exec(p, "UPDATE orders_order SET confirm_attempts = confirm_attempts + 1, updated_ms = ? "
			       "WHERE order_id = ?", v, 2, NULL, NULL) < 0)
			return;
	}
	if (!(c = od_call_new(oid, 0)) || !od_fly_add(st, oid, OD_CONFIRM)) {
		od_call_free(c);
		return;
	}
	snprintf(data, sizeof data, "{\"orderId\":\"%s\",\"tradeText\":\"\",\"picList\":[],\"newUnconsign\":true}", oid);
	if ((rc = sk_mtop(p, OD_API_CONSIGN, data, od_on_consign, c, od_call_free)) != SK_OK) {
		od_fly_del(st, oid, OD_CONFIRM);
		sk_log(p, SK_LOG_ERR, "order %s: cannot call the confirmation: %s", oid, sk_strerror(p, rc));
		return;
	}
	od_step(p, "confirm", oid);
}

/* ---- the delivery's state machine ------------------------------------------------------- */

/* Moves an order's delivery on from whatever is recorded: confirm first
 * (policy before), send the reserved units, settle the sending ones with the
 * outbox, and once no unit is open: delivered (confirm after) or failed. Safe
 * to call any number of times. */
static void od_proceed(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	size_t sent = 0, failed = 0, open = 0, cancelled = 0;
	od_units us;
	od_order o;

	if (od_order_get(p, oid, &o))
		return;
	if (!strcmp(o.delivery, "delivered")) {
		if (st->policy == OD_AFTER && !strcmp(o.confirm, "pending") && strcmp(o.state, "closed") &&
		    strcmp(o.state, "refunding"))
			od_confirm(p, oid);
		else if (!strcmp(o.confirm, "pending") && st->policy == OD_AFTER)
			od_confirm_end(p, oid, "skipped", "the order is closed or refunding");
		else {
			sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

			sk_db_exec(p, "UPDATE orders_unit SET state = 'done', updated_ms = ? WHERE order_id = ? AND "
				   "state = 'sent'", v, 2, NULL, NULL);
		}
		return;
	}
	if (strcmp(o.delivery, "delivering"))
		return;
	if (st->policy == OD_BEFORE && !strcmp(o.confirm, "pending")) {
		if (strcmp(o.state, "paid"))
			od_confirm_end(p, oid, "skipped", "the order is no longer paid");
		else
			od_confirm(p, oid);
		return;
	}
	if (od_units_get(p, oid, &us))
		return;
	st->depth++;
	for (size_t i = 0; i < us.n; i++) {
		od_unit *u = &us.u[i];

		if (!strcmp(u->state, "reserved")) {
			od_send_unit(p, &o, u);
		} else if (!strcmp(u->state, "sending")) {
			int state = 0;
			char *detail = NULL;

			if (sk_send_status(p, u->uuid, &state, &detail) == SK_OK && state)
				od_unit_result(p, u->tag, state == 1, detail ? detail : "");
			sk_free(p, detail);
		}
	}
	st->depth--;
	od_units_free(&us);
	/* Count again: the loop above may have settled units. */
	if (od_units_get(p, oid, &us) || od_order_get(p, oid, &o) || strcmp(o.delivery, "delivering"))
		return;
	for (size_t i = 0; i < us.n; i++) {
		const od_unit *u = &us.u[i];

		if (!strcmp(u->state, "sent") || !strcmp(u->state, "done"))
			sent++;
		else if (!strcmp(u->state, "failed"))
			failed++;
		else if (!strcmp(u->state, "cancelled"))
			cancelled++;
		else
			open++;
	}
	od_units_free(&us);
	if (open)
		return;
	if (failed || cancelled) {
		char first[400] = "", reason[512];
		sk_value v = SK_VTEXT(oid);

		sk_db_exec(p, "SELECT reason FROM orders_unit WHERE order_id = ? AND state IN ('failed', 'cancelled') "
			   "ORDER BY unit LIMIT 1", &v, 1, od_row_text, first);
		if (failed) {
			/* keep the unit's kind ("refused: ...") first: retries look at it */
			snprintf(reason, sizeof reason, "%s (%zu of %zu units not delivered)", first, failed,
				 sent + failed + cancelled);
			od_fail(p, oid, reason);
		} else {
			od_set_delivery(p, oid, "cancelled", first);
		}
		return;
	}
	{
		cJSON *j = cJSON_CreateObject();

		od_set_delivery(p, oid, "delivered", "");
		sk_log(p, SK_LOG_INFO, "order %s: delivered (%zu units)", oid, sent);
		cJSON_AddStringToObject(j, "order_id", oid);
		cJSON_AddNumberToObject(j, "units", (double)sent);
		od_publish(p, "orders.delivered", j);
	}
	od_proceed(p, oid);
}

/* ---- resume, retries, reload ------------------------------------------------------------ */

typedef struct {
	char (*ids)[64];
	size_t n, cap;
	int oom;
} od_ids;

static int od_row_id(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_ids *ids = ud;

	(void)p;
	if (n < 1)
		return 1;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		void *g = realloc(ids->ids, cap * sizeof *ids->ids);

		if (!g) {
			ids->oom = 1;
			return 1;
		}
		ids->ids = g;
		ids->cap = cap;
	}
	od_cp(ids->ids[ids->n++], sizeof ids->ids[0], &c[0]);
	return 0;
}

/* Order ids of a query without parameters (copied: acting on them runs more SQL). */
static int od_ids_get(sk_plugin *p, const char *sql, od_ids *ids)
{
	memset(ids, 0, sizeof *ids);
	if (sk_db_exec(p, sql, NULL, 0, od_row_id, ids) < 0 || ids->oom) {
		free(ids->ids);
		memset(ids, 0, sizeof *ids);
		return -1;
	}
	return 0;
}

/* After a restart: every order whose delivery or confirmation was under way
 * goes on from what the database says. */
static void od_on_resume(sk_plugin *p, uint64_t id, void *ud)
{
	od_ids ids;

	(void)id;
	(void)ud;
	if (!p->ud || od_ids_get(p, "SELECT order_id FROM orders_order WHERE delivery IN ('pending', 'delivering') "
			      "OR (delivery = 'delivered' AND confirm = 'pending') ORDER BY updated_ms", &ids))
		return;
	if (ids.n)
		sk_log(p, SK_LOG_INFO, "resuming %zu unfinished orders", ids.n);
	for (size_t i = 0; i < ids.n && p->ud; i++) {
		od_order o;

		if (od_order_get(p, ids.ids[i], &o))
			continue;
		if (!strcmp(o.delivery, "pending")) {
			if (!strcmp(o.state, "paid"))
				od_fetch(p, o.id, 1, 0, sk_mono_ms(p));
			else
				od_set_delivery(p, o.id, "cancelled", "cancelled: the order is no longer paid");
		} else {
			od_proceed(p, o.id);
		}
	}
	free(ids.ids);
}

/* Orders that failed for a reason the seller can fix locally (rules, stock)
 * are planned again; only_stock: just those waiting for stock, and only when
 * their card has enough free codes now. */
static void od_retry(sk_plugin *p, int only_stock)
{
	od_state *st = p->ud;
	od_ids ids;

	if (!st || !st->enabled ||
	    od_ids_get(p, only_stock ? "SELECT order_id FROM orders_order WHERE delivery = 'failed' AND state = 'paid' "
				       "AND reason LIKE 'out_of_stock:%'" :
				       "SELECT order_id FROM orders_order WHERE delivery = 'failed' AND state = 'paid' "
				       "AND (reason LIKE 'out_of_stock:%' OR reason LIKE 'no_rule:%' OR "
				       "reason LIKE 'ambiguous:%' OR reason LIKE 'quantity:%')", &ids))
		return;
	for (size_t i = 0; i < ids.n && p->ud; i++) {
		char reason[512];
		const od_card *c;
		od_order o;

		if (od_order_get(p, ids.ids[i], &o))
			continue;
		if (only_stock && (!(c = od_match(st, &o, reason, sizeof reason)) || c->type != OD_STOCK ||
				   od_free_codes(p, c->name) < o.quantity))
			continue;
		sk_log(p, SK_LOG_INFO, "order %s: trying again (%s)", o.id, o.reason);
		od_plan(p, o.id);
	}
	free(ids.ids);
}

/* Every retry_s: orders waiting for stock, and deliveries with a unit the
 * host could not queue (e.g. a full outbox) - od_proceed is idempotent. */
static void od_on_retry(sk_plugin *p, uint64_t id, void *ud)
{
	od_ids ids;

	(void)id;
	(void)ud;
	od_retry(p, 1);
	if (!p->ud || od_ids_get(p, "SELECT DISTINCT order_id FROM orders_unit WHERE state = 'reserved'", &ids))
		return;
	for (size_t i = 0; i < ids.n && p->ud; i++)
		od_proceed(p, ids.ids[i]);
	free(ids.ids);
}

/* "core.reload": new rules (a broken file changes nothing), then the orders
 * that failed on the rules or the stock are tried again. */
static int od_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	od_state *st = p->ud;
	od_rules *rs;

	(void)ud;
	if (!st || strcmp(e->topic, "core.reload") || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	if ((rs = od_load(p))) {
		od_rules_free(st->rules);
		st->rules = rs;
	}
	od_retry(p, 0);
	return SK_PASS;
}

/* ---- commands ------------------------------------------------------------------------------ */

static const char od_stock_usage[] =
	"usage: shopkeep stock import --config FILE --card NAME CODES_FILE\n"
	"       shopkeep stock list --config FILE\n"
	"\n"
	"import  adds the codes of CODES_FILE (one per line, - for stdin; surrounding\n"
	"        blanks are trimmed, blank lines and codes the card already has are\n"
	"        skipped) to the stock card NAME of the account's rules file, and prints\n"
	"        the counts. The running bot picks them up (orders waiting for stock\n"
	"        within retry_s).\n"
	"list    prints every card with its free, reserved and used codes.\n";

static const char od_orders_usage[] =
	"usage: shopkeep orders list --config FILE [--limit N]\n"
	"\n"
	"Prints the most recent orders (default 20): id, state, delivery, shipment\n"
	"confirmation, item, quantity, and the reason of a failure.\n";

static const char *const od_type_names[] = { "text", "stock", "image" };

typedef struct {
	int64_t n[3];
} od_counts;

static int od_row_counts(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_counts *k = ud;
	int64_t s;

	(void)p;
	if (n >= 2 && (s = od_int(&c[0])) >= 0 && s <= 2)
		k->n[s] = od_int(&c[1]);
	return 0;
}

static od_counts od_stock_counts(sk_plugin *p, const char *card)
{
	sk_value v = SK_VTEXT(card);
	od_counts k = { { 0, 0, 0 } };

	sk_db_exec(p, "SELECT state, count(*) FROM orders_stock WHERE card = ? GROUP BY state", &v, 1, od_row_counts, &k);
	return k;
}

/* What an import did. */
typedef struct {
	size_t added, dup, blank;
} od_imported;

/* The stock card name of rs that codes may be imported into, or NULL with
 * the reason in why (shared by `shopkeep stock import` and stock_import). */
static const od_card *od_import_card(sk_plugin *p, const od_rules *rs, const char *name, char *why, size_t n)
{
	const od_card *c = od_card_find(rs, name);

	if (!c)
		snprintf(why, n, "no card named \"%s\" in the rules file %s", name, sk_rules_path(p));
	else if (c->type != OD_STOCK)
		snprintf(why, n, "card \"%s\" is not a stock card (its type sends no codes)", name);
	return c && c->type == OD_STOCK ? c : NULL;
}

/* An import commits every OD_IMPORT_CHUNK codes: another writer (the
 * running bot's loop, when `shopkeep stock import` runs beside it) never
 * waits for a whole file, only for one chunk. The command then sleeps as
 * long as the chunk took (at least OD_IMPORT_PAUSE_MS, at most 200 ms), so
 * that a writer polling for the lock (SQLite's busy handler sleeps up to
 * 100 ms between tries) finds it free about half the time: with a fixed
 * 20 ms pause a writer under ASan once waited over a second. */
#define OD_IMPORT_CHUNK 2000
#define OD_IMPORT_PAUSE_MS 10

/* Adds the codes of fp, one per line, to the stock of card (checked with
 * od_import_card), OD_IMPORT_CHUNK codes a transaction, each begun at its
 * first code (a reader of a pipe that waits for more holds no lock); with
 * pause_ms (the command: OD_IMPORT_PAUSE_MS; on the loop 0) a pause after
 * each, as long as it took (see above).
 * Surrounding blanks are trimmed, blank lines and codes the card already has
 * are skipped and counted. The one import of `shopkeep stock import` and of
 * stock_import. Returns 0 with the counts in *k, or a negative sk_rc with the
 * reason in why: the chunks committed before it stay (their counts are in
 * *k; importing the file again skips them as duplicates). */
static int od_import(sk_plugin *p, const char *card, FILE *fp, int pause_ms, od_imported *k, char *why, size_t n)
{
	od_imported chunk = { 0, 0, 0 };
	size_t cap = 0, in_txn = 0;
	struct timespec t0 = { 0, 0 }, t1;
	char *line = NULL;
	ssize_t len;
	int rc = 0;

	memset(k, 0, sizeof *k);
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *s = line, *e = line + len;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		*e = '\0';
		if (s == e) {
			chunk.blank++;
			continue;
		}
		if (!in_txn) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if ((rc = sk_db_begin(p)) < 0)
				break;
		}
		in_txn++;
		{
			int64_t now = sk_now_ms(p);
			sk_value v[3] = { SK_VTEXT(card), SK_VTEXT(s), SK_VINT(now) };

			if ((rc = sk_db_exec(p, "INSERT INTO orders_stock (card, code, added_ms, updated_ms) VALUES (?1, ?2, "
					     "?3, ?3) ON CONFLICT (card, code) DO NOTHING", v, 3, NULL, NULL)) < 0)
				break;
			if (sk_db_changes(p) > 0)
				chunk.added++;
			else
				chunk.dup++;
		}
		if (in_txn == OD_IMPORT_CHUNK) {
			if ((rc = sk_db_commit(p)) < 0)
				break;
			in_txn = 0;
			k->added += chunk.added;
			k->dup += chunk.dup;
			k->blank += chunk.blank;
			memset(&chunk, 0, sizeof chunk);
			if (pause_ms) {
				int64_t took_ms;

				clock_gettime(CLOCK_MONOTONIC, &t1);
				took_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
				usleep((useconds_t)(took_ms < pause_ms ? pause_ms : took_ms > 200 ? 200 : took_ms) * 1000);
			}
		}
	}
	free(line);
	if (rc >= 0 && ferror(fp))
		rc = SK_ERR_IO;
	if (rc >= 0 && in_txn)
		rc = sk_db_commit(p);
	if (rc < 0) {
		if (in_txn)
			sk_db_rollback(p);
		if (k->added || k->dup)
			snprintf(why, n, "stopped after %zu codes (%zu added, %zu duplicates), the rest not imported: %s",
				 k->added + k->dup, k->added, k->dup, sk_strerror(p, rc));
		else
			snprintf(why, n, "nothing imported: %s", sk_strerror(p, rc));
		return rc;
	}
	k->added += chunk.added;
	k->dup += chunk.dup;
	k->blank += chunk.blank;
	return 0;
}

static int od_cmd_import(sk_plugin *p, const od_rules *rs, const char *name, const char *file)
{
	od_imported k;
	char why[512];
	FILE *fp;
	int rc;

	if (!od_import_card(p, rs, name, why, sizeof why)) {
		fprintf(stderr, "shopkeep stock import: %s\n", why);
		return 1;
	}
	if (!(fp = strcmp(file, "-") ? fopen(file, "r") : stdin)) {
		fprintf(stderr, "shopkeep stock import: %s: %m\n", file);
		return 1;
	}
	rc = od_import(p, name, fp, OD_IMPORT_PAUSE_MS, &k, why, sizeof why);
	if (fp != stdin)
		fclose(fp);
	if (rc < 0) {
		fprintf(stderr, "shopkeep stock import: %s\n", why);
		return 1;
	}
	printf("card %s: %zu codes added, %zu duplicates and %zu blank lines skipped; %lld free now\n", name, k.added,
	       k.dup, k.blank, (long long)od_stock_counts(p, name).n[0]);
	return 0;
}

static int od_row_name(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	const od_rules *rs = ud;

	(void)p;
	if (n > 0 && c[0].type == SK_TEXT && !od_card_find(rs, c[0].s))
		printf("%-20s %-6s %8s %8s %8s  (not in the rules file)\n", c[0].s, "?", "", "", "");
	return 0;
}

static int od_cmd_list(sk_plugin *p, const od_rules *rs)
{
	printf("%-20s %-6s %8s %8s %8s\n", "card", "type", "free", "reserved", "used");
	for (size_t i = 0; i < rs->ncards; i++) {
		const od_card *c = &rs->cards[i];
		od_counts k = od_stock_counts(p, c->name);

		if (c->type == OD_STOCK)
			printf("%-20s %-6s %8lld %8lld %8lld%s\n", c->name, od_type_names[c->type], (long long)k.n[0],
			       (long long)k.n[1], (long long)k.n[2], k.n[0] < c->low_stock ? "  LOW" : "");
		else
			printf("%-20s %-6s %8s %8s %8s\n", c->name, od_type_names[c->type], "-", "-", "-");
	}
	sk_db_exec(p, "SELECT DISTINCT card FROM orders_stock ORDER BY card", NULL, 0, od_row_name, (void *)rs);
	return 0;
}

static int od_row_print(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	char f[8][256];

	(void)p;
	(void)ud;
	if (n < 8)
		return 1;
	for (int i = 0; i < 8; i++)
		od_cp(f[i], sizeof f[i], &c[i]);
	printf("%-20s %-10s %-10s %-8s %-12s %4lld  %s\n", f[0], *f[1] ? f[1] : "-", f[2], f[3], *f[4] ? f[4] : "-",
	       (long long)od_int(&c[5]), *f[6] ? f[6] : f[7]);
	return 0;
}

static int od_cmd_orders(sk_plugin *p, int64_t limit)
{
	sk_value v = SK_VINT(limit);

	printf("%-20s %-10s %-10s %-8s %-12s %4s  %s\n", "order", "state", "delivery", "confirm", "item", "qty",
	       "reason");
	return sk_db_exec(p, "SELECT order_id, state, delivery, confirm, item_id, quantity, reason, confirm_reason "
			  "FROM orders_order ORDER BY updated_ms DESC LIMIT ?", &v, 1, od_row_print, NULL) < 0;
}

/* A usage error of `shopkeep stock|orders`: one line on stderr, then 2. */
static int od_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int od_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return 2;
}

/* shopkeep stock ... / shopkeep orders ...: --help anywhere prints the usage
 * on stdout (0); a usage error is one line on stderr naming what is wrong
 * (2). */
static int od_command(sk_plugin *p, int argc, char **argv)
{
	const char *cmd = argv[0], *card = NULL, *file = NULL, *sub = argc > 1 ? argv[1] : "";
	int stock = !strcmp(cmd, "stock");
	const char *usage = stock ? od_stock_usage : od_orders_usage, *subs = stock ? "import or list" : "list";
	const char *hint = stock ? "see shopkeep stock --help --config FILE" : "see shopkeep orders --help --config FILE";
	int64_t limit = 20;
	od_rules *rs;
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
	if (!*sub)
		return od_usage_error("shopkeep %s: which subcommand, %s? (%s)\n", cmd, subs, hint);
	if (*sub == '-')
		return od_usage_error("shopkeep %s: the subcommand (%s) comes before '%s' (%s)\n", cmd, subs, sub, hint);
	if (strcmp(sub, "list") && (!stock || strcmp(sub, "import")))
		return od_usage_error("shopkeep %s: unknown subcommand '%s': %s (%s)\n", cmd, sub, subs, hint);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (stock && !strcmp(sub, "import") && (!strcmp(a, "--card") || !strncmp(a, "--card=", 7))) {
			if (!a[6] && i + 1 >= argc)
				return od_usage_error("shopkeep stock import: --card needs a NAME (%s)\n", hint);
			card = a[6] ? a + 7 : argv[++i];
		} else if (!stock && (!strcmp(a, "--limit") || !strncmp(a, "--limit=", 8))) {
			const char *v = a[7] ? a + 8 : i + 1 < argc ? argv[++i] : "";
			char *end;

			limit = strtoll(v, &end, 10);
			if (!*v || *end || limit < 1 || limit > 100000)
				return od_usage_error("shopkeep orders list: --limit needs a whole number from 1 to 100000 "
						      "(%s)\n", hint);
		} else if (a[0] == '-' && a[1]) {
			return od_usage_error("shopkeep %s %s: unknown option '%s' (%s)\n", cmd, sub, a, hint);
		} else if (stock && !strcmp(sub, "import") && !file) {
			file = a;
		} else {
			return od_usage_error("shopkeep %s %s: unexpected argument '%s' (%s)\n", cmd, sub, a, hint);
		}
	}
	if (!stock)
		return od_cmd_orders(p, limit);
	if (!strcmp(sub, "import") && !card)
		return od_usage_error("shopkeep stock import: --card NAME is required: the stock card to add to (%s)\n",
				      hint);
	if (!strcmp(sub, "import") && !file)
		return od_usage_error("shopkeep stock import: which CODES_FILE? one code per line, - for stdin (%s)\n",
				      hint);
	if (!*sk_rules_path(p)) {
		fprintf(stderr, "shopkeep stock: the account has no rules file (config key \"rules\"): no cards\n");
		return 1;
	}
	if (!(rs = od_load(p))) {
		fprintf(stderr, "shopkeep stock: the rules file %s has errors (above)\n", sk_rules_path(p));
		return 1;
	}
	rc = !strcmp(sub, "import") ? od_cmd_import(p, rs, card, file) : od_cmd_list(p, rs);
	od_rules_free(rs);
	return rc;
}

/* ---- control commands (web/API.md) --------------------------------------------------------- */

#define OD_CTL_LIMIT_DEF 100
#define OD_CTL_LIMIT_MAX 1000

/* A column as a JSON string or number into o under name. */
static void od_json_text(cJSON *o, const char *name, const sk_value *v)
{
	cJSON_AddStringToObject(o, name, v->type == SK_TEXT && v->s ? v->s : "");
}

static void od_json_int(cJSON *o, const char *name, const sk_value *v)
{
	cJSON_AddNumberToObject(o, name, (double)od_int(v));
}

/* A row of orders_order (order_id, state, delivery, confirm, reason, item_id,
 * quantity, buyer_name, updated_ms, confirm_reason) appended to the array ud. */
static int od_row_listed(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	cJSON *o;

	(void)p;
	if (n < 10 || !(o = cJSON_CreateObject()))
		return 1;
	od_json_text(o, "order_id", &c[0]);
	od_json_text(o, "state", &c[1]);
	od_json_text(o, "delivery", &c[2]);
	od_json_text(o, "confirm", &c[3]);
	od_json_text(o, "reason", &c[4]);
	od_json_text(o, "item_id", &c[5]);
	od_json_int(o, "quantity", &c[6]);
	od_json_text(o, "buyer_name", &c[7]);
	od_json_int(o, "updated_ms", &c[8]);
	od_json_text(o, "confirm_reason", &c[9]);
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* A row of orders_unit (unit, state, reason, message_id) appended to the array ud. */
static int od_row_listed_unit(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	cJSON *o;

	(void)p;
	if (n < 4 || !(o = cJSON_CreateObject()))
		return 1;
	od_json_int(o, "unit", &c[0]);
	od_json_text(o, "state", &c[1]);
	od_json_text(o, "reason", &c[2]);
	od_json_text(o, "message_id", &c[3]);
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* orders_list {"limit"}: the orders, most recently changed first (limit
 * default 100, at most 1000), each with its units. Answers {"orders":
 * [{"order_id", "state", "delivery", "confirm", "reason", "item_id",
 * "quantity", "buyer_name", "updated_ms", "confirm_reason" (why the
 * shipment confirmation failed, "" if it did not), "units": [{"unit",
 * "state", "reason", "message_id"}]}]}. */
static int od_ctl_orders(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *arr, *e;
	int64_t limit;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	limit = skctl_count(p, command, d, "limit", OD_CTL_LIMIT_DEF, OD_CTL_LIMIT_MAX);
	cJSON_Delete(d);
	if (limit < 0)
		return SK_ERR_INVAL;
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "orders"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	rc = sk_db_exec(p, "SELECT order_id, state, delivery, confirm, reason, item_id, quantity, buyer_name, updated_ms, "
			"confirm_reason FROM orders_order ORDER BY updated_ms DESC, rowid DESC LIMIT ?", &SK_VINT(limit), 1,
			od_row_listed, arr);
	/* The units after the orders: no statement runs inside another's rows. */
	cJSON_ArrayForEach(e, arr) {
		cJSON *units = cJSON_AddArrayToObject(e, "units");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "order_id");

		if (rc < 0)
			break;
		if (!units) {
			rc = SK_ERR_NOMEM;
			break;
		}
		rc = sk_db_exec(p, "SELECT unit, state, reason, message_id FROM orders_unit WHERE order_id = ? ORDER BY unit",
				&SK_VTEXT(id->valuestring), 1, od_row_listed_unit, units);
	}
	if (rc < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

/* stock_list {}: every card of the rules in force with its codes, the
 * numbers of `shopkeep stock list`: free, reserved, used (null for a card
 * that is not a stock card) and the card's low_stock threshold. Answers
 * {"cards": [{"name", "type", "free", "reserved", "used", "low_stock"}]}. */
static int od_ctl_stock(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	cJSON *d, *o, *arr;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "cards"))) {
		cJSON_Delete(o);
		return SK_ERR_NOMEM;
	}
	for (size_t i = 0; i < st->rules->ncards; i++) {
		const od_card *c = &st->rules->cards[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "name", c->name);
		cJSON_AddStringToObject(e, "type", od_type_names[c->type]);
		if (c->type == OD_STOCK) {
			od_counts k = od_stock_counts(p, c->name);

			cJSON_AddNumberToObject(e, "free", (double)k.n[0]);
			cJSON_AddNumberToObject(e, "reserved", (double)k.n[1]);
			cJSON_AddNumberToObject(e, "used", (double)k.n[2]);
		} else {
			cJSON_AddNullToObject(e, "free");
			cJSON_AddNullToObject(e, "reserved");
			cJSON_AddNullToObject(e, "used");
		}
		cJSON_AddNumberToObject(e, "low_stock", (double)c->low_stock);
		cJSON_AddItemToArray(arr, e);
	}
	return skctl_answer(p, o);
}

/* stock_import {"card", "codes"}: adds the codes (one a line) to a stock
 * card of the rules in force as `shopkeep stock import` does, then at once
 * delivers the orders that waited for them. Answers {"card", "added",
 * "duplicates", "blank", "free"}, free counted after those orders took
 * their codes. */
static int od_ctl_import(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	const cJSON *card, *codes;
	od_imported k;
	char why[512];
	cJSON *d, *o;
	FILE *fp;
	int rc;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	card = cJSON_GetObjectItemCaseSensitive(d, "card");
	codes = cJSON_GetObjectItemCaseSensitive(d, "codes");
	if (!cJSON_IsString(card) || !*card->valuestring) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: card must be the name of a stock card", command);
	} else if (!od_import_card(p, st->rules, card->valuestring, why, sizeof why)) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: %s", command, why);
	} else if (!cJSON_IsString(codes)) {
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: codes must be a string, one code a line", command);
	} else if (!(fp = fmemopen(codes->valuestring, strlen(codes->valuestring), "r"))) {
		rc = skctl_fail(p, SK_ERR_NOMEM, "%s: %s", command, sk_strerror(p, SK_ERR_NOMEM));
	} else {
		rc = od_import(p, card->valuestring, fp, 0, &k, why, sizeof why);
		fclose(fp);
		if (rc < 0)
			rc = skctl_fail(p, rc, "%s: %s", command, why);
	}
	if (rc < 0) {
		cJSON_Delete(d);
		return rc;
	}
	sk_log(p, SK_LOG_INFO, "card %s: %zu codes imported, %zu duplicates and %zu blank lines skipped (control command)",
	       card->valuestring, k.added, k.dup, k.blank);
	/* What the retry timer would find within retry_s, now. */
	if (k.added)
		od_retry(p, 1);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "card", card->valuestring);
	cJSON_AddNumberToObject(o, "added", (double)k.added);
	cJSON_AddNumberToObject(o, "duplicates", (double)k.dup);
	cJSON_AddNumberToObject(o, "blank", (double)k.blank);
	cJSON_AddNumberToObject(o, "free", (double)od_stock_counts(p, card->valuestring).n[0]);
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

static const struct {
	const char *name, *help;
	sk_control_fn fn;
} od_controls[] = {
	{ "orders_list", "{limit}: recent orders with their delivery and units, newest first", od_ctl_orders },
	{ "stock_list", "every card with its free, reserved and used codes", od_ctl_stock },
	{ "stock_import", "{card, codes}: adds codes (one a line) to a stock card", od_ctl_import },
};

/* ---- init ------------------------------------------------------------------------------------ */

static void od_state_free(od_state *st)
{
	if (!st)
		return;
	while (st->fly) {
		od_fly *f = st->fly;

		st->fly = f->next;
		free(f->order);
		free(f);
	}
	od_rules_free(st->rules);
	free(st->kill_at);
	free(st);
}

static void od_fini(sk_plugin *p)
{
	od_state_free(p->ud);
	p->ud = NULL;
}

/* Reads and checks the config section. */
static int od_config(sk_plugin *p, od_state *st)
{
	const char *confirm = sk_config_str(p, "confirm", "after"), *kill = sk_config_str(p, "debug_kill_at", "");
	struct { const char *key; int64_t *v, def, lo, hi; } ints[] = {
		{ "confirm_attempts", &st->confirm_attempts, 5, 1, 100 },
		{ "detail_attempts", &st->detail_attempts, 4, 1, 100 },
		{ "retry_base_ms", &st->retry_base_ms, 1000, 1, 3600000 },
		{ "retry_s", &st->retry_s, 60, 0, 86400 },
		{ "max_quantity", &st->max_quantity, 50, 1, 10000 },
		{ "paid_wait_s", &st->paid_wait_s, 300, 0, 3600 },
	};

	if (!strcmp(confirm, "after"))
		st->policy = OD_AFTER;
	else if (!strcmp(confirm, "before"))
		st->policy = OD_BEFORE;
	else if (!strcmp(confirm, "never"))
		st->policy = OD_NEVER;
	else {
		sk_log(p, SK_LOG_ERR, "orders.confirm must be \"after\", \"before\" or \"never\", not \"%s\"", confirm);
		return SK_ERR_CONFIG;
	}
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		*ints[i].v = sk_config_int(p, ints[i].key, ints[i].def);
		if (*ints[i].v < ints[i].lo || *ints[i].v > ints[i].hi) {
			sk_log(p, SK_LOG_ERR, "orders.%s must be %lld to %lld, not %lld", ints[i].key, (long long)ints[i].lo,
			       (long long)ints[i].hi, (long long)*ints[i].v);
			return SK_ERR_CONFIG;
		}
	}
	st->enabled = sk_config_bool(p, "enabled", 1);
	if (*kill && !(st->kill_at = strdup(kill)))
		return SK_ERR_NOMEM;
	return SK_OK;
}

static int od_init(sk_plugin *p)
{
	sk_filter reload = { .topic = "core.reload" };
	od_state *st = calloc(1, sizeof *st);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if ((rc = od_config(p, st)) < 0)
		goto fail;
	if (!(st->rules = od_load(p)) && !(st->rules = calloc(1, sizeof *st->rules))) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_TRADE) | SK_MASK(SK_EV_MSG_UPDATE), NULL, 0, od_on_trade, NULL, NULL,
			       NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, od_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, od_on_send_result, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, 0, 0, od_on_resume, NULL, NULL, NULL)) < 0 ||
	    (st->retry_s && (rc = sk_timer_add(p, (uint64_t)st->retry_s * 1000, (uint64_t)st->retry_s * 1000,
					       od_on_retry, NULL, NULL, NULL)) < 0))
		goto fail;
	/* Without its control commands orders still delivers: a refusal is logged. */
	for (size_t i = 0; i < sizeof od_controls / sizeof od_controls[0]; i++)
		if ((rc = sk_control_add(p, od_controls[i].name, od_controls[i].help, od_controls[i].fn, NULL, NULL)) < 0)
			sk_log(p, SK_LOG_WARN, "control command %s not available: %s", od_controls[i].name,
			       sk_strerror(p, rc));
	return SK_OK;
fail:
	od_state_free(st);
	p->ud = NULL;
	return rc;
}

static const char *const od_commands[] = { "stock", "orders", NULL };

SK_PLUGIN(.name = "orders", .version = "1.0",
	  .description = "Order states from trade cards; exactly-once delivery of card codes, texts and images",
	  .init = od_init, .fini = od_fini, .config_keys = od_keys, .migrations = od_migrations,
	  .commands = od_commands, .command = od_command, .rules_check = od_rules_check);
