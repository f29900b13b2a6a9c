/* SPDX-License-Identifier: MIT */
/*
 * core/feed.c - one event vocabulary (feed.h): the core's event as the ABI's,
 * the JSON lines of the event log and the live page, the noise filter.
 */
#include "feed.h"
#include "log.h"
#include "mtop.h"
#include "session.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

/* Stops the build when a core enum's value is not its ABI twin's: for the
 * core's enums that cross into the ABI by a cast. (The casts to int: gcc
 * warns when two different enums are compared.) */
#define FEED_TWIN(core, abi) _Static_assert((int)(core) == (int)(abi), #core " must equal " #abi)

/* The core's enums that cross into the ABI by a cast keep the ABI's numbers.
 * trade_status goes into sk_event.trade by a cast. */
FEED_TWIN(TRADE_NONE, SK_TRADE_NONE);
FEED_TWIN(TRADE_PLACED, SK_TRADE_PLACED);
FEED_TWIN(TRADE_PAID, SK_TRADE_PAID);
FEED_TWIN(TRADE_REMIND, SK_TRADE_REMIND);
FEED_TWIN(TRADE_SHIPPED, SK_TRADE_SHIPPED);
FEED_TWIN(TRADE_COMPLETED, SK_TRADE_COMPLETED);
FEED_TWIN(TRADE_CLOSED, SK_TRADE_CLOSED);
FEED_TWIN(TRADE_REFUNDING, SK_TRADE_REFUNDING);
FEED_TWIN(TRADE_REFUND_CANCELLED, SK_TRADE_REFUND_CANCELLED);
/* The session's state and an mtop call's result go to plugins by a cast
 * (core/bridge.c). */
FEED_TWIN(SESS_DISCONNECTED, SK_STATE_DISCONNECTED);
FEED_TWIN(SESS_CONNECTING, SK_STATE_CONNECTING);
FEED_TWIN(SESS_CONNECTED, SK_STATE_CONNECTED);
FEED_TWIN(SESS_RECONNECTING, SK_STATE_RECONNECTING);
FEED_TWIN(SESS_FAILED, SK_STATE_FAILED);
FEED_TWIN(SESS_CLOSED, SK_STATE_CLOSED);
FEED_TWIN(MTOP_OK, SK_MTOP_OK);
FEED_TWIN(MTOP_TOKEN_EXPIRED, SK_MTOP_TOKEN_EXPIRED);
FEED_TWIN(MTOP_SESSION_EXPIRED, SK_MTOP_SESSION_EXPIRED);
FEED_TWIN(MTOP_RISK, SK_MTOP_RISK);
FEED_TWIN(MTOP_FAIL, SK_MTOP_FAIL);
FEED_TWIN(MTOP_TRANSPORT, SK_MTOP_TRANSPORT);
/* the host hands a plugin's SK_LOG_* level to log_msg as it is */
FEED_TWIN(LOG_ERR, SK_LOG_ERR);
FEED_TWIN(LOG_WARN, SK_LOG_WARN);
FEED_TWIN(LOG_INFO, SK_LOG_INFO);
FEED_TWIN(LOG_DEBUG, SK_LOG_DEBUG);
/* sk_send_status and sk_send_find answer the outbox's state as it is;
 * plugins/plugin.h gives it as numbers: 0 pending, 1 sent, 2 refused */
FEED_TWIN(OUTBOX_PENDING, 0);
FEED_TWIN(OUTBOX_DONE, 1);
FEED_TWIN(OUTBOX_REFUSED, 2);

const size_t feed_sk_strings[FEED_SK_NSTRINGS] = {
	offsetof(sk_event, chat_id), offsetof(sk_event, sender_id), offsetof(sk_event, sender_name),
	offsetof(sk_event, text), offsetof(sk_event, item_id), offsetof(sk_event, message_id),
	offsetof(sk_event, im_id), offsetof(sk_event, order_id), offsetof(sk_event, image_url),
	offsetof(sk_event, raw_json), offsetof(sk_event, reason), offsetof(sk_event, topic),
	offsetof(sk_event, payload_json), offsetof(sk_event, from_plugin), offsetof(sk_event, send_uuid),
	offsetof(sk_event, send_tag), offsetof(sk_event, fail_kind), offsetof(sk_event, punish_url),
};

void feed_sk_init(sk_event *e, int type)
{
	memset(e, 0, sizeof *e);
	e->size = sizeof *e;
	e->type = type;
	for (size_t i = 0; i < FEED_SK_NSTRINGS; i++)
		*(const char **)((char *)e + feed_sk_strings[i]) = "";
}

void feed_sk_event(sk_event *x, const ev *e, const char *raw_json)
{
	feed_sk_init(x, event_sk_type(e->type));
	x->trade = (int)e->trade;
	x->chat_id = e->chat_id;
	x->sender_id = e->sender_id;
	x->sender_name = e->sender_name;
	x->text = e->text;
	x->item_id = e->item_id;
	x->message_id = e->message_id;
	x->im_id = e->im_id;
	x->order_id = e->order_id;
	x->image_url = e->image_url;
	x->own = e->own;
	x->echo = e->echo;
	x->created_ms = e->created_ms;
	x->backfilled = e->backfilled;
	x->raw_json = raw_json ? raw_json : "";
}

int feed_is_noise(const ev *e)
{
	return e->type == EV_READ || e->type == EV_TYPING;
}

/* Prints j (consumed) as one line with "ms" (now) added. Returns the line
 * (malloc'd), NULL on OOM or a NULL j. */
static char *feed_line(cJSON *j)
{
	char *s;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "ms", (double)util_now_ms());
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

char *feed_event_line(const ev *e)
{
	return feed_line(event_json(e));
}

char *feed_state_line(const char *from, const char *to, const char *why, const char *fail_kind)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "kind", "state");
	cJSON_AddStringToObject(j, "from", from ? from : "");
	cJSON_AddStringToObject(j, "to", to ? to : "");
	cJSON_AddStringToObject(j, "why", why ? why : "");
	cJSON_AddStringToObject(j, "fail_kind", fail_kind ? fail_kind : "");
	return feed_line(j);
}

char *feed_send_line(const char *uuid, int ok, const char *detail, const char *plugin, const char *tag)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "kind", "send");
	cJSON_AddStringToObject(j, "uuid", uuid ? uuid : "");
	cJSON_AddBoolToObject(j, "ok", ok);
	cJSON_AddStringToObject(j, ok ? "message_id" : "reason", detail ? detail : "");
	cJSON_AddStringToObject(j, "plugin", plugin ? plugin : "");
	cJSON_AddStringToObject(j, "tag", tag ? tag : "");
	return feed_line(j);
}

char *feed_plugin_line(const char *plugin, const char *topic, const char *payload_json)
{
	cJSON *j = cJSON_CreateObject(), *p = payload_json ? cJSON_Parse(payload_json) : NULL;

	if (!j) {
		cJSON_Delete(p);
		return NULL;
	}
	cJSON_AddStringToObject(j, "kind", "plugin");
	cJSON_AddStringToObject(j, "topic", topic ? topic : "");
	cJSON_AddStringToObject(j, "from", plugin ? plugin : "");
	cJSON_AddItemToObject(j, "payload", p ? p : cJSON_CreateNull());
	return feed_line(j);
}
