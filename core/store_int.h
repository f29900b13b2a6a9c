/* SPDX-License-Identifier: MIT */
/*
 * core/store_int.h - what the store's files share, private to them: the
 * prepared statements' ids, struct store, and the helpers one file calls in
 * another.
 *
 *   core/store.c         open and close, WAL and checkpoints, migrations,
 *                        the batch (group commit), kv, the IM token
 *   core/store_outbox.c  the outbox of sends and which of them are durable
 *   core/store_guard.c   what keeps state.db safe: the quick_check at open,
 *                        the file watch, durable-commit counting, the run
 *                        lock, the account record, the online backup
 */
#ifndef SK_STORE_INT_H
#define SK_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* kv key of the count of durable commits (store_seq_bump). */
#define STORE_KV_SEQ "core.durable_seq"

/* core/store.c */
void store_done(sqlite3_stmt *st);
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
char *store_col_dup(sqlite3_stmt *st, int i, int *oom);
int store_exec_st(store *s, sqlite3_stmt *st);

/* core/store_guard.c */
int store_quick_check(sqlite3 *db, char *err, size_t errlen);
int store_damaged(sqlite3 *db);
void store_watch_note(store *s);
int store_watch_check(store *s, char *err, size_t errlen);
int store_seq_bump(store *s, char *err, size_t errlen);
int store_durable_done(store *s, char *err, size_t errlen);

#endif
