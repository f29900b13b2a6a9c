/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_convo.c - core/convo.c on a state.db in a temporary
 * directory: buyer texts, images, trade cards and system texts stored in;
 * the seller's own messages (not echoes) as seller_app; sends stored at
 * queue time (bot, seller_page for the page's reply) and finished by their
 * answer (sent + IM id, failed + reason); an echo before or after the
 * answer, and a message backfilled again, stored once; unread counts and
 * chat_read; the chat list by last activity (and paging); a conversation
 * paged back; chat_stats on Beijing day boundaries; the retention; storing
 * off; and the query plans use the indexes (no full scan).
 */
#include "convo.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64], dbpath[128];
static config cfg;

/* The text of the first column of the first row of sql (static), "" if none. */
static const char *q1(store *s, const char *sql)
{
	static char out[512];
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		diag("prepare %s: %s", sql, sqlite3_errmsg(store_db(s)));
		return out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

/* An event as the session makes it (strings "" unless given). */
static ev mk(ev_type t, const char *chat, const char *from, const char *text, const char *im_id, int64_t ms)
{
	ev e;

	memset(&e, 0, sizeof e);
	e.type = t;
	e.chat_id = chat;
	e.sender_id = from;
	e.sender_name = "";
	e.text = text;
	e.item_id = "";
	e.message_id = im_id;
	e.im_id = im_id;
	e.order_id = "";
	e.image_url = "";
	e.red_reminder = "";
	e.created_ms = ms;
	return e;
}

/* The whole conversation of chat as "sender/kind/state:text|..." (oldest first). */
static const char *convo_text(convo *c, const char *chat)
{
	static char out[2048];
	int more;
	cJSON *arr = convo_messages(c, chat, 0, 200, &more), *m;

	out[0] = '\0';
	cJSON_ArrayForEach(m, arr) {
		size_t n = strlen(out);

		snprintf(out + n, sizeof out - n, "%s%s/%s/%s:%s", n ? "|" : "",
			 cJSON_GetObjectItem(m, "sender")->valuestring, cJSON_GetObjectItem(m, "kind")->valuestring,
			 cJSON_GetObjectItem(m, "state")->valuestring, cJSON_GetObjectItem(m, "text")->valuestring);
	}
	cJSON_Delete(arr);
	return out;
}

/* A number member of the chat's summary, -1 when the chat is unknown. */
static double chat_num(convo *c, const char *chat, const char *k)
{
	cJSON *o = convo_chat(c, chat);
	double v = o ? cJSON_GetObjectItem(o, k)->valuedouble : -1;

	cJSON_Delete(o);
	return v;
}

/* A string member of the chat's summary (static), "" when unknown. */
static const char *chat_str(convo *c, const char *chat, const char *k)
{
	static char out[256];
	cJSON *o = convo_chat(c, chat);

	snprintf(out, sizeof out, "%s", o ? cJSON_GetObjectItem(o, k)->valuestring : "");
	cJSON_Delete(o);
	return out;
}

/* Whether EXPLAIN QUERY PLAN of sql shows a full scan of table (no index). */
static int full_scan(store *s, const char *sql, const char *table)
{
	char plan[1024] = "", want[64];
	sqlite3_stmt *st;
	char q[1024];

	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(store_db(s), q, -1, &st, NULL) != SQLITE_OK)
		return 1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(plan);

		snprintf(plan + n, sizeof plan - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	diag("plan: %s", plan);
	snprintf(want, sizeof want, "SCAN %s", table);
	/* "SCAN chat_msg USING INDEX" is an index walk, not a full scan */
	for (const char *p = strstr(plan, want); p; p = strstr(p + 1, want))
		if (strncmp(p + strlen(want), " USING", 6))
			return 1;
	return 0;
}

static void test_in_and_out(store *s, convo *c)
{
	ev e;
	int more;
	cJSON *arr;

	diag("in: a buyer text, an image, a trade card, a system text; out: sends and their answers");
	e = mk(EV_CHAT_TEXT, "c1", "b1", "多少钱", "1.PNM", 1000);
	e.sender_name = "小王";
	e.item_id = "i9";
	is_int(convo_note_event(c, &e), 1, "a buyer text is stored");
	is_str(chat_str(c, "c1", "buyer_name"), "小王", "the chat has the buyer's name");
	is_str(chat_str(c, "c1", "buyer_id"), "b1", "and id");
	is_str(chat_str(c, "c1", "item_id"), "i9", "and the item");
	is_int((int)chat_num(c, "c1", "unread"), 1, "unread 1");
	is_int(convo_note_event(c, &e), 0, "the same IM id again (backfilled, pushed twice): not stored again");
	e = mk(EV_CHAT_IMAGE, "c1", "b1", "[图片]", "2.PNM", 2000);
	e.image_url = "https://img.example/a.jpg";
	is_int(convo_note_event(c, &e), 1, "an image is stored");
	e = mk(EV_TRADE, "c1", "sys", "[我已付款，等待你发货]", "3.PNM", 3000);
	e.trade = TRADE_PAID;
	e.order_id = "2601";
	is_int(convo_note_event(c, &e), 1, "a trade card is stored");
	e = mk(EV_SYSTEM, "c1", "sys", "交易提醒", "4.PNM", 3500);
	is_int(convo_note_event(c, &e), 1, "a system text is stored");
	e = mk(EV_TYPING, "c1", "b1", "", "", 3600);
	is_int(convo_note_event(c, &e), 0, "typing is not a message");
	e = mk(EV_CHAT_TEXT, "", "b1", "x", "5.PNM", 3600);
	is_int(convo_note_event(c, &e), 0, "nor a text without a chat");
	is_str(chat_str(c, "c1", "buyer_name"), "小王", "a system message leaves the buyer's name");
	is_int((int)chat_num(c, "c1", "unread"), 4, "4 unread");

	/* a reply of autoreply: queued, echo BEFORE the answer, then the answer */
	is_int(convo_note_queued(c, "u-1", "c1", "b1", "text", "您好，10元", "autoreply", "r:1.PNM", 4000), 1,
	       "a plugin's send is stored at queue time");
	is_str(chat_str(c, "c1", "last_dir"), "out", "the chat's last message is ours");
	ok(chat_num(c, "c1", "unread") == 4, "our send leaves unread as it was");
	e = mk(EV_CHAT_TEXT, "c1", "me", "您好，10元", "10.PNM", 4100);
	e.own = 1;
	e.echo = 1;
	is_int(convo_note_event(c, &e), 0, "its echo, before the answer, is not stored");
	is_int(convo_note_answer(c, "u-1", 1, "10.PNM"), 1, "the answer marks it sent");
	is_int(convo_note_event(c, &e), 0, "its echo after the answer is not stored either");
	e.echo = 0;
	is_int(convo_note_event(c, &e), 0, "nor when pushed again after a restart unrecognised: the IM id is the send's");

	/* an image of the page: seller_page, and a refused send */
	is_int(convo_note_queued(c, "u-2", "c1", "b1", "image",
				 "{\"url\":\"https://img.example/p.png\",\"width\":800,\"height\":800}", NULL, "control",
				 5000), 1, "the page's image is stored");
	is_int(convo_note_queued(c, "u-3", "c1", "b1", "text", "卡密: X", "orders", "o:2601:1", 6000), 1,
	       "a delivery is stored");
	is_int(convo_note_answer(c, "u-3", 0, "flow control (400600001)"), 1, "its refusal is recorded");
	is_int(convo_note_answer(c, "u-404", 1, "99.PNM"), 0, "an answer to an unknown send changes nothing");

	/* the seller typing in the app: own, not an echo */
	e = mk(EV_CHAT_TEXT, "c1", "me", "我来回答", "11.PNM", 7000);
	e.own = 1;
	is_int(convo_note_event(c, &e), 1, "the seller's own message from the app is stored");
	is_str(convo_text(c, "c1"),
	       "buyer/text/:多少钱|buyer/image/:[图片]|buyer/trade/:[我已付款，等待你发货]|buyer/system/:交易提醒|"
	       "bot/text/sent:您好，10元|seller_page/image/queued:[图片]|bot/text/failed:卡密: X|"
	       "seller_app/text/sent:我来回答", "the conversation, in order, each once");
	arr = convo_messages(c, "c1", 0, 50, &more);
	{
		cJSON *img = cJSON_GetArrayItem(arr, 1), *trade = cJSON_GetArrayItem(arr, 2), *bot = cJSON_GetArrayItem(arr, 4);
		cJSON *page = cJSON_GetArrayItem(arr, 5), *fail = cJSON_GetArrayItem(arr, 6);

		is_str(cJSON_GetObjectItem(img, "image_url")->valuestring, "https://img.example/a.jpg", "the image URL");
		is_str(cJSON_GetObjectItem(trade, "trade")->valuestring, "paid", "the trade card's state");
		is_str(cJSON_GetObjectItem(trade, "order_id")->valuestring, "2601", "and order");
		is_str(cJSON_GetObjectItem(bot, "plugin")->valuestring, "autoreply", "the reply's plugin");
		is_str(cJSON_GetObjectItem(bot, "tag")->valuestring, "r:1.PNM", "and tag");
		is_str(cJSON_GetObjectItem(bot, "uuid")->valuestring, "u-1", "and uuid");
		is_str(cJSON_GetObjectItem(bot, "dir")->valuestring, "out", "dir out");
		is_str(cJSON_GetObjectItem(page, "image_url")->valuestring, "https://img.example/p.png",
		       "the page's image URL from the payload");
		is_str(cJSON_GetObjectItem(fail, "reason")->valuestring, "flow control (400600001)", "the refusal's reason");
		ok(!more, "no more");
	}
	cJSON_Delete(arr);
	is_str(q1(s, "SELECT message_id FROM chat_msg WHERE uuid = 'u-1'"), "10.PNM", "the send's row has its IM id");
	is_str(chat_str(c, "c1", "last_text"), "我来回答", "the chat's last text");

	diag("an echo that was taken for the seller's own message before the answer gives way to the send");
	is_int(convo_note_queued(c, "u-5", "c1", "b1", "text", "稍等", "autoreply", "t", 8000), 1, "queued");
	e = mk(EV_CHAT_TEXT, "c1", "me", "稍等", "12.PNM", 8001);
	e.own = 1;
	is_int(convo_note_event(c, &e), 1, "an own message the session did not know as ours is stored");
	is_int(convo_note_answer(c, "u-5", 1, "12.PNM"), 1, "then the answer with the same IM id");
	is_str(q1(s, "SELECT count(*) FROM chat_msg WHERE text = '稍等'"), "1", "one row left");
	is_str(q1(s, "SELECT sender FROM chat_msg WHERE text = '稍等'"), "bot", "the send's");

	diag("unread and read");
	is_int(convo_read(c, "c1", 9000), 0, "chat_read");
	is_int((int)chat_num(c, "c1", "unread"), 0, "unread 0");
	e = mk(EV_CHAT_TEXT, "c1", "b1", "在吗", "13.PNM", 9500);
	convo_note_event(c, &e);
	is_int((int)chat_num(c, "c1", "unread"), 1, "a new buyer message: 1");
	e = mk(EV_CHAT_TEXT, "c1", "b1", "早先的", "14.PNM", 8500);
	convo_note_event(c, &e);
	is_int((int)chat_num(c, "c1", "unread"), 1, "one from before the read (backfilled late) is not unread");
	is_str(chat_str(c, "c1", "last_text"), "在吗", "nor the last text");
	is_int(convo_read(c, "nope", 9000), 1, "chat_read of an unknown chat: 1");
}

static void test_list_and_paging(store *s, convo *c)
{
	cJSON *arr = cJSON_CreateArray(), *m;
	int more, n;
	int64_t first;
	char chat[16], mid[16];

	diag("the chat list by last activity; paging a conversation back");
	for (int i = 0; i < 5; i++) {
		ev e;

		snprintf(chat, sizeof chat, "L%d", i);
		snprintf(mid, sizeof mid, "L%d.PNM", i);
		e = mk(EV_CHAT_TEXT, chat, "b", "hi", mid, 100000 + i * 10);
		convo_note_event(c, &e);
	}
	is_int(convo_chats(c, 0, 3, arr), 3, "3 chats of a limit 3");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "chat_id")->valuestring, "L4", "newest first");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "chat_id")->valuestring, "L2", "third");
	first = (int64_t)cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "last_ms")->valuedouble;
	cJSON_Delete(arr);
	arr = cJSON_CreateArray();
	is_int(convo_chats(c, first, 2, arr), 2, "the next page (before_ms)");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "chat_id")->valuestring, "L1", "goes on with L1");
	cJSON_Delete(arr);

	for (int i = 0; i < 120; i++) {
		char t[16];
		ev e;

		snprintf(t, sizeof t, "m%d", i);
		snprintf(mid, sizeof mid, "P%d.PNM", i);
		e = mk(EV_CHAT_TEXT, "P", "b", t, mid, 200000 + i);
		convo_note_event(c, &e);
	}
	arr = convo_messages(c, "P", 0, 50, &more);
	n = cJSON_GetArraySize(arr);
	is_int(n, 50, "the first page: 50");
	ok(more, "more");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "text")->valuestring, "m70", "oldest first: m70");
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 49), "text")->valuestring, "m119", "the newest last");
	first = (int64_t)cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")->valuedouble;
	cJSON_Delete(arr);
	arr = convo_messages(c, "P", first, 50, &more);
	is_str(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 49), "text")->valuestring, "m69", "before_id: the page before");
	first = (int64_t)cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")->valuedouble;
	cJSON_Delete(arr);
	arr = convo_messages(c, "P", first, 50, &more);
	is_int(cJSON_GetArraySize(arr), 20, "the last page: 20");
	ok(!more, "no more");
	m = cJSON_GetArrayItem(arr, 0);
	is_str(m ? cJSON_GetObjectItem(m, "text")->valuestring : "", "m0", "down to m0");
	cJSON_Delete(arr);

	ok(!full_scan(s, "SELECT id FROM chat_msg WHERE chat = 'P' AND id < 5 ORDER BY id DESC LIMIT 51", "chat_msg"),
	   "a conversation page uses the (chat, id) index");
	ok(!full_scan(s, "SELECT chat FROM chat_chat WHERE last_ms < 5 ORDER BY last_ms DESC LIMIT 50", "chat_chat"),
	   "the chat list uses the last_ms index");
	ok(!full_scan(s, "UPDATE chat_msg SET state = 'sent' WHERE message_id = 'q:' || 'x' AND message_id <> ''", "chat_msg"),
	   "a send's answer finds its row by the IM id index (its key q:<uuid> until then)");
	ok(!full_scan(s, "DELETE FROM chat_msg WHERE id < 5 AND ms < 5", "chat_msg"),
	   "the retention deletes a range of ids");
	ok(full_scan(s, "SELECT id FROM chat_msg WHERE text = 'x'", "chat_msg"), "(the check sees a full scan)");
}

/* The chat_stats counts of day i as "buyer/bot/seller". */
static const char *day_counts(cJSON *arr, int i, char *day)
{
	static char out[64];
	cJSON *d = cJSON_GetArrayItem(arr, i);

	snprintf(day, 11, "%s", d ? cJSON_GetObjectItem(d, "day")->valuestring : "");
	snprintf(out, sizeof out, "%d/%d/%d", d ? cJSON_GetObjectItem(d, "buyer_msgs")->valueint : -1,
		 d ? cJSON_GetObjectItem(d, "bot_msgs")->valueint : -1,
		 d ? cJSON_GetObjectItem(d, "seller_msgs")->valueint : -1);
	return out;
}

static void test_stats(convo *c)
{
	/* 2026-12-04T16:00:00Z: 2026-12-05 00:00 in Beijing */
	const int64_t mid = INT64_C(1796400000) * 1000;
	int64_t now;
	cJSON *arr;
	char day[11];
	ev e;

	{
		char d[11];

		convo_day(mid, d);
		is_str(d, "2026-12-05", "16:00 UTC is the next day in Beijing");
		convo_day(mid - 1, d);
		is_str(d, "2026-12-04", "a ms before is the day before");
	}
	diag("chat_stats on Beijing day boundaries");
	e = mk(EV_CHAT_TEXT, "S", "b", "昨天最后", "S1.PNM", mid - 1);
	convo_note_event(c, &e);
	e = mk(EV_CHAT_TEXT, "S", "b", "今天第一", "S2.PNM", mid);
	convo_note_event(c, &e);
	e = mk(EV_CHAT_IMAGE, "S", "b", "[图片]", "S3.PNM", mid + 1000);
	convo_note_event(c, &e);
	e = mk(EV_TRADE, "S", "b", "[我已付款，等待你发货]", "S4.PNM", mid + 2000);
	convo_note_event(c, &e);
	convo_note_queued(c, "su-1", "S", "b", "text", "在的", "autoreply", "", mid + 3000);
	convo_note_queued(c, "su-2", "S", "b", "text", "失败的", "autoreply", "", mid + 3000);
	convo_note_answer(c, "su-2", 0, "refused");
	convo_note_queued(c, "su-3", "S", "b", "text", "页面回复", NULL, "control", mid + 4000);
	now = mid + 12 * 3600 * 1000;
	arr = convo_stats(c, 3, now);
	is_int(cJSON_GetArraySize(arr), 3, "3 days");
	is_str(day_counts(arr, 2, day), "2/1/1", "today: 2 buyer messages (the card is not one), 1 reply (not the refused), 1 seller");
	is_str(day, "2026-12-05", "today is the Beijing day");
	is_str(day_counts(arr, 1, day), "1/0/0", "yesterday: the message a ms before midnight");
	is_str(day, "2026-12-04", "yesterday's date");
	is_str(day_counts(arr, 0, day), "0/0/0", "a day with nothing: zeros");
	is_str(day, "2026-12-03", "oldest first");
	cJSON_Delete(arr);
	arr = convo_stats(c, 1, mid - 1);
	is_str(day_counts(arr, 0, day), "1/0/0", "at 23:59:59.999 Beijing, today has only the one before midnight");
	is_str(day, "2026-12-04", "and is the 4th");
	cJSON_Delete(arr);
	ok(convo_stats(c, 0, now) == NULL && convo_stats(c, 32, now) == NULL, "days out of 1..31: NULL");

	diag("the counts kept in memory follow new messages, refusals and a new day");
	e = mk(EV_CHAT_TEXT, "S", "b", "又来了", "S5.PNM", mid + 5000);
	convo_note_event(c, &e);
	convo_note_queued(c, "su-4", "S", "b", "text", "回复", "autoreply", "", mid + 6000);
	arr = convo_stats(c, 1, now);
	is_str(day_counts(arr, 0, day), "3/2/1", "a new buyer message and reply are counted at once");
	cJSON_Delete(arr);
	convo_note_answer(c, "su-4", 0, "refused");
	arr = convo_stats(c, 1, now);
	is_str(day_counts(arr, 0, day), "3/1/1", "a refusal takes the reply out again");
	cJSON_Delete(arr);
	e = mk(EV_CHAT_TEXT, "S", "b", "第二天", "S6.PNM", mid + 86400000);
	convo_note_event(c, &e);
	arr = convo_stats(c, 2, now + 86400000);
	is_str(day_counts(arr, 1, day), "1/0/0", "the next day starts with its own message");
	is_str(day, "2026-12-06", "on the 6th");
	is_str(day_counts(arr, 0, day), "3/1/1", "and the 5th is kept");
	cJSON_Delete(arr);
	e = mk(EV_CHAT_TEXT, "S", "b", "早先的", "S7.PNM", mid - 3 * 86400000);
	convo_note_event(c, &e);
	arr = convo_stats(c, 5, now);
	is_str(day_counts(arr, 1, day), "1/0/0", "a message backfilled into an earlier day counts there");
	is_str(day, "2026-12-02", "(the 2nd)");
	cJSON_Delete(arr);
}

#define CUT INT64_C(4000000000000)
static void test_retention_and_off(store *s, convo *c)
{
	ev e;
	int n, total = 0;

	diag("retention: older messages deleted in batches, chats left empty go");
	for (int i = 0; i < 25; i++) {
		char mid[16];

		snprintf(mid, sizeof mid, "R%d.PNM", i);
		e = mk(EV_CHAT_TEXT, i < 20 ? "old" : "new", "b", "x", mid, i < 20 ? 500 + i : INT64_C(5000000000000));
		convo_note_event(c, &e);
	}
	/* the cut is after every message of the tests before, and the 20 "old" */
	while ((n = convo_prune(c, CUT, 7)) > 0)
		total += n;
	/* an old message stored late, behind newer ones: it goes when the front reaches it */
	e = mk(EV_CHAT_TEXT, "late", "b", "x", "LATE.PNM", 600);
	convo_note_event(c, &e);
	is_int(convo_prune(c, CUT, 7), 0, "the oldest id is newer: nothing deleted (no scan)");
	is_int(n, 0, "until nothing is left to delete");
	ok(total > 20, "every message older than the cut is gone (%d)", total);
	is_str(q1(s, "SELECT count(*) FROM chat_msg WHERE ms < 4000000000000 AND chat <> 'late'"), "0", "none older left");
	is_str(q1(s, "SELECT count(*) FROM chat_msg WHERE chat = 'new'"), "5", "the newer kept");
	ok(chat_num(c, "old", "unread") < 0, "the chat with no message left is gone");
	ok(chat_num(c, "new", "unread") == 5, "the other stays");

	diag("chats.store false: nothing stored, the list answers from what is stored");
	cfg.chats_store = 0;
	e = mk(EV_CHAT_TEXT, "off", "b", "x", "OFF1.PNM", 6000000000000);
	is_int(convo_note_event(c, &e), 0, "an event is not stored");
	is_int(convo_note_queued(c, "uo", "off", "b", "text", "y", "autoreply", "", 1), 0, "nor a send");
	ok(chat_num(c, "off", "unread") < 0, "no chat");
	ok(chat_num(c, "new", "unread") == 5, "what was stored is still there");
	cfg.chats_store = 1;
}

int main(void)
{
	char err[256];
	store *s;
	convo *c;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sk-convo-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(dbpath, sizeof dbpath, "%s/state.db", tmpdir);
	cfg.chats_store = 1;
	cfg.chats_retention_days = 90;
	s = store_open(dbpath, err, sizeof err);
	ok(s != NULL, "state.db opens (migrations run): %s", s ? "" : err);
	c = s ? convo_new(s, &cfg) : NULL;
	ok(c != NULL, "the conversation store starts");
	if (!c)
		return tap_done();
	test_in_and_out(s, c);
	test_list_and_paging(s, c);
	test_stats(c);
	test_retention_and_off(s, c);
	is_int((int)convo_failures(c), 0, "no write failed");
	convo_free(c);
	store_close(s);
	unlink(dbpath);
	{
		char p[160];

		snprintf(p, sizeof p, "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", dbpath);
		unlink(p);
		snprintf(p, sizeof p, "%s.lock", dbpath);
		unlink(p);
	}
	rmdir(tmpdir);
	return tap_done();
}
