/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim.c - a scripted client exercises every endpoint, push kind
 * and fault of build/shopkeep-sim (tests/sim/README.md) over loopback.
 */
#include "test_sim_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the tests ----------------------------------------------------------- */

static void test_mtop_sign(void)
{
	cJSON *env;
	char *sc = NULL, ck2[256];
	int st = 0;

	env = mtop(TOKEN_API, "{\"appKey\":\"" SIGN_IM_APPKEY "\",\"deviceId\":\"" DID "\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "mtop: a correctly signed token call succeeds");
	ok(jps(env, "data.accessToken") && !strncmp(jps(env, "data.accessToken"), "oauth_k1:", 9),
	   "mtop: accessToken minted (oauth_k1:...)");
	is_str(jps(env, "data.accessTokenExpiredTime"), "86400000", "mtop: 24 h token lifetime, as a string");
	cJSON_Delete(env);

	env = mtop_full(cookie, TOKEN_API, "{\"appKey\":\"" SIGN_IM_APPKEY "\",\"deviceId\":\"X\"}",
			"0000000000000000", &st, NULL);
	ok(ret0(env) && strstr(ret0(env), "FAIL_SYS_ILLEGAL_ACCESS"), "mtop: a wrong sign is refused");
	cJSON_Delete(env);
	ok(stat_of("mtop_bad_sign") >= 1, "mtop: bad signs are counted");

	/* the data the sign covers must be byte-identical: sign one text, send another */
	{
		char token[64], t[32], sign[33], path[600], hdr[700];
		const char *signed_data = "{\"a\":1}", *sent = "data=%7B%22a%22%3A2%7D";
		tc_http_resp r;

		cookie_h5_token(cookie, token, sizeof token);
		snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
		sign_mtop(token, t, SIGN_MTOP_APPKEY, signed_data, strlen(signed_data), sign);
		snprintf(path, sizeof path, "/h5/mtop.taobao.idle.pc.detail/1.0/?appKey=34839810&t=%s&sign=%s", t, sign);
		snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
		ok(tc_http(sim.port, "POST", path, hdr, sent, strlen(sent), &r, 3000) == 0 &&
		   strstr(r.body, "FAIL_SYS_ILLEGAL_ACCESS"), "mtop: the sign covers the exact data bytes");
		tc_http_free(&r);
	}

	env = mtop_full("unb=" UNB, TOKEN_API, "{}", NULL, NULL, &sc);
	ok(ret0(env) && strstr(ret0(env), "FAIL_SYS_TOKEN_EMPTY"), "mtop: no _m_h5_tk -> FAIL_SYS_TOKEN_EMPTY");
	ok(sc && !strncmp(sc, "_m_h5_tk=", 9), "mtop: ... with a Set-Cookie carrying one");
	free(sc);
	cJSON_Delete(env);
	/* that answer rotated the account's token: take the new one, as a bot merges Set-Cookie */
	snprintf(ck2, sizeof ck2, "%s", cookie);
	(void)ck2;

	env = mtop_full("_m_h5_tk=abc_1", TOKEN_API, "{}", NULL, NULL, NULL);
	ok(ret0(env) && strstr(ret0(env), "FAIL_SYS_SESSION_EXPIRED"), "mtop: no unb -> session expired");
	cJSON_Delete(env);
}

/* Follows the cookie rotation a FAIL_SYS_TOKEN_* answer asks for. */
static void merge_set_cookie(char *ck, size_t n, const char *sc)
{
	char *m = cookie_merge(ck, sc);

	if (m) {
		snprintf(ck, n, "%s", m);
		free(m);
	}
}

static void test_h5tk_rotation(void)
{
	char *sc = NULL, old[512];
	cJSON *env;

	/* re-sync with whatever token the account holds now */
	env = mtop_full(cookie, "mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}", NULL, NULL, &sc);
	if (sc) {
		merge_set_cookie(cookie, sizeof cookie, sc);
		free(sc);
		sc = NULL;
	}
	cJSON_Delete(env);
	ctl_ok("/fault", "{\"kind\":\"expire_h5tk\"}");
	snprintf(old, sizeof old, "%s", cookie);
	env = mtop_full(cookie, "mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}", NULL, NULL, &sc);
	is_str(ret0(env), "FAIL_SYS_TOKEN_EXOIRED::令牌过期", "h5tk: expired token -> FAIL_SYS_TOKEN_EXOIRED (typo kept)");
	ok(sc && strstr(sc, "_m_h5_tk="), "h5tk: ... with Set-Cookie rotation");
	cJSON_Delete(env);
	if (sc)
		merge_set_cookie(cookie, sizeof cookie, sc);
	free(sc);
	ok(strcmp(old, cookie) != 0, "h5tk: the merged cookie differs");
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "h5tk: retry signed with the rotated token succeeds");
	cJSON_Delete(env);
	env = mtop_full(old, "mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}", NULL, NULL, NULL);
	ok(ret0(env) && strstr(ret0(env), "TOKEN_EXOIRED"), "h5tk: the old token stays expired");
	cJSON_Delete(env);
}

static void test_mtop_modes(void)
{
	cJSON *env;
	int st = 0;

	ctl_ok("/fault", "{\"kind\":\"session_expired\",\"on\":true}");
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}");
	ok(ret0(env) && strstr(ret0(env), "FAIL_SYS_SESSION_EXPIRED"), "mtop: session-expired mode");
	cJSON_Delete(env);
	ctl_ok("/fault", "{\"kind\":\"session_expired\",\"on\":false}");
	ctl_ok("/fault", "{\"kind\":\"risk\",\"on\":true}");
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}");
	/* the platform's two ret strings (protocol-account.md §9): the code, then RGV587 */
	ok(ret0(env) && !strcmp(ret0(env), "FAIL_SYS_USER_VALIDATE") && sstr(jps(env, "ret.1"), "RGV587_ERROR::SM::") &&
	   sstr(jps(env, "data.url"), "_____tmd_____/punish?x5secdata="),
	   "mtop: risk-control mode (FAIL_SYS_USER_VALIDATE, RGV587_ERROR::SM::, punish url)");
	cJSON_Delete(env);
	ctl_ok("/fault", "{\"kind\":\"risk\",\"on\":false}");
	ctl_ok("/fault", "{\"kind\":\"mtop_fail\",\"api\":\"mtop.taobao.idle.pc.detail\",\"n\":1,\"status\":503}");
	env = mtop_full(cookie, "mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}", NULL, &st, NULL);
	is_int(st, 503, "mtop: injected HTTP 503");
	cJSON_Delete(env);
	ctl_ok("/fault", "{\"kind\":\"mtop_fail\",\"n\":1,\"ret\":\"FAIL_SYS_SERVICE_UNAVAILABLE::x\"}");
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}");
	ok(ret0(env) && strstr(ret0(env), "SERVICE_UNAVAILABLE"), "mtop: injected ret failure");
	cJSON_Delete(env);
	env = mtop("mtop.taobao.idle.pc.detail", "{\"itemId\":\"40004\"}");
	is_str(ret0(env), "SUCCESS::调用成功", "mtop: back to normal after n failures");
	is_str(jps(env, "data.itemDO.title"), "VIP 月卡", "item detail: title of the defined item");
	is_str(jps(env, "data.itemDO.soldPrice"), "9.90", "item detail: soldPrice is a string in yuan");
	ok(cJSON_IsNumber(jget(env, "data.itemDO.itemId")) && jpn(env, "data.itemDO.itemId") == 40004,
	   "item detail: itemId is a number");
	cJSON_Delete(env);
	env = mtop("mtop.some.unknown.api", "{}");
	ok(ret0(env) && strstr(ret0(env), "API_NOT_FOUNDED"), "mtop: unknown api");
	cJSON_Delete(env);
}

/* --- the passport QR service (protocol-account.md §1) -------------------- */

/* An HTTP call to the passport on the platform port; form is a POST body
 * (x-www-form-urlencoded) or NULL for a GET. Returns 0 or -1, as tc_http. */
static int pp_http(const char *path, const char *form, tc_http_resp *r)
{
	return tc_http(sim.port, form ? "POST" : "GET", path,
		       form ? "Content-Type: application/x-www-form-urlencoded\r\n" : NULL, form,
		       form ? strlen(form) : 0, r, 3000);
}

/* Merges every Set-Cookie of r into the jar; returns how many carried a Domain attribute. */
static int pp_take_cookies(const tc_http_resp *r, char *jar, size_t n)
{
	char *sc;
	int i, domains = 0;

	for (i = 0; (sc = tc_http_header(r, "Set-Cookie", i)); i++) {
		if (strcasestr(sc, "domain="))
			domains++;
		if (!*jar) {
			snprintf(jar, n, "%.*s", (int)strcspn(sc, ";"), sc);
		} else {
			char *m = cookie_merge(jar, sc);

			if (m)
				snprintf(jar, n, "%s", m);
			free(m);
		}
		free(sc);
	}
	return domains;
}

/* query.do for the QR (t, ck): the parsed answer (caller deletes); the jar takes its cookies. */
static cJSON *pp_poll(const char *t, const char *ck, char *jar, size_t n)
{
	char form[256];
	tc_http_resp r;
	cJSON *j = NULL;

	snprintf(form, sizeof form, "t=%s&ck=%s&appName=xianyu&appEntrance=web&isMobile=false&lang=zh_CN&fromSite=77", t, ck);
	if (pp_http("/newlogin/qrcode/query.do", form, &r) == 0) {
		j = cJSON_ParseWithLength(r.body, r.body_len);
		if (jar)
			pp_take_cookies(&r, jar, n);
		tc_http_free(&r);
	}
	return j;
}

/* generate.do: t (as sent, digits) and ck of a new QR; 0 or -1. */
static int pp_generate(char *t, char *ck)
{
	tc_http_resp r;
	cJSON *j;
	int rc = -1;
	const char *p;

	if (pp_http("/newlogin/qrcode/generate.do?appName=xianyu&fromSite=77&appEntrance=web", NULL, &r))
		return -1;
	j = cJSON_ParseWithLength(r.body, r.body_len);
	p = strstr(r.body, "\"t\":");
	if (j && p && jps(j, "content.data.ck")) {
		snprintf(t, 32, "%.*s", (int)strspn(p + 4, "0123456789"), p + 4);
		snprintf(ck, 64, "%s", jps(j, "content.data.ck"));
		rc = 0;
	}
	cJSON_Delete(j);
	tc_http_free(&r);
	return rc;
}

/* The state a poll of (t, ck) answers, copied into st (32 bytes); "" on failure. */
static const char *pp_state(const char *t, const char *ck, char *st)
{
	cJSON *j = pp_poll(t, ck, NULL, 0);

	snprintf(st, 32, "%s", jps(j, "content.data.qrCodeStatus") ? jps(j, "content.data.qrCodeStatus") : "");
	cJSON_Delete(j);
	return st;
}

static void test_passport_preflight(void)
{
	tc_http_resp r;
	char jar[1024] = "", *sc = NULL;
	cJSON *env, *vd;
	const char *p;
	int st = 0;

	env = mtop_full("", "mtop.gaia.nodejs.gaia.idle.data.gw.v2.index.get", "{}", NULL, &st, &sc);
	is_str(ret0(env), "FAIL_SYS_TOKEN_EMPTY::令牌为空", "passport pre-flight: a cookieless index.get -> TOKEN_EMPTY");
	ok(sc && !strncmp(sc, "_m_h5_tk=", 9) && !strcasestr(sc, "domain="),
	   "passport pre-flight: ... with a _m_h5_tk Set-Cookie (no Domain)");
	free(sc);
	cJSON_Delete(env);
	ok(pp_http("/mini_login.htm?lang=zh_cn&appName=xianyu&appEntrance=web&styleType=vertical&rnd=0.5", NULL, &r) == 0 &&
	   r.status == 200, "mini_login.htm: 200");
	ok(sstr(r.head, "text/html") != NULL, "mini_login.htm: an HTML page");
	p = sstr(r.body, "window.viewData = ");
	vd = NULL;
	if (p) {
		p += strlen("window.viewData = ");
		vd = cJSON_ParseWithLength(p, strcspn(p, ";"));
	}
	is_str(jps(vd, "loginFormData.appName"), "xianyu", "mini_login.htm: window.viewData.loginFormData parses");
	is_int(pp_take_cookies(&r, jar, sizeof jar), 0, "mini_login.htm: no Domain on 127.0.0.1");
	{
		char *x = cookie_get(jar, "XSRF-TOKEN"), *c2 = cookie_get(jar, "cookie2"), *cna = cookie_get(jar, "cna");

		ok(x && c2 && cna, "mini_login.htm: Set-Cookie XSRF-TOKEN, cookie2, cna");
		is_str(jps(vd, "loginFormData._csrf_token"), x, "mini_login.htm: _csrf_token is the XSRF-TOKEN");
		free(x);
		free(c2);
		free(cna);
	}
	cJSON_Delete(vd);
	tc_http_free(&r);
}

static void test_passport_qr(void)
{
	char t[32], ck[64], st[32], jar[2048], *sc = NULL, *v;
	tc_http_resp r;
	cJSON *j, *env;
	int s = 0, domains;

	ok(pp_http("/newlogin/qrcode/generate.do?appName=xianyu", NULL, &r) == 0 && r.status == 200, "generate.do: 200");
	j = cJSON_ParseWithLength(r.body, r.body_len);
	ok(cJSON_IsTrue(jget(j, "content.success")) && cJSON_IsFalse(jget(j, "hasError")), "generate.do: content.success, no hasError");
	ok(cJSON_IsNumber(jget(j, "content.data.t")) && jps(j, "content.data.ck") &&
	   sstr(jps(j, "content.data.codeContent"), "http"), "generate.do: t (a number), ck, codeContent");
	is_int((int)jpn(j, "content.data.resultCode"), 100, "generate.do: resultCode 100");
	ok(cJSON_IsFalse(jget(j, "content.data.processFinished")), "generate.do: processFinished false");
	{
		const char *p = sstr(r.body, "\"t\":");
		size_t nd = p ? strspn(p + 4, "0123456789") : 0;

		ok(nd >= 13 && (p[4 + nd] == ',' || p[4 + nd] == '}'), "generate.do: t is written as a plain integer");
	}
	cJSON_Delete(j);
	tc_http_free(&r);

	ok(pp_generate(t, ck) == 0, "generate.do: another QR");
	is_str(pp_state(t, ck, st), "NEW", "query.do: NEW");
	is_str(pp_state(t, "0000", st), "ERROR", "query.do: a wrong ck -> ERROR");
	j = ctl("POST", "/login/confirm", "{}", &s);
	is_int(s, 409, "login/confirm before a scan: 409");
	cJSON_Delete(j);
	ctl_ok("/login/scan", "{}");
	is_str(pp_state(t, ck, st), "SCANED", "query.do: SCANED after /login/scan (spelled as on the wire)");
	j = ctl("POST", "/login/confirm", "{\"unb\":\"2200000000077\"}", &s);
	is_int(s, 200, "login/confirm: 200");
	cJSON_Delete(j);
	/* the account was dead: its session comes back with the login */
	cJSON_Delete(ctl("POST", "/fault", "{\"kind\":\"session_expired\",\"seller\":\"2200000000077\",\"on\":true}", NULL));
	jar[0] = '\0';
	{
		char form[256];

		snprintf(form, sizeof form, "t=%s&ck=%s&appName=xianyu", t, ck);
		ok(pp_http("/newlogin/qrcode/query.do", form, &r) == 0, "query.do after confirm");
	}
	j = cJSON_ParseWithLength(r.body, r.body_len);
	is_str(jps(j, "content.data.qrCodeStatus"), "CONFIRMED", "query.do: CONFIRMED");
	ok(!jget(j, "content.data.iframeRedirect") && !jget(j, "content.data.token"),
	   "query.do: a plain CONFIRMED has no redirect and no token");
	cJSON_Delete(j);
	snprintf(jar, sizeof jar, "_m_h5_tk=ffffffffffffffffffffffffffffffff_1");
	domains = pp_take_cookies(&r, jar, sizeof jar);
	tc_http_free(&r);
	is_int(domains, 0, "CONFIRMED: no Set-Cookie carries a Domain");
	{
		static const char *const names[] = {"unb", "cookie2", "sgcookie", "tracknick", "csg", "_tb_token_", "havana_lgc2_77"};
		int all = 1;

		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			v = cookie_get(jar, names[i]);
			if (!v || !*v) {
				diag("CONFIRMED lacks %s", names[i]);
				all = 0;
			}
			free(v);
		}
		ok(all, "CONFIRMED: Set-Cookie unb, cookie2, sgcookie, tracknick, csg, _tb_token_, havana_lgc2_77");
		v = cookie_get(jar, "unb");
		is_str(v, "2200000000077", "CONFIRMED: unb is the confirming account");
		free(v);
	}
	/* the login rotated _m_h5_tk: the pre-flight token gets the current one (§1.4 step 4) */
	env = mtop_full(jar, "mtop.idle.web.user.page.nav", "{}", NULL, NULL, &sc);
	is_str(ret0(env), "FAIL_SYS_TOKEN_EXOIRED::令牌过期", "page.nav with the pre-login token: TOKEN_EXOIRED");
	ok(sc && !strcasestr(sc, "domain="), "page.nav: ... with the rotated _m_h5_tk (no Domain)");
	if (sc)
		merge_set_cookie(jar, sizeof jar, sc);
	free(sc);
	cJSON_Delete(env);
	env = mtop_full(jar, "mtop.idle.web.user.page.nav", "{}", NULL, NULL, NULL);
	is_str(ret0(env), "SUCCESS::调用成功", "page.nav with the rotated token: success (session valid again)");
	is_str(jps(env, "data.module.base.userId"), "2200000000077", "page.nav: the logged-in user");
	cJSON_Delete(env);
	is_str(pp_state(t, ck, st), "CONFIRMED", "query.do: CONFIRMED stays");
	j = ctl("POST", "/login/scan", "{}", &s);
	is_int(s, 409, "login/scan of a CONFIRMED QR: 409");
	cJSON_Delete(j);
	j = ctl("GET", "/login", NULL, &s);
	is_str(jps(j, "qrs.0.state"), "CONFIRMED", "GET /login: the newest QR's state");
	ok(cJSON_IsTrue(jget(j, "qrs.0.done")) && jpn(j, "qrs.0.queries") >= 3, "GET /login: done, queries counted");
	ok(jpn(j, "logins") >= 1 && jpn(j, "bad_queries") >= 1, "GET /login: logins and bad queries counted");
	cJSON_Delete(j);
}

static void test_passport_token_verify(void)
{
	char t[32], ck[64], jar[2048] = "", url[512], path[512], *v;
	const char *p;
	tc_http_resp r;
	cJSON *j;
	int s = 0;

	/* the token branch (§1.4 step 2): cookies come only from login_token/login.do */
	ok(pp_generate(t, ck) == 0, "token branch: generate");
	ctl_ok("/login/scan", "{}");
	ctl_ok("/login/confirm", "{\"unb\":\"2200000000078\",\"token\":true}");
	j = pp_poll(t, ck, jar, sizeof jar);
	is_str(jps(j, "content.data.qrCodeStatus"), "CONFIRMED", "token branch: CONFIRMED");
	ok(jps(j, "content.data.token") != NULL, "token branch: CONFIRMED carries a token");
	v = cookie_get(jar, "unb");
	ok(v == NULL, "token branch: no unb before the exchange");
	free(v);
	snprintf(path, sizeof path, "/login_token/login.do?token=%s&subFlow=DIALOG_CHECK_LOGIN_RPC&nextCode=0018"
		 "&bizScene=qrcode&confirm=true", jps(j, "content.data.token") ? jps(j, "content.data.token") : "x");
	cJSON_Delete(j);
	ok(pp_http(path, "deviceId=abc", &r) == 0 && r.status == 200, "login.do: 200");
	j = cJSON_ParseWithLength(r.body, r.body_len);
	ok(cJSON_IsTrue(jget(j, "content.success")), "login.do: success");
	cJSON_Delete(j);
	pp_take_cookies(&r, jar, sizeof jar);
	tc_http_free(&r);
	v = cookie_get(jar, "unb");
	is_str(v, "2200000000078", "login.do: Set-Cookie unb");
	free(v);
	ok(pp_http(path, "deviceId=abc", &r) == 0, "login.do again");
	j = cJSON_ParseWithLength(r.body, r.body_len);
	ok(cJSON_IsFalse(jget(j, "content.success")) && !tc_http_header(&r, "Set-Cookie", 0),
	   "login.do: the token works once");
	cJSON_Delete(j);
	tc_http_free(&r);

	/* the verification branch (§1.5) */
	jar[0] = '\0';
	ok(pp_generate(t, ck) == 0, "verify branch: generate");
	ctl_ok("/login/scan", "{}");
	ctl_ok("/login/confirm", "{\"unb\":\"2200000000079\",\"verify\":true}");
	j = pp_poll(t, ck, jar, sizeof jar);
	ok(cJSON_IsTrue(jget(j, "content.data.iframeRedirect")) && jps(j, "content.data.iframeRedirectUrl"),
	   "verify branch: CONFIRMED + iframeRedirect, iframeRedirectUrl");
	snprintf(url, sizeof url, "%s", jps(j, "content.data.iframeRedirectUrl") ? jps(j, "content.data.iframeRedirectUrl") : "");
	cJSON_Delete(j);
	v = cookie_get(jar, "unb");
	ok(v == NULL && sstr(jar, "cookie2="), "verify branch: temporary cookies, no unb");
	free(v);
	{
		cJSON *env = mtop_full(jar, "mtop.idle.web.user.page.nav", "{}", NULL, NULL, NULL);

		ok(ret0(env) && !strstr(ret0(env), "SUCCESS"), "verify branch: the temporary cookies do not work for mtop");
		cJSON_Delete(env);
	}
	p = strstr(url, "127.0.0.1:");
	p = p ? strchr(p + 10, '/') : NULL;
	ok(p && pp_http(p, NULL, &r) == 0 && r.status == 200, "iframeRedirectUrl: the verification page");
	p = sstr(r.body, "htoken=");
	{
		char ht[64] = "";

		if (p)
			snprintf(ht, sizeof ht, "%.*s", (int)strspn(p + 7, "0123456789abcdef"), p + 7);
		tc_http_free(&r);
		ok(ht[0], "verification page: htoken=…");
		snprintf(path, sizeof path, "/iv/photoVerify/check.do?htoken=%s", ht);
	}
	ok(pp_http(path, NULL, &r) == 0, "check.do");
	j = cJSON_ParseWithLength(r.body, r.body_len);
	is_str(jps(j, "content.code"), "0", "check.do: code \"0\" while waiting");
	cJSON_Delete(j);
	tc_http_free(&r);
	j = ctl("POST", "/login/verify", "{}", &s);
	is_int(s, 200, "login/verify: 200");
	cJSON_Delete(j);
	ok(pp_http(path, NULL, &r) == 0, "check.do after the verification");
	j = cJSON_ParseWithLength(r.body, r.body_len);
	is_str(jps(j, "content.code"), "3", "check.do: code \"3\" once verified");
	p = sstr(jps(j, "content.url"), "/iv/ivCheckLogin.htm");
	snprintf(path, sizeof path, "%s", p ? p : "/none");
	cJSON_Delete(j);
	tc_http_free(&r);
	ok(pp_http(path, NULL, &r) == 0 && r.status == 200, "ivCheckLogin.htm: 200");
	is_int(pp_take_cookies(&r, jar, sizeof jar), 0, "ivCheckLogin.htm: no Domain");
	tc_http_free(&r);
	v = cookie_get(jar, "unb");
	is_str(v, "2200000000079", "ivCheckLogin.htm: the final cookies carry unb");
	free(v);
	v = cookie_get(jar, "havana_lgc2_77");
	ok(v != NULL, "ivCheckLogin.htm: ... and the long-login cookie");
	free(v);
}

static void test_passport_states_faults(void)
{
	char t[32], ck[64], t2[32], ck2[64], st[32], body[128];
	tc_http_resp r;
	cJSON *j;
	int s = 0;

	ok(pp_generate(t, ck) == 0 && pp_generate(t2, ck2) == 0, "two QRs");
	ok(strcmp(t, t2) != 0, "each QR has its own t");
	snprintf(body, sizeof body, "{\"t\":\"%s\"}", t);
	ctl_ok("/login/cancel", body);
	is_str(pp_state(t, ck, st), "CANCELED", "query.do: CANCELED (the older QR, named by t)");
	is_str(pp_state(t2, ck2, st), "NEW", "query.do: the newer QR is untouched");
	ctl_ok("/login/scan", "{}");
	ctl_ok("/login/expire", "{}");
	is_str(pp_state(t2, ck2, st), "EXPIRED", "query.do: EXPIRED after a scan");
	j = pp_poll(t2, ck2, NULL, 0);
	ok(jps(j, "content.data.titleMsg") != NULL, "query.do: EXPIRED has a titleMsg");
	cJSON_Delete(j);
	ok(pp_generate(t, ck) == 0, "generate for an error");
	ctl_ok("/login/error", "{\"message\":\"服务异常\"}");
	j = pp_poll(t, ck, NULL, 0);
	is_str(jps(j, "content.data.qrCodeStatus"), "ERROR", "query.do: ERROR");
	is_str(jps(j, "content.data.titleMsg"), "服务异常", "query.do: ERROR's titleMsg");
	ok(jpn(j, "content.data.resultCode") != 100, "query.do: ERROR's resultCode is not 100");
	cJSON_Delete(j);

	/* the expiry timer */
	j = ctl("POST", "/config", "{\"qr_expire_ms\":300}", &s);
	is_int((int)jpn(j, "qr_expire_ms"), 300, "config: qr_expire_ms");
	cJSON_Delete(j);
	ok(pp_generate(t, ck) == 0, "generate under a 300 ms expiry");
	is_str(pp_state(t, ck, st), "NEW", "expiry: NEW at first");
	usleep(450000);
	is_str(pp_state(t, ck, st), "EXPIRED", "expiry: EXPIRED once qr_expire_ms passed");
	j = ctl("POST", "/login/scan", "{}", &s);
	is_int(s, 409, "expiry: an expired QR cannot be scanned");
	cJSON_Delete(j);
	cJSON_Delete(ctl("POST", "/config", "{\"qr_expire_ms\":180000}", NULL));

	/* faults: hasError transients, then an HTML page */
	ok(pp_generate(t, ck) == 0, "generate before the faults");
	ctl_ok("/fault", "{\"kind\":\"qr_has_error\",\"n\":2}");
	for (int i = 0; i < 2; i++) {
		j = pp_poll(t, ck, NULL, 0);
		ok(cJSON_IsTrue(jget(j, "hasError")), "fault qr_has_error: hasError:true");
		cJSON_Delete(j);
	}
	is_str(pp_state(t, ck, st), "NEW", "fault qr_has_error: over after n answers");
	ctl_ok("/fault", "{\"kind\":\"qr_html\",\"n\":1}");
	snprintf(body, sizeof body, "t=%s&ck=%s", t, ck);
	ok(pp_http("/newlogin/qrcode/query.do", body, &r) == 0 && r.status == 200 && sstr(r.head, "text/html") &&
	   sstr(r.body, "<html"), "fault qr_html: an HTML page with HTTP 200");
	tc_http_free(&r);
	is_str(pp_state(t, ck, st), "NEW", "fault qr_html: over after n answers");
	j = ctl("POST", "/fault", "{\"kind\":\"qr_bogus\"}", &s);
	is_int(s, 400, "fault: an unknown qr_ kind is a 400");
	cJSON_Delete(j);
	j = ctl("POST", "/login/nothing", "{}", &s);
	is_int(s, 404, "login: an unknown action is a 404");
	cJSON_Delete(j);
}

static void test_upgrade_and_reg(void)
{
	int st = -1;
	tc_ws *w;
	char *tok, hx[700], mid[32];
	cJSON *r;
	tc_frame f;

	ctl_ok("/config", "{\"reg_reject_delay_ms\":200}");
	tok = get_token(cookie, DID);
	ok(tok != NULL, "reg: token minted");
	/* the upgrade needs no Cookie: the platform takes the account from the token at /reg */
	w = tc_ws_connect(sim.port, "/", "Origin: https://www.goofish.com\r\n", 2000, &st);
	ok(w != NULL, "ws: an upgrade without a Cookie is accepted (got %d)", st);
	snprintf(hx, sizeof hx, "\"app-key\":\"%s\",\"token\":\"%s\",\"did\":\"%s\"", SIGN_IM_APPKEY, tok ? tok : "", DID);
	r = w ? request(w, "/reg", hx, NULL) : NULL;
	is_int(jpn(r, "code"), 200, "reg without a Cookie: the token registers");
	is_str(jps(r, "headers.reg-uid"), UNB "@goofish", "reg without a Cookie: the account is the token's");
	cJSON_Delete(r);
	/* §4.1: the sync state a client ackDiffs from (GC's registration flow) */
	r = w ? request(w, "/r/SyncStatus/getState", NULL, "[{\"topic\":\"sync\"}]") : NULL;
	is_int(jpn(r, "code"), 200, "getState: code 200");
	ok(sstr(jps(r, "body.pipeline"), "sync") && sstr(jps(r, "body.channel"), "sync") && sstr(jps(r, "body.topic"), "sync"),
	   "getState: pipeline, channel, topic sync");
	is_str(jps(r, "body.tooLong2Tag"), "PNM,1", "getState: tooLong2Tag \"PNM,1\"");
	ok(jpn(r, "body.pts") > 1e15 && jpn(r, "body.highPts") >= 0 && jpn(r, "body.seq") >= 0 &&
	   jpn(r, "body.timestamp") > 1e12, "getState: pts (us), highPts, seq, timestamp (ms)");
	cJSON_Delete(r);
	/* the heartbeat answer carries the server's clock, not "0" */
	r = w ? request(w, "/!", NULL, NULL) : NULL;
	{
		const char *ts = jps(r, "headers.server-timestamp");
		long long v = ts ? atoll(ts) : 0;

		ok(ts && ts[strspn(ts, "0123456789")] == '\0' && llabs(v - (long long)util_now_ms()) < 60000,
		   "heartbeat: server-timestamp is the server's ms clock (got %s)", ts ? ts : "none");
	}
	cJSON_Delete(r);
	tc_ws_close(w, 1000);
	/* a token minted for one device id does not register another */
	w = ws_open(cookie);
	snprintf(hx, sizeof hx, "\"app-key\":\"%s\",\"token\":\"%s\",\"did\":\"OTHER-DEVICE-%s\"", SIGN_IM_APPKEY,
		 tok ? tok : "", UNB);
	send_req(w, "/reg", hx, NULL, mid);
	memset(&f, 0, sizeof f);
	is_int(tc_ws_recv(w, 2000, &f), TC_EOF, "reg: wrong did -> no answer, the socket closes");
	tc_frame_free(&f);
	tc_ws_close(w, 0);
	/* unknown token */
	w = ws_open(cookie);
	snprintf(hx, sizeof hx, "\"app-key\":\"%s\",\"token\":\"oauth_k1:bogus\",\"did\":\"%s\"", SIGN_IM_APPKEY, DID);
	send_req(w, "/reg", hx, NULL, mid);
	memset(&f, 0, sizeof f);
	is_int(tc_ws_recv(w, 2000, &f), TC_EOF, "reg: unknown token -> closed");
	tc_frame_free(&f);
	tc_ws_close(w, 0);
	/* a token of another account */
	{
		char ck2[256], *tok2;

		snprintf(ck2, sizeof ck2, "unb=%s; _m_h5_tk=feedfacefeedfacefeedfacefeedface_1; cookie2=x", UNB2);
		tok2 = get_token(ck2, DID);
		w = ws_open(cookie);
		snprintf(hx, sizeof hx, "\"app-key\":\"%s\",\"token\":\"%s\",\"did\":\"%s\"", SIGN_IM_APPKEY,
			 tok2 ? tok2 : "", DID);
		send_req(w, "/reg", hx, NULL, mid);
		memset(&f, 0, sizeof f);
		is_int(tc_ws_recv(w, 2000, &f), TC_EOF, "reg: another account's token -> closed");
		tc_frame_free(&f);
		tc_ws_close(w, 0);
		free(tok2);
	}
	ok(stat_of("reg_bad") >= 3, "reg: rejections counted");

	w = ws_open(cookie);
	r = request(w, "/!", NULL, NULL);
	is_int(jpn(r, "code"), 401, "reg: requests before /reg get 401");
	cJSON_Delete(r);
	snprintf(hx, sizeof hx, "\"cache-header\":\"app-key token ua wv\",\"app-key\":\"%s\",\"token\":\"%s\","
		 "\"dt\":\"j\",\"wv\":\"im:3,au:3,sy:6\",\"sync\":\"0,0;0;0;\",\"did\":\"%s\"", SIGN_IM_APPKEY,
		 tok ? tok : "", DID);
	r = request(w, "/reg", hx, NULL);
	is_int(jpn(r, "code"), 200, "reg: the right token and did register");
	is_str(jps(r, "headers.reg-uid"), UNB "@goofish", "reg: reg-uid is <unb>@goofish");
	is_str(jps(r, "body.unitName"), "PNM", "reg: body as captured (unitName)");
	ok(jps(r, "headers.sid") && strlen(jps(r, "headers.sid")) > 8, "reg: a sid");
	cJSON_Delete(r);
	r = request(w, "/r/SyncStatus/ackDiff", NULL,
		    "[{\"pipeline\":\"sync\",\"tooLong2Tag\":\"PNM,1\",\"channel\":\"sync\",\"topic\":\"sync\","
		    "\"highPts\":0,\"pts\":1,\"seq\":0,\"timestamp\":1}]");
	ok(jpn(r, "code") == 200 && jps(r, "body.channel") && !strcmp(jps(r, "body.channel"), "sync"),
	   "ackDiff: channel ACK");
	cJSON_Delete(r);
	r = request(w, "/!", NULL, NULL);
	ok(jpn(r, "code") == 200 && !cJSON_GetObjectItemCaseSensitive(r, "body"),
	   "heartbeat: code 200 echoing the mid, no body");
	cJSON_Delete(r);
	r = request(w, "/r/Nope/nothing", NULL, "[]");
	is_int(jpn(r, "code"), 404, "requests: unknown lwp -> 404");
	cJSON_Delete(r);
	r = request(w, "/r/Conversation/listNewestPagination", NULL, "[9007199254740991,20]");
	ok(cJSON_IsArray(jget(r, "body.userConvs")), "requests: listNewestPagination answers");
	cJSON_Delete(r);
	tc_ws_send_ping(w);
	r = request(w, "/!", NULL, NULL);
	cJSON_Delete(r);
	ok(tc_ws_pongs(w) >= 1, "ws: PING answered with PONG");
	tc_ws_close(w, 1000);
	free(tok);
}

/* A chat text pushed as the platform does: the frame's headers and the
 * decoded item's fields; then a chat item second in its batch. */
static void test_pushes_chat(tc_ws *w)
{
	cJSON *r, *p, *m;
	codec_kind k;
	int st;

	r = ctl("POST", "/inject", "{\"cid\":\"10001\",\"buyer\":\"30003\",\"buyer_name\":\"小明\",\"item_id\":\"40004\",\"text\":\"你好\"}", &st);
	is_int(st, 200, "inject: text accepted");
	p = next_push(w);
	is_str(js(p, "lwp"), "/s/sync", "push: text on /s/sync");
	ok(jps(p, "headers.mid") && sstr(jps(p, "headers.mid"), " 0"), "push: mid '<hex> 0'");
	is_str(jps(p, "headers.app-key"), SIGN_IM_APPKEY, "push: app-key header");
	ok(jps(p, "headers.ua") && jps(p, "headers.sid"), "push: ua and sid headers");
	is_int(jpn(p, "body.syncPushPackage.data.0.objectType"), 40000, "push: chat objectType 40000");
	m = item(p, 0, &k);
	is_int(k, CODEC_MSGPACK, "push: chat item is base64 MessagePack");
	is_str(jps(m, "1.2"), "10001@goofish", "chat: [1][2] cid@goofish");
	is_str(jps(m, "1.1.1"), "30003@goofish", "chat: [1][1][1] sender");
	is_str(jps(m, "1.10.reminderContent"), "你好", "chat: reminderContent");
	is_str(jps(m, "1.10.senderUserId"), "30003", "chat: senderUserId");
	is_str(jps(m, "1.10.reminderTitle"), "小明", "chat: reminderTitle is the nick");
	ok(jps(m, "1.10.reminderUrl") && sstr(jps(m, "1.10.reminderUrl"), "itemId=40004&"), "chat: item id in reminderUrl");
	ok(jps(m, "1.3") && sstr(jps(m, "1.3"), ".PNM"), "chat: IM id <n>.PNM");
	ok(jpn(m, "1.5") > 1.6e12, "chat: create time in ms");
	is_str(jps(m, "3.needPush"), "true", "chat: needPush true");
	ok(jps(m, "1.10.bizTag") && jps(r, "items.0.message_id") &&
	   sstr(jps(m, "1.10.bizTag"), jps(r, "items.0.message_id")), "chat: bizTag carries the business messageId");
	ok(jps(m, "1.6.3.5") && sstr(jps(m, "1.6.3.5"), "\"text\":{\"text\":\"你好\"}"), "chat: inner content JSON");
	is_int(jpn(m, "1.6.3.4"), 1, "chat: contentType 1");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);

	/* the chat item second in the batch, as legacy bots miss it */
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"text\":\"second\",\"position\":1}", NULL));
	p = next_push(w);
	is_int(nitems(p), 2, "position 1: two items");
	is_int(jpn(p, "body.syncPushPackage.data.0.objectType"), 40103, "position 1: a read receipt first");
	m = item(p, 1, NULL);
	is_str(jps(m, "1.10.reminderContent"), "second", "position 1: the chat item is data[1]");
	cJSON_Delete(m);
	m = item(p, 0, NULL);
	ok(jps(m, "1") && sstr(jps(m, "1"), ".PNM") && jps(m, "4"), "receipt variant 1 shape");
	cJSON_Delete(m);
	cJSON_Delete(p);
}

/* The other push kinds (image, typing, receipts, vulcan, tip, audio, the
 * mobile and from_seller variants), several items in one frame, raw data
 * and an unknown kind. */
static void test_pushes_kinds(tc_ws *w)
{
	cJSON *r, *p, *m;
	codec_kind k;
	int st;

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"image\",\"url\":\"https://img.alicdn.com/x.jpg\"}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[图片]", "image: display [图片]");
	is_int(jpn(m, "1.6.3.4"), 2, "image: contentType 2");
	ok(jps(m, "1.6.3.5") && sstr(jps(m, "1.6.3.5"), "https://img.alicdn.com/x.jpg"), "image: pics url");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"typing\"}", NULL));
	p = next_push(w);
	is_str(js(p, "lwp"), "/s/para", "typing: on /s/para");
	is_int(jpn(p, "body.syncPushPackage.data.0.objectType"), 40006, "typing: objectType 40006");
	m = item(p, 0, NULL);
	is_str(jps(m, "1.0.1"), "10001@goofish", "typing: [1][0][1] is the cid");
	is_str(jps(m, "1.0.4"), "30003@goofish", "typing: [1][0][4] is the user");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"receipt\",\"variant\":2}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(cJSON_IsArray(jget(m, "1")) && jps(m, "3"), "receipt variant 2: ids list + cid");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"receipt\",\"variant\":3}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1"), "10001@goofish", "receipt variant 3: cid first");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"vulcan\"}", NULL));
	p = next_push(w);
	is_str(js(p, "lwp"), "/s/vulcan", "vulcan: on /s/vulcan");
	is_int(jpn(p, "body.syncPushPackage.data.0.bizType"), 370, "vulcan: bizType 370");
	m = item(p, 0, &k);
	is_int(k, CODEC_JSON, "vulcan: base64 of plain JSON");
	is_int(jpn(m, "chatType"), 1, "vulcan: chatType");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"tip\",\"text\":\"快给ta一个评价吧~\"}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(jpn(m, "1.6.3.4") == 14 && !strcmp(jps(m, "3.needPush"), "false") && sstr(jps(m, "1.10.extJson"), "MsgTips"),
	   "tip: contentType 14, needPush false, MsgTips");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"kind\":\"audio\"}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[语音消息]", "audio: display");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"text\":\"from my phone\",\"mobile\":true}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10._platform"), "android", "mobile variant: _platform android");
	ok(jps(m, "1.10.utdid") != NULL, "mobile variant: utdid");
	cJSON_Delete(m);
	cJSON_Delete(p);

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"text\":\"typed by the seller\",\"from_seller\":true}", NULL));
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(!strcmp(jps(m, "1.10.senderUserId"), UNB) && !strcmp(jps(m, "3.needPush"), "false"),
	   "from_seller: an own-account message, needPush false");
	cJSON_Delete(m);
	cJSON_Delete(p);

	r = ctl("POST", "/push", "{\"items\":[{\"kind\":\"receipt\",\"cid\":\"10001\"},{\"kind\":\"text\",\"cid\":\"10001\",\"text\":\"a\"},{\"kind\":\"text\",\"cid\":\"10001\",\"text\":\"b\"}]}", &st);
	p = next_push(w);
	ok(st == 200 && nitems(p) == 3, "push: three items in one frame");
	m = item(p, 2, NULL);
	is_str(jps(m, "1.10.reminderContent"), "b", "push: items kept in order");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);

	r = ctl("POST", "/inject", "{\"kind\":\"raw\",\"cid\":\"10001\",\"data\":\"%%%\"}", &st);
	p = next_push(w);
	ok(st == 200 && !strcmp(jps(p, "body.syncPushPackage.data.0.data"), "%%%"), "raw: any data string");
	cJSON_Delete(p);
	cJSON_Delete(r);

	r = ctl("POST", "/inject", "{\"kind\":\"nonsense\"}", &st);
	is_int(st, 400, "inject: unknown kind -> 400");
	cJSON_Delete(r);
}

static void test_send(tc_ws *w)
{
	char *body;
	cJSON *r, *p, *m;
	int n0;

	body = send_body("-17000000000001", "10001", "{\"contentType\":1,\"text\":{\"text\":\"您好，在的\"}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_int(jpn(r, "code"), 200, "send: accepted");
	ok(jps(r, "body.messageId") && sstr(jps(r, "body.messageId"), ".PNM"), "send: messageId <n>.PNM");
	is_str(jps(r, "body.uuid"), "-17000000000001", "send: uuid echoed");
	is_str(jps(r, "body.extension.reminderContent"), "您好，在的", "send: reminderContent");
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.senderUserId"), UNB, "echo: pushed back from the seller");
	is_str(jps(m, "3.needPush"), "false", "echo: needPush false");
	is_str(jps(m, "1.3"), jps(r, "body.messageId"), "echo: IM id equals the send's messageId");
	is_str(jps(m, "1.10.reminderContent"), "您好，在的", "echo: the text");
	cJSON_Delete(m);
	cJSON_Delete(p);

	/* the same uuid again: same message */
	n0 = (int)stat_of("pushes");
	body = send_body("-17000000000001", "10001", "{\"contentType\":1,\"text\":{\"text\":\"您好，在的\"}}", "30003");
	p = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_str(jps(p, "body.messageId"), jps(r, "body.messageId"), "send: a repeated uuid gets the same messageId");
	cJSON_Delete(p);
	p = next_push_opt(w, 400, 0);
	ok(!p && stat_of("pushes") == n0, "send: ... and no second echo");
	cJSON_Delete(p);
	cJSON_Delete(r);

	/* Python json.dumps defaults: ensure_ascii and spaces */
	body = send_body("-17000000000002", "10001", "{\"contentType\": 1, \"text\": {\"text\": \"\\u4f60\\u597d\"}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_int(jpn(r, "code"), 200, "send: Python-style \\uXXXX payload accepted");
	is_str(jps(r, "body.extension.reminderContent"), "你好", "send: ... and decoded");
	cJSON_Delete(r);
	cJSON_Delete(next_push(w));

	body = send_body("-17000000000003", "10001", "{\"contentType\":2,\"image\":{\"pics\":[{\"height\":600,\"type\":0,\"url\":\"https://img.alicdn.com/a.png\",\"width\":800}]}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_int(jpn(r, "code"), 200, "send: image accepted");
	cJSON_Delete(r);
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[图片]", "echo: image shown as [图片]");
	cJSON_Delete(m);
	cJSON_Delete(p);

	body = send_body("-17000000000004", "10001", "{\"contentType\":1,\"text\":{\"text\":\"x\"}}", "99999");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	ok(jpn(r, "code") == 400 && jps(r, "body.reason"), "send: receivers without the buyer -> 400 PARAM_ERROR");
	cJSON_Delete(r);
	body = send_body("-17000000000005", "777", "{\"contentType\":1,\"text\":{\"text\":\"x\"}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_int(jpn(r, "code"), 400, "send: unknown conversation -> 400");
	cJSON_Delete(r);
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, "[{\"uuid\":\"-1\",\"cid\":\"10001@goofish\",\"content\":{\"contentType\":101,\"custom\":{\"type\":1,\"data\":\"!!!\"}}},{\"actualReceivers\":[]}]");
	is_int(jpn(r, "code"), 400, "send: custom.data not base64 -> 400");
	cJSON_Delete(r);

	/* refusals: code 200 with a reason in the body */
	ctl_ok("/fault", "{\"kind\":\"send_fail\",\"n\":1,\"reason\":\"CSI_FORBID\"}");
	body = send_body("-17000000000006", "10001", "{\"contentType\":1,\"text\":{\"text\":\"blocked\"}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	ok(jpn(r, "code") == 200 && jps(r, "body.reason") && !strcmp(jps(r, "body.reason"), "CSI_FORBID") &&
	   !jps(r, "body.messageId"), "send_fail: CSI_FORBID in body.reason, no messageId");
	cJSON_Delete(r);
	p = next_push_opt(w, 300, 0);
	ok(!p, "send_fail: a refused send is not echoed");
	cJSON_Delete(p);
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	ok(jps(r, "body.messageId") != NULL, "send_fail: the same uuid goes through once the block ends");
	cJSON_Delete(r);
	cJSON_Delete(next_push(w));
	ctl_ok("/fault", "{\"kind\":\"send_fail\",\"n\":1,\"reason\":\"flow\"}");
	body = send_body("-17000000000007", "10001", "{\"contentType\":1,\"text\":{\"text\":\"fast\"}}", "30003");
	r = request(w, "/r/MessageSend/sendByReceiverScope", NULL, body);
	free(body);
	is_str(jps(r, "body.code"), "400600001", "send_fail: flow control body.code 400600001");
	cJSON_Delete(r);

	r = request(w, "/r/SingleChatConversation/create", NULL,
		    "[{\"pairFirst\":\"30009@goofish\",\"pairSecond\":\"" UNB "@goofish\",\"bizType\":\"1\","
		    "\"extension\":{\"itemId\":\"40004\"},\"ctx\":{\"appVersion\":\"1.0\",\"platform\":\"web\"}}]");
	p = request(w, "/r/SingleChatConversation/create", NULL,
		    "[{\"pairFirst\":\"30009@goofish\",\"pairSecond\":\"" UNB "@goofish\",\"bizType\":\"1\","
		    "\"extension\":{\"itemId\":\"40004\"},\"ctx\":{\"appVersion\":\"1.0\",\"platform\":\"web\"}}]");
	ok(jps(r, "body.singleChatConversation.cid") && sstr(jps(r, "body.singleChatConversation.cid"), "@goofish"),
	   "create: cid returned");
	is_str(jps(p, "body.singleChatConversation.cid"), jps(r, "body.singleChatConversation.cid"),
	       "create: idempotent per buyer/seller");
	cJSON_Delete(p);
	/* the web client sorts the two ids: the seller may come first, the chat is the same */
	p = request(w, "/r/SingleChatConversation/create", NULL,
		    "[{\"pairFirst\":\"" UNB "@goofish\",\"pairSecond\":\"30009@goofish\",\"bizType\":\"1\","
		    "\"extension\":{\"itemId\":\"40004\"},\"ctx\":{\"appVersion\":\"1.0\",\"platform\":\"web\"}}]");
	is_int(jpn(p, "code"), 200, "create: the seller as pairFirst is accepted");
	is_str(jps(p, "body.singleChatConversation.cid"), jps(r, "body.singleChatConversation.cid"),
	       "create: either pair order gives the same cid");
	cJSON_Delete(p);
	p = request(w, "/r/SingleChatConversation/create", NULL,
		    "[{\"pairFirst\":\"30009@goofish\",\"pairSecond\":\"30010@goofish\",\"bizType\":\"1\"}]");
	is_int(jpn(p, "code"), 400, "create: a pair without the seller is refused");
	cJSON_Delete(p);
	/* fault conv_ignore: the next create goes unanswered, the one after is answered */
	ctl_ok("/fault", "{\"kind\":\"conv_ignore\",\"seller\":\"" UNB "\",\"n\":1}");
	{
		char mid[32];

		send_req(w, "/r/SingleChatConversation/create", NULL,
			 "[{\"pairFirst\":\"30009@goofish\",\"pairSecond\":\"" UNB "@goofish\",\"bizType\":\"1\"}]",
			 mid);
		p = tc_lwp_await(w, mid, 500, 0);
		ok(!p, "conv_ignore: the create gets no answer");
		cJSON_Delete(p);
	}
	p = request(w, "/r/SingleChatConversation/create", NULL,
		    "[{\"pairFirst\":\"30009@goofish\",\"pairSecond\":\"" UNB "@goofish\",\"bizType\":\"1\"}]");
	is_str(jps(p, "body.singleChatConversation.cid"), jps(r, "body.singleChatConversation.cid"),
	       "conv_ignore: the next create is answered with the same cid");
	cJSON_Delete(p);
	cJSON_Delete(r);
}

/* An order placed and paid: the cards pushed and what order detail says,
 * in its agreeing and disagreeing modes. */
static void test_orders_placed_paid(tc_ws *w)
{
	cJSON *r, *p, *m, *env;
	const char *oid = "2503688126356636370";
	char data[128];
	int st;

	r = ctl("POST", "/order", "{\"order_id\":\"2503688126356636370\",\"cid\":\"10001\",\"item_id\":\"40004\",\"quantity\":2,\"spec\":\"时长:1个月\"}", &st);
	is_int(st, 200, "order: created");
	p = next_push(w);
	is_int(nitems(p), 2, "placed: order context + card");
	m = item(p, 0, NULL);
	is_str(jps(m, "3.orderId"), oid, "order context: orderId");
	cJSON_Delete(m);
	m = item(p, 1, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[我已拍下，待付款]", "placed: card text at data[1]");
	is_int(jpn(m, "1.6.3.4"), 26, "placed: contentType 26");
	ok(jps(m, "1.6.3.5") && sstr(jps(m, "1.6.3.5"), "order_detail?id=2503688126356636370"), "placed: order id in the card");
	ok(sstr(jps(m, "1.10.extJson"), "updateKey"), "placed: updateKey");
	is_str(jps(m, "1.10.senderUserId"), "30003", "placed: from the buyer");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);

	r = ctl("POST", "/order/status", "{\"order_id\":\"2503688126356636370\",\"status\":\"paid\"}", &st);
	p = next_push(w);
	is_int(nitems(p), 2, "paid: payment summary + card");
	m = item(p, 0, NULL);
	is_str(jps(m, "3.redReminder"), "等待卖家发货", "paid: payment summary");
	cJSON_Delete(m);
	m = item(p, 1, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[我已付款，等待你发货]", "paid: card text");
	ok(sstr(jps(m, "1.6.3.5"), "orderId=2503688126356636370") && sstr(jps(m, "1.6.3.5"), "role=Seller"),
	   "paid: button orderId= and role=Seller");
	ok(sstr(jps(m, "1.10.extJson"), "TRADE_PAID_DONE_SELLER"), "paid: updateKey");
	cJSON_Delete(m);
	cJSON_Delete(p);
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(cJSON_IsString(jget(m, "1")) && jps(m, "4.reminderContent") &&
	   !strcmp(jps(m, "4.reminderContent"), "[我已付款，等待你发货]"), "paid: message-update frame ([1] a string, [4] the card)");
	ok(sstr(js(jget(m, "4"), "_CONTENT_MAP_UPDATE_PRE_dxCard.item.main.exContent.button"), "已付款"), "update: button 已付款");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);

	snprintf(data, sizeof data, "{\"tid\":\"%s\"}", oid);
	env = mtop("mtop.idle.web.trade.order.detail", data);
	is_int(jpn(env, "data.components.0.data.itemInfo.buyAmount"), 2, "order detail: quantity");
	is_str(jps(env, "data.components.0.data.itemInfo.skuInfo"), "时长:1个月", "order detail: spec");
	is_str(jps(env, "data.components.0.data.buyerUserId"), "30003", "order detail: buyer");
	is_str(jps(env, "data.itemId"), "40004", "order detail: item");
	is_str(jps(env, "data.components.2.data.orderStatusInfo.title"), "等待卖家发货", "order detail: paid: its title");
	ok(jps(env, "data.components.2.data.orderStatusNodeList.1.title") &&
	   !strcmp(jps(env, "data.components.2.data.orderStatusNodeList.1.title"), "已付款") &&
	   cJSON_IsTrue(jget(env, "data.components.2.data.orderStatusNodeList.1.completed")),
	   "order detail: paid: the 已付款 node is completed");
	cJSON_Delete(env);
	/* the detail modes: another buyer and item, then back to agreeing */
	cJSON_Delete(ctl("POST", "/order/status", "{\"order_id\":\"2503688126356636370\",\"status\":\"paid\","
			 "\"push\":false,\"detail_buyer\":\"39999\",\"detail_item_id\":\"49999\"}", NULL));
	env = mtop("mtop.idle.web.trade.order.detail", data);
	ok(!strcmp(jps(env, "data.components.0.data.buyerUserId") ?: "", "39999") &&
	   !strcmp(jps(env, "data.components.0.data.itemInfo.itemId") ?: "", "49999") &&
	   !strcmp(jps(env, "data.peerUserId") ?: "", "39999"), "order detail: detail_buyer / detail_item_id disagree");
	cJSON_Delete(env);
	cJSON_Delete(ctl("POST", "/order/status", "{\"order_id\":\"2503688126356636370\",\"status\":\"paid\","
			 "\"push\":false,\"detail_buyer\":\"\",\"detail_item_id\":\"\"}", NULL));
	env = mtop("mtop.idle.web.trade.order.detail", data);
	is_str(jps(env, "data.components.0.data.buyerUserId"), "30003", "order detail: \"\" agrees again");
	cJSON_Delete(env);
}

/* The paid order reminded, shipped and through its later statuses: the
 * cards pushed, consign answers, /orders; unknown orders and statuses. */
static void test_orders_shipped(tc_ws *w)
{
	cJSON *r, *p, *m, *env;
	const char *oid = "2503688126356636370";
	char data[128];
	int st;

	r = ctl("POST", "/order/status", "{\"order_id\":\"2503688126356636370\",\"status\":\"remind\"}", NULL);
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(!strcmp(jps(m, "1.10.reminderContent"), "[记得及时发货]") && sstr(jps(m, "1.6.3.5"), oid),
	   "remind: [记得及时发货] with the order id");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);

	snprintf(data, sizeof data, "{\"orderId\":\"%s\",\"tradeText\":\"\",\"picList\":[],\"newUnconsign\":true}", oid);
	env = mtop("mtop.taobao.idle.logistic.consign.dummy", data);
	is_str(ret0(env), "SUCCESS::调用成功", "consign: a paid order ships");
	cJSON_Delete(env);
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.reminderContent"), "[你已发货]", "consign: [你已发货] card pushed");
	is_str(jps(m, "1.10.senderUserId"), UNB, "consign: that card is from the seller");
	cJSON_Delete(m);
	cJSON_Delete(p);
	env = mtop("mtop.taobao.idle.logistic.consign.dummy", data);
	ok(ret0(env) && strstr(ret0(env), "ORDER_ALREADY_DELIVERY"), "consign: twice -> ORDER_ALREADY_DELIVERY");
	cJSON_Delete(env);
	env = mtop("mtop.taobao.idle.logistic.consign.dummy", "{\"orderId\":\"1\"}");
	ok(ret0(env) && strstr(ret0(env), "NOT_EXIST"), "consign: unknown order");
	cJSON_Delete(env);
	env = mtop("mtop.idle.groupon.activity.seller.freeshipping", "{\"bizOrderId\":\"2503688126356636370\",\"itemId\":40004,\"buyerId\":30003}");
	is_str(ret0(env), "SUCCESS::调用成功", "freeshipping answers");
	cJSON_Delete(env);
	r = ctl("GET", "/orders", NULL, NULL);
	ok(jpn(r, "orders.0.consigns") == 1 && jpn(r, "orders.0.consign_calls") == 2 &&
	   !strcmp(jps(r, "orders.0.status"), "shipped"), "orders: consigns counted, status shipped");
	cJSON_Delete(r);

	{
		static const char *const st_text[][2] = {
			{"completed", "[买家确认收货，交易成功]"}, {"closed", "[你关闭了订单，钱款已原路退返]"},
			{"refunding", "[我发起了退款申请]"}, {"refund_cancelled", "[我发起了退款申请]"},
		};
		size_t i;
		char b[160];

		for (i = 0; i < 4; i++) {
			snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"%s\"}", oid, st_text[i][0]);
			cJSON_Delete(ctl("POST", "/order/status", b, NULL));
			p = next_push(w);
			m = item(p, 0, NULL);
			is_str(jps(m, "1.10.reminderContent"), st_text[i][1], "card for %s", st_text[i][0]);
			if (i >= 2)
				ok(sstr(jps(m, "1.6.3.5"), "dynamicOperation") &&
				   sstr(jps(m, "1.6.3.5"), i == 2 ? "已同意" : "已撤销"), "refund card: dynamicOperation %s", st_text[i][0]);
			cJSON_Delete(m);
			cJSON_Delete(p);
		}
	}
	r = ctl("POST", "/order/status", "{\"order_id\":\"1\",\"status\":\"paid\"}", &st);
	is_int(st, 404, "order/status: unknown order -> 404");
	cJSON_Delete(r);
	r = ctl("POST", "/order", "{\"status\":\"teleported\"}", &st);
	is_int(st, 400, "order: unknown status -> 400");
	cJSON_Delete(r);
}

static void test_acks_and_redelivery(void)
{
	tc_ws *w = session(cookie, DID, NULL);
	cJSON *p, *m, *r;
	double unacked_close0;

	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"text\":\"ack me\"}", NULL));
	p = next_push_opt(w, 3000, 1);
	ok(p != NULL, "acks: push received (not ACKed yet)");
	r = ctl("GET", "/state", NULL, NULL);
	is_int(jpn(r, "stats.unacked"), 1, "acks: one push left un-ACKed is counted");
	cJSON_Delete(r);
	ack(w, p);
	ack(w, p);
	r = request(w, "/!", NULL, NULL);
	cJSON_Delete(r);
	r = ctl("GET", "/state", NULL, NULL);
	ok(jpn(r, "stats.unacked") == 0 && jpn(r, "stats.dup_acks") >= 1, "acks: ACK settles it; the duplicate is accepted and counted");
	cJSON_Delete(r);
	cJSON_Delete(p);

	unacked_close0 = stat_of("unacked_at_close");
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"10001\",\"text\":\"never acked\"}", NULL));
	p = next_push_opt(w, 3000, 1);
	m = item(p, 0, NULL);
	tc_ws_close(w, 1000);
	usleep(200000);
	ok(stat_of("unacked_at_close") == unacked_close0 + 1, "acks: un-ACKed at close counted");
	w = session(cookie, DID, NULL);
	cJSON_Delete(p);
	p = next_push(w);
	{
		cJSON *m2 = item(p, 0, NULL);

		is_str(jps(m2, "1.10.bizTag"), jps(m, "1.10.bizTag"), "redelivery: the un-ACKed push comes again after re-registering");
		cJSON_Delete(m2);
	}
	cJSON_Delete(p);
	cJSON_Delete(m);

	/* replay: the same items again */
	r = ctl("POST", "/replay", "{\"n\":1}", NULL);
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(jpn(r, "n") == 1 && m && sstr(jps(m, "1.10.bizTag"), "messageId"), "replay: last push pushed again");
	cJSON_Delete(m);
	cJSON_Delete(p);
	cJSON_Delete(r);
	tc_ws_close(w, 1000);

	/* pushes for an account with no connection wait for one */
	r = ctl("POST", "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"10001\",\"text\":\"while you were away\"}", NULL);
	ok(cJSON_IsTrue(jget(r, "queued")), "offline: the push is queued");
	cJSON_Delete(r);
	w = session(cookie, DID, NULL);
	p = next_push(w);
	m = item(p, 0, NULL);
	is_str(jps(m, "1.10.reminderContent"), "while you were away", "offline: delivered after /reg");
	cJSON_Delete(m);
	cJSON_Delete(p);
	tc_ws_close(w, 1000);
}

/* The message list of one history page of cid (cursor, limit): the answer. */
static cJSON *hist_page(tc_ws *w, const char *cid, double cursor, int limit)
{
	char body[160];

	snprintf(body, sizeof body, "[\"%s@goofish\",false,%.0f,%d,false]", cid, cursor, limit);
	return request(w, "/r/MessageManager/listUserMessages", NULL, body);
}

/* History (tests/sim/README.md "History"): conversations and messages with
 * cursors, redPoint, the extension as an object or a JSON string, flow
 * control after /reg and by rate, and offline_push false. */
static void test_history(void)
{
	tc_ws *w;
	cJSON *r, *p, *conv = NULL, *x, *m;
	int i, n, strs = 0, objs = 0, found = 0;
	double cur;

	ctl_ok("/config", "{\"history_flow_ms\":0,\"history_rate\":0}");
	w = session(cookie, DID, NULL);
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"30001\",\"text\":\"old one\",\"age_ms\":60000}", NULL));
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"30001\",\"text\":\"h1\"}", NULL));
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"30001\",\"text\":\"seller here\",\"from_seller\":true}", NULL));
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"30001\",\"text\":\"h2\"}", NULL));
	cJSON_Delete(ctl("POST", "/inject", "{\"cid\":\"30001\",\"text\":\"h3\"}", NULL));
	for (i = 0; i < 5; i++)
		cJSON_Delete(next_push(w));
	r = request(w, "/r/Conversation/listNewestPagination", NULL, "[9007199254740991,20]");
	cJSON_ArrayForEach(x, jget(r, "body.userConvs"))
		if (sstr(jps(x, "singleChatUserConversation.singleChatConversation.cid"), "30001@goofish"))
			conv = x;
	ok(conv != NULL, "history: the chat is in listNewestPagination");
	is_int(jpn(conv, "singleChatUserConversation.redPoint"), 2,
	       "history: redPoint counts the buyer's messages after the seller's last");
	is_str(jps(conv, "singleChatUserConversation.singleChatConversation.bizType"), "1", "history: bizType \"1\"");
	ok(jpn(conv, "singleChatUserConversation.modifyTime") > 1e12, "history: modifyTime in ms");
	ok(jps(conv, "singleChatUserConversation.lastMessage.message.messageId") != NULL,
	   "history: lastMessage.message carries the newest message");
	ok(jpn(r, "body.hasMore") == 0, "history: hasMore 0 on the last page");
	cJSON_Delete(r);

	/* pages of 2, newest first, down to the backdated message */
	cur = 9007199254740991.0;
	n = 0;
	for (i = 0; i < 5; i++) {
		r = hist_page(w, "30001", cur, 2);
		cJSON_ArrayForEach(x, jget(r, "body.userMessageModels")) {
			const char *data = jps(x, "message.content.custom.data");
			const cJSON *ext = jget(x, "message.extension");
			char *dec = NULL;
			size_t dl = 0;

			if (cJSON_IsString(ext))
				strs++;
			else if (cJSON_IsObject(ext))
				objs++;
			if (data && (dec = (char *)codec_b64_decode(data, strlen(data), &dl)) &&
			    memmem(dec, dl, "old one", 7)) {
				found = 1;
				ok(util_now_ms() - (int64_t)jpn(x, "message.createAt") >= 59000,
				   "history: age_ms backdates createAt");
			}
			free(dec);
			n++;
		}
		ok(cJSON_GetArraySize(jget(r, "body.userMessageModels")) <= 2, "history: a page holds at most limit");
		cur = jpn(r, "body.nextCursor");
		if (jpn(r, "body.hasMore") != 1) {
			cJSON_Delete(r);
			break;
		}
		cJSON_Delete(r);
	}
	is_int(n, 5, "history: paging with nextCursor returns every message once");
	ok(found, "history: custom.data is the base64 JSON of the content");
	ok(strs > 0 && objs > 0, "history: the extension comes as an object or a JSON string (%d/%d)", objs, strs);
	r = hist_page(w, "30001", 9007199254740991.0, 1);
	m = cJSON_GetArrayItem(jget(r, "body.userMessageModels"), 0);
	ok(m && sstr(jps(m, "message.sender.uid"), "@goofish") && jpn(m, "message.content.contentType") == 101,
	   "history: a message has sender.uid and contentType 101");
	cJSON_Delete(r);

	/* flow control: by rate, then right after /reg */
	ctl_ok("/config", "{\"history_rate\":2,\"history_rate_window_ms\":60000}");
	r = hist_page(w, "30001", 9007199254740991.0, 1);
	cJSON_Delete(r);
	r = hist_page(w, "30001", 9007199254740991.0, 1);
	cJSON_Delete(r);
	r = hist_page(w, "30001", 9007199254740991.0, 1);
	is_str(jps(r, "body.code"), "400600001", "history: over history_rate calls -> 400600001");
	cJSON_Delete(r);
	ctl_ok("/config", "{\"history_rate\":0,\"history_flow_ms\":3000}");
	tc_ws_close(w, 1000);
	w = session(cookie, DID, NULL);
	r = request(w, "/r/Conversation/listNewestPagination", NULL, "[9007199254740991,20]");
	ok(jpn(r, "code") == 200 && sstr(jps(r, "body.code"), "400600001"),
	   "history: a list call within history_flow_ms of /reg -> code 200, body.code 400600001");
	cJSON_Delete(r);
	ok(stat_of("history_flow_limited") >= 2, "history: flow-limited calls are counted");
	ctl_ok("/config", "{\"history_flow_ms\":0}");
	tc_ws_close(w, 1000);

	/* offline_push false: made while away, only in history */
	ctl_ok("/config", "{\"offline_push\":false,\"redeliver_unacked\":false}");
	cJSON_Delete(ctl("POST", "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"30001\",\"text\":\"away\"}", NULL));
	ok(stat_of("offline_dropped") >= 1, "offline_push false: the push is not kept for the next /reg");
	w = session(cookie, DID, NULL);
	p = next_push_opt(w, 1000, 0);
	ok(p == NULL, "offline_push false: nothing is pushed at the next /reg");
	cJSON_Delete(p);
	r = hist_page(w, "30001", 9007199254740991.0, 1);
	m = cJSON_GetArrayItem(jget(r, "body.userMessageModels"), 0);
	{
		const char *data = jps(m, "message.content.custom.data");
		char *dec = NULL;
		size_t dl = 0;

		ok(data && (dec = (char *)codec_b64_decode(data, strlen(data), &dl)) &&
		   memmem(dec, dl, "away", 4), "offline_push false: ... but it is the newest message in history");
		free(dec);
	}
	cJSON_Delete(r);
	ctl_ok("/config", "{\"offline_push\":true,\"redeliver_unacked\":true}");
	tc_ws_close(w, 1000);
}

/* Faults on a registered connection: drops (FIN, RST), a close frame, and
 * every kind of garbage frame or item. */
static void test_faults_drops_garbage(void)
{
	tc_ws *w;
	tc_frame f;
	cJSON *p, *m;
	int st;
	size_t i;

	w = session(cookie, DID, NULL);
	ctl_ok("/fault", "{\"kind\":\"drop\",\"how\":\"fin\"}");
	memset(&f, 0, sizeof f);
	is_int(tc_ws_recv(w, 2000, &f), TC_EOF, "fault drop fin: TCP FIN without a close frame");
	tc_frame_free(&f);
	tc_ws_close(w, 0);

	w = session(cookie, DID, NULL);
	ctl_ok("/fault", "{\"kind\":\"drop\",\"how\":\"rst\"}");
	memset(&f, 0, sizeof f);
	is_int(tc_ws_recv(w, 2000, &f), TC_RST, "fault drop rst: connection reset");
	tc_frame_free(&f);
	tc_ws_close(w, 0);

	w = session(cookie, DID, NULL);
	ctl_ok("/fault", "{\"kind\":\"close\",\"code\":4001,\"reason\":\"bye\"}");
	memset(&f, 0, sizeof f);
	st = tc_ws_recv(w, 2000, &f);
	ok(st == TC_CLOSE && f.close_code == 4001, "fault close: close frame with code 4001 (got %d/%d)", st, f.close_code);
	tc_frame_free(&f);
	tc_ws_close(w, 0);

	w = session(cookie, DID, NULL);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"json\"}");
	memset(&f, 0, sizeof f);
	ok(tc_ws_recv(w, 2000, &f) == TC_MSG && !cJSON_ParseWithLength(f.data, f.len), "garbage json: invalid JSON text frame");
	tc_frame_free(&f);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"deep_json\"}");
	memset(&f, 0, sizeof f);
	ok(tc_ws_recv(w, 2000, &f) == TC_MSG && f.len == 10000, "garbage deep_json: 5000-deep nesting");
	tc_frame_free(&f);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"utf8\"}");
	memset(&f, 0, sizeof f);
	ok(tc_ws_recv(w, 2000, &f) == TC_MSG && memchr(f.data, 0xff, f.len), "garbage utf8: invalid UTF-8 passed through");
	tc_frame_free(&f);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"oversize\",\"size\":3000000}");
	memset(&f, 0, sizeof f);
	ok(tc_ws_recv(w, 5000, &f) == TC_MSG && f.len >= 3000000, "garbage oversize: a 3 MB frame");
	tc_frame_free(&f);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"base64\",\"with_good\":true,\"cid\":\"10001\",\"text\":\"good one\"}");
	p = next_push(w);
	{
		const char *err = NULL;
		codec_kind k;
		const char *d = jps(p, "body.syncPushPackage.data.0.data");
		cJSON *bad = d ? codec_decode_item(d, strlen(d), &k, &err) : NULL;

		ok(d && !bad && err, "garbage base64: the first item does not decode (%s)", err ? err : "?");
		cJSON_Delete(bad);
	}
	m = item(p, 1, NULL);
	is_str(jps(m, "1.10.reminderContent"), "good one", "garbage with_good: the next item is fine");
	cJSON_Delete(m);
	cJSON_Delete(p);
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_truncated\"}");
	p = next_push(w);
	m = item(p, 0, NULL);
	ok(p && !m, "garbage msgpack_truncated: does not decode");
	cJSON_Delete(m);
	cJSON_Delete(p);
	for (i = 0; i < 7; i++) {
		char b[96];

		snprintf(b, sizeof b, "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":%zu}", i);
		ctl_ok("/fault", b);
		p = next_push(w);
		m = item(p, 0, NULL);
		ok(p && !m, "garbage msgpack_hostile variant %zu: rejected by the bounded decoder", i);
		cJSON_Delete(m);
		cJSON_Delete(p);
	}
	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"opcode\"}");
	memset(&f, 0, sizeof f);
	st = tc_ws_recv(w, 2000, &f);
	ok(st == TC_ERROR && f.bad_protocol, "garbage opcode: a WebSocket protocol violation (got %d)", st);
	tc_frame_free(&f);
	tc_ws_close(w, 0);
}

/* An mtop call of the main account with cookie ck and User-Agent ua. */
static cJSON *mtop_ua(const char *ck, const char *api, const char *data, const char *ua)
{
	char token[64], t[32], sign[33], path[1024], hdr[1200];
	sbuf body = {0};
	tc_http_resp r;
	cJSON *env = NULL;

	cookie_h5_token(ck, token, sizeof token);
	snprintf(t, sizeof t, "%lld", (long long)util_now_ms());
	sign_mtop(token, t, SIGN_MTOP_APPKEY, data, strlen(data), sign);
	snprintf(path, sizeof path, "/h5/%s/1.0/?jsv=2.7.2&appKey=%s&t=%s&sign=%s&v=1.0&api=%s", api,
		 SIGN_MTOP_APPKEY, t, sign, api);
	sbuf_adds(&body, "data=");
	util_urlencode(&body, data, strlen(data));
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nUser-Agent: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n",
		 ck, ua);
	if (tc_http(sim.port, "POST", path, hdr, body.p, body.len, &r, 3000) == 0) {
		env = cJSON_ParseWithLength(r.body, r.body_len);
		tc_http_free(&r);
	}
	sbuf_free(&body);
	return env;
}

/* Risk control (protocol-account.md §9, §10.5): the RRXVv variant, the
 * hasLogin variant that leaves mtop alone, clearing only with the x5sec
 * cookie and the same User-Agent, and the token-rate trigger. */
static void test_risk(void)
{
	const char *item = "{\"itemId\":\"40004\"}";
	char ck[700], x5[64] = "";
	cJSON *env, *r;
	int st = 0, i;

	ctl_ok("/fault", "{\"seller\":\"" UNB "\",\"kind\":\"risk\",\"on\":true,\"variant\":\"rrxvv\"}");
	env = mtop("mtop.taobao.idle.pc.detail", item);
	ok(!strcmp(ret0(env) ? ret0(env) : "", "FAIL_SYS_USER_VALIDATE") && sstr(jps(env, "ret.1"), "RRXVv_ERROR::SM::") &&
	   sstr(jps(env, "data.url"), "punish"), "risk: the RRXVv_ERROR variant");
	cJSON_Delete(env);
	r = ctl("POST", "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"risk\",\"on\":true,\"variant\":\"haslogin\"}", &st);
	ok(st == 200 && !strcmp(jps(r, "variant") ? jps(r, "variant") : "", "haslogin"), "risk: the haslogin variant");
	cJSON_Delete(r);
	env = mtop("mtop.taobao.idle.pc.detail", item);
	is_str(ret0(env), "SUCCESS::调用成功", "risk: the haslogin variant leaves mtop alone");
	cJSON_Delete(env);
	r = ctl("POST", "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"risk\",\"variant\":\"nope\"}", &st);
	is_int(st, 400, "risk: an unknown variant is refused");
	cJSON_Delete(r);

	/* until_x5sec: solved only by the x5sec cookie with the UA it was solved with */
	r = ctl("POST", "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"risk\",\"on\":true,\"until_x5sec\":true,\"ua\":\"UA-solver\"}", &st);
	snprintf(x5, sizeof x5, "%s", jps(r, "x5sec") ? jps(r, "x5sec") : "");
	ok(st == 200 && x5[0], "risk: until_x5sec answers the x5sec that solves it");
	cJSON_Delete(r);
	env = mtop("mtop.taobao.idle.pc.detail", item);
	ok(sstr(jps(env, "ret.1"), "RGV587_ERROR"), "risk: on until solved");
	cJSON_Delete(env);
	snprintf(ck, sizeof ck, "%s; x5sec=%s", cookie, x5);
	env = mtop_ua(ck, "mtop.taobao.idle.pc.detail", item, "UA-other");
	ok(sstr(jps(env, "ret.1"), "RGV587_ERROR"), "risk: x5sec with another User-Agent does not clear it");
	cJSON_Delete(env);
	env = mtop_ua(cookie, "mtop.taobao.idle.pc.detail", item, "UA-solver");
	ok(sstr(jps(env, "ret.1"), "RGV587_ERROR"), "risk: the User-Agent without x5sec does not clear it");
	cJSON_Delete(env);
	env = mtop_ua(ck, "mtop.taobao.idle.pc.detail", item, "UA-solver");
	is_str(ret0(env), "SUCCESS::调用成功", "risk: x5sec and the same User-Agent clear it");
	cJSON_Delete(env);
	is_int(stat_of("risk_solved"), 1, "risk: the solve is counted");

	/* the rate trigger: more than 3 token calls within the window */
	ctl_ok("/config", "{\"risk_token_max\":3,\"risk_token_window_ms\":60000}");
	for (i = 0; i < 4; i++) {
		char *tok = get_token(cookie, DID);

		if (i < 3)
			ok(tok != NULL, "risk rate: token call %d of 3 allowed", i + 1);
		else
			ok(!tok, "risk rate: the 4th token call within the window hits risk control");
		free(tok);
	}
	is_int(stat_of("risk_triggered"), 1, "risk rate: counted");
	env = mtop("mtop.taobao.idle.pc.detail", item);
	ok(sstr(jps(env, "ret.1"), "RGV587_ERROR"), "risk rate: every call answers risk after it");
	cJSON_Delete(env);
	ctl_ok("/config", "{\"risk_token_max\":0}");
	ctl_ok("/fault", "{\"seller\":\"" UNB "\",\"kind\":\"risk\",\"on\":false}");
	r = ctl("POST", "/config", "{\"risk_token_max\":\"x\"}", &st);
	is_int(st, 400, "risk rate: a mistyped setting is refused");
	cJSON_Delete(r);
}

/* Kicks (protocol-account.md §10.13): a /reg with another device id closes
 * the first connection; the same device does not; the kick fault closes the
 * registered connection as a browser session would. */
static void test_kicks(void)
{
	tc_ws *w1, *w2;
	tc_frame f;
	int st;
	long k0 = (long)stat_of("kicks");

	w1 = session(cookie, DID, NULL);
	w2 = session(cookie, DID "-browser", NULL);
	st = w1 ? tc_ws_recv(w1, 3000, &f) : 0;
	while (st == TC_MSG) {
		tc_frame_free(&f);
		st = tc_ws_recv(w1, 3000, &f);
	}
	ok(st == TC_CLOSE && f.close_code == 4100 && sstr(f.data, "kicked"),
	   "kick: a /reg with another device id closes the first connection (4100 kicked; got %d %d)", st, f.close_code);
	tc_frame_free(&f);
	tc_ws_close(w1, 0);
	is_int((long)stat_of("kicks"), k0 + 1, "kick: counted");
	/* the same device registering again kicks nothing */
	w1 = session(cookie, DID "-browser", NULL);
	st = w2 ? tc_ws_recv(w2, 500, &f) : 0;
	while (st == TC_MSG) {
		tc_frame_free(&f);
		st = tc_ws_recv(w2, 500, &f);
	}
	ok(st == TC_TIMEOUT, "kick: the same device id registering again closes nothing (got %d)", st);
	tc_frame_free(&f);
	tc_ws_close(w2, 1000);
	/* the kick fault */
	ctl_ok("/fault", "{\"kind\":\"kick\",\"seller\":\"" UNB "\"}");
	st = w1 ? tc_ws_recv(w1, 3000, &f) : 0;
	while (st == TC_MSG) {
		tc_frame_free(&f);
		st = tc_ws_recv(w1, 3000, &f);
	}
	ok(st == TC_CLOSE && f.close_code == 4100, "kick fault: the registered connection is closed (got %d)", st);
	tc_frame_free(&f);
	tc_ws_close(w1, 0);
	/* the mode can be turned off */
	ctl_ok("/config", "{\"kick_on_second_reg\":false}");
	w1 = session(cookie, DID, NULL);
	w2 = session(cookie, DID "-browser", NULL);
	st = w1 ? tc_ws_recv(w1, 500, &f) : 0;
	while (st == TC_MSG) {
		tc_frame_free(&f);
		st = tc_ws_recv(w1, 500, &f);
	}
	ok(st == TC_TIMEOUT, "kick: kick_on_second_reg false keeps both (got %d)", st);
	tc_frame_free(&f);
	tc_ws_close(w1, 1000);
	tc_ws_close(w2, 1000);
	ctl_ok("/config", "{\"kick_on_second_reg\":true}");
}

/* The utf8 garbage frame is sent once: not kept as an un-ACKed push that
 * every later registration gets again (a client that drops the invalid
 * frame cannot ACK it). */
static void test_garbage_utf8_once(void)
{
	tc_ws *w = session(cookie, DID, NULL);
	tc_frame f;
	int st, again = 0, n;

	ctl_ok("/fault", "{\"kind\":\"garbage\",\"what\":\"utf8\"}");
	memset(&f, 0, sizeof f);
	ok(tc_ws_recv(w, 2000, &f) == TC_MSG && memchr(f.data, 0xff, f.len), "garbage utf8: sent (not ACKed here)");
	tc_frame_free(&f);
	tc_ws_close(w, 1000);
	w = session(cookie, DID, NULL);
	for (n = 0; n < 100; n++) {
		memset(&f, 0, sizeof f);
		st = tc_ws_recv(w, 1000, &f);
		if (st != TC_MSG) {
			tc_frame_free(&f);
			break;
		}
		if (memchr(f.data, 0xff, f.len))
			again++;
		else {
			cJSON *p = cJSON_ParseWithLength(f.data, f.len);

			if (p && js(p, "lwp"))
				ack(w, p);
			cJSON_Delete(p);
		}
		tc_frame_free(&f);
	}
	is_int(again, 0, "garbage utf8: not sent again at the next registration");
	tc_ws_close(w, 1000);
}

/* The load mode's chats are about an item the detail API knows, even when
 * no test or scenario defined it (after a reset). */
static void test_load_item(void)
{
	tc_ws *w;
	cJSON *r, *p, *m, *env;
	char data[96];
	const char *url, *iid;
	int st;

	ctl_ok("/reset", "{}");
	w = session(cookie, DID, NULL);
	ok(w != NULL, "load item: a session after a reset");
	r = ctl("POST", "/load", "{\"n\":1,\"window\":1}", &st);
	is_int(st, 200, "load item: a run of 1 started");
	cJSON_Delete(r);
	p = w ? next_push(w) : NULL;
	m = item(p, 0, NULL);
	url = jps(m, "1.10.reminderUrl");
	iid = sstr(url, "itemId=");
	snprintf(data, sizeof data, "{\"itemId\":\"%.*s\"}", iid ? (int)strcspn(iid + 7, "&") : 0, iid ? iid + 7 : "");
	ok(iid != NULL, "load item: the load chat's message names its item (%s)", data);
	env = mtop("mtop.taobao.idle.pc.detail", data);
	is_str(ret0(env), "SUCCESS::调用成功", "load item: the item detail API knows the load chats' item");
	cJSON_Delete(env);
	cJSON_Delete(m);
	cJSON_Delete(p);
	tc_ws_close(w, 1000);
}

/* Faults of the connection itself: a stall and its end, a refused and a
 * black-holed connection, an expired token; an unknown fault kind. */
static void test_faults_stall_refuse(void)
{
	tc_ws *w;
	tc_frame f;
	cJSON *r;
	int fd, st;

	/* stall: heartbeats and pings unanswered, then answered again */
	w = session(cookie, DID, NULL);
	ctl_ok("/fault", "{\"kind\":\"stall\"}");
	usleep(100000);
	{
		char mid[32];
		int pongs = tc_ws_pongs(w);

		send_req(w, "/!", NULL, NULL, mid);
		tc_ws_send_ping(w);
		r = tc_lwp_await(w, mid, 700, 0);
		ok(!r && tc_ws_pongs(w) == pongs, "stall: heartbeat and WS ping go unanswered");
		cJSON_Delete(r);
		ctl_ok("/fault", "{\"kind\":\"unstall\"}");
		r = tc_lwp_await(w, mid, 2000, 0);
		ok(r != NULL, "unstall: the heartbeat is answered once reading resumes");
		cJSON_Delete(r);
	}
	tc_ws_close(w, 1000);

	/* refuse: the next connection is reset at once */
	ctl_ok("/fault", "{\"kind\":\"refuse\",\"n\":1}");
	fd = tc_tcp_connect(sim.port, 2000);
	st = fd >= 0 ? tc_tcp_wait(fd, 2000) : TC_RST;
	ok(st == TC_RST || st == TC_EOF, "refuse: connection reset at once (got %d)", st);
	if (fd >= 0)
		close(fd);
	w = ws_open(cookie);
	ok(w != NULL, "refuse: the connection after it works");
	tc_ws_close(w, 1000);

	/* black hole: accepted, never answered */
	ctl_ok("/fault", "{\"kind\":\"blackhole\",\"n\":1}");
	st = -1;
	w = tc_ws_connect(sim.port, "/", "Cookie: unb=" UNB "\r\n", 700, &st);
	ok(!w && st == 0, "blackhole: the upgrade is never answered");
	tc_ws_close(w, 0);
	is_int(stat_of("blackholed"), 1, "blackhole: counted");

	/* expire_token: the next /reg fails */
	{
		char *tok = NULL, hx[700], mid[32];
		tc_ws *w2 = session(cookie, DID, &tok);

		tc_ws_close(w2, 1000);
		ctl_ok("/fault", "{\"kind\":\"expire_token\",\"seller\":\"" UNB "\"}");
		w2 = ws_open(cookie);
		snprintf(hx, sizeof hx, "\"app-key\":\"%s\",\"token\":\"%s\",\"did\":\"%s\"", SIGN_IM_APPKEY, tok ? tok : "", DID);
		send_req(w2, "/reg", hx, NULL, mid);
		memset(&f, 0, sizeof f);
		is_int(tc_ws_recv(w2, 2000, &f), TC_EOF, "expire_token: the old token no longer registers");
		tc_frame_free(&f);
		tc_ws_close(w2, 0);
		free(tok);
	}
	r = ctl("POST", "/fault", "{\"kind\":\"what\"}", &st);
	is_int(st, 400, "fault: unknown kind -> 400");
	cJSON_Delete(r);
}

static void test_sent_log(void)
{
	cJSON *r = ctl("GET", "/sent?since=0", NULL, NULL), *e;
	int saw_reg = 0, saw_send = 0, saw_hb = 0, saw_ack = 0, saw_mtop = 0, ordered = 1;
	double last = -1;

	cJSON_ArrayForEach(e, jget(r, "frames")) {
		const char *w = js(e, "what");

		if (jpn(e, "seq") <= last)
			ordered = 0;
		last = jpn(e, "seq");
		saw_reg |= w && !strcmp(w, "/reg");
		saw_hb |= w && !strcmp(w, "/!");
		saw_ack |= w && !strcmp(w, "ack");
		saw_mtop |= w && !strcmp(w, TOKEN_API);
		if (w && !strcmp(w, "/r/MessageSend/sendByReceiverScope") && jps(e, "content.text.text") &&
		    !strcmp(jps(e, "content.text.text"), "您好，在的") && jps(e, "message_id"))
			saw_send = 1;
	}
	ok(saw_reg && saw_hb && saw_ack && saw_mtop, "sent: /reg, heartbeats, ACKs and mtop calls are recorded");
	ok(saw_send, "sent: sends carry the decoded content and messageId");
	ok(ordered && jpn(r, "next") > 10, "sent: in order, with a next cursor");
	cJSON_Delete(r);
	r = ctl("GET", "/sent?since=0&what=/!", NULL, NULL);
	ok(cJSON_GetArraySize(jget(r, "frames")) >= 1 &&
	   !strcmp(jps(r, "frames.0.what"), "/!"), "sent: filter by what");
	cJSON_Delete(r);
}

static void test_scenario_and_load(void)
{
	tc_ws *w = session(cookie, DID, NULL);
	cJSON *r, *p, *m;
	int st, i, replies = 0;

	r = ctl("POST", "/scenario", "{\"start\":\"now\",\"steps\":[{\"after_ms\":50,\"call\":\"/inject\",\"body\":{\"cid\":\"10001\",\"text\":\"scripted\"}}]}", &st);
	is_int(st, 200, "scenario: accepted");
	cJSON_Delete(r);
	m = find_text(w, "scripted");
	ok(m != NULL, "scenario: its step pushed a message");
	cJSON_Delete(m);
	r = ctl("POST", "/scenario", "{\"steps\":[{\"call\":\"no-slash\"}]}", &st);
	is_int(st, 400, "scenario: a bad step is refused");
	cJSON_Delete(r);

	r = ctl("POST", "/load", "{\"n\":40,\"window\":4,\"text\":\"价格?\"}", &st);
	is_int(st, 200, "load: started");
	cJSON_Delete(r);
	for (i = 0; i < 200 && replies < 40; i++) {
		p = next_push_opt(w, 2000, 0);
		if (!p)
			break;
		m = item(p, 0, NULL);
		if (jps(m, "1.10.senderUserId") && strcmp(jps(m, "1.10.senderUserId"), UNB)) {
			char uuid[32], cid[32], *body;
			cJSON *resp;

			snprintf(cid, sizeof cid, "%.*s", (int)(strchr(jps(m, "1.2"), '@') - jps(m, "1.2")), jps(m, "1.2"));
			snprintf(uuid, sizeof uuid, "-%d", i);
			body = send_body(uuid, cid, "{\"contentType\":1,\"text\":{\"text\":\"9.9\"}}", jps(m, "1.10.senderUserId"));
			send_req(w, "/r/MessageSend/sendByReceiverScope", NULL, body, uuid);
			free(body);
			resp = NULL;
			(void)resp;
			replies++;
		}
		cJSON_Delete(m);
		cJSON_Delete(p);
	}
	usleep(200000);
	r = ctl("GET", "/load", NULL, NULL);
	if (!ok(jpn(r, "pushed") == 40 && jpn(r, "replied") == 40, "load: 40 pushed, 40 replies matched")) {
		char *t = cJSON_PrintUnformatted(r);

		diag("load: %s (replies sent %d)", t, replies);
		free(t);
	}
	ok(jpn(r, "p50_us") > 0 && jpn(r, "max_us") >= jpn(r, "p99_us"), "load: latency percentiles");
	cJSON_Delete(r);
	tc_ws_close(w, 1000);
}

/* Drops fd with an RST (SO_LINGER 0). */
static void rst_close(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Clients that vanish at every point of an HTTP request on both ports (a bot
 * killed with -9 mid-call): the simulator goes on. Found when a killed bot's
 * half-open mtop connection closed with no pss bound and the simulator
 * crashed freeing through it. */
static void test_abrupt_http(void)
{
	static const char *const reqs[] = {
		"",                                                   /* connect, nothing sent */
		"POST /h5/mtop.x/1.0/ HTTP/1.1\r\nHost: a\r\n",           /* headers cut */
		"POST /h5/mtop.x/1.0/ HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\ndata=",   /* body cut */
		"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n",                /* answered, keep-alive */
	};
	int ports[2] = { sim.port, sim.ctl_port }, alive = 0, total = 0;

	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
			for (int how = 0; how < 2; how++) {
				int fd = tc_tcp_connect(ports[p], 1000), st = 0;
				cJSON *j;

				if (fd < 0)
					continue;
				if (*reqs[i] && write(fd, reqs[i], strlen(reqs[i])) < 0)
					diag("abrupt: write failed");
				if (i == 3)
					tc_tcp_wait(fd, 1000);   /* the response */
				if (how)
					rst_close(fd);
				else
					close(fd);
				usleep(20000);
				total++;
				j = ctl("GET", "/state", NULL, &st);
				alive += st == 200;
				cJSON_Delete(j);
			}
	is_int(alive, total, "http: clients that vanish mid-request (FIN or RST, both ports) leave the simulator running");
}

static void test_control_errors(void)
{
	int st;
	tc_http_resp r;
	cJSON *j;

	j = ctl("GET", "/nothing", NULL, &st);
	is_int(st, 404, "control: unknown endpoint -> 404");
	cJSON_Delete(j);
	ok(tc_http(sim.ctl_port, "POST", "/inject", "Content-Type: application/json\r\n", "{not json", 9, &r, 2000) == 0 &&
	   r.status == 400, "control: a body that is not JSON -> 400");
	tc_http_free(&r);
	j = ctl("POST", "/config", "{\"bogus\":1}", &st);
	ok(st == 400 && sstr(js(j, "error"), "bogus"), "control: an unknown setting is named");
	cJSON_Delete(j);
	j = ctl("POST", "/load", "{\"n\":0}", &st);
	is_int(st, 400, "control: load needs n");
	cJSON_Delete(j);
}

int main(void)
{
	const char *args[] = {"--reg-reject-delay-ms", "200", NULL};
	tc_ws *w;
	int rc;

	snprintf(cookie, sizeof cookie, "cna=abc; unb=%s; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; "
		 "_m_h5_tk_enc=e; t=t1; sgcookie=s", UNB);
	if (!ok(tc_sim_start(&sim, args) == 0, "simulator starts and prints its ports"))
		return tap_done();
	cJSON_Delete(ctl("POST", "/item", "{\"item_id\":\"40004\",\"title\":\"VIP 月卡\",\"price\":990}", NULL));

	test_mtop_sign();
	test_h5tk_rotation();
	test_mtop_modes();
	test_passport_preflight();
	test_passport_qr();
	test_passport_token_verify();
	test_passport_states_faults();
	test_upgrade_and_reg();
	w = session(cookie, DID, NULL);
	ok(w != NULL, "session: token, connect, /reg");
	if (w) {
		test_pushes_chat(w);
		test_pushes_kinds(w);
		test_send(w);
		test_orders_placed_paid(w);
		test_orders_shipped(w);
		tc_ws_close(w, 1000);
	}
	test_acks_and_redelivery();
	test_history();
	test_faults_drops_garbage();
	test_garbage_utf8_once();
	test_faults_stall_refuse();
	test_risk();
	test_kicks();
	test_sent_log();
	test_scenario_and_load();
	test_control_errors();
	test_abrupt_http();
	test_load_item();
	rc = tc_sim_stop(&sim);
	is_int(rc, 0, "simulator exits 0 on SIGTERM");
	return tap_done();
}
