/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_store.c - core/store.c on a file in a temporary directory:
 * migrations run once, WAL, key/value, the token cache across reopen, the
 * outbox life cycle, and pending sends surviving a process that died without
 * closing the database (kill -9).
 */
#include "core_migrations.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];
static char dbpath[128];

/* Opens dbpath; reports a failure with SQLite's message. */
static store *open_db(const char *path)
{
	char err[256] = "";
	store *s = store_open(path, err, sizeof err);

	if (!s)
		diag("store_open(%s): %s", path, err);
	return s;
}

/* Returns the text of the first column of the first row of sql (static), "" if none. */
static const char *query1(store *s, const char *sql)
{
	static char out[256];
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		return out;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

/* Collects pending rows as "uuid:cid:buyer:kind:payload:attempts;" ... */
typedef struct {
	char text[1024];
	int64_t last_id;
	int ordered;
	store *s;             /* when set, marks every row done from inside the callback */
} seen;

static void collect(const outbox_row *r, void *ud)
{
	seen *v = ud;
	size_t n = strlen(v->text);

	snprintf(v->text + n, sizeof v->text - n, "%s:%s:%s:%s:%s:%d;", r->uuid, r->cid, r->buyer, r->kind,
		 r->payload, r->attempts);
	if (r->id <= v->last_id || r->state != OUTBOX_PENDING || r->created_ms <= 0)
		v->ordered = 0;
	v->last_id = r->id;
	if (v->s && store_outbox_done(v->s, r->uuid, "cb-mid") != 0)
		v->ordered = 0;
}

/* Runs store_outbox_pending_from (all rows) into a fresh seen; returns the count. */
static int pending(store *s, seen *v)
{
	memset(v, 0, sizeof *v);
	v->ordered = 1;
	return store_outbox_pending_from(s, 0, -1, collect, v);
}

static void test_open_and_migrate(void)
{
	store *s;
	char err[256];
	FILE *f;

	s = open_db(dbpath);
	if (!ok(s != NULL, "store_open creates the file"))
		exit(tap_done());
	is_int(store_schema_version(s), CORE_SCHEMA_VERSION, "user_version is the number of migrations");
	is_str(query1(s, "PRAGMA journal_mode"), "wal", "journal_mode is wal");
	is_str(query1(s, "PRAGMA foreign_keys"), "1", "foreign keys on");
	is_str(query1(s, "PRAGMA synchronous"), "1", "synchronous NORMAL");
	is_str(query1(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('kv', 'token', 'outbox')"),
	       "3", "core tables exist");
	ok(store_kv_set(s, "k", "v") == 0, "a row before reopen");
	store_close(s);

	/* The steps have no IF NOT EXISTS: a second run would fail. */
	s = open_db(dbpath);
	ok(s != NULL, "reopen: migrations not run again");
	if (!s)
		return;
	is_int(store_schema_version(s), CORE_SCHEMA_VERSION, "reopen: user_version unchanged");
	is_str(query1(s, "SELECT v FROM kv WHERE k = 'k'"), "v", "reopen: data kept");
	store_close(s);

	/* A file from a newer shopkeep is refused rather than misread. */
	{
		char path[160];
		sqlite3 *db;

		snprintf(path, sizeof path, "%s/newer.db", tmpdir);
		if (sqlite3_open(path, &db) == SQLITE_OK)
			sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
		sqlite3_close(db);
		s = store_open(path, err, sizeof err);
		ok(!s && strstr(err, "newer"), "a newer schema is refused: %s", err);
		store_close(s);
	}

	/* Not a database at all. */
	{
		char path[160];

		snprintf(path, sizeof path, "%s/garbage.db", tmpdir);
		f = fopen(path, "w");
		if (f) {
			fputs("this is not an SQLite file, not at all, really not.............................", f);
			fclose(f);
		}
		err[0] = '\0';
		s = store_open(path, err, sizeof err);
		ok(!s && strstr(err, path), "a corrupt file fails with its path: %s", err);
		store_close(s);
	}
	err[0] = '\0';
	s = store_open("/nonexistent/dir/x.db", err, sizeof err);
	ok(!s && strstr(err, "/nonexistent/dir/x.db"), "an impossible path fails: %s", err);
	store_close(s);

	s = open_db(":memory:");
	ok(s && store_schema_version(s) == CORE_SCHEMA_VERSION, "in-memory database works too");
	store_close(s);
}

static void test_kv(store *s)
{
	char *v = (char *)1;

	is_int(store_kv_get(s, "absent", &v), 1, "kv: absent key is 1");
	ok(v == NULL, "kv: absent leaves NULL");
	is_int(store_kv_set(s, "cookie", "a=1; unb=2"), 0, "kv: set");
	is_int(store_kv_get(s, "cookie", &v), 0, "kv: get");
	is_str(v, "a=1; unb=2", "kv: value");
	free(v);
	is_int(store_kv_set(s, "cookie", "a=3"), 0, "kv: overwrite");
	store_kv_get(s, "cookie", &v);
	is_str(v, "a=3", "kv: new value");
	free(v);
	is_int(store_kv_set(s, "empty", ""), 0, "kv: empty value");
	is_int(store_kv_get(s, "empty", &v), 0, "kv: empty value found");
	is_str(v, "", "kv: empty value read back");
	free(v);
	is_int(store_kv_set(s, "empty", NULL), 0, "kv: NULL deletes");
	is_int(store_kv_get(s, "empty", &v), 1, "kv: deleted");
}

static void test_token(void)
{
	store *s = open_db(dbpath);
	char *tok = NULL, *did = NULL;
	int64_t exp = -1;

	if (!ok(s != NULL, "token: open"))
		return;
	is_int(store_token_get(s, "acct1", &tok, &did, &exp), 1, "token: none yet");
	ok(tok == NULL && did == NULL && exp == 0, "token: none leaves NULLs");
	is_int(store_token_set(s, "acct1", "tok-1", "did-1", 1700000000123LL), 0, "token: set");
	is_int(store_token_set(s, "acct2", "tok-2", "did-2", 5), 0, "token: set another account");
	is_int(store_token_set(s, "acct1", "tok-1b", "did-1b", 1800000000456LL), 0, "token: replace");
	store_close(s);

	s = open_db(dbpath);
	if (!ok(s != NULL, "token: reopen"))
		return;
	is_int(store_token_get(s, "acct1", &tok, &did, &exp), 0, "token: found after reopen");
	is_str(tok, "tok-1b", "token: token persisted");
	is_str(did, "did-1b", "token: device id persisted");
	ok(exp == 1800000000456LL, "token: 64-bit expiry exact");
	free(tok);
	free(did);
	is_int(store_token_clear(s, "acct1"), 0, "token: clear");
	is_int(store_token_get(s, "acct1", &tok, &did, &exp), 1, "token: gone after clear");
	is_int(store_token_clear(s, "acct1"), 0, "token: clearing nothing is fine");
	is_int(store_token_get(s, "acct2", &tok, &did, &exp), 0, "token: other account untouched");
	is_str(tok, "tok-2", "token: other account's token");
	free(tok);
	free(did);
	store_close(s);
}

static void test_outbox(store *s)
{
	int64_t a, b, c;
	char *mid, *why;
	int state = -1;
	seen v;

	a = store_outbox_add(s, "uuid-a", "10001@goofish", "30003", "text", "hello", NULL, NULL, 1000);
	b = store_outbox_add(s, "uuid-b", "10001@goofish", "30003", "image",
			     "{\"url\":\"http://x/p.png\",\"width\":10,\"height\":20}", NULL, NULL, 1001);
	c = store_outbox_add(s, "uuid-c", "10002@goofish", "30004", "text", "你好", NULL, NULL, 1002);
	ok(a > 0 && b > a && c > b, "outbox: ids increase");
	is_int(store_outbox_add(s, "uuid-a", "x", "y", "text", "again", NULL, NULL, 1003), STORE_OUTBOX_DUP,
	       "outbox: duplicate uuid rejected as such (STORE_OUTBOX_DUP, not an error)");
	is_int(store_outbox_add(s, "uuid-d", "x", "y", "video", "p", NULL, NULL, 1003), -1, "outbox: unknown kind rejected");
	is_int(store_outbox_add(s, "uuid-e", "0123456789012345678901234567890123456789", "y", "text", "p", NULL, NULL, 1003), -1,
	       "outbox: a cid too long for outbox_row rejected");
	is_int(store_outbox_add(s, "", "x", "y", "text", "p", NULL, NULL, 1003), -1, "outbox: empty uuid rejected");

	is_int(pending(s, &v), 3, "outbox: three pending");
	is_str(v.text,
	       "uuid-a:10001@goofish:30003:text:hello:0;"
	       "uuid-b:10001@goofish:30003:image:{\"url\":\"http://x/p.png\",\"width\":10,\"height\":20}:0;"
	       "uuid-c:10002@goofish:30004:text:你好:0;",
	       "outbox: pending rows with their fields, in id order");
	ok(v.ordered, "outbox: ids ascending, state pending, created_ms set");

	is_int(store_outbox_attempt(s, "uuid-a"), 0, "outbox: attempt");
	is_int(store_outbox_attempt(s, "uuid-a"), 0, "outbox: second attempt");
	is_int(store_outbox_attempt(s, "nope"), 1, "outbox: attempt on unknown uuid");
	is_int(store_outbox_done(s, "uuid-b", "3812345678901.PNM"), 0, "outbox: done");
	is_int(store_outbox_done(s, "uuid-b", "other"), 1, "outbox: done twice is 1");
	is_int(store_outbox_refused(s, "uuid-b", "late"), 1, "outbox: refusing a done send is 1");
	is_int(store_outbox_attempt(s, "uuid-b"), 1, "outbox: attempt on a done send is 1");
	is_int(store_outbox_refused(s, "uuid-c", "CSI_FORBID"), 0, "outbox: refused");
	is_int(store_outbox_done(s, "nope", "m"), 1, "outbox: done on unknown uuid");
	/* echoes of an earlier run's sends are known by their IM id (step 5) */
	is_int(store_outbox_sent_as(s, "3812345678901.PNM"), 1, "outbox: a send answered with that IM id is found");
	is_int(store_outbox_sent_as(s, "3812345678902.PNM"), 0, "outbox: another IM id is not");
	is_int(store_outbox_sent_as(s, ""), 0, "outbox: nor an empty one");

	is_int(store_outbox_get(s, "uuid-b", &state, &mid, &why), 0, "outbox: get done");
	ok(state == OUTBOX_DONE, "outbox: state done");
	is_str(mid, "3812345678901.PNM", "outbox: message id kept");
	ok(why == NULL, "outbox: no reason on done");
	free(mid);
	is_int(store_outbox_get(s, "uuid-c", &state, &mid, &why), 0, "outbox: get refused");
	ok(state == OUTBOX_REFUSED && mid == NULL, "outbox: state refused, no message id");
	is_str(why, "CSI_FORBID", "outbox: refusal reason kept");
	free(why);
	is_int(store_outbox_get(s, "uuid-a", &state, NULL, NULL), 0, "outbox: get with NULL outputs");
	ok(state == OUTBOX_PENDING, "outbox: still pending");
	is_int(store_outbox_get(s, "nope", &state, &mid, &why), 1, "outbox: get unknown is 1");

	is_int(pending(s, &v), 1, "outbox: one pending left");
	is_str(v.text, "uuid-a:10001@goofish:30003:text:hello:2;", "outbox: it carries its attempts");
	is_int((int)store_outbox_pending_count(s), 1, "outbox: the count of pending sends");
}

/* The send window is refilled from the outbox: pending rows after an id, at
 * most a limit of them, in id order (done and refused rows skipped). */
static void test_outbox_window(store *s)
{
	int64_t id[6];
	char u[16];
	seen v;
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(u, sizeof u, "uuid-w%d", i);
		id[i] = store_outbox_add(s, u, "20001@goofish", "30005", "text", u + 5, NULL, NULL, 2000 + i);
	}
	store_outbox_refused(s, "uuid-w2", "x");
	is_int((int)store_outbox_pending_count(s), 6, "window: six pending (uuid-a and five of six)");
	memset(&v, 0, sizeof v);
	v.ordered = 1;
	is_int(store_outbox_pending_from(s, id[0], 2, collect, &v), 2, "window: two after the first");
	is_str(v.text, "uuid-w1:20001@goofish:30005:text:w1:0;uuid-w3:20001@goofish:30005:text:w3:0;",
	       "window: the refused one skipped, in id order");
	memset(&v, 0, sizeof v);
	v.ordered = 1;
	is_int(store_outbox_pending_from(s, id[3], 10, collect, &v), 2, "window: fewer than the limit at the end");
	is_str(v.text, "uuid-w4:20001@goofish:30005:text:w4:0;uuid-w5:20001@goofish:30005:text:w5:0;",
	       "window: the last two");
	memset(&v, 0, sizeof v);
	is_int(store_outbox_pending_from(s, id[5], 10, collect, &v), 0, "window: none after the last");
	for (i = 0; i < 6; i++) {
		snprintf(u, sizeof u, "uuid-w%d", i);
		store_outbox_done(s, u, "m");
	}
}

/* The bot dies (kill -9) right after queueing a send: the child adds a row
 * and SIGKILLs itself without closing the database. */
static void owner_cb(const outbox_row *r, void *ud)
{
	char *out = ud;

	if (!strcmp(r->uuid, "uuid-owned"))
		snprintf(out, 256, "%s|%s", r->plugin, r->tag);
}

/* A send remembers the plugin that queued it and its tag (schema step 2). */
static void test_outbox_owner(store *s)
{
	char got[256] = "";

	ok(store_outbox_add(s, "uuid-owned", "10005@goofish", "30005", "text", "code", "orders", "order:77:1", 5000) > 0,
	   "outbox: a send with its plugin and tag");
	store_outbox_pending_from(s, 0, -1, owner_cb, got);
	is_str(got, "orders|order:77:1", "outbox: plugin and tag come back with the pending row");
	ok(store_outbox_add(s, "uuid-owned2", "x", "y", "text", "p", "orders",
			    "0123456789012345678901234567890123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789012345678901234567890123456789", 5001) < 0,
	   "outbox: a tag too long for outbox_row is rejected");
	ok(store_schema_version(s) >= 2, "schema: at least version 2 (the outbox owner step)");
	is_int(store_outbox_done(s, "uuid-owned", "1.PNM"), 0, "outbox: the owned send settles");
}

/* store_outbox_find: the latest send of a plugin with a tag (schema step 4). */
static void test_outbox_find(store *s)
{
	char uuid[40];
	char *d = NULL;
	int state = -1;

	ok(store_outbox_add(s, "uuid-f1", "x", "y", "text", "one", "orders", "order:9:1", 6000) > 0 &&
	   store_outbox_add(s, "uuid-f2", "x", "y", "text", "two", "orders", "order:9:1", 6001) > 0 &&
	   store_outbox_add(s, "uuid-f3", "x", "y", "text", "alien", "autoreply", "order:9:2", 6002) > 0,
	   "find: two sends of orders with one tag, one of autoreply");
	is_int(store_outbox_refused(s, "uuid-f1", "CSI_FORBID"), 0, "find: the first is refused");
	is_int(store_outbox_find(s, "orders", "order:9:1", uuid, &state, &d), 0, "find: found");
	ok(!strcmp(uuid, "uuid-f2") && state == OUTBOX_PENDING && d == NULL, "find: the latest one wins, pending, no detail");
	is_int(store_outbox_done(s, "uuid-f2", "77.PNM"), 0, "find: it is answered");
	is_int(store_outbox_find(s, "orders", "order:9:1", NULL, &state, &d), 0, "find: NULL uuid_out");
	ok(state == OUTBOX_DONE && d && !strcmp(d, "77.PNM"), "find: done, detail is the message id (%s)", d ? d : "NULL");
	free(d);
	d = NULL;
	is_int(store_outbox_find(s, "orders", "order:9:2", uuid, &state, &d), 1, "find: another plugin's tag is not found");
	is_int(store_outbox_find(s, "orders", "order:404:1", uuid, NULL, NULL), 1, "find: an unknown tag is 1");
	is_int(store_outbox_find(s, "orders", "", uuid, NULL, NULL), -1, "find: an empty tag is an error");
	is_int(store_outbox_find(s, "orders", NULL, uuid, NULL, NULL), -1, "find: a NULL tag is an error");
	is_int(store_outbox_done(s, "uuid-f3", "78.PNM"), 0, "find: the alien send settles");
}

static void test_crash_restart(void)
{
	pid_t pid;
	int st = -1;
	store *s;
	seen v;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		store *cs = store_open(dbpath, (char[256]){ 0 }, 256);

		if (!cs || store_outbox_add(cs, "uuid-crash", "10009@goofish", "30009", "text", "after crash", NULL, NULL, 2000) < 0)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	ok(pid > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "crash: child queued a send and was killed");

	s = open_db(dbpath);
	if (!ok(s != NULL, "crash: reopen"))
		return;
	is_int(pending(s, &v), 2, "crash: both pending rows survived the restart");
	is_str(v.text, "uuid-a:10001@goofish:30003:text:hello:2;uuid-crash:10009@goofish:30009:text:after crash:0;",
	       "crash: pending rows in order, same uuids");

	/* The callback may settle rows while the list is being walked. */
	memset(&v, 0, sizeof v);
	v.ordered = 1;
	v.s = s;
	is_int(store_outbox_pending_from(s, 0, -1, collect, &v), 2, "callback marks rows done during the walk");
	ok(v.ordered, "marking done from the callback works");
	is_int(pending(s, &v), 0, "nothing pending afterwards");
	is_int(store_outbox_add(s, "uuid-crash", "x", "y", "text", "p", NULL, NULL, 3000), STORE_OUTBOX_DUP,
	       "a settled uuid is never reused (STORE_OUTBOX_DUP)");
	store_close(s);
}

/* Group commit: a batch's writes are one transaction; a kill -9 before its
 * commit loses all of them, close commits it, and a batch SQLite rolled back
 * by itself is reported at commit, not taken for committed. */
static void test_batch(void)
{
	pid_t pid;
	int st = -1;
	store *s;
	char *v = NULL, err[256];

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		store *cs = store_open(dbpath, (char[256]){ 0 }, 256);

		if (!cs || store_batch_begin(cs) != 0 || store_kv_set(cs, "b-lost", "1") ||
		    store_outbox_add(cs, "uuid-b-lost", "10010@goofish", "30010", "text", "lost", NULL, NULL, 4000) < 0)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	ok(pid > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "batch: child wrote in a batch and was killed");
	s = open_db(dbpath);
	if (!ok(s != NULL, "batch: reopen"))
		return;
	is_int(store_kv_get(s, "b-lost", &v), 1, "batch: none of the uncommitted batch is there (kv)");
	is_int(store_outbox_get(s, "uuid-b-lost", NULL, NULL, NULL), 1, "batch: (outbox)");

	is_int(store_batch_begin(s), 0, "batch: begin");
	is_int(store_batch_begin(s), 1, "batch: begin again: one is open");
	ok(store_batch_open(s), "batch: open");
	store_kv_set(s, "b1", "x");
	store_outbox_add(s, "uuid-b1", "10011@goofish", "30011", "text", "kept", NULL, NULL, 4001);
	is_int(store_batch_commit(s), 0, "batch: commit");
	ok(!store_batch_open(s) && store_batches(s) == 1, "batch: closed, counted");
	is_int(store_batch_commit(s), 0, "batch: commit without one is a no-op");
	store_outbox_done(s, "uuid-b1", "m-b1");

	/* SQLite ends a transaction itself on some errors (SQLITE_FULL, IOERR):
	 * here a ROLLBACK behind the store's back stands in for that */
	store_batch_begin(s);
	store_kv_set(s, "b2", "y");
	sqlite3_exec(store_db(s), "ROLLBACK", NULL, NULL, NULL);
	is_int(store_batch_commit_err(s, err, sizeof err), -1, "batch: a batch rolled back under it is an error");
	ok(strstr(err, "rolled back") != NULL, "batch: saying so (%s)", err);
	ok(!store_batch_open(s), "batch: and it is over");

	store_batch_begin(s);
	store_kv_set(s, "b3", "z");
	store_close(s);
	s = open_db(dbpath);
	if (!ok(s != NULL, "batch: reopen after close"))
		return;
	is_int(store_kv_get(s, "b1", &v), 0, "batch: the committed batch is there");
	free(v);
	v = NULL;
	is_int(store_kv_get(s, "b2", &v), 1, "batch: the rolled back one is not");
	is_int(store_kv_get(s, "b3", &v), 0, "batch: close commits an open batch");
	free(v);
	store_close(s);
}

/* Sets a row's state and finish time behind the store's back. */
static void set_row(store *s, const char *uuid, int state, int64_t updated_ms)
{
	char sql[200];

	snprintf(sql, sizeof sql, "UPDATE outbox SET state = %d, updated_ms = %lld WHERE uuid = '%s'", state,
		 (long long)updated_ms, uuid);
	sqlite3_exec(store_db(s), sql, NULL, NULL, NULL);
}

/* store_outbox_prune: finished rows older than the cut, oldest first, at
 * most limit; pending rows and young ones stay; through the partial index;
 * a database another connection has locked is -1 at once, not a wait. */
static void test_prune(void)
{
	char path[160], u[32];
	sqlite3 *other = NULL;
	store *s;
	int64_t t0;
	int i;

	snprintf(path, sizeof path, "%s/prune.db", tmpdir);
	if (!ok((s = open_db(path)) != NULL, "prune: open"))
		return;
	for (i = 0; i < 30; i++) {
		snprintf(u, sizeof u, "p-%02d", i);
		store_outbox_add(s, u, "1@goofish", "2", "text", "x", NULL, NULL, 1000 + i);
	}
	/* 0-9 done long ago, 10-14 refused long ago, 15-19 done recently,
	 * 20-24 pending and old, 25-29 pending */
	for (i = 0; i < 25; i++) {
		snprintf(u, sizeof u, "p-%02d", i);
		set_row(s, u, i < 10 || (i >= 15 && i < 20) ? 1 : i < 15 ? 2 : 0, i < 15 || i >= 20 ? 5000 + i : 90000);
	}
	{
		sqlite3_stmt *st;
		char plan[512] = "";

		if (sqlite3_prepare_v2(store_db(s), "EXPLAIN QUERY PLAN DELETE FROM outbox WHERE id IN (SELECT id FROM "
				       "outbox WHERE state <> 0 AND updated_ms < ?1 ORDER BY updated_ms LIMIT ?2)", -1, &st,
				       NULL) == SQLITE_OK) {
			while (sqlite3_step(st) == SQLITE_ROW)
				snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s; ",
					 (const char *)sqlite3_column_text(st, 3));
			sqlite3_finalize(st);
		}
		ok(strstr(plan, "USING INDEX outbox_finished (updated_ms<?)") != NULL,
		   "prune: its query reads the partial index (%s)", plan);
	}
	is_int(store_outbox_prune(s, 80000, 6), 6, "prune: a batch of at most limit rows");
	is_str(query1(s, "SELECT group_concat(uuid) FROM outbox WHERE uuid < 'p-10'"), "p-06,p-07,p-08,p-09",
	       "prune: the oldest finished went first");
	is_int(store_outbox_prune(s, 80000, 100), 9, "prune: then the rest of the old finished ones (done and refused)");
	is_str(query1(s, "SELECT count(*) || ' ' || min(uuid) || ' ' || sum(state = 0) FROM outbox"), "15 p-15 10",
	       "prune: the young finished and every pending row stay");
	is_int(store_outbox_prune(s, 80000, 100), 0, "prune: nothing more to do");
	is_int(store_outbox_get(s, "p-16", NULL, NULL, NULL), 0, "prune: a young finished send is still found");

	/* a second connection holds the write lock */
	if (sqlite3_open(path, &other) == SQLITE_OK &&
	    sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		t0 = util_mono_us();
		is_int(store_outbox_prune(s, 100000, 100), -1, "prune: a locked database is -1");
		ok(util_mono_us() - t0 < 1000000, "prune: at once, without the 5 s busy wait (%lld ms)",
		   (long long)((util_mono_us() - t0) / 1000));

		/* the batch waits only as long as it is told */
		t0 = util_mono_us();
		is_int(store_batch_begin_wait(s, 150), -1, "batch: BEGIN fails while another connection writes");
		ok(util_mono_us() - t0 >= 100000 && util_mono_us() - t0 < 2000000,
		   "batch: after waiting about the 150 ms it was given (%lld ms)", (long long)((util_mono_us() - t0) / 1000));
		ok(!store_batch_open(s), "batch: none is open");
		sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
		is_int(store_batch_begin_wait(s, 150), 0, "batch: and opens once the other writer is done");
		store_batch_commit(s);
		/* the full timeout is back for everything else */
		sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		t0 = util_mono_us();
		store_kv_set(s, "waits", "1");
		ok(util_mono_us() - t0 >= 4000000, "batch: other statements wait the whole busy timeout again (%lld ms)",
		   (long long)((util_mono_us() - t0) / 1000));
		sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	} else {
		ok(0, "prune: a second connection locks the database");
	}
	sqlite3_close(other);

	/* an insert SQLite refuses is an error of its own, not a duplicate */
	sqlite3_exec(store_db(s), "CREATE TRIGGER no_sends BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, "
		     "'no sends today'); END", NULL, NULL, NULL);
	is_int(store_outbox_add(s, "p-new", "1@goofish", "2", "text", "x", NULL, NULL, 1), STORE_OUTBOX_ERR,
	       "outbox: an insert SQLite refuses is STORE_OUTBOX_ERR");
	ok(strstr(store_errmsg(s), "no sends today") != NULL, "outbox: store_errmsg says why (%s)", store_errmsg(s));
	store_close(s);
}

int main(void)
{
	char cmd[128];
	store *s;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_test_store.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dbpath, sizeof dbpath, "%s/state.db", tmpdir);
	test_open_and_migrate();
	s = open_db(dbpath);
	if (ok(s != NULL, "open for kv and outbox")) {
		test_kv(s);
		test_outbox(s);
		test_outbox_window(s);
		test_outbox_owner(s);
		test_outbox_find(s);
		store_close(s);
	}
	test_token();
	test_crash_restart();
	test_batch();
	test_prune();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return tap_done();
}
