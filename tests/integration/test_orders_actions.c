/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_orders_actions.c - the seller's order actions in
 * the real bot against the simulator, through the CLI (`shopkeep orders
 * resend|deliver|retry|ship|show`, which reach the running process over its
 * control socket with sk_control_call) and the control socket (`shopkeep
 * ctl` for order_get and the stock code commands): a paid order delivered;
 * resend sends the same code again in a new message that the buyer gets; a
 * hand delivery of an order without a rule; retry after codes are imported;
 * ship confirms once (and a second ship is refused); the stock commands mask,
 * reveal, export and delete; the CLI with no running process says so.
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

#define WAIT_MS 10000

static tc_sim sim;
static tbot bot;
static char db[320];

static const char unb[] = "2200000077001";

static const char rules_json[] =
	"{\"cards\":["
	"{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"}],\n"
	" \"delivery\":[{\"item_id\":\"50001\",\"card\":\"code\"}]}\n";

/* Runs "shopkeep <args> --config <cfg>": its exit status; out gets stdout+stderr. */
static int cli(const char *args, char *out, size_t n)
{
	char cmd[1500];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof cmd, "%s/shopkeep %s --config %s 2>&1", tbot_build_dir(), args, bot.cfg);
	if (!(p = popen(cmd, "r")))
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

static int wait_order(const char *oid, const char *col, const char *want)
{
	if (tbot_wait_order(db, oid, col, want, WAIT_MS))
		return 1;
	diag("order %s: %s is \"%s\", not \"%s\"", oid, col, tbot_order_col(db, oid, col), want);
	return 0;
}

/* Creates an order in chat cid (placed, then paid: its cards pushed). */
static void order_paid(const char *oid, const char *cid, const char *item, int qty)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\",\"buyer_name\":"
		 "\"买家%s\",\"item_id\":\"%s\",\"quantity\":%d,\"spec\":\"\",\"status\":\"placed\"}", unb, oid, cid, cid,
		 cid, item, qty);
	tsim_ctl(&sim, "/order", b);
	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"paid\",\"set\":true}", oid);
	tsim_ctl(&sim, "/order/status", b);
}

/* The simulator's number field of an order (consigns), -1 if no such order. */
static int sim_order(const char *oid, const char *field)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/orders", NULL, NULL), *o;
	int n = -1;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "orders"))
		if (tc_jstr(o, "order_id") && !strcmp(tc_jstr(o, "order_id"), oid))
			n = (int)tc_jnum(o, field);
	cJSON_Delete(r);
	return n;
}

static int import(const char *codes)
{
	char file[400], args[600], out[1024];
	FILE *f;

	snprintf(file, sizeof file, "%s/codes.txt", bot.dir);
	if (!(f = fopen(file, "w")))
		return -1;
	fputs(codes, f);
	fclose(f);
	snprintf(args, sizeof args, "stock import --card code %s", file);
	return cli(args, out, sizeof out);
}

static void test_actions(void)
{
	char out[8192], json[2048];
	int st;

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"oact\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"orders\":{\"confirm\":\"never\",\"retry_base_ms\":100,\"retry_s\":0},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", unb, tbot_build_dir());
	tbot_config(&bot, json);
	snprintf(db, sizeof db, "%s/state.db", bot.dir);
	{
		char path[400];
		FILE *f;

		snprintf(path, sizeof path, "%s/rules.json", bot.dir);
		f = fopen(path, "w");
		fputs(rules_json, f);
		fclose(f);
	}

	/* not running: the actions say so */
	st = cli("orders resend 1 --unit 1", out, sizeof out);
	ok(st == 1 && strstr(out, "the account's process is not running (start it, or use the page)"),
	   "no process: orders resend exits 1 and says so (%.200s)", out);
	st = cli("orders resend 1", out, sizeof out);
	is_int(st, 2, "orders resend without --unit: usage (2)");

	is_int(import("ACT-CODE-0001\n"), 0, "one code imported before the start");
	{
		double reg = tsim_stat(&sim, "reg_ok");

		tbot_start(&bot);
		ok(tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0, "the bot registers");
	}

	/* a paid order delivered; resend: the same code in a new message */
	order_paid("2601000001", "81001", "50001", 1);
	ok(tsim_wait_delivered(&sim, "Your code: ACT-CODE-0001", 1, WAIT_MS) == 1, "order 1: the buyer got the code");
	ok(wait_order("2601000001", "delivery", "delivered"), "order 1: delivered");
	st = cli("orders resend 2601000001 --unit 1", out, sizeof out);
	ok(st == 0 && strstr(out, "order 2601000001: unit 1 sent again in a new message"),
	   "orders resend exits 0 and says so (%.200s)", out);
	ok(tsim_wait_delivered(&sim, "Your code: ACT-CODE-0001", 2, WAIT_MS) == 1,
	   "resend: the buyer got the same code a second time");
	st = cli("orders resend 2601000001 --unit 2", out, sizeof out);
	ok(st == 1 && strstr(out, "order_resend: order 2601000001 has no unit 2"), "resend of a unit that is not: 1 (%.200s)",
	   out);
	st = cli("orders resend 2609999999 --unit 1", out, sizeof out);
	ok(st == 1 && strstr(out, "order_resend: no order 2609999999"), "resend of an unknown order: 1 (%.200s)", out);

	/* an order without a rule, delivered by hand */
	order_paid("2601000002", "81002", "50009", 1);
	ok(wait_order("2601000002", "delivery", "failed"), "order 2: no rule, failed");
	st = cli("orders deliver 2601000002 --text '手动发货: HAND-0002'", out, sizeof out);
	ok(st == 0 && strstr(out, "delivered by hand: unit 1"), "orders deliver exits 0 (%.200s)", out);
	ok(tsim_wait_delivered(&sim, "手动发货: HAND-0002", 1, WAIT_MS) == 1, "deliver: the buyer got the text");
	ok(wait_order("2601000002", "delivery", "delivered"), "deliver: the order is delivered");

	/* out of stock; retry after an import */
	order_paid("2601000003", "81003", "50001", 1);
	ok(wait_order("2601000003", "delivery", "failed"), "order 3: out of stock");
	is_int(import("ACT-CODE-0003\n"), 0, "a code imported while it runs (retry_s 0: not retried by itself)");
	usleep(300000);
	is_int(tsim_delivered(&sim, "Your code: ACT-CODE-0003"), 0, "order 3: still waiting");
	st = cli("orders retry 2601000003", out, sizeof out);
	ok(st == 0 && strstr(out, "tried again"), "orders retry exits 0 (%.200s)", out);
	ok(tsim_wait_delivered(&sim, "Your code: ACT-CODE-0003", 1, WAIT_MS) == 1, "retry: the buyer got the new code");
	ok(wait_order("2601000003", "delivery", "delivered"), "retry: delivered");
	st = cli("orders retry 2601000003", out, sizeof out);
	ok(st == 1 && strstr(out, "already delivered"), "retry of a delivered order: 1 (%.200s)", out);

	/* ship (confirm "never": only by hand) */
	is_int(sim_order("2601000001", "consigns"), 0, "order 1: not shipped (confirm never)");
	st = cli("orders ship 2601000001", out, sizeof out);
	ok(st == 0 && strstr(out, "shipment confirmation asked for"), "orders ship exits 0 (%.200s)", out);
	ok(wait_order("2601000001", "confirm", "done"), "ship: confirmed");
	is_int(sim_order("2601000001", "consigns"), 1, "ship: the simulator has one consign");
	st = cli("orders ship 2601000001", out, sizeof out);
	ok(st == 1 && strstr(out, "shipped already"), "ship twice: refused, 1 (%.200s)", out);

	/* the timeline over the socket and offline-ish show */
	st = cli("ctl order_get '{\"order_id\":\"2601000001\"}'", out, sizeof out);
	ok(st == 0 && strstr(out, "resend unit 1 (cli): sent") && strstr(out, "ship (cli)") &&
	   strstr(out, "Your code: AC*********01") && !strstr(out, "ACT-CODE-0001"),
	   "order_get: the actions in the timeline, the code masked (%.300s)", out);
	st = cli("orders show 2601000001", out, sizeof out);
	ok(st == 0 && strstr(out, "unit 1: done, stock: Your code: AC*********01") && strstr(out, "timeline:") &&
	   !strstr(out, "ACT-CODE-0001"), "orders show prints the order, masked, with its timeline (%.300s)", out);

	/* stock commands over the control socket */
	is_int(import("ACT-FREE-0001\nACT-FREE-0002\n"), 0, "two more codes");
	st = cli("ctl stock_codes '{\"card\":\"code\",\"state\":\"free\"}'", out, sizeof out);
	{
		cJSON *j = cJSON_Parse(out);

		ok(st == 0 && tc_jnum(j, "total") == 2 && strstr(out, "AC*********01") && !strstr(out, "ACT-FREE"),
		   "stock_codes: the free ones, masked (%.300s)", out);
		cJSON_Delete(j);
	}
	st = cli("ctl stock_export '{\"card\":\"code\"}'", out, sizeof out);
	ok(st == 0 && strstr(out, "ACT-FREE-0001\\nACT-FREE-0002\\n"), "stock_export: the free codes (%.300s)", out);
	st = cli("stock export --card code", out, sizeof out);
	ok(st == 0 && strstr(out, "ACT-FREE-0001\nACT-FREE-0002\n") && strstr(out, "card code: 2 free codes exported"),
	   "shopkeep stock export prints them (%.300s)", out);
	{
		char id[32], cmd[200];

		tbot_db_text(db, "SELECT id FROM orders_stock WHERE code = 'ACT-FREE-0002'", id, sizeof id);
		snprintf(cmd, sizeof cmd, "ctl stock_reveal '{\"id\":%s}'", id);
		st = cli(cmd, out, sizeof out);
		ok(st == 0 && strstr(out, "\"ACT-FREE-0002\"") && strstr(out, "\"code\""), "stock_reveal: one code in full");
		tbot_db_text(db, "SELECT id FROM orders_stock WHERE code = 'ACT-CODE-0001'", id, sizeof id);
		snprintf(cmd, sizeof cmd, "ctl stock_delete '{\"card\":\"code\",\"ids\":[%s]}'", id);
		st = cli(cmd, out, sizeof out);
		{
			cJSON *j = cJSON_Parse(out);

			ok(st == 0 && tc_jnum(j, "deleted") == 0 && tc_jnum(j, "refused") == 1,
			   "stock_delete: a used code is refused (%.200s)", out);
			cJSON_Delete(j);
		}
	}
	ok(!tbot_log_has(&bot, "ACT-FREE-0002") && !tbot_log_has(&bot, "ACT-CODE-0001"), "the bot's log has no code");
	ok(tbot_log_has(&bot, "card code: code ") && tbot_log_has(&bot, " revealed (page)"), "the reveal is logged");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
}

int main(void)
{
	int fail0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	fail0 = tap_failed;
	if (ok(tbot_init(&bot, &sim) == 0, "temp dir")) {
		test_actions();
		tbot_done(&bot, tap_failed > fail0);
	}
	tc_sim_stop(&sim);
	return tap_done();
}
