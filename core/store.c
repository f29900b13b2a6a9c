/* SPDX-License-Identifier: MIT */
/*
 * core/store.c - the account's SQLite state (techniques.md §13): one
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
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_migrations.h"
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
	/* the checkpoint thread (file databases only) */
	char *path;
	int ckpt_on, ckpt_want, ckpt_stop;
	int ckpt_asked;            /* the WAL's pages when the loop last woke it (loop only) */
	pthread_t ckpt;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	int batch;                 /* store_batch_begin opened a transaction */
	int64_t batches;           /* committed batches (metrics) */
	int64_t commits;           /* every commit on the connection (file databases) */
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

/* The checkpoint thread: a PASSIVE checkpoint (it never blocks the loop's
 * writes) each time the loop asks, on its own connection, until stopped. */
static void *store_ckpt_main(void *ud)
{
	store *s = ud;
	sqlite3 *db = NULL;

	/* A connection that has not read the file yet does not know it is in WAL
	 * mode, and its checkpoints do nothing: read the journal mode first. */
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
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
			sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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
static void store_ckpt_start(store *s, const char *path)
{
	if (!strcmp(path, ":memory:") || !(s->path = util_strndup(path, strlen(path))))
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
	char why[256];
	int i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (store_wal(s->db, path, why, sizeof why) ||
	    store_exec(s->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=" STORE_CACHE_KIB,
		       why, sizeof why) ||
	    store_migrate(s->db, why, sizeof why)) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	for (i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %d: %s", path, i, sqlite3_errmsg(s->db));
			goto fail;
		}
	store_ckpt_start(s, path);
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
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "COMMIT: %s", sqlite3_errmsg(s->db));
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->batches++;
	return 0;
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
	if (rc == SQLITE_DONE)
		return sqlite3_last_insert_rowid(s->db);
	return xrc == SQLITE_CONSTRAINT_UNIQUE ? STORE_OUTBOX_DUP : STORE_OUTBOX_ERR;
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
