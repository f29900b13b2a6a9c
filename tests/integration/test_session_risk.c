/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_session_risk.c - a dead session, risk control and
 * kicks are never a hot loop (issue 20 item 5): the real build/shopkeep
 * against tests/sim, one fresh bot per scenario, over a compressed hour.
 *
 * The compressed hour. Every pause of the reconnect policy is the default
 * divided by SCALE (300): an hour of the defaults is HOUR_MS (12 s) here.
 * reconnect.risk_backoff_s 1800 -> 6, token.relogin_check_s 1200 -> 4,
 * reconnect.*_base_ms / *_cap_ms 2000/60000, 1000/15000, 2000/30000 ->
 * 7/200, 3/50, 7/100 (jitter stays 25%). For each scenario the bound of the
 * token calls (and connection attempts) per hour is computed from those
 * settings, stated in the test's name and asserted against the calls the
 * simulator logged (/sent) in HOUR_MS after the fault:
 *   risk (each variant)                    1 + HOUR / risk_backoff_s (3)
 *   session expired                        1 + HOUR / relogin_check_s (4)
 *   a token API that keeps failing         the backoff schedule at its
 *                                          shortest jitter (other class for a
 *                                          ret, network for an HTTP 503)
 *   refused, black-holed connections       no token call; connection attempts
 *                                          within the network schedule
 *   session expired on the token refresh   the connection closes; the first
 *   of a live connection                   call, the refresh, 1 + HOUR /
 *                                          relogin_check_s (5)
 *   a kick storm                           FAILED (kicked) after kick_max
 *                                          kicks, then kick_max per
 *                                          relogin_check_s; 1 + HOUR /
 *                                          relogin_check_s token calls
 * And risk control answering a plugin's call (orders verifying a paid
 * order) while connected: FAILED (risk), the connection closed.
 * The connect timeout cannot go below 1 s (a black hole's attempts are
 * bounded by it, not scaled: at most HOUR / 1 s).
 */
#include "tap.h"
#include "sim/tbot.h"
#include "sign.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000001"
#define TOKEN_API "mtop.taobao.idlemessage.pc.login.token"
#define SCALE 300
#define HOUR_MS (3600 * 1000 / SCALE)
#define RISK_S (1800 / SCALE)           /* reconnect.risk_backoff_s (the default 1800) */
#define RELOGIN_S (1200 / SCALE)        /* token.relogin_check_s: 1200, not its 1800, so that a
					 * mix-up of the two pauses shows */
#define KICK_MAX 3
#define KICK_WINDOW_S 2                 /* reconnect.kick_window_s (600 s, not scaled to fit a storm) */
#define JITTER 25

static tc_sim sim;
static tbot bot;
static const char *build;

/* The class's base and cap in ms, scaled (core/config.c's defaults / SCALE). */
enum { NET_BASE = 2000 / SCALE, NET_CAP = 60000 / SCALE, CLOSED_BASE = 1000 / SCALE, CLOSED_CAP = 15000 / SCALE,
       OTHER_BASE = 2000 / SCALE, OTHER_CAP = 30000 / SCALE };

/* The most attempts a backoff class allows within ms: the first at once,
 * then each after its delay min(base * 2^(n-1), cap) at its shortest jitter
 * (core/backoff.c: d +- d * jitter / 100), plus one for a delay rounded
 * down to whole ms. */
static int max_attempts(int base, int cap, int ms)
{
	double t = 0, d = base;
	int n = 1;

	for (;;) {
		double step = (d < cap ? d : cap) * (100 - JITTER) / 100.0 - 1;

		if (step < 1)
			step = 1;
		if (t + step > ms)
			return n + 1;
		t += step;
		n++;
		d *= 2;
	}
}

static int refresh_before_s = 3600;
static int with_orders;                 /* load dedup and orders, with rules.json */
static int no_cookie;                   /* the account has no cookie yet (a login brings it) */

/* Writes a fresh bot's config: the compressed hour's settings. */
static void write_config(void)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"demo\"%s},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\","
		 "\"heartbeat_interval_s\":1,\"heartbeat_timeout_s\":3,\"connect_timeout_s\":1,\"request_timeout_s\":2},\n"
		 " \"reconnect\":{\"network_base_ms\":%d,\"network_cap_ms\":%d,\"closed_base_ms\":%d,\"closed_cap_ms\":%d,"
		 "\"other_base_ms\":%d,\"other_cap_ms\":%d,\"jitter_pct\":%d,\"risk_backoff_s\":%d,\"kick_max\":%d,"
		 "\"kick_window_s\":%d},\n"
		 " \"token\":{\"relogin_check_s\":%d,\"refresh_before_s\":%d},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"log\":{\"level\":\"info\"},\n"
		 "%s%s%s"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 no_cookie ? "" : ",\"cookie\":\"cna=abc; unb=" UNB "; cookie2=c2; "
		 "_m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; _m_h5_tk_enc=e\"",
		 NET_BASE, NET_CAP, CLOSED_BASE, CLOSED_CAP, OTHER_BASE, OTHER_CAP, JITTER, RISK_S, KICK_MAX,
		 KICK_WINDOW_S, RELOGIN_S, refresh_before_s, with_orders ? " \"plugins\":{\"dir\":\"" : "",
		 with_orders ? tbot_build_dir() : "",
		 with_orders ? "/plugins\",\"load\":[\"dedup\",\"orders\"]},\n \"rules\":\"rules.json\",\n" : "");
	tbot_config(&bot, json);
}

/* How many calls of api the simulator logged so far. */
static int calls_of(const char *api)
{
	char path[200];
	cJSON *r;
	int n;

	snprintf(path, sizeof path, "/sent?since=0&what=%s", api);
	r = tc_ctl(sim.ctl_port, "GET", path, NULL, NULL);
	n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "frames"));
	cJSON_Delete(r);
	return n;
}

/* The bot's status --json (owned; NULL when it did not answer). It exits 3
 * when the account is not connected, with the same JSON. */
static cJSON *status_json(void)
{
	char cmd[1200];
	int st;
	const char *out;

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' status --json --config '%s' 2>/dev/null", build, bot.cfg);
	out = tbot_sh(cmd, &st);
	return cJSON_Parse(out);
}

/* The status's session.fail_kind, in a static buffer ("?" when no answer). */
static const char *fail_kind(void)
{
	static char k[32];
	cJSON *j = status_json();
	const char *v = tc_jstr(j, "session.fail_kind");

	snprintf(k, sizeof k, "%s", j && v ? v : "?");
	cJSON_Delete(j);
	return k;
}

/* The status's metrics.kicks (-1 when no answer). */
static double kicks_seen(void)
{
	cJSON *j = status_json();
	double v = tc_jnum(j, "metrics.kicks");

	cJSON_Delete(j);
	return j ? v : -1;
}

/* Starts a fresh bot (its own state.db: it fetches a token first). */
static int start_bot(void)
{
	if (tbot_init(&bot, &sim))
		return -1;
	if (with_orders) {
		char path[400];
		FILE *f;

		snprintf(path, sizeof path, "%s/rules.json", bot.dir);
		if (!(f = fopen(path, "w")))
			return -1;
		fputs("{\"cards\":[{\"name\":\"t\",\"type\":\"text\",\"template\":\"thanks\"}],"
		      "\"delivery\":[{\"item_id\":\"50001\",\"card\":\"t\"}]}\n", f);
		fclose(f);
	}
	write_config();
	tbot_start(&bot);
	return 0;
}

/* Stops the bot and resets the simulator (faults, accounts, tokens). */
static void stop_bot(const char *name)
{
	ok(tbot_stop(&bot, SIGTERM) == 0, "%s: the bot exits 0 on SIGTERM", name);
	tbot_done(&bot, tap_failed > 0);
	tsim_ctl(&sim, "/reset", "{}");
}

/* Waits until the bot's session is registered: 1 or 0. */
static int wait_registered(double reg0, int ms)
{
	return tsim_wait_stat(&sim, "reg_ok", reg0 + 1, ms) >= 0;
}

/* A platform that says no from the start (fault set before the bot
 * starts): FAILED of kind at once, and the token calls of a compressed hour
 * stay within 1 + HOUR / pause. */
static void hostile_from_start(const char *name, const char *fault, const char *kind, int relogin)
{
	int pause = relogin ? RELOGIN_S : RISK_S, bound = 1 + HOUR_MS / 1000 / pause, t0, n;
	char needle[64];
	cJSON *j;

	tsim_ctl(&sim, "/fault", fault);
	t0 = calls_of(TOKEN_API);
	if (start_bot())
		return;
	snprintf(needle, sizeof needle, "\"fail_kind\":\"%s\"", kind);
	ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", needle, NULL, 1, 5000), "%s: FAILED at once, the feed says fail_kind %s",
	   name, kind);
	j = status_json();
	ok(j && !strcmp(tc_jstr(j, "session.fail_kind") ? tc_jstr(j, "session.fail_kind") : "", kind),
	   "%s: status session.fail_kind %s", name, kind);
	ok(j && cJSON_IsTrue(tc_jget(j, "needs_relogin")) == relogin, "%s: needs_relogin is %s", name,
	   relogin ? "true" : "false");
	{
		double next = tc_jnum(j, "session.next_check_ms"), now = (double)util_now_ms();

		ok(next > now && next <= now + pause * 1000 + 500, "%s: status session.next_check_ms is the check "
		   "within %d s", name, pause);
	}
	if (!relogin)
		ok(j && strstr(tc_jstr(j, "session.punish_url") ? tc_jstr(j, "session.punish_url") : "",
			       "_____tmd_____/punish?x5secdata="), "%s: status shows the punish URL", name);
	cJSON_Delete(j);
	{
		char cmd[1200];
		int st;
		const char *out;

		snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' status --config '%s' 2>/dev/null", build, bot.cfg);
		out = tbot_sh(cmd, &st);
		ok(relogin ? strstr(out, "needs login: the platform says the session expired") != NULL
			   : strstr(out, "risk control: the platform asks for a check; open https://") &&
			     strstr(out, "punish?x5secdata="),
		   "%s: shopkeep status says it in words", name);
	}
	usleep(HOUR_MS * 1000);
	n = calls_of(TOKEN_API) - t0;
	ok(n >= 1 && n <= bound, "%s: %d token calls in a compressed hour (bound %d: 1 + 3600 s / %d s)", name, n,
	   bound, pause * SCALE);
	ok(tbot_alive(&bot), "%s: the bot is alive", name);
	stop_bot(name);
}

/* Whether the simulator has a registered connection of the account. */
static int sim_registered(void)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/state", NULL, NULL), *c;
	int n = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "conns"))
		n += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "registered"));
	cJSON_Delete(r);
	return n;
}

/* The session dies while connected: the token refresh of a live connection
 * answers FAIL_SYS_SESSION_EXPIRED. FAILED (login) closes the connection
 * (it used to stay up, FAILED but registered), no refresh timer is left to
 * fetch a token behind the pause, and the token calls stay within the
 * bound. */
static void expired_while_connected(void)
{
	double reg0 = tsim_stat(&sim, "reg_ok");
	int t0, n, bound = 1 + 1 + HOUR_MS / 1000 / RELOGIN_S;

	tsim_ctl(&sim, "/config", "{\"token_ttl_ms\":4000}");
	refresh_before_s = 2;
	t0 = calls_of(TOKEN_API);
	if (start_bot())
		return;
	ok(wait_registered(reg0, 5000), "expired while connected: the bot registers");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"session_expired\",\"on\":true,\"seller\":\"" UNB "\"}");
	ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", "\"fail_kind\":\"login\"", NULL, 1, 5000),
	   "expired while connected: the token refresh makes it FAILED (login)");
	usleep(300000);
	is_int(sim_registered(), 0, "expired while connected: FAILED closes the connection");
	usleep(HOUR_MS * 1000);
	n = calls_of(TOKEN_API) - t0;
	ok(n >= 2 && n <= bound, "expired while connected: %d token calls in a compressed hour (bound %d: the first, "
	   "the refresh, 1 per relogin_check_s)", n, bound);
	is_int(sim_registered(), 0, "expired while connected: still not connected");
	stop_bot("expired while connected");
	tsim_ctl(&sim, "/config", "{\"token_ttl_ms\":86400000}");
	refresh_before_s = 3600;
}

/* Risk control answers a plugin's call (orders verifying a paid order's
 * detail) while the account is connected: FAILED (risk) at once, the
 * connection closed, the punish URL of that call kept. */
static void risk_on_plugin_call(void)
{
	double reg0 = tsim_stat(&sim, "reg_ok");
	cJSON *j;
	const char *u;

	with_orders = 1;
	if (start_bot())
		return;
	ok(wait_registered(reg0, 5000), "risk on a plugin's call: the bot registers");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"risk\",\"on\":true,\"seller\":\"" UNB "\"}");
	tsim_ctl(&sim, "/order", "{\"seller\":\"" UNB "\",\"order_id\":\"2503688100000001\",\"cid\":\"60001\","
		 "\"buyer\":\"760001\",\"buyer_name\":\"买家\",\"item_id\":\"50001\",\"quantity\":1,\"status\":\"placed\"}");
	tsim_ctl(&sim, "/order/status", "{\"order_id\":\"2503688100000001\",\"status\":\"paid\",\"set\":true}");
	ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", "\"fail_kind\":\"risk\"", NULL, 1, 8000),
	   "risk on a plugin's call: FAILED (risk) while connected");
	usleep(300000);
	is_int(sim_registered(), 0, "risk on a plugin's call: the connection is closed");
	j = status_json();
	u = tc_jstr(j, "session.punish_url");
	ok(u && strstr(u, "mtop.idle.web.trade.order.detail") && strstr(u, "punish?x5secdata="),
	   "risk on a plugin's call: status shows that call's punish URL (%s)", u ? u : "none");
	cJSON_Delete(j);
	stop_bot("risk on a plugin's call");
	with_orders = 0;
}

/* Runs `shopkeep ctl cookie_set` with cookie: its exit status. */
static int cookie_set(const char *cookie)
{
	char cmd[1500];
	int st;

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' ctl cookie_set --config '%s' '{\"cookie\":\"%s\"}' "
		 ">/dev/null 2>&1", build, bot.cfg, cookie);
	tbot_sh(cmd, &st);
	return st;
}

/* A new login (cookie_set: session_login) leaves FAILED at once, whatever
 * the kind, and forgets it: from "no cookie yet" (login) into risk control,
 * and from risk control to CONNECTED without waiting risk_backoff_s. */
static void new_login_leaves_failed(void)
{
	const char *ck = "unb=" UNB "; cookie2=c2; _m_h5_tk=0123456789abcdef0123456789abcdef_1";
	double reg0;
	int64_t t;
	cJSON *j;

	no_cookie = 1;
	if (start_bot())
		return;
	ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", "\"fail_kind\":\"login\"", NULL, 1, 5000),
	   "new login: an account with no cookie yet is FAILED (login)");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"risk\",\"on\":true,\"seller\":\"" UNB "\"}");
	is_int(cookie_set(ck), 0, "new login: cookie_set is taken");
	ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", "\"fail_kind\":\"risk\"", NULL, 1, 3000),
	   "new login: it tried at once and is FAILED (risk) now");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"risk\",\"on\":false,\"seller\":\"" UNB "\"}");
	reg0 = tsim_stat(&sim, "reg_ok");
	t = util_mono_us();
	is_int(cookie_set(ck), 0, "new login: a second cookie_set is taken");
	ok(wait_registered(reg0, (RISK_S - 2) * 1000), "new login: registered in %lld ms, not after risk_backoff_s",
	   (long long)((util_mono_us() - t) / 1000));
	j = status_json();
	ok(j && !strcmp(tc_jstr(j, "state") ? tc_jstr(j, "state") : "", "CONNECTED") &&
	   !strcmp(tc_jstr(j, "session.fail_kind") ? tc_jstr(j, "session.fail_kind") : "?", "") &&
	   !strcmp(tc_jstr(j, "session.punish_url") ? tc_jstr(j, "session.punish_url") : "?", ""),
	   "new login: CONNECTED, the fail kind and punish URL forgotten");
	cJSON_Delete(j);
	stop_bot("new login");
	no_cookie = 0;
}

/* The token API keeps failing with fault (not a dead login, not risk): the
 * calls follow the class's backoff, within its schedule. */
static void token_keeps_failing(const char *name, const char *fault, int base, int cap)
{
	int bound = max_attempts(base, cap, HOUR_MS), t0, n;

	tsim_ctl(&sim, "/fault", fault);
	t0 = calls_of(TOKEN_API);
	if (start_bot())
		return;
	usleep(HOUR_MS * 1000);
	n = calls_of(TOKEN_API) - t0;
	ok(n >= 2 && n <= bound, "%s: %d token calls in a compressed hour (bound %d: the backoff at %d%% jitter, "
	   "%d..%d ms scaled; %d per real hour)", name, n, bound, JITTER, base, cap,
	   max_attempts(base * SCALE, cap * SCALE, 3600 * 1000));
	ok(strcmp(fail_kind(), "?") && !*fail_kind(), "%s: no fail kind: it keeps trying, slowly", name);
	stop_bot(name);
}

/* Connections refused or black-holed after a registration: no token call
 * (the token is kept), attempts within the network schedule. */
static void connection_faults(void)
{
	double reg0 = tsim_stat(&sim, "reg_ok"), r0;
	int t0, n, bound;

	if (start_bot())
		return;
	ok(wait_registered(reg0, 5000), "refuse: the bot registers first");
	t0 = calls_of(TOKEN_API);
	r0 = tsim_stat(&sim, "refused");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":100000}");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"drop\",\"how\":\"rst\",\"seller\":\"" UNB "\"}");
	usleep(HOUR_MS * 1000);
	n = (int)(tsim_stat(&sim, "refused") - r0);
	bound = max_attempts(NET_BASE, NET_CAP, HOUR_MS);
	ok(n >= 2 && n <= bound, "refuse: %d connection attempts in a compressed hour (bound %d, the network class)", n,
	   bound);
	is_int(calls_of(TOKEN_API) - t0, 0, "refuse: no token call (the token is kept)");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":0}");

	reg0 = tsim_stat(&sim, "reg_ok");
	ok(wait_registered(reg0 - 1, 3000), "blackhole: registered again after the refusals");
	t0 = calls_of(TOKEN_API);
	r0 = tsim_stat(&sim, "blackholed");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"blackhole\",\"n\":100000}");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"drop\",\"how\":\"rst\",\"seller\":\"" UNB "\"}");
	usleep(HOUR_MS * 1000);
	n = (int)(tsim_stat(&sim, "blackholed") - r0);
	ok(n >= 2 && n <= HOUR_MS / 1000 + 1, "blackhole: %d connection attempts in a compressed hour (bound %d: one per "
	   "connect_timeout_s 1)", n, HOUR_MS / 1000 + 1);
	is_int(calls_of(TOKEN_API) - t0, 0, "blackhole: no token call (the token is kept)");
	stop_bot("connection faults");
}

/* A kick storm: another client takes the connection each time it
 * registers. After kick_max kicks the account is FAILED (kicked) and stops
 * reconnecting until relogin_check_s; a second /reg with another device id
 * is a kick too. */
static void kick_storm(void)
{
	double reg0 = tsim_stat(&sim, "reg_ok"), reg1;
	int t0, n = 0, kicks = 0, bound = KICK_MAX * (1 + HOUR_MS / 1000 / RELOGIN_S);
	int64_t end;
	tc_ws *w = NULL;

	if (start_bot())
		return;
	ok(wait_registered(reg0, 5000), "kicks: the bot registers");
	/* one browser registration (another did): a kick, the bot comes back */
	{
		cJSON *env = tc_mtop(sim.port, "cna=abc; unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1",
				     TOKEN_API, "{\"appKey\":\"" SIGN_IM_APPKEY "\",\"deviceId\":\"browser\"}",
				     NULL, NULL, NULL);
		const char *tok = tc_jstr(env, "data.accessToken");
		char hdr[300], reg[900];

		snprintf(hdr, sizeof hdr, "Cookie: unb=" UNB "\r\n");
		w = tok ? tc_ws_connect(sim.port, "/", hdr, 3000, NULL) : NULL;
		snprintf(reg, sizeof reg, "{\"lwp\":\"/reg\",\"headers\":{\"app-key\":\"" SIGN_IM_APPKEY "\","
			 "\"token\":\"%s\",\"did\":\"browser\",\"mid\":\"1 0\"}}", tok ? tok : "");
		reg1 = tsim_stat(&sim, "kicks");
		if (w)
			tc_ws_send_text(w, reg, strlen(reg));
		ok(tsim_wait_stat(&sim, "kicks", reg1 + 1, 3000) >= 0, "kicks: a /reg with another device id kicks the bot");
		reg0 = tsim_stat(&sim, "reg_ok");
		ok(wait_registered(reg0, 3000), "kicks: the bot comes back after one kick");
		cJSON_Delete(env);
		tc_ws_close(w, 0);
	}
	/* a flaky network: connections that just end (no close frame) are not kicks */
	{
		int i, back = 1;
		double k0 = kicks_seen();

		for (i = 0; i < KICK_MAX + 1 && back; i++) {
			cJSON *r;

			reg0 = tsim_stat(&sim, "reg_ok");
			r = tc_ctl(sim.ctl_port, "POST", "/fault", "{\"kind\":\"drop\",\"how\":\"fin\",\"seller\":\"" UNB "\"}",
				   NULL);
			cJSON_Delete(r);
			back = wait_registered(reg0, 5000);
		}
		ok(back && !*fail_kind() && k0 >= 1 && kicks_seen() == k0, "kicks: %d dropped connections (FIN) are the "
		   "network, not kicks: the bot comes back each time, counts no kick and is not FAILED", KICK_MAX + 1);
	}
	/* the storm: a relentless browser; the window of the one kick above is
	 * kick_window_s, so wait it out first */
	usleep(KICK_WINDOW_S * 1000000 + 200000);
	t0 = calls_of(TOKEN_API);
	end = util_mono_us() + (int64_t)HOUR_MS * 1000;
	while (util_mono_us() < end) {
		cJSON *r = tc_ctl(sim.ctl_port, "POST", "/fault", "{\"kind\":\"kick\",\"seller\":\"" UNB "\"}", NULL);

		if (tc_jnum(r, "n") > 0) {
			kicks++;
			if (kicks == KICK_MAX) {
				reg1 = tsim_stat(&sim, "reg_ok");
				ok(tbot_wait_ev(&bot, "\"to\":\"FAILED\"", "\"fail_kind\":\"kicked\"", NULL, 1, 2000),
				   "kicks: FAILED (kicked) after kick_max (%d) kicks", KICK_MAX);
				is_str(fail_kind(), "kicked", "kicks: status session.fail_kind kicked");
				usleep((RELOGIN_S - 1) * 1000000);
				ok(tsim_stat(&sim, "reg_ok") == reg1, "kicks: it stops reconnecting (no /reg for %d s)",
				   RELOGIN_S - 1);
			}
		}
		cJSON_Delete(r);
		usleep(20000);
	}
	n = calls_of(TOKEN_API) - t0;
	ok(kicks >= KICK_MAX && kicks <= bound, "kicks: %d kicks taken in a compressed hour (bound %d: kick_max per "
	   "relogin_check_s)", kicks, bound);
	ok(n <= 1 + HOUR_MS / 1000 / RELOGIN_S, "kicks: %d token calls in a compressed hour (bound %d: 1 + 3600 s / "
	   "relogin_check_s)", n, 1 + HOUR_MS / 1000 / RELOGIN_S);
	stop_bot("kicks");
}

int main(void)
{
	const char *args[] = {"--reg-reject-delay-ms", "200", NULL};
	char fail[300];

	build = tbot_build_dir();
	if (!ok(tc_sim_start(&sim, args) == 0, "simulator starts"))
		return tap_done();
	hostile_from_start("risk RGV587", "{\"kind\":\"risk\",\"on\":true,\"seller\":\"" UNB "\"}",
			   "risk", 0);
	hostile_from_start("risk RRXVv", "{\"kind\":\"risk\",\"on\":true,\"variant\":\"rrxvv\",\"seller\":\"" UNB "\"}",
			   "risk", 0);
	hostile_from_start("session expired", "{\"kind\":\"session_expired\",\"on\":true,\"seller\":\"" UNB "\"}",
			   "login", 1);
	snprintf(fail, sizeof fail, "{\"kind\":\"mtop_fail\",\"seller\":\"" UNB "\",\"api\":\"%s\",\"n\":100000,"
		 "\"ret\":\"FAIL_SYS_SERVICE_UNAVAILABLE::服务不可用\"}", TOKEN_API);
	expired_while_connected();
	risk_on_plugin_call();
	new_login_leaves_failed();
	token_keeps_failing("token API failing (ret)", fail, OTHER_BASE, OTHER_CAP);
	snprintf(fail, sizeof fail, "{\"kind\":\"mtop_fail\",\"seller\":\"" UNB "\",\"api\":\"%s\",\"n\":100000,\"status\":503}", TOKEN_API);
	token_keeps_failing("token API failing (HTTP 503)", fail, NET_BASE, NET_CAP);
	connection_faults();
	kick_storm();
	ok(tc_sim_stop(&sim) == 0, "simulator exits 0");
	return tap_done();
}
