/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_session.c - the simulator's web session (sim_session.c):
 * hasLogin.do / silentHasLogin.do / setLoginSettings.do answers and the
 * cookies they rotate, sgcookie rotated out after two renewals, the session
 * lifetime (session_ttl_ms) for mtop and passport, renewals extending it,
 * loginuser.get, the _m_h5_tk lifetime (h5tk_ttl_ms), and the counters.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "sign.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGINUSER "mtop.taobao.idlemessage.pc.loginuser.get"
#define TK "0123456789abcdef0123456789abcdef"

static tc_sim sim;

/* A passport POST to path with cookie ck and form body; the answer's
 * content.success (1, 0, or -1 when not a passport answer) and its
 * Set-Cookie values joined by "\n" into sc (may be NULL). */
static int passport(const char *path, const char *ck, const char *form, char *sc, size_t scn)
{
	char hdr[1200];
	tc_http_resp r;
	cJSON *env, *succ;
	int res = -1;

	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", ck);
	if (sc)
		*sc = '\0';
	if (tc_http(sim.port, "POST", path, hdr, form, strlen(form), &r, 3000))
		return -1;
	env = cJSON_ParseWithLength(r.body, r.body_len);
	succ = tc_jget(env, "content.success");
	if (r.status == 200 && cJSON_IsBool(succ) && cJSON_IsFalse(tc_jget(env, "hasError")))
		res = cJSON_IsTrue(succ);
	for (int i = 0; sc; i++) {
		char *v = tc_http_header(&r, "Set-Cookie", i);
		size_t used = strlen(sc);

		if (!v)
			break;
		snprintf(sc + used, scn - used, "%s\n", v);
		free(v);
	}
	cJSON_Delete(env);
	tc_http_free(&r);
	return res;
}

/* The value of Set-Cookie name in the joined list sc into out ("" if none). */
static void sc_value(const char *sc, const char *name, char *out, size_t n)
{
	char pat[64];
	const char *p, *e;

	*out = '\0';
	snprintf(pat, sizeof pat, "%s=", name);
	for (p = sc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, pat, strlen(pat)))
			continue;
		p += strlen(pat);
		e = p + strcspn(p, ";\n");
		snprintf(out, n, "%.*s", (int)(e - p), p);
		return;
	}
}

static const char *ret0(const cJSON *env)
{
	return tc_jstr(env, "ret.0") ? tc_jstr(env, "ret.0") : "";
}

static double stat(const char *name)
{
	return tsim_stat(&sim, name);
}

static void config(const char *json)
{
	is_int(tsim_ctl(&sim, "/config", json), 200, "config %s", json);
}

/* hasLogin's answer and cookies, the hid check, sgcookie rotation. */
static void test_has_login(void)
{
	const char *unb = "2200000070001";
	char ck[512], form[256], sc[2048], sg1[64], sg2[64], v[64];

	snprintf(ck, sizeof ck, "unb=%s; cookie2=c2; sgcookie=first; _m_h5_tk=" TK "_1", unb);
	snprintf(form, sizeof form, "hid=%s&ltl=true&appName=xianyu&appEntrance=web&hsiz=c2&fromSite=77", unb);
	is_int(passport("/newlogin/hasLogin.do?appName=xianyu&fromSite=77", ck, form, sc, sizeof sc), 1,
	       "hasLogin: content.success true while alive");
	sc_value(sc, "sgcookie", sg1, sizeof sg1);
	ok(strlen(sg1) > 8, "hasLogin: Set-Cookie rotates sgcookie");
	sc_value(sc, "csg", v, sizeof v);
	ok(*v, "hasLogin: ... and csg");
	sc_value(sc, "unb", v, sizeof v);
	is_str(v, unb, "hasLogin: ... and unb (the same account)");
	ok(strstr(sc, "cookie3_bak=;") && strstr(sc, "Max-Age=0") && strstr(sc, "1970"),
	   "hasLogin: ... and a deletion (Max-Age=0, 1970) a client must not take as a value");
	ok(!strstr(sc, "Domain="), "hasLogin: no Domain attribute (a jar on 127.0.0.1 would refuse it)");
	is_int(stat("renew_haslogin"), 1, "hasLogin counted");

	is_int(passport("/newlogin/hasLogin.do", ck, "hid=2200000079999&ltl=true", NULL, 0), 0,
	       "hasLogin: hid of another account: success false");

	/* the previous sgcookie still works once rotated (grace of one); the one before is refused */
	snprintf(ck, sizeof ck, "unb=%s; cookie2=c2; sgcookie=%s", unb, sg1);
	is_int(passport("/newlogin/hasLogin.do", ck, form, sc, sizeof sc), 1, "hasLogin with the new sgcookie");
	sc_value(sc, "sgcookie", sg2, sizeof sg2);
	ok(*sg2 && strcmp(sg1, sg2), "hasLogin: another sgcookie each time");
	is_int(passport("/newlogin/hasLogin.do", ck, form, NULL, 0), 1,
	       "the sgcookie one rotation old still works (grace)");
	snprintf(ck, sizeof ck, "unb=%s; cookie2=c2; sgcookie=first", unb);
	is_int(passport("/newlogin/hasLogin.do", ck, form, NULL, 0), 0,
	       "an sgcookie two rotations old: success false (the client lost its Set-Cookie)");
	is_int(passport("/newlogin/hasLogin.do", "cookie2=c2", form, NULL, 0), 0, "hasLogin without unb: success false");
	snprintf(ck, sizeof ck, "unb=%s", unb);
	is_int(passport("/newlogin/silentHasLogin.do?appName=xianyu&fromSite=0&ltl=true", "unb=2200000070002", "x=1",
			sc, sizeof sc), 1, "silentHasLogin: success");
	sc_value(sc, "sgcookie", v, sizeof v);
	ok(*v, "silentHasLogin: rotates sgcookie");
	is_int(stat("renew_silent"), 1, "silentHasLogin counted");
}

/* setLoginSettings.do: status=0 mints the 30-day long-login cookies, another status deletes them. */
static void test_login_settings(void)
{
	char sc[2048], v[64];
	const char *ck = "unb=2200000070003; cookie2=c2";

	is_int(passport("/ac/account/setLoginSettings.do?fromSite=77&appName=xianyu&bizEntrance=web", ck, "status=0", sc,
			sizeof sc), 1, "setLoginSettings status=0: success");
	sc_value(sc, "havana_lgc2_77", v, sizeof v);
	ok(strlen(v) >= 20 && strstr(sc, "Max-Age=2592000"), "setLoginSettings: havana_lgc2_77 for 30 days");
	sc_value(sc, "havana_lgc_exp", v, sizeof v);
	ok(atoll(v) > util_now_ms() + 29LL * 86400000, "setLoginSettings: havana_lgc_exp 30 days ahead");
	is_int(passport("/ac/account/setLoginSettings.do", ck, "status=1", sc, sizeof sc), 1,
	       "setLoginSettings status=1: success");
	ok(strstr(sc, "havana_lgc2_77=;") && strstr(sc, "Max-Age=0"), "setLoginSettings status=1: deletes the long login");
	is_int(stat("renew_settings"), 2, "setLoginSettings counted");
}

/* The session lifetime: mtop and passport refuse after it; renewals extend it. */
static void test_lifetime(void)
{
	char ck[256];
	cJSON *env;
	const char *unb = "2200000070004";
	char form[64];

	snprintf(ck, sizeof ck, "unb=%s; cookie2=c2; _m_h5_tk=" TK "_1", unb);
	snprintf(form, sizeof form, "hid=%s", unb);
	config("{\"session_ttl_ms\":600}");
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
	is_str(ret0(env), "SUCCESS::调用成功", "loginuser.get: SUCCESS while alive");
	is_str(tc_jstr(env, "data.userId") ? tc_jstr(env, "data.userId") : "", unb, "loginuser.get: data.userId");
	cJSON_Delete(env);
	/* renewals 300 ms apart keep it alive past 600 ms (hasLogin with the
	 * sgcookie it rotated, loginuser.get) */
	for (int i = 0; i < 4; i++) {
		char sc[2048], sg[64];

		usleep(300000);
		if (i % 2) {
			env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
			is_str(ret0(env), "SUCCESS::调用成功", "renewal %d (loginuser.get) at %d ms", i, 300 * (i + 1));
			cJSON_Delete(env);
			continue;
		}
		is_int(passport("/newlogin/hasLogin.do", ck, form, sc, sizeof sc), 1, "renewal %d (hasLogin) at %d ms", i,
		       300 * (i + 1));
		sc_value(sc, "sgcookie", sg, sizeof sg);
		snprintf(ck, sizeof ck, "unb=%s; cookie2=c2; sgcookie=%s; _m_h5_tk=" TK "_1", unb, sg);
	}
	usleep(800000);
	env = tc_mtop(sim.port, ck, "mtop.taobao.idle.pc.detail", "{\"itemId\":\"1\"}", NULL, NULL, NULL);
	is_str(ret0(env), "FAIL_SYS_SESSION_EXPIRED::Session过期", "after the lifetime: mtop answers SESSION_EXPIRED");
	cJSON_Delete(env);
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
	is_str(ret0(env), "FAIL_SYS_SESSION_EXPIRED::Session过期", "after the lifetime: loginuser.get too");
	cJSON_Delete(env);
	is_int(passport("/newlogin/hasLogin.do", ck, form, NULL, 0), 0, "after the lifetime: hasLogin success false");
	is_int(passport("/ac/account/setLoginSettings.do", ck, "status=0", NULL, 0), 0,
	       "after the lifetime: setLoginSettings does not revive it");
	ok(stat("session_expired") >= 2, "SESSION_EXPIRED answers counted");
	ok(stat("renew_loginuser") >= 3, "loginuser.get counted");
	/* a new login (the session_expired fault turned off) brings it back */
	is_int(tsim_ctl(&sim, "/fault", "{\"kind\":\"session_expired\",\"seller\":\"2200000070004\",\"on\":false}"), 200,
	       "fault session_expired off");
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
	is_str(ret0(env), "SUCCESS::调用成功", "a new login: alive again, the lifetime starts over");
	cJSON_Delete(env);
	config("{\"session_ttl_ms\":0}");
}

/* The _m_h5_tk lifetime: after it, TOKEN_EXOIRED with a fresh Set-Cookie; the new one works. */
static void test_h5tk_ttl(void)
{
	char ck[256], *sc = NULL, tk[40];
	cJSON *env;
	int status = 0;

	config("{\"h5tk_ttl_ms\":400}");
	snprintf(ck, sizeof ck, "unb=2200000070005; _m_h5_tk=" TK "_1");
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
	is_str(ret0(env), "SUCCESS::调用成功", "h5tk lifetime: the first token works");
	cJSON_Delete(env);
	usleep(500000);
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, &status, &sc);
	is_str(ret0(env), "FAIL_SYS_TOKEN_EXOIRED::令牌过期", "h5tk lifetime over: FAIL_SYS_TOKEN_EXOIRED");
	ok(sc && !strncmp(sc, "_m_h5_tk=", 9), "... with a Set-Cookie carrying a new _m_h5_tk");
	cJSON_Delete(env);
	snprintf(tk, sizeof tk, "%.32s", sc ? sc + 9 : "");
	free(sc);
	snprintf(ck, sizeof ck, "unb=2200000070005; _m_h5_tk=%s_1", tk);
	env = tc_mtop(sim.port, ck, LOGINUSER, "{}", NULL, NULL, NULL);
	is_str(ret0(env), "SUCCESS::调用成功", "the new token works");
	cJSON_Delete(env);
	config("{\"h5tk_ttl_ms\":0}");
	is_int(tsim_ctl(&sim, "/config", "{\"session_ttl_ms\":-1}"), 400, "a negative lifetime is refused");
}

int main(void)
{
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	test_has_login();
	test_login_settings();
	test_lifetime();
	test_h5tk_ttl();
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0 on SIGTERM");
	return tap_done();
}
