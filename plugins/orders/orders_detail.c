/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_detail.c - the order detail (mtop.idle.web.trade.order.detail):
 * fetched with retries, checked (paid, buyer, item) before anything is planned.
 */

#include "orders_int.h"

/* ---- the order detail ------------------------------------------------------------ */

/* Frees an od_call (a timer's or an mtop call's free_ud). */
void orders_call_free(void *ud)
{
	od_call *c = ud;

	if (c) {
		free(c->oid);
		free(c);
	}
}

/* A new od_call for order oid at attempt, or NULL without memory. */
od_call *orders_call_new(const char *oid, int attempt)
{
	od_call *c = calloc(1, sizeof *c);

	if (c && !(c->oid = strdup(oid))) {
		free(c);
		return NULL;
	}
	if (c)
		c->attempt = attempt;
	return c;
}

/* A string or a number member as text. */
static const char *od_jtext(const cJSON *o, const char *k, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsString(v))
		return v->valuestring;
	/* The range first: converting a double outside int64_t is undefined. */
	if (cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, n, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL;
}

/* The order's amount in yuan ("12.50") into out (n bytes) from the detail's
 * itemInfo.price for qty units: a whole number is fen (as the simulator
 * sends it), a string is yuan ("9.9", "9.90"); "" when there is none or it
 * is neither (the platform's field is not confirmed: the sold-orders pull's
 * totalPrice, when it has one, is kept over it). */
static void od_amount(const cJSON *item, int64_t qty, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "price");
	long long fen = -1;

	*out = '\0';
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e12 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		fen = (long long)v->valuedouble;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		size_t whole = strspn(s, "0123456789"), frac = s[whole] == '.' ? strspn(s + whole + 1, "0123456789") : 0;

		if (whole && whole <= 10 && (!s[whole] || (s[whole] == '.' && frac >= 1 && frac <= 2 && !s[whole + 1 + frac]))) {
			fen = strtoll(s, NULL, 10) * 100;
			if (frac)
				fen += strtoll(s + whole + 1, NULL, 10) * (frac == 1 ? 10 : 1);
		}
	}
	if (fen < 0 || qty < 1 || qty > 100000)
		return;
	fen *= qty;
	snprintf(out, n, "%lld.%02lld", fen / 100, fen % 100);
}

/* The wait in ms before retry attempt: retry_base_ms, doubled per attempt
 * after the first until it reaches 300 s. */
int64_t orders_backoff(od_state *st, int attempt)
{
	int64_t ms = st->retry_base_ms;

	for (int i = 1; i < attempt && ms < 300000; i++)
		ms *= 2;
	return ms;
}

static void od_on_fetch_timer(sk_plugin *p, uint64_t id, void *ud)
{
	od_call *c = ud;

	(void)id;
	if (p->ud) {
		od_order o;

		orders_fly_del(p->ud, c->oid, OD_FETCH);
		/* closed, refunded or cancelled while it waited: nothing to fetch */
		if (orders_order_get(p, c->oid, &o) || o.delivery != OD_D_PENDING || o.state != OD_O_PAID) {
			sk_log(p, SK_LOG_INFO, "order %s: no longer waiting for its detail (%s, delivery %s)", c->oid,
			       o.found ? orders_ostate_name(o.state) : "gone",
			       o.found ? orders_dstate_name(o.delivery) : "-");
			return;
		}
		orders_fetch(p, c->oid, c->attempt, c->checks, c->since_ms);
	}
}

enum { OD_PAY_NO = 0, OD_PAY_YES, OD_PAY_NEVER };

/* A JSON true, or the string "true" (valueType=string answers). */
static int od_jtrue(const cJSON *v)
{
	return cJSON_IsTrue(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "true"));
}

/* What the order detail's orderStatusVO data (may be NULL) says of the
 * payment (docs/protocol.md §9.2): OD_PAY_YES when its 已付款 node is
 * completed and the order is neither closed nor in refund, OD_PAY_NEVER when
 * it is closed or in refund, else OD_PAY_NO (not paid yet, or no status at
 * all). title gets the order's status text for the reason ("" when none). */
static int od_detail_paid(const cJSON *status, char *title, size_t n)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(status, "orderStatusInfo"),
							  "title"), *node;
	int paid = 0, closed = 0;

	snprintf(title, n, "%s", cJSON_IsString(t) ? t->valuestring : "");
	if (*title && (strstr(title, "关闭") || strstr(title, "退款")))
		closed = 1;
	cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(status, "orderStatusNodeList")) {
		const cJSON *nt = cJSON_GetObjectItemCaseSensitive(node, "title");

		if (!cJSON_IsString(nt) || !od_jtrue(cJSON_GetObjectItemCaseSensitive(node, "completed")))
			continue;
		if (!strcmp(nt->valuestring, "已付款"))
			paid = 1;
		else if (strstr(nt->valuestring, "关闭") || strstr(nt->valuestring, "退款"))
			closed = 1;
		if (!*title)
			snprintf(title, n, "%s", nt->valuestring);
	}
	return closed ? OD_PAY_NEVER : paid ? OD_PAY_YES : OD_PAY_NO;
}

/* The detail of a paid card does not say paid (paid: OD_PAY_NO or
 * OD_PAY_NEVER): the order waits (delivery pending) and the detail is asked
 * again after 2, 4, 8... s (at most 60 s apart) until orders.paid_wait_s has
 * passed since the first answer; then, or at once for a closed order, the
 * delivery fails with "unpaid: ...". The detail can lag the card by seconds. */
static void od_unpaid(sk_plugin *p, const od_call *c, int paid, const char *title)
{
	od_state *st = p->ud;
	int64_t waited = sk_mono_ms(p) - c->since_ms, left = st->paid_wait_s * 1000 - waited, delay;
	char reason[400];
	od_call *n;

	if (paid == OD_PAY_NEVER || left <= 0) {
		if (paid == OD_PAY_NEVER)
			snprintf(reason, sizeof reason, "unpaid: the order detail says %s", title);
		else
			snprintf(reason, sizeof reason, "unpaid: the order detail still does not say paid after %lld s "
				 "(%d checks%s%s); the paid card alone is not enough", (long long)(waited / 1000),
				 c->checks + 1, *title ? ", last: " : "", title);
		orders_fail(p, c->oid, reason);
		return;
	}
	delay = (int64_t)2000 << (c->checks < 5 ? c->checks : 5);
	if (delay > left)
		delay = left;
	snprintf(reason, sizeof reason, "waiting: the order detail does not say paid yet%s%s; checking again in "
		 "%lld s", *title ? ": " : "", title, (long long)(delay / 1000));
	sk_log(p, SK_LOG_WARN, "order %s: a paid card, but %s", c->oid, reason + strlen("waiting: "));
	orders_set_delivery(p, c->oid, OD_D_PENDING, reason);
	if (!(n = orders_call_new(c->oid, 1)) || !orders_fly_add(st, c->oid, OD_FETCH)) {
		orders_call_free(n);
		orders_fail(p, c->oid, "detail: out of memory while waiting for the payment");
		return;
	}
	n->checks = c->checks + 1;
	n->since_ms = c->since_ms;
	if (sk_timer_add(p, (uint64_t)delay, 0, od_on_fetch_timer, n, orders_call_free, NULL) != SK_OK) {
		orders_fly_del(st, c->oid, OD_FETCH);
		orders_fail(p, c->oid, "detail: cannot wait for the payment (no timer)");
	}
}

static void od_on_detail(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_call *c = ud;
	const cJSON *comps, *x, *info = NULL, *item = NULL, *status = NULL;
	char b1[32], b2[32], b3[32], b4[32], reason[400], title[128];
	od_order o;
	int paid;
	const char *iid, *sku, *buyer, *nick, *q;
	int64_t qty = 1;
	cJSON *d;

	if (!st)
		return;
	orders_fly_del(st, c->oid, OD_FETCH);
	if (result != SK_MTOP_OK) {
		int transient = result == SK_MTOP_TRANSPORT || result == SK_MTOP_TOKEN_EXPIRED ||
				(result == SK_MTOP_FAIL && strncmp(ret, "FAIL_BIZ", 8));

		if (transient && c->attempt < st->detail_attempts) {
			od_call *n = orders_call_new(c->oid, c->attempt + 1);

			if (n) {
				n->checks = c->checks;
				n->since_ms = c->since_ms;
			}
			sk_log(p, SK_LOG_WARN, "order %s: order detail failed (%s), retry %d in %lld ms", c->oid,
			       *ret ? ret : "transport", c->attempt + 1, (long long)orders_backoff(st, c->attempt));
			if (n && orders_fly_add(st, c->oid, OD_FETCH) &&
			    sk_timer_add(p, (uint64_t)orders_backoff(st, c->attempt), 0, od_on_fetch_timer, n, orders_call_free,
					 NULL) == SK_OK)
				return;
			orders_fly_del(st, c->oid, OD_FETCH);
		}
		snprintf(reason, sizeof reason, "detail: the order detail could not be read (%s%s%s)",
			 result == SK_MTOP_SESSION_EXPIRED ? "session expired: the account needs a new login" :
			 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer",
			 transient ? ", after retries" : "", "");
		orders_fail(p, c->oid, reason);
		return;
	}
	d = cJSON_Parse(data_json);
	comps = cJSON_GetObjectItemCaseSensitive(d, "components");
	cJSON_ArrayForEach(x, comps) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "render");

		if (cJSON_IsString(r) && !strcmp(r->valuestring, "orderInfoVO")) {
			info = cJSON_GetObjectItemCaseSensitive(x, "data");
			item = cJSON_GetObjectItemCaseSensitive(info, "itemInfo");
		} else if (cJSON_IsString(r) && !strcmp(r->valuestring, "orderStatusVO")) {
			status = cJSON_GetObjectItemCaseSensitive(x, "data");
		}
	}
	iid = od_jtext(item, "itemId", b1, sizeof b1);
	if (!iid)
		iid = od_jtext(d, "itemId", b1, sizeof b1);
	buyer = od_jtext(info, "buyerUserId", b2, sizeof b2);
	if (!buyer)
		buyer = od_jtext(d, "peerUserId", b2, sizeof b2);
	nick = od_jtext(info, "buyerNick", b3, sizeof b3);
	sku = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "skuInfo")) ?
	      cJSON_GetObjectItemCaseSensitive(item, "skuInfo")->valuestring : "";
	/* no amount: one unit (as the platform's own pages show it) */
	if ((q = od_jtext(item, "buyAmount", b4, sizeof b4)))
		qty = strtoll(q, NULL, 10);
	if (!iid || !*iid) {
		cJSON_Delete(d);
		orders_fail(p, c->oid, "detail: the order detail has no item id");
		return;
	}
	/* The card only says paid; the detail, asked of the platform by us, must
	 * agree: paid, by the chat's buyer, for the chat's item. */
	paid = od_detail_paid(status, title, sizeof title);
	if (orders_order_get(p, c->oid, &o)) {
		cJSON_Delete(d);
		return;
	}
	if (o.delivery != OD_D_PENDING || o.state != OD_O_PAID) {
		cJSON_Delete(d);
		sk_log(p, SK_LOG_INFO, "order %s: detail ignored: the order is %s, delivery %s", c->oid,
		       orders_ostate_name(o.state), orders_dstate_name(o.delivery));
		return;
	}
	if (!buyer || !*buyer || (*o.buyer && strcmp(buyer, o.buyer)) || (*o.chat_item && strcmp(iid, o.chat_item))) {
		snprintf(reason, sizeof reason, "mismatch: the order detail is for buyer %s and item %s, the chat's cards "
			 "for buyer %s and item %s", buyer && *buyer ? buyer : "(none)", iid, *o.buyer ? o.buyer : "(none)",
			 *o.chat_item ? o.chat_item : "(any)");
		cJSON_Delete(d);
		orders_fail(p, c->oid, reason);
		return;
	}
	if (paid != OD_PAY_YES) {
		cJSON_Delete(d);
		od_unpaid(p, c, paid, title);
		return;
	}
	{
		char amount[32];
		sk_value v[8];

		od_amount(item, qty, amount, sizeof amount);
		v[0] = SK_VTEXT(iid);
		v[1] = SK_VTEXT(sku);
		v[2] = SK_VINT(qty);
		v[3] = SK_VTEXT(buyer ? buyer : "");
		v[4] = SK_VTEXT(nick ? nick : "");
		v[5] = SK_VINT(sk_now_ms(p));
		v[6] = SK_VTEXT(c->oid);
		v[7] = SK_VTEXT(amount);
		if (sk_db_exec(p, "UPDATE orders_order SET item_id = ?1, spec = ?2, quantity = ?3, "
			       "buyer_id = CASE WHEN buyer_id = '' THEN ?4 ELSE buyer_id END, "
			       "buyer_name = CASE WHEN ?5 <> '' THEN ?5 ELSE buyer_name END, updated_ms = ?6, "
			       "amount = CASE WHEN amount = '' THEN ?8 ELSE amount END "
			       "WHERE order_id = ?7", v, 8, NULL, NULL) < 0) {
			cJSON_Delete(d);
			sk_log(p, SK_LOG_ERR, "order %s: cannot record the detail", c->oid);
			return;
		}
	}
	cJSON_Delete(d);
	orders_plan(p, c->oid);
}

/* Asks for the order detail (attempt counts from 1; checks and since_ms as
 * in od_call). */
void orders_fetch(sk_plugin *p, const char *oid, int attempt, int checks, int64_t since_ms)
{
	od_state *st = p->ud;
	od_call *c = orders_call_new(oid, attempt);
	char data[128];
	int rc;

	if (c) {
		c->checks = checks;
		c->since_ms = since_ms;
	}
	snprintf(data, sizeof data, "{\"tid\":\"%s\"}", oid);
	if (!c || !orders_fly_add(st, oid, OD_FETCH)) {
		orders_call_free(c);
		return;
	}
	orders_step(p, "detail", oid);
	if ((rc = sk_mtop(p, OD_API_DETAIL, data, od_on_detail, c, orders_call_free)) != SK_OK) {
		orders_fly_del(st, oid, OD_FETCH);
		sk_log(p, SK_LOG_ERR, "order %s: cannot ask for the detail: %s", oid, sk_strerror(p, rc));
	}
}
