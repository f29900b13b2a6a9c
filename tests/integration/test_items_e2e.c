/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_items_e2e.c - the items plugin in the real bot
 * against the simulator: once connected it syncs the seller's items (list
 * pages, then details), which items_list shows over the control socket
 * (`shopkeep ctl`) with titles, prices in yuan, stock, skus and pictures; an
 * item delisted in the simulator is kept as gone after items_refresh; the
 * polish chore polishes each chosen item once, and a restart the same day
 * polishes nothing again (items_polish in state.db).
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000071"

static tc_sim sim;
static tbot bot;

/* `shopkeep ctl --config <cfg> <command> '<data>'`: its JSON answer (caller deletes), NULL on failure. */
static cJSON *ctl(const char *command, const char *data)
{
	char cmd[1500];
	const char *out;
	int st;

	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' ctl --config '%s' %s '%s' 2>&1", tbot_build_dir(), bot.cfg,
		 command, data);
	out = tbot_sh(cmd, &st);
	if (st != 0) {
		diag("ctl %s: exit %d: %.300s", command, st, out);
		return NULL;
	}
	return cJSON_Parse(out);
}

/* items_list once it shows a finished sync newer than after_ms (bounded), else NULL. */
static cJSON *wait_synced(double after_ms, int timeout_ms)
{
	int64_t end = util_mono_us() / 1000 + timeout_ms;

	while (util_mono_us() / 1000 < end) {
		cJSON *l = ctl("items_list", "{}");

		if (l && tc_jnum(l, "synced_ms") > after_ms && cJSON_IsFalse(tc_jget(l, "refreshing")))
			return l;
		cJSON_Delete(l);
		usleep(100000);
	}
	return NULL;
}

/* The items_list entry of id (borrowed), NULL when absent. */
static const cJSON *item_of(const cJSON *l, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, tc_jget(l, "items"))
		if (tc_jstr(it, "item_id") && !strcmp(tc_jstr(it, "item_id"), id))
			return it;
	return NULL;
}

/* A counter of GET /items for the simulator's item id, -1 when absent. */
static double sim_item_num(const char *id, const char *field)
{
	cJSON *all = tc_ctl(sim.ctl_port, "GET", "/items", NULL, NULL), *it;
	double v = -1;

	cJSON_ArrayForEach(it, tc_jget(all, "items"))
		if (tc_jstr(it, "item_id") && !strcmp(tc_jstr(it, "item_id"), id))
			v = tc_jnum(it, field);
	cJSON_Delete(all);
	return v;
}

static int wait_polished(const char *id, int timeout_ms)
{
	int64_t end = util_mono_us() / 1000 + timeout_ms;

	while (util_mono_us() / 1000 < end) {
		if (sim_item_num(id, "polishes") >= 1)
			return 1;
		usleep(100000);
	}
	return 0;
}

static int64_t db_int(const char *sql)
{
	char path[400];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	snprintf(path, sizeof path, "%s/state.db", bot.dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

int main(void)
{
	char cfg[2048], path[400];
	const cJSON *it;
	cJSON *l, *r;
	double synced;
	FILE *f;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts") || !ok(tbot_init(&bot, &sim) == 0, "temp dir"))
		return tap_done();
	tsim_ctl(&sim, "/item", "{\"item_id\":\"80001\",\"title\":\"话费充值卡\",\"price\":4990,\"quantity\":9,"
		 "\"skus\":[{\"spec\":\"面值:50元\",\"price\":4990,\"quantity\":5},{\"spec\":\"面值:100元\",\"price\":9950,"
		 "\"quantity\":4}]}");
	tsim_ctl(&sim, "/item", "{\"item_id\":\"80002\",\"title\":\"会员月卡\",\"price\":990,\"quantity\":30}");
	tsim_ctl(&sim, "/item", "{\"item_id\":\"80003\",\"title\":\"会员年卡\",\"price\":9900,\"quantity\":2,"
		 "\"pic_url\":\"https://img.alicdn.com/imgextra/i2/year.jpg\"}");
	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	if ((f = fopen(path, "w"))) {
		/* hour 0: due at any hour of the Beijing day */
		fputs("{\"chores\":{\"polish\":{\"enabled\":true,\"items\":[\"80001\",\"80002\"],\"hour\":0}}}\n", f);
		fclose(f);
	}
	snprintf(cfg, sizeof cfg,
		 "{\"account\":{\"id\":\"it1\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"web\":{\"listen\":\"off\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"items\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"items\":{\"page_size\":2,\"page_gap_ms\":100,\"detail_gap_ms\":50,\"polish_gap_ms\":200}}\n",
		 tbot_build_dir());
	tbot_config(&bot, cfg);

	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers");
	l = wait_synced(0, 15000);
	if (!ok(l != NULL, "items_list shows a finished sync"))
		goto out;
	is_int(cJSON_GetArraySize(tc_jget(l, "items")), 3, "three items, over two list pages");
	it = item_of(l, "80001");
	ok(it && !strcmp(tc_jstr(it, "title"), "话费充值卡") && !strcmp(tc_jstr(it, "price"), "49.90") &&
	   tc_jnum(it, "quantity") == 9, "80001: title, price in yuan, stock");
	ok(it && cJSON_GetArraySize(tc_jget(it, "skus")) == 2 && tc_jstr(it, "skus.1.spec") &&
	   !strcmp(tc_jstr(it, "skus.1.spec"), "面值:100元") && !strcmp(tc_jstr(it, "skus.1.price"), "99.50") &&
	   tc_jnum(it, "skus.1.quantity") == 4, "80001: skus with spec, price from fen, stock");
	ok(it && tc_jstr(it, "pic_url") && !strncmp(tc_jstr(it, "pic_url"), "https://img.alicdn.com/", 23),
	   "80001: a picture on the platform's image host");
	it = item_of(l, "80003");
	ok(it && !strcmp(tc_jstr(it, "pic_url"), "https://img.alicdn.com/imgextra/i2/year.jpg") &&
	   !strcmp(tc_jstr(it, "status_text"), "在售") && cJSON_IsFalse(tc_jget(it, "gone")), "80003: its own picture, on sale");
	is_str(tc_jstr(l, "last_error"), "", "no error");
	synced = tc_jnum(l, "synced_ms");
	cJSON_Delete(l);

	ok(wait_polished("80001", 10000) && wait_polished("80002", 10000), "polish: both chosen items polished");
	ok(sim_item_num("80003", "polish_calls") == 0, "polish: an item not chosen is left alone");

	/* delist 80002: after a refresh it is kept as gone */
	tsim_ctl(&sim, "/item", "{\"item_id\":\"80002\",\"status\":1}");
	r = ctl("items_refresh", "{}");
	ok(r && cJSON_IsTrue(tc_jget(r, "started")), "items_refresh starts a sync");
	cJSON_Delete(r);
	l = wait_synced(synced, 15000);
	ok(l && item_of(l, "80002") && cJSON_IsTrue(tc_jget(item_of(l, "80002"), "gone")) &&
	   cJSON_IsFalse(tc_jget(item_of(l, "80001"), "gone")), "a delisted item is kept as gone");
	ok(l && tc_jstr(item_of(l, "80001"), "polished_day") && strlen(tc_jstr(item_of(l, "80001"), "polished_day")) == 10,
	   "items_list: polished_day of a polished item");
	cJSON_Delete(l);

	/* a restart the same day polishes nothing again */
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_start(&bot);
	l = wait_synced(0, 15000);
	ok(l != NULL, "after a restart the items sync again");
	cJSON_Delete(l);
	usleep(1500000);
	ok(sim_item_num("80001", "polish_calls") == 1 && sim_item_num("80002", "polish_calls") == 1,
	   "polish: no second call the same day after a restart");
	is_int(db_int("SELECT count(*) FROM items_polish WHERE result = 'ok'"), 2, "items_polish: one ok row per item");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
out:
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
