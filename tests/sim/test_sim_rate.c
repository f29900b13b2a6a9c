/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_rate.c - the simulator's rating APIs (tests/sim/sim_rate.c):
 * rate.create only at path version 4.0, refused before the trade completed,
 * once per order, bad data refused; the order detail's 待评价/已评价 nodes;
 * merchant.rate.list of the orders to rate and rated.
 */
#include "test_sim_client.h"

#define RATE "mtop.taobao.idle.rate.create"
#define OID "2603000000000777"

/* A signed mtop call of api at version ver with data; the answer's envelope (NULL: none). */
static cJSON *mtop_v(const char *api, const char *ver, const char *data)
{
	char token[64], t[32], sign[33], path[1024], hdr[800];
	sbuf body = {0};
	tc_http_resp r;
	cJSON *env = NULL;

	cookie_h5_token(cookie, token, sizeof token);
	snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
	sign_mtop(token, t, SIGN_MTOP_APPKEY, data, strlen(data), sign);
	snprintf(path, sizeof path, "/h5/%s/%s/?jsv=2.7.2&appKey=%s&t=%s&sign=%s&v=%s&api=%s", api, ver,
		 SIGN_MTOP_APPKEY, t, sign, ver, api);
	sbuf_adds(&body, "data=");
	util_urlencode(&body, data, strlen(data));
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	if (tc_http(sim.port, "POST", path, hdr, body.p, body.len, &r, 3000) == 0) {
		env = cJSON_ParseWithLength(r.body, r.body_len);
		tc_http_free(&r);
	}
	sbuf_free(&body);
	return env;
}

/* The first ret of an mtop call ("" when none). */
static const char *ret_of(const char *api, const char *ver, const char *data, char *buf, size_t n)
{
	cJSON *env = mtop_v(api, ver, data);

	snprintf(buf, n, "%s", cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(env, "ret"), 0) &&
		 cJSON_IsString(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(env, "ret"), 0)) ?
		 cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(env, "ret"), 0)->valuestring : "");
	cJSON_Delete(env);
	return buf;
}

static int order_num(const char *field)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/orders", NULL, NULL), *o;
	int v = -1;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "orders"))
		if (tc_jstr(o, "order_id") && !strcmp(tc_jstr(o, "order_id"), OID))
			v = (int)tc_jnum(o, field);
	cJSON_Delete(r);
	return v;
}

/* The titles and completed flags of the detail's status nodes after the
 * fifth ("待评价=0 已评价=0"), "" when none. */
static const char *rate_nodes(char *buf, size_t n)
{
	cJSON *env = mtop_v("mtop.idle.web.trade.order.detail", "1.0", "{\"tid\":\"" OID "\"}"), *x;
	size_t len = 0;
	int i = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(x, jget(env, "data.components.2.data.orderStatusNodeList"))
		if (i++ >= 5 && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s=%d", len ? " " : "", js(x, "title") ?: "?",
						cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "completed")));
	cJSON_Delete(env);
	return buf;
}

int main(void)
{
	char b[256];
	cJSON *env;

	snprintf(cookie, sizeof cookie, "unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000", UNB);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	cJSON_Delete(tc_ctl(sim.ctl_port, "POST", "/order", "{\"seller\":\"" UNB "\",\"order_id\":\"" OID "\","
			    "\"cid\":\"50001\",\"buyer\":\"30001\",\"buyer_name\":\"小李\",\"item_id\":\"40004\","
			    "\"quantity\":1,\"status\":\"shipped\"}", NULL));
	is_str(ret_of(RATE, "1.0", "{\"tradeId\":\"" OID "\",\"rate\":1,\"feedback\":\"好\",\"createOrAppend\":0}", b,
		      sizeof b), "FAIL_SYS_API_NOT_FOUNDED::请求API不存在", "rate.create at 1.0: no such API");
	is_int(order_num("rate_calls"), 0, "not counted");
	is_str(ret_of(RATE, "4.0", "{\"tradeId\":\"" OID "\",\"rate\":1,\"feedback\":\"好\",\"createOrAppend\":0}", b,
		      sizeof b), "FAIL_BIZ_RATE_NOT_ALLOWED::交易成功后才能评价", "shipped: not ratable yet");
	is_str(rate_nodes(b, sizeof b), "", "shipped: no rating nodes");
	cJSON_Delete(tc_ctl(sim.ctl_port, "POST", "/order/status", "{\"order_id\":\"" OID "\",\"status\":\"completed\","
			    "\"push\":false}", NULL));
	is_str(rate_nodes(b, sizeof b), "待评价=0 已评价=0", "completed: to rate (can_rate)");
	env = mtop_v("mtop.taobao.idle.merchant.rate.list", "1.0", "{\"pageNumber\":1,\"rowsPerPage\":20,"
		     "\"queryType\":\"ORDER\",\"rateSearchParam\":{\"sellerRateStatus\":\"5\"}}");
	is_str(jps(env, "data.module.items.0.commonData.orderId") ?: "", OID, "rate.list: the order to rate");
	is_str(jps(env, "data.module.totalCount") ?: "", "1", "rate.list: totalCount a string");
	cJSON_Delete(env);
	is_str(ret_of(RATE, "4.0", "{\"tradeId\":\"" OID "\",\"rate\":1,\"feedback\":\"\",\"createOrAppend\":0}", b,
		      sizeof b), "FAIL_SYS_PARAMINVALID_ERROR::rate/feedback/createOrAppend", "an empty feedback: refused");
	is_str(ret_of(RATE, "4.0", "{\"tradeId\":\"9\",\"rate\":1,\"feedback\":\"好\",\"createOrAppend\":0}", b,
		      sizeof b), "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在", "an unknown order");
	is_str(ret_of(RATE, "4.0", "{\"tradeId\":\"" OID "\",\"rate\":1,\"feedback\":\"不错的买家\",\"createOrAppend\":0}",
		      b, sizeof b), "SUCCESS::调用成功", "completed: rated");
	is_str(ret_of(RATE, "4.0", "{\"tradeId\":\"" OID "\",\"rate\":1,\"feedback\":\"again\",\"createOrAppend\":0}",
		      b, sizeof b), "FAIL_BIZ_RATE_DUPLICATE::该订单已评价", "a second rating: already rated");
	is_int(order_num("rates"), 1, "rated once");
	is_int(order_num("rate_calls"), 4, "four calls at 4.0 for the order");
	is_str(rate_nodes(b, sizeof b), "待评价=1 已评价=1", "rated: both nodes completed");
	env = mtop_v("mtop.taobao.idle.merchant.rate.list", "1.0", "{\"rateSearchParam\":{\"sellerRateStatus\":\"4\"}}");
	is_str(jps(env, "data.module.items.0.commonData.sellerRateStatus") ?: "", "4", "rate.list: the rated ones");
	cJSON_Delete(env);
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
