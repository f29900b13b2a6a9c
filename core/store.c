/* SPDX-License-Identifier: MIT */
/*
 * core/store.c - the account's SQLite state (docs/libraries.md §7): one
 * connection in WAL mode, the core migrations of db/core_migrations.h, and
 * statements prepared once at open and reset after every use.
 *
 * Checkpoints run on a thread of their own with its own connection: a commit
 * on the loop only appends to the WAL, and the thread copies the WAL back
 * into the database file with its fsyncs. SQLite's automatic checkpoint did
 * that inside whichever commit crossed 1000 pages, on the loop: make bench saw
 * those fdatasyncs take 2 to 800 ms on a busy disk, every 40 messages or so.
 * Durability is the same (synchronous=NORMAL: a commit is in the WAL, which
 * is synced at checkpoints).
 *
 * The WAL starts over from its beginning only when a transaction begins with
 * every frame checkpointed, which a thread racing a busy loop seldom sees:
 * so once the WAL passes STORE_CKPT_INLINE pages the loop checkpoints too,
 * after its commit (a PASSIVE one: it gives up at once while the thread is
 * at it). What is left for it then is the few pages since the thread's last
 * run, so its fsyncs have little to write.
 *
 * Group commit (store_batch_*): the session opens one transaction when frames
 * arrive and commits it before the loop polls again, and before it writes a
 * frame; everything written meanwhile (dedup ids, decision logs, outbox rows
 * and their answers, for every frame of that turn) is one commit instead of
 * one each. Nothing leaves the process between a write and its commit (an
 * ACK, a send, an HTTP request is written when the socket polls writable,
 * after the commit; a web or ctl answer, which may be written in the same
 * loop turn, calls session_barrier first), so a crash loses only work whose
 * effects nobody saw: the platform pushes again what was not ACKed.
 *
 * A power cut may also take the last commits of synchronous=NORMAL, whose
 * effects did leave. For a card code that would mean handing it out again,
 * so a batch that queues a send of a plugin named in state.sync_sends
 * (orders) syncs the WAL after its COMMIT, and counts itself in kv and in
 * the run lock file (store_lock, store_use_lock: a start that finds fewer
 * in the database than in the lock file refuses). Every commit also checks
 * that state.db and its -wal are still the files SQLite has open, and every
 * open runs a quick_check bounded in time.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_migrations.h"
#include "log.h"
#include "util.h"

enum {
	ST_KV_GET,
	ST_KV_SET,
	ST_KV_DEL,
	ST_TOKEN_GET,
	ST_TOKEN_SET,
	ST_TOKEN_CLEAR,
	ST_OUTBOX_ADD,
	ST_OUTBOX_DONE,
	ST_OUTBOX_REFUSED,
	ST_OUTBOX_ATTEMPT,
	ST_OUTBOX_PENDING,
	ST_OUTBOX_COUNT,
	ST_OUTBOX_GET,
	ST_OUTBOX_FIND,
	ST_OUTBOX_SENT_AS,
	ST_OUTBOX_PRUNE,
	ST_N
};

static const char *const store_sql[ST_N] = {
	[ST_KV_GET] = "SELECT v FROM kv WHERE k = ?1",
	[ST_KV_SET] = "INSERT INTO kv(k, v, updated) VALUES(?1, ?2, ?3) "
		      "ON CONFLICT(k) DO UPDATE SET v = excluded.v, updated = excluded.updated",
	[ST_KV_DEL] = "DELETE FROM kv WHERE k = ?1",
	[ST_TOKEN_GET] = "SELECT token, did, expires_ms FROM token WHERE account = ?1",
	[ST_TOKEN_SET] = "INSERT INTO token(account, token, did, expires_ms, updated) VALUES(?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT(account) DO UPDATE SET token = excluded.token, did = excluded.did, "
			 "expires_ms = excluded.expires_ms, updated = excluded.updated",
	[ST_TOKEN_CLEAR] = "DELETE FROM token WHERE account = ?1",
	[ST_OUTBOX_ADD] = "INSERT INTO outbox(uuid, cid, buyer, kind, payload, state, attempts, created_ms, "
			  "updated_ms, plugin, tag) VALUES(?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?6, ?7, ?8)",
	[ST_OUTBOX_DONE] = "UPDATE outbox SET state = 1, message_id = ?2, updated_ms = ?3 "
			   "WHERE uuid = ?1 AND state = 0",
	[ST_OUTBOX_REFUSED] = "UPDATE outbox SET state = 2, reason = ?2, updated_ms = ?3 "
			      "WHERE uuid = ?1 AND state = 0",
	[ST_OUTBOX_ATTEMPT] = "UPDATE outbox SET attempts = attempts + 1, updated_ms = ?2 "
			      "WHERE uuid = ?1 AND state = 0",
	[ST_OUTBOX_PENDING] = "SELECT id, uuid, cid, buyer, kind, payload, state, attempts, created_ms, plugin, tag "
			      "FROM outbox WHERE state = 0 AND id > ?1 ORDER BY id LIMIT ?2",
	[ST_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE state = 0",
	[ST_OUTBOX_GET] = "SELECT state, message_id, reason FROM outbox WHERE uuid = ?1",
	/* tag <> '' lets SQLite use the partial index outbox_tag: it cannot tell
	 * that from tag = ?2 alone (the caller never passes ""), and scans. */
	[ST_OUTBOX_FIND] = "SELECT uuid, state, message_id, reason FROM outbox "
			   "WHERE plugin = ?1 AND tag = ?2 AND tag <> '' ORDER BY id DESC LIMIT 1",
	[ST_OUTBOX_SENT_AS] = "SELECT 1 FROM outbox WHERE message_id = ?1 AND state = 1 LIMIT 1",
	/* the oldest finished sends first, through the partial index outbox_finished */
	[ST_OUTBOX_PRUNE] = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state <> 0 AND "
			    "updated_ms < ?1 ORDER BY updated_ms LIMIT ?2)",
};

#define STORE_CKPT_PAGES 1000      /* SQLite's own autocheckpoint threshold */
#define STORE_CKPT_INLINE 4000     /* past this the loop finishes the job (16 MB of WAL) */

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	char *path;                /* a file database's path, NULL for :memory: */
	/* the checkpoint thread (file databases only) */
	int ckpt_on, ckpt_want, ckpt_stop;
	int64_t ckpt_failures;     /* failed checkpoints, the thread's and the loop's (under ckpt_mu) */
	int ckpt_asked;            /* the WAL's pages when the loop last woke it (loop only) */
	pthread_t ckpt;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	int batch;                 /* store_batch_begin opened a transaction */
	int64_t batches;           /* committed batches (metrics) */
	int64_t commits;           /* every commit on the connection (file databases) */
	int batch_durable;         /* the open batch queued a send to sync (store_outbox_add) */
	char *sync_sends;          /* whose sends make their batch durable (store_sync_sends); NULL: all */
	int64_t durable_seq;       /* kv core.durable_seq: durable commits the file has ever had */
	int lockfd;                /* the run lock (store_use_lock), -1 */
	char *lock_account;
	int64_t durable_commits;   /* commits whose WAL was synced after them */
	/* The files SQLite has open, as they were at open: a commit checks
	 * that they are still there (store_watch_check). */
	dev_t db_dev, wal_dev;
	ino_t db_ino, wal_ino;
	off_t wal_size;            /* the largest WAL size seen: it never shrinks while open */
	int watch;                 /* 1 once the -wal file was seen */
};

/* Resets a statement after use and drops its bindings. */
static void store_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds a string, or NULL when v is NULL. Returns the SQLite code. */
static int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Returns a malloc'd copy of a text column, NULL when it is NULL. *oom is set
 * when the copy fails. */
static char *store_col_dup(sqlite3_stmt *st, int i, int *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *p;

	if (!t)
		return NULL;
	p = util_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
	if (!p)
		*oom = 1;
	return p;
}

/* Runs a statement that returns no rows; returns sqlite3_changes(), or -1. */
static int store_exec_st(store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	store_done(st);
	return rc == SQLITE_DONE ? sqlite3_changes(s->db) : -1;
}

/* Runs one SQL text; returns 0 or -1 with err set. */
static int store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* Returns the first column of the first row of sql as an integer, -1 on error. */
static int store_pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Switches the file to WAL; returns 0, or -1 with err set when SQLite did not
 * answer "wal" (an in-memory database answers "memory", which is fine). */
static int store_wal(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	const char *mode;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "journal_mode: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		mode = (const char *)sqlite3_column_text(st, 0);
		if (mode && (!strcmp(mode, "wal") || (!strcmp(path, ":memory:") && !strcmp(mode, "memory"))))
			rc = 0;
		else
			snprintf(err, errlen, "journal_mode: wanted wal, got %s", mode ? mode : "nothing");
	} else {
		snprintf(err, errlen, "journal_mode: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Applies the missing steps of core_migrations, each with its user_version in
 * one transaction. The version is read again inside the write lock, so two
 * processes opening the same file never run a step twice. Returns 0 or -1. */
static int store_migrate(sqlite3 *db, char *err, size_t errlen)
{
	char sql[64], why[256];
	int v = store_pragma_int(db, "PRAGMA user_version"), i;

	if (v < 0) {
		snprintf(err, errlen, "user_version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (v > CORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this shopkeep knows (%d)", v,
			 CORE_SCHEMA_VERSION);
		return -1;
	}
	for (i = v; i < CORE_SCHEMA_VERSION; i++) {
		if (store_exec(db, "BEGIN IMMEDIATE", why, sizeof why)) {
			snprintf(err, errlen, "migration %d: %s", i + 1, why);
			return -1;
		}
		if (store_pragma_int(db, "PRAGMA user_version") > i) {
			store_exec(db, "COMMIT", why, sizeof why);
			continue;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d", i + 1);
		if (store_exec(db, core_migrations[i], why, sizeof why) || store_exec(db, sql, why, sizeof why) ||
		    store_exec(db, "COMMIT", why, sizeof why)) {
			snprintf(err, errlen, "migration %d: %s", i + 1, why);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/* Counts a checkpoint's outcome rc (SQLITE_BUSY, another checkpoint at it,
 * is no failure) and logs a failure: the first one, then every 100th, and
 * the first success after failures. A checkpoint that keeps failing leaves
 * the commits in the WAL, which grows: the disk fills, or a bad sector or a
 * changed file mode stays unseen until it does. Called on both threads. */
static void store_ckpt_note(store *s, sqlite3 *db, int rc, const char *who)
{
	int64_t n;

	if (rc == SQLITE_BUSY)
		return;
	pthread_mutex_lock(&s->ckpt_mu);
	n = rc == SQLITE_OK ? -s->ckpt_failures : ++s->ckpt_failures;
	if (rc == SQLITE_OK)
		s->ckpt_failures = 0;
	pthread_mutex_unlock(&s->ckpt_mu);
	if (rc != SQLITE_OK && (n == 1 || n % 100 == 0))
		log_err("store", "%s: a checkpoint (%s) failed: %s (%d; %lld in a row): the WAL keeps the commits "
			"and grows until one succeeds", s->path, who, sqlite3_errmsg(db), rc, (long long)n);
	else if (n < 0)
		log_info("store", "%s: checkpoints succeed again after %lld failures", s->path, (long long)-n);
}

/* The checkpoint thread: a PASSIVE checkpoint (it never blocks the loop's
 * writes) each time the loop asks, on its own connection, until stopped. */
static void *store_ckpt_main(void *ud)
{
	store *s = ud;
	sqlite3 *db = NULL;
	int rc;

	/* A connection that has not read the file yet does not know it is in WAL
	 * mode, and its checkpoints do nothing: read the journal mode first. */
	if ((rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(db, "PRAGMA journal_mode", NULL, NULL, NULL)) != SQLITE_OK) {
		log_err("store", "%s: the checkpoint thread cannot open it: %s; the loop checkpoints past %d WAL pages",
			s->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), STORE_CKPT_INLINE);
		sqlite3_close(db);
		db = NULL;
	}
	pthread_mutex_lock(&s->ckpt_mu);
	for (;;) {
		while (!s->ckpt_want && !s->ckpt_stop)
			pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
		if (s->ckpt_stop)
			break;
		s->ckpt_want = 0;
		pthread_mutex_unlock(&s->ckpt_mu);
		if (db)
			store_ckpt_note(s, db, sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
					"thread");
		pthread_mutex_lock(&s->ckpt_mu);
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	sqlite3_close(db);
	return NULL;
}

/* After every commit on the loop's connection: wakes the checkpoint thread
 * each time the WAL grew by STORE_CKPT_PAGES pages (it starts over from the
 * beginning after a complete checkpoint), not at every commit; past
 * STORE_CKPT_INLINE pages also checkpoints here (see the top). */
static int store_wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	store *s = ud;

	s->commits++;
	if (pages < s->ckpt_asked)
		s->ckpt_asked = 0;
	if (pages >= STORE_CKPT_INLINE)
		store_ckpt_note(s, db, sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
				"loop");
	if (pages >= s->ckpt_asked + STORE_CKPT_PAGES) {
		s->ckpt_asked = pages;
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_want = 1;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
	}
	return SQLITE_OK;
}

/* Starts the checkpoint thread for a file database; without it (no memory,
 * no thread) SQLite's automatic checkpoints stay on. */
static void store_ckpt_start(store *s)
{
	if (!s->path)
		return;
	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->ckpt_cv, NULL);
	if (pthread_create(&s->ckpt, NULL, store_ckpt_main, s)) {
		pthread_cond_destroy(&s->ckpt_cv);
		pthread_mutex_destroy(&s->ckpt_mu);
		return;
	}
	s->ckpt_on = 1;
	sqlite3_wal_hook(s->db, store_wal_hook, s);   /* replaces the automatic checkpoint */
}

/* Stops and joins the checkpoint thread; the last close checkpoints. */
static void store_ckpt_stop(store *s)
{
	if (!s->ckpt_on)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&s->ckpt_mu);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_cv);
	pthread_mutex_unlock(&s->ckpt_mu);
	pthread_join(s->ckpt, NULL);
	pthread_cond_destroy(&s->ckpt_cv);
	pthread_mutex_destroy(&s->ckpt_mu);
	s->ckpt_on = 0;
}

/* The page cache: 1 MiB, not SQLite's 2 MiB. The hot pages (the B-trees'
 * upper levels, the newest ids and outbox rows) fit; the rest comes from the
 * OS page cache. make bench: RSS after the run ~1 MB lower, the same msg/s
 * and dedup cost at 200k ids. */
#define STORE_CACHE_KIB "-1024"

/* How long the quick_check at open may take: on a large database it stops
 * there, having checked what it got to (README, Benchmarks: ~0.3 s for a
 * 230 MB file in the page cache, 3 s from a cold disk). */
#define STORE_CHECK_MS 500

/* The quick_check's watchdog: SQLite 3.40 runs the check as one VDBE
 * opcode, so a progress handler is never called inside it, but
 * sqlite3_interrupt() (safe from another thread) stops it. */
typedef struct {
	sqlite3 *db;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
} store_watchdog;

/* The watchdog thread: interrupts the check at STORE_CHECK_MS unless it is
 * done before. */
static void *store_watchdog_main(void *ud)
{
	store_watchdog *w = ud;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += STORE_CHECK_MS / 1000;
	until.tv_nsec += (STORE_CHECK_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) {
			if (!w->done)
				sqlite3_interrupt(w->db);
			break;
		}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* PRAGMA quick_check, stopped after STORE_CHECK_MS. Returns 0 when it found
 * nothing (also when it ran out of time), -1 with err set when it found damage
 * or could not run. */
static int store_quick_check(sqlite3 *db, char *err, size_t errlen)
{
	store_watchdog w = { .db = db };
	pthread_condattr_t ca;
	pthread_t th;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, bad = 0, watching;

	err[0] = '\0';
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(3)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
		return -1;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	pthread_condattr_destroy(&ca);
	watching = pthread_create(&th, NULL, store_watchdog_main, &w) == 0;   /* else unbounded */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t && !strcmp(t, "ok"))
			continue;
		bad = 1;
		if (n < errlen)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", n ? "; " : "quick_check: ", t ? t : "?");
	}
	if (watching) {
		pthread_mutex_lock(&w.mu);
		w.done = 1;
		pthread_cond_signal(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(th, NULL);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	for (char *p = err; *p; p++)
		if (*p == '\n')
			*p = ' ';      /* "*** in database main ***\nPage 6: ..." on one log line */
	if (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT && !bad)
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return bad || (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT) ? -1 : 0;
}

/* 1 when SQLite's last error on db says the file is damaged or no database. */
static int store_damaged(sqlite3 *db)
{
	int rc = sqlite3_errcode(db) & 0xff;

	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Notes the inodes of the database file and of its WAL (once it exists) and
 * the WAL's size, for store_watch_check. */
static void store_watch_note(store *s)
{
	struct stat a;
	char wal[4200];

	if (!s->path)
		return;
	if (!s->db_ino && !stat(s->path, &a)) {
		s->db_dev = a.st_dev;
		s->db_ino = a.st_ino;
	}
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	if (!s->watch && !stat(wal, &a)) {
		s->wal_dev = a.st_dev;
		s->wal_ino = a.st_ino;
		s->wal_size = a.st_size;
		s->watch = 1;
	}
}

/* Checks that the database file and its WAL are still the files SQLite has
 * open, and that the WAL did not shrink (SQLite never truncates it while a
 * connection is open: no journal_size_limit, no TRUNCATE checkpoints). A WAL
 * deleted, replaced or cut under the process loses the commits it held for
 * any later start: their effects must not leave the process. Two stat()s.
 * Returns 0, or -1 with err set naming the file. */
static int store_watch_check(store *s, char *err, size_t errlen)
{
	struct stat a;
	char wal[4200];

	if (!s->path || !s->db_ino)
		return 0;
	if (stat(s->path, &a) || a.st_dev != s->db_dev || a.st_ino != s->db_ino) {
		snprintf(err, errlen, "%s was deleted or replaced under the running process (%s)", s->path,
			 errno == ENOENT ? "gone" : "another file now");
		return -1;
	}
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	if (!s->watch) {
		store_watch_note(s);
		return 0;
	}
	if (stat(wal, &a)) {
		snprintf(err, errlen, "%s was deleted under the running process: the commits in it are lost for any "
			 "later start", wal);
		return -1;
	}
	if (a.st_dev != s->wal_dev || a.st_ino != s->wal_ino) {
		snprintf(err, errlen, "%s was replaced under the running process: the commits in it are lost for any "
			 "later start", wal);
		return -1;
	}
	if (a.st_size < s->wal_size) {
		snprintf(err, errlen, "%s was truncated under the running process (%lld to %lld bytes): the commits "
			 "in it are lost for any later start", wal, (long long)s->wal_size, (long long)a.st_size);
		return -1;
	}
	s->wal_size = a.st_size;
	return 0;
}

/* Syncs the WAL file the connection has open (what synchronous=FULL does at
 * every commit; PRAGMA synchronous cannot change inside the transaction
 * where we learn that it matters). Returns 0, or -1 with err set. */
static int store_sync_wal(store *s, char *err, size_t errlen)
{
	sqlite3_file *f = NULL;
	int rc;

	if (!s->path)
		return 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods) {
		snprintf(err, errlen, "%s-wal: the WAL file is not open: cannot sync it", s->path);
		return -1;
	}
	if ((rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s-wal: sync: %s", s->path, sqlite3_errstr(rc));
		return -1;
	}
	s->durable_commits++;
	return 0;
}

#define STORE_KV_SEQ "core.durable_seq"

/* Counts one more durable commit in kv (inside the transaction that makes
 * it). Returns 0, or -1 with err set. */
static int store_seq_bump(store *s, char *err, size_t errlen)
{
	char v[24];

	snprintf(v, sizeof v, "%lld", (long long)(s->durable_seq + 1));
	if (store_kv_set(s, STORE_KV_SEQ, v)) {
		snprintf(err, errlen, "%s: recording a durable commit: %s", s->path ? s->path : ":memory:",
			 sqlite3_errmsg(s->db));
		return -1;
	}
	s->durable_seq++;
	return 0;
}

/* Writes the run lock's line: "pid seq account". 0 or -1. */
static int store_lock_write(int fd, int64_t seq, const char *account)
{
	char buf[300];
	int n = snprintf(buf, sizeof buf, "%ld %lld %s\n", (long)getpid(), (long long)seq, account);

	if (n >= (int)sizeof buf)
		n = (int)sizeof buf - 1;
	/* The line first, then the cut: a crash between leaves a line, and
	 * whatever followed it after its newline. */
	return pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) ? -1 : 0;
}

/* After a durable commit: the WAL synced, then the count in the lock file
 * (no sync: it is only ever behind the database after a power cut, never
 * ahead), which the next start compares (store_use_lock). 0 or -1. */
static int store_durable_done(store *s, char *err, size_t errlen)
{
	if (store_sync_wal(s, err, errlen))
		return -1;
	if (s->lockfd >= 0 && store_lock_write(s->lockfd, s->durable_seq, s->lock_account))
		log_warn("store", "%s.lock: cannot write: %s", s->path, strerror(errno));
	return 0;
}

store *store_open(const char *path, char *err, size_t errlen)
{
	store *s = calloc(1, sizeof *s);
	char why[512];
	int i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->lockfd = -1;
	if (strcmp(path, ":memory:") && !(s->path = util_strndup(path, strlen(path)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* The absolute name SQLite made of path: the checks by name (the WAL's
	 * stat, the checkpoint thread's open) hold after a chdir. */
	if (s->path) {
		const char *full = sqlite3_db_filename(s->db, "main");
		char *copy = full && *full ? util_strndup(full, strlen(full)) : NULL;

		if (copy) {
			free(s->path);
			s->path = copy;
		}
	}
	if (store_wal(s->db, path, why, sizeof why) ||
	    store_exec(s->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=" STORE_CACHE_KIB,
		       why, sizeof why) ||
	    store_quick_check(s->db, why, sizeof why) ||
	    store_migrate(s->db, why, sizeof why)) {
		if (store_damaged(s->db) || !strncmp(why, "quick_check: ", 13))
			snprintf(err, errlen, "%s is damaged (%s): stop shopkeep, move it and its -wal and -shm files "
				 "aside, and restore the last backup (README, \"Backup and restore\")", path, why);
		else
			snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	for (i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %d: %s", path, i, sqlite3_errmsg(s->db));
			goto fail;
		}
	{
		char *v = NULL;

		if (store_kv_get(s, STORE_KV_SEQ, &v) == 0 && v)
			s->durable_seq = strtoll(v, NULL, 10);
		free(v);
	}
	store_watch_note(s);
	store_ckpt_start(s);
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(store *s)
{
	int i;

	if (!s)
		return;
	if (s->batch && store_batch_commit(s) < 0)
		fprintf(stderr, "store: the last batch did not commit at close\n");
	store_ckpt_stop(s);
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->sync_sends);
	free(s->lock_account);
	free(s->path);
	free(s);
}

sqlite3 *store_db(store *s)
{
	return s->db;
}

/* 0 when it opened a batch, 1 when one is open already (or another
 * transaction is: migrations, a plugin's own), -1 when BEGIN failed within
 * wait_ms (another writer holds the lock: SQLITE_BUSY; or an I/O error).
 * The connection's busy timeout is STORE_BUSY_MS again afterwards. */
int store_batch_begin_wait(store *s, int wait_ms)
{
	int rc;

	if (s->batch || !sqlite3_get_autocommit(s->db))
		return 1;
	if (wait_ms != STORE_BUSY_MS)
		sqlite3_busy_timeout(s->db, wait_ms);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (wait_ms != STORE_BUSY_MS)
		sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK)
		return -1;
	s->batch = 1;
	return 0;
}

/* store_batch_begin_wait with the connection's whole busy timeout. */
int store_batch_begin(store *s)
{
	return store_batch_begin_wait(s, STORE_BUSY_MS);
}

/* The connection's last error message (SQLite's own; valid until the next call). */
const char *store_errmsg(store *s)
{
	return sqlite3_errmsg(s->db);
}

int store_batch_open(const store *s)
{
	return s->batch;
}

/* 0 when the batch committed (or none was open); -1, with err set, when it
 * did not: COMMIT failed, or SQLite had rolled the batch back by itself
 * already (SQLITE_FULL, SQLITE_IOERR and the like end a transaction). The
 * batch is over in both cases; its writes are gone. */
int store_batch_commit_err(store *s, char *err, size_t errlen)
{
	int rc;

	if (!s->batch)
		return 0;
	s->batch = 0;
	if (sqlite3_get_autocommit(s->db)) {
		snprintf(err, errlen, "the batch was rolled back by SQLite (a write in it failed)");
		return -1;
	}
	/* Before COMMIT too: a WAL cut to nothing grows again with the commit. */
	if (store_watch_check(s, err, errlen) || (s->batch_durable && store_seq_bump(s, err, errlen))) {
		s->batch_durable = 0;
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		s->batch_durable = 0;
		snprintf(err, errlen, "COMMIT: %s", sqlite3_errmsg(s->db));
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->batches++;
	if (store_watch_check(s, err, errlen))
		return -1;
	if (s->batch_durable) {
		s->batch_durable = 0;
		if (store_durable_done(s, err, errlen))
			return -1;
	}
	return 0;
}

int64_t store_durable_commits(const store *s)
{
	return s->durable_commits;
}

int64_t store_ckpt_failures(store *s)
{
	int64_t n;

	if (!s->ckpt_on)
		return 0;
	pthread_mutex_lock(&s->ckpt_mu);
	n = s->ckpt_failures;
	pthread_mutex_unlock(&s->ckpt_mu);
	return n;
}

int store_batch_commit(store *s)
{
	char err[256];

	return store_batch_commit_err(s, err, sizeof err);
}

int64_t store_batches(const store *s)
{
	return s->batches;
}

int64_t store_commits(const store *s)
{
	return s->commits;
}

/* Returns PRAGMA user_version, -1 on error. */
int store_schema_version(store *s)
{
	return store_pragma_int(s->db, "PRAGMA user_version");
}

/* Returns 0 with *v malloc'd (NULL for a NULL value), 1 when k is absent, -1 on error. */
int store_kv_get(store *s, const char *k, char **v)
{
	sqlite3_stmt *st = s->st[ST_KV_GET];
	int rc, oom = 0;

	*v = NULL;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = store_col_dup(st, 0, &oom);
	store_done(st);
	if (rc == SQLITE_ROW)
		return oom ? -1 : 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

/* Sets k to v (a NULL v deletes k). Returns 0 or -1. */
int store_kv_set(store *s, const char *k, const char *v)
{
	sqlite3_stmt *st = s->st[v ? ST_KV_SET : ST_KV_DEL];

	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	if (v) {
		sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, util_now_ms());
	}
	return store_exec_st(s, st) < 0 ? -1 : 0;
}

/* Returns 0 with the token's strings malloc'd, 1 when the account has none, -1 on error. */
int store_token_get(store *s, const char *account, char **token, char **did, int64_t *expires_ms)
{
	sqlite3_stmt *st = s->st[ST_TOKEN_GET];
	int rc, oom = 0;

	*token = *did = NULL;
	*expires_ms = 0;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*token = store_col_dup(st, 0, &oom);
		*did = store_col_dup(st, 1, &oom);
		*expires_ms = sqlite3_column_int64(st, 2);
	}
	store_done(st);
	if (rc == SQLITE_ROW && oom) {
		free(*token);
		free(*did);
		*token = *did = NULL;
		return -1;
	}
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : -1;
}

/* Stores (replaces) the account's token. Returns 0 or -1. */
int store_token_set(store *s, const char *account, const char *token, const char *did, int64_t expires_ms)
{
	sqlite3_stmt *st = s->st[ST_TOKEN_SET];

	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	store_bind_text(st, 2, token);
	store_bind_text(st, 3, did);
	sqlite3_bind_int64(st, 4, expires_ms);
	sqlite3_bind_int64(st, 5, util_now_ms());
	return store_exec_st(s, st) < 0 ? -1 : 0;
}

/* Forgets the account's token. Returns 0 (also when there was none) or -1. */
int store_token_clear(store *s, const char *account)
{
	sqlite3_stmt *st = s->st[ST_TOKEN_CLEAR];

	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	return store_exec_st(s, st) < 0 ? -1 : 0;
}

/* Sets whose sends are synced (state.sync_sends): "all", "none", or plugin
 * names separated by commas ("core" for the core's own sends). Returns 0, -1
 * out of memory (then all are). */
int store_sync_sends(store *s, const char *spec)
{
	free(s->sync_sends);
	s->sync_sends = NULL;
	if (!spec || !strcmp(spec, "all"))
		return 0;
	s->sync_sends = util_strndup(spec, strlen(spec));
	return s->sync_sends ? 0 : -1;
}

/* 1 when a send queued by plugin (NULL or "": the core) is to be synced. */
static int store_sync_match(const store *s, const char *plugin)
{
	const char *p = s->sync_sends, *name = plugin && *plugin ? plugin : "core";
	size_t n = strlen(name);

	if (!p)
		return 1;
	while (*p) {
		size_t len;

		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len;
	}
	return 0;
}

/* Returns the new row's id (> 0), STORE_OUTBOX_BAD (-1) for bad arguments (a
 * string that does not fit outbox_row, a kind other than text/image),
 * STORE_OUTBOX_DUP (-2) for a uuid the outbox has already, or STORE_OUTBOX_ERR
 * (-3) when SQLite failed (store_errmsg says why). */
int64_t store_outbox_add(store *s, const char *uuid, const char *cid, const char *buyer,
			 const char *kind, const char *payload, const char *plugin, const char *tag,
			 int64_t now_ms)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_ADD];
	outbox_row r;
	int64_t id;
	int rc, xrc;

	if (!uuid || !cid || !buyer || !kind || !payload || !uuid[0] ||
	    strlen(uuid) >= sizeof r.uuid || strlen(cid) >= sizeof r.cid ||
	    strlen(buyer) >= sizeof r.buyer || (strcmp(kind, "text") && strcmp(kind, "image")) ||
	    (plugin && strlen(plugin) >= sizeof r.plugin) || (tag && strlen(tag) >= sizeof r.tag))
		return STORE_OUTBOX_BAD;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, buyer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, payload, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, now_ms);
	sqlite3_bind_text(st, 7, plugin ? plugin : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, tag ? tag : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	xrc = sqlite3_extended_errcode(s->db);
	store_done(st);
	if (rc != SQLITE_DONE)
		return xrc == SQLITE_CONSTRAINT_UNIQUE ? STORE_OUTBOX_DUP : STORE_OUTBOX_ERR;
	/* A send that may carry stock (state.sync_sends names its plugin) must be
	 * on disk before it leaves the process: its batch's commit syncs the WAL,
	 * which makes every earlier commit durable too, and is counted. Other
	 * batches (replies, ACKs, dedup ids) stay on synchronous=NORMAL: lost on
	 * a power cut, they make the platform push again. Outside a batch the
	 * insert has committed already (or commits with a transaction of someone
	 * else's: the next durable batch's sync covers it). */
	if (!store_sync_match(s, plugin))
		return sqlite3_last_insert_rowid(s->db);
	id = sqlite3_last_insert_rowid(s->db);
	s->batch_durable = 1;
	if (!s->batch && sqlite3_get_autocommit(s->db)) {
		char err[256];

		s->batch_durable = 0;
		if (store_seq_bump(s, err, sizeof err) || store_durable_done(s, err, sizeof err)) {
			log_err("store", "%s", err);
			return STORE_OUTBOX_ERR;
		}
	}
	return id;
}

/* Deletes at most limit sends that finished (answered or refused) before
 * before_ms, the oldest first. It waits for no other writer: a locked
 * database is -1 at once (the caller tries again later). Returns the number
 * of rows deleted, or -1. */
int store_outbox_prune(store *s, int64_t before_ms, int limit)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_PRUNE];
	int n;

	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_busy_timeout(s->db, 0);
	n = store_exec_st(s, st);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	return n;
}

/* Moves a pending send to a final state with its text column (message_id or
 * reason). Returns 0, 1 when the uuid is unknown or not pending, -1 on error. */
static int store_outbox_finish(store *s, int which, const char *uuid, const char *text)
{
	sqlite3_stmt *st = s->st[which];
	int n;

	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	store_bind_text(st, 2, text);
	sqlite3_bind_int64(st, 3, util_now_ms());
	n = store_exec_st(s, st);
	return n < 0 ? -1 : n ? 0 : 1;
}

/* Marks a send answered with its messageId: 0, 1 when the uuid is unknown or
 * not pending, -1 on error. */
int store_outbox_done(store *s, const char *uuid, const char *message_id)
{
	return store_outbox_finish(s, ST_OUTBOX_DONE, uuid, message_id);
}

/* Marks a send refused with the platform's reason: 0, 1 when the uuid is
 * unknown or not pending, -1 on error. */
int store_outbox_refused(store *s, const char *uuid, const char *reason)
{
	return store_outbox_finish(s, ST_OUTBOX_REFUSED, uuid, reason);
}

/* Returns 0, 1 when the uuid is unknown or not pending, -1 on error. */
int store_outbox_attempt(store *s, const char *uuid)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_ATTEMPT];
	int n;

	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, util_now_ms());
	n = store_exec_st(s, st);
	return n < 0 ? -1 : n ? 0 : 1;
}

/* Copies a text column into a fixed buffer (the lengths were checked on add). */
static void store_col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* Reads the rows first and only then calls cb, so that cb may call the other
 * outbox functions (mark done, count an attempt) without disturbing a running
 * SELECT. Returns the number of rows, or -1. */
int store_outbox_pending_from(store *s, int64_t after_id, int limit,
			      void (*cb)(const outbox_row *r, void *ud), void *ud)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_PENDING];
	outbox_row *rows = NULL, *r;
	size_t n = 0, cap = 0, i;
	int rc, oom = 0;

	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;

			r = realloc(rows, ncap * sizeof *rows);
			if (!r) {
				oom = 1;
				break;
			}
			rows = r;
			cap = ncap;
		}
		r = &rows[n];
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(st, 0);
		store_col_copy(st, 1, r->uuid, sizeof r->uuid);
		store_col_copy(st, 2, r->cid, sizeof r->cid);
		store_col_copy(st, 3, r->buyer, sizeof r->buyer);
		store_col_copy(st, 4, r->kind, sizeof r->kind);
		r->payload = store_col_dup(st, 5, &oom);
		r->state = sqlite3_column_int(st, 6);
		r->attempts = sqlite3_column_int(st, 7);
		r->created_ms = sqlite3_column_int64(st, 8);
		store_col_copy(st, 9, r->plugin, sizeof r->plugin);
		store_col_copy(st, 10, r->tag, sizeof r->tag);
		n++;
		if (oom)
			break;
	}
	store_done(st);
	if (!oom && rc == SQLITE_DONE)
		for (i = 0; i < n; i++)
			cb(&rows[i], ud);
	for (i = 0; i < n; i++)
		free(rows[i].payload);
	free(rows);
	if (oom || rc != SQLITE_DONE)
		return -1;
	return (int)n;
}

/* The number of pending sends, or -1. */
int64_t store_outbox_pending_count(store *s)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_COUNT];
	int64_t n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	store_done(st);
	return n;
}

/* Returns 0 with the send's state (and message_id / reason malloc'd or NULL;
 * any output pointer may be NULL), 1 when the uuid is unknown, -1 on error. */
int store_outbox_get(store *s, const char *uuid, int *state, char **message_id, char **reason)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_GET];
	char *mid = NULL, *why = NULL;
	int rc, oom = 0;

	if (message_id)
		*message_id = NULL;
	if (reason)
		*reason = NULL;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (state)
			*state = sqlite3_column_int(st, 0);
		if (message_id)
			mid = store_col_dup(st, 1, &oom);
		if (reason)
			why = store_col_dup(st, 2, &oom);
	}
	store_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 1 : -1;
	if (oom) {
		free(mid);
		free(why);
		return -1;
	}
	if (message_id)
		*message_id = mid;
	if (reason)
		*reason = why;
	return 0;
}

/* Returns 1 when a send of the outbox was answered with message_id (an own
 * message with that IM id is its echo), 0 when none was, -1 on error. */
int store_outbox_sent_as(store *s, const char *message_id)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_SENT_AS];
	int rc;

	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Returns 0 with the latest send of plugin with tag: its uuid (uuid_out, 40
 * bytes), state, and *detail malloc'd (the message id of a sent one, the
 * reason of a refused one, NULL while pending); any output may be NULL.
 * 1 when there is none, -1 on bad arguments (NULL, an empty tag) or error. */
int store_outbox_find(store *s, const char *plugin, const char *tag, char *uuid_out, int *state, char **detail)
{
	sqlite3_stmt *st = s->st[ST_OUTBOX_FIND];
	char *d = NULL;
	int rc, oom = 0, stv = 0;

	if (uuid_out)
		uuid_out[0] = '\0';
	if (detail)
		*detail = NULL;
	if (!plugin || !tag || !*tag)
		return -1;
	sqlite3_bind_text(st, 1, plugin, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		stv = sqlite3_column_int(st, 1);
		if (uuid_out)
			store_col_copy(st, 0, uuid_out, sizeof ((outbox_row *)0)->uuid);
		if (detail && stv == OUTBOX_DONE)
			d = store_col_dup(st, 2, &oom);
		else if (detail && stv == OUTBOX_REFUSED)
			d = store_col_dup(st, 3, &oom);
	}
	store_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 1 : -1;
	if (oom) {
		if (uuid_out)
			uuid_out[0] = '\0';
		return -1;
	}
	if (state)
		*state = stv;
	if (detail)
		*detail = d;
	return 0;
}

/* Reads the run lock's line "pid seq account" of fd into buf: *pid and
 * *account point into buf ("" when absent), *seq is 0 when absent. */
static void store_lock_read(int fd, char *buf, size_t n, const char **pid, int64_t *seq, const char **account)
{
	ssize_t got = pread(fd, buf, n - 1, 0);
	char *p, *e;

	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	*pid = buf;
	*account = "";
	*seq = 0;
	if (!(p = strchr(buf, ' ')))
		return;
	*p++ = '\0';
	*seq = strtoll(p, &e, 10);
	if (e != p && *e == ' ')
		*account = e + 1;
	else
		*seq = 0;
}

/* Takes the run lock of the database at path: flock() on "<path>.lock"
 * (0600), not on the database, whose POSIX locks SQLite holds and any close()
 * of another descriptor of it would drop. The file names the holder for the
 * next one's error and keeps the count of durable commits (store_use_lock):
 * "pid seq account". Returns the descriptor, to keep open for the life of
 * the process, or with err set -1 when another process holds it (who), -2
 * when the lock file cannot be made or locked. */
int store_lock(const char *path, const char *account, char *err, size_t errlen)
{
	char lpath[4200], buf[300];
	const char *pid, *holder;
	int64_t seq;
	int fd;

	if (!strcmp(path, ":memory:"))
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(lpath, sizeof lpath, "%s.lock", path);
	if ((fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "state.db %s: cannot make its lock file %s: %s", path, lpath, strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "state.db %s: cannot lock %s: %s", path, lpath, strerror(e));
			return -2;
		}
		if (!*holder)
			snprintf(err, errlen, "state.db %s is in use by another process (%s holds %s)", path,
				 *pid ? pid : "?", lpath);
		else if (!strcmp(holder, account))
			snprintf(err, errlen, "account %s is running already on state.db %s (pid %s holds %s); this one "
				 "stops", account, path, pid, lpath);
		else
			snprintf(err, errlen, "state.db %s is in use by account %s (pid %s holds %s): account %s cannot "
				 "run on it; give each account its own state.db", path, holder, pid, lpath, account);
		return -1;
	}
	store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
	if (store_lock_write(fd, seq, account)) {
		snprintf(err, errlen, "state.db %s: cannot write its lock file %s: %s", path, lpath, strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

/* Hands the run lock (store_lock's fd, kept by the caller) to the store:
 * each durable commit writes its count there. First compares the counts: a
 * database that has had fewer durable commits than the lock file saw lost
 * them - its WAL deleted or truncated after a crash, or an older copy put
 * back - and codes sent by them would be handed out again. Returns 0, or -1
 * with err set (the store is not to be run). */
int store_use_lock(store *s, int fd, const char *account, char *err, size_t errlen)
{
	char buf[300];
	const char *pid, *holder;
	int64_t seq;

	if (!s->path)
		return 0;
	store_lock_read(fd, buf, sizeof buf, &pid, &seq, &holder);
	if (seq > s->durable_seq) {
		snprintf(err, errlen, "%s has lost commits: %lld durable commits (deliveries) were made, it holds %lld "
			 "(its -wal was deleted or truncated after a crash, or an older copy was put back); codes those "
			 "deliveries sent may be free again in it. Restore the latest backup or check the stock against "
			 "the platform's orders (shopkeep orders list), then remove %s.lock to start anyway", s->path,
			 (long long)seq, (long long)s->durable_seq, s->path);
		return -1;
	}
	free(s->lock_account);
	if (!(s->lock_account = util_strndup(account, strlen(account)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->lockfd = fd;
	if (seq < s->durable_seq && store_lock_write(fd, s->durable_seq, account))
		log_warn("store", "%s.lock: cannot write: %s", s->path, strerror(errno));
	return 0;
}

#define STORE_KV_ACCOUNT "core.account_id"

/* The account a database belongs to: recorded at its first open by a
 * command that names one; another account is refused, since its process
 * would answer the first's buyers with the first's stock. Returns 0, or -1
 * with err set naming both accounts and the file. */
int store_account(store *s, const char *account, char *err, size_t errlen)
{
	char *v = NULL;
	int rc = store_kv_get(s, STORE_KV_ACCOUNT, &v);

	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read its account: %s", s->path ? s->path : ":memory:",
			 sqlite3_errmsg(s->db));
		return -1;
	}
	if (rc == 1 || !v) {
		free(v);
		if (store_kv_set(s, STORE_KV_ACCOUNT, account)) {
			snprintf(err, errlen, "%s: cannot record its account: %s", s->path ? s->path : ":memory:",
				 sqlite3_errmsg(s->db));
			return -1;
		}
		return 0;
	}
	if (strcmp(v, account)) {
		snprintf(err, errlen, "%s belongs to account %s, not to account %s (this config's "
			 "account.id): give each account its own state.db", s->path ? s->path : ":memory:", v, account);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

#define STORE_BACKUP_PAGES 256     /* pages per step: 1 MiB of 4 KiB pages */
#define STORE_BACKUP_SLEEP_MS 2    /* between steps, so the copy does not hog the disk */

/* Copies the database at path into dest with SQLite's online backup API,
 * safe beside a running process: one read transaction held on the source
 * for the whole copy (in WAL mode it blocks no writer; the copy is that
 * moment's state and never starts over), steps of STORE_BACKUP_PAGES
 * pages. dest is written as a temp file (0600) in its folder, synced,
 * checked, and renamed over dest. Returns 0, or -1 with err set. */
int store_backup(const char *path, const char *dest, char *err, size_t errlen)
{
	char tmp[4200], dir[4200], why[256], *slash;
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int fd, rc, done = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", dest) >= (int)sizeof tmp) {
		snprintf(err, errlen, "%s: the name is too long", dest);
		return -1;
	}
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
		sqlite3_close(src);
		return -1;
	}
	sqlite3_busy_timeout(src, 5000);
	if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(src));
		sqlite3_close(src);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		sqlite3_close(src);
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    !(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		snprintf(err, errlen, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	while ((rc = sqlite3_backup_step(b, STORE_BACKUP_PAGES)) == SQLITE_OK || rc == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED)
		sqlite3_sleep(STORE_BACKUP_SLEEP_MS);
	done = rc == SQLITE_DONE;
	rc = sqlite3_backup_finish(b);
	if (!done || rc != SQLITE_OK) {
		snprintf(err, errlen, "copying %s into %s: %s", path, tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(src);
	src = NULL;
	/* The copy must be a sound database before it replaces anything. */
	if (store_quick_check(dst, why, sizeof why)) {
		snprintf(err, errlen, "%s: the copy does not check out: %s", tmp, why);
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	dst = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, dest)) {
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof dir, "%s", dest);
	if ((slash = strrchr(dir, '/')))
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	sqlite3_close(dst);
	sqlite3_close(src);
	unlink(tmp);
	return -1;
}
