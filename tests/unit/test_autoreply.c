/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_autoreply.c - plugins/autoreply through the fake host: the
 * real autoreply.so reads rules files written to a temporary directory and
 * answers buyers' texts. Match kinds, priority and file order, item rules
 * before general ones, item and account defaults with once (kept across an
 * unload and reload on the same database), variables, validation errors that
 * keep the old rules, reload on "core.reload", debounce, manual takeover and
 * its expiry, banned words, empty replies, images, and events never answered.
 * The decision log: every decision kind lands in autoreply_log, send outcomes
 * from the callback and from SK_EV_SEND_RESULT after a restart, pruning.
 * The control commands (pause_chat really pausing, resume_chat, paused_chats,
 * decisions, bad data) and rules_check (the example file, the loader's own
 * messages), called from the .so without a host as well as through it.
 */
#include "autoreply_fixture.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_match(void)
{
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"多少钱\",\"PRICE\"],\"reply\":\"r-contains\"},"
		    "{\"keywords\":[\"hi\"],\"match\":\"exact\",\"reply\":\"r-exact\"},"
		    "{\"keywords\":[\"^order [0-9]+$\",\"^单号\"],\"match\":\"regex\",\"reply\":\"r-regex\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "autoreply.so loads with a rules file"))
		return;
	ok(fh_log_find(f, "3 keyword rules") > 0, "the load is logged with its counts");
	is_str(ask(f, "c1", "", "what is the price?"), "r-contains", "contains, ASCII case-insensitive");
	is_str(ask(f, "c1", "", "这个多少钱呀"), "r-contains", "contains, CJK bytes");
	is_str(ask(f, "c1", "", "多少"), "", "a part of the keyword does not match");
	is_str(ask(f, "c1", "", "  hi \n"), "r-exact", "exact, surrounding blanks ignored");
	is_str(ask(f, "c1", "", "hi there"), "", "exact does not match a longer text");
	is_str(ask(f, "c1", "", "order 42"), "r-regex", "regex, first pattern");
	is_str(ask(f, "c1", "", "单号多少钱"), "r-contains", "rules in file order: contains comes first");
	is_str(ask(f, "c1", "", "单号 1"), "r-regex", "regex, second pattern (any-of)");
	is_str(ask(f, "c1", "", "ORDER 42"), "", "regex is case-sensitive as written");
	is_str(ask(f, "c1", "", "order 42x"), "", "regex anchors hold");
	is_str(fh_send_at(f, 0) ? "" : "none", "none", "no send for a text no rule matches");
	fh_clear_sends(f);
	say(f, "c9", "", "price");
	ok(fh_nsends(f) == 1 && !strcmp(fh_send_at(f, 0)->chat_id, "c9") &&
	   !strcmp(fh_send_at(f, 0)->buyer_id, "buyer1"), "the reply goes to the chat and the buyer");
	fh_free(f);
}

static void test_priority_and_items(void)
{
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"apple\"],\"reply\":\"p10\",\"priority\":10},"
		    "{\"keywords\":[\"apple\"],\"reply\":\"p5-first\",\"priority\":5},"
		    "{\"keywords\":[\"apple\"],\"reply\":\"p5-second\",\"priority\":5},"
		    "{\"keywords\":[\"ship\"],\"reply\":\"general\",\"priority\":0},"
		    "{\"keywords\":[\"ship\"],\"reply\":\"item 40004\",\"priority\":100,\"item_id\":\"40004\"},"
		    "{\"keywords\":[\"ship\"],\"reply\":\"item 50005\",\"priority\":100,\"item_id\":50005},"
		    "{\"keywords\":[\"pear\"],\"reply\":\"disabled\",\"enabled\":false},"
		    "{\"keywords\":[\"pear\"],\"reply\":\"enabled\",\"priority\":99}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	is_str(ask(f, "c1", "", "apple?"), "p5-first", "lower priority first, ties in file order");
	is_str(ask(f, "c1", "40004", "ship?"), "item 40004", "the item's rule before a general one of lower priority");
	is_str(ask(f, "c1", "50005", "ship?"), "item 50005", "item_id given as a number");
	is_str(ask(f, "c1", "777", "ship?"), "general", "another item: the general rule");
	is_str(ask(f, "c1", "", "ship?"), "general", "no item: the general rule");
	is_str(ask(f, "c1", "", "pear"), "enabled", "a disabled rule is skipped");
	fh_free(f);
}

static void test_defaults_once(void)
{
	char so[512];
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"price\"],\"reply\":\"kw\"},"
		    "{\"keywords\":[\"hello\"],\"reply\":\"hello once\",\"once\":\"chat\",\"id\":\"greet\"}],"
		    "\"item_defaults\":[{\"item_id\":\"40004\",\"reply\":\"item default\",\"once\":\"chat\"}],"
		    "\"default_reply\":{\"reply\":\"account default\",\"once\":\"chat_item\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	is_str(ask(f, "c1", "40004", "anything"), "item default", "no keyword: the item's default");
	is_str(ask(f, "c1", "40004", "anything else"), "", "once per chat: not again");
	is_str(ask(f, "c1", "40004", "price"), "kw", "keyword rules still answer");
	is_str(ask(f, "c2", "40004", "anything"), "item default", "another chat gets it");
	is_str(ask(f, "c1", "888", "anything"), "account default", "another item: the account default");
	is_str(ask(f, "c1", "888", "again"), "", "once per (chat, item): not again");
	is_str(ask(f, "c1", "999", "again"), "account default", "a third item in the chat: again");
	is_str(ask(f, "c1", "", "hello"), "hello once", "a keyword rule with once");
	is_str(ask(f, "c1", "", "hello"), "", "answered once");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "reloaded on the same database");
	is_str(ask(f, "c1", "40004", "anything"), "", "once records survive the reload (item default)");
	is_str(ask(f, "c1", "888", "anything"), "", "and the account default");
	is_str(ask(f, "c1", "", "hello"), "", "and the keyword rule (by its id)");
	is_str(ask(f, "c3", "888", "anything"), "account default", "a new chat still gets it");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"always\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads with a default only"))
		return;
	is_str(ask(f, "c1", "", "a"), "always", "a default without once");
	is_str(ask(f, "c1", "", "b"), "always", "answers every time");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"off\",\"enabled\":false}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads with a disabled default"))
		return;
	is_str(ask(f, "c1", "", "a"), "", "a disabled default answers nothing");
	fh_free(f);
}

/* A message pushed again after a restart, its reply already queued (the
 * process died before dedup wrote the message down; make soak lost such
 * replies when dedup wrote it first): not answered twice, by the send's tag. */
static void test_once_per_message(void)
{
	char so[512];
	sk_event e;
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"hi\"],\"reply\":\"once\",\"once\":\"chat\"}],"
		    "\"default_reply\":{\"reply\":\"re: {message}\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	e = fh_event(f, SK_EV_CHAT_TEXT);
	e.chat_id = "c1";
	e.sender_id = "buyer1";
	e.message_id = "mid-1";
	e.text = "hello";
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 1, "a message is answered");
	is_str(fh_send_at(f, 0)->tag, "reply:mid-1", "its send is tagged reply:<message id>");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "reloaded (a restart)");
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 1, "the same message pushed again: its reply is queued already, not sent again");
	ok(fh_log_find(f, "answered before a restart") > 0, "and the log says why");
	e.message_id = "mid-2";
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 2, "a new message with the same text is answered");
	e.message_id = "mid-3";
	e.text = "hi";
	fh_dispatch(f, &e);
	e.message_id = "mid-4";
	fh_dispatch(f, &e);
	ok(fh_nsends(f) == 3 && !strcmp(fh_send_at(f, 2)->text, "once"), "a once rule: its reply queued once");
	fh_free(f);
}

static void test_variables_empty_image(void)
{
	const fh_send *s;
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"vars\"],\"reply\":\"Hi {buyer_name} ({buyer_id}) re {item_id} in {chat_id}: "
		    "{message} {{ok}}\"},"
		    "{\"keywords\":[\"quiet\"],\"reply\":\"\"},"
		    "{\"keywords\":[\"pic\"],\"reply\":\"see the picture\",\"image\":\"https://img.example/a.jpg\"},"
		    "{\"keywords\":[\"solo\"],\"image\":\"https://img.example/b.jpg\"}],"
		    "\"default_reply\":{\"reply\":\"default\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	is_str(ask(f, "c7", "40004", "vars please"),
	       "Hi Alice (buyer1) re 40004 in c7: vars please {ok}", "every variable substituted, {{ }} literal");
	is_str(ask(f, "c7", "", "be quiet"), "", "an empty reply sends nothing");
	ok(fh_nsends(f) == 0, "not even the default (the chain stops)");
	fh_clear_sends(f);
	say(f, "c7", "", "a pic?");
	is_int(fh_nsends(f), 2, "an image rule: two sends");
	if (fh_nsends(f) == 2) {
		s = fh_send_at(f, 0);
		ok(s->image && !strcmp(s->url, "https://img.example/a.jpg") && s->w == 800 && s->h == 600,
		   "the image first, 800x600");
		s = fh_send_at(f, 1);
		ok(!s->image && !strcmp(s->text, "see the picture"), "then the text");
	}
	fh_clear_sends(f);
	say(f, "c7", "", "solo");
	ok(fh_nsends(f) == 1 && fh_send_at(f, 0)->image && !strcmp(fh_send_at(f, 0)->url, "https://img.example/b.jpg"),
	   "an image without a reply: only the image");
	fh_free(f);
}

static void test_validation_reload(void)
{
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"old\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	is_str(ask(f, "c1", "", "x"), "old", "the first rules answer");

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"new\"},"
		    "{\"keywords\":[\"y\"],\"reply\":\"price {price}\"}]}");
	reload(f, "core");
	ok(fh_log_find(f, "keyword_rules[1].reply: unknown variable {price}") > 0,
	   "an unknown variable is an error naming the rule and field");
	ok(fh_log_find(f, "the rules in force are kept") > 0, "which says the old rules are kept");
	is_str(ask(f, "c1", "", "x"), "old", "and they are");
	is_str(ask(f, "c1", "", "y"), "", "nothing of the broken file is used");

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"new\"}");
	reload(f, "core");
	ok(fh_log_find(f, "not valid JSON") > 0, "broken JSON is logged");
	is_str(ask(f, "c1", "", "x"), "old", "and keeps the old rules");

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"n\"},{\"keywords\":[\"y\"],\"reply\":\"n\"},"
		    "{\"keywords\":[\"z\"],\"match\":\"fuzzy\",\"reply\":\"n\"},"
		    "{\"keywords\":[\"(\"],\"match\":\"regex\",\"reply\":\"n\"},"
		    "{\"keywords\":[],\"reply\":\"n\"},"
		    "{\"keywords\":[\"q\"],\"reply\":\"n\",\"once\":\"forever\",\"priority\":\"high\",\"colour\":1}],"
		    "\"item_defaults\":[{\"reply\":\"n\"}],\"default_reply\":{\"reply\":\"{oops\"}}");
	fh_clear_logs(f);
	reload(f, "core");
	ok(fh_log_find(f, "keyword_rules[2].match: must be contains, exact or regex") > 0, "a bad match");
	ok(fh_log_find(f, "keyword_rules[3].keywords[0]: bad regex") > 0, "a bad regex");
	ok(fh_log_find(f, "keyword_rules[4].keywords: must be a non-empty list") > 0, "no keywords");
	ok(fh_log_find(f, "keyword_rules[5].once: must be") > 0, "a bad once");
	ok(fh_log_find(f, "keyword_rules[5].priority: must be an integer") > 0, "a bad priority");
	ok(fh_log_find(f, "keyword_rules[5].colour: unknown field") > 0, "an unknown field");
	ok(fh_log_find(f, "item_defaults[0].item_id: must be given") > 0, "an item default without its item");
	ok(fh_log_find(f, "default_reply.reply: a '{' without its '}'") > 0, "a stray brace");
	ok(fh_log_find(f, "8 errors") > 0, "every error is reported, then counted");
	is_str(ask(f, "c1", "", "x"), "old", "the old rules are still in force");

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"new\"}]}");
	reload(f, "someplugin");
	is_str(ask(f, "c1", "", "x"), "old", "core.reload from a plugin other than the core is ignored");
	reload(f, "core");
	is_str(ask(f, "c1", "", "x"), "new", "a good file is in force after core.reload");

	unlink(rules);
	reload(f, "core");
	ok(fh_log_find(f, "cannot open") > 0, "a missing file is logged");
	is_str(ask(f, "c1", "", "x"), "new", "and keeps the rules");
	fh_free(f);

	/* A broken file at start: running, without rules, until a reload. */
	write_rules("[1,2]");
	if (!ok((f = start(NODEB, rules)) != NULL, "a broken file at start does not stop the plugin"))
		return;
	ok(fh_log_find(f, "must be a JSON object") > 0, "and is logged");
	is_str(ask(f, "c1", "", "x"), "", "no rules: no reply");
	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"fixed\"}]}");
	reload(f, "core");
	is_str(ask(f, "c1", "", "x"), "fixed", "fixed by a reload");
	fh_free(f);

	if (!ok((f = start(NODEB, NULL)) != NULL, "loads without a rules file"))
		return;
	is_str(ask(f, "c1", "", "x"), "", "and answers nothing");
	fh_free(f);
}

static void test_debounce(void)
{
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"got: {message}\"}}");
	if (!ok((f = start("{\"autoreply\":{}}", rules)) != NULL, "loads with the default debounce"))
		return;
	say(f, "c1", "", "one");
	fh_advance(f, 500);
	say(f, "c1", "", "two");
	say(f, "c2", "", "other chat");
	fh_advance(f, 900);
	say(f, "c1", "", "three");
	is_int(fh_nsends(f), 0, "nothing sent during a burst");
	fh_advance(f, 100);
	ok(fh_nsends(f) == 1 && !strcmp(fh_send_at(f, 0)->chat_id, "c2"), "the other chat is answered 1 s after its message");
	fh_advance(f, 899);
	is_int(fh_nsends(f), 1, "999 ms after the last message: still waiting");
	fh_advance(f, 1);
	is_int(fh_nsends(f), 2, "1000 ms after it: one reply for the burst");
	is_str(last(f), "got: three", "to its last message");
	fh_advance(f, 5000);
	is_int(fh_nsends(f), 2, "and no more");
	fh_free(f);
}

/* The number of rows of autoreply_pending. */
static int npending(fh *f)
{
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_prepare_v2(fh_db(f), "SELECT count(*) FROM autoreply_pending", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A burst waiting for its timer survives a crash; SIGTERM answers it at once. */
static void test_debounce_durable(void)
{
	char so[512], sql[512];
	fh *f;
	sk_event e;

	write_rules("{\"default_reply\":{\"reply\":\"got: {message}\"}}");
	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":3000}}", rules)) != NULL, "durable: loads"))
		return;
	say(f, "c1", "", "one");
	say(f, "c1", "", "two");
	is_int(npending(f), 1, "durable: the waiting burst is recorded, one row per chat");
	fh_advance(f, 1000);
	fh_unload(f);   /* what a crash leaves: the row (fini does not touch it) */
	is_int(fh_nsends(f), 0, "durable: nothing sent before the crash");
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "durable: started again");
	is_int(fh_nsends(f), 0, "durable: not answered before its time");
	fh_advance(f, 2000);
	ok(fh_nsends(f) == 1 && !strcmp(last(f), "got: two"), "durable: answered at its time after the restart");
	is_int(npending(f), 0, "durable: and forgotten");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "durable: started again");
	fh_advance(f, 10000);
	is_int(fh_nsends(f), 1, "durable: an answered burst is not answered again");

	/* past its time at the restart: answered at once */
	say(f, "c2", "", "late");
	fh_unload(f);
	fh_advance(f, 60000);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "durable: started again later");
	fh_advance(f, 0);
	ok(fh_nsends(f) == 2 && !strcmp(last(f), "got: late"), "durable: a burst past its time is answered at once");

	/* a row whose message the log shows as decided: forgotten, not answered twice */
	snprintf(sql, sizeof sql, "INSERT INTO autoreply_pending VALUES ('c3', 'b', 'n', 'dup', '', 'mid-dup', 0);"
		 "INSERT INTO autoreply_log (ms, chat, buyer, message_id, text, decision) "
		 "VALUES (%lld, 'c3', 'b', 'mid-dup', 'dup', 'default')", (long long)fh_now_ms(f));
	is_int(sqlite3_exec(fh_db(f), sql, NULL, NULL, NULL), SQLITE_OK,
	       "durable: a burst recorded as pending and as decided (a crash between the two)");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "durable: started again");
	fh_advance(f, 5000);
	is_int(fh_nsends(f), 2, "durable: a burst already decided before the crash is not answered again");
	is_int(npending(f), 0, "durable: and its row is gone");

	/* core.stopping: every waiting burst answered now */
	say(f, "c4", "", "stop one");
	say(f, "c5", "", "stop two");
	e = fh_event(f, SK_EV_PLUGIN);
	e.topic = "core.stopping";
	e.payload_json = "{}";
	e.from_plugin = "core";
	fh_dispatch(f, &e);
	is_int(fh_nsends(f), 4, "stopping: both waiting bursts answered at once");
	is_int(npending(f), 0, "stopping: none left recorded");
	fh_advance(f, 5000);
	is_int(fh_nsends(f), 4, "stopping: and their timers do not answer again");
	fh_free(f);
}

static void test_takeover(void)
{
	char so[512];
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}", rules)) != NULL, "loads"))
		return;
	fh_echo(f, "c1", "bot");
	is_str(ask(f, "c1", "", "q"), "bot", "an echo of our send does not pause");
	fh_chat(f, "c1", FH_OWN_ID, "let me answer this one");
	ok(fh_log_find(f, "paused for 60 s") > 0, "the seller typing pauses the chat");
	is_str(ask(f, "c1", "", "q"), "", "a paused chat is not answered");
	is_str(ask(f, "c2", "", "q"), "bot", "other chats are");
	fh_advance(f, 59 * 1000);
	is_str(ask(f, "c1", "", "q"), "", "59 s later: still paused");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "reloaded");
	is_str(ask(f, "c1", "", "q"), "", "the pause survives the reload");
	fh_advance(f, 1000);
	is_str(ask(f, "c1", "", "q"), "bot", "after 60 s the bot answers again");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":0}}", rules)) != NULL, "loads with pause_s 0"))
		return;
	fh_chat(f, "c1", FH_OWN_ID, "manual");
	is_str(ask(f, "c1", "", "q"), "bot", "pause_s 0: never paused");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":1000}}", rules)) != NULL, "loads with a debounce"))
		return;
	say(f, "c1", "", "q");
	fh_advance(f, 500);
	fh_chat(f, "c1", FH_OWN_ID, "manual");
	fh_advance(f, 2000);
	is_int(fh_nsends(f), 0, "the seller typing during a burst drops its reply");
	fh_advance(f, 600 * 1000);
	say(f, "c1", "", "q");
	fh_advance(f, 1000);
	is_int(fh_nsends(f), 1, "the default pause is 600 s");
	fh_free(f);
}

static void test_banned(void)
{
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"pay\"],\"reply\":\"加我微信付款\"},"
		    "{\"keywords\":[\"qq\"],\"reply\":\"my qq is 1\"},"
		    "{\"keywords\":[\"echo\"],\"reply\":\"you said {message}\"},"
		    "{\"keywords\":[\"foo\"],\"reply\":\"FOO bar\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads with the default banned words"))
		return;
	is_str(ask(f, "c1", "", "pay"), "", "a reply with 微信 is not sent");
	ok(fh_log_find(f, "banned word \"微信\"") > 0, "the reason is logged");
	is_str(ask(f, "c1", "", "qq?"), "", "banned words compare ASCII case-insensitively");
	is_str(ask(f, "c1", "", "echo 支付宝"), "", "a banned word brought in by a variable");
	is_str(ask(f, "c1", "", "foo"), "FOO bar", "other replies are sent");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"banned_words\":[\"foo\"]}}", rules)) != NULL,
		"loads with banned_words set"))
		return;
	is_str(ask(f, "c1", "", "pay"), "加我微信付款", "the configured list replaces the default");
	is_str(ask(f, "c1", "", "foo"), "", "and is applied");
	fh_free(f);
}

static void test_not_answered(void)
{
	sk_event e;
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"default\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "loads"))
		return;
	fh_trade(f, "c1", "buyer1", "4000000001", SK_TRADE_PAID);
	e = fh_event(f, SK_EV_SYSTEM);
	e.chat_id = "c1";
	e.sender_id = "buyer1";
	e.text = "[我已付款，等待你发货]";
	fh_dispatch(f, &e);
	e.type = SK_EV_MSG_UPDATE;
	fh_dispatch(f, &e);
	fh_image(f, "c1", "buyer1", "https://img.example/x.jpg");
	fh_chat(f, "c1", FH_OWN_ID, "own text");
	is_int(fh_nsends(f), 0, "trade, system, update, image and own events are never answered");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"enabled\":false}}", rules)) != NULL,
		"loads disabled"))
		return;
	is_str(ask(f, "c1", "", "x"), "", "enabled false: nothing answered");
	fh_free(f);
}

/* A bad config is refused and names the key. */
static void config_refused(const char *sections, const char *want, const char *what)
{
	char so[512];
	fh *f = fh_new(sections, NULL);

	if (!ok(f != NULL, "fake host for %s", what))
		return;
	is_int(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL), -1, "%s is refused", what);
	if (!ok(strstr(fh_error(f), want) != NULL || fh_log_find(f, want) > 0, "the error names %s", want))
		diag("error: %s", fh_error(f));
	fh_free(f);
}

/* The example rules file validates and behaves as its comments say. */
static void test_example(void)
{
	char path[512];
	const char *root = getenv("SK_ROOT");
	fh *f;

	snprintf(path, sizeof path, "%s/config/rules.example.json", root && *root ? root : ".");
	if (!ok((f = start(NODEB, path)) != NULL, "loads with rules.example.json"))
		return;
	ok(fh_log_find(f, "5 keyword rules, 1 item defaults, a default reply") > 0, "the example has no errors");
	is_str(ask(f, "c1", "", "这个多少钱"), "Hi Alice, the price is as listed and already the lowest.", "its price rule");
	is_str(ask(f, "c1", "", "订单123456"), "Got it, checking order 订单123456 in chat c1 (buyer1).", "its regex rule");
	is_str(ask(f, "c1", "40004", "size?"), "(2 sends)", "its item rule sends an image and a text");
	is_str(ask(f, "c1", "", "thanks!"), "", "its empty reply");
	is_str(ask(f, "c1", "", "在吗"), "在的，Alice，请问有什么可以帮您？", "its exact rule");
	is_str(ask(f, "c1", "", "在吗"), "", "once per chat");
	fh_free(f);
}

/* ---- the decision log ----------------------------------------------------------- */

/* Returns "decision|rule|outcome" of the last autoreply_log row (or of the
 * row whose column col equals val when col is set), "" when none. */
static const char *logrow(fh *f, const char *col, const char *val)
{
	static char buf[512];
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof sql, "SELECT decision || '|' || rule || '|' || outcome FROM autoreply_log %s%s%s "
		 "ORDER BY id DESC LIMIT 1", col ? "WHERE " : "", col ? col : "", col ? " = ?" : "");
	buf[0] = '\0';
	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK)
		return "(prepare failed)";
	if (col)
		sqlite3_bind_text(st, 1, val, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* Returns the text column col of the last log row, "" when none. */
static const char *logcol(fh *f, const char *col)
{
	static char buf[512];
	char sql[160];
	sqlite3_stmt *st;

	snprintf(sql, sizeof sql, "SELECT %s FROM autoreply_log ORDER BY id DESC LIMIT 1", col);
	buf[0] = '\0';
	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK)
		return "(prepare failed)";
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* Counts the occurrences of sub in s. */
static int count_of(const char *s, const char *sub)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

/* Returns the number of log rows. */
static int nlog(fh *f)
{
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_prepare_v2(fh_db(f), "SELECT count(*) FROM autoreply_log", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The uuid of the last send, "" when none. */
static const char *last_uuid(fh *f)
{
	size_t n = fh_nsends(f);

	return n ? fh_send_at(f, n - 1)->uuid : "";
}

/* A chat text fetched from the history after an outage (ABI 1.4), created
 * ago_ms before the fake clock, from the buyer or (own) the seller. */
static void backfilled(fh *f, const char *chat, const char *mid, const char *text, int64_t ago_ms, int own)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = own ? FH_OWN_ID : "buyer1";
	e.sender_name = own ? "" : "Alice";
	e.own = own;
	e.text = text;
	e.message_id = mid;
	e.created_ms = fh_now_ms(f) - ago_ms;
	e.backfilled = 1;
	fh_dispatch(f, &e);
}

/* Backfilled buyer messages (issue 20): answered only when younger than
 * backfill_max_age_s and the seller has not written in the chat since (live,
 * or later in the same backfill); the decision log says why not. */
static void test_backfill(void)
{
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"backfill_max_age_s\":5}}", rules)) != NULL,
		"backfill: loads"))
		return;
	backfilled(f, "c1", "m1", "young", 2000, 0);
	is_int(fh_nsends(f), 0, "backfill: a backfilled message waits for its timer, even without debounce");
	fh_advance(f, 1);
	ok(fh_nsends(f) == 1 && !strcmp(last(f), "bot"), "backfill: a young backfilled message is answered");
	is_str(logrow(f, "message_id", "m1"), "default|default|", "backfill: ... logged as answered");

	fh_clear_sends(f);
	backfilled(f, "c2", "m2", "old", 6000, 0);
	fh_advance(f, 10);
	is_int(fh_nsends(f), 0, "backfill: one older than backfill_max_age_s is not");
	is_str(logrow(f, "message_id", "m2"), "backfill_old||", "backfill: ... decision backfill_old");

	/* the seller wrote after it, later in the same backfill */
	backfilled(f, "c3", "m3", "answered by hand?", 3000, 0);
	backfilled(f, "c3", "m3s", "I answered by hand", 2000, 1);
	fh_advance(f, 10);
	is_int(fh_nsends(f), 0, "backfill: the seller wrote after it in the backfill: not answered");
	is_str(logrow(f, "message_id", "m3"), "backfill_seller_wrote||", "backfill: ... decision backfill_seller_wrote");

	/* the seller wrote live, then an earlier message comes from the history */
	fh_chat(f, "c4", FH_OWN_ID, "live by hand");
	fh_advance(f, 1000);
	backfilled(f, "c4", "m4", "before the seller", 3000, 0);
	fh_advance(f, 10);
	is_int(fh_nsends(f), 0, "backfill: the seller wrote live after it: not answered");
	is_str(logrow(f, "message_id", "m4"), "backfill_seller_wrote||", "backfill: ... same decision");

	/* an old backfilled seller's message pauses from its own time */
	backfilled(f, "c5", "m5s", "long ago by hand", 700 * 1000, 1);
	is_str(ask(f, "c5", "", "live question"), "bot",
	       "backfill: a seller's message older than pause_s does not pause the chat");
	backfilled(f, "c6", "m6s", "recently by hand", 100 * 1000, 1);
	is_str(ask(f, "c6", "", "live question"), "", "backfill: a recent backfilled seller's message pauses it");
	fh_advance(f, 500 * 1000);
	is_str(ask(f, "c6", "", "live question"), "bot", "backfill: ... until its time + pause_s, not now + pause_s");

	/* live messages are not aged */
	fh_clear_sends(f);
	{
		sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

		e.chat_id = "c7";
		e.sender_id = "buyer1";
		e.text = "pushed late";
		e.created_ms = fh_now_ms(f) - 3600 * 1000;
		fh_dispatch(f, &e);
	}
	is_int(fh_nsends(f), 1, "backfill: a pushed (not backfilled) old message is answered as before");
	fh_free(f);
}

static void test_log_decisions(void)
{
	sk_event e;
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"hello\"],\"reply\":\"hi\",\"id\":\"greet\"},"
		    "{\"keywords\":[\"quiet\"],\"reply\":\"\"},"
		    "{\"keywords\":[\"pay\"],\"reply\":\"加我微信\"},"
		    "{\"keywords\":[\"once\"],\"reply\":\"only once\",\"once\":\"chat\",\"id\":\"o1\"}],"
		    "\"item_defaults\":[{\"item_id\":\"40004\",\"reply\":\"item\"}],"
		    "\"default_reply\":{\"reply\":\"default\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "log: loads"))
		return;
	is_int(nlog(f), 0, "log: empty at start");
	e = fh_event(f, SK_EV_CHAT_TEXT);
	e.chat_id = "c1";
	e.sender_id = "buyer1";
	e.sender_name = "Alice";
	e.text = "hello there";
	e.message_id = "m-hello";
	fh_dispatch(f, &e);
	is_str(logrow(f, NULL, NULL), "rule|greet|", "log: a keyword rule by its id");
	ok(!strcmp(logcol(f, "chat"), "c1") && !strcmp(logcol(f, "buyer"), "buyer1") &&
	   !strcmp(logcol(f, "message_id"), "m-hello") && !strcmp(logcol(f, "text"), "hello there"),
	   "log: chat, buyer, message id and text");
	ok(atoll(logcol(f, "ms")) == fh_now_ms(f), "log: ms is the wall clock");
	is_str(logcol(f, "send_uuid"), last_uuid(f), "log: the send's uuid");
	ask(f, "c1", "", "be quiet");
	is_str(logrow(f, NULL, NULL), "swallowed|#1|", "log: an empty reply is swallowed, the rule by its index");
	ask(f, "c1", "", "pay now");
	is_str(logrow(f, NULL, NULL), "banned|#2|微信", "log: banned, with the word as outcome");
	is_str(logcol(f, "send_uuid"), "", "log: no send uuid when nothing was sent");
	ask(f, "c1", "", "once");
	is_str(logrow(f, NULL, NULL), "rule|o1|", "log: a once rule the first time");
	ask(f, "c1", "", "once");
	is_str(logrow(f, NULL, NULL), "once_used|o1|", "log: once_used the second time");
	ask(f, "c1", "40004", "size?");
	is_str(logrow(f, NULL, NULL), "item_default|item:40004|", "log: the item default");
	ask(f, "c1", "", "zzz");
	is_str(logrow(f, NULL, NULL), "default|default|", "log: the account default");
	fh_chat(f, "c1", FH_OWN_ID, "by hand");
	ask(f, "c1", "", "hello");
	is_str(logrow(f, NULL, NULL), "paused||", "log: a paused chat");
	is_int(nlog(f), 8, "log: one row per buyer message (the seller's own is not logged)");
	fh_free(f);

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"x\"}]}");
	if (!ok((f = start(NODEB, rules)) != NULL, "log: loads without a default"))
		return;
	ask(f, "c1", "", "zzz");
	is_str(logrow(f, NULL, NULL), "no_match||", "log: no_match");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"enabled\":false}}", rules)) != NULL, "log: loads disabled"))
		return;
	ask(f, "c1", "", "x");
	is_str(logrow(f, NULL, NULL), "disabled||", "log: disabled");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"got: {message}\"}}");
	if (!ok((f = start("{\"autoreply\":{}}", rules)) != NULL, "log: loads with debounce"))
		return;
	say(f, "c1", "", "one");
	fh_advance(f, 300);
	say(f, "c1", "", "two");
	is_str(logrow(f, "text", "one"), "debounced||", "log: a message superseded in its burst is debounced");
	is_int(nlog(f), 1, "log: the last one waits");
	fh_advance(f, 1000);
	is_str(logrow(f, "text", "two"), "default|default|", "log: the burst's last message gets the decision");
	say(f, "c1", "", "three");
	fh_chat(f, "c1", FH_OWN_ID, "by hand");
	fh_advance(f, 2000);
	is_str(logrow(f, "text", "three"), "paused||", "log: a burst dropped by the seller's takeover is paused");
	is_int(nlog(f), 3, "log: every message has its row");
	fh_free(f);
}

static void test_log_outcomes(void)
{
	char so[512], uuid[40], uuid2[40];
	fh *f;

	write_rules("{\"keyword_rules\":["
		    "{\"keywords\":[\"pic\"],\"reply\":\"see\",\"image\":\"https://img.example/a.jpg\",\"id\":\"pic\"},"
		    "{\"keywords\":[\"solo\"],\"image\":\"https://img.example/b.jpg\",\"id\":\"solo\"}],"
		    "\"default_reply\":{\"reply\":\"default\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "outcome: loads"))
		return;
	ask(f, "c1", "", "a");
	snprintf(uuid, sizeof uuid, "%s", last_uuid(f));
	is_int(fh_complete_send(f, uuid, 1, "mid-1"), 0, "outcome: the send completes");
	is_str(logrow(f, "send_uuid", uuid), "default|default|sent:mid-1", "outcome: sent:<message id>");
	ask(f, "c1", "", "b");
	snprintf(uuid, sizeof uuid, "%s", last_uuid(f));
	fh_complete_send(f, uuid, 0, "too fast");
	is_str(logrow(f, "send_uuid", uuid), "default|default|refused:too fast", "outcome: refused:<reason>");
	is_int(nlog(f), 2, "outcome: updates, no new rows");

	ask(f, "c1", "", "pic");
	ok(fh_nsends(f) == 2, "outcome: image and text sent");
	is_str(logcol(f, "send_uuid"), last_uuid(f), "outcome: an image and a text: the row follows the text");
	fh_complete_send(f, fh_send_at(f, 0)->uuid, 1, "mid-img");
	is_str(logrow(f, NULL, NULL), "rule|pic|", "outcome: the image's result does not set it");
	fh_complete_send(f, last_uuid(f), 1, "mid-txt");
	is_str(logrow(f, NULL, NULL), "rule|pic|sent:mid-txt", "outcome: the text's does");
	ask(f, "c1", "", "solo");
	snprintf(uuid, sizeof uuid, "%s", last_uuid(f));
	is_str(logcol(f, "send_uuid"), uuid, "outcome: an image alone: the row follows it");
	fh_complete_send(f, uuid, 1, "mid-solo");
	is_str(logrow(f, NULL, NULL), "rule|solo|sent:mid-solo", "outcome: and its result");

	fh_fail_sends(f, SK_ERR_FULL);
	ask(f, "c1", "", "c");
	fh_fail_sends(f, 0);
	ok(!strncmp(logrow(f, NULL, NULL), "default|default|error:", 22), "outcome: a send the host refused: error:");

	/* A send that finishes after a restart comes back as SK_EV_SEND_RESULT. */
	ask(f, "c1", "", "d");
	snprintf(uuid, sizeof uuid, "%s", last_uuid(f));
	ask(f, "c1", "", "e");
	snprintf(uuid2, sizeof uuid2, "%s", last_uuid(f));
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "outcome: reloaded");
	is_int(fh_complete_send(f, uuid, 1, "mid-late"), 0, "outcome: the old send completes");
	is_str(logrow(f, "send_uuid", uuid), "default|default|sent:mid-late", "outcome: SK_EV_SEND_RESULT sets it");
	is_str(logrow(f, "send_uuid", uuid2), "default|default|", "outcome: only for its own uuid");
	fh_complete_send(f, uuid2, 0, "risk control");
	is_str(logrow(f, "send_uuid", uuid2), "default|default|refused:risk control",
	       "outcome: SK_EV_SEND_RESULT refused");
	fh_free(f);
}

static void test_log_prune(void)
{
	char so[512];
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"d\"}}");
	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"log_days\":1}}", rules)) != NULL, "prune: loads"))
		return;
	ask(f, "c1", "", "first");
	is_int(sqlite3_exec(fh_db(f), "INSERT INTO autoreply_log (ms, chat, buyer, message_id, text, decision) "
			    "VALUES (1, 'c0', 'b0', 'm0', 'ancient', 'default')", NULL, NULL, NULL), SQLITE_OK,
	       "prune: an ancient row added");
	is_int(nlog(f), 2, "prune: two rows");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "prune: reloaded");
	is_int(nlog(f), 1, "prune: old rows are deleted at start");
	fh_advance(f, 24 * 3600 * 1000LL);
	is_int(nlog(f), 1, "prune: a day later it is kept (exactly 1 day old)");
	ask(f, "c1", "", "second");
	fh_advance(f, 12 * 3600 * 1000LL);
	is_int(nlog(f), 2, "prune: nothing between the daily runs");
	fh_advance(f, 12 * 3600 * 1000LL);
	is_int(nlog(f), 1, "prune: the next daily run deletes the older one");
	is_str(logcol(f, "text"), "second", "prune: the newer one stays");
	fh_advance(f, 24 * 3600 * 1000LL);
	is_int(nlog(f), 0, "prune: and then it goes too");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0}}", rules)) != NULL, "prune: loads with the default"))
		return;
	ask(f, "c1", "", "x");
	fh_advance(f, 29 * 24 * 3600 * 1000LL);
	is_int(nlog(f), 1, "prune: kept 29 days by default");
	fh_advance(f, 2 * 24 * 3600 * 1000LL);
	is_int(nlog(f), 0, "prune: gone after 30");
	fh_free(f);

	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"log_days\":0}}", rules)) != NULL, "prune: log_days 0"))
		return;
	ask(f, "c1", "", "x");
	fh_advance(f, 400 * 24 * 3600 * 1000LL);
	is_int(nlog(f), 1, "prune: log_days 0 keeps rows forever");
	fh_free(f);
}

/* ---- control commands and rules_check ------------------------------------------ */

/* Checks that cmd with data fails with SK_ERR_INVAL and the error want. */
static void ctl_bad(fh *f, const char *cmd, const char *data, const char *want, const char *what)
{
	const char *out;

	is_int(fh_control(f, cmd, data, &out), SK_ERR_INVAL, "%s: %s is SK_ERR_INVAL", cmd, what);
	is_str(out, want, "%s: %s: the error says so", cmd, what);
}

static void test_control_pause(void)
{
	char so[512], want[256];
	const char *out;
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}", rules)) != NULL, "ctl: loads"))
		return;
	is_int(fh_control(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":120}", &out), SK_OK, "pause_chat: runs");
	snprintf(want, sizeof want, "{\"chat_id\":\"c1\",\"paused_until_ms\":%lld}", (long long)(fh_now_ms(f) + 120000));
	is_str(out, want, "pause_chat: {chat_id, paused_until_ms}");
	is_str(ask(f, "c1", "", "q"), "", "pause_chat: the paused chat gets no reply");
	is_str(logrow(f, NULL, NULL), "paused||", "pause_chat: logged as paused");
	is_str(ask(f, "c2", "", "q"), "bot", "pause_chat: other chats are answered");
	is_int(fh_control(f, "paused_chats", NULL, &out), SK_OK, "paused_chats: runs");
	snprintf(want, sizeof want, "{\"chats\":[{\"chat_id\":\"c1\",\"paused_until_ms\":%lld,\"reason\":\"manual\","
		 "\"waiting\":false,\"since_ms\":%lld}]}", (long long)(fh_now_ms(f) + 120000), (long long)fh_now_ms(f));
	is_str(out, want, "paused_chats: {chats: [{chat_id, paused_until_ms, reason, waiting, since_ms}]}");
	is_int(fh_control(f, "resume_chat", "{\"chat_id\":\"c1\"}", &out), SK_OK, "resume_chat: runs");
	is_str(out, "{\"chat_id\":\"c1\",\"resumed\":true}", "resume_chat: {chat_id, resumed: true}");
	is_str(ask(f, "c1", "", "q"), "bot", "resume_chat: the chat is answered again");
	fh_control(f, "resume_chat", "{\"chat_id\":\"c1\"}", &out);
	is_str(out, "{\"chat_id\":\"c1\",\"resumed\":false}", "resume_chat: a chat not paused: resumed false");
	fh_control(f, "paused_chats", "{}", &out);
	is_str(out, "{\"chats\":[]}", "paused_chats: none now");

	/* the default is pause_s; the pause is kept in autoreply_pause */
	fh_control(f, "pause_chat", "{\"chat_id\":\"c3\"}", &out);
	snprintf(want, sizeof want, "{\"chat_id\":\"c3\",\"paused_until_ms\":%lld}", (long long)(fh_now_ms(f) + 60000));
	is_str(out, want, "pause_chat: seconds defaults to pause_s");
	fh_advance(f, 1000);
	fh_chat(f, "c4", FH_OWN_ID, "by hand");
	fh_control(f, "paused_chats", "{}", &out);
	snprintf(want, sizeof want, "{\"chats\":[{\"chat_id\":\"c4\",\"paused_until_ms\":%lld,\"reason\":\"manual\","
		 "\"waiting\":false,\"since_ms\":%lld},{\"chat_id\":\"c3\",\"paused_until_ms\":%lld,\"reason\":"
		 "\"manual\",\"waiting\":false,\"since_ms\":%lld}]}", (long long)(fh_now_ms(f) + 60000),
		 (long long)fh_now_ms(f), (long long)(fh_now_ms(f) + 59000), (long long)(fh_now_ms(f) - 1000));
	is_str(out, want, "paused_chats: a manual takeover too, the longest pause first");
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0, "ctl: reloaded");
	is_str(ask(f, "c3", "", "q"), "", "pause_chat: the pause survives the reload");
	fh_control(f, "resume_chat", "{\"chat_id\":\"c4\"}", &out);
	is_str(out, "{\"chat_id\":\"c4\",\"resumed\":true}", "resume_chat: ends a manual takeover too");
	is_str(ask(f, "c4", "", "q"), "bot", "resume_chat: which is answered again");
	fh_advance(f, 59000);
	is_str(ask(f, "c3", "", "q"), "bot", "pause_chat: answered again when the pause ends");
	fh_control(f, "paused_chats", "{}", &out);
	is_str(out, "{\"chats\":[]}", "paused_chats: an ended pause is not listed");

	ctl_bad(f, "pause_chat", "[1]", "pause_chat: data must be a JSON object", "data not an object");
	ctl_bad(f, "pause_chat", "{nope", "pause_chat: data must be a JSON object", "data not JSON");
	ctl_bad(f, "pause_chat", "{}", "pause_chat: chat_id must be a chat id (a non-empty string of at most 64 bytes)",
		"no chat_id");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"\"}",
		"pause_chat: chat_id must be a chat id (a non-empty string of at most 64 bytes)", "an empty chat_id");
	ctl_bad(f, "pause_chat", "{\"chat_id\":10001}",
		"pause_chat: chat_id must be a chat id (a non-empty string of at most 64 bytes)", "a number chat_id");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":0}",
		"pause_chat: seconds must be a whole number from 1 to 316224000", "seconds 0");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":-5}",
		"pause_chat: seconds must be a whole number from 1 to 316224000", "negative seconds");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":1.5}",
		"pause_chat: seconds must be a whole number from 1 to 316224000", "fractional seconds");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":\"60\"}",
		"pause_chat: seconds must be a whole number from 1 to 316224000", "seconds as a string");
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":1e300}",
		"pause_chat: seconds must be a whole number from 1 to 316224000", "huge seconds");
	ctl_bad(f, "resume_chat", "{}",
		"resume_chat: chat_id must be a chat id (a non-empty string of at most 64 bytes)", "no chat_id");
	ctl_bad(f, "resume_chat", "\"c1\"", "resume_chat: data must be a JSON object", "data a string");
	ctl_bad(f, "paused_chats", "[]", "paused_chats: data must be a JSON object", "data a list");
	is_str(ask(f, "c1", "", "q"), "bot", "ctl: refused commands paused nothing");
	fh_free(f);

	/* pause_s 0: seconds must be given; a pause drops a burst waiting for its debounce */
	if (!ok((f = start("{\"autoreply\":{\"pause_s\":0}}", rules)) != NULL, "ctl: loads with pause_s 0"))
		return;
	ctl_bad(f, "pause_chat", "{\"chat_id\":\"c1\"}", "pause_chat: seconds is required, since autoreply.pause_s is 0",
		"no seconds with pause_s 0");
	say(f, "c1", "", "one");
	is_int(fh_control(f, "pause_chat", "{\"chat_id\":\"c1\",\"seconds\":5}", &out), SK_OK, "pause_chat: with seconds");
	is_str(logrow(f, "text", "one"), "paused||", "pause_chat: the pending burst is dropped as paused");
	fh_advance(f, 2000);
	is_int(fh_nsends(f), 0, "pause_chat: and never answered");
	fh_advance(f, 3000);
	say(f, "c1", "", "two");
	fh_advance(f, 1000);
	is_int(fh_nsends(f), 1, "pause_chat: answered again after its seconds");
	fh_free(f);
}

static void test_control_decisions(void)
{
	char want[1024];
	const char *out;
	int64_t t0;
	fh *f;

	write_rules("{\"keyword_rules\":[{\"keywords\":[\"hello\"],\"reply\":\"hi\",\"id\":\"greet\"}],"
		    "\"default_reply\":{\"reply\":\"default\"}}");
	if (!ok((f = start(NODEB, rules)) != NULL, "decisions: loads"))
		return;
	is_int(fh_control(f, "decisions", NULL, &out), SK_OK, "decisions: runs");
	is_str(out, "{\"decisions\":[]}", "decisions: none yet");
	t0 = fh_now_ms(f);
	ask(f, "c1", "", "hello");
	is_int(fh_complete_send(f, last_uuid(f), 1, "mid-1"), 0, "decisions: the reply is sent");
	fh_advance(f, 1000);
	ask(f, "c2", "40004", "zzz \"quoted\"");
	fh_control(f, "decisions", "{}", &out);
	snprintf(want, sizeof want, "{\"decisions\":["
		 "{\"ms\":%lld,\"chat_id\":\"c2\",\"buyer_id\":\"buyer1\",\"text\":\"zzz \\\"quoted\\\"\","
		 "\"decision\":\"default\",\"rule\":\"default\",\"outcome\":\"\",\"item_id\":\"40004\"},"
		 "{\"ms\":%lld,\"chat_id\":\"c1\",\"buyer_id\":\"buyer1\",\"text\":\"hello\",\"decision\":\"rule\","
		 "\"rule\":\"greet\",\"outcome\":\"sent:mid-1\",\"item_id\":\"\"}]}", (long long)(t0 + 1000),
		 (long long)t0);
	is_str(out, want, "decisions: {decisions: [{ms, chat_id, buyer_id, text, decision, rule, outcome, item_id}]}, "
	       "newest first");
	fh_chat(f, "c1", FH_OWN_ID, "by hand");
	ask(f, "c1", "", "hello");
	fh_control(f, "decisions", "{\"limit\":1}", &out);
	ok(strstr(out, "\"decision\":\"paused\"") && !strstr(out, "greet"), "decisions: limit 1: only the newest");
	for (int i = 0; i < 120; i++)
		ask(f, "c5", "", "zzz");
	fh_control(f, "decisions", "{}", &out);
	is_int(count_of(out, "\"ms\":"), 100, "decisions: 100 by default");
	fh_control(f, "decisions", "{\"limit\":1000}", &out);
	is_int(count_of(out, "\"ms\":"), 123, "decisions: up to 1000 asked (all 123 here)");
	ctl_bad(f, "decisions", "{\"limit\":0}", "decisions: limit must be a whole number from 1 to 1000", "limit 0");
	ctl_bad(f, "decisions", "{\"limit\":1001}", "decisions: limit must be a whole number from 1 to 1000",
		"limit 1001");
	ctl_bad(f, "decisions", "{\"limit\":\"10\"}", "decisions: limit must be a whole number from 1 to 1000",
		"limit a string");
	ctl_bad(f, "decisions", "7", "decisions: data must be a JSON object", "data a number");
	fh_free(f);
}

static void test_rules_check(void)
{
	static const char bad[] =
		"{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"n\"},{\"keywords\":[\"y\"],\"reply\":\"n\"},"
		"{\"keywords\":[\"z\"],\"match\":\"fuzzy\",\"reply\":\"n\"},"
		"{\"keywords\":[\"(\"],\"match\":\"regex\",\"reply\":\"n\"},"
		"{\"keywords\":[],\"reply\":\"n\"},"
		"{\"keywords\":[\"q\"],\"reply\":\"n\",\"once\":\"forever\",\"priority\":\"high\",\"colour\":1}],"
		"\"item_defaults\":[{\"reply\":\"n\"}],\"default_reply\":{\"reply\":\"{oops\"}}";
	char path[512], errs[4096], line[600], *text;
	const char *root = getenv("SK_ROOT");
	sbuf hs = { 0 };
	size_t nlines = 0;
	int same = 1;
	FILE *fp;
	long n;
	fh *f;

	snprintf(path, sizeof path, "%s/config/rules.example.json", root && *root ? root : ".");
	if (!ok((fp = fopen(path, "rb")) != NULL, "rules_check: the example file"))
		return;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	fclose(fp);
	strcpy(errs, "junk");
	is_int(direct_check(text, (size_t)n, errs, sizeof errs), 0, "rules_check: accepts rules.example.json (no host, no init)");
	is_str(errs, "", "rules_check: and leaves errs empty");
	free(text);

	is_int(direct_check(bad, strlen(bad), errs, sizeof errs), -1, "rules_check: refuses a bad document");
	ok(strstr(errs, "keyword_rules[2].match: must be contains, exact or regex\n") != NULL, "rules_check: a bad match");
	ok(strstr(errs, "item_defaults[0].item_id: must be given\n") != NULL, "rules_check: an item default without its item");
	ok(strstr(errs, "default_reply.reply: a '{' without its '}' (write {{ for a literal one)\n") != NULL,
	   "rules_check: a stray brace");

	/* the same document as a rules file: the loader logs the same lines */
	write_rules(bad);
	if (!ok((f = start(NODEB, rules)) != NULL, "rules_check: autoreply with that file"))
		return;
	ok(fh_log_find(f, "8 errors") > 0, "rules_check: the loader counts 8 errors");
	for (char *l = errs, *e; *l; l = e + 1) {
		if (!(e = strchr(l, '\n')))
			break;
		snprintf(line, sizeof line, "rules %s: %.*s", rules, (int)(e - l), l);
		nlines++;
		if (fh_log_find(f, line) != 1) {
			same = 0;
			diag("not logged: %s", line);
		}
	}
	is_int(nlines, 8, "rules_check: 8 lines, one per problem");
	ok(same, "rules_check: each one is what the file loader logs");

	is_int(host_rules_check(fh_host(f), bad, strlen(bad), &hs), -1, "rules_check: through the host");
	ok(hs.p && strstr(hs.p, "autoreply: keyword_rules[2].match: must be contains, exact or regex\n"),
	   "rules_check: lines prefixed with the plugin's name");
	sbuf_reset(&hs);
	snprintf(line, sizeof line, "{\"keyword_rules\":[{\"keywords\":[\"a\"],\"reply\":\"b\"}],"
		 "\"cards\":[\"not autoreply's\"]}");
	is_int(host_rules_check(fh_host(f), line, strlen(line), &hs), 0, "rules_check: orders' keys are left alone");
	sbuf_free(&hs);
	fh_free(f);

	is_int(direct_check("{\"keyword_rules\":", 17, errs, sizeof errs), -1, "rules_check: broken JSON");
	is_str(errs, "not valid JSON\n", "rules_check: says so");
	is_int(direct_check("[1]", 3, errs, sizeof errs), -1, "rules_check: a list");
	is_str(errs, "must be a JSON object\n", "rules_check: must be an object");
	is_int(direct_check("{}\0{\"x\":1}", 10, errs, sizeof errs), -1, "rules_check: a NUL inside");
	is_str(errs, "not valid JSON\n", "rules_check: is not JSON");
	is_int(direct_check("{}trailing", 2, errs, sizeof errs), 0, "rules_check: only len bytes are read");
	snprintf(line, sizeof line, "{\"default_reply\":{\"reply\":\"hi {buyer_name}\"}}");
	is_int(direct_check(line, strlen(line), errs, sizeof errs), 0, "rules_check: a good small document");
	is_int(direct_check(bad, strlen(bad), errs, 120), -1, "rules_check: a small errs buffer");
	ok(strlen(errs) < 120 && strlen(errs) > 0 && errs[strlen(errs) - 1] == '\n',
	   "rules_check: holds whole lines only (%zu bytes)", strlen(errs));
	is_int(direct_check(bad, strlen(bad), NULL, 0), -1, "rules_check: no errs buffer at all");
	/* Found by tests/fuzz/fuzz_rules (corpus/rules/ub-huge-numbers.json): a
	 * number outside int64_t was converted to it before the integer test,
	 * which is undefined (make test SAN=1 stops on it). */
	snprintf(line, sizeof line, "{\"keyword_rules\":[{\"keywords\":[\"x\"],\"reply\":\"r\",\"priority\":1e300,"
		 "\"item_id\":-3e19}]}");
	is_int(direct_check(line, strlen(line), errs, sizeof errs), -1, "rules_check: huge numbers are refused");
	ok(strstr(errs, "keyword_rules[0].priority: must be an integer\n") != NULL, "rules_check: a priority of 1e300");
	ok(strstr(errs, "keyword_rules[0].item_id: must be a string, a number or null\n") != NULL,
	   "rules_check: an item_id of -3e19");
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_autoreply_XXXXXX");
	if (!ok(mkdtemp(tmpdir) != NULL, "a temporary directory"))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", tmpdir);
	test_match();
	test_priority_and_items();
	test_defaults_once();
	test_once_per_message();
	test_variables_empty_image();
	test_validation_reload();
	test_debounce();
	test_debounce_durable();
	test_takeover();
	test_backfill();
	test_banned();
	test_not_answered();
	test_example();
	test_log_decisions();
	test_log_outcomes();
	test_log_prune();
	test_control_pause();
	test_control_decisions();
	test_rules_check();
	config_refused("{\"autoreply\":{\"debounce_ms\":-1}}", "autoreply.debounce_ms", "a negative debounce_ms");
	config_refused("{\"autoreply\":{\"pause_s\":-5}}", "autoreply.pause_s", "a negative pause_s");
	config_refused("{\"autoreply\":{\"banned_words\":\"QQ\"}}", "autoreply.banned_words", "a string banned_words");
	config_refused("{\"autoreply\":{\"log_days\":-1}}", "autoreply.log_days", "a negative log_days");
	config_refused("{\"autoreply\":{\"reply\":\"x\"}}", "autoreply.reply", "an unknown key");
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
