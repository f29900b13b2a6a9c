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
	sess_fail_kind hard;   /* SESS_FAIL_NONE: retried; else it needs a human: FAILED of
				* this kind, checked again after the kind's pause (fail_hard) */
	sf_drop drop;
	sf_when when;
	int keep_live;         /* while connected (a token refresh): the connection stays, the
				* refresh is tried again in SESS_REFRESH_RETRY_S */
	int kick;              /* the platform closed a registered connection: counts as a kick
				* (reconnect.kick_max within kick_window_s: SF_KICKED) */
	const char *text;      /* the reason; the caller's detail, if any, follows it */
} sf_row;

#define SESS_REFRESH_RETRY_S 300

#define LOGIN SESS_FAIL_LOGIN
#define RISK SESS_FAIL_RISK

/* The reconnect policy, one row per cause (sess_cause in session_int.h). A
 * retry waits bo_next's delay for the row's class; max_retries consecutive
 * failures of any class fail hard ("gave up after N attempts", kind
 * retries). A hard row stops at once, whatever the connection was doing:
 * no retry may burn a dead login or an account under risk control. */
static const sf_row session_fail_rows[] = {
	/*                      class       hard   drop            when     keep kick text */
	[SF_TOKEN_EXPIRED]   = {BO_OTHER,   LOGIN, SF_KEEP_TOKEN,  SF_KILL, 0, 0,
				"needs re-login: the platform says the session expired"},
	[SF_TOKEN_RISK]      = {BO_OTHER,   RISK,  SF_KEEP_TOKEN,  SF_KILL, 0, 0,
				"risk control: the platform asks for a check in a browser"},
	[SF_TOKEN_TRANSPORT] = {BO_NETWORK, 0, SF_KEEP_TOKEN,  SF_NOW,  1, 0, "token: "},
	[SF_TOKEN_REFUSED]   = {BO_OTHER,   0, SF_KEEP_TOKEN,  SF_NOW,  1, 0, "token: "},
	[SF_TOKEN_START]     = {BO_OTHER,   0, SF_KEEP_TOKEN,  SF_NOW,  0, 0, "token: cannot start the request"},
	[SF_BAD_URL]         = {BO_OTHER,   SESS_FAIL_RETRIES, SF_KEEP_TOKEN, SF_NOW, 0, 0,
				"platform.ws_url cannot be parsed"},
	[SF_CONNECT_START]   = {BO_NETWORK, 0, SF_KEEP_TOKEN,  SF_NOW,  0, 0, "cannot start the connection"},
	[SF_CONNECT_TIMEOUT] = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, 0, "connect timeout (no upgrade)"},
	[SF_REG_TIMEOUT]     = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, 0, "no answer to /reg"},
	[SF_REG_UNANSWERED]  = {BO_OTHER,   0, SF_DROP_IN_REG, SF_KILL, 0, 0, "no answer to /reg"},
	[SF_REG_REFUSED]     = {BO_OTHER,   0, SF_DROP_NOW,    SF_KILL, 0, 0, "/reg refused "},
	[SF_HEARTBEAT]       = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_KILL, 0, 0, "heartbeat timeout"},
	[SF_WRITE]           = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_NOTE, 0, 0, "write failed"},
	[SF_CONNECT_ERROR]   = {SF_CLS_LWS, 0, SF_DROP_IN_REG, SF_NOTE, 0, 0, "connect: "},
	[SF_PEER_CLOSE]      = {BO_CLOSED,  0, SF_DROP_IN_REG, SF_NOTE, 0, 1, "closed by the platform with "},
	[SF_CLOSED]          = {BO_CLOSED,  0, SF_DROP_IN_REG, SF_NOTE, 0, 0, "connection closed"},
	[SF_REG_CLOSED]      = {BO_OTHER,   0, SF_DROP_IN_REG, SF_NOTE, 0, 0, "closed during /reg: token refused"},
	[SF_CONNECT_FAILED]  = {BO_NETWORK, 0, SF_DROP_IN_REG, SF_NOTE, 0, 0, "connection failed"},
	[SF_SESSION_DEAD]    = {BO_OTHER,   LOGIN, SF_KEEP_TOKEN, SF_KILL, 0, 0,
				"needs re-login: the platform says the session expired: "},
	[SF_RISK]            = {BO_OTHER,   RISK,  SF_KEEP_TOKEN, SF_KILL, 0, 0,
				"risk control: the platform asks for a check in a browser: "},
	[SF_KICKED]          = {BO_CLOSED,  SESS_FAIL_KICKED, SF_KEEP_TOKEN, SF_NOW, 0, 0,
				"kicked: another client keeps taking the connection (the seller's browser?): "},
	[SF_NO_LOGIN]        = {BO_OTHER,   LOGIN, SF_KEEP_TOKEN, SF_NOW,  0, 0,
				"needs login: no cookie yet (shopkeep login --config FILE, or the page's QR login)"},
};

#undef LOGIN
#undef RISK

/* A cause appended to sess_cause without its row here does not compile. */
_Static_assert(sizeof session_fail_rows / sizeof session_fail_rows[0] == SF_N, "one row per sess_cause");

/* The next attempt is due: starts it (a fresh token after FAILED). */
static void retry_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, fail.sul_retry);

	if (!s->stop.active)
		session_token_begin(s, s->m.state == SESS_FAILED);
}

/* The name of a kind of hard failure ("" for none). */
const char *session_fail_kind_name(sess_fail_kind k)
{
	static const char *const n[] = {"", "login", "risk", "kicked", "retries"};

	return k <= SESS_FAIL_RETRIES ? n[k] : "";
}

/* FAILED of kind k: stops whatever is in flight (a token fetch, a token
 * refresh due), then waits the kind's pause (reconnect.risk_backoff_s for
 * risk control, relogin_check_s else) and checks again with one token
 * fetch. A human must act, but never a hot loop: every way out of FAILED
 * but a new login goes through this timer. */
static void fail_hard(session *s, sess_fail_kind k, const char *why)
{
	int pause = k == SESS_FAIL_RISK ? s->cfg->reconnect_risk_backoff_s : s->cfg->relogin_check_s;

	snprintf(s->m.last_error, sizeof s->m.last_error, "%s", why);
	if (k != SESS_FAIL_RISK)
		s->fail.punish_url[0] = '\0';
	s->fail.kind = k;
	if (s->tok.call) {
		mtop_cancel(s->tok.call);
		s->tok.call = NULL;
	}
	s->tok.refreshing = 0;
	lws_sul_cancel(&s->tok.sul_refresh);
	s->fail.next_check_ms = util_now_ms() + (int64_t)pause * 1000;
	session_set_state(s, SESS_FAILED, why);
	log_err("session", "%s; checking again in %d s", why, pause);
	lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, retry_cb, (lws_usec_t)pause * LWS_US_PER_SEC);
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
		fail_hard(s, SESS_FAIL_RETRIES, m);
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
		fail_hard(s, r->hard, why);
	} else if (r->keep_live && s->conn.live) {
		log_warn("session", "%s (the connection stays up)", why);
		session_token_refresh_in(s, SESS_REFRESH_RETRY_S);
	} else {
		schedule_retry(s, cls, why);
	}
}

/* The one way a failure enters the session: looks up the row of cause c
 * (detail, may be NULL, follows its text) and drops the token, decides at
 * once, or records the cause (the first one of a connection wins, unless a
 * hard one comes after a retried one) and closes the socket, as the row says
 * (at once when there is no connection). A recorded cause is decided by
 * session_fail_gone when the connection is gone. */
void session_fail(session *s, sess_cause c, const char *detail)
{
	const sf_row *r = &session_fail_rows[c];
	bo_class cls = r->cls == SF_CLS_LWS ? bo_classify(detail) : (bo_class)r->cls;
	char why[240];

	snprintf(why, sizeof why, "%s%s", r->text, detail ? detail : "");
	if (r->drop == SF_DROP_NOW)
		drop_token(s);
	if (r->when == SF_NOW || (r->when == SF_KILL && !s->conn.live)) {
		fail_decide(s, c, cls, why);
		return;
	}
	/* the first cause wins, but a hard one replaces a retried one */
	if (!s->fail.set || (r->hard && !session_fail_rows[s->fail.cause].hard)) {
		s->fail.set = 1;
		s->fail.cause = c;
		s->fail.cls = cls;
		snprintf(s->fail.why, sizeof s->fail.why, "%s", why);
	}
	if (r->when == SF_KILL && s->conn.wsi)
		lws_set_timeout(s->conn.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* The platform closed a registered connection with a close frame: a kick.
 * The real platform's kick signal is not known (docs/protocol.md §4.1), so
 * any close frame of a registered connection counts, and only
 * reconnect.kick_max of them within reconnect.kick_window_s mean another
 * client is fighting for the account. A socket that just ends (FIN, RST, a
 * timeout) is the network, never a kick: a flaky line must not stop the shop
 * until a human comes.
 * Returns 1 when that many are reached (the ring is then emptied). */
static int kick_counted(session *s)
{
	int64_t now = util_mono_us() / 1000, since = now - (int64_t)s->cfg->reconnect_kick_window_s * 1000;
	int max = s->cfg->reconnect_kick_max, i, n = 0;

	s->m.kicks++;
	if (max <= 0)
		return 0;
	s->fail.kick_ms[s->fail.kick_pos] = now;
	s->fail.kick_pos = (s->fail.kick_pos + 1) % SESS_KICK_MAX;
	for (i = 0; i < SESS_KICK_MAX; i++)
		if (s->fail.kick_ms[i] && s->fail.kick_ms[i] > since)
			n++;
	log_warn("session", "the platform closed the connection: kick %d of %d within %d s", n, max,
		 s->cfg->reconnect_kick_window_s);
	if (n < max)
		return 0;
	memset(s->fail.kick_ms, 0, sizeof s->fail.kick_ms);
	return 1;
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
	if (was_registered && session_fail_rows[s->fail.cause].kick && kick_counted(s)) {
		session_fail(s, SF_KICKED, why);
		return;
	}
	fail_decide(s, s->fail.cause, s->fail.cls, why);
}

/* A token refresh closed the connection: reconnects with the new token from
 * a timer (never from inside the old wsi's own callbacks). */
void session_fail_retry_soon(session *s)
{
	lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, retry_cb, 1);
}

/* A risk answer: counted, and its punish URL (data.url) kept to show the
 * seller: only a plain web address that fits; another answer's is kept. */
static void note_risk(session *s, const cJSON *data)
{
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(data, "url");
	const char *u = cJSON_IsString(url) ? url->valuestring : "";

	s->m.risk_answers++;
	if ((!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) && strlen(u) < sizeof s->fail.punish_url &&
	    !strpbrk(u, " \t\r\n\"'<>\\"))
		snprintf(s->fail.punish_url, sizeof s->fail.punish_url, "%s", u);
}

/* A call of the session other than its token fetch (a renewal, hasLogin, a
 * plugin's mtop call) says the login is dead (res MTOP_SESSION_EXPIRED) or
 * hit risk control (MTOP_RISK, its punish URL in data.url): FAILED of that
 * kind at once, closing a live connection first. detail (may be NULL) names
 * the call. Other results are not the session's business. */
void session_fail_platform(session *s, mtop_result res, const char *detail, const cJSON *data)
{
	if (s->stop.active || (res != MTOP_SESSION_EXPIRED && res != MTOP_RISK))
		return;
	if (res == MTOP_RISK)
		note_risk(s, data);
	if (s->m.state == SESS_FAILED && s->fail.kind == (res == MTOP_RISK ? SESS_FAIL_RISK : SESS_FAIL_LOGIN))
		return;   /* already there: its check timer stands */
	session_fail(s, res == MTOP_RISK ? SF_RISK : SF_SESSION_DEAD, detail);
}

/* mtop's on_result hook (ud is the session): every call of the session's
 * signed client but the token fetch (on_token decides that one) is watched
 * for a dead login or risk control. */
void session_fail_mtop_result(void *ud, const char *api, mtop_result res, const cJSON *data)
{
	session *s = ud;

	if (strcmp(api, SESSION_TOKEN_API))
		session_fail_platform(s, res, api, data);
	else if (res == MTOP_RISK)
		note_risk(s, data);     /* on_token fails the session */
}

/* The account registered: the kind of the last hard failure and its punish
 * URL are over (the kicks keep their window). */
void session_fail_registered(session *s)
{
	s->fail.kind = SESS_FAIL_NONE;
	s->fail.punish_url[0] = '\0';
}

/* A new login: everything the old one failed with is forgotten, kicks too. */
void session_fail_reset(session *s)
{
	session_fail_registered(s);
	memset(s->fail.kick_ms, 0, sizeof s->fail.kick_ms);
	bo_healthy(&s->fail.bs);
	s->m.retry = 0;
}

const char *session_fail_kind(const session *s)
{
	return session_fail_kind_name(s->fail.kind);
}

const char *session_punish_url(const session *s)
{
	return s->fail.kind == SESS_FAIL_RISK ? s->fail.punish_url : "";
}

int64_t session_next_check_ms(const session *s)
{
	return s->m.state == SESS_FAILED ? s->fail.next_check_ms : 0;
}
