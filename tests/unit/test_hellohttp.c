/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hellohttp.c - plugins/hellohttp through the fake host: a
 * paid order is POSTed to the configured URL (recorded by the fake host), its
 * answer is handled (logged), other cards post nothing, and unload cancels a
 * request in flight.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

int main(void)
{
	char so[512], v[128];
	const fh_http *r;
	fh *f = fh_new("{\"hellohttp\":{\"url\":\"http://127.0.0.1:9/hook\"}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	fh_build_path(so, sizeof so, "plugins/hellohttp.so");
	if (!ok(fh_load(f, so, NULL) == 0, "hellohttp.so loads")) {
		diag("%s: %s", so, fh_error(f));
		fh_free(f);
		return tap_done();
	}
	fh_trade(f, "chat1", "buyer1", "4000000001", SK_TRADE_PLACED);
	fh_trade(f, "chat1", "buyer1", NULL, SK_TRADE_PAID);
	fh_trade(f, "chat1", "buyer1", "40\"01", SK_TRADE_PAID);
	is_int(fh_nhttp(f), 0, "a placed order, a paid card without an id or with a bad id: no POST");

	fh_trade(f, "chat1", "buyer1", "4000000001", SK_TRADE_PAID);
	is_int(fh_nhttp(f), 1, "a paid order: one POST");
	if ((r = fh_http_at(f, 0))) {
		is_str(r->url, "http://127.0.0.1:9/hook", "to hellohttp.url");
		is_str(r->body, "{\"order_id\":\"4000000001\"}", "with the order id as JSON");
		is_int(r->timeout_ms, 10000, "the default timeout");
		ok(!fh_http_header(f, 0, "Content-Type", v, sizeof v) && !strcmp(v, "application/json"),
		   "the host's Content-Type");
	}
	is_int(fh_http_reply(f, 0, 204, NULL), 0, "the webhook answers 204");
	is_int(fh_log_find(f, "order 4000000001 posted (HTTP 204)"), 1, "the completion logs it");

	fh_trade(f, "chat2", "buyer2", "4000000002", SK_TRADE_PAID);
	fh_trade(f, "chat3", "buyer3", "4000000003", SK_TRADE_PAID);
	is_int(fh_http_reply(f, 1, 500, "oops"), 0, "the second gets 500");
	is_int(fh_log_find(f, "order 4000000002 refused (HTTP 500)"), 1, "logged as refused");
	is_int(fh_http_reply(f, 2, SK_ERR_IO, NULL), 0, "the third gets no answer");
	is_int(fh_log_find(f, "order 4000000003 not posted"), 1, "logged as not posted");

	fh_trade(f, "chat4", "buyer4", "4000000004", SK_TRADE_PAID);
	fh_unload(f);
	ok((r = fh_http_at(f, 3)) && r->cancelled, "unload cancels the request in flight");
	is_int(fh_log_find(f, "4000000004"), 0, "its completion never runs");
	fh_free(f);

	f = fh_new("{\"hellohttp\":{}}", NULL);
	if (f)
		is_int(fh_load(f, so, NULL), -1, "without url the plugin is refused (a required key)");
	fh_free(f);
	return tap_done();
}
