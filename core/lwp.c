/* SPDX-License-Identifier: MIT */
/*
 * core/lwp.c - LWP frames (docs/protocol.md §4, §7, §8): ids and the JSON text of
 * every request the bot sends.
 *
 * Frames are built as cJSON trees and printed unformatted. Keys come in the
 * order docs/protocol.md shows them. Every cJSON call can fail on OOM; the builders
 * note the first failure in a flag and return NULL at the end instead of
 * checking each call. A NULL string argument is sent as "" (a NULL uuid gets a
 * fresh lwp_uuid()).
 *
 * Microsecond pts values (now_ms * 1000, 16 digits) are written as raw JSON
 * integers: cJSON prints a double that does not fit an int with "%1.15g",
 * which turns 1751431117553000 into "1.751431117553e+15".
 *
 * Not thread-safe (lwp_mid's clock is a static): the loop thread only.
 */
#include "lwp.h"
#include "codec.h"
#include "event.h"
#include "sign.h"
#include "util.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LWP_SUFFIX "@goofish"

/* Initialises libsodium on first use. Idempotent; after a failure it is
 * tried again next time (its random functions work either way). */
static void lwp_sodium(void)
{
	static int ready;

	if (!ready)
		ready = sodium_init() >= 0;
}

/* A uniform value in [0, n). */
static uint32_t lwp_rand(uint32_t n)
{
	lwp_sodium();
	return randombytes_uniform(n);
}

/* "<0..999><now_ms> 0": the random part is not zero-padded (docs/protocol.md §4).
 * No random part repeats within one ms (past 1000 mids in one ms, the ms
 * steps on), so no two mids of a process are equal: answers are matched to
 * requests by mid, and requests of one ms (the sends, ackDiff and heartbeat
 * right after a /reg) could draw the same random part; then another
 * request's answer was taken for a send's, and a send the platform had
 * accepted was recorded as refused (make soak: that order's code was freed
 * and given to the next buyer too). */
void lwp_mid(char out[LWP_MID_MAX])
{
	static int64_t last;
	static unsigned char used[1000];
	static int nused;
	int64_t ms = util_now_ms();
	uint32_t r;

	if (ms > last || nused == 1000) {
		last = ms > last ? ms : last + 1;
		memset(used, 0, sizeof used);
		nused = 0;
	}
	do
		r = lwp_rand(1000);
	while (used[r]);
	used[r] = 1;
	nused++;
	snprintf(out, LWP_MID_MAX, "%" PRIu32 "%" PRId64 " 0", r, last);
}

/* "-<20 digits>1": the web client's shape ("-" digits "1", docs/protocol.md §4 and
 * §8; the platform only echoes it back) around 64 random bits from
 * libsodium, zero-padded. Not the wall clock: a process started after the
 * clock stepped back re-made uuids an earlier run had sent, and the platform
 * takes a known uuid for a repeat (the same messageId, nothing shown), so
 * those replies were lost. Two equal draws are left to the outbox's UNIQUE
 * uuid (session.c draws again). */
void lwp_uuid(char out[LWP_UUID_MAX])
{
	uint64_t r;

	lwp_sodium();
	randombytes_buf(&r, sizeof r);
	snprintf(out, LWP_UUID_MAX, "-%020" PRIu64 "1", r);
}

/* The web client's device id (docs/protocol.md §2) followed by "-<unb>". */
void lwp_device_id(const char *unb, char out[LWP_DID_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	char id[37];
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			id[i] = '-';
		else if (i == 14)
			id[i] = '4';
		else if (i == 19)
			id[i] = hex[(lwp_rand(16) & 3) | 8];
		else
			id[i] = hex[lwp_rand(16)];
	}
	id[36] = '\0';
	snprintf(out, LWP_DID_MAX, "%s-%s", id, unb ? unb : "");
}

/* --- building ------------------------------------------------------------ */

/* A frame under construction; bad is set by the first failed cJSON call. */
typedef struct {
	cJSON *root;
	int bad;
} lwp_b;

/* Returns x, setting b->bad when it is NULL (a failed add). */
static cJSON *lwp_chk(lwp_b *b, cJSON *x)
{
	if (!x)
		b->bad = 1;
	return x;
}

static cJSON *lwp_str(lwp_b *b, cJSON *o, const char *k, const char *v)
{
	return lwp_chk(b, cJSON_AddStringToObject(o, k, v ? v : ""));
}

static cJSON *lwp_num(lwp_b *b, cJSON *o, const char *k, double v)
{
	return lwp_chk(b, cJSON_AddNumberToObject(o, k, v));
}

/* Adds an exact 64-bit integer as a raw JSON number. */
static cJSON *lwp_i64(lwp_b *b, cJSON *o, const char *k, int64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%" PRId64, v);
	return lwp_chk(b, cJSON_AddRawToObject(o, k, num));
}

static cJSON *lwp_obj(lwp_b *b, cJSON *o, const char *k)
{
	return lwp_chk(b, cJSON_AddObjectToObject(o, k));
}

/* Appends a new object to array a; returns it, NULL on OOM. */
static cJSON *lwp_push_obj(lwp_b *b, cJSON *a)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !a || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		b->bad = 1;
		return NULL;
	}
	return o;
}

/* Appends "<id>@goofish" to array a (id as it is when it already has the suffix). */
static void lwp_push_at(lwp_b *b, cJSON *a, const char *id)
{
	char buf[256];
	cJSON *s;

	id = id ? id : "";
	snprintf(buf, sizeof buf, "%s%s", id, strstr(id, LWP_SUFFIX) ? "" : LWP_SUFFIX);
	s = cJSON_CreateString(buf);
	if (!s || !a || !cJSON_AddItemToArray(a, s)) {
		cJSON_Delete(s);
		b->bad = 1;
	}
}

/* Adds "<id>@goofish" under k (id as it is when it already has the suffix). */
static cJSON *lwp_at(lwp_b *b, cJSON *o, const char *k, const char *id)
{
	char buf[256];

	id = id ? id : "";
	snprintf(buf, sizeof buf, "%s%s", id, strstr(id, LWP_SUFFIX) ? "" : LWP_SUFFIX);
	return lwp_str(b, o, k, buf);
}

/* Starts {"lwp":path,"headers":{...}}; returns the headers object (NULL on
 * OOM, with b->bad set). The caller adds the mid with lwp_add_mid. */
static cJSON *lwp_start(lwp_b *b, const char *path)
{
	b->bad = 0;
	b->root = cJSON_CreateObject();
	if (!b->root) {
		b->bad = 1;
		return NULL;
	}
	lwp_str(b, b->root, "lwp", path);
	return lwp_obj(b, b->root, "headers");
}

/* Adds a fresh mid to headers and copies it to mid_out (when not NULL). */
static void lwp_add_mid(lwp_b *b, cJSON *headers, char *mid_out)
{
	char mid[LWP_MID_MAX];

	lwp_mid(mid);
	lwp_str(b, headers, "mid", mid);
	if (mid_out)
		memcpy(mid_out, mid, sizeof mid);
}

/* Prints and frees the frame. Returns the malloc'd text, NULL after any OOM. */
static char *lwp_finish(lwp_b *b)
{
	char *s = NULL;

	if (!b->bad && b->root)
		s = cJSON_PrintUnformatted(b->root);
	cJSON_Delete(b->root);
	b->root = NULL;
	return s;
}

/* Adds "ctx":{"appVersion":"1.0","platform":"web"} to o. */
static void lwp_ctx(lwp_b *b, cJSON *o)
{
	cJSON *ctx = lwp_obj(b, o, "ctx");

	lwp_str(b, ctx, "appVersion", "1.0");
	lwp_str(b, ctx, "platform", "web");
}

/* --- frames -------------------------------------------------------------- */

/* /reg (docs/protocol.md §4.1). Returns the frame text, NULL on OOM. */
char *lwp_reg(const char *token, const char *did, char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/reg");

	lwp_str(&b, h, "cache-header", "app-key token ua wv");
	lwp_str(&b, h, "app-key", SIGN_IM_APPKEY);
	lwp_str(&b, h, "token", token);
	lwp_str(&b, h, "ua", LWP_UA_DT);
	lwp_str(&b, h, "dt", "j");
	lwp_str(&b, h, "wv", "im:3,au:3,sy:6");
	lwp_str(&b, h, "sync", "0,0;0;0;");
	lwp_str(&b, h, "did", did);
	lwp_add_mid(&b, h, mid_out);
	return lwp_finish(&b);
}

/* /r/SyncStatus/ackDiff (docs/protocol.md §4.2) with pts = now_ms * 1000 ("from now
 * on"). Returns the frame text, NULL on OOM. */
char *lwp_ackdiff(int64_t now_ms, char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/r/SyncStatus/ackDiff"), *body, *o;

	lwp_add_mid(&b, h, mid_out);
	body = lwp_chk(&b, cJSON_AddArrayToObject(b.root, "body"));
	o = lwp_push_obj(&b, body);
	lwp_str(&b, o, "pipeline", "sync");
	lwp_str(&b, o, "tooLong2Tag", "PNM,1");
	lwp_str(&b, o, "channel", "sync");
	lwp_str(&b, o, "topic", "sync");
	lwp_num(&b, o, "highPts", 0);
	lwp_i64(&b, o, "pts", now_ms * 1000);
	lwp_num(&b, o, "seq", 0);
	lwp_i64(&b, o, "timestamp", now_ms);
	return lwp_finish(&b);
}

/* The heartbeat /! (docs/protocol.md §4.3), no body. Returns the frame text, NULL on OOM. */
char *lwp_heartbeat(char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/!");

	lwp_add_mid(&b, h, mid_out);
	return lwp_finish(&b);
}

/* The ACK of a push (docs/protocol.md §4.4): {"code":200,"headers":{...}} with the
 * push's mid (a fresh one when it has none), its sid or "", and app-key, ua
 * and dt when present as strings. Nothing else is copied. Returns the frame
 * text, NULL on OOM. */
/* A string item whose text is valid UTF-8. */
static int lwp_text_ok(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring && codec_utf8_valid(v->valuestring, strlen(v->valuestring));
}

int64_t lwp_token_ttl_ms(const cJSON *v)
{
	const int64_t max = (int64_t)LWP_TOKEN_TTL_MAX_S * 1000;
	int64_t ms = 0;

	if (cJSON_IsString(v) && v->valuestring) {
		char *end;
		long long n = strtoll(v->valuestring, &end, 10);

		ms = end != v->valuestring && n > 0 ? (n > max ? max : (int64_t)n) : 0;
	} else if (cJSON_IsNumber(v) && v->valuedouble > 0) {
		ms = v->valuedouble < (double)max ? (int64_t)v->valuedouble : max;   /* also inf; NaN fails > 0 */
	}
	return ms > 0 ? ms : 3600 * 1000;
}

char *lwp_ack(const cJSON *push_headers)
{
	static const char *const copy[] = {"app-key", "ua", "dt"};
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(push_headers, "mid");
	const cJSON *sid = cJSON_GetObjectItemCaseSensitive(push_headers, "sid");
	lwp_b b = {0};
	cJSON *h;
	size_t i;

	b.root = cJSON_CreateObject();
	if (!b.root)
		return NULL;
	lwp_num(&b, b.root, "code", 200);
	h = lwp_obj(&b, b.root, "headers");
	/* A value that is not UTF-8 (a push that was not valid text) is not
	 * echoed: our frame would be an invalid text frame in turn. */
	if (lwp_text_ok(mid))
		lwp_str(&b, h, "mid", mid->valuestring);
	else
		lwp_add_mid(&b, h, NULL);
	lwp_str(&b, h, "sid", lwp_text_ok(sid) ? sid->valuestring : "");
	for (i = 0; i < sizeof copy / sizeof copy[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(push_headers, copy[i]);

		if (lwp_text_ok(v))
			lwp_str(&b, h, copy[i], v->valuestring);
	}
	return lwp_finish(&b);
}

/* sendByReceiverScope (docs/protocol.md §8) carrying payload (consumed: the
 * content JSON that goes base64'd into custom.data). Returns the frame text,
 * NULL on OOM (payload NULL counts as OOM). */
static char *lwp_send(const char *uuid, const char *cid, const char *buyer, const char *unb,
		      cJSON *payload, char *mid_out)
{
	char *json = payload ? cJSON_PrintUnformatted(payload) : NULL;
	char *data = json ? codec_b64_encode(json, strlen(json)) : NULL;
	char fresh[LWP_UUID_MAX];
	cJSON *h, *body, *m, *content, *custom, *ext, *r, *recv;
	lwp_b b;

	cJSON_Delete(payload);
	free(json);
	if (!data)
		return NULL;
	if (!uuid) {
		lwp_uuid(fresh);
		uuid = fresh;
	}
	h = lwp_start(&b, "/r/MessageSend/sendByReceiverScope");
	lwp_add_mid(&b, h, mid_out);
	body = lwp_chk(&b, cJSON_AddArrayToObject(b.root, "body"));
	m = lwp_push_obj(&b, body);
	lwp_str(&b, m, "uuid", uuid);
	lwp_at(&b, m, "cid", cid);
	lwp_num(&b, m, "conversationType", 1);
	content = lwp_obj(&b, m, "content");
	lwp_num(&b, content, "contentType", EV_CONTENT_CUSTOM);
	custom = lwp_obj(&b, content, "custom");
	lwp_num(&b, custom, "type", 1);
	lwp_str(&b, custom, "data", data);
	lwp_num(&b, m, "redPointPolicy", 0);
	ext = lwp_obj(&b, m, "extension");
	lwp_str(&b, ext, "extJson", "{}");
	lwp_ctx(&b, m);
	lwp_obj(&b, m, "mtags");
	lwp_num(&b, m, "msgReadStatusSetting", 1);
	r = lwp_push_obj(&b, body);
	recv = lwp_chk(&b, cJSON_AddArrayToObject(r, "actualReceivers"));
	lwp_push_at(&b, recv, buyer);
	lwp_push_at(&b, recv, unb);
	free(data);
	return lwp_finish(&b);
}

/* A text message: payload {"contentType":1,"text":{"text":...}}. Returns the
 * frame text, NULL on OOM. */
char *lwp_send_text(const char *uuid, const char *cid, const char *buyer, const char *unb,
		    const char *text, char *mid_out)
{
	cJSON *p = cJSON_CreateObject(), *t;
	lwp_b b = {p, 0};

	lwp_num(&b, p, "contentType", EV_CONTENT_TEXT);
	t = lwp_obj(&b, p, "text");
	lwp_str(&b, t, "text", text);
	if (b.bad) {
		cJSON_Delete(p);
		return NULL;
	}
	return lwp_send(uuid, cid, buyer, unb, p, mid_out);
}

/* An image message: payload {"contentType":2,"image":{"pics":[{"height","type":0,
 * "url","width"}]}}; a width or height <= 0 becomes 800 or 600. Returns the
 * frame text, NULL on OOM. */
char *lwp_send_image(const char *uuid, const char *cid, const char *buyer, const char *unb,
		     const char *url, int width, int height, char *mid_out)
{
	cJSON *p = cJSON_CreateObject(), *img, *pics, *pic;
	lwp_b b = {p, 0};

	lwp_num(&b, p, "contentType", EV_CONTENT_IMAGE);
	img = lwp_obj(&b, p, "image");
	pics = lwp_chk(&b, cJSON_AddArrayToObject(img, "pics"));
	pic = lwp_push_obj(&b, pics);
	lwp_num(&b, pic, "height", height > 0 ? height : 600);
	lwp_num(&b, pic, "type", 0);
	lwp_str(&b, pic, "url", url);
	lwp_num(&b, pic, "width", width > 0 ? width : 800);
	if (b.bad) {
		cJSON_Delete(p);
		return NULL;
	}
	return lwp_send(uuid, cid, buyer, unb, p, mid_out);
}

/* /r/SingleChatConversation/create (docs/protocol.md §7) for (buyer, seller, item);
 * a NULL item_id leaves extension empty. Returns the frame text, NULL on OOM. */
char *lwp_create_conv(const char *buyer, const char *unb, const char *item_id, char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/r/SingleChatConversation/create"), *body, *o, *ext;

	lwp_add_mid(&b, h, mid_out);
	body = lwp_chk(&b, cJSON_AddArrayToObject(b.root, "body"));
	o = lwp_push_obj(&b, body);
	lwp_at(&b, o, "pairFirst", buyer);
	lwp_at(&b, o, "pairSecond", unb);
	lwp_str(&b, o, "bizType", "1");
	ext = lwp_obj(&b, o, "extension");
	if (item_id)
		lwp_str(&b, ext, "itemId", item_id);
	lwp_ctx(&b, o);
	return lwp_finish(&b);
}

/* The singleChatConversation.cid under o, bare, into out; 0 or -1. */
static int lwp_conv_cid_at(const cJSON *o, char *out, size_t n)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "singleChatConversation"),
							 "cid");
	size_t len;

	if (!cJSON_IsString(c))
		return -1;
	len = strcspn(c->valuestring, "@");
	if (!len || len >= n)
		return -1;
	snprintf(out, n, "%.*s", (int)len, c->valuestring);
	return 0;
}

int lwp_create_conv_cid(const cJSON *body, char *out, size_t n)
{
	if (n)
		*out = '\0';
	if (!n || (lwp_conv_cid_at(body, out, n) && lwp_conv_cid_at(cJSON_GetArrayItem(body, 0), out, n) &&
		   lwp_conv_cid_at(cJSON_GetObjectItemCaseSensitive(body, "singleChatUserConversation"), out, n)))
		return -1;
	return 0;
}

/* Appends item (taken over) to the array a; a failure sets b->bad. */
static void lwp_arr_add(lwp_b *b, cJSON *a, cJSON *item)
{
	if (!a || !item || !cJSON_AddItemToArray(a, item)) {
		cJSON_Delete(item);
		b->bad = 1;
	}
}

/* listNewestPagination [cursor, limit] (docs/protocol.md §4.5). */
char *lwp_list_convs(int64_t cursor, int limit, char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/r/Conversation/listNewestPagination"), *body;

	lwp_add_mid(&b, h, mid_out);
	body = lwp_chk(&b, cJSON_AddArrayToObject(b.root, "body"));
	lwp_arr_add(&b, body, cJSON_CreateNumber((double)cursor));
	lwp_arr_add(&b, body, cJSON_CreateNumber(limit));
	return lwp_finish(&b);
}

/* listUserMessages ["<cid>@goofish", false, cursor, limit, false] (docs/protocol.md §4.5). */
char *lwp_list_messages(const char *cid, int64_t cursor, int limit, char *mid_out)
{
	lwp_b b;
	cJSON *h = lwp_start(&b, "/r/MessageManager/listUserMessages"), *body;
	char at[96];

	lwp_add_mid(&b, h, mid_out);
	body = lwp_chk(&b, cJSON_AddArrayToObject(b.root, "body"));
	snprintf(at, sizeof at, "%s" LWP_SUFFIX, cid);
	lwp_arr_add(&b, body, cJSON_CreateString(at));
	lwp_arr_add(&b, body, cJSON_CreateFalse());
	lwp_arr_add(&b, body, cJSON_CreateNumber((double)cursor));
	lwp_arr_add(&b, body, cJSON_CreateNumber(limit));
	lwp_arr_add(&b, body, cJSON_CreateFalse());
	return lwp_finish(&b);
}
