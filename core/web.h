/* SPDX-License-Identifier: MIT */
/*
 * core/web.h - the account's web page on the lws loop: a server vhost bound
 * to web.listen that serves web.root's files, carries /api requests to
 * core/api.c and keeps the /api/events WebSockets, to which it broadcasts.
 */
#ifndef SK_WEB_H
#define SK_WEB_H

#include <stddef.h>

#include "api.h"
#include "config.h"

struct lws_context;
typedef struct web web;

/* Creates the vhost on ctx (a context made with EXPLICIT_VHOSTS) on
 * web.listen, which must be a loopback address. At most max_conns page
 * connections are open at once (keep it well below the context's fd
 * limit: the platform session, the control socket and the HTTP client
 * need room too). cfg and a are borrowed and must outlive it. NULL with
 * the reason in err. */
web *web_new(struct lws_context *ctx, const config *cfg, api_ctx *a, int max_conns, char *err, size_t errlen);
/* Queues a JSON line (taken over: freed by web) to every events WebSocket.
 * NULL is ignored. */
void web_broadcast(web *w, char *line);
/* The events clients connected now (0 for a NULL w): with none, callers
 * skip building lines nobody would get (the per-event path). */
int web_clients(const web *w);
/* After lws_context_destroy (which closed every connection). */
void web_free(web *w);

#endif
