/* SPDX-License-Identifier: MIT */
/*
 * core/http.c - HTTP POST (and GET) through the lws client on the event loop.
 *
 * The result is always delivered from a timer, never from inside
 * lws_client_connect_via_info (whose error callbacks can run before it
 * returns), and a request is freed only once its result was delivered and lws
 * has destroyed its connection.
 */
#include "http.h"
#include "util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_req {
	struct http_req *next, **prevp;  /* every live request, for http_free_all */
	struct lws_context *ctx;
	struct lws *wsi;
	int wsi_alive;
	int finished;            /* the result is set */
	int delivered;           /* the callback ran (or was cancelled) */
	http_done_cb cb;
	void *ud;
	char *url_copy;          /* parsed in place by lws_parse_uri */
	char path[1024];
	char *headers;
	char *body;
	size_t body_len;
	int get;                 /* a GET: no body, no Content-Length */
	char location[1024];     /* a 3xx's Location */
	int status;
	char error[128];
	sbuf resp;
	char *cookies[HTTP_MAX_SET_COOKIES];
	int n_cookies;
	lws_sorted_usec_list_t sul_done, sul_timeout;
};

/* Every live request (for http_free_all). */
static http_req *live;

/* Unlinks q from the live list and frees it with everything it holds. */
static void req_free(http_req *q)
{
	int i;

	if (q->next)
		q->next->prevp = q->prevp;
	*q->prevp = q->next;
	for (i = 0; i < q->n_cookies; i++)
		free(q->cookies[i]);
	sbuf_free(&q->resp);
	free(q->url_copy);
	free(q->headers);
	free(q->body);
	free(q);
}

/* Frees q once both ends are done with it: its result was delivered (or
 * cancelled) and lws has destroyed its connection; otherwise does nothing. */
static void req_maybe_free(http_req *q)
{
	if (!q->delivered || q->wsi_alive)
		return;
	lws_sul_cancel(&q->sul_done);
	lws_sul_cancel(&q->sul_timeout);
	req_free(q);
}

/* The delivery timer: hands the result (status, or the error; the body and
 * the Set-Cookie values) to the request's callback unless it was cancelled,
 * then frees the request when lws is done with it too. */
static void done_cb(lws_sorted_usec_list_t *sul)
{
	http_req *q = lws_container_of(sul, http_req, sul_done);
	http_resp r = {0};
	int i;

	lws_sul_cancel(&q->sul_timeout);
	if (!q->delivered && q->cb) {
		r.status = q->error[0] ? 0 : q->status;
		r.error = q->error[0] ? q->error : NULL;
		r.body = q->resp.p ? q->resp.p : "";
		r.body_len = q->resp.len;
		for (i = 0; i < q->n_cookies; i++)
			r.set_cookies[i] = q->cookies[i];
		r.n_set_cookies = q->n_cookies;
		r.location = q->location;
		q->cb(q->ud, &r);
	}
	q->delivered = 1;
	req_maybe_free(q);
}

/* Sets the result once (the first reason wins) and schedules its delivery. */
static void finish(http_req *q, const char *error)
{
	if (q->finished)
		return;
	q->finished = 1;
	if (error)
		snprintf(q->error, sizeof q->error, "%s", error);
	lws_sul_schedule(q->ctx, 0, &q->sul_done, done_cb, 1);
}

/* The request's time ran out: its result is "timeout" (unless it had one)
 * and its connection is closed. */
static void timeout_cb(lws_sorted_usec_list_t *sul)
{
	http_req *q = lws_container_of(sul, http_req, sul_timeout);

	finish(q, "timeout");
	if (q->wsi_alive && q->wsi)
		lws_set_timeout(q->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Keeps the Set-Cookie values of the response. */
static void read_set_cookies(http_req *q, struct lws *wsi)
{
	char buf[1024];
	int i, n;

	for (i = 0; q->n_cookies < HTTP_MAX_SET_COOKIES; i++) {
		n = lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_SET_COOKIE, i);
		if (n <= 0)
			break;
		q->cookies[q->n_cookies] = util_strndup(buf, (size_t)n);
		if (q->cookies[q->n_cookies])
			q->n_cookies++;
	}
}

/* The lws client callback of every request (q is the wsi's user data, NULL
 * once detached): writes Content-Length, the extra headers and the body,
 * collects the status, Set-Cookie values and the body (at most
 * HTTP_MAX_BODY), and finishes the request on completion, error or close.
 * Returns 0, or -1 to close the connection. */
static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	http_req *q = user;
	char buf[LWS_PRE + 4096], *px = buf + LWS_PRE;
	int n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (q)
			finish(q, in ? (const char *)in : "connection error");
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = *p + len;
		char cl[24];

		if (!q)
			return -1;
		n = snprintf(cl, sizeof cl, "%zu", q->body_len);
		if (!q->get &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (unsigned char *)cl, n, p, end))
			return -1;
		if (q->headers) {
			size_t hl = strlen(q->headers);

			if ((size_t)(end - *p) < hl + 1)
				return -1;
			memcpy(*p, q->headers, hl);
			*p += hl;
		}
		if (q->get)
			return 0;   /* nothing to write after the headers */
		lws_client_http_body_pending(wsi, 1);
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		if (!q || !q->body || q->get)
			return 0;
		lws_client_http_body_pending(wsi, 0);
		n = lws_write(wsi, (unsigned char *)q->body + LWS_PRE, q->body_len, LWS_WRITE_HTTP_FINAL);
		free(q->body);
		q->body = NULL;
		return n < (int)q->body_len ? -1 : 0;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (q) {
			q->status = (int)lws_http_client_http_response(wsi);
			read_set_cookies(q, wsi);
			if (q->status >= 300 && q->status < 400 &&
			    lws_hdr_copy(wsi, q->location, sizeof q->location, WSI_TOKEN_HTTP_LOCATION) < 0)
				q->location[0] = '\0';
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (q) {
			if (q->resp.len + len > HTTP_MAX_BODY) {
				finish(q, "response too large");
				return -1;
			}
			sbuf_add(&q->resp, in, len);
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		n = (int)sizeof buf - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &n) < 0)
			return -1;
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (!q)
			return 0;
		/* No keep-alive reuse: detach from the wsi and close it now, or lws
		 * would hold it (and us) until the context is destroyed. */
		finish(q, NULL);
		q->wsi_alive = 0;
		q->wsi = NULL;
		lws_set_wsi_user(wsi, NULL);
		req_maybe_free(q);
		return -1;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (q)
			finish(q, q->status ? NULL : "closed before an answer");
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (q) {
			finish(q, "closed before an answer");
			q->wsi_alive = 0;
			q->wsi = NULL;
			req_maybe_free(q);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const struct lws_protocols http_protocol = {"sk-http", http_callback, 0, 0, 0, NULL, 0};

http_req *http_post(struct lws_context *ctx, struct lws_vhost *vh, const char *url,
		    const char *headers, const char *body, size_t body_len, int timeout_s,
		    int tls_verify, http_done_cb cb, void *ud)
{
	return http_request(ctx, vh, "POST", url, headers, body, body_len, timeout_s, tls_verify, cb, ud);
}

http_req *http_request(struct lws_context *ctx, struct lws_vhost *vh, const char *method, const char *url,
		       const char *headers, const char *body, size_t body_len, int timeout_s,
		       int tls_verify, http_done_cb cb, void *ud)
{
	struct lws_client_connect_info i;
	const char *prot, *addr, *path;
	http_req *q = calloc(1, sizeof *q);
	int port;

	if (!q)
		return NULL;
	q->next = live;
	if (live)
		live->prevp = &q->next;
	q->prevp = &live;
	live = q;
	q->ctx = ctx;
	q->cb = cb;
	q->ud = ud;
	q->url_copy = strdup(url);
	q->headers = headers ? strdup(headers) : NULL;
	q->body = malloc(LWS_PRE + body_len + 1);
	if (!q->url_copy || (headers && !q->headers) || !q->body ||
	    lws_parse_uri(q->url_copy, &prot, &addr, &port, &path)) {
		q->delivered = 1;
		req_maybe_free(q);
		return NULL;
	}
	q->get = !strcmp(method, "GET");
	if (body_len)
		memcpy(q->body + LWS_PRE, body, body_len);
	q->body_len = body_len;
	snprintf(q->path, sizeof q->path, "/%s", path);
	memset(&i, 0, sizeof i);
	i.context = ctx;
	i.vhost = vh;
	i.address = addr;
	i.port = port;
	i.path = q->path;
	i.host = addr;
	i.method = q->get ? "GET" : "POST";
	i.protocol = http_protocol.name;
	i.local_protocol_name = http_protocol.name;
	i.userdata = q;
	i.alpn = "http/1.1";
	/* A redirect is an answer (its status), never followed: lws would send
	 * the extra headers (a cookie, a webhook's token) to the new address,
	 * and the body is gone by then. */
	i.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (!strcmp(prot, "https")) {
		i.ssl_connection |= LCCSCF_USE_SSL;
		if (!tls_verify)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
					    LCCSCF_ALLOW_EXPIRED;
	}
	i.pwsi = &q->wsi;
	q->wsi_alive = 1;
	lws_sul_schedule(ctx, 0, &q->sul_timeout, timeout_cb, (lws_usec_t)timeout_s * LWS_US_PER_SEC);
	if (!lws_client_connect_via_info(&i)) {
		q->wsi_alive = 0;
		q->wsi = NULL;
		finish(q, "cannot start the connection");
	}
	return q;
}

void http_cancel(http_req *q)
{
	if (!q)
		return;
	q->cb = NULL;
	q->finished = q->delivered = 1;
	lws_sul_cancel(&q->sul_done);
	lws_sul_cancel(&q->sul_timeout);
	if (q->wsi_alive && q->wsi)
		lws_set_timeout(q->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	req_maybe_free(q);
}

void http_free_all(void)
{
	while (live)
		req_free(live);
}
