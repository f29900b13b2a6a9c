/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_ctl.c - the control API (tests/sim/README.md): inject pushes,
 * drive orders, inject faults, change settings, read back what bots sent.
 */
#include "sim.h"
#include "codec.h"
#include "sim_mp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"error": msg} with a status. */
static int fail(cJSON **out, int status, const char *msg)
{
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "error", msg);
	return status;
}

static sim_account *want_account(const cJSON *b, cJSON **out)
{
	sim_account *a = sim_default_account(sim_jstr(b, "seller", NULL));

	if (!a)
		fail(out, 409, "no seller: name \"seller\" or connect a bot first");
	return a;
}

/* Builds items from specs and pushes them in one frame; fills *out. */
static int push_items(sim_account *a, const char *lwp, const cJSON *specs, cJSON **out)
{
	cJSON *items = cJSON_CreateArray(), *infos = cJSON_CreateArray(), *it, *info;
	const cJSON *sp;
	char err[160], mid[32];
	int r;

	cJSON_ArrayForEach(sp, specs) {
		info = cJSON_CreateObject();
		cJSON_AddStringToObject(info, "kind", sim_jstr(sp, "kind", "text"));
		it = sim_item_build(sp, a, info, err, sizeof err);
		if (!it) {
			cJSON_Delete(info);
			cJSON_Delete(items);
			cJSON_Delete(infos);
			return fail(out, 400, err);
		}
		cJSON_AddItemToArray(items, it);
		cJSON_AddItemToArray(infos, info);
	}
	r = sim_push_send(a, lwp, items, -1, mid);
	if (r < 0) {
		cJSON_Delete(infos);
		return fail(out, 500, "out of memory");
	}
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "mid", mid);
	cJSON_AddBoolToObject(*out, "queued", r == 0);
	cJSON_AddItemToObject(*out, "items", infos);
	return 200;
}

/* The default lwp for a push led by spec: typing -> /s/para, vulcan -> /s/vulcan. */
static const char *default_lwp(const cJSON *spec)
{
	const char *k = sim_jstr(spec, "kind", "text");

	if (!strcmp(k, "typing"))
		return "/s/para";
	if (!strcmp(k, "vulcan"))
		return "/s/vulcan";
	return "/s/sync";
}

/* POST /inject: one item; "position": k puts k read receipts before it. */
static int ctl_inject(const cJSON *b, cJSON **out)
{
	sim_account *a = want_account(b, out);
	cJSON *specs, *filler;
	int k, i, r;

	if (!a)
		return 409;
	specs = cJSON_CreateArray();
	k = (int)sim_jnum(b, "position", 0);
	for (i = 0; i < k && i < 16; i++) {
		filler = cJSON_CreateObject();
		cJSON_AddStringToObject(filler, "kind", "receipt");
		if (sim_jstr(b, "cid", NULL))
			cJSON_AddStringToObject(filler, "cid", sim_jstr(b, "cid", NULL));
		cJSON_AddNumberToObject(filler, "variant", 1 + i % 3);
		cJSON_AddItemToArray(specs, filler);
	}
	cJSON_AddItemToArray(specs, cJSON_Duplicate(b, 1));
	/* the fillers must share the main item's chat: build the main first when no cid */
	if (k && !sim_jstr(b, "cid", NULL)) {
		sim_chat *ch = sim_chat_get(a->unb, NULL, sim_jstr(b, "buyer", NULL), sim_jstr(b, "buyer_name", NULL),
					    sim_jstr(b, "item_id", NULL));

		cJSON_ArrayForEach(filler, specs)
			cJSON_AddStringToObject(filler, "cid", ch->cid);
	}
	r = push_items(a, sim_jstr(b, "lwp", default_lwp(cJSON_GetArrayItem(specs, k))), specs, out);
	cJSON_Delete(specs);
	return r;
}

static int ctl_push(const cJSON *b, cJSON **out)
{
	sim_account *a = want_account(b, out);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(b, "items");

	if (!a)
		return 409;
	if (!cJSON_IsArray(items) || !cJSON_GetArraySize(items))
		return fail(out, 400, "\"items\" must be a non-empty array of push specs");
	return push_items(a, sim_jstr(b, "lwp", default_lwp(cJSON_GetArrayItem(items, 0))), items, out);
}

static int valid_status(const char *s)
{
	int i;

	for (i = 0; sim_order_statuses[i]; i++)
		if (!strcmp(sim_order_statuses[i], s))
			return 1;
	return 0;
}

static cJSON *order_json(const sim_order *o)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "order_id", o->id);
	cJSON_AddStringToObject(j, "cid", o->cid);
	cJSON_AddStringToObject(j, "seller", o->seller);
	cJSON_AddStringToObject(j, "buyer", o->buyer);
	cJSON_AddStringToObject(j, "buyer_name", o->buyer_name);
	cJSON_AddStringToObject(j, "item_id", o->item_id);
	cJSON_AddStringToObject(j, "spec", o->spec);
	cJSON_AddNumberToObject(j, "quantity", o->quantity);
	cJSON_AddNumberToObject(j, "price", o->price);
	cJSON_AddStringToObject(j, "status", o->status);
	cJSON_AddNumberToObject(j, "consigns", o->consigns);
	cJSON_AddNumberToObject(j, "consign_calls", o->consign_calls);
	cJSON_AddNumberToObject(j, "detail_calls", o->detail_calls);
	cJSON_AddNumberToObject(j, "rates", o->rates);
	cJSON_AddNumberToObject(j, "rate_calls", o->rate_calls);
	cJSON_AddStringToObject(j, "rate_feedback", o->rate_feedback);
	return j;
}

/* The order detail's disagreements of a /order or /order/status body:
 * "detail_buyer" and "detail_item_id" (the detail names another buyer or
 * item; "" to agree again). */
static void detail_modes(sim_order *o, const cJSON *b)
{
	const char *v;

	if ((v = sim_jstr(b, "detail_buyer", NULL)))
		snprintf(o->detail_buyer, sizeof o->detail_buyer, "%s", v);
	if ((v = sim_jstr(b, "detail_item_id", NULL)))
		snprintf(o->detail_item, sizeof o->detail_item, "%s", v);
}

/* Pushes what the platform shows for a status change of o. */
static int push_status(sim_account *a, sim_order *o, const char *status, const cJSON *b, cJSON **out)
{
	cJSON *specs = cJSON_CreateArray(), *sp, *o2 = NULL;
	int had_card = o->card_msg[0] != '\0', r;

	if (!strcmp(status, "paid")) {
		sp = cJSON_CreateObject();
		cJSON_AddStringToObject(sp, "kind", "payment");
		cJSON_AddStringToObject(sp, "cid", o->cid);
		cJSON_AddItemToArray(specs, sp);
	} else if (!strcmp(status, "placed")) {
		sp = cJSON_CreateObject();
		cJSON_AddStringToObject(sp, "kind", "order_ctx");
		cJSON_AddStringToObject(sp, "order_id", o->id);
		cJSON_AddItemToArray(specs, sp);
	}
	sp = cJSON_CreateObject();
	cJSON_AddStringToObject(sp, "kind", "card");
	cJSON_AddStringToObject(sp, "order_id", o->id);
	cJSON_AddStringToObject(sp, "status", status);
	cJSON_AddItemToArray(specs, sp);
	r = push_items(a, sim_jstr(b, "lwp", "/s/sync"), specs, out);
	cJSON_Delete(specs);
	if (r == 200 && !strcmp(status, "paid") && had_card && sim_jbool(b, "update", 1)) {
		/* The earlier card turns to 已付款 in a message-update frame. */
		specs = cJSON_CreateArray();
		sp = cJSON_CreateObject();
		cJSON_AddStringToObject(sp, "kind", "update");
		cJSON_AddStringToObject(sp, "order_id", o->id);
		cJSON_AddStringToObject(sp, "status", "paid");
		cJSON_AddItemToArray(specs, sp);
		if (push_items(a, "/s/sync", specs, &o2) == 200)
			cJSON_AddItemToObject(*out, "update", o2);
		else
			cJSON_Delete(o2);
		cJSON_Delete(specs);
	}
	return r;
}

/* POST /order: creates an order (and pushes its card unless "push": false). */
static int ctl_order(const cJSON *b, cJSON **out)
{
	sim_account *a = want_account(b, out);
	const char *status = sim_jstr(b, "status", "placed"), *id = sim_jstr(b, "order_id", NULL);
	sim_chat *ch;
	sim_order *o;
	int r;

	if (!a)
		return 409;
	if (!valid_status(status))
		return fail(out, 400, "unknown status");
	if (id && sim_order_find(id))
		return fail(out, 409, "order exists");
	ch = sim_chat_get(a->unb, sim_jstr(b, "cid", NULL), sim_jstr(b, "buyer", NULL), sim_jstr(b, "buyer_name", NULL),
			  sim_jstr(b, "item_id", NULL));
	o = calloc(1, sizeof *o);
	if (!ch || !o) {
		free(o);
		return fail(out, 500, "out of memory");
	}
	if (id)
		snprintf(o->id, sizeof o->id, "%s", id);
	else
		snprintf(o->id, sizeof o->id, "%llu", (unsigned long long)S.next_order++);
	snprintf(o->cid, sizeof o->cid, "%s", ch->cid);
	snprintf(o->seller, sizeof o->seller, "%s", a->unb);
	snprintf(o->buyer, sizeof o->buyer, "%s", ch->buyer);
	snprintf(o->buyer_name, sizeof o->buyer_name, "%s", ch->buyer_name);
	snprintf(o->item_id, sizeof o->item_id, "%s", sim_jstr(b, "item_id", ch->item_id));
	snprintf(o->spec, sizeof o->spec, "%s", sim_jstr(b, "spec", ""));
	o->quantity = (int)sim_jnum(b, "quantity", 1);
	o->price = (int)sim_jnum(b, "price", sim_item_get(o->item_id, 1)->price);
	snprintf(o->status, sizeof o->status, "%s", status);
	o->created_ms = util_now_ms();
	detail_modes(o, b);
	o->next = S.orders;
	S.orders = o;
	if (!sim_jbool(b, "push", 1)) {
		*out = order_json(o);
		return 200;
	}
	r = push_status(a, o, status, b, out);
	if (r == 200)
		cJSON_AddItemToObject(*out, "order", order_json(o));
	return r;
}

/* POST /order/status: {"order_id","status"}; "remind" pushes 记得及时发货
 * without a change; "set": false pushes without changing. */
static int ctl_order_status(const cJSON *b, cJSON **out)
{
	const char *status = sim_jstr(b, "status", ""), *id = sim_jstr(b, "order_id", "");
	sim_order *o = sim_order_find(id);
	sim_account *a;
	int r;

	if (!o)
		return fail(out, 404, "no such order");
	if (!valid_status(status))
		return fail(out, 400, "unknown status");
	a = sim_account_get(o->seller, 1);
	if (strcmp(status, "remind") && sim_jbool(b, "set", 1)) {
		int64_t lag = (int64_t)sim_jnum(b, "detail_lag_ms", 0);

		/* "detail_lag_ms": the order detail shows the old status that long */
		if (lag > 0) {
			snprintf(o->lag_status, sizeof o->lag_status, "%s", o->status);
			o->lag_until_ms = util_now_ms() + lag;
		}
		snprintf(o->status, sizeof o->status, "%s", status);
	}
	detail_modes(o, b);
	if (!sim_jbool(b, "push", 1)) {
		*out = order_json(o);
		return 200;
	}
	r = push_status(a, o, status, b, out);
	if (r == 200)
		cJSON_AddItemToObject(*out, "order", order_json(o));
	return r;
}

static int ctl_orders(cJSON **out)
{
	sim_order *o;
	cJSON *arr;

	*out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(*out, "orders");
	for (o = S.orders; o; o = o->next)
		cJSON_AddItemToArray(arr, order_json(o));
	return 200;
}

/* The base64 data of the one bad item a "garbage" fault of kind what puts in a
 * well-formed frame (msgpack_truncated cuts a real text item of seller a in half).
 * Returns it (malloc'd), or NULL for an unknown what or out of memory. */
static char *garbage_item_b64(const char *what, const cJSON *b, sim_account *a)
{
	static const unsigned char hostile[][8] = {
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xdf, 0x00, 0x78, 0x78, 0x78}, {0xdd, 0x80, 0x00, 0x00, 0x01},
		{0xc1}, {0xd4, 0x05, 0x01}, {0xdc, 0xff, 0xff, 0x01},
	};
	unsigned char buf[256];
	const unsigned char *bin = NULL;
	size_t nbin = 0, i;
	char *b64 = NULL;
	cJSON *it, *info;
	char err[128];

	if (!strcmp(what, "base64")) {
		b64 = strdup("!!not*base64**");
	} else if (!strcmp(what, "msgpack_truncated")) {
		cJSON *spec = cJSON_CreateObject(), *tree;
		unsigned char *mp;
		size_t n = 0;

		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "text", "this item is cut in half");
		info = cJSON_CreateObject();
		it = sim_item_build(spec, a, info, err, sizeof err);
		cJSON_Delete(spec);
		cJSON_Delete(info);
		tree = it ? cJSON_GetObjectItemCaseSensitive(it, "data") : NULL;
		mp = tree ? codec_b64_decode(tree->valuestring, strlen(tree->valuestring), &n) : NULL;
		if (mp) {
			b64 = codec_b64_encode(mp, n / 2);
			free(mp);
		}
		cJSON_Delete(it);
	} else if (!strncmp(what, "msgpack_hostile", 15)) {
		int v = (int)sim_jnum(b, "variant", 0);

		if (v >= 0 && v < (int)(sizeof hostile / sizeof hostile[0])) {
			bin = hostile[v];
			nbin = v == 3 ? 1 : v == 4 ? 3 : v == 5 ? 4 : 5;
		} else {
			/* nesting far deeper than any decoder should follow */
			for (i = 0; i < sizeof buf; i++)
				buf[i] = 0x91;
			bin = buf;
			nbin = sizeof buf;
		}
		b64 = codec_b64_encode(bin, nbin);
	} else if (!strcmp(what, "msgpack_json_array")) {
		b64 = codec_b64_encode("[1,2,3]", 7);
	}
	return b64;
}

/* Hostile or broken push frames (text), for the "garbage" fault. *raw is set
 * for bytes that must go out unframed; *track when the frame expects an ACK. */
static char *garbage(const char *what, const cJSON *b, sim_account *a, size_t *len, int *raw, int *track)
{
	size_t i;
	char *b64 = NULL, *s = NULL;
	sbuf sb = {0};
	cJSON *items, *it, *info;
	char err[128];

	*raw = 0;
	*track = 0;
	if (!strcmp(what, "opcode")) {
		/* A reserved opcode: a WebSocket protocol violation. */
		*len = 2;
		*raw = 1;
		return util_strndup("\x8f\x00", 2);
	}
	if (!strcmp(what, "json")) {
		s = strdup("{\"lwp\":\"/s/sync\",\"headers\":{\"mid\":\"deadbeef 0\"},\"body\":{\"syncPushPackage\":{\"data\":[");
		*len = strlen(s);
		return s;
	}
	if (!strcmp(what, "deep_json")) {
		for (i = 0; i < 5000; i++)
			sbuf_adds(&sb, "[");
		for (i = 0; i < 5000; i++)
			sbuf_adds(&sb, "]");
		*len = sb.len;
		return sbuf_take(&sb);
	}
	if (!strcmp(what, "utf8")) {
		s = strdup("{\"lwp\":\"/s/sync\",\"headers\":{\"mid\":\"badutf8 0\",\"sid\":\"x\"},\"body\":{\"x\":\"\xff\xfe\xc0\xaf\"}}");
		*len = strlen(s);
		/* sent once, not tracked: a client that drops the frame (it is
		 * not valid text) cannot ACK it, and a re-send at every later
		 * registration would trap it forever */
		*track = 0;
		return s;
	}
	if (!strcmp(what, "oversize")) {
		size_t n = (size_t)sim_jnum(b, "size", 4 << 20);

		sbuf_adds(&sb, "{\"lwp\":\"/s/sync\",\"headers\":{\"mid\":\"0versize 0\",\"sid\":\"x\"},\"body\":{\"pad\":\"");
		while (sb.len < n && !sb.oom)
			sbuf_adds(&sb, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		sbuf_adds(&sb, "\"}}");
		*len = sb.len;
		return sbuf_take(&sb);
	}
	/* The rest are well-formed frames with one bad item (and optionally a good
	 * text item after it, which the bot must still handle). */
	b64 = garbage_item_b64(what, b, a);
	if (!b64)
		return NULL;
	items = cJSON_CreateArray();
	it = cJSON_CreateObject();
	cJSON_AddNumberToObject(it, "bizType", 40);
	cJSON_AddStringToObject(it, "streamId", "40");
	cJSON_AddNumberToObject(it, "objectType", 40000);
	cJSON_AddStringToObject(it, "data", b64);
	free(b64);
	cJSON_AddItemToArray(items, it);
	if (sim_jbool(b, "with_good", 0)) {
		cJSON *spec = cJSON_CreateObject();

		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "text", sim_jstr(b, "text", "after the bad item"));
		if (sim_jstr(b, "cid", NULL))
			cJSON_AddStringToObject(spec, "cid", sim_jstr(b, "cid", NULL));
		info = cJSON_CreateObject();
		it = sim_item_build(spec, a, info, err, sizeof err);
		cJSON_Delete(spec);
		cJSON_Delete(info);
		if (it)
			cJSON_AddItemToArray(items, it);
	}
	/* Items, not a frame: the caller frames them like any push. */
	*len = 0;
	s = cJSON_PrintUnformatted(items);
	cJSON_Delete(items);
	*track = 2;
	return s;
}

/* The connections a fault acts on: the seller's, or all when "all": true. */
#define FOR_TARGET_CONNS(c, a, all) \
	for ((c) = S.conns; (c); (c) = (c)->next) if ((all) || (c)->acct == (a))

/* POST /fault {"kind": ...}; see README.md. */
static int ctl_fault(const cJSON *b, cJSON **out)
{
	const char *kind = sim_jstr(b, "kind", "");
	int all = sim_jbool(b, "all", 0), n = 0, i;
	sim_account *a = NULL;
	sim_conn *c;

	if (!strncmp(kind, "qr_", 3))
		return sim_passport_fault(kind, b, out);
	if (!strcmp(kind, "refuse") || !strcmp(kind, "blackhole")) {
		int k = (int)sim_jnum(b, "n", 1);

		if (kind[0] == 'r')
			S.refuse_n = k;
		else
			S.blackhole_n = k;
		*out = cJSON_CreateObject();
		cJSON_AddNumberToObject(*out, "n", k);
		return 200;
	}
	static const char *const kinds[] = {"drop", "close", "stall", "unstall", "garbage", "expire_token",
		"expire_h5tk", "session_expired", "risk", "send_fail", "mtop_fail", "renew_unb", "kick", "conv_ignore", NULL};

	for (i = 0; kinds[i] && strcmp(kinds[i], kind); i++)
		;
	if (!kinds[i])
		return fail(out, 400, "unknown fault kind");
	if (!all && !(a = want_account(b, out)))
		return 409;
	if (all && (!strcmp(kind, "garbage") || !strcmp(kind, "expire_h5tk") || !strcmp(kind, "session_expired") ||
		    !strcmp(kind, "risk") || !strcmp(kind, "send_fail") || !strcmp(kind, "renew_unb") ||
		    !strcmp(kind, "conv_ignore")))
		return fail(out, 400, "this fault acts on one seller: name \"seller\"");
	if (!strcmp(kind, "drop") || !strcmp(kind, "close")) {
		const char *how = sim_jstr(b, "how", "fin");
		int act = !strcmp(kind, "close") ? SIM_DROP_CLOSE : !strcmp(how, "rst") ? SIM_DROP_RST : SIM_DROP_FIN;

		FOR_TARGET_CONNS(c, a, all) {
			sim_conn_act(c, act, (int)sim_jnum(b, "code", 4000), sim_jstr(b, "reason", "simulated"));
			n++;
		}
	} else if (!strcmp(kind, "stall") || !strcmp(kind, "unstall")) {
		FOR_TARGET_CONNS(c, a, all) {
			c->stalled = kind[0] == 's';
			lws_rx_flow_control(c->wsi, !c->stalled);
			n++;
		}
	} else if (!strcmp(kind, "garbage")) {
		size_t len = 0;
		int raw, track;
		char *g = garbage(sim_jstr(b, "what", ""), b, a, &len, &raw, &track);

		if (!g)
			return fail(out, 400, "unknown garbage \"what\" (json, deep_json, utf8, oversize, opcode, "
				    "base64, msgpack_truncated, msgpack_hostile, msgpack_json_array)");
		if (track == 2) {
			cJSON *items = cJSON_Parse(g);
			char mid[32];

			free(g);
			if (!items || sim_push_send(a, "/s/sync", items, -1, mid) < 0)
				return fail(out, 500, "out of memory");
			*out = cJSON_CreateObject();
			cJSON_AddStringToObject(*out, "mid", mid);
			return 200;
		}
		sim_push_frame(a, g, len, raw, track);
		free(g);
		n = 1;
	} else if (!strcmp(kind, "expire_token")) {
		sim_token *t;

		for (t = S.tokens; t; t = t->next)
			if (all || !strcmp(t->unb, a->unb)) {
				t->revoked = 1;
				n++;
			}
		if (sim_jbool(b, "kick", 0))
			FOR_TARGET_CONNS(c, a, all)
				sim_conn_act(c, SIM_DROP_FIN, 0, NULL);
	} else if (!strcmp(kind, "expire_h5tk")) {
		a->expire_h5tk = 1;
		n = 1;
	} else if (!strcmp(kind, "session_expired")) {
		a->session_expired = sim_jbool(b, "on", 1);
		if (!a->session_expired)
			sim_session_renewed(a);     /* back to life: the lifetime starts over */
		n = 1;
	} else if (!strcmp(kind, "renew_unb")) {
		snprintf(a->renew_unb, sizeof a->renew_unb, "%s", sim_jstr(b, "unb", "2200000099999"));
		n = 1;
	} else if (!strcmp(kind, "risk")) {
		return sim_risk_fault(a, b, out);
	} else if (!strcmp(kind, "kick")) {
		FOR_TARGET_CONNS(c, a, all)
			if (c->registered && !c->closing) {
				sim_kick(c);
				n++;
			}
	} else if (!strcmp(kind, "send_fail")) {
		a->send_fail_n = (int)sim_jnum(b, "n", 1);
		snprintf(a->send_fail_reason, sizeof a->send_fail_reason, "%s", sim_jstr(b, "reason", "CSI_FORBID"));
		n = a->send_fail_n;
	} else if (!strcmp(kind, "conv_ignore")) {
		a->conv_ignore_n = n = (int)sim_jnum(b, "n", 1);
	} else if (!strcmp(kind, "mtop_fail")) {
		sim_mtop_fail *f = calloc(1, sizeof *f);

		if (!f)
			return fail(out, 500, "out of memory");
		snprintf(f->api, sizeof f->api, "%s", sim_jstr(b, "api", ""));
		f->n = n = (int)sim_jnum(b, "n", 1);
		f->status = (int)sim_jnum(b, "status", 200);
		snprintf(f->ret, sizeof f->ret, "%s", sim_jstr(b, "ret", "FAIL_SYS_SERVICE_UNAVAILABLE::服务不可用"));
		f->next = S.mtop_fails;
		S.mtop_fails = f;
	} else {
		return fail(out, 400, "unknown fault kind");
	}
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "n", n);
	return 200;
}

/* POST /replay {"n": k}: pushes the seller's last k pushes again (new mids,
 * the same items), as a platform re-sync after a reconnect would. */
static int ctl_replay(const cJSON *b, cJSON **out)
{
	sim_account *a = want_account(b, out);
	cJSON *todo, *h;
	int k, total, i, n = 0;

	if (!a)
		return 409;
	k = (int)sim_jnum(b, "n", 1);
	total = a->history ? cJSON_GetArraySize(a->history) : 0;
	/* copy first: sending appends to the history */
	todo = cJSON_CreateArray();
	for (i = total - k < 0 ? 0 : total - k; i < total; i++)
		cJSON_AddItemToArray(todo, cJSON_Duplicate(cJSON_GetArrayItem(a->history, i), 1));
	cJSON_ArrayForEach(h, todo) {
		sim_push_send(a, sim_jstr(h, "lwp", "/s/sync"),
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(h, "items"), 1), -1, NULL);
		n++;
	}
	cJSON_Delete(todo);
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "n", n);
	return 200;
}

static int ctl_config(const cJSON *b, cJSON **out)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, b) {
		if (!strcmp(x->string, "reg_reject_delay_ms") && cJSON_IsNumber(x))
			S.reg_reject_delay_ms = x->valueint;
		else if (!strcmp(x->string, "token_ttl_ms") && cJSON_IsNumber(x))
			S.token_ttl_ms = (int64_t)x->valuedouble;
		else if (!strcmp(x->string, "session_ttl_ms") && cJSON_IsNumber(x) && x->valuedouble >= 0)
			S.session_ttl_ms = (int64_t)x->valuedouble;
		else if (!strcmp(x->string, "h5tk_ttl_ms") && cJSON_IsNumber(x) && x->valuedouble >= 0)
			S.h5tk_ttl_ms = (int64_t)x->valuedouble;
		else if (!strcmp(x->string, "redeliver_unacked") && cJSON_IsBool(x))
			S.redeliver_unacked = cJSON_IsTrue(x);
		else if (!strcmp(x->string, "record") && cJSON_IsBool(x))
			S.record = cJSON_IsTrue(x);
		else if (!strcmp(x->string, "consign_pushes_card") && cJSON_IsBool(x))
			S.consign_pushes_card = cJSON_IsTrue(x);
		else if (!strcmp(x->string, "require_origin") && cJSON_IsBool(x))
			S.require_origin = cJSON_IsTrue(x);
		else if (sim_passport_config(x, NULL) || sim_history_config(x))
			;
		else if (sim_risk_config(x) > 0)
			;
		else {
			char m[160];

			snprintf(m, sizeof m, "unknown or mistyped setting \"%s\"", x->string);
			return fail(out, 400, m);
		}
	}
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "reg_reject_delay_ms", S.reg_reject_delay_ms);
	cJSON_AddNumberToObject(*out, "token_ttl_ms", (double)S.token_ttl_ms);
	cJSON_AddNumberToObject(*out, "session_ttl_ms", (double)S.session_ttl_ms);
	cJSON_AddNumberToObject(*out, "h5tk_ttl_ms", (double)S.h5tk_ttl_ms);
	cJSON_AddBoolToObject(*out, "redeliver_unacked", S.redeliver_unacked);
	cJSON_AddBoolToObject(*out, "record", S.record);
	cJSON_AddBoolToObject(*out, "consign_pushes_card", S.consign_pushes_card);
	cJSON_AddBoolToObject(*out, "require_origin", S.require_origin);
	sim_passport_config(NULL, *out);
	sim_history_config_out(*out);
	sim_risk_config_out(*out);
	return 200;
}

static int ctl_state(cJSON **out)
{
	cJSON *st, *conns, *accts, *j;
	sim_conn *c;
	sim_account *a;
	sim_push *p;
	long unacked = 0, offline;

	*out = cJSON_CreateObject();
	st = cJSON_AddObjectToObject(*out, "stats");
#define STAT(f) cJSON_AddNumberToObject(st, #f, (double)S.st.f)
	STAT(ws_accepted); STAT(ws_rejected_nocookie); STAT(refused); STAT(blackholed);
	STAT(reg_ok); STAT(reg_bad); STAT(heartbeats); STAT(ackdiffs); STAT(requests);
	STAT(unknown_requests); STAT(bad_frames); STAT(pushes); STAT(acks); STAT(dup_acks);
	STAT(unacked_at_close); STAT(redelivered); STAT(sends); STAT(send_repeats); STAT(send_refused);
	STAT(conv_creates); STAT(mtop_calls); STAT(mtop_bad_sign); STAT(mtop_token_expired);
	STAT(tokens_minted); STAT(consigns);
	STAT(renew_haslogin); STAT(renew_silent); STAT(renew_settings); STAT(renew_loginuser); STAT(session_expired);
	STAT(history_calls); STAT(history_flow_limited);
	STAT(offline_dropped);
	STAT(kicks); STAT(risk_answers); STAT(risk_triggered); STAT(risk_solved);
#undef STAT
	conns = cJSON_AddArrayToObject(*out, "conns");
	for (c = S.conns; c; c = c->next) {
		long n = 0;

		for (p = c->pending; p; p = p->next)
			n++;
		unacked += n;
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "id", c->id);
		cJSON_AddStringToObject(j, "unb", c->acct ? c->acct->unb : "");
		cJSON_AddBoolToObject(j, "registered", c->registered);
		cJSON_AddBoolToObject(j, "stalled", c->stalled);
		cJSON_AddNumberToObject(j, "unacked", (double)n);
		cJSON_AddItemToArray(conns, j);
	}
	cJSON_AddNumberToObject(st, "unacked", (double)unacked);
	accts = cJSON_AddArrayToObject(*out, "accounts");
	for (a = S.accounts; a; a = a->next) {
		offline = 0;
		for (p = a->offline; p; p = p->next)
			offline++;
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "unb", a->unb);
		cJSON_AddBoolToObject(j, "registered", sim_conn_registered(a) != NULL);
		cJSON_AddNumberToObject(j, "offline_pushes", (double)offline);
		cJSON_AddStringToObject(j, "h5tk", a->h5tk);
		cJSON_AddBoolToObject(j, "session_alive", sim_session_alive(a));
		cJSON_AddNumberToObject(j, "session_until_ms", (double)a->session_until_ms);
		cJSON_AddBoolToObject(j, "long_login", a->long_login);
		cJSON_AddItemToArray(accts, j);
	}
	cJSON_AddNumberToObject(*out, "log_entries", S.nlog);
	return 200;
}

/* GET /sent?since=N&what=LWP: what bots sent, in order. */
static int ctl_sent(const char *query, cJSON **out)
{
	char *since = util_form_get(query, strlen(query), "since");
	char *what = util_form_get(query, strlen(query), "what");
	int from = since ? atoi(since) : 0, i;
	sbuf b = {0};
	int first = 1;

	if (from < 0)
		from = 0;
	sbuf_addf(&b, "{\"next\":%d,\"frames\":[", S.nlog);
	for (i = from; i < S.nlog; i++) {
		if (what) {
			char pat[160];

			snprintf(pat, sizeof pat, "\"what\":\"%s\"", what);
			if (!strstr(S.log[i], pat))
				continue;
		}
		if (!first)
			sbuf_adds(&b, ",");
		sbuf_adds(&b, S.log[i]);
		first = 0;
	}
	sbuf_adds(&b, "]}");
	free(since);
	free(what);
	*out = b.p ? cJSON_Parse(b.p) : NULL;
	sbuf_free(&b);
	return *out ? 200 : fail(out, 500, "log does not render");
}

int sim_ctl_call(const char *method, const char *path, const char *query, cJSON *body, cJSON **out)
{
	int post = !strcmp(method, "POST");
	cJSON *empty = NULL;
	int r;
	char err[160];

	*out = NULL;
	if (post && !body)
		body = empty = cJSON_CreateObject();
	if (post && !cJSON_IsObject(body)) {
		r = fail(out, 400, "body must be a JSON object");
	} else if (!strcmp(method, "GET") && !strcmp(path, "/state")) {
		r = ctl_state(out);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/sent")) {
		r = ctl_sent(query ? query : "", out);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/orders")) {
		r = ctl_orders(out);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/load")) {
		*out = sim_load_report();
		r = 200;
	} else if (post && !strcmp(path, "/inject")) {
		r = ctl_inject(body, out);
	} else if (post && !strcmp(path, "/push")) {
		r = ctl_push(body, out);
	} else if (post && !strcmp(path, "/order")) {
		r = ctl_order(body, out);
	} else if (post && !strcmp(path, "/order/status")) {
		r = ctl_order_status(body, out);
	} else if ((post && !strcmp(path, "/item")) || !strcmp(path, "/items")) {
		r = sim_items_ctl(method, path, body, out);
	} else if (!strncmp(path, "/llm/", 5)) {
		r = sim_llm_ctl(method, path, body, out);
	} else if (post && !strcmp(path, "/fault")) {
		r = ctl_fault(body, out);
	} else if (post && !strcmp(path, "/replay")) {
		r = ctl_replay(body, out);
	} else if (post && !strcmp(path, "/config")) {
		r = ctl_config(body, out);
	} else if (post && !strcmp(path, "/load")) {
		r = sim_load_start(body, err, sizeof err) ? fail(out, 400, err) : (*out = sim_load_report(), 200);
	} else if (post && !strcmp(path, "/scenario")) {
		r = sim_scenario_load(cJSON_Duplicate(body, 1), err, sizeof err) ? fail(out, 400, err)
			: (*out = cJSON_CreateObject(), 200);
	} else if (!strcmp(path, "/login") || !strncmp(path, "/login/", 7)) {
		r = sim_passport_ctl(method, path, body, out);
	} else if (post && !strcmp(path, "/reset")) {
		sim_reset();
		*out = cJSON_CreateObject();
		r = 200;
	} else {
		r = fail(out, 404, "no such control endpoint");
	}
	cJSON_Delete(empty);
	return r;
}
