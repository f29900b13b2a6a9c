/* SPDX-License-Identifier: MIT */
/*
 * plugins/orders/orders_pull.c - the sold-orders pull: orders the bot never
 * saw a card for are found in the seller console's list
 * (mtop.taobao.idle.trade.merchant.sold.get, protocol-account.md §6.1, a
 * seller-console call: sk_mtop_ex with SK_MTOP_SELLER) and delivered like the
 * others, after the same order detail check.
 *
 * When. Once the account is connected (the first time in the process: the
 * whole list, queryCode ALL, which also fills the amount of orders known from
 * their cards), then every orders.pull_s (default 300, 0 = never) only the
 * orders awaiting shipment (queryCode NOT_SHIP), and at once on the control
 * command orders_pull. A run reads at most orders.pull_pages pages (default
 * 5) of 30 (orders.pull_shape "zh", the default) or 20 ("xya": pageSize,
 * lastEndRow, userId; no queryCode, so the state is filtered here),
 * orders.pull_gap_ms (1500) apart, and stops early on the last page or on a
 * page whose orders are all known already.
 *
 * What. Every listed order that is known gets its amount (priceVO.totalPrice,
 * yuan) when it has none. An order awaiting shipment (待发货) that is not
 * known is recorded (source "pull", state paid, buyer, item, quantity, amount,
 * created_ms from createTime) and its delivery starts as a paid card's would:
 * the order detail must say paid, for that buyer and item, before anything is
 * reserved. A known order that is delivering, delivered, pending, failed or
 * cancelled is left alone (a pull racing a pushed card never delivers twice:
 * the card and the pull meet in the same row); one that is known only as
 * placed (its paid card was missed) moves to paid and starts.
 *
 * Chat. A pulled order has no chat until its buyer writes; before its first
 * unit goes out, orders_pull_chat opens one with sk_chat_open (buyer, item)
 * and stores the chat id; the units wait reserved meanwhile (a failure is
 * logged and tried again by the retry timer).
 *
 * Errors. A failed page ends the run: logged and counted (orders_pull's
 * errors; session_expired for the console's FAIL_SYS_SESSION_EXPIRED, common
 * there while IM works - the core does not fail the account for it). A listed
 * order with a bad id is skipped and counted (bad).
 */

#include "orders_int.h"

#define OD_API_SOLD "mtop.taobao.idle.trade.merchant.sold.get"
#define OD_PULL_AWAITING "待发货"

typedef struct od_pull {
	int64_t every_s, pages, gap_ms;
	int xya;
	int running, started;      /* a run under way; the first run was started */
	int all;                   /* this run lists everything (queryCode ALL) */
	int64_t page, last_row;
	int64_t runs, found, errors, expired, bad, last_ms;
	char last_error[200];
} od_pull;

static void od_pull_page(sk_plugin *p);

/* ---- one listed order ------------------------------------------------------------ */

/* A member given as a string or a whole number, as text; NULL when neither. */
static const char *od_ptext(const cJSON *o, const char *k, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		snprintf(buf, n, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL;
}

/* Whether s is a non-empty run of at most max digits. */
static int od_digits(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= max && strspn(s, "0123456789") == n;
}

/* Whether s is a platform id: 1 to max letters, digits, '_' or '-'. */
static int od_idok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= max &&
	       strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == n;
}

/* Whether s is a yuan amount: digits, optionally '.' and 1 or 2 digits. */
static int od_yuan(const char *s)
{
	size_t d = strspn(s, "0123456789");

	if (!d || d > 12)
		return 0;
	if (!s[d])
		return 1;
	return s[d] == '.' && strspn(s + d + 1, "0123456789") == strlen(s + d + 1) && strlen(s + d + 1) >= 1 &&
	       strlen(s + d + 1) <= 2;
}

/* createTime "YYYY-MM-DD HH:MM:SS", China time (UTC+8) as the console
 * shows it, in ms since the epoch; 0 when it is not that. */
static int64_t od_ctime(const char *s)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof tm);
	if (!s || !(e = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) || *e)
		return 0;
	return ((int64_t)timegm(&tm) - 8 * 3600) * 1000;
}

/* Starts the delivery of a pulled order: the transition to paid recorded as
 * "pull", then what a paid card does (orders_deliver). */
static void od_pull_start(sk_plugin *p, const od_order *o)
{
	sk_value v[5] = { SK_VTEXT(o->id), SK_VTEXT(o->state != OD_O_NEW ? orders_ostate_name(o->state) : ""),
		SK_VINT(sk_now_ms(p)) };
	sk_value w[4] = { SK_VTEXT(orders_ostate_name(OD_O_PAID)), SK_VTEXT(orders_ostate_name(o->state)),
		SK_VINT(sk_now_ms(p)), SK_VTEXT(o->id) };

	if (o->state != OD_O_PAID &&
	    (sk_db_exec(p, "UPDATE orders_order SET state = ?, prev_state = ?, updated_ms = ? WHERE order_id = ?", w, 4,
			NULL, NULL) < 0 ||
	     sk_db_exec(p, "INSERT INTO orders_transition (order_id, from_state, to_state, trigger, message_id, "
			"applied, note, ms) VALUES (?1, ?2, 'paid', 'pull', '', 1, 'the sold orders list: 待发货', ?3)",
			v, 3, NULL, NULL) < 0)) {
		sk_log(p, SK_LOG_ERR, "order %s: cannot record the pulled state", o->id);
		return;
	}
	orders_deliver(p, o->id, "pull");
}

/* One item of a sold.get page. Returns 1 when the order was known before,
 * 0 when it was new (or acted on), -1 when it was skipped as bad. */
static int od_pull_item(sk_plugin *p, od_pull *pl, const cJSON *it)
{
	const cJSON *cd = cJSON_GetObjectItemCaseSensitive(it, "commonData"),
		    *bi = cJSON_GetObjectItemCaseSensitive(it, "buyerInfoVO"),
		    *pv = cJSON_GetObjectItemCaseSensitive(it, "priceVO");
	char b1[32], b2[32], b3[32], b4[32], amount[24] = "";
	const char *oid = od_ptext(cd, "orderId", b1, sizeof b1), *iid = od_ptext(cd, "itemId", b2, sizeof b2),
		   *status = od_ptext(cd, "orderStatus", b4, sizeof b4), *buyer = od_ptext(bi, "buyerId", b3, sizeof b3),
		   *nick = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(bi, "userNick")) ?
			   cJSON_GetObjectItemCaseSensitive(bi, "userNick")->valuestring : "",
		   *total = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pv, "totalPrice")) ?
			    cJSON_GetObjectItemCaseSensitive(pv, "totalPrice")->valuestring : "";
	char nb[32];
	const char *num = od_ptext(pv, "buyNum", nb, sizeof nb);
	int64_t qty = num && od_digits(num, 6) ? strtoll(num, NULL, 10) : 1;
	od_order o;

	if (!od_digits(oid, 40)) {
		pl->bad++;
		sk_log(p, SK_LOG_WARN, "sold orders: an item without a valid orderId skipped");
		return -1;
	}
	if (od_yuan(total))
		snprintf(amount, sizeof amount, "%s", total);
	if (orders_order_get(p, oid, &o) < 0)
		return -1;
	if (o.found) {
		sk_value v[2] = { SK_VTEXT(amount), SK_VTEXT(oid) };

		if (*amount)
			sk_db_exec(p, "UPDATE orders_order SET amount = ?1 WHERE order_id = ?2 AND amount = ''", v, 2, NULL,
				   NULL);
	}
	if (!status || strcmp(status, OD_PULL_AWAITING))
		return o.found;
	if (!o.found) {
		if (!od_idok(iid, 40) || !od_idok(buyer, 31) || qty < 1) {
			pl->bad++;
			sk_log(p, SK_LOG_WARN, "sold orders: order %s awaiting shipment skipped: no valid item, buyer or "
			       "quantity", oid);
			return -1;
		}
		{
			int64_t now = sk_now_ms(p), made = od_ctime(od_ptext(cd, "createTime", nb, sizeof nb));
			sk_value v[8] = { SK_VTEXT(oid), SK_VTEXT(buyer), SK_VTEXT(nick), SK_VTEXT(iid), SK_VINT(qty),
				SK_VTEXT(amount), SK_VINT(made ? made : now), SK_VINT(now) };

			if (sk_db_exec(p, "INSERT INTO orders_order (order_id, buyer_id, buyer_name, item_id, chat_item, "
				       "quantity, amount, source, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, "
				       "'pull', ?7, ?8) ON CONFLICT (order_id) DO NOTHING", v, 8, NULL, NULL) < 0 ||
			    orders_order_get(p, oid, &o)) {
				sk_log(p, SK_LOG_ERR, "order %s: cannot record the pulled order", oid);
				return -1;
			}
		}
		pl->found++;
		sk_log(p, SK_LOG_INFO, "order %s: found in the sold orders list (awaiting shipment, buyer %s, item %s, "
		       "%lld unit(s), %s yuan): never seen in a chat", oid, buyer, iid, (long long)qty,
		       *amount ? amount : "?");
		od_pull_start(p, &o);
		return 0;
	}
	/* Known: only an order whose paid card was missed moves on here. */
	if ((o.state == OD_O_NEW || o.state == OD_O_PLACED || o.state == OD_O_PAID) && o.delivery == OD_D_NONE) {
		sk_log(p, SK_LOG_INFO, "order %s: the sold orders list says awaiting shipment; known as %s: delivering",
		       oid, o.state != OD_O_NEW ? orders_ostate_name(o.state) : "(new)");
		od_pull_start(p, &o);
		return 0;
	}
	return 1;
}

/* ---- a run: pages of sold.get -------------------------------------------------------- */

/* Ends the run; err (may be NULL) is what went wrong. */
static void od_pull_end(sk_plugin *p, od_pull *pl, const char *err)
{
	pl->running = 0;
	pl->last_ms = sk_now_ms(p);
	if (err) {
		pl->errors++;
		snprintf(pl->last_error, sizeof pl->last_error, "%s", err);
		sk_log(p, SK_LOG_WARN, "sold orders pull: %s", err);
	} else {
		pl->last_error[0] = '\0';
	}
}

static void od_on_pull_gap(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	if (p->ud && ((od_state *)p->ud)->pull && ((od_state *)p->ud)->pull->running)
		od_pull_page(p);
}

static void od_on_sold(sk_plugin *p, int result, const char *ret, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_pull *pl = st ? st->pull : NULL;
	const cJSON *m, *items, *it, *next;
	char err[200], b[32];
	int known = 0, n = 0, more;
	const char *last;
	cJSON *d;

	(void)ud;
	if (!pl || !pl->running)
		return;
	if (result != SK_MTOP_OK) {
		if (result == SK_MTOP_SESSION_EXPIRED)
			pl->expired++;
		snprintf(err, sizeof err, "page %lld: %s", (long long)pl->page,
			 result == SK_MTOP_SESSION_EXPIRED ? "the seller console's session expired (FAIL_SYS_SESSION_EXPIRED)" :
			 result == SK_MTOP_RISK ? "risk control" : *ret ? ret : "no answer");
		od_pull_end(p, pl, err);
		return;
	}
	d = cJSON_Parse(data_json);
	m = cJSON_GetObjectItemCaseSensitive(d, "module");
	items = cJSON_GetObjectItemCaseSensitive(m, "items");
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(d);
		snprintf(err, sizeof err, "page %lld: the answer has no module.items", (long long)pl->page);
		od_pull_end(p, pl, err);
		return;
	}
	cJSON_ArrayForEach(it, items) {
		int r = od_pull_item(p, pl, it);

		if (!p->ud)
			break;
		n++;
		known += r != 0;
	}
	next = cJSON_GetObjectItemCaseSensitive(m, "nextPage");
	more = cJSON_IsTrue(next) || (cJSON_IsString(next) && !strcmp(next->valuestring, "true"));
	last = od_ptext(m, "lastEndRow", b, sizeof b);
	pl->last_row = last && od_digits(last, 12) ? strtoll(last, NULL, 10) : pl->last_row + n;
	cJSON_Delete(d);
	if (!p->ud)
		return;
	/* the list is newest first: a page of orders all known ends a run (not the first, which fills amounts) */
	if (!more || !n || pl->page >= pl->pages || (known == n && !pl->all)) {
		sk_log(p, SK_LOG_DEBUG, "sold orders pull: done after %lld page(s)", (long long)pl->page);
		od_pull_end(p, pl, NULL);
		return;
	}
	pl->page++;
	if (sk_timer_add(p, (uint64_t)pl->gap_ms, 0, od_on_pull_gap, NULL, NULL, NULL) != SK_OK)
		od_pull_end(p, pl, "no timer for the next page");
}

/* Asks for page pl->page. */
static void od_pull_page(sk_plugin *p)
{
	od_pull *pl = ((od_state *)p->ud)->pull;
	char data[300];
	int rc;

	if (pl->xya)
		snprintf(data, sizeof data, "{\"needGroupInfo\":true,\"pageNumber\":%lld,\"pageSize\":20,"
			 "\"lastEndRow\":\"%lld\",\"userId\":\"%s\"}", (long long)pl->page, (long long)pl->last_row,
			 sk_own_user_id(p));
	else
		snprintf(data, sizeof data, "{\"pageNumber\":%lld,\"rowsPerPage\":30,\"orderIds\":\"\",\"queryCode\":\"%s\","
			 "\"orderSearchParam\":\"{}\"}", (long long)pl->page, pl->all ? "ALL" : "NOT_SHIP");
	if ((rc = sk_mtop_ex(p, OD_API_SOLD, NULL, SK_MTOP_SELLER, data, od_on_sold, NULL, NULL)) != SK_OK) {
		char err[120];

		snprintf(err, sizeof err, "page %lld not asked for: %s", (long long)pl->page, sk_strerror(p, rc));
		od_pull_end(p, pl, err);
	}
}

/* Starts a run unless one is under way or the account is not connected.
 * Returns 1 when started. */
static int od_pull_run(sk_plugin *p)
{
	od_state *st = p->ud;
	od_pull *pl = st ? st->pull : NULL;

	if (!pl || pl->running || !st->enabled || sk_session_state(p) != SK_STATE_CONNECTED)
		return 0;
	pl->running = 1;
	pl->all = !pl->started;
	pl->started = 1;
	pl->page = 1;
	pl->last_row = 0;
	pl->runs++;
	od_pull_page(p);
	return 1;
}

static void od_on_pull_timer(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	od_pull_run(p);
}

/* SK_EV_SESSION: the first CONNECTED starts the first run. */
static int od_pull_on_session(sk_plugin *p, const sk_event *e, void *ud)
{
	od_state *st = p->ud;

	(void)ud;
	if (st && st->pull && !st->pull->started && e->state == SK_STATE_CONNECTED)
		od_pull_run(p);
	return SK_PASS;
}

/* ---- the chat of a pulled order --------------------------------------------------- */

static void od_on_chat(sk_plugin *p, int rc, const char *chat_id, void *ud)
{
	const char *oid = ud;
	od_state *st = p->ud;

	if (!st)
		return;
	orders_fly_del(st, oid, OD_CHAT);
	if (rc != SK_OK) {
		sk_log(p, SK_LOG_WARN, "order %s: no chat with the buyer (%s); tried again later", oid, sk_strerror(p, rc));
		return;
	}
	{
		sk_value v[3] = { SK_VTEXT(chat_id), SK_VINT(sk_now_ms(p)), SK_VTEXT(oid) };

		if (sk_db_exec(p, "UPDATE orders_order SET chat_id = ?1, updated_ms = ?2 WHERE order_id = ?3 AND chat_id = ''",
			       v, 3, NULL, NULL) < 0)
			return;
	}
	sk_log(p, SK_LOG_INFO, "order %s: chat %s opened with the buyer", oid, chat_id);
	orders_proceed(p, oid);
	if (p->ud)
		orders_notice_resume(p);  /* a notice that waited for this chat */
}

/* Order o has units to send but no chat (a pulled order): opens one with
 * its buyer, unless an open is under way; orders_proceed runs again when it
 * is there. */
void orders_pull_chat(sk_plugin *p, const od_order *o)
{
	od_state *st = p->ud;
	char *oid;
	int rc;

	if (orders_fly_find(st, o->id, OD_CHAT))
		return;
	if (!SK_HOST_HAS(p, chat_open)) {
		sk_log(p, SK_LOG_WARN, "order %s: no chat, and the host cannot open one", o->id);
		return;
	}
	if (!(oid = strdup(o->id)) || !orders_fly_add(st, o->id, OD_CHAT)) {
		free(oid);
		return;
	}
	if ((rc = sk_chat_open(p, o->buyer, *o->chat_item ? o->chat_item : o->item, od_on_chat, oid, free)) != SK_OK) {
		orders_fly_del(st, o->id, OD_CHAT);
		sk_log(p, SK_LOG_WARN, "order %s: cannot open a chat with buyer %s now (%s); tried again later", o->id,
		       o->buyer, sk_strerror(p, rc));
	}
}

/* ---- control, init ---------------------------------------------------------------- */

/* orders_pull {}: starts a run now (when none is under way and the account
 * is connected) and answers the pull's status. */
int orders_pull_control(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	od_state *st = p->ud;
	od_pull *pl = st ? st->pull : NULL;
	cJSON *d = skctl_data(p, command, data_json), *o;
	int started;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	if (!pl)
		return skctl_fail(p, SK_ERR_STATE, "orders_pull: the pull is off (orders.pull_s is 0)");
	started = od_pull_run(p);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "started", started);
	cJSON_AddBoolToObject(o, "running", pl->running);
	cJSON_AddNumberToObject(o, "runs", (double)pl->runs);
	cJSON_AddNumberToObject(o, "found", (double)pl->found);
	cJSON_AddNumberToObject(o, "errors", (double)pl->errors);
	cJSON_AddNumberToObject(o, "session_expired", (double)pl->expired);
	cJSON_AddNumberToObject(o, "bad", (double)pl->bad);
	cJSON_AddNumberToObject(o, "last_ms", (double)pl->last_ms);
	cJSON_AddStringToObject(o, "last_error", pl->last_error);
	return skctl_answer(p, o);
}

void orders_pull_free(od_state *st)
{
	free(st->pull);
	st->pull = NULL;
}

/* Reads the pull's config and registers its timer and session handler.
 * SK_OK (also when orders.pull_s is 0: no pull), or a negative sk_rc. */
int orders_pull_init(sk_plugin *p, od_state *st)
{
	const char *shape = sk_config_str(p, "pull_shape", "zh");
	int64_t every = sk_config_int(p, "pull_s", 300), pages = sk_config_int(p, "pull_pages", 5),
		gap = sk_config_int(p, "pull_gap_ms", 1500);
	od_pull *pl;
	int rc;

	if (every < 0 || every > 86400 || pages < 1 || pages > 50 || gap < 0 || gap > 60000 ||
	    (strcmp(shape, "zh") && strcmp(shape, "xya"))) {
		sk_log(p, SK_LOG_ERR, "orders.pull_s must be 0 to 86400, pull_pages 1 to 50, pull_gap_ms 0 to 60000, "
		       "pull_shape \"zh\" or \"xya\"");
		return SK_ERR_CONFIG;
	}
	if (!every)
		return SK_OK;
	if (!(pl = calloc(1, sizeof *pl)))
		return SK_ERR_NOMEM;
	pl->every_s = every;
	pl->pages = pages;
	pl->gap_ms = gap;
	pl->xya = !strcmp(shape, "xya");
	st->pull = pl;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_SESSION), NULL, 0, od_pull_on_session, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, (uint64_t)every * 1000, (uint64_t)every * 1000, od_on_pull_timer, NULL, NULL, NULL)) < 0)
		return rc;
	return SK_OK;
}
