/* SPDX-License-Identifier: MIT */
/*
 * core/web.c - the web page's server (core/web.h): lws plumbing only; what a
 * request means is core/api.c's.
 *
 * One vhost "web" on web.listen, a loopback address only (127.0.0.0/8 with
 * IPv6 off: docs/libraries.md §1, with IPv6 on "127.0.0.1" would bind every
 * interface; or ::1). A connection whose peer is not a loopback address is
 * closed at accept all the same. Its one protocol "sk-web" is protocols[0],
 * so it is the default one: one callback mount on "/" brings it every HTTP
 * request and the WebSocket upgrades of /api/events (a browser's new
 * WebSocket(url) names no subprotocol). /api goes to core/api.c; any other
 * path is a file of web.root, read here (not by lws's file mount, which
 * follows symlinks): a path that resolves outside web.root is a 404. Every
 * answer carries WEB_CSP and the usual security headers.
 *
 * Idle connections cannot starve the process: at most max_conns page
 * connections are open (a new one past it closes the oldest that is not an
 * events WebSocket), and one that has not sent a request's headers within
 * web.header_timeout_s of its accept (or of its last answer) is closed.
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
 * WEB_SESSIONS_MS timer, which re-reads the password). A line is never written
 * to a socket whose session has ended.
 *
 * Each events client has a queue of lines capped at WEB_QUEUE_MAX; a client
 * too slow to keep up loses its oldest lines (counted) rather than growing
 * the process.
 */
#include "web.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_QUEUE_MAX 256
#define WEB_WS_MAX 65536
#define WEB_CLIENTS_MAX 16
#define WEB_DELAYED_MAX 8
#define WEB_SESSIONS_MS 1000
#define WEB_FILE_MAX (4 << 20)   /* the largest file of web.root served */

/* connect-src 'self' only: the page talks to this server (its WebSocket
 * included), never to another host (lws's own CSP allows any ws:/wss:).
 * img-src adds the platform's picture host only (the items' pictures). */
#define WEB_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
		"img-src 'self' data: https://img.alicdn.com; " \
		"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* One open page connection, from its accept to its close. */
typedef struct {
	struct lws *wsi;
	int64_t since_ms;        /* the accept, or the last answer of a keep-alive connection */
	int started;             /* its request's headers arrived */
	int ws;                  /* an events WebSocket: never closed to make room */
	int closing;             /* asked to close (timed out or made room), not gone yet */
} web_conn;

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
	lws_sorted_usec_list_t sul_sessions;
	int ndelayed;
	const config *cfg;
	api_ctx *a;
	web_pss *clients;
	int nclients;
	struct lws_protocols protocols[2];
	struct lws_http_mount m_root;
	char host_ip[80], host_lh[64];
	char root[PATH_MAX];     /* web.root resolved (realpath), "" when it does not exist */
	web_conn *conns;         /* the open connections, nconns of them, room for 2 * max_conns */
	int nconns, max_conns;
	int64_t header_timeout_ms;
	lws_sorted_usec_list_t sul_sweep;
	int sweeping;
	int64_t n_timed_out, n_made_room, n_refused, n_logged, last_log_ms;
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

/* The open connection wsi, NULL when it is not one of ours. */
static web_conn *web_conn_find(web *w, struct lws *wsi)
{
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].wsi == wsi)
			return &w->conns[i];
	return NULL;
}

/* Asks lws to close c at its next turn (we may be inside another
 * connection's callback: no synchronous close). */
static void web_conn_close(web_conn *c)
{
	c->closing = 1;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Logs what the limits closed, at most once a minute (an attack must not
 * flood the log). */
static void web_conn_log(web *w, int64_t now)
{
	int64_t n = w->n_timed_out + w->n_made_room + w->n_refused;

	if (n == w->n_logged || now - w->last_log_ms < 60000)
		return;
	log_warn("web", "page connections closed so far: %lld sent no request within %lld s, %lld closed to make "
		 "room (at most %d open), %lld refused (not from loopback, or no room)", (long long)w->n_timed_out,
		 (long long)(w->header_timeout_ms / 1000), (long long)w->n_made_room, w->max_conns,
		 (long long)w->n_refused);
	w->n_logged = n;
	w->last_log_ms = now;
}

/* Every second while a connection waits for its request: closes those past
 * web.header_timeout_s. */
static void web_sweep_cb(lws_sorted_usec_list_t *sul)
{
	web *w = lws_container_of(sul, web, sul_sweep);
	int64_t now = util_mono_us() / 1000;
	int waiting = 0;

	w->sweeping = 0;
	for (int i = 0; i < w->nconns; i++) {
		web_conn *c = &w->conns[i];

		if (c->started || c->ws || c->closing)
			continue;
		if (now - c->since_ms >= w->header_timeout_ms) {
			log_debug("web", "a page connection sent no request within %lld ms: closed",
				  (long long)w->header_timeout_ms);
			w->n_timed_out++;
			web_conn_close(c);
		} else {
			waiting = 1;
		}
	}
	web_conn_log(w, now);
	if (waiting) {
		w->sweeping = 1;
		lws_sul_schedule(w->ctx, 0, &w->sul_sweep, web_sweep_cb, LWS_US_PER_SEC);
	}
}

/* Starts the header clock of c (at the accept, or after an answer). */
static void web_conn_wait(web *w, web_conn *c)
{
	c->started = 0;
	c->since_ms = util_mono_us() / 1000;
	if (!w->sweeping) {
		w->sweeping = 1;
		lws_sul_schedule(w->ctx, 0, &w->sul_sweep, web_sweep_cb, LWS_US_PER_SEC);
	}
}

/* Before a new connection is accepted (only its fd exists): when
 * max_conns are open, the oldest one that is not an events WebSocket is
 * closed to make room (the one waiting longest for its request first).
 * Returns 0, or -1 to refuse it: too many closes are still under way. */
static int web_conn_room(web *w)
{
	int open = 0, oldest = -1;

	if (w->nconns >= 2 * w->max_conns) {
		w->n_refused++;
		return -1;
	}
	for (int i = 0; i < w->nconns; i++) {
		const web_conn *o = &w->conns[i], *b = oldest >= 0 ? &w->conns[oldest] : NULL;

		if (o->closing)
			continue;
		open++;
		if (!o->ws && (!b || (!o->started && b->started) ||
			       (o->started == b->started && o->since_ms < b->since_ms)))
			oldest = i;
	}
	if (open >= w->max_conns && oldest >= 0) {
		log_debug("web", "%d page connections open: the oldest is closed to make room", open);
		w->n_made_room++;
		web_conn_close(&w->conns[oldest]);
	}
	return 0;
}

/* A new connection (web_conn_room made room for it): tracked from now.
 * Returns 0, or -1 to close it. */
static int web_conn_add(web *w, struct lws *wsi)
{
	web_conn *c;

	if (w->nconns >= 2 * w->max_conns) {
		w->n_refused++;
		return -1;
	}
	c = &w->conns[w->nconns++];
	memset(c, 0, sizeof *c);
	c->wsi = wsi;
	web_conn_wait(w, c);
	return 0;
}

/* The connection wsi is gone. */
static void web_conn_remove(web *w, struct lws *wsi)
{
	web_conn *c = web_conn_find(w, wsi);

	if (c)
		*c = w->conns[--w->nconns];
}

/* Adds the security headers every answer carries. 0, or 1 when they do not fit. */
static int web_security_headers(struct lws *wsi, uint8_t **p, uint8_t *end)
{
	static const char *const h[][2] = {
		{ "content-security-policy:", WEB_CSP },
		{ "x-content-type-options:", "nosniff" },
		{ "x-frame-options:", "deny" },
		{ "referrer-policy:", "no-referrer" },
		{ "cache-control:", "no-store" },
	};

	for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[i][0], (const unsigned char *)h[i][1],
						(int)strlen(h[i][1]), p, end))
			return 1;
	return 0;
}

/* Queues a response: status, a body of n bytes of type ctype (copied),
 * maybe a cookie and Retry-After. Returns 0, or 1 to close. */
static int web_send(struct lws *wsi, web_pss *pss, int status, const char *ctype, const void *body, size_t n,
		    const char *cookie, int retry_after)
{
	web *w = lws_get_vhost_user(lws_get_vhost(wsi));
	uint8_t hb[LWS_PRE + 2048], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
	char ra[16];

	free(pss->resp);
	if (!(pss->resp = malloc(LWS_PRE + n + 1)))
		return 1;
	memcpy(pss->resp + LWS_PRE, body, n);
	pss->resp_len = n;
	if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, n, &p, end) || web_security_headers(wsi, &p, end))
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

/* Queues a JSON response (web_send). */
static int web_respond(struct lws *wsi, web_pss *pss, int status, const char *body, const char *cookie,
		       int retry_after)
{
	return web_send(wsi, pss, status, "application/json; charset=utf-8", body, strlen(body), cookie, retry_after);
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

static void web_sessions_check(web *w, int sync);

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

/* The Content-Type of a file by its name. */
static const char *web_mime(const char *path)
{
	static const char *const m[][2] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" }, { ".json", "application/json" }, { ".svg", "image/svg+xml" },
		{ ".png", "image/png" }, { ".ico", "image/x-icon" }, { ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" }, { ".md", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof m / sizeof m[0]; i++)
		if (!strcmp(dot, m[i][0]))
			return m[i][1];
	return "application/octet-stream";
}

/* Reads the file of web.root that path names into *out (malloc'd, *n
 * bytes). Hidden names (".x", "..") are refused; a path that resolves
 * outside web.root (a symlink out of it) is refused; the file itself is
 * opened without following a symlink and must be a regular file. Returns
 * 0, or the HTTP status to answer (404, 500). */
static int web_file_read(web *w, const char *path, char **out, size_t *n)
{
	char full[PATH_MAX + 64], real[PATH_MAX];
	size_t rl = strlen(w->root);
	struct stat st;
	ssize_t r;
	int fd;

	*out = NULL;
	if (!w->root[0] || path[0] != '/' || strstr(path, "/.") || strlen(path) > 1024)
		return 404;
	if (snprintf(full, sizeof full, "%s%s%s", w->root, path, path[strlen(path) - 1] == '/' ? "index.html" : "") >=
	    (int)sizeof full)
		return 404;
	if (!realpath(full, real))
		return 404;
	if (strncmp(real, w->root, rl) || real[rl] != '/') {
		log_info("web", "%s is not served: it leads out of web.root (a symlink)", path);
		return 404;
	}
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return 404;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
		close(fd);
		return 404;
	}
	if (!(*out = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return 500;
	}
	for (*n = 0; *n < (size_t)st.st_size; *n += (size_t)r)
		if ((r = read(fd, *out + *n, (size_t)st.st_size - *n)) <= 0) {
			if (r < 0 && errno == EINTR) {
				r = 0;
				continue;
			}
			break;
		}
	close(fd);
	if (*n != (size_t)st.st_size) {
		free(*out);
		*out = NULL;
		return 500;
	}
	return 0;
}

/* Answers a request for a file of web.root (GET only). */
static int web_file(web *w, struct lws *wsi, web_pss *pss)
{
	char *data;
	size_t n = 0;
	int st, rc;

	if (pss->method != LWSHUMETH_GET)
		return web_error(wsi, pss, 405, "GET only");
	if ((st = web_file_read(w, pss->path, &data, &n)))
		return web_error(wsi, pss, st, st == 404 ? "not found" : "the file cannot be read");
	rc = web_send(wsi, pss, 200, web_mime(pss->path[strlen(pss->path) - 1] == '/' ? "index.html" : pss->path),
		      data, n, NULL, 0);
	free(data);
	return rc;
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
		return strcmp(pss->path, "/api") ? web_file(w, wsi, pss) : web_error(wsi, pss, 404, "not found");
	lws_hdr_copy(wsi, cookie, sizeof cookie, WSI_TOKEN_HTTP_COOKIE);
	if (lws_hdr_custom_copy(wsi, csrf, sizeof csrf, "x-csrf-token:", 13) < 0)
		csrf[0] = '\0';
	api_http(w->a, method, pss->path, cookie, csrf, pss->body.p, pss->body.len, &r);
	sbuf_free(&pss->body);
	/* a logout (or anything else that ended a session) closes its WebSockets now */
	web_sessions_check(w, 0);
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
static void web_sessions_check(web *w, int sync)
{
	if (sync)
		api_auth_sync(w->a);
	for (web_pss *c = w->clients; c; c = c->next)
		if (!c->ending && !api_session_live(w->a, c->cookie))
			web_end_client(c, "its session ended (logout, expiry or a new password)");
}

/* A request's headers are in (LWS_CALLBACK_HTTP): its path and method
 * taken, the Host (for /api/) and Origin (for a login) checked, a body
 * announced by its Content-Length awaited; else answered now. Returns 0, or
 * -1/1 to close (lws's convention). */
static int web_http_headers(web *w, struct lws *wsi, web_pss *pss, const void *in)
{
	web_conn *c;
	char *uri;
	int ulen;

	if (!pss)
		return -1;
	if ((c = web_conn_find(w, wsi)))
		c->started = 1;
	/* the whole path (on the / mount, in is only the part after it) */
	pss->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
	if (uri && ulen >= (int)sizeof pss->path) {
		pss->close_after = 1;
		return web_error(wsi, pss, 404, "the path is too long");
	}
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
}

/* An events WebSocket is open: its session cookie kept for the control
 * requests it sends, and it joins the clients that get the live lines. */
static void web_ws_open(web *w, struct lws *wsi, web_pss *pss)
{
	web_conn *c;
	char ck[1024] = "";
	const char *t;

	/* the session's cookie, for the control requests to come (headers go after this) */
	lws_hdr_copy(wsi, ck, sizeof ck, WSI_TOKEN_HTTP_COOKIE);
	if ((t = strstr(ck, "sk_session=")))
		snprintf(pss->cookie, sizeof pss->cookie, "%.*s", (int)strcspn(t, "; "), t);
	pss->ws = 1;
	pss->wsi = wsi;
	if ((c = web_conn_find(w, wsi)))
		c->ws = 1;
	log_debug("web", "events WebSocket open (%d clients)", w->nclients + 1);
	pss->next = w->clients;
	w->clients = pss;
	w->nclients++;
}

/* An events WebSocket may write: one queued line, after the loop turn's
 * commit; a client whose session ended is closed (1008) instead. Returns 0,
 * or -1 to close. */
static int web_ws_writeable(web *w, struct lws *wsi, web_pss *pss)
{
	int st;
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

/* A piece of a control request on an events WebSocket: gathered up to
 * WEB_WS_MAX; a whole one is run (logged in only) and its answer queued. */
static void web_ws_receive(web *w, struct lws *wsi, web_pss *pss, const void *in, size_t len)
{
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
		static const char too_big[] = "{\"kind\":\"reply\",\"request_id\":null,\"success\":false,"
			"\"data\":null,\"error\":\"the request is larger than 64 KiB\"}";
		static const char logged_out[] = "{\"kind\":\"reply\",\"request_id\":null,\"success\":false,"
			"\"data\":null,\"error\":\"not logged in (or the session expired)\"}";
		char *ans;

		/* sizeof - 1: the literal's own length (a hand-counted one read past it) */
		if (pss->rx_too_big)
			ans = util_strndup(too_big, sizeof too_big - 1);
		else if (!api_logged_in(w->a, pss->cookie))
			ans = util_strndup(logged_out, sizeof logged_out - 1);
		else
			ans = api_ws_control(w->a, pss->rx.p ? pss->rx.p : "", pss->rx.len);
		if (ans) {
			web_enqueue(pss, ans, strlen(ans));
			free(ans);
			lws_callback_on_writable(wsi);
		}
		sbuf_reset(&pss->rx);
	}
}

/* Every WEB_SESSIONS_MS: the sweep with a fresh look at the password, so that
 * expiry and shopkeep passwd close sockets that see no requests. */
static void web_sessions_cb(lws_sorted_usec_list_t *sul)
{
	web *w = lws_container_of(sul, web, sul_sessions);

	web_sessions_check(w, 1);
	lws_sul_schedule(w->ctx, 0, &w->sul_sessions, web_sessions_cb, (lws_usec_t)WEB_SESSIONS_MS * LWS_US_PER_MS);
}

static int web_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	web *w = vh ? lws_get_vhost_user(vh) : NULL;
	web_pss *pss = user;
	web_conn *c;
	int st;
	const char *why;

	if (!w)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* wsi is the listener, in the accepted socket: loopback peers only
		 * (web.listen is a loopback address; this holds whatever the bind) */
		if (!util_peer_loopback((int)(lws_intptr_t)in)) {
			w->n_refused++;
			log_warn("web", "a connection from an address that is not loopback was refused");
			return 1;
		}
		/* refused here, lws closes it quietly (past adoption it logs an error) */
		return web_conn_room(w) ? 1 : 0;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return web_conn_add(w, wsi);
	case LWS_CALLBACK_WSI_DESTROY:
		web_conn_remove(w, wsi);
		return 0;
	case LWS_CALLBACK_HTTP:
		return web_http_headers(w, wsi, pss, in);
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
		/* keep-alive: the next request's headers are due in time as well */
		if ((c = web_conn_find(w, wsi)))
			web_conn_wait(w, c);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* no pss yet: the protocol is bound after this */
		if ((c = web_conn_find(w, wsi)))
			c->started = 1;
		if ((st = web_ws_allowed(w, wsi, &why))) {
			log_info("web", "events WebSocket refused (%d): %s", st, why);
			lws_return_http_status(wsi, (unsigned)st, why);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		web_ws_open(w, wsi, pss);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return web_ws_writeable(w, wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		web_ws_receive(w, wsi, pss, in, len);
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
		lws_sul_cancel(&w->sul_sessions);
		lws_sul_cancel(&w->sul_sweep);
		w->sweeping = 0;
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

web *web_new(struct lws_context *ctx, const config *cfg, api_ctx *a, int max_conns, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	char ip[64];
	int port, fam;
	web *w;

	if (!cfg->web_port || !(w = calloc(1, sizeof *w))) {
		snprintf(err, errlen, cfg->web_port ? "out of memory" : "web.listen is off");
		return NULL;
	}
	/* config_load refused any other address already: this is the last guard */
	if ((fam = config_web_addr(cfg->web_listen, ip, sizeof ip, &port)) <= 0) {
		snprintf(err, errlen, "not a loopback address: the page listens on 127.0.0.0/8 or [::1] only "
			 "(use an SSH tunnel or a TLS reverse proxy to reach it from elsewhere)");
		free(w);
		return NULL;
	}
	w->ctx = ctx;
	w->cfg = cfg;
	w->a = a;
	w->max_conns = max_conns < 4 ? 4 : max_conns;
	w->header_timeout_ms = (int64_t)(cfg->web_header_timeout_s > 0 ? cfg->web_header_timeout_s : 10) * 1000;
	if (!(w->conns = calloc((size_t)w->max_conns * 2, sizeof *w->conns))) {
		snprintf(err, errlen, "out of memory");
		free(w);
		return NULL;
	}
	if (!realpath(cfg->web_root, w->root))
		w->root[0] = '\0';
	snprintf(w->host_ip, sizeof w->host_ip, fam == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
	snprintf(w->host_lh, sizeof w->host_lh, "localhost:%d", port);
	w->protocols[0] = (struct lws_protocols){ "sk-web", web_callback, sizeof(web_pss), 4096, 0, NULL, 0 };
	w->m_root = (struct lws_http_mount){ .mountpoint = "/", .mountpoint_len = 1, .origin = "sk-web",
		.protocol = "sk-web", .origin_protocol = LWSMPRO_CALLBACK };
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = ip;
	info.vhost_name = "web";
	info.protocols = w->protocols;
	info.mounts = &w->m_root;
	/* IPv4: IPv6 off, or "127.0.0.1" binds every interface (P1); "::1" binds ::1 only */
	info.options = fam == AF_INET ? LWS_SERVER_OPTION_DISABLE_IPV6 : 0;
	info.user = w;
	info.timeout_secs = 30;
	info.timeout_secs_ah_idle = (unsigned)(w->header_timeout_ms / 1000);
	if (!(w->vh = lws_create_vhost(ctx, &info))) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this machine)",
			 cfg->web_listen);
		free(w->conns);
		free(w);
		return NULL;
	}
	lws_sul_schedule(ctx, 0, &w->sul_sessions, web_sessions_cb, (lws_usec_t)WEB_SESSIONS_MS * LWS_US_PER_MS);
	log_info("web", "the page is at http://%s/ (files from %s)", w->host_ip, cfg->web_root);
	return w;
}

void web_free(web *w)
{
	if (w)
		free(w->conns);
	free(w);
}
