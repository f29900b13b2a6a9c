/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_orders_action.c - the seller's view of orders and the
 * actions on them (plugins/orders/orders_action.c, orders_stock.c) through
 * the fake host: orders_list's new fields with codes masked, order_get's
 * timeline in order, order_reveal logged without the code, order_retry
 * after new stock and of a failed confirmation, order_resend in a new
 * message (exactly once across a restart, with the send pending and with
 * the row committed before its send), order_deliver by hand releasing the
 * reserved codes, order_ship, every refusal (400, 404, 409 with its
 * message), the stock code commands, and the CLI's actions through
 * sk_control_call to a peer fake host (ABI 1.5).
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DETAIL "mtop.idle.web.trade.order.detail"
#define CONSIGN "mtop.taobao.idle.logistic.consign.dummy"

static char rules[256];

/* The buyer notices (on by default) are off: the counts here are of deliveries. */
static const char good_rules[] =
	"{\"notices\": {\"waiting_stock\": {\"enabled\": false}, \"cannot_deliver\": {\"enabled\": false}},"
	"\"cards\": ["
	"  {\"name\": \"vip\", \"type\": \"stock\", \"template\": \"Code {code} for {order_id}\"},"
	"  {\"name\": \"slow\", \"type\": \"stock\", \"delay_s\": 30},"
	"  {\"name\": \"pic\", \"type\": \"image\", \"url\": \"https://example.com/p.jpg\", \"width\": 640, \"height\": 480}"
	"],"
	"\"delivery\": ["
	"  {\"item_id\": \"100\", \"card\": \"vip\"},"
	"  {\"item_id\": \"400\", \"card\": \"slow\"},"
	"  {\"item_id\": \"500\", \"card\": \"pic\"}"
	"]}";

static fh *start(const char *sections)
{
	char so[512];
	fh *f = fh_new(sections, rules);

	if (!f)
		return NULL;
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/orders.so"), NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	fh_advance(f, 0);
	return f;
}

/* Unloads and loads orders.so again on the same database and outbox records:
 * a restart of the process. */
static int restart(fh *f)
{
	char so[512];

	fh_unload(f);
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/orders.so"), NULL))
		return -1;
	fh_advance(f, 0);
	return 0;
}

static const char *order_col(fh *f, const char *oid, const char *col)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT %s FROM orders_order WHERE order_id = '%s'", col, oid);
	return fh_q_str(f, sql);
}

static int64_t stock(fh *f, const char *card, int state)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM orders_stock WHERE card = '%s' AND state = %d", card, state);
	return fh_q_int(f, sql);
}

static void add_code(fh *f, const char *card, const char *code)
{
	char sql[256];

	snprintf(sql, sizeof sql, "INSERT INTO orders_stock (card, code, added_ms, updated_ms) VALUES ('%s', '%s', 0, 0)",
		 card, code);
	sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL);
}

static void trade(fh *f, const char *oid, int t)
{
	sk_event e = fh_event(f, SK_EV_TRADE);

	e.chat_id = "c1";
	e.sender_id = "b1";
	e.sender_name = "小王";
	e.order_id = oid;
	e.trade = t;
	fh_dispatch(f, &e);
}

#define ST_PAID "{\"orderStatusInfo\":{\"title\":\"等待卖家发货\"},\"orderStatusNodeList\":[" \
	"{\"title\":\"已拍下\",\"completed\":true},{\"title\":\"已付款\",\"completed\":true}]}"

/* Answers the last mtop call, which must be api. */
static int reply(fh *f, const char *api, int result, const char *ret, const char *data)
{
	size_t n = fh_nmtop(f);

	if (!n || strcmp(fh_mtop_at(f, n - 1)->api, api) || fh_mtop_at(f, n - 1)->answered) {
		diag("no pending %s call (calls %zu, last %s)", api, n, n ? fh_mtop_at(f, n - 1)->api : "-");
		return -1;
	}
	return fh_mtop_reply(f, n - 1, result, ret, data);
}

/* The detail of a paid order of buyer b1 for item, qty units. */
static int detail(fh *f, const char *item, int qty)
{
	char d[800];

	snprintf(d, sizeof d, "{\"components\":[{\"render\":\"orderInfoVO\",\"data\":{\"itemInfo\":{\"itemId\":\"%s\","
		 "\"buyAmount\":%d,\"skuInfo\":\"\"},\"buyerUserId\":\"b1\",\"buyerNick\":\"小王\"}},"
		 "{\"render\":\"orderStatusVO\",\"data\":" ST_PAID "}]}", item, qty);
	return reply(f, DETAIL, SK_MTOP_OK, "SUCCESS::调用成功", d);
}

/* The detail of a paid order with itemInfo.price price (JSON text). */
static int detail_price(fh *f, const char *item, int qty, const char *price)
{
	char d[800];

	snprintf(d, sizeof d, "{\"components\":[{\"render\":\"orderInfoVO\",\"data\":{\"itemInfo\":{\"itemId\":\"%s\","
		 "\"buyAmount\":%d,\"price\":%s},\"buyerUserId\":\"b1\"}},"
		 "{\"render\":\"orderStatusVO\",\"data\":" ST_PAID "}]}", item, qty, price);
	return reply(f, DETAIL, SK_MTOP_OK, "SUCCESS::调用成功", d);
}

/* A paid order oid for item, qty units: card, detail. */
static void paid(fh *f, const char *oid, const char *item, int qty)
{
	trade(f, oid, SK_TRADE_PAID);
	detail(f, item, qty);
}

/* Runs cmd with data; checks its rc and, when want is not NULL, its text. */
static const char *ctl(fh *f, const char *cmd, const char *data, int want_rc, const char *want, const char *what)
{
	const char *out;
	int rc = fh_control(f, cmd, data, &out);

	if (!ok(rc == want_rc, "%s: %s: rc %d", cmd, what, want_rc))
		diag("got rc %d: %s", rc, out);
	if (want)
		is_str(out, want, "%s: %s: the answer", cmd, what);
	return out;
}

/* Member k of the JSON text's object at path a.b (one level), as text. */
static const char *jstr(const char *json, const char *k)
{
	static char buf[2048];
	cJSON *j = cJSON_Parse(json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	char *s = v ? (cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v)) : strdup("(none)");

	snprintf(buf, sizeof buf, "%s", s ? s : "");
	free(s);
	cJSON_Delete(j);
	return buf;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_mask_and_list(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\"}}");
	const char *out;
	cJSON *j;
	const cJSON *o, *u;

	if (!ok(f != NULL, "list: started"))
		return;
	add_code(f, "vip", "VIPCODE0001");
	paid(f, "9101", "100", 1);
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "mid-1");
	is_str(fh_send_at(f, 0)->text, "Code VIPCODE0001 for 9101", "list: the buyer got the code in full");
	out = ctl(f, "orders_list", "{}", SK_OK, NULL, "runs");
	j = cJSON_Parse(out);
	o = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "orders"), 0);
	u = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "units"), 0);
	is_str(cJSON_GetObjectItemCaseSensitive(u, "masked")->valuestring, "Code VI*******01 for 9101",
	       "list: the unit's content with its code masked (first 2, last 2)");
	is_str(cJSON_GetObjectItemCaseSensitive(u, "kind")->valuestring, "stock", "list: a stock unit");
	is_str(cJSON_GetObjectItemCaseSensitive(u, "card")->valuestring, "vip", "list: its card");
	ok(cJSON_GetObjectItemCaseSensitive(u, "sent_ms")->valuedouble == (double)fh_now_ms(f), "list: sent_ms when sent");
	ok(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(u, "manual")), "list: not by hand");
	ok(!strstr(out, "VIPCODE0001"), "list: the code is nowhere in the answer");
	is_str(cJSON_GetObjectItemCaseSensitive(o, "buyer_id")->valuestring, "b1", "list: buyer_id");
	is_str(cJSON_GetObjectItemCaseSensitive(o, "chat_id")->valuestring, "c1", "list: chat_id");
	is_str(cJSON_GetObjectItemCaseSensitive(o, "source")->valuestring, "push", "list: source push (a trade card)");
	is_str(cJSON_GetObjectItemCaseSensitive(o, "amount")->valuestring, "", "list: no amount known");
	is_str(cJSON_GetObjectItemCaseSensitive(o, "card")->valuestring, "vip", "list: the order's card");
	ok(cJSON_GetObjectItemCaseSensitive(o, "created_ms")->valuedouble > 0, "list: created_ms");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "notices")), 0,
	       "list: notices [] (no orders_notice table on this branch)");
	cJSON_Delete(j);

	/* the other masks, through stock_codes */
	add_code(f, "slow", "ABCD");
	add_code(f, "slow", "ABCDE");
	add_code(f, "slow", "ABCDEFG");
	add_code(f, "slow", "卡密号码一二三四");
	out = ctl(f, "stock_codes", "{\"card\":\"slow\"}", SK_OK, NULL, "masks");
	ok(strstr(out, "\"masked\":\"****\"") && strstr(out, "\"masked\":\"A***E\"") &&
	   strstr(out, "\"masked\":\"A*****G\"") && strstr(out, "\"masked\":\"卡密****三四\""),
	   "mask: 4 chars all stars, 5-7 one each end, 8+ two each end (UTF-8 characters)");
	ok(!strstr(out, "ABCD\"") && !strstr(out, "ABCDE"), "mask: no code in full");

	/* the amount from the detail's price: fen as a number, yuan as a string */
	trade(f, "9111", SK_TRADE_PAID);
	detail_price(f, "999", 2, "990");
	is_str(order_col(f, "9111", "amount"), "19.80", "amount: 990 fen x 2 is 19.80");
	trade(f, "9112", SK_TRADE_PAID);
	detail_price(f, "999", 1, "\"9.9\"");
	is_str(order_col(f, "9112", "amount"), "9.90", "amount: \"9.9\" yuan is 9.90");
	trade(f, "9113", SK_TRADE_PAID);
	detail_price(f, "999", 1, "\"9.999\"");
	is_str(order_col(f, "9113", "amount"), "", "amount: a price it cannot read is left out");
	sqlite3_exec(fh_db(f), "INSERT INTO orders_order (order_id, amount, source, created_ms, updated_ms) VALUES "
		     "('9114', '30.00', 'pull', 1, 1)", NULL, NULL, NULL);
	trade(f, "9114", SK_TRADE_PAID);
	detail_price(f, "999", 1, "100");
	is_str(order_col(f, "9114", "amount"), "30.00", "amount: the pull's amount is kept over the detail's");

	/* the attention filter */
	paid(f, "9102", "999", 1);
	out = ctl(f, "orders_list", "{\"filter\":\"attention\"}", SK_OK, NULL, "attention");
	ok(strstr(out, "9102") && !strstr(out, "9101"), "list: attention lists the failed order only");
	ctl(f, "orders_list", "{\"filter\":\"some\"}", SK_ERR_INVAL, "orders_list: filter must be \"all\" or \"attention\"",
	    "a bad filter");
	fh_free(f);
}

static void test_get_reveal(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\"}}");
	const char *out;
	cJSON *j;
	const cJSON *e;
	double last = 0;
	int sorted = 1;
	char kinds[256] = "";

	if (!ok(f != NULL, "get: started"))
		return;
	add_code(f, "vip", "SECRETCODE99");
	paid(f, "9201", "100", 1);
	fh_advance(f, 1000);
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "mid-9");
	fh_advance(f, 1000);
	fh_clear_logs(f);
	out = ctl(f, "order_reveal", "{\"order_id\":\"9201\",\"unit\":1}", SK_OK,
		  "{\"order_id\":\"9201\",\"unit\":1,\"content\":\"Code SECRETCODE99 for 9201\"}", "the content in full");
	is_int((int64_t)fh_log_find(f, "order 9201 unit 1 code revealed (page)"), 1, "reveal: logged at INFO");
	is_int((int64_t)fh_log_find(f, "SECRETCODE99"), 0, "reveal: the log has no code");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_action WHERE order_id = '9201' AND action = 'reveal'"), 1,
	       "reveal: recorded");
	ctl(f, "order_reveal", "{\"order_id\":\"9201\",\"unit\":2}", SK_ERR_NOTFOUND, "order_reveal: order 9201 has no unit 2",
	    "an unknown unit");
	ctl(f, "order_reveal", "{\"order_id\":\"nope\",\"unit\":1}", SK_ERR_NOTFOUND, "order_reveal: no order nope",
	    "an unknown order");
	ctl(f, "order_reveal", "{\"order_id\":\"9201\"}", SK_ERR_INVAL,
	    "order_reveal: unit must be a unit number of the order (1, 2, ...)", "no unit");
	ctl(f, "order_reveal", "{\"order_id\":9201,\"unit\":1}", SK_ERR_INVAL,
	    "order_reveal: order_id must be the id of an order (a string)", "a number as order_id");

	out = ctl(f, "order_get", "{\"order_id\":\"9201\"}", SK_OK, NULL, "runs");
	ok(!strstr(out, "SECRETCODE99"), "get: the code is not in the answer");
	j = cJSON_Parse(out);
	is_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "order"), "order_id")->valuestring, "9201",
	       "get: the order");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "timeline")) {
		double ms = cJSON_GetObjectItemCaseSensitive(e, "ms")->valuedouble;

		sorted &= ms >= last;
		last = ms;
		snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", *kinds ? "," : "",
			 cJSON_GetObjectItemCaseSensitive(e, "kind")->valuestring);
	}
	ok(sorted, "get: the timeline is oldest first");
	is_str(kinds, "state,unit,delivery,reveal", "get: state change, unit sent, delivered, the reveal");
	e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "timeline"), 0);
	is_str(cJSON_GetObjectItemCaseSensitive(e, "text")->valuestring, "(new) -> paid (paid card)", "get: the state text");
	e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "timeline"), 1);
	is_str(cJSON_GetObjectItemCaseSensitive(e, "text")->valuestring, "unit 1 sent (card vip) (message mid-9)",
	       "get: the unit text");
	cJSON_Delete(j);
	ctl(f, "order_get", "{\"order_id\":\"x\"}", SK_ERR_NOTFOUND, "order_get: no order x", "an unknown order");
	ctl(f, "order_get", "{}", SK_ERR_INVAL, "order_get: order_id must be the id of an order (a string)", "no order_id");
	fh_free(f);
}

static void test_retry(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}");
	const char *out;

	if (!ok(f != NULL, "retry: started"))
		return;
	paid(f, "9301", "100", 2);
	is_str(order_col(f, "9301", "reason"), "out_of_stock: card vip has 0 free codes, the order needs 2",
	       "retry: the order waits for stock");
	add_code(f, "vip", "R1");
	add_code(f, "vip", "R2");
	is_int((int64_t)fh_nsends(f), 0, "retry: codes added behind the bot's back: nothing sent (retry_s 0)");
	out = ctl(f, "order_retry", "{\"order_id\":\"9301\"}", SK_OK, NULL, "after new stock");
	is_str(jstr(out, "delivery"), "delivering", "retry: the answer says delivering");
	is_int((int64_t)fh_nsends(f), 2, "retry: both units sent now");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, NULL);
	fh_complete_send(f, fh_send_at(f, 1)->uuid, 1, NULL);
	is_str(order_col(f, "9301", "delivery"), "delivered", "retry: delivered");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_action WHERE order_id = '9301' AND action = 'retry' AND actor = 'page'"),
	       1, "retry: recorded as the page's");
	ctl(f, "order_retry", "{\"order_id\":\"9301\"}", SK_ERR_STATE,
	    "order_retry: order 9301: already delivered (order_resend sends a unit again)", "a delivered order (409)");
	ctl(f, "order_retry", "{\"order_id\":\"9399\"}", SK_ERR_NOTFOUND, "order_retry: no order 9399", "unknown (404)");
	ctl(f, "order_retry", "[]", SK_ERR_INVAL, "order_retry: data must be a JSON object", "bad data (400)");
	trade(f, "9302", SK_TRADE_PLACED);
	ctl(f, "order_retry", "{\"order_id\":\"9302\"}", SK_ERR_STATE,
	    "order_retry: order 9302 is placed, not paid: nothing to deliver", "an unpaid order (409)");

	/* a failed detail is read again, not planned */
	trade(f, "9303", SK_TRADE_PAID);
	reply(f, DETAIL, SK_MTOP_FAIL, "FAIL_BIZ_NO_PERMISSION::x", NULL);
	ok(!strncmp(order_col(f, "9303", "reason"), "detail:", 7), "retry: an order failed on its detail");
	ctl(f, "order_retry", "{\"order_id\":\"9303\"}", SK_OK, NULL, "a failed detail");
	is_str(fh_mtop_at(f, fh_nmtop(f) - 1)->api, DETAIL, "retry: the detail is asked again");
	ok(!fh_mtop_at(f, fh_nmtop(f) - 1)->answered, "retry: and pending");
	ctl(f, "order_retry", "{\"order_id\":\"9303\"}", SK_ERR_STATE, "order_retry: order 9303 is being delivered now (pending)",
	    "while its detail is asked (409)");
	fh_free(f);

	/* a failed shipment confirmation is made again */
	f = start("{\"orders\":{\"confirm\":\"after\",\"confirm_attempts\":1,\"retry_s\":0}}");
	add_code(f, "vip", "S1");
	paid(f, "9311", "100", 1);
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, NULL);
	reply(f, CONSIGN, SK_MTOP_FAIL, "FAIL_BIZ_ERROR::no", NULL);
	is_str(order_col(f, "9311", "confirm"), "failed", "retry: the confirmation failed");
	ctl(f, "order_retry", "{\"order_id\":\"9311\"}", SK_OK, NULL, "a failed confirmation");
	is_str(fh_mtop_at(f, fh_nmtop(f) - 1)->api, CONSIGN, "retry: consign is called again");
	reply(f, CONSIGN, SK_MTOP_OK, "SUCCESS::ok", "{}");
	is_str(order_col(f, "9311", "confirm"), "done", "retry: and the shipment is confirmed");
	fh_free(f);
}

static void test_resend(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}");
	const char *out;
	size_t n;

	if (!ok(f != NULL, "resend: started"))
		return;
	add_code(f, "vip", "RS1");
	paid(f, "9401", "100", 1);
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "m1");
	out = ctl(f, "order_resend", "{\"order_id\":\"9401\",\"unit\":1}", SK_OK, NULL, "a sent unit");
	is_int((int64_t)fh_nsends(f), 2, "resend: a new message");
	is_str(fh_send_at(f, 1)->text, "Code RS1 for 9401", "resend: with the same code");
	is_str(fh_send_at(f, 1)->tag, "order:9401:1:resend:1", "resend: its own tag");
	is_str(jstr(out, "uuid"), fh_send_at(f, 1)->uuid, "resend: the answer names the send");
	{
		char want[64];

		snprintf(want, sizeof want, "sending %s", fh_send_at(f, 1)->uuid);
		is_str(fh_q_str(f, "SELECT state || ' ' || uuid FROM orders_action WHERE action = 'resend'"), want,
		       "resend: the row is sending, with the send's uuid");
	}
	fh_complete_send(f, fh_send_at(f, 1)->uuid, 1, "m2");
	is_str(fh_q_str(f, "SELECT state || ' ' || detail FROM orders_action WHERE action = 'resend'"), "sent m2",
	       "resend: the row says sent, with the message id");
	is_str(fh_q_str(f, "SELECT state FROM orders_unit WHERE order_id = '9401'"), "done", "resend: the unit keeps its state");
	is_int(stock(f, "vip", 2), 1, "resend: the code is still used once");
	ctl(f, "order_resend", "{\"order_id\":\"9401\",\"unit\":1}", SK_OK, NULL, "again");
	is_str(fh_send_at(f, 2)->tag, "order:9401:1:resend:2", "resend: the second one has tag n 2");
	fh_complete_send(f, fh_send_at(f, 2)->uuid, 0, "CSI_FORBID");
	is_str(fh_q_str(f, "SELECT state || ' ' || detail FROM orders_action WHERE tag = 'order:9401:1:resend:2'"),
	       "failed CSI_FORBID", "resend: a lost send is visible in its row");
	out = ctl(f, "order_get", "{\"order_id\":\"9401\"}", SK_OK, NULL, "the timeline");
	ok(strstr(out, "resend unit 1 (page): sent (message m2)") && strstr(out, "resend unit 1 (page): not sent (CSI_FORBID)"),
	   "resend: both in the timeline with their results");

	ctl(f, "order_resend", "{\"order_id\":\"9401\",\"unit\":3}", SK_ERR_NOTFOUND, "order_resend: order 9401 has no unit 3",
	    "an unknown unit (404)");
	ctl(f, "order_resend", "{\"order_id\":\"9401\",\"unit\":0}", SK_ERR_INVAL,
	    "order_resend: unit must be a whole number from 1 to 10000", "unit 0 (400)");
	paid(f, "9402", "100", 1);
	ctl(f, "order_resend", "{\"order_id\":\"9402\",\"unit\":1}", SK_ERR_NOTFOUND, "order_resend: order 9402 has no unit 1",
	    "an order that never got a unit");
	add_code(f, "vip", "RS2");
	ctl(f, "order_retry", "{\"order_id\":\"9402\"}", SK_OK, NULL, "(9402 planned)");
	ctl(f, "order_resend", "{\"order_id\":\"9402\",\"unit\":1}", SK_ERR_STATE,
	    "order_resend: order 9402 unit 1 was never sent (it is sending): nothing to send again", "a unit never sent (409)");

	/* exactly once across a restart with the send pending */
	n = fh_nsends(f);
	ctl(f, "order_resend", "{\"order_id\":\"9401\",\"unit\":1}", SK_OK, NULL, "before a restart");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 1, "restart: one send made");
	ok(restart(f) == 0, "restart: orders loaded again");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 1, "restart: the pending resend is not made again");
	fh_complete_send(f, fh_send_at(f, n)->uuid, 1, "m3");
	is_str(fh_q_str(f, "SELECT state || ' ' || detail FROM orders_action WHERE tag = 'order:9401:1:resend:3'"), "sent m3",
	       "restart: its result (SK_EV_SEND_RESULT) lands in the row");

	/* a row committed, the process killed before its send: made once at the start */
	sqlite3_exec(fh_db(f), "INSERT INTO orders_action (order_id, unit, action, actor, ms, tag, state) VALUES "
		     "('9401', 1, 'resend', 'page', 0, 'order:9401:1:resend:4', 'queued')", NULL, NULL, NULL);
	ok(restart(f) == 0, "restart: with a queued row");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 2, "restart: the queued resend is sent");
	is_str(fh_send_at(f, n + 1)->tag, "order:9401:1:resend:4", "restart: with its tag");
	sqlite3_exec(fh_db(f), "UPDATE orders_action SET state = 'queued', uuid = '' WHERE tag = 'order:9401:1:resend:4'",
		     NULL, NULL, NULL);
	ok(restart(f) == 0, "restart: the row queued again (a crash before its uuid was recorded)");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 2, "restart: the outbox has its tag: adopted, not sent twice");
	is_str(fh_q_str(f, "SELECT state FROM orders_action WHERE tag = 'order:9401:1:resend:4'"), "sending",
	       "restart: the row is sending");

	/* an image unit is resent as an image */
	paid(f, "9403", "500", 1);
	fh_complete_send(f, fh_send_at(f, fh_nsends(f) - 1)->uuid, 1, NULL);
	ctl(f, "order_resend", "{\"order_id\":\"9403\",\"unit\":1}", SK_OK, NULL, "an image unit");
	ok(fh_send_at(f, fh_nsends(f) - 1)->image && !strcmp(fh_send_at(f, fh_nsends(f) - 1)->url, "https://example.com/p.jpg")
	   && fh_send_at(f, fh_nsends(f) - 1)->w == 640, "resend: an image again, with its card's size");
	fh_free(f);
}

static void test_deliver(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}");
	const char *out;
	size_t n;

	if (!ok(f != NULL, "deliver: started"))
		return;
	add_code(f, "slow", "SLOW1");
	add_code(f, "slow", "SLOW2");
	paid(f, "9501", "400", 2);
	is_int(stock(f, "slow", 1), 2, "deliver: two codes reserved (the card waits 30 s)");
	is_int((int64_t)fh_nsends(f), 0, "deliver: nothing sent yet");
	out = ctl(f, "order_deliver", "{\"order_id\":\"9501\",\"text\":\"兑换码: HAND-1\"}", SK_OK, NULL, "every unit");
	is_str(jstr(out, "units"), "[1,2]", "deliver: both units");
	is_str(jstr(out, "released"), "2", "deliver: the answer says two codes were released");
	is_int(stock(f, "slow", 0), 2, "deliver: and they are free again");
	is_int((int64_t)fh_nsends(f), 1, "deliver: one message");
	is_str(fh_send_at(f, 0)->text, "兑换码: HAND-1", "deliver: the seller's text");
	is_str(fh_send_at(f, 0)->tag, fh_q_str(f, "SELECT tag FROM orders_action WHERE action = 'deliver'"),
	       "deliver: tagged as its action");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "mh");
	is_str(order_col(f, "9501", "delivery"), "delivered", "deliver: the order is delivered");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_unit WHERE order_id = '9501' AND manual = 1 AND state = 'done' AND "
		     "code_id IS NULL"), 2, "deliver: both units sent by hand, no code");
	is_str(fh_q_str(f, "SELECT state || ' ' || detail FROM orders_action WHERE action = 'deliver'"), "sent mh",
	       "deliver: the action row has the result");
	fh_advance(f, 31000);
	is_int((int64_t)fh_nsends(f), 1, "deliver: the card's delay passes: no code is sent after");
	out = ctl(f, "orders_list", "{}", SK_OK, NULL, "after");
	ok(strstr(out, "\"kind\":\"manual\",\"masked\":\"兑换码: HAND-1\"") && strstr(out, "\"manual\":true"),
	   "deliver: the units are listed as manual with the text");
	ctl(f, "order_deliver", "{\"order_id\":\"9501\",\"text\":\"x\"}", SK_ERR_STATE,
	    "order_deliver: order 9501: already delivered (order_resend sends a unit again)", "a delivered order (409)");
	ctl(f, "order_deliver", "{\"order_id\":\"9501\",\"text\":\"x\",\"unit\":1}", SK_ERR_STATE,
	    "order_deliver: order 9501 unit 1 is delivered already (order_resend sends it again)", "a delivered unit (409)");

	/* an order without a rule: one unit made and delivered */
	paid(f, "9502", "999", 1);
	ok(!strncmp(order_col(f, "9502", "reason"), "no_rule:", 8), "deliver: an order without a rule");
	ctl(f, "order_deliver", "{\"order_id\":\"9502\",\"text\":\"\"}", SK_ERR_INVAL,
	    "order_deliver: text must be what the buyer gets, 1 to 2000 bytes", "an empty text (400)");
	ctl(f, "order_deliver", "{\"order_id\":\"9502\",\"text\":\"t\",\"unit\":2}", SK_ERR_NOTFOUND,
	    "order_deliver: order 9502 has 1 units", "a unit beyond its quantity (404)");
	n = fh_nsends(f);
	out = ctl(f, "order_deliver", "{\"order_id\":\"9502\",\"text\":\"by hand\",\"unit\":1}", SK_OK, NULL, "unit 1");
	is_str(jstr(out, "released"), "0", "deliver: nothing to release");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 1, "deliver: sent");
	fh_complete_send(f, fh_send_at(f, n)->uuid, 1, NULL);
	is_str(order_col(f, "9502", "delivery"), "delivered", "deliver: delivered");

	trade(f, "9503", SK_TRADE_PLACED);
	ctl(f, "order_deliver", "{\"order_id\":\"9503\",\"text\":\"t\"}", SK_ERR_STATE,
	    "order_deliver: order 9503 is not paid: nothing to deliver", "an unpaid order (409)");
	trade(f, "9503", SK_TRADE_CLOSED);
	ctl(f, "order_deliver", "{\"order_id\":\"9503\",\"text\":\"t\"}", SK_ERR_STATE,
	    "order_deliver: order 9503 is closed: nothing to deliver", "a closed order (409)");

	/* a refused hand delivery, then the unit planned again with a code: no longer manual */
	paid(f, "9505", "100", 1);
	n = fh_nsends(f);
	ctl(f, "order_deliver", "{\"order_id\":\"9505\",\"text\":\"hand 9505\"}", SK_OK, NULL, "(9505 by hand)");
	fh_complete_send(f, fh_send_at(f, n)->uuid, 0, "CSI_FORBID");
	ok(!strncmp(order_col(f, "9505", "reason"), "refused:", 8), "deliver: the hand delivery was refused");
	is_str(fh_q_str(f, "SELECT state || ' ' || detail FROM orders_action WHERE order_id = '9505'"), "failed CSI_FORBID",
	       "deliver: its row says so");
	add_code(f, "vip", "AFTER-HAND-1");
	ctl(f, "order_retry", "{\"order_id\":\"9505\"}", SK_OK, NULL, "(9505 planned with a code)");
	is_str(fh_q_str(f, "SELECT manual || ' ' || content FROM orders_unit WHERE order_id = '9505'"), "0 Code AFTER-HAND-1 for 9505",
	       "deliver: a unit planned again is no longer manual");

	/* a restart with the hand delivery committed but not queued: sent once */
	add_code(f, "slow", "SLOW3");
	paid(f, "9504", "400", 1);
	fh_fail_sends(f, SK_ERR_FULL);
	ctl(f, "order_deliver", "{\"order_id\":\"9504\",\"text\":\"later\"}", SK_OK, NULL, "with a full outbox");
	fh_fail_sends(f, 0);
	n = fh_nsends(f);
	ok(restart(f) == 0, "deliver: restart");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 1, "deliver: the reserved hand delivery is sent at the start");
	is_str(fh_send_at(f, n)->text, "later", "deliver: its text");
	ok(restart(f) == 0, "deliver: restart again");
	is_int((int64_t)fh_nsends(f), (int64_t)n + 1, "deliver: not sent twice");
	fh_free(f);
}

/* confirm "before": a hand delivery confirms the shipment first, then sends. */
static void test_deliver_before(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"before\",\"retry_s\":0}}");

	if (!ok(f != NULL, "deliver before: started"))
		return;
	paid(f, "9551", "999", 1);
	ok(!strncmp(order_col(f, "9551", "reason"), "no_rule:", 8), "deliver before: no rule");
	ctl(f, "order_deliver", "{\"order_id\":\"9551\",\"text\":\"first ship\"}", SK_OK, NULL, "with confirm before");
	is_int((int64_t)fh_nsends(f), 0, "deliver before: nothing sent before the confirmation");
	is_str(fh_mtop_at(f, fh_nmtop(f) - 1)->api, CONSIGN, "deliver before: consign called first");
	reply(f, CONSIGN, SK_MTOP_OK, "SUCCESS::ok", "{}");
	is_int((int64_t)fh_nsends(f), 1, "deliver before: then the text is sent");
	is_str(fh_nsends(f) ? fh_send_at(f, 0)->text : "", "first ship", "deliver before: the seller's text");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, NULL);
	is_str(order_col(f, "9551", "delivery"), "delivered", "deliver before: delivered");
	is_str(order_col(f, "9551", "confirm"), "done", "deliver before: and confirmed");
	fh_free(f);
}

static void test_ship(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}");

	if (!ok(f != NULL, "ship: started"))
		return;
	paid(f, "9601", "999", 1);
	ctl(f, "order_ship", "{\"order_id\":\"9601\"}", SK_OK, NULL, "a paid order");
	is_str(fh_mtop_at(f, fh_nmtop(f) - 1)->api, CONSIGN, "ship: consign.dummy is called");
	ok(strstr(fh_mtop_at(f, fh_nmtop(f) - 1)->data, "\"orderId\":\"9601\"") != NULL, "ship: for the order");
	ctl(f, "order_ship", "{\"order_id\":\"9601\"}", SK_ERR_STATE,
	    "order_ship: order 9601: a shipment confirmation is under way", "twice at once (409)");
	reply(f, CONSIGN, SK_MTOP_OK, "SUCCESS::ok", "{}");
	is_str(order_col(f, "9601", "confirm"), "done", "ship: confirmed");
	ctl(f, "order_ship", "{\"order_id\":\"9601\"}", SK_ERR_STATE, "order_ship: order 9601 is shipped already",
	    "a shipped order (409)");
	trade(f, "9602", SK_TRADE_PLACED);
	ctl(f, "order_ship", "{\"order_id\":\"9602\"}", SK_ERR_STATE,
	    "order_ship: order 9602 is placed, not paid: nothing to ship", "an unpaid order (409)");
	ctl(f, "order_ship", "{\"order_id\":\"9699\"}", SK_ERR_NOTFOUND, "order_ship: no order 9699", "unknown (404)");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_action WHERE action = 'ship'"), 1, "ship: recorded once");
	fh_free(f);
}

static void test_stock_codes(void)
{
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}");
	const char *out;

	if (!ok(f != NULL, "stock: started"))
		return;
	add_code(f, "vip", "FREECODE01");
	add_code(f, "vip", "FREECODE02");
	add_code(f, "vip", "FREECODE03");
	paid(f, "9701", "100", 1);
	out = ctl(f, "stock_codes", "{\"card\":\"vip\"}", SK_OK, NULL, "all");
	is_str(jstr(out, "total"), "3", "stock_codes: total");
	ok(strstr(out, "{\"id\":1,\"masked\":\"FR******01\",\"state\":\"reserved\",\"order_id\":\"9701\",\"added_ms\":0}") != NULL,
	   "stock_codes: a reserved code with its order");
	out = ctl(f, "stock_codes", "{\"card\":\"vip\",\"state\":\"free\",\"limit\":1,\"offset\":1}", SK_OK, NULL, "paged");
	ok(strstr(out, "\"id\":3,") && !strstr(out, "\"id\":2,") && strstr(out, "\"total\":2"),
	   "stock_codes: free, limit 1 offset 1: the second free code; total 2");
	ctl(f, "stock_codes", "{\"card\":\"vip\",\"state\":\"gone\"}", SK_ERR_INVAL,
	    "stock_codes: state must be \"free\", \"reserved\", \"used\" or \"all\"", "a bad state");
	ctl(f, "stock_codes", "{}", SK_ERR_INVAL, "stock_codes: card must be the name of a stock card", "no card");
	ctl(f, "stock_codes", "{\"card\":\"vip\",\"offset\":-1}", SK_ERR_INVAL,
	    "stock_codes: offset must be a whole number from 0", "a negative offset");

	fh_clear_logs(f);
	ctl(f, "stock_reveal", "{\"id\":2}", SK_OK, "{\"id\":2,\"code\":\"FREECODE02\"}", "one code");
	is_int((int64_t)fh_log_find(f, "card vip: code 2 revealed (page)"), 1, "stock_reveal: logged");
	is_int((int64_t)fh_log_find(f, "FREECODE"), 0, "stock_reveal: without the code");
	ctl(f, "stock_reveal", "{\"id\":1,\"actor\":\"cli\"}", SK_OK, NULL, "a reserved code");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_action WHERE order_id = '9701' AND action = 'reveal'"), 1,
	       "stock_reveal: a code of an order is in its timeline");
	ctl(f, "stock_reveal", "{\"id\":77}", SK_ERR_NOTFOUND, "stock_reveal: no code 77", "an unknown id");
	ctl(f, "stock_reveal", "{\"id\":\"2\"}", SK_ERR_INVAL,
	    "stock_reveal: id must be the id of a code (stock_codes gives them)", "a string id");

	out = ctl(f, "stock_export", "{\"card\":\"vip\"}", SK_OK,
		  "{\"card\":\"vip\",\"count\":2,\"codes\":\"FREECODE02\\nFREECODE03\\n\"}", "the free codes");
	is_int((int64_t)fh_log_find(f, "card vip: 2 free codes exported (page)"), 1, "stock_export: logged");
	is_int((int64_t)fh_log_find(f, "FREECODE"), 0, "stock_export: without the codes");

	ctl(f, "stock_delete", "{\"card\":\"vip\",\"ids\":[1,2,99]}", SK_OK, "{\"deleted\":1,\"refused\":2}",
	    "free only: reserved 1 and unknown 99 refused");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_stock WHERE card = 'vip'"), 2, "stock_delete: one code gone");
	is_int(stock(f, "vip", 1), 1, "stock_delete: the reserved one stays");
	ctl(f, "stock_delete", "{\"card\":\"slow\",\"ids\":[3]}", SK_OK, "{\"deleted\":0,\"refused\":1}",
	    "another card's code is refused");
	ctl(f, "stock_delete", "{\"card\":\"vip\",\"ids\":[\"3\"]}", SK_ERR_INVAL,
	    "stock_delete: ids must be whole numbers (the ids of stock_codes)", "a string id");
	ctl(f, "stock_delete", "{\"card\":\"vip\",\"ids\":3}", SK_ERR_INVAL,
	    "stock_delete: ids must be a list of at most 1000 code ids", "not a list");
	is_int(stock(f, "vip", 0), 1, "stock_delete: refused requests deleted nothing");
	fh_free(f);
}

/* Runs `shopkeep orders ...` (argv) in command mode on cmd_f, whose
 * sk_control_call reaches peer (NULL: nobody runs). Returns the exit status. */
static int cli(fh *cmd_f, fh *peer, int argc, const char **argv)
{
	const char *names[] = { "orders", NULL };
	char dir[512];
	sbuf errs = { 0 };
	int rc;

	fh_control_peer(cmd_f, peer);
	fh_build_path(dir, sizeof dir, "plugins");
	rc = host_command(fh_host(cmd_f), dir, (char *const *)names, argc, (char **)argv, &errs);
	if (errs.len)
		diag("errs: %s", errs.p);
	sbuf_free(&errs);
	return rc;
}

static void test_cli(void)
{
	fh *run = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":0}}"), *cmd = fh_new("{\"orders\":{}}", rules);
	const char *resend[] = { "orders", "resend", "9801", "--unit", "1" };
	const char *resend_nounit[] = { "orders", "resend", "9801" };
	const char *deliver[] = { "orders", "deliver", "9802", "--text=手动发货" };
	const char *ship[] = { "orders", "ship", "9802" };
	const char *retry[] = { "orders", "retry", "9801" };
	const char *retry_unit[] = { "orders", "retry", "9801", "--unit", "1" };
	const char *noid[] = { "orders", "ship" };

	if (!ok(run && cmd, "cli: a running fake host and a command one"))
		return;
	add_code(run, "vip", "CLI1");
	paid(run, "9801", "100", 1);
	fh_complete_send(run, fh_send_at(run, 0)->uuid, 1, NULL);
	is_int(cli(cmd, run, 5, resend), 0, "cli: orders resend exits 0");
	is_int((int64_t)fh_nsends(run), 2, "cli: the running process sent it again");
	is_str(fh_send_at(run, 1)->text, "Code CLI1 for 9801", "cli: the same code");
	is_int(fh_q_int(run, "SELECT count(*) FROM orders_action WHERE action = 'resend' AND actor = 'cli'"), 1,
	       "cli: recorded as the CLI's");
	is_int(cli(cmd, run, 3, retry), 1, "cli: a refused retry (already delivered) exits 1");
	paid(run, "9802", "999", 1);
	is_int(cli(cmd, run, 4, deliver), 0, "cli: orders deliver --text= exits 0");
	is_str(fh_send_at(run, 2)->text, "手动发货", "cli: the text was sent");
	is_int(cli(cmd, run, 3, ship), 0, "cli: orders ship exits 0");
	is_str(fh_mtop_at(run, fh_nmtop(run) - 1)->api, CONSIGN, "cli: consign called in the running process");
	is_int(cli(cmd, run, 3, resend_nounit), 2, "cli: resend without --unit is a usage error");
	is_int(cli(cmd, run, 5, retry_unit), 2, "cli: --unit is no option of retry");
	is_int(cli(cmd, run, 2, noid), 2, "cli: no ORDER_ID is a usage error");
	is_int(cli(cmd, NULL, 5, resend), 1, "cli: no running process: exit 1");
	is_int((int64_t)fh_nsends(run), 3, "cli: and nothing was sent");
	fh_free(cmd);
	fh_free(run);
}

int main(void)
{
	snprintf(rules, sizeof rules, "/tmp/sk-orders-action-%d.json", (int)getpid());
	{
		FILE *fp = fopen(rules, "w");

		fputs(good_rules, fp);
		fclose(fp);
	}
	test_mask_and_list();
	test_get_reveal();
	test_retry();
	test_resend();
	test_deliver();
	test_deliver_before();
	test_ship();
	test_stock_codes();
	test_cli();
	unlink(rules);
	return tap_done();
}
