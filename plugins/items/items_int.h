/* SPDX-License-Identifier: MIT */
/*
 * plugins/items/items_int.h - what the items plugin's files share: the
 * plugin state, the polish rules, and the functions one file calls in
 * another (hidden: the plugin exports only its descriptor).
 */
#ifndef SK_PLUGINS_ITEMS_INT_H
#define SK_PLUGINS_ITEMS_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "common/skctl.h"
#include "common/skrules.h"
#include "common/sktext.h"

#define IT_API_LIST "mtop.idle.web.xyh.item.list"
#define IT_API_DETAIL "mtop.taobao.idle.pc.detail"
#define IT_API_POLISH "mtop.taobao.idle.item.polish"
#define IT_MAX_FILE (1024 * 1024)
#define IT_DESC_MAX (16 * 1024)   /* bytes of an item's description kept */
#define IT_MAX_POLISH 200          /* items in chores.polish.items */
#define IT_POLISH_CHECK_MS 60000   /* how often the polish chore looks at the clock */

/* chores.polish of the rules file. */
typedef struct {
	int enabled;
	int hour;                  /* Beijing hour (0..23) from which the day's round may run */
	char (*items)[32];         /* item ids, digits only */
	size_t nitems;
} it_polish;

typedef struct {
	/* config */
	char group_id[64], group_name[64];
	int64_t page_size, page_gap_ms, max_pages, detail_gap_ms, refresh_s, retry_s, polish_gap_ms;
	/* the sync run (one at a time) */
	int running;
	int page;                  /* the list page asked for last (from 1) */
	int complete;              /* the list ended with a short page (gone can be marked) */
	char (*ids)[32];           /* the ids of this run's list, in order */
	size_t nids, cap, next;    /* next: the detail to ask for next */
	int64_t run_ms;            /* the run's start (wall) */
	int run_errors;
	int64_t synced_ms;         /* the end of the last run that reached its end, 0 never */
	int last_failed;           /* the last run stopped early */
	int fail_streak;           /* runs in a row that stopped early */
	char last_error[300];
	int64_t errors;            /* failures counted since the start */
	uint64_t refresh_timer;    /* the pending refresh/retry timer, 0 none */
	/* the polish chore */
	it_polish *polish;         /* never NULL after init */
	int polishing;
	size_t polish_next;
	char polish_day[12];
} it_state;

#pragma GCC visibility push(hidden)

/* items.c */
void items_schedule(sk_plugin *p, int64_t delay_ms);

/* items_sync.c */
int items_sync_start(sk_plugin *p, const char *why);
int64_t items_fen(const cJSON *v);
void items_yuan(int64_t fen, char *out, size_t n);
const char *items_jtext(const cJSON *o, const char *k, char *buf, size_t n);

/* items_polish.c */
it_polish *items_polish_load(sk_plugin *p);
void items_polish_free(it_polish *pl);
int items_rules_check(const char *json, size_t len, char *errs, size_t errlen);
void items_beijing(int64_t now_ms, char *day, size_t n, int *hour);
void items_polish_check(sk_plugin *p);

/* items_ctl.c */
void items_controls_add(sk_plugin *p);

#pragma GCC visibility pop

#endif
