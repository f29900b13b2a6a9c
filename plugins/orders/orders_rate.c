/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_rate.c - the rating chore (the rules' chores.rate,
 * opt-in): after a trade completes (its 交易成功 card, or the reminder
 * 快给ta一个评价吧~), the buyer is rated good once with the chore's text,
 * mtop.taobao.idle.rate.create 4.0 {"tradeId","rate":1,"feedback",
 * "createOrAppend":0} (protocol-account.md §7.3).
 *
 * One row of orders_rate per order: pending -> done (rated, or the platform
 * says it already is) or failed (orders.rate_attempts answers that were no
 * success; the platform refuses an order that cannot be rated yet, so a
 * refusal is tried again orders.rate_retry_s later). "ms" is when a pending
 * one is due, else when it ended. The attempt is counted before the call,
 * so a crash never makes more calls than rate_attempts.
 */

#include "orders_int.h"

static void od_rate_try(sk_plugin *p, const char *oid);

/* An orders_rate row. */
typedef struct {
	int found;
	char state[16], reason[400];
	int64_t attempts, ms;
} od_rate;

static int od_row_rate(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_rate *r = ud;

	(void)p;
	if (n < 4)
		return 1;
	r->found = 1;
	orders_cp(r->state, sizeof r->state, &c[0]);
	r->attempts = orders_int(&c[1]);
	r->ms = orders_int(&c[2]);
	orders_cp(r->reason, sizeof r->reason, &c[3]);
	return 1;
}

/* Reads order oid's rating row; 0 (r->found says whether there is one) or <0. */
static int od_rate_get(sk_plugin *p, const char *oid, od_rate *r)
{
	sk_value v = SK_VTEXT(oid);

	memset(r, 0, sizeof *r);
	return sk_db_exec(p, "SELECT state, attempts, ms, reason FROM orders_rate WHERE order_id = ?", &v, 1,
			  od_row_rate, r);
}

/* Records the rating's state, when it is due or ended (ms) and why. */
static void od_rate_set(sk_plugin *p, const char *oid, const char *state, int64_t ms, const char *reason)
{
	sk_value v[4] = { SK_VTEXT(state), SK_VINT(ms), SK_VTEXT(reason), SK_VTEXT(oid) };

	if (sk_db_exec(p, "UPDATE orders_rate SET state = ?, ms = ?, reason = ? WHERE order_id = ?", v, 4, NULL,
		       NULL) < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the rating (%s)", oid, state);
}

static void od_on_rate_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	if (p->ud) {
		orders_fly_del(p->ud, ud, OD_RATE);
		od_rate_try(p, ud);
	}
}

/* Comes back for order oid in ms (the in-flight record keeps it single). */
static void od_rate_later(sk_plugin *p, const char *oid, int64_t ms)
{
	char *id = strdup(oid);

	if (!id || !orders_fly_add(p->ud, oid, OD_RATE)) {
		free(id);
		return;
	}
	if (sk_timer_add(p, (uint64_t)(ms > 0 ? ms : 0), 0, od_on_rate_timer, id, free, NULL) != SK_OK)
		orders_fly_del(p->ud, oid, OD_RATE);
}

/* Whether a refusal of rate.create says the order is rated already. */
static int od_rate_already(const char *ret)
{
	return strstr(ret, "DUPLICATE") || strstr(ret, "ALREADY") || strstr(ret, "已评价") || strstr(ret, "已经评价");
}

/* rate.create answered: done (rated, or rated already), or pending again
 * rate_retry_s later, or failed once rate_attempts calls were made. */
static void od_on_rate(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_call *c = ud;
	char reason[400];
	od_rate r;

	(void)data_json;
	if (!st)
		return;
	orders_fly_del(st, c->oid, OD_RATE);
	if (od_rate_get(p, c->oid, &r) < 0 || !r.found)
		return;
	if (result == SK_MTOP_OK || od_rate_already(ret)) {
		od_rate_set(p, c->oid, "done", sk_now_ms(p), result == SK_MTOP_OK ? "" : "already rated");
		sk_log(p, SK_LOG_INFO, "order %s: buyer rated%s", c->oid, result == SK_MTOP_OK ? "" : " (already)");
		return;
	}
	snprintf(reason, sizeof reason, "%s", result == SK_MTOP_SESSION_EXPIRED ? "session expired" :
		 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer");
	if (r.attempts >= st->rate_attempts) {
		od_rate_set(p, c->oid, "failed", sk_now_ms(p), reason);
		sk_log(p, SK_LOG_WARN, "order %s: buyer not rated after %lld tries: %s", c->oid, (long long)r.attempts,
		       reason);
		return;
	}
	od_rate_set(p, c->oid, "pending", sk_now_ms(p) + st->rate_retry_s * 1000, reason);
	sk_log(p, SK_LOG_INFO, "order %s: rating refused (%s), tried again in %lld s", c->oid, reason,
	       (long long)st->rate_retry_s);
	od_rate_later(p, c->oid, st->rate_retry_s * 1000);
}

/* Rates the buyer of order oid when its rating is pending and due (a timer
 * comes back when it is not due yet). */
static void od_rate_try(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	char *feedback, *data;
	od_order o;
	od_call *c;
	od_rate r;
	cJSON *j;
	int rc;

	if (!st->rules->rate_enabled)
		return;
	for (od_fly *f = st->fly; f; f = f->next)
		if (f->what == OD_RATE && !strcmp(f->order, oid))
			return;
	if (od_rate_get(p, oid, &r) < 0 || !r.found || strcmp(r.state, "pending"))
		return;
	if (r.ms > sk_now_ms(p)) {
		od_rate_later(p, oid, r.ms - sk_now_ms(p));
		return;
	}
	if (!SK_HOST_HAS(p, mtop_ex)) {
		od_rate_set(p, oid, "failed", sk_now_ms(p), "the host has no sk_mtop_ex (ABI 1.5)");
		return;
	}
	if (orders_order_get(p, oid, &o)) {
		memset(&o, 0, sizeof o);
		snprintf(o.id, sizeof o.id, "%s", oid);
	}
	{
		sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

		if (sk_db_exec(p, "UPDATE orders_rate SET attempts = attempts + 1, ms = ? WHERE order_id = ?", v, 2, NULL,
			       NULL) < 0)
			return;
	}
	feedback = orders_notice_render(p, st->rules->rate_text, &o);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "tradeId", oid);
	cJSON_AddNumberToObject(j, "rate", 1);
	cJSON_AddStringToObject(j, "feedback", feedback ? feedback : "");
	cJSON_AddNumberToObject(j, "createOrAppend", 0);
	data = feedback ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	free(feedback);
	c = data ? orders_call_new(oid, 0) : NULL;
	if (!c || !orders_fly_add(st, oid, OD_RATE)) {
		orders_call_free(c);
		free(data);
		sk_log(p, SK_LOG_ERR, "order %s: out of memory for the rating", oid);
		return;
	}
	rc = sk_mtop_ex(p, OD_API_RATE, OD_API_RATE_V, 0, data, od_on_rate, c, orders_call_free);
	free(data);
	if (rc != SK_OK) {
		/* not started (no session...): counted as a try, tried again later */
		orders_fly_del(st, oid, OD_RATE);
		sk_log(p, SK_LOG_ERR, "order %s: cannot call the rating: %s", oid, sk_strerror(p, rc));
		if (r.attempts + 1 >= st->rate_attempts) {
			od_rate_set(p, oid, "failed", sk_now_ms(p), sk_strerror(p, rc));
			return;
		}
		od_rate_set(p, oid, "pending", sk_now_ms(p) + st->rate_retry_s * 1000, sk_strerror(p, rc));
		od_rate_later(p, oid, st->rate_retry_s * 1000);
	}
}

/* The trade of order oid completed: its buyer is to be rated (once; a
 * second start changes nothing) when chores.rate is on. */
void orders_rate_start(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;

	if (!st || !st->rules->rate_enabled || !*oid)
		return;
	{
		sk_value v[2] = { SK_VTEXT(oid), SK_VINT(sk_now_ms(p)) };

		if (sk_db_exec(p, "INSERT INTO orders_rate (order_id, state, ms) VALUES (?, 'pending', ?) "
			       "ON CONFLICT (order_id) DO NOTHING", v, 2, NULL, NULL) < 0)
			return;
	}
	od_rate_try(p, oid);
}

/* SK_EV_SYSTEM: the reminder 快给ta一个评价吧~ (or ～) of an order says its
 * trade completed (the buyer confirmed receipt). Always SK_PASS. */
int orders_on_system(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (p->ud && *e->order_id && (strstr(e->text, "快给ta一个评价吧~") || strstr(e->text, "快给ta一个评价吧～")))
		orders_rate_start(p, e->order_id);
	return SK_PASS;
}

/* At start and after a reload: every pending rating is tried (now, or when
 * it is due). */
void orders_rate_resume(sk_plugin *p)
{
	od_ids ids;

	if (!p->ud || !((od_state *)p->ud)->rules->rate_enabled ||
	    orders_ids_get(p, "SELECT order_id FROM orders_rate WHERE state = 'pending' ORDER BY ms", NULL, 0, &ids))
		return;
	for (size_t i = 0; i < ids.n && p->ud; i++)
		od_rate_try(p, ids.ids[i]);
	free(ids.ids);
}
