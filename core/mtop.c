/* SPDX-License-Identifier: MIT */
#include "mtop.h"
#include "codec.h"
#include "http.h"
#include "log.h"
#include "lwp.h"
#include "sign.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mtop_call {
	mtop_ctx *m;
	char *api;
	char *data;
	char version[9];
	unsigned flags;
	mtop_cb cb;
	void *ud;
	int retried;
	http_req *req;
};

static int send_req(mtop_call *c);

int mtop_is_risk_text(const char *s)
{
	/* docs/protocol.md §2: match the code, the ::SM:: marker and the text,
	 * not only RGV587 (RRXVv_ERROR was seen too) */
	static const char *const risk[] = {"FAIL_SYS_USER_VALIDATE", "RGV587_ERROR", "RRXVv_ERROR", "::SM::",
		"被挤爆", "FAIL_BIZ_WUA_IS_MACHINE", "请稍后重试", "punish?x5secdata", "captcha", NULL};
	int i;

	for (i = 0; s && risk[i]; i++)
		if (strstr(s, risk[i]))
			return 1;
	return 0;
}

/* Classifies by the ret strings and data.url (docs/protocol.md §2). */
mtop_result mtop_classify(const cJSON *env)
{
	const cJSON *ret = cJSON_GetObjectItemCaseSensitive(env, "ret"), *r;
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(env, "data"), "url");

	if (!cJSON_IsArray(ret))
		return MTOP_TRANSPORT;
	cJSON_ArrayForEach(r, ret)
		if (cJSON_IsString(r) && strstr(r->valuestring, "SUCCESS::调用成功"))
			return MTOP_OK;
	cJSON_ArrayForEach(r, ret) {
		if (!cJSON_IsString(r))
			continue;
		if (strstr(r->valuestring, "FAIL_SYS_TOKEN_EXOIRED") || strstr(r->valuestring, "FAIL_SYS_TOKEN_EXPIRED") ||
		    strstr(r->valuestring, "FAIL_SYS_TOKEN_EMPTY"))
			return MTOP_TOKEN_EXPIRED;
		if (strstr(r->valuestring, "FAIL_SYS_SESSION_EXPIRED"))
			return MTOP_SESSION_EXPIRED;
		if (mtop_is_risk_text(r->valuestring))
			return MTOP_RISK;
	}
	if (cJSON_IsString(url) && (strstr(url->valuestring, "punish") || strstr(url->valuestring, "captcha") ||
				    strstr(url->valuestring, "validate")))
		return MTOP_RISK;
	return MTOP_FAIL;
}

const char *mtop_result_name(mtop_result r)
{
	static const char *const n[] = {"ok", "token expired", "session expired", "risk control", "failed",
		"transport"};

	return r <= MTOP_TRANSPORT ? n[r] : "?";
}

static void call_free(mtop_call *c)
{
	free(c->api);
	free(c->data);
	free(c);
}

/* Whether a Set-Cookie value (name=value; attributes) sets unb to a value
 * other than the one in cookie (a cookie without unb has nothing to guard). */
static int unb_differs(const char *cookie, const char *set_cookie)
{
	const char *v = set_cookie + strspn(set_cookie, " ");
	char *have;
	size_t n;
	int differs;

	if (strncmp(v, "unb=", 4))
		return 0;
	v += 4;
	n = strcspn(v, ";");
	have = cookie_get(cookie, "unb");
	differs = have && *have && (strlen(have) != n || strncmp(have, v, n));
	free(have);
	return differs;
}

int mtop_merge_set_cookies(mtop_ctx *m, const char *const *set_cookies, int n)
{
	int i, changed = 0, merged = 0;

	for (i = 0; i < n; i++)
		if (!cookie_is_deletion(set_cookies[i]) && unb_differs(m->cookie, set_cookies[i]))
			return -1;
	for (i = 0; i < n; i++) {
		char *c;

		if (cookie_is_deletion(set_cookies[i]))
			continue;
		c = cookie_merge(m->cookie, set_cookies[i]);
		if (c)
			merged++;
		if (c && strcmp(c, m->cookie)) {
			free(m->cookie);
			m->cookie = c;
			changed = 1;
		} else {
			free(c);
		}
	}
	if (changed && m->on_cookie)
		m->on_cookie(m->ud, m->cookie);
	return merged;
}

/* Merges an answer's Set-Cookie (mtop_merge_set_cookies); a refused one is logged. */
static void merge_cookies(mtop_ctx *m, const http_resp *r)
{
	if (mtop_merge_set_cookies(m, r->set_cookies, r->n_set_cookies) < 0)
		log_err("mtop", "an answer's Set-Cookie names another account (unb): none of its cookies taken");
}

static void on_http(void *ud, const http_resp *r)
{
	mtop_call *c = ud;
	const char *err = NULL;
	cJSON *env = NULL;
	const cJSON *ret0;
	mtop_result res;
	char why[160];

	c->req = NULL;
	merge_cookies(c->m, r);
	if (r->error) {
		snprintf(why, sizeof why, "%s", r->error);
		c->cb(c->ud, MTOP_TRANSPORT, "", NULL, why);
		call_free(c);
		return;
	}
	env = codec_json_parse(r->body, r->body_len, &err);
	if (r->status != 200 || !cJSON_IsObject(env)) {
		snprintf(why, sizeof why, "HTTP %d%s%s", r->status, env ? "" : ", not JSON: ", env ? "" : (err ? err : ""));
		c->cb(c->ud, MTOP_TRANSPORT, "", NULL, why);
		cJSON_Delete(env);
		call_free(c);
		return;
	}
	res = mtop_classify(env);
	if (res == MTOP_TOKEN_EXPIRED && !c->retried) {
		/* The answer carried a fresh _m_h5_tk: sign again with it, once. */
		c->retried = 1;
		cJSON_Delete(env);
		if (send_req(c) == 0)
			return;
		c->cb(c->ud, MTOP_TRANSPORT, "", NULL, "cannot start the retry");
		call_free(c);
		return;
	}
	ret0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(env, "ret"), 0);
	/* protocol-account.md §6.1: the seller console answers
	 * FAIL_SYS_SESSION_EXPIRED often while the login (and IM) works: that
	 * is the caller's failure, not the session's death (risk still is) */
	if (c->m->on_result && !(res == MTOP_SESSION_EXPIRED && (c->flags & MTOP_SELLER)))
		c->m->on_result(c->m->ud, c->api, res, cJSON_GetObjectItemCaseSensitive(env, "data"));
	c->cb(c->ud, res, cJSON_IsString(ret0) ? ret0->valuestring : "",
	      cJSON_GetObjectItemCaseSensitive(env, "data"), NULL);
	cJSON_Delete(env);
	call_free(c);
}

/* Builds the signed request from the current cookie and starts it. 0 or -1. */
static int send_req(mtop_call *c)
{
	mtop_ctx *m = c->m;
	char tk[64], t[24], sign[33];
	sbuf url = {0}, body = {0}, hdr = {0};

	cookie_h5_token(m->cookie, tk, sizeof tk);
	snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
	sign_mtop(tk, t, SIGN_MTOP_APPKEY, c->data, strlen(c->data), sign);
	/* docs/protocol-account.md §6: the seller console's APIs answer numbers
	 * and booleans as strings (valueType=string) and want its site headers */
	sbuf_addf(&url, "%s%s/%s/?jsv=2.7.2&appKey=%s&t=%s&sign=%s&v=%s&type=originaljson"
		  "&accountSite=xianyu&dataType=json&timeout=20000&api=%s&sessionOption=AutoLoginOnly%s",
		  m->api_url, c->api, c->version, SIGN_MTOP_APPKEY, t, sign, c->version, c->api,
		  c->flags & MTOP_SELLER ? "&valueType=string" : "");
	sbuf_adds(&body, "data=");
	util_urlencode(&body, c->data, strlen(c->data));
	if (c->flags & MTOP_SELLER)
		sbuf_adds(&hdr, "idle_site_biz_code: COMMONPRO\r\nOrigin: https://seller.goofish.com\r\n"
			  "Referer: https://seller.goofish.com/\r\n");
	else
		sbuf_adds(&hdr, "Origin: https://www.goofish.com\r\nReferer: https://www.goofish.com/\r\n");
	sbuf_addf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
		  "User-Agent: %s\r\nCookie: %s\r\n", LWP_UA, m->cookie);
	if (!url.oom && !body.oom && !hdr.oom)
		c->req = http_post(m->ctx, m->vh, url.p, hdr.p, body.p, body.len, m->timeout_s, m->tls_verify,
				   on_http, c);
	sbuf_free(&url);
	sbuf_free(&body);
	sbuf_free(&hdr);
	return c->req ? 0 : -1;
}

int mtop_version_ok(const char *version)
{
	size_t n = version ? strlen(version) : 0;

	if (n < 1 || n > 8 || !isdigit((unsigned char)version[0]))
		return 0;
	return strspn(version, "0123456789.") == n;
}

mtop_call *mtop_start(mtop_ctx *m, const char *api, const char *data, mtop_cb cb, void *ud)
{
	return mtop_start_ex(m, api, NULL, 0, data, cb, ud);
}

mtop_call *mtop_start_ex(mtop_ctx *m, const char *api, const char *version, unsigned flags, const char *data,
			 mtop_cb cb, void *ud)
{
	mtop_call *c;

	if (!version)
		version = "1.0";
	if (!mtop_version_ok(version) || !(c = calloc(1, sizeof *c)))
		return NULL;
	snprintf(c->version, sizeof c->version, "%s", version);
	c->flags = flags;
	c->m = m;
	c->api = strdup(api);
	c->data = strdup(data);
	c->cb = cb;
	c->ud = ud;
	if (!c->api || !c->data || send_req(c)) {
		call_free(c);
		return NULL;
	}
	return c;
}

void mtop_cancel(mtop_call *c)
{
	if (!c)
		return;
	http_cancel(c->req);
	call_free(c);
}

void mtop_forget(mtop_call *c)
{
	if (c)
		call_free(c);
}
