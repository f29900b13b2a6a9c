/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_e2e.c - the account's web page and control API
 * (web/API.md) in the real bot against the simulator: it listens on
 * loopback only; the setup token, login, the cookie's flags, CSRF, logout,
 * `shopkeep passwd`; hostile requests (no session, no or a wrong CSRF token,
 * bad JSON, huge bodies, no Content-Length, path traversal, a foreign Host,
 * wrong methods, unknown paths and commands) each get their status and a
 * JSON error, and the bot goes on; the control commands; the rules saved
 * from the API (validated by the plugins, applied at once: the bot answers
 * with the new rule); the live events WebSocket (refused without a session
 * or from another origin; events and control answers over it; closed when
 * its session ends: logout, a password changed by shopkeep passwd, the
 * absolute lifetime); logins from another site's page refused (403); the
 * login throttle last (failed answers delayed, the right password always
 * let in, at most 4 failures pending); then a second bot without a
 * password: its setup token expires, `shopkeep ctl setup_token` gives a
 * fresh one.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNB "2200000000077"
#define PW "correct horse 42"

static tc_sim sim;
static tbot bot;
static int wport;
static int delay_max_ms = 160;  /* web.login_delay_max_ms: small, so that 20 failures take 3 s */
static char cookie[128], csrf[64];

/* One request to the page: the status; *body (may be NULL) the parsed JSON answer. */
static int req(const char *method, const char *path, const char *hdrs, const char *body, cJSON **out,
	       tc_http_resp *keep)
{
	tc_http_resp r;
	int st;

	if (out)
		*out = NULL;
	if (tc_http(wport, method, path, hdrs, body, body ? strlen(body) : 0, &r, 5000))
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

/* The session's headers: cookie and (csrf) the CSRF token. */
static const char *auth_hdrs(int with_csrf)
{
	static char h[300];

	snprintf(h, sizeof h, "Cookie: %s\r\nContent-Type: application/json\r\n%s%s%s", cookie,
		 with_csrf ? "X-CSRF-Token: " : "", with_csrf ? csrf : "", with_csrf ? "\r\n" : "");
	return h;
}

/* A control command over POST /api/control: the status, *out the answer. */
static int control(const char *cmd, const char *data, cJSON **out)
{
	char b[2048];

	snprintf(b, sizeof b, "{\"request_id\":\"t-%s\",\"command\":\"%s\"%s%s}", cmd, cmd, data ? ",\"data\":" : "",
		 data ? data : "");
	return req("POST", "/api/control", auth_hdrs(1), b, out, NULL);
}

/* Raw bytes to the page's port; the status of the answer (0 none). */
static int raw(const char *bytes)
{
	int fd = tc_tcp_connect(wport, 2000), st = 0;
	char buf[512];
	ssize_t n;

	if (fd < 0)
		return -1;
	if (write(fd, bytes, strlen(bytes)) < 0) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n > 12) {
		buf[n] = '\0';
		sscanf(buf, "HTTP/1.1 %d", &st);
	}
	close(fd);
	return st;
}

/* An events WebSocket with the session cookie ck and this page's Origin; NULL when refused. */
static tc_ws *events_open(const char *ck)
{
	char h[400];
	int st = 0;

	snprintf(h, sizeof h, "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n", ck, wport);
	return tc_ws_connect(wport, "/api/events", h, 3000, &st);
}

/* Waits up to ms for the server to close w (messages are skipped): the close
 * frame's code, 0 for a close without one, -1 when it is still open. */
static int events_wait_close(tc_ws *w, int ms)
{
	int64_t end = util_mono_us() / 1000 + ms;

	if (!w)
		return -2;
	while (util_mono_us() / 1000 < end) {
		tc_frame f;
		int r = tc_ws_recv(w, 200, &f), code = f.close_code;

		tc_frame_free(&f);
		if (r == TC_CLOSE)
			return code;
		if (r == TC_EOF || r == TC_RST || r == TC_ERROR)
			return 0;
	}
	return -1;
}

/* Whether a status request over w gets its reply within 3 s. */
static int events_reply(tc_ws *w)
{
	static const char rq[] = "{\"request_id\":\"alive\",\"command\":\"status\"}";
	int got = 0;

	if (!w || tc_ws_send_text(w, rq, sizeof rq - 1))
		return 0;
	for (int i = 0; i < 12 && !got; i++) {
		cJSON *j = tc_ws_recv_json(w, 250);

		got = j && !strcmp(tc_jstr(j, "request_id") ?: "", "alive") && cJSON_IsTrue(tc_jget(j, "success"));
		cJSON_Delete(j);
	}
	return got;
}

/* A login with password pw (and setup token setup, or NULL): the status; the
 * session's cookie into ck when 200. */
static int login_as(const char *pw, const char *setup, char *ck, size_t n)
{
	char b[300], *sc;
	tc_http_resp r;
	int st;

	if (setup)
		snprintf(b, sizeof b, "{\"setup_token\":\"%s\",\"password\":\"%s\"}", setup, pw);
	else
		snprintf(b, sizeof b, "{\"password\":\"%s\"}", pw);
	st = req("POST", "/api/login", NULL, b, NULL, &r);
	if (st < 0)
		return st;
	sc = tc_http_header(&r, "Set-Cookie", 0);
	if (ck)
		snprintf(ck, n, "%.*s", sc ? (int)strcspn(sc, ";") : 0, sc ? sc : "");
	free(sc);
	tc_http_free(&r);
	return st;
}

/* Sends a login with pw on a connection of its own and does not wait for
 * the answer: the socket, or -1. */
static int login_send(const char *pw)
{
	char b[200], r[600];
	int fd = tc_tcp_connect(wport, 2000);

	if (fd < 0)
		return -1;
	snprintf(b, sizeof b, "{\"password\":\"%s\"}", pw);
	snprintf(r, sizeof r, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", wport, strlen(b), b);
	if (write(fd, r, strlen(r)) != (ssize_t)strlen(r)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The answer on fd if one comes within ms: its status (0 when none came,
 * -1 when the connection closed); *retry_after (may be NULL) its Retry-After. */
static int login_answer(int fd, int ms, int *retry_after)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[2048], *ra;
	ssize_t n;
	int st = -1;

	if (retry_after)
		*retry_after = 0;
	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	if (n < 12)
		return -1;
	buf[n] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &st);
	if (retry_after && (ra = strcasestr(buf, "\r\nretry-after:")))
		*retry_after = atoi(ra + 14);
	return st;
}

static void inject(const char *cid, const char *text)
{
	char b[400];

	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"%s\",\"buyer\":\"5%s\",\"buyer_name\":\"小王\","
		 "\"item_id\":\"40004\",\"text\":\"%s\"}", cid, cid, text);
	tsim_ctl(&sim, "/inject", b);
}

static void write_config(void)
{
	char json[2048], rules[400], cmd[1200];

	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	snprintf(cmd, sizeof cmd, "cp '%s/config/rules.example.json' '%s'", tbot_root_dir(), rules);
	if (system(cmd) != 0)
		diag("cannot copy the example rules");
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"webtest\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"autoreply\":{\"debounce_ms\":0},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true,"
		 "\"login_delay_max_ms\":%d},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 tbot_build_dir(), wport, tbot_root_dir(), delay_max_ms);
	tbot_config(&bot, json);
}

/* 1. It listens on 127.0.0.1 only (docs/libraries.md §1). */
static void test_listen(void)
{
	char want[32], line[512];
	int found = 0, any = 0;
	FILE *f;

	snprintf(want, sizeof want, ":%04X ", wport);
	if ((f = fopen("/proc/net/tcp", "r"))) {
		while (fgets(line, sizeof line, f))
			if (strstr(line, want) && strstr(line, " 0A ")) {
				found += !!strstr(line, "0100007F:");
				any++;
			}
		fclose(f);
	}
	if ((f = fopen("/proc/net/tcp6", "r"))) {
		while (fgets(line, sizeof line, f))
			any += strstr(line, want) && strstr(line, " 0A ");
		fclose(f);
	}
	ok(found == 1 && any == 1, "listen: 127.0.0.1:%d only (%d of %d listening sockets on that port)", wport, found,
	   any);
}

/* 2. No password: the setup token; login; cookie flags; CSRF. */
static void test_login(void)
{
	char tok[128], b[600], hdr[200], *sc;
	tc_http_resp r;
	cJSON *j;
	int st;

	st = req("GET", "/api/session", NULL, NULL, &j, NULL);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "needs_setup")) && cJSON_IsFalse(tc_jget(j, "logged_in")),
	   "session: not logged in, needs setup");
	cJSON_Delete(j);
	tbot_setup_token(&bot, tok, sizeof tok);
	ok(strlen(tok) >= 32, "the bot logged a setup token");
	is_int(req("POST", "/api/login", NULL, "{\"password\":\"" PW "\"}", NULL, NULL), 400,
	       "login: a password alone while setup is needed -> 400");
	is_int(req("POST", "/api/login", NULL, "{\"setup_token\":\"wrong-token\",\"password\":\"" PW "\"}", NULL, NULL),
	       401, "login: a wrong setup token -> 401");
	snprintf(b, sizeof b, "{\"setup_token\":\"%s\",\"password\":\"short\"}", tok);
	is_int(req("POST", "/api/login", NULL, b, NULL, NULL), 400, "login: a new password under 8 characters -> 400");
	snprintf(b, sizeof b, "{\"setup_token\":\"%s\",\"password\":\"" PW "\"}", tok);
	is_int(req("POST", "/api/login", "Origin: http://evil.example\r\n", b, NULL, NULL), 403,
	       "setup with the right token from another site's page (Origin) -> 403");
	snprintf(hdr, sizeof hdr, "Origin: http://127.0.0.1:%d.evil.example\r\n", wport);
	is_int(req("POST", "/api/login", hdr, b, NULL, NULL), 403, "... from a look-alike origin -> 403");
	is_int(req("POST", "/api/login", "Origin: null\r\n", b, NULL, NULL), 403, "... with Origin: null -> 403");
	st = req("GET", "/api/session", NULL, NULL, &j, NULL);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "needs_setup")), "the refused setups set no password");
	cJSON_Delete(j);
	snprintf(hdr, sizeof hdr, "Origin: http://127.0.0.1:%d\r\n", wport);
	st = req("POST", "/api/login", hdr, b, &j, &r);
	sc = tc_http_header(&r, "Set-Cookie", 0);
	ok(st == 200 && tc_jstr(j, "csrf"),
	   "login with the setup token and a new password, from this page's origin -> 200 with a CSRF token");
	ok(sc && strstr(sc, "sk_session=") && strstr(sc, "HttpOnly") && strstr(sc, "SameSite=Strict"),
	   "the session cookie is HttpOnly and SameSite=Strict (%s)", sc ? "set" : "none");
	if (sc)
		snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(sc, ";"), sc);
	snprintf(csrf, sizeof csrf, "%s", tc_jstr(j, "csrf") ? tc_jstr(j, "csrf") : "");
	free(sc);
	tc_http_free(&r);
	cJSON_Delete(j);
	is_int(req("POST", "/api/login", NULL, b, NULL, NULL), 400, "the setup token works once (then the password)");
	st = req("GET", "/api/session", auth_hdrs(0), NULL, &j, NULL);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "logged_in")) && cJSON_IsFalse(tc_jget(j, "needs_setup")) &&
	   tc_jstr(j, "csrf") && !strcmp(tc_jstr(j, "csrf"), csrf), "session: logged in, the same CSRF token");
	cJSON_Delete(j);
}

/* 3. Hostile and broken requests. */
static void test_hostile(void)
{
	char big[300 * 1024 + 64], hdr[400];
	cJSON *j;
	int st;

	st = req("GET", "/api/status", NULL, NULL, &j, NULL);
	ok(st == 401 && tc_jstr(j, "error"), "no session: status -> 401 with an error");
	cJSON_Delete(j);
	is_int(req("POST", "/api/control", "Content-Type: application/json\r\n", "{\"command\":\"status\"}", NULL, NULL),
	       401, "no session: control -> 401");
	is_int(req("GET", "/api/rules", "Cookie: sk_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", NULL, NULL,
		   NULL), 401, "a made-up session -> 401");
	is_int(req("POST", "/api/control", auth_hdrs(0), "{\"command\":\"status\"}", NULL, NULL), 403,
	       "no CSRF token -> 403");
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nX-CSRF-Token: %.20s\r\n", cookie, "wrongwrongwrongwrong");
	is_int(req("POST", "/api/control", hdr, "{\"command\":\"status\"}", NULL, NULL), 403, "a wrong CSRF token -> 403");
	is_int(req("PUT", "/api/rules", auth_hdrs(0), "{}", NULL, NULL), 403, "rules PUT without CSRF -> 403");
	st = req("POST", "/api/control", auth_hdrs(1), "{\"command\":", &j, NULL);
	ok(st == 400 && cJSON_IsFalse(tc_jget(j, "success")) && tc_jstr(j, "error"), "bad JSON -> 400, success false");
	cJSON_Delete(j);
	is_int(req("POST", "/api/control", auth_hdrs(1), "{\"command\":\"status\"} trailing", NULL, NULL), 400,
	       "JSON with trailing bytes -> 400");
	is_int(req("POST", "/api/control", auth_hdrs(1), "[1,2]", NULL, NULL), 400, "not an object -> 400");
	is_int(req("POST", "/api/control", auth_hdrs(1), "{\"command\":\"status\",\"data\":[1]}", NULL, NULL), 400,
	       "data not an object -> 400");
	st = control("frobnicate", NULL, &j);
	ok(st == 404 && tc_jstr(j, "error") && strstr(tc_jstr(j, "error"), "frobnicate"),
	   "an unknown command -> 404 naming it");
	cJSON_Delete(j);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	is_int(req("POST", "/api/control", auth_hdrs(1), big, NULL, NULL), 413, "a 300 KiB body -> 413");
	snprintf(hdr, sizeof hdr, "POST /api/control HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
		 "\r\n{}", wport);
	is_int(raw(hdr), 411, "no Content-Length -> 411");
	snprintf(hdr, sizeof hdr, "POST /api/control HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 99999999999\r\n\r\n",
		 wport);
	is_int(raw(hdr), 413, "a declared 100 GB body -> 413 at once");
	snprintf(hdr, sizeof hdr, "GET /api/session HTTP/1.1\r\nHost: evil.example:%d\r\n\r\n", wport);
	is_int(raw(hdr), 403, "a foreign Host (DNS rebinding) -> 403");
	snprintf(hdr, sizeof hdr, "GET /../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", wport);
	ok(raw(hdr) == 404 || raw(hdr) == 403 || raw(hdr) == 400, "path traversal with .. -> refused");
	snprintf(hdr, sizeof hdr, "GET /%%2e%%2e/%%2e%%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", wport);
	st = raw(hdr);
	ok(st == 404 || st == 403 || st == 400, "path traversal with %%2e%%2e -> refused (%d)", st);
	snprintf(hdr, sizeof hdr, "GET /api/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", wport);
	st = raw(hdr);
	ok(st == 404 || st == 403 || st == 400, "path traversal under /api -> refused (%d)", st);
	is_int(req("GET", "/api/nothing", auth_hdrs(0), NULL, NULL, NULL), 404, "an unknown API path -> 404");
	is_int(req("DELETE", "/api/rules", auth_hdrs(1), NULL, NULL, NULL), 405, "DELETE rules -> 405");
	is_int(req("GET", "/api/login", NULL, NULL, NULL, NULL), 405, "GET login -> 405");
	is_int(req("GET", "/api/control", auth_hdrs(0), NULL, NULL, NULL), 405, "GET control -> 405");
	is_int(req("GET", "/no-such-file.html", NULL, NULL, NULL, NULL), 404, "a missing file -> 404");
	is_int(req("GET", "/index.html", NULL, NULL, NULL, NULL), 200, "the page itself is served");
	ok(tbot_alive(&bot), "the bot is still running");
}

/* 4. The core's control commands. */
static void test_control(void)
{
	cJSON *j;
	int st;

	st = control("status", NULL, &j);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "success")) && !strcmp(tc_jstr(j, "request_id") ?: "", "t-status") &&
	   cJSON_IsNull(tc_jget(j, "error")), "status: success, the request id echoed, error null");
	ok(tc_jstr(j, "data.state") && !strcmp(tc_jstr(j, "data.state"), "CONNECTED") &&
	   cJSON_IsFalse(tc_jget(j, "data.needs_relogin")) && tc_jget(j, "data.metrics.frames_in"),
	   "status: CONNECTED, no re-login needed, metrics");
	ok(tc_jget(j, "data.plugins.2") && !strcmp(tc_jstr(j, "data.plugins.2") ?: "", "orders"), "status: the plugins");
	cJSON_Delete(j);
	st = req("GET", "/api/status", auth_hdrs(0), NULL, &j, NULL);
	ok(st == 200 && tc_jstr(j, "state"), "GET /api/status works too");
	cJSON_Delete(j);

	inject("40101", "随便问问");
	usleep(500000);
	st = control("list_chats", "{\"limit\":10}", &j);
	ok(st == 200 && tc_jstr(j, "data.chats.0.chat_id") && !strcmp(tc_jstr(j, "data.chats.0.chat_id"), "40101") &&
	   !strcmp(tc_jstr(j, "data.chats.0.buyer_id") ?: "", "540101"), "list_chats: the buyer's chat, newest first");
	cJSON_Delete(j);
	is_int(control("list_chats", "{\"limit\":\"x\"}", NULL), 400, "list_chats: a bad limit -> 400");

	st = control("send", "{\"chat_id\":\"40101\",\"buyer_id\":\"540101\",\"text\":\"hello from the control API\"}", &j);
	ok(st == 200 && tc_jstr(j, "data.uuid"), "send: queued with its uuid");
	cJSON_Delete(j);
	ok(tsim_wait_delivered(&sim, "hello from the control API", 1, 5000), "send: the buyer got it");
	is_int(control("send", "{\"chat_id\":\"40101\"}", NULL), 400, "send without a text -> 400");
	is_int(control("send", "{\"chat_id\":7,\"buyer_id\":\"1\",\"text\":\"x\"}", NULL), 400, "send: a number chat_id -> 400");

	st = control("reload_rules", NULL, &j);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "data.reloaded")), "reload_rules");
	cJSON_Delete(j);
	st = control("help", NULL, &j);
	ok(st == 200 && cJSON_GetArraySize(tc_jget(j, "data.commands")) >= 5, "help lists the commands");
	cJSON_Delete(j);
}

/* 5. Rules from the API: refused when invalid, applied at once when saved. */
static void test_rules(void)
{
	cJSON *j, *doc, *kr, *rule;
	char *text, before[64], path[400];
	int st;

	st = req("GET", "/api/rules", auth_hdrs(0), NULL, &j, NULL);
	doc = cJSON_DetachItemFromObjectCaseSensitive(j, "rules");
	ok(st == 200 && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "keyword_rules")) &&
	   cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "cards")), "GET rules: the whole document");
	cJSON_Delete(j);
	if (!doc)
		return;
	snprintf(path, sizeof path, "%s/rules.json", bot.dir);
	{
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(before, 1, sizeof before - 1, f) : 0;

		before[n] = '\0';
		if (f)
			fclose(f);
	}
	kr = cJSON_GetObjectItemCaseSensitive(doc, "keyword_rules");
	rule = cJSON_CreateObject();
	cJSON_AddStringToObject(rule, "id", "from-api");
	cJSON_AddItemToObject(rule, "keywords", cJSON_CreateStringArray((const char *[]){ "apikw" }, 1));
	cJSON_AddStringToObject(rule, "match", "bogus");
	cJSON_AddStringToObject(rule, "reply", "answer saved through the API");
	cJSON_InsertItemInArray(kr, 0, rule);
	text = cJSON_PrintUnformatted(doc);
	st = req("PUT", "/api/rules", auth_hdrs(1), text, &j, NULL);
	ok(st == 422 && tc_jstr(j, "errors.0") && strstr(tc_jstr(j, "errors.0"), "keyword_rules[0].match"),
	   "PUT rules with a bad match -> 422 naming keyword_rules[0].match (%s)", tc_jstr(j, "errors.0") ?: "none");
	cJSON_Delete(j);
	free(text);
	{
		FILE *f = fopen(path, "r");
		char now[64];
		size_t n = f ? fread(now, 1, sizeof now - 1, f) : 0;

		now[n] = '\0';
		if (f)
			fclose(f);
		is_str(now, before, "the refused rules were not written");
	}
	cJSON_ReplaceItemInObjectCaseSensitive(rule, "match", cJSON_CreateString("contains"));
	/* Issue 18 item 5: a second delivery rule for delivery[0]'s item and
	 * spec is refused when saved, not when an order is paid. */
	{
		cJSON *del = cJSON_GetObjectItemCaseSensitive(doc, "delivery"), *dup;
		int nd = cJSON_GetArraySize(del);
		char want[64];

		dup = cJSON_Duplicate(cJSON_GetArrayItem(del, 0), 1);
		cJSON_AddItemToArray(del, dup);
		text = cJSON_PrintUnformatted(doc);
		st = req("PUT", "/api/rules", auth_hdrs(1), text, &j, NULL);
		snprintf(want, sizeof want, "orders: delivery[%d]: delivery[0] is for the same item", nd);
		ok(st == 422 && tc_jstr(j, "errors.0") && strstr(tc_jstr(j, "errors.0"), want),
		   "PUT rules with two delivery rules for one item and spec -> 422 (%s)", tc_jstr(j, "errors.0") ?: "none");
		cJSON_Delete(j);
		free(text);
		cJSON_DeleteItemFromArray(del, nd);
	}
	text = cJSON_PrintUnformatted(doc);
	st = req("PUT", "/api/rules", auth_hdrs(1), text, &j, NULL);
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "saved")), "PUT valid rules -> saved");
	cJSON_Delete(j);
	free(text);
	cJSON_Delete(doc);
	ok(tbot_log_has(&bot, "keyword"), "the plugins reloaded");
	inject("40201", "I want apikw now");
	ok(tsim_wait_delivered(&sim, "answer saved through the API", 1, 5000),
	   "the bot answers a buyer with the rule saved through the API");
	is_int(req("PUT", "/api/rules", auth_hdrs(1), "[]", NULL, NULL), 400, "PUT rules that are not an object -> 400");
	st = control("status", NULL, &j);
	ok(st == 200 && tc_jstr(j, "data.rules.state") && !strcmp(tc_jstr(j, "data.rules.state"), "ok"),
	   "status: rules.state \"ok\" after the save");
	cJSON_Delete(j);
}

/* 6. Live events over the WebSocket. */
static void test_events(void)
{
	char h[400];
	int st = 0, seen = 0, reply = 0;
	tc_ws *w;

	snprintf(h, sizeof h, "Origin: http://127.0.0.1:%d\r\n", wport);
	w = tc_ws_connect(wport, "/api/events", h, 3000, &st);
	ok(!w && st == 401, "events without a session -> refused 401 (%d)", st);
	tc_ws_close(w, 0);
	snprintf(h, sizeof h, "Cookie: %s\r\nOrigin: http://evil.example\r\n", cookie);
	w = tc_ws_connect(wport, "/api/events", h, 3000, &st);
	ok(!w && st == 403, "events from another origin -> refused 403 (%d)", st);
	tc_ws_close(w, 0);
	snprintf(h, sizeof h, "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n", cookie, wport);
	w = tc_ws_connect(wport, "/api/events", h, 3000, &st);
	if (!ok(w != NULL, "events with the session and this origin: connected (%d)", st))
		return;
	inject("40301", "live event please");
	{
		static const char rq[] = "{\"request_id\":\"ws1\",\"command\":\"status\"}";

		tc_ws_send_text(w, rq, sizeof rq - 1);
	}
	for (int i = 0; i < 40 && (!seen || !reply); i++) {
		cJSON *j = tc_ws_recv_json(w, 250);

		if (!j)
			continue;
		if (!strcmp(tc_jstr(j, "kind") ?: "", "event") && !strcmp(tc_jstr(j, "text") ?: "", "live event please") &&
		    !strcmp(tc_jstr(j, "chat_id") ?: "", "40301"))
			seen = 1;
		if (!strcmp(tc_jstr(j, "kind") ?: "", "reply") && !strcmp(tc_jstr(j, "request_id") ?: "", "ws1") &&
		    cJSON_IsTrue(tc_jget(j, "success")))
			reply = 1;
		cJSON_Delete(j);
	}
	ok(seen, "the buyer's message arrived live as an event");
	ok(reply, "a control request over the socket got its reply");
	tc_ws_close(w, 1000);
}

/* 7. Logout; shopkeep passwd (every session ends, its events WebSockets
 * close); a restart keeps the password. */
static void test_passwd(void)
{
	char cmd[1200], ck2[128], h[300];
	tc_ws *wa, *wb;
	cJSON *j;
	int st;

	wa = events_open(cookie);
	is_int(login_as(PW, NULL, ck2, sizeof ck2), 200, "a second session");
	wb = events_open(ck2);
	ok(wa && wb, "an events WebSocket for each session");
	is_int(req("POST", "/api/logout", auth_hdrs(1), "{}", NULL, NULL), 200, "logout");
	is_int(events_wait_close(wa, 5000), 1008, "logout closes its session's events WebSocket (1008)");
	tc_ws_close(wa, 0);
	is_int(req("GET", "/api/status", auth_hdrs(0), NULL, NULL, NULL), 401, "after logout the session is gone");
	ok(events_reply(wb), "the other session's WebSocket goes on");
	snprintf(cmd, sizeof cmd, "echo 'another secret 9' | '%s/shopkeep' passwd --config '%s' >/dev/null 2>&1",
		 tbot_build_dir(), bot.cfg);
	is_int(system(cmd), 0, "shopkeep passwd reads the new password from stdin");
	is_int(events_wait_close(wb, 5000), 1008, "a new password (shopkeep passwd) closes the events WebSocket");
	tc_ws_close(wb, 0);
	snprintf(h, sizeof h, "Cookie: %s\r\n", ck2);
	is_int(req("GET", "/api/status", h, NULL, NULL, NULL), 401, "a session cookie from before the new password -> 401");
	ok(tbot_log_has(&bot, "admin password was changed"), "the bot logged that every session ended");
	snprintf(cmd, sizeof cmd, "echo 'short' | '%s/shopkeep' passwd --config '%s' >/dev/null 2>&1", tbot_build_dir(),
		 bot.cfg);
	ok(system(cmd) != 0, "shopkeep passwd refuses a password under 8 characters");
	is_int(req("POST", "/api/login", NULL, "{\"password\":\"" PW "\"}", NULL, NULL), 401, "the old password: 401");
	is_int(tbot_stop(&bot, SIGTERM), 0, "restart: SIGTERM exits 0");
	tbot_start(&bot);
	ok(tsim_wait_stat(&sim, "reg_ok", 2, 5000) >= 0, "restart: registered again");
	for (int i = 0; i < 50 && req("GET", "/api/session", NULL, NULL, NULL, NULL) != 200; i++)
		usleep(100000);
	st = req("GET", "/api/session", NULL, NULL, &j, NULL);
	ok(st == 200 && cJSON_IsFalse(tc_jget(j, "needs_setup")), "after the restart no setup is needed");
	cJSON_Delete(j);
	is_int(req("POST", "/api/login", NULL, "{\"password\":\"another secret 9\"}", NULL, NULL), 200,
	       "the password set by shopkeep passwd logs in");
}

/* 8. The login throttle, last (it holds logins back): wrong passwords are
 * answered later and later, never locking out the right one. */
static void test_throttle(void)
{
	char hdr[200], ck[128];
	int n401 = 0, st, fa, fb, fc[4], ra = 0;

	is_int(req("POST", "/api/login", "Origin: http://evil.example\r\n", "{\"password\":\"another secret 9\"}", NULL,
		   NULL), 403, "the right password from another site's page (Origin) -> 403");
	snprintf(hdr, sizeof hdr, "Origin: http://localhost:%d\r\n", wport);
	is_int(req("POST", "/api/login", hdr, "{\"password\":\"another secret 9\"}", NULL, NULL), 200,
	       "from this page's origin (localhost) -> 200");
	for (int i = 0; i < 20; i++)
		n401 += req("POST", "/api/login", NULL, "{\"password\":\"wrong password!\"}", NULL, NULL) == 401;
	is_int(n401, 20, "20 wrong passwords one after the other -> 401 each");
	st = login_as("another secret 9", NULL, ck, sizeof ck);
	ok(st == 200 && strstr(ck, "sk_session="), "then the right one -> 200 and a session (%d)", st);
	ok(tbot_log_has(&bot, "wrong password (answered in 10 ms)") &&
	   tbot_log_has(&bot, "wrong password (answered in 160 ms)"),
	   "the failed answers waited 10 ms at first, then up to web.login_delay_max_ms (160)");

	/* longer delays (SIGHUP): the order of the answers shows them */
	delay_max_ms = 16000;
	write_config();
	kill(bot.pid, SIGHUP);
	for (int i = 0; i < 50 && !tbot_log_has(&bot, "SIGHUP: config"); i++)
		usleep(100000);
	ok(tbot_log_has(&bot, "SIGHUP: config"), "web.login_delay_max_ms 16000 taken by SIGHUP");
	fa = login_send("wrong password!");
	fb = login_send("another secret 9");
	st = login_answer(fb, 5000, NULL);
	is_int(st, 200, "a wrong password, then at once the right one: the right one -> 200");
	is_int(login_answer(fa, 0, NULL), 0, "... while the wrong one sent before it is still unanswered");
	is_int(login_answer(fa, 10000, NULL), 401, "the wrong one's 401 comes later (1 s)");
	close(fa);
	close(fb);
	for (int i = 0; i < 4; i++)
		fc[i] = login_send("wrong password!");
	/* connections are served in no fixed order: the fourth failure first */
	for (int i = 0; i < 500 && !tbot_log_has(&bot, "(answered in 8000 ms)"); i++)
		usleep(10000);
	fb = login_send("another secret 9");
	st = login_answer(fb, 5000, &ra);
	ok(st == 429 && ra > 0, "4 wrong passwords pending: the next attempt is not checked -> 429 (%d), Retry-After %d", st,
	   ra);
	close(fb);
	for (int i = 0; i < 4; i++)
		close(fc[i]);   /* hanging up does not free their slots */
	st = 0;
	for (int i = 0; i < 60 && st != 200; i++) {
		st = login_as("another secret 9", NULL, NULL, 0);
		if (st != 200)
			usleep(100000);
	}
	is_int(st, 200, "once the first one's delay is over, the right password -> 200");
	ok(tbot_alive(&bot), "the bot is still running");
}

/* 9. A second bot without a password, web.setup_token_s and
 * web.session_max_s 5: the setup token expires, shopkeep ctl setup_token
 * gives a fresh one; the session and its events WebSocket end 5 s after
 * the login. */
static void test_expiry(void)
{
	char json[2048], tok[128], ck[128], cmd[1200], h[300];
	const char *out;
	tbot b2;
	tc_ws *w;
	cJSON *j;
	int st = -1, saved = wport;

	if (!ok(tbot_init(&b2, &sim) == 0 && (wport = tbot_free_port()) > 0, "a second bot: a temp dir and a free port"))
		goto out;
	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"webtest2\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[]},\n"
		 " \"web\":{\"listen\":\"127.0.0.1:%d\",\"root\":\"%s/web\",\"pwhash_min\":true,\"login_delay_max_ms\":100,"
		 "\"setup_token_s\":5,\"session_max_s\":5}}\n",
		 tbot_build_dir(), wport, tbot_root_dir());
	tbot_config(&b2, json);
	tbot_start(&b2);
	for (int i = 0; i < 50 && (st = req("GET", "/api/session", NULL, NULL, NULL, NULL)) != 200; i++)
		usleep(100000);
	if (!ok(st == 200, "the second bot's page answers (%d)", st))
		goto stop;
	tbot_setup_token(&b2, tok, sizeof tok);
	ok(strlen(tok) >= 32, "it logged a setup token");
	for (int i = 0; i < 150 && !tbot_log_has(&b2, "the setup token expired"); i++)
		usleep(100000);
	ok(tbot_log_has(&b2, "the setup token expired"), "after web.setup_token_s the bot logs that the token expired");
	is_int(login_as(PW, tok, NULL, 0), 401, "the expired setup token -> 401");
	snprintf(cmd, sizeof cmd, "'%s/shopkeep' ctl --config '%s' setup_token", tbot_build_dir(), b2.cfg);
	out = tbot_sh(cmd, &st);
	j = cJSON_Parse(out);
	snprintf(tok, sizeof tok, "%s", tc_jstr(j, "setup_token") ?: "");
	ok(st == 0 && strlen(tok) >= 32 && tc_jget(j, "valid_s") && tc_jget(j, "valid_s")->valuedouble == 5,
	   "shopkeep ctl setup_token prints a fresh token, valid 5 s (exit %d)", st);
	cJSON_Delete(j);
	st = login_as(PW, tok, ck, sizeof ck);
	ok(st == 200 && strstr(ck, "sk_session="), "the fresh token sets the password and logs in (%d)", st);
	w = events_open(ck);
	ok(w != NULL, "an events WebSocket for the session");
	is_int(events_wait_close(w, 15000), 1008, "it is closed at web.session_max_s after the login");
	tc_ws_close(w, 0);
	snprintf(h, sizeof h, "Cookie: %s\r\n", ck);
	is_int(req("GET", "/api/status", h, NULL, NULL, NULL), 401, "the expired session's cookie -> 401");
	snprintf(cmd, sizeof cmd, "'%s/shopkeep' ctl --config '%s' setup_token 2>&1", tbot_build_dir(), b2.cfg);
	out = tbot_sh(cmd, &st);
	ok(st != 0 && strstr(out, "password is set already"), "no setup token once a password is set (%.*s)",
	   (int)strcspn(out, "\n"), out);
stop:
	is_int(tbot_stop(&b2, SIGTERM), 0, "the second bot: SIGTERM exits 0");
	tbot_done(&b2, tap_failed > 0);
out:
	wport = saved;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && (wport = tbot_free_port()) > 0, "a temp dir and a free port"))
		return tap_done();
	write_config();
	tbot_start(&bot);
	if (ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers")) {
		for (int i = 0; i < 50 && req("GET", "/api/session", NULL, NULL, NULL, NULL) != 200; i++)
			usleep(100000);
		test_listen();
		test_login();
		test_hostile();
		test_control();
		test_rules();
		test_events();
		test_passwd();
		test_throttle();
	}
	if (bot.pid > 0)
		is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	tbot_done(&bot, tap_failed > 0);
	test_expiry();
	tc_sim_stop(&sim);
	return tap_done();
}
