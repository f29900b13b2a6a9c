/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_session_renew.c - the keep-alive (core/session_renew.c)
 * in the real bot against the simulator, in well under a minute: renewals
 * every second (hasLogin.do, loginuser.get, setLoginSettings.do once); their
 * Set-Cookie merged and saved sealed (the rotated sgcookie, csg and
 * havana_lgc2_77 in the sealed cookie, the 1970 deletion of cookie3_bak
 * ignored, no plaintext in state.db or the log); an answer naming another
 * unb refused whole; `status` showing the renewals; a short IM token (30 s)
 * refreshed once, not every second; one renewal in flight while its call
 * hangs; failures backed off (no storm); hasLogin false twice -> FAILED with
 * no renewal calls while FAILED.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "secret.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000081"
#define COOKIE "cna=zz; unb=" UNB "; cookie2=c2; cookie3_bak=keep; sgcookie=orig; " \
	"_m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; _m_h5_tk_enc=e"
#define LOGINUSER "mtop.taobao.idlemessage.pc.loginuser.get"

static tc_sim sim;
static tbot bot;
static const char *build;

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

/* Runs `shopkeep <args> --config <cfg>`: what it prints, *st its exit status. */
static const char *sk(const char *args, int *st)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' %s --config '%s' 2>/dev/null", build, args, bot.cfg);
	return tbot_sh(cmd, st);
}

/* status --json's data (owned), NULL when it did not answer. */
static cJSON *status_json(void)
{
	int st;
	const char *out = sk("status --json", &st);

	return st == 0 || st == 3 ? cJSON_Parse(out) : NULL;
}

/* A number of status's "session" object (or of the status itself with
 * sess 0), -1 when absent. */
static double snum(const char *k, int sess)
{
	cJSON *j = status_json();
	const cJSON *o = sess ? cJSON_GetObjectItemCaseSensitive(j, "session") : j;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	double r = cJSON_IsNumber(v) ? v->valuedouble : -1;

	cJSON_Delete(j);
	return r;
}

/* Polls a number of status's "session" object until it reaches want. */
static int wait_snum(const char *k, double want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (snum(k, 1) >= want)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* The account's state as status says, into out. */
static void state(char *out, size_t n)
{
	cJSON *j = status_json();
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "state");

	snprintf(out, n, "%s", cJSON_IsString(v) ? v->valuestring : "?");
	cJSON_Delete(j);
}

/* The merged cookie the bot saved (kv cookie:renew), opened with the
 * account's key: malloc'd plaintext, NULL when absent or not sealed. */
static char *saved_cookie(void)
{
	char db[400], key[400], *plain = NULL, *out = NULL, err[256];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(db, sizeof db, "%s/state.db", bot.dir);
	snprintf(key, sizeof key, "%s/renew.key", bot.dir);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(h, 3000);
		if (sqlite3_prepare_v2(h, "SELECT v FROM kv WHERE k = 'cookie:renew'", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(st, 0);

			if (v && !strncmp(v, "sealed:", 7) &&
			    secret_open(key, "the saved cookie", v + 7, strlen(v + 7), &plain, err, sizeof err) == 0) {
				out = strdup(plain);
				secret_free(plain);
			} else if (v) {
				diag("saved cookie: %s", strncmp(v, "sealed:", 7) ? "not sealed" : err);
			}
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return out;
}

/* Whether any state.db file or the bot's log holds needle in plaintext. */
static int plaintext_has(const char *needle)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "cat '%s'/state.db* '%s' 2>/dev/null | grep -a -q -F '%s'", bot.dir, bot.log, needle);
	return system(cmd) == 0;
}

/* Calls of what (an api or a passport path) in the simulator's sent log. */
static int calls(const char *what)
{
	char q[200];
	cJSON *r, *e;
	int n = 0;

	snprintf(q, sizeof q, "/sent?since=0&what=%s", what);
	r = tc_ctl(sim.ctl_port, "GET", q, NULL, NULL);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n++;
	cJSON_Delete(r);
	return n;
}

/* Renewals merge and save the rotated cookies sealed; status shows them. */
static void test_merge_and_status(void)
{
	char *ck, sg[64] = "";
	double last, next;
	int st;
	const char *out;

	ok(tsim_wait_stat(&sim, "renew_haslogin", 3, 15000) >= 0, "hasLogin.do called on the schedule (3 renewals)");
	ok(tsim_wait_stat(&sim, "renew_loginuser", 3, 5000) >= 0, "loginuser.get after each hasLogin");
	is_int(tsim_stat(&sim, "renew_settings"), 1, "setLoginSettings.do once (long login, once a day)");
	ok(wait_snum("renewals", 3, 5000), "status: session.renewals counts them");
	last = snum("last_renewed_ms", 1);
	next = snum("next_renew_ms", 1);
	ok(last > util_now_ms() - 5000 && last <= util_now_ms(), "status: session.last_renewed_ms is recent");
	ok(next == 0 || next > util_now_ms() - 2000, "status: session.next_renew_ms ahead (or a renewal in flight)");
	is_int(snum("renew_failures", 1), 0, "status: no renewal failed");
	out = sk("status", &st);
	ok(strstr(out, "renewed:") && strstr(out, "renewals"), "shopkeep status prints when the session was renewed");

	ck = saved_cookie();
	ok(ck != NULL, "the merged cookie is saved sealed");
	if (ck) {
		const char *p = strstr(ck, "sgcookie=");

		if (p)
			snprintf(sg, sizeof sg, "%.*s", (int)strcspn(p + 9, ";"), p + 9);
		ok(!strncmp(sg, "E100", 4), "... with the rotated sgcookie");
		ok(strstr(ck, "csg=") && strstr(ck, "havana_lgc2_77=") && strstr(ck, "tracknick="),
		   "... with csg, tracknick and the long-login havana_lgc2_77");
		ok(strstr(ck, "cookie3_bak=keep") != NULL, "... and cookie3_bak kept: the 1970/Max-Age=0 deletion ignored");
		ok(strstr(ck, "unb=" UNB) != NULL, "... and the account's unb");
	}
	ok(!plaintext_has("cookie2=c2") && (!*sg || !plaintext_has(sg)), "no plaintext cookie in state.db or the log");
	free(ck);
}

/* A short IM token is refreshed at about 3/4 of its life, not every second. */
static void test_short_token(void)
{
	/* the bot started with a 30 s token some 10 s ago */
	ok(tsim_stat(&sim, "tokens_minted") <= 1, "IM token of 30 s: no refresh storm (%g minted)",
	   tsim_stat(&sim, "tokens_minted"));
	ok(tsim_stat(&sim, "reg_ok") <= 1, "... and no reconnect per refresh (%g registrations)", tsim_stat(&sim, "reg_ok"));
}

/* An answer whose Set-Cookie names another unb is refused whole. */
static void test_foreign_unb(void)
{
	double f0 = snum("renew_failures", 1), r0;
	char *ck;

	tsim_ctl(&sim, "/fault", "{\"kind\":\"renew_unb\",\"seller\":\"" UNB "\",\"unb\":\"2200000000999\"}");
	ok(wait_snum("renew_failures", f0 + 1, 8000), "a hasLogin answer for another unb: a failed renewal");
	ok(tbot_log_has(&bot, "names another account (unb)"), "... logged");
	ck = saved_cookie();
	ok(ck && strstr(ck, "unb=" UNB) && !strstr(ck, "2200000000999"), "... its cookies not taken: unb unchanged");
	free(ck);
	r0 = snum("renewals", 1);
	ok(wait_snum("renewals", r0 + 1, 8000), "the next renewal succeeds");
}

/* One renewal in flight: while its call hangs, no other starts. */
static void test_one_in_flight(void)
{
	double h0, l0, f0 = snum("renew_failures", 1);
	int64_t t0;

	tsim_ctl(&sim, "/fault", "{\"kind\":\"blackhole\",\"n\":1}");
	ok(tsim_wait_stat(&sim, "blackholed", 1, 5000) >= 0, "a renewal call goes into a black hole");
	h0 = tsim_stat(&sim, "renew_haslogin");
	l0 = tsim_stat(&sim, "renew_loginuser");
	t0 = now_ms();
	while (now_ms() - t0 < 2000 && tsim_stat(&sim, "renew_haslogin") == h0 && tsim_stat(&sim, "renew_loginuser") == l0)
		usleep(100000);
	ok(now_ms() - t0 >= 2000, "for 2 s (cadence 1 s) no other renewal call while it hangs");
	ok(wait_snum("renew_failures", f0 + 1, 8000), "its timeout is a failed renewal");
}

/* Failures back off: a failing loginuser.get is not retried in a loop. */
static void test_backoff(void)
{
	int c0 = calls(LOGINUSER), n;
	double f0 = snum("renew_failures", 1);
	char st[32];

	tsim_ctl(&sim, "/fault", "{\"kind\":\"mtop_fail\",\"api\":\"" LOGINUSER "\",\"n\":1000,\"status\":503}");
	sleep(6);
	n = calls(LOGINUSER) - c0;
	ok(n >= 3 && n <= 12, "6 s of failing renewals (cadence 1 s): %d loginuser.get calls, not a storm", n);
	ok(snum("renew_failures", 1) >= f0 + 3, "status: renew_failures counts them");
	state(st, sizeof st);
	is_str(st, "CONNECTED", "a failing renewal does not take the account down");
}

/* hasLogin false twice: FAILED, and no renewal calls while FAILED. */
static void test_dead(void)
{
	char st[32];
	int64_t t0 = now_ms();
	double h;
	cJSON *j;
	const cJSON *e;

	tsim_ctl(&sim, "/fault", "{\"kind\":\"session_expired\",\"seller\":\"" UNB "\"}");
	do {
		state(st, sizeof st);
		if (!strcmp(st, "FAILED"))
			break;
		usleep(200000);
	} while (now_ms() - t0 < 15000);
	is_str(st, "FAILED", "the session expired: hasLogin false twice -> FAILED");
	j = status_json();
	e = cJSON_GetObjectItemCaseSensitive(j, "last_error");
	ok(cJSON_IsString(e) && strstr(e->valuestring, "session expired") && strstr(e->valuestring, "hasLogin"),
	   "last_error says the session expired, as hasLogin said");
	cJSON_Delete(j);
	h = tsim_stat(&sim, "renew_haslogin") + tsim_stat(&sim, "renew_loginuser");
	sleep(3);
	is_int(tsim_stat(&sim, "renew_haslogin") + tsim_stat(&sim, "renew_loginuser"), h,
	       "FAILED: no renewal calls for 3 s (cadence 1 s)");
}

/* After a new login (cookie_set), risk control on the passport itself (the
 * sim's risk variant haslogin: mtop answers, hasLogin.do answers RGV587 with
 * a punish URL): the renewal makes the account FAILED (risk) with that URL,
 * and no renewal calls follow while it is. */
static void test_risk_on_haslogin(void)
{
	char st[32], cmd[1600];
	int64_t t0 = now_ms();
	double h;
	cJSON *j;
	const cJSON *sess, *k, *u;

	tsim_ctl(&sim, "/fault", "{\"kind\":\"session_expired\",\"on\":false,\"seller\":\"" UNB "\"}");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"risk\",\"variant\":\"haslogin\",\"seller\":\"" UNB "\"}");
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' ctl --config '%s' cookie_set '{\"cookie\":\"%s\"}' "
		 ">/dev/null 2>&1", build, bot.cfg, COOKIE);
	is_int(system(cmd), 0, "a new login (cookie_set) leaves FAILED");
	do {
		j = status_json();
		sess = cJSON_GetObjectItemCaseSensitive(j, "session");
		k = cJSON_GetObjectItemCaseSensitive(sess, "fail_kind");
		if (cJSON_IsString(k) && !strcmp(k->valuestring, "risk"))
			break;
		cJSON_Delete(j);
		j = NULL;
		usleep(200000);
	} while (now_ms() - t0 < 15000);
	sess = cJSON_GetObjectItemCaseSensitive(j, "session");
	u = cJSON_GetObjectItemCaseSensitive(sess, "punish_url");
	ok(j != NULL, "hasLogin answers RGV587: FAILED (risk)");
	ok(cJSON_IsString(u) && strstr(u->valuestring, "punish?x5secdata=simhaslogin"),
	   "status session.punish_url is the passport answer's");
	cJSON_Delete(j);
	state(st, sizeof st);
	is_str(st, "FAILED", "the state is FAILED");
	h = tsim_stat(&sim, "renew_haslogin") + tsim_stat(&sim, "renew_loginuser");
	sleep(3);
	is_int(tsim_stat(&sim, "renew_haslogin") + tsim_stat(&sim, "renew_loginuser"), h,
	       "FAILED (risk): no renewal calls for 3 s (cadence 1 s)");
}

int main(void)
{
	char json[2048], cmd[1200];

	setvbuf(stdout, NULL, _IOLBF, 0);
	build = tbot_build_dir();
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"renew\",\"cookie_secret\":\"renew.cookie.secret\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\",\n"
		 "   \"passport_url\":\"http://127.0.0.1:@PORT@/\",\"request_timeout_s\":3},\n"
		 " \"session\":{\"renew_min_s\":1,\"renew_max_s\":1},\n"
		 " \"token\":{\"relogin_check_s\":600},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"}}\n");
	tbot_config(&bot, json);
	snprintf(cmd, sizeof cmd, "echo '%s' | '%s/shopkeep' secret set --config '%s' cookie >/dev/null 2>&1", COOKIE,
		 build, bot.cfg);
	is_int(system(cmd), 0, "shopkeep secret set stores the cookie encrypted");
	tsim_ctl(&sim, "/config", "{\"token_ttl_ms\":30000}");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers");
	test_merge_and_status();
	test_short_token();
	test_foreign_unb();
	test_one_in_flight();
	test_backoff();
	test_dead();
	test_risk_on_haslogin();
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
