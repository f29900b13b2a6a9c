/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_orders_notice_e2e.c - the buyer notices and the
 * rating chore of the orders plugin in the real bot against the simulator:
 * an order of 2 items of a rule with quantity 2 waits for 4 codes, its buyer
 * gets the waiting_stock notice once (through retries every second and a
 * restart); codes imported with the CLI deliver it, then the card's
 * after_delivery text and image arrive once (not again after a restart). With
 * chores.rate on, a completed trade is rated once with the template
 * (rate.create at version 4.0): refused while the simulator's order is not
 * completed yet, tried again after rate_retry_s, and never again after a
 * restart.
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

#define SEND_LWP "/r/MessageSend/sendByReceiverScope"
#define WAIT_MS 10000        /* every wait for the bot is bounded by this */
#define WAITING "库存补充中，补货后自动发货，请稍候～"

static tc_sim sim;

static const char rules_json[] =
	"{\"cards\":[{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Code: {code}\","
	"  \"after_delivery\":{\"text\":\"兑换说明 {order_id}\",\"image\":\"https://img.alicdn.com/howto.png\"}}],\n"
	" \"delivery\":[{\"item_id\":\"60001\",\"spec\":null,\"card\":\"code\",\"quantity\":2}],\n"
	" \"notices\":{\"after_delivery\":{\"enabled\":true}},\n"
	" \"chores\":{\"rate\":{\"enabled\":true,\"text\":\"谢谢{buyer_name}，欢迎再来\"}}}\n";

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

static tbot B;
static char unb[24], dbpath[320];


static int bot_new(void)
{
	char json[2048], path[400];
	FILE *f;

	if (tbot_init(&B, &sim))
		return -1;
	snprintf(unb, sizeof unb, "2200000077001");
	snprintf(dbpath, sizeof dbpath, "%s/state.db", B.dir);
	snprintf(path, sizeof path, "%s/rules.json", B.dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(rules_json, f);
	fclose(f);
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"notice\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"orders\":{\"confirm\":\"after\",\"retry_base_ms\":100,\"retry_s\":1,\"rate_retry_s\":1}}\n",
		 unb, tbot_build_dir());
	tbot_config(&B, json);
	return 0;
}

static int bot_start(void)
{
	double reg = tsim_stat(&sim, "reg_ok");

	tbot_start(&B);
	return tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0;
}

static void status(const char *oid, const char *st, int set, int push)
{
	char b[200];

	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"%s\",\"set\":%s,\"push\":%s}", oid, st,
		 set ? "true" : "false", push ? "true" : "false");
	tsim_ctl(&sim, "/order/status", b);
}

static void order_paid(const char *oid, const char *cid, int qty)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\",\"buyer_name\":"
		 "\"买家%s\",\"item_id\":\"60001\",\"quantity\":%d,\"spec\":\"\",\"status\":\"placed\"}", unb, oid, cid,
		 cid, cid, qty);
	tsim_ctl(&sim, "/order", b);
	status(oid, "paid", 1, 1);
}

/* The simulator's field of an order (a number; -1 if no such order), or its text into txt. */
static int sim_order(const char *oid, const char *field, char *txt, size_t n)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/orders", NULL, NULL), *o;
	int v = -1;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "orders"))
		if (tc_jstr(o, "order_id") && !strcmp(tc_jstr(o, "order_id"), oid)) {
			v = (int)tc_jnum(o, field);
			if (txt)
				snprintf(txt, n, "%s", tc_jstr(o, field) ? tc_jstr(o, field) : "");
		}
	cJSON_Delete(r);
	return v;
}

static int wait_sim_order(const char *oid, const char *field, int want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (sim_order(oid, field, NULL, 0) >= want)
			return 1;
		usleep(30000);
	}
	return 0;
}

/* Accepted sends to chat cid; with text, only those of that text; images counts the image sends. */
static int accepted_to(const char *cid, const char *text, int *images)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=" SEND_LWP, NULL, NULL), *e;
	int n = 0;

	if (images)
		*images = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const char *t = tc_jstr(e, "content.text.text");

		if (!tc_jstr(e, "cid") || strcmp(tc_jstr(e, "cid"), cid) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message_id")) ||
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat")))
			continue;
		if (images && !t)
			(*images)++;
		n += !text || (t && !strcmp(t, text));
	}
	cJSON_Delete(r);
	return n;
}

static int wait_accepted(const char *cid, const char *text, int want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (accepted_to(cid, text, NULL) >= want)
			return 1;
		usleep(30000);
	}
	return 0;
}

/* Runs "shopkeep <args> --config <cfg>": its exit status. */
static int cli(const char *args)
{
	char cmd[1200], out[2048];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof cmd, "%s/shopkeep %s --config %s 2>&1", tbot_build_dir(), args, B.cfg);
	if (!(p = popen(cmd, "r")))
		return -1;
	got = fread(out, 1, sizeof out - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

static int import_codes(const char *prefix, int n)
{
	char file[400], args[600];
	FILE *f;

	snprintf(file, sizeof file, "%s/codes-%s.txt", B.dir, prefix);
	if (!(f = fopen(file, "w")))
		return -1;
	for (int i = 1; i <= n; i++)
		fprintf(f, "%s-%d\n", prefix, i);
	fclose(f);
	snprintf(args, sizeof args, "stock import --card code %s", file);
	return cli(args);
}

static void restart(const char *what)
{
	is_int(tbot_stop(&B, SIGTERM), 0, "%s: SIGTERM exits 0", what);
	ok(bot_start(), "%s: the bot starts again", what);
}

static void test_waiting_then_delivered(void)
{
	const char *oid = "2603000000000001", *cid = "30011";
	char howto[64];
	int images;

	order_paid(oid, cid, 2);
	ok(tbot_wait_order(dbpath, oid, "delivery", "failed", WAIT_MS) && !strncmp(tbot_order_col(dbpath, oid, "reason"), "out_of_stock:", 13),
	   "no codes: the order waits for stock (%s)", tbot_order_col(dbpath, oid, "reason"));
	ok(strstr(tbot_order_col(dbpath, oid, "reason"), "the order needs 4") != NULL, "2 bought x quantity 2: 4 codes needed");
	ok(wait_accepted(cid, WAITING, 1, WAIT_MS), "the buyer gets the waiting_stock notice");
	usleep(2500000);
	is_int(accepted_to(cid, WAITING, NULL), 1, "retries every second: still one notice");
	restart("waiting");
	usleep(1500000);
	is_int(accepted_to(cid, NULL, NULL), 1, "after a restart: still only the notice");
	is_int(import_codes("N", 3), 0, "3 codes imported: not enough");
	usleep(1500000);
	is_int(accepted_to(cid, NULL, NULL), 1, "still waiting, no second notice");
	is_int(import_codes("M", 1), 0, "the fourth code imported");
	ok(tbot_wait_order(dbpath, oid, "delivery", "delivered", WAIT_MS), "delivered after the import");
	snprintf(howto, sizeof howto, "兑换说明 %s", oid);
	ok(wait_accepted(cid, howto, 1, WAIT_MS), "the card's after_delivery text arrives");
	ok(wait_accepted(cid, NULL, 7, WAIT_MS), "notice + 4 codes + text + image");
	accepted_to(cid, NULL, &images);
	is_int(images, 1, "one image: the card's after_delivery image");
	ok(tsim_delivered(&sim, "Code: N-1") == 1 && tsim_delivered(&sim, "Code: M-1") == 1, "the codes reached the buyer");
	restart("delivered");
	usleep(1500000);
	is_int(accepted_to(cid, NULL, NULL), 7, "after a restart: nothing more");
	is_int(accepted_to(cid, WAITING, NULL), 1, "the waiting notice once in all");
}

static void test_rate(void)
{
	const char *oid = "2603000000000002", *cid = "30012";
	char fb[200];
	int calls;

	is_int(import_codes("R", 2), 0, "codes for the order");
	order_paid(oid, cid, 1);
	ok(tbot_wait_order(dbpath, oid, "confirm", "done", WAIT_MS), "delivered and shipped");
	is_int(accepted_to(cid, WAITING, NULL), 0, "in stock: no waiting notice");
	/* the completed card, while the platform's order is not completed yet: refused */
	status(oid, "completed", 0, 1);
	ok(wait_sim_order(oid, "rate_calls", 1, WAIT_MS), "the completed card: rate.create called");
	is_int(sim_order(oid, "rates", NULL, 0), 0, "refused before 交易成功");
	status(oid, "completed", 1, 0);
	ok(wait_sim_order(oid, "rates", 1, WAIT_MS), "tried again after rate_retry_s: rated");
	sim_order(oid, "rate_feedback", fb, sizeof fb);
	is_str(fb, "谢谢买家30012，欢迎再来", "with the template rendered");
	calls = sim_order(oid, "rate_calls", NULL, 0);
	ok(calls >= 2, "%d calls", calls);
	status(oid, "completed", 1, 1);
	restart("rated");
	usleep(2500000);
	is_int(sim_order(oid, "rates", NULL, 0), 1, "rated once");
	is_int(sim_order(oid, "rate_calls", NULL, 0), calls, "no call after it was rated, nor after a restart");
}

int main(void)
{
	int64_t t0 = now_ms();
	int fail0 = tap_failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (ok(bot_new() == 0, "bot set up") && ok(bot_start(), "bot registers")) {
		test_waiting_then_delivered();
		test_rate();
	}
	if (B.pid > 0)
		is_int(tbot_stop(&B, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&B, tap_failed > fail0);
	tc_sim_stop(&sim);
	diag("took %lld ms", (long long)(now_ms() - t0));
	return tap_done();
}
