/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_history.c - the conversation and message history of the
 * platform (../../shared/protocol-account.md §4.2, §4.3; docs/protocol.md
 * §4.4): every chat message pushed to a seller (buyers' messages, cards, the
 * echoes of the seller's own sends) is kept in its chat, the last
 * SIM_HIST_MAX per chat, and answered by /r/Conversation/listNewestPagination
 * and /r/MessageManager/listUserMessages with cursor paging from 2^53-1
 * backwards, unread counts (redPoint) and flow control (400600001). It also
 * holds the no-redelivery switch: with offline_push false a push for an
 * account with no registered connection is only kept here, never pushed.
 */
#include "sim.h"
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_HIST_MAX 1000         /* messages kept per chat */
#define SIM_HIST_LIMIT_MAX 100    /* the largest page answered */

/* Settings (POST /config). */
static int64_t hist_flow_ms;              /* list calls this soon after /reg are flow-limited (0: off) */
static int hist_rate;                     /* more list calls than this per window are too (0: off) */
static int64_t hist_rate_window_ms = 3000;
static int offline_push = 1;

int sim_history_offline_push(void)
{
	return offline_push;
}

/* Takes a history setting of POST /config; returns 1 when x was one. */
int sim_history_config(const cJSON *x)
{
	if (!cJSON_IsNumber(x) && !cJSON_IsBool(x))
		return 0;
	if (!strcmp(x->string, "history_flow_ms") && cJSON_IsNumber(x))
		hist_flow_ms = (int64_t)x->valuedouble;
	else if (!strcmp(x->string, "history_rate") && cJSON_IsNumber(x))
		hist_rate = x->valueint;
	else if (!strcmp(x->string, "history_rate_window_ms") && cJSON_IsNumber(x))
		hist_rate_window_ms = (int64_t)x->valuedouble;
	else if (!strcmp(x->string, "offline_push") && cJSON_IsBool(x))
		offline_push = cJSON_IsTrue(x);
	else
		return 0;
	return 1;
}

void sim_history_config_out(cJSON *out)
{
	cJSON_AddNumberToObject(out, "history_flow_ms", (double)hist_flow_ms);
	cJSON_AddNumberToObject(out, "history_rate", hist_rate);
	cJSON_AddNumberToObject(out, "history_rate_window_ms", (double)hist_rate_window_ms);
	cJSON_AddBoolToObject(out, "offline_push", offline_push);
}

void sim_history_chat_free(sim_chat *ch)
{
	cJSON_Delete(ch->hist);
	ch->hist = NULL;
}

/* Returns the number value of o[k] (a number), else def. */
static int64_t num(const cJSON *o, const char *k, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

/* The history message (§4.3) of a decoded chat message tree (docs/protocol.md
 * §6.1), or NULL when tree is no chat message. *ch gets its chat. The
 * extension is a JSON string for every other message (ids ending in an odd
 * digit), as the platform sometimes sends it. */
static cJSON *hist_message(const cJSON *tree, sim_chat **ch)
{
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(tree, "1");
	const cJSON *c3 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(one, "6"), "3");
	const cJSON *ext = cJSON_GetObjectItemCaseSensitive(one, "10");
	const char *im = sim_jstr2(one, "3"), *cidat = sim_jstr2(one, "2"), *inner = sim_jstr2(c3, "5");
	const char *sender = sim_jstr2(cJSON_GetObjectItemCaseSensitive(one, "1"), "1");
	const cJSON *three = cJSON_GetObjectItemCaseSensitive(tree, "3");
	cJSON *m, *content, *custom;
	char cid[32], *b64;
	size_t n;

	if (!cJSON_IsObject(one) || !im || !cidat || !strchr(cidat, '@') || !inner || !sender)
		return NULL;
	n = (size_t)(strchr(cidat, '@') - cidat);
	if (n >= sizeof cid)
		return NULL;
	snprintf(cid, sizeof cid, "%.*s", (int)n, cidat);
	if (!(*ch = sim_chat_find(cid)))
		return NULL;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "messageId", im);
	cJSON_AddStringToObject(m, "cid", cidat);
	cJSON_AddNumberToObject(m, "createAt", (double)num(one, "5", util_now_ms()));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "sender"), "uid", sender);
	content = cJSON_AddObjectToObject(m, "content");
	cJSON_AddNumberToObject(content, "contentType", 101);
	custom = cJSON_AddObjectToObject(content, "custom");
	cJSON_AddNumberToObject(custom, "type", (double)num(c3, "4", 1));
	b64 = codec_b64_encode(inner, strlen(inner));
	cJSON_AddStringToObject(custom, "data", b64 ? b64 : "");
	free(b64);
	cJSON_AddStringToObject(custom, "summary", sim_jstr(c3, "2", ""));
	if (cJSON_IsObject(ext) && (im[strlen(im) > 4 ? strlen(im) - 5 : 0] - '0') % 2) {
		char *s = cJSON_PrintUnformatted(ext);

		cJSON_AddStringToObject(m, "extension", s ? s : "{}");
		free(s);
	} else if (cJSON_IsObject(ext)) {
		cJSON_AddItemToObject(m, "extension", cJSON_Duplicate(ext, 1));
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "userExtension"), "needPush",
				sim_jstr(three, "needPush", "false"));
	cJSON_AddNumberToObject(m, "conversationType", 1);
	cJSON_AddNumberToObject(m, "receiverCount", 2);
	return m;
}

/* Whether createAt at is taken in ch. */
static int hist_taken(const sim_chat *ch, int64_t at)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, ch->hist)
		if (num(x, "createAt", 0) == at)
			return 1;
	return 0;
}

/* Adds m (taken over) to the chat's history, ordered by createAt; a message
 * already there (a replay, a redelivery) is dropped. */
static void hist_add(sim_chat *ch, cJSON *m)
{
	const char *id = sim_jstr(m, "messageId", "");
	int64_t at = num(m, "createAt", 0);
	cJSON *x, *before = NULL;

	if (!ch->hist && !(ch->hist = cJSON_CreateArray())) {
		cJSON_Delete(m);
		return;
	}
	cJSON_ArrayForEach(x, ch->hist)
		if (!strcmp(sim_jstr(x, "messageId", ""), id)) {
			cJSON_Delete(m);
			return;
		}
	/* A cursor is a ms: two messages of a chat in the same ms would make
	 * paging skip one, so createAt is unique per chat (a message made
	 * within a second of the chat's newest goes after it, in the order
	 * made; a backdated one a ms later per collision). */
	if (at <= ch->modify_ms && ch->modify_ms - at < 1000)
		at = ch->modify_ms + 1;
	else if (at <= ch->modify_ms)
		while (hist_taken(ch, at))
			at++;
	cJSON_ReplaceItemInObjectCaseSensitive(m, "createAt", cJSON_CreateNumber((double)at));
	/* the first one younger than m, from the end (most arrive in order) */
	for (x = ch->hist->child ? ch->hist->child->prev : NULL; x; x = x == ch->hist->child ? NULL : x->prev) {
		if (num(x, "createAt", 0) <= at)
			break;
		before = x;
	}
	if (before) {
		int i = 0;

		for (x = ch->hist->child; x && x != before; x = x->next)
			i++;
		cJSON_InsertItemInArray(ch->hist, i, m);
	} else {
		cJSON_AddItemToArray(ch->hist, m);
	}
	if (at > ch->modify_ms)
		ch->modify_ms = at;
	if (cJSON_GetArraySize(ch->hist) > SIM_HIST_MAX)
		cJSON_DeleteItemFromArray(ch->hist, 0);
}

void sim_history_note(const cJSON *items)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const char *data = sim_jstr2(it, "data"), *err = NULL;
		codec_kind kind;
		cJSON *tree, *m;
		sim_chat *ch = NULL;

		if (!data || num(it, "objectType", 0) != 40000)
			continue;
		if (!(tree = codec_decode_item(data, strlen(data), &kind, &err)))
			continue;
		if ((m = hist_message(tree, &ch)))
			hist_add(ch, m);
		cJSON_Delete(tree);
	}
}

/* The unread count of a chat: the buyer's messages after the seller's last. */
static int hist_unread(const sim_chat *ch)
{
	const cJSON *x;
	char me[64];
	int n = 0;

	if (!ch->hist || !ch->hist->child)
		return 0;
	snprintf(me, sizeof me, "%s@goofish", ch->seller);
	for (x = ch->hist->child->prev; x; x = x == ch->hist->child ? NULL : x->prev) {
		if (!strcmp(sim_jstr(cJSON_GetObjectItemCaseSensitive(x, "sender"), "uid", ""), me))
			break;
		n++;
	}
	return n;
}

/* One userConvs entry (§4.2) for ch. */
static cJSON *conv_entry(const sim_chat *ch)
{
	cJSON *e = cJSON_CreateObject(), *u, *sc, *ext, *lm;
	sim_item *item = sim_item_get(ch->item_id, 0);
	char b[64];

	cJSON_AddNumberToObject(e, "type", 1);
	u = cJSON_AddObjectToObject(e, "singleChatUserConversation");
	sc = cJSON_AddObjectToObject(u, "singleChatConversation");
	snprintf(b, sizeof b, "%s@goofish", ch->cid);
	cJSON_AddStringToObject(sc, "cid", b);
	snprintf(b, sizeof b, "%s@goofish", ch->buyer);
	cJSON_AddStringToObject(sc, "pairFirst", b);
	snprintf(b, sizeof b, "%s@goofish", ch->seller);
	cJSON_AddStringToObject(sc, "pairSecond", b);
	cJSON_AddStringToObject(sc, "bizType", "1");
	cJSON_AddNumberToObject(sc, "createAt", (double)num(ch->hist ? ch->hist->child : NULL, "createAt", 0));
	cJSON_AddNumberToObject(sc, "msgReadStatusSetting", 1);
	ext = cJSON_AddObjectToObject(sc, "extension");
	cJSON_AddStringToObject(ext, "itemId", ch->item_id);
	cJSON_AddStringToObject(ext, "itemTitle", item ? item->title : "sim item");
	cJSON_AddStringToObject(ext, "itemMainPic", "https://img.alicdn.com/sim/item.jpg");
	cJSON_AddStringToObject(ext, "itemSellerId", ch->seller);
	cJSON_AddStringToObject(ext, "ownerUserId", ch->seller);
	cJSON_AddStringToObject(ext, "ownerUserType", "1");
	cJSON_AddStringToObject(ext, "extUserId", ch->buyer);
	cJSON_AddStringToObject(ext, "extUserType", "0");
	lm = cJSON_AddObjectToObject(u, "lastMessage");
	if (ch->hist && ch->hist->child)
		cJSON_AddItemToObject(lm, "message", cJSON_Duplicate(ch->hist->child->prev, 1));
	cJSON_AddNumberToObject(lm, "readStatus", 0);
	cJSON_AddNumberToObject(lm, "msgStatus", 0);
	cJSON_AddNumberToObject(u, "redPoint", hist_unread(ch));
	cJSON_AddNumberToObject(u, "modifyTime", (double)ch->modify_ms);
	cJSON_AddNumberToObject(u, "joinTime", (double)num(ch->hist ? ch->hist->child : NULL, "createAt", 0));
	cJSON_AddNumberToObject(u, "visible", 1);
	cJSON_AddNumberToObject(u, "topRank", 0);
	cJSON_AddNumberToObject(u, "muteNotification", 0);
	return e;
}

/* The cursor and limit of a list request: cursor defaults to 2^53-1, limit
 * to 20 (at most SIM_HIST_LIMIT_MAX). */
static void page_args(const cJSON *c, const cJSON *l, int64_t *cursor, int *limit)
{
	*cursor = cJSON_IsNumber(c) && c->valuedouble > 0 ? (int64_t)c->valuedouble : 9007199254740991LL;
	*limit = cJSON_IsNumber(l) && l->valueint > 0 ? l->valueint : 20;
	if (*limit > SIM_HIST_LIMIT_MAX)
		*limit = SIM_HIST_LIMIT_MAX;
}

/* listNewestPagination [cursor, limit]: the seller's chats with messages
 * whose modifyTime is below cursor, newest first. */
static cJSON *list_convs(sim_account *a, const cJSON *body)
{
	cJSON *b = cJSON_CreateObject(), *arr;
	int64_t cursor, last = 0;
	int limit, n = 0, more = 0;
	sim_chat *ch, **v = NULL;
	int nv = 0, cap = 0, i, j;

	page_args(cJSON_GetArrayItem(body, 0), cJSON_GetArrayItem(body, 1), &cursor, &limit);
	for (ch = S.chats; ch; ch = ch->next) {
		if (strcmp(ch->seller, a->unb) || !ch->modify_ms || ch->modify_ms >= cursor)
			continue;
		if (nv == cap) {
			sim_chat **nvv = realloc(v, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *v);

			if (!nvv)
				break;
			v = nvv;
		}
		v[nv++] = ch;
	}
	/* newest first (insertion sort: a few chats) */
	for (i = 1; i < nv; i++)
		for (j = i; j > 0 && v[j]->modify_ms > v[j - 1]->modify_ms; j--) {
			sim_chat *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	arr = cJSON_AddArrayToObject(b, "userConvs");
	for (i = 0; i < nv; i++) {
		if (n == limit) {
			more = 1;
			break;
		}
		cJSON_AddItemToArray(arr, conv_entry(v[i]));
		last = v[i]->modify_ms;
		n++;
	}
	free(v);
	cJSON_AddNumberToObject(b, "hasMore", more);
	cJSON_AddNumberToObject(b, "nextCursor", (double)last);
	return b;
}

/* listUserMessages ["<cid>@goofish", false, cursor, limit, false]: the chat's
 * messages created before cursor, newest first. */
static cJSON *list_messages(sim_account *a, const cJSON *body)
{
	const cJSON *c0 = cJSON_GetArrayItem(body, 0), *x;
	cJSON *b = cJSON_CreateObject(), *arr;
	int64_t cursor, last = 0;
	int limit, n = 0, more = 0;
	sim_chat *ch = NULL;
	char cid[32];

	page_args(cJSON_GetArrayItem(body, 2), cJSON_GetArrayItem(body, 3), &cursor, &limit);
	if (cJSON_IsString(c0) && strchr(c0->valuestring, '@') &&
	    (size_t)(strchr(c0->valuestring, '@') - c0->valuestring) < sizeof cid) {
		snprintf(cid, sizeof cid, "%.*s", (int)(strchr(c0->valuestring, '@') - c0->valuestring), c0->valuestring);
		ch = sim_chat_find(cid);
	}
	arr = cJSON_AddArrayToObject(b, "userMessageModels");
	if (ch && !strcmp(ch->seller, a->unb) && ch->hist && ch->hist->child) {
		for (x = ch->hist->child->prev; x; x = x == ch->hist->child ? NULL : x->prev) {
			int64_t at = num(x, "createAt", 0);
			cJSON *e;

			if (at >= cursor)
				continue;
			if (n == limit) {
				more = 1;
				break;
			}
			e = cJSON_CreateObject();
			cJSON_AddItemToObject(e, "message", cJSON_Duplicate(x, 1));
			cJSON_AddItemToArray(arr, e);
			last = at;
			n++;
		}
	}
	cJSON_AddNumberToObject(b, "hasMore", more);
	cJSON_AddNumberToObject(b, "nextCursor", (double)last);
	return b;
}

/* Whether a list call now is flow-limited: within history_flow_ms of the
 * account's /reg, or over history_rate calls in the window. Counts it. */
static int flow_limited(sim_account *a)
{
	int64_t now = util_now_ms();

	if (hist_rate > 0) {
		if (now - a->hist_win_ms >= hist_rate_window_ms) {
			a->hist_win_ms = now;
			a->hist_calls = 0;
		}
		if (++a->hist_calls > hist_rate)
			return 1;
	}
	return a->reg_ms && now - a->reg_ms < hist_flow_ms;
}

cJSON *sim_history_answer(sim_account *a, const char *lwp, const cJSON *body)
{
	int convs = !strcmp(lwp, "/r/Conversation/listNewestPagination");
	cJSON *b;

	if (!convs && strcmp(lwp, "/r/MessageManager/listUserMessages"))
		return NULL;
	S.st.history_calls++;
	if (flow_limited(a)) {
		S.st.history_flow_limited++;
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "code", "400600001");
		cJSON_AddStringToObject(b, "reason", "FLOW_CONTROL");
		cJSON_AddStringToObject(b, "moreInfo", "请求过于频繁");
		return b;
	}
	return convs ? list_convs(a, body) : list_messages(a, body);
}
