/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_orders_pull_e2e.c - the sold-orders pull in the real bot
 * against the simulator: orders placed and paid WITHOUT their trade cards
 * ("push": false) are found in the seller console's list (sold.get, sent
 * with valueType=string and idle_site_biz_code: COMMONPRO, or the simulator
 * refuses it), their chat is opened (/r/SingleChatConversation/create), and
 * the code reaches the buyer once; a restart delivers nothing again; the
 * console's FAIL_SYS_SESSION_EXPIRED is counted by the pull and does not put
 * the account into FAILED.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SOLD "mtop.taobao.idle.trade.merchant.sold.get"
#define UNB "2200000000777"
#define WAIT_MS 10000

static tc_sim sim;
static tbot B;
static char db[320];


static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

/* The sold.get calls the simulator logged: all of them, and those whose ret
 * has sub (NULL: any). */
static int sold_calls(const char *sub)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=" SOLD, NULL, NULL), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += !sub || (tc_jstr(e, "ret") && strstr(tc_jstr(e, "ret"), sub));
	cJSON_Delete(r);
	return n;
}

static int wait_sold_calls(const char *sub, int want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (sold_calls(sub) >= want)
			return 1;
		usleep(50000);
	}
	return 0;
}

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

static int start(void)
{
	double reg = tsim_stat(&sim, "reg_ok");

	tbot_start(&B);
	return tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0;
}

/* Places and pays an order of buyer in chat cid without pushing a card. */
static void silent_order(const char *oid, const char *cid, const char *buyer)
{
	char b[500];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"%s\",\"buyer_name\":"
		 "\"买家%s\",\"item_id\":\"50001\",\"quantity\":1,\"status\":\"paid\",\"push\":false}", oid, cid, buyer, buyer);
	tsim_ctl(&sim, "/order", b);
}

int main(void)
{
	char path[400], out[2048];
	FILE *f;
	int fail0 = tap_failed;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	tsim_ctl(&sim, "/item", "{\"item_id\":\"50001\",\"title\":\"会员月卡\",\"price\":990}");
	if (tbot_init(&B, &sim))
		return tap_done();
	snprintf(db, sizeof db, "%s/state.db", B.dir);
	snprintf(path, sizeof path, "%s/rules.json", B.dir);
	if ((f = fopen(path, "w"))) {
		fputs("{\"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],"
		      "\"delivery\":[{\"item_id\":\"50001\",\"spec\":null,\"card\":\"code\"}]}\n", f);
		fclose(f);
	}
	{
		char json[2048];

		snprintf(json, sizeof json,
			 "{\"account\":{\"id\":\"pull\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
			 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
			 " \"state\":{\"db\":\"state.db\"},\n \"web\":{\"listen\":\"off\"},\n"
			 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"orders\"]},\n"
			 " \"rules\":\"rules.json\",\n"
			 " \"orders\":{\"confirm\":\"after\",\"retry_s\":1,\"pull_s\":1,\"pull_gap_ms\":100},\n"
			 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", tbot_build_dir());
		tbot_config(&B, json);
	}
	snprintf(path, sizeof path, "%s/codes.txt", B.dir);
	if ((f = fopen(path, "w"))) {
		fputs("PULL-0001\nPULL-0002\nPULL-0003\n", f);
		fclose(f);
	}
	{
		char args[600];

		snprintf(args, sizeof args, "stock import --card code %s", path);
		ok(cli(args, out, sizeof out) == 0 && strstr(out, "3 codes added"), "stock import before the start");
	}

	/* an order paid while the bot was away, its cards never pushed */
	silent_order("26000000000001", "9101", "7101");
	ok(start(), "the bot starts and registers");
	ok(tbot_wait_order(db, "26000000000001", "delivery", "delivered", WAIT_MS), "the pull finds the order and delivers it");
	is_str(tbot_order_col(db, "26000000000001", "source"), "pull", "... recorded as pulled");
	is_str(tbot_order_col(db, "26000000000001", "amount"), "9.90", "... with its amount");
	is_str(tbot_order_col(db, "26000000000001", "chat_id"), "9101", "... its chat opened (the buyer's chat)");
	ok(tsim_stat(&sim, "conv_creates") >= 1, "... with /r/SingleChatConversation/create");
	ok(tsim_wait_delivered(&sim, "Your code: PULL-0001", 1, WAIT_MS), "the buyer receives the code");
	ok(sold_calls("SUCCESS") >= 1 && sold_calls("PARAMINVALID") == 0,
	   "sold.get carried valueType=string and idle_site_biz_code (the simulator answered it)");
	ok(tbot_wait_order(db, "26000000000001", "confirm", "done", WAIT_MS), "the shipment is confirmed");

	/* a second one while running: the periodic pull (every 1 s here) */
	silent_order("26000000000002", "9102", "7102");
	ok(tbot_wait_order(db, "26000000000002", "delivery", "delivered", WAIT_MS), "the periodic pull finds a new order");
	ok(tsim_wait_delivered(&sim, "Your code: PULL-0002", 1, WAIT_MS), "... and its code arrives");

	/* the seller console's session expiry: counted, the account stays */
	tsim_ctl(&sim, "/fault", "{\"kind\":\"mtop_fail\",\"api\":\"" SOLD "\",\"n\":2,"
		 "\"ret\":\"FAIL_SYS_SESSION_EXPIRED::Session过期\"}");
	ok(wait_sold_calls("FAIL_SYS_SESSION_EXPIRED", 2, WAIT_MS), "the console answers FAIL_SYS_SESSION_EXPIRED twice");
	ok(wait_sold_calls("SUCCESS", sold_calls("SUCCESS") + 1, WAIT_MS), "the pull goes on afterwards");
	ok(!tbot_log_has(&B, "-> FAILED"), "a seller-console session expiry does not fail the account");
	ok(tbot_log_has(&B, "the seller console's session expired"), "... the pull logs it");
	ok(tbot_alive(&B), "the bot runs");

	/* a restart: nothing delivered again */
	is_int(tbot_stop(&B, SIGTERM), 0, "SIGTERM exits 0");
	ok(start(), "the bot starts again");
	ok(wait_sold_calls(NULL, sold_calls(NULL) + 3, WAIT_MS), "it pulls again (several times)");
	is_int(tsim_delivered(&sim, "Your code: PULL-0001"), 1, "after the restart: the first code was sent once");
	is_int(tsim_delivered(&sim, "Your code: PULL-0002"), 1, "after the restart: the second code was sent once");
	is_int(tsim_delivered(&sim, "Your code: PULL-0003"), 0, "no third code went out");
	is_int(tbot_stop(&B, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&B, tap_failed > fail0);
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
