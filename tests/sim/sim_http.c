/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_http.c - HTTP on both ports: the mtop API under /h5/ on the
 * platform port (docs/protocol.md §2, §9) and the JSON control API on the control port.
 */
#include "sim.h"
#include "codec.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int sim_http_respond(struct lws *wsi, sim_pss *pss, unsigned status, const char *ctype, const char *body,
		     char *const *set_cookies)
{
	uint8_t hb[LWS_PRE + 4096], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
	size_t n = strlen(body);
	int i;

	free(pss->resp);
	pss->resp = malloc(LWS_PRE + n + 1);
	if (!pss->resp)
		return 1;
	memcpy(pss->resp + LWS_PRE, body, n);
	pss->resp_len = n;
	if (lws_add_http_common_headers(wsi, status, ctype, n, &p, end))
		return 1;
	for (i = 0; set_cookies && i < SIM_MAX_SET_COOKIES && set_cookies[i]; i++)
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_SET_COOKIE,
						 (unsigned char *)set_cookies[i], (int)strlen(set_cookies[i]),
						 &p, end))
			return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* A JSON answer (sim_http_respond). */
static int respond(struct lws *wsi, sim_pss *pss, unsigned status, const char *body, char *const *set_cookies)
{
	return sim_http_respond(wsi, pss, status, "application/json;charset=UTF-8", body, set_cookies);
}

static int respond_json(struct lws *wsi, sim_pss *pss, unsigned status, cJSON *j, char *const *sc)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	int r;

	cJSON_Delete(j);
	r = respond(wsi, pss, status, s ? s : "{}", sc);
	free(s);
	return r;
}

/* Copies the query string (its '&'-joined fragments) into pss->query. */
static void read_query(struct lws *wsi, sim_pss *pss)
{
	char frag[512];
	size_t used = 0;
	int i, n;

	pss->query[0] = '\0';
	for (i = 0; (n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i)) > 0; i++) {
		if (used + (size_t)n + 2 >= sizeof pss->query)
			break;
		if (used)
			pss->query[used++] = '&';
		memcpy(pss->query + used, frag, (size_t)n);
		used += (size_t)n;
		pss->query[used] = '\0';
	}
}

/* An mtop envelope: {"api","data","ret":[ret],"v":"1.0"}; data may be NULL. */
static cJSON *mtop_env(const char *api, const char *ret, cJSON *data)
{
	cJSON *e = cJSON_CreateObject(), *r;

	cJSON_AddStringToObject(e, "api", api);
	cJSON_AddItemToObject(e, "data", data ? data : cJSON_CreateObject());
	r = cJSON_AddArrayToObject(e, "ret");
	cJSON_AddItemToArray(r, cJSON_CreateString(ret));
	cJSON_AddStringToObject(e, "v", "1.0");
	return e;
}

/* A fresh _m_h5_tk cookie value "<32hex>_<expiry ms>"; the token part to tk. */
static void new_h5tk(char *tk, size_t tkn, char *cookie, size_t cn)
{
	char hex[33];

	sim_gen_hex(hex, 32);
	snprintf(tk, tkn, "%s", hex);
	snprintf(cookie, cn, "_m_h5_tk=%s_%lld; Path=/; Max-Age=86400", hex,
		 (long long)util_now_ms() + 86400000);
}

/* The orderStatusVO data the order detail shows for a status
 * (docs/protocol.md §9.2): orderStatusInfo.title and the nodes
 * 已拍下 已付款 待发货 已发货 交易成功 (交易关闭 for a closed order) with
 * "completed" as far as the order went. */
static void order_status_vo(cJSON *info, const char *status)
{
	static const struct { const char *status, *title; int reached; } map[] = {
		{ "placed", "等待买家付款", 1 }, { "paid", "等待卖家发货", 2 }, { "refund_cancelled", "等待卖家发货", 2 },
		{ "remind", "等待卖家发货", 2 }, { "shipped", "等待买家收货", 4 }, { "completed", "交易成功", 5 },
		{ "refunding", "退款中", 2 }, { "closed", "交易关闭", 1 },
	};
	static const char *const nodes[] = { "已拍下", "已付款", "待发货", "已发货", "交易成功" };
	const char *title = "等待买家付款";
	int reached = 1;
	cJSON *list, *n;

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].status, status)) {
			title = map[i].title;
			reached = map[i].reached;
		}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(info, "orderStatusInfo"), "title", title);
	list = cJSON_AddArrayToObject(info, "orderStatusNodeList");
	for (int i = 0; i < 5; i++) {
		n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "title", nodes[i]);
		/* 待发货 is done once shipped; the others once reached */
		cJSON_AddBoolToObject(n, "completed", i == 2 ? reached >= 4 : i < reached);
		cJSON_AddItemToArray(list, n);
	}
	if (!strcmp(status, "closed")) {
		n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "title", "交易关闭");
		cJSON_AddBoolToObject(n, "completed", 1);
		cJSON_AddItemToArray(list, n);
	}
	cJSON_AddStringToObject(info, "status", status);
}

/* The order detail shape of mtop.idle.web.trade.order.detail (docs/protocol.md §9),
 * as the order's detail modes make it: a lagging status, another buyer or item. */
static cJSON *order_detail(const sim_order *o)
{
	cJSON *d = cJSON_CreateObject(), *comps = cJSON_AddArrayToObject(d, "components"), *c, *info, *item;
	const char *buyer = o->detail_buyer[0] ? o->detail_buyer : o->buyer;
	const char *iid = o->detail_item[0] ? o->detail_item : o->item_id;

	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "render", "orderInfoVO");
	info = cJSON_AddObjectToObject(c, "data");
	item = cJSON_AddObjectToObject(info, "itemInfo");
	cJSON_AddStringToObject(item, "itemId", iid);
	cJSON_AddNumberToObject(item, "buyAmount", o->quantity);
	cJSON_AddNumberToObject(item, "price", o->price);
	cJSON_AddStringToObject(item, "skuInfo", o->spec);
	cJSON_AddStringToObject(item, "title", sim_item_get(iid, 1) ? sim_item_get(iid, 1)->title : "");
	cJSON_AddStringToObject(info, "buyerUserId", buyer);
	cJSON_AddStringToObject(info, "buyerNick", o->buyer_name);
	cJSON_AddStringToObject(info, "orderId", o->id);
	cJSON_AddItemToArray(comps, c);
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "render", "addressInfoVO");
	info = cJSON_AddObjectToObject(c, "data");
	cJSON_AddStringToObject(info, "name", o->buyer_name);
	cJSON_AddStringToObject(info, "phoneNumber", "138****0000");
	cJSON_AddStringToObject(info, "address", "虚拟商品无需地址");
	cJSON_AddItemToArray(comps, c);
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "render", "orderStatusVO");
	info = cJSON_AddObjectToObject(c, "data");
	order_status_vo(info, o->lag_until_ms > util_now_ms() ? o->lag_status : o->status);
	sim_rate_nodes(info, o);
	cJSON_AddItemToArray(comps, c);
	cJSON_AddStringToObject(d, "peerUserId", buyer);
	cJSON_AddStringToObject(d, "itemId", iid);
	return d;
}

/* Takes the next injected failure matching api; returns it or NULL. */
static sim_mtop_fail *take_fail(const char *api)
{
	sim_mtop_fail *f;

	for (f = S.mtop_fails; f; f = f->next)
		if (f->n > 0 && (!f->api[0] || !strcmp(f->api, api))) {
			f->n--;
			return f;
		}
	return NULL;
}

/* Consign: the order must be this seller's and paid; it becomes shipped. */
static const char *mtop_consign(sim_account *a, const cJSON *data)
{
	const char *oid = sim_jstr2(data, "orderId");
	sim_order *o = oid ? sim_order_find(oid) : NULL;

	if (!o || strcmp(o->seller, a->unb))
		return "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在";
	o->consign_calls++;
	if (!strcmp(o->status, "shipped") || !strcmp(o->status, "completed"))
		return "ORDER_ALREADY_DELIVERY::订单已发货";
	if (strcmp(o->status, "paid"))
		return "FAIL_BIZ_ORDER_STATUS_ERROR::订单状态不允许发货";
	snprintf(o->status, sizeof o->status, "shipped");
	o->consigns++;
	S.st.consigns++;
	if (S.consign_pushes_card) {
		char body[96];
		cJSON *b, *out = NULL;

		snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"status\":\"shipped\",\"set\":false}", o->id);
		b = cJSON_Parse(body);
		sim_ctl_call("POST", "/order/status", "", b, &out);
		cJSON_Delete(b);
		cJSON_Delete(out);
	}
	return NULL;
}

/* login.token: mints an IM access token for seller a's device. Returns the
 * failure ret, or NULL on success (*out is the token; *status 500 when out of memory). */
static const char *mtop_login_token(sim_account *a, const cJSON *dj, cJSON **out, unsigned *status)
{
	const char *ak = sim_jstr2(dj, "appKey"), *did = sim_jstr2(dj, "deviceId");
	sim_token *tok;
	char hex[41];

	if (!ak || strcmp(ak, SIGN_IM_APPKEY) || !did || !*did || strlen(did) >= sizeof tok->did)
		return "FAIL_SYS_PARAMINVALID_ERROR::appKey/deviceId";
	tok = calloc(1, sizeof *tok);
	if (!tok) {
		*status = 500;
		return NULL;
	}
	sim_gen_hex(hex, 40);
	snprintf(tok->token, sizeof tok->token, "oauth_k1:%s", hex);
	snprintf(tok->did, sizeof tok->did, "%s", did);
	snprintf(tok->unb, sizeof tok->unb, "%s", a->unb);
	tok->expires_ms = util_now_ms() + S.token_ttl_ms;
	tok->next = S.tokens;
	S.tokens = tok;
	S.st.tokens_minted++;
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "accessToken", tok->token);
	snprintf(hex, sizeof hex, "%lld", (long long)S.token_ttl_ms);
	cJSON_AddStringToObject(*out, "accessTokenExpiredTime", hex);
	cJSON_AddStringToObject(*out, "refreshToken", "oauth_k1:refresh-sim");
	return NULL;
}

/* order.detail: the detail of one of seller a's orders ("tid"). Returns the
 * failure ret, or NULL with *out set. */
static const char *mtop_order_detail(sim_account *a, const cJSON *dj, cJSON **out)
{
	const char *tid = sim_jstr2(dj, "tid");
	sim_order *o = tid ? sim_order_find(tid) : NULL;

	if (!o || strcmp(o->seller, a->unb))
		return "FAIL_BIZ_ORDER_NOT_EXIST::订单不存在";
	o->detail_calls++;
	*out = order_detail(o);
	return NULL;
}

/* Runs api for seller a on its parsed data dj, once the request passed the
 * gates. Returns the failure ret, or NULL on success (*out the data, if any). */
static const char *mtop_api(const char *api, sim_account *a, const cJSON *dj, cJSON **out, unsigned *status)
{
	const char *r;

	if (sim_seller_mtop(api, a, dj, out, &r))
		return r;
	if (!strcmp(api, "mtop.taobao.idlemessage.pc.login.token"))
		return mtop_login_token(a, dj, out, status);
	if (!strcmp(api, "mtop.taobao.idle.logistic.consign.dummy"))
		return mtop_consign(a, dj);
	if (!strcmp(api, "mtop.idle.web.trade.order.detail"))
		return mtop_order_detail(a, dj, out);
	if (sim_items_mtop(api, a, dj, out, &r))
		return r;
	if (!strcmp(api, "mtop.taobao.idlemessage.pc.loginuser.get")) {
		*out = sim_session_loginuser(a);
		return NULL;
	}
	if (!strcmp(api, "mtop.idle.web.user.page.nav")) {
		/* the web page's user bar (§1.4 step 4: a client calls it after a
		 * login to collect the rotated _m_h5_tk; the data is the sim's own) */
		cJSON *base = cJSON_AddObjectToObject(cJSON_AddObjectToObject(*out = cJSON_CreateObject(), "module"), "base");

		cJSON_AddStringToObject(base, "userId", a->unb);
		cJSON_AddStringToObject(base, "displayName", a->unb);
		return NULL;
	}
	if (!strcmp(api, "mtop.gaia.nodejs.gaia.idle.data.gw.v2.index.get"))
		return NULL;   /* the home page feed (§1.1 A.2): an empty success */
	if (!strcmp(api, "mtop.idle.groupon.activity.seller.freeshipping")) {
		if (!cJSON_GetObjectItemCaseSensitive(dj, "bizOrderId"))
			return "FAIL_SYS_PARAMINVALID_ERROR::bizOrderId";
		return NULL;
	}
	return "FAIL_SYS_API_NOT_FOUNDED::请求API不存在";
}

/* Checks the _m_h5_tk cookie against seller a's current token (rotating it when
 * an expiry was injected) and writes it to tk. Returns the failure ret (with
 * *set_cookie the new token), or NULL when the token is current. */
static const char *mtop_h5tk(sim_account *a, const char *cookie, char *tk, size_t tkn, char **set_cookie)
{
	char sc[200];

	cookie_h5_token(cookie, tk, tkn);
	if (!*tk) {
		new_h5tk(a->h5tk, sizeof a->h5tk, sc, sizeof sc);
		*set_cookie = strdup(sc);
		return "FAIL_SYS_TOKEN_EMPTY::令牌为空";
	}
	if (!a->h5tk[0])
		snprintf(a->h5tk, sizeof a->h5tk, "%s", tk);   /* the first token seen is the account's */
	if (!strcmp(tk, a->h5tk) && (a->expire_h5tk || sim_session_h5tk_due(a))) {
		a->expire_h5tk = 0;
		snprintf(a->h5tk_old, sizeof a->h5tk_old, "%s", a->h5tk);
		new_h5tk(a->h5tk, sizeof a->h5tk, sc, sizeof sc);
	}
	if (strcmp(tk, a->h5tk)) {
		/* An old or unknown token: expired, with the current one as Set-Cookie. */
		snprintf(sc, sizeof sc, "_m_h5_tk=%s_%lld; Path=/; Max-Age=86400", a->h5tk,
			 (long long)util_now_ms() + 86400000);
		*set_cookie = strdup(sc);
		S.st.mtop_token_expired++;
		return "FAIL_SYS_TOKEN_EXOIRED::令牌过期";
	}
	return NULL;
}

/* One mtop call (docs/protocol.md §2). Returns the HTTP status; *env is the reply. */
static unsigned mtop_call(struct lws *wsi, sim_pss *pss, const char *api, cJSON **env,
			  char **set_cookie)
{
	char *cookie = NULL, *unb = NULL, *t = NULL, *sign = NULL, *appkey = NULL, *data = NULL;
	char tk[64], want[33];
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
	sim_account *a = NULL;
	sim_mtop_fail *fail;
	cJSON *dj = NULL, *out = NULL;
	const char *ret = "SUCCESS::调用成功", *ret1 = NULL, *r;
	unsigned status = 200;
	char ua[256] = "";
	cJSON *logx = cJSON_CreateObject();

	S.st.mtop_calls++;
	if (len > 0 && (cookie = malloc((size_t)len + 1)))
		lws_hdr_copy(wsi, cookie, len + 1, WSI_TOKEN_HTTP_COOKIE);
	unb = cookie ? cookie_get(cookie, "unb") : NULL;
	t = util_form_get(pss->query, strlen(pss->query), "t");
	sign = util_form_get(pss->query, strlen(pss->query), "sign");
	appkey = util_form_get(pss->query, strlen(pss->query), "appKey");
	data = pss->body.len ? util_form_get(pss->body.p, pss->body.len, "data") : NULL;
	if (!data)
		data = util_form_get(pss->query, strlen(pss->query), "data");
	if (unb && *unb)
		a = sim_account_get(unb, 1);
	if (!a) {
		/* no _m_h5_tk at all (the login pre-flight's cookieless call,
		 * protocol-account.md §1.1, §10.3): a token, bound to no account */
		tk[0] = '\0';
		cookie_h5_token(cookie, tk, sizeof tk);
		if (!tk[0]) {
			char sc[200];

			new_h5tk(tk, sizeof tk, sc, sizeof sc);
			*set_cookie = strdup(sc);
			ret = "FAIL_SYS_TOKEN_EMPTY::令牌为空";
			goto done;
		}
		ret = "FAIL_SYS_SESSION_EXPIRED::Session过期";
		goto done;
	}
	if (!sim_session_alive(a)) {
		S.st.session_expired++;
		ret = "FAIL_SYS_SESSION_EXPIRED::Session过期";
		goto done;
	}
	if (lws_hdr_copy(wsi, ua, sizeof ua, WSI_TOKEN_HTTP_USER_AGENT) < 0)
		ua[0] = '\0';
	if (sim_risk_mtop(a, api, cookie, ua, &ret, &ret1, &out))
		goto done;
	if ((r = mtop_h5tk(a, cookie, tk, sizeof tk, set_cookie))) {
		ret = r;
		goto done;
	}
	if (!t || !sign || !data || !appkey || strcmp(appkey, SIGN_MTOP_APPKEY)) {
		ret = "FAIL_SYS_PARAMINVALID_ERROR::参数错误";
		goto done;
	}
	sign_mtop(tk, t, appkey, data, strlen(data), want);
	if (strcmp(want, sign)) {
		S.st.mtop_bad_sign++;
		cJSON_AddFalseToObject(logx, "sign_ok");
		ret = "FAIL_SYS_ILLEGAL_ACCESS::非法请求";
		goto done;
	}
	if ((fail = take_fail(api))) {
		status = (unsigned)fail->status;
		ret = fail->ret;
		goto done;
	}
	sim_seller_note(wsi, pss->query);
	dj = cJSON_Parse(data);
	if (!cJSON_IsObject(dj)) {
		ret = "FAIL_SYS_PARAMINVALID_ERROR::data 不是 JSON";
		goto done;
	}
	if ((r = sim_rate_api(api) ? sim_rate_mtop(api, pss->path, a, dj, &out) : mtop_api(api, a, dj, &out, &status)))
		ret = r;
done:
	*env = mtop_env(api, ret, out);
	if (ret1)
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(*env, "ret"), cJSON_CreateString(ret1));
	cJSON_AddStringToObject(logx, "ret", ret1 ? ret1 : ret);
	cJSON_AddNumberToObject(logx, "status", status);
	if (data)
		cJSON_AddStringToObject(logx, "data", data);
	sim_log_add(0, a ? a->unb : "", "http", api, NULL, 0, logx);
	cJSON_Delete(logx);
	cJSON_Delete(dj);
	free(cookie);
	free(unb);
	free(t);
	free(sign);
	free(appkey);
	free(data);
	return status;
}

/* Handles a complete request on either port. Returns 0, or nonzero to close. */
static int dispatch(struct lws *wsi, sim_pss *pss, int ctl)
{
	static const char *const mnames[] = {"GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD"};
	const char *method = pss->method >= 0 && pss->method < 8 ? mnames[pss->method] : "?";
	cJSON *out = NULL, *body = NULL;
	char *sc[2] = {NULL, NULL};
	unsigned status;
	int r;

	if (pss->body_too_big)
		return respond(wsi, pss, 413, "{\"error\":\"body too large\"}", NULL);
	if (ctl) {
		if (pss->body.len) {
			body = cJSON_ParseWithLength(pss->body.p, pss->body.len);
			if (!body)
				return respond(wsi, pss, 400, "{\"error\":\"body is not JSON\"}", NULL);
		}
		status = (unsigned)sim_ctl_call(method, pss->path, pss->query, body, &out);
		cJSON_Delete(body);
		return respond_json(wsi, pss, status, out, NULL);
	}
	if (!strncmp(pss->path, "/h5/", 4)) {
		char api[128];
		const char *s = pss->path + 4, *e = strchr(s, '/');

		snprintf(api, sizeof api, "%.*s", e ? (int)(e - s) : (int)strlen(s), s);
		status = mtop_call(wsi, pss, api, &out, &sc[0]);
		r = respond_json(wsi, pss, status, out, sc);
		free(sc[0]);
		return r;
	}
	if (!strncmp(pss->path, "/newlogin/", 10) || !strncmp(pss->path, "/ac/", 4)) {
		char *psc[SIM_MAX_SET_COOKIES + 1] = {NULL}, *cookie = NULL;
		int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE), i;

		if (len > 0 && (cookie = malloc((size_t)len + 1)))
			lws_hdr_copy(wsi, cookie, len + 1, WSI_TOKEN_HTTP_COOKIE);
		status = (unsigned)sim_session_http(pss->path, cookie, pss->body.p, pss->body.len, &out, psc,
						    SIM_MAX_SET_COOKIES);
		free(cookie);
		r = status ? respond_json(wsi, pss, status, out, psc) : -2;
		for (i = 0; psc[i]; i++)
			free(psc[i]);
		if (r != -2)
			return r;
	}
	if ((r = sim_webhook_http(wsi, pss, method)) >= 0)
		return r;
	if ((r = sim_llm_http(wsi, pss, method)) >= 0)
		return r;
	if ((r = sim_passport_http(wsi, pss)) >= 0)
		return r;
	return respond(wsi, pss, 404, "{\"error\":\"not found\"}", NULL);
}

/* HTTP plumbing shared by both vhosts. */
static int http_common(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len, int ctl)
{
	sim_pss *pss = user;
	char *uri;
	int ulen;

	/* A connection that closes before (or after) a protocol is bound has no pss. */
	if (!pss && reason != LWS_CALLBACK_HTTP && reason != LWS_CALLBACK_HTTP_BODY &&
	    reason != LWS_CALLBACK_HTTP_BODY_COMPLETION && reason != LWS_CALLBACK_HTTP_WRITEABLE)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	if (!pss)
		return -1;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		snprintf(pss->path, sizeof pss->path, "%s", (const char *)in);
		pss->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
		read_query(wsi, pss);
		sbuf_reset(&pss->body);
		pss->body_too_big = 0;
		if (pss->method == LWSHUMETH_POST || pss->method == LWSHUMETH_PUT) {
			if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
				return respond(wsi, pss, 411, "{\"error\":\"Content-Length required\"}", NULL);
			return 0;   /* answered at BODY_COMPLETION */
		}
		return dispatch(wsi, pss, ctl);
	case LWS_CALLBACK_HTTP_BODY:
		if (pss->body.len + len > SIM_MAX_BODY)
			pss->body_too_big = 1;
		else
			sbuf_add(&pss->body, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return dispatch(wsi, pss, ctl);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->resp)
			return 0;
		if (lws_write(wsi, (unsigned char *)pss->resp + LWS_PRE, pss->resp_len, LWS_WRITE_HTTP_FINAL) <
		    (int)pss->resp_len)
			return -1;
		free(pss->resp);
		pss->resp = NULL;
		sbuf_free(&pss->body);
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		sim_llm_drop(pss);
		free(pss->resp);
		pss->resp = NULL;
		sbuf_free(&pss->body);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* The platform port: mtop over HTTP and the LWP WebSocket. */
int sim_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		      size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
	case LWS_CALLBACK_ESTABLISHED:
	case LWS_CALLBACK_RECEIVE:
	case LWS_CALLBACK_SERVER_WRITEABLE:
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
	case LWS_CALLBACK_CLOSED:
		return sim_ws_callback(wsi, reason, user, in, len);
	default:
		return http_common(wsi, reason, user, in, len, 0);
	}
}

/* The control port: HTTP only. */
int sim_ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) {
		lws_return_http_status(wsi, 400, "no WebSocket on the control port");
		return 1;
	}
	return http_common(wsi, reason, user, in, len, 1);
}
