/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_rate.c - rating the buyer (protocol-account.md §7.3, §10.12):
 * mtop.taobao.idle.rate.create 4.0 and the seller console's to-rate list
 * mtop.taobao.idle.merchant.rate.list 1.0.
 *
 * rate.create answers only at the path version 4.0 (another is
 * FAIL_SYS_API_NOT_FOUNDED, as the platform answers an API at a version it
 * does not have); it rates an order of the calling seller once, and only
 * once the trade completed (交易成功). Per order, GET /orders shows
 * "rates" (successful rate.create calls: 1 at most), "rate_calls" and
 * "rate_feedback" (the text of the rating).
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

/* The version in an mtop path "/h5/<api>/<version>/" into v (n bytes), "" when none. */
static void rate_path_version(const char *path, char *v, size_t n)
{
	const char *s = strncmp(path, "/h5/", 4) ? NULL : strchr(path + 4, '/'), *e;

	v[0] = '\0';
	if (!s)
		return;
	s++;
	e = strchr(s, '/');
	snprintf(v, n, "%.*s", e ? (int)(e - s) : (int)strlen(s), s);
}

/* Whether api is one of this file's. */
int sim_rate_api(const char *api)
{
	return !strcmp(api, "mtop.taobao.idle.rate.create") || !strcmp(api, "mtop.taobao.idle.merchant.rate.list");
}

/* rate.create: seller a rates the buyer of order "tradeId". */
static const char *rate_create(sim_account *a, const cJSON *dj)
{
	const char *oid = sim_jstr2(dj, "tradeId"), *fb = sim_jstr2(dj, "feedback");
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(dj, "rate"),
		    *coa = cJSON_GetObjectItemCaseSensitive(dj, "createOrAppend");
	sim_order *o = oid ? sim_order_find(oid) : NULL;

	if (!o || strcmp(o->seller, a->unb))
		return "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在";
	o->rate_calls++;
	if (!cJSON_IsNumber(rate) || (rate->valueint != 1 && rate->valueint != 0 && rate->valueint != -1) || !fb ||
	    !*fb || !cJSON_IsNumber(coa) || coa->valueint != 0)
		return "FAIL_SYS_PARAMINVALID_ERROR::rate/feedback/createOrAppend";
	if (o->rates)
		return "FAIL_BIZ_RATE_DUPLICATE::该订单已评价";
	if (strcmp(o->status, "completed"))
		return "FAIL_BIZ_RATE_NOT_ALLOWED::交易成功后才能评价";
	o->rates++;
	snprintf(o->rate_feedback, sizeof o->rate_feedback, "%s", fb);
	return NULL;
}

/* merchant.rate.list: seller a's completed orders still to rate
 * (sellerRateStatus "5"; "4" lists the rated ones), valueType=string shapes. */
static cJSON *rate_list(sim_account *a, const cJSON *dj)
{
	const char *want = sim_jstr(cJSON_GetObjectItemCaseSensitive(dj, "rateSearchParam"), "sellerRateStatus", "5");
	cJSON *d = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(d, "module"), *items = cJSON_AddArrayToObject(m, "items");
	char n[16];
	int total = 0;

	for (sim_order *o = S.orders; o; o = o->next) {
		cJSON *it, *cd, *bi;

		if (strcmp(o->seller, a->unb) || strcmp(o->status, "completed") || strcmp(o->rates ? "4" : "5", want))
			continue;
		it = cJSON_CreateObject();
		cd = cJSON_AddObjectToObject(it, "commonData");
		cJSON_AddStringToObject(cd, "orderId", o->id);
		cJSON_AddStringToObject(cd, "itemId", o->item_id);
		cJSON_AddStringToObject(cd, "orderStatus", "交易成功");
		cJSON_AddStringToObject(cd, "sellerRateStatus", o->rates ? "4" : "5");
		bi = cJSON_AddObjectToObject(it, "buyerInfoVO");
		cJSON_AddStringToObject(bi, "buyerId", o->buyer);
		cJSON_AddStringToObject(bi, "userNick", o->buyer_name);
		cJSON_AddItemToArray(items, it);
		total++;
	}
	snprintf(n, sizeof n, "%d", total);
	cJSON_AddStringToObject(m, "totalCount", n);
	return d;
}

/* Appends to a completed order's orderStatusNodeList (in info, the
 * orderStatusVO data) the nodes 待评价 and 已评价 of protocol-account.md
 * §6.3, both completed once the seller rated (can_rate: 交易成功 completed,
 * 待评价 present and not completed). */
void sim_rate_nodes(cJSON *info, const sim_order *o)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(info, "orderStatusNodeList"), *n;

	if (!cJSON_IsArray(list) || strcmp(o->status, "completed"))
		return;
	for (int i = 0; i < 2; i++) {
		n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "title", i ? "已评价" : "待评价");
		cJSON_AddBoolToObject(n, "completed", o->rates > 0);
		cJSON_AddItemToArray(list, n);
	}
}

/* Runs rate api (sim_rate_api) at the request's path for seller a.
 * Returns the failure ret, or NULL on success (*out the data, if any). */
const char *sim_rate_mtop(const char *api, const char *path, sim_account *a, const cJSON *dj, cJSON **out)
{
	char v[16];

	rate_path_version(path, v, sizeof v);
	if (!strcmp(api, "mtop.taobao.idle.rate.create")) {
		if (strcmp(v, "4.0"))
			return "FAIL_SYS_API_NOT_FOUNDED::请求API不存在";
		return rate_create(a, dj);
	}
	if (strcmp(v, "1.0"))
		return "FAIL_SYS_API_NOT_FOUNDED::请求API不存在";
	*out = rate_list(a, dj);
	return NULL;
}
