/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_autoreply_handover.c - plugins/autoreply's hand-over and
 * the seller's replies from the web page, through the fake host: hand-over
 * words (defaults, custom, ASCII case, off), the chat paused and waiting,
 * the text sent once (tag handover:<message_id>, a message pushed again not
 * answered twice), autoreply.handover published (tests/plugins/topic_probe),
 * the pending burst dropped, waiting kept across a restart and ended by the
 * seller (app message or core.seller_reply), resume_chat; core.seller_reply
 * pausing a chat only when it comes from the core; the rules document's
 * handover and quick_phrases validated (autoreply's and orders'
 * rules_check); autoreply_stats by Beijing day and autoreply_sends labels.
 */
#include "autoreply_fixture.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEF_TEXT "好的，已通知卖家本人，请稍等～"

/* A fake host with autoreply (sections, the rules file) and topic_probe, or NULL. */
static fh *start_probe(const char *sections)
{
	char so[512];
	fh *f = start(sections, rules);

	if (f && fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/topic_probe.so"), NULL) != 0) {
		diag("topic_probe: %s", fh_error(f));
		fh_free(f);
		return NULL;
	}
	return f;
}

/* A buyer's text with message id mid in chat (item "i1", buyer "b1" "Bob"). */
static void say_mid(fh *f, const char *chat, const char *mid, const char *text)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = "b1";
	e.sender_name = "Bob";
	e.item_id = "i1";
	e.text = text;
	if (mid)
		e.message_id = mid;
	fh_dispatch(f, &e);
}

/* A backfilled text (from the history after an outage) of sender in chat,
 * ago_ms old, with message id mid. */
static void backfilled(fh *f, const char *chat, const char *mid, const char *sender, const char *text, int64_t ago_ms)
{
	sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

	e.chat_id = chat;
	e.sender_id = sender;
	e.own = !strcmp(sender, FH_OWN_ID);
	e.text = text;
	e.message_id = mid;
	e.created_ms = fh_now_ms(f) - ago_ms;
	e.backfilled = 1;
	fh_dispatch(f, &e);
}

/* Publishes core.seller_reply for chat as plugin from does. */
static void seller_reply(fh *f, const char *from, const char *payload)
{
	sk_event e = fh_event(f, SK_EV_PLUGIN);

	e.topic = "core.seller_reply";
	e.payload_json = payload;
	e.from_plugin = from;
	fh_dispatch(f, &e);
}

/* Runs cmd with bad data: SK_ERR_INVAL with the message want. */
static void ctl_bad_f(fh *f, const char *cmd, const char *data, const char *want)
{
	const char *out;

	is_int(fh_control(f, cmd, data, &out), SK_ERR_INVAL, "%s %s: SK_ERR_INVAL", cmd, data);
	is_str(out, want, "%s %s: the error says so", cmd, data);
}

/* "decision|rule|outcome" of the last log row of message mid ("" when none). */
static const char *logmid(fh *f, const char *mid)
{
	static char buf[512];
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT decision || '|' || rule || '|' || outcome FROM autoreply_log "
		 "WHERE message_id = '%s' ORDER BY id DESC LIMIT 1", mid);
	snprintf(buf, sizeof buf, "%s", fh_q_str(f, sql));
	return buf;
}

/* The "reason/waiting/until-now" of chat in paused_chats, "none" when not paused. */
static const char *pstate(fh *f, const char *chat)
{
	static char buf[128];
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT reason || '/' || waiting || '/' || (until_ms - %lld) || '/' || "
		 "(since_ms - %lld) FROM autoreply_pause WHERE chat = '%s' AND until_ms > %lld",
		 (long long)fh_now_ms(f), (long long)fh_now_ms(f), chat, (long long)fh_now_ms(f));
	snprintf(buf, sizeof buf, "%s", fh_q_str(f, sql));
	return *buf ? buf : "none";
}

static void test_handover_default(void)
{
	char so[512], want[512];
	const char *out;
	fh *f;

	write_rules("{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"九块九\"}],"
		    "\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}")) != NULL, "default: loads"))
		return;
	say_mid(f, "c1", "m1", "我要人工服务");
	is_int(fh_nsends(f), 1, "default: 人工 gets one send");
	is_str(fh_send_at(f, 0)->text, DEF_TEXT, "default: the default hand-over text");
	is_str(fh_send_at(f, 0)->tag, "handover:m1", "default: tagged handover:<message_id>");
	is_str(logmid(f, "m1"), "handover|handover|", "default: decision handover logged");
	is_str(pstate(f, "c1"), "handover/1/86400000/0", "default: paused a day, reason handover, waiting");
	snprintf(want, sizeof want, "topic autoreply.handover {\"chat_id\":\"c1\",\"buyer_id\":\"b1\",\"buyer_name\":"
		 "\"Bob\",\"item_id\":\"i1\",\"text\":\"我要人工服务\",\"word\":\"人工\"}");
	is_int(fh_log_find(f, want), 1, "default: autoreply.handover published with the buyer, item, text and word");
	is_int(fh_control(f, "paused_chats", "{}", &out), SK_OK, "default: paused_chats runs");
	snprintf(want, sizeof want, "{\"chats\":[{\"chat_id\":\"c1\",\"paused_until_ms\":%lld,\"reason\":\"handover\","
		 "\"waiting\":true,\"since_ms\":%lld}]}", (long long)(fh_now_ms(f) + 86400000), (long long)fh_now_ms(f));
	is_str(out, want, "default: paused_chats says handover, waiting, since");
	is_int(fh_control(f, "decisions", "{\"limit\":1}", &out), SK_OK, "default: decisions runs");
	ok(strstr(out, "\"decision\":\"handover\"") != NULL, "default: decisions shows the hand-over");

	fh_clear_sends(f);
	say_mid(f, "c1", "m2", "多少钱");
	is_int(fh_nsends(f), 0, "default: a waiting chat is not answered (not even a keyword rule)");
	is_str(logmid(f, "m2"), "paused||", "default: logged as paused");
	say_mid(f, "c1", "m3", "真人呢？");
	is_int(fh_nsends(f), 0, "default: asking again while waiting sends nothing");
	is_str(logmid(f, "m3"), "paused|handover|waiting", "default: logged paused (waiting)");
	is_int(fh_log_find(f, "topic autoreply.handover"), 1, "default: and publishes no second alert");
	say_mid(f, "c2", "m4", "找客服");
	is_str(last(f), DEF_TEXT, "default: 客服 hands over too (another chat)");
	is_str(ask(f, "c3", "", "多少钱"), "九块九", "default: other chats are answered by the rules");

	/* restart: the waiting state is in autoreply_pause */
	fh_unload(f);
	ok(fh_load(f, fh_build_path(so, sizeof so, "plugins/autoreply.so"), NULL) == 0 &&
	   fh_load(f, fh_build_path(so, sizeof so, "tests/plugins/topic_probe.so"), NULL) == 0, "default: reloaded");
	is_str(pstate(f, "c2"), "handover/1/86400000/0", "default: c2 still waiting after a restart");
	is_str(ask(f, "c2", "", "多少钱"), "", "default: and still not answered");

	/* the seller writes in the app: waiting ends, a normal pause of pause_s from then */
	fh_advance(f, 5000);
	fh_chat(f, "c1", FH_OWN_ID, "我来了");
	is_str(pstate(f, "c1"), "manual/0/60000/0", "default: the seller's app message: a manual pause, not waiting");
	is_str(ask(f, "c1", "", "多少钱"), "", "default: still paused for pause_s");
	fh_advance(f, 60000);
	is_str(ask(f, "c1", "", "多少钱"), "九块九", "default: answered again after pause_s");

	/* resume_chat ends a hand-over */
	is_int(fh_control(f, "resume_chat", "{\"chat_id\":\"c2\"}", &out), SK_OK, "default: resume_chat runs");
	is_str(out, "{\"chat_id\":\"c2\",\"resumed\":true}", "default: resume_chat ends the hand-over");
	is_str(pstate(f, "c2"), "none", "default: no pause left");
	is_str(ask(f, "c2", "", "多少钱"), "九块九", "default: the chat is answered again");

	/* the same message pushed again (dedup lost it in a crash): not handed over twice */
	fh_clear_sends(f);
	say_mid(f, "c7", "m7", "找客服");
	is_int(fh_nsends(f), 1, "default: c7 handed over");
	fh_control(f, "resume_chat", "{\"chat_id\":\"c7\"}", &out);
	say_mid(f, "c7", "m7", "找客服");
	is_int(fh_nsends(f), 1, "default: a hand-over message pushed again sends nothing");
	is_str(pstate(f, "c7"), "none", "default: and pauses nothing");
	ok(fh_log_find(f, "message m7 was handed over before a restart") > 0, "default: logged");
	is_int(fh_log_find(f, "\"chat_id\":\"c7\""), 1, "default: and publishes once");

	/* own messages and backfilled old ones are not handed over */
	fh_chat(f, "c5", FH_OWN_ID, "需要人工的话找我");
	is_str(pstate(f, "c5"), "manual/0/60000/0", "default: the seller's own 人工 is a takeover, not a hand-over");
	{
		sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

		e.chat_id = "c6";
		e.sender_id = "b1";
		e.text = "人工";
		e.message_id = "old1";
		e.created_ms = fh_now_ms(f) - 3600 * 1000;
		e.backfilled = 1;
		fh_clear_sends(f);
		fh_dispatch(f, &e);
		fh_advance(f, 10);
	}
	is_int(fh_nsends(f), 0, "default: a backfilled hour-old 人工 is not handed over");
	is_str(pstate(f, "c6"), "none", "default: nor paused");
	is_str(logmid(f, "old1"), "backfill_old||", "default: logged backfill_old");
	/* a young backfilled 人工 waits for its timer: the seller's later message of the backfill cancels it */
	fh_clear_sends(f);
	backfilled(f, "c8", "bf1", "b1", "人工", 4000);
	backfilled(f, "c8", "bf2", FH_OWN_ID, "我在", 3000);
	fh_advance(f, 10);
	is_int(fh_nsends(f), 0, "default: a backfilled 人工 the seller answered later in the backfill: nothing sent");
	is_str(pstate(f, "c8"), "manual/0/56990/-3010", "default: a manual pause from the seller's message");
	backfilled(f, "c9", "bf3", "b1", "人工", 4000);
	is_int(fh_nsends(f), 0, "default: a young backfilled 人工 waits for its timer");
	fh_advance(f, 10);
	is_int(fh_nsends(f), 1, "default: then is handed over");
	is_str(last(f), DEF_TEXT, "default: with the hand-over text");
	is_str(pstate(f, "c9"), "handover/1/86399991/-9", "default: and waits for the seller");
	fh_free(f);
}

static void test_handover_custom(void)
{
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"},\"handover\":{\"words\":[\"Human\",\"转人工\"],"
		    "\"text\":\"{buyer_name}，马上来\",\"pause_s\":120},\"quick_phrases\":[\"在的\",\"已发货\"]}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}")) != NULL, "custom: loads"))
		return;
	is_str(ask(f, "c1", "", "人工"), "bot", "custom: the default words are replaced");
	say_mid(f, "c2", "m1", "a HUMAN please");
	is_str(last(f), "Bob，马上来", "custom: ASCII case-insensitive word, the text's variables filled");
	is_str(pstate(f, "c2"), "handover/1/120000/0", "custom: handover.pause_s");
	fh_advance(f, 120000);
	is_str(ask(f, "c2", "", "q"), "bot", "custom: answered again after handover.pause_s");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"bot\"},\"handover\":{\"enabled\":false}}");
	if (!ok((f = start_probe(NODEB)) != NULL, "off: loads"))
		return;
	is_str(ask(f, "c1", "", "人工"), "bot", "off: handover.enabled false: answered by the rules");
	is_str(pstate(f, "c1"), "none", "off: not paused");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"bot\"},\"handover\":{\"text\":\"\"}}");
	if (!ok((f = start_probe(NODEB)) != NULL, "no text: loads"))
		return;
	is_str(ask(f, "c1", "", "人工"), "", "no text: handover.text \"\" sends nothing");
	is_str(pstate(f, "c1"), "handover/1/86400000/0", "no text: but hands over");
	is_int(fh_log_find(f, "topic autoreply.handover"), 1, "no text: and publishes");
	fh_free(f);

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"enabled\":false}}")) != NULL, "disabled: loads"))
		return;
	is_str(ask(f, "c1", "", "人工"), "", "disabled: autoreply.enabled false: nothing sent");
	is_str(pstate(f, "c1"), "none", "disabled: no hand-over");
	fh_free(f);

	/* debounce: the burst waiting for its timer is dropped; the hand-over is at once */
	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":1000}}")) != NULL, "burst: loads"))
		return;
	say_mid(f, "c1", "b1", "多少钱");
	fh_advance(f, 500);
	say_mid(f, "c1", "b2", "算了，转人工");
	is_int(fh_nsends(f), 1, "burst: the hand-over text at once, not debounced");
	is_str(last(f), DEF_TEXT, "burst: it is the hand-over text");
	fh_advance(f, 3000);
	is_int(fh_nsends(f), 1, "burst: the pending burst is never answered");
	is_str(logmid(f, "b1"), "paused||", "burst: it is logged paused");
	is_int(fh_q_int(f, "SELECT COUNT(*) FROM autoreply_pending"), 0, "burst: and not kept pending");
	fh_free(f);
}

static void test_seller_reply(void)
{
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}")) != NULL, "page: loads"))
		return;
	seller_reply(f, "core", "{\"chat_id\":\"c1\",\"buyer_id\":\"b1\",\"via\":\"page\"}");
	is_str(pstate(f, "c1"), "page/0/60000/0", "page: core.seller_reply pauses the chat for pause_s, reason page");
	is_str(ask(f, "c1", "", "多少钱"), "", "page: the buyer's next question is not answered");
	ok(fh_log_find(f, "chat c1: the seller replied from the page, paused for 60 s") > 0, "page: logged");
	seller_reply(f, "evil", "{\"chat_id\":\"c2\",\"buyer_id\":\"b1\",\"via\":\"page\"}");
	is_str(pstate(f, "c2"), "none", "page: core.seller_reply from another plugin is ignored");
	ok(fh_log_find(f, "core.seller_reply from plugin evil ignored") > 0, "page: and logged");
	is_str(ask(f, "c2", "", "q"), "bot", "page: that chat is answered");
	seller_reply(f, "core", "{\"buyer_id\":\"b1\"}");
	seller_reply(f, "core", "not json");
	is_int(fh_log_find(f, "core.seller_reply without a chat_id ignored"), 2, "page: bad payloads ignored, logged");
	fh_advance(f, 60000);
	is_str(ask(f, "c1", "", "q"), "bot", "page: answered again after pause_s");

	/* it ends a hand-over's waiting */
	say_mid(f, "c3", "h1", "人工");
	is_str(pstate(f, "c3"), "handover/1/86400000/0", "page: c3 handed over");
	fh_advance(f, 1000);
	seller_reply(f, "core", "{\"chat_id\":\"c3\",\"buyer_id\":\"b1\",\"via\":\"page\"}");
	is_str(pstate(f, "c3"), "page/0/60000/0", "page: the page reply ends waiting: a pause of pause_s from now");
	fh_free(f);

	/* with a debounce: the burst is dropped */
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":1000}}")) != NULL, "page burst: loads"))
		return;
	say_mid(f, "c1", "q1", "多少钱");
	fh_advance(f, 300);
	seller_reply(f, "core", "{\"chat_id\":\"c1\",\"buyer_id\":\"b1\",\"via\":\"page\"}");
	fh_advance(f, 3000);
	is_int(fh_nsends(f), 0, "page burst: the burst waiting is dropped");
	is_str(logmid(f, "q1"), "paused||", "page burst: logged paused");
	fh_free(f);

	/* pause_s 0: the seller answering a hand-over ends it */
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":0}}")) != NULL, "pause 0: loads"))
		return;
	seller_reply(f, "core", "{\"chat_id\":\"c1\"}");
	is_str(pstate(f, "c1"), "none", "pause 0: a page reply pauses nothing");
	say_mid(f, "c2", "h1", "人工");
	is_str(pstate(f, "c2"), "handover/1/86400000/0", "pause 0: the hand-over still pauses");
	fh_chat(f, "c2", FH_OWN_ID, "hi");
	is_str(pstate(f, "c2"), "none", "pause 0: the seller's message ends it");
	is_str(ask(f, "c2", "", "q"), "bot", "pause 0: answered again");
	/* a backfilled seller message older than the hand-over leaves it waiting */
	say_mid(f, "c4", "h2", "人工");
	{
		sk_event e = fh_event(f, SK_EV_CHAT_TEXT);

		e.chat_id = "c4";
		e.sender_id = FH_OWN_ID;
		e.own = 1;
		e.text = "earlier";
		e.created_ms = fh_now_ms(f) - 5000;
		e.backfilled = 1;
		fh_dispatch(f, &e);
	}
	is_str(pstate(f, "c4"), "handover/1/86400000/0", "pause 0: an older backfilled seller message: still waiting");
	fh_free(f);
}

/* rules_check of orders.so straight from the .so: its rc, the lines in errs. */
static int orders_check(const char *json, char *errs, size_t n)
{
	char so[512];
	void *h = dlopen(fh_build_path(so, sizeof so, "plugins/orders.so"), RTLD_NOW | RTLD_LOCAL);
	const sk_plugin_desc *d = h ? dlsym(h, "sk_plugin_entry") : NULL;
	int rc = d && d->rules_check ? d->rules_check(json, strlen(json), errs, n) : -2;

	if (h)
		dlclose(h);
	return rc;
}

/* rules_check of doc gives an error line holding want. */
static void bad(const char *doc, const char *want)
{
	char errs[2048] = "";

	is_int(direct_check(doc, strlen(doc), errs, sizeof errs), -1, "refused: %s", doc);
	if (!ok(strstr(errs, want) != NULL, "says: %s", want))
		diag("errors: %s", errs);
}

static void test_validation(void)
{
	char errs[2048] = "", doc[8192];
	const char *good = "{\"default_reply\":{\"reply\":\"bot\"},\"handover\":{\"enabled\":true,\"words\":[\"人工\"],"
			   "\"text\":\"稍等\",\"pause_s\":3600,\"comment\":\"x\"},\"quick_phrases\":[\"在的\",\"包邮\"]}";
	fh *f;
	size_t n;

	is_int(direct_check(good, strlen(good), errs, sizeof errs), 0, "valid: handover and quick_phrases");
	is_int(orders_check(good, errs, sizeof errs), 0, "valid: orders' rules_check knows handover and quick_phrases");
	if (errs[0])
		diag("errors: %s", errs);
	bad("{\"handover\":\"on\"}", "handover: must be an object or null");
	bad("{\"handover\":{\"words\":\"人工\"}}", "handover.words: must be a list of at most 50 words");
	bad("{\"handover\":{\"words\":[\"人工\",5]}}", "handover.words[1]: must be a non-empty string of at most 100 bytes");
	bad("{\"handover\":{\"words\":[\"人工\",\"\"]}}", "handover.words[1]: must be a non-empty string");
	bad("{\"handover\":{\"words\":[]}}", "handover.words: must hold a word when handover is enabled");
	bad("{\"handover\":{\"text\":5}}", "handover.text: must be a string of at most 4096 bytes");
	bad("{\"handover\":{\"text\":\"hi {nope}\"}}", "handover.text: ");
	bad("{\"handover\":{\"pause_s\":0}}", "handover.pause_s: must be a whole number of seconds from 1 to 316224000");
	bad("{\"handover\":{\"pause_s\":1.5}}", "handover.pause_s: must be a whole number");
	bad("{\"handover\":{\"pause_s\":\"60\"}}", "handover.pause_s: must be a whole number");
	bad("{\"handover\":{\"enabled\":1}}", "handover.enabled: must be true or false");
	bad("{\"handover\":{\"word\":[\"x\"]}}", "handover.word: unknown field");
	bad("{\"quick_phrases\":\"在的\"}", "quick_phrases: must be a list of at most 50 texts");
	bad("{\"quick_phrases\":[\"在的\",\"\"]}", "quick_phrases[1]: must be a non-empty string of at most 500 bytes");
	bad("{\"quick_phrases\":[7]}", "quick_phrases[0]: must be a non-empty string");
	bad("{\"quick_phrases\":[\"a\\u0000b\"]}", "quick_phrases: the document holds \\u0000");
	n = (size_t)snprintf(doc, sizeof doc, "{\"quick_phrases\":[\"");
	memset(doc + n, 'x', 501);
	snprintf(doc + n + 501, sizeof doc - n - 501, "\"]}");
	bad(doc, "quick_phrases[0]: must be a non-empty string of at most 500 bytes");
	n = (size_t)snprintf(doc, sizeof doc, "{\"quick_phrases\":[");
	for (int i = 0; i < 51; i++)
		n += (size_t)snprintf(doc + n, sizeof doc - n, "%s\"p%d\"", i ? "," : "", i);
	snprintf(doc + n, sizeof doc - n, "]}");
	bad(doc, "quick_phrases: must be a list of at most 50 texts");
	n = (size_t)snprintf(doc, sizeof doc, "{\"handover\":{\"words\":[");
	for (int i = 0; i < 51; i++)
		n += (size_t)snprintf(doc + n, sizeof doc - n, "%s\"w%d\"", i ? "," : "", i);
	snprintf(doc + n, sizeof doc - n, "]}}");
	bad(doc, "handover.words: must be a list of at most 50 words");
	/* an escaped backslash before u0000 is text, not a NUL */
	snprintf(doc, sizeof doc, "%s", "{\"quick_phrases\":[\"a\\\\u0000\"]}");
	is_int(direct_check(doc, strlen(doc), errs, sizeof errs), 0,
	       "valid: an escaped backslash then u0000");

	/* a file with a bad handover keeps the rules in force */
	write_rules("{\"default_reply\":{\"reply\":\"bot\"},\"handover\":{\"words\":[\"Help\"]}}");
	if (!ok((f = start_probe(NODEB)) != NULL, "bad file: loads"))
		return;
	write_rules("{\"default_reply\":{\"reply\":\"bot2\"},\"handover\":{\"words\":[1]}}");
	reload(f, "core");
	ok(fh_log_find(f, "handover.words[0]: must be a non-empty string") > 0, "bad file: the error is logged");
	is_str(ask(f, "c1", "", "q"), "bot", "bad file: the rules in force are kept");
	ask(f, "c2", "", "help me");
	is_str(pstate(f, "c2"), "handover/1/86400000/0", "bad file: and their hand-over words");
	fh_free(f);
}

/* One buyer text per (chat, text) now, debounce off. */
static void stats_say(fh *f, const char *chat, const char *text)
{
	say_mid(f, chat, NULL, text);
}

static void test_stats(void)
{
	const char *out;
	fh *f;

	write_rules("{\"default_reply\":{\"reply\":\"bot\"}}");
	/* the fake clock starts at 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 in Beijing */
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0,\"pause_s\":60}}")) != NULL, "stats: loads"))
		return;
	is_int(fh_control(f, "autoreply_stats", "{\"days\":2}", &out), SK_OK, "stats: runs on an empty log");
	is_str(out, "{\"days\":[{\"day\":\"2023-11-14\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-15\",\"answered\":0,\"handed_over\":0,\"paused\":0}]}",
	       "stats: zeros, oldest first, today (Beijing) last");
	stats_say(f, "c1", "q");
	stats_say(f, "c2", "q");
	stats_say(f, "c3", "人工");
	stats_say(f, "c3", "q");
	/* 23:59 in Beijing (15:59 UTC): still the 15th */
	fh_advance(f, (17 * 3600 + 45 * 60 + 40) * 1000LL);
	stats_say(f, "c4", "q");
	/* 00:01 in Beijing on the 16th (16:01 UTC on the 15th) */
	fh_advance(f, 120 * 1000);
	stats_say(f, "c5", "q");
	stats_say(f, "c6", "客服");
	is_int(fh_control(f, "autoreply_stats", NULL, &out), SK_OK, "stats: runs with the default 7 days");
	is_str(out, "{\"days\":[{\"day\":\"2023-11-10\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-11\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-12\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-13\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-14\",\"answered\":0,\"handed_over\":0,\"paused\":0},"
	       "{\"day\":\"2023-11-15\",\"answered\":3,\"handed_over\":1,\"paused\":1},"
	       "{\"day\":\"2023-11-16\",\"answered\":1,\"handed_over\":1,\"paused\":0}]}",
	       "stats: per Beijing day: answered, handed over, paused");
	fh_control(f, "autoreply_stats", "{\"days\":1}", &out);
	is_str(out, "{\"days\":[{\"day\":\"2023-11-16\",\"answered\":1,\"handed_over\":1,\"paused\":0}]}",
	       "stats: days 1 is today");
	ctl_bad_f(f, "autoreply_stats", "{\"days\":0}", "autoreply_stats: days must be a whole number from 1 to 31");
	ctl_bad_f(f, "autoreply_stats", "{\"days\":32}", "autoreply_stats: days must be a whole number from 1 to 31");
	ctl_bad_f(f, "autoreply_stats", "{\"days\":\"7\"}", "autoreply_stats: days must be a whole number from 1 to 31");
	ctl_bad_f(f, "autoreply_stats", "[7]", "autoreply_stats: data must be a JSON object");
	fh_free(f);
}

static void test_sends(void)
{
	char data[1024], want[1024], *big;
	const char *out;
	fh *f;
	size_t n;

	write_rules("{\"keyword_rules\":[{\"id\":\"price\",\"keywords\":[\"多少钱\"],\"reply\":\"九块九\"},"
		    "{\"keywords\":[\"尺寸\"],\"reply\":\"30cm\",\"image\":\"https://example.com/s.jpg\"}],"
		    "\"item_defaults\":[{\"item_id\":\"i1\",\"reply\":\"看看 i1\"}],\"default_reply\":{\"reply\":\"bot\"}}");
	if (!ok((f = start_probe("{\"autoreply\":{\"debounce_ms\":0}}")) != NULL, "sends: loads"))
		return;
	say_mid(f, "c1", "m1", "多少钱");      /* send 0: rule price */
	say_mid(f, "c2", "m2", "尺寸");        /* sends 1 (image) and 2 (text): rule #1 */
	say_mid(f, "c3", "m3", "hello");       /* send 3: item default (item i1) */
	say(f, "c4", "", "hello");             /* send 4: default */
	say_mid(f, "c5", "m5", "人工");        /* send 5: handover */
	is_int(fh_nsends(f), 6, "sends: six sends");
	if (fh_nsends(f) != 6) {
		fh_free(f);
		return;
	}
	snprintf(data, sizeof data, "{\"sends\":[{\"uuid\":\"%s\",\"tag\":\"%s\"},{\"uuid\":\"%s\",\"tag\":\"%s\"},"
		 "{\"uuid\":\"%s\",\"tag\":\"%s\"},{\"uuid\":\"%s\"},{\"uuid\":\"%s\",\"tag\":null},"
		 "{\"uuid\":\"%s\",\"tag\":\"%s\"},{\"uuid\":\"nope\",\"tag\":\"reply:zz\"}]}",
		 fh_send_at(f, 0)->uuid, fh_send_at(f, 0)->tag, fh_send_at(f, 1)->uuid, fh_send_at(f, 1)->tag,
		 fh_send_at(f, 2)->uuid, fh_send_at(f, 2)->tag, fh_send_at(f, 3)->uuid, fh_send_at(f, 4)->uuid,
		 fh_send_at(f, 5)->uuid, fh_send_at(f, 5)->tag);
	is_int(fh_control(f, "autoreply_sends", data, &out), SK_OK, "sends: runs");
	snprintf(want, sizeof want, "{\"labels\":{\"%s\":{\"rule\":\"price\",\"text\":\"关键词规则 price\"},"
		 "\"%s\":{\"rule\":\"#1\",\"text\":\"关键词规则 #1\"},\"%s\":{\"rule\":\"#1\",\"text\":\"关键词规则 #1\"},"
		 "\"%s\":{\"rule\":\"item default\",\"text\":\"商品默认回复\"},\"%s\":{\"rule\":\"default\",\"text\":\"默认回复\"},"
		 "\"%s\":{\"rule\":\"handover\",\"text\":\"转人工\"}}}",
		 fh_send_at(f, 0)->uuid, fh_send_at(f, 1)->uuid, fh_send_at(f, 2)->uuid, fh_send_at(f, 3)->uuid,
		 fh_send_at(f, 4)->uuid, fh_send_at(f, 5)->uuid);
	is_str(out, want, "sends: each send's rule (the image of a rule by its tag), an unknown uuid left out");
	is_int(fh_control(f, "autoreply_sends", "{\"sends\":[]}", &out), SK_OK, "sends: none asked");
	is_str(out, "{\"labels\":{}}", "sends: no labels");
	ctl_bad_f(f, "autoreply_sends", "{}", "autoreply_sends: sends must be a list of at most 200 {uuid, tag}");
	ctl_bad_f(f, "autoreply_sends", "{\"sends\":[{\"tag\":\"x\"}]}",
		  "autoreply_sends: sends[0] must be {\"uuid\": a send's uuid, \"tag\": a string of at most 127 bytes or null}");
	ctl_bad_f(f, "autoreply_sends", "{\"sends\":[{\"uuid\":\"a\"},5]}",
		  "autoreply_sends: sends[1] must be {\"uuid\": a send's uuid, \"tag\": a string of at most 127 bytes or null}");
	big = malloc(201 * 20 + 32);
	if (big) {
		n = (size_t)sprintf(big, "{\"sends\":[");
		for (int i = 0; i < 201; i++)
			n += (size_t)sprintf(big + n, "%s{\"uuid\":\"u%d\"}", i ? "," : "", i);
		sprintf(big + n, "]}");
		ctl_bad_f(f, "autoreply_sends", big, "autoreply_sends: sends must be a list of at most 200 {uuid, tag}");
		free(big);
	}
	fh_free(f);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk_arhand_XXXXXX");
	if (!ok(mkdtemp(tmpdir) != NULL, "a temporary directory"))
		return tap_done();
	snprintf(rules, sizeof rules, "%s/rules.json", tmpdir);
	test_handover_default();
	test_handover_custom();
	test_seller_reply();
	test_validation();
	test_stats();
	test_sends();
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
