/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_host.c - core/host.c with a tiny backend of its own
 * (sends and mtop calls recorded, a manual clock, wake_at recorded) over an
 * in-memory store, loading the real test plugins of tests/plugins/hostcheck_*
 * through the real loader ($SK_BUILD/tests/plugins/<name>.so).
 *
 * The plugins log "T:<token>" lines; the backend's log collects the tokens
 * into a trace (space separated) that the checks compare. Every free_ud of
 * hostcheck_a appends "free <label>" to the file $SK_TEST_FREE_LOG, which
 * this program sets to a temporary file and reads back.
 */
#include "core_migrations.h"
#include "host.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the backend --------------------------------------------------------- */

typedef struct {
	char plugin[40], tag[40], chat[40], buyer[40], body[128], uuid[40];
	int image, w, h, state;
	char detail[64];
} rec_send;

typedef struct {
	char api[64], data[128], version[16];
	unsigned flags;
	host_mtop_done done;
	void *ctx;
	int answered;
} rec_mtop;

static host *H;
static store *ST;
static cJSON *SECTIONS;
static int64_t clk_mono = 1000, clk_now = 1700000000000LL;
static int64_t wake = -1;
static rec_send sends[64];
static int nsends, send_fail_rc, sync_refuse;
static rec_mtop mtops[32];
static int nmtops, mtop_sync_transport;
static sbuf trace, logs;
static char free_log[64];
static int dup_frees;

static int be_send(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
		   const char *body, int image, int w, int h, char *uuid_out)
{
	rec_send *s;

	(void)ud;
	if (send_fail_rc)
		return send_fail_rc;
	if (nsends == 64)
		return SK_ERR_FULL;
	s = &sends[nsends++];
	memset(s, 0, sizeof *s);
	snprintf(s->plugin, sizeof s->plugin, "%s", plugin);
	snprintf(s->tag, sizeof s->tag, "%s", tag ? tag : "(null)");
	snprintf(s->chat, sizeof s->chat, "%s", chat_id);
	snprintf(s->buyer, sizeof s->buyer, "%s", buyer_id);
	snprintf(s->body, sizeof s->body, "%s", body);
	snprintf(s->uuid, sizeof s->uuid, "u-%d", nsends);
	s->image = image;
	s->w = w;
	s->h = h;
	memcpy(uuid_out, s->uuid, sizeof s->uuid);
	/* a backend that refuses at once, from inside the call */
	if (sync_refuse)
		host_send_result(H, s->uuid, 0, "closed", plugin, tag);
	return 0;
}

static int be_send_text(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
			const char *text, char *uuid_out)
{
	return be_send(ud, plugin, tag, chat_id, buyer_id, text, 0, 0, 0, uuid_out);
}

static int be_send_image(void *ud, const char *plugin, const char *tag, const char *chat_id, const char *buyer_id,
			 const char *url, int w, int h, char *uuid_out)
{
	return be_send(ud, plugin, tag, chat_id, buyer_id, url, 1, w, h, uuid_out);
}

static rec_send *find_send(const char *uuid)
{
	for (int i = 0; i < nsends; i++)
		if (!strcmp(sends[i].uuid, uuid))
			return &sends[i];
	return NULL;
}

static int be_send_status(void *ud, const char *uuid, int *state, char **detail)
{
	rec_send *s = find_send(uuid);

	(void)ud;
	if (!s)
		return SK_ERR_NOTFOUND;
	*state = s->state;
	if (detail)
		*detail = s->state ? strdup(s->detail) : NULL;
	return 0;
}

static void be_wake_at(void *ud, int64_t t)
{
	(void)ud;
	wake = t;
}

static int64_t be_now(void *ud)
{
	(void)ud;
	return clk_now;
}

static int64_t be_mono(void *ud)
{
	(void)ud;
	return clk_mono;
}

static void be_mtop(void *ud, const char *api, const char *version, unsigned flags, const char *data,
		    host_mtop_done done, void *ctx)
{
	rec_mtop *m;

	(void)ud;
	if (mtop_sync_transport || nmtops == 32) {
		done(ctx, SK_MTOP_TRANSPORT, "", "");
		return;
	}
	m = &mtops[nmtops++];
	snprintf(m->api, sizeof m->api, "%s", api);
	snprintf(m->data, sizeof m->data, "%s", data);
	snprintf(m->version, sizeof m->version, "%s", version);
	m->flags = flags;
	m->done = done;
	m->ctx = ctx;
	m->answered = 0;
}

static int be_state(void *ud)
{
	(void)ud;
	return SK_STATE_CONNECTED;
}

static char *be_metrics(void *ud)
{
	(void)ud;
	return strdup("{\"m\":1}");
}

static void be_wake_loop(void *ud)
{
	(void)ud;
}

/* Keeps every line; "T:" lines also go to the trace. */
static void be_log(void *ud, int level, const char *plugin, const char *msg)
{
	(void)ud;
	sbuf_addf(&logs, "%d %s: %s\n", level, plugin, msg);
	if (!strncmp(msg, "T:", 2)) {
		if (trace.len)
			sbuf_adds(&trace, " ");
		sbuf_adds(&trace, msg + 2);
	} else {
		fprintf(stderr, "log %d %s: %s\n", level, plugin, msg);
	}
}

static const host_backend BE = {
	.send_text = be_send_text, .send_image = be_send_image, .send_status = be_send_status,
	.wake_at = be_wake_at, .now_ms = be_now, .mono_ms = be_mono, .mtop = be_mtop,
	.session_state = be_state, .metrics_json = be_metrics, .wake_loop = be_wake_loop, .log = be_log,
};

/* ---- helpers ------------------------------------------------------------- */

/* The trace since the last call (static copy), then cleared. */
static const char *tr(void)
{
	static char out[8192];

	snprintf(out, sizeof out, "%s", trace.p ? trace.p : "");
	sbuf_reset(&trace);
	return out;
}

/* Counts the occurrences of sub in s. */
static int count(const char *s, const char *sub)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

/* How many times "free <label>" is in the free log. */
static int freed(const char *label)
{
	char line[128], want[128];
	FILE *f = fopen(free_log, "r");
	int n = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof want, "free %s\n", label);
	while (fgets(line, sizeof line, f))
		n += !strcmp(line, want);
	fclose(f);
	return n;
}

/* Whether every line of the free log is there once (no free_ud twice). */
static int freed_once_each(void)
{
	char lines[256][128];
	int n = 0, dup = 0;
	FILE *f = fopen(free_log, "r");

	if (!f)
		return 1;
	while (n < 256 && fgets(lines[n], sizeof lines[n], f)) {
		for (int i = 0; i < n; i++)
			if (!strcmp(lines[i], lines[n])) {
				diag("twice: %s", lines[n]);
				dup = 1;
			}
		n++;
	}
	fclose(f);
	return !dup;
}

static const char *so(const char *name)
{
	static char buf[4][512];
	static int k;
	const char *b = getenv("SK_BUILD");

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/tests/plugins/%s.so", b && *b ? b : "build", name);
	return buf[k];
}

static const char *plugin_dir(void)
{
	static char buf[512];
	const char *b = getenv("SK_BUILD");

	snprintf(buf, sizeof buf, "%s/tests/plugins", b && *b ? b : "build");
	return buf;
}

/* The account's unb as the bot's config holds it: the host reads it through
 * own_user_id_ref (a login may set it while the account runs). */
static char *UNB = "unb1";

/* A host over the store ST (opened when NULL) with these config sections. */
static host *mk(const char *sections)
{
	host_config cfg = {
		.account_id = "acct1", .own_user_id = "unb0", .own_user_id_ref = &UNB, .rules_path = "/tmp/rules.txt", .worker_threads = 2,
	};
	char err[256];

	if (!ST && !(ST = store_open(":memory:", err, sizeof err))) {
		diag("store_open");
		return NULL;
	}
	fclose(fopen(free_log, "w"));
	cJSON_Delete(SECTIONS);
	SECTIONS = cJSON_Parse(sections ? sections : "{}");
	cfg.plugin_sections = SECTIONS;
	cfg.db = store_db(ST);
	H = host_new(&cfg, &BE);
	nsends = nmtops = 0;
	wake = -1;
	return H;
}

/* Frees the host; with fresh_db the store too (the next mk opens a new one). */
static void rm(int fresh_db)
{
	host_free(H);
	H = NULL;
	if (!freed_once_each())
		dup_frees++;
	if (fresh_db) {
		store_close(ST);
		ST = NULL;
	}
	cJSON_Delete(SECTIONS);
	SECTIONS = NULL;
	sbuf_reset(&trace);
	sbuf_reset(&logs);
}

/* Loads one plugin file; returns host_load_file's rc, errors in err (static). */
static int load(const char *name, const char **err)
{
	static sbuf e;
	int rc;

	sbuf_reset(&e);
	rc = host_load_file(H, so(name), &e);
	*err = e.p ? e.p : "";
	return rc;
}

static sk_event ev(int type, const char *chat, const char *text)
{
	sk_event e;

	memset(&e, 0, sizeof e);
	e.size = sizeof e;
	e.type = type;
	e.chat_id = chat;
	e.sender_id = "buyer1";
	e.text = text;
	/* the other strings stay NULL: the host must turn them into "" */
	return e;
}

static void sys(const char *cmd)
{
	sk_event e = ev(SK_EV_SYSTEM, "", cmd);

	host_dispatch(H, &e);
}

static void chat(const char *text)
{
	sk_event e = ev(SK_EV_CHAT_TEXT, "c1", text);

	host_dispatch(H, &e);
}

static void image(const char *chat_id, int own, int echo)
{
	sk_event e = ev(SK_EV_CHAT_IMAGE, chat_id, "[图片]");

	e.own = own;
	e.echo = echo;
	host_dispatch(H, &e);
}

/* Moves the clock to mono + ms and runs the timers. */
static void advance(int64_t ms)
{
	clk_mono += ms;
	clk_now += ms;
	host_run_timers(H);
}

/* The first column of the first row of sql as text ("" when none). */
static const char *q1(const char *sql)
{
	static char out[256];
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(store_db(ST), sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, sizeof out, "error: %s", sqlite3_errmsg(store_db(ST)));
		return out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

#define SECTIONS_OK \
	"{\"hostcheck_a\":{\"mode\":\"m1\",\"greeting\":\"hey\",\"count\":12,\"ratio\":0.5,\"enabled\":true," \
	"\"words\":[\"x\",\"y\"],\"extra\":{\"a\":[1,2]}}}"

/* ---- the tests ------------------------------------------------------------- */

/* Loading, config getters, the ABI table, dispatch order, STOP, errors, filters. */
static void test_dispatch(void)
{
	const char *err, *t;
	const char *const *names;
	char abi[64];

	mk(SECTIONS_OK);
	is_int(load("hostcheck_a", &err), 0, "hostcheck_a loads");
	is_str(err, "", "no errors");
	is_int(load("hostcheck_b", &err), 0, "hostcheck_b loads");
	t = tr();
	snprintf(abi, sizeof abi, "a.abi:1:%d:%d:1:hostcheck_a", SK_ABI_MAJOR, SK_ABI_MINOR);
	ok(strstr(t, abi), "the table: size, abi %d.%d, SK_HOST_HAS, the name", SK_ABI_MAJOR, SK_ABI_MINOR);
	ok(strstr(t, "a.cfg:mode=m1:greeting=hey:count=12:ratio=0.5:enabled=1:words=2:x:y:(null):"
		  "extra={\"a\":[1,2]}:none=(null):absent=7:str_as_int=9"),
	   "config getters: values, defaults, a list, json, wrong-type read gives the default");
	ok(strstr(t, "a.badsub:-1:-1:-1"), "invalid subscriptions are refused");
	is_int(freed("sub:nomask") + freed("sub:bothown") + freed("sub:nofn"), 3, "... and their free_ud ran");
	ok(strstr(t, "b.init"), "hostcheck_b started");
	names = host_plugins(H);
	ok(names && names[0] && names[1] && !names[2] && !strcmp(names[0], "hostcheck_a") &&
	   !strcmp(names[1], "hostcheck_b"), "host_plugins lists both in load order");

	chat("hi");
	is_str(tr(), "a.h0 a.h1 a.h2 b.h0", "load order first, then priority, then registration order");
	chat("stop");
	is_str(tr(), "a.h0", "SK_STOP ends the chain");
	is_int(host_get_stats(H)->stopped, 1, "stopped counted");
	chat("neg");
	is_str(tr(), "a.h0 a.h1 a.h2 b.h0", "a negative return is treated as PASS");
	is_int(host_get_stats(H)->handler_errors, 1, "and counted");
	ok(strstr(logs.p, "failed: invalid argument"), "and logged with its name");

	image("c1", 0, 0);
	is_str(tr(), "a.notown a.noecho a.img", "a buyer's image: SKIP_OWN and SKIP_ECHO pass, ONLY_OWN not");
	image("c1", 1, 0);
	is_str(tr(), "a.own a.noecho a.img", "own, not an echo");
	image("c1", 1, 1);
	is_str(tr(), "a.own a.img", "an echo of our send");
	image("c42", 0, 0);
	is_str(tr(), "a.notown a.noecho a.c42 a.img", "the chat filter");

	/* subscribing and unsubscribing during a dispatch */
	sys("sub_late");
	is_str(tr(), "a.cmd a.sub:0 a.sys2 b.sys", "a handler subscribed during a dispatch misses that event");
	sys("nop");
	is_str(tr(), "a.late a.cmd a.sys2 b.sys", "... and gets the next one, in its priority's place");
	sys("unsub sys2");
	is_str(tr(), "a.late a.cmd a.unsub:0 b.sys", "a handler removed during a dispatch is skipped at once");
	is_int(freed("sub:sys2"), 1, "its free_ud ran once the dispatch was over");
	sys("unsub sys2");
	is_str(tr(), "a.late a.cmd a.unsub:-3 b.sys", "unsubscribing twice: SK_ERR_NOTFOUND");
	sys("unsub late");
	is_str(tr(), "a.late a.cmd a.unsub:0 b.sys", "a handler removed after it ran");
	sys("nop");
	is_str(tr(), "a.cmd b.sys", "... is gone");
	is_int(freed("sub:late"), 1, "its free_ud ran once");

	/* session events, and a session event through a chat filter */
	{
		sk_event e = ev(SK_EV_SESSION, NULL, NULL);

		e.state = SK_STATE_CONNECTED;
		e.prev_state = SK_STATE_CONNECTING;
		e.reason = "up";
		host_dispatch(H, &e);
		is_str(tr(), "b.session:1:2:up", "a session event, NULL strings made \"\"");
	}
	rm(1);
}

/* sk_publish: to the others only, after the dispatch, topic filter, bounded chains. */
static void test_publish(void)
{
	const char *err, *t;

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	load("hostcheck_b", &err);
	tr();
	sys("publish news {\"k\":1}");
	is_str(tr(), "a.cmd a.publish:0 a.sys2 b.sys b.pub:news:{\"k\":1}:hostcheck_a",
	       "published to the other plugin, after the dispatch, not to the publisher");
	sys("publish only []");
	is_str(tr(), "a.cmd a.publish:0 a.sys2 b.sys b.pub:only:[]:hostcheck_a b.only", "the topic filter");
	sys("publish bad {x");
	is_str(tr(), "a.cmd a.publish:-1 a.sys2 b.sys", "invalid JSON is refused");
	sys("publish bad {}x");
	is_str(tr(), "a.cmd a.publish:-1 a.sys2 b.sys", "trailing garbage too");
	sys("b_publish hello");
	is_str(tr(), "a.cmd a.sys2 b.sys b.publish:0 a.pub:hello:{}:hostcheck_b", "the other way round");
	sys("publish ping {}");
	t = tr();
	is_int(count(t, "b.pub:ping"), 4, "a ping-pong chain ...");
	is_int(count(t, "a.pub:pong"), 4, "... between two plugins ...");
	ok(strstr(t, "a.pingrc:-5"), "... ends with SK_ERR_FULL at 8 levels");
	rm(1);
}

/* Timers: one-shot, repeating, cancel, cancel itself or another in the callback. */
static void test_timers(void)
{
	const char *err;
	int64_t t0;

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	tr();
	t0 = clk_mono;
	sys("timer once 100 0");
	is_str(tr(), "a.cmd a.timer_add:0 a.sys2", "a one-shot timer");
	is_int(wake, t0 + 100, "wake_at asked for its time");
	advance(99);
	is_str(tr(), "", "not yet at 99 ms");
	advance(1);
	is_str(tr(), "a.fire:once:1", "fires at 100 ms");
	is_int(freed("timer:once"), 1, "then its free_ud runs");
	advance(1000);
	is_str(tr(), "", "a one-shot fires once");

	sys("timer rep 50 30");
	tr();
	advance(50);
	advance(30);
	advance(30);
	is_str(tr(), "a.fire:rep:1 a.fire:rep:2 a.fire:rep:3", "a repeating timer: 50, then every 30");
	is_int(wake, clk_mono + 30, "the next wake is a period away");
	sys("cancel rep");
	is_str(tr(), "a.cmd a.cancel:0 a.sys2", "cancelled");
	is_int(freed("timer:rep"), 1, "cancel calls free_ud");
	advance(100);
	is_str(tr(), "", "and it fires no more");
	sys("cancel rep");
	is_str(tr(), "a.cmd a.cancel:-3 a.sys2", "cancelling again: SK_ERR_NOTFOUND");

	sys("timer self 10 10");
	tr();
	advance(10);
	is_str(tr(), "a.fire:self:1", "self: first run");
	advance(10);
	is_str(tr(), "a.fire:self:2 a.selfcancel:0", "cancels itself in its callback");
	is_int(freed("timer:self"), 1, "free_ud once, after the callback");
	advance(10);
	is_str(tr(), "", "gone");

	sys("timer killer 10 0");
	sys("timer victim 10 0");
	tr();
	advance(10);
	is_str(tr(), "a.fire:killer:1 a.kill:0 a.child:0", "a callback cancels a timer due at the same time "
	       "and adds one due now");
	is_int(freed("timer:victim"), 1, "the victim is freed");
	is_int(wake, clk_mono, "the new timer asks for a wake now");
	advance(0);
	is_str(tr(), "a.fire:child:1", "and fires on the next run, not in the same one");
	is_int(freed("timer:killer") + freed("timer:child"), 2, "both freed");
	ok(host_get_stats(H)->timers_fired >= 7, "timers_fired counted");
	rm(1);
}

/* Config validation at load time and for shopkeep check. */
static void test_config(void)
{
	const char *err;
	sbuf e = { 0 };
	char *names[] = { "hostcheck_a", "hostcheck_b", "nosuch", NULL };
	char *good[] = { "hostcheck_a", "hostcheck_b", NULL };
	cJSON *sec;

	mk("{\"hostcheck_a\":{\"mode\":1,\"bogus\":true,\"count\":1.5,\"words\":[\"a\",2],\"enabled\":\"yes\","
	   "\"ratio\":\"x\"},\"hostcheck_b\":3}");
	is_int(load("hostcheck_a", &err), -1, "a bad section: not loaded");
	ok(strstr(err, "hostcheck_a.mode: must be a string") && strstr(err, "hostcheck_a.bogus: unknown key") &&
	   strstr(err, "hostcheck_a.count: must be an integer") &&
	   strstr(err, "hostcheck_a.words: must be a list of strings") &&
	   strstr(err, "hostcheck_a.enabled: must be true or false") &&
	   strstr(err, "hostcheck_a.ratio: must be a number"), "every problem named");
	is_int(count(err, "\n"), 1, "one line for the plugin");
	is_str(tr(), "", "init never ran");
	is_int(load("hostcheck_b", &err), -1, "a section that is not an object");
	is_str(err, "hostcheck_b: the config section must be an object\n", "... says so");
	ok(host_plugins(H)[0] == NULL, "nothing loaded");
	rm(1);

	mk("{\"hostcheck_a\":{}}");
	is_int(load("hostcheck_a", &err), -1, "a required key missing");
	is_str(err, "hostcheck_a.mode: required key missing\n", "... named");
	rm(1);

	sec = cJSON_Parse("{\"hostcheck_a\":{\"mode\":true,\"zz\":1},\"hostcheck_b\":{\"x\":1}}");
	is_int(host_check_config(plugin_dir(), names, sec, &e), -1, "host_check_config finds problems");
	ok(e.p && strstr(e.p, "hostcheck_a.mode: must be a string\n") && strstr(e.p, "hostcheck_a.zz: unknown key\n") &&
	   strstr(e.p, "hostcheck_b.x: unknown key\n") && strstr(e.p, "nosuch"), "one line each");
	is_int(count(e.p, "\n"), 4, "four lines");
	cJSON_Delete(sec);
	sbuf_reset(&e);
	sec = cJSON_Parse(SECTIONS_OK);
	is_int(host_check_config(plugin_dir(), good, sec, &e), 0, "a good config passes");
	is_int((int)e.len, 0, "without a line");
	cJSON_Delete(sec);
	sbuf_free(&e);
}

/* Plugin migrations: versioned, run once, prefix enforced. */
static void test_migrations(void)
{
	const char *err;

	mk(SECTIONS_OK);
	is_int(load("hostcheck_a", &err), 0, "loads with its migrations");
	is_str(q1("SELECT version FROM plugin_schema WHERE plugin = 'hostcheck_a'"), "2", "schema version 2");
	is_str(q1("SELECT count(*) FROM sqlite_master WHERE name = 'hostcheck_a_items_name'"), "1", "step 2 ran");
	rm(0);
	mk(SECTIONS_OK);
	is_int(load("hostcheck_a", &err), 0, "loads again on the same database");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'migrated'"), "1",
	       "its steps did not run again");
	rm(1);

	/* a database at version 1: only step 2 runs */
	mk(SECTIONS_OK);
	sqlite3_exec(store_db(ST), "CREATE TABLE hostcheck_a_items(id INTEGER PRIMARY KEY, name TEXT, n INTEGER);"
		     "INSERT INTO plugin_schema VALUES('hostcheck_a', 1)", NULL, NULL, NULL);
	is_int(load("hostcheck_a", &err), 0, "a plugin at version 1 loads");
	is_str(q1("SELECT version FROM plugin_schema WHERE plugin = 'hostcheck_a'"), "2", "now at version 2");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items"), "0", "step 1 did not run");
	rm(1);

	mk(SECTIONS_OK);
	sqlite3_exec(store_db(ST), "INSERT INTO plugin_schema VALUES('hostcheck_a', 5)", NULL, NULL, NULL);
	is_int(load("hostcheck_a", &err), -1, "a database newer than the plugin");
	ok(strstr(err, "newer than its 2 migrations"), "is refused");
	rm(1);

	mk(NULL);
	is_int(load("hostcheck_badmig", &err), -1, "a table without the prefix");
	ok(strstr(err, "tables of plugin hostcheck_badmig must be named hostcheck_badmig_... "
		  "(migration 2 creates table other_things)"), "is refused");
	is_str(q1("SELECT count(*) FROM sqlite_master WHERE name = 'other_things'"), "0", "the step rolled back");
	is_str(q1("SELECT version FROM plugin_schema WHERE plugin = 'hostcheck_badmig'"), "1", "step 1 stays");
	is_int(load("hostcheck_badidx", &err), -1, "an index on a core table");
	ok(strstr(err, "creates index hostcheck_badidx_i on table kv"), "is refused");
	is_str(q1("SELECT count(*) FROM sqlite_master WHERE name LIKE 'hostcheck_badidx%'"), "0", "rolled back");
	is_int(load("hostcheck_baddrop", &err), -1, "dropping a core table");
	ok(strstr(err, "changes or drops table kv"), "is refused");
	is_str(q1("SELECT count(*) FROM kv"), "0", "kv is still there");
	is_str(tr(), "", "no init ran");
	rm(1);
}

/* db_exec, statements, rows, errors, transactions. */
static void test_db(void)
{
	const char *err, *t;

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	tr();
	sys("dbi apple 3");
	is_str(tr(), "a.cmd a.dbi:0:1:2 a.sys2", "an insert with bound parameters: changes 1, rowid 2");
	/* a core insert whose rowid happens to be the next one of the plugin's table */
	sqlite3_exec(store_db(ST), "INSERT INTO kv(rowid, k, v, updated) VALUES(3, 'rowid-probe', 'x', 0)",
		     NULL, NULL, NULL);
	sys("dbi pear 4");
	is_str(tr(), "a.cmd a.dbi:0:1:3 a.sys2", "last_rowid is the plugin's insert even when it equals the previous one");
	sqlite3_exec(store_db(ST), "DELETE FROM kv WHERE k = 'rowid-probe'", NULL, NULL, NULL);
	sys("dbs");
	is_str(tr(), "a.cmd a.row:1:migrated:0:131024:2.5:2:2 a.row:2:apple:3:131024:2.5:2:2 "
	       "a.row:3:pear:4:131024:2.5:2:2 a.dbs:0 a.sys2", "rows with typed columns");
	sys("dbs_first");
	is_str(tr(), "a.cmd a.row:1:migrated:0:131024:2.5:2:2 a.dbs:0 a.sys2", "a row callback stops the rows");
	sys("db_bad");
	is_str(tr(), "a.cmd a.db:-6 a.sys2", "an SQL error is SK_ERR_DB");
	ok(strstr(logs.p, "no such table: nowhere"), "logged with SQLite's message");
	sys("db_two");
	is_str(tr(), "a.cmd a.db:-1 a.sys2", "two statements in one call are refused");
	sys("db_nested");
	is_str(tr(), "a.cmd a.nested:0:3:9 a.sys2", "the same statement run again from its own row callback");

	sys("txn_commit kiwi");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "begin, insert, commit");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'kiwi'"), "1", "committed");
	sys("txn_rollback plum");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "begin, insert, rollback");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'plum'"), "0", "rolled back");
	sys("txn_open fig");
	is_str(tr(), "a.cmd a.txn:0:0 a.sys2", "a handler returns with its transaction open");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'fig'"), "0", "the host rolled it back");
	ok(strstr(logs.p, "returned with a transaction open: rolled back"), "and said so");
	ok(sqlite3_get_autocommit(store_db(ST)), "the connection is out of the transaction");
	sys("txn_send");
	is_str(tr(), "a.cmd a.txnsend:0:-4:0 a.sys2", "no send while a transaction is open: SK_ERR_STATE");
	sys("txn_twice");
	is_str(tr(), "a.cmd a.txn:0:-4:0:-4 a.sys2", "begin twice, commit without one: SK_ERR_STATE");
	sys("txn_raw lime c");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "BEGIN and COMMIT as SQL through db_exec");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'lime'"), "1", "committed");
	sys("txn_raw sloe r");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "BEGIN and ROLLBACK as SQL");
	is_str(q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'sloe'"), "0", "rolled back");

	/* inside the core's batch (the session's group commit) a plugin's
	 * transaction is a savepoint: its rollback and the host's leave the
	 * batch's other writes alone, and nothing of it can end the batch */
	is_int(store_batch_begin(ST), 0, "batch: opened");
	store_kv_set(ST, "batch-core", "1");
	sys("txn_commit date");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "batch: begin, insert, commit (a savepoint)");
	sys("txn_rollback yuzu");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "batch: begin, insert, rollback");
	sys("txn_open pomelo");
	is_str(tr(), "a.cmd a.txn:0:0 a.sys2", "batch: a handler returns with its transaction open");
	sys("txn_raw quince r");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "batch: ROLLBACK as SQL rolls back the plugin's part only");
	sys("txn_raw medlar c");
	is_str(tr(), "a.cmd a.txn:0:0:0 a.sys2", "batch: COMMIT as SQL releases the plugin's part only");
	sys("txn_send");
	is_str(tr(), "a.cmd a.txnsend:0:-4:0 a.sys2", "batch: no send while the plugin's transaction is open");
	sys("txn_twice");
	is_str(tr(), "a.cmd a.txn:0:-4:0:-4 a.sys2", "batch: begin twice, commit without one: SK_ERR_STATE");
	ok(store_batch_open(ST) && !sqlite3_get_autocommit(store_db(ST)), "batch: still open after all of that");
	is_int(store_batch_commit(ST), 0, "batch: commits");
	ok(sqlite3_get_autocommit(store_db(ST)), "batch: the connection is out of it");
	is_str(q1("SELECT group_concat(name) FROM (SELECT name FROM hostcheck_a_items WHERE name IN "
		  "('date', 'yuzu', 'pomelo', 'quince', 'medlar') ORDER BY name)"), "date,medlar",
	       "batch: the committed parts are there, the rolled back ones not");
	is_str(q1("SELECT v FROM kv WHERE k = 'batch-core'"), "1", "batch: and the core's write with them");
	rm(0);
	t = q1("SELECT count(*) FROM hostcheck_a_items WHERE name = 'fini'");
	is_str(t, "0", "a transaction left open by fini is rolled back");
	store_close(ST);
	ST = NULL;
}

/* The worker queue, and the loop-thread check. */
static void test_work(void)
{
	const char *err, *t;
	int i;

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	tr();
	sys("work w1");
	is_str(tr(), "a.cmd a.work:0 a.sys2", "work queued");
	host_work_drain(H);
	is_str(tr(), "a.done:w1:42:0", "done ran on the loop after the work");
	is_int(freed("work:w1"), 1, "then free_ud");
	sys("work hostcall");
	host_work_drain(H);
	t = tr();
	ok(strstr(t, "a.done:hostcall:42:-4"), "a host call from a worker thread is refused with SK_ERR_STATE");
	sys("work w2");
	tr();
	for (i = 0; i < 400 && !trace.len; i++) {
		usleep(5000);
		host_work_poll(H);
	}
	is_str(tr(), "a.done:w2:42:0", "host_work_poll runs a finished completion");
	ok(host_get_stats(H)->work_done == 3, "work_done counted");
	rm(1);
}

/* Sends: callbacks, SK_EV_SEND_RESULT, status, failures. */
static void test_sends(void)
{
	const char *err;

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	load("hostcheck_b", &err);
	tr();
	sys("send c1 hello");
	is_str(tr(), "a.cmd a.send:0:u-1 a.sys2 b.sys", "a send returns its uuid");
	ok(nsends == 1 && !strcmp(sends[0].plugin, "hostcheck_a") && !strcmp(sends[0].tag, "tag1") &&
	   !strcmp(sends[0].chat, "c1") && !strcmp(sends[0].buyer, "buyer1") && !strcmp(sends[0].body, "hello") &&
	   !sends[0].image, "the backend got plugin, tag, chat, buyer and text");
	sends[0].state = 1;
	snprintf(sends[0].detail, sizeof sends[0].detail, "mid-9");
	host_send_result(H, "u-1", 1, "mid-9", "hostcheck_a", "tag1");
	is_str(tr(), "a.sent:u-1:1:mid-9:send:hello", "the result goes to the send's callback");
	is_int(freed("send:hello"), 1, "then its free_ud");
	sys("status u-1");
	is_str(tr(), "a.cmd a.status:0:1:mid-9 a.sys2 b.sys", "send_status with a detail to sk_free");
	sys("status u-77");
	is_str(tr(), "a.cmd a.status:-3:-1:(null) a.sys2 b.sys", "an unknown uuid");

	host_send_result(H, "old-7", 0, "blocked", "hostcheck_a", "tag7");
	is_str(tr(), "a.sr:old-7:tag7:0::blocked", "a send of an earlier run: SK_EV_SEND_RESULT to its plugin only");
	host_send_result(H, "old-8", 1, "mid-8", "nobody", "");
	is_str(tr(), "", "... and to nobody when its plugin is not loaded");

	sys("sendnofn c1 quiet");
	tr();
	host_send_result(H, "u-2", 1, "mid-10", "hostcheck_a", "");
	is_str(tr(), "", "a send without a callback");
	is_int(freed("sendnofn:quiet"), 1, "still gets its free_ud");

	sys("image c2 http://x/y.png");
	is_str(tr(), "a.cmd a.send:0:u-3 a.sys2 b.sys", "an image");
	ok(sends[2].image && sends[2].w == 100 && sends[2].h == 200 && !strcmp(sends[2].body, "http://x/y.png") &&
	   !strcmp(sends[2].tag, ""), "with its size, and tag \"\" for NULL");
	host_send_result(H, "u-3", 0, "too big", "hostcheck_a", "");
	is_str(tr(), "a.sent:u-3:0:too big:image:http://x/y.png", "refused");

	sys("send_bad");
	is_str(tr(), "a.cmd a.send:-1: a.sys2 b.sys", "an empty chat id is refused");
	is_int(freed("send:bad"), 1, "and free_ud ran");
	send_fail_rc = SK_ERR_FULL;
	sys("send c1 full");
	send_fail_rc = 0;
	is_str(tr(), "a.cmd a.send:-5: a.sys2 b.sys", "the backend's error comes back");
	is_int(freed("send:full"), 1, "and free_ud ran");
	sync_refuse = 1;
	sys("send c1 sync");
	sync_refuse = 0;
	is_str(tr(), "a.cmd a.sent:u-4:0:closed:send:sync a.send:0:u-4 a.sys2 b.sys",
	       "a result from inside the backend's send reaches the callback");
	is_int(freed("send:sync"), 1, "once");
	ok(host_get_stats(H)->sends == 4, "sends counted");
	rm(1);
}

/* mtop, session, clock, metrics. */
static void test_misc(void)
{
	const char *err;
	char want[256];

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	tr();
	sys("mtop m1 mtop.idle.x {\"a\":1}");
	is_str(tr(), "a.cmd a.mtop:0 a.sys2", "an mtop call");
	ok(nmtops == 1 && !strcmp(mtops[0].api, "mtop.idle.x") && !strcmp(mtops[0].data, "{\"a\":1}"),
	   "reaches the backend");
	mtops[0].done(mtops[0].ctx, SK_MTOP_OK, "SUCCESS::ok", "{\"r\":1}");
	is_str(tr(), "a.mtopcb:m1:0:SUCCESS::ok:{\"r\":1}", "its answer reaches the plugin");
	is_int(freed("mtop:m1"), 1, "then free_ud");
	sys("mtop m2 mtop.idle.x {x");
	is_str(tr(), "a.cmd a.mtop:-1 a.sys2", "data that is not JSON");
	is_int(freed("mtop:m2"), 1, "free_ud on failure");
	mtop_sync_transport = 1;
	sys("mtop m3 mtop.idle.x {}");
	mtop_sync_transport = 0;
	is_str(tr(), "a.cmd a.mtop:-9 a.sys2", "a call that cannot start: SK_ERR_IO, no callback");
	is_int(freed("mtop:m3"), 1, "free_ud once");
	ok(!strcmp(mtops[0].version, "1.0") && mtops[0].flags == 0, "sk_mtop: version 1.0, no flags");
	/* sk_mtop_ex (ABI 1.5): the version and the seller-console flag reach the backend */
	nmtops = 0;
	sys("mtopx x1 mtop.taobao.idle.rate.create 4.0 1 {\"tradeId\":\"1\"}");
	is_str(tr(), "a.cmd a.mtopx:0 a.sys2", "sk_mtop_ex: started");
	ok(nmtops == 1 && !strcmp(mtops[0].version, "4.0") && mtops[0].flags == SK_MTOP_SELLER &&
	   !strcmp(mtops[0].api, "mtop.taobao.idle.rate.create"), "sk_mtop_ex: version 4.0 and SK_MTOP_SELLER passed on");
	mtops[0].done(mtops[0].ctx, SK_MTOP_OK, "SUCCESS::ok", "{}");
	is_str(tr(), "a.mtopcb:x1:0:SUCCESS::ok:{}", "sk_mtop_ex: its answer reaches the plugin");
	is_int(freed("mtop:x1"), 1, "sk_mtop_ex: then free_ud");
	sys("mtopx x2 mtop.a - 0 {}");
	ok(nmtops == 2 && !strcmp(mtops[1].version, "1.0"), "sk_mtop_ex: a NULL version is 1.0");
	mtops[1].done(mtops[1].ctx, SK_MTOP_OK, "SUCCESS::ok", "{}");
	tr();
	sys("mtopx x3 mtop.a 1.0/2.0 0 {}");
	is_str(tr(), "a.cmd a.mtopx:-1 a.sys2", "sk_mtop_ex: a version with a slash: SK_ERR_INVAL");
	is_int(freed("mtop:x3"), 1, "sk_mtop_ex: free_ud on the refusal");
	sys("mtopx x4 mtop.a 123456789 0 {}");
	is_str(tr(), "a.cmd a.mtopx:-1 a.sys2", "sk_mtop_ex: a version over 8 bytes: SK_ERR_INVAL");
	sys("mtopx x5 mtop.a 1.0 2 {}");
	is_str(tr(), "a.cmd a.mtopx:-1 a.sys2", "sk_mtop_ex: an unknown flag: SK_ERR_INVAL");
	ok(nmtops == 2, "sk_mtop_ex: the refused calls never reached the backend");
	nmtops = 0;

	sys("info");
	snprintf(want, sizeof want, "a.cmd a.info:2:%lld:%lld:acct1:unb1:/tmp/rules.txt a.sys2", (long long)clk_now,
		 (long long)clk_mono);
	is_str(tr(), want, "session state, clocks, account, own user id, rules path");
	{
		/* an account that started with no cookie learns its unb at its first login */
		UNB = NULL;
		sys("info");
		snprintf(want, sizeof want, "a.cmd a.info:2:%lld:%lld:acct1::/tmp/rules.txt a.sys2",
			 (long long)clk_now, (long long)clk_mono);
		is_str(tr(), want, "own user id through the config: none yet");
		UNB = "unb9";
		sys("info");
		snprintf(want, sizeof want, "a.cmd a.info:2:%lld:%lld:acct1:unb9:/tmp/rules.txt a.sys2",
			 (long long)clk_now, (long long)clk_mono);
		is_str(tr(), want, "own user id through the config: the login's unb, at once");
		UNB = "unb1";
	}
	sys("metrics");
	is_str(tr(), "a.cmd a.metrics:{\"m\":1} a.sys2", "metrics json, freed with sk_free");
	sys("json extra");
	is_str(tr(), "a.cmd a.json:{\"a\":[1,2]}:1 a.sys2", "config_json is cached");
	rm(1);
}

/* Unload: fini, every registration undone, every free_ud once; a failed init. */
static void test_unload(void)
{
	const char *err, *t;
	sbuf e = { 0 };
	char *order[] = { "hostcheck_b", "hostcheck_a", "nosuch", NULL };

	mk(SECTIONS_OK);
	load("hostcheck_a", &err);
	load("hostcheck_b", &err);
	tr();
	sys("leave");
	is_str(tr(), "a.cmd a.left:0:0:0:0 a.sys2 b.sys", "one of everything left pending");
	sys("work slow1");
	tr();
	host_unload_all(H);
	t = tr();
	ok(strstr(t, "a.done:slow1:42:0"), "unload lets queued work finish first");
	ok(strstr(t, "b.fini a.fini:0:0:0"), "fini in reverse load order");
	ok(!strstr(t, "a.done:slowfini"), "work queued by fini is not completed");
	is_int(freed("work:slowfini"), 1, "but freed");
	is_int(freed("sub:left") + freed("timer:left") + freed("send:left") + freed("mtop:left"), 4,
	       "the pending handler, timer, send and mtop call freed");
	is_int(freed("sub:h0") + freed("sub:h1") + freed("sub:h2") + freed("sub:cmd") + freed("sub:pub") +
	       freed("sub:sr"), 6, "the handlers of init freed");
	ok(strstr(logs.p, "fini returned with a transaction open: rolled back"), "fini's transaction rolled back");
	ok(host_plugins(H)[0] == NULL, "nothing loaded");
	mtops[0].done(mtops[0].ctx, SK_MTOP_OK, "SUCCESS::late", "{}");
	is_str(tr(), "", "an mtop answer after unload calls nothing");
	host_send_result(H, "u-1", 1, "late", "hostcheck_a", "");
	is_str(tr(), "", "nor does a send result");
	rm(1);

	mk("{\"hostcheck_a\":{\"mode\":\"x\",\"fail_init\":true}}");
	is_int(load("hostcheck_a", &err), -1, "an init that registers and fails");
	is_str(err, "plugin hostcheck_a: init failed: invalid argument (-1)\n", "reported");
	is_int(freed("sub:fail") + freed("timer:fail") + freed("send:fail") + freed("mtop:fail") +
	       freed("work:slowfail"), 5, "everything it registered is freed (running work waited for)");
	ok(!strstr(tr(), "a.done"), "no completion ran");
	mtops[0].done(mtops[0].ctx, SK_MTOP_OK, "", "");
	is_str(tr(), "", "its mtop answer calls nothing");
	is_int(load("init_fails", &err), -1, "the loader tests' init_fails plugin");
	is_int(freed("sub") + freed("timer"), 2, "both its free_ud ran");
	rm(1);

	/* load order B, A through host_load; a missing plugin; a duplicate */
	mk(SECTIONS_OK);
	is_int(host_load(H, plugin_dir(), order, &e), 2, "host_load starts the two that exist");
	ok(e.p && strstr(e.p, "nosuch") && count(e.p, "\n") == 1, "one line for the missing one");
	tr();
	chat("hi");
	is_str(tr(), "b.h0 a.h0 a.h1 a.h2", "dispatch follows that load order");
	is_int(load("hostcheck_a", &err), -1, "a second hostcheck_a");
	ok(strstr(err, "loaded already"), "is refused");
	sbuf_free(&e);
	rm(1);
	is_int(dup_frees, 0, "over the whole run, no free_ud was called twice");
}

/* host_control_each's callback: appends "<name>/<plugin>/<help> " to the sbuf ud. */
static void each_ctl(const char *name, const char *plugin, const char *help, void *ud)
{
	sbuf_addf(ud, "%s/%s/%s ", name, plugin, help);
}

/* Runs a control command; returns its rc, with "<result>|<error>" (NULL
 * shown as "-") in out (static). */
static int ctl(const char *cmd, const char *data, const char **out)
{
	static char buf[512];
	char *res = NULL, *err = NULL;
	int rc = host_control(H, cmd, data, &res, &err);

	snprintf(buf, sizeof buf, "%s|%s", res ? res : "-", err ? err : "-");
	free(res);
	free(err);
	*out = buf;
	return rc;
}

#define CTL_LONG "ctl_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* Control commands (ABI 1.2): registration rules, answers and errors,
 * listing, cleanup; rules checks. */
static void test_control(void)
{
	static const char *const refused[] = { "Bad", "9lives", "", "a-b", "with space", CTL_LONG "x", "status",
		"send", "list_chats", "reload_rules", "setup_token", "help", "(null)", NULL };
	static const char *const good[] = { "ctl_echo", "ctl_none", "ctl_null", "ctl_bad_json", "ctl_bad_then_null",
		"ctl_fail", "ctl_fail_msg", "ctl_result_fail", "ctl_error_ok", "ctl_positive", CTL_LONG, NULL };
	const char *err, *t, *out;
	char want[128];
	sbuf l = { 0 };
	int n;

	mk(NULL);
	is_int(load("ctl_probe", &err), 0, "ctl: ctl_probe loads");
	t = tr();
	for (n = 0; refused[n]; n++) {
		snprintf(want, sizeof want, "ctl.add:%s:%d", refused[n], SK_ERR_INVAL);
		if (!ok(strstr(t, want) != NULL, "ctl: the name \"%s\" is refused with SK_ERR_INVAL", refused[n]))
			diag("trace: %s", t);
		snprintf(want, sizeof want, "ctl:bad:%s", refused[n]);
		is_int(freed(want), 1, "ctl: and its free_ud ran once");
	}
	ok(strstr(t, "ctl.nofn:-1") != NULL && freed("ctl:nofn") == 1, "ctl: no function: refused, free_ud ran");
	for (n = 0; good[n]; n++) {
		snprintf(want, sizeof want, "ctl.add:%s:0", good[n]);
		ok(strstr(t, want) != NULL, "ctl: %s registered", good[n]);
	}
	ok(strstr(t, "ctl.taken:-1") != NULL && freed("ctl:taken") == 1, "ctl: a taken name: refused, free_ud ran");
	ok(strstr(t, "ctl.call:-4:none") != NULL, "ctl: sk_control_call in a running process: SK_ERR_STATE, no answer");
	is_int(freed("ctl:ctl_echo"), 0, "ctl: the registered ones are kept");
	snprintf(want, sizeof want, "ctl.outside:%d:%d", SK_ERR_STATE, SK_ERR_STATE);
	ok(strstr(t, want) != NULL, "ctl: sk_control_result and sk_control_error outside a command: SK_ERR_STATE");

	is_int(ctl("ctl_echo", "{\"a\":[1,2]}", &out), SK_OK, "ctl: a command runs");
	is_str(out, "{\"a\":[1,2]}|-", "ctl: its result, no error");
	is_str(tr(), "ctl.run:ctl_echo:ctl:ctl_echo", "ctl: it got its name and its ud");
	ctl("ctl_echo", NULL, &out);
	is_str(out, "{}|-", "ctl: no data is {}");
	ctl("ctl_echo", "", &out);
	is_str(out, "{}|-", "ctl: empty data is {}");
	is_int(ctl("nosuch", "{}", &out), SK_ERR_NOTFOUND, "ctl: an unknown command: SK_ERR_NOTFOUND");
	is_str(out, "-|unknown command", "ctl: with its error");
	is_int(ctl("status", "{}", &out), SK_ERR_NOTFOUND, "ctl: the core's own are not the host's to run");
	tr();
	is_int(ctl("ctl_none", "{}", &out), SK_OK, "ctl: no answer");
	is_str(out, "-|-", "ctl: is null data");
	is_int(ctl("ctl_null", "{}", &out), SK_OK, "ctl: sk_control_result(NULL)");
	is_str(out, "-|-", "ctl: is null data too");
	is_int(ctl("ctl_bad_json", "{}", &out), SK_ERR_INVAL, "ctl: a result that is not JSON fails the command");
	is_str(out, "-|the plugin's result was not JSON", "ctl: with a readable error");
	ok(strstr(tr(), "ctl.result:-1") != NULL, "ctl: the plugin got SK_ERR_INVAL from sk_control_result");
	ok(strstr(logs.p, "control ctl_bad_json: its result was not JSON") != NULL, "ctl: and it is logged");
	/* sk_control_result(NULL) after a rejected result: the last answer counts
	 * (it used to keep the rejected mark and fail the command). */
	is_int(ctl("ctl_bad_then_null", "{}", &out), SK_OK, "ctl: a bad result replaced by null: the last answer counts");
	is_str(out, "-|-", "ctl: null data, no error");
	is_int(ctl("ctl_fail", "{}", &out), SK_ERR_DB, "ctl: a negative return");
	is_str(out, "-|database error", "ctl: without sk_control_error: the sk_strerror text");
	is_int(ctl("ctl_fail_msg", "{}", &out), SK_ERR_NOTFOUND, "ctl: SK_ERR_NOTFOUND from the plugin");
	is_str(out, "-|no such thing here", "ctl: with its own text (not \"unknown command\")");
	is_int(ctl("ctl_result_fail", "{}", &out), SK_ERR_STATE, "ctl: a result, then a failure");
	is_str(out, "-|not possible now", "ctl: the result is dropped");
	is_int(ctl("ctl_error_ok", "{}", &out), SK_OK, "ctl: an error text, then SK_OK");
	is_str(out, "-|-", "ctl: the text is dropped");
	is_int(ctl("ctl_positive", "{}", &out), SK_OK, "ctl: a positive return is taken as SK_OK");
	ok(strstr(logs.p, "control ctl_positive returned 1, not an sk_rc") != NULL, "ctl: and logged");
	is_int(ctl(CTL_LONG, "{}", &out), SK_OK, "ctl: a 40-byte name works");
	tr();

	host_control_each(H, each_ctl, &l);
	is_str(l.p, "ctl_echo/ctl_probe/echo ctl_none/ctl_probe/none ctl_null/ctl_probe/null "
	       "ctl_bad_json/ctl_probe/bad_json ctl_bad_then_null/ctl_probe/bad_then_null ctl_fail/ctl_probe/fail "
	       "ctl_fail_msg/ctl_probe/fail_msg ctl_result_fail/ctl_probe/result_fail ctl_error_ok/ctl_probe/error_ok "
	       "ctl_positive/ctl_probe/positive " CTL_LONG "/ctl_probe/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ",
	       "ctl: host_control_each lists every command in registration order, with plugin and help");
	sbuf_reset(&l);

	is_int(host_rules_check(H, "{\"x\":1}", 7, &l), 0, "rules: a document the plugin accepts");
	is_str(l.p ? l.p : "", "", "rules: no lines");
	is_int(host_rules_check(H, "{\"ctl_bad\":1}", 13, &l), -1, "rules: one it refuses");
	is_str(l.p, "ctl_probe: ctl_bad: first problem\nctl_probe: ctl_bad: second problem\n",
	       "rules: one line per problem, each prefixed with the plugin's name");
	sbuf_reset(&l);
	is_int(host_rules_check(H, "{\"ctl_silent\":1}", 16, &l), -1, "rules: refused without a reason");
	is_str(l.p, "ctl_probe: refused (no reason given)\n", "rules: still a line");
	sbuf_reset(&l);
	is_int(host_rules_check(H, "{\"x\":1} ctl_bad", 7, &l), 0, "rules: only len bytes are the document");
	sbuf_reset(&l);

	host_unload_all(H);
	for (n = 0; good[n]; n++) {
		snprintf(want, sizeof want, "ctl:%s", good[n]);
		is_int(freed(want), 1, "ctl: unload: %s's free_ud ran once", good[n]);
	}
	is_int(ctl("ctl_echo", "{}", &out), SK_ERR_NOTFOUND, "ctl: after unload the command is gone");
	host_control_each(H, each_ctl, &l);
	is_str(l.p ? l.p : "", "", "ctl: and not listed");
	is_int(host_rules_check(H, "{\"ctl_bad\":1}", 13, &l), 0, "rules: nor is its rules_check asked");
	sbuf_free(&l);
	rm(1);

	mk("{\"ctl_probe\":{\"fail_init\":true}}");
	is_int(load("ctl_probe", &err), -1, "ctl: an init that registers commands and fails");
	for (n = 0, t = ""; good[n]; n++) {
		snprintf(want, sizeof want, "ctl:%s", good[n]);
		if (freed(want) != 1)
			t = good[n];
	}
	is_str(t, "", "ctl: every command's free_ud ran once");
	is_int(ctl("ctl_echo", "{}", &out), SK_ERR_NOTFOUND, "ctl: and none of them is there");
	rm(1);
}

int main(void)
{
	snprintf(free_log, sizeof free_log, "/tmp/sk_test_host_%d.free", (int)getpid());
	unlink(free_log);
	setenv("SK_TEST_FREE_LOG", free_log, 1);
	if (access(so("hostcheck_a"), R_OK)) {
		ok(0, "test plugins built (%s)", so("hostcheck_a"));
		return tap_done();
	}
	test_dispatch();
	test_publish();
	test_timers();
	test_config();
	test_migrations();
	test_db();
	test_work();
	test_sends();
	test_misc();
	test_unload();
	test_control();
	sbuf_free(&trace);
	sbuf_free(&logs);
	unlink(free_log);
	return tap_done();
}
