/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_items.c - plugins/items through the fake host: the sync
 * waits for CONNECTED, reads the item list page by page (gaps between pages,
 * a short page ends it), then each item's detail (stock, skus in fen shown in
 * yuan, the major picture, a business failure marks the item and the run
 * goes on; the desc, cut to 16 KB); items no longer listed are kept as gone; the refresh timer, one
 * sync at a time, an account error stops the run and it is tried again;
 * items_list and items_refresh; the polish chore (the Beijing hour and day,
 * the outcomes, one record per item and day that survives a restart, an
 * account error stops the round) and chores.polish's validation
 * (rules_check from the .so without a host, and a refused file at load).
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST "mtop.idle.web.xyh.item.list"
#define DETAIL "mtop.taobao.idle.pc.detail"
#define POLISH "mtop.taobao.idle.item.polish"
/* FH_START_NOW_MS is 2023-11-15 06:13:20 in Beijing; 09:00 there is 01:00 UTC. */
#define BJ_0900_MS 1700010000000LL
#define BJ_NEXT_0000_MS 1700064000000LL

static char rules[256];

static void write_rules(const char *text)
{
	FILE *fp = fopen(rules, "w");

	fputs(text, fp);
	fclose(fp);
}

static fh *start(const char *sections, int state)
{
	char so[512];
	fh *f = fh_new(sections, rules);

	if (!f)
		return NULL;
	if (state != SK_STATE_CONNECTED)
		fh_set_state(f, state);
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/items.so"), NULL)) {
		diag("load: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	fh_advance(f, 0);
	return f;
}

/* Unanswered calls of api. */
static int pending(fh *f, const char *api)
{
	int n = 0;

	for (size_t i = 0; i < fh_nmtop(f); i++)
		n += !fh_mtop_at(f, i)->answered && !strcmp(fh_mtop_at(f, i)->api, api);
	return n;
}

/* The data of the one unanswered call of api ("" when none). */
static const char *pending_data(fh *f, const char *api)
{
	for (size_t i = 0; i < fh_nmtop(f); i++)
		if (!fh_mtop_at(f, i)->answered && !strcmp(fh_mtop_at(f, i)->api, api))
			return fh_mtop_at(f, i)->data;
	return "";
}

/* Answers the one unanswered call of api. */
static int answer(fh *f, const char *api, int result, const char *ret, const char *data)
{
	for (size_t i = 0; i < fh_nmtop(f); i++)
		if (!fh_mtop_at(f, i)->answered && !strcmp(fh_mtop_at(f, i)->api, api))
			return fh_mtop_reply(f, i, result, ret ? ret : result == SK_MTOP_OK ? "SUCCESS::调用成功" : "", data);
	diag("no pending %s call", api);
	return -1;
}

/* A cardList entry; id_json is the id as JSON ("\"101\"" or 101). */
static void card(char *buf, size_t n, const char *id_json, const char *title, const char *price)
{
	size_t used = strlen(buf);

	snprintf(buf + used, n - used, "%s{\"cardType\":1003,\"cardData\":{\"id\":%s,\"title\":\"%s\","
		 "\"priceInfo\":{\"price\":\"%s\",\"preText\":\"¥\"},\"picInfo\":{\"picUrl\":\"//img.alicdn.com/l/%s.jpg\"},"
		 "\"itemStatus\":0}}", used > 14 ? "," : "", id_json, title, price, title);
}

/* Answers the pending list page with the cards given as (id_json, title, price) triples. */
static int list_page(fh *f, int ncards, const char *const *cards)
{
	char buf[8192] = "{\"cardList\":[";

	for (int i = 0; i < ncards; i++)
		card(buf, sizeof buf, cards[3 * i], cards[3 * i + 1], cards[3 * i + 2]);
	strcat(buf, "]}");
	return answer(f, LIST, SK_MTOP_OK, NULL, buf);
}

/* A detail answer: a desc made of the title, soldPrice, quantity, and two skus (fen). */
static int detail_ok(fh *f, const char *title, const char *sold, int qty)
{
	char d[2048];

	snprintf(d, sizeof d, "{\"itemDO\":{\"itemId\":1,\"title\":\"%s\",\"desc\":\"%s：全新\\n可验货\",\"soldPrice\":\"%s\",\"quantity\":%d,"
		 "\"itemStatus\":0,\"itemStatusStr\":\"在售\",\"imageInfos\":[{\"url\":\"https://img.alicdn.com/minor.jpg\","
		 "\"major\":false},{\"url\":\"//img.alicdn.com/major.jpg\",\"major\":true}],"
		 "\"skuList\":[{\"skuId\":5001,\"price\":5000,\"quantity\":3,\"propertyList\":[{\"propertyText\":\"面值\","
		 "\"valueText\":\"50元\"},{\"propertyText\":\"颜色\",\"valueText\":\"红\"}]},"
		 "{\"skuId\":\"5002\",\"price\":\"10050\",\"quantity\":\"0\",\"propertyList\":[{\"propertyText\":\"面值\","
		 "\"valueText\":\"100元\"}]}]}}", title, title, sold, qty);
	return answer(f, DETAIL, SK_MTOP_OK, NULL, d);
}

/* items_list's data parsed (caller deletes), NULL on failure. */
static cJSON *items_list(fh *f)
{
	const char *out;

	if (fh_control(f, "items_list", "{}", &out) != 0) {
		diag("items_list: %s", out);
		return NULL;
	}
	return cJSON_Parse(out);
}

/* The items_list entry of id (borrowed from list), NULL when absent. */
static const cJSON *item_of(const cJSON *list, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "item_id")), id))
			return it;
	return NULL;
}

static const char *sfield(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));

	return s ? s : "(not a string)";
}

static double nfield(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -999;
}

/* ---- sync ---------------------------------------------------------------------- */

#define SYNC_CFG "{\"items\":{\"page_size\":2,\"page_gap_ms\":1000,\"detail_gap_ms\":500,\"refresh_s\":3600,\"retry_s\":60}}"

static void test_sync(void)
{
	static const char *const p1[] = { "\"101\"", "月卡", "12.5", "102", "年卡", "3" };
	static const char *const p2[] = { "\"103\"", "季卡", "0.99" };
	static const char *const again[] = { "\"101\"", "月卡新", "13" };
	fh *f = start(SYNC_CFG, SK_STATE_CONNECTING);
	const char *out;
	cJSON *l;
	const cJSON *it, *sku;

	if (!ok(f != NULL, "items loads"))
		return;
	is_int(pending(f, LIST), 0, "sync: nothing before the session is CONNECTED");
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(pending(f, LIST), 1, "sync: CONNECTED starts it with the first list page");
	ok(strstr(pending_data(f, LIST), "\"pageNumber\":1") && strstr(pending_data(f, LIST), "\"pageSize\":2") &&
	   strstr(pending_data(f, LIST), "\"groupId\":\"58877261\"") && strstr(pending_data(f, LIST), "\"groupName\":\"在售\"") &&
	   strstr(pending_data(f, LIST), "\"userId\":\"" FH_OWN_ID "\""), "sync: page 1 of the on-sale group, our user id");
	fh_control(f, "items_refresh", "{}", &out);
	ok(strstr(out, "\"started\":false") && strstr(out, "\"refreshing\":true"), "items_refresh: one sync at a time");
	is_int(pending(f, LIST), 1, "items_refresh: no second list call");
	list_page(f, 2, p1);
	fh_advance(f, 999);
	is_int(pending(f, LIST), 0, "sync: page_gap_ms between pages");
	fh_advance(f, 1);
	ok(pending(f, LIST) == 1 && strstr(pending_data(f, LIST), "\"pageNumber\":2"), "sync: then page 2");
	list_page(f, 1, p2);
	is_int(pending(f, LIST), 0, "sync: a short page ends the list");
	fh_advance(f, 499);
	is_int(pending(f, DETAIL), 0, "sync: detail_gap_ms before a detail");
	fh_advance(f, 1);
	ok(pending(f, DETAIL) == 1 && !strcmp(pending_data(f, DETAIL), "{\"itemId\":\"101\"}"), "sync: the detail of 101");
	detail_ok(f, "月卡", "12.50", 7);
	fh_advance(f, 500);
	ok(strstr(pending_data(f, DETAIL), "102") != NULL, "sync: then 102");
	answer(f, DETAIL, SK_MTOP_FAIL, "FAIL_BIZ_ITEM_NOT_EXIST::商品不存在", "");
	fh_advance(f, 500);
	ok(strstr(pending_data(f, DETAIL), "103") != NULL, "sync: a business failure does not stop the run");
	answer(f, DETAIL, SK_MTOP_TRANSPORT, "", "");
	fh_advance(f, 500);
	is_int(pending(f, DETAIL) + pending(f, LIST), 0, "sync: done after the last detail");
	l = items_list(f);
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 3, "items_list: three items");
	it = item_of(l, "101");
	is_str(sfield(cJSON_GetArrayItem(cJSON_GetObjectItem(l, "items"), 0), "item_id"), "101", "items_list: in list order");
	is_str(sfield(it, "title"), "月卡", "101: title");
	is_str(sfield(it, "price"), "12.50", "101: price in yuan, two decimals");
	ok(nfield(it, "quantity") == 7, "101: stock from the detail");
	is_str(sfield(it, "status_text"), "在售", "101: status text");
	is_str(sfield(it, "pic_url"), "https://img.alicdn.com/major.jpg", "101: the major picture, https: added");
	sku = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "skus"), 0);
	is_str(sfield(sku, "spec"), "面值:50元;颜色:红", "101: sku spec name:value joined by ;");
	is_str(sfield(sku, "price"), "50.00", "101: sku price from fen to yuan");
	ok(nfield(sku, "quantity") == 3 && !strcmp(sfield(sku, "sku_id"), "5001"), "101: sku stock and id");
	sku = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "skus"), 1);
	ok(!strcmp(sfield(sku, "price"), "100.50") && nfield(sku, "quantity") == 0 && !strcmp(sfield(sku, "spec"), "面值:100元"),
	   "101: string fen and quantities (valueType=string) read too");
	ok(cJSON_IsFalse(cJSON_GetObjectItem(it, "gone")) && nfield(it, "synced_ms") > 0, "101: listed, synced_ms");
	is_str(sfield(it, "desc"), "月卡：全新\n可验货", "101: the detail's desc");
	it = item_of(l, "102");
	ok(it && nfield(it, "status") == -1 && !strcmp(sfield(it, "status_text"), "商品不存在") &&
	   !strcmp(sfield(it, "price"), "3.00"), "102: the business failure marks the item (list price kept)");
	it = item_of(l, "103");
	is_str(sfield(it, "desc"), "", "102: no desc without a detail");
	ok(it && cJSON_IsNull(cJSON_GetObjectItem(it, "quantity")) && !strcmp(sfield(it, "price"), "0.99") &&
	   !strcmp(sfield(it, "pic_url"), "https://img.alicdn.com/l/季卡.jpg"),
	   "103: no detail (transport): the list's price and picture, quantity null");
	ok(strstr(sfield(l, "last_error"), "103") != NULL, "items_list: last_error names the last failure");
	ok(cJSON_IsFalse(cJSON_GetObjectItem(l, "refreshing")) && nfield(l, "synced_ms") > 0, "items_list: not refreshing, synced");
	cJSON_Delete(l);

	/* the refresh timer: not before refresh_s, then within a tenth more */
	fh_advance(f, 3600 * 1000 - 1000 - 1);
	is_int(pending(f, LIST), 0, "refresh: nothing before refresh_s");
	fh_advance(f, 360 * 1000 + 1000 + 1);
	is_int(pending(f, LIST), 1, "refresh: a sync within refresh_s plus a tenth");
	list_page(f, 1, again);
	fh_advance(f, 500);
	detail_ok(f, "月卡新", "13.00", 6);
	fh_advance(f, 500);
	l = items_list(f);
	it = item_of(l, "101");
	ok(it && cJSON_IsFalse(cJSON_GetObjectItem(it, "gone")) && !strcmp(sfield(it, "title"), "月卡新") &&
	   !strcmp(sfield(it, "price"), "13.00"), "refresh: 101 updated");
	is_str(sfield(it, "desc"), "月卡新：全新\n可验货", "refresh: 101's desc updated");
	ok(item_of(l, "102") && cJSON_IsTrue(cJSON_GetObjectItem(item_of(l, "102"), "gone")) && item_of(l, "103") &&
	   cJSON_IsTrue(cJSON_GetObjectItem(item_of(l, "103"), "gone")), "refresh: items no longer listed are kept as gone");
	is_str(sfield(cJSON_GetArrayItem(cJSON_GetObjectItem(l, "items"), 0), "item_id"), "101", "items_list: listed items first");
	is_str(sfield(l, "last_error"), "", "items_list: a clean run clears last_error");
	cJSON_Delete(l);

	/* on demand */
	fh_control(f, "items_refresh", "{}", &out);
	ok(strstr(out, "\"started\":true") != NULL && pending(f, LIST) == 1, "items_refresh: starts a sync");
	/* an account error stops the run; a later CONNECTED or retry_s tries again */
	answer(f, LIST, SK_MTOP_SESSION_EXPIRED, "FAIL_SYS_SESSION_EXPIRED::Session过期", "");
	l = items_list(f);
	ok(strstr(sfield(l, "last_error"), "session expired") && cJSON_IsFalse(cJSON_GetObjectItem(l, "refreshing")),
	   "sync: session expired stops the run, last_error says so");
	cJSON_Delete(l);
	ok(fh_log_find(f, "item sync stopped") >= 1, "sync: ... logged");
	fh_advance(f, 59999);
	is_int(pending(f, LIST), 0, "sync: not again before retry_s");
	fh_advance(f, 1);
	is_int(pending(f, LIST), 1, "sync: again after retry_s");
	answer(f, LIST, SK_MTOP_RISK, "FAIL_SYS_USER_VALIDATE", "");
	fh_advance(f, 60000);
	is_int(pending(f, LIST), 0, "sync: a second stop in a row waits twice retry_s");
	fh_set_state(f, SK_STATE_FAILED);
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(pending(f, LIST), 1, "sync: the next CONNECTED after a stopped run syncs");
	list_page(f, 1, again);
	fh_advance(f, 500);
	answer(f, DETAIL, SK_MTOP_RISK, "FAIL_SYS_USER_VALIDATE", "");
	fh_advance(f, 10000);
	is_int(pending(f, DETAIL) + pending(f, LIST), 0, "sync: risk control on a detail stops the run");
	fh_set_state(f, SK_STATE_RECONNECTING);
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(pending(f, LIST), 1, "sync: ... tried again at CONNECTED");
	list_page(f, 1, again);
	fh_advance(f, 500);
	detail_ok(f, "月卡新", "13.00", 6);
	fh_advance(f, 500);
	fh_set_state(f, SK_STATE_RECONNECTING);
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(pending(f, LIST), 0, "sync: a CONNECTED after a complete run does not sync again");
	ok(fh_control(f, "items_list", "{\"limit\":0}", &out) == SK_ERR_INVAL && strstr(out, "limit"), "items_list: a bad limit is refused");
	ok(fh_control(f, "items_list", "[1]", &out) == SK_ERR_INVAL, "items_list: data must be an object");
	fh_free(f);
}

/* A page without cardList is an empty list; garbage stops the run; bad cards are skipped and counted. */
static void test_sync_bad_answers(void)
{
	fh *f = start(SYNC_CFG, SK_STATE_CONNECTED);
	cJSON *l;

	if (!f)
		return;
	answer(f, LIST, SK_MTOP_OK, NULL, "{\"cardList\":7}");
	l = items_list(f);
	ok(strstr(sfield(l, "last_error"), "cardList") != NULL, "sync: a cardList that is not a list stops the run");
	cJSON_Delete(l);
	fh_advance(f, 60000);
	answer(f, LIST, SK_MTOP_OK, NULL, "{\"cardList\":[{\"cardData\":{\"id\":\"x1\"}},{\"cardData\":{}},"
	       "{\"cardData\":{\"id\":\"105\",\"title\":\"T\",\"priceInfo\":{\"price\":\"abc\"}}}]}");
	fh_advance(f, 1000);
	answer(f, LIST, SK_MTOP_OK, NULL, "{}");
	fh_advance(f, 10000);
	answer(f, DETAIL, SK_MTOP_OK, NULL, "{\"nothing\":1}");
	fh_advance(f, 10000);
	l = items_list(f);
	ok(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")) == 1 && item_of(l, "105") &&
	   cJSON_IsNull(cJSON_GetObjectItem(item_of(l, "105"), "price")),
	   "sync: cards without a usable id are skipped; a bad price is null");
	ok(strstr(sfield(l, "last_error"), "itemDO") != NULL, "sync: a detail without itemDO is counted");
	ok(fh_log_find(f, "2 of 3 cards") >= 1, "sync: the skipped cards are logged");
	cJSON_Delete(l);
	fh_free(f);
}

/* ---- polish -------------------------------------------------------------------- */

static const char polish_rules[] =
	"{\"chores\":{\"rate\":{\"enabled\":true,\"text\":\"orders' own\"},"
	"\"polish\":{\"enabled\":true,\"items\":[\"201\",202,\"203\"],\"hour\":9}},"
	"\"cards\":[],\"keyword_rules\":[]}";

#define POLISH_CFG "{\"items\":{\"refresh_s\":2592000,\"polish_gap_ms\":2000}}"

/* Answers the start's sync: items 201 and 202 listed, their details. */
static void sync_201_202(fh *f)
{
	static const char *const c[] = { "\"201\"", "A", "1", "\"202\"", "B", "2" };

	list_page(f, 2, c);
	fh_advance(f, 500);
	detail_ok(f, "A", "1.00", 1);
	fh_advance(f, 500);
	detail_ok(f, "B", "2.00", 1);
	fh_advance(f, 500);
}

/* Advances the clock to wall time ms. */
static void advance_to(fh *f, int64_t ms)
{
	if (ms > fh_now_ms(f))
		fh_advance(f, ms - fh_now_ms(f));
}

static void test_polish(void)
{
	char so[512];
	fh *f;
	cJSON *l;

	write_rules(polish_rules);
	if (!(f = start(POLISH_CFG, SK_STATE_CONNECTED)))
		return;
	sync_201_202(f);
	advance_to(f, BJ_0900_MS - 1);
	is_int(pending(f, POLISH), 0, "polish: nothing before 9:00 Beijing time");
	fh_advance(f, 120000);
	is_int(pending(f, POLISH), 1, "polish: at 9:00 Beijing time (the check is every minute), one item");
	is_str(pending_data(f, POLISH), "{\"itemId\":\"201\"}", "polish: the first chosen item");
	answer(f, POLISH, SK_MTOP_OK, NULL, "{}");
	fh_advance(f, 1999);
	is_int(pending(f, POLISH), 0, "polish: polish_gap_ms between items");
	fh_advance(f, 1);
	is_str(pending_data(f, POLISH), "{\"itemId\":\"202\"}", "polish: a number id is an id too");
	answer(f, POLISH, SK_MTOP_FAIL, "POLISH_DUPLICATE::一天只能擦亮一次", "");
	fh_advance(f, 2000);
	is_str(pending_data(f, POLISH), "{\"itemId\":\"203\"}", "polish: then 203");
	answer(f, POLISH, SK_MTOP_FAIL, "UNSUPPORTED_ITEM_STATUS::已下架商品不支持该操作", "");
	ok(fh_log_find(f, "203 is delisted") >= 1, "polish: a delisted item is logged");
	fh_advance(f, 3 * 3600 * 1000);
	is_int(pending(f, POLISH), 0, "polish: nothing more that day");
	is_int(fh_q_int(f, "SELECT count(*) FROM items_polish WHERE day = '2023-11-15'"), 3, "polish: one record per item");
	is_int(fh_q_int(f, "SELECT count(*) FROM items_polish WHERE result = 'ok' AND item_id = '201'") +
	       fh_q_int(f, "SELECT count(*) FROM items_polish WHERE result = 'duplicate' AND item_id = '202'") +
	       fh_q_int(f, "SELECT count(*) FROM items_polish WHERE result = 'skipped' AND item_id = '203'"), 3,
	       "polish: ok, duplicate (done), skipped (delisted)");
	l = items_list(f);
	ok(!strcmp(sfield(item_of(l, "201"), "polished_day"), "2023-11-15") &&
	   !strcmp(sfield(item_of(l, "202"), "polished_day"), "2023-11-15"), "items_list: polished_day");
	cJSON_Delete(l);

	/* a restart the same day polishes nothing again */
	fh_unload(f);
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/items.so"), NULL))
		diag("reload: %s", fh_error(f));
	fh_advance(f, 0);
	sync_201_202(f);
	fh_advance(f, 5 * 60000);
	is_int(pending(f, POLISH), 0, "polish: a restart the same day does not polish again");

	/* the Beijing day boundary: nothing at midnight (before the hour), then at 9:00 */
	advance_to(f, BJ_NEXT_0000_MS + 60000);
	is_int(pending(f, POLISH), 0, "polish: a new Beijing day, but before 9:00");
	advance_to(f, BJ_NEXT_0000_MS + 9 * 3600000LL - 60000);
	is_int(pending(f, POLISH), 0, "polish: ... still nothing at 8:59");
	fh_advance(f, 120000);
	is_str(pending_data(f, POLISH), "{\"itemId\":\"201\"}", "polish: the next day at 9:00 again");
	answer(f, POLISH, SK_MTOP_SESSION_EXPIRED, "FAIL_SYS_SESSION_EXPIRED::Session过期", "");
	fh_advance(f, 2000);
	is_int(pending(f, POLISH), 0, "polish: an account error stops the round");
	is_int(fh_q_int(f, "SELECT count(*) FROM items_polish WHERE day = '2023-11-16'"), 0, "polish: ... without a record");
	fh_advance(f, 60000);
	is_str(pending_data(f, POLISH), "{\"itemId\":\"201\"}", "polish: the next check tries again");
	answer(f, POLISH, SK_MTOP_OK, NULL, "{}");
	fh_advance(f, 2000);
	is_str(pending_data(f, POLISH), "{\"itemId\":\"202\"}", "polish: and goes on");

	/* a reload that turns it off stops the next rounds; a refused file changes nothing */
	answer(f, POLISH, SK_MTOP_OK, NULL, "{}");
	fh_advance(f, 2000);
	answer(f, POLISH, SK_MTOP_OK, NULL, "{}");
	write_rules("{\"chores\":{\"polish\":{\"enabled\":\"yes\"}}}");
	{
		sk_event e = fh_event(f, SK_EV_PLUGIN);

		e.topic = "core.reload";
		e.from_plugin = "core";
		e.payload_json = "{}";
		fh_dispatch(f, &e);
		ok(fh_log_find(f, "polish rules unchanged") >= 1, "reload: a refused file keeps the polish rules");
		write_rules("{\"chores\":{\"polish\":{\"enabled\":false,\"items\":[\"201\"]}}}");
		fh_dispatch(f, &e);
	}
	advance_to(f, BJ_NEXT_0000_MS + 86400000LL + 10 * 3600000LL);
	is_int(pending(f, POLISH), 0, "reload: polish off, no round the day after");
	fh_free(f);
}

/* A polish round waits for CONNECTED. */
static void test_polish_session(void)
{
	fh *f;

	write_rules(polish_rules);
	if (!(f = start(POLISH_CFG, SK_STATE_RECONNECTING)))
		return;
	advance_to(f, BJ_0900_MS + 120000);
	is_int(pending(f, POLISH) + pending(f, LIST), 0, "polish: nothing while not connected");
	fh_set_state(f, SK_STATE_CONNECTED);
	is_int(pending(f, POLISH), 1, "polish: CONNECTED after the hour starts the round");
	fh_free(f);
}

/* ---- rules_check ------------------------------------------------------------------ */

/* The rules_check of items.so, straight from the .so with no host. */
static int direct_check(const char *json, char *errs, size_t n)
{
	char so[512];
	void *h = dlopen(fh_build_path(so, sizeof so, "plugins/items.so"), RTLD_NOW | RTLD_LOCAL);
	const sk_plugin_desc *d = h ? dlsym(h, "sk_plugin_entry") : NULL;
	int rc = d && d->abi_minor >= 2 && d->rules_check ? d->rules_check(json, strlen(json), errs, n) : -2;

	if (h)
		dlclose(h);
	return rc;
}

static void check_bad(const char *json, const char *want, const char *what)
{
	char errs[2048];

	ok(direct_check(json, errs, sizeof errs) == -1 && strstr(errs, want), "rules_check refuses %s", what);
	if (!strstr(errs, want))
		diag("errs: %s", errs);
}

static void test_rules_check(void)
{
	char errs[2048];
	char path[512];
	FILE *fp;
	char *text;
	long n;
	fh *f;

	is_int(direct_check("{}", errs, sizeof errs), 0, "rules_check: {} is fine");
	is_int(direct_check(polish_rules, errs, sizeof errs), 0, "rules_check: polish with ids as strings and numbers");
	is_int(direct_check("{\"foo\":1,\"chores\":{\"rate\":{\"x\":1},\"polish\":null}}", errs, sizeof errs), 0,
	       "rules_check: other keys and chores.rate are not items'");
	snprintf(path, sizeof path, "%s/config/rules.example.json", getenv("SK_ROOT") ? getenv("SK_ROOT") : ".");
	if ((fp = fopen(path, "rb"))) {
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		rewind(fp);
		text = calloc(1, (size_t)n + 1);
		if (fread(text, 1, (size_t)n, fp) != (size_t)n)
			text[0] = '\0';
		fclose(fp);
		is_int(direct_check(text, errs, sizeof errs), 0, "rules_check: accepts rules.example.json");
		free(text);
	}
	check_bad("{\"chores\":5}", "chores: must be an object", "chores that is not an object");
	check_bad("{\"chores\":{\"polish\":[]}}", "chores.polish: must be an object", "polish that is not an object");
	check_bad("{\"chores\":{\"polish\":{\"hours\":9}}}", "chores.polish.hours: unknown field", "an unknown key");
	check_bad("{\"chores\":{\"polish\":{\"enabled\":\"yes\"}}}", "chores.polish.enabled", "enabled not a boolean");
	check_bad("{\"chores\":{\"polish\":{\"hour\":24}}}", "chores.polish.hour", "hour 24");
	check_bad("{\"chores\":{\"polish\":{\"hour\":9.5}}}", "chores.polish.hour", "hour 9.5");
	check_bad("{\"chores\":{\"polish\":{\"hour\":\"9\"}}}", "chores.polish.hour", "hour as a string");
	check_bad("{\"chores\":{\"polish\":{\"items\":\"123\"}}}", "chores.polish.items: must be a list", "items not a list");
	check_bad("{\"chores\":{\"polish\":{\"items\":[\"1\",\"12a\"]}}}", "chores.polish.items[1]", "an id with a letter");
	check_bad("{\"chores\":{\"polish\":{\"items\":[-1]}}}", "chores.polish.items[0]", "a negative id");
	check_bad("{\"chores\":{\"polish\":{\"items\":[\"\"]}}}", "chores.polish.items[0]", "an empty id");
	check_bad("{\"chores\":{\"polish\":{\"items\":[{}]}}}", "chores.polish.items[0]", "an object as id");
	check_bad("[1]", "must be a JSON object", "a list");
	check_bad("{\"chores\":", "not valid JSON", "broken JSON");
	ok(direct_check("{\"chores\":{\"polish\":{\"hours\":1,\"enabled\":1}}}", errs, sizeof errs) == -1 &&
	   strstr(errs, "hours") && strstr(errs, "enabled"), "rules_check: every problem, one a line");

	/* through the host: a refused file at load leaves the chore off, and says so */
	write_rules("{\"chores\":{\"polish\":{\"enabled\":true,\"items\":[\"x\"]}}}");
	if ((f = start(POLISH_CFG, SK_STATE_CONNECTED))) {
		ok(fh_log_find(f, "chores.polish.items[0]") >= 1 && fh_log_find(f, "polish rules unchanged") >= 1,
		   "load: a refused chores.polish is logged");
		answer(f, LIST, SK_MTOP_OK, NULL, "{\"cardList\":[]}");
		advance_to(f, BJ_0900_MS + 120000);
		is_int(pending(f, POLISH), 0, "load: ... and no polish runs");
		fh_free(f);
	}
	/* bad config */
	f = fh_new("{\"items\":{\"page_size\":0}}", NULL);
	if (f) {
		char so[512];

		ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/items.so"), NULL) != 0, "config: page_size 0 is refused");
		fh_free(f);
	}
}

/* The detail's desc: the migration's column, cut to 16 KB at a character
 * boundary, kept when a later detail has none. */
static void test_desc(void)
{
	static const char *const one[] = { "\"301\"", "长说明", "5" };
	fh *f = start(SYNC_CFG, SK_STATE_CONNECTED);
	char *d;
	size_t n = 0;
	const char *out;

	if (!ok(f != NULL, "desc: items loads"))
		return;
	ok(fh_q_int(f, "SELECT count(*) FROM pragma_table_info('items_item') WHERE name = 'desc' "
		    "AND \"notnull\" = 1 AND dflt_value = \"''\"") == 1, "desc: the migration adds desc TEXT NOT NULL DEFAULT ''");
	list_page(f, 1, one);
	fh_advance(f, 500);
	d = malloc(30000);
	n += (size_t)sprintf(d, "{\"itemDO\":{\"itemId\":301,\"soldPrice\":\"5.00\",\"desc\":\"a");
	for (int i = 0; i < 7000; i++)
		n += (size_t)sprintf(d + n, "中");
	sprintf(d + n, "\"}}");
	answer(f, DETAIL, SK_MTOP_OK, NULL, d);
	free(d);
	fh_advance(f, 500);
	/* 1 + 5461 * 3 = 16384: exactly the cap; one more character would cross it */
	is_int(fh_q_int(f, "SELECT length(CAST(\"desc\" AS BLOB)) FROM items_item WHERE item_id = '301'"), 16384,
	       "desc: a long desc is cut to 16 KB");
	is_int(fh_q_int(f, "SELECT length(\"desc\") FROM items_item WHERE item_id = '301'"), 5462,
	       "desc: ... at a character boundary (5462 whole characters)");
	fh_control(f, "items_refresh", "{}", &out);
	list_page(f, 1, one);
	fh_advance(f, 500);
	answer(f, DETAIL, SK_MTOP_OK, NULL, "{\"itemDO\":{\"itemId\":301,\"title\":\"长说明\",\"soldPrice\":\"5.00\"}}");
	fh_advance(f, 500);
	is_int(fh_q_int(f, "SELECT length(\"desc\") FROM items_item WHERE item_id = '301'"), 5462,
	       "desc: a detail without desc keeps the one known");
	fh_free(f);
}

int main(void)
{
	snprintf(rules, sizeof rules, "/tmp/sk-items-%d.json", (int)getpid());
	write_rules("{}");
	test_sync();
	test_sync_bad_answers();
	test_desc();
	test_polish();
	test_polish_session();
	test_rules_check();
	unlink(rules);
	return tap_done();
}
