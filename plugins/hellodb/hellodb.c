/* SPDX-License-Identifier: MIT */
/* plugins/hellodb/hellodb.c - the database example: a migration creates the
 * table hellodb_chats (tables are named after the plugin), every chat text
 * from a buyer adds one to its chat's row, and a text "count" is answered
 * with that chat's number. The write is committed with the loop turn, before
 * the reply leaves (plugin.h, DATABASE). */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

/* Run once each, in order, before init; append new steps, never edit old ones. */
static const char *const hellodb_migrations[] = {
	"CREATE TABLE hellodb_chats (chat_id TEXT PRIMARY KEY, texts INTEGER NOT NULL)",
	NULL
};

/* A row of SELECT texts: keeps the count in *ud; returns 0 to read on. */
static int hellodb_row(sk_plugin *p, int ncols, const sk_value *cols, void *ud)
{
	(void)p;
	if (ncols == 1 && cols[0].type == SK_INT)
		*(int64_t *)ud = cols[0].i;
	return 0;
}

/* Counts the text in its chat's row; answers "count" with the chat's total. */
static int hellodb_on_text(sk_plugin *p, const sk_event *e, void *ud)
{
	sk_value chat = SK_VTEXT(e->chat_id);
	int64_t n = 0;
	char reply[64];
	int rc;

	(void)ud;
	rc = sk_db_exec(p, "INSERT INTO hellodb_chats (chat_id, texts) VALUES (?1, 1) "
			"ON CONFLICT (chat_id) DO UPDATE SET texts = texts + 1", &chat, 1, NULL, NULL);
	if (rc < 0 || strcmp(e->text, "count") != 0)
		return rc < 0 ? rc : SK_PASS;  /* negative: the host logs it */
	rc = sk_db_exec(p, "SELECT texts FROM hellodb_chats WHERE chat_id = ?1", &chat, 1, hellodb_row, &n);
	if (rc < 0)
		return rc;
	snprintf(reply, sizeof reply, "%lld texts in this chat", (long long)n);
	rc = sk_reply(p, e, reply, NULL, NULL, NULL);
	return rc < 0 ? rc : SK_STOP;
}

/* Subscribes to buyers' chat texts. */
static int hellodb_init(sk_plugin *p)
{
	sk_filter f = { .flags = SK_F_SKIP_OWN };

	return sk_subscribe(p, SK_MASK(SK_EV_CHAT_TEXT), &f, 0, hellodb_on_text, NULL, NULL, NULL);
}

SK_PLUGIN(.name = "hellodb", .version = "1.0", .description = "Counts texts per chat in SQLite",
	  .init = hellodb_init, .migrations = hellodb_migrations);
