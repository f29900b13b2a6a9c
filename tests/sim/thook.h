/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/thook.h - a webhook receiver for tests: a small HTTP/1.1 server
 * on 127.0.0.1:<port>, run by its own thread, that records every request
 * (method, path, header lines, body) and answers each with the status the
 * test chose, one request per connection. It can be stopped (the port is
 * closed: connections are refused) and started again on the same port.
 *
 *     thook *h = thook_new(tbot_free_port());
 *     ... the bot posts to http://127.0.0.1:<thook_port(h)>/hook ...
 *     thook_wait(h, 1, 5000);
 *     thook_req *r = thook_get(h, 0);
 *     char *id = thook_header(r, "X-Shopkeep-Alert-Id");
 *     free(id); thook_req_free(r); thook_free(h);
 */
#ifndef SK_THOOK_H
#define SK_THOOK_H

#include <stddef.h>

typedef struct thook thook;

/* A recorded request (a copy). */
typedef struct {
	char *method, *path;
	char *headers;           /* the header lines as received, each ending "\r\n" */
	char *body;              /* NUL-terminated */
	size_t len;
	int status;              /* what it was answered (0: not answered) */
} thook_req;

/* Listens on 127.0.0.1:port (0: any free port) and starts the thread.
 * NULL on failure. */
thook *thook_new(int port);
int thook_port(const thook *h);
/* Closes the listening socket and every open connection: the port refuses
 * connections until thook_start. */
void thook_stop(thook *h);
/* Listens again on the same port: 0, or -1. */
int thook_start(thook *h);
/* The answer to the requests from now on: an HTTP status (default 200; a
 * 3xx has "Location: /redirected"), with the body "ok"; 0
 * records them and never answers (the connection stays open until
 * thook_stop); -1 records them and closes the connection without an answer. */
void thook_answer(thook *h, int status);
/* Requests recorded so far (answered or not). */
int thook_count(thook *h);
/* Waits until at least n requests are recorded: 1, or 0 after timeout_ms. */
int thook_wait(thook *h, int n, int timeout_ms);
/* A copy of request i (free it with thook_req_free), or NULL. */
thook_req *thook_get(thook *h, int i);
void thook_req_free(thook_req *r);
/* The value of header name (any case) of r, malloc'd, or NULL. */
char *thook_header(const thook_req *r, const char *name);
/* Stops the thread, closes everything, frees. */
void thook_free(thook *h);

#endif
