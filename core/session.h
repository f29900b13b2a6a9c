/* SPDX-License-Identifier: MIT */
/*
 * core/session.h - one account's platform session on the lws loop: the IM
 * token (cached in the store), the WebSocket, /reg, ackDiff, heartbeats, ACKs,
 * decoding every item of every push into events, reconnects by error class,
 * and sends through a paced queue and the durable outbox.
 */
#ifndef SK_SESSION_H
#define SK_SESSION_H

#include <stdint.h>

#include "config.h"
#include "event.h"
#include "store.h"

struct lws_context;
struct lws_vhost;
struct lws_protocols;

typedef enum {
	SESS_DISCONNECTED = 0,
	SESS_CONNECTING,         /* token, TCP, upgrade, /reg */
	SESS_CONNECTED,          /* registered */
	SESS_RECONNECTING,       /* waiting for the next attempt */
	SESS_FAILED,             /* needs a human (re-login, retries exhausted); re-checked slowly */
	SESS_CLOSED              /* shut down */
} sess_state;

/* Why an account is FAILED (or was, until it registers again): the kinds of
 * hard failure, each with its own pause before the next check. */
typedef enum {
	SESS_FAIL_NONE = 0,
	SESS_FAIL_LOGIN,         /* the login is dead: a human logs in (QR, cookie); relogin_check_s */
	SESS_FAIL_RISK,          /* risk control: a human passes the check; reconnect.risk_backoff_s */
	SESS_FAIL_KICKED,        /* another client (the seller's browser) keeps taking the
	                          * connection: reconnect.kick_max in kick_window_s; relogin_check_s */
	SESS_FAIL_RETRIES        /* reconnect.max_retries consecutive failures; relogin_check_s */
} sess_fail_kind;

typedef struct {
	sess_state state;
	int64_t reconnects;      /* connection attempts after the first */
	int retry;               /* consecutive failures now */
	int64_t connected_ms;    /* wall clock of the last registration, 0 if none */
	int64_t last_msg_ms;     /* wall clock of the last frame received */
	char last_error[160];
	int64_t frames_in, frames_out, pushes, items, events, decode_errors, bad_frames;
	int64_t sends_acked, sends_refused, sends_pending, sends_resent;
	int64_t sends_backlog;     /* of sends_pending, those beyond send.queue_max (outbox only) */
	int64_t held_frames;       /* frames held while state.db was locked by another process */
	int64_t outbox_pruned;     /* finished sends deleted after send.outbox_keep_days */
	int64_t heartbeats_sent, heartbeats_answered, token_fetches;
	int64_t renewals, renew_failures;   /* keep-alive renewals done, and failed (core/session_renew.c) */
	int64_t backfill_runs, backfill_done, backfilled, backfill_flow_limited, backfill_gave_up;
	int64_t kicks;             /* registered connections the platform closed (see session_fail.c) */
	int64_t risk_answers;      /* calls of the session answered with risk control */
} sess_metrics;

typedef struct session session;

typedef struct {
	/* An event decoded from a push (borrowed for the duration of the call). */
	void (*on_event)(void *ud, const ev *e);
	/* The state changed; why is a short reason. */
	void (*on_state)(void *ud, sess_state from, sess_state to, const char *why);
	/* A send finished: ok with the platform's messageId, or refused with the
	 * reason; plugin and tag as given when it was queued ("" if none). */
	void (*on_send)(void *ud, const char *uuid, int ok, const char *message_id_or_reason,
			const char *plugin, const char *tag);
	/* The batch of this loop turn is about to commit (may be NULL): work
	 * that is due now (the plugins' 0 ms timers) joins it. */
	void (*on_batch_end)(void *ud);
	void *ud;
} session_hooks;

/* The lws protocol the client vhost must list (name "sk-lwp"). */
extern const struct lws_protocols session_protocol;

/* Creates the session (not started). cfg and st are borrowed and must outlive it. */
session *session_new(struct lws_context *ctx, struct lws_vhost *vh, const config *cfg, store *st,
		     const session_hooks *hooks);
/* Starts: token (cached or fetched), then connect. */
void session_start(session *s);
/* SIGHUP changed the config's live keys (config_take_live): the reconnect
 * policy, the request timeout and the pacing take the new values. */
void session_reconfigure(session *s);
/* The conversation store the sends are recorded in (core/convo.h): at queue
 * time, and their answer; NULL: none. */
struct convo;
void session_set_convo(session *s, struct convo *cv);
/* Graceful stop: waits (at most deadline_ms) for sends in flight, closes the
 * socket with 1000; done() is called once everything is closed. */
void session_stop(session *s, int deadline_ms, void (*done)(void *ud), void *ud);
/* After lws_context_destroy. */
void session_free(session *s);
/* Opens the group commit of this loop turn (core/store.c) for work outside
 * the session's own callbacks (the plugins' timers): it commits before the
 * loop polls again and before any frame is written. 0, or -1 when no batch
 * could be opened (another process holds the write lock, or received frames
 * wait for one): the caller tries again later. */
int session_batch_begin(session *s);
/* Commits the open batch now (no-op without one; s may be NULL). Everything
 * that writes to a peer outside the session's own WRITEABLE calls it first:
 * a web answer written in the same loop turn as a session frame would
 * otherwise leave before what it reports is durable. */
void session_barrier(session *s);

/* Queues a text (or image) to a chat: stored in the outbox first, sent when
 * connected and paced, resent under the same uuid after a reconnect or a restart
 * until the platform answers. plugin and tag (may be NULL) are stored with it and
 * come back in on_send. uuid_out (LWP_UUID_MAX) may be NULL. 0 or a negative
 * SESS_SEND_* code. An outbox insert that fails inside the turn's batch ends
 * the process (status 74): the push that asked for it is never ACKed. */
#define SESS_SEND_FULL (-1)     /* send.backlog_max pending sends */
#define SESS_SEND_INVAL (-2)    /* a chat or buyer id too long */
#define SESS_SEND_DB (-3)       /* the outbox insert failed (outside a batch) */
#define SESS_SEND_NOMEM (-4)
int session_send_text(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		      const char *text, char *uuid_out);
int session_send_image(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		       const char *url, int w, int h, char *uuid_out);

/* Opens the chat with buyer about item (may be "") on the registered
 * connection (/r/SingleChatConversation/create, the two ids numerically
 * ascending): 0 with *handle set, then done(ctx, rc, cid) runs exactly once
 * on the loop with rc 0 and the bare cid, or SESS_CHAT_IO and "" (no answer
 * in session.chat_open_timeout_ms, the connection gone, a refusal), unless
 * session_chat_cancel(handle) ran first. SESS_CHAT_STATE when not connected
 * (done never runs), SESS_CHAT_NOMEM. session_chat_cancel drops an open
 * whose done has not run and returns its ctx (NULL when it is not waiting). */
#define SESS_CHAT_STATE (-1)
#define SESS_CHAT_NOMEM (-2)
#define SESS_CHAT_IO (-3)
int session_chat_open(session *s, const char *buyer, const char *item,
		      void (*done)(void *ctx, int rc, const char *cid), void *ctx, void **handle);
void *session_chat_cancel(session *s, void *handle);

/* A new login's cookie (a QR login, or one pasted on the page; the caller
 * checked its unb and updated the config): used at once, saved, and an
 * account that is not connected (FAILED included) connects now without a
 * restart. 0, or -1 (out of memory). */
int session_login(session *s, const char *cookie);

/* Adds the keep-alive's fields to the status command's data: in its
 * "session" object (made when missing) last_renewed_ms (0 = never),
 * next_renew_ms (0 = none scheduled), renewals, renew_failures. */
struct cJSON;
void session_renew_status(const session *s, struct cJSON *status);
/* The kind of the last hard failure: "" (none), "login", "risk", "kicked" or
 * "retries". It stays from FAILED until the account registers again or a new
 * login (session_login) comes. */
const char *session_fail_kind(const session *s);
const char *session_fail_kind_name(sess_fail_kind k);
/* The punish (captcha) URL of the last risk answer while the kind is "risk",
 * else "". */
const char *session_punish_url(const session *s);
/* While FAILED: the wall clock (ms) of the next check; else 0. */
int64_t session_next_check_ms(const session *s);

const sess_metrics *session_metrics(const session *s);
/* The session's signed mtop client (its cookie stays current), for plugins' calls. */
struct mtop_ctx *session_mtop(session *s);
/* The metrics as a JSON object text (malloc'd), NULL on OOM. */
char *session_metrics_json(const session *s);
const char *session_state_name(sess_state st);
/* One line of metrics for logs (SIGUSR1). */
void session_log_metrics(const session *s);

#endif
