/* SPDX-License-Identifier: MIT */
/*
 * tests/soak/soak.c - make soak: one simulator, one real bot (dedup +
 * autoreply + orders) and SOAK_S seconds (default 300) of traffic with a
 * fault every few seconds, then the invariants that matter to a seller.
 *
 * Traffic: buyer texts at SOAK_MSG_PER_S (default 4) spread over SOAK_CHATS
 * (default 40) chats, each text unique ("m000123 你好", every third one
 * "m000124 多少钱"); an order placed and paid every SOAK_ORDER_MS (default
 * 2500; quantity 1, every third one 2) in a chat of its own, codes imported
 * with `shopkeep stock import` before the first start; now and then a paid
 * card or a reminder again for an order already paid, and a /replay of the
 * last 20 pushes.
 *
 * Faults, from 5 s to 90% of the run, one every SOAK_FAULT_MS (default 3000,
 * shortened so that a short run still goes through the whole list once), in
 * this order and round again: drop fin, drop rst, close 4000, garbage of
 * every kind (json, deep_json, utf8, oversize, opcode, and base64,
 * msgpack_truncated, msgpack_hostile 0-6, msgpack_json_array each with a
 * good buyer text after the bad item), stall (unstalled 4 s later), refuse 3
 * + drop, blackhole 1 + drop, expire_token with kick, expire_h5tk,
 * session_expired for 1.5 s (once alone, once with an expire_token kick, so
 * the token fetch fails and the bot waits relogin_check_s), risk for 1.5 s
 * (FAILED (risk): the bot waits reconnect.risk_backoff_s, 2 s here, 1800 by default),
 * send_fail (CSI_FORBID, flow), mtop_fail of the order detail, of the
 * consign and (HTTP 500) of the token with an expire_token kick. Restarts of
 * the bot, alternately kill -9 and SIGTERM, every SOAK_S/8 (at least 10 s)
 * in the first half only, so that the second half is one process.
 *
 * At the end the faults stop, and the bot gets up to SOAK_CATCHUP_S (default
 * 240) to catch up; an order whose delivery failed (a refused send, a
 * detail call that met risk control or an expired session) gets a reminder
 * card every 5 s, as the platform sends them: by design that is what
 * retries it. Then it asserts:
 *   - replies: every buyer text got exactly one reply the buyer saw (an
 *     accepted, non-repeat send of the simulator's /sent with its expected
 *     text, "re: <text>" or "价: <text>", in its chat). A "duplicate reply"
 *     is a second accepted send of that text: a send repeated with the same
 *     uuid is the same message to the platform and not counted. The only
 *     excuse for no reply is a send_fail refusal of it (refusals are final by
 *     design), and there are no more of those than send_fail faults allowed;
 *   - nothing else was sent: every accepted send is such a reply or a code;
 *   - orders: every paid order is delivered (orders_order), each unit with
 *     its own code, recorded for that order and unit in orders_stock (used),
 *     that reached the order's chat exactly once; the chat got no other code;
 *     no code twice; no order shipped twice (the simulator's consigns);
 *   - stock: used + reserved + free = imported, nothing reserved, used = the
 *     units delivered;
 *   - outbox: no row left pending (state 0) in state.db;
 *   - RSS (VmRSS of /proc/<pid>/status) grew less than 1% from after the
 *     warm-up to the end after catch-up, the same process all along: the
 *     last restart-free stretch (the second half). Warm-up: once the restarts
 *     are over, one 4 MiB garbage frame (the first big allocation freed
 *     raises glibc's mmap threshold for good: about 0.5 MB more heap, once),
 *     then the simulator's load mode pushes SOAK_WARM (default 5000) texts
 *     "warm", each in a chat of its own, and waits until all are answered;
 *     that fills what a process fills once and keeps at a bound (SQLite's
 *     page cache, 2 MB by default, dedup's 4096-slot cache): about 4000
 *     messages, 2.6 MB here. Without it the stretch measures the warm-up
 *     (0.6 kB a message). Each of them must be answered once ("re: warm" in
 *     its own chat) too. When the warm-up ends after 80% of the run (a short
 *     SOAK_S), the RSS check is skipped, saying so. The load mode pushes as
 *     fast as the bot ACKs, far faster than a send pace: replies beyond the
 *     send window (send.queue_max, default 1000) wait in the outbox. Before
 *     they did, a full window refused them (sk_send SK_ERR_FULL: the reply
 *     lost, its push ACKed; 3956 of 5000 at 50/s). The bot runs at
 *     send.rate_per_s 500 so that the warm-up ends early in the run.
 * A failure prints the offending messages, orders or rows, and keeps the
 * bot's temp dir (config, state.db, bot.log, events.jsonl).
 *
 * Environment: SOAK_S, SOAK_MSG_PER_S, SOAK_ORDER_MS, SOAK_FAULT_MS,
 * SOAK_RESTART_MS, SOAK_CHATS, SOAK_CATCHUP_S, SOAK_WARM, SOAK_SEED (repeats the random
 * choices), SOAK_KEEP=1 (keep the bot's dir even when all passed), SK_BUILD.
 * TAP output, ending with a summary. Not named test_*: make test does not run it.
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

#define UNB "2200000000777"
#define SEND_LWP "/r/MessageSend/sendByReceiverScope"
#define ITEM "60001"
#define CARD "code"

typedef struct {
	char cid[12];
	int kw;                    /* a keyword text (多少钱): the keyword rule answers */
	int64_t at_ms;             /* when it was pushed, from the start */
	int accepted, refused, wrong_chat;
	int first_seq;
} soak_msg;

typedef struct {
	char oid[24], cid[12];
	int qty;
	int64_t at_ms;
	int reminders;
	int code_sends;            /* accepted code texts in its chat */
} soak_order;

/* A delivered code as the simulator saw it. */
typedef struct {
	int accepted;
	char cid[12];
} soak_code;

/* One entry of the fault list: a control call (seller added), then maybe a
 * second one at once (pre-set refuse/blackhole, then a drop), and an undo
 * after undo_ms. */
typedef struct {
	const char *name;
	const char *path, *body, *then_path, *then_body;
	const char *undo;
	int undo_ms;
	int with_good;             /* a good buyer text after the bad item: a message to answer */
	int send_fail;             /* how many sends it may refuse */
} soak_fault;

static const soak_fault faults[] = {
	{ "drop fin", "/fault", "{\"kind\":\"drop\",\"how\":\"fin\"}" },
	{ "drop rst", "/fault", "{\"kind\":\"drop\",\"how\":\"rst\"}" },
	{ "close 4000", "/fault", "{\"kind\":\"close\",\"code\":4000}" },
	{ "garbage json", "/fault", "{\"kind\":\"garbage\",\"what\":\"json\"}" },
	{ "garbage deep_json", "/fault", "{\"kind\":\"garbage\",\"what\":\"deep_json\"}" },
	{ "garbage utf8", "/fault", "{\"kind\":\"garbage\",\"what\":\"utf8\"}" },
	{ "garbage oversize", "/fault", "{\"kind\":\"garbage\",\"what\":\"oversize\"}" },
	{ "garbage opcode", "/fault", "{\"kind\":\"garbage\",\"what\":\"opcode\"}" },
	{ "garbage base64", "/fault", "{\"kind\":\"garbage\",\"what\":\"base64\"}", .with_good = 1 },
	{ "garbage msgpack_truncated", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_truncated\"}", .with_good = 1 },
	{ "garbage msgpack_hostile 0", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":0}", .with_good = 1 },
	{ "stall 4 s", "/fault", "{\"kind\":\"stall\"}", .undo = "{\"kind\":\"unstall\"}", .undo_ms = 4000 },
	{ "garbage msgpack_hostile 1", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":1}", .with_good = 1 },
	{ "refuse 3 + drop", "/fault", "{\"kind\":\"refuse\",\"n\":3}", "/fault", "{\"kind\":\"drop\",\"how\":\"fin\"}" },
	{ "garbage msgpack_hostile 2", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":2}", .with_good = 1 },
	{ "blackhole 1 + drop", "/fault", "{\"kind\":\"blackhole\",\"n\":1}", "/fault", "{\"kind\":\"drop\",\"how\":\"rst\"}" },
	{ "garbage msgpack_hostile 3", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":3}", .with_good = 1 },
	{ "expire_token kick", "/fault", "{\"kind\":\"expire_token\",\"kick\":true}" },
	{ "garbage msgpack_hostile 4", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":4}", .with_good = 1 },
	{ "expire_h5tk", "/fault", "{\"kind\":\"expire_h5tk\"}" },
	{ "garbage msgpack_hostile 5", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":5}", .with_good = 1 },
	{ "session_expired 1.5 s", "/fault", "{\"kind\":\"session_expired\",\"on\":true}",
	  .undo = "{\"kind\":\"session_expired\",\"on\":false}", .undo_ms = 1500 },
	{ "garbage msgpack_hostile 6", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_hostile\",\"variant\":6}", .with_good = 1 },
	{ "risk 1.5 s", "/fault", "{\"kind\":\"risk\",\"on\":true}", .undo = "{\"kind\":\"risk\",\"on\":false}", .undo_ms = 1500 },
	{ "garbage msgpack_json_array", "/fault", "{\"kind\":\"garbage\",\"what\":\"msgpack_json_array\"}", .with_good = 1 },
	{ "send_fail CSI_FORBID", "/fault", "{\"kind\":\"send_fail\",\"n\":1,\"reason\":\"CSI_FORBID\"}", .send_fail = 1 },
	{ "mtop_fail detail x2", "/fault", "{\"kind\":\"mtop_fail\",\"api\":\"mtop.idle.web.trade.order.detail\",\"n\":2}" },
	{ "session_expired 1.5 s + expire_token kick", "/fault", "{\"kind\":\"session_expired\",\"on\":true}",
	  "/fault", "{\"kind\":\"expire_token\",\"kick\":true}", "{\"kind\":\"session_expired\",\"on\":false}", 1500 },
	{ "send_fail flow", "/fault", "{\"kind\":\"send_fail\",\"n\":1,\"reason\":\"flow\"}", .send_fail = 1 },
	{ "mtop_fail consign x2", "/fault", "{\"kind\":\"mtop_fail\",\"api\":\"mtop.taobao.idle.logistic.consign.dummy\",\"n\":2}" },
	{ "mtop_fail token (HTTP 500) + expire_token kick", "/fault",
	  "{\"kind\":\"mtop_fail\",\"api\":\"mtop.taobao.idlemessage.pc.login.token\",\"n\":1,\"status\":500}",
	  "/fault", "{\"kind\":\"expire_token\",\"kick\":true}" },
	{ "replay 20", "/replay", "{\"n\":20}" },
};
#define NFAULTS ((int)(sizeof faults / sizeof faults[0]))

static tc_sim sim;
static tbot bot;
static char db[320];
static soak_msg *msgs;
static int nmsg, capmsg;
static soak_order *orders;
static int nord, capord;
static soak_code *codes;
static int ncodes;
static int sent_next;          /* the simulator's /sent read so far */
static int strangers, send_errors, refused_total, repeats;
static int fault_runs[NFAULTS];
static int send_fail_allowed;
static int restarts_kill, restarts_term;
static int warm_n, warm_replies, warm_refused, warm_chats, warm_other;
static unsigned char *warm_seen;  /* per load chat: answered */
static int warm_started;

static int64_t now_ms(void)
{
	return util_mono_us() / 1000;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

/* ---- the simulator ------------------------------------------------------------ */

/* A control call with "seller" added to body (a JSON object). */
static int ctl(const char *path, const char *body)
{
	char b[1024];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\"%s%s", body[1] == '}' ? "" : ",", body + 1);
	return tsim_ctl(&sim, path, b);
}

static void msg_text(int i, char *out, size_t n)
{
	snprintf(out, n, "m%06d %s", i, msgs[i].kw ? "多少钱" : "你好");
}

static void msg_reply(int i, char *out, size_t n)
{
	char t[64];

	msg_text(i, t, sizeof t);
	snprintf(out, n, "%s%s", msgs[i].kw ? "价: " : "re: ", t);
}

/* A new buyer message in chat c: its index. */
static int msg_new(int c, int64_t at)
{
	soak_msg *m;

	if (nmsg == capmsg) {
		capmsg = capmsg ? capmsg * 2 : 1024;
		msgs = realloc(msgs, (size_t)capmsg * sizeof *msgs);
		if (!msgs)
			abort();
	}
	m = &msgs[nmsg];
	memset(m, 0, sizeof *m);
	snprintf(m->cid, sizeof m->cid, "5%05d", c);
	m->kw = nmsg % 3 == 2;
	m->at_ms = at;
	m->first_seq = -1;
	return nmsg++;
}

static void inject_msg(int c, int64_t at)
{
	int i = msg_new(c, at);
	char b[300], t[64];

	msg_text(i, t, sizeof t);
	snprintf(b, sizeof b, "{\"cid\":\"%s\",\"buyer\":\"6%s\",\"buyer_name\":\"买家%s\",\"text\":\"%s\"}",
		 msgs[i].cid, msgs[i].cid + 1, msgs[i].cid + 1, t);
	ctl("/inject", b);
}

static void order_status(const soak_order *o, const char *st, int set)
{
	char b[200];

	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"status\":\"%s\",\"set\":%s}", o->oid, st, set ? "true" : "false");
	ctl("/order/status", b);
}

static void order_new(int64_t at)
{
	soak_order *o;
	char b[400];

	if (nord == capord) {
		capord = capord ? capord * 2 : 256;
		orders = realloc(orders, (size_t)capord * sizeof *orders);
		if (!orders)
			abort();
	}
	o = &orders[nord];
	memset(o, 0, sizeof *o);
	snprintf(o->oid, sizeof o->oid, "25099%011d", nord + 1);
	snprintf(o->cid, sizeof o->cid, "7%05d", nord + 1);
	o->qty = nord % 3 == 2 ? 2 : 1;
	o->at_ms = at;
	nord++;
	snprintf(b, sizeof b, "{\"order_id\":\"%s\",\"cid\":\"%s\",\"buyer\":\"8%s\",\"buyer_name\":\"买家%s\","
		 "\"item_id\":\"" ITEM "\",\"quantity\":%d,\"status\":\"placed\"}", o->oid, o->cid, o->cid + 1,
		 o->cid + 1, o->qty);
	ctl("/order", b);
	order_status(o, "paid", 1);
}

/* Reads the sends the simulator recorded since the last call and counts them
 * per message and per code. */
static void sent_update(void)
{
	char path[160];
	cJSON *r, *e;

	snprintf(path, sizeof path, "/sent?since=%d&what=" SEND_LWP, sent_next);
	r = tc_ctl(sim.ctl_port, "GET", path, NULL, NULL);
	if (!r)
		return;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "frames")) {
		const char *t = tc_jstr(e, "content.text.text"), *cid = tc_jstr(e, "cid");
		int acc = tc_jstr(e, "message_id") && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat"));
		int ref = tc_jstr(e, "refused") != NULL, i = -1;
		char want[96];

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "repeat")))
			repeats++;
		if (tc_jstr(e, "error")) {
			send_errors++;
			diag("send error (seq %d): %s", (int)tc_jnum(e, "seq"), tc_jstr(e, "error"));
			continue;
		}
		refused_total += ref;
		if (!t || (!acc && !ref))
			continue;
		if ((!strncmp(t, "re: m", 5) || !strncmp(t, "价: m", 6)) &&
		    (i = atoi(t + (t[0] == 'r' ? 5 : 6))) >= 0 && i < nmsg) {
			msg_reply(i, want, sizeof want);
			if (strcmp(want, t))
				i = -1;
		} else {
			i = -1;
		}
		if (i >= 0) {
			if (ref) {
				msgs[i].refused++;
			} else if (!cid || strcmp(cid, msgs[i].cid)) {
				msgs[i].wrong_chat++;
			} else {
				if (!msgs[i].accepted)
					msgs[i].first_seq = (int)tc_jnum(e, "seq");
				msgs[i].accepted++;
			}
			continue;
		}
		if (!strcmp(t, "re: warm")) {
			unsigned long long c = cid ? strtoull(cid, NULL, 10) : 0;

			if (ref) {
				warm_refused++;
				continue;
			}
			warm_replies++;
			if (c >= 900000000ull && c - 900000000ull < (unsigned long long)warm_n &&
			    !warm_seen[c - 900000000ull]++)
				warm_chats++;
			else
				warm_other++;
			continue;
		}
		if (!strncmp(t, "Code: C-", 8) && (i = atoi(t + 8)) >= 1 && i <= ncodes) {
			if (acc) {
				int o = cid && cid[0] == '7' ? atoi(cid + 1) - 1 : -1;

				if (!codes[i].accepted)
					snprintf(codes[i].cid, sizeof codes[i].cid, "%s", cid ? cid : "");
				codes[i].accepted++;
				if (o >= 0 && o < nord)
					orders[o].code_sends++;
			}
			continue;
		}
		if (acc) {
			strangers++;
			diag("a send nobody asked for (seq %d, chat %s): %s", (int)tc_jnum(e, "seq"), cid ? cid : "?", t);
		}
	}
	sent_next = (int)tc_jnum(r, "next");
	cJSON_Delete(r);
}

/* The simulator's consigns of order oid; -1 if it does not know it. */
static int sim_consigns(cJSON *all, const char *oid)
{
	cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(all, "orders"))
		if (tc_jstr(o, "order_id") && !strcmp(tc_jstr(o, "order_id"), oid))
			return (int)tc_jnum(o, "consigns");
	return -1;
}

/* ---- the bot's state.db (read-only, while it runs) -------------------------------- */

static sqlite3 *db_open(void)
{
	sqlite3 *d = NULL;

	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(d);
		return NULL;
	}
	sqlite3_busy_timeout(d, 5000);
	return d;
}

static long long db_int(const char *sql)
{
	sqlite3 *d = db_open();
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (d && sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (d)
		diag("sql %s: %s", sql, sqlite3_errmsg(d));
	sqlite3_finalize(st);
	sqlite3_close(d);
	return v;
}

/* Prints every row of sql as a diag line (columns joined by " | "), at most max. */
static void db_show(const char *sql, int max)
{
	sqlite3 *d = db_open();
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (!d || sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK) {
		diag("sql %s: %s", sql, d ? sqlite3_errmsg(d) : "cannot open");
	} else {
		while (sqlite3_step(st) == SQLITE_ROW && n++ < max) {
			char line[1200];
			size_t o = 0;

			line[0] = '\0';
			for (int c = 0; c < sqlite3_column_count(st) && o < sizeof line - 1; c++) {
				const unsigned char *v = sqlite3_column_text(st, c);

				o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", c ? " | " : "", v ? (const char *)v : "NULL");
			}
			diag("  %s", line);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
}

/* The delivery column of an order ("" when it has no row). */
static void order_delivery(sqlite3 *d, const char *oid, char *out, size_t n)
{
	sqlite3_stmt *st = NULL;

	*out = '\0';
	if (sqlite3_prepare_v2(d, "SELECT delivery FROM orders_order WHERE order_id = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

/* ---- the bot ------------------------------------------------------------------------ */

static int write_file(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", bot.dir, name);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int bot_setup(void)
{
	char json[3000], path[400], cmd[1200];
	const char *out;
	FILE *f;
	int st;

	if (tbot_init(&bot, &sim))
		return -1;
	snprintf(db, sizeof db, "%s/state.db", bot.dir);
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"soak\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\","
		 "\"heartbeat_interval_s\":1,\"heartbeat_timeout_s\":3,\"connect_timeout_s\":2,\"request_timeout_s\":3},\n"
		 " \"reconnect\":{\"network_base_ms\":200,\"network_cap_ms\":1000,\"closed_base_ms\":100,\"closed_cap_ms\":500,"
		 "\"other_base_ms\":150,\"other_cap_ms\":1000,\"risk_backoff_s\":2},\n"
		 " \"token\":{\"relogin_check_s\":2},\n"
		 " \"send\":{\"rate_per_s\":500,\"burst\":50,\"stop_flush_s\":2},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"log\":{\"level\":\"info\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0,\"pause_s\":600},\n"
		 " \"orders\":{\"confirm\":\"after\",\"retry_base_ms\":200,\"retry_s\":5},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n", tbot_build_dir());
	tbot_config(&bot, json);
	if (write_file("rules.json",
		       "{\"keyword_rules\":[{\"keywords\":[\"多少钱\"],\"reply\":\"价: {message}\"}],\n"
		       " \"default_reply\":{\"reply\":\"re: {message}\",\"once\":null},\n"
		       " \"cards\":[{\"name\":\"" CARD "\",\"type\":\"stock\",\"template\":\"Code: {code}\"}],\n"
		       " \"delivery\":[{\"item_id\":\"" ITEM "\",\"spec\":null,\"card\":\"" CARD "\"}]}\n"))
		return -1;
	snprintf(path, sizeof path, "%s/codes.txt", bot.dir);
	if (!(f = fopen(path, "w")))
		return -1;
	for (int i = 1; i <= ncodes; i++)
		fprintf(f, "C-%06d\n", i);
	fclose(f);
	snprintf(cmd, sizeof cmd, "%s/shopkeep stock import --card " CARD " %s --config %s 2>&1", tbot_build_dir(), path, bot.cfg);
	out = tbot_sh(cmd, &st);
	snprintf(path, sizeof path, "card " CARD ": %d codes added", ncodes);
	if (!ok(st == 0 && strstr(out, path), "stock import: %d codes (%s)", ncodes, st == 0 ? path : out))
		return -1;
	return 0;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* Restarts the bot: kill -9, or SIGTERM (which must exit 0). */
static void restart(int hard, int64_t at)
{
	if (hard) {
		int st;

		kill(bot.pid, SIGKILL);
		waitpid(bot.pid, &st, 0);
		bot.pid = -1;
		restarts_kill++;
		diag("%5.1f s: kill -9 and restart", (double)at / 1000);
	} else {
		int rc = tbot_stop(&bot, SIGTERM);

		restarts_term++;
		if (rc != 0)
			ok(0, "SIGTERM at %.1f s exits 0 (got %d)", (double)at / 1000, rc);
		diag("%5.1f s: SIGTERM and restart", (double)at / 1000);
	}
	tbot_start(&bot);
}

/* ---- the run ------------------------------------------------------------------------ */

typedef struct {
	int64_t at;
	const char *body;
} soak_undo;

static void run_fault(int k, int64_t at, soak_undo *undo, int *nundo, unsigned *seed)
{
	const soak_fault *f = &faults[k];

	fault_runs[k]++;
	send_fail_allowed += f->send_fail;
	if (f->with_good) {
		/* in the chat of an earlier message: its buyer is known */
		int i = msg_new(nmsg ? atoi(msgs[rand_r(seed) % (unsigned)nmsg].cid + 1) : 0, at);
		char b[600], t[64];

		msg_text(i, t, sizeof t);
		snprintf(b, sizeof b, "%.*s,\"with_good\":true,\"text\":\"%s\",\"cid\":\"%s\"}", (int)strlen(f->body) - 1,
			 f->body, t, msgs[i].cid);
		ctl(f->path, b);
	} else {
		ctl(f->path, f->body);
	}
	if (f->then_path)
		ctl(f->then_path, f->then_body);
	if (f->undo && *nundo < 8)
		undo[(*nundo)++] = (soak_undo){ at + f->undo_ms, f->undo };
}

/* Ends every fault that lasts: unstall, session and risk back to normal, no send refused. */
static void faults_off(void)
{
	ctl("/fault", "{\"kind\":\"unstall\"}");
	ctl("/fault", "{\"kind\":\"session_expired\",\"on\":false}");
	ctl("/fault", "{\"kind\":\"risk\",\"on\":false}");
	ctl("/fault", "{\"kind\":\"send_fail\",\"n\":0}");
	ctl("/fault", "{\"kind\":\"refuse\",\"n\":0}");
	ctl("/fault", "{\"kind\":\"blackhole\",\"n\":0}");
}

/* Whether every message is answered or refused, every order delivered, no send pending. */
static int caught_up(int64_t at, int64_t *last_remind)
{
	sqlite3 *d;
	int todo = 0, failed = 0;
	char del[32];

	sent_update();
	for (int i = 0; i < nmsg; i++)
		todo += !msgs[i].accepted && !msgs[i].refused;
	todo += warm_replies + warm_refused < warm_n && warm_started;
	if (!(d = db_open()))
		return 0;
	for (int i = 0; i < nord; i++) {
		order_delivery(d, orders[i].oid, del, sizeof del);
		if (!strcmp(del, "delivered"))
			continue;
		todo++;
		/* failed (refused, detail, ...): the platform's reminder retries it */
		if (!strcmp(del, "failed") && at - *last_remind >= 5000) {
			order_status(&orders[i], "remind", 0);
			orders[i].reminders++;
			failed++;
		}
	}
	sqlite3_close(d);
	if (failed)
		*last_remind = at;
	return !todo && db_int("SELECT count(*) FROM outbox WHERE state = 0") == 0;
}

/* ---- the checks ------------------------------------------------------------------- */

static void check_replies(void)
{
	int dup = 0, missing = 0, refused_only = 0, wrong = 0, shown = 0;
	char t[96], sql[400];

	for (int i = 0; i < nmsg; i++) {
		soak_msg *m = &msgs[i];
		int bad = m->accepted > 1 || (!m->accepted && !m->refused) || m->wrong_chat;

		dup += m->accepted > 1;
		missing += !m->accepted && !m->refused;
		refused_only += !m->accepted && m->refused;
		wrong += m->wrong_chat > 0;
		if (bad && shown++ < 15) {
			msg_text(i, t, sizeof t);
			diag("message %d \"%s\" in chat %s at %.1f s: %d accepted replies (first seq %d), %d refused, "
			     "%d in another chat; its autoreply_log rows:", i, t, m->cid, (double)m->at_ms / 1000, m->accepted,
			     m->first_seq, m->refused, m->wrong_chat);
			snprintf(sql, sizeof sql, "SELECT ms, decision, rule, send_uuid, outcome FROM autoreply_log "
				 "WHERE text = '%s'", t);
			db_show(sql, 5);
			snprintf(sql, sizeof sql, "SELECT chat, until_ms FROM autoreply_pause WHERE chat = '%s'", m->cid);
			db_show(sql, 2);
		}
	}
	diag("replies: %d messages, %d answered once, %d twice or more, %d not answered, %d refused by send_fail "
	     "(%d send_fail refusals allowed, %d refusals in all), %d repeats of a uuid", nmsg,
	     nmsg - dup - missing - refused_only, dup, missing, refused_only, send_fail_allowed, refused_total, repeats);
	is_int(dup, 0, "replies: no buyer message answered twice (%d messages)", nmsg);
	is_int(missing, 0, "replies: every buyer message answered (or its reply refused by an injected send_fail)");
	ok(refused_only + warm_refused <= send_fail_allowed, "replies: %d left unanswered by a refusal (%d of them warm-up "
	   "texts), at most the %d send_fail allowed", refused_only + warm_refused, warm_refused, send_fail_allowed);
	is_int(wrong, 0, "replies: every reply went to its own chat");
	if (warm_started)
		ok(warm_replies + warm_refused == warm_n && warm_chats == warm_replies && !warm_other,
		   "warm-up: each of the %d load messages answered once in its chat (%d replies in %d chats, %d refused, "
		   "%d twice or elsewhere)", warm_n, warm_replies, warm_chats, warm_refused, warm_other);
	ok(strangers == 0 && send_errors == 0, "sends: nothing else sent (%d strangers, %d sends the platform "
	   "rejected as malformed)", strangers, send_errors);
}

/* What check_orders counts over the paid orders. */
typedef struct {
	int undelivered, bad_units, twice_shipped, shipped, units, shown, code_twice, extra_codes;
} orders_tally;

/* Prints what state.db and the simulator know of order o (consigned c times), for a failed check. */
static void order_show(const soak_order *o, int c)
{
	char sql[300];

	diag("order %s (chat %s, quantity %d, paid at %.1f s, %d reminders at the end, consigns %d, %d codes "
	     "seen in its chat):", o->oid, o->cid, o->qty, (double)o->at_ms / 1000, o->reminders, c,
	     o->code_sends);
	snprintf(sql, sizeof sql, "SELECT state, delivery, reason, confirm, confirm_reason FROM orders_order "
		 "WHERE order_id = '%s'", o->oid);
	db_show(sql, 1);
	snprintf(sql, sizeof sql, "SELECT u.unit, u.attempt, u.state, u.uuid, u.message_id, u.reason, s.code, "
		 "s.state FROM orders_unit u LEFT JOIN orders_stock s ON s.id = u.code_id WHERE u.order_id = '%s'",
		 o->oid);
	db_show(sql, 5);
	for (int k = 1; k <= ncodes; k++)
		if (codes[k].accepted && !strcmp(codes[k].cid, o->cid))
			diag("  the simulator saw Code: C-%06d %d time(s) in its chat", k, codes[k].accepted);
}

/* Checks each paid order's units in state.db against the codes its chat saw; counts into t and unit_of_code. */
static void check_orders_units(sqlite3 *d, cJSON *sim_orders, int *unit_of_code, orders_tally *t)
{
	sqlite3_stmt *st = NULL;
	char del[32];

	sqlite3_prepare_v2(d, "SELECT u.unit, u.state, u.message_id, s.code, s.state, s.order_id, s.unit "
			   "FROM orders_unit u LEFT JOIN orders_stock s ON s.id = u.code_id WHERE u.order_id = ?1 "
			   "ORDER BY u.unit", -1, &st, NULL);
	for (int i = 0; i < nord; i++) {
		soak_order *o = &orders[i];
		int n = 0, fine = 1, c;

		order_delivery(d, o->oid, del, sizeof del);
		if (strcmp(del, "delivered")) {
			t->undelivered++;
			fine = 0;
		}
		sqlite3_bind_text(st, 1, o->oid, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *ust = (const char *)sqlite3_column_text(st, 1);
			const char *mid = (const char *)sqlite3_column_text(st, 2);
			const char *code = (const char *)sqlite3_column_text(st, 3);
			const char *soid = (const char *)sqlite3_column_text(st, 5);
			int k = code && !strncmp(code, "C-", 2) ? atoi(code + 2) : 0;

			n++;
			if (strcmp(ust, "sent") && strcmp(ust, "done")) {
				fine = 0;
				continue;
			}
			if (!mid || !*mid || k < 1 || k > ncodes || sqlite3_column_int(st, 4) != 2 || !soid ||
			    strcmp(soid, o->oid) || sqlite3_column_int(st, 6) != sqlite3_column_int(st, 0) ||
			    codes[k].accepted != 1 || strcmp(codes[k].cid, o->cid)) {
				fine = 0;
				t->bad_units++;
			}
			if (k >= 1 && k <= ncodes && unit_of_code[k]++)
				t->code_twice++;
		}
		sqlite3_reset(st);
		if (n != o->qty)
			fine = 0;
		if (o->code_sends != o->qty) {
			fine = 0;
			t->extra_codes++;
		}
		t->units += o->qty;
		c = sim_consigns(sim_orders, o->oid);
		t->shipped += c == 1;
		if (c > 1) {
			t->twice_shipped++;
			fine = 0;
		}
		if (!fine && t->shown++ < 10)
			order_show(o, c);
	}
	sqlite3_finalize(st);
}

/* Checks the codes the buyers saw against the units recorded and the stock counts (the orders' TAP lines). */
static void check_orders_codes(const int *unit_of_code, const orders_tally *t)
{
	long long used, reserved, freec, total;
	int seen = 0, seen_twice = 0, orphan = 0;

	for (int k = 1; k <= ncodes; k++) {
		seen += codes[k].accepted > 0;
		seen_twice += codes[k].accepted > 1;
		if (codes[k].accepted && !unit_of_code[k]) {
			orphan++;
			diag("code C-%06d reached chat %s but no unit of ours records it", k, codes[k].cid);
		}
	}
	used = db_int("SELECT count(*) FROM orders_stock WHERE card = '" CARD "' AND state = 2");
	reserved = db_int("SELECT count(*) FROM orders_stock WHERE card = '" CARD "' AND state = 1");
	freec = db_int("SELECT count(*) FROM orders_stock WHERE card = '" CARD "' AND state = 0");
	total = db_int("SELECT count(*) FROM orders_stock WHERE card = '" CARD "'");
	diag("orders: %d paid (%d units), %d not delivered, %d units wrong, %d shipped once, %d twice; codes: %d "
	     "reached a buyer, %d more than once, %d unrecorded; stock %lld used + %lld reserved + %lld free of "
	     "%lld (%d imported)", nord, t->units, t->undelivered, t->bad_units, t->shipped, t->twice_shipped, seen,
	     seen_twice, orphan, used, reserved, freec, total, ncodes);
	is_int(t->undelivered, 0, "orders: every paid order delivered (%d orders)", nord);
	is_int(t->bad_units, 0, "orders: each unit's own code recorded for it and seen once in its chat (%d units)",
	       t->units);
	is_int(t->extra_codes, 0, "orders: each order's chat got as many codes as it has units, no more");
	ok(seen_twice == 0 && t->code_twice == 0, "orders: no code delivered twice (%d sent twice, %d on two units)",
	   seen_twice, t->code_twice);
	is_int(orphan, 0, "orders: every code a buyer saw is recorded for its order");
	is_int(t->twice_shipped, 0, "orders: no order shipped twice");
	ok(total == ncodes && used + reserved + freec == ncodes && reserved == 0 && used == t->units && seen == t->units,
	   "stock: %lld used + %lld reserved + %lld free = %d imported; used = %d units delivered = %d codes seen",
	   used, reserved, freec, ncodes, t->units, seen);
}

/* Checks the orders end to end: units and codes in state.db, what the buyers saw, the stock. */
static void check_orders(void)
{
	sqlite3 *d = db_open();
	cJSON *sim_orders = tc_ctl(sim.ctl_port, "GET", "/orders", NULL, NULL);
	int *unit_of_code = calloc((size_t)ncodes + 1, sizeof *unit_of_code);
	orders_tally t = { 0 };

	if (!d || !unit_of_code) {
		ok(0, "orders: state.db opens");
		free(unit_of_code);
		cJSON_Delete(sim_orders);
		sqlite3_close(d);
		return;
	}
	check_orders_units(d, sim_orders, unit_of_code, &t);
	sqlite3_close(d);
	check_orders_codes(unit_of_code, &t);
	free(unit_of_code);
	cJSON_Delete(sim_orders);
}

static void check_outbox(void)
{
	long long pending = db_int("SELECT count(*) FROM outbox WHERE state = 0");

	diag("outbox: %lld done, %lld refused, %lld pending", db_int("SELECT count(*) FROM outbox WHERE state = 1"),
	     db_int("SELECT count(*) FROM outbox WHERE state = 2"), pending);
	if (pending)
		db_show("SELECT id, uuid, cid, kind, attempts, created_ms, plugin, tag, payload FROM outbox WHERE state = 0", 10);
	is_int(pending, 0, "outbox: no send left unacknowledged");
}

/* One soak run: its settings (SOAK_*), the clock of its traffic, faults and restarts, the RSS measured. */
typedef struct {
	long soak_s, msg_per_s, order_ms, nchats, catchup_s;
	int64_t dur, fault_from, fault_to, fault_ms, restart_every;
	unsigned seed;
	int64_t t0, at, next_msg, next_order, next_fault, next_restart, next_rss, base_at, last_restart, last_remind;
	int64_t caught, warm_at;
	long rss_base, rss_max, rss_traffic_end, rss_end;
	pid_t rss_pid;
	soak_undo undo[8];
	int nundo, kfault, hard, all_kinds, warm_state;
} soak_run;

/* Reads the SOAK_* settings into r and sizes the tables; returns -1 (after the usage) when they are out of range. */
static int soak_init(soak_run *r)
{
	r->soak_s = env_long("SOAK_S", 300);
	r->msg_per_s = env_long("SOAK_MSG_PER_S", 4);
	r->order_ms = env_long("SOAK_ORDER_MS", 2500);
	r->nchats = env_long("SOAK_CHATS", 40);
	r->catchup_s = env_long("SOAK_CATCHUP_S", 240);
	r->dur = r->soak_s * 1000;
	r->fault_from = 5000;
	r->fault_to = r->dur * 9 / 10;
	r->fault_ms = env_long("SOAK_FAULT_MS", 3000);
	r->restart_every = env_long("SOAK_RESTART_MS", r->dur / 8 < 10000 ? 10000 : r->dur / 8);
	r->seed = (unsigned)env_long("SOAK_SEED", (long)((unsigned)time(NULL) ^ (unsigned)getpid()));
	r->next_order = 1000;
	r->next_fault = r->fault_from;
	r->next_restart = r->restart_every;
	r->base_at = r->caught = r->warm_at = -1;
	r->rss_base = r->rss_max = r->rss_traffic_end = r->rss_end = -1;
	r->rss_pid = -1;
	r->hard = 1;
	r->all_kinds = 1;
	if (r->soak_s < 20 || r->soak_s > 24 * 3600 || r->msg_per_s < 1 || r->order_ms < 200 || r->nchats < 1) {
		fprintf(stderr, "soak: SOAK_S 20..86400, SOAK_MSG_PER_S >= 1, SOAK_ORDER_MS >= 200, SOAK_CHATS >= 1\n");
		return -1;
	}
	if (r->fault_ms * NFAULTS > r->fault_to - r->fault_from)
		r->fault_ms = (r->fault_to - r->fault_from) / NFAULTS;
	if (r->fault_ms < 1000)
		r->fault_ms = 1000;
	ncodes = (int)(r->dur / r->order_ms) * 2 + 100;
	codes = calloc((size_t)ncodes + 1, sizeof *codes);
	warm_n = (int)env_long("SOAK_WARM", 5000);
	warm_seen = calloc((size_t)warm_n + 1, 1);
	diag("soak: %ld s, %ld messages/s in %ld chats, an order every %ld ms, a fault every %lld ms, a restart every "
	     "%lld s in the first half; seed %u (SOAK_SEED=%u repeats it)", r->soak_s, r->msg_per_s, r->nchats,
	     r->order_ms, (long long)r->fault_ms, (long long)(r->restart_every / 1000), r->seed, r->seed);
	return 0;
}

/* The warm-up, once the restarts are over (SOAK_WARM load messages), then the RSS baseline's time. */
static void soak_warm(soak_run *r)
{
	if (warm_n && r->warm_state == 0 && r->at > r->dur / 2 && r->at >= r->last_restart + 2000) {
		char b[120];
		int st = 0;

		/* a big frame first: the first in a process moves glibc's mmap
		 * threshold up for good (about 0.5 MB more heap, once) */
		if (r->warm_at < 0) {
			ctl("/fault", "{\"kind\":\"garbage\",\"what\":\"oversize\"}");
			r->warm_at = r->at;
		}
		snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"n\":%d,\"window\":32,\"text\":\"warm\"}", warm_n);
		cJSON_Delete(tc_ctl(sim.ctl_port, "POST", "/load", b, &st));
		if (st == 200) {
			r->warm_state = 1;
			warm_started = 1;
			r->warm_at = r->at;
			diag("%5.1f s: warm-up: %d load messages", (double)r->at / 1000, warm_n);
		}
	} else if (r->warm_state == 1 && r->at >= r->next_rss) {
		sent_update();
		if (warm_replies + warm_refused >= warm_n) {
			r->warm_state = 2;
			r->base_at = r->at + 2000;
			diag("%5.1f s: warm-up done in %.1f s", (double)r->at / 1000, (double)(r->at - r->warm_at) / 1000);
		}
	} else if (!warm_n && r->base_at < 0 && r->at > r->dur / 2 && r->at >= r->last_restart + 2000) {
		r->base_at = r->at + 10000;
	}
}

/* Once a second: the RSS baseline once it is due, the maximum after it, a progress line every 10 s. */
static void soak_rss(soak_run *r)
{
	if (r->at >= r->next_rss) {
		long kb = bot.pid > 0 ? rss_kb(bot.pid) : -1;

		if (r->base_at >= 0 && r->at >= r->base_at && r->rss_base < 0 && kb > 0) {
			r->rss_base = kb;
			r->rss_pid = bot.pid;
			diag("%5.1f s: RSS baseline %ld kB (pid %d)", (double)r->at / 1000, kb, (int)bot.pid);
		}
		if (r->rss_base > 0 && kb > r->rss_max)
			r->rss_max = kb;
		if (r->at / 1000 % 10 == 0)
			diag("%5.1f s: %d messages, %d orders, %d faults; bot pid %d RSS %ld kB", (double)r->at / 1000, nmsg,
			     nord, r->kfault, (int)bot.pid, kb);
		r->next_rss += 1000;
	}
}

/* Runs the traffic, faults and restarts for SOAK_S; checks the bot stays alive (returns -1 when it died). */
static int soak_traffic(soak_run *r)
{
	r->t0 = now_ms();
	while ((r->at = now_ms() - r->t0) < r->dur) {
		if (r->at >= r->next_msg) {
			inject_msg((int)(rand_r(&r->seed) % (unsigned)r->nchats), r->at);
			r->next_msg += 1000 / r->msg_per_s;
		}
		if (r->at >= r->next_order) {
			order_new(r->at);
			r->next_order += r->order_ms;
			/* now and then a trigger again for an order paid before */
			if (nord > 3 && rand_r(&r->seed) % 4 == 0)
				order_status(&orders[rand_r(&r->seed) % (unsigned)(nord - 1)],
					     rand_r(&r->seed) % 2 ? "remind" : "paid", 0);
		}
		if (r->at >= r->next_fault && r->at < r->fault_to) {
			diag("%5.1f s: fault %s", (double)r->at / 1000, faults[r->kfault % NFAULTS].name);
			run_fault(r->kfault++ % NFAULTS, r->at, r->undo, &r->nundo, &r->seed);
			r->next_fault += r->fault_ms;
		}
		for (int i = 0; i < r->nundo; i++)
			if (r->at >= r->undo[i].at) {
				ctl("/fault", r->undo[i].body);
				r->undo[i--] = r->undo[--r->nundo];
			}
		if (r->at >= r->next_restart && r->at <= r->dur / 2) {
			restart(r->hard, r->at);
			r->hard = !r->hard;
			r->last_restart = r->at;
			r->next_restart += r->restart_every;
		}
		soak_warm(r);
		soak_rss(r);
		if (!tbot_alive(&bot)) {
			ok(0, "the bot is alive at %.1f s (see its log)", (double)r->at / 1000);
			return -1;
		}
		usleep(10000);
	}
	r->rss_traffic_end = rss_kb(bot.pid);
	diag("%5.1f s: traffic and faults stop: %d messages, %d orders, %d faults, %d kill -9 and %d SIGTERM restarts "
	     "(last at %.1f s)", (double)r->at / 1000, nmsg, nord, r->kfault, restarts_kill, restarts_term,
	     (double)r->last_restart / 1000);
	for (int i = 0; i < r->nundo; i++)
		ctl("/fault", r->undo[i].body);
	faults_off();
	return 0;
}

/* Waits (bounded) for the bot to catch up after the faults; checks it did and is alive. */
static void soak_catch_up(soak_run *r)
{
	/* catch-up: bounded, no time asserted */
	r->t0 = now_ms();
	while (now_ms() - r->t0 < r->catchup_s * 1000) {
		if (caught_up(now_ms() - r->t0, &r->last_remind)) {
			r->caught = now_ms() - r->t0;
			break;
		}
		if (!tbot_alive(&bot))
			break;
		sleep(1);
	}
	if (!ok(r->caught >= 0, "caught up after the faults (every message answered or refused, every order delivered, "
		"no send pending) within %ld s", r->catchup_s))
		diag("not caught up after %ld s: the checks below say what is missing", r->catchup_s);
	else
		diag("caught up in %.1f s", (double)r->caught / 1000);
	/* late duplicates would come now */
	sleep(3);
	sent_update();
	ok(tbot_alive(&bot), "the bot is alive at the end");
	r->rss_end = rss_kb(bot.pid);
}

/* Checks that every fault kind and both restart kinds ran, and that the RSS stayed flat over one process. */
static void soak_check_run(soak_run *r)
{
	for (int k = 0; k < NFAULTS; k++)
		r->all_kinds &= fault_runs[k] > 0;
	ok(r->all_kinds, "faults: every kind of the list ran at least once (%d faults of %d kinds)", r->kfault, NFAULTS);
	if (!r->all_kinds)
		for (int k = 0; k < NFAULTS; k++)
			if (!fault_runs[k])
				diag("  did not run: %s", faults[k].name);
	ok(restarts_kill > 0 && restarts_term > 0, "restarts: %d kill -9, %d SIGTERM", restarts_kill, restarts_term);
	if (r->rss_base < 0)
		ok(0, "RSS: no baseline: the warm-up did not finish before the traffic stopped (%d of %d answered)",
		   warm_replies + warm_refused, warm_n);
	else if (r->base_at > r->fault_to * 8 / 9)
		skip("RSS: the warm-up ended too late in this short run (at %.0f s of %ld; a longer SOAK_S measures it)",
		     (double)r->base_at / 1000, r->soak_s);
	else if (ok(r->rss_pid == bot.pid, "RSS: measured over one process (pid %d) from %.0f s on, %.0f s after "
		    "the last restart", (int)r->rss_pid, (double)r->base_at / 1000,
		    (double)(r->base_at - r->last_restart) / 1000))
		ok(r->rss_end * 100 < r->rss_base * 101, "RSS: grew under 1%%: %ld kB at %.0f s -> %ld kB at the end (%+.2f%%; "
		   "%ld kB when traffic stopped, max %ld kB)", r->rss_base, (double)r->base_at / 1000, r->rss_end,
		   100.0 * (double)(r->rss_end - r->rss_base) / (double)r->rss_base, r->rss_traffic_end, r->rss_max);
	is_int(tbot_stop(&bot, SIGTERM), 0, "the bot: SIGTERM exits 0");
}

int main(void)
{
	soak_run r = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (soak_init(&r))
		return 2;
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (bot_setup()) {
		tc_sim_stop(&sim);
		tbot_done(&bot, 1);
		return tap_done();
	}
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 10000) >= 0, "the bot registers (dedup, autoreply, orders)"))
		goto end;

	if (soak_traffic(&r))
		goto end;
	soak_catch_up(&r);

	check_replies();
	check_orders();
	check_outbox();
	soak_check_run(&r);
end:
	tc_sim_stop(&sim);
	diag("summary: %ld s, %d messages, %d orders, %d faults, %d+%d restarts, %d checks failed; bot dir %s%s",
	     r.soak_s, nmsg, nord, r.kfault, restarts_kill, restarts_term, tap_failed, bot.dir,
	     tap_failed || env_long("SOAK_KEEP", 0) ? " (kept)" : " (removed)");
	tbot_done(&bot, tap_failed || env_long("SOAK_KEEP", 0));
	{
		int rc = tap_done();

		printf("soak: %d passed, %d failed\n", tap_n - tap_failed, tap_failed);
		free(msgs);
		free(orders);
		free(codes);
		free(warm_seen);
		return rc;
	}
}
