/* SPDX-License-Identifier: MIT */
/*
 * core/lwp.h - LWP frames (docs/protocol.md §4, §7, §8): ids and the JSON text of
 * every request the bot sends. Each builder returns a malloc'd NUL-terminated
 * string (NULL on OOM) and, where the frame has one, writes its mid to mid_out
 * (LWP_MID_MAX bytes).
 */
#ifndef SK_LWP_H
#define SK_LWP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define LWP_MID_MAX 40
#define LWP_UUID_MAX 40
#define LWP_DID_MAX 96
#define LWP_UA "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
	"Chrome/133.0.0.0 Safari/537.36"
#define LWP_UA_DT LWP_UA " DingTalk(2.1.5) OS(Windows/10) Browser(Chrome/133.0.0.0) DingWeb/2.1.5 " \
	"IMPaaS DingWeb/2.1.5"

/* "<0..999><now_ms> 0": the random part is not zero-padded (docs/protocol.md §4). */
void lwp_mid(char out[LWP_MID_MAX]);
/* "-" + 20 digits (64 random bits, zero-padded) + "1": the web client's
 * "-<ms>1" shape, but independent of the wall clock (see lwp.c). */
void lwp_uuid(char out[LWP_UUID_MAX]);
/* 36 characters, '-' at 8, 13, 18, 23, '4' at 14, one of 89AB at 19, upper-case
 * hex elsewhere, then "-<unb>" (docs/protocol.md §2). */
void lwp_device_id(const char *unb, char out[LWP_DID_MAX]);

/* Frames. cid and ids are bare (without "@goofish"). */
char *lwp_reg(const char *token, const char *did, char *mid_out);
char *lwp_ackdiff(int64_t now_ms, char *mid_out);
char *lwp_heartbeat(char *mid_out);
/* The ACK of a push: code 200 and the push's mid, sid (or ""), app-key, ua, dt. */
char *lwp_ack(const cJSON *push_headers);
/* sendByReceiverScope with a text, or an image (w/h 0 -> 800x600). */
char *lwp_send_text(const char *uuid, const char *cid, const char *buyer, const char *unb,
		    const char *text, char *mid_out);
char *lwp_send_image(const char *uuid, const char *cid, const char *buyer, const char *unb,
		     const char *url, int width, int height, char *mid_out);
/* SingleChatConversation/create for (buyer, seller, item). */
char *lwp_create_conv(const char *buyer, const char *unb, const char *item_id, char *mid_out);
/* The cid (bare) of a create answer's body, from any of the three paths
 * the peers read (protocol-account.md §8.2): body.singleChatConversation.cid,
 * body[0].singleChatConversation.cid,
 * body.singleChatUserConversation.singleChatConversation.cid. 0, or -1
 * (none, empty, or not shorter than n) with out "". */
int lwp_create_conv_cid(const cJSON *body, char *out, size_t n);
/* The history lists (docs/protocol.md §4.5): conversations, newest first,
 * modified before cursor (ms; LWP_CURSOR_FIRST for the first page), and the
 * messages of chat cid created before cursor. */
#define LWP_CURSOR_FIRST 9007199254740991LL
char *lwp_list_convs(int64_t cursor, int limit, char *mid_out);
char *lwp_list_messages(const char *cid, int64_t cursor, int limit, char *mid_out);

/* The longest IM token life believed: a longer (or absurd) accessTokenExpiredTime is cut to it. */
#define LWP_TOKEN_TTL_MAX_S (30 * 86400)
/* The IM token's life from the token answer's accessTokenExpiredTime (ms, a
 * number or a string): an hour when missing, zero, negative or not a number
 * (rather than forever), at most LWP_TOKEN_TTL_MAX_S. */
int64_t lwp_token_ttl_ms(const cJSON *v);

#endif
