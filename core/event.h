/* SPDX-License-Identifier: MIT */
/*
 * core/event.h - turns one decoded push item (docs/protocol.md §6) into a typed event.
 *
 * Every string field is NUL-terminated and never NULL ("" when absent). Strings
 * point into the decoded tree or into the event's own buffer, so an event lives
 * as long as both the tree and the event struct.
 */
#ifndef SK_EVENT_H
#define SK_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/* The push item's objectType (docs/protocol.md §6). */
typedef enum {
	EV_OBJ_CHAT = 40000,    /* a chat message, a card, a message update */
	EV_OBJ_TYPING = 40006,  /* "typing" */
	EV_OBJ_READ = 40103     /* a read receipt */
} ev_object_type;

/* A message's contentType (docs/protocol.md §6.1): what it holds. */
typedef enum {
	EV_CONTENT_TEXT = 1,
	EV_CONTENT_IMAGE = 2,
	EV_CONTENT_TIP = 14,    /* a system tip */
	EV_CONTENT_CARD = 26,   /* a card (trade status, refund, bargain) */
	EV_CONTENT_CUSTOM = 101 /* a custom message: what the send frame wraps its payload in */
} ev_content_type;

/* The conversation's sessionType (in the card metadata). */
typedef enum {
	EV_SESSION_GROUP = 30   /* a group chat */
} ev_session_type;

typedef enum {
	EV_UNKNOWN = 0,
	EV_CHAT_TEXT,       /* a chat message with text (EV_CONTENT_TEXT; also audio etc. with their display text) */
	EV_CHAT_IMAGE,      /* EV_CONTENT_IMAGE: image_url set, text "[图片]" */
	EV_TRADE,           /* a trade card: trade_status and (when the card has one) order_id */
	EV_MSG_UPDATE,      /* a message-update frame (["1"] a string); trade_status/order_id when it is a card */
	EV_PAYMENT,         /* payment summary {"1":cid,"2":1,"3":{"redReminder"}} or order context */
	EV_TYPING,          /* objectType EV_OBJ_TYPING */
	EV_READ,            /* read receipt, objectType EV_OBJ_READ (any of the three shapes) */
	EV_SYSTEM,          /* system texts, tips (EV_CONTENT_TIP, MsgTips), plain-JSON chatType items */
	EV_TYPE_COUNT
} ev_type;

/* Trade statuses, from the card texts of docs/protocol.md §6.2. */
typedef enum {
	TRADE_NONE = 0,
	TRADE_PLACED,           /* [我已拍下，待付款] */
	TRADE_PAID,             /* [我已付款，等待你发货], [已付款，待发货] */
	TRADE_REMIND,           /* [记得及时发货] */
	TRADE_SHIPPED,          /* [你已发货], 已发货 */
	TRADE_COMPLETED,        /* [买家确认收货，交易成功], [你已确认收货，交易成功] */
	TRADE_CLOSED,           /* [你关闭了订单，钱款已原路退返], [退款成功，钱款已原路退返], 交易关闭 */
	TRADE_REFUNDING,        /* refund card, button 已同意 (or [买家申请退款]) */
	TRADE_REFUND_CANCELLED  /* refund card, button 已撤销 */
} trade_status;

typedef struct {
	ev_type type;
	trade_status trade;
	int object_type;        /* of the push item (ev_object_type, or another number) */
	int content_type;       /* inner contentType (ev_content_type, or another number), 0 if none */
	int own;                /* sent by our own account (senderUserId == unb) */
	int echo;               /* set by the session: an echo of one of our own sends */
	int need_push;          /* ["3"]["needPush"] == "true" */
	int group;              /* sessionType EV_SESSION_GROUP */
	int64_t created_ms;     /* ["1"]["5"] (or the frame's timestamp field), 0 if none */
	const char *chat_id;    /* cid without "@goofish" */
	const char *sender_id;  /* senderUserId */
	const char *sender_name;/* senderNick, else reminderTitle */
	const char *text;       /* reminderContent (or the inner text) */
	const char *item_id;    /* itemId= of reminderUrl */
	const char *message_id; /* business id: bizTag.messageId, else extJson.messageId, else the IM id */
	const char *im_id;      /* ["1"]["3"], "<n>.PNM" */
	const char *order_id;   /* trade cards and updates */
	const char *image_url;  /* first pics[].url of an image */
	const char *red_reminder; /* payment summaries and cards */
	int backfilled;         /* fetched from the history after an outage (core/session_backfill.c), not pushed */
	const cJSON *raw;       /* the decoded item */
	char buf[1536];         /* storage for derived strings */
	size_t used;
} ev;

/* Fills e from one decoded item (tree), given the item's objectType and whether
 * it was plain JSON, for the account own_unb. Returns 0, or -1 when tree is not
 * something events are made of (e is then EV_UNKNOWN with raw set). Never fails
 * on missing fields: they stay "". */
int event_from_item(const cJSON *tree, int object_type, int plain_json, const char *own_unb, ev *e);

/* One item of a push's body.syncPushPackage.data ({"data":"<base64>",
 * "objectType":N}): its data decoded (codec_decode_item) into *tree, which
 * the caller deletes, and the event made of it (event_from_item; e->raw
 * points into *tree). 0, or -1 with *tree NULL and *err set: the item has
 * no data string, or the data does not decode. */
int event_from_push_item(const cJSON *item, const char *own_unb, ev *e, cJSON **tree, const char **err);

/* One message of the history lists (docs/protocol.md §4.5: messageId, cid,
 * createAt, sender.uid, content.custom{type, data, summary}, extension as an
 * object or a JSON string) made into the decoded push item it was
 * (docs/protocol.md §6.1) in *tree, which the caller deletes, and the event
 * of it (event_from_item), flagged backfilled. 0, or -1 with *tree NULL and
 * *err set when msg is no chat message. */
int event_from_history(const cJSON *msg, const char *own_unb, ev *e, cJSON **tree, const char **err);

/* The event as JSON {"kind":"event","type","trade","chat_id",...,"created_ms"}
 * (the event log's and the web page's line; no raw tree). NULL on OOM. */
cJSON *event_json(const ev *e);

/* "chat_text", "trade"...; "paid", "shipped"... */
const char *event_type_name(ev_type t);
/* The plugin ABI's type of t (an sk_event_type: SK_EV_CHAT_TEXT...),
 * SK_EV_UNKNOWN for EV_UNKNOWN and anything out of range. */
int event_sk_type(ev_type t);
const char *trade_status_name(trade_status s);

/* Finds the order id in a decoded chat/update tree the way docs/protocol.md §6.2
 * describes (card JSON urls first, then patterns over the whole text). Writes
 * it to out (digits only) and returns 0, or -1 when there is none. */
int event_order_id(const cJSON *tree, char *out, size_t outsz);

#endif
