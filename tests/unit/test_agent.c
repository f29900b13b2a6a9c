/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_agent.c - the agent plugin's engine (plugins/agent/agent.c)
 * on the fake host: turns are taken through the control command agent_take
 * exactly as autoreply calls it; the model is the fake host's recorded HTTP
 * POSTs, answered by the test. Checked: the answer sent once with its tag,
 * the request (URL, headers with and without a key, body), the guard's
 * verdicts (below the floor in digits and Chinese numerals, a phone number),
 * every fallback (timeout, 500, garbage, empty, budgets), bargaining steps
 * (persisted across a restart), superseded turns, takeovers, a message taken
 * twice, recovery after a restart, the modes, bad data, the settings' checks
 * and the API key never in a log line. Every "never silence, never two
 * replies" check counts the sends of the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fakehost/fakehost.h"
#include "secret.h"
#include <sqlite3.h>
#include "tap.h"

#define KEY "sk-test-SECRETKEY-0123456789"
#define HDR_SECRET "hdr-SECRET-value-42"
#define GUARD_TEXT "这个我没办法答应您哦，有其他问题随时问我～"
#define FLOOR_TEXT "这已经是最低价啦，不能再少了哦～"
#define BUILTIN_FALLBACK "亲，稍等一下，我确认后马上回复您～"

static char so[512];
static int nmid;

/* A new fake host with the agent loaded from config (the "agent" section's
 * body), and an item 1001 (99 yuan) in items_item; when keyfile is set, the
 * API key KEY is first sealed into it with this fake host's account key (a
 * `shopkeep secret set` file). NULL (said) on failure. */
static fh *start_ex(const char *agent_cfg, const char *keyfile)
{
	char cfg[4096];
	fh *f;

	snprintf(cfg, sizeof cfg, "{\"agent\":{%s}}", agent_cfg);
	if (!(f = fh_new(cfg, NULL)))
		return NULL;
	if (keyfile) {
		char *raw = NULL, err[300];
		FILE *fp;

		if (secret_seal(fh_key_file(f), KEY, &raw, err, sizeof err) || !(fp = fopen(keyfile, "w"))) {
			diag("secret file: %s", err);
			free(raw);
			fh_free(f);
			return NULL;
		}
		fprintf(fp, "%s\n", raw);
		fclose(fp);
		free(raw);
	}
	sqlite3_exec(fh_db(f),
		     "CREATE TABLE items_item (item_id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', price INTEGER, "
		     "quantity INTEGER, status INTEGER NOT NULL DEFAULT 0, status_text TEXT NOT NULL DEFAULT '', "
		     "pic_url TEXT NOT NULL DEFAULT '', skus_json TEXT NOT NULL DEFAULT '[]', list_pos INTEGER NOT "
		     "NULL DEFAULT 0, synced_ms INTEGER NOT NULL DEFAULT 0, detail_ms INTEGER NOT NULL DEFAULT 0, gone "
		     "INTEGER NOT NULL DEFAULT 0, \"desc\" TEXT NOT NULL DEFAULT '');"
		     "INSERT INTO items_item (item_id, title, price, \"desc\") VALUES "
		     "('1001', '九成新机械键盘', 9900, '青轴，自用一年');",
		     NULL, NULL, NULL);
	if (fh_load(f, so, NULL) != 0) {
		diag("agent.so: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

static fh *start(const char *agent_cfg)
{
	return start_ex(agent_cfg, NULL);
}

#define BASE "\"base_url\":\"http://127.0.0.1:9/v1/\",\"model\":\"qwen-test\""

/* Runs agent_take for a new message of chat (its id in mid_out, 64 bytes)
 * with text, item and decision. Returns the control command's rc; *out its
 * answer. */
static int take_ex(fh *f, const char *chat, const char *mid, const char *text, const char *item,
		   const char *decision, const char *reply, const char **out)
{
	cJSON *o = cJSON_CreateObject();
	char *data;
	int rc;

	cJSON_AddStringToObject(o, "chat_id", chat);
	cJSON_AddStringToObject(o, "buyer_id", "b-1");
	cJSON_AddStringToObject(o, "buyer_name", "Alice");
	cJSON_AddStringToObject(o, "item_id", item);
	cJSON_AddStringToObject(o, "message_id", mid);
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddStringToObject(o, "decision", decision);
	cJSON_AddStringToObject(o, "reply", reply);
	cJSON_AddBoolToObject(o, "backfilled", 0);
	data = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	rc = fh_control(f, "agent_take", data, out);
	free(data);
	return rc;
}

/* agent_take of a new message (mid "m<n>" into mid, 32 bytes) for item 1001,
 * decision default, autoreply's reply "默认回复". Returns the answer text. */
static const char *take(fh *f, const char *chat, const char *text, char *mid)
{
	const char *out = "";

	snprintf(mid, 32, "m%d", ++nmid);
	if (take_ex(f, chat, mid, text, "1001", "default", "默认回复", &out) != 0)
		diag("agent_take failed: %s", out);
	return out;
}

/* The number of sends tagged "agent:<mid>". */
static int sends_for(fh *f, const char *mid)
{
	char tag[96];
	int n = 0;

	snprintf(tag, sizeof tag, "agent:%s", mid);
	for (size_t i = 0; i < fh_nsends(f); i++)
		if (!strcmp(fh_send_at(f, i)->tag, tag))
			n++;
	return n;
}

/* The text of the send tagged "agent:<mid>" ("" none). */
static const char *sent_for(fh *f, const char *mid)
{
	char tag[96];

	snprintf(tag, sizeof tag, "agent:%s", mid);
	for (size_t i = 0; i < fh_nsends(f); i++)
		if (!strcmp(fh_send_at(f, i)->tag, tag))
			return fh_send_at(f, i)->text;
	return "";
}

/* A column of mid's turn ("" when none). */
static const char *turn_col(fh *f, const char *mid, const char *col)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT %s FROM agent_turn WHERE message_id = '%s'", col, mid);
	return fh_q_str(f, sql);
}

/* "verdict|reason" of mid's turn. */
static const char *verdict(fh *f, const char *mid)
{
	static char buf[512];
	char v[64];

	snprintf(v, sizeof v, "%s", turn_col(f, mid, "verdict"));
	snprintf(buf, sizeof buf, "%s|%s", v, turn_col(f, mid, "reason"));
	return buf;
}

/* Answers HTTP request i with an OpenAI-style body whose content is text. */
static int answer(fh *f, size_t i, const char *text)
{
	cJSON *o = cJSON_Parse("{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"qwen-test\",\"choices\":"
			       "[{\"index\":0,\"message\":{\"role\":\"assistant\"},\"finish_reason\":\"stop\"}]}");
	char *body;
	int rc;

	cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0),
						    "message"),
				"content", text);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	rc = fh_http_reply(f, i, 200, body);
	free(body);
	return rc;
}

/* Whether any log line holds s. */
static int logged(fh *f, const char *s)
{
	for (size_t i = 0; i < fh_nlogs(f); i++)
		if (strstr(fh_log_at(f, i)->msg, s))
			return 1;
	return 0;
}

/* A take whose model answers text: returns what was sent for it. */
static const char *turn_with(fh *f, const char *chat, const char *q, const char *a, char *mid)
{
	size_t n = fh_nhttp(f);

	take(f, chat, q, mid);
	if (fh_nhttp(f) != n + 1) {
		diag("no model call for %s", mid);
		return "";
	}
	answer(f, n, a);
	return sent_for(f, mid);
}

/* The request, the normal answer, the key and the headers. */
static void t_request(const char *keyfile)
{
	char cfg[1024], mid[32], v[256];
	const fh_http *r;
	cJSON *body;
	fh *f;

	snprintf(cfg, sizeof cfg,
		 BASE ",\"api_key_file\":\"%s\",\"headers\":{\"X-Org\":\"" HDR_SECRET "\"},\"max_tokens\":123,"
		      "\"temperature\":0.3,\"timeout_ms\":7000,\"items\":{\"1001\":{\"floor\":80}}",
		 keyfile);
	if (!ok((f = start_ex(cfg, keyfile)) != NULL, "loads with a key file, headers and an item floor"))
		return;
	ok(fh_load(f, fh_build_path(v, sizeof v, "tests/plugins/topic_probe.so"), NULL) == 0,
	   "topic_probe loads (it logs what is published)");
	is_str(take(f, "c1", "这个键盘支持蓝牙吗？", mid), "{\"taken\":true,\"turn\":1,\"intent\":\"tech\"}",
	       "taken: the turn and its intent");
	is_int((int)fh_nhttp(f), 1, "one model call");
	if ((r = fh_http_at(f, 0))) {
		is_str(r->url, "http://127.0.0.1:9/v1/chat/completions", "base_url's trailing / tolerated");
		is_int(r->timeout_ms, 7000, "timeout_ms");
		ok(!fh_http_header(f, 0, "Authorization", v, sizeof v) && !strcmp(v, "Bearer " KEY),
		   "Authorization: Bearer <the key from the secret file>");
		ok(!fh_http_header(f, 0, "X-Org", v, sizeof v) && !strcmp(v, HDR_SECRET), "the extra header");
		body = cJSON_Parse(r->body);
		is_str(cJSON_GetStringValue(cJSON_GetObjectItem(body, "model")), "qwen-test", "body: model");
		is_int((int)cJSON_GetNumberValue(cJSON_GetObjectItem(body, "max_tokens")), 123, "body: max_tokens");
		ok(cJSON_GetNumberValue(cJSON_GetObjectItem(body, "temperature")) == 0.3, "body: temperature");
		{
			cJSON *msgs = cJSON_GetObjectItem(body, "messages"), *last;
			const char *sys = cJSON_GetStringValue(
				cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content"));

			ok(sys && strstr(sys, "商品：九成新机械键盘"), "system prompt: the item's title line");
			ok(sys && strstr(sys, "价格：99"), "system prompt: the price line");
			if (!ok(sys && strstr(sys, "最低可以让到：92.67"),
			   "system prompt: the lowest offer of the first of 3 steps (99 - 19/3)"))
				diag("%s", sys ? sys : "(none)");
			last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
			is_str(cJSON_GetStringValue(cJSON_GetObjectItem(last, "content")), "这个键盘支持蓝牙吗？",
			       "the buyer's text last");
		}
		cJSON_Delete(body);
	}
	is_int(sends_for(f, mid), 0, "nothing sent before the answer");
	answer(f, 0, "<think>用户问蓝牙</think>\n 支持蓝牙连接的哦～ ");
	is_int(sends_for(f, mid), 1, "the answer sent once");
	is_str(sent_for(f, mid), "支持蓝牙连接的哦～", "<think> cut and blanks trimmed");
	is_str(verdict(f, mid), "model|", "verdict model");
	is_str(turn_col(f, mid, "state"), "done", "state done");
	is_str(turn_col(f, mid, "http_status"), "200", "http_status kept");
	is_str(fh_send_at(f, 0)->chat_id, "c1", "to the chat");
	is_str(fh_send_at(f, 0)->buyer_id, "b-1", "to the buyer");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "PNM-1");
	is_str(turn_col(f, mid, "outcome"), "sent:PNM-1", "the outcome from the send's callback");
	ok(logged(f, "turn 1"), "the turn is logged");
	ok(logged(f, "topic agent.decided {\"turn\":1,\"chat_id\":\"c1\",\"verdict\":\"model\",\"reason\":\"\"}"),
	   "agent.decided published");
	for (size_t i = 0; i < fh_nlogs(f); i++)
		if (strstr(fh_log_at(f, i)->msg, "SECRETKEY") || strstr(fh_log_at(f, i)->msg, HDR_SECRET)) {
			ok(0, "a log line holds a secret: %s", fh_log_at(f, i)->msg);
			break;
		}
	ok(fh_q_int(f, "SELECT count(*) FROM agent_turn WHERE answer LIKE '%SECRET%' OR sent LIKE '%SECRET%' OR "
		       "reason LIKE '%SECRET%'") == 0,
	   "no secret in the decision log");
	fh_free(f);

	/* without a key: no Authorization header */
	if (!ok((f = start(BASE)) != NULL, "loads without a key"))
		return;
	take(f, "c1", "在吗", mid);
	ok(fh_nhttp(f) == 1 && fh_http_header(f, 0, "Authorization", v, sizeof v) == -1,
	   "no key: no Authorization header (a local server)");
	answer(f, 0, "在的，请问有什么可以帮您？");
	is_int(sends_for(f, mid), 1, "and the answer is sent");
	fh_free(f);
}

/* The guard's verdicts, and every fallback. */
static void t_guard_and_fallbacks(void)
{
	char mid[32];
	fh *f = start(BASE ",\"max_steps\":10,\"fallback_text\":\"\",\"banned\":[\"顺丰\"],"
			   "\"items\":{\"1001\":{\"floor\":\"80元\"}}");

	if (!ok(f != NULL, "loads with an item floor given as a string"))
		return;
	is_str(turn_with(f, "c1", "能便宜点吗", "最低85元吧", mid), "最低85元吧", "85 yuan over the floor of 80: sent");
	is_str(verdict(f, mid), "model|", "verdict model");
	is_str(turn_col(f, mid, "lowest_fen"), "8500", "lowest_fen recorded");
	is_int((int)fh_q_int(f, "SELECT steps FROM agent_chat WHERE chat = 'c1'"), 1,
	       "a sent price answer quoting an amount counts one step");

	is_str(turn_with(f, "c2", "能便宜点吗", "那就58元给您吧", mid), FLOOR_TEXT, "58 yuan in digits: floor_text");
	is_int(sends_for(f, mid), 1, "one reply");
	ok(!strncmp(verdict(f, mid), "floor|below_floor", 17), "verdict floor, reason below_floor: %s", verdict(f, mid));
	is_str(turn_col(f, mid, "answer"), "那就58元给您吧", "the refused answer is kept in the log");
	is_int((int)fh_q_int(f, "SELECT count(*) FROM agent_chat WHERE chat = 'c2'"), 0,
	       "floor_text counts no step");

	is_str(turn_with(f, "c3", "少点呗", "给你七十五块好了", mid), FLOOR_TEXT, "七十五 in Chinese numerals: floor_text");
	is_str(turn_col(f, mid, "verdict"), "floor", "verdict floor");

	is_str(turn_with(f, "c3b", "打个折吧", "给您打八折吧", mid), FLOOR_TEXT,
	       "八折 of the item's 99 yuan (79.20) is below the floor: floor_text");
	is_str(turn_col(f, mid, "lowest_fen"), "7920", "the discount's amount is the lowest");

	is_str(turn_with(f, "c3c", "怎么付款", "您直接转账给我就行", mid), GUARD_TEXT, "paying outside: guard_text");
	ok(!strncmp(verdict(f, mid), "guard|payment", 13), "verdict guard, reason payment: %s", verdict(f, mid));
	is_str(turn_with(f, "c3d", "用什么快递", "发顺丰哦", mid), GUARD_TEXT, "a banned word of the config: guard_text");
	ok(!strncmp(verdict(f, mid), "guard|banned", 12), "verdict guard, reason banned: %s", verdict(f, mid));

	is_str(turn_with(f, "c4", "怎么联系你", "加我电话13812345678详聊", mid), GUARD_TEXT, "a phone number: guard_text");
	ok(!strncmp(verdict(f, mid), "guard|contact", 13), "verdict guard, reason contact: %s", verdict(f, mid));
	ok(!strstr(verdict(f, mid), "13812345678"), "the reason does not hold the whole phone number");

	{
		char longer[4000] = "";

		for (int i = 0; i < 60; i++)
			strcat(longer, "这款键盘非常好用。");
		is_str(turn_with(f, "c5", "介绍一下", longer, mid), GUARD_TEXT, "longer than max_len: guard_text");
		ok(!strncmp(verdict(f, mid), "guard|too_long", 14), "verdict guard too_long");
	}

	/* fallbacks: autoreply's reply when fallback_text is "" */
	take(f, "c6", "在吗", mid);
	fh_http_reply(f, fh_nhttp(f) - 1, SK_ERR_IO, NULL);
	is_str(sent_for(f, mid), "默认回复", "timeout: the fallback (autoreply's reply)");
	is_int(sends_for(f, mid), 1, "once");
	is_str(verdict(f, mid), "fallback|timeout", "verdict fallback, reason timeout");

	take(f, "c7", "在吗", mid);
	fh_http_reply(f, fh_nhttp(f) - 1, 500, "{\"error\":\"oops\"}");
	is_str(sent_for(f, mid), "默认回复", "500: the fallback");
	is_str(verdict(f, mid), "fallback|http_500", "reason http_500");
	is_str(turn_col(f, mid, "http_status"), "500", "its status kept");

	take(f, "c8", "在吗", mid);
	fh_http_reply(f, fh_nhttp(f) - 1, 200, "<html>not json");
	is_str(sent_for(f, mid), "默认回复", "garbage: the fallback");
	is_str(verdict(f, mid), "fallback|bad_answer", "reason bad_answer");

	take(f, "c9", "在吗", mid);
	fh_http_reply(f, fh_nhttp(f) - 1, 200, "{\"choices\":[{\"message\":{\"content\":42}}]}");
	is_str(verdict(f, mid), "fallback|bad_answer", "content not a string: bad_answer");
	is_int(sends_for(f, mid), 1, "one reply");

	is_str(turn_with(f, "c10", "在吗", "<think>only thinking</think>  ", mid), "默认回复", "empty after <think>: the fallback");
	is_str(verdict(f, mid), "fallback|empty", "reason empty");
	fh_free(f);

	/* the configured fallback_text wins, and the built-in one when there is none */
	if ((f = start(BASE ",\"fallback_text\":\"稍等哦\""))) {
		take(f, "c1", "在吗", mid);
		fh_http_reply(f, 0, 503, NULL);
		is_str(sent_for(f, mid), "稍等哦", "fallback_text wins over autoreply's reply");
		fh_free(f);
	}
	if ((f = start(BASE))) {
		const char *out;

		take_ex(f, "c1", "mx", "在吗", "1001", "no_match", "", &out);
		fh_http_reply(f, 0, SK_ERR_IO, NULL);
		is_str(sent_for(f, "mx"), BUILTIN_FALLBACK, "no fallback_text, no reply: the built-in text");
		fh_free(f);
	}
}

/* Budgets and steps. */
static void t_budgets_steps(void)
{
	char mid[32], m2[32];
	fh *f = start(BASE ",\"per_hour\":2,\"per_day\":3,\"per_chat\":0");

	if (!ok(f != NULL, "loads with budgets"))
		return;
	turn_with(f, "c1", "在吗", "在的", mid);
	turn_with(f, "c2", "在吗", "在的", mid);
	take(f, "c3", "在吗", mid);
	is_int((int)fh_nhttp(f), 2, "per_hour 2: the third call is not made");
	is_str(verdict(f, mid), "fallback|budget_hour", "fallback, reason budget_hour");
	is_int(sends_for(f, mid), 1, "and the fallback is sent once");
	fh_advance(f, 3600 * 1000 + 1);
	turn_with(f, "c4", "在吗", "在的", mid);
	take(f, "c5", "在吗", mid);
	is_int((int)fh_nhttp(f), 3, "an hour later: one more call, then per_day 3 stops the next");
	is_str(verdict(f, mid), "fallback|budget_day", "reason budget_day");
	fh_free(f);

	if (!(f = start(BASE ",\"per_chat\":1")))
		return;
	turn_with(f, "c1", "在吗", "在的", mid);
	take(f, "c1", "还在吗", mid);
	is_str(verdict(f, mid), "fallback|budget_chat", "per_chat 1: the chat's second call is refused");
	take(f, "c2", "在吗", mid);
	is_int((int)fh_nhttp(f), 2, "another chat still calls");
	fh_free(f);

	/* a failed call counts for the budget too */
	if (!(f = start(BASE ",\"per_hour\":1")))
		return;
	take(f, "c1", "在吗", mid);
	fh_http_reply(f, 0, 500, NULL);
	take(f, "c2", "在吗", mid);
	is_str(verdict(f, mid), "fallback|budget_hour", "a failed call counts for the budget");
	fh_free(f);

	/* steps: 2 bargaining answers, then floor_text without a call, persisted */
	if (!(f = start(BASE ",\"items\":{\"1001\":{\"floor\":80,\"max_steps\":2}}")))
		return;
	turn_with(f, "c1", "能便宜点吗", "95元可以", mid);
	turn_with(f, "c1", "再便宜点", "90元吧", mid);
	is_int((int)fh_q_int(f, "SELECT steps FROM agent_chat WHERE chat = 'c1'"), 2, "two steps counted");
	take(f, "c1", "再少点", m2);
	is_int((int)fh_nhttp(f), 2, "steps used up: no model call");
	is_str(sent_for(f, m2), FLOOR_TEXT, "floor_text sent");
	is_str(turn_col(f, m2, "verdict"), "steps", "verdict steps");
	take(f, "c1", "支持蓝牙吗", mid);
	is_int((int)fh_nhttp(f), 3, "a question that is not about the price still calls the model");
	fh_unload(f);
	ok(fh_load(f, so, NULL) == 0, "loaded again (a restart)");
	take(f, "c1", "最低多少钱", m2);
	is_str(turn_col(f, m2, "verdict"), "steps", "the steps survive the restart");
	is_int(sends_for(f, m2), 1, "floor_text once");
	fh_free(f);

	/* the offer floor of each step: 99 list, 80 floor, 3 steps */
	if (!(f = start(BASE ",\"items\":{\"1001\":{\"floor\":80}}")))
		return;
	{
		const char *want[] = { "最低可以让到：92.67", "最低可以让到：86.34", "最低可以让到：80" };
		char ans[32];

		for (int k = 0; k < 3; k++) {
			const fh_http *r;

			take(f, "c1", "能便宜点吗", mid);
			r = fh_http_at(f, fh_nhttp(f) - 1);
			if (!ok(r && strstr(r->body, want[k]), "step %d: the offer floor %s", k + 1, want[k]))
				diag("%s", r ? r->body : "(no request)");
			snprintf(ans, sizeof ans, "%d元", 95 - 5 * k);
			answer(f, fh_nhttp(f) - 1, ans);
		}
	}
	fh_free(f);
}

/* Superseded, taken over, again, recovery. */
static void t_turn_life(void)
{
	char m1[32], m2[32];
	fh *f = start(BASE);
	const char *out;

	if (!ok(f != NULL, "loads"))
		return;
	/* superseded */
	take(f, "c1", "在吗", m1);
	take(f, "c1", "在吗？？", m2);
	is_str(verdict(f, m1), "superseded|", "a later message supersedes the pending turn");
	answer(f, 0, "第一个答案");
	is_int(sends_for(f, m1), 0, "the superseded turn's late answer is not sent");
	answer(f, 1, "第二个答案");
	is_str(sent_for(f, m2), "第二个答案", "the later turn answers");
	is_int((int)fh_nsends(f), 1, "one reply in all");

	/* again */
	{
		char data[256];
		const char *o2;

		snprintf(data, sizeof data,
			 "{\"chat_id\":\"c1\",\"buyer_id\":\"b-1\",\"message_id\":\"%s\",\"text\":\"在吗？？\","
			 "\"decision\":\"default\"}", m2);
		is_int(fh_control(f, "agent_take", data, &o2), 0, "the same message again");
		ok(strstr(o2, "\"again\":true") && strstr(o2, "\"taken\":true"), "taken, again: %s", o2);
		is_int(sends_for(f, m2), 1, "nothing new sent");
		is_int((int)fh_nhttp(f), 2, "no new call");
	}

	/* takeover by an own message */
	take(f, "c2", "在吗", m1);
	fh_chat(f, "c2", FH_OWN_ID, "我来回复");
	is_str(verdict(f, m1), "taken_over|seller_wrote", "the seller wrote: taken over");
	answer(f, fh_nhttp(f) - 1, "AI 的回答");
	is_int(sends_for(f, m1), 0, "nothing sent");
	/* an echo of our own send is no takeover */
	take(f, "c2", "在吗2", m1);
	fh_echo(f, "c2", "某个回声");
	is_str(turn_col(f, m1, "state"), "pending", "an echo of our send is no takeover");
	answer(f, fh_nhttp(f) - 1, "好的");
	is_int(sends_for(f, m1), 1, "answered");

	/* by core.seller_reply and autoreply.handover */
	{
		sk_event e;

		take(f, "c3", "在吗", m1);
		e = fh_event(f, SK_EV_PLUGIN);
		e.topic = "core.seller_reply";
		e.payload_json = "{\"chat_id\":\"c3\",\"buyer_id\":\"b-1\",\"via\":\"page\"}";
		e.from_plugin = "other";
		fh_dispatch(f, &e);
		is_str(turn_col(f, m1, "state"), "pending", "core.seller_reply from a plugin is ignored");
		e.from_plugin = "core";
		fh_dispatch(f, &e);
		is_str(verdict(f, m1), "taken_over|seller_reply", "core.seller_reply: taken over");
		answer(f, fh_nhttp(f) - 1, "AI");
		is_int(sends_for(f, m1), 0, "nothing sent");

		take(f, "c4", "在吗", m1);
		e = fh_event(f, SK_EV_PLUGIN);
		e.topic = "autoreply.handover";
		e.payload_json = "{\"chat_id\":\"c4\"}";
		e.from_plugin = "autoreply";
		fh_dispatch(f, &e);
		is_str(verdict(f, m1), "taken_over|handover", "a hand-over: taken over");
	}
	/* paused by autoreply meanwhile */
	sqlite3_exec(fh_db(f), "CREATE TABLE autoreply_pause (chat TEXT PRIMARY KEY, until_ms INTEGER NOT NULL)", NULL,
		     NULL, NULL);
	take(f, "c5", "在吗", m1);
	{
		char sql[200];

		snprintf(sql, sizeof sql, "INSERT INTO autoreply_pause VALUES ('c5', %lld)",
			 (long long)fh_now_ms(f) + 60000);
		sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL);
	}
	answer(f, fh_nhttp(f) - 1, "AI");
	is_str(turn_col(f, m1, "verdict"), "taken_over", "a chat paused meanwhile: taken over");
	is_int(sends_for(f, m1), 0, "nothing sent");

	/* recovery: the answer never came (the process stopped) */
	take(f, "c6", "在吗", m1);
	fh_unload(f);
	ok(fh_http_at(f, fh_nhttp(f) - 1)->cancelled, "unload cancels the model call");
	is_str(turn_col(f, m1, "state"), "pending", "the turn stays pending");
	ok(fh_load(f, so, NULL) == 0, "loaded again");
	is_str(sent_for(f, m1), "默认回复", "recovery sends the fallback");
	is_int(sends_for(f, m1), 1, "once");
	is_str(verdict(f, m1), "fallback|restart", "reason restart");
	fh_unload(f);
	ok(fh_load(f, so, NULL) == 0, "loaded once more");
	is_int(sends_for(f, m1), 1, "still once");

	/* a reply queued already: nothing more */
	{
		char sql[200];

		for (size_t i = 0; i < fh_nsends(f); i++)
			if (fh_send_at(f, i)->state == 0)
				fh_complete_send(f, fh_send_at(f, i)->uuid, 1, "PNM-R");
		snprintf(sql, sizeof sql, "UPDATE agent_turn SET state = 'pending', outcome = '' WHERE message_id = '%s'",
			 m1);
		sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL);
	}
	fh_unload(f);
	ok(fh_load(f, so, NULL) == 0, "loaded with a pending turn whose reply is queued");
	is_int(sends_for(f, m1), 1, "its reply is not sent again");
	is_str(turn_col(f, m1, "state"), "done", "and the turn is done");
	is_str(turn_col(f, m1, "outcome"), "sent:PNM-R", "with the queued send's outcome");

	/* a reply still pending at a restart: its outcome comes as SK_EV_SEND_RESULT */
	{
		size_t n = fh_nhttp(f);
		char uuid[40] = "";

		take(f, "c8", "在吗", m2);
		answer(f, n, "在的亲");
		if (fh_nsends(f))
			snprintf(uuid, sizeof uuid, "%s", fh_send_at(f, fh_nsends(f) - 1)->uuid);
		fh_unload(f);
		ok(fh_load(f, so, NULL) == 0, "loaded with a reply still pending");
		is_int(fh_complete_send(f, uuid, 1, "PNM-S"), 0, "the reply is sent after the restart");
		is_str(turn_col(f, m2, "outcome"), "sent:PNM-S", "its outcome through SK_EV_SEND_RESULT");
	}

	/* older than an hour: nothing sent */
	take(f, "c7", "在吗", m2);
	fh_unload(f);
	fh_advance(f, 3600 * 1000 + 5);
	ok(fh_load(f, so, NULL) == 0, "loaded more than an hour later");
	is_int(sends_for(f, m2), 0, "an expired turn sends nothing");
	is_str(verdict(f, m2), "fallback|expired", "reason expired");
	ok(logged(f, "more than an hour ago"), "and it is logged");
	(void)out;
	fh_free(f);
}

/* Modes, bad data, not configured. */
static void t_modes(void)
{
	const char *out;
	fh *f;

	if ((f = start(BASE))) {
		is_int(take_ex(f, "c1", "a1", "在吗", "1001", "item_default", "", &out), 0, "mode default, item_default");
		is_str(out, "{\"taken\":false,\"why\":\"mode_default\"}", "not taken");
		is_int(take_ex(f, "c1", "a2", "在吗", "1001", "no_match", "", &out), 0, "no_match");
		ok(strstr(out, "\"taken\":true") != NULL, "taken");
		is_int(take_ex(f, "c1", "a3", "在吗", "1001", "default", "", &out), 0, "default");
		ok(strstr(out, "\"taken\":true") != NULL, "taken");
		is_int(take_ex(f, "c1", "a4", "在吗", "1001", "rule", "", &out), SK_ERR_INVAL, "a bad decision");
		ok(strstr(out, "decision") != NULL, "names the field: %s", out);
		is_int(take_ex(f, "", "a5", "在吗", "1001", "default", "", &out), SK_ERR_INVAL, "no chat_id");
		ok(strstr(out, "chat_id") != NULL, "names the field: %s", out);
		is_int(fh_control(f, "agent_take", "[1,2]", &out), SK_ERR_INVAL, "data not an object");
		is_int(fh_control(f, "agent_take", "{\"chat_id\":\"c\",\"buyer_id\":\"b\",\"message_id\":\"z\","
						  "\"decision\":\"default\"}", &out),
		       SK_ERR_INVAL, "no text");
		ok(strstr(out, "text") != NULL, "names the field: %s", out);
		is_int((int)fh_q_int(f, "SELECT count(*) FROM agent_turn"), 2, "only the taken turns are recorded");
		fh_free(f);
	}
	if ((f = start(BASE ",\"mode\":\"all\",\"items\":{\"2002\":{\"mode\":\"off\"},\"3003\":{\"mode\":\"default\"}}"))) {
		take_ex(f, "c1", "a1", "在吗", "1001", "item_default", "", &out);
		ok(strstr(out, "\"taken\":true") != NULL, "mode all: item_default taken");
		take_ex(f, "c2", "a2", "在吗", "2002", "default", "", &out);
		is_str(out, "{\"taken\":false,\"why\":\"mode_off\"}", "the item's mode off wins");
		take_ex(f, "c3", "a3", "在吗", "3003", "item_default", "", &out);
		is_str(out, "{\"taken\":false,\"why\":\"mode_default\"}", "the item's mode default wins");
		fh_free(f);
	}
	if ((f = start("\"model\":\"m\""))) {
		take_ex(f, "c1", "a1", "在吗", "1001", "default", "", &out);
		is_str(out, "{\"taken\":false,\"why\":\"not_configured\"}", "no base_url: not taken");
		is_int((int)fh_nsends(f), 0, "nothing sent");
		fh_free(f);
	}
	if ((f = start(BASE ",\"enabled\":false"))) {
		take_ex(f, "c1", "a1", "在吗", "1001", "default", "", &out);
		is_str(out, "{\"taken\":false,\"why\":\"disabled\"}", "disabled: not taken");
		fh_free(f);
	}
	if ((f = start(BASE ",\"mode\":\"off\""))) {
		take_ex(f, "c1", "a1", "在吗", "1001", "default", "", &out);
		is_str(out, "{\"taken\":false,\"why\":\"mode_off\"}", "mode off: not taken");
		fh_free(f);
	}
}

/* The config's checks: a bad key refuses the plugin, the log names it. */
static void t_config(void)
{
	static const struct { const char *cfg, *want; } bad[] = {
		{ "\"timeout_ms\":5", "timeout_ms: must be a whole number 1000..120000" },
		{ "\"temperature\":3", "temperature: must be a number 0..2" },
		{ "\"mode\":\"sometimes\"", "mode: must be off, default or all" },
		{ "\"base_url\":\"ftp://x\"", "base_url:" },
		{ "\"headers\":{\"Host\":\"x\"}", "headers.Host:" },
		{ "\"headers\":{\"X-A\":\"a\\nb\"}", "headers.X-A:" },
		{ "\"guard_text\":\"\"", "guard_text: must not be empty" },
		{ "\"banned\":[\"\"]", "banned[0]:" },
		{ "\"items\":{\"1001\":{\"floor\":\"abc\"}}", "items.1001.floor:" },
		{ "\"items\":{\"1001\":{\"mode\":\"x\"}}", "items.1001.mode:" },
		{ "\"items\":{\"1001\":{\"max_steps\":99}}", "items.1001.max_steps:" },
		{ "\"items\":{\"1001\":{\"colour\":1}}", "items.1001.colour: unknown field" },
		{ "\"api_key_file\":\"/nonexistent/key\"", "api_key_file:" },
	};
	char cfg[512];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fh *f;

		snprintf(cfg, sizeof cfg, "{\"agent\":{%s}}", bad[i].cfg);
		if (!(f = fh_new(cfg, NULL)))
			continue;
		if (!ok(fh_load(f, so, NULL) != 0 && logged(f, bad[i].want), "refused: %s", bad[i].want))
			diag("%s", fh_error(f));
		fh_free(f);
	}
}

/* An item without a floor may not be sold below its list price; an item
 * of which neither is known may not be quoted any amount. */
static void t_no_floor(void)
{
	char mid[32];
	const char *out = "";
	const fh_http *r;
	fh *f = start(BASE);

	if (!ok(f != NULL, "no floor: loads without items"))
		return;
	is_str(turn_with(f, "c1", "能便宜点吗", "给你算90元吧", mid), FLOOR_TEXT,
	       "no floor: 90元 below the list price 99 is refused");
	is_str(verdict(f, mid), "floor|below_floor: 90元", "no floor: verdict floor");
	is_str(turn_with(f, "c2", "最低多少", "最低99元哦", mid), "最低99元哦", "no floor: the list price itself is fine");
	take(f, "c3", "多少钱", mid);
	if ((r = fh_http_at(f, fh_nhttp(f) - 1)))
		ok(strstr(r->body, "最低可以让到：99元") != NULL, "no floor: the prompt says the list price is the lowest");
	answer(f, fh_nhttp(f) - 1, "99元");
	snprintf(mid, sizeof mid, "m%d", ++nmid);
	take_ex(f, "c4", mid, "这个还有吗", "7777", "default", "默认回复", &out);
	if ((r = fh_http_at(f, fh_nhttp(f) - 1)))
		ok(strstr(r->body, "最低可以让到：") == NULL, "unknown item: no lowest price line in the prompt");
	answer(f, fh_nhttp(f) - 1, "还有的，80元包邮");
	is_str(sent_for(f, mid), FLOOR_TEXT, "unknown item without a floor: any amount is refused");
	snprintf(mid, sizeof mid, "m%d", ++nmid);
	take_ex(f, "c5", mid, "这个还有吗", "7777", "default", "默认回复", &out);
	answer(f, fh_nhttp(f) - 1, "还有的，放心拍");
	is_str(sent_for(f, mid), "还有的，放心拍", "unknown item: an answer without amounts is sent");
	fh_free(f);
}

/* A relative api_key_file and prompts_dir are read from the folder of the
 * account's rules file, not from the process's own folder. */
static void t_paths(const char *dir)
{
	char cfg[512], rules[300], path[400], mid[32], v[256], *raw = NULL, err[300];
	const fh_http *r;
	FILE *fp;
	fh *f;

	snprintf(rules, sizeof rules, "%s/rules.json", dir);
	snprintf(cfg, sizeof cfg, "{\"agent\":{" BASE ",\"api_key_file\":\"rel.key\",\"prompts_dir\":\"prompts\"}}");
	if (!ok((f = fh_new(cfg, rules)) != NULL, "paths: a fake host with a rules file"))
		return;
	snprintf(path, sizeof path, "%s/rel.key", dir);
	if (!secret_seal(fh_key_file(f), KEY, &raw, err, sizeof err) && (fp = fopen(path, "w"))) {
		fprintf(fp, "%s\n", raw);
		fclose(fp);
	}
	free(raw);
	snprintf(path, sizeof path, "%s/prompts", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/prompts/tech.txt", dir);
	if ((fp = fopen(path, "w"))) {
		fputs("你是测试用的技术助手。", fp);
		fclose(fp);
	}
	if (ok(fh_load(f, so, NULL) == 0, "paths: relative api_key_file and prompts_dir load")) {
		take(f, "c1", "这个支持蓝牙吗？", mid);
		if ((r = fh_http_at(f, 0))) {
			ok(!fh_http_header(f, 0, "Authorization", v, sizeof v) && !strcmp(v, "Bearer " KEY),
			   "paths: the key of rel.key beside the rules file");
			ok(strstr(r->body, "你是测试用的技术助手。") != NULL, "paths: the prompt of prompts/ beside the rules file");
		} else {
			ok(0, "paths: a model call");
		}
	} else {
		diag("%s", fh_error(f));
	}
	fh_free(f);
	unlink(path);
	snprintf(path, sizeof path, "%s/prompts", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/rel.key", dir);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/sk_agent_XXXXXX", keyfile[300];

	fh_build_path(so, sizeof so, "plugins/agent.so");
	if (!mkdtemp(dir))
		return 1;
	snprintf(keyfile, sizeof keyfile, "%s/api_key", dir);
	t_request(keyfile);
	t_guard_and_fallbacks();
	t_budgets_steps();
	t_turn_life();
	t_modes();
	t_config();
	t_no_floor();
	t_paths(dir);
	unlink(keyfile);
	rmdir(dir);
	return tap_done();
}
