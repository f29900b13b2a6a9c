/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders.c - order state from trade cards, and exactly-once
 * auto-delivery of virtual goods (card codes, fixed texts, images).
 *
 * Order state. Every trade card (SK_EV_TRADE, and SK_EV_MSG_UPDATE when it
 * carries one) with an order id moves the order in orders_order:
 *     placed -> paid -> shipped -> completed   (forward jumps allowed)
 *     any but closed -> closed;  paid/shipped/completed -> refunding;
 *     refunding -> refund_cancelled = back to the state before it.
 * Each attempt is a row of orders_transition with the message id that caused
 * it, applied or not (an illegal one - back to placed, out of closed - is
 * logged and recorded, never applied; a repeat is recorded as such).
 *
 * Delivery. A paid card, or the reminder [记得及时发货] of an order not yet
 * delivered, starts a delivery: the order detail (quantity, spec, buyer,
 * item) comes from mtop.idle.web.trade.order.detail. The card alone proves
 * nothing: the detail must say paid (its 已付款 status node completed, the
 * order neither closed nor in refund), its buyer must be the card's sender
 * and its item the chat's (else "mismatch", at once). A detail that does
 * not say paid yet - it can lag the card by seconds - keeps the order
 * pending ("waiting: ...") and is asked again after 2, 4, 8... s (at most
 * 60 s apart) for paid_wait_s; then, or at once for a closed order, the
 * delivery fails as "unpaid". The rules file's "delivery" list must have
 * exactly one rule for the item and its spec (otherwise nothing is sent and
 * the reason is "no_rule"; "ambiguous" cannot pass the validator any more,
 * which refuses two rules one order would match, but stays as a backstop);
 * the rule names a card of "cards", which makes one unit per quantity:
 *
 *   {"cards": [{"name": "vip-month", "type": "stock", "template": "Your code: {code}",
 *               "delay_s": 0, "low_stock": 5}],
 *    "delivery": [{"item_id": "40004", "spec": null, "card": "vip-month"}]}
 *
 *   type     text  (template sent as is), stock (one code of orders_stock per
 *            unit, {code} in the template; default template "{code}"), image
 *            ("url", optional "width"/"height", default 800x600)
 *   template variables {code} {order_id} {buyer_name} {item_id} {spec} {quantity}
 *   spec     null: the item has no specs; "颜色:红" or just "红": that spec
 *   delay_s  wait this long after payment before sending
 *   low_stock publish "orders.low_stock" when fewer codes than this remain
 *   after_delivery {text, image} (optional) this card's after_delivery notice,
 *            instead of the global one (sent when notices.after_delivery is on)
 *
 * A delivery rule may also say "quantity" (units per item bought, 1..100,
 * default 1: 2 bought of a rule with 3 make 6 units, each its own code;
 * orders.max_quantity caps the total) and "delay_s" (0..86400; null: the
 * card's). {quantity} stays the items bought.
 *
 * Buyer notices (orders_notice.c), the rules' "notices": {"waiting_stock",
 * "cannot_deliver", "after_delivery": {enabled, text, image (after_delivery
 * only)}}: each sent at most once per order (orders_notice, UNIQUE
 * order_id+kind, the send tagged "<order>:notice:<kind>"). waiting_stock when
 * the order waits for codes (out_of_stock), cannot_deliver when it needs the
 * seller (no_rule ambiguous quantity refused send detail), after_delivery once
 * every unit went. Absent: waiting_stock and cannot_deliver on with Chinese
 * default texts, after_delivery off. Text variables: {order_id} {buyer_name}
 * {item_id} {spec} {quantity} {item_title} (the items plugin's items_item
 * title, "" without it).
 *
 * Rating (orders_rate.c), the rules' "chores": {"rate": {enabled, text}},
 * off by default: a completed trade (its card, or the reminder
 * 快给ta一个评价吧~) rates the buyer good once with the text
 * (mtop.taobao.idle.rate.create 4.0); refusals are tried again every
 * rate_retry_s, rate_attempts times at most; "already rated" counts as done.
 *
 * Exactly once. A row of orders_unit per (order, unit) moves
 *     reserved -> sending -> sent -> done      (or failed / cancelled)
 * The unit rows and their codes (orders_stock state 0 free -> 1 reserved) are
 * written in one transaction; after COMMIT the unit is sent with the tag
 * "order:<id>:<unit>:<attempt>", and its send uuid recorded (sending). The
 * send's ack records the platform's message id and consumes the code (state
 * 2) in one transaction; a refusal releases the code (state 0) and records
 * why. After a crash, init resumes every unfinished order: a reserved unit
 * first looks its tag up in the outbox (sk_send_find) - a send queued just
 * before the crash is adopted, never made twice; a sending unit asks the
 * outbox how its send ended. A trigger for an order already delivering or
 * delivered does nothing (recorded as a repeat).
 *
 * Shipment. orders.confirm: "after" (default: consign.dummy once every unit
 * is sent), "before" (consign first, then send - the content goes out even
 * if the confirmation fails, as the platform's sellers expect) or "never".
 * Transient failures are retried with exponential backoff (confirm_attempts,
 * retry_base_ms); ORDER_ALREADY_DELIVERY counts as done; business errors,
 * session expiry and risk control end it as failed with the reason.
 *
 * Failures. Every one records a reason a seller can read, "<kind>: <text>",
 * kind one of no_rule ambiguous out_of_stock detail unpaid mismatch quantity
 * refused send cancelled confirm, in orders_order.reason (and the unit's), and publishes
 * "orders.delivery_failed" {order_id, reason}. An order that failed is tried
 * again by its next reminder card, by "core.reload" (SIGHUP, when the rules
 * changed) when it failed on the rules or the stock, and every retry_s when
 * it waits for stock that has since been imported (at once when the codes
 * come through the stock_import control command). Topics published:
 * orders.delivered, orders.delivery_failed, orders.low_stock,
 * orders.out_of_stock, orders.confirm_failed, orders.action.
 *
 * The rules file is validated as a whole ("cards[2].template: ..."), at init
 * and on "core.reload"; a file with errors leaves the rules in force. The
 * descriptor's rules_check runs the same validator on a document the web
 * page wants to save, and gives the same messages, one a line.
 *
 * Commands (shopkeep <command> --config FILE):
 *   stock import --card NAME FILE   add codes, one per line (blank lines and
 *                                   duplicates skipped), prints the counts
 *   stock list                      codes per card: free, reserved, used
 *   stock export --card NAME        the free codes, one a line
 *   orders list [--limit N]         recent orders with state and reason
 *   orders show ORDER_ID            one order, units masked, its timeline
 *   orders retry|resend|deliver|ship ORDER_ID [--unit N] [--text T]
 *                                   the order actions, run in the account's
 *                                   running process (sk_control_call)
 *
 * Control commands (the account's web page, web/API.md); bad data is
 * SK_ERR_INVAL (400) with a message naming the field, an unknown order
 * SK_ERR_NOTFOUND (404), an action the order's state forbids SK_ERR_STATE
 * (409):
 *   orders_list {limit, filter}  recent orders with their units (codes
 *                           masked) and notices, newest first (orders_view.c)
 *   order_get {order_id}    one order and its timeline
 *   order_reveal, order_retry, order_resend, order_deliver, order_ship: the
 *                           seller's reveal and actions (orders_action.c has
 *                           how each is recorded and sent exactly once)
 *   stock_list              -> {cards: [{name, type, free, reserved, used,
 *                           low_stock}]}: every card of the rules in force, the
 *                           counts of stock list (null for a card without stock),
 *                           low_stock the card's threshold
 *   stock_import {card, codes}  what stock import does, with codes one a line;
 *                           then the orders waiting for stock are tried at once
 *                           -> {card, added, duplicates, blank, free}
 *   stock_codes, stock_reveal, stock_delete, stock_export: a card's codes
 *                           (orders_stock.c)
 *
 * The sold-orders pull (orders_pull.c has its manual): orders never seen
 * in a chat are found in the seller console's list (orders.pull_s, 300;
 * pull_pages, pull_gap_ms, pull_shape), checked and delivered the same way;
 * control command orders_pull {} runs one now and answers its status.
 *
 * debug_kill_at (tests only) kills the process with SIGKILL at a named step
 * of a delivery: detail reserved send sending acked sent confirm confirmed.
 *
 * Files. orders.c: this manual, the config keys, the schema, resume, retries,
 * reload, init and the descriptor; orders_rules.c: the rules file;
 * orders_db.c: the rows and the states' names; orders_flow.c: the state
 * machine (trade cards, planning, sending, confirmation); orders_detail.c: the
 * order detail; orders_cmd.c: the CLI and the stock_list/stock_import
 * control commands; orders_view.c: the order as the page sees it (masks,
 * timeline); orders_action.c: the seller's actions;
 * orders_stock.c: the stock code commands; orders_pull.c: the sold-orders
 * pull and the chat of a pulled order; orders_int.h: what they share.
 *
 * Names (STYLE.md's plugin convention, amended for a plugin of several
 * files): a function or table used by one file only is static and prefixed
 * od_; one another file calls is declared in orders_int.h, prefixed orders_,
 * and hidden (the header's visibility pragma, besides -fvisibility=hidden),
 * so the .so still exports only sk_plugin_entry. The shared types and macros
 * keep od_ / OD_.
 */

#include "orders_int.h"

static const sk_config_key od_keys[] = {
	{ .key = "confirm", .type = SK_CFG_STR, .help = "confirm shipment \"after\" sending (default), \"before\" or \"never\"" },
	{ .key = "confirm_attempts", .type = SK_CFG_INT, .help = "tries of the shipment confirmation on transient errors (default 5)" },
	{ .key = "detail_attempts", .type = SK_CFG_INT, .help = "tries of the order detail on transient errors (default 4)" },
	{ .key = "retry_base_ms", .type = SK_CFG_INT, .help = "first retry delay, doubled each time (default 1000)" },
	{ .key = "retry_s", .type = SK_CFG_INT, .help = "look for new stock for orders waiting on it this often (default 60, 0 = never)" },
	{ .key = "paid_wait_s", .type = SK_CFG_INT, .help = "wait this long for the order detail to say paid, re-checking at 2, 4, 8... s (default 300)" },
	{ .key = "max_quantity", .type = SK_CFG_INT, .help = "deliver nothing for orders of more units than this (default 50)" },
	{ .key = "enabled", .type = SK_CFG_BOOL, .help = "deliver at all (default true; order states are kept either way)" },
	{ .key = "rate_retry_s", .type = SK_CFG_INT, .help = "chores.rate: try again this long after the platform refused a rating (default 600)" },
	{ .key = "rate_attempts", .type = SK_CFG_INT, .help = "chores.rate: give a rating up after this many refusals (default 6)" },
	{ .key = "debug_kill_at", .type = SK_CFG_STR, .help = "tests only: SIGKILL the process at this delivery step" },
	{ .key = "pull_s", .type = SK_CFG_INT, .help = "pull the seller's sold-orders list this often (default 300, 0 = never)" },
	{ .key = "pull_pages", .type = SK_CFG_INT, .help = "at most this many pages of it per pull (default 5)" },
	{ .key = "pull_gap_ms", .type = SK_CFG_INT, .help = "wait this long between its pages (default 1500)" },
	{ .key = "pull_shape", .type = SK_CFG_STR, .help = "its request shape: \"zh\" (default) or \"xya\"" },
	{ 0 }
};

static const char *const od_migrations[] = {
	"CREATE TABLE orders_order ("
	"  order_id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL DEFAULT '',"
	"  prev_state TEXT NOT NULL DEFAULT '',"
	"  chat_id TEXT NOT NULL DEFAULT '',"
	"  buyer_id TEXT NOT NULL DEFAULT '',"
	"  buyer_name TEXT NOT NULL DEFAULT '',"
	"  item_id TEXT NOT NULL DEFAULT '',"
	"  spec TEXT NOT NULL DEFAULT '',"
	"  quantity INTEGER NOT NULL DEFAULT 0,"
	"  card TEXT NOT NULL DEFAULT '',"
	"  delivery TEXT NOT NULL DEFAULT 'none',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  confirm TEXT NOT NULL DEFAULT 'none',"
	"  confirm_attempts INTEGER NOT NULL DEFAULT 0,"
	"  confirm_reason TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orders_order_delivery ON orders_order (delivery);"
	"CREATE TABLE orders_transition ("
	"  id INTEGER PRIMARY KEY,"
	"  order_id TEXT NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  applied INTEGER NOT NULL,"
	"  note TEXT NOT NULL DEFAULT '',"
	"  ms INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orders_transition_order ON orders_transition (order_id);"
	"CREATE TABLE orders_unit ("
	"  order_id TEXT NOT NULL,"
	"  unit INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  card TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  content TEXT NOT NULL,"
	"  code_id INTEGER,"
	"  state TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  uuid TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  send_at_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (order_id, unit)"
	") STRICT;"
	"CREATE INDEX orders_unit_tag ON orders_unit (tag);"
	"CREATE TABLE orders_stock ("
	"  id INTEGER PRIMARY KEY,"
	"  card TEXT NOT NULL,"
	"  code TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
	"  order_id TEXT NOT NULL DEFAULT '',"
	"  unit INTEGER NOT NULL DEFAULT 0,"
	"  added_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (card, code)"
	") STRICT;"
	"CREATE INDEX orders_stock_free ON orders_stock (card, id) WHERE state = 0",
	/* 2: the chat's item, which the order detail's item must match */
	"ALTER TABLE orders_order ADD COLUMN chat_item TEXT NOT NULL DEFAULT ''",
	/* 3: the buyer notices sent (orders_notice.c) and the ratings (orders_rate.c) */
	"CREATE TABLE orders_notice ("
	"  order_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  ms INTEGER NOT NULL,"
	"  uuid TEXT NOT NULL DEFAULT '',"
	"  UNIQUE (order_id, kind)"
	") STRICT;"
	"CREATE INDEX orders_notice_unsent ON orders_notice (ms) WHERE uuid = '';"
	"CREATE TABLE orders_rate ("
	"  order_id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  ms INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT ''"
	") STRICT",
	/* 4: what the page shows and does (orders_action.c): the amount and
	 * where the order came from (written by the sold-orders pull), units
	 * delivered by hand and when each was sent, the seller's actions */
	"ALTER TABLE orders_order ADD COLUMN amount TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders_order ADD COLUMN source TEXT NOT NULL DEFAULT 'push';"
	"ALTER TABLE orders_unit ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders_unit ADD COLUMN sent_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE orders_action ("
	"  id INTEGER PRIMARY KEY,"
	"  order_id TEXT NOT NULL,"
	"  unit INTEGER NOT NULL DEFAULT 0,"
	"  action TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  text TEXT NOT NULL DEFAULT '',"
	"  ms INTEGER NOT NULL,"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  uuid TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'done',"
	"  detail TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX orders_action_order ON orders_action (order_id);"
	"CREATE INDEX orders_action_tag ON orders_action (tag) WHERE tag <> ''",
	NULL
};

/* ---- resume, retries, reload ------------------------------------------------------------ */

/* After a restart: every order whose delivery or confirmation was under way
 * goes on from what the database says. */
static void od_on_resume(sk_plugin *p, uint64_t id, void *ud)
{
	od_ids ids;

	(void)id;
	(void)ud;
	if (!p->ud || orders_ids_get(p, "SELECT order_id FROM orders_order WHERE delivery IN ('pending', 'delivering') "
			      "OR (delivery = 'delivered' AND confirm = 'pending') ORDER BY updated_ms", NULL, 0, &ids))
		return;
	/* The seller's sends (resend, deliver by hand) committed before a crash first. */
	orders_action_resume(p);
	if (ids.n)
		sk_log(p, SK_LOG_INFO, "resuming %zu unfinished orders", ids.n);
	for (size_t i = 0; i < ids.n && p->ud; i++) {
		od_order o;

		if (orders_order_get(p, ids.ids[i], &o))
			continue;
		if (o.delivery == OD_D_PENDING) {
			if (o.state == OD_O_PAID)
				orders_fetch(p, o.id, 1, 0, sk_mono_ms(p));
			else
				orders_set_delivery(p, o.id, OD_D_CANCELLED, "cancelled: the order is no longer paid");
		} else {
			orders_proceed(p, o.id);
		}
	}
	free(ids.ids);
	orders_notice_resume(p);
	orders_rate_resume(p);
}

/* Orders that failed for a reason the seller can fix locally (rules, stock)
 * are planned again; only_stock: just those waiting for stock, and only when
 * their card has enough free codes now. */
void orders_retry(sk_plugin *p, int only_stock)
{
	od_state *st = p->ud;
	od_ids ids;

	if (!st || !st->enabled ||
	    orders_ids_get(p, only_stock ? "SELECT order_id FROM orders_order WHERE delivery = 'failed' AND state = 'paid' "
				       "AND reason LIKE 'out_of_stock:%'" :
				       "SELECT order_id FROM orders_order WHERE delivery = 'failed' AND state = 'paid' "
				       "AND (reason LIKE 'out_of_stock:%' OR reason LIKE 'no_rule:%' OR "
				       "reason LIKE 'ambiguous:%' OR reason LIKE 'quantity:%')", NULL, 0, &ids))
		return;
	for (size_t i = 0; i < ids.n && p->ud; i++) {
		char reason[512];
		const od_rule *r;
		const od_card *c;
		od_order o;

		if (orders_order_get(p, ids.ids[i], &o))
			continue;
		/* the units: the rule's quantity per item bought */
		if (only_stock && (!(r = orders_rule_match(st, &o, reason, sizeof reason)) ||
				   !(c = orders_card_find(st->rules, r->card)) || c->type != OD_STOCK ||
				   orders_free_codes(p, c->name) < o.quantity * r->quantity))
			continue;
		sk_log(p, SK_LOG_INFO, "order %s: trying again (%s)", o.id, o.reason);
		orders_plan(p, o.id);
	}
	free(ids.ids);
}

/* Every retry_s: orders waiting for stock, and deliveries with a unit the
 * host could not queue (e.g. a full outbox) - orders_proceed is idempotent. */
static void od_on_retry(sk_plugin *p, uint64_t id, void *ud)
{
	od_ids ids;

	(void)id;
	(void)ud;
	orders_retry(p, 1);
	if (!p->ud || orders_ids_get(p, "SELECT DISTINCT order_id FROM orders_unit WHERE state = 'reserved'", NULL, 0, &ids))
		return;
	for (size_t i = 0; i < ids.n && p->ud; i++)
		orders_proceed(p, ids.ids[i]);
	free(ids.ids);
	orders_notice_resume(p);
}

/* "core.reload": new rules (a broken file changes nothing), then the orders
 * that failed on the rules or the stock are tried again. */
static int od_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	od_state *st = p->ud;
	od_rules *rs;

	(void)ud;
	if (!st || strcmp(e->topic, "core.reload") || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	if ((rs = orders_load(p))) {
		orders_rules_free(st->rules);
		st->rules = rs;
	}
	orders_retry(p, 0);
	orders_rate_resume(p);
	return SK_PASS;
}

/* ---- init ------------------------------------------------------------------------------------ */

static void od_state_free(od_state *st)
{
	if (!st)
		return;
	while (st->fly) {
		od_fly *f = st->fly;

		st->fly = f->next;
		free(f->order);
		free(f);
	}
	orders_rules_free(st->rules);
	orders_pull_free(st);
	free(st->kill_at);
	free(st);
}

static void od_fini(sk_plugin *p)
{
	od_state_free(p->ud);
	p->ud = NULL;
}

/* Reads and checks the config section. */
static int od_config(sk_plugin *p, od_state *st)
{
	const char *confirm = sk_config_str(p, "confirm", "after"), *kill = sk_config_str(p, "debug_kill_at", "");
	struct { const char *key; int64_t *v, def, lo, hi; } ints[] = {
		{ "confirm_attempts", &st->confirm_attempts, 5, 1, 100 },
		{ "detail_attempts", &st->detail_attempts, 4, 1, 100 },
		{ "retry_base_ms", &st->retry_base_ms, 1000, 1, 3600000 },
		{ "retry_s", &st->retry_s, 60, 0, 86400 },
		{ "max_quantity", &st->max_quantity, 50, 1, 10000 },
		{ "paid_wait_s", &st->paid_wait_s, 300, 0, 3600 },
		{ "rate_retry_s", &st->rate_retry_s, 600, 1, 86400 },
		{ "rate_attempts", &st->rate_attempts, 6, 1, 100 },
	};

	if (!strcmp(confirm, "after"))
		st->policy = OD_AFTER;
	else if (!strcmp(confirm, "before"))
		st->policy = OD_BEFORE;
	else if (!strcmp(confirm, "never"))
		st->policy = OD_NEVER;
	else {
		sk_log(p, SK_LOG_ERR, "orders.confirm must be \"after\", \"before\" or \"never\", not \"%s\"", confirm);
		return SK_ERR_CONFIG;
	}
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		*ints[i].v = sk_config_int(p, ints[i].key, ints[i].def);
		if (*ints[i].v < ints[i].lo || *ints[i].v > ints[i].hi) {
			sk_log(p, SK_LOG_ERR, "orders.%s must be %lld to %lld, not %lld", ints[i].key, (long long)ints[i].lo,
			       (long long)ints[i].hi, (long long)*ints[i].v);
			return SK_ERR_CONFIG;
		}
	}
	st->enabled = sk_config_bool(p, "enabled", 1);
	if (*kill && !(st->kill_at = strdup(kill)))
		return SK_ERR_NOMEM;
	return SK_OK;
}

static int od_init(sk_plugin *p)
{
	sk_filter reload = { .topic = "core.reload" };
	od_state *st = calloc(1, sizeof *st);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if ((rc = od_config(p, st)) < 0)
		goto fail;
	if (!(st->rules = orders_load(p)) && !(st->rules = orders_rules_empty())) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_TRADE) | SK_MASK(SK_EV_MSG_UPDATE), NULL, 0, orders_on_trade, NULL, NULL,
			       NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, od_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SEND_RESULT), NULL, 0, orders_on_send_result, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_SYSTEM), NULL, 0, orders_on_system, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, 0, 0, od_on_resume, NULL, NULL, NULL)) < 0 ||
	    (st->retry_s && (rc = sk_timer_add(p, (uint64_t)st->retry_s * 1000, (uint64_t)st->retry_s * 1000,
					       od_on_retry, NULL, NULL, NULL)) < 0) ||
	    (rc = orders_pull_init(p, st)) < 0)
		goto fail;
	/* Without its control commands orders still delivers: a refusal is logged. */
	orders_controls_add(p);
	if (sk_control_add(p, "orders_pull", "pull the seller's sold-orders list now; the pull's status",
			   orders_pull_control, NULL, NULL) < 0)
		sk_log(p, SK_LOG_WARN, "control command orders_pull not registered");
	return SK_OK;
fail:
	od_state_free(st);
	p->ud = NULL;
	return rc;
}

static const char *const od_commands[] = { "stock", "orders", NULL };

SK_PLUGIN(.name = "orders", .version = "1.0",
	  .description = "Order states from trade cards; exactly-once delivery of card codes, texts and images",
	  .init = od_init, .fini = od_fini, .config_keys = od_keys, .migrations = od_migrations,
	  .commands = od_commands, .command = orders_command, .rules_check = orders_rules_check);
