/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_seller.c - the simulator's seller console
 * (tests/sim/sim_seller.c): sold.get in both request shapes, paging, the
 * valueType=string answers, and the refusal of a call without valueType=string
 * or the idle_site_biz_code header; "push": false orders exist only there.
 */
#include "test_sim_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOLD "mtop.taobao.idle.trade.merchant.sold.get"

/* A signed seller-console call of api: valueType=string in the query
 * unless no_vt, the header idle_site_biz_code: biz unless biz is NULL. */
static cJSON *seller_api(const char *api, const char *data, int no_vt, const char *biz)
{
	char token[64], t[32], sign[33], path[1024], hdr[1200];
	sbuf body = { 0 };
	tc_http_resp r;
	cJSON *env = NULL;

	cookie_h5_token(cookie, token, sizeof token);
	snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
	sign_mtop(token, t, SIGN_MTOP_APPKEY, data, strlen(data), sign);
	snprintf(path, sizeof path, "/h5/%s/1.0/?jsv=2.7.2&appKey=%s&t=%s&sign=%s&v=1.0&type=originaljson"
		 "&accountSite=xianyu&dataType=json&timeout=20000&api=%s&sessionOption=AutoLoginOnly%s",
		 api, SIGN_MTOP_APPKEY, t, sign, api, no_vt ? "" : "&valueType=string");
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
		 "Origin: https://seller.goofish.com\r\n%s%s%s", cookie, biz ? "idle_site_biz_code: " : "",
		 biz ? biz : "", biz ? "\r\n" : "");
	sbuf_adds(&body, "data=");
	util_urlencode(&body, data, strlen(data));
	if (tc_http(sim.port, "POST", path, hdr, body.p, body.len, &r, 3000) == 0) {
		env = cJSON_ParseWithLength(r.body, r.body_len);
		tc_http_free(&r);
	}
	sbuf_free(&body);
	return env;
}

static cJSON *seller(const char *data, int no_vt, const char *biz)
{
	return seller_api(SOLD, data, no_vt, biz);
}

static cJSON *sold(const char *data)
{
	return seller(data, 0, "COMMONPRO");
}

/* Places an order of seller UNB (no cards pushed) with status. */
static void place(const char *id, const char *buyer, const char *status, int qty)
{
	char b[400];

	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"buyer\":\"%s\",\"buyer_name\":\"买家%s\",\"item_id\":\"40004\","
		 "\"quantity\":%d,\"status\":\"%s\",\"push\":false}", id, buyer, buyer, qty, status);
	ctl_ok("/order", b);
}

static void test_refusals(void)
{
	cJSON *env;

	env = seller("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"ALL\"}", 1, "COMMONPRO");
	ok(sstr(ret0(env), "FAIL_SYS_PARAMINVALID_ERROR") && sstr(ret0(env), "valueType=string") && !jget(env, "data.module"),
	   "sold.get: without valueType=string in the query -> refused, naming it");
	cJSON_Delete(env);
	env = seller("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"ALL\"}", 0, NULL);
	ok(sstr(ret0(env), "idle_site_biz_code") && !jget(env, "data.module"),
	   "sold.get: without the idle_site_biz_code header -> refused, naming it");
	cJSON_Delete(env);
	env = seller("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"ALL\"}", 0, "OTHER");
	ok(sstr(ret0(env), "idle_site_biz_code"), "sold.get: idle_site_biz_code other than COMMONPRO -> refused");
	cJSON_Delete(env);
	env = sold("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"SOME\"}");
	ok(sstr(ret0(env), "queryCode"), "sold.get: an unknown queryCode is refused");
	cJSON_Delete(env);
	env = sold("{\"pageNumber\":1,\"pageSize\":20,\"lastEndRow\":\"0\",\"userId\":\"99\"}");
	ok(sstr(ret0(env), "FAIL_BIZ_USER_NOT_MATCH"), "sold.get (XYA): another userId is refused");
	cJSON_Delete(env);
}

static void test_shapes_and_paging(void)
{
	cJSON *env;
	const cJSON *items;
	int st = 0;

	place("7001", "31001", "paid", 2);
	place("7002", "31002", "shipped", 1);
	place("7003", "31003", "placed", 1);
	place("7004", "31004", "paid", 1);
	place("7005", "31005", "completed", 3);

	env = sold("{\"pageNumber\":1,\"rowsPerPage\":30,\"orderIds\":\"\",\"queryCode\":\"ALL\",\"orderSearchParam\":\"{}\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "sold.get (ZH, ALL): success");
	items = jget(env, "data.module.items");
	is_int(cJSON_GetArraySize(items), 5, "sold.get (ZH, ALL): every order of the seller");
	is_str(jps(env, "data.module.items.0.commonData.orderId"), "7005", "sold.get: newest first");
	is_str(jps(env, "data.module.items.4.commonData.orderId"), "7001", "sold.get: ... oldest last");
	is_str(jps(env, "data.module.totalCount"), "5", "sold.get: totalCount is a string");
	is_str(jps(env, "data.module.nextPage"), "false", "sold.get: nextPage \"false\" (a string)");
	is_str(jps(env, "data.module.items.4.commonData.orderStatus"), "待发货", "sold.get: paid -> 待发货");
	is_str(jps(env, "data.module.items.3.commonData.orderStatus"), "已发货", "sold.get: shipped -> 已发货");
	is_str(jps(env, "data.module.items.2.commonData.orderStatus"), "待付款", "sold.get: placed -> 待付款");
	is_str(jps(env, "data.module.items.0.commonData.orderStatus"), "交易成功", "sold.get: completed -> 交易成功");
	is_str(jps(env, "data.module.items.0.commonData.sellerRateStatus"), "5", "sold.get: completed: to rate (\"5\")");
	is_str(jps(env, "data.module.items.4.commonData.inRefund"), "false", "sold.get: inRefund \"false\" (a string)");
	is_str(jps(env, "data.module.items.4.commonData.itemId"), "40004", "sold.get: itemId");
	is_str(jps(env, "data.module.items.4.buyerInfoVO.buyerId"), "31001", "sold.get: buyerInfoVO.buyerId");
	is_str(jps(env, "data.module.items.4.buyerInfoVO.userNick"), "买家31001", "sold.get: buyerInfoVO.userNick");
	/* the item's price is 990 fen (main): 2 x 9.90 */
	is_str(jps(env, "data.module.items.4.priceVO.totalPrice"), "19.80", "sold.get: totalPrice in yuan (price x quantity)");
	is_str(jps(env, "data.module.items.4.priceVO.buyNum"), "2", "sold.get: buyNum a string");
	is_str(jps(env, "data.module.items.4.priceVO.auctionPrice"), "9.90", "sold.get: auctionPrice in yuan");
	ok(jps(env, "data.module.items.4.commonData.createTime") &&
	   strlen(jps(env, "data.module.items.4.commonData.createTime")) == 19 &&
	   jps(env, "data.module.items.4.commonData.createTime")[10] == ' ',
	   "sold.get: createTime \"YYYY-MM-DD HH:MM:SS\"");
	cJSON_Delete(env);

	env = sold("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"NOT_SHIP\"}");
	items = jget(env, "data.module.items");
	ok(cJSON_GetArraySize(items) == 2 && !strcmp(jps(env, "data.module.items.0.commonData.orderId") ?: "", "7004") &&
	   !strcmp(jps(env, "data.module.items.1.commonData.orderId") ?: "", "7001"),
	   "sold.get (ZH, NOT_SHIP): only the orders awaiting shipment");
	cJSON_Delete(env);

	/* ZH paging: 2 rows a page */
	env = sold("{\"pageNumber\":2,\"rowsPerPage\":2,\"queryCode\":\"ALL\"}");
	ok(cJSON_GetArraySize(jget(env, "data.module.items")) == 2 &&
	   !strcmp(jps(env, "data.module.items.0.commonData.orderId") ?: "", "7003") &&
	   !strcmp(jps(env, "data.module.nextPage") ?: "", "true") && !strcmp(jps(env, "data.module.lastEndRow") ?: "", "4"),
	   "sold.get (ZH): page 2 of 2 rows: rows 3-4, nextPage \"true\", lastEndRow \"4\"");
	cJSON_Delete(env);
	env = sold("{\"pageNumber\":3,\"rowsPerPage\":2,\"queryCode\":\"ALL\"}");
	ok(cJSON_GetArraySize(jget(env, "data.module.items")) == 1 &&
	   !strcmp(jps(env, "data.module.nextPage") ?: "", "false"), "sold.get (ZH): the last page, nextPage \"false\"");
	cJSON_Delete(env);

	/* XYA: pageSize, lastEndRow from the previous page (numbers as strings or numbers) */
	env = sold("{\"needGroupInfo\":true,\"pageNumber\":1,\"pageSize\":3,\"lastEndRow\":\"0\",\"userId\":\"" UNB "\"}");
	ok(cJSON_GetArraySize(jget(env, "data.module.items")) == 3 &&
	   !strcmp(jps(env, "data.module.lastEndRow") ?: "", "3") && !strcmp(jps(env, "data.module.nextPage") ?: "", "true"),
	   "sold.get (XYA): first page of 3, lastEndRow \"3\"");
	cJSON_Delete(env);
	env = sold("{\"needGroupInfo\":true,\"pageNumber\":2,\"pageSize\":3,\"lastEndRow\":\"3\",\"userId\":\"" UNB "\"}");
	ok(cJSON_GetArraySize(jget(env, "data.module.items")) == 2 &&
	   !strcmp(jps(env, "data.module.items.0.commonData.orderId") ?: "", "7002") &&
	   !strcmp(jps(env, "data.module.nextPage") ?: "", "false"),
	   "sold.get (XYA): next page from lastEndRow, the rest");
	cJSON_Delete(env);

	/* an order of "push": false reaches no chat: no card was pushed, the order exists */
	env = ctl("GET", "/orders", NULL, &st);
	ok(st == 200 && cJSON_GetArraySize(jget(env, "orders")) >= 5, "/order with push:false: the orders exist");
	cJSON_Delete(env);
	ok(stat_of("pushes") == 0, "/order with push:false: nothing pushed");

	/* an injected FAIL_SYS_SESSION_EXPIRED for the seller console only */
	ctl_ok("/fault", "{\"kind\":\"mtop_fail\",\"api\":\"" SOLD "\",\"n\":1,\"ret\":\"FAIL_SYS_SESSION_EXPIRED::Session过期\"}");
	env = sold("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"ALL\"}");
	ok(sstr(ret0(env), "FAIL_SYS_SESSION_EXPIRED"), "sold.get: fault mtop_fail gives a seller-console session expiry");
	cJSON_Delete(env);
	env = sold("{\"pageNumber\":1,\"rowsPerPage\":30,\"queryCode\":\"ALL\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "sold.get: ... once");
	cJSON_Delete(env);
}

static void test_refund_close(void)
{
	cJSON *env;

	place("7101", "31101", "refunding", 1);
	place("7102", "31102", "placed", 1);
	env = seller_api("mtop.taobao.idle.merchant.refund.list", "{\"pageNumber\":1,\"rowsPerPage\":20,"
			 "\"queryType\":\"refund\",\"refundSearchParam\":{\"disputeStatus\":\"1|2|3|5\",\"queryCode\":\"ALL\"}}",
			 0, "COMMONPRO");
	ok(cJSON_GetArraySize(jget(env, "data.data.items")) == 1 &&
	   !strcmp(jps(env, "data.data.items.0.commonData.orderId") ?: "", "7101") &&
	   !strcmp(jps(env, "data.data.items.0.commonData.inRefund") ?: "", "true") &&
	   !strcmp(jps(env, "data.data.totalCount") ?: "", "1"), "refund.list: the orders in refund, under data.data.items");
	cJSON_Delete(env);
	env = seller_api("mtop.taobao.idle.merchant.refund.list", "{\"pageNumber\":1}", 1, "COMMONPRO");
	ok(sstr(ret0(env), "valueType=string"), "refund.list: refused without valueType=string");
	cJSON_Delete(env);
	env = seller_api("mtop.taobao.idle.trade.merchant.close.by.seller",
			 "{\"tid\":\"7001\",\"bizOrderId\":\"7001\",\"closeReason\":\"x\"}", 0, "COMMONPRO");
	ok(sstr(ret0(env), "FAIL_BIZ_ORDER_STATUS_ERROR"), "close.by.seller: a paid order cannot be closed");
	cJSON_Delete(env);
	env = seller_api("mtop.taobao.idle.trade.merchant.close.by.seller",
			 "{\"tid\":\"7102\",\"bizOrderId\":\"7102\",\"closeReason\":\"x\"}", 0, "COMMONPRO");
	is_str(ret0(env), "SUCCESS::调用成功", "close.by.seller: an unpaid order closes");
	cJSON_Delete(env);
	env = sold("{\"pageNumber\":1,\"rowsPerPage\":1,\"queryCode\":\"ALL\"}");
	is_str(jps(env, "data.module.items.0.commonData.orderStatus"), "交易关闭", "close.by.seller: sold.get shows it closed");
	cJSON_Delete(env);
	env = seller_api("mtop.taobao.idle.trade.merchant.close.by.seller", "{\"tid\":\"9999\",\"bizOrderId\":\"9999\"}",
			 0, "COMMONPRO");
	ok(sstr(ret0(env), "FAIL_BIZ_ORDER_NOT_EXIST"), "close.by.seller: an unknown order");
	cJSON_Delete(env);
}

int main(void)
{
	int rc;

	snprintf(cookie, sizeof cookie, "cna=abc; unb=%s; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; "
		 "_m_h5_tk_enc=e; t=t1; sgcookie=s", UNB);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts and prints its ports"))
		return tap_done();
	cJSON_Delete(ctl("POST", "/item", "{\"item_id\":\"40004\",\"title\":\"VIP 月卡\",\"price\":990}", NULL));
	test_refusals();
	test_shapes_and_paging();
	test_refund_close();
	rc = tc_sim_stop(&sim);
	is_int(rc, 0, "simulator exits 0 on SIGTERM");
	return tap_done();
}
