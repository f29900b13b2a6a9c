/* SPDX-License-Identifier: MIT */
/*
 * core/web.c - the web page's server (core/web.h): lws plumbing only; what a
 * request means is core/api.c's.
 *
 * One vhost "web" on web.listen, IPv4 only (techniques.md P1: with IPv6 on,
 * "127.0.0.1" would bind every interface). Its one protocol "sk-web" is
 * protocols[0], so it is the default one: it answers the /api mount's HTTP
 * requests, the file mount's misses (404) and the WebSocket upgrades of
 * /api/events (a browser's new WebSocket(url) names no subprotocol). The
 * file mount serves web.root with the security headers lws adds under
 * HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE (a CSP without inline script).
 *
 * Requests to /api must name this host in Host (127.0.0.1:<port> or
 * localhost:<port>): a page on another site that rebinds its DNS name to
 * 127.0.0.1 is refused (403). The WebSocket also needs an Origin of this
 * host and a logged-in session cookie. A login (and the setup, the same
 * request) with an Origin of another site is refused (403): browsers send
 * Origin with every cross-origin POST, so a page elsewhere cannot guess
 * passwords through the seller's browser; without Origin (curl) it goes on.
 * Bodies need a Content-Length (411) and at most API_MAX_BODY bytes (413,
 * and the connection is closed).
 *
 * The answer to a failed login waits the delay auth.c asks for, on a timer
 * of its connection (the loop never sleeps); at most WEB_DELAYED_MAX wait at
 * once (auth.c's AUTH_PENDING_MAX slots keep it lower), more are answered
 * at once.
 *
 * An events WebSocket lives only as long as its session: the socket is
 * closed (1008) as soon as its session is gone - logout, idle or absolute
 * expiry, or a password changed by shopkeep passwd (seen by the
 * WEB_SWEEP_MS timer, which re-reads the password). A line is never written
 * to a socket whose session has ended.
 *
 * Each events client has a queue of lines capped at WEB_QUEUE_MAX; a client
 * too slow to keep up loses its oldest lines (counted) rather than growing
 * the process.
 */
#include "web.h"
#include "log.h"
#include "util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEB_QUEUE_MAX 256
#define WEB_WS_MAX 65536
#define WEB_CLIENTS_MAX 16
#define WEB_DELAYED_MAX 8
#define WEB_SWEEP_MS 1000

typedef struct web_line {
	struct web_line *next;
	size_t len;
	unsigned char buf[];     /* LWS_PRE + len */
} web_line;

typedef struct web_pss {
	struct web_pss *next;    /* the events clients */
	int ws;                  /* an events WebSocket */
	/* HTTP */
	char path[256];
	int method;
	sbuf body;
	int too_big, close_after;
	unsigned char *resp;
	size_t resp_len;
	/* an answer held back (a failed login) until sul_answer fires */
	lws_sorted_usec_list_t sul_answer;
	api_resp held;
	int delayed;
	/* WebSocket */
	struct lws *wsi;
	char cookie[80];         /* "sk_session=<token>" of the upgrade */
	web_line *q, *q_tail;
	int nq;
	int64_t dropped;         /* lines this client lost (too slow, or no memory): logged at its close */
	sbuf rx;
	int rx_too_big;
	int ending;              /* its session ended: closed at the next WRITEABLE */
} web_pss;

struct web {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	lws_sorted_usec_list_t sul_sweep;
	int ndelayed;
	const config *cfg;
	api_ctx *a;
	web_pss *clients;
	int nclients;
	struct lws_protocols protocols[2];
	struct lws_http_mount m_api, m_root;
	char host_ip[64], host_lh[64];
};

static const char *const web_methods[] = { "GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD" };

/* Whether the Host header names this server (DNS rebinding guard). */
static int web_host_ok(web *w, struct lws *wsi)
{
	char h[128];

	if (lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HOST) <= 0)
		return 0;
	return !strcmp(h, w->host_ip) || !strcmp(h, w->host_lh);
}

/* Whether the Origin header names this server (http://<Host we accept>).
 * Without an Origin: missing_ok (a CLI client; browsers always send one on a
 * cross-origin POST and on a WebSocket upgrade). */
static int web_origin_ok(web *w, struct lws *wsi, int missing_ok)
{
	char origin[160] = "", want[100];

	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		return missing_ok && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) == 0;
	snprintf(want, sizeof want, "http://%s", w->host_ip);
	if (!strcmp(origin, want))
		return 1;
	snprintf(want, sizeof want, "http://%s", w->host_lh);
	return !strcmp(origin, want);
}

/* Queues a response: status, JSON body, maybe a cookie and Retry-After.
 * Returns 0, or 1 to close. */
static int web_respond(struct lws *wsi, web_pss *pss, int status, const char *body, const char *cookie,
		       int retry_after)
{
	web *w = lws_get_vhost_user(lws_get_vhost(wsi));
	uint8_t hb[LWS_PRE + 2048], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
	size_t n = strlen(body);
	char ra[16];

	free(pss->resp);
	if (!(pss->resp = malloc(LWS_PRE + n + 1)))
		return 1;
	memcpy(pss->resp + LWS_PRE, body, n);
	pss->resp_len = n;
	if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json; charset=utf-8", n, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store",
					8, &p, end))
		return 1;
	if (cookie && *cookie &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_SET_COOKIE, (const unsigned char *)cookie,
					 (int)strlen(cookie), &p, end))
		return 1;
	if (retry_after > 0) {
		snprintf(ra, sizeof ra, "%d", retry_after);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER, (const unsigned char *)ra,
						 (int)strlen(ra), &p, end))
			return 1;
	}
	/* lws writes the headers at once: what the request wrote is durable first */
	api_barrier(w ? w->a : NULL);
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* An error answer made here (before api.c sees the request). */
static int web_error(struct lws *wsi, web_pss *pss, int status, const char *msg)
{
	char b[300];
	cJSON *j = cJSON_CreateObject();
	char *s;
	int r;

	cJSON_AddStringToObject(j, "error", msg);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	snprintf(b, sizeof b, "%s", s ? s : "{\"error\":\"out of memory\"}");
	cJSON_free(s);
	r = web_respond(wsi, pss, status, b, NULL, 0);
	return r;
}

static void web_sweep(web *w, int sync);

/* The held answer of a failed login is due: queued now. A failure to queue
 * it closes the connection (from a timer, by lws's timeout). */
static void web_answer_cb(lws_sorted_usec_list_t *sul)
{
	web_pss *pss = lws_container_of(sul, web_pss, sul_answer);
	struct lws *wsi = pss->wsi;
	web *w = lws_get_vhost_user(lws_get_vhost(wsi));
	api_resp *r = &pss->held;

	pss->delayed = 0;
	w->ndelayed--;
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	if (web_respond(wsi, pss, r->status, r->body ? r->body : "{}", r->set_cookie, r->retry_after_s))
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	free(r->body);
	r->body = NULL;
}

/* Drops a held answer (its connection closes first). */
static void web_unhold(web *w, web_pss *pss)
{
	if (!pss->delayed)
		return;
	lws_sul_cancel(&pss->sul_answer);
	pss->delayed = 0;
	w->ndelayed--;
	free(pss->held.body);
	pss->held.body = NULL;
}

/* Hands a complete request to the API and queues its answer, or holds it
 * back for r.delay_ms (a failed login). */
static int web_dispatch(web *w, struct lws *wsi, web_pss *pss)
{
	const char *method = pss->method >= 0 && pss->method < 8 ? web_methods[pss->method] : "?";
	char cookie[1024] = "", csrf[128] = "";
	api_resp r;
	int rc;

	if (pss->too_big)
		return web_error(wsi, pss, 413, "the body is larger than 256 KiB");
	if (strncmp(pss->path, "/api/", 5))
		return web_error(wsi, pss, 404, "not found");
	lws_hdr_copy(wsi, cookie, sizeof cookie, WSI_TOKEN_HTTP_COOKIE);
	if (lws_hdr_custom_copy(wsi, csrf, sizeof csrf, "x-csrf-token:", 13) < 0)
		csrf[0] = '\0';
	api_http(w->a, method, pss->path, cookie, csrf, pss->body.p, pss->body.len, &r);
	sbuf_free(&pss->body);
	/* a logout (or anything else that ended a session) closes its WebSockets now */
	web_sweep(w, 0);
	if (r.delay_ms > 0 && w->ndelayed < WEB_DELAYED_MAX && !pss->delayed) {
		pss->held = r;
		pss->wsi = wsi;
		pss->delayed = 1;
		w->ndelayed++;
		/* the wait is ours: no shorter lws timeout may end it (one timeout per connection) */
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, r.delay_ms / 1000 + 10);
		lws_sul_schedule(w->ctx, 0, &pss->sul_answer, web_answer_cb, (lws_usec_t)r.delay_ms * LWS_US_PER_MS);
		return 0;
	}
	rc = web_respond(wsi, pss, r.status, r.body ? r.body : "{}", r.set_cookie, r.retry_after_s);
	free(r.body);
	return rc;
}

/* Whether the upgrade to /api/events may go on: this host, its origin, a
 * session. Returns 0, or the HTTP status to refuse it with (*why says why). */
static int web_ws_allowed(web *w, struct lws *wsi, const char **why)
{
	char uri[64] = "", cookie[1024] = "";

	lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
	lws_hdr_copy(wsi, cookie, sizeof cookie, WSI_TOKEN_HTTP_COOKIE);
	*why = "not found";
	if (strcmp(uri, "/api/events"))
		return 404;
	*why = "this server's name is not in Host";
	if (!web_host_ok(w, wsi))
		return 403;
	*why = "the WebSocket is for this page only (Origin)";
	if (!web_origin_ok(w, wsi, 0))
		return 403;
	*why = "not logged in";
	if (!api_logged_in(w->a, cookie))
		return 401;
	if (w->nclients >= WEB_CLIENTS_MAX) {
		*why = "too many live-event clients";
		return 503;
	}
	return 0;
}

/* Appends a line (copied) to one client's queue, dropping its oldest when full. */
static void web_enqueue(web_pss *c, const char *s, size_t n)
{
	web_line *l = malloc(sizeof *l + LWS_PRE + n);

	if (!l) {
		c->dropped++;
		return;
	}
	l->next = NULL;
	l->len = n;
	memcpy(l->buf + LWS_PRE, s, n);
	if (c->q_tail)
		c->q_tail->next = l;
	else
		c->q = l;
	c->q_tail = l;
	if (++c->nq > WEB_QUEUE_MAX) {
		web_line *old = c->q;

		c->q = old->next;
		free(old);
		c->nq--;
		c->dropped++;
	}
}

/* Frees a client's queued lines. */
static void web_drop_queue(web_pss *c)
{
	web_line *l;

	while ((l = c->q)) {
		c->q = l->next;
		free(l);
	}
	c->q_tail = NULL;
	c->nq = 0;
}

static void web_ws_clear(web *w, web_pss *pss)
{
	for (web_pss **pp = &w->clients; *pp; pp = &(*pp)->next)
		if (*pp == pss) {
			*pp = pss->next;
			w->nclients--;
			break;
		}
	if (pss->dropped)
		log_warn("web", "an events client lost %lld lines (too slow to keep up)", (long long)pss->dropped);
	pss->dropped = 0;
	web_drop_queue(pss);
	sbuf_free(&pss->rx);
	pss->ws = 0;
	pss->ending = 0;
}

/* Marks an events client whose session ended: nothing more is written to
 * it, and it is closed at its next WRITEABLE. */
static void web_end_client(web_pss *c, const char *why)
{
	if (c->ending)
		return;
	c->ending = 1;
	web_drop_queue(c);
	log_info("web", "an events WebSocket is closed: %s", why);
	lws_callback_on_writable(c->wsi);
}

/* Closes the events WebSockets whose session is gone; with sync, first has
 * auth look at the password in the database again (changed elsewhere: every
 * session ends). */
static void web_sweep(web *w, int sync)
{
	if (sync)
		api_auth_sync(w->a);
	for (web_pss *c = w->clients; c; c = c->next)
		if (!c->ending && !api_session_live(w->a, c->cookie))
			web_end_client(c, "its session ended (logout, expiry or a new password)");
}

/* Every WEB_SWEEP_MS: the sweep with a fresh look at the password, so that
 * expiry and shopkeep passwd close sockets that see no requests. */
static void web_sweep_cb(lws_sorted_usec_list_t *sul)
{
	web *w = lws_container_of(sul, web, sul_sweep);

	web_sweep(w, 1);
	lws_sul_schedule(w->ctx, 0, &w->sul_sweep, web_sweep_cb, (lws_usec_t)WEB_SWEEP_MS * LWS_US_PER_MS);
}

static int web_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	web *w = vh ? lws_get_vhost_user(vh) : NULL;
	web_pss *pss = user;
	char *uri;
	int ulen, st;
	const char *why;

	if (!w)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!pss)
			return -1;
		/* the whole path (on the /api mount, in is only the part after it) */
		pss->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
		snprintf(pss->path, sizeof pss->path, "%.*s", uri && ulen > 0 ? ulen : 0, uri ? uri : "");
		if (!pss->path[0])
			snprintf(pss->path, sizeof pss->path, "%s", in ? (const char *)in : "/");
		sbuf_reset(&pss->body);
		pss->too_big = pss->close_after = 0;
		if (!strncmp(pss->path, "/api/", 5) && !web_host_ok(w, wsi)) {
			pss->close_after = 1;
			return web_error(wsi, pss, 403, "this server's name is not in the Host header");
		}
		if (!strncmp(pss->path, "/api/login", 10) && (!pss->path[10] || pss->path[10] == '?') &&
		    !web_origin_ok(w, wsi, 1)) {
			pss->close_after = 1;
			log_warn("web", "login refused: from another site's page (Origin)");
			return web_error(wsi, pss, 403, "a login from another site's page is refused (Origin)");
		}
		if (pss->method == LWSHUMETH_POST || pss->method == LWSHUMETH_PUT ||
		    pss->method == LWSHUMETH_PATCH) {
			char cl[32] = "";

			if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
				pss->close_after = 1;
				return web_error(wsi, pss, 411, "a body needs a Content-Length header");
			}
			if (strtoull(cl, NULL, 10) > API_MAX_BODY) {
				pss->too_big = pss->close_after = 1;
				return web_error(wsi, pss, 413, "the body is larger than 256 KiB");
			}
			return 0;   /* answered at BODY_COMPLETION */
		}
		return web_dispatch(w, wsi, pss);
	case LWS_CALLBACK_HTTP_BODY:
		if (!pss || pss->close_after)
			return 0;
		if (pss->body.len + len > API_MAX_BODY)
			pss->too_big = 1;
		else
			sbuf_add(&pss->body, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!pss || pss->close_after)
			return 0;
		return web_dispatch(w, wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || !pss->resp)
			return 0;
		if (lws_write(wsi, pss->resp + LWS_PRE, pss->resp_len, LWS_WRITE_HTTP_FINAL) < (int)pss->resp_len)
			return -1;
		free(pss->resp);
		pss->resp = NULL;
		sbuf_free(&pss->body);
		if (pss->close_after || lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* no pss yet: the protocol is bound after this */
		if ((st = web_ws_allowed(w, wsi, &why))) {
			log_info("web", "events WebSocket refused (%d): %s", st, why);
			lws_return_http_status(wsi, (unsigned)st, why);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED: {
		char ck[1024] = "";
		const char *t;

		/* the session's cookie, for the control requests to come (headers go after this) */
		lws_hdr_copy(wsi, ck, sizeof ck, WSI_TOKEN_HTTP_COOKIE);
		if ((t = strstr(ck, "sk_session=")))
			snprintf(pss->cookie, sizeof pss->cookie, "%.*s", (int)strcspn(t, "; "), t);
		pss->ws = 1;
		pss->wsi = wsi;
		log_debug("web", "events WebSocket open (%d clients)", w->nclients + 1);
		pss->next = w->clients;
		w->clients = pss;
		w->nclients++;
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		web_line *l;

		if (!pss->ws)
			return 0;
		if (pss->q && !pss->ending && !api_session_live(w->a, pss->cookie))
			web_end_client(pss, "its session ended (logout, expiry or a new password)");
		if (pss->ending) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"session ended", 13);
			return -1;
		}
		if (!(l = pss->q))
			return 0;
		/* a line of this loop turn (an event, a control answer) follows its commit */
		api_barrier(w->a);
		if (!(pss->q = l->next))
			pss->q_tail = NULL;
		pss->nq--;
		st = lws_write(wsi, l->buf + LWS_PRE, l->len, LWS_WRITE_TEXT);
		free(l);
		if (st < 0)
			return -1;
		if (pss->q)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		log_debug("web", "events WebSocket: %zu bytes in", len);
		if (lws_is_first_fragment(wsi)) {
			sbuf_reset(&pss->rx);
			pss->rx_too_big = 0;
		}
		if (pss->rx.len + len > WEB_WS_MAX)
			pss->rx_too_big = 1;
		else
			sbuf_add(&pss->rx, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			char *ans;

			if (pss->rx_too_big)
				ans = util_strndup("{\"kind\":\"reply\",\"request_id\":null,\"success\":false,\"data\":null,"
						   "\"error\":\"the request is larger than 64 KiB\"}", 110);
			else if (!api_logged_in(w->a, pss->cookie))
				ans = util_strndup("{\"kind\":\"reply\",\"request_id\":null,\"success\":false,\"data\":null,"
						   "\"error\":\"not logged in (or the session expired)\"}", 111);
			else
				ans = api_ws_control(w->a, pss->rx.p ? pss->rx.p : "", pss->rx.len);
			if (ans) {
				web_enqueue(pss, ans, strlen(ans));
				free(ans);
				lws_callback_on_writable(wsi);
			}
			sbuf_reset(&pss->rx);
		}
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (pss)
			web_ws_clear(w, pss);
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) {
			web_unhold(w, pss);
			free(pss->resp);
			pss->resp = NULL;
			sbuf_free(&pss->body);
			if (pss->ws)
				web_ws_clear(w, pss);
		}
		return 0;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		/* the context goes: its timer list with it */
		lws_sul_cancel(&w->sul_sweep);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

void web_broadcast(web *w, char *line)
{
	size_t n;

	if (!line)
		return;
	if (w) {
		n = strlen(line);
		for (web_pss *c = w->clients; c; c = c->next) {
			if (c->ending)
				continue;
			web_enqueue(c, line, n);
			lws_callback_on_writable(c->wsi);
		}
	}
	free(line);
}

int web_clients(const web *w)
{
	return w ? w->nclients : 0;
}

web *web_new(struct lws_context *ctx, const config *cfg, api_ctx *a, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	char ip[32];
	web *w;

	if (!cfg->web_port || !(w = calloc(1, sizeof *w))) {
		snprintf(err, errlen, cfg->web_port ? "out of memory" : "web.listen is off");
		return NULL;
	}
	w->cfg = cfg;
	w->a = a;
	w->ctx = ctx;
	snprintf(ip, sizeof ip, "%.*s", (int)strcspn(cfg->web_listen, ":"), cfg->web_listen);
	snprintf(w->host_ip, sizeof w->host_ip, "%s:%d", ip, cfg->web_port);
	snprintf(w->host_lh, sizeof w->host_lh, "localhost:%d", cfg->web_port);
	w->protocols[0] = (struct lws_protocols){ "sk-web", web_callback, sizeof(web_pss), 4096, 0, NULL, 0 };
	w->m_api = (struct lws_http_mount){ .mountpoint = "/api", .mountpoint_len = 4, .origin = "sk-web",
		.protocol = "sk-web", .origin_protocol = LWSMPRO_CALLBACK };
	w->m_root = (struct lws_http_mount){ .mount_next = &w->m_api, .mountpoint = "/", .mountpoint_len = 1,
		.origin = cfg->web_root, .def = "index.html", .origin_protocol = LWSMPRO_FILE };
	memset(&info, 0, sizeof info);
	info.port = cfg->web_port;
	info.iface = ip;
	info.vhost_name = "web";
	info.protocols = w->protocols;
	info.mounts = &w->m_root;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	info.user = w;
	info.timeout_secs = 30;
	if (!(w->vh = lws_create_vhost(ctx, &info))) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this machine)",
			 cfg->web_listen);
		free(w);
		return NULL;
	}
	lws_sul_schedule(ctx, 0, &w->sul_sweep, web_sweep_cb, (lws_usec_t)WEB_SWEEP_MS * LWS_US_PER_MS);
	log_info("web", "the page is at http://%s/ (files from %s)", w->host_ip, cfg->web_root);
	return w;
}

void web_free(web *w)
{
	free(w);
}
