/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_push.c - builds push items the way the platform encodes them
 * (docs/protocol.md §5, §6): decoded shapes with integer envelope keys, MessagePack,
 * base64, several items per /s/sync, /s/para or /s/vulcan frame.
 */
#include "sim.h"
#include "sim_mp.h"
#include "codec.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UA_DT "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
	"Chrome/133.0.0.0 Safari/537.36 DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) " \
	"DingWeb/2.1.5 IMPaaS DingWeb/2.1.5"

/* Trade cards by order status (docs/protocol.md §6.2). The sender of the cards that
 * describe the seller's own action is the seller: those must never count as a
 * manual reply. */
typedef struct {
	const char *status, *display, *title_remind, *red, *card_title, *button, *button_url;
	const char *role, *update_key;
	int from_seller;
} card_kind;

static const card_kind CARDS[] = {
	{"placed", "[我已拍下，待付款]", "买家已拍下，待付款", "等待买家付款", "我已拍下，待付款", "修改价格",
	 "fleamarket://adjust_price?flutter=true&bizOrderId=%s", "seller", "%s:%s:1_not_pay_seller", 0},
	{"paid", "[我已付款，等待你发货]", "买家已付款，等待你发货", "等待卖家发货", "我已付款，等待你发货", "去发货",
	 "https://h5.m.goofish.com/wow/moyu/moyu-project/idle-logistics/pages/noPostageRequired"
	 "?kun=true&opaque=false&orderId=%s", "Seller", "%s:%s:64:TRADE_PAID_DONE_SELLER:26", 0},
	{"remind", "[记得及时发货]", "记得及时发货", "等待卖家发货", "记得及时发货", "去发货",
	 "https://h5.m.goofish.com/wow/moyu/moyu-project/idle-logistics/pages/noPostageRequired"
	 "?kun=true&opaque=false&orderId=%s", "Seller", "%s:%s:63:REMIND_DELIVERY_SELLER:26", 0},
	{"shipped", "[你已发货]", "你已发货", "等待买家收货", "你已发货", "查看物流",
	 "fleamarket://order_detail?id=%s&role=seller", "seller", "%s:%s:SELLER_SHIPPED", 1},
	{"completed", "[买家确认收货，交易成功]", "买家确认收货，交易成功", "交易成功", "买家确认收货，交易成功", "去评价",
	 "fleamarket://order_detail?id=%s&role=seller", "seller", "%s:%s:TRADE_SUCCESS_SELLER", 0},
	{"closed", "[你关闭了订单，钱款已原路退返]", "你关闭了订单", "交易关闭", "你关闭了订单，钱款已原路退返", "查看详情",
	 "fleamarket://order_detail?id=%s&role=seller", "seller", "%s:%s:TRADE_CLOSED_SELLER", 1},
	{"refunding", "[我发起了退款申请]", "买家发起了退款申请", "退款中", "我发起了退款申请", "已同意",
	 "fleamarket://refund_detail?bizOrderId=%s", "seller", "%s:%s:REFUND_APPLY", 0},
	{"refund_cancelled", "[我发起了退款申请]", "买家撤销了退款申请", "等待卖家发货", "我发起了退款申请", "已撤销",
	 "fleamarket://refund_detail?bizOrderId=%s", "seller", "%s:%s:REFUND_CANCEL", 0},
};

const char *const sim_order_statuses[] = {
	"placed", "paid", "remind", "shipped", "completed", "closed", "refunding", "refund_cancelled", NULL
};

static const card_kind *card_find(const char *status)
{
	size_t i;

	for (i = 0; i < sizeof CARDS / sizeof CARDS[0]; i++)
		if (!strcmp(CARDS[i].status, status))
			return &CARDS[i];
	return NULL;
}

static void new_im_id(char *out, size_t n)
{
	snprintf(out, n, "%llu.PNM", (unsigned long long)S.next_im++);
}

/* Adds "<id>@goofish" under key k. */
static void add_at(cJSON *o, const char *k, const char *id)
{
	char b[64];

	snprintf(b, sizeof b, "%s@goofish", id);
	cJSON_AddStringToObject(o, k, b);
}

/* Builds the decoded tree of one chat message (docs/protocol.md §6.1). inner is the
 * JSON text of the content; ext (taken over, may be NULL) adds or overrides fields of ["1"]["10"].
 * The ids used are written to info. */
static cJSON *chat_message(const sim_chat *ch, const char *sender, const char *sender_nick,
			   int content_type, const char *display, const char *inner, cJSON *ext,
			   int need_push, int mobile, const char *im_id, cJSON *info)
{
	cJSON *m = cJSON_CreateObject(), *one = cJSON_AddObjectToObject(m, "1"), *s, *c6, *c3, *ten;
	char im[32], biz[33], url[512], bizTag[128], extJson[256];
	int64_t now = util_now_ms();
	cJSON *x;

	if (im_id)
		snprintf(im, sizeof im, "%s", im_id);
	else
		new_im_id(im, sizeof im);
	sim_gen_hex(biz, 32);
	s = cJSON_AddObjectToObject(one, "1");
	add_at(s, "1", sender);
	add_at(one, "2", ch->cid);
	cJSON_AddStringToObject(one, "3", im);
	cJSON_AddNumberToObject(one, "4", 0);
	cJSON_AddNumberToObject(one, "5", (double)now);
	c6 = cJSON_AddObjectToObject(one, "6");
	cJSON_AddNumberToObject(c6, "1", 101);
	c3 = cJSON_AddObjectToObject(c6, "3");
	cJSON_AddStringToObject(c3, "1", "");
	cJSON_AddStringToObject(c3, "2", display);
	cJSON_AddStringToObject(c3, "3", "");
	cJSON_AddNumberToObject(c3, "4", content_type);
	cJSON_AddStringToObject(c3, "5", inner);
	cJSON_AddNumberToObject(one, "7", content_type == 1 || content_type == 2 ? 2 : 1);
	cJSON_AddNumberToObject(one, "8", 1);
	cJSON_AddNumberToObject(one, "9", 0);
	ten = cJSON_AddObjectToObject(one, "10");
	cJSON_AddStringToObject(ten, "_appVersion", "1.0");
	cJSON_AddStringToObject(ten, "_platform", mobile ? "android" : "web");
	cJSON_AddStringToObject(ten, "senderUserId", sender);
	cJSON_AddStringToObject(ten, "reminderTitle", sender_nick);
	cJSON_AddStringToObject(ten, "reminderContent", display);
	cJSON_AddStringToObject(ten, "detailNotice", display);
	cJSON_AddStringToObject(ten, "reminderNotice", "发来一条新消息");
	snprintf(url, sizeof url, "fleamarket://message_chat?itemId=%s&peerUserId=%s&sid=%s&messageId=%s&adv=no",
		 ch->item_id, ch->buyer, ch->cid, biz);
	cJSON_AddStringToObject(ten, "reminderUrl", url);
	snprintf(bizTag, sizeof bizTag, "{\"sourceId\":\"S:1\",\"messageId\":\"%s\"}", biz);
	cJSON_AddStringToObject(ten, "bizTag", bizTag);
	if (mobile) {
		cJSON_AddStringToObject(ten, "clientIp", "127.0.0.1");
		cJSON_AddStringToObject(ten, "port", "40000");
		cJSON_AddStringToObject(ten, "umid", "umid-sim");
		cJSON_AddStringToObject(ten, "utdid", "utdid-sim");
		snprintf(extJson, sizeof extJson,
			 "{\"quickReply\":\"1\",\"messageId\":\"%s\",\"tag\":\"u\",\"utdid\":\"utdid-sim\"}", biz);
	} else {
		snprintf(extJson, sizeof extJson, "{\"quickReply\":\"1\",\"messageId\":\"%s\",\"tag\":\"u\"}", biz);
	}
	cJSON_AddStringToObject(ten, "extJson", extJson);
	cJSON_AddStringToObject(ten, "senderUserType", "0");
	cJSON_AddStringToObject(ten, "sessionType", "1");
	/* Overrides replace in place so the key order stays the platform's. */
	while (ext && (x = ext->child)) {
		char key[64];

		/* cJSON's replace frees the item's own key before copying it: copy first */
		snprintf(key, sizeof key, "%s", x->string);
		cJSON_DetachItemViaPointer(ext, x);
		if (cJSON_GetObjectItemCaseSensitive(ten, key))
			cJSON_ReplaceItemInObjectCaseSensitive(ten, key, x);
		else
			cJSON_AddItemToObject(ten, key, x);
	}
	cJSON_Delete(ext);
	cJSON_AddNumberToObject(one, "12", 1);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "3"), "needPush", need_push ? "true" : "false");
	if (info) {
		cJSON_AddStringToObject(info, "cid", ch->cid);
		cJSON_AddStringToObject(info, "im_id", im);
		cJSON_AddStringToObject(info, "message_id", biz);
		cJSON_AddStringToObject(info, "buyer", ch->buyer);
		cJSON_AddStringToObject(info, "item_id", ch->item_id);
	}
	return m;
}

/* The card JSON of content "5" for an order card. */
static char *card_json(const card_kind *k, const sim_order *o)
{
	cJSON *c = cJSON_CreateObject(), *main_, *ex, *btn, *dyn;
	char url[512], main_url[256];
	char *s;

	cJSON_AddNumberToObject(c, "contentType", 26);
	main_ = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "dxCard"), "item"), "main");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(main_, "clickParam"), "bizOrderId", o->id);
	ex = cJSON_AddObjectToObject(main_, "exContent");
	cJSON_AddStringToObject(ex, "title", k->card_title);
	cJSON_AddStringToObject(ex, "desc", o->item_id);
	btn = cJSON_AddObjectToObject(ex, "button");
	cJSON_AddStringToObject(btn, "text", k->button);
	snprintf(url, sizeof url, k->button_url, o->id);
	cJSON_AddStringToObject(btn, "targetUrl", url);
	snprintf(main_url, sizeof main_url, "fleamarket://order_detail?id=%s&role=%s", o->id, k->role);
	cJSON_AddStringToObject(main_, "targetUrl", main_url);
	if (!strncmp(k->status, "refund", 6)) {
		/* Refund cards carry their state in dynamicOperation (docs/protocol.md §6.2). */
		dyn = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "dynamicOperation"), "changeContent");
		ex = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
			cJSON_AddObjectToObject(dyn, "dxCard"), "item"), "main"), "exContent");
		cJSON_AddStringToObject(ex, "title", k->card_title);
		btn = cJSON_AddObjectToObject(ex, "button");
		cJSON_AddStringToObject(btn, "text", k->button);
		cJSON_AddStringToObject(btn, "targetUrl", main_url);
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "template"), "name",
				"idlefish_message_trade_chat_card");
	s = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return s;
}

/* The echo of a message the seller (or the bot) sent: an own-account push. */
cJSON *sim_chat_message(const sim_chat *ch, const char *sender, const char *sender_nick,
			int content_type, const char *display, const char *inner, const char *im_id,
			int need_push, cJSON *info)
{
	return chat_message(ch, sender, sender_nick, content_type, display, inner, NULL, need_push, 0,
			    im_id, info);
}

/* Card metadata fields of ["1"]["10"] (or ["4"] of an update frame). */
static cJSON *card_ext(const card_kind *k, const sim_order *o, const sim_chat *ch, const char *biz)
{
	cJSON *e = cJSON_CreateObject();
	char b[512];

	cJSON_AddStringToObject(e, "reminderTitle", k->title_remind);
	cJSON_AddStringToObject(e, "reminderNotice", k->title_remind);
	cJSON_AddStringToObject(e, "redReminder", k->red);
	cJSON_AddStringToObject(e, "redReminderStyle", "1");
	cJSON_AddStringToObject(e, "receiver", o->seller);
	cJSON_AddStringToObject(e, "updateHead", "true");
	cJSON_AddStringToObject(e, "closePushReceiver", "false");
	cJSON_AddStringToObject(e, "closeUnreadNumber", "false");
	snprintf(b, sizeof b, "{\"sourceId\":\"C2C:%s\",\"taskName\":\"%s\",\"materialId\":\"%s\",\"taskId\":\"%s\"}",
		 biz, k->card_title, biz, biz);
	cJSON_AddStringToObject(e, "bizTag", b);
	{
		char key[160];

		snprintf(key, sizeof key, k->update_key, ch->cid, o->id);
		snprintf(b, sizeof b, "{\"quickReply\":\"1\",\"msgArg1\":\"MsgCard\",\"updateKey\":\"%s\","
			 "\"messageId\":\"%s\",\"contentType\":\"26\",\"correlationGroupId\":\"%s\"}", key, biz, o->id);
	}
	cJSON_AddStringToObject(e, "extJson", b);
	snprintf(b, sizeof b, "fleamarket://message_chat?itemId=%s&peerUserId=%s&peerUserNick=%s&sid=%s&messageId=%s&adv=no",
		 o->item_id, o->buyer, o->buyer_name, ch->cid, biz);
	cJSON_AddStringToObject(e, "reminderUrl", b);
	return e;
}

/* Builds the decoded tree of an order's trade card for status. */
static cJSON *order_card(sim_order *o, const char *status, cJSON *info, char *err, size_t errlen)
{
	const card_kind *k = card_find(status);
	sim_chat *ch = sim_chat_find(o->cid);
	char *inner, biz[33];
	cJSON *m;

	if (!k || !ch) {
		snprintf(err, errlen, k ? "order's chat is gone" : "unknown card status '%s'", status);
		return NULL;
	}
	inner = card_json(k, o);
	sim_gen_hex(biz, 32);
	m = chat_message(ch, k->from_seller ? o->seller : o->buyer, k->from_seller ? "" : o->buyer_name, 26,
			 k->display, inner ? inner : "{}", card_ext(k, o, ch, biz), 1, 0, NULL, info);
	free(inner);
	/* the card's business id is the one in its extJson and reminderUrl */
	if (info && cJSON_GetObjectItemCaseSensitive(info, "message_id"))
		cJSON_ReplaceItemInObjectCaseSensitive(info, "message_id", cJSON_CreateString(biz));
	/* card_ext was moved in; keep the IM id for a later update frame */
	snprintf(o->card_msg, sizeof o->card_msg, "%s",
		 cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "1"), "3")->valuestring);
	if (info)
		cJSON_AddStringToObject(info, "order_id", o->id);
	return m;
}

/* A message-update frame for the order's last card (docs/protocol.md §6.2). */
static cJSON *order_update(sim_order *o, const char *status, cJSON *info, char *err, size_t errlen)
{
	const card_kind *k = card_find(status);
	sim_chat *ch = sim_chat_find(o->cid);
	cJSON *m, *four;
	char b[512], biz[33];

	if (!k || !ch) {
		snprintf(err, errlen, "unknown status or chat for update");
		return NULL;
	}
	m = cJSON_CreateObject();
	if (!*o->card_msg)
		new_im_id(o->card_msg, sizeof o->card_msg);
	cJSON_AddStringToObject(m, "1", o->card_msg);
	add_at(m, "2", ch->cid);
	cJSON_AddNumberToObject(m, "3", 1);
	sim_gen_hex(biz, 32);
	four = card_ext(k, o, ch, biz);
	cJSON_AddStringToObject(four, "senderUserId", o->buyer);
	cJSON_AddStringToObject(four, "reminderContent", k->display);
	snprintf(b, sizeof b, "{\"text\":\"%s\",\"targetUrl\":\"fleamarket://order_detail?id=%s&role=seller\"}",
		 !strcmp(status, "paid") ? "已付款" : k->button, o->id);
	cJSON_AddStringToObject(four, "_CONTENT_MAP_UPDATE_PRE_dxCard.item.main.exContent.button", b);
	cJSON_AddItemToObject(m, "4", four);
	cJSON_AddNumberToObject(m, "5", (double)util_now_ms());
	if (info) {
		cJSON_AddStringToObject(info, "cid", ch->cid);
		cJSON_AddStringToObject(info, "im_id", o->card_msg);
		cJSON_AddStringToObject(info, "message_id", biz);
		cJSON_AddStringToObject(info, "order_id", o->id);
	}
	return m;
}

/* Wraps a decoded tree as a push item: MessagePack (or JSON text) in base64. */
cJSON *sim_wrap_item(int biz_type, int object_type, const cJSON *tree, int as_json)
{
	cJSON *it;
	unsigned char *bin = NULL;
	char *txt = NULL, *b64;
	size_t n = 0;
	char stream[16];

	if (as_json) {
		txt = cJSON_PrintUnformatted(tree);
		b64 = txt ? codec_b64_encode(txt, strlen(txt)) : NULL;
	} else {
		bin = sim_mp_encode(tree, &n);
		b64 = bin ? codec_b64_encode(bin, n) : NULL;
	}
	free(txt);
	free(bin);
	if (!b64)
		return NULL;
	it = cJSON_CreateObject();
	cJSON_AddNumberToObject(it, "bizType", biz_type);
	snprintf(stream, sizeof stream, "%d", biz_type);
	cJSON_AddStringToObject(it, "streamId", stream);
	cJSON_AddNumberToObject(it, "objectType", object_type);
	cJSON_AddStringToObject(it, "data", b64);
	free(b64);
	return it;
}

/* Resolves the chat a spec names (cid, or buyer/item), creating it. */
static sim_chat *spec_chat(const cJSON *spec, sim_account *a)
{
	const char *oid = sim_jstr(spec, "order_id", NULL);
	sim_order *o = oid ? sim_order_find(oid) : NULL;

	if (o && !sim_jstr(spec, "cid", NULL))
		return sim_chat_find(o->cid);
	return sim_chat_get(a->unb, sim_jstr(spec, "cid", NULL), sim_jstr(spec, "buyer", NULL),
			    sim_jstr(spec, "buyer_name", NULL), sim_jstr(spec, "item_id", NULL));
}

/* Builds the "raw" kind: arbitrary data (e.g. bad base64) inside a well-formed
 * frame. Returns the item itself, already wrapped. */
static cJSON *sim_item_raw(const cJSON *spec)
{
	cJSON *it = cJSON_CreateObject();

	cJSON_AddNumberToObject(it, "bizType", sim_jnum(spec, "bizType", 40));
	cJSON_AddStringToObject(it, "streamId", "40");
	cJSON_AddNumberToObject(it, "objectType", sim_jnum(spec, "objectType", 40000));
	cJSON_AddStringToObject(it, "data", sim_jstr(spec, "data", ""));
	return it;
}

/* Builds a chat message of kind text, image, audio or tip in chat ch (from the
 * buyer, or the seller when "from_seller"). Returns the decoded tree. */
static cJSON *sim_item_message(const char *kind, const cJSON *spec, sim_account *a, const sim_chat *ch,
			       cJSON *info)
{
	const char *text = sim_jstr(spec, "text", "");
	int own = sim_jbool(spec, "from_seller", 0), ct = 1;
	const char *display = text;
	cJSON *inner = cJSON_CreateObject(), *ext = NULL, *tree;
	char *itxt, b[1024];

	if (!strcmp(kind, "image")) {
		cJSON *pic = cJSON_CreateObject(), *pics;

		ct = 2;
		display = "[图片]";
		cJSON_AddNumberToObject(inner, "contentType", 2);
		pics = cJSON_AddArrayToObject(cJSON_AddObjectToObject(inner, "image"), "pics");
		cJSON_AddNumberToObject(pic, "height", sim_jnum(spec, "height", 600));
		cJSON_AddNumberToObject(pic, "type", 0);
		cJSON_AddStringToObject(pic, "url", sim_jstr(spec, "url", "https://img.alicdn.com/sim/1.jpg"));
		cJSON_AddNumberToObject(pic, "width", sim_jnum(spec, "width", 800));
		cJSON_AddItemToArray(pics, pic);
	} else if (!strcmp(kind, "audio")) {
		ct = 3;
		display = "[语音消息]";
		cJSON_AddNumberToObject(inner, "contentType", 3);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(inner, "audio"), "url",
					"https://img.alicdn.com/sim/1.amr");
	} else if (!strcmp(kind, "tip")) {
		ct = 14;
		cJSON_AddNumberToObject(inner, "contentType", 14);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(inner, "tip"), "text", text);
		ext = cJSON_CreateObject();
		snprintf(b, sizeof b, "{\"msgArg1\":\"MsgTips\",\"messageId\":\"tip%llu\"}",
			 (unsigned long long)S.next_im);
		cJSON_AddStringToObject(ext, "extJson", b);
	} else {
		cJSON_AddNumberToObject(inner, "contentType", 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(inner, "text"), "text", text);
		if (sim_jbool(spec, "mobile", 0))
			cJSON_AddArrayToObject(inner, "atUsers");
	}
	itxt = cJSON_PrintUnformatted(inner);
	cJSON_Delete(inner);
	tree = chat_message(ch, own ? a->unb : ch->buyer, own ? "" : ch->buyer_name, ct, display,
			    itxt ? itxt : "{}", ext, !own && ct != 14, sim_jbool(spec, "mobile", 0), NULL, info);
	free(itxt);
	return tree;
}

/* Builds the order-context item (the buyer opened a chat from an order) for o.
 * Returns the decoded tree and writes the order id to info. */
static cJSON *sim_item_order_ctx(const sim_order *o, cJSON *info)
{
	sim_item *item = sim_item_get(o->item_id, 1);
	cJSON *tree = cJSON_CreateObject(), *three;

	add_at(tree, "1", o->cid);
	cJSON_AddNumberToObject(tree, "2", 1);
	three = cJSON_AddObjectToObject(tree, "3");
	cJSON_AddStringToObject(three, "orderId", o->id);
	cJSON_AddStringToObject(three, "itemId", o->item_id);
	cJSON_AddStringToObject(three, "itemTitle", item ? item->title : "");
	cJSON_AddStringToObject(three, "itemMainPic", "https://img.alicdn.com/sim/item.jpg");
	cJSON_AddStringToObject(three, "itemSellerId", o->seller);
	cJSON_AddStringToObject(three, "extUserId", o->buyer);
	cJSON_AddStringToObject(three, "ownerUserId", o->seller);
	cJSON_AddNumberToObject(tree, "4", (double)util_now_ms());
	cJSON_AddStringToObject(info, "order_id", o->id);
	return tree;
}

/* Builds an order item of kind card, update or order_ctx for the spec's
 * "order_id". Returns the decoded tree, or NULL with err set. */
static cJSON *sim_item_trade(const char *kind, const cJSON *spec, cJSON *info, char *err, size_t errlen)
{
	const char *oid = sim_jstr(spec, "order_id", "");
	sim_order *o = sim_order_find(oid);

	if (!o) {
		snprintf(err, errlen, "no such order '%s'", oid);
		return NULL;
	}
	if (!strcmp(kind, "card"))
		return order_card(o, sim_jstr(spec, "status", o->status), info, err, errlen);
	if (!strcmp(kind, "update"))
		return order_update(o, sim_jstr(spec, "status", o->status), info, err, errlen);
	return sim_item_order_ctx(o, info);
}

/* Builds the "payment" kind: the red reminder line of chat ch. Returns the
 * decoded tree. */
static cJSON *sim_item_payment(const cJSON *spec, const sim_chat *ch)
{
	cJSON *tree = cJSON_CreateObject(), *three;

	add_at(tree, "1", ch->cid);
	cJSON_AddNumberToObject(tree, "2", 1);
	three = cJSON_AddObjectToObject(tree, "3");
	cJSON_AddStringToObject(three, "redReminder", sim_jstr(spec, "red", "等待卖家发货"));
	cJSON_AddStringToObject(three, "redReminderStyle", "1");
	cJSON_AddNumberToObject(tree, "4", (double)util_now_ms());
	return tree;
}

/* Builds the "typing" kind (objectType 40006): the buyer of ch typing or not
 * per "state". Returns the decoded tree. */
static cJSON *sim_item_typing(const cJSON *spec, const sim_chat *ch)
{
	cJSON *tree = cJSON_CreateObject(), *arr, *e = cJSON_CreateObject();

	arr = cJSON_AddArrayToObject(tree, "1");
	add_at(e, "1", ch->cid);
	cJSON_AddNumberToObject(e, "2", 1);
	cJSON_AddNumberToObject(e, "3", sim_jnum(spec, "state", 1));
	add_at(e, "4", ch->buyer);
	cJSON_AddItemToArray(arr, e);
	return tree;
}

/* Builds the "receipt" kind (objectType 40103) in one of its three layouts
 * ("variant" 1, 2 or 3) for chat ch. Returns the decoded tree. */
static cJSON *sim_item_receipt(const cJSON *spec, const sim_chat *ch)
{
	int v = (int)sim_jnum(spec, "variant", 1);
	char im[32], at[64];
	cJSON *tree;

	new_im_id(im, sizeof im);
	snprintf(at, sizeof at, "%s@goofish", ch->cid);
	tree = cJSON_CreateObject();
	if (v == 2) {
		cJSON *ids = cJSON_AddArrayToObject(tree, "1");

		cJSON_AddItemToArray(ids, cJSON_CreateString(im));
		cJSON_AddNumberToObject(tree, "2", 2);
		cJSON_AddStringToObject(tree, "3", at);
		cJSON_AddNumberToObject(tree, "4", 1);
		cJSON_AddNumberToObject(tree, "5", (double)util_now_ms());
	} else if (v == 3) {
		cJSON_AddStringToObject(tree, "1", at);
		cJSON_AddNumberToObject(tree, "2", 1);
		cJSON_AddStringToObject(tree, "3", im);
		cJSON_AddNumberToObject(tree, "4", (double)util_now_ms());
	} else {
		cJSON_AddStringToObject(tree, "1", im);
		cJSON_AddNumberToObject(tree, "2", 2);
		cJSON_AddNumberToObject(tree, "3", 0);
		cJSON_AddStringToObject(tree, "4", at);
		cJSON_AddNumberToObject(tree, "5", 1);
		cJSON_AddNumberToObject(tree, "6", (double)util_now_ms());
	}
	return tree;
}

/* Builds the "vulcan" kind (bizType 370, JSON data): a session-arouse script
 * for chat ch sent to seller a. Returns the tree. */
static cJSON *sim_item_vulcan(const cJSON *spec, const sim_account *a, const sim_chat *ch)
{
	cJSON *tree = cJSON_CreateObject(), *op, *sa, *arr, *si, *ex, *scr;

	cJSON_AddNumberToObject(tree, "chatType", 1);
	cJSON_AddNumberToObject(tree, "incrementType", 1);
	op = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tree, "operation"), "content");
	cJSON_AddNumberToObject(op, "contentType", 8);
	sa = cJSON_AddObjectToObject(op, "sessionArouse");
	arr = cJSON_AddArrayToObject(sa, "arouseChatScriptInfo");
	scr = cJSON_CreateObject();
	cJSON_AddStringToObject(scr, "chatScrip", sim_jstr(spec, "text", "宝贝还在吗？"));
	cJSON_AddItemToArray(arr, scr);
	arr = cJSON_AddArrayToObject(tree, "receiverIds");
	cJSON_AddItemToArray(arr, cJSON_CreateString(a->unb));
	si = cJSON_AddObjectToObject(tree, "sessionInfo");
	ex = cJSON_AddObjectToObject(si, "extensions");
	cJSON_AddStringToObject(ex, "itemId", ch->item_id);
	cJSON_AddStringToObject(ex, "itemTitle", "sim item");
	cJSON_AddStringToObject(ex, "extUserId", ch->buyer);
	cJSON_AddStringToObject(tree, "sessionId", ch->cid);
	return tree;
}

/* Builds one push item from a control spec {"kind":..., ...}; see README.md for
 * the kinds. Returns the item (bizType, objectType, data) and writes the ids
 * used to info; NULL with err set on a bad spec. */
cJSON *sim_item_build(const cJSON *spec, sim_account *a, cJSON *info, char *err, size_t errlen)
{
	const char *kind = sim_jstr(spec, "kind", "text");
	sim_chat *ch = NULL;
	cJSON *tree = NULL, *it;
	int obj = 40000, biz = 40, as_json = 0;

	if (!strcmp(kind, "raw"))
		return sim_item_raw(spec);
	if (!strcmp(kind, "card") || !strcmp(kind, "update") || !strcmp(kind, "order_ctx")) {
		tree = sim_item_trade(kind, spec, info, err, errlen);
		if (!tree)
			return NULL;
	} else {
		ch = spec_chat(spec, a);
		if (!ch) {
			snprintf(err, errlen, "no such chat");
			return NULL;
		}
		if (!strcmp(kind, "text") || !strcmp(kind, "image") || !strcmp(kind, "audio") ||
		    !strcmp(kind, "tip")) {
			tree = sim_item_message(kind, spec, a, ch, info);
		} else if (!strcmp(kind, "payment")) {
			tree = sim_item_payment(spec, ch);
		} else if (!strcmp(kind, "typing")) {
			obj = 40006;
			tree = sim_item_typing(spec, ch);
		} else if (!strcmp(kind, "receipt")) {
			obj = 40103;
			tree = sim_item_receipt(spec, ch);
		} else if (!strcmp(kind, "vulcan")) {
			biz = 370;
			obj = 370000;
			as_json = 1;
			tree = sim_item_vulcan(spec, a, ch);
		} else {
			snprintf(err, errlen, "unknown push kind '%s'", kind);
			return NULL;
		}
	}
	/* "age_ms": a message created that long ago (history backfill tests) */
	if (sim_jnum(spec, "age_ms", 0) > 0 && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(tree, "1")) &&
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tree, "1"), "5"))
		cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(tree, "1"), "5",
			cJSON_CreateNumber((double)(util_now_ms() - (int64_t)sim_jnum(spec, "age_ms", 0))));
	if (ch && info && !cJSON_GetObjectItemCaseSensitive(info, "cid"))
		cJSON_AddStringToObject(info, "cid", ch->cid);
	it = sim_wrap_item(biz, obj, tree, as_json);
	cJSON_Delete(tree);
	if (!it)
		snprintf(err, errlen, "out of memory");
	return it;
}

/* Renders a push frame around items for connection c (its sid). */
static char *frame_text(const char *lwp, const cJSON *items, sim_conn *c, char *mid)
{
	cJSON *f = cJSON_CreateObject(), *h, *body, *pkg;
	int64_t now = util_now_ms();
	char *s;

	snprintf(mid, 32, "%08llx 0", (unsigned long long)(S.next_mid++ & 0xffffffffu));
	cJSON_AddStringToObject(f, "lwp", lwp);
	h = cJSON_AddObjectToObject(f, "headers");
	cJSON_AddStringToObject(h, "app-key", SIGN_IM_APPKEY);
	cJSON_AddStringToObject(h, "mid", mid);
	cJSON_AddStringToObject(h, "ua", UA_DT);
	cJSON_AddStringToObject(h, "sid", c ? c->sid : "");
	body = cJSON_AddObjectToObject(f, "body");
	pkg = cJSON_AddObjectToObject(body, "syncPushPackage");
	cJSON_AddNumberToObject(pkg, "maxHighPts", 0);
	cJSON_AddNumberToObject(pkg, "startSeq", 1);
	cJSON_AddNumberToObject(pkg, "endSeq", cJSON_GetArraySize(items) + 1);
	cJSON_AddNumberToObject(pkg, "minCreateTime", (double)now);
	cJSON_AddItemReferenceToObject(pkg, "data", (cJSON *)items);
	cJSON_AddNumberToObject(pkg, "maxPts", (double)now * 1000);
	cJSON_AddNumberToObject(pkg, "hasMore", 0);
	cJSON_AddNumberToObject(pkg, "timestamp", (double)now);
	h = cJSON_AddObjectToObject(body, "syncExtensionModel");
	cJSON_AddNumberToObject(h, "reconnectType", 0);
	cJSON_AddNumberToObject(h, "failover", 0);
	cJSON_AddNumberToObject(h, "fingerprint", -898528959);
	s = cJSON_PrintUnformatted(f);
	cJSON_Delete(f);
	return s;
}

void sim_push_free(sim_push *p)
{
	free(p->text);
	free(p);
}

/* Queues p for the account's next registered connection. */
static void offline_add(sim_account *a, sim_push *p)
{
	p->next = NULL;
	*a->offline_tail = p;
	a->offline_tail = &p->next;
}

/* Sends a push of items (taken over) to the seller's registered connection, or
 * keeps it until one registers. Returns 1 when sent now, 0 when queued, -1 on OOM. */
int sim_push_send(sim_account *a, const char *lwp, cJSON *items, int load_idx, char *mid_out)
{
	sim_conn *c = sim_conn_registered(a);
	cJSON *h;
	char mid[32];
	char *s;

	/* Keep the last pushes so /replay can push the same items again. */
	if (!a->history)
		a->history = cJSON_CreateArray();
	h = cJSON_CreateObject();
	if (a->history && h) {
		cJSON_AddStringToObject(h, "lwp", lwp);
		cJSON_AddItemToObject(h, "items", cJSON_Duplicate(items, 1));
		cJSON_AddItemToArray(a->history, h);
		if (cJSON_GetArraySize(a->history) > 64)
			cJSON_DeleteItemFromArray(a->history, 0);
	} else {
		cJSON_Delete(h);
	}
	/* Chat messages stay in their chats' history (not a load run's, nor
	 * the echoes of its replies: the benchmarks' simulator cost). */
	if (load_idx < 0 && !S.load.running)
		sim_history_note(items);
	if (!c && !sim_history_offline_push()) {
		/* offline_push false: the platform does not push it later */
		S.st.offline_dropped++;
		cJSON_Delete(items);
		if (mid_out)
			mid_out[0] = '\0';
		return 0;
	}
	if (c) {
		s = frame_text(lwp, items, c, mid);
		cJSON_Delete(items);
		if (!s)
			return -1;
		sim_conn_enqueue(c, s, strlen(s), 0);
		if (c->q_tail)
			c->q_tail->load_idx = load_idx;
		sim_conn_track_push(c, mid, s, load_idx);
		free(s);
		if (mid_out)
			snprintf(mid_out, 32, "%s", mid);
		return 1;
	} else {
		sim_push *p = calloc(1, sizeof *p);

		s = cJSON_PrintUnformatted(items);
		cJSON_Delete(items);
		if (!p || !s) {
			free(p);
			free(s);
			return -1;
		}
		p->text = s;
		p->load_idx = load_idx;
		snprintf(p->lwp, sizeof p->lwp, "%s", lwp);
		offline_add(a, p);
		if (mid_out)
			mid_out[0] = '\0';
		return 0;
	}
}

/* Sends a prepared frame (garbage included) to the registered connection, or
 * keeps it. raw: unframed bytes; track: expect an ACK under the frame's mid. */
int sim_push_frame(sim_account *a, const char *text, size_t len, int raw, int track)
{
	sim_conn *c = sim_conn_registered(a);
	sim_push *p;

	if (c) {
		sim_conn_enqueue(c, text, len, raw);
		if (track) {
			cJSON *f = cJSON_ParseWithLength(text, len);
			const char *mid = sim_jstr(cJSON_GetObjectItemCaseSensitive(f, "headers"), "mid", NULL);

			if (mid)
				sim_conn_track_push(c, mid, text, -1);
			cJSON_Delete(f);
		}
		return 1;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->text = util_strndup(text, len))) {
		free(p);
		return -1;
	}
	p->raw = raw;
	p->track = track;
	p->load_idx = -1;
	offline_add(a, p);
	return 0;
}

/* Delivers what waited for a registered connection, in order. */
void sim_push_flush_offline(sim_account *a, sim_conn *c)
{
	sim_push *p = a->offline;

	a->offline = NULL;
	a->offline_tail = &a->offline;
	while (p) {
		sim_push *n = p->next;

		if (p->lwp[0]) {
			cJSON *items = cJSON_Parse(p->text);

			if (items)
				sim_push_send(a, p->lwp, items, p->load_idx, NULL);
		} else {
			sim_conn_enqueue(c, p->text, strlen(p->text), p->raw);
			if (p->track && p->mid[0])
				sim_conn_track_push(c, p->mid, p->text, p->load_idx);
			else if (p->track) {
				cJSON *f = cJSON_Parse(p->text);
				const char *mid = sim_jstr(cJSON_GetObjectItemCaseSensitive(f, "headers"), "mid", NULL);

				if (mid)
					sim_conn_track_push(c, mid, p->text, p->load_idx);
				cJSON_Delete(f);
			}
		}
		sim_push_free(p);
		p = n;
	}
}
