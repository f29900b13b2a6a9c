/* SPDX-License-Identifier: MIT */
/*
 * plugins/items/items_ctl.c - the control commands items_list and
 * items_refresh (web/API.md).
 */

#include "items_int.h"

/* One items_item row as an items_list entry, added to the array ud. */
static int it_row_item(sk_plugin *p, int n, const sk_value *c, void *ud)
{
	cJSON *o = cJSON_CreateObject(), *skus;
	char yuan[32];

	(void)p;
	if (n < 12 || !o)
		return 1;
	cJSON_AddStringToObject(o, "item_id", c[0].s ? c[0].s : "");
	cJSON_AddStringToObject(o, "title", c[1].s ? c[1].s : "");
	if (c[2].type == SK_INT) {
		items_yuan(c[2].i, yuan, sizeof yuan);
		cJSON_AddStringToObject(o, "price", yuan);
	} else {
		cJSON_AddNullToObject(o, "price");
	}
	if (c[3].type == SK_INT)
		cJSON_AddNumberToObject(o, "quantity", (double)c[3].i);
	else
		cJSON_AddNullToObject(o, "quantity");
	cJSON_AddNumberToObject(o, "status", (double)c[4].i);
	cJSON_AddStringToObject(o, "status_text", c[5].s ? c[5].s : "");
	cJSON_AddStringToObject(o, "pic_url", c[6].s ? c[6].s : "");
	skus = c[7].s ? cJSON_Parse(c[7].s) : NULL;
	cJSON_AddItemToObject(o, "skus", cJSON_IsArray(skus) ? skus : (cJSON_Delete(skus), cJSON_CreateArray()));
	cJSON_AddNumberToObject(o, "synced_ms", (double)c[8].i);
	cJSON_AddBoolToObject(o, "gone", c[9].i != 0);
	cJSON_AddStringToObject(o, "polished_day", c[10].type == SK_TEXT && c[10].s ? c[10].s : "");
	cJSON_AddStringToObject(o, "desc", c[11].s ? c[11].s : "");
	cJSON_AddItemToArray(ud, o);
	return 0;
}

/* items_list {limit}: the items, listed ones first in the platform's order. */
static int it_ctl_list(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	it_state *st = p->ud;
	cJSON *d = skctl_data(p, command, data_json), *out, *arr;
	int64_t limit;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	limit = skctl_count(p, command, d, "limit", 500, 5000);
	cJSON_Delete(d);
	if (limit < 0)
		return SK_ERR_INVAL;
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "items");
	{
		sk_value v[1] = { SK_VINT(limit) };

		if (sk_db_exec(p, "SELECT item_id, title, price, quantity, status, status_text, pic_url, skus_json, "
			       "synced_ms, gone, (SELECT max(day) FROM items_polish WHERE items_polish.item_id = "
			       "items_item.item_id AND result IN ('ok', 'duplicate')), \"desc\" FROM items_item "
			       "ORDER BY gone, list_pos, item_id LIMIT ?1", v, 1, it_row_item, arr) < 0) {
			cJSON_Delete(out);
			return skctl_fail(p, SK_ERR_DB, "%s: cannot read the items", command);
		}
	}
	cJSON_AddNumberToObject(out, "synced_ms", (double)st->synced_ms);
	cJSON_AddBoolToObject(out, "refreshing", st->running);
	cJSON_AddStringToObject(out, "last_error", st->last_error);
	return skctl_answer(p, out);
}

/* items_refresh {}: a sync now, unless one runs. */
static int it_ctl_refresh(sk_plugin *p, const char *command, const char *data_json, void *ud)
{
	cJSON *d = skctl_data(p, command, data_json), *out;
	int started;

	(void)ud;
	if (!d)
		return SK_ERR_INVAL;
	cJSON_Delete(d);
	started = items_sync_start(p, "items_refresh");
	out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "started", started);
	cJSON_AddBoolToObject(out, "refreshing", ((it_state *)p->ud)->running);
	return skctl_answer(p, out);
}

/* Registers the commands (a refused name is logged, the plugin goes on). */
void items_controls_add(sk_plugin *p)
{
	static const skctl_row rows[] = {
		{ "items_list", "the seller's items synced from the platform: titles, prices, stock, skus", it_ctl_list },
		{ "items_refresh", "syncs the items from the platform now", it_ctl_refresh },
	};

	skctl_add_all(p, rows, sizeof rows / sizeof rows[0]);
}
