/* SPDX-License-Identifier: MIT */
/*
 * core/login.c - the QR-code login (see login.h), one step at a time on the
 * loop: every request's answer starts the next request or a timer, and at
 * most one request (an HTTP one, or an mtop call) is in flight.
 *
 * The steps (../shared/protocol-account.md §1):
 *   pre-flight  a cookieless mtop call plants _m_h5_tk (§1.1 A1), then
 *               mini_login.htm gives the passport cookies and, in its
 *               window.viewData, the form fields of generate.do; without
 *               viewData they are built by hand (§1.1 B5)
 *   generate    generate.do: t, ck and codeContent (what the QR code holds)
 *   poll        query.do every poll_ms until CONFIRMED, EXPIRED, CANCELED or
 *               ERROR; hasError and unreadable answers are retried, at most
 *               LOGIN_MAX_TRANSIENT in a row; an unknown state is NEW
 *   exchange    login_token/login.do when CONFIRMED carried a token (§1.4 2)
 *   verify      CONFIRMED with iframeRedirect: the seller passes a check; the
 *               page is read for its htoken and check.do is polled until it
 *               passes (§1.5), then its landing page gives the cookies
 *   nav         an mtop call that rotates _m_h5_tk after the login (§1.4 4)
 * and the cookie must then hold unb, cookie2 and _m_h5_tk (§1.4).
 *
 * Every Set-Cookie of every answer is merged into one jar (the mtop
 * client's cookie), except cookies for another domain than goofish.com or
 * mmstat.com.
 */
#include "login.h"
#include "codec.h"
#include "config.h"
#include "http.h"
#include "lwp.h"
#include "mtop.h"
#include "sign.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOGIN_MAX_TRANSIENT 5     /* hasError / unreadable answers in a row before ERROR */
#define LOGIN_MAX_REDIRECTS 5     /* followed by hand on the check's pages */
#define LOGIN_PREFLIGHT_API "mtop.gaia.nodejs.gaia.idle.data.gw.v2.index.get"
#define LOGIN_NAV_API "mtop.idle.web.user.page.nav"

/* What the request in flight is for. */
typedef enum {
	STEP_PRE_MTOP, STEP_PRE_PAGE, STEP_GENERATE, STEP_POLL, STEP_EXCHANGE,
	STEP_VERIFY_PAGE, STEP_VERIFY_CHECK, STEP_VERIFY_LANDING, STEP_NAV
} login_step;

struct login {
	login_opts o;
	char *passport_url, *api_url;
	login_state state;
	login_step step;
	mtop_ctx mt;                 /* its cookie is the jar */
	mtop_call *mc;
	http_req *req;
	cJSON *fields;               /* generate.do's fields (strings) */
	char t[32], ck[512];
	char *code_url;
	char *verify_url;
	char *page_url;              /* the check's page being read (redirects followed) */
	char htoken[256];
	int redirects;
	int transients;
	char unb[64];
	char msg_zh[400], msg_en[400];
	login_stats stats;
	lws_sorted_usec_list_t sul_next, sul_timeout;
};

static void step_preflight_page(login *l);
static void step_generate(login *l);
static void step_poll(login *l);
static void step_nav(login *l);

const char *login_state_name(login_state st)
{
	static const char *const n[] = { "IDLE", "NEW", "SCANED", "CONFIRMED", "VERIFY", "EXPIRED", "CANCELED",
					 "ERROR", "DONE" };

	return st <= LOGIN_DONE ? n[st] : "ERROR";
}

int login_state_final(login_state st)
{
	return st == LOGIN_EXPIRED || st == LOGIN_CANCELED || st == LOGIN_ERROR || st == LOGIN_DONE;
}

/* The fixed message of a state, in both languages. */
static void set_message(login *l, login_state st)
{
	static const char *const zh[] = {
		"", "请用闲鱼 App 扫描二维码", "已扫码，请在手机上确认登录", "已确认，正在获取登录信息",
		"闲鱼要求安全验证：请在手机上完成验证，或打开验证链接", "二维码已过期，请重新生成",
		"已取消登录", "登录失败", "登录成功" };
	static const char *const en[] = {
		"", "Scan the QR code with the Xianyu app", "Scanned: confirm the login on the phone",
		"Confirmed: collecting the login", "Xianyu asks for a security check: finish it on the phone, "
		"or open the verification link", "The QR code expired: make a new one", "The login was cancelled",
		"The login failed", "Logged in" };

	snprintf(l->msg_zh, sizeof l->msg_zh, "%s", zh[st]);
	snprintf(l->msg_en, sizeof l->msg_en, "%s", en[st]);
}

/* Moves to st (with its fixed message unless the caller set one) and tells
 * the owner. A final state stops the timers and whatever is in flight. */
static void set_state(login *l, login_state st, int keep_message)
{
	if (!keep_message)
		set_message(l, st);
	l->state = st;
	if (login_state_final(st)) {
		lws_sul_cancel(&l->sul_next);
		lws_sul_cancel(&l->sul_timeout);
		http_cancel(l->req);
		l->req = NULL;
		mtop_cancel(l->mc);
		l->mc = NULL;
	}
	if (l->o.on_state)
		l->o.on_state(l->o.ud, l);
}

/* Fails the login with why (English, no secret) after the Chinese text zh. */
static void fail(login *l, const char *zh, const char *why)
{
	snprintf(l->msg_zh, sizeof l->msg_zh, "登录失败：%s", zh);
	snprintf(l->msg_en, sizeof l->msg_en, "The login failed: %s", why);
	set_state(l, LOGIN_ERROR, 1);
}

/* Whether a Set-Cookie value is for a domain the account keeps: no Domain
 * attribute (the answering host's), or one under goofish.com or mmstat.com. */
static int cookie_domain_ok(const char *sc)
{
	const char *p = strchr(sc, ';');

	while (p) {
		p++;
		while (*p == ' ')
			p++;
		if (!strncasecmp(p, "domain=", 7)) {
			const char *d = p + 7, *e = strchr(d, ';');
			size_t n = e ? (size_t)(e - d) : strlen(d);
			static const char *const ok[] = { "goofish.com", "mmstat.com" };

			for (size_t i = 0; i < 2; i++) {
				size_t k = strlen(ok[i]);

				if (n >= k && !strncasecmp(d + n - k, ok[i], k) &&
				    (n == k || d[n - k - 1] == '.'))
					return 1;
			}
			/* a test platform on 127.0.0.1 may name its own host */
			return n == 9 && !strncmp(d, "127.0.0.1", 9);
		}
		p = strchr(p, ';');
	}
	return 1;
}

/* Merges the answer's Set-Cookie values of a kept domain into the jar. */
static void jar_merge(login *l, const http_resp *r)
{
	for (int i = 0; i < r->n_set_cookies; i++) {
		char *n;

		if (!cookie_domain_ok(r->set_cookies[i]))
			continue;
		n = cookie_merge(l->mt.cookie, r->set_cookies[i]);
		if (n) {
			explicit_bzero(l->mt.cookie, strlen(l->mt.cookie));
			free(l->mt.cookie);
			l->mt.cookie = n;
		}
	}
}

/* The value of cookie name in the jar into out ("" when absent). */
static void jar_get(const login *l, const char *name, char *out, size_t n)
{
	char *v = cookie_get(l->mt.cookie, name);

	snprintf(out, n, "%s", v ? v : "");
	free(v);
}

/* The headers of a passport request (a browser's), with the jar. */
static void passport_headers(login *l, sbuf *h, int form, int xhr)
{
	sbuf_addf(h, "User-Agent: %s\r\nAccept: application/json, text/plain, */*\r\n"
		  "Origin: https://passport.goofish.com\r\nReferer: https://passport.goofish.com/\r\n", LWP_UA);
	if (form)
		sbuf_adds(h, "Content-Type: application/x-www-form-urlencoded\r\n");
	if (xhr)
		sbuf_adds(h, "X-Requested-With: XMLHttpRequest\r\n");
	if (*l->mt.cookie)
		sbuf_addf(h, "Cookie: %s\r\n", l->mt.cookie);
}

static void on_http(void *ud, const http_resp *r);

/* Starts method url (body for a POST) as the step's request. 0, or -1 (the
 * login failed: a request that cannot start). */
static int request(login *l, login_step step, const char *method, const char *url, const char *body, int form,
		   int xhr)
{
	sbuf h = { 0 };

	l->step = step;
	passport_headers(l, &h, form, xhr);
	if (!h.oom)
		l->req = http_request(l->o.ctx, l->o.vh, method, url, h.p, body ? body : "", body ? strlen(body) : 0,
				      l->o.request_timeout_s, l->o.tls_verify, on_http, l);
	if (h.p)
		explicit_bzero(h.p, h.len);
	sbuf_free(&h);
	if (!l->req) {
		fail(l, "无法发起请求", "a request could not be started");
		return -1;
	}
	return 0;
}

/* The generate fields (and extra pairs, "&k=v" already encoded) as a form. */
static void fields_form(const login *l, sbuf *b)
{
	const cJSON *f;
	int first = 1;

	cJSON_ArrayForEach(f, l->fields) {
		if (!cJSON_IsString(f))
			continue;
		if (!first)
			sbuf_adds(b, "&");
		first = 0;
		util_urlencode(b, f->string, strlen(f->string));
		sbuf_adds(b, "=");
		util_urlencode(b, f->valuestring, strlen(f->valuestring));
	}
}

/* Sets field k to the string v (replacing it). */
static void field_set(login *l, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(l->fields, k);
	cJSON_AddStringToObject(l->fields, k, v);
}

/* --- the timers ------------------------------------------------------------- */

/* login.timeout_s passed: the login gives up (EXPIRED, as the code would). */
static void timeout_cb(lws_sorted_usec_list_t *sul)
{
	login *l = lws_container_of(sul, login, sul_timeout);

	snprintf(l->msg_zh, sizeof l->msg_zh, "等待超时，二维码已失效，请重新生成");
	snprintf(l->msg_en, sizeof l->msg_en, "No login within %d s: the QR code is no longer valid, make a new one",
		 l->o.timeout_s);
	set_state(l, LOGIN_EXPIRED, 1);
}

/* (Re)arms the whole login's time limit. */
static void arm_timeout(login *l)
{
	lws_sul_schedule(l->o.ctx, 0, &l->sul_timeout, timeout_cb, (lws_usec_t)l->o.timeout_s * LWS_US_PER_SEC);
}

/* The next poll (query.do or check.do) is due. */
static void next_cb(lws_sorted_usec_list_t *sul)
{
	login *l = lws_container_of(sul, login, sul_next);
	char url[1400];

	if (login_state_final(l->state))
		return;
	if (l->state == LOGIN_VERIFY) {
		sbuf u = { 0 };

		sbuf_addf(&u, "%siv/photoVerify/check.do?htoken=", l->passport_url);
		util_urlencode(&u, l->htoken, strlen(l->htoken));
		snprintf(url, sizeof url, "%s", u.oom ? "" : u.p);
		sbuf_free(&u);
		l->stats.checks++;
		request(l, STEP_VERIFY_CHECK, "GET", url, NULL, 0, 1);
		return;
	}
	step_poll(l);
}

/* Polls again in poll_ms (at once for a transient error's retry). */
static void poll_later(login *l, int now)
{
	lws_sul_schedule(l->o.ctx, 0, &l->sul_next, next_cb,
			 now ? 1 : (lws_usec_t)l->o.poll_ms * LWS_US_PER_MS);
}

/* A transient failure of a poll (hasError, an unreadable answer): retried at
 * once, the LOGIN_MAX_TRANSIENT-th in a row fails the login with why. */
static void transient(login *l, const char *why)
{
	l->stats.transients++;
	if (++l->transients >= LOGIN_MAX_TRANSIENT) {
		char m[300];

		snprintf(m, sizeof m, "%d failed answers in a row from the passport service (last: %s)",
			 l->transients, why);
		fail(l, "闲鱼登录服务连续出错，请稍后重试", m);
		return;
	}
	poll_later(l, 1);
}

/* --- the steps ----------------------------------------------------------- */

/* The cookieless mtop call answered (its Set-Cookie planted _m_h5_tk, merged
 * by mtop into the jar); whatever it says, the page comes next. */
static void on_preflight_mtop(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	login *l = ud;

	(void)res, (void)ret, (void)data, (void)why;
	l->mc = NULL;
	step_preflight_page(l);
}

/* mini_login.htm with the query of §1.1 A3. */
static void step_preflight_page(login *l)
{
	char url[1200];

	snprintf(url, sizeof url, "%smini_login.htm?lang=zh_cn&appName=xianyu&appEntrance=web&styleType=vertical"
		 "&bizParams=&notLoadSsoView=false&notKeepLogin=false&isMobile=false&qrCodeFirst=false&stie=77&rnd=%u",
		 l->passport_url, (unsigned)(util_mono_us() & 0xffffff));
	request(l, STEP_PRE_PAGE, "GET", url, NULL, 0, 0);
}

/* The form fields from the page's window.viewData.loginFormData (strings and
 * numbers kept as strings); 0, or -1 when the page has none. */
static int fields_from_page(login *l, const char *html)
{
	const char *p = strstr(html, "window.viewData"), *end = NULL;
	cJSON *vd, *lfd, *f;

	if (!p || !(p = strchr(p, '=')))
		return -1;
	vd = cJSON_ParseWithOpts(p + 1, &end, 0);
	lfd = cJSON_GetObjectItemCaseSensitive(vd, "loginFormData");
	if (!cJSON_IsObject(lfd)) {
		cJSON_Delete(vd);
		return -1;
	}
	cJSON_ArrayForEach(f, lfd) {
		char num[32];

		if (cJSON_IsString(f)) {
			field_set(l, f->string, f->valuestring);
		} else if (cJSON_IsNumber(f)) {
			snprintf(num, sizeof num, "%.0f", f->valuedouble);
			field_set(l, f->string, num);
		} else if (cJSON_IsBool(f)) {
			field_set(l, f->string, cJSON_IsTrue(f) ? "true" : "false");
		}
	}
	cJSON_Delete(vd);
	return 0;
}

/* The fields built by hand (§1.1 B5) from the passport cookies. */
static void fields_by_hand(login *l)
{
	char xsrf[256], c2[256];

	jar_get(l, "XSRF-TOKEN", xsrf, sizeof xsrf);
	jar_get(l, "cookie2", c2, sizeof c2);
	field_set(l, "appName", "xianyu");
	field_set(l, "fromSite", "77");
	field_set(l, "appEntrance", "web");
	field_set(l, "_csrf_token", xsrf);
	field_set(l, "umidToken", "");
	field_set(l, "hsiz", c2);
	field_set(l, "bizParams", "taobaoBizLoginFrom=web&renderRefer=https%3A%2F%2Fwww.goofish.com%2F");
	field_set(l, "mainPage", "false");
	field_set(l, "isMobile", "false");
	field_set(l, "lang", "zh_CN");
	field_set(l, "returnUrl", "");
}

/* generate.do with the fields. */
static void step_generate(login *l)
{
	sbuf u = { 0 };

	field_set(l, "umidTag", "SERVER");
	sbuf_addf(&u, "%snewlogin/qrcode/generate.do?", l->passport_url);
	fields_form(l, &u);
	if (u.oom)
		fail(l, "内存不足", "out of memory");
	else
		request(l, STEP_GENERATE, "GET", u.p, NULL, 0, 0);
	sbuf_free(&u);
}

/* query.do with the fields, t and ck (§1.3). */
static void step_poll(login *l)
{
	sbuf u = { 0 }, b = { 0 };
	char cna[128];

	jar_get(l, "cna", cna, sizeof cna);
	sbuf_addf(&u, "%snewlogin/qrcode/query.do?appName=xianyu&fromSite=77", l->passport_url);
	fields_form(l, &b);
	sbuf_adds(&b, "&t=");
	util_urlencode(&b, l->t, strlen(l->t));
	sbuf_adds(&b, "&ck=");
	util_urlencode(&b, l->ck, strlen(l->ck));
	sbuf_adds(&b, "&navlanguage=zh-CN&navPlatform=Win32&isIframe=true&defaultView=qrcode"
		  "&documentReferer=https%3A%2F%2Fwww.goofish.com%2F&navUserAgent=");
	util_urlencode(&b, LWP_UA, strlen(LWP_UA));
	sbuf_adds(&b, "&deviceId=");
	util_urlencode(&b, cna, strlen(cna));
	l->stats.polls++;
	if (u.oom || b.oom)
		fail(l, "内存不足", "out of memory");
	else
		request(l, STEP_POLL, "POST", u.p, b.p, 1, 0);
	sbuf_free(&u);
	sbuf_free(&b);
}

/* The token exchange of §1.4 step 2. */
static void step_exchange(login *l, const char *token)
{
	sbuf u = { 0 }, b = { 0 };
	char cna[128];

	jar_get(l, "cna", cna, sizeof cna);
	sbuf_addf(&u, "%slogin_token/login.do?token=", l->passport_url);
	util_urlencode(&u, token, strlen(token));
	sbuf_adds(&u, "&subFlow=DIALOG_CHECK_LOGIN_RPC&nextCode=0018&bizScene=qrcode&confirm=true");
	sbuf_adds(&b, "deviceId=");
	util_urlencode(&b, cna, strlen(cna));
	l->stats.exchanges++;
	if (u.oom || b.oom)
		fail(l, "内存不足", "out of memory");
	else
		request(l, STEP_EXCHANGE, "POST", u.p, b.p, 1, 0);
	sbuf_free(&u);
	sbuf_free(&b);
}

/* The mtop call that rotates _m_h5_tk after the login (§1.4 step 4). */
static void on_nav(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why);

static void step_nav(login *l)
{
	l->step = STEP_NAV;
	l->mc = mtop_start(&l->mt, LOGIN_NAV_API, "{}", on_nav, l);
	if (!l->mc)
		fail(l, "无法发起请求", "a request could not be started");
}

/* The end: the cookie must hold unb, cookie2 and _m_h5_tk (§1.4), checked
 * as every new cookie is (login_cookie_check). */
static void finish(login *l)
{
	const char *why = login_cookie_check(l->mt.cookie, NULL, l->unb);

	if (why) {
		char m[400];

		snprintf(m, sizeof m, "the platform confirmed the login but %s; finish any security check in the "
			 "Xianyu app and scan again", why);
		fail(l, "登录已确认，但登录信息不完整（请在闲鱼 App 完成安全验证后重新扫码）", m);
		return;
	}
	set_state(l, LOGIN_DONE, 0);
}

static void on_nav(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	login *l = ud;

	(void)res, (void)ret, (void)data, (void)why;
	l->mc = NULL;
	finish(l);
}

/* An absolute URL for location, relative to the page base (its scheme and
 * host); malloc'd, NULL on OOM. */
static char *url_join(const char *base, const char *location)
{
	const char *p;
	sbuf b = { 0 };

	if (!strncmp(location, "http://", 7) || !strncmp(location, "https://", 8))
		return strdup(location);
	p = strstr(base, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	sbuf_add(&b, base, p ? (size_t)(p - base) : strlen(base));
	if (*location != '/')
		sbuf_adds(&b, "/");
	sbuf_adds(&b, location);
	return sbuf_take(&b);
}

/* Reads page_url (a step of the check), following redirects by hand. */
static void get_page(login *l, login_step step)
{
	request(l, step, "GET", l->page_url, NULL, 0, 0);
}

/* Finds "htoken=<value>" in s into l->htoken; 0, or -1 when absent. */
static int find_htoken(login *l, const char *s)
{
	const char *p = s ? strstr(s, "htoken=") : NULL;
	size_t n;

	if (!p)
		return -1;
	p += 7;
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.%");
	if (!n || n >= sizeof l->htoken)
		return -1;
	memcpy(l->htoken, p, n);
	l->htoken[n] = '\0';
	return 0;
}

/* CONFIRMED with iframeRedirect: the security check (§1.5). The seller sees
 * the address; the page is read for its htoken, then check.do is polled. */
static void step_verify(login *l, const char *url)
{
	free(l->verify_url);
	free(l->page_url);
	l->verify_url = strdup(url);
	l->page_url = strdup(url);
	l->redirects = 0;
	l->transients = 0;
	if (!l->verify_url || !l->page_url) {
		fail(l, "内存不足", "out of memory");
		return;
	}
	arm_timeout(l);   /* the check has its own window (§1.5) */
	set_state(l, LOGIN_VERIFY, 0);
	if (l->state == LOGIN_VERIFY)
		get_page(l, STEP_VERIFY_PAGE);
}

/* A page of the check was read (STEP_VERIFY_PAGE / STEP_VERIFY_LANDING): a
 * redirect is followed; the check's page gives the htoken and check.do
 * polling starts; the landing page after a passed check ends the login. */
static void on_page(login *l, const http_resp *r)
{
	if (r->status >= 300 && r->status < 400 && r->location && *r->location) {
		char *next;

		if (++l->redirects > LOGIN_MAX_REDIRECTS) {
			fail(l, "安全验证页面跳转过多", "the security check's pages redirect too often");
			return;
		}
		find_htoken(l, r->location);
		next = url_join(l->page_url, r->location);
		if (!next) {
			fail(l, "内存不足", "out of memory");
			return;
		}
		free(l->page_url);
		l->page_url = next;
		get_page(l, l->step);
		return;
	}
	if (l->step == STEP_VERIFY_LANDING) {
		step_nav(l);
		return;
	}
	if (!l->htoken[0] && find_htoken(l, l->page_url) && find_htoken(l, r->body)) {
		/* nothing to poll: the seller finishes the check elsewhere and scans again */
		snprintf(l->msg_zh, sizeof l->msg_zh, "闲鱼要求安全验证：请打开验证链接完成验证，然后重新扫码");
		snprintf(l->msg_en, sizeof l->msg_en, "Xianyu asks for a security check: open the verification "
			 "link, pass it, then scan a new code");
		set_state(l, LOGIN_VERIFY, 1);
		return;
	}
	poll_later(l, 0);
}

/* check.do answered: code "3" passed (content.url is the landing page),
 * "0" waits; anything else is waited on too, until the time limit. */
static void on_check(login *l, const cJSON *j)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(c, "code");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(c, "url");
	int passed = (cJSON_IsString(code) && !strcmp(code->valuestring, "3")) ||
		     (cJSON_IsNumber(code) && code->valueint == 3);

	if (!passed) {
		poll_later(l, 0);
		return;
	}
	if (!cJSON_IsString(url) || !*url->valuestring) {
		step_nav(l);
		return;
	}
	free(l->page_url);
	l->page_url = url_join(l->page_url ? l->page_url : l->passport_url, url->valuestring);
	l->redirects = 0;
	if (!l->page_url) {
		fail(l, "内存不足", "out of memory");
		return;
	}
	set_state(l, LOGIN_CONFIRMED, 0);
	get_page(l, STEP_VERIFY_LANDING);
}

/* query.do's answer (§1.3): the state, and on CONFIRMED the next step. */
static void on_poll(login *l, const cJSON *j)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "content"), "data");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(data, "qrCodeStatus");
	const cJSON *ifr = cJSON_GetObjectItemCaseSensitive(data, "iframeRedirect");
	const cJSON *ifu = cJSON_GetObjectItemCaseSensitive(data, "iframeRedirectUrl");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(data, "token");
	const char *s = cJSON_IsString(st) ? st->valuestring : "";

	l->transients = 0;
	if (!strcmp(s, "SCANED") || !strcmp(s, "SCANNED")) {
		if (l->state != LOGIN_SCANED)
			set_state(l, LOGIN_SCANED, 0);
		poll_later(l, 0);
	} else if (!strcmp(s, "CONFIRMED")) {
		if (!cJSON_IsString(tok) || !*tok->valuestring)
			tok = cJSON_GetObjectItemCaseSensitive(data, "lgToken");
		if ((cJSON_IsTrue(ifr) || (cJSON_IsString(ifr) && !strcmp(ifr->valuestring, "true"))) &&
		    cJSON_IsString(ifu) && *ifu->valuestring) {
			step_verify(l, ifu->valuestring);
			return;
		}
		set_state(l, LOGIN_CONFIRMED, 0);
		if (l->state != LOGIN_CONFIRMED)
			return;
		if (cJSON_IsString(tok) && *tok->valuestring)
			step_exchange(l, tok->valuestring);
		else
			step_nav(l);
	} else if (!strcmp(s, "EXPIRED")) {
		set_state(l, LOGIN_EXPIRED, 0);
	} else if (!strcmp(s, "CANCELED") || !strcmp(s, "CANCELLED")) {
		snprintf(l->msg_zh, sizeof l->msg_zh, "已在手机上取消登录");
		snprintf(l->msg_en, sizeof l->msg_en, "The login was cancelled on the phone");
		set_state(l, LOGIN_CANCELED, 1);
	} else if (!strcmp(s, "ERROR")) {
		const cJSON *tm = cJSON_GetObjectItemCaseSensitive(data, "titleMsg");
		char m[300];

		snprintf(m, sizeof m, "the passport service answered ERROR%s%.200s", cJSON_IsString(tm) ? ": " : "",
			 cJSON_IsString(tm) ? tm->valuestring : "");
		fail(l, "闲鱼登录服务报错，请重新生成二维码", m);
	} else {
		/* NEW, or a state nobody has seen: keep waiting (§1.3) */
		poll_later(l, 0);
	}
}

/* generate.do's answer (§1.2): t, ck and the code's content. */
static void on_generate(login *l, const cJSON *j)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(c, "data");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "t");
	const cJSON *ck = cJSON_GetObjectItemCaseSensitive(data, "ck");
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(data, "codeContent");

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "success")) || !cJSON_IsString(ck) ||
	    !cJSON_IsString(cc) || !*cc->valuestring || strlen(ck->valuestring) >= sizeof l->ck ||
	    !(cJSON_IsNumber(t) || cJSON_IsString(t))) {
		fail(l, "无法生成二维码", "generate.do gave no code (content.success, t, ck, codeContent)");
		return;
	}
	/* t goes back as a plain integer, never in exponent form (§1.2) */
	if (cJSON_IsNumber(t))
		snprintf(l->t, sizeof l->t, "%lld", (long long)t->valuedouble);
	else
		snprintf(l->t, sizeof l->t, "%s", t->valuestring);
	snprintf(l->ck, sizeof l->ck, "%s", ck->valuestring);
	free(l->code_url);
	if (!(l->code_url = strdup(cc->valuestring))) {
		fail(l, "内存不足", "out of memory");
		return;
	}
	set_state(l, LOGIN_NEW, 0);
	if (l->state == LOGIN_NEW)
		poll_later(l, 0);
}

/* Every HTTP answer: Set-Cookie into the jar, then the step's handler. An
 * answer that is not JSON fails a step outside the polls (those retry). */
static void on_http(void *ud, const http_resp *r)
{
	login *l = ud;
	const char *err = NULL;
	cJSON *j = NULL;
	char why[200];
	int polling = l->step == STEP_POLL || l->step == STEP_VERIFY_CHECK;

	l->req = NULL;
	jar_merge(l, r);
	if (l->step == STEP_PRE_PAGE) {
		/* the page's form fields, else by hand: either way generate next */
		if (r->error || r->status != 200 || fields_from_page(l, r->body))
			fields_by_hand(l);
		step_generate(l);
		return;
	}
	if (l->step == STEP_VERIFY_PAGE || l->step == STEP_VERIFY_LANDING) {
		if (r->error || r->status >= 400) {
			if (r->error)
				snprintf(why, sizeof why, "the security check's page: %s", r->error);
			else
				snprintf(why, sizeof why, "the security check's page answered HTTP %d", r->status);
			fail(l, "无法打开安全验证页面", why);
			return;
		}
		on_page(l, r);
		return;
	}
	if (r->error)
		snprintf(why, sizeof why, "%s", r->error);
	else if (r->status != 200)
		snprintf(why, sizeof why, "HTTP %d", r->status);
	else if (!cJSON_IsObject(j = codec_json_parse(r->body, r->body_len, &err)))
		snprintf(why, sizeof why, "the answer is not JSON (%s)", err ? err : "not an object");
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "hasError")))
		snprintf(why, sizeof why, "hasError");
	else
		why[0] = '\0';
	if (why[0]) {
		cJSON_Delete(j);
		if (polling) {
			transient(l, why);
		} else {
			char m[300];

			snprintf(m, sizeof m, "%s: %s", l->step == STEP_GENERATE ? "generate.do" : "login_token/login.do",
				 why);
			fail(l, "闲鱼登录服务无法使用，请稍后重试", m);
		}
		return;
	}
	switch (l->step) {
	case STEP_GENERATE:
		on_generate(l, j);
		break;
	case STEP_POLL:
		on_poll(l, j);
		break;
	case STEP_EXCHANGE:
		step_nav(l);
		break;
	case STEP_VERIFY_CHECK:
		l->transients = 0;
		on_check(l, j);
		break;
	default:
		break;
	}
	cJSON_Delete(j);
}

/* --- the API -------------------------------------------------------------- */

const char *login_cookie_check(const char *cookie, const char *account_unb, char unb_out[64])
{
	static const char *const need[] = { "cookie2", "_m_h5_tk" };
	const char *why;
	char *unb = NULL, *v;

	unb_out[0] = '\0';
	if (!cookie)
		return "no cookie given";
	if (strlen(cookie) > CONFIG_MAX_COOKIE)
		return "the cookie is too long";
	if ((why = config_cookie_check(cookie, &unb)))
		return why;
	if (strlen(unb) >= 64) {
		free(unb);
		return "the cookie's unb is too long";
	}
	snprintf(unb_out, 64, "%s", unb);
	free(unb);
	for (size_t i = 0; i < 2; i++) {
		v = cookie_get(cookie, need[i]);
		if (!v || !*v) {
			free(v);
			unb_out[0] = '\0';
			return i == 0 ? "the cookie has no cookie2 (the login session): copy the whole cookie of a "
					"logged-in goofish.com page, or log in by QR code"
				      : "the cookie has no _m_h5_tk (the request token): copy the whole cookie of a "
					"logged-in goofish.com page, or log in by QR code";
		}
		free(v);
	}
	if (account_unb && *account_unb && strcmp(account_unb, unb_out)) {
		unb_out[0] = '\0';
		return "the cookie is another account's (its unb is not this account's): log in with the "
		       "seller account of this config";
	}
	return NULL;
}


login *login_start(const login_opts *o)
{
	login *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->o = *o;
	l->passport_url = strdup(o->passport_url);
	l->api_url = strdup(o->api_url);
	l->fields = cJSON_CreateObject();
	l->mt.cookie = strdup("");
	if (!l->passport_url || !l->api_url || !l->fields || !l->mt.cookie) {
		login_free(l);
		return NULL;
	}
	l->mt.ctx = o->ctx;
	l->mt.vh = o->vh;
	l->mt.api_url = l->api_url;
	l->mt.tls_verify = o->tls_verify;
	l->mt.timeout_s = o->request_timeout_s;
	l->o.on_state = NULL;    /* no call back from inside login_start */
	l->state = LOGIN_NEW;
	snprintf(l->msg_zh, sizeof l->msg_zh, "正在生成二维码…");
	snprintf(l->msg_en, sizeof l->msg_en, "Making the QR code...");
	arm_timeout(l);
	l->step = STEP_PRE_MTOP;
	l->mc = mtop_start(&l->mt, LOGIN_PREFLIGHT_API, "{\"bizScene\":\"home\"}", on_preflight_mtop, l);
	l->o.on_state = o->on_state;
	if (!l->mc) {
		login_free(l);
		return NULL;
	}
	return l;
}

void login_cancel(login *l)
{
	if (!l || login_state_final(l->state))
		return;
	set_state(l, LOGIN_CANCELED, 0);
}

void login_free(login *l)
{
	if (!l)
		return;
	lws_sul_cancel(&l->sul_next);
	lws_sul_cancel(&l->sul_timeout);
	http_cancel(l->req);
	mtop_cancel(l->mc);
	if (l->mt.cookie) {
		explicit_bzero(l->mt.cookie, strlen(l->mt.cookie));
		free(l->mt.cookie);
	}
	cJSON_Delete(l->fields);
	free(l->passport_url);
	free(l->api_url);
	free(l->code_url);
	free(l->verify_url);
	free(l->page_url);
	free(l);
}

login_state login_get_state(const login *l)
{
	return l ? l->state : LOGIN_IDLE;
}

const char *login_code_url(const login *l)
{
	return l && l->code_url ? l->code_url : "";
}

const char *login_message(const login *l, int zh)
{
	return !l ? "" : zh ? l->msg_zh : l->msg_en;
}

const char *login_verify_url(const login *l)
{
	return l && l->state == LOGIN_VERIFY && l->verify_url ? l->verify_url : "";
}

const char *login_unb(const login *l)
{
	return l && l->state == LOGIN_DONE ? l->unb : "";
}

const char *login_cookie(const login *l)
{
	return l && l->state == LOGIN_DONE ? l->mt.cookie : NULL;
}

const login_stats *login_get_stats(const login *l)
{
	return &l->stats;
}
