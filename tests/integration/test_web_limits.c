/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/test_web_limits.c - the account's page against an
 * attacker (issue 18 items 9, 12, 13): every answer carries a CSP with
 * connect-src 'self'; a symlink under web.root that leads out of it is a
 * 404; a \u0000 in a request's JSON is a 400; list_chats cuts Chinese
 * text at a character; a WebSocket message over 64 KiB gets its error
 * answer (it read past a string: ASan); the rules are saved through a temp
 * file that a planted symlink cannot redirect; 200 idle connections leave
 * `shopkeep status`, the page and the platform session working and are
 * closed after web.header_timeout_s; a peer that is not loopback (a client
 * bound to the LAN address connecting to 127.0.0.1) gets no answer; the
 * page listens on 127.0.0.2 and on [::1] when asked.
 */
#include "tap.h"
#include "sim/tbot.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNB "2200000000078"
#define PW "correct horse 42"
#define IDLE_N 200

static tc_sim sim;
static tbot bot;
static int wport;
static char cookie[128], csrf[64], webdir[400];

/* One request to the page: the status; *out (may be NULL) the parsed JSON answer, *keep the response. */
static int req(const char *method, const char *path, const char *hdrs, const char *body, size_t len, cJSON **out,
	       tc_http_resp *keep)
{
	tc_http_resp r;
	int st;

	if (out)
		*out = NULL;
	if (tc_http(wport, method, path, hdrs, body, len, &r, 5000))
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

/* The session's headers (with the CSRF token). */
static const char *auth_hdrs(void)
{
	static char h[300];

	snprintf(h, sizeof h, "Cookie: %s\r\nContent-Type: application/json\r\nX-CSRF-Token: %s\r\n", cookie, csrf);
	return h;
}

/* Whether s is valid UTF-8 (no cut character at its end, no stray byte). */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;

		if (n < 0)
			return 0;
		p++;
		for (; n > 0; n--, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* A TCP connection to addr:port (IPv4 or IPv6 text), -1 on failure. */
static int connect_to(const char *addr, int port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int v6 = strchr(addr, ':') != NULL, fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if ((v6 ? inet_pton(AF_INET6, addr, &s6.sin6_addr) : inet_pton(AF_INET, addr, &s4.sin_addr)) != 1 ||
	    connect(fd, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4, v6 ? sizeof s6 : sizeof s4)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* GET /api/session from addr:port with host as Host: the status, 0 when nothing answered. */
static int get_session_at(const char *addr, int port, const char *host)
{
	char rq[300], buf[512];
	int fd = connect_to(addr, port), st = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	snprintf(rq, sizeof rq, "GET /api/session HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
	if (write(fd, rq, strlen(rq)) == (ssize_t)strlen(rq) && (n = read(fd, buf, sizeof buf - 1)) > 12) {
		buf[n] = '\0';
		sscanf(buf, "HTTP/1.1 %d", &st);
	}
	close(fd);
	return st;
}

static void write_config(const char *listen)
{
	char json[2048];

	snprintf(json, sizeof json,
		 "{\"account\":{\"id\":\"limits\",\"cookie\":\"unb=" UNB "; _m_h5_tk=0123456789abcdef0123456789abcdef_1\"},\n"
		 " \"platform\":{\"ws_url\":\"ws://127.0.0.1:@PORT@/\",\"api_url\":\"http://127.0.0.1:@PORT@/h5/\"},\n"
		 " \"send\":{\"rate_per_s\":50,\"burst\":10},\n"
		 " \"state\":{\"db\":\"state.db\"},\n"
		 " \"plugins\":{\"dir\":\"%s/plugins\",\"load\":[\"dedup\",\"autoreply\",\"orders\"]},\n"
		 " \"rules\":\"rules.json\",\n"
		 " \"web\":{\"listen\":\"%s\",\"root\":\"%s\",\"pwhash_min\":true,\"header_timeout_s\":3},\n"
		 " \"debug\":{\"event_log\":\"events.jsonl\"}}\n",
		 tbot_build_dir(), listen, webdir);
	tbot_config(&bot, json);
}

/* A copy of web/ in the temp dir (symlinks get planted in it) and the example rules. */
static int prepare_files(void)
{
	char cmd[1400];

	snprintf(webdir, sizeof webdir, "%s/web", bot.dir);
	snprintf(cmd, sizeof cmd, "cp -r '%s/web' '%s' && cp '%s/config/rules.example.json' '%s/rules.json'",
		 tbot_root_dir(), webdir, tbot_root_dir(), bot.dir);
	return system(cmd);
}

/* The setup token, then a password: the session cookie and CSRF token. */
static int login(void)
{
	char tok[128], b[400], *sc;
	tc_http_resp r;
	cJSON *j;
	int st;

	tbot_setup_token(&bot, tok, sizeof tok);
	snprintf(b, sizeof b, "{\"setup_token\":\"%s\",\"password\":\"" PW "\"}", tok);
	st = req("POST", "/api/login", NULL, b, strlen(b), &j, &r);
	sc = tc_http_header(&r, "Set-Cookie", 0);
	if (sc)
		snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(sc, ";"), sc);
	snprintf(csrf, sizeof csrf, "%s", tc_jstr(j, "csrf") ? tc_jstr(j, "csrf") : "");
	free(sc);
	tc_http_free(&r);
	cJSON_Delete(j);
	return st == 200 && cookie[0] && csrf[0];
}

/* 1. The CSP: connect-src 'self' (lws's own allowed any ws: and wss: host). */
static void test_csp(void)
{
	const char *paths[] = { "/", "/app.js", "/api/session", "/no-such-file" };

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		tc_http_resp r;
		int st = req("GET", paths[i], NULL, NULL, 0, NULL, &r);
		char *csp = st > 0 ? tc_http_header(&r, "content-security-policy", 0) : NULL;
		char *nos = st > 0 ? tc_http_header(&r, "x-content-type-options", 0) : NULL;

		ok(csp && strstr(csp, "connect-src 'self';") && !strstr(csp, "ws:") && !strstr(csp, "wss:") &&
		   strstr(csp, "script-src 'self'") && strstr(csp, "frame-ancestors 'none'") && nos &&
		   !strcmp(nos, "nosniff") && !tc_http_header(&r, "content-security-policy", 1),
		   "GET %s (%d): one CSP, connect-src 'self' only, nosniff (%s)", paths[i], st, csp ? csp : "no CSP");
		free(csp);
		free(nos);
		if (st > 0)
			tc_http_free(&r);
	}
}

/* 2. web.root's files; symlinks that lead out of it are not followed. */
static void test_symlinks(void)
{
	char a[600], b[600];
	tc_http_resp r;
	char *ct;
	int st;

	st = req("GET", "/", NULL, NULL, 0, NULL, &r);
	ct = st > 0 ? tc_http_header(&r, "content-type", 0) : NULL;
	ok(st == 200 && strstr(r.body, "<!DOCTYPE html>") && ct && strstr(ct, "text/html"), "GET / is index.html (%d)",
	   st);
	free(ct);
	if (st > 0)
		tc_http_free(&r);
	st = req("GET", "/app.js", NULL, NULL, 0, NULL, &r);
	ct = st > 0 ? tc_http_header(&r, "content-type", 0) : NULL;
	ok(st == 200 && ct && strstr(ct, "javascript"), "GET /app.js: 200, JavaScript (%s)", ct ? ct : "none");
	free(ct);
	if (st > 0)
		tc_http_free(&r);
	is_int(req("POST", "/index.html", NULL, "{}", 2, NULL, NULL), 405, "POST to a file -> 405");

	snprintf(a, sizeof a, "%s/passwd", webdir);
	ok(symlink("/etc/passwd", a) == 0, "planted web/passwd -> /etc/passwd");
	snprintf(a, sizeof a, "%s/secret.txt", bot.dir);
	{
		FILE *f = fopen(a, "w");

		if (f) {
			fputs("outside the root\n", f);
			fclose(f);
		}
	}
	snprintf(b, sizeof b, "%s/out.txt", webdir);
	ok(symlink(a, b) == 0, "planted web/out.txt -> a file outside web.root");
	snprintf(b, sizeof b, "%s/up", webdir);
	ok(symlink(bot.dir, b) == 0, "planted web/up -> the folder above web.root");
	snprintf(b, sizeof b, "%s/alias.css", webdir);
	ok(symlink("style.css", b) == 0, "planted web/alias.css -> style.css (inside)");

	st = req("GET", "/passwd", NULL, NULL, 0, NULL, &r);
	ok(st == 404 && !strstr(r.body, "root:"), "a symlink to /etc/passwd -> 404 (%d)", st);
	if (st > 0)
		tc_http_free(&r);
	st = req("GET", "/out.txt", NULL, NULL, 0, NULL, &r);
	ok(st == 404 && !strstr(r.body, "outside the root"), "a symlink to a file outside web.root -> 404 (%d)", st);
	if (st > 0)
		tc_http_free(&r);
	st = req("GET", "/up/secret.txt", NULL, NULL, 0, NULL, &r);
	ok(st == 404 && !strstr(r.body, "outside the root"), "a file through a symlinked folder out of web.root -> 404 (%d)",
	   st);
	if (st > 0)
		tc_http_free(&r);
	is_int(req("GET", "/up/state.db", NULL, NULL, 0, NULL, NULL), 404, "state.db through the symlinked folder -> 404");
	is_int(req("GET", "/alias.css", NULL, NULL, 0, NULL, NULL), 200, "a symlink that stays inside web.root is served");
	is_int(req("GET", "/.hidden", NULL, NULL, 0, NULL, NULL), 404, "a hidden name -> 404");
}

/* 3. \u0000 in a request's JSON: 400 with the reason (cJSON cut the string there). */
static void test_nul(void)
{
	static const char body[] = "{\"request_id\":\"n1\",\"command\":\"status\\u0000ignored\"}";
	static const char esc[] = "{\"request_id\":\"n2\",\"command\":\"send\",\"data\":{\"chat_id\":\"1\",\"buyer_id\":\"2\","
				  "\"text\":\"a\\\\u0000b\"}}";
	static const char raw[] = "{\"command\":\"status\0\"}";
	cJSON *j;
	int st;

	st = req("POST", "/api/control", auth_hdrs(), body, sizeof body - 1, &j, NULL);
	ok(st == 400 && tc_jstr(j, "error") && strstr(tc_jstr(j, "error"), "\\u0000"),
	   "a command with \\u0000 -> 400 naming \\u0000 (%d: %s)", st, tc_jstr(j, "error") ?: "");
	cJSON_Delete(j);
	st = req("POST", "/api/login", NULL, "{\"password\":\"" PW "\\u0000x\"}", strlen("{\"password\":\"" PW "\\u0000x\"}"),
		 &j, NULL);
	ok(st == 400 && tc_jstr(j, "error") && strstr(tc_jstr(j, "error"), "\\u0000"),
	   "a password with \\u0000 -> 400, not a login with its first part (%d)", st);
	cJSON_Delete(j);
	st = req("POST", "/api/control", auth_hdrs(), raw, sizeof raw - 1, &j, NULL);
	ok(st == 400 && tc_jstr(j, "error") && strstr(tc_jstr(j, "error"), "NUL"), "a raw NUL byte -> 400 (%d)", st);
	cJSON_Delete(j);
	st = req("POST", "/api/control", auth_hdrs(), esc, sizeof esc - 1, &j, NULL);
	ok(st != 400 || !tc_jstr(j, "error") || !strstr(tc_jstr(j, "error"), "\\u0000"),
	   "an escaped backslash before u0000 is text, not a NUL (%d)", st);
	cJSON_Delete(j);
}

/* 4. list_chats cuts a long Chinese text and name at a character. */
static void test_utf8(void)
{
	char text[400] = "aa", name[200] = "b", b[1000], data[64];
	const char *lt, *bn;
	cJSON *j;
	int st;

	for (int i = 0; i < 100; i++)
		strcat(text, "好");
	for (int i = 0; i < 30; i++)
		strcat(name, "王");
	snprintf(b, sizeof b, "{\"seller\":\"" UNB "\",\"cid\":\"50101\",\"buyer\":\"550101\",\"buyer_name\":\"%s\","
		 "\"item_id\":\"40004\",\"text\":\"%s\"}", name, text);
	tsim_ctl(&sim, "/inject", b);
	ok(tbot_wait_ev(&bot, "50101", NULL, NULL, 1, 5000), "the Chinese message arrived");
	snprintf(data, sizeof data, "{\"request_id\":\"u\",\"command\":\"list_chats\",\"data\":{\"limit\":5}}");
	st = req("POST", "/api/control", auth_hdrs(), data, strlen(data), &j, NULL);
	lt = tc_jstr(j, "data.chats.0.last_text");
	bn = tc_jstr(j, "data.chats.0.buyer_name");
	ok(st == 200 && lt && strlen(lt) > 150 && strlen(lt) < strlen(text) && !strncmp(lt, text, strlen(lt)) &&
	   utf8_ok(lt), "list_chats: the long text is cut at a character (%zu of %zu bytes, valid UTF-8: %d)",
	   lt ? strlen(lt) : 0, strlen(text), lt ? utf8_ok(lt) : 0);
	ok(bn && strlen(bn) > 40 && !strncmp(bn, name, strlen(bn)) && utf8_ok(bn),
	   "list_chats: the long name is cut at a character (%zu bytes, valid UTF-8: %d)", bn ? strlen(bn) : 0,
	   bn ? utf8_ok(bn) : 0);
	cJSON_Delete(j);
}

/* 5. A WebSocket message over 64 KiB: its error answer (the answer's
 * literal was copied with a length past its end: ASan), the socket and the
 * bot go on. */
static void test_ws_big(void)
{
	static const char rq[] = "{\"request_id\":\"w2\",\"command\":\"status\"}";
	char h[400], *big = malloc(70 * 1024);
	int st = 0, got_err = 0, got_ok = 0;
	tc_ws *w;

	snprintf(h, sizeof h, "Cookie: %s\r\nOrigin: http://127.0.0.1:%d\r\n", cookie, wport);
	w = tc_ws_connect(wport, "/api/events", h, 3000, &st);
	if (!ok(w && big, "events WebSocket open (%d)", st)) {
		free(big);
		tc_ws_close(w, 0);
		return;
	}
	memset(big, ' ', 70 * 1024);
	big[0] = '{';
	big[70 * 1024 - 1] = '}';
	tc_ws_send_text(w, big, 70 * 1024);
	free(big);
	for (int i = 0; i < 40 && !got_err; i++) {
		cJSON *j = tc_ws_recv_json(w, 250);
		const char *e = tc_jstr(j, "error");

		if (!strcmp(tc_jstr(j, "kind") ?: "", "reply") && e && !strcmp(e, "the request is larger than 64 KiB"))
			got_err = 1;
		cJSON_Delete(j);
	}
	ok(got_err, "a 70 KiB message -> its error answer, exactly");
	tc_ws_send_text(w, rq, sizeof rq - 1);
	for (int i = 0; i < 40 && !got_ok; i++) {
		cJSON *j = tc_ws_recv_json(w, 250);

		got_ok = !strcmp(tc_jstr(j, "request_id") ?: "", "w2") && cJSON_IsTrue(tc_jget(j, "success"));
		cJSON_Delete(j);
	}
	ok(got_ok, "the same socket answers the next request");
	tc_ws_close(w, 1000);
	ok(tbot_alive(&bot), "the bot is still running");
}

/* 6. A symlink planted at the rules' old temp name (<rules>.tmp-<pid>) is not followed. */
static void test_rules_tmp(void)
{
	char link[500], victim[500], rules[500];
	cJSON *j, *doc;
	char *text;
	struct stat sb;
	int st;

	snprintf(rules, sizeof rules, "%s/rules.json", bot.dir);
	snprintf(victim, sizeof victim, "%s/victim", bot.dir);
	snprintf(link, sizeof link, "%s.tmp-%d", rules, (int)bot.pid);
	ok(symlink(victim, link) == 0, "planted %s -> victim", strrchr(link, '/') + 1);
	st = req("GET", "/api/rules", auth_hdrs(), NULL, 0, &j, NULL);
	doc = cJSON_DetachItemFromObjectCaseSensitive(j, "rules");
	cJSON_Delete(j);
	text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	st = text ? req("PUT", "/api/rules", auth_hdrs(), text, strlen(text), &j, NULL) : -1;
	ok(st == 200 && cJSON_IsTrue(tc_jget(j, "saved")), "the rules are saved (%d)", st);
	cJSON_Delete(j);
	free(text);
	ok(access(victim, F_OK) != 0, "the symlink's target was not created or written");
	/* lstat first: ok()'s arguments may be evaluated before its condition */
	memset(&sb, 0, sizeof sb);
	st = lstat(rules, &sb);
	ok(st == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600, "rules.json is a regular file, mode 0600 (%o)",
	   (unsigned)(sb.st_mode & 0777));
	ok(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the planted symlink is left alone");
	unlink(link);
}

/* Whether the server closed fd (EOF or reset); what it sent is drained. */
static int conn_closed(int fd)
{
	char buf[512];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 0) <= 0)
			return 0;
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return 1;
		if (n < 0)
			return 0;
	}
}

/* 7. 200 idle connections (half send nothing, half half a request): the
 * control socket, the page and the platform session go on; the page keeps
 * at most 64 of them, and closes the rest after web.header_timeout_s. */
static void test_idle(void)
{
	int fds[IDLE_N], opened = 0, open_now = 0, st;
	double reg = tsim_stat(&sim, "reg_ok");
	int64_t t0 = util_mono_us();
	char cmd[1200];
	const char *out;
	cJSON *j;

	for (int i = 0; i < IDLE_N; i++) {
		fds[i] = tc_tcp_connect(wport, 2000);
		if (fds[i] >= 0 && (i & 1)) {
			static const char half[] = "GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

			if (write(fds[i], half, sizeof half - 1) < 0)
				diag("write: %s", strerror(errno));
		}
		opened += fds[i] >= 0;
	}
	is_int(opened, IDLE_N, "%d idle connections to the page", IDLE_N);
	/* before the header timeout (3 s) can close any: the cap did it */
	for (int t = 0; t < 20; t++) {
		open_now = 0;
		for (int i = 0; i < IDLE_N; i++)
			open_now += fds[i] >= 0 && !conn_closed(fds[i]);
		if (open_now <= 64 || util_mono_us() - t0 > 2000000)
			break;
		usleep(100000);
	}
	ok(open_now <= 64 && open_now > 0, "at most 64 page connections are kept (%d of %d still open)", open_now, IDLE_N);
	snprintf(cmd, sizeof cmd, "timeout 20 '%s/shopkeep' status --json --config '%s' 2>&1", tbot_build_dir(), bot.cfg);
	out = tbot_sh(cmd, &st);
	j = st == 0 ? cJSON_Parse(out) : NULL;
	ok(j && !strcmp(tc_jstr(j, "state") ?: "", "CONNECTED"), "shopkeep status answers: CONNECTED (exit %d)", st);
	cJSON_Delete(j);
	is_int(req("GET", "/api/session", NULL, NULL, 0, NULL, NULL), 200, "a page request is answered");
	is_int(req("GET", "/index.html", NULL, NULL, 0, NULL, NULL), 200, "the page's file is served");
	ok(tsim_stat(&sim, "reg_ok") == reg, "the platform session did not reconnect (reg_ok %g)", reg);
	for (int t = 0; t < 100 && open_now; t++) {
		usleep(100000);
		open_now = 0;
		for (int i = 0; i < IDLE_N; i++)
			open_now += fds[i] >= 0 && !conn_closed(fds[i]);
	}
	is_int(open_now, 0, "every idle connection is closed after the header timeout (3 s)");
	for (int i = 0; i < IDLE_N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	is_int(req("GET", "/api/session", NULL, NULL, 0, NULL, NULL), 200, "the page answers afterwards");
	ok(tbot_alive(&bot), "the bot is still running");
}

/* 8. A peer that is not loopback, even on the loopback listener (a client
 * bound to this machine's LAN address connecting to 127.0.0.1, as a LAN
 * host would reach a page bound to every interface): closed at accept, no
 * answer, whatever its Host says. */
static void test_foreign_peer(void)
{
	struct ifaddrs *ifs = NULL, *i;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)wport) };
	char rq[300], buf[256], a[INET_ADDRSTRLEN] = "";
	int fd = -1, st = -1;
	ssize_t n;

	getifaddrs(&ifs);
	for (i = ifs; i && fd < 0; i = i->ifa_next) {
		struct sockaddr_in from;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		from = *(struct sockaddr_in *)i->ifa_addr;
		if ((ntohl(from.sin_addr.s_addr) >> 24) == 127)
			continue;
		from.sin_port = 0;
		inet_ntop(AF_INET, &from.sin_addr, a, sizeof a);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0 && bind(fd, (struct sockaddr *)&from, sizeof from)) {
			close(fd);
			fd = -1;
		}
	}
	freeifaddrs(ifs);
	if (fd < 0) {
		skip("this machine has no IPv4 address but loopback");
		return;
	}
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	{
		struct timeval tv = { 5, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	if (!connect(fd, (struct sockaddr *)&to, sizeof to)) {
		snprintf(rq, sizeof rq, "GET /api/session HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", wport);
		if (send(fd, rq, strlen(rq), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
			diag("send: %s", strerror(errno));
		n = read(fd, buf, sizeof buf - 1);
		st = 0;
		if (n > 12) {
			buf[n] = '\0';
			sscanf(buf, "HTTP/1.1 %d", &st);
		}
	}
	close(fd);
	is_int(st, 0, "a peer at %s (not loopback) with Host localhost: closed with no answer", a);
	is_int(req("GET", "/api/session", NULL, NULL, 0, NULL, NULL), 200, "a loopback peer is still answered");
}

/* 9. Other loopback addresses: 127.0.0.2, and [::1] where this machine has it. */
static void test_other_loopback(void)
{
	char listen[64], host[64];
	FILE *f;
	int v6 = 0, st = 0;

	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
	snprintf(listen, sizeof listen, "127.0.0.2:%d", wport);
	write_config(listen);
	tbot_start(&bot);
	for (int i = 0; i < 50 && (st = get_session_at("127.0.0.2", wport, listen)) != 200; i++)
		usleep(100000);
	is_int(st, 200, "web.listen 127.0.0.2: the page answers there");
	is_int(get_session_at("127.0.0.1", wport, listen), 0, "and not on 127.0.0.1");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");

	if ((f = fopen("/proc/net/if_inet6", "r"))) {
		char line[200];

		while (fgets(line, sizeof line, f))
			v6 |= !strncmp(line, "00000000000000000000000000000001", 32);
		fclose(f);
	}
	if (!v6) {
		for (int i = 0; i < 3; i++)
			skip("this machine has no ::1");
		return;
	}
	snprintf(listen, sizeof listen, "[::1]:%d", wport);
	write_config(listen);
	tbot_start(&bot);
	for (int i = 0; i < 50 && (st = get_session_at("::1", wport, listen)) != 200; i++)
		usleep(100000);
	is_int(st, 200, "web.listen [::1]: the page answers there (Host [::1]:port)");
	snprintf(host, sizeof host, "evil.example:%d", wport);
	is_int(get_session_at("::1", wport, host), 403, "[::1]: a foreign Host -> 403");
	is_int(tbot_stop(&bot, SIGTERM), 0, "SIGTERM exits 0");
}

int main(void)
{
	char listen[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ok(tc_sim_start(&sim, NULL) == 0, "simulator starts"))
		return tap_done();
	if (!ok(tbot_init(&bot, &sim) == 0 && (wport = tbot_free_port()) > 0 && prepare_files() == 0,
		"a temp dir, a copy of web/ and a free port"))
		return tap_done();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", wport);
	write_config(listen);
	tbot_start(&bot);
	if (ok(tsim_wait_stat(&sim, "reg_ok", 1, 5000) >= 0, "the bot registers")) {
		for (int i = 0; i < 50 && req("GET", "/api/session", NULL, NULL, 0, NULL, NULL) != 200; i++)
			usleep(100000);
		if (ok(login(), "logged in")) {
			test_csp();
			test_symlinks();
			test_nul();
			test_utf8();
			test_ws_big();
			test_rules_tmp();
			test_idle();
			test_foreign_peer();
		}
		test_other_loopback();
	}
	if (tbot_alive(&bot))
		tbot_stop(&bot, SIGTERM);
	tbot_done(&bot, tap_failed > 0);
	tc_sim_stop(&sim);
	return tap_done();
}
