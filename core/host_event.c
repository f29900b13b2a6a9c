/* SPDX-License-Identifier: MIT */
/*
 * core/host_event.c - event subscriptions, dispatch and the publish queue of
 * the plugin host (sk_subscribe, sk_unsubscribe, sk_publish, host_dispatch).
 *
 * The list a dispatch walks never moves: while h->depth is above zero new
 * subscriptions wait in h->added and removed ones are only marked dead;
 * host_settle merges them and delivers the queued published events once the
 * depth drops back to zero (core/host.c describes the counter).
 */
#include "host_int.h"
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void host_subs_compact(host *h)
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
void host_deliver(host *h, const sk_event *e, const host_plug *only, const char *except)
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
void host_event_init(sk_event *e, int type)
{
	feed_sk_init(e, type);
}

/* Delivers the queued published events and merges subscriptions, once the
 * host is back at depth 0. Events published while this runs are delivered
 * by this same loop. */
void host_settle(host *h)
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
int host_subscribe(sk_plugin *p, uint32_t type_mask, const sk_filter *filter, int priority, sk_handler_fn fn,
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
int host_unsubscribe(sk_plugin *p, uint64_t id)
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
int host_publish(sk_plugin *p, const char *topic, const char *payload_json)
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
	for (i = 0; i < FEED_SK_NSTRINGS; i++) {
		const char **f = (const char **)((char *)&x + feed_sk_strings[i]);

		if (!*f)
			*f = "";
	}
	host_deliver(h, &x, NULL, NULL);
	if (!h->depth)
		host_settle(h);
}

/* A plugin is unloaded: its subscriptions are marked dead (freed when the
 * list settles) and each free_ud runs, exactly once. */
void host_event_drop(host *h, host_plug *pl)
{
	size_t i;

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
}
