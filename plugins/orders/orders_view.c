/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_view.c - an order as the page and `shopkeep orders
 * show` see it: the orders_order fields, its units with their stock codes
 * masked ("AB****YZ"), its buyer notices (table orders_notice, read only
 * when it exists), and its timeline (trade cards, unit sends, the delivery
 * and shipment, the seller's actions and reveals, notices, oldest first);
 * and the control command orders_list. Codes never appear here in full:
 * order_reveal and stock_reveal (orders_action.c, orders_stock.c) are the
 * only ways to a code, and both are recorded.
 */

#include "orders_int.h"

#define OD_LIST_DEF 100
#define OD_LIST_MAX 1000

/* ---- masking ------------------------------------------------------------------------------ */

/* The number of UTF-8 characters of s. */
static size_t od_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The byte offset of character i of s (its length when i is past the end). */
static size_t od_char_at(const char *s, size_t i)
{
	size_t b = 0;

	for (size_t k = 0; s[b]; b++)
		if (((unsigned char)s[b] & 0xC0) != 0x80 && k++ == i)
			return b;
	return b;
}

/* The masked form of a stock code into out (n bytes): its first 2 and last
 * 2 characters (1 and 1 for codes of 5 to 7 characters), the rest one '*'
 * each; a code of 4 characters or fewer is all stars. */
void orders_mask(const char *code, char *out, size_t n)
{
	size_t len = od_chars(code), keep = len >= 8 ? 2 : len >= 5 ? 1 : 0, o = 0;
	size_t head = od_char_at(code, keep), tail = od_char_at(code, len - keep);

	if (!n)
		return;
	for (size_t i = 0; i < head && o + 1 < n; i++)
		out[o++] = code[i];
	for (size_t i = keep; i < len - keep && o + 1 < n; i++)
		out[o++] = '*';
	for (size_t i = tail; code[i] && o + 1 < n; i++)
		out[o++] = code[i];
	out[o] = '\0';
}

/* content with every occurrence of code (non-empty) masked, malloc'd; NULL
 * without memory. */
static char *od_mask_in(const char *content, const char *code)
{
	size_t cl = strlen(code), n = strlen(content) + 1;
	char m[512], *out, *o;
	const char *s;

	if (!cl || cl >= sizeof m)
		return strdup(content);
	orders_mask(code, m, sizeof m);
	/* a mask is never longer than its code: the copy fits in n */
	if (!(out = malloc(n)))
		return NULL;
	for (s = content, o = out; *s;) {
		if (!strncmp(s, code, cl)) {
			o += sprintf(o, "%s", m);
			s += cl;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* ---- the order as JSON ----------------------------------------------------------------------- */

/* Column v as a JSON string (od_jtext) or number (od_jint) of o under name. */
static void od_jtext(cJSON *o, const char *name, const sk_value *v)
{
	cJSON_AddStringToObject(o, name, v->type == SK_TEXT && v->s ? v->s : "");
}

static void od_jint(cJSON *o, const char *name, const sk_value *v)
{
	cJSON_AddNumberToObject(o, name, (double)orders_int(v));
}

#define OD_LIST_COLS "order_id, state, delivery, confirm, reason, item_id, quantity, buyer_name, updated_ms, " \
	"confirm_reason, spec, amount, buyer_id, chat_id, created_ms, source, card"

/* A row of OD_LIST_COLS into the object ud. */
static int od_row_order_json(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	static const char *const names[] = { "order_id", "state", "delivery", "confirm", "reason", "item_id", "quantity",
		"buyer_name", "updated_ms", "confirm_reason", "spec", "amount", "buyer_id", "chat_id", "created_ms",
		"source", "card" };

	(void)p;
	if (n < 17)
		return 1;
	for (int i = 0; i < 17; i++) {
		if (i == 6 || i == 8 || i == 14)
			od_jint(ud, names[i], &c[i]);
		else
			od_jtext(ud, names[i], &c[i]);
	}
	return 1;
}

/* A unit row (unit, state, reason, message_id, card, kind, content, sent_ms,
 * manual, code) appended to the array ud as the page shows it. */
static int od_row_unit_json(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	const char *content = c[6].type == SK_TEXT && c[6].s ? c[6].s : "";
	int stock = n >= 10 && c[9].type == SK_TEXT && c[9].s && *c[9].s;
	char *masked;
	cJSON *o;

	(void)p;
	if (n < 10 || !(o = cJSON_CreateObject()))
		return 1;
	od_jint(o, "unit", &c[0]);
	od_jtext(o, "state", &c[1]);
	od_jtext(o, "reason", &c[2]);
	od_jtext(o, "message_id", &c[3]);
	od_jtext(o, "card", &c[4]);
	cJSON_AddStringToObject(o, "kind", orders_int(&c[8]) ? "manual" : stock ? "stock" :
				c[5].type == SK_TEXT && c[5].s ? c[5].s : "text");
	masked = stock ? od_mask_in(content, c[9].s) : strdup(content);
	cJSON_AddStringToObject(o, "masked", masked ? masked : "");
	free(masked);
	od_jint(o, "sent_ms", &c[7]);
	cJSON_AddBoolToObject(o, "manual", orders_int(&c[8]) != 0);
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* Whether the database has table name (a table another part may add:
 * orders_notice comes with the buyer notices). */
static int od_has_table(sk_plugin *p, const char *name)
{
	char found[400] = "";
	sk_value v = SK_VTEXT(name);

	sk_db_exec(p, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", &v, 1, orders_row_text, found);
	return *found != '\0';
}

/* A notice row (kind, ms) appended to the array ud. */
static int od_row_notice_json(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	cJSON *o;

	(void)p;
	if (n < 2 || !(o = cJSON_CreateObject()))
		return 1;
	od_jtext(o, "kind", &c[0]);
	od_jint(o, "ms", &c[1]);
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* Order oid as the page lists it: the orders_order fields, "units" (codes
 * masked) and "notices". Returns it, or NULL when there is no such order
 * (*rc SK_ERR_NOTFOUND) or on a failure (*rc < 0). */
cJSON *orders_order_json(sk_plugin *p, const char *oid, int *rc)
{
	sk_value v = SK_VTEXT(oid);
	cJSON *o = cJSON_CreateObject(), *units, *notices;

	if (!o) {
		*rc = SK_ERR_NOMEM;
		return NULL;
	}
	if ((*rc = sk_db_exec(p, "SELECT " OD_LIST_COLS " FROM orders_order WHERE order_id = ?", &v, 1,
			      od_row_order_json, o)) < 0 || !cJSON_GetArraySize(o)) {
		*rc = *rc < 0 ? *rc : SK_ERR_NOTFOUND;
		cJSON_Delete(o);
		return NULL;
	}
	if (!(units = cJSON_AddArrayToObject(o, "units")) || !(notices = cJSON_AddArrayToObject(o, "notices")) ||
	    (*rc = sk_db_exec(p, "SELECT u.unit, u.state, u.reason, u.message_id, u.card, u.kind, u.content, u.sent_ms, "
			      "u.manual, s.code FROM orders_unit u LEFT JOIN orders_stock s ON s.id = u.code_id "
			      "WHERE u.order_id = ? ORDER BY u.unit", &v, 1, od_row_unit_json, units)) < 0 ||
	    (od_has_table(p, "orders_notice") &&
	     (*rc = sk_db_exec(p, "SELECT kind, ms FROM orders_notice WHERE order_id = ? ORDER BY ms", &v, 1,
			       od_row_notice_json, notices)) < 0)) {
		*rc = *rc < 0 ? *rc : SK_ERR_NOMEM;
		cJSON_Delete(o);
		return NULL;
	}
	*rc = SK_OK;
	return o;
}

/* ---- the timeline ------------------------------------------------------------------------------ */

typedef struct {
	int64_t ms;
	int seq;
	char kind[12];
	char *text;
} od_event;

typedef struct {
	od_event *e;
	size_t n, cap;
	int oom;
} od_events;

/* Appends an event (text formatted) to es. */
static void od_ev_add(od_events *es, int64_t ms, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void od_ev_add(od_events *es, int64_t ms, const char *kind, const char *fmt, ...)
{
	va_list ap;
	char *t = NULL;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 16;
		od_event *g = realloc(es->e, cap * sizeof *g);

		if (!g) {
			es->oom = 1;
			return;
		}
		es->e = g;
		es->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	if (!t) {
		es->oom = 1;
		return;
	}
	es->e[es->n].ms = ms;
	es->e[es->n].seq = (int)es->n;
	snprintf(es->e[es->n].kind, sizeof es->e[es->n].kind, "%s", kind);
	es->e[es->n++].text = t;
}

/* Column v's text, "" when it is not text. */
static const char *od_s(const sk_value *v)
{
	return v->type == SK_TEXT && v->s ? v->s : "";
}

/* orders_transition (ms, from_state, to_state, trigger, applied, note). */
static int od_row_ev_state(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n < 6)
		return 1;
	if (orders_int(&c[4]))
		od_ev_add(ud, orders_int(&c[0]), "state", "%s -> %s (%s card)", *od_s(&c[1]) ? od_s(&c[1]) : "(new)",
			  od_s(&c[2]), od_s(&c[3]));
	else
		od_ev_add(ud, orders_int(&c[0]), "state", "%s card: %s", od_s(&c[3]), *od_s(&c[5]) ? od_s(&c[5]) :
			  "nothing to change");
	return 0;
}

/* orders_unit (unit, state, reason, message_id, sent_ms, updated_ms, manual, card). */
static int od_row_ev_unit(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	char card[160] = "";
	long long u;

	(void)p;
	if (n < 8)
		return 1;
	u = (long long)orders_int(&c[0]);
	if (*od_s(&c[7]))
		snprintf(card, sizeof card, " (card %s)", od_s(&c[7]));
	if (orders_int(&c[4]))
		od_ev_add(ud, orders_int(&c[4]), "unit", "unit %lld sent%s%s (message %s)", u,
			  orders_int(&c[6]) ? " by hand" : "", card, od_s(&c[3]));
	else if (!strcmp(od_s(&c[1]), "failed") || !strcmp(od_s(&c[1]), "cancelled"))
		od_ev_add(ud, orders_int(&c[5]), "unit", "unit %lld %s: %s", u, od_s(&c[1]), od_s(&c[2]));
	else
		od_ev_add(ud, orders_int(&c[5]), "unit", "unit %lld %s%s", u, od_s(&c[1]), card);
	return 0;
}

/* orders_action (ms, action, actor, unit, state, detail, text). */
static int od_row_ev_action(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	const char *a = od_s(&c[1]), *state = od_s(&c[4]), *detail = od_s(&c[5]);
	char unit[32] = "", result[300] = "";

	(void)p;
	if (n < 7)
		return 1;
	if (orders_int(&c[3]))
		snprintf(unit, sizeof unit, " unit %lld", (long long)orders_int(&c[3]));
	if (!strcmp(state, "sent"))
		snprintf(result, sizeof result, ": sent (message %s)", detail);
	else if (!strcmp(state, "failed"))
		snprintf(result, sizeof result, ": not sent (%s)", detail);
	else if (!strcmp(state, "queued") || !strcmp(state, "sending"))
		snprintf(result, sizeof result, ": sending");
	else if (*detail)
		snprintf(result, sizeof result, ": %s", detail);
	if (!strcmp(a, "reveal"))
		od_ev_add(ud, orders_int(&c[0]), "reveal", "%s revealed (%s)", *unit ? unit + 1 : "content", od_s(&c[2]));
	else
		od_ev_add(ud, orders_int(&c[0]), "action", "%s%s (%s)%s", a, unit, od_s(&c[2]), result);
	return 0;
}

/* orders_notice (kind, ms). */
static int od_row_ev_notice(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 2)
		od_ev_add(ud, orders_int(&c[1]), "notice", "buyer notice %s sent", od_s(&c[0]));
	return 0;
}

/* Timeline order: by ms, then the order the events were read in (qsort is
 * not stable). */
static int od_ev_cmp(const void *a, const void *b)
{
	const od_event *x = a, *y = b;

	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	return x->seq - y->seq;
}

/* The timeline of order o: its state changes, its units, the delivery and
 * shipment as they stand, the seller's actions and reveals, and the buyer
 * notices, oldest first. Returns the array, or NULL (*rc < 0). */
static cJSON *od_timeline(sk_plugin *p, const od_order *o, int64_t updated_ms, const char *confirm_reason, int *rc)
{
	sk_value v = SK_VTEXT(o->id);
	od_events es = { 0 };
	cJSON *arr = NULL;

	*rc = sk_db_exec(p, "SELECT ms, from_state, to_state, trigger, applied, note FROM orders_transition "
			 "WHERE order_id = ? ORDER BY id", &v, 1, od_row_ev_state, &es);
	if (*rc >= 0)
		*rc = sk_db_exec(p, "SELECT unit, state, reason, message_id, sent_ms, updated_ms, manual, card "
				 "FROM orders_unit WHERE order_id = ? ORDER BY unit", &v, 1, od_row_ev_unit, &es);
	if (*rc >= 0 && o->delivery != OD_D_NONE)
		od_ev_add(&es, updated_ms, "delivery", "delivery %s%s%s", orders_dstate_name(o->delivery),
			  *o->reason ? ": " : "", o->reason);
	if (*rc >= 0 && (o->confirm == OD_C_DONE || o->confirm == OD_C_FAILED))
		od_ev_add(&es, updated_ms, "delivery", "shipment %s%s%s", o->confirm == OD_C_DONE ? "confirmed" : "not confirmed",
			  *confirm_reason ? ": " : "", confirm_reason);
	if (*rc >= 0)
		*rc = sk_db_exec(p, "SELECT ms, action, actor, unit, state, detail, text FROM orders_action "
				 "WHERE order_id = ? ORDER BY id", &v, 1, od_row_ev_action, &es);
	if (*rc >= 0 && od_has_table(p, "orders_notice"))
		*rc = sk_db_exec(p, "SELECT kind, ms FROM orders_notice WHERE order_id = ? ORDER BY ms", &v, 1,
				 od_row_ev_notice, &es);
	if (*rc >= 0 && es.oom)
		*rc = SK_ERR_NOMEM;
	if (*rc >= 0) {
		qsort(es.e, es.n, sizeof *es.e, od_ev_cmp);
		arr = cJSON_CreateArray();
		for (size_t i = 0; arr && i < es.n; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddNumberToObject(e, "ms", (double)es.e[i].ms);
			cJSON_AddStringToObject(e, "kind", es.e[i].kind);
			cJSON_AddStringToObject(e, "text", es.e[i].text);
			cJSON_AddItemToArray(arr, e);
		}
		if (!arr)
			*rc = SK_ERR_NOMEM;
	}
	for (size_t i = 0; i < es.n; i++)
		free(es.e[i].text);
	free(es.e);
	return arr;
}

/* The timeline of order oid (od_timeline) for `shopkeep orders show`:
 * the array, or NULL (*rc SK_ERR_NOTFOUND or another error). */
cJSON *orders_timeline_json(sk_plugin *p, const char *oid, int *rc)
{
	cJSON *o = orders_order_json(p, oid, rc), *tl = NULL;
	od_order od;

	if (o && !orders_order_get(p, oid, &od))
		tl = od_timeline(p, &od, (int64_t)cJSON_GetObjectItemCaseSensitive(o, "updated_ms")->valuedouble,
				 cJSON_GetObjectItemCaseSensitive(o, "confirm_reason")->valuestring, rc);
	cJSON_Delete(o);
	return tl;
}

/* orders_list {limit, filter}: the orders, most recently changed first, as
 * od_order_json gives them; filter "attention": only those a seller should
 * look at (delivery failed, shipment not confirmed, or waiting). */
static int od_ctl_list(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_ids ids = { 0 };
	const cJSON *f;
	cJSON *d, *o, *arr;
	int64_t limit;
	int rc, attention = 0;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	limit = skctl_count(p, command, d, "limit", OD_LIST_DEF, OD_LIST_MAX);
	f = cJSON_GetObjectItemCaseSensitive(d, "filter");
	if (limit >= 0 && f && !cJSON_IsNull(f)) {
		if (cJSON_IsString(f) && !strcmp(f->valuestring, "attention")) {
			attention = 1;
		} else if (!cJSON_IsString(f) || strcmp(f->valuestring, "all")) {
			skctl_fail(p, SK_ERR_INVAL, "%s: filter must be \"all\" or \"attention\"", command);
			limit = -1;
		}
	}
	cJSON_Delete(d);
	if (limit < 0)
		return SK_ERR_INVAL;
	rc = orders_ids_get(p, attention ?
			"SELECT order_id FROM orders_order WHERE delivery = 'failed' OR confirm = 'failed' OR "
			"reason LIKE 'waiting:%' ORDER BY updated_ms DESC, rowid DESC LIMIT ?" :
			"SELECT order_id FROM orders_order ORDER BY updated_ms DESC, rowid DESC LIMIT ?", &SK_VINT(limit), 1,
			&ids);
	o = cJSON_CreateObject();
	if (!(arr = cJSON_AddArrayToObject(o, "orders")))
		rc = SK_ERR_NOMEM;
	for (size_t i = 0; rc >= 0 && i < ids.n; i++) {
		cJSON *e = orders_order_json(p, ids.ids[i], &rc);

		if (e)
			cJSON_AddItemToArray(arr, e);
		else if (rc == SK_ERR_NOTFOUND)
			rc = SK_OK;
	}
	free(ids.ids);
	if (rc < 0) {
		cJSON_Delete(o);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	return skctl_answer(p, o);
}

static const skctl_row od_view_controls[] = {
	{ "orders_list", "{limit, filter}: recent orders with units (codes masked) and notices, newest first", od_ctl_list },
};

/* Registers orders_list (a refused name is logged and left out). */
void orders_view_controls_add(sk_plugin *p)
{
	skctl_add_all(p, od_view_controls, sizeof od_view_controls / sizeof od_view_controls[0]);
}
