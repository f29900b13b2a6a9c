/* SPDX-License-Identifier: MIT */
/*
 * core/session_send.c - the session's send window (see session_int.h):
 * sends go to the outbox first; up to send.queue_max of them live in memory
 * in outbox id order and go out through a token bucket (send.rate_per_s,
 * send.burst) while the session is registered; an answer finishes a send
 * (done or refused) and the next one moves up. A ring of recent sends tells
 * their echoes from the seller's own replies. Finished rows are pruned.
 */
#include "session_int.h"
#include "convo.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finished outbox rows are pruned SESS_PRUNE_BATCH at a time: the first
 * batch SESS_PRUNE_FIRST_S after the start (the plugins have looked their
 * resumed sends up by then), then every SESS_PRUNE_EVERY_S, or after 1 s
 * while there is more. */
#define SESS_PRUNE_BATCH 500
#define SESS_PRUNE_FIRST_S 10
#define SESS_PRUNE_EVERY_S 600
/* --- the window ------------------------------------------------------------ */

/* The send of the window with this uuid, NULL if none. */
qsend *session_window_find(session *s, const char *uuid)
{
	qsend *q;

	for (q = s->win.head; q; q = q->next)
		if (!strcmp(q->uuid, uuid))
			return q;
	return NULL;
}

/* Takes x out of the window and frees it. */
static void q_remove(session *s, qsend *x)
{
	qsend **pp;

	for (pp = &s->win.head; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			s->win.len--;
			free(x->payload);
			free(x);
			return;
		}
}

/* Puts every pending outbox row into the send queue (once). */
static void outbox_row_cb(const outbox_row *r, void *ud)
{
	session *s = ud;
	qsend *q, **t;

	if (session_window_find(s, r->uuid))
		return;
	q = calloc(1, sizeof *q);
	if (!q || !(q->payload = strdup(r->payload ? r->payload : ""))) {
		free(q);
		return;
	}
	snprintf(q->uuid, sizeof q->uuid, "%s", r->uuid);
	snprintf(q->cid, sizeof q->cid, "%s", r->cid);
	snprintf(q->buyer, sizeof q->buyer, "%s", r->buyer);
	snprintf(q->kind, sizeof q->kind, "%s", r->kind);
	snprintf(q->plugin, sizeof q->plugin, "%s", r->plugin);
	snprintf(q->tag, sizeof q->tag, "%s", r->tag);
	for (t = &s->win.head; *t; t = &(*t)->next)
		;
	*t = q;
	s->win.len++;
	if (r->id > s->win.last_id)
		s->win.last_id = r->id;
	if (r->attempts > 0)
		s->m.sends_resent++;
}

/* Fills the window (send.queue_max sends in memory) from the outbox in id
 * order: sends beyond it wait there, durable, and move up as others finish. */
static void q_refill(session *s)
{
	int room = s->cfg->send_queue_max - s->win.len, n;

	if (room > 0 && s->win.backlog > 0) {
		n = store_outbox_pending_from(s->st, s->win.last_id, room, outbox_row_cb, s);
		if (n >= 0)
			s->win.backlog = n < room ? 0 : s->win.backlog - n;
	}
	s->m.sends_pending = s->win.len + s->win.backlog;
	s->m.sends_backlog = s->win.backlog;
}

/* Reads the outbox at the first /reg: the pending sends of an earlier run
 * (and any queued before), the first send.queue_max of them into memory. */
void session_window_load(session *s)
{
	int64_t n;

	if (s->win.loaded || (n = store_outbox_pending_count(s->st)) < 0)
		return;
	s->win.loaded = 1;
	s->win.backlog = n - s->win.len;
	q_refill(s);
}

/* --- sending ---------------------------------------------------------------- */

/* Remembers a delivered send in the echo ring: its IM id, chat and text digest. */
static void echo_remember(session *s, const char *im_id, const char *cid, const char *text)
{
	echo_rec *e = &s->win.echo[s->win.echo_pos++ % ECHO_RING];

	snprintf(e->im_id, sizeof e->im_id, "%s", im_id ? im_id : "");
	snprintf(e->cid, sizeof e->cid, "%s", cid);
	crypto_generichash(e->text_hash, sizeof e->text_hash, (const unsigned char *)text, strlen(text), NULL, 0);
}

/* Whether an own-account message is an echo of one of our sends: by the IM id
 * the send's answer gave (the recent ones in memory, else the outbox: the
 * echo of a send an earlier run made, pushed again to this one, is ours too,
 * not a manual reply that pauses the chat - make soak saw that after kill -9),
 * or by chat and text for a send still in flight. */
int session_echo_match(session *s, const ev *e)
{
	unsigned char h[16];
	qsend *q;
	int i;

	for (i = 0; i < ECHO_RING; i++)
		if (e->im_id[0] && !strcmp(s->win.echo[i].im_id, e->im_id))
			return 1;
	crypto_generichash(h, sizeof h, (const unsigned char *)e->text, strlen(e->text), NULL, 0);
	for (i = 0; i < ECHO_RING; i++)
		if (s->win.echo[i].cid[0] && !strcmp(s->win.echo[i].cid, e->chat_id) && !memcmp(s->win.echo[i].text_hash, h, 16))
			return 1;
	if (e->im_id[0] && store_outbox_sent_as(s->st, e->im_id) == 1)
		return 1;
	for (q = s->win.head; q; q = q->next)
		if (!strcmp(q->cid, e->chat_id) && !strcmp(q->kind, "text") && !strcmp(q->payload, e->text))
			return 1;
	return 0;
}

/* The bucket has a token again: sends on. */
static void pace_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, win.sul_pace);

	session_pace(s);
}

/* Sends queued messages while the token bucket allows (send.rate_per_s 0:
 * no bucket, everything at once). */
void session_pace(session *s)
{
	int64_t now = util_mono_us();
	int unpaced = s->cfg->send_rate <= 0;
	qsend *q;

	if (!s->conn.registered || s->conn.close_pending)
		return;       /* while stopping, sends go on until the close begins */
	if (s->bat.held_head)
		return;       /* the database is locked: counting an attempt would wait on it */
	s->win.pace_tokens += (double)(now - s->win.pace_at_us) / 1e6 * s->cfg->send_rate;
	if (s->win.pace_tokens > s->cfg->send_burst || unpaced)
		s->win.pace_tokens = s->cfg->send_burst;
	s->win.pace_at_us = now;
	for (q = s->win.head; q; q = q->next) {
		char mid[LWP_MID_MAX], *f = NULL;

		if (q->inflight)
			continue;
		if (s->win.pace_tokens < 1 && !unpaced) {
			double wait = (1 - s->win.pace_tokens) / s->cfg->send_rate * 1e6;

			lws_sul_schedule(s->ctx, 0, &s->win.sul_pace, pace_cb, (lws_usec_t)wait + 1);
			return;
		}
		if (!strcmp(q->kind, "image")) {
			cJSON *img = cJSON_Parse(q->payload);
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(img, "url");
			const cJSON *w = cJSON_GetObjectItemCaseSensitive(img, "width");
			const cJSON *h = cJSON_GetObjectItemCaseSensitive(img, "height");

			if (cJSON_IsString(u))
				f = lwp_send_image(q->uuid, q->cid, q->buyer, s->cfg->unb, u->valuestring,
						   cJSON_IsNumber(w) ? w->valueint : 0, cJSON_IsNumber(h) ? h->valueint : 0, mid);
			cJSON_Delete(img);
		} else {
			f = lwp_send_text(q->uuid, q->cid, q->buyer, s->cfg->unb, q->payload, mid);
		}
		if (!f || session_request(s, f, mid, REQ_SEND, q->uuid))
			return;
		q->inflight = 1;
		s->win.pace_tokens -= 1;
		store_outbox_attempt(s->st, q->uuid);
		s->m.frames_out++;
	}
}

/* An outbox insert failed. Inside a batch, a turn's push asked for this
 * send: it must not be ACKed as if answered, so the process ends before the
 * batch commits, as after a failed commit (status 74; the platform pushes the
 * message again to the next start). Outside one the caller gets the error. */
static int outbox_failed(session *s, const char *why)
{
	if (store_batch_open(s->st)) {
		log_err("session", "state.db: a send could not be stored in the outbox (%s); exiting (status 74) "
			"so that the message it answers is not ACKed", why);
		_exit(74);
	}
	log_err("session", "state.db: a send could not be stored in the outbox (%s)", why);
	return SESS_SEND_DB;
}

/* Stores a send of kind ("text", "image") in the outbox under a new uuid
 * (copied to uuid_out), and puts it into the window, or behind it when the
 * window is full or not loaded yet. 0 or a negative SESS_SEND_* code. */
static int queue_send(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		      const char *kind, const char *payload, char *uuid_out)
{
	char uuid[LWP_UUID_MAX];
	outbox_row r;
	int64_t id;
	int tries = 0;

	if (strlen(cid) >= sizeof r.cid || strlen(buyer) >= sizeof r.buyer)
		return SESS_SEND_INVAL;
	if (s->win.len + s->win.backlog >= s->cfg->send_backlog_max)
		return SESS_SEND_FULL;
	/* A uuid the outbox holds already is never used again: the platform
	 * would take the send for a repeat of the old one. */
	do
		lwp_uuid(uuid);
	while ((id = store_outbox_add(s->st, uuid, cid, buyer, kind, payload, plugin, tag, util_now_ms())) ==
	       STORE_OUTBOX_DUP && ++tries < 8);
	if (id == STORE_OUTBOX_BAD)
		return SESS_SEND_INVAL;
	if (id == STORE_OUTBOX_DUP)
		return outbox_failed(s, "8 random uuids in a row were taken");
	if (id < 0)
		return outbox_failed(s, store_errmsg(s->st));
	if (store_batch_open(s->st))
		s->bat.sends++;
	/* the conversation's out row, in the same batch as the outbox row */
	convo_note_queued(s->cv, uuid, cid, buyer, kind, payload, plugin, tag, util_now_ms());
	if (uuid_out)
		snprintf(uuid_out, LWP_UUID_MAX, "%s", uuid);
	if (!s->win.loaded) {
		s->m.sends_pending++;
		return 0;     /* read with the rest of the outbox at the first /reg */
	}
	if (s->win.backlog > 0 || s->win.len >= s->cfg->send_queue_max) {
		s->win.backlog++;      /* behind the window: it moves up in order */
		q_refill(s);
		session_pace(s);
		return 0;
	}
	memset(&r, 0, sizeof r);
	r.id = id;
	snprintf(r.uuid, sizeof r.uuid, "%s", uuid);
	snprintf(r.cid, sizeof r.cid, "%s", cid);
	snprintf(r.buyer, sizeof r.buyer, "%s", buyer);
	snprintf(r.kind, sizeof r.kind, "%s", kind);
	snprintf(r.plugin, sizeof r.plugin, "%s", plugin ? plugin : "");
	snprintf(r.tag, sizeof r.tag, "%s", tag ? tag : "");
	r.payload = (char *)payload;
	outbox_row_cb(&r, s);
	s->m.sends_pending = s->win.len + s->win.backlog;
	session_pace(s);
	return 0;
}

/* See session.h. */
int session_send_text(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		      const char *text, char *uuid_out)
{
	return queue_send(s, plugin, tag, cid, buyer, "text", text, uuid_out);
}

/* See session.h: the payload is {"url","width","height"}. */
int session_send_image(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		       const char *url, int w, int h, char *uuid_out)
{
	cJSON *j = cJSON_CreateObject();
	char *p;
	int rc;

	cJSON_AddStringToObject(j, "url", url);
	cJSON_AddNumberToObject(j, "width", w);
	cJSON_AddNumberToObject(j, "height", h);
	p = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	rc = p ? queue_send(s, plugin, tag, cid, buyer, "image", p, uuid_out) : SESS_SEND_NOMEM;
	free(p);
	return rc;
}

/* The answer to one of our sends (docs/protocol.md §7): done with a messageId, or
 * refused with body.reason / body.code (a code 200 frame can still refuse). */
void session_send_answered(session *s, const req *r, const cJSON *f)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code");
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(f, "body");
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(body, "messageId");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
	const cJSON *bcode = cJSON_GetObjectItemCaseSensitive(body, "code");
	qsend *q = session_window_find(s, r->uuid);
	char why[160];

	if (cJSON_IsNumber(code) && code->valueint == 200 && cJSON_IsString(mid) && !reason && !bcode) {
		store_outbox_done(s->st, r->uuid, mid->valuestring);
		convo_note_answer(s->cv, r->uuid, 1, mid->valuestring);
		echo_remember(s, mid->valuestring, q ? q->cid : "", q && !strcmp(q->kind, "text") ? q->payload : "");
		s->m.sends_acked++;
		log_info("session", "send %s delivered as %s", r->uuid, mid->valuestring);
		if (s->h.on_send)
			s->h.on_send(s->h.ud, r->uuid, 1, mid->valuestring, q ? q->plugin : "", q ? q->tag : "");
	} else {
		if (cJSON_IsString(bcode) && !strcmp(bcode->valuestring, "400600001"))
			snprintf(why, sizeof why, "flow control (400600001)");
		else if (cJSON_IsString(reason))
			snprintf(why, sizeof why, "%s", reason->valuestring);
		else
			snprintf(why, sizeof why, "refused (code %d)", cJSON_IsNumber(code) ? code->valueint : -1);
		/* refusals are final for this message: the caller decides */
		store_outbox_refused(s->st, r->uuid, why);
		convo_note_answer(s->cv, r->uuid, 0, why);
		s->m.sends_refused++;
		log_warn("session", "send %s refused: %s", r->uuid, why);
		if (s->h.on_send)
			s->h.on_send(s->h.ud, r->uuid, 0, why, q ? q->plugin : "", q ? q->tag : "");
	}
	if (q)
		q_remove(s, q);
	q_refill(s);
	session_pace(s);
}

/* --- pruning and the window's life ------------------------------------------ */

/* Deletes a batch of the sends that finished more than send.outbox_keep_days
 * ago, and comes back in 1 s while there are more, else in
 * SESS_PRUNE_EVERY_S. Kept that long: an echo pushed again is still known
 * as ours (store_outbox_sent_as), a plugin's send_find/send_status still
 * see how its send ended. */
static void prune_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, win.sul_prune);
	int64_t before = util_now_ms() - (int64_t)s->cfg->send_outbox_keep_days * 86400000;
	int n = store_outbox_prune(s->st, before, SESS_PRUNE_BATCH);

	if (n > 0) {
		s->m.outbox_pruned += n;
		log_debug("session", "outbox: %d send(s) finished over %d days ago deleted", n,
			  s->cfg->send_outbox_keep_days);
	}
	lws_sul_schedule(s->ctx, 0, &s->win.sul_prune, prune_cb,
			 (lws_usec_t)(n == SESS_PRUNE_BATCH ? 1 : SESS_PRUNE_EVERY_S) * LWS_US_PER_SEC);
}

/* Schedules the first outbox prune, SESS_PRUNE_FIRST_S after the start. */
void session_window_start(session *s)
{
	lws_sul_schedule(s->ctx, 0, &s->win.sul_prune, prune_cb, (lws_usec_t)SESS_PRUNE_FIRST_S * LWS_US_PER_SEC);
}

/* See session.h. */
void session_set_convo(session *s, struct convo *cv)
{
	s->cv = cv;
}

/* Frees the sends in memory (they stay in the outbox). */
void session_window_free(session *s)
{
	qsend *q;

	while ((q = s->win.head)) {
		s->win.head = q->next;
		free(q->payload);
		free(q);
	}
}
