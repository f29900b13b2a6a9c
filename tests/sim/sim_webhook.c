/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/sim_webhook.c - a small alert receiver on the platform port, for
 * the demo's notify plugin (notify.url = http://127.0.0.1:<port>/webhook):
 * POST /webhook keeps the JSON body (the last SIM_WEBHOOK_KEEP) and logs one
 * line "webhook: <kind> <text>" on stderr (stdout is the ready line only:
 * nobody reads that pipe afterwards); GET /webhook answers
 * {"received":[...bodies, oldest first...]}. A body that is not JSON is a 400
 * and is not kept.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_WEBHOOK_KEEP 200

static cJSON *wh_kept[SIM_WEBHOOK_KEEP];
static int wh_n, wh_head;       /* bodies kept; the oldest's slot */

/* Keeps body (taken over), dropping the oldest when full. */
static void wh_keep(cJSON *body)
{
	if (wh_n == SIM_WEBHOOK_KEEP) {
		cJSON_Delete(wh_kept[wh_head]);
		wh_kept[wh_head] = body;
		wh_head = (wh_head + 1) % SIM_WEBHOOK_KEEP;
		return;
	}
	wh_kept[(wh_head + wh_n) % SIM_WEBHOOK_KEEP] = body;
	wh_n++;
}

/* Answers /webhook (POST records, GET lists) on the platform port. Returns
 * what sim_http_respond returns, or -1 when the path is not /webhook (the
 * caller goes on). */
int sim_webhook_http(struct lws *wsi, sim_pss *pss, const char *method)
{
	const char *ct = "application/json;charset=UTF-8";
	cJSON *out, *arr, *body;
	char *s;
	int r;

	if (strcmp(pss->path, "/webhook"))
		return -1;
	if (!strcmp(method, "GET")) {
		out = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(out, "received");
		for (int i = 0; i < wh_n; i++)
			cJSON_AddItemToArray(arr, cJSON_Duplicate(wh_kept[(wh_head + i) % SIM_WEBHOOK_KEEP], 1));
		s = cJSON_PrintUnformatted(out);
		cJSON_Delete(out);
		r = sim_http_respond(wsi, pss, 200, ct, s ? s : "{\"received\":[]}", NULL);
		free(s);
		return r;
	}
	if (strcmp(method, "POST"))
		return sim_http_respond(wsi, pss, 405, ct, "{\"error\":\"GET or POST\"}", NULL);
	if (!pss->body.len || !(body = cJSON_ParseWithLength(pss->body.p, pss->body.len))) {
		fprintf(stderr, "webhook: a body that is not JSON refused (%zu bytes)\n", pss->body.len);
		return sim_http_respond(wsi, pss, 400, ct, "{\"error\":\"body is not JSON\"}", NULL);
	}
	fprintf(stderr, "webhook: %s %s\n", sim_jstr(body, "kind", "?"), sim_jstr(body, "text", ""));
	wh_keep(body);
	return sim_http_respond(wsi, pss, 200, ct, "{\"ok\":true}", NULL);
}

/* Forgets the bodies kept (sim_reset: POST /reset, and at exit). */
void sim_webhook_reset(void)
{
	for (int i = 0; i < wh_n; i++)
		cJSON_Delete(wh_kept[(wh_head + i) % SIM_WEBHOOK_KEEP]);
	memset(wh_kept, 0, sizeof wh_kept);
	wh_n = wh_head = 0;
}
