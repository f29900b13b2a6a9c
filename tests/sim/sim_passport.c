/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_passport.c - the passport QR login service on the platform port
 * (/work/shared/protocol-account.md §1, §10.1, §10.2; tests/sim/README.md):
 * mini_login.htm, qrcode/generate.do, qrcode/query.do with its state machine
 * NEW -> SCANED -> CONFIRMED | CANCELED | EXPIRED | ERROR, the token exchange
 * (login_token/login.do) and the verification branch (§1.5). The phone is the
 * control API: /login/scan, /login/confirm, /login/verify, /login/cancel,
 * /login/expire, /login/error; GET /login reports.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum { PP_NEW, PP_SCANED, PP_CONFIRMED, PP_CANCELED, PP_EXPIRED, PP_ERROR };
static const char *const pp_state_names[] = {"NEW", "SCANED", "CONFIRMED", "CANCELED", "EXPIRED", "ERROR"};

/* One QR code made by generate.do. */
typedef struct pp_qr {
	struct pp_qr *next;
	int64_t t;               /* its creation time (ms), the "t" of generate.do */
	char ck[48];
	char code[200];          /* codeContent */
	int state;
	char unb[32];            /* the account that confirmed ("" before) */
	int want_token;          /* CONFIRMED carries a token; cookies come from login.do */
	int want_verify;         /* CONFIRMED carries iframeRedirect (§1.5) */
	char token[48];          /* the login.do token, "" when none or used */
	char htoken[40];         /* the verification's handle */
	char vsid[24];           /* the iframeRedirectUrl's id */
	int verified;            /* /login/verify was called */
	int done;                /* the final cookies were handed out */
	char error[96];          /* titleMsg of /login/error */
	long queries;
} pp_qr;

static struct {
	pp_qr *qrs;              /* newest first */
	int64_t expire_ms;       /* POST /config qr_expire_ms */
	int has_error_n, html_n; /* faults: the next n JSON answers */
	long generated, queries, bad_queries, logins;
	unsigned next_unb;
} P = {.expire_ms = 180000};

cJSON *sim_passport_env(int ok, cJSON *data, const char *title)
{
	cJSON *e = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(e, "content");

	cJSON_AddItemToObject(c, "data", data ? data : cJSON_CreateObject());
	cJSON_AddNumberToObject(c, "status", ok ? 0 : -1);
	cJSON_AddBoolToObject(c, "success", ok);
	if (title)
		cJSON_AddStringToObject(c, "titleMsg", title);
	cJSON_AddFalseToObject(e, "hasError");
	return e;
}

/* Answers a passport JSON answer (sim_passport_env; data is taken); 0 or 1
 * as sim_http_respond. */
static int pp_json(struct lws *wsi, sim_pss *pss, int ok, cJSON *data, char *const *cookies)
{
	cJSON *e = sim_passport_env(ok, data, NULL);
	char *s;
	int r;

	s = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	r = sim_http_respond(wsi, pss, 200, "application/json;charset=UTF-8", s ? s : "{}", cookies);
	free(s);
	return r;
}

/* The injected faults of a JSON endpoint: a hasError transient or an HTML page.
 * Returns -1 when none is due, else what sim_http_respond returned. */
static int pp_fault(struct lws *wsi, sim_pss *pss)
{
	if (P.has_error_n > 0) {
		P.has_error_n--;
		return sim_http_respond(wsi, pss, 200, "application/json;charset=UTF-8",
				  "{\"content\":{\"status\":-1,\"success\":false},\"hasError\":true}", NULL);
	}
	if (P.html_n > 0) {
		P.html_n--;
		return sim_http_respond(wsi, pss, 200, "text/html;charset=UTF-8",
				  "<!DOCTYPE html><html><head><title>闲鱼</title></head><body>"
				  "<p>系统繁忙，请稍后再试</p></body></html>", NULL);
	}
	return -1;
}

/* A QR past its expiry while NEW or SCANED becomes EXPIRED. */
static void pp_tick(pp_qr *q)
{
	if ((q->state == PP_NEW || q->state == PP_SCANED) && util_now_ms() >= q->t + P.expire_ms)
		q->state = PP_EXPIRED;
}

/* The QR named by t (and ck, unless NULL), or NULL. */
static pp_qr *pp_find(int64_t t, const char *ck)
{
	pp_qr *q;

	for (q = P.qrs; q; q = q->next)
		if (q->t == t && (!ck || !strcmp(q->ck, ck)))
			return q;
	return NULL;
}

/* A request parameter: from the form body, else from the query (malloc'd, NULL when absent). */
static char *pp_param(const sim_pss *pss, const char *name)
{
	char *v = pss->body.len ? util_form_get(pss->body.p, pss->body.len, name) : NULL;

	return v ? v : util_form_get(pss->query, strlen(pss->query), name);
}

/* Fills cookies (heap strings, NULL-terminated, freed by pp_free_cookies) with
 * the Set-Cookie of a finished login of q's account: unb, cookie2, sgcookie,
 * tracknick, csg, _tb_token_, havana_lgc2_77. Path=/, no Domain (a cookie jar
 * on 127.0.0.1 rejects Domain=goofish.com). The account's session becomes
 * valid and its _m_h5_tk rotates (the login rotates it: §1.4 step 4). */
static void pp_login_cookies(pp_qr *q, char **cookies)
{
	sim_account *a = sim_account_get(q->unb, 1);
	char h[80];
	int n = 0;

	if (a) {
		a->session_expired = 0;
		a->risk = 0;
		sim_session_renewed(a);     /* the lifetime starts over */
		snprintf(a->h5tk_old, sizeof a->h5tk_old, "%s", a->h5tk);
		sim_gen_hex(a->h5tk, 32);
	}
	q->done = 1;
	P.logins++;
#define PP_COOKIE(fmt, ...) do { \
		char c_[200]; \
		snprintf(c_, sizeof c_, fmt, __VA_ARGS__); \
		if ((cookies[n] = strdup(c_))) \
			n++; \
	} while (0)
	PP_COOKIE("unb=%s; Path=/; HttpOnly", q->unb);
	sim_gen_hex(h, 32);
	PP_COOKIE("cookie2=%s; Path=/; HttpOnly", h);
	sim_gen_hex(h, 64);
	PP_COOKIE("sgcookie=E100%s; Path=/; HttpOnly", h);
	PP_COOKIE("tracknick=sim_%s; Path=/", q->unb);
	sim_gen_hex(h, 16);
	PP_COOKIE("csg=%s; Path=/", h);
	sim_gen_hex(h, 13);
	PP_COOKIE("_tb_token_=%s; Path=/", h);
	sim_gen_hex(h, 40);
	PP_COOKIE("havana_lgc2_77=%s; Path=/; Max-Age=2592000; HttpOnly", h);
#undef PP_COOKIE
	cookies[n] = NULL;
}

/* Frees a zero-initialized list of SIM_MAX_SET_COOKIES + 1 Set-Cookie values. */
static void pp_free_cookies(char **cookies)
{
	for (int i = 0; i <= SIM_MAX_SET_COOKIES; i++)
		free(cookies[i]);
}

/* GET /mini_login.htm: the login page with window.viewData.loginFormData and
 * the passport cookies XSRF-TOKEN, cookie2, cna. */
static int pp_mini_login(struct lws *wsi, sim_pss *pss)
{
	char xsrf[40], c2[40], cna[32], *cookies[4], *vd;
	cJSON *v = cJSON_CreateObject(), *f = cJSON_AddObjectToObject(v, "loginFormData");
	sbuf b = {0};
	int r, i;

	sim_gen_hex(xsrf, 32);
	sim_gen_hex(c2, 32);
	sim_gen_hex(cna, 24);
	cJSON_AddStringToObject(f, "appName", "xianyu");
	cJSON_AddStringToObject(f, "appEntrance", "web");
	cJSON_AddStringToObject(f, "fromSite", "77");
	cJSON_AddStringToObject(f, "_csrf_token", xsrf);
	cJSON_AddStringToObject(f, "umidToken", "");
	cJSON_AddStringToObject(f, "hsiz", c2);
	cJSON_AddStringToObject(f, "bizParams", "taobaoBizLoginFrom=web");
	cJSON_AddStringToObject(f, "mainPage", "false");
	cJSON_AddStringToObject(f, "isMobile", "false");
	cJSON_AddStringToObject(f, "lang", "zh_CN");
	cJSON_AddStringToObject(f, "returnUrl", "");
	cJSON_AddStringToObject(v, "title", "闲鱼登录");
	vd = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	sbuf_addf(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>闲鱼登录</title></head>\n"
		  "<body><div id=\"login\"></div>\n<script>\nwindow.viewData = %s;\n</script>\n</body></html>\n",
		  vd ? vd : "{}");
	free(vd);
	{
		char c[120];

		snprintf(c, sizeof c, "XSRF-TOKEN=%s; Path=/", xsrf);
		cookies[0] = strdup(c);
		snprintf(c, sizeof c, "cookie2=%s; Path=/; HttpOnly", c2);
		cookies[1] = strdup(c);
		snprintf(c, sizeof c, "cna=%s; Path=/; Max-Age=31536000", cna);
		cookies[2] = strdup(c);
		cookies[3] = NULL;
	}
	r = sim_http_respond(wsi, pss, 200, "text/html;charset=UTF-8", b.p ? b.p : "", cookies);
	for (i = 0; i < 3; i++)
		free(cookies[i]);
	sbuf_free(&b);
	return r;
}

/* GET /newlogin/qrcode/generate.do: a new QR (t, ck, codeContent). */
static int pp_generate(struct lws *wsi, sim_pss *pss)
{
	pp_qr *q = calloc(1, sizeof *q);
	char lg[41];
	cJSON *d;

	if (!q)
		return sim_http_respond(wsi, pss, 500, "application/json", "{\"error\":\"out of memory\"}", NULL);
	q->t = util_now_ms();
	if (P.qrs && P.qrs->t >= q->t)
		q->t = P.qrs->t + 1;        /* t names the QR: keep it unique */
	sim_gen_hex(q->ck, 40);
	sim_gen_hex(lg, 40);
	snprintf(q->code, sizeof q->code, "https://passport.goofish.com/qrcodeCheck.htm?lgToken=%s"
		 "&tbScanOpenType=Notification", lg);
	q->state = PP_NEW;
	q->next = P.qrs;
	P.qrs = q;
	P.generated++;
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "t", (double)q->t);   /* a plain integer: 13 digits print as %g without exponent */
	cJSON_AddStringToObject(d, "ck", q->ck);
	cJSON_AddStringToObject(d, "codeContent", q->code);
	cJSON_AddNumberToObject(d, "resultCode", 100);
	cJSON_AddFalseToObject(d, "processFinished");
	return pp_json(wsi, pss, 1, d, NULL);
}

/* The iframeRedirectUrl of q's verification (§1.5). */
static void pp_verify_url(const pp_qr *q, char *out, size_t n)
{
	snprintf(out, n, "http://127.0.0.1:%d/iv/normal_validate.htm?vsid=%s&appName=xianyu", S.port, q->vsid);
}

/* POST /newlogin/qrcode/query.do (form t, ck): the QR's state. */
static int pp_query(struct lws *wsi, sim_pss *pss)
{
	char *t = pp_param(pss, "t"), *ck = pp_param(pss, "ck"), *cookies[SIM_MAX_SET_COOKIES + 1] = {NULL};
	pp_qr *q = t && ck ? pp_find(strtoll(t, NULL, 10), ck) : NULL;
	cJSON *d = cJSON_CreateObject();
	int r;

	P.queries++;
	free(t);
	free(ck);
	if (!q) {
		P.bad_queries++;
		cJSON_AddStringToObject(d, "qrCodeStatus", "ERROR");
		cJSON_AddNumberToObject(d, "resultCode", 10001);
		cJSON_AddStringToObject(d, "titleMsg", "二维码参数错误 (unknown t/ck)");
		return pp_json(wsi, pss, 1, d, NULL);
	}
	q->queries++;
	pp_tick(q);
	cJSON_AddStringToObject(d, "qrCodeStatus", pp_state_names[q->state]);
	cJSON_AddNumberToObject(d, "resultCode", q->state == PP_ERROR ? 10003 : 100);
	if (q->state == PP_EXPIRED)
		cJSON_AddStringToObject(d, "titleMsg", "二维码已失效，请刷新");
	else if (q->state == PP_CANCELED)
		cJSON_AddStringToObject(d, "titleMsg", "已取消登录");
	else if (q->state == PP_ERROR)
		cJSON_AddStringToObject(d, "titleMsg", q->error);
	if (q->state == PP_CONFIRMED) {
		if (q->want_verify) {
			char url[200];

			pp_verify_url(q, url, sizeof url);
			cJSON_AddTrueToObject(d, "iframeRedirect");
			cJSON_AddStringToObject(d, "iframeRedirectUrl", url);
			/* temporary cookies: no unb, so mtop does not take them */
			{
				char h[40], c[120];

				sim_gen_hex(h, 32);
				snprintf(c, sizeof c, "cookie2=%s; Path=/; HttpOnly", h);
				cookies[0] = strdup(c);
				sim_gen_hex(h, 13);
				snprintf(c, sizeof c, "_tb_token_=%s; Path=/", h);
				cookies[cookies[0] ? 1 : 0] = strdup(c);
			}
		} else if (q->want_token) {
			if (q->token[0])
				cJSON_AddStringToObject(d, "token", q->token);
		} else if (!q->done) {
			pp_login_cookies(q, cookies);
		}
	}
	r = pp_json(wsi, pss, 1, d, cookies);
	pp_free_cookies(cookies);
	return r;
}

/* GET/POST /login_token/login.do?token=…: exchanges a CONFIRMED QR's token for
 * the login cookies (§1.4 step 2). The token works once. */
static int pp_token_login(struct lws *wsi, sim_pss *pss)
{
	char *tok = util_form_get(pss->query, strlen(pss->query), "token"), *cookies[SIM_MAX_SET_COOKIES + 1] = {NULL};
	cJSON *d = cJSON_CreateObject();
	pp_qr *q;
	int r;

	if (!tok)
		tok = pp_param(pss, "token");
	for (q = P.qrs; q && tok; q = q->next)
		if (q->token[0] && !strcmp(q->token, tok) && q->state == PP_CONFIRMED)
			break;
	if (!tok)
		q = NULL;
	free(tok);
	if (!q) {
		cJSON_AddNumberToObject(d, "resultCode", 14032);
		cJSON_AddStringToObject(d, "titleMsg", "token 无效或已使用 (unknown or used token)");
		return pp_json(wsi, pss, 0, d, NULL);
	}
	q->token[0] = '\0';
	pp_login_cookies(q, cookies);
	cJSON_AddNumberToObject(d, "resultCode", 100);
	cJSON_AddStringToObject(d, "redirectUrl", "https://www.goofish.com/");
	r = pp_json(wsi, pss, 1, d, cookies);
	pp_free_cookies(cookies);
	return r;
}

/* The QR whose verification handle or page id is v. */
static pp_qr *pp_by_verify(const char *v, int by_htoken)
{
	pp_qr *q;

	for (q = P.qrs; q && v; q = q->next)
		if (q->want_verify && q->state == PP_CONFIRMED && !strcmp(by_htoken ? q->htoken : q->vsid, v))
			return q;
	return NULL;
}

/* The verification pages and calls of §1.5: normal_validate.htm (HTML with
 * htoken and the verify_modes link), verify_modes.htm (the face QR text),
 * photoVerify/check.do (code "0" waiting, "3" passed with an ivCheckLogin.htm
 * url) and ivCheckLogin.htm (the final cookies). */
static int pp_verify(struct lws *wsi, sim_pss *pss, const char *path)
{
	char *v, *cookies[SIM_MAX_SET_COOKIES + 1] = {NULL}, page[1024];
	int is_check = !strcmp(path, "/iv/photoVerify/check.do"), by_htoken = strcmp(path, "/iv/normal_validate.htm");
	pp_qr *q;
	int r;

	if (is_check && (r = pp_fault(wsi, pss)) >= 0)
		return r;
	v = util_form_get(pss->query, strlen(pss->query), by_htoken ? "htoken" : "vsid");
	q = pp_by_verify(v, by_htoken);
	free(v);
	if (is_check) {
		cJSON *e = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(e, "content");
		char *s;

		if (!q) {
			cJSON_AddStringToObject(c, "code", "-1");
			cJSON_AddStringToObject(c, "message", "htoken 无效 (unknown htoken)");
		} else if (!q->verified) {
			cJSON_AddStringToObject(c, "code", "0");
		} else {
			snprintf(page, sizeof page, "http://127.0.0.1:%d/iv/ivCheckLogin.htm?htoken=%s", S.port, q->htoken);
			cJSON_AddStringToObject(c, "code", "3");
			cJSON_AddStringToObject(c, "url", page);
		}
		cJSON_AddBoolToObject(c, "success", q != NULL);
		cJSON_AddFalseToObject(e, "hasError");
		s = cJSON_PrintUnformatted(e);
		cJSON_Delete(e);
		r = sim_http_respond(wsi, pss, 200, "application/json;charset=UTF-8", s ? s : "{}", NULL);
		free(s);
		return r;
	}
	if (!q)
		return sim_http_respond(wsi, pss, 404, "text/html;charset=UTF-8",
				  "<html><body>验证已失效 (unknown or finished verification)</body></html>", NULL);
	if (!strcmp(path, "/iv/ivCheckLogin.htm")) {
		if (!q->verified || q->done)
			return sim_http_respond(wsi, pss, 403, "text/html;charset=UTF-8",
					  "<html><body>尚未完成验证 (not verified)</body></html>", NULL);
		pp_login_cookies(q, cookies);
		r = sim_http_respond(wsi, pss, 200, "text/html;charset=UTF-8",
			       "<html><body><script>top.location.href='https://www.goofish.com/';</script></body></html>",
			       cookies);
		pp_free_cookies(cookies);
		return r;
	}
	if (!strcmp(path, "/iv/normal_validate.htm"))
		snprintf(page, sizeof page, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>安全验证</title>"
			 "</head><body><p>为了你的账号安全，请完成身份验证</p>\n"
			 "<a href=\"/iv/mini/verify_modes.htm?htoken=%s&_umidfg=\">去验证</a>\n</body></html>\n",
			 q->htoken);
	else
		snprintf(page, sizeof page, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>刷脸验证</title>"
			 "</head><body><div id=\"qr\"></div>\n<script>new Qrcode({text:\"https://passport.goofish.com/"
			 "iv/face?htoken=%s\"});</script>\n</body></html>\n", q->htoken);
	return sim_http_respond(wsi, pss, 200, "text/html;charset=UTF-8", page, NULL);
}

/* Serves the passport paths (see the file comment); -1 for any other path. */
int sim_passport_http(struct lws *wsi, sim_pss *pss)
{
	const char *path = pss->path;
	int r;

	if (strcmp(path, "/mini_login.htm") && strncmp(path, "/newlogin/qrcode/", 17) &&
	    strcmp(path, "/login_token/login.do") && strncmp(path, "/iv/", 4))
		return -1;
	sim_log_add(0, "", "http", path, NULL, 0, NULL);   /* no cookie or form: they carry secrets */
	if (!strcmp(path, "/mini_login.htm"))
		return pp_mini_login(wsi, pss);
	if (!strncmp(path, "/iv/", 4))
		return pp_verify(wsi, pss, path);
	if ((r = pp_fault(wsi, pss)) >= 0)
		return r;
	if (!strcmp(path, "/newlogin/qrcode/generate.do"))
		return pp_generate(wsi, pss);
	if (!strcmp(path, "/newlogin/qrcode/query.do"))
		return pp_query(wsi, pss);
	if (!strcmp(path, "/login_token/login.do"))
		return pp_token_login(wsi, pss);
	return sim_http_respond(wsi, pss, 404, "application/json", "{\"error\":\"not found\"}", NULL);
}

/* {"error": msg} with a status. */
static int pp_fail(cJSON **out, int status, const char *msg)
{
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "error", msg);
	return status;
}

/* A QR as GET /login reports it (its expiry applied first). */
static cJSON *pp_qr_json(pp_qr *q)
{
	cJSON *j = cJSON_CreateObject();

	pp_tick(q);
	cJSON_AddNumberToObject(j, "t", (double)q->t);
	cJSON_AddStringToObject(j, "ck", q->ck);
	cJSON_AddStringToObject(j, "code_content", q->code);
	cJSON_AddStringToObject(j, "state", pp_state_names[q->state]);
	cJSON_AddStringToObject(j, "unb", q->unb);
	cJSON_AddBoolToObject(j, "token", q->want_token);
	cJSON_AddBoolToObject(j, "verify", q->want_verify);
	cJSON_AddBoolToObject(j, "verified", q->verified);
	cJSON_AddBoolToObject(j, "done", q->done);
	cJSON_AddNumberToObject(j, "queries", (double)q->queries);
	cJSON_AddNumberToObject(j, "age_ms", (double)(util_now_ms() - q->t));
	return j;
}

/* The QR a control call means: "t" (a number or a string), else the newest. */
static pp_qr *pp_target(const cJSON *b)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "t");

	if (cJSON_IsNumber(t))
		return pp_find((int64_t)t->valuedouble, NULL);
	if (cJSON_IsString(t))
		return pp_find(strtoll(t->valuestring, NULL, 10), NULL);
	return P.qrs;
}

/* POST /login/confirm: SCANED -> CONFIRMED for "unb" (default: the default
 * seller, else a new account); "token": true, "verify": true pick the branch. */
static int pp_confirm(pp_qr *q, const cJSON *b, cJSON **out)
{
	const char *unb = sim_jstr(b, "unb", NULL);
	sim_account *a;

	if (q->state != PP_SCANED)
		return pp_fail(out, 409, "the QR is not SCANED: POST /login/scan first");
	if (!unb || !*unb) {
		a = sim_default_account(NULL);
		if (a)
			unb = a->unb;
	}
	if (unb && *unb)
		snprintf(q->unb, sizeof q->unb, "%s", unb);
	else
		snprintf(q->unb, sizeof q->unb, "22000009%05u", ++P.next_unb);
	q->want_token = sim_jbool(b, "token", 0);
	q->want_verify = sim_jbool(b, "verify", 0);
	if (q->want_token && !q->want_verify) {
		memcpy(q->token, "lgt_", 4);
		sim_gen_hex(q->token + 4, 32);
	}
	if (q->want_verify) {
		sim_gen_hex(q->htoken, 32);
		sim_gen_hex(q->vsid, 16);
	}
	q->state = PP_CONFIRMED;
	return 200;
}

/* GET /login and POST /login/<action>: the phone's side. Returns the status. */
int sim_passport_ctl(const char *method, const char *path, const cJSON *b, cJSON **out)
{
	const char *act = path + 6;   /* after "/login" */
	pp_qr *q;
	int r = 200;

	if (!strcmp(method, "GET") && !*act) {
		cJSON *arr;

		*out = cJSON_CreateObject();
		cJSON_AddNumberToObject(*out, "qr_expire_ms", (double)P.expire_ms);
		cJSON_AddNumberToObject(*out, "generated", (double)P.generated);
		cJSON_AddNumberToObject(*out, "queries", (double)P.queries);
		cJSON_AddNumberToObject(*out, "bad_queries", (double)P.bad_queries);
		cJSON_AddNumberToObject(*out, "logins", (double)P.logins);
		arr = cJSON_AddArrayToObject(*out, "qrs");
		for (q = P.qrs; q; q = q->next)
			cJSON_AddItemToArray(arr, pp_qr_json(q));
		return 200;
	}
	if (strcmp(method, "POST") || *act != '/')
		return pp_fail(out, 404, "no such control endpoint");
	act++;
	q = pp_target(b);
	if (!q)
		return pp_fail(out, 404, "no such QR: generate.do first (or name \"t\")");
	pp_tick(q);
	if (!strcmp(act, "scan")) {
		if (q->state != PP_NEW)
			return pp_fail(out, 409, "the QR is not NEW");
		q->state = PP_SCANED;
	} else if (!strcmp(act, "confirm")) {
		r = pp_confirm(q, b, out);
	} else if (!strcmp(act, "verify")) {
		if (!q->want_verify || q->state != PP_CONFIRMED)
			return pp_fail(out, 409, "the QR has no verification pending (confirm with \"verify\": true)");
		q->verified = 1;
	} else if (!strcmp(act, "cancel") || !strcmp(act, "expire") || !strcmp(act, "error")) {
		if (q->state != PP_NEW && q->state != PP_SCANED)
			return pp_fail(out, 409, "the QR is already final");
		q->state = act[0] == 'c' ? PP_CANCELED : act[1] == 'x' ? PP_EXPIRED : PP_ERROR;
		snprintf(q->error, sizeof q->error, "%s", sim_jstr(b, "message", "系统错误，请稍后再试"));
	} else {
		return pp_fail(out, 404, "no such control endpoint");
	}
	if (r != 200)
		return r;
	*out = pp_qr_json(q);
	return 200;
}

/* The faults qr_has_error and qr_html {"n"}. Returns the status. */
int sim_passport_fault(const char *kind, const cJSON *b, cJSON **out)
{
	int n = (int)sim_jnum(b, "n", 1);

	if (!strcmp(kind, "qr_has_error"))
		P.has_error_n = n;
	else if (!strcmp(kind, "qr_html"))
		P.html_n = n;
	else
		return pp_fail(out, 400, "unknown fault kind");
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "n", n);
	return 200;
}

/* qr_expire_ms of POST /config (see sim.h). */
int sim_passport_config(const cJSON *x, cJSON *report)
{
	if (x) {
		if (strcmp(x->string, "qr_expire_ms") || !cJSON_IsNumber(x) || x->valuedouble < 0)
			return 0;
		P.expire_ms = (int64_t)x->valuedouble;
		return 1;
	}
	cJSON_AddNumberToObject(report, "qr_expire_ms", (double)P.expire_ms);
	return 1;
}

/* POST /reset: forgets the QRs, pending faults and counters (not qr_expire_ms). */
void sim_passport_reset(void)
{
	while (P.qrs) {
		pp_qr *n = P.qrs->next;

		free(P.qrs);
		P.qrs = n;
	}
	P.has_error_n = P.html_n = 0;
	P.generated = P.queries = P.bad_queries = P.logins = 0;
}
