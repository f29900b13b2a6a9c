/* SPDX-License-Identifier: MIT */
/*
 * core/http.h - one HTTP request (POST, or GET) at a time per request, on the
 * lws loop (no threads).
 */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include <stddef.h>

struct lws_context;
struct lws_vhost;

#define HTTP_MAX_SET_COOKIES 24
#define HTTP_MAX_BODY (4u << 20)

typedef struct {
	int status;              /* HTTP status, 0 when no answer */
	const char *error;       /* NULL, or why there is no answer */
	const char *body;        /* NUL-terminated, "" when none */
	size_t body_len;
	const char *set_cookies[HTTP_MAX_SET_COOKIES];
	int n_set_cookies;
	const char *location;    /* the Location header of a 3xx, "" when none */
} http_resp;

typedef struct http_req http_req;

/* Called exactly once per request, on the loop; r and its strings are borrowed. */
typedef void (*http_done_cb)(void *ud, const http_resp *r);

/* Starts POST url with body (copied) and extra header lines ("Name: value\r\n",
 * copied; lws adds Host, Content-Length, "connection: close" and no-cache
 * Pragma/Cache-Control, nothing else: give Content-Type yourself). tls_verify 0 accepts any certificate (tests); the
 * CAs are the vhost's (the system's plus its client_ssl_ca_filepath).
 * Redirects are not followed: a 3xx is the answer. Returns the request, or
 * NULL (cb is then never called). */
http_req *http_post(struct lws_context *ctx, struct lws_vhost *vh, const char *url,
		    const char *headers, const char *body, size_t body_len, int timeout_s,
		    int tls_verify, http_done_cb cb, void *ud);

/* The same with a method: "POST" as http_post, or "GET" (body NULL and
 * body_len 0: no body and no Content-Length are sent). Redirects are not
 * followed either: the caller reads r->location and asks again. */
http_req *http_request(struct lws_context *ctx, struct lws_vhost *vh, const char *method, const char *url,
		       const char *headers, const char *body, size_t body_len, int timeout_s,
		       int tls_verify, http_done_cb cb, void *ud);

/* Forgets the callback; the connection is closed and freed by lws. */
void http_cancel(http_req *r);
/* After lws_context_destroy: frees requests lws never finished with. */
void http_free_all(void);

/* The lws protocol the client vhost must list (name "sk-http"). */
extern const struct lws_protocols http_protocol;

#endif
