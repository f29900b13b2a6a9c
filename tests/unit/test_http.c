/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_http.c - the core's HTTP POST client (core/http.c, what
 * sk_http_post and mtop run on) against the test receiver tests/sim/thook
 * on loopback: the request as it arrives (method, path, extra headers, body,
 * no Content-Type added), a 2xx and a 5xx with their
 * bodies, a 3xx that is the answer and never followed (no second request
 * carrying the headers elsewhere), a refused connection, a receiver that
 * never answers (the timeout), and a cancel.
 */
#include "http.h"
#include "sim/tbot.h"
#include "sim/thook.h"
#include "tap.h"
#include "util.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *ctx;
static struct lws_vhost *vh;

typedef struct {
	int done, status;
	char error[128], body[256], location[256];
} result;

static void on_done(void *ud, const http_resp *r)
{
	result *res = ud;

	res->done++;
	res->status = r->status;
	snprintf(res->error, sizeof res->error, "%s", r->error ? r->error : "");
	snprintf(res->body, sizeof res->body, "%s", r->body);
	snprintf(res->location, sizeof res->location, "%s", r->location ? r->location : "(null)");
	/* this runs from a timer just before lws's poll(): wake it, or run()
	 * only sees the flag after lws's next 30 s timer (pitfall P2) */
	lws_cancel_service(ctx);
}

static lws_sorted_usec_list_t tick_sul;

/* Wakes the loop every 50 ms, so that run() notices its deadline. */
static void tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(ctx, 0, sul, tick, 50 * LWS_US_PER_MS);
}

/* Runs the loop until res is done or ms pass. */
static void run(result *res, int ms)
{
	int64_t t0 = util_mono_us();

	tick(&tick_sul);
	while (!res->done && util_mono_us() - t0 < (int64_t)ms * 1000)
		lws_service(ctx, 0);
	lws_sul_cancel(&tick_sul);
}

/* Posts body to url on the receiver with the extra headers; waits for the answer. */
static void post(const char *url, const char *headers, const char *body, int timeout_s, result *res)
{
	memset(res, 0, sizeof *res);
	if (!http_post(ctx, vh, url, headers, body, strlen(body), timeout_s, 1, on_done, res))
		snprintf(res->error, sizeof res->error, "http_post returned NULL");
	else
		run(res, (timeout_s + 3) * 1000);
}

int main(void)
{
	struct lws_context_creation_info info;
	struct lws_protocols protocols[2];
	char url[128], *v;
	thook_req *r;
	thook *h;
	result res;
	int port;

	setvbuf(stdout, NULL, _IOLBF, 0);
	lws_set_log_level(getenv("SK_LWS_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT : LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = 64;
	ctx = lws_create_context(&info);
	memset(protocols, 0, sizeof protocols);
	protocols[0] = http_protocol;
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.vhost_name = "client";
	info.protocols = protocols;
	vh = ctx ? lws_create_vhost(ctx, &info) : NULL;
	port = tbot_free_port();
	h = thook_new(port);
	if (!ok(ctx && vh && h, "an lws client context and a receiver on 127.0.0.1:%d", port))
		return tap_done();
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook/a?x=1", port);

	post(url, "X-Test: one\r\nAuthorization: Bearer t0k\r\n", "{\"a\":1}", 5, &res);
	ok(res.done == 1 && res.status == 200 && !res.error[0], "200: delivered once (status %d, error \"%s\")",
	   res.status, res.error);
	is_str(res.body, "ok", "200: with the answer's body");
	if ((r = thook_get(h, 0))) {
		is_str(r->method, "POST", "the receiver got a POST");
		is_str(r->path, "/hook/a?x=1", "to the url's path and query");
		is_str(r->body, "{\"a\":1}", "with the body");
		v = thook_header(r, "X-Test");
		is_str(v, "one", "and the extra headers");
		free(v);
		v = thook_header(r, "Authorization");
		is_str(v, "Bearer t0k", "all of them");
		free(v);
		v = thook_header(r, "Content-Length");
		is_str(v, "7", "Content-Length from the body");
		free(v);
		v = thook_header(r, "Content-Type");
		ok(v == NULL, "no Content-Type of its own (the caller gives it: sk_http_post does)");
		free(v);
		thook_req_free(r);
	} else {
		ok(0, "the receiver recorded the request");
	}

	thook_answer(h, 500);
	post(url, "", "x", 5, &res);
	ok(res.done == 1 && res.status == 500 && !res.error[0], "500: the status is the answer (%d, \"%s\")", res.status,
	   res.error);

	thook_answer(h, 302);
	post(url, "X-Secret: s\r\n", "x", 5, &res);
	ok(res.done == 1 && res.status == 302, "302: the answer, not followed (%d, \"%s\")", res.status, res.error);
	is_str(res.location, "/redirected", "302: its Location is given to the caller (to follow by hand)");
	lws_service(ctx, 0);
	is_int(thook_count(h), 3, "302: no second request to the Location (which would carry the headers)");

	thook_answer(h, 0);
	post(url, "", "x", 1, &res);
	ok(res.done == 1 && res.status == 0 && !strcmp(res.error, "timeout"), "no answer: a timeout after timeout_s (%s)",
	   res.error);
	is_int(thook_count(h), 4, "no answer: the receiver did get it");

	/* GET (the QR login's pages): no body, no Content-Length */
	thook_answer(h, 200);
	memset(&res, 0, sizeof res);
	if (!http_request(ctx, vh, "GET", url, "X-Get: g\r\n", NULL, 0, 5, 1, on_done, &res))
		snprintf(res.error, sizeof res.error, "http_request returned NULL");
	else
		run(&res, 8000);
	ok(res.done == 1 && res.status == 200 && !res.error[0], "GET: answered (%d, \"%s\")", res.status, res.error);
	is_str(res.location, "", "GET 200: no Location");
	if ((r = thook_get(h, 4))) {
		is_str(r->method, "GET", "GET: the receiver got a GET");
		is_str(r->path, "/hook/a?x=1", "GET: to the url's path and query");
		v = thook_header(r, "Content-Length");
		ok(v == NULL || !strcmp(v, "0"), "GET: no body (Content-Length %s)", v ? v : "none");
		free(v);
		v = thook_header(r, "X-Get");
		is_str(v, "g", "GET: with the extra headers");
		free(v);
		thook_req_free(r);
	} else {
		ok(0, "the receiver recorded the GET");
	}

	thook_stop(h);
	post(url, "", "x", 5, &res);
	ok(res.done == 1 && res.status == 0 && res.error[0], "stopped receiver: an error, no status (%s)", res.error);

	thook_answer(h, 200);
	ok(thook_start(h) == 0, "the receiver listens again on the same port");
	memset(&res, 0, sizeof res);
	{
		http_req *q = http_post(ctx, vh, url, "", "x", 1, 5, 1, on_done, &res);

		http_cancel(q);
		run(&res, 1500);
		is_int(res.done, 0, "cancelled: the callback never runs");
	}
	post(url, "", "again", 5, &res);
	ok(res.done == 1 && res.status == 200, "and the client still works after a cancel");

	lws_context_destroy(ctx);
	http_free_all();
	thook_free(h);
	return tap_done();
}
