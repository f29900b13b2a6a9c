/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_stats.c - what the page's dashboard and its chat
 * view ask of the orders plugin:
 *
 *   orders_stats {days: 7 (1..31)} -> {days: [{day, paid, delivered, failed,
 *       revenue}], low_stock: [{card, free, low_stock}]}
 *     One row per Beijing calendar day (UTC+8, "YYYY-MM-DD"), oldest first,
 *     today last, also when 0. paid: orders that became paid that day (the
 *     first applied transition to paid in orders_transition, from a card or
 *     the sold-orders pull); revenue: the sum of those orders' amounts, in
 *     yuan with two decimals ("0.00"; an order without an amount adds 0);
 *     delivered: orders delivered, counted on the day their last unit went
 *     out (sent_ms; updated_ms for an order without one); failed: orders
 *     whose delivery failed, on the day it was marked. low_stock: the stock
 *     cards of the rules in force whose free codes are at or below their
 *     low_stock threshold.
 *
 *   orders_sends {sends: [{uuid, tag}]} -> {labels: {"<uuid>": {order_id,
 *       unit, text}}}
 *     A short label for each of orders' own sends, from its tag alone:
 *     "order:<order>:<unit>:<attempt>" a delivery, "order:<order>:<unit>:
 *     resend:<n>" a resend, "order:<order>:deliver:<id>" a delivery by hand,
 *     "<order>:notice:<kind>[:image]" a buyer notice. Another tag gets no
 *     label (left out). At most 500 sends.
 */

#include "orders_int.h"

#include <time.h>

#define OD_DAY_MS 86400000LL
#define OD_BJ_MS 28800000LL      /* UTC+8 */
#define OD_SENDS_MAX 500

/* The Beijing day number of ms (days since 1970-01-01 in UTC+8). */
static int64_t od_bj_day(int64_t ms)
{
	return (ms + OD_BJ_MS) / OD_DAY_MS;
}

/* "YYYY-MM-DD" of Beijing day d into out. */
static void od_day_str(int64_t d, char out[16])
{
	time_t t = (time_t)(d * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 16, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Yuan text ("12.5", "12.50", "12") as fen; 0 when it is not a number. */
static int64_t od_fen(const char *s)
{
	int64_t y = 0, f = 0;
	int neg = 0, nd = 0;

	if (!s)
		return 0;
	if (*s == '-')
		neg = 1, s++;
	if (*s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9' && y < 100000000000LL)
		y = y * 10 + (*s++ - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, nd++)
			if (nd < 2)
				f = f * 10 + (*s - '0');
	if (*s)
		return 0;
	if (nd == 1)
		f *= 10;
	return (neg ? -1 : 1) * (y * 100 + f);
}

/* A row callback: the first column's integer into *(int64_t *)ud. */
static int od_row_count(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n >= 1 && c[0].type == SK_INT)
		*(int64_t *)ud = c[0].i;
	return 1;
}

/* One day's counters. */
typedef struct {
	int64_t paid, delivered, failed, fen;
} od_daystat;

typedef struct {
	od_daystat *d;
	int64_t first, n;            /* Beijing day of d[0], days */
	int what;                    /* 0 paid (ms, amount), 1 delivered (ms), 2 failed (ms) */
} od_stats_acc;

/* Rows (ms[, amount]) into the day they fall on. */
static int od_row_stat(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_stats_acc *a = ud;
	int64_t i;

	(void)p;
	if (n < 1 || c[0].type != SK_INT)
		return 0;
	i = od_bj_day(c[0].i) - a->first;
	if (i < 0 || i >= a->n)
		return 0;
	if (a->what == 0) {
		a->d[i].paid++;
		a->d[i].fen += n >= 2 && c[1].type == SK_TEXT ? od_fen(c[1].s) : 0;
	} else if (a->what == 1) {
		a->d[i].delivered++;
	} else {
		a->d[i].failed++;
	}
	return 0;
}

/* orders_stats {days}: see the top of the file. */
static int od_ctl_stats(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	int64_t days, today, since;
	od_stats_acc a;
	cJSON *d, *o, *arr, *low;
	int rc = 0;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	days = skctl_count(p, command, d, "days", 7, 31);
	cJSON_Delete(d);
	if (days < 0)
		return SK_ERR_INVAL;
	today = od_bj_day(sk_now_ms(p));
	a.first = today - days + 1;
	a.n = days;
	since = a.first * OD_DAY_MS - OD_BJ_MS;
	if (!(a.d = calloc((size_t)days, sizeof *a.d)))
		return skctl_fail(p, SK_ERR_NOMEM, "%s: out of memory", command);
	{
		sk_value v = SK_VINT(since);

		a.what = 0;
		rc = sk_db_exec(p, "SELECT t.ms, o.amount FROM (SELECT order_id, min(ms) AS ms FROM orders_transition "
				"WHERE to_state = 'paid' AND applied = 1 GROUP BY order_id) t LEFT JOIN orders_order o "
				"ON o.order_id = t.order_id WHERE t.ms >= ?", &v, 1, od_row_stat, &a);
		a.what = 1;
		if (rc >= 0)
			rc = sk_db_exec(p, "SELECT coalesce((SELECT max(u.sent_ms) FROM orders_unit u WHERE u.order_id = "
					"o.order_id AND u.sent_ms > 0), o.updated_ms) FROM orders_order o WHERE o.delivery = "
					"'delivered' AND o.updated_ms >= ?", &v, 1, od_row_stat, &a);
		a.what = 2;
		if (rc >= 0)
			rc = sk_db_exec(p, "SELECT updated_ms FROM orders_order WHERE delivery = 'failed' AND updated_ms >= ?",
					&v, 1, od_row_stat, &a);
	}
	if (rc < 0) {
		free(a.d);
		return skctl_fail(p, rc, "%s: database error (%s)", command, sk_strerror(p, rc));
	}
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "days");
	for (int64_t i = 0; i < days; i++) {
		cJSON *e = cJSON_CreateObject();
		char day[16], rev[40];
		int64_t fen = a.d[i].fen;

		od_day_str(a.first + i, day);
		snprintf(rev, sizeof rev, "%s%lld.%02lld", fen < 0 ? "-" : "", (long long)(llabs(fen) / 100),
			 (long long)(llabs(fen) % 100));
		cJSON_AddStringToObject(e, "day", day);
		cJSON_AddNumberToObject(e, "paid", (double)a.d[i].paid);
		cJSON_AddNumberToObject(e, "delivered", (double)a.d[i].delivered);
		cJSON_AddNumberToObject(e, "failed", (double)a.d[i].failed);
		cJSON_AddStringToObject(e, "revenue", rev);
		cJSON_AddItemToArray(arr, e);
	}
	free(a.d);
	low = cJSON_AddArrayToObject(o, "low_stock");
	for (size_t i = 0; i < st->rules->ncards; i++) {
		const od_card *c = &st->rules->cards[i];
		sk_value v = SK_VTEXT(c->name);
		int64_t n = 0;

		if (c->type != OD_STOCK)
			continue;
		sk_db_exec(p, "SELECT count(*) FROM orders_stock WHERE card = ? AND state = 0", &v, 1, od_row_count, &n);
		if (n <= c->low_stock) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "card", c->name);
			cJSON_AddNumberToObject(e, "free", (double)n);
			cJSON_AddNumberToObject(e, "low_stock", (double)c->low_stock);
			cJSON_AddItemToArray(low, e);
		}
	}
	return skctl_answer(p, o);
}

/* The label of orders' send with this tag into o (order_id, unit, text);
 * 0, or -1 when the tag is not one of orders'. */
static int od_label(const char *tag, cJSON *o)
{
	char oid[128], kind[64], rest[64];
	long long unit = 0, n = 0;
	char text[320];
	int k = 0;

	if (sscanf(tag, "order:%127[^:]:deliver:%lld%n", oid, &n, &k) == 2 && !tag[k]) {
		snprintf(text, sizeof text, "手动发货 订单 %s", oid);
	} else if (sscanf(tag, "order:%127[^:]:%lld:resend:%lld%n", oid, &unit, &n, &k) == 3 && !tag[k]) {
		snprintf(text, sizeof text, "重发 订单 %s 第 %lld 件", oid, unit);
		cJSON_AddNumberToObject(o, "unit", (double)unit);
	} else if (sscanf(tag, "order:%127[^:]:%lld:%lld%n", oid, &unit, &n, &k) == 3 && !tag[k]) {
		snprintf(text, sizeof text, "发货 订单 %s 第 %lld 件%s", oid, unit, n > 1 ? "（重试）" : "");
		cJSON_AddNumberToObject(o, "unit", (double)unit);
	} else if (sscanf(tag, "%127[^:]:notice:%63[^:]%n", oid, kind, &k) == 2 &&
		   (!tag[k] || (sscanf(tag + k, ":%63s", rest) == 1 && !strcmp(rest, "image")))) {
		static const char *const zh[] = { "等待补货", "无法发货", "发货后" };
		const char *kz = kind;

		for (int i = 0; orders_notice_names[i]; i++)
			if (!strcmp(orders_notice_names[i], kind))
				kz = zh[i];
		snprintf(text, sizeof text, "通知 订单 %s（%s）", oid, kz);
	} else {
		return -1;
	}
	cJSON_AddStringToObject(o, "order_id", oid);
	cJSON_AddStringToObject(o, "text", text);
	return 0;
}

/* orders_sends {sends}: see the top of the file. */
static int od_ctl_sends(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *labels;
	const cJSON *sends, *e;
	int i = 0;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	sends = cJSON_GetObjectItemCaseSensitive(d, "sends");
	if (!cJSON_IsArray(sends) || cJSON_GetArraySize(sends) > OD_SENDS_MAX) {
		cJSON_Delete(d);
		return skctl_fail(p, SK_ERR_INVAL, "%s: sends must be a list of at most %d {uuid, tag}", command,
				  OD_SENDS_MAX);
	}
	cJSON_ArrayForEach(e, sends) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "uuid"), *t = cJSON_GetObjectItemCaseSensitive(e, "tag");

		if (!cJSON_IsString(u) || !*u->valuestring || !cJSON_IsString(t)) {
			cJSON_Delete(d);
			return skctl_fail(p, SK_ERR_INVAL, "%s: sends[%d] must be {\"uuid\": text, \"tag\": text}", command, i);
		}
		i++;
	}
	o = cJSON_CreateObject();
	labels = cJSON_AddObjectToObject(o, "labels");
	cJSON_ArrayForEach(e, sends) {
		const char *uuid = cJSON_GetObjectItemCaseSensitive(e, "uuid")->valuestring;
		cJSON *l = cJSON_CreateObject();

		if (!l || cJSON_GetObjectItemCaseSensitive(labels, uuid) ||
		    od_label(cJSON_GetObjectItemCaseSensitive(e, "tag")->valuestring, l) < 0)
			cJSON_Delete(l);
		else
			cJSON_AddItemToObject(labels, uuid, l);
	}
	cJSON_Delete(d);
	return skctl_answer(p, o);
}

static const skctl_row od_stats_controls[] = {
	{ "orders_stats", "{days}: per Beijing day paid, delivered, failed, revenue; cards running low", od_ctl_stats },
	{ "orders_sends", "{sends: [{uuid, tag}]}: a label for each of orders' sends (the chat view)", od_ctl_sends },
};

/* Registers orders_stats and orders_sends (one refused is logged and left out). */
void orders_stats_controls_add(sk_plugin *p)
{
	skctl_add_all(p, od_stats_controls, sizeof od_stats_controls / sizeof od_stats_controls[0]);
}
