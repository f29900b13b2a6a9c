/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_orders_notice.c - plugins/orders through the fake host:
 * the delivery rule's quantity (units per item bought, max_quantity on the
 * total) and delay_s (over the card's); the buyer notices (waiting_stock,
 * cannot_deliver, after_delivery with a card's own text and image), each
 * once per order across retries, reloads and restarts, their defaults, a
 * notice the outbox could not take sent later, {item_title}; the rating
 * chore (rate.create 4.0 once, retried while refused, "already rated" is
 * done, bounded, the 快给ta一个评价吧~ reminder, after a restart); and the
 * validators of the new fields (orders' and autoreply's rules_check).
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <dlfcn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DETAIL "mtop.idle.web.trade.order.detail"
#define RATE "mtop.taobao.idle.rate.create"
#define ST_PAID "{\"orderStatusInfo\":{\"title\":\"等待卖家发货\"},\"orderStatusNodeList\":[" \
	"{\"title\":\"已拍下\",\"completed\":true},{\"title\":\"已付款\",\"completed\":true}]}"

static char rules[256];

static void write_rules(const char *text)
{
	FILE *fp = fopen(rules, "w");

	fputs(text, fp);
	fclose(fp);
}

static int load(fh *f)
{
	char so[512];

	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/orders.so"), NULL)) {
		diag("load: %s", fh_error(f));
		return -1;
	}
	fh_advance(f, 0);
	return 0;
}

static fh *start(const char *sections)
{
	fh *f = fh_new(sections, rules);

	if (f && load(f)) {
		fh_free(f);
		return NULL;
	}
	return f;
}

/* A restart of the plugin on the same database and outbox records. */
static int restart(fh *f)
{
	fh_unload(f);
	return load(f);
}

/* A restart whose outbox has forgotten every send: a new fake host (with
 * sections) on a copy of f's database, f freed. NULL on failure. */
static fh *moved(fh *f, const char *sections)
{
	fh *g = fh_new(sections, rules);
	sqlite3_backup *b;
	int rc = -1;

	fh_unload(f);
	if (g && (b = sqlite3_backup_init(fh_db(g), "main", fh_db(f), "main"))) {
		rc = sqlite3_backup_step(b, -1) == SQLITE_DONE ? 0 : -1;
		sqlite3_backup_finish(b);
	}
	fh_free(f);
	if (rc || load(g)) {
		if (g)
			fh_free(g);
		return NULL;
	}
	return g;
}

static void add_codes(fh *f, const char *card, const char *prefix, int n)
{
	for (int i = 0; i < n; i++) {
		char sql[256];

		snprintf(sql, sizeof sql, "INSERT INTO orders_stock (card, code, added_ms, updated_ms) "
			 "VALUES ('%s', '%s%d', 0, 0)", card, prefix, i + 1);
		sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL);
	}
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

/* A paid card for oid and the detail of buyer b1's order of qty of item. */
static void paid(fh *f, const char *oid, const char *item, int qty, const char *sku)
{
	char d[1024];

	trade(f, oid, SK_TRADE_PAID);
	snprintf(d, sizeof d, "{\"components\":[{\"render\":\"orderInfoVO\",\"data\":{\"itemInfo\":{\"itemId\":\"%s\","
		 "\"buyAmount\":%d,\"skuInfo\":\"%s\"},\"buyerUserId\":\"b1\",\"buyerNick\":\"小王\"}},"
		 "{\"render\":\"orderStatusVO\",\"data\":" ST_PAID "}],\"peerUserId\":\"b1\",\"itemId\":\"%s\"}",
		 item, qty, sku, item);
	reply(f, DETAIL, SK_MTOP_OK, "SUCCESS::调用成功", d);
}

/* Sends whose tag starts with prefix. */
static int nsends_tag(fh *f, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; i < fh_nsends(f); i++)
		n += !strncmp(fh_send_at(f, i)->tag, prefix, strlen(prefix));
	return n;
}

/* The last send whose tag is tag, NULL when none. */
static const fh_send *send_tagged(fh *f, const char *tag)
{
	const fh_send *s = NULL;

	for (size_t i = 0; i < fh_nsends(f); i++)
		if (!strcmp(fh_send_at(f, i)->tag, tag))
			s = fh_send_at(f, i);
	return s;
}

static void complete_all(fh *f)
{
	for (size_t i = 0; i < fh_nsends(f); i++)
		if (!fh_send_at(f, i)->state)
			fh_complete_send(f, fh_send_at(f, i)->uuid, 1, NULL);
}

static void reload(fh *f)
{
	sk_event e = fh_event(f, SK_EV_PLUGIN);

	e.topic = "core.reload";
	e.from_plugin = "core";
	e.payload_json = "{}";
	fh_dispatch(f, &e);
}

static int check(const char *so_rel, const char *json, char *errs, size_t n)
{
	char so[512];
	void *h = dlopen(fh_build_path(so, sizeof so, so_rel), RTLD_NOW | RTLD_LOCAL);
	const sk_plugin_desc *d = h ? dlsym(h, "sk_plugin_entry") : NULL;
	int rc = d && d->rules_check ? d->rules_check(json, strlen(json), errs, n) : -2;

	if (h)
		dlclose(h);
	return rc;
}

/* ---- quantity and delay --------------------------------------------------------- */

static void test_quantity_delay(void)
{
	fh *f;

	write_rules("{\"cards\": ["
		    " {\"name\": \"vip\", \"type\": \"stock\", \"template\": \"{code} x{quantity}\"},"
		    " {\"name\": \"slow\", \"type\": \"text\", \"template\": \"slow\", \"delay_s\": 30},"
		    " {\"name\": \"fast\", \"type\": \"text\", \"template\": \"fast\"}],"
		    " \"delivery\": ["
		    " {\"item_id\": \"100\", \"card\": \"vip\", \"quantity\": 3},"
		    " {\"item_id\": \"101\", \"card\": \"slow\", \"delay_s\": 0},"
		    " {\"item_id\": \"102\", \"card\": \"slow\", \"delay_s\": null},"
		    " {\"item_id\": \"103\", \"card\": \"fast\", \"delay_s\": 10},"
		    " {\"item_id\": \"104\", \"card\": \"vip\", \"quantity\": 2}],"
		    " \"notices\": {\"waiting_stock\": {\"enabled\": false}, \"cannot_deliver\": {\"enabled\": false}}}");
	f = start("{\"orders\":{\"confirm\":\"never\",\"max_quantity\":5}}");
	if (!ok(f != NULL, "quantity: started"))
		return;
	add_codes(f, "vip", "Q", 10);
	paid(f, "5001", "104", 2, "");
	is_int(nsends_tag(f, "order:5001:"), 4, "quantity 2 per item, 2 bought: 4 units");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_stock WHERE order_id = '5001'"), 4, "4 codes reserved");
	is_str(fh_nsends(f) ? fh_send_at(f, 0)->text : "", "Q1 x2", "{quantity} is the items bought");
	complete_all(f);
	is_str(fh_q_str(f, "SELECT delivery FROM orders_order WHERE order_id = '5001'"), "delivered", "delivered");
	paid(f, "5002", "100", 2, "");
	is_str(fh_q_str(f, "SELECT reason FROM orders_order WHERE order_id = '5002'"),
	       "quantity: the order is for 6 units (2 bought x 3 per item); orders.max_quantity is 5",
	       "max_quantity caps the total units");
	is_int(nsends_tag(f, "order:5002:"), 0, "nothing sent");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_stock WHERE order_id = '5002'"), 0, "nothing reserved");

	fh_clear_sends(f);
	paid(f, "5101", "101", 1, "");
	is_int(nsends_tag(f, "order:5101:"), 1, "rule delay_s 0 over the card's 30: sent at once");
	paid(f, "5102", "102", 1, "");
	is_int(nsends_tag(f, "order:5102:"), 0, "rule delay_s null: the card's 30 s");
	paid(f, "5103", "103", 1, "");
	is_int(nsends_tag(f, "order:5103:"), 0, "rule delay_s 10 on a card without delay: waits");
	fh_advance(f, 10000);
	is_int(nsends_tag(f, "order:5103:"), 1, "sent after 10 s");
	is_int(nsends_tag(f, "order:5102:"), 0, "the 30 s one still waits");
	fh_advance(f, 20000);
	is_int(nsends_tag(f, "order:5102:"), 1, "sent after 30 s");
	fh_free(f);
}

/* ---- notices ------------------------------------------------------------------------ */

static const char notice_rules[] =
	"{\"cards\": ["
	" {\"name\": \"vip\", \"type\": \"stock\", \"after_delivery\": {\"text\": \"兑换方法：{item_title} {order_id}\","
	"   \"image\": \"https://img.alicdn.com/howto.png\"}},"
	" {\"name\": \"plain\", \"type\": \"text\", \"template\": \"hello\"}],"
	" \"delivery\": [{\"item_id\": \"100\", \"card\": \"vip\"}, {\"item_id\": \"200\", \"card\": \"plain\"}],"
	" \"notices\": {\"waiting_stock\": {\"enabled\": true, \"text\": \"{buyer_name}，补货中 {quantity}\"},"
	"  \"after_delivery\": {\"enabled\": true, \"text\": \"谢谢 {buyer_name}\"}, \"comment\": \"c\"}}";

static void test_waiting_and_after(void)
{
	const fh_send *s;
	const char *out;
	fh *f;

	write_rules(notice_rules);
	f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":60}}");
	if (!ok(f != NULL, "notices: started"))
		return;
	sqlite3_exec(fh_db(f), "CREATE TABLE items_item (item_id TEXT PRIMARY KEY, title TEXT);"
		     "INSERT INTO items_item VALUES ('100', '视频会员月卡')", NULL, NULL, NULL);
	add_codes(f, "vip", "W", 1);
	paid(f, "6001", "100", 2, "");
	is_str(fh_q_str(f, "SELECT delivery FROM orders_order WHERE order_id = '6001'"), "failed", "out of stock: waits");
	is_int((int64_t)fh_nsends(f), 1, "one send: the notice");
	s = send_tagged(f, "6001:notice:waiting_stock");
	if (ok(s != NULL, "tagged <order>:notice:waiting_stock"))
		is_str(s->text, "小王，补货中 2", "its text rendered with the order's variables");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_notice WHERE order_id = '6001' AND kind = 'waiting_stock' "
		     "AND uuid <> ''"), 1, "recorded in orders_notice with its send");
	fh_advance(f, 61000);
	reload(f);
	is_int(nsends_tag(f, "6001:notice:"), 1, "a retry and a reload fail again: no second notice");
	if (!ok(restart(f) == 0, "restart"))
		goto out;
	fh_advance(f, 61000);
	is_int(nsends_tag(f, "6001:notice:"), 1, "nor after a restart");
	is_int(fh_control(f, "stock_import", "{\"card\":\"vip\",\"codes\":\"W9\\nW10\\n\"}", &out), SK_OK,
	       "stock_import");
	is_int(nsends_tag(f, "order:6001:"), 2, "the codes came: both units sent");
	complete_all(f);
	is_str(fh_q_str(f, "SELECT delivery FROM orders_order WHERE order_id = '6001'"), "delivered", "delivered");
	s = send_tagged(f, "6001:notice:after_delivery");
	if (ok(s != NULL, "after_delivery sent"))
		is_str(s->text, "兑换方法：视频会员月卡 6001", "the card's own text, with {item_title} from items_item");
	s = send_tagged(f, "6001:notice:after_delivery:image");
	if (ok(s != NULL, "and the card's image"))
		ok(s->image && !strcmp(s->url, "https://img.alicdn.com/howto.png"), "an image send of its url");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_notice WHERE order_id = '6001'"), 2, "two notices recorded");
	is_int((int64_t)fh_nsends(f), 5, "1 notice + 2 units + text and image");

	/* a card without its own: the global text; the order was never short of stock */
	paid(f, "6002", "200", 1, "");
	complete_all(f);
	s = send_tagged(f, "6002:notice:after_delivery");
	if (ok(s != NULL, "after_delivery of a card without its own"))
		is_str(s->text, "谢谢 小王", "the global text");
	is_int(nsends_tag(f, "6002:notice:waiting"), 0, "no waiting notice");
	/* delivered again by a repeated trigger: nothing more */
	trade(f, "6002", SK_TRADE_REMIND);
	if (!ok(restart(f) == 0, "restart"))
		goto out;
	is_int(nsends_tag(f, "6002:"), 1, "after a restart: still one notice");
out:
	fh_free(f);
}

static void test_defaults_and_cannot(void)
{
	const fh_send *s;
	fh *f;

	write_rules("{\"cards\": [{\"name\": \"plain\", \"type\": \"text\", \"template\": \"hello\"}],"
		    " \"delivery\": [{\"item_id\": \"200\", \"card\": \"plain\"}]}");
	f = start("{\"orders\":{\"confirm\":\"never\"}}");
	if (!ok(f != NULL, "defaults: started"))
		return;
	paid(f, "7001", "999", 1, "");
	ok(!strncmp(fh_q_str(f, "SELECT reason FROM orders_order WHERE order_id = '7001'"), "no_rule:", 8), "no_rule");
	s = send_tagged(f, "7001:notice:cannot_deliver");
	if (ok(s != NULL, "no \"notices\": cannot_deliver is on"))
		is_str(s->text, "这个订单需要人工处理，卖家会尽快联系您。", "with the default text");
	paid(f, "7002", "200", 1, "");
	complete_all(f);
	is_int(nsends_tag(f, "7002:notice:"), 0, "after_delivery is off by default");
	/* the outbox forgets finished sends after send.outbox_keep_days (a new fake
	 * host on a copy of the database: no sends recorded); orders_notice still knows */
	if (!ok((f = moved(f, "{\"orders\":{\"confirm\":\"never\"}}")) != NULL, "the database on a new host"))
		return;
	trade(f, "7001", SK_TRADE_REMIND);
	paid(f, "7001", "999", 1, "");
	ok(!strncmp(fh_q_str(f, "SELECT reason FROM orders_order WHERE order_id = '7001'"), "no_rule:", 8), "failed again");
	is_int(nsends_tag(f, "7001:notice:"), 0, "by a reminder, with the outbox emptied: no second notice");
	fh_free(f);

	/* a refused unit is a cannot_deliver too; "enabled": false keeps it quiet */
	write_rules("{\"cards\": [{\"name\": \"plain\", \"type\": \"text\", \"template\": \"hello\"}],"
		    " \"delivery\": [{\"item_id\": \"200\", \"card\": \"plain\"}],"
		    " \"notices\": {\"cannot_deliver\": {\"enabled\": false}}}");
	f = start("{\"orders\":{\"confirm\":\"never\"}}");
	if (!ok(f != NULL, "disabled: started"))
		return;
	paid(f, "7101", "999", 1, "");
	is_int((int64_t)fh_nsends(f), 0, "cannot_deliver off: nothing sent");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_notice"), 0, "nothing recorded");
	fh_free(f);

	write_rules("{\"cards\": [{\"name\": \"plain\", \"type\": \"text\", \"template\": \"hello\"}],"
		    " \"delivery\": [{\"item_id\": \"200\", \"card\": \"plain\"}]}");
	f = start("{\"orders\":{\"confirm\":\"never\"}}");
	if (!ok(f != NULL, "refused: started"))
		return;
	paid(f, "7201", "200", 1, "");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 0, "CSI_FORBID");
	ok(!strncmp(fh_q_str(f, "SELECT reason FROM orders_order WHERE order_id = '7201'"), "refused:", 8), "refused");
	ok(send_tagged(f, "7201:notice:cannot_deliver") != NULL, "a refused unit: cannot_deliver");
	fh_free(f);
}

/* A notice the outbox could not take is sent later, once; one queued just
 * before a crash (the uuid not recorded) is found in the outbox, not sent again. */
static void test_notice_later(void)
{
	fh *f;

	write_rules("{\"cards\": [{\"name\": \"vip\", \"type\": \"stock\"}],"
		    " \"delivery\": [{\"item_id\": \"100\", \"card\": \"vip\"}]}");
	f = start("{\"orders\":{\"confirm\":\"never\",\"retry_s\":60}}");
	if (!ok(f != NULL, "later: started"))
		return;
	fh_fail_sends(f, SK_ERR_FULL);
	paid(f, "8001", "100", 1, "");
	fh_fail_sends(f, 0);
	is_int((int64_t)fh_nsends(f), 0, "the outbox is full: nothing queued");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_notice WHERE order_id = '8001' AND uuid = ''"), 1,
	       "the decision is recorded, its send still to come");
	fh_advance(f, 60000);
	is_int(nsends_tag(f, "8001:notice:waiting_stock"), 1, "sent by the retry");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_notice WHERE uuid = ''"), 0, "and recorded");
	fh_advance(f, 60000);
	is_int(nsends_tag(f, "8001:notice:"), 1, "once");

	/* a crash after the send was queued, before its uuid was recorded */
	sqlite3_exec(fh_db(f), "UPDATE orders_notice SET uuid = ''", NULL, NULL, NULL);
	if (!ok(restart(f) == 0, "restart"))
		goto out;
	is_int(nsends_tag(f, "8001:notice:"), 1, "the outbox has it: not sent again");
	is_str(fh_q_str(f, "SELECT uuid FROM orders_notice WHERE order_id = '8001'"), send_tagged(f, "8001:notice:waiting_stock")->uuid,
	       "its uuid adopted");
out:
	fh_free(f);
}

/* ---- rating ---------------------------------------------------------------------- */

static const char rate_rules[] =
	"{\"cards\": [{\"name\": \"plain\", \"type\": \"text\", \"template\": \"hello\"}],"
	" \"delivery\": [{\"item_id\": \"200\", \"card\": \"plain\"}],"
	" \"chores\": {\"rate\": {\"enabled\": true, \"text\": \"谢谢{buyer_name}\"}, \"polish\": {\"anything\": 1}}}";

static int rate_calls(fh *f)
{
	int n = 0;

	for (size_t i = 0; i < fh_nmtop(f); i++)
		n += !strcmp(fh_mtop_at(f, i)->api, RATE);
	return n;
}

static void test_rate(void)
{
	const fh_mtop *m;
	fh *f;

	write_rules(rate_rules);
	f = start("{\"orders\":{\"confirm\":\"never\",\"rate_retry_s\":600,\"rate_attempts\":3}}");
	if (!ok(f != NULL, "rate: started"))
		return;
	paid(f, "9001", "200", 1, "");
	complete_all(f);
	is_int(rate_calls(f), 0, "not rated while only paid");
	trade(f, "9001", SK_TRADE_COMPLETED);
	if (!ok(rate_calls(f) == 1, "completed: rate.create called"))
		goto out;
	m = fh_mtop_at(f, fh_nmtop(f) - 1);
	is_str(m->version, "4.0", "version 4.0");
	is_str(m->data, "{\"tradeId\":\"9001\",\"rate\":1,\"feedback\":\"谢谢小王\",\"createOrAppend\":0}",
	       "its data, the text rendered");
	trade(f, "9001", SK_TRADE_COMPLETED);
	is_int(rate_calls(f), 1, "a repeated card while it is in flight: no second call");
	reply(f, RATE, SK_MTOP_FAIL, "FAIL_BIZ_RATE_NOT_ALLOWED::交易成功后才能评价", NULL);
	is_str(fh_q_str(f, "SELECT state FROM orders_rate WHERE order_id = '9001'"), "pending", "refused: pending");
	fh_advance(f, 599000);
	is_int(rate_calls(f), 1, "not before rate_retry_s");
	fh_advance(f, 1000);
	is_int(rate_calls(f), 2, "tried again after rate_retry_s");
	reply(f, RATE, SK_MTOP_OK, "SUCCESS::调用成功", "{}");
	is_str(fh_q_str(f, "SELECT state FROM orders_rate WHERE order_id = '9001'"), "done", "done");
	is_int(fh_q_int(f, "SELECT attempts FROM orders_rate WHERE order_id = '9001'"), 2, "two attempts");
	trade(f, "9001", SK_TRADE_COMPLETED);
	if (!ok(restart(f) == 0, "restart"))
		goto out;
	fh_advance(f, 3600000);
	is_int(rate_calls(f), 2, "rated once: not again, nor after a restart");

	/* the reminder of §7.3(a); the platform says it is rated already */
	{
		sk_event e = fh_event(f, SK_EV_SYSTEM);

		e.chat_id = "c1";
		e.text = "快给ta一个评价吧～";
		e.order_id = "9002";
		fh_dispatch(f, &e);
	}
	if (ok(rate_calls(f) == 3, "the reminder text starts a rating"))
		reply(f, RATE, SK_MTOP_FAIL, "FAIL_BIZ_RATE_DUPLICATE::该订单已评价", NULL);
	is_str(fh_q_str(f, "SELECT state || ' ' || reason FROM orders_rate WHERE order_id = '9002'"), "done already rated",
	       "already rated: done");

	/* bounded: rate_attempts refusals, then failed; a pending one resumes after a restart */
	trade(f, "9003", SK_TRADE_PAID);
	trade(f, "9003", SK_TRADE_COMPLETED);
	reply(f, RATE, SK_MTOP_FAIL, "FAIL_BIZ_X::not yet", NULL);
	if (!ok(restart(f) == 0, "restart"))
		goto out;
	fh_advance(f, 600000);
	is_int(rate_calls(f), 5, "a pending rating resumes after a restart when due");
	reply(f, RATE, SK_MTOP_FAIL, "FAIL_BIZ_X::not yet", NULL);
	fh_advance(f, 600000);
	reply(f, RATE, SK_MTOP_FAIL, "FAIL_BIZ_X::not yet", NULL);
	is_str(fh_q_str(f, "SELECT state FROM orders_rate WHERE order_id = '9003'"), "failed", "3 refusals: failed");
	fh_advance(f, 6000000);
	is_int(rate_calls(f), 6, "and no more calls");
out:
	fh_free(f);

	/* off by default */
	write_rules("{\"cards\": [], \"chores\": {\"polish\": {\"enabled\": true}}}");
	f = start("{\"orders\":{}}");
	if (!ok(f != NULL, "rate off: started"))
		return;
	trade(f, "9101", SK_TRADE_PAID);
	trade(f, "9101", SK_TRADE_COMPLETED);
	is_int(rate_calls(f), 0, "chores.rate absent: no rating");
	is_int(fh_q_int(f, "SELECT count(*) FROM orders_rate"), 0, "nothing recorded");
	fh_free(f);
}

/* ---- validators ------------------------------------------------------------------- */

static void test_validate(void)
{
	char errs[4096];
	char big[700];
	char doc[1200];

	is_int(check("plugins/orders.so", notice_rules, errs, sizeof errs), 0, "notices: accepted");
	is_str(errs, "", "no errors");
	is_int(check("plugins/orders.so", rate_rules, errs, sizeof errs), 0, "chores: accepted (polish is not ours)");
	is_int(check("plugins/autoreply.so", notice_rules, errs, sizeof errs), 0, "autoreply accepts notices");
	is_int(check("plugins/autoreply.so", rate_rules, errs, sizeof errs), 0, "autoreply accepts chores");

	is_int(check("plugins/orders.so", "{\"cards\": [{\"name\": \"c\", \"type\": \"text\", \"template\": \"t\"}],"
		     " \"delivery\": [{\"item_id\": \"1\", \"card\": \"c\", \"quantity\": 0},"
		     " {\"item_id\": \"2\", \"card\": \"c\", \"quantity\": 101},"
		     " {\"item_id\": \"3\", \"card\": \"c\", \"quantity\": \"2\"},"
		     " {\"item_id\": \"4\", \"card\": \"c\", \"delay_s\": -1},"
		     " {\"item_id\": \"5\", \"card\": \"c\", \"delay_s\": 86401},"
		     " {\"item_id\": \"6\", \"card\": \"c\", \"quantity\": 100, \"delay_s\": 86400},"
		     " {\"item_id\": \"6\", \"spec\": null, \"card\": \"c\", \"quantity\": 2}]}", errs, sizeof errs), -1,
	       "bad quantities and delays refused");
	ok(strstr(errs, "delivery[0].quantity: must be a whole number from 1 to 100\n") != NULL, "quantity 0");
	ok(strstr(errs, "delivery[1].quantity: must be a whole number from 1 to 100\n") != NULL, "quantity 101");
	ok(strstr(errs, "delivery[2].quantity: must be a whole number from 1 to 100\n") != NULL, "quantity a string");
	ok(strstr(errs, "delivery[3].delay_s: must be a whole number from 0 to 86400\n") != NULL, "delay_s -1");
	ok(strstr(errs, "delivery[4].delay_s: must be a whole number from 0 to 86400\n") != NULL, "delay_s 86401");
	ok(!strstr(errs, "delivery[5]."), "quantity 100 and delay_s 86400 are fine");
	ok(strstr(errs, "delivery[6]: delivery[5] is for the same item 6 and spec null") != NULL,
	   "two rules for one item and spec: still refused");

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(doc, sizeof doc, "{\"notices\": {\"bogus\": {}, \"waiting_stock\": {\"text\": \"{code}\", \"colour\": 1,"
		 " \"image\": \"https://x/y.png\"}, \"cannot_deliver\": {\"enabled\": \"yes\", \"text\": \"\"},"
		 " \"after_delivery\": {\"text\": \"%s\", \"image\": \"ftp://x\"}}}", big);
	is_int(check("plugins/orders.so", doc, errs, sizeof errs), -1, "bad notices refused");
	ok(strstr(errs, "notices.bogus: unknown field\n") != NULL, "an unknown notice");
	ok(strstr(errs, "notices.waiting_stock.colour: unknown field\n") != NULL, "an unknown field");
	ok(strstr(errs, "notices.waiting_stock.text: unknown variable {code}") != NULL, "{code} is no notice variable");
	ok(strstr(errs, "notices.waiting_stock.image: only after_delivery sends an image\n") != NULL, "image elsewhere");
	ok(strstr(errs, "notices.cannot_deliver.enabled: must be true or false\n") != NULL, "enabled not a bool");
	ok(strstr(errs, "notices.cannot_deliver.text: must not be empty") != NULL, "an empty text");
	ok(strstr(errs, "notices.after_delivery.text: at most 500 bytes, not 699\n") != NULL, "a text too long");
	ok(strstr(errs, "notices.after_delivery.image: must be an http(s) url\n") != NULL, "a bad image url");
	is_int(check("plugins/orders.so", "{\"notices\": []}", errs, sizeof errs), -1, "notices not an object");
	is_str(errs, "notices: must be an object\n", "says so");

	is_int(check("plugins/orders.so", "{\"cards\": [{\"name\": \"a\", \"type\": \"text\", \"template\": \"t\","
		     " \"after_delivery\": {}}, {\"name\": \"b\", \"type\": \"text\", \"template\": \"t\","
		     " \"after_delivery\": {\"text\": \"{nope}\", \"enabled\": true}}]}", errs, sizeof errs), -1,
	       "bad card after_delivery refused");
	ok(strstr(errs, "cards[0].after_delivery: needs a text or an image") != NULL, "an empty one");
	ok(strstr(errs, "cards[1].after_delivery.text: unknown variable {nope}") != NULL, "an unknown variable");
	ok(strstr(errs, "cards[1].after_delivery.enabled: unknown field\n") != NULL, "no enabled on a card's");

	is_int(check("plugins/orders.so", "{\"chores\": {\"rate\": {\"enabled\": 1, \"text\": \"\", \"when\": 3},"
		     " \"dust\": {}}}", errs, sizeof errs), -1, "bad chores refused");
	ok(strstr(errs, "chores.dust: unknown field\n") != NULL, "an unknown chore");
	ok(strstr(errs, "chores.rate.when: unknown field\n") != NULL, "an unknown field of rate");
	ok(strstr(errs, "chores.rate.enabled: must be true or false\n") != NULL, "enabled not a bool");
	ok(strstr(errs, "chores.rate.text: must not be empty") != NULL, "an empty text");
	is_int(check("plugins/orders.so", "{\"chores\": {\"rate\": {\"text\": \"{item_title} {code}\"}}}", errs,
		     sizeof errs), -1, "rate text variables checked");
	ok(strstr(errs, "chores.rate.text: unknown variable {code}") != NULL, "{code} refused, {item_title} known");
	is_int(check("plugins/autoreply.so", "{\"notices\": 5, \"chores\": 6}", errs, sizeof errs), 0,
	       "autoreply leaves them to orders");
	is_int(check("plugins/autoreply.so", "{\"noticez\": {}}", errs, sizeof errs), -1,
	       "autoreply still refuses an unknown key");
}

int main(void)
{
	snprintf(rules, sizeof rules, "/tmp/sk-orders-notice-%d.json", (int)getpid());
	test_validate();
	test_quantity_delay();
	test_waiting_and_after();
	test_defaults_and_cannot();
	test_notice_later();
	test_rate();
	unlink(rules);
	return tap_done();
}
