/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_scenario.c - scripted scenarios (a JSON list of control calls
 * with delays, used by the demo) and the load mode used by `make bench`.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_CID_BASE 900000000ull
#define LOAD_ITEM "40004"          /* the load chats' item, defined when a run starts */

/* Runs the next step and schedules the one after it. */
static void scen_cb(lws_sorted_usec_list_t *sul)
{
	cJSON *step, *out = NULL, *next;
	char *txt;
	int st;

	(void)sul;
	if (!S.scenario || !(step = cJSON_DetachItemFromArray(S.scenario, 0)))
		return;
	st = sim_ctl_call(sim_jstr(step, "method", "POST"), sim_jstr(step, "call", ""), "",
			  cJSON_GetObjectItemCaseSensitive(step, "body"), &out);
	txt = out ? cJSON_PrintUnformatted(out) : NULL;
	lwsl_user("sim: scenario %s -> %d %s\n", sim_jstr(step, "call", ""), st, txt ? txt : "");
	free(txt);
	cJSON_Delete(out);
	cJSON_Delete(step);
	next = cJSON_GetArrayItem(S.scenario, 0);
	if (next) {
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(next, "after_ms");

		lws_sul_schedule(S.ctx, 0, &S.scen_sul, scen_cb,
				 (lws_usec_t)(cJSON_IsNumber(ms) ? ms->valuedouble : 0) * LWS_US_PER_MS + 1);
	} else {
		lwsl_user("sim: scenario done\n");
	}
}

static void scen_start(void)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(S.scenario, 0), "after_ms");

	lws_sul_schedule(S.ctx, 0, &S.scen_sul, scen_cb,
			 (lws_usec_t)(cJSON_IsNumber(ms) ? ms->valuedouble : 0) * LWS_US_PER_MS + 1);
}

/* Takes over scn: {"start": "on_register"|"now", "items": [...], "steps": [...]}.
 * Each step is {"after_ms": n, "call": "/inject", "method": "POST", "body": {...}}.
 * Returns 0, or -1 with err set (scn is freed either way). */
int sim_scenario_load(cJSON *scn, char *err, size_t errlen)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(scn, "steps"), *x, *out;
	const char *start = sim_jstr(scn, "start", "on_register");
	int i = 0;

	if (!cJSON_IsArray(steps)) {
		snprintf(err, errlen, "scenario: \"steps\" must be an array");
		goto bad;
	}
	cJSON_ArrayForEach(x, steps) {
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(x, "after_ms");
		const char *call = sim_jstr(x, "call", NULL);

		if (!cJSON_IsObject(x) || !call || call[0] != '/' || (ms && (!cJSON_IsNumber(ms) || ms->valuedouble < 0))) {
			snprintf(err, errlen, "scenario: step %d needs \"call\" (a control path) and a non-negative \"after_ms\"", i);
			goto bad;
		}
		i++;
	}
	if (strcmp(start, "on_register") && strcmp(start, "now")) {
		snprintf(err, errlen, "scenario: \"start\" is \"on_register\" or \"now\"");
		goto bad;
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(scn, "items")) {
		out = NULL;
		if (sim_ctl_call("POST", "/item", "", x, &out) != 200) {
			cJSON_Delete(out);
			snprintf(err, errlen, "scenario: bad item");
			goto bad;
		}
		cJSON_Delete(out);
	}
	lws_sul_cancel(&S.scen_sul);
	cJSON_Delete(S.scenario);
	S.scenario = cJSON_DetachItemFromObjectCaseSensitive(scn, "steps");
	S.scenario_on_register = !strcmp(start, "on_register");   /* start points into scn */
	cJSON_Delete(scn);
	if (!S.scenario_on_register)
		scen_start();
	return 0;
bad:
	cJSON_Delete(scn);
	return -1;
}

/* A bot registered: start a scenario that waits for one. */
void sim_scenario_on_register(void)
{
	if (S.scenario && S.scenario_on_register) {
		S.scenario_on_register = 0;
		scen_start();
	}
}

/* Pushes load messages while fewer than `window` are un-ACKed. */
static void load_pump(void)
{
	sim_load *L = &S.load;
	sim_account *a = sim_account_get(L->seller, 0);
	char cid[24], err[128];

	while (a && L->running && L->pushed < L->n && L->pushed - L->acked < L->window) {
		int i = L->pushed;
		cJSON *spec = cJSON_CreateObject(), *items = cJSON_CreateArray(), *it;

		snprintf(cid, sizeof cid, "%llu", LOAD_CID_BASE + (unsigned long long)i);
		cJSON_AddStringToObject(spec, "kind", "text");
		cJSON_AddStringToObject(spec, "cid", cid);
		cJSON_AddStringToObject(spec, "item_id", LOAD_ITEM);
		cJSON_AddStringToObject(spec, "text", L->text);
		it = sim_item_build(spec, a, NULL, err, sizeof err);
		cJSON_Delete(spec);
		if (!it) {
			cJSON_Delete(items);
			L->running = 0;
			return;
		}
		cJSON_AddItemToArray(items, it);
		L->push_us[i] = util_mono_us();
		L->pushed++;
		if (sim_push_send(a, "/s/sync", items, i, NULL) < 0)
			L->running = 0;
	}
}

/* The latency is the bot's: from the push on the wire (not from when the
 * simulator queued it behind its own answers) to the reply. */
void sim_load_on_write(int idx)
{
	if (idx >= 0 && idx < S.load.n && S.load.push_us && S.load.lat_us && S.load.lat_us[idx] < 0)
		S.load.push_us[idx] = util_mono_us();
}

void sim_load_on_ack(int idx)
{
	if (idx < 0 || idx >= S.load.n)
		return;
	S.load.acked++;
	load_pump();
}

/* A bot's send to a load chat ends that message's latency measurement. */
void sim_load_on_send(const char *cid)
{
	sim_load *L = &S.load;
	unsigned long long v = strtoull(cid, NULL, 10);
	int64_t idx;

	if (!L->lat_us || v < LOAD_CID_BASE)
		return;
	idx = (int64_t)(v - LOAD_CID_BASE);
	if (idx >= L->n || L->lat_us[idx] >= 0)
		return;
	L->lat_us[idx] = util_mono_us() - L->push_us[idx];
	if (++L->replied == L->n) {
		L->end_us = util_mono_us();
		L->running = 0;
	}
}

/* POST /load {"n", "window", "seller", "text"}: starts a run. 0 or -1 with err. */
int sim_load_start(cJSON *b, char *err, size_t errlen)
{
	sim_load *L = &S.load;
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "n"), *w = cJSON_GetObjectItemCaseSensitive(b, "window");
	sim_account *a = sim_default_account(sim_jstr(b, "seller", NULL));
	int i;

	if (!cJSON_IsNumber(n) || n->valuedouble < 1 || n->valuedouble > 10000000) {
		snprintf(err, errlen, "\"n\" must be 1..10000000");
		return -1;
	}
	if (!a || !sim_conn_registered(a)) {
		snprintf(err, errlen, "no registered bot for the load run");
		return -1;
	}
	free(L->push_us);
	free(L->lat_us);
	memset(L, 0, sizeof *L);
	L->n = n->valueint;
	L->window = cJSON_IsNumber(w) && w->valueint > 0 ? w->valueint : 32;
	snprintf(L->seller, sizeof L->seller, "%s", a->unb);
	snprintf(L->text, sizeof L->text, "%s", sim_jstr(b, "text", "多少钱"));
	L->push_us = calloc((size_t)L->n, sizeof *L->push_us);
	L->lat_us = malloc((size_t)L->n * sizeof *L->lat_us);
	if (!L->push_us || !L->lat_us) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < L->n; i++)
		L->lat_us[i] = -1;
	/* the chats are about an item the detail API knows (one defined
	 * earlier, by POST /item or a scenario, is kept as it is) */
	if (!sim_item_get(LOAD_ITEM, 1)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	L->running = 1;
	L->start_us = util_mono_us();
	load_pump();
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* {"running","n","pushed","acked","replied","elapsed_ms","p50_us","p90_us","p99_us","max_us"} */
cJSON *sim_load_report(void)
{
	sim_load *L = &S.load;
	cJSON *r = cJSON_CreateObject();
	int64_t *v = NULL, end = L->end_us ? L->end_us : util_mono_us();
	int i, k = 0;

	cJSON_AddBoolToObject(r, "running", L->running);
	cJSON_AddNumberToObject(r, "n", L->n);
	cJSON_AddNumberToObject(r, "pushed", L->pushed);
	cJSON_AddNumberToObject(r, "acked", L->acked);
	cJSON_AddNumberToObject(r, "replied", L->replied);
	cJSON_AddNumberToObject(r, "elapsed_ms", L->start_us ? (double)(end - L->start_us) / 1000.0 : 0);
	if (L->replied && (v = malloc((size_t)L->replied * sizeof *v))) {
		for (i = 0; i < L->n; i++)
			if (L->lat_us[i] >= 0)
				v[k++] = L->lat_us[i];
		qsort(v, (size_t)k, sizeof *v, cmp_i64);
		cJSON_AddNumberToObject(r, "p50_us", (double)v[k * 50 / 100]);
		cJSON_AddNumberToObject(r, "p90_us", (double)v[k * 90 / 100]);
		cJSON_AddNumberToObject(r, "p99_us", (double)v[k * 99 / 100]);
		cJSON_AddNumberToObject(r, "max_us", (double)v[k - 1]);
		free(v);
	}
	return r;
}
