/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/page_api.h - a test's client of the account's page API
 * (web/API.md): one HTTP request, the setup-token login, the session's CSRF
 * token and POST /api/control, over tests/sim/tclient's tc_http. Header-only
 * (static inline), like web_driver.h: an integration test includes it after
 * tbot.h and tclient.h.
 */
#ifndef SK_TEST_PAGE_API_H
#define SK_TEST_PAGE_API_H

#include "sim/tbot.h"
#include "sim/tclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The page of one bot: its web port, and the session cookie and CSRF token
 * once logged in. */
typedef struct {
	int port;
	char cookie[128];
	char csrf[80];
} page_api;

/* One request to the page: the status (-1 when none came); *out (may be NULL)
 * the parsed answer (NULL when not JSON); keep (may be NULL) gets the whole
 * answer, for the caller to tc_http_free. */
static inline int papi_req(page_api *a, const char *method, const char *path, const char *hdrs, const char *body,
			   cJSON **out, tc_http_resp *keep)
{
	tc_http_resp r;
	int st;

	if (out)
		*out = NULL;
	if (tc_http(a->port, method, path, hdrs, body, body ? strlen(body) : 0, &r, 5000))
		return -1;
	st = r.status;
	if (out)
		*out = cJSON_ParseWithLength(r.body, r.body_len);
	if (keep)
		*keep = r;
	else
		tc_http_free(&r);
	return st;
}

/* Reads the session's CSRF token (GET /api/session) into a->csrf ("" when none). */
static inline void papi_read_csrf(page_api *a)
{
	char h[200];
	cJSON *j;

	snprintf(h, sizeof h, "Cookie: %s\r\n", a->cookie);
	a->csrf[0] = '\0';
	if (papi_req(a, "GET", "/api/session", h, NULL, &j, NULL) == 200 && tc_jstr(j, "csrf"))
		snprintf(a->csrf, sizeof a->csrf, "%s", tc_jstr(j, "csrf"));
	cJSON_Delete(j);
}

/* Logs in with the setup token bot b logged, setting password pw (waits up
 * to 5 s for the page to answer), then reads the CSRF token; 0 or -1. */
static inline int papi_login(page_api *a, tbot *b, const char *pw)
{
	char tok[128], body[300], *sc;
	tc_http_resp r;
	int st;

	for (int i = 0; i < 50 && papi_req(a, "GET", "/api/session", NULL, NULL, NULL, NULL) != 200; i++)
		usleep(100000);
	tbot_setup_token(b, tok, sizeof tok);
	snprintf(body, sizeof body, "{\"setup_token\":\"%s\",\"password\":\"%s\"}", tok, pw);
	st = papi_req(a, "POST", "/api/login", NULL, body, NULL, &r);
	if (st != 200) {
		if (st >= 0)
			tc_http_free(&r);
		return -1;
	}
	sc = tc_http_header(&r, "Set-Cookie", 0);
	snprintf(a->cookie, sizeof a->cookie, "%.*s", sc ? (int)strcspn(sc, ";") : 0, sc ? sc : "");
	free(sc);
	tc_http_free(&r);
	papi_read_csrf(a);
	return 0;
}

/* A control command with its data text (NULL: none) over POST /api/control:
 * the HTTP status, *out (may be NULL) the answer. */
static inline int papi_control(page_api *a, const char *cmd, const char *data, cJSON **out)
{
	char b[2048], h[400];

	snprintf(h, sizeof h, "Cookie: %s\r\nContent-Type: application/json\r\nX-CSRF-Token: %s\r\n", a->cookie,
		 a->csrf);
	snprintf(b, sizeof b, "{\"request_id\":\"t\",\"command\":\"%s\"%s%s}", cmd, data ? ",\"data\":" : "",
		 data ? data : "");
	return papi_req(a, "POST", "/api/control", h, b, out, NULL);
}

#endif
