/* SPDX-License-Identifier: MIT */
/*
 * core/store_outbox.c - the outbox (see store.h and store_int.h): every send
 * is a row before it goes out, finished as done (with the platform's
 * messageId) or refused, pruned after send.outbox_keep_days; a batch that
 * queues a send of a plugin named in state.sync_sends is made durable (its
 * WAL synced after the COMMIT, counted in kv and the run lock).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

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

