/* SPDX-License-Identifier: MIT */
/*
 * core/session_int.h - what the session's files share, private to them:
 * struct session grouped by role, the records it keeps, the causes of a
 * connection failure, and the functions one file calls in another.
 *
 *   core/session.c        the connection: state, frames in and out, the
 *                         batch of a loop turn, held frames, lifecycle,
 *                         metrics
 *   core/session_fail.c   failures and reconnects: the failure table
 *   core/session_token.c  the merged cookie and the IM token: cache, fetch,
 *                         refresh before expiry
 *   core/session_send.c   the send window: the outbox rows in memory,
 *                         pacing, the answers to sends, the echo ring,
 *                         outbox pruning
 *   core/session_renew.c  the keep-alive: the web session's renewal on a
 *                         schedule (hasLogin.do, loginuser.get,
 *                         setLoginSettings.do), its Set-Cookie merged
 *   core/session_backfill.c  after an outage: the history lists, the
 *                         watermark, the backfilled events
 */
#ifndef SK_SESSION_INT_H
#define SK_SESSION_INT_H

#include "session.h"
#include "backoff.h"
#include "http.h"
#include "lwp.h"
#include "mtop.h"
#include "util.h"

#include <libwebsockets.h>

#define ECHO_RING 128
#define BF_RING 512
#define SESSION_TOKEN_API "mtop.taobao.idlemessage.pc.login.token"

/* A chat open (session_chat_open) waiting for the answer to its request. */
typedef struct chat_wait {
	struct chat_wait *next;
	char mid[LWP_MID_MAX];
	char buyer[32];
	void (*done)(void *ctx, int rc, const char *cid);
	void *ctx;
} chat_wait;

/* A frame waiting to be written. */
typedef struct out_frame {
	struct out_frame *next;
	size_t len;
	unsigned char *buf;        /* LWS_PRE + len */
} out_frame;

typedef enum { REQ_REG, REQ_ACKDIFF, REQ_HB, REQ_SEND, REQ_OTHER, REQ_BACKFILL, REQ_CHAT } req_kind;

/* A request frame sent, waiting for the answer with its mid. */
typedef struct req {
	struct req *next;
	char mid[LWP_MID_MAX];
	req_kind kind;
	char uuid[LWP_UUID_MAX];
	int64_t deadline_us;
} req;

/* A send of the window: an outbox row in memory. */
typedef struct qsend {
	struct qsend *next;
	char uuid[LWP_UUID_MAX];
	char cid[32];
	char buyer[32];
	char kind[8];
	char plugin[40];
	char tag[128];
	char *payload;
	int inflight;
} qsend;

/* A received frame held while the batch of its turn could not open. */
typedef struct held_frame {
	struct held_frame *next;
	size_t len;
	char txt[];
} held_frame;

/* One of our recent sends, to know its echo. */
typedef struct {
	char im_id[40];
	char cid[32];
	unsigned char text_hash[16];
} echo_rec;

/*
 * Every way a connection attempt or a connection can fail. Each cause has
 * one row in the failure table (core/session_fail.c, session_fail_rows): its
 * text, its backoff class, whether it needs a human (fail hard), whether it
 * drops the cached token, and when it is decided. Append a cause here and a
 * row there; the delays per class live in core/backoff.c.
 */
typedef enum {
	SF_TOKEN_EXPIRED,       /* the token fetch says the session expired */
	SF_TOKEN_RISK,          /* the token fetch hit risk control */
	SF_TOKEN_TRANSPORT,     /* the token fetch could not reach the platform */
	SF_TOKEN_REFUSED,       /* the token fetch failed otherwise */
	SF_TOKEN_START,         /* the token request could not be started */
	SF_BAD_URL,             /* platform.ws_url cannot be parsed */
	SF_CONNECT_START,       /* lws could not start the connection */
	SF_CONNECT_TIMEOUT,     /* no upgrade within connect_timeout_s */
	SF_REG_TIMEOUT,         /* upgraded, no /reg answer within connect_timeout_s */
	SF_REG_UNANSWERED,      /* the /reg request timed out (request_timeout_s) */
	SF_REG_REFUSED,         /* /reg answered with a code other than 200 */
	SF_HEARTBEAT,           /* no heartbeat answer within heartbeat_timeout_s */
	SF_WRITE,               /* lws_write failed */
	SF_CONNECT_ERROR,       /* CLIENT_CONNECTION_ERROR (class from lws's text) */
	SF_PEER_CLOSE,          /* the platform sent a close frame */
	SF_CLOSED,              /* a registered connection closed */
	SF_REG_CLOSED,          /* closed after the upgrade, before /reg's answer */
	SF_CONNECT_FAILED,      /* closed before the upgrade, no reason given */
	SF_NO_LOGIN,            /* no cookie yet: the account was never logged in */
	SF_SESSION_DEAD,        /* another call of the session (a renewal, a plugin's mtop call)
				 * says the login is dead: session expired, hasLogin false */
	SF_RISK,                /* another call of the session hit risk control */
	SF_KICKED,              /* reconnect.kick_max kicks within kick_window_s */
	SF_N
} sess_cause;

struct session {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	const config *cfg;
	store *st;
	struct convo *cv;               /* the conversation store (session_set_convo), may be NULL */
	session_hooks h;
	sess_metrics m;

	/* The cookie, the IM token and its refresh (core/session_token.c). */
	struct session_token {
		mtop_ctx mt;                 /* the signed mtop client; its cookie stays current */
		mtop_call *call;             /* the token fetch in flight */
		char token[256];
		char did[LWP_DID_MAX];
		int64_t exp_ms;
		int refreshing;              /* a token refresh closes and reconnects at once */
		lws_sorted_usec_list_t sul_refresh;
	} tok;

	/* The keep-alive (core/session_renew.c): one renewal at most in flight. */
	struct session_renew {
		int step;                    /* the call in flight, RN_IDLE (0) when none */
		http_req *req;               /* a passport call in flight */
		mtop_call *call;             /* loginuser.get in flight */
		int fails;                   /* failed renewals in a row */
		int not_logged_in;           /* hasLogin success:false answers in a row */
		int64_t last_ms;             /* wall clock of the last renewal, 0 = never */
		int64_t next_ms;             /* wall clock of the next one, 0 = none scheduled */
		int64_t long_login_ms;       /* wall clock of the last setLoginSettings.do success */
		lws_sorted_usec_list_t sul;
	} ren;

	/* The WebSocket: frames in and out, requests waiting for answers. */
	struct session_conn {
		struct lws *wsi;
		int live, established, registered;
		int close_pending;
		sbuf rx;
		int rx_drop;                 /* the current message is over MAX_FRAME */
		out_frame *oq_head, *oq_tail;
		out_frame *oq_last;          /* written last: lws may still read it (permessage-deflate) */
		req *reqs;
		int64_t last_hb_answer_us;
		int64_t attempts;
		lws_sorted_usec_list_t sul_deadline, sul_hb, sul_req, sul_healthy;
	} conn;

	/* The send window: outbox rows in memory, pacing, echoes (core/session_send.c). */
	struct session_window {
		qsend *head;
		int len;                     /* sends in memory, at most send.queue_max */
		int loaded;                  /* the outbox was read (first /reg) */
		int64_t last_id;             /* the highest outbox id in the window */
		int64_t backlog;             /* pending sends beyond the window, in the outbox only */
		double pace_tokens;
		int64_t pace_at_us;
		echo_rec echo[ECHO_RING];
		int echo_pos;
		lws_sorted_usec_list_t sul_pace, sul_prune;
	} win;

	/* Why the connection ends, and the reconnect policy (the failure table). */
	struct session_fail {
		bo_policy bo;
		bo_state bs;
		int set;                     /* a cause is recorded for this connection */
		sess_cause cause;            /* the first cause recorded */
		bo_class cls;                /* its class */
		char why[160];
		sess_fail_kind kind;         /* of the last hard failure, until registered or a new login */
		char punish_url[256];        /* of the last risk answer ("" none), as kind */
		int64_t next_check_ms;       /* FAILED: wall ms of the check fail_hard scheduled, else 0 */
		int64_t kick_ms[SESS_KICK_MAX];  /* monotonic ms of the recent kicks, a ring */
		int kick_pos;
		lws_sorted_usec_list_t sul_retry;
	} fail;

	/* The group commit of a loop turn and the frames held for it. */
	struct session_batch {
		int sends;                   /* sends queued in the open batch */
		held_frame *held_head, *held_tail;   /* frames waiting for a batch, in order */
		int held_n;
		int64_t blocked_since_us;    /* since when no batch could be opened (0: it could) */
		lws_sorted_usec_list_t sul_batch, sul_held;
	} bat;

	/* Backfill after an outage (core/session_backfill.c). */
	struct session_backfill {
		int64_t seen_ms;             /* the newest createAt of a chat message seen (kv backfill.seen_ms) */
		int64_t from_ms;             /* a run is owed from here (kv backfill.from_ms), 0: none */
		int64_t to_ms;               /* ... up to here: this registration + BF_SLACK_MS */
		const char *bound;           /* the bound that cut this run short, NULL if none */
		int loaded, dirty;           /* read from the store; to be written in the batch */
		int running;                 /* a run is under way on this connection */
		int msgs_phase;              /* listing messages (else conversations) */
		int flow_tries;              /* 400600001 answers in a row */
		int pages;                   /* pages of the current list */
		int64_t cursor;
		char (*cids)[40];            /* conversations to read */
		int ncids, icid;
		cJSON *msgs;                 /* messages collected, NULL when no run */
		char ring[BF_RING][40];      /* IM ids seen live lately */
		int ring_pos;
		lws_sorted_usec_list_t sul;
	} bf;

	/* Chat opens waiting for their answer (core/session_chat.c). */
	struct session_chat {
		chat_wait *head;
	} chat;

	/* A graceful stop. */
	struct session_stop {
		int active;
		int64_t deadline_us;         /* sends in flight get until then */
		void (*done)(void *ud);
		void *ud;
		lws_sorted_usec_list_t sul;
	} stop;
};

/* core/session.c */
void session_set_state(session *s, sess_state to, const char *why);
void session_connect(session *s);
int session_request(session *s, char *frame, const char *mid, req_kind kind, const char *uuid);
int session_request_ms(session *s, char *frame, const char *mid, req_kind kind, const char *uuid, int timeout_ms);

/* core/session_fail.c */
void session_fail(session *s, sess_cause c, const char *detail);
void session_fail_gone(session *s, int was_registered, int was_established);
void session_fail_retry_soon(session *s);
void session_fail_platform(session *s, mtop_result res, const char *detail, const cJSON *data);
void session_fail_mtop_result(void *ud, const char *api, mtop_result res, const cJSON *data);
void session_fail_registered(session *s);
void session_fail_reset(session *s);

/* core/session_token.c */
char *session_cookie_initial(session *s);
void session_cookie_saved(void *ud, const char *cookie);
void session_token_begin(session *s, int force_fetch);
void session_token_refresh_in(session *s, int seconds);

/* core/session_renew.c */
/* Schedules the first renewal (nothing when session.renew_min_s is 0). */
void session_renew_start(session *s);
/* A new login: failures forgotten, the next renewal a full delay from now. */
void session_renew_login(session *s);
/* Cancels the timer and the call in flight (the lws context is alive). */
void session_renew_stop(session *s);
/* After lws_context_destroy: forgets the call in flight without touching lws. */
void session_renew_free(session *s);
/* core/session_backfill.c */
void session_backfill_seen(session *s, const ev *e);
void session_backfill_connected(session *s);
void session_backfill_gone(session *s);
void session_backfill_answer(session *s, const cJSON *f);
void session_backfill_expired(session *s);
void session_backfill_save(session *s);

/* core/session_chat.c */
void session_chat_answer(session *s, const char *mid, const cJSON *f);
void session_chat_expired(session *s, const char *mid);
void session_chat_gone(session *s);

/* core/session_send.c */
qsend *session_window_find(session *s, const char *uuid);
void session_window_load(session *s);
void session_window_free(session *s);
void session_window_start(session *s);
void session_pace(session *s);
void session_send_answered(session *s, const req *r, const cJSON *f);
int session_echo_match(session *s, const ev *e);

#endif
