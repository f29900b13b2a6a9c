/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_events_recent.c - the control command
 * events_recent (core/recent.c, web/API.md) in the real bot against the
 * simulator: with debug.event_log, the events come from the file's tail
 * (also those of a time no page was connected), the plugins'
 * publications (which the file does not hold) from memory, in time order;
 * without an event log, only what a connected page got is kept, at most
 * 500 lines; limit bounds; bad data is a 400.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "page_api.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000078"
#define PW "correct horse 42"
#define WAIT_MS 8000

static tc_sim sim;
static page_api pa;   /* the bot's page (pa.port its web port) */


/* An events WebSocket of the session; NULL when refused. */
static tc_ws *events_open(void)
{
	char h[400];
	int st = 0;

	snprintf(h, sizeof h, "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n", pa.cookie, pa.port);
	return tc_ws_connect(pa.port, "/api/events", h, 3000, &st);
}

/* Reads w until a line holding needle came (up to ms): 1, or 0. */
static int ws_wait(tc_ws *w, const char *needle, int ms)
{
	int64_t end = util_mono_us() / 1000 + ms;

	while (w && util_mono_us() / 1000 < end) {
		cJSON *j = tc_ws_recv_json(w, 200);
		char *s = j ? cJSON_PrintUnformatted(j) : NULL;
		int hit = s && strstr(s, needle);

		free(s);
		cJSON_Delete(j);
		if (hit)
			return 1;
	}
	return 0;
}

static void inject(const char *cid, const char *text)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"40004\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* events_recent with data: the status; *events the array (owned by *out). */
static int recent(const char *data, cJSON **out, cJSON **events)
{
	int st = papi_control(&pa, "events_recent", data, out);

	*events = tc_jget(*out, "data.events");
	return st;
}

/* How many of the events are lines holding needle (printed). */
static int count(const cJSON *events, const char *needle)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, events) {
		char *s = cJSON_PrintUnformatted(e);

		n += s && strstr(s, needle);
		free(s);
	}
	return n;
}

/* Whether the events are in time order and each is one of the feed's kinds. */
static int ordered(const cJSON *events)
{
	const cJSON *e;
	double last = 0;

	cJSON_ArrayForEach(e, events) {
		const char *k = tc_jstr(e, "kind");
		double ms = tc_jnum(e, "ms");

		if (!k || (strcmp(k, "event") && strcmp(k, "state") && strcmp(k, "send") && strcmp(k, "plugin")) ||
		    ms < last)
			return 0;
		last = ms;
	}
	return 1;
}

static void write_config(tbot *b, int with_log)
{
	char json[2048], rules[400];
	FILE *fp;

	snprintf(rules, sizeof rules, "%s/rules.json", b->dir);
	if ((fp = fopen(rules, "w"))) {
		fputs("{\"keyword_rules\":[{\"keywords\":[\"hello\"],\"reply\":\"hi {message}\"}]}", fp);
		fclose(fp);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"recent\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":500,\"burst\":100},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"items\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}%s}\n",
		 tbot_build_dir(), pa.port, tbot_root_dir(), with_log ? ",\n \"debug\":{\"event_log\":\"events.jsonl\"}" : "");
	tbot_config(b, json);
}

/* With debug.event_log: the file's tail and the plugin lines. */
static void test_with_log(void)
{
	tbot bot;
	cJSON *out, *ev;
	tc_ws *w;
	int st;

	if (!ok(tbot_init(&bot, &sim) == 0 && (pa.port = tbot_free_port()) > 0, "log: a temp dir and a free port"))
		return;
	write_config(&bot, 1);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0 && papi_login(&pa, &bot, PW) == 0, "log: the bot registers, login"))
		goto out;
	/* no page connected */
	inject("71001", "hello-A1");
	ok(tsim_wait_delivered(&sim, "hi hello-A1", 1, WAIT_MS), "log: the reply went out");
	ok(tbot_wait_ev(&bot, "\"send\"", "\"ok\":true", NULL, 1, WAIT_MS) >= 0, "log: its send line is in the event log");
	st = recent(NULL, &out, &ev);
	is_int(st, 200, "events_recent answers");

	is_int(count(ev, "\"text\":\"hello-A1\""), 1, "the buyer's event, though no page was connected (from the file)");
	ok(count(ev, "\"kind\":\"state\"") >= 1 && count(ev, "\"to\":\"CONNECTED\"") >= 1, "the state changes too");
	is_int(count(ev, "\"kind\":\"send\""), 1, "and the reply's send");
	ok(ordered(ev), "oldest first, only the feed's kinds");
	is_int(count(ev, "\"type\":\"read\"") + count(ev, "\"type\":\"typing\""), 0, "no read receipts or typing");
	cJSON_Delete(out);

	/* a page connected: a plugin's publication (items.synced), kept in memory */
	w = events_open();
	ok(w != NULL, "log: a page connects");
	is_int(papi_control(&pa, "items_refresh", NULL, NULL), 200, "items_refresh");
	ok(ws_wait(w, "items.synced", WAIT_MS), "the page got the items.synced publication");
	inject("71002", "hello-A2");
	ok(ws_wait(w, "hi hello-A2", WAIT_MS) || tsim_wait_delivered(&sim, "hi hello-A2", 1, WAIT_MS), "a second message");
	tbot_wait_ev(&bot, "\"send\"", "\"ok\":true", NULL, 2, WAIT_MS);
	st = recent("{\"limit\":500}", &out, &ev);
	is_int(st, 200, "events_recent {limit:500}");
	ok(count(ev, "\"topic\":\"items.synced\"") >= 1, "the plugin line (not in the file) is there");
	is_int(count(ev, "\"text\":\"hello-A1\""), 1, "the first event once");
	is_int(count(ev, "\"text\":\"hello-A2\""), 1, "the second event once (the file's line, not a copy too)");
	ok(ordered(ev), "merged in time order");
	{
		double reload = -1, a2 = -1;
		const cJSON *e;

		/* the first publication: the one the page got before the message (a
		 * later sync may follow); in the same millisecond their order is not
		 * known, the merge keeps time order */
		cJSON_ArrayForEach(e, ev) {
			char *s = cJSON_PrintUnformatted(e);

			if (s && strstr(s, "items.synced") && reload < 0)
				reload = tc_jnum(e, "ms");
			if (s && strstr(s, "\"text\":\"hello-A2\""))
				a2 = tc_jnum(e, "ms");
			free(s);
		}
		ok(reload > 0 && a2 >= reload, "the publication no later than the later message (%.0f, %.0f)", reload, a2);
	}
	cJSON_Delete(out);
	st = recent("{\"limit\":1}", &out, &ev);
	ok(st == 200 && cJSON_GetArraySize(ev) == 1, "limit 1: one line");
	cJSON_Delete(out);
	{
		static const char *const bad[] = { "{\"limit\":0}", "{\"limit\":501}", "{\"limit\":\"5\"}", "{\"limit\":2.5}",
			"[1]", "\"x\"" };

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			st = papi_control(&pa, "events_recent", bad[i], &out);
			ok(st == 400 && tc_jstr(out, "error") && *tc_jstr(out, "error"), "events_recent %s: 400 (%s)", bad[i],
			   tc_jstr(out, "error") ?: "");
			cJSON_Delete(out);
		}
	}
	is_int(papi_control(&pa, "status", NULL, NULL), 200, "the bot answers after the bad requests");
	tc_ws_close(w, 1000);
out:
	is_int(tbot_stop(&bot, SIGTERM), 0, "log: SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
}

/* Without an event log: what a connected page got, at most 500 lines. */
static void test_without_log(void)
{
	tbot bot;
	cJSON *out, *ev;
	tc_ws *w;
	char b[200];
	int st;

	if (!ok(tbot_init(&bot, &sim) == 0 && (pa.port = tbot_free_port()) > 0, "ring: a temp dir and a free port"))
		return;
	write_config(&bot, 0);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0 && papi_login(&pa, &bot, PW) == 0, "ring: the bot registers, login"))
		goto out;
	inject("72001", "hello-B1");
	ok(tsim_wait_delivered(&sim, "hi hello-B1", 1, WAIT_MS), "ring: a reply with no page connected");
	st = recent(NULL, &out, &ev);
	ok(st == 200 && cJSON_GetArraySize(ev) == 0, "ring: nothing kept while no page was connected (%d lines)",
	   cJSON_GetArraySize(ev));
	cJSON_Delete(out);
	w = events_open();
	ok(w != NULL, "ring: a page connects");
	inject("72002", "hello-B2");
	ok(ws_wait(w, "hi hello-B2", WAIT_MS), "ring: the page got the reply's send");
	st = recent(NULL, &out, &ev);
	is_int(st, 200, "ring: events_recent answers");
	is_int(count(ev, "\"text\":\"hello-B2\""), 1, "ring: the event the page got");
	is_int(count(ev, "hello-B1"), 0, "ring: not the one before");
	ok(count(ev, "\"kind\":\"send\"") >= 1 && ordered(ev), "ring: its send, in order");
	cJSON_Delete(out);
	/* more than the ring holds: each message is an event and a send line */
	for (int i = 0; i < 280; i++) {
		char cid[16];

		snprintf(cid, sizeof cid, "%d", 73000 + i);
		snprintf(b, sizeof b, "hello-C%d", i);
		inject(cid, b);
	}
	ok(ws_wait(w, "hi hello-C279", 20000), "ring: 280 more messages answered");
	st = recent("{\"limit\":500}", &out, &ev);
	is_int(cJSON_GetArraySize(ev), 500, "ring: at most 500 kept");
	ok(ordered(ev), "ring: in order");
	is_int(count(ev, "\"text\":\"hello-B2\""), 0, "ring: the oldest went");
	cJSON_Delete(out);
	tc_ws_close(w, 1000);
out:
	is_int(tbot_stop(&bot, SIGTERM), 0, "ring: SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	test_with_log();
	test_without_log();
	tc_sim_stop(&sim);
	return tap_done();
}
