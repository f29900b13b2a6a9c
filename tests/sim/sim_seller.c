/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_seller.c - the seller console's APIs ("鱼小铺",
 * protocol-account.md §6, §10.11): mtop.taobao.idle.trade.merchant.sold.get,
 * the seller's sold orders, newest first, in either request shape the peers
 * use; mtop.taobao.idle.merchant.refund.list, the orders in refund;
 * mtop.taobao.idle.trade.merchant.close.by.seller (v2.0), closing an unpaid
 * order. All answered with valueType=string semantics (numbers and booleans
 * as strings). A seller-console call must carry valueType=string in its query
 * and the header idle_site_biz_code: COMMONPRO (what sk_mtop_ex's
 * SK_MTOP_SELLER sends); without them it is refused with a clear ret.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SL_API_SOLD "mtop.taobao.idle.trade.merchant.sold.get"
#define SL_API_REFUND "mtop.taobao.idle.merchant.refund.list"
#define SL_API_CLOSE "mtop.taobao.idle.trade.merchant.close.by.seller"
#define SL_ROWS_MAX 100

/* What mtop_call noted of the request in progress (sim_seller_note). */
static struct {
	int value_string;        /* valueType=string in the query */
	char biz[32];            /* the idle_site_biz_code header, "" when none */
} sl_req;

void sim_seller_note(struct lws *wsi, const char *query)
{
	char *v = util_form_get(query, strlen(query), "valueType");

	sl_req.value_string = v && !strcmp(v, "string");
	free(v);
	sl_req.biz[0] = '\0';
	if (lws_hdr_custom_copy(wsi, sl_req.biz, sizeof sl_req.biz, "idle_site_biz_code:", 19) < 0)
		sl_req.biz[0] = '\0';
}

/* The seller console's text for a sim order status (§6.1). */
static const char *sl_status_text(const char *status)
{
	static const struct { const char *s, *t; } map[] = {
		{ "placed", "待付款" }, { "paid", "待发货" }, { "remind", "待发货" }, { "shipped", "已发货" },
		{ "completed", "交易成功" }, { "closed", "交易关闭" }, { "refunding", "退款中" },
		{ "refund_cancelled", "退款关闭" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].s, status))
			return map[i].t;
	return status;
}

/* fen as a yuan string: 1250 -> "12.50". */
static void sl_yuan(char *out, size_t n, long long fen)
{
	snprintf(out, n, "%s%lld.%02lld", fen < 0 ? "-" : "", llabs(fen) / 100, llabs(fen) % 100);
}

/* A number member given as a number or a numeric string, or def. */
static long sl_num(const cJSON *o, const char *k, long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(v))
		return (long)v->valuedouble;
	if (cJSON_IsString(v) && *v->valuestring)
		return strtol(v->valuestring, NULL, 10);
	return def;
}

/* One sold order as the console lists it: every number and boolean a string. */
static cJSON *sl_item(const sim_order *o)
{
	cJSON *it = cJSON_CreateObject(), *c, *b, *p;
	char buf[64];
	time_t t = (time_t)(o->created_ms / 1000) + 8 * 3600;   /* China time, as the console shows it */
	struct tm tm;

	c = cJSON_AddObjectToObject(it, "commonData");
	cJSON_AddStringToObject(c, "orderId", o->id);
	cJSON_AddStringToObject(c, "itemId", o->item_id);
	cJSON_AddStringToObject(c, "orderStatus", sl_status_text(o->status));
	cJSON_AddStringToObject(c, "inRefund", !strcmp(o->status, "refunding") ? "true" : "false");
	cJSON_AddStringToObject(c, "sellerRateStatus", !strcmp(o->status, "completed") ? "5" : "");
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	cJSON_AddStringToObject(c, "createTime", buf);
	b = cJSON_AddObjectToObject(it, "buyerInfoVO");
	cJSON_AddStringToObject(b, "buyerId", o->buyer);
	cJSON_AddStringToObject(b, "userNick", o->buyer_name);
	p = cJSON_AddObjectToObject(it, "priceVO");
	sl_yuan(buf, sizeof buf, (long long)o->price * o->quantity);
	cJSON_AddStringToObject(p, "totalPrice", buf);
	snprintf(buf, sizeof buf, "%d", o->quantity);
	cJSON_AddStringToObject(p, "buyNum", buf);
	sl_yuan(buf, sizeof buf, o->price);
	cJSON_AddStringToObject(p, "auctionPrice", buf);
	return it;
}

/* sold.get for seller a. Both shapes: ZH {pageNumber, rowsPerPage, queryCode
 * ALL|NOT_SHIP} and XYA {pageNumber, pageSize, lastEndRow, userId}; a
 * lastEndRow above 0 starts after that row, else the page number does.
 * Returns the failure ret, or NULL with *out the data. */
static const char *sl_sold(sim_account *a, const cJSON *dj, cJSON **out)
{
	const char *qc = sim_jstr(dj, "queryCode", "ALL"), *uid = sim_jstr(dj, "userId", NULL);
	long page = sl_num(dj, "pageNumber", 1), rows = sl_num(dj, "rowsPerPage", sl_num(dj, "pageSize", 30));
	long last = sl_num(dj, "lastEndRow", 0), start, total = 0, k = 0;
	int not_ship = !strcmp(qc, "NOT_SHIP");
	cJSON *m, *items;
	char buf[32];

	if (strcmp(qc, "ALL") && !not_ship)
		return "FAIL_SYS_PARAMINVALID_ERROR::queryCode must be ALL or NOT_SHIP";
	if (uid && strcmp(uid, a->unb))
		return "FAIL_BIZ_USER_NOT_MATCH::userId is not the logged-in seller";
	if (page < 1 || rows < 1 || rows > SL_ROWS_MAX || last < 0)
		return "FAIL_SYS_PARAMINVALID_ERROR::pageNumber >= 1, rowsPerPage/pageSize 1..100, lastEndRow >= 0";
	start = last > 0 ? last : (page - 1) * rows;
	*out = cJSON_CreateObject();
	m = cJSON_AddObjectToObject(*out, "module");
	items = cJSON_AddArrayToObject(m, "items");
	/* S.orders is newest first (each new order goes to the head) */
	for (const sim_order *o = S.orders; o; o = o->next) {
		if (strcmp(o->seller, a->unb) || (not_ship && strcmp(o->status, "paid") && strcmp(o->status, "remind")))
			continue;
		if (total >= start && k < rows) {
			cJSON_AddItemToArray(items, sl_item(o));
			k++;
		}
		total++;
	}
	snprintf(buf, sizeof buf, "%ld", total);
	cJSON_AddStringToObject(m, "totalCount", buf);
	cJSON_AddStringToObject(m, "nextPage", start + k < total ? "true" : "false");
	snprintf(buf, sizeof buf, "%ld", start + k);
	cJSON_AddStringToObject(m, "lastEndRow", buf);
	return NULL;
}

/* refund.list for seller a (ZH only, §6.2): the orders in refund, newest
 * first, under data.data.items; {pageNumber, rowsPerPage}. */
static const char *sl_refunds(sim_account *a, const cJSON *dj, cJSON **out)
{
	long page = sl_num(dj, "pageNumber", 1), rows = sl_num(dj, "rowsPerPage", 20), k = 0, total = 0;
	cJSON *d, *items;
	char buf[32];

	if (page < 1 || rows < 1 || rows > SL_ROWS_MAX)
		return "FAIL_SYS_PARAMINVALID_ERROR::pageNumber >= 1, rowsPerPage 1..100";
	*out = cJSON_CreateObject();
	d = cJSON_AddObjectToObject(*out, "data");
	items = cJSON_AddArrayToObject(d, "items");
	for (const sim_order *o = S.orders; o; o = o->next) {
		if (strcmp(o->seller, a->unb) || strcmp(o->status, "refunding"))
			continue;
		if (total >= (page - 1) * rows && k < rows) {
			cJSON_AddItemToArray(items, sl_item(o));
			k++;
		}
		total++;
	}
	snprintf(buf, sizeof buf, "%ld", total);
	cJSON_AddStringToObject(d, "totalCount", buf);
	cJSON_AddStringToObject(d, "nextPage", (page - 1) * rows + k < total ? "true" : "false");
	return NULL;
}

/* close.by.seller (v2.0, §6.4): {tid, bizOrderId, closeReason}; only an
 * unpaid (placed) order of the seller closes. */
static const char *sl_close(sim_account *a, const cJSON *dj, cJSON **out)
{
	const char *tid = sim_jstr(dj, "tid", NULL), *biz = sim_jstr(dj, "bizOrderId", NULL);
	sim_order *o = tid ? sim_order_find(tid) : NULL;

	if (!tid || !biz || strcmp(tid, biz))
		return "FAIL_SYS_PARAMINVALID_ERROR::tid and bizOrderId (the same order id) are required";
	if (!o || strcmp(o->seller, a->unb))
		return "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在";
	if (strcmp(o->status, "placed"))
		return "FAIL_BIZ_ORDER_STATUS_ERROR::只能关闭未付款的订单";
	snprintf(o->status, sizeof o->status, "closed");
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "result", "true");
	return NULL;
}

int sim_seller_mtop(const char *api, sim_account *a, const cJSON *dj, cJSON **out, const char **ret)
{
	if (strcmp(api, SL_API_SOLD) && strcmp(api, SL_API_REFUND) && strcmp(api, SL_API_CLOSE))
		return 0;
	if (!sl_req.value_string || strcmp(sl_req.biz, "COMMONPRO")) {
		*ret = "FAIL_SYS_PARAMINVALID_ERROR::seller console: valueType=string and the header "
		       "idle_site_biz_code: COMMONPRO are required";
		return 1;
	}
	*ret = !strcmp(api, SL_API_SOLD) ? sl_sold(a, dj, out) : !strcmp(api, SL_API_REFUND) ? sl_refunds(a, dj, out) :
	       sl_close(a, dj, out);
	return 1;
}
