/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_notify_e2e.c - the notify plugin in the real bot
 * against the simulator, posting to a real receiver (tests/sim/thook) on
 * loopback. With the receiver down: a buyer asks for 人工, an order is paid
 * for a card without stock, one for an item without a rule, one that leaves
 * a card low, and the session is cut off (the simulator refuses every
 * connection) for longer than offline_after_s and comes back. Then the bot
 * is stopped with SIGTERM and killed with -9 while those alerts are
 * pending, and each restart makes no new alert. The receiver comes back
 * answering 500 (the alerts are retried under their ids), then 200: each
 * alert reaches it exactly once with a 2xx, by id. Last, a receiver that
 * takes an alert and never answers, a kill -9 with that POST in flight: the
 * restarted bot sends it again under the same id (the receiver's dedup key)
 * and it is delivered once.
 *
 * Small thresholds come from the config (offline_after_s 3, retries capped
 * at 1 s); no check is about how long anything took.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "sim/thook.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000070001"
#define SECRET "Bearer e2e-s3cret"
#define WAIT_MS 10000

static tc_sim sim;
static tbot bot;
static thook *hook;
static char db[320];

static const char rules_json[] =
	"{\"cards\":["
	"{\"name\":\"scarce\",\"type\":\"stock\",\"template\":\"Scarce: {code}\"},"
	"{\"name\":\"few\",\"type\":\"stock\",\"template\":\"Few: {code}\",\"low_stock\":5}],"
	" \"delivery\":["
	"{\"item_id\":\"50005\",\"spec\":null,\"card\":\"scarce\"},"
	"{\"item_id\":\"50006\",\"spec\":null,\"card\":\"few\"}]}\n";

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

/* ---- the bot and its database ----------------------------------------------------- */

static void config(void)
{
	char json[3000];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"nt-e2e\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"reconnect\":{\"network_base_ms\":200,\"network_cap_ms\":400,\"closed_base_ms\":200,\"closed_cap_ms\":400,"
		 "\"other_base_ms\":200,\"other_cap_ms\":400},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"notify\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"notify\":{\"url\":\"http://127.0.0.1:%d/hook/shop?src=e2e\",\"header\":\"Authorization: " SECRET "\","
		 "\"words\":[\"人工\"],\"offline_after_s\":3,\"dedup_s\":600,\"retry_base_ms\":300,\"retry_max_s\":1,\"timeout_s\":2},\n"
		 " \"orders\":{\"retry_base_ms\":100},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 tbot_build_dir(), thook_port(hook));
	tbot_config(&bot, json);
}

/* Starts the bot and waits for its registration. */
static int bot_start(void)
{
	double reg = tsim_stat(&sim, "reg_ok");

	tbot_start(&bot);
	return tsim_wait_stat(&sim, "reg_ok", reg + 1, 8000) >= 0;
}

/* The first column of the first row of sql as a number, -1 on no row or an error. */
static long long db_int(const char *sql)
{
	sqlite3 *d = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(d, 3000);
		if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	return n;
}

/* Alerts of kind in the outbox (any state). */
static long long alerts(const char *kind)
{
	char sql[200];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM notify_alert WHERE kind = '%s'", kind);
	return db_int(sql);
}

static int wait_alerts(const char *kind, long long want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (alerts(kind) >= want)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Runs "shopkeep <args> --config <cfg>"; its exit status. */
static int cli(const char *args)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "%s/shopkeep %s --config %s >/dev/null 2>&1", tbot_build_dir(), args, bot.cfg);
	return WEXITSTATUS(system(cmd));
}

/* ---- the simulator ------------------------------------------------------------------ */

static void buyer(const char *cid, const char *text)
{
	char b[300];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"9%s\",\"buyer_name\":\"买家%s\","
		 "\"text\":\"%s\"}", cid, cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

static void order_paid(const char *oid, const char *cid, const char *item)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\","
		 "\"item_id\":\"%s\",\"quantity\":1,\"status\":\"placed\"}", oid, cid, cid, item);
	tsim_ctl(&sim, "/order", b);
	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"paid\",\"set\":true}", oid);
	tsim_ctl(&sim, "/order/status", b);
}

/* ---- the receiver's view ------------------------------------------------------------ */

/* What the receiver saw of one alert id. */
typedef struct {
	char id[64], kind[32];
	int copies, ok2xx, bad_header, id_mismatch;
} seen_t;

/* Groups the receiver's requests by X-Shopkeep-Alert-Id; returns the number of ids. */
static int seen(seen_t *s, int max, int *nreq)
{
	int n = 0;

	*nreq = thook_count(hook);
	for (int i = 0; i < *nreq; i++) {
		thook_req *r = thook_get(hook, i);
		char *id = r ? thook_header(r, "X-Shopkeep-Alert-Id") : NULL, *auth = r ? thook_header(r, "Authorization") : NULL;
		cJSON *b = r ? cJSON_Parse(r->body) : NULL;
		const char *bid = tc_jstr(b, "id"), *kind = tc_jstr(b, "kind");
		int k;

		for (k = 0; k < n && id && strcmp(s[k].id, id); k++)
			;
		if (id && k == n && n < max) {
			memset(&s[n], 0, sizeof s[n]);
			snprintf(s[n].id, sizeof s[n].id, "%s", id);
			snprintf(s[n].kind, sizeof s[n].kind, "%s", kind ? kind : "?");
			n++;
		}
		if (id && k < n) {
			s[k].copies++;
			s[k].ok2xx += r->status >= 200 && r->status <= 299;
			s[k].bad_header += !auth || strcmp(auth, SECRET) || strcmp(r->method, "POST") ||
					   strcmp(r->path, "/hook/shop?src=e2e");
			s[k].id_mismatch += !bid || strcmp(bid, id);
		}
		free(id);
		free(auth);
		cJSON_Delete(b);
		thook_req_free(r);
	}
	return n;
}

/* Waits until n distinct ids each got a 2xx. */
static int wait_delivered(int n, int ms)
{
	int64_t t0 = now_ms();
	seen_t s[32];
	int nreq;

	while (now_ms() - t0 < ms) {
		int k = seen(s, 32, &nreq), good = 0;

		for (int i = 0; i < k; i++)
			good += s[i].ok2xx > 0;
		if (good >= n)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Checks that events while the receiver is down, and the session cut off and back, queue six alerts. */
static void notify_check_down(void)
{
	/* 1. events while the receiver is down */
	buyer("61001", "你好");
	buyer("61001", "我要转人工客服");
	ok(wait_alerts("keyword", 1, WAIT_MS), "a buyer's 人工: a keyword alert in the outbox");
	order_paid("2503700000000001", "61002", "50005");
	ok(wait_alerts("out_of_stock", 1, WAIT_MS), "an order paid for a card without stock: out_of_stock");
	order_paid("2503700000000002", "61003", "50004");
	ok(wait_alerts("delivery_failed", 1, WAIT_MS), "an order for an item without a rule: delivery_failed");
	order_paid("2503700000000003", "61004", "50006");
	ok(wait_alerts("low_stock", 1, WAIT_MS) && tsim_wait_delivered(&sim, "Few: FEW-0001", 1, WAIT_MS),
	   "an order that leaves one code of \"few\": delivered, and low_stock");
	usleep(300000);
	is_int(alerts("delivery_failed"), 1, "the stockless order's delivery_failed is folded into out_of_stock");

	/* 2. the session cut off for longer than offline_after_s, then back */
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":1000000}");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"drop\",\"seller\":\"" UNB "\",\"how\":\"rst\"}");
	ok(wait_alerts("offline", 1, WAIT_MS), "the session down past offline_after_s: an offline alert");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":0}");
	ok(wait_alerts("online", 1, WAIT_MS), "back: an online alert");
	is_int(db_int("SELECT count(*) FROM notify_alert"), 6, "six alerts in the outbox");
	is_int(db_int("SELECT count(*) FROM notify_alert WHERE state = 'pending'"), 6, "all six pending");
	ok(db_int("SELECT max(attempts) FROM notify_alert") > 1, "the oldest tried again and again against the closed "
	   "port, the others waiting behind it");
	is_int(thook_count(hook), 0, "the receiver (down) got nothing");
}

/* Checks that SIGTERM and kill -9 with alerts pending make no new alert and lose none. */
static void notify_check_restarts(void)
{
	int st;

	/* 3. restarts while they are pending: SIGTERM, then kill -9 */
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM with alerts pending: exits 0");
	ok(bot_start(), "restarted");
	usleep(500000);
	kill(bot.pid, SIGKILL);
	waitpid(bot.pid, &st, 0);
	bot.pid = -1;
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "killed with -9");
	ok(bot_start(), "restarted again");
	usleep(500000);
	is_int(db_int("SELECT count(*) FROM notify_alert"), 6, "the restarts made no new alert");
	is_int(db_int("SELECT count(*) FROM notify_alert WHERE state = 'pending'"), 6, "all six still pending");
}

/* Checks the receiver back (500, then 200): each alert answered 2xx once, header and ids right. */
static void notify_check_back(void)
{
	static const char *const kinds[] = { "keyword", "out_of_stock", "delivery_failed", "low_stock", "offline",
		"online", NULL };
	int nreq, n;
	seen_t s[32];

	/* 4. the receiver comes back: 500 first, then 200 */
	thook_answer(hook, 500);
	ok(thook_start(hook) == 0, "the receiver listens again (answering 500)");
	ok(thook_wait(hook, 2, WAIT_MS), "the bot posts to it, and retries after a 500");
	thook_answer(hook, 200);
	ok(wait_delivered(6, WAIT_MS), "then it answers 200: all six delivered");
	usleep(1500000);
	n = seen(s, 32, &nreq);
	is_int(n, 6, "six distinct alert ids reached the receiver (%d requests)", nreq);
	for (int k = 0; kinds[k]; k++) {
		int ids = 0;

		for (int i = 0; i < n; i++)
			ids += !strcmp(s[i].kind, kinds[k]);
		is_int(ids, 1, "one %s alert", kinds[k]);
	}
	{
		int once = 0, bad = 0, mism = 0, repeats = 0;

		for (int i = 0; i < n; i++) {
			once += s[i].ok2xx == 1;
			bad += s[i].bad_header;
			mism += s[i].id_mismatch;
			repeats += s[i].copies > 1;
		}
		is_int(once, 6, "each alert was answered 2xx exactly once");
		ok(repeats >= 1, "the ones answered 500 came again under the same id (%d ids)", repeats);
		is_int(bad, 0, "every request: POST to the url's path with the configured header");
		is_int(mism, 0, "every request: the header's id is the body's id");
	}
	is_int(db_int("SELECT count(*) FROM notify_alert WHERE state = 'delivered'"), 6, "all six delivered in the outbox");
	ok(!tbot_log_has(&bot, "e2e-s3cret"), "the header's value is not in the bot's log");
}

/* Checks that an answer lost to kill -9 brings the same id again, delivered once. */
static void notify_check_lost_answer(void)
{
	int nreq, n;
	seen_t s[32];

	/* 5. an answer lost to kill -9: the same id again */
	thook_answer(hook, 0);
	nreq = thook_count(hook);
	buyer("61005", "人工服务");
	ok(thook_wait(hook, nreq + 1, WAIT_MS), "a new alert reaches a receiver that never answers");
	kill(bot.pid, SIGKILL);
	waitpid(bot.pid, NULL, 0);
	bot.pid = -1;
	thook_answer(hook, 200);
	ok(bot_start(), "killed with -9 while that POST was out, restarted");
	ok(wait_delivered(7, WAIT_MS), "it is delivered after the restart");
	usleep(1000000);
	n = seen(s, 32, &nreq);
	is_int(n, 7, "under its own id: seven ids in all");
	if (n == 7)
		ok(!strcmp(s[6].kind, "keyword") && s[6].copies >= 2 && s[6].ok2xx == 1,
		   "the lost one came again with the same id (%d copies), answered 2xx once", s[6].copies);
	{
		thook_req *r = thook_get(hook, thook_count(hook) - 1);
		char *a = r ? thook_header(r, "X-Shopkeep-Attempt") : NULL;

		ok(a && atoi(a) >= 2, "its X-Shopkeep-Attempt counts the attempt the kill cut short (%s)", a ? a : "-");
		free(a);
		thook_req_free(r);
	}
	is_int(db_int("SELECT count(*) FROM notify_alert WHERE state = 'delivered'"), 7, "seven delivered in the outbox");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	n = thook_count(hook);
	usleep(500000);
	is_int(thook_count(hook), n, "nothing more is posted");
}

int main(void)
{
	int64_t t0 = now_ms();
	char path[400];
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	hook = thook_new(tbot_free_port());
	if (!ok(hook && !tbot_init(&bot, &sim), "a receiver on its own port, a temp dir"))
		goto out;
	thook_stop(hook);
	snprintf(db, sizeof db, "%s/state.db", bot.dir);
	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	if ((f = fopen(path, "w"))) {
		fputs(rules_json, f);
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/few.txt", bot.dir);
	if ((f = fopen(path, "w"))) {
		fputs("FEW-0001\nFEW-0002\n", f);
		fclose(f);
	}
	config();
	{
		char args[500];

		snprintf(args, sizeof args, "stock import --card few %s", path);
		is_int(cli(args), 0, "two codes for the card \"few\" (low_stock 5)");
	}
	if (!ok(bot_start(), "the bot registers (the receiver is down)"))
		goto out;

	notify_check_down();
	notify_check_restarts();
	notify_check_back();
	notify_check_lost_answer();
out:
	tbot_done(&bot, tap_failed > 0);
	thook_free(hook);
	tc_sim_stop(&sim);
	diag("took %lld ms", (long long)(now_ms() - t0));
	return tap_done();
}
