/* SPDX-License-Identifier: MIT */
/*
 * plugins/items/items.c - the seller's items, synced from the platform into
 * SQLite (items_item), and the opt-in daily polish chore.
 *
 * Sync. The item list (mtop.idle.web.xyh.item.list, protocol-account.md
 * §5.1) of the group items.group_id / items.group_name (the on-sale group
 * 58877261 / 在售) is read page by page (items.page_size a page,
 * items.page_gap_ms between pages, at most items.max_pages; a page shorter
 * than page_size is the last), then the detail of every listed item
 * (mtop.taobao.idle.pc.detail, §5.2), items.detail_gap_ms apart, for its
 * stock, skus (prices in fen, shown in yuan), picture and description (desc,
 * plain text, at most 16 KB kept). Each step is a
 * timer: the loop never waits. A sync runs once the session is CONNECTED at
 * start, every items.refresh_s (plus up to a tenth of it at random), on
 * demand (items_refresh), and again items.retry_s after a run that stopped
 * early (doubling up to refresh_s), or at the next CONNECTED. One at a time.
 *   - An item that the last complete list did not show is kept with gone = 1
 *     (orders and rules refer to it); it comes back when it is listed again.
 *   - A business failure of an item's detail (delisted, not found: a
 *     non-SUCCESS ret that is not an account error) marks that item
 *     (status -1, status_text the platform's message) and the run goes on.
 *   - An account error (session expired, risk control) stops the run: the
 *     core handles the session; the run is tried again later. A list page
 *     that fails otherwise stops the run too; a detail that fails in
 *     transport keeps the item's previous detail. Every failure is counted
 *     and logged, and the last one is items_list's last_error.
 *   - Published: "items.synced" {"items":N,"errors":N} after a run
 *     that reached its end.
 *
 * Polish (擦亮, §7.1), off unless the rules file says so:
 *     "chores": {"polish": {"enabled": true, "items": ["40004"], "hour": 9}}
 * Once per chosen item per Beijing calendar day (UTC+8), at or after hour
 * o'clock Beijing time, items.polish_gap_ms apart, checked every minute while
 * CONNECTED. Each answer is recorded in items_polish (item_id, day, result,
 * ms) before the next call, so a restart the same day polishes nothing
 * again: SUCCESS is "ok", 一天只能擦亮一次 / POLISH_DUPLICATE / 宝贝已经擦亮过了 /
 * IDLEITEM_POLISH_AGAIN are "duplicate" (done too), UNSUPPORTED_ITEM_STATUS
 * (delisted) is "skipped" for the day (logged), another business failure
 * "failed: <ret>"; an account error or no answer stops the round without a
 * record (tried again at the next check). The rules' other keys, and
 * chores' other members (orders' "rate"), are not this plugin's; inside
 * chores.polish unknown keys and bad types are refused (rules_check, the
 * same validator as the file's). Rules are read at init and at "core.reload";
 * a refused file keeps the polish rules in force.
 *
 * Control commands (web/API.md):
 *   items_list {limit}  (1..5000, default 500) -> {items: [{item_id, title,
 *                       price ("12.50" yuan, null unknown), quantity (null
 *                       until a detail), status, status_text, pic_url,
 *                       skus: [{sku_id, spec ("面值:50元", several joined
 *                       by ";"), price, quantity}], synced_ms, gone,
 *                       polished_day ("YYYY-MM-DD" of the last done polish,
 *                       "" none), desc ("" until a detail)}], synced_ms,
 *                       refreshing, last_error}
 *                       listed items first, in the platform's order
 *   items_refresh {}    starts a sync -> {started (false: one is running),
 *                       refreshing: true}
 *
 * Files. items.c: this manual, config, schema, timers, session, reload,
 * init; items_sync.c: the list and detail calls and their parsing;
 * items_polish.c: the polish rules and chore; items_ctl.c: the control
 * commands; items_int.h: what they share (prefix items_, hidden; static
 * ones it_).
 */

#include "items_int.h"

static const sk_config_key it_keys[] = {
	{ .key = "group_id", .type = SK_CFG_STR, .help = "the item list's group id (default \"58877261\": on sale)" },
	{ .key = "group_name", .type = SK_CFG_STR, .help = "the item list's group name (default \"在售\")" },
	{ .key = "page_size", .type = SK_CFG_INT, .help = "items per list page (default 20)" },
	{ .key = "page_gap_ms", .type = SK_CFG_INT, .help = "pause between list pages (default 1000)" },
	{ .key = "max_pages", .type = SK_CFG_INT, .help = "list pages read at most per sync (default 50)" },
	{ .key = "detail_gap_ms", .type = SK_CFG_INT, .help = "pause between item details (default 500)" },
	{ .key = "refresh_s", .type = SK_CFG_INT, .help = "sync this often, plus up to a tenth at random (default 10800)" },
	{ .key = "retry_s", .type = SK_CFG_INT, .help = "after a sync that stopped early, try again this soon, doubling up to refresh_s (default 60)" },
	{ .key = "polish_gap_ms", .type = SK_CFG_INT, .help = "pause between two polishes (default 2000)" },
	{ 0 }
};

static const char *const it_migrations[] = {
	"CREATE TABLE items_item ("
	"  item_id TEXT PRIMARY KEY,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  price INTEGER,"                          /* fen, NULL unknown */
	"  quantity INTEGER,"                       /* NULL until a detail said it */
	"  status INTEGER NOT NULL DEFAULT 0,"      /* itemStatus; -1: the detail failed */
	"  status_text TEXT NOT NULL DEFAULT '',"
	"  pic_url TEXT NOT NULL DEFAULT '',"
	"  skus_json TEXT NOT NULL DEFAULT '[]',"
	"  list_pos INTEGER NOT NULL DEFAULT 0,"
	"  synced_ms INTEGER NOT NULL DEFAULT 0,"   /* the run that listed it last */
	"  detail_ms INTEGER NOT NULL DEFAULT 0,"
	"  gone INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE TABLE items_polish ("
	"  item_id TEXT NOT NULL,"
	"  day TEXT NOT NULL,"                      /* Beijing YYYY-MM-DD */
	"  result TEXT NOT NULL,"                   /* ok duplicate skipped failed: ... */
	"  ms INTEGER NOT NULL,"
	"  PRIMARY KEY (item_id, day)"
	") STRICT",
	/* 2: the description of the item's detail (plain text, cut to
	 * IT_DESC_MAX bytes at a character boundary; the agent plugin reads it).
	 * desc is an SQL keyword: always quoted. */
	"ALTER TABLE items_item ADD COLUMN \"desc\" TEXT NOT NULL DEFAULT ''",
	NULL
};

/* ---- timers ------------------------------------------------------------------------- */

/* The refresh timer fired: a sync when connected, else at the next CONNECTED. */
static void it_on_refresh(sk_plugin *p, uint64_t id, void *ud)
{
	it_state *st = p->ud;

	(void)id;
	(void)ud;
	if (!st)
		return;
	st->refresh_timer = 0;
	if (sk_session_state(p) == SK_STATE_CONNECTED)
		items_sync_start(p, "refresh");
	else
		st->last_failed = 1;   /* due: the next CONNECTED syncs */
}

/* (Re)arms the one refresh/retry timer: delay_ms from now. */
void items_schedule(sk_plugin *p, int64_t delay_ms)
{
	it_state *st = p->ud;

	if (st->refresh_timer)
		sk_timer_cancel(p, st->refresh_timer);
	st->refresh_timer = 0;
	if (sk_timer_add(p, (uint64_t)(delay_ms > 0 ? delay_ms : 0), 0, it_on_refresh, NULL, NULL,
			 &st->refresh_timer) < 0) {
		st->refresh_timer = 0;
		sk_log(p, SK_LOG_ERR, "cannot schedule the next item sync");
	}
}

/* Every minute: the polish chore looks whether today's round is due. */
static void it_on_polish_check(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	if (p->ud)
		items_polish_check(p);
}

/* ---- events ------------------------------------------------------------------------- */

/* The session is CONNECTED: sync when none ever reached its end, or the last stopped early. */
static int it_on_session(sk_plugin *p, const sk_event *e, void *ud)
{
	it_state *st = p->ud;

	(void)ud;
	if (!st || e->state != SK_STATE_CONNECTED)
		return SK_PASS;
	if (!st->synced_ms || st->last_failed)
		items_sync_start(p, "connected");
	items_polish_check(p);
	return SK_PASS;
}

/* "core.reload": the polish rules again (a refused file changes nothing). */
static int it_on_reload(sk_plugin *p, const sk_event *e, void *ud)
{
	it_state *st = p->ud;
	it_polish *pl;

	(void)ud;
	if (!st || strcmp(e->topic, "core.reload") || strcmp(e->from_plugin, "core"))
		return SK_PASS;
	if ((pl = items_polish_load(p))) {
		items_polish_free(st->polish);
		st->polish = pl;
	}
	items_polish_check(p);
	return SK_PASS;
}

/* ---- init ------------------------------------------------------------------------------- */

static void it_state_free(it_state *st)
{
	if (!st)
		return;
	items_polish_free(st->polish);
	free(st->ids);
	free(st);
}

static void it_fini(sk_plugin *p)
{
	it_state_free(p->ud);
	p->ud = NULL;
}

/* Reads and checks the config section. */
static int it_config(sk_plugin *p, it_state *st)
{
	struct { const char *key; int64_t *v, def, lo, hi; } ints[] = {
		{ "page_size", &st->page_size, 20, 1, 100 },
		{ "page_gap_ms", &st->page_gap_ms, 1000, 0, 600000 },
		{ "max_pages", &st->max_pages, 50, 1, 1000 },
		{ "detail_gap_ms", &st->detail_gap_ms, 500, 0, 600000 },
		{ "refresh_s", &st->refresh_s, 10800, 1, 30 * 86400 },
		{ "retry_s", &st->retry_s, 60, 1, 86400 },
		{ "polish_gap_ms", &st->polish_gap_ms, 2000, 0, 600000 },
	};
	const char *gid = sk_config_str(p, "group_id", "58877261"), *gname = sk_config_str(p, "group_name", "在售");

	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		*ints[i].v = sk_config_int(p, ints[i].key, ints[i].def);
		if (*ints[i].v < ints[i].lo || *ints[i].v > ints[i].hi) {
			sk_log(p, SK_LOG_ERR, "items.%s must be %lld to %lld, not %lld", ints[i].key, (long long)ints[i].lo,
			       (long long)ints[i].hi, (long long)*ints[i].v);
			return SK_ERR_CONFIG;
		}
	}
	if (!*gid || strlen(gid) >= sizeof st->group_id || strlen(gname) >= sizeof st->group_name) {
		sk_log(p, SK_LOG_ERR, "items.group_id (not empty) and items.group_name must be at most 63 bytes");
		return SK_ERR_CONFIG;
	}
	snprintf(st->group_id, sizeof st->group_id, "%s", gid);
	snprintf(st->group_name, sizeof st->group_name, "%s", gname);
	return SK_OK;
}

/* The first sync waits for CONNECTED (it_on_session); when the session is
 * already up, it starts on the first loop turn. */
static void it_on_start(sk_plugin *p, uint64_t id, void *ud)
{
	(void)id;
	(void)ud;
	if (p->ud && sk_session_state(p) == SK_STATE_CONNECTED) {
		items_sync_start(p, "start");
		items_polish_check(p);
	}
}

static int it_init(sk_plugin *p)
{
	sk_filter reload = { .topic = "core.reload" };
	it_state *st = calloc(1, sizeof *st);
	int rc;

	if (!st)
		return SK_ERR_NOMEM;
	if ((rc = it_config(p, st)) < 0)
		goto fail;
	if (!(st->polish = items_polish_load(p)) && !(st->polish = calloc(1, sizeof *st->polish))) {
		rc = SK_ERR_NOMEM;
		goto fail;
	}
	p->ud = st;
	if ((rc = sk_subscribe(p, SK_MASK(SK_EV_SESSION), NULL, 0, it_on_session, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_subscribe(p, SK_MASK(SK_EV_PLUGIN), &reload, 0, it_on_reload, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, 0, 0, it_on_start, NULL, NULL, NULL)) < 0 ||
	    (rc = sk_timer_add(p, IT_POLISH_CHECK_MS, IT_POLISH_CHECK_MS, it_on_polish_check, NULL, NULL, NULL)) < 0)
		goto fail;
	items_controls_add(p);
	return SK_OK;
fail:
	it_state_free(st);
	p->ud = NULL;
	return rc;
}

SK_PLUGIN(.name = "items", .version = "1.0",
	  .description = "The seller's items synced from the platform (titles, prices, stock, skus, pictures); "
			 "the daily polish chore",
	  .init = it_init, .fini = it_fini, .config_keys = it_keys, .migrations = it_migrations,
	  .rules_check = items_rules_check);
