/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_db_faults.c - the real bot (dedup + autoreply)
 * against the simulator when the clock or state.db misbehaves (issue 18):
 *
 *  - clock back: a second run whose wall clock is where the first run's was
 *    (tests/sim/fakeclock.c, LD_PRELOAD) answers its buyers: send uuids do
 *    not come from the clock (they did, and the second run's collided with
 *    the outbox: "queue full", the push ACKed, the reply lost);
 *  - an outbox insert SQLite refuses (a trigger) ends the process with
 *    status 74 before the push is ACKed, and the next start answers once;
 *  - another process holds the write lock longer than the busy timeout: the
 *    buyer's message is not ACKed (nor answered) while it does, and is
 *    answered exactly once after; held past platform.heartbeat_timeout_s the
 *    process exits 74 and the next start answers once;
 *  - `shopkeep stock import` commits in chunks: another writer gets in
 *    between them;
 *  - finished sends older than send.outbox_keep_days leave the outbox.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tc_sim sim;

/* Writes a config for seller unb: dedup + autoreply answering "re: <text>"
 * (and orders with one stock card, "bulk"),
 * at once (no debounce: the reply is queued in the turn of its push), plus
 * extra members of "platform" (may be ""). */
static void config_for(tbot *b, const char *unb, const char *extra)
{
	char json[2048], path[400], build[PATH_MAX];
	FILE *f;

	if (!realpath(tbot_build_dir(), build))
		snprintf(build, sizeof build, "%s", tbot_build_dir());
	snprintf(path, sizeof path, "%s/rules.json", b->dir);
	if ((f = fopen(path, "w"))) {
		fputs("{\"default_reply\":{\"reply\":\"re: {message}\"},\n"
		      " \"cards\":[{\"name\":\"bulk\",\"type\":\"stock\",\"template\":\"{code}\"}],\n"
		      " \"delivery\":[{\"item_id\":\"59999\",\"spec\":null,\"card\":\"bulk\"}]}\n", f);
		fclose(f);
	}
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"a%s\",\"cookie\":\"unb=%s; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"%s},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 unb + 7, unb, extra, build);
	tbot_config(b, json);
}

static void inject(const char *unb, const char *cid, const char *text)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"%s\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"text\":\"%s\"}", unb, cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

/* Starts the bot with its wall clock frozen at fake_ms (0: the real clock). */
static void start_at(tbot *b, long long fake_ms)
{
	char lib[PATH_MAX + 32], rel[600], v[32], asan[512];
	const char *old_asan = getenv("ASAN_OPTIONS");

	if (!fake_ms) {
		tbot_start(b);
		return;
	}
	snprintf(rel, sizeof rel, "%s/tests/libfakeclock.so", tbot_build_dir());
	if (!realpath(rel, lib))
		snprintf(lib, sizeof lib, "%s", rel);
	snprintf(v, sizeof v, "%lld", fake_ms);
	snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old_asan ? old_asan : "",
		 old_asan && *old_asan ? ":" : "");
	setenv("LD_PRELOAD", lib, 1);
	setenv("SK_FAKE_REALTIME_MS", v, 1);
	setenv("ASAN_OPTIONS", asan, 1);
	tbot_start(b);
	unsetenv("LD_PRELOAD");
	unsetenv("SK_FAKE_REALTIME_MS");
	if (old_asan)
		setenv("ASAN_OPTIONS", old_asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
}

/* Waits up to timeout_ms for the bot to exit: its exit status, 128+signal,
 * or -1 when it still runs. */
static int wait_exit(tbot *b, int timeout_ms)
{
	int st;

	for (int i = 0; i < timeout_ms / 20; i++) {
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(20000);
	}
	return -1;
}

/* Runs one SQL text on the bot's state.db from a connection of our own. */
static int db_exec(const tbot *b, const char *sql)
{
	char path[400];
	sqlite3 *db;
	int rc;

	snprintf(path, sizeof path, "%s/state.db", b->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		diag("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The clock steps back between two runs (issue 18: 9 s back, 1702 of 3000
 * replies lost). Frozen at the same instant, the old uuids ("-<ms>1" with an
 * in-memory guard) of the second run were exactly the first run's. */
static void test_clock_back(void)
{
	const char *unb = "2200000000101";
	long long t = (long long)util_now_ms() - 9000;
	double reg0 = tsim_stat(&sim, "reg_ok");
	char text[64], want[80], cid[16];
	int all = 1, i;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, "");
	start_at(&b, t);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 8000) >= 0, "clock back: the first run registers"))
		goto out;
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "before %d", i);
		snprintf(cid, sizeof cid, "3110%d", i);
		inject(unb, cid, text);
	}
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof want, "re: before %d", i);
		all &= tsim_wait_delivered(&sim, want, 1, 5000);
	}
	ok(all, "clock back: the first run answered its 5 messages");
	is_int(tbot_stop(&b, SIGTERM), 0, "clock back: the first run stops");
	/* the second run starts where the first one's clock was */
	start_at(&b, t);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 2, 8000) >= 0, "clock back: the second run registers"))
		goto out;
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "after %d", i);
		snprintf(cid, sizeof cid, "3111%d", i);
		inject(unb, cid, text);
	}
	for (i = 0, all = 0; i < 5; i++) {
		snprintf(want, sizeof want, "re: after %d", i);
		all += tsim_wait_delivered(&sim, want, 1, 5000);
	}
	is_int(all, 5, "clock back: the second run answered all its 5 messages too");
	usleep(500000);
	for (i = 0, all = 0; i < 5; i++) {
		snprintf(want, sizeof want, "re: after %d", i);
		all += tsim_delivered(&sim, want);
		snprintf(want, sizeof want, "re: before %d", i);
		all += tsim_delivered(&sim, want);
	}
	is_int(all, 10, "clock back: each of the 10 replies exactly once");
	ok(!tbot_log_has(&b, "queue full") && !tbot_log_has(&b, "not queued"), "clock back: no send refused");
	is_int(tbot_stop(&b, SIGTERM), 0, "clock back: SIGTERM exits 0");
out:
	tbot_done(&b, tap_failed);
}

/* An outbox insert that fails is an error, not "queue full": the process
 * ends (74) before the push is ACKed, and the message is answered once the
 * database takes inserts again. */
static void test_insert_fails(void)
{
	const char *unb = "2200000000102";
	double reg0 = tsim_stat(&sim, "reg_ok"), acks0;
	int st;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, "");
	tbot_start(&b);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 8000) >= 0, "insert fails: the bot registers"))
		goto out;
	ok(db_exec(&b, "CREATE TRIGGER no_sends BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk says no'); "
		   "END") == 0, "insert fails: a trigger makes every outbox insert fail");
	usleep(300000);
	acks0 = tsim_stat(&sim, "acks");
	inject(unb, "31201", "lost?");
	st = wait_exit(&b, 8000);
	is_int(st, 74, "insert fails: the bot exits with status 74");
	ok(tbot_log_has(&b, "could not be stored in the outbox") && tbot_log_has(&b, "disk says no"),
	   "insert fails: the log says what failed and why");
	ok(!tbot_log_has(&b, "queue full"), "insert fails: not called \"queue full\"");
	is_int(tsim_delivered(&sim, "re: lost?"), 0, "insert fails: no reply went out");
	ok(tsim_stat(&sim, "acks") == acks0, "insert fails: the push was not ACKed (%.0f ACKs after it)",
	   tsim_stat(&sim, "acks") - acks0);
	if (st != 74 && st != -1)
		b.pid = -1;
	if (st == -1)
		tbot_stop(&b, SIGKILL);
	db_exec(&b, "DROP TRIGGER no_sends");
	tbot_start(&b);
	ok(tsim_wait_delivered(&sim, "re: lost?", 1, 8000), "insert fails: the next start answers the message");
	usleep(800000);
	is_int(tsim_delivered(&sim, "re: lost?"), 1, "insert fails: exactly once");
	is_int(tbot_stop(&b, SIGTERM), 0, "insert fails: SIGTERM exits 0");
out:
	tbot_done(&b, tap_failed);
}

/* Holds state.db's write lock from a connection of our own (BEGIN IMMEDIATE
 * and a write), as a long `shopkeep stock import` did. NULL on failure. */
static sqlite3 *lock_db(const tbot *b)
{
	char path[400];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/state.db", b->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS test_lock(x); INSERT INTO test_lock VALUES(1)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		diag("lock: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* Another writer holds the lock for 20 s, longer than the 5 s busy timeout
 * (within the heartbeat timeout, 40 s here): the message waits un-ACKed and
 * unanswered, the connection lives, then it is answered once. */
static void test_lock_held(void)
{
	const char *unb = "2200000000103";
	double reg0 = tsim_stat(&sim, "reg_ok"), hb0 = 1e9;
	int unacked = -1, i;
	sqlite3 *db;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, ",\"heartbeat_interval_s\":1,\"heartbeat_timeout_s\":40");
	tbot_start(&b);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 8000) >= 0, "lock held: the bot registers"))
		goto out;
	inject(unb, "31300", "warm up");
	tsim_wait_delivered(&sim, "re: warm up", 1, 5000);
	tbot_wait_ev(&b, "\"own\":true", "\"echo\":true", NULL, 1, 5000);   /* its echo is in too */
	usleep(300000);
	if (!ok((db = lock_db(&b)) != NULL, "lock held: another connection takes the write lock"))
		goto out;
	inject(unb, "31301", "wait for me");
	/* 20 s: the old bot waited 5 s for each write that then failed, and
	 * ACKed the push after a few of them */
	for (i = 0; i < 40; i++) {
		usleep(500000);
		if ((unacked = (int)tsim_stat(&sim, "unacked")) != 1)
			break;
		if (i == 30)
			hb0 = tsim_stat(&sim, "heartbeats");
	}
	is_int(unacked, 1, "lock held: the push stays un-ACKed for the 20 s (past the 5 s busy timeout; %.1f s)",
	       (i + 1) * 0.5);
	is_int(tsim_delivered(&sim, "re: wait for me"), 0, "lock held: nor answered");
	ok(tsim_stat(&sim, "heartbeats") > hb0 && tbot_alive(&b), "lock held: the bot is alive and heartbeats");
	ok(tbot_log_has(&b, "frames are held, not ACKed"), "lock held: the log says the frames are held");
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(tsim_wait_delivered(&sim, "re: wait for me", 1, 5000), "lock held: answered once the lock is free");
	usleep(800000);
	is_int(tsim_delivered(&sim, "re: wait for me"), 1, "lock held: exactly once");
	is_int((int)tsim_stat(&sim, "unacked"), 0, "lock held: and ACKed");
	ok(tbot_log_has(&b, "state.db is free again"), "lock held: the log says so");
	is_int(tbot_stop(&b, SIGTERM), 0, "lock held: SIGTERM exits 0");
out:
	tbot_done(&b, tap_failed);
}

/* Held past platform.heartbeat_timeout_s (3 s here): the bot exits 74,
 * logged, with the message un-ACKed; the next start answers it once. */
static void test_lock_budget(void)
{
	const char *unb = "2200000000104";
	double reg0 = tsim_stat(&sim, "reg_ok");
	sqlite3 *db;
	int st;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, ",\"heartbeat_interval_s\":1,\"heartbeat_timeout_s\":3");
	tbot_start(&b);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 8000) >= 0, "lock budget: the bot registers"))
		goto out;
	if (!ok((db = lock_db(&b)) != NULL, "lock budget: another connection takes the write lock"))
		goto out;
	inject(unb, "31401", "over budget");
	st = wait_exit(&b, 12000);
	is_int(st, 74, "lock budget: the bot exits with status 74 past the heartbeat timeout");
	ok(tbot_log_has(&b, "no transaction could be opened for") && tbot_log_has(&b, "exiting (status 74)"),
	   "lock budget: the log says why");
	is_int(tsim_delivered(&sim, "re: over budget"), 0, "lock budget: nothing was answered");
	if (st == -1)
		tbot_stop(&b, SIGKILL);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	tbot_start(&b);
	ok(tsim_wait_delivered(&sim, "re: over budget", 1, 8000), "lock budget: the next start answers the message");
	usleep(800000);
	is_int(tsim_delivered(&sim, "re: over budget"), 1, "lock budget: exactly once");
	is_int(tbot_stop(&b, SIGTERM), 0, "lock budget: SIGTERM exits 0");
out:
	tbot_done(&b, tap_failed);
}

/* The first column of the first row of sql on the bot's state.db as an
 * integer, from a connection of our own; -1 on error. */
static int db_int(const tbot *b, const char *sql)
{
	char path[400];
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int n = -1;

	snprintf(path, sizeof path, "%s/state.db", b->dir);
	if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Finished sends older than send.outbox_keep_days (2 here) are deleted by
 * the running process (first 10 s after the start); younger ones stay. */
static void test_prune(void)
{
	const char *unb = "2200000000106";
	double reg0 = tsim_stat(&sim, "reg_ok");
	char sql[300];
	int n = -1, i;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, "");
	tbot_start(&b);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", reg0 + 1, 8000) >= 0, "prune: the bot registers"))
		goto out;
	inject(unb, "31601", "p1");
	inject(unb, "31602", "p2");
	inject(unb, "31603", "p3");
	tsim_wait_delivered(&sim, "re: p1", 1, 5000);
	tsim_wait_delivered(&sim, "re: p2", 1, 5000);
	tsim_wait_delivered(&sim, "re: p3", 1, 5000);
	usleep(500000);
	is_int(tbot_stop(&b, SIGTERM), 0, "prune: three replies sent, the bot stops");
	is_int(db_int(&b, "SELECT count(*) FROM outbox WHERE state = 1"), 3, "prune: three sent rows in the outbox");
	/* two of them finished 3 days ago, one 1 day ago */
	snprintf(sql, sizeof sql, "UPDATE outbox SET updated_ms = %lld WHERE payload IN ('re: p1', 're: p2'); "
		 "UPDATE outbox SET updated_ms = %lld WHERE payload = 're: p3'",
		 (long long)util_now_ms() - 3 * 86400000LL, (long long)util_now_ms() - 86400000LL);
	db_exec(&b, sql);
	config_for(&b, unb, "");
	{
		/* send.outbox_keep_days 2: rewrite the send section */
		char cfg[4096];
		FILE *f = fopen(b.cfg, "r");
		size_t len = f ? fread(cfg, 1, sizeof cfg - 1, f) : 0;
		char *at;

		if (f)
			fclose(f);
		cfg[len] = '\0';
		if ((at = strstr(cfg, "\"burst\":10}")) && (f = fopen(b.cfg, "w"))) {
			fwrite(cfg, 1, (size_t)(at - cfg), f);
			fprintf(f, "\"burst\":10,\"outbox_keep_days\":2}%s", at + strlen("\"burst\":10}"));
			fclose(f);
		}
	}
	tbot_start(&b);
	for (i = 0; i < 100 && (n = db_int(&b, "SELECT count(*) FROM outbox")) != 1; i++)
		usleep(200000);
	is_int(n, 1, "prune: the two sends finished 3 days ago are deleted within 20 s of the start");
	is_int(db_int(&b, "SELECT count(*) FROM outbox WHERE payload = 're: p3'"), 1, "prune: the 1 day old one stays");
	is_int(tbot_stop(&b, SIGTERM), 0, "prune: SIGTERM exits 0");
out:
	tbot_done(&b, tap_failed);
}

/* The number of codes of card bulk, from a connection of our own; -1 on error. */
static int stock_count(const tbot *b)
{
	char path[400];
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int n = -1;

	snprintf(path, sizeof path, "%s/state.db", b->dir);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM orders_stock WHERE card = 'bulk'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Whether another writer gets the lock within wait_ms (BEGIN IMMEDIATE, a
 * write, COMMIT), as the running bot's loop would; *ms gets the time it took. */
static int writer_gets_in(const tbot *b, int wait_ms, long *ms)
{
	char path[400];
	sqlite3 *db;
	int64_t t0 = util_mono_us();
	int rc;

	snprintf(path, sizeof path, "%s/state.db", b->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return 0;
	}
	sqlite3_busy_timeout(db, wait_ms);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS test_w(x); INSERT INTO test_w VALUES(1); "
			  "COMMIT", NULL, NULL, NULL);
	*ms = (long)((util_mono_us() - t0) / 1000);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* `shopkeep stock import` commits every 2000 codes: codes piped in are in
 * the database (and the lock free) while it waits for more; a long import
 * lets another writer in within a second all along; a failure after a chunk
 * keeps the chunks before it and says so. */
static void test_import_chunks(void)
{
	const char *unb = "2200000000105";
	char cmd[1500], out[400], path[400];
	int n = -1, i, writes = 0, late = 0;
	long ms = 0, worst = 0;
	FILE *p, *f;
	tbot b;

	if (tbot_init(&b, &sim))
		return;
	config_for(&b, unb, "");
	snprintf(out, sizeof out, "%s/import.out", b.dir);
	snprintf(cmd, sizeof cmd, "%s/shopkeep stock import --config %s --card bulk - >%s 2>&1", tbot_build_dir(), b.cfg,
		 out);
	if (!ok((p = popen(cmd, "w")) != NULL, "import chunks: stock import reads a pipe"))
		goto out;
	for (i = 0; i < 10000; i++)
		fprintf(p, "PIPE-%05d\n", i);
	fflush(p);
	/* the writer of the pipe pauses: five chunks are in, none is open */
	for (i = 0; i < 250 && (n = stock_count(&b)) < 10000; i++)
		usleep(40000);
	is_int(n, 10000, "import chunks: the 10000 codes piped so far are committed while the import waits for more");
	ok(writer_gets_in(&b, 200, &ms), "import chunks: meanwhile another writer gets the lock (%ld ms)", ms);
	for (i = 10000; i < 12000; i++)
		fprintf(p, "PIPE-%05d\n", i);
	is_int(WEXITSTATUS(pclose(p)), 0, "import chunks: the import ends well at the end of its input");
	{
		char line[300] = "";

		if ((f = fopen(out, "r"))) {
			if (!fgets(line, sizeof line, f))
				line[0] = '\0';
			fclose(f);
		}
		line[strcspn(line, "\n")] = '\0';
		ok(strstr(line, "card bulk: 12000 codes added, 0 duplicates") != NULL, "import chunks: it counts them all (%s)",
		   line);
	}

	/* 200000 codes from a file: another writer that waits at most 1 s for
	 * the lock gets in every time */
	snprintf(path, sizeof path, "%s/big.txt", b.dir);
	if ((f = fopen(path, "w"))) {
		for (i = 0; i < 200000; i++)
			fprintf(f, "BIG-%06d-%08x\n", i, (unsigned)i * 2654435761u);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "%s/shopkeep stock import --config %s --card bulk %s >%s 2>&1", tbot_build_dir(), b.cfg,
		 path, out);
	if ((p = popen(cmd, "r"))) {
		int64_t t0 = util_mono_us();

		usleep(100000);
		while (stock_count(&b) < 212000 && util_mono_us() - t0 < 120000000) {
			if (writer_gets_in(&b, 1000, &ms))
				writes++;
			else
				late++;
			if (ms > worst)
				worst = ms;
			usleep(50000);
		}
		is_int(WEXITSTATUS(pclose(p)), 0, "import chunks: 200000 codes imported");
		diag("200000 codes in %.1f s; %d writes beside it, the slowest got the lock in %ld ms",
		     (double)(util_mono_us() - t0) / 1e6, writes, worst);
		ok(writes >= 3 && !late, "import chunks: another writer got in %d times during it, never waiting 1 s (%d late, "
		   "slowest %ld ms)", writes, late, worst);
	}

	/* a failure after the first chunk: that chunk stays, and it says so */
	db_exec(&b, "CREATE TRIGGER boom BEFORE INSERT ON orders_stock WHEN NEW.code = 'BOOM' BEGIN SELECT RAISE(ABORT, "
		"'boom'); END");
	snprintf(path, sizeof path, "%s/boom.txt", b.dir);
	if ((f = fopen(path, "w"))) {
		for (i = 0; i < 2100; i++)
			if (i == 2050)
				fputs("BOOM\n", f);
			else
				fprintf(f, "B-%05d\n", i);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "%s/shopkeep stock import --config %s --card bulk %s 2>&1", tbot_build_dir(), b.cfg, path);
	{
		int st = -1;
		const char *o = tbot_sh(cmd, &st);

		if (!ok(st == 1 && strstr(o, "stopped after 2000 codes (2000 added, 0 duplicates), the rest not imported"),
			"import chunks: a failure in the second chunk exits 1 saying the first chunk stays"))
			diag("exit %d: %s", st, o);
	}
	is_int(stock_count(&b), 212000 + 2000, "import chunks: and the first chunk's 2000 codes are there");
out:
	tbot_done(&b, tap_failed);
}

int main(void)
{
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	test_clock_back();
	test_insert_fails();
	test_lock_held();
	test_lock_budget();
	test_import_chunks();
	test_prune();
	tc_sim_stop(&sim);
	return tap_done();
}
