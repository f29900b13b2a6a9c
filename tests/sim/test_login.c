/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_login.c - the QR login client (core/login.c) against the
 * simulator's passport service (tests/sim/sim_passport.c), driven the way a
 * phone would through the simulator's control port: NEW -> SCANED ->
 * CONFIRMED -> DONE with a whole cookie, CANCELED, EXPIRED (by the platform
 * and by login.timeout_s), ERROR, hasError and HTML transients retried (and
 * too many of them failing), the token exchange, the security-check branch,
 * a cancel here; the cookie check of the running process
 * (login_cookie_check); and the QR drawings (core/qr.c).
 */
#include "login.h"
#include "qr.h"
#include "relogin.h"
#include "http.h"
#include "sign.h"
#include "sim/tbot.h"
#include "tap.h"
#include "util.h"

#include <libwebsockets.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *ctx;
static struct lws_vhost *vh;
static tc_sim sim;
static char passport_url[64], api_url[64];

/* What on_state saw: the states in order ("NEW SCANED ..."). */
typedef struct {
	char seen[400];
	int code_made;
} rec;

static void on_state(void *ud, login *l)
{
	rec *r = ud;
	const char *n = login_state_name(login_get_state(l));
	size_t len = strlen(r->seen);

	if (login_get_state(l) == LOGIN_NEW && *login_code_url(l))
		r->code_made = 1;
	/* the same state again (the code made while NEW) is noted once */
	if (len >= strlen(n) && !strcmp(r->seen + len - strlen(n), n))
		return;
	snprintf(r->seen + len, sizeof r->seen - len, "%s%s", len ? " " : "", n);
	lws_cancel_service(ctx);
}

static lws_sorted_usec_list_t tick_sul;

/* Wakes the loop every 20 ms (the deadline check of run_until). */
static void tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(ctx, 0, sul, tick, 20 * LWS_US_PER_MS);
}

/* Runs the loop until l is in state st (or a final state) or ms pass;
 * returns whether it is in st. */
static int run_until(login *l, login_state st, int ms)
{
	int64_t t0 = util_mono_us();

	tick(&tick_sul);
	while (login_get_state(l) != st && !login_state_final(login_get_state(l)) &&
	       util_mono_us() - t0 < (int64_t)ms * 1000)
		lws_service(ctx, 0);
	lws_sul_cancel(&tick_sul);
	return login_get_state(l) == st;
}

/* Runs until the code is made (state NEW with a code_url). */
static int run_code(login *l, rec *r, int ms)
{
	int64_t t0 = util_mono_us();

	tick(&tick_sul);
	while (!r->code_made && !login_state_final(login_get_state(l)) && util_mono_us() - t0 < (int64_t)ms * 1000)
		lws_service(ctx, 0);
	lws_sul_cancel(&tick_sul);
	return r->code_made;
}

/* Starts a login with poll_ms and timeout_s. */
static login *start(rec *r, int timeout_s)
{
	login_opts o;

	memset(r, 0, sizeof *r);
	memset(&o, 0, sizeof o);
	o.ctx = ctx;
	o.vh = vh;
	o.passport_url = passport_url;
	o.api_url = api_url;
	o.tls_verify = 1;
	o.request_timeout_s = 5;
	o.poll_ms = 100;
	o.timeout_s = timeout_s;
	o.on_state = on_state;
	o.ud = r;
	return login_start(&o);
}

/* The value of cookie name in the login's cookie is non-empty. */
static int has_cookie(const login *l, const char *name)
{
	char *v = cookie_get(login_cookie(l), name);
	int ok = v && *v;

	free(v);
	return ok;
}

static void test_happy(void)
{
	rec r;
	login *l = start(&r, 60);

	ok(l && login_get_state(l) == LOGIN_NEW && !*login_code_url(l), "login_start: NEW, the code not made yet");
	ok(run_code(l, &r, 10000), "the pre-flight and generate.do make the code");
	ok(strlen(login_code_url(l)) > 10, "the code's content is the platform's codeContent (%s)", login_code_url(l));
	ok(tsim_ctl(&sim, "/login/scan", "{}") == 200, "the phone scans");
	ok(run_until(l, LOGIN_SCANED, 5000), "SCANED is seen");
	ok(strstr(login_message(l, 1), "确认") && strstr(login_message(l, 0), "confirm"),
	   "SCANED says to confirm on the phone, in Chinese and English");
	ok(tsim_ctl(&sim, "/login/confirm", "{}") == 200, "the phone confirms");
	ok(run_until(l, LOGIN_DONE, 8000), "DONE (%s: %s)", login_state_name(login_get_state(l)), login_message(l, 0));
	is_str(r.seen, "NEW SCANED CONFIRMED DONE", "every state in order");
	ok(has_cookie(l, "unb") && has_cookie(l, "cookie2") && has_cookie(l, "_m_h5_tk") && has_cookie(l, "sgcookie"),
	   "the cookie holds unb, cookie2, _m_h5_tk and the login's sgcookie");
	{
		char *u = cookie_get(login_cookie(l), "unb");

		ok(u && *login_unb(l) && !strcmp(login_unb(l), u), "login_unb is the cookie's unb (%s)", login_unb(l));
		free(u);
	}
	ok(!strstr(login_message(l, 0), "cookie2="), "no cookie in the message");
	ok(login_get_stats(l)->exchanges == 0, "no token in CONFIRMED: no exchange");
	login_free(l);
}

static void test_final(const char *ctl, login_state want, const char *body, const char *msg_part)
{
	rec r;
	login *l = start(&r, 60);

	run_code(l, &r, 10000);
	if (strcmp(ctl, "/login/scan-expire")) {
		ok(tsim_ctl(&sim, ctl, body) == 200, "the phone: %s", ctl);
	}
	ok(run_until(l, want, 5000), "%s: state %s (got %s)", ctl, login_state_name(want),
	   login_state_name(login_get_state(l)));
	ok(strstr(login_message(l, 0), msg_part) != NULL, "%s: the message says so: %s", ctl, login_message(l, 0));
	ok(login_cookie(l) == NULL, "%s: no cookie", ctl);
	login_free(l);
}

static void test_transients(void)
{
	rec r;
	login *l = start(&r, 60);

	run_code(l, &r, 10000);
	ok(tsim_ctl(&sim, "/fault", "{\"kind\":\"qr_has_error\",\"n\":3}") == 200, "3 hasError answers ahead");
	ok(tsim_ctl(&sim, "/login/scan", "{}") == 200 && run_until(l, LOGIN_SCANED, 5000),
	   "hasError x3: retried, SCANED is seen");
	ok(tsim_ctl(&sim, "/fault", "{\"kind\":\"qr_html\",\"n\":2}") == 200, "2 HTML answers ahead");
	tsim_ctl(&sim, "/login/confirm", "{}");
	ok(run_until(l, LOGIN_DONE, 8000), "HTML x2: retried, DONE");
	ok(login_get_stats(l)->transients >= 5, "5 transients counted (%d)", login_get_stats(l)->transients);
	login_free(l);

	l = start(&r, 60);
	run_code(l, &r, 10000);
	tsim_ctl(&sim, "/fault", "{\"kind\":\"qr_has_error\",\"n\":5}");
	ok(run_until(l, LOGIN_ERROR, 5000), "hasError x5 in a row: ERROR, no endless retry");
	ok(strstr(login_message(l, 0), "5 failed answers in a row"), "it says why: %s", login_message(l, 0));
	login_free(l);
}

static void test_token(void)
{
	rec r;
	login *l = start(&r, 60);

	run_code(l, &r, 10000);
	tsim_ctl(&sim, "/login/scan", "{}");
	run_until(l, LOGIN_SCANED, 5000);
	tsim_ctl(&sim, "/login/confirm", "{\"token\":true}");
	ok(run_until(l, LOGIN_DONE, 8000), "token branch: DONE (%s)", login_message(l, 0));
	ok(login_get_stats(l)->exchanges == 1, "token branch: one login_token/login.do exchange");
	ok(has_cookie(l, "unb") && has_cookie(l, "cookie2") && has_cookie(l, "_m_h5_tk"),
	   "token branch: the exchange's cookies");
	login_free(l);
}

static void test_verify(void)
{
	rec r;
	login *l = start(&r, 60);

	run_code(l, &r, 10000);
	tsim_ctl(&sim, "/login/scan", "{}");
	run_until(l, LOGIN_SCANED, 5000);
	tsim_ctl(&sim, "/login/confirm", "{\"verify\":true}");
	ok(run_until(l, LOGIN_VERIFY, 5000), "verify branch: VERIFY");
	ok(strstr(login_verify_url(l), "/iv/normal_validate.htm"), "the verification link is shown: %s",
	   login_verify_url(l));
	ok(strstr(login_message(l, 1), "安全验证") && strstr(login_message(l, 0), "security check"),
	   "VERIFY says what to do, in Chinese and English");
	/* it waits (check.do "0") until the seller passes */
	{
		int64_t t0 = util_mono_us();

		tick(&tick_sul);
		while (util_mono_us() - t0 < 800000)
			lws_service(ctx, 0);
		lws_sul_cancel(&tick_sul);
	}
	ok(login_get_state(l) == LOGIN_VERIFY && login_get_stats(l)->checks >= 2,
	   "it polls check.do while waiting (%d checks)", login_get_stats(l)->checks);
	ok(tsim_ctl(&sim, "/login/verify", "{}") == 200, "the seller passes the check");
	ok(run_until(l, LOGIN_DONE, 8000), "verify branch: DONE (%s)", login_message(l, 0));
	ok(has_cookie(l, "unb") && has_cookie(l, "cookie2") && has_cookie(l, "_m_h5_tk"),
	   "verify branch: the landing page's cookies");
	is_str(r.seen, "NEW SCANED VERIFY CONFIRMED DONE", "verify branch: the states in order");
	login_free(l);
}

static void test_timeout_and_cancel(void)
{
	rec r;
	login *l = start(&r, 5);

	run_code(l, &r, 10000);
	ok(run_until(l, LOGIN_EXPIRED, 9000), "login.timeout_s (5) without a scan: EXPIRED here");
	ok(strstr(login_message(l, 0), "No login within 5 s"), "it says so: %s", login_message(l, 0));
	login_free(l);

	l = start(&r, 60);
	run_code(l, &r, 10000);
	login_cancel(l);
	ok(login_get_state(l) == LOGIN_CANCELED, "login_cancel: CANCELED");
	login_free(l);
}

static void test_cookie_check(void)
{
	char unb[64];

	ok(login_cookie_check("unb=42; cookie2=c; _m_h5_tk=t_1", "", unb) == NULL && !strcmp(unb, "42"),
	   "cookie check: unb + cookie2 + _m_h5_tk is accepted");
	ok(login_cookie_check("unb=42; cookie2=c; _m_h5_tk=t_1", "42", unb) == NULL, "the account's own unb");
	ok(strstr(login_cookie_check("unb=43; cookie2=c; _m_h5_tk=t_1", "42", unb), "another account's") &&
	   !*unb, "another account's unb is refused");
	ok(strstr(login_cookie_check("unb=42; _m_h5_tk=t_1", "", unb), "no cookie2"), "no cookie2: refused");
	ok(strstr(login_cookie_check("unb=42; cookie2=c", "", unb), "no _m_h5_tk"), "no _m_h5_tk: refused");
	ok(strstr(login_cookie_check("cookie2=c; _m_h5_tk=t", "", unb), "no unb"), "no unb: refused");
	ok(!strstr(login_cookie_check("unb=42; cookie2=SECRETVALUE", "", unb), "SECRETVALUE"),
	   "the reason never quotes the cookie");
}

/* The drawings: module counts against libqrencode's own width. */
static void test_qr(void)
{
	const char *text = "https://passport.goofish.com/qrcodeCheck.htm?lgToken=abc123&tbScanOpenType=Notification";
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int w = 0, w2 = 0, dark = 0, drawn = 0, rows = 0, n;
	char *t = qr_terminal(text, 0, &w), *tc = qr_terminal(text, 1, NULL), *svg = qr_svg(text, &w2), vb[64];
	const char *p;

	ok(q && t && tc && svg, "qr_terminal and qr_svg draw a code");
	if (!q || !t || !tc || !svg)
		return;
	for (int i = 0; i < q->width * q->width; i++)
		dark += q->data[i] & 1;
	n = q->width + 2 * QR_QUIET;
	ok(w == q->width && w2 == q->width, "the width is libqrencode's (%d)", q->width);
	for (p = t; *p; p++)
		rows += *p == '\n';
	ok(rows == (n + 1) / 2, "terminal: (width + 2 quiet + 1) / 2 lines (%d)", rows);
	/* each line is n cells: count cells of the first line */
	{
		int cells = 0;

		for (p = t; *p && *p != '\n'; p++)
			cells += ((unsigned char)*p & 0xC0) != 0x80;
		ok(cells == n, "terminal: each line is width + 2 quiet cells (%d)", cells);
	}
	{
		/* dark modules: a full block is 2, a half block 1 */
		int halves = 0;

		for (p = t; *p; p++)
			if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x96)
				halves += (unsigned char)p[2] == 0x88 ? 2 : 1;
		ok(halves == dark, "terminal: the blocks hold every dark module (%d of %d)", halves, dark);
	}
	ok(strncmp(tc, "\033[30;107m", 9) == 0 && strstr(tc, "\033[0m\n"), "terminal: color wraps each line");
	snprintf(vb, sizeof vb, "viewBox=\"0 0 %d %d\"", n, n);
	ok(strstr(svg, vb) != NULL, "svg: viewBox in modules with the quiet zone (%s)", vb);
	for (p = svg; (p = strstr(p, "<path")); p++)
		drawn++;
	ok(drawn == 1, "svg: one <path>");
	drawn = 0;
	for (p = svg; (p = strchr(p, 'M')); p++) {
		int x, y, run;

		if (sscanf(p, "M%d %dh%d", &x, &y, &run) == 3)
			drawn += run;
	}
	ok(drawn == dark, "svg: the runs cover every dark module (%d of %d)", drawn, dark);
	ok(!strstr(svg, "href") && !strstr(svg, "<script") && !strstr(svg, "style=") && !strstr(svg, "http://www.w3.org/1999"),
	   "svg: no reference, script or style (the page's CSP)");
	ok(qr_svg("", NULL) == NULL && qr_terminal("", 0, NULL) == NULL, "an empty text: NULL");
	QRcode_free(q);
	free(t);
	free(tc);
	free(svg);
}

int main(void)
{
	struct lws_context_creation_info info;
	struct lws_protocols protocols[2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_qr();
	test_cookie_check();
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = 64;
	ctx = lws_create_context(&info);
	memset(protocols, 0, sizeof protocols);
	protocols[0] = http_protocol;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.vhost_name = "client";
	info.protocols = protocols;
	vh = ctx ? lws_create_vhost(ctx, &info) : NULL;
	if (!ok(vh && tc_sim_start(&sim, NULL) == 0, "an lws client and the simulator"))
		return tap_done();
	snprintf(passport_url, sizeof passport_url, "http://127.0.0.1:%d/", sim.port);
	snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d/h5/", sim.port);
	test_happy();
	test_final("/login/cancel", LOGIN_CANCELED, "{}", "cancelled on the phone");
	test_final("/login/expire", LOGIN_EXPIRED, "{}", "expired");
	test_final("/login/error", LOGIN_ERROR, "{\"message\":\"boom\"}", "ERROR: boom");
	test_transients();
	test_token();
	test_verify();
	test_timeout_and_cancel();
	lws_context_destroy(ctx);
	http_free_all();
	tc_sim_stop(&sim);
	return tap_done();
}
