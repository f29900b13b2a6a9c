/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_handover_e2e.c - the seller's reply from the page and
 * the hand-over, in the real bot (dedup, autoreply, notify) against the
 * simulator, through the control socket (shopkeep ctl, as the page's POST
 * /api/control):
 *   (a) the seller replies with the control command send, then the buyer
 *       asks 多少钱: no bot answer (the chat is paused, reason page) - the
 *       bug of issue 22, where the bot answered right after the seller;
 *   (b) a buyer writes 人工: the hand-over text once (also when asked again),
 *       the chat paused and "waiting" at the top of list_chats, the next
 *       question not answered, a notify alert at the simulator's /webhook;
 *   (c) resume_chat: the next question is answered again.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000031"
#define PRICE "九块九包邮"
#define HELLO "您好，在的"
#define HANDOVER "好的，已通知卖家本人，请稍等～"

static tc_sim sim;
static tbot bot;

/* A buyer's text in chat cid (buyer 5<cid>, 小王, item 40004). */
static void inject(const char *cid, const char *text)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"40004\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* The list_chats entry of chat cid as "state/pause_reason", or "" when not listed;
 * *pos its index in the list (-1 when not listed). */
static const char *chat_state(const char *cid, int *pos)
{
	static char buf[64];
	int st, i = 0;
	cJSON *j = cJSON_Parse(tbot_ctl(&bot, "list_chats", "{\"limit\":50}", &st)), *c;

	buf[0] = '\0';
	if (pos)
		*pos = -1;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "chats")) {
		const char *id = tc_jstr(c, "chat_id");

		if (id && !strcmp(id, cid)) {
			snprintf(buf, sizeof buf, "%s/%s", tc_jstr(c, "state") ? tc_jstr(c, "state") : "?",
				 tc_jstr(c, "pause_reason") ? tc_jstr(c, "pause_reason") : "?");
			if (pos)
				*pos = i;
		}
		i++;
	}
	cJSON_Delete(j);
	return buf;
}

/* The paused_chats entry of chat cid as "reason/waiting", "" when not paused. */
static const char *paused(const char *cid)
{
	static char buf[64];
	int st;
	cJSON *j = cJSON_Parse(tbot_ctl(&bot, "paused_chats", "{}", &st)), *c;

	buf[0] = '\0';
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "chats")) {
		const char *id = tc_jstr(c, "chat_id");

		if (id && !strcmp(id, cid))
			snprintf(buf, sizeof buf, "%s/%s", tc_jstr(c, "reason") ? tc_jstr(c, "reason") : "?",
				 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "waiting")) ? "waiting" : "not waiting");
	}
	cJSON_Delete(j);
	return buf;
}

/* Returns whether the JSON text json (as ctl prints it) has, at any depth,
 * a member key whose value prints as want (a string's text, a number, true). */
static int has_in(const cJSON *o, const char *key, const char *want)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, o) {
		char *v = NULL;
		int found = 0;

		if (c->string && !strcmp(c->string, key)) {
			if (cJSON_IsString(c))
				found = !strcmp(c->valuestring, want);
			else if ((v = cJSON_PrintUnformatted(c)))
				found = !strcmp(v, want);
			cJSON_free(v);
		}
		if (found || has_in(c, key, want))
			return 1;
	}
	return 0;
}

static int has(const char *json, const char *key, const char *want)
{
	cJSON *j = cJSON_Parse(json);
	int r = has_in(j, key, want);

	cJSON_Delete(j);
	return r;
}

/* Waits (at most timeout_ms) for an alert at the simulator's /webhook holding needle: 1 or 0. */
static int wait_webhook(const char *needle, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 100) {
		cJSON *r = tc_ctl(sim.port, "GET", "/webhook", NULL, NULL);
		char *s = r ? cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "received")) : NULL;
		int found = s && strstr(s, needle);

		cJSON_free(s);
		cJSON_Delete(r);
		if (found)
			return 1;
		usleep(100000);
	}
	return 0;
}

int main(void)
{
	char json[2048], path[400];
	const char *out;
	int st, pos;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || tbot_init(&bot, &sim))
		return tap_done();
	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	if (!(f = fopen(path, "w")))
		return tap_done();
	fputs("{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"" PRICE "\"}],"
	      "\"default_reply\":{\"reply\":\"" HELLO "\"}}\n", f);
	fclose(f);
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"ho\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"notify\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":300,\"pause_s\":600},\n"
		 " \"notify\":{\"url\":\"http://127.0.0.1:%d/webhook\"},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", tbot_build_dir(), sim.port);
	tbot_config(&bot, json);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "bot: registered with dedup, autoreply and notify"))
		goto out;

	/* (a) the seller replies from the page (control send): the chat pauses */
	inject("41001", "在吗");
	ok(tsim_wait_delivered(&sim, HELLO, 1, 4000), "page: the bot answers the buyer's first text");
	out = tbot_ctl(&bot, "send", "{\"chat_id\":\"41001\",\"buyer_id\":\"541001\",\"text\":\"我是卖家本人，马上给您看\"}", &st);
	ok(st == 0 && strstr(out, "\"uuid\""), "page: control send queues the seller's text (%.80s)", out);
	ok(tsim_wait_delivered(&sim, "我是卖家本人，马上给您看", 1, 4000), "page: the seller's text reaches the buyer");
	usleep(300000);
	inject("41001", "多少钱");
	usleep(1500000);
	is_int(tsim_delivered(&sim, PRICE), 0, "page: the buyer's next 多少钱 gets no bot answer after the seller's reply");
	is_str(paused("41001"), "page/not waiting", "page: paused_chats: reason page");
	is_str(chat_state("41001", NULL), "paused/page", "page: list_chats: paused, reason page");
	inject("41002", "多少钱");
	ok(tsim_wait_delivered(&sim, PRICE, 1, 4000), "page: another chat is still answered");
	usleep(300000);
	out = tbot_ctl(&bot, "chat_messages", "{\"chat_id\":\"41002\"}", &st);
	ok(st == 0 && has(out, "rule", "price") && has(out, "text", "关键词规则 price"),
	   "labels: chat_messages marks the bot's reply with its rule (autoreply_sends)");

	/* (b) a buyer asks for a person */
	inject("41003", "我要人工");
	ok(tsim_wait_delivered(&sim, HANDOVER, 1, 4000), "handover: the hand-over text is sent");
	usleep(300000);
	is_str(paused("41003"), "handover/waiting", "handover: paused_chats: reason handover, waiting");
	is_str(chat_state("41003", &pos), "waiting/handover", "handover: list_chats: state waiting");
	is_int(pos, 0, "handover: the waiting chat is first in list_chats");
	ok(wait_webhook("要求人工", 5000), "handover: notify's alert reaches the local webhook");
	out = tbot_ctl(&bot, "chat_messages", "{\"chat_id\":\"41003\"}", &st);
	ok(st == 0 && has(out, "rule", "handover"), "labels: the hand-over text is marked handover");
	inject("41003", "多少钱");
	inject("41003", "人工！人工！");
	usleep(1500000);
	is_int(tsim_delivered(&sim, PRICE), 1, "handover: the waiting chat's next question is not answered");
	is_int(tsim_delivered(&sim, HANDOVER), 1, "handover: the hand-over text once, also when asked again");
	out = tbot_ctl(&bot, "decisions", "{\"limit\":20}", &st);
	ok(st == 0 && has(out, "decision", "handover"), "handover: the decision log shows it");

	/* (c) the seller resumes the chat: answered again */
	out = tbot_ctl(&bot, "resume_chat", "{\"chat_id\":\"41003\"}", &st);
	ok(st == 0 && has(out, "resumed", "true"), "resume: resume_chat ends the hand-over (%.80s)", out);
	is_str(paused("41003"), "", "resume: not paused any more");
	is_str(chat_state("41003", NULL), "auto/", "resume: list_chats: auto");
	inject("41003", "多少钱");
	ok(tsim_wait_delivered(&sim, PRICE, 2, 4000), "resume: the next question is answered");
	out = tbot_ctl(&bot, "autoreply_stats", "{\"days\":1}", &st);
	ok(st == 0 && has(out, "handed_over", "1"), "stats: autoreply_stats counts the hand-over (%.160s)", out);
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0");
out:
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
