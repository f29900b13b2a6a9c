/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_items.c - the simulator's items (sim_items.c) over
 * loopback: the item list mtop.idle.web.xyh.item.list (cardList/cardData,
 * paging, the on-sale group only, bad paging refused), pc.detail's itemDO
 * (imageInfos, itemStatus, skuList in fen with propertyList, desc), delisted and
 * deleted items, the polish (once per Beijing day, then POLISH_DUPLICATE;
 * UNSUPPORTED_ITEM_STATUS when delisted), POST /item and GET /items.
 */
#include "test_sim_client.h"

#include <time.h>

#define LIST "mtop.idle.web.xyh.item.list"
#define DETAIL "mtop.taobao.idle.pc.detail"
#define POLISH "mtop.taobao.idle.item.polish"

/* The GET /items entry of id as a new object (caller deletes), NULL when absent. */
static cJSON *sim_item_json(const char *id)
{
	cJSON *all = ctl("GET", "/items", NULL, NULL), *it, *res = NULL;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(all, "items"))
		if (js(it, "item_id") && !strcmp(js(it, "item_id"), id))
			res = cJSON_Duplicate(it, 1);
	cJSON_Delete(all);
	return res;
}

static void test_list(void)
{
	cJSON *env;
	int st = 0;

	env = mtop(LIST, "{\"needGroupInfo\":false,\"pageNumber\":1,\"pageSize\":2,\"groupName\":\"在售\","
		   "\"groupId\":\"58877261\",\"defaultGroup\":true,\"userId\":\"" UNB "\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "list: page 1 answers");
	is_int(cJSON_GetArraySize(jget(env, "data.cardList")), 2, "list: a full page of pageSize cards");
	is_str(jps(env, "data.cardList.0.cardData.id"), "70003", "list: newest first");
	is_str(jps(env, "data.cardList.0.cardData.title"), "季卡", "list: title");
	is_str(jps(env, "data.cardList.0.cardData.priceInfo.price"), "30.00", "list: priceInfo.price in yuan");
	ok(sstr(jps(env, "data.cardList.1.cardData.picInfo.picUrl"), "https://img.alicdn.com/") != NULL,
	   "list: picInfo.picUrl on the platform's image host");
	ok(jpn(env, "data.cardList.0.cardData.itemStatus") == 0 && jps(env, "data.cardList.0.cardData.detailUrl"),
	   "list: itemStatus 0, detailUrl");
	cJSON_Delete(env);
	env = mtop(LIST, "{\"pageNumber\":2,\"pageSize\":2,\"groupId\":\"58877261\"}");
	ok(cJSON_GetArraySize(jget(env, "data.cardList")) == 1 && !strcmp(jps(env, "data.cardList.0.cardData.id"), "70001"),
	   "list: the last page is short");
	cJSON_Delete(env);
	env = mtop(LIST, "{\"pageNumber\":1,\"pageSize\":20,\"groupId\":\"1\"}");
	is_int(cJSON_GetArraySize(jget(env, "data.cardList")), 0, "list: another group lists nothing");
	cJSON_Delete(env);
	env = mtop(LIST, "{\"pageNumber\":0,\"pageSize\":20}");
	ok(sstr(ret0(env), "FAIL_SYS_PARAMINVALID_ERROR") != NULL, "list: pageNumber 0 is refused");
	cJSON_Delete(env);
	env = mtop(LIST, "{\"pageNumber\":\"1\",\"pageSize\":\"3\"}");
	is_int(cJSON_GetArraySize(jget(env, "data.cardList")), 3, "list: paging numbers as strings");
	cJSON_Delete(env);

	/* delisted: not in the list; deleted: not found */
	ctl_ok("/item", "{\"item_id\":\"70002\",\"status\":1}");
	env = mtop(LIST, "{\"pageNumber\":1,\"pageSize\":20}");
	ok(cJSON_GetArraySize(jget(env, "data.cardList")) == 2 && strcmp(jps(env, "data.cardList.1.cardData.id"), "70002"),
	   "list: a delisted item is not listed");
	cJSON_Delete(env);
	env = mtop(DETAIL, "{\"itemId\":\"70002\"}");
	ok(jpn(env, "data.itemDO.itemStatus") == 1 && !strcmp(jps(env, "data.itemDO.itemStatusStr"), "已下架"),
	   "detail: a delisted item says so");
	cJSON_Delete(env);
	ctl_ok("/item", "{\"item_id\":\"70002\",\"status\":0}");
	ctl_ok("/item", "{\"item_id\":\"70009\",\"deleted\":true}");
	env = mtop(DETAIL, "{\"itemId\":\"70009\"}");
	ok(sstr(ret0(env), "FAIL_BIZ_ITEM_NOT_EXIST") != NULL, "detail: a deleted item is not found");
	cJSON_Delete(env);
	cJSON_Delete(ctl("POST", "/item", "{\"title\":\"x\"}", &st));
	is_int(st, 400, "POST /item: item_id required");
	cJSON_Delete(ctl("POST", "/item", "{\"item_id\":\"1\",\"skus\":5}", &st));
	is_int(st, 400, "POST /item: skus must be a list");
}

static void test_detail(void)
{
	cJSON *env = mtop(DETAIL, "{\"itemId\":\"70001\"}");

	is_str(ret0(env), "SUCCESS::调用成功", "detail: answers");
	ok(cJSON_IsNumber(jget(env, "data.itemDO.itemId")) && jpn(env, "data.itemDO.itemId") == 70001, "detail: itemId a number");
	is_str(jps(env, "data.itemDO.soldPrice"), "9.90", "detail: soldPrice in yuan");
	ok(jpn(env, "data.itemDO.quantity") == 12, "detail: quantity");
	is_str(jps(env, "data.itemDO.imageInfos.0.url"), "https://img.alicdn.com/imgextra/i1/own.jpg", "detail: the item's picture");
	ok(cJSON_IsTrue(jget(env, "data.itemDO.imageInfos.0.major")), "detail: marked major");
	ok(jpn(env, "data.itemDO.itemStatus") == 0 && !strcmp(jps(env, "data.itemDO.itemStatusStr"), "在售"), "detail: on sale");
	ok(jpn(env, "data.itemDO.skuList.0.price") == 5000 && jpn(env, "data.itemDO.skuList.0.priceInCent") == 5000,
	   "detail: sku price in fen");
	ok(jpn(env, "data.itemDO.skuList.0.quantity") == 3, "detail: sku quantity");
	is_str(jps(env, "data.itemDO.skuList.0.propertyList.0.propertyText"), "面值", "detail: propertyText");
	is_str(jps(env, "data.itemDO.skuList.0.propertyList.0.valueText"), "50元", "detail: valueText");
	is_str(jps(env, "data.itemDO.skuList.0.propertyList.1.propertyText"), "颜色", "detail: several properties from \";\"");
	ok(jpn(env, "data.itemDO.skuList.0.skuId") == 9001, "detail: the sku id given");
	is_str(jps(env, "data.itemDO.skuList.1.propertyList.0.valueText"), "100元", "detail: the second sku");
	is_str(jps(env, "data.itemDO.desc"), "虚拟商品，自动发货", "detail: desc (plain text; an item's default)");
	cJSON_Delete(env);
	env = mtop(DETAIL, "{\"itemId\":\"70002\"}");
	ok(!strcmp(jps(env, "data.itemDO.desc"), "年卡一张，365天有效") && !strcmp(jps(env, "data.itemDO.title"), "年卡"),
	   "detail: the desc POST /item gave, kept (and the title) by a POST /item of its status only");
	cJSON_Delete(env);
}

static void test_polish(void)
{
	char day[16];
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;
	cJSON *env, *it;

	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	env = mtop(POLISH, "{\"itemId\":\"70001\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "polish: the first of the day succeeds");
	cJSON_Delete(env);
	env = mtop(POLISH, "{\"itemId\":70001}");
	is_str(ret0(env), "POLISH_DUPLICATE::一天只能擦亮一次", "polish: again the same Beijing day: POLISH_DUPLICATE");
	cJSON_Delete(env);
	it = sim_item_json("70001");
	ok(jpn(it, "polishes") == 1 && jpn(it, "polish_calls") == 2, "GET /items: polishes and calls counted");
	is_str(js(it, "polished_day"), day, "GET /items: polished_day is today's Beijing date");
	cJSON_Delete(it);
	ctl_ok("/item", "{\"item_id\":\"70001\",\"polished_day\":\"\"}");
	env = mtop(POLISH, "{\"itemId\":\"70001\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "polish: after polished_day \"\" (a new day) it succeeds again");
	cJSON_Delete(env);
	ctl_ok("/item", "{\"item_id\":\"70003\",\"status\":1}");
	env = mtop(POLISH, "{\"itemId\":\"70003\"}");
	is_str(ret0(env), "UNSUPPORTED_ITEM_STATUS::已下架商品不支持该操作", "polish: a delisted item is refused");
	cJSON_Delete(env);
	env = mtop(POLISH, "{\"itemId\":\"79999\"}");
	ok(sstr(ret0(env), "FAIL_BIZ_ITEM_NOT_EXIST") != NULL, "polish: an unknown item is not found");
	cJSON_Delete(env);
}

/* --no-pictures (the demo): no made-up picture on the platform's image host,
 * an item's own stays. */
static void test_no_pictures(void)
{
	static const char *const args[] = { "--no-pictures", NULL };
	cJSON *env;

	if (!ok(tc_sim_start(&sim, args) == 0, "no pictures: the simulator starts with --no-pictures"))
		return;
	ctl_ok("/item", "{\"item_id\":\"71001\",\"title\":\"无图\",\"price\":100}");
	ctl_ok("/item", "{\"item_id\":\"71002\",\"title\":\"有图\",\"price\":100,"
	       "\"pic_url\":\"https://img.alicdn.com/imgextra/i1/own2.jpg\"}");
	env = mtop(LIST, "{\"pageNumber\":1,\"pageSize\":20}");
	is_str(jps(env, "data.cardList.1.cardData.picInfo.picUrl"), "", "no pictures: no made-up picture in the list");
	is_str(jps(env, "data.cardList.0.cardData.picInfo.picUrl"), "https://img.alicdn.com/imgextra/i1/own2.jpg",
	       "no pictures: an item's own picture stays");
	cJSON_Delete(env);
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"71001\"}");
	is_str(jps(env, "data.itemDO.imageInfos.0.url"), "", "no pictures: none in the detail");
	cJSON_Delete(env);
	is_int(tc_sim_stop(&sim), 0, "no pictures: the simulator exits 0");
}

int main(void)
{
	snprintf(cookie, sizeof cookie, "cna=abc; unb=%s; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; "
		 "_m_h5_tk_enc=e; t=t1; sgcookie=s", UNB);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	ctl_ok("/item", "{\"item_id\":\"70001\",\"title\":\"月卡\",\"price\":990,\"quantity\":12,"
	       "\"pic_url\":\"https://img.alicdn.com/imgextra/i1/own.jpg\",\"skus\":[{\"spec\":\"面值:50元;颜色:红\","
	       "\"price\":5000,\"quantity\":3,\"sku_id\":\"9001\"},{\"spec\":\"面值:100元\",\"price\":10000,\"quantity\":0}]}");
	ctl_ok("/item", "{\"item_id\":\"70002\",\"title\":\"年卡\",\"price\":9900,\"desc\":\"年卡一张，365天有效\"}");
	ctl_ok("/item", "{\"item_id\":\"70003\",\"title\":\"季卡\",\"price\":3000}");
	test_list();
	test_detail();
	test_polish();
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	test_no_pictures();
	return tap_done();
}
