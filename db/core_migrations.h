/* SPDX-License-Identifier: MIT */
/*
 * db/core_migrations.h - the core schema of state.db, one SQL step per schema
 * version, applied by core/store.c: step i takes PRAGMA user_version from i to
 * i + 1 inside one BEGIN IMMEDIATE ... COMMIT.
 *
 * NEVER edit, reorder or remove a step once it has been run anywhere: databases
 * in the field already carry it. Change the schema by appending a new step.
 *
 * Times ending in _ms, and every "updated", are ms since the epoch.
 */
#ifndef SK_CORE_MIGRATIONS_H
#define SK_CORE_MIGRATIONS_H

static const char *const core_migrations[] = {
	/* 1: key/value, the IM token cache, the outbox of sends. */
	"CREATE TABLE kv("
	"  k TEXT PRIMARY KEY,"
	"  v TEXT,"
	"  updated INTEGER"
	") STRICT;"
	"CREATE TABLE token("
	"  account TEXT PRIMARY KEY,"
	"  token TEXT,"
	"  did TEXT,"
	"  expires_ms INTEGER,"
	"  updated INTEGER"
	") STRICT;"
	"CREATE TABLE outbox("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT UNIQUE NOT NULL,"
	"  cid TEXT NOT NULL,"
	"  buyer TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('text', 'image')),"
	"  payload TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"  /* pending, done, refused */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  message_id TEXT,"
	"  reason TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX outbox_pending ON outbox(id) WHERE state = 0;",
	/* 2: the plugin that queued a send, and its tag, so that a send resumed
	 * after a restart can report to its owner. */
	"ALTER TABLE outbox ADD COLUMN plugin TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE outbox ADD COLUMN tag TEXT NOT NULL DEFAULT '';",
	/* 3: the schema version of each plugin's own migrations (core/host.c).
	 * IF NOT EXISTS: the host creates the same table on a database these
	 * steps never ran on. */
	"CREATE TABLE IF NOT EXISTS plugin_schema("
	"  plugin TEXT PRIMARY KEY,"
	"  version INTEGER NOT NULL"
	") STRICT;",
	/* 4: a plugin finds its latest send with a tag (sk_send_find, ABI 1.1).
	 * Partial: untagged sends, most of them, are never looked up by tag. A
	 * query must say tag <> '' itself to use it (store_outbox_find does). */
	"CREATE INDEX outbox_tag ON outbox(plugin, tag) WHERE tag <> '';",
	/* 5: an own message is our echo when a send of ours was answered with
	 * its IM id (store_outbox_sent_as), also after a restart. */
	"CREATE INDEX outbox_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;",
	/* 6: finished sends by the time they finished, for pruning them after
	 * send.outbox_keep_days (store_outbox_prune says state <> 0 itself). */
	"CREATE INDEX outbox_finished ON outbox(updated_ms) WHERE state <> 0;",
	/* 7: the conversations (core/convo.c): every chat message in and out,
	 * and one summary row per chat kept up to date on each insert, so that
	 * the chat list reads O(chats) rows. message_id is the platform's IM id
	 * ("q:<uuid>" while an out row waits for its send's answer: the unique
	 * index finds it then, and no index of its own on uuid costs a random
	 * b-tree page a send): unique, so that a backfilled or echoed message
	 * is stored once. uuid is the send's of an out row ("" for a message
	 * that came in). */
	"CREATE TABLE chat_msg("
	"  id INTEGER PRIMARY KEY,"
	"  chat TEXT NOT NULL,"
	"  ms INTEGER NOT NULL,"
	"  dir TEXT NOT NULL CHECK (dir IN ('in', 'out')),"
	"  sender TEXT NOT NULL CHECK (sender IN ('buyer', 'bot', 'seller_app', 'seller_page')),"
	"  kind TEXT NOT NULL CHECK (kind IN ('text', 'image', 'trade', 'system')),"
	"  text TEXT NOT NULL DEFAULT '',"
	"  image_url TEXT NOT NULL DEFAULT '',"
	"  item_id TEXT NOT NULL DEFAULT '',"
	"  order_id TEXT NOT NULL DEFAULT '',"
	"  trade INTEGER NOT NULL DEFAULT 0,"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  uuid TEXT NOT NULL DEFAULT '',"
	"  plugin TEXT NOT NULL DEFAULT '',"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT '' CHECK (state IN ('queued', 'sent', 'failed', '')),"
	"  reason TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX chat_msg_chat ON chat_msg(chat, id);"
	"CREATE UNIQUE INDEX chat_msg_mid ON chat_msg(message_id) WHERE message_id <> '';"
	"CREATE TABLE chat_chat("
	"  chat TEXT PRIMARY KEY,"
	"  buyer_id TEXT NOT NULL DEFAULT '',"
	"  buyer_name TEXT NOT NULL DEFAULT '',"
	"  item_id TEXT NOT NULL DEFAULT '',"
	"  last_id INTEGER NOT NULL DEFAULT 0,"
	"  last_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_text TEXT NOT NULL DEFAULT '',"
	"  last_dir TEXT NOT NULL DEFAULT '',"
	"  unread INTEGER NOT NULL DEFAULT 0,"
	"  read_ms INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX chat_chat_last ON chat_chat(last_ms);",
};

#define CORE_SCHEMA_VERSION ((int)(sizeof core_migrations / sizeof core_migrations[0]))

#endif
