/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_ws.c - the LWP WebSocket at / (docs/protocol.md §3, §4, §7, §8):
 * /reg with token/device binding, ackDiff, heartbeats, sends with echo and uuid
 * idempotence, conversation create, ACK accounting, and the connection faults.
 */
#include "sim.h"
#include "codec.h"
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Queues n bytes for the connection and asks for a writeable callback. */
void sim_conn_enqueue(sim_conn *c, const char *p, size_t n, int raw)
{
	sim_out *o = calloc(1, sizeof *o);

	if (!o || !(o->buf = malloc(LWS_PRE + n + 1))) {
		free(o);
		return;
	}
	memcpy(o->buf + LWS_PRE, p, n);
	o->len = n;
	o->raw = raw;
	o->load_idx = -1;
	if (c->q_tail)
		c->q_tail->next = o;
	else
		c->q_head = o;
	c->q_tail = o;
	c->q_bytes += n;
	lws_callback_on_writable(c->wsi);
}

/* Sends a JSON reply built from a tree (deleted here). */
static void conn_send_json(sim_conn *c, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (s)
		sim_conn_enqueue(c, s, strlen(s), 0);
	free(s);
}

/* A response to a request: no lwp, the request's mid, code at the root. */
static cJSON *response(sim_conn *c, const char *mid, int code)
{
	cJSON *r = cJSON_CreateObject(), *h = cJSON_AddObjectToObject(r, "headers");

	cJSON_AddStringToObject(h, "mid", mid ? mid : "");
	cJSON_AddStringToObject(h, "sid", c->sid);
	cJSON_AddStringToObject(h, "dt", "j");
	cJSON_AddNumberToObject(r, "code", code);
	return r;
}

/* Schedules a fault on the connection: a FIN, an RST or a close frame. */
void sim_conn_act(sim_conn *c, int how, int code, const char *reason)
{
	c->closing = how;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
	lws_callback_on_writable(c->wsi);
}

/* The registered, unstalled connection of the account (the newest), or NULL. */
sim_conn *sim_conn_registered(sim_account *a)
{
	sim_conn *c;

	for (c = S.conns; c; c = c->next)
		if (c->acct == a && c->registered && !c->closing)
			return c;
	return NULL;
}

/* Remembers a push until its ACK arrives. */
void sim_conn_track_push(sim_conn *c, const char *mid, const char *text, int load_idx)
{
	sim_push *p = calloc(1, sizeof *p), **t;

	if (!p)
		return;
	snprintf(p->mid, sizeof p->mid, "%s", mid);
	p->text = strdup(text);
	p->sent_us = util_mono_us();
	p->load_idx = load_idx;
	p->track = 1;
	for (t = &c->pending; *t; t = &(*t)->next)
		;
	*t = p;
	S.st.pushes++;
}

static void reg_reject_cb(lws_sorted_usec_list_t *sul)
{
	sim_conn *c = lws_container_of(sul, sim_conn, sul);

	sim_conn_act(c, SIM_DROP_FIN, 0, NULL);
}

/* /reg: the token must exist, be unexpired and minted for this device id (and,
 * when the upgrade carried a Cookie with unb, for that account). The account is
 * the token's: the platform authenticates here, not at the upgrade. A bad one
 * gets no answer and the socket closes soon after. */
static void handle_reg(sim_conn *c, const char *mid, const cJSON *h)
{
	const char *tok = sim_jstr2(h, "token"), *did = sim_jstr2(h, "did");
	sim_token *t = tok ? sim_token_find(tok) : NULL;
	const char *why = NULL;
	cJSON *r, *b, *rh;
	char uid[64];

	if (!t)
		why = "unknown token";
	else if (t->revoked || t->expires_ms < util_now_ms())
		why = "token expired";
	else if (!did || strcmp(did, t->did))
		why = "did does not match the token's deviceId";
	else if (c->acct && strcmp(t->unb, c->acct->unb))
		why = "token minted for another account";
	else if (!c->acct && !(c->acct = sim_account_get(t->unb, 1)))
		why = "out of memory";
	else if (!sim_jstr2(h, "app-key") || strcmp(sim_jstr2(h, "app-key"), SIGN_IM_APPKEY))
		why = "wrong app-key";
	if (why) {
		S.st.reg_bad++;
		lwsl_user("sim: conn %d: /reg rejected: %s\n", c->id, why);
		lws_sul_schedule(S.ctx, 0, &c->sul, reg_reject_cb,
				 (lws_usec_t)S.reg_reject_delay_ms * LWS_US_PER_MS);
		return;
	}
	S.st.reg_ok++;
	c->registered = 1;
	c->acct->reg_ms = util_now_ms();
	sim_kick_on_reg(c, did);
	r = response(c, mid, 200);
	rh = cJSON_GetObjectItemCaseSensitive(r, "headers");
	snprintf(uid, sizeof uid, "%s@goofish", c->acct->unb);
	cJSON_AddStringToObject(rh, "reg-uid", uid);
	cJSON_AddStringToObject(rh, "reg-sid", c->sid);
	cJSON_AddStringToObject(rh, "real-ip", "127.0.0.1");
	b = cJSON_AddObjectToObject(r, "body");
	cJSON_AddStringToObject(b, "unitName", "PNM");
	cJSON_AddStringToObject(b, "cookie", "");
	cJSON_AddNumberToObject(b, "timestamp", (double)util_now_ms());
	cJSON_AddTrueToObject(b, "isFromChina");
	conn_send_json(c, r);
	sim_push_flush_offline(c->acct, c);
	sim_scenario_on_register();
}

/* Refuses a send the way the platform does: code 200 with body.reason, or the
 * flow-control body.code (docs/protocol.md §4). The bot must read the body. */
static void send_refuse(sim_conn *c, const char *mid, const char *reason, cJSON *logx)
{
	cJSON *r = response(c, mid, 200), *b = cJSON_AddObjectToObject(r, "body");

	if (!strcmp(reason, "flow")) {
		cJSON_AddStringToObject(b, "code", "400600001");
		cJSON_AddStringToObject(b, "reason", "FLOW_CONTROL");
		cJSON_AddStringToObject(b, "moreInfo", "发送过于频繁");
	} else {
		cJSON_AddStringToObject(b, "reason", reason);
		cJSON_AddStringToObject(b, "moreInfo", "security block (simulated)");
	}
	cJSON_AddStringToObject(logx, "refused", reason);
	S.st.send_refused++;
	conn_send_json(c, r);
}

/* What send_parse reads out of a send's body. */
typedef struct {
	const char *uuid;   /* body[0].uuid, or NULL */
	const char *text;   /* the text, or "[图片]" for an image */
	cJSON *inner;       /* the decoded custom.data (owned; set even when the send is refused) */
	sim_chat *ch;       /* the conversation, or NULL */
	int ct;             /* the inner contentType: 1 text, 2 image */
} send_req;

/* Checks a sendByReceiverScope body for account a (uuid, cid, content type, custom.data,
 * conversation, actualReceivers) and fills q; returns NULL, or the error text. */
static const char *send_parse(const sim_account *a, const cJSON *body, send_req *q)
{
	const cJSON *b0 = cJSON_GetArrayItem(body, 0), *b1 = cJSON_GetArrayItem(body, 1);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(b0, "content");
	const cJSON *custom = cJSON_GetObjectItemCaseSensitive(content, "custom");
	const cJSON *recv = cJSON_GetObjectItemCaseSensitive(b1, "actualReceivers"), *x;
	const char *cidat = sim_jstr2(b0, "cid"), *data = sim_jstr2(custom, "data");
	const char *err = NULL;
	char cid[32], me[64], peer[64];
	codec_kind kind;
	int have_me = 0, have_peer = 0;

	q->uuid = sim_jstr2(b0, "uuid");
	if (!q->uuid || !*q->uuid)
		err = "missing uuid";
	else if (!cidat || !strstr(cidat, "@goofish") || strlen(cidat) >= sizeof cid + 8)
		err = "cid must be <cid>@goofish";
	else if (!cJSON_IsObject(content) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(content, "contentType")) ||
		 cJSON_GetObjectItemCaseSensitive(content, "contentType")->valueint != 101)
		err = "content.contentType must be 101";
	else if (!data)
		err = "missing content.custom.data";
	else if (!(q->inner = codec_decode_item(data, strlen(data), &kind, &err)) || kind != CODEC_JSON)
		err = err ? err : "custom.data is not base64 JSON";
	if (!err) {
		const cJSON *ctj = cJSON_GetObjectItemCaseSensitive(q->inner, "contentType");

		q->ct = cJSON_IsNumber(ctj) ? ctj->valueint : 0;
		if (q->ct == 1)
			q->text = sim_jstr2(cJSON_GetObjectItemCaseSensitive(q->inner, "text"), "text");
		else if (q->ct == 2)
			q->text = sim_jstr2(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(q->inner, "image"), "pics"), 0), "url") ? "[图片]" : NULL;
		if (!q->text)
			err = "custom.data must be a text (1) or image (2) content";
	}
	if (!err) {
		snprintf(cid, sizeof cid, "%.*s", (int)(strchr(cidat, '@') - cidat), cidat);
		q->ch = sim_chat_find(cid);
		if (!q->ch || strcmp(q->ch->seller, a->unb))
			err = "unknown conversation";
	}
	if (!err) {
		snprintf(me, sizeof me, "%s@goofish", a->unb);
		snprintf(peer, sizeof peer, "%s@goofish", q->ch->buyer);
		cJSON_ArrayForEach(x, recv) {
			if (cJSON_IsString(x) && !strcmp(x->valuestring, me))
				have_me = 1;
			if (cJSON_IsString(x) && !strcmp(x->valuestring, peer))
				have_peer = 1;
		}
		if (!have_me || !have_peer)
			err = "actualReceivers must hold the buyer and the seller";
	}
	return err;
}

/* Answers a refused send with code 400, body.reason PARAM_ERROR and moreInfo err;
 * returns nothing. */
static void send_reply_error(sim_conn *c, const char *mid, const char *err, cJSON *logx)
{
	cJSON *r, *rb;

	cJSON_AddStringToObject(logx, "error", err);
	r = response(c, mid, 400);
	rb = cJSON_AddObjectToObject(r, "body");
	cJSON_AddStringToObject(rb, "reason", "PARAM_ERROR");
	cJSON_AddStringToObject(rb, "moreInfo", err);
	S.st.send_refused++;
	conn_send_json(c, r);
}

/* Answers an accepted send with code 200: messageId im, the uuid, and the text as the
 * reminderContent; returns nothing. */
static void send_reply_ok(sim_conn *c, const char *mid, const char *im, const char *uuid, const char *text)
{
	cJSON *r = response(c, mid, 200), *rb = cJSON_AddObjectToObject(r, "body"), *x;

	cJSON_AddStringToObject(rb, "messageId", im);
	cJSON_AddStringToObject(rb, "uuid", uuid);
	cJSON_AddNumberToObject(rb, "createAt", (double)util_now_ms());
	cJSON_AddNumberToObject(rb, "receiverCount", 2);
	cJSON_AddNumberToObject(rb, "unreadCount", 1);
	cJSON_AddNumberToObject(rb, "msgReadStatusSetting", 1);
	cJSON_AddNumberToObject(rb, "msgReadStatusDowngrade", 0);
	x = cJSON_AddObjectToObject(rb, "content");
	cJSON_AddNumberToObject(x, "contentType", 101);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(x, "custom"), "type", 1);
	x = cJSON_AddObjectToObject(rb, "extension");
	cJSON_AddStringToObject(x, "_platform", "web");
	cJSON_AddStringToObject(x, "reminderContent", text);
	conn_send_json(c, r);
}

/* Pushes the bot's own message im back to account a on /s/sync, as the platform does
 * (docs/protocol.md §6.1), and tells the load generator; returns nothing. */
static void send_echo(sim_account *a, const send_req *q, const char *inner_txt, const char *im)
{
	cJSON *echo, *items;

	echo = sim_chat_message(q->ch, a->unb, "", q->ct, q->text, inner_txt ? inner_txt : "{}", im, 0, NULL);
	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, sim_wrap_item(40, 40000, echo, 0));
	cJSON_Delete(echo);
	sim_push_send(a, "/s/sync", items, -1, NULL);
	sim_load_on_send(q->ch->cid);
}

/* sendByReceiverScope (docs/protocol.md §8). Returns nothing; answers and echoes. */
static void handle_send(sim_conn *c, const char *mid, const cJSON *body, cJSON *logx)
{
	sim_account *a = c->acct;
	send_req q = { 0 };
	const char *known, *err;
	char *inner_txt = NULL;
	char im[32];

	S.st.sends++;
	err = send_parse(a, body, &q);
	if (q.inner) {
		cJSON_AddItemToObject(logx, "content", cJSON_Duplicate(q.inner, 1));
		inner_txt = cJSON_PrintUnformatted(q.inner);
	}
	if (q.uuid)
		cJSON_AddStringToObject(logx, "uuid", q.uuid);
	if (q.ch)
		cJSON_AddStringToObject(logx, "cid", q.ch->cid);
	if (err) {
		send_reply_error(c, mid, err, logx);
		goto out;
	}
	known = sim_sent_find(a, q.uuid);
	if (known) {
		/* The same uuid is the same message: same messageId, no second echo. */
		S.st.send_repeats++;
		cJSON_AddTrueToObject(logx, "repeat");
		snprintf(im, sizeof im, "%s", known);
	} else if (a->send_fail_n > 0) {
		a->send_fail_n--;
		send_refuse(c, mid, a->send_fail_reason, logx);
		goto out;
	} else {
		snprintf(im, sizeof im, "%llu.PNM", (unsigned long long)S.next_im++);
		sim_sent_add(a, q.uuid, im);
	}
	cJSON_AddStringToObject(logx, "message_id", im);
	send_reply_ok(c, mid, im, q.uuid, q.text);
	if (!known)
		send_echo(a, &q, inner_txt, im);
out:
	free(inner_txt);
	cJSON_Delete(q.inner);
}

/* /r/SingleChatConversation/create: idempotent per unordered buyer/seller
 * pair: the seller may be either pairFirst or pairSecond (the web client
 * sorts the two ids; protocol-account.md §8.2), the cid is the same. A
 * well-formed request while the fault conv_ignore lasts goes unanswered. */
static void handle_create(sim_conn *c, const char *mid, const cJSON *body)
{
	const cJSON *b0 = cJSON_GetArrayItem(body, 0);
	const char *first = sim_jstr2(b0, "pairFirst"), *second = sim_jstr2(b0, "pairSecond"), *peer = NULL;
	const char *item = sim_jstr2(cJSON_GetObjectItemCaseSensitive(b0, "extension"), "itemId");
	char buyer[32], me[64];
	sim_chat *ch;
	cJSON *r, *conv;

	snprintf(me, sizeof me, "%s@goofish", c->acct->unb);
	if (first && second && !strcmp(second, me))
		peer = first;
	else if (first && second && !strcmp(first, me))
		peer = second;
	if (!peer || !strchr(peer, '@') || !strcmp(peer, me) || (size_t)(strchr(peer, '@') - peer) >= sizeof buyer) {
		r = response(c, mid, 400);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "body"), "reason", "PARAM_ERROR");
		conn_send_json(c, r);
		return;
	}
	if (c->acct->conv_ignore_n > 0) {     /* fault conv_ignore: no answer at all */
		c->acct->conv_ignore_n--;
		return;
	}
	S.st.conv_creates++;
	snprintf(buyer, sizeof buyer, "%.*s", (int)(strchr(peer, '@') - peer), peer);
	ch = sim_chat_get(c->acct->unb, NULL, buyer, NULL, NULL);
	if (ch && item && !*ch->item_id)
		snprintf(ch->item_id, sizeof ch->item_id, "%s", item);
	r = response(c, mid, 200);
	conv = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "body"), "singleChatConversation");
	snprintf(me, sizeof me, "%s@goofish", ch ? ch->cid : "0");
	cJSON_AddStringToObject(conv, "cid", me);
	cJSON_AddStringToObject(conv, "pairFirst", first);
	cJSON_AddStringToObject(conv, "pairSecond", second);
	cJSON_AddStringToObject(conv, "bizType", "1");
	conn_send_json(c, r);
}

/* An ACK (a frame with code and no lwp): settles the push with that mid. */
static void handle_ack(sim_conn *c, const cJSON *h)
{
	const char *mid = sim_jstr2(h, "mid");
	sim_push **pp, *p;

	for (pp = &c->pending; mid && *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->mid, mid)) {
			p = *pp;
			*pp = p->next;
			S.st.acks++;
			if (p->load_idx >= 0)
				sim_load_on_ack(p->load_idx);
			sim_push_free(p);
			return;
		}
	}
	S.st.dup_acks++;
}

/* One complete text frame from a bot. */
static void handle_frame(sim_conn *c, const char *txt, size_t len)
{
	cJSON *f = cJSON_ParseWithLength(txt, len), *logx = cJSON_CreateObject(), *r, *b;
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(f, "headers");
	const char *lwp = sim_jstr2(f, "lwp"), *mid = sim_jstr2(h, "mid");
	const char *what = lwp ? lwp : "ack";

	if (!c->acct && c->closing)
		goto out;   /* the simulator was reset under this connection */
	if (!cJSON_IsObject(f) || !cJSON_IsObject(h)) {
		S.st.bad_frames++;
		sim_log_add(c->id, c->acct ? c->acct->unb : "", "ws", "bad_frame", txt, len, NULL);
		goto out;
	}
	if (!lwp) {
		if (cJSON_GetObjectItemCaseSensitive(f, "code"))
			handle_ack(c, h);
		else
			S.st.bad_frames++;
	} else if (!strcmp(lwp, "/reg")) {
		handle_reg(c, mid, h);
	} else if (!c->registered) {
		r = response(c, mid, 401);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "body"), "reason", "NOT_REGISTERED");
		conn_send_json(c, r);
	} else if (!strcmp(lwp, "/!")) {
		S.st.heartbeats++;
		r = response(c, mid, 200);
		char ts[24];

		snprintf(ts, sizeof ts, "%lld", (long long)util_now_ms());
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(r, "headers"), "server-timestamp", ts);
		conn_send_json(c, r);
	} else if (!strcmp(lwp, "/r/SyncStatus/ackDiff")) {
		const cJSON *b0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "body"), 0);

		S.st.ackdiffs++;
		r = response(c, mid, 200);
		b = cJSON_AddObjectToObject(r, "body");
		cJSON_AddStringToObject(b, "channel", sim_jstr2(b0, "channel") ? sim_jstr2(b0, "channel") : "sync");
		cJSON_AddNumberToObject(b, "highPts", 0);
		cJSON_AddStringToObject(b, "pipeline", "sync");
		cJSON_AddNumberToObject(b, "pts", (double)util_now_ms() * 1000);
		cJSON_AddNumberToObject(b, "seq", 0);
		cJSON_AddNumberToObject(b, "timestamp", (double)util_now_ms());
		cJSON_AddFalseToObject(b, "tooLong2Tag");
		cJSON_AddStringToObject(b, "topic", "sync");
		conn_send_json(c, r);
	} else if (!strcmp(lwp, "/r/SyncStatus/getState")) {
		/* protocol-account.md §4.1 (GC): the sync position to ackDiff from */
		S.st.requests++;
		r = response(c, mid, 200);
		b = cJSON_AddObjectToObject(r, "body");
		cJSON_AddStringToObject(b, "pipeline", "sync");
		cJSON_AddStringToObject(b, "channel", "sync");
		cJSON_AddStringToObject(b, "topic", "sync");
		cJSON_AddStringToObject(b, "tooLong2Tag", "PNM,1");
		cJSON_AddNumberToObject(b, "highPts", (double)util_now_ms() * 1000);
		cJSON_AddNumberToObject(b, "pts", (double)util_now_ms() * 1000);
		cJSON_AddNumberToObject(b, "seq", 0);
		cJSON_AddNumberToObject(b, "timestamp", (double)util_now_ms());
		conn_send_json(c, r);
	} else if (!strcmp(lwp, "/r/MessageSend/sendByReceiverScope")) {
		handle_send(c, mid, cJSON_GetObjectItemCaseSensitive(f, "body"), logx);
	} else if (!strcmp(lwp, "/r/SingleChatConversation/create")) {
		handle_create(c, mid, cJSON_GetObjectItemCaseSensitive(f, "body"));
	} else if ((b = sim_history_answer(c->acct, lwp, cJSON_GetObjectItemCaseSensitive(f, "body")))) {
		S.st.requests++;
		r = response(c, mid, 200);
		cJSON_AddItemToObject(r, "body", b);
		conn_send_json(c, r);
	} else if (!strcmp(lwp, "/r/MessageManager/recallMessage")) {
		S.st.requests++;
		r = response(c, mid, 200);
		b = cJSON_AddObjectToObject(r, "body");
		cJSON_AddNumberToObject(b, "hasMore", 0);
		cJSON_AddNumberToObject(b, "nextCursor", 0);
		cJSON_AddArrayToObject(b, "userMessageModels");
		conn_send_json(c, r);
	} else {
		S.st.unknown_requests++;
		r = response(c, mid, 404);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "body"), "reason", "NOT_FOUND");
		conn_send_json(c, r);
	}
	sim_log_add(c->id, c->acct ? c->acct->unb : "", "ws", what, txt, len, logx);
out:
	cJSON_Delete(logx);
	cJSON_Delete(f);
}

/* Frees the connection's queues; pending pushes go back to the account for
 * redelivery when that is on. */
static void conn_gone(sim_conn *c)
{
	sim_conn **pp;
	sim_push *p;

	lws_sul_cancel(&c->sul);
	for (pp = &S.conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	while ((p = c->pending)) {
		c->pending = p->next;
		S.st.unacked_at_close++;
		if (S.redeliver_unacked && c->acct && !S.interrupted) {
			S.st.redelivered++;
			p->next = NULL;
			*c->acct->offline_tail = p;
			c->acct->offline_tail = &p->next;
		} else {
			sim_push_free(p);
		}
	}
	while (c->q_head) {
		sim_out *o = c->q_head;

		c->q_head = o->next;
		free(o->buf);
		free(o);
	}
	if (c->last) {
		free(c->last->buf);
		free(c->last);
	}
	sbuf_free(&c->rx);
	free(c);
}

/* Writes one queued frame or carries out a pending fault. Returns -1 to close.
 * With permessage-deflate, lws keeps compressing a large frame from our buffer
 * on later POLLOUTs before it calls us again: the last written frame is freed
 * only at the next writeable callback (or when the connection goes). */
/* Frames written in one writeable callback: at most this many, each at most
 * this long (the bot's SESS_WRITES_PER_CB / SESS_SMALL_FRAME). */
#define SIM_WRITES_PER_CB 32
#define SIM_SMALL_FRAME 1024

static int conn_writeable(sim_conn *c)
{
	sim_out *o;
	int flags, n;

	if (c->last) {
		free(c->last->buf);
		free(c->last);
		c->last = NULL;
	}
	if (c->closing == SIM_DROP_RST) {
		struct linger l = {1, 0};
		struct sockaddr un = {.sa_family = AF_UNSPEC};
		int fd = lws_get_socket_fd(c->wsi);

		/* lws shuts down (FIN) before it closes, so SO_LINGER alone lets
		 * the peer see EOF first; connect(AF_UNSPEC) resets at once (Linux). */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		if (connect(fd, &un, sizeof un))
			lwsl_warn("sim: RST via connect(AF_UNSPEC) failed\n");
		return -1;
	}
	if (c->closing == SIM_DROP_FIN)
		return -1;
	if (c->closing == SIM_DROP_CLOSE) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	/* Small text frames go several per callback, as the bot sends them
	 * (core/session.c): lws_send_pipe_choked() between them, none after a
	 * large or raw one (permessage-deflate may still be draining it). */
	for (n = 0; (o = c->q_head); n++) {
		if (n && (n >= SIM_WRITES_PER_CB || o->raw || o->len > SIM_SMALL_FRAME || c->last->raw ||
			  c->last->len > SIM_SMALL_FRAME || lws_send_pipe_choked(c->wsi)))
			break;
		c->q_head = o->next;
		if (!c->q_head)
			c->q_tail = NULL;
		c->q_bytes -= o->len;
		if (c->last) {
			free(c->last->buf);
			free(c->last);
		}
		c->last = o;
		flags = o->raw ? LWS_WRITE_RAW : LWS_WRITE_TEXT;
		if (lws_write(c->wsi, o->buf + LWS_PRE, o->len, (enum lws_write_protocol)flags) < (int)o->len)
			return -1;
		if (o->load_idx >= 0)
			sim_load_on_write(o->load_idx);
	}
	if (c->q_head)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* Reads unb from the Cookie header; returns 0 and fills unb, or -1. */
static int cookie_unb(struct lws *wsi, char *unb, size_t n)
{
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
	char *ck, *v;

	if (len <= 0)
		return -1;
	ck = malloc((size_t)len + 1);
	if (!ck)
		return -1;
	if (lws_hdr_copy(wsi, ck, len + 1, WSI_TOKEN_HTTP_COOKIE) < 0) {
		free(ck);
		return -1;
	}
	v = cookie_get(ck, "unb");
	free(ck);
	if (!v || !*v || strlen(v) >= n) {
		free(v);
		return -1;
	}
	snprintf(unb, n, "%s", v);
	free(v);
	return 0;
}

/* The WebSocket reasons of the platform vhost's protocol. */
int sim_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	sim_pss *pss = user;
	sim_conn *c = pss ? pss->conn : NULL;
	char unb[32], origin[128];

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* No Cookie is needed: the account comes from the token at /reg
		 * (ws_rejected_nocookie stays in the stats, always 0). */
		if (S.require_origin &&
		    (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0 ||
		     strcmp(origin, "https://www.goofish.com"))) {
			lws_return_http_status(wsi, 403, "bad Origin");
			return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		c = calloc(1, sizeof *c);
		if (!c)
			return -1;
		c->wsi = wsi;
		c->id = ++S.next_conn_id;
		/* a Cookie with unb names the account now, else the token at /reg does */
		c->acct = cookie_unb(wsi, unb, sizeof unb) ? (unb[0] = '\0', NULL) : sim_account_get(unb, 1);
		sim_gen_hex(c->sid, 32);
		c->next = S.conns;
		S.conns = c;
		pss->conn = c;
		S.st.ws_accepted++;
		{
			/* what the bot sent with the upgrade, for tests (never the cookie) */
			cJSON *x = cJSON_CreateObject();
			char h[512];

			if (lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_EXTENSIONS) > 0)
				cJSON_AddStringToObject(x, "extensions", h);
			if (lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_ORIGIN) > 0)
				cJSON_AddStringToObject(x, "origin", h);
			if (lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HTTP_USER_AGENT) > 0)
				cJSON_AddStringToObject(x, "user_agent", h);
			sim_log_add(c->id, unb, "ws", "open", NULL, 0, x);
			cJSON_Delete(x);
		}
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (!c)
			return -1;
		if (lws_is_first_fragment(wsi))
			sbuf_reset(&c->rx);
		if (c->rx.len + len > SIM_MAX_FRAME) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big", 7);
			return -1;
		}
		sbuf_add(&c->rx, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			if (c->stalled)
				return 0;
			handle_frame(c, c->rx.p ? c->rx.p : "", c->rx.len);
			sbuf_reset(&c->rx);
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? conn_writeable(c) : 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && len >= 2)
			c->peer_close_code = (((const unsigned char *)in)[0] << 8) | ((const unsigned char *)in)[1];
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (c) {
			cJSON *x = cJSON_CreateObject();

			cJSON_AddNumberToObject(x, "peer_close_code", c->peer_close_code);
			sim_log_add(c->id, c->acct ? c->acct->unb : "", "ws", "close", NULL, 0, x);
			cJSON_Delete(x);
			conn_gone(c);
			pss->conn = NULL;
		}
		return 0;
	default:
		return 0;
	}
}
