/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_agent_e2e.c - the agent plugin in the real bot
 * (dedup, autoreply, items, agent) against the simulator and its fake model
 * (tests/sim/sim_llm.c), checked on the wire (the simulator's log of sends)
 * and in the model's request log:
 *   - a keyword rule's message is answered by the rule, the model not called;
 *   - an unmatched message is answered by the model's text, exactly once,
 *     the API key sent as a Bearer token and never logged;
 *   - a burst within the debounce: one model call whose messages carry the
 *     earlier two;
 *   - below the floor in digits and in Chinese numerals: floor_text;
 *   - an answer slower than timeout_ms, a 500, garbage JSON: the fallback;
 *   - a phone number: guard_text;
 *   - the seller wrote in the app first: paused, no model call; the seller
 *     writes while the model thinks: nothing sent (taken_over); a send from
 *     the page (POST /api/control send) pauses too;
 *   - kill -9 while the model thinks, restart: the fallback exactly once;
 *   - the default bargainer's conversation stops at the floor: no quote
 *     below it reaches the buyer, the last answers are floor_text.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "page_api.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNB "2200000000041"
#define ITEM "40041"
#define PRICE_RULE "标价就是最低价哦"
#define HELLO "您好，稍等马上回复"
#define FALLBACK "亲，我确认一下马上回您～"
#define GUARD "这个我没办法答应您哦"
#define FLOOR "这已经是最低价啦"
#define API_KEY "sk-e2e-0123456789abcdef"
#define PW "correct horse 42"

static tc_sim sim;
static tbot bot;
static page_api pa;
static char config[4096];

/* A buyer's text in chat cid (buyer 5<cid>, 小王, the test's item). */
static void inject(const char *cid, const char *text)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"" ITEM "\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* The seller types in the app: an own-account message in chat cid. */
static void seller_types(const char *cid, const char *text)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"text\":\"%s\",\"from_seller\":true}", cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* How many texts the bot delivered in chat cid. */
static int nsaid(const char *cid)
{
	int n = 0;

	tsim_said(&sim, cid, &n);
	return n;
}

/* Waits until chat cid got want texts: 1, or 0 after ms. */
static int wait_said(const char *cid, int want, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (nsaid(cid) >= want)
			return 1;
		usleep(50000);
	}
	return nsaid(cid) >= want;
}

/* The fake model's request count. */
static int model_calls(void)
{
	cJSON *j = tc_ctl(sim.ctl_port, "GET", "/llm/requests", NULL, NULL);
	int n = (int)tc_jnum(j, "count");

	cJSON_Delete(j);
	return n;
}

/* Waits until the model has had want requests: 1, or 0 after ms. */
static int wait_calls(int want, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (model_calls() >= want)
			return 1;
		usleep(50000);
	}
	return model_calls() >= want;
}

/* The last request's body as JSON text (static), "" when none; its headers into hdr. */
static const char *last_request(char *hdr, size_t hn)
{
	static char buf[16384];
	cJSON *j = tc_ctl(sim.ctl_port, "GET", "/llm/requests", NULL, NULL);
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "requests"));
	char *s = n ? cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "requests"), n - 1))
		    : NULL, *h;

	snprintf(buf, sizeof buf, "%s", s ? s : "");
	free(s);
	if (hdr) {
		h = n ? cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "headers"), n - 1))
		      : NULL;
		snprintf(hdr, hn, "%s", h ? h : "");
		free(h);
	}
	cJSON_Delete(j);
	return buf;
}

/* Queues one scripted answer (a JSON object text). */
static void script(const char *answer)
{
	char b[1024];

	snprintf(b, sizeof b, "{\"answers\":[%s]}", answer);
	tsim_ctl(&sim, "/llm/script", b);
}

/* The verdict of the newest agent decision of chat cid ("" when none; static). */
static const char *verdict(const char *cid)
{
	static char buf[160];
	char data[200];
	int st;
	cJSON *j;

	snprintf(data, sizeof data, "{\"limit\":5,\"chat_id\":\"%s\"}", cid);
	j = cJSON_Parse(tbot_ctl(&bot, "agent_decisions", data, &st));
	snprintf(buf, sizeof buf, "%s", tc_jstr(j, "decisions.0.verdict") ? tc_jstr(j, "decisions.0.verdict") : "");
	cJSON_Delete(j);
	return buf;
}

/* A turn whose answer is scripted: the buyer asks in cid, the chat gets
 * want (the one text sent), checked to be the only one. */
static void scripted_turn(const char *cid, const char *answer, const char *text, const char *want, const char *what)
{
	int calls = model_calls();

	script(answer);
	inject(cid, text);
	ok(wait_said(cid, 1, 8000), "%s: a reply", what);
	usleep(600000);
	is_str(tsim_said(&sim, cid, NULL), want, "%s: exactly the expected text reached the buyer", what);
	is_int(model_calls(), calls + 1, "%s: one model call", what);
}

/* kill -9 while the model thinks; the restarted bot sends the fallback once. */
static void test_kill(void)
{
	int calls = model_calls(), st = -1;

	script("{\"content\":\"NEVER-SENT\",\"delay_ms\":4000}");
	inject("42013", "这个耳机是正品吗");
	if (!ok(wait_calls(calls + 1, 6000), "kill: the model is asked"))
		return;
	kill(bot.pid, SIGKILL);
	waitpid(bot.pid, &st, 0);
	bot.pid = -1;
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "kill: the bot died by SIGKILL while the model thought");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 8000) >= 0, "kill: the bot registers again");
	ok(wait_said("42013", 1, 8000), "kill: after the restart the chat gets a reply");
	usleep(5000000);    /* past the model's delay */
	is_str(tsim_said(&sim, "42013", NULL), FALLBACK, "kill: the fallback exactly once, the late answer never");
	is_str(verdict("42013"), "fallback", "kill: verdict fallback");
}

int main(void)
{
	char hdr[1024], b[600];
	const char *out, *req;
	int st, calls;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || tbot_init(&bot, &sim) ||
	    !ok((pa.port = tbot_free_port()) > 0, "a free port for the page"))
		return tap_done();
	tsim_ctl(&sim, "/item", "{\"item_id\":\"" ITEM "\",\"title\":\"蓝牙耳机 Pro\",\"desc\":\"九成新，配件齐全\","
		 "\"price\":10000,\"quantity\":1}");
	snprintf(b, sizeof b, "%s/rules.json", bot.dir);
	{
		FILE *f = fopen(b, "w");

		if (!f)
			return tap_done();
		fputs("{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"" PRICE_RULE "\"}],"
		      "\"default_reply\":{\"reply\":\"" HELLO "\"}}\n", f);
		fclose(f);
	}
	snprintf(config, sizeof config,
		 "{\"account\":{\"id\":\"ag\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"items\",\"agent\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":600,\"pause_s\":600},\n"
		 " \"items\":{\"detail_gap_ms\":50,\"page_gap_ms\":50},\n"
		 " \"agent\":{\"base_url\":\"http://127.0.0.1:@PORT@/v1\",\"model\":\"e2e-model\",\"timeout_ms\":1500,\n"
		 "   \"mode\":\"default\",\"max_steps\":3,\"fallback_text\":\"" FALLBACK "\",\"guard_text\":\"" GUARD "\",\n"
		 "   \"floor_text\":\"" FLOOR "\",\"items\":{\"" ITEM "\":{\"floor\":80}}},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", pa.port, tbot_root_dir(), tbot_build_dir());
	tbot_config(&bot, config);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "bot: registered with dedup, autoreply, items, agent") ||
	    !ok(papi_login(&pa, &bot, PW) == 0, "the page: logged in"))
		goto out;
	{
		cJSON *j = NULL;
		char *t;

		st = papi_control(&pa, "agent_configure", "{\"api_key\":\"" API_KEY "\"}", &j);
		t = j ? cJSON_PrintUnformatted(j) : NULL;
		ok(st == 200 && t && !strstr(t, API_KEY) && strstr(t, "\"api_key_set\":true"),
		   "the page saves the API key (POST /api/control agent_configure; the answer masks it)");
		free(t);
		cJSON_Delete(j);
	}
	/* the item's price reaches the model's prompt once items synced it */
	for (int i = 0; i < 100; i++) {
		out = tbot_ctl(&bot, "items_list", "{}", &st);
		if (strstr(out, "\"" ITEM "\"") && strstr(out, "100.00"))
			break;
		usleep(100000);
	}
	ok(strstr(out, "100.00") != NULL, "items synced the item and its price");

	/* a keyword rule wins; the model is not called */
	inject("42001", "这个多少钱");
	ok(tsim_wait_delivered(&sim, PRICE_RULE, 1, 5000), "keyword: the rule answers");
	usleep(800000);
	is_int(model_calls(), 0, "keyword: the model is not called");
	is_str(tsim_said(&sim, "42001", NULL), PRICE_RULE, "keyword: only the rule's text");

	/* an unmatched message: the model's text, exactly once */
	scripted_turn("42002", "{\"content\":\"MODEL-A 在的，耳机还有\"}", "耳机还有吗", "MODEL-A 在的，耳机还有",
		      "unmatched");
	req = last_request(hdr, sizeof hdr);
	ok(strstr(req, "耳机还有吗") != NULL, "unmatched: the buyer's text is in the request");
	ok(strstr(req, "e2e-model") != NULL, "unmatched: the configured model is asked");
	ok(strstr(req, "蓝牙耳机 Pro") && strstr(req, "价格：100"), "unmatched: the item's title and price in the prompt");
	ok(strstr(hdr, "\"authorization\":\"Bearer " API_KEY "\"") != NULL, "the API key is sent as a Bearer token");
	is_str(verdict("42002"), "model", "unmatched: verdict model");

	/* a burst within the debounce: one call with the earlier two */
	calls = model_calls();
	script("{\"content\":\"MODEL-B 好的\"}");
	inject("42003", "第一句话");
	inject("42003", "第二句话");
	inject("42003", "第三句话");
	ok(wait_said("42003", 1, 8000), "burst: answered");
	usleep(1200000);
	is_str(tsim_said(&sim, "42003", NULL), "MODEL-B 好的", "burst: three messages, one reply");
	is_int(model_calls(), calls + 1, "burst: one model call");
	req = last_request(NULL, 0);
	ok(strstr(req, "第一句话") && strstr(req, "第二句话") && strstr(req, "第三句话"),
	   "burst: its messages carry the earlier two");

	/* the guard */
	scripted_turn("42004", "{\"content\":\"好吧，最低60元给你\"}", "能便宜点吗", FLOOR, "below the floor in digits");
	is_str(verdict("42004"), "floor", "digits: verdict floor");
	scripted_turn("42005", "{\"content\":\"那就七十块吧\"}", "再便宜点", FLOOR, "below the floor in Chinese numerals");
	is_str(verdict("42005"), "floor", "Chinese numerals: verdict floor");
	scripted_turn("42006", "{\"content\":\"SLOW\",\"delay_ms\":3500}", "发什么快递", FALLBACK, "slower than timeout_ms");
	is_str(verdict("42006"), "fallback", "timeout: verdict fallback");
	scripted_turn("42007", "{\"status\":500}", "可以开发票吗", FALLBACK, "a 500");
	scripted_turn("42008", "{\"raw\":\"{\\\"choices\\\":[{\\\"message\\\":\"}", "能验货吗", FALLBACK, "garbage JSON");
	is_str(verdict("42008"), "fallback", "garbage: verdict fallback");
	scripted_turn("42009", "{\"content\":\"方便的话打我电话 13812345678\"}", "怎么联系", GUARD, "a phone number");
	is_str(verdict("42009"), "guard", "phone: verdict guard");
	usleep(3000000);
	ok(strstr(tsim_said(&sim, "42006", NULL), "SLOW") == NULL, "timeout: the late answer never reaches the buyer");

	/* the seller wrote in the app first: paused, no model call */
	inject("42010", "你好");
	seller_types("42010", "我是卖家，我来回复");
	usleep(400000);
	calls = model_calls();
	inject("42010", "好的，那耳机还有吗");
	usleep(2000000);
	is_int(model_calls(), calls, "seller wrote first: no model call");
	/* the hello may have gone out before the seller typed; nothing after it */
	ok(!strstr(tsim_said(&sim, "42010", NULL), "MODEL") && nsaid("42010") <= 1, "seller wrote first: nothing answered after (%s)",
	   tsim_said(&sim, "42010", NULL));

	/* the seller writes while the model thinks: nothing sent */
	calls = model_calls();
	script("{\"content\":\"LATE-ANSWER\",\"delay_ms\":1200}");
	inject("42011", "耳机能用多久");
	if (ok(wait_calls(calls + 1, 6000), "taken over: the model is asked")) {
		seller_types("42011", "我来回答这个");
		usleep(2500000);
		is_str(tsim_said(&sim, "42011", NULL), "", "taken over: nothing sent by the bot");
		is_str(verdict("42011"), "taken_over", "taken over: verdict taken_over");
	}

	/* a send from the page pauses the chat too */
	script("{\"content\":\"MODEL-C 在的\"}");
	inject("42012", "耳机在吗");
	ok(wait_said("42012", 1, 8000), "page: the first question answered");
	{
		cJSON *j = NULL;

		st = papi_control(&pa, "send", "{\"chat_id\":\"42012\",\"buyer_id\":\"542012\",\"text\":\"卖家本人来了\"}", &j);
		ok(st == 200 && tc_jstr(j, "data.uuid"), "page: POST /api/control send queues the seller's text");
		cJSON_Delete(j);
	}
	ok(tsim_wait_delivered(&sim, "卖家本人来了", 1, 5000), "page: the seller's text reaches the buyer");
	usleep(400000);
	calls = model_calls();
	inject("42012", "那耳机能便宜吗");
	usleep(2000000);
	is_int(model_calls(), calls, "page: no model call after the seller's send");
	is_str(tsim_said(&sim, "42012", NULL), "MODEL-C 在的|卖家本人来了", "page: nothing more sent");

	/* the default bargainer stops at the floor */
	tsim_ctl(&sim, "/llm/script", "{\"clear\":true}");
	{
		static const char *const asks[] = {"能便宜点吗", "80卖不卖", "70呢", "最低多少"};

		for (int i = 0; i < 4; i++) {
			inject("42014", asks[i]);
			ok(wait_said("42014", i + 1, 8000), "bargain: question %d answered", i + 1);
		}
		usleep(800000);
		out = tsim_said(&sim, "42014", NULL);
		diag("bargain: %s", out);
		is_int(nsaid("42014"), 4, "bargain: one answer per question");
		ok(!strncmp(out, "最低90元，不能再少啦|", strlen("最低90元，不能再少啦|")), "bargain: first 90 (above the floor)");
		ok(strstr(out, "八十一") != NULL, "bargain: then 八十一 (Chinese numerals above the floor)");
		ok(!strstr(out, "73") && !strstr(out, "六十六") && !strstr(out, "七十三"),
		   "bargain: no quote below the floor on the wire");
		ok(strlen(out) >= strlen(FLOOR) && !strcmp(out + strlen(out) - strlen(FLOOR), FLOOR),
		   "bargain: the conversation ends with floor_text");
	}

	test_kill();
	ok(!tbot_log_has(&bot, API_KEY), "the API key never appears in the bot's log");
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0");
out:
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
