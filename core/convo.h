/* SPDX-License-Identifier: MIT */
/*
 * core/convo.h - the conversation store (core/convo.c): every chat message
 * in and out of the account kept in state.db (tables chat_msg and chat_chat,
 * db/core_migrations.h step 7) for the page's chat list and conversation
 * view, with a retention (chats.retention_days) and the queries of the
 * control commands list_chats, chat_messages, chat_read and chat_stats.
 *
 * Writes run on the loop's connection: inside the turn's batch when one is
 * open (group commit), else each on its own. A failed write is logged and
 * counted (convo_failures); it never fails the message it records.
 */
#ifndef SK_CONVO_H
#define SK_CONVO_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "store.h"

typedef struct convo convo;

/* Beijing time (UTC+8): the calendar day of chat_stats. */
#define CONVO_TZ_MS (8 * 3600 * 1000LL)

/* The store on st's connection (prepared statements); cfg is read at each
 * call (chats.store, chats.retention_days: live keys). NULL on failure. */
convo *convo_new(store *st, const config *cfg);
void convo_free(convo *c);

/* An event of the session: a chat text, image, trade card or system text of
 * a chat is stored (own messages that are not echoes of our sends as
 * sender seller_app); echoes of our sends, duplicates (the same IM id, e.g.
 * backfilled again) and other events are not. 1 stored, 0 not, -1 error. */
int convo_note_event(convo *c, const ev *e);
/* A send was put into the outbox (core/session_send.c): an out row in state
 * queued, sender seller_page for the page's own reply (plugin "" and tag
 * "control"), else bot. kind "text" or "image" (payload {"url",...}).
 * 1 stored, 0 not (storing is off), -1 error. */
int convo_note_queued(convo *c, const char *uuid, const char *cid, const char *buyer, const char *kind,
		      const char *payload, const char *plugin, const char *tag, int64_t ms);
/* A send's answer: sent with its IM id, or failed with the reason. 1 a row
 * changed, 0 none (a send queued while storing was off), -1 error. */
int convo_note_answer(convo *c, const char *uuid, int ok, const char *detail);

/* The retention: deletes the messages older than before_ms among the limit
 * lowest ids, when the lowest is older (the table has no index on time: ids
 * follow it, and a message stored late goes when the front reaches it),
 * and the chats left without messages. The number of messages deleted (0:
 * the oldest is newer), or -1. */
int convo_prune(convo *c, int64_t before_ms, int limit);

/* The chats by last activity (newest first), at most limit, before_ms > 0:
 * only those whose last message is older (paging), appended to arr as
 * {"chat_id","buyer_id","buyer_name","item_id","last_text","last_ms",
 * "last_dir","own","unread"}. The number appended, or -1. */
int convo_chats(convo *c, int64_t before_ms, int limit, cJSON *arr);
/* One chat's summary object as convo_chats makes it; NULL when unknown. */
cJSON *convo_chat(convo *c, const char *chat);
/* A page of a chat's messages, oldest first: the newest limit with an id
 * below before_id (0: the newest). *more says whether older ones exist.
 * The array, or NULL on error. */
cJSON *convo_messages(convo *c, const char *chat, int64_t before_id, int limit, int *more);
/* Marks a chat read at now_ms: 0, 1 unknown chat, -1 error. */
int convo_read(convo *c, const char *chat, int64_t now_ms);
/* Per Beijing day, the last days days up to now_ms's (oldest first):
 * [{"day":"YYYY-MM-DD","buyer_msgs","bot_msgs","seller_msgs"}]; NULL on error. */
cJSON *convo_stats(convo *c, int days, int64_t now_ms);
/* "YYYY-MM-DD" of the Beijing day of ms into out (11 bytes). */
void convo_day(int64_t ms, char *out);

/* Writes that failed so far (logged each). */
int64_t convo_failures(const convo *c);

#endif
