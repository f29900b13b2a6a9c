/* SPDX-License-Identifier: MIT */
/*
 * core/convo.c - the conversation store (see convo.h).
 *
 * chat_msg holds the messages, chat_chat one summary per chat that each
 * insert updates in the same batch (last message, buyer, unread count), so
 * the chat list reads O(chats) rows and a conversation page is one range of
 * the (chat, id) index. An insert costs two prepared statements on the
 * per-message path. The IM id is unique: a message pushed again or
 * backfilled is stored once, and an out row takes its send's IM id when the
 * answer comes, so the echo of the send (skipped by e->echo, which the
 * session sets from its echo ring or the outbox) cannot come in twice.
 */
#include "convo.h"
#include "log.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	CV_INS_MSG,
	CV_UPS_CHAT,
	CV_SENT,
	CV_FAILED,
	CV_FIRST,
	CV_PRUNE_MSG,
	CV_PRUNE_CHAT,
	CV_LIST,
	CV_CHAT,
	CV_MSGS,
	CV_READ,
	CV_STATS,
	CV_N
};

#define CV_CHAT_COLS "chat, buyer_id, buyer_name, item_id, last_text, last_ms, last_dir, unread"

static const char *const cv_sql[CV_N] = {
	[CV_INS_MSG] = "INSERT OR IGNORE INTO chat_msg(chat, ms, dir, sender, kind, text, image_url, item_id, "
		       "order_id, trade, message_id, uuid, plugin, tag, state) "
		       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	/* SET's expressions see the old row: last_* move only for a newer message */
	[CV_UPS_CHAT] = "INSERT INTO chat_chat(chat, buyer_id, buyer_name, item_id, last_id, last_ms, last_text, "
			"last_dir, unread) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(chat) DO UPDATE SET "
			"buyer_id = CASE WHEN excluded.buyer_id <> '' THEN excluded.buyer_id ELSE buyer_id END, "
			"buyer_name = CASE WHEN excluded.buyer_name <> '' THEN excluded.buyer_name ELSE buyer_name END, "
			"item_id = CASE WHEN excluded.item_id <> '' THEN excluded.item_id ELSE item_id END, "
			"last_id = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last_id ELSE last_id END, "
			"last_text = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last_text ELSE last_text END, "
			"last_dir = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last_dir ELSE last_dir END, "
			"last_ms = max(last_ms, excluded.last_ms), "
			"unread = unread + CASE WHEN excluded.last_ms > read_ms THEN excluded.unread ELSE 0 END",
	/* OR REPLACE: a copy of the send stored before (its echo taken for the
	 * seller's own message) gives way to the out row */
	[CV_SENT] = "UPDATE OR REPLACE chat_msg SET message_id = ?2, state = 'sent', reason = '' "
		    "WHERE message_id = 'q:' || ?1 AND message_id <> ''",
	/* RETURNING: the kept chat_stats counts take the refused send out */
	[CV_FAILED] = "UPDATE chat_msg SET state = 'failed', reason = ?2 WHERE message_id = 'q:' || ?1 "
		      "AND message_id <> '' AND state <> 'failed' RETURNING ms, sender, kind",
	/* no index on ms (it cost 10 us a message): the oldest rows are the
	 * first ids, the retention deletes from the front (convo_prune) */
	[CV_FIRST] = "SELECT id, ms FROM chat_msg ORDER BY id LIMIT 1",
	[CV_PRUNE_MSG] = "DELETE FROM chat_msg WHERE id < ?2 AND ms < ?1",
	[CV_PRUNE_CHAT] = "DELETE FROM chat_chat WHERE last_ms < ?1 AND NOT EXISTS "
			  "(SELECT 1 FROM chat_msg m WHERE m.chat = chat_chat.chat)",
	[CV_LIST] = "SELECT " CV_CHAT_COLS " FROM chat_chat WHERE last_ms < ?1 ORDER BY last_ms DESC LIMIT ?2",
	[CV_CHAT] = "SELECT " CV_CHAT_COLS " FROM chat_chat WHERE chat = ?1",
	[CV_MSGS] = "SELECT id, ms, dir, sender, kind, text, image_url, item_id, order_id, trade, uuid, plugin, tag, "
		    "state, reason FROM chat_msg WHERE chat = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[CV_READ] = "UPDATE chat_chat SET unread = 0, read_ms = max(read_ms, ?2) WHERE chat = ?1",
	/* newest first, read once (cv_stats_read); no GROUP BY temp b-tree */
	[CV_STATS] = "SELECT ms, sender, kind, state FROM chat_msg ORDER BY id DESC",
};

/* chat_stats' counts are kept in memory per Beijing day once read: one
 * scan at the first call, then each insert counts itself (O(days) a call).
 * CV_DAYS days from base; a refusal takes its send out, the retention's
 * delete makes them be read again. */
#define CV_DAYS 64
/* cv_stats_read stops after this many messages in a row older than its window */
#define CV_STATS_PAST 2000

struct convo {
	store *st;
	sqlite3 *db;
	const config *cfg;
	sqlite3_stmt *q[CV_N];
	int64_t failures;
	int stats_ok;                  /* counts holds the days from stats_base */
	int64_t stats_base;            /* Beijing day number of counts[0] */
	int64_t counts[CV_DAYS][3];    /* buyer_msgs, bot_msgs, seller_msgs */
};

/* Which chat_stats count a message is: 0 buyer, 1 bot, 2 seller, -1 none. */
static int cv_count_of(const char *sender, const char *kind, const char *state)
{
	if (!strcmp(sender, "buyer"))
		return !strcmp(kind, "text") || !strcmp(kind, "image") ? 0 : -1;
	if (!strcmp(state, "failed"))
		return -1;
	return !strcmp(sender, "bot") ? 1 : 2;
}

/* Counts a message stored at ms in the kept chat_stats counts. */
static void cv_count(convo *c, int64_t ms, const char *sender, const char *kind, const char *state)
{
	int64_t d = (ms + CONVO_TZ_MS) / 86400000 - c->stats_base;
	int k = cv_count_of(sender, kind, state);

	if (c->stats_ok && d >= 0 && d < CV_DAYS && k >= 0)
		c->counts[d][k]++;
}

/* See convo.h. */
convo *convo_new(store *st, const config *cfg)
{
	convo *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->st = st;
	c->db = store_db(st);
	c->cfg = cfg;
	for (int i = 0; i < CV_N; i++)
		if (sqlite3_prepare_v3(c->db, cv_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->q[i], NULL) != SQLITE_OK) {
			log_err("convo", "cannot prepare statement %d: %s", i, sqlite3_errmsg(c->db));
			convo_free(c);
			return NULL;
		}
	return c;
}

/* See convo.h. */
void convo_free(convo *c)
{
	if (!c)
		return;
	for (int i = 0; i < CV_N; i++)
		sqlite3_finalize(c->q[i]);
	free(c);
}

/* See convo.h. */
int64_t convo_failures(const convo *c)
{
	return c ? c->failures : 0;
}

/* Resets a statement after use. */
static void cv_done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

/* Runs a statement that returns no rows: sqlite3_changes(), or -1 (logged
 * and counted, what says what was written). */
static int cv_exec(convo *c, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q), n = rc == SQLITE_DONE ? sqlite3_changes(c->db) : -1;

	cv_done(q);
	if (n < 0) {
		c->failures++;
		log_warn("convo", "%s not stored: %s", what, sqlite3_errmsg(c->db));
	}
	return n;
}

/* Binds a string (NULL as ""). */
static void cv_text(sqlite3_stmt *q, int i, const char *v)
{
	sqlite3_bind_text(q, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* A column as text, "" for NULL. */
static const char *cv_col(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

/* One message to store, and the chat summary it updates. */
typedef struct {
	const char *chat, *dir, *sender, *kind, *text, *image_url, *item_id, *order_id, *message_id, *uuid,
		*plugin, *tag, *state;
	const char *buyer_id, *buyer_name;   /* "" when the message does not say */
	int trade;
	int64_t ms;
} cv_msg;

/* Inserts m (unless its IM id is stored already) and updates its chat's
 * summary: 1 stored, 0 a duplicate, -1 error. */
static int cv_insert(convo *c, const cv_msg *m)
{
	sqlite3_stmt *q = c->q[CV_INS_MSG];
	char last[200], name[64];
	int n;

	cv_text(q, 1, m->chat);
	sqlite3_bind_int64(q, 2, m->ms);
	cv_text(q, 3, m->dir);
	cv_text(q, 4, m->sender);
	cv_text(q, 5, m->kind);
	cv_text(q, 6, m->text);
	cv_text(q, 7, m->image_url);
	cv_text(q, 8, m->item_id);
	cv_text(q, 9, m->order_id);
	sqlite3_bind_int(q, 10, m->trade);
	cv_text(q, 11, m->message_id);
	cv_text(q, 12, m->uuid);
	cv_text(q, 13, m->plugin);
	cv_text(q, 14, m->tag);
	cv_text(q, 15, m->state);
	if ((n = cv_exec(c, q, "a chat message")) <= 0)
		return n;
	cv_count(c, m->ms, m->sender, m->kind, m->state ? m->state : "");
	/* cut at a character: a Chinese text must not end in half a character */
	util_utf8_copy(last, sizeof last, m->text ? m->text : "");
	util_utf8_copy(name, sizeof name, m->buyer_name ? m->buyer_name : "");
	q = c->q[CV_UPS_CHAT];
	cv_text(q, 1, m->chat);
	cv_text(q, 2, m->buyer_id);
	cv_text(q, 3, name);
	cv_text(q, 4, m->item_id);
	sqlite3_bind_int64(q, 5, sqlite3_last_insert_rowid(c->db));
	sqlite3_bind_int64(q, 6, m->ms);
	cv_text(q, 7, last);
	cv_text(q, 8, m->dir);
	sqlite3_bind_int(q, 9, !strcmp(m->dir, "in"));
	return cv_exec(c, q, "a chat's summary") < 0 ? -1 : 1;
}

/* See convo.h. */
int convo_note_event(convo *c, const ev *e)
{
	cv_msg m;
	int buyer;

	if (!c || !c->cfg->chats_store || !e->chat_id[0] || (e->own && e->echo))
		return 0;
	memset(&m, 0, sizeof m);
	switch (e->type) {
	case EV_CHAT_TEXT: m.kind = "text"; break;
	case EV_CHAT_IMAGE: m.kind = "image"; break;
	case EV_TRADE: m.kind = "trade"; break;
	case EV_SYSTEM: m.kind = "system"; break;
	default: return 0;
	}
	buyer = !e->own && (e->type == EV_CHAT_TEXT || e->type == EV_CHAT_IMAGE);
	m.chat = e->chat_id;
	m.ms = e->created_ms ? e->created_ms : util_now_ms();
	m.dir = e->own ? "out" : "in";
	m.sender = e->own ? "seller_app" : "buyer";
	m.text = e->text;
	m.image_url = e->image_url;
	m.item_id = e->item_id;
	m.order_id = e->order_id;
	m.trade = (int)e->trade;
	/* the IM id: what a send's answer gives, so an out row and its echo share it */
	m.message_id = e->im_id[0] ? e->im_id : e->message_id;
	m.state = e->own ? "sent" : "";
	m.buyer_id = buyer ? e->sender_id : "";
	m.buyer_name = buyer ? e->sender_name : "";
	return cv_insert(c, &m);
}

/* See convo.h. */
int convo_note_queued(convo *c, const char *uuid, const char *cid, const char *buyer, const char *kind,
		      const char *payload, const char *plugin, const char *tag, int64_t ms)
{
	cv_msg m;
	cJSON *img = NULL;
	char key[80];
	int rc;

	if (!c || !c->cfg->chats_store)
		return 0;
	memset(&m, 0, sizeof m);
	/* the row's key until the answer gives it the IM id (CV_SENT, CV_FAILED) */
	snprintf(key, sizeof key, "q:%s", uuid);
	m.message_id = key;
	m.chat = cid;
	m.ms = ms;
	m.dir = "out";
	m.sender = (!plugin || !*plugin) && tag && !strcmp(tag, "control") ? "seller_page" : "bot";
	m.uuid = uuid;
	m.plugin = plugin;
	m.tag = tag;
	m.state = "queued";
	m.buyer_id = buyer;
	m.buyer_name = "";
	if (!strcmp(kind, "image")) {
		const cJSON *u;

		img = cJSON_Parse(payload);
		u = cJSON_GetObjectItemCaseSensitive(img, "url");
		m.kind = "image";
		m.text = "[图片]";
		m.image_url = cJSON_IsString(u) ? u->valuestring : "";
	} else {
		m.kind = "text";
		m.text = payload;
	}
	rc = cv_insert(c, &m);
	cJSON_Delete(img);
	return rc;
}

/* See convo.h. */
int convo_note_answer(convo *c, const char *uuid, int ok, const char *detail)
{
	sqlite3_stmt *q;
	int rc, n = 0;

	if (!c || !uuid || !*uuid)
		return 0;
	q = c->q[ok ? CV_SENT : CV_FAILED];
	cv_text(q, 1, uuid);
	cv_text(q, 2, detail);
	if (ok)
		return cv_exec(c, q, "a send's IM id");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t d = (sqlite3_column_int64(q, 0) + CONVO_TZ_MS) / 86400000 - c->stats_base;
		int k = cv_count_of(cv_col(q, 1), cv_col(q, 2), "");

		if (c->stats_ok && d >= 0 && d < CV_DAYS && k >= 0 && c->counts[d][k] > 0)
			c->counts[d][k]--;
		n++;
	}
	cv_done(q);
	if (rc != SQLITE_DONE) {
		c->failures++;
		log_warn("convo", "a send's refusal not stored: %s", sqlite3_errmsg(c->db));
		return -1;
	}
	return n;
}

/* See convo.h. */
int convo_prune(convo *c, int64_t before_ms, int limit)
{
	sqlite3_stmt *q = c->q[CV_FIRST];
	int64_t first = 0, ms = 0;
	int n, rc;

	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		first = sqlite3_column_int64(q, 0);
		ms = sqlite3_column_int64(q, 1);
	}
	cv_done(q);
	if (rc != SQLITE_ROW || ms >= before_ms)
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
	/* the next limit ids from the front; an old message stored late (a
	 * backfill) goes when the front reaches it */
	q = c->q[CV_PRUNE_MSG];
	sqlite3_bind_int64(q, 1, before_ms);
	sqlite3_bind_int64(q, 2, first + limit);
	if ((n = cv_exec(c, q, "the retention's delete")) < 0)
		return -1;
	if (n > 0)
		c->stats_ok = 0;
	q = c->q[CV_PRUNE_CHAT];
	sqlite3_bind_int64(q, 1, before_ms);
	return cv_exec(c, q, "the retention's delete of chats") < 0 ? -1 : n;
}

/* The chat summary of the current row of q (CV_CHAT_COLS). */
static cJSON *cv_chat_row(sqlite3_stmt *q)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "chat_id", cv_col(q, 0));
	cJSON_AddStringToObject(o, "buyer_id", cv_col(q, 1));
	cJSON_AddStringToObject(o, "buyer_name", cv_col(q, 2));
	cJSON_AddStringToObject(o, "item_id", cv_col(q, 3));
	cJSON_AddStringToObject(o, "last_text", cv_col(q, 4));
	cJSON_AddNumberToObject(o, "last_ms", (double)sqlite3_column_int64(q, 5));
	cJSON_AddStringToObject(o, "last_dir", cv_col(q, 6));
	cJSON_AddBoolToObject(o, "own", !strcmp(cv_col(q, 6), "out"));
	cJSON_AddNumberToObject(o, "unread", (double)sqlite3_column_int64(q, 7));
	return o;
}

/* See convo.h. */
int convo_chats(convo *c, int64_t before_ms, int limit, cJSON *arr)
{
	sqlite3_stmt *q = c->q[CV_LIST];
	int n = 0, rc;

	sqlite3_bind_int64(q, 1, before_ms > 0 ? before_ms : INT64_MAX);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cJSON_AddItemToArray(arr, cv_chat_row(q));
		n++;
	}
	cv_done(q);
	return rc == SQLITE_DONE ? n : -1;
}

/* See convo.h. */
cJSON *convo_chat(convo *c, const char *chat)
{
	sqlite3_stmt *q = c->q[CV_CHAT];
	cJSON *o = NULL;

	cv_text(q, 1, chat);
	if (sqlite3_step(q) == SQLITE_ROW)
		o = cv_chat_row(q);
	cv_done(q);
	return o;
}

/* See convo.h. */
cJSON *convo_messages(convo *c, const char *chat, int64_t before_id, int limit, int *more)
{
	sqlite3_stmt *q = c->q[CV_MSGS];
	cJSON *arr = cJSON_CreateArray();
	int n = 0, rc;

	*more = 0;
	cv_text(q, 1, chat);
	sqlite3_bind_int64(q, 2, before_id > 0 ? before_id : INT64_MAX);
	sqlite3_bind_int(q, 3, limit + 1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cJSON *o;

		if (++n > limit) {
			*more = 1;
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(q, 0));
		cJSON_AddNumberToObject(o, "ms", (double)sqlite3_column_int64(q, 1));
		cJSON_AddStringToObject(o, "dir", cv_col(q, 2));
		cJSON_AddStringToObject(o, "sender", cv_col(q, 3));
		cJSON_AddStringToObject(o, "kind", cv_col(q, 4));
		cJSON_AddStringToObject(o, "text", cv_col(q, 5));
		cJSON_AddStringToObject(o, "image_url", cv_col(q, 6));
		cJSON_AddStringToObject(o, "item_id", cv_col(q, 7));
		cJSON_AddStringToObject(o, "order_id", cv_col(q, 8));
		cJSON_AddStringToObject(o, "trade", sqlite3_column_int(q, 9) > 0 ?
					trade_status_name((trade_status)sqlite3_column_int(q, 9)) : "");
		cJSON_AddStringToObject(o, "uuid", cv_col(q, 10));
		cJSON_AddStringToObject(o, "plugin", cv_col(q, 11));
		cJSON_AddStringToObject(o, "tag", cv_col(q, 12));
		cJSON_AddStringToObject(o, "state", cv_col(q, 13));
		cJSON_AddStringToObject(o, "reason", cv_col(q, 14));
		/* newest first from the index: put each before the ones read so far */
		cJSON_InsertItemInArray(arr, 0, o);
	}
	cv_done(q);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

/* See convo.h. */
int convo_read(convo *c, const char *chat, int64_t now_ms)
{
	sqlite3_stmt *q = c->q[CV_READ];
	int n;

	cv_text(q, 1, chat);
	sqlite3_bind_int64(q, 2, now_ms);
	n = cv_exec(c, q, "a chat's read mark");
	return n < 0 ? -1 : n ? 0 : 1;
}

/* See convo.h. */
void convo_day(int64_t ms, char *out)
{
	time_t t = (time_t)((ms + CONVO_TZ_MS) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 11, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Reads the chat_stats counts of the 31 days up to today (Beijing day
 * number) from the table: 0 or -1. */
static int cv_stats_read(convo *c, int64_t today)
{
	sqlite3_stmt *q = c->q[CV_STATS];
	int rc, before = 0;

	c->stats_ok = 0;
	c->stats_base = today - 30;
	memset(c->counts, 0, sizeof c->counts);
	/* newest first until CV_STATS_PAST messages in a row are older than the
	 * window: ids follow time but for a few stored late (a backfill) */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && before < CV_STATS_PAST) {
		int64_t d = (sqlite3_column_int64(q, 0) + CONVO_TZ_MS) / 86400000 - c->stats_base;
		int k = cv_count_of(cv_col(q, 1), cv_col(q, 2), cv_col(q, 3));

		before = d < 0 ? before + 1 : 0;
		if (d >= 0 && d < CV_DAYS && k >= 0)
			c->counts[d][k]++;
	}
	cv_done(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return -1;
	c->stats_ok = 1;
	return 0;
}

/* See convo.h. */
cJSON *convo_stats(convo *c, int days, int64_t now_ms)
{
	int64_t today = (now_ms + CONVO_TZ_MS) / 86400000, first = today - days + 1;
	cJSON *arr;

	if (days < 1 || days > 31)
		return NULL;
	if ((!c->stats_ok || first < c->stats_base || today >= c->stats_base + CV_DAYS) && cv_stats_read(c, today))
		return NULL;
	arr = cJSON_CreateArray();
	for (int64_t d = first; d <= today; d++) {
		cJSON *o = cJSON_CreateObject();
		const int64_t *n = c->counts[d - c->stats_base];
		char day[11];

		convo_day(d * 86400000 - CONVO_TZ_MS, day);
		cJSON_AddStringToObject(o, "day", day);
		cJSON_AddNumberToObject(o, "buyer_msgs", (double)n[0]);
		cJSON_AddNumberToObject(o, "bot_msgs", (double)n[1]);
		cJSON_AddNumberToObject(o, "seller_msgs", (double)n[2]);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
