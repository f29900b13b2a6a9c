/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hello.c - plugins/hello through the fake host: the real
 * hello.so, loaded by the real loader, answers "hello" in any case and only
 * from others, once, to the right chat and buyer.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

#define REPLY "hello! (from the hello plugin)"

/* The number of log lines at SK_LOG_WARN or worse. */
static int warnings(fh *f)
{
	int n = 0;

	for (size_t i = 0; i < fh_nlogs(f); i++)
		if (fh_log_at(f, i)->level <= SK_LOG_WARN)
			n++;
	return n;
}

int main(void)
{
	char so[512];
	const fh_send *s;
	fh *f = fh_new("{\"hello\":{}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	fh_build_path(so, sizeof so, "plugins/hello.so");
	if (!ok(fh_load(f, so, NULL) == 0, "hello.so loads")) {
		diag("%s: %s", so, fh_error(f));
		fh_free(f);
		return tap_done();
	}
	is_str(fh_error(f), "", "no load errors");

	fh_chat(f, "chat1", "buyer1", "hello there");
	is_int(fh_nsends(f), 1, "\"hello there\" gets one reply");
	s = fh_send_at(f, 0);
	ok(s != NULL, "the reply is recorded");
	if (s) {
		is_str(s->text, REPLY, "its text");
		is_str(s->chat_id, "chat1", "to the chat of the message");
		is_str(s->buyer_id, "buyer1", "to its sender");
		is_str(s->plugin, "hello", "made by hello");
		is_int(s->image, 0, "a text");
		is_int(s->state, 0, "pending until the platform answers");
	}

	fh_chat(f, "chat2", "buyer2", "Oh, HeLLo!");
	is_int(fh_nsends(f), 2, "\"Oh, HeLLo!\" gets a reply too (any case)");
	s = fh_send_at(f, 1);
	if (s) {
		is_str(s->chat_id, "chat2", "to the second chat");
		is_str(s->buyer_id, "buyer2", "to the second buyer");
	}

	fh_chat(f, "chat1", "buyer1", "bye");
	fh_chat(f, "chat1", "buyer1", "");
	fh_chat(f, "chat1", "buyer1", "hell o");
	is_int(fh_nsends(f), 2, "\"bye\", \"\" and \"hell o\" get none");

	fh_chat(f, "chat1", FH_OWN_ID, "hello from the seller");
	fh_echo(f, "chat1", REPLY);
	is_int(fh_nsends(f), 2, "our own hello and the echo of the reply get none");

	fh_trade(f, "chat1", "buyer1", "4000000001", SK_TRADE_PAID);
	is_int(fh_nsends(f), 2, "a trade card gets none");

	s = fh_send_at(f, 0);
	if (s) {
		char uuid[40];

		snprintf(uuid, sizeof uuid, "%s", s->uuid);
		is_int(fh_complete_send(f, uuid, 1, "mid-1"), 0, "the first reply completes");
		is_int(fh_send_find(f, uuid)->state, 1, "it is sent");
		is_str(fh_send_find(f, uuid)->detail, "mid-1", "with the message id");
		is_int(fh_complete_send(f, uuid, 1, "mid-1"), -1, "completing it again is refused");
	}
	s = fh_send_at(f, 1);
	if (s) {
		is_int(fh_complete_send(f, s->uuid, 0, "risk"), 0, "the second reply is refused by the platform");
		is_int(s->state, 2, "it is refused");
	}
	is_int(warnings(f), 0, "no warnings or errors logged");

	fh_unload(f);
	fh_chat(f, "chat1", "buyer1", "hello again");
	is_int(fh_nsends(f), 2, "after unload nothing answers");
	is_int(host_plugins(fh_host(f))[0] == NULL, 1, "no plugin left running");
	fh_free(f);
	return tap_done();
}
