/* SPDX-License-Identifier: MIT */
/*
 * core/session_chat.c - opening the chat with a buyer who never wrote
 * (protocol-account.md §8.2), for sk_chat_open: /r/SingleChatConversation/create
 * on the registered connection, its answer matched by mid like every
 * request (core/session.c), the cid read from any of the three answer paths
 * the peers know. Each open ends exactly once: the answer, the timeout
 * (session.chat_open_timeout_ms, default 15 s), the connection's end, or a cancel (no callback).
 */
#include "session_int.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the digit string a sorts before b as a number (shorter first,
 * then by digits); other strings by strcmp. */
static int chat_num_less(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb && strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb)
		return la < lb;
	return strcmp(a, b) < 0;
}

int session_chat_open(session *s, const char *buyer, const char *item,
		      void (*done)(void *ctx, int rc, const char *cid), void *ctx, void **handle)
{
	const char *unb = s->cfg->unb ? s->cfg->unb : "";
	char mid[LWP_MID_MAX];
	chat_wait *w;
	char *frame;

	if (!s->conn.live || !s->conn.registered || s->conn.close_pending || !*unb)
		return SESS_CHAT_STATE;
	if (!(w = calloc(1, sizeof *w)))
		return SESS_CHAT_NOMEM;
	/* §8.2: the peers disagree on the pair order; GC sorts the ids
	 * numerically ascending, which the web client does too */
	frame = chat_num_less(buyer, unb) ? lwp_create_conv(buyer, unb, item && *item ? item : NULL, mid)
					  : lwp_create_conv(unb, buyer, item && *item ? item : NULL, mid);
	if (!frame) {
		free(w);
		return SESS_CHAT_NOMEM;
	}
	if (session_request_ms(s, frame, mid, REQ_CHAT, NULL, s->cfg->chat_open_timeout_ms)) {
		free(w);
		return SESS_CHAT_STATE;
	}
	snprintf(w->mid, sizeof w->mid, "%s", mid);
	snprintf(w->buyer, sizeof w->buyer, "%s", buyer);
	w->done = done;
	w->ctx = ctx;
	w->next = s->chat.head;
	s->chat.head = w;
	*handle = w;
	return 0;
}

/* Takes the wait with mid off the list (NULL when none). */
static chat_wait *chat_take(session *s, const char *mid)
{
	for (chat_wait **pp = &s->chat.head; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->mid, mid)) {
			chat_wait *w = *pp;

			*pp = w->next;
			return w;
		}
	return NULL;
}

void *session_chat_cancel(session *s, void *handle)
{
	for (chat_wait **pp = &s->chat.head; *pp; pp = &(*pp)->next)
		if (*pp == handle) {
			void *ctx = (*pp)->ctx;

			*pp = ((chat_wait *)handle)->next;
			free(handle);
			return ctx;
		}
	return NULL;
}

/* Ends a wait: done with rc and cid, then freed. */
static void chat_end(chat_wait *w, int rc, const char *cid)
{
	w->done(w->ctx, rc, cid);
	free(w);
}

/* The answer to a create request: the cid from body.singleChatConversation,
 * body[0].singleChatConversation or
 * body.singleChatUserConversation.singleChatConversation. */
void session_chat_answer(session *s, const char *mid, const cJSON *f)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code"), *b = cJSON_GetObjectItemCaseSensitive(f, "body");
	chat_wait *w = chat_take(s, mid);
	char cid[40];

	if (!w)
		return;
	if (cJSON_IsNumber(code) && code->valueint == 200 && !lwp_create_conv_cid(b, cid, sizeof cid)) {
		log_info("session", "chat with buyer %s: %s", w->buyer, cid);
		chat_end(w, 0, cid);
		return;
	}
	log_warn("session", "chat with buyer %s not opened: code %d%s", w->buyer,
		 cJSON_IsNumber(code) ? code->valueint : -1, cJSON_IsNumber(code) && code->valueint == 200 ?
		 ", no cid in the answer" : "");
	chat_end(w, SESS_CHAT_IO, "");
}

/* The create request went unanswered for session.chat_open_timeout_ms. */
void session_chat_expired(session *s, const char *mid)
{
	chat_wait *w = chat_take(s, mid);

	if (w) {
		log_warn("session", "chat with buyer %s not opened: no answer in %d ms", w->buyer,
			 s->cfg->chat_open_timeout_ms);
		chat_end(w, SESS_CHAT_IO, "");
	}
}

/* The connection is gone: every open waiting ends with SESS_CHAT_IO. */
void session_chat_gone(session *s)
{
	chat_wait *w;

	while ((w = s->chat.head)) {
		s->chat.head = w->next;
		log_warn("session", "chat with buyer %s not opened: the connection is gone", w->buyer);
		chat_end(w, SESS_CHAT_IO, "");
	}
}
