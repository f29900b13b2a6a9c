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
 *      platform's business id, stable across pushes). It is inserted into
 *      dedup_seen with ON CONFLICT DO NOTHING: one row changed means new (pass),
 *      none means seen (stop). The UNIQUE primary key does the work, so the
 *      answer survives restarts. Events with an empty message_id pass through.
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

typedef struct {
	int64_t ttl_ms, prune_ms, window_ms, max_age_ms;
	dedup_slot cache[DEDUP_CACHE_SIZE];
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

/* Records the id key of e. Returns SK_PASS when new, SK_STOP when seen, or a
 * negative sk_rc when SQLite failed (the host logs it and the event passes). */
static int dedup_check_id(sk_plugin *p, dedup_state *st, const sk_event *e, int64_t now)
{
	sk_value v[2];
	char *key = dedup_key(e);
	int rc;

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
	v[0] = SK_VTEXT(key);
	v[1] = SK_VINT(now);
	rc = sk_db_exec(p, "INSERT INTO dedup_seen (key, seen_ms) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
			v, 2, NULL, NULL);
	if (rc < 0) {
		free(key);
		return rc;
	}
	rc = sk_db_changes(p) > 0 ? SK_PASS : SK_STOP;
	/* Either way the row is there now; a seen row keeps its first time, which
	 * the cache need not match exactly: it only has to expire no later. */
	dedup_cache_put(st, key, now);
	free(key);
	return rc;
}

/* The text window for a buyer's chat text. Returns SK_PASS when the same text
 * did not pass in the chat within the window (and restarts the window),
 * SK_STOP when it did, or a negative sk_rc when SQLite failed. */
static int dedup_check_text(sk_plugin *p, dedup_state *st, const sk_event *e, int64_t now)
{
	sk_value v[3];
	char *key;
	int rc;

	if (!st->window_ms || e->type != SK_EV_CHAT_TEXT || e->own || e->echo || !*e->chat_id || !*e->text)
		return SK_PASS;
	if (!(key = dedup_join("txt:", e->chat_id, ":", e->text)))
		return SK_ERR_NOMEM;
	v[0] = SK_VTEXT(key);
	v[1] = SK_VINT(now);
	v[2] = SK_VINT(now - st->window_ms);
	/* A row outside the window is refreshed (one change: pass); one inside it
	 * is left alone (no change: stop). */
	rc = sk_db_exec(p, "INSERT INTO dedup_seen (key, seen_ms) VALUES (?1, ?2) ON CONFLICT (key) "
			"DO UPDATE SET seen_ms = excluded.seen_ms WHERE dedup_seen.seen_ms <= ?3",
			v, 3, NULL, NULL);
	free(key);
	if (rc < 0)
		return rc;
	return sk_db_changes(p) > 0 ? SK_PASS : SK_STOP;
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
	dedup_prune(p, st);
	return sk_timer_add(p, (uint64_t)st->prune_ms, (uint64_t)st->prune_ms, dedup_on_timer, st, NULL, NULL);
}

SK_PLUGIN(.name = "dedup", .version = "1.0",
	  .description = "Stops events already handled (message id, optional text window and age limit)",
	  .init = dedup_init, .config_keys = dedup_keys, .migrations = dedup_migrations);
