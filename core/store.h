/* SPDX-License-Identifier: MIT */
/*
 * core/store.h - the account's SQLite state: schema migrations (db/), the IM
 * token cache, the merged cookie, and the durable outbox of sends.
 *
 * All calls are short and run on the event loop thread.
 */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct sqlite3 sqlite3;

/* How long a statement waits for another connection's write lock (SQLite's
 * busy timeout), in ms. */
#define STORE_BUSY_MS 5000

/* Opens (creating) the file, WAL, foreign keys, busy timeout, a quick_check
 * bounded in time (a damaged file is an error naming it and the way back),
 * and runs the core migrations of db/core_migrations.h. NULL with err set on
 * failure. */
store *store_open(const char *path, char *err, size_t errlen);
void store_close(store *s);
/* The run lock of the database at path (flock on "<path>.lock", 0600): one
 * process runs on a state.db, whatever its control socket. The descriptor
 * (>= 0) to keep open while running, or -1 with err saying who holds it,
 * -2 when the lock file cannot be made (err says why).
 * CLI commands do not take it: they write beside a running process. */
int store_lock(const char *path, const char *account, char *err, size_t errlen);
/* Gives the store the run lock's fd: durable commits count themselves there.
 * -1 with err set when the database holds fewer durable commits than the
 * lock file counted (lost: a WAL deleted or truncated after a crash, an
 * older copy put back): not to be run. */
int store_use_lock(store *s, int fd, const char *account, char *err, size_t errlen);
/* Records account as the database's owner at its first use; 0, or -1 with
 * err set when it belongs to another account (or on an error). */
int store_account(store *s, const char *account, char *err, size_t errlen);
/* An online copy of the database at path into dest (0600, atomic: temp file
 * and rename), safe beside a running process. 0, or -1 with err set. */
int store_backup(const char *path, const char *dest, char *err, size_t errlen);
sqlite3 *store_db(store *s);
int store_schema_version(store *s);
/* The connection's last error message (SQLite's). */
const char *store_errmsg(store *s);

/* Group commit (see store.c): begin 0 opened, 1 one is open already, -1
 * failed; commit 0 done or none open, -1 the batch's writes are lost (err
 * says why). A caller that gets -1 from commit must not let anything that
 * depended on those writes leave the process. */
int store_batch_begin(store *s);
/* The same, waiting at most wait_ms for another writer's lock (the session's
 * turns: a turn that cannot open its batch waits and tries again). */
int store_batch_begin_wait(store *s, int wait_ms);
int store_batch_open(const store *s);
int store_batch_commit(store *s);
int store_batch_commit_err(store *s, char *err, size_t errlen);
int64_t store_batches(const store *s);   /* batches committed so far */
int64_t store_commits(const store *s);   /* all commits so far (a file database's) */
/* A batch that queued a send (store_outbox_add) of a plugin store_sync_sends
 * names is durable: its commit syncs the WAL before it returns. Every commit
 * also checks that the database file and its WAL were not deleted, replaced
 * or truncated under the process: -1 (exit 74) when they were. */
/* Whose sends make their batch durable: "all" (or NULL: the default),
 * "none", or plugin names separated by commas, "core" for the core's own
 * sends. 0, or -1 out of memory (then all are). */
int store_sync_sends(store *s, const char *spec);
int64_t store_durable_commits(const store *s);   /* commits whose WAL was synced after them */
int64_t store_ckpt_failures(store *s);           /* checkpoints failed in a row (logged) */

/* Key/value. get: 0 with *v malloc'd, 1 when absent, -1 on error. */
int store_kv_get(store *s, const char *k, char **v);
int store_kv_set(store *s, const char *k, const char *v);

/* The IM token cache of an account: token, the device id it was minted for,
 * and when it expires. get: 0 found (strings malloc'd), 1 none, -1 error. */
int store_token_get(store *s, const char *account, char **token, char **did, int64_t *expires_ms);
int store_token_set(store *s, const char *account, const char *token, const char *did, int64_t expires_ms);
int store_token_clear(store *s, const char *account);

/* The outbox: a send is pending until the platform answers with a messageId
 * (done) or refuses it (refused, with the reason). Unanswered sends are sent
 * again under the same uuid. */
typedef enum { OUTBOX_PENDING = 0, OUTBOX_DONE = 1, OUTBOX_REFUSED = 2 } outbox_state;

typedef struct {
	int64_t id;
	char uuid[40];
	char cid[32];
	char buyer[32];
	char kind[8];            /* "text" or "image" */
	char plugin[40];         /* the plugin that queued it, "" for the core */
	char tag[128];           /* the plugin's tag, "" if none */
	char *payload;           /* text, or the image JSON {"url","width","height"}: malloc'd */
	int state;
	int attempts;
	int64_t created_ms;
} outbox_row;

/* Adds a pending send; returns its id (> 0), or one of the negative codes
 * below. plugin and tag may be NULL. */
#define STORE_OUTBOX_BAD (-1)    /* bad arguments */
#define STORE_OUTBOX_DUP (-2)    /* the uuid is in the outbox already */
#define STORE_OUTBOX_ERR (-3)    /* SQLite failed: store_errmsg */
int64_t store_outbox_add(store *s, const char *uuid, const char *cid, const char *buyer,
			 const char *kind, const char *payload, const char *plugin, const char *tag,
			 int64_t now_ms);
/* Marks a send answered; 0, 1 when the uuid is unknown or not pending, -1 on error. */
int store_outbox_done(store *s, const char *uuid, const char *message_id);
int store_outbox_refused(store *s, const char *uuid, const char *reason);
/* Counts one more attempt of the send. */
int store_outbox_attempt(store *s, const char *uuid);
/* Calls cb for at most limit (-1: all) pending sends with an id above
 * after_id, in id order; cb's row is borrowed. Returns the number of rows,
 * or -1. */
int store_outbox_pending_from(store *s, int64_t after_id, int limit,
			      void (*cb)(const outbox_row *r, void *ud), void *ud);
/* The number of pending sends, or -1. */
int64_t store_outbox_pending_count(store *s);
/* Looks up a send by uuid: 0 found (*state, *message_id malloc'd or NULL), 1 none, -1 error. */
int store_outbox_get(store *s, const char *uuid, int *state, char **message_id, char **reason);
/* The latest send (highest id) plugin queued with tag (non-empty): 0 found with
 * uuid_out (40 bytes), *state and *detail (malloc'd message id when done,
 * reason when refused, NULL while pending) set - each output may be NULL -,
 * 1 none, -1 error or a NULL/empty argument. */
int store_outbox_find(store *s, const char *plugin, const char *tag, char *uuid_out, int *state,
		      char **detail);
/* 1 when a send was answered with message_id (the platform's IM id), 0 when
 * none was, -1 on error. */
int store_outbox_sent_as(store *s, const char *message_id);
/* Deletes at most limit sends that finished before before_ms (oldest first),
 * without waiting for another writer: the number deleted, or -1. */
int store_outbox_prune(store *s, int64_t before_ms, int limit);

#endif
