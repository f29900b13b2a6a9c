/* SPDX-License-Identifier: MIT */
/*
 * core/session_backfill.c - catching up after an outage (docs/protocol.md
 * §4.5): what the platform did not push while the bot was away is fetched
 * from the history lists and dispatched as events flagged backfilled.
 *
 * The watermark. seen_ms is the newest createAt of a chat message the
 * session saw (pushed or backfilled), written to state.db (kv
 * backfill.seen_ms) in the batch of the events it follows from. At each
 * registration a run is owed from seen_ms: from_ms (kv backfill.from_ms) is
 * set to it unless an earlier run is still owed (then the older point
 * stays), and cleared in the batch that dispatches the run's events. So a
 * run that gave up (flow control), a connection lost mid-run or a kill -9
 * leaves from_ms for the next connection or start, and nothing in between
 * is skipped; what a second run finds again, dedup stops (and the in-memory
 * ring of IM ids seen live stops in-process repeats without it). A state.db
 * that never saw a message starts its watermark now: the bot does not know
 * what an earlier install answered.
 *
 * A run. backfill.delay_ms after /reg (the platform answers list calls made
 * sooner with flow control), listNewestPagination pages back until a
 * conversation's modifyTime is older than from_ms; every newer conversation
 * (bounded by backfill.max_convs) has its listUserMessages paged back until
 * a createAt older than from_ms. (A conversation's redPoint, its unread
 * count, adds nothing to modifyTime: its unread messages are not newer than
 * its last activity, so an older conversation has nothing newer than from_ms.
 * One without a modifyTime is read.) Messages created more than
 * BF_SLACK_MS after this registration were pushed on this connection and
 * are not collected (the slack covers the platform's clock running ahead of
 * ours; what falls in it was seen live, and the ring or dedup stops it):
 * on a busy account a run would otherwise fetch again everything pushed
 * since the registration. Each list has at most backfill.max_pages
 * pages, a run at most backfill.max_messages messages; a run cut short by a
 * bound dispatches what it has (the newest) and logs a warning: the older
 * activity of the outage is not fetched. An answer with
 * body.code 400600001 is retried after 1x, 2x, 3x backfill.flow_backoff_ms;
 * a fourth gives the run up (counted), as does an unanswered request or an
 * error answer. At the end the messages are dispatched in createAt order,
 * each decoded as the push item it was (event_from_history), in the batch of
 * the last answer, like the events of a push.
 */
#include "session_int.h"
#include "codec.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BF_PAGE 20
#define BF_FLOW_TRIES 3
#define BF_KV_SEEN "backfill.seen_ms"
#define BF_KV_FROM "backfill.from_ms"
#define BF_SLACK_MS 5000

/* Reads an int64 kv value; 0 when absent or unreadable. */
static int64_t bf_kv_get(session *s, const char *k)
{
	char *v = NULL;
	int64_t n = 0;

	if (store_kv_get(s->st, k, &v) == 0 && v)
		n = strtoll(v, NULL, 10);
	free(v);
	return n > 0 ? n : 0;
}

/* Reads the watermark and the owed run once. */
static void bf_load(session *s)
{
	if (s->bf.loaded)
		return;
	s->bf.loaded = 1;
	s->bf.seen_ms = bf_kv_get(s, BF_KV_SEEN);
	s->bf.from_ms = bf_kv_get(s, BF_KV_FROM);
}

/* Writes the watermark and the owed run when they changed; called in the
 * open batch, right before it commits. */
void session_backfill_save(session *s)
{
	char v[32];

	if (!s->bf.dirty || !store_batch_open(s->st))
		return;
	s->bf.dirty = 0;
	snprintf(v, sizeof v, "%lld", (long long)s->bf.seen_ms);
	if (store_kv_set(s->st, BF_KV_SEEN, v))
		log_warn("backfill", "the watermark is not saved: %s", store_errmsg(s->st));
	snprintf(v, sizeof v, "%lld", (long long)s->bf.from_ms);
	if (store_kv_set(s->st, BF_KV_FROM, v))
		log_warn("backfill", "the owed backfill is not saved: %s", store_errmsg(s->st));
}

/* Whether IM id im was seen live lately. */
static int bf_ring_has(const session *s, const char *im)
{
	int i;

	if (!*im)
		return 0;
	for (i = 0; i < BF_RING; i++)
		if (!strcmp(s->bf.ring[i], im))
			return 1;
	return 0;
}

/* A chat message the session saw (pushed, or backfilled): the watermark
 * moves up to its createAt, its IM id goes into the ring. Other events
 * (updates, receipts, typing) change nothing. */
void session_backfill_seen(session *s, const ev *e)
{
	if (!e->im_id[0] || e->object_type != EV_OBJ_CHAT || e->type == EV_MSG_UPDATE || e->type == EV_PAYMENT ||
	    e->created_ms <= 0)
		return;
	bf_load(s);
	snprintf(s->bf.ring[s->bf.ring_pos], sizeof s->bf.ring[0], "%s", e->im_id);
	s->bf.ring_pos = (s->bf.ring_pos + 1) % BF_RING;
	if (e->created_ms > s->bf.seen_ms) {
		s->bf.seen_ms = e->created_ms;
		s->bf.dirty = 1;
	}
}

/* Ends the run (its collected messages dropped); the owed run stays. */
static void bf_end(session *s)
{
	lws_sul_cancel(&s->bf.sul);
	s->bf.running = 0;
	free(s->bf.cids);
	s->bf.cids = NULL;
	s->bf.ncids = s->bf.icid = 0;
	cJSON_Delete(s->bf.msgs);
	s->bf.msgs = NULL;
}

/* Gives the run up: counted and logged; the next connection tries again. */
static void bf_give_up(session *s, const char *why)
{
	s->m.backfill_gave_up++;
	log_warn("backfill", "run given up (%s); the next connection tries again from %lld", why,
		 (long long)s->bf.from_ms);
	bf_end(s);
}

/* Sends the request of the current step: a page of conversations, or of the
 * current conversation's messages. */
static void bf_request(session *s)
{
	char mid[LWP_MID_MAX];
	char *frame;

	if (!s->conn.registered) {
		bf_end(s);
		return;
	}
	frame = s->bf.msgs_phase ? lwp_list_messages(s->bf.cids[s->bf.icid], s->bf.cursor, BF_PAGE, mid)
				 : lwp_list_convs(s->bf.cursor, BF_PAGE, mid);
	if (session_request(s, frame, mid, REQ_BACKFILL, NULL))
		bf_give_up(s, "the request could not be queued");
}

/* The timer: starts the run, or retries a flow-limited request. */
static void bf_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, bf.sul);

	if (!s->conn.registered)
		return;
	if (!s->bf.running) {
		s->bf.running = 1;
		s->bf.msgs_phase = 0;
		s->bf.flow_tries = 0;
		s->bf.pages = 0;
		s->bf.cursor = LWP_CURSOR_FIRST;
		s->bf.bound = NULL;
		s->bf.msgs = cJSON_CreateArray();
		s->m.backfill_runs++;
		if (!s->bf.msgs) {
			bf_give_up(s, "out of memory");
			return;
		}
		log_info("backfill", "looking for messages since %lld", (long long)s->bf.from_ms);
	}
	bf_request(s);
}

void session_backfill_connected(session *s)
{
	bf_end(s);
	if (!s->cfg->backfill_enabled)
		return;
	bf_load(s);
	if (!s->bf.seen_ms) {
		/* never saw a message: nothing to compare with, start from now */
		s->bf.seen_ms = util_now_ms();
		s->bf.dirty = 1;
	}
	if (!s->bf.from_ms) {
		s->bf.from_ms = s->bf.seen_ms;
		s->bf.dirty = 1;
	}
	s->bf.to_ms = util_now_ms() + BF_SLACK_MS;
	lws_sul_schedule(s->ctx, 0, &s->bf.sul, bf_cb, (lws_usec_t)s->cfg->backfill_delay_ms * LWS_US_PER_MS + 1);
}

void session_backfill_gone(session *s)
{
	if (s->bf.running)
		log_info("backfill", "the connection is gone mid-run; the next one tries again");
	bf_end(s);
}

void session_backfill_expired(session *s)
{
	if (s->bf.running)
		bf_give_up(s, "a list request was not answered");
}

/* Returns the member k of o, NULL when o is no object. */
static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* Returns the integer of v (a number, or a string of digits), else 0. */
static int64_t jint(const cJSON *v)
{
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 9.2e18)
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v) && v->valuestring)
		return strtoll(v->valuestring, NULL, 10);
	return 0;
}

/* Whether a list answer says "has more" (a number or a bool). */
static int more(const cJSON *b)
{
	const cJSON *h = jget(b, "hasMore");

	return cJSON_IsTrue(h) || jint(h) > 0;
}

/* Copies the id before '@' of v into out; 0, or -1 when v has none. */
static int bf_id(const cJSON *v, char *out, size_t n)
{
	const char *at;

	if (!cJSON_IsString(v) || !v->valuestring || !(at = strchr(v->valuestring, '@')) || at == v->valuestring ||
	    (size_t)(at - v->valuestring) >= n)
		return -1;
	snprintf(out, n, "%.*s", (int)(at - v->valuestring), v->valuestring);
	return 0;
}

/* A page of conversations: those active since from_ms are kept; returns 1
 * when the list goes on (next page requested), 0 when it is done. */
static int bf_convs(session *s, const cJSON *b)
{
	const cJSON *c;
	int older = 0;

	cJSON_ArrayForEach(c, jget(b, "userConvs")) {
		const cJSON *u = jget(c, "singleChatUserConversation"), *sc = jget(u, "singleChatConversation");
		int64_t mod = jint(jget(u, "modifyTime"));
		char cid[40], peer[40];

		if (mod && mod < s->bf.from_ms) {
			older = 1;
			continue;
		}
		/* system threads have no peer */
		if (bf_id(jget(sc, "cid"), cid, sizeof cid) || bf_id(jget(sc, "pairFirst"), peer, sizeof peer) ||
		    !strcmp(peer, "0"))
			continue;
		if (s->bf.ncids >= s->cfg->backfill_max_convs) {
			s->bf.bound = "backfill.max_convs";
			older = 1;
			break;
		}
		if (!s->bf.ncids || s->bf.ncids % 16 == 0) {
			char (*n)[40] = realloc(s->bf.cids, (size_t)(s->bf.ncids + 16) * sizeof *n);

			if (!n)
				break;
			s->bf.cids = n;
		}
		snprintf(s->bf.cids[s->bf.ncids++], sizeof s->bf.cids[0], "%s", cid);
	}
	if (!older && more(b) && ++s->bf.pages < s->cfg->backfill_max_pages && jint(jget(b, "nextCursor")) > 0) {
		s->bf.cursor = jint(jget(b, "nextCursor"));
		bf_request(s);
		return 1;
	}
	if (!older && more(b) && s->bf.pages >= s->cfg->backfill_max_pages)
		s->bf.bound = "backfill.max_pages";
	return 0;
}

/* A page of messages of the current conversation: those created since
 * from_ms are collected; returns 1 when the list goes on, else 0. */
static int bf_messages(session *s, const cJSON *b)
{
	const cJSON *m;
	int older = 0;

	cJSON_ArrayForEach(m, jget(b, "userMessageModels")) {
		const cJSON *msg = jget(m, "message");
		int64_t at = jint(jget(msg, "createAt"));

		if (at < s->bf.from_ms) {
			older = 1;
			continue;
		}
		if (at > s->bf.to_ms)
			continue;       /* pushed on this connection */
		if (cJSON_GetArraySize(s->bf.msgs) >= s->cfg->backfill_max_messages) {
			s->bf.bound = "backfill.max_messages";
			older = 1;
			break;
		}
		cJSON_AddItemToArray(s->bf.msgs, cJSON_Duplicate(msg, 1));
	}
	if (!older && more(b) && ++s->bf.pages < s->cfg->backfill_max_pages && jint(jget(b, "nextCursor")) > 0) {
		s->bf.cursor = jint(jget(b, "nextCursor"));
		bf_request(s);
		return 1;
	}
	if (!older && more(b) && s->bf.pages >= s->cfg->backfill_max_pages)
		s->bf.bound = "backfill.max_pages";
	return 0;
}

/* Orders history messages by createAt (qsort). */
static int bf_cmp(const void *a, const void *b)
{
	int64_t x = jint(jget(*(cJSON *const *)a, "createAt")), y = jint(jget(*(cJSON *const *)b, "createAt"));

	return x < y ? -1 : x > y;
}

/* Dispatches the collected messages oldest first, flagged backfilled, but
 * those seen live; the owed run is settled in this batch. */
static void bf_dispatch(session *s)
{
	int n = cJSON_GetArraySize(s->bf.msgs), i, sent = 0, skipped = 0;
	cJSON **v = n ? calloc((size_t)n, sizeof *v) : NULL, *x;

	if (n && !v) {
		bf_give_up(s, "out of memory");
		return;
	}
	i = 0;
	cJSON_ArrayForEach(x, s->bf.msgs)
		v[i++] = x;
	if (n)   /* qsort's base may not be NULL, even for 0 items (UBSan) */
		qsort(v, (size_t)n, sizeof *v, bf_cmp);
	for (i = 0; i < n; i++) {
		const char *err;
		cJSON *tree;
		ev e;

		if (event_from_history(v[i], s->cfg->unb, &e, &tree, &err)) {
			s->m.decode_errors++;
			log_warn("backfill", "history message skipped: %s", err);
			continue;
		}
		if (bf_ring_has(s, e.im_id)) {
			skipped++;
			cJSON_Delete(tree);
			continue;
		}
		if (e.own)
			e.echo = session_echo_match(s, &e);
		session_backfill_seen(s, &e);
		s->m.events++;
		s->m.backfilled++;
		sent++;
		if (s->h.on_event)
			s->h.on_event(s->h.ud, &e);
		cJSON_Delete(tree);
	}
	free(v);
	log_info("backfill", "done: %d conversation(s), %d message(s) dispatched, %d seen already", s->bf.ncids, sent,
		 skipped);
	if (s->bf.bound)
		log_warn("backfill", "the run stopped at %s: older activity of the outage is not fetched", s->bf.bound);
	s->m.backfill_done++;
	s->bf.from_ms = 0;
	s->bf.dirty = 1;
	bf_end(s);
}

/* Starts the current conversation's messages, or dispatches when none is left. */
static void bf_next_conv(session *s)
{
	if (s->bf.icid < s->bf.ncids) {
		s->bf.msgs_phase = 1;
		s->bf.pages = 0;
		s->bf.cursor = LWP_CURSOR_FIRST;
		bf_request(s);
		return;
	}
	bf_dispatch(s);
}

void session_backfill_answer(session *s, const cJSON *f)
{
	const cJSON *b = jget(f, "body"), *code = jget(f, "code"), *bc = jget(b, "code");

	if (!s->bf.running)
		return;
	if ((cJSON_IsString(bc) && bc->valuestring && !strcmp(bc->valuestring, "400600001")) ||
	    (cJSON_IsNumber(bc) && bc->valuedouble == 400600001)) {
		s->m.backfill_flow_limited++;
		if (++s->bf.flow_tries > BF_FLOW_TRIES) {
			bf_give_up(s, "flow control (400600001)");
			return;
		}
		log_info("backfill", "flow control (400600001): retrying in %d ms",
			 s->cfg->backfill_flow_backoff_ms * s->bf.flow_tries);
		lws_sul_schedule(s->ctx, 0, &s->bf.sul, bf_cb,
				 (lws_usec_t)s->cfg->backfill_flow_backoff_ms * s->bf.flow_tries * LWS_US_PER_MS);
		return;
	}
	if (!cJSON_IsNumber(code) || code->valueint != 200 || !cJSON_IsObject(b)) {
		char why[64];

		snprintf(why, sizeof why, "answer code %d", cJSON_IsNumber(code) ? code->valueint : -1);
		bf_give_up(s, why);
		return;
	}
	s->bf.flow_tries = 0;
	if (!s->bf.msgs_phase) {
		if (!bf_convs(s, b))
			bf_next_conv(s);
		return;
	}
	if (bf_messages(s, b))
		return;
	s->bf.icid++;
	if (cJSON_GetArraySize(s->bf.msgs) >= s->cfg->backfill_max_messages && s->bf.icid < s->bf.ncids) {
		/* full: the conversations left are not read */
		s->bf.bound = "backfill.max_messages";
		s->bf.icid = s->bf.ncids;
	}
	bf_next_conv(s);
}
