/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_backfill.c - issue 20's outage test: the real bot
 * (dedup, autoreply, orders) against a simulator that does not push again
 * what was made while the bot was away (offline_push false, no redelivery)
 * and answers list calls right after /reg with flow control.
 *
 *   A. Reconnect without a restart: the bot is cut off (drop, then every
 *      connection refused) while 10 buyer messages (5 made long enough
 *      before the reconnect to be older than autoreply.backfill_max_age_s)
 *      and 1 paid order happen -> after the reconnect the young messages are
 *      answered once, the old ones not, the order delivered once; a message
 *      both pushed after the reconnect and found in the history is answered
 *      once.
 *   B. A restart: the bot is stopped while 4 messages and 1 paid order
 *      happen; the next start is killed (SIGKILL) in the middle of its
 *      backfill (list calls slowed by the simulator's rate limit), and the
 *      start after it answers each message once and delivers the order once;
 *      nothing of A is answered again.
 *   C. A run that flow control gives up is owed to the next connection from
 *      the point it was owed, although newer messages came live meanwhile.
 *   D. kill -9 right before the commit of the first answer after a backfill
 *      (debug.kill_at commit): the next start answers and delivers once.
 *   E. backfill.max_convs and max_messages cut a run short: the newest are
 *      answered, and a warning says so; status shows the counters.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000071"
#define WAIT_MS 15000

static tc_sim sim;
static tbot bot;
static const char *bf_extra = "";   /* more backfill.* keys, ",\"k\":v" */

static void write_file(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", bot.dir, name);
	if ((f = fopen(path, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

/* The bot's config: backfill_max_age_s max_age; kill_commit: debug.kill_at
 * "commit" (SIGKILL before the first commit of a batch that queued a send). */
static void config_kill(int max_age, int kill_commit)
{
	char json[2400];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"bf\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"reconnect\":{\"network_base_ms\":100,\"network_cap_ms\":300,\"closed_base_ms\":100,"
		 "\"closed_cap_ms\":300,\"other_base_ms\":100,\"other_cap_ms\":300},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"backfill\":{\"delay_ms\":500,\"flow_backoff_ms\":300%s},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0,\"backfill_max_age_s\":%d},\n"
		 " \"orders\":{\"confirm\":\"never\",\"retry_base_ms\":100,\"retry_s\":1},\n"
		 " \"log\":{\"level\":\"info\"},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"%s}}\n",
		 bf_extra, tbot_build_dir(), max_age, kill_commit ? ",\"kill_at\":\"commit\"" : "");
	tbot_config(&bot, json);
}

static void config(int max_age)
{
	config_kill(max_age, 0);
}

/* A buyer's text in chat cid (made now; not pushed while the bot is away). */
static void buyer_says(const char *cid, const char *text)
{
	char b[300];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"7%s\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* An order of item 90001 in chat cid, placed and paid now. */
static void order_paid(const char *oid, const char *cid)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\","
		 "\"buyer_name\":\"买家%s\",\"item_id\":\"90001\",\"quantity\":1,\"status\":\"placed\"}", oid, cid, cid, cid);
	tsim_ctl(&sim, "/order", b);
	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"paid\",\"set\":true}", oid);
	tsim_ctl(&sim, "/order/status", b);
}

/* How often needle is in the bot's log. */
static int log_count(const char *needle)
{
	static char buf[1 << 20];
	const char *p;
	int n = 0;

	tbot_slurp(bot.log, buf, sizeof buf);
	for (p = buf; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Waits until needle is in the bot's log want times; 1 when it is. */
static int wait_log(const char *needle, int want, int ms)
{
	int64_t end = util_mono_us() + (int64_t)ms * 1000;

	while (util_mono_us() < end) {
		if (log_count(needle) >= want)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* The replies to text delivered (accepted sends of "re: <text>"). */
static int replies(const char *text)
{
	char r[200];

	snprintf(r, sizeof r, "re: %s", text);
	return tsim_delivered(&sim, r);
}

/* The delivery text of order oid (the text card's template). */
static int delivered_order(const char *oid)
{
	char t[200];

	snprintf(t, sizeof t, "Key for %s", oid);
	return tsim_delivered(&sim, t);
}

/* Starts the bot and waits for its registration (1) or not (0). */
static int start_bot(void)
{
	double reg = tsim_stat(&sim, "reg_ok");

	tbot_start(&bot);
	return tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0;
}

/* Counts the list calls of the simulator's sent log with this lwp. */
static int list_calls(const char *lwp)
{
	char path[200];
	cJSON *r;
	int n;

	snprintf(path, sizeof path, "/sent?since=0&what=%s", lwp);
	r = tc_ctl(sim.ctl_port, "GET", path, NULL, NULL);
	n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "frames"));
	cJSON_Delete(r);
	return n;
}

static void phase_a(void)
{
	static const char *const old_txt[] = {"old-1", "old-2", "old-3", "old-4", "old-5"};
	static const char *const young_txt[] = {"young-1", "young-2", "young-3", "young-4", "young-5"};
	char cid[16];
	int i, ok_old = 1, ok_young = 1, done0;

	buyer_says("81000", "live-0");
	ok(tsim_wait_delivered(&sim, "re: live-0", 1, WAIT_MS), "A: a live message is answered");

	/* the outage: no connection gets through */
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":100000}");
	tsim_ctl(&sim, "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"drop\",\"how\":\"fin\"}");
	usleep(300000);
	for (i = 0; i < 5; i++) {
		snprintf(cid, sizeof cid, "8100%d", i + 1);
		buyer_says(cid, old_txt[i]);
	}
	/* older than backfill_max_age_s (5) at the reconnect */
	usleep(6500000);
	for (i = 0; i < 5; i++) {
		snprintf(cid, sizeof cid, "8100%d", i + 1);
		buyer_says(cid, young_txt[i]);
	}
	order_paid("2503688100000001", "81009");
	ok(tsim_stat(&sim, "offline_dropped") >= 10, "A: what happened while away was not kept for a push");
	done0 = log_count("backfill: done");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":0}");
	ok(tsim_wait_stat(&sim, "reg_ok", tsim_stat(&sim, "reg_ok") + 1, 5000) >= 0, "A: the bot reconnects");
	/* pushed after the reconnect, and in the history the backfill reads */
	buyer_says("81002", "both-1");
	ok(wait_log("backfill: done", done0 + 1, WAIT_MS), "A: the backfill ran to its end");
	ok(tsim_stat(&sim, "history_flow_limited") >= 1, "A: the first list call met flow control and was retried");
	for (i = 0; i < 5; i++) {
		char r[64];

		snprintf(r, sizeof r, "re: %s", young_txt[i]);
		ok_young &= tsim_wait_delivered(&sim, r, 1, WAIT_MS) && replies(young_txt[i]) == 1;
	}
	ok(ok_young, "A: the 5 young messages made while away are answered once each");
	ok(tsim_wait_delivered(&sim, "Key for 2503688100000001", 1, WAIT_MS), "A: the order paid while away is delivered");
	usleep(1500000);
	for (i = 0; i < 5; i++)
		ok_old &= replies(old_txt[i]) == 0;
	ok(ok_old, "A: the 5 messages older than backfill_max_age_s are not answered");
	ok(log_count("not answered") >= 5, "A: ... and the log says why");
	is_int(replies("both-1"), 1, "A: a message pushed and also backfilled is answered once");
	is_int(replies("live-0"), 1, "A: the live message is not answered again");
	is_int(delivered_order("2503688100000001"), 1, "A: the order is delivered once");
	ok(tbot_evcount(&bot, "\"backfilled\":true", "young-1", NULL) >= 1, "A: the event log flags backfilled events");
}

static void phase_b(void)
{
	static const char *const txt[] = {"restart-1", "restart-2", "restart-3", "restart-4"};
	char cid[16];
	int i, n0, all = 1, done0;

	is_int(tbot_stop(&bot, SIGTERM), 0, "B: the bot stops");
	config(60);
	for (i = 0; i < 4; i++) {
		snprintf(cid, sizeof cid, "8200%d", i + 1);
		buyer_says(cid, txt[i]);
	}
	order_paid("2503688100000002", "82009");
	/* slow list calls: one a second, so that the kill falls mid-run */
	tsim_ctl(&sim, "/config", "{\"history_rate\":1,\"history_rate_window_ms\":1000}");
	n0 = list_calls("/r/MessageManager/listUserMessages");
	ok(start_bot(), "B: the bot starts");
	{
		int64_t end = util_mono_us() + WAIT_MS * 1000LL;

		while (util_mono_us() < end && list_calls("/r/MessageManager/listUserMessages") < n0 + 2)
			usleep(20000);
	}
	ok(list_calls("/r/MessageManager/listUserMessages") >= n0 + 2, "B: the backfill is reading messages");
	is_int(tbot_stop(&bot, SIGKILL), 128 + SIGKILL, "B: kill -9 in the middle of the backfill");
	is_int(log_count("backfill: done") - log_count("backfill: done: 0 conversation"), 1,
	       "B: ... before it dispatched anything (only A's run is done)");
	for (i = 0; i < 4; i++)
		all &= replies(txt[i]) == 0;
	ok(all, "B: nothing was answered before the kill");
	tsim_ctl(&sim, "/config", "{\"history_rate\":0}");
	done0 = log_count("backfill: done");
	ok(start_bot(), "B: the bot starts again");
	ok(wait_log("backfill: done", done0 + 1, WAIT_MS), "B: the backfill ran to its end");
	all = 1;
	for (i = 0; i < 4; i++) {
		char r[64];

		snprintf(r, sizeof r, "re: %s", txt[i]);
		all &= tsim_wait_delivered(&sim, r, 1, WAIT_MS) && replies(txt[i]) == 1;
	}
	ok(all, "B: each message made while stopped is answered once");
	ok(tsim_wait_delivered(&sim, "Key for 2503688100000002", 1, WAIT_MS), "B: the order paid while stopped is delivered");
	usleep(1500000);
	all = 1;
	for (i = 0; i < 4; i++)
		all &= replies(txt[i]) == 1;
	ok(all, "B: ... and not twice");
	is_int(delivered_order("2503688100000002"), 1, "B: the order is delivered once");
	is_int(delivered_order("2503688100000001"), 1, "B: A's order is not delivered again");
	is_int(replies("young-1") + replies("both-1") + replies("live-0"), 3, "B: A's answers are not sent again");
	is_int(replies("old-1"), 0, "B: A's old messages are still not answered");
}

/* C. A run that flow control makes give up is owed to the next connection,
 * from where it was owed, even after newer messages came live. */
static void phase_c(void)
{
	int given0 = log_count("run given up"), done0;

	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":100000}");
	tsim_ctl(&sim, "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"drop\",\"how\":\"fin\"}");
	usleep(300000);
	buyer_says("83001", "owed-1");
	tsim_ctl(&sim, "/config", "{\"history_flow_ms\":100000}");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"refuse\",\"n\":0}");
	ok(wait_log("run given up", given0 + 1, WAIT_MS), "C: flow control four times gives the run up");
	is_int(replies("owed-1"), 0, "C: ... so the message made while away is not answered yet");
	buyer_says("83002", "live-c");
	ok(tsim_wait_delivered(&sim, "re: live-c", 1, WAIT_MS), "C: a newer message comes live and is answered");
	tsim_ctl(&sim, "/config", "{\"history_flow_ms\":0}");
	done0 = log_count("backfill: done");
	tsim_ctl(&sim, "/fault", "{\"seller\":\"" UNB "\",\"kind\":\"drop\",\"how\":\"fin\"}");
	ok(wait_log("backfill: done", done0 + 1, WAIT_MS), "C: the next connection's run ends");
	ok(tsim_wait_delivered(&sim, "re: owed-1", 1, WAIT_MS), "C: it catches up from the owed point: answered");
	usleep(500000);
	is_int(replies("owed-1") + replies("live-c"), 2, "C: each once");
}

/* D. kill -9 after the backfill dispatched, before the first answer's
 * commit: the owed run is settled, and the plugins' own records (the
 * pending answer, the paid order) answer and deliver once after the start. */
static void phase_d(void)
{
	int st;

	is_int(tbot_stop(&bot, SIGTERM), 0, "D: the bot stops");
	buyer_says("84001", "killed-1");
	buyer_says("84002", "killed-2");
	order_paid("2503688100000003", "84009");
	config_kill(60, 1);
	tbot_start(&bot);
	{
		int64_t end = util_mono_us() + WAIT_MS * 1000LL;

		while (util_mono_us() < end && waitpid(bot.pid, &st, WNOHANG) != bot.pid)
			usleep(20000);
		if (util_mono_us() < end)
			bot.pid = -1;
	}
	ok(bot.pid == -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && tbot_log_has(&bot, "debug.kill_at commit"),
	   "D: the bot died by SIGKILL before committing the first answer after the backfill");
	/* (the order's delivery may have gone out before: orders sends from
	 * its detail call's answer, which commits on its own) */
	is_int(replies("killed-1") + replies("killed-2"), 0, "D: no answer went out before the kill");
	config(60);
	ok(start_bot(), "D: the bot starts again");
	ok(tsim_wait_delivered(&sim, "re: killed-1", 1, WAIT_MS) && tsim_wait_delivered(&sim, "re: killed-2", 1, WAIT_MS),
	   "D: both messages are answered");
	ok(tsim_wait_delivered(&sim, "Key for 2503688100000003", 1, WAIT_MS), "D: the order is delivered");
	usleep(1500000);
	is_int(replies("killed-1") + replies("killed-2") + delivered_order("2503688100000003"), 3, "D: each once");
}

/* E. A run cut short by backfill.max_convs dispatches the newest
 * conversations and says what it left. */
static void phase_e(void)
{
	int done0;

	is_int(tbot_stop(&bot, SIGTERM), 0, "E: the bot stops");
	buyer_says("85001", "bound-1");
	usleep(20000);
	buyer_says("85002", "bound-2");
	usleep(20000);
	buyer_says("85003", "bound-3");
	bf_extra = ",\"max_convs\":2";
	config(60);
	done0 = log_count("backfill: done");
	ok(start_bot(), "E: the bot starts with backfill.max_convs 2");
	ok(wait_log("backfill: done", done0 + 1, WAIT_MS), "E: the backfill ran");
	ok(tsim_wait_delivered(&sim, "re: bound-3", 1, WAIT_MS) && tsim_wait_delivered(&sim, "re: bound-2", 1, WAIT_MS),
	   "E: the 2 newest conversations are answered");
	usleep(500000);
	is_int(replies("bound-1"), 0, "E: the older one is beyond the bound");
	ok(wait_log("the run stopped at backfill.max_convs", 1, WAIT_MS), "E: the log says the run stopped at the bound");
	/* max_messages: the newest conversations' messages, then it stops */
	is_int(tbot_stop(&bot, SIGTERM), 0, "E: the bot stops again");
	buyer_says("86001", "cap-1");
	usleep(20000);
	buyer_says("86002", "cap-2");
	usleep(20000);
	buyer_says("86003", "cap-3");
	bf_extra = ",\"max_messages\":2";
	config(60);
	ok(start_bot(), "E: the bot starts with backfill.max_messages 2");
	ok(tsim_wait_delivered(&sim, "re: cap-3", 1, WAIT_MS) && tsim_wait_delivered(&sim, "re: cap-2", 1, WAIT_MS),
	   "E: the 2 newest messages are answered");
	ok(wait_log("the run stopped at backfill.max_messages", 1, WAIT_MS), "E: the log names backfill.max_messages");
	is_int(replies("cap-1"), 0, "E: the older one is beyond the bound");
	bf_extra = "";
	{
		char cmd[900];
		int st = -1;
		cJSON *j, *m;

		snprintf(cmd, sizeof cmd, "'%s/shopkeep' status --json --config '%s' 2>/dev/null", tbot_build_dir(), bot.cfg);
		j = cJSON_Parse(tbot_sh(cmd, &st));
		m = cJSON_GetObjectItemCaseSensitive(j, "metrics");
		ok(st == 0 && tc_jnum(m, "backfill_runs") >= 1 && tc_jnum(m, "backfill_done") >= 1 &&
		   tc_jnum(m, "backfilled") >= 2 && cJSON_GetObjectItemCaseSensitive(m, "backfill_flow_limited") &&
		   cJSON_GetObjectItemCaseSensitive(m, "backfill_gave_up") && tc_jnum(m, "backfill_seen_ms") > 1e12,
		   "E: status shows the backfill counters (runs %.0f, done %.0f, backfilled %.0f)", tc_jnum(m, "backfill_runs"),
		   tc_jnum(m, "backfill_done"), tc_jnum(m, "backfilled"));
		cJSON_Delete(j);
	}
}

int main(void)
{
	const char *args[] = {"--reg-reject-delay-ms", "200", NULL};

	if (!ok(tc_sim_start(&sim, args) == 0, "simulator starts"))
		return tap_done();
	tsim_ctl(&sim, "/config", "{\"redeliver_unacked\":false,\"offline_push\":false,\"history_flow_ms\":700}");
	tsim_ctl(&sim, "/item", "{\"item_id\":\"90001\",\"title\":\"Key\",\"price\":100,\"quantity\":100}");
	if (!ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	write_file("rules.json",
		   "{\"default_reply\":{\"reply\":\"re: {message}\"},"
		   "\"cards\":[{\"name\":\"key\",\"type\":\"text\",\"template\":\"Key for {order_id}\"}],"
		   "\"delivery\":[{\"item_id\":\"90001\",\"spec\":null,\"card\":\"key\"}]}\n");
	config(5);
	if (ok(start_bot(), "the bot starts and registers")) {
		phase_a();
		phase_b();
		phase_c();
		phase_d();
		phase_e();
	}
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "the bot stops");
	tbot_done(&bot, tap_failed > 0);
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
