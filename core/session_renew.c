/* SPDX-License-Identifier: MIT */
/*
 * core/session_renew.c - the keep-alive of the web session (see
 * session_int.h; shared/protocol-account.md §3): every
 * session.renew_min_s..renew_max_s (random in between) one renewal runs,
 * its calls one after another:
 *
 *   1. passport hasLogin.do (the login-state check; its Set-Cookie rotates
 *      sgcookie, csg, ...);
 *   2. mtop loginuser.get (alive; refreshes _m_h5_tk through mtop's retry);
 *   3. with session.long_login, once a day, passport setLoginSettings.do
 *      status=0 (the 30-day havana_lgc2_77 "keep me logged in" cookies).
 *
 * Every Set-Cookie goes through mtop_merge_set_cookies into the signed
 * client's cookie (deletions skipped, a foreign unb refused), which saves it
 * sealed (session_cookie_saved). At most one renewal is in flight: the next
 * is scheduled only when one ends. A failed renewal is tried again sooner,
 * doubling from half of renew_min_s (at most 60 s) up to renew_max_s: never
 * more often than once per that first delay, so no storm. A renewal that
 * says the login is dead (hasLogin success:false twice in a row,
 * FAIL_SYS_SESSION_EXPIRED) makes it FAILED (login); a risk answer (also in
 * a passport answer, with its punish URL) FAILED (risk), both through
 * session_fail_platform. While FAILED no renewal calls are made.
 */
#include "session_int.h"
#include "http.h"
#include "log.h"
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGINUSER_API "mtop.taobao.idlemessage.pc.loginuser.get"
#define RENEW_RETRY_MAX_MS 60000      /* the first retry after a failure, at most */
#define RENEW_CONFIRM_MS 5000         /* hasLogin said not logged in: asked once more after this */
#define RENEW_LONG_LOGIN_MS (24LL * 3600 * 1000)   /* setLoginSettings.do at most this often */

enum { RN_IDLE, RN_HASLOGIN, RN_LOGINUSER, RN_SETTINGS };

static void renew_cb(lws_sorted_usec_list_t *sul);

/* Schedules the next renewal in ms (0 or less: not at all, keep-alive off). */
static void renew_at(session *s, int64_t ms)
{
	lws_sul_cancel(&s->ren.sul);
	if (ms <= 0 || s->stop.active) {
		s->ren.next_ms = 0;
		return;
	}
	s->ren.next_ms = util_now_ms() + ms;
	lws_sul_schedule(s->ctx, 0, &s->ren.sul, renew_cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

/* The normal delay: random in renew_min_s..renew_max_s, in ms; 0 when off. */
static int64_t renew_delay(const session *s)
{
	int64_t lo = (int64_t)s->cfg->renew_min_s * 1000, hi = (int64_t)s->cfg->renew_max_s * 1000;

	if (lo <= 0 || hi < lo)
		return 0;
	return lo + randombytes_uniform((uint32_t)(hi - lo + 1));
}

/* The delay after the fails-th failure in a row: half of renew_min_s (at
 * most RENEW_RETRY_MAX_MS), doubled per failure, at most renew_max_s, with
 * up to 20% taken off at random. 0 when off. */
static int64_t renew_retry_delay(const session *s)
{
	int64_t base = (int64_t)s->cfg->renew_min_s * 500, cap = (int64_t)s->cfg->renew_max_s * 1000, d;
	int k = s->ren.fails > 1 ? s->ren.fails - 1 : 0;

	if (base <= 0 || cap <= 0)
		return 0;
	if (base > RENEW_RETRY_MAX_MS)
		base = RENEW_RETRY_MAX_MS;
	d = base << (k > 20 ? 20 : k);
	if (d > cap)
		d = cap;
	return d - randombytes_uniform((uint32_t)(d / 5 + 1));
}

/* The renewal ended well: counted, the next one at the normal delay. */
static void renew_done(session *s)
{
	s->ren.step = RN_IDLE;
	s->ren.fails = 0;
	s->ren.not_logged_in = 0;
	s->ren.last_ms = util_now_ms();
	s->m.renewals++;
	log_info("session", "session renewed (%lld so far)", (long long)s->m.renewals);
	renew_at(s, renew_delay(s));
}

/* The renewal failed for why (not a dead login): counted, tried again after
 * the retry delay. */
static void renew_failed(session *s, const char *why)
{
	int64_t d;

	s->ren.step = RN_IDLE;
	s->ren.fails++;
	s->m.renew_failures++;
	d = renew_retry_delay(s);
	log_warn("session", "session renewal failed: %s; next try in %lld s", why, (long long)(d / 1000));
	renew_at(s, d);
}

/* The renewal says the login is dead or hit risk control (res
 * MTOP_SESSION_EXPIRED or MTOP_RISK; data may hold the punish URL): FAILED
 * of that kind, as for any call of the session (session_fail_platform: once,
 * whoever saw it first); renewals wait (renew_cb skips a FAILED session) at
 * the normal delay. */
static void renew_dead(session *s, mtop_result res, const char *detail, const cJSON *data)
{
	s->ren.step = RN_IDLE;
	s->ren.not_logged_in = 0;
	s->m.renew_failures++;
	renew_at(s, renew_delay(s));
	session_fail_platform(s, res, detail, data);
}

static void renew_step(session *s, int step);

/* A passport answer (hasLogin.do or setLoginSettings.do; ud is the
 * session): the Set-Cookie merged, then content.success decides. */
static void on_passport(void *ud, const http_resp *r)
{
	session *s = ud;
	int step = s->ren.step;
	const char *what = step == RN_SETTINGS ? "setLoginSettings" : "hasLogin";
	cJSON *env = NULL;
	const cJSON *content, *succ;
	char why[200];

	s->ren.req = NULL;
	if (r->error) {
		snprintf(why, sizeof why, "%s: %s", what, r->error);
		renew_failed(s, why);
		return;
	}
	if (mtop_merge_set_cookies(&s->tok.mt, r->set_cookies, r->n_set_cookies) < 0) {
		log_err("session", "%s: the answer's Set-Cookie names another account (unb): none of its cookies taken", what);
		snprintf(why, sizeof why, "%s: the answer is for another account (unb)", what);
		renew_failed(s, why);
		return;
	}
	env = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
	content = cJSON_GetObjectItemCaseSensitive(env, "content");
	if (r->body && mtop_is_risk_text(r->body)) {
		/* the punish URL where the answer gives one: content.data.url or data.url */
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(content, "data");

		if (!cJSON_GetObjectItemCaseSensitive(data, "url"))
			data = cJSON_GetObjectItemCaseSensitive(env, "data");
		snprintf(why, sizeof why, "%s (renewal)", what);
		renew_dead(s, MTOP_RISK, why, data);
		cJSON_Delete(env);
		return;
	}
	succ = cJSON_GetObjectItemCaseSensitive(content, "success");
	if (!cJSON_IsBool(succ) || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "hasError"))) {
		if (r->status != 200)
			snprintf(why, sizeof why, "%s: HTTP %d", what, r->status);
		else
			snprintf(why, sizeof why, "%s: %s", what, env ? "hasError, or no content.success" : "not JSON");
		cJSON_Delete(env);
		renew_failed(s, why);
		return;
	}
	cJSON_Delete(env);
	if (step == RN_SETTINGS) {
		/* the long login is a bonus: the session itself was renewed */
		if (cJSON_IsTrue(succ))
			s->ren.long_login_ms = util_now_ms();
		else
			log_warn("session", "setLoginSettings (long login) answered success:false; tried again at the next renewal");
		renew_done(s);
		return;
	}
	if (cJSON_IsTrue(succ)) {
		s->ren.not_logged_in = 0;
		renew_step(s, RN_LOGINUSER);
		return;
	}
	/* not logged in: asked once more before the session is given up
	 * (a single false answer may be a hiccup; shared/protocol-account.md §3.3) */
	if (++s->ren.not_logged_in >= 2) {
		renew_dead(s, MTOP_SESSION_EXPIRED, "hasLogin says not logged in, twice (renewal)", NULL);
		return;
	}
	s->ren.step = RN_IDLE;
	s->m.renew_failures++;
	log_warn("session", "hasLogin says not logged in; asking once more in %d s", RENEW_CONFIRM_MS / 1000);
	renew_at(s, RENEW_CONFIRM_MS);
}

/* loginuser.get's answer (ud is the session): alive, dead or a failure by
 * its mtop result. A rotated _m_h5_tk was merged and retried by mtop. */
static void on_loginuser(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	session *s = ud;
	char m[200];

	(void)data;
	s->ren.call = NULL;
	if (res == MTOP_OK) {
		if (s->cfg->renew_long_login && (!s->ren.long_login_ms ||
						 util_now_ms() - s->ren.long_login_ms >= RENEW_LONG_LOGIN_MS))
			renew_step(s, RN_SETTINGS);
		else
			renew_done(s);
		return;
	}
	if (res == MTOP_SESSION_EXPIRED || res == MTOP_RISK) {
		renew_dead(s, res, "loginuser.get (renewal)", data);
		return;
	}
	snprintf(m, sizeof m, "loginuser.get: %s%s%s", mtop_result_name(res), *ret || why ? ": " : "",
		 *ret ? ret : why ? why : "");
	renew_failed(s, m);
}

/* The form of hasLogin.do (shared/protocol-account.md §3.1(a)) from the
 * current cookie, into b. */
static void has_login_form(session *s, sbuf *b)
{
	const char *ck = s->tok.mt.cookie;
	char *unb = cookie_get(ck, "unb"), *c2 = cookie_get(ck, "cookie2"), *cna = cookie_get(ck, "cna");
	char *csrf = cookie_get(ck, "XSRF-TOKEN");
	const char *hid = unb ? unb : s->cfg->unb;

	if (!csrf)
		csrf = cookie_get(ck, "_tb_token_");
	sbuf_adds(b, "hid=");
	util_urlencode(b, hid, strlen(hid));
	sbuf_adds(b, "&ltl=true&appName=xianyu&appEntrance=web&_csrf_token=");
	if (csrf)
		util_urlencode(b, csrf, strlen(csrf));
	sbuf_adds(b, "&umidToken=&hsiz=");
	if (c2)
		util_urlencode(b, c2, strlen(c2));
	sbuf_adds(b, "&bizParams=taobaoBizLoginFrom%3Dweb&mainPage=false&isMobile=false&lang=zh_CN&returnUrl="
		  "&fromSite=77&isIframe=true&documentReferer=https%3A%2F%2Fwww.goofish.com%2F&defaultView=hasLogin"
		  "&umidTag=SERVER&deviceId=");
	if (cna)
		util_urlencode(b, cna, strlen(cna));
	free(unb);
	free(c2);
	free(cna);
	free(csrf);
}

/* Starts a passport POST of path (under platform.passport_url) with form
 * body; 0, or -1 when it could not start. */
static int passport_post(session *s, const char *path, const sbuf *form)
{
	sbuf url = {0}, hdr = {0};

	sbuf_addf(&url, "%s%s", s->cfg->passport_url, path);
	sbuf_addf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
		  "Origin: https://passport.goofish.com\r\nReferer: https://passport.goofish.com/mini_login.htm\r\n"
		  "User-Agent: %s\r\nCookie: %s\r\n", LWP_UA, s->tok.mt.cookie);
	if (!url.oom && !hdr.oom && !form->oom)
		s->ren.req = http_post(s->ctx, s->vh, url.p, hdr.p, form->p ? form->p : "", form->len,
				       s->cfg->request_timeout_s, s->cfg->tls_verify, on_passport, s);
	sbuf_free(&url);
	if (hdr.p)
		sodium_memzero(hdr.p, hdr.len);   /* it held the cookie */
	sbuf_free(&hdr);
	return s->ren.req ? 0 : -1;
}

/* Starts step (RN_HASLOGIN, RN_LOGINUSER or RN_SETTINGS) of the renewal;
 * a call that cannot start fails the renewal. */
static void renew_step(session *s, int step)
{
	sbuf form = {0};
	int rc;

	s->ren.step = step;
	if (step == RN_LOGINUSER) {
		s->ren.call = mtop_start(&s->tok.mt, LOGINUSER_API, "{}", on_loginuser, s);
		if (!s->ren.call)
			renew_failed(s, "loginuser.get: cannot start the request");
		return;
	}
	if (step == RN_HASLOGIN) {
		has_login_form(s, &form);
		rc = passport_post(s, "newlogin/hasLogin.do?appName=xianyu&fromSite=77", &form);
	} else {
		sbuf_adds(&form, "status=0");
		rc = passport_post(s, "ac/account/setLoginSettings.do?fromSite=77&appName=xianyu&bizEntrance=web", &form);
	}
	sbuf_free(&form);
	if (rc)
		renew_failed(s, step == RN_HASLOGIN ? "hasLogin: cannot start the request" :
			     "setLoginSettings: cannot start the request");
}

/* The renewal is due: starts it, unless one is in flight, the session is
 * stopping, or it is FAILED (a human must log in: no calls; looked at
 * again after the normal delay). */
static void renew_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, ren.sul);

	s->ren.next_ms = 0;
	if (s->stop.active || s->ren.step != RN_IDLE)
		return;
	if (s->m.state == SESS_FAILED || s->m.state == SESS_CLOSED) {
		renew_at(s, renew_delay(s));
		return;
	}
	renew_step(s, RN_HASLOGIN);
}

void session_renew_start(session *s)
{
	if (s->ren.step == RN_IDLE)
		renew_at(s, renew_delay(s));
}

void session_renew_login(session *s)
{
	session_renew_stop(s);
	s->ren.fails = 0;
	s->ren.not_logged_in = 0;
	s->ren.long_login_ms = 0;       /* the new login's long-login cookies are asked for at the first renewal */
	session_renew_start(s);
}

void session_renew_stop(session *s)
{
	lws_sul_cancel(&s->ren.sul);
	s->ren.next_ms = 0;
	if (s->ren.req) {
		http_cancel(s->ren.req);
		s->ren.req = NULL;
	}
	if (s->ren.call) {
		mtop_cancel(s->ren.call);
		s->ren.call = NULL;
	}
	s->ren.step = RN_IDLE;
}

void session_renew_free(session *s)
{
	lws_sul_cancel(&s->ren.sul);
	if (s->ren.call)
		mtop_forget(s->ren.call);
	s->ren.call = NULL;
	s->ren.req = NULL;           /* http_free_all frees it */
}

void session_renew_status(const session *s, cJSON *status)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(status, "session");

	if (!cJSON_IsObject(o))
		o = cJSON_AddObjectToObject(status, "session");
	if (!o)
		return;
	cJSON_AddNumberToObject(o, "last_renewed_ms", (double)s->ren.last_ms);
	cJSON_AddNumberToObject(o, "next_renew_ms", (double)s->ren.next_ms);
	cJSON_AddNumberToObject(o, "renewals", (double)s->m.renewals);
	cJSON_AddNumberToObject(o, "renew_failures", (double)s->m.renew_failures);
}
