/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_dedup.c - plugins/dedup through the fake host: the real
 * dedup.so (loaded before hello.so, as in plugins.load) lets each message id
 * through once, across an unload and reload on the same database, until the
 * TTL prunes it; keys message updates by card, status and text; and checks
 * the optional text window and age limit and its config.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define REPLY "hello! (from the hello plugin)"

/* Returns the number of rows of dedup_seen, -1 on error. */
static int rows(fh *f)
{
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_prepare_v2(fh_db(f), "SELECT count(*) FROM dedup_seen", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Dispatches e; returns 1 when a handler stopped it, 0 when it went through. */
static int stopped(fh *f, const sk_event *e)
{
	int64_t before = host_get_stats(fh_host(f))->stopped;

	fh_dispatch(f, e);
	return host_get_stats(fh_host(f))->stopped > before;
}

/* A buyer's chat text with the given message id. */
static sk_event chat(fh *f, const char *mid, const char *chat_id, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.message_id = mid;
	e.chat_id = chat_id;
	e.sender_id = "buyer1";
	e.text = text;
	return e;
}

/* Returns a fake host with dedup.so (and hello.so when with_hello) loaded
 * under sections, or NULL after reporting why. */
static fh *start(const char *sections, int with_hello)
{
	char so[512];
	fh *f = fh_new(sections, NULL);

	if (!f)
		return NULL;
	if (fh_load(f, fh_build_path(so, sizeof so, "plugins/dedup.so"), NULL) != 0 ||
	    (with_hello && fh_load(f, fh_build_path(so, sizeof so, "plugins/hello.so"), NULL) != 0)) {
		diag("load %s: %s", sections, fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* Loads dedup.so under sections and checks that it is refused, with want in
 * the load errors or the log. */
static void config_refused(const char *sections, const char *want, const char *what)
{
	char so[512];
	fh *f = fh_new(sections, NULL);

	if (!ok(f != NULL, "fake host for %s", what))
		return;
	is_int(fh_load(f, fh_build_path(so, sizeof so, "plugins/dedup.so"), NULL), -1, "%s is refused", what);
	if (!ok(strstr(fh_error(f), want) != NULL || fh_log_find(f, want) > 0, "the error names %s", want))
		diag("error: %s", fh_error(f));
	is_int(host_plugins(fh_host(f))[0] == NULL, 1, "nothing left running");
	fh_free(f);
}

/* Same ids, empty ids, own messages, trade cards, updates, persistence, TTL. */
static void test_ids(void)
{
	char so[512];
	sk_event e;
	fh *f = start("{\"dedup\":{\"ttl_s\":100,\"prune_every_s\":10},\"hello\":{}}", 1);

	if (!ok(f != NULL, "dedup.so and hello.so load"))
		return;
	e = chat(f, "m1", "c1", "hello");
	fh_dispatch(f, &e);
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 1, "the same message id twice: one reply");
	e = chat(f, "m2", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 2, "the same text with another id: replied (no text window by default)");
	fh_advance(f, 0);
	is_int(rows(f), 2, "two rows in dedup_seen (once the dispatch is over)");

	e = chat(f, "", "c1", "hello");
	fh_dispatch(f, &e);
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 4, "an empty message id passes undeduplicated");
	fh_advance(f, 0);
	is_int(rows(f), 2, "and is not stored");

	e = chat(f, "own1", "c1", "hello");
	e.sender_id = FH_OWN_ID;
	e.own = 1;
	is_int(stopped(f, &e), 0, "our own message passes once");
	is_int(stopped(f, &e), 1, "and is stopped when pushed again");
	e.message_id = "echo1";
	e.echo = 1;
	is_int(stopped(f, &e), 0, "an echo passes once");
	is_int(stopped(f, &e), 1, "and is stopped when pushed again");

	e = fh_event(f, SK_EV_TRADE);
	e.message_id = "card1";
	e.im_id = "101.PNM";
	e.chat_id = "c1";
	e.order_id = "4000000001";
	e.trade = SK_TRADE_PAID;
	is_int(stopped(f, &e), 0, "a trade card passes");
	is_int(stopped(f, &e), 1, "the same card again is stopped");

	e.type = SK_EV_MSG_UPDATE;
	e.text = "[已付款]";
	is_int(stopped(f, &e), 0, "an update of that card (same ids) passes");
	is_int(stopped(f, &e), 1, "the same update again is stopped");
	e.trade = SK_TRADE_SHIPPED;
	e.text = "[已发货]";
	is_int(stopped(f, &e), 0, "a later update with a new status passes");
	is_int(stopped(f, &e), 1, "and is stopped when pushed again");
	e.text = "[已发货] 2";
	is_int(stopped(f, &e), 0, "the same status with a new text passes");
	e.im_id = "";
	e.message_id = "";
	is_int(stopped(f, &e), 0, "an update without any id passes");
	is_int(stopped(f, &e), 0, "undeduplicated");

	/* The front cache answers hot duplicates without the database. */
	is_int(sqlite3_exec(fh_db(f), "DELETE FROM dedup_seen WHERE key = 'm2'", NULL, NULL, NULL), SQLITE_OK,
	       "m2's row deleted behind dedup's back");
	e = chat(f, "m2", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 4, "m2 pushed again: still no reply (the cache knows it)");

	/* A fresh plugin instance has an empty cache: only the database knows. */
	fh_unload(f);
	is_int(host_plugins(fh_host(f))[0] == NULL, 1, "unloaded");
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/dedup.so"), NULL) == 0 &&
	   fh_load(f, fh_build_path(so, sizeof so, "plugins/hello.so"), NULL) == 0,
	   "reloaded on the same database");
	e = chat(f, "m1", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 4, "m1 pushed again after the reload: no reply");
	e = chat(f, "m3", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 5, "a new id after the reload: replied");

	/* ttl 100 s, pruned every 10 s. */
	fh_advance(f, 50 * 1000);
	ok(rows(f) > 0, "rows younger than the TTL are kept");
	e = chat(f, "m1", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 5, "m1 within the TTL: still no reply");
	fh_advance(f, 45 * 1000);
	ok(rows(f) > 0, "after 95 s (TTL 100 s) the rows are still there");
	fh_advance(f, 60 * 1000);
	is_int(rows(f), 0, "after the TTL the prune timer emptied dedup_seen");
	e = chat(f, "m1", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 6, "m1 after the TTL is new again");
	fh_advance(f, 0);
	is_int(rows(f), 1, "and stored again");
	fh_free(f);
}

/* A message is written down after its dispatch, so that a crash before the
 * handlers after dedup did their part (autoreply queueing the reply) lets
 * the platform's next push of it through: written during the dispatch, a
 * kill -9 there lost the reply (make soak). */
static void test_after_dispatch(void)
{
	char so[512];
	sk_event e;
	fh *f = start("{\"dedup\":{\"text_window_s\":60},\"hello\":{}}", 1);

	if (!ok(f != NULL, "dedup.so and hello.so load"))
		return;
	e = chat(f, "k1", "c1", "hello");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 1, "after dispatch: the reply is queued");
	is_int(rows(f), 0, "and nothing is in dedup_seen yet (a kill -9 now: the push comes again and passes)");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 1, "pushed again before the write: still stopped (this run knows it)");
	e = chat(f, "k2", "c1", "hello");
	is_int(stopped(f, &e), 1, "the same text within the window, before the write: stopped");
	fh_advance(f, 0);
	is_int(rows(f), 3, "right after the dispatch: the ids (k1, k2) and the text are written");
	/* a restart that came after the write: the database knows */
	e = chat(f, "k3", "c1", "hello again");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 2, "another text: replied");
	fh_unload(f);
	is_int(rows(f), 5, "an unload writes what is pending (k3 and its text)");
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/dedup.so"), NULL) == 0 &&
	   fh_load(f, fh_build_path(so, sizeof so, "plugins/hello.so"), NULL) == 0, "reloaded on the same database");
	e = chat(f, "k1", "c1", "hello");
	fh_dispatch(f, &e);
	e = chat(f, "k3", "c1", "hello again");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 2, "k1 and k3 pushed again after the reload: no reply");
	fh_free(f);
}

/* text_window_s: the same (chat, text) within the window, buyers only. */
static void test_text_window(void)
{
	sk_event e;
	fh *f = start("{\"dedup\":{\"text_window_s\":60}}", 0);

	if (!ok(f != NULL, "dedup.so loads with a text window"))
		return;
	e = chat(f, "t1", "c1", "hi");
	is_int(stopped(f, &e), 0, "a text passes");
	e = chat(f, "t2", "c1", "hi");
	is_int(stopped(f, &e), 1, "the same text in the same chat with a new id is stopped");
	e = chat(f, "t3", "c2", "hi");
	is_int(stopped(f, &e), 0, "the same text in another chat passes");
	e = chat(f, "t4", "c1", "hi there");
	is_int(stopped(f, &e), 0, "another text in the same chat passes");
	e = chat(f, "t5", "c1", "hi");
	e.sender_id = FH_OWN_ID;
	e.own = 1;
	is_int(stopped(f, &e), 0, "our own message with that text passes");
	e.message_id = "t6";
	is_int(stopped(f, &e), 0, "twice: own messages never go through the text window");
	e.message_id = "t7";
	e.echo = 1;
	is_int(stopped(f, &e), 0, "nor do echoes");
	fh_advance(f, 30 * 1000);
	e = chat(f, "t8", "c1", "hi");
	is_int(stopped(f, &e), 1, "30 s later: still within the window");
	fh_advance(f, 31 * 1000);
	e = chat(f, "t9", "c1", "hi");
	is_int(stopped(f, &e), 0, "61 s after it passed: passes again");
	e = chat(f, "t10", "c1", "hi");
	is_int(stopped(f, &e), 1, "and starts a new window");
	e = chat(f, "t9", "c1", "hi");
	is_int(stopped(f, &e), 1, "an id already seen is stopped by id");
	fh_free(f);
}

/* max_age_s: old messages are dropped, trade events never. */
static void test_max_age(void)
{
	sk_event e;
	fh *f = start("{\"dedup\":{\"max_age_s\":60}}", 0);

	if (!ok(f != NULL, "dedup.so loads with max_age_s"))
		return;
	e = chat(f, "a1", "c1", "old");
	e.created_ms = fh_now_ms(f) - 120 * 1000;
	is_int(stopped(f, &e), 1, "a 120 s old message is dropped");
	e = chat(f, "a2", "c1", "recent");
	e.created_ms = fh_now_ms(f) - 30 * 1000;
	is_int(stopped(f, &e), 0, "a 30 s old message passes");
	e = chat(f, "a3", "c1", "unknown age");
	e.created_ms = 0;
	is_int(stopped(f, &e), 0, "a message of unknown age passes");

	e = fh_event(f, SK_EV_TRADE);
	e.message_id = "a4";
	e.chat_id = "c1";
	e.order_id = "4000000002";
	e.trade = SK_TRADE_PAID;
	e.created_ms = fh_now_ms(f) - 3600 * 1000;
	is_int(stopped(f, &e), 0, "an hour old trade card is never dropped by age");
	is_int(stopped(f, &e), 1, "but is still deduplicated");
	e.type = SK_EV_MSG_UPDATE;
	e.im_id = "102.PNM";
	e.text = "[已付款]";
	is_int(stopped(f, &e), 0, "nor an old update carrying a trade status");
	e = fh_event(f, SK_EV_PAYMENT);
	e.message_id = "a5";
	e.created_ms = fh_now_ms(f) - 3600 * 1000;
	is_int(stopped(f, &e), 0, "nor an old payment event");
	fh_free(f);

	f = start("{\"dedup\":{}}", 0);
	if (!ok(f != NULL, "dedup.so loads with defaults"))
		return;
	e = chat(f, "b1", "c1", "old");
	e.created_ms = fh_now_ms(f) - 30LL * 24 * 3600 * 1000;
	is_int(stopped(f, &e), 0, "no age limit by default: a month old message passes");
	fh_free(f);
}

/* Events dedup does not subscribe to are never stopped by it. */
static void test_not_subscribed(void)
{
	sk_event e;
	fh *f = start("{\"dedup\":{}}", 0);

	if (!ok(f != NULL, "dedup.so loads"))
		return;
	e = fh_event(f, SK_EV_TYPING);
	e.message_id = "x1";
	stopped(f, &e);
	is_int(stopped(f, &e), 0, "typing events are not deduplicated");
	e = fh_event(f, SK_EV_READ);
	e.message_id = "x1";
	stopped(f, &e);
	is_int(stopped(f, &e), 0, "nor read receipts");
	is_int(rows(f), 0, "nothing stored for them");
	fh_set_state(f, SK_STATE_RECONNECTING);
	is_int(rows(f), 0, "nor for session events");
	fh_free(f);
}

int main(void)
{
	test_ids();
	test_after_dispatch();
	test_text_window();
	test_max_age();
	test_not_subscribed();
	config_refused("{\"dedup\":{\"ttl_s\":\"7d\"}}", "dedup.ttl_s", "a string ttl_s");
	config_refused("{\"dedup\":{\"text_window_s\":true}}", "dedup.text_window_s", "a boolean text_window_s");
	config_refused("{\"dedup\":{\"max_age_s\":1.5}}", "dedup.max_age_s", "a real max_age_s");
	config_refused("{\"dedup\":{\"prune_every_s\":[1]}}", "dedup.prune_every_s", "a list prune_every_s");
	config_refused("{\"dedup\":{\"window\":10}}", "dedup.window", "an unknown key");
	config_refused("{\"dedup\":{\"ttl_s\":0}}", "dedup.ttl_s must be a positive", "ttl_s 0");
	config_refused("{\"dedup\":{\"max_age_s\":-1}}", "dedup.max_age_s must be 0", "a negative max_age_s");
	return tap_done();
}
