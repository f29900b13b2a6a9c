/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_db.c - the database rows: orders_order and
 * orders_unit read into records, the delivery column written, stock counted.
 */

#include "orders_int.h"

/* Copies text column v into dst (n bytes, cut to fit; "" when not text). */
void orders_cp(char *dst, size_t n, const sk_value *v)
{
	snprintf(dst, n, "%s", v->type == SK_TEXT && v->s ? v->s : "");
}

/* Integer column v, 0 when it is not an integer. */
int64_t orders_int(const sk_value *v)
{
	return v->type == SK_INT ? v->i : 0;
}

/* ---- the states' names: the one place enum and TEXT meet ----------------------- */

/* The TEXT of each state as SQLite holds it, indexed by the enum. */
static const char *const od_ostate_names[] = {
	[OD_O_NEW] = "", [OD_O_PLACED] = "placed", [OD_O_PAID] = "paid", [OD_O_SHIPPED] = "shipped",
	[OD_O_COMPLETED] = "completed", [OD_O_CLOSED] = "closed", [OD_O_REFUNDING] = "refunding",
};
static const char *const od_dstate_names[] = {
	[OD_D_NONE] = "none", [OD_D_PENDING] = "pending", [OD_D_DELIVERING] = "delivering",
	[OD_D_DELIVERED] = "delivered", [OD_D_FAILED] = "failed", [OD_D_CANCELLED] = "cancelled",
};
static const char *const od_cstate_names[] = {
	[OD_C_NONE] = "none", [OD_C_PENDING] = "pending", [OD_C_SKIPPED] = "skipped", [OD_C_DONE] = "done",
	[OD_C_FAILED] = "failed",
};
static const char *const od_ustate_names[] = {
	[OD_U_RESERVED] = "reserved", [OD_U_SENDING] = "sending", [OD_U_SENT] = "sent", [OD_U_DONE] = "done",
	[OD_U_FAILED] = "failed", [OD_U_CANCELLED] = "cancelled",
};

_Static_assert(sizeof od_ostate_names / sizeof od_ostate_names[0] == OD_O_OTHER, "a name per order state");
_Static_assert(sizeof od_dstate_names / sizeof od_dstate_names[0] == OD_D_OTHER, "a name per delivery state");
_Static_assert(sizeof od_cstate_names / sizeof od_cstate_names[0] == OD_C_OTHER, "a name per confirm state");
_Static_assert(sizeof od_ustate_names / sizeof od_ustate_names[0] == OD_U_OTHER, "a name per unit state");

/* The name of state s of a table of n names; "?" for OTHER (never written). */
static const char *od_name(const char *const *names, int n, int s)
{
	return s >= 0 && s < n ? names[s] : "?";
}

/* The index of the name in column value v, or other when it names none. */
static int od_named(const char *const *names, int n, const sk_value *v, int other)
{
	const char *s = v->type == SK_TEXT && v->s ? v->s : "";

	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return other;
}

#define OD_NAMES(t) t, (int)(sizeof t / sizeof t[0])

/* The TEXT of an order state, as orders_order.state holds it. */
const char *orders_ostate_name(od_ostate s)
{
	return od_name(OD_NAMES(od_ostate_names), s);
}

/* The TEXT of a delivery state, as orders_order.delivery holds it. */
const char *orders_dstate_name(od_dstate s)
{
	return od_name(OD_NAMES(od_dstate_names), s);
}

/* The TEXT of a confirm state, as orders_order.confirm holds it. */
const char *orders_cstate_name(od_cstate s)
{
	return od_name(OD_NAMES(od_cstate_names), s);
}

/* The TEXT of a unit state, as orders_unit.state holds it. */
const char *orders_ustate_name(od_ustate s)
{
	return od_name(OD_NAMES(od_ustate_names), s);
}

/* ---- database rows ------------------------------------------------------------ */

static int od_row_order(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_order *o = ud;

	(void)p;
	if (n < 15)
		return 1;
	o->found = 1;
	orders_cp(o->id, sizeof o->id, &c[0]);
	o->state = (od_ostate)od_named(OD_NAMES(od_ostate_names), &c[1], OD_O_OTHER);
	o->prev = (od_ostate)od_named(OD_NAMES(od_ostate_names), &c[2], OD_O_OTHER);
	orders_cp(o->chat, sizeof o->chat, &c[3]);
	orders_cp(o->buyer, sizeof o->buyer, &c[4]);
	orders_cp(o->name, sizeof o->name, &c[5]);
	orders_cp(o->item, sizeof o->item, &c[6]);
	orders_cp(o->spec, sizeof o->spec, &c[7]);
	orders_cp(o->card, sizeof o->card, &c[8]);
	o->delivery = (od_dstate)od_named(OD_NAMES(od_dstate_names), &c[9], OD_D_OTHER);
	o->confirm = (od_cstate)od_named(OD_NAMES(od_cstate_names), &c[10], OD_C_OTHER);
	orders_cp(o->reason, sizeof o->reason, &c[11]);
	o->quantity = orders_int(&c[12]);
	o->attempts = orders_int(&c[13]);
	orders_cp(o->chat_item, sizeof o->chat_item, &c[14]);
	return 1;
}

/* Reads the order; 0 found, 1 not found, <0 a db error. */
int orders_order_get(sk_plugin *p, const char *oid, od_order *o)
{
	sk_value v = SK_VTEXT(oid);
	int rc;

	memset(o, 0, sizeof *o);
	rc = sk_db_exec(p, "SELECT " OD_ORDER_COLS " FROM orders_order WHERE order_id = ?", &v, 1, od_row_order, o);
	return rc < 0 ? rc : !o->found;
}

/* Row callback: appends an orders_unit row (OD_UNIT_COLS) to the
 * od_units in ud; sets its oom and stops when memory runs out. */
int orders_row_unit(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_units *us = ud;
	od_unit *u;

	(void)p;
	if (n < 11)
		return 1;
	if (us->n == us->cap) {
		size_t cap = us->cap ? us->cap * 2 : 4;
		od_unit *g = realloc(us->u, cap * sizeof *g);

		if (!g) {
			us->oom = 1;
			return 1;
		}
		us->u = g;
		us->cap = cap;
	}
	u = &us->u[us->n];
	memset(u, 0, sizeof *u);
	orders_cp(u->order, sizeof u->order, &c[0]);
	u->unit = orders_int(&c[1]);
	u->attempt = orders_int(&c[2]);
	orders_cp(u->card, sizeof u->card, &c[3]);
	orders_cp(u->kind, sizeof u->kind, &c[4]);
	u->state = (od_ustate)od_named(OD_NAMES(od_ustate_names), &c[5], OD_U_OTHER);
	orders_cp(u->tag, sizeof u->tag, &c[6]);
	orders_cp(u->uuid, sizeof u->uuid, &c[7]);
	u->code_id = orders_int(&c[8]);
	u->send_at = orders_int(&c[9]);
	if (!(u->content = strdup(c[10].type == SK_TEXT && c[10].s ? c[10].s : ""))) {
		us->oom = 1;
		return 1;
	}
	us->n++;
	return 0;
}

/* Frees the unit rows read by orders_units_get and empties us. */
void orders_units_free(od_units *us)
{
	for (size_t i = 0; i < us->n; i++)
		free(us->u[i].content);
	free(us->u);
	memset(us, 0, sizeof *us);
}

/* The units of an order (by unit number). 0 or <0. */
int orders_units_get(sk_plugin *p, const char *oid, od_units *us)
{
	sk_value v = SK_VTEXT(oid);
	int rc;

	memset(us, 0, sizeof *us);
	rc = sk_db_exec(p, "SELECT " OD_UNIT_COLS " FROM orders_unit WHERE order_id = ? ORDER BY unit", &v, 1,
			orders_row_unit, us);
	if (rc >= 0 && us->oom)
		rc = SK_ERR_NOMEM;
	if (rc < 0)
		orders_units_free(us);
	return rc < 0 ? rc : 0;
}

/* Sets the order's delivery state and reason. */
int orders_set_delivery(sk_plugin *p, const char *oid, od_dstate delivery, const char *reason)
{
	sk_value v[4] = { SK_VTEXT(orders_dstate_name(delivery)), SK_VTEXT(reason), SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

	return sk_db_exec(p, "UPDATE orders_order SET delivery = ?, reason = ?, updated_ms = ? WHERE order_id = ?",
			  v, 4, NULL, NULL);
}

/* A delivery that cannot go on: recorded, logged and published. */
void orders_fail(sk_plugin *p, const char *oid, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	int rc = orders_set_delivery(p, oid, OD_D_FAILED, reason);

	if (rc < 0)
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the failure (%s): %s", oid, sk_strerror(p, rc), reason);
	sk_log(p, SK_LOG_WARN, "order %s: not delivered: %s", oid, reason);
	cJSON_AddStringToObject(o, "order_id", oid);
	cJSON_AddStringToObject(o, "reason", reason);
	orders_publish(p, "orders.delivery_failed", o);
	orders_notice_failed(p, oid, reason);
}

static int od_row_count(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	*(int64_t *)ud = n > 0 ? orders_int(&c[0]) : 0;
	return 1;
}

/* The first column as text into ud (400 bytes). */
int orders_row_text(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n > 0)
		orders_cp(ud, 400, &c[0]);
	return 1;
}

/* Free codes of a card. */
int64_t orders_free_codes(sk_plugin *p, const char *card)
{
	sk_value v = SK_VTEXT(card);
	int64_t n = 0;

	if (sk_db_exec(p, "SELECT count(*) FROM orders_stock WHERE card = ? AND state = 0", &v, 1, od_row_count, &n) < 0)
		return -1;
	return n;
}

/* Row callback: appends the order id of column 0 to the od_ids in ud
 * (ids->oom set when it cannot grow). */
int orders_row_id(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_ids *ids = ud;

	(void)p;
	if (n < 1)
		return 1;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		void *g = realloc(ids->ids, cap * sizeof *ids->ids);

		if (!g) {
			ids->oom = 1;
			return 1;
		}
		ids->ids = g;
		ids->cap = cap;
	}
	orders_cp(ids->ids[ids->n++], sizeof ids->ids[0], &c[0]);
	return 0;
}

/* The order ids of sql (column 0) with its n params, into *ids (free
 * ids->ids). Returns 0, or a negative sk_rc (SK_ERR_NOMEM when they did not
 * fit) with *ids empty. */
int orders_ids_get(sk_plugin *p, const char *sql, const sk_value *params, size_t n, od_ids *ids)
{
	int rc;

	memset(ids, 0, sizeof *ids);
	rc = sk_db_exec(p, sql, params, n, orders_row_id, ids);
	if (rc >= 0 && ids->oom)
		rc = SK_ERR_NOMEM;
	if (rc < 0) {
		free(ids->ids);
		memset(ids, 0, sizeof *ids);
		return rc;
	}
	return 0;
}
