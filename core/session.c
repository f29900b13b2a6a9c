/* SPDX-License-Identifier: MIT */
/*
 * core/session.c - one account's platform session (see session.h; its
 * files and struct session are described in session_int.h).
 *
 * Everything runs on the lws loop. A connection attempt goes: token (cache,
 * else mtop) -> connect -> /reg -> ackDiff + heartbeats + outbox flush. Every
 * way a connection can end funnels into conn_gone() from LWS_CALLBACK_WSI_DESTROY,
 * which lws raises exactly once per client wsi, including the accepted-but-
 * never-upgraded case that raises no other callback (docs/libraries.md §2).
 * Every failure goes through session_fail() and its row in the failure table
 * (core/session_fail.c).
 */
#include "session_int.h"
#include "codec.h"
#include "log.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAME (8u << 20)       /* larger frames are dropped (counted), the connection stays */
#define RX_KEEP (64u << 10)        /* a receive buffer grown past this is freed after its frame */

/* A turn that cannot open its batch (another process holds the database's
 * write lock) waits this long for it, then holds its frames, un-ACKed, and
 * tries again every SESS_HELD_RETRY_MS, up to platform.heartbeat_timeout_s
 * (see hold_frame). */
#define SESS_BATCH_WAIT_MS 200
#define SESS_HELD_RETRY_MS 100

/* Frames written in one WRITEABLE: at most this many, each at most this
 * long (see LWS_CALLBACK_CLIENT_WRITEABLE). */
#define SESS_WRITES_PER_CB 32
#define SESS_SMALL_FRAME 1024

static void stop_cb(lws_sorted_usec_list_t *sul);

/* The name of a state, "?" for a value out of range. */
const char *session_state_name(sess_state st)
{
	static const char *const n[] = {"DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING", "FAILED",
		"CLOSED"};

	return st <= SESS_CLOSED ? n[st] : "?";
}

/* Moves to state to (no-op when already there): logs it and tells on_state. */
void session_set_state(session *s, sess_state to, const char *why)
{
	sess_state from = s->m.state;

	if (from == to)
		return;
	s->m.state = to;
	log_info("session", "%s -> %s (%s)", session_state_name(from), session_state_name(to), why);
	if (s->h.on_state)
		s->h.on_state(s->h.ud, from, to, why);
}

/* The monotonic clock in microseconds. */
static int64_t now_us(void)
{
	return util_mono_us();
}

/* --- the connection -------------------------------------------------------- */

/* connect_timeout_s after the connect: kills a connection that is not
 * registered yet. */
static void deadline_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, conn.sul_deadline);

	if (s->conn.live && !s->conn.registered)
		session_fail(s, s->conn.established ? SF_REG_TIMEOUT : SF_CONNECT_TIMEOUT, NULL);
}

/* lws could not start the connection: counts it and retries later. */
static void connect_fail_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, fail.sul_retry);

	session_fail(s, SF_CONNECT_START, NULL);
}

/* Starts a connection attempt with the token in hand; a failure to start
 * retries from a timer. */
void session_connect(session *s)
{
	struct lws_client_connect_info i;
	char url[512];
	const char *prot, *addr, *path;
	char pathbuf[600];
	int port;

	if (s->conn.live || s->stop.active)
		return;
	snprintf(url, sizeof url, "%s", s->cfg->ws_url);
	if (lws_parse_uri(url, &prot, &addr, &port, &path)) {
		session_fail(s, SF_BAD_URL, NULL);
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
	i.pwsi = &s->conn.wsi;
	if (!strcmp(prot, "wss")) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (!s->cfg->tls_verify)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	s->conn.established = s->conn.registered = 0;
	s->fail.set = 0;
	s->fail.why[0] = '\0';
	sbuf_reset(&s->conn.rx);
	s->conn.live = 1;
	if (s->conn.attempts++ > 0)
		s->m.reconnects++;
	lws_sul_schedule(s->ctx, 0, &s->conn.sul_deadline, deadline_cb,
			 (lws_usec_t)s->cfg->connect_timeout_s * LWS_US_PER_SEC);
	if (!lws_client_connect_via_info(&i)) {
		s->conn.live = 0;
		s->conn.wsi = NULL;
		lws_sul_cancel(&s->conn.sul_deadline);
		/* never recurse from here: retry from a timer */
		lws_sul_schedule(s->ctx, 0, &s->fail.sul_retry, connect_fail_cb, 1);
	}
}

/* Frees a written frame and sets *f to NULL (no-op when already NULL). */
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

	if (!s->conn.live || !s->conn.wsi)
		return -1;
	f = calloc(1, sizeof *f);
	if (!f || !(f->buf = malloc(LWS_PRE + n))) {
		free(f);
		return -1;
	}
	memcpy(f->buf + LWS_PRE, txt, n);
	f->len = n;
	if (s->conn.oq_tail)
		s->conn.oq_tail->next = f;
	else
		s->conn.oq_head = f;
	s->conn.oq_tail = f;
	lws_callback_on_writable(s->conn.wsi);
	return 0;
}

static void req_timer(session *s);

/* Sends a request frame (taken over) and remembers its mid for
 * request_timeout_s. 0 or -1. */
int session_request(session *s, char *frame, const char *mid, req_kind kind, const char *uuid)
{
	return session_request_ms(s, frame, mid, kind, uuid, s->cfg->request_timeout_s * 1000);
}

/* session_request with its own timeout (ms). 0 or -1. */
int session_request_ms(session *s, char *frame, const char *mid, req_kind kind, const char *uuid, int timeout_ms)
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
	r->deadline_us = now_us() + (int64_t)timeout_ms * 1000;
	r->next = s->conn.reqs;
	s->conn.reqs = r;
	req_timer(s);
	return 0;
}

/* Takes the request waiting for mid off the list; NULL if none waits. */
static req *req_take(session *s, const char *mid)
{
	req **pp, *r;

	for (pp = &s->conn.reqs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->mid, mid)) {
			r = *pp;
			*pp = r->next;
			return r;
		}
	return NULL;
}

/* A request went unanswered: a send stays in the outbox and is retried under
 * the same uuid; an unanswered /reg ends the connection. */
static void req_expired(session *s, req *r)
{
	qsend *q;

	if (r->kind == REQ_BACKFILL) {
		session_backfill_expired(s);
	} else if (r->kind == REQ_SEND && (q = session_window_find(s, r->uuid))) {
		q->inflight = 0;
		log_warn("session", "send %s unanswered after %d s; will resend", r->uuid, s->cfg->request_timeout_s);
		session_pace(s);
	} else if (r->kind == REQ_REG) {
		session_fail(s, SF_REG_UNANSWERED, NULL);
	} else if (r->kind == REQ_CHAT) {
		session_chat_expired(s, r->mid);
	}
}

/* The earliest request deadline passed: handles every expired request
 * (req_expired) and arms the timer for the next one. */
static void req_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, conn.sul_req);
	int64_t now = now_us();
	req **pp = &s->conn.reqs, *r;

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

	for (r = s->conn.reqs; r; r = r->next)
		if (!first || r->deadline_us < first)
			first = r->deadline_us;
	if (first)
		lws_sul_schedule(s->ctx, 0, &s->conn.sul_req, req_cb, (lws_usec_t)(first > now ? first - now : 1));
	else
		lws_sul_cancel(&s->conn.sul_req);
}

/* Every heartbeat_interval_s while registered: fails the connection when no
 * heartbeat was answered for heartbeat_timeout_s, else sends the next one. */
static void hb_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, conn.sul_hb);
	char mid[LWP_MID_MAX];

	if (!s->conn.registered)
		return;
	if (now_us() - s->conn.last_hb_answer_us > (int64_t)s->cfg->heartbeat_timeout_s * 1000000) {
		session_fail(s, SF_HEARTBEAT, NULL);
		return;
	}
	if (session_request(s, lwp_heartbeat(mid), mid, REQ_HB, NULL) == 0)
		s->m.heartbeats_sent++;
	lws_sul_schedule(s->ctx, 0, &s->conn.sul_hb, hb_cb, (lws_usec_t)s->cfg->heartbeat_interval_s * LWS_US_PER_SEC);
}

/* Registered for reconnect_healthy_s: past failures are forgotten (the
 * backoff starts over). */
static void healthy_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, conn.sul_healthy);

	bo_healthy(&s->fail.bs);
	s->m.retry = 0;
}


/* /reg was accepted: CONNECTED, then ackDiff, the heartbeat and health
 * timers, the outbox read (first time) and the sends. */
static void registered(session *s)
{
	char mid[LWP_MID_MAX];

	s->conn.registered = 1;
	lws_sul_cancel(&s->conn.sul_deadline);
	s->m.connected_ms = util_now_ms();
	s->conn.last_hb_answer_us = now_us();
	session_fail_registered(s);
	session_set_state(s, SESS_CONNECTED, "registered");
	session_request(s, lwp_ackdiff(util_now_ms(), mid), mid, REQ_ACKDIFF, NULL);
	lws_sul_schedule(s->ctx, 0, &s->conn.sul_hb, hb_cb, (lws_usec_t)s->cfg->heartbeat_interval_s * LWS_US_PER_SEC);
	lws_sul_schedule(s->ctx, 0, &s->conn.sul_healthy, healthy_cb,
			 (lws_usec_t)s->cfg->reconnect_healthy_s * LWS_US_PER_SEC);
	session_window_load(s);
	session_pace(s);
	session_backfill_connected(s);
}


/* A push (already ACKed): decodes each item into an event, marks our own
 * sends' echoes, and hands it to on_event. A bad item is counted, logged and
 * skipped. */
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
			e.echo = session_echo_match(s, &e);
		session_backfill_seen(s, &e);
		s->m.events++;
		if (s->h.on_event)
			s->h.on_event(s->h.ud, &e);
		cJSON_Delete(tree);
	}
}

/* An answer to one of our requests, by its mid: /reg (registered, or the
 * token is refused), a heartbeat, a send. Answers nobody waits for are
 * ignored. */
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
			snprintf(why, sizeof why, "(code %d)", cJSON_IsNumber(code) ? code->valueint : -1);
			session_fail(s, SF_REG_REFUSED, why);
		}
		break;
	case REQ_HB:
		s->conn.last_hb_answer_us = now_us();
		s->m.heartbeats_answered++;
		break;
	case REQ_SEND:
		session_send_answered(s, r, f);
		break;
	case REQ_BACKFILL:
		session_backfill_answer(s, f);
		break;
	case REQ_CHAT:
		session_chat_answer(s, r->mid, f);
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

	if (s->bat.sends && s->cfg->kill_at && !strcmp(s->cfg->kill_at, "commit")) {
		log_warn("session", "debug.kill_at commit: SIGKILL before the commit of a batch with %d send(s)",
			 s->bat.sends);
		raise(SIGKILL);
	}
	s->bat.sends = 0;
	session_backfill_save(s);
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

/* The 1 us timer that ends the turn's batch before the loop polls again. */
static void batch_cb(lws_sorted_usec_list_t *sul)
{
	batch_end(lws_container_of(sul, session, bat.sul_batch));
}

/* See session.h. */
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
		if (!s->bat.blocked_since_us)
			s->bat.blocked_since_us = now_us();
		return -1;
	}
	s->bat.blocked_since_us = 0;
	if (rc == 0)
		lws_sul_schedule(s->ctx, 0, &s->bat.sul_batch, batch_cb, 1);
	return 0;
}

/* Frames held for a batch wait for them in order: timers' work waits too. */
int session_batch_begin(session *s)
{
	return s->bat.held_head ? -1 : batch_begin(s);
}

static void handle_frame_now(session *s, const char *txt, size_t len);

/* Drops the held frames (the connection they came on is gone: the platform
 * pushes again what was not ACKed, and resent sends get their answers anew). */
static void held_drop(session *s, const char *why)
{
	held_frame *h;

	if (s->bat.held_n)
		log_warn("session", "%d held frame(s) dropped un-ACKed (%s)", s->bat.held_n, why);
	while ((h = s->bat.held_head)) {
		s->bat.held_head = h->next;
		free(h);
	}
	s->bat.held_tail = NULL;
	s->bat.held_n = 0;
	lws_sul_cancel(&s->bat.sul_held);
}

/* Tries again to open the batch for the held frames, and handles them in
 * order once it opens. When none could be opened for longer than
 * platform.heartbeat_timeout_s (counted across reconnects, which drop the
 * held frames) the process ends (status 74): nothing was ACKed, the platform
 * pushes it all again. */
static void held_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, bat.sul_held);
	int64_t waited_ms = s->bat.blocked_since_us ? (now_us() - s->bat.blocked_since_us) / 1000 : 0;
	held_frame *h;
	int n = s->bat.held_n;

	if (!s->bat.held_head)
		return;
	if (batch_begin(s) < 0) {
		waited_ms = (now_us() - s->bat.blocked_since_us) / 1000;
		if (waited_ms > (int64_t)s->cfg->heartbeat_timeout_s * 1000) {
			log_err("session", "state.db: no transaction could be opened for %lld s (%s): another process "
				"holds its write lock; exiting (status 74) with %d frame(s) not ACKed (the platform "
				"pushes them again)", (long long)(waited_ms / 1000), store_errmsg(s->st), n);
			_exit(74);
		}
		lws_sul_schedule(s->ctx, 0, &s->bat.sul_held, held_cb, SESS_HELD_RETRY_MS * LWS_US_PER_MS);
		return;
	}
	log_info("session", "state.db is free again after %lld ms: handling the %d held frame(s)", (long long)waited_ms,
		 n);
	s->m.held_frames += n;
	while ((h = s->bat.held_head)) {
		s->bat.held_head = h->next;
		if (!s->bat.held_head)
			s->bat.held_tail = NULL;
		s->bat.held_n--;
		handle_frame_now(s, h->txt, h->len);
		free(h);
	}
	session_pace(s);
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
		for (r = s->conn.reqs; r && strcmp(r->mid, mid->valuestring); r = r->next)
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
	if (!s->bat.held_head) {
		log_warn("session", "state.db: no transaction could be opened (%s): another process holds its write "
			 "lock; frames are held, not ACKed, until it is free (at most %d s)", store_errmsg(s->st),
			 s->cfg->heartbeat_timeout_s);
		lws_sul_schedule(s->ctx, 0, &s->bat.sul_held, held_cb, SESS_HELD_RETRY_MS * LWS_US_PER_MS);
		s->bat.held_head = h;
	} else {
		s->bat.held_tail->next = h;
	}
	s->bat.held_tail = h;
	s->bat.held_n++;
}

/* One complete text frame, in its turn's batch; held (hold_frame) when the
 * batch cannot open, and so are the frames after it, to keep their order. */
static void handle_frame(session *s, const char *txt, size_t len)
{
	if (s->bat.held_head || batch_begin(s) < 0) {
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
	int was_registered = s->conn.registered, was_established = s->conn.established;
	qsend *q;

	s->conn.live = 0;
	s->conn.wsi = NULL;
	s->conn.registered = s->conn.established = 0;
	held_drop(s, "the connection is gone");
	session_backfill_gone(s);
	s->conn.close_pending = 0;
	lws_sul_cancel(&s->conn.sul_hb);
	lws_sul_cancel(&s->conn.sul_deadline);
	lws_sul_cancel(&s->conn.sul_healthy);
	lws_sul_cancel(&s->win.sul_pace);
	while (s->conn.oq_head) {
		out_frame *f = s->conn.oq_head;

		s->conn.oq_head = f->next;
		free(f->buf);
		free(f);
	}
	s->conn.oq_tail = NULL;
	out_free(&s->conn.oq_last);
	session_chat_gone(s);
	while (s->conn.reqs) {
		req *r = s->conn.reqs;

		s->conn.reqs = r->next;
		free(r);
	}
	lws_sul_cancel(&s->conn.sul_req);
	for (q = s->win.head; q; q = q->next)
		q->inflight = 0;       /* still in the outbox: resent after the next /reg */
	if (s->stop.active) {
		session_set_state(s, SESS_CLOSED, "stopped");
		lws_sul_schedule(s->ctx, 0, &s->stop.sul, stop_cb, 1);
		return;
	}
	if (s->tok.refreshing) {
		/* a clean reconnect with the new token, from a timer (never from
		 * inside this wsi's own callbacks) */
		s->tok.refreshing = 0;
		session_set_state(s, SESS_RECONNECTING, "token refreshed");
		session_fail_retry_soon(s);
		return;
	}
	session_fail_gone(s, was_registered, was_established);
}

/* A fragment of a received message: reassembled in s->conn.rx (a message
 * over MAX_FRAME is dropped and counted), and handled once complete. */
static void ws_receive(session *s, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		sbuf_reset(&s->conn.rx);
		s->conn.rx_drop = 0;
	}
	if (!s->conn.rx_drop && s->conn.rx.len + len > MAX_FRAME) {
		s->conn.rx_drop = 1;
		sbuf_reset(&s->conn.rx);
	}
	if (!s->conn.rx_drop)
		sbuf_add(&s->conn.rx, in, len);
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		if (s->conn.rx_drop) {
			s->m.bad_frames++;
			s->m.frames_in++;
			log_warn("session", "frame over %u bytes dropped", MAX_FRAME);
		} else {
			handle_frame(s, s->conn.rx.p ? s->conn.rx.p : "", s->conn.rx.len);
		}
		/* one big frame must not pin megabytes for the process's life */
		if (s->conn.rx.cap > RX_KEEP)
			sbuf_free(&s->conn.rx);
		else
			sbuf_reset(&s->conn.rx);
		s->conn.rx_drop = 0;
	}
}

/* The socket takes more: commits the turn's batch first (nothing goes on the
 * wire before what it follows from is durable), then writes queued frames,
 * or the close once they are all out. Returns 0, or -1 to close. */
static int ws_writeable(session *s, struct lws *wsi)
{
	out_frame *f;
	int n;

	/* nothing goes on the wire before what it follows from is durable */
	if (store_batch_open(s->st))
		batch_commit(s);
	/* With permessage-deflate lws keeps compressing a large frame from
	 * our buffer on later POLLOUTs before it calls us again. */
	out_free(&s->conn.oq_last);
	if (s->conn.close_pending && !s->conn.oq_head) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;
	}
	/* Small frames (the ACKs, most replies) go several per callback:
	 * a turn's ACKs and reply leave in one POLLOUT instead of one each.
	 * lws_send_pipe_choked() allows the next lws_write (it clears lws's
	 * back-to-back guard) only when the socket takes more and nothing is
	 * buffered; permessage-deflate compresses a frame this small at
	 * once, so none is still draining (issue 9, session 7 note). */
	for (n = 0; (f = s->conn.oq_head); n++) {
		if (n && (n >= SESS_WRITES_PER_CB || f->len > SESS_SMALL_FRAME ||
			  s->conn.oq_last->len > SESS_SMALL_FRAME || lws_send_pipe_choked(wsi)))
			break;
		s->conn.oq_head = f->next;
		if (!s->conn.oq_head)
			s->conn.oq_tail = NULL;
		out_free(&s->conn.oq_last);
		s->conn.oq_last = f;
		if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len) {
			session_fail(s, SF_WRITE, NULL);
			return -1;
		}
	}
	if (s->conn.oq_head || s->conn.close_pending)
		lws_callback_on_writable(wsi);
	return 0;
}

/* The lws callback of the platform connection (protocol "sk-lwp"); user is
 * the session (NULL for a wsi lws made on its own). Writes the handshake
 * headers, registers on upgrade, reassembles frames, writes the queued
 * frames after the batch commits, and records why the connection ends;
 * LWS_CALLBACK_WSI_DESTROY hands it to conn_gone. Returns 0, or -1 to close. */
static int session_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	session *s = user;
	char mid[LWP_MID_MAX], buf[200];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		char **p = in, *end = *p + len;

		if (!s)
			return -1;
		if ((size_t)(end - *p) < strlen(s->tok.mt.cookie) + 512)
			return -1;
		*p += lws_snprintf(*p, (size_t)(end - *p),
				   "Cookie: %s\r\nOrigin: https://www.goofish.com\r\nUser-Agent: %s\r\n"
				   "Pragma: no-cache\r\nCache-Control: no-cache\r\nAccept-Language: zh-CN,zh;q=0.9\r\n",
				   s->tok.mt.cookie, LWP_UA);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!s)
			return -1;
		s->conn.established = 1;
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
		if (session_request(s, lwp_reg(s->tok.token, s->tok.did, mid), mid, REQ_REG, NULL))
			return -1;
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (s)
			ws_receive(s, wsi, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return s ? ws_writeable(s, wsi) : 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (s) {
			session_fail(s, SF_CONNECT_ERROR, in ? (const char *)in : "error");
		}
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (s && len >= 2) {
			const unsigned char *c = in;

			snprintf(buf, sizeof buf, "%d %.*s", (c[0] << 8) | c[1],
				 (int)(len - 2 > 60 ? 60 : len - 2), (const char *)in + 2);
			session_fail(s, SF_PEER_CLOSE, buf);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (s)
			session_fail(s, s->conn.registered ? SF_CLOSED : SF_REG_CLOSED, NULL);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (s && s->conn.live)
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

const struct lws_protocols session_protocol = {"sk-lwp", session_ws_callback, 0, 0, 0, NULL, 0};

/* The reconnect policy and the request timeout, from the config (at start and on SIGHUP). */
static void session_policy(session *s)
{
	const config *cfg = s->cfg;
	int i;

	for (i = 0; i < 3; i++) {
		s->fail.bo.base_ms[i] = cfg->reconnect_base_ms[i];
		s->fail.bo.cap_ms[i] = cfg->reconnect_cap_ms[i];
	}
	s->fail.bo.jitter_pct = cfg->reconnect_jitter_pct;
	s->fail.bo.healthy_ms = cfg->reconnect_healthy_s * 1000;
	s->fail.bo.max_retries = cfg->reconnect_max_retries;
	s->tok.mt.timeout_s = cfg->request_timeout_s;
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
	bo_policy_default(&s->fail.bo);
	session_policy(s);
	s->tok.mt.ctx = ctx;
	s->tok.mt.vh = vh;
	s->tok.mt.api_url = cfg->api_url;
	s->tok.mt.tls_verify = cfg->tls_verify;
	s->tok.mt.on_cookie = session_cookie_saved;
	s->tok.mt.on_result = session_fail_mtop_result;
	s->tok.mt.ud = s;
	s->tok.mt.cookie = session_cookie_initial(s);
	s->win.pace_tokens = cfg->send_burst;
	s->win.pace_at_us = now_us();
	if (!s->tok.mt.cookie) {
		free(s);
		return NULL;
	}
	return s;
}

void session_reconfigure(session *s)
{
	session_policy(s);
	if (s->win.pace_tokens > s->cfg->send_burst)
		s->win.pace_tokens = s->cfg->send_burst;
	session_pace(s);
	if (!s->stop.active)
		session_renew_start(s);      /* session.renew_*: the next renewal by the new keys */
}


void session_start(session *s)
{
	session_window_start(s);
	session_token_begin(s, 0);
	session_renew_start(s);
}

/* Closes the connection with 1000 (the WRITEABLE after the last frame), or,
 * with none open, ends the stop now: CLOSED, done() called once. */
static void stop_close(session *s)
{
	if (s->conn.live && s->conn.wsi) {
		s->conn.close_pending = 1;
		lws_callback_on_writable(s->conn.wsi);
	} else {
		session_set_state(s, SESS_CLOSED, "stopped");
		if (s->stop.done)
			s->stop.done(s->stop.ud);
		s->stop.done = NULL;
	}
}

/* The stop's timer: done() once CLOSED; meanwhile waits (20 ms steps, up to
 * the deadline) for the window's sends while registered, then closes. */
static void stop_cb(lws_sorted_usec_list_t *sul)
{
	session *s = lws_container_of(sul, session, stop.sul);

	if (s->m.state == SESS_CLOSED) {
		if (s->stop.done)
			s->stop.done(s->stop.ud);
		s->stop.done = NULL;
		return;
	}
	/* Queued and in-flight sends go out while the connection is registered,
	 * up to the deadline; what is left stays in the outbox for the next run. */
	if (s->win.head && s->conn.live && s->conn.registered && !s->conn.close_pending && now_us() < s->stop.deadline_us) {
		lws_sul_schedule(s->ctx, 0, &s->stop.sul, stop_cb, 20 * LWS_US_PER_MS);
		return;
	}
	if (s->win.head)
		log_warn("session", "stopping with %lld send(s) not finished: kept in the outbox for the next start",
			 (long long)(s->win.len + s->win.backlog));
	stop_close(s);
}

void session_stop(session *s, int deadline_ms, void (*done)(void *ud), void *ud)
{
	s->stop.done = done;
	s->stop.ud = ud;
	s->stop.active = 1;
	lws_sul_cancel(&s->fail.sul_retry);
	lws_sul_cancel(&s->tok.sul_refresh);
	lws_sul_cancel(&s->win.sul_pace);
	lws_sul_cancel(&s->win.sul_prune);
	session_renew_stop(s);
	lws_sul_cancel(&s->bf.sul);
	if (s->tok.call) {
		mtop_cancel(s->tok.call);
		s->tok.call = NULL;
	}
	s->stop.deadline_us = now_us() + (int64_t)deadline_ms * 1000;
	lws_sul_schedule(s->ctx, 0, &s->stop.sul, stop_cb, 1);
}

/* Frees the session after the lws context is destroyed: only lists are
 * touched (a cancelled sul is already off them), never a wsi. */
void session_free(session *s)
{
	if (!s)
		return;
	lws_sul_cancel(&s->fail.sul_retry);
	lws_sul_cancel(&s->conn.sul_hb);
	lws_sul_cancel(&s->conn.sul_deadline);
	lws_sul_cancel(&s->win.sul_pace);
	lws_sul_cancel(&s->tok.sul_refresh);
	lws_sul_cancel(&s->conn.sul_req);
	lws_sul_cancel(&s->conn.sul_healthy);
	lws_sul_cancel(&s->stop.sul);
	lws_sul_cancel(&s->bat.sul_batch);
	lws_sul_cancel(&s->win.sul_prune);
	session_backfill_gone(s);
	held_drop(s, "the session ends");
	session_renew_free(s);
	if (s->tok.call)
		mtop_forget(s->tok.call);
	session_window_free(s);
	while (s->chat.head) {
		/* the plugins are gone (their opens were cancelled): nobody to tell */
		chat_wait *w = s->chat.head;

		s->chat.head = w->next;
		free(w);
	}
	while (s->conn.reqs) {
		req *r = s->conn.reqs;

		s->conn.reqs = r->next;
		free(r);
	}
	while (s->conn.oq_head) {
		out_frame *f = s->conn.oq_head;

		s->conn.oq_head = f->next;
		free(f->buf);
		free(f);
	}
	out_free(&s->conn.oq_last);
	sbuf_free(&s->conn.rx);
	free(s->tok.mt.cookie);
	free(s);
}

const sess_metrics *session_metrics(const session *s)
{
	return &s->m;
}

mtop_ctx *session_mtop(session *s)
{
	return &s->tok.mt;
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
	cJSON_AddNumberToObject(j, "renewals", (double)m->renewals);
	cJSON_AddNumberToObject(j, "renew_failures", (double)m->renew_failures);
	cJSON_AddNumberToObject(j, "backfill_runs", (double)m->backfill_runs);
	cJSON_AddNumberToObject(j, "backfill_done", (double)m->backfill_done);
	cJSON_AddNumberToObject(j, "backfilled", (double)m->backfilled);
	cJSON_AddNumberToObject(j, "backfill_flow_limited", (double)m->backfill_flow_limited);
	cJSON_AddNumberToObject(j, "backfill_gave_up", (double)m->backfill_gave_up);
	cJSON_AddNumberToObject(j, "backfill_seen_ms", (double)s->bf.seen_ms);
	cJSON_AddNumberToObject(j, "backfill_owed_from_ms", (double)s->bf.from_ms);
	cJSON_AddNumberToObject(j, "kicks", (double)m->kicks);
	cJSON_AddNumberToObject(j, "risk_answers", (double)m->risk_answers);
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
