/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_session.c - the real build/shopkeep against
 * build/shopkeep-sim on loopback: registration, heartbeats, ACKs, multi-item
 * pushes, garbage, reconnects by fault, the token cache and refresh, session
 * expiry, sends (refusals, echoes, exactly once across a drop and a kill -9).
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNB "2200000000001"

static tc_sim sim;
static tbot bot;

static const char *js(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define stat_of(name) tsim_stat(&sim, name)
#define ctl(path, body) tsim_ctl(&sim, path, body)
#define wait_stat(name, want, ms) tsim_wait_stat(&sim, name, want, ms)
#define delivered(text) tsim_delivered(&sim, text)
#define wait_delivered(text, want, ms) tsim_wait_delivered(&sim, text, want, ms)
#define evcount(a, b, c) tbot_evcount(&bot, a, b, c)
#define wait_ev(a, b, c, want, ms) tbot_wait_ev(&bot, a, b, c, want, ms)
#define bot_start() tbot_start(&bot)
#define bot_stop(sig) tbot_stop(&bot, sig)
#define bot_alive() tbot_alive(&bot)

static int registered_now(void)
{
	cJSON *s = tc_ctl(sim.ctl_port, "GET", "/state", NULL, NULL), *c;
	int n = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "conns"))
		n += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "registered"));
	cJSON_Delete(s);
	return n;
}

static long wait_registered(int timeout_ms)
{
	int64_t t0 = util_mono_us();

	while (util_mono_us() - t0 < (int64_t)timeout_ms * 1000) {
		if (registered_now() > 0)
			return (long)((util_mono_us() - t0) / 1000);
		usleep(20000);
	}
	return -1;
}

/* The reconnect tests close registered connections many times a minute, as
 * kicks would: reconnect.kick_max 0 keeps them reconnecting (the kicks are
 * test_session_risk's). */
static void write_config(const char *rate, int refresh_before_s)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"demo\",\"cookie\":\"cna=abc; unb=" UNB "; cookie2=c2; "
		 "_m_h5_tk=0123456789abcdef0123456789abcdef_1700000000000; _m_h5_tk_enc=e\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\","
		 "\"heartbeat_interval_s\":1,\"heartbeat_timeout_s\":3,\"connect_timeout_s\":2,\"request_timeout_s\":3},\n"
		 " \"reconnect\":{\"network_base_ms\":200,\"network_cap_ms\":800,\"closed_base_ms\":100,\"closed_cap_ms\":400,"
		 "\"other_base_ms\":150,\"other_cap_ms\":600,\"jitter_pct\":25,\"kick_max\":0},\n"
		 " \"token\":{\"refresh_before_s\":%d,\"relogin_check_s\":3600},\n"
		 " \"send\":{\"rate_per_s\":%s,\"burst\":1},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"log\":{\"level\":\"debug\"},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\",\"reply_prefix\":\"re: \"}}\n",
		 refresh_before_s, rate);
	tbot_config(&bot, json);
}

static void inject(const char *cid, const char *text)
{
	char b[512];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"3%s\",\"text\":\"%s\"}", cid, cid, text);
	ctl("/inject", b);
}

static void test_register_and_heartbeat(void)
{
	long t = wait_registered(5000);
	double hb0;

	ok(t >= 0, "bot: registers with the simulator (%ld ms)", t);
	ok(stat_of("tokens_minted") == 1, "bot: fetched one IM token with a signed mtop call");
	ok(wait_stat("ackdiffs", 1, 2000) >= 0, "bot: sends ackDiff after /reg");
	hb0 = stat_of("heartbeats");
	ok(wait_stat("heartbeats", hb0 + 2, 3500) >= 0, "bot: heartbeats every interval");
	ok(wait_ev("\"kind\":\"state\"", "\"to\":\"CONNECTED\"", NULL, 1, 1000), "bot: the state change is published");
	{
		cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=open", NULL, NULL);
		const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "frames"), 0);
		const char *ext = js(e, "extensions"), *origin = js(e, "origin"), *ua = js(e, "user_agent");

		ok(ext && strstr(ext, "permessage-deflate"), "upgrade: permessage-deflate offered (%s)", ext ? ext : "none");
		ok(origin && !strcmp(origin, "https://www.goofish.com"), "upgrade: Origin https://www.goofish.com");
		ok(ua && strstr(ua, "Mozilla/5.0") && strstr(ua, "Chrome"), "upgrade: a browser User-Agent");
		cJSON_Delete(r);
	}
}

static void test_pushes(void)
{
	inject("10001", "你好");
	ok(wait_ev("\"type\":\"chat_text\"", "\"text\":\"你好\"", "\"chat_id\":\"10001\"", 1, 3000),
	   "push: a buyer text becomes a chat_text event");
	ctl("/inject", "{\"seller\":\"" UNB "\",\"cid\":\"10001\",\"text\":\"second item\",\"position\":2}");
	ok(wait_ev("\"type\":\"chat_text\"", "\"text\":\"second item\"", NULL, 1, 3000),
	   "push: the chat item behind two receipts is decoded too");
	ok(wait_ev("\"type\":\"read\"", NULL, NULL, 2, 1000), "push: the receipts become read events");
	ctl("/push", "{\"seller\":\"" UNB "\",\"items\":[{\"kind\":\"typing\",\"cid\":\"10001\"},{\"kind\":\"vulcan\",\"cid\":\"10001\"},"
	    "{\"kind\":\"image\",\"cid\":\"10001\"},{\"kind\":\"tip\",\"cid\":\"10001\",\"text\":\"快给ta一个评价吧~\"}]}");
	ok(wait_ev("\"type\":\"chat_image\"", NULL, NULL, 1, 3000), "push: image event");
	ok(evcount("\"type\":\"typing\"", NULL, NULL) >= 1 && evcount("\"type\":\"system\"", NULL, NULL) >= 2,
	   "push: typing and system events (vulcan, tip)");
	ctl("/order", "{\"seller\":\"" UNB "\",\"order_id\":\"2503688126356636370\",\"cid\":\"10001\"}");
	ctl("/order/status", "{\"order_id\":\"2503688126356636370\",\"status\":\"paid\"}");
	ok(wait_ev("\"type\":\"trade\"", "\"trade\":\"paid\"", "\"order_id\":\"2503688126356636370\"", 1, 3000),
	   "push: a paid card becomes a trade event with the order id");
	ok(wait_ev("\"type\":\"payment\"", NULL, NULL, 1, 2000), "push: payment summary event");
	ok(wait_ev("\"type\":\"msg_update\"", NULL, NULL, 1, 2000), "push: message-update event");
	usleep(300000);
	is_int(stat_of("unacked"), 0, "push: every push was ACKed");
}

/* A turn with many frames to send: while the bot is stopped, 30 pushes wait in
 * its socket; on SIGCONT it ACKs them all at once (several small frames per
 * WRITEABLE, core/session.c) between replies of which some are long (those
 * are written alone). The simulator gets each ACK, no bad frame, and every
 * reply intact. */
static void test_burst(void)
{
	double acks0 = stat_of("acks"), bad0 = stat_of("bad_frames"), dup0 = stat_of("dup_acks");
	char big[1601], b[2000], want[1700];
	int st, i, got = 0;

	for (i = 0; i < 1600; i++)
		big[i] = (char)('a' + i % 26);
	big[1600] = '\0';
	kill(bot.pid, SIGSTOP);
	waitpid(bot.pid, &st, WUNTRACED);
	for (i = 0; i < 30; i++) {
		snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"10010\",\"buyer\":\"310010\","
			 "\"text\":\"burst %d%s%s\"}", i, i % 10 == 5 ? " " : "", i % 10 == 5 ? big : "");
		ctl("/inject", b);
	}
	kill(bot.pid, SIGCONT);
	st = wait_stat("acks", acks0 + 30, 5000) >= 0;
	ok(st, "burst: the 30 pushes are ACKed (%.0f)", stat_of("acks") - acks0);
	ok(wait_delivered("re: burst 29", 1, 5000), "burst: the last reply arrives");
	for (i = 0; i < 30; i++) {
		snprintf(want, sizeof want, "re: burst %d%s%s", i, i % 10 == 5 ? " " : "", i % 10 == 5 ? big : "");
		got += delivered(want) == 1;
	}
	is_int(got, 30, "burst: every reply reached the buyer once, the long ones intact");
	ok(stat_of("bad_frames") == bad0 && stat_of("dup_acks") == dup0, "burst: no bad frame, no ACK twice");
}

static void test_garbage(void)
{
	static const char *const kinds[] = {
		"{\"kind\":\"garbage\",\"what\":\"json\"}",
		"{\"kind\":\"garbage\",\"what\":\"deep_json\"}",
		"{\"kind\":\"garbage\",\"what\":\"utf8\"}",
		"{\"kind\":\"garbage\",\"what\":\"oversize\",\"size\":9000000}",
		"{\"kind\":\"garbage\",\"what\":\"base64\",\"with_good\":true,\"cid\":\"10002\",\"text\":\"after bad base64\"}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_truncated\",\"with_good\":true,\"cid\":\"10002\",\"text\":\"after truncated\"}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":0}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":1}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":2}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":3}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":4}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":5}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":9}",
		"{\"kind\":\"garbage\",\"what\":\"msgpack_json_array\"}",
	};
	double reg0 = stat_of("reg_ok");
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char b[400];

		snprintf(b, sizeof b, "%.*s,\"seller\":\"" UNB "\"}", (int)strlen(kinds[i]) - 1, kinds[i]);
		ctl("/fault", b);
	}
	inject("10002", "still alive");
	ok(wait_ev("\"text\":\"still alive\"", NULL, NULL, 1, 5000), "garbage: every kind survived, the next message is handled");
	ok(evcount("\"text\":\"after bad base64\"", NULL, NULL) == 1 && evcount("\"text\":\"after truncated\"", NULL, NULL) == 1,
	   "garbage: the good item next to a bad one is still processed");
	ok(bot_alive() && stat_of("reg_ok") == reg0, "garbage: same process, same connection");
	usleep(300000);
	is_int(stat_of("unacked"), 0, "garbage: pushes with bad items are ACKed too");
}

/* The bot's VmRSS in kB, -1 if unknown. */
static long bot_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)bot.pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* Big frames under the 8 MiB limit are handled, and leave no memory behind:
 * the receive buffer used to keep its capacity for good, and the heap
 * above it could not shrink (make soak saw 11 -> 24 MB after two 4 MiB
 * frames). */
static void test_big_frames(void)
{
	long before, after;
	char b[200];

#if defined(__SANITIZE_ADDRESS__)
	skip("RSS under AddressSanitizer (its quarantine keeps freed memory)");
	return;
#endif
	inject("10002", "before big frames");
	wait_ev("\"text\":\"before big frames\"", NULL, NULL, 1, 5000);
	before = bot_rss_kb();
	for (int i = 1; i <= 3; i++) {
		ctl("/fault", "{\"kind\":\"garbage\",\"what\":\"oversize\",\"seller\":\"" UNB "\"}");
		snprintf(b, sizeof b, "after big frame %d", i);
		inject("10002", b);
		snprintf(b, sizeof b, "\"text\":\"after big frame %d\"", i);
		wait_ev(b, NULL, NULL, 1, 10000);
	}
	after = bot_rss_kb();
	ok(before > 0 && after - before < 2048, "big frames: three 4 MiB frames leave RSS within 2 MiB (%ld -> %ld kB)",
	   before, after);
}

/* Drops the connection with body; checks the bot is back within max_ms. */
static void reconnect_after(const char *what, const char *fault, int max_ms)
{
	double reg0 = stat_of("reg_ok");
	long t;

	ctl("/fault", fault);
	t = wait_stat("reg_ok", reg0 + 1, max_ms);
	ok(t >= 0, "reconnect after %s: registered again in %ld ms", what, t);
}

static void test_reconnects(void)
{
	reconnect_after("FIN", "{\"kind\":\"drop\",\"how\":\"fin\",\"seller\":\"" UNB "\"}", 3000);
	reconnect_after("RST", "{\"kind\":\"drop\",\"how\":\"rst\",\"seller\":\"" UNB "\"}", 3000);
	reconnect_after("close 4001", "{\"kind\":\"close\",\"code\":4001,\"seller\":\"" UNB "\"}", 3000);
	reconnect_after("a protocol violation", "{\"kind\":\"garbage\",\"what\":\"opcode\",\"seller\":\"" UNB "\"}", 3000);
	ctl("/fault", "{\"kind\":\"refuse\",\"n\":3}");
	reconnect_after("3 refused connections", "{\"kind\":\"drop\",\"how\":\"fin\",\"seller\":\"" UNB "\"}", 6000);
	is_int(stat_of("refused"), 3, "reconnect: the refusals happened");
	reconnect_after("a stalled server (heartbeat timeout)", "{\"kind\":\"stall\",\"seller\":\"" UNB "\"}", 9000);
	ctl("/fault", "{\"kind\":\"blackhole\",\"n\":1}");
	reconnect_after("a black-hole upgrade (connect deadline)", "{\"kind\":\"drop\",\"how\":\"fin\",\"seller\":\"" UNB "\"}", 8000);
	is_int(stat_of("blackholed"), 1, "reconnect: the black hole happened");
	ok(bot_alive(), "reconnect: still the same process");
	ok(evcount("\"to\":\"RECONNECTING\"", NULL, NULL) >= 6, "reconnect: each one went through RECONNECTING");
	is_int(stat_of("tokens_minted"), 1, "reconnect: no new token for connection faults");
}

/* Every "retry N in D ms (C class)" line of the bot's log: D within the class's
 * configured bounds (base*(1-25%) .. cap*(1+25%)). Returns lines seen per class. */
static void test_delay_bounds(void)
{
	static const struct { const char *name; int base, cap; } cls[] = {
		{"network", 200, 800}, {"closed", 100, 400}, {"other", 150, 600},
	};
	FILE *f = fopen(bot.log, "r");
	char line[1024];
	int seen[3] = {0, 0, 0}, bad = 0, i;

	while (f && fgets(line, sizeof line, f)) {
		char *p = strstr(line, "; retry "), cname[16];
		int n, d;

		if (!p || sscanf(p, "; retry %d in %d ms (%15s class)", &n, &d, cname) != 3)
			continue;
		for (i = 0; i < 3; i++) {
			if (strcmp(cname, cls[i].name))
				continue;
			seen[i]++;
			if (d < cls[i].base * 3 / 4 || d > cls[i].cap * 5 / 4) {
				bad++;
				diag("delay %d ms out of the %s bounds: %s", d, cname, line);
			}
		}
	}
	if (f)
		fclose(f);
	ok(seen[0] >= 3 && seen[1] >= 3, "delays: network (%d) and closed (%d) retries logged", seen[0], seen[1]);
	is_int(bad, 0, "delays: every reconnect delay within its class's bounds");
}

static void test_metrics_and_cookie(void)
{
	double reg0, minted;

	kill(bot.pid, SIGUSR1);
	usleep(300000);
	ok(tbot_log_has(&bot, "metrics: state=CONNECTED"), "metrics: SIGUSR1 logs them");

	/* the platform rotates _m_h5_tk: the bot retries once with the Set-Cookie value */
	ctl("/fault", "{\"kind\":\"expire_h5tk\",\"seller\":\"" UNB "\"}");
	reg0 = stat_of("reg_ok");
	minted = stat_of("tokens_minted");
	ctl("/fault", "{\"kind\":\"expire_token\",\"kick\":true,\"seller\":\"" UNB "\"}");
	ok(wait_stat("reg_ok", reg0 + 1, 6000) >= 0 && stat_of("tokens_minted") == minted + 1 &&
	   stat_of("mtop_token_expired") >= 1, "cookie: FAIL_SYS_TOKEN_EXOIRED, retried with the rotated _m_h5_tk");
}

static void test_sends(void)
{
	inject("10003", "hello");
	ok(wait_delivered("re: hello", 1, 4000), "send: the reply reached the buyer");
	ok(wait_ev("\"kind\":\"send\"", "\"ok\":true", NULL, 1, 2000), "send: acked with a messageId");
	ok(wait_ev("\"own\":true", "\"echo\":true", "\"text\":\"re: hello\"", 1, 3000), "send: its echo is recognised");
	ctl("/inject", "{\"seller\":\"" UNB "\",\"cid\":\"10003\",\"text\":\"typed by hand\",\"from_seller\":true}");
	ok(wait_ev("\"own\":true", "\"echo\":false", "\"text\":\"typed by hand\"", 1, 3000),
	   "send: a manual message is own but not an echo");
	ctl("/fault", "{\"kind\":\"send_fail\",\"n\":1,\"reason\":\"CSI_FORBID\",\"seller\":\"" UNB "\"}");
	inject("10003", "blocked?");
	ok(wait_ev("\"kind\":\"send\"", "\"ok\":false", "CSI_FORBID", 1, 4000), "send: CSI_FORBID is reported with its reason");
	usleep(500000);
	is_int(delivered("re: blocked?"), 0, "send: a refused send is not retried blindly");
}

/* Restarts the bot with another config; 1 when it registered again. */
static int restart(const char *rate, int refresh_before_s, int sig);

/* The echo of a send the last run made, pushed again to this run (its push
 * un-ACKed at a kill -9, or a platform re-sync): still our echo, found by
 * its IM id in the outbox. It counted as the seller typing by hand, and
 * paused autoreply in that chat (make soak). */
static void test_echo_restart(void)
{
	int n0;

	inject("10005", "echo me");
	ok(wait_delivered("re: echo me", 1, 4000), "echo restart: the reply went out");
	ok(wait_ev("\"own\":true", "\"echo\":true", "\"text\":\"re: echo me\"", 1, 3000),
	   "echo restart: its echo is recognised");
	ok(restart("20", 3600, SIGTERM), "echo restart: the bot restarts");
	n0 = evcount("\"own\":true", "\"text\":\"re: echo me\"", NULL);
	ctl("/replay", "{\"seller\":\"" UNB "\",\"n\":1}");
	ok(wait_ev("\"own\":true", "\"text\":\"re: echo me\"", NULL, n0 + 1, 4000),
	   "echo restart: the echo pushed again reaches the next run");
	is_int(evcount("\"own\":true", "\"echo\":false", "\"text\":\"re: echo me\""), 0,
	       "echo restart: it is still our echo, not a manual reply");
}

/* Restarts the bot with another config; 1 when it registered again. */
static int restart(const char *rate, int refresh_before_s, int sig)
{
	double reg0 = stat_of("reg_ok");

	bot_stop(sig);
	write_config(rate, refresh_before_s);
	bot_start();
	return wait_stat("reg_ok", reg0 + 1, 5000) >= 0;
}

/* The close code of the bot's last closed connection, as the simulator saw it. */
static int last_close_code(void)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=close", NULL, NULL);
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "frames"));
	const cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "frames"), n - 1);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(last, "peer_close_code");
	int c = cJSON_IsNumber(code) ? code->valueint : -1;

	cJSON_Delete(r);
	return c;
}

static void test_token(void)
{
	double minted = stat_of("tokens_minted"), reg0;
	long t;

	is_int(bot_stop(SIGTERM), 0, "stop: SIGTERM exits 0");
	usleep(100000);
	is_int(last_close_code(), 1000, "stop: the WebSocket is closed with 1000");
	ok(restart("20", 3600, SIGTERM), "token: the bot restarts");
	is_int(stat_of("tokens_minted"), minted, "token: reused from state.db across a restart (no new mtop call)");

	/* an expired token: /reg is refused, the bot fetches a new one */
	reg0 = stat_of("reg_ok");
	ctl("/fault", "{\"kind\":\"expire_token\",\"kick\":true,\"seller\":\"" UNB "\"}");
	t = wait_stat("reg_ok", reg0 + 1, 6000);
	ok(t >= 0 && stat_of("tokens_minted") == minted + 1 && stat_of("reg_bad") >= 1,
	   "token: a rejected token is dropped and a new one fetched (%ld ms)", t);

	/* a token call that fails on transport (HTTP 503): the reason is logged
	 * after the result's name, "transport: HTTP 503" (it read
	 * "transportHTTP 503"), and the next call gets one */
	reg0 = stat_of("reg_ok");
	ctl("/fault", "{\"kind\":\"mtop_fail\",\"api\":\"mtop.taobao.idlemessage.pc.login.token\",\"n\":1,"
	    "\"status\":503}");
	ctl("/fault", "{\"kind\":\"expire_token\",\"kick\":true,\"seller\":\"" UNB "\"}");
	t = wait_stat("reg_ok", reg0 + 1, 8000);
	ok(t >= 0, "token: a failed token call is retried and registers (%ld ms)", t);
	ok(tbot_log_has(&bot, "token: transport: HTTP 503") && !tbot_log_has(&bot, "transportHTTP"),
	   "token: the transport failure's reason is logged after \"transport: \"");

	/* refresh before expiry: 15 s tokens, refreshed 10 s (minus jitter) before */
	ctl("/config", "{\"token_ttl_ms\":15000}");
	ok(restart("20", 10, SIGTERM), "token: restart with short-lived tokens");
	/* revoke the cached day-long token so the bot fetches a 15 s one */
	reg0 = stat_of("reg_ok");
	ctl("/fault", "{\"kind\":\"expire_token\",\"kick\":true,\"seller\":\"" UNB "\"}");
	ok(wait_stat("reg_ok", reg0 + 1, 6000) >= 0, "token: registered with a short-lived token");
	minted = stat_of("tokens_minted");
	reg0 = stat_of("reg_ok");
	t = wait_stat("tokens_minted", minted + 1, 9000);
	ok(t >= 0, "token: refreshed before expiry (%ld ms)", t);
	ok(wait_stat("reg_ok", reg0 + 1, 4000) >= 0, "token: then a clean reconnect with the new token");
	ctl("/config", "{\"token_ttl_ms\":86400000}");
	ok(restart("20", 3600, SIGTERM), "token: back to day-long tokens");
}

static void test_exactly_once(void)
{
	static const char *const a[] = {"a1", "a2", "a3"}, *const b[] = {"b1", "b2", "b3"};
	char want[32], cid[16];
	int i, n_ok = 0;

	/* one send a second: most replies are still queued when the connection drops */
	ok(restart("1", 3600, SIGTERM), "exactly once: restart with a slow send pace");
	for (i = 0; i < 3; i++) {
		snprintf(cid, sizeof cid, "1002%d", i);
		inject(cid, a[i]);
	}
	usleep(150000);
	ctl("/fault", "{\"kind\":\"drop\",\"how\":\"fin\",\"seller\":\"" UNB "\"}");
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof want, "re: %s", a[i]);
		wait_delivered(want, 1, 8000);
		n_ok += delivered(want) == 1;
	}
	usleep(1500000);
	for (i = 0, n_ok = 0; i < 3; i++) {
		snprintf(want, sizeof want, "re: %s", a[i]);
		n_ok += delivered(want) == 1;
	}
	is_int(n_ok, 3, "exactly once: sends queued before a drop each reach the buyer once after it");

	for (i = 0; i < 3; i++) {
		snprintf(cid, sizeof cid, "1003%d", i);
		inject(cid, b[i]);
	}
	ok(wait_delivered("re: b1", 1, 4000), "exactly once: the first reply went out before the kill");
	{
		double reg0 = stat_of("reg_ok");

		bot_stop(SIGKILL);
		bot_start();
		ok(wait_stat("reg_ok", reg0 + 1, 5000) >= 0, "exactly once: back after kill -9");
	}
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof want, "re: %s", b[i]);
		wait_delivered(want, 1, 8000);
	}
	usleep(1500000);
	for (i = 0, n_ok = 0; i < 3; i++) {
		snprintf(want, sizeof want, "re: %s", b[i]);
		n_ok += delivered(want) == 1;
	}
	is_int(n_ok, 3, "exactly once: across a kill -9, each queued reply reaches the buyer exactly once");
}

static void test_session_expired(void)
{
	double calls;

	ctl("/fault", "{\"kind\":\"session_expired\",\"on\":true,\"seller\":\"" UNB "\"}");
	ctl("/fault", "{\"kind\":\"expire_token\",\"kick\":true,\"seller\":\"" UNB "\"}");
	ok(wait_ev("\"to\":\"FAILED\"", "re-login", NULL, 1, 6000), "session expired: FAILED, needs re-login");
	ok(tbot_log_has(&bot, "needs re-login: the platform says the session expired; checking again"),
	   "session expired: the reason is the row's text alone (no detail glued to it)");
	calls = stat_of("mtop_calls");
	usleep(2000000);
	ok(stat_of("mtop_calls") == calls && bot_alive(), "session expired: no retry loop (mtop calls stay at %.0f)", calls);
	ctl("/fault", "{\"kind\":\"session_expired\",\"on\":false,\"seller\":\"" UNB "\"}");
}

int main(void)
{
	const char *args[] = {"--reg-reject-delay-ms", "200", NULL};
	int rc;

	if (!ok(tc_sim_start(&sim, args) == 0, "simulator starts") || tbot_init(&bot, &sim))
		return tap_done();
	write_config("20", 3600);
	bot_start();
	test_register_and_heartbeat();
	test_pushes();
	test_burst();
	test_garbage();
	test_big_frames();
	test_reconnects();
	test_delay_bounds();
	test_metrics_and_cookie();
	test_sends();
	test_echo_restart();
	test_token();
	test_exactly_once();
	test_session_expired();
	rc = bot_stop(SIGTERM);
	is_int(rc, 0, "bot: SIGTERM exits 0");
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
