/* SPDX-License-Identifier: MIT */
/*
 * core/host.c - the plugin host (core/host.h): one sk_plugin per loaded
 * plugin, the sk_host service table, event dispatch, and every registration a
 * plugin makes, which the host owns and undoes.
 *
 * Re-entrancy is handled with one counter, h->depth: it is above zero while
 * any plugin code runs (a handler, a timer, a completion, init, fini) or a
 * dispatch walks the handler list. While it is above zero:
 *   - new subscriptions wait in h->added, and removed ones are only marked
 *     dead (their free_ud runs later), so the list a dispatch walks never moves;
 *   - sk_publish only queues the event.
 * When the counter drops back to zero, host_settle merges the subscriptions
 * and delivers the queued events (each with the counter raised again), so
 * published events always arrive after the publisher's callback returned and
 * after the dispatch that caused them finished.
 *
 * A plugin transaction never outlives the callback that opened it: when the
 * outermost call into a plugin returns with one open, the host rolls it back
 * and logs it. There is one SQLite connection, shared with the core, so an
 * open transaction would otherwise swallow whatever ran next on it.
 */
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed.h"
#include "loader.h"
#include "log.h"

#define HOST_MAGIC 0x736b706cu          /* "skpl": a live host_plug */
#define HOST_PUB_MAX_GEN 8              /* published from a handler of a published event, this deep */
#define HOST_PUB_MAX_QUEUE 256          /* published events waiting for delivery */
#define HOST_STMT_MAX 64                /* cached statements per plugin */
#define HOST_WORKERS_MAX 16
#define HOST_TOPIC_MAX 128
#define HOST_CTL_NAME_MAX 40
#define HOST_HTTP_MAX 16                /* sk_http_post requests in flight per plugin */
#define HOST_HTTP_URL_MAX 2048
#define HOST_HTTP_HEADERS_MAX 2048      /* the extra header lines, as sent */
#define HOST_HTTP_BODY_MAX (1u << 20)
#define HOST_HTTP_TIMEOUT_MS 10000      /* timeout_ms 0 */
#define HOST_HTTP_TIMEOUT_MAX_MS 300000

/* PL_COMMAND: running its command-line command instead of init (host_command). */
enum { PL_LOADING, PL_INIT, PL_RUNNING, PL_FINI, PL_COMMAND, PL_DEAD };

typedef struct host_plug host_plug;

/* A cached prepared statement of a plugin, keyed by its SQL text. */
typedef struct {
	char *sql;
	sqlite3_stmt *st;
	int busy;                 /* stepping now (a row callback may run the same SQL again) */
	uint64_t used;            /* for evicting the least recently used */
} host_stmt;

/* A config value printed as JSON for sk_config_json, kept until unload. */
typedef struct host_json {
	struct host_json *next;
	char *key;
	char *json;
} host_json;

struct host_plug {
	sk_plugin pub;            /* first: the handle plugins get is a pointer to this */
	uint32_t magic;
	host *h;
	loader_obj obj;
	const sk_plugin_desc *desc;
	char name[40];
	int index;                /* load order: dispatch goes by it first */
	int state;                /* PL_* */
	const cJSON *section;     /* the plugin's config section, NULL when absent */
	int calls;                /* nesting of host calls into this plugin's code */
	int in_txn;               /* the plugin has a transaction open: 1 BEGIN, 2 a savepoint
	                           * of the core's batch (store_batch_begin) */
	int64_t last_changes, last_rowid;
	host_stmt *stmts;
	size_t nstmts;
	uint64_t stmt_clock;
	host_json *jcache;
	int work_running;         /* work items on a worker now; guarded by h->mu */
	int64_t events, handler_errors, txn_rollbacks;
};

typedef struct {
	uint64_t id;              /* also the registration order */
	host_plug *pl;
	uint32_t mask, flags;
	int priority;
	char *topic, *chat_id;    /* filters, NULL for none */
	sk_handler_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int dead;                 /* unsubscribed: skipped, freed when the list settles */
	int ud_done;              /* free_ud already called */
} host_sub;

typedef struct host_timer {
	struct host_timer *next;
	uint64_t id;
	host_plug *pl;
	int64_t due;              /* monotonic ms */
	uint64_t repeat;          /* 0: one-shot */
	sk_timer_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int cancelled;            /* cancelled from its own callback */
} host_timer;

/* A send made in this run, waiting for host_send_result. */
typedef struct host_pend {
	struct host_pend *next;
	char uuid[40];
	host_plug *pl;
	sk_send_fn fn;
	void *ud;
	sk_free_fn free_ud;
} host_pend;

/* A send result that arrived while the backend was still inside send_text. */
typedef struct host_early {
	struct host_early *next;
	char *uuid, *detail, *plugin, *tag;
	int ok;
} host_early;

/* An mtop call in flight. pl is NULL once its plugin is unloaded: the record
 * stays until the backend calls back, since the backend holds it. */
typedef struct host_mtopc {
	struct host_mtopc *prev, *next;
	host *h;
	host_plug *pl;
	sk_mtop_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int starting;             /* inside backend.mtop */
	int early;                /* completed inside backend.mtop */
	int result;
	char *ret, *data;
} host_mtopc;

/* An sk_http_post request in flight (since 1.3). The plugin's unload
 * cancels it in the backend and frees it, so pl is always live. */
typedef struct host_httpc {
	struct host_httpc *prev, *next;
	host *h;
	host_plug *pl;
	void *req;                /* the backend's handle */
	sk_http_fn fn;
	void *ud;
	sk_free_fn free_ud;
	int starting;             /* inside backend.http_post */
	int early;                /* completed inside it (a backend that breaks its contract) */
	int status;
	char *body;
} host_httpc;

typedef struct host_job {
	struct host_job *next;
	host_plug *pl;
	sk_work_fn work;
	sk_done_fn done;
	void *ud;
	sk_free_fn free_ud;
} host_job;

/* A control command a plugin registered (sk_control_add). */
typedef struct host_ctl {
	struct host_ctl *next;
	host_plug *pl;
	char name[HOST_CTL_NAME_MAX + 1];
	char *help;
	sk_control_fn fn;
	void *ud;
	sk_free_fn free_ud;
} host_ctl;

/* The control call in progress: where sk_control_result/error write. */
typedef struct {
	host_plug *pl;
	char *result, *error;
	int bad_result;
} host_ctl_call;

/* A published event waiting for the dispatch in progress to finish. */
typedef struct host_pub {
	struct host_pub *next;
	char *topic, *payload, *from;
	int gen;                  /* 1 when published outside a published event's delivery */
} host_pub;

struct host {
	host_config cfg;
	host_backend be;
	pthread_t loop;

	host_plug **plugs;        /* in load order */
	size_t nplugs, capplugs;
	const char **names;       /* NULL-terminated, for host_plugins */
	size_t capnames;
	int next_index;
	uint64_t next_id;

	host_sub **subs;          /* sorted: load index, priority, id */
	size_t nsubs, capsubs;
	host_sub **added;         /* subscribed while depth > 0 */
	size_t nadded, capadded;
	int subs_dirty;

	int depth, settling, cur_gen;
	host_pub *pubq, *pubq_tail;
	size_t npub;

	host_timer *timers;       /* sorted by due */
	host_timer *firing;

	host_pend *pends;
	int in_send;
	host_early *early, *early_tail;
	host_mtopc *mtops;
	host_httpc *https;        /* sk_http_post requests in flight */
	host_plug *txn_owner;
	int schema_ready;

	host_stats stats;

	host_ctl *ctls;           /* control commands, in registration order */
	int rules_state;          /* HOST_RULES_*, as host_rules_verify found the file */
	int rules_ever_ok;        /* a good file was loaded in this run */
	char *rules_problem;      /* why the file is refused, NULL when it is not */
	char *rules_who;          /* the plugins that refused it ("a, b"), NULL: all (unreadable, not JSON) */
	host_ctl_call *ctl_call;  /* the one running, or NULL */

	/* the worker pool */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	pthread_t threads[HOST_WORKERS_MAX];
	int nthreads, started, stop;
	host_job *q, *q_tail, *done, *done_tail;
	int running;
};

static const char *host_strerror(int rc);

/* ---- logging ------------------------------------------------------------- */

/* Writes one line through the backend's log, or core/log.c with the plugin's
 * name as the module ("host" when there is none). */
static void host_emit(const host *h, int level, const char *plugin, const char *msg)
{
	if (level < SK_LOG_ERR)
		level = SK_LOG_ERR;
	if (level > SK_LOG_DEBUG)
		level = SK_LOG_DEBUG;
	if (h && h->be.log)
		h->be.log(h->be.ud, level, plugin ? plugin : "", msg);
	else
		log_msg(level, plugin && *plugin ? plugin : "host", "%s", msg);
}

/* A line of the host about a plugin (plugin may be NULL for the host itself). */
static void host_say(const host *h, const char *plugin, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void host_say(const host *h, const char *plugin, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	host_emit(h, level, plugin, buf);
}

#define host_plog(pl, level, ...) host_say((pl)->h, (pl)->name, (level), __VA_ARGS__)

/* ---- small helpers ------------------------------------------------------- */

/* strdup that keeps NULL as NULL. Returns the copy, or NULL (also on OOM). */
static char *host_strdup(const char *s)
{
	return s ? util_strndup(s, strlen(s)) : NULL;
}

/* Calls free_ud(ud) when there is one. */
static void host_free_ud(sk_free_fn free_ud, void *ud)
{
	if (free_ud)
		free_ud(ud);
}

/* Returns 1 on the loop thread; otherwise logs that fn was called from the
 * wrong thread and returns 0. Only checks in debug builds. */
static int host_on_loop(const host *h, const char *fn)
{
#ifndef NDEBUG
	if (!pthread_equal(pthread_self(), h->loop)) {
		log_msg(LOG_ERR, "host", "%s called off the loop thread", fn);
		return 0;
	}
#else
	(void)h, (void)fn;
#endif
	return 1;
}

/* Checks a plugin handle handed to a service: a live plugin, on the loop
 * thread. Returns SK_OK with *out set, SK_ERR_INVAL for a bad handle, or
 * SK_ERR_STATE off the loop thread (logged with log_msg, which is safe from
 * any thread, unlike the backend's log). */
static int host_check(sk_plugin *p, const char *fn, host_plug **out)
{
	host_plug *pl = (host_plug *)p;

	*out = NULL;
	if (!p || pl->magic != HOST_MAGIC) {
		log_msg(LOG_ERR, "host", "%s: not a plugin handle", fn);
		return SK_ERR_INVAL;
	}
#ifndef NDEBUG
	if (!pthread_equal(pthread_self(), pl->h->loop)) {
		log_msg(LOG_ERR, pl->name, "%s called off the loop thread: host functions are for the loop only "
			"(a work function must not call the host)", fn);
		return SK_ERR_STATE;
	}
#endif
	*out = pl;
	return SK_OK;
}

/* Whether the plugin may register things now: from init to fini, or during
 * its command (handlers and timers registered there never fire: nothing
 * dispatches or runs timers in a command's process). */
static int host_alive(const host_plug *pl)
{
	return pl->state == PL_INIT || pl->state == PL_RUNNING || pl->state == PL_FINI || pl->state == PL_COMMAND;
}

/* Whether the plugin runs a command: then there is no session or loop, and
 * sends, mtop and work (whose completion needs the loop) are refused with
 * SK_ERR_STATE, logged as named by what. Returns 1 when refused. */
static int host_no_session(host_plug *pl, const char *what)
{
	if (pl->state != PL_COMMAND)
		return 0;
	host_plog(pl, SK_LOG_WARN, "%s refused: a command runs without a session", what);
	return 1;
}

/* The monotonic clock in ms, from the backend when it has one. */
static int64_t host_mono(const host *h)
{
	return h->be.mono_ms ? h->be.mono_ms(h->be.ud) : util_mono_us() / 1000;
}

/* Finds a loaded plugin by name; returns it or NULL. */
static host_plug *host_find(const host *h, const char *name)
{
	size_t i;

	for (i = 0; name && i < h->nplugs; i++)
		if (!strcmp(h->plugs[i]->name, name))
			return h->plugs[i];
	return NULL;
}

static void host_settle(host *h);
static void host_txn_end(host_plug *pl, int op);

/* Before calling into a plugin. */
static void host_enter(host_plug *pl)
{
	pl->h->depth++;
	pl->calls++;
}

/* After a call into a plugin returned: rolls back a transaction it left open
 * (once its outermost call returns), then settles the host when nothing else
 * is running. what names the callback for the log. */
static void host_leave(host_plug *pl, const char *what)
{
	host *h = pl->h;

	if (--pl->calls == 0 && pl->in_txn) {
		host_plog(pl, SK_LOG_ERR, "%s returned with a transaction open: rolled back (commit or roll back "
			  "before returning)", what);
		host_txn_end(pl, 'r');
		pl->txn_rollbacks++;
	}
	if (--h->depth == 0)
		host_settle(h);
}

/* ---- subscriptions and dispatch ------------------------------------------ */

/* Whether a sorts before b: load index, then priority, then registration. */
static int host_sub_before(const host_sub *a, const host_sub *b)
{
	if (a->pl->index != b->pl->index)
		return a->pl->index < b->pl->index;
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->id < b->id;
}

/* Inserts s at its place in h->subs (the room was reserved). */
static void host_sub_insert(host *h, host_sub *s)
{
	size_t i = h->nsubs;

	while (i > 0 && host_sub_before(s, h->subs[i - 1]))
		i--;
	memmove(h->subs + i + 1, h->subs + i, (h->nsubs - i) * sizeof *h->subs);
	h->subs[i] = s;
	h->nsubs++;
}

/* Frees a subscription, calling its free_ud unless that was done already. */
static void host_sub_free(host_sub *s)
{
	if (!s->ud_done)
		host_free_ud(s->free_ud, s->ud);
	free(s->topic);
	free(s->chat_id);
	free(s);
}

/* Drops dead subscriptions and merges the ones added during a dispatch.
 * Only when nothing walks the list (depth 0). */
static void host_subs_compact(host *h)
{
	size_t i, j;

	if (h->depth || !h->subs_dirty)
		return;
	h->subs_dirty = 0;
	for (i = j = 0; i < h->nsubs; i++) {
		if (h->subs[i]->dead)
			host_sub_free(h->subs[i]);
		else
			h->subs[j++] = h->subs[i];
	}
	h->nsubs = j;
	for (i = 0; i < h->nadded; i++) {
		if (h->added[i]->dead)
			host_sub_free(h->added[i]);
		else
			host_sub_insert(h, h->added[i]);
	}
	h->nadded = 0;
}

/* Whether handler s wants event e (type, flags, topic, chat). */
static int host_sub_wants(const host_sub *s, const sk_event *e)
{
	if (e->type < 0 || e->type > SK_EV_MAX || !(s->mask & SK_MASK(e->type)))
		return 0;
	if ((s->flags & SK_F_SKIP_OWN) && e->own)
		return 0;
	if ((s->flags & SK_F_ONLY_OWN) && !e->own)
		return 0;
	if ((s->flags & SK_F_SKIP_ECHO) && e->echo)
		return 0;
	if (s->topic && e->type == SK_EV_PLUGIN && strcmp(s->topic, e->topic))
		return 0;
	if (s->chat_id && strcmp(s->chat_id, e->chat_id))
		return 0;
	return 1;
}

/* Runs the matching handlers for e in order until one returns SK_STOP: only
 * those of plugin `only` when set, none of the plugin named `except`. */
static void host_deliver(host *h, const sk_event *e, const host_plug *only, const char *except)
{
	size_t i;
	int rc;

	h->depth++;
	h->stats.dispatched++;
	/* h->subs may be reallocated by a subscribe in a handler, but its
	 * entries do not move while depth > 0: index it afresh each time. */
	for (i = 0; i < h->nsubs; i++) {
		host_sub *s = h->subs[i];
		host_plug *pl;

		if (s->dead || !host_sub_wants(s, e))
			continue;
		pl = s->pl;
		if ((pl->state != PL_RUNNING && pl->state != PL_INIT) || (only && pl != only) ||
		    (except && !strcmp(pl->name, except)))
			continue;
		pl->events++;
		host_enter(pl);
		rc = s->fn(&pl->pub, e, s->ud);
		host_leave(pl, "an event handler");
		if (rc == SK_STOP) {
			h->stats.stopped++;
			break;
		}
		if (rc < 0) {
			h->stats.handler_errors++;
			pl->handler_errors++;
			host_plog(pl, SK_LOG_WARN, "handler for event %d failed: %s (%d)", e->type,
				  host_strerror(rc), rc);
		}
	}
	h->depth--;
}

/* Fills an event with every string "" and the given type: core/feed.h's
 * one initialiser of sk_event. */
static void host_event_init(sk_event *e, int type)
{
	feed_sk_init(e, type);
}

/* Delivers the queued published events and merges subscriptions, once the
 * host is back at depth 0. Events published while this runs are delivered
 * by this same loop. */
static void host_settle(host *h)
{
	host_pub *q;
	sk_event e;

	if (h->settling || h->depth)
		return;
	h->settling = 1;
	for (;;) {
		host_subs_compact(h);
		if (!(q = h->pubq))
			break;
		if (!(h->pubq = q->next))
			h->pubq_tail = NULL;
		h->npub--;
		host_event_init(&e, SK_EV_PLUGIN);
		e.topic = q->topic;
		e.payload_json = q->payload;
		e.from_plugin = q->from;
		h->cur_gen = q->gen;
		if (h->be.on_publish)
			h->be.on_publish(h->be.ud, q->from, q->topic, q->payload);
		host_deliver(h, &e, NULL, q->from);
		h->cur_gen = 0;
		free(q->topic);
		free(q->payload);
		free(q->from);
		free(q);
	}
	h->settling = 0;
}

/* Makes room for one more subscription in both lists. Returns 0 or -1. */
static int host_subs_reserve(host *h)
{
	size_t need = h->nsubs + h->nadded + 1, cap;
	void *p;

	if (need > h->capsubs) {
		cap = h->capsubs ? h->capsubs * 2 : 16;
		if (!(p = realloc(h->subs, cap * sizeof *h->subs)))
			return -1;
		h->subs = p;
		h->capsubs = cap;
	}
	if (h->nadded + 1 > h->capadded) {
		cap = h->capadded ? h->capadded * 2 : 8;
		if (!(p = realloc(h->added, cap * sizeof *h->added)))
			return -1;
		h->added = p;
		h->capadded = cap;
	}
	return 0;
}

/* sk_subscribe. Returns SK_OK with *id_out set, or an error after calling free_ud. */
static int host_subscribe(sk_plugin *p, uint32_t type_mask, const sk_filter *filter, int priority, sk_handler_fn fn,
			  void *ud, sk_free_fn free_ud, uint64_t *id_out)
{
	host_plug *pl;
	host_sub *s = NULL;
	host *h;
	int rc;

	if (id_out)
		*id_out = 0;
	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!fn || !(type_mask & SK_MASK_ALL))
		goto fail;
	if (filter && ((filter->flags & ~(SK_F_SKIP_OWN | SK_F_ONLY_OWN | SK_F_SKIP_ECHO)) ||
		       (filter->flags & (SK_F_SKIP_OWN | SK_F_ONLY_OWN)) == (SK_F_SKIP_OWN | SK_F_ONLY_OWN)))
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl))
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(s = calloc(1, sizeof *s)) || host_subs_reserve(h))
		goto fail;
	if (filter && filter->topic && *filter->topic && !(s->topic = host_strdup(filter->topic)))
		goto fail;
	if (filter && filter->chat_id && *filter->chat_id && !(s->chat_id = host_strdup(filter->chat_id)))
		goto fail;
	s->id = h->next_id++;
	s->pl = pl;
	s->mask = type_mask;
	s->flags = filter ? filter->flags : 0;
	s->priority = priority;
	s->fn = fn;
	s->ud = ud;
	s->free_ud = free_ud;
	if (h->depth) {
		h->added[h->nadded++] = s;
		h->subs_dirty = 1;
	} else {
		host_sub_insert(h, s);
	}
	if (id_out)
		*id_out = s->id;
	return SK_OK;
fail:
	if (s) {
		free(s->topic);
		free(s->chat_id);
		free(s);
	}
	host_free_ud(free_ud, ud);
	return rc;
}

/* sk_unsubscribe: the handler is not called again; its free_ud runs once the
 * current dispatch or callback is over. Returns SK_OK or SK_ERR_NOTFOUND. */
static int host_unsubscribe(sk_plugin *p, uint64_t id)
{
	host_plug *pl;
	host *h;
	size_t i;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	h = pl->h;
	for (i = 0; i < h->nsubs + h->nadded; i++) {
		host_sub *s = i < h->nsubs ? h->subs[i] : h->added[i - h->nsubs];

		if (s->id == id && s->pl == pl && !s->dead) {
			s->dead = 1;
			h->subs_dirty = 1;
			host_subs_compact(h);
			return SK_OK;
		}
	}
	return SK_ERR_NOTFOUND;
}

/* sk_publish: queues an SK_EV_PLUGIN event for the other plugins. Returns
 * SK_OK, SK_ERR_INVAL (no topic, payload not JSON), SK_ERR_FULL (queue full,
 * or a chain of events published from handlers of published events too long). */
static int host_publish(sk_plugin *p, const char *topic, const char *payload_json)
{
	host_plug *pl;
	host_pub *q;
	cJSON *j;
	host *h;
	int rc, gen;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	h = pl->h;
	if (!host_alive(pl))
		return SK_ERR_STATE;
	if (!topic || !*topic || strlen(topic) > HOST_TOPIC_MAX || !payload_json)
		return SK_ERR_INVAL;
	if (!(j = cJSON_ParseWithOpts(payload_json, NULL, 1))) {
		host_plog(pl, SK_LOG_WARN, "publish %s: the payload is not valid JSON", topic);
		return SK_ERR_INVAL;
	}
	cJSON_Delete(j);
	gen = h->cur_gen + 1;
	if (gen > HOST_PUB_MAX_GEN) {
		host_plog(pl, SK_LOG_WARN, "publish %s: dropped, %d events in a chain published from handlers of "
			  "published events", topic, HOST_PUB_MAX_GEN);
		return SK_ERR_FULL;
	}
	if (h->npub >= HOST_PUB_MAX_QUEUE) {
		host_plog(pl, SK_LOG_WARN, "publish %s: dropped, %d events already waiting", topic,
			  HOST_PUB_MAX_QUEUE);
		return SK_ERR_FULL;
	}
	if (!(q = calloc(1, sizeof *q)) || !(q->topic = host_strdup(topic)) ||
	    !(q->payload = host_strdup(payload_json)) || !(q->from = host_strdup(pl->name))) {
		if (q) {
			free(q->topic);
			free(q->payload);
		}
		free(q);
		return SK_ERR_NOMEM;
	}
	q->gen = gen;
	if (h->pubq_tail)
		h->pubq_tail->next = q;
	else
		h->pubq = q;
	h->pubq_tail = q;
	h->npub++;
	if (!h->depth)
		host_settle(h);
	return SK_OK;
}

/* The string members of sk_event, which host_dispatch turns from NULL into "". */
static const size_t host_event_strings[] = {
	offsetof(sk_event, chat_id), offsetof(sk_event, sender_id), offsetof(sk_event, sender_name),
	offsetof(sk_event, text), offsetof(sk_event, item_id), offsetof(sk_event, message_id),
	offsetof(sk_event, im_id), offsetof(sk_event, order_id), offsetof(sk_event, image_url),
	offsetof(sk_event, raw_json), offsetof(sk_event, reason), offsetof(sk_event, topic),
	offsetof(sk_event, payload_json), offsetof(sk_event, from_plugin), offsetof(sk_event, send_uuid),
	offsetof(sk_event, send_tag),
};

void host_dispatch(host *h, const sk_event *e)
{
	sk_event x;
	size_t i;

	if (!h || !e || !host_on_loop(h, __func__))
		return;
	if (e->type == SK_EV_SEND_RESULT) {
		host_say(h, NULL, SK_LOG_WARN, "SK_EV_SEND_RESULT goes through host_send_result, not host_dispatch");
		return;
	}
	x = *e;
	x.size = sizeof x;
	for (i = 0; i < sizeof host_event_strings / sizeof host_event_strings[0]; i++) {
		const char **f = (const char **)((char *)&x + host_event_strings[i]);

		if (!*f)
			*f = "";
	}
	host_deliver(h, &x, NULL, NULL);
	if (!h->depth)
		host_settle(h);
}

/* ---- timers -------------------------------------------------------------- */

/* Inserts t after every timer due at or before it. */
static void host_timer_insert(host *h, host_timer *t)
{
	host_timer **pp = &h->timers;

	while (*pp && (*pp)->due <= t->due)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

/* Tells the backend when the earliest timer is due (a spurious wake is harmless). */
static void host_timer_wake(host *h)
{
	if (h->timers && h->be.wake_at)
		h->be.wake_at(h->be.ud, h->timers->due);
}

/* now + ms, saturating. */
static int64_t host_add_ms(int64_t now, uint64_t ms)
{
	return ms >= (uint64_t)(INT64_MAX - now) ? INT64_MAX : now + (int64_t)ms;
}

/* sk_timer_add: a one-shot timer when repeat_ms is 0 (its free_ud runs after it
 * fired), else one that fires every repeat_ms after the first delay_ms.
 * Returns SK_OK with *id_out set, or an error after calling free_ud. */
static int host_timer_add(sk_plugin *p, uint64_t delay_ms, uint64_t repeat_ms, sk_timer_fn fn, void *ud,
			  sk_free_fn free_ud, uint64_t *id_out)
{
	host_plug *pl;
	host_timer *t;
	host *h;
	int rc;

	if (id_out)
		*id_out = 0;
	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!fn)
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl))
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(t = calloc(1, sizeof *t)))
		goto fail;
	t->id = h->next_id++;
	t->pl = pl;
	t->due = host_add_ms(host_mono(h), delay_ms);
	t->repeat = repeat_ms;
	t->fn = fn;
	t->ud = ud;
	t->free_ud = free_ud;
	host_timer_insert(h, t);
	if (h->timers == t)
		host_timer_wake(h);
	if (id_out)
		*id_out = t->id;
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

/* sk_timer_cancel: the timer does not fire again and its free_ud runs (after
 * its callback returns, when it cancels itself). SK_OK or SK_ERR_NOTFOUND. */
static int host_timer_cancel(sk_plugin *p, uint64_t id)
{
	host_timer **pp, *t;
	host_plug *pl;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	h = pl->h;
	if (h->firing && h->firing->id == id && h->firing->pl == pl) {
		if (h->firing->cancelled)
			return SK_ERR_NOTFOUND;
		h->firing->cancelled = 1;
		return SK_OK;
	}
	for (pp = &h->timers; (t = *pp); pp = &t->next)
		if (t->id == id && t->pl == pl) {
			*pp = t->next;
			host_free_ud(t->free_ud, t->ud);
			free(t);
			return SK_OK;
		}
	return SK_ERR_NOTFOUND;
}

void host_run_timers(host *h)
{
	uint64_t limit;
	int64_t now;

	if (!h || !host_on_loop(h, __func__))
		return;
	now = host_mono(h);
	/* Timers made while these run (ids from limit on) wait for the next run,
	 * so a callback adding a 0 ms timer cannot keep this loop going. */
	limit = h->next_id;
	for (;;) {
		host_timer **pp = &h->timers, *t;
		host_plug *pl;

		while ((t = *pp) && t->due <= now && t->id >= limit)
			pp = &t->next;
		if (!t || t->due > now)
			break;
		*pp = t->next;
		t->next = NULL;
		pl = t->pl;
		h->firing = t;
		h->stats.timers_fired++;
		host_enter(pl);
		t->fn(&pl->pub, t->id, t->ud);
		host_leave(pl, "a timer callback");
		h->firing = NULL;
		if (t->repeat && !t->cancelled && host_alive(pl)) {
			/* The next period; after a long stall, skip the missed ones. */
			t->due = host_add_ms(t->due, t->repeat);
			if (t->due <= now)
				t->due = host_add_ms(now, t->repeat);
			host_timer_insert(h, t);
		} else {
			host_free_ud(t->free_ud, t->ud);
			free(t);
		}
	}
	host_timer_wake(h);
}

/* ---- sends --------------------------------------------------------------- */

/* Runs a send's callback and frees it: fn (when set) then free_ud. */
static void host_pend_finish(host_pend *s, int ok, const char *detail)
{
	host_plug *pl = s->pl;

	if (s->fn) {
		host_enter(pl);
		s->fn(&pl->pub, s->uuid, ok, detail ? detail : "", s->ud);
		host_leave(pl, "a send callback");
	}
	host_free_ud(s->free_ud, s->ud);
	free(s);
}

/* host_send_result, outside any backend send call. */
static void host_send_result_now(host *h, const char *uuid, int ok, const char *detail, const char *plugin,
				 const char *tag)
{
	host_pend **pp, *s;
	host_plug *pl;
	sk_event e;

	for (pp = &h->pends; (s = *pp); pp = &s->next)
		if (!strcmp(s->uuid, uuid)) {
			*pp = s->next;
			host_pend_finish(s, ok, detail);
			return;
		}
	/* Not made in this run: tell its plugin, if it is loaded. */
	if (!(pl = host_find(h, plugin)) || pl->state != PL_RUNNING)
		return;
	host_event_init(&e, SK_EV_SEND_RESULT);
	e.send_uuid = uuid;
	e.send_tag = tag ? tag : "";
	e.send_ok = ok ? 1 : 0;
	if (ok)
		e.message_id = detail ? detail : "";
	else
		e.reason = detail ? detail : "";
	host_deliver(h, &e, pl, NULL);
	if (!h->depth)
		host_settle(h);
}

void host_send_result(host *h, const char *uuid, int ok, const char *detail, const char *plugin, const char *tag)
{
	host_early *x;

	if (!h || !uuid || !host_on_loop(h, __func__))
		return;
	if (!h->in_send) {
		host_send_result_now(h, uuid, ok, detail, plugin, tag);
		return;
	}
	/* The backend answered from inside its send_text: keep it until the
	 * send is registered (host_send_flush). */
	if (!(x = calloc(1, sizeof *x)) || !(x->uuid = host_strdup(uuid)) ||
	    (detail && !(x->detail = host_strdup(detail))) || (plugin && !(x->plugin = host_strdup(plugin))) ||
	    (tag && !(x->tag = host_strdup(tag)))) {
		host_say(h, plugin, SK_LOG_ERR, "send %s: result lost (out of memory)", uuid);
		if (x) {
			free(x->uuid);
			free(x->detail);
			free(x->plugin);
		}
		free(x);
		return;
	}
	x->ok = ok;
	if (h->early_tail)
		h->early_tail->next = x;
	else
		h->early = x;
	h->early_tail = x;
}

/* Delivers the results that came in during a backend send call. */
static void host_send_flush(host *h)
{
	host_early *x;

	while (!h->in_send && (x = h->early)) {
		if (!(h->early = x->next))
			h->early_tail = NULL;
		host_send_result_now(h, x->uuid, x->ok, x->detail, x->plugin, x->tag);
		free(x->uuid);
		free(x->detail);
		free(x->plugin);
		free(x->tag);
		free(x);
	}
}

/* sk_send_text and sk_send_image. The backend copies the strings during the
 * call (ownership rule 2). Returns SK_OK with uuid_out set, or an error after
 * calling free_ud. */
static int host_send(sk_plugin *p, const char *fn_name, int image, const char *chat_id, const char *buyer_id,
		     const char *body, int w, int hgt, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud,
		     char *uuid_out)
{
	char uuid[40] = "";
	host_pend *s = NULL;
	host_plug *pl;
	host *h;
	int rc;

	if (uuid_out)
		uuid_out[0] = '\0';
	if ((rc = host_check(p, fn_name, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!chat_id || !*chat_id || !buyer_id || !body || (image && (!*body || w < 0 || hgt < 0)))
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, image ? "send_image" : "send_text"))
		goto fail;
	/* The outbox row would join the open transaction: a rollback would erase
	 * it while the session already holds the message. Commit first. */
	if (h->txn_owner) {
		host_plog(pl, SK_LOG_WARN, "send refused: a transaction is open (commit before sending)");
		goto fail;
	}
	rc = SK_ERR_UNSUPPORTED;
	if (image ? !h->be.send_image : !h->be.send_text)
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(s = calloc(1, sizeof *s)))
		goto fail;
	h->in_send++;
	if (image)
		rc = h->be.send_image(h->be.ud, pl->name, tag ? tag : "", chat_id, buyer_id, body, w, hgt, uuid);
	else
		rc = h->be.send_text(h->be.ud, pl->name, tag ? tag : "", chat_id, buyer_id, body, uuid);
	h->in_send--;
	if (rc != SK_OK) {
		if (rc > 0)
			rc = SK_ERR_IO;
		free(s);
		host_free_ud(free_ud, ud);
		host_send_flush(h);
		return rc;
	}
	uuid[sizeof uuid - 1] = '\0';
	memcpy(s->uuid, uuid, sizeof s->uuid);
	s->pl = pl;
	s->fn = fn;
	s->ud = ud;
	s->free_ud = free_ud;
	s->next = h->pends;
	h->pends = s;
	h->stats.sends++;
	if (uuid_out)
		memcpy(uuid_out, uuid, sizeof uuid);
	host_send_flush(h);
	return SK_OK;
fail:
	free(s);
	host_free_ud(free_ud, ud);
	return rc;
}

/* sk_send_text; returns as host_send. */
static int host_send_text(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *text, const char *tag,
			  sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return host_send(p, __func__, 0, chat_id, buyer_id, text, 0, 0, tag, fn, ud, free_ud, uuid_out);
}

/* sk_send_image; returns as host_send. */
static int host_send_image(sk_plugin *p, const char *chat_id, const char *buyer_id, const char *url, int width,
			   int height, const char *tag, sk_send_fn fn, void *ud, sk_free_fn free_ud, char *uuid_out)
{
	return host_send(p, __func__, 1, chat_id, buyer_id, url, width, height, tag, fn, ud, free_ud, uuid_out);
}

/* sk_send_status: the backend's answer; *detail is malloc'd, so sk_free
 * (free) releases it. Returns SK_OK, SK_ERR_NOTFOUND or another error. */
static int host_send_status(sk_plugin *p, const char *uuid, int *state, char **detail)
{
	host_plug *pl;
	char *d = NULL;
	int rc, st = 0;

	if (detail)
		*detail = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!uuid || !*uuid)
		return SK_ERR_INVAL;
	if (!pl->h->be.send_status)
		return SK_ERR_UNSUPPORTED;
	rc = pl->h->be.send_status(pl->h->be.ud, uuid, &st, detail ? &d : NULL);
	if (rc != SK_OK) {
		free(d);
		return rc > 0 ? SK_ERR_IO : rc;
	}
	if (state)
		*state = st;
	if (detail)
		*detail = d;
	return SK_OK;
}

/* sk_send_find: the backend's latest send of this plugin (by its own name:
 * another plugin's tags are never found) with tag; *detail is malloc'd.
 * Returns SK_OK, SK_ERR_NOTFOUND, SK_ERR_INVAL for a NULL or empty tag,
 * SK_ERR_UNSUPPORTED without a backend that can look, or another error. */
static int host_send_find(sk_plugin *p, const char *tag, char *uuid_out, int *state, char **detail)
{
	char uuid[40] = "", *d = NULL;
	host_plug *pl;
	int rc, st = 0;

	if (uuid_out)
		uuid_out[0] = '\0';
	if (detail)
		*detail = NULL;
	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	if (!tag || !*tag)
		return SK_ERR_INVAL;
	if (!pl->h->be.send_find)
		return SK_ERR_UNSUPPORTED;
	rc = pl->h->be.send_find(pl->h->be.ud, pl->name, tag, uuid, &st, detail ? &d : NULL);
	if (rc != SK_OK) {
		free(d);
		return rc > 0 ? SK_ERR_IO : rc;
	}
	uuid[sizeof uuid - 1] = '\0';
	if (uuid_out)
		memcpy(uuid_out, uuid, sizeof uuid);
	if (state)
		*state = st;
	if (detail)
		*detail = d;
	return SK_OK;
}

/* ---- config -------------------------------------------------------------- */

/* The item for key in the plugin's section, or NULL. */
static const cJSON *host_cfg_item(sk_plugin *p, const char *fn, const char *key)
{
	host_plug *pl;

	if (host_check(p, fn, &pl) || !key || !pl->section)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(pl->section, key);
}

/* Whether a cJSON number is an integer that fits an int64_t. */
static int host_is_int(const cJSON *v)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	/* the range test first: converting an out-of-range double is undefined (NaN fails it too) */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return 0;
	return d == (double)(int64_t)d;
}

/* The typed getters: the value when the key is there with that type, else def. */
static const char *host_config_str(sk_plugin *p, const char *key, const char *def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsString(v) ? v->valuestring : def;
}

static int64_t host_config_int(sk_plugin *p, const char *key, int64_t def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return host_is_int(v) ? (int64_t)v->valuedouble : def;
}

static double host_config_num(sk_plugin *p, const char *key, double def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int host_config_bool(sk_plugin *p, const char *key, int def)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The number of items of a list, 0 when absent or not a list. */
static size_t host_config_list_len(sk_plugin *p, const char *key)
{
	const cJSON *v = host_cfg_item(p, __func__, key);

	return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

/* Item i of a list of strings, NULL when absent or not a string. */
static const char *host_config_list_str(sk_plugin *p, const char *key, size_t i)
{
	const cJSON *v = host_cfg_item(p, __func__, key), *it;

	if (!cJSON_IsArray(v) || i > (size_t)INT32_MAX)
		return NULL;
	it = cJSON_GetArrayItem(v, (int)i);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* The value printed as JSON, cached per key until unload; NULL when absent. */
static const char *host_config_json(sk_plugin *p, const char *key)
{
	const cJSON *v = host_cfg_item(p, __func__, key);
	host_plug *pl = (host_plug *)p;
	host_json *c;

	if (!v)
		return NULL;
	for (c = pl->jcache; c; c = c->next)
		if (!strcmp(c->key, key))
			return c->json;
	if (!(c = calloc(1, sizeof *c)) || !(c->key = host_strdup(key)) || !(c->json = cJSON_PrintUnformatted(v))) {
		if (c)
			free(c->key);
		free(c);
		return NULL;
	}
	c->next = pl->jcache;
	pl->jcache = c;
	return c->json;
}

/* The account's rules file, "" when none. */
static const char *host_rules_path(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return "";
	return pl->h->cfg.rules_path ? pl->h->cfg.rules_path : "";
}

/* Appends "<plugin>.<key>: <reason>" and sep to out. */
static void host_cfg_err(sbuf *out, const char *plugin, const char *key, const char *reason, const char *sep)
{
	sbuf_addf(out, "%s.%s: %s%s", plugin, key, reason, sep);
}

/* Checks a config section (NULL when absent) against the declared keys:
 * every key declared, of its type, the required ones present. Appends one
 * "<plugin>.<key>: <reason>" per problem to out, each followed by sep.
 * Returns the number of problems. */
static int host_config_check(const sk_plugin_desc *d, const cJSON *section, sbuf *out, const char *sep)
{
	static const char *const want[] = {
		[SK_CFG_STR] = "must be a string", [SK_CFG_INT] = "must be an integer",
		[SK_CFG_NUM] = "must be a number", [SK_CFG_BOOL] = "must be true or false",
		[SK_CFG_STR_LIST] = "must be a list of strings", [SK_CFG_JSON] = "",
	};
	const sk_config_key *k;
	const cJSON *v, *it;
	int bad = 0, okt;

	if (section && !cJSON_IsObject(section)) {
		sbuf_addf(out, "%s: the config section must be an object%s", d->name, sep);
		return 1;
	}
	cJSON_ArrayForEach(v, section) {
		for (k = d->config_keys; k && k->key; k++)
			if (!strcmp(k->key, v->string))
				break;
		if (!k || !k->key) {
			host_cfg_err(out, d->name, v->string, "unknown key", sep);
			bad++;
			continue;
		}
		switch (k->type) {
		case SK_CFG_STR: okt = cJSON_IsString(v); break;
		case SK_CFG_INT: okt = host_is_int(v); break;
		case SK_CFG_NUM: okt = cJSON_IsNumber(v); break;
		case SK_CFG_BOOL: okt = cJSON_IsBool(v); break;
		case SK_CFG_STR_LIST:
			okt = cJSON_IsArray(v);
			cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it)) okt = 0;
			break;
		default: okt = 1; break;
		}
		if (!okt) {
			host_cfg_err(out, d->name, v->string, want[k->type], sep);
			bad++;
		}
	}
	for (k = d->config_keys; k && k->key; k++)
		if (k->required && !cJSON_GetObjectItemCaseSensitive(section, k->key)) {
			host_cfg_err(out, d->name, k->key, "required key missing", sep);
			bad++;
		}
	return bad;
}

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
static int host_migrate(host *h, host_plug *pl, char *why, size_t whylen)
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
static void host_txn_end(host_plug *pl, int op)
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

static int host_db_begin(sk_plugin *p);
static int host_db_commit(sk_plugin *p);
static int host_db_rollback(sk_plugin *p);

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
static int host_db_exec(sk_plugin *p, const char *sql, const sk_value *params, size_t nparams, sk_row_fn fn,
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
static int64_t host_db_changes(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	return pl->last_changes;
}

/* The rowid of the plugin's last INSERT through db_exec. */
static int64_t host_db_last_rowid(sk_plugin *p)
{
	host_plug *pl;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		return rc;
	return pl->last_rowid;
}

/* sk_db_begin: BEGIN IMMEDIATE. SK_ERR_STATE when a transaction is open
 * already (the plugin's or anyone's on the shared connection). */
static int host_db_begin(sk_plugin *p)
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
static int host_db_commit(sk_plugin *p)
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
static int host_db_rollback(sk_plugin *p)
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

/* ---- work ---------------------------------------------------------------- */

/* A worker thread: runs queued work until the host stops. */
static void *host_worker(void *arg)
{
	host *h = arg;
	host_job *j;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && !h->q)
			pthread_cond_wait(&h->cv_work, &h->mu);
		if (h->stop)
			break;
		j = h->q;
		if (!(h->q = j->next))
			h->q_tail = NULL;
		j->next = NULL;
		j->pl->work_running++;
		h->running++;
		pthread_mutex_unlock(&h->mu);
		j->work(j->ud);
		pthread_mutex_lock(&h->mu);
		j->pl->work_running--;
		h->running--;
		if (h->done_tail)
			h->done_tail->next = j;
		else
			h->done = j;
		h->done_tail = j;
		pthread_cond_broadcast(&h->cv_done);
		if (h->be.wake_loop) {
			pthread_mutex_unlock(&h->mu);
			h->be.wake_loop(h->be.ud);
			pthread_mutex_lock(&h->mu);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Starts the worker threads on first use. Returns 0 when at least one runs. */
static int host_workers_start(host *h)
{
	while (h->started < h->nthreads) {
		if (pthread_create(&h->threads[h->started], NULL, host_worker, h))
			break;
		h->started++;
	}
	return h->started ? 0 : -1;
}

/* sk_work: work(ud) on a worker, then done(p, ud) and free_ud(ud) on the loop
 * (host_work_poll). Returns SK_OK, or an error after calling free_ud. */
static int host_work(sk_plugin *p, sk_work_fn work, sk_done_fn done, void *ud, sk_free_fn free_ud)
{
	host_plug *pl;
	host_job *j;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!work)
		goto fail;
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "work"))
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(j = calloc(1, sizeof *j)))
		goto fail;
	if (host_workers_start(h)) {
		free(j);
		host_plog(pl, SK_LOG_ERR, "work: cannot start a worker thread");
		rc = SK_ERR_STATE;
		goto fail;
	}
	j->pl = pl;
	j->work = work;
	j->done = done;
	j->ud = ud;
	j->free_ud = free_ud;
	pthread_mutex_lock(&h->mu);
	if (h->q_tail)
		h->q_tail->next = j;
	else
		h->q = j;
	h->q_tail = j;
	pthread_cond_signal(&h->cv_work);
	pthread_mutex_unlock(&h->mu);
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

void host_work_poll(host *h)
{
	host_job *list, *j;

	if (!h || !host_on_loop(h, __func__))
		return;
	pthread_mutex_lock(&h->mu);
	list = h->done;
	h->done = h->done_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	while ((j = list)) {
		host_plug *pl = j->pl;

		list = j->next;
		if (j->done && host_alive(pl)) {
			host_enter(pl);
			j->done(&pl->pub, j->ud);
			host_leave(pl, "a work completion");
		}
		host_free_ud(j->free_ud, j->ud);
		free(j);
		h->stats.work_done++;
	}
}

void host_work_drain(host *h)
{
	int more;

	if (!h || !host_on_loop(h, __func__))
		return;
	do {
		pthread_mutex_lock(&h->mu);
		while (h->q || h->running)
			pthread_cond_wait(&h->cv_done, &h->mu);
		more = h->done != NULL;
		pthread_mutex_unlock(&h->mu);
		/* Completions may queue more work: go round until none is left. */
		if (more)
			host_work_poll(h);
	} while (more);
}

/* Takes the plugin's work out of the pool: queued items are dropped, running
 * ones waited for (their code is in the plugin's object), finished ones not
 * completed. Each free_ud is called; no done. */
static void host_work_cancel(host *h, host_plug *pl)
{
	host_job *drop = NULL, **pp, *j;

	pthread_mutex_lock(&h->mu);
	for (pp = &h->q; (j = *pp);) {
		if (j->pl == pl) {
			*pp = j->next;
			j->next = drop;
			drop = j;
		} else {
			pp = &j->next;
		}
	}
	h->q_tail = NULL;
	for (j = h->q; j; j = j->next)
		h->q_tail = j;
	while (pl->work_running)
		pthread_cond_wait(&h->cv_done, &h->mu);
	for (pp = &h->done; (j = *pp);) {
		if (j->pl == pl) {
			*pp = j->next;
			j->next = drop;
			drop = j;
		} else {
			pp = &j->next;
		}
	}
	h->done_tail = NULL;
	for (j = h->done; j; j = j->next)
		h->done_tail = j;
	pthread_mutex_unlock(&h->mu);
	while ((j = drop)) {
		drop = j->next;
		host_free_ud(j->free_ud, j->ud);
		free(j);
	}
}

/* ---- session, clock, mtop ------------------------------------------------ */

/* The session's sk_state, SK_STATE_DISCONNECTED without a backend. */
static int host_session_state(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl) || !pl->h->be.session_state)
		return SK_STATE_DISCONNECTED;
	return pl->h->be.session_state(pl->h->be.ud);
}

/* The backend's metrics as malloc'd JSON ("{}" without a backend), NULL on error. */
static char *host_metrics_json(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return NULL;
	if (pl->h->be.metrics_json)
		return pl->h->be.metrics_json(pl->h->be.ud);
	return host_strdup("{}");
}

/* The clocks, from the backend (the fake host's are manual); 0 on a bad call. */
static int64_t host_now_ms(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return 0;
	return pl->h->be.now_ms ? pl->h->be.now_ms(pl->h->be.ud) : util_now_ms();
}

static int64_t host_mono_ms(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return 0;
	return host_mono(pl->h);
}

/* The account id and its own user id (unb), "" when unknown. */
static const char *host_account_id(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return "";
	return pl->h->cfg.account_id ? pl->h->cfg.account_id : "";
}

static const char *host_own_user_id(sk_plugin *p)
{
	host_plug *pl;

	if (host_check(p, __func__, &pl))
		return "";
	return pl->h->cfg.own_user_id ? pl->h->cfg.own_user_id : "";
}

/* Unlinks and frees an mtop record. */
static void host_mtop_free(host_mtopc *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->h->mtops = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->ret);
	free(c->data);
	free(c);
}

/* An mtop call finished: the plugin's fn (if it is still loaded) and free_ud. */
static void host_mtop_finish(host_mtopc *c, int result, const char *ret, const char *data_json)
{
	host_plug *pl = c->pl;

	if (pl) {
		if (c->fn) {
			host_enter(pl);
			c->fn(&pl->pub, result, ret ? ret : "", data_json ? data_json : "", c->ud);
			host_leave(pl, "an mtop callback");
		}
		host_free_ud(c->free_ud, c->ud);
	}
	host_mtop_free(c);
}

/* The backend's completion (host_mtop_done). */
static void host_mtop_cb(void *ctx, int result, const char *ret, const char *data_json)
{
	host_mtopc *c = ctx;

	if (!c)
		return;
	if (c->starting) {
		/* Inside backend.mtop still: host_mtop sorts it out on return. */
		c->early = 1;
		c->result = result;
		c->ret = host_strdup(ret ? ret : "");
		c->data = host_strdup(data_json ? data_json : "");
		return;
	}
	host_mtop_finish(c, result, ret, data_json);
}

/* sk_mtop. Returns SK_OK (fn then runs once, later), or an error after
 * calling free_ud: SK_ERR_IO when the call could not start (the backend
 * answered SK_MTOP_TRANSPORT at once). Another immediate answer runs fn
 * before this returns. */
static int host_mtop(sk_plugin *p, const char *api, const char *data_json, sk_mtop_fn fn, void *ud,
		     sk_free_fn free_ud)
{
	host_mtopc *c;
	host_plug *pl;
	cJSON *j;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (!api || !*api || !data_json)
		goto fail;
	if (!(j = cJSON_ParseWithOpts(data_json, NULL, 1))) {
		host_plog(pl, SK_LOG_WARN, "mtop %s: data is not valid JSON", api);
		goto fail;
	}
	cJSON_Delete(j);
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "mtop"))
		goto fail;
	rc = SK_ERR_UNSUPPORTED;
	if (!h->be.mtop)
		goto fail;
	rc = SK_ERR_NOMEM;
	if (!(c = calloc(1, sizeof *c)))
		goto fail;
	c->h = h;
	c->pl = pl;
	c->fn = fn;
	c->ud = ud;
	c->free_ud = free_ud;
	c->next = h->mtops;
	if (h->mtops)
		h->mtops->prev = c;
	h->mtops = c;
	c->starting = 1;
	h->be.mtop(h->be.ud, api, data_json, host_mtop_cb, c);
	c->starting = 0;
	if (c->early) {
		if (c->result == SK_MTOP_TRANSPORT) {
			host_mtop_free(c);
			rc = SK_ERR_IO;
			goto fail;
		}
		host_mtop_finish(c, c->result, c->ret, c->data);
	}
	return SK_OK;
fail:
	host_free_ud(free_ud, ud);
	return rc;
}

/* ---- HTTP POST (since 1.3) -------------------------------------------------- */

/* Takes an HTTP record out of the list of requests in flight. */
static void host_http_unlink(host_httpc *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->h->https = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* A request finished: the plugin's fn (a status outside 100..599 that is
 * not an sk_rc becomes SK_ERR_IO), its free_ud, then the record is freed. */
static void host_http_finish(host_httpc *c, int status, const char *body)
{
	host_plug *pl = c->pl;

	host_http_unlink(c);
	if (status >= 0 && (status < 100 || status > 599))
		status = SK_ERR_IO;
	if (c->fn) {
		host_enter(pl);
		c->fn(&pl->pub, status, body ? body : "", c->ud);
		host_leave(pl, "an HTTP callback");
	}
	host_free_ud(c->free_ud, c->ud);
	free(c->body);
	free(c);
}

/* The backend's completion (host_http_done). */
static void host_http_cb(void *ctx, int status, const char *body)
{
	host_httpc *c = ctx;

	if (!c)
		return;
	if (c->starting) {
		/* The backend must not answer inside http_post; if it does,
		 * host_http_post delivers the answer when the backend returns. */
		c->early = 1;
		c->status = status;
		c->body = host_strdup(body ? body : "");
		return;
	}
	host_http_finish(c, status, body);
}

/* Whether c may be part of a header name (an RFC 9110 token character). */
static int host_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Checks a URL for sk_http_post: http:// or https:// (lower case: the core's
 * client tells TLS by that), a host, no user:password@ (use a header), no
 * space or control byte, at most HOST_HTTP_URL_MAX bytes. Returns 0, or -1
 * with *why set. */
static int host_http_url_ok(const char *url, const char **why)
{
	const char *rest, *s;

	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		*why = "the url must start with http:// or https://";
		return -1;
	}
	rest = url + (url[4] == 's' ? 8 : 7);
	if (strlen(url) > HOST_HTTP_URL_MAX) {
		*why = "the url is longer than 2048 bytes";
		return -1;
	}
	if (!*rest || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#') {
		*why = "the url has no host";
		return -1;
	}
	for (s = url; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			*why = "the url has a space or a control character";
			return -1;
		}
	for (s = rest; *s && *s != '/' && *s != '?' && *s != '#'; s++)
		if (*s == '@') {
			*why = "user:password@ in the url is not supported (send an Authorization header)";
			return -1;
		}
	return 0;
}

/* Turns a plugin's extra header lines ("Name: value", separated by '\n';
 * NULL or "" for none) into what the backend sends: each line checked and
 * ended with CRLF, then Content-Type: application/json and a User-Agent
 * unless the plugin gave its own. The names the host or the client write
 * (Host, Content-Length, Transfer-Encoding, Connection) are refused, and so
 * is any control byte but a tab in a value (CR and LF included: no header
 * injection). Returns 0, or -1 with *why set (never quoting a value: it may
 * be a secret). */
static int host_http_headers(const char *in, sbuf *out, const char **why)
{
	static const char *const taken[] = { "host", "content-length", "transfer-encoding", "connection", NULL };
	const char *s = in ? in : "";
	int has_ct = 0, has_ua = 0;

	while (*s) {
		const char *e = strchr(s, '\n'), *colon, *v, *ve;
		size_t len = e ? (size_t)(e - s) : strlen(s), nlen, i;

		if (!len) {
			if (!s[1])
				break;        /* the last line ended with a newline */
			*why = "an empty header line";
			return -1;
		}
		if (!(colon = memchr(s, ':', len)) || colon == s) {
			*why = "a header line is not \"Name: value\"";
			return -1;
		}
		nlen = (size_t)(colon - s);
		for (i = 0; i < nlen; i++)
			if (!host_tchar((unsigned char)s[i])) {
				*why = "a header name has a character that is not allowed (CR, LF and spaces included)";
				return -1;
			}
		for (v = colon + 1; v < s + len; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
				*why = "a header value has a control character (CR and LF included)";
				return -1;
			}
		for (i = 0; taken[i]; i++)
			if (strlen(taken[i]) == nlen && !strncasecmp(s, taken[i], nlen)) {
				*why = "Host, Content-Length, Transfer-Encoding and Connection are set by the host";
				return -1;
			}
		has_ct |= nlen == 12 && !strncasecmp(s, "content-type", 12);
		has_ua |= nlen == 10 && !strncasecmp(s, "user-agent", 10);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = s + len; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		sbuf_addf(out, "%.*s: %.*s\r\n", (int)nlen, s, (int)(ve - v), v);
		s += len + (e ? 1 : 0);
	}
	if (!has_ct)
		sbuf_adds(out, "Content-Type: application/json\r\n");
	if (!has_ua)
		sbuf_addf(out, "User-Agent: shopkeep (plugin ABI %d.%d)\r\n", SK_ABI_MAJOR, SK_ABI_MINOR);
	if (out->oom) {
		*why = "out of memory";
		return -1;
	}
	if (out->len > HOST_HTTP_HEADERS_MAX) {
		*why = "the headers are longer than 2048 bytes";
		return -1;
	}
	return 0;
}

/* sk_http_post (see plugins/plugin.h, HTTP POST). Returns SK_OK (fn then
 * runs once, later, unless the plugin is unloaded first), or an error after
 * calling free_ud: SK_ERR_INVAL (logged with the reason), SK_ERR_STATE (a
 * command, or not running), SK_ERR_FULL, SK_ERR_UNSUPPORTED (no backend),
 * SK_ERR_NOMEM, SK_ERR_IO (the backend could not start it). */
static int host_http_post(sk_plugin *p, const char *url, const char *headers, const char *body, size_t len,
			  int timeout_ms, sk_http_fn fn, void *ud, sk_free_fn free_ud)
{
	const char *why = NULL;
	sbuf hdr = { 0 };
	host_httpc *c;
	host_plug *pl;
	size_t n = 0;
	host *h;
	int rc;

	if ((rc = host_check(p, __func__, &pl)))
		goto fail;
	h = pl->h;
	rc = SK_ERR_INVAL;
	if (host_http_url_ok(url, &why) || host_http_headers(headers, &hdr, &why))
		goto bad;
	if (!body && len) {
		why = "no body but a length";
		goto bad;
	}
	if (len > HOST_HTTP_BODY_MAX) {
		why = "the body is larger than 1 MiB";
		goto bad;
	}
	if (timeout_ms < 0 || timeout_ms > HOST_HTTP_TIMEOUT_MAX_MS) {
		why = "timeout_ms must be from 0 (the default, 10 s) to 300000";
		goto bad;
	}
	rc = SK_ERR_STATE;
	if (!host_alive(pl) || host_no_session(pl, "http_post"))
		goto fail;
	rc = SK_ERR_UNSUPPORTED;
	if (!h->be.http_post || !h->be.http_cancel)
		goto fail;
	for (c = h->https; c; c = c->next)
		n += c->pl == pl;
	rc = SK_ERR_FULL;
	if (n >= HOST_HTTP_MAX) {
		host_plog(pl, SK_LOG_WARN, "http_post refused: %d requests in flight already", HOST_HTTP_MAX);
		goto fail;
	}
	rc = SK_ERR_NOMEM;
	if (!(c = calloc(1, sizeof *c)))
		goto fail;
	c->h = h;
	c->pl = pl;
	c->fn = fn;
	c->ud = ud;
	c->free_ud = free_ud;
	c->next = h->https;
	if (h->https)
		h->https->prev = c;
	h->https = c;
	c->starting = 1;
	c->req = h->be.http_post(h->be.ud, url, hdr.p, body ? body : "", len,
				 timeout_ms ? timeout_ms : HOST_HTTP_TIMEOUT_MS, host_http_cb, c);
	c->starting = 0;
	sbuf_free(&hdr);
	if (!c->req) {
		host_http_unlink(c);
		free(c->body);
		free(c);
		host_free_ud(free_ud, ud);
		return SK_ERR_IO;
	}
	if (c->early)
		host_http_finish(c, c->status, c->body);
	return SK_OK;
bad:
	host_plog(pl, SK_LOG_WARN, "http_post refused: %s", why);
fail:
	sbuf_free(&hdr);
	host_free_ud(free_ud, ud);
	return rc;
}

/* ---- the service table --------------------------------------------------- */

/* sk_log: one line with the plugin's name as its module. */
static void host_log(sk_plugin *p, int level, const char *fmt, va_list ap)
{
	host_plug *pl;
	char buf[1024];

	if (host_check(p, __func__, &pl) || !fmt)
		return;
	vsnprintf(buf, sizeof buf, fmt, ap);
	host_emit(pl->h, level, pl->name, buf);
}

/* The name of an sk_rc. */
static const char *host_strerror(int rc)
{
	switch (rc) {
	case SK_OK: return "ok";
	case SK_ERR_INVAL: return "invalid argument";
	case SK_ERR_NOMEM: return "out of memory";
	case SK_ERR_NOTFOUND: return "not found";
	case SK_ERR_STATE: return "not possible now";
	case SK_ERR_FULL: return "queue full";
	case SK_ERR_DB: return "database error";
	case SK_ERR_CONFIG: return "config error";
	case SK_ERR_UNSUPPORTED: return "not supported by this host";
	case SK_ERR_IO: return "I/O error";
	}
	return rc > 0 ? "not an error code" : "unknown error";
}

/* sk_free: what the host returns non-const is malloc'd. */
static void host_mem_free(void *ptr)
{
	free(ptr);
}


/* ---- control commands (since 1.2) ------------------------------------------ */

/* The core's own control commands (core/web.c answers them): no plugin may take these. */
static const char *const host_core_controls[] = { "status", "send", "list_chats", "reload_rules", "help", NULL };

/* Whether name is [a-z][a-z0-9_]*, at most HOST_CTL_NAME_MAX bytes. */
static int host_ctl_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > HOST_CTL_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	for (int i = 0; host_core_controls[i]; i++)
		if (!strcmp(name, host_core_controls[i]))
			return 0;
	return 1;
}

static host_ctl *host_ctl_find(const host *h, const char *name)
{
	for (host_ctl *c = h->ctls; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* sk_control_add. Returns SK_OK, SK_ERR_INVAL (bad or taken name, no fn),
 * SK_ERR_STATE (not between init and fini) or SK_ERR_NOMEM; on failure
 * free_ud has run. */
static int host_control_add(sk_plugin *p, const char *command, const char *help, sk_control_fn fn, void *ud,
			    sk_free_fn free_ud)
{
	host_plug *pl;
	host_ctl *c, **tail;
	int rc;

	if ((rc = host_check(p, __func__, &pl))) {
		host_free_ud(free_ud, ud);
		return rc;
	}
	if (!host_alive(pl)) {
		host_free_ud(free_ud, ud);
		return SK_ERR_STATE;
	}
	if (!fn || !host_ctl_name_ok(command) || host_ctl_find(pl->h, command)) {
		host_plog(pl, SK_LOG_WARN, "control_add %s: %s", command ? command : "(null)",
			  !fn ? "no function" : !host_ctl_name_ok(command) ?
			  "not a valid name ([a-z][a-z0-9_]*, at most 40, not one of the core's)" : "taken already");
		host_free_ud(free_ud, ud);
		return SK_ERR_INVAL;
	}
	if (!(c = calloc(1, sizeof *c)) || !(c->help = host_strdup(help ? help : ""))) {
		free(c);
		host_free_ud(free_ud, ud);
		return SK_ERR_NOMEM;
	}
	snprintf(c->name, sizeof c->name, "%s", command);
	c->pl = pl;
	c->fn = fn;
	c->ud = ud;
	c->free_ud = free_ud;
	for (tail = &pl->h->ctls; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	return SK_OK;
}

/* The call of pl in progress, or NULL (logged) outside one. */
static host_ctl_call *host_ctl_cur(sk_plugin *p, const char *fn)
{
	host_plug *pl;

	if (host_check(p, fn, &pl))
		return NULL;
	if (!pl->h->ctl_call || pl->h->ctl_call->pl != pl) {
		host_plog(pl, SK_LOG_WARN, "%s outside a control command", fn);
		return NULL;
	}
	return pl->h->ctl_call;
}

/* sk_control_result: keeps a copy of json as the result data. */
static int host_control_result(sk_plugin *p, const char *json)
{
	host_ctl_call *c = host_ctl_cur(p, __func__);
	cJSON *j;

	if (!c)
		return SK_ERR_STATE;
	free(c->result);
	c->result = NULL;
	c->bad_result = 0;
	if (!json)
		return SK_OK;
	if (!(j = cJSON_ParseWithOpts(json, NULL, 1))) {
		c->bad_result = 1;
		return SK_ERR_INVAL;
	}
	cJSON_Delete(j);
	return (c->result = host_strdup(json)) ? SK_OK : SK_ERR_NOMEM;
}

/* sk_control_error: keeps a copy of text as the error. */
static int host_control_error(sk_plugin *p, const char *text)
{
	host_ctl_call *c = host_ctl_cur(p, __func__);

	if (!c)
		return SK_ERR_STATE;
	free(c->error);
	return (c->error = host_strdup(text ? text : "")) ? SK_OK : SK_ERR_NOMEM;
}

int host_control(host *h, const char *command, const char *data_json, char **result, char **error)
{
	host_ctl_call call = { 0 }, *outer;
	host_ctl *c;
	int rc;

	*result = *error = NULL;
	if (!h || !command || !host_on_loop(h, __func__))
		return SK_ERR_INVAL;
	if (!(c = host_ctl_find(h, command)) || c->pl->state != PL_RUNNING) {
		*error = host_strdup("unknown command");
		return SK_ERR_NOTFOUND;
	}
	if (h->ctl_call) {
		*error = host_strdup("a control command may not run another one");
		return SK_ERR_STATE;
	}
	call.pl = c->pl;
	outer = h->ctl_call;
	h->ctl_call = &call;
	host_enter(c->pl);
	rc = c->fn(&c->pl->pub, command, data_json && *data_json ? data_json : "{}", c->ud);
	host_leave(c->pl, "control command");
	h->ctl_call = outer;
	if (rc > 0) {
		host_plog(call.pl, SK_LOG_WARN, "control %s returned %d, not an sk_rc: taken as SK_OK", command, rc);
		rc = SK_OK;
	}
	if (rc == SK_OK && call.bad_result) {
		rc = SK_ERR_INVAL;
		free(call.error);
		call.error = host_strdup("the plugin's result was not JSON");
		host_plog(call.pl, SK_LOG_ERR, "control %s: its result was not JSON", command);
	}
	if (rc < 0) {
		free(call.result);
		call.result = NULL;
		if (!call.error)
			call.error = host_strdup(host_strerror(rc));
	} else {
		free(call.error);
		call.error = NULL;
	}
	*result = call.result;
	*error = call.error;
	return rc;
}

void host_control_each(const host *h, void (*cb)(const char *name, const char *plugin, const char *help, void *ud),
		       void *ud)
{
	for (host_ctl *c = h ? h->ctls : NULL; c; c = c->next)
		if (c->pl->state == PL_RUNNING)
			cb(c->name, c->pl->name, c->help, ud);
}

/* Frees a plugin's cache of config_json answers. */
static void host_jcache_free(host_plug *pl)
{
	host_json *jc;

	while ((jc = pl->jcache)) {
		pl->jcache = jc->next;
		free(jc->key);
		cJSON_free(jc->json);
		free(jc);
	}
}

int host_config_replace(host *h, const cJSON *sections, sbuf *errs)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < h->nplugs; i++)
		bad += host_config_check(h->plugs[i]->desc, cJSON_IsObject(sections) ?
					 cJSON_GetObjectItemCaseSensitive(sections, h->plugs[i]->name) : NULL, errs, "\n");
	if (bad)
		return -1;
	h->cfg.plugin_sections = sections;
	for (i = 0; i < h->nplugs; i++) {
		host_plug *pl = h->plugs[i];

		pl->section = cJSON_IsObject(sections) ? cJSON_GetObjectItemCaseSensitive(sections, pl->name) : NULL;
		host_jcache_free(pl);
	}
	return 0;
}

/* Runs descriptor d's rules_check (if it has one) on the document json (len
 * bytes): each problem becomes a line "<prefix><plugin>: <problem>" of errs.
 * Returns 1 when the plugin refused the document, else 0. */
static int host_desc_rules_check(const sk_plugin_desc *d, const char *json, size_t len, const char *prefix, sbuf *errs)
{
	char buf[4096];

	if (d->abi_minor < 2 || !d->rules_check)
		return 0;
	buf[0] = '\0';
	if (!d->rules_check(json, len, buf, sizeof buf))
		return 0;
	buf[sizeof buf - 1] = '\0';
	if (!buf[0])
		snprintf(buf, sizeof buf, "refused (no reason given)");
	/* one line per problem, each named by its plugin */
	for (char *l = buf, *e; *l; l = e) {
		e = l + strcspn(l, "\n");
		if (e > l)
			sbuf_addf(errs, "%s%s: %.*s\n", prefix, d->name, (int)(e - l), l);
		if (*e)
			e++;
	}
	return 1;
}

int host_rules_check(const host *h, const char *json, size_t len, sbuf *errs)
{
	int bad = 0;

	for (size_t i = 0; h && i < h->nplugs; i++) {
		const host_plug *pl = h->plugs[i];

		if (pl->state == PL_RUNNING)
			bad += host_desc_rules_check(pl->desc, json, len, "", errs);
	}
	return bad ? -1 : 0;
}

/* The plugins read at most this much of a rules file (autoreply, orders). */
#define HOST_RULES_MAX (1024 * 1024)

/* Reads the rules file path and checks that it is one JSON object. Returns
 * its text (malloc'd, NUL-terminated, *len bytes), or NULL with one line
 * "rules <path>: <problem>" in errs: missing, unreadable, too large, not
 * JSON (with the line and column where the parser stopped), not an object. */
static char *host_rules_read(const char *path, size_t *len, sbuf *errs)
{
	const char *end = NULL;
	sbuf b = { 0 };
	char buf[8192];
	cJSON *doc;
	size_t n;
	FILE *f;

	if (!(f = fopen(path, "rb"))) {
		sbuf_addf(errs, "rules %s: cannot read it: %s%s\n", path, strerror(errno),
			  errno == ENOENT ? " (the file named by \"rules\" in the config is missing)" : "");
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.len <= HOST_RULES_MAX)
		sbuf_add(&b, buf, n);
	if (ferror(f)) {
		sbuf_addf(errs, "rules %s: cannot read it: %s\n", path, strerror(errno));
		goto fail;
	}
	if (b.oom) {
		sbuf_addf(errs, "rules %s: out of memory\n", path);
		goto fail;
	}
	if (b.len > HOST_RULES_MAX) {
		sbuf_addf(errs, "rules %s: larger than %d bytes\n", path, HOST_RULES_MAX);
		goto fail;
	}
	if (!b.p)
		sbuf_add(&b, "", 0);
	if (b.oom || !b.p) {
		sbuf_addf(errs, "rules %s: out of memory\n", path);
		goto fail;
	}
	if (memchr(b.p, '\0', b.len)) {
		sbuf_addf(errs, "rules %s: not valid JSON (a NUL byte)\n", path);
		goto fail;
	}
	doc = cJSON_ParseWithLengthOpts(b.p, b.len, &end, 0);
	if (!doc) {
		size_t at = end && end >= b.p && end <= b.p + b.len ? (size_t)(end - b.p) : b.len, line = 1, col = 1;

		for (size_t i = 0; i < at; i++) {
			if (b.p[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)b.p[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (!b.len)
			sbuf_addf(errs, "rules %s: empty (a rules file is one JSON object, {} at least)\n", path);
		else
			sbuf_addf(errs, "rules %s: not valid JSON (stops at line %zu, column %zu)\n", path, line, col);
		goto fail;
	}
	/* trailing bytes other than white space are JSON errors too */
	while (end && end < b.p + b.len && strchr(" \t\r\n", *end))
		end++;
	if (!cJSON_IsObject(doc) || (end && end < b.p + b.len)) {
		sbuf_addf(errs, "rules %s: %s\n", path, !cJSON_IsObject(doc) ? "must be a JSON object" :
			  "not valid JSON (text after the object)");
		cJSON_Delete(doc);
		goto fail;
	}
	cJSON_Delete(doc);
	fclose(f);
	*len = b.len;
	return b.p;
fail:
	fclose(f);
	sbuf_free(&b);
	return NULL;
}

int host_check_rules(const char *dir, char *const *names, const char *path, sbuf *errs)
{
	char err[1024], prefix[4200];
	size_t len;
	char *text;
	loader_obj o;
	int bad = 0;

	if (!path)
		return 0;
	if (!(text = host_rules_read(path, &len, errs)))
		return -1;
	snprintf(prefix, sizeof prefix, "rules %s: ", path);
	for (size_t i = 0; names && names[i]; i++) {
		/* a plugin that cannot be opened is host_check_config's line */
		if (loader_open(dir, names[i], &o, err, sizeof err))
			continue;
		bad += host_desc_rules_check(o.desc, text, len, prefix, errs);
		loader_close(&o);
	}
	free(text);
	return bad ? -1 : 0;
}

void host_rules_verify(host *h)
{
	const char *path = h ? h->cfg.rules_path : NULL;
	sbuf errs = { 0 }, who = { 0 };
	size_t len;
	char *text;

	if (!h)
		return;
	free(h->rules_problem);
	free(h->rules_who);
	h->rules_problem = h->rules_who = NULL;
	if (!path) {
		h->rules_state = HOST_RULES_OFF;
		return;
	}
	if ((text = host_rules_read(path, &len, &errs))) {
		/* each plugin loads the file on its own: note which ones refuse it */
		for (size_t i = 0; i < h->nplugs; i++) {
			const host_plug *pl = h->plugs[i];

			if (pl->state == PL_RUNNING && host_desc_rules_check(pl->desc, text, len, "", &errs))
				sbuf_addf(&who, "%s%s", who.len ? ", " : "", pl->name);
		}
		free(text);
		if (!errs.len && !errs.oom) {
			h->rules_state = HOST_RULES_OK;
			h->rules_ever_ok = 1;
			sbuf_free(&errs);
			sbuf_free(&who);
			return;
		}
		h->rules_who = who.len ? sbuf_take(&who) : NULL;
		sbuf_free(&who);
	}
	/* "a\nb\n" -> "a; b" */
	for (size_t i = 0; errs.p && i < errs.len; i++)
		if (errs.p[i] == '\n')
			errs.p[i] = i + 1 < errs.len ? ';' : '\0';
	h->rules_problem = errs.p ? errs.p : strdup("out of memory");
	h->rules_state = h->rules_ever_ok ? HOST_RULES_STALE : HOST_RULES_BROKEN;
	if (h->rules_state == HOST_RULES_STALE)
		host_say(h, NULL, SK_LOG_ERR, "the rules file is refused%s%s, the rules loaded before stay in force: %s",
			 h->rules_who ? " by " : "", h->rules_who ? h->rules_who : "", h->rules_problem);
	else
		host_say(h, NULL, SK_LOG_ERR, "the rules file is refused: NO replies or deliveries %s%s until it is fixed "
			 "(shopkeep check lists the problems; then SIGHUP): %s", h->rules_who ? "by " : "",
			 h->rules_who ? h->rules_who : "", h->rules_problem);
}

int host_rules_status(const host *h, const char **problem, const char **who)
{
	*problem = h && h->rules_problem ? h->rules_problem : "";
	*who = h && h->rules_who ? h->rules_who : "";
	return h ? h->rules_state : HOST_RULES_OFF;
}

static const sk_host host_table = {
	.size = sizeof(sk_host),
	.abi_major = SK_ABI_MAJOR,
	.abi_minor = SK_ABI_MINOR,
	.log = host_log,
	.strerror = host_strerror,
	.free = host_mem_free,
	.subscribe = host_subscribe,
	.unsubscribe = host_unsubscribe,
	.publish = host_publish,
	.send_text = host_send_text,
	.send_image = host_send_image,
	.send_status = host_send_status,
	.timer_add = host_timer_add,
	.timer_cancel = host_timer_cancel,
	.config_str = host_config_str,
	.config_int = host_config_int,
	.config_num = host_config_num,
	.config_bool = host_config_bool,
	.config_list_len = host_config_list_len,
	.config_list_str = host_config_list_str,
	.config_json = host_config_json,
	.rules_path = host_rules_path,
	.db_exec = host_db_exec,
	.db_changes = host_db_changes,
	.db_last_rowid = host_db_last_rowid,
	.db_begin = host_db_begin,
	.db_commit = host_db_commit,
	.db_rollback = host_db_rollback,
	.work = host_work,
	.session_state = host_session_state,
	.metrics_json = host_metrics_json,
	.now_ms = host_now_ms,
	.mono_ms = host_mono_ms,
	.account_id = host_account_id,
	.own_user_id = host_own_user_id,
	.mtop = host_mtop,
	.send_find = host_send_find,
	.control_add = host_control_add,
	.control_result = host_control_result,
	.control_error = host_control_error,
	.http_post = host_http_post,
};

/* ---- loading and unloading ----------------------------------------------- */

/* Rebuilds the NULL-terminated name list after a change. The list only
 * grows, so a plugin leaving never needs memory. Returns 0 or -1. */
static int host_names_update(host *h)
{
	const char **n;
	size_t i;

	if (h->nplugs + 1 > h->capnames) {
		if (!(n = realloc(h->names, (h->nplugs + 8) * sizeof *n)))
			return -1;
		h->names = n;
		h->capnames = h->nplugs + 8;
	}
	for (i = 0; i < h->nplugs; i++)
		h->names[i] = h->plugs[i]->name;
	h->names[h->nplugs] = NULL;
	return 0;
}

/* Undoes everything of a plugin and frees it: fini first when run_fini and it
 * started; then work, handlers, timers, sends, mtop calls and HTTP requests
 * each get their free_ud exactly once (callbacks of sends and mtop calls
 * still in flight are dropped, HTTP requests are cancelled in the backend);
 * an open transaction is rolled back; statements are finalized, and the
 * object closed. */
static void host_unload_one(host *h, host_plug *pl, int run_fini)
{
	host_timer **tp, *t;
	host_pend **sp, *s;
	host_mtopc *c;
	size_t i;

	if (run_fini && pl->state == PL_RUNNING && pl->desc->fini) {
		pl->state = PL_FINI;
		host_enter(pl);
		pl->desc->fini(&pl->pub);
		host_leave(pl, "fini");
	}
	pl->state = PL_DEAD;
	host_work_cancel(h, pl);
	for (i = 0; i < h->nsubs + h->nadded; i++) {
		host_sub *sub = i < h->nsubs ? h->subs[i] : h->added[i - h->nsubs];

		if (sub->pl != pl)
			continue;
		sub->dead = 1;
		if (!sub->ud_done) {
			sub->ud_done = 1;
			host_free_ud(sub->free_ud, sub->ud);
		}
		h->subs_dirty = 1;
	}
	for (tp = &h->timers; (t = *tp);) {
		if (t->pl == pl) {
			*tp = t->next;
			host_free_ud(t->free_ud, t->ud);
			free(t);
		} else {
			tp = &t->next;
		}
	}
	for (sp = &h->pends; (s = *sp);) {
		if (s->pl == pl) {
			*sp = s->next;
			host_free_ud(s->free_ud, s->ud);
			free(s);
		} else {
			sp = &s->next;
		}
	}
	for (c = h->mtops; c; c = c->next)
		if (c->pl == pl) {
			c->pl = NULL;
			host_free_ud(c->free_ud, c->ud);
		}
	for (host_httpc *hc = h->https, *hn; hc; hc = hn) {
		hn = hc->next;
		if (hc->pl != pl)
			continue;
		h->be.http_cancel(h->be.ud, hc->req);
		host_http_unlink(hc);
		host_free_ud(hc->free_ud, hc->ud);
		free(hc->body);
		free(hc);
	}
	for (host_ctl **cp = &h->ctls, *k; (k = *cp);) {
		if (k->pl == pl) {
			*cp = k->next;
			host_free_ud(k->free_ud, k->ud);
			free(k->help);
			free(k);
		} else {
			cp = &k->next;
		}
	}
	if (pl->in_txn) {
		host_plog(pl, SK_LOG_WARN, "unloaded with a transaction open: rolled back");
		host_txn_end(pl, 'r');
	}
	for (i = 0; i < pl->nstmts; i++) {
		sqlite3_finalize(pl->stmts[i].st);
		free(pl->stmts[i].sql);
	}
	free(pl->stmts);
	host_jcache_free(pl);
	for (i = 0; i < h->nplugs; i++)
		if (h->plugs[i] == pl) {
			memmove(h->plugs + i, h->plugs + i + 1, (h->nplugs - i - 1) * sizeof *h->plugs);
			h->nplugs--;
			break;
		}
	host_names_update(h);
	host_subs_compact(h);
	loader_close(&pl->obj);
	pl->magic = 0;
	free(pl);
}

/* Appends a failure line to errs and logs it; quiet (a command: the caller
 * shows errs on the terminal) only appends, when there is an errs. */
static void host_reject(host *h, sbuf *errs, const char *plugin, const char *line, int quiet)
{
	if (!quiet || !errs)
		host_say(h, plugin, SK_LOG_ERR, "%s", line);
	if (errs) {
		sbuf_adds(errs, line);
		sbuf_adds(errs, "\n");
	}
}

/* A command to run instead of init (host_command); status is its result. */
typedef struct {
	int argc;
	char **argv;
	int status;
} host_cmd;

/* Starts the plugin of an opened object (which it takes over): migrations,
 * config check, init. With cmd, command mode: command(argc, argv) instead of
 * init, its exit status in cmd->status, then the plugin is unloaded (no
 * fini), and failures are not logged, only put in errs. Returns 0, or -1
 * with the reason logged and in errs. */
static int host_start(host *h, loader_obj *o, sbuf *errs, host_cmd *cmd)
{
	const sk_plugin_desc *d = o->desc;
	int quiet = cmd != NULL;
	char why[1024];
	host_plug *pl;
	sbuf cfgerr = { 0 };
	void *grown;
	int rc;

	if (host_find(h, d->name)) {
		snprintf(why, sizeof why, "plugin %s (%s): a plugin of that name is loaded already", d->name, o->path);
		host_reject(h, errs, d->name, why, quiet);
		loader_close(o);
		return -1;
	}
	if (h->nplugs == h->capplugs) {
		size_t cap = h->capplugs ? h->capplugs * 2 : 8;

		if (!(grown = realloc(h->plugs, cap * sizeof *h->plugs))) {
			host_reject(h, errs, d->name, "out of memory", quiet);
			loader_close(o);
			return -1;
		}
		h->plugs = grown;
		h->capplugs = cap;
	}
	if (!(pl = calloc(1, sizeof *pl))) {
		host_reject(h, errs, d->name, "out of memory", quiet);
		loader_close(o);
		return -1;
	}
	pl->obj = *o;
	pl->desc = d;
	snprintf(pl->name, sizeof pl->name, "%s", d->name);
	pl->pub.host = &host_table;
	pl->pub.name = pl->name;
	pl->magic = HOST_MAGIC;
	pl->h = h;
	pl->index = h->next_index++;
	pl->state = PL_LOADING;
	if (cJSON_IsObject(h->cfg.plugin_sections))
		pl->section = cJSON_GetObjectItemCaseSensitive(h->cfg.plugin_sections, pl->name);
	h->plugs[h->nplugs++] = pl;
	if (host_names_update(h)) {
		snprintf(why, sizeof why, "plugin %s: out of memory", pl->name);
		goto fail;
	}
	if (host_migrate(h, pl, why, sizeof why))
		goto fail;
	if (host_config_check(d, pl->section, &cfgerr, "; ")) {
		if (cfgerr.len >= 2)
			cfgerr.p[cfgerr.len -= 2] = '\0';
		snprintf(why, sizeof why, "%s", cfgerr.oom ? "out of memory" : cfgerr.p);
		goto fail;
	}
	sbuf_free(&cfgerr);
	if (cmd) {
		host_plog(pl, SK_LOG_DEBUG, "command %s (version %s, from %s)", cmd->argv[0], d->version, o->path);
		pl->state = PL_COMMAND;
		host_enter(pl);
		rc = d->command(&pl->pub, cmd->argc, cmd->argv);
		host_leave(pl, "command");
		/* main returns it: keep it an exit status, and never -1 (host_command's "not found") */
		if (rc < 0 || rc > 255) {
			host_plog(pl, SK_LOG_WARN, "command %s returned %d, not an exit status (0..255): 1 instead",
				  cmd->argv[0], rc);
			rc = 1;
		}
		cmd->status = rc;
		host_unload_one(h, pl, 0);
		return 0;
	}
	pl->state = PL_INIT;
	host_enter(pl);
	rc = d->init(&pl->pub);
	host_leave(pl, "init");
	if (rc != SK_OK) {
		snprintf(why, sizeof why, "plugin %s: init failed: %s (%d)", pl->name, host_strerror(rc), rc);
		goto fail;
	}
	pl->state = PL_RUNNING;
	host_plog(pl, SK_LOG_INFO, "started (version %s, from %s)", d->version, o->path);
	return 0;
fail:
	sbuf_free(&cfgerr);
	host_reject(h, errs, pl->name, why, quiet);
	host_unload_one(h, pl, 0);
	return -1;
}

int host_load(host *h, const char *dir, char *const *names, sbuf *errs)
{
	char err[1024];
	loader_obj o;
	int started = 0;
	size_t i;

	if (!h || !dir || !host_on_loop(h, __func__))
		return -1;
	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			host_reject(h, errs, names[i], err, 0);
			continue;
		}
		if (!host_start(h, &o, errs, NULL))
			started++;
	}
	return started;
}

int host_load_file(host *h, const char *path, sbuf *errs)
{
	char err[1024];
	loader_obj o;

	if (!h || !path || !host_on_loop(h, __func__))
		return -1;
	if (loader_open_file(path, NULL, &o, err, sizeof err)) {
		host_reject(h, errs, NULL, err, 0);
		return -1;
	}
	return host_start(h, &o, errs, NULL);
}

int host_command(host *h, const char *dir, char *const *names, int argc, char **argv, sbuf *errs)
{
	host_cmd cmd = { .argc = argc, .argv = argv };
	sbuf skipped = { 0 };
	char err[1024];
	loader_obj o;
	size_t i;

	if (!h || !dir || argc < 1 || !argv || !argv[0] || !host_on_loop(h, __func__))
		return -1;
	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			sbuf_addf(&skipped, "%s\n", err);
			continue;
		}
		/* Only the descriptor was read: nothing of this plugin ran. */
		if (!loader_has_command(o.desc, argv[0])) {
			loader_close(&o);
			continue;
		}
		/* The command exists: the other plugins' problems are not its business. */
		sbuf_free(&skipped);
		if (host_start(h, &o, errs, &cmd))
			return 1;
		return cmd.status;
	}
	if (errs && skipped.len)
		sbuf_add(errs, skipped.p, skipped.len);
	sbuf_free(&skipped);
	return -1;
}

int host_check_config(const char *dir, char *const *names, const cJSON *sections, sbuf *errs)
{
	char err[1024];
	loader_obj o;
	int bad = 0;
	size_t i;

	for (i = 0; names && names[i]; i++) {
		if (loader_open(dir, names[i], &o, err, sizeof err)) {
			sbuf_addf(errs, "%s\n", err);
			bad++;
			continue;
		}
		bad += host_config_check(o.desc, cJSON_IsObject(sections) ?
					 cJSON_GetObjectItemCaseSensitive(sections, names[i]) : NULL, errs, "\n");
		loader_close(&o);
	}
	return bad ? -1 : 0;
}

void host_unload_all(host *h)
{
	if (!h || !host_on_loop(h, __func__))
		return;
	/* Let queued work finish and complete while every plugin is whole. */
	host_work_drain(h);
	while (h->nplugs)
		host_unload_one(h, h->plugs[h->nplugs - 1], 1);
}

host *host_new(const host_config *cfg, const host_backend *be)
{
	host *h;

	if (!cfg || !(h = calloc(1, sizeof *h)))
		return NULL;
	h->cfg = *cfg;
	if (be)
		h->be = *be;
	h->loop = pthread_self();
	h->next_id = 1;
	h->nthreads = cfg->worker_threads > 0 ? cfg->worker_threads : 1;
	if (h->nthreads > HOST_WORKERS_MAX)
		h->nthreads = HOST_WORKERS_MAX;
	if (pthread_mutex_init(&h->mu, NULL)) {
		free(h);
		return NULL;
	}
	pthread_cond_init(&h->cv_work, NULL);
	pthread_cond_init(&h->cv_done, NULL);
	if (host_names_update(h)) {
		host_free(h);
		return NULL;
	}
	return h;
}

const host_stats *host_get_stats(const host *h)
{
	return &h->stats;
}

const char *const *host_plugins(const host *h)
{
	return h->names;
}

void host_free(host *h)
{
	host_mtopc *c;
	host_pub *q;
	int i, n = 0;

	if (!h)
		return;
	host_unload_all(h);
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_broadcast(&h->cv_work);
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < h->started; i++)
		pthread_join(h->threads[i], NULL);
	/* The plugins are gone, so these have no free_ud left to call. */
	while ((c = h->mtops)) {
		host_mtop_free(c);
		n++;
	}
	if (n)
		host_say(h, NULL, SK_LOG_WARN, "%d mtop calls never completed (the backend must finish them "
			 "before host_free)", n);
	/* Unloading cancelled every HTTP request; none can be left. */
	while (h->https) {
		host_httpc *hc = h->https;

		host_http_unlink(hc);
		free(hc->body);
		free(hc);
	}
	while ((q = h->pubq)) {
		h->pubq = q->next;
		free(q->topic);
		free(q->payload);
		free(q->from);
		free(q);
	}
	h->subs_dirty = 1;
	host_subs_compact(h);
	free(h->subs);
	free(h->added);
	free(h->plugs);
	free(h->names);
	free(h->rules_problem);
	free(h->rules_who);
	pthread_cond_destroy(&h->cv_work);
	pthread_cond_destroy(&h->cv_done);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
