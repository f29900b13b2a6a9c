/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_stop.c - SIGTERM flushes pending work: the real bot
 * (dedup + autoreply) against the simulator.
 *   - a reply held back by autoreply's debounce is sent at once, before the exit
 *     (and after a kill -9, by the restarted bot, once);
 *   - queued sends go out while the deadline (send.stop_flush_s) allows;
 *   - a buyer message pushed during the flush is answered (not refused and lost);
 *   - what the deadline cuts off stays in the outbox and goes out once after
 *     the restart;
 *   - a platform that stops answering cannot hold the exit: it comes after the
 *     deadline, exit status 0, and the unanswered sends go out once later;
 *   - the WebSocket is closed with 1000;
 *   - replies beyond send.queue_max wait in the outbox and all go out, in
 *     order and once, also across a kill -9; beyond send.backlog_max sk_send
 *     refuses (queue full) and the log says so.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000077"

static tc_sim sim;
static tbot bot;

static int queue_max = 1000, backlog_max = 1000000;

/* (Re)writes the config: debounce, pacing and the flush deadline (and the
 * send window queue_max / backlog_max above). */
static void config(int debounce_ms, double rate, int burst, int flush_s)
{
	const char *build = getenv("SK_BUILD");
	char json[2048], rules[400];
	FILE *f;

	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	if ((f = fopen(rules, "w"))) {
		fputs("{\"default_reply\":{\"reply\":\"got: {message}\"}}\n", f);
		fclose(f);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"stop\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":%g,\"burst\":%d,\"stop_flush_s\":%d,\"queue_max\":%d,\"backlog_max\":%d},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":%d},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 rate, burst, flush_s, queue_max, backlog_max, build ? build : "build", debounce_ms);
	tbot_config(&bot, json);
}

static int start(void)
{
	double reg0 = tsim_stat(&sim, "reg_ok");

	tbot_start(&bot);
	return tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 5000) >= 0;
}

static void inject(const char *cid, const char *text)
{
	char b[300];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* The close code of the bot's last closed connection, as the simulator saw it. */
static int last_close_code(void)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=close", NULL, NULL);
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(r, "frames");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(fr, cJSON_GetArraySize(fr) - 1),
							     "peer_close_code");
	int c = cJSON_IsNumber(code) ? code->valueint : -1;

	cJSON_Delete(r);
	return c;
}

/* How many of the n replies "got: <prefix><i>" the buyers saw, and whether any came twice. */
static int delivered_all(const char *prefix, int n, int *twice)
{
	char t[80];
	int got = 0;

	*twice = 0;
	for (int i = 0; i < n; i++) {
		int d;

		snprintf(t, sizeof t, "got: %s%d", prefix, i);
		d = tsim_delivered(&sim, t);
		got += d > 0;
		*twice += d > 1;
	}
	return got;
}

/* A burst waiting for its debounce timer is answered at SIGTERM, not dropped. */
static void test_debounce(void)
{
	double acks0;

	config(10000, 50, 10, 3);
	if (!ok(start(), "debounce: the bot registers"))
		return;
	inject("70001", "held back");
	ok(tbot_wait_ev(&bot, "\"text\":\"held back\"", NULL, NULL, 1, 3000), "debounce: the message reached the bot");
	usleep(200000);
	is_int(tsim_delivered(&sim, "got: held back"), 0, "debounce: no reply yet (10 s debounce)");
	is_int(tbot_stop(&bot, SIGTERM), 0, "debounce: SIGTERM exits 0");
	is_int(tsim_delivered(&sim, "got: held back"), 1, "debounce: the held-back reply went out before the exit");
	is_int(last_close_code(), 1000, "debounce: the WebSocket is closed with 1000");
	ok(tbot_log_has(&bot, "debounced chat(s) answered now"), "debounce: autoreply says it answered at stop");

	/* kill -9 while a burst waits: the restarted bot answers it, once */
	config(2000, 50, 10, 3);
	if (!ok(start(), "crash: the bot registers (2 s debounce)"))
		return;
	acks0 = tsim_stat(&sim, "acks");
	inject("70002", "held at the crash");
	ok(tbot_wait_ev(&bot, "\"text\":\"held at the crash\"", NULL, NULL, 1, 3000), "crash: the message reached the bot");
	/* the event log line is written during the dispatch, before the turn's
	 * commit; the ACK only after it: from then on the burst is durable */
	for (int w = 0; w < 150 && (tsim_stat(&sim, "acks") < acks0 + 1 || tsim_stat(&sim, "unacked") > 0); w++)
		usleep(20000);
	ok(tsim_stat(&sim, "unacked") == 0, "crash: the push was ACKed (the burst committed)");
	is_int(tbot_stop(&bot, SIGKILL), 128 + SIGKILL, "crash: kill -9 before the debounce ends");
	is_int(tsim_delivered(&sim, "got: held at the crash"), 0, "crash: not answered before the crash");
	ok(start(), "crash: restart");
	ok(tsim_wait_delivered(&sim, "got: held at the crash", 1, 5000), "crash: the restarted bot answers the waiting burst");
	usleep(500000);
	is_int(tsim_delivered(&sim, "got: held at the crash"), 1, "crash: once");
	ok(tbot_log_has(&bot, "an earlier run left pending"), "crash: from the burst autoreply kept, not a re-push");
	is_int(tbot_stop(&bot, SIGTERM), 0, "crash: SIGTERM exits 0");
}

/* Queued sends go out during the flush; a push in the flush is answered too. */
static void test_queue(void)
{
	char t[40];
	int twice;

	config(0, 2, 1, 8);
	if (!ok(start(), "queue: the bot registers at 2 sends/s"))
		return;
	for (int i = 0; i < 6; i++) {
		snprintf(t, sizeof t, "q%d", i);
		inject("7010", t);
	}
	ok(tbot_wait_ev(&bot, "\"text\":\"q5\"", NULL, NULL, 1, 3000), "queue: six messages reached the bot");
	kill(bot.pid, SIGTERM);
	usleep(300000);
	inject("70200", "during the flush");
	ok(tsim_wait_delivered(&sim, "got: during the flush", 1, 6000),
	   "queue: a message pushed during the flush is answered");
	is_int(tbot_stop(&bot, SIGTERM), 0, "queue: exits 0 once the queue is empty");
	is_int(delivered_all("q", 6, &twice), 6, "queue: all six queued replies went out before the exit");
	is_int(twice, 0, "queue: none twice");
	ok(start(), "queue: restart");
	usleep(800000);
	is_int(delivered_all("q", 6, &twice), 6, "queue: after the restart still six");
	is_int(twice, 0, "queue: and none sent again");
	is_int(tsim_delivered(&sim, "got: during the flush"), 1, "queue: the flush-time reply once");
	is_int(tbot_stop(&bot, SIGTERM), 0, "queue: SIGTERM exits 0");
}

/* The deadline cuts the flush: the rest is sent after the restart, once. */
static void test_deadline(void)
{
	char t[40];
	int twice, before;

	config(0, 1, 1, 1);
	if (!ok(start(), "deadline: the bot registers at 1 send/s, 1 s flush"))
		return;
	for (int i = 0; i < 8; i++) {
		snprintf(t, sizeof t, "d%d", i);
		inject("7030", t);
	}
	ok(tbot_wait_ev(&bot, "\"text\":\"d7\"", NULL, NULL, 1, 3000), "deadline: eight messages reached the bot");
	is_int(tbot_stop(&bot, SIGTERM), 0, "deadline: SIGTERM exits 0 after the deadline");
	before = delivered_all("d", 8, &twice);
	ok(before < 8, "deadline: not all went out in 1 s (%d of 8)", before);
	ok(tbot_log_has(&bot, "kept in the outbox for the next start"), "deadline: the log says the rest is kept");
	is_int(last_close_code(), 1000, "deadline: closed with 1000");
	config(0, 50, 10, 3);
	ok(start(), "deadline: restart at full speed");
	for (int w = 0; w < 50 && delivered_all("d", 8, &twice) < 8; w++)
		usleep(100000);
	is_int(delivered_all("d", 8, &twice), 8, "deadline: after the restart all eight were answered");
	is_int(twice, 0, "deadline: none twice");
	is_int(tbot_stop(&bot, SIGTERM), 0, "deadline: SIGTERM exits 0");
}

/* A platform that reads nothing: the stop is bounded, and the sends survive. */
static void test_stalled(void)
{
	char t[40];
	int twice;

	config(0, 0.5, 1, 1);
	if (!ok(start(), "stall: the bot registers at one send per 2 s"))
		return;
	for (int i = 0; i < 3; i++) {
		snprintf(t, sizeof t, "s%d", i);
		inject("7050", t);
	}
	ok(tsim_wait_delivered(&sim, "got: s0", 1, 4000), "stall: the first reply goes out");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"stall\",\"seller\":\"" UNB "\"}");
	/* tbot_stop kills (-9) after 5 s: 0 means the bot stopped itself */
	is_int(tbot_stop(&bot, SIGTERM), 0, "stall: SIGTERM exits 0 although the platform answers nothing");
	tsim_ctl(&sim, "/fault", "{\"kind\":\"unstall\",\"seller\":\"" UNB "\"}");
	config(0, 50, 10, 3);
	ok(start(), "stall: restart, the platform reads again");
	for (int w = 0; w < 50 && delivered_all("s", 3, &twice) < 3; w++)
		usleep(100000);
	is_int(delivered_all("s", 3, &twice), 3, "stall: every reply went out once the platform answered");
	is_int(twice, 0, "stall: none twice");
	is_int(tbot_stop(&bot, SIGTERM), 0, "stall: SIGTERM exits 0");
}

/* The order of the replies "got: <prefix><i>" as the buyers saw them: 1 when
 * each came after the one before. */
static int delivered_in_order(const char *prefix, int n)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL);
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(r, "frames"), *f;
	char want[80];
	int next = 0;

	cJSON_ArrayForEach(f, fr) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "content"), "text"), "text");

		snprintf(want, sizeof want, "got: %s%d", prefix, next);
		if (cJSON_IsString(t) && !strcmp(t->valuestring, want))
			next++;
	}
	cJSON_Delete(r);
	return next == n;
}

/* More replies than send.queue_max: the rest wait in the outbox, none is
 * refused; a kill -9 with a backlog loses none; send.backlog_max bounds it. */
static void test_backlog(void)
{
	char t[40];
	int twice, before;

	queue_max = 3;
	config(0, 20, 2, 3);
	if (!ok(start(), "backlog: the bot registers with a window of 3 sends"))
		return;
	for (int i = 0; i < 20; i++) {
		snprintf(t, sizeof t, "b%d", i);
		inject("7070", t);
	}
	ok(tbot_wait_ev(&bot, "\"text\":\"b19\"", NULL, NULL, 1, 3000), "backlog: twenty messages reached the bot");
	for (int w = 0; w < 50 && delivered_all("b", 20, &twice) < 20; w++)
		usleep(100000);
	is_int(delivered_all("b", 20, &twice), 20, "backlog: all twenty answered (17 beyond the window)");
	is_int(twice, 0, "backlog: none twice");
	ok(delivered_in_order("b", 20), "backlog: in the order they were queued");
	ok(!tbot_log_has(&bot, "queue full"), "backlog: nothing refused");

	/* kill -9 while most replies wait beyond the window (1 send/s) */
	config(0, 1, 1, 1);
	tbot_stop(&bot, SIGTERM);
	ok(start(), "backlog: restart at 1 send/s");
	for (int i = 0; i < 10; i++) {
		snprintf(t, sizeof t, "k%d", i);
		inject("7071", t);
	}
	ok(tbot_wait_ev(&bot, "\"text\":\"k9\"", NULL, NULL, 1, 3000), "backlog: ten more reached the bot");
	usleep(300000);
	tbot_stop(&bot, SIGKILL);
	before = delivered_all("k", 10, &twice);
	ok(before < 10, "backlog: killed with replies waiting (%d of 10 out)", before);
	config(0, 50, 10, 3);
	ok(start(), "backlog: restart at full speed");
	for (int w = 0; w < 50 && delivered_all("k", 10, &twice) < 10; w++)
		usleep(100000);
	is_int(delivered_all("k", 10, &twice), 10, "backlog: after the kill all ten were answered");
	is_int(twice, 0, "backlog: none twice");
	tbot_stop(&bot, SIGTERM);

	/* send.backlog_max: the bound, said in the log */
	backlog_max = 5;
	config(0, 0.5, 1, 0);
	ok(start(), "backlog: restart with at most 5 pending sends");
	for (int i = 0; i < 8; i++) {
		snprintf(t, sizeof t, "m%d", i);
		inject("7072", t);
	}
	ok(tbot_wait_ev(&bot, "\"text\":\"m7\"", NULL, NULL, 1, 3000), "backlog: eight messages reached the bot");
	for (int w = 0; w < 30 && !tbot_log_has(&bot, "queue full"); w++)
		usleep(100000);
	ok(tbot_log_has(&bot, "queue full"), "backlog: beyond backlog_max sk_send refuses, and the log says so");
	is_int(tbot_stop(&bot, SIGTERM), 0, "backlog: SIGTERM exits 0");
	queue_max = 1000;
	backlog_max = 1000000;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(!tbot_init(&bot, &sim), "temp dir"))
		return tap_done();
	test_debounce();
	test_queue();
	test_deadline();
	test_stalled();
	test_backlog();
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
