/* SPDX-License-Identifier: MIT */
/*
 * plugins/dedup/dedup.c - stops every event that was already handled, so that
 * a message pushed again (after a reconnect, a restart or a platform retry)
 * reaches the responders once. List it first in plugins.load.
 *
 * Layers, in the order they run on each event:
 *
 *   1. Age (max_age_s, 0 = off, the default): a message whose created_ms is
 *      older than now - max_age_s is stopped (a backlog after a long outage).
 *      Trade cards, payment events and any event carrying a trade status or an
 *      order id are never dropped by age: a paid order must still be
 *      delivered, however late we hear of it. Events with created_ms 0
 *      (unknown) are never dropped either.
 *
 *   2. Message id (always on): the key is the event's message_id (the
 *      platform's business id, stable across pushes). A key in dedup_seen
 *      (or decided in this run) means seen (stop); a new one passes, and is
 *      written to dedup_seen after the dispatch (below), so the answer
 *      survives restarts. Events with an empty message_id pass through.
 *      Own messages and echoes are keyed too: they may be re-pushed as well.
 *
 *      Message-update frames (SK_EV_MSG_UPDATE) reuse the ids of the card they
 *      update, so the bare id would stop every update after the first. They
 *      are keyed "upd:<im_id>:<trade>:<text>" instead (message_id when im_id
 *      is empty): the same update pushed twice is stopped, while a later update
 *      of the same card with a new status or a new text still passes. The cost
 *      is that an update going back to an earlier (status, text) pair is
 *      stopped; the platform does not move a card backwards, and the trade
 *      state machine downstream would ignore it anyway.
 *
 *   3. Text window (text_window_s, 0 = off, the default): a chat text from a
 *      buyer whose (chat_id, text) passed less than text_window_s ago is
 *      stopped, whatever its id. Own messages and echoes never go through this
 *      layer (the seller may well type the same thing twice). The window runs
 *      from the last text that passed, and is kept in dedup_seen under
 *      "txt:<chat_id>:<text>", so it survives restarts; rows are pruned with
 *      the others, so a window longer than ttl_s is cut to ttl_s.
 *
 * The rows of what passed are written by a 0 ms timer, that is right after
 * the dispatch (and at unload), in one transaction: a message counts as
 * handled only once the handlers after dedup have done their durable part
 * (autoreply queued its reply, orders recorded the order). Written at once,
 * a kill -9 between dedup's row and the reply's outbox row lost the reply:
 * the platform pushed the message again and dedup stopped it (make soak).
 * Now a crash in that moment lets the push through again, and the handlers
 * know what they did (autoreply finds its reply's send by tag, orders its
 * order's state).
 *
 * A direct-mapped in-memory cache of 4096 recent id keys answers hot
 * duplicates without touching SQLite; a cached key counts only while younger
 * than ttl_s, as its row does. A repeating timer (prune_every_s, default one
 * hour; also once at start) deletes the rows older than ttl_s (default 7
 * days). When SQLite fails the event passes (better a double answer than a
 * lost one) and the handler returns the error for the host to log.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

#define DEDUP_CACHE_SIZE 4096      /* a power of two */
#define DEDUP_PRIORITY (-1000)     /* before anything else this plugin might add */
#define DEDUP_DEF_TTL_S (7 * 24 * 3600)
#define DEDUP_DEF_PRUNE_S 3600

/* One cache slot: a key known to be in dedup_seen since seen_ms. */
typedef struct {
	char *key;                 /* NULL when empty */
	int64_t seen_ms;
} dedup_slot;

/* A key that passed, to be written to dedup_seen by dedup_flush. */
typedef struct {
	char *key;
	int64_t seen_ms;
	int text;                  /* a text-window key: its row takes the new time */
} dedup_mark;

typedef struct {
	int64_t ttl_ms, prune_ms, window_ms, max_age_ms;
	dedup_slot cache[DEDUP_CACHE_SIZE];
	dedup_mark *marks;
	size_t nmarks, capmarks;
	int flush_armed;           /* the 0 ms timer of dedup_flush is set */
} dedup_state;

static const sk_config_key dedup_keys[] = {
	{ .key = "ttl_s", .type = SK_CFG_INT, .help = "how long a seen message is remembered (default 7 days)" },
	{ .key = "prune_every_s", .type = SK_CFG_INT, .help = "how often old entries are deleted (default 3600)" },
	{ .key = "text_window_s", .type = SK_CFG_INT,
	  .help = "stop the same text in the same chat within this many seconds (0 = off, the default)" },
	{ .key = "max_age_s", .type = SK_CFG_INT,
	  .help = "stop messages older than this, trade events excepted (0 = off, the default)" },
	{ 0 }
};

static const char *const dedup_migrations[] = {
	"CREATE TABLE dedup_seen (key TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL)",
	"CREATE INDEX dedup_seen_ms ON dedup_seen (seen_ms)",
	NULL
};

/* Frees the state and every cached key (the subscription's free_ud). */
static void dedup_state_free(void *ud)
{
	dedup_state *st = ud;

	if (!st)
		return;
	for (size_t i = 0; i < DEDUP_CACHE_SIZE; i++)
		free(st->cache[i].key);
	for (size_t i = 0; i < st->nmarks; i++)
		free(st->marks[i].key);
	free(st->marks);
	free(st);
}

/* Returns the FNV-1a hash of s. */
static uint64_t dedup_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Returns a malloc'ed "a" "b" "c" "d" (any may be ""), or NULL without memory. */
static char *dedup_join(const char *a, const char *b, const char *c, const char *d)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c), ld = strlen(d);
	char *k = malloc(la + lb + lc + ld + 1);

	if (!k)
		return NULL;
	memcpy(k, a, la);
	memcpy(k + la, b, lb);
	memcpy(k + la + lb, c, lc);
	memcpy(k + la + lb + lc, d, ld);
	k[la + lb + lc + ld] = '\0';
	return k;
}

/* Returns the malloc'ed id key of e (see the top of the file), "" copied when
 * the event has no id to key it by, or NULL without memory. */
static char *dedup_key(const sk_event *e)
{
	char status[32];

	if (e->type == SK_EV_MSG_UPDATE) {
		const char *id = *e->im_id ? e->im_id : e->message_id;

		if (!*id)
			return dedup_join("", "", "", "");
		snprintf(status, sizeof status, ":%d:", e->trade);
		return dedup_join("upd:", id, status, e->text);
	}
	return dedup_join(e->message_id, "", "", "");
}

/* Returns whether key is cached as seen within the TTL. */
static int dedup_cache_has(dedup_state *st, const char *key, int64_t now)
{
	dedup_slot *s = &st->cache[dedup_hash(key) & (DEDUP_CACHE_SIZE - 1)];

	return s->key && s->seen_ms > now - st->ttl_ms && !strcmp(s->key, key);
}

/* Remembers key as seen at seen_ms, evicting the slot's previous key. */
static void dedup_cache_put(dedup_state *st, const char *key, int64_t seen_ms)
{
	dedup_slot *s = &st->cache[dedup_hash(key) & (DEDUP_CACHE_SIZE - 1)];
	char *copy = strdup(key);

	if (!copy)
		return;               /* only a cache: the database still knows */
	free(s->key);
	s->key = copy;
	s->seen_ms = seen_ms;
}

/* Returns 1 when e is too old to handle (max_age_s), 0 otherwise. Trade and
 * payment events, and anything about a trade or an order, are never too old. */
static int dedup_too_old(const dedup_state *st, const sk_event *e, int64_t now)
{
	if (!st->max_age_ms || e->created_ms <= 0)
		return 0;
	if (e->type == SK_EV_TRADE || e->type == SK_EV_PAYMENT || e->trade != SK_TRADE_NONE || *e->order_id)
		return 0;
	return e->created_ms < now - st->max_age_ms;
}

/* A row's seen_ms into the int64_t ud. */
static int dedup_row_ms(sk_plugin *p, int ncols, const sk_value *c, void *ud)
{
	(void)p;
	if (ncols > 0 && c[0].type == SK_INT)
		*(int64_t *)ud = c[0].i;
	return 0;
}

/* Returns the seen_ms of key: a pending mark's, else its row's; 0 when
 * neither, -1 when SQLite failed. */
static int64_t dedup_seen_ms(sk_plugin *p, dedup_state *st, const char *key)
{
	sk_value v = SK_VTEXT(key);
	int64_t ms = 0;

	for (size_t i = st->nmarks; i-- > 0;)
		if (!strcmp(st->marks[i].key, key))
			return st->marks[i].seen_ms;
	if (sk_db_exec(p, "SELECT seen_ms FROM dedup_seen WHERE key = ?", &v, 1, dedup_row_ms, &ms) < 0)
		return -1;
	return ms;
}

static void dedup_on_flush(sk_plugin *p, uint64_t id, void *ud);

/* Queues key (taken over; text: a text-window key) for dedup_flush, which a
 * 0 ms timer runs after this dispatch. Returns SK_OK or SK_ERR_NOMEM (key
 * freed). */
static int dedup_mark_add(sk_plugin *p, dedup_state *st, char *key, int text, int64_t now)
{
	if (st->nmarks == st->capmarks) {
		size_t cap = st->capmarks ? st->capmarks * 2 : 16;
		dedup_mark *m = realloc(st->marks, cap * sizeof *m);

		if (!m) {
			free(key);
			return SK_ERR_NOMEM;
		}
		st->marks = m;
		st->capmarks = cap;
	}
	st->marks[st->nmarks++] = (dedup_mark){ key, now, text };
	if (!st->flush_armed && sk_timer_add(p, 0, 0, dedup_on_flush, st, NULL, NULL) == SK_OK)
		st->flush_armed = 1;
	return SK_OK;
}

/* Writes the pending marks to dedup_seen in one transaction (a seen row
 * keeps its first time, a text-window row takes the new one). */
static void dedup_flush(sk_plugin *p, dedup_state *st)
{
	int began = st->nmarks > 1 && sk_db_begin(p) == SK_OK, rc = 0;

	for (size_t i = 0; i < st->nmarks; i++) {
		const char *k = st->marks[i].key;
		sk_value v[2] = { SK_VTEXT(k), SK_VINT(st->marks[i].seen_ms) };

		if (rc >= 0)
			rc = sk_db_exec(p, st->marks[i].text ? "INSERT INTO dedup_seen (key, seen_ms) VALUES (?, ?) "
					"ON CONFLICT (key) DO UPDATE SET seen_ms = excluded.seen_ms" :
					"INSERT INTO dedup_seen (key, seen_ms) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
					v, 2, NULL, NULL);
		free(st->marks[i].key);
	}
	if (began && (rc < 0 ? sk_db_rollback(p) : sk_db_commit(p)) < 0)
		rc = SK_ERR_DB;
	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "%zu seen message(s) not recorded: %s", st->nmarks, sk_strerror(p, rc));
	st->nmarks = 0;
}

/* The 0 ms timer after a dispatch; ud is the state. */
static void dedup_on_flush(sk_plugin *p, uint64_t id, void *ud)
{
	dedup_state *st = ud;

	(void)id;
	st->flush_armed = 0;
	dedup_flush(p, st);
}

/* The id layer for e. Returns SK_PASS when new (its mark queued), SK_STOP
 * when seen, or a negative sk_rc when SQLite failed (the host logs it and
 * the event passes). */
static int dedup_check_id(sk_plugin *p, dedup_state *st, const sk_event *e, int64_t now)
{
	char *key = dedup_key(e);
	int64_t seen;

	if (!key)
		return SK_ERR_NOMEM;
	if (!*key) {
		free(key);
		return SK_PASS;
	}
	if (dedup_cache_has(st, key, now)) {
		free(key);
		return SK_STOP;
	}
	if ((seen = dedup_seen_ms(p, st, key)) < 0) {
		free(key);
		return SK_ERR_DB;
	}
	/* Either way it is seen from now on; a seen row keeps its first time,
	 * which the cache need not match exactly: it only has to expire no later. */
	dedup_cache_put(st, key, now);
	if (seen) {
		free(key);
		return SK_STOP;
	}
	return dedup_mark_add(p, st, key, 0, now);
}

/* The text window for a buyer's chat text. Returns SK_PASS when the same text
 * did not pass in the chat within the window (and restarts the window),
 * SK_STOP when it did, or a negative sk_rc when SQLite failed. */
static int dedup_check_text(sk_plugin *p, dedup_state *st, const sk_event *e, int64_t now)
{
	int64_t seen;
	char *key;

	if (!st->window_ms || e->type != SK_EV_CHAT_TEXT || e->own || e->echo || !*e->chat_id || !*e->text)
		return SK_PASS;
	if (!(key = dedup_join("txt:", e->chat_id, ":", e->text)))
		return SK_ERR_NOMEM;
	if ((seen = dedup_seen_ms(p, st, key)) < 0) {
		free(key);
		return SK_ERR_DB;
	}
	/* A row outside the window is refreshed (pass); one inside it is left
	 * alone (stop). */
	if (seen && seen > now - st->window_ms) {
		free(key);
		return SK_STOP;
	}
	return dedup_mark_add(p, st, key, 1, now);
}

/* The handler for every deduplicated event. Returns SK_STOP for an event
 * already handled (or too old), SK_PASS otherwise, or a negative sk_rc. */
static int dedup_on_event(sk_plugin *p, const sk_event *e, void *ud)
{
	dedup_state *st = ud;
	int64_t now = sk_now_ms(p);
	int rc;

	if (dedup_too_old(st, e, now)) {
		sk_log(p, SK_LOG_DEBUG, "dropped %s: %lld s old", e->message_id,
		       (long long)((now - e->created_ms) / 1000));
		return SK_STOP;
	}
	rc = dedup_check_id(p, st, e, now);
	if (rc != SK_PASS)
		return rc;
	return dedup_check_text(p, st, e, now);
}

/* Deletes the rows older than the TTL; logs a failure. */
static void dedup_prune(sk_plugin *p, const dedup_state *st)
{
	sk_value v = SK_VINT(sk_now_ms(p) - st->ttl_ms);
	int rc = sk_db_exec(p, "DELETE FROM dedup_seen WHERE seen_ms < ?", &v, 1, NULL, NULL);

	if (rc < 0)
		sk_log(p, SK_LOG_WARN, "pruning dedup_seen failed: %s", sk_strerror(p, rc));
	else if (sk_db_changes(p) > 0)
		sk_log(p, SK_LOG_DEBUG, "pruned %lld entries", (long long)sk_db_changes(p));
}

/* The repeating prune timer; ud is the state (owned by the subscription). */
static void dedup_on_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	dedup_prune(p, ud);
}

/* Reads a non-negative (positive when positive is set) number of seconds from
 * the config into *ms. Returns SK_OK, or SK_ERR_CONFIG (logged). */
static int dedup_seconds(sk_plugin *p, const char *key, int64_t def, int positive, int64_t *ms)
{
	int64_t s = sk_config_int(p, key, def);

	if (s < 0 || (positive && s == 0) || s > INT64_MAX / 1000) {
		sk_log(p, SK_LOG_ERR, "dedup.%s must be %s, not %lld", key,
		       positive ? "a positive number of seconds" : "0 (off) or a number of seconds",
		       (long long)s);
		return SK_ERR_CONFIG;
	}
	*ms = s * 1000;
	return SK_OK;
}

/* Reads the config, subscribes and starts the prune timer. Returns SK_OK or a
 * negative sk_rc. */
static int dedup_init(sk_plugin *p)
{
	const uint32_t mask = SK_MASK_ALL & ~(SK_MASK(SK_EV_SESSION) | SK_MASK(SK_EV_SEND_RESULT) |
					       SK_MASK(SK_EV_PLUGIN) | SK_MASK(SK_EV_TYPING) | SK_MASK(SK_EV_READ));
	dedup_state *st = calloc(1, sizeof *st);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if ((rc = dedup_seconds(p, "ttl_s", DEDUP_DEF_TTL_S, 1, &st->ttl_ms)) < 0 ||
	    (rc = dedup_seconds(p, "prune_every_s", DEDUP_DEF_PRUNE_S, 1, &st->prune_ms)) < 0 ||
	    (rc = dedup_seconds(p, "text_window_s", 0, 0, &st->window_ms)) < 0 ||
	    (rc = dedup_seconds(p, "max_age_s", 0, 0, &st->max_age_ms)) < 0) {
		dedup_state_free(st);
		return rc;
	}
	/* From here the subscription owns st (freed even if subscribing fails). */
	if ((rc = sk_subscribe(p, mask, NULL, DEDUP_PRIORITY, dedup_on_event, st, dedup_state_free, NULL)) < 0)
		return rc;
	p->ud = st;
	dedup_prune(p, st);
	return sk_timer_add(p, (uint64_t)st->prune_ms, (uint64_t)st->prune_ms, dedup_on_timer, st, NULL, NULL);
}

/* Writes what is still pending (the host frees the state afterwards). */
static void dedup_fini(sk_plugin *p)
{
	if (p->ud)
		dedup_flush(p, p->ud);
	p->ud = NULL;
}

SK_PLUGIN(.name = "dedup", .version = "1.0",
	  .description = "Stops events already handled (message id, optional text window and age limit)",
	  .init = dedup_init, .fini = dedup_fini, .config_keys = dedup_keys, .migrations = dedup_migrations);
