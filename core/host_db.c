/* SPDX-License-Identifier: MIT */
/*
 * core/host_db.c - the database services of the plugin host: plugin schema
 * migrations, cached prepared statements, sk_db_exec and the plugin
 * transactions (sk_db_begin/commit/rollback).
 *
 * There is one SQLite connection, shared with the core, and the core writes
 * in group commit: one transaction per loop turn (core/store.c
 * store_batch_*). A plugin transaction inside a turn is a savepoint of that
 * batch (in_txn 2), outside a turn a BEGIN of its own (in_txn 1); either way
 * it never outlives the callback that opened it (host_leave in core/host.c
 * rolls it back).
 */
#include "host_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SQLite -------------------------------------------------------------- */

/* Runs sql without rows; 0, or -1 with SQLite's message in why. */
static int host_exec(sqlite3 *db, const char *sql, char *why, size_t whylen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(why, whylen, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* The plugin's schema version in plugin_schema (0 when it has no row), or -1. */
static int host_schema_version(sqlite3 *db, const char *plugin)
{
	sqlite3_stmt *st;
	int v = -1, rc;

	if (sqlite3_prepare_v2(db, "SELECT version FROM plugin_schema WHERE plugin = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, plugin, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		v = 0;
	sqlite3_finalize(st);
	return v;
}

/* Lists, one "type\tname\ttable\tsql" line each, the schema objects that are
 * not the plugin's own: named outside "<prefix>" or on a table outside it
 * (SQLite's internal sqlite_* objects aside). The list starts with "\n", so
 * "\n<line>\n" finds a whole line. Returns 0, or -1 with why set. */
static int host_schema_foreign(sqlite3 *db, const char *prefix, sbuf *out, char *why, size_t whylen)
{
	static const char sql[] =
		"SELECT type, name, tbl_name, replace(replace(ifnull(sql, ''), char(10), ' '), char(13), ' ') "
		"FROM sqlite_master WHERE substr(name, 1, 7) <> 'sqlite_' "
		"AND (lower(substr(name, 1, ?1)) <> ?2 OR lower(substr(tbl_name, 1, ?1)) <> ?2) ORDER BY type, name";
	sqlite3_stmt *st;
	int rc;

	sbuf_reset(out);
	sbuf_adds(out, "\n");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int(st, 1, (int)strlen(prefix));
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sbuf_addf(out, "%s\t%s\t%s\t%s\n", (const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
			  (const char *)sqlite3_column_text(st, 3));
	if (rc != SQLITE_DONE)
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (out->oom)
		snprintf(why, whylen, "out of memory");
	return rc == SQLITE_DONE && !out->oom ? 0 : -1;
}

/* Whether the "\n"-started list holds the line starting at line (up to its "\n"). */
static int host_has_line(const char *list, const char *line)
{
	size_t n = strcspn(line, "\n");
	const char *p;

	for (p = list; (p = strstr(p, "\n")); p++)
		if (!strncmp(p + 1, line, n) && p[1 + n] == '\n')
			return 1;
	return 0;
}

/* Explains how the foreign objects changed between before and after, both
 * from host_schema_foreign (and different). Writes the message to why. */
static void host_schema_blame(const host_plug *pl, int step, const char *before, const char *after, char *why,
			      size_t whylen)
{
	char type[16], name[128], tbl[128];
	const char *line;
	size_t plen = strlen(pl->name);

	for (line = after + 1; *line; line += strcspn(line, "\n") + 1) {
		if (host_has_line(before, line))
			continue;
		if (sscanf(line, "%15[^\t]\t%127[^\t]\t%127[^\t]", type, name, tbl) != 3)
			break;
		if (strncasecmp(name, pl->name, plen) || name[plen] != '_')
			snprintf(why, whylen, "tables of plugin %s must be named %s_... (migration %d creates %s %s)",
				 pl->name, pl->name, step, type, name);
		else
			snprintf(why, whylen, "migration %d of plugin %s creates %s %s on table %s, which is not one "
				 "of its tables (named %s_...)", step, pl->name, type, name, tbl, pl->name);
		return;
	}
	for (line = before + 1; *line; line += strcspn(line, "\n") + 1) {
		if (host_has_line(after, line))
			continue;
		if (sscanf(line, "%15[^\t]\t%127[^\t]", type, name) != 2)
			break;
		snprintf(why, whylen, "migration %d of plugin %s changes or drops %s %s, which is not its own "
			 "(its tables are named %s_...)", step, pl->name, type, name, pl->name);
		return;
	}
	snprintf(why, whylen, "migration %d of plugin %s changes objects that are not its own", step, pl->name);
}

/* Creates plugin_schema when the database lacks it (a database the core
 * migrations never ran on, such as a bare in-memory one). 0 or -1. */
static int host_schema_table(host *h, char *why, size_t whylen)
{
	if (h->schema_ready)
		return 0;
	if (host_exec(h->cfg.db, "CREATE TABLE IF NOT EXISTS plugin_schema(plugin TEXT PRIMARY KEY, "
		      "version INTEGER NOT NULL) STRICT", why, whylen))
		return -1;
	h->schema_ready = 1;
	return 0;
}

/* Runs the plugin's missing migration steps, each with its version in one
 * BEGIN IMMEDIATE ... COMMIT, refusing a step that creates, changes or drops
 * schema objects outside the plugin's prefix. Returns 0, or -1 with a
 * one-line reason in why. */
int host_migrate(host *h, host_plug *pl, char *why, size_t whylen)
{
	const char *const *m = pl->desc->migrations;
	sqlite3 *db = h->cfg.db;
	sbuf before = { 0 }, after = { 0 };
	char prefix[48], msg[512];
	sqlite3_stmt *st;
	int n = 0, v, i, rc = -1;

	while (m && m[n])
		n++;
	if (!n)
		return 0;
	if (!db) {
		snprintf(why, whylen, "plugin %s: it has migrations but the host has no database", pl->name);
		return -1;
	}
	if (host_schema_table(h, msg, sizeof msg)) {
		snprintf(why, whylen, "plugin %s: plugin_schema: %s", pl->name, msg);
		return -1;
	}
	if ((v = host_schema_version(db, pl->name)) < 0) {
		snprintf(why, whylen, "plugin %s: plugin_schema: %s", pl->name, sqlite3_errmsg(db));
		return -1;
	}
	if (v > n) {
		snprintf(why, whylen, "plugin %s: the database is at its schema version %d, newer than its %d "
			 "migrations (an older build of the plugin?)", pl->name, v, n);
		return -1;
	}
	snprintf(prefix, sizeof prefix, "%s_", pl->name);
	for (i = v; i < n; i++) {
		if (host_exec(db, "BEGIN IMMEDIATE", msg, sizeof msg)) {
			snprintf(why, whylen, "plugin %s: migration %d: %s", pl->name, i + 1, msg);
			goto out;
		}
		/* Another process may have run it meanwhile: read again under the lock. */
		if ((v = host_schema_version(db, pl->name)) > i) {
			host_exec(db, "COMMIT", msg, sizeof msg);
			continue;
		}
		if (host_schema_foreign(db, prefix, &before, msg, sizeof msg) || host_exec(db, m[i], msg, sizeof msg)) {
			snprintf(why, whylen, "plugin %s: migration %d: %s", pl->name, i + 1, msg);
			goto fail;
		}
		if (sqlite3_get_autocommit(db)) {
			snprintf(why, whylen, "plugin %s: migration %d ends the transaction itself (no BEGIN/COMMIT "
				 "in migrations)", pl->name, i + 1);
			goto out;
		}
		if (host_schema_foreign(db, prefix, &after, msg, sizeof msg)) {
			snprintf(why, whylen, "plugin %s: migration %d: %s", pl->name, i + 1, msg);
			goto fail;
		}
		if (strcmp(before.p, after.p)) {
			host_schema_blame(pl, i + 1, before.p, after.p, why, whylen);
			goto fail;
		}
		if (sqlite3_prepare_v2(db, "INSERT INTO plugin_schema(plugin, version) VALUES(?1, ?2) "
				       "ON CONFLICT(plugin) DO UPDATE SET version = excluded.version", -1, &st,
				       NULL) != SQLITE_OK) {
			snprintf(why, whylen, "plugin %s: plugin_schema: %s", pl->name, sqlite3_errmsg(db));
			goto fail;
		}
		sqlite3_bind_text(st, 1, pl->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, i + 1);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(why, whylen, "plugin %s: plugin_schema: %s", pl->name, sqlite3_errmsg(db));
			sqlite3_finalize(st);
			goto fail;
		}
		sqlite3_finalize(st);
		if (host_exec(db, "COMMIT", msg, sizeof msg)) {
			snprintf(why, whylen, "plugin %s: migration %d: %s", pl->name, i + 1, msg);
			goto fail;
		}
		host_plog(pl, SK_LOG_INFO, "schema migrated to version %d", i + 1);
	}
	rc = 0;
	goto out;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sbuf_free(&before);
	sbuf_free(&after);
	return rc;
}

/* A plugin's transaction while the core's batch is open (the session's group
 * commit, core/store.c) is a savepoint of the batch: as atomic as BEGIN ...
 * COMMIT, and durable with the batch, which commits before anything leaves
 * the process. The connection is in a transaction that no plugin owns only
 * then. */
#define HOST_SAVEPOINT "sk_plugin_txn"

/* The SQL that begins, commits or rolls back (op 'b', 'c', 'r') the plugin's
 * transaction in its mode. */
static const char *host_txn_sql(int mode, int op)
{
	if (mode == 2)
		return op == 'b' ? "SAVEPOINT " HOST_SAVEPOINT : op == 'c' ? "RELEASE " HOST_SAVEPOINT
			: "ROLLBACK TO " HOST_SAVEPOINT "; RELEASE " HOST_SAVEPOINT;
	return op == 'b' ? "BEGIN IMMEDIATE" : op == 'c' ? "COMMIT" : "ROLLBACK";
}

/* Ends the plugin's transaction (op 'c' commit, 'r' roll back). Returns SK_OK,
 * or SK_ERR_DB (logged) when SQLite refused; the transaction counts as closed
 * once SQLite is back in autocommit mode, or for a savepoint once it is
 * released. */
static int host_txn_exec(host_plug *pl, int op)
{
	sqlite3 *db = pl->h->cfg.db;
	const char *sql = host_txn_sql(pl->in_txn, op);
	char why[256];
	int rc = SK_OK;

	if (host_exec(db, sql, why, sizeof why)) {
		host_plog(pl, SK_LOG_ERR, "%s: %s", sql, why);
		rc = SK_ERR_DB;
	}
	if (op != 'b' && (sqlite3_get_autocommit(db) || (pl->in_txn == 2 && rc == SK_OK))) {
		pl->in_txn = 0;
		if (pl->h->txn_owner == pl)
			pl->h->txn_owner = NULL;
	}
	return rc;
}

/* Rolls back (or commits) for the host; always leaves the plugin outside a
 * transaction (a savepoint that cannot be rolled back is logged and left to
 * the batch: the core's batch itself is never rolled back here). */
void host_txn_end(host_plug *pl, int op)
{
	int mode = pl->in_txn;

	host_txn_exec(pl, op);
	if (pl->in_txn && mode == 1 && !sqlite3_get_autocommit(pl->h->cfg.db))
		sqlite3_exec(pl->h->cfg.db, "ROLLBACK", NULL, NULL, NULL);
	pl->in_txn = 0;
	if (pl->h->txn_owner == pl)
		pl->h->txn_owner = NULL;
}

/* Returns the plugin's usable database (SK_OK), SK_ERR_UNSUPPORTED without
 * one, or SK_ERR_STATE while another plugin's transaction is open (its
 * statements would join that transaction on the shared connection). */
static int host_db_ready(host_plug *pl)
{
	if (!pl->h->cfg.db)
		return SK_ERR_UNSUPPORTED;
	if (pl->h->txn_owner && pl->h->txn_owner != pl) {
		host_plog(pl, SK_LOG_ERR, "database busy: plugin %s has a transaction open", pl->h->txn_owner->name);
		return SK_ERR_STATE;
	}
	return SK_OK;
}

/* The cached statement for sql, prepared (and cached) on first use; a
 * statement already stepping (a row callback running the same SQL) gets a
 * fresh uncached one in *tmp. Returns SK_OK with *st set, or an error (logged). */
static int host_stmt_get(host_plug *pl, const char *sql, sqlite3_stmt **st, int *tmp, host_stmt **entry)
{
	sqlite3 *db = pl->h->cfg.db;
	const char *tail = NULL;
	host_stmt *c = NULL;
	char *copy;
	size_t i, lru = 0;

	*st = NULL;
	*tmp = 0;
	*entry = NULL;
	for (i = 0; i < pl->nstmts; i++)
		if (!strcmp(pl->stmts[i].sql, sql)) {
			c = &pl->stmts[i];
			break;
		}
	if (c && !c->busy) {
		c->used = ++pl->stmt_clock;
		*st = c->st;
		*entry = c;
		return SK_OK;
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, &tail) != SQLITE_OK) {
		host_plog(pl, SK_LOG_ERR, "db_exec: %s (in: %.200s)", sqlite3_errmsg(db), sql);
		return SK_ERR_DB;
	}
	while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
		tail++;
	if (!*st || (tail && *tail)) {
		host_plog(pl, SK_LOG_ERR, "db_exec: %s (in: %.200s)", *st ? "one statement per call" : "no statement",
			  sql);
		sqlite3_finalize(*st);
		*st = NULL;
		return SK_ERR_INVAL;
	}
	if (c) {
		*tmp = 1;
		return SK_OK;
	}
	if (!(copy = host_strdup(sql)) ||
	    (!pl->stmts && !(pl->stmts = calloc(HOST_STMT_MAX, sizeof *pl->stmts)))) {
		free(copy);
		*tmp = 1;
		return SK_OK;
	}
	if (pl->nstmts < HOST_STMT_MAX) {
		c = &pl->stmts[pl->nstmts++];
	} else {
		/* Full: reuse the slot of the least recently used idle statement (SQL
		 * built at run time would otherwise grow the cache without end).
		 * Slots never move: an outer db_exec may hold one. */
		for (i = 0; i < pl->nstmts; i++)
			if (!pl->stmts[i].busy && (pl->stmts[lru].busy || pl->stmts[i].used < pl->stmts[lru].used))
				lru = i;
		if (pl->stmts[lru].busy) {
			free(copy);
			*tmp = 1;
			return SK_OK;
		}
		c = &pl->stmts[lru];
		sqlite3_finalize(c->st);
		free(c->sql);
	}
	c->sql = copy;
	c->st = *st;
	c->busy = 0;
	c->used = ++pl->stmt_clock;
	*entry = c;
	return SK_OK;
}

/* Binds the parameters (1-based); returns SK_OK, or SK_ERR_INVAL/SK_ERR_DB (logged). */
static int host_bind(host_plug *pl, sqlite3_stmt *st, const sk_value *params, size_t n, const char *sql)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		const sk_value *v = &params[i];
		int k = (int)i + 1;

		switch (v->type) {
		case SK_NULL: rc = sqlite3_bind_null(st, k); break;
		case SK_INT: rc = sqlite3_bind_int64(st, k, v->i); break;
		case SK_REAL: rc = sqlite3_bind_double(st, k, v->d); break;
		case SK_TEXT:
			rc = !v->s ? sqlite3_bind_null(st, k)
				   : sqlite3_bind_text64(st, k, v->s, v->len ? v->len : strlen(v->s), SQLITE_TRANSIENT,
							 SQLITE_UTF8);
			break;
		case SK_BLOB:
			rc = !v->s ? sqlite3_bind_zeroblob(st, k, 0)
				   : sqlite3_bind_blob64(st, k, v->s, v->len, SQLITE_TRANSIENT);
			break;
		default:
			host_plog(pl, SK_LOG_ERR, "db_exec: parameter %d has no valid type (in: %.200s)", k, sql);
			return SK_ERR_INVAL;
		}
		if (rc != SQLITE_OK) {
			host_plog(pl, SK_LOG_ERR, "db_exec: parameter %d: %s (in: %.200s)", k,
				  sqlite3_errmsg(pl->h->cfg.db), sql);
			return SK_ERR_DB;
		}
	}
	return SK_OK;
}

/* Steps every row to fn (texts and blobs borrowed from SQLite until fn
 * returns) until fn returns nonzero. Returns SK_OK or SK_ERR_DB (logged). */
static int host_rows(host_plug *pl, sqlite3_stmt *st, sk_row_fn fn, void *ud, const char *sql)
{
	sk_value small[16], *cols = small;
	int rc, n, i, ret = SK_OK;

	n = sqlite3_column_count(st);
	if (n > 16 && !(cols = calloc((size_t)n, sizeof *cols)))
		return SK_ERR_NOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!fn)
			continue;
		for (i = 0; i < n; i++) {
			sk_value *v = &cols[i];

			memset(v, 0, sizeof *v);
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v->type = SK_INT;
				v->i = sqlite3_column_int64(st, i);
				v->d = (double)v->i;
				break;
			case SQLITE_FLOAT:
				v->type = SK_REAL;
				v->d = sqlite3_column_double(st, i);
				break;
			case SQLITE_TEXT:
				v->type = SK_TEXT;
				v->s = (const char *)sqlite3_column_text(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				if (!v->s)
					v->s = "";
				break;
			case SQLITE_BLOB:
				v->type = SK_BLOB;
				v->s = sqlite3_column_blob(st, i);
				v->len = (size_t)sqlite3_column_bytes(st, i);
				if (!v->s)
					v->s = "";
				break;
			default:
				v->type = SK_NULL;
				v->s = NULL;
				break;
			}
		}
		if (fn(&pl->pub, n, cols, ud)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		host_plog(pl, SK_LOG_ERR, "db_exec: %s (in: %.200s)", sqlite3_errmsg(pl->h->cfg.db), sql);
		ret = SK_ERR_DB;
	}
	if (cols != small)
		free(cols);
	return ret;
}

/* Whether sql is an INSERT or REPLACE (its first word, any case). */
static int host_sql_inserts(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	return !strncasecmp(sql, "INSERT", 6) || !strncasecmp(sql, "REPLACE", 7);
}


/* 'b', 'c' or 'r' when sql is a bare BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE]
 * [TRANSACTION], COMMIT / END [TRANSACTION] or ROLLBACK [TRANSACTION] (not
 * ROLLBACK TO), else 0. */
static int host_sql_txn_word(const char *sql)
{
	static const char *const words[] = {"BEGIN", "COMMIT", "END", "ROLLBACK"};
	const char *t;
	size_t i, n;

	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	for (i = 0; i < 4; i++) {
		n = strlen(words[i]);
		if (strncasecmp(sql, words[i], n))
			continue;
		for (t = sql + n; *t; t++)
			if (!strchr(" \t\r\n;", *t) && !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", *t))
				return 0;
		t = sql + n;
		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		if (*t && strncasecmp(t, "TRANSACTION", 11) && strncasecmp(t, "DEFERRED", 8) &&
		    strncasecmp(t, "IMMEDIATE", 9) && strncasecmp(t, "EXCLUSIVE", 9) && *t != ';')
			return 0;
		return i == 0 ? 'b' : i == 3 ? 'r' : 'c';
	}
	return 0;
}

/* sk_db_exec. Note that the host does not police what the SQL touches: a
 * plugin can read or write another plugin's (or the core's) tables through
 * it. The table prefix rule is only enforced on migrations; the rest is a
 * convention plugins are trusted to keep. Returns SK_OK or an error (logged). */
int host_db_exec(sk_plugin *p, const char *sql, const sk_value *params, size_t nparams, sk_row_fn fn,
		 void *ud)
{
	host_stmt *entry;
	sqlite3_stmt *st;
	host_plug *pl;
	sqlite3 *db;
	int rc, tmp, open_before, open_after;
	sqlite3_int64 rowid_before;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!sql || (nparams && !params) || nparams > 32766)
		return SK_ERR_INVAL;
	if ((rc = host_db_ready(pl)))
		return rc;
	/* BEGIN / COMMIT / ROLLBACK as SQL are sk_db_begin / _commit / _rollback:
	 * inside the core's batch they must become a savepoint of it */
	switch (nparams ? 0 : host_sql_txn_word(sql)) {
	case 'b': return host_db_begin(p);
	case 'c': return host_db_commit(p);
	case 'r': return host_db_rollback(p);
	}
	db = pl->h->cfg.db;
	if ((rc = host_stmt_get(pl, sql, &st, &tmp, &entry)))
		return rc;
	if (entry)
		entry->busy = 1;
	open_before = !sqlite3_get_autocommit(db);
	rowid_before = sqlite3_last_insert_rowid(db);
	rc = host_bind(pl, st, params, nparams, sql);
	if (rc == SK_OK)
		rc = host_rows(pl, st, fn, ud, sql);
	if (rc == SK_OK) {
		pl->last_changes = sqlite3_changes64(db);
		/* An INSERT that added a row sets it even when the rowid equals the
		 * connection's previous one (a first row of a new table is often 1). */
		if (sqlite3_last_insert_rowid(db) != rowid_before ||
		    (host_sql_inserts(sql) && pl->last_changes > 0))
			pl->last_rowid = sqlite3_last_insert_rowid(db);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (tmp)
		sqlite3_finalize(st);
	else if (entry)
		entry->busy = 0;
	/* A plugin may also run BEGIN/COMMIT through db_exec: keep track. */
	open_after = !sqlite3_get_autocommit(db);
	if (!open_before && open_after && !pl->in_txn) {
		pl->in_txn = 1;
		pl->h->txn_owner = pl;
	} else if (!open_after && pl->in_txn) {
		pl->in_txn = 0;
		if (pl->h->txn_owner == pl)
			pl->h->txn_owner = NULL;
	}
	return rc;
}

/* The number of rows the plugin's last db_exec changed (its own count: a
 * core statement in between does not change it). */
int64_t host_db_changes(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	return pl->last_changes;
}

/* The rowid of the plugin's last INSERT through db_exec. */
int64_t host_db_last_rowid(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	return pl->last_rowid;
}

/* sk_db_begin: BEGIN IMMEDIATE. SK_ERR_STATE when a transaction is open
 * already (the plugin's or anyone's on the shared connection). */
int host_db_begin(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if ((rc = host_db_ready(pl)))
		return rc;
	if (pl->in_txn)
		return SK_ERR_STATE;
	/* not in autocommit mode, no plugin's: the core's batch */
	pl->in_txn = sqlite3_get_autocommit(pl->h->cfg.db) ? 1 : 2;
	if ((rc = host_txn_exec(pl, 'b'))) {
		pl->in_txn = 0;
		return rc;
	}
	pl->h->txn_owner = pl;
	return SK_OK;
}

/* sk_db_commit: SK_OK, SK_ERR_STATE without a transaction, or SK_ERR_DB. */
int host_db_commit(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!pl->h->cfg.db)
		return SK_ERR_UNSUPPORTED;
	if (!pl->in_txn)
		return SK_ERR_STATE;
	return host_txn_exec(pl, 'c');
}

/* sk_db_rollback: SK_OK, SK_ERR_STATE without a transaction, or SK_ERR_DB. */
int host_db_rollback(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!pl->h->cfg.db)
		return SK_ERR_UNSUPPORTED;
	if (!pl->in_txn)
		return SK_ERR_STATE;
	return host_txn_exec(pl, 'r');
}

/* A plugin is unloaded: a transaction it left open is rolled back, and its
 * cached statements are finalized. */
void host_db_drop(host_plug *pl)
{
	size_t i;

	if (pl->in_txn) {
		host_plog(pl, SK_LOG_WARN, "unloaded with a transaction open: rolled back");
		host_txn_end(pl, 'r');
	}
	for (i = 0; i < pl->nstmts; i++) {
		sqlite3_finalize(pl->stmts[i].st);
		free(pl->stmts[i].sql);
	}
	free(pl->stmts);
}
