/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_flow.c - the order's state machine: trade cards move
 * the order, a paid one starts a delivery, planned (rule, reservation), sent
 * unit by unit, then the shipment confirmed.
 */

#include "orders_int.h"


/* debug_kill_at: dies like kill -9 at the named step (tests of the recovery). */
void orders_step(sk_plugin *p, const char *step, const char *oid)
{
	od_state *st = p->ud;

	if (st && st->kill_at && !strcmp(st->kill_at, step)) {
		sk_log(p, SK_LOG_WARN, "debug_kill_at %s (order %s): SIGKILL", step, oid);
		raise(SIGKILL);
	}
}

/* The in-flight record of order oid and kind what, NULL when none. */
od_fly *orders_fly_find(od_state *st, const char *oid, int what)
{
	for (od_fly *f = st->fly; f; f = f->next)
		if (f->what == what && !strcmp(f->order, oid))
			return f;
	return NULL;
}

/* Records that order oid has a call of kind what (OD_FETCH,
 * OD_CONFIRM) in flight. The record, or NULL without memory. */
od_fly *orders_fly_add(od_state *st, const char *oid, int what)
{
	od_fly *f = calloc(1, sizeof *f);

	if (!f || !(f->order = strdup(oid))) {
		free(f);
		return NULL;
	}
	f->what = what;
	f->next = st->fly;
	st->fly = f;
	return f;
}

/* Forgets the in-flight record of order oid and kind what, if any. */
void orders_fly_del(od_state *st, const char *oid, int what)
{
	for (od_fly **pp = &st->fly; *pp; pp = &(*pp)->next)
		if ((*pp)->what == what && !strcmp((*pp)->order, oid)) {
			od_fly *f = *pp;

			*pp = f->next;
			free(f->order);
			free(f);
			return;
		}
}

/* Publishes topic with a JSON object built by the caller (consumed). */
void orders_publish(sk_plugin *p, const char *topic, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (s)
		sk_publish(p, topic, s);
	free(s);
	cJSON_Delete(o);
}

/* ---- order state ------------------------------------------------------------ */

/* The place of s in placed -> paid -> shipped -> completed (1 to 4), 0 for
 * a state off that chain. */
static int od_rank(od_ostate s)
{
	return s >= OD_O_PLACED && s <= OD_O_COMPLETED ? (int)s - OD_O_PLACED + 1 : 0;
}

/* Whether from -> to is allowed (to is never refund_cancelled here). */
static int od_legal(od_ostate from, od_ostate to)
{
	if (from == OD_O_NEW)
		return 1;
	if (from == OD_O_CLOSED)
		return 0;
	if (to == OD_O_CLOSED)
		return 1;
	if (to == OD_O_REFUNDING)
		return od_rank(from) >= 2;
	if (from == OD_O_REFUNDING)
		return to == OD_O_COMPLETED;
	return od_rank(to) > od_rank(from);
}

/* The trade card's name, as orders_transition.trigger holds it ("" for an
 * unknown one). */
static const char *od_trade_name(int t)
{
	static const char *const n[] = { "", "placed", "paid", "remind", "shipped", "completed", "closed", "refunding",
		"refund_cancelled" };

	return t >= 0 && t < (int)(sizeof n / sizeof n[0]) ? n[t] : "";
}

/* The state a trade card moves its order to; OD_O_NEW for the cards that
 * name none of their own (remind, refund_cancelled, unknown ones). */
static od_ostate od_trade_state(int t)
{
	switch (t) {
	case SK_TRADE_PLACED: return OD_O_PLACED;
	case SK_TRADE_PAID: return OD_O_PAID;
	case SK_TRADE_SHIPPED: return OD_O_SHIPPED;
	case SK_TRADE_COMPLETED: return OD_O_COMPLETED;
	case SK_TRADE_CLOSED: return OD_O_CLOSED;
	case SK_TRADE_REFUNDING: return OD_O_REFUNDING;
	default: return OD_O_NEW;
	}
}

/* Cancels the units not yet handed to the outbox (their codes go back), when
 * the order closed or went to refund before they were sent. */
static void od_cancel(sk_plugin *p, const char *oid, const char *why)
{
	od_units us;
	od_order o;
	int cancelled = 0;

	if (orders_order_get(p, oid, &o) || orders_units_get(p, oid, &us))
		return;
	for (size_t i = 0; i < us.n; i++) {
		od_unit *u = &us.u[i];
		sk_value v[3];

		if (u->state != OD_U_RESERVED || sk_send_find(p, u->tag, NULL, NULL, NULL) != SK_ERR_NOTFOUND)
			continue;
		if (sk_db_begin(p) < 0)
			break;
		v[0] = SK_VTEXT(why);
		v[1] = SK_VINT(sk_now_ms(p));
		v[2] = SK_VTEXT(u->tag);
		sk_db_exec(p, "UPDATE orders_unit SET state = 'cancelled', reason = ?, updated_ms = ? WHERE tag = ?",
			   v, 3, NULL, NULL);
		v[0] = SK_VINT(u->code_id);
		v[1] = SK_VINT(sk_now_ms(p));
		if (u->code_id)
			sk_db_exec(p, "UPDATE orders_stock SET state = 0, order_id = '', unit = 0, updated_ms = ?2 "
				   "WHERE id = ?1 AND state = 1", v, 2, NULL, NULL);
		if (sk_db_commit(p) < 0)
			sk_db_rollback(p);
		else
			cancelled++;
	}
	orders_units_free(&us);
	if (o.delivery == OD_D_PENDING || (o.delivery == OD_D_DELIVERING && cancelled)) {
		char reason[160];

		snprintf(reason, sizeof reason, "cancelled: %s", why);
		if (o.delivery == OD_D_PENDING)
			orders_set_delivery(p, oid, OD_D_CANCELLED, reason);
		sk_log(p, SK_LOG_INFO, "order %s: %d units cancelled: %s", oid, cancelled, why);
		orders_proceed(p, oid);
	}
}

/* Starts a delivery for a trigger (paid, remind, reload, retry), unless one
 * is under way or done. */
static void od_deliver(sk_plugin *p, const char *oid, const char *trigger)
{
	od_state *st = p->ud;
	od_order o;

	if (orders_order_get(p, oid, &o))
		return;
	if (!st->enabled) {
		sk_log(p, SK_LOG_INFO, "order %s: %s, but orders.enabled is false: not delivered", oid, trigger);
		return;
	}
	if (o.state != OD_O_PAID) {
		sk_log(p, SK_LOG_INFO, "order %s: %s ignored: the order is %s", oid, trigger, orders_ostate_name(o.state));
		return;
	}
	if (o.delivery == OD_D_DELIVERING || o.delivery == OD_D_DELIVERED ||
	    (o.delivery == OD_D_PENDING && orders_fly_find(st, oid, OD_FETCH))) {
		sk_log(p, SK_LOG_INFO, "order %s: %s: already %s, nothing more sent", oid, trigger,
		       orders_dstate_name(o.delivery));
		return;
	}
	/* A failed (or cancelled) delivery is tried again by a reminder, a
	 * cancelled refund or a reload, not by the repeats of the payment card. */
	if ((o.delivery == OD_D_FAILED || o.delivery == OD_D_CANCELLED) && !strcmp(trigger, "paid")) {
		sk_log(p, SK_LOG_INFO, "order %s: paid again: the delivery %s before (%s); a reminder card tries again",
		       oid, orders_dstate_name(o.delivery), o.reason);
		return;
	}
	if (orders_set_delivery(p, oid, OD_D_PENDING, "") < 0)
		return;
	sk_log(p, SK_LOG_INFO, "order %s: delivery started (%s)", oid, trigger);
	orders_fetch(p, oid, 1, 0, sk_mono_ms(p));
}

/* Starts a delivery for a trigger other than a card ("pull": the sold
 * orders list), as od_deliver. */
void orders_deliver(sk_plugin *p, const char *oid, const char *trigger)
{
	od_deliver(p, oid, trigger);
}

/* SK_EV_TRADE / SK_EV_MSG_UPDATE with a trade and an order id. */
int orders_on_trade(sk_plugin *p, const sk_event *e, void *ud)
{
	const char *trigger = od_trade_name(e->trade), *oid = e->order_id;
	od_ostate to = od_trade_state(e->trade);
	int64_t now = sk_now_ms(p);
	char note[96] = "";
	od_order o;
	int applied = 0, rc;

	(void)ud;
	if (!p->ud || e->trade == SK_TRADE_NONE || !*oid)
		return SK_PASS;
	if (sk_db_begin(p) < 0)
		return SK_ERR_DB;
	{
		sk_value v[6] = { SK_VTEXT(oid), SK_VTEXT(e->chat_id), SK_VTEXT(e->own ? "" : e->sender_id),
			SK_VTEXT(e->own ? "" : e->sender_name), SK_VINT(now), SK_VTEXT(e->item_id) };

		rc = sk_db_exec(p, "INSERT INTO orders_order (order_id, chat_id, buyer_id, buyer_name, created_ms, "
				"updated_ms, chat_item) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (order_id) DO UPDATE SET "
				"chat_id = CASE WHEN chat_id = '' THEN excluded.chat_id ELSE chat_id END, "
				"buyer_id = CASE WHEN buyer_id = '' THEN excluded.buyer_id ELSE buyer_id END, "
				"buyer_name = CASE WHEN buyer_name = '' THEN excluded.buyer_name ELSE buyer_name END, "
				"chat_item = CASE WHEN chat_item = '' THEN excluded.chat_item ELSE chat_item END",
				v, 6, NULL, NULL);
	}
	if (rc < 0 || (rc = orders_order_get(p, oid, &o)) != 0)
		goto fail;
	if (e->trade == SK_TRADE_REMIND) {
		/* A reminder is no state of its own, but proves the payment. */
		to = od_rank(o.state) < 2 && o.state != OD_O_CLOSED && o.state != OD_O_REFUNDING ? OD_O_PAID : o.state;
	} else if (e->trade == SK_TRADE_REFUND_CANCELLED) {
		to = o.state != OD_O_REFUNDING ? OD_O_NEW : o.prev != OD_O_NEW ? o.prev : OD_O_PAID;
		if (to == OD_O_NEW)
			snprintf(note, sizeof note, "refund cancelled, but the order is not refunding");
	}
	if (to == OD_O_NEW) {
		/* nothing to move to: the transition records the card's name */
	} else if (o.state == to) {
		snprintf(note, sizeof note, "repeat");
	} else if (e->trade != SK_TRADE_REFUND_CANCELLED && !od_legal(o.state, to)) {
		snprintf(note, sizeof note, "illegal: %s -> %s", o.state != OD_O_NEW ? orders_ostate_name(o.state) : "(new)",
			 orders_ostate_name(to));
	} else {
		sk_value v[4] = { SK_VTEXT(orders_ostate_name(to)),
			SK_VTEXT(orders_ostate_name(to == OD_O_REFUNDING ? o.state : o.prev)), SK_VINT(now), SK_VTEXT(oid) };

		if ((rc = sk_db_exec(p, "UPDATE orders_order SET state = ?, prev_state = ?, updated_ms = ? "
				     "WHERE order_id = ?", v, 4, NULL, NULL)) < 0)
			goto fail;
		applied = 1;
	}
	{
		sk_value v[8] = { SK_VTEXT(oid), SK_VTEXT(orders_ostate_name(o.state)),
			SK_VTEXT(to == OD_O_NEW ? trigger : orders_ostate_name(to)), SK_VTEXT(trigger),
			SK_VTEXT(e->message_id), SK_VINT(applied), SK_VTEXT(note), SK_VINT(now) };

		if ((rc = sk_db_exec(p, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, "
				     "message_id, applied, note, ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", v, 8, NULL, NULL)) < 0)
			goto fail;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto fail;
	if (applied)
		sk_log(p, SK_LOG_INFO, "order %s: %s -> %s (%s)", oid,
		       o.state != OD_O_NEW ? orders_ostate_name(o.state) : "(new)", orders_ostate_name(to), trigger);
	else if (strcmp(note, "repeat"))
		sk_log(p, SK_LOG_WARN, "order %s: %s (%s, message %s): not applied", oid, note, trigger, e->message_id);
	if (applied && (to == OD_O_CLOSED || to == OD_O_REFUNDING))
		od_cancel(p, oid, to == OD_O_CLOSED ? "the order was closed" : "the buyer asked for a refund");
	if (e->trade == SK_TRADE_PAID || e->trade == SK_TRADE_REMIND || (applied && e->trade == SK_TRADE_REFUND_CANCELLED))
		od_deliver(p, oid, trigger);
	if (e->trade == SK_TRADE_COMPLETED && (applied || o.state == OD_O_COMPLETED))
		orders_rate_start(p, oid);
	return SK_PASS;
fail:
	sk_db_rollback(p);
	sk_log(p, SK_LOG_ERR, "order %s: cannot record %s: %s", oid, trigger, sk_strerror(p, rc));
	return rc < 0 ? rc : SK_ERR_DB;
}

/* ---- planning: rule, reservation ----------------------------------------------------- */

typedef struct {
	int64_t id;
	char *code;
} od_code;

typedef struct {
	od_code *c;
	size_t n;
	int oom;
} od_codes;

static int od_row_code(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_codes *cs = ud;

	(void)p;
	if (n < 2)
		return 1;
	if (!(cs->c[cs->n].code = strdup(c[1].type == SK_TEXT && c[1].s ? c[1].s : ""))) {
		cs->oom = 1;
		return 1;
	}
	cs->c[cs->n++].id = orders_int(&c[0]);
	return 0;
}

static void od_codes_free(od_codes *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		free(cs->c[i].code);
	free(cs->c);
}

/* The one delivery rule's card for the order, or NULL with the reason. */
const od_card *orders_match(const od_state *st, const od_order *o, char *reason, size_t n)
{
	const od_rule *r = orders_rule_match(st, o, reason, n);

	return r ? orders_card_find(st->rules, r->card) : NULL;
}

/* The one delivery rule for the order (its card exists: the validator saw
 * to it), or NULL with the reason. */
const od_rule *orders_rule_match(const od_state *st, const od_order *o, char *reason, size_t n)
{
	const od_rules *rs = st->rules;
	const od_rule *hit = NULL;
	size_t hits = 0, len;

	for (size_t i = 0; i < rs->nrules; i++)
		if (!strcmp(rs->rules[i].item, o->item) && orders_spec_match(rs->rules[i].spec, o->spec)) {
			hits++;
			hit = hit ? hit : &rs->rules[i];
		}
	if (hits == 1) {
		if (orders_card_find(rs, hit->card))
			return hit;
		snprintf(reason, n, "no_rule: the rule for item %s names card %s, which is not in cards", o->item, hit->card);
		return NULL;
	}
	if (!hits) {
		snprintf(reason, n, "no_rule: no delivery rule for item %s%s%s%s", o->item, *o->spec ? " spec \"" : "",
			 o->spec, *o->spec ? "\"" : " (no spec)");
		return NULL;
	}
	len = (size_t)snprintf(reason, n, "ambiguous: %zu delivery rules match item %s%s%s%s (cards", hits, o->item,
			       *o->spec ? " spec \"" : "", o->spec, *o->spec ? "\"" : "");
	for (size_t i = 0; i < rs->nrules && len < n; i++)
		if (!strcmp(rs->rules[i].item, o->item) && orders_spec_match(rs->rules[i].spec, o->spec))
			len += (size_t)snprintf(reason + len, n - len, " %s", rs->rules[i].card);
	if (len < n)
		snprintf(reason + len, n - len, ")");
	return NULL;
}

/* Renders a unit's content. */
static char *od_render(const od_card *c, const od_order *o, const char *code)
{
	char qty[24];
	const char *vals[] = { code, o->id, o->name, o->item, o->spec, qty };

	snprintf(qty, sizeof qty, "%lld", (long long)o->quantity);
	if (c->type == OD_IMAGE)
		return strdup(c->url);
	return sktext_tmpl_render(c->tmpl, orders_vars, vals);
}

/* The row of unit u among us, NULL when it has none yet. */
static const od_unit *od_unit_at(const od_units *us, int64_t u)
{
	const od_unit *x = NULL;

	for (size_t i = 0; i < us->n; i++)
		if (us->u[i].unit == u)
			x = &us->u[i];
	return x;
}

/* Whether unit row x stays as it is when an order is planned (again):
 * reserved, sending or sent. A failed or cancelled one, or none, is planned. */
static int od_unit_planned(const od_unit *x)
{
	return x && x->state != OD_U_FAILED && x->state != OD_U_CANCELLED;
}

/* Inside the planning's transaction: reserves unit u of order o (attempt
 * number attempt) - its code (code, NULL for a card without stock) taken and
 * its content rendered into a reserved orders_unit row, sent delay_s after
 * now. Returns 0 or <0. */
static int od_reserve_unit(sk_plugin *p, const od_order *o, const od_card *card, int64_t delay_s, int64_t u,
			   int64_t attempt, const od_code *code, int64_t now)
{
	const char *oid = o->id;
	int64_t code_id = code ? code->id : 0;
	char tag[160], *content;
	int rc;

	if (code) {
		sk_value v[4] = { SK_VTEXT(oid), SK_VINT(u), SK_VINT(now), SK_VINT(code->id) };

		if ((rc = sk_db_exec(p, "UPDATE orders_stock SET state = 1, order_id = ?, unit = ?, updated_ms = ? "
				     "WHERE id = ? AND state = 0", v, 4, NULL, NULL)) < 0)
			return rc;
	}
	content = od_render(card, o, code ? code->code : "");
	snprintf(tag, sizeof tag, "order:%s:%lld:%lld", oid, (long long)u, (long long)attempt);
	{
		sk_value v[10] = { SK_VTEXT(oid), SK_VINT(u), SK_VINT(attempt), SK_VTEXT(card->name),
			SK_VTEXT(card->type == OD_IMAGE ? "image" : "text"), SK_VTEXT(content ? content : ""),
			code_id ? SK_VINT(code_id) : SK_VNULL, SK_VTEXT(tag), SK_VINT(now + delay_s * 1000),
			SK_VINT(now) };

		rc = content ? sk_db_exec(p, "INSERT INTO orders_unit (order_id, unit, attempt, card, kind, content, "
					  "code_id, state, tag, send_at_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
					  "?7, 'reserved', ?8, ?9, ?10) ON CONFLICT (order_id, unit) DO UPDATE SET "
					  "attempt = ?3, card = ?4, kind = ?5, content = ?6, code_id = ?7, "
					  "state = 'reserved', tag = ?8, uuid = '', message_id = '', reason = '', "
					  "send_at_ms = ?9, updated_ms = ?10, manual = 0, sent_ms = 0", v, 10, NULL, NULL) :
			  SK_ERR_NOMEM;
	}
	free(content);
	return rc;
}

/* Logs and publishes orders.low_stock when the stock card has fewer free
 * codes than its low_stock. */
static void od_low_stock(sk_plugin *p, const od_card *card)
{
	int64_t have = orders_free_codes(p, card->name);

	if (have >= 0 && have < card->low_stock) {
		cJSON *j = cJSON_CreateObject();

		sk_log(p, SK_LOG_WARN, "card %s: %lld codes left (low_stock %lld)", card->name, (long long)have,
		       (long long)card->low_stock);
		cJSON_AddStringToObject(j, "card", card->name);
		cJSON_AddNumberToObject(j, "available", (double)have);
		cJSON_AddNumberToObject(j, "low_stock", (double)card->low_stock);
		orders_publish(p, "orders.low_stock", j);
	}
}

/* Matches the rule and reserves every unit not delivered yet (and its code),
 * in one transaction; then sends (orders_proceed). */
void orders_plan(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	char reason[512];
	const od_card *card;
	const od_rule *rule;
	od_codes cs = { 0 };
	od_units us = { 0 };
	int64_t need = 0, now = sk_now_ms(p), units, delay_s;
	size_t k = 0;
	od_order o;
	int rc;

	if (orders_order_get(p, oid, &o))
		return;
	if (o.quantity < 1 || o.quantity > st->max_quantity) {
		snprintf(reason, sizeof reason, "quantity: the order is for %lld units; orders.max_quantity is %lld",
			 (long long)o.quantity, (long long)st->max_quantity);
		orders_fail(p, oid, reason);
		return;
	}
	if (!(rule = orders_rule_match(st, &o, reason, sizeof reason)) ||
	    !(card = orders_card_find(st->rules, rule->card))) {
		orders_fail(p, oid, reason);
		return;
	}
	/* The rule's quantity codes per item bought: max_quantity caps the total. */
	units = o.quantity * rule->quantity;
	delay_s = rule->delay_s >= 0 ? rule->delay_s : card->delay_s;
	if (units > st->max_quantity) {
		snprintf(reason, sizeof reason, "quantity: the order is for %lld units (%lld bought x %lld per item); "
			 "orders.max_quantity is %lld", (long long)units, (long long)o.quantity, (long long)rule->quantity,
			 (long long)st->max_quantity);
		orders_fail(p, oid, reason);
		return;
	}
	if ((rc = sk_db_begin(p)) < 0)
		goto dberr;
	if ((rc = orders_units_get(p, oid, &us)) < 0)
		goto dberr;
	/* Units 1..units: those reserved, sending or sent stay as they are. */
	for (int64_t u = 1; u <= units; u++)
		need += od_unit_planned(od_unit_at(&us, u)) ? 0 : 1;
	if (card->type == OD_STOCK && need) {
		sk_value v[2] = { SK_VTEXT(card->name), SK_VINT(need) };

		if (!(cs.c = calloc((size_t)need, sizeof *cs.c)) ||
		    (rc = sk_db_exec(p, "SELECT id, code FROM orders_stock WHERE card = ? AND state = 0 ORDER BY id "
				     "LIMIT ?", v, 2, od_row_code, &cs)) < 0 || cs.oom) {
			rc = rc < 0 ? rc : SK_ERR_NOMEM;
			goto dberr;
		}
		if ((int64_t)cs.n < need) {
			cJSON *j = cJSON_CreateObject();

			sk_db_rollback(p);
			snprintf(reason, sizeof reason, "out_of_stock: card %s has %zu free codes, the order needs %lld",
				 card->name, cs.n, (long long)need);
			cJSON_AddStringToObject(j, "card", card->name);
			cJSON_AddStringToObject(j, "order_id", oid);
			cJSON_AddNumberToObject(j, "needed", (double)need);
			cJSON_AddNumberToObject(j, "available", (double)cs.n);
			orders_publish(p, "orders.out_of_stock", j);
			orders_fail(p, oid, reason);
			goto out;
		}
	}
	for (int64_t u = 1; u <= units; u++) {
		const od_unit *x = od_unit_at(&us, u);

		if (od_unit_planned(x))
			continue;
		if ((rc = od_reserve_unit(p, &o, card, delay_s, u, x ? x->attempt + 1 : 1,
					  card->type == OD_STOCK ? &cs.c[k++] : NULL, now)) < 0)
			goto dberr;
	}
	{
		sk_value v[5] = { SK_VTEXT(card->name),
			SK_VTEXT(orders_cstate_name(st->policy == OD_NEVER ? OD_C_SKIPPED : OD_C_PENDING)), SK_VINT(now),
			SK_VTEXT(oid) };

		if ((rc = sk_db_exec(p, "UPDATE orders_order SET delivery = 'delivering', reason = '', card = ?1, "
				     "confirm = CASE WHEN confirm = 'done' THEN confirm ELSE ?2 END, "
				     "confirm_attempts = 0, updated_ms = ?3 WHERE order_id = ?4", v, 4, NULL, NULL)) < 0)
			goto dberr;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto dberr;
	sk_log(p, SK_LOG_INFO, "order %s: %lld of %lld units reserved (card %s)", oid, (long long)need,
	       (long long)units, card->name);
	orders_step(p, "reserved", oid);
	if (card->type == OD_STOCK)
		od_low_stock(p, card);
	orders_units_free(&us);
	od_codes_free(&cs);
	orders_proceed(p, oid);
	return;
dberr:
	sk_db_rollback(p);
	snprintf(reason, sizeof reason, "send: the reservation failed (database: %s)", sk_strerror(p, rc));
	orders_fail(p, oid, reason);
out:
	orders_units_free(&us);
	od_codes_free(&cs);
}

/* ---- sending ----------------------------------------------------------------------- */

/* A unit's send ended (this run's callback, an earlier run's
 * SK_EV_SEND_RESULT, or the outbox's answer at resume); also the end of a
 * seller's action send with that tag (orders_action_result). Idempotent. */
void orders_unit_result(sk_plugin *p, const char *tag, int ok, const char *detail)
{
	sk_value v = SK_VTEXT(tag);
	od_units us = { 0 };
	od_unit *u;
	int64_t now = sk_now_ms(p);
	char reason[400];
	int rc;

	orders_action_result(p, tag, ok, detail);
	if (sk_db_exec(p, "SELECT " OD_UNIT_COLS " FROM orders_unit WHERE tag = ?", &v, 1, orders_row_unit, &us) < 0 ||
	    !us.n) {
		orders_units_free(&us);
		return;
	}
	u = &us.u[0];
	if (u->state != OD_U_RESERVED && u->state != OD_U_SENDING) {
		orders_units_free(&us);
		return;
	}
	orders_step(p, "acked", u->order);
	if ((rc = sk_db_begin(p)) < 0)
		goto fail;
	snprintf(reason, sizeof reason, "refused: the platform refused the message (%s)", *detail ? detail : "no reason");
	{
		sk_value w[5] = { SK_VTEXT(ok ? "sent" : "failed"), SK_VTEXT(ok ? detail : ""),
			SK_VTEXT(ok ? "" : reason), SK_VTEXT(tag), SK_VINT(ok ? now : 0) };

		if ((rc = sk_db_exec(p, "UPDATE orders_unit SET state = ?1, message_id = ?2, reason = ?3, sent_ms = ?5 "
				     "WHERE tag = ?4", w, 5, NULL, NULL)) < 0)
			goto fail;
	}
	if (u->code_id) {
		sk_value w[2] = { SK_VINT(u->code_id), SK_VINT(now) };

		rc = sk_db_exec(p, ok ? "UPDATE orders_stock SET state = 2, updated_ms = ?2 WHERE id = ?1 AND state = 1" :
				"UPDATE orders_stock SET state = 0, order_id = '', unit = 0, updated_ms = ?2 "
				"WHERE id = ?1 AND state = 1", w, 2, NULL, NULL);
		if (rc < 0)
			goto fail;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto fail;
	if (ok)
		sk_log(p, SK_LOG_INFO, "order %s: unit %lld sent (message %s)", u->order, (long long)u->unit, detail);
	else
		sk_log(p, SK_LOG_WARN, "order %s: unit %lld: %s; its code is free again", u->order, (long long)u->unit,
		       reason);
	orders_step(p, "sent", u->order);
	{
		char oid[64];

		snprintf(oid, sizeof oid, "%s", u->order);
		orders_units_free(&us);
		/* Inside orders_proceed (a result known at once), it counts the units itself. */
		if (!((od_state *)p->ud)->depth)
			orders_proceed(p, oid);
	}
	return;
fail:
	sk_db_rollback(p);
	sk_log(p, SK_LOG_ERR, "order %s: cannot record the result of unit %lld: %s", u->order, (long long)u->unit,
	       sk_strerror(p, rc));
	orders_units_free(&us);
}

static void od_on_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	(void)uuid;
	if (p->ud)
		orders_unit_result(p, ud, ok, detail ? detail : "");
}

/* SK_EV_SEND_RESULT: a send tagged "order:..." moves its unit (sent or
 * refused). Always SK_PASS. */
int orders_on_send_result(sk_plugin *p, const sk_event *e, void *ud)
{
	(void)ud;
	if (p->ud && !strncmp(e->send_tag, "order:", 6))
		orders_unit_result(p, e->send_tag, e->send_ok, e->send_ok ? e->message_id : e->reason);
	return SK_PASS;
}

static void od_on_unit_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	if (p->ud)
		orders_proceed(p, ud);
}

/* Records that the unit's send is uuid (state sending). */
static int od_sending(sk_plugin *p, const od_unit *u, const char *uuid)
{
	sk_value v[3] = { SK_VTEXT(uuid), SK_VINT(sk_now_ms(p)), SK_VTEXT(u->tag) };

	return sk_db_exec(p, "UPDATE orders_unit SET state = 'sending', uuid = ?, updated_ms = ? WHERE tag = ?", v, 3,
			  NULL, NULL);
}

/* Sends a reserved unit, unless the outbox already has its send. Returns 1
 * when a timer will come back for it, else 0. */
static int od_send_unit(sk_plugin *p, const od_order *o, od_unit *u)
{
	char uuid[40] = "", *detail = NULL, *tag;
	int state = 0, rc;

	rc = sk_send_find(p, u->tag, uuid, &state, &detail);
	if (rc == SK_OK) {
		/* Queued before a crash: adopt it, never send again. */
		sk_log(p, SK_LOG_INFO, "order %s: unit %lld was queued before (send %s): not sent again", o->id,
		       (long long)u->unit, uuid);
		od_sending(p, u, uuid);
		if (state)
			orders_unit_result(p, u->tag, state == 1, detail ? detail : "");
		sk_free(p, detail);
		return 0;
	}
	if (rc != SK_ERR_NOTFOUND && rc != SK_ERR_UNSUPPORTED) {
		sk_log(p, SK_LOG_ERR, "order %s: cannot look up unit %lld's send: %s", o->id, (long long)u->unit,
		       sk_strerror(p, rc));
		return 0;
	}
	if (u->send_at > sk_now_ms(p)) {
		char *oid = strdup(o->id);

		if (oid && sk_timer_add(p, (uint64_t)(u->send_at - sk_now_ms(p)), 0, od_on_unit_timer, oid, free,
					NULL) == SK_OK)
			return 1;
		return 0;
	}
	if (!*o->chat && *o->buyer) {
		/* a pulled order: its chat is opened first, then proceed comes back */
		orders_pull_chat(p, o);
		return 0;
	}
	if (!*o->chat || !*o->buyer) {
		orders_unit_result(p, u->tag, 0, "the order has no chat or buyer to send to");
		return 0;
	}
	if (!(tag = strdup(u->tag)))
		return 0;
	if (!strcmp(u->kind, "image")) {
		const od_card *c = orders_card_find(((od_state *)p->ud)->rules, u->card);

		rc = sk_send_image(p, o->chat, o->buyer, u->content, c ? (int)c->w : OD_IMAGE_W,
				   c ? (int)c->h : OD_IMAGE_H, u->tag, od_on_sent, tag, free, uuid);
	}
	else
		rc = sk_send_text(p, o->chat, o->buyer, u->content, u->tag, od_on_sent, tag, free, uuid);
	if (rc != SK_OK) {
		/* Not queued: the unit stays reserved for the next try. */
		sk_log(p, SK_LOG_ERR, "order %s: unit %lld not queued: %s (retried later)", o->id, (long long)u->unit,
		       sk_strerror(p, rc));
		return 0;
	}
	orders_step(p, "send", o->id);
	if (od_sending(p, u, uuid) < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record unit %lld's send %s", o->id, (long long)u->unit, uuid);
	orders_step(p, "sending", o->id);
	return 0;
}

/* ---- shipment confirmation ----------------------------------------------------------- */

static void od_on_confirm_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	if (p->ud) {
		orders_fly_del(p->ud, ud, OD_CONFIRM);
		orders_confirm(p, ud);
	}
}

/* Records how the shipment confirmation ended (done or failed), logs and
 * publishes it, and lets the delivery go on. */
static void od_confirm_end(sk_plugin *p, const char *oid, od_cstate confirm, const char *reason)
{
	sk_value v[4] = { SK_VTEXT(orders_cstate_name(confirm)), SK_VTEXT(reason), SK_VINT(sk_now_ms(p)),
		SK_VTEXT(oid) };

	if (sk_db_exec(p, "UPDATE orders_order SET confirm = ?, confirm_reason = ?, updated_ms = ? WHERE order_id = ?",
		       v, 4, NULL, NULL) < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the confirmation (%s)", oid, orders_cstate_name(confirm));
	if (confirm == OD_C_FAILED) {
		cJSON *j = cJSON_CreateObject();

		sk_log(p, SK_LOG_WARN, "order %s: shipment not confirmed: %s", oid, reason);
		cJSON_AddStringToObject(j, "order_id", oid);
		cJSON_AddStringToObject(j, "reason", reason);
		orders_publish(p, "orders.confirm_failed", j);
	} else {
		sk_log(p, SK_LOG_INFO, "order %s: shipment %s%s%s", oid,
		       confirm == OD_C_DONE ? "confirmed" : orders_cstate_name(confirm),
		       *reason ? ": " : "", reason);
	}
	orders_step(p, "confirmed", oid);
	orders_proceed(p, oid);
}

static void od_on_consign(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_call *c = ud;
	char reason[400];
	od_order o;

	(void)data_json;
	if (!st)
		return;
	orders_fly_del(st, c->oid, OD_CONFIRM);
	if (result == SK_MTOP_OK || strstr(ret, "ORDER_ALREADY_DELIVERY")) {
		od_confirm_end(p, c->oid, OD_C_DONE, result == SK_MTOP_OK ? "" : "already shipped");
		return;
	}
	if (orders_order_get(p, c->oid, &o))
		return;
	if (result == SK_MTOP_SESSION_EXPIRED || result == SK_MTOP_RISK || !strncmp(ret, "FAIL_BIZ", 8) ||
	    o.attempts >= st->confirm_attempts) {
		snprintf(reason, sizeof reason, "confirm: %s%s",
			 result == SK_MTOP_SESSION_EXPIRED ? "session expired: the account needs a new login" :
			 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer",
			 o.attempts >= st->confirm_attempts ? " (after retries)" : "");
		od_confirm_end(p, c->oid, OD_C_FAILED, reason);
		return;
	}
	{
		char *oid = strdup(c->oid);
		int64_t ms = orders_backoff(st, (int)o.attempts);

		sk_log(p, SK_LOG_WARN, "order %s: confirmation failed (%s), retry in %lld ms", c->oid,
		       *ret ? ret : "transport", (long long)ms);
		if (oid && orders_fly_add(st, c->oid, OD_CONFIRM) &&
		    sk_timer_add(p, (uint64_t)ms, 0, od_on_confirm_timer, oid, free, NULL) == SK_OK)
			return;
		orders_fly_del(st, c->oid, OD_CONFIRM);
	}
}

/* Calls consign.dummy for the order (once at a time). */
void orders_confirm(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	char data[160];
	od_call *c;
	int rc;

	if (orders_fly_find(st, oid, OD_CONFIRM))
		return;
	{
		sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

		if (sk_db_exec(p, "UPDATE orders_order SET confirm_attempts = confirm_attempts + 1, updated_ms = ? "
			       "WHERE order_id = ?", v, 2, NULL, NULL) < 0)
			return;
	}
	if (!(c = orders_call_new(oid, 0)) || !orders_fly_add(st, oid, OD_CONFIRM)) {
		orders_call_free(c);
		return;
	}
	snprintf(data, sizeof data, "{\"orderId\":\"%s\",\"tradeText\":\"\",\"picList\":[],\"newUnconsign\":true}", oid);
	if ((rc = sk_mtop(p, OD_API_CONSIGN, data, od_on_consign, c, orders_call_free)) != SK_OK) {
		orders_fly_del(st, oid, OD_CONFIRM);
		sk_log(p, SK_LOG_ERR, "order %s: cannot call the confirmation: %s", oid, sk_strerror(p, rc));
		return;
	}
	orders_step(p, "confirm", oid);
}

/* ---- the delivery's state machine ------------------------------------------------------- */

/* Moves an order's delivery on from whatever is recorded: confirm first
 * (policy before), send the reserved units, settle the sending ones with the
 * outbox, and once no unit is open: delivered (confirm after) or failed. Safe
 * to call any number of times. */
void orders_proceed(sk_plugin *p, const char *oid)
{
	od_state *st = p->ud;
	size_t sent = 0, failed = 0, open = 0, cancelled = 0;
	od_units us;
	od_order o;

	if (orders_order_get(p, oid, &o))
		return;
	if (o.delivery == OD_D_DELIVERED) {
		if (st->policy == OD_AFTER && o.confirm == OD_C_PENDING && o.state != OD_O_CLOSED &&
		    o.state != OD_O_REFUNDING)
			orders_confirm(p, oid);
		else if (o.confirm == OD_C_PENDING && st->policy == OD_AFTER)
			od_confirm_end(p, oid, OD_C_SKIPPED, "the order is closed or refunding");
		else {
			sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

			sk_db_exec(p, "UPDATE orders_unit SET state = 'done', updated_ms = ? WHERE order_id = ? AND "
				   "state = 'sent'", v, 2, NULL, NULL);
		}
		return;
	}
	if (o.delivery != OD_D_DELIVERING)
		return;
	if (st->policy == OD_BEFORE && o.confirm == OD_C_PENDING) {
		if (o.state != OD_O_PAID)
			od_confirm_end(p, oid, OD_C_SKIPPED, "the order is no longer paid");
		else
			orders_confirm(p, oid);
		return;
	}
	if (orders_units_get(p, oid, &us))
		return;
	st->depth++;
	for (size_t i = 0; i < us.n; i++) {
		od_unit *u = &us.u[i];

		if (u->state == OD_U_RESERVED) {
			od_send_unit(p, &o, u);
		} else if (u->state == OD_U_SENDING) {
			int state = 0;
			char *detail = NULL;

			if (sk_send_status(p, u->uuid, &state, &detail) == SK_OK && state)
				orders_unit_result(p, u->tag, state == 1, detail ? detail : "");
			sk_free(p, detail);
		}
	}
	st->depth--;
	orders_units_free(&us);
	/* Count again: the loop above may have settled units. */
	if (orders_units_get(p, oid, &us) || orders_order_get(p, oid, &o) || o.delivery != OD_D_DELIVERING)
		return;
	for (size_t i = 0; i < us.n; i++) {
		const od_unit *u = &us.u[i];

		if (u->state == OD_U_SENT || u->state == OD_U_DONE)
			sent++;
		else if (u->state == OD_U_FAILED)
			failed++;
		else if (u->state == OD_U_CANCELLED)
			cancelled++;
		else
			open++;
	}
	orders_units_free(&us);
	if (open)
		return;
	if (failed || cancelled) {
		char first[400] = "", reason[512];
		sk_value v = SK_VTEXT(oid);

		sk_db_exec(p, "SELECT reason FROM orders_unit WHERE order_id = ? AND state IN ('failed', 'cancelled') "
			   "ORDER BY unit LIMIT 1", &v, 1, orders_row_text, first);
		if (failed) {
			/* keep the unit's kind ("refused: ...") first: retries look at it */
			snprintf(reason, sizeof reason, "%s (%zu of %zu units not delivered)", first, failed,
				 sent + failed + cancelled);
			orders_fail(p, oid, reason);
		} else {
			orders_set_delivery(p, oid, OD_D_CANCELLED, first);
		}
		return;
	}
	{
		cJSON *j = cJSON_CreateObject();

		orders_set_delivery(p, oid, OD_D_DELIVERED, "");
		sk_log(p, SK_LOG_INFO, "order %s: delivered (%zu units)", oid, sent);
		cJSON_AddStringToObject(j, "order_id", oid);
		cJSON_AddNumberToObject(j, "units", (double)sent);
		orders_publish(p, "orders.delivered", j);
		orders_notice(p, oid, OD_N_AFTER);
	}
	orders_proceed(p, oid);
}
