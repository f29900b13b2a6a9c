/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_fakehost.c - the fake host itself, driven through
 * tests/plugins/fh_probe: the manual clock and its timers, recorded sends and
 * their completion, send_status, results of earlier runs, mtop replies, the
 * worker queue, session state, config, the in-memory database, HTTP POSTs
 * (ABI 1.3: what the backend gets, answers, refusals, unload, a command),
 * load errors and unload.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static char probe_dir[512];

/* Text of the last send, "" when none. */
static const char *last_text(fh *f)
{
	size_t n = fh_nsends(f);

	return n ? fh_send_at(f, n - 1)->text : "";
}

/* A fake host with fh_probe loaded (tick period period_ms), or NULL. */
static fh *probe_host(int period_ms)
{
	char sections[128];
	fh *f;

	snprintf(sections, sizeof sections, "{\"fh_probe\":{\"period_ms\":%d}}", period_ms);
	f = fh_new(sections, "/etc/shopkeep/rules.json");
	if (f && fh_load_dir(f, probe_dir, NULL, "fh_probe") != 1) {
		diag("fh_probe did not load: %s", fh_error(f));
		fh_free(f);
		f = NULL;
	}
	return f;
}

static void test_clock(void)
{
	fh *f = probe_host(1000);

	if (!ok(f != NULL, "clock: fake host with fh_probe"))
		return;
	is_int(fh_now_ms(f), FH_START_NOW_MS, "wall clock starts at FH_START_NOW_MS");
	is_int(fh_mono_ms(f), FH_START_MONO_MS, "monotonic clock starts at FH_START_MONO_MS");
	is_int(fh_wake_at(f), FH_START_MONO_MS + 1000, "the host asked to be woken for the first tick");
	fh_advance(f, 999);
	is_int(fh_log_find(f, "tick "), 0, "no tick before the period");
	fh_advance(f, 1);
	is_int(fh_log_find(f, "tick "), 1, "one tick at the period");
	is_int(fh_log_find(f, "tick 1 at 2000"), 1, "fired at the due time");
	fh_advance(f, 3500);
	is_int(fh_log_find(f, "tick "), 4, "one tick per period crossed");
	is_int(fh_log_find(f, "tick 3 at 4000"), 1, "each at its own time");
	is_int(fh_mono_ms(f), 5500, "the clock ends where asked");
	is_int(fh_now_ms(f), FH_START_NOW_MS + 4500, "the wall clock moved as much");

	fh_chat(f, "c2", "b2", "once 250");
	fh_advance(f, 249);
	is_int(fh_nsends(f), 0, "one-shot not yet fired");
	fh_advance(f, 1);
	is_int(fh_nsends(f), 1, "one-shot fired at its time");
	is_str(last_text(f), "fired", "its send");
	is_str(fh_send_at(f, 0)->chat_id, "c2", "to the chat copied at registration");
	is_str(fh_send_at(f, 0)->buyer_id, "b2", "and the buyer");
	fh_advance(f, 10000);
	is_int(fh_nsends(f), 1, "a one-shot fires once");
	is_int(fh_log_find(f, "tick "), 14, "the repeating timer kept going");

	fh_chat(f, "c2", "b2", "once 0");
	fh_advance(f, 0);
	is_int(fh_nsends(f), 2, "a zero delay fires on fh_advance(0)");

	fh_unload(f);
	is_int(fh_log_find(f, "fini ticks=14"), 1, "fini ran with the plugin's state");
	fh_advance(f, 10000);
	is_int(fh_log_find(f, "tick "), 14, "no tick after unload");
	fh_free(f);
}

static void test_sends(void)
{
	fh *f = probe_host(60000);
	char uuid[40], cmd[64];
	const fh_send *s;

	if (!ok(f != NULL, "sends: fake host with fh_probe"))
		return;
	fh_chat(f, "c1", "b1", "send");
	s = fh_send_at(f, 0);
	if (!ok(s != NULL, "a send is recorded"))
		goto out;
	is_str(s->uuid, "fh-1", "uuid fh-1");
	is_str(s->plugin, "fh_probe", "with the plugin's name");
	is_str(s->tag, "t1", "and its tag");
	is_str(s->text, "probe", "and its text");
	is_str(s->detail, "", "no detail while pending");
	snprintf(uuid, sizeof uuid, "%s", s->uuid);
	snprintf(cmd, sizeof cmd, "status %s", uuid);

	fh_chat(f, "c1", "b1", cmd);
	is_str(last_text(f), "status 0 -", "send_status: pending");
	is_int(fh_complete_send(f, uuid, 1, "m-77"), 0, "fh_complete_send");
	is_int(fh_log_find(f, "sent ok=1 m-77"), 1, "the plugin's callback saw the message id");
	fh_chat(f, "c1", "b1", cmd);
	is_str(last_text(f), "status 1 m-77", "send_status: sent, with the message id");
	is_int(fh_complete_send(f, uuid, 0, "late"), -1, "a finished send cannot finish again");
	is_int(fh_complete_send(f, "nope", 1, NULL), -1, "an unknown uuid is refused");
	fh_chat(f, "c1", "b1", "status nope");
	ok(strncmp(last_text(f), "status ", 7) == 0 && strcmp(last_text(f), "status 0 -") != 0,
	   "send_status of an unknown uuid is an error (%s)", last_text(f));

	fh_chat(f, "c1", "b1", "send");
	s = fh_send_at(f, fh_nsends(f) - 1);
	is_int(fh_complete_send(f, s->uuid, 0, "blocked"), 0, "a refusal");
	is_int(fh_log_find(f, "sent ok=0 blocked"), 1, "reaches the plugin with the reason");
	is_int(s->state, 2, "recorded as refused");

	fh_fail_sends(f, SK_ERR_FULL);
	{
		size_t n = fh_nsends(f);

		fh_chat(f, "c1", "b1", "send");
		is_int(fh_nsends(f), n, "fh_fail_sends: nothing recorded");
		is_int(fh_log_find(f, "send failed"), 1, "the plugin saw the error");
	}
	fh_fail_sends(f, 0);

	host_send_result(fh_host(f), "old-uuid", 1, "m-9", "fh_probe", "t9");
	is_int(fh_log_find(f, "result old-uuid t9 1"), 1, "a send of an earlier run comes back as SK_EV_SEND_RESULT");

	fh_clear_sends(f);
	is_int(fh_nsends(f), 0, "fh_clear_sends");
	ok(fh_send_find(f, uuid) != NULL, "cleared sends can still be found by uuid");
out:
	fh_free(f);
}

static void test_services(void)
{
	fh *f = probe_host(60000);
	sqlite3_stmt *st;
	int rows = -1;

	if (!ok(f != NULL, "services: fake host with fh_probe"))
		return;
	fh_chat(f, "c1", "b1", "whoami");
	is_str(last_text(f), FH_ACCOUNT " " FH_OWN_ID " /etc/shopkeep/rules.json", "account, own id and rules path");

	fh_chat(f, "c1", "b1", "mtop");
	is_int(fh_nmtop(f), 1, "an mtop call is recorded");
	if (fh_mtop_at(f, 0)) {
		is_str(fh_mtop_at(f, 0)->api, "mtop.fh.probe", "with its api");
		is_str(fh_mtop_at(f, 0)->data, "{\"q\":1}", "and its data");
	}
	is_int(fh_mtop_reply(f, 0, SK_MTOP_OK, "SUCCESS::ok", "{\"a\":1}"), 0, "fh_mtop_reply");
	is_str(last_text(f), "mtop 0 SUCCESS::ok {\"a\":1}", "the plugin got the answer");
	is_int(fh_mtop_reply(f, 0, SK_MTOP_OK, NULL, NULL), -1, "a call is answered once");
	fh_chat(f, "c1", "b1", "mtop");
	is_int(fh_nmtop(f), 2, "a second call, left unanswered (fh_free answers it)");

	fh_chat(f, "c1", "b1", "work");
	fh_work_drain(f);
	is_str(last_text(f), "work 5050", "work ran on the worker, done on the loop");

	fh_chat(f, "c1", "b1", "state");
	is_str(last_text(f), "state 2", "session connected at start");
	fh_set_state(f, SK_STATE_RECONNECTING);
	is_int(fh_log_find(f, "session 2->3"), 1, "fh_set_state dispatches SK_EV_SESSION");
	fh_chat(f, "c1", "b1", "state");
	is_str(last_text(f), "state 3", "and session_state follows");

	fh_chat(f, "c1", "b1", "db");
	fh_chat(f, "c1", "b1", "db");
	is_str(last_text(f), "db 2", "the plugin's migration ran; rows insert (unique message ids)");
	if (sqlite3_prepare_v2(fh_db(f), "SELECT count(*) FROM fh_probe_seen", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			rows = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	is_int(rows, 2, "visible through fh_db");

	fh_chat(f, "c1", FH_OWN_ID, "state");
	is_str(last_text(f), "db 2", "own messages are marked own (SK_F_SKIP_OWN holds them back)");
	fh_free(f);
}

/* sk_http_post through the fake host (and the real host's checks). */
static void test_http(void)
{
	static const char *const bad_urls[] = { "ftp://x/", "HTTPS://x/", "http://user:pw@x/", "http:///path",
		"http://x/a b", "http://x/\x01", "", NULL };
	static const char *const bad_headers[] = { "X-A: 1\r\nX-B: 2", "X-A: 1\rX-B: 2", "X-A: 1\n\nX-B: 2",
		"Bad Name: 1", "Host: evil", "content-length: 5", "Connection: close", "NoColon", ": x",
		"X-A: \x01", "X-A: one\r", NULL };
	fh *f = probe_host(60000);
	const fh_http *r;
	size_t n, freed, k;
	char v[128];

	if (!ok(f != NULL, "http: fake host with fh_probe"))
		return;
	fh_chat(f, "c1", "b1", "http http://127.0.0.1:8080/hook?x=1");
	is_int(fh_nhttp(f), 1, "http: a POST is recorded");
	if ((r = fh_http_at(f, 0))) {
		is_str(r->url, "http://127.0.0.1:8080/hook?x=1", "http: with its url");
		ok(r->len == 7 && !strcmp(r->body, "{\"q\":1}"), "http: its body (%s)", r->body);
		is_int(r->timeout_ms, 2500, "http: its timeout");
		ok(strstr(r->headers, "X-Probe: 1\r\n") != NULL, "http: the plugin's header line, ended with CRLF");
		ok(!fh_http_header(f, 0, "content-type", v, sizeof v) && !strcmp(v, "application/json"),
		   "http: the host adds Content-Type: application/json");
		ok(!fh_http_header(f, 0, "User-Agent", v, sizeof v) && strstr(v, "shopkeep"), "http: and a User-Agent (%s)", v);
	}
	is_int(fh_nsends(f), 0, "http: no callback before the answer");
	is_int(fh_http_reply(f, 0, 201, "created"), 0, "http: fh_http_reply");
	is_str(last_text(f), "http 201 created", "http: the plugin got the status and the body");
	is_int(fh_log_find(f, "http freed"), 1, "http: then its free_ud, once");
	is_int(fh_http_reply(f, 0, 200, NULL), -1, "http: a request is answered once");

	fh_chat(f, "c1", "b1", "http https://hooks.example/x");
	is_int(fh_http_reply(f, 1, SK_ERR_IO, NULL), 0, "http: a transport failure");
	is_str(last_text(f), "http -9 ", "http: no answer reaches the plugin as SK_ERR_IO");
	fh_chat(f, "c1", "b1", "http http://h/");
	fh_http_reply(f, 2, 0, "x");
	is_str(last_text(f), "http -9 x", "http: a status outside 100..599 becomes SK_ERR_IO");

	n = fh_nhttp(f);
	freed = fh_log_find(f, "http freed");
	for (int i = 0; bad_urls[i]; i++) {
		char cmd[64];

		snprintf(cmd, sizeof cmd, "http %s", bad_urls[i]);
		fh_chat(f, "c1", "b1", cmd);
		is_str(last_text(f), "http rc -1", "http: url \"%s\" refused with SK_ERR_INVAL", bad_urls[i]);
	}
	for (int i = 0; bad_headers[i]; i++) {
		char cmd[64];

		snprintf(cmd, sizeof cmd, "httph %s", bad_headers[i]);
		fh_chat(f, "c1", "b1", cmd);
		is_str(last_text(f), "httph -1", "http: headers #%d refused with SK_ERR_INVAL", i);
	}
	is_int(fh_nhttp(f), n, "http: nothing refused reached the backend");
	is_int(fh_log_find(f, "http freed") - freed, 7, "http: each refused request's free_ud ran once");
	is_int(fh_log_find(f, "evil"), 0, "http: a refused header's value is not logged");

	fh_chat(f, "c1", "b1", "httph X-A:  one \nX-B: 2\n");
	is_str(last_text(f), "httph 0", "http: two lines, a trailing newline");
	r = fh_http_at(f, n);
	ok(r && strstr(r->headers, "X-A: one\r\nX-B: 2\r\n") && r->timeout_ms == 10000,
	   "http: trimmed, CRLF-ended; timeout 0 is 10 s");
	fh_chat(f, "c1", "b1", "httph Content-Type: text/plain; charset=utf-8\nUser-Agent: probe");
	ok((r = fh_http_at(f, n + 1)) && !fh_http_header(f, n + 1, "Content-Type", v, sizeof v) &&
	   !strcmp(v, "text/plain; charset=utf-8") && !strstr(r->headers, "application/json") &&
	   !strstr(r->headers, "shopkeep"), "http: the plugin's Content-Type and User-Agent replace the host's");
	fh_fail_http(f, 1);
	fh_chat(f, "c1", "b1", "http http://x/");
	is_str(last_text(f), "http rc -9", "http: a request the backend cannot start: SK_ERR_IO");
	fh_fail_http(f, 0);

	fh_chat(f, "c1", "b1", "http http://x/pending");
	k = fh_nhttp(f) - 1;
	/* another one answered while it is in flight must not take it off the
	 * host's list (it would never be cancelled nor freed) */
	fh_chat(f, "c1", "b1", "http http://x/answered");
	is_int(fh_http_reply(f, k + 1, 200, "done"), 0, "http: a second request answered while the first waits");
	freed = fh_log_find(f, "http freed");
	n = fh_nsends(f);
	fh_unload(f);
	ok(fh_http_at(f, k) && fh_http_at(f, k)->cancelled, "http: unload cancels the request in flight");
	is_int(fh_log_find(f, "http freed") - freed, 1, "http: and runs its free_ud once");
	is_int(fh_http_reply(f, k, 200, NULL), -1, "http: a cancelled request cannot be answered");
	is_int(fh_nsends(f), n, "http: its callback never ran");
	fh_free(f);

	if ((f = fh_new(NULL, NULL))) {
		const char *const names[] = { "fh_probe", NULL };
		char *argv[] = { "fh_http", NULL };
		sbuf errs = { 0 };

		is_int(host_command(fh_host(f), probe_dir, (char *const *)names, 1, argv, &errs), 0,
		       "http: a command process gets SK_ERR_STATE, free_ud runs once");
		sbuf_free(&errs);
		fh_free(f);
	}
}

static void test_load_errors(void)
{
	fh *f = fh_new("{\"fh_probe\":{\"bogus\":1}}", NULL);
	sbuf errs = { 0 };
	char so[600];

	if (!ok(f != NULL, "load errors: fake host"))
		return;
	is_int(fh_load(f, "/nonexistent/x.so", &errs), -1, "a missing file does not load");
	ok(errs.len > 0 && strstr(fh_error(f), "x.so") != NULL, "the reason names the file (%s)", fh_error(f));
	snprintf(so, sizeof so, "%s/fh_probe.so", probe_dir);
	is_int(fh_load(f, so, NULL), -1, "an undeclared config key refuses the plugin");
	ok(strstr(fh_error(f), "bogus") != NULL, "and the reason names the key (%s)", fh_error(f));
	is_int(fh_nsends(f), 0, "nothing sent");
	ok(fh_new("[1]", NULL) == NULL, "fh_new refuses sections that are not an object");
	sbuf_free(&errs);
	fh_free(f);
}

int main(void)
{
	fh_build_path(probe_dir, sizeof probe_dir, "tests/plugins");
	test_clock();
	test_sends();
	test_services();
	test_http();
	test_load_errors();
	return tap_done();
}
