/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_autoreply_e2e.c - dedup + autoreply in the real bot
 * against the simulator: keyword replies on the wire, a burst answered once,
 * echoes that do not pause, a manual reply that does, trade cards never
 * answered as chat, re-pushes not answered twice, rules reloaded on SIGHUP,
 * kill -9 inside an answer answered exactly once after the restart.
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

#define UNB "2200000000001"

static tc_sim sim;
static tbot bot;
static char rules[400];

static void write_rules(const char *price_reply)
{
	FILE *f = fopen(rules, "w");

	fprintf(f, "{\"keyword_rules\":[{\"keywords\":[\"多少钱\",\"price\"],\"reply\":\"%s\"}],"
		   "\"default_reply\":{\"reply\":\"您好 {buyer_name}，稍等\",\"once\":\"chat\"}}\n", price_reply);
	fclose(f);
}

/* Sends the bot made to one chat, whatever their text. */
static int sends_to(const char *cid)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += tc_jstr(e, "cid") && !strcmp(tc_jstr(e, "cid"), cid);
	cJSON_Delete(r);
	return n;
}

/* Image sends the bot made to one chat. */
static int images_to(const char *cid)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += tc_jstr(e, "cid") && !strcmp(tc_jstr(e, "cid"), cid) && tc_jnum(e, "content.contentType") == 2;
	cJSON_Delete(r);
	return n;
}

static void inject_item(const char *cid, const char *item, const char *text)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"%s\",\"text\":\"%s\"}", cid, cid, item, text);
	tsim_ctl(&sim, "/inject", b);
}

static void inject(const char *cid, const char *text)
{
	inject_item(cid, "40004", text);
}

static void write_file(const char *text)
{
	FILE *f = fopen(rules, "w");

	fputs(text, f);
	fclose(f);
}

/* Match modes, item rules, image, banned words and a broken file, after SIGHUP. */
static void test_modes(void)
{
	write_file("{\"keyword_rules\":["
		   "{\"keywords\":[\"在吗\"],\"match\":\"exact\",\"reply\":\"exact-hit\"},"
		   "{\"keywords\":[\"^订单[0-9]+$\"],\"match\":\"regex\",\"reply\":\"regex-hit\"},"
		   "{\"keywords\":[\"尺寸\"],\"item_id\":\"40009\",\"reply\":\"item-rule {item_id}\",\"priority\":50},"
		   "{\"keywords\":[\"尺寸\"],\"reply\":\"general-size\",\"priority\":1},"
		   "{\"keywords\":[\"图片\"],\"reply\":\"\",\"image\":\"https://img.alicdn.com/x.jpg\"},"
		   "{\"keywords\":[\"联系\"],\"reply\":\"加我微信 abc\"},"
		   "{\"keywords\":[\"发货\"],\"reply\":\"prio-5\",\"priority\":5},"
		   "{\"keywords\":[\"发货\"],\"reply\":\"prio-1\",\"priority\":1}],"
		   "\"item_defaults\":[{\"item_id\":\"40010\",\"reply\":\"item-default {chat_id}\",\"once\":\"chat_item\"}]}\n");
	kill(bot.pid, SIGHUP);
	usleep(300000);
	inject("30011", "在吗");
	ok(tsim_wait_delivered(&sim, "exact-hit", 1, 4000), "exact: an exact text matches");
	inject("30012", "在吗在吗");
	inject("30013", "订单12345");
	ok(tsim_wait_delivered(&sim, "regex-hit", 1, 4000), "regex: a pattern matches");
	inject_item("30014", "40009", "尺寸多少");
	ok(tsim_wait_delivered(&sim, "item-rule 40009", 1, 4000), "item rules come before general ones (and {item_id})");
	inject("30015", "有图片吗");
	for (int i = 0; i < 100 && images_to("30015") < 1; i++)
		usleep(40000);
	is_int(images_to("30015"), 1, "image: the rule's image is sent");
	inject("30016", "怎么联系你");
	inject("30018", "什么时候发货");
	ok(tsim_wait_delivered(&sim, "prio-1", 1, 4000), "priority: the lower number wins");
	inject_item("30019", "40010", "随便问问");
	ok(tsim_wait_delivered(&sim, "item-default 30019", 1, 4000), "the item's default reply ({chat_id})");
	inject_item("30019", "40010", "再问问");
	usleep(1200000);
	is_int(tsim_delivered(&sim, "exact-hit"), 1, "exact: a longer text does not match");
	is_int(tsim_delivered(&sim, "general-size"), 0, "the general rule was not used for the item's chat");
	is_int(sends_to("30016"), 0, "banned words: a reply with 微信 is not sent");
	is_int(tsim_delivered(&sim, "prio-5"), 0, "priority: the higher number is not used");
	is_int(tsim_delivered(&sim, "item-default 30019"), 1, "the item default once per chat and item");
	ok(tbot_log_has(&bot, "微信"), "banned words: the reason is logged");
	write_file("{broken");
	kill(bot.pid, SIGHUP);
	usleep(300000);
	inject("30017", "在吗");
	ok(tsim_wait_delivered(&sim, "exact-hit", 2, 4000), "a broken rules file keeps the old rules in force");
}

/* kill -9 inside an answer (autoreply.debug_kill_at): at "answer", after dedup
 * passed the message and before its reply was queued; at "queued", after the
 * reply went into the outbox and before it went out. The push was not ACKed,
 * so the platform pushes it again to the next run: the buyer gets the reply
 * exactly once either way. (At "answer" it was lost while dedup wrote the
 * message down during the dispatch; make soak found it.) At "commit" (the
 * core's debug.kill_at) the bot dies right before the commit of the loop
 * turn's batch (group commit, core/store.c) that holds the reply: nothing of
 * it - the ACK, the reply - may have gone out, and the next run answers once. */
/* The images the seller unb sent the buyers (answered, not a repeat). */
static int images_delivered(const char *unb)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=/r/MessageSend/sendByReceiverScope", NULL, NULL);
	cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "unb");
		char *t = cJSON_PrintUnformatted(e);

		if (cJSON_IsString(u) && !strcmp(u->valuestring, unb) && t && strstr(t, "kill.png") &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message_id")) &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat")))
			n++;
		free(t);
	}
	cJSON_Delete(r);
	return n;
}

static void test_kill(const char *step, const char *unb, int image, int debounce_ms)
{
	int core = !strcmp(step, "commit");
	const char *build = getenv("SK_BUILD");
	char json[2048], path[400], b[400], want[80], what[120];
	double reg0 = tsim_stat(&sim, "reg_ok");
	int st = -1, i;
	tbot k;
	FILE *f;

	snprintf(what, sizeof what, "%s%s%s", step, image ? " (image and text)" : "",
		 debounce_ms ? " (debounced: answered from a timer)" : "");
	if (tbot_init(&k, &sim))
		return;
	snprintf(path, sizeof path, "%s/rules.json", k.dir);
	if (!(f = fopen(path, "w")))
		return;
	fprintf(f, "{\"default_reply\":{\"reply\":\"re: {message}\"%s}}\n",
		image ? ",\"image\":\"https://img.alicdn.com/kill.png\"" : "");
	fclose(f);
	for (i = 0; i < 2; i++) {
		char core_kill[40] = "", ar_kill[80] = "";

		/* the first run dies at the step: the core's or autoreply's option */
		if (!i && core)
			snprintf(core_kill, sizeof core_kill, ",\"kill_at\":\"commit\"");
		else if (!i)
			snprintf(ar_kill, sizeof ar_kill, ",\"debug_kill_at\":\"%s\"", step);
		snprintf(json, sizeof json,
			 "{\"account\":{\"id\":\"k%s%d\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
			 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
			 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
			 " \"state\":{\"db\":\"state.db\"},\n"
			 " \"web\":{\"listen\":\"off\"},\n"
			 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\"]},\n"
			 " \"rules\":\"rules.json\",\n"
			 " \"debug\":{\"event_log\":\"events.jsonl\"%s},\n"
			 " \"autoreply\":{\"debounce_ms\":%d%s}}\n", step, image, unb, build ? build : "build",
			 core_kill, debounce_ms, ar_kill);
		tbot_config(&k, json);
		tbot_start(&k);
		if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1 + i, 5000) >= 0, "kill at %s: the bot registers (run %d)",
			what, i + 1))
			goto out;
		if (i)
			break;
		snprintf(b, sizeof b, "{\"seller\":\"%s\",\"cid\":\"31%s\",\"buyer\":\"53100\",\"text\":\"kill at %s %s\"}",
			 unb, unb + 9, step, unb + 9);
		tsim_ctl(&sim, "/inject", b);
		for (int t = 0; t < 500 && st == -1; t++)
			if (waitpid(k.pid, &st, WNOHANG) != k.pid)
				usleep(20000);
		if (!ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
			tbot_log_has(&k, core ? "debug.kill_at commit" : "debug_kill_at"),
			"kill at %s: the bot died by SIGKILL there", what))
			goto out;
		k.pid = -1;
		if (core) {
			snprintf(want, sizeof want, "re: kill at %s %s", step, unb + 9);
			is_int(tsim_delivered(&sim, want), 0, "kill at commit: the reply did not go out before the commit");
			ok(tbot_wait_ev(&k, "\"text\":\"kill at commit", NULL, NULL, 1, 100),
			   "kill at commit: (the bot had the message)");
		}
	}
	snprintf(want, sizeof want, "re: kill at %s %s", step, unb + 9);
	tsim_wait_delivered(&sim, want, 1, 8000);
	usleep(1500000);
	is_int(tsim_delivered(&sim, want), 1, "kill at %s: after the restart the buyer got the reply exactly once", what);
	if (image)
		is_int(images_delivered(unb), 1, "kill at %s: and the image exactly once", what);
	is_int(tbot_stop(&k, SIGTERM), 0, "kill at %s: SIGTERM exits 0", what);
out:
	tbot_done(&k, tap_failed);
}

int main(void)
{
	const char *build = getenv("SK_BUILD");
	char json[2048];

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || tbot_init(&bot, &sim))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	write_rules("9.9元，包邮");
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"ar\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":300,\"pause_s\":600},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", build ? build : "build");
	tbot_config(&bot, json);
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "bot: registered with dedup and autoreply");

	inject("30001", "这个多少钱？");
	ok(tsim_wait_delivered(&sim, "9.9元，包邮", 1, 4000), "keyword: the price rule answers on the wire");
	inject("30001", "在吗");
	ok(tsim_wait_delivered(&sim, "您好 小王，稍等", 1, 4000), "default reply with {buyer_name}");
	inject("30001", "还在吗");
	usleep(900000);
	is_int(tsim_delivered(&sim, "您好 小王，稍等"), 1, "default reply once per chat");
	is_int(tsim_delivered(&sim, "9.9元，包邮"), 1, "our own echoes do not trigger or pause anything");

	/* a burst gets one reply */
	inject("30002", "price?");
	inject("30002", "price??");
	inject("30002", "price???");
	ok(tsim_wait_delivered(&sim, "9.9元，包邮", 2, 4000), "burst: answered");
	usleep(800000);
	is_int(tsim_delivered(&sim, "9.9元，包邮"), 2, "burst: three messages, one reply");

	/* trade cards are never answered as chat */
	tsim_ctl(&sim, "/order", "{\"seller\":\"" UNB "\",\"order_id\":\"2503688126356636999\",\"cid\":\"30003\",\"buyer\":\"530003\"}");
	tsim_ctl(&sim, "/order/status", "{\"order_id\":\"2503688126356636999\",\"status\":\"paid\"}");
	usleep(1200000);
	ok(tbot_wait_ev(&bot, "\"trade\":\"paid\"", "2503688126356636999", NULL, 1, 2000), "the paid card arrived");
	is_int(sends_to("30003"), 0, "trade cards get no chat reply");
	inject("30003", "在吗");
	for (int i = 0; i < 100 && sends_to("30003") < 1; i++)
		usleep(40000);
	is_int(sends_to("30003"), 1, "(the same chat does get an answer to a buyer text)");

	/* the seller types by hand: the chat pauses */
	tsim_ctl(&sim, "/inject", "{\"seller\":\"" UNB "\",\"cid\":\"30001\",\"text\":\"我来回复\",\"from_seller\":true}");
	usleep(300000);
	inject("30001", "多少钱呢");
	usleep(1000000);
	is_int(tsim_delivered(&sim, "9.9元，包邮"), 2, "manual takeover: a paused chat is not answered");

	/* the same pushes again: not answered twice */
	tsim_ctl(&sim, "/replay", "{\"seller\":\"" UNB "\",\"n\":12}");
	usleep(1200000);
	is_int(tsim_delivered(&sim, "9.9元，包邮"), 2, "dedup: replayed pushes are not answered again");

	/* new rules on SIGHUP */
	write_rules("新价格 8.8元");
	kill(bot.pid, SIGHUP);
	usleep(300000);
	inject("30004", "多少钱");
	ok(tsim_wait_delivered(&sim, "新价格 8.8元", 1, 4000), "SIGHUP: the new rules are in force");

	test_modes();
	test_kill("answer", "2200000000002", 0, 0);
	test_kill("queued", "2200000000003", 0, 0);
	test_kill("commit", "2200000000004", 0, 0);
	/* image then text: a crash between them lost the text (the restarted bot
	 * found the image by the reply's tag and took the message as answered);
	 * the group commit makes both one write, also when a timer answers */
	test_kill("between", "2200000000005", 1, 0);
	test_kill("between", "2200000000006", 1, 300);
	test_kill("queued", "2200000000007", 1, 300);
	is_int(tbot_stop(&bot, SIGTERM), 0, "bot: SIGTERM exits 0");
	tc_sim_stop(&sim);
	tbot_done(&bot, tap_failed);
	return tap_done();
}
