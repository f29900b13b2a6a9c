/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_orders_pull.c - the sold-orders pull of plugins/orders
 * (orders_pull.c) through the fake host: a new order in the list goes through
 * the detail check, gets its chat opened (sk_chat_open) and is delivered; a
 * known delivered order is left alone; a pull racing a pushed card delivers
 * once; paging (both request shapes) and its stops; errors (the seller
 * console's session expiry, bad items, a failed chat open) counted.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DETAIL "mtop.idle.web.trade.order.detail"
#define SOLD "mtop.taobao.idle.trade.merchant.sold.get"
#define ST_PAID "{\"orderStatusInfo\":{\"title\":\"等待卖家发货\"},\"orderStatusNodeList\":[" \
	"{\"title\":\"已拍下\",\"completed\":true},{\"title\":\"已付款\",\"completed\":true}," \
	"{\"title\":\"待发货\",\"completed\":false}]}"

static char rules[256];

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

static const char *col(fh *f, const char *oid, const char *c)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT %s FROM orders_order WHERE order_id = '%s'", c, oid);
	return fh_q_str(f, sql);
}

static void add_codes(fh *f, int n)
{
	for (int i = 0; i < n; i++) {
		char sql[256];

		snprintf(sql, sizeof sql, "INSERT INTO orders_stock (card, code, added_ms, updated_ms) "
			 "VALUES ('vip', 'V%d', 0, 0)", i + 1);
		sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL);
	}
}

/* The number of calls of api, answered or not. */
static int ncalls(fh *f, const char *api)
{
	int n = 0;

	for (size_t i = 0; i < fh_nmtop(f); i++)
		n += !strcmp(fh_mtop_at(f, i)->api, api);
	return n;
}

/* The index of the last call of api, -1 when none. */
static int last_call(fh *f, const char *api)
{
	for (size_t i = fh_nmtop(f); i-- > 0;)
		if (!strcmp(fh_mtop_at(f, i)->api, api))
			return (int)i;
	return -1;
}

/* One sold.get item (valueType=string: every value a string). */
static void item(char *out, size_t n, const char *oid, const char *iid, const char *status, const char *buyer,
		 const char *total, const char *num)
{
	snprintf(out, n, "{\"commonData\":{\"orderId\":\"%s\",\"itemId\":\"%s\",\"orderStatus\":\"%s\","
		 "\"inRefund\":\"false\",\"createTime\":\"2026-12-05 12:00:00\"},\"buyerInfoVO\":{\"buyerId\":\"%s\","
		 "\"userNick\":\"小李\"},\"priceVO\":{\"totalPrice\":\"%s\",\"buyNum\":\"%s\",\"auctionPrice\":\"9.90\"}}",
		 oid, iid, status, buyer, total, num);
}

/* Answers the last sold.get call with items (a JSON array's inside) and nextPage. */
static int sold(fh *f, const char *items, const char *next, const char *last)
{
	char d[4096];
	int i = last_call(f, SOLD);

	if (i < 0 || fh_mtop_at(f, (size_t)i)->answered) {
		diag("no pending sold.get call");
		return -1;
	}
	snprintf(d, sizeof d, "{\"module\":{\"items\":[%s],\"totalCount\":\"9\",\"nextPage\":\"%s\",\"lastEndRow\":\"%s\"}}",
		 items, next, last);
	return fh_mtop_reply(f, (size_t)i, SK_MTOP_OK, "SUCCESS::调用成功", d);
}

/* Answers the last detail call: a paid order of buyer for item. */
static int detail(fh *f, const char *item_id, int qty, const char *buyer)
{
	char d[1200];
	int i = last_call(f, DETAIL);

	if (i < 0 || fh_mtop_at(f, (size_t)i)->answered) {
		diag("no pending detail call");
		return -1;
	}
	snprintf(d, sizeof d, "{\"components\":[{\"render\":\"orderInfoVO\",\"data\":{\"itemInfo\":{\"itemId\":\"%s\","
		 "\"buyAmount\":%d,\"skuInfo\":\"\"},\"buyerUserId\":\"%s\",\"buyerNick\":\"小李\"}},"
		 "{\"render\":\"orderStatusVO\",\"data\":" ST_PAID "}],\"peerUserId\":\"%s\",\"itemId\":\"%s\"}",
		 item_id, qty, buyer, buyer, item_id);
	return fh_mtop_reply(f, (size_t)i, SK_MTOP_OK, "SUCCESS::调用成功", d);
}

static void complete_all(fh *f)
{
	for (size_t i = 0; i < fh_nsends(f); i++)
		if (fh_send_at(f, i)->state == 0)
			fh_complete_send(f, fh_send_at(f, i)->uuid, 1, NULL);
}

static void trade(fh *f, const char *chat, const char *buyer, const char *oid, int t)
{
	sk_event e = fh_event(f, SK_EV_TRADE);

	e.chat_id = chat;
	e.sender_id = buyer;
	e.sender_name = "小李";
	e.order_id = oid;
	e.trade = t;
	e.item_id = "100";
	fh_dispatch(f, &e);
}

static int64_t jnum(const char *json, const char *k)
{
	const char *s = strstr(json, k);

	return s ? strtoll(s + strlen(k) + 1, NULL, 10) : -1;
}

static void test_new_order(void)
{
	char it[600], it2[600], both[1300];
	const char *out;
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0,\"pull_pages\":3}}");

	if (!ok(f != NULL, "orders starts with the pull on"))
		return;
	add_codes(f, 5);
	is_int(ncalls(f, SOLD), 0, "no pull before the account is connected");
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(ncalls(f, SOLD), 1, "the first CONNECTED starts a pull");
	ok(fh_mtop_at(f, 0)->flags == SK_MTOP_SELLER && !strcmp(fh_mtop_at(f, 0)->version, "1.0"),
	   "sold.get is a seller-console call (SK_MTOP_SELLER)");
	ok(strstr(fh_mtop_at(f, 0)->data, "\"queryCode\":\"ALL\"") && strstr(fh_mtop_at(f, 0)->data, "\"pageNumber\":1") &&
	   strstr(fh_mtop_at(f, 0)->data, "\"rowsPerPage\":30"), "the first pull lists everything (zh shape, ALL, page 1)");

	item(it, sizeof it, "8001", "100", "待发货", "b9", "19.80", "2");
	item(it2, sizeof it2, "8000", "100", "交易成功", "b8", "9.90", "1");
	snprintf(both, sizeof both, "%s,%s", it, it2);
	sold(f, both, "false", "2");
	is_str(col(f, "8001", "source"), "pull", "a new order awaiting shipment is recorded, source pull");
	is_str(col(f, "8001", "amount"), "19.80", "... its amount (priceVO.totalPrice)");
	is_str(col(f, "8001", "quantity"), "2", "... its quantity (buyNum)");
	is_str(col(f, "8001", "buyer_id"), "b9", "... its buyer");
	is_str(col(f, "8001", "buyer_name"), "小李", "... the buyer's nick");
	is_str(col(f, "8001", "state"), "paid", "... state paid");
	is_str(col(f, "8001", "delivery"), "pending", "... delivery pending: the detail check first");
	/* 2026-12-05 12:00:00 China time is 04:00:00 UTC */
	is_str(col(f, "8001", "created_ms"), "1796443200000", "... created_ms from createTime (UTC+8)");
	is_str(fh_q_str(f, "SELECT trigger || ':' || to_state FROM orders_transition WHERE order_id = '8001'"), "pull:paid",
	       "... the transition recorded as the pull's");
	is_str(col(f, "8000", "order_id"), "", "a completed order of the list is not recorded");
	is_int(ncalls(f, DETAIL), 1, "the order detail is asked for");
	is_int(fh_nsends(f), 0, "nothing sent before the detail says paid");
	detail(f, "100", 2, "b9");
	is_int(fh_nsends(f), 0, "no send without a chat");
	is_int((int)fh_nchats(f), 1, "a chat is opened with the buyer first");
	ok(fh_nchats(f) && !strcmp(fh_chat_at(f, 0)->buyer, "b9") && !strcmp(fh_chat_at(f, 0)->item, "100"),
	   "... for buyer b9 and item 100");
	is_str(col(f, "8001", "delivery"), "delivering", "units reserved while the chat opens");
	fh_chat_reply(f, 0, SK_OK, "c77");
	is_str(col(f, "8001", "chat_id"), "c77", "the chat id is stored");
	is_int((int)fh_nsends(f), 2, "then both units are sent");
	ok(fh_nsends(f) == 2 && !strcmp(fh_send_at(f, 0)->chat_id, "c77") && !strcmp(fh_send_at(f, 0)->buyer_id, "b9") &&
	   !strcmp(fh_send_at(f, 0)->text, "V1") && !strcmp(fh_send_at(f, 1)->text, "V2"),
	   "... to that chat and buyer, one code each");
	complete_all(f);
	is_str(col(f, "8001", "delivery"), "delivered", "the pulled order is delivered");

	/* a second pull (the control command): NOT_SHIP, the delivered order left alone */
	is_int(fh_control(f, "orders_pull", "{}", &out), SK_OK, "orders_pull starts a pull");
	ok(strstr(out, "\"started\":true") && strstr(out, "\"found\":1"), "... its status: started, 1 found so far");
	ok(strstr(fh_mtop_at(f, (size_t)last_call(f, SOLD))->data, "\"queryCode\":\"NOT_SHIP\""),
	   "later pulls list only the orders awaiting shipment (NOT_SHIP)");
	is_int(fh_control(f, "orders_pull", "{}", &out), SK_OK, "orders_pull while one runs");
	ok(strstr(out, "\"started\":false") && strstr(out, "\"running\":true"), "... does not start a second");
	sold(f, it, "true", "1");
	fh_advance(f, 10);
	is_int(ncalls(f, DETAIL), 1, "a known delivered order: no second detail");
	is_int((int)fh_nsends(f), 2, "... nothing sent again");
	is_int(ncalls(f, SOLD), 2, "a page of known orders ends the pull, though nextPage is true");
	fh_free(f);
}

static void test_races(void)
{
	char it[600];
	const char *out;
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0}}");

	if (!f)
		return;
	add_codes(f, 5);
	fh_set_state(f, SK_STATE_CONNECTED);
	/* the pull first, then the paid card of the same order */
	item(it, sizeof it, "8101", "100", "待发货", "b1", "9.90", "1");
	sold(f, it, "false", "1");
	is_int(ncalls(f, DETAIL), 1, "race (pull first): the pull asks for the detail");
	trade(f, "c1", "b1", "8101", SK_TRADE_PAID);
	is_int(ncalls(f, DETAIL), 1, "race (pull first): the paid card does not ask again");
	is_str(col(f, "8101", "chat_id"), "c1", "race (pull first): the card gives the order its chat");
	detail(f, "100", 1, "b1");
	is_int((int)fh_nchats(f), 0, "race (pull first): no chat opened (the card's is there)");
	is_int((int)fh_nsends(f), 1, "race (pull first): one unit sent");
	complete_all(f);
	trade(f, "c1", "b1", "8101", SK_TRADE_PAID);
	is_int((int)fh_nsends(f), 1, "race (pull first): a repeated card sends nothing more");

	/* the card first (detail in flight), then the pull lists it */
	trade(f, "c1", "b1", "8102", SK_TRADE_PAID);
	is_int(ncalls(f, DETAIL), 2, "race (card first): the card asks for the detail");
	fh_control(f, "orders_pull", "{}", &out);
	item(it, sizeof it, "8102", "100", "待发货", "b1", "9.90", "1");
	sold(f, it, "false", "1");
	is_int(ncalls(f, DETAIL), 2, "race (card first): the pull does not ask again");
	is_str(col(f, "8102", "source"), "push", "race (card first): the order stays a pushed one");
	is_str(col(f, "8102", "amount"), "9.90", "race (card first): ... and gets its amount from the list");
	detail(f, "100", 1, "b1");
	is_int((int)fh_nsends(f), 2, "race (card first): one unit sent");
	fh_free(f);
}

static void test_paging_and_shapes(void)
{
	char it[600], it2[600];
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":1500,\"pull_pages\":3}}");

	if (!f)
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	item(it, sizeof it, "8201", "999", "已发货", "b1", "1.00", "1");
	sold(f, it, "true", "30");
	is_int(ncalls(f, SOLD), 1, "paging: the next page waits pull_gap_ms");
	fh_advance(f, 1500);
	is_int(ncalls(f, SOLD), 2, "paging: then page 2");
	ok(strstr(fh_mtop_at(f, (size_t)last_call(f, SOLD))->data, "\"pageNumber\":2"), "paging: pageNumber 2");
	item(it2, sizeof it2, "8202", "999", "已发货", "b1", "1.00", "1");
	sold(f, it2, "true", "60");
	fh_advance(f, 1500);
	is_int(ncalls(f, SOLD), 3, "paging: page 3");
	sold(f, it2, "true", "90");
	fh_advance(f, 5000);
	is_int(ncalls(f, SOLD), 3, "paging: pull_pages (3) ends the run though nextPage is true");
	fh_free(f);

	f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0,\"pull_shape\":\"xya\"}}");
	if (!f)
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	ok(strstr(fh_mtop_at(f, 0)->data, "\"pageSize\":20") && strstr(fh_mtop_at(f, 0)->data, "\"lastEndRow\":\"0\"") &&
	   strstr(fh_mtop_at(f, 0)->data, "\"userId\":\"" FH_OWN_ID "\"") && !strstr(fh_mtop_at(f, 0)->data, "queryCode"),
	   "xya shape: pageSize, lastEndRow 0, userId, no queryCode");
	sold(f, it, "true", "20");
	fh_advance(f, 0);
	ok(ncalls(f, SOLD) == 2 && strstr(fh_mtop_at(f, 1)->data, "\"lastEndRow\":\"20\"") &&
	   strstr(fh_mtop_at(f, 1)->data, "\"pageNumber\":2"), "xya shape: the next page from the answer's lastEndRow");
	sold(f, "", "false", "20");
	fh_free(f);
}

static void test_errors(void)
{
	char it[600], bad[600], both[1300];
	const char *out;
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0,\"retry_s\":60}}");

	if (!f)
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	fh_mtop_reply(f, 0, SK_MTOP_SESSION_EXPIRED, "FAIL_SYS_SESSION_EXPIRED::Session过期", "");
	fh_control(f, "orders_pull", "{}", &out);
	ok(jnum(out, "\"session_expired\"") == 1 && jnum(out, "\"errors\"") == 1 && strstr(out, "session expired"),
	   "the seller console's session expiry is counted and named");
	ok(fh_log_find(f, "the seller console's session expired") == 1, "... and logged");
	/* the control call started the next run: a bad item and a good one */
	item(bad, sizeof bad, "12ab", "100", "待发货", "b1", "1.00", "1");
	item(it, sizeof it, "8301", "100", "待发货", "b5", "x", "1");
	snprintf(both, sizeof both, "%s,%s", bad, it);
	sold(f, both, "false", "2");
	fh_control(f, "orders_pull", "{}", &out);
	ok(jnum(out, "\"bad\"") == 1, "an item without a valid orderId is skipped and counted");
	is_str(col(f, "8301", "amount"), "", "a totalPrice that is no amount is not stored");
	is_str(col(f, "8301", "source"), "pull", "... the order is recorded all the same");
	fh_mtop_reply(f, (size_t)last_call(f, SOLD), SK_MTOP_OK, "SUCCESS::调用成功", "{\"module\":{}}");
	fh_control(f, "orders_pull", "{}", &out);
	ok(strstr(out, "no module.items") != NULL, "an answer without module.items is an error");
	sold(f, "", "false", "0");

	/* a chat open that fails is tried again by the retry timer */
	sqlite3_exec(fh_db(f), "INSERT INTO orders_stock (card, code, added_ms, updated_ms) VALUES ('vip', 'W1', 0, 0)",
		     NULL, NULL, NULL);
	detail(f, "100", 1, "b5");
	is_int((int)fh_nchats(f), 1, "chat: opened for the pulled order");
	fh_chat_reply(f, 0, SK_ERR_IO, NULL);
	is_int((int)fh_nsends(f), 0, "chat: a failed open sends nothing");
	is_str(fh_q_str(f, "SELECT state FROM orders_unit WHERE order_id = '8301'"), "reserved",
	       "chat: the unit stays reserved");
	fh_advance(f, 60000);
	is_int((int)fh_nchats(f), 2, "chat: the retry timer opens it again");
	fh_chat_reply(f, 1, SK_OK, "c88");
	is_int((int)fh_nsends(f), 1, "chat: then the unit goes out");

	/* not connected: no run */
	fh_set_state(f, SK_STATE_RECONNECTING);
	fh_control(f, "orders_pull", "{}", &out);
	ok(strstr(out, "\"started\":false") != NULL, "not connected: orders_pull starts nothing");
	fh_free(f);

	f = start("{\"orders\":{\"pull_s\":0}}");
	if (!f)
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(ncalls(f, SOLD), 0, "pull_s 0: no pull");
	is_int(fh_control(f, "orders_pull", "{}", &out), SK_ERR_STATE, "pull_s 0: orders_pull says the pull is off");
	fh_free(f);
	f = start("{\"orders\":{\"pull_shape\":\"abc\"}}");
	ok(f == NULL, "a bad pull_shape is a config error: orders does not start");
	fh_free(f);
}

/* sk_chat_open through the real host: refused while not connected (the
 * units wait, the retry timer asks again), cancelled at unload. */
static void test_chat_host(void)
{
	char it[600];
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0,\"retry_s\":60}}");

	if (!f)
		return;
	add_codes(f, 2);
	fh_set_state(f, SK_STATE_CONNECTED);
	item(it, sizeof it, "8401", "100", "待发货", "b4", "9.90", "1");
	sold(f, it, "false", "1");
	fh_set_state(f, SK_STATE_RECONNECTING);
	detail(f, "100", 1, "b4");
	is_int((int)fh_nchats(f), 0, "chat_open while not connected: refused (SK_ERR_STATE)");
	ok(fh_log_find(f, "cannot open a chat with buyer b4 now") == 1, "... logged");
	is_str(fh_q_str(f, "SELECT state FROM orders_unit WHERE order_id = '8401'"), "reserved", "... the unit waits");
	fh_set_state(f, SK_STATE_CONNECTED);
	fh_advance(f, 60000);
	is_int((int)fh_nchats(f), 1, "connected again: the retry timer opens the chat");
	fh_unload(f);
	ok(fh_nchats(f) == 1 && fh_chat_at(f, 0)->cancelled && !fh_chat_at(f, 0)->answered,
	   "unloading the plugin cancels its chat open (no callback)");
	is_int(fh_chat_reply(f, 0, SK_OK, "c1"), -1, "... which cannot be answered any more");
	is_int((int)fh_nsends(f), 0, "... and nothing was sent");
	fh_free(f);
}

/* A pulled order with no stock: its buyer never wrote, so the waiting_stock
 * notice opens the chat and goes once it is open, once. */
static void test_notice_waits_for_chat(void)
{
	const char *out = NULL;
	char it[600];
	fh *f = start("{\"orders\":{\"confirm\":\"never\",\"pull_gap_ms\":0,\"pull_pages\":3}}");

	if (!ok(f != NULL, "notice: orders starts"))
		return;
	fh_set_state(f, SK_STATE_CONNECTED);
	item(it, sizeof it, "8101", "100", "待发货", "b5", "9.90", "1");
	sold(f, it, "false", "1");
	detail(f, "100", 1, "b5");
	is_int(fh_nsends(f), 0, "notice: nothing sent without a chat");
	is_str(fh_q_str(f, "SELECT kind || ':' || uuid FROM orders_notice WHERE order_id = '8101'"), "waiting_stock:",
	       "notice: out of stock, the waiting_stock notice is decided");
	is_int((int)fh_nchats(f), 1, "notice: ... and opens the chat with the buyer");
	/* a hand delivery before the chat is there: refused, and the chat opened */
	fh_chat_reply(f, 0, SK_ERR_IO, NULL);
	is_int(fh_control(f, "order_deliver", "{\"order_id\":\"8101\",\"text\":\"HAND-1\"}", &out), SK_ERR_STATE,
	       "deliver, no chat yet: 409");
	ok(out && strstr(out, "opening it now"), "deliver, no chat yet: ... saying the chat is being opened");
	is_int((int)fh_nchats(f), 2, "deliver, no chat yet: ... and opening it");
	fh_chat_reply(f, 1, SK_OK, "c51");
	is_int((int)fh_nsends(f), 1, "notice: once the chat is open, the notice is sent");
	ok(fh_nsends(f) == 1 && !strcmp(fh_send_at(f, 0)->chat_id, "c51") && strstr(fh_send_at(f, 0)->text, "库存"),
	   "notice: ... to that chat, the waiting text");
	complete_all(f);
	fh_advance(f, 700000);
	is_int((int)fh_nsends(f), 1, "notice: not sent again by the retries");
	is_int(fh_control(f, "order_deliver", "{\"order_id\":\"8101\",\"text\":\"HAND-1\"}", &out), SK_OK,
	       "deliver: with the chat open, the hand delivery goes");
	ok(fh_nsends(f) == 2 && !strcmp(fh_send_at(f, 1)->chat_id, "c51") && !strcmp(fh_send_at(f, 1)->text, "HAND-1"),
	   "deliver: ... the seller's text to that chat");
	fh_free(f);
}

int main(void)
{
	int fd;

	snprintf(rules, sizeof rules, "/tmp/sk_pull_rules_%d_XXXXXX", (int)getpid());
	fd = mkstemp(rules);
	if (fd >= 0) {
		const char *r = "{\"cards\":[{\"name\":\"vip\",\"type\":\"stock\",\"template\":\"{code}\"}],"
				"\"delivery\":[{\"item_id\":\"100\",\"spec\":null,\"card\":\"vip\"}]}";

		if (write(fd, r, strlen(r)) < 0)
			diag("cannot write the rules");
		close(fd);
	}
	test_new_order();
	test_races();
	test_paging_and_shapes();
	test_errors();
	test_chat_host();
	test_notice_waits_for_chat();
	unlink(rules);
	return tap_done();
}
