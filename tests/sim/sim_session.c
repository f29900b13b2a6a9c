/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_session.c - the web session's lifetime and its renewal
 * (shared/protocol-account.md §3, §10.3, §10.4): a session lifetime
 * (session_ttl_ms, 0 = never) after which mtop answers
 * FAIL_SYS_SESSION_EXPIRED and hasLogin.do content.success:false; the
 * renewal calls that extend it and rotate cookies (hasLogin.do,
 * silentHasLogin.do, setLoginSettings.do on the passport paths, mtop
 * loginuser.get); the _m_h5_tk lifetime (h5tk_ttl_ms).
 *
 * sgcookie: every hasLogin/silentHasLogin rotates it. The one before the
 * last rotation stays good (a grace of one renewal: two renewals racing do
 * not log the account out); an older one makes hasLogin answer
 * success:false, so a client that does not merge the Set-Cookie it gets is
 * found out after two renewals. Until the first rotation (and after a QR
 * login, sim_session_renewed) any sgcookie is taken.
 */
#include "sim.h"
#include "sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* Whether seller a's web session is alive: not expired by the fault and
 * within its lifetime. The lifetime starts at the account's first call (or
 * its last renewal); once over, only a new login (sim_session_renewed)
 * brings the session back: renewals do not revive a dead session. */
int sim_session_alive(sim_account *a)
{
	int64_t now = util_now_ms();

	if (a->session_expired)
		return 0;
	if (S.session_ttl_ms <= 0)
		return 1;
	if (!a->session_until_ms)
		a->session_until_ms = now + S.session_ttl_ms;
	return now < a->session_until_ms;
}

/* A renewal of a live session: its lifetime starts over. */
static void session_extend(sim_account *a)
{
	a->session_until_ms = S.session_ttl_ms > 0 ? util_now_ms() + S.session_ttl_ms : 0;
}

/* A new login of seller a (a QR login): the session is alive again, its
 * lifetime starts over, and whatever sgcookie the login gave is taken. */
void sim_session_renewed(sim_account *a)
{
	a->session_expired = 0;
	session_extend(a);
	a->sgcookie[0] = a->sgcookie_old[0] = '\0';
	a->h5tk_exp_ms = 0;             /* the login rotates _m_h5_tk: its lifetime starts at its first use */
}

/* Whether seller a's _m_h5_tk is past its lifetime (h5tk_ttl_ms, 0 =
 * never): 1 once per lifetime, and the next lifetime starts (the caller
 * rotates the token). The first call starts the first lifetime. */
int sim_session_h5tk_due(sim_account *a)
{
	int64_t now = util_now_ms();

	if (S.h5tk_ttl_ms <= 0)
		return 0;
	if (!a->h5tk_exp_ms || now >= a->h5tk_exp_ms) {
		int due = a->h5tk_exp_ms != 0;

		a->h5tk_exp_ms = now + S.h5tk_ttl_ms;
		return due;
	}
	return 0;
}

/* mtop.taobao.idlemessage.pc.loginuser.get: reached only while the session
 * is alive (mtop_call answers SESSION_EXPIRED before); it is a renewal. */
cJSON *sim_session_loginuser(sim_account *a)
{
	cJSON *d = cJSON_CreateObject();
	char nick[48];

	S.st.renew_loginuser++;
	session_extend(a);
	snprintf(nick, sizeof nick, "sim-%s", a->unb);
	cJSON_AddStringToObject(d, "userId", a->unb);
	cJSON_AddStringToObject(d, "nick", nick);
	return d;
}

/* Appends a Set-Cookie value (printf) to sc[*n] while there is room. */
static void add_cookie(char **sc, int nsc, int *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_cookie(char **sc, int nsc, int *n, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL;

	if (*n >= nsc)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v)
		sc[(*n)++] = v;
}

/* hasLogin.do / silentHasLogin.do for seller a (cookie is the request's):
 * alive and an sgcookie this account gave (or none rotated yet): success,
 * the lifetime starts over, and Set-Cookie rotates sgcookie, csg, tracknick,
 * unb, last_u_xianyu_web and deletes cookie3_bak (Max-Age=0, 1970: a
 * deletion a client must not take as a value). */
static cJSON *has_login(sim_account *a, const char *cookie, const char *form, size_t flen, int silent,
			char **sc, int nsc, int *n)
{
	char *hid = silent ? NULL : util_form_get(form, flen, "hid");
	char *sg = cookie_get(cookie, "sgcookie");
	const char *why = NULL;
	char hex[33];
	cJSON *d;

	if (silent)
		S.st.renew_silent++;
	else
		S.st.renew_haslogin++;
	if (a->risk && a->risk_variant == SIM_RISK_HASLOGIN) {
		/* risk control on the passport: the mtop risk answer inside the
		 * passport envelope, the punish URL in content.data.url */
		cJSON *e, *d0 = cJSON_CreateObject(), *ret;

		free(hid);
		free(sg);
		a->risk_answers++;
		S.st.risk_answers++;
		cJSON_AddStringToObject(d0, "url", "https://passport.goofish.com/_____tmd_____/punish?x5secdata=simhaslogin");
		e = sim_passport_env(0, d0, "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试");
		ret = cJSON_AddArrayToObject(e, "ret");
		cJSON_AddItemToArray(ret, cJSON_CreateString("FAIL_SYS_USER_VALIDATE"));
		cJSON_AddItemToArray(ret, cJSON_CreateString("RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"));
		return e;
	}
	if (!sim_session_alive(a))
		why = "登录已过期 (session expired)";
	else if (!silent && (!hid || strcmp(hid, a->unb)))
		why = "hid does not name the cookie's account";
	else if (a->sgcookie[0] && (!sg || (strcmp(sg, a->sgcookie) && strcmp(sg, a->sgcookie_old))))
		why = "sgcookie rotated out (the client did not keep the Set-Cookie of its renewals)";
	free(hid);
	free(sg);
	if (why)
		return sim_passport_env(0, NULL, why);
	session_extend(a);
	snprintf(a->sgcookie_old, sizeof a->sgcookie_old, "%s", a->sgcookie);
	sim_gen_hex(hex, 32);
	snprintf(a->sgcookie, sizeof a->sgcookie, "E100%s", hex);
	add_cookie(sc, nsc, n, "sgcookie=%s; Path=/; Max-Age=31536000; HttpOnly", a->sgcookie);
	sim_gen_hex(hex, 8);
	add_cookie(sc, nsc, n, "csg=%s; Path=/", hex);
	add_cookie(sc, nsc, n, "unb=%s; Path=/; HttpOnly", a->renew_unb[0] ? a->renew_unb : a->unb);
	a->renew_unb[0] = '\0';
	add_cookie(sc, nsc, n, "tracknick=sim%s; Path=/; Max-Age=31536000", a->unb);
	add_cookie(sc, nsc, n, "last_u_xianyu_web=%s; Path=/; Max-Age=31536000", a->unb);
	add_cookie(sc, nsc, n, "cookie3_bak=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "hid", a->unb);
	return sim_passport_env(1, d, NULL);
}

/* setLoginSettings.do: status=0 mints havana_lgc2_77 and havana_lgc_exp
 * (30 days) and extends the session; another status turns long login off
 * (both deleted). A dead session answers success:false. */
static cJSON *login_settings(sim_account *a, const char *form, size_t flen, char **sc, int nsc, int *n)
{
	char *st = util_form_get(form, flen, "status");
	int on = st && !strcmp(st, "0");
	char hex[41];

	free(st);
	S.st.renew_settings++;
	if (!sim_session_alive(a))
		return sim_passport_env(0, NULL, "登录已过期 (session expired)");
	session_extend(a);
	a->long_login = on;
	if (on) {
		sim_gen_hex(hex, 40);
		add_cookie(sc, nsc, n, "havana_lgc2_77=%s; Path=/; Max-Age=2592000; HttpOnly", hex);
		add_cookie(sc, nsc, n, "havana_lgc_exp=%lld; Path=/; Max-Age=2592000",
			   (long long)(util_now_ms() + 30 * DAY_MS));
	} else {
		add_cookie(sc, nsc, n, "havana_lgc2_77=; Path=/; Max-Age=0");
		add_cookie(sc, nsc, n, "havana_lgc_exp=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
	}
	return sim_passport_env(1, NULL, NULL);
}

/* The passport renewal paths on the platform port. Returns the HTTP status
 * with *out the answer and sc[0..] the Set-Cookie values (malloc'd, at most
 * nsc), or 0 when path is not one of them. The account is the cookie's unb;
 * without one the answer is success:false. */
int sim_session_http(const char *path, const char *cookie, const char *form, size_t flen, cJSON **out,
		     char **sc, int nsc)
{
	int silent = !strcmp(path, "/newlogin/silentHasLogin.do");
	char *unb;
	sim_account *a;
	int n = 0;
	cJSON *logx;

	if (strcmp(path, "/newlogin/hasLogin.do") && !silent && strcmp(path, "/ac/account/setLoginSettings.do"))
		return 0;
	unb = cookie ? cookie_get(cookie, "unb") : NULL;
	a = unb && *unb ? sim_account_get(unb, 1) : NULL;
	free(unb);
	if (!a)
		*out = sim_passport_env(0, NULL, "未登录 (no unb in the cookie)");
	else if (!strcmp(path, "/ac/account/setLoginSettings.do"))
		*out = login_settings(a, form ? form : "", flen, sc, nsc, &n);
	else
		*out = has_login(a, cookie, form ? form : "", flen, silent, sc, nsc, &n);
	logx = cJSON_CreateObject();
	cJSON_AddBoolToObject(logx, "success",
			      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*out, "content"),
									   "success")));
	sim_log_add(0, a ? a->unb : "", "http", path, NULL, 0, logx);
	cJSON_Delete(logx);
	return 200;
}
