/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_api.c - libFuzzer target: one request to the web page's
 * JSON API (core/api.c), as core/web.c hands it over: api_http with a
 * hostile method, path, Cookie and X-CSRF-Token header and body, or, for the
 * method "WS", api_ws_control with the body (a logged-in WebSocket's control
 * message).
 *
 * The input is the fields separated by NUL bytes:
 *     method \0 path \0 cookie \0 csrf \0 body...
 * A field left out is NULL (the header is absent); the body is the rest of
 * the input and may hold NUL bytes. In cookie and csrf, "$T" stands for the
 * token of a live session and "$C" for its CSRF token, so that inputs reach
 * what is behind the login.
 *
 * The world is built once: a state database in a temporary folder (on
 * /dev/shm when there is one: PUT /api/rules writes and fsyncs the rules file
 * there), the admin password "fuzz-password" hashed at the cheapest cost
 * (web.pwhash_min), an auth over it on a fake clock that moves an hour per
 * request (so a login lock from failed attempts never outlives a request),
 * no session (send and status say so) and no plugins. Before each request a
 * live session is made when the last one is gone (a logout, or evicted by
 * logins).
 *
 * Besides the sanitizers it checks that every answer is a JSON object with
 * a status from 200 to 599, an "error" member for the errors, a
 * Set-Cookie value that is a whole cookie, and that the request counters add up.
 *
 * Seeds: tests/fuzz/corpus/api/ (every endpoint and method, logged in and
 * not, the control commands, and the crashes found so far); tests/fuzz/api.dict.
 */
#include "api.h"
#include "auth.h"
#include "fuzz.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <unistd.h>

#define PASSWORD "fuzz-password"

static char dir[] = "/dev/shm/sk-fuzz-api-XXXXXX";
static char dir_tmp[] = "/tmp/sk-fuzz-api-XXXXXX";
static char rules_path[128];
static config cfg;
static store *st;
static auth *au;
static api_ctx *api;
static int64_t clock_ms = 1000;
static char token[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];

static int64_t fake_now(void)
{
	return clock_ms;
}

static void reload(void *ud)
{
	(void)ud;
}

/* Removes the temporary folder at exit (a crash leaves it for a look). */
static void cleanup(void)
{
	char path[160];
	const char *d = dir[strlen(dir) - 1] != 'X' ? dir : dir_tmp;

	api_free(api);
	auth_free(au);
	store_close(st);
	for (const char *const *f = (const char *const[]){ "state.db", "state.db-wal", "state.db-shm", "rules.json",
							     NULL }; *f; f++) {
		snprintf(path, sizeof path, "%s/%s", d, *f);
		unlink(path);
	}
	rmdir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[160], err[256];
	const char *d = mkdtemp(dir);
	api_env env;

	(void)argc;
	(void)argv;
	log_set_level("error");
	if (!d)
		d = mkdtemp(dir_tmp);
	if (!d)
		return -1;
	snprintf(path, sizeof path, "%s/state.db", d);
	snprintf(rules_path, sizeof rules_path, "%s/rules.json", d);
	st = store_open(path, err, sizeof err);
	if (!st || auth_set_password(st, PASSWORD, 1, err, sizeof err)) {
		fprintf(stderr, "fuzz_api: %s\n", err);
		return -1;
	}
	au = auth_new(st, INT64_MAX / 4, 1, fake_now);
	cfg.account_id = "fuzz";
	cfg.unb = "2200000000001";
	cfg.rules = rules_path;
	memset(&env, 0, sizeof env);
	env.cfg = &cfg;
	env.au = au;
	env.reload = reload;
	api = au ? api_new(&env) : NULL;
	atexit(cleanup);
	return api ? 0 : -1;
}

/* Returns a malloc'd copy of s[0..n) with "$T" and "$C" replaced by the live
 * session's token and CSRF token. */
static char *expand(const char *s, size_t n)
{
	sbuf b = {0};
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '$' && i + 1 < n && (s[i + 1] == 'T' || s[i + 1] == 'C')) {
			sbuf_adds(&b, s[i + 1] == 'T' ? token : csrf);
			i++;
		} else {
			sbuf_add(&b, &s[i], 1);
		}
	}
	return sbuf_take(&b);
}

/* Makes sure token/csrf name a live session (logging in again when not). */
static void keep_session(void)
{
	const char *why = NULL;
	int retry = 0;

	if (token[0] && auth_session(au, token))
		return;
	FUZZ_CHECK(auth_login(au, PASSWORD, NULL, token, csrf, &retry, &why) == AUTH_OK);
}

/* Checks one answer. */
static void check_resp(const api_resp *r)
{
	cJSON *j;

	FUZZ_CHECK(r->status >= 200 && r->status <= 599);
	FUZZ_CHECK(r->body != NULL);
	j = cJSON_Parse(r->body);
	FUZZ_CHECK(cJSON_IsObject(j));
	if (r->status >= 400)
		FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error")));
	cJSON_Delete(j);
	FUZZ_CHECK(memchr(r->set_cookie, '\0', sizeof r->set_cookie));
	if (r->set_cookie[0])
		FUZZ_CHECK(!strncmp(r->set_cookie, "sk_session=", 11) && strstr(r->set_cookie, "; Path=/; HttpOnly"));
	FUZZ_CHECK(r->retry_after_s >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *body = NULL;
	char *field[4] = {NULL, NULL, NULL, NULL};
	size_t off = 0, blen = 0;
	const api_stats *s;
	api_resp r;
	int i;

	clock_ms += 3600 * 1000;
	keep_session();
	for (i = 0; i < 4 && off < size; i++) {
		const char *nul = memchr(in + off, '\0', size - off);
		size_t n = nul ? (size_t)(nul - (in + off)) : size - off;

		field[i] = i >= 2 ? expand(in + off, n) : util_strndup(in + off, n);
		FUZZ_CHECK(field[i] != NULL);
		off += n + 1;      /* past the NUL, or past the end when there is none */
	}
	if (i == 4 && off <= size) {
		body = in + off;
		blen = size - off;
	}
	if (field[0] && !strcmp(field[0], "WS")) {
		char *ans = api_ws_control(api, body ? body : "", blen);
		cJSON *j = ans ? cJSON_Parse(ans) : NULL;

		FUZZ_CHECK(cJSON_IsObject(j) && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "success")));
		cJSON_Delete(j);
		free(ans);
	} else {
		api_http(api, field[0], field[1], field[2], field[3], body, blen, &r);
		check_resp(&r);
		free(r.body);
		(void)api_logged_in(api, field[2]);
	}
	s = api_get_stats(api);
	FUZZ_CHECK(s->requests == s->ok + s->client_errors + s->server_errors);
	for (i = 0; i < 4; i++)
		free(field[i]);
	return 0;
}
