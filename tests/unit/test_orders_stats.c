/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_orders_stats.c - the dashboard's and the chat view's
 * commands of the orders plugin (plugins/orders/orders_stats.c) through the
 * fake host, on rows written into its tables: orders_stats counts paid
 * (once per order, applied transitions only), delivered, failed and the
 * revenue per Beijing calendar day (the fake clock starts 2023-11-15 06:13
 * Beijing time, 2023-11-14 22:13 UTC: a row at 02:00 Beijing counts for the
 * 15th), one row per day also when 0, oldest first; the stock cards at or
 * below their low_stock threshold; bad data refused. orders_sends labels
 * orders' send tags and leaves others out.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H (3600 * 1000LL)

static char rules[256];

static const char rules_json[] =
	"{\"cards\": ["
	"  {\"name\": \"vip\", \"type\": \"stock\", \"low_stock\": 2},"
	"  {\"name\": \"big\", \"type\": \"stock\", \"low_stock\": 1},"
	"  {\"name\": \"empty\", \"type\": \"stock\"},"
	"  {\"name\": \"txt\", \"type\": \"text\", \"template\": \"hi {order_id}\"}"
	"],"
	"\"delivery\": [{\"item_id\": \"100\", \"card\": \"vip\"}]}";

static fh *start(void)
{
	char so[512];
	fh *f = fh_new("{\"orders\":{}}", rules);

	if (!f)
		return NULL;
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/orders.so"), NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* Runs sql (printf-formatted) on the fake host's database; 0 or -1. */
static int sql(fh *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sql(fh *f, const char *fmt, ...)
{
	char q[1024], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	if (sqlite3_exec(fh_db(f), q, NULL, NULL, &err) != SQLITE_OK) {
		diag("sql %s: %s", q, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* An order row (delivery, amount, updated at upd) and its applied transitions to paid at the given times (0: none). */
static void order(fh *f, const char *oid, const char *delivery, const char *amount, int64_t upd, int64_t paid1,
		  int64_t paid2)
{
	sql(f, "INSERT INTO orders_order (order_id, state, delivery, amount, created_ms, updated_ms) VALUES "
	    "('%s', 'paid', '%s', '%s', %lld, %lld)", oid, delivery, amount, (long long)upd, (long long)upd);
	if (paid1)
		sql(f, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, message_id, applied, ms) "
		    "VALUES ('%s', 'placed', 'paid', 'paid', 'm1', 1, %lld)", oid, (long long)paid1);
	if (paid2)
		sql(f, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, message_id, applied, ms) "
		    "VALUES ('%s', 'paid', 'paid', 'paid', 'm2', 1, %lld)", oid, (long long)paid2);
}

/* orders_stats with data; the answer parsed (NULL on failure, *raw the text). */
static cJSON *stats(fh *f, const char *data, int *rc, const char **raw)
{
	const char *out = NULL;

	*rc = fh_control(f, "orders_stats", data, &out);
	if (raw)
		*raw = out ? out : "";
	return *rc == 0 && out ? cJSON_Parse(out) : NULL;
}

/* Day i of the answer as "day paid/delivered/failed revenue", in a static buffer. */
static const char *day(const cJSON *j, int i)
{
	static char out[128];
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "days"), i);
	const cJSON *ds = cJSON_GetObjectItemCaseSensitive(d, "day"), *rev = cJSON_GetObjectItemCaseSensitive(d, "revenue");

	if (!d || !cJSON_IsString(ds) || !cJSON_IsString(rev))
		return "-";
	snprintf(out, sizeof out, "%s %d/%d/%d %s", ds->valuestring,
		 cJSON_GetObjectItemCaseSensitive(d, "paid")->valueint,
		 cJSON_GetObjectItemCaseSensitive(d, "delivered")->valueint,
		 cJSON_GetObjectItemCaseSensitive(d, "failed")->valueint, rev->valuestring);
	return out;
}

static void test_stats(void)
{
	fh *f = start();
	int64_t now, rc;
	const char *raw;
	cJSON *j, *low;
	int r;

	if (!ok(f != NULL, "orders starts"))
		return;
	now = fh_now_ms(f);
	is_int(now, FH_START_NOW_MS, "the fake clock at 2023-11-15 06:13:20 Beijing");
	j = stats(f, "{}", &r, NULL);
	is_int(r, 0, "orders_stats answers with no orders");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "days")), 7, "7 days by default");
	is_str(day(j, 0), "2023-11-09 0/0/0 0.00", "the oldest first, all 0");
	is_str(day(j, 6), "2023-11-15 0/0/0 0.00", "today (Beijing) last");
	cJSON_Delete(j);

	/* 02:00 Beijing on the 15th is still the 14th in UTC */
	order(f, "A", "delivered", "12.50", now - 1 * H, now - 4 * H - 13 * 60000, 0);
	sql(f, "INSERT INTO orders_unit (order_id, unit, attempt, card, kind, content, state, tag, send_at_ms, updated_ms, "
	    "sent_ms) VALUES ('A', 1, 1, 'vip', 'stock', 'x', 'sent', 'order:A:1:1', 0, %lld, %lld)",
	    (long long)(now - 1 * H), (long long)(now - 2 * H));
	/* 23:13 on the 14th, paid twice (a repeated card): counted once, on the first */
	order(f, "B", "failed", "10", now - 2 * H, now - 7 * H, now - 1 * H);
	/* paid yesterday, delivered yesterday without a unit row: its updated_ms */
	order(f, "C", "delivered", "0.5", now - 20 * H, now - 30 * H, 0);
	/* paid 8 days ago: outside 7 days */
	order(f, "D", "none", "99", now - 8 * 24 * H, now - 8 * 24 * H, 0);
	/* a transition not applied does not count; an amount that is not a number adds 0 */
	order(f, "E", "none", "abc", now, 0, 0);
	sql(f, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, message_id, applied, ms) VALUES "
	    "('E', 'placed', 'paid', 'paid', 'm3', 0, %lld)", (long long)now);
	order(f, "F", "none", "abc", now, now - 10 * 60000, 0);
	j = stats(f, "{\"days\":7}", &r, &raw);
	is_int(r, 0, "orders_stats answers (%s)", raw);
	is_str(day(j, 6), "2023-11-15 2/1/1 12.50", "today: A and F paid (F's amount not a number), A delivered, B "
	       "failed (04:13)");
	is_str(day(j, 5), "2023-11-14 2/1/0 10.50", "yesterday: B and C paid, C delivered");
	is_str(day(j, 4), "2023-11-13 0/0/0 0.00", "the day before: nothing");
	is_str(day(j, 0), "2023-11-09 0/0/0 0.00", "8 days ago is outside");
	low = cJSON_GetObjectItemCaseSensitive(j, "low_stock");
	is_int(cJSON_GetArraySize(low), 3, "no codes at all: every stock card is at or below its threshold");
	cJSON_Delete(j);

	sql(f, "INSERT INTO orders_stock (card, code, state, added_ms, updated_ms) VALUES ('vip', 'v1', 0, 0, 0), "
	    "('vip', 'v2', 0, 0, 0), ('vip', 'v3', 1, 0, 0), ('big', 'b1', 0, 0, 0), ('big', 'b2', 0, 0, 0), "
	    "('empty', 'e1', 0, 0, 0)");
	j = stats(f, "{\"days\":1}", &r, NULL);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "days")), 1, "days 1: today only");
	is_str(day(j, 0), "2023-11-15 2/1/1 12.50", "today");
	low = cJSON_GetObjectItemCaseSensitive(j, "low_stock");
	is_int(cJSON_GetArraySize(low), 1, "low_stock: one card at or below its threshold");
	if (cJSON_GetArraySize(low) == 1) {
		const cJSON *e = cJSON_GetArrayItem(low, 0);

		is_str(cJSON_GetObjectItemCaseSensitive(e, "card")->valuestring, "vip", "vip: 2 free, low_stock 2");
		is_int(cJSON_GetObjectItemCaseSensitive(e, "free")->valueint, 2, "its free count");
		is_int(cJSON_GetObjectItemCaseSensitive(e, "low_stock")->valueint, 2, "its threshold");
	}
	cJSON_Delete(j);

	/* a day later, today is the 16th */
	fh_advance(f, 24 * H);
	j = stats(f, "{\"days\":31}", &r, NULL);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "days")), 31, "days 31");
	is_str(day(j, 30), "2023-11-16 0/0/0 0.00", "a day later: the 16th, empty");
	is_str(day(j, 29), "2023-11-15 2/1/1 12.50", "the 15th");
	is_str(day(j, 21), "2023-11-07 1/0/0 99.00", "D eight days before the 15th");
	cJSON_Delete(j);

	{
		static const char *const bad[] = { "{\"days\":0}", "{\"days\":32}", "{\"days\":\"7\"}", "{\"days\":1.5}",
			"[]", "nope" };

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			rc = stats(f, bad[i], &r, &raw) != NULL;
			ok(!rc && r == SK_ERR_INVAL && *raw, "orders_stats %s: refused (%s)", bad[i], raw);
		}
	}
	fh_free(f);
}

static void test_sends(void)
{
	fh *f = start();
	const char *out = NULL;
	cJSON *j, *l;
	int r;

	if (!ok(f != NULL, "sends: orders starts"))
		return;
	r = fh_control(f, "orders_sends", "{\"sends\":[{\"uuid\":\"u1\",\"tag\":\"order:2501:1:1\"},"
		       "{\"uuid\":\"u2\",\"tag\":\"order:2501:2:3\"},{\"uuid\":\"u3\",\"tag\":\"order:2501:1:resend:2\"},"
		       "{\"uuid\":\"u4\",\"tag\":\"order:2502:deliver:17\"},{\"uuid\":\"u5\",\"tag\":\"2503:notice:waiting_stock\"},"
		       "{\"uuid\":\"u6\",\"tag\":\"2503:notice:after_delivery:image\"},{\"uuid\":\"u7\",\"tag\":\"rule:price\"},"
		       "{\"uuid\":\"u8\",\"tag\":\"order:2501:1:1:x\"},{\"uuid\":\"u9\",\"tag\":\"\"}]}", &out);
	is_int(r, 0, "orders_sends answers");
	j = out ? cJSON_Parse(out) : NULL;
	l = cJSON_GetObjectItemCaseSensitive(j, "labels");
#define LBL(u, k) (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, u), k)) ? \
		   cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, u), k)->valuestring : "")
	is_str(LBL("u1", "text"), "发货 订单 2501 第 1 件", "a delivery");
	is_str(LBL("u1", "order_id"), "2501", "its order");
	is_int(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, "u1"), "unit") ?
	       cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, "u1"), "unit")->valueint : -1, 1,
	       "its unit");
	is_str(LBL("u2", "text"), "发货 订单 2501 第 2 件（重试）", "a later attempt");
	is_str(LBL("u3", "text"), "重发 订单 2501 第 1 件", "a resend");
	is_str(LBL("u4", "text"), "手动发货 订单 2502", "a delivery by hand");
	is_str(LBL("u5", "text"), "通知 订单 2503（等待补货）", "a notice");
	is_str(LBL("u6", "text"), "通知 订单 2503（发货后）", "a notice's image");
	ok(!cJSON_GetObjectItemCaseSensitive(l, "u7") && !cJSON_GetObjectItemCaseSensitive(l, "u8") &&
	   !cJSON_GetObjectItemCaseSensitive(l, "u9"), "other tags: no label");
#undef LBL
	cJSON_Delete(j);
	{
		static const char *const bad[] = { "{}", "{\"sends\":{}}", "{\"sends\":[{\"uuid\":5,\"tag\":\"x\"}]}",
			"{\"sends\":[{\"uuid\":\"u\"}]}", "{\"sends\":[\"x\"]}" };

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			out = NULL;
			r = fh_control(f, "orders_sends", bad[i], &out);
			ok(r == SK_ERR_INVAL && out && strstr(out, "sends"), "orders_sends %s: refused (%s)", bad[i],
			   out ? out : "");
		}
	}
	fh_free(f);
}

int main(void)
{
	FILE *fp;

	snprintf(rules, sizeof rules, "/tmp/sk-orders-stats-%d.json", (int)getpid());
	if (!(fp = fopen(rules, "w")))
		return 1;
	fputs(rules_json, fp);
	fclose(fp);
	test_stats();
	test_sends();
	unlink(rules);
	return tap_done();
}
