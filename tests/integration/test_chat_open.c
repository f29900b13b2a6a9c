/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_chat_open.c - sk_chat_open's timeout in the real
 * bot against the simulator: an order paid without its trade cards
 * ("push": false) is pulled, the first /r/SingleChatConversation/create of
 * its chat goes unanswered (fault conv_ignore), the open ends with
 * SK_ERR_IO after session.chat_open_timeout_ms (short here), the orders
 * plugin logs it and its retry opens the chat again, and the code reaches
 * the buyer exactly once.
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

#define UNB "2200000000777"
#define WAIT_MS 10000

static tc_sim sim;
static tbot B;

static int cli(const char *args, char *out, size_t n)
{
	char cmd[1200];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof cmd, "%s/shopkeep %s --config %s 2>&1", tbot_build_dir(), args, B.cfg);
	if (!(p = popen(cmd, "r")))
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

/* Waits until the bot's log has s; 1 when it came. */
static int wait_log(const char *s, int ms)
{
	int64_t end = util_mono_us() / 1000 + ms;

	while (util_mono_us() / 1000 < end) {
		if (tbot_log_has(&B, s))
			return 1;
		usleep(50000);
	}
	return 0;
}

int main(void)
{
	char path[400], out[2048];
	FILE *f;
	int fail0 = tap_failed;
	double reg;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	tsim_ctl(&sim, "/item", "{\"item_id\":\"50001\",\"title\":\"会员月卡\",\"price\":990}");
	if (tbot_init(&B, &sim))
		return tap_done();
	snprintf(path, sizeof path, "%s/rules.json", B.dir);
	if ((f = fopen(path, "w"))) {
		fputs("{\"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],"
		      "\"delivery\":[{\"item_id\":\"50001\",\"spec\":null,\"card\":\"code\"}]}\n", f);
		fclose(f);
	}
	{
		char json[2048];

		snprintf(json, sizeof json,
			 "{\"account\":{\"id\":\"chat\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
			 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
			 " \"session\":{\"chat_open_timeout_ms\":500},\n"
			 " \"state\":{\"db\":\"state.db\"},\n \"web\":{\"listen\":\"off\"},\n"
			 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"orders\"]},\n"
			 " \"rules\":\"rules.json\",\n"
			 " \"orders\":{\"confirm\":\"after\",\"retry_s\":1,\"pull_s\":1,\"pull_gap_ms\":100},\n"
			 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", tbot_build_dir());
		tbot_config(&B, json);
	}
	snprintf(path, sizeof path, "%s/codes.txt", B.dir);
	if ((f = fopen(path, "w"))) {
		fputs("CHAT-0001\nCHAT-0002\n", f);
		fclose(f);
	}
	{
		char args[600];

		snprintf(args, sizeof args, "stock import --card code %s", path);
		ok(cli(args, out, sizeof out) == 0 && strstr(out, "2 codes added"), "stock import before the start");
	}

	/* the first chat open of the seller goes unanswered */
	tsim_ctl(&sim, "/fault", "{\"kind\":\"conv_ignore\",\"seller\":\"" UNB "\",\"n\":1}");
	tsim_ctl(&sim, "/order", "{\"seller\":\"" UNB "\",\"order_id\":\"26000000000101\",\"cid\":\"9201\",\"buyer\":\"7201\","
		 "\"buyer_name\":\"买家7201\",\"item_id\":\"50001\",\"quantity\":1,\"status\":\"paid\",\"push\":false}");
	reg = tsim_stat(&sim, "reg_ok");
	tbot_start(&B);
	ok(tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0, "the bot starts and registers");
	ok(wait_log("chat with buyer 7201 not opened: no answer in 500 ms", WAIT_MS),
	   "the ignored open times out after session.chat_open_timeout_ms");
	ok(wait_log("order 26000000000101: no chat with the buyer", WAIT_MS), "... the orders plugin logs the failure");
	ok(tsim_wait_delivered(&sim, "Your code: CHAT-0001", 1, WAIT_MS),
	   "its retry opens the chat again and the code reaches the buyer");
	ok(tbot_log_has(&B, "order 26000000000101: chat 9201 opened with the buyer"), "... in the buyer's chat");
	is_int((int)tsim_stat(&sim, "conv_creates"), 1, "one create answered (the ignored one is not counted)");
	usleep(1500000);   /* a retry period and more: nothing goes out again */
	is_int(tsim_delivered(&sim, "Your code: CHAT-0001"), 1, "the code was sent exactly once");
	is_int(tsim_delivered(&sim, "Your code: CHAT-0002"), 0, "no second code went out");
	ok(tbot_alive(&B), "the bot runs");
	is_int(tbot_stop(&B, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&B, tap_failed > fail0);
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
