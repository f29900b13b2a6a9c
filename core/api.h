/* SPDX-License-Identifier: MIT */
/*
 * core/api.h - the web page's JSON API (web/API.md): requests in, JSON
 * answers out, independent of the transport (core/web.c carries them over
 * lws, the tests and the fuzzer call it directly). It owns the login check,
 * the CSRF check, the control commands (the core's own, one row each in
 * core/commands.h; the rest are the plugins', through the host), the rules
 * file's GET/PUT, and the conversations' commands (core/convo.h).
 */
#ifndef SK_API_H
#define SK_API_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "session.h"

typedef struct api_ctx api_ctx;
typedef struct auth auth;
typedef struct host host;

#define API_MAX_BODY (256 * 1024)

typedef struct {
	const config *cfg;
	session *sess;           /* NULL in tests without a session: send and status say so */
	host *plugins;           /* may be NULL */
	struct relogin *rl;      /* new logins (core/relogin.h); NULL: the login commands say so */
	auth *au;
	/* Tells the plugins to reload their files (SIGHUP's path); may be NULL. */
	void (*reload)(void *ud);
	void *ud;
	struct convo *cv;        /* the conversations (core/convo.h); NULL: the chat commands answer 409 */
} api_env;

/* One answer: status, a JSON body (malloc'd), maybe a cookie and Retry-After. */
typedef struct {
	int status;
	char *body;
	char set_cookie[160];    /* a whole Set-Cookie value, "" for none */
	int retry_after_s;       /* > 0: send Retry-After */
	int delay_ms;            /* > 0: answer only after this long (a failed login) */
} api_resp;

api_ctx *api_new(const api_env *env);
/* Makes what the requests so far wrote durable (session_barrier): before any
 * answer is written. */
void api_barrier(api_ctx *a);
/* The page's auth, once it is made (an API made before it answers the local
 * socket only: its HTTP requests are refused without one). */
void api_set_auth(api_ctx *a, auth *au);
void api_free(api_ctx *a);

/* One HTTP request to path (starting "/api/"). cookie: the Cookie header,
 * csrf: the X-CSRF-Token header (both may be NULL); body may be NULL. Fills
 * r (free r->body with free). Never fails: errors are answers. */
void api_http(api_ctx *a, const char *method, const char *path, const char *cookie, const char *csrf,
	      const char *body, size_t len, api_resp *r);
/* A control request from a logged-in WebSocket: the envelope's JSON text.
 * Returns the answer (malloc'd, with "kind":"reply"), NULL on OOM. */
char *api_ws_control(api_ctx *a, const char *text, size_t len);
/* The same for any other transport (core/ctl.c's local socket): the answer
 * (malloc'd, "kind":"reply"), NULL on OOM, and in *status the HTTP status
 * the command's outcome maps to (200, or 400... as in web/API.md). */
char *api_control_text(api_ctx *a, const char *text, size_t len, int *status);
/* Whether the Cookie header carries a live session (the WebSocket's check);
 * it keeps the session alive. */
int api_logged_in(api_ctx *a, const char *cookie);
/* Whether it still does, without keeping it alive (auth_alive). */
int api_session_live(api_ctx *a, const char *cookie);
/* auth_sync: sessions end on a password changed elsewhere, an old setup
 * token expires. For a timer. */
void api_auth_sync(api_ctx *a);

/* The live-event lines of /api/events are core/feed.h's. */

/* Counters: requests answered by status class, refused logins, bad requests. */
typedef struct {
	int64_t requests, ok, client_errors, server_errors, logins_failed, csrf_refused, unauthorized;
} api_stats;
const api_stats *api_get_stats(const api_ctx *a);

#endif
