/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_action.c - what the seller does to an order from the
 * page or the CLI: the control commands order_get (one order and its
 * timeline, built by orders_view.c), order_reveal (a unit's content,
 * logged), and the actions order_retry, order_resend, order_deliver and
 * order_ship.
 *
 * Every action and reveal is a row of orders_action (order, unit, action,
 * actor "page" or "cli", text, ms; a send's tag, uuid, state and detail),
 * logged without any code, and published as "orders.action" {order_id,
 * action, unit, actor} so the page sees it at once.
 *
 * Sends of actions are exactly-once per request, as the units' are: the
 * action row (state "queued", its tag) is committed before the send, whose
 * uuid it gets after; a restart finds a queued row's send by its tag in the
 * outbox (sk_send_find) and adopts it, or makes it once; a row "sending"
 * asks the outbox how it ended. The result (sent with the message id, or
 * failed with the reason) lands in the row: a lost send is visible.
 * A resend's tag is "order:<order>:<unit>:resend:<n>"; a hand delivery's
 * "order:<order>:deliver:<action id>", which is also the tag of the units it
 * delivers (so the units' own result path, orders_unit_result, settles them).
 */

#include "orders_int.h"

#define OD_TEXT_MAX 2000          /* a hand delivery's text, in bytes */
#define OD_UNITS_MAX 10000        /* units an order may have for a hand delivery */

/* ---- actions: records, sends, results ------------------------------------------------------------ */

/* The actor of a request: data's "actor", "cli" or "page" (the default). */
static const char *od_actor(const cJSON *d)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "actor");

	return cJSON_IsString(a) && !strcmp(a->valuestring, "cli") ? "cli" : "page";
}

/* Inserts an orders_action row; its id (>0), or <0. */
static int64_t od_action_add(sk_plugin *p, const char *oid, int64_t unit, const char *action, const char *actor,
			     const char *text, const char *tag, const char *state, const char *detail)
{
	sk_value v[9] = { SK_VTEXT(oid), SK_VINT(unit), SK_VTEXT(action), SK_VTEXT(actor), SK_VTEXT(text),
		SK_VINT(sk_now_ms(p)), SK_VTEXT(tag), SK_VTEXT(state), SK_VTEXT(detail) };
	int rc = sk_db_exec(p, "INSERT INTO orders_action (order_id, unit, action, actor, text, ms, tag, state, detail) "
			    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", v, 9, NULL, NULL);

	return rc < 0 ? rc : sk_db_last_rowid(p);
}

/* Publishes "orders.action" {order_id, action, unit, actor}. */
static void od_action_publish(sk_plugin *p, const char *oid, const char *action, int64_t unit, const char *actor)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "order_id", oid);
	cJSON_AddStringToObject(j, "action", action);
	cJSON_AddNumberToObject(j, "unit", (double)unit);
	cJSON_AddStringToObject(j, "actor", actor);
	orders_publish(p, "orders.action", j);
}

/* The send of an action with tag ended: its row says sent (detail the
 * message id) or failed (detail the reason). Rows already ended stay. */
void orders_action_result(sk_plugin *p, const char *tag, int ok, const char *detail)
{
	sk_value v[3] = { SK_VTEXT(ok ? "sent" : "failed"), SK_VTEXT(detail), SK_VTEXT(tag) };

	if (!*tag)
		return;
	if (sk_db_exec(p, "UPDATE orders_action SET state = ?, detail = ? WHERE tag = ?3 AND tag <> '' AND "
		       "state IN ('queued', 'sending')", v, 3, NULL, NULL) >= 0 && sk_db_changes(p) > 0)
		sk_log(p, SK_LOG_INFO, "action send %s: %s%s%s", tag, ok ? "sent" : "not sent", *detail ? ": " : "", detail);
}

/* An action's send (made in this run) ended: its row, and the units of a
 * hand delivery, take the result. */
static void od_on_action_sent(sk_plugin *p, const char *uuid, int ok, const char *detail, void *ud)
{
	(void)uuid;
	if (p->ud)
		orders_unit_result(p, ud, ok, detail ? detail : "");
}

/* Records that the action send tag is uuid (state sending). */
static void od_action_sending(sk_plugin *p, const char *tag, const char *uuid)
{
	sk_value v[2] = { SK_VTEXT(uuid), SK_VTEXT(tag) };

	sk_db_exec(p, "UPDATE orders_action SET state = 'sending', uuid = ? WHERE tag = ? AND state = 'queued'", v, 2,
		   NULL, NULL);
}

/* Sends content (kind "image": a URL with the card's size) to the order's
 * buyer with tag, unless the outbox has a send of that tag already (then it
 * is adopted). Returns SK_OK with the send's uuid in uuid (40 bytes), or the
 * host's error (not queued). */
static int od_action_send(sk_plugin *p, const od_order *o, const char *kind, const char *card, const char *content,
			  const char *tag, char *uuid)
{
	char *detail = NULL, *t;
	int state = 0, rc;

	rc = sk_send_find(p, tag, uuid, &state, &detail);
	if (rc == SK_OK) {
		sk_log(p, SK_LOG_INFO, "order %s: the send %s was queued before: not sent again", o->id, tag);
		od_action_sending(p, tag, uuid);
		if (state)
			orders_unit_result(p, tag, state == 1, detail ? detail : "");
		sk_free(p, detail);
		return SK_OK;
	}
	if (rc != SK_ERR_NOTFOUND && rc != SK_ERR_UNSUPPORTED)
		return rc;
	if (!(t = strdup(tag)))
		return SK_ERR_NOMEM;
	if (!strcmp(kind, "image")) {
		const od_card *c = orders_card_find(((od_state *)p->ud)->rules, card);

		rc = sk_send_image(p, o->chat, o->buyer, content, c ? (int)c->w : OD_IMAGE_W, c ? (int)c->h : OD_IMAGE_H,
				   tag, od_on_action_sent, t, free, uuid);
	} else {
		rc = sk_send_text(p, o->chat, o->buyer, content, tag, od_on_action_sent, t, free, uuid);
	}
	if (rc == SK_OK)
		od_action_sending(p, tag, uuid);
	return rc;
}

/* A resend row (order_id, unit, tag, state, uuid) for the resume. */
typedef struct {
	char order[64], tag[160], state[16], uuid[40];
	int64_t unit;
} od_pending;

typedef struct {
	od_pending *a;
	size_t n, cap;
	int oom;
} od_pendings;

/* Row callback: appends a resend row to the od_pendings in ud. */
static int od_row_pending(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_pendings *ps = ud;
	od_pending *x;

	(void)p;
	if (n < 5)
		return 1;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 8;
		od_pending *g = realloc(ps->a, cap * sizeof *g);

		if (!g) {
			ps->oom = 1;
			return 1;
		}
		ps->a = g;
		ps->cap = cap;
	}
	x = &ps->a[ps->n++];
	orders_cp(x->order, sizeof x->order, &c[0]);
	x->unit = orders_int(&c[1]);
	orders_cp(x->tag, sizeof x->tag, &c[2]);
	orders_cp(x->state, sizeof x->state, &c[3]);
	orders_cp(x->uuid, sizeof x->uuid, &c[4]);
	return 0;
}

/* After a restart: every resend committed but not ended goes on - queued:
 * its send is found in the outbox (adopted) or made now, once; sending: the
 * outbox says how it ended (a result still to come arrives as
 * SK_EV_SEND_RESULT). Hand deliveries go on with their units
 * (orders_proceed). */
void orders_action_resume(sk_plugin *p)
{
	od_pendings ps = { 0 };

	if (sk_db_exec(p, "SELECT order_id, unit, tag, state, uuid FROM orders_action WHERE action = 'resend' AND "
		       "state IN ('queued', 'sending') ORDER BY id", NULL, 0, od_row_pending, &ps) < 0 || ps.oom) {
		free(ps.a);
		return;
	}
	for (size_t i = 0; i < ps.n && p->ud; i++) {
		od_pending *x = &ps.a[i];
		od_units us;
		od_order o;
		char uuid[40] = "";
		int rc;

		if (!strcmp(x->state, "sending")) {
			int state = 0;
			char *detail = NULL;

			if (sk_send_status(p, x->uuid, &state, &detail) == SK_OK && state)
				orders_unit_result(p, x->tag, state == 1, detail ? detail : "");
			sk_free(p, detail);
			continue;
		}
		if (orders_order_get(p, x->order, &o) || orders_units_get(p, x->order, &us))
			continue;
		for (size_t k = 0; k < us.n; k++)
			if (us.u[k].unit == x->unit) {
				rc = od_action_send(p, &o, us.u[k].kind, us.u[k].card, us.u[k].content, x->tag, uuid);
				if (rc != SK_OK)
					sk_log(p, SK_LOG_ERR, "order %s: resend of unit %lld not queued: %s (retried at the "
					       "next start)", o.id, (long long)x->unit, sk_strerror(p, rc));
			}
		orders_units_free(&us);
	}
	free(ps.a);
}

/* ---- control commands ------------------------------------------------------------------------------ */

/* The order id of data d ("order_id", a non-empty string of digits and
 * letters), or NULL after failing the command (400). */
static const char *od_oid(sk_plugin *p, const char *command, const cJSON *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "order_id");

	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= 64) {
		skctl_fail(p, SK_ERR_INVAL, "%s: order_id must be the id of an order (a string)", command);
		return NULL;
	}
	return v->valuestring;
}

/* Reads the order of data d into o. Returns SK_OK, or an rc after failing
 * the command (400 bad id, 404 unknown order, 500). */
static int od_get(sk_plugin *p, const char *command, const cJSON *d, od_order *o)
{
	const char *oid = od_oid(p, command, d);
	int rc;

	if (!oid)
		return SK_ERR_INVAL;
	if ((rc = orders_order_get(p, oid, o)) < 0)
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	if (rc)
		return skctl_fail(p, SK_ERR_NOTFOUND, "%s: no order %s", command, oid);
	return SK_OK;
}

/* The unit number of data d (required: req), or 0 when absent and not
 * required; -1 after failing the command (400). */
static int64_t od_unit_arg(sk_plugin *p, const char *command, const cJSON *d, int req)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "unit");

	if ((!v || cJSON_IsNull(v)) && req) {
		skctl_fail(p, SK_ERR_INVAL, "%s: unit must be a unit number of the order (1, 2, ...)", command);
		return -1;
	}
	return !v || cJSON_IsNull(v) ? 0 : skctl_count(p, command, d, "unit", 1, OD_UNITS_MAX);
}

/* order_get {order_id}: {"order": {...as in orders_list}, "timeline": [{ms,
 * kind, text}]} (orders_view.c builds both). */
static int od_ctl_get(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d, *o, *order, *tl = NULL;
	od_order od;
	int rc;

	(void)ud;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	rc = od_get(p, command, d, &od);
	cJSON_Delete(d);
	if (rc < 0)
		return rc;
	if (!(order = orders_order_json(p, od.id, &rc)) || !(tl = orders_timeline_json(p, od.id, &rc))) {
		cJSON_Delete(order);
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "order", order);
	cJSON_AddItemToObject(o, "timeline", tl);
	return skctl_answer(p, o);
}

/* The unit row n of us, NULL when none. */
static od_unit *od_unit_of(od_units *us, int64_t n)
{
	for (size_t i = 0; i < us->n; i++)
		if (us->u[i].unit == n)
			return &us->u[i];
	return NULL;
}

/* An order with no chat to send to: a pulled order whose buyer never wrote
 * gets its chat opened now (the seller tries again in a moment). Returns
 * the rc after sk_control_error (409). */
static int od_no_chat(sk_plugin *p, const char *command, const od_order *o)
{
	if (!*o->buyer)
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s has no buyer to send to", command, o->id);
	orders_pull_chat(p, o);
	return skctl_fail(p, SK_ERR_STATE, "%s: order %s has no chat with the buyer yet: opening it now, try again in a "
			  "few seconds", command, o->id);
}

/* The start of a command on one unit ({order_id, unit}): the order into *o,
 * its units into *us (free with orders_units_free), the unit into *u, the
 * actor into *actor. Returns 0, or a negative rc after sk_control_error
 * (*us then empty). */
static int od_unit_cmd(sk_plugin *p, const char *command, const char *data_json, od_order *o, od_units *us,
		       const od_unit **u, const char **actor)
{
	int64_t unit;
	cJSON *d;
	int rc;

	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	*actor = od_actor(d);
	if ((rc = od_get(p, command, d, o)) < 0 || (unit = od_unit_arg(p, command, d, 1)) < 0) {
		cJSON_Delete(d);
		return rc < 0 ? rc : SK_ERR_INVAL;
	}
	cJSON_Delete(d);
	if ((rc = orders_units_get(p, o->id, us)) < 0)
		return skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	if (!(*u = od_unit_of(us, unit))) {
		orders_units_free(us);
		return skctl_fail(p, SK_ERR_NOTFOUND, "%s: order %s has no unit %lld", command, o->id, (long long)unit);
	}
	return 0;
}

/* order_reveal {order_id, unit}: {"order_id", "unit", "content"}, the
 * unit's content as sent (the code in it); recorded and logged (without
 * the content). */
static int od_ctl_reveal(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_units us = { 0 };
	const od_unit *u;
	const char *actor;
	od_order o;
	int64_t unit;
	cJSON *a = NULL;
	int rc;

	(void)ud;
	if ((rc = od_unit_cmd(p, command, data_json, &o, &us, &u, &actor)) < 0)
		return rc;
	unit = u->unit;
	if (od_action_add(p, o.id, unit, "reveal", actor, "", "", "done", "") < 0)
		rc = skctl_fail(p, SK_ERR_DB, "%s: cannot record the reveal: %s", command, sk_strerror(p, SK_ERR_DB));
	if (rc >= 0) {
		/* never the content: the log is not the place for codes */
		sk_log(p, SK_LOG_INFO, "order %s unit %lld code revealed (%s)", o.id, (long long)unit, actor);
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "order_id", o.id);
		cJSON_AddNumberToObject(a, "unit", (double)unit);
		cJSON_AddStringToObject(a, "content", u->content);
		od_action_publish(p, o.id, "reveal", unit, actor);
	}
	orders_units_free(&us);
	return rc < 0 ? rc : skctl_answer(p, a);
}

/* An order's answer {"order_id", "delivery", "confirm", "reason", "ok": true}
 * after an action, the order read again. */
static cJSON *od_answer(sk_plugin *p, const char *oid)
{
	cJSON *a = cJSON_CreateObject();
	od_order o;

	cJSON_AddStringToObject(a, "order_id", oid);
	if (!orders_order_get(p, oid, &o)) {
		cJSON_AddStringToObject(a, "delivery", orders_dstate_name(o.delivery));
		cJSON_AddStringToObject(a, "confirm", orders_cstate_name(o.confirm));
		cJSON_AddStringToObject(a, "reason", o.reason);
	}
	cJSON_AddBoolToObject(a, "ok", 1);
	return a;
}

/* Whether a failed delivery's reason says the order detail must be read
 * again (it never passed the detail check) rather than planned again. */
static int od_needs_detail(const od_order *o)
{
	return !*o->item || !strncmp(o->reason, "detail:", 7) || !strncmp(o->reason, "unpaid:", 7) ||
	       !strncmp(o->reason, "mismatch:", 9);
}

/* order_retry {order_id}: a delivery that failed (waiting for stock, no
 * rule, a refused send...) or never started is tried again now - planned
 * again, or its order detail read again when it failed before the check;
 * a shipment confirmation that failed is made again. 409 when the order is
 * not paid, is being delivered, or was delivered (and confirmed). */
static int od_ctl_retry(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	const char *actor;
	od_order o;
	cJSON *d;
	int rc, confirm = 0;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	actor = od_actor(d);
	rc = od_get(p, command, d, &o);
	cJSON_Delete(d);
	if (rc < 0)
		return rc;
	if (!st->enabled)
		return skctl_fail(p, SK_ERR_STATE, "%s: orders.enabled is false: nothing is delivered", command);
	if (o.confirm == OD_C_FAILED && (o.delivery == OD_D_DELIVERED || st->policy == OD_BEFORE)) {
		if (orders_fly_find(st, o.id, OD_CONFIRM))
			return skctl_fail(p, SK_ERR_STATE, "%s: order %s: a shipment confirmation is under way", command, o.id);
		confirm = 1;
	} else if (o.delivery == OD_D_DELIVERED) {
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s: already delivered%s", command, o.id,
				  o.confirm == OD_C_FAILED ? "" : " (order_resend sends a unit again)");
	} else if (o.delivery == OD_D_DELIVERING || o.delivery == OD_D_PENDING) {
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s is being delivered now (%s)", command, o.id,
				  orders_dstate_name(o.delivery));
	} else if (o.state != OD_O_PAID) {
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s is %s, not paid: nothing to deliver", command, o.id,
				  o.state == OD_O_NEW ? "not placed yet" : orders_ostate_name(o.state));
	}
	{
		int64_t id = od_action_add(p, o.id, 0, "retry", actor, o.reason, "", "done", confirm ? "confirm" : "");

		if (id < 0)
			return skctl_fail(p, SK_ERR_DB, "%s: cannot record the action: %s", command, sk_strerror(p, SK_ERR_DB));
	}
	sk_log(p, SK_LOG_INFO, "order %s: %s tried again by the seller (%s)%s%s", o.id,
	       confirm ? "the shipment confirmation" : "the delivery", actor, *o.reason ? ": was " : "", o.reason);
	if (confirm) {
		sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(o.id) };

		sk_db_exec(p, "UPDATE orders_order SET confirm = 'pending', confirm_attempts = 0, confirm_reason = '', "
			   "updated_ms = ? WHERE order_id = ?", v, 2, NULL, NULL);
		orders_confirm(p, o.id);
	} else if (od_needs_detail(&o)) {
		orders_set_delivery(p, o.id, OD_D_PENDING, "");
		orders_fetch(p, o.id, 1, 0, sk_mono_ms(p));
	} else {
		orders_plan(p, o.id);
	}
	od_action_publish(p, o.id, "retry", 0, actor);
	return skctl_answer(p, od_answer(p, o.id));
}

/* order_resend {order_id, unit}: the unit's content, as sent, in a new
 * message (the same code). 409 for a unit never sent. */
static int od_ctl_resend(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_units us = { 0 };
	const od_unit *u;
	const char *actor;
	char tag[160], uuid[40] = "", nbuf[400] = "";
	od_order o;
	int64_t unit;
	cJSON *a;
	int rc;

	(void)ud;
	if (!p->ud)
		return SK_ERR_STATE;
	if ((rc = od_unit_cmd(p, command, data_json, &o, &us, &u, &actor)) < 0)
		return rc;
	unit = u->unit;
	if (u->state != OD_U_SENT && u->state != OD_U_DONE)
		rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s unit %lld was never sent (it is %s): nothing to send again",
				command, o.id, (long long)unit, orders_ustate_name(u->state));
	else if (!*o.chat || !*o.buyer)
		rc = od_no_chat(p, command, &o);
	if (rc < 0) {
		orders_units_free(&us);
		return rc;
	}
	{
		sk_value v[2] = { SK_VTEXT(o.id), SK_VINT(unit) };

		sk_db_exec(p, "SELECT CAST(count(*) + 1 AS TEXT) FROM orders_action WHERE order_id = ? AND unit = ? AND "
			   "action = 'resend'", v, 2, orders_row_text, nbuf);
	}
	snprintf(tag, sizeof tag, "order:%s:%lld:resend:%s", o.id, (long long)unit, nbuf);
	/* The row first, committed: a restart finds it and its send by the tag. */
	if ((rc = sk_db_begin(p)) < 0 || od_action_add(p, o.id, unit, "resend", actor, "", tag, "queued", "") < 0 ||
	    (rc = sk_db_commit(p)) < 0) {
		sk_db_rollback(p);
		orders_units_free(&us);
		return skctl_fail(p, rc < 0 ? rc : SK_ERR_DB, "%s: cannot record the action: %s", command,
				  sk_strerror(p, rc < 0 ? rc : SK_ERR_DB));
	}
	rc = od_action_send(p, &o, u->kind, u->card, u->content, tag, uuid);
	orders_units_free(&us);
	if (rc != SK_OK) {
		char why[200];

		snprintf(why, sizeof why, "not queued: %s", sk_strerror(p, rc));
		orders_action_result(p, tag, 0, why);
		return skctl_fail(p, rc == SK_ERR_INVAL ? SK_ERR_INVAL : SK_ERR_STATE, "%s: order %s unit %lld: %s",
				  command, o.id, (long long)unit, why);
	}
	sk_log(p, SK_LOG_INFO, "order %s: unit %lld sent again by the seller (%s), send %s", o.id, (long long)unit, actor,
	       uuid);
	od_action_publish(p, o.id, "resend", unit, actor);
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "order_id", o.id);
	cJSON_AddNumberToObject(a, "unit", (double)unit);
	cJSON_AddStringToObject(a, "uuid", uuid);
	cJSON_AddBoolToObject(a, "ok", 1);
	return skctl_answer(p, a);
}

/* Inside order_deliver's transaction: unit u (row x, NULL when it has none)
 * becomes a hand delivery of text with tag: a reserved code goes back to the
 * free stock (*released counts it). Returns 0 or <0. */
static int od_deliver_unit(sk_plugin *p, const od_order *o, int64_t u, const od_unit *x, const char *text,
			   const char *tag, int64_t *released)
{
	int64_t now = sk_now_ms(p);
	int rc;

	if (x && x->code_id && x->state == OD_U_RESERVED) {
		sk_value v[2] = { SK_VINT(x->code_id), SK_VINT(now) };

		if ((rc = sk_db_exec(p, "UPDATE orders_stock SET state = 0, order_id = '', unit = 0, updated_ms = ?2 "
				     "WHERE id = ?1 AND state = 1", v, 2, NULL, NULL)) < 0)
			return rc;
		*released += sk_db_changes(p);
	}
	{
		sk_value v[5] = { SK_VTEXT(o->id), SK_VINT(u), SK_VTEXT(text), SK_VTEXT(tag), SK_VINT(now) };

		return sk_db_exec(p, "INSERT INTO orders_unit (order_id, unit, attempt, card, kind, content, code_id, state, "
				  "tag, send_at_ms, updated_ms, manual) VALUES (?1, ?2, 1, '', 'text', ?3, NULL, 'reserved', "
				  "?4, ?5, ?5, 1) ON CONFLICT (order_id, unit) DO UPDATE SET attempt = attempt + 1, card = '', "
				  "kind = 'text', content = ?3, code_id = NULL, state = 'reserved', tag = ?4, uuid = '', "
				  "message_id = '', reason = '', send_at_ms = ?5, updated_ms = ?5, manual = 1", v, 5, NULL, NULL);
	}
}

/* order_deliver {order_id, text, unit?}: the seller's hand delivery: text is
 * sent to the buyer in one message and recorded as the delivery of the unit
 * (or of every unit not delivered yet), each marked manual; a code reserved
 * for them goes back to the free stock. The order is delivered once all its
 * units are. Answers {"order_id", "units": [..], "released", "uuid", "ok"}. */
static int od_ctl_deliver(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_units us = { 0 };
	const cJSON *t;
	const char *actor;
	char tag[160], uuid[40] = "", *text = NULL;
	int64_t unit, n, released = 0, id = 0;
	cJSON *d, *a, *list = cJSON_CreateArray();
	od_order o;
	int rc;

	(void)ud;
	if (!st || !list) {
		cJSON_Delete(list);
		return !st ? SK_ERR_STATE : SK_ERR_NOMEM;
	}
	if (!(d = skctl_data(p, command, data_json))) {
		cJSON_Delete(list);
		return SK_ERR_INVAL;
	}
	actor = od_actor(d);
	t = cJSON_GetObjectItemCaseSensitive(d, "text");
	if ((rc = od_get(p, command, d, &o)) >= 0 && (unit = od_unit_arg(p, command, d, 0)) < 0)
		rc = SK_ERR_INVAL;
	else if (rc >= 0 && (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) > OD_TEXT_MAX))
		rc = skctl_fail(p, SK_ERR_INVAL, "%s: text must be what the buyer gets, 1 to %d bytes", command, OD_TEXT_MAX);
	else if (rc >= 0 && !(text = strdup(t->valuestring)))
		rc = skctl_fail(p, SK_ERR_NOMEM, "%s: %s", command, sk_strerror(p, SK_ERR_NOMEM));
	cJSON_Delete(d);
	if (rc < 0)
		goto out;
	n = o.quantity < 1 ? 1 : o.quantity;
	if (o.state != OD_O_PAID && o.state != OD_O_SHIPPED && o.state != OD_O_COMPLETED)
		rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s is %s: nothing to deliver", command, o.id,
				o.state == OD_O_NEW || o.state == OD_O_PLACED ? "not paid" : orders_ostate_name(o.state));
	else if (!*o.chat || !*o.buyer)
		rc = od_no_chat(p, command, &o);
	else if (n > OD_UNITS_MAX || unit > n)
		rc = skctl_fail(p, unit > n ? SK_ERR_NOTFOUND : SK_ERR_STATE, "%s: order %s has %lld units%s", command,
				o.id, (long long)n, unit > n ? "" : ", too many to deliver by hand");
	else if (o.delivery == OD_D_PENDING)
		rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s is waiting for its order detail; retry later", command, o.id);
	else if ((rc = orders_units_get(p, o.id, &us)) < 0)
		rc = skctl_fail(p, rc, "%s: %s", command, sk_strerror(p, rc));
	if (rc < 0)
		goto out;
	/* Which units: the one asked for, or every one not delivered; none in flight. */
	for (int64_t u = unit ? unit : 1; u <= (unit ? unit : n); u++) {
		const od_unit *x = od_unit_of(&us, u);

		if (x && (x->state == OD_U_SENT || x->state == OD_U_DONE)) {
			if (unit) {
				rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s unit %lld is delivered already (order_resend "
						"sends it again)", command, o.id, (long long)u);
				goto out;
			}
			continue;
		}
		if (x && (x->state == OD_U_SENDING ||
			  (x->state == OD_U_RESERVED && sk_send_find(p, x->tag, NULL, NULL, NULL) == SK_OK))) {
			rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s unit %lld is being sent now; wait for its result",
					command, o.id, (long long)u);
			goto out;
		}
		cJSON_AddItemToArray(list, cJSON_CreateNumber((double)u));
	}
	if (!cJSON_GetArraySize(list)) {
		rc = skctl_fail(p, SK_ERR_STATE, "%s: order %s: already delivered (order_resend sends a unit again)",
				command, o.id);
		goto out;
	}
	if ((rc = sk_db_begin(p)) < 0 || (id = od_action_add(p, o.id, unit, "deliver", actor, text, "", "queued", "")) < 0) {
		rc = rc < 0 ? rc : (int)id;
		goto dberr;
	}
	snprintf(tag, sizeof tag, "order:%s:deliver:%lld", o.id, (long long)id);
	{
		sk_value v[2] = { SK_VTEXT(tag), SK_VINT(id) };

		if ((rc = sk_db_exec(p, "UPDATE orders_action SET tag = ? WHERE id = ?", v, 2, NULL, NULL)) < 0)
			goto dberr;
	}
	{
		const cJSON *e;

		cJSON_ArrayForEach(e, list)
			if ((rc = od_deliver_unit(p, &o, (int64_t)e->valuedouble, od_unit_of(&us, (int64_t)e->valuedouble),
						  text, tag, &released)) < 0)
				goto dberr;
	}
	{
		sk_value v[3] = { SK_VTEXT(orders_cstate_name(st->policy == OD_NEVER ? OD_C_SKIPPED : OD_C_PENDING)),
			SK_VINT(sk_now_ms(p)), SK_VTEXT(o.id) };

		/* confirm: as a planned delivery does, unless it is done; a "before"
		 * policy confirms first (orders_proceed), as for any delivery */
		if ((rc = sk_db_exec(p, "UPDATE orders_order SET delivery = 'delivering', reason = '', "
				     "confirm = CASE WHEN confirm = 'done' OR state <> 'paid' THEN confirm ELSE ?1 END, "
				     "confirm_attempts = 0, updated_ms = ?2 WHERE order_id = ?3", v, 3, NULL, NULL)) < 0)
			goto dberr;
	}
	if ((rc = sk_db_commit(p)) < 0)
		goto dberr;
	sk_log(p, SK_LOG_INFO, "order %s: delivered by hand by the seller (%s): %d units%s", o.id, actor,
	       cJSON_GetArraySize(list), released ? ", their reserved codes free again" : "");
	/* One message for the units; the outbox's send is theirs (same tag). */
	if (st->policy != OD_BEFORE || o.confirm == OD_C_DONE || o.state != OD_O_PAID) {
		rc = od_action_send(p, &o, "text", "", text, tag, uuid);
		if (rc == SK_OK) {
			sk_value v[3] = { SK_VTEXT(uuid), SK_VINT(sk_now_ms(p)), SK_VTEXT(tag) };

			sk_db_exec(p, "UPDATE orders_unit SET state = 'sending', uuid = ?, updated_ms = ? WHERE tag = ? AND "
				   "state = 'reserved'", v, 3, NULL, NULL);
		} else {
			/* not queued: the units stay reserved, orders_proceed tries again */
			sk_log(p, SK_LOG_WARN, "order %s: the hand delivery is not queued yet: %s (tried again)", o.id,
			       sk_strerror(p, rc));
		}
	}
	orders_proceed(p, o.id);
	od_action_publish(p, o.id, "deliver", unit, actor);
	a = od_answer(p, o.id);
	cJSON_AddItemToObject(a, "units", list);
	list = NULL;
	cJSON_AddNumberToObject(a, "released", (double)released);
	cJSON_AddStringToObject(a, "uuid", uuid);
	rc = skctl_answer(p, a);
	goto out;
dberr:
	sk_db_rollback(p);
	rc = skctl_fail(p, rc, "%s: not recorded: %s", command, sk_strerror(p, rc));
out:
	orders_units_free(&us);
	cJSON_Delete(list);
	free(text);
	return rc;
}

/* order_ship {order_id}: confirms the shipment now (consign.dummy, through
 * the confirmation's own path, retries included). 409 when the order is not
 * paid, is shipped already, or a confirmation is under way. */
static int od_ctl_ship(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	const char *actor;
	od_order o;
	cJSON *d;
	int rc;

	(void)ud;
	if (!st)
		return SK_ERR_STATE;
	if (!(d = skctl_data(p, command, data_json)))
		return SK_ERR_INVAL;
	actor = od_actor(d);
	rc = od_get(p, command, d, &o);
	cJSON_Delete(d);
	if (rc < 0)
		return rc;
	if (o.confirm == OD_C_DONE || o.state == OD_O_SHIPPED || o.state == OD_O_COMPLETED)
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s is shipped already", command, o.id);
	if (o.state != OD_O_PAID)
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s is %s, not paid: nothing to ship", command, o.id,
				  o.state == OD_O_NEW ? "not placed yet" : orders_ostate_name(o.state));
	if (orders_fly_find(st, o.id, OD_CONFIRM))
		return skctl_fail(p, SK_ERR_STATE, "%s: order %s: a shipment confirmation is under way", command, o.id);
	if (od_action_add(p, o.id, 0, "ship", actor, "", "", "done", "") < 0)
		return skctl_fail(p, SK_ERR_DB, "%s: cannot record the action: %s", command, sk_strerror(p, SK_ERR_DB));
	{
		sk_value v[2] = { SK_VINT(sk_now_ms(p)), SK_VTEXT(o.id) };

		sk_db_exec(p, "UPDATE orders_order SET confirm = 'pending', confirm_attempts = 0, confirm_reason = '', "
			   "updated_ms = ? WHERE order_id = ?", v, 2, NULL, NULL);
	}
	sk_log(p, SK_LOG_INFO, "order %s: shipment confirmed by the seller (%s)", o.id, actor);
	orders_confirm(p, o.id);
	od_action_publish(p, o.id, "ship", 0, actor);
	return skctl_answer(p, od_answer(p, o.id));
}

static const skctl_row od_action_controls[] = {
	{ "order_get", "{order_id}: one order and its timeline", od_ctl_get },
	{ "order_reveal", "{order_id, unit}: a unit's content as sent (logged)", od_ctl_reveal },
	{ "order_retry", "{order_id}: tries a failed delivery or shipment confirmation again now", od_ctl_retry },
	{ "order_resend", "{order_id, unit}: sends a unit's content again in a new message", od_ctl_resend },
	{ "order_deliver", "{order_id, text, unit}: the seller's hand delivery of the unit (or every one left)",
	  od_ctl_deliver },
	{ "order_ship", "{order_id}: confirms the shipment now", od_ctl_ship },
};

/* Registers the order commands (a refused one is logged and left out). */
void orders_action_controls_add(sk_plugin *p)
{
	skctl_add_all(p, od_action_controls, sizeof od_action_controls / sizeof od_action_controls[0]);
}
