/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_notice.c - the buyer notices of the rules'
 * "notices": waiting_stock (the order waits for codes), cannot_deliver (it
 * needs the seller) and after_delivery (every unit sent; a card's own
 * after_delivery replaces the text and image), each at most once per order.
 *
 * Exactly once: the decision is a row of orders_notice (UNIQUE order_id,
 * kind), written in the loop turn that queues the send, tagged
 * "<order>:notice:<kind>" (":image" appended for after_delivery's image);
 * the turn commits both or neither. A row whose send could not be queued
 * (uuid still "") is sent by orders_notice_resume (at start and every
 * retry_s), which first asks the outbox for the tag (sk_send_find), so a
 * notice is never queued twice.
 */

#include "orders_int.h"

static int od_row_title(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	if (n > 0)
		orders_cp(ud, 256, &c[0]);
	return 1;
}

static int od_row_exists(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	(void)p;
	(void)c;
	*(int *)ud = n > 0;
	return 1;
}

/* The item's title from the items plugin's table items_item (256 bytes into
 * out), "" when that plugin is not there or does not know the item. */
static void od_item_title(sk_plugin *p, const char *iid, char *out)
{
	sk_value v = SK_VTEXT(iid);
	int have = 0;

	out[0] = '\0';
	if (!*iid || sk_db_exec(p, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items_item'", NULL, 0,
				od_row_exists, &have) < 0 || !have)
		return;
	sk_db_exec(p, "SELECT title FROM items_item WHERE item_id = ?", &v, 1, od_row_title, out);
}

/* Renders a notice's (or a rating's) template for order o with
 * orders_notice_vars. Returns a malloc'd string, NULL without memory. */
char *orders_notice_render(sk_plugin *p, const char *tmpl, const od_order *o)
{
	char qty[24], title[256];
	const char *vals[] = { o->id, o->name, o->item, o->spec, qty, title };

	snprintf(qty, sizeof qty, "%lld", (long long)o->quantity);
	od_item_title(p, o->item, title);
	return sktext_tmpl_render(tmpl, orders_notice_vars, vals);
}

/* What notice kind says to order o: its text and image (either may be NULL;
 * both NULL: nothing to send). */
static void od_notice_what(const od_state *st, const od_order *o, od_nkind kind, const char **text,
			   const char **image)
{
	const od_notice *no = &st->rules->notices[kind];
	const od_card *c;

	*text = no->text;
	*image = no->image;
	if (kind == OD_N_AFTER && *o->card && (c = orders_card_find(st->rules, o->card)) &&
	    (c->after_text || c->after_image)) {
		*text = c->after_text;
		*image = c->after_image;
	}
}

/* Queues the parts (text, image) of notice kind for order o that the
 * outbox does not have yet, and records the uuid once every part is queued.
 * Returns 0, or -1 when a part is still to be queued (tried again later). */
static int od_notice_send(sk_plugin *p, const od_order *o, od_nkind kind)
{
	const char *kname = orders_notice_names[kind], *text, *image;
	char tag[160], uuid[40] = "", first[40] = "";
	int missing = 0, rc;

	od_notice_what(p->ud, o, kind, &text, &image);
	for (int part = 0; part < 2; part++) {
		const char *what = part ? image : text;
		char *body;

		if (!what)
			continue;
		snprintf(tag, sizeof tag, "%s:notice:%s%s", o->id, kname, part ? ":image" : "");
		rc = sk_send_find(p, tag, uuid, NULL, NULL);
		if (rc == SK_OK) {
			/* queued before (a crash, or the last try): never again */
		} else if (rc != SK_ERR_NOTFOUND && rc != SK_ERR_UNSUPPORTED) {
			sk_log(p, SK_LOG_ERR, "order %s: cannot look up the %s notice's send: %s", o->id, kname,
			       sk_strerror(p, rc));
			missing++;
			continue;
		} else if (part) {
			rc = sk_send_image(p, o->chat, o->buyer, image, OD_IMAGE_W, OD_IMAGE_H, tag, NULL, NULL, NULL, uuid);
		} else if (!(body = orders_notice_render(p, text, o))) {
			rc = SK_ERR_NOMEM;
		} else {
			rc = sk_send_text(p, o->chat, o->buyer, body, tag, NULL, NULL, NULL, uuid);
			free(body);
		}
		if (rc != SK_OK) {
			sk_log(p, SK_LOG_ERR, "order %s: the %s notice was not queued: %s (tried again later)", o->id,
			       kname, sk_strerror(p, rc));
			missing++;
			continue;
		}
		if (!*first)
			snprintf(first, sizeof first, "%s", uuid);
	}
	if (missing)
		return -1;
	{
		sk_value v[3] = { SK_VTEXT(*first ? first : "-"), SK_VTEXT(o->id), SK_VTEXT(kname) };

		if (sk_db_exec(p, "UPDATE orders_notice SET uuid = ? WHERE order_id = ? AND kind = ?", v, 3, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

/* Sends the buyer of order oid the notice kind, unless it is off, has
 * nothing to say, or was decided for this order before (then nothing). */
void orders_notice(sk_plugin *p, const char *oid, od_nkind kind)
{
	od_state *st = p->ud;
	const char *kname = orders_notice_names[kind], *text, *image;
	od_order o;

	if (!st || !st->rules->notices[kind].enabled || orders_order_get(p, oid, &o))
		return;
	od_notice_what(st, &o, kind, &text, &image);
	if (!text && !image)
		return;
	if (!*o.buyer) {
		sk_log(p, SK_LOG_WARN, "order %s: no buyer to send the %s notice to", oid, kname);
		return;
	}
	{
		sk_value v[3] = { SK_VTEXT(oid), SK_VTEXT(kname), SK_VINT(sk_now_ms(p)) };

		if (sk_db_exec(p, "INSERT INTO orders_notice (order_id, kind, ms) VALUES (?, ?, ?) "
			       "ON CONFLICT (order_id, kind) DO NOTHING", v, 3, NULL, NULL) < 0)
			return;
	}
	if (sk_db_changes(p) != 1) {
		sk_log(p, SK_LOG_INFO, "order %s: the %s notice was sent before: not again", oid, kname);
		return;
	}
	if (!*o.chat) {
		/* a pulled order whose buyer never wrote: the notice is decided
		 * (its row holds no uuid yet) and goes once the chat is open */
		sk_log(p, SK_LOG_INFO, "order %s: the %s notice waits for the chat with the buyer", oid, kname);
		orders_pull_chat(p, &o);
		return;
	}
	if (!od_notice_send(p, &o, kind))
		sk_log(p, SK_LOG_INFO, "order %s: %s notice sent to the buyer", oid, kname);
}

/* A delivery failed with reason ("<kind>: ..."): an order waiting for stock
 * gets waiting_stock; one the bot cannot deliver by itself (no or an
 * ambiguous rule, too many units, a refused send, an unreadable detail, a
 * failed reservation) gets cannot_deliver. Not for unpaid or mismatched
 * orders, whose buyer may not be the one who paid. */
void orders_notice_failed(sk_plugin *p, const char *oid, const char *reason)
{
	static const char *const cannot[] = { "no_rule:", "ambiguous:", "quantity:", "refused:", "send:", "detail:",
		NULL };

	if (!strncmp(reason, "out_of_stock:", 13)) {
		orders_notice(p, oid, OD_N_WAITING);
		return;
	}
	for (int i = 0; cannot[i]; i++)
		if (!strncmp(reason, cannot[i], strlen(cannot[i]))) {
			orders_notice(p, oid, OD_N_CANNOT);
			return;
		}
}

typedef struct {
	char (*row)[2][64];
	size_t n, cap;
	int oom;
} od_pairs;

static int od_row_pair(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	od_pairs *ps = ud;

	(void)p;
	if (n < 2)
		return 1;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 8;
		void *g = realloc(ps->row, cap * sizeof *ps->row);

		if (!g) {
			ps->oom = 1;
			return 1;
		}
		ps->row = g;
		ps->cap = cap;
	}
	orders_cp(ps->row[ps->n][0], 64, &c[0]);
	orders_cp(ps->row[ps->n][1], 64, &c[1]);
	ps->n++;
	return 0;
}

/* Queues the notices decided but not queued (their uuid is ""), e.g. when
 * the outbox was full; the outbox is asked first, so none goes twice. */
void orders_notice_resume(sk_plugin *p)
{
	od_pairs ps = { 0 };

	if (!p->ud || sk_db_exec(p, "SELECT order_id, kind FROM orders_notice WHERE uuid = '' ORDER BY ms", NULL, 0,
				 od_row_pair, &ps) < 0) {
		free(ps.row);
		return;
	}
	for (size_t i = 0; i < ps.n && p->ud; i++) {
		od_order o;
		int k;

		for (k = 0; k < OD_N_COUNT && strcmp(orders_notice_names[k], ps.row[i][1]); k++)
			;
		if (k == OD_N_COUNT || orders_order_get(p, ps.row[i][0], &o))
			continue;
		if (!*o.chat) {
			orders_pull_chat(p, &o);
			continue;
		}
		if (!od_notice_send(p, &o, (od_nkind)k))
			sk_log(p, SK_LOG_INFO, "order %s: %s notice sent to the buyer (after a delay)", o.id, ps.row[i][1]);
	}
	free(ps.row);
}
