/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hellodb.c - plugins/hellodb through the fake host: its
 * migration ran (the table exists and the step is recorded), each buyer text
 * adds to its chat's row, and "count" is answered from the database.
 */
#include "fakehost/fakehost.h"
#include "tap.h"

#include <sqlite3.h>
#include <string.h>

/* The first column of the first row of sql as an integer, -1 when none. */
static long long one_int(fh *f, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(fh_db(f), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int main(void)
{
	char so[512];
	const fh_send *s;
	fh *f = fh_new("{\"hellodb\":{}}", NULL);

	if (!ok(f != NULL, "fake host created"))
		return tap_done();
	fh_build_path(so, sizeof so, "plugins/hellodb.so");
	if (!ok(fh_load(f, so, NULL) == 0, "hellodb.so loads")) {
		diag("%s: %s", so, fh_error(f));
		fh_free(f);
		return tap_done();
	}
	is_int(one_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'hellodb_chats'"), 1,
	       "the migration created hellodb_chats");
	is_int(one_int(f, "SELECT count(*) FROM hellodb_chats"), 0, "empty at first");

	fh_chat(f, "chat1", "buyer1", "hi");
	fh_chat(f, "chat1", "buyer1", "is it new?");
	fh_chat(f, "chat2", "buyer2", "hi");
	is_int(one_int(f, "SELECT texts FROM hellodb_chats WHERE chat_id = 'chat1'"), 2, "chat1's row counts 2 texts");
	is_int(one_int(f, "SELECT texts FROM hellodb_chats WHERE chat_id = 'chat2'"), 1, "chat2's row counts 1");
	fh_chat(f, "chat1", FH_OWN_ID, "our own text");
	is_int(one_int(f, "SELECT texts FROM hellodb_chats WHERE chat_id = 'chat1'"), 2, "our own texts are not counted");
	is_int(fh_nsends(f), 0, "no reply so far");

	fh_chat(f, "chat1", "buyer1", "count");
	is_int(fh_nsends(f), 1, "\"count\" gets a reply");
	if ((s = fh_send_at(f, 0))) {
		is_str(s->text, "3 texts in this chat", "with the chat's number, read back from the row");
		is_str(s->chat_id, "chat1", "to that chat");
	}
	fh_unload(f);
	is_int(one_int(f, "SELECT texts FROM hellodb_chats WHERE chat_id = 'chat1'"), 3, "the rows outlive the plugin");

	/* Loading again does not run the migration a second time. */
	ok(fh_load(f, so, NULL) == 0, "hellodb.so loads again on the same database");
	fh_chat(f, "chat1", "buyer1", "count");
	if ((s = fh_send_at(f, 1)))
		is_str(s->text, "4 texts in this chat", "and counts on from the stored row");
	fh_free(f);
	return tap_done();
}
