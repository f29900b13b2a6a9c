/* SPDX-License-Identifier: MIT */
/*
 * core/session.c - one account's platform session (see session.h).
 *
 * Everything runs on the lws loop. A connection attempt goes: token (cache,
 * else mtop) -> connect -> /reg -> ackDiff + heartbeats + outbox flush. Every
 * way a connection can end funnels into conn_gone() from LWS_CALLBACK_WSI_DESTROY,
 * which lws raises exactly once per client wsi, including the accepted-but-
 * never-upgraded case that raises no other callback (docs/libraries.md §2).
 */
#include "session.h"
#include "secret.h"
#include "backoff.h"
#include "codec.h"
#include "log.h"
#include "lwp.h"
#include "mtop.h"
#include "sign.h"
#include "util.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_API "mtop.taobao.idlemessage.pc.login.token"
#define MAX_FRAME (8u << 20)       /* larger frames are dropped (counted), the connection stays */
#define RX_KEEP (64u << 10)        /* a receive buffer grown past this is freed after its frame */
#define ECHO_RING 128
#define TOKEN_MIN_LEFT_MS 10000     /* a cached token closer to expiry than this is not used */

/* A turn that cannot open its batch (another process holds the database's
 * write lock) waits this long for it, then holds its frames, un-ACKed, and
 * tries again every SESS_HELD_RETRY_MS, up to platform.heartbeat_timeout_s
 * (see hold_frame). */
#define SESS_BATCH_WAIT_MS 200
#define SESS_HELD_RETRY_MS 100

/* Finished outbox rows are pruned SESS_PRUNE_BATCH at a time: the first
 * batch SESS_PRUNE_FIRST_S after the start (the plugins have looked their
 * resumed sends up by then), then every SESS_PRUNE_EVERY_S, or after 1 s
 * while there is more. */
#define SESS_PRUNE_BATCH 500
#define SESS_PRUNE_FIRST_S 10
#define SESS_PRUNE_EVERY_S 600

/* Frames written in one WRITEABLE: at most this many, each at most this
 * long (see LWS_CALLBACK_CLIENT_WRITEABLE). */
#define SESS_WRITES_PER_CB 32
#define SESS_SMALL_FRAME 1024

typedef struct out_frame {
	struct out_frame *next;
	size_t len;
	unsigned char *buf;        /* LWS_PRE + len */
} out_frame;

typedef enum { REQ_REG, REQ_ACKDIFF, REQ_HB, REQ_SEND, REQ_OTHER } req_kind;

typedef struct req {
	struct req *next;
	char mid[LWP_MID_MAX];
	req_kind kind;
	char uuid[LWP_UUID_MAX];
	int64_t deadline_us;
} req;

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

typedef struct {
	char im_id[40];
	char cid[32];
	unsigned char text_hash[16];
} echo_rec;

struct session {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	const config *cfg;
	store *st;
	session_hooks h;
	mtop_ctx mt;
	mtop_call *token_call;
	char token[256];
	char did[LWP_DID_MAX];
	int64_t token_exp_ms;
	struct lws *wsi;
	int conn_live, established, registered;
	int refreshing;            /* a token refresh closes and reconnects at once */
	sbuf rx;
	int rx_drop;               /* the current message is over MAX_FRAME */
	out_frame *oq_head, *oq_tail;
	out_frame *oq_last;        /* written last: lws may still read it (permessage-deflate) */
	int close_pending;
	req *reqs;
	qsend *sq_head;
	int sq_len;                /* the window in memory, at most send.queue_max */
	int sq_loaded;             /* the outbox was read (first /reg) */
	int64_t sq_last_id;        /* the highest outbox id in the window */
	int64_t sq_backlog;        /* pending sends beyond the window, in the outbox only */
	int batch_sends;           /* sends queued in the open batch */
	double pace_tokens;
	int64_t pace_at_us;
	bo_policy bo;
	bo_state bs;
	sess_metrics m;
	int64_t last_hb_answer_us;
	char conn_err[160];
	int conn_err_set;
	bo_class conn_err_class;
	int stopping;
	int64_t stop_deadline_us;  /* sends in flight get until then */
	int64_t attempts;
	void (*stop_done)(void *ud);
	void *stop_ud;
	echo_rec echo[ECHO_RING];
	int echo_pos;
	held_frame *held_head, *held_tail;   /* frames waiting for a batch, in order */
	int held_n;
	int64_t blocked_since_us;  /* since when no batch could be opened (0: it could) */
	lws_sorted_usec_list_t sul_retry, sul_hb, sul_deadline, sul_pace, sul_refresh, sul_req,
		sul_healthy, sul_stop, sul_batch, sul_held, sul_prune;
};

static void begin(session *s, int force_fetch);
static void pace(session *s);
static void conn_kill(session *s, bo_class cls, const char *why);
static void stop_cb(lws_sorted_usec_list_t *sul);

const char *session_state_name(sess_state st)
{
	static const char *const n[] = {"DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING", "FAILED",
		"CLOSED"};

	return st <= SESS_CLOSED ? n[st] : "?";
}

static void set_state(session *s, sess_state to, const char *why)
{
	sess_state from = s->m.state;

	if (from == to)
		return;
	s->m.state = to;
	log_info("session", "%s -> %s (%s)", session_state_name(from), session_state_name(to), why);
	if (s->h.on_state)
		s->h.on_state(s->h.ud, from, to, why);
}

static int64_t now_us(void)
{
	return util_mono_us();
}

/* --- the merged cookie, kept across restarts ------------------------------ */

/* A hex digest of the configured cookie: the saved merged cookie only applies
 * while the config still holds the cookie it grew from. */
static void cookie_src_hash(const char *cookie, char out[33])
{
	unsigned char h[16];

	crypto_generichash(h, sizeof h, (const unsigned char *)cookie, strlen(cookie), NULL, 0);
	sodium_bin2hex(out, 33, h, sizeof h);
}

/* The merged cookie is saved sealed (secretbox, the account's key file) when
 * the config keeps its cookie encrypted, "sealed:<base64>": a Set-Cookie must
 * not put back in plaintext what account.cookie_secret keeps encrypted. */
#define COOKIE_SEALED "sealed:"

static void on_cookie(void *ud, const char *cookie)
{
	session *s = ud;
	char key[160], src[33], err[512];
	char *sealed = NULL, *val = NULL;

	if (s->cfg->cookie_secret) {
		if (secret_seal(s->cfg->key_file, cookie, &sealed, err, sizeof err) ||
		    asprintf(&val, COOKIE_SEALED "%s", sealed) < 0) {
			log_err("session", "cookie updated from Set-Cookie but not saved: %s", err);
			free(sealed);
			return;
		}
		free(sealed);
	}
	snprintf(key, sizeof key, "cookie:%s", s->cfg->account_id);
	cookie_src_hash(s->cfg->cookie, src);
	store_kv_set(s->st, key, val ? val : cookie);
	snprintf(key, sizeof key, "cookie_src:%s", s->cfg->account_id);
	store_kv_set(s->st, key, src);
	log_info("session", "cookie updated from Set-Cookie (saved%s)", val ? ", encrypted" : "");
	free(val);
}

static char *initial_cookie(session *s)
{
	char key[160], src[33], err[512], *saved = NULL, *saved_src = NULL, *open = NULL;

	cookie_src_hash(s->cfg->cookie, src);
	snprintf(key, sizeof key, "cookie_src:%s", s->cfg->account_id);
	if (store_kv_get(s->st, key, &saved_src) == 0 && !strcmp(saved_src, src)) {
		snprintf(key, sizeof key, "cookie:%s", s->cfg->account_id);
		if (store_kv_get(s->st, key, &saved) != 0)
			saved = NULL;
	}
	free(saved_src);
	if (saved && !strncmp(saved, COOKIE_SEALED, strlen(COOKIE_SEALED))) {
		const char *b = saved + strlen(COOKIE_SEALED);

		if (!s->cfg->key_file ||
		    secret_open(s->cfg->key_file, "the saved cookie", b, strlen(b), &open, err, sizeof err)) {
			log_warn("session", "%s; using the configured cookie", s->cfg->key_file ? err :
				 "the saved cookie is encrypted and no key file is configured");
			open = NULL;
		}
		free(saved);
		saved = open ? strdup(open) : NULL;
		secret_free(open);
	} else if (saved && s->cfg->cookie_secret) {
		/* saved in plaintext by an earlier run: seal it now */
		on_cookie(s, saved);
	}
	return saved ? saved : strdup(s->cfg->cookie);
}

/* --- failures and reconnects --------------------------------------------- */

static void retry_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_retry);

	if (!s->stopping)
		begin(s, s->m.state == SESS_FAILED);
}

/* Waits relogin_check_s and tries again: a human must act, but no hot loop. */
static void fail_hard(session *s, const char *why)
{
	snprintf(s->m.last_error, sizeof s->m.last_error, "%s", why);
	set_state(s, SESS_FAILED, why);
	log_err("session", "%s; checking again in %d s", why, s->cfg->relogin_check_s);
	lws_sul_schedule(s->ctx, 0, &s->sul_retry, retry_cb, (lws_usec_t)s->cfg->relogin_check_s * LWS_US_PER_SEC);
}

/* Counts a failure of class cls and schedules the next attempt. */
static void schedule_retry(session *s, bo_class cls, const char *why)
{
	int d;

	if (s->stopping)
		return;
	snprintf(s->m.last_error, sizeof s->m.last_error, "%s", why);
	d = bo_next(&s->bo, &s->bs, cls, NULL);
	s->m.retry = s->bs.total;
	if (d < 0) {
		char m[200];

		snprintf(m, sizeof m, "gave up after %d attempts: %s", s->bs.total, why);
		fail_hard(s, m);
		return;
	}
	set_state(s, SESS_RECONNECTING, why);
	log_warn("session", "%s; retry %d in %d ms (%s class)", why, s->bs.total, d,
		 cls == BO_NETWORK ? "network" : cls == BO_CLOSED ? "closed" : "other");
	lws_sul_schedule(s->ctx, 0, &s->sul_retry, retry_cb, (lws_usec_t)d * LWS_US_PER_MS);
}

/* --- the token ------------------------------------------------------------ */

static void connect_ws(session *s);

static void refresh_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_refresh);

	if (s->stopping || s->token_call)
		return;
	log_info("session", "token refresh before expiry");
	s->refreshing = 1;
	begin(s, 1);
}

/* Refreshes refresh_before_s (minus up to 20% jitter) before expiry. */
static void schedule_refresh(session *s)
{
	int64_t lead_ms = (int64_t)s->cfg->token_refresh_s * 1000, at;

	lead_ms += randombytes_uniform((uint32_t)(lead_ms / 5 + 1));
	at = s->token_exp_ms - lead_ms - util_now_ms();
	if (at < 1000)
		at = 1000;
	lws_sul_schedule(s->ctx, 0, &s->sul_refresh, refresh_cb, (lws_usec_t)at * LWS_US_PER_MS);
}

static void on_token(void *ud, mtop_result res, const char *ret, const cJSON *data, const char *why)
{
	session *s = ud;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(data, "accessToken");
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(data, "accessTokenExpiredTime");
	int64_t ttl_ms;
	char m[240];

	s->token_call = NULL;
	if (s->stopping)
		return;
	if (res == MTOP_OK && cJSON_IsString(tok) && strlen(tok->valuestring) < sizeof s->token) {
		ttl_ms = lwp_token_ttl_ms(ttl);
		snprintf(s->token, sizeof s->token, "%s", tok->valuestring);
		s->token_exp_ms = util_now_ms() + ttl_ms;
		store_token_set(s->st, s->cfg->account_id, s->token, s->did, s->token_exp_ms);
		log_info("session", "IM token received (valid %lld s)", (long long)(ttl_ms / 1000));
		schedule_refresh(s);
		if (s->refreshing && s->conn_live) {
			/* a clean reconnect with the new token */
			s->close_pending = 1;
			lws_callback_on_writable(s->wsi);
			return;
		}
		s->refreshing = 0;
		connect_ws(s);
		return;
	}
	s->refreshing = 0;
	snprintf(m, sizeof m, "token: %s%s%s", mtop_result_name(res), *ret ? ": " : "", *ret ? ret : (why ? why : ""));
	if (res == MTOP_SESSION_EXPIRED) {
		fail_hard(s, "needs re-login: the platform says the session expired");
	} else if (res == MTOP_RISK) {
		fail_hard(s, "risk control: log in with a browser and pass the check, then restart");
	} else if (s->conn_live) {
		/* a failed refresh keeps the working connection; try again later */
		log_warn("session", "%s (the connection stays up)", m);
		lws_sul_schedule(s->ctx, 0, &s->sul_refresh, refresh_cb, 300 * LWS_US_PER_SEC);
	} else {
		schedule_retry(s, res == MTOP_TRANSPORT ? BO_NETWORK : BO_OTHER, m);
	}
}

/* Starts a connection attempt: a valid cached token, else a new one. */
static void begin(session *s, int force_fetch)
{
	char *tok = NULL, *did = NULL, data[256];
	int64_t exp = 0;

	if (s->stopping || s->token_call)
		return;
	if (!s->conn_live)
		set_state(s, SESS_CONNECTING, force_fetch ? "fetching a token" : "connecting");
	if (!force_fetch && !s->token[0] &&
	    store_token_get(s->st, s->cfg->account_id, &tok, &did, &exp) == 0) {
		if (exp > util_now_ms() + TOKEN_MIN_LEFT_MS && strlen(tok) < sizeof s->token && strlen(did) < sizeof s->did) {
			snprintf(s->token, sizeof s->token, "%s", tok);
			snprintf(s->did, sizeof s->did, "%s", did);
			s->token_exp_ms = exp;
			log_info("session", "reusing the cached IM token (valid %lld s more)",
				 (long long)((exp - util_now_ms()) / 1000));
			schedule_refresh(s);
		}
		if (!s->did[0] && strlen(did) < sizeof s->did)
			snprintf(s->did, sizeof s->did, "%s", did);   /* keep the device */
	}
	free(tok);
	free(did);
	if (!force_fetch && s->token[0] && s->token_exp_ms > util_now_ms() + TOKEN_MIN_LEFT_MS) {
		connect_ws(s);
		return;
	}
	if (!s->did[0])
		lwp_device_id(s->cfg->unb, s->did);
	snprintf(data, sizeof data, "{\"appKey\":\"%s\",\"deviceId\":\"%s\"}", SIGN_IM_APPKEY, s->did);
	s->m.token_fetches++;
	s->token_call = mtop_start(&s->mt, TOKEN_API, data, on_token, s);
	if (!s->token_call)
		schedule_retry(s, BO_OTHER, "token: cannot start the request");
}

/* --- the connection -------------------------------------------------------- */

static void deadline_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_deadline);

	if (s->conn_live && !s->registered)
		conn_kill(s, BO_NETWORK, s->established ? "no answer to /reg" : "connect timeout (no upgrade)");
}

static void connect_fail_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_retry);

	schedule_retry(s, BO_NETWORK, "cannot start the connection");
}

static void connect_ws(session *s)
{
	struct lws_client_connect_info i;
	char url[512];
	const char *prot, *addr, *path;
	char pathbuf[600];
	int port;

	if (s->conn_live || s->stopping)
		return;
	snprintf(url, sizeof url, "%s", s->cfg->ws_url);
	if (lws_parse_uri(url, &prot, &addr, &port, &path)) {
		fail_hard(s, "platform.ws_url cannot be parsed");
		return;
	}
	snprintf(pathbuf, sizeof pathbuf, "/%s", path);
	memset(&i, 0, sizeof i);
	i.context = s->ctx;
	i.vhost = s->vh;
	i.address = addr;
	i.port = port;
	i.path = pathbuf;
	i.host = addr;
	i.origin = NULL;           /* written by hand: lws would prefix http:// */
	i.protocol = NULL;         /* the platform uses no subprotocol */
	i.local_protocol_name = session_protocol.name;
	i.userdata = s;
	i.pwsi = &s->wsi;
	if (!strcmp(prot, "wss")) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (!s->cfg->tls_verify)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	s->established = s->registered = 0;
	s->conn_err_set = 0;
	s->conn_err[0] = '\0';
	sbuf_reset(&s->rx);
	s->conn_live = 1;
	if (s->attempts++ > 0)
		s->m.reconnects++;
	lws_sul_schedule(s->ctx, 0, &s->sul_deadline, deadline_cb,
			 (lws_usec_t)s->cfg->connect_timeout_s * LWS_US_PER_SEC);
	if (!lws_client_connect_via_info(&i)) {
		s->conn_live = 0;
		s->wsi = NULL;
		lws_sul_cancel(&s->sul_deadline);
		/* never recurse from here: retry from a timer */
		lws_sul_schedule(s->ctx, 0, &s->sul_retry, connect_fail_cb, 1);
	}
}

/* Records why the connection ends (the first reason wins) and closes it. */
static void conn_kill(session *s, bo_class cls, const char *why)
{
	if (!s->conn_err_set) {
		s->conn_err_set = 1;
		s->conn_err_class = cls;
		snprintf(s->conn_err, sizeof s->conn_err, "%s", why);
	}
	if (s->wsi)
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void note_err(session *s, bo_class cls, const char *why)
{
	if (s->conn_err_set)
		return;
	s->conn_err_set = 1;
	s->conn_err_class = cls;
	snprintf(s->conn_err, sizeof s->conn_err, "%s", why);
}

static void out_free(out_frame **f)
{
	if (*f) {
		free((*f)->buf);
		free(*f);
		*f = NULL;
	}
}

/* Queues a frame (copied) and asks for a writeable callback. 0 or -1. */
static int enqueue(session *s, const char *txt)
{
	size_t n = strlen(txt);
	out_frame *f;

	if (!s->conn_live || !s->wsi)
		return -1;
	f = calloc(1, sizeof *f);
	if (!f || !(f->buf = malloc(LWS_PRE + n))) {
		free(f);
		return -1;
	}
	memcpy(f->buf + LWS_PRE, txt, n);
	f->len = n;
	if (s->oq_tail)
		s->oq_tail->next = f;
	else
		s->oq_head = f;
	s->oq_tail = f;
	lws_callback_on_writable(s->wsi);
	return 0;
}

static void req_timer(session *s);

/* Sends a request frame (taken over) and remembers its mid. */
static int request(session *s, char *frame, const char *mid, req_kind kind, const char *uuid)
{
	req *r;
	int rc;

	if (!frame)
		return -1;
	rc = enqueue(s, frame);
	free(frame);
	if (rc)
		return -1;
	r = calloc(1, sizeof *r);
	if (!r)
		return -1;
	snprintf(r->mid, sizeof r->mid, "%s", mid);
	r->kind = kind;
	snprintf(r->uuid, sizeof r->uuid, "%s", uuid ? uuid : "");
	r->deadline_us = now_us() + (int64_t)s->cfg->request_timeout_s * 1000000;
	r->next = s->reqs;
	s->reqs = r;
	req_timer(s);
	return 0;
}

static req *req_take(session *s, const char *mid)
{
	req **pp, *r;

	for (pp = &s->reqs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->mid, mid)) {
			r = *pp;
			*pp = r->next;
			return r;
		}
	return NULL;
}

static qsend *q_find(session *s, const char *uuid)
{
	qsend *q;

	for (q = s->sq_head; q; q = q->next)
		if (!strcmp(q->uuid, uuid))
			return q;
	return NULL;
}

static void q_remove(session *s, qsend *x)
{
	qsend **pp;

	for (pp = &s->sq_head; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			s->sq_len--;
			free(x->payload);
			free(x);
			return;
		}
}

/* A request went unanswered: a send stays in the outbox and is retried under
 * the same uuid; an unanswered /reg ends the connection. */
static void req_expired(session *s, req *r)
{
	qsend *q;

	if (r->kind == REQ_SEND && (q = q_find(s, r->uuid))) {
		q->inflight = 0;
		log_warn("session", "send %s unanswered after %d s; will resend", r->uuid, s->cfg->request_timeout_s);
		pace(s);
	} else if (r->kind == REQ_REG) {
		conn_kill(s, BO_OTHER, "no answer to /reg");
	}
}

static void req_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_req);
	int64_t now = now_us();
	req **pp = &s->reqs, *r;

	while (*pp) {
		if ((*pp)->deadline_us <= now) {
			r = *pp;
			*pp = r->next;
			req_expired(s, r);
			free(r);
		} else {
			pp = &(*pp)->next;
		}
	}
	req_timer(s);
}

/* Arms the request timer for the earliest deadline. */
static void req_timer(session *s)
{
	int64_t first = 0, now = now_us();
	req *r;

	for (r = s->reqs; r; r = r->next)
		if (!first || r->deadline_us < first)
			first = r->deadline_us;
	if (first)
		lws_sul_schedule(s->ctx, 0, &s->sul_req, req_cb, (lws_usec_t)(first > now ? first - now : 1));
	else
		lws_sul_cancel(&s->sul_req);
}

static void hb_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_hb);
	char mid[LWP_MID_MAX];

	if (!s->registered)
		return;
	if (now_us() - s->last_hb_answer_us > (int64_t)s->cfg->heartbeat_timeout_s * 1000000) {
		conn_kill(s, BO_NETWORK, "heartbeat timeout");
		return;
	}
	if (request(s, lwp_heartbeat(mid), mid, REQ_HB, NULL) == 0)
		s->m.heartbeats_sent++;
	lws_sul_schedule(s->ctx, 0, &s->sul_hb, hb_cb, (lws_usec_t)s->cfg->heartbeat_interval_s * LWS_US_PER_SEC);
}

static void healthy_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_healthy);

	bo_healthy(&s->bs);
	s->m.retry = 0;
}

/* Puts every pending outbox row into the send queue (once). */
static void outbox_row_cb(const outbox_row *r, void *ud)
{
	session *s = ud;
	qsend *q, **t;

	if (q_find(s, r->uuid))
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
	for (t = &s->sq_head; *t; t = &(*t)->next)
		;
	*t = q;
	s->sq_len++;
	if (r->id > s->sq_last_id)
		s->sq_last_id = r->id;
	if (r->attempts > 0)
		s->m.sends_resent++;
}

/* Fills the window (send.queue_max sends in memory) from the outbox in id
 * order: sends beyond it wait there, durable, and move up as others finish. */
static void q_refill(session *s)
{
	int room = s->cfg->send_queue_max - s->sq_len, n;

	if (room > 0 && s->sq_backlog > 0) {
		n = store_outbox_pending_from(s->st, s->sq_last_id, room, outbox_row_cb, s);
		if (n >= 0)
			s->sq_backlog = n < room ? 0 : s->sq_backlog - n;
	}
	s->m.sends_pending = s->sq_len + s->sq_backlog;
	s->m.sends_backlog = s->sq_backlog;
}

/* Reads the outbox at the first /reg: the pending sends of an earlier run
 * (and any queued before), the first send.queue_max of them into memory. */
static void q_load(session *s)
{
	int64_t n;

	if (s->sq_loaded || (n = store_outbox_pending_count(s->st)) < 0)
		return;
	s->sq_loaded = 1;
	s->sq_backlog = n - s->sq_len;
	q_refill(s);
}

static void registered(session *s)
{
	char mid[LWP_MID_MAX];

	s->registered = 1;
	lws_sul_cancel(&s->sul_deadline);
	s->m.connected_ms = util_now_ms();
	s->last_hb_answer_us = now_us();
	set_state(s, SESS_CONNECTED, "registered");
	request(s, lwp_ackdiff(util_now_ms(), mid), mid, REQ_ACKDIFF, NULL);
	lws_sul_schedule(s->ctx, 0, &s->sul_hb, hb_cb, (lws_usec_t)s->cfg->heartbeat_interval_s * LWS_US_PER_SEC);
	lws_sul_schedule(s->ctx, 0, &s->sul_healthy, healthy_cb,
			 (lws_usec_t)s->cfg->reconnect_healthy_s * LWS_US_PER_SEC);
	q_load(s);
	pace(s);
}

/* --- sending ---------------------------------------------------------------- */

static void echo_remember(session *s, const char *im_id, const char *cid, const char *text)
{
	echo_rec *e = &s->echo[s->echo_pos++ % ECHO_RING];

	snprintf(e->im_id, sizeof e->im_id, "%s", im_id ? im_id : "");
	snprintf(e->cid, sizeof e->cid, "%s", cid);
	crypto_generichash(e->text_hash, sizeof e->text_hash, (const unsigned char *)text, strlen(text), NULL, 0);
}

/* Whether an own-account message is an echo of one of our sends: by the IM id
 * the send's answer gave (the recent ones in memory, else the outbox: the
 * echo of a send an earlier run made, pushed again to this one, is ours too,
 * not a manual reply that pauses the chat - make soak saw that after kill -9),
 * or by chat and text for a send still in flight. */
static int echo_match(session *s, const ev *e)
{
	unsigned char h[16];
	qsend *q;
	int i;

	for (i = 0; i < ECHO_RING; i++)
		if (e->im_id[0] && !strcmp(s->echo[i].im_id, e->im_id))
			return 1;
	crypto_generichash(h, sizeof h, (const unsigned char *)e->text, strlen(e->text), NULL, 0);
	for (i = 0; i < ECHO_RING; i++)
		if (s->echo[i].cid[0] && !strcmp(s->echo[i].cid, e->chat_id) && !memcmp(s->echo[i].text_hash, h, 16))
			return 1;
	if (e->im_id[0] && store_outbox_sent_as(s->st, e->im_id) == 1)
		return 1;
	for (q = s->sq_head; q; q = q->next)
		if (!strcmp(q->cid, e->chat_id) && !strcmp(q->kind, "text") && !strcmp(q->payload, e->text))
			return 1;
	return 0;
}

static void pace_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_pace);

	pace(s);
}

/* Sends queued messages while the token bucket allows (send.rate_per_s 0:
 * no bucket, everything at once). */
static void pace(session *s)
{
	int64_t now = now_us();
	int unpaced = s->cfg->send_rate <= 0;
	qsend *q;

	if (!s->registered || s->close_pending)
		return;       /* while stopping, sends go on until the close begins */
	if (s->held_head)
		return;       /* the database is locked: counting an attempt would wait on it */
	s->pace_tokens += (double)(now - s->pace_at_us) / 1e6 * s->cfg->send_rate;
	if (s->pace_tokens > s->cfg->send_burst || unpaced)
		s->pace_tokens = s->cfg->send_burst;
	s->pace_at_us = now;
	for (q = s->sq_head; q; q = q->next) {
		char mid[LWP_MID_MAX], *f = NULL;

		if (q->inflight)
			continue;
		if (s->pace_tokens < 1 && !unpaced) {
			double wait = (1 - s->pace_tokens) / s->cfg->send_rate * 1e6;

			lws_sul_schedule(s->ctx, 0, &s->sul_pace, pace_cb, (lws_usec_t)wait + 1);
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
		if (!f || request(s, f, mid, REQ_SEND, q->uuid))
			return;
		q->inflight = 1;
		s->pace_tokens -= 1;
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

static int queue_send(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		      const char *kind, const char *payload, char *uuid_out)
{
	char uuid[LWP_UUID_MAX];
	outbox_row r;
	int64_t id;
	int tries = 0;

	if (strlen(cid) >= sizeof r.cid || strlen(buyer) >= sizeof r.buyer)
		return SESS_SEND_INVAL;
	if (s->sq_len + s->sq_backlog >= s->cfg->send_backlog_max)
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
		s->batch_sends++;
	if (uuid_out)
		snprintf(uuid_out, LWP_UUID_MAX, "%s", uuid);
	if (!s->sq_loaded) {
		s->m.sends_pending++;
		return 0;     /* read with the rest of the outbox at the first /reg */
	}
	if (s->sq_backlog > 0 || s->sq_len >= s->cfg->send_queue_max) {
		s->sq_backlog++;      /* behind the window: it moves up in order */
		q_refill(s);
		pace(s);
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
	s->m.sends_pending = s->sq_len + s->sq_backlog;
	pace(s);
	return 0;
}

int session_send_text(session *s, const char *plugin, const char *tag, const char *cid, const char *buyer,
		      const char *text, char *uuid_out)
{
	return queue_send(s, plugin, tag, cid, buyer, "text", text, uuid_out);
}

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
static void send_answered(session *s, const req *r, const cJSON *f)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code");
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(f, "body");
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(body, "messageId");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
	const cJSON *bcode = cJSON_GetObjectItemCaseSensitive(body, "code");
	qsend *q = q_find(s, r->uuid);
	char why[160];

	if (cJSON_IsNumber(code) && code->valueint == 200 && cJSON_IsString(mid) && !reason && !bcode) {
		store_outbox_done(s->st, r->uuid, mid->valuestring);
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
		s->m.sends_refused++;
		log_warn("session", "send %s refused: %s", r->uuid, why);
		if (s->h.on_send)
			s->h.on_send(s->h.ud, r->uuid, 0, why, q ? q->plugin : "", q ? q->tag : "");
	}
	if (q)
		q_remove(s, q);
	q_refill(s);
	pace(s);
}

/* --- receiving -------------------------------------------------------------- */

static void handle_push(session *s, const cJSON *f)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "body"), "syncPushPackage"), "data");
	const cJSON *it;
	int idx = 0;

	s->m.pushes++;
	cJSON_ArrayForEach(it, items) {
		const char *err;
		cJSON *tree;
		ev e;

		idx++;
		s->m.items++;
		if (event_from_push_item(it, s->cfg->unb, &e, &tree, &err)) {
			s->m.decode_errors++;
			log_warn("session", "push item %d: %s", idx, err);
			continue;
		}
		if (e.own)
			e.echo = echo_match(s, &e);
		s->m.events++;
		if (s->h.on_event)
			s->h.on_event(s->h.ud, &e);
		cJSON_Delete(tree);
	}
}

static void handle_response(session *s, const cJSON *f)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(f, "headers");
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(h, "mid");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(f, "code");
	req *r = cJSON_IsString(mid) ? req_take(s, mid->valuestring) : NULL;
	char why[80];

	if (!r)
		return;       /* an answer nobody waits for (late, or a server ACK) */
	switch (r->kind) {
	case REQ_REG:
		if (cJSON_IsNumber(code) && code->valueint == 200) {
			registered(s);
		} else {
			snprintf(why, sizeof why, "/reg refused (code %d)", cJSON_IsNumber(code) ? code->valueint : -1);
			store_token_clear(s->st, s->cfg->account_id);
			s->token[0] = '\0';
			conn_kill(s, BO_OTHER, why);
		}
		break;
	case REQ_HB:
		s->last_hb_answer_us = now_us();
		s->m.heartbeats_answered++;
		break;
	case REQ_SEND:
		send_answered(s, r, f);
		break;
	default:
		break;
	}
	free(r);
	req_timer(s);
}

/* Commits the batch of this loop turn. A failed commit lost writes whose
 * effects (ACKs, sends, the plugins' answers) are queued in memory: none of
 * them may go out, so the process ends at once, without a word on the wire;
 * the next start finds the state of the last commit and the platform pushes
 * again what it had not had ACKed. */
static void batch_commit(session *s)
{
	char err[256];

	if (s->batch_sends && s->cfg->kill_at && !strcmp(s->cfg->kill_at, "commit")) {
		log_warn("session", "debug.kill_at commit: SIGKILL before the commit of a batch with %d send(s)",
			 s->batch_sends);
		raise(SIGKILL);
	}
	s->batch_sends = 0;
	if (store_batch_commit_err(s->st, err, sizeof err) == 0)
		return;
	log_err("session", "state.db: %s; exiting (status 74) so that nothing goes out unrecorded", err);
	_exit(74);
}

/* Ends the open batch: the plugins' due timers run in it, then it commits. */
static void batch_end(session *s)
{
	if (!store_batch_open(s->st))
		return;
	if (s->h.on_batch_end)
		s->h.on_batch_end(s->h.ud);
	batch_commit(s);
}

static void batch_cb(lws_sorted_usec_list_t *sul)
{
	batch_end(lws_container_of(sul, session, sul_batch));
}

void session_barrier(session *s)
{
	if (s)
		batch_end(s);
}

/* Opens the batch for the frames of this turn; it commits before the loop
 * polls again (a 1 us timer runs first in the next service) and before any
 * frame is written. 0 when a batch is open, -1 when none could be opened
 * within SESS_BATCH_WAIT_MS (another process holds the write lock). */
static int batch_begin(session *s)
{
	int rc = store_batch_begin_wait(s->st, SESS_BATCH_WAIT_MS);

	if (rc < 0) {
		if (!s->blocked_since_us)
			s->blocked_since_us = now_us();
		return -1;
	}
	s->blocked_since_us = 0;
	if (rc == 0)
		lws_sul_schedule(s->ctx, 0, &s->sul_batch, batch_cb, 1);
	return 0;
}

/* Frames held for a batch wait for them in order: timers' work waits too. */
int session_batch_begin(session *s)
{
	return s->held_head ? -1 : batch_begin(s);
}

static void handle_frame_now(session *s, const char *txt, size_t len);

/* Drops the held frames (the connection they came on is gone: the platform
 * pushes again what was not ACKed, and resent sends get their answers anew). */
static void held_drop(session *s, const char *why)
{
	held_frame *h;

	if (s->held_n)
		log_warn("session", "%d held frame(s) dropped un-ACKed (%s)", s->held_n, why);
	while ((h = s->held_head)) {
		s->held_head = h->next;
		free(h);
	}
	s->held_tail = NULL;
	s->held_n = 0;
	lws_sul_cancel(&s->sul_held);
}

/* Tries again to open the batch for the held frames, and handles them in
 * order once it opens. When none could be opened for longer than
 * platform.heartbeat_timeout_s (counted across reconnects, which drop the
 * held frames) the process ends (status 74): nothing was ACKed, the platform
 * pushes it all again. */
static void held_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_held);
	int64_t waited_ms = s->blocked_since_us ? (now_us() - s->blocked_since_us) / 1000 : 0;
	held_frame *h;
	int n = s->held_n;

	if (!s->held_head)
		return;
	if (batch_begin(s) < 0) {
		waited_ms = (now_us() - s->blocked_since_us) / 1000;
		if (waited_ms > (int64_t)s->cfg->heartbeat_timeout_s * 1000) {
			log_err("session", "state.db: no transaction could be opened for %lld s (%s): another process "
				"holds its write lock; exiting (status 74) with %d frame(s) not ACKed (the platform "
				"pushes them again)", (long long)(waited_ms / 1000), store_errmsg(s->st), n);
			_exit(74);
		}
		lws_sul_schedule(s->ctx, 0, &s->sul_held, held_cb, SESS_HELD_RETRY_MS * LWS_US_PER_MS);
		return;
	}
	log_info("session", "state.db is free again after %lld ms: handling the %d held frame(s)", (long long)waited_ms,
		 n);
	s->m.held_frames += n;
	while ((h = s->held_head)) {
		s->held_head = h->next;
		if (!s->held_head)
			s->held_tail = NULL;
		s->held_n--;
		handle_frame_now(s, h->txt, h->len);
		free(h);
	}
	pace(s);
}

/* Keeps a frame whose turn could not open its batch: nothing of it is done
 * and nothing ACKed until the batch opens (held_cb). Heartbeat answers are
 * the exception: they write nothing, and the connection must live. */
static void hold_frame(session *s, const char *txt, size_t len)
{
	held_frame *h;
	cJSON *f = cJSON_ParseWithLength(txt, len);
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "headers"), "mid");
	const req *r;

	if (cJSON_IsObject(f) && !cJSON_GetObjectItemCaseSensitive(f, "lwp") && cJSON_IsString(mid)) {
		for (r = s->reqs; r && strcmp(r->mid, mid->valuestring); r = r->next)
			;
		if (r && r->kind == REQ_HB) {
			s->m.frames_in++;
			handle_response(s, f);
			cJSON_Delete(f);
			return;
		}
	}
	cJSON_Delete(f);
	if (!(h = malloc(sizeof *h + len + 1))) {
		/* not ACKed either: the platform pushes it again */
		log_err("session", "a frame of %zu bytes dropped un-ACKed while state.db is locked (out of memory)", len);
		return;
	}
	h->next = NULL;
	h->len = len;
	memcpy(h->txt, txt, len);
	h->txt[len] = '\0';
	if (!s->held_head) {
		log_warn("session", "state.db: no transaction could be opened (%s): another process holds its write "
			 "lock; frames are held, not ACKed, until it is free (at most %d s)", store_errmsg(s->st),
			 s->cfg->heartbeat_timeout_s);
		lws_sul_schedule(s->ctx, 0, &s->sul_held, held_cb, SESS_HELD_RETRY_MS * LWS_US_PER_MS);
		s->held_head = h;
	} else {
		s->held_tail->next = h;
	}
	s->held_tail = h;
	s->held_n++;
}

/* One complete text frame, in its turn's batch; held (hold_frame) when the
 * batch cannot open, and so are the frames after it, to keep their order. */
static void handle_frame(session *s, const char *txt, size_t len)
{
	if (s->held_head || batch_begin(s) < 0) {
		hold_frame(s, txt, len);
		return;
	}
	handle_frame_now(s, txt, len);
}

/* One complete text frame, with the batch open. Pushes are ACKed before
 * anything else is done with them, even when their items turn out to be
 * garbage (the ACK goes out after the batch commits). */
static void handle_frame_now(session *s, const char *txt, size_t len)
{
	const char *err = NULL;
	cJSON *f;
	const cJSON *lwp;

	f = codec_json_parse(txt, len, &err);

	s->m.frames_in++;
	s->m.last_msg_ms = util_now_ms();
	if (!cJSON_IsObject(f)) {
		s->m.bad_frames++;
		log_warn("session", "frame of %zu bytes is not a JSON object (%s); dropped", len, err ? err : "not an object");
		cJSON_Delete(f);
		/* A push we cannot read (e.g. invalid UTF-8) is still ACKed when its
		 * headers can be made out, or the platform would push it forever. */
		f = cJSON_ParseWithLength(txt, len);
		lwp = cJSON_GetObjectItemCaseSensitive(f, "lwp");
		if (cJSON_IsString(lwp) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(f, "headers"))) {
			char *ack = lwp_ack(cJSON_GetObjectItemCaseSensitive(f, "headers"));

			if (ack && !enqueue(s, ack))
				s->m.frames_out++;
			free(ack);
		}
		cJSON_Delete(f);
		return;
	}
	lwp = cJSON_GetObjectItemCaseSensitive(f, "lwp");
	if (cJSON_IsString(lwp)) {
		char *ack = lwp_ack(cJSON_GetObjectItemCaseSensitive(f, "headers"));

		if (ack) {
			enqueue(s, ack);
			s->m.frames_out++;
		}
		free(ack);
		if (!strncmp(lwp->valuestring, "/s/", 3))
			handle_push(s, f);
	} else {
		handle_response(s, f);
	}
	cJSON_Delete(f);
}

/* The connection is gone, whatever the way: clean up and decide what next. */
static void conn_gone(session *s)
{
	int was_registered = s->registered, was_established = s->established;
	bo_class cls;
	char why[200];
	qsend *q;

	s->conn_live = 0;
	s->wsi = NULL;
	s->registered = s->established = 0;
	held_drop(s, "the connection is gone");
	s->close_pending = 0;
	lws_sul_cancel(&s->sul_hb);
	lws_sul_cancel(&s->sul_deadline);
	lws_sul_cancel(&s->sul_healthy);
	lws_sul_cancel(&s->sul_pace);
	while (s->oq_head) {
		out_frame *f = s->oq_head;

		s->oq_head = f->next;
		free(f->buf);
		free(f);
	}
	s->oq_tail = NULL;
	out_free(&s->oq_last);
	while (s->reqs) {
		req *r = s->reqs;

		s->reqs = r->next;
		free(r);
	}
	lws_sul_cancel(&s->sul_req);
	for (q = s->sq_head; q; q = q->next)
		q->inflight = 0;       /* still in the outbox: resent after the next /reg */
	if (s->stopping) {
		set_state(s, SESS_CLOSED, "stopped");
		lws_sul_schedule(s->ctx, 0, &s->sul_stop, stop_cb, 1);
		return;
	}
	if (s->refreshing) {
		/* a clean reconnect with the new token, from a timer (never from
		 * inside this wsi's own callbacks) */
		s->refreshing = 0;
		set_state(s, SESS_RECONNECTING, "token refreshed");
		lws_sul_schedule(s->ctx, 0, &s->sul_retry, retry_cb, 1);
		return;
	}
	if (s->conn_err_set) {
		cls = s->conn_err_class;
		snprintf(why, sizeof why, "%s", s->conn_err);
	} else if (was_registered) {
		cls = BO_CLOSED;
		snprintf(why, sizeof why, "connection closed");
	} else if (was_established) {
		/* closed right after /reg: the token was refused (docs/protocol.md §4.1) */
		cls = BO_OTHER;
		snprintf(why, sizeof why, "closed during /reg: token refused");
	} else {
		cls = BO_NETWORK;
		snprintf(why, sizeof why, "connection failed");
	}
	if (!was_registered && was_established) {
		store_token_clear(s->st, s->cfg->account_id);
		s->token[0] = '\0';
	}
	schedule_retry(s, cls, why);
}

static int lwp_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	session *s = user;
	char mid[LWP_MID_MAX], buf[200];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		char **p = in, *end = *p + len;

		if (!s)
			return -1;
		if ((size_t)(end - *p) < strlen(s->mt.cookie) + 512)
			return -1;
		*p += lws_snprintf(*p, (size_t)(end - *p),
				   "Cookie: %s\r\nOrigin: https://www.goofish.com\r\nUser-Agent: %s\r\n"
				   "Pragma: no-cache\r\nCache-Control: no-cache\r\nAccept-Language: zh-CN,zh;q=0.9\r\n",
				   s->mt.cookie, LWP_UA);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!s)
			return -1;
		s->established = 1;
		/* Our offer (run.c) has client_no_context_takeover, and a peer that
		 * accepts it holds us to it: lws then makes and frees a compressor
		 * for every frame we send, by default a 15-bit
		 * window and memLevel 8 (~260 KB, its hash table zeroed each time),
		 * and Huffman-codes each ACK: 15% of the CPU of make bench. Level 0
		 * sends stored deflate blocks (RSV1 frames the platform inflates as
		 * ever, a few bytes longer), and the small window and memLevel (~6 KB)
		 * make the per-frame compressor cheap; a sender may use a smaller
		 * window than was negotiated (RFC 7692 7.1.2.2). No-op without pmd. */
		lws_set_extension_option(wsi, "permessage-deflate", "client_max_window_bits", "10");
		lws_set_extension_option(wsi, "permessage-deflate", "mem_level", "1");
		lws_set_extension_option(wsi, "permessage-deflate", "compression_level", "0");
		log_info("session", "WebSocket open; registering");
		if (request(s, lwp_reg(s->token, s->did, mid), mid, REQ_REG, NULL))
			return -1;
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!s)
			return 0;
		if (lws_is_first_fragment(wsi)) {
			sbuf_reset(&s->rx);
			s->rx_drop = 0;
		}
		if (!s->rx_drop && s->rx.len + len > MAX_FRAME) {
			s->rx_drop = 1;
			sbuf_reset(&s->rx);
		}
		if (!s->rx_drop)
			sbuf_add(&s->rx, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			if (s->rx_drop) {
				s->m.bad_frames++;
				s->m.frames_in++;
				log_warn("session", "frame over %u bytes dropped", MAX_FRAME);
			} else {
				handle_frame(s, s->rx.p ? s->rx.p : "", s->rx.len);
			}
			/* one big frame must not pin megabytes for the process's life */
			if (s->rx.cap > RX_KEEP)
				sbuf_free(&s->rx);
			else
				sbuf_reset(&s->rx);
			s->rx_drop = 0;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		out_frame *f;
		int n;

		if (!s)
			return 0;
		/* nothing goes on the wire before what it follows from is durable */
		if (store_batch_open(s->st))
			batch_commit(s);
		/* With permessage-deflate lws keeps compressing a large frame from
		 * our buffer on later POLLOUTs before it calls us again. */
		out_free(&s->oq_last);
		if (s->close_pending && !s->oq_head) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
			return -1;
		}
		/* Small frames (the ACKs, most replies) go several per callback:
		 * a turn's ACKs and reply leave in one POLLOUT instead of one each.
		 * lws_send_pipe_choked() allows the next lws_write (it clears lws's
		 * back-to-back guard) only when the socket takes more and nothing is
		 * buffered; permessage-deflate compresses a frame this small at
		 * once, so none is still draining (issue 9, session 7 note). */
		for (n = 0; (f = s->oq_head); n++) {
			if (n && (n >= SESS_WRITES_PER_CB || f->len > SESS_SMALL_FRAME ||
				  s->oq_last->len > SESS_SMALL_FRAME || lws_send_pipe_choked(wsi)))
				break;
			s->oq_head = f->next;
			if (!s->oq_head)
				s->oq_tail = NULL;
			out_free(&s->oq_last);
			s->oq_last = f;
			if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len) {
				note_err(s, BO_NETWORK, "write failed");
				return -1;
			}
		}
		if (s->oq_head || s->close_pending)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (s) {
			snprintf(buf, sizeof buf, "connect: %s", in ? (const char *)in : "error");
			note_err(s, bo_classify(in), buf);
		}
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (s && len >= 2) {
			const unsigned char *c = in;

			snprintf(buf, sizeof buf, "closed by the platform with %d %.*s", (c[0] << 8) | c[1],
				 (int)(len - 2 > 60 ? 60 : len - 2), (const char *)in + 2);
			note_err(s, BO_CLOSED, buf);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (s)
			note_err(s, s->registered ? BO_CLOSED : BO_OTHER, s->registered ? "connection closed" :
				 "closed during /reg: token refused");
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (s && s->conn_live)
			conn_gone(s);
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* The vhost's client SSL_CTX (user), made without the OS CA bundle
		 * (run.c): trust the OS CA directory (SSL_CERT_DIR, else OpenSSL's,
		 * /etc/ssl/certs on Debian), looked up by hash per chain. */
		if (!SSL_CTX_set_default_verify_dir((SSL_CTX *)user))
			log_err("session", "cannot use the system's CA certificates: TLS connections will fail");
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols session_protocol = {"sk-lwp", lwp_callback, 0, 0, 0, NULL, 0};

/* The reconnect policy and the request timeout, from the config (at start and on SIGHUP). */
static void session_policy(session *s)
{
	const config *cfg = s->cfg;
	int i;

	for (i = 0; i < 3; i++) {
		s->bo.base_ms[i] = cfg->reconnect_base_ms[i];
		s->bo.cap_ms[i] = cfg->reconnect_cap_ms[i];
	}
	s->bo.jitter_pct = cfg->reconnect_jitter_pct;
	s->bo.healthy_ms = cfg->reconnect_healthy_s * 1000;
	s->bo.max_retries = cfg->reconnect_max_retries;
	s->mt.timeout_s = cfg->request_timeout_s;
}

/* --- lifecycle ------------------------------------------------------------------ */

session *session_new(struct lws_context *ctx, struct lws_vhost *vh, const config *cfg, store *st,
		     const session_hooks *hooks)
{
	session *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->ctx = ctx;
	s->vh = vh;
	s->cfg = cfg;
	s->st = st;
	if (hooks)
		s->h = *hooks;
	bo_policy_default(&s->bo);
	session_policy(s);
	s->mt.ctx = ctx;
	s->mt.vh = vh;
	s->mt.api_url = cfg->api_url;
	s->mt.tls_verify = cfg->tls_verify;
	s->mt.on_cookie = on_cookie;
	s->mt.ud = s;
	s->mt.cookie = initial_cookie(s);
	s->pace_tokens = cfg->send_burst;
	s->pace_at_us = now_us();
	if (!s->mt.cookie) {
		free(s);
		return NULL;
	}
	return s;
}

void session_reconfigure(session *s)
{
	session_policy(s);
	if (s->pace_tokens > s->cfg->send_burst)
		s->pace_tokens = s->cfg->send_burst;
	pace(s);
}

/* Deletes a batch of the sends that finished more than send.outbox_keep_days
 * ago, and comes back in 1 s while there are more, else in
 * SESS_PRUNE_EVERY_S. Kept that long: an echo pushed again is still known
 * as ours (store_outbox_sent_as), a plugin's send_find/send_status still
 * see how its send ended. */
static void prune_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_prune);
	int64_t before = util_now_ms() - (int64_t)s->cfg->send_outbox_keep_days * 86400000;
	int n = store_outbox_prune(s->st, before, SESS_PRUNE_BATCH);

	if (n > 0) {
		s->m.outbox_pruned += n;
		log_debug("session", "outbox: %d send(s) finished over %d days ago deleted", n,
			  s->cfg->send_outbox_keep_days);
	}
	lws_sul_schedule(s->ctx, 0, &s->sul_prune, prune_cb,
			 (lws_usec_t)(n == SESS_PRUNE_BATCH ? 1 : SESS_PRUNE_EVERY_S) * LWS_US_PER_SEC);
}

void session_start(session *s)
{
	lws_sul_schedule(s->ctx, 0, &s->sul_prune, prune_cb, (lws_usec_t)SESS_PRUNE_FIRST_S * LWS_US_PER_SEC);
	begin(s, 0);
}

static void stop_close(session *s)
{
	if (s->conn_live && s->wsi) {
		s->close_pending = 1;
		lws_callback_on_writable(s->wsi);
	} else {
		set_state(s, SESS_CLOSED, "stopped");
		if (s->stop_done)
			s->stop_done(s->stop_ud);
		s->stop_done = NULL;
	}
}

static void stop_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, sul_stop);

	if (s->m.state == SESS_CLOSED) {
		if (s->stop_done)
			s->stop_done(s->stop_ud);
		s->stop_done = NULL;
		return;
	}
	/* Queued and in-flight sends go out while the connection is registered,
	 * up to the deadline; what is left stays in the outbox for the next run. */
	if (s->sq_head && s->conn_live && s->registered && !s->close_pending && now_us() < s->stop_deadline_us) {
		lws_sul_schedule(s->ctx, 0, &s->sul_stop, stop_cb, 20 * LWS_US_PER_MS);
		return;
	}
	if (s->sq_head)
		log_warn("session", "stopping with %lld send(s) not finished: kept in the outbox for the next start",
			 (long long)(s->sq_len + s->sq_backlog));
	stop_close(s);
}

void session_stop(session *s, int deadline_ms, void (*done)(void *ud), void *ud)
{
	s->stop_done = done;
	s->stop_ud = ud;
	s->stopping = 1;
	lws_sul_cancel(&s->sul_retry);
	lws_sul_cancel(&s->sul_refresh);
	lws_sul_cancel(&s->sul_pace);
	lws_sul_cancel(&s->sul_prune);
	if (s->token_call) {
		mtop_cancel(s->token_call);
		s->token_call = NULL;
	}
	s->stop_deadline_us = now_us() + (int64_t)deadline_ms * 1000;
	lws_sul_schedule(s->ctx, 0, &s->sul_stop, stop_cb, 1);
}

/* Frees the session after the lws context is destroyed: only lists are
 * touched (a cancelled sul is already off them), never a wsi. */
void session_free(session *s)
{
	qsend *q;

	if (!s)
		return;
	lws_sul_cancel(&s->sul_retry);
	lws_sul_cancel(&s->sul_hb);
	lws_sul_cancel(&s->sul_deadline);
	lws_sul_cancel(&s->sul_pace);
	lws_sul_cancel(&s->sul_refresh);
	lws_sul_cancel(&s->sul_req);
	lws_sul_cancel(&s->sul_healthy);
	lws_sul_cancel(&s->sul_stop);
	lws_sul_cancel(&s->sul_batch);
	lws_sul_cancel(&s->sul_prune);
	held_drop(s, "the session ends");
	if (s->token_call)
		mtop_forget(s->token_call);
	while ((q = s->sq_head)) {
		s->sq_head = q->next;
		free(q->payload);
		free(q);
	}
	while (s->reqs) {
		req *r = s->reqs;

		s->reqs = r->next;
		free(r);
	}
	while (s->oq_head) {
		out_frame *f = s->oq_head;

		s->oq_head = f->next;
		free(f->buf);
		free(f);
	}
	out_free(&s->oq_last);
	sbuf_free(&s->rx);
	free(s->mt.cookie);
	free(s);
}

const sess_metrics *session_metrics(const session *s)
{
	return &s->m;
}

mtop_ctx *session_mtop(session *s)
{
	return &s->mt;
}

char *session_metrics_json(const session *s)
{
	const sess_metrics *m = &s->m;
	cJSON *j = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(j, "state", session_state_name(m->state));
	cJSON_AddNumberToObject(j, "reconnects", (double)m->reconnects);
	cJSON_AddNumberToObject(j, "retry", m->retry);
	cJSON_AddNumberToObject(j, "connected_ms", (double)m->connected_ms);
	cJSON_AddNumberToObject(j, "last_msg_ms", (double)m->last_msg_ms);
	cJSON_AddStringToObject(j, "last_error", m->last_error);
	cJSON_AddNumberToObject(j, "frames_in", (double)m->frames_in);
	cJSON_AddNumberToObject(j, "frames_out", (double)m->frames_out);
	cJSON_AddNumberToObject(j, "pushes", (double)m->pushes);
	cJSON_AddNumberToObject(j, "items", (double)m->items);
	cJSON_AddNumberToObject(j, "events", (double)m->events);
	cJSON_AddNumberToObject(j, "decode_errors", (double)m->decode_errors);
	cJSON_AddNumberToObject(j, "bad_frames", (double)m->bad_frames);
	cJSON_AddNumberToObject(j, "sends_acked", (double)m->sends_acked);
	cJSON_AddNumberToObject(j, "sends_refused", (double)m->sends_refused);
	cJSON_AddNumberToObject(j, "sends_pending", (double)m->sends_pending);
	cJSON_AddNumberToObject(j, "sends_backlog", (double)m->sends_backlog);
	cJSON_AddNumberToObject(j, "held_frames", (double)m->held_frames);
	cJSON_AddNumberToObject(j, "outbox_pruned", (double)m->outbox_pruned);
	cJSON_AddNumberToObject(j, "sends_resent", (double)m->sends_resent);
	cJSON_AddNumberToObject(j, "heartbeats_sent", (double)m->heartbeats_sent);
	cJSON_AddNumberToObject(j, "heartbeats_answered", (double)m->heartbeats_answered);
	cJSON_AddNumberToObject(j, "token_fetches", (double)m->token_fetches);
	cJSON_AddNumberToObject(j, "db_commits", (double)store_commits(s->st));
	cJSON_AddNumberToObject(j, "db_batches", (double)store_batches(s->st));
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

void session_log_metrics(const session *s)
{
	const sess_metrics *m = &s->m;

	log_info("metrics", "state=%s reconnects=%lld retry=%d connected_age_s=%lld last_msg_age_s=%lld "
		 "frames_in=%lld frames_out=%lld pushes=%lld items=%lld events=%lld decode_errors=%lld "
		 "bad_frames=%lld sends_acked=%lld sends_refused=%lld sends_pending=%lld heartbeats=%lld/%lld "
		 "token_fetches=%lld last_error=\"%s\"",
		 session_state_name(m->state), (long long)m->reconnects, m->retry,
		 (long long)(m->connected_ms ? (util_now_ms() - m->connected_ms) / 1000 : -1),
		 (long long)(m->last_msg_ms ? (util_now_ms() - m->last_msg_ms) / 1000 : -1),
		 (long long)m->frames_in, (long long)m->frames_out, (long long)m->pushes, (long long)m->items,
		 (long long)m->events, (long long)m->decode_errors, (long long)m->bad_frames,
		 (long long)m->sends_acked, (long long)m->sends_refused, (long long)m->sends_pending,
		 (long long)m->heartbeats_answered, (long long)m->heartbeats_sent, (long long)m->token_fetches,
		 m->last_error);
}
