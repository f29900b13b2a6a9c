/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_sim_webhook.c - the simulator's alert receiver
 * (tests/sim/sim_webhook.c): POST /webhook keeps JSON bodies in order, GET
 * /webhook lists them, a body that is not JSON is a 400 and not kept, only
 * the last 200 are kept, POST /reset forgets them.
 */
#include "test_sim_client.h"

/* POSTs body to /webhook on the platform port; the HTTP status, -1 on I/O error. */
static int post(const char *body)
{
	tc_http_resp r;
	int st;

	if (tc_http(sim.port, "POST", "/webhook", "Content-Type: application/json\r\n", body, strlen(body), &r, 3000))
		return -1;
	st = r.status;
	tc_http_free(&r);
	return st;
}

/* GET /webhook parsed (caller deletes), NULL on failure. */
static cJSON *received(void)
{
	tc_http_resp r;
	cJSON *j;

	if (tc_http(sim.port, "GET", "/webhook", NULL, NULL, 0, &r, 3000))
		return NULL;
	j = r.status == 200 ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
	tc_http_free(&r);
	return j;
}

int main(void)
{
	cJSON *j;
	char b[128];
	int i, all = 1;

	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	j = received();
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "received")), 0, "nothing received at first");
	cJSON_Delete(j);
	is_int(post("{\"kind\":\"handover\",\"text\":\"买家 小李 要求人工：人工\"}"), 200, "POST a JSON body: 200");
	is_int(post("{\"kind\":\"test\",\"text\":\"t\"}"), 200, "a second one");
	is_int(post("not json"), 400, "a body that is not JSON: 400");
	j = received();
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "received")), 2, "two kept, the bad one not");
	is_str(jps(j, "received.0.kind") ?: "", "handover", "oldest first");
	is_str(jps(j, "received.0.text") ?: "", "买家 小李 要求人工：人工", "the body as posted (UTF-8)");
	is_str(jps(j, "received.1.kind") ?: "", "test", "then the second");
	cJSON_Delete(j);
	for (i = 0; i < 205; i++) {
		snprintf(b, sizeof b, "{\"kind\":\"n\",\"n\":%d}", i);
		all &= post(b) == 200;
	}
	ok(all, "205 more posted");
	j = received();
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "received")), 200, "only the last 200 kept");
	is_int((int)jpn(j, "received.0.n"), 5, "the oldest kept: the 207 posted less the first 7 (n 5)");
	is_int((int)jpn(j, "received.199.n"), 204, "the newest last");
	cJSON_Delete(j);
	ctl_ok("/reset", "{}");
	j = received();
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "received")), 0, "POST /reset forgets them");
	cJSON_Delete(j);
	is_int(tc_sim_stop(&sim), 0, "simulator exits 0");
	return tap_done();
}
