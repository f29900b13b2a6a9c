/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_orders_e2e.c - the orders plugin in the real bot
 * against the simulator: paid orders get the right card codes and their
 * shipment confirmed per policy (after / before / never); quantities, specs,
 * missing rules, out of stock and a CLI import while running;
 * duplicate triggers and restarts send nothing more; a refused send frees its
 * code and a reminder delivers it once; SIGKILL at every step of a delivery
 * (orders.debug_kill_at) and at random moments of a burst loses and doubles
 * nothing: each unit's code reaches the buyer exactly once, stock is exact,
 * the shipment is confirmed once.
 *
 * Every bot run has its own temp dir, state.db and simulator account (so a
 * push left un-ACKed by a killed bot goes to that bot's next run only); codes
 * are unique across the whole test, so tsim_delivered() counts per code.
 * SK_ORDERS_SEED=N repeats the random kill delays of a failed run.
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
#include <time.h>
#include <unistd.h>

#define SEND_LWP "/r/MessageSend/sendByReceiverScope"
#define CONSIGN_API "mtop.taobao.idle.logistic.consign.dummy"
#define WAIT_MS 10000        /* every wait for the bot is bounded by this */

static tc_sim sim;
static int nacct, norder;

/* One bot: its temp dir, simulator account, and the failures before it. */
typedef struct {
	tbot b;
	char unb[24], db[320];
	int fail0;
} bot_t;

static const char rules_json[] =
	"{\"cards\":["
	"{\"name\":\"code\",\"type\":\"stock\",\"template\":\"Your code: {code}\"},"
	"{\"name\":\"month\",\"type\":\"stock\",\"template\":\"Month: {code}\"},"
	"{\"name\":\"year\",\"type\":\"stock\",\"template\":\"Year: {code}\"},"
	"{\"name\":\"scarce\",\"type\":\"stock\",\"template\":\"Scarce: {code}\"},"
	"{\"name\":\"other\",\"type\":\"text\",\"template\":\"other text\"}],\n"
	" \"delivery\":["
	"{\"item_id\":\"50001\",\"spec\":null,\"card\":\"code\"},"
	"{\"item_id\":\"50002\",\"spec\":\"套餐:月卡\",\"card\":\"month\"},"
	"{\"item_id\":\"50002\",\"spec\":\"年卡\",\"card\":\"year\"},"
	"{\"item_id\":\"50005\",\"card\":\"scarce\"}],\n"
	/* the buyer notices have their own test (test_orders_notice_e2e): the counts here are of deliveries */
	" \"notices\":{\"waiting_stock\":{\"enabled\":false},\"cannot_deliver\":{\"enabled\":false}}}\n";

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

/* ---- the bot -------------------------------------------------------------- */

static void bot_config(bot_t *r, const char *policy, const char *kill_at)
{
	char json[2048], kill[80] = "";

	if (kill_at)
		snprintf(kill, sizeof kill, ",\"debug_kill_at\":\"%s\"", kill_at);
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"od%s\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"orders\":{\"confirm\":\"%s\",\"retry_base_ms\":100,\"retry_s\":1%s},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 r->unb + 8, r->unb, tbot_build_dir(), policy, kill);
	tbot_config(&r->b, json);
}

/* A fresh temp dir and account, the rules file and the config. */
static int bot_new(bot_t *r, const char *policy)
{
	char path[400];
	FILE *f;

	memset(r, 0, sizeof *r);
	r->fail0 = tap_failed;
	if (tbot_init(&r->b, &sim))
		return -1;
	snprintf(r->unb, sizeof r->unb, "22000000%05d", ++nacct);
	snprintf(r->db, sizeof r->db, "%s/state.db", r->b.dir);
	snprintf(path, sizeof path, "%s/rules.json", r->b.dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(rules_json, f);
	fclose(f);
	bot_config(r, policy, NULL);
	return 0;
}

/* Starts the bot and waits for its registration. */
static int bot_start(bot_t *r)
{
	double reg = tsim_stat(&sim, "reg_ok");

	tbot_start(&r->b);
	return tsim_wait_stat(&sim, "reg_ok", reg + 1, 5000) >= 0;
}

/* Waits (bounded) for the bot to die; its wait status, or -1 if it still runs. */
static int bot_wait_dead(bot_t *r, int ms)
{
	int64_t t0 = now_ms();
	int st;

	while (now_ms() - t0 < ms) {
		if (waitpid(r->b.pid, &st, WNOHANG) == r->b.pid) {
			r->b.pid = -1;
			return st;
		}
		usleep(10000);
	}
	return -1;
}

/* Stops the bot (SIGTERM), removes its dir, or shows its log when one of its checks failed. */
static void bot_end(bot_t *r)
{
	if (r->b.pid > 0)
		is_int(tbot_stop(&r->b, SIGTERM), 0, "bot %s: SIGTERM exits 0", r->unb);
	tbot_done(&r->b, tap_failed > r->fail0);
}

/* ---- the state database (read-only, while the bot may run) ------------------------ */

/* The first column of the first row of sql as text into out; 0, or -1 (no row, error). */
static int db_text(bot_t *r, const char *sql, char *out, size_t n)
{
	return tbot_db_text(r->db, sql, out, n);
}

static long long db_int(bot_t *r, const char *sql)
{
	char t[64];

	return db_text(r, sql, t, sizeof t) ? -1 : atoll(t);
}

/* A column of orders_order ("(no order)" when there is none). */
static const char *order_col(bot_t *r, const char *oid, const char *col)
{
	return tbot_order_col(r->db, oid, col);
}

/* Polls until orders_order.col of oid equals want: 1, or 0 after ms. */
static int wait_order(bot_t *r, const char *oid, const char *col, const char *want, int ms)
{
	return tbot_wait_order(r->db, oid, col, want, ms);
}

/* Polls until every order of the db is delivered with its shipment confirmed. */
static int wait_all_done(bot_t *r, int norders, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (db_int(r, "SELECT count(*) FROM orders_order WHERE delivery = 'delivered' AND confirm = 'done'") ==
		    norders)
			return 1;
		usleep(30000);
	}
	return 0;
}

/* Codes of card in stock state st (0 free, 1 reserved, 2 used). */
static long long stock(bot_t *r, const char *card, int st)
{
	char sql[200];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM orders_stock WHERE card = '%s' AND state = %d", card, st);
	return db_int(r, sql);
}

/* ---- the simulator --------------------------------------------------------------- */

static void new_oid(char *oid, size_t n)
{
	snprintf(oid, n, "25036881%08d", ++norder);
}

/* Pushes a card of status st for order oid; set: the simulator's order takes that status. */
static void status(const char *oid, const char *st, int set)
{
	char b[200];

	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"%s\",\"set\":%s}", oid, st, set ? "true" : "false");
	tsim_ctl(&sim, "/order/status", b);
}

/* Creates an order in chat cid (placed, its card pushed) and pays it. */
static void order_paid(bot_t *r, const char *oid, const char *cid, const char *item, int qty, const char *spec)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\",\"buyer_name\":"
		 "\"买家%s\",\"item_id\":\"%s\",\"quantity\":%d,\"spec\":\"%s\",\"status\":\"placed\"}", r->unb, oid, cid,
		 cid, cid, item, qty, spec ? spec : "");
	tsim_ctl(&sim, "/order", b);
	status(oid, "paid", 1);
}

/* The simulator's number field of an order (consigns, consign_calls), -1 if no such order. */
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

static int wait_sim_order(const char *oid, const char *field, int want, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (sim_order(oid, field) >= want)
			return 1;
		usleep(30000);
	}
	return 0;
}

static cJSON *sends(void)
{
	return tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=" SEND_LWP, NULL, NULL);
}

static int accepted(const cJSON *e)
{
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message_id")) &&
	       !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat"));
}

static const char *send_text(const cJSON *e)
{
	const char *t = tc_jstr(e, "content.text.text");

	return t ? t : "";
}

/* Sends to chat cid: accepted ones (what the buyer saw), refused ones. */
static int accepted_to(const char *cid)
{
	cJSON *r = sends(), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += tc_jstr(e, "cid") && !strcmp(tc_jstr(e, "cid"), cid) && accepted(e);
	cJSON_Delete(r);
	return n;
}

static int refused_to(const char *cid)
{
	cJSON *r = sends(), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += tc_jstr(e, "cid") && !strcmp(tc_jstr(e, "cid"), cid) && tc_jstr(e, "refused");
	cJSON_Delete(r);
	return n;
}

/* Accepted sends of an account (every chat). */
static int accepted_by(const char *unb)
{
	cJSON *r = sends(), *e;
	int n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		n += tc_jstr(e, "unb") && !strcmp(tc_jstr(e, "unb"), unb) && accepted(e);
	cJSON_Delete(r);
	return n;
}

/* The seq of the first accepted send of text (-1: none), and the last one's in *last. */
static int send_seq(const char *text, int *last)
{
	cJSON *r = sends(), *e;
	int first = -1;

	*last = -1;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames"))
		if (accepted(e) && !strcmp(send_text(e), text)) {
			if (first < 0)
				first = (int)tc_jnum(e, "seq");
			*last = (int)tc_jnum(e, "seq");
		}
	cJSON_Delete(r);
	return first;
}

/* The seq of the first consign call of order oid that shipped it, -1 if none. */
static int consign_seq(const char *oid)
{
	cJSON *r = tc_ctl(sim.ctl_port, "GET", "/sent?since=0&what=" CONSIGN_API, NULL, NULL), *e;
	int seq = -1;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const char *d = tc_jstr(e, "data"), *ret = tc_jstr(e, "ret");

		if (seq < 0 && d && strstr(d, oid) && ret && !strncmp(ret, "SUCCESS", 7))
			seq = (int)tc_jnum(e, "seq");
	}
	cJSON_Delete(r);
	return seq;
}

/* ---- the CLI ----------------------------------------------------------------------- */

/* Runs "shopkeep <args> --config <cfg>": its exit status; out gets stdout+stderr. */
static int cli(bot_t *r, const char *args, char *out, size_t n)
{
	char cmd[1200];
	size_t got;
	FILE *p;

	snprintf(cmd, sizeof cmd, "%s/shopkeep %s --config %s 2>&1", tbot_build_dir(), args, r->b.cfg);
	if (!(p = popen(cmd, "r")))
		return -1;
	got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	return WEXITSTATUS(pclose(p));
}

/* Imports codes "<prefix>-0001".. of card (from..to); junk adds two blank lines and a duplicate.
 * Checks the CLI's counts; returns 1 when they are right. */
static int import(bot_t *r, const char *card, const char *prefix, int from, int to, int junk, int free_after)
{
	char file[400], args[600], out[2048], want[300];
	FILE *f;
	int rc;

	snprintf(file, sizeof file, "%s/codes-%s-%d.txt", r->b.dir, card, from);
	if (!(f = fopen(file, "w")))
		return 0;
	for (int i = from; i <= to; i++) {
		fprintf(f, "%s-%04d\n", prefix, i);
		if (junk && i == from)
			fprintf(f, "\n  %s-%04d  \n   \n", prefix, i);
	}
	fclose(f);
	snprintf(args, sizeof args, "stock import --card %s %s", card, file);
	rc = cli(r, args, out, sizeof out);
	snprintf(want, sizeof want, "card %s: %d codes added, %d duplicates and %d blank lines skipped; %d free now",
		 card, to - from + 1, junk ? 1 : 0, junk ? 2 : 0, free_after);
	if (rc != 0 || !strstr(out, want)) {
		diag("stock import: exit %d, printed: %s", rc, out);
		diag("wanted: %s", want);
		return 0;
	}
	return 1;
}

static void code_text(char *t, size_t n, const char *tmpl, const char *prefix, int i)
{
	snprintf(t, n, "%s%s-%04d", tmpl, prefix, i);
}

/* ---- 1. policies --------------------------------------------------------------------- */

/* A fresh bot with confirm "before" or "never": one paid order. */
static void test_policy(const char *policy)
{
	char oid[32], cid[16], txt[80], prefix[16];
	int last;
	bot_t r;

	if (bot_new(&r, policy))
		return;
	snprintf(prefix, sizeof prefix, "P%s", r.unb + 8);
	ok(import(&r, "code", prefix, 1, 3, 0, 3), "%s: 3 codes imported", policy);
	if (!ok(bot_start(&r), "%s: the bot registers", policy))
		goto out;
	new_oid(oid, sizeof oid);
	snprintf(cid, sizeof cid, "6%s", oid + 10);
	order_paid(&r, oid, cid, "50001", 1, NULL);
	code_text(txt, sizeof txt, "Your code: ", prefix, 1);
	ok(tsim_wait_delivered(&sim, txt, 1, WAIT_MS), "%s: the paid order gets its code (%s)", policy, txt);
	ok(wait_order(&r, oid, "delivery", "delivered", WAIT_MS), "%s: the order is delivered in the db", policy);
	if (!strcmp(policy, "before")) {
		int cs;

		ok(wait_order(&r, oid, "confirm", "done", WAIT_MS), "before: the shipment confirmation is done");
		cs = consign_seq(oid);
		ok(cs >= 0 && cs < send_seq(txt, &last), "before: consign.dummy (seq %d) came before the code's send "
		   "(seq %d)", cs, send_seq(txt, &last));
		is_int(sim_order(oid, "consigns"), 1, "before: shipped once");
	} else {
		usleep(500000);
		is_int(sim_order(oid, "consign_calls"), 0, "never: no consign.dummy call");
		is_str(order_col(&r, oid, "confirm"), "skipped", "never: the confirmation is recorded as skipped");
		/* the order stays paid: a reminder and the paid card again change nothing */
		status(oid, "remind", 0);
		status(oid, "paid", 0);
		usleep(800000);
		is_int(accepted_to(cid), 1, "never: a reminder and a repeated paid card of a delivered order send nothing");
	}
	is_int(tsim_delivered(&sim, txt), 1, "%s: the code reached the buyer once", policy);
out:
	bot_end(&r);
}

/* ---- the main bot: policy after, tests 1-7 --------------------------------------------- */

static bot_t M;                  /* its codes: M-C-nnnn (card code), M-M, M-Y, M-S */

/* 1. after: the code's send, then consign.dummy. */
static void test_after(const char *oid, const char *cid)
{
	char txt[80];
	int first, last, cs;

	order_paid(&M, oid, cid, "50001", 1, NULL);
	code_text(txt, sizeof txt, "Your code: ", "M-C", 1);
	ok(tsim_wait_delivered(&sim, txt, 1, WAIT_MS), "after: the paid order gets its code (%s)", txt);
	ok(wait_order(&M, oid, "confirm", "done", WAIT_MS) && wait_sim_order(oid, "consigns", 1, WAIT_MS),
	   "after: the shipment confirmation is done");
	first = send_seq(txt, &last);
	cs = consign_seq(oid);
	ok(cs >= 0 && first >= 0 && last < cs, "after: consign.dummy (seq %d) came after the code's send (seq %d)", cs,
	   last);
	is_int(sim_order(oid, "consigns"), 1, "after: shipped once");
	ok(wait_order(&M, oid, "state", "shipped", WAIT_MS), "after: the [你已发货] card moved the order to shipped");
	is_int(accepted_to(cid), 1, "after: one message to the buyer");
}

/* 2. Quantity 3: three codes in three messages. */
static void test_quantity(const char *oid, const char *cid)
{
	long long used0 = stock(&M, "code", 2), free0 = stock(&M, "code", 0);
	char txt[80];
	int got = 0;

	order_paid(&M, oid, cid, "50001", 3, NULL);
	for (int i = 2; i <= 4; i++) {
		code_text(txt, sizeof txt, "Your code: ", "M-C", i);
		got += tsim_wait_delivered(&sim, txt, 1, WAIT_MS) && tsim_delivered(&sim, txt) == 1;
	}
	is_int(got, 3, "quantity 3: codes 2, 3 and 4 each reached the buyer once");
	ok(wait_order(&M, oid, "confirm", "done", WAIT_MS), "quantity 3: delivered and confirmed");
	is_int(accepted_to(cid), 3, "quantity 3: in three messages");
	is_int(stock(&M, "code", 2) - used0, 3, "quantity 3: 3 more codes used");
	is_int(free0 - stock(&M, "code", 0), 3, "quantity 3: 3 fewer free");
	is_int(stock(&M, "code", 1), 0, "quantity 3: none left reserved");
}

/* 3. Two rules for one item, by spec. */
static void test_specs(void)
{
	char o1[32], o2[32], o3[32];

	new_oid(o1, sizeof o1);
	new_oid(o2, sizeof o2);
	new_oid(o3, sizeof o3);
	order_paid(&M, o1, "10031", "50002", 1, "套餐:月卡");
	order_paid(&M, o2, "10032", "50002", 1, "套餐:年卡");
	order_paid(&M, o3, "10033", "50002", 1, "套餐:季卡");
	ok(tsim_wait_delivered(&sim, "Month: M-M-0001", 1, WAIT_MS), "spec 套餐:月卡 (rule \"套餐:月卡\"): the month card");
	ok(tsim_wait_delivered(&sim, "Year: M-Y-0001", 1, WAIT_MS), "spec 套餐:年卡 (rule \"年卡\"): the year card");
	ok(wait_order(&M, o3, "delivery", "failed", WAIT_MS), "spec 套餐:季卡: no rule, not delivered");
	ok(!strncmp(order_col(&M, o3, "reason"), "no_rule:", 8), "spec 套餐:季卡: reason %s", order_col(&M, o3, "reason"));
	ok(wait_order(&M, o1, "confirm", "done", WAIT_MS) && wait_order(&M, o2, "confirm", "done", WAIT_MS),
	   "specs: both orders confirmed");
	ok(accepted_to("10031") == 1 && accepted_to("10032") == 1 && accepted_to("10033") == 0,
	   "specs: one message each, none for the spec without a rule");
	ok(stock(&M, "month", 2) == 1 && stock(&M, "year", 2) == 1, "specs: one code of each card used");
}

/* 4. No rule for the item. (Two rules one order would match are refused
 * with the rules file now - tests/unit/test_orders.c, test_config.c - so an
 * order can no longer fail as ambiguous here.) */
static void test_no_rule(void)
{
	long long free0 = stock(&M, "code", 0);
	char o1[32], o2[32];

	new_oid(o1, sizeof o1);
	new_oid(o2, sizeof o2);
	order_paid(&M, o1, "10041", "50003", 1, NULL);
	order_paid(&M, o2, "10042", "50004", 1, NULL);
	ok(wait_order(&M, o1, "delivery", "failed", WAIT_MS), "no rule (50003): not delivered");
	ok(!strncmp(order_col(&M, o1, "reason"), "no_rule:", 8), "no rule (50003): reason %s", order_col(&M, o1, "reason"));
	ok(wait_order(&M, o2, "delivery", "failed", WAIT_MS), "no rule: not delivered");
	ok(!strncmp(order_col(&M, o2, "reason"), "no_rule:", 8), "no rule: reason %s", order_col(&M, o2, "reason"));
	usleep(300000);
	ok(accepted_to("10041") == 0 && accepted_to("10042") == 0 && refused_to("10041") == 0,
	   "no rule: nothing sent");
	is_int(stock(&M, "code", 0), free0, "no rule: no code taken");
	ok(sim_order(o1, "consign_calls") == 0 && sim_order(o2, "consign_calls") == 0, "no rule: not shipped");
}

/* 5. Out of stock, then codes imported with the bot running. */
static void test_stock(void)
{
	char oid[32], out[4096];
	long long f, rsv, u;

	new_oid(oid, sizeof oid);
	order_paid(&M, oid, "10051", "50005", 2, NULL);
	ok(wait_order(&M, oid, "delivery", "failed", WAIT_MS), "out of stock: not delivered");
	ok(!strncmp(order_col(&M, oid, "reason"), "out_of_stock:", 13), "out of stock: reason %s",
	   order_col(&M, oid, "reason"));
	ok(stock(&M, "scarce", 0) == 1 && stock(&M, "scarce", 1) == 0, "out of stock: the one code stays free, none reserved");
	is_int(accepted_to("10051"), 0, "out of stock: nothing sent");
	ok(import(&M, "scarce", "M-S", 2, 3, 0, 3), "out of stock: 2 more codes imported with the bot running");
	ok(tsim_wait_delivered(&sim, "Scarce: M-S-0001", 1, 3500) && tsim_wait_delivered(&sim, "Scarce: M-S-0002", 1, 500),
	   "out of stock: delivered within retry_s of the import");
	ok(wait_order(&M, oid, "confirm", "done", WAIT_MS), "out of stock: then confirmed");
	ok(stock(&M, "scarce", 0) == 1 && stock(&M, "scarce", 1) == 0 && stock(&M, "scarce", 2) == 2,
	   "out of stock: 1 free, 0 reserved, 2 used");
	is_int(accepted_to("10051"), 2, "out of stock: two messages");

	/* the CLI reads the same counts */
	is_int(cli(&M, "stock list", out, sizeof out), 0, "stock list: exits 0");
	f = rsv = u = -1;
	{
		const char *l = strstr(out, "\ncode ");
		char name[32], type[16];

		if (l)
			sscanf(l + 1, "%31s %15s %lld %lld %lld", name, type, &f, &rsv, &u);
	}
	ok(f == stock(&M, "code", 0) && rsv == 0 && u == stock(&M, "code", 2), "stock list: card code %lld free, %lld "
	   "reserved, %lld used, as in the db", f, rsv, u);
	is_int(cli(&M, "orders list --limit 50", out, sizeof out), 0, "orders list: exits 0");
	ok(strstr(out, "no_rule:") && strstr(out, "delivered"),
	   "orders list: shows the deliveries and the reasons");
}

/* 6. Repeated triggers and a restart send nothing more. */
static void test_dups(const char *oid, const char *cid)
{
	int all = accepted_by(M.unb);
	long long used = stock(&M, "code", 2);
	char b[120];

	status(oid, "paid", 0);
	status(oid, "remind", 0);
	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"n\":30}", M.unb);
	tsim_ctl(&sim, "/replay", b);
	usleep(1200000);
	is_int(accepted_to(cid), 1, "duplicates: the paid card again, a reminder and 30 replayed pushes send nothing more");
	is_int(accepted_by(M.unb), all, "duplicates: no other order sent anything either");
	is_int(sim_order(oid, "consigns"), 1, "duplicates: still shipped once");
	is_int(tbot_stop(&M.b, SIGTERM), 0, "restart: SIGTERM exits 0");
	ok(bot_start(&M), "restart: registered again");
	tsim_ctl(&sim, "/replay", b);
	usleep(1200000);
	is_int(accepted_by(M.unb), all, "restart: nothing sent again (30 pushes replayed to the new run)");
	is_int(stock(&M, "code", 2), used, "restart: stock unchanged");
	is_int(stock(&M, "code", 1), 0, "restart: nothing reserved");
}

/* 7. A refused send frees its code; a reminder delivers it once. */
static void test_refused(void)
{
	char oid[32], b[200], sql[300], txt[80], r2[600];

	new_oid(oid, sizeof oid);
	snprintf(b, sizeof b, "{\"kind\":\"send_fail\",\"seller\":\"%s\",\"n\":1}", M.unb);
	tsim_ctl(&sim, "/fault", b);
	order_paid(&M, oid, "10071", "50001", 1, NULL);
	code_text(txt, sizeof txt, "Your code: ", "M-C", 5);
	ok(wait_order(&M, oid, "delivery", "failed", WAIT_MS), "refused: the delivery failed");
	ok(!strncmp(order_col(&M, oid, "reason"), "refused:", 8), "refused: orders_order.reason %s",
	   order_col(&M, oid, "reason"));
	snprintf(sql, sizeof sql, "SELECT reason FROM orders_unit WHERE order_id = '%s' AND unit = 1", oid);
	db_text(&M, sql, r2, sizeof r2);
	ok(!strncmp(r2, "refused:", 8), "refused: orders_unit.reason %s", r2);
	is_int(db_int(&M, "SELECT state FROM orders_stock WHERE code = 'M-C-0005'"), 0, "refused: the code is free again");
	is_int(stock(&M, "code", 1), 0, "refused: nothing reserved");
	ok(refused_to("10071") == 1 && accepted_to("10071") == 0, "refused: the platform refused the one send");
	is_int(sim_order(oid, "consign_calls"), 0, "refused: not shipped");
	status(oid, "remind", 0);
	ok(tsim_wait_delivered(&sim, txt, 1, WAIT_MS), "refused: the reminder delivers it (%s)", txt);
	ok(wait_order(&M, oid, "confirm", "done", WAIT_MS), "refused: then confirmed");
	status(oid, "remind", 0);
	usleep(800000);
	is_int(tsim_delivered(&sim, txt), 1, "refused: delivered exactly once");
	is_int(accepted_to("10071"), 1, "refused: one accepted message in the chat");
	is_int(db_int(&M, "SELECT state FROM orders_stock WHERE code = 'M-C-0005'"), 2, "refused: the code is used now");
	is_int(sim_order(oid, "consigns"), 1, "refused: shipped once");
}

/* Creates an order in chat cid (placed, its card pushed); extra: more
 * members of the /order body (",\"detail_buyer\":...") or "". */
static void order_new(bot_t *r, const char *oid, const char *cid, const char *item, const char *extra)
{
	char b[600];

	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"7%s\",\"buyer_name\":"
		 "\"买家%s\",\"item_id\":\"%s\",\"status\":\"placed\"%s}", r->unb, oid, cid, cid, cid, item, extra);
	tsim_ctl(&sim, "/order", b);
}

/* Polls until orders_order.reason of oid begins with prefix. */
static int wait_reason(bot_t *r, const char *oid, const char *prefix, int ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < ms) {
		if (!strncmp(order_col(r, oid, "reason"), prefix, strlen(prefix)))
			return 1;
		usleep(30000);
	}
	return 0;
}

/* 8. Issue 18 item 6: the order detail decides, not the card. A paid card
 * for an order the platform shows unpaid gets nothing; a detail that lags
 * the card delivers once it says paid; a detail for another buyer or item
 * gets nothing and the reason says why. */
static void test_paid_gate(void)
{
	char o1[32], o2[32], o3[32], o4[32], b[300];
	long long free0 = stock(&M, "code", 0);

	new_oid(o1, sizeof o1);
	order_new(&M, o1, "10081", "50001", "");
	status(o1, "paid", 0);
	ok(wait_reason(&M, o1, "waiting: the order detail does not say paid yet", WAIT_MS),
	   "unpaid detail: the order waits (%s)", order_col(&M, o1, "reason"));
	ok(wait_sim_order(o1, "detail_calls", 2, WAIT_MS), "unpaid detail: the detail is asked again");
	is_str(order_col(&M, o1, "delivery"), "pending", "unpaid detail: still pending");
	is_int(accepted_to("10081"), 0, "unpaid detail: no code sent for a card that says paid");
	is_int(stock(&M, "code", 0), free0, "unpaid detail: no code taken");

	new_oid(o2, sizeof o2);
	order_new(&M, o2, "10082", "50001", "");
	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"paid\",\"detail_lag_ms\":2500}", o2);
	tsim_ctl(&sim, "/order/status", b);
	ok(wait_reason(&M, o2, "waiting:", WAIT_MS), "lagging detail: the order waits first");
	is_int(accepted_to("10082"), 0, "lagging detail: nothing sent while the detail says unpaid");
	ok(wait_order(&M, o2, "delivery", "delivered", WAIT_MS), "lagging detail: delivered once the detail says paid");
	ok(sim_order(o2, "detail_calls") >= 2, "lagging detail: after %d detail calls", sim_order(o2, "detail_calls"));
	ok(wait_order(&M, o2, "confirm", "done", WAIT_MS), "lagging detail: then confirmed");
	status(o2, "remind", 0);
	usleep(800000);
	is_int(accepted_to("10082"), 1, "lagging detail: exactly one message");
	is_int(stock(&M, "code", 0), free0 - 1, "lagging detail: one code taken");

	new_oid(o3, sizeof o3);
	order_new(&M, o3, "10083", "50001", ",\"detail_buyer\":\"79999\"");
	status(o3, "paid", 1);
	ok(wait_order(&M, o3, "delivery", "failed", WAIT_MS), "another buyer in the detail: not delivered");
	ok(strstr(order_col(&M, o3, "reason"), "mismatch: the order detail is for buyer 79999") != NULL,
	   "another buyer: the reason names it (%s)", order_col(&M, o3, "reason"));
	new_oid(o4, sizeof o4);
	order_new(&M, o4, "10084", "50001", ",\"detail_item_id\":\"50002\"");
	status(o4, "paid", 1);
	ok(wait_order(&M, o4, "delivery", "failed", WAIT_MS), "another item in the detail: not delivered");
	ok(strstr(order_col(&M, o4, "reason"), "and item 50002, the chat's cards for buyer 710084 and item 50001") != NULL,
	   "another item: the reason names both (%s)", order_col(&M, o4, "reason"));
	usleep(500000);
	ok(accepted_to("10083") == 0 && accepted_to("10084") == 0, "mismatch: nothing sent");
	ok(sim_order(o3, "consign_calls") == 0 && sim_order(o4, "consign_calls") == 0 && sim_order(o1, "consign_calls") == 0,
	   "unpaid and mismatched orders are not shipped");
	is_int(stock(&M, "code", 0), free0 - 1, "no code taken for them");
}

static void test_main(void)
{
	char o1[32], o2[32];

	if (bot_new(&M, "after"))
		return;
	ok(import(&M, "code", "M-C", 1, 12, 1, 12), "stock import: counts added codes, a duplicate and blank lines");
	ok(import(&M, "month", "M-M", 1, 2, 0, 2) && import(&M, "year", "M-Y", 1, 2, 0, 2) &&
	   import(&M, "scarce", "M-S", 1, 1, 0, 1), "stock import: the month, year and scarce cards");
	{
		char out[1024];

		ok(cli(&M, "stock import --card other /dev/null", out, sizeof out) == 1 && strstr(out, "not a stock card"),
		   "stock import: a text card takes no codes (%s)", out);
		ok(cli(&M, "stock import --card nosuch /dev/null", out, sizeof out) == 1 && strstr(out, "no card"),
		   "stock import: an unknown card is refused");
	}
	if (!ok(bot_start(&M), "main bot (confirm after): registers"))
		goto out;
	new_oid(o1, sizeof o1);
	new_oid(o2, sizeof o2);
	test_after(o1, "10011");
	test_quantity(o2, "10021");
	test_specs();
	test_no_rule();
	test_stock();
	test_dups(o1, "10011");
	test_refused();
	test_paid_gate();
out:
	bot_end(&M);
}

/* ---- 8. SIGKILL at every step ---------------------------------------------------------- */

/* The invariants after an order of quantity 2 on a fresh bot whose codes are <prefix>-0001..nimp. */
static void check_two(bot_t *r, const char *what, const char *oid, const char *cid, const char *prefix, int nimp)
{
	char t1[80], t2[80], sql[300];

	code_text(t1, sizeof t1, "Your code: ", prefix, 1);
	code_text(t2, sizeof t2, "Your code: ", prefix, 2);
	ok(tsim_delivered(&sim, t1) == 1 && tsim_delivered(&sim, t2) == 1, "%s: codes 1 and 2 each reached the buyer once "
	   "(%d, %d)", what, tsim_delivered(&sim, t1), tsim_delivered(&sim, t2));
	is_int(accepted_to(cid), 2, "%s: two accepted messages, no unit sent twice", what);
	ok(stock(r, "code", 2) == 2 && stock(r, "code", 1) == 0 && stock(r, "code", 0) == nimp - 2,
	   "%s: stock exact: %lld used, %lld reserved, %lld free of %d", what, stock(r, "code", 2), stock(r, "code", 1),
	   stock(r, "code", 0), nimp);
	is_int(sim_order(oid, "consigns"), 1, "%s: shipped once", what);
	snprintf(sql, sizeof sql, "SELECT count(DISTINCT message_id) FROM orders_unit WHERE order_id = '%s' AND "
		 "state IN ('sent', 'done') AND message_id <> ''", oid);
	is_int(db_int(r, sql), 2, "%s: both units recorded as sent with their own message id", what);
}

static void test_kill_step(const char *step)
{
	char oid[32], cid[16], prefix[16], what[64];
	int st;
	bot_t r;

	if (bot_new(&r, "after"))
		return;
	snprintf(what, sizeof what, "kill at %s", step);
	snprintf(prefix, sizeof prefix, "K%s", r.unb + 8);
	bot_config(&r, "after", step);
	if (!import(&r, "code", prefix, 1, 5, 0, 5) || !ok(bot_start(&r), "%s: the bot registers", what))
		goto out;
	new_oid(oid, sizeof oid);
	snprintf(cid, sizeof cid, "8%s", oid + 10);
	order_paid(&r, oid, cid, "50001", 2, NULL);
	st = bot_wait_dead(&r, WAIT_MS);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && tbot_log_has(&r.b, "debug_kill_at"),
	   "%s: the bot died by SIGKILL there", what);
	if (st == -1)
		goto out;
	bot_config(&r, "after", NULL);
	if (!ok(bot_start(&r), "%s: restarted", what))
		goto out;
	ok(wait_all_done(&r, 1, WAIT_MS), "%s: after the restart the order is delivered and confirmed (%s, %s: %s)",
	   what, order_col(&r, oid, "delivery"), order_col(&r, oid, "confirm"), order_col(&r, oid, "reason"));
	usleep(300000);
	check_two(&r, what, oid, cid, prefix, 5);
out:
	bot_end(&r);
}

/* A burst of paid orders, SIGKILL at a random moment, a restart; 4 rounds. */
static void test_kill_loop(void)
{
	const char *env = getenv("SK_ORDERS_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
	struct { char oid[32], cid[16]; int qty; } o[16];
	int n = 0, units = 0, nimp = 40;
	char prefix[16];
	bot_t r;

	diag("kill loop: seed %u (SK_ORDERS_SEED=%u repeats it)", seed, seed);
	if (bot_new(&r, "after"))
		return;
	snprintf(prefix, sizeof prefix, "R%s", r.unb + 8);
	if (!ok(import(&r, "code", prefix, 1, nimp, 0, nimp), "kill loop: %d codes imported", nimp))
		goto out;
	for (int round = 1; round <= 4; round++) {
		int delay = (int)(rand_r(&seed) % 700), st, fine = 1, dup = 0, alien = 0, total = 0;
		int64_t t0;
		cJSON *s, *e, *seen;

		if (!ok(bot_start(&r), "round %d: the bot registers", round))
			break;
		t0 = now_ms();
		for (int k = 0; k < 4 && n < 16; k++, n++) {
			char c[16];

			new_oid(o[n].oid, sizeof o[n].oid);
			/* via c: gcc -O1 (SAN=1) sees o[n].oid and o[n].cid as one object (-Wrestrict) */
			snprintf(c, sizeof c, "9%s", o[n].oid + 10);
			memcpy(o[n].cid, c, sizeof c);
			o[n].qty = 1 + (k & 1);
			units += o[n].qty;
			order_paid(&r, o[n].oid, o[n].cid, "50001", o[n].qty, NULL);
		}
		while (now_ms() - t0 < delay)
			usleep(1000);
		kill(r.b.pid, SIGKILL);
		st = bot_wait_dead(&r, 5000);
		diag("round %d: SIGKILL %d ms after the burst began (status %d)", round, delay, st);
		if (!ok(bot_start(&r), "round %d: restarted after SIGKILL at %d ms", round, delay))
			break;
		ok(wait_all_done(&r, n, WAIT_MS), "round %d: all %d orders delivered and confirmed", round, n);
		usleep(300000);
		for (int i = 0; i < n; i++)
			if (accepted_to(o[i].cid) != o[i].qty || sim_order(o[i].oid, "consigns") != 1) {
				diag("order %s: %d accepted messages for %d units, %d consigns", o[i].oid,
				     accepted_to(o[i].cid), o[i].qty, sim_order(o[i].oid, "consigns"));
				fine = 0;
			}
		ok(fine, "round %d: every order got one message per unit and was shipped once", round);
		/* every accepted code text of this account: distinct, from the imported codes */
		s = sends();
		seen = cJSON_CreateObject();
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "frames")) {
			const char *t = send_text(e);
			char want[40];

			if (!tc_jstr(e, "unb") || strcmp(tc_jstr(e, "unb"), r.unb) || !accepted(e))
				continue;
			total++;
			snprintf(want, sizeof want, "Your code: %s-", prefix);
			if (strncmp(t, want, strlen(want)))
				alien++;
			else if (cJSON_GetObjectItemCaseSensitive(seen, t))
				dup++;
			else
				cJSON_AddTrueToObject(seen, t);
		}
		cJSON_Delete(seen);
		cJSON_Delete(s);
		ok(total == units && !dup && !alien, "round %d: %d accepted sends for %d units, %d codes twice, %d strangers",
		   round, total, units, dup, alien);
		ok(stock(&r, "code", 2) == units && stock(&r, "code", 1) == 0 && stock(&r, "code", 0) == nimp - units,
		   "round %d: stock exact: %lld used, %lld reserved, %lld free of %d", round, stock(&r, "code", 2),
		   stock(&r, "code", 1), stock(&r, "code", 0), nimp);
		if (tap_failed > r.fail0)
			break;
		if (round < 4 && tbot_stop(&r.b, SIGTERM) != 0)
			diag("round %d: SIGTERM did not exit 0", round);
	}
out:
	bot_end(&r);
}

int main(void)
{
	static const char *const steps[] = { "detail", "reserved", "send", "sending", "acked", "sent", "confirm",
		"confirmed", NULL };
	int64_t t0 = now_ms();

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	test_main();
	test_policy("before");
	test_policy("never");
	for (int i = 0; steps[i]; i++)
		test_kill_step(steps[i]);
	test_kill_loop();
	tc_sim_stop(&sim);
	diag("took %lld ms", (long long)(now_ms() - t0));
	return tap_done();
}
