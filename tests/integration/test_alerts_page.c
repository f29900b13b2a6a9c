/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_alerts_page.c - the alerts as the web page and the
 * demo use them, in the real bot against the simulator: notify without a
 * url keeps an alert pending ("no webhook set"); notify_configure over POST
 * /api/control points it at the simulator's /webhook receiver (as the demo
 * does) and the waiting alert arrives there, with its Chinese default text;
 * notify_settings answers the url masked, never the token; a bad template
 * is a 400 naming its kind; orders_stats answers today's row.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "page_api.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000079"
#define PW "correct horse 42"
#define WAIT_MS 8000
#define TOKEN "t0ken5ecretvalue99"

static tc_sim sim;
static page_api pa;   /* the bot's page (pa.port its web port) */


/* The bodies the simulator's /webhook received (caller deletes), NULL on failure. */
static cJSON *received(void)
{
	tc_http_resp r;
	cJSON *j;

	if (tc_http(sim.port, "GET", "/webhook", NULL, NULL, 0, &r, 3000))
		return NULL;
	j = cJSON_ParseWithLength(r.body, r.body_len);
	tc_http_free(&r);
	return j;
}

/* Polls /webhook until a body of this kind arrived: its text (static), or "". */
static const char *wait_kind(const char *kind, int ms)
{
	static char out[600];
	int64_t end = util_mono_us() / 1000 + ms;

	out[0] = '\0';
	while (util_mono_us() / 1000 < end) {
		cJSON *j = received();
		const cJSON *e;

		cJSON_ArrayForEach(e, tc_jget(j, "received"))
			if (tc_jstr(e, "kind") && !strcmp(tc_jstr(e, "kind"), kind))
				snprintf(out, sizeof out, "%s", tc_jstr(e, "text") ? tc_jstr(e, "text") : "");
		cJSON_Delete(j);
		if (*out)
			return out;
		usleep(100000);
	}
	return out;
}

int main(void)
{
	tbot bot;
	char json[2048], data[400], *s;
	cJSON *out;
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && (pa.port = tbot_free_port()) > 0, "a temp dir and a free port"))
		return tap_done();
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"alerts\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"notify\",\"orders\"]},\n"
		 " \"notify\":{\"retry_base_ms\":200},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true}}\n",
		 tbot_build_dir(), pa.port, tbot_root_dir());
	tbot_config(&bot, json);
	tbot_start(&bot);
	if (!ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0 && papi_login(&pa, &bot, PW) == 0, "the bot registers, login"))
		goto out;
	ok(tbot_log_has(&bot, "no webhook set"), "notify starts without a url (logged)");
	st = papi_control(&pa, "notify_test", NULL, &out);
	is_int(st, 200, "notify_test without a url: queued");
	cJSON_Delete(out);
	st = papi_control(&pa, "notify_list", NULL, &out);
	ok(st == 200 && tc_jstr(out, "data.alerts.0.state") && !strcmp(tc_jstr(out, "data.alerts.0.state"), "pending") &&
	   !strcmp(tc_jstr(out, "data.alerts.0.last_error") ?: "", "no webhook set"), "kept pending: no webhook set");
	cJSON_Delete(out);
	st = papi_control(&pa, "notify_configure", "{\"templates\":{\"test\":\"{\\\"a\\\":{{text}}}\"}}", &out);
	ok(st == 400 && strstr(tc_jstr(out, "error") ?: "", "templates.test"), "a bad template: 400 naming its kind (%s)",
	   tc_jstr(out, "error") ?: "");
	cJSON_Delete(out);
	snprintf(data, sizeof data, "{\"url\":\"http://127.0.0.1:%d/webhook?access_token=" TOKEN "\"}", sim.port);
	st = papi_control(&pa, "notify_configure", data, &out);
	is_int(st, 200, "notify_configure: the simulator's receiver");
	s = out ? cJSON_PrintUnformatted(out) : NULL;
	ok(s && !strstr(s, TOKEN) && strstr(s, "access_token=t0****99"), "the answer masks the token (%s)",
	   tc_jstr(out, "data.url") ?: "");
	free(s);
	cJSON_Delete(out);
	is_str(wait_kind("test", WAIT_MS), "来自 shopkeep 的测试提醒", "the waiting alert arrives, its text in Chinese");
	st = papi_control(&pa, "notify_settings", NULL, &out);
	ok(st == 200 && !strcmp(tc_jstr(out, "data.source.url") ?: "", "page") && cJSON_IsTrue(tc_jget(out, "data.url_set")),
	   "notify_settings: the page's url in force");
	cJSON_Delete(out);
	ok(!tbot_log_has(&bot, TOKEN), "the token is not in the bot's log");
	st = papi_control(&pa, "orders_stats", "{\"days\":7}", &out);
	ok(st == 200 && cJSON_GetArraySize(tc_jget(out, "data.days")) == 7 &&
	   !strcmp(tc_jstr(out, "data.days.6.revenue") ?: "", "0.00"), "orders_stats: seven days, today last");
	cJSON_Delete(out);
out:
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
