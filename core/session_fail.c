/* SPDX-License-Identifier: MIT */
/*
 * core/session_fail.c - the session's failures and reconnects (see
 * session_int.h): every way a connection attempt or a connection fails is
 * a cause (sess_cause) with one row in session_fail_rows, and goes through
 * session_fail(). A new reconnect rule is a cause there and a row here; the
 * delays per class are core/backoff.c's.
 */
#include "session_int.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* When a cause is decided. */
typedef enum {
	SF_NOW,         /* no connection to wait for: retry or fail hard at once */
	SF_KILL,        /* record it (the first cause wins), close the socket; decided when it is gone */
	SF_NOTE         /* record it (lws is closing the socket anyway); decided when it is gone */
} sf_when;

/* Whether a cause drops the cached IM token. */
typedef enum {
	SF_KEEP_TOKEN,
	SF_DROP_IN_REG, /* when the socket was open but /reg unanswered: the platform closes on a
			 * token it refuses (docs/protocol.md §4.1) */
	SF_DROP_NOW     /* at once (and when gone, as SF_DROP_IN_REG) */
} sf_drop;

#define SF_CLS_LWS (-1)   /* the class comes from lws's error text (bo_classify) */

/* One row of the failure table. */
typedef struct {
	int cls;               /* bo_class (core/backoff.c has the delays), or SF_CLS_LWS */
	int hard;              /* needs a human: FAILED, checked again every relogin_check_s */
	sf_drop drop;
	sf_when when;
	int keep_live;         /* while connected (a token refresh): the connection stays, the
				* refresh is tried again in SESS_REFRESH_RETRY_S */
	const char *text;      /* the reason; the caller's detail, if any, follows it */
} sf_row;

#define SESS_REFRESH_RETRY_S 300

/* The reconnect policy, one row per cause (sess_cause in session_int.h). A
 * retry waits bo_next's delay for the row's class; max_retries consecutive
 * failures of any class fail hard ("gave up after N attempts"). */
static const sf_row session_fail_rows[] = {
	/*                      class       hard drop            when     keep text */
	[SF_TOKEN_EXPIRED]   = {BO_OTHER,   1, SF_KEEP_TOKEN,  SF_NOW,  0,
				"needs re-login: the platform says the session expired"},
	[SF_TOKEN_RISK]      = {BO_OTHER,   1, SF_KEEP_TOKEN,  SF_NOW,  0,
				"risk control: log in with a browser and pass the check, then restart"},
	[SF_TOKEN_TRANSPORT] = {BO_NETWORK, 0, SF_KEEP_TOKEN,  SF_NOW,  1, "token: "},
	[SF_TOKEN_REFUSED]   = {BO_OTHER,   0, SF_KEEP_TOKEN,  SF_NOW,  1, "token: "},
	[SF_TOKEN_START]     = {BO_OTHER,   0, SF_KEEP_TOKEN,  SF_NOW,  0, "token: cannot start the request"},
	[SF_BAD_URL]         = {BO_OTHER,   1, SF_KEEP_TOKEN,  SF_NOW,  0, "platform.ws_url cannot be parsed"},
	[SF_CONNECT_START]   = {BO_NETWORK, 0, SF_KEEP_TOKEN,  SF_NOW,  0, "cannot start the connection"},
	[SF_CONNECT_TIMEOUT] = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, "connect timeout (no upgrade)"},
	[SF_REG_TIMEOUT]     = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, "no answer to /reg"},
	[SF_REG_UNANSWERED]  = {BO_OTHER,   0, SF_DROP_IN_REG, SF_KILL, 0, "no answer to /reg"},
	[SF_REG_REFUSED]     = {BO_OTHER,   0, SF_DROP_NOW,    SF_KILL, 0, "/reg refused "},
	[SF_HEARTBEAT]       = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, "heartbeat timeout"},
	[SF_WRITE]           = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_NOTE, 0, "write failed"},
	[SF_CONNECT_ERROR]   = {SF_CLS_LWS, 0, SF_DROP_IN_REG, SF_NOTE, 0, "connect: "},
	[SF_PEER_CLOSE]      = {BO_CLOSED,  0, SF_DROP_IN_REG, SF_NOTE, 0, "closed by the platform with "},
	[SF_CLOSED]          = {BO_CLOSED,  0, SF_DROP_IN_REG, SF_NOTE, 0, "connection closed"},
	[SF_REG_CLOSED]      = {BO_OTHER,   0, SF_DROP_IN_REG, SF_NOTE, 0, "closed during /reg: token refused"},
	[SF_CONNECT_FAILED]  = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_NOTE, 0, "connection failed"},
	[SF_NO_LOGIN]        = {BO_OTHER,   1, SF_KEEP_TOKEN,  SF_NOW,  0,
				"needs login: no cookie yet (shopkeep login --config FILE, or the page's QR login)"},
};

/* A cause appended to sess_cause without its row here does not compile. */
_Static_assert(sizeof session_fail_rows / sizeof session_fail_rows[0] == SF_N, "one row per sess_cause");

/* The next attempt is due: starts it (a fresh token after FAILED). */
static void retry_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, fail.sul_retry);

	if (!s->stop.active)
		session_token_begin(s, s->m.state == SESS_FAILED);
}

/* Waits relogin_check_s and tries again: a human must act, but no hot loop. */
static void fail_hard(session *s, const char *why)
{
	snprintf(s->m.last_error, sizeof s->m.last_error, "%s", why);
	session_set_state(s, SESS_FAILED, why);
	log_err("session", "%s; checking again in %d s", why, s->cfg->relogin_check_s);
	lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, retry_cb,
			 (lws_usec_t)s->cfg->relogin_check_s * LWS_US_PER_SEC);
}

/* Counts a failure of class cls and schedules the next attempt (backoff.c),
 * or fails hard when max_retries consecutive failures are reached. */
static void schedule_retry(session *s, bo_class cls, const char *why)
{
	int d;

	if (s->stop.active)
		return;
	snprintf(s->m.last_error, sizeof s->m.last_error, "%s", why);
	d = bo_next(&s->fail.bo, &s->fail.bs, cls, NULL);
	s->m.retry = s->fail.bs.total;
	if (d < 0) {
		char m[200];

		snprintf(m, sizeof m, "gave up after %d attempts: %s", s->fail.bs.total, why);
		fail_hard(s, m);
		return;
	}
	session_set_state(s, SESS_RECONNECTING, why);
	log_warn("session", "%s; retry %d in %d ms (%s class)", why, s->fail.bs.total, d,
		 cls == BO_NETWORK ? "network" : cls == BO_CLOSED ? "closed" : "other");
	lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, retry_cb, (lws_usec_t)d * LWS_US_PER_MS);
}

/* Forgets the IM token, in the store and in memory: the next attempt fetches one. */
static void drop_token(session *s)
{
	store_token_clear(s->st, s->cfg->account_id);
	s->tok.token[0] = '\0';
}

/* Acts on a failure of cause c, with its reason why and class cls, as its
 * row says: fail hard, keep a working connection (a failed token refresh),
 * or count it and retry later. */
static void fail_decide(session *s, sess_cause c, bo_class cls, const char *why)
{
	const sf_row *r = &session_fail_rows[c];

	if (r->hard) {
		fail_hard(s, why);
	} else if (r->keep_live && s->conn.live) {
		log_warn("session", "%s (the connection stays up)", why);
		session_token_refresh_in(s, SESS_REFRESH_RETRY_S);
	} else {
		schedule_retry(s, cls, why);
	}
}

/* The one way a failure enters the session: looks up the row of cause c
 * (detail, may be NULL, follows its text) and drops the token, decides at
 * once, or records the cause (the first one of a connection wins) and closes
 * the socket, as the row says. A recorded cause is decided by
 * session_fail_gone when the connection is gone. */
void session_fail(session *s, sess_cause c, const char *detail)
{
	const sf_row *r = &session_fail_rows[c];
	bo_class cls = r->cls == SF_CLS_LWS ? bo_classify(detail) : (bo_class)r->cls;
	char why[240];

	snprintf(why, sizeof why, "%s%s", r->text, detail ? detail : "");
	if (r->drop == SF_DROP_NOW)
		drop_token(s);
	if (r->when == SF_NOW) {
		fail_decide(s, c, cls, why);
		return;
	}
	if (!s->fail.set) {
		s->fail.set = 1;
		s->fail.cause = c;
		s->fail.cls = cls;
		snprintf(s->fail.why, sizeof s->fail.why, "%s", why);
	}
	if (r->when == SF_KILL && s->conn.wsi)
		lws_set_timeout(s->conn.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* The connection is gone (not stopping, not a token refresh): decides the
 * recorded cause, or the one the connection's phase implies when none was
 * recorded, dropping the token first when the row says so and it ended
 * between the upgrade and the answer to /reg. */
void session_fail_gone(session *s, int was_registered, int was_established)
{
	char why[sizeof s->fail.why];

	if (!s->fail.set)
		session_fail(s, was_registered ? SF_CLOSED : was_established ? SF_REG_CLOSED : SF_CONNECT_FAILED, NULL);
	snprintf(why, sizeof why, "%s", s->fail.why);
	if (session_fail_rows[s->fail.cause].drop != SF_KEEP_TOKEN && !was_registered && was_established)
		drop_token(s);
	fail_decide(s, s->fail.cause, s->fail.cls, why);
}

/* A token refresh closed the connection: reconnects with the new token from
 * a timer (never from inside the old wsi's own callbacks). */
void session_fail_retry_soon(session *s)
{
	lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, retry_cb, 1);
}
