/* SPDX-License-Identifier: MIT */
/* tests/sim/sim_state.c - accounts, tokens, chats, orders, items and the sent log. */
#include "sim.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sim S;

/* Copies src into a fixed buffer of size n, truncating. */
#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

const char *sim_jstr(const cJSON *o, const char *k, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : def;
}

double sim_jnum(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int sim_jbool(const cJSON *o, const char *k, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* Returns the account for unb, created when asked; NULL otherwise. */
sim_account *sim_account_get(const char *unb, int create)
{
	sim_account *a;

	for (a = S.accounts; a; a = a->next)
		if (!strcmp(a->unb, unb))
			return a;
	if (!create || !*unb)
		return NULL;
	a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	SET(a->unb, unb);
	a->offline_tail = &a->offline;
	a->next = S.accounts;
	S.accounts = a;
	return a;
}

/* The account a control call means: the named one, else the most recently
 * registered, else the only one known. NULL when it cannot tell. */
sim_account *sim_default_account(const char *unb)
{
	sim_conn *c;

	if (unb && *unb)
		return sim_account_get(unb, 1);
	for (c = S.conns; c; c = c->next)
		if (c->registered && c->acct)
			return c->acct;
	if (S.accounts && !S.accounts->next)
		return S.accounts;
	return NULL;
}

static unsigned chat_bucket(const char *cid)
{
	unsigned h = 5381;

	while (*cid)
		h = h * 33 + (unsigned char)*cid++;
	return h % (sizeof S.chat_hash / sizeof S.chat_hash[0]);
}

const char *sim_sent_find(const sim_account *a, const char *uuid)
{
	const sim_sent *e;

	for (e = a->sent[chat_bucket(uuid) % SIM_SENT_BUCKETS]; e; e = e->next)
		if (!strcmp(e->uuid, uuid))
			return e->im;
	return NULL;
}

int sim_sent_add(sim_account *a, const char *uuid, const char *im)
{
	size_t n = strlen(uuid) + 1;
	sim_sent *e = malloc(sizeof *e + n), **b = &a->sent[chat_bucket(uuid) % SIM_SENT_BUCKETS];

	if (!e)
		return -1;
	memcpy(e->uuid, uuid, n);
	snprintf(e->im, sizeof e->im, "%s", im);
	e->next = *b;
	*b = e;
	return 0;
}

sim_chat *sim_chat_find(const char *cid)
{
	sim_chat *c;

	for (c = S.chat_hash[chat_bucket(cid)]; c; c = c->hnext)
		if (!strcmp(c->cid, cid))
			return c;
	return NULL;
}

/* Finds the chat by cid, or by (seller, buyer, item); creates it when missing.
 * Fields given for an existing chat are left as they are, except an empty name. */
sim_chat *sim_chat_get(const char *seller, const char *cid, const char *buyer,
		       const char *buyer_name, const char *item_id)
{
	sim_chat *c = NULL;

	if (cid && *cid)
		c = sim_chat_find(cid);
	if (!c && !(cid && *cid) && buyer && *buyer)
		for (c = S.chats; c; c = c->next)
			if (!strcmp(c->seller, seller) && !strcmp(c->buyer, buyer) &&
			    (!item_id || !*item_id || !strcmp(c->item_id, item_id)))
				break;
	if (c) {
		if (!*c->buyer_name && buyer_name)
			SET(c->buyer_name, buyer_name);
		return c;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (cid && *cid)
		SET(c->cid, cid);
	else
		snprintf(c->cid, sizeof c->cid, "%llu", (unsigned long long)S.next_cid++);
	SET(c->seller, seller);
	if (buyer && *buyer)
		SET(c->buyer, buyer);
	else
		snprintf(c->buyer, sizeof c->buyer, "%llu", (unsigned long long)S.next_buyer++);
	if (buyer_name && *buyer_name)
		SET(c->buyer_name, buyer_name);
	else
		snprintf(c->buyer_name, sizeof c->buyer_name, "buyer%s", c->buyer);
	SET(c->item_id, item_id && *item_id ? item_id : "40004");
	c->next = S.chats;
	S.chats = c;
	c->hnext = S.chat_hash[chat_bucket(c->cid)];
	S.chat_hash[chat_bucket(c->cid)] = c;
	return c;
}

sim_order *sim_order_find(const char *id)
{
	sim_order *o;

	for (o = S.orders; o; o = o->next)
		if (!strcmp(o->id, id))
			return o;
	return NULL;
}

/* Returns the item, created with a generic title when asked. */
sim_item *sim_item_get(const char *id, int create)
{
	sim_item *it;

	for (it = S.items; it; it = it->next)
		if (!strcmp(it->id, id))
			return it;
	if (!create)
		return NULL;
	it = calloc(1, sizeof *it);
	if (!it)
		return NULL;
	SET(it->id, id);
	snprintf(it->title, sizeof it->title, "测试商品 %s", id);
	snprintf(it->desc, sizeof it->desc, "虚拟商品，自动发货");
	it->price = 990;
	it->quantity = 100;
	it->next = S.items;
	S.items = it;
	return it;
}

sim_token *sim_token_find(const char *token)
{
	sim_token *t;

	for (t = S.tokens; t; t = t->next)
		if (!strcmp(t->token, token))
			return t;
	return NULL;
}

/* Writes nhex random upper-case hex digits and a NUL. */
void sim_gen_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	size_t i;

	/* one getrandom per 64 digits, not one per digit */
	for (i = 0; i < nhex; i++) {
		if (i % 64 == 0)
			randombytes_buf(r, sizeof r);
		out[i] = hex[(r[i % 64 / 2] >> (i % 2 * 4)) & 15];
	}
	out[nhex] = '\0';
}

/* Records one thing a bot sent. frame is embedded as JSON when it parses, else
 * as a string; extra's members are added to the entry. */
void sim_log_add(int conn, const char *unb, const char *via, const char *what,
		 const char *frame, size_t frame_len, const cJSON *extra)
{
	cJSON *e, *f;
	const cJSON *x;
	char *txt;

	if (!S.record)
		return;
	e = cJSON_CreateObject();
	if (!e)
		return;
	cJSON_AddNumberToObject(e, "seq", S.nlog);
	cJSON_AddNumberToObject(e, "t", (double)util_now_ms());
	cJSON_AddNumberToObject(e, "conn", conn);
	cJSON_AddStringToObject(e, "unb", unb ? unb : "");
	cJSON_AddStringToObject(e, "via", via);
	cJSON_AddStringToObject(e, "what", what ? what : "");
	f = frame ? cJSON_ParseWithLength(frame, frame_len) : NULL;
	if (f)
		cJSON_AddItemToObject(e, "frame", f);
	else if (frame) {
		char *s = util_strndup(frame, frame_len > 4096 ? 4096 : frame_len);

		cJSON_AddStringToObject(e, "frame_text", s ? s : "");
		free(s);
	}
	for (x = extra ? extra->child : NULL; x; x = x->next)
		cJSON_AddItemToObject(e, x->string, cJSON_Duplicate(x, 1));
	txt = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (!txt)
		return;
	if (S.nlog == S.caplog) {
		int cap = S.caplog ? S.caplog * 2 : 256;
		char **n = realloc(S.log, (size_t)cap * sizeof *n);

		if (!n) {
			free(txt);
			return;
		}
		S.log = n;
		S.caplog = cap;
	}
	S.log[S.nlog++] = txt;
}

static void push_list_free(sim_push *p)
{
	while (p) {
		sim_push *n = p->next;

		free(p->text);
		free(p);
		p = n;
	}
}

/* Frees every record but keeps live connections (their account pointers are
 * cleared, so they act as unknown until they register again). */
void sim_reset(void)
{
	sim_conn *c;
	int i;

	for (c = S.conns; c; c = c->next) {
		push_list_free(c->pending);
		c->pending = NULL;
		c->acct = NULL;
		c->registered = 0;
		sim_conn_act(c, SIM_DROP_FIN, 0, NULL);
	}
	if (S.ctx)
		lws_sul_cancel(&S.scen_sul);
	while (S.accounts) {
		sim_account *a = S.accounts;

		S.accounts = a->next;
		for (i = 0; i < SIM_SENT_BUCKETS; i++)
			while (a->sent[i]) {
				sim_sent *n = a->sent[i]->next;

				free(a->sent[i]);
				a->sent[i] = n;
			}
		cJSON_Delete(a->history);
		push_list_free(a->offline);
		free(a);
	}
#define FREE_LIST(head, type) while (head) { type *n_ = (head)->next; free(head); (head) = n_; }
	FREE_LIST(S.tokens, sim_token);
	while (S.chats) {
		sim_chat *n = S.chats->next;

		sim_history_chat_free(S.chats);
		free(S.chats);
		S.chats = n;
	}
	memset(S.chat_hash, 0, sizeof S.chat_hash);
	FREE_LIST(S.orders, sim_order);
	FREE_LIST(S.mtop_fails, sim_mtop_fail);
#undef FREE_LIST
	while (S.items) {
		sim_item *n = S.items->next;

		cJSON_Delete(S.items->skus);
		free(S.items);
		S.items = n;
	}
	for (i = 0; i < S.nlog; i++)
		free(S.log[i]);
	free(S.log);
	S.log = NULL;
	S.nlog = S.caplog = 0;
	for (i = 0; i < S.nholes; i++)
		close(S.holes[i]);
	free(S.holes);
	S.holes = NULL;
	S.nholes = 0;
	S.refuse_n = S.blackhole_n = 0;
	free(S.load.push_us);
	free(S.load.lat_us);
	memset(&S.load, 0, sizeof S.load);
	cJSON_Delete(S.scenario);
	S.scenario = NULL;
	memset(&S.st, 0, sizeof S.st);
	sim_passport_reset();
	sim_webhook_reset();
	sim_llm_reset();
}

void sim_free_all(void)
{
	sim_reset();
}
