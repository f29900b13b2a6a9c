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
 *
 * The outbox is in core/store_outbox.c, the guards (quick_check, file
 * watch, durable-commit counting, run lock, account record, backup) in
 * core/store_guard.c; struct store in core/store_int.h.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_migrations.h"
#include "log.h"
#include "util.h"

/* The statements prepared once at open, by id (store_int.h). */
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

/* Resets a statement after use and drops its bindings. */
void store_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds a string, or NULL when v is NULL. Returns the SQLite code. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Returns a malloc'd copy of a text column, NULL when it is NULL. *oom is set
 * when the copy fails. */
char *store_col_dup(sqlite3_stmt *st, int i, int *oom)
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
int store_exec_st(store *s, sqlite3_stmt *st)
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
