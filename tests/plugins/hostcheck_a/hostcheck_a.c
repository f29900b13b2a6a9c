/* SPDX-License-Identifier: MIT */
/*
 * tests/plugins/hostcheck_a/hostcheck_a.c - drives every host service for
 * tests/unit/test_host.c. What it sees and what each call returned it logs as
 * "T:<token>" lines, which the test's backend collects into a trace.
 *
 * Every registration gets a malloc'd ud whose first bytes are its label
 * ("sub:h0", "timer:once", "send:hello"...); its free_ud appends
 * "free <label>" to the file named by $SK_TEST_FREE_LOG, so the test can
 * count the calls (the plugin is built with -fvisibility=hidden: nothing in
 * here is reachable from outside).
 *
 * SK_EV_SYSTEM texts are commands, see hostcheck_a_cmd.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"

typedef struct {
	char label[48];           /* first: the free log prints it */
	sk_plugin *p;
	uint64_t id;
	int n;                    /* times fired */
	int result, host_rc;      /* work */
	int rows;
} hostcheck_a_ud;

/* Registration ids by label, for "unsub" and "cancel". */
static struct {
	char label[48];
	uint64_t id;
} hostcheck_a_ids[64];
static int hostcheck_a_nids;

static const sk_config_key hostcheck_a_keys[] = {
	{ .key = "mode", .type = SK_CFG_STR, .required = 1, .help = "anything" },
	{ .key = "greeting", .type = SK_CFG_STR },
	{ .key = "count", .type = SK_CFG_INT },
	{ .key = "ratio", .type = SK_CFG_NUM },
	{ .key = "enabled", .type = SK_CFG_BOOL },
	{ .key = "words", .type = SK_CFG_STR_LIST },
	{ .key = "extra", .type = SK_CFG_JSON },
	{ .key = "fail_init", .type = SK_CFG_BOOL, .help = "register everything, then refuse to start" },
	{ 0 }
};

static const char *const hostcheck_a_migrations[] = {
	"CREATE TABLE hostcheck_a_items(id INTEGER PRIMARY KEY, name TEXT, n INTEGER);"
	"INSERT INTO hostcheck_a_items(name, n) VALUES('migrated', 0);",
	"CREATE INDEX hostcheck_a_items_name ON hostcheck_a_items(name);",
	NULL
};

/* Logs "T:<formatted>" for the test's trace. */
static void hostcheck_a_trace(sk_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hostcheck_a_trace(sk_plugin *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sk_log(p, SK_LOG_INFO, "T:%s", buf);
}

/* Returns s, or "(null)". */
static const char *hostcheck_a_s(const char *s)
{
	return s ? s : "(null)";
}

/* A new ud labelled with the formatted text; NULL on OOM. */
static hostcheck_a_ud *hostcheck_a_new(sk_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hostcheck_a_ud *hostcheck_a_new(sk_plugin *p, const char *fmt, ...)
{
	hostcheck_a_ud *u = calloc(1, sizeof *u);
	va_list ap;

	if (!u)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(u->label, sizeof u->label, fmt, ap);
	va_end(ap);
	u->p = p;
	return u;
}

/* The free_ud of every registration: "free <label>" to the free log. */
static void hostcheck_a_free(void *ud)
{
	const char *path = getenv("SK_TEST_FREE_LOG");
	FILE *f;

	if (path && *path && (f = fopen(path, "a"))) {
		fprintf(f, "free %s\n", ((hostcheck_a_ud *)ud)->label);
		fclose(f);
	}
	free(ud);
}

static void hostcheck_a_remember(const char *label, uint64_t id)
{
	if (hostcheck_a_nids < 64) {
		snprintf(hostcheck_a_ids[hostcheck_a_nids].label, sizeof hostcheck_a_ids[0].label, "%s", label);
		hostcheck_a_ids[hostcheck_a_nids++].id = id;
	}
}

/* The last id registered under label, 0 if none. */
static uint64_t hostcheck_a_id(const char *label)
{
	for (int i = hostcheck_a_nids - 1; i >= 0; i--)
		if (!strcmp(hostcheck_a_ids[i].label, label))
			return hostcheck_a_ids[i].id;
	return 0;
}

/* A handler that only traces "a.<label without sub:>". Returns SK_PASS. */
static int hostcheck_a_on(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)e;
	hostcheck_a_trace(p, "a.%s", ((hostcheck_a_ud *)ud)->label + 4);
	return SK_PASS;
}

/* The first chat handler: SK_STOP for "stop", an error for "neg". */
static int hostcheck_a_h0(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	hostcheck_a_trace(p, "a.h0");
	if (!strcmp(e->text, "stop"))
		return SK_STOP;
	if (!strcmp(e->text, "neg"))
		return SK_ERR_INVAL;
	return SK_PASS;
}

static int hostcheck_a_on_pub(sk_plugin *p, const sk_event *e, void *ud)
{
	int rc;

	(void)ud;
	hostcheck_a_trace(p, "a.pub:%s:%s:%s", e->topic, e->payload_json, e->from_plugin);
	if (!strcmp(e->topic, "pong") && (rc = sk_publish(p, "ping", "{}")) != SK_OK)
		hostcheck_a_trace(p, "a.pingrc:%d", rc);
	return SK_PASS;
}

static int hostcheck_a_on_result(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	hostcheck_a_trace(p, "a.sr:%s:%s:%d:%s:%s", e->send_uuid, e->send_tag, e->send_ok, e->message_id, e->reason);
	return SK_PASS;
}

static void hostcheck_a_timer(sk_plugin *p, uint64_t id, void *ud);

/* Adds a timer labelled "timer:<name>"; returns the rc. */
static int hostcheck_a_add_timer(sk_plugin *p, const char *name, uint64_t delay, uint64_t repeat)
{
	hostcheck_a_ud *u = hostcheck_a_new(p, "timer:%s", name);
	uint64_t id = 0;
	int rc = sk_timer_add(p, delay, repeat, hostcheck_a_timer, u, hostcheck_a_free, &id);

	if (rc == SK_OK)
		hostcheck_a_remember(u->label, id);
	return rc;
}

/* Traces "a.fire:<name>:<n>". "self*" timers cancel themselves on their
 * second run; "killer" cancels "victim" and adds "child" with no delay. */
static void hostcheck_a_timer(sk_plugin *p, uint64_t id, void *ud)
{
	hostcheck_a_ud *u = ud;
	const char *name = u->label + 6;

	u->n++;
	hostcheck_a_trace(p, "a.fire:%s:%d", name, u->n);
	if (!strncmp(name, "self", 4) && u->n == 2)
		hostcheck_a_trace(p, "a.selfcancel:%d", sk_timer_cancel(p, id));
	if (!strcmp(name, "killer")) {
		hostcheck_a_trace(p, "a.kill:%d", sk_timer_cancel(p, hostcheck_a_id("timer:victim")));
		hostcheck_a_trace(p, "a.child:%d", hostcheck_a_add_timer(p, "child", 0, 0));
	}
}

static void hostcheck_a_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	hostcheck_a_trace(p, "a.sent:%s:%d:%s:%s", uuid, ok, detail, ((hostcheck_a_ud *)ud)->label);
}

static void hostcheck_a_mtop_cb(sk_plugin *p, int result, const char *ret, const char *data, void *ud)
{
	hostcheck_a_trace(p, "a.mtopcb:%s:%d:%s:%s", ((hostcheck_a_ud *)ud)->label + 5, result, ret, data);
}

/* On a worker: "slow*" sleeps 100 ms, "hostcall" calls the host (which must refuse). */
static void hostcheck_a_work(void *ud)
{
	hostcheck_a_ud *u = ud;
	const char *name = u->label + 5;

	if (!strncmp(name, "slow", 4))
		usleep(100000);
	if (!strcmp(name, "hostcall"))
		u->host_rc = sk_timer_add(u->p, 1, 0, hostcheck_a_timer, NULL, NULL, NULL);
	u->result = 42;
}

static void hostcheck_a_done(sk_plugin *p, void *ud)
{
	hostcheck_a_ud *u = ud;

	hostcheck_a_trace(p, "a.done:%s:%d:%d", u->label + 5, u->result, u->host_rc);
}

/* Traces one row of the items query with the column types. Returns 0, or
 * 1 (stop) for "dbs_first". */
static int hostcheck_a_row(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	hostcheck_a_ud *u = ud;

	if (ncols != 6)
		return 1;
	hostcheck_a_trace(p, "a.row:%lld:%.*s:%lld:%d%d%d%d%d%d:%g:%zu:%d", (long long)c[0].i, (int)c[1].len, c[1].s,
			  (long long)c[2].i, c[0].type, c[1].type, c[2].type, c[3].type, c[4].type, c[5].type, c[4].d,
			  c[5].len, c[5].s ? c[5].s[1] : -1);
	return !strcmp(u->label, "first");
}

/* For "db_nested": runs the same query again from inside its row callback. */
static int hostcheck_a_count(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	(void)p, (void)ncols, (void)c;
	((hostcheck_a_ud *)ud)->rows++;
	return 0;
}

static int hostcheck_a_nested(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	hostcheck_a_ud *u = ud;
	int rc;

	(void)ncols, (void)c;
	u->n++;
	rc = sk_db_exec(p, "SELECT n FROM hostcheck_a_items", NULL, 0, hostcheck_a_count, u);
	if (rc)
		hostcheck_a_trace(p, "a.nestedrc:%d", rc);
	return 0;
}

/* Inserts (name, n); returns the rc. */
static int hostcheck_a_insert(sk_plugin *p, const char *name, long long n)
{
	sk_value v[2] = { SK_VTEXT(name), SK_VINT(n) };

	return sk_db_exec(p, "INSERT INTO hostcheck_a_items(name, n) VALUES(?1, ?2)", v, 2, NULL, NULL);
}

/* Registers one of everything and leaves it pending (for the unload test). */
static void hostcheck_a_leave(sk_plugin *p)
{
	uint64_t id;

	hostcheck_a_trace(p, "a.left:%d:%d:%d:%d",
			  sk_subscribe(p, SK_MASK(SK_EV_TYPING), NULL, 0, hostcheck_a_on,
				       hostcheck_a_new(p, "sub:left"), hostcheck_a_free, &id),
			  hostcheck_a_add_timer(p, "left", 100000, 0),
			  sk_send_text(p, "c1", "buyer1", "left", NULL, hostcheck_a_sent,
				       hostcheck_a_new(p, "send:left"), hostcheck_a_free, NULL),
			  sk_mtop(p, "mtop.left", "{}", hostcheck_a_mtop_cb, hostcheck_a_new(p, "mtop:left"),
				  hostcheck_a_free));
}

/* Runs the subscription and timer commands (publish, sub_late, unsub, timer, cancel);
 * returns 1 if w[0..n-1] was one of them, 0 if not. */
static int hostcheck_a_cmd_sub(sk_plugin *p, char *const *w, int n)
{
	char buf[256];
	hostcheck_a_ud *u;
	uint64_t id;
	int rc;

	if (!strcmp(w[0], "publish") && n == 3) {
		hostcheck_a_trace(p, "a.publish:%d", sk_publish(p, w[1], w[2]));
	} else if (!strcmp(w[0], "sub_late")) {
		u = hostcheck_a_new(p, "sub:late");
		rc = sk_subscribe(p, SK_MASK(SK_EV_SYSTEM), NULL, -100, hostcheck_a_on, u, hostcheck_a_free, &id);
		if (rc == SK_OK)
			hostcheck_a_remember("sub:late", id);
		hostcheck_a_trace(p, "a.sub:%d", rc);
	} else if (!strcmp(w[0], "unsub") && n == 2) {
		snprintf(buf, sizeof buf, "sub:%s", w[1]);
		id = hostcheck_a_id(buf);
		hostcheck_a_trace(p, "a.unsub:%d", sk_unsubscribe(p, id ? id : 999999));
	} else if (!strcmp(w[0], "timer") && n == 4) {
		hostcheck_a_trace(p, "a.timer_add:%d", hostcheck_a_add_timer(p, w[1], strtoull(w[2], NULL, 10),
									      strtoull(w[3], NULL, 10)));
	} else if (!strcmp(w[0], "cancel") && n == 2) {
		snprintf(buf, sizeof buf, "timer:%s", w[1]);
		id = hostcheck_a_id(buf);
		hostcheck_a_trace(p, "a.cancel:%d", sk_timer_cancel(p, id ? id : 999999));
	} else {
		return 0;
	}
	return 1;
}

/* Runs the send, status, mtop and work commands; returns 1 if w[0..n-1] was one of
 * them, 0 if not. */
static int hostcheck_a_cmd_send(sk_plugin *p, char *const *w, int n)
{
	char uuid[40] = "", *detail = NULL;
	int rc, st = -1;

	if (!strcmp(w[0], "send") && n == 3) {
		rc = sk_send_text(p, w[1], "buyer1", w[2], "tag1", hostcheck_a_sent,
				  hostcheck_a_new(p, "send:%s", w[2]), hostcheck_a_free, uuid);
		hostcheck_a_trace(p, "a.send:%d:%s", rc, uuid);
	} else if (!strcmp(w[0], "sendnofn") && n == 3) {
		rc = sk_send_text(p, w[1], "buyer1", w[2], NULL, NULL, hostcheck_a_new(p, "sendnofn:%s", w[2]),
				  hostcheck_a_free, uuid);
		hostcheck_a_trace(p, "a.send:%d:%s", rc, uuid);
	} else if (!strcmp(w[0], "image") && n == 3) {
		rc = sk_send_image(p, w[1], "buyer1", w[2], 100, 200, NULL, hostcheck_a_sent,
				   hostcheck_a_new(p, "image:%s", w[2]), hostcheck_a_free, uuid);
		hostcheck_a_trace(p, "a.send:%d:%s", rc, uuid);
	} else if (!strcmp(w[0], "send_bad")) {
		rc = sk_send_text(p, "", "buyer1", "x", NULL, hostcheck_a_sent, hostcheck_a_new(p, "send:bad"),
				  hostcheck_a_free, uuid);
		hostcheck_a_trace(p, "a.send:%d:%s", rc, uuid);
	} else if (!strcmp(w[0], "status") && n == 2) {
		rc = sk_send_status(p, w[1], &st, &detail);
		hostcheck_a_trace(p, "a.status:%d:%d:%s", rc, st, hostcheck_a_s(detail));
		sk_free(p, detail);
	} else if (!strcmp(w[0], "mtop") && n == 4) {
		hostcheck_a_trace(p, "a.mtop:%d", sk_mtop(p, w[2], w[3], hostcheck_a_mtop_cb,
							  hostcheck_a_new(p, "mtop:%s", w[1]), hostcheck_a_free));
	} else if (!strcmp(w[0], "mtopx") && n == 6) {
		/* mtopx NAME API VERSION FLAGS DATA ("-" for a NULL version) */
		hostcheck_a_trace(p, "a.mtopx:%d",
				  sk_mtop_ex(p, w[2], strcmp(w[3], "-") ? w[3] : NULL, (unsigned)strtoul(w[4], NULL, 10),
					     w[5], hostcheck_a_mtop_cb, hostcheck_a_new(p, "mtop:%s", w[1]),
					     hostcheck_a_free));
	} else if (!strcmp(w[0], "work") && n == 2) {
		hostcheck_a_trace(p, "a.work:%d", sk_work(p, hostcheck_a_work, hostcheck_a_done,
							  hostcheck_a_new(p, "work:%s", w[1]), hostcheck_a_free));
	} else {
		return 0;
	}
	return 1;
}

/* Runs the database and transaction commands (dbi .. txn_twice); returns 1 if
 * w[0..n-1] was one of them, 0 if not. */
static int hostcheck_a_cmd_db(sk_plugin *p, char *const *w, int n)
{
	int rc;

	if (!strcmp(w[0], "dbi") && n == 3) {
		rc = hostcheck_a_insert(p, w[1], atoll(w[2]));
		hostcheck_a_trace(p, "a.dbi:%d:%lld:%lld", rc, (long long)sk_db_changes(p),
				  (long long)sk_db_last_rowid(p));
	} else if (!strcmp(w[0], "dbs") || !strcmp(w[0], "dbs_first")) {
		hostcheck_a_ud tmp = { .label = "" };

		if (!strcmp(w[0], "dbs_first"))
			snprintf(tmp.label, sizeof tmp.label, "first");
		rc = sk_db_exec(p, "SELECT id, name, n, NULL, 2.5, x'0102' FROM hostcheck_a_items ORDER BY id", NULL, 0,
				hostcheck_a_row, &tmp);
		hostcheck_a_trace(p, "a.dbs:%d", rc);
	} else if (!strcmp(w[0], "db_bad")) {
		hostcheck_a_trace(p, "a.db:%d", sk_db_exec(p, "SELECT nope FROM nowhere", NULL, 0, NULL, NULL));
	} else if (!strcmp(w[0], "db_two")) {
		hostcheck_a_trace(p, "a.db:%d", sk_db_exec(p, "SELECT 1; SELECT 2", NULL, 0, NULL, NULL));
	} else if (!strcmp(w[0], "db_nested")) {
		hostcheck_a_ud tmp = { .label = "" };

		rc = sk_db_exec(p, "SELECT n FROM hostcheck_a_items", NULL, 0, hostcheck_a_nested, &tmp);
		hostcheck_a_trace(p, "a.nested:%d:%d:%d", rc, tmp.n, tmp.rows);
	} else if (!strcmp(w[0], "txn_commit") && n == 2) {
		int b = sk_db_begin(p), i = hostcheck_a_insert(p, w[1], 1);

		hostcheck_a_trace(p, "a.txn:%d:%d:%d", b, i, sk_db_commit(p));
	} else if (!strcmp(w[0], "txn_rollback") && n == 2) {
		int b = sk_db_begin(p), i = hostcheck_a_insert(p, w[1], 1);

		hostcheck_a_trace(p, "a.txn:%d:%d:%d", b, i, sk_db_rollback(p));
	} else if (!strcmp(w[0], "txn_open") && n == 2) {
		int b = sk_db_begin(p), i = hostcheck_a_insert(p, w[1], 1);

		hostcheck_a_trace(p, "a.txn:%d:%d", b, i);
	} else if (!strcmp(w[0], "txn_raw") && n == 3) {
		int b = sk_db_exec(p, "BEGIN", NULL, 0, NULL, NULL), i = hostcheck_a_insert(p, w[1], 1);
		int end = sk_db_exec(p, w[2][0] == 'c' ? "COMMIT" : "ROLLBACK", NULL, 0, NULL, NULL);

		hostcheck_a_trace(p, "a.txn:%d:%d:%d", b, i, end);
	} else if (!strcmp(w[0], "txn_send")) {
		int b = sk_db_begin(p), sr = sk_send_text(p, "c1", "b1", "in txn", NULL, NULL, NULL, NULL, NULL);

		hostcheck_a_trace(p, "a.txnsend:%d:%d:%d", b, sr, sk_db_commit(p));
	} else if (!strcmp(w[0], "txn_twice")) {
		int b1 = sk_db_begin(p), b2 = sk_db_begin(p), c = sk_db_rollback(p);

		hostcheck_a_trace(p, "a.txn:%d:%d:%d:%d", b1, b2, c, sk_db_commit(p));
	} else {
		return 0;
	}
	return 1;
}

/* Runs the info, metrics, json and leave commands; anything else is ignored. */
static void hostcheck_a_cmd_misc(sk_plugin *p, char *const *w, int n)
{
	if (!strcmp(w[0], "info")) {
		hostcheck_a_trace(p, "a.info:%d:%lld:%lld:%s:%s:%s", sk_session_state(p), (long long)sk_now_ms(p),
				  (long long)sk_mono_ms(p), sk_account_id(p), sk_own_user_id(p), sk_rules_path(p));
	} else if (!strcmp(w[0], "metrics")) {
		char *m = sk_metrics_json(p);

		hostcheck_a_trace(p, "a.metrics:%s", hostcheck_a_s(m));
		sk_free(p, m);
	} else if (!strcmp(w[0], "json") && n == 2) {
		const char *j1 = sk_config_json(p, w[1]), *j2 = sk_config_json(p, w[1]);

		hostcheck_a_trace(p, "a.json:%s:%d", hostcheck_a_s(j1), j1 == j2);
	} else if (!strcmp(w[0], "leave")) {
		hostcheck_a_leave(p);
	}
}

/*
 * Commands (SK_EV_SYSTEM texts; words separated by single spaces):
 *   publish <topic> <json>     sub_late                unsub <name>
 *   timer <name> <delay> <repeat>                      cancel <name>
 *   send <chat> <text>         sendnofn <chat> <text>  image <chat> <url>
 *   send_bad                   status <uuid>           mtop <name> <api> <json>
 *   work <name>                dbi <name> <n>          dbs | dbs_first | db_bad | db_two | db_nested
 *   txn_commit <name>          txn_rollback <name>     txn_open <name>   txn_twice
 *   txn_raw <name> c|r         (BEGIN, insert, COMMIT or ROLLBACK as SQL through db_exec)
 *   txn_send
 *   info                       metrics                 json <key>        leave
 *   mtopx <name> <api> <version|-> <flags> <data>   (sk_mtop_ex, since 1.5)
 */
static int hostcheck_a_cmd(sk_plugin *p, const sk_event *e, void *ud)
{
	char buf[256], *w[6] = { 0 }, *save = NULL;
	int n = 0;

	(void)ud;
	hostcheck_a_trace(p, "a.cmd");
	snprintf(buf, sizeof buf, "%s", e->text);
	for (char *t = strtok_r(buf, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	if (!n)
		return SK_PASS;
	if (!hostcheck_a_cmd_sub(p, w, n) && !hostcheck_a_cmd_send(p, w, n) && !hostcheck_a_cmd_db(p, w, n))
		hostcheck_a_cmd_misc(p, w, n);
	return SK_PASS;
}

/* Subscribes a handler labelled "sub:<name>"; returns the rc. */
static int hostcheck_a_sub(sk_plugin *p, const char *name, uint32_t mask, uint32_t flags, const char *chat,
			   int prio, sk_handler_fn fn)
{
	sk_filter f = { .flags = flags, .chat_id = chat };
	hostcheck_a_ud *u = hostcheck_a_new(p, "sub:%s", name);
	uint64_t id = 0;
	int rc = sk_subscribe(p, mask, &f, prio, fn, u, hostcheck_a_free, &id);

	if (rc == SK_OK)
		hostcheck_a_remember(u->label, id);
	return rc;
}

/* With fail_init: registers one of everything, then refuses (SK_ERR_INVAL).
 * Otherwise traces the config and the ABI, subscribes, returns SK_OK (or
 * the first failed registration's rc). */
static int hostcheck_a_init(sk_plugin *p)
{
	int rc = 0;

	hostcheck_a_nids = 0;
	if (sk_config_bool(p, "fail_init", 0)) {
		hostcheck_a_sub(p, "fail", SK_MASK_ALL, 0, NULL, 0, hostcheck_a_on);
		hostcheck_a_add_timer(p, "fail", 10, 0);
		sk_send_text(p, "c1", "buyer1", "fail", NULL, hostcheck_a_sent, hostcheck_a_new(p, "send:fail"),
			     hostcheck_a_free, NULL);
		sk_mtop(p, "mtop.fail", "{}", hostcheck_a_mtop_cb, hostcheck_a_new(p, "mtop:fail"), hostcheck_a_free);
		sk_work(p, hostcheck_a_work, hostcheck_a_done, hostcheck_a_new(p, "work:slowfail"), hostcheck_a_free);
		return SK_ERR_INVAL;
	}
	hostcheck_a_trace(p, "a.abi:%d:%u:%u:%d:%s", p->host->size == sizeof(sk_host), p->host->abi_major,
			  p->host->abi_minor, SK_HOST_HAS(p, http_post), p->name);
	hostcheck_a_trace(p, "a.cfg:mode=%s:greeting=%s:count=%lld:ratio=%g:enabled=%d:words=%zu:%s:%s:%s:"
			  "extra=%s:none=%s:absent=%lld:str_as_int=%lld",
			  sk_config_str(p, "mode", "?"), sk_config_str(p, "greeting", "hi"),
			  (long long)sk_config_int(p, "count", -1), sk_config_num(p, "ratio", -1.0),
			  sk_config_bool(p, "enabled", -1), sk_config_list_len(p, "words"),
			  hostcheck_a_s(sk_config_list_str(p, "words", 0)),
			  hostcheck_a_s(sk_config_list_str(p, "words", 1)),
			  hostcheck_a_s(sk_config_list_str(p, "words", 5)), hostcheck_a_s(sk_config_json(p, "extra")),
			  hostcheck_a_s(sk_config_json(p, "nothing")), (long long)sk_config_int(p, "nothing", 7),
			  (long long)sk_config_int(p, "mode", 9));
	rc |= hostcheck_a_sub(p, "h1", SK_MASK(SK_EV_CHAT_TEXT), 0, NULL, 10, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "h0", SK_MASK(SK_EV_CHAT_TEXT), 0, NULL, 5, hostcheck_a_h0);
	rc |= hostcheck_a_sub(p, "h2", SK_MASK(SK_EV_CHAT_TEXT), 0, NULL, 10, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "cmd", SK_MASK(SK_EV_SYSTEM), 0, NULL, 0, hostcheck_a_cmd);
	rc |= hostcheck_a_sub(p, "sys2", SK_MASK(SK_EV_SYSTEM), 0, NULL, 50, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "own", SK_MASK(SK_EV_CHAT_IMAGE), SK_F_ONLY_OWN, NULL, 0, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "notown", SK_MASK(SK_EV_CHAT_IMAGE), SK_F_SKIP_OWN, NULL, 0, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "noecho", SK_MASK(SK_EV_CHAT_IMAGE), SK_F_SKIP_ECHO, NULL, 0, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "c42", SK_MASK(SK_EV_CHAT_IMAGE), 0, "c42", 0, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "img", SK_MASK(SK_EV_CHAT_IMAGE), 0, NULL, 0, hostcheck_a_on);
	rc |= hostcheck_a_sub(p, "pub", SK_MASK(SK_EV_PLUGIN), 0, NULL, 0, hostcheck_a_on_pub);
	rc |= hostcheck_a_sub(p, "sr", SK_MASK(SK_EV_SEND_RESULT), 0, NULL, 0, hostcheck_a_on_result);
	/* invalid registrations: each must fail and still free its ud */
	hostcheck_a_trace(p, "a.badsub:%d:%d:%d", hostcheck_a_sub(p, "nomask", 0, 0, NULL, 0, hostcheck_a_on),
			  hostcheck_a_sub(p, "bothown", SK_MASK_ALL, SK_F_ONLY_OWN | SK_F_SKIP_OWN, NULL, 0,
					  hostcheck_a_on),
			  hostcheck_a_sub(p, "nofn", SK_MASK_ALL, 0, NULL, 0, NULL));
	return rc ? SK_ERR_STATE : SK_OK;
}

/* Queues work and leaves a transaction open: the host must wait for the
 * one, roll back the other, and free everything. */
static void hostcheck_a_fini(sk_plugin *p)
{
	int w = sk_work(p, hostcheck_a_work, hostcheck_a_done, hostcheck_a_new(p, "work:slowfini"), hostcheck_a_free);
	int b = sk_db_begin(p);
	int i = hostcheck_a_insert(p, "fini", 1);

	hostcheck_a_trace(p, "a.fini:%d:%d:%d", w, b, i);
}

SK_PLUGIN(.name = "hostcheck_a", .version = "1.0", .description = "exercises every host service",
	  .init = hostcheck_a_init, .fini = hostcheck_a_fini, .config_keys = hostcheck_a_keys,
	  .migrations = hostcheck_a_migrations);
